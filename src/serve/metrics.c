#include "serve/metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

const char *const ERR_KIND_NAMES[ERR_KINDS] = {"Validation", "Overloaded", "Tokenizer", "Backend", "Empty"};

/* Upper bounds in seconds: 0.5 ms doubling to ~16 s spans one short text at
 * tiny size to a full queue at base size. */
static double bucket_bound(int i) { return 0.0005 * (double)(1L << i); }

static void observe(Histogram *h, double v) {
    int i = 0;
    while (i < METRICS_BUCKETS && v > bucket_bound(i)) i++;
    h->counts[i]++;
    h->sum += v;
    h->n++;
}

void metrics_init(ServeMetrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void metrics_destroy(ServeMetrics *m) { pthread_mutex_destroy(&m->mu); }

void metrics_success(ServeMetrics *m, double total_s, double queue_s, double inference_s) {
    pthread_mutex_lock(&m->mu);
    m->requests++;
    m->successes++;
    observe(&m->duration, total_s);
    observe(&m->queue, queue_s);
    observe(&m->inference, inference_s);
    pthread_mutex_unlock(&m->mu);
}

void metrics_failure(ServeMetrics *m, ErrKind kind) {
    pthread_mutex_lock(&m->mu);
    m->requests++;
    m->failures[kind]++;
    pthread_mutex_unlock(&m->mu);
}

static void histogram(FILE *f, const char *name, const Histogram *h) {
    fprintf(f, "# TYPE %s histogram\n", name);
    long cumulative = 0;
    for (int i = 0; i < METRICS_BUCKETS; i++) {
        cumulative += h->counts[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %ld\n", name, bucket_bound(i), cumulative);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %ld\n%s_sum %.9g\n%s_count %ld\n", name, h->n, name, h->sum, name, h->n);
}

char *metrics_render(ServeMetrics *m, int queue_size, int batch_next_size, long batch_next_tokens) {
    char *text = NULL;
    size_t len = 0;
    /* out of memory here is the same fatal case as alb_xmalloc's */
    FILE *f = alb_xnonnull(open_memstream(&text, &len), "metrics");
    pthread_mutex_lock(&m->mu);
    fprintf(f, "# TYPE te_request_count counter\nte_request_count %ld\n", m->requests);
    fprintf(f, "# TYPE te_request_success counter\nte_request_success %ld\n", m->successes);
    fprintf(f, "# TYPE te_request_failure counter\n");
    for (int k = 0; k < ERR_KINDS; k++) {
        char label[16];
        size_t j = 0;
        for (; ERR_KIND_NAMES[k][j] && j + 1 < sizeof label; j++) label[j] = (char)tolower(ERR_KIND_NAMES[k][j]);
        label[j] = 0;
        fprintf(f, "te_request_failure{err=\"%s\"} %ld\n", label, m->failures[k]);
    }
    histogram(f, "te_request_duration", &m->duration);
    histogram(f, "te_request_queue_duration", &m->queue);
    histogram(f, "te_request_inference_duration", &m->inference);
    pthread_mutex_unlock(&m->mu);
    fprintf(f, "# TYPE te_queue_size gauge\nte_queue_size %d\n", queue_size);
    fprintf(f, "# TYPE te_batch_next_size gauge\nte_batch_next_size %d\n", batch_next_size);
    fprintf(f, "# TYPE te_batch_next_tokens gauge\nte_batch_next_tokens %ld\n", batch_next_tokens);
    fclose(f);
    return text;
}
