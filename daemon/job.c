/*
 * job.c - the job state machine. Kept apart from the scheduler so that the
 * table of legal moves is in one place and tested on its own.
 */
#include "daemon/job.h"

#include "daemon/log.h"

#include <string.h>

static const char *const names[JOB_NSTATES] = {
    "queued", "converting", "uploading", "done", "failed", "canceled",
};

/* legal[from] is a bit set of the states one may go to */
#define B(s) (1u << (s))
static const unsigned legal[JOB_NSTATES] = {
    [JOB_QUEUED] = B(JOB_CONVERTING) | B(JOB_CANCELED) | B(JOB_FAILED),
    [JOB_CONVERTING] = B(JOB_UPLOADING) | B(JOB_QUEUED) | B(JOB_FAILED) | B(JOB_CANCELED),
    [JOB_UPLOADING] = B(JOB_DONE) | B(JOB_FAILED) | B(JOB_CANCELED),
    [JOB_DONE] = 0,
    [JOB_FAILED] = B(JOB_QUEUED) | B(JOB_CANCELED),
    [JOB_CANCELED] = 0,
};

const char *
job_state_name(enum job_state s)
{
    return (unsigned)s < JOB_NSTATES ? names[s] : "invalid";
}

int
job_state_parse(const char *name)
{
    for (int i = 0; i < JOB_NSTATES; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

int
job_state_legal(enum job_state from, enum job_state to)
{
    if ((unsigned)from >= JOB_NSTATES || (unsigned)to >= JOB_NSTATES)
        return 0;
    return (legal[from] & B(to)) != 0;
}

int
job_state_terminal(enum job_state s)
{
    return s == JOB_DONE || s == JOB_FAILED || s == JOB_CANCELED;
}

void
job_transition(int64_t id, enum job_state *s, enum job_state to)
{
    if (!job_state_legal(*s, to))
        log_panic("job %lld: illegal transition %s -> %s", (long long)id, job_state_name(*s),
                  job_state_name(to));
    *s = to;
}
