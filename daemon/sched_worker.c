/*
 * sched_worker.c - what a worker says and how it ends: messages routed to
 * their handlers, deaths and shutdown releases.
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

void
sched_on_message(struct slot *s, uint16_t type, uint64_t job, const void *body, size_t len)
{
    struct job *j;

    switch (type) {
    case PROTO_CONV_SEGMENT:
        if ((j = conv_lease(s, job)) != NULL) {
            struct proto_conv_segment m;
            memcpy(&m, body, sizeof(m));
            on_segment(s, j, &m);
        }
        break;
    case PROTO_CONV_PROGRESS:
        if ((j = conv_lease(s, job)) != NULL) {
            struct proto_conv_progress p;
            memcpy(&p, body, sizeof(p));
            if (!isfinite(p.fraction) || p.fraction < 0 || p.fraction > 1.0001) {
                master_proc_kill(s, "protocol: progress out of range");
                break;
            }
            j->conv_progress = p.fraction > 1 ? 1 : p.fraction;
            j->last_progress = s->last_progress_ms = master_now();
            if (master_now() - j->progress_saved >= 1000) {
                j->row.progress = j->conv_progress;
                job_save(j);
            }
        }
        break;
    case PROTO_CONV_DONE:
        if ((j = conv_lease(s, job)) != NULL)
            on_conv_done(s, j, (const char *)body);
        break;
    case PROTO_CONV_FAILED:
        if ((j = conv_lease(s, job)) != NULL)
            on_conv_failed(s, j, body, len);
        break;
    case PROTO_CONV_CANCELED:
        if ((j = conv_lease(s, job)) != NULL)
            on_conv_canceled(s, j);
        break;
    case PROTO_UP_RESULT:
        on_up_result(s, job, body, len);
        break;
    default:
        master_proc_kill(s, "protocol: unexpected record type");
        break;
    }
}

/* ---- worker deaths and shutdown ---- */

void
sched_on_child_exit(struct slot *s, int status, int we_stopped)
{
    struct job *j = s->job;

    if (j == NULL)
        return;
    if (s->role == ROLE_CONVERT && j->conv == s) {
        j->conv = NULL;
        if (j->row.state != JOB_CONVERTING || j->releasing) {
            if (j->releasing)
                job_requeue_released(j);
            job_settle(j);
            return;
        }
        char why[200];
        if (s->reason[0])
            snprintf(why, sizeof(why), "%s", s->reason);
        else if (WIFSIGNALED(status))
            snprintf(why, sizeof(why), "worker crashed (signal %d) on this input",
                     WTERMSIG(status));
        else
            snprintf(why, sizeof(why), "worker exited with code %d on this input",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        if (we_stopped) {
            if (j->row.attempts > 0)
                j->row.attempts--;
            job_transition(j->row.id, &j->row.state, JOB_QUEUED);
            job_save(j);
        } else if (j->row.attempts >= M.cfg.convert.max_attempts) {
            job_fail(j, "%s", why);
        } else {
            log_warn("job %lld: %s; attempt %u of %u, trying again", (long long)j->row.id, why,
                     j->row.attempts, M.cfg.convert.max_attempts);
            job_transition(j->row.id, &j->row.state, JOB_QUEUED);
            job_save(j);
        }
        return;
    }
    if (s->role == ROLE_UPLOAD && s->obj) {
        struct obj *o = s->obj;
        o->lease = NULL;
        if (s->obj_delete || j->row.state == JOB_CANCELED) {
            /* a delete, or a put of a canceled job, that died half-way: it
             * may have left (part of) the object: delete it (again) */
            o->state = OBJ_DELETING;
            o->next_at = master_now() + 200;
            if (s->obj_delete && ++o->attempts >= M.cfg.upload.max_attempts) {
                store_obj_delete(M.store, j->row.id, o->rel);
                o->state = OBJ_UPLOADED;
                o->rel[0] = '\0';
            } else {
                obj_save(j, o);
            }
            job_settle(j);
            return;
        }
        if (j->row.state == JOB_CONVERTING || j->row.state == JOB_UPLOADING) {
            if (!we_stopped)
                o->attempts++;
            if (o->attempts >= M.cfg.upload.max_attempts) {
                char key[512];
                sched_object_key(&j->row, o->rel, key, sizeof(key));
                job_fail(j, "upload of %s failed after %u attempts: upload worker died", key,
                         o->attempts);
                return;
            }
            o->state = OBJ_PENDING;
            o->next_at = 0;
            obj_save(j, o);
            if (j->cursor > (size_t)(o - j->objs))
                j->cursor = (size_t)(o - j->objs);
        } else {
            job_settle(j);
        }
    }
}

/* sched_shutdown_release - on stop: ask running conversions to let go; the
 * jobs go back to queued and resume at the next start */
void
sched_shutdown_release(void)
{
    for (struct job *j = jobs_head; j; j = j->next) {
        if (j->conv && j->row.state == JOB_CONVERTING && !j->releasing) {
            j->releasing = 1;
            stop_conversion(j);
        }
    }
}
