/* Length-sorted batched encoding; see encode.h. */
#include "pipeline/encode.h"

#include <stdlib.h>
#include <string.h>

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

int encode_seqs(AlbertModel *m, const EncodeSeq *seqs, int n_seqs, int max_batch, int max_tokens,
                const EncodeOut *out, EncodeBatchFn on_batch, void *ctx, AlbError *err) {
    if (n_seqs <= 0) return 0;
    const AlbertConfig *c = albert_config(m);
    int H = c->hidden_size, pad = c->pad_token_id;
    for (int i = 0; i < n_seqs; i++) {
        if (seqs[i].n < 1 || seqs[i].n > c->max_position_embeddings)
            return alb_fail(err, "encode: sequence %d has %d tokens; the model takes 1 to %d", i, seqs[i].n,
                            c->max_position_embeddings);
        if (out->hidden && seqs[i].n > out->hidden_rows)
            return alb_fail(err, "encode: sequence %d has %d tokens, more than the %d hidden rows given", i,
                            seqs[i].n, out->hidden_rows);
    }
    int *order = alb_xmalloc(sizeof(int) * (size_t)n_seqs);
    encode_length_order(seqs, n_seqs, order);
    int Lmax = seqs[order[n_seqs - 1]].n;
    int batch_size = max_batch;
    if (max_tokens > 0 && (long)batch_size * seqs[order[0]].n > max_tokens) batch_size = max_tokens / seqs[order[0]].n;
    if (batch_size < 1) batch_size = 1;
    size_t cap = (size_t)batch_size * (size_t)Lmax;
    int32_t *ids = alb_xmalloc(sizeof(int32_t) * cap), *mask = alb_xmalloc(sizeof(int32_t) * cap),
            *types = alb_xmalloc(sizeof(int32_t) * cap);
    float *cls = out->cls ? alb_xmalloc(sizeof(float) * (size_t)batch_size * H) : NULL;
    float *pooler = out->pooler ? alb_xmalloc(sizeof(float) * (size_t)batch_size * H) : NULL;
    float *hidden = out->hidden ? alb_xmalloc(sizeof(float) * cap * (size_t)H) : NULL;
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
        int any_type = 0;
        /* ids, types, mask [B, L]: right-padded */
        for (int b = 0; b < B; b++) {
            const EncodeSeq *s = &seqs[rows[b]];
            tokens += s->n;
            any_type |= s->type_ids != NULL;
            for (int i = 0; i < L; i++) {
                ids[b * L + i] = i < s->n ? s->ids[i] : pad;
                types[b * L + i] = i < s->n && s->type_ids ? s->type_ids[i] : 0;
                mask[b * L + i] = i < s->n ? (s->mask ? s->mask[i] : 1) : 0;
            }
        }
        /* [B, L, H], [B, H], [B, H] */
        rc = albert_forward(m, B, L, ids, any_type ? types : NULL, mask, hidden, cls, pooler, err);
        for (int b = 0; b < B && !rc; b++) {
            size_t r = (size_t)rows[b];
            if (cls) memcpy(out->cls + r * H, cls + (size_t)b * H, sizeof(float) * H);
            if (pooler) memcpy(out->pooler + r * H, pooler + (size_t)b * H, sizeof(float) * H);
            if (hidden)
                memcpy(out->hidden + r * out->hidden_rows * H, hidden + (size_t)b * L * H,
                       sizeof(float) * (size_t)seqs[r].n * H);
        }
        if (!rc && on_batch) rc = on_batch(ctx, rows, B, tokens);
    }
    free(order);
    free(ids);
    free(types);
    free(mask);
    free(cls);
    free(pooler);
    free(hidden);
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
