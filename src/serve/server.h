/* albertc serve's HTTP server: text-embeddings-inference's (TEI v1.9) API on
 * libmicrohttpd, over one loaded classifier (or plain encoder).
 *
 * Routes: POST /predict, /embed, /tokenize, /decode (bodies: serve/request.h),
 * POST / (/predict for a classifier, /embed for a plain encoder), GET /info
 * (TEI's fields, and ours: "engine", the albert_engine computing the features,
 * and "trained_engine", the one the head learnt from, null when unknown),
 * /health (a real forward of an empty text, queued like any request), /metrics. Answers and errors are TEI's JSON: errors
 * {"error", "error_type"} with 422 Validation and Tokenizer, 429 Overloaded,
 * 424 Backend, 400 Empty; 413 for a body over payload_limit, 401 without the
 * API key (/health and /metrics are exempt), 404 / 405 for other paths and
 * methods. Every answer carries x-compute-time, x-queue-time,
 * x-inference-time, x-total-time (ms) and x-compute-tokens.
 *
 * Threads: libmicrohttpd's epoll threads read requests, parse and tokenize
 * them, then suspend the connection while the batcher (serve/batcher.h) runs
 * the encoder for every waiting request at once; its callback resumes the
 * connection. Memory per connection is bounded (libmicrohttpd's 32 KB pool and
 * a body of at most payload_limit bytes), idle or stalled connections are
 * closed after timeout_s seconds. */
#ifndef ALB_SERVE_SERVER_H
#define ALB_SERVE_SERVER_H

#include "pipeline/classifier.h"
#include "util/error.h"

typedef struct {
    const char *host;            /* IPv4 address to bind */
    int port;                    /* 0: any free port (server_port says which) */
    long max_batch_tokens;       /* real tokens per encoder batch */
    int max_client_batch_size;   /* inputs per request */
    int max_concurrent_requests; /* requests past parsing and not yet answered; more get 429 */
    long payload_limit;          /* request body bytes */
    int auto_truncate;           /* truncate over-long inputs when a request does not say */
    const char *api_key;         /* NULL: no authentication */
    int timeout_s;               /* idle connection timeout */
    int threads;                 /* HTTP threads (parsing, tokenization) */
    const char *model_id;        /* as /info reports it */
    const char *version;
} ServeOptions;

typedef struct Server Server;

/* Starts serving c (which the server then uses until server_stop). */
int server_start(Server **out, Classifier *c, const ServeOptions *o, AlbError *err);
int server_port(const Server *s);
/* Graceful stop: no new connection is accepted and no new request starts;
 * requests already read are answered (waiting at most grace_s seconds for
 * those still arriving), then everything is freed. */
void server_stop(Server *s, double grace_s);

#endif
