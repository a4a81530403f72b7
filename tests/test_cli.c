/*
 * test_cli.c - what a user types and sees: hlsd -V/-h, and bin/hlsctl
 * against a scripted daemon (a thread answering the socket protocol from
 * canned replies, so that each case controls exactly what the daemon
 * says: versions, error codes, a job whose progress drops on cancel).
 * Every case checks the exit status and the message.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- running */

static char out[65536], err[65536];

/* run - bin/PROG with args (NULL-terminated), stdin /dev/null, no
 * HLSD_SOCKET; stdout and stderr into out and err; the exit status */
static int
run(const char *prog, ...)
{
    char path[1024];
    char *argv[40];
    int argc = 0;
    va_list ap;

    snprintf(path, sizeof(path), "%s/%s", fix_bindir(), prog);
    argv[argc++] = path;
    va_start(ap, prog);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 39;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return fix_capture(argv, -1, "HLSD_SOCKET", out, sizeof(out), err, sizeof(err));
}

/* ------------------------------------------------------ the scripted daemon */

struct fake;
typedef json_t *(*answer_fn)(struct fake *, json_t *req);

struct fake {
    char dir[512], sock[600];
    int lfd;
    pthread_t th;
    volatile int stop;
    answer_fn answer;
    pthread_mutex_t mu;
    json_t *reqs; /* every request, in order */
    int status_calls;
};

static json_t *
job(long long id, const char *state, double progress, long long done, long long uploaded,
    long long expected)
{
    json_t *segs =
        json_pack("{s:I, s:I}", "done", (json_int_t)done, "uploaded", (json_int_t)uploaded);
    if (expected >= 0)
        json_object_set_new(segs, "expected", json_integer(expected));
    return json_pack("{s:b, s:{s:I, s:s, s:s, s:s, s:s, s:f, s:o, s:[s], s:i, s:s?, s:s?}}", "ok",
                     1, "job", "id", (json_int_t)id, "state", state, "input", "talk.mp4",
                     "created_at", "2026-01-01T00:00:00Z", "updated_at", "2026-01-01T00:00:01Z",
                     "progress", progress, "segments", segs, "renditions", "720p", "attempts", 1,
                     "playlist_url", strcmp(state, "done") == 0 ? "/srv/hls/1/master.m3u8" : NULL,
                     "error", strcmp(state, "canceled") == 0 ? "canceled by request" : NULL);
}

static json_t *
error_reply(const char *code, const char *msg)
{
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

static void
serve(struct fake *f, int c)
{
    char buf[65536];
    size_t len = 0;

    for (;;) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) {
            if (f->stop)
                return;
            continue;
        }
        ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        char *nl;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            json_t *req = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len - used);
            len -= used;
            if (req == NULL)
                return;
            pthread_mutex_lock(&f->mu);
            json_array_append(f->reqs, req);
            if (strcmp(json_string_value(json_object_get(req, "cmd")), "status") == 0)
                f->status_calls++;
            pthread_mutex_unlock(&f->mu);
            json_t *rep = f->answer(f, req);
            json_decref(req);
            char *s = json_dumps(rep, JSON_COMPACT);
            json_decref(rep);
            size_t sl = strlen(s);
            s[sl] = '\n'; /* json_dumps leaves room for the NUL */
            ssize_t w = write(c, s, sl + 1);
            free(s);
            if (w != (ssize_t)sl + 1)
                return;
        }
    }
}

static void *
fake_main(void *arg)
{
    struct fake *f = arg;

    while (!f->stop) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve(f, c);
        close(c);
    }
    return NULL;
}

static void
fake_start(struct fake *f, answer_fn answer)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/cli-%ld", fix_tmp(), (long)getpid());
    mkdir(f->dir, 0700);
    snprintf(f->sock, sizeof(f->sock), "%s/s", f->dir);
    unlink(f->sock);
    f->answer = answer;
    f->reqs = json_array();
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(f->lfd, 0);
    cr_assert_lt(strlen(f->sock), sizeof(sa.sun_path));
    memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
    cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
    cr_assert_eq(listen(f->lfd, 16), 0);
    cr_assert_eq(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void
fake_stop(struct fake *f)
{
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->lfd);
    unlink(f->sock);
    rmdir(f->dir);
    json_decref(f->reqs);
}

static size_t
nreqs(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = json_array_size(f->reqs);
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* req_cmd - the cmd of request i */
static const char *
req_cmd(struct fake *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    const char *c = json_string_value(json_object_get(json_array_get(f->reqs, i), "cmd"));
    pthread_mutex_unlock(&f->mu);
    return c ? c : "";
}

/* plain: ping answers a version, status/list answer job 7 (4 of 10 segments
 * uploaded), status 99 is refused as bad_request, submit queues job 1 */
static json_t *
answer_plain(struct fake *f, json_t *req)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    (void)f;
    if (strcmp(cmd, "ping") == 0)
        return json_pack("{s:b, s:s}", "ok", 1, "version", "9.8.7");
    if (strcmp(cmd, "status") == 0 && json_integer_value(json_object_get(req, "id")) == 99)
        return error_reply("bad_request", "\"id\" is out of range");
    if (strcmp(cmd, "status") == 0)
        return job(7, "converting", 0.4, 5, 4, 10);
    if (strcmp(cmd, "list") == 0) {
        json_t *a = job(7, "converting", 0.4, 5, 4, 10), *b = job(6, "converting", 0.1, 1, 0, -1);
        json_t *r = json_pack("{s:b, s:[O, O]}", "ok", 1, "jobs", json_object_get(a, "job"),
                              json_object_get(b, "job"));
        json_decref(a);
        json_decref(b);
        return r;
    }
    if (strcmp(cmd, "submit") == 0)
        return job(1, "queued", 0, 0, 0, -1);
    return error_reply("unknown_command", "no such command");
}

/* ---------------------------------------------------------------- hlsd */

Test(cli, hlsd_version_and_help_exit_0)
{
    char want[1024];

    snprintf(want, sizeof(want), "hlsd %s\n", fix_version());
    cr_assert_eq(run("hlsd", "-V", NULL), 0, "%s", err);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run("hlsd", "--version", NULL), 0, "%s", err);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run("hlsd", "-h", NULL), 0, "%s", err);
    cr_assert(strncmp(out, "usage: hlsd ", 12) == 0, "%s", out);
    cr_assert_str_empty(err);
    for (const char *o = "fctvVh"; *o; o++) {
        char opt[4] = {' ', '-', *o, '\0'};
        cr_expect(strstr(out, opt), "hlsd -h does not document %s: %s", opt, out);
    }
    cr_assert_eq(run("hlsd", "--help", NULL), 0, "%s", err);
    cr_assert(strncmp(out, "usage: hlsd ", 12) == 0, "%s", out);
    cr_assert_eq(run("hlsd", "-f", "--help", NULL), 0, "%s", err);
    cr_assert(strncmp(out, "usage: hlsd ", 12) == 0, "%s", out);
    cr_assert_eq(run("hlsd", "-c", "/nonexistent", "--version", NULL), 0, "%s", err);
    cr_assert_str_eq(out, want);
    /* a wrong option is still a usage error, on stderr */
    cr_assert_eq(run("hlsd", "-x", NULL), 2);
    cr_assert(strstr(err, "usage: hlsd "), "%s", err);
    cr_assert_str_empty(out);
}

/* ---------------------------------------------------------------- hlsctl */

Test(cli, hlsctl_help_covers_every_command_and_option)
{
    static const char *const words[] = {
        "submit",    "status",  "list",    "cancel",      "retry",      "workers",
        "stats",     "ping",    "-s,",     "--socket",    "--json",     "-V,",
        "--version", "-h,",     "--help",  "--ladder",    "--segment",  "--prefix",
        "--wait",    "--state", "--limit", "HLSD_SOCKET", "Exit status"};

    cr_assert_eq(run("hlsctl", "--help", NULL), 0, "%s", err);
    cr_assert_str_empty(err);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        cr_expect(strstr(out, words[i]), "hlsctl --help does not mention %s", words[i]);
    cr_assert_eq(run("hlsctl", "-h", NULL), 0);
    cr_assert(strncmp(out, "usage: hlsctl ", 14) == 0, "%s", out);
    /* help wins wherever it is, and never reaches a daemon */
    cr_assert_eq(run("hlsctl", "status", "3", "-s", "/nonexistent/s", "--help", NULL), 0);
    cr_assert(strncmp(out, "usage: hlsctl ", 14) == 0, "%s", out);
    /* no command: usage on stderr, exit 2 */
    cr_assert_eq(run("hlsctl", NULL), 2);
    cr_assert(strstr(err, "usage: hlsctl "), "%s", err);
}

Test(cli, hlsctl_version_names_client_and_daemon)
{
    struct fake f;
    char want[1024];

    /* no daemon: the client's version, a note on stderr, still exit 0 */
    cr_assert_eq(run("hlsctl", "-s", "/nonexistent/hlsd.sock", "--version", NULL), 0, "%s", err);
    snprintf(want, sizeof(want), "hlsctl %s\n", fix_version());
    cr_assert_str_eq(out, want);
    cr_assert(strstr(err, "no hlsd answers at /nonexistent/hlsd.sock"), "%s", err);

    fake_start(&f, answer_plain);
    cr_assert_eq(run("hlsctl", "--version", "-s", f.sock, NULL), 0, "%s", err);
    snprintf(want, sizeof(want), "hlsctl %s\nhlsd 9.8.7 at %s\n", fix_version(), f.sock);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run("hlsctl", "-V", "--json", "-s", f.sock, NULL), 0, "%s", err);
    json_t *j = json_loads(out, 0, NULL);
    cr_assert_not_null(j, "%s", out);
    cr_expect_str_eq(json_string_value(json_object_get(j, "client")), fix_version());
    cr_expect_str_eq(json_string_value(json_object_get(j, "daemon")), "9.8.7");
    json_decref(j);
    cr_assert_eq(nreqs(&f), 2);
    cr_assert_str_eq(req_cmd(&f, 0), "ping");
    fake_stop(&f);
}

Test(cli, hlsctl_global_options_anywhere)
{
    struct fake f;
    char file[700];

    fake_start(&f, answer_plain);
    /* -s after the command, after its argument, as --socket=, with --json */
    cr_assert_eq(run("hlsctl", "list", "-s", f.sock, NULL), 0, "%s", err);
    cr_assert(strstr(out, "talk.mp4"), "%s", out);
    cr_assert_eq(run("hlsctl", "status", "7", "--socket", f.sock, NULL), 0, "%s", err);
    cr_assert(strstr(out, "job         7\n"), "%s", out);
    cr_assert_eq(run("hlsctl", "ping", "--json", "--socket=", NULL), 2); /* empty path */
    char sockopt[1024];
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", f.sock);
    cr_assert_eq(run("hlsctl", "ping", sockopt, "--json", NULL), 0, "%s", err);
    json_t *j = json_loads(out, 0, NULL);
    cr_assert_not_null(j, "--json after the command: %s", out);
    json_decref(j);
    /* a command option's value is not taken for a global option */
    snprintf(file, sizeof(file), "%s/in.mp4", f.dir);
    FILE *fp = fopen(file, "w");
    cr_assert_not_null(fp);
    fputs("not really a video", fp);
    fclose(fp);
    cr_assert_eq(run("hlsctl", "submit", file, "--prefix", "cams", "-s", f.sock, NULL), 0, "%s",
                 err);
    cr_assert_str_eq(out, "job 1 queued (talk.mp4)\n");
    cr_assert_eq(nreqs(&f), 4);
    cr_assert_str_eq(req_cmd(&f, 3), "submit");
    unlink(file);
    fake_stop(&f);
}

Test(cli, hlsctl_usage_errors_exit_2_before_the_daemon)
{
    static const struct {
        const char *args[6];
        const char *msg;
    } bad[] = {
        {{"submit", "x.mp4", "--ladder", "foo"}, "--ladder: 'foo' is not a ladder"},
        {{"submit", "x.mp4", "--ladder=720:abc"}, "is not a ladder"},
        {{"submit", "x.mp4", "--ladder", ""}, "--ladder needs renditions"},
        {{"submit", "x.mp4", "--ladder", "100:1M"}, "is not a ladder"},
        {{"submit", "x.mp4", "--segment", "0"}, "--segment needs a number of seconds from 1 to 60"},
        {{"submit", "x.mp4", "--segment", "61"}, "from 1 to 60"},
        {{"submit", "x.mp4", "--ladder"}, "--ladder needs a value"},
        {{"submit", "x.mp4", "y.mp4"}, "submit takes one FILE"},
        {{"submit", "x.mp4", "--bogus"}, "submit: unknown option --bogus"},
        {{"list", "--state", "bogus"}, "--state must be queued, converting, uploading, done"},
        {{"list", "--state=lost"}, "not \"lost\""},
        {{"list", "--limit", "0"}, "--limit must be a number from 1 to 5000"},
        {{"list", "--limit", "5001"}, "from 1 to 5000"},
        {{"status"}, "status needs a JOB id"},
        {{"cancel", "abc"}, "JOB must be a job id"},
        {{"ping", "extra"}, "ping takes no argument"},
        {{"frobnicate"}, "unknown command \"frobnicate\""},
        {{"--nope", "ping"}, "unknown option --nope"},
        {{"ping", "-s"}, "-s needs a path"},
    };
    struct fake f;

    fake_start(&f, answer_plain);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const *a = bad[i].args;
        int rc = run("hlsctl", "-s", f.sock, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
        cr_expect_eq(rc, 2, "hlsctl %s %s %s %s: exit %d, not 2 (%s)", a[0], a[1] ? a[1] : "",
                     a[2] ? a[2] : "", a[3] ? a[3] : "", rc, err);
        cr_expect(strncmp(err, "hlsctl: ", 8) == 0 && strstr(err, bad[i].msg),
                  "%s: '%s' lacks '%s'", a[0], err, bad[i].msg);
        cr_expect(strstr(err, "hlsctl --help"), "%s", err);
    }
    cr_assert_eq(nreqs(&f), 0, "a usage error reached the daemon");
    /* the daemon's bad_request (an argument hlsctl could not check) is usage too */
    cr_assert_eq(run("hlsctl", "-s", f.sock, "status", "99", NULL), 2);
    cr_assert_str_eq(err, "hlsctl: bad_request: \"id\" is out of range\n");
    /* other refusals stay 1; an absent daemon 3 */
    cr_assert_eq(run("hlsctl", "-s", f.sock, "workers", NULL), 1);
    cr_assert(strstr(err, "unknown_command"), "%s", err);
    fake_stop(&f);
    cr_assert_eq(run("hlsctl", "-s", f.sock, "ping", NULL), 3);
}

Test(cli, hlsctl_status_and_list_show_segment_totals)
{
    struct fake f;

    fake_start(&f, answer_plain);
    cr_assert_eq(run("hlsctl", "-s", f.sock, "status", "7", NULL), 0, "%s", err);
    cr_assert(strstr(out, "segments    4/10 uploaded, 5 written\n"), "%s", out);
    cr_assert_eq(run("hlsctl", "-s", f.sock, "list", NULL), 0, "%s", err);
    cr_assert(strstr(out, " 4/10 "), "%s", out);
    cr_assert(strstr(out, " 0/? "), "no total known yet: %s", out);
    fake_stop(&f);
}

/* fake_input - a one-byte input file in f's directory, for a submit */
static void
fake_input(struct fake *f, char *file, size_t cap)
{
    snprintf(file, cap, "%s/in.mp4", f->dir);
    FILE *fp = fopen(file, "w");
    cr_assert_not_null(fp);
    fputs("x", fp);
    fclose(fp);
}

/* One status answer of a scripted job. */
struct step {
    const char *state;
    double progress;
    long long done, uploaded, expected;
};

/* scripted - submit queues job id; the i-th status answers steps[i - 1],
 * the last step from then on */
static json_t *
scripted(struct fake *f, json_t *req, long long id, const struct step *steps, int n)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (strcmp(cmd, "submit") == 0)
        return job(id, "queued", 0, 0, 0, -1);
    const struct step *s =
        &steps[f->status_calls >= 1 && f->status_calls < n ? f->status_calls - 1 : n - 1];
    return job(id, s->state, s->progress, s->done, s->uploaded, s->expected);
}

/* a job that converts, then is canceled: the daemon's progress drops from
 * 50 % to 16 % and its uploaded count from 4 to 3 on the way */
static json_t *
answer_cancel(struct fake *f, json_t *req)
{
    static const struct step steps[] = {
        {"converting", 0.2, 2, 1, 10},
        {"converting", 0.5, 5, 4, 10},
        {"converting", 0.16, 5, 3, 10},
        {"canceled", 0.16, 5, 3, 10},
    };
    return scripted(f, req, 1, steps, 4);
}

/* a job without an expected total: counts, singular and plural, and the
 * written count as the total once conversion is over */
static json_t *
answer_plain_wait(struct fake *f, json_t *req)
{
    static const struct step steps[] = {
        {"converting", 0.1, 1, 1, -1},
        {"converting", 0.6, 3, 2, -1},
        {"uploading", 0.9, 5, 4, -1},
        {"done", 1, 5, 5, -1},
    };
    return scripted(f, req, 2, steps, 4);
}

Test(cli, hlsctl_wait_progress_never_goes_back, .timeout = 30)
{
    struct fake f;
    char file[700];

    fake_start(&f, answer_cancel);
    fake_input(&f, file, sizeof(file));
    cr_assert_eq(run("hlsctl", "submit", file, "--wait", "-s", f.sock, NULL), 1, "%s", err);
    cr_assert_str_eq(out, "job 1 submitted (talk.mp4)\n"
                          "job 1 converting 20% (1/10 segments uploaded)\n"
                          "job 1 converting 50% (4/10 segments uploaded)\n"
                          "job 1 canceled 50% (4/10 segments uploaded)\n");
    cr_assert_str_eq(err, "hlsctl: job 1 canceled: canceled by request\n");
    fake_stop(&f);

    fake_start(&f, answer_plain_wait);
    cr_assert_eq(run("hlsctl", "submit", file, "--wait", "-s", f.sock, NULL), 0, "%s", err);
    cr_assert_str_eq(out, "job 2 submitted (talk.mp4)\n"
                          "job 2 converting 10% (1 segment uploaded, 1 written)\n"
                          "job 2 converting 60% (2 segments uploaded, 3 written)\n"
                          "job 2 uploading 90% (4/5 segments uploaded)\n"
                          "job 2 done 100% (5/5 segments uploaded)\n"
                          "job 2 done: /srv/hls/1/master.m3u8\n");
    unlink(file);
    fake_stop(&f);
}

/* ------------------------------------------------------- the real daemon */

/* the same against bin/hlsd: versions agree, --wait's lines only go
 * forward and end with a total, and the worker's log says "1 rendition" */
Test(cli, real_daemon_version_progress_and_plurals, .timeout = 120)
{
    struct fix_daemon d;
    static char text[16384];
    char want[2048];

    fix_daemon_init(&d, "cli", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);

    cr_assert_eq(fix_daemon_ctl(&d, text, sizeof(text), "--version"), 0);
    snprintf(want, sizeof(want), "hlsctl %s\nhlsd %s at %s\n", fix_version(), fix_version(),
             d.sock);
    cr_assert_str_eq(text, want);

    int rc = fix_daemon_ctl(&d, text, sizeof(text),
                            "submit '%s' --ladder 240:400k --segment 1 --wait", clip);
    cr_assert_eq(rc, 0, "hlsctl exited %d: %s", rc, text);
    double last_pct = -1;
    long long last_up = -1;
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long long id, up, total;
        double pct;
        char state[32];
        if (sscanf(line, "job %lld %31s %lf%%", &id, state, &pct) != 3)
            continue;
        const char *paren = strchr(line, '(');
        cr_assert_not_null(paren, "%s", line);
        if (sscanf(paren, "(%lld/%lld segment", &up, &total) == 2) {
            cr_assert_leq(up, total, "%s", line);
        } else {
            cr_assert_eq(sscanf(paren, "(%lld segment", &up), 1, "%s", line);
        }
        /* "1 segment", "N segments", "N/1 segment", "N/M segments" */
        cr_assert(!strstr(paren, "(1 segments") && !strstr(paren, "/1 segments"), "%s", line);
        cr_assert(strstr(paren, "1 segment uploaded") || strstr(paren, "segments uploaded"), "%s",
                  line);
        cr_assert_geq(pct, last_pct, "progress went back: %s", line);
        cr_assert_geq(up, last_up, "uploaded count went back: %s", line);
        last_pct = pct;
        last_up = up;
        lines++;
    }
    cr_assert_gt(lines, 1);
    cr_assert_eq(last_pct, 100);
    json_t *job = fix_daemon_wait_done(&d, 1, 1000);
    cr_assert_geq(fix_daemon_segs(job, "uploaded"), 2, "a 4 s clip in 1 s segments");
    json_decref(job);
    cr_assert(fix_daemon_log_contains(&d, "into 1 rendition\n"), "see %s", d.log);
    cr_assert(!fix_daemon_log_contains(&d, " 1 renditions"), "see %s", d.log);
    cr_assert_eq(fix_daemon_stop(&d, SIGTERM, 10000), 0);
}

/* on a terminal: one line redrawn with \r, its numbers never going back */
Test(cli, hlsctl_wait_progress_bar_on_a_terminal, .timeout = 30)
{
    struct fake f;
    char file[700];
    static char text[65536];

    if (fix_sh(NULL, 0, "command -v script >/dev/null") != 0)
        cr_skip_test("script(1) is not installed");
    fake_start(&f, answer_cancel);
    fake_input(&f, file, sizeof(file));
    /* script(1) gives hlsctl a pseudo-terminal */
    int rc = fix_sh(text, sizeof(text),
                    "script -qec \"'%s/hlsctl' -s '%s' submit '%s' --wait\" /dev/null 2>&1",
                    fix_bindir(), f.sock, file);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, text);
    cr_assert(strstr(text, "\rjob 1 [######"), "no progress bar: %s", text);
    int last = -1, bars = 0;
    for (char *p = text; (p = strstr(p, "\rjob 1 [")) != NULL; p++) {
        int pct;
        char *close = strchr(p, ']');
        cr_assert_not_null(close);
        cr_assert_eq(sscanf(close + 1, " %d%%", &pct), 1, "%s", p);
        cr_assert_geq(pct, last, "the bar went back to %d%% after %d%%", pct, last);
        cr_assert(strstr(p, "segments uploaded"), "%s", p);
        last = pct;
        bars++;
    }
    cr_assert_geq(bars, 3);
    cr_assert_eq(last, 50);
    cr_assert(strstr(text, "canceled    4/10 segments uploaded"), "%s", text);
    cr_assert(strstr(text, "hlsctl: job 1 canceled: canceled by request"), "%s", text);
    unlink(file);
    fake_stop(&f);
}
