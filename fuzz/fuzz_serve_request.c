/* libFuzzer: a request body of serve's POST routes (serve/request.h), the
 * first byte choosing the route. Checks the contract: accepted bodies hold
 * 1..n inputs (ids inside the vocabulary, texts and /predict's pair texts
 * NUL-terminated), refusals are one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

#define VOCAB 30000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    ServeRoute route = (ServeRoute)(data[0] % 4);
    ServeRequest r;
    AlbError err;
    RequestStatus st = serve_request_parse(&r, route, (const char *)data + 1, size - 1, VOCAB, &err);
    if (st == REQ_OK) {
        if (r.n < 1 || (!r.batched && r.n != 1)) abort();
        for (int i = 0; i < r.n; i++) {
            if (route == ROUTE_DECODE) {
                for (int j = 0; j < r.n_ids[i]; j++)
                    if (r.ids[i][j] < 0 || r.ids[i][j] >= VOCAB) abort();
            } else if (!r.texts[i] || r.texts[i][r.lens[i]] != 0) {
                abort();
            } else if ((r.pairs != NULL) != (route == ROUTE_PREDICT) ||
                       (r.pairs && r.pairs[i] && r.pairs[i][r.pair_lens[i]] != 0)) {
                abort();
            }
        }
        serve_request_free(&r);
    } else if ((st != REQ_VALIDATION && st != REQ_EMPTY) || !err.msg[0] || strchr(err.msg, '\n')) {
        abort();
    }
    return 0;
}
