/*
 * sched_admit.c - the client's requests: submit, cancel, retry.
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

/* ---- control requests ---- */

int
sched_submit(const char *token, const char *input, const char *ladder, double segment,
             const char *prefix, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct store_job row;

    if (M.stopping) {
        *code = "unavailable";
        snprintf(msg, msglen, "hlsd is shutting down: not accepting jobs");
        return -1;
    }
    if (sched_queued() >= M.cfg.daemon.max_queued) {
        *code = "queue_full";
        snprintf(msg, msglen, "queue full: %u jobs are waiting (max_queued)",
                 M.cfg.daemon.max_queued);
        return -1;
    }
    memset(&row, 0, sizeof(row));
    row.state = JOB_QUEUED;
    snprintf(row.input, sizeof(row.input), "%s", input);
    snprintf(row.prefix, sizeof(row.prefix), "%s", prefix ? prefix : "");
    snprintf(row.ladder, sizeof(row.ladder), "%s", ladder ? ladder : "");
    row.segment = segment;
    row.created_at = row.updated_at = master_wall();
    /* durable before the rename is visible, visible before the ack */
    master_durable();
    if (store_job_insert(M.store, &row) < 0) {
        *code = "internal";
        snprintf(msg, msglen, "job store: %s", store_errmsg(M.store));
        store_rollback(M.store);
        store_begin(M.store);
        return -1;
    }
    if (spool_adopt(M.cfg.daemon.spool_dir, token, row.id) < 0) {
        int e = errno;
        store_rollback(M.store);
        store_begin(M.store);
        *code = e == ENOENT ? "bad_request" : "internal";
        snprintf(msg, msglen, "spool: adopting the input: %s", strerror(e));
        return -1;
    }
    if (master_durable() < 0) {
        *code = "internal";
        snprintf(msg, msglen, "job store: commit failed");
        return -1;
    }
    job_new(&row);
    *out = row;
    log_info("job %lld: queued (%s)", (long long)row.id, row.input);
    return 0;
}

int
sched_cancel(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct job *j = sched_find(id);
    struct store_job row;

    if (j == NULL) {
        if (store_job_get(M.store, id, &row) < 0) {
            *code = "not_found";
            snprintf(msg, msglen, "no job %lld", (long long)id);
            return -1;
        }
        if (row.state != JOB_FAILED) {
            *code = "conflict";
            snprintf(msg, msglen, "job %lld is %s: nothing to cancel", (long long)id,
                     job_state_name(row.state));
            return -1;
        }
        j = job_load(&row); /* a failed job: remove its input and objects */
    }
    if (job_state_terminal(j->row.state) && j->row.state != JOB_FAILED) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: nothing to cancel", (long long)id,
                 job_state_name(j->row.state));
        *out = j->row;
        return -1;
    }
    job_transition(id, &j->row.state, JOB_CANCELED);
    j->row.error[0] = '\0';
    stop_conversion(j);
    /* what was published comes down; what was not is forgotten */
    drop_pending(j);
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        if (o->rel[0] && (o->state == OBJ_UPLOADED || o->state == OBJ_UPLOADING) &&
            o->lease == NULL) {
            o->state = OBJ_DELETING;
            o->attempts = 0;
            o->next_at = 0;
            obj_save(j, o);
        }
    }
    j->cursor = 0;
    job_save(j);
    log_info("job %lld: canceled", (long long)id);
    *out = j->row;
    job_settle(j);
    return 0;
}

int
sched_retry(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct store_job row;
    struct job *j = sched_find(id);

    if (j == NULL && store_job_get(M.store, id, &row) < 0) {
        *code = "not_found";
        snprintf(msg, msglen, "no job %lld", (long long)id);
        return -1;
    }
    if (j)
        row = j->row;
    if (row.state != JOB_FAILED) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: only a failed job can be retried", (long long)id,
                 job_state_name(row.state));
        return -1;
    }
    char in[CONFIG_PATH_MAX + 64];
    spool_job_path(M.cfg.daemon.spool_dir, id, "input", in, sizeof(in));
    if (access(in, R_OK) < 0) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld: its input is no longer in the spool", (long long)id);
        return -1;
    }
    if (j == NULL) {
        j = job_load(&row);
    }
    /* a job still winding down (its worker letting go) is requeued in place:
     * the dispatcher waits for the old lease to end before starting it */
    job_transition(id, &j->row.state, JOB_QUEUED);
    j->row.attempts = 0;
    j->row.error[0] = '\0';
    j->row.progress = 0;
    job_save(j);
    log_info("job %lld: queued again (retry)", (long long)id);
    *out = j->row;
    return 0;
}
