/* libFuzzer: the JSONL input of `albertc embed` (ids lines; text lines are
 * rejected here for want of a tokenizer, which fuzz_tokenize covers). Every
 * accepted sequence must respect the bounds the parser promises. */
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/embed_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    EmbedInput in = {.path = "fuzz.jsonl", .vocab_size = 100, .max_length = 16};
    AlbError err;
    if (embed_input_parse(&in, (const char *)data, size, &err) == 0) {
        for (int i = 0; i < in.n; i++) {
            const EmbedSeq *s = &in.seqs[i];
            if (s->n < 1 || s->n > 16) abort();
            for (int j = 0; j < s->n; j++)
                if (s->ids[j] < 0 || s->ids[j] >= 100 || (s->mask[j] != 0 && s->mask[j] != 1)) abort();
        }
    }
    embed_input_free(&in);
    return 0;
}
