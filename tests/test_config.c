/*
 * test_config.c - daemon/config.c and `hlsd -t`: durations, then every key
 * with good and bad values (table-driven, edge cases first), the file's
 * structure (unknown sections and keys, syntax, line numbers, lines longer
 * than inih's buffer), the shipped etc/hlsd.conf (every key, loading to
 * exactly the embedded defaults) and etc/hlsd.local.conf, and the exit
 * codes and messages of `hlsd -t`.
 */
#include "daemon/config.h"
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
load_text(struct config *c, const char *text, char *err, size_t errlen)
{
    err[0] = '\0';
    return config_load(c, fix_text(text), err, errlen);
}

static char *
repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---------------------------------------------------------------- durations */

static const struct {
    const char *in;
    int64_t ms; /* -1: rejected */
} durations[] = {
    /* edge cases first */
    {"", -1},
    {"ms", -1},
    {"s", -1},
    {"-1s", -1},
    {"-0", -1},
    {"+5s", -1},
    {"0", 0},
    {"0ms", 0},
    {"0s", 0},
    {"1e400", -1},                 /* overflows a double */
    {"1e12h", -1},                 /* overflows the range */
    {"9223372036854775807ms", -1}, /* INT64_MAX: above the bound */
    {"1000000000000000ms", 1000000000000000LL},
    {"inf", -1},
    {"nan", -1},
    {"5x", -1},
    {"5 s", -1},
    {"5S", -1}, /* units are lower case */
    {"5M", -1},
    {"30s ", -1},
    {"5mins", -1},
    {"garbage", -1},
    /* the documented forms */
    {"500ms", 500},
    {"30s", 30000},
    {"5m", 300000},
    {"6h", 21600000},
    {"7d", 604800000},
    {"5D", -1},
    {"7", 7000}, /* a bare number is seconds */
    {"1.5s", 1500},
    {"0.25", 250},
    {" 30s", 30000},
};

Test(config_duration, table)
{
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
        cr_expect_eq(config_parse_duration(durations[i].in), durations[i].ms,
                     "config_parse_duration(\"%s\") = %lld, expected %lld", durations[i].in,
                     (long long)config_parse_duration(durations[i].in), (long long)durations[i].ms);
}

/* ---------------------------------------------------------------- keys */

/* field - the loaded value of section.key as text (paths as stored) */
static void
field(const struct config *c, const char *sec, const char *key, char *out, size_t cap)
{
#define S(s, k, expr)                                                                              \
    if (!strcmp(sec, s) && !strcmp(key, k)) {                                                      \
        expr;                                                                                      \
        return;                                                                                    \
    }
    S("daemon", "socket", snprintf(out, cap, "%s", c->daemon.socket));
    S("daemon", "socket_mode", snprintf(out, cap, "%o", c->daemon.socket_mode));
    S("daemon", "state_dir", snprintf(out, cap, "%s", c->daemon.state_dir));
    S("daemon", "spool_dir", snprintf(out, cap, "%s", c->daemon.spool_dir));
    S("daemon", "pidfile", snprintf(out, cap, "%s", c->daemon.pidfile));
    S("daemon", "user", snprintf(out, cap, "%s", c->daemon.user));
    S("daemon", "group", snprintf(out, cap, "%s", c->daemon.group));
    S("daemon", "max_queued", snprintf(out, cap, "%u", c->daemon.max_queued));
    S("daemon", "shutdown_timeout",
      snprintf(out, cap, "%lld", (long long)c->daemon.shutdown_timeout_ms));
    S("daemon", "max_input_size",
      snprintf(out, cap, "%llu", (unsigned long long)c->daemon.max_input_bytes));
    S("daemon", "allow_users", snprintf(out, cap, "%s", c->daemon.allow_users));
    S("daemon", "allow_groups", snprintf(out, cap, "%s", c->daemon.allow_groups));
    S("daemon", "admin_group", snprintf(out, cap, "%s", c->daemon.admin_group));
    S("daemon", "keep_failed_inputs",
      snprintf(out, cap, "%lld", (long long)c->daemon.keep_failed_inputs_ms));
    S("convert", "workers", snprintf(out, cap, "%u", c->convert.workers));
    S("convert", "threads", snprintf(out, cap, "%u", c->convert.threads));
    S("convert", "ladder", snprintf(out, cap, "%s", c->convert.ladder));
    S("convert", "segment_seconds", snprintf(out, cap, "%g", c->convert.segment_seconds));
    S("convert", "preset", snprintf(out, cap, "%s", c->convert.preset));
    S("convert", "job_timeout", snprintf(out, cap, "%lld", (long long)c->convert.job_timeout_ms));
    S("convert", "stall_timeout",
      snprintf(out, cap, "%lld", (long long)c->convert.stall_timeout_ms));
    S("convert", "max_attempts", snprintf(out, cap, "%u", c->convert.max_attempts));
    S("convert", "audio", snprintf(out, cap, "%s", c->convert.audio_muxed ? "muxed" : "separate"));
    S("convert", "first_variant", snprintf(out, cap, "%s", c->convert.first_variant));
    S("upload", "workers", snprintf(out, cap, "%u", c->upload.workers));
    S("upload", "url", snprintf(out, cap, "%s", c->upload.url));
    S("upload", "endpoint", snprintf(out, cap, "%s", c->upload.endpoint));
    S("upload", "region", snprintf(out, cap, "%s", c->upload.region));
    S("upload", "path_style", snprintf(out, cap, "%d", c->upload.path_style));
    S("upload", "access_key_id", snprintf(out, cap, "%s", c->upload.access_key_id));
    S("upload", "secret_access_key", snprintf(out, cap, "%s", c->upload.secret_access_key));
    S("upload", "session_token", snprintf(out, cap, "%s", c->upload.session_token));
    S("upload", "public_url", snprintf(out, cap, "%s", c->upload.public_url));
    S("upload", "cache_control", snprintf(out, cap, "%s", c->upload.cache_control));
    S("upload", "acl", snprintf(out, cap, "%s", c->upload.acl));
    S("upload", "max_attempts", snprintf(out, cap, "%u", c->upload.max_attempts));
    S("upload", "backoff_base", snprintf(out, cap, "%lld", (long long)c->upload.backoff_base_ms));
    S("upload", "backoff_max", snprintf(out, cap, "%lld", (long long)c->upload.backoff_max_ms));
#undef S
    cr_assert_fail("field: no key %s.%s", sec, key);
}

/* Every key of every section: the list etc/hlsd.conf must document. */
static const char *all_keys[] = {
    "daemon.socket",
    "daemon.socket_mode",
    "daemon.state_dir",
    "daemon.spool_dir",
    "daemon.pidfile",
    "daemon.user",
    "daemon.group",
    "daemon.max_queued",
    "daemon.shutdown_timeout",
    "daemon.max_input_size",
    "daemon.allow_users",
    "daemon.allow_groups",
    "daemon.admin_group",
    "daemon.keep_failed_inputs",
    "convert.workers",
    "convert.threads",
    "convert.ladder",
    "convert.segment_seconds",
    "convert.preset",
    "convert.job_timeout",
    "convert.stall_timeout",
    "convert.max_attempts",
    "convert.audio",
    "convert.first_variant",
    "upload.workers",
    "upload.url",
    "upload.endpoint",
    "upload.region",
    "upload.path_style",
    "upload.access_key_id",
    "upload.secret_access_key",
    "upload.session_token",
    "upload.public_url",
    "upload.cache_control",
    "upload.acl",
    "upload.max_attempts",
    "upload.backoff_base",
    "upload.backoff_max",
};

#define LONG_VALUE ((const char *)1) /* the value is generated: see key_value() */

static const struct key_case {
    const char *sec, *key, *value;
    size_t len;         /* with LONG_VALUE: the generated value's length */
    const char *expect; /* the field as text, or NULL when rejected */
    const char *reason; /* with NULL expect: a substring of the error */
} keys[] = {
    /* daemon: strings and paths (edge cases: empty, longest, one too long) */
    {"daemon", "socket", "/tmp/h.sock", 0, "/tmp/h.sock", NULL},
    {"daemon", "socket", LONG_VALUE, 1023, "", NULL},
    {"daemon", "socket", LONG_VALUE, 1024, NULL, "value longer than 1023 bytes"},
    {"daemon", "socket_mode", "0", 0, "0", NULL},
    {"daemon", "socket_mode", "0777", 0, "777", NULL},
    {"daemon", "socket_mode", "0600", 0, "600", NULL},
    {"daemon", "socket_mode", "660", 0, "660", NULL},
    {"daemon", "socket_mode", "01000", 0, NULL, "is not an octal mode"},
    {"daemon", "socket_mode", "0800", 0, NULL, "is not an octal mode"},
    {"daemon", "socket_mode", "", 0, NULL, "is not an octal mode"},
    {"daemon", "socket_mode", "rw-rw----", 0, NULL, "is not an octal mode"},
    {"daemon", "state_dir", "/srv/hlsd/state", 0, "/srv/hlsd/state", NULL},
    {"daemon", "state_dir", LONG_VALUE, 1024, NULL, "value longer than 1023 bytes"},
    {"daemon", "spool_dir", "/srv/hlsd/spool", 0, "/srv/hlsd/spool", NULL},
    {"daemon", "pidfile", "/run/x.pid", 0, "/run/x.pid", NULL},
    {"daemon", "pidfile", "", 0, "", NULL},
    {"daemon", "user", "", 0, "", NULL},
    {"daemon", "user", "www-data", 0, "www-data", NULL},
    {"daemon", "user", LONG_VALUE, 256, NULL, "value longer than 255 bytes"},
    {"daemon", "group", "video", 0, "video", NULL},
    {"daemon", "max_queued", "1", 0, "1", NULL},
    {"daemon", "max_queued", "1000000", 0, "1000000", NULL},
    {"daemon", "max_queued", "0", 0, NULL, "is not an integer in 1..1000000"},
    {"daemon", "max_queued", "1000001", 0, NULL, "is not an integer in 1..1000000"},
    {"daemon", "max_queued", "-1", 0, NULL, "is not an integer"},
    {"daemon", "max_queued", "99999999999999999999999", 0, NULL, "is not an integer"},
    {"daemon", "max_queued", "10x", 0, NULL, "is not an integer"},
    {"daemon", "max_queued", "", 0, NULL, "is not an integer"},
    {"daemon", "shutdown_timeout", "0", 0, "0", NULL},
    {"daemon", "shutdown_timeout", "250ms", 0, "250", NULL},
    {"daemon", "shutdown_timeout", "2m", 0, "120000", NULL},
    {"daemon", "shutdown_timeout", "-1s", 0, NULL, "is not a duration"},
    {"daemon", "shutdown_timeout", "soon", 0, NULL, "is not a duration"},
    {"daemon", "max_input_size", "1", 0, "1", NULL},
    {"daemon", "max_input_size", "1k", 0, "1024", NULL},
    {"daemon", "max_input_size", "512M", 0, "536870912", NULL},
    {"daemon", "max_input_size", "20G", 0, "21474836480", NULL},
    {"daemon", "max_input_size", "0", 0, NULL, "is not a size"},
    {"daemon", "max_input_size", "-5M", 0, NULL, "is not a size"},
    {"daemon", "max_input_size", "5T", 0, NULL, "is not a size"},
    {"daemon", "max_input_size", "G", 0, NULL, "is not a size"},
    {"daemon", "max_input_size", "99999999999G", 0, NULL, "is not a size"},
    {"daemon", "allow_users", "", 0, "", NULL},
    {"daemon", "allow_users", "alice,bob", 0, "alice,bob", NULL},
    {"daemon", "allow_users", "alice, bob", 0, "alice, bob", NULL},
    {"daemon", "allow_users", "alice;rm", 0, NULL, "is not a comma list"},
    {"daemon", "allow_groups", "video,hlsd", 0, "video,hlsd", NULL},
    {"daemon", "allow_groups", "a/b", 0, NULL, "is not a comma list"},
    {"daemon", "admin_group", "", 0, "", NULL},
    {"daemon", "admin_group", "wheel", 0, "wheel", NULL},
    {"daemon", "admin_group", "wheel,adm", 0, NULL, "is not one group name"},
    {"daemon", "keep_failed_inputs", "0", 0, "0", NULL},
    {"daemon", "keep_failed_inputs", "7d", 0, "604800000", NULL},
    {"daemon", "keep_failed_inputs", "36h", 0, "129600000", NULL},
    {"daemon", "keep_failed_inputs", "-1d", 0, NULL, "is not a duration"},
    {"daemon", "keep_failed_inputs", "1w", 0, NULL, "is not a duration"},
    /* convert */
    {"convert", "workers", "1", 0, "1", NULL},
    {"convert", "workers", "64", 0, "64", NULL},
    {"convert", "workers", "0", 0, NULL, "is not an integer in 1..64"},
    {"convert", "workers", "65", 0, NULL, "is not an integer in 1..64"},
    {"convert", "threads", "0", 0, "0", NULL},
    {"convert", "threads", "64", 0, "64", NULL},
    {"convert", "threads", "65", 0, NULL, "is not an integer in 0..64"},
    {"convert", "threads", "auto", 0, NULL, "is not an integer"},
    {"convert", "ladder", "", 0, "", NULL},
    {"convert", "ladder", "copy", 0, "copy", NULL},
    {"convert", "ladder", "720:2800k,480:1400k", 0, "720:2800k,480:1400k", NULL},
    {"convert", "ladder", "144:100k", 0, "144:100k", NULL},
    {"convert", "ladder", "4320:40M", 0, "4320:40M", NULL},
    {"convert", "ladder", "143:100k", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "4321:100k", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "720", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "720:0k", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "720:2800x", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "720:2800k,", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "720:2800k,,480:1k", 0, NULL, "is not a ladder"},
    {"convert", "ladder", "200:1k,201:1k,202:1k,203:1k,204:1k,205:1k,206:1k,207:1k,208:1k", 0, NULL,
     "is not a ladder"},
    {"convert", "segment_seconds", "1", 0, "1", NULL},
    {"convert", "segment_seconds", "60", 0, "60", NULL},
    {"convert", "segment_seconds", "2.5", 0, "2.5", NULL},
    {"convert", "segment_seconds", "0.5", 0, NULL, "is not a number in 1..60"},
    {"convert", "segment_seconds", "61", 0, NULL, "is not a number in 1..60"},
    {"convert", "segment_seconds", "6s", 0, NULL, "is not a number"},
    {"convert", "segment_seconds", "nan", 0, NULL, "is not a number"},
    {"convert", "preset", "ultrafast", 0, "ultrafast", NULL},
    {"convert", "preset", "veryslow", 0, "veryslow", NULL},
    {"convert", "preset", "placebo", 0, NULL, "is not an x264 preset"},
    {"convert", "preset", "", 0, NULL, "is not an x264 preset"},
    {"convert", "job_timeout", "1ms", 0, "1", NULL},
    {"convert", "job_timeout", "6h", 0, "21600000", NULL},
    {"convert", "job_timeout", "0", 0, NULL, "above zero"},
    {"convert", "stall_timeout", "2m", 0, "120000", NULL},
    {"convert", "stall_timeout", "0ms", 0, NULL, "above zero"},
    {"convert", "stall_timeout", "2 minutes", 0, NULL, "is not a duration"},
    {"convert", "max_attempts", "1", 0, "1", NULL},
    {"convert", "max_attempts", "100", 0, "100", NULL},
    {"convert", "max_attempts", "0", 0, NULL, "is not an integer in 1..100"},
    {"convert", "max_attempts", "101", 0, NULL, "is not an integer in 1..100"},
    {"convert", "audio", "separate", 0, "separate", NULL},
    {"convert", "audio", "muxed", 0, "muxed", NULL},
    {"convert", "audio", "both", 0, NULL, "is not separate or muxed"},
    {"convert", "first_variant", "auto", 0, "auto", NULL},
    {"convert", "first_variant", "lowest", 0, "lowest", NULL},
    {"convert", "first_variant", "720p", 0, "720p", NULL},
    {"convert", "first_variant", "720", 0, NULL, "is not auto, lowest, highest or a rendition"},
    {"convert", "first_variant", "p", 0, NULL, "is not auto, lowest, highest or a rendition"},
    /* upload */
    {"upload", "workers", "64", 0, "64", NULL},
    {"upload", "workers", "0", 0, NULL, "is not an integer in 1..64"},
    {"upload", "url", "file:///srv/www", 0, "file:///srv/www", NULL},
    {"upload", "url", "s3://bucket", 0, "s3://bucket", NULL},
    {"upload", "url", "s3://bucket/videos/hls", 0, "s3://bucket/videos/hls", NULL},
    {"upload", "url", "", 0, NULL, "is neither"},
    {"upload", "url", "/srv/www", 0, NULL, "is neither"},
    {"upload", "url", "file://host/srv/www", 0, NULL, "is neither"},
    {"upload", "url", "https://bucket.example/", 0, NULL, "is neither"},
    {"upload", "endpoint", "", 0, "", NULL},
    {"upload", "endpoint", "http://127.0.0.1:9000", 0, "http://127.0.0.1:9000", NULL},
    {"upload", "region", "eu-west-1", 0, "eu-west-1", NULL},
    {"upload", "region", LONG_VALUE, 63, "", NULL},
    {"upload", "region", LONG_VALUE, 64, NULL, "value longer than 63 bytes"},
    {"upload", "path_style", "yes", 0, "1", NULL},
    {"upload", "path_style", "TRUE", 0, "1", NULL},
    {"upload", "path_style", "on", 0, "1", NULL},
    {"upload", "path_style", "1", 0, "1", NULL},
    {"upload", "path_style", "no", 0, "0", NULL},
    {"upload", "path_style", "false", 0, "0", NULL},
    {"upload", "path_style", "off", 0, "0", NULL},
    {"upload", "path_style", "0", 0, "0", NULL},
    {"upload", "path_style", "", 0, NULL, "is not yes or no"},
    {"upload", "path_style", "maybe", 0, NULL, "is not yes or no"},
    {"upload", "access_key_id", "AKIAEXAMPLE", 0, "AKIAEXAMPLE", NULL},
    {"upload", "secret_access_key", "wJalrXUtnFEMI/K7MDENG", 0, "wJalrXUtnFEMI/K7MDENG", NULL},
    /* an STS token is far longer than inih's 200-byte line buffer */
    {"upload", "session_token", LONG_VALUE, 1500, "", NULL},
    {"upload", "session_token", LONG_VALUE, 2047, "", NULL},
    {"upload", "session_token", LONG_VALUE, 2048, NULL, "value longer than 2047 bytes"},
    {"upload", "public_url", "https://cdn.example.com/v", 0, "https://cdn.example.com/v", NULL},
    {"upload", "cache_control", "", 0, "", NULL},
    /* around inih's 200-byte line buffer ("cache_control = " is 16 bytes) */
    {"upload", "cache_control", LONG_VALUE, 181, "", NULL},
    {"upload", "cache_control", LONG_VALUE, 182, "", NULL},
    {"upload", "cache_control", LONG_VALUE, 183, "", NULL},
    {"upload", "cache_control", LONG_VALUE, 184, "", NULL},
    {"upload", "cache_control", LONG_VALUE, 255, "", NULL},
    {"upload", "cache_control", LONG_VALUE, 256, NULL, "value longer than 255 bytes"},
    {"upload", "cache_control", "no-cache", 0, "no-cache", NULL},
    {"upload", "acl", "public-read", 0, "public-read", NULL},
    {"upload", "max_attempts", "100", 0, "100", NULL},
    {"upload", "max_attempts", "101", 0, NULL, "is not an integer in 1..100"},
    {"upload", "backoff_base", "100ms", 0, "100", NULL},
    {"upload", "backoff_base", "0", 0, NULL, "above zero"},
    {"upload", "backoff_max", "5m", 0, "300000", NULL},
    {"upload", "backoff_max", "0ms", 0, NULL, "above zero"},
};

Test(config_keys, every_key_good_and_bad)
{
    struct config c;
    char err[2048], text[8192], got[4096];

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct key_case *k = &keys[i];
        char *gen = NULL;
        const char *v = k->value;
        if (v == LONG_VALUE) {
            /* an absolute path for path keys, so that nothing is prepended */
            gen = repeat('a', k->len);
            gen[0] = '/';
            v = gen;
        }
        /* a comment and a blank line first: the error must name line 4 */
        snprintf(text, sizeof(text), "# test %zu\n\n[%s]\n%s = %s\n", i, k->sec, k->key, v);
        int rc = load_text(&c, text, err, sizeof(err));
        if (k->expect) {
            cr_expect_eq(rc, 0, "[%s] %s = %.60s: rejected: %s", k->sec, k->key, v, err);
            if (rc == 0) {
                field(&c, k->sec, k->key, got, sizeof(got));
                cr_expect_str_eq(got, gen ? gen : k->expect, "[%s] %s = %.60s: got %.60s", k->sec,
                                 k->key, v, got);
            }
        } else {
            cr_expect_eq(rc, -1, "[%s] %s = %.60s: accepted", k->sec, k->key, v);
            cr_expect(strstr(err, ":4: ") != NULL, "[%s] %s: error does not name line 4: %s",
                      k->sec, k->key, err);
            cr_expect(strstr(err, k->reason) != NULL, "[%s] %s = %.60s: error '%s' lacks '%s'",
                      k->sec, k->key, v, err, k->reason);
        }
        free(gen);
    }
}

Test(config_keys, table_covers_every_key)
{
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        int good = 0, bad = 0;
        for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
            char name[128];
            snprintf(name, sizeof(name), "%s.%s", keys[j].sec, keys[j].key);
            if (strcmp(name, all_keys[i]) == 0)
                *(keys[j].expect ? &good : &bad) += 1;
        }
        cr_expect(good > 0, "%s has no good value in the table", all_keys[i]);
        const char *free_text[] = {
            "daemon.spool_dir",  "daemon.pidfile",       "daemon.group",
            "upload.endpoint",   "upload.access_key_id", "upload.secret_access_key",
            "upload.public_url", "upload.cache_control", "upload.acl"};
        int any = 0;
        for (size_t j = 0; j < sizeof(free_text) / sizeof(free_text[0]); j++)
            any |= strcmp(free_text[j], all_keys[i]) == 0;
        cr_expect(bad > 0 || any, "%s has no bad value in the table", all_keys[i]);
    }
}

Test(config_keys, backoff_max_below_base)
{
    struct config c;
    char err[1024];

    cr_assert_eq(
        load_text(&c, "[upload]\nbackoff_base = 10s\nbackoff_max = 5s\n", err, sizeof(err)), -1);
    cr_expect(strstr(err, "backoff_max is below backoff_base"), "%s", err);
    cr_assert_eq(load_text(&c, "[upload]\nbackoff_base = 5s\nbackoff_max = 5s\n", err, sizeof(err)),
                 0, "%s", err);
}

Test(config_keys, relative_paths_resolve_against_the_start_directory)
{
    struct config c;
    char err[1024], cwd[1024], want[2300];

    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(load_text(&c,
                           "[daemon]\nsocket = var/s\nstate_dir = var/state\n"
                           "spool_dir = ./spool\npidfile = p.pid\n[upload]\nurl = file:var/www\n",
                           err, sizeof(err)),
                 0, "%s", err);
    snprintf(want, sizeof(want), "%s/var/s", cwd);
    cr_expect_str_eq(c.daemon.socket, want);
    snprintf(want, sizeof(want), "%s/var/state", cwd);
    cr_expect_str_eq(c.daemon.state_dir, want);
    snprintf(want, sizeof(want), "%s/./spool", cwd);
    cr_expect_str_eq(c.daemon.spool_dir, want);
    snprintf(want, sizeof(want), "%s/p.pid", cwd);
    cr_expect_str_eq(c.daemon.pidfile, want);
    snprintf(want, sizeof(want), "file://%s/var/www", cwd);
    cr_expect_str_eq(c.upload.url, want);
}

/* ---------------------------------------------------------------- structure */

static const struct {
    const char *name, *text;
    const char *err; /* substring of the error, NULL: loads */
} structure[] = {
    {"empty file", "", NULL},
    {"comments only", "# a\n; b\n\n", NULL},
    {"empty section", "[daemon]\n[convert]\n[upload]\n", NULL},
    {"inline comment", "[convert]\nworkers = 3 ; three\n", NULL},
    {"colon separator", "[convert]\nworkers: 3\n", NULL},
    {"spaces around", "  [convert]  \n   workers   =   3   \n", NULL},
    {"last value wins", "[convert]\nworkers = 2\nworkers = 3\n", NULL},
    {"sections in any order and repeated",
     "[upload]\n[convert]\nworkers = 1\n[convert]\nworkers = 3\n", NULL},
    {"no newline at the end", "[convert]\nworkers = 3", NULL},
    {"unknown key", "[daemon]\nmax_queued = 5\n\nbogus = 1\n",
     ":4: unknown key 'bogus' in [daemon]"},
    {"key of another section", "[convert]\nurl = s3://b\n", ":2: unknown key 'url' in [convert]"},
    {"keys are case sensitive", "[convert]\nWorkers = 3\n", ":2: unknown key 'Workers'"},
    {"unknown section", "[convert]\nworkers = 3\n[nope]\nx = 1\n", ":3: unknown section [nope]"},
    {"unknown empty section", "[daemon]\n\n[Daemon]\n", ":3: unknown section [Daemon]"},
    {"key outside a section", "workers = 3\n[convert]\n", ":1: key 'workers' outside a [section]"},
    {"line without =", "[convert]\nworkers 3\n", ":2: syntax error"},
    {"section without ]", "[convert\nworkers = 3\n", ":1: syntax error"},
    {"first error wins", "[convert]\nworkers = 0\nthreads = -1\n", ":2: '0' is not an integer"},
    {"syntax error before a bad value", "[convert]\nworkers 3\nthreads = -1\n", ":2: syntax error"},
    {"bad value before a syntax error", "[convert]\nthreads = -1\nworkers 3\n",
     ":2: '-1' is not an integer"},
};

Test(config_structure, table)
{
    struct config c;
    char err[1024];

    for (size_t i = 0; i < sizeof(structure) / sizeof(structure[0]); i++) {
        int rc = load_text(&c, structure[i].text, err, sizeof(err));
        if (structure[i].err == NULL) {
            cr_expect_eq(rc, 0, "%s: %s", structure[i].name, err);
        } else {
            cr_expect_eq(rc, -1, "%s: accepted", structure[i].name);
            cr_expect(strstr(err, structure[i].err) != NULL, "%s: '%s' lacks '%s'",
                      structure[i].name, err, structure[i].err);
        }
    }
    /* the values of the good ones */
    cr_assert_eq(load_text(&c, "[convert]\nworkers = 3 ; three\n", err, sizeof(err)), 0);
    cr_expect_eq(c.convert.workers, 3);
    cr_assert_eq(load_text(&c, "[convert]\nworkers = 2\nworkers = 3\n", err, sizeof(err)), 0);
    cr_expect_eq(c.convert.workers, 3);
}

Test(config_structure, empty_file_is_the_defaults)
{
    struct config c, d;
    char err[1024];

    cr_assert_eq(load_text(&c, "", err, sizeof(err)), 0, "%s", err);
    config_defaults(&d);
    cr_expect_eq(memcmp(&c, &d, sizeof(c)), 0);
}

Test(config_structure, missing_file)
{
    struct config c;
    char err[1024];

    cr_assert_eq(config_load(&c, "/nonexistent/hlsd.conf", err, sizeof(err)), -1);
    cr_expect(strstr(err, "/nonexistent/hlsd.conf: cannot open: No such file or directory"), "%s",
              err);
}

/* Lines longer than inih's buffer: handled, and the line numbers after
 * them stay right. */
Test(config_structure, long_lines_keep_line_numbers)
{
    struct config c;
    char err[1024];
    char *tok = repeat('T', 1800), *junk = repeat('x', 3000);
    size_t cap = 8192;
    char *text = malloc(cap);

    snprintf(text, cap, "[upload]\nsession_token = %s ; a comment\nregion = eu-west-1\n", tok);
    cr_assert_eq(load_text(&c, text, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(c.upload.session_token, tok);
    cr_expect_str_eq(c.upload.region, "eu-west-1");

    snprintf(text, cap, "[upload]\n# %s\nsession_token = %s\n\nbogus = 1\n", junk, tok);
    cr_assert_eq(load_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":5: unknown key 'bogus' in [upload]"), "%s", err);

    snprintf(text, cap, "[upload]\nregion = eu\n%s\nacl = x\n", junk);
    cr_assert_eq(load_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":3: syntax error"), "%s", err);

    snprintf(text, cap, "[upload]\n%s = 1\n", junk);
    cr_assert_eq(load_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":2: unknown key 'xxxx"), "%s", err);

    snprintf(text, cap, "[upload]\nacl = public-read\n\nendpoint = %s\n", junk);
    cr_assert_eq(load_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":4: value longer than 1023 bytes"), "%s", err);

    snprintf(text, cap,
             "[convert]\nworkers = 2\n[upload]\nsession_token = %s\n[convert]\nthreads = 99\n",
             tok);
    cr_assert_eq(load_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":6: '99' is not an integer in 0..64"), "%s", err);
    free(tok);
    free(junk);
    free(text);
}

/* ---------------------------------------------------------------- shipped files */

struct seen {
    char keys[64][64];
    int n, dup;
    char dup_name[64];
};

static int
collect(void *user, const char *section, const char *name, const char *value)
{
    struct seen *s = user;
    char k[64];
    (void)value;
    snprintf(k, sizeof(k), "%s.%s", section, name);
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], k) == 0) {
            s->dup++;
            snprintf(s->dup_name, sizeof(s->dup_name), "%s", k);
        }
    if (s->n < 64)
        snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", k);
    return 1;
}

Test(config_files, example_documents_every_key_once)
{
    char path[1024];
    struct seen s = {0};

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    cr_assert_eq(ini_parse(path, collect, &s), 0, "%s does not parse", path);
    cr_expect_eq(s.dup, 0, "%s sets %s twice", path, s.dup_name);
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        int found = 0;
        for (int j = 0; j < s.n; j++)
            found |= strcmp(s.keys[j], all_keys[i]) == 0;
        cr_expect(found, "%s does not set %s", path, all_keys[i]);
    }
    cr_expect_eq((size_t)s.n, sizeof(all_keys) / sizeof(all_keys[0]),
                 "%s sets %d keys, the loader knows %zu", path, s.n,
                 sizeof(all_keys) / sizeof(all_keys[0]));
}

Test(config_files, example_loads_to_the_defaults)
{
    struct config c, d;
    char path[1024], err[1024], a[4096], b[4096];

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
    config_defaults(&d);
    /* field by field first, for a readable failure */
    for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        char sec[32], key[64];
        const char *dot = strchr(all_keys[i], '.');
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - all_keys[i]), all_keys[i]);
        snprintf(key, sizeof(key), "%s", dot + 1);
        field(&c, sec, key, a, sizeof(a));
        field(&d, sec, key, b, sizeof(b));
        cr_expect_str_eq(a, b, "%s: %s is '%s', the default is '%s'", path, all_keys[i], a, b);
    }
    /* and whole, padding included (config_defaults zeroes the struct) */
    cr_expect_eq(memcmp(&c, &d, sizeof(c)), 0, "%s does not load to config_defaults()", path);
    /* the secrets are shipped empty: the AWS_* environment is used */
    cr_expect_str_empty(c.upload.access_key_id);
    cr_expect_str_empty(c.upload.secret_access_key);
    cr_expect_str_empty(c.upload.session_token);
}

Test(config_files, local_conf_loads)
{
    struct config c;
    char path[1024], err[1024], cwd[1024], want[2200];

    snprintf(path, sizeof(path), "%s/etc/hlsd.local.conf", fix_srcdir());
    cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "file://%s/var/www", cwd);
    cr_expect_str_eq(c.upload.url, want);
    snprintf(want, sizeof(want), "%s/var/hlsd.sock", cwd);
    cr_expect_str_eq(c.daemon.socket, want);
    cr_expect_geq(c.convert.workers, 1);
    cr_expect_geq(c.upload.workers, 1);
}

/* ---------------------------------------------------------------- hlsd -t */

/* hlsd_t - run `hlsd -t -c path`; its exit code, stderr in err */
static int
hlsd_t(const char *path, char *err, size_t cap)
{
    return fix_sh(err, cap, "cd '%s' && '%s/hlsd' -t -c '%s' 2>&1 >/dev/null", fix_tmp(),
                  fix_bindir(), path);
}

Test(config_hlsd_t, good_files_exit_0)
{
    char path[1024], out[4096];
    const char *t = fix_tmp();
    char text[2048];

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    cr_expect_eq(hlsd_t(path, out, sizeof(out)), 0, "%s: %s", path, out);
    snprintf(path, sizeof(path), "%s/etc/hlsd.local.conf", fix_srcdir());
    cr_expect_eq(hlsd_t(path, out, sizeof(out)), 0, "%s: %s", path, out);
    /* -t only checks: a missing output directory is one hlsd would create */
    snprintf(text, sizeof(text), "[upload]\nurl = file://%s/t-%ld/www\n", t, (long)getpid());
    const char *f = fix_text(text);
    cr_expect_eq(hlsd_t(f, out, sizeof(out)), 0, "%s", out);
    snprintf(path, sizeof(path), "%s/t-%ld", t, (long)getpid());
    cr_expect(!fix_exists(path), "hlsd -t created %s", path);
    /* its stdout says so */
    cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsd' -t -c '%s' 2>/dev/null", fix_bindir(), f), 0);
    cr_expect(strstr(out, "configuration ok"), "%s", out);
}

static const struct {
    const char *text, *err;
} bad_files[] = {
    {"[daemon]\nmax_queued = 0\n", ":2: '0' is not an integer in 1..1000000"},
    {"[convert]\n\n\nwrkers = 2\n", ":4: unknown key 'wrkers' in [convert]"},
    {"[daemon]\n[deamon]\n", ":2: unknown section [deamon]"},
    {"[convert]\nladder = 720p\n", ":2: '720p' is not a ladder"},
    {"[upload]\nurl = http://x/\n", ":2: 'http://x/' is neither"},
    {"[convert]\nworkers = 3\nthreads\n", ":3: syntax error"},
    {"[upload]\nbackoff_base = 1m\nbackoff_max = 1s\n", "backoff_max is below backoff_base"},
    {"[upload]\nurl = file:///etc/passwd/www\n", "[upload]"},
};

Test(config_hlsd_t, bad_files_exit_2_naming_line_and_reason)
{
    char out[4096];

    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        const char *f = fix_text(bad_files[i].text);
        cr_expect_eq(hlsd_t(f, out, sizeof(out)), 2, "%s", bad_files[i].text);
        cr_expect(strstr(out, f) != NULL, "the error does not name the file: %s", out);
        cr_expect(strstr(out, bad_files[i].err) != NULL, "'%s' lacks '%s'", out, bad_files[i].err);
    }
}

Test(config_hlsd_t, missing_file_exits_2)
{
    char out[4096];

    cr_expect_eq(hlsd_t("/nonexistent/hlsd.conf", out, sizeof(out)), 2);
    cr_expect(strstr(out, "/nonexistent/hlsd.conf: cannot open: No such file or directory"), "%s",
              out);
}

Test(config_hlsd_t, usage_exits_2)
{
    char out[4096];

    cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsd' -x 2>&1", fix_bindir()), 2);
    cr_expect(strstr(out, "usage: hlsd"), "%s", out);
    cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsd' -t extra 2>&1", fix_bindir()), 2);
}
