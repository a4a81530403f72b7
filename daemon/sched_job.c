/*
 * sched_job.c - the scheduler's active jobs: the list in id order, loading
 * and saving a job's row, and how a job ends (requeued, failed, done,
 * settled out of memory).
 *
 * A job's state moves only through job_transition (daemon/job.c); a failed
 * write of the store is fatal (the master restarts and recovers).
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/spool.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job *
sched_job_find(int64_t id)
{
    for (struct job *j = S.head; j; j = j->next)
        if (j->row.id == id)
            return j;
    return NULL;
}

void
sched_job_save(struct job *j)
{
    j->row.updated_at = S.env.wall();
    if (store_job_update(S.env.store, &j->row) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    j->progress_saved = S.env.now();
}

struct job *
sched_job_new(const struct store_job *row)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        log_fatal(EXIT_ENV, "out of memory for a job");
    j->row = *row;
    /* progress never goes back: a conversion started again resumes from
     * what the last one reached */
    j->conv_progress = row->progress;
    /* keep id order */
    if (S.tail == NULL || S.tail->row.id < row->id) {
        if (S.tail)
            S.tail->next = j;
        else
            S.head = j;
        S.tail = j;
    } else {
        struct job **pp = &S.head;
        while (*pp && (*pp)->row.id < row->id)
            pp = &(*pp)->next;
        j->next = *pp;
        *pp = j;
        if (j->next == NULL)
            S.tail = j;
    }
    return j;
}

static void
job_free(struct job *j)
{
    struct job **pp = &S.head, *prev = NULL;

    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        log_panic("job %lld not in the active list", (long long)j->row.id);
    *pp = j->next;
    if (S.tail == j)
        S.tail = prev;
    free(j->objs);
    free(j);
}

/* sched_job_load - a job from the store into memory with its ledger; the
 * ledger is written with every upload and the job row less often, so after
 * a crash the published-segment count is recounted from the ledger */
struct job *
sched_job_load(const struct store_job *row)
{
    struct job *j = sched_job_new(row);

    if (store_obj_each(S.env.store, row->id, sched_obj_load, j) < 0 ||
        store_obj_recount(S.env.store, row->id, &j->row.segs_uploaded) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    return j;
}

/* job_wants - j still publishes o: j is converting or uploading
 * and o was not given up */
static int
job_wants(const struct job *j, const struct obj *o)
{
    return (j->row.state == JOB_CONVERTING || j->row.state == JOB_UPLOADING) &&
           o->state != OBJ_UNWANTED;
}

/* sched_job_settle_unwanted - when j no longer publishes o (j ended, or o
 * was given up): settle j and say so (1), so that the caller lets o be */
int
sched_job_settle_unwanted(struct job *j, const struct obj *o)
{
    if (job_wants(j, o))
        return 0;
    sched_job_settle(j);
    return 1;
}

static int
job_has_leases(const struct job *j)
{
    if (j->conv || j->fetch)
        return 1;
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].lease)
            return 1;
    return 0;
}

/* sched_job_release_lease - the store's lease on j ends (if it had one) */
void
sched_job_release_lease(struct job *j)
{
    if (j->slease.job == 0)
        return;
    if (store_lease_release(S.env.store, &j->slease) < 0 && errno != ESTALE)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    memset(&j->slease, 0, sizeof(j->slease));
}

/* sched_job_requeue - a conversion that ended early goes back to the
 * queue; one stopped by us (shutdown, retire) does not count the attempt:
 * not the input's fault */
void
sched_job_requeue(struct job *j, int count_attempt)
{
    j->releasing = 0;
    if (!count_attempt && j->row.attempts > 0)
        j->row.attempts--;
    job_transition(j->row.id, &j->row.state, JOB_QUEUED);
    j->row.progress = j->conv_progress; /* where the next attempt catches up from */
    sched_job_release_lease(j);
    sched_job_save(j);
}

/* sched_job_settle - a job that ended and holds no leases leaves memory,
 * and its spool goes (a failed job keeps its input, for retry) */
void
sched_job_settle(struct job *j)
{
    char path[CONFIG_PATH_MAX + 64];

    if (!job_state_terminal(j->row.state) || job_has_leases(j))
        return;
    if (j->row.state == JOB_CANCELED || j->row.state == JOB_FAILED || j->row.deleted) {
        for (size_t i = 0; i < j->nobjs; i++)
            if (j->objs[i].state == OBJ_DELETING)
                return; /* deletions still to do */
    }
    /* its final row, until committed: a commit that fails on a full disk
     * is written again from memory (sched_resync) */
    if (S.nsettled == S.capsettled) {
        size_t cap = S.capsettled ? S.capsettled * 2 : 16;
        struct store_job *n = realloc(S.settled, cap * sizeof(*n));
        if (n == NULL)
            log_fatal(EXIT_ENV, "out of memory for a settled job");
        S.settled = n;
        S.capsettled = cap;
    }
    S.settled[S.nsettled++] = j->row;
    spool_job_path(SCHED_CFG->daemon.spool_dir, j->row.id,
                   j->row.state == JOB_FAILED && !j->row.deleted ? "out" : NULL, path,
                   sizeof(path));
    if (spool_rmtree(path) < 0)
        log_error("job %lld: removing %s: %s", (long long)j->row.id, path, strerror(errno));
    sched_job_release_lease(j);
    if (j->row.deleted) {
        /* sched_delete: what it published is down, now the job goes */
        if (store_job_delete(S.env.store, j->row.id) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
        log_info("job %lld: deleted", (long long)j->row.id);
    }
    job_free(j);
}

void
sched_job_stop_conversion(struct job *j)
{
    if (j->conv)
        sched_lease_send(j->conv, PROTO_CONV_CANCEL, NULL, 0);
}

/* sched_job_drop_pending - objects not uploaded are no longer wanted; the
 * ledger keeps uploaded ones */
void
sched_job_drop_pending(struct job *j)
{
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].state == OBJ_PENDING)
            sched_obj_set(j, &j->objs[i], OBJ_UNWANTED, NULL);
}

void
sched_job_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(j->row.error, sizeof(j->row.error), fmt, ap);
    va_end(ap);
    /* a failed job shows the progress it had reached (sched_progress reads
     * the row then): never less than what status said a moment before */
    double shown = sched_progress(&j->row);
    if (shown > j->row.progress)
        j->row.progress = shown;
    job_transition(j->row.id, &j->row.state, JOB_FAILED);
    metrics_job_failed();
    sched_job_stop_conversion(j);
    sched_job_drop_pending(j);
    /* what it published already: taken down, unless kept by the setting;
     * the error says which (one in flight is taken down when it lands) */
    unsigned published = 0;
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        /* published, or on its way (an upload in flight) */
        if (o->state != OBJ_UPLOADED && !(o->state == OBJ_UPLOADING && o->lease))
            continue;
        published++;
        if (!SCHED_CFG->upload.keep_failed_output && o->lease == NULL && o->state == OBJ_UPLOADED) {
            o->attempts = 0;
            o->next_at = 0;
            sched_obj_set(j, o, OBJ_DELETING, NULL);
        }
    }
    j->cursor = 0;
    size_t n = strlen(j->row.error);
    if (published && n < sizeof(j->row.error))
        snprintf(j->row.error + n, sizeof(j->row.error) - n,
                 SCHED_CFG->upload.keep_failed_output
                     ? "; the %u objects it published are kept (keep_failed_output)"
                     : "; the %u objects it published are deleted (keep_failed_output = no)",
                 published);
    log_warn("job %lld failed: %s", (long long)j->row.id, j->row.error);
    sched_job_save(j);
    sched_notify_ended(j);
    sched_job_settle(j);
}

void
sched_job_done(struct job *j)
{
    job_transition(j->row.id, &j->row.state, JOB_DONE);
    metrics_job_done(j->row.created_at, S.env.wall());
    j->row.progress = 1.0;
    j->row.error[0] = '\0';
    sched_job_save(j);
    log_info("job %lld done: %u segment%s published", (long long)j->row.id, j->row.segs_uploaded,
             j->row.segs_uploaded == 1 ? "" : "s");
    sched_notify_ended(j);
    sched_job_settle(j);
}

/* sched_job_queue_master - once every other object of a converted job is
 * uploaded, the master playlist is queued; once it is uploaded, the job
 * is done */
void
sched_job_queue_master(struct job *j)
{
    if (!j->row.conv_done || j->row.state != JOB_UPLOADING)
        return;
    for (size_t i = 0; i < j->nobjs; i++) {
        const struct obj *o = &j->objs[i];
        if (o->state != OBJ_UNWANTED && o->kind != OBJ_MASTER && o->state != OBJ_UPLOADED)
            return;
    }
    struct obj *m = sched_obj_find(j, "master.m3u8");
    if (m && m->state == OBJ_UPLOADED) {
        sched_job_done(j);
        return;
    }
    if (m == NULL) {
        m = sched_obj_add(j, "master.m3u8", 0);
        sched_obj_set(j, m, OBJ_PENDING, NULL);
    }
}
