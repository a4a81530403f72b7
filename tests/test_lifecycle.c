/*
 * test_lifecycle.c - a job's life after submit, as a user drives it with
 * hlsctl: wait (re-attach to a job), delete (refused while it runs, then
 * its published objects and the job itself go), --key (publish at exactly
 * that prefix, refused while another live job uses it) and metadata
 * (kept and returned with the job, refused when not a small object).
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void
start(struct fix_daemon *d, const char *name)
{
    cr_assert_eq(fix_daemon_init(d, name, 0), 0);
    fix_daemon_config(d, 1, 2, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(d), 0, "hlsd did not start (log %s)", d->log);
}

static void
stop(struct fix_daemon *d)
{
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(d, SIGTERM, 10000)), 0);
}

Test(lifecycle, wait_follows_a_submitted_job_to_its_end, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192];

    start(&d, "life-wait");
    int64_t id = fix_daemon_submit(&d, fix_clip(2, 160, 120), "");
    cr_assert_gt(id, 0);
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "wait %lld", (long long)id);
    cr_assert_eq(rc, 0, "hlsctl wait exited %d: %s", rc, out);
    cr_assert(strstr(out, "done"), "%s", out);
    /* a failed job: wait says so with exit status 1 */
    int64_t bad = fix_daemon_submit(&d, fix_daemon_text(&d, "bad.txt", 4096), "");
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "wait %lld 2>&1", (long long)bad), 1, "%s",
                 out);
    cr_assert(strstr(out, "failed"), "%s", out);
    /* no such job, no id */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "wait 9999 2>&1"), 1, "%s", out);
    cr_assert(strstr(out, "not_found"), "%s", out);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "wait 2>&1"), 2, "%s", out);
    stop(&d);
}

Test(lifecycle, delete_is_refused_while_it_runs_then_removes_everything, .timeout = 180)
{
    struct fix_daemon d;
    char out[8192], dir[800];

    start(&d, "life-delete");
    int64_t done = fix_daemon_submit(&d, fix_clip(2, 160, 120), "");
    cr_assert_gt(done, 0);
    /* a second job waits behind the first (one convert worker) */
    int64_t queued = fix_daemon_submit(&d, fix_clip(6, 320, 240), "");
    cr_assert_gt(queued, 0);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "delete %lld 2>&1", (long long)queued), 1,
                 "%s", out);
    cr_assert(strstr(out, "conflict"), "%s", out);
    json_t *r = fix_daemon_req(&d, "{\"cmd\":\"delete\",\"id\":2}");
    cr_assert_str_eq(fix_daemon_str(json_object_get(r, "error"), "code"), "conflict");
    json_decref(r);
    /* canceled now (before it could end), it may be deleted later */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)queued), 0, "%s",
                 out);

    json_decref(fix_daemon_wait_done(&d, done, 90000));
    snprintf(dir, sizeof(dir), "%s/%lld", d.www, (long long)done);
    cr_assert_gt(fix_daemon_count_files(dir), 2, "nothing published in %s", dir);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "delete %lld", (long long)done), 0, "%s",
                 out);
    cr_assert(strstr(out, "deleted"), "%s", out);
    /* gone for clients at once, its objects soon after */
    json_t *job = fix_daemon_status(&d, done);
    cr_assert_null(job, "a deleted job still answers status");
    for (int64_t t0 = fix_ms(); fix_daemon_count_files(dir) > 0;)
        cr_assert_lt(fix_ms() - t0, 20000, "%d objects still published",
                     fix_daemon_count_files(dir));
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "--json list"), 0);
    cr_assert_null(strstr(out, "\"id\":1,"), "the deleted job is listed: %s", out);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "delete %lld 2>&1", (long long)done), 1, "%s",
                 out);
    cr_assert(strstr(out, "not_found"), "%s", out);

    /* the canceled one can go too (after a restart: the store, not
     * memory, says what is left) */
    stop(&d);
    cr_assert_eq(fix_daemon_start(&d), 0);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "delete %lld", (long long)queued), 0, "%s",
                 out);
    cr_assert_null(fix_daemon_status(&d, queued));
    stop(&d);
}

Test(lifecycle, key_publishes_at_exactly_that_prefix_and_is_refused_while_in_use, .timeout = 180)
{
    struct fix_daemon d;
    char out[8192], master[800];

    start(&d, "life-key");
    int64_t id = fix_daemon_submit(&d, fix_clip(2, 160, 120), "--key talks/intro");
    cr_assert_gt(id, 0);
    /* the same key while the first job lives: refused, 409-like */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --key talks/intro 2>&1",
                                fix_clip(2, 160, 120)),
                 1, "%s", out);
    cr_assert(strstr(out, "conflict"), "%s", out);
    cr_assert(strstr(out, "talks/intro"), "%s", out);
    json_t *job = fix_daemon_wait_done(&d, id, 90000);
    snprintf(master, sizeof(master), "%s/talks/intro/master.m3u8", d.www);
    cr_assert(fix_exists(master), "no %s", master);
    cr_assert_str_eq(fix_daemon_str(job, "playlist_url"), master);
    cr_assert_str_eq(fix_daemon_str(job, "key"), "talks/intro");
    json_decref(job);
    snprintf(master, sizeof(master), "%s/talks/intro", d.www);
    cr_assert_gt(fix_daemon_published(master, NULL), 0);
    /* still refused once done (its objects are there); free once deleted */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --key talks/intro 2>&1",
                                fix_clip(2, 160, 120)),
                 1, "%s", out);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "delete %lld", (long long)id), 0, "%s", out);
    /* the key is free once the deletion is over (until then its DELETEs
     * could take down a new job's objects) */
    int64_t again = -1;
    for (int64_t t0 = fix_ms();
         (again = fix_daemon_submit(&d, fix_clip(2, 160, 120), "--key talks/intro")) < 0;) {
        cr_assert_lt(fix_ms() - t0, 20000, "the key is not free after delete");
        fix_nap(100);
    }
    json_decref(fix_daemon_wait_done(&d, again, 90000));
    cr_assert_gt(fix_daemon_published(master, NULL), 0);
    /* a malformed key never reaches the daemon */
    cr_assert_eq(
        fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --key ../up 2>&1", fix_clip(2, 160, 120)),
        2, "%s", out);
    stop(&d);
}

Test(lifecycle, metadata_is_kept_and_returned_and_bounded, .timeout = 60)
{
    struct fix_daemon d;
    char out[16384], line[8192];

    start(&d, "life-meta");
    int64_t id = fix_daemon_submit(&d, fix_daemon_text(&d, "m.txt", 4096),
                                   "--metadata '{\"title\":\"Talk\",\"tags\":[\"a\",\"b\"]}'");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, NULL, 30000);
    json_t *meta = json_object_get(job, "metadata");
    cr_assert_str_eq(fix_daemon_str(meta, "title"), "Talk");
    cr_assert_eq(json_array_size(json_object_get(meta, "tags")), 2);
    json_decref(job);
    /* kept across a restart (in the store) */
    stop(&d);
    cr_assert_eq(fix_daemon_start(&d), 0);
    job = fix_daemon_status(&d, id);
    cr_assert_str_eq(fix_daemon_str(json_object_get(job, "metadata"), "title"), "Talk");
    json_decref(job);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id), 0);
    cr_assert(strstr(out, "metadata    {\"title\":\"Talk\",\"tags\":[\"a\",\"b\"]}"), "%s", out);

    /* not an object, or too large: refused */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --metadata '[1,2]' 2>&1",
                                fix_clip(2, 160, 120)),
                 2, "%s", out);
    char *big = fix_repeat('x', 5000);
    snprintf(
        line, sizeof(line),
        "{\"cmd\":\"submit\",\"input\":\"http://127.0.0.1:1/x.mp4\",\"metadata\":{\"k\":\"%s\"}}",
        big);
    free(big);
    json_t *r = fix_daemon_req(&d, line);
    cr_assert_str_eq(fix_daemon_str(json_object_get(r, "error"), "code"), "bad_request");
    cr_assert(strstr(fix_daemon_str(json_object_get(r, "error"), "message"), "metadata"));
    json_decref(r);
    stop(&d);
}
