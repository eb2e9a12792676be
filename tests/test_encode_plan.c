/* encode_plan (pipeline/encode.h): the batches every rank of a job agrees on,
 * and util/dist.h alone (rank 0 of 1). The multi-rank runs themselves are
 * tests/oracle/check_mpi.sh (mpirun). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/encode.h"
#include "util/dist.h"
#include "util/splitmix.h"

enum { N = 700, MAX_BATCH = 64, MAX_TOKENS = 1024 };

/* Lengths skewed as real texts are: mostly short, a long tail up to 512. */
static void make_seqs(EncodeSeq *seqs, uint64_t seed) {
    uint64_t s = seed;
    for (int i = 0; i < N; i++) {
        uint64_t r = splitmix64(&s);
        int n = 3 + (int)(r % 24);
        if (r % 10 == 0) n = 3 + (int)((r >> 20) % 510);
        seqs[i] = (EncodeSeq){.n = n};
    }
}

static int batch_len(const EncodePlan *p, int b) { return p->first[b + 1] - p->first[b]; }

/* Batch b of p, as its sorted list of input indices, compared with batch c of q. */
static int same_batch(const EncodePlan *p, int b, const EncodePlan *q, int c) {
    return batch_len(p, b) == batch_len(q, c) &&
           !memcmp(p->order + p->first[b], q->order + q->first[c], sizeof(int) * (size_t)batch_len(p, b));
}

/* One rank: the length order, cut greedily within both budgets. */
Test(encode_plan, one_rank_is_the_length_order_cut_greedily) {
    EncodeSeq seqs[N];
    make_seqs(seqs, 1);
    EncodePlan p;
    encode_plan(seqs, N, MAX_BATCH, MAX_TOKENS, 1, &p);
    int order[N];
    encode_length_order(seqs, N, order);
    cr_assert_arr_eq(p.order, order, sizeof order);
    for (int b = 0; b < p.n_batches; b++) {
        int B = batch_len(&p, b), L = seqs[p.order[p.first[b + 1] - 1]].n;
        cr_assert_eq(p.rank[b], 0);
        cr_assert(B >= 1 && B <= MAX_BATCH && (B == 1 || B * L <= MAX_TOKENS), "batch %d: %d x %d", b, B, L);
        if (b + 1 < p.n_batches && B < MAX_BATCH)  /* greedy: the next sequence did not fit */
            cr_assert_gt((B + 1) * seqs[p.order[p.first[b + 1]]].n, MAX_TOKENS, "batch %d could have grown", b);
    }
    cr_assert_eq(p.first[p.n_batches], N);
    encode_plan_free(&p);
}

/* N ranks: the same batches, dealt by padded tokens and listed round after round. */
Test(encode_plan, ranks_get_the_same_batches_balanced_in_rounds) {
    EncodeSeq seqs[N];
    make_seqs(seqs, 2);
    EncodePlan one;
    encode_plan(seqs, N, MAX_BATCH, MAX_TOKENS, 1, &one);
    for (int ranks = 2; ranks <= 7; ranks++) {
        EncodePlan p;
        encode_plan(seqs, N, MAX_BATCH, MAX_TOKENS, ranks, &p);
        cr_assert_eq(p.n_batches, one.n_batches);
        long load[8] = {0}, biggest = 0;
        int seen[4096] = {0}, count[8] = {0}, last[8], prev_round = 0, prev_rank = -1;
        for (int r = 0; r < ranks; r++) last[r] = -1;
        for (int b = 0; b < p.n_batches; b++) {
            int found = -1;  /* the single-process batch it is */
            for (int c = 0; c < one.n_batches && found < 0; c++)
                if (!seen[c] && same_batch(&p, b, &one, c)) found = c;
            cr_assert_geq(found, 0, "%d ranks: batch %d is not a single-process batch", ranks, b);
            seen[found] = 1;
            long cost = (long)batch_len(&p, b) * seqs[p.order[p.first[b + 1] - 1]].n;
            load[p.rank[b]] += cost;
            biggest = cost > biggest ? cost : biggest;
            /* each rank's batches in length order; listed in rounds of ENCODE_ROUND_BATCHES per rank,
             * ranks ascending within a round */
            int r = p.rank[b], round = count[r]++ / ENCODE_ROUND_BATCHES;
            cr_assert_gt(found, last[r], "%d ranks: rank %d's batches out of length order", ranks, r);
            cr_assert(round > prev_round || (round == prev_round && r >= prev_rank), "%d ranks: batch %d out of its "
                      "round", ranks, b);
            last[r] = found, prev_round = round, prev_rank = r;
        }
        long lo = load[0], hi = load[0];
        for (int r = 1; r < ranks; r++) lo = load[r] < lo ? load[r] : lo, hi = load[r] > hi ? load[r] : hi;
        cr_assert_leq(hi - lo, biggest, "%d ranks: loads %ld .. %ld, the largest batch %ld", ranks, lo, hi, biggest);
        encode_plan_free(&p);
    }
    encode_plan_free(&one);
}

/* Greedy batching is stable under removing whole batches: planning what is
 * left after any batches were saved gives back exactly the batches left. */
Test(encode_plan, the_rest_of_a_partial_pass_forms_the_same_batches) {
    EncodeSeq seqs[N], rest[N];
    make_seqs(seqs, 3);
    EncodePlan one;
    encode_plan(seqs, N, MAX_BATCH, MAX_TOKENS, 1, &one);
    uint64_t s = 99;
    for (int trial = 0; trial < 20; trial++) {
        int keep[4096], index[N], m = 0;  /* index[j]: the input index of rest[j], ascending */
        char left[N] = {0};
        for (int b = 0; b < one.n_batches; b++) {
            keep[b] = splitmix64(&s) % 3 != 0;
            for (int i = one.first[b]; i < one.first[b + 1] && keep[b]; i++) left[one.order[i]] = 1;
        }
        for (int i = 0; i < N; i++)
            if (left[i]) index[m] = i, rest[m++] = seqs[i];
        EncodePlan p;
        encode_plan(rest, m, MAX_BATCH, MAX_TOKENS, 1 + trial % 3, &p);
        for (int i = 0; i < m; i++) p.order[i] = index[p.order[i]];
        int matched = 0;
        for (int b = 0; b < p.n_batches; b++)
            for (int c = 0; c < one.n_batches; c++)
                if (keep[c] && same_batch(&p, b, &one, c)) {
                    matched++;
                    break;
                }
        cr_assert_eq(matched, p.n_batches, "trial %d: %d of %d batches are original ones", trial, matched, p.n_batches);
        encode_plan_free(&p);
    }
    encode_plan_free(&one);
}

Test(encode_plan, empty_pass) {
    EncodePlan p;
    encode_plan(NULL, 0, MAX_BATCH, MAX_TOKENS, 3, &p);
    cr_assert_eq(p.n_batches, 0);
    cr_assert_eq(p.first[0], 0);
    encode_plan_free(&p);
}

/* Not launched by mpirun (the test runner never is): rank 0 of 1, and every
 * transfer a local no-op. */
Test(encode_plan, dist_alone_is_rank_0_of_1) {
    AlbError err;
    int argc = 1;
    char *args[] = {"test", NULL}, **argv = args;
    cr_assert_eq(dist_init(&argc, &argv, &err), 0);
    cr_assert_eq(dist_rank(), 0);
    cr_assert_eq(dist_size(), 1);
    int v = 7;
    cr_assert_eq(dist_bcast(&v, sizeof v, NULL, &err), 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(dist_barrier(NULL, &err), 0);
    size_t part = sizeof v;
    cr_assert_eq(dist_allgather(&v, &part, NULL, &err), 0);
    cr_assert_eq(v, 7);
    DistSend idle = {{0}, 0};
    cr_assert_eq(dist_wait(&idle, NULL, &err), 0);
    dist_finalize();
}

/* encode_make_plan alone: every sequence made once, in order, with its ids;
 * the plan encode_plan makes; a sequence make refuses ends it with make's error. */
typedef struct {
    const EncodeSeq *lengths;
    int calls, refuse;  /* refuse: the sequence make refuses, -1: none */
    int last;           /* the last sequence made */
} Maker;

static int make_seq(void *ctx, int s, EncodeSeq *seq, AlbError *err) {
    Maker *m = ctx;
    cr_assert_eq(s, m->calls ? m->last + 1 : 0, "made out of order: %d after %d", s, m->last);
    m->calls++;
    m->last = s;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)m->lengths[s].n);
    for (int j = 0; j < m->lengths[s].n; j++) ids[j] = s;
    *seq = (EncodeSeq){.n = m->lengths[s].n, .ids = ids};
    return s == m->refuse ? alb_fail(err, "sequence %d refused", s) : 0;
}

Test(encode_plan, make_plan_alone_makes_each_sequence_once) {
    EncodeSeq lengths[N], seqs[N] = {{0}};
    make_seqs(lengths, 4);
    Maker m = {lengths, 0, -1, 0};
    EncodePlan p, want;
    AlbError err;
    cr_assert_eq(encode_make_plan(make_seq, &m, N, MAX_BATCH, MAX_TOKENS, seqs, &p, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(m.calls, N);
    for (int i = 0; i < N; i++) cr_assert(seqs[i].n == lengths[i].n && seqs[i].ids && seqs[i].ids[0] == i);
    encode_plan(lengths, N, MAX_BATCH, MAX_TOKENS, 1, &want);
    cr_assert_eq(p.n_batches, want.n_batches);
    cr_assert_arr_eq(p.order, want.order, sizeof(int) * N);
    cr_assert_arr_eq(p.first, want.first, sizeof(int) * (size_t)(want.n_batches + 1));
    encode_plan_free(&p);
    encode_plan_free(&want);
    encode_seqs_free(seqs, N);
    m = (Maker){lengths, 0, 123, 0};
    cr_assert_eq(encode_make_plan(make_seq, &m, N, MAX_BATCH, MAX_TOKENS, seqs, &p, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "sequence 123 refused");
    cr_assert_eq(m.calls, 124, "made past the refused sequence");
    cr_assert_eq(p.n_batches, 0);
    encode_plan_free(&p);
    encode_seqs_free(seqs, N);
}
