/* `albertc init-model` and `albertc embed`, end to end through the binary. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/albert.h"
#include "model/config.h"
#include "pipeline/embed_input.h"
#include "model/init.h"
#include "util/fileio.h"
#include "testutil.h"

static char model[600]; /* <test_tmp_dir>/model: a tiny random model with the real tokenizer */

static void run_ok(const char *cmd) {
    char *out, *err;
    int rc = test_run(cmd, &out, &err);
    cr_assert_eq(rc, 0, "%s\nexit %d: %s", cmd, rc, err);
    free(out);
    free(err);
}

static void setup(void) {
    test_tmp_setup();
    snprintf(model, sizeof model, "%s/model", test_tmp_dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s init-model --config tiny --seed 3 --out %s --tokenizer %s", test_albertc(), model,
             test_shared_path("models/albert-base-v2/spiece.model"));
    run_ok(cmd);
}


static void write_text(const char *name, const char *text) { test_write_file(test_tmp_path(name), text, strlen(text)); }

/* Runs embed on `input` text; returns the exit code and stderr (malloc'ed). */
static int embed(const char *input, const char *extra, char **err) {
    write_text("in.jsonl", input);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s embed --model %s --input %s --output %s %s", test_albertc(), model,
             test_tmp_path("in.jsonl"), test_tmp_path("out.safetensors"), extra);
    return test_run(cmd, NULL, err);
}

Test(init_model, writes_a_loadable_hf_directory, .init = setup, .fini = test_tmp_teardown) {
    AlbertModel *m;
    AlbError err;
    cr_assert_eq(albert_load(&m, model, ALB_F32, &err), 0, "%s", err.msg);
    const AlbertConfig *c = albert_config(m);
    cr_expect_eq(c->hidden_size, 32);
    cr_expect_eq(c->vocab_size, 30000);
    albert_free(m);
    char p[700];
    snprintf(p, sizeof p, "%s/spiece.model", model);
    cr_expect(alb_file_exists(p));

    /* transformers' init: N(0, 0.02) weights, zero biases, LayerNorm 1/0, pad row 0; hub names */
    SafeTensors st;
    snprintf(p, sizeof p, "%s/model.safetensors", model);
    cr_assert_eq(st_open(&st, p, &err), 0, "%s", err.msg);
    const StTensor *word = st_find(&st, "albert.embeddings.word_embeddings.weight");
    const StTensor *ffn = st_find(&st, "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight");
    const StTensor *ln = st_find(&st, "albert.embeddings.LayerNorm.weight");
    const StTensor *bias = st_find(&st, "albert.pooler.bias");
    cr_assert(word && ffn && ln && bias);
    const float *w = word->data;
    for (int j = 0; j < 16; j++) cr_expect_eq(w[j], 0.0f, "pad row (id 0) must be zero");
    double s = 0, ss = 0;
    const float *f = ffn->data;
    for (int64_t i = 0; i < ffn->numel; i++) {
        s += f[i];
        ss += (double)f[i] * f[i];
    }
    double mean = s / ffn->numel, sd = sqrt(ss / ffn->numel - mean * mean);
    cr_expect(fabs(mean) < 0.002 && fabs(sd - 0.02) < 0.002, "ffn weights mean %g sd %g", mean, sd);
    for (int64_t i = 0; i < ln->numel; i++) cr_expect_eq(((const float *)ln->data)[i], 1.0f);
    for (int64_t i = 0; i < bias->numel; i++) cr_expect_eq(((const float *)bias->data)[i], 0.0f);
    cr_expect_str_eq(st_meta(&st, "format"), "pt");
    st_close(&st);
}

Test(init_model, same_seed_same_file, .init = setup, .fini = test_tmp_teardown) {
    char cmd[2048], *a, *b;
    size_t na, nb;
    AlbError err;
    snprintf(cmd, sizeof cmd, "%s init-model --config tiny --seed 3 --out %s/", test_albertc(), test_tmp_path("again"));
    run_ok(cmd);
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/model.safetensors", model);
    snprintf(pb, sizeof pb, "%s/model.safetensors", test_tmp_path("again"));
    cr_assert_eq(alb_read_file(pa, &a, &na, &err), 0);
    cr_assert_eq(alb_read_file(pb, &b, &nb, &err), 0);
    cr_expect(na == nb && memcmp(a, b, na) == 0);
    free(b);
    snprintf(cmd, sizeof cmd, "%s init-model --config tiny --seed 4 --out %s", test_albertc(), test_tmp_path("other"));
    run_ok(cmd);
    snprintf(pb, sizeof pb, "%s/model.safetensors", test_tmp_path("other"));
    cr_assert_eq(alb_read_file(pb, &b, &nb, &err), 0);
    cr_expect(na == nb && memcmp(a, b, na) != 0);
    free(a);
    free(b);
}

Test(init_model, usage_errors, .init = setup, .fini = test_tmp_teardown) {
    char cmd[2048], *out, *err;
    snprintf(cmd, sizeof cmd, "%s init-model --help", test_albertc());
    cr_expect_eq(test_run(cmd, &out, NULL), 0);
    cr_expect(strstr(out, "Usage: albertc init-model"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s init-model --config tiny", test_albertc());
    cr_expect_eq(test_run(cmd, NULL, &err), 2);
    cr_expect(strstr(err, "--out is required"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s init-model --config /nonexistent.json --out %s", test_albertc(), test_tmp_path("x"));
    cr_expect_eq(test_run(cmd, NULL, &err), 2);
    cr_expect(strstr(err, "/nonexistent.json"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s init-model --config tiny --out %s --tokenizer /nonexistent.model", test_albertc(),
             test_tmp_path("y"));
    cr_expect_eq(test_run(cmd, NULL, &err), 1);
    cr_expect(strstr(err, "/nonexistent.model"), "%s", err);
    cr_expect(!alb_dir_exists(test_tmp_path("y")), "nothing is written when the tokenizer is missing");
    free(err);
}

/* Runs `init-model ARGS` (after `pre` in the same shell); returns the exit code, stderr in *err. */
static int init_model(const char *pre, const char *args, char **err) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s init-model %s", pre, test_albertc(), args);
    return test_run(cmd, NULL, err);
}

/* Nothing but `keep` in the test directory: no staging directory or temporary file left. */
static void expect_only(const char *keep) {
    char cmd[1400], *out;
    snprintf(cmd, sizeof cmd, "ls -A %s", test_tmp_dir);
    cr_assert_eq(test_run(cmd, &out, NULL), 0);
    cr_expect_str_eq(out, keep);
    free(out);
}

Test(init_model, bad_inputs_leave_nothing, .init = setup, .fini = test_tmp_teardown) {
    char args[2048], *err;
    /* sizes beyond the bounds: a clear error, not an abort, and no DIR/config.json */
    test_write_file(test_tmp_path("big.json"), "{\"vocab_size\": 2147483647}", 26);
    snprintf(args, sizeof args, "--config %s --out %s", test_tmp_path("big.json"), test_tmp_path("out"));
    cr_expect_eq(init_model("", args, &err), 2, "%s", err);
    cr_expect(strstr(err, "big.json: vocab_size must be at most 1048576"), "%s", err);
    free(err);
    /* a --tokenizer that is not a spiece.model */
    snprintf(args, sizeof args, "--config tiny --out %s --tokenizer %s", test_tmp_path("out"), test_tmp_path("big.json"));
    cr_expect_eq(init_model("", args, &err), 1, "%s", err);
    cr_expect(strstr(err, "big.json: malformed spiece.model"), "%s", err);
    free(err);
    /* a tokenizer with more pieces than the model has embeddings */
    const char *small = "{\"vocab_size\": 100, \"hidden_size\": 32, \"num_attention_heads\": 2}";
    test_write_file(test_tmp_path("small.json"), small, strlen(small));
    snprintf(args, sizeof args, "--config %s --out %s --tokenizer %s", test_tmp_path("small.json"),
             test_tmp_path("out"), test_shared_path("models/albert-base-v2/spiece.model"));
    cr_expect_eq(init_model("", args, &err), 2, "%s", err);
    cr_expect(strstr(err, "spiece.model has 30000 pieces, more than the config's vocab_size 100"), "%s", err);
    free(err);
    /* --out a regular file */
    snprintf(args, sizeof args, "--config tiny --out %s", test_tmp_path("big.json"));
    cr_expect_eq(init_model("", args, &err), 2, "%s", err);
    cr_expect(strstr(err, "big.json exists and is not a directory"), "%s", err);
    free(err);
    expect_only("big.json\nmodel\nsmall.json\n");
}

/* A write that fails half-way (file size limit: a full disk) leaves no half-made directory, and an
 * existing one as it was. */
Test(init_model, failed_write_leaves_no_half_made_directory, .init = setup, .fini = test_tmp_teardown) {
    const char *limit = "trap '' XFSZ; ulimit -f 100;";  /* 50 KB: config.json fits, the weights do not */
    char args[2048], *err, *before, *after, path[1400];
    snprintf(args, sizeof args, "--config tiny --out %s", test_tmp_path("new"));
    cr_expect_eq(init_model(limit, args, &err), 1, "%s", err);
    cr_expect(strstr(err, "File too large"), "%s", err);
    free(err);
    expect_only("model\n");

    size_t before_len, after_len;
    AlbError e;
    snprintf(path, sizeof path, "%s/model.safetensors", model);
    cr_assert_eq(alb_read_file(path, &before, &before_len, &e), 0);
    snprintf(args, sizeof args, "--config tiny --seed 9 --out %s", model);
    cr_expect_eq(init_model(limit, args, &err), 1, "%s", err);
    free(err);
    cr_assert_eq(alb_read_file(path, &after, &after_len, &e), 0);
    cr_expect(after_len == before_len && memcmp(after, before, before_len) == 0, "the old weights were changed");
    free(before);
    free(after);
    char cmd[1400], *out;
    snprintf(cmd, sizeof cmd, "ls -A %s", model);
    cr_assert_eq(test_run(cmd, &out, NULL), 0);
    cr_expect_str_eq(out, "config.json\nmodel.safetensors\nspiece.model\n");
    free(out);
}

/* Reads a float tensor of the embed output. */
static const float *out_f32(const SafeTensors *st, const char *name, int ndim, const int64_t *shape) {
    const float *data;
    float *owned;
    AlbError err;
    cr_assert_eq(st_get_f32(st, name, NULL, ndim, shape, &data, &owned, &err), 0, "%s", err.msg);
    cr_assert_null(owned);
    return data;
}

Test(embed, matches_the_library_in_input_order, .init = setup, .fini = test_tmp_teardown) {
    /* lengths 4, 7, 2, 4: sorted by length inside, written back in input order */
    const char *input =
        "{\"input_ids\": [2, 10975, 126, 3]}\n"
        "{\"input_ids\": [2, 184, 50, 42, 845, 60, 3], \"attention_mask\": [1, 1, 1, 1, 1, 1, 1]}\n"
        "{\"input_ids\": [2, 3], \"token_type_ids\": [0, 0]}\n"
        "{\"text\": \"Hello World\"}\n";
    static const int32_t seqs[4][7] = {{2, 10975, 126, 3}, {2, 184, 50, 42, 845, 60, 3}, {2, 3}, {2, 10975, 126, 3}};
    static const int lens[4] = {4, 7, 2, 4};
    char *err;
    cr_assert_eq(embed(input, "--all-tokens --batch-size 3", &err), 0, "%s", err);
    free(err);

    AlbertModel *m;
    AlbError e;
    cr_assert_eq(albert_load(&m, model, ALB_F32, &e), 0, "%s", e.msg);
    SafeTensors st;
    cr_assert_eq(st_open(&st, test_tmp_path("out.safetensors"), &e), 0, "%s", e.msg);
    int64_t nh[2] = {4, 32}, nlh[3] = {4, 7, 32};
    const float *cls = out_f32(&st, "cls", 2, nh), *pooler = out_f32(&st, "pooler_output", 2, nh);
    const float *hidden = out_f32(&st, "last_hidden_state", 3, nlh);
    const StTensor *lengths = st_find(&st, "lengths");
    cr_assert(lengths && lengths->dtype == ST_I64 && lengths->numel == 4);
    cr_expect_str_eq(st_meta(&st, "albert_weights_hash"), albert_weights_hash(m));
    cr_expect_str_eq(st_meta(&st, "dtype"), "float32");
    for (int r = 0; r < 4; r++) {
        int64_t len;
        memcpy(&len, (const char *)lengths->data + 8 * r, 8);
        cr_expect_eq(len, lens[r]);
        float h[7 * 32], c[32], p[32];
        cr_assert_eq(albert_forward(m, 1, lens[r], seqs[r], NULL, NULL, h, c, p, &e), 0, "%s", e.msg);
        for (int j = 0; j < 32; j++) {
            cr_expect_float_eq(cls[r * 32 + j], c[j], ENCODER_F32_PAIR_TOL, "row %d", r);
            cr_expect_float_eq(pooler[r * 32 + j], p[j], ENCODER_F32_PAIR_TOL, "row %d", r);
        }
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 32; j++) {
                float want = i < lens[r] ? h[i * 32 + j] : 0.0f;
                cr_expect_float_eq(hidden[(r * 7 + i) * 32 + j], want, ENCODER_F32_PAIR_TOL, "row %d pos %d", r, i);
            }
    }
    /* the text line tokenizes to the ids of line 1 (same ids, another row of the batch) */
    for (int j = 0; j < 32; j++) cr_expect_float_eq(cls[3 * 32 + j], cls[j], ENCODER_F32_PAIR_TOL);
    st_close(&st);
    albert_free(m);
}

Test(embed, bfloat16_and_no_all_tokens, .init = setup, .fini = test_tmp_teardown) {
    char *err;
    cr_assert_eq(embed("{\"input_ids\": [2, 10975, 126, 3]}\n{\"text\": \"How are you doing?\"}\n",
                       "--dtype bfloat16", &err),
                 0, "%s", err);
    free(err);
    SafeTensors st;
    AlbError e;
    cr_assert_eq(st_open(&st, test_tmp_path("out.safetensors"), &e), 0, "%s", e.msg);
    cr_expect_null(st_find(&st, "last_hidden_state"));
    cr_expect_null(st_find(&st, "lengths"));
    cr_expect_str_eq(st_meta(&st, "dtype"), "bfloat16");
    int64_t nh[2] = {2, 32};
    const float *cls = out_f32(&st, "cls", 2, nh);
    for (int i = 0; i < 64; i++) {
        uint32_t u;
        memcpy(&u, &cls[i], 4);
        cr_expect_eq(u & 0xffffu, 0u, "cls[%d] is not a bf16 value", i);
    }
    st_close(&st);
}

static void expect_input_error(const char *input, const char *extra, const char *message) {
    char *err;
    int rc = embed(input, extra, &err);
    cr_expect_eq(rc, 1, "input %s: exit %d", input, rc);
    cr_expect(strstr(err, message) && strstr(err, "in.jsonl"), "input %s: stderr '%s' lacks '%s'", input, err,
              message);
    cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
    cr_expect(!alb_file_exists(test_tmp_path("out.safetensors")));
    free(err);
}

Test(embed, bad_input_names_file_and_line, .init = setup, .fini = test_tmp_teardown) {
    const char *ok = "{\"input_ids\": [2, 3]}\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%s{\"input_ids\": [2, 3\n", ok);
    expect_input_error(buf, "", "in.jsonl:2: invalid JSON");
    snprintf(buf, sizeof buf, "%s%s{\"input_ids\": [2, 30000]}\n", ok, ok);
    expect_input_error(buf, "", "in.jsonl:3: \"input_ids\"[1] = 30000 is outside [0, 30000)");
    expect_input_error("{\"input_ids\": [2, -1]}\n", "", "in.jsonl:1: \"input_ids\"[1] = -1");
    expect_input_error("{\"input_ids\": []}\n", "", "in.jsonl:1: \"input_ids\" is empty");
    expect_input_error("{\"input_ids\": [2, 5, 6, 7, 3]}\n", "--max-length 4", "in.jsonl:1: 5 input_ids exceed");
    expect_input_error("{\"input_ids\": [2, 5, 3], \"attention_mask\": [1, 1]}\n", "",
                       "in.jsonl:1: attention_mask has 2 values but input_ids has 3");
    expect_input_error("{\"input_ids\": [2, 5, 3], \"token_type_ids\": [0, 1, 1]}\n", "", "token_type_ids must all be 0");
    expect_input_error("{\"ids\": [2, 3]}\n", "", "in.jsonl:1: expected an object with \"input_ids\" or \"text\"");
    expect_input_error("[1, 2]\n", "", "in.jsonl:1: expected an object");
    expect_input_error("{\"text\": 5}\n", "", "in.jsonl:1: \"text\" must be a string");
    snprintf(buf, sizeof buf, "%s\n%s", ok, ok);
    expect_input_error(buf, "", "in.jsonl:2: invalid JSON");
    expect_input_error("", "", "in.jsonl: no input lines");
}

Test(embed, usage_errors, .init = setup, .fini = test_tmp_teardown) {
    char cmd[2048], *out, *err;
    snprintf(cmd, sizeof cmd, "%s embed --help", test_albertc());
    cr_expect_eq(test_run(cmd, &out, NULL), 0);
    cr_expect(strstr(out, "Usage: albertc embed"));
    free(out);
    cr_expect_eq(embed("{\"input_ids\": [2, 3]}\n", "--dtype float16", &err), 2);
    cr_expect(strstr(err, "--dtype"), "%s", err);
    free(err);
    cr_expect_eq(embed("{\"input_ids\": [2, 3]}\n", "--batch-size 0", &err), 2);
    free(err);
    cr_expect_eq(embed("{\"text\": \"hi\"}\n", "--max-length 1", &err), 2);  /* below [CLS] [SEP]: no truncation */
    cr_expect(strstr(err, "--max-length: expected an integer in [2, "), "%s", err);
    free(err);
    cr_expect_eq(embed("{\"input_ids\": [2, 3]}\n", "--max-length 513", &err), 2);
    cr_expect(strstr(err, "max_position_embeddings 512"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --input %s", test_albertc(), model, test_tmp_path("in.jsonl"));
    cr_expect_eq(test_run(cmd, NULL, &err), 2);
    cr_expect(strstr(err, "--output is required"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --input %s --output %s", test_albertc(), test_tmp_path("nomodel"),
             test_tmp_path("in.jsonl"), test_tmp_path("o.safetensors"));
    cr_expect_eq(test_run(cmd, NULL, &err), 2);
    cr_expect(strstr(err, "nomodel"), "%s", err);
    free(err);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --input %s --output %s", test_albertc(), model,
             test_tmp_path("missing.jsonl"), test_tmp_path("o.safetensors"));
    cr_expect_eq(test_run(cmd, NULL, &err), 1);
    cr_expect(strstr(err, "missing.jsonl"), "%s", err);
    free(err);
}

/* embed --output OUT on "{input_ids: [2, 3]}"; returns the exit code, stderr in *err. `pre` runs first in the
 * same shell (e.g. a reader started in the background), whose jobs are waited for. */
static int embed_to(const char *out, const char *pre, char **err) {
    write_text("in.jsonl", "{\"input_ids\": [2, 3]}\n");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s embed --model %s --input %s --output %s; rc=$?; wait; exit $rc", pre,
             test_albertc(), model, test_tmp_path("in.jsonl"), out);
    return test_run(cmd, NULL, err);
}

static void expect_embed_file(const char *path) {
    SafeTensors st;
    AlbError e;
    cr_assert_eq(st_open(&st, path, &e), 0, "%s", e.msg);
    cr_expect(st_find(&st, "cls") != NULL);
    st_close(&st);
}

static mode_t lmode(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode : 0;
}

Test(embed, output_fifo_symlink_device_stdout, .init = setup, .fini = test_tmp_teardown) {
    char *err, pre[1400], out[1400];
    /* a FIFO is streamed to (a reader gets the file) and stays a FIFO */
    const char *fifo = test_tmp_path("fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    snprintf(pre, sizeof pre, "cat %s > %s &", fifo, test_tmp_path("from_fifo"));
    cr_expect_eq(embed_to(fifo, pre, &err), 0, "%s", err);
    free(err);
    cr_expect(S_ISFIFO(lmode(fifo)), "the FIFO was replaced");
    expect_embed_file(test_tmp_path("from_fifo"));
    /* a symbolic link stays a link; its target (relative, and a dangling one) gets the content */
    test_write_file(test_tmp_path("target"), "old", 3);
    chmod(test_tmp_path("target"), 0640);
    cr_assert_eq(symlink("target", test_tmp_path("link")), 0);
    cr_expect_eq(embed_to(test_tmp_path("link"), "", &err), 0, "%s", err);
    free(err);
    cr_expect(S_ISLNK(lmode(test_tmp_path("link"))));
    cr_expect_eq(lmode(test_tmp_path("target")), S_IFREG | 0640, "the target keeps its permission bits");
    expect_embed_file(test_tmp_path("target"));
    cr_assert_eq(symlink("new", test_tmp_path("dangling")), 0);
    cr_expect_eq(embed_to(test_tmp_path("dangling"), "", &err), 0, "%s", err);
    free(err);
    cr_expect(S_ISLNK(lmode(test_tmp_path("dangling"))));
    expect_embed_file(test_tmp_path("new"));
    /* a character device is written to, not replaced */
    cr_expect_eq(embed_to("/dev/null", "", &err), 0, "%s", err);
    free(err);
    cr_expect(S_ISCHR(lmode("/dev/null")));
    cr_expect_eq(embed_to("/dev/full", "", &err), 1);
    cr_expect(strstr(err, "/dev/full: write failed: No space left on device"), "%s", err);
    free(err);
    cr_expect(S_ISCHR(lmode("/dev/full")));
    /* - is stdout; so is /dev/stdout, a link to a pipe here */
    snprintf(out, sizeof out, "- > %s", test_tmp_path("stdout"));
    cr_expect_eq(embed_to(out, "", &err), 0, "%s", err);
    free(err);
    expect_embed_file(test_tmp_path("stdout"));
    snprintf(out, sizeof out, "/dev/stdout | cat > %s", test_tmp_path("pipe"));
    embed_to(out, "", &err);
    cr_expect_eq(err[0], '\0', "%s", err);
    free(err);
    expect_embed_file(test_tmp_path("pipe"));
    /* a directory is refused before any work, and left alone */
    const char *dir = test_tmp_path("adir");
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_expect_eq(embed_to(dir, "", &err), 2);
    cr_expect(strstr(err, dir) && strstr(err, "is a directory"), "%s", err);
    cr_expect_eq(strchr(err, '\n'), err + strlen(err) - 1, "one line: %s", err);
    free(err);
    cr_expect(S_ISDIR(lmode(dir)));
}

Test(embed, input_parser_library) {
    EmbedInput in = {.path = "x.jsonl", .vocab_size = 10, .max_length = 4};
    AlbError err;
    const char *ok = "{\"input_ids\": [2, 5, 3], \"attention_mask\": [1, 1, 0]}\r\n{\"input_ids\": [9]}";
    cr_assert_eq(embed_input_parse(&in, ok, strlen(ok), &err), 0, "%s", err.msg);
    cr_assert_eq(in.n, 2);
    cr_expect(in.seqs[0].n == 3 && in.seqs[0].mask[2] == 0 && in.seqs[1].n == 1 && in.seqs[1].mask[0] == 1);
    embed_input_free(&in);
    const char *text = "{\"input_ids\": [1]}\n{\"text\": \"hi\"}\n";
    cr_expect_eq(embed_input_parse(&in, text, strlen(text), &err), -1);
    cr_expect_str_eq(err.msg, "x.jsonl:2: text lines need a tokenizer (spiece.model)");
    embed_input_free(&in);
    const char *both = "{\"input_ids\": [1], \"text\": \"hi\"}\n";
    cr_expect_eq(embed_input_parse(&in, both, strlen(both), &err), -1);
    cr_expect_str_eq(err.msg, "x.jsonl:1: give \"input_ids\" or \"text\", not both");
    embed_input_free(&in);
}
