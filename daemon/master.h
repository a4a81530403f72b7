/*
 * master.h - the master's private state, shared by its files: the loop
 * (master.c), the process table (master_proc.c) and control requests
 * (master_ctl.c). The scheduler (sched*.c) has its own state and never
 * includes this: master.c hands it a narrow interface to the processes.
 *
 * The master owns the job store and the lease table; it is the only writer
 * of job state. It never parses video, never speaks HTTP, never reads a
 * client socket: a bug in those cannot take it down. Everything it reads
 * from a child's ring is checked, and a child that breaks the protocol is
 * killed.
 */
#ifndef HLSD_DAEMON_MASTER_H
#define HLSD_DAEMON_MASTER_H

#include "daemon/config.h"
#include "daemon/store.h"
#include "daemon/version.h"
#include "ipc/msg.h"
#include "ipc/shmseg.h"

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#define MASTER_MAX_CONVERT  32
#define MASTER_MAX_UPLOAD   64
#define MASTER_MAX_SLOTS    (1 + MASTER_MAX_CONVERT + MASTER_MAX_UPLOAD + 1)
#define MASTER_RING_CAP     1024u /* records per ring; ctl gets more */
#define MASTER_CTL_RING_CAP 8192u

/* ctl and http are fronts: they ask the master (PROTO_CTL_REQ) and hold no
 * lease; the slot table is ctl, convert..., upload..., http (last, so that
 * the other slots keep their numbers) */
enum slot_role { ROLE_CTL, ROLE_CONVERT, ROLE_UPLOAD, ROLE_HTTP, ROLE_N };
#define ROLE_IS_FRONT(r) ((r) == ROLE_CTL || (r) == ROLE_HTTP)

/* A slot's lifecycle (one transition function: master_proc_set) */
enum slot_state {
    SLOT_EMPTY,    /* nothing running, may be (re)started at next_start */
    SLOT_STARTING, /* forked, no HELLO yet */
    SLOT_IDLE,     /* ready for work */
    SLOT_BUSY,     /* holds a lease */
    SLOT_STOPPING, /* SIGTERM sent */
    SLOT_DISABLED, /* exit code 2, or removed by a smaller pool: never restarted */
    SLOT_NSTATES
};

struct slot {
    int idx;
    enum slot_role role;
    enum slot_state state;
    pid_t pid;
    unsigned generation;
    int64_t started_ms;   /* monotonic */
    int64_t started_wall; /* ms since the epoch */
    unsigned jobs_done;   /* by this incarnation */
    unsigned restarts;
    unsigned fast_deaths; /* consecutive deaths before a first finished job */
    int64_t next_start;   /* monotonic ms: not restarted before */
    int retire;           /* stop once idle (pool shrink or new config) */
    int64_t term_sent;    /* monotonic ms SIGTERM was sent, 0 if not */
    shmseg_t *seg;
    struct msg_asm in;
    char reason[160]; /* why we killed it, for the job's error */
    int reaped;       /* being drained after waitpid: its pid may be reused */
};

struct master {
    struct config cfg;
    char config_path[CONFIG_PATH_MAX];
    store_t *store;
    int listen_fd;
    int http_fd; /* the HTTP API's listening socket, -1 when [http] listen is empty */
    struct slot slots[MASTER_MAX_SLOTS];
    int nslots;
    int64_t started_wall;
    int64_t role_suspended_until[ROLE_N];
    int stopping;          /* TERM/INT: no new conversions */
    int64_t stop_deadline; /* monotonic ms */
    uint64_t rng;
    /* counters for stats (the scheduler keeps its own: sched_stats) */
    uint64_t children_started, children_crashed;
    /* the store's disk is full (master.c): no admission, commits retried */
    int store_full;
    int64_t store_next_check, store_next_commit; /* monotonic ms */
};

extern struct master M;

/* master_durable - commit what the store holds so far (before acking);
 * -1 if it could not (M.store_full: the disk is full, retried) */
int master_durable(void);

/* master_run - the master until SIGTERM, serving the control socket
 * listen_fd (bound by main before dropping privileges); the exit code */
int master_run(const char *config_path, const struct config *cfg, int listen_fd, int http_fd);

/* master_proc.c: the process table. It calls nothing of the scheduler:
 * what happens to its children is reported through these callbacks. */
struct master_proc_events {
    /* a complete, checked message from s (HELLO and ctl requests are
     * handled by the caller; a dead child's drained records come too) */
    void (*message)(struct slot *s, uint16_t type, uint64_t job, const void *body, size_t len);
    /* s died (status from waitpid; we_stopped: after our SIGTERM), after
     * what it had published was drained; s->reason says why we killed it */
    void (*exited)(struct slot *s, int status, int we_stopped);
};

void master_proc_init(const struct master_proc_events *ev);
void master_proc_resize(void); /* after config (re)load: grow or retire slots */
void master_proc_start_due(void);
void master_proc_reap(void);
void master_proc_kill(struct slot *s, const char *why); /* SIGKILL a broken child */
void master_proc_term(struct slot *s);
int master_proc_send(struct slot *s, uint16_t type, uint64_t job, const void *buf, size_t len);
void master_proc_on_hello(struct slot *s);
/* master_proc_lease - a lease starts (busy=1) or ends (busy=0: a job done) */
void master_proc_lease(struct slot *s, int busy);
const char *master_proc_role_name(enum slot_role r);
const char *master_proc_state_name(enum slot_state st);
int master_proc_alive_count(void);
int64_t master_proc_next_timer(void);

/* master_sched.c: the scheduler's side of the master */
void master_sched_start(void); /* sched_init with the store, clocks and processes */
void master_sched_message(struct slot *s, uint16_t type, uint64_t job, const void *body,
                          size_t len);
void master_sched_exited(struct slot *s, int status, int we_stopped);
void master_sched_dispatch(void);

/* master_ctl.c */
void master_ctl_request(struct slot *s, uint64_t seq, const char *json, size_t len);

#endif
