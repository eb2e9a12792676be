/* The input of `albertc embed` and `albertc bench`: JSON Lines, one sequence
 * per line, turned into token ids (the pipeline's text -> ids step for
 * JSONL input; in the library, not cli/, so tests and the fuzz target link it).
 *
 *   {"input_ids": [...]}  optional "attention_mask" (0/1, same length) and
 *                         "token_type_ids" (all 0: pairs are not supported)
 *   {"text": "..."}       tokenized with spiece_path as AlbertTokenizerFast
 *                         does ([CLS] ... [SEP], truncated to max_length)
 *
 * Every id must lie in [0, vocab_size); input_ids must be non-empty and at
 * most max_length long. A bad line fails the whole parse with one error line
 * "<path>:<line>: what is wrong". A final "\n" ends the last line; "\r\n" is
 * accepted; an empty line is an error, and so is an input without lines. */
#ifndef ALB_PIPELINE_EMBED_INPUT_H
#define ALB_PIPELINE_EMBED_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "tokenizer/tokenizer.h"
#include "util/error.h"

typedef struct {
    int n;          /* tokens */
    int32_t *ids;   /* [n] */
    int32_t *mask;  /* [n], 1 where absent from the input */
} EmbedSeq;

typedef struct {
    /* set by the caller */
    const char *path;        /* names the input in errors */
    const char *spiece_path; /* NULL: text lines are an error */
    int vocab_size, max_length;
    /* filled by embed_input_parse */
    EmbedSeq *seqs;
    int n, cap;
    AlbertTokenizer *tok;    /* loaded at the first text line */
} EmbedInput;

int embed_input_parse(EmbedInput *in, const char *data, size_t len, AlbError *err);
/* Reads in->path and parses it. */
int embed_input_read(EmbedInput *in, AlbError *err);
void embed_input_free(EmbedInput *in);

#endif
