/* albertc init-model: a randomly initialised ALBERT model directory. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "model/config.h"
#include "model/init.h"
#include "tokenizer/tokenizer.h"
#include "util/fileio.h"

static const char *CMD = "init-model";

static void help(void) {
    printf("Usage: albertc init-model --config <config.json|base|tiny> --out DIR [--seed N]\n"
           "                          [--tokenizer spiece.model]\n"
           "\n"
           "Writes DIR/config.json and DIR/model.safetensors (Hugging Face layout, tensor\n"
           "names with the \"albert.\" prefix) initialised as transformers does: weights\n"
           "normal(0, initializer_range), biases 0, LayerNorm 1/0, the pad row of the word\n"
           "embeddings 0. Our own generator (xoshiro256**, Box-Muller): the same config and\n"
           "seed always give the same file.\n"
           "\n"
           "The files are written whole in a temporary directory first (beside a new DIR,\n"
           "inside an existing one) and then moved into place: a failure (a full disk)\n"
           "leaves no half-made DIR. An existing DIR is kept: its config.json,\n"
           "model.safetensors (and spiece.model) are replaced, other files stay.\n"
           "\n"
           "  --config C        a config.json, or a built-in geometry: base (albert-base-v2), tiny;\n"
           "                    sizes beyond this program's bounds are refused (exit 2)\n"
           "  --out DIR         the model directory (created if needed, with its parents)\n"
           "  --seed N          random seed (default 0)\n"
           "  --tokenizer FILE  copy this spiece.model into DIR (checked: it must load, and its\n"
           "                    pieces must fit vocab_size)\n"
           "  -h, --help        this help\n");
}

int cmd_init_model(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"out", required_argument, 0, 'o'},
        {"seed", required_argument, 0, 's'},   {"tokenizer", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *config = NULL, *out = NULL, *tokenizer = NULL;
    long seed = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'o': out = optarg; break;
        case 't': tokenizer = optarg; break;
        case 's':
            if (cli_parse_int(CMD, "--seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return EXIT_USAGE;
            break;
        case 'h': help(); return EXIT_OK;
        default: return cli_option_error(CMD, opt, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!config) return cli_usage_error(CMD, "--config is required");
    if (!out) return cli_usage_error(CMD, "--out is required");

    AlbertConfig c;
    AlbError err;
    if (albert_config_preset(&c, config) != 0 && albert_config_load(&c, config, &err))
        return cli_error(CMD, &err, EXIT_USAGE);
    if (access(out, F_OK) == 0 && !alb_dir_exists(out))
        return cli_usage_error(CMD, "--out %s exists and is not a directory", out);
    if (tokenizer) {
        AlbertTokenizer *tok;
        if (tokenizer_load(&tok, tokenizer, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
        int pieces = tokenizer_vocab_size(tok);
        tokenizer_free(tok);
        if (pieces > c.vocab_size)
            return cli_usage_error(CMD, "--tokenizer %s has %d pieces, more than the config's vocab_size %d", tokenizer,
                                   pieces, c.vocab_size);
    }
    if (albert_init_model_dir(&c, (uint64_t)seed, out, tokenizer, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    return EXIT_OK;
}
