/* The protobuf wire format, just enough of it for sentencepiece_model.proto:
 *
 *   ModelProto      { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
 *                     NormalizerSpec normalizer_spec = 3; }
 *   SentencePiece   { string piece = 1; float score = 2; Type type = 3; }
 *   TrainerSpec     { ModelType model_type = 3; bool byte_fallback = 35;
 *                     int32 unk_id = 40, bos_id = 41, eos_id = 42, pad_id = 43; }
 *   NormalizerSpec  { string name = 1; bytes precompiled_charsmap = 2; bool add_dummy_prefix = 3;
 *                     bool remove_extra_whitespaces = 4; bool escape_whitespaces = 5; }
 *
 * A key is a varint (field << 3 | wire type); wire types 0 varint, 1 fixed64,
 * 2 length-delimited, 3/4 group start/end, 5 fixed32. As in protobuf, a
 * field seen twice keeps its last value. */
#include "tokenizer/spiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer/utf8.h"

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_GROUP_START = 3, WIRE_GROUP_END = 4,
       WIRE_FIXED32 = 5 };
enum { MAX_GROUP_DEPTH = 64 };

typedef struct {
    const uint8_t *base, *p, *end;
    const char *path;
    AlbError *err;
} Reader;

static int fail_at(Reader *r, const char *what) {
    return alb_fail(r->err, "%s: malformed spiece.model at byte %zu: %s", r->path,
                    (size_t)(r->p - r->base), what);
}

static int read_varint(Reader *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return fail_at(r, "truncated varint");
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return fail_at(r, "varint longer than 10 bytes");
}

static int read_key(Reader *r, uint32_t *field, int *wire) {
    uint64_t key = 0;
    if (read_varint(r, &key)) return -1;
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    if (*field == 0 || key >> 3 > 0x1fffffff) return fail_at(r, "invalid field number");
    return 0;
}

/* A length-delimited payload: a sub-reader over it; r moves past it. */
static int read_len(Reader *r, Reader *sub) {
    uint64_t n = 0;
    if (read_varint(r, &n)) return -1;
    if (n > (uint64_t)(r->end - r->p)) return fail_at(r, "length runs past the end of the file (truncated?)");
    *sub = *r;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

static int read_fixed(Reader *r, size_t n, uint8_t *out) {
    if ((size_t)(r->end - r->p) < n) return fail_at(r, "truncated fixed-width field");
    memcpy(out, r->p, n);
    r->p += n;
    return 0;
}

static int skip_field(Reader *r, uint32_t field, int wire, int depth) {
    uint64_t v = 0;
    uint8_t buf[8];
    Reader sub = {0};
    switch (wire) {
    case WIRE_VARINT: return read_varint(r, &v);
    case WIRE_FIXED64: return read_fixed(r, 8, buf);
    case WIRE_FIXED32: return read_fixed(r, 4, buf);
    case WIRE_LEN: return read_len(r, &sub);
    case WIRE_GROUP_START:
        if (depth >= MAX_GROUP_DEPTH) return fail_at(r, "groups nested too deeply");
        for (;;) {
            uint32_t f;
            int w;
            if (r->p >= r->end) return fail_at(r, "unterminated group");
            if (read_key(r, &f, &w)) return -1;
            if (w == WIRE_GROUP_END) {
                if (f != field) return fail_at(r, "group ends with the wrong field number");
                return 0;
            }
            if (skip_field(r, f, w, depth + 1)) return -1;
        }
    default: return fail_at(r, "invalid wire type");
    }
}

static int expect_wire(Reader *r, int wire, int want, const char *field_name) {
    if (wire == want) return 0;
    char msg[128];
    snprintf(msg, sizeof msg, "field %s has wire type %d, expected %d", field_name, wire, want);
    return fail_at(r, msg);
}

static int read_int32(Reader *r, int wire, const char *name, int *out) {
    uint64_t v = 0;
    if (expect_wire(r, wire, WIRE_VARINT, name) || read_varint(r, &v)) return -1;
    *out = (int)(int32_t)(uint32_t)v;  /* protobuf int32: negative values are 10-byte sign-extended */
    return 0;
}

static int read_bool(Reader *r, int wire, const char *name, int *out) {
    uint64_t v = 0;
    if (expect_wire(r, wire, WIRE_VARINT, name) || read_varint(r, &v)) return -1;
    *out = v != 0;
    return 0;
}

static int parse_piece(Reader *r, SpmModel *m, size_t *pool_used, size_t pool_cap) {
    SpmPiece *pc = &m->pieces[m->n_pieces];
    pc->type = SPM_NORMAL;
    pc->score = 0.0f;
    const uint8_t *text = NULL;
    size_t text_len = 0;
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        if (read_key(r, &field, &wire)) return -1;
        if (field == 1) {
            Reader s = {0};
            if (expect_wire(r, wire, WIRE_LEN, "piece") || read_len(r, &s)) return -1;
            text = s.p;
            text_len = (size_t)(s.end - s.p);
        } else if (field == 2) {
            uint8_t b[4] = {0};
            if (expect_wire(r, wire, WIRE_FIXED32, "score") || read_fixed(r, 4, b)) return -1;
            uint32_t bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&pc->score, &bits, 4);
        } else if (field == 3) {
            if (read_int32(r, wire, "type", &pc->type)) return -1;
        } else if (skip_field(r, field, wire, 0)) {
            return -1;
        }
    }
    if (text_len && !utf8_valid((const char *)text, text_len)) {
        return alb_fail(r->err, "%s: piece %d is not valid UTF-8", r->path, m->n_pieces);
    }
    if (*pool_used + text_len + 1 > pool_cap) return fail_at(r, "piece text larger than the file");
    char *dst = m->text_pool + *pool_used;
    if (text_len) memcpy(dst, text, text_len);
    dst[text_len] = '\0';
    pc->text = dst;
    pc->len = (uint32_t)text_len;
    *pool_used += text_len + 1;
    m->n_pieces++;
    return 0;
}

static int parse_trainer(Reader *r, SpmModel *m) {
    while (r->p < r->end) {
        uint32_t field;
        int wire, rc;
        if (read_key(r, &field, &wire)) return -1;
        switch (field) {
        case 3: rc = read_int32(r, wire, "model_type", &m->model_type); break;
        case 35: rc = read_bool(r, wire, "byte_fallback", &m->byte_fallback); break;
        case 40: rc = read_int32(r, wire, "unk_id", &m->unk_id); break;
        case 41: rc = read_int32(r, wire, "bos_id", &m->bos_id); break;
        case 42: rc = read_int32(r, wire, "eos_id", &m->eos_id); break;
        case 43: rc = read_int32(r, wire, "pad_id", &m->pad_id); break;
        default: rc = skip_field(r, field, wire, 0); break;
        }
        if (rc) return -1;
    }
    return 0;
}

static char *dup_bytes(const uint8_t *p, size_t n) {
    char *s = alb_xmalloc(n + 1);
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int parse_normalizer(Reader *r, SpmModel *m) {
    while (r->p < r->end) {
        uint32_t field;
        int wire, rc = 0;
        Reader s = {0};
        if (read_key(r, &field, &wire)) return -1;
        switch (field) {
        case 1:
            if (expect_wire(r, wire, WIRE_LEN, "name") || read_len(r, &s)) return -1;
            free(m->normalizer_name);
            m->normalizer_name = dup_bytes(s.p, (size_t)(s.end - s.p));
            break;
        case 2:
            if (expect_wire(r, wire, WIRE_LEN, "precompiled_charsmap") || read_len(r, &s)) return -1;
            free(m->charsmap);
            m->charsmap_len = (size_t)(s.end - s.p);
            m->charsmap = (uint8_t *)dup_bytes(s.p, m->charsmap_len);
            break;
        case 3: rc = read_bool(r, wire, "add_dummy_prefix", &m->add_dummy_prefix); break;
        case 4: rc = read_bool(r, wire, "remove_extra_whitespaces", &m->remove_extra_whitespaces); break;
        case 5: rc = read_bool(r, wire, "escape_whitespaces", &m->escape_whitespaces); break;
        default: rc = skip_field(r, field, wire, 0); break;
        }
        if (rc) return -1;
    }
    return 0;
}

static const char *model_type_name(int t) {
    switch (t) {
    case 1: return "UNIGRAM";
    case 2: return "BPE";
    case 3: return "WORD";
    case 4: return "CHAR";
    default: return "unknown";
    }
}

static int parse_model(Reader *r, SpmModel *m) {
    size_t pool_used = 0, pool_cap = (size_t)(r->end - r->p) + 1;
    int cap = 0;
    m->text_pool = alb_xmalloc(pool_cap);
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        Reader s = {0};
        if (read_key(r, &field, &wire)) return -1;
        if (field == 1) {
            if (expect_wire(r, wire, WIRE_LEN, "pieces") || read_len(r, &s)) return -1;
            if (m->n_pieces == cap) {
                cap = cap ? 2 * cap : 1024;
                m->pieces = alb_xrealloc(m->pieces, (size_t)cap * sizeof *m->pieces);
            }
            if (parse_piece(&s, m, &pool_used, pool_cap)) return -1;
        } else if (field == 2) {
            if (expect_wire(r, wire, WIRE_LEN, "trainer_spec") || read_len(r, &s) || parse_trainer(&s, m)) return -1;
        } else if (field == 3) {
            if (expect_wire(r, wire, WIRE_LEN, "normalizer_spec") || read_len(r, &s) || parse_normalizer(&s, m))
                return -1;
        } else if (skip_field(r, field, wire, 0)) {
            return -1;
        }
    }
    if (m->model_type != 1) {
        return alb_fail(r->err, "%s: model type %s (%d) is not supported; only UNIGRAM (1) models are",
                        r->path, model_type_name(m->model_type), m->model_type);
    }
    if (m->n_pieces == 0) return alb_fail(r->err, "%s: the model has no pieces", r->path);
    if (m->unk_id < 0 || m->unk_id >= m->n_pieces) {
        return alb_fail(r->err, "%s: unk_id %d is outside the %d pieces", r->path, m->unk_id, m->n_pieces);
    }
    return 0;
}

int spm_parse(SpmModel *m, const uint8_t *data, size_t len, const char *path, AlbError *err) {
    memset(m, 0, sizeof *m);
    m->model_type = 1;
    m->unk_id = 0;
    m->bos_id = 1;
    m->eos_id = 2;
    m->pad_id = -1;
    m->add_dummy_prefix = m->remove_extra_whitespaces = m->escape_whitespaces = 1;
    Reader r = {data, data, data + len, path, err};
    if (parse_model(&r, m)) {
        spm_free(m);
        return -1;
    }
    return 0;
}

void spm_free(SpmModel *m) {
    free(m->pieces);
    free(m->text_pool);
    free(m->normalizer_name);
    free(m->charsmap);
    memset(m, 0, sizeof *m);
}
