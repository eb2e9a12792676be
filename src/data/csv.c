#include "data/csv.h"

#include <stdlib.h>
#include <string.h>
#include "util/error.h"

/* Fields are (start, length) into a scratch buffer holding the unquoted bytes. */
static void rec_putc(CsvRecord *r, char c) {
    if (r->len == r->cap) r->buf = alb_xrealloc(r->buf, r->cap = r->cap ? 2 * r->cap : 256);
    r->buf[r->len++] = c;
}

static void rec_end_field(CsvRecord *r, size_t field_start) {
    if (r->n == r->fcap) {
        r->fcap = r->fcap ? 2 * r->fcap : 8;
        r->start = alb_xrealloc(r->start, sizeof(size_t) * (size_t)r->fcap);
        r->flen = alb_xrealloc(r->flen, sizeof(size_t) * (size_t)r->fcap);
    }
    r->start[r->n] = field_start;
    r->flen[r->n] = r->len - field_start;
    r->n++;
}

/* Reads the record at *pos (RFC 4180; a quote inside an unquoted field is kept,
 * text after a closing quote is appended, as Python's csv module does).
 * Counts newlines into *line. Returns 0, or -1 on an unterminated quote. */
int csv_record(const char *d, size_t len, size_t *pos, int *line, CsvRecord *r) {
    r->len = 0;
    r->n = 0;
    size_t i = *pos, field_start = 0;
    int quoted = 0;
    for (;;) {
        if (i == len) {
            if (quoted) return -1;
            break;
        }
        char c = d[i++];
        if (quoted) {
            if (c == '"') {
                if (i < len && d[i] == '"') { rec_putc(r, '"'); i++; }
                else quoted = 0;
            } else {
                if (c == '\n') (*line)++;
                rec_putc(r, c);
            }
        } else if (c == '"' && r->len == field_start) {
            quoted = 1;
        } else if (c == ',') {
            rec_end_field(r, field_start);
            field_start = r->len;
        } else if (c == '\n') {
            (*line)++;
            break;
        } else if (c == '\r' && (i == len || d[i] == '\n')) {
            /* CRLF: the \n ends the record */
        } else {
            rec_putc(r, c);
        }
    }
    rec_end_field(r, field_start);
    *pos = i;
    return 0;
}

int csv_find_column(const CsvRecord *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (r->flen[i] == strlen(name) && !memcmp(r->buf + r->start[i], name, r->flen[i])) return i;
    return -1;
}

int csv_blank(const CsvRecord *r) { return r->n == 1 && r->flen[0] == 0; }

void csv_record_free(CsvRecord *r) {
    free(r->buf);
    free(r->start);
    free(r->flen);
    memset(r, 0, sizeof *r);
}
