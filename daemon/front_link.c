/*
 * front_link.c - the round trip from a front (ctl, http) to the master: a
 * request as one message (all fragments or none, so that a timeout never
 * leaves half a message in the ring) and the reply that carries its
 * sequence number (a reply that comes after we gave up is dropped, not
 * taken for the next request's answer).
 */
#include "daemon/front_link.h"

#include "daemon/log.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
front_link_init(struct front_link *l, ring_t *inbox, ring_t *outbox, int timeout_ms,
                volatile sig_atomic_t *stop)
{
    memset(l, 0, sizeof(*l));
    l->inbox = inbox;
    l->outbox = outbox;
    l->timeout_ms = timeout_ms;
    l->stop = stop;
    return msg_asm_init(&l->asm_, PROTO_MSG_MAX);
}

void
front_link_free(struct front_link *l)
{
    msg_asm_free(&l->asm_);
}

static int
stopped(const struct front_link *l)
{
    return l->stop != NULL && *l->stop;
}

/* link_send - wait until the whole message fits, then send it */
static int
link_send(struct front_link *l, const char *buf, size_t len, int64_t deadline)
{
    size_t nfrag = len == 0 ? 1 : (len + REC_BODY - 1) / REC_BODY;
    uint32_t cap = ring_capacity(l->outbox);

    while (nfrag <= cap) {
        ssize_t pend = ring_pending(l->outbox);
        if (pend < 0)
            return -1;
        if (cap - (size_t)pend >= nfrag)
            break;
        int64_t left = deadline - msclock_mono();
        if (left <= 0 || stopped(l)) {
            errno = ETIMEDOUT;
            return -1;
        }
        if ((size_t)pend == cap) {
            if (ring_wait_room(l->outbox, (int)(left < 100 ? left : 100)) < 0 &&
                errno != ETIMEDOUT && errno != EINTR)
                return -1;
        } else {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    int64_t left = deadline - msclock_mono();
    return msg_send(l->outbox, PROTO_CTL_REQ, l->seq, buf, len, left > 10 ? (int)left : 10);
}

static json_t *
link_broken(struct front_link *l, const char *what)
{
    log_error("%s", what);
    l->broken = 1;
    return NULL;
}

json_t *
front_link_ask(struct front_link *l, json_t *req, const char **code, char *msg, size_t msglen)
{
    int64_t deadline = msclock_mono() + l->timeout_ms;
    char *s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);

    *code = "unavailable";
    snprintf(msg, msglen, "the daemon did not answer in %d ms", l->timeout_ms);
    if (s == NULL) {
        *code = "internal";
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    l->seq++;
    int rc = link_send(l, s, strlen(s), deadline);
    free(s);
    if (rc < 0) {
        if (errno == EPROTO)
            return link_broken(l, "outbox counters are corrupt");
        log_warn("master did not take request %llu: %s", (unsigned long long)l->seq,
                 strerror(errno));
        return NULL;
    }

    for (;;) {
        struct rec r;
        if (ring_pop(l->inbox, &r) == 0) {
            if (rec_check(&r, proto_rules_to_ctl) < 0) {
                log_error("bad record from the master (type %#x, len %u)", r.type, r.len);
                l->broken = 1;
                return NULL;
            }
            int k = msg_asm_feed(&l->asm_, &r);
            if (k < 0)
                return link_broken(l, "broken reply from the master");
            if (k == 0)
                continue;
            if (l->asm_.job != l->seq && l->asm_.job != 0) {
                log_warn("dropping a late reply to request %llu", (unsigned long long)l->asm_.job);
                continue;
            }
            json_error_t jerr;
            json_t *rep = json_loadb((const char *)l->asm_.buf, l->asm_.len, 0, &jerr);
            if (rep == NULL || !json_is_object(rep) ||
                !json_is_boolean(json_object_get(rep, "ok"))) {
                log_warn("the master's reply is not a JSON object with \"ok\": %.200s",
                         (const char *)l->asm_.buf);
                json_decref(rep);
                *code = "internal";
                snprintf(msg, msglen, "malformed reply from the daemon");
                return NULL;
            }
            return rep;
        }
        if (errno == EPROTO)
            return link_broken(l, "inbox counters are corrupt");
        int64_t left = deadline - msclock_mono();
        if (left <= 0 || stopped(l)) {
            log_warn("no reply from the master to request %llu in %d ms",
                     (unsigned long long)l->seq, l->timeout_ms);
            return NULL;
        }
        if (ring_wait_data(l->inbox, (int)left) < 0 && errno == EPROTO)
            return link_broken(l, "inbox counters are corrupt");
    }
}
