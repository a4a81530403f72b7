/*
 * ctl_master.c - the round trip to the master: a request as one message
 * (all fragments or none) and the reply that carries its sequence number.
 */
#include "daemon/ctl_int.h"

#include "daemon/log.h"
#include "ipc/proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- the master ----------------------------------------------------- */

/* ctl_send - all fragments or none: wait until the whole message fits, so
 * that a timeout never leaves half a message in the ring */
static int
ctl_master_send(struct ctl *c, const char *buf, size_t len, int64_t deadline)
{
    size_t nfrag = len == 0 ? 1 : (len + REC_BODY - 1) / REC_BODY;
    uint32_t cap = ring_capacity(c->outbox);

    while (nfrag <= cap) {
        ssize_t pend = ring_pending(c->outbox);
        if (pend < 0)
            return -1;
        if (cap - (size_t)pend >= nfrag)
            break;
        int64_t left = deadline - msclock_mono();
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
    int64_t left = deadline - msclock_mono();
    return msg_send(c->outbox, PROTO_CTL_REQ, c->seq, buf, len, left > 10 ? (int)left : 10);
}

/* ctl_ask - one request to the master and its reply (an object with a
 * boolean "ok"), or NULL with err filled. */
json_t *
ctl_master_ask(struct ctl *c, json_t *req, struct ctl_error *err)
{
    int64_t deadline = msclock_mono() + CTL_REPLY_TIMEOUT;
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
    int rc = ctl_master_send(c, s, strlen(s), deadline);
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
        int64_t left = deadline - msclock_mono();
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
void
ctl_master_forward(struct ctl *c, struct ctl_conn *k, json_t *req)
{
    struct ctl_error err;
    json_t *rep = ctl_master_ask(c, req, &err);

    if (rep == NULL) {
        ctl_reply_error(k, err.code, err.message);
        return;
    }
    ctl_reply_json(k, rep);
    json_decref(rep);
}

/* --- submissions ------------------------------------------------------ */
