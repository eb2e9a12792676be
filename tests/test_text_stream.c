/* data/text_stream: predict's input, read one text at a time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_stream.h"
#include "testutil.h"

TestSuite(text_stream, .init = test_tmp_setup, .fini = test_tmp_teardown);

/* Reads every text of a file written with `content`; returns the stream's
 * final code (0 at a clean end, -1 on error, err set) and the texts joined by '|'. */
static int read_all(const char *name, const char *content, TextFormat format, const char *field, char *joined,
                    size_t cap, AlbError *err) {
    const char *path = test_tmp_path(name);
    test_write_file(path, content, strlen(content));
    TextStream *s;
    joined[0] = '\0';
    if (text_stream_open(&s, path, format, field, err)) return -1;
    const char *text;
    size_t len;
    long line;
    int rc;
    while ((rc = text_stream_next(s, &text, &len, &line, err)) == 1) {
        cr_assert_eq(strlen(text), len);
        size_t used = strlen(joined);
        snprintf(joined + used, cap - used, "%s%s@%ld", used ? "|" : "", text, line);
    }
    text_stream_close(s);
    return rc;
}

#define EXPECT_TEXTS(name, content, format, field, want)                                       \
    do {                                                                                       \
        char got[1024];                                                                        \
        AlbError err;                                                                          \
        int rc = read_all(name, content, format, field, got, sizeof got, &err);                \
        cr_expect_eq(rc, 0, "%s: %s", name, rc ? err.msg : "");                                \
        cr_expect_str_eq(got, want, "%s", name);                                               \
    } while (0)

#define EXPECT_ERROR(name, content, format, want)                                              \
    do {                                                                                       \
        char got[1024];                                                                        \
        AlbError err;                                                                          \
        int rc = read_all(name, content, format, NULL, got, sizeof got, &err);                 \
        cr_expect_eq(rc, -1, "%s: read %s", name, got);                                        \
        if (rc == -1) cr_expect(strstr(err.msg, want), "%s: '%s' lacks '%s'", name, err.msg, want); \
        if (rc == -1) cr_expect_null(strchr(err.msg, '\n'), "%s: one line", name);            \
    } while (0)

Test(text_stream, jsonl) {
    EXPECT_TEXTS("a.jsonl", "{\"text\": \"I lost my card\"}\n\n{\"text\": \"caf\\u00e9\", \"x\": 1}\n", TEXT_AUTO, NULL,
                 "I lost my card@1|café@3");
    EXPECT_TEXTS("b.jsonl", "{\"q\": \"one\"}\r\n{\"q\": \"two\"}", TEXT_AUTO, "q", "one@1|two@2");
    EXPECT_ERROR("c.jsonl", "{\"text\": \"ok\"}\n{\"text\": 3}\n", TEXT_AUTO, "c.jsonl:2: field 'text' is not a string");
    EXPECT_ERROR("d.jsonl", "{\"text\": \"ok\"}\n{\"txt\": \"x\"}\n", TEXT_AUTO, "d.jsonl:2: missing field 'text'");
    EXPECT_ERROR("e.jsonl", "{\"text\": \"ok\"\n", TEXT_AUTO, "e.jsonl:1: invalid JSON");
    EXPECT_ERROR("f.jsonl", "[\"text\"]\n", TEXT_AUTO, "f.jsonl:1: expected a JSON object");
    EXPECT_ERROR("g.jsonl", "{\"text\": \"\"}\n", TEXT_AUTO, "g.jsonl:1: empty text");
    EXPECT_ERROR("h.jsonl", "{\"text\": \"a\", \"text\": \"b\"}\n", TEXT_AUTO, "h.jsonl:1: invalid JSON");
}

Test(text_stream, csv) {
    EXPECT_TEXTS("a.csv", "text,category\n\"multi\nline, \"\"quoted\"\"\",card_arrival\nplain,x\n\n", TEXT_AUTO, NULL,
                 "multi\nline, \"quoted\"@2|plain@4");
    EXPECT_TEXTS("b.csv", "id,body\r\n1,hello\r\n", TEXT_AUTO, "body", "hello@2");
    EXPECT_ERROR("c.csv", "id,body\n1,x\n", TEXT_AUTO, "c.csv:1: the header has no column 'text'");
    EXPECT_ERROR("d.csv", "text,label\na,1\nb\n", TEXT_AUTO, "d.csv:3: 1 fields, the header has 2");
    EXPECT_ERROR("e.csv", "text,label\n\"open,1\nmore\n", TEXT_AUTO, "e.csv:2: quoted field not closed");
    EXPECT_ERROR("f.csv", "", TEXT_AUTO, "f.csv:1: no CSV header");
    EXPECT_ERROR("g.csv", "text,label\n\"\",1\n", TEXT_AUTO, "g.csv:2: empty text");
}

Test(text_stream, lines) {
    EXPECT_TEXTS("a.txt", "first\r\nsecond, with \"quotes\"\n{not json at the start}\n", TEXT_AUTO, NULL,
                 "first@1|second, with \"quotes\"@2|{not json at the start}@3");
    EXPECT_TEXTS("b", "no extension\n", TEXT_AUTO, NULL, "no extension@1");  /* sniffed: not '{' */
    EXPECT_TEXTS("c", "  {\"text\": \"sniffed\"}\n", TEXT_AUTO, NULL, "sniffed@1");
    EXPECT_TEXTS("d.jsonl", "{\"text\": \"forced\"}\n", TEXT_LINES, NULL, "{\"text\": \"forced\"}@1");
    EXPECT_TEXTS("e", "", TEXT_AUTO, NULL, "");
    EXPECT_ERROR("f.txt", "one\n\nthree\n", TEXT_AUTO, "f.txt:2: empty text");
    EXPECT_ERROR("g", "\n\nthird\n", TEXT_AUTO, "g:1: empty text");
    EXPECT_ERROR("h.txt", "ok\nbad \xff byte\n", TEXT_AUTO, "h.txt:2: the text is not valid UTF-8");
}

Test(text_stream, nul_byte_and_directory) {
    const char *path = test_tmp_path("nul.txt");
    test_write_file(path, "a\0b\n", 4);
    TextStream *s;
    AlbError err;
    cr_assert_eq(text_stream_open(&s, path, TEXT_AUTO, NULL, &err), 0, "%s", err.msg);
    const char *text;
    size_t len;
    long line;
    cr_expect_eq(text_stream_next(s, &text, &len, &line, &err), -1);
    cr_expect(strstr(err.msg, "nul.txt:1: the text holds a NUL byte"), "%s", err.msg);
    text_stream_close(s);
    cr_expect_eq(text_stream_open(&s, test_tmp_dir, TEXT_AUTO, NULL, &err), -1);
    cr_expect(strstr(err.msg, "is a directory"), "%s", err.msg);
    cr_expect_eq(text_stream_open(&s, test_tmp_path("missing.txt"), TEXT_AUTO, NULL, &err), -1);
    cr_expect(strstr(err.msg, "missing.txt: No such file"), "%s", err.msg);
}

Test(text_stream, format_names) {
    cr_expect_eq(text_format_parse("jsonl"), TEXT_JSONL);
    cr_expect_eq(text_format_parse("csv"), TEXT_CSV);
    cr_expect_eq(text_format_parse("text"), TEXT_LINES);
    cr_expect_eq(text_format_parse("auto"), TEXT_AUTO);
    cr_expect_eq(text_format_parse("xml"), -1);
}
