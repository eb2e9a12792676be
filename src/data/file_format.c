#include "data/file_format.h"

#include <string.h>

DataFileKind data_file_kind(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return DATA_FILE_OTHER;
    if (!strcmp(dot, ".jsonl") || !strcmp(dot, ".json")) return DATA_FILE_JSONL;
    if (!strcmp(dot, ".csv")) return DATA_FILE_CSV;
    if (!strcmp(dot, ".txt")) return DATA_FILE_LINES;
    return DATA_FILE_OTHER;
}
