/*
 * worker.h - the skeleton every child of the master runs: signals, master
 * death detection, the inbox loop with record checks and reassembly, and
 * replies on the outbox. The convert and upload workers only plug in
 * callbacks; they never touch the rings directly.
 */
#ifndef HLSD_WORKERS_WORKER_H
#define HLSD_WORKERS_WORKER_H

#include "ipc/record.h"
#include "ipc/shmseg.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct worker worker_t;

struct worker_ops {
    const struct rec_rule *rules; /* what this role accepts from the master */
    /* a complete message from the master; may run for a long time */
    void (*on_message)(void *ctx, worker_t *w, uint16_t type, uint64_t job, const void *body,
                       size_t len);
    void *ctx;
};

/* worker_run - after shmseg_child_attach: say hello, then serve the inbox
 * until SIGTERM or the master's death. Returns the process exit code. */
int worker_run(shmseg_t *seg, const struct worker_ops *ops);

/* worker_send - a message to the master; waits for room while the master
 * lives. -1 if the master is gone (the caller should wind down). */
int worker_send(worker_t *w, uint16_t type, uint64_t job, const void *body, size_t len);

/* worker_pump - process whatever the master has sent, calling on_message
 * for each; from a helper thread while the main thread is busy with a long
 * job (then only that thread may pump). Waits at most timeout_ms for the
 * first record. Returns -1 if the master is gone or broke the protocol. */
int worker_pump(worker_t *w, int timeout_ms);

/* worker_stopping - SIGTERM received or the master is gone */
int worker_stopping(const worker_t *w);

/* worker_signals - the skeleton's signal set-up, also used by ctl:
 * TERM sets the stop flag, INT/HUP/USR1/PIPE are ignored (the master
 * coordinates shutdown), and the process dies with its master. */
void worker_signals(void);
extern volatile sig_atomic_t worker_term;

#endif
