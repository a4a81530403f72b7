/*
 * store.h - the job store: SQLite in WAL mode, written only by the master.
 *
 * Two tables: jobs (one row per submission) and objects (the per-object
 * upload ledger: pending, uploading, uploaded with its ETag). Every write
 * is committed with synchronous=FULL before the caller acts on it, so a
 * crash at any point loses no acknowledged job and at most re-sends objects
 * that were in flight. Returns 0 / -1 (errno ENOENT for a missing row, EIO
 * for a database error, with store_errmsg() saying what failed).
 */
#ifndef HLSD_DAEMON_STORE_H
#define HLSD_DAEMON_STORE_H

#include "daemon/job.h"

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

struct store_job {
    int64_t id;
    enum job_state state;
    char input[256];    /* submitted file name, for people */
    char prefix[260];   /* key prefix under the upload URL ("" = none) */
    char ladder[96];    /* "" = configured default */
    double segment;     /* 0 = configured default */
    int64_t created_at; /* ms since the epoch */
    int64_t updated_at;
    double progress;      /* 0..1 */
    unsigned attempts;    /* conversions started */
    char error[512];      /* "" = none */
    char renditions[512]; /* space-separated names, once known */
    double duration;
    unsigned segs_done;
    unsigned segs_uploaded;
    unsigned conv_done; /* 1 once the conversion finished for good */
};

enum obj_state { OBJ_PENDING, OBJ_UPLOADING, OBJ_UPLOADED, OBJ_DELETING };

struct store_obj {
    int64_t job;
    char rel[128]; /* path under the job: "720p/seg_00003.ts", "master.m3u8" */
    enum obj_state state;
    char etag[80];
    int64_t size;
    unsigned attempts;
};

store_t *store_open(const char *path, char *err, size_t errlen);
void store_close(store_t *s);
const char *store_errmsg(store_t *s);

int store_begin(store_t *s);
int store_commit(store_t *s);
int store_rollback(store_t *s);

/* store_job_insert - assigns j->id */
int store_job_insert(store_t *s, struct store_job *j);
int store_job_update(store_t *s, const struct store_job *j);
int store_job_get(store_t *s, int64_t id, struct store_job *j);
/* store_job_each - jobs in id order, newest first if desc; state < 0: all;
 * limit 0: no limit. fn returns non-zero to stop. */
int store_job_each(store_t *s, int state, int desc, unsigned limit,
                   int (*fn)(void *ud, const struct store_job *j), void *ud);
/* store_job_count - how many jobs are in state */
int64_t store_job_count(store_t *s, enum job_state state);

int store_obj_put(store_t *s, const struct store_obj *o); /* insert or replace */
int store_obj_get(store_t *s, int64_t job, const char *rel, struct store_obj *o);
int store_obj_each(store_t *s, int64_t job, int (*fn)(void *ud, const struct store_obj *o),
                   void *ud);
int store_obj_delete(store_t *s, int64_t job, const char *rel);
int store_obj_delete_job(store_t *s, int64_t job);

#endif
