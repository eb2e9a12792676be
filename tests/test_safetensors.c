#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "testutil.h"

TestSuite(safetensors, .init = test_tmp_setup, .fini = test_tmp_teardown);

/* A file from a header text (length field = its length) and data_len bytes 0, 1, 2, ... */
static const char *write_raw(const char *name, const char *header, size_t data_len) {
    size_t n = strlen(header);
    size_t total = 8 + n + data_len;
    unsigned char *buf = calloc(1, total);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    for (size_t i = 0; i < data_len; i++) buf[8 + n + i] = (unsigned char)i;
    const char *path = test_tmp_path(name);
    test_write_file(path, buf, total);
    free(buf);
    return path;
}

/* st_open must fail, naming the file first and containing `problem`. */
static void expect_open_error(const char *path, const char *problem) {
    SafeTensors st;
    AlbError err = {""};
    cr_assert_eq(st_open(&st, path, &err), -1, "opened a bad file, expected error: %s", problem);
    cr_assert_eq(strncmp(err.msg, path, strlen(path)), 0, "error does not name the file: %s", err.msg);
    cr_assert(strstr(err.msg, problem), "error '%s' does not say '%s'", err.msg, problem);
    st_close(&st);  /* harmless after a failure */
}

static void expect_bad_header(const char *header, size_t data_len, const char *problem) {
    expect_open_error(write_raw("bad.safetensors", header, data_len), problem);
}

/* Saves w as the temp file `name` (which must work) and frees it; returns the path. */
static const char *save_ok(StWriter *w, const char *name) {
    AlbError err;
    const char *path = test_tmp_path(name);
    cr_assert_eq(st_writer_save(w, path, &err), 0, "%s", err.msg);
    st_writer_free(w);
    return path;
}

/* st_open must succeed. */
static void open_ok(SafeTensors *st, const char *path) {
    AlbError err;
    cr_assert_eq(st_open(st, path, &err), 0, "%s", err.msg);
}

Test(safetensors, round_trip_all_dtypes) {
    static const StDtype dtypes[] = {ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL};
    const int n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
    unsigned char bytes[2 * 3 * 8];
    for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (unsigned char)(i * 7 + 1);
    const int64_t shape[2] = {2, 3}, empty[2] = {0, 5};

    StWriter *w = st_writer_new();
    char name[64];
    for (int i = n_dtypes - 1; i >= 0; i--) {  /* added out of order: the file is in name order */
        snprintf(name, sizeof name, "t.%s", st_dtype_name(dtypes[i]));
        st_writer_add(w, name, dtypes[i], 2, shape, bytes);
    }
    const float scalar = 2.5f;
    st_writer_add_f32(w, "scalar", 0, NULL, &scalar);
    st_writer_add_borrowed(w, "empty", ST_I64, 2, empty, NULL);
    st_writer_set_meta(w, "format", "pt");
    st_writer_set_meta(w, "note", "first");
    st_writer_set_meta(w, "note", "second");
    const char *path = save_ok(w, "all.safetensors");

    SafeTensors st;
    open_ok(&st, path);
    cr_assert_eq(st.n_tensors, n_dtypes + 2);
    for (int i = 0; i < n_dtypes; i++) {
        snprintf(name, sizeof name, "t.%s", st_dtype_name(dtypes[i]));
        const StTensor *t = st_find(&st, name);
        cr_assert_not_null(t, "missing %s", name);
        cr_assert_eq(t->dtype, dtypes[i]);
        cr_assert_eq(t->ndim, 2);
        cr_assert_eq(t->shape[0], 2);
        cr_assert_eq(t->shape[1], 3);
        cr_assert_eq(t->numel, 6);
        cr_assert_eq(t->nbytes, 6 * st_dtype_size(dtypes[i]));
        cr_assert_eq(memcmp(t->data, bytes, t->nbytes), 0, "data of %s differs", name);
    }
    const StTensor *s = st_find(&st, "scalar");
    cr_assert_eq(s->ndim, 0);
    cr_assert_eq(s->numel, 1);
    cr_assert_eq(memcmp(s->data, &scalar, 4), 0);
    cr_assert_eq(st_find(&st, "empty")->numel, 0);
    cr_assert_null(st_find(&st, "t.F8"));
    cr_assert_str_eq(st_meta(&st, "format"), "pt");
    cr_assert_str_eq(st_meta(&st, "note"), "second");
    cr_assert_null(st_meta(&st, "absent"));

    /* Hugging Face layout: header padded with spaces to 8 bytes, data in name order. */
    const unsigned char *raw = st.map;
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | raw[i];
    cr_assert_eq(header_len % 8, 0);
    uint64_t json_end = header_len;
    while (raw[8 + json_end - 1] == ' ') json_end--;
    cr_assert_eq(raw[8 + json_end - 1], '}');
    cr_assert_lt(header_len - json_end, 8);
    cr_assert_eq(raw[8], '{');
    for (int i = 1; i < st.n_tensors; i++) {
        cr_assert_lt(strcmp(st.tensors[i - 1].name, st.tensors[i].name), 0);
        cr_assert_leq((const char *)st.tensors[i - 1].data, (const char *)st.tensors[i].data);
    }
    st_close(&st);
}

Test(safetensors, header_is_hf_json) {
    StWriter *w = st_writer_new();
    const int64_t shape[1] = {2};
    const float x[2] = {1, 2};
    st_writer_add_f32(w, "b", 1, shape, x);
    st_writer_add_f32(w, "a", 1, shape, x);
    st_writer_set_meta(w, "format", "pt");
    const char *path = save_ok(w, "hf.safetensors");
    FILE *fp = fopen(path, "rb");
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    size_t want_len = strlen(want), padded = (want_len + 7) / 8 * 8;
    cr_assert_eq(buf[0], padded);
    cr_assert_eq(n, 8 + padded + 16);
    cr_assert_eq(memcmp(buf + 8, want, want_len), 0, "header: %.*s", (int)padded, buf + 8);
    for (size_t i = want_len; i < padded; i++) cr_assert_eq(buf[8 + i], ' ');
}

Test(safetensors, f32_is_zero_copy_when_aligned) {
    StWriter *w = st_writer_new();
    const int64_t shape[2] = {2, 2};
    const float x[4] = {1.5f, -2, 3, 4e-30f};
    st_writer_add_f32(w, "w", 2, shape, x);
    const char *path = save_ok(w, "w.safetensors");
    SafeTensors st;
    open_ok(&st, path);
    const float *data;
    float *owned;
    AlbError err;
    cr_assert_eq(st_get_f32(&st, "w", NULL, 2, shape, &data, &owned, &err), 0, "%s", err.msg);
    cr_assert_null(owned);
    cr_assert_eq((const void *)data, st_find(&st, "w")->data);
    cr_assert_eq(memcmp(data, x, sizeof x), 0);
    st_close(&st);
}

Test(safetensors, misaligned_f32_is_copied) {
    /* Header of odd length: the data area starts at byte 8 + 61. */
    const char *header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}}      ";
    cr_assert_eq(strlen(header) % 4, 1);
    const char *path = write_raw("odd.safetensors", header, 13);
    SafeTensors st;
    AlbError err;
    open_ok(&st, path);
    const float *data;
    float *owned;
    cr_assert_eq(st_get_f32(&st, "w", NULL, -1, NULL, &data, &owned, &err), 0, "%s", err.msg);
    cr_assert_not_null(owned);
    cr_assert_eq((uintptr_t)data % sizeof(float), 0);
    float want[3];
    memcpy(want, st_find(&st, "w")->data, sizeof want);
    cr_assert_eq(memcmp(data, want, sizeof want), 0);
    free(owned);
    st_close(&st);
}

/* Writes raw dtype data as tensor "x" and converts it through st_get_f32. */
static void convert(StDtype dt, const void *raw, int n, float *out) {
    StWriter *w = st_writer_new();
    const int64_t shape[1] = {n};
    st_writer_add(w, "x", dt, 1, shape, raw);
    const char *path = save_ok(w, "conv.safetensors");
    SafeTensors st;
    open_ok(&st, path);
    const float *data;
    float *owned;
    AlbError err;
    cr_assert_eq(st_get_f32(&st, "x", NULL, 1, shape, &data, &owned, &err), 0, "%s", err.msg);
    cr_assert_not_null(owned, "converted data must be a copy");
    memcpy(out, data, (size_t)n * sizeof(float));
    free(owned);
    st_close(&st);
}

Test(safetensors, f16_conversion) {
    const uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x03FF, 0x3555, 0x8000, 0x7C00, 0xFC00, 0x7E00};
    const float want[] = {1.0f, -2.0f, 65504.0f, 0x1p-24f, 0x1p-14f, 0x3FFp-24f, 0x1.554p-2f, -0.0f,
                          INFINITY, -INFINITY};
    float got[11];
    convert(ST_F16, h, 11, got);
    for (int i = 0; i < 10; i++) cr_expect_eq(got[i], want[i], "f16 %04x: got %a want %a", h[i], got[i], want[i]);
    cr_expect(signbit(got[7]), "-0 lost its sign");
    cr_expect(isnan(got[10]));
}

Test(safetensors, bf16_conversion) {
    const uint16_t h[] = {0x3F80, 0x4049, 0xC2F7, 0x0001, 0x7F80, 0xFFC0};
    float got[6];
    convert(ST_BF16, h, 6, got);
    cr_expect_eq(got[0], 1.0f);
    cr_expect_eq(got[1], 3.140625f);
    cr_expect_eq(got[2], -123.5f);
    cr_expect_eq(got[3], 0x1p-133f);
    cr_expect_eq(got[4], INFINITY);
    cr_expect(isnan(got[5]));
}

Test(safetensors, f64_conversion) {
    const double d[] = {0.1, -1e30, 3.0};
    float got[3];
    convert(ST_F64, d, 3, got);
    cr_expect_eq(got[0], 0.1f);
    cr_expect_eq(got[1], -1e30f);
    cr_expect_eq(got[2], 3.0f);
}

/* Writes and opens a small model-like file: names with and without the "albert." prefix. Returns its path. */
static const char *open_model(SafeTensors *st) {
    StWriter *w = st_writer_new();
    const int64_t shape[2] = {768, 64};
    float *zeros = calloc(768 * 64, sizeof(float));
    st_writer_add_f32(w, "albert.encoder.embedding_hidden_mapping_in.weight", 2, shape, zeros);
    st_writer_add_f32(w, "classifier.weight", 2, shape, zeros);
    const int64_t ids_shape[1] = {2};
    const int64_t ids[2] = {5, 7};
    st_writer_add(w, "ids", ST_I64, 1, ids_shape, ids);
    free(zeros);
    const char *path = save_ok(w, "model.safetensors");
    open_ok(st, path);
    return path;
}

Test(safetensors, prefix_lookup) {
    SafeTensors st;
    open_model(&st);
    AlbError err;
    const int64_t shape[2] = {768, 64};
    const float *data;
    float *owned;
    cr_assert_eq(st_get_f32(&st, "encoder.embedding_hidden_mapping_in.weight", "albert.", 2, shape, &data, &owned,
                            &err), 0, "%s", err.msg);
    cr_assert_eq((const void *)data, st_find(&st, "albert.encoder.embedding_hidden_mapping_in.weight")->data);
    cr_assert_eq(st_get_f32(&st, "albert.classifier.weight", "albert.", 2, shape, &data, &owned, &err), 0, "%s",
                 err.msg);
    cr_assert_eq((const void *)data, st_find(&st, "classifier.weight")->data);
    /* Without a prefix to try, the bare name is not there. */
    cr_assert_eq(st_get_f32(&st, "encoder.embedding_hidden_mapping_in.weight", NULL, 2, shape, &data, &owned, &err),
                 -1);
    st_close(&st);
}

Test(safetensors, missing_tensor_named) {
    SafeTensors st;
    const char *path = open_model(&st);
    AlbError err;
    const float *data;
    float *owned;
    cr_assert_eq(st_get_f32(&st, "embeddings.word_embeddings.weight", "albert.", -1, NULL, &data, &owned, &err), -1);
    char want[4096];
    snprintf(want, sizeof want, "%s: tensor embeddings.word_embeddings.weight not found "
             "(nor albert.embeddings.word_embeddings.weight)", path);
    cr_assert_str_eq(err.msg, want);
    cr_assert_null(data);
    st_close(&st);
}

Test(safetensors, wrong_shape_named) {
    SafeTensors st;
    const char *path = open_model(&st);
    AlbError err;
    const int64_t want_shape[2] = {768, 128};
    const float *data;
    float *owned;
    cr_assert_eq(st_get_f32(&st, "encoder.embedding_hidden_mapping_in.weight", "albert.", 2, want_shape, &data,
                            &owned, &err), -1);
    char want[4096];
    snprintf(want, sizeof want, "%s: tensor albert.encoder.embedding_hidden_mapping_in.weight has shape [768,64], "
             "expected [768,128]", path);
    cr_assert_str_eq(err.msg, want);
    const int64_t one_dim[1] = {768 * 64};
    cr_assert_eq(st_get_f32(&st, "classifier.weight", NULL, 1, one_dim, &data, &owned, &err), -1);
    cr_assert(strstr(err.msg, "has shape [768,64], expected [49152]"), "%s", err.msg);
    st_close(&st);
}

Test(safetensors, integer_tensor_is_not_float) {
    SafeTensors st;
    open_model(&st);
    AlbError err;
    const float *data;
    float *owned;
    cr_assert_eq(st_get_f32(&st, "ids", NULL, -1, NULL, &data, &owned, &err), -1);
    cr_assert(strstr(err.msg, "tensor ids has dtype I64, expected a float dtype"), "%s", err.msg);
    cr_assert_eq(st_find(&st, "ids")->numel, 2);
    int64_t ids[2];
    memcpy(ids, st_find(&st, "ids")->data, sizeof ids);
    cr_assert_eq(ids[0], 5);
    cr_assert_eq(ids[1], 7);
    st_close(&st);
}

Test(safetensors, empty_header_is_valid) {
    const char *path = write_raw("empty.safetensors", "{}", 0);
    SafeTensors st;
    open_ok(&st, path);
    cr_assert_eq(st.n_tensors, 0);
    cr_assert_null(st_find(&st, "x"));
    st_close(&st);
}

Test(safetensors, rejects_missing_file) { expect_open_error(test_tmp_path("nope.safetensors"), "cannot open"); }

Test(safetensors, rejects_short_file) {
    const char *path = test_tmp_path("short.safetensors");
    test_write_file(path, "\x02\0\0\0", 4);
    expect_open_error(path, "too short");
    test_write_file(path, "", 0);
    expect_open_error(path, "file is 0 bytes, too short");
}

Test(safetensors, rejects_header_longer_than_file) {
    const char *path = test_tmp_path("long.safetensors");
    test_write_file(path, "\x40\0\0\0\0\0\0\0{}", 10);
    expect_open_error(path, "header length 64 exceeds the file size (10 bytes)");
    test_write_file(path, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
    expect_open_error(path, "header length 18446744073709551615 exceeds the file size");
}

Test(safetensors, rejects_huge_header) {
    /* A sparse 101 MB file whose header claims 100 MB + 1 bytes. */
    const char *path = test_tmp_path("huge.safetensors");
    FILE *fp = fopen(path, "wb");
    const uint64_t n = 100000001;
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(n >> (8 * i));
    fwrite(len, 1, 8, fp);
    fclose(fp);
    cr_assert_eq(truncate(path, 101000000), 0);
    expect_open_error(path, "header length 100000001 is above the 100000000-byte limit");
}

Test(safetensors, rejects_bad_json) {
    expect_bad_header("{\"a\": {\"dtype\": \"F32\",", 0, "header JSON");
    expect_bad_header("[1, 2]", 0, "header JSON must be an object");
    expect_bad_header("{\"a\": 3}", 0, "tensor a: entry must be an object");
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "duplicate");
}

Test(safetensors, rejects_unknown_dtype) {
    expect_bad_header("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                      "tensor a: unknown dtype 'F8_E4M3'");
    expect_bad_header("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                      "tensor a: missing or non-string dtype");
    expect_bad_header("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor a: missing or non-string dtype");
}

Test(safetensors, rejects_bad_shapes) {
    expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                      "tensor a: shape must be an array of at most 8 non-negative integers");
    expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1,
                      "tensor a: shape must be");
    expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1,
                      "tensor a: shape must be");
    expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":\"1\",\"data_offsets\":[0,1]}}", 1,
                      "tensor a: shape must be");
}

Test(safetensors, rejects_shape_offset_mismatch) {
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24,
                      "tensor w: F32 [2,3] needs 24 bytes but data_offsets [0,20] hold 20");
    expect_bad_header("{\"w\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
                      "tensor w: BF16 [4] needs 8 bytes");
}

Test(safetensors, rejects_bad_offsets) {
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 7,
                      "tensor w: data_offsets [0,8] outside the data area (7 bytes)");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[9,9]}}", 8,
                      "tensor w: data_offsets [9,9] outside the data area");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
                      "tensor w: data_offsets [8,4] end before begin");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8,
                      "tensor w: data_offsets must be two non-negative integers");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
                      "tensor w: data_offsets must be two");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8, "tensor w: data_offsets must be two");
}

Test(safetensors, rejects_overflow) {
    /* 2^62 * 4 elements overflows int64; times 4 bytes overflows size_t. */
    expect_bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0,
                      "tensor w: shape [4611686018427387904,4] is too large");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0,
                      "is too large");
    expect_bad_header("{\"w\":{\"dtype\":\"F64\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}", 0,
                      "is too large");
    /* Wraps to 0 bytes if multiplied unchecked: */
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,1073741824],\"data_offsets\":[0,0]}}", 0,
                      "is too large");
    expect_bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", 0,
                      "header JSON");
    expect_bad_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[9223372036854775807,"
                      "9223372036854775807]}}", 0, "outside the data area");
}

Test(safetensors, rejects_overlap) {
    expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24,
                      "tensors a and b overlap");
    expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[5,7]}}", 8, "overlap");
    expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, "overlap");
}

Test(safetensors, adjacent_and_empty_tensors_do_not_overlap) {
    const char *path = write_raw("ok.safetensors",
                                 "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                                 "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                                 "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},"
                                 "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8);
    SafeTensors st;
    open_ok(&st, path);
    cr_assert_eq(st.n_tensors, 4);
    cr_assert_eq(((const unsigned char *)st_find(&st, "b")->data)[0], 4);
    st_close(&st);
}

Test(safetensors, rejects_bad_metadata) {
    expect_bad_header("{\"__metadata__\":{\"format\":\"pt\",\"step\":3}}", 0,
                      "__metadata__ value of 'step' must be a string");
    expect_bad_header("{\"__metadata__\":[\"pt\"]}", 0, "__metadata__ must be an object of strings");
    expect_bad_header("{\"__metadata__\":{\"x\":null}}", 0, "__metadata__ value of 'x'");
}

Test(safetensors, parse_buffer_names_it) {
    SafeTensors st;
    AlbError err;
    cr_assert_eq(st_parse(&st, "\x01\0\0\0\0\0\0\0[", 9, "buf.bin", &err), -1);
    cr_assert(strncmp(err.msg, "buf.bin: header JSON", 20) == 0, "%s", err.msg);
    const char ok[] = "\x02\0\0\0\0\0\0\0{}";
    cr_assert_eq(st_parse(&st, ok, sizeof ok - 1, "buf.bin", &err), 0, "%s", err.msg);
    cr_assert_eq(st.owns_map, 0);
    st_close(&st);
}

Test(safetensors, writer_reports_bad_add) {
    StWriter *w = st_writer_new();
    const int64_t bad[1] = {-3};
    const unsigned char x[1] = {0};
    st_writer_add(w, "neg", ST_U8, 1, bad, x);
    AlbError err;
    const char *path = test_tmp_path("never.safetensors");
    cr_assert_eq(st_writer_save(w, path, &err), -1);
    cr_assert(strstr(err.msg, "tensor neg: bad dtype or shape"), "%s", err.msg);
    cr_assert_neq(access(path, F_OK), 0, "a failed save must not leave a file");
    st_writer_free(w);

    w = st_writer_new();
    const int64_t one[1] = {1};
    st_writer_add(w, "bad\xff", ST_U8, 1, one, x);
    cr_assert_eq(st_writer_save(w, path, &err), -1);
    cr_assert(strstr(err.msg, "UTF-8"), "%s", err.msg);
    st_writer_free(w);
}

Test(safetensors, writer_replaces_same_name) {
    StWriter *w = st_writer_new();
    const int64_t one[1] = {1}, two[1] = {2};
    const float a = 1, b[2] = {2, 3};
    st_writer_add_f32(w, "x", 1, one, &a);
    st_writer_add_f32(w, "x", 1, two, b);
    const char *path = save_ok(w, "replace.safetensors");
    SafeTensors st;
    open_ok(&st, path);
    cr_assert_eq(st.n_tensors, 1);
    cr_assert_eq(st_find(&st, "x")->numel, 2);
    st_close(&st);
}

Test(safetensors, dtype_names) {
    cr_assert_str_eq(st_dtype_name(ST_BF16), "BF16");
    cr_assert_str_eq(st_dtype_name(ST_BOOL), "BOOL");
    cr_assert_eq(st_dtype_size(ST_F64), 8);
    cr_assert_eq(st_dtype_size(ST_I16), 2);
    cr_assert_eq(st_dtype_size(ST_BOOL), 1);
}
