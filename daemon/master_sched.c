/*
 * master_sched.c - where the master meets the scheduler: the scheduler's
 * narrow view of the processes (a worker is a slot index; lease, send and
 * kill are all it may do to one), the routing of what children say, and
 * the offer of idle children to the scheduler. The process table
 * (master_proc.c) knows nothing of jobs; the scheduler (sched*.c) knows
 * nothing of pids, rings or the master's global.
 */
#include "daemon/job_json.h"
#include "daemon/master.h"

#include "daemon/log.h"
#include "daemon/sched.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
proc_lease(void *ud, int w, int busy)
{
    (void)ud;
    master_proc_lease(&M.slots[w], busy);
}

static int
proc_send(void *ud, int w, uint16_t type, uint64_t job, const void *body, size_t len)
{
    (void)ud;
    return master_proc_send(&M.slots[w], type, job, body, len);
}

static void
proc_kill(void *ud, int w, const char *why)
{
    struct slot *s = &M.slots[w];

    (void)ud;
    /* a protocol violation always stands (nothing more it says is read);
     * a timer's reason does not replace the one it is already dying for */
    if (s->reason[0] && strncmp(why, "protocol", 8) != 0)
        return;
    master_proc_kill(s, why);
}

void
master_sched_start(void)
{
    struct sched_env env = {
        .cfg = &M.cfg,
        .store = M.store,
        .proc = {.ud = NULL, .lease = proc_lease, .send = proc_send, .kill = proc_kill},
        .now = msclock_mono,
        .wall = msclock_wall,
        .durable = master_durable,
        .seed = M.rng,
        .job_text = job_json_text,
    };
    char host[48] = "localhost";

    _Static_assert(MASTER_MAX_SLOTS <= SCHED_MAX_WORKERS, "a slot index is a worker number");
    gethostname(host, sizeof(host) - 1);
    snprintf(env.owner, sizeof(env.owner), "%s:%ld", host, (long)getpid());
    sched_init(&env);
}

static enum sched_role
role_of(enum slot_role r)
{
    return r == ROLE_CONVERT ? SCHED_CONVERT : SCHED_UPLOAD;
}

/* master_sched_message - what a child said: the process table, ctl or the
 * scheduler */
void
master_sched_message(struct slot *s, uint16_t type, uint64_t job, const void *body, size_t len)
{
    if (type == PROTO_HELLO)
        master_proc_on_hello(s);
    else if (ROLE_IS_FRONT(s->role))
        master_ctl_request(s, job, body, len);
    else
        sched_on_message(s->idx, role_of(s->role), type, job, body, len);
}

void
master_sched_exited(struct slot *s, int status, int we_stopped)
{
    if (!ROLE_IS_FRONT(s->role))
        sched_on_exit(s->idx, status, we_stopped, s->reason);
}

/* master_sched_dispatch - idle children get work; retired ones are stopped
 * instead */
void
master_sched_dispatch(void)
{
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->state != SLOT_IDLE)
            continue;
        if (s->retire)
            master_proc_term(s);
        else if (!ROLE_IS_FRONT(s->role))
            sched_offer(s->idx, role_of(s->role));
    }
}
