/*
 * test_fetch_sched.c - the scheduler's share of inputs by URL and of
 * webhooks, alone (tests/fix_sched.h: fake processes and clock, a real
 * store): no conversion before the input is fetched, fetch back-off and
 * give-up, a permanent error at once, a fetching worker's death, a cancel
 * sent to the fetching worker, a progress record from a worker that does
 * not fetch; a delivery written with the job's end, retried, given up,
 * and found again by a new scheduler.
 */
#include "daemon/spool.h"
#include "tests/fix_sched.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

TestSuite(fetch_sched, .init = fix_sched_setup, .fini = fix_sched_teardown);

/* url_job - a job whose input is url (no spool token: the scheduler makes
 * its directory) */
static int64_t
url_job(const char *url)
{
    struct sched_submit_opts o = {.url = url};
    struct store_job row;
    const char *code = "";
    char msg[300];

    cr_assert_eq(
        sched_submit_ex(NULL, "x.mp4", NULL, 0, NULL, NULL, &o, &row, &code, msg, sizeof(msg)), 0,
        "%s: %s", code, msg);
    cr_assert_eq(row.state, JOB_QUEUED);
    cr_assert_eq(row.fetched, 0);
    return row.id;
}

/* offer_fetch - an idle upload worker w is given job id's fetch */
static void
offer_fetch(int w, int64_t id)
{
    uint16_t type = 0;
    char want[PATH_MAX + 64];

    const char *rest = fix_sched_offer_up(w, &type);
    cr_assert_eq(type, PROTO_UP_FETCH, "worker %d was given 0x%04x, not a fetch", w, type);
    spool_job_path(FS.spool, id, "input", want, sizeof(want));
    cr_assert(strstr(rest, want), "fetch request %s does not name %s", rest, want);
    cr_assert_eq(fix_sched_last_to(w)->job, (uint64_t)id);
}

Test(fetch_sched, no_conversion_before_the_input_is_fetched)
{
    int64_t id = url_job("https://example.com/in/x.mp4");
    char dir[PATH_MAX + 64];

    spool_job_path(FS.spool, id, NULL, dir, sizeof(dir));
    cr_assert(fix_exists(dir), "no spool directory for the fetch");
    cr_assert_not(sched_offer(CONV, SCHED_CONVERT), "converting an input not yet fetched");
    offer_fetch(UP, id);
    cr_assert_not(sched_offer(CONV, SCHED_CONVERT), "converting while the fetch runs");
    /* progress shows */
    struct proto_up_progress p = {.done = 4096, .total = 10000};
    sched_on_message(UP, SCHED_UPLOAD, PROTO_UP_PROGRESS, (uint64_t)id, &p, sizeof(p));
    uint64_t done, total;
    unsigned attempts;
    struct store_job row = fix_sched_row(id);
    cr_assert(sched_fetch_info(&row, &done, &total, &attempts));
    cr_expect_eq(done, 4096);
    cr_expect_eq(total, 10000);
    fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
    cr_assert_not(FS.busy[UP], "the fetch lease did not end");
    cr_expect_eq(fix_sched_row(id).fetched, 1);
    cr_assert(sched_offer(CONV, SCHED_CONVERT), "no conversion once fetched");
    cr_expect_eq(fix_sched_row(id).state, JOB_CONVERTING);
}

Test(fetch_sched, retryable_fetch_backs_off_then_gives_up)
{
    FS.cfg.input.max_attempts = 3;
    int64_t id = url_job("http://example.com/x.mp4");

    for (unsigned a = 1; a <= 3; a++) {
        offer_fetch(UP, id);
        fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, -1,
                            "fetching http://example.com/x.mp4: HTTP 503");
        if (a == 3)
            break;
        cr_assert_eq(fix_sched_row(id).state, JOB_QUEUED);
        uint16_t type = 0;
        cr_expect_str_eq(fix_sched_offer_up(UP, &type), "", "retried before its back-off");
        int64_t next = sched_next_timer();
        cr_assert(next > FS.clock_ms && next != INT64_MAX, "no timer for the retry");
        FS.clock_ms = next;
    }
    struct store_job row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect(strstr(row.error, "HTTP 503"), "error: %s", row.error);
    cr_expect(strstr(row.error, "after 3 attempts"), "error: %s", row.error);
}

Test(fetch_sched, permanent_error_fails_at_once_and_retry_fetches_again)
{
    int64_t id = url_job("https://example.com/gone.mp4");
    const char *code = "";
    char msg[300];
    struct store_job row;

    offer_fetch(UP, id);
    fix_sched_up_result(UP, id, PROTO_UP_PERMANENT, -1,
                        "fetching https://example.com/gone.mp4: HTTP 404");
    row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect_str_eq(row.error, "fetching https://example.com/gone.mp4: HTTP 404");
    /* retry: fetched again, not refused for a missing input */
    cr_assert_eq(sched_retry(id, &row, &code, msg, sizeof(msg)), 0, "%s: %s", code, msg);
    offer_fetch(UP, id);
}

Test(fetch_sched, worker_death_is_an_attempt_our_stop_is_not)
{
    FS.cfg.input.max_attempts = 2;
    int64_t id = url_job("https://example.com/x.mp4");

    offer_fetch(UP, id);
    fix_sched_exit(UP, 0, 1, ""); /* we stopped it (shutdown, retire) */
    offer_fetch(UP2, id);         /* at once, not counted */
    fix_sched_exit(UP2, 9, 0, "");
    cr_expect_eq(fix_sched_row(id).state, JOB_QUEUED);
    FS.clock_ms = sched_next_timer();
    offer_fetch(UP, id);
    fix_sched_exit(UP, 9, 0, "");
    struct store_job row = fix_sched_row(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect(strstr(row.error, "the upload worker died"), "error: %s", row.error);
}

Test(fetch_sched, cancel_is_sent_to_the_fetching_worker)
{
    int64_t id = url_job("https://example.com/x.mp4");

    offer_fetch(UP, id);
    fix_sched_cancel(id);
    const struct fix_sched_sent *s = fix_sched_last_to(UP);
    cr_assert_eq(s->type, PROTO_UP_CANCEL);
    cr_assert_eq(s->job, (uint64_t)id);
    cr_expect(FS.busy[UP], "the lease ends with the worker's result, not before");
    fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, -1, "canceled");
    cr_expect_not(FS.busy[UP]);
    cr_expect_null(sched_active(id), "the canceled job stays in memory");
    cr_expect_eq(fix_sched_row(id).state, JOB_CANCELED);
}

Test(fetch_sched, progress_from_a_worker_that_does_not_fetch_kills_it)
{
    int64_t id = url_job("https://example.com/x.mp4");
    struct proto_up_progress p = {.done = 1};

    sched_on_message(UP2, SCHED_UPLOAD, PROTO_UP_PROGRESS, (uint64_t)id, &p, sizeof(p));
    cr_expect(strstr(FS.killed[UP2], "protocol"), "not killed: '%s'", FS.killed[UP2]);
    /* a fetch result for another job than the lease's */
    offer_fetch(UP, id);
    fix_sched_up_result(UP, id + 1, PROTO_UP_OK, -1, "");
    cr_expect(strstr(FS.killed[UP], "protocol"), "not killed: '%s'", FS.killed[UP]);
}

Test(fetch_sched, webhook_is_written_with_the_end_retried_and_given_up)
{
    snprintf(FS.cfg.notify.url, sizeof(FS.cfg.notify.url), "http://127.0.0.1:9/hook");
    FS.cfg.notify.max_attempts = 2;
    int64_t id = url_job("https://example.com/x.mp4");

    offer_fetch(UP, id);
    cr_assert_eq(store_dlv_count(FS.st, id, STORE_DLV_PENDING), 0);
    fix_sched_up_result(UP, id, PROTO_UP_PERMANENT, -1, "HTTP 404");
    /* in the same transaction as the failed state: not committed yet */
    cr_assert_eq(store_dlv_count(FS.st, id, STORE_DLV_PENDING), 1);
    uint16_t type = 0;
    const char *body = fix_sched_offer_up(UP, &type);
    cr_assert_eq(type, PROTO_UP_NOTIFY);
    cr_expect(strncmp(fix_sched_last_to(UP)->body, "http://127.0.0.1:9/hook\n", 24) == 0);
    cr_expect(strstr(body, "\"failed\""), "body: %s", body);
    fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, -1, "webhook: HTTP 500");
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), "", "retried before its back-off");
    FS.clock_ms = sched_next_timer();
    fix_sched_offer_up(UP, &type);
    cr_assert_eq(type, PROTO_UP_NOTIFY);
    fix_sched_up_result(UP, id, PROTO_UP_RETRYABLE, -1, "webhook: HTTP 500");
    cr_expect_eq(store_dlv_count(FS.st, id, STORE_DLV_GAVE_UP), 1);
    cr_expect_eq(store_dlv_count(FS.st, id, STORE_DLV_PENDING), 0);
    FS.clock_ms += 3600000;
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), "", "sent after max_attempts");
}

Test(fetch_sched, pending_webhook_is_found_by_a_new_scheduler)
{
    int64_t id = url_job("https://example.com/x.mp4");

    snprintf(FS.cfg.notify.url, sizeof(FS.cfg.notify.url), "http://127.0.0.1:9/hook");
    fix_sched_cancel(id);
    cr_assert_eq(fix_sched_durable(), 0);
    /* a new master: the delivery is still to do */
    fix_sched_start();
    cr_assert_eq(sched_recover(), 0);
    uint16_t type = 0;
    fix_sched_offer_up(UP, &type);
    cr_assert_eq(type, PROTO_UP_NOTIFY);
    cr_expect_eq(fix_sched_last_to(UP)->job, (uint64_t)id);
    fix_sched_up_result(UP, id, PROTO_UP_OK, -1, "");
    cr_expect_eq(store_dlv_count(FS.st, id, STORE_DLV_DELIVERED), 1);
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), "");
}

/* the new record types against the receivers' rule tables: exact sizes,
 * fragments only for messages, and nothing a role should not receive */
Test(fetch_proto, new_records_follow_the_rules)
{
    static const struct {
        const struct rec_rule *rules;
        const char *table;
        uint16_t type, len, flags;
        int ok;
    } cases[] = {
        {proto_rules_upload, "from upload", PROTO_UP_PROGRESS, sizeof(struct proto_up_progress), 0,
         1},
        {proto_rules_upload, "from upload", PROTO_UP_PROGRESS, sizeof(struct proto_up_progress) - 1,
         0, 0},
        {proto_rules_upload, "from upload", PROTO_UP_PROGRESS, sizeof(struct proto_up_progress),
         REC_F_MORE, 0},
        {proto_rules_upload, "from upload", PROTO_UP_FETCH, 10, 0, 0},
        {proto_rules_convert, "from convert", PROTO_UP_PROGRESS, sizeof(struct proto_up_progress),
         0, 0},
        {proto_rules_to_upload, "to upload", PROTO_UP_FETCH, REC_BODY, REC_F_MORE, 1},
        {proto_rules_to_upload, "to upload", PROTO_UP_NOTIFY, 40, 0, 1},
        {proto_rules_to_upload, "to upload", PROTO_UP_CANCEL, 0, 0, 1},
        {proto_rules_to_upload, "to upload", PROTO_UP_CANCEL, 1, 0, 0},
        {proto_rules_to_upload, "to upload", PROTO_UP_PROGRESS, 16, 0, 0},
        {proto_rules_to_convert, "to convert", PROTO_UP_FETCH, 10, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rec r;
        memset(&r, 0, sizeof(r));
        r.type = cases[i].type;
        r.len = cases[i].len;
        r.flags = cases[i].flags;
        r.job = 1;
        int got = rec_check(&r, cases[i].rules) == 0;
        cr_expect_eq(got, cases[i].ok, "case %zu: 0x%04x len %u %s: %s", i, cases[i].type,
                     cases[i].len, cases[i].table, got ? "accepted" : "refused");
    }
}
