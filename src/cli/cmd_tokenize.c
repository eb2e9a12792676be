/* albertc tokenize: text lines (or JSONL) to ALBERT token ids, one line per input. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "model/hub.h"
#include "tokenizer/tokenizer.h"

static const char *CMD = "tokenize";

static void help(void) {
    printf("Usage: albertc tokenize --model M [--pieces] [--max-length N] [--text TEXT] [--jsonl [--offsets]]\n"
           "\n"
           "Tokenizes text exactly as Hugging Face's AlbertTokenizerFast: one output line\n"
           "per input line, the ids with [CLS] and [SEP], separated by spaces.\n"
           "\n"
           "  --model M         a model directory, a hub id (local cache), or a spiece.model file\n"
           "  --text TEXT       tokenize TEXT instead of reading stdin\n"
           "  --pieces          write the pieces instead of the ids\n"
           "  --max-length N    truncate to at most N ids, [CLS] and [SEP] included (0: no limit).\n"
           "                    As Hugging Face's engine: an N below the special tokens (1; for a\n"
           "                    pair 1 or 2) truncates nothing, it only stops each text after the\n"
           "                    piece that reaches N tokens\n"
           "  --jsonl           read {\"text\": ...} lines (optionally with \"text_pair\"), write\n"
           "                    {\"input_ids\": [...], \"attention_mask\": [...]} lines (single texts:\n"
           "                    the input of 'albertc embed'; pairs add \"token_type_ids\", which embed\n"
           "                    does not take; --pieces adds \"tokens\")\n"
           "  --offsets         with --jsonl, single texts: add \"offsets\": [[start, end], ...], each\n"
           "                    id's bytes of the text as Hugging Face's engine gives them (TEI's\n"
           "                    /tokenize start/stop; [0, 0] for [CLS] and [SEP])\n"
           "  -h, --help        this help\n"
           "\n"
           "Text lines lose their trailing \"\\n\" (and a \"\\r\" before it); invalid UTF-8 becomes U+FFFD.\n");
}

/* A spiece.model path from a file path, a model directory or a hub id. */
static int resolve_spiece(const char *model, char *out, size_t out_size, AlbError *err) {
    struct stat st;
    if (stat(model, &st) == 0 && S_ISREG(st.st_mode)) {
        snprintf(out, out_size, "%s", model);
        return 0;
    }
    char dir[4096];
    if (hub_resolve(model, "models", dir, sizeof dir, err)) return -1;
    if ((size_t)snprintf(out, out_size, "%s/spiece.model", dir) >= out_size) {
        return alb_fail(err, "%s: path too long", dir);
    }
    return 0;
}

/* printf("%d") dominates the run time otherwise. */
static void put_int(int v, FILE *out) {
    char buf[16], *p = buf + sizeof buf;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do *--p = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--p = '-';
    fwrite(p, 1, (size_t)(buf + sizeof buf - p), out);
}

static void write_plain(const AlbertTokenizer *tok, const TokenIds *ids, int pieces, FILE *out) {
    for (int i = 0; i < ids->n; i++) {
        if (i) fputc(' ', out);
        if (pieces) fputs(tokenizer_piece(tok, ids->ids[i]), out);
        else put_int(ids->ids[i], out);
    }
    fputc('\n', out);
}

static void write_json_ints(const char *key, const int32_t *v, int n, int constant, FILE *out) {
    fprintf(out, "\"%s\": [", key);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", out);
        put_int(v ? v[i] : constant, out);
    }
    fputc(']', out);
}

static void write_jsonl(const AlbertTokenizer *tok, const TokenIds *ids, int pair, int pieces, int offsets,
                        FILE *out) {
    fputc('{', out);
    write_json_ints("input_ids", ids->ids, ids->n, 0, out);
    fputs(", ", out);
    if (pair) {
        write_json_ints("token_type_ids", ids->type_ids, ids->n, 0, out);
        fputs(", ", out);
    }
    write_json_ints("attention_mask", NULL, ids->n, 1, out);
    if (offsets) {
        fputs(", \"offsets\": [", out);
        for (int i = 0; i < ids->n; i++) {
            fputs(i ? ", [" : "[", out);
            put_int(ids->spans[i].start, out);
            fputs(", ", out);
            put_int(ids->spans[i].end, out);
            fputc(']', out);
        }
        fputc(']', out);
    }
    if (pieces) {
        json_t *arr = json_array();
        for (int i = 0; i < ids->n; i++) json_array_append_new(arr, json_string(tokenizer_piece(tok, ids->ids[i])));
        char *s = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
        fprintf(out, ", \"tokens\": %s", s);
        free(s);
        json_decref(arr);
    }
    fputs("}\n", out);
}

/* One JSONL line: {"text": ..., "text_pair": ...?}. */
static int tokenize_json_line(const AlbertTokenizer *tok, const char *line, size_t len, long lineno, int max_length,
                              int pieces, int offsets, TokenIds *ids, FILE *out) {
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (!obj) {
        char shown[ALB_SHOWN_SIZE];
        fprintf(stderr, "albertc %s: stdin:%ld: invalid JSON: %s\n", CMD, lineno, alb_shown(jerr.text, shown));
        return -1;
    }
    json_t *text = json_object_get(obj, "text"), *pair = json_object_get(obj, "text_pair");
    if (!json_is_object(obj) || !json_is_string(text) || (pair && !json_is_string(pair)) || (pair && offsets)) {
        fprintf(stderr, "albertc %s: stdin:%ld: expected {\"text\": string} (and an optional \"text_pair\" string%s)\n",
                CMD, lineno, offsets ? ", not with --offsets" : "");
        json_decref(obj);
        return -1;
    }
    if (pair) {
        tokenizer_encode_pair(tok, json_string_value(text), json_string_length(text), json_string_value(pair),
                              json_string_length(pair), max_length, ids);
    } else if (offsets) {
        tokenizer_encode_spans(tok, json_string_value(text), json_string_length(text), max_length, ids);
    } else {
        tokenizer_encode(tok, json_string_value(text), json_string_length(text), max_length, ids);
    }
    write_jsonl(tok, ids, pair != NULL, pieces, offsets, out);
    json_decref(obj);
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'}, {"pieces", no_argument, NULL, 'p'},
        {"max-length", required_argument, NULL, 'n'}, {"text", required_argument, NULL, 't'},
        {"jsonl", no_argument, NULL, 'j'}, {"offsets", no_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *text = NULL;
    int pieces = 0, jsonl = 0, offsets = 0, c;
    long max_length = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, options, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'p': pieces = 1; break;
        case 'n':
            if (cli_parse_int(CMD, "--max-length", optarg, 0, 1L << 30, &max_length)) return EXIT_USAGE;
            break;
        case 't': text = optarg; break;
        case 'j': jsonl = 1; break;
        case 'o': offsets = 1; break;
        case 'h': help(); return EXIT_OK;
        default: return cli_option_error(CMD, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!model) return cli_usage_error(CMD, "--model is required");
    if (text && jsonl) return cli_usage_error(CMD, "--text and --jsonl exclude each other");
    if (offsets && !jsonl) return cli_usage_error(CMD, "--offsets needs --jsonl");

    AlbError err = {{0}};
    char spiece[4096];
    AlbertTokenizer *tok = NULL;
    if (resolve_spiece(model, spiece, sizeof spiece, &err)) return cli_error(CMD, &err, EXIT_USAGE);
    if (tokenizer_load(&tok, spiece, &err)) return cli_error(CMD, &err, EXIT_FAILURE_RUN);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    TokenIds ids = {0};
    int rc = EXIT_OK;
    if (text) {
        tokenizer_encode(tok, text, strlen(text), (int)max_length, &ids);
        write_plain(tok, &ids, pieces, stdout);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        long lineno = 0;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            size_t len = (size_t)n;
            if (len && line[len - 1] == '\n') len--;
            if (len && line[len - 1] == '\r') len--;
            if (jsonl) {
                if (tokenize_json_line(tok, line, len, lineno, (int)max_length, pieces, offsets, &ids, stdout)) {
                    rc = EXIT_FAILURE_RUN;
                    break;
                }
            } else {
                tokenizer_encode(tok, line, len, (int)max_length, &ids);
                write_plain(tok, &ids, pieces, stdout);
            }
        }
        if (ferror(stdin) && rc == EXIT_OK) {
            fprintf(stderr, "albertc %s: stdin: read error: %s\n", CMD, strerror(errno));
            rc = EXIT_FAILURE_RUN;
        }
        free(line);
    }
    if (fflush(stdout) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "albertc %s: writing stdout failed\n", CMD);
        rc = EXIT_FAILURE_RUN;
    }
    token_ids_free(&ids);
    tokenizer_free(tok);
    return rc;
}
