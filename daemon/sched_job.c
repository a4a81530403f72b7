/*
 * sched_job.c - the scheduler's active jobs: the list in id order, saving
 * a job's row, and how a job ends (done, failed, settled out of memory).
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

struct job *jobs_head, *jobs_tail;

/* ---- small helpers ---- */

struct job *
sched_find(int64_t id)
{
    for (struct job *j = jobs_head; j; j = j->next)
        if (j->row.id == id)
            return j;
    return NULL;
}

void
job_save(struct job *j)
{
    j->row.updated_at = master_wall();
    if (store_job_update(M.store, &j->row) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
    j->progress_saved = master_now();
}

/* obj_save - the ledger row of o; etag only once it is uploaded */

struct job *
job_new(const struct store_job *row)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        log_fatal(EXIT_ENV, "out of memory for a job");
    j->row = *row;
    /* keep id order */
    if (jobs_tail == NULL || jobs_tail->row.id < row->id) {
        if (jobs_tail)
            jobs_tail->next = j;
        else
            jobs_head = j;
        jobs_tail = j;
    } else {
        struct job **pp = &jobs_head;
        while (*pp && (*pp)->row.id < row->id)
            pp = &(*pp)->next;
        j->next = *pp;
        *pp = j;
        if (j->next == NULL)
            jobs_tail = j;
    }
    return j;
}

void
job_free(struct job *j)
{
    struct job **pp = &jobs_head, *prev = NULL;

    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        log_panic("job %lld not in the active list", (long long)j->row.id);
    *pp = j->next;
    if (jobs_tail == j)
        jobs_tail = prev;
    free(j->objs);
    free(j);
}

int
job_has_leases(const struct job *j)
{
    if (j->conv)
        return 1;
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].lease)
            return 1;
    return 0;
}

double
sched_progress(const struct store_job *row)
{
    const struct job *j = sched_find(row->id);

    switch (row->state) {
    case JOB_DONE:
        return 1.0;
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

unsigned
sched_queued(void)
{
    unsigned n = 0;

    for (struct job *j = jobs_head; j; j = j->next)
        n += j->row.state == JOB_QUEUED;
    return n;
}

int
sched_conversions_running(void)
{
    int n = 0;

    for (struct job *j = jobs_head; j; j = j->next)
        n += j->conv != NULL;
    return n;
}

/* ---- ending jobs ---- */

void
slot_release(struct slot *s)
{
    s->job = NULL;
    s->obj = NULL;
    s->obj_delete = 0;
    s->jobs_done++;
    master_proc_lease(s, 0);
}

/* job_requeue_released - a conversion stopped for shutdown or retire goes
 * back to the queue without counting the attempt: not the input's fault */
void
job_requeue_released(struct job *j)
{
    j->releasing = 0;
    if (j->row.attempts > 0)
        j->row.attempts--;
    job_transition(j->row.id, &j->row.state, JOB_QUEUED);
    job_save(j);
}

/* job_settle - a job that ended and holds no leases leaves memory, and its
 * spool goes (a failed job keeps its input, for retry) */
void
job_settle(struct job *j)
{
    char path[CONFIG_PATH_MAX + 64];

    if (!job_state_terminal(j->row.state) || job_has_leases(j))
        return;
    if (j->row.state == JOB_CANCELED) {
        for (size_t i = 0; i < j->nobjs; i++)
            if (j->objs[i].state == OBJ_DELETING)
                return; /* deletions still to do */
    }
    if (j->row.state == JOB_FAILED) {
        spool_job_path(M.cfg.daemon.spool_dir, j->row.id, "out", path, sizeof(path));
    } else {
        spool_job_path(M.cfg.daemon.spool_dir, j->row.id, NULL, path, sizeof(path));
    }
    if (spool_rmtree(path) < 0)
        log_error("job %lld: removing %s: %s", (long long)j->row.id, path, strerror(errno));
    job_free(j);
}

void
stop_conversion(struct job *j)
{
    if (j->conv)
        master_proc_send(j->conv, PROTO_CONV_CANCEL, (uint64_t)j->row.id, NULL, 0);
}

void
drop_pending(struct job *j)
{
    /* forget objects not uploaded; the ledger keeps uploaded ones */
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        if (o->state == OBJ_PENDING) {
            store_obj_delete(M.store, j->row.id, o->rel);
            o->state = OBJ_UPLOADED; /* placeholder: not dispatched again */
            o->kind = OBJ_SEGMENT;
            o->rel[0] = '\0';
        }
    }
}

void
job_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(j->row.error, sizeof(j->row.error), fmt, ap);
    va_end(ap);
    job_transition(j->row.id, &j->row.state, JOB_FAILED);
    log_warn("job %lld failed: %s", (long long)j->row.id, j->row.error);
    stop_conversion(j);
    drop_pending(j);
    job_save(j);
    job_settle(j);
}

void
job_done(struct job *j)
{
    job_transition(j->row.id, &j->row.state, JOB_DONE);
    j->row.progress = 1.0;
    j->row.error[0] = '\0';
    job_save(j);
    log_info("job %lld done: %u segments published", (long long)j->row.id, j->row.segs_uploaded);
    job_settle(j);
}

int
load_obj(void *ud, const struct store_obj *so)
{
    struct job *j = ud;
    struct obj *o = obj_add(j, so->rel, kind_of(so->rel), so->size);

    o->state = so->state == OBJ_UPLOADING ? OBJ_PENDING : so->state;
    o->attempts = so->attempts;
    return 0;
}

/* job_load - a job from the store into memory with its ledger; the ledger
 * is written with every upload and the job row less often, so after a
 * crash the published-segment count comes from the ledger */
struct job *
job_load(const struct store_job *row)
{
    struct job *j = job_new(row);

    store_obj_each(M.store, row->id, load_obj, j);
    j->row.segs_uploaded = 0;
    for (size_t i = 0; i < j->nobjs; i++)
        j->row.segs_uploaded += j->objs[i].kind == OBJ_SEGMENT && j->objs[i].state == OBJ_UPLOADED;
    return j;
}
