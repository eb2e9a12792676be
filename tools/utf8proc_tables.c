/* utf8proc's answers for every Unicode scalar value, in the format of
 * tools/hf_tokenize.js's tables, for tests/oracle/check_lowercase.sh:
 *   utf8proc_tables lower   "XXXX<TAB>YYYY" where utf8proc_tolower changes XXXX
 *   utf8proc_tables strip   "XXXX<TAB>YYYY ZZZZ" (or "-" when empty) where NFKD
 *                           followed by dropping General_Category M changes XXXX */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int is_mark(utf8proc_int32_t cp) {
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

int main(int argc, char **argv) {
    int strip = argc == 2 && strcmp(argv[1], "strip") == 0;
    if (argc != 2 || (!strip && strcmp(argv[1], "lower") != 0)) {
        fprintf(stderr, "usage: utf8proc_tables lower|strip\n");
        return 2;
    }
    utf8proc_int32_t buf[32];
    for (utf8proc_int32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        if (!strip) {
            utf8proc_int32_t lower = utf8proc_tolower(cp);
            if (lower != cp) printf("%04X\t%04X\n", (unsigned)cp, (unsigned)lower);
            continue;
        }
        int last = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 32, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &last);
        if (n < 0 || n > 32) return 1;
        int kept = 0;
        for (utf8proc_ssize_t i = 0; i < n; i++)
            if (!is_mark(buf[i])) buf[kept++] = buf[i];
        if (kept == 1 && buf[0] == cp) continue;
        printf("%04X\t", (unsigned)cp);
        if (kept == 0) printf("-");
        for (int i = 0; i < kept; i++) printf(i ? " %04X" : "%04X", (unsigned)buf[i]);
        printf("\n");
    }
    return 0;
}
