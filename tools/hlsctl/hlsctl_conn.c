/*
 * hlsctl_conn.c - the connection to the daemon: connect, send a request
 * (with the descriptors it passes), read one reply line under a deadline.
 */
#include "tools/hlsctl/hlsctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the connection ------------------------------------------------------ */

/* client_connect - 0, or -1 with a message already printed */
int
client_connect(struct client *cl, int quiet)
{
    struct sockaddr_un sa;

    /* a fresh connection; the descriptors to pass with it stay */
    free(cl->buf);
    cl->buf = NULL;
    cl->len = cl->cap = 0;
    cl->fd = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(hlsctl_socket) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "hlsctl: socket path too long: %s\n", hlsctl_socket);
        return -1;
    }
    strcpy(sa.sun_path, hlsctl_socket);
    cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cl->fd < 0 || connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (!quiet)
            fprintf(stderr, "hlsctl: cannot reach hlsd at %s: %s\n", hlsctl_socket,
                    strerror(errno));
        if (cl->fd >= 0)
            close(cl->fd);
        cl->fd = -1;
        return -1;
    }
    return 0;
}

void
client_close(struct client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    free(cl->buf);
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

/* client_send - the request line, with fd attached when >= 0 */
int
client_send(struct client *cl, json_t *req, int fd)
{
    char *s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len, off = 0;

    if (s == NULL)
        return -1;
    len = strlen(s);
    s[len] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
    len++;
    while (off < len) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * (1 + CTL_MAX_CAPTIONS))];
        } cm;
        struct iovec iov = {s + off, len - off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (fd >= 0 && off == 0) {
            int fds[1 + CTL_MAX_CAPTIONS] = {fd};
            memcpy(fds + 1, cl->extra, (size_t)cl->nextra * sizeof(int));
            size_t nfd = 1 + (size_t)cl->nextra;
            memset(&cm, 0, sizeof(cm));
            mh.msg_control = cm.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
            struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
            memcpy(CMSG_DATA(h), fds, sizeof(int) * nfd);
        }
        ssize_t n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(s);
            return -1;
        }
        off += (size_t)n;
    }
    free(s);
    return 0;
}

/* client_recv - one reply line as JSON; NULL when the daemon is gone or
 * silent (message printed unless quiet) */
json_t *
client_recv(struct client *cl, int timeout_ms, int quiet)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

    for (;;) {
        char *nl = cl->buf ? memchr(cl->buf, '\n', cl->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - cl->buf);
            json_error_t jerr;
            json_t *rep = json_loadb(cl->buf, n, 0, &jerr);
            memmove(cl->buf, nl + 1, cl->len - n - 1);
            cl->len -= n + 1;
            if (rep == NULL || !json_is_object(rep)) {
                fprintf(stderr, "hlsctl: the daemon sent a malformed reply\n");
                json_decref(rep);
                return NULL;
            }
            return rep;
        }
        if (cl->len == cl->cap) {
            size_t cap = cl->cap ? cl->cap * 2 : 65536;
            char *p = realloc(cl->buf, cap);
            if (p == NULL) {
                fprintf(stderr, "hlsctl: out of memory\n");
                return NULL;
            }
            cl->buf = p;
            cl->cap = cap;
        }
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                if (!quiet)
                    fprintf(stderr, "hlsctl: no answer from hlsd at %s\n", hlsctl_socket);
                return NULL;
            }
            wait = (int)left;
        }
        struct pollfd pf = {cl->fd, POLLIN, 0};
        int r = poll(&pf, 1, wait);
        if (r < 0 && errno != EINTR)
            return NULL;
        if (r <= 0)
            continue;
        ssize_t n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!quiet)
                fprintf(stderr, "hlsctl: hlsd at %s closed the connection%s%s\n", hlsctl_socket,
                        n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return NULL;
        }
        cl->len += (size_t)n;
    }
}

/* request - send and receive on cl (connecting first if needed); NULL when
 * the daemon cannot be reached */
json_t *
request(struct client *cl, json_t *req, int fd, int timeout_ms, int quiet)
{
    if (cl->fd < 0 && client_connect(cl, quiet) < 0)
        return NULL;
    if (client_send(cl, req, fd) < 0) {
        /* hlsd may have answered and closed before it read the request (busy):
         * its line is waiting, and says more than "Broken pipe" */
        if (errno == EPIPE || errno == ECONNRESET) {
            int e = errno;
            json_t *early = client_recv(cl, 1000, 1);
            if (early) {
                client_close(cl);
                return early;
            }
            errno = e;
        }
        if (!quiet)
            fprintf(stderr, "hlsctl: sending to hlsd at %s: %s\n", hlsctl_socket, strerror(errno));
        client_close(cl);
        return NULL;
    }
    json_t *rep = client_recv(cl, timeout_ms, quiet);
    if (rep == NULL)
        client_close(cl);
    return rep;
}
