/*
 * sched_worker.c - what a worker says (routed to the conversion and upload
 * handlers after checking it against the worker's lease) and what its
 * death means for its lease.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

void
sched_on_message(int w, enum sched_role role, uint16_t type, uint64_t job, const void *body,
                 size_t len)
{
    struct lease *l = sched_lease_at(w);

    if (role == SCHED_UPLOAD && l->dlv && type == PROTO_UP_RESULT &&
        l->dlv->row.job == (int64_t)job) {
        sched_notify_result(l, body, len);
        return;
    }
    if (role == SCHED_UPLOAD && l->fetch && l->job && (uint64_t)l->job->row.id == job &&
        (type == PROTO_UP_RESULT || type == PROTO_UP_PROGRESS)) {
        if (type == PROTO_UP_RESULT)
            sched_fetch_result(l, body, len);
        else
            sched_fetch_progress(l, body, len);
        return;
    }
    if (type == PROTO_UP_RESULT) {
        if (role != SCHED_UPLOAD || l->obj == NULL || l->job == NULL ||
            (uint64_t)l->job->row.id != job) {
            S.env.proc.kill(S.env.proc.ud, w, "protocol: upload result without a matching lease");
            return;
        }
        sched_upload_result(l, body, len);
        return;
    }
    if (type < PROTO_CONV_SEGMENT || type > PROTO_CONV_CANCELED) {
        S.env.proc.kill(S.env.proc.ud, w, "protocol: unexpected record type");
        return;
    }
    /* the worker reports on its own lease only */
    if (role != SCHED_CONVERT || l->job == NULL || l->obj || (uint64_t)l->job->row.id != job) {
        S.env.proc.kill(S.env.proc.ud, w, "protocol: report about a job it does not hold");
        return;
    }
    sched_conv_message(l, type, body, len);
}

/* fault_signal - a signal a process raises on itself for a fault of its
 * own (a bad pointer, a bad instruction, an assertion): the input is to
 * blame. A SIGKILL or SIGTERM comes from outside (an operator, a container
 * runtime; the OOM killer is told apart by the master, see master_proc.c) */
static int
fault_signal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT ||
           sig == SIGSYS || sig == SIGTRAP;
}

/* conv_exit - a conversion worker died holding j: requeue it, or fail it
 * when its deaths say the input is poison (max_attempts crashes, or two at
 * the same place), or when it was killed from outside max_kills times */
static void
conv_exit(struct job *j, int status, int we_stopped, const char *reason)
{
    j->conv = NULL;
    if (j->row.state != JOB_CONVERTING || j->releasing) {
        if (j->releasing)
            sched_job_requeue(j, 0);
        sched_job_settle(j);
        return;
    }
    if (we_stopped) {
        sched_job_requeue(j, 0);
        return;
    }
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    char why[200];
    if (reason[0])
        snprintf(why, sizeof(why), "%s", reason);
    else if (sig)
        snprintf(why, sizeof(why), "worker crashed (signal %d, %s)", sig, strsignal(sig));
    else
        snprintf(why, sizeof(why), "worker exited with code %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (!reason[0] && sig && !fault_signal(sig)) {
        /* killed from outside: not the input's fault */
        snprintf(why, sizeof(why), "worker killed from outside (signal %d, %s)", sig,
                 strsignal(sig));
        j->kills++;
        if (j->kills >= SCHED_CFG->convert.max_kills) {
            sched_job_fail(j,
                           "worker killed from outside (signal %d, %s) %u times: given up "
                           "([convert] max_kills); not the input's fault",
                           sig, strsignal(sig), j->kills);
            return;
        }
        log_warn("job %lld: %s (%u of max_kills %u): not counted as an attempt, trying again",
                 (long long)j->row.id, why, j->kills, SCHED_CFG->convert.max_kills);
        sched_job_requeue(j, 1);
        return;
    }
    /* a crash the input is blamed for */
    unsigned place = j->attempt_segs, n = j->crashes;
    int same = 0;
    for (unsigned i = 0; i < n && i < sizeof(j->crash_places) / sizeof(j->crash_places[0]); i++)
        same |= j->crash_places[i] == place;
    if (n < sizeof(j->crash_places) / sizeof(j->crash_places[0]))
        j->crash_places[n] = place;
    j->crashes++;
    if (same) {
        sched_job_fail(j,
                       "%s on this input twice at the same place (after %u segments): poison "
                       "input",
                       why, place);
    } else if (j->crashes >= SCHED_CFG->convert.max_attempts) {
        sched_job_fail(j, "%s on this input (%u crashes, max_attempts): poison input", why,
                       j->crashes);
    } else {
        log_warn("job %lld: %s after %u segments; crash %u of max_attempts %u, trying again",
                 (long long)j->row.id, why, place, j->crashes, SCHED_CFG->convert.max_attempts);
        sched_job_requeue(j, 1);
    }
}

static void
upload_exit(struct job *j, struct obj *o, int del, int we_stopped)
{
    o->lease = NULL;
    if (del || sched_taking_down(j)) {
        /* a delete, or a put of a canceled job, that died half-way: it
         * may have left (part of) the object: delete it (again) */
        o->next_at = S.env.now() + 200;
        if (del && ++o->attempts >= SCHED_CFG->upload.max_attempts)
            sched_obj_set(j, o, OBJ_UNWANTED, NULL);
        else
            sched_obj_set(j, o, OBJ_DELETING, NULL);
        sched_job_settle(j);
        return;
    }
    if (sched_job_settle_unwanted(j, o))
        return;
    if (!we_stopped)
        o->attempts++;
    if (o->attempts >= SCHED_CFG->upload.max_attempts) {
        char key[512];
        sched_url_key(&j->row, o->rel, key, sizeof(key));
        sched_job_fail(j, "upload of %s failed after %u attempts: upload worker died", key,
                       o->attempts);
        return;
    }
    o->next_at = 0;
    sched_obj_set(j, o, OBJ_PENDING, NULL);
    sched_obj_rewind(j, o);
}

void
sched_on_exit(int w, int status, int we_stopped, const char *reason)
{
    struct lease *l = sched_lease_at(w);
    struct lease held = *l;

    if (held.job == NULL && held.dlv == NULL)
        return;
    memset(l, 0, sizeof(*l)); /* the process table ends the slot's lease itself */
    if (held.dlv)
        sched_notify_exit(held.dlv, we_stopped);
    else if (held.fetch)
        sched_fetch_exit(held.job, we_stopped);
    else if (held.obj)
        upload_exit(held.job, held.obj, held.del, we_stopped);
    else if (held.job->conv == l)
        conv_exit(held.job, status, we_stopped, reason);
}

/* sched_release_conversions - on stop: ask running conversions to let go;
 * the jobs go back to queued and resume at the next start */
void
sched_release_conversions(void)
{
    for (struct job *j = S.head; j; j = j->next) {
        if (j->conv && j->row.state == JOB_CONVERTING && !j->releasing) {
            j->releasing = 1;
            sched_job_stop_conversion(j);
        }
    }
}
