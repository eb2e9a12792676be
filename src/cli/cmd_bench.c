/* albertc bench: encoder speed over real text lengths (tokens/s, examples/s, GFLOPS). */
#include <cblas.h>
#include <getopt.h>
#include <jansson.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "model/albert.h"
#include "model/config.h"
#include "model/hub.h"
#include "model/init.h"
#include "pipeline/embed_input.h"
#include "pipeline/encode.h"
#include "tokenizer/tokenizer.h"
#include "util/fileio.h"
#include "util/progress.h"

/* OpenBLAS extensions (declared by its cblas.h in some builds only). */
char *openblas_get_config(void);
char *openblas_get_corename(void);

static const char *CMD = "bench";
#define DEFAULT_INPUT "../shared/data/banking77/test.jsonl"
#define DEFAULT_TOKENIZER "../shared/models/albert-base-v2/spiece.model"

static void help(void) {
    printf("Usage: albertc bench [--model M] [--input FILE.jsonl] [--limit N] [--json]\n"
           "                     [--threads 1,2] [--dtype float32,bfloat16,int8] [--batch-size 8]\n"
           "                     [--sorted-tokens 1024] [--repeat N] [--tokenizer spiece.model]\n"
           "\n"
           "Times the encoder's forward pass ([CLS] features, as 'albertc embed' computes them)\n"
           "over the token sequences of real texts, in two batchings:\n"
           "  padded  batches of --batch-size in input order, each padded to its longest\n"
           "          text (the reference's batching)\n"
           "  sorted  the batches of train's feature pass, embed and predict: texts sorted by\n"
           "          length, at most 64 a batch while batch x longest <= --sorted-tokens\n"
           "for every thread count and dtype. Per row: real tokens/s, examples/s and effective\n"
           "GFLOPS = (FLOPs of the matrix products at each text's real length, counted from\n"
           "the config as if every layer computed every row) / wall time; padding and\n"
           "elementwise ops are not counted. The count includes work the encoder skips for\n"
           "[CLS] features: its last layer carries only the [CLS] row on past the keys and\n"
           "values (the share is printed; 5.8 %% on Banking77's test texts). pad %% is\n"
           "the padding share of the [B, L] batches handed to the encoder (which computes only\n"
           "the real rows); cpu %% is CPU time / wall time; engine is what computed the\n"
           "products (albert_engine: dtype/variant, e.g. bfloat16/onednn-avx512_core_bf16;\n"
           "ALBERTC_MATMUL=openblas in the environment times the OpenBLAS fallback).\n"
           "\n"
           "  --model M           a model directory (config.json + model.safetensors) or a hub\n"
           "                      id (default: random weights of the base geometry, as\n"
           "                      'albertc init-model --config base')\n"
           "  --input FILE        JSONL with \"text\" (tokenized with --tokenizer) or \"input_ids\"\n"
           "                      (default " DEFAULT_INPUT ")\n"
           "  --tokenizer FILE    spiece.model (default M/spiece.model if present, else\n"
           "                      " DEFAULT_TOKENIZER ")\n"
           "  --limit N           only the first N lines\n"
           "  --threads LIST      thread counts, OpenBLAS and OpenMP alike (default 1,2)\n"
           "  --dtype LIST        of float32, bfloat16, int8 (default float32,bfloat16,int8)\n"
           "  --batching LIST     padded and/or sorted (default padded,sorted)\n"
           "  --batch-size N      padded batch size (default 8)\n"
           "  --sorted-tokens N   token budget of a sorted batch, padding included (default 1024,\n"
           "                      the pipeline's)\n"
           "  --repeat N          time each row N times and keep the fastest run (default 1):\n"
           "                      the least disturbed by other processes\n"
           "  --json              one JSON object on stdout instead of the table\n"
           "  -h, --help          this help\n");
}

/* ------------------------------------------------------------------ input */

/* The input is read as `albertc embed` reads it (pipeline/embed_input.h); the
 * first --limit sequences are timed, as EncodeSeq views for the length sort. */
typedef struct {
    int n;
    EncodeSeq *seqs;
} SeqList;

static int read_inputs(const char *path, const char *tok_path, const AlbertConfig *c, long limit, EmbedInput *in,
                       SeqList *out, AlbError *err) {
    *in = (EmbedInput){.path = path, .spiece_path = tok_path, .vocab_size = c->vocab_size,
                       .max_length = c->max_position_embeddings};
    if (embed_input_read(in, err)) return -1;
    out->n = limit > 0 && limit < in->n ? (int)limit : in->n;
    out->seqs = alb_xmalloc(sizeof(EncodeSeq) * (size_t)out->n);
    for (int i = 0; i < out->n; i++) out->seqs[i] = (EncodeSeq){.n = in->seqs[i].n, .ids = in->seqs[i].ids};
    return 0;
}

/* ------------------------------------------------------------------ batches and FLOPs */

typedef struct {
    int start, B, L;  /* sequences order[start .. start+B), padded length L */
} Batch;

/* Matrix-product FLOPs of one sequence of n tokens (cls features: no pooler):
 * the embedding mapping, then per layer Q, K, V and the output projection
 * (4 x 2nH^2), scores and context (2 x 2n^2 H), the FFN (2 x 2nHI). */
static double sequence_flops(const AlbertConfig *c, int n) {
    double H = c->hidden_size, E = c->embedding_size, Inter = c->intermediate_size, N = n;
    double layer = 8.0 * N * H * H + 4.0 * N * N * H + 4.0 * N * H * Inter;
    return 2.0 * N * E * H + (double)c->num_hidden_layers * c->inner_group_num * layer;
}

/* Of those, what the encoder skips for [CLS] features: in the last layer the
 * n - 1 other rows' output projection and FFN, and their queries' scores and
 * context (model/albert.h). */
static double sequence_flops_skipped(const AlbertConfig *c, int n) {
    double H = c->hidden_size, Inter = c->intermediate_size, N = n;
    return (N - 1.0) * (2.0 * H * H + 4.0 * H * Inter + 4.0 * N * H);
}

/* padded: fixed-size batches in input order. sorted: the batches of the
 * pipeline's feature pass (encode_plan: length order, at most ENCODE_BATCH
 * texts and token_budget padded tokens each). */
static int make_batches(const SeqList *l, int sorted, int batch_size, int token_budget, int *order,
                        Batch *batches) {
    int nb = 0;
    if (sorted) {
        EncodePlan plan;
        encode_plan(l->seqs, l->n, ENCODE_BATCH, token_budget, 1, &plan);
        memcpy(order, plan.order, sizeof(int) * (size_t)l->n);
        for (; nb < plan.n_batches; nb++) {
            /* in length order: a batch's last sequence is its longest */
            batches[nb] = (Batch){.start = plan.first[nb], .B = plan.first[nb + 1] - plan.first[nb],
                                  .L = l->seqs[order[plan.first[nb + 1] - 1]].n};
        }
        encode_plan_free(&plan);
        return nb;
    }
    for (int i = 0; i < l->n; i++) order[i] = i;
    for (int i = 0; i < l->n; i += batch_size) {
        Batch b = {.start = i, .B = l->n - i < batch_size ? l->n - i : batch_size, .L = 0};
        for (int j = i; j < i + b.B; j++) b.L = l->seqs[j].n > b.L ? l->seqs[j].n : b.L;
        batches[nb++] = b;
    }
    return nb;
}

/* ------------------------------------------------------------------ timing */

typedef struct {
    const char *dtype, *batching;
    char engine[96];  /* albert_engine(): what computed the row */
    int threads, batches, batch_size;
    long padded_tokens;
    double seconds, cpu_seconds;
} Row;

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fills ids/mask [B, L] for batch b (pad id = [SEP] 3 as the reference; mask hides it). */
static void fill_batch(const SeqList *l, const int *order, const Batch *b, int32_t *ids, int32_t *mask) {
    for (int r = 0; r < b->B; r++) {
        const EncodeSeq *s = &l->seqs[order[b->start + r]];
        for (int i = 0; i < b->L; i++) {
            ids[(size_t)r * b->L + i] = i < s->n ? s->ids[i] : 3;
            mask[(size_t)r * b->L + i] = i < s->n;
        }
    }
}

static int run_row(AlbertModel *m, const SeqList *l, const int *order, const Batch *batches, int nb, int repeat,
                   Row *row, AlbError *err) {
    int maxT = 0;
    for (int i = 0; i < nb; i++)
        if (batches[i].B * batches[i].L > maxT) maxT = batches[i].B * batches[i].L;
    int H = albert_config(m)->hidden_size;
    int32_t *ids = alb_xmalloc(sizeof(int32_t) * (size_t)maxT), *mask = alb_xmalloc(sizeof(int32_t) * (size_t)maxT);
    float *cls = alb_xmalloc(sizeof(float) * (size_t)maxT * (size_t)H);
    openblas_set_num_threads(row->threads);
    omp_set_num_threads(row->threads);
    int rc = 0;
    /* warm-up: page in the weights, size the buffers for the largest batch */
    for (int i = 0; i < nb && !rc; i++)
        if (batches[i].B * batches[i].L == maxT) {
            fill_batch(l, order, &batches[i], ids, mask);
            rc = albert_forward(m, batches[i].B, batches[i].L, ids, NULL, mask, NULL, cls, NULL, err);
            break;
        }
    row->seconds = -1.0;
    for (int rep = 0; rep < repeat && !rc; rep++) {
        double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        row->padded_tokens = 0;
        char label[64];
        snprintf(label, sizeof label, "%s %s %d thread(s), run %d", row->dtype, row->batching, row->threads, rep + 1);
        Progress bar;
        progress_begin(&bar, progress_mode_auto(), label, nb, "batches");
        for (int i = 0; i < nb && !rc; i++) {
            fill_batch(l, order, &batches[i], ids, mask);
            rc = albert_forward(m, batches[i].B, batches[i].L, ids, NULL, mask, NULL, cls, NULL, err);
            row->padded_tokens += (long)batches[i].B * batches[i].L;
            progress_update(&bar, i + 1);
        }
        double seconds = now(CLOCK_MONOTONIC) - t0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        progress_end(&bar, nb);
        if (row->seconds < 0 || seconds < row->seconds) { /* the fastest run: the least disturbed */
            row->seconds = seconds;
            row->cpu_seconds = cpu;
        }
    }
    row->batches = nb;
    free(ids);
    free(mask);
    free(cls);
    return rc;
}

/* ------------------------------------------------------------------ default model */

typedef struct {
    char dir[64];
} TempModel;

static int temp_model(TempModel *t, AlbError *err) {
    strcpy(t->dir, "/tmp/albertc-bench-XXXXXX");
    if (!mkdtemp(t->dir)) return alb_fail(err, "%s: cannot create a temporary directory", t->dir);
    AlbertConfig c;
    albert_config_preset(&c, "base");
    return albert_init_model_dir(&c, 0, t->dir, NULL, err);
}

static void temp_model_remove(TempModel *t) {
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", t->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", t->dir);
    unlink(path);
    rmdir(t->dir);
}

/* ------------------------------------------------------------------ options */

typedef struct {
    const char *model, *input, *tokenizer;
    long limit, batch_size, sorted_tokens, repeat;
    int threads[8], n_threads;
    int dtypes[3], n_dtypes;       /* AlbDtype values */
    int batchings[2], n_batchings; /* 0 padded, 1 sorted */
    int json;
} Options;

static const char *BATCHING_NAMES[] = {"padded", "sorted"};

/* One item of a list option's value: parses tok into *v, or prints a usage
 * error naming opt and returns -1. */
typedef int (*ListItemFn)(const char *opt, const char *tok, int *v);

/* The comma-separated value of a list option (--threads, --dtype, --batching)
 * into out[max] and *n: each item through item(); an empty list, more than max
 * items, or (unique) an item given twice is a usage error. Empty items
 * ("1,,2") are skipped. */
static int parse_list(const char *opt, const char *s, ListItemFn item, int unique, int *out, int max, int *n) {
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        return cli_usage_error(CMD, "%s: list longer than %zu characters", opt, sizeof buf - 1), -1;
    int k = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int v;
        if (item(opt, tok, &v)) return -1;
        for (int i = 0; unique && i < k; i++)
            if (out[i] == v) return cli_usage_error(CMD, "%s: '%s' repeated", opt, tok), -1;
        if (k == max) return cli_usage_error(CMD, "%s: at most %d values", opt, max), -1;
        out[k++] = v;
    }
    if (k == 0) return cli_usage_error(CMD, "%s: empty list", opt), -1;
    *n = k;
    return 0;
}

static int thread_item(const char *opt, const char *tok, int *v) {
    long t;
    if (cli_parse_int(CMD, opt, tok, 1, 256, &t)) return -1;
    *v = (int)t;
    return 0;
}

static int dtype_item(const char *opt, const char *tok, int *v) {
    (void)opt; /* cli_parse_dtype names --dtype itself */
    AlbDtype d;
    if (cli_parse_dtype(CMD, tok, &d)) return -1;
    *v = (int)d;
    return 0;
}

static int batching_item(const char *opt, const char *tok, int *v) {
    for (int k = 0; k < 2; k++)
        if (!strcmp(tok, BATCHING_NAMES[k])) return *v = k, 0;
    return cli_usage_error(CMD, "%s: expected padded or sorted, got '%s'", opt, tok), -1;
}

static int parse_options(int argc, char **argv, Options *o) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},       {"input", required_argument, 0, 'i'},
        {"tokenizer", required_argument, 0, 'k'},   {"limit", required_argument, 0, 'n'},
        {"threads", required_argument, 0, 't'},     {"dtype", required_argument, 0, 'd'},
        {"batching", required_argument, 0, 'g'},    {"batch-size", required_argument, 0, 'b'},
        {"sorted-tokens", required_argument, 0, 's'}, {"json", no_argument, 0, 'j'},
        {"repeat", required_argument, 0, 'r'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0},
    };
    *o = (Options){.input = DEFAULT_INPUT, .batch_size = 8, .repeat = 1, .sorted_tokens = ENCODE_TOKENS,
                   .threads = {1, 2}, .n_threads = 2, .dtypes = {ALB_F32, ALB_BF16, ALB_INT8}, .n_dtypes = 3, .batchings = {0, 1},
                   .n_batchings = 2};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'i': o->input = optarg; break;
        case 'k': o->tokenizer = optarg; break;
        case 'n': if (cli_parse_int(CMD, "--limit", optarg, 1, 1L << 30, &o->limit)) return EXIT_USAGE; break;
        case 't':
            if (parse_list("--threads", optarg, thread_item, 0, o->threads, 8, &o->n_threads)) return EXIT_USAGE;
            break;
        case 'd':
            if (parse_list("--dtype", optarg, dtype_item, 1, o->dtypes, 3, &o->n_dtypes)) return EXIT_USAGE;
            break;
        case 'g':
            if (parse_list("--batching", optarg, batching_item, 1, o->batchings, 2, &o->n_batchings)) return EXIT_USAGE;
            break;
        case 'b': if (cli_parse_int(CMD, "--batch-size", optarg, 1, 1 << 16, &o->batch_size)) return EXIT_USAGE; break;
        case 's':
            if (cli_parse_int(CMD, "--sorted-tokens", optarg, 1, 1 << 24, &o->sorted_tokens)) return EXIT_USAGE;
            break;
        case 'r': if (cli_parse_int(CMD, "--repeat", optarg, 1, 1000, &o->repeat)) return EXIT_USAGE; break;
        case 'j': o->json = 1; break;
        case 'h': help(); return -1;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* ------------------------------------------------------------------ report */

typedef struct {
    const char *model;
    AlbertConfig c;
    int n_texts;
    long real_tokens;
    double flops, flops_skipped;
} Totals;

static double row_gflops(const Totals *t, const Row *r) { return t->flops / r->seconds * 1e-9; }

static void print_header(const Totals *t, const Options *o) {
    printf("model      %s (hidden %d, %d layers, intermediate %d)\n", t->model, t->c.hidden_size,
           t->c.num_hidden_layers, t->c.intermediate_size);
    printf("input      %s: %d texts, %ld real tokens (mean %.1f)\n", o->input, t->n_texts, t->real_tokens,
           (double)t->real_tokens / t->n_texts);
    printf("FLOPs      %.1f MFLOP per real token (matrix products at each text's real length, from the config)\n",
           t->flops / (double)t->real_tokens * 1e-6);
    printf("           of which the encoder skips %.1f %% for [CLS] features (the last layer's other rows past\n"
           "           their keys and values): the products it runs are effective GFLOPS x %.3f\n",
           100.0 * t->flops_skipped / t->flops, 1.0 - t->flops_skipped / t->flops);
    printf("OpenBLAS   %s (core %s)\n\n", openblas_get_config(), openblas_get_corename());
    printf("%-8s  %-30s  %7s  %7s  %8s  %9s  %10s  %7s  %6s  %s\n", "dtype", "batching", "threads", "pad %",
           "time s", "tokens/s", "examples/s", "GFLOPS", "cpu %", "engine");
    fflush(stdout);
}

static void print_row(const Totals *t, const Row *r) {
    char desc[64];
    if (!strcmp(r->batching, "padded"))
        snprintf(desc, sizeof desc, "batch %d padded, in order", r->batch_size);
    else
        snprintf(desc, sizeof desc, "sorted, <= %d tokens/batch", r->batch_size);
    printf("%-8s  %-30s  %7d  %7.1f  %8.2f  %9.0f  %10.1f  %7.1f  %6.0f  %s\n", r->dtype, desc, r->threads,
           100.0 * (double)(r->padded_tokens - t->real_tokens) / (double)r->padded_tokens, r->seconds,
           (double)t->real_tokens / r->seconds, t->n_texts / r->seconds, row_gflops(t, r),
           100.0 * r->cpu_seconds / r->seconds, r->engine);
    fflush(stdout);
}

static void print_json(const Totals *t, const Options *o, const Row *rows, int n) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "model", json_string(t->model));
    json_object_set_new(root, "input", json_string(o->input));
    json_object_set_new(root, "texts", json_integer(t->n_texts));
    json_object_set_new(root, "real_tokens", json_integer(t->real_tokens));
    json_object_set_new(root, "flop_per_token", json_real(t->flops / (double)t->real_tokens));
    json_object_set_new(root, "flop_skipped_fraction", json_real(t->flops_skipped / t->flops));
    json_object_set_new(root, "openblas_config", json_string(openblas_get_config()));
    json_object_set_new(root, "openblas_core", json_string(openblas_get_corename()));
    for (int i = 0; i < n; i++) {
        const Row *r = &rows[i];
        json_t *j = json_object();
        json_object_set_new(j, "dtype", json_string(r->dtype));
        json_object_set_new(j, "engine", json_string(r->engine));
        json_object_set_new(j, "batching", json_string(r->batching));
        json_object_set_new(j, !strcmp(r->batching, "padded") ? "batch_size" : "token_budget",
                            json_integer(r->batch_size));
        json_object_set_new(j, "threads", json_integer(r->threads));
        json_object_set_new(j, "repeat", json_integer(o->repeat));
        json_object_set_new(j, "batches", json_integer(r->batches));
        json_object_set_new(j, "padded_tokens", json_integer(r->padded_tokens));
        json_object_set_new(j, "seconds", json_real(r->seconds));
        json_object_set_new(j, "cpu_seconds", json_real(r->cpu_seconds));
        json_object_set_new(j, "tokens_per_s", json_real((double)t->real_tokens / r->seconds));
        json_object_set_new(j, "examples_per_s", json_real(t->n_texts / r->seconds));
        json_object_set_new(j, "gflops", json_real(row_gflops(t, r)));
        json_array_append_new(arr, j);
    }
    json_object_set_new(root, "rows", arr);
    char *s = json_dumps(root, JSON_INDENT(1));
    printf("%s\n", s);
    free(s);
    json_decref(root);
}

/* ------------------------------------------------------------------ main */

int cmd_bench(int argc, char **argv) {
    Options o;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc < 0 ? EXIT_OK : rc;

    AlbError err;
    TempModel tmp = {{0}};
    char resolved[4096];
    const char *model_dir = o.model ? resolved : NULL;
    if (o.model && hub_resolve(o.model, "models", resolved, sizeof resolved, &err)) return cli_error(CMD, &err, EXIT_USAGE);
    if (!model_dir) {
        if (temp_model(&tmp, &err)) {
            temp_model_remove(&tmp);
            return cli_error(CMD, &err, EXIT_FAILURE_RUN);
        }
        model_dir = tmp.dir;
    }
    char tok_path[4200];
    snprintf(tok_path, sizeof tok_path, "%s/spiece.model", model_dir);
    if (o.tokenizer) snprintf(tok_path, sizeof tok_path, "%s", o.tokenizer);
    else if (!alb_file_exists(tok_path)) snprintf(tok_path, sizeof tok_path, "%s", DEFAULT_TOKENIZER);

    EmbedInput input = {0};
    SeqList seqs = {0};
    AlbertConfig config;
    int *order = NULL;
    Batch *batches = NULL;
    Row rows[64];
    int n_rows = 0;
    char config_path[4300];
    snprintf(config_path, sizeof config_path, "%s/config.json", model_dir);
    rc = albert_config_load(&config, config_path, &err) ||
                 read_inputs(o.input, tok_path, &config, o.limit, &input, &seqs, &err)
             ? EXIT_FAILURE_RUN
             : EXIT_OK;
    order = alb_xmalloc(sizeof(int) * (size_t)(seqs.n ? seqs.n : 1));
    batches = alb_xmalloc(sizeof(Batch) * (size_t)(seqs.n ? seqs.n : 1));
    Totals tot = {.model = o.model ? o.model : "random weights, base geometry (init-model --config base)",
                  .n_texts = seqs.n};
    for (int d = 0; d < o.n_dtypes && rc == EXIT_OK; d++) {
        AlbertModel *m;
        if (albert_load(&m, model_dir, o.dtypes[d], &err)) {
            rc = EXIT_FAILURE_RUN;
            break;
        }
        tot.c = *albert_config(m);
        tot.real_tokens = 0;
        tot.flops = tot.flops_skipped = 0.0;
        for (int i = 0; i < seqs.n; i++) {
            tot.real_tokens += seqs.seqs[i].n;
            tot.flops += sequence_flops(&tot.c, seqs.seqs[i].n);
            tot.flops_skipped += sequence_flops_skipped(&tot.c, seqs.seqs[i].n);
        }
        for (int g = 0; g < o.n_batchings && rc == EXIT_OK; g++) {
            int sorted = o.batchings[g];
            int nb = make_batches(&seqs, sorted, (int)o.batch_size, (int)o.sorted_tokens, order, batches);
            for (int t = 0; t < o.n_threads && rc == EXIT_OK; t++) {
                Row *r = &rows[n_rows++];
                *r = (Row){.dtype = alb_dtype_name(o.dtypes[d]), .batching = BATCHING_NAMES[sorted],
                           .threads = o.threads[t], .batch_size = (int)(sorted ? o.sorted_tokens : o.batch_size)};
                snprintf(r->engine, sizeof r->engine, "%s", albert_engine(m));
                if (run_row(m, &seqs, order, batches, nb, (int)o.repeat, r, &err)) rc = EXIT_FAILURE_RUN;
                else if (!o.json) {  /* a row as soon as it is measured: a full run takes minutes */
                    if (n_rows == 1) print_header(&tot, &o);
                    print_row(&tot, r);
                }
            }
        }
        albert_free(m);
    }
    if (rc != EXIT_OK) cli_error(CMD, &err, rc);
    else if (o.json) print_json(&tot, &o, rows, n_rows);
    free(order);
    free(batches);
    free(seqs.seqs);
    embed_input_free(&input);
    if (!o.model) temp_model_remove(&tmp);
    return rc;
}
