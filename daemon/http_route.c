/*
 * http_route.c - one HTTP request onto the socket protocol: the method
 * and path pick the request to the master ({"cmd":"status","id":N}, ...),
 * query parameters and JSON bodies are checked by the socket protocol's
 * own parser (ctl_request.c), so that both APIs accept and refuse the
 * same things with the same messages, and the master's reply becomes the
 * response (docs/http.md).
 *
 *   GET    /healthz                200 while the master answers, else 503
 *   GET    /metrics                Prometheus text (http_metrics.c)
 *   GET    /v1/jobs                list: ?state=&limit=&after=
 *   POST   /v1/jobs                submit: a JSON body, or the video itself
 *   GET    /v1/jobs/ID             status
 *   DELETE /v1/jobs/ID             delete
 *   POST   /v1/jobs/ID/cancel      cancel
 *   POST   /v1/jobs/ID/retry       retry
 */
#include "daemon/http_int.h"

#include "daemon/log.h"
#include "daemon/version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

json_t *
http_route_client(void)
{
    return json_pack("{s:I, s:s, s:b}", "uid", (json_int_t)H.uid, "user", H.user, "admin", 1);
}

json_t *
http_route_ask(struct MHD_Connection *c, json_t *req)
{
    const char *code;
    char msg[256];
    json_t *rep = req ? front_link_ask(&H.link, req, &code, msg, sizeof(msg)) : NULL;

    if (req == NULL) {
        code = "internal";
        snprintf(msg, sizeof(msg), "out of memory");
    }
    if (rep == NULL)
        http_reply_error(c, code, msg);
    return rep;
}

/* reply_job - the master's reply about one job: the job (201 with its
 * Location for a new one), or the error */
static enum MHD_Result
reply_job(struct MHD_Connection *c, json_t *rep, unsigned status)
{
    if (!json_is_true(json_object_get(rep, "ok")))
        return http_reply_master(c, rep);
    json_t *job = json_object_get(rep, "job");
    if (job == NULL) /* done, and nothing left to show (a delete) */
        return http_reply_text(c, 204, "application/json", NULL, 0);
    char loc[64];
    snprintf(loc, sizeof(loc), "/v1/jobs/%lld",
             (long long)json_integer_value(json_object_get(job, "id")));
    return http_reply_json(c, status, json_incref(job), status == 201 ? loc : NULL);
}

/* ask_job - a request (consumed) whose answer is a job */
static enum MHD_Result
ask_job(struct MHD_Connection *c, json_t *req, unsigned status)
{
    json_t *rep = http_route_ask(c, req);

    json_decref(req);
    if (rep == NULL)
        return MHD_YES;
    enum MHD_Result rc = reply_job(c, rep, status);
    json_decref(rep);
    return rc;
}

/* parse_id - a positive decimal job id, all of s, no sign, no leading zero */
static int64_t
parse_id(const char *s, size_t n)
{
    int64_t v = 0;

    if (n == 0 || n > 18 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* --- query parameters ----------------------------------------------- */

struct args {
    json_t *obj;
    const char *bad; /* a parameter given twice */
};

static enum MHD_Result
collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct args *a = cls;

    (void)kind;
    if (json_object_get(a->obj, key) != NULL) {
        a->bad = key;
        return MHD_NO;
    }
    json_t *v = value ? json_string(value) : json_null();
    if (v == NULL) { /* not UTF-8 */
        a->bad = key;
        return MHD_NO;
    }
    json_object_set_new(a->obj, key, v);
    return MHD_YES;
}

/* query - every query parameter as a JSON string (NULL: one came twice,
 * or is not UTF-8; the reply is queued) */
static json_t *
query(struct MHD_Connection *c)
{
    struct args a = {json_object(), NULL};

    if (a.obj == NULL) {
        http_reply_error(c, "internal", "out of memory");
        return NULL;
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &a);
    if (a.bad) {
        http_reply_errorf(c, "bad_request",
                          "query parameter \"%.64s\" is given twice or is not UTF-8", a.bad);
        json_decref(a.obj);
        return NULL;
    }
    return a.obj;
}

/* number - a query parameter that must be a number, in place */
static int
number(struct MHD_Connection *c, json_t *q, const char *key, int integer)
{
    json_t *v = json_object_get(q, key);
    const char *s = json_string_value(v);
    char *end;

    if (v == NULL)
        return 0;
    if (s == NULL || *s == '\0')
        goto bad;
    errno = 0;
    if (integer) {
        long long n = strtoll(s, &end, 10);
        if (errno || *end != '\0')
            goto bad;
        json_object_set_new(q, key, json_integer(n));
    } else {
        double d = strtod(s, &end);
        if (errno || *end != '\0')
            goto bad;
        json_object_set_new(q, key, json_real(d));
    }
    return 0;
bad:
    http_reply_errorf(c, "bad_request", "\"%s\" must be %s", key,
                      integer ? "an integer" : "a number");
    return -1;
}

/* --- endpoints -------------------------------------------------------- */

static enum MHD_Result
healthz(struct MHD_Connection *c)
{
    json_t *req = json_pack("{s:s}", "cmd", "ping");
    const char *code;
    char msg[256];

    H.link.timeout_ms = HTTP_HEALTH_TIMEOUT;
    json_t *rep = req ? front_link_ask(&H.link, req, &code, msg, sizeof(msg)) : NULL;
    H.link.timeout_ms = HTTP_REPLY_TIMEOUT;
    json_decref(req);
    int ok = rep && json_is_true(json_object_get(rep, "ok"));
    json_decref(rep);
    if (!ok)
        return http_reply_error(c, "unavailable", "the daemon does not answer");
    return http_reply_json(c, 200, json_pack("{s:s, s:s}", "status", "ok", "version", HLSD_VERSION),
                           NULL);
}

static enum MHD_Result
metrics(struct MHD_Connection *c)
{
    json_t *rep = http_route_ask(c, json_pack("{s:s}", "cmd", "metrics"));
    enum MHD_Result rc;
    size_t len;

    if (rep == NULL)
        return MHD_YES;
    if (!json_is_true(json_object_get(rep, "ok"))) {
        rc = http_reply_master(c, rep);
    } else {
        char *text = http_metrics_text(json_object_get(rep, "metrics"), &len);
        rc = text ? http_reply_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len)
                  : http_reply_error(c, "internal", "out of memory");
    }
    json_decref(rep);
    return rc;
}

/* list - GET /v1/jobs?state=&limit=&after=: checked as the socket's list,
 * then "after" (the last id of the previous page) added */
static enum MHD_Result
list(struct MHD_Connection *c)
{
    json_t *q = query(c);
    struct ctl_request rq;
    struct ctl_error err;
    enum MHD_Result rc = MHD_YES;

    if (q == NULL)
        return MHD_YES;
    if (number(c, q, "limit", 1) < 0 || number(c, q, "after", 1) < 0) {
        json_decref(q);
        return MHD_YES;
    }
    json_t *after = json_incref(json_object_get(q, "after"));
    json_object_del(q, "after");
    if (after && json_integer_value(after) <= 0) {
        json_decref(after);
        json_decref(q);
        return http_reply_error(c, "bad_request", "\"after\" must be a job id");
    }
    json_object_set_new(q, "cmd", json_string("list"));
    char *line = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    if (line == NULL || ctl_request_parse(line, strlen(line), &rq, &err) < 0) {
        free(line);
        json_decref(after);
        return line ? http_reply_error(c, err.code, err.message)
                    : http_reply_error(c, "internal", "out of memory");
    }
    free(line);
    if (after)
        json_object_set_new(rq.fwd, "after", after);
    json_object_set_new(rq.fwd, "client", http_route_client());
    json_int_t limit = json_integer_value(json_object_get(rq.fwd, "limit"));
    json_t *rep = http_route_ask(c, rq.fwd);
    ctl_request_free(&rq);
    if (rep == NULL)
        return MHD_YES;
    if (!json_is_true(json_object_get(rep, "ok"))) {
        rc = http_reply_master(c, rep);
    } else {
        json_t *jobs = json_object_get(rep, "jobs");
        size_t n = json_array_size(jobs);
        json_t *last = json_object_get(json_array_get(jobs, n ? n - 1 : 0), "id");
        json_t *next = n > 0 && (json_int_t)n == limit && json_is_integer(last)
                           ? json_integer(json_integer_value(last))
                           : json_null();
        rc = http_reply_json(c, 200, json_pack("{s:O, s:o}", "jobs", jobs, "next_after", next),
                             NULL);
    }
    json_decref(rep);
    return rc;
}

/* job_cmd - status, cancel, retry, delete of job id */
static enum MHD_Result
job_cmd(struct MHD_Connection *c, const char *cmd, int64_t id)
{
    return ask_job(c,
                   json_pack("{s:s, s:I, s:o}", "cmd", cmd, "id", (json_int_t)id, "client",
                             http_route_client()),
                   200);
}

/* url_input - an input the master fetches itself */
static int
url_input(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0 ||
           strncmp(s, "s3://", 5) == 0;
}

/* submit_json - POST /v1/jobs with {"input": URL, ...}: the HTTP names
 * (segment_seconds) become the socket's (segment), the socket's parser
 * checks the rest, and the request goes to the master with the input and
 * every field passed through as the client wrote them */
static enum MHD_Result
submit_json(struct MHD_Connection *c, struct http_req *r)
{
    json_error_t jerr;
    struct ctl_request rq;
    struct ctl_error err;

    if (r->over)
        return http_reply_errorf(c, "too_large", "a JSON body is at most %u bytes", HTTP_JSON_MAX);
    json_t *o = json_loadb(r->buf ? r->buf : "", r->len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL)
        return http_reply_errorf(c, "bad_request", "malformed JSON at column %d: %.120s",
                                 jerr.column, jerr.text);
    if (!json_is_object(o)) {
        json_decref(o);
        return http_reply_error(c, "bad_request", "the body must be a JSON object");
    }
    if (json_object_get(o, "cmd") || json_object_get(o, "size") || json_object_get(o, "segment") ||
        json_object_get(o, "subtitles")) {
        json_decref(o);
        return http_reply_error(c, "bad_request",
                                "unknown field: use input, ladder, segment_seconds, prefix, "
                                "audio, first_variant, key, notify, metadata");
    }
    const char *input = json_string_value(json_object_get(o, "input"));
    if (input == NULL || !url_input(input)) {
        json_decref(o);
        return http_reply_error(c, "bad_request",
                                "\"input\" must be an https://, http:// or s3:// URL; to send "
                                "the video itself, POST it as the body with Content-Type "
                                "video/* or application/octet-stream");
    }
    json_t *seg = json_object_get(o, "segment_seconds");
    if (seg) {
        json_object_set(o, "segment", seg);
        json_object_del(o, "segment_seconds");
    }
    json_object_set_new(o, "cmd", json_string("submit"));
    char *line = json_dumps(o, JSON_COMPACT);
    if (line == NULL || ctl_request_parse(line, strlen(line), &rq, &err) < 0) {
        free(line);
        json_decref(o);
        return line ? http_reply_error(c, err.code, err.message)
                    : http_reply_error(c, "internal", "out of memory");
    }
    free(line);
    /* the input as the client wrote it, and whatever the parser kept */
    json_t *fwd = json_deep_copy(rq.fwd);
    if (json_object_get(fwd, "input") == NULL)
        json_object_set_new(fwd, "input", json_string(input));
    if (rq.options)
        json_object_set(fwd, "options", rq.options);
    json_object_set_new(fwd, "client", http_route_client());
    ctl_request_free(&rq);
    json_decref(o);
    json_t *rep = http_route_ask(c, fwd);
    json_decref(fwd);
    if (rep == NULL)
        return MHD_YES;
    enum MHD_Result rc = reply_job(c, rep, 201);
    json_decref(rep);
    return rc;
}

/* --- the access handler ------------------------------------------------ */

/* after a refusal the rest of a body is read and dropped, so that the
 * client gets the answer; past this much the connection is cut instead */
#define DISCARD_MAX (64ull << 20)

enum MHD_Result
http_route_refuse(struct MHD_Connection *c, struct http_req *r, const char *code, const char *msg)
{
    r->failed = 1;
    if (!r->in_flight) {
        r->answered = 1;
        return http_reply_error(c, code, msg);
    }
    /* closing a connection with unread bytes makes the kernel reset it,
     * and the client may lose the answer: it comes after the body */
    r->deferred = 1;
    snprintf(r->err_code, sizeof(r->err_code), "%s", code);
    snprintf(r->err_msg, sizeof(r->err_msg), "%s", msg);
    return MHD_YES;
}

/* in_flight - the body of this POST may be sent before our answer: no
 * "Expect: 100-continue", and small enough to read in vain */
static int
in_flight(struct MHD_Connection *c)
{
    const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

    if (ex && strcasecmp(ex, "100-continue") == 0)
        return 0;
    if (cl)
        return strtoull(cl, NULL, 10) > 0 && strtoull(cl, NULL, 10) <= DISCARD_MAX;
    return te != NULL;
}

static enum MHD_Result
not_allowed(struct MHD_Connection *c, const char *method, const char *url)
{
    return http_reply_errorf(c, "method_not_allowed", "%.16s is not allowed on %.200s", method,
                             url);
}

/* body_kind - what a POST /v1/jobs carries, by its Content-Type */
static enum http_body
body_kind(struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (t == NULL)
        return BODY_NONE;
    if (strncasecmp(t, "application/json", 16) == 0)
        return BODY_JSON;
    if (strncasecmp(t, "video/", 6) == 0 || strncasecmp(t, "application/octet-stream", 24) == 0)
        return BODY_UPLOAD;
    return BODY_NONE;
}

/* first - a request's headers are in: answer it, or get ready for its body */
static enum MHD_Result
first(struct MHD_Connection *c, struct http_req *r, const char *url, const char *method)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;

    if (strcmp(url, "/healthz") == 0)
        return get ? healthz(c) : not_allowed(c, method, url);
    if (!http_auth_ok(c)) {
        log_warn("refused an HTTP request without a valid bearer token: %.16s %.200s", method, url);
        return http_route_refuse(c, r, "unauthorized",
                                 "a valid \"Authorization: Bearer\" token is needed");
    }
    if (strcmp(url, "/metrics") == 0)
        return get ? metrics(c) : not_allowed(c, method, url);
    if (strcmp(url, "/v1/jobs") == 0) {
        if (get)
            return list(c);
        if (!post)
            return not_allowed(c, method, url);
        r->body = body_kind(c);
        if (r->body == BODY_NONE)
            return http_route_refuse(c, r, "unsupported_media_type",
                                     "POST /v1/jobs takes application/json ({\"input\": URL, "
                                     "...}), or the video as video/* or application/octet-stream");
        if (r->body == BODY_UPLOAD)
            return http_upload_start(c, r);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > HTTP_JSON_MAX)
            return http_route_refuse(c, r, "too_large", "a JSON body is at most 65536 bytes");
        return MHD_YES; /* the JSON body comes next */
    }
    if (strncmp(url, "/v1/jobs/", 9) == 0) {
        const char *p = url + 9, *slash = strchr(p, '/');
        int64_t id = parse_id(p, slash ? (size_t)(slash - p) : strlen(p));
        const char *verb = slash ? slash + 1 : NULL;
        if (id <= 0 || (verb && strcmp(verb, "cancel") != 0 && strcmp(verb, "retry") != 0))
            return http_reply_errorf(c, "not_found", "no such resource: %.200s", url);
        if (verb)
            return post ? job_cmd(c, verb, id) : not_allowed(c, method, url);
        if (get)
            return job_cmd(c, "status", id);
        if (strcmp(method, "DELETE") == 0)
            return job_cmd(c, "delete", id);
        return not_allowed(c, method, url);
    }
    return http_reply_errorf(c, "not_found", "no such resource: %.200s", url);
}

enum MHD_Result
http_route(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *data, size_t *data_size, void **req_cls)
{
    struct http_req *r = *req_cls;

    (void)cls;
    (void)version;
    if (r == NULL) {
        if ((r = calloc(1, sizeof(*r))) == NULL)
            return MHD_NO;
        r->ig.fd = r->ig.dirfd = -1;
        *req_cls = r;
        /* a submission is looked at before its body is read (refused
         * before "100 Continue", admitted before the copy); any other
         * request is answered on the next call, once the whole request is
         * in, which keeps the connection alive for the next one */
        if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/jobs") != 0)
            return MHD_YES;
        r->started = 1;
        r->in_flight = in_flight(c);
        enum MHD_Result rc = first(c, r, url, method);
        if (r->body == BODY_NONE && !r->deferred)
            r->answered = 1; /* answered by first() */
        return rc;
    }
    if (r->deferred && !r->answered) {
        if (*data_size > 0) {
            r->discarded += *data_size;
            *data_size = 0;
            return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        r->answered = 1;
        return http_reply_error(c, r->err_code, r->err_msg);
    }
    if (!r->started) {
        if (*data_size > 0) {
            *data_size = 0; /* a body nobody asked for */
            return MHD_YES;
        }
        r->started = r->answered = 1;
        return first(c, r, url, method);
    }
    if (r->answered) {
        *data_size = 0; /* a body we do not read: the server closes after the reply */
        return MHD_YES;
    }
    if (r->body == BODY_UPLOAD) {
        if (*data_size > 0)
            return http_upload_data(c, r, data, data_size);
        r->answered = 1;
        return http_upload_end(c, r);
    }
    /* BODY_JSON */
    if (*data_size > 0) {
        size_t n = *data_size;
        *data_size = 0;
        if (r->over || r->len + n > HTTP_JSON_MAX) {
            r->over = 1;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = (r->len + n + 1) * 2;
            char *p = realloc(r->buf, cap > HTTP_JSON_MAX + 1 ? HTTP_JSON_MAX + 1 : cap);
            if (p == NULL)
                return MHD_NO;
            r->buf = p;
            r->cap = cap > HTTP_JSON_MAX + 1 ? HTTP_JSON_MAX + 1 : cap;
        }
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        return MHD_YES;
    }
    r->answered = 1;
    return submit_json(c, r);
}
