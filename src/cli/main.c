/* albertc: text classifiers on a frozen ALBERT encoder, from Hugging Face files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/dist.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int ranks;  /* runs as one rank of an MPI job (mpirun -n N): its encoder pass is shared (util/dist.h) */
    const char *summary;  /* runs as one rank of an MPI job (mpirun -n N): its encoder pass is shared (util/dist.h) */
} Command;

static const Command commands[] = {
    {"tokenize", cmd_tokenize, 0, "text to ALBERT token ids, exactly as AlbertTokenizerFast"},
    {"embed", cmd_embed, 1, "run the encoder: JSONL of texts or ids to features (safetensors)"},
    {"train", cmd_train, 1, "train a classification head on frozen features (YAML config)"},
    {"predict", cmd_predict, 1, "classify texts with a trained model: JSON lines of labels and scores"},
    {"eval", cmd_eval, 1, "evaluate a trained model on labelled data (scikit-learn's report)"},
    {"export", cmd_export, 0, "a checkpoint to a self-contained classifier directory"},
    {"report", cmd_report, 0, "a training run as one self-contained HTML page (+ SVG curves)"},
    {"init-model", cmd_init_model, 0, "write a randomly initialised ALBERT model directory"},
    {"serve", cmd_serve, 0, "an HTTP inference server with text-embeddings-inference's API"},
    {"bench", cmd_bench, 0, "measure encoder speed (tokens/s, GFLOPS)"},
};
static const int n_commands = sizeof commands / sizeof commands[0];

static const Command *find_command(const char *name) {
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(name, commands[i].name)) return &commands[i];
    return NULL;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: albertc <command> [options]\n"
            "\n"
            "Fine-tune and serve text classifiers on a frozen ALBERT encoder,\n"
            "reading Hugging Face model files (config.json, model.safetensors, spiece.model).\n"
            "\n"
            "Commands:\n");
    for (int i = 0; i < n_commands; i++) fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Run 'albertc <command> --help' (or 'albertc help <command>') for a command's options.\n"
            "Exit codes: 0 success, 1 failure while running, 2 bad usage or configuration,\n"
            "130 interrupted.\n");
}

int cli_error(const char *cmd, const AlbError *err, int code) {
    fprintf(stderr, "albertc %s: %s\n", cmd, err->msg[0] ? err->msg : "unknown error");
    return code;
}

void cli_engine_warning(const char *cmd, const Classifier *c) {
    char msg[512];
    if (dist_rank() == 0 && classifier_engine_mismatch(c, msg, sizeof msg))
        fprintf(stderr, "albertc %s: warning: %s\n", cmd, msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "albertc %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'albertc %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int cli_option_error(const char *cmd, int opt, char **argv) {
    const char *arg = argv[optind - 1];
    char name[64];
    if (strncmp(arg, "--", 2) == 0) snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    else snprintf(name, sizeof name, "-%c", optopt);
    if (opt == ':') return cli_usage_error(cmd, "option '%s' needs a value", name);
    if (name[1] == '-' && optopt) return cli_usage_error(cmd, "option '%s' takes no value", name);
    return cli_usage_error(cmd, "unknown option '%s'", name);
}


int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        cli_usage_error(cmd, "%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_dtype(const char *cmd, const char *s, AlbDtype *out) {
    if (alb_dtype_parse(s, out)) return cli_usage_error(cmd, "--dtype: expected one of " ALB_DTYPE_CHOICES ", got '%s'", s), -1;
    return 0;
}

/* A command as one rank of the job (alone: rank 0 of 1). */
static int run_as_rank(const Command *c, int argc, char **argv) {
    if (dist_size() > 1 && !c->ranks) {
        if (dist_rank() == 0)
            fprintf(stderr, "albertc %s: runs as one process; under mpirun only embed, train, predict and eval "
                    "(their encoder pass is shared by the ranks)\n", c->name);
        return EXIT_USAGE;
    }
    return c->run(argc, argv);
}

static int dispatch(int argc, char **argv) {
    opterr = 0;  /* the commands report bad options themselves (cli_option_error) */
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version")) {
        printf("albertc %s\n", ALBERTC_VERSION);
        return EXIT_OK;
    }
    int help = !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help");
    if (help && argc == 2) {
        usage(stdout);
        return EXIT_OK;
    }
    if (help) name = argv[2];  /* albertc help CMD: albertc CMD --help */
    const Command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "albertc: unknown command '%s'\n", name);
        usage(stderr);
        return EXIT_USAGE;
    }
    char *help_argv[] = {argv[2], "--help", NULL};
    return help ? run_as_rank(c, 2, help_argv) : run_as_rank(c, argc - 1, argv + 1);
}

/* A job ends together: with MPI_Finalize when every rank succeeded, else the
 * first failing rank's code ends them all (the launcher says which rank). */
int main(int argc, char **argv) {
    AlbError err;
    if (dist_init(&argc, &argv, &err)) {
        fprintf(stderr, "albertc: %s\n", err.msg);
        return EXIT_FAILURE_RUN;
    }
    int code = dispatch(argc, argv);
    if (code != EXIT_OK && dist_size() > 1) dist_abort(code);
    dist_finalize();
    return code;
}
