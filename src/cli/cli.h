/* The albertc command line: one binary, one subcommand per file.
 *
 * Each subcommand is `int cmd_<name>(int argc, char **argv)` with argv[0] the
 * subcommand name; it parses its own options with getopt_long, answers
 * --help on stdout with exit 0, and returns one of the exit codes below.
 * Errors go to stderr as one line: "albertc <cmd>: <message>". */
#ifndef ALB_CLI_H
#define ALB_CLI_H

#include "model/albert.h"
#include "pipeline/classifier.h"
#include "util/error.h"

#define ALBERTC_VERSION "0.1.0"

enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUN = 1,   /* bad input data, I/O error, anything found while running */
    EXIT_USAGE = 2,         /* bad command line or configuration; nothing was done */
    EXIT_INTERRUPTED = 130, /* SIGINT: stopped cleanly, last checkpoint kept */
};

int cmd_init_model(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints "albertc <cmd>: <err->msg>" to stderr and returns code. */
int cli_error(const char *cmd, const AlbError *err, int code);
/* predict's, eval's and serve's one line "albertc <cmd>: warning: ..." on
 * stderr (rank 0's alone in a job) when c computes with another engine than
 * its head was trained on (classifier_engine_mismatch); nothing otherwise. */
void cli_engine_warning(const char *cmd, const Classifier *c);
/* What their --help says of it. */
#define CLI_ENGINE_HELP                                                                             \
    "A classifier trained on another engine's features (another CPU's or dtype's: config.json's\n" \
    "albertc.engine) still runs, with one warning line on stderr: predictions may differ.\n"

/* Prints "albertc <cmd>: <fmt...>" + "Try 'albertc <cmd> --help'." and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getopt_long's short options for every command: -h, and a leading ':' so that a
 * missing value is told apart from an unknown option (main sets opterr = 0). */
#define CLI_SHORT_OPTS ":h"
/* The usage error for what getopt_long returned instead of an option ('?' or
 * ':'), naming the option; returns EXIT_USAGE. */
int cli_option_error(const char *cmd, int opt, char **argv);
/* Parses a whole decimal int in [lo, hi]; on failure prints a usage error. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
/* --dtype's value through alb_dtype_parse (model/albert.h); on failure prints a usage error. */
int cli_parse_dtype(const char *cmd, const char *s, AlbDtype *out);

#endif
