/* TensorBoard event files: the run's scalars as TensorBoard (and W&B's
 * `wandb sync`) read them.
 *
 * A file <dir>/events.out.tfevents.<unix time>.<host>.<pid>.<n> is a TFRecord
 * stream: each record is
 *   uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes,
 *   length bytes of data, uint32 masked CRC-32C of the data,
 * mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8. The data is a
 * tensorflow.Event protobuf (tensorboard/compat/proto/event.proto), written
 * by hand for the few fields used:
 *   Event   1 wall_time (double), 2 step (int64), 3 file_version (string),
 *           5 summary (Summary)
 *   Summary 1 value (Value): 1 tag, 2 simple_value (float),
 *           9 metadata (SummaryMetadata: 1 plugin_data {1 plugin_name}),
 *           8 tensor (TensorProto: 1 dtype = DT_STRING 7, 2 tensor_shape {},
 *           8 string_val)   (a text summary, TensorBoard's "text" plugin)
 * The first record is {wall_time, file_version: "brain.Event:2"}.
 * simple_value is a float: a scalar is the metric's double rounded to float.
 *
 * Crashes: a file is an append-only log. Records are written whole by one
 * fwrite and fsync'ed by tb_flush, so a kill leaves at most one torn record
 * at the end; TensorBoard's reader stops at it (it reads a short record as
 * "not written yet"), and tb_truncate_dir removes it on resume. */
#ifndef ALB_TRAIN_TB_EVENTS_H
#define ALB_TRAIN_TB_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "util/error.h"

#define TB_DIR_NAME "tensorboard"

typedef struct {
    FILE *fp;
    char *path;
} TbWriter;

/* Makes dir when missing, creates a new event file there (a name no file has)
 * and writes its file_version record. */
int tb_open(TbWriter *w, const char *dir, AlbError *err);
/* One record each, buffered until tb_flush. */
int tb_scalar(TbWriter *w, long step, const char *tag, double value, AlbError *err);
int tb_text(TbWriter *w, long step, const char *tag, const char *text, AlbError *err);
/* fflush + fsync: what was written survives a crash. */
int tb_flush(TbWriter *w, AlbError *err);
void tb_close(TbWriter *w);

/* For a resume at keep_step: rewrites (atomically) each event file of dir that
 * holds something else than whole, CRC-valid records of steps <= keep_step
 * (records of later steps, which the resumed run recomputes, and a torn or
 * corrupt tail with everything after it). A missing dir is not an error. */
int tb_truncate_dir(const char *dir, long keep_step, AlbError *err);

/* Reader. The record at *pos of buf[0..len): 1 with its data (pointing into
 * buf) and *pos moved past it; 0 at the end; -1 for a torn record (shorter
 * than its header says) or a CRC mismatch. */
int tb_record_next(const unsigned char *buf, size_t len, size_t *pos, const unsigned char **data, size_t *n);
/* An Event's step (0 when absent, as protobuf defaults it): 0, or -1 when data
 * is not a well-formed protobuf message. */
int tb_event_step(const unsigned char *data, size_t n, int64_t *step);

#endif
