/* util/fileio: what atomic_open does with each kind of output path (the CLI
 * cases, FIFO, symlink, /dev/null, stdout, directory, are in test_embed.c). */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"

TestSuite(fileio, .init = test_tmp_setup, .fini = test_tmp_teardown);

Test(fileio, socket_and_symlink_loop_are_refused) {
    AlbError err;
    const char *sock = test_tmp_path("sock");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(sock), sizeof addr.sun_path);
    strcpy(addr.sun_path, sock);
    cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    cr_expect_eq(atomic_write_file(sock, "x", 1, &err), -1);
    cr_expect(strstr(err.msg, sock) && strstr(err.msg, "is a socket"), "%s", err.msg);
    struct stat st;
    cr_expect(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "the socket was replaced");
    close(fd);

    cr_assert_eq(symlink("loop_b", test_tmp_path("loop_a")), 0);
    cr_assert_eq(symlink("loop_a", test_tmp_path("loop_b")), 0);
    cr_expect_eq(alb_output_check(test_tmp_path("loop_a"), &err), -1);
    cr_expect(strstr(err.msg, "loop_a: cannot follow the symbolic link"), "%s", err.msg);
}

Test(fileio, replacing_keeps_no_temporary) {
    AlbError err;
    const char *path = test_tmp_path("f");
    cr_assert_eq(atomic_write_file(path, "one", 3, &err), 0, "%s", err.msg);
    cr_assert_eq(atomic_write_file(path, "two!", 4, &err), 0, "%s", err.msg);
    char *data;
    size_t len;
    cr_assert_eq(alb_read_file(path, &data, &len, &err), 0, "%s", err.msg);
    cr_expect(len == 4 && memcmp(data, "two!", 4) == 0);
    free(data);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cr_expect_eq(access(tmp, F_OK), -1);
}

Test(fileio, reading_a_directory_says_why) {
    AlbError err;
    char *data;
    size_t len;
    cr_expect_eq(alb_read_file(test_tmp_dir, &data, &len, &err), -1);
    cr_expect(strstr(err.msg, "read error: Is a directory"), "%s", err.msg);
}
