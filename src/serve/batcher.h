/* serve's dynamic batching: one encoder thread gathers the token sequences of
 * every waiting request, oldest first, into batches of at most max_tokens real
 * tokens, and runs them through the classifier's one text-to-features path
 * (classifier_features_seqs: length-sorted sub-batches of ENCODE_BATCH texts /
 * ENCODE_TOKENS padded tokens, the batching predict uses) and, where asked, the
 * head. A job may be split over several batches; its done callback runs once,
 * on the encoder thread, when its last row is written.
 *
 * Callers tokenize (on their own threads) and own the job and its buffers
 * until done is called. The classifier is used by the encoder thread only. */
#ifndef ALB_SERVE_BATCHER_H
#define ALB_SERVE_BATCHER_H

#include "pipeline/classifier.h"

typedef struct BatchJob BatchJob;
struct BatchJob {
    /* set by the caller */
    int n;
    const EncodeSeq *seqs;    /* [n], made with the classifier's tokenizer */
    float *features;          /* [n, H] out */
    float *logits;            /* [n, C] out, or NULL: no head */
    void (*done)(BatchJob *job);
    void *ctx;                /* the caller's */
    /* set by the batcher before done */
    int failed;               /* the encoder refused a batch: error holds why */
    AlbError error;
    double queued_at, started_at, finished_at;  /* monotonic_s() */
    /* the batcher's own */
    int next, remaining;
    BatchJob *link;
};

typedef struct Batcher Batcher;

/* Starts the encoder thread. max_tokens >= 1 (a longer sequence goes alone). */
Batcher *batcher_start(Classifier *c, long max_tokens);
/* Queues a job (n >= 1). */
void batcher_submit(Batcher *b, BatchJob *job);
/* What waits: rows not yet in a batch, and the size and real tokens of the batch
 * that would run next (TEI's te_queue_size, te_batch_next_size/_tokens). */
void batcher_stats(Batcher *b, int *queued_rows, int *next_size, long *next_tokens);
/* Runs what is queued, then stops the thread and frees the batcher. */
void batcher_stop(Batcher *b);

#endif
