#include "serve/server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/batcher.h"
#include "serve/metrics.h"
#include "serve/request.h"
#include "util/clock.h"

/* The JSON flags of every answer: floats as the shortest text that reads back
 * as the same float (9 significant digits), keys in the order built. */
#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))

struct Server {
    Classifier *c;
    ServeOptions o;
    struct MHD_Daemon *daemon;
    Batcher *batcher;
    ServeMetrics metrics;
    int port;
    atomic_int in_flight;     /* requests the handler has seen and libmicrohttpd not completed */
    atomic_int permits;       /* requests holding a --max-concurrent-requests slot */
    pthread_mutex_t submit_mu;
    int closed;               /* under submit_mu: the batcher takes no more jobs */
};

typedef enum { GET_INFO, GET_HEALTH, GET_METRICS, POST_INFER, NO_ROUTE, BAD_METHOD } Endpoint;

/* One request, from its first byte to its completion. */
typedef struct {
    Server *s;
    struct MHD_Connection *conn;
    Endpoint endpoint;
    ServeRoute route;
    char *body;
    size_t len, cap;
    int too_large, permit, waiting;
    ServeRequest req;
    TokenIds *ids;
    EncodeSeq *seqs;
    BatchJob job;
    long tokens;
    double t0;
} Req;

static const int ERR_STATUS[ERR_KINDS] = {422, 429, 422, 424, 400};

/* ------------------------------------------------------------------ answers */

static void add_timing_headers(struct MHD_Response *resp, const Req *r) {
    double now = monotonic_s(), queue = 0, inference = 0;
    if (r->waiting) {
        queue = r->job.started_at - r->job.queued_at;
        inference = r->job.finished_at - r->job.started_at;
    }
    char v[32];
    snprintf(v, sizeof v, "%.3f", 1e3 * (now - r->t0));
    MHD_add_response_header(resp, "x-compute-time", v);
    MHD_add_response_header(resp, "x-total-time", v);
    snprintf(v, sizeof v, "%.3f", 1e3 * queue);
    MHD_add_response_header(resp, "x-queue-time", v);
    snprintf(v, sizeof v, "%.3f", 1e3 * inference);
    MHD_add_response_header(resp, "x-inference-time", v);
    snprintf(v, sizeof v, "%ld", r->tokens);
    MHD_add_response_header(resp, "x-compute-tokens", v);
}

/* Queues text (malloc'ed, taken) as the answer. */
static enum MHD_Result respond(Req *r, unsigned status, char *text, const char *type) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", type);
    add_timing_headers(resp, r);
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result respond_json(Req *r, unsigned status, json_t *j) {
    char *text = alb_xnonnull(json_dumps(j, JSON_FLAGS), "a JSON answer");
    json_decref(j);
    return respond(r, status, text, "application/json");
}

/* TEI's error answer; counted in te_request_failure. */
static enum MHD_Result respond_error(Req *r, ErrKind kind, const char *msg) {
    metrics_failure(&r->s->metrics, kind);
    return respond_json(r, (unsigned)ERR_STATUS[kind],
                        json_pack("{s:s, s:s}", "error", msg, "error_type", ERR_KIND_NAMES[kind]));
}

/* HTTP-level refusals (401, 404, 405, 413), which TEI answers outside its error kinds. */
static enum MHD_Result respond_http(Req *r, unsigned status, const char *msg) {
    return respond_json(r, status, json_pack("{s:s}", "error", msg));
}

static json_t *info_json(Server *s) {
    Classifier *c = s->c;
    json_t *type;
    if (c->has_head) {
        json_t *id2label, *label2id;
        classifier_label_maps((const char *const *)c->labels, c->num_labels, &id2label, &label2id);
        type = json_pack("{s:{s:o, s:o}}", "classifier", "id2label", id2label, "label2id", label2id);
    } else {
        type = json_pack("{s:{s:s}}", "embedding", "pooling", "cls");
    }
    json_t *info = json_pack("{s:s, s:n, s:s, s:o, s:i, s:i, s:I, s:n, s:i, s:b, s:i, s:s, s:n, s:n}", "model_id",
                             s->o.model_id, "model_sha", "model_dtype", c->config.dtype, "model_type", type,
                             "max_concurrent_requests", s->o.max_concurrent_requests, "max_input_length",
                             c->max_length, "max_batch_tokens", (json_int_t)s->o.max_batch_tokens,
                             "max_batch_requests", "max_client_batch_size", s->o.max_client_batch_size,
                             "auto_truncate", s->o.auto_truncate, "tokenization_workers", s->o.threads, "version",
                             s->o.version, "sha", "docker_label");
    /* ours, beyond TEI's: what computes the features, and what the head learnt from (null: unknown) */
    json_object_set_new(info, "engine", json_string(albert_engine(c->encoder)));
    json_object_set_new(info, "trained_engine", c->config.engine[0] ? json_string(c->config.engine) : json_null());
    return info;
}

/* The answers of a finished /predict, /embed or /health job. */
static enum MHD_Result answer_job(Req *r) {
    Server *s = r->s;
    Classifier *c = s->c;
    if (r->endpoint == GET_HEALTH)
        return r->job.failed ? respond_http(r, 503, r->job.error.msg) : respond(r, 200, alb_xstrdup(""), "text/plain");
    if (r->job.failed) return respond_error(r, ERR_BACKEND, r->job.error.msg);
    json_t *all = json_array();
    int H = albert_config(c->encoder)->hidden_size;
    for (int i = 0; i < r->req.n; i++) {
        if (r->route == ROUTE_PREDICT) {
            json_array_append_new(all, classifier_scores_json(c, r->job.logits + (size_t)i * c->num_labels, 0,
                                                              r->req.raw_scores));
            continue;
        }
        const float *f = r->job.features + (size_t)i * H;
        double norm = 0;
        for (int k = 0; k < H; k++) norm += (double)f[k] * f[k];
        float scale = r->req.normalize && norm > 0 ? (float)(1.0 / sqrt(norm)) : 1.0f;
        json_t *v = json_array();
        for (int k = 0; k < H; k++) json_array_append_new(v, json_real(scale == 1.0f ? f[k] : f[k] * scale));
        json_array_append_new(all, v);
    }
    /* TEI answers one /predict input unwrapped, /embed always as a list */
    if (r->route == ROUTE_PREDICT && !r->req.batched) {
        json_t *one = json_incref(json_array_get(all, 0));
        json_decref(all);
        all = one;
    }
    metrics_success(&s->metrics, monotonic_s() - r->t0, r->job.started_at - r->job.queued_at,
                    r->job.finished_at - r->job.started_at);
    return respond_json(r, 200, all);
}

/* TEI's /tokenize: every token of each input (no truncation, no length
 * limit), as TEI builds them from the engine's encoding: the [CLS] and [SEP]
 * the post-processor adds are special, with their piece as text and no
 * offsets; every other token (a special token written in the text included)
 * has start/stop, its byte offsets in the input, and that slice of the input
 * as text. */
static enum MHD_Result answer_tokenize(Req *r) {
    AlbertTokenizer *tok = r->s->c->tok;
    json_t *all = json_array();
    TokenIds t = {0};
    for (int i = 0; i < r->req.n; i++) {
        const char *text = r->req.texts[i];
        tokenizer_encode_spans(tok, text, r->req.lens[i], 0, &t);
        r->tokens += t.n;
        json_t *tokens = json_array();
        for (int k = 0; k < t.n; k++) {
            int special = k == 0 || k == t.n - 1;
            if (special && !r->req.add_special_tokens) continue;
            json_t *one = json_pack("{s:i}", "id", t.ids[k]);
            if (special) {
                json_object_set_new(one, "text", json_string(tokenizer_piece(tok, t.ids[k])));
                json_object_set_new(one, "special", json_true());
                json_object_set_new(one, "start", json_null());
                json_object_set_new(one, "stop", json_null());
            } else {
                ByteSpan sp = t.spans[k];
                /* spans fall on character boundaries of valid UTF-8 (a JSON string) */
                json_t *slice = json_stringn(text + sp.start, (size_t)(sp.end - sp.start));
                json_object_set_new(one, "text", slice ? slice : json_string(""));
                json_object_set_new(one, "special", json_false());
                json_object_set_new(one, "start", json_integer(sp.start));
                json_object_set_new(one, "stop", json_integer(sp.end));
            }
            json_array_append_new(tokens, one);
        }
        json_array_append_new(all, tokens);
    }
    token_ids_free(&t);
    metrics_success(&r->s->metrics, monotonic_s() - r->t0, 0, 0);
    return respond_json(r, 200, all);
}

static enum MHD_Result answer_decode(Req *r) {
    json_t *all = json_array();
    for (int i = 0; i < r->req.n; i++) {
        char *text = tokenizer_decode(r->s->c->tok, r->req.ids[i], r->req.n_ids[i], r->req.skip_special_tokens);
        json_array_append_new(all, json_string(text));
        free(text);
    }
    metrics_success(&r->s->metrics, monotonic_s() - r->t0, 0, 0);
    return respond_json(r, 200, all);
}

/* ------------------------------------------------------------------ requests */

static void job_done(BatchJob *job) {
    Req *r = job->ctx;
    MHD_resume_connection(r->conn);
}

/* Tokenizes every input (here, on an HTTP thread): over max_input_length
 * tokens it is truncated when the request (or --auto-truncate) says so, else
 * refused, as TEI does. */
static int tokenize_inputs(Req *r, char *msg, size_t msg_size) {
    Classifier *c = r->s->c;
    int truncate = r->req.truncate >= 0 ? r->req.truncate : r->s->o.auto_truncate;
    r->ids = alb_xcalloc((size_t)r->req.n, sizeof *r->ids);
    r->seqs = alb_xcalloc((size_t)r->req.n, sizeof *r->seqs);
    for (int i = 0; i < r->req.n; i++) {
        int max_length = truncate ? c->max_length : 0;
        if (r->req.pairs && r->req.pairs[i])  /* truncated longest first, as TEI */
            tokenizer_encode_pair(c->tok, r->req.texts[i], r->req.lens[i], r->req.pairs[i], r->req.pair_lens[i],
                                  max_length, &r->ids[i]);
        else tokenizer_encode(c->tok, r->req.texts[i], r->req.lens[i], max_length, &r->ids[i]);
        if (r->ids[i].n > c->max_length) {
            snprintf(msg, msg_size, "Input validation error: `inputs` must have less than %d tokens. Given: %d",
                     c->max_length, r->ids[i].n);
            return -1;
        }
        r->seqs[i] = (EncodeSeq){.n = r->ids[i].n, .ids = r->ids[i].ids, .type_ids = r->ids[i].type_ids};
        r->tokens += r->ids[i].n;
    }
    return 0;
}

/* Queues the job and suspends the connection; job_done resumes it. */
static enum MHD_Result submit(Req *r) {
    Server *s = r->s;
    Classifier *c = s->c;
    int H = albert_config(c->encoder)->hidden_size;
    r->job = (BatchJob){.n = r->req.n, .seqs = r->seqs, .done = job_done, .ctx = r};
    r->job.features = alb_xmalloc(sizeof(float) * (size_t)r->req.n * (size_t)H);
    if (r->route == ROUTE_PREDICT) r->job.logits = alb_xmalloc(sizeof(float) * (size_t)r->req.n * c->num_labels);
    pthread_mutex_lock(&s->submit_mu);
    int closed = s->closed;
    if (!closed) {
        r->waiting = 1;
        MHD_suspend_connection(r->conn);
        batcher_submit(s->batcher, &r->job);
    }
    pthread_mutex_unlock(&s->submit_mu);
    return closed ? respond_error(r, ERR_OVERLOADED, "the server is shutting down") : MHD_YES;
}

/* /health runs the encoder on an empty text ([CLS] [SEP]) through the batcher,
 * behind whatever waits: 200 only when the model answers. */
static enum MHD_Result check_health(Req *r) {
    r->req.n = 1;
    r->route = ROUTE_EMBED;
    r->ids = alb_xcalloc(1, sizeof *r->ids);
    r->seqs = alb_xcalloc(1, sizeof *r->seqs);
    tokenizer_encode(r->s->c->tok, "", 0, 0, &r->ids[0]);
    r->seqs[0] = (EncodeSeq){.n = r->ids[0].n, .ids = r->ids[0].ids};
    return submit(r);
}

static enum MHD_Result answer_get(Req *r) {
    Server *s = r->s;
    if (r->endpoint == GET_HEALTH) return check_health(r);
    if (r->endpoint == GET_INFO) return respond_json(r, 200, info_json(s));
    int queued, next_size;
    long next_tokens;
    batcher_stats(s->batcher, &queued, &next_size, &next_tokens);
    return respond(r, 200, metrics_render(&s->metrics, queued, next_size, next_tokens),
                   "text/plain; version=0.0.4");
}

static enum MHD_Result answer_post(Req *r) {
    Server *s = r->s;
    AlbError err;
    RequestStatus st =
        serve_request_parse(&r->req, r->route, r->body ? r->body : "", r->len, tokenizer_vocab_size(s->c->tok), &err);
    if (st != REQ_OK) return respond_error(r, st == REQ_EMPTY ? ERR_EMPTY : ERR_VALIDATION, err.msg);
    if (r->req.n > s->o.max_client_batch_size) {
        char msg[160];
        snprintf(msg, sizeof msg, "batch size %d > maximum allowed batch size %d", r->req.n,
                 s->o.max_client_batch_size);
        return respond_error(r, ERR_VALIDATION, msg);
    }
    if (atomic_fetch_add(&s->permits, 1) >= s->o.max_concurrent_requests) {
        atomic_fetch_sub(&s->permits, 1);
        return respond_error(r, ERR_OVERLOADED, "Model is overloaded");
    }
    r->permit = 1;
    if (r->route == ROUTE_DECODE) return answer_decode(r);
    if (r->route == ROUTE_TOKENIZE) return answer_tokenize(r);
    if (r->route == ROUTE_PREDICT && !s->c->has_head) return respond_error(r, ERR_BACKEND, "model is not a classifier");
    char msg[200];
    if (tokenize_inputs(r, msg, sizeof msg)) return respond_error(r, ERR_VALIDATION, msg);
    return submit(r);
}

static Endpoint endpoint_of(const Server *s, const char *method, const char *url, ServeRoute *route) {
    static const struct {
        const char *path;
        ServeRoute route;
    } posts[] = {{"/predict", ROUTE_PREDICT}, {"/embed", ROUTE_EMBED}, {"/tokenize", ROUTE_TOKENIZE},
                 {"/decode", ROUTE_DECODE}};
    static const char *const gets[] = {"/info", "/health", "/metrics"};
    int is_post = !strcmp(method, "POST"), is_get = !strcmp(method, "GET");
    if (!strcmp(url, "/")) {
        *route = s->c->has_head ? ROUTE_PREDICT : ROUTE_EMBED;
        return is_post ? POST_INFER : BAD_METHOD;
    }
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++)
        if (!strcmp(url, posts[i].path)) {
            *route = posts[i].route;
            return is_post ? POST_INFER : BAD_METHOD;
        }
    for (int i = 0; i < 3; i++)
        if (!strcmp(url, gets[i])) return is_get ? (Endpoint)i : BAD_METHOD;
    return NO_ROUTE;
}

/* The first call of a request: what it asks for, and the status (404, 405,
 * 401, 413) of a refusal made before its body is read, or 0. */
static unsigned first_call(Req *r, const char *method, const char *url, const char **msg) {
    Server *s = r->s;
    r->endpoint = endpoint_of(s, method, url, &r->route);
    if (r->endpoint == NO_ROUTE) return *msg = "not found", 404;
    if (r->endpoint == BAD_METHOD) return *msg = "method not allowed", 405;
    if (s->o.api_key && r->endpoint != GET_HEALTH && r->endpoint != GET_METRICS) {
        const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth || strncmp(auth, "Bearer ", 7) || strcmp(auth + 7, s->o.api_key)) return *msg = "Unauthorized", 401;
    }
    const char *length = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > (unsigned long long)s->o.payload_limit)
        return *msg = "payload too large", 413;
    return 0;
}

/* Keeps at most payload_limit bytes; past that the rest is read and dropped
 * (a chunked body has no length to refuse it by up front). */
static void append_body(Req *r, const char *data, size_t n) {
    if (r->too_large || r->len + n > (size_t)r->s->o.payload_limit) {
        r->too_large = 1;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        r->cap = r->len + n + 1 > 2 * r->cap ? r->len + n + 1 : 2 * r->cap;
        r->body = alb_xrealloc(r->body, r->cap);
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
    (void)version;
    Server *s = cls;
    Req *r = *con_cls;
    if (!r) {
        r = *con_cls = alb_xcalloc(1, sizeof *r);
        r->s = s;
        r->conn = conn;
        r->t0 = monotonic_s();
        atomic_fetch_add(&s->in_flight, 1);
        const char *msg;
        unsigned status = first_call(r, method, url, &msg);
        return status ? respond_http(r, status, msg) : MHD_YES;
    }
    if (*upload_data_size) {
        append_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->waiting) return answer_job(r);
    if (r->too_large) return respond_http(r, 413, "payload too large");
    if (r->endpoint != POST_INFER) return answer_get(r);
    return answer_post(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)conn, (void)toe;
    Server *s = cls;
    Req *r = *con_cls;
    if (!r) return;
    if (r->permit) atomic_fetch_sub(&s->permits, 1);
    if (r->ids)
        for (int i = 0; i < r->req.n; i++) token_ids_free(&r->ids[i]);
    free(r->ids);
    free(r->seqs);
    free(r->job.features);
    free(r->job.logits);
    serve_request_free(&r->req);
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ------------------------------------------------------------------ life */

int server_start(Server **out, Classifier *c, const ServeOptions *o, AlbError *err) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1)
        return alb_fail(err, "--host: '%s' is not an IPv4 address", o->host);
    Server *s = alb_xcalloc(1, sizeof *s);
    s->c = c;
    s->o = *o;
    metrics_init(&s->metrics);
    pthread_mutex_init(&s->submit_mu, NULL);
    s->batcher = batcher_start(c, o->max_batch_tokens);
    s->daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC, 0, NULL, NULL, handler, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s, MHD_OPTION_CONNECTION_LIMIT, 4000u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        batcher_stop(s->batcher);
        metrics_destroy(&s->metrics);
        pthread_mutex_destroy(&s->submit_mu);
        free(s);
        return alb_fail(err, "cannot listen on %s:%d (in use, or not an address of this machine?)", o->host, o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    s->port = getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) ? o->port : ntohs(bound.sin_port);
    *out = s;
    return 0;
}

int server_port(const Server *s) { return s->port; }

void server_stop(Server *s, double grace_s) {
    MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
    /* requests in flight: those being read may still finish within the grace */
    for (double t0 = monotonic_s(); atomic_load(&s->in_flight) > 0 && monotonic_s() - t0 < grace_s;)
        usleep(10000);
    pthread_mutex_lock(&s->submit_mu);
    s->closed = 1;
    pthread_mutex_unlock(&s->submit_mu);
    /* runs every submitted job and so resumes every suspended connection,
     * which libmicrohttpd requires before it stops */
    batcher_stop(s->batcher);
    MHD_stop_daemon(s->daemon);
    metrics_destroy(&s->metrics);
    pthread_mutex_destroy(&s->submit_mu);
    free(s);
}
