/*
 * test_http_crash.c - the HTTP process killed with SIGKILL while a video
 * streams in (a slow curl): nothing is acknowledged, no job is created,
 * the partial input leaves the spool, the daemon goes on, and a new HTTP
 * process answers on the same port.
 */
#include "tests/fix_http.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct streaming {
    const char *dir;
};

/* some bytes of an upload are in http-incoming */
static int
streaming(void *ud)
{
    struct streaming *s = ud;
    char out[64];
    fix_sh(out, sizeof(out), "find '%s' -name input -size +16k 2>/dev/null | wc -l", s->dir);
    return atoi(out) > 0;
}

struct respawned {
    struct fix_http *h;
    pid_t old;
};

static int
respawned(void *ud)
{
    struct respawned *r = ud;
    pid_t p = fix_daemon_worker_pid(&r->h->d, "http", 0);
    return p > 0 && p != r->old && fix_http_curl(r->h, "/healthz", "%s", "") == 200;
}

Test(http_crash, killed_while_an_upload_streams_in, .timeout = 120)
{
    struct fix_http h;
    char dir[800], incoming[800], out_path[800], cmd[2400];

    fix_http_init(&h, "http-kill", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    const char *clip = fix_clip(20, 640, 360);
    snprintf(dir, sizeof(dir), "%s/http-incoming", h.d.spool);
    snprintf(incoming, sizeof(incoming), "%s/incoming", h.d.spool);
    snprintf(out_path, sizeof(out_path), "%s/slow.out", h.d.dir);
    /* a client sending 64 KiB/s: seconds of upload to kill it in */
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 60 --limit-rate 64k -o '%s' -w '%%{http_code}' -X POST -H "
             "'Content-Type: video/mp4' --data-binary @'%s' '%s/v1/jobs?name=slow.mp4' "
             ">'%s.code' 2>/dev/null",
             out_path, clip, h.base, out_path);
    fflush(NULL);
    pid_t curl = fork();
    cr_assert_geq(curl, 0);
    if (curl == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct streaming s = {dir};
    cr_assert(fix_wait(streaming, &s, 30000), "the upload never reached the spool");
    pid_t http = fix_daemon_worker_pid(&h.d, "http", 0);
    cr_assert_gt(http, 0);
    cr_assert_eq(kill(http, SIGKILL), 0);

    /* the client gets no acknowledgement */
    int st;
    cr_assert_eq(waitpid(curl, &st, 0), curl);
    char code_path[900];
    snprintf(code_path, sizeof(code_path), "%s.code", out_path);
    char *code = fix_slurp(code_path);
    cr_expect(code == NULL || strncmp(code, "201", 3) != 0, "the killed upload was acknowledged");
    free(code);

    /* a new HTTP process on the same port; the partial input is gone */
    struct respawned r = {&h, http};
    cr_assert(fix_wait(respawned, &r, 15000), "the HTTP process was not respawned");
    cr_expect_eq(fix_daemon_count_files(dir), 0, "the partial input stayed in the spool");
    cr_expect_eq(fix_daemon_count_files(incoming), 0);
    cr_assert_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 200);
    json_t *j = fix_http_json(&h);
    cr_expect_eq(json_array_size(json_object_get(j, "jobs")), 0, "a job was created");
    json_decref(j);
    /* the daemon went on: the socket answers, and an upload now works */
    json_t *p = fix_daemon_req(&h.d, "{\"cmd\":\"ping\"}");
    cr_expect(p && json_is_true(json_object_get(p, "ok")));
    json_decref(p);
    long long id;
    cr_expect_eq(fix_http_upload(&h, fix_daemon_text(&h.d, "after.txt", 1000), "", &id), 201);
    /* the restart is counted */
    cr_assert_eq(fix_http_curl(&h, "/metrics", "%s", ""), 200);
    char *text = fix_slurp(h.body);
    cr_expect(text && strstr(text, "hlsd_worker_restarts_total{role=\"http\"} 1"), "%s", text);
    free(text);
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}

struct emptied {
    const char *dir;
};

static int
emptied(void *ud)
{
    struct emptied *e = ud;
    return fix_daemon_count_files(e->dir) == 0;
}

Test(http_crash, a_client_that_goes_away_mid_upload_leaves_nothing, .timeout = 120)
{
    struct fix_http h;
    char dir[800];

    fix_http_init(&h, "http-gone", 1, 1, NULL, NULL);
    cr_assert_eq(fix_http_start(&h), 0);
    const char *clip = fix_clip(20, 640, 360);
    pid_t http = fix_daemon_worker_pid(&h.d, "http", 0);
    snprintf(dir, sizeof(dir), "%s/http-incoming", h.d.spool);
    /* 64 KiB/s for at most 3 s: the client gives up half-way */
    int st = fix_http_curl(&h, "/v1/jobs?name=gone.mp4",
                           "--limit-rate 64k --max-time 3 -X POST -H 'Content-Type: video/mp4' "
                           "--data-binary @'%s'",
                           clip);
    /* no final answer (curl reports 100 when the last it saw was "100 Continue") */
    cr_expect(st == 0 || st == 100, "an unfinished upload was answered %d", st);
    struct emptied e = {dir};
    cr_expect(fix_wait(emptied, &e, 10000), "the partial input stayed in the spool");
    cr_assert_eq(fix_http_curl(&h, "/v1/jobs", "%s", ""), 200);
    json_t *j = fix_http_json(&h);
    cr_expect_eq(json_array_size(json_object_get(j, "jobs")), 0, "a job was created");
    json_decref(j);
    cr_expect_eq(fix_daemon_worker_pid(&h.d, "http", 0), http, "the HTTP process restarted");
    fix_daemon_stop(&h.d, SIGTERM, 10000);
}
