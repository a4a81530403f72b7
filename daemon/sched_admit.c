/*
 * sched_admit.c - the client's requests that change jobs: admit (is there
 * room?), submit, cancel, retry, and status. Each answers 0, or -1 with a
 * code and a message for the client (docs/protocol.md). A submission is
 * acknowledged only once its row is durable and its input adopted.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/spool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* undo - roll back this request's writes; a store that cannot is fatal */
static void
undo(void)
{
    if (store_rollback(S.env.store) < 0 || store_begin(S.env.store) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
}

static int
not_found(int64_t id, const char **code, char *msg, size_t msglen)
{
    if (errno == ENOENT) {
        *code = "not_found";
        snprintf(msg, msglen, "no job %lld", (long long)id);
    } else {
        *code = "internal";
        snprintf(msg, msglen, "job store: %s", store_errmsg(S.env.store));
    }
    return -1;
}

int
sched_admit(const char **code, char *msg, size_t msglen)
{
    if (S.stopping) {
        *code = "unavailable";
        snprintf(msg, msglen, "hlsd is shutting down: not accepting jobs");
        return -1;
    }
    if (S.store_full) {
        *code = "store_full";
        snprintf(msg, msglen,
                 "the job store's disk (state_dir) is full: not accepting jobs until space "
                 "returns; the jobs already accepted go on");
        return -1;
    }
    if (sched_queued() >= SCHED_CFG->daemon.max_queued) {
        *code = "queue_full";
        snprintf(msg, msglen, "queue full: %u jobs are waiting (max_queued)",
                 SCHED_CFG->daemon.max_queued);
        return -1;
    }
    return 0;
}

int
sched_submit(const char *token, const char *input, const char *ladder, double segment,
             const char *prefix, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    return sched_submit_as(token, input, ladder, segment, prefix, NULL, out, code, msg, msglen);
}

int
sched_submit_as(const char *token, const char *input, const char *ladder, double segment,
                const char *prefix, const struct sched_client *who, struct store_job *out,
                const char **code, char *msg, size_t msglen)
{
    return sched_submit_ex(token, input, ladder, segment, prefix, who, NULL, out, code, msg,
                           msglen);
}

/* key_user - a job that still publishes at the key: any but a canceled
 * one whose deletions are over (a canceled or deleted job in memory still
 * has DELETEs in flight that would take down a new job's objects) */
static int
key_user(void *ud, int64_t id, enum job_state state)
{
    if (state == JOB_CANCELED && sched_job_find(id) == NULL)
        return 0;
    *(int64_t *)ud = id;
    return 1;
}

/* submit_opts - the row's share of opts; -1 with a code for the client */
static int
submit_opts(struct store_job *row, const struct sched_submit_opts *o, const char **code, char *msg,
            size_t msglen)
{
    if (o == NULL)
        return 0;
    if ((o->url && strlen(o->url) >= sizeof(row->input_url)) ||
        (o->key && strlen(o->key) >= sizeof(row->key)) ||
        (o->notify && strlen(o->notify) >= sizeof(row->notify_url)) ||
        (o->metadata && strlen(o->metadata) > SCHED_METADATA_MAX)) {
        *code = "bad_request";
        snprintf(msg, msglen, "input URL, key, notify URL or metadata too long");
        return -1;
    }
    if (o->key && o->key[0]) {
        int64_t owner = 0;
        if (store_job_key_each(S.env.store, o->key, key_user, &owner) < 0) {
            *code = "internal";
            snprintf(msg, msglen, "job store: %s", store_errmsg(S.env.store));
            return -1;
        }
        if (owner) {
            *code = "conflict";
            snprintf(msg, msglen, "key \"%s\" is in use by job %lld (delete it first%s)", o->key,
                     (long long)owner,
                     sched_job_find(owner) && job_state_terminal(sched_job_find(owner)->row.state)
                         ? ", or wait until its deletion is over"
                         : "");
            return -1;
        }
        snprintf(row->key, sizeof(row->key), "%s", o->key);
    }
    if (o->url && o->url[0]) {
        snprintf(row->input_url, sizeof(row->input_url), "%s", o->url);
        row->fetched = 0;
    }
    snprintf(row->notify_url, sizeof(row->notify_url), "%s", o->notify ? o->notify : "");
    snprintf(row->metadata, sizeof(row->metadata), "%s", o->metadata ? o->metadata : "");
    return 0;
}

/* take_spool - the job's spool directory: ctl's (token) renamed, or a new
 * one for an input still to fetch */
static int
take_spool(const char *token, int64_t id)
{
    if (token)
        return spool_adopt(SCHED_CFG->daemon.spool_dir, token, id);
    char dir[CONFIG_PATH_MAX + 64];
    spool_job_path(SCHED_CFG->daemon.spool_dir, id, NULL, dir, sizeof(dir));
    return spool_mkdir_p(dir, 0700);
}

int
sched_submit_ex(const char *token, const char *input, const char *ladder, double segment,
                const char *prefix, const struct sched_client *who,
                const struct sched_submit_opts *opts, struct store_job *out, const char **code,
                char *msg, size_t msglen)
{
    struct store_job row;

    if (sched_admit(code, msg, msglen) < 0)
        return -1;
    memset(&row, 0, sizeof(row));
    row.state = JOB_QUEUED;
    row.fetched = 1;
    row.owner_uid = who ? who->uid : -1;
    snprintf(row.owner_name, sizeof(row.owner_name), "%s", who ? who->user : "");
    snprintf(row.input, sizeof(row.input), "%s", input);
    snprintf(row.prefix, sizeof(row.prefix), "%s", prefix ? prefix : "");
    snprintf(row.ladder, sizeof(row.ladder), "%s", ladder ? ladder : "");
    row.segment = segment;
    row.created_at = row.updated_at = S.env.wall();
    if (submit_opts(&row, opts, code, msg, msglen) < 0)
        return -1;
    if (token == NULL && row.input_url[0] == '\0') {
        *code = "bad_request";
        snprintf(msg, msglen, "submit needs an input in the spool or an input URL");
        return -1;
    }
    /* durable before the rename is visible, visible before the ack */
    if (S.env.durable() < 0) {
        *code = S.store_full ? "store_full" : "internal";
        snprintf(msg, msglen, "job store: %s",
                 S.store_full ? "the disk of state_dir is full" : "commit failed");
        return -1;
    }
    if (store_job_insert(S.env.store, &row) < 0) {
        *code = "internal";
        snprintf(msg, msglen, "job store: %s", store_errmsg(S.env.store));
        undo();
        return -1;
    }
    if (take_spool(token, row.id) < 0) {
        int e = errno;
        undo();
        *code = e == ENOENT ? "bad_request" : "internal";
        snprintf(msg, msglen, "spool: %s the input: %s", token ? "adopting" : "making room for",
                 strerror(e));
        return -1;
    }
    if (S.env.durable() < 0) {
        /* not durable (a full disk may have rolled the insert back): not
         * acknowledged, so nothing of it may stay, neither its row nor its
         * input (whose id the next job may get) */
        char path[CONFIG_PATH_MAX + 64];
        if (store_in_txn(S.env.store))
            undo();
        spool_job_path(SCHED_CFG->daemon.spool_dir, row.id, NULL, path, sizeof(path));
        spool_rmtree(path);
        *code = S.store_full ? "store_full" : "internal";
        snprintf(msg, msglen, "job store: %s",
                 S.store_full ? "the disk of state_dir is full" : "commit failed");
        return -1;
    }
    sched_job_new(&row);
    metrics_job_submitted();
    *out = row;
    log_info("job %lld: queued (%s)", (long long)row.id, row.input);
    return 0;
}

int
sched_authorize(int64_t id, const struct sched_client *who, const char **code, char *msg,
                size_t msglen)
{
    struct store_job row;

    if (sched_status(id, &row) < 0)
        return not_found(id, code, msg, msglen);
    if (who == NULL || who->admin || row.owner_uid < 0 || row.owner_uid == who->uid)
        return 0;
    *code = "forbidden";
    if (row.owner_name[0])
        snprintf(msg, msglen, "job %lld belongs to %s", (long long)id, row.owner_name);
    else
        snprintf(msg, msglen, "job %lld belongs to uid %lld", (long long)id,
                 (long long)row.owner_uid);
    return -1;
}

/* sched_cancel_job - j is canceled: its conversion is told to stop, what
 * was published comes down, what was not is forgotten */
void
sched_cancel_job(struct job *j)
{
    job_transition(j->row.id, &j->row.state, JOB_CANCELED);
    metrics_job_canceled();
    j->row.error[0] = '\0';
    sched_job_stop_conversion(j);
    if (j->fetch) /* the worker stops within a second; its result ends the lease */
        sched_lease_send(j->fetch, PROTO_UP_CANCEL, NULL, 0);
    sched_job_drop_pending(j);
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        if ((o->state == OBJ_UPLOADED || o->state == OBJ_UPLOADING) && o->lease == NULL) {
            o->attempts = 0;
            o->next_at = 0;
            sched_obj_set(j, o, OBJ_DELETING, NULL);
        }
    }
    j->cursor = 0;
    sched_job_save(j);
    log_info("job %lld: canceled", (long long)j->row.id);
    sched_notify_ended(j);
}

int
sched_cancel(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct job *j = sched_job_find(id);
    struct store_job row;

    if (j && j->row.deleted) {
        errno = ENOENT;
        return not_found(id, code, msg, msglen);
    }
    if (j == NULL) {
        if (sched_status(id, &row) < 0)
            return not_found(id, code, msg, msglen);
        if (row.state != JOB_FAILED) {
            *code = "conflict";
            snprintf(msg, msglen, "job %lld is %s: nothing to cancel", (long long)id,
                     job_state_name(row.state));
            return -1;
        }
        j = sched_job_load(&row); /* a failed job: remove its input and objects */
    }
    if (job_state_terminal(j->row.state) && j->row.state != JOB_FAILED) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: nothing to cancel", (long long)id,
                 job_state_name(j->row.state));
        *out = j->row;
        return -1;
    }
    sched_cancel_job(j);
    *out = j->row;
    sched_job_settle(j);
    return 0;
}

int
sched_retry(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct store_job row;
    struct job *j = sched_job_find(id);

    if (sched_status(id, &row) < 0)
        return not_found(id, code, msg, msglen);
    if (row.state != JOB_FAILED) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: only a failed job can be retried", (long long)id,
                 job_state_name(row.state));
        return -1;
    }
    char in[CONFIG_PATH_MAX + 64];
    spool_job_path(SCHED_CFG->daemon.spool_dir, id, "input", in, sizeof(in));
    /* an input by URL is fetched again when the spool no longer has it */
    int refetch = row.input_url[0] && (!row.fetched || access(in, R_OK) < 0);
    if (!refetch && access(in, R_OK) < 0) {
        *code = "conflict";
        snprintf(msg, msglen,
                 "job %lld: its input is no longer in the spool (a failed job keeps it for "
                 "keep_failed_inputs): retry is no longer possible",
                 (long long)id);
        return -1;
    }
    if (j == NULL)
        j = sched_job_load(&row);
    /* what the failed attempt published is being taken down: a delete in
     * flight must land first; the rest is forgotten (the new conversion
     * publishes it again) */
    for (size_t i = 0; i < j->nobjs; i++) {
        if (j->objs[i].state == OBJ_DELETING && j->objs[i].lease) {
            *code = "conflict";
            snprintf(msg, msglen,
                     "job %lld: its published objects are being deleted: try again in a moment",
                     (long long)id);
            return -1;
        }
    }
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].state == OBJ_DELETING)
            sched_obj_set(j, &j->objs[i], OBJ_UNWANTED, NULL);
    /* a job still winding down (its worker letting go) is requeued in place:
     * the dispatcher waits for the old lease to end before starting it */
    job_transition(id, &j->row.state, JOB_QUEUED);
    if (refetch) {
        char dir[CONFIG_PATH_MAX + 64];
        spool_job_path(SCHED_CFG->daemon.spool_dir, id, NULL, dir, sizeof(dir));
        if (spool_mkdir_p(dir, 0700) < 0)
            log_error("job %lld: mkdir %s: %s", (long long)id, dir, strerror(errno));
        j->row.fetched = 0;
        j->fetch_attempts = 0;
        j->fetch_next_at = 0;
    }
    j->row.attempts = 0;
    j->row.error[0] = '\0';
    j->row.progress = 0;
    j->conv_progress = 0;
    j->crashes = j->kills = 0;
    sched_job_save(j);
    log_info("job %lld: queued again (retry)", (long long)id);
    *out = j->row;
    return 0;
}

/* sched_status - a job being deleted is already gone for clients */
int
sched_status(int64_t id, struct store_job *out)
{
    const struct job *j = sched_job_find(id);

    if (j)
        *out = j->row;
    else if (store_job_get(S.env.store, id, out) < 0)
        return -1;
    if (out->deleted) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

int
sched_delete(int64_t id, const char **code, char *msg, size_t msglen)
{
    struct store_job row;
    struct job *j;

    if (sched_status(id, &row) < 0)
        return not_found(id, code, msg, msglen);
    if (!job_state_terminal(row.state)) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: cancel it first, or wait until it ends",
                 (long long)id, job_state_name(row.state));
        return -1;
    }
    if ((j = sched_job_find(id)) == NULL)
        j = sched_job_load(&row);
    j->row.deleted = 1;
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        if ((o->state == OBJ_UPLOADED || o->state == OBJ_UPLOADING) && o->lease == NULL) {
            o->attempts = 0;
            o->next_at = 0;
            sched_obj_set(j, o, OBJ_DELETING, NULL);
        }
    }
    j->cursor = 0;
    sched_job_save(j);
    log_info("job %lld: deleting", (long long)id);
    sched_job_settle(j);
    return 0;
}
