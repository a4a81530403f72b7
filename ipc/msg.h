/*
 * msg.h - messages longer than one record body, as a run of fragments.
 *
 * A message of len bytes travels as ceil(len / REC_BODY) records (at least
 * one) with the same type and job, frag numbered from 0, REC_F_MORE on all
 * but the last. Rings are SPSC, so a sender's fragments are contiguous; a
 * receiver that sees anything else (a gap, a type change, a message over
 * its bound) has a broken peer: EPROTO.
 */
#ifndef HLSD_IPC_MSG_H
#define HLSD_IPC_MSG_H

#include "ipc/record.h"
#include "ipc/ring.h"

#include <stddef.h>
#include <stdint.h>

#define MSG_MAX_FRAGS 65535u

/* msg_send - push a message on a ring of REC_SIZE records, waiting at most
 * timeout_ms in all for room. On timeout some fragments may be out: the
 * caller must treat the ring as unusable (the peer is stuck or dead). */
int msg_send(ring_t *r, uint16_t type, uint64_t job, const void *buf, size_t len, int timeout_ms);

struct msg_asm {
    unsigned char *buf; /* the message so far */
    size_t len;
    size_t max;
    uint16_t type;
    uint16_t next_frag;
    uint64_t job;
    int active;
};

int msg_asm_init(struct msg_asm *a, size_t max);
void msg_asm_reset(struct msg_asm *a);
void msg_asm_free(struct msg_asm *a);

/* msg_asm_feed - add a record already passed through rec_check. Returns 1
 * when a message is complete (type, job, buf, len are set; buf is
 * NUL-terminated for convenience), 0 when more fragments are needed, -1
 * with errno EPROTO (or EMSGSIZE over max) when the sequence is broken. */
int msg_asm_feed(struct msg_asm *a, const struct rec *r);

#endif
