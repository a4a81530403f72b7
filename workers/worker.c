/*
 * worker.c - the shared child skeleton (see worker.h).
 *
 * Everything read from the inbox is checked (rec_check against the role's
 * table, fragment sequence via msg_asm); a master that sends garbage is a
 * broken invariant for a child, which exits with EXIT_PROTO and lets the
 * master (which will see the exit) sort it out. The skeleton never logs
 * secrets and never blocks forever: every wait has a timeout, after which
 * it checks that the master still exists.
 */
#include "workers/worker.h"

#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/ring.h"
#include "workers/exitcode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

volatile sig_atomic_t worker_term;

struct worker {
    shmseg_t *seg;
    const struct worker_ops *ops;
    struct msg_asm in;
    pid_t master;
    int gone;
};

static void
on_term(int sig)
{
    (void)sig;
    worker_term = 1;
}

void
worker_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    /* die with the master; getppid() covers the race before this call */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static int
master_alive(worker_t *w)
{
    if (!w->gone && getppid() != w->master)
        w->gone = 1;
    return !w->gone;
}

int
worker_stopping(const worker_t *w)
{
    return worker_term || w->gone || getppid() != w->master;
}

int
worker_send(worker_t *w, uint16_t type, uint64_t job, const void *body, size_t len)
{
    /* msg_send waits for room up to its timeout; a live but busy master
     * gets more time, a dead one ends the worker */
    while (master_alive(w)) {
        if (msg_send(shmseg_outbox(w->seg), type, job, body, len, 1000) == 0)
            return 0;
        if (errno != ETIMEDOUT)
            return -1;
        if (len > REC_BODY) /* part of a fragmented message may be out */
            return -1;
    }
    errno = EPIPE;
    return -1;
}

int
worker_pump(worker_t *w, int timeout_ms)
{
    ring_t *in = shmseg_inbox(w->seg);
    struct rec r;

    if (ring_wait_data(in, timeout_ms) < 0) {
        if (errno == EPROTO)
            return -1;
        return master_alive(w) ? 0 : -1;
    }
    for (;;) {
        if (ring_pop(in, &r) < 0) {
            if (errno == EAGAIN)
                return 0;
            return -1;
        }
        if (rec_check(&r, w->ops->rules) < 0)
            return -1;
        int done = msg_asm_feed(&w->in, &r);
        if (done < 0)
            return -1;
        if (done > 0)
            w->ops->on_message(w->ops->ctx, w, w->in.type, w->in.job, w->in.buf, w->in.len);
    }
}

int
worker_run(shmseg_t *seg, const struct worker_ops *ops)
{
    worker_t w = {.seg = seg, .ops = ops, .master = getppid()};

    if (msg_asm_init(&w.in, PROTO_MSG_MAX) < 0)
        return EXIT_ENV;
    if (worker_send(&w, PROTO_HELLO, 0, NULL, 0) < 0) {
        msg_asm_free(&w.in);
        return EXIT_ORPHAN;
    }
    int code = 0;
    while (!worker_term) {
        if (worker_pump(&w, 1000) < 0) {
            code = w.gone ? EXIT_ORPHAN : EXIT_PROTO;
            break;
        }
        if (w.gone) {
            code = EXIT_ORPHAN;
            break;
        }
    }
    msg_asm_free(&w.in);
    return code;
}
