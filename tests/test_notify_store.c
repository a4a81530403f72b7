/*
 * test_notify_store.c - the job store's share of schema 4: a store of the
 * release before (schema 3) gains the new columns with values that keep
 * its jobs as they were (their inputs in the spool: fetched), deliveries
 * are kept, listed while pending and updated, and a deleted job's row and
 * ledger go while its deliveries stay.
 */
#include "daemon/store.h"
#include "tests/fix.h"

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(notify_store, schema_3_store_migrates_to_4)
{
    char dir[512], path[600], err[256];

    fix_tmpdir(dir, sizeof(dir), "store4-migrate");
    snprintf(path, sizeof(path), "%s/jobs.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(
        sqlite3_exec(db,
                     "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT "
                     "NULL, input TEXT NOT NULL, prefix TEXT NOT NULL, ladder TEXT NOT NULL, "
                     "segment REAL NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT "
                     "NULL, progress REAL NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT "
                     "NULL, renditions TEXT NOT NULL, duration REAL NOT NULL, segs_done INTEGER "
                     "NOT NULL, segs_uploaded INTEGER NOT NULL, conv_done INTEGER NOT NULL, "
                     "owner_uid INTEGER NOT NULL DEFAULT -1, owner_name TEXT NOT NULL DEFAULT '', "
                     "notes TEXT NOT NULL DEFAULT '');"
                     "INSERT INTO jobs VALUES(NULL,0,'old.mp4','','',0,1,2,0,0,'','',0,0,0,0,7,"
                     "'bob','');"
                     "PRAGMA user_version=3;",
                     NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);

    store_t *s = store_open(path, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    struct store_job j;
    cr_assert_eq(store_job_get(s, 1, &j), 0, "%s", store_errmsg(s));
    cr_expect_str_eq(j.input, "old.mp4");
    cr_expect_str_eq(j.owner_name, "bob");
    cr_expect_str_empty(j.input_url);
    cr_expect_eq(j.fetched, 1, "an old job's input is in the spool");
    cr_expect_str_empty(j.key);
    cr_expect_str_empty(j.metadata);
    cr_expect_eq(j.deleted, 0);
    store_close(s);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_expect_eq(sqlite3_column_int(st, 0), 4);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int
collect(void *ud, struct store_dlv *d)
{
    struct store_dlv *out = ud;
    int n = 0;
    while (out[n].id)
        n++;
    out[n] = *d;
    return 0;
}

Test(notify_store, deliveries_survive_and_a_deleted_job_goes)
{
    char dir[512], path[600], err[256];

    fix_tmpdir(dir, sizeof(dir), "store4-dlv");
    snprintf(path, sizeof(path), "%s/jobs.db", dir);
    store_t *s = store_open(path, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    struct store_job j;
    memset(&j, 0, sizeof(j));
    snprintf(j.input, sizeof(j.input), "a.mp4");
    snprintf(j.key, sizeof(j.key), "talks/a");
    snprintf(j.input_url, sizeof(j.input_url), "https://example.com/a.mp4?sig=1");
    snprintf(j.metadata, sizeof(j.metadata), "{\"k\":1}");
    j.state = JOB_DONE;
    cr_assert_eq(store_begin(s), 0);
    cr_assert_eq(store_job_insert(s, &j), 0, "%s", store_errmsg(s));
    struct store_obj o = {.job = j.id, .state = OBJ_UPLOADED, .size = 5};
    snprintf(o.rel, sizeof(o.rel), "master.m3u8");
    cr_assert_eq(store_obj_put(s, &o), 0);
    struct store_dlv d1 = {.job = j.id, .body = "{\"id\":1}", .created_at = 5};
    struct store_dlv d2 = {.job = j.id, .body = "{\"id\":1,\"again\":true}", .created_at = 6};
    snprintf(d1.url, sizeof(d1.url), "http://127.0.0.1:9/hook");
    snprintf(d2.url, sizeof(d2.url), "http://127.0.0.1:9/hook");
    cr_assert_eq(store_dlv_insert(s, &d1), 0, "%s", store_errmsg(s));
    cr_assert_eq(store_dlv_insert(s, &d2), 0, "%s", store_errmsg(s));
    cr_assert_gt(d2.id, d1.id);
    d1.attempts = 3;
    d1.state = STORE_DLV_DELIVERED;
    cr_assert_eq(store_dlv_update(s, &d1), 0);
    cr_assert_eq(store_commit(s), 0);
    store_close(s);

    /* reopened: the pending one, with its body and URL */
    s = store_open(path, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    struct store_dlv got[4];
    memset(got, 0, sizeof(got));
    cr_assert_eq(store_dlv_each_pending(s, collect, got), 0);
    cr_assert_eq(got[0].id, d2.id);
    cr_assert_eq(got[1].id, 0, "a delivered one is listed as pending");
    cr_expect_str_eq(got[0].body, "{\"id\":1,\"again\":true}");
    cr_expect_str_eq(got[0].url, "http://127.0.0.1:9/hook");
    free(got[0].body);
    cr_expect_eq(store_dlv_count(s, j.id, STORE_DLV_DELIVERED), 1);
    struct store_job k;
    cr_assert_eq(store_job_get(s, j.id, &k), 0);
    cr_expect_str_eq(k.key, "talks/a");
    cr_expect_str_eq(k.input_url, "https://example.com/a.mp4?sig=1");
    cr_expect_str_eq(k.metadata, "{\"k\":1}");

    /* deleted: row and ledger go, deliveries stay */
    cr_assert_eq(store_begin(s), 0);
    cr_assert_eq(store_job_delete(s, j.id), 0, "%s", store_errmsg(s));
    cr_assert_eq(store_commit(s), 0);
    cr_expect_eq(store_job_get(s, j.id, &k), -1);
    cr_expect_eq(store_obj_get(s, j.id, "master.m3u8", &o), -1);
    cr_expect_eq(store_dlv_count(s, j.id, STORE_DLV_PENDING), 1);
    store_close(s);
}
