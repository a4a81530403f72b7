/*
 * sched_retain.c - how long a failed job keeps its input: [daemon]
 * keep_failed_inputs after it failed (its row's updated_at), then the
 * input goes and the job's error says that retry is no longer possible
 * (sched_retry answers so too). Looked at every keep/4, between 1 s and
 * a minute; a job held in memory (still settling) waits for the next look.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "daemon/spool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RETAIN_BATCH 64 /* inputs removed per look at most */

struct retain {
    int64_t cutoff; /* failed at or before this (ms since the epoch) */
    struct store_job rows[RETAIN_BATCH];
    int n;
};

static int
expired(void *ud, const struct store_job *row)
{
    struct retain *r = ud;
    char in[CONFIG_PATH_MAX + 64];

    if (row->updated_at > r->cutoff || sched_job_find(row->id))
        return 0;
    spool_job_path(SCHED_CFG->daemon.spool_dir, row->id, "input", in, sizeof(in));
    if (access(in, F_OK) < 0)
        return 0; /* gone already */
    r->rows[r->n++] = *row;
    return r->n == RETAIN_BATCH;
}

void
sched_retain(int64_t now)
{
    static struct retain r;
    int64_t keep = SCHED_CFG->daemon.keep_failed_inputs_ms;

    if (keep <= 0 || now < S.next_retain)
        return;
    int64_t every = keep / 4 < 1000 ? 1000 : keep / 4 > 60000 ? 60000 : keep / 4;
    S.next_retain = now + every;
    int64_t wall = S.env.wall();
    r.cutoff = wall - keep;
    r.n = 0;
    if (store_job_each(S.env.store, JOB_FAILED, 0, 0, expired, &r) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    for (int i = 0; i < r.n; i++) {
        struct store_job *row = &r.rows[i];
        char dir[CONFIG_PATH_MAX + 64];
        spool_job_path(SCHED_CFG->daemon.spool_dir, row->id, NULL, dir, sizeof(dir));
        if (spool_rmtree(dir) < 0) {
            log_error("job %lld: removing %s: %s", (long long)row->id, dir, strerror(errno));
            continue;
        }
        char error[sizeof(row->error)];
        snprintf(error, sizeof(error),
                 "%.300s (input removed after keep_failed_inputs: retry is "
                 "no longer possible)",
                 row->error);
        memcpy(row->error, error, sizeof(error));
        row->updated_at = wall;
        if (store_job_update(S.env.store, row) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
        log_info("job %lld: failed input removed (keep_failed_inputs)", (long long)row->id);
    }
}
