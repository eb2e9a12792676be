/* Feature cache: the frozen encoder's [CLS] features, computed once per text.
 *
 * Key of a text = XXH3-128 of (albert_weights_hash, tokenizer_hash, engine,
 * max_length, text), engine being albert_engine ("bfloat16/emulated",
 * "int8/onednn-avx512_core_vnni", ...: the dtype and the engine variant, whose
 * features may differ in their last bits, so that those of two engines never
 * mix: another engine's file is another namespace, a miss). One safetensors
 * file per namespace (the same four fields without the text) in cache_dir,
 * named features-<XXH3-128 of the namespace>.safetensors:
 *   keys     [N,2] I64  the 128-bit text keys (low, high halves)
 *   features [N,H] F32
 *   __metadata__: format_version, weights_hash, tokenizer_hash, engine,
 *                 max_length, hidden, count, checksum (XXH3-128 of the keys
 *                 bytes then the features bytes, 32 hex).
 * A file that fails any check (unreadable, other namespace, shapes, checksum,
 * duplicate keys) is reported through log() as a warning with the reason and
 * rebuilt; it is never trusted. Writes are atomic (st_writer_save).
 *
 * feature_cache_get: features for n texts (duplicates encoded once), the
 * missing ones tokenized with max_length truncation and encoded in
 * length-sorted batches (pipeline/encode.h); the file is rewritten every
 * save_every_s seconds of encoding (so a crash loses at most that much work)
 * and at the end when anything was computed. New entries are kept in encoding
 * order so the valid ones are always a prefix: saves write the table as it is,
 * and the result hands the table over: memory holds each feature once.
 *
 * Under mpirun (util/dist.h) feature_cache_get is collective: every rank calls
 * it with the same texts and options. Rank 0 alone reads and writes the file;
 * it sends the others the list of texts to encode; each rank tokenizes a share
 * of them, the token counts are exchanged and every rank makes the same plan
 * (encode_make_plan: the single-process batches dealt to the ranks, each rank
 * tokenizing its own batches' texts again), and rank 0 lays the new entries out in the order it gathers them, so
 * the valid ones stay a prefix and a save (every save_every_s, when stopped,
 * after a failure) holds whole batches. Greedy batching is stable under
 * removing whole batches, so a later run, with any number of ranks, encodes
 * the rest in the batches it had: the same features. At the end rank 0 puts
 * the new entries back in length order, in place: the file is the
 * single-process bytes. (Laying them out in length order as they arrive would
 * spare that pass, but the valid entries would then no longer be a prefix,
 * and every save during the pass would have to copy them.)
 * The other ranks get an empty res (their stats count their own share). */
#ifndef ALB_PIPELINE_FEATURE_CACHE_H
#define ALB_PIPELINE_FEATURE_CACHE_H

#include <signal.h>
#include "model/albert.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

#define FEATURE_CACHE_FORMAT_VERSION "2"  /* 2: the engine replaces the dtype */

typedef struct {
    const char *cache_dir;          /* created when missing */
    AlbertModel *model;
    const AlbertTokenizer *tok;
    int max_length;                 /* tokens per text, [CLS]/[SEP] included */
    int batch_size;                 /* sequences per forward, at most */
    int max_tokens;                 /* padded tokens per forward, at most (0: no limit): bounds activations */
    double save_every_s;            /* 0: after every batch */
    /* optional hooks (ctx is passed back) */
    void (*log)(void *ctx, int is_warning, const char *msg);
    /* after every batch: texts done / to do, tokens done, seconds of encoding */
    void (*progress)(void *ctx, int done, int total, long tokens, double seconds);
    void *ctx;
    /* when set and nonzero (e.g. by a signal handler), the pass stops after
     * the current batch, saves what was computed, and feature_cache_get returns 1 */
    const volatile sig_atomic_t *stop;
} FeatureCacheOptions;

typedef struct {
    int n_texts, n_distinct;  /* asked for, distinct among them */
    int n_cached;             /* distinct texts found in the cache file */
    int n_computed;           /* distinct texts encoded now */
    long tokens_computed;
    double seconds;           /* encoding time */
    char path[4096];          /* the namespace's file */
} FeatureCacheStats;

typedef struct {
    int n_entries, H;
    float *features;   /* [n_entries, H]: the namespace's entries (may hold texts not asked for) */
    int *rows;         /* [n]: the entry of each text */
} FeatureCacheResult;

/* 0: features for every text in res (rank 0; empty on the other ranks);
 * 1: stopped through o->stop (the work done so far is saved; res is empty);
 * -1: error (on rank 0, the batches gathered before it are saved). */
int feature_cache_get(const FeatureCacheOptions *o, const char *const *texts, int n, FeatureCacheResult *res,
                      FeatureCacheStats *stats, AlbError *err);
/* out [count, H] = the features of texts first .. first + count - 1. */
void feature_cache_gather(const FeatureCacheResult *r, int first, int count, float *out);
void feature_cache_result_free(FeatureCacheResult *r);

/* The namespace a cache file must carry to be trusted. */
typedef struct {
    const char *weights_hash, *tokenizer_hash, *engine;  /* engine: albert_engine's */
    int max_length, hidden;
} FeatureCacheNamespace;

/* Checks a cache file's bytes as feature_cache_get does before trusting it
 * (the fuzz target's entry): 0 and the entry count, or -1 with the reason. */
int feature_cache_validate(const void *buf, size_t len, const FeatureCacheNamespace *ns, const char *name,
                           long *n_entries, AlbError *err);

/* The cache directory a user gets by default: $XDG_CACHE_HOME/albertc, else
 * $HOME/.cache/albertc. -1 when neither variable is set (or out is too small). */
int feature_cache_default_dir(char *out, size_t out_size);

/* The namespace's file path for these options (tests corrupt it). */
void feature_cache_path(const FeatureCacheOptions *o, char *out, size_t out_size);

#endif
