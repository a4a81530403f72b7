/*
 * sched_recover.c - start-up: every unfinished job comes back into memory
 * with its ledger. Conversions that were running go back to the queue
 * (their published objects are skipped when reported again with the same
 * size); uploads that were in flight are sent again; canceled jobs finish
 * their deletions; the published-segment count is recounted from the
 * ledger; the spool keeps only live and failed jobs' directories.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "daemon/spool.h"

#include <errno.h>
#include <string.h>

/* keep_spool - a directory of the spool to keep; when the store cannot
 * say, it is kept */
static int
keep_spool(int64_t id)
{
    struct store_job row;

    if (sched_job_find(id))
        return 1;
    if (store_job_get(S.env.store, id, &row) < 0)
        return errno != ENOENT;
    return row.state == JOB_FAILED;
}

static int
recover_one(void *ud, const struct store_job *row)
{
    (void)ud;
    if (row->state == JOB_DONE && !row->deleted)
        return 0;
    /* a failed job is unfinished only while deletions of what it had
     * published remain (settling it below leaves it in memory then) */
    struct job *j = sched_job_load(row);
    if (j->row.state == JOB_CONVERTING) {
        job_transition(j->row.id, &j->row.state, JOB_QUEUED);
        /* unsent segments are reported again by the new conversion */
        for (size_t i = 0; i < j->nobjs; i++)
            if (j->objs[i].state == OBJ_PENDING &&
                (j->objs[i].kind == OBJ_SEGMENT || j->objs[i].kind == OBJ_FILE))
                j->objs[i].next_at = INT64_MAX;
        sched_job_save(j);
    }
    return 0;
}

int
sched_recover(void)
{
    if (store_job_each(S.env.store, -1, 0, 0, recover_one, NULL) < 0)
        return -1;
    unsigned n = 0;
    struct job *next;
    for (struct job *j = S.head; j; j = next) {
        next = j->next;
        if (j->row.state == JOB_CANCELED || j->row.state == JOB_FAILED || j->row.deleted) {
            /* a canceled, failed or deleted job is unfinished only while
             * deletions remain: settling leaves it in memory exactly then */
            int64_t id = j->row.id;
            sched_job_settle(j);
            n += sched_job_find(id) != NULL;
            continue;
        }
        n++;
        if (j->row.state == JOB_UPLOADING)
            sched_job_queue_master(j);
    }
    if (sched_notify_recover() < 0)
        return -1;
    if (spool_sweep(SCHED_CFG->daemon.spool_dir, keep_spool) < 0)
        log_error("spool_sweep %s: %s", SCHED_CFG->daemon.spool_dir, strerror(errno));
    if (n)
        log_info("recovered %u unfinished job%s", n, n == 1 ? "" : "s");
    return 0;
}
