/*
 * ctl_request.c - from one untrusted request line to a normalised request.
 *
 * Everything a client sends is checked here, once: the type of every field,
 * ranges, and that no unknown field slipped in (a typo such as "segmnet"
 * should be an error, not a silently ignored option). What reaches the
 * master is rebuilt from validated values only, never the client's object,
 * so the master sees a small closed set of shapes. Never logs or exits.
 */
#include "daemon/ctl_request.h"
#include "daemon/ctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define LADDER_MAX  95  /* fits proto_conv_start.ladder[96] */
#define PREFIX_MAX  256 /* S3 keys are 1024 bytes; leave room for the job's */
#define SEGMENT_MIN 1.0
#define SEGMENT_MAX 60.0

static const char *const job_states[] = {"queued", "converting", "uploading",
                                         "done",   "failed",     "canceled"};

static int fail(struct ctl_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct ctl_error *err, const char *code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* ctl_request_ladder_ok - "copy", or HEIGHT:BITRATE[k|M][:CODEC] entries
 * joined by commas (720:2800k,480:1400k:hevc). Only the shape is checked
 * here; the conversion engine owns the meaning (ctl_options.c asks it). */
int
ctl_request_ladder_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > LADDER_MAX)
        return 0;
    if (strcmp(s, "copy") == 0)
        return 1;
    const char *p = s;
    for (;;) {
        unsigned long h = 0, b = 0;
        int hd = 0, bd = 0;
        while (*p >= '0' && *p <= '9' && hd < 5) {
            h = h * 10 + (unsigned long)(*p++ - '0');
            hd++;
        }
        if (hd == 0 || *p++ != ':' || h < 16 || h > 8640)
            return 0;
        while (*p >= '0' && *p <= '9' && bd < 9) {
            b = b * 10 + (unsigned long)(*p++ - '0');
            bd++;
        }
        if (bd == 0 || b == 0)
            return 0;
        if (*p == 'k' || *p == 'K' || *p == 'm' || *p == 'M')
            p++;
        if (*p == ':') {
            size_t c =
                strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            if (c == 0 || c > 7)
                return 0;
            p += 1 + c;
        }
        if (*p == '\0')
            return 1;
        if (*p++ != ',')
            return 0;
    }
}

/* ctl_request_prefix_ok - a key prefix that cannot climb out of the
 * configured URL or produce odd keys: [A-Za-z0-9._/-], no leading slash, no
 * empty segment, no "..". */
int
ctl_request_prefix_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > PREFIX_MAX || s[0] == '/' || strstr(s, "..") || strstr(s, "//"))
        return 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/'))
            return 0;
    }
    return 1;
}

void
ctl_request_sanitize_name(const char *name, char *out, size_t outlen)
{
    const char *slash = strrchr(name, '/');
    const char *p = slash ? slash + 1 : name;
    size_t o = 0;

    if (outlen == 0)
        return;
    while (*p == '.')
        p++;
    for (; *p && o + 1 < outlen; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '+' || c == ' ' || c >= 0x80;
        out[o++] = ok ? (char)c : '_';
    }
    /* never cut a UTF-8 sequence in half (jansson checked the whole) */
    if (*p && o > 0) {
        size_t k = o;
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)out[k - 1] >= 0xC0)
            o = k - 1;
    }
    out[o] = '\0';
    if (o == 0)
        snprintf(out, outlen, "input");
}

/* only_fields - 0 if obj has no key outside the NULL-terminated list */
static int
only_fields(json_t *obj, struct ctl_error *err, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(key, *a) == 0)
                ok = 1;
        if (!ok)
            return fail(err, "bad_request", "unknown field \"%.64s\"", key);
    }
    return 0;
}

static int
get_id(json_t *obj, json_int_t *id, struct ctl_error *err)
{
    json_t *v = json_object_get(obj, "id");

    if (v == NULL)
        return fail(err, "bad_request", "missing field \"id\"");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return fail(err, "bad_request", "\"id\" must be a positive integer");
    *id = json_integer_value(v);
    return 0;
}

/* opt_string - *out = the string at key, NULL when absent or null */
static int
opt_string(json_t *obj, const char *key, const char **out, struct ctl_error *err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, "bad_request", "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

/* ctl_request_language_ok - an RFC 5646 / ISO 639 tag: 2-3 letters, then
 * optional -subtags of 2 to 8 letters or digits ("en", "eng", "pt-BR") */
int
ctl_request_language_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (n < 2 || n > 3 || strlen(s) > 15)
        return 0;
    for (s += n; *s != '\0'; s += n) {
        if (*s != '-')
            return 0;
        s++;
        n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        if (n < 2 || n > 8)
            return 0;
    }
    return 1;
}

/* ctl_request_first_ok - "auto", "lowest", "highest" or a rendition (e.g. "720p") */
int
ctl_request_first_ok(const char *s)
{
    if (strcmp(s, "auto") == 0 || strcmp(s, "lowest") == 0 || strcmp(s, "highest") == 0)
        return 1;
    size_t n = strspn(s, "0123456789");
    return n >= 2 && n <= 4 && s[0] != '0' && strcmp(s + n, "p") == 0;
}

int
ctl_request_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
           strncmp(s, "s3://", 5) == 0;
}

/* url_printable - every byte printable ASCII and no space */
static int
url_printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return 0;
    return 1;
}

int
ctl_request_url_ok(const char *s)
{
    if (!ctl_request_is_url(s) || strlen(s) > CTL_URL_MAX || !url_printable(s))
        return 0;
    const char *rest = strstr(s, "://") + 3;
    if (strncmp(s, "s3://", 5) == 0) {
        const char *slash = strchr(rest, '/');
        /* s3://bucket/key: a bucket name, a key that is not empty */
        return slash && slash > rest && slash[1] != '\0' &&
               strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-_") == (size_t)(slash - rest);
    }
    return *rest != '\0' && *rest != '/' && *rest != '?' && *rest != '#';
}

int
ctl_request_notify_ok(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
           strlen(s) <= CTL_NOTIFY_MAX && url_printable(s) && ctl_request_url_ok(s);
}

int
ctl_request_metadata_text(json_t *v, char *out, size_t cap)
{
    if (!json_is_object(v))
        return -1;
    char *t = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (t == NULL)
        return -1;
    size_t n = strlen(t);
    int rc = n <= CTL_METADATA_MAX && n < cap ? 0 : -1;
    if (rc == 0)
        memcpy(out, t, n + 1);
    free(t);
    return rc;
}

/* parse_extras - what a submission may add: the input as a URL, "key",
 * "notify", "metadata"; set in fwd when given */
static int
parse_extras(json_t *obj, const char *input, struct ctl_request *rq, struct ctl_error *err)
{
    const char *key, *notify;
    json_t *meta = json_object_get(obj, "metadata");
    char mtext[CTL_METADATA_MAX + 1];

    if (opt_string(obj, "key", &key, err) < 0 || opt_string(obj, "notify", &notify, err) < 0)
        return -1;
    if (key && *key == '\0')
        key = NULL;
    if (key && !ctl_request_prefix_ok(key))
        return fail(err, "bad_request",
                    "\"key\" must be at most %d characters of [A-Za-z0-9._/-], without a "
                    "leading '/', \"//\" or \"..\"",
                    PREFIX_MAX);
    if (notify && *notify == '\0')
        notify = NULL;
    if (notify && !ctl_request_notify_ok(notify))
        return fail(err, "bad_request",
                    "\"notify\" must be an http:// or https:// URL of at most %d bytes",
                    CTL_NOTIFY_MAX);
    if (meta && json_is_null(meta))
        meta = NULL;
    if (meta && ctl_request_metadata_text(meta, mtext, sizeof(mtext)) < 0)
        return fail(err, "bad_request",
                    "\"metadata\" must be a JSON object of at most %d bytes (as compact JSON)",
                    CTL_METADATA_MAX);
    rq->is_url = ctl_request_is_url(input);
    if (rq->is_url && !ctl_request_url_ok(input))
        return fail(err, "bad_request",
                    "\"input\" URL must be http://HOST/..., https://HOST/... or s3://BUCKET/KEY, "
                    "at most %d bytes without spaces",
                    CTL_URL_MAX);
    if (rq->is_url && rq->inline_size)
        return fail(err, "bad_request", "an input URL is fetched by hlsd: no \"size\"");
    if (key)
        json_object_set_new(rq->fwd, "key", json_string(key));
    if (notify)
        json_object_set_new(rq->fwd, "notify", json_string(notify));
    if (meta)
        json_object_set_new(rq->fwd, "metadata", json_deep_copy(meta));
    if (rq->is_url)
        json_object_set_new(rq->fwd, "input", json_string(input));
    return 0;
}

/*
 * parse_options - the conversion options of a submit: "audio" (separate
 * or muxed), "first_variant", "thumbnails" (true or false: a poster and a
 * storyboard, over [convert] thumbnails), "format" (ts or fmp4), and
 * "subtitles", one {"language", "name"}
 * per caption file whose descriptor follows the input's. Kept in
 * rq->options for the job's spool, where the convert worker reads them.
 */
static int
parse_options(json_t *obj, struct ctl_request *rq, struct ctl_error *err)
{
    const char *audio, *first, *format;
    json_t *subs = json_object_get(obj, "subtitles");
    json_t *thumbs = json_object_get(obj, "thumbnails");

    if (opt_string(obj, "audio", &audio, err) < 0 ||
        opt_string(obj, "first_variant", &first, err) < 0 ||
        opt_string(obj, "format", &format, err) < 0)
        return -1;
    if (format && strcmp(format, "ts") != 0 && strcmp(format, "fmp4") != 0)
        return fail(err, "bad_request", "\"format\" must be \"ts\" or \"fmp4\"");
    if (audio && strcmp(audio, "separate") != 0 && strcmp(audio, "muxed") != 0)
        return fail(err, "bad_request", "\"audio\" must be \"separate\" or \"muxed\"");
    if (first && !ctl_request_first_ok(first))
        return fail(err, "bad_request",
                    "\"first_variant\" must be auto, lowest, highest or a rendition such as "
                    "\"720p\"");
    if (thumbs && json_is_null(thumbs))
        thumbs = NULL;
    if (thumbs && !json_is_boolean(thumbs))
        return fail(err, "bad_request", "\"thumbnails\" must be true or false");
    if (subs && json_is_null(subs))
        subs = NULL;
    if (subs && (!json_is_array(subs) || json_array_size(subs) > CTL_MAX_CAPTIONS))
        return fail(err, "bad_request",
                    "\"subtitles\" must be an array of at most %d {\"language\",\"name\"}",
                    CTL_MAX_CAPTIONS);
    json_t *list = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(subs, i, s)
    {
        json_t *l = json_object_get(s, "language"), *nm = json_object_get(s, "name");
        char name[128];
        if (!json_is_object(s) || !json_is_string(l) ||
            !ctl_request_language_ok(json_string_value(l)) || (nm != NULL && !json_is_string(nm))) {
            json_decref(list);
            return fail(err, "bad_request",
                        "subtitles[%zu]: \"language\" must be a language tag such as \"en\" or "
                        "\"pt-BR\", \"name\" a string",
                        i);
        }
        ctl_request_sanitize_name(nm ? json_string_value(nm) : "captions", name, sizeof(name));
        json_array_append_new(
            list, json_pack("{s:s, s:s}", "language", json_string_value(l), "name", name));
    }
    rq->n_captions = (int)json_array_size(list);
    if (audio == NULL && first == NULL && thumbs == NULL && format == NULL && rq->n_captions == 0) {
        json_decref(list);
        return 0;
    }
    rq->options = json_pack("{s:s?, s:s?, s:O?, s:s?, s:o}", "audio", audio, "first_variant", first,
                            "thumbnails", thumbs, "format", format, "subtitles", list);
    return rq->options != NULL ? 0 : fail(err, "internal", "out of memory");
}

static int
parse_submit(json_t *obj, struct ctl_request *rq, struct ctl_error *err)
{
    static const char *const fields[] = {"cmd",           "input",  "ladder", "segment",
                                         "prefix",        "size",   "audio",  "subtitles",
                                         "first_variant", "key",    "notify", "metadata",
                                         "thumbnails",    "format", NULL};
    const char *input, *ladder, *prefix;
    json_t *seg = json_object_get(obj, "segment");
    json_t *size = json_object_get(obj, "size");

    /* if this fails, the bytes that follow cannot be told from requests */
    err->close = size != NULL && !json_is_null(size);
    if (only_fields(obj, err, fields) < 0 || opt_string(obj, "input", &input, err) < 0 ||
        opt_string(obj, "ladder", &ladder, err) < 0 || opt_string(obj, "prefix", &prefix, err) < 0)
        return -1;
    if (input == NULL)
        return fail(err, "bad_request", "missing field \"input\" (the file's name)");
    if (strlen(input) > 4096)
        return fail(err, "bad_request", "\"input\" is longer than 4096 bytes");
    if (ladder && !ctl_request_ladder_ok(ladder))
        return fail(err, "bad_request",
                    "\"ladder\" must be \"copy\" or HEIGHT:BITRATE[:CODEC] entries such as "
                    "\"720:2800k,480:1400k:hevc\" (at most %d characters)",
                    LADDER_MAX);
    if (prefix && *prefix == '\0')
        prefix = NULL;
    if (prefix && !ctl_request_prefix_ok(prefix))
        return fail(err, "bad_request",
                    "\"prefix\" must be at most %d characters of [A-Za-z0-9._/-], "
                    "without a leading '/', \"//\" or \"..\"",
                    PREFIX_MAX);
    if (seg && json_is_null(seg))
        seg = NULL;
    if (seg && (!json_is_number(seg) || json_number_value(seg) < SEGMENT_MIN ||
                json_number_value(seg) > SEGMENT_MAX))
        return fail(err, "bad_request", "\"segment\" must be a number of seconds from %g to %g",
                    SEGMENT_MIN, SEGMENT_MAX);
    if (size && !json_is_null(size)) {
        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return fail(err, "bad_request", "\"size\" must be a non-negative integer");
        rq->inline_size = 1;
        rq->size = (uint64_t)json_integer_value(size);
    }
    if (parse_options(obj, rq, err) < 0)
        return -1;
    if (rq->n_captions > 0 && rq->inline_size)
        return fail(err, "bad_request",
                    "\"subtitles\" files travel as descriptors after the input's: not with "
                    "\"size\"");
    ctl_request_sanitize_name(input, rq->input, sizeof(rq->input));
    /* absent options are sent as null: the master reads one fixed shape */
    rq->fwd = json_pack("{s:s, s:s?, s:o?, s:s?}", "cmd", "submit", "ladder", ladder, "segment",
                        seg ? json_real(json_number_value(seg)) : NULL, "prefix", prefix);
    if (rq->fwd == NULL)
        return fail(err, "internal", "out of memory");
    return parse_extras(obj, input, rq, err);
}

static int
parse_list(json_t *obj, struct ctl_request *rq, struct ctl_error *err)
{
    static const char *const fields[] = {"cmd", "state", "limit", "after", NULL};
    const char *state;
    json_t *lim = json_object_get(obj, "limit");
    json_t *after = json_object_get(obj, "after");
    json_int_t limit = CTL_LIST_DEFAULT;

    if (only_fields(obj, err, fields) < 0 || opt_string(obj, "state", &state, err) < 0)
        return -1;
    if (state) {
        int ok = 0;
        for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++)
            if (strcmp(state, job_states[i]) == 0)
                ok = 1;
        if (!ok)
            return fail(err, "bad_request",
                        "\"state\" must be one of queued, converting, uploading, done, "
                        "failed, canceled");
    }
    if (lim && !json_is_null(lim)) {
        if (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
            json_integer_value(lim) > CTL_LIST_MAX)
            return fail(err, "bad_request", "\"limit\" must be an integer from 1 to %d",
                        CTL_LIST_MAX);
        limit = json_integer_value(lim);
    }
    if (after && !json_is_null(after) && (!json_is_integer(after) || json_integer_value(after) < 1))
        return fail(err, "bad_request", "\"after\" must be a job id (the next page: older jobs)");
    rq->fwd = json_pack("{s:s, s:o, s:I}", "cmd", "list", "state",
                        state ? json_string(state) : json_null(), "limit", limit);
    if (rq->fwd && after && json_is_integer(after))
        json_object_set(rq->fwd, "after", after);
    return 0;
}

int
ctl_request_parse(const char *line, size_t len, struct ctl_request *rq, struct ctl_error *err)
{
    static const struct {
        const char *name;
        enum ctl_cmd cmd;
        int has_id;
    } simple[] = {
        {"ping", CTL_CMD_PING, 0},       {"status", CTL_CMD_STATUS, 1},
        {"cancel", CTL_CMD_CANCEL, 1},   {"retry", CTL_CMD_RETRY, 1},
        {"workers", CTL_CMD_WORKERS, 0}, {"stats", CTL_CMD_STATS, 0},
        {"delete", CTL_CMD_DELETE, 1},   {"metrics", CTL_CMD_METRICS, 0},
    };
    json_error_t jerr;
    json_t *obj;
    int rc = -1;

    memset(rq, 0, sizeof(*rq));
    err->close = 0;
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (obj == NULL)
        return fail(err, "bad_request", "malformed JSON at column %d: %.120s", jerr.column,
                    jerr.text);
    if (!json_is_object(obj)) {
        fail(err, "bad_request", "a request must be a JSON object");
        goto out;
    }
    json_t *jcmd = json_object_get(obj, "cmd");
    if (jcmd == NULL) {
        fail(err, "bad_request", "missing field \"cmd\"");
        goto out;
    }
    if (!json_is_string(jcmd)) {
        fail(err, "bad_request", "\"cmd\" must be a string");
        goto out;
    }
    const char *cmd = json_string_value(jcmd);
    if (strcmp(cmd, "submit") == 0) {
        rq->cmd = CTL_CMD_SUBMIT;
        rc = parse_submit(obj, rq, err);
        goto built;
    }
    if (strcmp(cmd, "list") == 0) {
        rq->cmd = CTL_CMD_LIST;
        rc = parse_list(obj, rq, err);
        goto built;
    }
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        if (strcmp(cmd, simple[i].name) != 0)
            continue;
        static const char *const with_id[] = {"cmd", "id", NULL};
        static const char *const bare[] = {"cmd", NULL};
        json_int_t id = 0;
        rq->cmd = simple[i].cmd;
        if (only_fields(obj, err, simple[i].has_id ? with_id : bare) < 0)
            goto out;
        if (simple[i].has_id && get_id(obj, &id, err) < 0)
            goto out;
        rq->fwd = simple[i].has_id ? json_pack("{s:s, s:I}", "cmd", simple[i].name, "id", id)
                                   : json_pack("{s:s}", "cmd", simple[i].name);
        rc = 0;
        goto built;
    }
    fail(err, "unknown_command",
         "unknown command \"%.64s\" (known: submit, status, list, cancel, retry, delete, "
         "workers, stats, metrics, ping)",
         cmd);
    goto out;
built:
    if (rc == 0 && rq->fwd == NULL)
        rc = fail(err, "internal", "out of memory");
out:
    if (rc < 0)
        ctl_request_free(rq);
    json_decref(obj);
    return rc;
}

void
ctl_request_free(struct ctl_request *rq)
{
    json_decref(rq->fwd);
    rq->fwd = NULL;
    json_decref(rq->options);
    rq->options = NULL;
    rq->n_captions = 0;
}
