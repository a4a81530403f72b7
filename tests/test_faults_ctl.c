/*
 * test_faults_ctl.c - connection slots cannot be starved: every phase of
 * a ctl connection has a deadline (the request line, the bytes of an
 * input, a passed descriptor's reads), each ending with an error line that
 * says why; descriptors that are not a file, a pipe or a socket are
 * refused at once, by name. A real ctl with the fake master of
 * tests/fix_ctl.h. (300 stalled submitters against the real daemon:
 * tests/test_faults.c.)
 */
#include "tests/fix_ctl.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MiB (1024ULL * 1024)

/* error_within - the connection's next line is an error of code `code`
 * within timeout_ms; its message (static) */
static const char *
error_within(int fd, const char *code, int timeout_ms)
{
    static char msg[400];
    char *line = fix_line(fd, timeout_ms);
    cr_assert_not_null(line, "no %s reply within %d ms", code, timeout_ms);
    json_t *rep = json_loads(line, 0, NULL);
    cr_assert(json_is_object(rep), "not an object: %s", line);
    cr_assert_str_eq(fix_ctl_code(rep), code, "%s", line);
    snprintf(msg, sizeof(msg), "%s",
             json_string_value(json_object_get(json_object_get(rep, "error"), "message")));
    json_decref(rep);
    free(line);
    return msg;
}

Test(faults_ctl, descriptors_that_are_no_input_are_refused_by_name, .timeout = 30)
{
    struct fix_ctl f;
    static const struct {
        const char *what, *says;
    } cases[] = {
        {"eventfd", "an eventfd descriptor"},
        {"epoll", "an eventpoll descriptor"},
        {"/dev/zero", "a character device"},
    };

    fix_ctl_start(&f, MiB);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int in = i == 0   ? eventfd(0, EFD_CLOEXEC)
                 : i == 1 ? epoll_create1(EPOLL_CLOEXEC)
                          : open("/dev/zero", O_RDONLY | O_CLOEXEC);
        cr_assert_geq(in, 0);
        int fd = fix_ctl_connect(&f);
        fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"x.mp4\"}\n", in);
        close(in);
        const char *msg = error_within(fd, "bad_input", 5000);
        cr_assert(strstr(msg, cases[i].says), "%s: %s", cases[i].what, msg);
        close(fd);
    }
    cr_assert_eq(f.submits, 0);
    cr_assert(fix_ctl_incoming_empty(&f));
    fix_ctl_stop(&f);
}

/* Three clients hold a slot without progress, each in another phase: half
 * a request line; a submission announcing 1000 bytes that sends 10; a
 * passed pipe whose writer stays open and silent. Each is ended with a
 * "timeout" line saying why, and nothing is left in the spool. */
Test(faults_ctl, every_phase_has_a_deadline, .timeout = 90)
{
    struct fix_ctl f;
    int pipefd[2];

    fix_ctl_start(&f, MiB);
    int half = fix_ctl_connect(&f);
    fix_ctl_send(half, "{\"cmd\":", 7);
    int body = fix_ctl_connect(&f);
    const char *sub = "{\"cmd\":\"submit\",\"input\":\"x.mp4\",\"size\":1000}\n0123456789";
    fix_ctl_send(body, sub, strlen(sub));
    cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
    int piped = fix_ctl_connect(&f);
    fix_ctl_send_fd(piped, "{\"cmd\":\"submit\",\"input\":\"y.mp4\"}\n", pipefd[0]);
    close(pipefd[0]);
    int64_t t0 = fix_ms();

    const char *msg = error_within(half, "timeout", 15000);
    cr_assert(strstr(msg, "request line"), "%s", msg);
    cr_assert_geq(fix_ms() - t0, 9000, "too early: %lld ms", (long long)(fix_ms() - t0));
    msg = error_within(body, "timeout", 40000);
    cr_assert(strstr(msg, "no bytes of the input") && strstr(msg, "10 of"), "%s", msg);
    msg = error_within(piped, "timeout", 40000);
    cr_assert(strstr(msg, "no bytes of the input"), "%s", msg);
    close(pipefd[1]);
    close(half);
    close(body);
    close(piped);
    cr_assert_eq(f.submits, 0);
    cr_assert(fix_ctl_incoming_empty(&f));
    fix_ctl_stop(&f);
}

/* a client looping on bad requests cannot flood the log: warnings are
 * rate-limited, and what was dropped is counted in a later line */
Test(faults_ctl, warnings_are_rate_limited_with_a_count, .timeout = 60)
{
    struct fix_ctl f;
    char out[256];

    fix_ctl_start(&f, MiB);
    int fd = fix_ctl_connect(&f);
    for (int i = 0; i < 1000; i++) {
        fix_ctl_send(fd, "{\"cmd\":\"nope\"}\n", 15);
        json_t *rep = fix_ctl_reply(fd);
        json_decref(rep);
    }
    close(fd);
    fix_nap(1200); /* room for one more warning, which carries the count */
    json_t *rep = fix_ctl_rpc(&f, "{\"cmd\":\"nope\"}");
    json_decref(rep);
    fix_sh(out, sizeof(out), "grep -c 'warning' '%s/ctl.log'", f.dir);
    int lines = atoi(out);
    cr_assert_lt(lines, 200, "%d warning lines for 1001 bad requests", lines);
    cr_assert_eq(
        fix_sh(out, sizeof(out), "grep -o '[0-9]* warnings suppressed' '%s/ctl.log'", f.dir), 0,
        "no count of the suppressed warnings");
    fix_ctl_stop(&f);
}
