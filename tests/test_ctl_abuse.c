/*
 * test_ctl_abuse.c - clients that misbehave, a master that does not answer
 * or dies, and the listening socket's rules. After each abuse ctl must
 * still be alive and answering, and the spool must hold nothing stray.
 */
#include "daemon/ctl.h"
#include "daemon/log.h"
#include "ipc/record.h"
#include "tests/fix_ctl.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static void
ping_alive(struct fix_ctl *f)
{
    cr_assert(fix_ctl_alive(f), "ctl died (see %s/ctl.log)", f->dir);
    json_t *rep = fix_ctl_rpc(f, "{\"cmd\":\"ping\"}");
    cr_assert_str_eq(fix_ctl_code(rep), "");
    json_decref(rep);
}

Test(ctl_abuse, oversize_line_is_refused_and_closed, .timeout = 30)
{
    struct fix_ctl f;

    signal(SIGPIPE, SIG_IGN);
    fix_ctl_start(&f, MiB);
    size_t n = CTL_LINE_MAX + 100;
    char *big = malloc(n);
    memset(big, ' ', n);
    memcpy(big, "{\"cmd\":\"ping\",\"pad\":\"", 21);
    int fd = fix_ctl_connect(&f);
    /* ctl may close before taking all of it: short sends are fine */
    ssize_t w = send(fd, big, n, MSG_NOSIGNAL);
    (void)w;
    json_t *rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "too_large");
    json_decref(rep);
    cr_assert_null(fix_line(fd, 5000), "the connection stays open after too_large");
    close(fd);

    /* exactly CTL_LINE_MAX bytes is still a request */
    memset(big, ' ', CTL_LINE_MAX);
    memcpy(big, "{\"cmd\":\"ping\"}", 14);
    big[CTL_LINE_MAX] = '\n';
    fd = fix_ctl_connect(&f);
    fix_ctl_send(fd, big, CTL_LINE_MAX + 1);
    rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "");
    json_decref(rep);
    close(fd);
    free(big);
    ping_alive(&f);
    fix_ctl_stop(&f);
}

Test(ctl_abuse, binary_garbage_never_crashes, .timeout = 30)
{
    struct fix_ctl f;
    unsigned x = 12345;

    signal(SIGPIPE, SIG_IGN);
    fix_ctl_start(&f, MiB);
    for (int round = 0; round < 20; round++) {
        int fd = fix_ctl_connect(&f);
        char buf[4096];
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)(x >> 16);
        }
        if (round % 2) {
            static const char l[] = "{\"cmd\":\"submit\",\"input\":\"\xff\xfe\",\"size\":99}\n";
            memcpy(buf + 100, l, sizeof(l) - 1);
        }
        ssize_t w = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
        (void)w;
        /* read whatever comes back: every line must be JSON */
        char *s;
        while ((s = fix_line(fd, 300)) != NULL) {
            json_t *rep = json_loads(s, 0, NULL);
            cr_assert(json_is_object(rep), "garbage got a non-JSON reply: %s", s);
            cr_assert_str_neq(fix_ctl_code(rep), "");
            json_decref(rep);
            free(s);
        }
        close(fd);
    }
    /* deep nesting, NULs, invalid UTF-8 */
    static const char *const nasty[] = {
        "{\"cmd\":\"ping\",\"x\":\"\\u0000\"}",
        "{\"cmd\":\"\\ud800\"}",
        "{\"cmd\":\"status\",\"id\":1e400}",
        "{\"cmd\":\"status\",\"id\":99999999999999999999999}",
    };
    for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
        json_t *rep = fix_ctl_rpc(&f, nasty[i]);
        cr_assert_str_neq(fix_ctl_code(rep), "", "%s was accepted", nasty[i]);
        json_decref(rep);
    }
    char *deep = malloc(60001);
    memset(deep, '[', 60000);
    deep[60000] = '\0';
    json_t *rep = fix_ctl_rpc(&f, deep);
    cr_assert_str_eq(fix_ctl_code(rep), "bad_request");
    json_decref(rep);
    free(deep);
    ping_alive(&f);
    cr_assert(fix_ctl_incoming_empty(&f));
    fix_ctl_stop(&f);
}

/* conditions to wait for: an input being copied into the spool, and none */
static int
ingesting(void *ud)
{
    return !fix_ctl_incoming_empty(ud);
}

static int
incoming_empty(void *ud)
{
    return fix_ctl_incoming_empty(ud);
}

Test(ctl_abuse, clients_that_vanish_mid_request, .timeout = 30)
{
    struct fix_ctl f;

    signal(SIGPIPE, SIG_IGN);
    fix_ctl_start(&f, 10 * MiB);
    /* half a line, then gone */
    int fd = fix_ctl_connect(&f);
    fix_ctl_send(fd, "{\"cmd\":\"sta", 11);
    close(fd);
    /* a request, then gone before the reply */
    fd = fix_ctl_connect(&f);
    fix_ctl_send(fd, "{\"cmd\":\"ping\"}\n", 15);
    close(fd);
    /* an inline submit cut short */
    fd = fix_ctl_connect(&f);
    const char *l = "{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"size\":100000}\n0123456789";
    fix_ctl_send(fd, l, strlen(l));
    cr_assert(fix_wait(ingesting, &f, 10000), "the inline submission never reached the spool");
    close(fd);
    cr_assert(fix_wait(incoming_empty, &f, 10000), "an abandoned inline submission was left");
    /* a streamed submit whose client dies while the pipe is still open */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fd = fix_ctl_connect(&f);
    fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"-\"}\n", p[0]);
    cr_assert_eq(write(p[1], "partial", 7), 7);
    cr_assert(fix_wait(ingesting, &f, 10000), "the streamed submission never reached the spool");
    close(fd);
    cr_assert(fix_wait(incoming_empty, &f, 10000),
              "an abandoned streamed submission was left in the spool");
    cr_assert_eq(f.submits, 0);
    close(p[0]);
    close(p[1]);
    ping_alive(&f);
    fix_ctl_stop(&f);
}

Test(ctl_abuse, many_clients_at_once_and_pipelined, .timeout = 30)
{
    struct fix_ctl f;
    enum { N = 100 };
    int fds[N];

    fix_ctl_start(&f, MiB);
    for (int i = 0; i < N; i++)
        fds[i] = fix_ctl_connect(&f);
    for (int i = N - 1; i >= 0; i--) {
        char line[64];
        snprintf(line, sizeof(line), "{\"cmd\":\"status\",\"id\":%d}\n", i + 1);
        fix_ctl_send(fds[i], line, strlen(line));
    }
    for (int i = 0; i < N; i++) {
        json_t *rep = fix_ctl_reply(fds[i]);
        cr_assert_eq(json_integer_value(json_object_get(json_object_get(rep, "job"), "id")), i + 1,
                     "client %d got another's reply", i);
        json_decref(rep);
        close(fds[i]);
    }
    /* 200 requests in one write; replies in order */
    char *buf = malloc(200 * 40);
    size_t len = 0;
    for (int i = 0; i < 200; i++)
        len += (size_t)sprintf(buf + len, "{\"cmd\":\"status\",\"id\":%d}\n", i + 1);
    int fd = fix_ctl_connect(&f);
    fix_ctl_send(fd, buf, len);
    for (int i = 0; i < 200; i++) {
        json_t *rep = fix_ctl_reply(fd);
        cr_assert_eq(json_integer_value(json_object_get(json_object_get(rep, "job"), "id")), i + 1);
        json_decref(rep);
    }
    close(fd);
    free(buf);
    fix_ctl_stop(&f);
}

Test(ctl_abuse, empty_and_directory_inputs, .timeout = 30)
{
    struct fix_ctl f;
    char path[512];

    fix_ctl_start(&f, MiB);
    fix_ctl_file(&f, "empty.mp4", 0, path, sizeof(path));
    const char *const what[] = {path, "dir"};
    for (int i = 0; i < 2; i++) {
        int in = i == 0 ? open(path, O_RDONLY) : open(f.dir, O_RDONLY | O_DIRECTORY);
        cr_assert_geq(in, 0);
        int fd = fix_ctl_connect(&f);
        fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"x\"}\n", in);
        close(in);
        json_t *rep = fix_ctl_reply(fd);
        cr_assert_str_eq(fix_ctl_code(rep), "bad_input", "%s", what[i]);
        json_decref(rep);
        close(fd);
    }
    cr_assert_eq(f.submits, 0);
    cr_assert(fix_ctl_incoming_empty(&f));
    ping_alive(&f);
    fix_ctl_stop(&f);
}

Test(ctl_abuse, silent_master_gives_unavailable_and_late_replies_are_dropped, .timeout = 30)
{
    struct fix_ctl f;

    fix_ctl_start(&f, MiB);
    f.delay_ms = CTL_REPLY_TIMEOUT + 700;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *rep = fix_ctl_rpc(&f, "{\"cmd\":\"ping\"}");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_str_eq(fix_ctl_code(rep), "unavailable");
    json_decref(rep);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(s > 4.5 && s < 6.5, "unavailable after %.2f s", s);
    /* the late answer to request 1 must not answer request 2 */
    rep = fix_ctl_rpc(&f, "{\"cmd\":\"ping\"}");
    cr_assert_str_eq(json_string_value(json_object_get(rep, "version")), "test-seq-2");
    json_decref(rep);
    fix_ctl_stop(&f);
}

static int
stale_gone(void *path)
{
    return access(path, F_OK) < 0;
}

Test(ctl_abuse, orphan_exits_and_stale_spool_is_cleaned, .timeout = 30)
{
    const char *tmp = fix_tmp();
    struct config cfg;
    char err[2048], stale[2048];
    int p[2];

    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.daemon.socket, sizeof(cfg.daemon.socket), "%s/orphan-%d.sock", tmp ? tmp : "/tmp",
             (int)getpid());
    snprintf(cfg.daemon.spool_dir, sizeof(cfg.daemon.spool_dir), "%s/orphan-%d-spool",
             tmp ? tmp : "/tmp", (int)getpid());
    cfg.daemon.max_input_bytes = MiB;
    /* what a crashed ctl left behind */
    snprintf(stale, sizeof(stale), "%s/incoming/0123abcd", cfg.daemon.spool_dir);
    mkdir(cfg.daemon.spool_dir, 0700);
    snprintf(err, sizeof(err), "%s/incoming", cfg.daemon.spool_dir);
    mkdir(err, 0700);
    cr_assert_eq(mkdir(stale, 0700), 0);
    strcat(stale, "/input");
    close(open(stale, O_WRONLY | O_CREAT, 0600));

    char stale_dir[sizeof(stale)];
    snprintf(stale_dir, sizeof(stale_dir), "%.*s", (int)(strlen(stale) - 6), stale);
    int lfd = ctl_listen(&cfg, err, sizeof(err));
    cr_assert_geq(lfd, 0, "%s", err);
    /* we adopt the grandchild when its master dies */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t master = fork();
    if (master == 0) {
        shmseg_t *seg = shmseg_create(7, 16, REC_SIZE);
        pid_t c = fork();
        if (c == 0) {
            log_init("ctl", 1, LOG_LVL_ERROR);
            shmseg_child_attach(seg);
            _exit(ctl_main(&cfg, seg, lfd));
        }
        if (write(p[1], &c, sizeof(c)) != sizeof(c))
            _exit(1);
        /* die once ctl has started: it has cleaned what the crash left */
        _exit(fix_wait(stale_gone, stale_dir, 10000) ? 0 : 1);
    }
    pid_t ctl;
    int mst;
    cr_assert_eq(read(p[0], &ctl, sizeof(ctl)), (ssize_t)sizeof(ctl));
    cr_assert_eq(waitpid(master, &mst, 0), master);
    cr_assert(WIFEXITED(mst) && WEXITSTATUS(mst) == 0, "ctl did not clean up within 10 s");
    int st;
    cr_assert_eq(waitpid(ctl, &st, 0), ctl);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_ORPHAN, "ctl status %#x", st);
    stale[strlen(stale) - 6] = '\0';
    cr_assert_eq(access(stale, F_OK), -1, "stale incoming dir not cleaned");
    close(lfd);
}

Test(ctl_abuse, listen_replaces_stale_but_never_live_sockets, .timeout = 30)
{
    const char *tmp = fix_tmp();
    struct config cfg;
    char err[256];
    struct stat st;

    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.daemon.socket, sizeof(cfg.daemon.socket), "%s/listen-%d.sock", tmp ? tmp : "/tmp",
             (int)getpid());
    cfg.daemon.socket_mode = 0660;
    int a = ctl_listen(&cfg, err, sizeof(err));
    cr_assert_geq(a, 0, "%s", err);
    cr_assert_eq(stat(cfg.daemon.socket, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0660);
    /* alive: refused */
    cr_assert_eq(ctl_listen(&cfg, err, sizeof(err)), -1);
    cr_assert_eq(errno, EADDRINUSE);
    cr_assert_not_null(strstr(err, "another daemon"), "%s", err);
    /* stale: replaced */
    close(a);
    a = ctl_listen(&cfg, err, sizeof(err));
    cr_assert_geq(a, 0, "%s", err);
    close(a);
    /* not a socket: left alone */
    unlink(cfg.daemon.socket);
    close(open(cfg.daemon.socket, O_WRONLY | O_CREAT, 0600));
    cr_assert_eq(ctl_listen(&cfg, err, sizeof(err)), -1);
    cr_assert_eq(access(cfg.daemon.socket, F_OK), 0);
    unlink(cfg.daemon.socket);
    /* unknown owner */
    snprintf(cfg.daemon.user, sizeof(cfg.daemon.user), "no-such-user-hlsd");
    cr_assert_eq(ctl_listen(&cfg, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "unknown user"), "%s", err);
}
