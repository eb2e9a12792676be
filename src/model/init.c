/* Random ALBERT initialisation; see init.h. */
#include "model/init.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "util/atomic_dir.h"
#include "util/fileio.h"
#include "util/splitmix.h"

/* ------------------------------------------------------------ the generator */

typedef struct {
    uint64_t s[4];
    int has_spare;
    double spare;
} Rng;

static void rng_seed(Rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
    r->has_spare = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro256ss(Rng *r) {
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in (0, 1]: never 0, so log() is finite */
static double uniform(Rng *r) { return ((double)(xoshiro256ss(r) >> 11) + 1.0) * 0x1.0p-53; }

static double normal(Rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double radius = sqrt(-2.0 * log(uniform(r))), angle = 2.0 * M_PI * uniform(r);
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

/* ------------------------------------------------------------ the tensors */

typedef enum { INIT_NORMAL, INIT_ZERO, INIT_ONE } InitKind;

typedef struct {
    StWriter *w;
    Rng rng;
    float std;
    float **bufs;
    int n_bufs;
} Init;

static float *add_tensor(Init *in, const char *name, int64_t rows, int64_t cols, InitKind kind) {
    int ndim = cols ? 2 : 1;
    size_t n = (size_t)rows * (size_t)(cols ? cols : 1);
    float *data = alb_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        data[i] = kind == INIT_ONE ? 1.0f : kind == INIT_ZERO ? 0.0f : (float)(in->std * normal(&in->rng));
    int64_t shape[2] = {rows, cols};
    char full[300];
    snprintf(full, sizeof full, "albert.%s", name);
    st_writer_add_borrowed(in->w, full, ST_F32, ndim, shape, data);
    in->bufs = alb_xrealloc(in->bufs, (size_t)(in->n_bufs + 1) * sizeof *in->bufs);
    in->bufs[in->n_bufs++] = data;
    return data;
}

static void add_linear(Init *in, const char *prefix, int in_dim, int out_dim) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_tensor(in, name, out_dim, in_dim, INIT_NORMAL);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add_tensor(in, name, out_dim, 0, INIT_ZERO);
}

static void add_norm(Init *in, const char *prefix, int n) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_tensor(in, name, n, 0, INIT_ONE);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add_tensor(in, name, n, 0, INIT_ZERO);
}

int albert_init_weights(const AlbertConfig *c, uint64_t seed, const char *path, AlbError *err) {
    Init in = {.w = st_writer_new(), .std = c->initializer_range};
    rng_seed(&in.rng, seed);
    int E = c->embedding_size, H = c->hidden_size, inter = c->intermediate_size;

    float *word = add_tensor(&in, "embeddings.word_embeddings.weight", c->vocab_size, E, INIT_NORMAL);
    if (c->pad_token_id >= 0 && c->pad_token_id < c->vocab_size)
        memset(word + (size_t)c->pad_token_id * E, 0, (size_t)E * sizeof(float));
    add_tensor(&in, "embeddings.position_embeddings.weight", c->max_position_embeddings, E, INIT_NORMAL);
    add_tensor(&in, "embeddings.token_type_embeddings.weight", c->type_vocab_size, E, INIT_NORMAL);
    add_norm(&in, "embeddings.LayerNorm", E);
    add_linear(&in, "encoder.embedding_hidden_mapping_in", E, H);
    for (int g = 0; g < c->num_hidden_groups; g++) {
        for (int i = 0; i < c->inner_group_num; i++) {
            char p[160], name[220];
            snprintf(p, sizeof p, "encoder.albert_layer_groups.%d.albert_layers.%d", g, i);
            static const char *const attn[] = {"attention.query", "attention.key", "attention.value",
                                               "attention.dense"};
            for (int j = 0; j < 4; j++) {
                snprintf(name, sizeof name, "%s.%s", p, attn[j]);
                add_linear(&in, name, H, H);
            }
            snprintf(name, sizeof name, "%s.attention.LayerNorm", p);
            add_norm(&in, name, H);
            snprintf(name, sizeof name, "%s.ffn", p);
            add_linear(&in, name, H, inter);
            snprintf(name, sizeof name, "%s.ffn_output", p);
            add_linear(&in, name, inter, H);
            snprintf(name, sizeof name, "%s.full_layer_layer_norm", p);
            add_norm(&in, name, H);
        }
    }
    add_linear(&in, "pooler", H, H);
    st_writer_set_meta(in.w, "format", "pt");

    int rc = st_writer_save(in.w, path, err);
    st_writer_free(in.w);
    for (int i = 0; i < in.n_bufs; i++) free(in.bufs[i]);
    free(in.bufs);
    return rc;
}

/* The files of a model directory, in the order they are written. */
static const char *const MODEL_FILES[] = {"config.json", "model.safetensors", "spiece.model"};
enum { N_MODEL_FILES = 3 };

static int write_model_files(const AlbertConfig *c, uint64_t seed, const char *dir, const char *spiece,
                             size_t spiece_len, AlbError *err) {
    int rc = 0;
    for (int i = 0; i < N_MODEL_FILES && !rc; i++) {
        char *path = alb_path_join(dir, MODEL_FILES[i]);
        if (i == 0) rc = albert_config_save(c, path, err);
        else if (i == 1) rc = albert_init_weights(c, seed, path, err);
        else if (spiece) rc = atomic_write_file(path, spiece, spiece_len, err);
        free(path);
    }
    return rc;
}

/* Moves the written files from staging into dir (rename: the data is already
 * on disk), then syncs dir. */
static int move_model_files(const char *staging, const char *dir, AlbError *err) {
    int rc = 0;
    for (int i = 0; i < N_MODEL_FILES && !rc; i++) {
        char *from = alb_path_join(staging, MODEL_FILES[i]), *to = alb_path_join(dir, MODEL_FILES[i]);
        if (alb_file_exists(from) && rename(from, to) != 0)
            rc = alb_fail(err, "%s: cannot move into place: %s", to, strerror(errno));
        free(from);
        free(to);
    }
    if (!rc && alb_fsync_dir(dir) != 0) rc = alb_fail(err, "%s: cannot sync the directory: %s", dir, strerror(errno));
    return rc;
}

int albert_init_model_dir(const AlbertConfig *c, uint64_t seed, const char *dir, const char *tokenizer_path,
                          AlbError *err) {
    if (albert_config_check(c, dir, err)) return -1;
    char *spiece = NULL;
    size_t spiece_len = 0;
    /* read the tokenizer first: a bad path must not leave a half-made directory */
    if (tokenizer_path && alb_read_file(tokenizer_path, &spiece, &spiece_len, err)) return -1;
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0) {  /* a new DIR: written beside it, renamed into place whole */
        AtomicDir d;
        rc = atomic_dir_open(&d, dir, err);
        if (!rc && write_model_files(c, seed, d.tmp_path, spiece, spiece_len, err)) {
            atomic_dir_abort(&d);
            rc = -1;
        } else if (!rc) {
            rc = atomic_dir_commit(&d, err);
        }
    } else if (!S_ISDIR(st.st_mode)) {
        rc = alb_fail(err, "%s: exists and is not a directory", dir);
    } else {  /* an existing DIR keeps its other files: staged inside it (its filesystem), moved in */
        size_t n = strlen(dir) + 64;
        char *staging = alb_xmalloc(n);
        snprintf(staging, n, "%s/.init-model.tmp.%ld", dir, (long)getpid());
        if (mkdir(staging, 0777) != 0)
            rc = alb_fail(err, "%s: cannot create: %s", staging, strerror(errno));
        else
            rc = write_model_files(c, seed, staging, spiece, spiece_len, err) || move_model_files(staging, dir, err)
                     ? -1 : 0;
        alb_rmtree(staging);
        free(staging);
    }
    free(spiece);
    return rc;
}
