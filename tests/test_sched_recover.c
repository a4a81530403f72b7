/*
 * test_sched_recover.c - a new master's scheduler on a store an earlier
 * one left with jobs in every state; and the object state machine.
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

TestSuite(sched_recover, .init = fix_sched_setup, .fini = fix_sched_teardown);

Test(sched_recover, from_every_state)
{
    int64_t queued = fix_sched_put_job(JOB_QUEUED, 0);
    int64_t converting = fix_sched_put_job(JOB_CONVERTING, 0);
    fix_sched_put_obj(converting, "720p/seg_00000.ts", OBJ_UPLOADED);
    fix_sched_put_obj(converting, "720p/seg_00001.ts", OBJ_PENDING);
    int64_t uploading = fix_sched_put_job(JOB_UPLOADING, 0); /* the row's count lags the ledger */
    fix_sched_put_obj(uploading, "720p/seg_00000.ts", OBJ_UPLOADED);
    fix_sched_put_obj(uploading, "720p/seg_00001.ts", OBJ_UPLOADED);
    fix_sched_put_obj(uploading, "720p/index.m3u8", OBJ_UPLOADING); /* in flight at the crash */
    int64_t done = fix_sched_put_job(JOB_DONE, 1);
    int64_t failed = fix_sched_put_job(JOB_FAILED, 0);
    int64_t canceled = fix_sched_put_job(JOB_CANCELED, 0);
    fix_sched_put_obj(canceled, "720p/seg_00000.ts", OBJ_DELETING);
    int64_t canceled_clean = fix_sched_put_job(JOB_CANCELED, 0);
    cr_assert_eq(fix_sched_durable(), 0);

    fix_sched_start(); /* a new master */
    cr_assert_eq(sched_recover(), 0);

    static const struct {
        const char *name;
        int active;
        enum job_state state;
        int spool_kept;
    } want[] = {
        {"queued", 1, JOB_QUEUED, 1},
        {"converting", 1, JOB_QUEUED, 1},
        {"uploading", 1, JOB_UPLOADING, 1},
        {"done", 0, JOB_DONE, 0},
        {"failed", 0, JOB_FAILED, 1},
        {"canceled", 1, JOB_CANCELED, 1},
        {"canceled, nothing left", 0, JOB_CANCELED, 0},
    };
    int64_t ids[] = {queued, converting, uploading, done, failed, canceled, canceled_clean};
    for (size_t c = 0; c < sizeof(ids) / sizeof(ids[0]); c++) {
        char path[PATH_MAX + 64];
        cr_expect_eq(sched_active(ids[c]) != NULL, want[c].active, "%s: in memory", want[c].name);
        cr_expect_eq(fix_sched_row(ids[c]).state, want[c].state, "%s: state %s", want[c].name,
                     job_state_name(fix_sched_row(ids[c]).state));
        spool_job_path(FS.spool, ids[c], NULL, path, sizeof(path));
        cr_expect_eq(fix_exists(path), want[c].spool_kept, "%s: spool", want[c].name);
    }
    cr_expect_eq(fix_sched_row(uploading).segs_uploaded, 2, "recounted from the ledger");
    cr_expect_eq(fix_sched_row(converting).segs_uploaded, 1);

    /* the work left: the canceled job's deletion and the interrupted
     * playlist upload, oldest job first; the converting job's pending
     * segment waits for the new conversion to report it again */
    uint16_t type;
    char want_key[64];
    snprintf(want_key, sizeof(want_key), "%lld/720p/index.m3u8", (long long)uploading);
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), want_key);
    cr_expect_eq(type, PROTO_UP_PUT);
    snprintf(want_key, sizeof(want_key), "%lld/720p/seg_00000.ts", (long long)canceled);
    cr_expect_str_eq(fix_sched_offer_up(UP2, &type), want_key);
    cr_expect_eq(type, PROTO_UP_DELETE);
    cr_expect_str_eq(fix_sched_offer_up(UP + 2, &type), "");
    /* conversions restart in id order */
    cr_expect(sched_offer(CONV, SCHED_CONVERT));
    cr_expect_eq(fix_sched_last_to(CONV)->job, (uint64_t)queued);
    cr_expect(sched_offer(CONV2, SCHED_CONVERT));
    cr_expect_eq(fix_sched_last_to(CONV2)->job, (uint64_t)converting);
    /* the playlist done, the master playlist goes last and the job is done */
    fix_sched_up_result(UP, uploading, PROTO_UP_OK, -1, "");
    snprintf(want_key, sizeof(want_key), "%lld/master.m3u8", (long long)uploading);
    cr_expect_str_eq(fix_sched_offer_up(UP, &type), want_key);
    fix_sched_up_result(UP, uploading, PROTO_UP_OK, -1, "");
    cr_expect_eq(fix_sched_row(uploading).state, JOB_DONE);
}

/* ---- the object state machine ---- */

Test(obj, legal_transitions_table)
{
    const char *legal[] = {
        "pending>uploading", "pending>uploaded",   "pending>deleting",   "pending>unwanted",
        "uploading>pending", "uploading>uploaded", "uploading>deleting", "uploading>unwanted",
        "uploaded>pending",  "uploaded>deleting",  "uploaded>unwanted",  "deleting>unwanted",
        "unwanted>uploaded", "unwanted>deleting",
    };
    for (int a = 0; a < OBJ_NSTATES; a++) {
        for (int b = 0; b < OBJ_NSTATES; b++) {
            char key[64];
            snprintf(key, sizeof(key), "%s>%s", obj_state_name(a), obj_state_name(b));
            int want = a == b;
            for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
                want |= strcmp(key, legal[i]) == 0;
            cr_expect_eq(obj_state_legal(a, b), want, "%s", key);
        }
    }
    cr_expect_eq(obj_state_legal(OBJ_NSTATES, OBJ_PENDING), 0);
    cr_expect_eq(obj_state_legal(OBJ_PENDING, (enum obj_state) - 1), 0);
}

Test(obj, illegal_transition_panics, .signal = SIGABRT)
{
    enum obj_state s = OBJ_DELETING;
    obj_transition(1, "720p/seg_00000.ts", &s, OBJ_UPLOADING);
}

Test(obj, unwanted_is_never_stored)
{
    char dbdir[PATH_MAX], db[PATH_MAX + 16], err[256];

    fix_tmpdir(dbdir, sizeof(dbdir), "obj");
    snprintf(db, sizeof(db), "%s/hlsd.db", dbdir);
    store_t *s = store_open(db, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    struct store_obj o = {.job = 1, .rel = "a.ts", .state = OBJ_UNWANTED};
    cr_expect_eq(store_obj_put(s, &o), -1);
    cr_expect_eq(errno, EINVAL);
    store_close(s);
    spool_rmtree(dbdir);
}
