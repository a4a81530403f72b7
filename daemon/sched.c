/*
 * sched.c - the scheduler's state, and what the rest of the master may
 * read of it: counters, leases, progress. See sched.h for the invariants
 * and the interface the master hands in.
 *
 * FIFO: conversions go to idle workers in job id order; uploads go in job
 * order, then object order, so the oldest job's segments leave first.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"

#include <stdlib.h>
#include <string.h>

struct sched S;

void
sched_init(const struct sched_env *env)
{
    sched_fini();
    memset(&S, 0, sizeof(S));
    S.env = *env;
    S.rng = env->seed ? env->seed : 1;
    S.synced_wall = env->wall();
}

void
sched_fini(void)
{
    struct job *j, *next;

    for (j = S.head; j; j = next) {
        next = j->next;
        free(j->objs);
        free(j);
    }
    S.head = S.tail = NULL;
    sched_notify_fini();
    free(S.settled);
    S.settled = NULL;
    S.nsettled = S.capsettled = 0;
}

void
sched_resync(void)
{
    for (size_t i = 0; i < S.nsettled; i++)
        if (store_job_update(S.env.store, &S.settled[i]) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    for (struct job *j = S.head; j; j = j->next) {
        if (store_job_update(S.env.store, &j->row) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
        for (size_t i = 0; i < j->nobjs; i++)
            sched_obj_rewrite(j, &j->objs[i]);
    }
    sched_notify_resync(); /* the webhooks of the jobs that ended then */
}

void
sched_committed(void)
{
    S.nsettled = 0;
    sched_notify_committed();
}

void
sched_store_full(int full)
{
    S.store_full = full;
}

void
sched_stop(void)
{
    S.stopping = 1;
}

const struct sched_stats *
sched_stats(void)
{
    return &S.stats;
}

const struct store_job *
sched_active(int64_t id)
{
    const struct job *j = sched_job_find(id);
    return j ? &j->row : NULL;
}

unsigned
sched_queued(void)
{
    unsigned n = 0;

    for (struct job *j = S.head; j; j = j->next)
        n += j->row.state == JOB_QUEUED;
    return n;
}

int
sched_conversions_running(void)
{
    int n = 0;

    for (struct job *j = S.head; j; j = j->next)
        n += j->conv != NULL;
    return n;
}

long long
sched_segments_expected(const struct store_job *row)
{
    const struct job *j = sched_job_find(row->id);

    if (row->state == JOB_DONE)
        return row->segs_uploaded;
    if (!row->conv_done || (row->state != JOB_UPLOADING && row->state != JOB_CONVERTING))
        return -1;
    if (j == NULL)
        return row->segs_done;
    long long n = 0;
    for (size_t i = 0; i < j->nobjs; i++)
        n += j->objs[i].kind == OBJ_SEGMENT && j->objs[i].state != OBJ_UNWANTED;
    return n;
}

double
sched_progress(const struct store_job *row)
{
    const struct job *j = sched_job_find(row->id);

    switch (row->state) {
    case JOB_DONE:
        return 1.0;
    case JOB_QUEUED: /* again, after a conversion cut short: where it got */
    case JOB_CONVERTING:
        return j ? 0.95 * j->conv_progress : 0.95 * row->progress;
    case JOB_UPLOADING: {
        if (j == NULL || j->nobjs == 0)
            return 0.95;
        size_t up = 0;
        for (size_t i = 0; i < j->nobjs; i++)
            up += j->objs[i].state == OBJ_UPLOADED;
        return 0.95 + 0.05 * (double)up / (double)(j->nobjs + 1);
    }
    default:
        return row->progress;
    }
}
