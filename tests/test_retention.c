/*
 * test_retention.c - the spool of failed jobs through the real daemon: a
 * failed job's input is kept for [daemon] keep_failed_inputs, then
 * removed, and the job (status and retry) says that retry is no longer
 * possible; `stats` shows what the spool holds (spool_bytes).
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static long long
spool_bytes(struct fix_daemon *d)
{
    json_t *r = fix_daemon_req(d, "{\"cmd\":\"stats\"}");
    cr_assert_not_null(r);
    json_t *v = json_object_get(json_object_get(r, "stats"), "spool_bytes");
    cr_assert(json_is_integer(v), "stats has no spool_bytes");
    long long n = json_integer_value(v);
    json_decref(r);
    return n;
}

struct gone {
    char path[800];
};

static int
is_gone(void *ud)
{
    return !fix_exists(((struct gone *)ud)->path);
}

Test(retention, failed_input_removed_after_keep_failed_inputs, .timeout = 90)
{
    struct fix_daemon d;
    char out[4096];

    fix_daemon_init(&d, "retention", 0);
    fix_daemon_config(&d, 1, 1, "keep_failed_inputs = 2s\n", NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, fix_daemon_text(&d, "notes.txt", 100), "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, "failed", 60000);
    cr_assert_not_null(job);
    json_decref(job);

    struct gone g;
    snprintf(g.path, sizeof(g.path), "%s/%lld/input", d.spool, (long long)id);
    cr_expect(fix_exists(g.path), "the input went at once");
    cr_assert(fix_wait(is_gone, &g, 30000), "%s is still there", g.path);
    job = fix_daemon_status(&d, id);
    cr_expect_str_eq(fix_daemon_str(job, "state"), "failed");
    cr_expect(strstr(fix_daemon_str(job, "error"), "retry is no longer possible"),
              "the job does not say so: %s", fix_daemon_str(job, "error"));
    json_decref(job);
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "retry %lld 2>&1", (long long)id);
    cr_expect_eq(rc, 1, "retry exit %d: %s", rc, out);
    cr_expect(strstr(out, "retry is no longer possible"), "retry says: %s", out);
    cr_expect(fix_daemon_log_contains(&d, "failed input removed (keep_failed_inputs)"));
    fix_daemon_stop(&d, SIGTERM, 20000);
}

Test(retention, stats_shows_the_spool_size, .timeout = 90)
{
    struct fix_daemon d;
    char out[4096];

    fix_daemon_init(&d, "retention-stats", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    long long before = spool_bytes(&d);
    int64_t id = fix_daemon_submit(&d, fix_daemon_text(&d, "big.txt", 50000), "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, "failed", 60000);
    cr_assert_not_null(job);
    json_decref(job);
    long long kept = spool_bytes(&d);
    cr_expect_geq(kept, before + 50000, "spool_bytes %lld with a 50000-byte input kept", kept);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)id), 0, "%s", out);
    cr_expect_lt(spool_bytes(&d), before + 50000, "the canceled input is still counted");
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "stats"), 0);
    cr_expect(strstr(out, "spool_bytes"), "hlsctl stats lacks spool_bytes:\n%s", out);
    fix_daemon_stop(&d, SIGTERM, 20000);
}
