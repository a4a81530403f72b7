/*
 * http.c - the HTTP process: its signals, libmicrohttpd set up on the
 * inherited listening socket, and one loop that sleeps on the server's
 * epoll descriptor and runs it (requests: http_route.c; uploads:
 * http_upload.c).
 *
 * One thread does everything, the server's callbacks included, so the
 * ring pair to the master keeps one producer and one consumer. The master
 * answers in microseconds, so a request waits for it in the callback; a
 * master that does not answer within HTTP_REPLY_TIMEOUT gets the client a
 * 503. Clients are bounded by the server: connections
 * (HTTP_MAX_CONNS), memory per connection, an idle timeout, and our own
 * bound on JSON bodies.
 */
#include "daemon/http_int.h"

#include "daemon/log.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

struct http H;

static volatile sig_atomic_t http_stop, http_reopen;

static void
http_on_signal(int sig)
{
    if (sig == SIGUSR1)
        http_reopen = 1;
    else
        http_stop = 1;
}

static void
http_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = http_on_signal; /* no SA_RESTART: poll returns */
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

/* the server's own messages (a malformed request line, a TLS handshake
 * that failed): a client's doing, so warnings */
static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("libmicrohttpd: %s", msg);
}

/* http_completed - a request is over, answered or not: an upload that
 * did not reach the master is removed from the spool */
static void
http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
               enum MHD_RequestTerminationCode toe)
{
    struct http_req *r = *req_cls;

    (void)cls;
    (void)c;
    if (r == NULL)
        return;
    if (r->ingesting) {
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            log_warn("upload of \"%s\" abandoned after %llu bytes: removed", r->rq.input,
                     (unsigned long long)r->ig.copied);
        http_upload_abort(r);
    }
    ctl_request_free(&r->rq);
    free(r->buf);
    free(r);
    *req_cls = NULL;
}

/* slurp - a whole (small) file, for the TLS certificate and key */
static char *
slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fd < 0)
        return NULL;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *p = cap > (1u << 20) ? NULL : realloc(buf, cap = cap * 2 + 8192);
            if (p == NULL)
                break;
            buf = p;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            if (n < 0) {
                free(buf);
                return NULL;
            }
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
    }
    close(fd);
    free(buf);
    return NULL;
}

static struct MHD_Daemon *
http_start(int listen_fd, char *cert, char *key)
{
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

    if (cert)
        flags |= MHD_USE_TLS;
    /* options the TLS build needs come last, so that a plain server can
     * end the list before them */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, http_route, NULL, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_IDLE_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)HTTP_CONN_INCREMENT,
        cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_END);
}

static int
http_loop(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
    int efd = info ? info->epoll_fd : -1;

    if (efd < 0) {
        log_error("libmicrohttpd has no epoll descriptor");
        return EXIT_ENV;
    }
    while (H.exit_code < 0) {
        if (http_reopen) {
            http_reopen = 0;
            log_reopen();
        }
        if (!shmseg_peer_alive(H.seg)) {
            log_warn("the master is gone; exiting");
            return EXIT_ORPHAN;
        }
        if (http_stop) {
            log_info("stopping");
            return 0;
        }
        MHD_UNSIGNED_LONG_LONG to;
        int ms = 1000;
        if (MHD_get_timeout(d, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)ms)
            ms = (int)to;
        struct pollfd pf = {.fd = efd, .events = POLLIN};
        if (poll(&pf, 1, ms) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return EXIT_ENV;
        }
        MHD_run(d);
        if (H.link.broken)
            H.exit_code = EXIT_PROTO;
    }
    return H.exit_code;
}

static int
open_dir(const char *spool, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", spool, name);
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int
http_main(const struct config *cfg, shmseg_t *seg, int listen_fd)
{
    char err[512], *cert = NULL, *key = NULL;
    int rc = EXIT_ENV;
    struct MHD_Daemon *d = NULL;

    memset(&H, 0, sizeof(H));
    H.cfg = cfg;
    H.seg = seg;
    H.exit_code = -1;
    H.incoming = H.incoming_http = -1;
    H.uid = geteuid();
    struct passwd *pw = getpwuid(H.uid);
    snprintf(H.user, sizeof(H.user), "%s", pw ? pw->pw_name : "hlsd");
    http_signals();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (!shmseg_peer_alive(seg))
        return EXIT_ORPHAN;
    /* what a killed predecessor was streaming is discarded here */
    if ((H.incoming_http = ctl_ingest_open_dir(cfg->daemon.spool_dir, HTTP_INCOMING)) < 0 ||
        (H.incoming = open_dir(cfg->daemon.spool_dir, "incoming")) < 0) {
        log_error("%s/%s: %s", cfg->daemon.spool_dir, HTTP_INCOMING, strerror(errno));
        goto out;
    }
    if (cfg->http.token_file[0] &&
        http_tokens_load(cfg->http.token_file, H.tokens, &H.ntokens, err, sizeof(err)) < 0) {
        log_error("%s", err);
        rc = EXIT_CONFIG;
        goto out;
    }
    H.tokens_checked = msclock_mono();
    if (cfg->http.tls_cert[0]) {
        /* here, not in http_check: hlsd itself does not link libmicrohttpd
         * (Debian's is built with TLS; another build may not be) */
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            log_error("[http] tls_cert: this libmicrohttpd was built without TLS; serve plain "
                      "HTTP on loopback behind a TLS proxy instead");
            rc = EXIT_CONFIG;
            goto out;
        }
        cert = slurp(cfg->http.tls_cert);
        key = slurp(cfg->http.tls_key);
        if (cert == NULL || key == NULL) {
            log_error("[http] tls_cert or tls_key cannot be read: %s", strerror(errno));
            rc = EXIT_CONFIG;
            goto out;
        }
    }
    if (front_link_init(&H.link, shmseg_inbox(seg), shmseg_outbox(seg), HTTP_REPLY_TIMEOUT,
                        &http_stop) < 0) {
        log_error("out of memory");
        goto out;
    }
    if ((d = http_start(listen_fd, cert, key)) == NULL) {
        log_error("libmicrohttpd did not start on [http] listen = %s%s", cfg->http.listen,
                  cert ? " (check tls_cert and tls_key)" : "");
        rc = cert ? EXIT_CONFIG : EXIT_ENV;
        goto link;
    }
    if (key)
        explicit_bzero(key, strlen(key));
    if (msg_send(H.link.outbox, PROTO_HELLO, 0, NULL, 0, HTTP_REPLY_TIMEOUT) < 0) {
        log_error("sending hello: %s", strerror(errno));
        rc = shmseg_peer_alive(seg) ? EXIT_PROTO : EXIT_ORPHAN;
        goto stop;
    }
    log_info("HTTP API on %s%s", cfg->http.listen, cert ? " (TLS)" : "");
    rc = http_loop(d);
stop:
    MHD_stop_daemon(d);
link:
    front_link_free(&H.link);
out:
    free(cert);
    free(key);
    http_tokens_free(H.tokens, &H.ntokens);
    if (H.incoming_http >= 0)
        close(H.incoming_http);
    if (H.incoming >= 0)
        close(H.incoming);
    return rc;
}
