/* libFuzzer: the event-file reader (tb_record_next, tb_event_step) on arbitrary
 * bytes: it must stay inside the buffer and always move forward. */
#include <stdint.h>
#include <stdlib.h>

#include "train/tb_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t pos = 0, n;
    const unsigned char *rec;
    int64_t step;
    for (size_t last = 0; tb_record_next(data, size, &pos, &rec, &n) == 1; last = pos) {
        if (pos <= last || pos > size || rec < data || rec + n > data + size) abort();
        tb_event_step(rec, n, &step);
    }
    tb_event_step(data, size, &step);  /* the protobuf walk alone, without framing */
    return 0;
}
