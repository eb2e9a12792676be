/* RFC 4180 records, as Python's csv module reads them: fields separated by
 * ',', quoted with "..." (which may hold commas, newlines and "" for a quote);
 * a quote inside an unquoted field is kept, text after a closing quote is
 * appended; CRLF or LF ends a record. Shared by the dataset loader (whole
 * files) and the text stream (record by record). */
#ifndef ALB_DATA_CSV_H
#define ALB_DATA_CSV_H

#include <stddef.h>

/* One record: field i is buf[start[i] .. start[i] + flen[i]) (unquoted bytes,
 * not NUL-terminated). Reused between records; csv_record_free at the end. */
typedef struct {
    char *buf;
    size_t len, cap;
    size_t *start, *flen;
    int n, fcap;
} CsvRecord;

/* Reads the record at d[*pos ..), advances *pos past it and counts its
 * newlines into *line. Returns 0, or -1 when a quoted field is still open at
 * d[len] (the caller may have more bytes to give). */
int csv_record(const char *d, size_t len, size_t *pos, int *line, CsvRecord *r);
/* Index of the field equal to name, or -1. */
int csv_find_column(const CsvRecord *r, const char *name);
/* A record of one empty field: a blank line. */
int csv_blank(const CsvRecord *r);
void csv_record_free(CsvRecord *r);

#endif
