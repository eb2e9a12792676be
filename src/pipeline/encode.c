/* Length-sorted batched encoding; see encode.h. */
#include "pipeline/encode.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dist.h"

static int by_length(const void *a, const void *b, void *seqs) {
    const EncodeSeq *s = seqs;
    int ia = *(const int *)a, ib = *(const int *)b;
    if (s[ia].n != s[ib].n) return s[ia].n - s[ib].n;
    return ia - ib;
}

void encode_length_order(const EncodeSeq *seqs, int n_seqs, int *order) {
    for (int i = 0; i < n_seqs; i++) order[i] = i;
    qsort_r(order, (size_t)n_seqs, sizeof(int), by_length, (void *)seqs);
}

/* ------------------------------------------------------------------ plan */

void encode_plan(const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens, int n_ranks, EncodePlan *p) {
    int n = n_seqs > 0 ? n_seqs : 0;
    int *sorted = alb_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int *bstart = alb_xmalloc(sizeof(int) * (size_t)(n + 1));  /* the length-order batches */
    encode_length_order(seqs, n, sorted);
    int nb = 0;
    for (int start = 0, B; start < n; start += B) {
        B = 1;  /* the next B sequences, B * L within the budget (lengths only grow) */
        while (B < max_batch && start + B < n &&
               (max_tokens <= 0 || (long)(B + 1) * seqs[sorted[start + B]].n <= max_tokens))
            B++;
        bstart[nb++] = start;
    }
    bstart[nb] = n;
    /* deal: each batch to the least loaded rank; owned[r] lists rank r's batches in length order */
    long *load = alb_xcalloc((size_t)n_ranks, sizeof(long));
    int *owner = alb_xmalloc(sizeof(int) * (size_t)(nb ? nb : 1)), *count = alb_xcalloc((size_t)n_ranks, sizeof(int));
    for (int b = 0; b < nb; b++) {
        int r = 0;
        for (int k = 1; k < n_ranks; k++)
            if (load[k] < load[r]) r = k;
        load[r] += (long)(bstart[b + 1] - bstart[b]) * seqs[sorted[bstart[b + 1] - 1]].n;
        owner[b] = r;
        count[r]++;
    }
    /* gather order: round after round, ENCODE_ROUND_BATCHES of each rank's in rank order */
    *p = (EncodePlan){n, nb, n_ranks, alb_xmalloc(sizeof(int) * (size_t)(n ? n : 1)),
                      alb_xmalloc(sizeof(int) * (size_t)(nb + 1)), alb_xmalloc(sizeof(int) * (size_t)(nb ? nb : 1))};
    int *next = alb_xcalloc((size_t)n_ranks, sizeof(int));  /* per rank: the next of its batches to list (a scan index) */
    int listed = 0, pos = 0;
    for (int round = 0; listed < nb; round++)
        for (int r = 0; r < n_ranks; r++)
            for (int k = 0; k < ENCODE_ROUND_BATCHES && round * ENCODE_ROUND_BATCHES + k < count[r]; k++) {
                while (owner[next[r]] != r) next[r]++;
                int b = next[r]++;
                p->first[listed] = pos;
                p->rank[listed++] = r;
                for (int i = bstart[b]; i < bstart[b + 1]; i++) p->order[pos++] = sorted[i];
            }
    p->first[nb] = pos;
    free(sorted);
    free(bstart);
    free(load);
    free(owner);
    free(count);
    free(next);
}

void encode_plan_free(EncodePlan *p) {
    free(p->order);
    free(p->first);
    free(p->rank);
    memset(p, 0, sizeof *p);
}

int encode_plan_share(const EncodePlan *p, int r) {
    int n = 0;
    for (int b = 0; b < p->n_batches; b++)
        if (p->rank[b] == r) n += p->first[b + 1] - p->first[b];
    return n;
}

/* ------------------------------------------------------------------ making the sequences */

void encode_seqs_free(EncodeSeq *seqs, int n) {
    for (int i = 0; i < n; i++) {
        free((void *)seqs[i].ids);
        free((void *)seqs[i].mask);
        free((void *)seqs[i].type_ids);
        seqs[i] = (EncodeSeq){0};
    }
}

/* make's sequence s for its length alone: the length, or -1 when make refuses it. */
static int32_t length_of(EncodeMakeFn make, void *ctx, int s) {
    EncodeSeq q = {0};
    AlbError ignored;  /* every rank makes the sequence again for the error (encode_make_plan) */
    int32_t n = make(ctx, s, &q, &ignored) ? -1 : q.n;
    encode_seqs_free(&q, 1);
    return n;
}

/* The job's part of encode_make_plan: the lengths shared, then this rank's batches made. */
static int make_over_ranks(EncodeMakeFn make, void *ctx, int n, int max_batch, int max_tokens, EncodeSeq *seqs,
                           EncodePlan *p, const volatile sig_atomic_t *stop, AlbError *err) {
    int N = dist_size(), me = dist_rank();
    int32_t *lens = alb_xmalloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    size_t *bytes = alb_xmalloc(sizeof(size_t) * (size_t)N);
    for (int r = 0; r < N; r++)  /* rank r measures [n r / N, n (r + 1) / N) */
        bytes[r] = sizeof(int32_t) * (size_t)((long)n * (r + 1) / N - (long)n * r / N);
    for (int s = (int)((long)n * me / N); s < (long)n * (me + 1) / N; s++) lens[s] = length_of(make, ctx, s);
    int rc = dist_allgather(lens, bytes, stop, err);
    for (int s = 0; s < n && !rc; s++) {
        seqs[s].n = lens[s];
        if (lens[s] < 0 && !(rc = make(ctx, s, &seqs[s], err)))  /* refused there, made here: not the same input */
            rc = alb_fail(err, "rank %d: sequence %d was refused on the rank that measured it, not here: every rank "
                               "must read the same input", me, s);
    }
    if (!rc) encode_plan(seqs, n, max_batch, max_tokens, N, p);
    for (int b = 0; b < p->n_batches && !rc; b++) {
        if (p->rank[b] != me) continue;
        for (int i = p->first[b]; i < p->first[b + 1] && !rc; i++) {
            int s = p->order[i];
            seqs[s] = (EncodeSeq){0};
            if (!(rc = make(ctx, s, &seqs[s], err)) && seqs[s].n != lens[s])
                rc = alb_fail(err, "rank %d: sequence %d has %d tokens here, %d on the rank that measured it: "
                                   "every rank must read the same input", me, s, seqs[s].n, lens[s]);
        }
    }
    free(lens);
    free(bytes);
    return rc;
}

int encode_make_plan(EncodeMakeFn make, void *ctx, int n, int max_batch, int max_tokens, EncodeSeq *seqs,
                     EncodePlan *p, const volatile sig_atomic_t *stop, AlbError *err) {
    memset(p, 0, sizeof *p);
    if (dist_size() > 1) return make_over_ranks(make, ctx, n, max_batch, max_tokens, seqs, p, stop, err);
    for (int s = 0; s < n; s++)
        if (make(ctx, s, &seqs[s], err)) return -1;
    encode_plan(seqs, n, max_batch, max_tokens, 1, p);
    return 0;
}

int encode_make_text(void *ctx, int s, EncodeSeq *seq, AlbError *err) {
    const EncodeTexts *t = ctx;
    int i = t->which ? t->which[s] : s;
    TokenIds ids = {0};
    tokenizer_encode(t->tok, t->texts[i], strlen(t->texts[i]), t->max_length, &ids);
    *seq = (EncodeSeq){.n = ids.n, .ids = ids.ids};  /* the ids are handed over, not copied */
    ids.ids = NULL;
    token_ids_free(&ids);
    for (int j = 0; j < seq->n && t->vocab > 0; j++)
        if (seq->ids[j] >= t->vocab)
            return alb_fail(err, "text %d: the tokenizer gave id %d, outside the model's vocabulary [0, %d)", i,
                            seq->ids[j], t->vocab);
    return 0;
}

/* ------------------------------------------------------------------ one engine */

/* What a rank computes its features with, all-gathered before a pass: ranks
 * with different engines (heterogeneous machines) give features that differ
 * in their last bits, and the job would mix them (into a cache keyed by rank
 * 0's engine) without a word. Fixed-size strings: every rank knows every
 * rank's part of the gather. */
typedef struct {
    char engine[96];  /* albert_engine (model/albert.c keeps it in as many bytes) */
    char hash[40];    /* albert_weights_hash: 32 hex digits */
} RankEngine;

/* Appends to buf at *at, up to size (a message cut short stays a string). */
static void append(char *buf, size_t size, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *at, const char *fmt, ...) {
    if (*at >= size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, size - *at, fmt, ap);
    va_end(ap);
    *at += n > 0 ? (size_t)n : 0;
}

/* Whether ranks a and b hold the same string at offset field of a RankEngine. */
static int same_field(const RankEngine *e, size_t field, int a, int b) {
    return !strcmp((const char *)&e[a] + field, (const char *)&e[b] + field);
}

/* "rank 0: A; ranks 1-3, 5: B": each distinct value of the field at offset
 * `field` in e[0..N), rank 0's first, with the ranks that hold it (runs of
 * consecutive ranks as ranges, so that a large job's line stays short). */
static void describe_ranks(const RankEngine *e, int N, size_t field, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (int r = 0; r < N; r++) {
        int first = 1, count = 0;
        for (int q = 0; q < r && first; q++) first = !same_field(e, field, q, r);
        if (!first) continue;  /* listed with an earlier rank */
        for (int s = r; s < N; s++) count += same_field(e, field, s, r);
        append(buf, size, &at, "%s%s ", r ? "; " : "", count > 1 ? "ranks" : "rank");
        for (int s = r, listed = 0; s < N; s++) {
            if (!same_field(e, field, s, r) || (s > r && same_field(e, field, s - 1, r))) continue;
            int end = s;  /* a run [s, end] of ranks holding r's value */
            while (end + 1 < N && same_field(e, field, end + 1, r)) end++;
            append(buf, size, &at, end > s ? "%s%d-%d" : "%s%d", listed++ ? ", " : "", s, end);
        }
        append(buf, size, &at, ": %s", (const char *)&e[r] + field);
    }
}

/* The check of encode_run: every rank's engine and weights are rank 0's. On a
 * mismatch every rank finds it alike; rank 0 returns the line, and the others
 * wait for it to end the job (dist_abort: the launcher stops them), so that
 * the job prints one line. A rank whose wait ends without it (rank 0 stuck:
 * the MPI timeout) returns the same line. 0, 1 (stopped), -1. */
static int check_one_engine(AlbertModel *m, const volatile sig_atomic_t *stop, AlbError *err) {
    int N = dist_size(), me = dist_rank();
    RankEngine *e = alb_xcalloc((size_t)N, sizeof *e);
    size_t *bytes = alb_xmalloc(sizeof(size_t) * (size_t)N);
    for (int r = 0; r < N; r++) bytes[r] = sizeof *e;
    snprintf(e[me].engine, sizeof e[me].engine, "%s", albert_engine(m));
    snprintf(e[me].hash, sizeof e[me].hash, "%s", albert_weights_hash(m));
    int rc = dist_allgather(e, bytes, stop, err), engines = 0, weights = 0;
    for (int r = 1; r < N && !rc; r++) {
        engines |= strcmp(e[r].engine, e[0].engine) != 0;
        weights |= strcmp(e[r].hash, e[0].hash) != 0;
    }
    if (engines || weights) {
        char who[640];
        describe_ranks(e, N, engines ? offsetof(RankEngine, engine) : offsetof(RankEngine, hash), who, sizeof who);
        if (me != 0) dist_barrier(NULL, &(AlbError){{0}});  /* rank 0 never comes: it ends the job */
        rc = engines ? alb_fail(err, "the ranks compute with different engines (%s): their features may differ "
                                "in the last bits; run a job's ranks on one kind of CPU (and one "
                                "ONEDNN_MAX_CPU_ISA)", who)
                     : alb_fail(err, "the ranks loaded different encoder weights (their hashes, %s): every rank must load "
                                "the same model", who);
    }
    free(e);
    free(bytes);
    return rc;
}

/* ------------------------------------------------------------------ run */

/* A batch's outputs as one message, in the order of its rows: cls [B, H],
 * pooler [B, H], then each sequence's hidden rows [n_b, H] (those asked for). */
static size_t packed_floats(const EncodeSeq *seqs, const int *rows, int B, const EncodeOut *out, int H) {
    size_t n = (size_t)B * H * ((out->cls != NULL) + (out->pooler != NULL));
    for (int b = 0; b < B && out->hidden; b++) n += (size_t)seqs[rows[b]].n * H;
    return n;
}

/* One forward's buffers, sized for the largest batch; NULL outputs are not computed. */
typedef struct {
    int32_t *ids, *types, *mask;  /* [B, L] */
    float *cls, *pooler;     /* [B, H] */
    float *hidden;           /* [B, L, H] */
} Scratch;

/* The forward of one batch, its outputs packed into buf. */
static int forward_packed(AlbertModel *m, const EncodeSeq *seqs, const int *rows, int B, Scratch *s, float *buf, long *tokens, AlbError *err) {
    const AlbertConfig *c = albert_config(m);
    int H = c->hidden_size, pad = c->pad_token_id;
    int L = seqs[rows[B - 1]].n;  /* the longest of this batch */
    int any_type = 0;
    *tokens = 0;
    /* ids, types, mask [B, L]: right-padded */
    for (int b = 0; b < B; b++) {
        const EncodeSeq *q = &seqs[rows[b]];
        *tokens += q->n;
        any_type |= q->type_ids != NULL;
        for (int i = 0; i < L; i++) {
            s->ids[b * L + i] = i < q->n ? q->ids[i] : pad;
            s->types[b * L + i] = i < q->n && q->type_ids ? q->type_ids[i] : 0;
            s->mask[b * L + i] = i < q->n ? (q->mask ? q->mask[i] : 1) : 0;
        }
    }
    /* [B, L, H], [B, H], [B, H] */
    if (albert_forward(m, B, L, s->ids, any_type ? s->types : NULL, s->mask, s->hidden, s->cls, s->pooler, err))
        return -1;
    size_t row = sizeof(float) * (size_t)H;
    if (s->cls) memcpy(buf, s->cls, row * B), buf += (size_t)B * H;
    if (s->pooler) memcpy(buf, s->pooler, row * B), buf += (size_t)B * H;
    for (int b = 0; b < B && s->hidden; b++) {
        int n = seqs[rows[b]].n;
        memcpy(buf, s->hidden + (size_t)b * L * H, row * n);
        buf += (size_t)n * H;
    }
    return 0;
}

/* A packed batch into out, in input order. */
static void unpack(const EncodeSeq *seqs, const int *rows, int B, const EncodeOut *out, int H, const float *buf) {
    size_t row = sizeof(float) * (size_t)H;
    for (int b = 0; b < B && out->cls; b++) memcpy(out->cls + (size_t)rows[b] * H, buf + (size_t)b * H, row);
    if (out->cls) buf += (size_t)B * H;
    for (int b = 0; b < B && out->pooler; b++) memcpy(out->pooler + (size_t)rows[b] * H, buf + (size_t)b * H, row);
    if (out->pooler) buf += (size_t)B * H;
    for (int b = 0; b < B && out->hidden; b++) {
        int n = seqs[rows[b]].n;
        memcpy(out->hidden + (size_t)rows[b] * out->hidden_rows * H, buf, row * n);
        buf += (size_t)n * H;
    }
}

/* A rank other than 0 keeps this many batches in flight to rank 0: it may run
 * a round ahead of the gathering. */
#define SEND_SLOTS (2 * ENCODE_ROUND_BATCHES)

int encode_run(AlbertModel *m, const EncodeSeq *seqs, const EncodePlan *p, const EncodeOut *out,
               EncodeBatchFn on_batch, void *ctx, const volatile sig_atomic_t *stop, AlbError *err) {
    int me = p->n_ranks > 1 ? dist_rank() : 0;
    if (p->n_ranks > 1) {  /* every rank must plan the same pass: the same count and lengths */
        long shape[2] = {p->n_seqs, 0}, mine[2];
        for (int i = 0; i < p->n_seqs; i++) shape[1] += seqs[i].n;
        memcpy(mine, shape, sizeof mine);
        int rc = check_one_engine(m, stop, err);
        if (!rc) rc = dist_bcast(shape, sizeof shape, stop, err);
        if (rc) return rc;
        if (memcmp(shape, mine, sizeof mine))
            return alb_fail(err, "rank %d has %ld sequences of %ld tokens, rank 0 has %ld of %ld: every rank must "
                            "read the same input (stdin reaches rank 0 only)", me, mine[0], mine[1], shape[0],
                            shape[1]);
    }
    if (p->n_seqs <= 0) return 0;
    const AlbertConfig *c = albert_config(m);
    int H = c->hidden_size;
    for (int i = 0; i < p->n_seqs; i++) {
        if (seqs[i].n < 1 || seqs[i].n > c->max_position_embeddings)
            return alb_fail(err, "encode: sequence %d has %d tokens; the model takes 1 to %d", i, seqs[i].n,
                            c->max_position_embeddings);
        if (out->hidden && seqs[i].n > out->hidden_rows)
            return alb_fail(err, "encode: sequence %d has %d tokens, more than the %d hidden rows given", i,
                            seqs[i].n, out->hidden_rows);
    }
    size_t maxB = 1, maxBL = 1, max_packed = 1;  /* the buffers' sizes: the largest batch */
    for (int b = 0; b < p->n_batches; b++) {
        const int *rows = p->order + p->first[b];
        int B = p->first[b + 1] - p->first[b];
        size_t L = (size_t)seqs[rows[B - 1]].n, packed = packed_floats(seqs, rows, B, out, H);
        if ((size_t)B > maxB) maxB = (size_t)B;
        if ((size_t)B * L > maxBL) maxBL = (size_t)B * L;
        if (packed > max_packed) max_packed = packed;
    }
    Scratch s = {alb_xmalloc(sizeof(int32_t) * maxBL), alb_xmalloc(sizeof(int32_t) * maxBL),
                 alb_xmalloc(sizeof(int32_t) * maxBL),
                 out->cls ? alb_xmalloc(sizeof(float) * maxB * H) : NULL,
                 out->pooler ? alb_xmalloc(sizeof(float) * maxB * H) : NULL,
                 out->hidden ? alb_xmalloc(sizeof(float) * maxBL * H) : NULL};
    int n_bufs = me == 0 ? 1 : SEND_SLOTS;
    float *bufs = alb_xmalloc(sizeof(float) * max_packed * n_bufs);
    DistSend sends[SEND_SLOTS] = {{{0}, 0}};
    int rc = 0, mine = 0;  /* batches this rank encoded */
    for (int b = 0; b < p->n_batches && !rc; b++) {
        const int *rows = p->order + p->first[b];
        int B = p->first[b + 1] - p->first[b], owner = p->rank[b];
        long tokens = 0;
        if (owner != me && me != 0) continue;
        if (me == 0) {  /* every batch in gather order: its own forward or a peer's message */
            if (owner == 0) rc = forward_packed(m, seqs, rows, B, &s, bufs, &tokens, err);
            else rc = dist_recv(bufs, sizeof(float) * packed_floats(seqs, rows, B, out, H), owner, stop, err);
            if (rc) break;
            unpack(seqs, rows, B, out, H, bufs);
            if (owner != 0)
                for (int i = 0; i < B; i++) tokens += seqs[rows[i]].n;
        } else {  /* a slot whose send is done, the forward into it, its send */
            DistSend *slot = &sends[mine % SEND_SLOTS];
            float *buf = bufs + max_packed * (size_t)(mine % SEND_SLOTS);
            rc = dist_wait(slot, stop, err);
            if (!rc) rc = forward_packed(m, seqs, rows, B, &s, buf, &tokens, err);
            if (!rc) rc = dist_isend(buf, sizeof(float) * packed_floats(seqs, rows, B, out, H), 0, slot, err);
            for (int k = 0; k < SEND_SLOTS && !rc; k++) rc = dist_poll(&sends[k], err);
            if (rc) break;
        }
        mine += owner == me;
        if (on_batch) rc = on_batch(ctx, rows, B, tokens);
    }
    for (int k = 0; k < SEND_SLOTS && !rc; k++) rc = dist_wait(&sends[k], stop, err);
    free(s.ids);
    free(s.types);
    free(s.mask);
    free(s.cls);
    free(s.pooler);
    free(s.hidden);
    free(bufs);
    return rc;
}

int encode_seqs(AlbertModel *m, const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens,
                const EncodeOut *out, EncodeBatchFn on_batch, void *ctx, AlbError *err) {
    EncodePlan p;
    encode_plan(seqs, n_seqs, max_batch, max_tokens, dist_size(), &p);
    int rc = encode_run(m, seqs, &p, out, on_batch, ctx, NULL, err);
    encode_plan_free(&p);
    return rc;
}

int encode_cls(AlbertModel *m, const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens, float *cls_out,
               EncodeBatchFn on_batch, void *ctx, AlbError *err) {
    EncodeOut out = {.cls = cls_out};
    return encode_seqs(m, seqs, n_seqs, max_batch, max_tokens, &out, on_batch, ctx, err);
}

int encode_progress_batch(void *ctx, const int *rows, int B, long tokens) {
    (void)rows, (void)tokens;
    EncodeProgress *p = ctx;
    p->done += B;
    progress_update(p->bar, p->done);
    return 0;
}
