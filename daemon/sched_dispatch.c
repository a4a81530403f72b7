/*
 * sched_dispatch.c - leases for idle workers: conversions in job id order,
 * uploads in job order then object order.
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

/* ---- dispatch ---- */

unsigned
conv_threads(void)
{
    if (M.cfg.convert.threads)
        return M.cfg.convert.threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned w = M.cfg.convert.workers ? M.cfg.convert.workers : 1;
    return n > (long)w ? (unsigned)(n / (long)w) : 1;
}

void
start_conversion(struct slot *s, struct job *j)
{
    struct proto_conv_start st;

    memset(&st, 0, sizeof(st));
    j->row.attempts++;
    st.attempt = j->row.attempts;
    st.threads = conv_threads();
    st.segment_seconds = j->row.segment > 0 ? j->row.segment : M.cfg.convert.segment_seconds;
    snprintf(st.ladder, sizeof(st.ladder), "%s",
             j->row.ladder[0] ? j->row.ladder : M.cfg.convert.ladder);
    job_transition(j->row.id, &j->row.state, JOB_CONVERTING);
    j->conv = s;
    j->conv_started = j->last_progress = master_now();
    j->conv_progress = 0;
    j->row.segs_done = 0;
    j->row.conv_done = 0;
    /* a reconversion reports every segment again; forget unsent ones */
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].state == OBJ_PENDING && j->objs[i].lease == NULL)
            j->objs[i].next_at = INT64_MAX; /* re-armed by the new report */
    job_save(j);
    s->job = j;
    s->obj = NULL;
    s->lease_ms = master_now();
    s->last_progress_ms = master_now();
    master_proc_lease(s, 1);
    log_info("job %lld: converting on convert[%d] (attempt %u)", (long long)j->row.id, s->idx,
             j->row.attempts);
    master_proc_send(s, PROTO_CONV_START, (uint64_t)j->row.id, &st, sizeof(st));
}

int
dispatchable(const struct job *j, const struct obj *o, int64_t now)
{
    if (o->lease || o->rel[0] == '\0' || o->next_at > now)
        return 0;
    if (j->row.state == JOB_CANCELED)
        return o->state == OBJ_DELETING;
    if (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING)
        return 0;
    return o->state == OBJ_PENDING;
}

int
start_upload(struct slot *s, int64_t now)
{
    for (struct job *j = jobs_head; j; j = j->next) {
        /* the cursor skips the published prefix of a long job */
        while (j->cursor < j->nobjs && j->objs[j->cursor].rel[0] &&
               j->objs[j->cursor].state == OBJ_UPLOADED)
            j->cursor++;
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            struct obj *o = &j->objs[i];
            if (!dispatchable(j, o, now))
                continue;
            char key[512], msg[CONFIG_PATH_MAX + 700];
            sched_object_key(&j->row, o->rel, key, sizeof(key));
            s->job = j;
            s->obj = o;
            s->lease_ms = now;
            o->lease = s;
            if (o->state == OBJ_DELETING) {
                s->obj_delete = 1;
                master_proc_lease(s, 1);
                master_proc_send(s, PROTO_UP_DELETE, (uint64_t)j->row.id, key, strlen(key));
                return 1;
            }
            s->obj_delete = 0;
            o->state = OBJ_UPLOADING;
            obj_save(j, o);
            int n = snprintf(msg, sizeof(msg), "%s/%lld/out/%s\n%s", M.cfg.daemon.spool_dir,
                             (long long)j->row.id, o->rel, key);
            master_proc_lease(s, 1);
            master_proc_send(s, PROTO_UP_PUT, (uint64_t)j->row.id, msg, (size_t)n);
            return 1;
        }
    }
    return 0;
}

void
sched_dispatch(void)
{
    int64_t now = master_now();

    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->state != SLOT_IDLE)
            continue;
        if (s->retire) {
            master_proc_term(s);
            continue;
        }
        if (s->role == ROLE_CONVERT && !M.stopping) {
            for (struct job *j = jobs_head; j; j = j->next) {
                if (j->row.state == JOB_QUEUED && j->conv == NULL) {
                    start_conversion(s, j);
                    break;
                }
            }
        } else if (s->role == ROLE_UPLOAD) {
            start_upload(s, now);
        }
    }
}
