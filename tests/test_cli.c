/* albertc's command line as a whole: bad options, help, exit codes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *const COMMANDS[] = {"tokenize", "embed", "train", "init-model", "bench"};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

/* Runs `albertc ARGS`; returns the exit code, stdout and stderr in *out and *err. */
static int albertc(const char *args, char **out, char **err) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s", test_albertc(), args);
    return test_run(cmd, out, err);
}

static void expect_usage_error(const char *args, const char *message) {
    char *out, *err;
    cr_expect_eq(albertc(args, &out, &err), 2, "albertc %s", args);
    cr_expect(strncmp(err, message, strlen(message)) == 0, "albertc %s: stderr '%s' does not start with '%s'", args,
              err, message);
    free(out);
    free(err);
}

Test(cli, bad_options_are_named) {
    char args[256], message[256];
    for (size_t i = 0; i < N_COMMANDS; i++) {
        snprintf(args, sizeof args, "%s --foo=1", COMMANDS[i]);
        snprintf(message, sizeof message, "albertc %s: unknown option '--foo'\nTry 'albertc %s --help'.\n",
                 COMMANDS[i], COMMANDS[i]);
        expect_usage_error(args, message);
        snprintf(args, sizeof args, "%s -x", COMMANDS[i]);
        snprintf(message, sizeof message, "albertc %s: unknown option '-x'\n", COMMANDS[i]);
        expect_usage_error(args, message);
        snprintf(args, sizeof args, "%s --help=yes", COMMANDS[i]);
        snprintf(message, sizeof message, "albertc %s: option '--help' takes no value\n", COMMANDS[i]);
        expect_usage_error(args, message);
    }
    expect_usage_error("embed --model", "albertc embed: option '--model' needs a value\n");
    expect_usage_error("tokenize --max-length", "albertc tokenize: option '--max-length' needs a value\n");
}

Test(cli, help_command_is_the_command_help) {
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char args[256], *want, *got, *err;
        snprintf(args, sizeof args, "%s --help", COMMANDS[i]);
        cr_assert_eq(albertc(args, &want, &err), 0);
        free(err);
        snprintf(args, sizeof args, "help %s", COMMANDS[i]);
        cr_expect_eq(albertc(args, &got, &err), 0);
        cr_expect_str_eq(got, want, "albertc help %s", COMMANDS[i]);
        free(want);
        free(got);
        free(err);
    }
    expect_usage_error("help nope", "albertc: unknown command 'nope'\n");
}

Test(cli, bench_missing_model_is_a_usage_error) {
    expect_usage_error("bench --model /nonexistent/model", "albertc bench: cannot find model '/nonexistent/model'");
}
