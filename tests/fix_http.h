/*
 * fix_http.h - fixtures for the HTTP API's black-box tests: the real
 * daemon (tests/fix_daemon.h) with [http] listen on a free loopback port,
 * and curl as the client (the status, the body parsed as JSON, the
 * headers), so that what is tested is what a user's curl sees.
 */
#ifndef HLSD_TESTS_FIX_HTTP_H
#define HLSD_TESTS_FIX_HTTP_H

#include "tests/fix_daemon.h"

#include <jansson.h>
#include <stddef.h>

struct fix_http {
    struct fix_daemon d;
    int port;
    char base[64];   /* http://127.0.0.1:PORT */
    char token[128]; /* sent as a bearer token when not empty */
    char hdrs[700];  /* the last response's headers (a file) */
    char body[700];  /* the last response's body (a file) */
};

/* fix_http_port - a loopback TCP port free at the time of the call */
int fix_http_port(void);

/* fix_http_init - fix_daemon_init (file output) and a configuration with
 * cw convert and uw upload workers, daemon_extra in [daemon] and
 * http_extra in [http] (after listen) */
void fix_http_init(struct fix_http *h, const char *name, unsigned cw, unsigned uw,
                   const char *daemon_extra, const char *http_extra);

/* fix_http_start - fix_daemon_start, then wait until /healthz answers 200
 * (10 s at most); 0 or -1 */
int fix_http_start(struct fix_http *h);

/* fix_http_curl - curl -sS ARGS BASE+path (with the bearer token, if
 * any); the HTTP status, 0 if there was no answer; the body is in
 * h->body, the headers in h->hdrs */
int fix_http_curl(struct fix_http *h, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fix_http_json - the last body parsed (a new reference, or NULL) */
json_t *fix_http_json(struct fix_http *h);

/* fix_http_header - the last response's header `name` (case-insensitive)
 * into out; 1 if found */
int fix_http_header(struct fix_http *h, const char *name, char *out, size_t cap);

/* fix_http_error - the last body's error code ("" if none), static */
const char *fix_http_error(struct fix_http *h);

/* fix_http_upload - POST the file as the body (Content-Type video/mp4),
 * query the query string ("" for none); the status, *id the new job's id
 * (or -1) */
int fix_http_upload(struct fix_http *h, const char *file, const char *query, long long *id);

/* fix_http_wait_state - poll GET /v1/jobs/ID until its state is `state`
 * (NULL: any terminal state); the job, or NULL at the deadline */
json_t *fix_http_wait_state(struct fix_http *h, long long id, const char *state, int timeout_ms);

#endif
