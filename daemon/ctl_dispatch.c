/*
 * ctl_dispatch.c - what ctl does with one complete request line: refuse a
 * client that may not use hlsd, parse the line (ctl_request.c), stamp who
 * asks, and hand it to a submission (ctl_submit.c) or the master
 * (ctl_master.c). Called by the connection (ctl_conn.c); it calls only
 * downwards.
 */
#include "daemon/ctl_int.h"

#include "daemon/log.h"

#include <stdio.h>
#include <unistd.h>

/* ctl_dispatch_drop_fds - descriptors belong to the line they came with:
 * whatever a request did not take is closed, so that none lingers to be
 * taken for the next submission's (or to pile up) */
static void
ctl_dispatch_drop_fds(struct ctl_conn *k)
{
    if (k->passed_fd >= 0)
        close(k->passed_fd);
    k->passed_fd = -1;
    k->fds_truncated = 0;
    ctl_options_close_fds(k);
}

/* ctl_dispatch - one request line: refused, parsed, and handed to the
 * submission or to the master */
void
ctl_dispatch(struct ctl *c, struct ctl_conn *k, const char *line, size_t len)
{
    struct ctl_error err;

    /* before parsing: a client that may not use us gets nothing else */
    if (!k->allowed) {
        char msg[200];
        snprintf(msg, sizeof(msg), "user %s may not use hlsd (allow_users, allow_groups)", k->user);
        log_warn("refused a request from uid %ld pid %ld: %s", (long)k->uid, (long)k->pid, msg);
        ctl_reply_error(k, "forbidden", msg);
        k->close_after = 1;
        return;
    }
    if (ctl_request_parse(line, len, &k->rq, &err) < 0) {
        log_warn("%s: %s", err.code, err.message);
        ctl_reply_error(k, err.code, err.message);
        if (err.close)
            k->close_after = 1;
        ctl_dispatch_drop_fds(k);
        return;
    }
    /* who asks, for the master: set here, over anything the client sent */
    json_object_set_new(k->rq.fwd, "client", ctl_access_client(k));
    if (k->rq.cmd == CTL_CMD_SUBMIT) {
        ctl_submit_start(c, k);
        if (k->state != CONN_INGEST)
            ctl_dispatch_drop_fds(k);
        return;
    }
    ctl_dispatch_drop_fds(k);
    ctl_master_forward(c, k, k->rq.fwd);
    ctl_request_free(&k->rq);
}
