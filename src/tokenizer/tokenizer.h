/* The ALBERT tokenizer: token ids identical to Hugging Face's AlbertTokenizerFast.
 *
 * Reads spiece.model (SentencePiece unigram ModelProto) and runs the fast
 * tokenizer's pipeline (tokenizer.json as transformers' AlbertConverter
 * builds it): literal special tokens, `` and '' -> ", NFKD, drop marks,
 * lower-case, the precompiled charsmap, Unicode whitespace split, Metaspace,
 * unigram Viterbi with the digit-comma rule, [CLS] ... [SEP].
 * Where the slow (SentencePiece + Python) path differs, fast is the target.
 *
 * Any bytes are accepted as text (invalid UTF-8 becomes U+FFFD). A loaded
 * tokenizer is read-only: encode/decode may run on many threads at once.
 * Encoding overwrites *out, reusing its buffers (start from TokenIds x = {0}). */
#ifndef ALB_TOKENIZER_TOKENIZER_H
#define ALB_TOKENIZER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "tokenizer/utf8.h"
#include "util/error.h"

typedef struct AlbertTokenizer AlbertTokenizer;

typedef struct {
    int32_t *ids;
    int32_t *type_ids;   /* token_type_ids (0 for A, 1 for B) */
    ByteSpan *spans;     /* tokenizer_encode_spans' (else {0, 0}): the bytes of the text each id came from */
    int n;
    int cap;
} TokenIds;

int tokenizer_load(AlbertTokenizer **out, const char *spiece_path, AlbError *err);
/* The same from the file's bytes in memory; `name` stands for the file in errors. */
int tokenizer_load_buffer(AlbertTokenizer **out, const void *data, size_t len, const char *name, AlbError *err);
void tokenizer_free(AlbertTokenizer *t);
/* A hash of the model file: the tokenizer's identity for caches. */
const char *tokenizer_hash(const AlbertTokenizer *t);
int tokenizer_vocab_size(const AlbertTokenizer *t);
int tokenizer_cls_id(const AlbertTokenizer *t);
int tokenizer_sep_id(const AlbertTokenizer *t);
int tokenizer_pad_id(const AlbertTokenizer *t);

/* [CLS] text [SEP]; max_length > 0 truncates the text side, keeping the
 * specials: at most max_length ids in all. As the engine does, a max_length
 * below the specials' count (1 here, 1 or 2 for a pair) truncates nothing
 * (its max_length - specials wraps around); only the early stop of each text
 * at max_length tokens applies (tokenizer.c, stop_here). */
void tokenizer_encode(const AlbertTokenizer *t, const char *text, size_t len, int max_length, TokenIds *out);
/* tokenizer_encode, and out->spans[i]: the bytes [start, end) of text that id
 * i came from, as the engine's Encoding.offsets gives them (byte offsets, what
 * TEI's /tokenize answers as start/stop): read through the normalizer's
 * alignments (normalize.h), so a piece of a character that expands covers the
 * whole character, the "▁" of a word covers its first character, a special
 * token found in the text covers it (with the whitespace [MASK] strips), and a
 * U+FFFD that replaced invalid bytes covers them. [CLS] and [SEP]: {0, 0}. */
void tokenizer_encode_spans(const AlbertTokenizer *t, const char *text, size_t len, int max_length, TokenIds *out);
/* [CLS] a [SEP] b [SEP] with type ids 0..0 1..1; truncation longest-first to
 * max_length ids in all (max_length 1 and 2: see above). */
void tokenizer_encode_pair(const AlbertTokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                           int max_length, TokenIds *out);
const char *tokenizer_piece(const AlbertTokenizer *t, int id);
/* ids back to text ("▁" -> space, specials skipped when skip_special). malloc'ed. */
char *tokenizer_decode(const AlbertTokenizer *t, const int32_t *ids, int n, int skip_special);

void token_ids_free(TokenIds *ids);

#endif
