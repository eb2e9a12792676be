#include "train/export.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/albert.h"
#include "model/hub.h"
#include "pipeline/classifier.h"
#include "train/checkpoint.h"

/* Label names from the checkpoint's JSON array, malloc'ed; a label the data
 * never named (ids without a label list) is "LABEL_<id>", as transformers
 * names labels by default. */
static char **label_names(const CheckpointMeta *m, const char *path, int *n, AlbError *err) {
    json_t *a = m->label_names_json ? json_loads(m->label_names_json, 0, NULL) : NULL;
    size_t count = json_array_size(a);
    char **names = NULL;
    if (count < 2) {
        alb_fail(err, "%s: metadata label_names is not an array of at least 2 labels", path);
    } else {
        names = alb_xcalloc(count, sizeof(char *));
        for (size_t i = 0; i < count; i++) {
            const char *name = json_string_value(json_array_get(a, i));
            char fallback[32];
            snprintf(fallback, sizeof fallback, "LABEL_%zu", i);
            names[i] = alb_xstrdup(name && name[0] ? name : fallback);
        }
        *n = (int)count;
    }
    json_decref(a);
    return names;
}

/* max_length and random_encoder from the run's configuration (JSON). */
static int run_settings(const CheckpointMeta *m, const char *path, int *max_length, AlbError *err) {
    json_t *config = m->config_json ? json_loads(m->config_json, 0, NULL) : NULL;
    json_t *ml = json_object_get(config, "max_length");
    int rc = 0;
    if (!json_is_integer(ml)) rc = alb_fail(err, "%s: metadata config has no max_length", path);
    else *max_length = (int)json_integer_value(ml);
    json_decref(config);
    return rc;
}

static char *source_json(const ExportSpec *spec, const CheckpointMeta *m) {
    json_t *o = json_pack("{s:s, s:I, s:I, s:b}", "checkpoint", spec->checkpoint, "step", (json_int_t)m->step,
                          "epoch", (json_int_t)m->epoch, "final", m->final);
    if (spec->run_dir) json_object_set_new(o, "run", json_string(spec->run_dir));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int export_checkpoint(const ExportSpec *spec, const char *out_dir, AlbError *err) {
    CheckpointMeta m;
    if (checkpoint_read_meta(spec->checkpoint, &m, err)) return -1;
    int n_names = 0, max_length = 0, rc = -1;
    char **names = label_names(&m, spec->checkpoint, &n_names, err);
    const char *encoder = spec->encoder ? spec->encoder : m.encoder_id;
    char dir[4096];
    AlbertModel *model = NULL;
    SafeTensors head;
    int head_open = 0;
    if (!names || run_settings(&m, spec->checkpoint, &max_length, err)) goto done;
    if (!encoder || !encoder[0]) {
        alb_fail(err, "%s: no encoder_id in its metadata: give the encoder with --model", spec->checkpoint);
        goto done;
    }
    /* the encoder's dtype: the engine's; features files (engine unknown): the head's */
    AlbDtype dtype;
    if (alb_engine_dtype(m.engine, &dtype) && alb_dtype_parse(m.dtype, &dtype)) {
        alb_fail(err, "%s: checkpoint metadata names no dtype (engine '%s', dtype '%s')", spec->checkpoint, m.engine,
                 m.dtype);
        goto done;
    }
    if (hub_resolve(encoder, "models", dir, sizeof dir, err) || albert_load(&model, dir, dtype, err)) goto done;
    if (m.encoder_hash && m.encoder_hash[0] && strcmp(m.encoder_hash, albert_weights_hash(model))) {
        alb_fail(err, "%s was trained on encoder %s (hash %s), but %s has hash %s", spec->checkpoint,
                 m.encoder_id ? m.encoder_id : "?", m.encoder_hash, dir, albert_weights_hash(model));
        goto done;
    }
    if (m.engine[0] && strcmp(m.engine, albert_engine(model))) {
        alb_fail(err, "%s: its head learnt from %s features, but this machine computes %s features: they differ in "
                      "their last bits, refusing to export a classifier that would mix them",
                 spec->checkpoint, m.engine, albert_engine(model));
        goto done;
    }
    if (st_open(&head, spec->checkpoint, err)) goto done;
    head_open = 1;
    char spiece[4200], *source = source_json(spec, &m);
    snprintf(spiece, sizeof spiece, "%s/spiece.model", dir);
    ClassifierDirSpec cs = {
        .encoder_dir = dir, .spiece_path = spiece, .head = &head, .labels = (const char *const *)names, .num_labels = n_names,
        .dtype = alb_dtype_name(dtype), .engine = m.engine, .max_length = max_length, .encoder_id = encoder,
        .encoder_hash = albert_weights_hash(model), .random_encoder = m.random_encoder, .source_json = source,
    };
    rc = classifier_dir_write(&cs, out_dir, err);
    free(source);
done:
    if (head_open) st_close(&head);
    if (model) albert_free(model);
    for (int i = 0; i < n_names; i++) free(names[i]);
    free(names);
    checkpoint_meta_free(&m);
    return rc;
}
