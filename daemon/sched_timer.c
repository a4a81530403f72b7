/*
 * sched_timer.c - stall and job timeouts, and when the loop must wake next.
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

/* ---- timers ---- */

void
sched_timers(void)
{
    int64_t now = master_now();

    for (struct job *j = jobs_head; j; j = j->next) {
        struct slot *s = j->conv;
        if (s == NULL || s->pid <= 0 || s->reason[0])
            continue;
        if (now - j->last_progress > M.cfg.convert.stall_timeout_ms) {
            char why[160];
            snprintf(why, sizeof(why), "conversion stalled: no progress for %llds",
                     (long long)(M.cfg.convert.stall_timeout_ms / 1000));
            master_proc_kill(s, why);
        } else if (now - j->conv_started > M.cfg.convert.job_timeout_ms) {
            char why[160];
            snprintf(why, sizeof(why), "conversion exceeded job_timeout (%llds)",
                     (long long)(M.cfg.convert.job_timeout_ms / 1000));
            master_proc_kill(s, why);
        }
    }
}

int64_t
sched_next_timer(void)
{
    int64_t t = INT64_MAX, now = master_now();

    for (struct job *j = jobs_head; j; j = j->next) {
        if (j->conv) {
            int64_t a = j->last_progress + M.cfg.convert.stall_timeout_ms + 1;
            int64_t b = j->conv_started + M.cfg.convert.job_timeout_ms + 1;
            if (a < t)
                t = a;
            if (b < t)
                t = b;
        }
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            const struct obj *o = &j->objs[i];
            if ((o->state == OBJ_PENDING || o->state == OBJ_DELETING) && o->lease == NULL &&
                o->next_at > now && o->next_at != INT64_MAX && o->next_at < t)
                t = o->next_at;
        }
    }
    return t;
}
