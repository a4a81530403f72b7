/*
 * ctl.c - the control process: its signals and the poll() loop over the
 * listening socket, the client connections and the inputs being copied
 * (connections: ctl_conn.c; the master round trip: ctl_master.c;
 * submissions: ctl_submit.c).
 *
 * Clients are untrusted: every connection has bounded buffers, requests are
 * read one line at a time and only when the previous reply has been sent
 * (so a client that never reads cannot make us buffer without limit), and
 * any error is answered on the connection and logged as a warning. The
 * master is trusted to answer within CTL_REPLY_TIMEOUT but not to send well
 * formed records: a record that breaks the rules ends this process
 * (EXIT_PROTO) rather than being guessed at.
 *
 * Requests to the master carry a sequence number in rec.job, and the master
 * echoes it in its reply; a reply that arrives after we gave up waiting is
 * recognised by its number and dropped instead of answering the next
 * request. (A reply with job 0 is taken as the answer to the request in
 * flight, for a master that does not echo.)
 */
#include "daemon/ctl_int.h"

#include "daemon/log.h"
#include "ipc/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t ctl_stop;
static volatile sig_atomic_t ctl_reopen;

static void
ctl_on_signal(int sig)
{
    if (sig == SIGUSR1)
        ctl_reopen = 1;
    else
        ctl_stop = 1;
}

/* ctl_conn_lines - handle the complete lines buffered, one at a time, each
 * only once the previous reply has gone out */

static void
ctl_accept(struct ctl *c)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("accept: %s; pausing new connections", strerror(errno));
                c->accept_pause_until = msclock_mono() + 200;
            }
            return;
        }
        if (c->nconns >= CTL_MAX_CONNS) {
            log_warn("refused a connection: %d connections already (busy)", CTL_MAX_CONNS);
            ctl_conn_refuse(fd, "busy", "too many connections");
            continue;
        }
        struct ctl_conn *k = calloc(1, sizeof(*k));
        if (k == NULL) {
            close(fd);
            return;
        }
        struct ucred cr;
        socklen_t crlen = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0) {
            k->pid = cr.pid;
            ctl_access_identify(c->cfg, k, cr.uid, cr.gid);
        } else {
            /* not a Unix socket peer we can name: nothing is allowed */
            log_warn("SO_PEERCRED: %s", strerror(errno));
            k->uid = (uid_t)-1;
            snprintf(k->user, sizeof(k->user), "unknown");
        }
        /* a user's share: one user cannot take every slot */
        int mine = 0;
        for (int j = 0; j < c->nconns; j++)
            mine += c->conns[j]->uid == k->uid;
        if (mine >= CTL_MAX_CONNS_PER_UID) {
            char msg[160];
            snprintf(msg, sizeof(msg), "too many connections from user %s (%d at once)", k->user,
                     CTL_MAX_CONNS_PER_UID);
            log_warn("refused a connection of %s (pid %ld): %s", k->user, (long)k->pid, msg);
            ctl_conn_refuse(fd, "busy", msg);
            free(k);
            continue;
        }
        k->last_active = k->line_since = msclock_mono();
        k->fd = fd;
        k->passed_fd = -1;
        k->src = -1;
        k->ig.fd = k->ig.dirfd = -1;
        c->conns[c->nconns++] = k;
    }
}

/* --- the loop ------------------------------------------------------------- */

static void
ctl_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = ctl_on_signal; /* no SA_RESTART: poll and futex waits return */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    /* the master decides about INT (a terminal's ^C) and HUP (reload) */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int
ctl_loop(struct ctl *c)
{
    struct pollfd pf[1 + 2 * CTL_MAX_CONNS];
    struct ctl_conn *who[1 + 2 * CTL_MAX_CONNS];

    while (c->exit_code < 0) {
        if (ctl_reopen) {
            ctl_reopen = 0;
            log_reopen();
        }
        if (ctl_stop || !shmseg_peer_alive(c->seg)) {
            if (!shmseg_peer_alive(c->seg)) {
                log_warn("the master is gone; exiting");
                return EXIT_ORPHAN;
            }
            log_info("stopping");
            return 0;
        }

        int np = 0;
        int64_t now = msclock_mono();
        pf[np] = (struct pollfd){.fd = c->lfd, .events = POLLIN};
        if (now < c->accept_pause_until)
            pf[np].fd = -1;
        who[np++] = NULL;
        for (int i = 0; i < c->nconns; i++) {
            struct ctl_conn *k = c->conns[i];
            short ev = 0;
            if (k->outoff < k->outlen)
                ev = POLLOUT;
            else if (k->state == CONN_READ || (k->state == CONN_INGEST && k->src < 0))
                ev = POLLIN;
            /* while the passed descriptor is copied, the socket is only
             * watched for hang-up (POLLHUP is always reported) */
            pf[np] = (struct pollfd){.fd = k->fd, .events = ev};
            who[np++] = k;
            if (k->state == CONN_INGEST && k->src >= 0) {
                pf[np] = (struct pollfd){.fd = k->src, .events = POLLIN};
                who[np++] = k;
            }
        }
        int n = poll(pf, (nfds_t)np, POLL_MS);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            return EXIT_ENV;
        }
        if (pf[0].revents & POLLIN)
            ctl_accept(c);
        for (int i = 1; i < np && c->exit_code < 0; i++) {
            struct ctl_conn *k = who[i];
            short re = pf[i].revents;
            if (re == 0 || k->state == CONN_DEAD)
                continue;
            if (pf[i].fd == k->src && k->state == CONN_INGEST && k->src >= 0) {
                int r = ctl_ingest_step(&k->ig, k->src);
                if (r >= 0)
                    k->last_active = msclock_mono(); /* the input's bytes keep coming */
                if (r == 1)
                    ctl_submit_complete(c, k);
                else if (r < 0 && errno != EAGAIN)
                    ctl_submit_ingest_error(c, k, errno);
                if (k->state == CONN_READ)
                    ctl_conn_lines(c, k);
                continue;
            }
            if (pf[i].fd != k->fd)
                continue;
            if (k->state == CONN_INGEST && k->src >= 0) {
                if (re & (POLLHUP | POLLERR)) {
                    log_warn("client went away while \"%s\" was copied", k->rq.input);
                    ctl_submit_end(c, k, 1);
                    k->state = CONN_DEAD;
                }
                continue;
            }
            if (re & POLLOUT) {
                int f = ctl_reply_flush(k);
                if (f < 0)
                    k->state = CONN_DEAD;
                else if (f == 0 && k->state == CONN_READ)
                    ctl_conn_lines(c, k);
                continue;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                if (k->state == CONN_INGEST)
                    ctl_conn_ingest_inline(c, k);
                else
                    ctl_conn_read(c, k);
                if (k->state == CONN_READ)
                    ctl_conn_lines(c, k);
            }
        }
        /* a client that holds a slot without making progress is let go */
        ctl_conn_deadlines(c, msclock_mono());
        /* sweep the dead, keeping the array dense */
        for (int i = 0; i < c->nconns;) {
            if (c->conns[i]->state == CONN_DEAD) {
                ctl_conn_free(c, c->conns[i]);
                c->conns[i] = c->conns[--c->nconns];
            } else {
                i++;
            }
        }
    }
    return c->exit_code;
}

int
ctl_main(const struct config *cfg, shmseg_t *seg, int listen_fd)
{
    struct ctl c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.seg = seg;
    c.lfd = listen_fd;
    c.exit_code = -1;
    log_set_role("ctl");
    ctl_signals();
    /* the master may die at any instruction: learn it from the kernel */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (!shmseg_peer_alive(seg))
        return EXIT_ORPHAN;
    if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
        log_error("fcntl on the listening socket: %s", strerror(errno));
        return EXIT_ENV;
    }
    if ((c.incoming = ctl_ingest_open_spool(cfg->daemon.spool_dir)) < 0) {
        log_error("%s/incoming: %s", cfg->daemon.spool_dir, strerror(errno));
        return EXIT_ENV;
    }
    if (front_link_init(&c.link, shmseg_inbox(seg), shmseg_outbox(seg), CTL_REPLY_TIMEOUT,
                        &ctl_stop) < 0) {
        log_error("out of memory");
        close(c.incoming);
        return EXIT_ENV;
    }
    if (msg_send(c.link.outbox, PROTO_HELLO, 0, NULL, 0, CTL_REPLY_TIMEOUT) < 0) {
        log_error("sending hello: %s", strerror(errno));
        rc = shmseg_peer_alive(seg) ? EXIT_PROTO : EXIT_ORPHAN;
        goto out;
    }
    rc = ctl_loop(&c);
out:
    for (int i = 0; i < c.nconns; i++)
        ctl_conn_free(&c, c.conns[i]);
    front_link_free(&c.link);
    close(c.incoming);
    return rc;
}
