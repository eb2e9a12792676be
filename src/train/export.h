/* A classifier directory (pipeline/classifier.h) from a training checkpoint:
 * the checkpoint's head tensors, label names, dtype and max_length, with the
 * encoder it was trained on. What `albertc export` does, and what train does
 * with its final checkpoint (<project_dir>/model/). */
#ifndef ALB_TRAIN_EXPORT_H
#define ALB_TRAIN_EXPORT_H

#include "util/error.h"

typedef struct {
    const char *checkpoint;     /* a checkpoint file (train/checkpoint.h) */
    const char *encoder;        /* directory or hub id; NULL: the checkpoint's encoder_id */
    const char *run_dir;        /* recorded as the source's run (may be NULL) */
} ExportSpec;

/* The encoder is loaded to check that its hash is the checkpoint's
 * encoder_hash (a head trained on other features would be silently wrong). */
int export_checkpoint(const ExportSpec *spec, const char *out_dir, AlbError *err);

#endif
