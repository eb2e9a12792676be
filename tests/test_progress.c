/* util/progress: when a bar or a plain line is due, and what it says. */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "util/progress.h"

Test(progress, bar_redraws_at_most_5_per_second_and_says_rate_and_eta) {
    Progress p;
    char buf[256];
    progress_begin(&p, PROGRESS_BAR, "features", 200, "texts");
    cr_expect_eq(progress_text(&p, 10, 0, buf, sizeof buf), PROGRESS_OFF, "drawn before 0.2 s");
    cr_expect_eq(progress_text(&p, 10, 1, buf, sizeof buf), PROGRESS_OFF, "a stage never shown ends quietly");
    nanosleep(&(struct timespec){0, 250000000L}, NULL);
    cr_assert_eq(progress_text(&p, 50, 0, buf, sizeof buf), PROGRESS_BAR);
    cr_expect(strstr(buf, "features [#####---------------]  25%  50/200 texts") && strstr(buf, "texts/s  ETA 0:0"),
              "%s", buf);
    cr_expect_eq(progress_text(&p, 60, 0, buf, sizeof buf), PROGRESS_OFF, "redrawn within 0.2 s");
    cr_expect_eq(progress_text(&p, 200, 1, buf, sizeof buf), PROGRESS_BAR, "the shown bar is cleared at the end");
    cr_expect(strstr(buf, "100%") && strstr(buf, "took"), "%s", buf);
}

Test(progress, lines_every_10_seconds_and_a_last_one) {
    Progress p;
    char buf[256];
    progress_begin(&p, PROGRESS_LINES, "predict", 0, "texts");
    nanosleep(&(struct timespec){0, 250000000L}, NULL);
    cr_expect_eq(progress_text(&p, 10, 0, buf, sizeof buf), PROGRESS_OFF, "a line before 10 s");
    p.last -= PROGRESS_LINE_SECONDS;  /* as if 10 s had passed since the last line */
    cr_assert_eq(progress_text(&p, 4096, 0, buf, sizeof buf), PROGRESS_LINES);
    cr_expect(!strncmp(buf, "predict: 4096 texts, ", 21) && !strchr(buf, '%') && !strstr(buf, "ETA"), "%s", buf);
    cr_expect_eq(progress_text(&p, 5000, 0, buf, sizeof buf), PROGRESS_OFF);
    cr_expect_eq(progress_text(&p, 5000, 1, buf, sizeof buf), PROGRESS_LINES, "a last line once one was shown");
    progress_begin(&p, PROGRESS_OFF, "x", 10, "steps");
    p.last -= 100;
    cr_expect_eq(progress_text(&p, 5, 0, buf, sizeof buf), PROGRESS_OFF);
}
