/* What a data file's name says about its format: the one list of extensions
 * that the readers which guess a format go by (dataset_load with DATA_AUTO,
 * text_stream with TEXT_AUTO). Only the extension of the last path component
 * counts ("runs.v2/texts" has none), and its case matters (".CSV" is none of
 * these). A reader without a telling extension looks at the content, each in
 * its own way (its header says how). */
#ifndef ALB_DATA_FILE_FORMAT_H
#define ALB_DATA_FILE_FORMAT_H

typedef enum {
    DATA_FILE_OTHER = 0, /* no extension, or one not below */
    DATA_FILE_JSONL,     /* .jsonl, .json: JSON Lines */
    DATA_FILE_CSV,       /* .csv: RFC 4180 with a header row */
    DATA_FILE_LINES,     /* .txt: one text per line (datasets have no such format: they look at the content) */
} DataFileKind;

DataFileKind data_file_kind(const char *path);

#endif
