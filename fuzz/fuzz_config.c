/* libFuzzer: albert_config_parse on arbitrary bytes; what it accepts must satisfy the contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    AlbertConfig c;
    AlbError err;
    if (albert_config_parse(&c, (const char *)data, size, "fuzz.json", &err)) return 0;
    if (albert_config_check(&c, "fuzz.json", &err) || !memchr(c.hidden_act, '\0', sizeof c.hidden_act)) abort();
    return 0;
}
