#include "data/text_stream.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/csv.h"
#include "data/file_format.h"
#include "tokenizer/utf8.h"

struct TextStream {
    FILE *fp;
    int owns_fp;
    char *name;           /* the path, or "<stdin>" */
    TextFormat format;
    char *field;          /* JSONL key / CSV column */
    int column;           /* CSV: index of the text column */
    int n_columns;
    char *line;           /* getline's buffer */
    size_t line_cap;
    ssize_t line_len;
    int peeked;           /* line holds a line read ahead (format sniffing) */
    long line_no;         /* lines read so far */
    char *acc;            /* CSV: the lines of the record being read */
    size_t acc_len, acc_cap;
    CsvRecord rec;
    char *text;           /* the text handed out */
    size_t text_len, text_cap;
};

static TextFormat by_extension(const char *path) {
    switch (data_file_kind(path)) {
    case DATA_FILE_JSONL: return TEXT_JSONL;
    case DATA_FILE_CSV: return TEXT_CSV;
    case DATA_FILE_LINES: return TEXT_LINES;
    case DATA_FILE_OTHER: break;
    }
    return TEXT_AUTO;
}

int text_format_parse(const char *name) {
    static const char *const names[] = {"auto", "jsonl", "csv", "text"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) return i;
    return -1;
}

/* Reads the next line into s->line (ending "\n" and "\r\n" removed). 1: a
 * line, 0: end of input, -1: read error. */
static int read_line(TextStream *s, AlbError *err) {
    if (s->peeked) {
        s->peeked = 0;
        return 1;
    }
    errno = 0;
    s->line_len = getline(&s->line, &s->line_cap, s->fp);
    if (s->line_len < 0) {
        if (ferror(s->fp)) return alb_fail(err, "%s:%ld: read error: %s", s->name, s->line_no + 1, strerror(errno));
        return 0;
    }
    s->line_no++;
    if (s->line_len > 0 && s->line[s->line_len - 1] == '\n') s->line[--s->line_len] = '\0';
    if (s->line_len > 0 && s->line[s->line_len - 1] == '\r') s->line[--s->line_len] = '\0';
    return 1;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i]) || !s[i]) return 0;
    return 1;
}

/* TEXT_AUTO without a telling extension: the first non-blank line decides. */
static int sniff(TextStream *s, AlbError *err) {
    long blank_lines = 0;
    int rc;
    while ((rc = read_line(s, err)) == 1 && blank(s->line, (size_t)s->line_len)) blank_lines++;
    if (rc < 0) return -1;
    const char *p = rc ? s->line : "";
    while (*p == ' ' || *p == '\t') p++;
    s->format = *p == '{' ? TEXT_JSONL : TEXT_LINES;
    if (s->format == TEXT_LINES && blank_lines) return alb_fail(err, "%s:1: empty text", s->name);
    s->peeked = rc == 1;
    return 0;
}

/* Reads one CSV record (which may span lines) into s->rec. 1, 0 at the end, -1. */
static int read_record(TextStream *s, long *first_line, AlbError *err) {
    s->acc_len = 0;
    *first_line = s->line_no + 1;
    for (;;) {
        int rc = read_line(s, err);
        if (rc < 0) return -1;
        if (rc == 0) {
            if (!s->acc_len) return 0;
            return alb_fail(err, "%s:%ld: quoted field not closed before the end of the file", s->name, *first_line);
        }
        size_t need = s->acc_len + (size_t)s->line_len + 2;
        if (need > s->acc_cap) s->acc = alb_xrealloc(s->acc, s->acc_cap = need * 2);
        memcpy(s->acc + s->acc_len, s->line, (size_t)s->line_len);
        s->acc_len += (size_t)s->line_len;
        s->acc[s->acc_len++] = '\n';
        size_t pos = 0;
        int lines = 0;
        if (csv_record(s->acc, s->acc_len, &pos, &lines, &s->rec) == 0) return 1;
    }
}

static void set_text(TextStream *s, const char *text, size_t len) {
    if (len + 1 > s->text_cap) s->text = alb_xrealloc(s->text, s->text_cap = len + 1);
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->text_len = len;
}

static int open_csv(TextStream *s, AlbError *err) {
    long line;
    int rc = read_record(s, &line, err);
    if (rc < 0) return -1;
    char b[ALB_SHOWN_SIZE];
    if (rc == 0 || csv_blank(&s->rec)) return alb_fail(err, "%s:1: no CSV header", s->name);
    s->column = csv_find_column(&s->rec, s->field);
    s->n_columns = s->rec.n;
    if (s->column < 0) return alb_fail(err, "%s:1: the header has no column '%s'", s->name, alb_shown(s->field, b));
    return 0;
}

static int stream_open(TextStream **out, FILE *fp, int owns_fp, const char *name, TextFormat format,
                       const char *field, AlbError *err) {
    TextStream *s = alb_xcalloc(1, sizeof *s);
    s->fp = fp;
    s->owns_fp = owns_fp;
    s->name = alb_xstrdup(name);
    s->field = alb_xstrdup(field ? field : "text");
    s->format = format;
    int rc = 0;
    if (s->format == TEXT_AUTO) rc = sniff(s, err);
    if (!rc && s->format == TEXT_CSV) rc = open_csv(s, err);
    if (rc) {
        text_stream_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int text_stream_open(TextStream **out, const char *path, TextFormat format, const char *field, AlbError *err) {
    *out = NULL;
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "r");
    if (!fp) return alb_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!is_stdin) fclose(fp);
        return alb_fail(err, "%s: is a directory, not a file of texts", name);
    }
    if (format == TEXT_AUTO && !is_stdin) format = by_extension(path);
    return stream_open(out, fp, !is_stdin, name, format, field, err);
}

int text_stream_open_file(TextStream **out, FILE *fp, const char *name, TextFormat format, const char *field,
                          AlbError *err) {
    *out = NULL;
    return stream_open(out, fp, 0, name, format, field, err);
}

static int next_jsonl(TextStream *s, AlbError *err) {
    char b[ALB_SHOWN_SIZE];
    for (;;) {
        int rc = read_line(s, err);
        if (rc <= 0) return rc;
        if (blank(s->line, (size_t)s->line_len)) continue;
        json_error_t jerr;
        json_t *row = json_loadb(s->line, (size_t)s->line_len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *text = json_object_get(row, s->field);
        rc = -1;
        if (!row) alb_fail(err, "%s:%ld: invalid JSON: %s", s->name, s->line_no, alb_shown(jerr.text, b));
        else if (!json_is_object(row)) alb_fail(err, "%s:%ld: expected a JSON object", s->name, s->line_no);
        else if (!text) alb_fail(err, "%s:%ld: missing field '%s'", s->name, s->line_no, alb_shown(s->field, b));
        else if (!json_is_string(text))
            alb_fail(err, "%s:%ld: field '%s' is not a string", s->name, s->line_no, alb_shown(s->field, b));
        else {
            set_text(s, json_string_value(text), json_string_length(text));
            rc = 1;
        }
        json_decref(row);
        return rc;
    }
}

static int next_csv(TextStream *s, long *line, AlbError *err) {
    for (;;) {
        int rc = read_record(s, line, err);
        if (rc <= 0) return rc;
        if (csv_blank(&s->rec)) continue;
        if (s->rec.n != s->n_columns)
            return alb_fail(err, "%s:%ld: %d fields, the header has %d", s->name, *line, s->rec.n, s->n_columns);
        set_text(s, s->rec.buf + s->rec.start[s->column], s->rec.flen[s->column]);
        return 1;
    }
}

int text_stream_next(TextStream *s, const char **text, size_t *len, long *line, AlbError *err) {
    int rc;
    if (s->format == TEXT_CSV) {
        rc = next_csv(s, line, err);
    } else if (s->format == TEXT_JSONL) {
        rc = next_jsonl(s, err);
        *line = s->line_no;
    } else {
        rc = read_line(s, err);
        if (rc == 1) set_text(s, s->line, (size_t)s->line_len);
        *line = s->line_no;
    }
    if (rc != 1) return rc;
    size_t n = s->text_len;
    if (n == 0) return alb_fail(err, "%s:%ld: empty text", s->name, *line);
    if (strlen(s->text) != n) return alb_fail(err, "%s:%ld: the text holds a NUL byte", s->name, *line);
    if (!utf8_valid(s->text, n)) return alb_fail(err, "%s:%ld: the text is not valid UTF-8", s->name, *line);
    *text = s->text;
    *len = n;
    return 1;
}

void text_stream_close(TextStream *s) {
    if (!s) return;
    if (s->owns_fp) fclose(s->fp);
    free(s->name);
    free(s->field);
    free(s->line);
    free(s->acc);
    csv_record_free(&s->rec);
    free(s->text);
    free(s);
}
