/* libFuzzer: JSONL dataset rows. */
#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_dataset(data, size, DATA_JSONL);
    return 0;
}
