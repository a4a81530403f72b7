/*
 * test_ctl_hlsctl.c - bin/hlsctl against a real ctl process (and a fake
 * master): what a user sees, and the exit statuses scripts rely on.
 */
#include "tests/fix_ctl.h"

#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static char out[65536], err[65536];

Test(ctl_hlsctl, commands_render_tables_and_json, .timeout = 60)
{
    struct fix_ctl f;

    fix_ctl_start(&f, 10 * MiB);
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "ping", NULL), 0, "%s",
                 err);
    cr_assert_not_null(strstr(out, "ok: hlsd test-seq-"), "%s", out);

    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "status", "12", NULL),
                 0);
    cr_assert_not_null(strstr(out, "job         12\n"), "%s", out);
    cr_assert_not_null(strstr(out, "state       converting\n"), "%s", out);
    cr_assert_not_null(strstr(out, "progress    50%\n"), "%s", out);
    cr_assert_not_null(strstr(out, "video       720p, 480p\n"), "%s", out);
    cr_assert_not_null(strstr(out, "audio       en, fr, fr 5.1\n"), "%s", out);
    cr_assert_not_null(strstr(out, "subtitles   de\n"), "%s", out);

    cr_assert_eq(
        fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "--json", "status", "12", NULL),
        0);
    json_t *j = json_loads(out, 0, NULL);
    cr_assert_not_null(j, "--json output is not JSON: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "job"), "id")), 12);
    json_decref(j);

    cr_assert_eq(
        fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "list", "--state", "done", NULL),
        0);
    cr_assert_not_null(strstr(out, "ID     STATE"), "%s", out);
    cr_assert_not_null(strstr(out, "a.mp4"), "%s", out);
    cr_assert_not_null(strstr(out, "b.mp4"), "%s", out);
    json_t *last = fix_ctl_req(&f, fix_ctl_nreqs(&f) - 1);
    cr_assert_str_eq(json_string_value(json_object_get(last, "state")), "done");
    json_decref(last);

    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "workers", NULL), 0);
    cr_assert_not_null(strstr(out, "4242"), "%s", out);
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "stats", NULL), 0);
    cr_assert_not_null(strstr(out, "jobs.queued"), "%s", out);
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "cancel", "3", NULL),
                 0);
    cr_assert_str_eq(out, "job 3: canceled\n");
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "retry", "3", NULL), 0);
    cr_assert_str_eq(out, "job 3: queued\n");

    /* an error reply: exit 1 and one clear line on stderr */
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "status", "404", NULL),
                 1);
    cr_assert_str_eq(err, "hlsctl: not_found: no job 404\n");
    /* a state that does not exist is a usage error, caught before the daemon */
    size_t before = fix_ctl_nreqs(&f);
    cr_assert_eq(
        fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "list", "--state", "lost", NULL),
        2);
    cr_assert_not_null(strstr(err, "--state must be"), "%s", err);
    cr_assert_eq(fix_ctl_nreqs(&f), before);
    fix_ctl_stop(&f);
}

Test(ctl_hlsctl, usage_and_unreachable_exit_codes, .timeout = 30)
{
    struct fix_ctl f;

    fix_ctl_start(&f, 10 * MiB);
    static const char *const bad[][3] = {
        {"status", NULL, NULL},     {"status", "abc", NULL}, {"status", "0", NULL},
        {"frobnicate", NULL, NULL}, {"submit", NULL, NULL},  {"ping", "extra", NULL},
        {"list", "--bogus", NULL},  {"--nope", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), bad[i][0], bad[i][1],
                                bad[i][2]);
        cr_assert_eq(rc, 2, "hlsctl %s %s: exit %d", bad[i][0], bad[i][1] ? bad[i][1] : "", rc);
        cr_assert_not_null(strstr(err, "hlsctl: "), "%s", err);
    }
    cr_assert_eq(fix_ctl_nreqs(&f), 0, "a usage error reached the daemon");
    /* a missing file is the user's error, not usage */
    cr_assert_eq(
        fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "submit", "/nonexistent", NULL),
        1);
    cr_assert_not_null(strstr(err, "cannot open /nonexistent"), "%s", err);
    fix_ctl_stop(&f);

    /* no daemon there any more */
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "ping", NULL), 3);
    cr_assert_not_null(strstr(err, "cannot reach hlsd at"), "%s", err);
    unlink(f.sock);
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "status", "1", NULL),
                 3);
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "submit", "-", NULL),
                 3);
}

Test(ctl_hlsctl, submit_file_and_stdin_pipe, .timeout = 60)
{
    struct fix_ctl f;
    char path[512];
    size_t n;

    fix_ctl_start(&f, 10 * MiB);
    fix_ctl_file(&f, "talk.mov", 2 * MiB + 5, path, sizeof(path));
    unsigned char *data = fix_ctl_read_file(path, &n);
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "submit", path,
                                "--ladder", "720:2800k,480:1400k", "--segment", "6", "--prefix",
                                "talks", NULL),
                 0, "%s", err);
    cr_assert_str_eq(out, "job 1 queued (talk.mov)\n");
    cr_assert_eq(f.sub_len, n);
    cr_assert(memcmp(f.sub_data, data, n) == 0);
    json_t *sub = fix_ctl_req(&f, 1);
    cr_assert_str_eq(json_string_value(json_object_get(sub, "ladder")), "720:2800k,480:1400k");
    cr_assert_str_eq(json_string_value(json_object_get(sub, "prefix")), "talks");
    cr_assert_eq(json_number_value(json_object_get(sub, "segment")), 6.0);
    json_decref(sub);

    /* submit -: a writer trickles the bytes through a pipe */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t w = fork();
    if (w == 0) {
        close(p[0]);
        for (size_t off = 0; off < n;) {
            size_t k = n - off < 100000 ? n - off : 100000;
            if (write(p[1], data + off, k) != (ssize_t)k)
                _exit(1);
            off += k;
            usleep(2000);
        }
        _exit(0);
    }
    close(p[1]);
    cr_assert_eq(
        fix_ctl_hlsctl(&f, p[0], out, sizeof(out), err, sizeof(err), "--json", "submit", "-", NULL),
        0, "%s", err);
    close(p[0]);
    waitpid(w, NULL, 0);
    json_t *rep = json_loads(out, 0, NULL);
    cr_assert_not_null(rep, "%s", out);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rep, "job"), "input")),
                     "stdin");
    json_decref(rep);
    cr_assert_eq(f.sub_len, n, "streamed %zu of %zu bytes", f.sub_len, n);
    cr_assert(memcmp(f.sub_data, data, n) == 0);
    free(data);

    /* admission refused: exit 1, and the error on stderr */
    f.admit_full = 1;
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "submit", path, NULL),
                 1);
    cr_assert_not_null(strstr(err, "queue_full"), "%s", err);
    cr_assert(fix_ctl_incoming_empty(&f));
    fix_ctl_stop(&f);
}

Test(ctl_hlsctl, submit_wait_follows_the_job_to_its_end, .timeout = 60)
{
    struct fix_ctl f;
    char path[512];

    fix_ctl_start(&f, 10 * MiB);
    fix_ctl_file(&f, "a.mp4", 1000, path, sizeof(path));
    f.wait_done_after = 4;
    cr_assert_eq(
        fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "submit", path, "--wait", NULL),
        0, "%s", err);
    cr_assert_not_null(strstr(out, "job 1 submitted (a.mp4)\n"), "%s", out);
    cr_assert_not_null(strstr(out, "job 1 converting 50%"), "%s", out);
    cr_assert_not_null(strstr(out, "job 1 done: file:///out/7/master.m3u8\n"), "%s", out);

    f.status_calls = 0;
    f.wait_fail = 1;
    cr_assert_eq(fix_ctl_hlsctl(&f, -1, out, sizeof(out), err, sizeof(err), "--json", "submit",
                                path, "--wait", NULL),
                 1);
    json_t *rep = json_loads(out, 0, NULL);
    cr_assert_not_null(rep, "--wait --json prints the last status reply: %s", out);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rep, "job"), "state")),
                     "failed");
    json_decref(rep);
    cr_assert_not_null(strstr(err, "job 2 failed: boom"), "%s", err);
    fix_ctl_stop(&f);
}

/* the socat examples of docs/protocol.md, verbatim in spirit */
Test(ctl_hlsctl, socat_examples_from_the_docs_work, .timeout = 60)
{
    struct fix_ctl f;
    char path[512], cmd[4096], res[512];
    size_t n;

    if (system("command -v socat >/dev/null 2>&1 && command -v jq >/dev/null 2>&1") != 0)
        cr_skip_test("socat or jq not installed");
    fix_ctl_start(&f, 10 * MiB);
    fix_ctl_file(&f, "movie.mp4", 1500 * 1000, path, sizeof(path));
    snprintf(res, sizeof(res), "%s/socat.out", f.dir);
    snprintf(cmd, sizeof(cmd),
             "S='%s'; f='%s'; echo '{\"cmd\":\"ping\"}' | socat - UNIX-CONNECT:$S | jq -r "
             ".version > '%s' && { printf '{\"cmd\":\"submit\",\"input\":\"%%s\",\"size\":%%d}\\n' "
             "\"$(basename \"$f\")\" \"$(stat -c %%s \"$f\")\"; cat \"$f\"; } | socat -t 60 - "
             "UNIX-CONNECT:$S | jq -r .job.input >> '%s'",
             f.sock, path, res, res);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    char *got = (char *)fix_ctl_read_file(res, &n);
    cr_assert_not_null(got);
    got[n] = '\0';
    cr_assert_str_eq(got, "test-seq-1\nmovie.mp4\n");
    free(got);
    unsigned char *data = fix_ctl_read_file(path, &n);
    cr_assert_eq(f.sub_len, n);
    cr_assert(memcmp(f.sub_data, data, n) == 0);
    free(data);
    fix_ctl_stop(&f);
}
