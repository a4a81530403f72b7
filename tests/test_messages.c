/*
 * test_messages.c - what the daemon says, through the real daemon: a
 * failure names the user's file, never a spool path; a too-large input
 * names the key max_input_size; "N segment(s) published" agrees in
 * number; "recovered N unfinished jobs" counts only unfinished jobs and is
 * not said when there are none; a finished job's status gives the number
 * of segments expected.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(messages, failure_names_the_users_file_and_restart_is_quiet, .timeout = 90)
{
    struct fix_daemon d;
    char out[4096];

    fix_daemon_init(&d, "msg-fail", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, fix_daemon_text(&d, "holiday.mov", 300), "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, "failed", 60000);
    cr_assert_not_null(job);
    const char *e = fix_daemon_str(job, "error");
    cr_expect(strstr(e, "holiday.mov"), "the error does not name the file: %s", e);
    cr_expect(!strstr(e, d.spool) && !strstr(e, "/input"), "the error names the spool: %s", e);
    json_decref(job);

    /* canceled: nothing left to do, so a restart recovers nothing */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)id), 0, "%s", out);
    cr_assert_eq(fix_daemon_stop(&d, SIGTERM, 20000), 0);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start again (log %s)", d.log);
    cr_expect_eq(fix_daemon_ctl(&d, out, sizeof(out), "list"), 0);
    cr_expect(!fix_daemon_log_contains(&d, "recovered"), "a restart with nothing unfinished "
                                                         "says it recovered jobs");
    fix_daemon_stop(&d, SIGTERM, 20000);
}

Test(messages, too_large_names_max_input_size, .timeout = 60)
{
    struct fix_daemon d;
    char out[4096];

    fix_daemon_init(&d, "msg-large", 0);
    fix_daemon_config(&d, 1, 1, "max_input_size = 1K\n", NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' 2>&1",
                            fix_daemon_text(&d, "large.mp4", 4096));
    cr_expect_eq(rc, 1, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "too_large: the input is larger than max_input_size (1024 bytes)"), "%s",
              out);
    fix_daemon_stop(&d, SIGTERM, 20000);
}

Test(messages, segments_expected_and_plurals, .timeout = 120)
{
    struct fix_daemon d;
    char out[4096], cmd[800];

    fix_daemon_init(&d, "msg-segs", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, fix_clip(4, 320, 240), "--ladder 240:300k");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait_done(&d, id, 90000);
    long long up = fix_daemon_segs(job, "uploaded");
    cr_expect_gt(up, 0);
    cr_expect_eq(fix_daemon_segs(job, "expected"), up, "expected %lld, uploaded %lld",
                 fix_daemon_segs(job, "expected"), up);
    json_decref(job);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id), 0);
    char want[64];
    snprintf(want, sizeof(want), "%lld/%lld uploaded", up, up);
    cr_expect(strstr(out, want), "hlsctl status lacks %s:\n%s", want, out);
    snprintf(cmd, sizeof(cmd), "grep -o 'job %lld done: .* published' '%s'", (long long)id, d.log);
    cr_assert_eq(fix_sh(out, sizeof(out), "%s", cmd), 0, "no done line in the log");
    snprintf(want, sizeof(want), "job %lld done: %lld segment%s published", (long long)id, up,
             up == 1 ? "" : "s");
    cr_expect(strstr(out, want), "log says %s, want %s", out, want);
    fix_daemon_stop(&d, SIGTERM, 20000);
}
