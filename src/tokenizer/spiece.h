/* spiece.model: SentencePiece's ModelProto, read with a hand-written
 * protobuf wire-format reader (one message type; no protobuf runtime).
 *
 * Every length is checked against the buffer; unknown fields of every wire
 * type are skipped; a truncated or malformed file gives one error line that
 * names `path`. Only unigram models load (trainer_spec.model_type == 1). */
#ifndef ALB_TOKENIZER_SPIECE_H
#define ALB_TOKENIZER_SPIECE_H

#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

enum {
    SPM_NORMAL = 1,
    SPM_UNKNOWN = 2,
    SPM_CONTROL = 3,
    SPM_USER_DEFINED = 4,
    SPM_UNUSED = 5,
    SPM_BYTE = 6,
};

typedef struct {
    const char *text;  /* NUL-terminated copy (UTF-8, checked) */
    uint32_t len;      /* bytes */
    float score;
    int type;          /* SPM_* */
} SpmPiece;

typedef struct {
    SpmPiece *pieces;
    int n_pieces;
    char *text_pool;   /* every piece's text, back to back */
    /* trainer_spec (defaults as in sentencepiece_model.proto) */
    int model_type;    /* 1 = UNIGRAM */
    int unk_id, bos_id, eos_id, pad_id;
    int byte_fallback;
    /* normalizer_spec */
    char *normalizer_name;
    uint8_t *charsmap;     /* precompiled_charsmap bytes (NULL when absent) */
    size_t charsmap_len;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
} SpmModel;

/* Parses a whole spiece.model held in memory; `path` only names it in errors. */
int spm_parse(SpmModel *m, const uint8_t *data, size_t len, const char *path, AlbError *err);
void spm_free(SpmModel *m);

#endif
