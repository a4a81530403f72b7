/*
 * http_upload.c - POST /v1/jobs with the video as the body: the options
 * come as query parameters (checked by the socket protocol's parser), the
 * master is asked first whether the job would be admitted (so that a big
 * input is not received only to be refused with 429), then the body is
 * written chunk by chunk, as the server hands it over, into
 * <spool>/http-incoming/<token>/input with ctl's ingest functions (never
 * held in memory, never more than max_input_size). At the end the input
 * is fsynced, moved into <spool>/incoming/ and submitted exactly as ctl
 * does; the client gets 201 only once the master has stored the job.
 *
 * http-incoming/ is this process's own: a new HTTP process empties it, so
 * an upload cut short by a crash leaves nothing behind, and ctl's own
 * sweep of incoming/ never removes an upload still streaming.
 */
#include "daemon/http_int.h"

#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* writeback is started every this many bytes of an upload */
#define WRITEBACK_STEP (8ull << 20)

static const char *const params[] = {
    "name",          "ladder", "segment_seconds", "prefix",   "audio",
    "first_variant", "key",    "notify",          "metadata", NULL};

struct qp {
    json_t *obj;
    char bad[80];
};

static enum MHD_Result
param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct qp *q = cls;
    int known = 0;

    (void)kind;
    for (const char *const *p = params; *p; p++)
        known |= strcmp(key, *p) == 0;
    json_t *v = known && value ? json_string(value) : NULL; /* NULL: not UTF-8 */
    if (v == NULL || json_object_get(q->obj, key) != NULL) {
        json_decref(v);
        snprintf(q->bad, sizeof(q->bad), "%.64s", key);
        return MHD_NO;
    }
    json_object_set_new(q->obj, key, v);
    return MHD_YES;
}

/* request - the query parameters as a socket submit request; NULL with
 * why in msg when one is unknown, repeated or malformed */
static json_t *
request(struct MHD_Connection *c, char *msg, size_t cap)
{
    struct qp q = {json_object(), ""};

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, param, &q);
    if (q.bad[0]) {
        snprintf(msg, cap,
                 "query parameter \"%s\" is unknown, repeated, empty or not UTF-8 (known: name, "
                 "ladder, segment_seconds, prefix, audio, first_variant, key, notify, metadata)",
                 q.bad);
        json_decref(q.obj);
        return NULL;
    }
    json_t *o = q.obj;
    const char *seg = json_string_value(json_object_get(o, "segment_seconds"));
    if (seg) {
        char *end;
        double d = strtod(seg, &end);
        if (*seg == '\0' || *end != '\0') {
            snprintf(msg, cap, "\"segment_seconds\" must be a number");
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "segment", json_real(d));
        json_object_del(o, "segment_seconds");
    }
    const char *meta = json_string_value(json_object_get(o, "metadata"));
    if (meta) {
        json_error_t jerr;
        json_t *m = json_loads(meta, JSON_REJECT_DUPLICATES, &jerr);
        if (m == NULL) {
            snprintf(msg, cap, "\"metadata\" must be a JSON object");
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "metadata", m);
    }
    json_t *name = json_object_get(o, "name");
    json_object_set_new(o, "input", name ? json_incref(name) : json_string("upload"));
    json_object_del(o, "name");
    json_object_set_new(o, "cmd", json_string("submit"));
    return o;
}

static enum MHD_Result
refuse(struct MHD_Connection *c, struct http_req *r, const char *code, const char *msg)
{
    log_warn("upload of \"%s\" refused: %s", r->rq.input[0] ? r->rq.input : "?", msg);
    return http_route_refuse(c, r, code, msg);
}

enum MHD_Result
http_upload_start(struct MHD_Connection *c, struct http_req *r)
{
    uint64_t max = H.cfg->daemon.max_input_bytes ? H.cfg->daemon.max_input_bytes : UINT64_MAX;
    uint64_t expect = UINT64_MAX;
    struct ctl_error err;
    char msg[256];

    json_t *o = request(c, msg, sizeof(msg));
    if (o == NULL)
        return refuse(c, r, "bad_request", msg);
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (line == NULL)
        return refuse(c, r, "internal", "out of memory");
    int bad = ctl_request_parse(line, strlen(line), &r->rq, &err) < 0;
    free(line);
    if (bad)
        return refuse(c, r, err.code, err.message);

    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end != '\0')
            return refuse(c, r, "bad_request", "malformed Content-Length");
        if (n == 0)
            return refuse(c, r, "bad_input", "the input is empty");
        expect = n;
    }
    if (expect != UINT64_MAX && expect > max) {
        snprintf(msg, sizeof(msg), "the input is larger than max_input_size (%llu bytes)",
                 (unsigned long long)max);
        return refuse(c, r, "too_large", msg);
    }

    /* ask first, so that a big input is not received only to be refused */
    json_t *rep =
        http_route_ask(c, json_pack("{s:s, s:o}", "cmd", "admit", "client", http_route_client()));
    if (rep == NULL) {
        r->failed = r->answered = 1; /* 503, queued by http_route_ask */
        return MHD_YES;
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        /* the master's refusal (queue_full: 429), answered like ours */
        json_t *e = json_object_get(rep, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *why = json_string_value(json_object_get(e, "message"));
        char cbuf[32];
        snprintf(cbuf, sizeof(cbuf), "%s", code ? code : "internal");
        snprintf(msg, sizeof(msg), "%s", why ? why : "refused by the daemon");
        json_decref(rep);
        return refuse(c, r, cbuf, msg);
    }
    json_decref(rep);

    if (ctl_ingest_begin(&r->ig, H.incoming_http, max, expect) < 0) {
        log_error("creating an input in %s/%s: %s", H.cfg->daemon.spool_dir, HTTP_INCOMING,
                  strerror(errno));
        snprintf(msg, sizeof(msg), "creating the input in the spool: %s", strerror(errno));
        return refuse(c, r, "io_error", msg);
    }
    r->ingesting = 1;
    if (r->rq.options && ctl_options_save(r->ig.dirfd, r->rq.options, &err) < 0) {
        http_upload_abort(r);
        return refuse(c, r, err.code, err.message);
    }
    return MHD_YES;
}

/* fail - stop writing: the rest of the body is dropped, the answer waits
 * for its end */
static void
fail(struct MHD_Connection *c, struct http_req *r, const char *code, const char *msg)
{
    http_upload_abort(r);
    r->in_flight = 1;
    refuse(c, r, code, msg);
}

enum MHD_Result
http_upload_data(struct MHD_Connection *c, struct http_req *r, const char *data, size_t *size)
{
    size_t n = *size;
    char msg[256];

    *size = 0;
    if (n > ctl_ingest_remaining(&r->ig)) {
        fail(c, r, "bad_request", "the body is longer than its Content-Length");
        return MHD_YES;
    }
    if (ctl_ingest_write(&r->ig, data, n) >= 0) {
        /* start the disk writes while the body still arrives, so that the
         * fsync at the end (before the 201) has little left to wait for */
        if (r->ig.copied - r->flushed >= WRITEBACK_STEP) {
            sync_file_range(r->ig.fd, (off_t)r->flushed, (off_t)(r->ig.copied - r->flushed),
                            SYNC_FILE_RANGE_WRITE);
            r->flushed = r->ig.copied;
        }
    } else {
        int e = errno;
        if (e == EFBIG)
            snprintf(msg, sizeof(msg), "the input is larger than max_input_size (%llu bytes)",
                     (unsigned long long)r->ig.limit);
        else
            snprintf(msg, sizeof(msg), "writing the input into the spool: %s", strerror(e));
        fail(c, r, e == EFBIG ? "too_large" : "io_error", msg);
    }
    return MHD_YES;
}

void
http_upload_abort(struct http_req *r)
{
    if (r->ingesting)
        ctl_ingest_abort(&r->ig, H.incoming_http);
    r->ingesting = 0;
}

/* http_upload_end - the whole body is in: durable, into incoming/, then
 * the master stores the job; only its answer goes to the client */
enum MHD_Result
http_upload_end(struct MHD_Connection *c, struct http_req *r)
{
    char msg[300];

    r->in_flight = 0; /* the body is over: every answer goes now */
    if (r->ig.expect != UINT64_MAX && r->ig.copied < r->ig.expect) {
        snprintf(msg, sizeof(msg), "the input ended after %llu of %llu bytes",
                 (unsigned long long)r->ig.copied, (unsigned long long)r->ig.expect);
        http_upload_abort(r);
        return refuse(c, r, "bad_input", msg);
    }
    if (r->ig.copied == 0) {
        http_upload_abort(r);
        return refuse(c, r, "bad_input", "the input is empty");
    }
    char token[sizeof(r->ig.token)];
    snprintf(token, sizeof(token), "%s", r->ig.token);
    if (ctl_ingest_finish(&r->ig, H.incoming_http) < 0 ||
        renameat(H.incoming_http, token, H.incoming, token) < 0 || fsync(H.incoming) < 0 ||
        fsync(H.incoming_http) < 0) {
        log_error("saving incoming/%s: %s", token, strerror(errno));
        snprintf(msg, sizeof(msg), "saving the input in the spool: %s", strerror(errno));
        http_upload_abort(r);
        ctl_ingest_remove(H.incoming, token);
        return refuse(c, r, "io_error", msg);
    }
    /* from here the directory is in incoming/: the master takes it or we
     * remove it */
    r->ingesting = 0;
    json_t *fwd = json_deep_copy(r->rq.fwd);
    json_object_set_new(fwd, "token", json_string(token));
    json_object_set_new(fwd, "input", json_string(r->rq.input));
    json_object_set_new(fwd, "client", http_route_client());
    json_t *rep = http_route_ask(c, fwd);
    json_decref(fwd);
    int ok = rep && json_is_true(json_object_get(rep, "ok"));
    if (!ok)
        ctl_ingest_remove(H.incoming, token);
    if (rep == NULL)
        return MHD_YES; /* 503: the job may or may not exist */
    enum MHD_Result rc;
    if (ok) {
        json_t *job = json_incref(json_object_get(rep, "job"));
        long long id = (long long)json_integer_value(json_object_get(job, "id"));
        log_info("submitted \"%s\" (%llu bytes) over HTTP as job %lld", r->rq.input,
                 (unsigned long long)r->ig.copied, id);
        snprintf(msg, sizeof(msg), "/v1/jobs/%lld", id);
        rc = http_reply_json(c, 201, job, msg);
    } else {
        rc = http_reply_master(c, rep);
    }
    json_decref(rep);
    return rc;
}
