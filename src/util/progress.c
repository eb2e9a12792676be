/* Progress on stderr; see progress.h. */
#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"

int progress_mode_auto(void) { return isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_LINES; }

void progress_begin(Progress *p, int mode, const char *label, double total, const char *unit) {
    memset(p, 0, sizeof *p);
    p->mode = mode;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->unit = unit;
    p->total = total;
    p->start = p->last = monotonic_s();
}

/* "1:05" or "2:03:04". */
static void clock_text(double s, char *buf, size_t size) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

int progress_text(Progress *p, double done, int final, char *buf, size_t size) {
    if (p->mode == PROGRESS_OFF || (final && !p->shown)) return PROGRESS_OFF;  /* a short stage stays quiet */
    double now = monotonic_s(), elapsed = now - p->start;
    if (!final && now - p->last < (p->mode == PROGRESS_BAR ? 0.2 : PROGRESS_LINE_SECONDS)) return PROGRESS_OFF;
    p->last = now;
    p->shown = !final;
    double rate = elapsed > 0 ? done / elapsed : 0;
    double eta = rate > 0 && p->total > done ? (p->total - done) / rate : 0;
    double frac = p->total > 0 ? done / p->total : 0;
    if (frac > 1) frac = 1;
    if (p->mode == PROGRESS_LINES) {
        if (p->total > 0)
            snprintf(buf, size, "%s: %.0f/%.0f %s (%.0f%%), %.1f %s/s, %s %.0f s", p->label, done, p->total, p->unit,
                     100 * frac, rate, p->unit, final ? "took" : "ETA", final ? elapsed : eta);
        else
            snprintf(buf, size, "%s: %.0f %s, %.1f %s/s, %.0f s", p->label, done, p->unit, rate, p->unit, elapsed);
        return PROGRESS_LINES;
    }
    char eta_text[32];
    clock_text(final ? elapsed : eta, eta_text, sizeof eta_text);
    if (p->total > 0) {
        char bar[21];
        int fill = (int)(frac * 20);
        for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '-';
        bar[20] = '\0';
        snprintf(buf, size, "%s [%s] %3.0f%%  %.0f/%.0f %s  %.1f %s/s  %s %s", p->label, bar, 100 * frac, done,
                 p->total, p->unit, rate, p->unit, final ? "took" : "ETA", eta_text);
    } else {
        snprintf(buf, size, "%s  %.0f %s  %.1f %s/s  %s", p->label, done, p->unit, rate, p->unit, eta_text);
    }
    return PROGRESS_BAR;
}

void progress_update(Progress *p, double done) {
    char buf[256];
    int how = progress_text(p, done, 0, buf, sizeof buf);
    if (how == PROGRESS_BAR) fprintf(stderr, "\r\033[K%s", buf);
    else if (how == PROGRESS_LINES) fprintf(stderr, "%s\n", buf);
}

void progress_end(Progress *p, double done) {
    char buf[256];
    int how = progress_text(p, done, 1, buf, sizeof buf);
    if (how == PROGRESS_BAR) fputs("\r\033[K", stderr);
    else if (how == PROGRESS_LINES) fprintf(stderr, "%s\n", buf);
}
