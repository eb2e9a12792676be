#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "testutil.h"

static int parse(AlbertConfig *c, const char *json, AlbError *err) {
    return albert_config_parse(c, json, strlen(json), "cfg.json", err);
}

/* Parsing must fail with an error that names the file and contains `problem`. */
static void expect_reject(const char *json, const char *problem) {
    AlbertConfig c;
    AlbError err = {""};
    cr_assert_eq(parse(&c, json, &err), -1, "accepted %s", json);
    cr_assert_eq(strncmp(err.msg, "cfg.json", 8), 0, "error does not name the file: %s", err.msg);
    cr_assert(strstr(err.msg, problem), "error '%s' does not say '%s'", err.msg, problem);
    cr_assert_null(strchr(err.msg, '\n'), "error is not one line: %s", err.msg);
}

Test(config, defaults_are_hf_albert_config) {
    AlbertConfig c;
    AlbError err;
    cr_assert_eq(parse(&c, "{}", &err), 0, "%s", err.msg);
    cr_assert_eq(c.vocab_size, 30000);
    cr_assert_eq(c.embedding_size, 128);
    cr_assert_eq(c.hidden_size, 4096);
    cr_assert_eq(c.num_hidden_layers, 12);
    cr_assert_eq(c.num_hidden_groups, 1);
    cr_assert_eq(c.num_attention_heads, 64);
    cr_assert_eq(c.intermediate_size, 16384);
    cr_assert_eq(c.inner_group_num, 1);
    cr_assert_str_eq(c.hidden_act, "gelu_new");
    cr_assert_eq(c.max_position_embeddings, 512);
    cr_assert_eq(c.type_vocab_size, 2);
    cr_assert_eq(c.initializer_range, 0.02f);
    cr_assert_eq(c.layer_norm_eps, 1e-12f);
    cr_assert_eq(c.pad_token_id, 0);
    AlbertConfig d;
    albert_config_defaults(&d);
    cr_assert_eq(memcmp(&c, &d, sizeof c), 0);
}

static void expect_base(const AlbertConfig *c) {
    cr_assert_eq(c->vocab_size, 30000);
    cr_assert_eq(c->embedding_size, 128);
    cr_assert_eq(c->hidden_size, 768);
    cr_assert_eq(c->num_hidden_layers, 12);
    cr_assert_eq(c->num_hidden_groups, 1);
    cr_assert_eq(c->num_attention_heads, 12);
    cr_assert_eq(c->intermediate_size, 3072);
    cr_assert_eq(c->inner_group_num, 1);
    cr_assert_str_eq(c->hidden_act, "gelu_new");
    cr_assert_eq(c->max_position_embeddings, 512);
    cr_assert_eq(c->type_vocab_size, 2);
    cr_assert_eq(c->initializer_range, 0.02f);
    cr_assert_eq(c->layer_norm_eps, 1e-12f);
    cr_assert_eq(c->pad_token_id, 0);
}

Test(config, loads_real_albert_base_v2) {
    AlbertConfig c;
    AlbError err;
    cr_assert_eq(albert_config_load(&c, test_shared_path("models/albert-base-v2/config.json"), &err), 0, "%s",
                 err.msg);
    expect_base(&c);
}

Test(config, base_preset_equals_real_file) {
    AlbertConfig preset, real;
    AlbError err;
    cr_assert_eq(albert_config_preset(&preset, "base"), 0);
    expect_base(&preset);
    cr_assert_eq(albert_config_load(&real, test_shared_path("models/albert-base-v2/config.json"), &err), 0, "%s",
                 err.msg);
    cr_assert_eq(memcmp(&preset, &real, sizeof real), 0);
}

Test(config, tiny_preset) {
    AlbertConfig c;
    cr_assert_eq(albert_config_preset(&c, "tiny"), 0);
    cr_assert_eq(c.vocab_size, 30000);
    cr_assert_eq(c.embedding_size, 16);
    cr_assert_eq(c.hidden_size, 32);
    cr_assert_eq(c.num_attention_heads, 2);
    cr_assert_eq(c.intermediate_size, 37);
    cr_assert_eq(c.num_hidden_layers, 3);
    cr_assert_eq(c.num_hidden_groups, 1);
    cr_assert_eq(c.inner_group_num, 1);
    cr_assert_eq(c.max_position_embeddings, 512);
    cr_assert_eq(c.type_vocab_size, 2);
    cr_assert_eq(c.layer_norm_eps, 1e-12f);
    cr_assert_str_eq(c.hidden_act, "gelu_new");
    cr_assert_eq(albert_config_preset(&c, "huge"), -1);
}

Test(config, reads_every_field_and_ignores_unknown) {
    AlbertConfig c;
    AlbError err;
    const char *json = "{\"vocab_size\": 100, \"embedding_size\": 8, \"hidden_size\": 24, \"num_hidden_layers\": 4,"
                       " \"num_hidden_groups\": 2, \"num_attention_heads\": 3, \"intermediate_size\": 50,"
                       " \"inner_group_num\": 2, \"hidden_act\": \"relu\", \"max_position_embeddings\": 64,"
                       " \"type_vocab_size\": 1, \"initializer_range\": 0.5, \"layer_norm_eps\": 1e-5,"
                       " \"pad_token_id\": 7, \"model_type\": \"albert\", \"position_embedding_type\": \"absolute\","
                       " \"some_future_field\": {\"x\": [1, 2]}, \"classifier_dropout_prob\": 0.1}";
    cr_assert_eq(parse(&c, json, &err), 0, "%s", err.msg);
    cr_assert_eq(c.vocab_size, 100);
    cr_assert_eq(c.embedding_size, 8);
    cr_assert_eq(c.hidden_size, 24);
    cr_assert_eq(c.num_hidden_layers, 4);
    cr_assert_eq(c.num_hidden_groups, 2);
    cr_assert_eq(c.num_attention_heads, 3);
    cr_assert_eq(c.intermediate_size, 50);
    cr_assert_eq(c.inner_group_num, 2);
    cr_assert_str_eq(c.hidden_act, "relu");
    cr_assert_eq(c.max_position_embeddings, 64);
    cr_assert_eq(c.type_vocab_size, 1);
    cr_assert_eq(c.initializer_range, 0.5f);
    cr_assert_eq(c.layer_norm_eps, 1e-5f);
    cr_assert_eq(c.pad_token_id, 7);
}

Test(config, accepted_activations) {
    const char *acts[] = {"gelu_new", "gelu", "gelu_pytorch_tanh", "relu"};
    for (int i = 0; i < 4; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"hidden_act\": \"%s\"}", acts[i]);
        AlbertConfig c;
        AlbError err;
        cr_assert_eq(parse(&c, json, &err), 0, "%s", err.msg);
        cr_assert_str_eq(c.hidden_act, acts[i]);
    }
}

Test(config, null_pad_token_keeps_default) {
    AlbertConfig c;
    AlbError err;
    cr_assert_eq(parse(&c, "{\"pad_token_id\": null}", &err), 0, "%s", err.msg);
    cr_assert_eq(c.pad_token_id, 0);
}

Test(config, rejects_bad_json) {
    AlbertConfig c;
    AlbError err;
    cr_assert_eq(parse(&c, "{\n\"hidden_size\": 768,\n", &err), -1);
    cr_assert(strncmp(err.msg, "cfg.json:3: invalid JSON", 24) == 0, "%s", err.msg);
    expect_reject("[1]", "config must be a JSON object");
    expect_reject("{\"hidden_size\": 768, \"hidden_size\": 1024}", "duplicate");
}

Test(config, rejects_wrong_types) {
    expect_reject("{\"hidden_size\": \"768\"}", "hidden_size must be an integer, not a string");
    expect_reject("{\"num_hidden_layers\": 12.0}", "num_hidden_layers must be an integer, not a real number");
    expect_reject("{\"vocab_size\": null}", "vocab_size must be an integer, not null");
    expect_reject("{\"num_attention_heads\": true}", "num_attention_heads must be an integer, not a boolean");
    /* jansson quotes the bad token, here a raw line break: the message stays one line */
    expect_reject("{\"a\": \"\\\nx\"}", "invalid escape near '\"\\?'");
    expect_reject("{\"layer_norm_eps\": \"1e-12\"}", "layer_norm_eps must be a number, not a string");
    expect_reject("{\"initializer_range\": [0.02]}", "initializer_range must be a number, not an array");
    expect_reject("{\"hidden_act\": 1}", "hidden_act must be a string, not an integer");
    expect_reject("{\"model_type\": {}}", "model_type must be a string, not an object");
    expect_reject("{\"position_embedding_type\": null}", "position_embedding_type must be a string");
}

Test(config, rejects_non_positive_sizes) {
    expect_reject("{\"vocab_size\": 0}", "vocab_size must be a positive integer, got 0");
    expect_reject("{\"embedding_size\": -128}", "embedding_size must be a positive integer, got -128");
    expect_reject("{\"hidden_size\": 0}", "hidden_size must be a positive integer");
    expect_reject("{\"num_hidden_layers\": 0}", "num_hidden_layers must be a positive integer");
    expect_reject("{\"num_hidden_groups\": 0}", "num_hidden_groups must be a positive integer");
    expect_reject("{\"num_attention_heads\": -1}", "num_attention_heads must be a positive integer");
    expect_reject("{\"intermediate_size\": 0}", "intermediate_size must be a positive integer");
    expect_reject("{\"inner_group_num\": 0}", "inner_group_num must be a positive integer");
    expect_reject("{\"max_position_embeddings\": 0}", "max_position_embeddings must be a positive integer");
    expect_reject("{\"type_vocab_size\": 0}", "type_vocab_size must be a positive integer");
    expect_reject("{\"hidden_size\": 4294967296}", "hidden_size must be at most 16384 (this program's bound), got 4294967296");
    expect_reject("{\"pad_token_id\": -1}", "pad_token_id must be a non-negative integer, got -1");
    expect_reject("{\"pad_token_id\": 30000}", "pad_token_id 30000 is outside the vocabulary (vocab_size 30000)");
    expect_reject("{\"layer_norm_eps\": 0}", "layer_norm_eps must be > 0");
    expect_reject("{\"layer_norm_eps\": 1e300}", "layer_norm_eps must be > 0 and finite");
    expect_reject("{\"initializer_range\": -0.1}", "initializer_range must be >= 0");
}

/* Sizes are bounded before anything is allocated from them (a hostile config.json used to abort). */
Test(config, rejects_sizes_beyond_the_bounds) {
    expect_reject("{\"vocab_size\": 2147483647}", "vocab_size must be at most 1048576 (this program's bound), got 2147483647");
    expect_reject("{\"embedding_size\": 16385}", "embedding_size must be at most 16384");
    expect_reject("{\"hidden_size\": 32768, \"num_attention_heads\": 64}", "hidden_size must be at most 16384");
    expect_reject("{\"num_hidden_layers\": 2147483646, \"num_hidden_groups\": 2147483646}",
                  "num_hidden_layers must be at most 1024");
    expect_reject("{\"num_hidden_groups\": 1025}", "num_hidden_groups must be at most 1024");
    expect_reject("{\"num_attention_heads\": 2048}", "num_attention_heads must be at most 1024");
    expect_reject("{\"intermediate_size\": 65537}", "intermediate_size must be at most 65536");
    expect_reject("{\"inner_group_num\": 2147483647}", "inner_group_num must be at most 64");
    expect_reject("{\"max_position_embeddings\": 2147483647}", "max_position_embeddings must be at most 65536");
    expect_reject("{\"type_vocab_size\": 1025}", "type_vocab_size must be at most 1024");
    /* each size within its bound, the whole too big: 24 unshared layers of hidden 16384 */
    expect_reject("{\"hidden_size\": 16384, \"num_attention_heads\": 16, \"intermediate_size\": 65536, "
                  "\"num_hidden_layers\": 24, \"num_hidden_groups\": 24}",
                  "the model would have 77588994560 parameters, more than the 4294967296 (16 GiB as float32)");
    /* the bounds leave room: xxlarge (the defaults) without layer sharing, a 1M vocabulary, 64K positions */
    AlbertConfig c;
    AlbError err;
    cr_expect_eq(parse(&c, "{\"num_hidden_groups\": 12, \"vocab_size\": 1048576, "
                           "\"max_position_embeddings\": 65536}", &err), 0, "%s", err.msg);
}

Test(config, rejects_indivisible_geometry) {
    expect_reject("{\"hidden_size\": 770, \"num_attention_heads\": 12}",
                  "hidden_size 770 is not divisible by num_attention_heads 12");
    expect_reject("{\"num_hidden_layers\": 12, \"num_hidden_groups\": 5}",
                  "num_hidden_layers 12 is not divisible by num_hidden_groups 5");
}

Test(config, rejects_unsupported_choices) {
    expect_reject("{\"hidden_act\": \"swish\"}",
                  "hidden_act \"swish\" is not supported (supported: gelu_new, gelu, gelu_pytorch_tanh, relu)");
    expect_reject("{\"model_type\": \"bert\"}", "model_type is \"bert\"");
    expect_reject("{\"position_embedding_type\": \"relative_key\"}",
                  "position_embedding_type \"relative_key\" is not supported (only \"absolute\")");
}

Test(config, load_missing_file) {
    AlbertConfig c;
    AlbError err;
    cr_assert_eq(albert_config_load(&c, "/nonexistent/config.json", &err), -1);
    cr_assert(strncmp(err.msg, "/nonexistent/config.json: cannot open", 37) == 0, "%s", err.msg);
}

Test(config, save_round_trip_and_transformers_layout) {
    char *dir = test_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    AlbertConfig c, back;
    albert_config_preset(&c, "tiny");
    c.num_hidden_groups = 3;
    c.inner_group_num = 2;
    snprintf(c.hidden_act, sizeof c.hidden_act, "gelu");
    AlbError err;
    cr_assert_eq(albert_config_save(&c, path, &err), 0, "%s", err.msg);
    cr_assert_eq(albert_config_load(&back, path, &err), 0, "%s", err.msg);
    cr_assert_eq(memcmp(&c, &back, sizeof c), 0);

    char *text = NULL;
    size_t len;
    FILE *fp = fopen(path, "rb");
    text = calloc(1, 8192);
    len = fread(text, 1, 8191, fp);
    fclose(fp);
    cr_assert_gt(len, 0);
    cr_assert(strstr(text, "\"architectures\": [\n    \"AlbertModel\"\n  ]"), "%s", text);
    cr_assert(strstr(text, "\"model_type\": \"albert\""), "%s", text);
    cr_assert(strstr(text, "\"layer_norm_eps\": 1e-12,"), "%s", text);
    cr_assert(strstr(text, "\"initializer_range\": 0.02,"), "%s", text);
    cr_assert(strstr(text, "\"intermediate_size\": 37,"), "%s", text);
    cr_assert_eq(text[len - 1], '\n');
    free(text);
    test_rmtree(dir);
    free(dir);
}
