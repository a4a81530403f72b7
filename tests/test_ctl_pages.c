/*
 * test_ctl_pages.c - what the HTTP API asks of the master, the socket
 * offers too: `list` pages with "after" (older jobs than an id) and
 * `metrics` answers the counters behind /metrics.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

/* ids - the ids of a list reply, "3 2 " */
static void
ids(json_t *r, char *out, size_t cap)
{
    json_t *j;
    size_t i, n = 0;

    out[0] = '\0';
    json_array_foreach(json_object_get(r, "jobs"), i, j)
    {
        int w = snprintf(out + n, cap - n, "%lld ",
                         (long long)json_integer_value(json_object_get(j, "id")));
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

Test(ctl_pages, list_pages_with_after_and_metrics_answer, .timeout = 120)
{
    struct fix_daemon d;
    char got[256];

    cr_assert_eq(fix_daemon_init(&d, "ctl-pages", 0), 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start: see %s", d.log);
    for (int i = 0; i < 3; i++) {
        int64_t id = fix_daemon_submit(&d, fix_daemon_text(&d, "p.txt", 1000), "");
        cr_assert_eq(id, i + 1);
        json_decref(fix_daemon_wait(&d, id, NULL, 60000));
    }

    json_t *r = fix_daemon_req(&d, "{\"cmd\":\"list\",\"limit\":2}");
    cr_assert_not_null(r);
    ids(r, got, sizeof(got));
    cr_expect_str_eq(got, "3 2 ");
    json_decref(r);
    r = fix_daemon_req(&d, "{\"cmd\":\"list\",\"limit\":2,\"after\":2}");
    cr_assert_not_null(r);
    ids(r, got, sizeof(got));
    cr_expect_str_eq(got, "1 ", "the page after job 2");
    json_decref(r);
    r = fix_daemon_req(&d, "{\"cmd\":\"list\",\"after\":0}");
    cr_assert_not_null(r);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                     "bad_request");
    json_decref(r);

    r = fix_daemon_req(&d, "{\"cmd\":\"metrics\"}");
    cr_assert_not_null(r);
    cr_assert(json_is_true(json_object_get(r, "ok")), "metrics refused");
    json_t *m = json_object_get(r, "metrics");
    cr_expect_eq(json_integer_value(json_object_get(m, "jobs_submitted")), 3);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(m, "jobs"), "failed")), 3,
                 "the text files failed conversion");
    cr_expect(json_is_object(json_object_get(m, "resident_memory_bytes")));
    json_decref(r);
    cr_expect_eq(fix_daemon_stop(&d, SIGTERM, 10000), 0);
}
