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

/* bench's list options (--threads, --dtype, --batching) share one parser: each
 * error names its option. --model /nonexistent keeps a list that wrongly passes
 * from starting a benchmark. */
Test(cli, bench_list_options_are_checked) {
    static const char *const cases[][2] = {
        {"--threads ,", "--threads: empty list"},
        {"--threads 1,2,3,4,5,6,7,8,9", "--threads: at most 8 values"},
        {"--threads 1,0", "--threads: expected an integer in [1, 256], got '0'"},
        {"--dtype float32,fp8", "--dtype: expected one of float32, bfloat16, int8, got 'fp8'"},
        {"--dtype int8,float32,int8", "--dtype: 'int8' repeated"},
        {"--batching sorted,sorted", "--batching: 'sorted' repeated"},
        {"--batching fast", "--batching: expected padded or sorted, got 'fast'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[256], message[256];
        snprintf(args, sizeof args, "bench %s --model /nonexistent/model", cases[i][0]);
        snprintf(message, sizeof message, "albertc bench: %s\n", cases[i][1]);
        expect_usage_error(args, message);
    }
    expect_usage_error("bench --threads 1,1 --dtype int8 --batching padded,sorted --model /nonexistent/model",
                       "albertc bench: cannot find model '/nonexistent/model'");
}
