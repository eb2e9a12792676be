/* albertc serve: a classifier (or plain encoder) behind HTTP with
 * text-embeddings-inference's API (serve/server.h), until SIGTERM or SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pipeline/classifier.h"
#include "serve/server.h"

static const char *CMD = "serve";

/* Seconds a graceful stop waits for requests still arriving. */
#define GRACE_S 30.0

static void help(void) {
    printf("Usage: albertc serve --model DIR [--host 127.0.0.1] [--port 3000] [--max-batch-tokens 16384]\n"
           "                     [--max-client-batch-size 32] [--max-concurrent-requests 512]\n"
           "                     [--payload-limit 2000000] [--auto-truncate] [--api-key KEY] [--dtype D]\n"
           "                     [--timeout S] [--http-threads N]\n"
           "\n"
           "Serves a classifier directory (albertc train's <project_dir>/model/, or albertc export's)\n"
           "or a plain encoder over HTTP/1.1 with Hugging Face text-embeddings-inference's API:\n"
           "POST /predict /embed /tokenize /decode and / , GET /info /health /metrics.\n"
           "Concurrent requests are batched together (at most --max-batch-tokens real tokens per\n"
           "encoder batch); each text gets the answer albertc predict / embed gives it.\n"
           "\n"
           "  --model DIR                  classifier or encoder directory, or hub id\n"
           "  --host ADDR                  IPv4 address to listen on (default 127.0.0.1)\n"
           "  --port P                     port (default 3000; 0: any free port)\n"
           "  --max-batch-tokens N         real tokens per encoder batch (default 16384)\n"
           "  --max-client-batch-size N    inputs per request (default 32; more: 422)\n"
           "  --max-concurrent-requests N  requests at once (default 512; more: 429)\n"
           "  --payload-limit BYTES        request body size (default 2000000; more: 413)\n"
           "  --auto-truncate              truncate over-long inputs unless a request says\n"
           "                               \"truncate\": false (default: refused with 422)\n"
           "  --api-key KEY                require 'Authorization: Bearer KEY' (not on /health, /metrics)\n"
           "  --dtype D                    float32, bfloat16 or int8 (default: the directory's)\n"
           "  --timeout S                  close a connection idle for S seconds (default 30)\n"
           "  --http-threads N             threads reading and tokenizing requests (default 2)\n"
           "  -h, --help                   this help\n"
           "\n"
           CLI_ENGINE_HELP
           "Prints 'listening on http://HOST:PORT' on stderr when ready. SIGTERM or SIGINT: stops\n"
           "accepting, answers the requests in flight, exits 0. Exit codes: 1 the model cannot be\n"
           "loaded or the address cannot be bound, 2 bad command line.\n");
}

typedef struct {
    const char *model, *dtype;
    ServeOptions o;
} ServeArgs;

static int parse_args(int argc, char **argv, ServeArgs *a) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'},
        {"max-batch-tokens", required_argument, 0, 'b'},
        {"max-client-batch-size", required_argument, 0, 'c'},
        {"max-concurrent-requests", required_argument, 0, 'C'},
        {"payload-limit", required_argument, 0, 'l'},
        {"auto-truncate", no_argument, 0, 't'},
        {"api-key", required_argument, 0, 'k'},
        {"dtype", required_argument, 0, 'd'},
        {"timeout", required_argument, 0, 'T'},
        {"http-threads", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    long port = 3000, client_batch = 32, concurrent = 512, timeout = 30, threads = 2;
    int c;
    optind = 1;
    AlbDtype dtype;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'H': a->o.host = optarg; break;
        case 'p': if (cli_parse_int(CMD, "--port", optarg, 0, 65535, &port)) return EXIT_USAGE; break;
        case 'b':
            if (cli_parse_int(CMD, "--max-batch-tokens", optarg, 1, 1L << 30, &a->o.max_batch_tokens)) return EXIT_USAGE;
            break;
        case 'c':
            if (cli_parse_int(CMD, "--max-client-batch-size", optarg, 1, 1 << 20, &client_batch)) return EXIT_USAGE;
            break;
        case 'C':
            if (cli_parse_int(CMD, "--max-concurrent-requests", optarg, 1, 1 << 20, &concurrent)) return EXIT_USAGE;
            break;
        case 'l':
            if (cli_parse_int(CMD, "--payload-limit", optarg, 1, 1L << 30, &a->o.payload_limit)) return EXIT_USAGE;
            break;
        case 't': a->o.auto_truncate = 1; break;
        case 'k': a->o.api_key = optarg; break;
        case 'd':
            if (cli_parse_dtype(CMD, optarg, &dtype)) return EXIT_USAGE;
            a->dtype = alb_dtype_name(dtype);
            break;
        case 'T': if (cli_parse_int(CMD, "--timeout", optarg, 1, 86400, &timeout)) return EXIT_USAGE; break;
        case 'n': if (cli_parse_int(CMD, "--http-threads", optarg, 1, 64, &threads)) return EXIT_USAGE; break;
        case 'h': help(); return -1;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->model) return cli_usage_error(CMD, "--model is required");
    a->o.port = (int)port;
    a->o.max_client_batch_size = (int)client_batch;
    a->o.max_concurrent_requests = (int)concurrent;
    a->o.timeout_s = (int)timeout;
    a->o.threads = (int)threads;
    a->o.model_id = a->model;
    return 0;
}

int cmd_serve(int argc, char **argv) {
    ServeArgs a = {.o = {.host = "127.0.0.1", .max_batch_tokens = 16384, .payload_limit = 2000000,
                         .version = ALBERTC_VERSION}};
    int code = parse_args(argc, argv, &a);
    if (code) return code < 0 ? EXIT_OK : code;
    /* Blocked before any thread starts (OpenMP's, libmicrohttpd's, the encoder's),
     * so that only sigwait below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    AlbError err;
    Classifier c;
    if (classifier_load(&c, a.model, a.dtype, 0, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    Server *s;
    if (server_start(&s, &c, &a.o, &err)) {
        classifier_free(&c);
        return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    }
    if (c.random_encoder)
        fprintf(stderr, "albertc serve: warning: %s has a randomly initialised encoder: its answers mean little\n",
                a.model);
    cli_engine_warning(CMD, &c);
    fprintf(stderr, "listening on http://%s:%d\n", a.o.host, server_port(s));
    int sig;
    sigwait(&stop, &sig);
    fprintf(stderr, "albertc serve: %s: stopping (answering the requests in flight)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server_stop(s, GRACE_S);
    classifier_free(&c);
    return EXIT_OK;
}
