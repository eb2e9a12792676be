#include "serve/batcher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

struct Batcher {
    Classifier *c;
    long max_tokens;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    BatchJob *head, *tail;    /* jobs with rows not yet in a batch, oldest first */
    int queued_rows;
    int stopping;
    /* the batch being run: which job and row each sequence is (encoder thread only) */
    BatchJob **jobs;
    int *rows;
    EncodeSeq *seqs;
    int cap;
};

/* The rows that fit in the next batch, oldest first: at most max_tokens real
 * tokens, at least one row. With take, they are recorded in b->jobs/rows/seqs
 * and taken off the queue. Called with mu held. */
static int gather(Batcher *b, int take, long *tokens_out) {
    int B = 0;
    long tokens = 0;
    for (BatchJob *j = b->head; j; j = j->link) {
        int row = j->next;
        for (; row < j->n; row++) {
            long n = j->seqs[row].n;
            if (B > 0 && tokens + n > b->max_tokens) break;
            if (take) {
                if (B == b->cap) {
                    b->cap = b->cap ? 2 * b->cap : 64;
                    b->jobs = alb_xrealloc(b->jobs, sizeof *b->jobs * (size_t)b->cap);
                    b->rows = alb_xrealloc(b->rows, sizeof *b->rows * (size_t)b->cap);
                    b->seqs = alb_xrealloc(b->seqs, sizeof *b->seqs * (size_t)b->cap);
                }
                b->jobs[B] = j;
                b->rows[B] = row;
                b->seqs[B] = j->seqs[row];
            }
            B++;
            tokens += n;
        }
        if (row < j->n) break;
    }
    if (take) {
        for (int i = 0; i < B; i++) b->jobs[i]->next = b->rows[i] + 1;
        /* a batch takes whole jobs from the front, then part of at most one more */
        while (b->head && b->head->next == b->head->n) b->head = b->head->link;
        if (!b->head) b->tail = NULL;
        b->queued_rows -= B;
    }
    *tokens_out = tokens;
    return B;
}

/* Runs one gathered batch and hands each row to its job; returns the jobs
 * whose last row this was, linked through job->link, for done() to be called
 * on them without the lock. */
static BatchJob *run_batch(Batcher *b, int B) {
    Classifier *c = b->c;
    int H = albert_config(c->encoder)->hidden_size, C = c->has_head ? c->num_labels : 0;
    float *features = alb_xmalloc(sizeof(float) * (size_t)B * (size_t)H);
    float *logits = C ? alb_xmalloc(sizeof(float) * (size_t)B * (size_t)C) : NULL;
    double started = monotonic_s();
    AlbError err = {{0}};
    int failed = classifier_features_seqs(c, b->seqs, B, features, &err) != 0;
    if (!failed && C) classifier_head_logits(c, features, B, logits);
    double finished = monotonic_s();
    BatchJob *finished_jobs = NULL;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < B; i++) {
        BatchJob *j = b->jobs[i];
        if (j->started_at == 0) j->started_at = started;
        memcpy(j->features + (size_t)b->rows[i] * H, features + (size_t)i * H, sizeof(float) * (size_t)H);
        if (j->logits && C)
            memcpy(j->logits + (size_t)b->rows[i] * C, logits + (size_t)i * C, sizeof(float) * (size_t)C);
        if (failed && !j->failed) {
            j->failed = 1;
            j->error = err;
        }
        if (--j->remaining == 0) {
            j->finished_at = finished;
            j->link = finished_jobs;
            finished_jobs = j;
        }
    }
    pthread_mutex_unlock(&b->mu);
    free(features);
    free(logits);
    return finished_jobs;
}

static void *encoder_thread(void *arg) {
    Batcher *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->head && !b->stopping) pthread_cond_wait(&b->wake, &b->mu);
        if (!b->head) {
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
        long tokens;
        int B = gather(b, 1, &tokens);
        pthread_mutex_unlock(&b->mu);
        for (BatchJob *j = run_batch(b, B), *next; j; j = next) {
            next = j->link;
            j->done(j);
        }
    }
}

Batcher *batcher_start(Classifier *c, long max_tokens) {
    Batcher *b = alb_xcalloc(1, sizeof *b);
    b->c = c;
    b->max_tokens = max_tokens;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->wake, NULL);
    if (pthread_create(&b->thread, NULL, encoder_thread, b)) alb_xnonnull(NULL, "the encoder thread");
    return b;
}

void batcher_submit(Batcher *b, BatchJob *job) {
    job->next = 0;
    job->remaining = job->n;
    job->failed = 0;
    job->queued_at = monotonic_s();
    job->started_at = job->finished_at = 0;
    job->link = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->tail) b->tail->link = job;
    else b->head = job;
    b->tail = job;
    b->queued_rows += job->n;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
}

void batcher_stats(Batcher *b, int *queued_rows, int *next_size, long *next_tokens) {
    pthread_mutex_lock(&b->mu);
    *queued_rows = b->queued_rows;
    *next_size = gather(b, 0, next_tokens);
    pthread_mutex_unlock(&b->mu);
}

void batcher_stop(Batcher *b) {
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->wake);
    free(b->jobs);
    free(b->rows);
    free(b->seqs);
    free(b);
}
