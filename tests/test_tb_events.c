/* util/crc32c and train/tb_events: the checksum against its published check
 * value, the SSE4.2 path against the table, and the record reader's answers
 * on a file cut at every length (tests/oracle/check_tensorboard.sh reads the
 * files with an independent decoder). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "train/tb_events.h"
#include "util/crc32c.h"
#include "util/fileio.h"

TestSuite(tb_events, .init = test_tmp_setup, .fini = test_tmp_teardown);

Test(tb_events, crc32c_check_value_and_both_paths) {
    /* The CRC-32C check value (RFC 3720 B.4 family; "123456789" -> 0xE3069283). */
    cr_expect_eq(crc32c_update(0, "123456789", 9), 0xE3069283u);
    cr_expect_eq(crc32c_update_portable(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[300];
    for (int i = 0; i < 300; i++) buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++)  /* unaligned starts, every tail length */
        for (size_t n = 0; n + off <= 300; n += 7) {
            uint32_t whole = crc32c_update(0, buf + off, n);
            cr_assert_eq(whole, crc32c_update_portable(0, buf + off, n), "off %zu n %zu", off, n);
            cr_assert_eq(crc32c_update(crc32c_update(0, buf + off, n / 2), buf + off + n / 2, n - n / 2), whole);
        }
}

/* The records of path, counted; -1 when the reader stops on a torn or bad one. */
static int count_records(const char *data, size_t len, int64_t *last_step) {
    size_t pos = 0, n;
    const unsigned char *rec;
    int count = 0, r;
    while ((r = tb_record_next((const unsigned char *)data, len, &pos, &rec, &n)) == 1) {
        cr_assert_eq(tb_event_step(rec, n, last_step), 0);
        count++;
    }
    return r < 0 ? -1 : count;
}

Test(tb_events, torn_and_corrupt_records_are_cut_on_resume) {
    AlbError err;
    const char *dir = test_tmp_path("tb");
    TbWriter w;
    cr_assert_eq(tb_open(&w, dir, &err), 0, "%s", err.msg);
    char *path = alb_xstrdup(w.path);
    for (long step = 1; step <= 4; step++) cr_assert_eq(tb_scalar(&w, step, "train/loss", 1.0 / step, &err), 0);
    cr_assert_eq(tb_text(&w, 4, "config", "```\n{}\n```", &err), 0);
    cr_assert_eq(tb_flush(&w, &err), 0);
    tb_close(&w);
    char *data;
    size_t len;
    cr_assert_eq(alb_read_file(path, &data, &len, &err), 0);
    int64_t step;
    cr_assert_eq(count_records(data, len, &step), 6);
    cr_expect_eq(step, 4);
    /* A file cut anywhere inside its last record reads as torn, never as a shorter valid one. */
    size_t last_start = len;
    for (size_t cut = len - 1; cut > 0; cut--) {
        int c = count_records(data, cut, &step);
        if (c == 5) {
            last_start = cut;
            break;
        }
        cr_assert_eq(c, -1, "cut at %zu", cut);
    }
    cr_assert_lt(last_start, len);
    data[len - 1] ^= 1;  /* a flipped bit in the last record's CRC */
    cr_expect_eq(count_records(data, len, &step), -1);
    /* tb_truncate_dir drops the corrupt tail, then the steps after keep_step. */
    cr_assert_eq(atomic_write_file(path, data, len, &err), 0);
    cr_assert_eq(tb_truncate_dir(dir, 10, &err), 0, "%s", err.msg);
    free(data);
    cr_assert_eq(alb_read_file(path, &data, &len, &err), 0);
    cr_expect_eq(len, last_start);
    cr_expect_eq(count_records(data, len, &step), 5);
    free(data);
    cr_assert_eq(tb_truncate_dir(dir, 2, &err), 0);
    cr_assert_eq(alb_read_file(path, &data, &len, &err), 0);
    cr_expect_eq(count_records(data, len, &step), 3);  /* file_version (step 0), steps 1 and 2 */
    cr_expect_eq(step, 2);
    free(data);
    free(path);
    cr_expect_eq(tb_truncate_dir(test_tmp_path("missing"), 2, &err), 0);
}
