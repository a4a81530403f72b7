/*
 * record.c - validation of records read from shared memory.
 *
 * Everything in a ring was written by another process that may be buggy or
 * half-dead; the receiver calls rec_check before reading any field beyond
 * the header. It must never trust len, type or flags on their own.
 */
#include "ipc/record.h"

#include <errno.h>

int
rec_check(const struct rec *r, const struct rec_rule *rules)
{
    if (r->type == 0 || r->len > REC_BODY || (r->flags & ~REC_F_MORE) != 0)
        goto bad;
    for (const struct rec_rule *q = rules; q->type != 0; q++) {
        if (q->type != r->type)
            continue;
        if (r->len < q->min_len || r->len > q->max_len)
            goto bad;
        if ((r->flags & REC_F_MORE || r->frag != 0) && !q->may_fragment)
            goto bad;
        /* a fragment that is followed by another must be full */
        if ((r->flags & REC_F_MORE) && r->len != REC_BODY)
            goto bad;
        return 0;
    }
bad:
    errno = EPROTO;
    return -1;
}
