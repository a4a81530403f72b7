/*
 * test_sched.c - the scheduler alone (tests/fix_sched.h: no process is
 * forked, the clock is fake, the store real): what goes out in which
 * order, back-off and retries, failures, worker deaths, cancel, the queue
 * bound, protocol checks and timers, as a user would check them: the keys
 * published, the job's state and error.
 */
#include "daemon/spool.h"
#include "tests/fix_sched.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

TestSuite(sched, .init = fix_sched_setup, .fini = fix_sched_teardown);

Test(sched, submit_to_master_playlist_last)
{
    int64_t id = fix_sched_converting();
    char order[2000] = "", want[400], job_dir[PATH_MAX + 64];

    cr_expect_eq(fix_sched_row(id).state, JOB_CONVERTING);
    cr_expect(FS.busy[CONV]);
    fix_sched_publish_all(id, order, sizeof(order)); /* uploads run while converting */
    fix_sched_conv_done(CONV, id, "4.0 v:720p");
    cr_expect_not(FS.busy[CONV], "the convert worker is free once it reported");
    cr_expect_eq(fix_sched_row(id).state, JOB_UPLOADING);
    fix_sched_publish_all(id, order, sizeof(order));
    /* a video rendition: its playlist and its I-frame playlist, then the master */
    snprintf(want, sizeof(want),
             "%lld/720p/seg_00000.ts %lld/720p/seg_00001.ts %lld/720p/index.m3u8 "
             "%lld/720p/iframes.m3u8 %lld/master.m3u8",
             (long long)id, (long long)id, (long long)id, (long long)id, (long long)id);
    cr_expect_str_eq(order, want);
    struct store_job row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_DONE);
    cr_expect_eq(row.segs_uploaded, 2);
    cr_expect_null(sched_active(id), "a done job leaves memory");
    spool_job_path(FS.spool, id, NULL, job_dir, sizeof(job_dir));
    cr_expect_not(fix_exists(job_dir), "its spool is removed");
    cr_expect_eq(sched_stats()->segments_uploaded, 2);
}

Test(sched, master_playlist_waits_for_every_other_object)
{
    int64_t id = fix_sched_converting();
    uint16_t type;

    fix_sched_conv_done(CONV, id, "4.0 v:720p");
    /* four objects are out: the master playlist must not be among them */
    cr_assert_str_neq(fix_sched_offer_up(UP, &type), "");
    cr_assert_str_neq(fix_sched_offer_up(UP2, &type), "");
    cr_assert_str_neq(fix_sched_offer_up(UP + 2, &type), "");
    cr_assert_str_neq(fix_sched_offer_up(UP + 3, &type), "");
    cr_expect_str_eq(fix_sched_offer_up(UP + 4, &type), "", "nothing else until they are uploaded");
    fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
    fix_sched_up_result(UP2, id, PROTO_UP_OK, -1, "");
    fix_sched_up_result(UP + 2, id, PROTO_UP_OK, -1, "");
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), "", "one object still out");
    fix_sched_up_result(UP + 3, id, PROTO_UP_OK, -1, "");
    char want[64];
    snprintf(want, sizeof(want), "%lld/master.m3u8", (long long)id);
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), want);
}

/* retryable failures: backed off (Retry-After honoured), then retried */
Test(sched, retryable_upload_backs_off_and_retries)
{
    static const struct {
        int64_t retry_after; /* -1: none */
        int64_t at_least;    /* the delay is at least this */
    } cases[] = {{-1, 1}, {0, 1}, {5000, 5000}, {20000, 20000}};

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int64_t id = fix_sched_converting_on(CONV + (int)c);
        char key[600];
        snprintf(key, sizeof(key), "%s", fix_sched_offer_up(UP, NULL));
        cr_assert_str_neq(key, "");
        /* the other segment goes out meanwhile */
        cr_assert_str_neq(fix_sched_offer_up(UP2, NULL), "");
        fix_sched_up_result(UP2, id, PROTO_UP_OK, -1, "");
        fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, cases[c].retry_after, "503 SlowDown");
        cr_expect_eq(fix_sched_row(id).state, JOB_CONVERTING, "case %zu: a retry is not a failure",
                     c);
        int64_t due = sched_next_timer();
        cr_assert(due >= FS.clock_ms + cases[c].at_least && due != INT64_MAX,
                  "case %zu: retry due in %lld ms", c, (long long)(due - FS.clock_ms));
        FS.clock_ms = due - 1;
        cr_expect_str_eq(fix_sched_offer_up(UP, NULL), "", "case %zu: not before the back-off", c);
        FS.clock_ms = due;
        cr_expect_str_eq(fix_sched_offer_up(UP, NULL), key, "case %zu: the same object again", c);
        fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
        cr_expect_eq(fix_sched_row(id).segs_uploaded, 2, "case %zu", c);
    }
}

/* an outage is retried for give_up_after, not a number of attempts; while
 * it waits, the job says the last error and when the next retry is */
Test(sched, retryable_upload_gives_up_after_give_up_after)
{
    int64_t id = fix_sched_submit();
    char want[64], err[200];
    int64_t next_wall = 0;

    FS.cfg.upload.give_up_after_ms = 20000;
    cr_assert(sched_offer(CONV, SCHED_CONVERT));
    fix_sched_segment(CONV, id, "720p", 0, 1000);
    snprintf(want, sizeof(want), "%lld/720p/seg_00000.ts", (long long)id);
    int64_t first = FS.clock_ms;
    unsigned a = 0;
    while (fix_sched_row(id).state == JOB_CONVERTING) {
        cr_assert_lt(++a, 200, "never gave up");
        cr_assert_str_eq(fix_sched_offer_up(UP, NULL), want, "attempt %u", a);
        fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, 0, "503 SlowDown");
        if (fix_sched_row(id).state != JOB_CONVERTING)
            break;
        cr_assert(sched_upload_retrying(id, err, sizeof(err), &next_wall));
        cr_expect(strstr(err, "503 SlowDown") != NULL, "%s", err);
        cr_expect_geq(next_wall, FS.wall_ms);
        FS.clock_ms = sched_next_timer();
    }
    struct store_job row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect_geq(FS.clock_ms - first, 20000, "gave up after %lld ms",
                  (long long)(FS.clock_ms - first));
    cr_expect_gt(a, FS.cfg.upload.max_attempts, "max_attempts no longer bounds an outage");
    cr_expect(strstr(row.error, "give_up_after") != NULL, "%s", row.error);
    cr_expect(strstr(row.error, "503 SlowDown") != NULL, "%s", row.error);
    cr_expect_not(sched_upload_retrying(id, err, sizeof(err), &next_wall));
    cr_expect_str_eq(fix_sched_last_to(CONV)->type == PROTO_CONV_CANCEL ? "cancel" : "other",
                     "cancel", "the conversion is told to stop");
}

/* when the storage answers again, a waiting object does not sit out its
 * back-off: a success elsewhere lets it go at once */
Test(sched, a_success_cuts_the_back_off_short)
{
    int64_t id = fix_sched_submit();
    char a[64];

    FS.cfg.upload.backoff_base_ms = 40000;
    FS.cfg.upload.backoff_max_ms = 40000;
    cr_assert(sched_offer(CONV, SCHED_CONVERT));
    fix_sched_segment(CONV, id, "720p", 0, 1000);
    snprintf(a, sizeof(a), "%s", fix_sched_offer_up(UP, NULL));
    fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, -1, "Couldn't connect to server");
    cr_expect_str_eq(fix_sched_offer_up(UP, NULL), "", "it waits");
    fix_sched_segment(CONV, id, "720p", 1, 1000);
    cr_assert_str_neq(fix_sched_offer_up(UP2, NULL), "");
    fix_sched_up_result(UP2, id, PROTO_UP_OK, -1, "");
    cr_expect_str_eq(fix_sched_offer_up(UP, NULL), a, "the storage is back: it goes now");
}

Test(sched, permanent_upload_failure_fails_the_job)
{
    int64_t id = fix_sched_converting();
    char key[600];

    snprintf(key, sizeof(key), "%s", fix_sched_offer_up(UP, NULL));
    fix_sched_up_result(UP, id, PROTO_UP_PERMANENT, -1, "403 AccessDenied");
    struct store_job row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect(strstr(row.error, key) != NULL, "the error names the key: %s", row.error);
    cr_expect(strstr(row.error, "403 AccessDenied") != NULL, "%s", row.error);
    cr_expect_str_eq(fix_sched_offer_up(UP, NULL), "", "the pending segment is no longer wanted");
    cr_expect_eq(fix_sched_last_to(CONV)->type, PROTO_CONV_CANCEL);
    /* the worker lets go: the job leaves memory, its input stays for retry */
    sched_on_message(CONV, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
    cr_expect_null(sched_active(id));
    char in[PATH_MAX + 64];
    spool_job_path(FS.spool, id, "input", in, sizeof(in));
    cr_expect(fix_exists(in), "a failed job keeps its input");
    /* and a retry starts it again, attempts reset */
    const char *code = "";
    char msg[300];
    cr_assert_eq(sched_retry(id, &row, &code, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect_eq(row.state, JOB_QUEUED);
    cr_expect_eq(row.attempts, 0);
    cr_expect(sched_offer(CONV2, SCHED_CONVERT));
}

/* a convert worker's death: what becomes of its job */
Test(sched, worker_death_requeues_or_fails)
{
    static const struct {
        const char *name;
        unsigned attempts_before; /* conversions already made, crashed at the start */
        int status;               /* as from waitpid */
        int we_stopped;
        const char *reason;
        enum job_state want;
        unsigned want_attempts;
        const char *want_error; /* substring, for failed */
    } cases[] = {
        {"crash, attempts left", 0, SIGSEGV, 0, "", JOB_QUEUED, 1, NULL},
        {"crash, last attempt", 1, SIGSEGV, 0, "", JOB_FAILED, 2,
         "worker crashed (signal 11, Segmentation fault) on this input (2 crashes, max_attempts): "
         "poison input"},
        {"abort, last attempt", 1, SIGABRT, 0, "", JOB_FAILED, 2, "poison input"},
        {"exit code, last attempt", 1, 3 << 8, 0, "", JOB_FAILED, 2,
         "worker exited with code 3 on this input"},
        {"killed from outside: not counted", 1, SIGKILL, 0, "", JOB_QUEUED, 2, NULL},
        {"terminated from outside: not counted", 1, SIGTERM, 0, "", JOB_QUEUED, 2, NULL},
        {"the OOM killer (as the master tells): counted", 1, SIGKILL, 0,
         "killed by the kernel's out-of-memory killer", JOB_FAILED, 2,
         "killed by the kernel's out-of-memory killer on this input"},
        {"killed by us: the reason", 1, SIGKILL, 0, "conversion stalled: no progress for 60s",
         JOB_FAILED, 2, "conversion stalled"},
        {"stopped by us (shutdown)", 1, SIGTERM, 1, "", JOB_QUEUED, 1, NULL},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int w = CONV + (int)c;
        int64_t id = fix_sched_submit();
        for (unsigned a = 0; a < cases[c].attempts_before; a++) {
            cr_assert(sched_offer(w, SCHED_CONVERT));
            fix_sched_exit(w, SIGSEGV, 0, "");
            cr_assert_eq(fix_sched_row(id).state, JOB_QUEUED, "%s: set-up", cases[c].name);
        }
        cr_assert(sched_offer(w, SCHED_CONVERT));
        fix_sched_segment(w, id, "720p", 0, 1000);
        fix_sched_exit(w, cases[c].status, cases[c].we_stopped, cases[c].reason);
        struct store_job row = fix_sched_row(id);
        cr_expect_eq(row.state, cases[c].want, "%s: %s", cases[c].name, job_state_name(row.state));
        cr_expect_eq(row.attempts, cases[c].want_attempts, "%s: attempts %u", cases[c].name,
                     row.attempts);
        if (cases[c].want_error)
            cr_expect(strstr(row.error, cases[c].want_error) != NULL, "%s: %s", cases[c].name,
                      row.error);
        if (row.state == JOB_QUEUED) {
            /* the queue gives it to the next idle worker, first in line */
            cr_expect(sched_offer(w, SCHED_CONVERT), "%s: started again", cases[c].name);
            cr_expect_eq(fix_sched_last_to(w)->job, (uint64_t)id);
            fix_sched_cancel(id); /* out of the way of the next case */
            sched_on_message(w, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
        }
    }
}

/* poison is a fact, not a count of deaths: two crashes at the same place
 * of the input fail the job before max_attempts; kills from outside end at
 * max_kills; the counts a user reads never go back across attempts */
Test(sched, crashes_at_the_same_place_kills_and_counts)
{
    FS.cfg.convert.max_attempts = 5;
    FS.cfg.convert.max_kills = 3;

    /* crashed after 2 segments, then after 1, then after 2 again: poison */
    int64_t id = fix_sched_submit();
    static const unsigned places[] = {2, 1, 2};
    for (size_t k = 0; k < 3; k++) {
        cr_assert(sched_offer(CONV, SCHED_CONVERT), "attempt %zu", k + 1);
        for (unsigned i = 0; i < places[k]; i++)
            fix_sched_segment(CONV, id, "720p", i, 1000);
        /* the best attempt's count stays: never back, never above the total */
        cr_expect_eq(fix_sched_row(id).segs_done, 2, "attempt %zu", k + 1);
        fix_sched_exit(CONV, SIGSEGV, 0, "");
    }
    struct store_job row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED, "%s %s", job_state_name(row.state), row.error);
    cr_expect(strstr(row.error, "twice at the same place (after 2 segments): poison input"), "%s",
              row.error);

    /* kills from outside: not counted as attempts, but bounded */
    id = fix_sched_submit();
    for (unsigned k = 0; k < 3; k++) {
        cr_assert_eq(fix_sched_row(id).state, JOB_QUEUED, "kill %u", k + 1);
        cr_assert(sched_offer(CONV2, SCHED_CONVERT));
        fix_sched_segment(CONV2, id, "720p", 0, 1000);
        fix_sched_exit(CONV2, SIGKILL, 0, "");
    }
    row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect(strstr(row.error, "killed from outside (signal 9, Killed) 3 times") &&
                  strstr(row.error, "max_kills"),
              "%s", row.error);
}

Test(sched, upload_worker_death_sends_the_object_again)
{
    int64_t id = fix_sched_converting();
    char key[600];

    snprintf(key, sizeof(key), "%s", fix_sched_offer_up(UP, NULL));
    fix_sched_exit(UP, SIGKILL, 0, "");
    cr_expect_str_eq(fix_sched_offer_up(UP2, NULL), key, "the same object, to another worker");
    fix_sched_up_result(UP2, id, PROTO_UP_OK, -1, "");
    cr_expect_eq(fix_sched_row(id).segs_uploaded, 1);
}

Test(sched, cancel_deletes_what_was_published)
{
    int64_t id = fix_sched_converting();
    char first[600], msg[300];
    const char *code = "";
    struct store_job row;

    snprintf(first, sizeof(first), "%s", fix_sched_offer_up(UP, NULL));
    fix_sched_up_result(UP, id, PROTO_UP_OK, -1, ""); /* seg 0 published, seg 1 pending */
    cr_expect_eq(fix_sched_cancel(id).state, JOB_CANCELED);
    cr_expect_eq(fix_sched_last_to(CONV)->type, PROTO_CONV_CANCEL,
                 "the conversion is told to stop");
    uint16_t type = 0;
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), first, "the published segment comes down");
    cr_expect_eq(type, PROTO_UP_DELETE);
    cr_expect_str_eq(fix_sched_offer_up(UP2, NULL), "",
                     "the pending one is forgotten, not deleted");
    fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
    cr_expect_not_null(sched_active(id), "the conversion has not let go yet");
    sched_on_message(CONV, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
    cr_expect_null(sched_active(id), "nothing left to do");
    char path[PATH_MAX + 64];
    spool_job_path(FS.spool, id, NULL, path, sizeof(path));
    cr_expect_not(fix_exists(path), "the spool goes");
    struct store_obj so;
    cr_expect_eq(store_obj_get(FS.st, id, "720p/seg_00000.ts", &so), -1, "ledger row gone");
    /* a second cancel is a conflict */
    cr_expect_eq(sched_cancel(id, &row, &code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "conflict");
}

Test(sched, cancel_takes_down_an_object_uploaded_after_it)
{
    int64_t id = fix_sched_converting();
    char key[600];

    snprintf(key, sizeof(key), "%s", fix_sched_offer_up(UP, NULL));
    fix_sched_cancel(id);
    fix_sched_up_result(UP, id, PROTO_UP_OK, -1, ""); /* the put was already out */
    uint16_t type = 0;
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), key);
    cr_expect_eq(type, PROTO_UP_DELETE);
}

Test(sched, queue_full_bound)
{
    const char *code = "";
    char msg[300];

    FS.cfg.daemon.max_queued = 2;
    fix_sched_submit();
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), 0);
    fix_sched_submit();
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "queue_full");
    cr_expect(strstr(msg, "2 jobs are waiting") != NULL, "%s", msg);
    struct store_job row;
    char token[] = "00000000000000ff";
    cr_expect_eq(sched_submit(token, "x.mp4", NULL, 0, NULL, &row, &code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "queue_full");
    cr_expect_eq(sched_queued(), 2);
    /* a conversion that starts makes room */
    cr_assert(sched_offer(CONV, SCHED_CONVERT));
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), 0);
    sched_stop();
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "unavailable");
    cr_expect_not(sched_offer(CONV2, SCHED_CONVERT), "no new conversion while stopping");
}

Test(sched, report_about_another_job_kills_the_worker)
{
    static const struct {
        int w;
        enum sched_role role;
        uint16_t type;
        int64_t job_delta; /* added to the leased job's id */
        const char *want;
    } cases[] = {
        {CONV, SCHED_CONVERT, PROTO_CONV_SEGMENT, 1, "protocol: report about a job"},
        {CONV2, SCHED_CONVERT, PROTO_CONV_SEGMENT, 0, "protocol: report about a job"},
        {UP, SCHED_UPLOAD, PROTO_UP_RESULT, 0, "protocol: upload result without"},
        {UP, SCHED_UPLOAD, PROTO_UP_PUT, 0, "protocol: unexpected record type"},
    };
    int64_t id = fix_sched_converting(); /* CONV holds it; CONV2 and UP hold nothing */

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct proto_conv_segment m;
        memset(&m, 0, sizeof(m));
        snprintf(m.rendition, sizeof(m.rendition), "720p");
        FS.killed[cases[c].w][0] = '\0';
        sched_on_message(cases[c].w, cases[c].role, cases[c].type,
                         (uint64_t)(id + cases[c].job_delta), &m, sizeof(m));
        cr_expect(strncmp(FS.killed[cases[c].w], cases[c].want, strlen(cases[c].want)) == 0,
                  "case %zu: killed for \"%s\"", c, FS.killed[cases[c].w]);
    }
    cr_expect_eq(fix_sched_row(id).state, JOB_CONVERTING, "the job is not harmed");
}

Test(sched, stalled_conversion_is_killed)
{
    int64_t id = fix_sched_converting();

    FS.cfg.convert.stall_timeout_ms = 60000;
    FS.clock_ms += 60001;
    sched_timers();
    cr_expect(strstr(FS.killed[CONV], "conversion stalled") != NULL, "%s", FS.killed[CONV]);
    fix_sched_exit(CONV, SIGKILL, 0, FS.killed[CONV]);
    cr_expect_eq(fix_sched_row(id).state, JOB_QUEUED, "attempt 1 of 2: again");
}

/* a failed job's published objects are taken down (keep_failed_output =
 * no, the default), and the error says so; with yes they stay */
Test(sched, failed_job_output_deleted_or_kept)
{
    for (int keep = 0; keep < 2; keep++) {
        FS.cfg.upload.keep_failed_output = keep;
        int64_t id = fix_sched_converting_on(CONV); /* segments 0 and 1 */
        char key[600];
        snprintf(key, sizeof(key), "%s", fix_sched_offer_up(UP, NULL));
        fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
        cr_assert_str_neq(fix_sched_offer_up(UP, NULL), "");
        fix_sched_up_result(UP, id, PROTO_UP_PERMANENT, -1, "403 AccessDenied");
        struct store_job row = fix_sched_row(id);
        cr_expect_eq(row.state, JOB_FAILED);
        cr_expect(strstr(row.error, keep ? "1 objects it published are kept"
                                         : "1 objects it published are deleted"),
                  "%s", row.error);
        sched_on_message(CONV, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
        uint16_t type = 0;
        const char *next = fix_sched_offer_up(UP, &type);
        if (keep) {
            cr_expect_str_eq(next, "", "kept: nothing to delete");
            cr_expect_null(sched_active(id));
            continue;
        }
        cr_expect_eq(type, PROTO_UP_DELETE);
        cr_expect_str_eq(next, key, "the published segment is taken down");
        cr_expect_not_null(sched_active(id), "held until its deletions are done");
        fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
        cr_expect_null(sched_active(id), "gone once deleted");
        cr_expect_eq(fix_sched_row(id).state, JOB_FAILED);
    }
}
