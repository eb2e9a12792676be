/* albertc export: a training checkpoint -> a self-contained classifier directory. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "train/export.h"

static const char *CMD = "export";

static void help(void) {
    printf("Usage: albertc export --checkpoint FILE --out DIR [--model M]\n"
           "\n"
           "Writes DIR, a classifier directory that predict, eval and embed take as --model:\n"
           "  config.json        the encoder's ALBERT config, id2label / label2id, and an \"albertc\"\n"
           "                     block (head, dtype, max_length, encoder hash, where it came from)\n"
           "  model.safetensors  the encoder's tensors under their hub names + classifier.{0,2}.*\n"
           "  spiece.model       (and tokenizer.json / tokenizer_config.json when the encoder has them)\n"
           "transformers' AlbertModel.from_pretrained(DIR) loads the encoder and ignores the head.\n"
           "DIR is written atomically: an existing DIR is replaced in one step.\n"
           "train writes <project_dir>/model/ this way from its final checkpoint; export any other\n"
           "(e.g. the best one, listed in checkpoints/checkpoint_history.json).\n"
           "\n"
           "  --checkpoint FILE  a checkpoint written by albertc train\n"
           "  --out DIR          the directory to write\n"
           "  --model M          the encoder (directory or hub id); default: the checkpoint's own,\n"
           "                     which must have the hash recorded in the checkpoint\n"
           "  -h, --help         this help\n");
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"checkpoint", required_argument, 0, 'c'},
                                         {"out", required_argument, 0, 'o'},
                                         {"model", required_argument, 0, 'm'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    ExportSpec spec = {0};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'c': spec.checkpoint = optarg; break;
        case 'o': out = optarg; break;
        case 'm': spec.encoder = optarg; break;
        case 'h': help(); return EXIT_OK;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!spec.checkpoint || !out) return cli_usage_error(CMD, "--checkpoint and --out are required");
    AlbError err;
    if (export_checkpoint(&spec, out, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    fprintf(stderr, "albertc export: wrote %s\n", out);
    return EXIT_OK;
}
