/*
 * ctl_reply.c - what goes back to a client: one JSON object per line into
 * the connection's bounded output buffer, and the buffer out to the socket
 * without blocking. The bottom of ctl: it calls nothing else of ctl.
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

static void
ctl_reply_put(struct ctl_conn *k, const char *s, size_t n)
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

void
ctl_reply_json(struct ctl_conn *k, json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (s == NULL) {
        static const char oom[] =
            "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        ctl_reply_put(k, oom, sizeof(oom) - 1);
        return;
    }
    ctl_reply_put(k, s, strlen(s));
    free(s);
}

void
ctl_reply_error(struct ctl_conn *k, const char *code, const char *message)
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
    ctl_reply_json(k, o);
    json_decref(o);
}

void
ctl_reply_errorf(struct ctl_conn *k, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctl_reply_error(k, code, msg);
}

/* ctl_reply_flush - 0 when everything is out, 1 when the socket is full, -1
 * when the client is gone */
int
ctl_reply_flush(struct ctl_conn *k)
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
        k->last_active = msclock_mono();
    }
    if (k->outlen > CONN_IN_MAX) {
        /* do not keep a big list reply's buffer for an idle client */
        free(k->out);
        k->out = NULL;
    }
    k->outoff = k->outlen = 0;
    return 0;
}
