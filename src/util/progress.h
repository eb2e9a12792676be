/* Progress of a long stage (feature pass, training, embed, predict, bench),
 * drawn on stderr so that stdout stays the command's output.
 *
 *   PROGRESS_BAR    stderr is a terminal: one line redrawn in place (\r) at
 *                   most 5 times a second, e.g.
 *                   features [########------------]  41%  5400/13083 texts  118 texts/s  ETA 1:05
 *   PROGRESS_LINES  stderr is a file or a pipe (a log, CI): a plain line at
 *                   most every PROGRESS_LINE_SECONDS, and one at the end, e.g.
 *                   features: 5400/13083 texts (41%), 118 texts/s, ETA 65 s
 *   PROGRESS_OFF    nothing.
 * A total of 0 means unknown (a stream): no bar, percentage or ETA. The rate
 * is the mean since progress_begin. A stage shorter than the first interval
 * shows nothing at all (no final line either): quick commands stay quiet. */
#ifndef ALB_UTIL_PROGRESS_H
#define ALB_UTIL_PROGRESS_H

#include <stddef.h>

enum { PROGRESS_OFF, PROGRESS_BAR, PROGRESS_LINES };
#define PROGRESS_LINE_SECONDS 10.0

/* PROGRESS_BAR when stderr is a terminal, else PROGRESS_LINES. */
int progress_mode_auto(void);

typedef struct {
    int mode;
    char label[64];
    const char *unit;
    double total, start, last;
    int shown;      /* something was shown (and, for BAR, is on screen) */
} Progress;

void progress_begin(Progress *p, int mode, const char *label, double total, const char *unit);
/* When it is time to show something (always when final): its text into buf,
 * and PROGRESS_BAR (redraw in place) or PROGRESS_LINES (a line of its own);
 * otherwise PROGRESS_OFF. For callers that print through a logger. */
int progress_text(Progress *p, double done, int final, char *buf, size_t size);
/* progress_text, drawn on stderr. */
void progress_update(Progress *p, double done);
/* The final state: a last line (LINES), or the bar cleared (BAR). */
void progress_end(Progress *p, double done);

#endif
