/*
 * http_int.h - the HTTP process's files among themselves: its state, one
 * request's context, and the calls between its concerns (http.c the
 * process and the server; http_route.c requests to endpoints;
 * http_upload.c bodies into the spool; http_reply.c responses and error
 * statuses; http_auth.c bearer tokens; http_metrics.c the Prometheus
 * text). Nothing outside daemon/http*.c includes this.
 */
#ifndef HLSD_DAEMON_HTTP_INT_H
#define HLSD_DAEMON_HTTP_INT_H

#include "daemon/ctl_ingest.h"
#include "daemon/ctl_request.h"
#include "daemon/front_link.h"
#include "daemon/http.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_JSON_MAX     65536u     /* a JSON request body, as a socket request line */
#define HTTP_MAX_CONNS    256        /* more are refused by the server at accept */
#define HTTP_IDLE_TIMEOUT 60         /* seconds a connection may send nothing */
#define HTTP_CONN_MEMORY  (1u << 20) /* per connection: headers and read buffer */
/* the read buffer grows by this much, for large reads of an upload
 * (pages are touched only when a body fills them) */
#define HTTP_CONN_INCREMENT (256u << 10)
#define HTTP_REPLY_TIMEOUT  5000            /* ms the master has to answer */
#define HTTP_HEALTH_TIMEOUT 2000            /* ms, for /healthz */
#define HTTP_INCOMING       "http-incoming" /* <spool>/http-incoming/<token>/ */
#define HTTP_MAX_TOKENS     64

struct http {
    const struct config *cfg;
    shmseg_t *seg;
    struct front_link link;
    int incoming_http; /* <spool>/http-incoming: uploads being streamed */
    int incoming;      /* <spool>/incoming: finished ones, for the master */
    int exit_code;     /* >= 0: leave the loop with it */
    /* bearer tokens (http_auth.c) */
    char *tokens[HTTP_MAX_TOKENS];
    int ntokens;
    int64_t tokens_mtime_ns; /* the file's, to reload it when it changes */
    int64_t tokens_checked;  /* monotonic ms of the last look */
    uid_t uid;               /* who the daemon runs as: HTTP clients act as it */
    char user[64];
};

enum http_body { BODY_NONE, BODY_JSON, BODY_UPLOAD };

/* one request, from its first call to MHD_OPTION_NOTIFY_COMPLETED */
struct http_req {
    enum http_body body;
    int started;  /* first() has seen it */
    int answered; /* a response is queued */
    /* BODY_JSON */
    char *buf;
    size_t len, cap;
    int over; /* more than HTTP_JSON_MAX */
    /* BODY_UPLOAD */
    struct ctl_request rq;
    struct ctl_ingest ig;
    int ingesting;    /* ig holds a directory in http-incoming */
    int failed;       /* refused: nothing more is written */
    uint64_t flushed; /* bytes whose writeback has been started */
    /* POST /v1/jobs: a body may already be on its way */
    int in_flight; /* a refusal waits for the body's end (http_route_refuse) */
    int deferred;  /* a refusal is waiting: the body is read and dropped */
    char err_code[32];
    char err_msg[512];
    uint64_t discarded;
};

extern struct http H;

/* http_route.c: the access handler */
enum MHD_Result http_route(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                           const char *version, const char *data, size_t *data_size,
                           void **req_cls);
/* http_route_client - {"uid","user","admin"} for the master: an HTTP
 * client acts as the daemon's own user */
json_t *http_route_client(void);
/* http_route_refuse - refuse request r: at once, or, when its body may be
 * on its way, once the body has been read and dropped */
enum MHD_Result http_route_refuse(struct MHD_Connection *c, struct http_req *r, const char *code,
                                  const char *msg);
/* http_route_ask - a request to the master (NULL: the link failed, and a
 * reply has been queued) */
json_t *http_route_ask(struct MHD_Connection *c, json_t *req);

/* http_upload.c */
enum MHD_Result http_upload_start(struct MHD_Connection *c, struct http_req *r);
enum MHD_Result http_upload_data(struct MHD_Connection *c, struct http_req *r, const char *data,
                                 size_t *size);
enum MHD_Result http_upload_end(struct MHD_Connection *c, struct http_req *r);
void http_upload_abort(struct http_req *r);

/* http_reply.c: the bottom, calling nothing else of http */
int http_reply_status(const char *code);
enum MHD_Result http_reply_json(struct MHD_Connection *c, unsigned status, json_t *body,
                                const char *location);
enum MHD_Result http_reply_error(struct MHD_Connection *c, const char *code, const char *message);
enum MHD_Result http_reply_errorf(struct MHD_Connection *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* http_reply_master - the master's error reply {"ok":false,"error":{...}}
 * as an HTTP error */
enum MHD_Result http_reply_master(struct MHD_Connection *c, json_t *rep);
enum MHD_Result http_reply_text(struct MHD_Connection *c, unsigned status, const char *type,
                                char *text, size_t len);

/* http_tokens.c */
int http_tokens_load(const char *path, char **tokens, int *n, char *err, size_t errlen);
void http_tokens_free(char **tokens, int *n);
/* http_auth.c */
/* http_auth_ok - the request carries a valid bearer token (or none is
 * configured) */
int http_auth_ok(struct MHD_Connection *c);

/* http_metrics.c - the master's metrics reply as Prometheus text (malloc'd) */
char *http_metrics_text(json_t *metrics, size_t *len);

#endif
