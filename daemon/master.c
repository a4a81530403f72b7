/*
 * master.c - the master's loop, in the manner of nginx's process cycle: a
 * flat sequence of "if (flag) { flag = 0; act(); }" blocks, then the work
 * the children reported, then a sleep on every child's outbox at once.
 *
 * Signal handlers only set flags and ring the doorbell, a futex word that is
 * part of the sleep, so a signal that lands between the flag checks and the
 * sleep still ends the sleep at once. The loop never blocks on a child: a
 * child that breaks the protocol, stops answering or fills its inbox is
 * killed, and its work goes back to the scheduler.
 *
 * All store writes of one turn form one transaction, committed before the
 * master sleeps (and earlier, by master_durable, before an acknowledgement).
 */
#include "daemon/master.h"

#include "daemon/ctl.h"
#include "daemon/log.h"
#include "daemon/sched.h"
#include "daemon/spool.h"
#include "ipc/futex.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"
#include "ipc/ring.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct master M;

static volatile sig_atomic_t sig_term, sig_hup, sig_usr1, sig_chld;
static uint32_t doorbell;
static int in_txn;

/*
 * A full disk under state_dir is a condition, not an exit. The store keeps
 * a reserve (MASTER_STORE_RESERVE, a preallocated file next to the
 * database). When a COMMIT fails for want of space (SQLite then rolls the
 * transaction back) or free space drops under MASTER_STORE_LOW, the master
 * gives the reserve back, stops admitting jobs ("store_full"), and writes
 * again from memory what the lost transaction held (sched_resync) to
 * commit it in the reserve's room; while the disk stays full it retries
 * once a second. Conversions and uploads of the jobs it holds go on. Once
 * a second it tries to make the reserve again: when that succeeds with
 * MASTER_STORE_LOW to spare, space is back and admission opens.
 * Acknowledged jobs are never lost: each was committed before its ack.
 */
#define MASTER_STORE_RESERVE (4u << 20)
#define MASTER_STORE_LOW     (1u << 20)

static long long
store_free_bytes(void)
{
    struct statvfs v;

    if (statvfs(M.cfg.daemon.state_dir, &v) < 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

static void
store_full_enter(const char *why)
{
    if (M.store_full)
        return;
    M.store_full = 1;
    sched_store_full(1);
    store_unreserve(M.store);
    log_error("job store: %s: the disk of %s is full; not accepting jobs until space returns "
              "(the jobs accepted go on)",
              why, M.cfg.daemon.state_dir);
}

/* master_store_check - once a second: is the disk full, is space back? */
static void
master_store_check(void)
{
    int64_t now = msclock_mono();

    if (now < M.store_next_check)
        return;
    M.store_next_check = now + 1000;
    long long free_bytes = store_free_bytes();
    if (!M.store_full) {
        if (free_bytes >= 0 && free_bytes < MASTER_STORE_LOW)
            store_full_enter("less than 1 MiB free");
        return;
    }
    if (store_reserve(M.store, MASTER_STORE_RESERVE) < 0) {
        store_unreserve(M.store); /* a partial one is no reserve */
        return;
    }
    free_bytes = store_free_bytes();
    if (free_bytes >= 0 && free_bytes < MASTER_STORE_LOW)
        return; /* the reserve is back, but not enough beside it */
    M.store_full = 0;
    sched_store_full(0);
    log_info("job store: space is back under %s: accepting jobs again", M.cfg.daemon.state_dir);
}

/* resync_commit - after a COMMIT lost on a full disk: what memory holds,
 * written again into a new transaction and committed; 0 or -1 */
static int
resync_commit(void)
{
    if (store_in_txn(M.store))
        store_rollback(M.store);
    if (store_begin(M.store) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
    sched_resync();
    return store_commit(M.store);
}

int
master_durable(void)
{
    if (!in_txn)
        return 0;
    if (M.store_full) {
        /* a commit a second at most while the disk is full: the writes
         * meanwhile gather in the open transaction */
        int64_t now = msclock_mono();
        if (now < M.store_next_commit)
            return -1;
        M.store_next_commit = now + 1000;
    }
    if (store_commit(M.store) < 0) {
        if (errno != ENOSPC) {
            log_error("job store: %s", store_errmsg(M.store));
            return -1;
        }
        store_full_enter(store_errmsg(M.store));
        if (resync_commit() < 0) {
            if (errno != ENOSPC)
                log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
            log_warn("job store: still full (%s); trying again in a second", store_errmsg(M.store));
            /* memory keeps it all: the next attempt writes it again */
            if (store_in_txn(M.store))
                store_rollback(M.store);
            if (store_begin(M.store) < 0)
                log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
            sched_resync();
            return -1;
        }
        log_info("job store: what was not committed is written again, in the reserve's room");
        /* what the caller wrote beyond memory (a new job's row) is gone:
         * not durable */
        if (store_begin(M.store) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
        sched_committed();
        return -1;
    }
    sched_committed();
    if (store_begin(M.store) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
    return 0;
}

/* begin - the loop turn's transaction; without one the master cannot go on */
static void
begin(void)
{
    if (store_begin(M.store) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
    in_txn = 1;
}

/* commit - the end of a transaction; 0 or -1 (logged) */
static int
commit(void)
{
    in_txn = 0;
    if (store_commit(M.store) < 0) {
        log_error("job store: %s", store_errmsg(M.store));
        return -1;
    }
    return 0;
}

static void
ring_doorbell(void)
{
    int saved = errno;
    __atomic_add_fetch(&doorbell, 1, __ATOMIC_SEQ_CST);
    futex_wake(&doorbell, 1);
    errno = saved;
}

static void
on_signal(int sig)
{
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        sig_term = 1;
        break;
    case SIGHUP:
        sig_hup = 1;
        break;
    case SIGUSR1:
        sig_usr1 = 1;
        break;
    case SIGCHLD:
        sig_chld = 1;
        break;
    }
    ring_doorbell();
}

static void
install_signals(void)
{
    struct sigaction sa;
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD};

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: the sleep must return on a signal */
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static const struct rec_rule *const role_rules[ROLE_N] = {proto_rules_ctl, proto_rules_convert,
                                                          proto_rules_upload, proto_rules_ctl};

/* read_outbox - at most a batch of records from one child, all checked */
static void
read_outbox(struct slot *s)
{
    struct rec r;
    ring_t *out = shmseg_outbox(s->seg);

    for (int n = 0; n < 512; n++) {
        if (s->reason[0] && strncmp(s->reason, "protocol", 8) == 0)
            return; /* killed for garbage: ignore the rest */
        if (ring_pop(out, &r) < 0) {
            if (errno == EPROTO)
                master_proc_kill(s, "protocol: corrupt ring counters");
            return;
        }
        if (rec_check(&r, role_rules[s->role]) < 0) {
            char why[96];
            snprintf(why, sizeof(why), "protocol: bad record (type 0x%x, length %u)", r.type,
                     r.len);
            master_proc_kill(s, why);
            return;
        }
        int done = msg_asm_feed(&s->in, &r);
        if (done < 0) {
            master_proc_kill(s, "protocol: broken fragment sequence");
            return;
        }
        if (done == 0)
            continue;
        master_sched_message(s, s->in.type, s->in.job, s->in.buf, s->in.len);
    }
}

static void
read_outboxes(void)
{
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->seg == NULL || s->pid <= 0)
            continue;
        if (shmseg_verify(s->seg) < 0) {
            master_proc_kill(s, "protocol: segment header overwritten");
            continue;
        }
        read_outbox(s);
    }
}

/* sleep_until - on every live child's outbox and the doorbell at once */
static void
sleep_until(int64_t deadline, uint32_t bell)
{
    const uint32_t *words[MASTER_MAX_SLOTS + 1];
    uint32_t expect[MASTER_MAX_SLOTS + 1];
    struct slot *armed[MASTER_MAX_SLOTS];
    unsigned n = 0, na = 0;
    int64_t left = deadline - msclock_mono();

    if (left <= 0)
        return;
    if (left > 1000)
        left = 1000; /* the loop also looks around once a second */
    words[n] = &doorbell;
    expect[n++] = bell;
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->seg == NULL || s->pid <= 0)
            continue;
        int rc = ring_sleep_prepare(shmseg_outbox(s->seg), &words[n], &expect[n]);
        if (rc != 0) {
            /* data already there (or a corrupt counter the next read reports) */
            for (unsigned k = 0; k < na; k++)
                ring_sleep_done(shmseg_outbox(armed[k]->seg));
            return;
        }
        armed[na++] = s;
        n++;
    }
    futex_waitv_ms(words, expect, n, (int)left);
    for (unsigned k = 0; k < na; k++)
        ring_sleep_done(shmseg_outbox(armed[k]->seg));
}

static int
config_changed(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) != 0;
}

static void
reload(void)
{
    struct config nc;
    char err[512];

    if (config_load(&nc, M.config_path, err, sizeof(err)) < 0) {
        log_error("SIGHUP: %s: keeping the running configuration", err);
        return;
    }
    if (strcmp(nc.daemon.socket, M.cfg.daemon.socket) != 0 ||
        strcmp(nc.daemon.state_dir, M.cfg.daemon.state_dir) != 0 ||
        strcmp(nc.daemon.spool_dir, M.cfg.daemon.spool_dir) != 0) {
        log_warn("SIGHUP: socket, state_dir and spool_dir change only at restart");
        snprintf(nc.daemon.socket, sizeof(nc.daemon.socket), "%s", M.cfg.daemon.socket);
        snprintf(nc.daemon.state_dir, sizeof(nc.daemon.state_dir), "%s", M.cfg.daemon.state_dir);
        snprintf(nc.daemon.spool_dir, sizeof(nc.daemon.spool_dir), "%s", M.cfg.daemon.spool_dir);
    }
    if (strcmp(nc.http.listen, M.cfg.http.listen) != 0) {
        log_warn("SIGHUP: [http] listen changes only at restart");
        snprintf(nc.http.listen, sizeof(nc.http.listen), "%s", M.cfg.http.listen);
    }
    if (nc.convert.workers > MASTER_MAX_CONVERT || nc.upload.workers > MASTER_MAX_UPLOAD) {
        log_error("SIGHUP: too many workers (convert <= %d, upload <= %d): keeping the running "
                  "configuration",
                  MASTER_MAX_CONVERT, MASTER_MAX_UPLOAD);
        return;
    }
    /* a new pool size alone replaces nobody: resize retires or adds slots */
    struct config cmp = nc;
    cmp.convert.workers = M.cfg.convert.workers;
    cmp.upload.workers = M.cfg.upload.workers;
    int conv = config_changed(&cmp.convert, &M.cfg.convert, sizeof(cmp.convert));
    int up = config_changed(&cmp.upload, &M.cfg.upload, sizeof(cmp.upload)) ||
             config_changed(&nc.input, &M.cfg.input, sizeof(nc.input)) ||
             config_changed(&nc.notify, &M.cfg.notify, sizeof(nc.notify));
    int dmn = config_changed(&nc.daemon, &M.cfg.daemon, sizeof(nc.daemon));
    int http = config_changed(&nc.http, &M.cfg.http, sizeof(nc.http));
    /* children forked from now on see the new configuration; running ones
     * whose section changed are replaced once they are idle */
    M.cfg = nc;
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        int changed = (s->role == ROLE_CONVERT && conv) || (s->role == ROLE_UPLOAD && up) ||
                      (s->role == ROLE_CTL && dmn) || (s->role == ROLE_HTTP && (dmn || http));
        if (changed && s->pid > 0) {
            s->retire = 1;
            if (s->state == SLOT_IDLE || s->state == SLOT_STARTING)
                master_proc_term(s);
        }
    }
    for (int r = 0; r < ROLE_N; r++)
        M.role_suspended_until[r] = 0;
    master_proc_resize();
    log_info("SIGHUP: configuration reloaded: %u convert, %u upload workers", nc.convert.workers,
             nc.upload.workers);
}

static void
begin_stop(void)
{
    M.stopping = 1;
    sched_stop();
    M.stop_deadline = msclock_mono() + M.cfg.daemon.shutdown_timeout_ms;
    log_info("stopping: no new jobs; %d conversions have %lld ms to finish",
             sched_conversions_running(), (long long)M.cfg.daemon.shutdown_timeout_ms);
}

/* stop_children - TERM everyone, then wait; KILL what is left after 5 s */
static void
stop_children(void)
{
    for (int i = 0; i < MASTER_MAX_SLOTS; i++)
        if (M.slots[i].pid > 0)
            master_proc_term(&M.slots[i]);
    int64_t deadline = msclock_mono() + 5000;
    while (master_proc_alive_count() > 0) {
        read_outboxes();
        master_proc_reap();
        master_durable();
        if (msclock_mono() > deadline) {
            for (int i = 0; i < MASTER_MAX_SLOTS; i++)
                if (M.slots[i].pid > 0)
                    kill(M.slots[i].pid, SIGKILL);
            deadline = INT64_MAX;
        }
        sleep_until(msclock_mono() + 50, __atomic_load_n(&doorbell, __ATOMIC_SEQ_CST));
    }
}

int
master_run(const char *config_path, const struct config *cfg, int listen_fd, int http_fd)
{
    char err[512], db[CONFIG_PATH_MAX + 32];

    memset(&M, 0, sizeof(M));
    M.cfg = *cfg;
    snprintf(M.config_path, sizeof(M.config_path), "%s", config_path);
    M.started_wall = msclock_wall();
    M.rng = (uint64_t)msclock_wall() ^ ((uint64_t)getpid() << 32);
    install_signals();

    if (mkdir(M.cfg.daemon.state_dir, 0700) < 0 && errno != EEXIST)
        log_fatal(EXIT_ENV, "mkdir %s: %s", M.cfg.daemon.state_dir, strerror(errno));
    if (spool_prepare(M.cfg.daemon.spool_dir) < 0)
        log_fatal(EXIT_ENV, "spool %s: %s", M.cfg.daemon.spool_dir, strerror(errno));
    snprintf(db, sizeof(db), "%s/hlsd.db", M.cfg.daemon.state_dir);
    if ((M.store = store_open(db, err, sizeof(err))) == NULL)
        log_fatal(EXIT_ENV, "job store: %s", err);
    begin();
    master_sched_start();
    if (sched_recover() < 0 || master_durable() < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
    if (store_reserve(M.store, MASTER_STORE_RESERVE) < 0)
        store_full_enter("no room for the store's reserve");
    M.listen_fd = listen_fd;
    M.http_fd = http_fd;
    struct master_proc_events ev = {.message = master_sched_message, .exited = master_sched_exited};
    master_proc_init(&ev);
    master_proc_resize();
    log_info("hlsd %s started: %u convert and %u upload workers, output %s", HLSD_VERSION,
             M.cfg.convert.workers, M.cfg.upload.workers, M.cfg.upload.url);

    for (;;) {
        uint32_t bell = __atomic_load_n(&doorbell, __ATOMIC_SEQ_CST);

        if (sig_chld) {
            sig_chld = 0;
            master_proc_reap();
        }
        if (sig_hup) {
            sig_hup = 0;
            reload();
        }
        if (sig_usr1) {
            sig_usr1 = 0;
            log_reopen();
            log_info("SIGUSR1: log reopened");
        }
        if (sig_term && !M.stopping) {
            sig_term = 0;
            begin_stop();
        }
        read_outboxes();
        sched_timers();
        if (M.stopping) {
            if (sched_conversions_running() == 0 || msclock_mono() >= M.stop_deadline) {
                if (sched_conversions_running() > 0) {
                    sched_release_conversions();
                    if (M.stop_deadline + 2000 > msclock_mono()) {
                        /* give the workers a moment to let go cleanly */
                        master_durable();
                        sleep_until(msclock_mono() + 100, bell);
                        continue;
                    }
                }
                break;
            }
        } else {
            master_proc_start_due();
        }
        master_sched_dispatch();
        master_durable();
        master_store_check();

        int64_t t = sched_next_timer(), p = master_proc_next_timer();
        if (p < t)
            t = p;
        if (M.stopping && M.stop_deadline < t)
            t = M.stop_deadline;
        sleep_until(t, bell);
    }
    stop_children();
    int code = commit() < 0 ? EXIT_ENV : 0;
    sched_fini();
    store_close(M.store);
    close(M.listen_fd);
    if (M.http_fd >= 0)
        close(M.http_fd);
    unlink(M.cfg.daemon.socket);
    log_info("stopped");
    return code;
}
