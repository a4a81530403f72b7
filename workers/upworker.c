/*
 * upworker.c - publishes one object at a time for the master, and runs
 * the other network requests that must never run in the master or a
 * front: fetching an input named by URL (upworker_fetch.c) and POSTing a
 * webhook (upworker_notify.c).
 *
 * One storage handle (one kept-alive curl handle for S3) for the life of
 * the process. Each PUT, DELETE, FETCH or NOTIFY is answered with exactly
 * one result: the class (ok, retryable, permanent), the HTTP status,
 * Retry-After and the ETag; the master decides about retries. Error texts
 * come from the storage library or name the URL without its credentials
 * or query, never a secret.
 */
#include "workers/upworker_int.h"

#include "ipc/proto.h"
#include "workers/exitcode.h"
#include "workers/storage.h"
#include "workers/wlog.h"
#include "workers/worker.h"

#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

void
upworker_reply(worker_t *w, uint64_t job, int rc, const struct storage_result *r)
{
    struct {
        struct proto_up_result h;
        char text[sizeof(r->error)];
    } m;
    size_t tlen = rc == 0 ? 0 : strnlen(r->error, sizeof(r->error) - 1);

    memset(&m.h, 0, sizeof(m.h));
    m.h.cls = rc == 0 ? PROTO_UP_OK
                      : (r->cls == STORAGE_RETRYABLE ? PROTO_UP_RETRYABLE : PROTO_UP_PERMANENT);
    m.h.http_status = (int32_t)r->http_status;
    m.h.retry_after_ms = r->retry_after_ms;
    snprintf(m.h.etag, sizeof(m.h.etag), "%s", rc == 0 ? r->etag : "");
    memcpy(m.text, r->error, tlen);
    worker_send(w, PROTO_UP_RESULT, job, &m, sizeof(m.h) + tlen);
}

static void
on_message(void *ctx, worker_t *w, uint16_t type, uint64_t job, const void *body, size_t len)
{
    struct up *u = ctx;
    struct storage_result r;
    static char buf[64 * 1024];

    if (type == PROTO_UP_CANCEL) { /* read by a fetch's progress (worker_pump) */
        u->cancel_job = job;
        return;
    }
    if (u->busy) {
        /* the master sends one request per lease: a second one while this
         * one runs is garbage */
        wlog_error("job %llu: request type 0x%04x while another runs", (unsigned long long)job,
                   type);
        _exit(EXIT_PROTO);
    }
    memset(&r, 0, sizeof(r));
    if (len >= sizeof(buf)) {
        snprintf(r.error, sizeof(r.error), "request of %zu bytes is too long", len);
        r.cls = STORAGE_PERMANENT;
        upworker_reply(w, job, -1, &r);
        return;
    }
    memcpy(buf, body, len);
    buf[len] = '\0';
    if (type == PROTO_UP_PUT) {
        char *nl = strchr(buf, '\n');
        if (nl == NULL) {
            snprintf(r.error, sizeof(r.error), "malformed put request");
            r.cls = STORAGE_PERMANENT;
            upworker_reply(w, job, -1, &r);
            return;
        }
        *nl = '\0';
        int rc = storage_put(u->st, buf, nl + 1, &r);
        if (rc < 0)
            wlog_warn("job %llu: put %s: %s (%s)", (unsigned long long)job, nl + 1, r.error,
                      storage_class_name(r.cls));
        upworker_reply(w, job, rc, &r);
    } else if (type == PROTO_UP_FETCH) {
        u->busy = 1;
        u->cancel_job = 0;
        upworker_fetch(u, w, job, buf);
        u->busy = 0;
    } else if (type == PROTO_UP_NOTIFY) {
        upworker_notify(u, w, job, buf, len);
    } else if (type == PROTO_UP_DELETE) {
        int rc = storage_delete(u->st, buf, &r);
        if (rc < 0)
            wlog_warn("job %llu: delete %s: %s", (unsigned long long)job, buf, r.error);
        upworker_reply(w, job, rc, &r);
    }
}

int
upworker_main(const struct upworker_settings *set, shmseg_t *seg)
{
    const struct storage_config *sc = &set->storage;
    struct up u = {.set = set};
    char err[512];

    if (storage_global_init() < 0) {
        wlog_error("curl_global_init failed");
        return EXIT_ENV;
    }
    if ((u.st = storage_open(sc, err, sizeof(err))) == NULL) {
        wlog_error("storage_open: %s", err);
        return EXIT_CONFIG;
    }
    struct worker_ops ops = {
        .rules = proto_rules_to_upload,
        .on_message = on_message,
        .ctx = &u,
    };
    int code = worker_run(seg, &ops);
    if (u.web)
        curl_easy_cleanup(u.web);
    storage_close(u.st);
    return code;
}
