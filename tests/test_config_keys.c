/*
 * test_config_keys.c - daemon/config.c key by key: every key of every
 * section with good and bad values (table-driven, edge cases first: the
 * bounds, a value one byte too long), the table covering every key, the
 * check across keys, and relative paths.
 */
#include "tests/fix_config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    {"daemon", "socket_mode", "0", 0, NULL, "does not let the socket's owner in"},
    {"daemon", "socket_mode", "0000", 0, NULL, "does not let the socket's owner in"},
    {"daemon", "socket_mode", "0460", 0, NULL, "does not let the socket's owner in"},
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
    {"daemon", "respawn_forgive", "60s", 0, "60000", NULL},
    {"daemon", "respawn_forgive", "2s", 0, "2000", NULL},
    {"daemon", "respawn_forgive", "0", 0, NULL, "above zero"},
    {"daemon", "max_input_size", "99999999999G", 0, NULL, "is not a size"},
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
    {"convert", "max_kills", "1", 0, "1", NULL},
    {"convert", "max_kills", "1000", 0, "1000", NULL},
    {"convert", "max_kills", "0", 0, NULL, "is not an integer in 1..1000"},
    {"convert", "max_kills", "1001", 0, NULL, "is not an integer in 1..1000"},
    {"convert", "audio", "separate", 0, "separate", NULL},
    {"convert", "audio", "muxed", 0, "muxed", NULL},
    {"convert", "audio", "both", 0, NULL, "is not separate or muxed"},
    {"convert", "first_variant", "auto", 0, "auto", NULL},
    {"convert", "first_variant", "lowest", 0, "lowest", NULL},
    {"convert", "first_variant", "720p", 0, "720p", NULL},
    {"convert", "first_variant", "720", 0, NULL, "is not auto, lowest, highest or a rendition"},
    {"convert", "first_variant", "p", 0, NULL, "is not auto, lowest, highest or a rendition"},
    {"convert", "thumbnails", "no", 0, "0", NULL},
    {"convert", "thumbnails", "yes", 0, "1", NULL},
    {"convert", "thumbnails", "some", 0, NULL, "is not yes or no"},
    {"convert", "storyboard_interval", "0", 0, "0", NULL},
    {"convert", "storyboard_interval", "2.5", 0, "2.5", NULL},
    {"convert", "storyboard_interval", "-1", 0, NULL, "is not a number in 0..3600"},
    {"convert", "storyboard_interval", "3601", 0, NULL, "is not a number in 0..3600"},
    /* CMAF: the segment format, codecs and their presets */
    {"convert", "segment_format", "ts", 0, "ts", NULL},
    {"convert", "segment_format", "fmp4", 0, "fmp4", NULL},
    {"convert", "segment_format", "cmaf", 0, NULL, "is not ts or fmp4"},
    {"convert", "video_codec", "h264", 0, "h264", NULL},
    {"convert", "video_codec", "vp9", 0, NULL, "is not h264, hevc or av1"},
    /* HEVC and AV1 with the default MPEG-TS: refused, saying how */
    {"convert", "video_codec", "hevc", 0, NULL, "need fMP4 segments"},
    {"convert", "ladder", "720:2800k:av1,480:1400k", 0, NULL, "set segment_format = fmp4"},
    {"convert", "ladder", "720:2800k:h264,480:1400k", 0, "720:2800k:h264,480:1400k", NULL},
    {"convert", "ladder", "720:2800k:vp9", 0, NULL, "is h264, hevc or av1"},
    {"convert", "x265_preset", "ultrafast", 0, "ultrafast", NULL},
    {"convert", "x265_preset", "placebo", 0, "placebo", NULL},
    {"convert", "x265_preset", "quick", 0, NULL, "is not an x265 preset"},
    {"convert", "svtav1_preset", "12", 0, "12", NULL},
    {"convert", "svtav1_preset", "0", 0, "0", NULL},
    {"convert", "svtav1_preset", "14", 0, NULL, "is not an SVT-AV1 preset"},
    {"convert", "svtav1_preset", "fast", 0, NULL, "is not an SVT-AV1 preset"},
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
    /* http: empty is off; an address and a port, numeric or localhost */
    {"http", "listen", "", 0, "", NULL},
    {"http", "listen", "127.0.0.1:8080", 0, "127.0.0.1:8080", NULL},
    {"http", "listen", "localhost:1", 0, "localhost:1", NULL},
    {"http", "listen", "[::1]:65535", 0, "[::1]:65535", NULL},
    {"http", "listen", "0.0.0.0:8080", 0, "0.0.0.0:8080", NULL},
    {"http", "listen", "127.0.0.1:0", 0, NULL, "is not an address and port"},
    {"http", "listen", "127.0.0.1:65536", 0, NULL, "is not an address and port"},
    {"http", "listen", "8080", 0, NULL, "is not an address and port"},
    {"http", "listen", "::1:8080", 0, NULL, "is not an address and port"},
    {"http", "listen", "example.com:80", 0, NULL, "is not an address and port"},
    {"http", "listen", "[::1]8080", 0, NULL, "is not an address and port"},
    {"http", "token_file", "/etc/hlsd/tokens", 0, "/etc/hlsd/tokens", NULL},
    {"http", "token_file", LONG_VALUE, 1024, NULL, "value longer than 1023 bytes"},
    {"http", "tls_cert", "", 0, "", NULL},
    {"http", "tls_cert", LONG_VALUE, 1024, NULL, "value longer than 1023 bytes"},
    {"http", "tls_key", "", 0, "", NULL},
    {"http", "tls_key", LONG_VALUE, 1024, NULL, "value longer than 1023 bytes"},
    /* input */
    {"input", "endpoint", "http://127.0.0.1:9000", 0, "http://127.0.0.1:9000", NULL},
    {"input", "region", "eu-west-1", 0, "eu-west-1", NULL},
    {"input", "region", LONG_VALUE, 64, NULL, "value longer than 63 bytes"},
    {"input", "path_style", "yes", 0, "1", NULL},
    {"input", "path_style", "", 0, "-1", NULL},
    {"input", "path_style", "maybe", 0, NULL, "is not yes or no"},
    {"input", "access_key_id", "AKIAEXAMPLE", 0, "AKIAEXAMPLE", NULL},
    {"input", "secret_access_key", "wJalrXUtnFEMI/K7MDENG", 0, "wJalrXUtnFEMI/K7MDENG", NULL},
    {"input", "session_token", LONG_VALUE, 2047, "", NULL},
    {"input", "session_token", LONG_VALUE, 2048, NULL, "value longer than 2047 bytes"},
    {"input", "connect_timeout", "3s", 0, "3000", NULL},
    {"input", "connect_timeout", "0", 0, NULL, "above zero"},
    {"input", "low_speed_time", "1m", 0, "60000", NULL},
    {"input", "low_speed_time", "500ms", 0, NULL, "above zero"},
    {"input", "max_redirects", "0", 0, "0", NULL},
    {"input", "max_redirects", "21", 0, NULL, "is not an integer in 0..20"},
    {"input", "max_attempts", "1", 0, "1", NULL},
    {"input", "max_attempts", "0", 0, NULL, "is not an integer in 1..100"},
    {"input", "ca_file", "/etc/ssl/private-ca.pem", 0, "/etc/ssl/private-ca.pem", NULL},
    {"input", "ca_file", "", 0, "", NULL},
    {"input", "ca_file", "ca.pem", 0, NULL, "is not an absolute path"},
    /* notify */
    {"notify", "url", "https://hooks.example.com/hlsd", 0, "https://hooks.example.com/hlsd", NULL},
    {"notify", "url", "", 0, "", NULL},
    {"notify", "url", "ftp://hooks.example.com/", 0, NULL, "is not an http:// or https:// URL"},
    {"notify", "secret", "s3cret", 0, "s3cret", NULL},
    {"notify", "max_attempts", "1000", 0, "1000", NULL},
    {"notify", "max_attempts", "0", 0, NULL, "is not an integer in 1..1000"},
    {"notify", "timeout", "2s", 0, "2000", NULL},
    {"notify", "timeout", "0", 0, NULL, "above zero"},
    {"upload", "give_up_after", "1h", 0, "3600000", NULL},
    {"upload", "give_up_after", "90s", 0, "90000", NULL},
    {"upload", "give_up_after", "0", 0, NULL, "above zero"},
    {"upload", "keep_failed_output", "yes", 0, "1", NULL},
    {"upload", "keep_failed_output", "no", 0, "0", NULL},
    {"upload", "keep_failed_output", "maybe", 0, NULL, "is not yes or no"},
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
            gen = fix_repeat('a', k->len);
            gen[0] = '/';
            v = gen;
        }
        /* a comment and a blank line first: the error must name line 4 */
        snprintf(text, sizeof(text), "# test %zu\n\n[%s]\n%s = %s\n", i, k->sec, k->key, v);
        int rc = fix_config_text(&c, text, err, sizeof(err));
        if (k->expect) {
            cr_expect_eq(rc, 0, "[%s] %s = %.60s: rejected: %s", k->sec, k->key, v, err);
            if (rc == 0) {
                fix_config_field(&c, k->sec, k->key, got, sizeof(got));
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
    for (size_t i = 0; i < fix_config_nkeys; i++) {
        int good = 0, bad = 0;
        for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
            char name[128];
            snprintf(name, sizeof(name), "%s.%s", keys[j].sec, keys[j].key);
            if (strcmp(name, fix_config_keys[i]) == 0)
                *(keys[j].expect ? &good : &bad) += 1;
        }
        cr_expect(good > 0, "%s has no good value in the table", fix_config_keys[i]);
        const char *free_text[] = {
            "daemon.spool_dir",  "daemon.pidfile",       "daemon.group",
            "upload.endpoint",   "upload.access_key_id", "upload.secret_access_key",
            "upload.public_url", "upload.cache_control", "upload.acl",
            "input.endpoint",    "input.access_key_id",  "input.secret_access_key",
            "notify.secret"};
        int any = 0;
        for (size_t j = 0; j < sizeof(free_text) / sizeof(free_text[0]); j++)
            any |= strcmp(free_text[j], fix_config_keys[i]) == 0;
        cr_expect(bad > 0 || any, "%s has no bad value in the table", fix_config_keys[i]);
    }
}

Test(config_keys, backoff_max_below_base)
{
    struct config c;
    char err[1024];

    cr_assert_eq(
        fix_config_text(&c, "[upload]\nbackoff_base = 10s\nbackoff_max = 5s\n", err, sizeof(err)),
        -1);
    cr_expect(strstr(err, "backoff_max is below backoff_base"), "%s", err);
    cr_assert_eq(
        fix_config_text(&c, "[upload]\nbackoff_base = 5s\nbackoff_max = 5s\n", err, sizeof(err)), 0,
        "%s", err);
}

Test(config_keys, relative_paths_resolve_against_the_start_directory)
{
    struct config c;
    char err[1024], cwd[1024], want[2300];

    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(
        fix_config_text(&c,
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
