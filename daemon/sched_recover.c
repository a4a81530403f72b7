/*
 * sched_recover.c - start-up: unfinished jobs back into memory, the spool
 * swept.
 */
#include "daemon/sched_int.h"

#include "daemon/job.h"
#include "daemon/log.h"
#include "daemon/spool.h"
#include "ipc/proto.h"
#include "workers/backoff.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- start-up ---- */

int
keep_spool(int64_t id)
{
    struct store_job row;

    if (sched_find(id))
        return 1;
    return store_job_get(M.store, id, &row) == 0 && row.state == JOB_FAILED;
}

int
recover_one(void *ud, const struct store_job *row)
{
    (void)ud;
    if (row->state == JOB_DONE || row->state == JOB_FAILED)
        return 0;
    struct job *j = job_load(row);
    if (j->row.state == JOB_CONVERTING) {
        job_transition(j->row.id, &j->row.state, JOB_QUEUED);
        /* unsent segments are reported again by the new conversion */
        for (size_t i = 0; i < j->nobjs; i++)
            if (j->objs[i].state == OBJ_PENDING && j->objs[i].kind == OBJ_SEGMENT)
                j->objs[i].next_at = INT64_MAX;
        job_save(j);
    }
    return 0;
}

int
sched_recover(void)
{
    if (store_job_each(M.store, -1, 0, 0, recover_one, NULL) < 0)
        return -1;
    unsigned n = 0;
    struct job *next;
    for (struct job *j = jobs_head; j; j = next) {
        next = j->next;
        n++;
        if (j->row.state == JOB_CANCELED)
            job_settle(j); /* leaves memory unless deletions remain */
        else if (j->row.state == JOB_UPLOADING)
            maybe_queue_master(j);
    }
    if (spool_sweep(M.cfg.daemon.spool_dir, keep_spool) < 0)
        log_error("spool_sweep %s: %s", M.cfg.daemon.spool_dir, strerror(errno));
    if (n)
        log_info("recovered %u unfinished jobs", n);
    return 0;
}
