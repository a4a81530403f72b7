/*
 * fix_config.c - see fix_config.h.
 */
#include "tests/fix_config.h"
#include "workers/convert.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

int
fix_config_text(struct config *c, const char *text, char *err, size_t errlen)
{
    err[0] = '\0';
    return config_load(c, fix_text(text), err, errlen);
}

void
fix_config_field(const struct config *c, const char *sec, const char *key, char *out, size_t cap)
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
    S("daemon", "respawn_forgive",
      snprintf(out, cap, "%lld", (long long)c->daemon.respawn_forgive_ms));
    S("convert", "workers", snprintf(out, cap, "%u", c->convert.workers));
    S("convert", "threads", snprintf(out, cap, "%u", c->convert.threads));
    S("convert", "ladder", snprintf(out, cap, "%s", c->convert.ladder));
    S("convert", "segment_seconds", snprintf(out, cap, "%g", c->convert.segment_seconds));
    S("convert", "preset", snprintf(out, cap, "%s", c->convert.preset));
    S("convert", "job_timeout", snprintf(out, cap, "%lld", (long long)c->convert.job_timeout_ms));
    S("convert", "stall_timeout",
      snprintf(out, cap, "%lld", (long long)c->convert.stall_timeout_ms));
    S("convert", "max_attempts", snprintf(out, cap, "%u", c->convert.max_attempts));
    S("convert", "max_kills", snprintf(out, cap, "%u", c->convert.max_kills));
    S("convert", "audio", snprintf(out, cap, "%s", c->convert.audio_muxed ? "muxed" : "separate"));
    S("convert", "first_variant", snprintf(out, cap, "%s", c->convert.first_variant));
    S("convert", "thumbnails", snprintf(out, cap, "%d", c->convert.thumbnails));
    S("convert", "storyboard_interval", snprintf(out, cap, "%g", c->convert.storyboard_interval));
    S("convert", "segment_format", snprintf(out, cap, "%s", c->convert.fmp4 ? "fmp4" : "ts"));
    S("convert", "video_codec",
      snprintf(out, cap, "%s", convert_codec_name((enum convert_codec)c->convert.video_codec)));
    S("convert", "x265_preset", snprintf(out, cap, "%s", c->convert.x265_preset));
    S("convert", "svtav1_preset", snprintf(out, cap, "%s", c->convert.svtav1_preset));
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
    S("http", "listen", snprintf(out, cap, "%s", c->http.listen));
    S("http", "token_file", snprintf(out, cap, "%s", c->http.token_file));
    S("http", "tls_cert", snprintf(out, cap, "%s", c->http.tls_cert));
    S("http", "tls_key", snprintf(out, cap, "%s", c->http.tls_key));
    S("input", "endpoint", snprintf(out, cap, "%s", c->input.endpoint));
    S("input", "region", snprintf(out, cap, "%s", c->input.region));
    S("input", "path_style", snprintf(out, cap, "%d", c->input.path_style));
    S("input", "access_key_id", snprintf(out, cap, "%s", c->input.access_key_id));
    S("input", "secret_access_key", snprintf(out, cap, "%s", c->input.secret_access_key));
    S("input", "session_token", snprintf(out, cap, "%s", c->input.session_token));
    S("input", "connect_timeout",
      snprintf(out, cap, "%lld", (long long)c->input.connect_timeout_ms));
    S("input", "low_speed_time", snprintf(out, cap, "%lld", (long long)c->input.low_speed_time_ms));
    S("input", "max_redirects", snprintf(out, cap, "%u", c->input.max_redirects));
    S("input", "max_attempts", snprintf(out, cap, "%u", c->input.max_attempts));
    S("input", "ca_file", snprintf(out, cap, "%s", c->input.ca_file));
    S("notify", "url", snprintf(out, cap, "%s", c->notify.url));
    S("notify", "secret", snprintf(out, cap, "%s", c->notify.secret));
    S("notify", "max_attempts", snprintf(out, cap, "%u", c->notify.max_attempts));
    S("notify", "timeout", snprintf(out, cap, "%lld", (long long)c->notify.timeout_ms));
    S("upload", "keep_failed_output", snprintf(out, cap, "%d", c->upload.keep_failed_output));
    S("upload", "give_up_after", snprintf(out, cap, "%lld", (long long)c->upload.give_up_after_ms));
#undef S
    cr_assert_fail("fix_config_field: no key %s.%s", sec, key);
}

/* Every key of every section: the list etc/hlsd.conf must document. */
const char *const fix_config_keys[] = {
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
    "daemon.respawn_forgive",
    "convert.workers",
    "convert.threads",
    "convert.ladder",
    "convert.segment_seconds",
    "convert.preset",
    "convert.job_timeout",
    "convert.stall_timeout",
    "convert.max_attempts",
    "convert.max_kills",
    "convert.audio",
    "convert.first_variant",
    "convert.thumbnails",
    "convert.storyboard_interval",
    "convert.segment_format",
    "convert.video_codec",
    "convert.x265_preset",
    "convert.svtav1_preset",
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
    "http.listen",
    "http.token_file",
    "http.tls_cert",
    "http.tls_key",
    "input.endpoint",
    "input.region",
    "input.path_style",
    "input.access_key_id",
    "input.secret_access_key",
    "input.session_token",
    "input.connect_timeout",
    "input.low_speed_time",
    "input.max_redirects",
    "input.max_attempts",
    "input.ca_file",
    "notify.url",
    "notify.secret",
    "notify.max_attempts",
    "notify.timeout",
    "upload.give_up_after",
    "upload.keep_failed_output",
};

const size_t fix_config_nkeys = sizeof(fix_config_keys) / sizeof(fix_config_keys[0]);
