/* Encode many token sequences with the frozen encoder: [CLS] features,
 * pooler_output and, optionally, every token's last hidden state.
 *
 * Sequences are forwarded in length-sorted batches (encode_length_order:
 * shortest first, ties in input order) of at most max_batch sequences and
 * max_tokens padded tokens (B * L; 0: no limit; a batch holds at least one
 * sequence), each padded to its longest member with the model's pad id and
 * mask 0, so little padding is computed and the encoder's activation buffers
 * stay bounded; outputs land in input order.
 * A sequence's outputs depend on its batch only through rounding (the GEMM
 * shapes change the summation order), so callers may encode any subset at any
 * time; the same sequences in the same batches give the same bits.
 *
 * on_batch, when not NULL, is called after every batch with the input indices
 * just written (rows[0..B)) and the real tokens they held; a nonzero return
 * stops the pass and is returned (the caller's error, err untouched). This is
 * where callers draw progress and save partial results. */
#ifndef ALB_PIPELINE_ENCODE_H
#define ALB_PIPELINE_ENCODE_H

#include <signal.h>
#include <stdint.h>
#include "model/albert.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"

/* The batching every text-to-features path uses (train's feature pass,
 * predict, eval, serve): at most ENCODE_BATCH texts and ENCODE_TOKENS padded
 * tokens per forward (~31 MB of activations at albert-base size). The same
 * texts then form the same batches and get the same features, bit for bit. */
#define ENCODE_BATCH 64
#define ENCODE_TOKENS 1024

typedef struct {
    int n;                /* tokens, [CLS] and [SEP] included, 1..max_position_embeddings */
    const int32_t *ids;   /* [n] (NULL in a job for a sequence of another rank's batch: see encode_make_plan) */
    const int32_t *mask;  /* [n] attention mask, 0/1 in any pattern (NULL: all 1); padding adds 0s */
    const int32_t *type_ids;  /* [n] token_type_ids (a sentence pair's B is 1; NULL: all 0); padding adds 0s */
} EncodeSeq;

/* Destinations, row i for input i; a NULL output is not computed. */
typedef struct {
    float *cls;       /* [n_seqs, H]  last_hidden_state[:, 0] */
    float *pooler;    /* [n_seqs, H]  tanh(cls Wp^T + bp) */
    float *hidden;    /* [n_seqs, hidden_rows, H]  sequence i's n rows; rows past n untouched */
    int hidden_rows;  /* at least every n when hidden is set */
} EncodeOut;

typedef int (*EncodeBatchFn)(void *ctx, const int *rows, int B, long tokens);

/* The batches of one pass, and which rank of the job (util/dist.h) encodes
 * each. Every rank makes the same plan from the same sequences:
 *  - the batches are the single-process ones: length order, then greedy
 *    (a batch grows while it holds fewer than max_batch sequences and
 *    (B + 1) * the next length <= max_tokens). Greedy batching is stable
 *    under removing whole batches: planning any union of this plan's batches
 *    gives back exactly those batches (a batch ended because it was full or
 *    because the next, shorter-or-equal sequence did not fit; whatever comes
 *    next in the union is no shorter). So features saved a batch at a time
 *    and the rest encoded later, by any number of ranks, are the bits one
 *    process encoding everything at once gets.
 *  - batches are dealt in length order, each to the rank with the fewest
 *    padded tokens (B * L) so far (ties: the lowest rank): balanced by work,
 *    deterministic.
 *  - they are listed in the order rank 0 gathers them: rounds of
 *    ENCODE_ROUND_BATCHES batches per rank, rank 0's then rank 1's ... .
 * With one rank the gather order is the length order. */
#define ENCODE_ROUND_BATCHES 4
typedef struct {
    int n_seqs, n_batches, n_ranks;
    int *order;   /* [n_seqs] input indices, batch after batch, in gather order */
    int *first;   /* [n_batches + 1] batch b is order[first[b] .. first[b + 1]) */
    int *rank;    /* [n_batches] the rank that encodes batch b */
} EncodePlan;

void encode_plan(const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens, int n_ranks, EncodePlan *p);
void encode_plan_free(EncodePlan *p);
/* The number of sequences rank r encodes. */
int encode_plan_share(const EncodePlan *p, int r);

/* Makes sequence s (0 <= s < n) of a pass into *seq (zeroed by the caller):
 * its n, ids and, when it has them, mask and type_ids, malloc'ed (the caller
 * frees them, after a failure too: encode_seqs_free). 0, or -1 with err when
 * the sequence cannot be encoded. It must be deterministic: encode_make_plan
 * may make a sequence twice, on two ranks. */
typedef int (*EncodeMakeFn)(void *ctx, int s, EncodeSeq *seq, AlbError *err);

/* The sequences of a pass and its plan over every rank of the job (encode_plan
 * with dist_size() ranks), made so that no rank makes them all.
 * Alone: make for every sequence, in order, then the plan: no MPI.
 * In a job (collective: every rank calls it with the same n and inputs): each
 * rank makes a contiguous 1/N of the sequences and keeps only their lengths,
 * which are all-gathered (util/dist.h), so that every rank plans the same
 * batches; then each rank makes again the sequences of its own batches (each
 * sequence is made about twice in all, instead of once on every rank; the
 * plan needs only the lengths, and a rank's batches only their own ids).
 * seqs[0..n) then has every n, but ids (mask, type_ids) only for this rank's
 * batches, NULL elsewhere: encode_run reads no others.
 * A sequence that make refuses fails every rank alike: its length is sent as
 * -1 and every rank makes the first such sequence itself for the error. A
 * sequence made again to another length than the rank that measured it found
 * is an error on that rank (ranks that read different inputs).
 * Returns 0, 1 when stopped through *stop (may be NULL) while exchanging, -1;
 * p is zeroed first. Free with encode_seqs_free and encode_plan_free. */
int encode_make_plan(EncodeMakeFn make, void *ctx, int n, int max_batch, int max_tokens, EncodeSeq *seqs,
                     EncodePlan *p, const volatile sig_atomic_t *stop, AlbError *err);
/* Frees what make allocated in seqs[0..n) (not seqs). */
void encode_seqs_free(EncodeSeq *seqs, int n);

/* The EncodeMakeFn of texts (ctx: an EncodeTexts): sequence s is
 * texts[which ? which[s] : s] tokenized to max_length ids; with vocab > 0, an
 * id >= vocab is an error naming the text's index. */
typedef struct {
    const AlbertTokenizer *tok;
    const char *const *texts;
    const int *which;     /* NULL: sequence s is texts[s] */
    int max_length, vocab;
} EncodeTexts;
int encode_make_text(void *ctx, int s, EncodeSeq *seq, AlbError *err);

/* Runs plan p over seqs, collectively: when p->n_ranks > 1 every rank of the
 * job calls it with the same seqs and plan (n_ranks == dist_size()). Each
 * rank forwards its own batches (only their sequences' ids are read); rank 0 receives the others' and writes every
 * batch's outputs into out in gather order, calling on_batch after each; the
 * other ranks call on_batch after each batch of their own, and their out only
 * says which outputs to compute (its pointers are never written). First,
 * once per pass, every rank's albert_engine and albert_weights_hash must be
 * rank 0's (features of two engines differ in their last bits): otherwise
 * rank 0 fails with one line naming the ranks and their engines (or weights'
 * hashes), and the other ranks wait for it to end the job (dist_abort), so
 * that only it reports. Then rank 0 checks that every rank holds as many
 * sequences and tokens as it does (an error on the rank that differs).
 * Returns 0, -1 (err set: bad id or length, a peer lost, ranks with
 * different engines, weights or inputs), 1 when
 * *stop (may be NULL) became nonzero while waiting for a peer, or the
 * callback's nonzero value (rank 0 then stops gathering; the job is to be
 * ended with dist_abort). */
int encode_run(AlbertModel *m, const EncodeSeq *seqs, const EncodePlan *p, const EncodeOut *out,
               EncodeBatchFn on_batch, void *ctx, const volatile sig_atomic_t *stop, AlbError *err);

/* encode_plan over all of the job's ranks, then encode_run: collective under
 * mpirun (rank 0 gets the outputs), plain batched encoding alone. Returns 0,
 * -1 (err set), or the callback's nonzero value. */
int encode_seqs(AlbertModel *m, const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens,
                const EncodeOut *out, EncodeBatchFn on_batch, void *ctx, AlbError *err);

/* An EncodeBatchFn that moves a bar by each batch's rows: ctx is an EncodeProgress. */
typedef struct {
    Progress *bar;
    int done;         /* sequences encoded so far */
} EncodeProgress;
int encode_progress_batch(void *ctx, const int *rows, int B, long tokens);

/* encode_seqs for [CLS] features only: cls_out [n_seqs, H]. */
int encode_cls(AlbertModel *m, const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens, float *cls_out,
               EncodeBatchFn on_batch, void *ctx, AlbError *err);

/* order[0..n_seqs) = the input indices in length order (ties: input order). */
void encode_length_order(const EncodeSeq *seqs, int n_seqs, int *order);

#endif
