/* albertc report: a training run's directory -> one self-contained HTML page (+ SVG curves). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "report/run_report.h"
#include "util/fileio.h"

static const char *CMD = "report";

static void help(void) {
    printf("Usage: albertc report RUN_DIR [--out FILE.html]\n"
           "\n"
           "Writes one self-contained HTML page about a training run (no network needed to open it):\n"
           "configuration, dataset sizes, loss and validation accuracy curves, learning rate, timings,\n"
           "encoder, dtype and hardware, and when RUN_DIR/eval/ exists the evaluation: F1 per class,\n"
           "the confusion matrix as a heat map (label names on hover), the most confused pairs and a\n"
           "sample of errors. A warning heads the page when the encoder had random weights.\n"
           "The curves are also written as SVG beside the page: <stem>.loss.svg,\n"
           "<stem>.val_accuracy.svg, <stem>.learning_rate.svg.\n"
           "train writes <project_dir>/report.html this way at its end.\n"
           "\n"
           "  RUN_DIR          a train project_dir (metrics.jsonl; run.json and eval/ when present)\n"
           "  --out FILE.html  the page to write (default RUN_DIR/report.html)\n"
           "  -h, --help       this help\n");
}

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': help(); return EXIT_OK;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    if (optind != argc - 1) return cli_usage_error(CMD, "expected one RUN_DIR");
    AlbError err;
    char *path = out ? alb_xstrdup(out) : alb_path_join(argv[optind], REPORT_NAME);
    int code = EXIT_OK;
    if (alb_output_check(path, &err)) code = cli_error(CMD, &err, EXIT_USAGE);
    else if (run_report_write(argv[optind], path, &err)) code = cli_error(CMD, &err, EXIT_FAILURE_RUN);
    else fprintf(stderr, "albertc report: wrote %s\n", path);
    free(path);
    return code;
}
