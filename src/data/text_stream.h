/* Texts to classify, one at a time, in constant memory: what `albertc predict`
 * reads from a file of any size or from stdin.
 *
 * Formats:
 *   TEXT_JSONL  one JSON object per line; the text is the string `field`
 *               ("text" when NULL)
 *   TEXT_CSV    RFC 4180 with a header row; the text is column `field`
 *   TEXT_LINES  each line is one text (a final "\n" and "\r\n" are not part of it)
 *   TEXT_AUTO   by extension (data/file_format.h: JSONL, CSV or lines), else
 *               by the first byte that is not white space: '{' JSONL,
 *               anything else lines
 * Every text must be valid UTF-8 and not empty. A bad record stops the stream
 * with one error line "PATH:LINE: what is wrong" (stdin is named "<stdin>");
 * blank lines in JSONL and CSV are skipped, in TEXT_LINES they are an error
 * (each line is an input whose answer is expected on the same output line).
 * Read errors (a directory given as the file, an I/O error) are errors too. */
#ifndef ALB_DATA_TEXT_STREAM_H
#define ALB_DATA_TEXT_STREAM_H

#include <stddef.h>
#include <stdio.h>
#include "util/error.h"

typedef enum { TEXT_AUTO = 0, TEXT_JSONL, TEXT_CSV, TEXT_LINES } TextFormat;

typedef struct TextStream TextStream;

/* path "-" is stdin. Returns -1 (err set) when the file can't be opened or
 * the CSV header lacks the column. */
int text_stream_open(TextStream **out, const char *path, TextFormat format, const char *field, AlbError *err);
/* The same over an open stream the caller closes; name stands for it in errors. */
int text_stream_open_file(TextStream **out, FILE *fp, const char *name, TextFormat format, const char *field,
                          AlbError *err);
/* 1: *text (NUL-terminated, *len bytes, valid until the next call) came from
 * *line; 0: the end; -1: a bad record or a read error (err set). */
int text_stream_next(TextStream *s, const char **text, size_t *len, long *line, AlbError *err);
void text_stream_close(TextStream *s);
/* "jsonl", "csv", "text" or "auto" to a format; -1 for anything else. */
int text_format_parse(const char *name);

#endif
