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

#include <stdint.h>
#include "model/albert.h"
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
    const int32_t *ids;   /* [n] */
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

/* Returns 0, -1 (err set: bad id or length), or the callback's nonzero value. */
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

/* order[0..n_seqs) = the input indices in encoding order. */
void encode_length_order(const EncodeSeq *seqs, int n_seqs, int *order);

#endif
