/* libFuzzer: spiece.model bytes -> tokenizer_load_buffer; a model that loads
 * must tokenize and decode without fault. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AlbertTokenizer *tok;
    AlbError err;
    if (tokenizer_load_buffer(&tok, data, size, "fuzz.model", &err)) {
        if (!strstr(err.msg, "fuzz.model")) abort();
        return 0;
    }
    static const char *texts[] = {"Hello World", "A\xcc\x81 [MASK] <pad>\xe2\x96\x81x 13,000 \xff\x00z", ""};
    TokenIds ids = {0};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        tokenizer_encode(tok, texts[i], strlen(texts[i]) + (i == 1), 0, &ids);
        for (int k = 0; k < ids.n; k++) {
            if (ids.ids[k] < 0 || ids.ids[k] >= tokenizer_vocab_size(tok)) abort();
        }
        free(tokenizer_decode(tok, ids.ids, ids.n, i & 1));
    }
    token_ids_free(&ids);
    tokenizer_free(tok);
    return 0;
}
