/* The run report: one self-contained HTML page about a training run, and its
 * curves as SVG files for papers and slides.
 *
 * Reads from run_dir (what `albertc train` leaves in <project_dir>):
 *   metrics.jsonl        required: train/loss, val/loss, val/accuracy by step
 *   run.json             optional (RUN_INFO_NAME, written by train at its end):
 *                        configuration, dataset sizes, encoder, dtype, hardware,
 *                        timings, random_encoder
 *   eval/summary.json, eval/classification_report.json,
 *   eval/confusion_matrix.csv, eval/errors.jsonl   optional (train's eval)
 * Writes out_html (atomically) and beside it, named from its stem,
 *   <stem>.loss.svg, <stem>.val_accuracy.svg, <stem>.learning_rate.svg.
 *
 * The page inlines Chart.js and chartjs-chart-matrix (third_party/, MIT,
 * embedded in the binary at build time), its CSS and the run's data as JSON:
 * it opens from disk with no network. Curves with more than REPORT_MAX_POINTS
 * points are downsampled: the steps are cut into REPORT_MAX_POINTS / 2 equal
 * buckets and each keeps its lowest and its highest point (in step order), so
 * spikes survive and the page stays small at any run length (the page says
 * when it did so). A random encoder (run.json or eval/summary.json) puts a
 * warning at the top. */
#ifndef ALB_REPORT_RUN_REPORT_H
#define ALB_REPORT_RUN_REPORT_H

#include "util/error.h"

#define RUN_INFO_NAME "run.json"
#define REPORT_NAME "report.html"
#define REPORT_MAX_POINTS 2000

/* out_html NULL: <run_dir>/report.html. */
int run_report_write(const char *run_dir, const char *out_html, AlbError *err);

#endif
