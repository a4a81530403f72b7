/*
 * test_http.c - the HTTP API against the real daemon, with curl: every
 * endpoint, every error status a client can provoke, a real video sent
 * as the body that ends done and playable, paging, bearer tokens, and
 * /metrics checked by promtool. The HTTP process's crash while an upload
 * streams in is in test_http_crash.c.
 */
#include "tests/fix_http.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* job_path - "/v1/jobs/ID[/verb]" */
static const char *
job_path(long long id, const char *verb)
{
    static char p[96];
    snprintf(p, sizeof(p), "/v1/jobs/%lld%s%s", id, verb ? "/" : "", verb ? verb : "");
    return p;
}

Test(http, healthz_answers_while_the_master_does, .timeout = 60)
{
    struct fix_http h;

    fix_http_init(&h, "http-health", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0, "the HTTP API did not come up");
    cr_assert_eq(fix_http_curl(&h, "/healthz", "%s", ""), 200);
    json_t *j = fix_http_json(&h);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
    cr_assert_str_eq(json_string_value(json_object_get(j, "version")), fix_version());
    json_decref(j);
    /* a master that does not answer: 503 (stopped, it cannot) */
    kill(h.d.pid, SIGSTOP);
    cr_expect_eq(fix_http_curl(&h, "/healthz", "%s", ""), 503);
    cr_expect_str_eq(fix_http_error(&h), "unavailable");
    /* any request: 503 once the 5 s for an answer are over */
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs/1", "%s", ""), 503);
    cr_expect_str_eq(fix_http_error(&h), "unavailable");
    kill(h.d.pid, SIGCONT);
    cr_expect_eq(fix_http_curl(&h, "/healthz", "%s", ""), 200);
    /* hlsctl lists the process */
    cr_expect_gt(fix_daemon_worker_pid(&h.d, "http", 0), 0);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http, a_video_sent_as_the_body_ends_done_and_published, .timeout = 180)
{
    struct fix_http h;
    char loc[128], root[800];
    long long id;

    fix_http_init(&h, "http-upload", 1, 1, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_eq(fix_http_start(&h), 0);
    int st = fix_http_upload(&h, clip, "name=talk.mp4&ladder=240:300k&segment_seconds=2", &id);
    cr_assert_eq(st, 201, "upload answered %d: %s", st, fix_http_error(&h));
    cr_assert_gt(id, 0);
    cr_assert(fix_http_header(&h, "Location", loc, sizeof(loc)));
    cr_expect_str_eq(loc, job_path(id, NULL));
    json_t *j = fix_http_json(&h);
    cr_expect_str_eq(json_string_value(json_object_get(j, "input")), "talk.mp4");
    json_decref(j);
    /* the job an HTTP client made is the socket's job too */
    json_t *s = fix_daemon_status(&h.d, id);
    cr_assert_not_null(s);
    json_decref(s);
    j = fix_http_wait_state(&h, id, NULL, 120000);
    cr_assert_not_null(j, "the job did not end");
    cr_assert_str_eq(fix_daemon_str(j, "state"), "done", "error: %s", fix_daemon_str(j, "error"));
    char segs[64];
    snprintf(segs, sizeof(segs), "\nhlsd_segments_uploaded_total %lld\n",
             fix_daemon_segs(j, "uploaded"));
    json_decref(j);
    snprintf(root, sizeof(root), "%s/%lld", h.d.www, id);
    cr_expect_geq(fix_daemon_published(root, NULL), 2, "nothing playable under %s", root);
    /* nothing left behind in either incoming area */
    snprintf(root, sizeof(root), "%s/http-incoming", h.d.spool);
    cr_expect_eq(fix_daemon_count_files(root), 0);
    snprintf(root, sizeof(root), "%s/incoming", h.d.spool);
    cr_expect_eq(fix_daemon_count_files(root), 0);

    /* /metrics after it: valid for promtool, and counting it */
    cr_assert_eq(fix_http_curl(&h, "/metrics", "%s", ""), 200);
    char out[8192];
    int rc = fix_sh(out, sizeof(out), "promtool check metrics <'%s' 2>&1", h.body);
    cr_expect_eq(rc, 0, "promtool check metrics: %s", out);
    char *text = fix_slurp(h.body);
    cr_assert_not_null(text);
    cr_expect(strstr(text, "\nhlsd_jobs_submitted_total 1\n"), "%s", text);
    cr_expect(strstr(text, "\nhlsd_jobs_done_total 1\n"), "%s", text);
    cr_expect(strstr(text, "\nhlsd_jobs{state=\"done\"} 1\n"), "%s", text);
    cr_expect(strstr(text, "\nhlsd_conversion_speed_ratio_count 1\n"), "%s", text);
    cr_expect(strstr(text, "\nhlsd_job_duration_seconds_count 1\n"), "%s", text);
    cr_expect(strstr(text, segs), "%s", text);
    cr_expect(strstr(text, "hlsd_resident_memory_bytes{process=\"master\"} "), "%s", text);
    cr_expect(strstr(text, "hlsd_worker_restarts_total{role=\"http\"} 0"), "%s", text);
    free(text);
    char ct[128];
    cr_expect(fix_http_header(&h, "Content-Type", ct, sizeof(ct)));
    cr_expect(strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "%s", ct);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

/* failed_job - a text file sent as a video: it fails at once */
static long long
failed_job(struct fix_http *h, const char *name)
{
    long long id;
    const char *f = fix_daemon_text(&h->d, name, 4096);
    int st = fix_http_upload(h, f, "name=notes.txt", &id);
    cr_assert_eq(st, 201, "upload answered %d", st);
    json_t *j = fix_http_wait_state(h, id, "failed", 60000);
    cr_assert_not_null(j, "job %lld did not fail", id);
    json_decref(j);
    return id;
}

Test(http, list_pages_filters_and_checks_its_parameters, .timeout = 120)
{
    struct fix_http h;

    fix_http_init(&h, "http-list", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    long long a = failed_job(&h, "a.txt"), b = failed_job(&h, "b.txt"), c = failed_job(&h, "c.txt");
    cr_assert_eq(fix_http_curl(&h, "/v1/jobs?limit=2", "%s", ""), 200);
    json_t *j = fix_http_json(&h), *jobs = json_object_get(j, "jobs");
    cr_assert_eq(json_array_size(jobs), 2);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(jobs, 0), "id")), c);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(jobs, 1), "id")), b);
    cr_expect_eq(json_integer_value(json_object_get(j, "next_after")), b);
    json_decref(j);
    char path[128];
    snprintf(path, sizeof(path), "/v1/jobs?limit=2&after=%lld", b);
    cr_assert_eq(fix_http_curl(&h, path, "%s", ""), 200);
    j = fix_http_json(&h);
    jobs = json_object_get(j, "jobs");
    cr_assert_eq(json_array_size(jobs), 1, "the last page");
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(jobs, 0), "id")), a);
    cr_expect(json_is_null(json_object_get(j, "next_after")));
    json_decref(j);
    cr_assert_eq(fix_http_curl(&h, "/v1/jobs?state=failed", "%s", ""), 200);
    j = fix_http_json(&h);
    cr_expect_eq(json_array_size(json_object_get(j, "jobs")), 3);
    json_decref(j);
    cr_assert_eq(fix_http_curl(&h, "/v1/jobs?state=done", "%s", ""), 200);
    j = fix_http_json(&h);
    cr_expect_eq(json_array_size(json_object_get(j, "jobs")), 0);
    json_decref(j);
    /* what the socket refuses, HTTP refuses: 400 bad_request */
    const char *bad[] = {
        "/v1/jobs?state=sleeping", "/v1/jobs?limit=0",         "/v1/jobs?limit=5001",
        "/v1/jobs?limit=two",      "/v1/jobs?after=0",         "/v1/jobs?after=-3",
        "/v1/jobs?colour=blue",    "/v1/jobs?limit=1&limit=2", "/v1/jobs?state=%FF"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(fix_http_curl(&h, bad[i], "%s", ""), 400, "%s", bad[i]);
        cr_expect_str_eq(fix_http_error(&h), "bad_request", "%s", bad[i]);
    }
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http, status_cancel_retry_and_their_errors, .timeout = 120)
{
    struct fix_http h;

    fix_http_init(&h, "http-jobs", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    long long id = failed_job(&h, "x.txt");
    cr_assert_eq(fix_http_curl(&h, job_path(id, NULL), "%s", ""), 200);
    json_t *j = fix_http_json(&h);
    cr_expect_str_eq(fix_daemon_str(j, "state"), "failed");
    cr_expect_str_neq(fix_daemon_str(j, "error"), "");
    json_decref(j);
    /* retry: back to the queue (and failing again) */
    cr_assert_eq(fix_http_curl(&h, job_path(id, "retry"), "-X POST"), 200);
    j = fix_http_json(&h);
    cr_expect_str_eq(fix_daemon_str(j, "state"), "queued");
    json_decref(j);
    json_decref(fix_http_wait_state(&h, id, "failed", 60000));
    /* cancel a failed job: its input goes; then neither verb makes sense */
    cr_assert_eq(fix_http_curl(&h, job_path(id, "cancel"), "-X POST"), 200);
    j = fix_http_json(&h);
    cr_expect_str_eq(fix_daemon_str(j, "state"), "canceled");
    json_decref(j);
    cr_expect_eq(fix_http_curl(&h, job_path(id, "cancel"), "-X POST"), 409);
    cr_expect_str_eq(fix_http_error(&h), "conflict");
    cr_expect_eq(fix_http_curl(&h, job_path(id, "retry"), "-X POST"), 409);
    cr_expect_str_eq(fix_http_error(&h), "conflict");
    /* unknown job, malformed ids and paths: 404 */
    const char *nf[] = {"/v1/jobs/999",        "/v1/jobs/abc", "/v1/jobs/0",
                        "/v1/jobs/-1",         "/v1/jobs/01",  "/v1/jobs/1/frobnicate",
                        "/v1/jobs/1/cancel/x", "/v2/jobs",     "/"};
    for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
        cr_expect_eq(fix_http_curl(&h, nf[i], "%s", ""), 404, "%s", nf[i]);
        cr_expect_str_eq(fix_http_error(&h), "not_found", "%s", nf[i]);
    }
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs/999/cancel", "-X POST"), 404);
    /* methods a resource does not take: 405 with Allow */
    struct {
        const char *method, *path;
    } na[] = {{"PUT", "/v1/jobs/1"},        {"PATCH", "/v1/jobs"}, {"DELETE", "/v1/jobs"},
              {"GET", "/v1/jobs/1/cancel"}, {"POST", "/metrics"},  {"POST", "/healthz"}};
    char allow[128];
    for (size_t i = 0; i < sizeof(na) / sizeof(na[0]); i++) {
        cr_expect_eq(fix_http_curl(&h, na[i].path, "-X %s", na[i].method), 405, "%s %s",
                     na[i].method, na[i].path);
        cr_expect_str_eq(fix_http_error(&h), "method_not_allowed");
        cr_expect(fix_http_header(&h, "Allow", allow, sizeof(allow)));
    }
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http, submissions_the_api_refuses, .timeout = 120)
{
    struct fix_http h;
    long long id;

    fix_http_init(&h, "http-refuse", 1, 1, "max_input_size = 100k", NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    const char *small = fix_daemon_text(&h.d, "small.txt", 1000);
    const char *big = fix_daemon_text(&h.d, "big.txt", 200000);
    /* no or an unknown Content-Type: 415 */
    cr_expect_eq(
        fix_http_curl(&h, "/v1/jobs", "-X POST --data-binary @'%s' -H 'Content-Type:'", small),
        415);
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "-X POST -H 'Content-Type: text/plain' -d x"), 415);
    cr_expect_str_eq(fix_http_error(&h), "unsupported_media_type");
    /* JSON bodies: malformed, not an object, no URL, unknown fields: 400 */
    const char *bad[] = {"{",
                         "[1]",
                         "{}",
                         "{\"input\":\"movie.mp4\"}",
                         "{\"input\":\"https://h/x.mp4\",\"colour\":\"blue\"}",
                         "{\"input\":\"https://h/x.mp4\",\"segment\":4}",
                         "{\"input\":\"https://h/x.mp4\",\"ladder\":\"720p\"}",
                         "{\"input\":\"https://h/x.mp4\",\"segment_seconds\":99}",
                         "{\"input\":\"https://h/x.mp4\",\"prefix\":\"../up\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(fix_http_curl(&h, "/v1/jobs",
                                   "-X POST -H 'Content-Type: application/json' -d '%s'", bad[i]),
                     400, "%s", bad[i]);
        cr_expect_str_eq(fix_http_error(&h), "bad_request", "%s", bad[i]);
    }
    /* a JSON body over 64 KiB: 413 */
    char *huge = fix_repeat('a', 70000);
    char jpath[800];
    snprintf(jpath, sizeof(jpath), "%s/huge.json", h.d.dir);
    FILE *f = fopen(jpath, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"input\":\"https://h/%s\"}", huge);
    fclose(f);
    free(huge);
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs",
                               "-X POST -H 'Content-Type: application/json' --data-binary @'%s'",
                               jpath),
                 413);
    cr_expect_str_eq(fix_http_error(&h), "too_large");
    /* uploads: bad options (400), empty (400), over max_input_size (413),
     * whether the length is announced or not */
    const char *bq[] = {"ladder=720p", "segment_seconds=0", "segment_seconds=ten",
                        "colour=blue", "name=a&name=b",     "audio=loud",
                        "prefix=/abs", "metadata=notjson",  "name=%FF"};
    for (size_t i = 0; i < sizeof(bq) / sizeof(bq[0]); i++) {
        cr_expect_eq(fix_http_upload(&h, small, bq[i], &id), 400, "%s", bq[i]);
        cr_expect_str_eq(fix_http_error(&h), "bad_request", "%s", bq[i]);
    }
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "-X POST -H 'Content-Type: video/mp4' -d ''"), 400);
    cr_expect_str_eq(fix_http_error(&h), "bad_input");
    cr_expect_eq(fix_http_upload(&h, big, "", &id), 413);
    cr_expect_str_eq(fix_http_error(&h), "too_large");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs",
                               "-X POST -H 'Content-Type: video/mp4' -H 'Transfer-Encoding: "
                               "chunked' --data-binary @'%s'",
                               big),
                 413);
    cr_expect_str_eq(fix_http_error(&h), "too_large");
    /* an input that names no URL hlsd fetches (a local path, ftp://) */
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs",
                               "-X POST -H 'Content-Type: application/json' -d "
                               "'{\"input\":\"ftp://example.com/x.mp4\"}'"),
                 400);
    cr_expect_str_eq(fix_http_error(&h), "bad_request");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs",
                               "-X POST -H 'Content-Type: application/json' -d "
                               "'{\"input\":\"/etc/passwd\"}'"),
                 400);
    cr_expect_str_eq(fix_http_error(&h), "bad_request");
    /* nothing of any of it was kept */
    char dir[800];
    snprintf(dir, sizeof(dir), "%s/http-incoming", h.d.spool);
    cr_expect_eq(fix_daemon_count_files(dir), 0);
    snprintf(dir, sizeof(dir), "%s/incoming", h.d.spool);
    cr_expect_eq(fix_daemon_count_files(dir), 0);
    cr_assert_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 200);
    json_t *j = fix_http_json(&h);
    cr_expect_eq(json_array_size(json_object_get(j, "jobs")), 0, "a refused submission made a job");
    json_decref(j);
    /* the process is still the first one */
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http, a_full_queue_is_429, .timeout = 120)
{
    struct fix_http h;
    long long a, b, c;
    char ra[32];

    fix_http_init(&h, "http-429", 1, 1, "max_queued = 1", NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    /* a stopped conversion worker holds the first job; the second waits */
    pid_t conv = fix_daemon_worker_pid(&h.d, "convert", 0);
    cr_assert_gt(conv, 0);
    kill(conv, SIGSTOP);
    const char *f = fix_daemon_text(&h.d, "q.txt", 1000);
    cr_assert_eq(fix_http_upload(&h, f, "", &a), 201);
    json_decref(fix_http_wait_state(&h, a, "converting", 30000));
    cr_assert_eq(fix_http_upload(&h, f, "", &b), 201);
    cr_expect_eq(fix_http_upload(&h, f, "", &c), 429);
    cr_expect_str_eq(fix_http_error(&h), "queue_full");
    cr_expect(fix_http_header(&h, "Retry-After", ra, sizeof(ra)));
    kill(conv, SIGCONT);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http, delete_of_an_unknown_job_is_404, .timeout = 60)
{
    struct fix_http h;

    fix_http_init(&h, "http-delete", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs/1", "-X DELETE"), 404);
    cr_expect_str_eq(fix_http_error(&h), "not_found");
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

static int
refused(void *ud)
{
    return fix_http_curl(ud, "/v1/jobs", "%s", "") == 401;
}

Test(http, bearer_tokens, .timeout = 60)
{
    struct fix_http h;
    char tokens[800], extra[900], hdr[128];

    fix_http_init(&h, "http-auth", 1, 1, NULL, NULL);
    snprintf(tokens, sizeof(tokens), "%s/tokens", h.d.dir);
    FILE *f = fopen(tokens, "w");
    cr_assert_not_null(f);
    fprintf(f, "# the operators\n\ns3cr3t-one\n  s3cr3t-two  \n");
    fclose(f);
    snprintf(extra, sizeof(extra), "token_file = %s\n", tokens);
    FILE *c = fopen(h.d.conf, "a");
    fputs(extra, c);
    fclose(c);
    cr_assert_eq(fix_http_start(&h), 0, "healthz needs no token");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 401);
    cr_expect_str_eq(fix_http_error(&h), "unauthorized");
    cr_expect(fix_http_header(&h, "WWW-Authenticate", hdr, sizeof(hdr)));
    cr_expect(strncmp(hdr, "Bearer", 6) == 0, "%s", hdr);
    cr_expect_eq(fix_http_curl(&h, "/metrics", "%s", ""), 401);
    snprintf(h.token, sizeof(h.token), "s3cr3t-on");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 401, "a prefix of a token");
    snprintf(h.token, sizeof(h.token), "s3cr3t-one2");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 401, "a token and more");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "-H 'Authorization: Basic czNjcjN0LW9uZQ=='"), 401);
    snprintf(h.token, sizeof(h.token), "s3cr3t-one");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 200);
    snprintf(h.token, sizeof(h.token), "s3cr3t-two");
    cr_expect_eq(fix_http_curl(&h, "/metrics", "%s", ""), 200);
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs/5", "%s", ""), 404, "past the check, the API");
    /* a token never reaches the log */
    cr_expect(!fix_daemon_log_contains(&h.d, "s3cr3t"), "a token is in the log");
    /* revoked by editing the file, without a restart */
    f = fopen(tokens, "w");
    fprintf(f, "s3cr3t-three\n");
    fclose(f);
    /* the file is looked at once a second at most */
    cr_expect(fix_wait(refused, &h, 5000), "a revoked token still works");
    snprintf(h.token, sizeof(h.token), "s3cr3t-three");
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 200);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

/* hlsd_t - `hlsd -t` on a configuration text; exit code, output in out */
static int
hlsd_t(const char *text, char *out, size_t cap)
{
    return fix_sh(out, cap, "'%s/hlsd' -t -c '%s' 2>&1", fix_bindir(), fix_text(text));
}

Test(http, an_open_port_needs_tokens, .timeout = 60)
{
    char text[2048], out[4096], tokens[600];

    snprintf(tokens, sizeof(tokens), "%s/tokens-%ld", fix_tmp(), (long)getpid());
    snprintf(text, sizeof(text), "[upload]\nurl = file://%s/www\n[http]\nlisten = 0.0.0.0:8080\n",
             fix_tmp());
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "token_file"), "%s", out);
    /* loopback alone is fine */
    snprintf(text, sizeof(text), "[upload]\nurl = file://%s/www\n[http]\nlisten = [::1]:8080\n",
             fix_tmp());
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 0, "%s", out);
    /* a token file that is missing or empty is refused too */
    snprintf(text, sizeof(text),
             "[upload]\nurl = file://%s/www\n[http]\nlisten = 0.0.0.0:8080\ntoken_file = %s\n",
             fix_tmp(), tokens);
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "No such file"), "%s", out);
    FILE *f = fopen(tokens, "w");
    fprintf(f, "# nothing yet\n");
    fclose(f);
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "holds no token"), "%s", out);
    f = fopen(tokens, "w");
    fprintf(f, "abc\n");
    fclose(f);
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 0, "%s", out);
    /* TLS: both files or neither, and they must be readable */
    snprintf(text, sizeof(text),
             "[upload]\nurl = file://%s/www\n[http]\nlisten = 127.0.0.1:8080\ntls_cert = %s\n",
             fix_tmp(), tokens);
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "tls_cert and tls_key go together"), "%s", out);
    snprintf(text, sizeof(text),
             "[upload]\nurl = file://%s/www\n[http]\nlisten = 127.0.0.1:8080\ntls_cert = "
             "/nonexistent.pem\ntls_key = /nonexistent.key\n",
             fix_tmp());
    cr_expect_eq(hlsd_t(text, out, sizeof(out)), 2, "%s", out);
    cr_expect(strstr(out, "/nonexistent.pem"), "%s", out);
    unlink(tokens);
}

Test(http, https_with_a_certificate, .timeout = 60)
{
    struct fix_http h;
    char extra[1600], out[4096];

    fix_http_init(&h, "http-tls", 1, 1, NULL, NULL);
    int rc = fix_sh(out, sizeof(out),
                    "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out "
                    "cert.pem -days 2 -subj /CN=127.0.0.1 2>&1",
                    h.d.dir);
    cr_assert_eq(rc, 0, "openssl: %s", out);
    snprintf(extra, sizeof(extra), "tls_cert = %s/cert.pem\ntls_key = %s/key.pem\n", h.d.dir,
             h.d.dir);
    FILE *c = fopen(h.d.conf, "a");
    fputs(extra, c);
    fclose(c);
    snprintf(h.base, sizeof(h.base), "https://127.0.0.1:%d", h.port);
    cr_assert_eq(fix_daemon_start(&h.d), 0);
    rc = 0;
    for (int i = 0; i < 100 && rc != 200; i++) {
        rc = fix_http_curl(&h, "/healthz", "--cacert '%s/cert.pem'", h.d.dir);
        if (rc != 200)
            fix_nap(100);
    }
    cr_expect_eq(rc, 200, "HTTPS /healthz answered %d", rc);
    cr_expect_eq(fix_http_curl(&h, "/v1/jobs", "--cacert '%s/cert.pem'", h.d.dir), 200);
    /* plain HTTP on the TLS port gets nothing useful */
    snprintf(h.base, sizeof(h.base), "http://127.0.0.1:%d", h.port);
    cr_expect_neq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 200);
    cr_expect(!fix_daemon_log_contains(&h.d, "PRIVATE KEY"));
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}
