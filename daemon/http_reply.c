/*
 * http_reply.c - what goes back to an HTTP client: a JSON body, or an
 * error {"error":{"code","message"}} whose status follows from the
 * socket protocol's error code (docs/http.md). The bottom of the HTTP
 * process: it calls nothing else of it. Messages are the master's or
 * ours, written for users; no internal name is ever put in one.
 */
#include "daemon/http_int.h"

#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *code;
    unsigned status;
} statuses[] = {
    {"bad_request", 400},     {"bad_input", 400},   {"unauthorized", 401},
    {"forbidden", 403},       {"not_found", 404},   {"method_not_allowed", 405},
    {"conflict", 409},        {"too_large", 413},   {"unsupported_media_type", 415},
    {"queue_full", 429},      {"internal", 500},    {"io_error", 500},
    {"not_implemented", 501}, {"unavailable", 503}, {"busy", 503},
};

int
http_reply_status(const char *code)
{
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        if (strcmp(code, statuses[i].code) == 0)
            return (int)statuses[i].status;
    return 500;
}

/* queue - text (malloc'd, taken over) as the response */
static enum MHD_Result
queue(struct MHD_Connection *c, unsigned status, const char *type, char *text, size_t len,
      const char *location)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);

    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    if (status != 204)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"hlsd\"");
    if (status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST, DELETE");
    if (status == 429 || status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "5");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result
http_reply_text(struct MHD_Connection *c, unsigned status, const char *type, char *text, size_t len)
{
    return queue(c, status, type, text, len, NULL);
}

/* http_reply_json - body is consumed (NULL: out of memory) */
enum MHD_Result
http_reply_json(struct MHD_Connection *c, unsigned status, json_t *body, const char *location)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(body);
    if (text == NULL) {
        static const char oom[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        if ((text = strdup(oom)) == NULL)
            return MHD_NO;
        status = 500;
        location = NULL;
    }
    size_t len = strlen(text);
    char *nl = realloc(text, len + 2); /* a newline at the end, for a terminal */
    if (nl != NULL) {
        text = nl;
        text[len++] = '\n';
        text[len] = '\0';
    }
    return queue(c, status, "application/json", text, len, location);
}

enum MHD_Result
http_reply_error(struct MHD_Connection *c, const char *code, const char *message)
{
    json_t *o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);

    if (o == NULL) {
        /* the message quoted client bytes cut mid-character: keep ASCII */
        char ascii[512];
        size_t i;
        for (i = 0; message[i] && i + 1 < sizeof(ascii); i++)
            ascii[i] = (unsigned char)message[i] < 0x80 ? message[i] : '?';
        ascii[i] = '\0';
        o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", ascii);
    }
    return http_reply_json(c, (unsigned)http_reply_status(code), o, NULL);
}

enum MHD_Result
http_reply_errorf(struct MHD_Connection *c, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_reply_error(c, code, msg);
}

enum MHD_Result
http_reply_master(struct MHD_Connection *c, json_t *rep)
{
    json_t *e = json_object_get(rep, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));

    if (code == NULL)
        return http_reply_error(c, "internal", "malformed reply from the daemon");
    if (strcmp(code, "unknown_command") == 0)
        return http_reply_error(c, "not_implemented", "this daemon does not support this yet");
    return http_reply_error(c, code, msg ? msg : code);
}
