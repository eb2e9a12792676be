/* libFuzzer: arbitrary bytes through the real albert-base-v2 tokenizer
 * ($ALBERT_SHARED, default ../shared), as one text (with and without spans)
 * and as a truncated pair; checks the output's shape and decodes it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

static AlbertTokenizer *tok;

static void check(const TokenIds *ids, int max_length) {
    int vocab = tokenizer_vocab_size(tok);
    if (ids->n < 2 || ids->ids[0] != tokenizer_cls_id(tok) || ids->ids[ids->n - 1] != tokenizer_sep_id(tok)) abort();
    if (max_length >= 3 && ids->n > max_length) abort();
    for (int i = 0; i < ids->n; i++) {
        if (ids->ids[i] < 0 || ids->ids[i] >= vocab || ids->type_ids[i] < 0 || ids->type_ids[i] > 1) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok) {
        const char *shared = getenv("ALBERT_SHARED");
        char path[4096];
        snprintf(path, sizeof path, "%s/models/albert-base-v2/spiece.model", shared && *shared ? shared : "../shared");
        AlbError err;
        if (tokenizer_load(&tok, path, &err)) {
            fprintf(stderr, "fuzz_tokenize: %s\n", err.msg);
            abort();
        }
    }
    TokenIds ids = {0};
    const char *text = (const char *)data;
    tokenizer_encode(tok, text, size, 0, &ids);
    check(&ids, 0);
    free(tokenizer_decode(tok, ids.ids, ids.n, 1));
    /* spans: the same ids; each span inside the text; the specials' {0, 0} */
    TokenIds spanned = {0};
    tokenizer_encode_spans(tok, text, size, 0, &spanned);
    if (spanned.n != ids.n || memcmp(spanned.ids, ids.ids, sizeof(int32_t) * (size_t)ids.n)) abort();
    for (int i = 0; i < spanned.n; i++) {
        ByteSpan s = spanned.spans[i];
        if (s.start < 0 || s.start > s.end || (size_t)s.end > size) abort();
        if ((i == 0 || i == spanned.n - 1) && (s.start || s.end)) abort();
    }
    token_ids_free(&spanned);
    /* first byte: max_length; the rest split in the middle: a pair */
    if (size > 0) {
        int max_length = data[0] % 32;
        size_t half = (size - 1) / 2;
        tokenizer_encode_pair(tok, text + 1, half, text + 1 + half, size - 1 - half, max_length, &ids);
        check(&ids, max_length);
    }
    token_ids_free(&ids);
    return 0;
}
