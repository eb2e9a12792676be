#include "data/dataset.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/data_location.h"
#include "data/file_format.h"
#include "tokenizer/utf8.h"
#include "util/fileio.h"

/* Ids given without a label set must stay below this (a typo must not allocate gigabytes). */
#define MAX_LABEL_ID (1 << 16)

/* ----------------------------------------------------------------- labels */

int labels_load(LabelSet *ls, const char *path, AlbError *err) {
    memset(ls, 0, sizeof *ls);
    char *text;
    size_t len;
    if (alb_read_file(path, &text, &len, err)) return -1;
    if (strlen(text) != len || !utf8_valid(text, len)) {
        free(text);
        return alb_fail(err, "%s: not a UTF-8 text file", path);
    }
    int cap = 0, line = 0;
    for (char *p = text; *p;) {
        char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        line++;
        if (n && p[n - 1] == '\r') n--;
        p[n] = 0;
        if (n == 0) {
            if (e && e[1]) { labels_free(ls); free(text); return alb_fail(err, "%s:%d: empty label name", path, line); }
        } else {
            if (labels_find(ls, p) >= 0) {
                char b[ALB_SHOWN_SIZE];
                labels_free(ls);
                int rc = alb_fail(err, "%s:%d: label '%s' listed twice", path, line, alb_shown(p, b));
                free(text);
                return rc;
            }
            if (ls->n == cap) ls->names = alb_xrealloc(ls->names, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 64));
            ls->names[ls->n++] = alb_xstrdup(p);
        }
        if (!e) break;
        p = e + 1;
    }
    free(text);
    if (ls->n == 0) return alb_fail(err, "%s: no label names", path);
    return 0;
}

int labels_find(const LabelSet *ls, const char *name) {
    for (int i = 0; i < ls->n; i++)
        if (!strcmp(ls->names[i], name)) return i;
    return -1;
}

void labels_free(LabelSet *ls) {
    for (int i = 0; i < ls->n; i++) free(ls->names[i]);
    free(ls->names);
    memset(ls, 0, sizeof *ls);
}

/* ------------------------------------------------------------------- rows */

typedef struct {
    Dataset *ds;
    const DatasetOptions *opt;
    const char *name;
    int cap;
} Loader;

/* A row's label as written: an id, or a name (not NUL-terminated). */
typedef struct {
    int is_id;
    long long id;
    const char *name;
    size_t name_len;
} LabelValue;

static void grow_names(Dataset *ds, int num_labels) {
    if (num_labels <= ds->num_labels) return;
    ds->label_names = alb_xrealloc(ds->label_names, sizeof(char *) * (size_t)num_labels);
    for (int i = ds->num_labels; i < num_labels; i++) ds->label_names[i] = NULL;
    ds->num_labels = num_labels;
}

static int parse_id(const char *s, size_t n, long long *out) {
    if (n == 0 || n > 18) return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Checks one row and appends it. Returns 0 added, 1 bad (message in err), -1 fatal. */
static int add_row(Loader *L, int line, const char *text, size_t text_len, const LabelValue *lv,
                   const char *label_text, size_t label_text_len, AlbError *err) {
    Dataset *ds = L->ds;
    const LabelSet *ls = L->opt->labels;
    char b[ALB_SHOWN_SIZE], b2[ALB_SHOWN_SIZE];
    if (memchr(text, 0, text_len)) return alb_fail(err, "%s:%d: text contains a NUL character", L->name, line), 1;
    if (!utf8_valid(text, text_len)) return alb_fail(err, "%s:%d: text is not valid UTF-8", L->name, line), 1;
    size_t k = 0;
    while (k < text_len && strchr(" \t\r\n\v\f", text[k])) k++;
    if (k == text_len) return alb_fail(err, "%s:%d: empty text", L->name, line), 1;

    long long id;
    if (lv->is_id) {
        id = lv->id;
    } else {
        char name[256];
        if (lv->name_len >= sizeof name || memchr(lv->name, 0, lv->name_len))
            return alb_fail(err, "%s:%d: label name too long", L->name, line), 1;
        memcpy(name, lv->name, lv->name_len);
        name[lv->name_len] = 0;
        id = ls ? labels_find(ls, name) : -1;
        if (id < 0 && parse_id(name, lv->name_len, &id)) {
            if (!ls)
                return alb_fail(err, "%s:%d: label '%s' is a name, but there is no label list (labels.txt) to map it to an id",
                                L->name, line, alb_shown(name, b)), 1;
            return alb_fail(err, "%s:%d: unknown label '%s'", L->name, line, alb_shown(name, b)), 1;
        }
    }
    int limit = ls ? ls->n : MAX_LABEL_ID;
    if (id < 0 || id >= limit)
        return alb_fail(err, "%s:%d: label %lld out of range [0, %d)", L->name, line, id, limit), 1;

    if (label_text) {
        if (memchr(label_text, 0, label_text_len) || !utf8_valid(label_text, label_text_len))
            return alb_fail(err, "%s:%d: label_text is not valid UTF-8 text", L->name, line), 1;
        grow_names(ds, (int)id + 1);
        const char *known = ls ? ls->names[id] : ds->label_names[id];
        if (known && (strlen(known) != label_text_len || memcmp(known, label_text, label_text_len))) {
            char lt[256];
            size_t n = label_text_len < sizeof lt ? label_text_len : sizeof lt - 1;
            memcpy(lt, label_text, n);
            lt[n] = 0;
            return alb_fail(err, "%s:%d: label %lld is '%s' but label_text is '%s'", L->name, line, id,
                            alb_shown(known, b), alb_shown(lt, b2)), 1;
        }
        if (!known) {
            ds->label_names[id] = alb_xmalloc(label_text_len + 1);
            memcpy(ds->label_names[id], label_text, label_text_len);
            ds->label_names[id][label_text_len] = 0;
        }
    }

    if (ds->n == L->cap) {
        L->cap = L->cap ? 2 * L->cap : 1024;
        ds->texts = alb_xrealloc(ds->texts, sizeof(char *) * (size_t)L->cap);
        ds->labels = alb_xrealloc(ds->labels, sizeof(int) * (size_t)L->cap);
    }
    char *t = alb_xmalloc(text_len + 1);
    memcpy(t, text, text_len);
    t[text_len] = 0;
    ds->texts[ds->n] = t;
    ds->labels[ds->n] = (int)id;
    ds->n++;
    grow_names(ds, (int)id + 1);
    return 0;
}

/* Applies the bad-row policy to add_row's answer: 0 go on, -1 stop. */
static int handle(Loader *L, int rc) {
    if (rc == 1 && L->opt->skip_bad_rows) {
        L->ds->n_skipped++;
        return 0;
    }
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ JSONL */

static int jsonl_row(Loader *L, const char *line_text, size_t n, int line, AlbError *err) {
    const DatasetOptions *o = L->opt;
    json_error_t jerr;
    json_t *row = json_loadb(line_text, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    char b[ALB_SHOWN_SIZE];
    if (!row) return handle(L, (alb_fail(err, "%s:%d: invalid JSON: %s", L->name, line, alb_shown(jerr.text, b)), 1));
    int rc = 1;
    json_t *text = json_object_get(row, o->text_field), *label = json_object_get(row, o->label_field);
    json_t *label_text = json_object_get(row, o->label_text_field);
    LabelValue lv = {0};
    if (!json_is_object(row)) alb_fail(err, "%s:%d: expected a JSON object", L->name, line);
    else if (!text) alb_fail(err, "%s:%d: missing field '%s'", L->name, line, alb_shown(o->text_field, b));
    else if (!json_is_string(text)) alb_fail(err, "%s:%d: field '%s' is not a string", L->name, line, alb_shown(o->text_field, b));
    else if (!label) alb_fail(err, "%s:%d: missing field '%s'", L->name, line, alb_shown(o->label_field, b));
    else if (json_is_integer(label)) { lv.is_id = 1; lv.id = json_integer_value(label); rc = 0; }
    else if (json_is_string(label)) { lv.name = json_string_value(label); lv.name_len = json_string_length(label); rc = 0; }
    else alb_fail(err, "%s:%d: field '%s' is neither an integer id nor a label name", L->name, line, alb_shown(o->label_field, b));
    if (rc == 0 && label_text && !json_is_string(label_text) && !json_is_null(label_text)) {
        alb_fail(err, "%s:%d: field '%s' is not a string", L->name, line, alb_shown(o->label_text_field, b));
        rc = 1;
    }
    if (rc == 0) {
        int lt = json_is_string(label_text);
        rc = add_row(L, line, json_string_value(text), json_string_length(text), &lv,
                     lt ? json_string_value(label_text) : NULL, lt ? json_string_length(label_text) : 0, err);
    }
    json_decref(row);
    return handle(L, rc);
}

static int parse_jsonl(Loader *L, const char *data, size_t len, AlbError *err) {
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *p = data + pos;
        const char *e = memchr(p, '\n', len - pos);
        size_t n = e ? (size_t)(e - p) : len - pos;
        pos += n + 1;
        line++;
        size_t k = 0;
        while (k < n && strchr(" \t\r", p[k]) && p[k]) k++;
        if (k == n) continue; /* blank line */
        if (jsonl_row(L, p, n, line, err)) return -1;
    }
    return 0;
}

/* -------------------------------------------------------------------- CSV */

static int parse_csv(Loader *L, const char *data, size_t len, AlbError *err) {
    const DatasetOptions *o = L->opt;
    CsvRecord r = {0};
    size_t pos = 0;
    int line = 1, rc = 0;
    char b[ALB_SHOWN_SIZE];
    if (csv_record(data, len, &pos, &line, &r) || csv_blank(&r)) {
        rc = alb_fail(err, "%s:1: no CSV header", L->name);
        goto done;
    }
    int text_col = csv_find_column(&r, o->text_field), label_col = csv_find_column(&r, o->label_field);
    if (label_col < 0 && !strcmp(o->label_field, "label")) label_col = csv_find_column(&r, "category");
    int label_text_col = csv_find_column(&r, o->label_text_field);
    int n_columns = r.n;
    if (text_col < 0 || label_col < 0) {
        rc = alb_fail(err, "%s:1: the header has no column '%s'", L->name,
                      alb_shown(text_col < 0 ? o->text_field : o->label_field, b));
        goto done;
    }
    while (pos < len) {
        int start_line = line;
        if (csv_record(data, len, &pos, &line, &r)) {
            rc = alb_fail(err, "%s:%d: quoted field not closed before the end of the file", L->name, start_line);
            goto done;
        }
        if (csv_blank(&r)) continue; /* blank line */
        int bad;
        if (r.n != n_columns) {
            bad = (alb_fail(err, "%s:%d: %d fields, the header has %d", L->name, start_line, r.n, n_columns), 1);
        } else {
            const char *label = r.buf + r.start[label_col];
            size_t label_len = r.flen[label_col];
            LabelValue lv = {0};
            lv.name = label;
            lv.name_len = label_len;
            bad = add_row(L, start_line, r.buf + r.start[text_col], r.flen[text_col], &lv,
                          label_text_col >= 0 ? r.buf + r.start[label_text_col] : NULL,
                          label_text_col >= 0 ? r.flen[label_text_col] : 0, err);
        }
        if (handle(L, bad)) { rc = -1; goto done; }
    }
done:
    csv_record_free(&r);
    return rc;
}

/* ------------------------------------------------------------------- API */

void dataset_free(Dataset *ds) {
    for (int i = 0; i < ds->n; i++) free(ds->texts[i]);
    for (int i = 0; i < ds->num_labels; i++) free(ds->label_names[i]);
    free(ds->texts);
    free(ds->labels);
    free(ds->label_names);
    memset(ds, 0, sizeof *ds);
}

static DataFormat sniff(const char *name, const char *data, size_t len) {
    DataFileKind kind = data_file_kind(name);
    if (kind == DATA_FILE_JSONL) return DATA_JSONL;
    if (kind == DATA_FILE_CSV) return DATA_CSV;
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", data[i]) && data[i]) i++;
    return i < len && data[i] == '{' ? DATA_JSONL : DATA_CSV;
}

int dataset_parse(Dataset *ds, const char *data, size_t len, const char *name, DataFormat format,
                  const DatasetOptions *opt, AlbError *err) {
    memset(ds, 0, sizeof *ds);
    DatasetOptions o = opt ? *opt : (DatasetOptions){0};
    if (!o.text_field) o.text_field = "text";
    if (!o.label_field) o.label_field = "label";
    if (!o.label_text_field) o.label_text_field = "label_text";
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3, len -= 3;
    if (format == DATA_AUTO) format = sniff(name, data, len);
    Loader L = {ds, &o, name, 0};
    if (o.labels) {
        grow_names(ds, o.labels->n);
        for (int i = 0; i < o.labels->n; i++) ds->label_names[i] = alb_xstrdup(o.labels->names[i]);
    }
    int rc = format == DATA_JSONL ? parse_jsonl(&L, data, len, err) : parse_csv(&L, data, len, err);
    if (rc == 0 && ds->n == 0) rc = alb_fail(err, "%s: no rows", name);
    if (rc) dataset_free(ds);
    return rc;
}

int dataset_load(Dataset *ds, const char *path, const DatasetOptions *opt, AlbError *err) {
    memset(ds, 0, sizeof *ds);
    char *data;
    size_t len;
    if (alb_read_file(path, &data, &len, err)) return -1;
    DataFormat format = opt ? opt->format : DATA_AUTO;
    int rc = dataset_parse(ds, data, len, path, format, opt, err);
    free(data);
    return rc;
}

/* dir/name, or name itself when it is a path (holds a '/'). */
static int split_path(char *out, size_t cap, const char *dir, const char *name, AlbError *err) {
    int n = strchr(name, '/') ? snprintf(out, cap, "%s", name) : snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return alb_fail(err, "%s/%s: path too long", dir, name);
    return 0;
}

/* The configured file, or the first of the defaults that exists. */
static int split_file(char *out, size_t cap, const char *dir, const char *configured, const char *jsonl,
                      const char *csv, AlbError *err) {
    if (configured[0]) return split_path(out, cap, dir, configured, err);
    if (split_path(out, cap, dir, jsonl, err)) return -1;
    if (alb_file_exists(out)) return 0;
    if (split_path(out, cap, dir, csv, err)) return -1;
    if (alb_file_exists(out)) return 0;
    return alb_fail(err, "%s: no %s or %s", dir, jsonl, csv);
}

int dataset_load_splits(const DatasetSplits *spec, Dataset *train, Dataset *eval, AlbError *err) {
    memset(train, 0, sizeof *train);
    memset(eval, 0, sizeof *eval);
    char dir[4096], train_path[4096], eval_path[4096], labels_path[4096];
    if (data_location_resolve(spec->data_dir, spec->dataset_id, dir, sizeof dir, err) ||
        split_file(train_path, sizeof train_path, dir, spec->train_file, "train.jsonl", "train.csv", err) ||
        split_file(eval_path, sizeof eval_path, dir, spec->eval_file, "test.jsonl", "test.csv", err))
        return -1;
    LabelSet labels = {0};
    if (spec->labels_file[0]) {
        if (split_path(labels_path, sizeof labels_path, dir, spec->labels_file, err)) return -1;
        if (alb_file_exists(labels_path) && labels_load(&labels, labels_path, err)) return -1;
    }
    DatasetOptions opt = spec->rows;
    opt.labels = labels.n ? &labels : NULL;
    int rc = dataset_load(train, train_path, &opt, err);
    if (rc == 0) rc = dataset_load(eval, eval_path, &opt, err);
    labels_free(&labels);
    if (rc) {
        dataset_free(train);
        return -1;
    }
    /* Without a label list, both splits span the ids either one uses. */
    int num_labels = train->num_labels > eval->num_labels ? train->num_labels : eval->num_labels;
    grow_names(train, num_labels);
    grow_names(eval, num_labels);
    for (int i = 0; i < num_labels; i++) {
        if (!train->label_names[i] && eval->label_names[i]) train->label_names[i] = alb_xstrdup(eval->label_names[i]);
        if (!eval->label_names[i] && train->label_names[i]) eval->label_names[i] = alb_xstrdup(train->label_names[i]);
    }
    return 0;
}
