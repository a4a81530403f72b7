/*
 * test_fetch.c - inputs named by URL, fetched by the daemon's upload
 * workers from a loopback web server (tools/test-web-server.py) and from
 * the run's S3 server: a job that ends done and valid through redirects,
 * a 503 retried, a 404 failing at once with the status and the URL (and
 * no query string), a stalled server timed out, retried and given up, and
 * max_input_size enforced while the bytes arrive.
 */
#include "tests/fix_daemon.h"
#include "tests/fix_web.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* fetch_daemon - a daemon with short fetch timeouts, and the web server
 * serving clip.mp4 (a short clip) */
static void
fetch_daemon(struct fix_daemon *d, struct fix_web *w, const char *name, const char *daemon_extra,
             const char *input_extra)
{
    char ux[512];

    fix_web_init(w, name, "");
    const char *clip = fix_clip(2, 160, 120);
    cr_assert_not_null(clip);
    fix_sh(NULL, 0, "cp '%s' '%s/clip.mp4'", clip, w->dir);
    cr_assert_eq(fix_web_start(w, 0), 0, "the web server did not start");
    cr_assert_eq(fix_daemon_init(d, name, 0), 0);
    snprintf(ux, sizeof(ux), "\n[input]\nconnect_timeout = 2s\n%s\n",
             input_extra ? input_extra : "low_speed_time = 1s");
    fix_daemon_config(d, 1, 2, daemon_extra, NULL, ux);
    cr_assert_eq(fix_daemon_start(d), 0, "hlsd did not start (log %s)", d->log);
}

static void
fetch_end(struct fix_daemon *d, struct fix_web *w)
{
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(d, SIGTERM, 10000)), 0);
    fix_web_stop(w);
}

Test(fetch, http_input_through_redirects_ends_done_and_valid, .timeout = 120)
{
    struct fix_daemon d;
    struct fix_web w;
    char out[8192], dir[800];

    fetch_daemon(&d, &w, "fetch-http", NULL, NULL);
    /* the job exists at once, queued, with its URL (and no query) as input */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "--json submit '%s'",
                                fix_web_url(&w, "/redirect/2/clip.mp4?sig=abc")),
                 0, "%s", out);
    json_t *r = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *job = json_object_get(r, "job");
    int64_t id = json_integer_value(json_object_get(job, "id"));
    cr_assert_gt(id, 0);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "queued");
    cr_assert(strstr(fix_daemon_str(job, "input"), "/redirect/2/clip.mp4"), "input %s",
              fix_daemon_str(job, "input"));
    cr_assert_null(strstr(out, "sig=abc"), "the query string is shown: %s", out);
    json_decref(r);

    job = fix_daemon_wait_done(&d, id, 90000);
    json_t *fetch = json_object_get(job, "fetch");
    cr_assert(json_is_true(json_object_get(fetch, "done")), "fetch not done");
    json_decref(job);
    snprintf(dir, sizeof(dir), "%s/%lld", d.www, (long long)id);
    cr_assert_gt(fix_daemon_published(dir, NULL), 0, "nothing valid published in %s", dir);
    cr_assert_eq(fix_web_requests(&w, "/files/clip.mp4"), 1);

    /* a server that answers 503 once: retried with back-off, then done;
     * with a conversion option, which travels beside the input */
    id = fix_daemon_submit(&d, fix_web_url(&w, "/flaky/1/clip.mp4"), "--audio muxed");
    cr_assert_gt(id, 0);
    job = fix_daemon_wait_done(&d, id, 90000);
    char *rends = json_dumps(json_object_get(job, "renditions"), 0);
    cr_assert_null(strstr(rends, "audio"), "--audio muxed was lost: %s", rends);
    free(rends);
    json_decref(job);
    cr_assert_eq(fix_web_requests(&w, "/flaky/1/clip.mp4"), 2);
    fetch_end(&d, &w);
}

Test(fetch, not_found_fails_at_once_with_status_and_url, .timeout = 60)
{
    struct fix_daemon d;
    struct fix_web w;

    fetch_daemon(&d, &w, "fetch-404", NULL, NULL);
    int64_t id = fix_daemon_submit(&d, fix_web_url(&w, "/status/404?token=SECRET"), "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, NULL, 30000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    const char *err = fix_daemon_str(job, "error");
    cr_assert(strstr(err, "404"), "error: %s", err);
    cr_assert(strstr(err, fix_web_url(&w, "/status/404")), "error: %s", err);
    cr_assert_null(strstr(err, "SECRET"), "error shows the query: %s", err);
    json_decref(job);
    /* at once: one request, no retry */
    cr_assert_eq(fix_web_requests(&w, "/status/404"), 1);

    /* the socket protocol's submit with an input URL, no descriptor, no size */
    char line[512];
    snprintf(line, sizeof(line), "{\"cmd\":\"submit\",\"input\":\"%s\"}",
             fix_web_url(&w, "/status/403"));
    json_t *r = fix_daemon_req(&d, line);
    cr_assert(json_is_true(json_object_get(r, "ok")), "submit by URL refused");
    id = json_integer_value(json_object_get(json_object_get(r, "job"), "id"));
    cr_assert_str_eq(fix_daemon_str(json_object_get(r, "job"), "state"), "queued");
    json_decref(r);
    job = fix_daemon_wait(&d, id, NULL, 30000);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    cr_assert(strstr(fix_daemon_str(job, "error"), "403"), "error: %s",
              fix_daemon_str(job, "error"));
    json_decref(job);
    cr_assert_eq(fix_web_requests(&w, "/status/403"), 1);
    cr_assert_eq(fix_daemon_log_contains(&d, "SECRET"), 0, "the log shows the query");
    fetch_end(&d, &w);
}

Test(fetch, stalled_server_times_out_is_retried_then_fails, .timeout = 60)
{
    struct fix_daemon d;
    struct fix_web w;

    fetch_daemon(&d, &w, "fetch-stall", NULL, "max_attempts = 2\nlow_speed_time = 1s");
    int64_t t0 = fix_ms();
    int64_t id = fix_daemon_submit(&d, fix_web_url(&w, "/stall"), "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, NULL, 30000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    const char *err = fix_daemon_str(job, "error");
    cr_assert(strstr(err, "timed out"), "error: %s", err);
    cr_assert(strstr(err, "after 2 attempts"), "error: %s", err);
    json_decref(job);
    cr_assert_eq(fix_web_requests(&w, "/stall"), 2);
    cr_assert_lt(fix_ms() - t0, 20000, "the stall was not cut short by low_speed_time");
    fetch_end(&d, &w);
}

Test(fetch, max_input_size_is_enforced_while_reading, .timeout = 60)
{
    struct fix_daemon d;
    struct fix_web w;

    fetch_daemon(&d, &w, "fetch-big", "max_input_size = 64k", NULL);
    fix_sh(NULL, 0, "head -c 300000 /dev/zero > '%s/big.bin'", w.dir);
    /* announced (Content-Length) and not announced (chunked) */
    const char *paths[] = {"/files/big.bin", "/chunked/big.bin"};
    for (int i = 0; i < 2; i++) {
        int64_t id = fix_daemon_submit(&d, fix_web_url(&w, paths[i]), "");
        cr_assert_gt(id, 0);
        json_t *job = fix_daemon_wait(&d, id, NULL, 30000);
        cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
        cr_assert(strstr(fix_daemon_str(job, "error"), "max_input_size"), "%s: %s", paths[i],
                  fix_daemon_str(job, "error"));
        json_decref(job);
        cr_assert_eq(fix_web_requests(&w, paths[i]), 1, "%s was retried", paths[i]);
    }
    /* nothing of it stays in the spool */
    char out[256];
    fix_sh(out, sizeof(out), "find '%s' -name 'input*' -size +60k | wc -l", d.spool);
    cr_assert_eq(atoi(out), 0, "a partial input stayed in the spool");
    fetch_end(&d, &w);
}

Test(fetch, s3_input_from_the_bucket_ends_done, .timeout = 180)
{
    struct fix_daemon d;
    char out[8192], key[300];

    if (fix_daemon_init(&d, "fetch-s3", 1) < 0)
        cr_skip_test("no S3 test server");
    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    const char *clip = fix_clip(2, 160, 120);
    snprintf(key, sizeof(key), "%s/inputs/clip.mp4", d.s3_prefix);
    int rc = fix_daemon_aws(out, sizeof(out), "s3 cp --only-show-errors '%s' 's3://%s/%s'", clip,
                            bucket, key);
    cr_assert_eq(rc, 0, "aws s3 cp: %s", out);
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    char url[512];
    snprintf(url, sizeof(url), "s3://%s/%s", bucket, key);
    int64_t id = fix_daemon_submit(&d, url, "--prefix fetched");
    cr_assert_gt(id, 0);
    json_decref(fix_daemon_wait_done(&d, id, 120000));

    /* a key that is not there: fails at once, with the status */
    snprintf(url, sizeof(url), "s3://%s/%s/inputs/missing.mp4", bucket, d.s3_prefix);
    id = fix_daemon_submit(&d, url, "");
    json_t *job = fix_daemon_wait(&d, id, NULL, 30000);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    cr_assert(strstr(fix_daemon_str(job, "error"), "404"), "error: %s",
              fix_daemon_str(job, "error"));
    json_decref(job);
    cr_assert_eq(fix_daemon_log_contains(&d, getenv("HLSD_TEST_S3_SECRET_KEY")), 0,
                 "the secret is in the log");
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

struct fetching_ud {
    struct fix_daemon *d;
    int64_t id;
};

/* fetching - the job shows fetched bytes: its fetch is under way */
static int
fetching(void *ud)
{
    struct fetching_ud *f = ud;
    json_t *job = fix_daemon_status(f->d, f->id);
    json_t *bytes = json_object_get(json_object_get(job, "fetch"), "bytes");
    int yes = json_is_integer(bytes) && json_integer_value(bytes) > 0 &&
              strcmp(fix_daemon_str(job, "state"), "queued") == 0;
    json_decref(job);
    return yes;
}

Test(fetch, interrupted_by_a_worker_crash_or_a_restart_starts_over, .timeout = 180)
{
    struct fix_daemon d;
    struct fix_web w;

    fetch_daemon(&d, &w, "fetch-crash", NULL, NULL);
    fix_sh(NULL, 0, "cp '%s/clip.mp4' '%s/clip2.mp4'", w.dir, w.dir);
    /* the upload worker fetching it is killed half-way */
    int64_t id = fix_daemon_submit(&d, fix_web_url(&w, "/slow/clip.mp4"), "");
    cr_assert_gt(id, 0);
    struct fetching_ud f = {&d, id};
    cr_assert(fix_wait(fetching, &f, 20000), "no fetch progress shown");
    char out[4096];
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id), 0);
    cr_assert(strstr(out, "fetch       ") && strstr(out, " bytes"), "%s", out);
    pid_t pid = fix_daemon_worker_pid(&d, "upload", id);
    cr_assert_gt(pid, 0, "no upload worker holds job %lld", (long long)id);
    kill(pid, SIGKILL);
    json_decref(fix_daemon_wait_done(&d, id, 90000));
    cr_assert_eq(fix_web_requests(&w, "/slow/clip.mp4"), 2);

    /* the daemon is restarted half-way */
    id = fix_daemon_submit(&d, fix_web_url(&w, "/slow/clip2.mp4"), "");
    cr_assert_gt(id, 0);
    f.id = id;
    cr_assert(fix_wait(fetching, &f, 20000), "no fetch progress shown");
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
    cr_assert_eq(fix_daemon_start(&d), 0);
    json_decref(fix_daemon_wait_done(&d, id, 90000));
    cr_assert_eq(fix_web_requests(&w, "/slow/clip2.mp4"), 2);
    fetch_end(&d, &w);
}

struct idle_ud {
    struct fix_daemon *d;
    int64_t id;
};

/* no_fetcher - no upload worker holds the job any more */
static int
no_fetcher(void *ud)
{
    struct idle_ud *i = ud;
    return fix_daemon_worker_pid(i->d, "upload", i->id) < 0;
}

Test(fetch, cancel_stops_a_running_fetch, .timeout = 60)
{
    struct fix_daemon d;
    struct fix_web w;
    char out[4096];

    /* a stall that would hold the worker for the default 30 s */
    fetch_daemon(&d, &w, "fetch-cancel", NULL, "low_speed_time = 30s");
    int64_t id = fix_daemon_submit(&d, fix_web_url(&w, "/stall"), "");
    cr_assert_gt(id, 0);
    struct fetching_ud f = {&d, id};
    cr_assert(fix_wait(fetching, &f, 20000), "no fetch progress shown");
    int64_t t0 = fix_ms();
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)id), 0, "%s", out);
    struct idle_ud i = {&d, id};
    cr_assert(fix_wait(no_fetcher, &i, 10000), "the fetch goes on after the cancel");
    cr_assert_lt(fix_ms() - t0, 8000, "the fetch took %lld ms to stop", (long long)(fix_ms() - t0));
    json_t *job = fix_daemon_status(&d, id);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "canceled");
    json_decref(job);
    cr_assert(fix_daemon_log_contains(&d, "/stall: canceled"), "the worker did not see the cancel");
    /* the worker is still there (not killed) and serves the next job */
    cr_assert_eq(fix_daemon_log_contains(&d, "killing it"), 0, "a worker was killed");
    id = fix_daemon_submit(&d, fix_web_url(&w, "/files/clip.mp4"), "");
    json_decref(fix_daemon_wait_done(&d, id, 90000));
    fetch_end(&d, &w);
}

Test(fetch, https_input_with_its_ca_ends_done_and_an_unknown_ca_fails_at_once, .timeout = 120)
{
    struct fix_daemon d;
    struct fix_web w;
    char ix[900];

    fix_web_init(&w, "fetch-https", "");
    fix_web_tls(&w);
    fix_sh(NULL, 0, "cp '%s' '%s/clip.mp4'", fix_clip(2, 160, 120), w.dir);
    cr_assert_eq(fix_web_start(&w, 0), 0, "the HTTPS server did not start");
    cr_assert_eq(fix_daemon_init(&d, "fetch-https", 0), 0);
    snprintf(ix, sizeof(ix), "\n[input]\nlow_speed_time = 1s\nca_file = %s\n", w.cert);
    fix_daemon_config(&d, 1, 2, NULL, NULL, ix);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, fix_web_url(&w, "/files/clip.mp4"), "");
    cr_assert_gt(id, 0);
    json_decref(fix_daemon_wait_done(&d, id, 90000));
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);

    /* without the CA: the certificate is not trusted, which no retry mends */
    fix_daemon_config(&d, 1, 2, NULL, NULL, "\n[input]\nlow_speed_time = 1s\n");
    cr_assert_eq(fix_daemon_start(&d), 0);
    id = fix_daemon_submit(&d, fix_web_url(&w, "/files/clip.mp4"), "");
    json_t *job = fix_daemon_wait(&d, id, NULL, 30000);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    cr_assert(strstr(fix_daemon_str(job, "error"), "certificate"), "error: %s",
              fix_daemon_str(job, "error"));
    json_decref(job);
    fetch_end(&d, &w);
}
