/* libFuzzer: predict's text stream (JSONL, CSV, plain lines, format sniffing)
 * read from memory: every text handed out is non-empty valid UTF-8, every
 * error one line naming the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/text_stream.h"
#include "tokenizer/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;  /* fmemopen needs a byte; the empty input is a unit test */
    for (int format = TEXT_AUTO; format <= TEXT_LINES; format++) {
        FILE *fp = fmemopen((void *)data, size, "r");
        if (!fp) return 0;
        TextStream *s;
        AlbError err;
        int rc = text_stream_open_file(&s, fp, "fuzz", (TextFormat)format, NULL, &err);
        if (rc == 0) {
            const char *text;
            size_t len;
            long line;
            while ((rc = text_stream_next(s, &text, &len, &line, &err)) == 1)
                if (!len || strlen(text) != len || !utf8_valid(text, len) || line < 1) abort();
            text_stream_close(s);
        }
        if (rc < 0 && (strchr(err.msg, '\n') || strncmp(err.msg, "fuzz", 4))) abort();
        fclose(fp);
    }
    return 0;
}
