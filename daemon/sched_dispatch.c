/*
 * sched_dispatch.c - leases for idle workers: conversions in job id order
 * (FIFO), uploads in job order then object order, so the oldest job's
 * segments leave first. A conversion first leases its job in the store,
 * so that with a store shared by several hosts only one converts it.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned
conv_threads(void)
{
    if (SCHED_CFG->convert.threads)
        return SCHED_CFG->convert.threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned w = SCHED_CFG->convert.workers ? SCHED_CFG->convert.workers : 1;
    return n > (long)w ? (unsigned)(n / (long)w) : 1;
}

/* take_job - the store's lease on j for this host; 0 if someone else
 * holds a live one */
static int
take_job(struct job *j)
{
    if (j->slease.job)
        return 1;
    if (store_lease_take(S.env.store, j->row.id, S.env.owner, S.env.wall(), SCHED_LEASE_TTL_MS,
                         &j->slease) == 0) {
        j->slease_renewed = S.env.now();
        return 1;
    }
    if (errno != EBUSY)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    return 0;
}

static int
start_conversion(int w, struct job *j)
{
    struct proto_conv_start st;

    if (!take_job(j))
        return 0;
    memset(&st, 0, sizeof(st));
    j->row.attempts++;
    st.attempt = j->row.attempts;
    st.threads = conv_threads();
    st.segment_seconds = j->row.segment > 0 ? j->row.segment : SCHED_CFG->convert.segment_seconds;
    snprintf(st.ladder, sizeof(st.ladder), "%s",
             j->row.ladder[0] ? j->row.ladder : SCHED_CFG->convert.ladder);
    job_transition(j->row.id, &j->row.state, JOB_CONVERTING);
    j->conv_started = j->last_progress = S.env.now();
    /* segs_done and the progress stay where the best attempt left them
     * (a user never sees them go back); this attempt counts its own */
    j->attempt_segs = 0;
    j->row.conv_done = 0;
    /* a reconversion reports every segment again; forget unsent ones */
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].state == OBJ_PENDING && j->objs[i].lease == NULL)
            j->objs[i].next_at = INT64_MAX; /* re-armed by the new report */
    sched_job_save(j);
    sched_lease_begin(w, j, NULL, 0);
    log_info("job %lld: converting on convert[%d] (attempt %u)", (long long)j->row.id, w,
             j->row.attempts);
    sched_lease_send(j->conv, PROTO_CONV_START, &st, sizeof(st));
    return 1;
}

static int
dispatchable(const struct job *j, const struct obj *o, int64_t now)
{
    if (o->lease || o->next_at > now)
        return 0;
    if (j->row.state == JOB_CANCELED || j->row.state == JOB_FAILED || j->row.deleted)
        return o->state == OBJ_DELETING;
    if (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING)
        return 0;
    return o->state == OBJ_PENDING;
}

static int
start_upload(int w, int64_t now)
{
    sched_upload_probe(now);
    for (struct job *j = S.head; j; j = j->next) {
        /* the cursor skips the published prefix of a long job */
        while (j->cursor < j->nobjs && j->objs[j->cursor].state == OBJ_UPLOADED)
            j->cursor++;
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            struct obj *o = &j->objs[i];
            if (!dispatchable(j, o, now))
                continue;
            char key[512], msg[CONFIG_PATH_MAX + 700];
            sched_url_key(&j->row, o->rel, key, sizeof(key));
            if (o->state == OBJ_DELETING) {
                sched_lease_begin(w, j, o, 1);
                sched_lease_send(o->lease, PROTO_UP_DELETE, key, strlen(key));
                return 1;
            }
            sched_obj_set(j, o, OBJ_UPLOADING, NULL);
            int n = snprintf(msg, sizeof(msg), "%s/%lld/out/%s\n%s", SCHED_CFG->daemon.spool_dir,
                             (long long)j->row.id, o->rel, key);
            sched_lease_begin(w, j, o, 0);
            sched_lease_send(o->lease, PROTO_UP_PUT, msg, (size_t)n);
            return 1;
        }
    }
    return 0;
}

int
sched_offer(int w, enum sched_role role)
{
    if (role == SCHED_UPLOAD) {
        int64_t now = S.env.now();
        return start_upload(w, now) || sched_fetch_offer(w, now) || sched_notify_offer(w, now);
    }
    if (S.stopping)
        return 0;
    for (struct job *j = S.head; j; j = j->next)
        if (j->row.state == JOB_QUEUED && j->conv == NULL && !sched_fetch_pending(j) &&
            j->fetch == NULL && start_conversion(w, j))
            return 1;
    return 0;
}
