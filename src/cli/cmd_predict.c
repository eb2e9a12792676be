/* albertc predict: texts -> labels with scores, one JSON line per input, in
 * constant memory: texts are read a window at a time, encoded in length-sorted
 * batches inside the window, and answered in input order. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/text_stream.h"
#include "pipeline/classifier.h"
#include "util/dist.h"
#include "util/fileio.h"
#include "util/progress.h"

static const char *CMD = "predict";

/* Texts per window: length sorting pays within it, memory stays bounded. */
#define WINDOW 2048

static void help(void) {
    printf("Usage: albertc predict --model DIR [--text T ...] [--input FILE|-] [--top-k K] [--raw-scores]\n"
           "                       [--max-length N] [--dtype D] [--output FILE]\n"
           "\n"
           "Classifies texts with a classifier directory (written by albertc train as\n"
           "<project_dir>/model/, or by albertc export). One JSON line per input, in input order,\n"
           "shaped as transformers' text-classification pipeline answers for one text:\n"
           "  [{\"label\": \"card_arrival\", \"score\": 0.93}, ...]\n"
           "sorted by score (ties: label order), scores a softmax over the labels.\n"
           "\n"
           "  --model DIR        classifier directory or hub id\n"
           "  --text T           a text to classify (repeatable; answered before --input's)\n"
           "  --input FILE       texts from FILE, - for stdin: JSON Lines {\"text\": ...}, CSV with a\n"
           "                     text column, or plain text (one text per line)\n"
           "  --format F         auto (default: by extension, else a first '{' means JSONL, else\n"
           "                     lines), jsonl, csv or text\n"
           "  --text-field F     the JSON key / CSV column holding the text (default: text)\n"
           "  --top-k K          labels per answer (default 1; 0: all)\n"
           "  --raw-scores       logits instead of probabilities\n"
           "  --max-length N     tokens per text, [CLS] and [SEP] included (default: the length\n"
           "                     the head was trained with); longer texts are truncated as in train\n"
           "  --dtype D          float32, bfloat16 or int8 (default: the dtype it was trained in)\n"
           "  --output FILE      write the answers to FILE (atomically) instead of stdout\n"
           "  -h, --help         this help\n"
           "\n"
           CLI_ENGINE_HELP
           "Memory stays constant on inputs of any length: texts are classified %d at a time.\n"
           "Progress is drawn on stderr when it is a terminal. Exit codes: 0 done, 1 bad input or\n"
           "model files (the error names the file and line), 2 bad command line.\n",
           WINDOW);
}

typedef struct {
    int top_k, raw_scores;
    FILE *out;
} Answer;

/* One input's line. */
static void answer(const Answer *a, const Classifier *c, const float *z) {
    json_t *line = classifier_scores_json(c, z, a->top_k, a->raw_scores);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(line);
    fprintf(a->out, "%s\n", text);
    free(text);
}

/* Texts of one window. */
typedef struct {
    char **texts;
    int n;
} Window;

static void window_clear(Window *w) {
    for (int i = 0; i < w->n; i++) free(w->texts[i]);
    w->n = 0;
}

static int classify_window(Classifier *c, const Answer *a, Window *w, float *features, float *logits,
                           AlbError *err) {
    /* run() draws the progress: a window is a part of the stream */
    if (classifier_features(c, (const char *const *)w->texts, w->n, NULL, features, NULL, err)) return -1;
    if (dist_rank() != 0) return window_clear(w), 0;  /* the other ranks of a job only share the encoding */
    classifier_head_logits(c, features, w->n, logits);
    for (int i = 0; i < w->n; i++) answer(a, c, logits + (size_t)i * c->num_labels);
    window_clear(w);
    return ferror(a->out) ? alb_fail(err, "write error on the output") : 0;
}

typedef struct {
    const char *model, *input, *dtype, *output, *text_field;
    TextFormat format;
    long max_length;
    const char **texts;
    int n_texts;
} PredictArgs;

/* --text values first, then the stream's texts, a window at a time. */
static int run(Classifier *c, const PredictArgs *pa, const Answer *a, AlbError *err) {
    TextStream *s = NULL;
    if (pa->input && text_stream_open(&s, pa->input, pa->format, pa->text_field, err)) return -1;
    Window w = {alb_xcalloc(WINDOW, sizeof(char *)), 0};
    float *features = alb_xmalloc(sizeof(float) * WINDOW * (size_t)albert_config(c->encoder)->hidden_size);
    float *logits = alb_xmalloc(sizeof(float) * WINDOW * (size_t)c->num_labels);
    int rc = 0, next = 1;
    Progress bar;  /* the total is unknown: a stream */
    progress_begin(&bar, progress_mode_auto(), "predict", 0, "texts");
    long done = 0;
    for (int i = 0; !rc && i < pa->n_texts; i++) {
        w.texts[w.n++] = alb_xstrdup(pa->texts[i]);
        if (w.n == WINDOW) rc = classify_window(c, a, &w, features, logits, err), done += WINDOW;
    }
    while (!rc && s && next == 1) {
        const char *text;
        size_t len;
        long line;
        next = text_stream_next(s, &text, &len, &line, err);
        if (next == 1) w.texts[w.n++] = alb_xstrdup(text);
        if (next < 0) rc = -1;
        else if (w.n == WINDOW || (next == 0 && w.n)) {
            done += w.n;
            rc = classify_window(c, a, &w, features, logits, err);
            if (next == 1) progress_update(&bar, done);  /* the last window's count is progress_end's */
        }
    }
    if (!rc && w.n) {
        done += w.n;
        rc = classify_window(c, a, &w, features, logits, err);
    }
    progress_end(&bar, done);
    window_clear(&w);
    free(w.texts);
    free(features);
    free(logits);
    text_stream_close(s);
    return rc;
}

static int parse_args(int argc, char **argv, PredictArgs *pa, Answer *a) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"text", required_argument, 0, 't'},
        {"input", required_argument, 0, 'i'},  {"format", required_argument, 0, 'f'},
        {"text-field", required_argument, 0, 'F'}, {"top-k", required_argument, 0, 'k'},
        {"raw-scores", no_argument, 0, 'r'},   {"max-length", required_argument, 0, 'L'},
        {"dtype", required_argument, 0, 'd'},  {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    long k = 1;
    int c;
    optind = 1;
    AlbDtype dtype;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'm': pa->model = optarg; break;
        case 't': pa->texts[pa->n_texts++] = optarg; break;
        case 'i': pa->input = optarg; break;
        case 'f':
            if (text_format_parse(optarg) < 0)
                return cli_usage_error(CMD, "--format: expected auto, jsonl, csv or text, got '%s'", optarg);
            pa->format = (TextFormat)text_format_parse(optarg);
            break;
        case 'F': pa->text_field = optarg; break;
        case 'k': if (cli_parse_int(CMD, "--top-k", optarg, 0, 1 << 20, &k)) return EXIT_USAGE; break;
        case 'r': a->raw_scores = 1; break;
        case 'L': if (cli_parse_int(CMD, "--max-length", optarg, 2, 1 << 20, &pa->max_length)) return EXIT_USAGE; break;
        case 'd':
            if (cli_parse_dtype(CMD, optarg, &dtype)) return EXIT_USAGE;
            pa->dtype = alb_dtype_name(dtype);
            break;
        case 'o': pa->output = optarg; break;
        case 'h': help(); return -1;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    a->top_k = (int)k;
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!pa->model) return cli_usage_error(CMD, "--model is required");
    if (!pa->n_texts && !pa->input) return cli_usage_error(CMD, "give texts with --text or --input");
    if (pa->input && !strcmp(pa->input, "-") && dist_size() > 1)
        return cli_usage_error(CMD, "--input -: under mpirun stdin reaches rank 0 only: give a file every rank reads");
    return 0;
}

int cmd_predict(int argc, char **argv) {
    PredictArgs pa = {.texts = alb_xcalloc((size_t)argc, sizeof(char *))};
    Answer a = {0};
    int code = parse_args(argc, argv, &pa, &a);
    if (code) {
        free(pa.texts);
        return code < 0 ? EXIT_OK : code;
    }
    AlbError err;
    Classifier c;
    AtomicFile out = {0};
    if (pa.output && alb_output_check(pa.output, &err)) code = cli_error(CMD, &err, EXIT_USAGE);
    else if (classifier_load(&c, pa.model, pa.dtype, 1, &err)) code = cli_error(CMD, &err, EXIT_FAILURE_RUN);
    else {
        cli_engine_warning(CMD, &c);
        if (pa.max_length > albert_config(c.encoder)->max_position_embeddings)
            code = cli_usage_error(CMD, "--max-length %ld exceeds the model's max_position_embeddings %d",
                                   pa.max_length, albert_config(c.encoder)->max_position_embeddings);
        else if (pa.output && dist_rank() == 0 && atomic_open(&out, pa.output, &err))
            code = cli_error(CMD, &err, EXIT_FAILURE_RUN);
        if (!code) {
            if (pa.max_length) c.max_length = (int)pa.max_length;
            a.out = pa.output ? out.fp : stdout;
            if (run(&c, &pa, &a, &err)) {
                if (pa.output && dist_rank() == 0) atomic_abort(&out);
                code = cli_error(CMD, &err, EXIT_FAILURE_RUN);
            } else if (pa.output && dist_rank() == 0 && atomic_commit(&out, &err)) {
                code = cli_error(CMD, &err, EXIT_FAILURE_RUN);
            } else if (!pa.output && fflush(stdout)) {
                code = cli_error(CMD, &(AlbError){"write error on stdout"}, EXIT_FAILURE_RUN);
            }
        }
        classifier_free(&c);
    }
    free(pa.texts);
    return code;
}
