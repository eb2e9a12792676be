/* albertc embed: JSONL of token ids or texts -> encoder features (safetensors). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/safetensors.h"
#include "model/albert.h"
#include "pipeline/embed_input.h"
#include "pipeline/encode.h"
#include "model/hub.h"
#include "util/dist.h"
#include "util/fileio.h"
#include "util/progress.h"

static const char *CMD = "embed";

static void help(void) {
    printf("Usage: albertc embed --model M --input FILE.jsonl --output OUT.safetensors\n"
           "                     [--dtype float32|bfloat16|int8] [--all-tokens] [--batch-size N] [--max-length N]\n"
           "\n"
           "Runs the ALBERT encoder over every input line and writes, in input order:\n"
           "  cls [N, H] F32            last_hidden_state[:, 0] (the [CLS] row)\n"
           "  pooler_output [N, H] F32  tanh(cls Wp^T + bp)\n"
           "and with --all-tokens also\n"
           "  last_hidden_state [N, Lmax, H] F32 (rows past each length are 0), lengths [N] I64.\n"
           "Metadata: albert_weights_hash, dtype, engine (albert_engine: dtype/engine variant).\n"
           "\n"
           "Input lines: {\"input_ids\": [...]} with an optional \"attention_mask\" (0/1, same\n"
           "length) and \"token_type_ids\" (all 0), or {\"text\": \"...\"}, tokenized with\n"
           "M/spiece.model as AlbertTokenizerFast does ([CLS] ... [SEP]).\n"
           "\n"
           "  --model M         a model directory (config.json, model.safetensors) or a hub id\n"
           "  --dtype D         float32 (default), bfloat16 (torch CPU bf16 semantics) or\n"
           "                    int8 (int8 matrix products, ~fp32 features: README)\n"
           "  --all-tokens      also write last_hidden_state and lengths\n"
           "  --batch-size N    sequences per forward pass (default 16); inputs are sorted by\n"
           "                    length first, so little padding is computed\n"
           "  --max-length N    texts are truncated to N tokens, [CLS] and [SEP] included (N >= 2);\n"
           "                    longer input_ids are an error (default and maximum:\n"
           "                    max_position_embeddings)\n"
           "  --output OUT      a new or regular file (replaced atomically; through a symbolic\n"
           "                    link, its target), a FIFO, a character device or - (stdout)\n"
           "  -h, --help        this help\n");
}

/* ------------------------------------------------------------------ output */

typedef struct {
    int N, H, Lmax, all_tokens;
    float *cls, *pooler, *hidden;  /* [N, H], [N, H], [N, Lmax, H] */
    int64_t *lengths;              /* [N] */
} Outputs;

/* Every sequence, batch_size at a time in length order (no token budget), into
 * o in input order. */
static int embed_all(AlbertModel *m, const EmbedInput *in, int batch_size, Outputs *o, AlbError *err) {
    EncodeSeq *seqs = alb_xmalloc(sizeof(EncodeSeq) * (size_t)in->n);
    for (int i = 0; i < in->n; i++) {
        seqs[i] = (EncodeSeq){.n = in->seqs[i].n, .ids = in->seqs[i].ids, .mask = in->seqs[i].mask};
        if (o->all_tokens) o->lengths[i] = in->seqs[i].n;
    }
    EncodeOut out = {.cls = o->cls, .pooler = o->pooler, .hidden = o->hidden, .hidden_rows = o->Lmax};
    Progress bar;
    progress_begin(&bar, progress_mode_auto(), "embed", in->n, "texts");
    EncodeProgress p = {&bar, 0};
    int rc = encode_seqs(m, seqs, in->n, batch_size, 0, &out, encode_progress_batch, &p, err);
    progress_end(&bar, p.done);
    free(seqs);
    return rc;
}

static int write_outputs(const Outputs *o, const AlbertModel *m, const char *path, AlbError *err) {
    StWriter *w = st_writer_new();
    int64_t nh[2] = {o->N, o->H}, nlh[3] = {o->N, o->Lmax, o->H}, n1[1] = {o->N};
    st_writer_add_borrowed(w, "cls", ST_F32, 2, nh, o->cls);
    st_writer_add_borrowed(w, "pooler_output", ST_F32, 2, nh, o->pooler);
    if (o->all_tokens) {
        st_writer_add_borrowed(w, "last_hidden_state", ST_F32, 3, nlh, o->hidden);
        st_writer_add_borrowed(w, "lengths", ST_I64, 1, n1, o->lengths);
    }
    st_writer_set_meta(w, "albert_weights_hash", albert_weights_hash(m));
    st_writer_set_meta(w, "dtype", alb_dtype_name(albert_dtype(m)));
    st_writer_set_meta(w, "engine", albert_engine(m));
    int rc = st_writer_save(w, path, err);
    st_writer_free(w);
    return rc;
}

/* ------------------------------------------------------------------ main */

int cmd_embed(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},      {"dtype", required_argument, 0, 'd'},
        {"all-tokens", no_argument, 0, 'a'},       {"batch-size", required_argument, 0, 'b'},
        {"max-length", required_argument, 0, 'l'}, {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model = NULL, *input = NULL, *output = NULL;
    AlbDtype dtype = ALB_F32;
    long batch_size = 16, max_length = 0;
    int all_tokens = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        switch (opt) {
        case 'm': model = optarg; break;
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case 'a': all_tokens = 1; break;
        case 'd':
            if (cli_parse_dtype(CMD, optarg, &dtype)) return EXIT_USAGE;
            break;
        case 'b':
            if (cli_parse_int(CMD, "--batch-size", optarg, 1, 1 << 16, &batch_size)) return EXIT_USAGE;
            break;
        case 'l':
            if (cli_parse_int(CMD, "--max-length", optarg, 2, 1 << 20, &max_length)) return EXIT_USAGE;
            break;
        case 'h': help(); return EXIT_OK;
        default: return cli_option_error(CMD, opt, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!model) return cli_usage_error(CMD, "--model is required");
    if (!input) return cli_usage_error(CMD, "--input is required");
    if (!output) return cli_usage_error(CMD, "--output is required");

    AlbError err = {{0}};
    if (alb_output_check(output, &err)) return cli_error(CMD, &err, EXIT_USAGE);
    char dir[4096];
    if (hub_resolve(model, "models", dir, sizeof dir, &err)) return cli_error(CMD, &err, EXIT_USAGE);
    AlbertModel *m;
    if (albert_load(&m, dir, dtype, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    const AlbertConfig *c = albert_config(m);
    if (max_length > c->max_position_embeddings) {
        int max_pos = c->max_position_embeddings;
        albert_free(m);
        return cli_usage_error(CMD, "--max-length %ld exceeds the model's max_position_embeddings %d", max_length,
                               max_pos);
    }
    char spiece[4200];
    snprintf(spiece, sizeof spiece, "%s/spiece.model", dir);
    EmbedInput in = {.path = input, .spiece_path = spiece, .vocab_size = c->vocab_size,
                     .max_length = max_length ? (int)max_length : c->max_position_embeddings};
    Outputs o = {0};
    int rc = embed_input_read(&in, &err);
    if (!rc) {
        o.N = in.n;
        o.H = c->hidden_size;
        o.all_tokens = all_tokens;
        for (int i = 0; i < in.n; i++)
            if (in.seqs[i].n > o.Lmax) o.Lmax = in.seqs[i].n;
        o.cls = alb_xcalloc((size_t)o.N * o.H, sizeof(float));
        o.pooler = alb_xcalloc((size_t)o.N * o.H, sizeof(float));
        if (all_tokens) {
            o.hidden = alb_xcalloc((size_t)o.N * o.Lmax * o.H, sizeof(float));
            o.lengths = alb_xcalloc((size_t)o.N, sizeof(int64_t));
        }
        rc = embed_all(m, &in, (int)batch_size, &o, &err);
    }
    if (!rc && dist_rank() == 0) rc = write_outputs(&o, m, output, &err);  /* the other ranks only share the encoding */
    free(o.cls);
    free(o.pooler);
    free(o.hidden);
    free(o.lengths);
    embed_input_free(&in);
    albert_free(m);
    return rc ? cli_error(CMD, &err, EXIT_FAILURE_RUN) : EXIT_OK;
}
