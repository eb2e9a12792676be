/* Length-sorted batched [CLS] encoding; see encode.h. */
#include "model/encode.h"

#include <stdlib.h>
#include <string.h>

static int by_length(const void *a, const void *b, void *seqs) {
    const EncodeSeq *s = seqs;
    int ia = *(const int *)a, ib = *(const int *)b;
    if (s[ia].n != s[ib].n) return s[ia].n - s[ib].n;
    return ia - ib;
}

int encode_cls(AlbertModel *m, const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens, float *cls_out,
               EncodeBatchFn on_batch, void *ctx, AlbError *err) {
    if (n_seqs <= 0) return 0;
    const AlbertConfig *c = albert_config(m);
    int H = c->hidden_size, pad = c->pad_token_id;
    int *order = alb_xmalloc(sizeof(int) * (size_t)n_seqs);
    for (int i = 0; i < n_seqs; i++) {
        if (seqs[i].n < 1 || seqs[i].n > c->max_position_embeddings) {
            free(order);
            return alb_fail(err, "encode: sequence %d has %d tokens; the model takes 1 to %d", i, seqs[i].n,
                            c->max_position_embeddings);
        }
        order[i] = i;
    }
    qsort_r(order, (size_t)n_seqs, sizeof(int), by_length, (void *)seqs);
    int Lmax = seqs[order[n_seqs - 1]].n;
    int batch_size = max_batch;
    if (max_tokens > 0 && (long)batch_size * seqs[order[0]].n > max_tokens) batch_size = max_tokens / seqs[order[0]].n;
    if (batch_size < 1) batch_size = 1;
    size_t cap = (size_t)batch_size * (size_t)Lmax;
    int32_t *ids = alb_xmalloc(sizeof(int32_t) * cap), *mask = alb_xmalloc(sizeof(int32_t) * cap);
    float *cls = alb_xmalloc(sizeof(float) * (size_t)batch_size * H);
    int rc = 0;
    for (int start = 0, B; start < n_seqs && !rc; start += B) {
        /* the next B sequences, B*L within the budget (lengths only grow) */
        B = 1;
        while (B < batch_size && start + B < n_seqs &&
               (max_tokens <= 0 || (long)(B + 1) * seqs[order[start + B]].n <= max_tokens))
            B++;
        const int *rows = order + start;
        int L = seqs[rows[B - 1]].n;  /* the longest of this batch */
        long tokens = 0;
        /* ids, mask [B, L]: right-padded */
        for (int b = 0; b < B; b++) {
            const EncodeSeq *s = &seqs[rows[b]];
            tokens += s->n;
            for (int i = 0; i < L; i++) {
                ids[b * L + i] = i < s->n ? s->ids[i] : pad;
                mask[b * L + i] = i < s->n;
            }
        }
        rc = albert_forward(m, B, L, ids, mask, NULL, cls, NULL, err);  /* cls [B, H] */
        for (int b = 0; b < B && !rc; b++)
            memcpy(cls_out + (size_t)rows[b] * H, cls + (size_t)b * H, sizeof(float) * H);
        if (!rc && on_batch) rc = on_batch(ctx, rows, B, tokens);
    }
    free(order);
    free(ids);
    free(mask);
    free(cls);
    return rc;
}
