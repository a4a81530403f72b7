/*
 * ctl_master.c - ctl's round trip to the master, over the link every front
 * shares (front_link.c): a link the master broke ends ctl (EXIT_PROTO).
 */
#include "daemon/ctl_int.h"

#include "daemon/log.h"

#include <stdio.h>

/* ctl_master_ask - one request to the master and its reply (an object with
 * a boolean "ok"), or NULL with err filled. */
json_t *
ctl_master_ask(struct ctl *c, json_t *req, struct ctl_error *err)
{
    json_t *rep = front_link_ask(&c->link, req, &err->code, err->message, sizeof(err->message));

    if (c->link.broken)
        c->exit_code = EXIT_PROTO;
    return rep;
}

/* ctl_master_forward - ask and relay the answer (or our error) to the client */
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
