/*
 * ctl.c - the control process: a poll() loop over the listening socket, the
 * client connections and the inputs being copied, and a synchronous
 * request/reply exchange with the master over the ring pair.
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
#include "daemon/ctl.h"
#include "daemon/ctl_ingest.h"
#include "daemon/ctl_request.h"
#include "daemon/log.h"
#include "ipc/msg.h"
#include "ipc/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_IN_START 4096u
#define CONN_IN_MAX   (CTL_LINE_MAX + 1u) /* the line and its newline */
#define INLINE_CHUNK  (256u << 10)
#define POLL_MS       1000

enum ctl_conn_state {
    CONN_READ,   /* reading request lines */
    CONN_INGEST, /* copying a submitted input */
    CONN_DEAD,   /* to be freed */
};

struct ctl_conn {
    int fd;
    enum ctl_conn_state state;
    unsigned char *in;
    size_t inlen, incap;
    char *out;
    size_t outlen, outoff;
    int passed_fd;   /* descriptor received with SCM_RIGHTS, not used yet */
    int peer_eof;    /* the client shut its sending side */
    int close_after; /* close once the reply is out */
    /* a submission in progress */
    struct ctl_request rq;
    struct ctl_ingest ig;
    int src;             /* the passed descriptor, or -1 when the bytes follow inline */
    int64_t last_active; /* ms: last byte in or out */
    uid_t uid;           /* the peer's, for the log */
    pid_t pid;
};

struct ctl {
    const struct config *cfg;
    shmseg_t *seg;
    ring_t *inbox, *outbox;
    int lfd;
    int incoming;
    struct ctl_conn *conns[CTL_MAX_CONNS];
    int nconns;
    struct msg_asm asm_;
    uint64_t seq;
    int exit_code; /* >= 0: leave the loop with it */
    int64_t accept_pause_until;
};

static volatile sig_atomic_t ctl_stop;
static volatile sig_atomic_t ctl_reopen;

static void
ctl_on_signal(int sig)
{
    if (sig == SIGUSR1)
        ctl_reopen = 1;
    else
        ctl_stop = 1;
}

static int64_t
ctl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- replies to clients --------------------------------------------- */

static void
ctl_conn_put(struct ctl_conn *k, const char *s, size_t n)
{
    if (k->outoff == k->outlen)
        k->outoff = k->outlen = 0;
    char *p = realloc(k->out, k->outlen + n + 1);
    if (p == NULL) {
        /* cannot even answer: dropping the client is all that is left */
        log_error("out of memory for a %zu-byte reply", n);
        k->close_after = 1;
        return;
    }
    k->out = p;
    memcpy(k->out + k->outlen, s, n);
    k->outlen += n;
    k->out[k->outlen++] = '\n';
}

static void
ctl_conn_reply(struct ctl_conn *k, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (s == NULL) {
        static const char oom[] =
            "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        ctl_conn_put(k, oom, sizeof(oom) - 1);
        return;
    }
    ctl_conn_put(k, s, strlen(s));
    free(s);
}

static void
ctl_conn_error(struct ctl_conn *k, const char *code, const char *message)
{
    json_t *o =
        json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", message);
    if (o == NULL) {
        /* the message quoted client bytes cut mid-character: keep ASCII */
        char ascii[512];
        size_t i;
        for (i = 0; message[i] && i + 1 < sizeof(ascii); i++)
            ascii[i] = (unsigned char)message[i] < 0x80 ? message[i] : '?';
        ascii[i] = '\0';
        o = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", ascii);
    }
    ctl_conn_reply(k, o);
    json_decref(o);
}

static void ctl_conn_errorf(struct ctl_conn *k, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ctl_conn_errorf(struct ctl_conn *k, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctl_conn_error(k, code, msg);
}

/* ctl_conn_flush - 0 when everything is out, 1 when the socket is full, -1
 * when the client is gone */
static int
ctl_conn_flush(struct ctl_conn *k)
{
    while (k->outoff < k->outlen) {
        ssize_t n =
            send(k->fd, k->out + k->outoff, k->outlen - k->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 1;
            return -1;
        }
        k->outoff += (size_t)n;
        k->last_active = ctl_now_ms();
    }
    if (k->outlen > CONN_IN_MAX) {
        /* do not keep a big list reply's buffer for an idle client */
        free(k->out);
        k->out = NULL;
    }
    k->outoff = k->outlen = 0;
    return 0;
}

/* --- the master ----------------------------------------------------- */

/* ctl_send - all fragments or none: wait until the whole message fits, so
 * that a timeout never leaves half a message in the ring */
static int
ctl_send(struct ctl *c, const char *buf, size_t len, int64_t deadline)
{
    size_t nfrag = len == 0 ? 1 : (len + REC_BODY - 1) / REC_BODY;
    uint32_t cap = ring_capacity(c->outbox);

    while (nfrag <= cap) {
        ssize_t pend = ring_pending(c->outbox);
        if (pend < 0)
            return -1;
        if (cap - (size_t)pend >= nfrag)
            break;
        int64_t left = deadline - ctl_now_ms();
        if (left <= 0 || ctl_stop) {
            errno = ETIMEDOUT;
            return -1;
        }
        if ((size_t)pend == cap) {
            if (ring_wait_room(c->outbox, (int)(left < 100 ? left : 100)) < 0 &&
                errno != ETIMEDOUT && errno != EINTR)
                return -1;
        } else {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    int64_t left = deadline - ctl_now_ms();
    return msg_send(c->outbox, PROTO_CTL_REQ, c->seq, buf, len, left > 10 ? (int)left : 10);
}

/* ctl_ask - one request to the master and its reply (an object with a
 * boolean "ok"), or NULL with err filled. */
static json_t *
ctl_ask(struct ctl *c, json_t *req, struct ctl_error *err)
{
    int64_t deadline = ctl_now_ms() + CTL_REPLY_TIMEOUT;
    char *s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);

    err->code = "unavailable";
    snprintf(err->message, sizeof(err->message), "the daemon did not answer in %d ms",
             CTL_REPLY_TIMEOUT);
    if (s == NULL) {
        err->code = "internal";
        snprintf(err->message, sizeof(err->message), "out of memory");
        return NULL;
    }
    c->seq++;
    int rc = ctl_send(c, s, strlen(s), deadline);
    free(s);
    if (rc < 0) {
        if (errno == EPROTO) {
            log_error("outbox counters are corrupt");
            c->exit_code = EXIT_PROTO;
        } else {
            log_warn("master did not take request %llu: %s", (unsigned long long)c->seq,
                     strerror(errno));
        }
        return NULL;
    }

    for (;;) {
        struct rec r;
        if (ring_pop(c->inbox, &r) == 0) {
            if (rec_check(&r, proto_rules_to_ctl) < 0) {
                log_error("bad record from the master (type %#x, len %u)", r.type, r.len);
                c->exit_code = EXIT_PROTO;
                return NULL;
            }
            int k = msg_asm_feed(&c->asm_, &r);
            if (k < 0) {
                log_error("broken reply from the master: %s", strerror(errno));
                c->exit_code = EXIT_PROTO;
                return NULL;
            }
            if (k == 0)
                continue;
            if (c->asm_.job != c->seq && c->asm_.job != 0) {
                log_warn("dropping a late reply to request %llu", (unsigned long long)c->asm_.job);
                continue;
            }
            json_error_t jerr;
            json_t *rep = json_loadb((const char *)c->asm_.buf, c->asm_.len, 0, &jerr);
            if (rep == NULL || !json_is_object(rep) ||
                !json_is_boolean(json_object_get(rep, "ok"))) {
                log_warn("the master's reply is not a JSON object with \"ok\": %.200s",
                         (const char *)c->asm_.buf);
                json_decref(rep);
                err->code = "internal";
                snprintf(err->message, sizeof(err->message), "malformed reply from the daemon");
                return NULL;
            }
            return rep;
        }
        if (errno == EPROTO) {
            log_error("inbox counters are corrupt");
            c->exit_code = EXIT_PROTO;
            return NULL;
        }
        int64_t left = deadline - ctl_now_ms();
        if (left <= 0 || ctl_stop) {
            log_warn("no reply from the master to request %llu in %d ms",
                     (unsigned long long)c->seq, CTL_REPLY_TIMEOUT);
            return NULL;
        }
        if (ring_wait_data(c->inbox, (int)left) < 0 && errno == EPROTO) {
            log_error("inbox counters are corrupt");
            c->exit_code = EXIT_PROTO;
            return NULL;
        }
    }
}

/* ctl_forward - ask and relay the answer (or our error) to the client */
static void
ctl_forward(struct ctl *c, struct ctl_conn *k, json_t *req)
{
    struct ctl_error err;
    json_t *rep = ctl_ask(c, req, &err);

    if (rep == NULL) {
        ctl_conn_error(k, err.code, err.message);
        return;
    }
    ctl_conn_reply(k, rep);
    json_decref(rep);
}

/* --- submissions ------------------------------------------------------ */

static void
ctl_submit_end(struct ctl *c, struct ctl_conn *k, int remove_input)
{
    if (remove_input)
        ctl_ingest_abort(&k->ig, c->incoming);
    if (k->src >= 0)
        close(k->src);
    k->src = -1;
    ctl_request_free(&k->rq);
    if (k->state == CONN_INGEST)
        k->state = CONN_READ;
}

/* ctl_submit_fail - an ingest that cannot go on: answer, clean up, and
 * close an inline submission whose remaining bytes we will not read */
static void ctl_submit_fail(struct ctl *c, struct ctl_conn *k, const char *code, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

static void
ctl_submit_fail(struct ctl *c, struct ctl_conn *k, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("submit of \"%s\" refused: %s", k->rq.input, msg);
    if (k->src < 0)
        k->close_after = 1;
    ctl_submit_end(c, k, 1);
    ctl_conn_error(k, code, msg);
}

static void
ctl_submit_ingest_error(struct ctl *c, struct ctl_conn *k, int e)
{
    if (e == EFBIG)
        ctl_submit_fail(c, k, "too_large", "the input is larger than max_input_bytes (%llu)",
                        (unsigned long long)c->cfg->daemon.max_input_bytes);
    else if (e == EPIPE)
        ctl_submit_fail(c, k, "bad_input", "the input ended after %llu of %llu bytes",
                        (unsigned long long)k->ig.copied, (unsigned long long)k->ig.expect);
    else if (k->ig.write_failed)
        ctl_submit_fail(c, k, "io_error", "writing the input into the spool: %s", strerror(e));
    else
        ctl_submit_fail(c, k, "bad_input", "reading the input: %s", strerror(e));
}

/* ctl_submit_complete - the whole input is in: make it durable, then let
 * the master store the job; only its answer goes to the client */
static void
ctl_submit_complete(struct ctl *c, struct ctl_conn *k)
{
    struct ctl_error err;

    if (k->ig.copied == 0) {
        ctl_submit_fail(c, k, "bad_input", "the input is empty");
        return;
    }
    if (ctl_ingest_finish(&k->ig, c->incoming) < 0) {
        log_error("fsync of incoming/%s: %s", k->ig.token, strerror(errno));
        ctl_submit_fail(c, k, "io_error", "saving the input in the spool: %s", strerror(errno));
        return;
    }
    json_object_set_new(k->rq.fwd, "token", json_string(k->ig.token));
    json_object_set_new(k->rq.fwd, "input", json_string(k->rq.input));
    json_t *rep = ctl_ask(c, k->rq.fwd, &err);
    int ok = rep && json_is_true(json_object_get(rep, "ok"));
    if (ok) {
        json_t *id = json_object_get(json_object_get(rep, "job"), "id");
        log_info("submitted \"%s\" (%llu bytes) as job %lld for uid %ld pid %ld", k->rq.input,
                 (unsigned long long)k->ig.copied,
                 json_is_integer(id) ? json_integer_value(id) : -1, (long)k->uid, (long)k->pid);
    }
    /* on any error the master did not take the directory: it is still ours */
    ctl_submit_end(c, k, !ok);
    if (rep) {
        ctl_conn_reply(k, rep);
        json_decref(rep);
    } else {
        if (strcmp(err.code, "unavailable") == 0)
            snprintf(err.message, sizeof(err.message),
                     "the daemon did not answer in %d ms; the job may not have been created",
                     CTL_REPLY_TIMEOUT);
        ctl_conn_error(k, err.code, err.message);
    }
}

/* ctl_submit_inline - feed bytes of an inline submission */
static void
ctl_submit_inline(struct ctl *c, struct ctl_conn *k, const void *buf, size_t n)
{
    int r = ctl_ingest_write(&k->ig, buf, n);

    if (r < 0)
        ctl_submit_ingest_error(c, k, errno);
    else if (r == 1)
        ctl_submit_complete(c, k);
}

/* ctl_submit_start - after a valid submit line: admission, then ingest */
static void
ctl_submit_start(struct ctl *c, struct ctl_conn *k)
{
    uint64_t max = c->cfg->daemon.max_input_bytes ? c->cfg->daemon.max_input_bytes : UINT64_MAX;
    struct ctl_error err;

    k->src = -1;
    if (k->rq.inline_size) {
        if (k->passed_fd >= 0) {
            close(k->passed_fd); /* the bytes follow inline: ignore it */
            k->passed_fd = -1;
        }
        if (k->rq.size == 0) {
            ctl_submit_fail(c, k, "bad_input", "the input is empty");
            k->close_after = 0; /* no bytes follow: the stream is still in step */
            return;
        }
        if (k->rq.size > max) {
            ctl_submit_fail(c, k, "too_large", "the input is larger than max_input_bytes (%llu)",
                            (unsigned long long)max);
            return;
        }
    } else {
        if (k->passed_fd < 0) {
            ctl_conn_error(k, "bad_request",
                           "submit needs the input: pass its descriptor with SCM_RIGHTS on the "
                           "same sendmsg as the line, or give \"size\" and send that many bytes "
                           "after the line");
            ctl_request_free(&k->rq);
            return;
        }
        k->src = k->passed_fd;
        k->passed_fd = -1;
    }

    memset(&k->ig, 0, sizeof(k->ig));
    k->ig.dirfd = k->ig.fd = -1;
    k->ig.limit = max;
    if (k->src >= 0 && ctl_ingest_source(&k->ig, k->src) < 0) {
        int e = errno;
        if (e == EISDIR)
            ctl_submit_fail(c, k, "bad_input", "the input is a directory");
        else if (e == EFBIG)
            ctl_submit_fail(c, k, "too_large", "the input is larger than max_input_bytes (%llu)",
                            (unsigned long long)max);
        else
            ctl_submit_fail(c, k, "bad_input", "the passed descriptor is not readable");
        return;
    }

    /* ask first, so that a big input is not copied only to be refused */
    json_t *admit = json_pack("{s:s}", "cmd", "admit");
    json_t *rep = admit ? ctl_ask(c, admit, &err) : NULL;
    json_decref(admit);
    if (rep == NULL || !json_is_true(json_object_get(rep, "ok"))) {
        if (k->src < 0)
            k->close_after = 1;
        ctl_submit_end(c, k, 0);
        if (rep)
            ctl_conn_reply(k, rep);
        else
            ctl_conn_error(k, admit ? err.code : "internal", admit ? err.message : "out of memory");
        json_decref(rep);
        return;
    }
    json_decref(rep);

    int src_regular = k->ig.src_regular;
    if (ctl_ingest_begin(&k->ig, c->incoming, max, k->rq.inline_size ? k->rq.size : UINT64_MAX) <
        0) {
        log_error("creating an input in %s/incoming: %s", c->cfg->daemon.spool_dir,
                  strerror(errno));
        ctl_submit_fail(c, k, "io_error", "creating the input in the spool: %s", strerror(errno));
        return;
    }
    k->ig.src_regular = src_regular;
    k->state = CONN_INGEST;

    if (k->src < 0 && k->inlen > 0) {
        /* bytes that came in with the line */
        size_t n = k->inlen;
        if (n > ctl_ingest_remaining(&k->ig))
            n = ctl_ingest_remaining(&k->ig);
        unsigned char *tmp = malloc(n);
        if (tmp == NULL) {
            ctl_submit_fail(c, k, "internal", "out of memory");
            return;
        }
        memcpy(tmp, k->in, n);
        memmove(k->in, k->in + n, k->inlen - n);
        k->inlen -= n;
        ctl_submit_inline(c, k, tmp, n);
        free(tmp);
    }
}

/* --- requests ----------------------------------------------------------- */

static void
ctl_request(struct ctl *c, struct ctl_conn *k, const char *line, size_t len)
{
    struct ctl_error err;

    if (ctl_request_parse(line, len, &k->rq, &err) < 0) {
        log_warn("%s: %s", err.code, err.message);
        ctl_conn_error(k, err.code, err.message);
        if (err.close)
            k->close_after = 1;
        return;
    }
    if (k->rq.cmd == CTL_CMD_SUBMIT) {
        ctl_submit_start(c, k);
        return;
    }
    ctl_forward(c, k, k->rq.fwd);
    ctl_request_free(&k->rq);
}

/* ctl_conn_lines - handle the complete lines buffered, one at a time, each
 * only once the previous reply has gone out */
static void
ctl_conn_lines(struct ctl *c, struct ctl_conn *k)
{
    while (k->state == CONN_READ && !k->close_after && c->exit_code < 0) {
        if (k->outoff < k->outlen) {
            int f = ctl_conn_flush(k);
            if (f < 0) {
                k->state = CONN_DEAD;
                return;
            }
            if (f > 0)
                return;
        }
        unsigned char *nl = memchr(k->in, '\n', k->inlen);
        size_t len, used;
        if (nl) {
            len = (size_t)(nl - k->in);
            used = len + 1;
        } else if (k->inlen >= CONN_IN_MAX) {
            log_warn("request line longer than %u bytes", CTL_LINE_MAX);
            ctl_conn_errorf(k, "too_large", "request line longer than %u bytes", CTL_LINE_MAX);
            k->close_after = 1;
            break;
        } else if (k->peer_eof && k->inlen > 0) {
            len = used = k->inlen; /* a last line without its newline */
        } else {
            break;
        }
        if (len > CTL_LINE_MAX) {
            ctl_conn_errorf(k, "too_large", "request line longer than %u bytes", CTL_LINE_MAX);
            k->close_after = 1;
            break;
        }
        if (len > 0 && k->in[len - 1] == '\r')
            len--;
        /* parse from a copy: the submit path consumes what follows the line */
        char *line = malloc(len + 1);
        if (line == NULL) {
            k->close_after = 1;
            break;
        }
        memcpy(line, k->in, len);
        line[len] = '\0';
        memmove(k->in, k->in + used, k->inlen - used);
        k->inlen -= used;
        if (len > 0)
            ctl_request(c, k, line, len);
        free(line);
    }
    if (k->state != CONN_READ)
        return;
    if (k->outoff < k->outlen && ctl_conn_flush(k) < 0) {
        k->state = CONN_DEAD;
        return;
    }
    if (k->outoff >= k->outlen && (k->close_after || (k->peer_eof && k->inlen == 0)))
        k->state = CONN_DEAD;
}

/* ctl_conn_read - bytes and passed descriptors from a client in CONN_READ */
static void
ctl_conn_read(struct ctl *c, struct ctl_conn *k)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 8)];
    } cm;

    if (k->inlen == k->incap) {
        size_t cap = k->incap ? k->incap * 2 : CONN_IN_START;
        if (cap > CONN_IN_MAX)
            cap = CONN_IN_MAX;
        unsigned char *p = cap > k->incap ? realloc(k->in, cap) : NULL;
        if (p == NULL) {
            ctl_conn_lines(c, k); /* full: the line check answers too_large */
            return;
        }
        k->in = p;
        k->incap = cap;
    }
    struct iovec iov = {k->in + k->inlen, k->incap - k->inlen};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    ssize_t n = recvmsg(k->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            k->state = CONN_DEAD;
        return;
    }
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int fds[8];
        memcpy(fds, CMSG_DATA(h), nfd * sizeof(int));
        for (size_t i = 0; i < nfd; i++) {
            /* one descriptor per submit; extras are a client bug */
            if (k->passed_fd < 0)
                k->passed_fd = fds[i];
            else
                close(fds[i]);
        }
    }
    if (n == 0)
        k->peer_eof = 1;
    k->inlen += (size_t)n;
    k->last_active = ctl_now_ms();
    ctl_conn_lines(c, k);
}

/* ctl_conn_ingest_inline - raw bytes of an inline submission */
static void
ctl_conn_ingest_inline(struct ctl *c, struct ctl_conn *k)
{
    static unsigned char buf[INLINE_CHUNK];
    size_t want = ctl_ingest_remaining(&k->ig);

    if (want > sizeof(buf))
        want = sizeof(buf);
    ssize_t n = recv(k->fd, buf, want, MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        ctl_submit_end(c, k, 1);
        k->state = CONN_DEAD;
        return;
    }
    if (n == 0) {
        log_warn("client went away after %llu of %llu bytes of \"%s\"",
                 (unsigned long long)k->ig.copied, (unsigned long long)k->ig.expect, k->rq.input);
        k->peer_eof = 1;
        ctl_submit_ingest_error(c, k, EPIPE);
        return;
    }
    ctl_submit_inline(c, k, buf, (size_t)n);
}

static void
ctl_conn_free(struct ctl *c, struct ctl_conn *k)
{
    if (k->ig.token[0] && (k->ig.fd >= 0 || k->ig.dirfd >= 0))
        ctl_ingest_abort(&k->ig, c->incoming);
    if (k->src >= 0)
        close(k->src);
    if (k->passed_fd >= 0)
        close(k->passed_fd);
    ctl_request_free(&k->rq);
    close(k->fd);
    free(k->in);
    free(k->out);
    free(k);
}

static void
ctl_accept(struct ctl *c)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("accept: %s; pausing new connections", strerror(errno));
                c->accept_pause_until = ctl_now_ms() + 200;
            }
            return;
        }
        if (c->nconns >= CTL_MAX_CONNS) {
            static const char busy[] = "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":"
                                       "\"too many connections\"}}\n";
            if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                /* the client left already */
            }
            close(fd);
            continue;
        }
        struct ctl_conn *k = calloc(1, sizeof(*k));
        if (k == NULL) {
            close(fd);
            return;
        }
        struct ucred cr;
        socklen_t crlen = sizeof(cr);
        k->uid = (uid_t)-1;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0) {
            k->uid = cr.uid;
            k->pid = cr.pid;
        }
        k->last_active = ctl_now_ms();
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
        int64_t now = ctl_now_ms();
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
                int f = ctl_conn_flush(k);
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
        /* a client that holds a slot without asking anything is let go */
        now = ctl_now_ms();
        for (int i = 0; i < c->nconns; i++) {
            struct ctl_conn *k = c->conns[i];
            if (k->state == CONN_READ && now - k->last_active > CTL_IDLE_TIMEOUT) {
                log_info("closing a connection idle for %d s", CTL_IDLE_TIMEOUT / 1000);
                k->state = CONN_DEAD;
            }
        }
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
    c.inbox = shmseg_inbox(seg);
    c.outbox = shmseg_outbox(seg);
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
    if (msg_asm_init(&c.asm_, PROTO_MSG_MAX) < 0) {
        log_error("out of memory");
        close(c.incoming);
        return EXIT_ENV;
    }
    if (msg_send(c.outbox, PROTO_HELLO, 0, NULL, 0, CTL_REPLY_TIMEOUT) < 0) {
        log_error("sending hello: %s", strerror(errno));
        rc = shmseg_peer_alive(seg) ? EXIT_PROTO : EXIT_ORPHAN;
        goto out;
    }
    rc = ctl_loop(&c);
out:
    for (int i = 0; i < c.nconns; i++)
        ctl_conn_free(&c, c.conns[i]);
    msg_asm_free(&c.asm_);
    close(c.incoming);
    return rc;
}
