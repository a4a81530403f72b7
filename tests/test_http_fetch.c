/*
 * test_http_fetch.c - the HTTP API's side of inputs named by URL and of
 * DELETE: the HTTP process passes "input", "key", "notify" and
 * "metadata" through to the master unchanged and forwards DELETE as
 * {"cmd":"delete"}.
 *
 * The input is served by python3's http.server on a loopback port.
 */
#include "tests/fix_http.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* serve - python3 -m http.server on a free port over dir; its pid */
static pid_t
serve(const char *dir, int *port)
{
    char p[16];

    *port = fix_http_port();
    snprintf(p, sizeof(p), "%d", *port);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("python3", "python3", "-m", "http.server", "-b", "127.0.0.1", "-d", dir, p,
               (char *)NULL);
        _exit(127);
    }
    char out[64];
    for (int i = 0; i < 100; i++) {
        if (fix_sh(out, sizeof(out), "curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/",
                   *port) == 0 &&
            strcmp(out, "200") == 0)
            break;
        fix_nap(50);
    }
    return pid;
}

Test(http_fetch, a_url_input_is_fetched_and_ends_done, .timeout = 180)
{
    struct fix_http h;
    char body[1024], cmd[1400], loc[128];
    int port;

    fix_http_init(&h, "http-url", 1, 1, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    fix_sh(NULL, 0, "cp '%s' '%s/clip.mp4'", clip, h.d.dir);
    pid_t web = serve(h.d.dir, &port);
    cr_assert_eq(fix_http_start(&h), 0);
    snprintf(body, sizeof(body),
             "{\"input\":\"http://127.0.0.1:%d/clip.mp4\",\"ladder\":\"240:300k\","
             "\"segment_seconds\":2,\"key\":\"talks/one\",\"metadata\":{\"talk\":42}}",
             port);
    snprintf(cmd, sizeof(cmd), "-X POST -H 'Content-Type: application/json' -d '%s'", body);
    int st = fix_http_curl(&h, "/v1/jobs", "%s", cmd);
    cr_assert_eq(st, 201, "answered %d: %s", st, fix_http_error(&h));
    cr_assert(fix_http_header(&h, "Location", loc, sizeof(loc)));
    json_t *j = fix_http_json(&h);
    long long id = (long long)json_integer_value(json_object_get(j, "id"));
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "metadata"), "talk")), 42);
    json_decref(j);
    j = fix_http_wait_state(&h, id, NULL, 120000);
    cr_assert_not_null(j);
    cr_expect_str_eq(fix_daemon_str(j, "state"), "done", "%s", fix_daemon_str(j, "error"));
    json_decref(j);
    char root[800];
    snprintf(root, sizeof(root), "%s/talks/one", h.d.www);
    cr_expect_geq(fix_daemon_published(root, NULL), 2, "nothing under the key");
    kill(web, SIGTERM);
    waitpid(web, NULL, 0);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http_fetch, a_url_that_answers_404_fails_the_job, .timeout = 120)
{
    struct fix_http h;
    int port;

    fix_http_init(&h, "http-url404", 1, 1, NULL, NULL);
    pid_t web = serve(h.d.dir, &port);
    cr_assert_eq(fix_http_start(&h), 0);
    int st = fix_http_curl(&h, "/v1/jobs",
                           "-X POST -H 'Content-Type: application/json' -d "
                           "'{\"input\":\"http://127.0.0.1:%d/missing.mp4\"}'",
                           port);
    cr_assert_eq(st, 201, "answered %d", st);
    json_t *j = fix_http_json(&h);
    long long id = (long long)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    j = fix_http_wait_state(&h, id, "failed", 60000);
    cr_assert_not_null(j);
    cr_expect(strstr(fix_daemon_str(j, "error"), "404"), "%s", fix_daemon_str(j, "error"));
    json_decref(j);
    kill(web, SIGTERM);
    waitpid(web, NULL, 0);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

Test(http_fetch, delete_removes_a_job_and_is_refused_while_it_runs, .timeout = 180)
{
    struct fix_http h;
    long long id, run;
    char path[64], root[800];

    fix_http_init(&h, "http-del", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    cr_assert_eq(fix_http_upload(&h, fix_clip(4, 320, 240), "ladder=240:300k", &id), 201);
    json_decref(fix_http_wait_state(&h, id, "done", 120000));
    snprintf(path, sizeof(path), "/v1/jobs/%lld", id);
    int st = fix_http_curl(&h, path, "-X DELETE");
    cr_expect(st == 200 || st == 204, "DELETE answered %d: %s", st, fix_http_error(&h));
    /* gone for clients at once, its objects soon after */
    cr_expect_eq(fix_http_curl(&h, path, "%s", ""), 404, "the job remains");
    snprintf(root, sizeof(root), "%s/%lld", h.d.www, id);
    for (int64_t t0 = fix_ms(); fix_daemon_count_files(root) > 0; fix_nap(50))
        cr_assert_lt(fix_ms() - t0, 20000, "%d published objects remain",
                     fix_daemon_count_files(root));
    /* refused while it runs: 409 */
    pid_t conv = fix_daemon_worker_pid(&h.d, "convert", 0);
    kill(conv, SIGSTOP);
    cr_assert_eq(fix_http_upload(&h, fix_daemon_text(&h.d, "r.txt", 1000), "", &run), 201);
    json_decref(fix_http_wait_state(&h, run, "converting", 30000));
    snprintf(path, sizeof(path), "/v1/jobs/%lld", run);
    cr_expect_eq(fix_http_curl(&h, path, "-X DELETE"), 409);
    cr_expect_str_eq(fix_http_error(&h), "conflict");
    kill(conv, SIGCONT);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}
