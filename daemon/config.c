/*
 * config.c - load and validate hlsd.conf with inih.
 *
 * Every key has a default here and a documented line in etc/hlsd.conf; the
 * two must agree (a test loads the example file and compares). Unknown
 * sections or keys are errors: a typo must not silently fall back to a
 * default. Never logs; errors come back as "FILE:LINE: reason".
 */
#include "daemon/config.h"
#include "daemon/ctl_request.h"

#include "workers/convert.h"
#include "workers/convworker.h"
#include "workers/storage.h"
#include "workers/upworker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void
config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->daemon.socket, sizeof(c->daemon.socket), "%s", HLSD_DEFAULT_SOCKET);
    c->daemon.socket_mode = 0660;
    snprintf(c->daemon.state_dir, sizeof(c->daemon.state_dir), "/var/lib/hlsd");
    snprintf(c->daemon.spool_dir, sizeof(c->daemon.spool_dir), "/var/spool/hlsd");
    snprintf(c->daemon.pidfile, sizeof(c->daemon.pidfile), "/run/hlsd/hlsd.pid");
    c->daemon.max_queued = 100;
    c->daemon.shutdown_timeout_ms = 30000;
    c->daemon.max_input_bytes = 20ULL << 30;
    c->daemon.keep_failed_inputs_ms = 7 * 24 * 3600 * 1000LL;
    c->daemon.respawn_forgive_ms = 60000;

    c->convert.workers = 1;
    c->convert.threads = 0;
    c->convert.segment_seconds = 6.0;
    snprintf(c->convert.preset, sizeof(c->convert.preset), "veryfast");
    c->convert.job_timeout_ms = 6 * 3600 * 1000LL;
    c->convert.stall_timeout_ms = 120 * 1000LL;
    c->convert.max_attempts = 3;
    c->convert.max_kills = 20;
    snprintf(c->convert.first_variant, sizeof(c->convert.first_variant), "auto");
    c->convert.thumbnails = 1;
    c->convert.storyboard_interval = 0;
    snprintf(c->convert.x265_preset, sizeof(c->convert.x265_preset), "fast");
    snprintf(c->convert.svtav1_preset, sizeof(c->convert.svtav1_preset), "10");

    c->upload.workers = 2;
    snprintf(c->upload.url, sizeof(c->upload.url), "file:///var/lib/hlsd/www");
    c->upload.max_attempts = 8;
    c->upload.backoff_base_ms = 500;
    c->upload.backoff_max_ms = 60000;
    c->upload.give_up_after_ms = 3600 * 1000LL;
    snprintf(c->upload.cache_control, sizeof(c->upload.cache_control), "max-age=31536000");

    c->input.path_style = -1;
    c->input.connect_timeout_ms = 10000;
    c->input.low_speed_time_ms = 30000;
    c->input.max_redirects = 5;
    c->input.max_attempts = 5;

    c->notify.max_attempts = 10;
    c->notify.timeout_ms = 10000;
}

int64_t
config_parse_duration(const char *s)
{
    char *end;
    double v;

    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -1;
    double mult;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else if (strcmp(end, "d") == 0)
        mult = 86400000;
    else
        return -1;
    if (v * mult > 1e15)
        return -1;
    return (int64_t)llround(v * mult);
}

struct loader {
    struct config *c;
    char reason[256];
    int failed;
    int err_line; /* the line of the first error, from our own count */
    FILE *f;
    int lineno;       /* lines handed to inih so far */
    char section[64]; /* the current [section], tracked for long lines */
    char *line;       /* getline buffer */
    size_t line_cap;
    int format_line; /* the last of ladder, video_codec, segment_format */
};

static int
set_str(char *dst, size_t cap, const char *v, struct loader *L)
{
    if (strlen(v) >= cap) {
        snprintf(L->reason, sizeof(L->reason), "value longer than %zu bytes", cap - 1);
        return 0;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 1;
}

static int
set_uint(unsigned *dst, const char *v, unsigned lo, unsigned hi, struct loader *L)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || end == v || *end != '\0' || *v == '-' || x < lo || x > hi) {
        snprintf(L->reason, sizeof(L->reason), "'%s' is not an integer in %u..%u", v, lo, hi);
        return 0;
    }
    *dst = (unsigned)x;
    return 1;
}

/* set_names - a comma list of user or group names */
static int
set_names(char *dst, size_t cap, const char *v, struct loader *L)
{
    for (const char *p = v; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("._-$, ", *p)) {
            snprintf(L->reason, sizeof(L->reason),
                     "'%s' is not a comma list of user or group names", v);
            return 0;
        }
    }
    return set_str(dst, cap, v, L);
}

int
config_http_listen(const char *v, char *host, size_t hostcap, unsigned *port, char *why,
                   size_t whylen)
{
    const char *colon, *h = v;
    size_t hlen;

    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (close == NULL || close[1] != ':')
            goto bad;
        h = v + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(v, ':');
        if (colon == NULL || memchr(v, ':', (size_t)(colon - v)) != NULL)
            goto bad;
        hlen = (size_t)(colon - v);
    }
    if (hlen == 0 || hlen >= hostcap || hlen >= 64)
        goto bad;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || colon[1] == '-' || p == 0 || p > 65535)
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostcap, "127.0.0.1");
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(v[0] == '[' ? AF_INET6 : AF_INET, host,
                  v[0] == '[' ? (void *)&a6 : (void *)&a4) != 1)
        goto bad;
    *port = (unsigned)p;
    return 0;
bad:
    snprintf(why, whylen,
             "'%s' is not an address and port like 127.0.0.1:8080, [::1]:8080, "
             "localhost:8080 or 0.0.0.0:8080",
             v);
    return -1;
}

int
config_list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while (*p) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        if (len > 0 && len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

static int
set_dur(int64_t *dst, const char *v, int64_t lo, struct loader *L)
{
    int64_t ms = config_parse_duration(v);
    if (ms < lo) {
        snprintf(L->reason, sizeof(L->reason),
                 "'%s' is not a duration like 500ms, 30s, 5m, 6h or 7d%s", v,
                 lo > 0 ? " (and above zero)" : "");
        return 0;
    }
    *dst = ms;
    return 1;
}

static int
set_bool(int *dst, const char *v, struct loader *L)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *dst = 1;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
             !strcasecmp(v, "off"))
        *dst = 0;
    else {
        snprintf(L->reason, sizeof(L->reason), "'%s' is not yes or no", v);
        return 0;
    }
    return 1;
}

static int
set_size(uint64_t *dst, const char *v, struct loader *L)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    uint64_t mult = 1;
    if (!strcasecmp(end, "k"))
        mult = 1ULL << 10;
    else if (!strcasecmp(end, "m"))
        mult = 1ULL << 20;
    else if (!strcasecmp(end, "g"))
        mult = 1ULL << 30;
    else if (*end != '\0')
        x = -1;
    if (errno || end == v || !(x > 0) || x * (double)mult > 9e18) {
        snprintf(L->reason, sizeof(L->reason), "'%s' is not a size like 512M or 20G", v);
        return 0;
    }
    *dst = (uint64_t)(x * (double)mult);
    return 1;
}

/* ladder: "copy" or a comma list of HEIGHT:RATE(k|M)[:CODEC], heights 144..4320 */
int
config_check_ladder(const char *v, char *why, size_t whylen)
{
    if (*v == '\0' || strcmp(v, "copy") == 0)
        return 0;
    const char *p = v;
    int n = 0;
    while (*p) {
        char *end;
        long h = strtol(p, &end, 10);
        if (end == p || *end != ':' || h < 144 || h > 4320)
            goto bad;
        p = end + 1;
        double rate = strtod(p, &end);
        if (end == p || !(rate > 0))
            goto bad;
        if (*end == 'k' || *end == 'K' || *end == 'M')
            end++;
        if (*end == ':') { /* the rendition's codec */
            char name[8];
            size_t len = strcspn(end + 1, ",");
            snprintf(name, sizeof(name), "%.*s", (int)(len < 7 ? len : 7), end + 1);
            enum convert_codec codec;
            if (len >= sizeof(name) || convert_codec_parse(name, &codec) < 0) {
                snprintf(why, whylen, "'%s': the codec after a rung's rate is h264, hevc or av1",
                         v);
                return -1;
            }
            end += 1 + len;
        }
        if (*end != ',' && *end != '\0')
            goto bad;
        if (*end == ',' && end[1] == '\0')
            goto bad; /* a trailing comma: an empty rendition */
        p = *end == ',' ? end + 1 : end;
        if (++n > 8)
            goto bad;
    }
    return 0;
bad:
    snprintf(why, whylen, "'%s' is not a ladder like 720:2800k,480:1400k:hevc or copy", v);
    return -1;
}

int
config_check_format(const char *v, int video_codec, int fmp4, char *why, size_t whylen)
{
    struct convert_opts o = {
        .ladder = v != NULL && v[0] != '\0' ? v : NULL,
        .format = fmp4 ? CONVERT_FMP4 : CONVERT_TS,
        .video_codec = (enum convert_codec)video_codec,
    };
    return convert_ladder_check(&o, why, whylen);
}

static int
set_double(double *dst, const char *v, double lo, double hi, struct loader *L)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !isfinite(x) || x < lo || x > hi) {
        snprintf(L->reason, sizeof(L->reason), "'%s' is not a number in %g..%g", v, lo, hi);
        return 0;
    }
    *dst = x;
    return 1;
}

static int
known_section(const char *s)
{
    return !strcmp(s, "daemon") || !strcmp(s, "convert") || !strcmp(s, "upload") ||
           !strcmp(s, "http") || !strcmp(s, "input") || !strcmp(s, "notify");
}

/* handle_fetch_notify - the [input] and [notify] keys; -1 for a key that
 * is not one of them (the caller names it) */
static int
handle_fetch_notify(struct config *c, const char *section, const char *name, const char *v,
                    struct loader *L)
{
#define KEY(s, k) (strcmp(section, s) == 0 && strcmp(name, k) == 0)
    if (KEY("input", "endpoint"))
        return set_str(c->input.endpoint, sizeof(c->input.endpoint), v, L);
    if (KEY("input", "region"))
        return set_str(c->input.region, sizeof(c->input.region), v, L);
    if (KEY("input", "path_style")) {
        if (v[0] == '\0') { /* as [upload] */
            c->input.path_style = -1;
            return 1;
        }
        return set_bool(&c->input.path_style, v, L);
    }
    if (KEY("input", "access_key_id"))
        return set_str(c->input.access_key_id, sizeof(c->input.access_key_id), v, L);
    if (KEY("input", "secret_access_key"))
        return set_str(c->input.secret_access_key, sizeof(c->input.secret_access_key), v, L);
    if (KEY("input", "session_token"))
        return set_str(c->input.session_token, sizeof(c->input.session_token), v, L);
    if (KEY("input", "connect_timeout"))
        return set_dur(&c->input.connect_timeout_ms, v, 1, L);
    if (KEY("input", "low_speed_time"))
        return set_dur(&c->input.low_speed_time_ms, v, 1000, L);
    if (KEY("input", "max_redirects"))
        return set_uint(&c->input.max_redirects, v, 0, 20, L);
    if (KEY("input", "max_attempts"))
        return set_uint(&c->input.max_attempts, v, 1, 100, L);
    if (KEY("input", "ca_file")) {
        if (v[0] && v[0] != '/') {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not an absolute path", v);
            return 0;
        }
        return set_str(c->input.ca_file, sizeof(c->input.ca_file), v, L);
    }
    if (KEY("notify", "url")) {
        if (v[0] && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not an http:// or https:// URL", v);
            return 0;
        }
        return set_str(c->notify.url, sizeof(c->notify.url), v, L);
    }
    if (KEY("notify", "secret"))
        return set_str(c->notify.secret, sizeof(c->notify.secret), v, L);
    if (KEY("notify", "max_attempts"))
        return set_uint(&c->notify.max_attempts, v, 1, 1000, L);
    if (KEY("notify", "timeout"))
        return set_dur(&c->notify.timeout_ms, v, 1, L);
#undef KEY
    return -1;
}

static int
handle_one(void *user, const char *section, const char *name, const char *v)
{
    struct loader *L = user;
    struct config *c = L->c;

#define KEY(s, k) (strcmp(section, s) == 0 && strcmp(name, k) == 0)
    if (KEY("daemon", "socket"))
        return set_str(c->daemon.socket, sizeof(c->daemon.socket), v, L);
    if (KEY("daemon", "socket_mode")) {
        char *end;
        unsigned long m = strtoul(v, &end, 8);
        if (end == v || *end || m > 0777) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not an octal mode like 0660", v);
            return 0;
        }
        /* connecting takes write permission: a socket its owner cannot use
         * would lock out everyone but root */
        if ((m & 0600) != 0600) {
            snprintf(L->reason, sizeof(L->reason),
                     "'%s' does not let the socket's owner in (read and write, 0600, at least)", v);
            return 0;
        }
        c->daemon.socket_mode = (unsigned)m;
        return 1;
    }
    if (KEY("daemon", "state_dir"))
        return set_str(c->daemon.state_dir, sizeof(c->daemon.state_dir), v, L);
    if (KEY("daemon", "spool_dir"))
        return set_str(c->daemon.spool_dir, sizeof(c->daemon.spool_dir), v, L);
    if (KEY("daemon", "pidfile"))
        return set_str(c->daemon.pidfile, sizeof(c->daemon.pidfile), v, L);
    if (KEY("daemon", "user"))
        return set_str(c->daemon.user, sizeof(c->daemon.user), v, L);
    if (KEY("daemon", "group"))
        return set_str(c->daemon.group, sizeof(c->daemon.group), v, L);
    if (KEY("daemon", "max_queued"))
        return set_uint(&c->daemon.max_queued, v, 1, 1000000, L);
    if (KEY("daemon", "shutdown_timeout"))
        return set_dur(&c->daemon.shutdown_timeout_ms, v, 0, L);
    if (KEY("daemon", "max_input_size"))
        return set_size(&c->daemon.max_input_bytes, v, L);
    if (KEY("daemon", "allow_users"))
        return set_names(c->daemon.allow_users, sizeof(c->daemon.allow_users), v, L);
    if (KEY("daemon", "allow_groups"))
        return set_names(c->daemon.allow_groups, sizeof(c->daemon.allow_groups), v, L);
    if (KEY("daemon", "admin_group")) {
        if (strpbrk(v, ", ")) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not one group name", v);
            return 0;
        }
        return set_names(c->daemon.admin_group, sizeof(c->daemon.admin_group), v, L);
    }
    if (KEY("daemon", "keep_failed_inputs"))
        return set_dur(&c->daemon.keep_failed_inputs_ms, v, 0, L);
    if (KEY("daemon", "respawn_forgive"))
        return set_dur(&c->daemon.respawn_forgive_ms, v, 1, L);

    if (KEY("convert", "workers"))
        return set_uint(&c->convert.workers, v, 1, 64, L);
    if (KEY("convert", "threads"))
        return set_uint(&c->convert.threads, v, 0, 64, L);
    if (strcmp(section, "convert") == 0 &&
        (!strcmp(name, "ladder") || !strcmp(name, "video_codec") ||
         !strcmp(name, "segment_format")))
        L->format_line = L->lineno; /* where a refused combination is reported */
    if (KEY("convert", "ladder")) {
        if (config_check_ladder(v, L->reason, sizeof(L->reason)) < 0)
            return 0;
        return set_str(c->convert.ladder, sizeof(c->convert.ladder), v, L);
    }
    if (KEY("convert", "segment_seconds"))
        return set_double(&c->convert.segment_seconds, v, 1, 60, L);
    if (KEY("convert", "preset")) {
        static const char *ok[] = {"ultrafast", "superfast", "veryfast", "faster",   "fast",
                                   "medium",    "slow",      "slower",   "veryslow", NULL};
        for (int i = 0; ok[i]; i++)
            if (strcmp(v, ok[i]) == 0)
                return set_str(c->convert.preset, sizeof(c->convert.preset), v, L);
        snprintf(L->reason, sizeof(L->reason), "'%s' is not an x264 preset (ultrafast..veryslow)",
                 v);
        return 0;
    }
    if (KEY("convert", "job_timeout"))
        return set_dur(&c->convert.job_timeout_ms, v, 1, L);
    if (KEY("convert", "stall_timeout"))
        return set_dur(&c->convert.stall_timeout_ms, v, 1, L);
    if (KEY("convert", "max_attempts"))
        return set_uint(&c->convert.max_attempts, v, 1, 100, L);
    if (KEY("convert", "max_kills"))
        return set_uint(&c->convert.max_kills, v, 1, 1000, L);
    if (KEY("convert", "audio")) {
        if (strcmp(v, "separate") != 0 && strcmp(v, "muxed") != 0) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not separate or muxed", v);
            return 0;
        }
        c->convert.audio_muxed = strcmp(v, "muxed") == 0;
        return 1;
    }
    if (KEY("convert", "thumbnails"))
        return set_bool(&c->convert.thumbnails, v, L);
    if (KEY("convert", "storyboard_interval"))
        return set_double(&c->convert.storyboard_interval, v, 0, 3600, L);
    if (KEY("convert", "segment_format")) {
        if (strcmp(v, "ts") != 0 && strcmp(v, "fmp4") != 0) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not ts or fmp4", v);
            return 0;
        }
        c->convert.fmp4 = strcmp(v, "fmp4") == 0;
        return 1;
    }
    if (KEY("convert", "video_codec")) {
        enum convert_codec codec;
        if (convert_codec_parse(v, &codec) < 0) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not h264, hevc or av1", v);
            return 0;
        }
        c->convert.video_codec = (int)codec;
        return 1;
    }
    if (KEY("convert", "x265_preset")) {
        static const char *ok[] = {"ultrafast", "superfast", "veryfast", "faster",
                                   "fast",      "medium",    "slow",     "slower",
                                   "veryslow",  "placebo",   NULL};
        for (int i = 0; ok[i]; i++)
            if (strcmp(v, ok[i]) == 0)
                return set_str(c->convert.x265_preset, sizeof(c->convert.x265_preset), v, L);
        snprintf(L->reason, sizeof(L->reason), "'%s' is not an x265 preset (ultrafast..placebo)",
                 v);
        return 0;
    }
    if (KEY("convert", "svtav1_preset")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || *end != '\0' || n < 0 || n > 13) {
            snprintf(L->reason, sizeof(L->reason), "'%s' is not an SVT-AV1 preset (0..13)", v);
            return 0;
        }
        snprintf(c->convert.svtav1_preset, sizeof(c->convert.svtav1_preset), "%ld", n);
        return 1;
    }
    if (KEY("convert", "first_variant")) {
        if (!ctl_request_first_ok(v)) {
            snprintf(L->reason, sizeof(L->reason),
                     "'%s' is not auto, lowest, highest or a rendition such as 720p", v);
            return 0;
        }
        return set_str(c->convert.first_variant, sizeof(c->convert.first_variant), v, L);
    }

    if (KEY("upload", "workers"))
        return set_uint(&c->upload.workers, v, 1, 64, L);
    if (KEY("upload", "url")) {
        if ((strncmp(v, "file:", 5) != 0 || strncmp(v, "file://", 7) == 0) &&
            strncmp(v, "file:///", 8) != 0 && strncmp(v, "s3://", 5) != 0) {
            snprintf(L->reason, sizeof(L->reason),
                     "'%s' is neither file:///absolute/dir, file:relative/dir nor "
                     "s3://bucket/prefix",
                     v);
            return 0;
        }
        return set_str(c->upload.url, sizeof(c->upload.url), v, L);
    }
    if (KEY("upload", "endpoint"))
        return set_str(c->upload.endpoint, sizeof(c->upload.endpoint), v, L);
    if (KEY("upload", "region"))
        return set_str(c->upload.region, sizeof(c->upload.region), v, L);
    if (KEY("upload", "path_style"))
        return set_bool(&c->upload.path_style, v, L);
    if (KEY("upload", "access_key_id"))
        return set_str(c->upload.access_key_id, sizeof(c->upload.access_key_id), v, L);
    if (KEY("upload", "secret_access_key"))
        return set_str(c->upload.secret_access_key, sizeof(c->upload.secret_access_key), v, L);
    if (KEY("upload", "session_token"))
        return set_str(c->upload.session_token, sizeof(c->upload.session_token), v, L);
    if (KEY("upload", "public_url"))
        return set_str(c->upload.public_url, sizeof(c->upload.public_url), v, L);
    if (KEY("upload", "cache_control"))
        return set_str(c->upload.cache_control, sizeof(c->upload.cache_control), v, L);
    if (KEY("upload", "acl"))
        return set_str(c->upload.acl, sizeof(c->upload.acl), v, L);
    if (KEY("upload", "max_attempts"))
        return set_uint(&c->upload.max_attempts, v, 1, 100, L);
    if (KEY("upload", "backoff_base"))
        return set_dur(&c->upload.backoff_base_ms, v, 1, L);
    if (KEY("upload", "backoff_max"))
        return set_dur(&c->upload.backoff_max_ms, v, 1, L);

    if (KEY("http", "listen")) {
        char host[64];
        unsigned port;
        if (v[0] &&
            config_http_listen(v, host, sizeof(host), &port, L->reason, sizeof(L->reason)) < 0)
            return 0;
        return set_str(c->http.listen, sizeof(c->http.listen), v, L);
    }
    if (KEY("http", "token_file"))
        return set_str(c->http.token_file, sizeof(c->http.token_file), v, L);
    if (KEY("http", "tls_cert"))
        return set_str(c->http.tls_cert, sizeof(c->http.tls_cert), v, L);
    if (KEY("http", "tls_key"))
        return set_str(c->http.tls_key, sizeof(c->http.tls_key), v, L);
    if (KEY("upload", "give_up_after"))
        return set_dur(&c->upload.give_up_after_ms, v, 1, L);
    if (KEY("upload", "keep_failed_output"))
        return set_bool(&c->upload.keep_failed_output, v, L);
#undef KEY
    int r = handle_fetch_notify(c, section, name, v, L);
    if (r >= 0)
        return r;
    if (section[0] == '\0')
        snprintf(L->reason, sizeof(L->reason), "key '%s' outside a [section]", name);
    else if (!known_section(section))
        snprintf(L->reason, sizeof(L->reason), "unknown section [%s]", section);
    else
        snprintf(L->reason, sizeof(L->reason), "unknown key '%s' in [%s]", name, section);
    return 0;
}

/* handle - keep the reason of the first failing line: inih goes on parsing
 * after an error and reports the first error's line number */
static int
handle(void *user, const char *section, const char *name, const char *v)
{
    struct loader *L = user;

    if (L->failed)
        return 1;
    if (handle_one(user, section, name, v))
        return 1;
    L->failed = 1;
    L->err_line = L->lineno;
    return 0;
}

static void
fail_line(struct loader *L, const char *fmt, const char *arg)
{
    if (L->failed)
        return;
    L->failed = 1;
    L->err_line = L->lineno;
    snprintf(L->reason, sizeof(L->reason), fmt, arg);
}

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/*
 * long_line - a key = value line longer than inih's fixed line buffer (200
 * bytes in Debian's build: too short for a long path or an STS session
 * token, which the struct has room for). Parsed here the way inih would
 * (separator '=' or ':', " ;" starts an inline comment) and handed to the
 * same handler; inih then gets the section header again in its place,
 * which keeps its line count and ends any multi-line value.
 */
static void
long_line(struct loader *L, char *line)
{
    char *p = trim(line);

    if (*p == '#' || *p == ';' || *p == '\0')
        return;
    if (*p == '[') {
        fail_line(L, "%s", "section header too long");
        return;
    }
    char *sep = p + strcspn(p, "=:");
    if (*sep == '\0') {
        fail_line(L, "%s", "syntax error (expected key = value)");
        return;
    }
    *sep = '\0';
    char *name = trim(p), *v = sep + 1;
    for (char *q = v; *q; q++) {
        if (*q == ';' && q > v && isspace((unsigned char)q[-1])) {
            *q = '\0';
            break;
        }
    }
    v = trim(v);
    handle(L, L->section, name, v);
}

/* reader - inih's fgets: counts lines, tracks the section, and takes the
 * lines too long for inih's buffer out of its way (see long_line) */
static char *
reader(char *str, int num, void *stream)
{
    struct loader *L = stream;
    ssize_t n = getline(&L->line, &L->line_cap, L->f);

    if (n < 0)
        return NULL;
    L->lineno++;
    char *p = L->line;
    if (L->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 BOM, which inih skips too */
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '[') {
        size_t k = strcspn(p + 1, "]");
        if (p[1 + k] == ']' && k < sizeof(L->section)) {
            memcpy(L->section, p + 1, k);
            L->section[k] = '\0';
            /* inih calls no handler for a section header: an empty unknown
             * section would pass unnoticed */
            if (!known_section(L->section))
                fail_line(L, "unknown section [%s]", L->section);
        }
    }
    if (n <= num - 1) {
        memcpy(str, L->line, (size_t)n + 1);
        return str;
    }
    long_line(L, L->line);
    /* the section header again: no handler call, same line count */
    if (L->section[0])
        snprintf(str, (size_t)num, "[%s]\n", L->section);
    else
        snprintf(str, (size_t)num, "\n");
    return str;
}

/* absolutize - a relative path is relative to the directory hlsd was
 * started in; resolve it now, before a daemon's chdir("/") changes it */
static int
absolutize(char *path, size_t cap)
{
    char cwd[CONFIG_PATH_MAX], tmp[2 * CONFIG_PATH_MAX + 2];

    if (path[0] == '/' || path[0] == '\0')
        return 0;
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
    if (strlen(tmp) >= cap)
        return -1;
    memcpy(path, tmp, strlen(tmp) + 1);
    return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct loader L = {.c = c};

    config_defaults(c);
    L.f = fopen(path, "re");
    if (L.f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(reader, &L, handle, &L);
    int read_err = ferror(L.f);
    fclose(L.f);
    free(L.line);
    if (read_err) {
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    if (rc == -2) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    /* our count is exact; inih's may come first for a syntax error */
    if (L.failed && (rc <= 0 || L.err_line <= rc)) {
        snprintf(err, errlen, "%s:%d: %s", path, L.err_line, L.reason);
        return -1;
    }
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, rc);
        return -1;
    }
    char why[256];
    if (config_check_format(c->convert.ladder, c->convert.video_codec, c->convert.fmp4, why,
                            sizeof(why)) < 0) {
        snprintf(err, errlen, "%s:%d: [convert] %s (set segment_format = fmp4)", path,
                 L.format_line, why);
        return -1;
    }
    if (c->upload.backoff_max_ms < c->upload.backoff_base_ms) {
        snprintf(err, errlen, "%s: [upload] backoff_max is below backoff_base", path);
        return -1;
    }
    if (!c->http.tls_cert[0] != !c->http.tls_key[0]) {
        snprintf(err, errlen, "%s: [http] tls_cert and tls_key go together", path);
        return -1;
    }
    /* file:relative/dir is accepted for local set-ups (make run) */
    if (strncmp(c->upload.url, "file:", 5) == 0 && strncmp(c->upload.url, "file://", 7) != 0) {
        char dir[CONFIG_PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", c->upload.url + 5);
        if (absolutize(dir, sizeof(dir) - 8) < 0) {
            snprintf(err, errlen, "%s: [upload] url: path too long", path);
            return -1;
        }
        if (strlen(dir) + 8 > sizeof(c->upload.url)) {
            snprintf(err, errlen, "%s: [upload] url: path too long", path);
            return -1;
        }
        memcpy(c->upload.url, "file://", 7);
        memcpy(c->upload.url + 7, dir, strlen(dir) + 1);
    }
    if (absolutize(c->daemon.socket, sizeof(c->daemon.socket)) < 0 ||
        absolutize(c->daemon.state_dir, sizeof(c->daemon.state_dir)) < 0 ||
        absolutize(c->daemon.spool_dir, sizeof(c->daemon.spool_dir)) < 0 ||
        absolutize(c->daemon.pidfile, sizeof(c->daemon.pidfile)) < 0 ||
        absolutize(c->http.token_file, sizeof(c->http.token_file)) < 0 ||
        absolutize(c->http.tls_cert, sizeof(c->http.tls_cert)) < 0 ||
        absolutize(c->http.tls_key, sizeof(c->http.tls_key)) < 0) {
        snprintf(err, errlen, "%s: a path is too long once made absolute", path);
        return -1;
    }
    return 0;
}

void
config_convworker(const struct config *c, struct convworker_settings *set)
{
    memset(set, 0, sizeof(*set));
    set->spool_dir = c->daemon.spool_dir;
    set->preset = c->convert.preset;
    set->audio_muxed = c->convert.audio_muxed;
    set->first_variant = c->convert.first_variant;
    set->thumbnails = c->convert.thumbnails;
    set->storyboard_interval = c->convert.storyboard_interval;
    set->fmp4 = c->convert.fmp4;
    set->video_codec = c->convert.video_codec;
    set->x265_preset = c->convert.x265_preset;
    set->svtav1_preset = c->convert.svtav1_preset;
}

static const char *
nz(const char *s)
{
    return s && s[0] ? s : NULL;
}

void
config_upworker(const struct config *c, struct upworker_settings *set)
{
    memset(set, 0, sizeof(*set));
    config_storage(c, &set->storage);
    /* s3:// inputs: [input]'s own endpoint and keys, else [upload]'s */
    struct storage_config *in = &set->input;
    *in = set->storage;
    in->url = NULL;
    in->cache_control = in->acl = NULL;
    if (c->input.endpoint[0])
        in->endpoint = c->input.endpoint;
    if (c->input.region[0])
        in->region = c->input.region;
    if (c->input.path_style >= 0)
        in->path_style = c->input.path_style;
    if (c->input.access_key_id[0]) {
        in->access_key_id = c->input.access_key_id;
        in->secret_access_key = nz(c->input.secret_access_key);
        in->session_token = nz(c->input.session_token);
    }
    in->connect_timeout_ms = (long)c->input.connect_timeout_ms;
    in->low_speed_time_s = (long)((c->input.low_speed_time_ms + 999) / 1000);
    set->max_redirects = c->input.max_redirects;
    set->ca_file = nz(c->input.ca_file);
    set->notify_secret = c->notify.secret;
    set->notify_timeout_ms = (long)c->notify.timeout_ms;
}

void
config_storage(const struct config *c, struct storage_config *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->url = c->upload.url;
    sc->endpoint = nz(c->upload.endpoint);
    sc->region = nz(c->upload.region);
    sc->path_style = c->upload.path_style;
    sc->access_key_id = nz(c->upload.access_key_id);
    sc->secret_access_key = nz(c->upload.secret_access_key);
    sc->session_token = nz(c->upload.session_token);
    sc->cache_control = nz(c->upload.cache_control);
    sc->acl = nz(c->upload.acl);
}
