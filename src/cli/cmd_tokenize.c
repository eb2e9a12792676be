/* PLACEHOLDER: replaced by the module that owns this command. */
#include <stdio.h>
#include "cli/cli.h"

int cmd_tokenize(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "albertc %s: not built yet\n", argv[0]);
    return EXIT_FAILURE_RUN;
}
