/*
 * test_faults_s3.c - S3 outages and errors, injected by tools/fault-proxy
 * between hlsd and the run's S3 test server: an outage mid-job costs time,
 * not the job (and `status` says what is going on meanwhile); uploads
 * resume within seconds of the server coming back; 503 with and without
 * Retry-After, 500, resets mid-body and slow replies are weathered; a 403
 * fails the job at once. The outage lasts HLSD_FAULT_OUTAGE_S seconds (20
 * in `make test`, 120 in `make test-faults`).
 */
#include "tests/fix_daemon.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct proxy {
    pid_t pid;
    int port;
    char ctl[700];
    char real_endpoint[256]; /* the S3 server behind it */
};

static int
port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int
proxy_up(void *ud)
{
    return port_open(((struct proxy *)ud)->port);
}

/* proxy_mode - what the proxy does from now on (tools/fault-proxy) */
static void
proxy_mode(struct proxy *p, const char *mode)
{
    char tmp[760];
    snprintf(tmp, sizeof(tmp), "%s.tmp", p->ctl);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", mode);
    fclose(f);
    cr_assert_eq(rename(tmp, p->ctl), 0);
    fix_nap(150); /* read every 50 ms */
}

/* proxy_start - a fault proxy in front of the S3 test server, and hlsd's
 * configuration pointed at it (d must be initialised for S3); -1 if there
 * is no S3 server */
static int
proxy_start(struct fix_daemon *d, struct proxy *p)
{
    const char *ep = getenv("HLSD_TEST_S3_ENDPOINT");
    if (ep == NULL)
        return -1;
    snprintf(p->real_endpoint, sizeof(p->real_endpoint), "%s", ep);
    const char *hostport = strstr(ep, "://") ? strstr(ep, "://") + 3 : ep;
    snprintf(p->ctl, sizeof(p->ctl), "%s/proxy.ctl", d->dir);
    for (int tries = 0; tries < 20; tries++) {
        p->port = 20000 + (int)((getpid() * 7919 + tries * 104729) % 40000);
        if (port_open(p->port))
            continue;
        char port[16], log[760];
        snprintf(port, sizeof(port), "%d", p->port);
        snprintf(log, sizeof(log), "%s/proxy.log", d->dir);
        char prog[700];
        snprintf(prog, sizeof(prog), "%s/tools/fault-proxy", fix_srcdir());
        p->pid = fork();
        cr_assert_geq(p->pid, 0);
        if (p->pid == 0) {
            freopen(log, "a", stderr);
            freopen("/dev/null", "w", stdout);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            execl(prog, prog, port, hostport, p->ctl, (char *)NULL);
            _exit(127);
        }
        if (fix_wait(proxy_up, p, 5000)) {
            char url[64];
            snprintf(url, sizeof(url), "http://127.0.0.1:%d", p->port);
            setenv("HLSD_TEST_S3_ENDPOINT", url, 1); /* for fix_daemon_config */
            return 0;
        }
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    cr_assert_fail("fault-proxy did not start");
    return -1;
}

static void
proxy_stop(struct proxy *p)
{
    setenv("HLSD_TEST_S3_ENDPOINT", p->real_endpoint, 1);
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
}

/* published_ok - what the job published, downloaded by an independent
 * client straight from the server: a valid HLS tree; its segment count */
static int
published_ok(struct fix_daemon *d, int64_t id)
{
    char out[4096], down[700];
    snprintf(down, sizeof(down), "%s/down", d->dir);
    int rc = fix_daemon_aws(out, sizeof(out),
                            "s3 cp --recursive --only-show-errors 's3://%s/%s/%lld/' '%s'",
                            getenv("HLSD_TEST_S3_BUCKET"), d->s3_prefix, (long long)id, down);
    cr_assert_eq(rc, 0, "aws s3 cp exited %d: %s", rc, out);
    return fix_daemon_published(down, NULL);
}

static int
outage_seconds(void)
{
    const char *s = getenv("HLSD_FAULT_OUTAGE_S");
    return s && atoi(s) > 0 ? atoi(s) : 20;
}

/* An S3 outage (connections refused) in the middle of a job: the job waits
 * it out, `status` shows the last error and the next retry meanwhile, the
 * uploads resume within seconds of the server's return, and the job ends
 * done and valid. */
Test(faults_s3, outage_mid_job_ends_done_and_valid, .timeout = 400)
{
    struct fix_daemon d;
    struct proxy p;
    char out[4096], mode[64];

    if (fix_daemon_init(&d, "outage", 1) < 0)
        cr_skip_test("no S3 test server");
    cr_assert_eq(proxy_start(&d, &p), 0);
    /* a back-off that grows well past the probe interval */
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium", "backoff_max = 30s");
    const char *clip = fix_clip(30, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    json_t *j = fix_daemon_wait_uploaded(&d, id, 2, 90000);
    cr_assert_not_null(j);
    json_decref(j);

    int secs = outage_seconds();
    snprintf(mode, sizeof(mode), "refuse for %d", secs);
    int64_t t0 = fix_ms();
    proxy_mode(&p, mode);
    /* meanwhile: the last error and the next retry, not "error: null" */
    int seen = 0;
    long long done0 = -1, done = 0, before = 0;
    int64_t wrote_at = 0; /* when a segment written during the outage was first seen */
    while (fix_ms() < t0 + (int64_t)secs * 1000 - 1500) {
        j = fix_daemon_status(&d, id);
        cr_assert_not_null(j);
        cr_assert_str_neq(fix_daemon_str(j, "state"), "failed", "%s", fix_daemon_str(j, "error"));
        json_t *r = json_object_get(j, "upload_retry");
        if (json_is_object(r)) {
            cr_assert(strstr(json_string_value(json_object_get(r, "last_error")), "connect"), "%s",
                      json_string_value(json_object_get(r, "last_error")));
            cr_assert_not_null(json_string_value(json_object_get(r, "next_at")));
            if (!seen) {
                cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id), 0);
                cr_assert(strstr(out, "retrying"), "hlsctl status: %s", out);
            }
            seen = 1;
        }
        done = fix_daemon_segs(j, "done");
        if (done0 < 0)
            done0 = done;
        if (done != done0 && wrote_at == 0)
            wrote_at = fix_ms();
        before = fix_daemon_segs(j, "uploaded");
        json_decref(j);
        fix_nap(500);
    }
    /* (a conversion slow enough to write nothing during the outage, as
     * under a sanitizer or a loaded machine, tries no upload: nothing to
     * show then; nor one whose first segment came at the window's end) */
    cr_assert(seen || wrote_at == 0 || wrote_at > t0 + (int64_t)secs * 1000 - 4500,
              "status never showed the retrying uploads");

    /* the server is back: uploads waiting resume within seconds */
    while (fix_ms() < t0 + (int64_t)secs * 1000)
        fix_nap(50);
    int64_t back = fix_ms();
    if (done > before) {
        j = fix_daemon_wait_uploaded(&d, id, before + 1, 15000);
        cr_assert_not_null(j, "no upload after the outage");
        json_decref(j);
        cr_assert_lt(fix_ms() - back, 6000, "uploads resumed %lld ms after the outage",
                     (long long)(fix_ms() - back));
    }

    j = fix_daemon_wait_done(&d, id, 240000);
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 30, "15 video and 15 audio segments");
    json_decref(j);
    proxy_stop(&p);
    cr_assert_eq(published_ok(&d, id), 30);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* The server misbehaves in every retryable way in turn, a few seconds
 * each: 503 with Retry-After, 503 without, 500, resets in the middle of a
 * request's body, slow replies. The job ends done and valid. */
Test(faults_s3, flaky_server_every_retryable_fault_ends_done, .timeout = 300)
{
    struct fix_daemon d;
    struct proxy p;
    static const char *const modes[] = {"503 1 for 3", "503 for 3", "500 for 3", "reset for 3",
                                        "slow 300 for 3"};

    if (fix_daemon_init(&d, "flaky", 1) < 0)
        cr_skip_test("no S3 test server");
    cr_assert_eq(proxy_start(&d, &p), 0);
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium", NULL);
    const char *clip = fix_clip(20, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    json_t *j = fix_daemon_wait_uploaded(&d, id, 1, 90000);
    cr_assert_not_null(j);
    json_decref(j);
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        proxy_mode(&p, modes[m]);
        fix_nap(3200);
        j = fix_daemon_status(&d, id);
        cr_assert_str_neq(fix_daemon_str(j, "state"), "failed", "after %s: %s", modes[m],
                          fix_daemon_str(j, "error"));
        json_decref(j);
    }
    proxy_mode(&p, "pass");
    j = fix_daemon_wait_done(&d, id, 180000);
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 20);
    json_decref(j);
    proxy_stop(&p);
    cr_assert_eq(published_ok(&d, id), 20);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* A permanent error is not an outage: 403 fails the job at once. */
Test(faults_s3, forbidden_fails_at_once, .timeout = 120)
{
    struct fix_daemon d;
    struct proxy p;

    if (fix_daemon_init(&d, "forbid", 1) < 0)
        cr_skip_test("no S3 test server");
    cr_assert_eq(proxy_start(&d, &p), 0);
    proxy_mode(&p, "403");
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    int64_t t0 = fix_ms();
    json_t *j = fix_daemon_wait(&d, id, NULL, 60000);
    cr_assert_not_null(j);
    cr_assert_str_eq(fix_daemon_str(j, "state"), "failed");
    cr_assert(strstr(fix_daemon_str(j, "error"), "AccessDenied"), "%s", fix_daemon_str(j, "error"));
    cr_assert_not(strstr(fix_daemon_str(j, "error"), "give_up_after"));
    cr_assert_lt(fix_ms() - t0, 20000, "a 403 took %lld ms to fail", (long long)(fix_ms() - t0));
    json_decref(j);
    proxy_stop(&p);
    fix_daemon_stop(&d, SIGTERM, 10000);
}
