/*
 * ctl_request.h - parsing and validation of one client request line into
 * the normalised JSON the master understands. Pure functions: no I/O, no
 * logging, so every hostile input can be tested in isolation.
 */
#ifndef HLSD_DAEMON_CTL_REQUEST_H
#define HLSD_DAEMON_CTL_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum ctl_cmd {
    CTL_CMD_PING,
    CTL_CMD_STATUS,
    CTL_CMD_LIST,
    CTL_CMD_CANCEL,
    CTL_CMD_RETRY,
    CTL_CMD_WORKERS,
    CTL_CMD_STATS,
    CTL_CMD_SUBMIT,
    CTL_CMD_DELETE,
    CTL_CMD_METRICS,
};

#define CTL_URL_MAX      2047 /* an input URL (store_job.input_url) */
#define CTL_NOTIFY_MAX   1023 /* a notify URL (store_job.notify_url) */
#define CTL_METADATA_MAX 4096 /* a job's metadata object, as compact JSON */

/* an error to send back: code is a static string ("bad_request", ...) */
struct ctl_error {
    const char *code;
    char message[256];
    int close; /* refused submit announced inline bytes: the stream is lost */
};

/* caption files one submission may carry (descriptors after the input's) */
#define CTL_MAX_CAPTIONS 8

struct ctl_request {
    enum ctl_cmd cmd;
    json_t *fwd; /* the normalised request; submit: without token/input */
    /* submit: the conversion's options for the job's spool (options.json):
     * "audio", "first_variant", "subtitles" [{"language","name"}]; NULL
     * when none was given */
    json_t *options;
    int n_captions;
    char input[256]; /* submit: sanitized base name of the input */
    int inline_size; /* submit: the bytes follow the line on the socket */
    uint64_t size;   /* submit with inline_size: exactly this many bytes */
    int is_url;      /* submit: the input is a URL a worker fetches (fwd has it) */
};

/* ctl_request_parse - line (len bytes, no newline) into rq. Returns 0, or -1
 * with err filled (rq then owns nothing). */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *rq, struct ctl_error *err);
void ctl_request_free(struct ctl_request *rq);

/* ctl_request_sanitize_name - the base name of a client-supplied path, made
 * safe to store and show: control characters and anything but
 * [A-Za-z0-9._+-], space and UTF-8 become '_', leading dots are dropped,
 * truncated to outlen-1 bytes on a character boundary; "input" if empty. */
void ctl_request_sanitize_name(const char *name, char *out, size_t outlen);

/* validators, exposed for tests */
int ctl_request_ladder_ok(const char *s);
int ctl_request_prefix_ok(const char *s);
int ctl_request_language_ok(const char *s);
int ctl_request_first_ok(const char *s);
/* ctl_request_is_url - the input names a URL (http://, https://, s3://) */
int ctl_request_is_url(const char *s);
/* ctl_request_url_ok - an input URL: one of those schemes, a host (or
 * bucket and key), at most CTL_URL_MAX bytes of printable ASCII */
int ctl_request_url_ok(const char *s);
/* ctl_request_notify_ok - a webhook URL: http:// or https://, at most
 * CTL_NOTIFY_MAX bytes of printable ASCII */
int ctl_request_notify_ok(const char *s);
/* ctl_request_metadata_text - v as compact JSON into out (cap bytes); -1
 * if v is not an object or its text is over CTL_METADATA_MAX bytes */
int ctl_request_metadata_text(json_t *v, char *out, size_t cap);

#endif
