/*
 * job.h - a job's lifecycle: states, the one transition function, names.
 *
 *   queued -> converting -> uploading -> done
 *      \          |  \          |
 *       \         v   v         v
 *        +---> canceled      failed -> queued (retry)
 *   converting -> queued      (worker crash, stall, restart of the daemon)
 *
 * An illegal transition is a bug of ours: job_transition panics.
 */
#ifndef HLSD_DAEMON_JOB_H
#define HLSD_DAEMON_JOB_H

#include <stdint.h>

enum job_state {
    JOB_QUEUED,
    JOB_CONVERTING,
    JOB_UPLOADING,
    JOB_DONE,
    JOB_FAILED,
    JOB_CANCELED,
    JOB_NSTATES
};

const char *job_state_name(enum job_state s);
/* job_state_parse - -1 if name is not a state */
int job_state_parse(const char *name);
int job_state_legal(enum job_state from, enum job_state to);
int job_state_terminal(enum job_state s); /* done, failed, canceled */
/* job_transition - *s = to, or panic if the move is illegal */
void job_transition(int64_t id, enum job_state *s, enum job_state to);

#endif
