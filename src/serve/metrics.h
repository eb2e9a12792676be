/* serve's counters and latency histograms, in Prometheus text format under
 * text-embeddings-inference's metric names (te_*), so TEI dashboards work.
 * Every function may be called from any thread. */
#ifndef ALB_SERVE_METRICS_H
#define ALB_SERVE_METRICS_H

#include <pthread.h>

#define METRICS_BUCKETS 16

typedef struct {
    long counts[METRICS_BUCKETS + 1];  /* the last one: above every bound (+Inf) */
    double sum;
    long n;
} Histogram;

/* TEI's error kinds (and the HTTP-level refusals it answers without a kind). */
typedef enum { ERR_VALIDATION, ERR_OVERLOADED, ERR_TOKENIZER, ERR_BACKEND, ERR_EMPTY, ERR_KINDS } ErrKind;
extern const char *const ERR_KIND_NAMES[ERR_KINDS];  /* "Validation", ... as the error_type field */

typedef struct {
    pthread_mutex_t mu;
    long requests, successes, failures[ERR_KINDS];
    Histogram duration, queue, inference;  /* seconds */
} ServeMetrics;

void metrics_init(ServeMetrics *m);
void metrics_destroy(ServeMetrics *m);
void metrics_success(ServeMetrics *m, double total_s, double queue_s, double inference_s);
void metrics_failure(ServeMetrics *m, ErrKind kind);
/* The whole exposition, gauges included; malloc'ed. */
char *metrics_render(ServeMetrics *m, int queue_size, int batch_next_size, long batch_next_tokens);

#endif
