/*
 * test_notify.c - webhooks, received by the loopback web server
 * (tools/test-web-server.py), which checks X-Hlsd-Signature against the
 * secret and logs each delivery: a done job and a failed job are each
 * delivered once with the right signature, the job object (metadata
 * included) as body; a receiver that is down while the job ends gets the
 * delivery after a daemon restart, once it is up, exactly once.
 */
#include "tests/fix_daemon.h"
#include "tests/fix_web.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define SECRET "hook-s3cret"

struct hooks_ud {
    struct fix_web *w;
    int64_t id;
    const char *state;
    int n;
};

static int
hooks_reached(void *ud)
{
    struct hooks_ud *h = ud;
    return fix_web_hooks(h->w, h->id, h->state, NULL) >= h->n;
}

/* wait_hooks - until n good deliveries of job id in state were logged */
static int
wait_hooks(struct fix_web *w, int64_t id, const char *state, int n, int timeout_ms)
{
    struct hooks_ud h = {w, id, state, n};
    return fix_wait(hooks_reached, &h, timeout_ms);
}

Test(notify, done_and_failed_jobs_are_posted_signed, .timeout = 120)
{
    struct fix_daemon d;
    struct fix_web w;
    char nx[256], args[512];

    fix_web_init(&w, "notify-signed", SECRET);
    cr_assert_eq(fix_web_start(&w, 0), 0);
    cr_assert_eq(fix_daemon_init(&d, "notify-signed", 0), 0);
    /* no default URL: each job names its own */
    snprintf(nx, sizeof(nx), "\n[notify]\nsecret = %s\n", SECRET);
    fix_daemon_config(&d, 1, 2, NULL, NULL, nx);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);

    snprintf(args, sizeof(args), "--notify '%s' --metadata '{\"title\":\"Talk\",\"n\":3}'",
             fix_web_url(&w, "/hook"));
    int64_t ok = fix_daemon_submit(&d, fix_clip(2, 160, 120), args);
    cr_assert_gt(ok, 0);
    int64_t bad = fix_daemon_submit(&d, fix_daemon_text(&d, "notes.txt", 4096), args);
    cr_assert_gt(bad, 0);
    json_decref(fix_daemon_wait_done(&d, ok, 90000));
    cr_assert(wait_hooks(&w, ok, "done", 1, 30000), "no signed webhook for the done job");
    cr_assert(wait_hooks(&w, bad, "failed", 1, 30000), "no signed webhook for the failed job");
    int wrong;
    fix_web_hooks(&w, 0, NULL, &wrong);
    cr_assert_eq(wrong, 0, "%d deliveries had a wrong signature", wrong);

    /* the body is the job object, its metadata included */
    char *log = fix_slurp(w.log);
    cr_assert(strstr(log, "\"title\": \"Talk\""), "metadata not in the webhook: %s", log);
    cr_assert(strstr(log, "\"playlist_url\""), "not the job object: %s", log);
    free(log);
    cr_assert_null(strstr(fix_slurp(d.log), SECRET), "the secret is in the log");
    /* the file holding the secret is readable by others: said at start */
    cr_assert(fix_daemon_log_contains(&d, "[notify] secret) and is readable by others"),
              "no warning about the readable secret");
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
    /* each exactly once: nothing was left to retry */
    cr_assert_eq(fix_web_hooks(&w, ok, "done", NULL), 1);
    cr_assert_eq(fix_web_hooks(&w, bad, "failed", NULL), 1);
    fix_web_stop(&w);
}

Test(notify, delivery_survives_a_restart_while_the_receiver_is_down, .timeout = 120)
{
    struct fix_daemon d;
    struct fix_web w;
    char nx[512];

    fix_web_init(&w, "notify-restart", SECRET);
    /* a port for the receiver, then nobody listening on it */
    cr_assert_eq(fix_web_start(&w, 0), 0);
    int port = w.port;
    fix_web_stop(&w);
    cr_assert_eq(fix_daemon_init(&d, "notify-restart", 0), 0);
    snprintf(nx, sizeof(nx),
             "\n[notify]\nurl = http://127.0.0.1:%d/hook\nsecret = %s\n"
             "max_attempts = 1000\ntimeout = 2s\n",
             port, SECRET);
    fix_daemon_config(&d, 1, 1, NULL, NULL, nx);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, fix_daemon_text(&d, "bad.txt", 4096), "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, "failed", 30000);
    cr_assert_not_null(job);
    json_decref(job);
    /* the delivery is tried and fails while nobody listens */
    for (int64_t t0 = fix_ms(); !fix_daemon_log_contains(&d, "webhook attempt 2 failed");)
        cr_assert_lt(fix_ms() - t0, 20000, "no failed webhook attempt in %s", d.log);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);

    /* the receiver comes up; the restarted daemon delivers, once */
    cr_assert_eq(fix_web_start(&w, port), 0, "the receiver could not take port %d again", port);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start again (log %s)", d.log);
    cr_assert(wait_hooks(&w, id, "failed", 1, 30000), "not delivered after the restart");
    for (int64_t t0 = fix_ms(); !fix_daemon_log_contains(&d, "webhook delivered");)
        cr_assert_lt(fix_ms() - t0, 10000, "the daemon did not record the delivery");
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
    cr_assert_eq(fix_daemon_start(&d), 0);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
    cr_assert_eq(fix_web_hooks(&w, id, NULL, NULL), 1, "delivered more than once");
    fix_web_stop(&w);
}
