/* libFuzzer: CSV dataset records (RFC 4180 quoting, multi-line fields). */
#include "fuzz_dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_dataset(data, size, DATA_CSV);
    return 0;
}
