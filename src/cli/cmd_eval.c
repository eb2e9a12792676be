/* albertc eval: a classifier on a labelled dataset -> scikit-learn's
 * classification report, and with --output the per-example files. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "pipeline/classifier.h"
#include "pipeline/feature_cache.h"
#include "report/evaluate.h"
#include "util/dist.h"
#include "util/progress.h"

static const char *CMD = "eval";

static void help(void) {
    printf("Usage: albertc eval --model DIR --data FILE [--text-field F] [--label-field F] [--output DIR]\n"
           "                    [--digits N] [--dtype D] [--cache-dir DIR | --no-cache] [--json]\n"
           "\n"
           "Evaluates a classifier directory on a labelled JSONL or CSV dataset (labels by name or\n"
           "by id, as the model's id2label) and prints scikit-learn's classification_report:\n"
           "per-label precision, recall, f1-score and support over every label of the model, then\n"
           "accuracy (\"micro avg\" when some label occurs nowhere), macro and weighted averages.\n"
           "Same layout and numbers as sklearn 1.2 with zero_division left at its default.\n"
           "\n"
           "  --model DIR        classifier directory or hub id\n"
           "  --data FILE        JSONL ({\"text\": ..., \"label\": ...}) or CSV with a header\n"
           "  --text-field F     default text\n"
           "  --label-field F    default label (CSV: else category)\n"
           "  --output DIR       also write DIR (atomically): classification_report.json (sklearn's\n"
           "                     output_dict), confusion_matrix.csv, errors.jsonl, predictions.jsonl,\n"
           "                     summary.json (accuracy, macro F1, cross-entropy, most confused pairs)\n"
           "  --digits N         decimals in the report (default 4)\n"
           "  --dtype D          float32, bfloat16 or int8 (default: the dtype it was trained in)\n"
           "  --cache-dir DIR    the feature cache (default: train's, ~/.cache/albertc): texts that\n"
           "                     train encoded are not encoded again, and get the same features\n"
           "  --no-cache         encode every text, keep nothing\n"
           "  --json             print summary.json's object (with the report's dict) instead\n"
           "  -h, --help         this help\n"
           "\n"
           CLI_ENGINE_HELP
           "Exit codes: 0 done, 1 bad data or model files (an unknown label, an empty text, invalid\n"
           "UTF-8: the error names the file and line), 2 bad command line.\n");
}

typedef struct {
    const char *model, *data, *text_field, *label_field, *output, *dtype, *cache_dir;
    int no_cache, as_json;
    long digits;
} EvalArgs;

static int parse_args(int argc, char **argv, EvalArgs *ea) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},      {"data", required_argument, 0, 'D'},
        {"text-field", required_argument, 0, 't'}, {"label-field", required_argument, 0, 'l'},
        {"output", required_argument, 0, 'o'},     {"digits", required_argument, 0, 'g'},
        {"dtype", required_argument, 0, 'd'},      {"cache-dir", required_argument, 0, 'c'},
        {"no-cache", no_argument, 0, 'n'},         {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    int c;
    optind = 1;
    AlbDtype dtype;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'm': ea->model = optarg; break;
        case 'D': ea->data = optarg; break;
        case 't': ea->text_field = optarg; break;
        case 'l': ea->label_field = optarg; break;
        case 'o': ea->output = optarg; break;
        case 'g': if (cli_parse_int(CMD, "--digits", optarg, 0, 17, &ea->digits)) return EXIT_USAGE; break;
        case 'd':
            if (cli_parse_dtype(CMD, optarg, &dtype)) return EXIT_USAGE;
            ea->dtype = alb_dtype_name(dtype);
            break;
        case 'c': ea->cache_dir = optarg; break;
        case 'n': ea->no_cache = 1; break;
        case 'j': ea->as_json = 1; break;
        case 'h': help(); return -1;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!ea->model || !ea->data) return cli_usage_error(CMD, "--model and --data are required");
    if (ea->no_cache && ea->cache_dir) return cli_usage_error(CMD, "--cache-dir and --no-cache exclude each other");
    return 0;
}

static void print_result(const EvalArgs *ea, const Evaluation *ev, const Classifier *c) {
    if (ea->as_json) {
        json_t *o = evaluation_summary(ev, c);
        json_object_set_new(o, "classification_report", class_report_json(&ev->report, (const char *const *)c->labels));
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        printf("%s\n", text);
        free(text);
        json_decref(o);
        return;
    }
    char *text = class_report_text(&ev->report, (const char *const *)c->labels, (int)ea->digits);
    fputs(text, stdout);
    free(text);
    if (c->random_encoder)
        fprintf(stderr, "albertc eval: warning: %s has a randomly initialised encoder: these numbers mean little\n",
                c->dir);
}

static int evaluate_data(const EvalArgs *ea, Classifier *c, AlbError *err) {
    LabelSet labels = {c->num_labels, c->labels};
    DatasetOptions opt = {.text_field = ea->text_field, .label_field = ea->label_field, .labels = &labels};
    Dataset ds;
    if (dataset_load(&ds, ea->data, &opt, err)) return -1;
    char cache[4096];
    const char *cache_dir = ea->no_cache ? NULL : ea->cache_dir;
    if (!ea->no_cache && !cache_dir && feature_cache_default_dir(cache, sizeof cache) == 0) cache_dir = cache;
    Evaluation ev;
    int rc = evaluate(c, &ds, cache_dir, progress_mode_auto(), &ev, err);
    if (!rc && dist_rank() == 0) {  /* the other ranks only shared the encoding */
        if (ea->output) rc = evaluation_write_dir(&ev, c, &ds, ea->output, err);
        if (!rc) print_result(ea, &ev, c);
    }
    if (!rc) evaluation_free(&ev);
    dataset_free(&ds);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    EvalArgs ea = {.digits = 4};
    int code = parse_args(argc, argv, &ea);
    if (code) return code < 0 ? EXIT_OK : code;
    AlbError err;
    Classifier c;
    if (classifier_load(&c, ea.model, ea.dtype, 1, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    cli_engine_warning(CMD, &c);
    code = evaluate_data(&ea, &c, &err) ? cli_error(CMD, &err, EXIT_FAILURE_RUN) : EXIT_OK;
    classifier_free(&c);
    return code;
}
