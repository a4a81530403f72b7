/*
 * front_link.h - a front's round trip to the master: ctl and the HTTP
 * process each own one ring pair, send a request as one PROTO_CTL_REQ
 * message (one JSON object, a sequence number in rec.job) and wait for the
 * PROTO_CTL_REPLY that echoes that number (see docs/protocol.md, "Inside").
 *
 * A front is a child that may crash; the master is trusted to answer in
 * time but not to send well-formed records: a record that breaks the rules
 * marks the link broken (the caller exits with EXIT_PROTO) rather than
 * being guessed at. Never exits; logs what went wrong on the link.
 */
#ifndef HLSD_DAEMON_FRONT_LINK_H
#define HLSD_DAEMON_FRONT_LINK_H

#include "ipc/msg.h"
#include "ipc/ring.h"

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct front_link {
    ring_t *inbox, *outbox;
    struct msg_asm asm_;
    uint64_t seq;
    int timeout_ms;              /* the master has this long to answer */
    volatile sig_atomic_t *stop; /* set by a signal: give up waiting */
    int broken;                  /* the master broke the protocol */
};

/* front_link_init - over a child's segment rings; 0 or -1 (out of memory) */
int front_link_init(struct front_link *l, ring_t *inbox, ring_t *outbox, int timeout_ms,
                    volatile sig_atomic_t *stop);
void front_link_free(struct front_link *l);

/* front_link_ask - one request and its reply (an object with a boolean
 * "ok"), or NULL with *code ("unavailable", "internal") and msg filled;
 * l->broken is set when the master broke the protocol. */
json_t *front_link_ask(struct front_link *l, json_t *req, const char **code, char *msg,
                       size_t msglen);

#endif
