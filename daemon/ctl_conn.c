/*
 * ctl_conn.c - one client connection: bounded buffers, replies, request
 * lines read one at a time (the next only once the previous reply is out),
 * the raw bytes of an inline submission.
 */
#include "daemon/ctl_int.h"

#include "daemon/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void
ctl_conn_lines(struct ctl *c, struct ctl_conn *k)
{
    while (k->state == CONN_READ && !k->close_after && c->exit_code < 0) {
        if (k->outoff < k->outlen) {
            int f = ctl_reply_flush(k);
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
            ctl_reply_errorf(k, "too_large", "request line longer than %u bytes", CTL_LINE_MAX);
            k->close_after = 1;
            break;
        } else if (k->peer_eof && k->inlen > 0) {
            len = used = k->inlen; /* a last line without its newline */
        } else {
            break;
        }
        if (len > CTL_LINE_MAX) {
            ctl_reply_errorf(k, "too_large", "request line longer than %u bytes", CTL_LINE_MAX);
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
        k->requests++;
        k->line_since = msclock_mono(); /* the next line's time starts */
        if (len > 0)
            ctl_dispatch(c, k, line, len);
        free(line);
    }
    if (k->state != CONN_READ)
        return;
    if (k->outoff < k->outlen && ctl_reply_flush(k) < 0) {
        k->state = CONN_DEAD;
        return;
    }
    if (k->outoff >= k->outlen && (k->close_after || (k->peer_eof && k->inlen == 0)))
        k->state = CONN_DEAD;
}

/* ctl_conn_read - bytes and passed descriptors from a client in CONN_READ */
void
ctl_conn_read(struct ctl *c, struct ctl_conn *k)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * (1 + CTL_MAX_CAPTIONS))];
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
        for (size_t i = 0; i < nfd; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
            /* the input, then its caption files; more is a client bug */
            if (k->passed_fd < 0 && i == 0)
                k->passed_fd = fd;
            else if (i > 0 && k->n_extra < CTL_MAX_CAPTIONS)
                k->extra_fd[k->n_extra++] = fd;
            else
                close(fd);
        }
    }
    /* descriptors that did not fit were closed by the kernel: the request
     * cannot be what the client meant */
    if (mh.msg_flags & MSG_CTRUNC)
        k->fds_truncated = 1;
    if (n == 0)
        k->peer_eof = 1;
    if (k->inlen == 0 && n > 0)
        k->line_since = msclock_mono(); /* a new line's first byte */
    k->inlen += (size_t)n;
    k->last_active = msclock_mono();
    ctl_conn_lines(c, k);
}

/* ctl_conn_ingest_inline - raw bytes of an inline submission */
void
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
    k->last_active = msclock_mono(); /* bytes keep arriving */
    ctl_submit_inline(c, k, buf, (size_t)n);
}

void
ctl_conn_refuse(int fd, const char *code, const char *message)
{
    json_t *e =
        json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", message);
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;

    if (s) {
        /* a new socket's buffer has room for one line: never blocks */
        size_t n = strlen(s);
        s[n] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
        if (send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            /* the client left already */
        }
    }
    free(s);
    json_decref(e);
    /* what the client sent already is read and dropped (descriptors with
     * it are closed by the kernel): a close with unread bytes would reset
     * the connection, and the client might lose the line above */
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
}

/* expire - k ends past a deadline: one error line saying why, if the
 * client reads at all, then the slot is free */
static void
expire(struct ctl *c, struct ctl_conn *k, const char *fmt, ...)
{
    char msg[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("closing a connection of %s (pid %ld): %s", k->user, (long)k->pid, msg);
    if (k->state == CONN_INGEST)
        ctl_submit_end(c, k, 1);
    if (k->outoff >= k->outlen) {
        ctl_reply_error(k, "timeout", msg);
        if (ctl_reply_flush(k) < 0) {
            /* nobody reads: the slot goes all the same */
        }
    }
    k->state = CONN_DEAD;
}

void
ctl_conn_deadlines(struct ctl *c, int64_t now)
{
    for (int i = 0; i < c->nconns; i++) {
        struct ctl_conn *k = c->conns[i];
        if (k->state == CONN_INGEST) {
            if (now - k->last_active > CTL_STALL_TIMEOUT)
                expire(c, k, "no bytes of the input for %d s (%llu of %s bytes came)",
                       CTL_STALL_TIMEOUT / 1000, (unsigned long long)k->ig.copied,
                       k->src >= 0 ? "the" : "the announced");
            continue;
        }
        if (k->state != CONN_READ)
            continue;
        if (k->outoff < k->outlen) {
            /* a reply the client does not read */
            if (now - k->last_active > CTL_STALL_TIMEOUT) {
                log_warn("closing a connection of %s: it reads no reply", k->user);
                k->state = CONN_DEAD;
            }
        } else if ((k->inlen > 0 || k->requests == 0) && now - k->line_since > CTL_LINE_TIMEOUT) {
            expire(c, k, "no complete request line within %d s", CTL_LINE_TIMEOUT / 1000);
        } else if (k->inlen == 0 && now - k->last_active > CTL_IDLE_TIMEOUT) {
            log_info("closing a connection idle for %d s", CTL_IDLE_TIMEOUT / 1000);
            k->state = CONN_DEAD;
        }
    }
}

void
ctl_conn_free(struct ctl *c, struct ctl_conn *k)
{
    if (k->ig.token[0] && (k->ig.fd >= 0 || k->ig.dirfd >= 0))
        ctl_ingest_abort(&k->ig, c->incoming);
    if (k->src >= 0)
        close(k->src);
    if (k->passed_fd >= 0)
        close(k->passed_fd);
    ctl_options_close_fds(k);
    ctl_request_free(&k->rq);
    close(k->fd);
    free(k->in);
    free(k->out);
    free(k);
}
