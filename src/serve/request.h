/* The JSON bodies of serve's POST routes, as text-embeddings-inference (TEI
 * v1.9) takes them, parsed and checked before anything is tokenized.
 *
 *   /predict   {"inputs": str | [str] | [str, str] | [[str] | [str, str], ...], "truncate": bool,
 *               "raw_scores": bool}
 *   /embed     {"inputs": str | [str], "truncate": bool, "normalize": bool}
 *   /tokenize  {"inputs": str | [str], "add_special_tokens": bool}
 *   /decode    {"ids": [int] | [[int]], "skip_special_tokens": bool}
 *
 * A bare string (or a flat id list) is one input, a list a batch (`batched`),
 * except on /predict, which reads inputs as TEI's PredictInput does: a list of
 * strings is ONE input, a text ([str]) or a sentence pair ([text, text_pair]:
 * [CLS] text [SEP] text_pair [SEP], token types 0 then 1), and a batch is a
 * list of such lists. As TEI, /predict answers one input unwrapped and a batch
 * with a list of answers; the other routes always answer a list. Keys TEI
 * knows but that change nothing here (truncation_direction, prompt_name, ...)
 * are ignored, as serde ignores unknown keys.
 *
 * Any bytes are accepted as a body (the fuzz target's entry); a refusal is one
 * line naming the field, with TEI's error kind: Empty for no inputs (HTTP 400),
 * Validation for everything else (422). */
#ifndef ALB_SERVE_REQUEST_H
#define ALB_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include "util/error.h"

typedef enum { ROUTE_PREDICT, ROUTE_EMBED, ROUTE_TOKENIZE, ROUTE_DECODE } ServeRoute;

typedef enum { REQ_OK = 0, REQ_VALIDATION = -1, REQ_EMPTY = -2 } RequestStatus;

typedef struct {
    ServeRoute route;
    int batched;             /* inputs was a list: one answer per input, in a list */
    int n;                   /* inputs, >= 1 */
    char **texts;            /* [n] (not /decode), copies; may hold NUL bytes */
    size_t *lens;            /* [n] */
    char **pairs;            /* [n] (/predict): a pair's second text, or NULL */
    size_t *pair_lens;       /* [n] */
    int32_t **ids;           /* [n] (/decode), each in [0, vocab_size) */
    int *n_ids;              /* [n] */
    int truncate;            /* -1: not given (the server's --auto-truncate decides) */
    int raw_scores, normalize, add_special_tokens, skip_special_tokens;
} ServeRequest;

/* Parses body for route; vocab_size bounds /decode's ids. On REQ_VALIDATION or
 * REQ_EMPTY err holds the reason and *r holds nothing to free. */
RequestStatus serve_request_parse(ServeRequest *r, ServeRoute route, const char *body, size_t len, int vocab_size,
                                  AlbError *err);
void serve_request_free(ServeRequest *r);

#endif
