/* Wall time for progress and summaries: seconds on the monotonic clock, which
 * setting the date cannot move. Only differences between two calls mean anything. */
#ifndef ALB_UTIL_CLOCK_H
#define ALB_UTIL_CLOCK_H

#include <time.h>

static inline double monotonic_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
