/*
 * msg.c - fragmenting and reassembling messages over records.
 *
 * Reassembly never trusts the peer: fragment numbers must follow one
 * another, type and job may not change inside a message, and the total is
 * bounded by the receiver's own max. Never logs or exits.
 */
#include "ipc/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
msg_send(ring_t *r, uint16_t type, uint64_t job, const void *buf, size_t len, int timeout_ms)
{
    const unsigned char *p = buf;
    size_t nfrag = len == 0 ? 1 : (len + REC_BODY - 1) / REC_BODY;
    struct rec rec;

    if (type == 0 || nfrag > MSG_MAX_FRAGS || ring_record_size(r) != REC_SIZE) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < nfrag; i++) {
        size_t n = len - i * REC_BODY;
        if (n > REC_BODY)
            n = REC_BODY;
        memset(&rec, 0, sizeof(rec));
        rec.type = type;
        rec.len = (uint16_t)n;
        rec.flags = i + 1 < nfrag ? REC_F_MORE : 0;
        rec.frag = (uint16_t)i;
        rec.job = job;
        if (n)
            memcpy(rec.body, p + i * REC_BODY, n);
        if (ring_push_wait(r, &rec, timeout_ms) < 0)
            return -1;
    }
    return 0;
}

int
msg_asm_init(struct msg_asm *a, size_t max)
{
    memset(a, 0, sizeof(*a));
    if ((a->buf = malloc(max + 1)) == NULL)
        return -1;
    a->max = max;
    return 0;
}

void
msg_asm_reset(struct msg_asm *a)
{
    a->len = 0;
    a->active = 0;
    a->next_frag = 0;
}

void
msg_asm_free(struct msg_asm *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}

int
msg_asm_feed(struct msg_asm *a, const struct rec *r)
{
    if (!a->active) {
        if (r->frag != 0)
            goto proto;
        a->active = 1;
        a->type = r->type;
        a->job = r->job;
        a->len = 0;
        a->next_frag = 0;
    } else if (r->type != a->type || r->job != a->job || r->frag != a->next_frag) {
        goto proto;
    }
    if (r->len > REC_BODY)
        goto proto;
    if (r->len > a->max - a->len) {
        msg_asm_reset(a);
        errno = EMSGSIZE;
        return -1;
    }
    memcpy(a->buf + a->len, r->body, r->len);
    a->len += r->len;
    a->next_frag++;
    if (r->flags & REC_F_MORE) {
        if (a->next_frag == 0) /* wrapped past MSG_MAX_FRAGS */
            goto proto;
        return 0;
    }
    a->buf[a->len] = '\0';
    a->active = 0;
    return 1;
proto:
    msg_asm_reset(a);
    errno = EPROTO;
    return -1;
}
