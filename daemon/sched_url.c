/*
 * sched_url.c - where a job's objects go: keys under the upload URL and
 * the URL a client is given for the master playlist (docs/ARCHITECTURE.md,
 * "Output and URLs").
 */
#include "daemon/sched.h"

#include <stdio.h>
#include <string.h>

void
sched_url_key(const struct store_job *row, const char *rel, char *out, size_t cap)
{
    if (row->key[0]) /* --key: exactly there, no id */
        snprintf(out, cap, "%s/%s", row->key, rel);
    else if (row->prefix[0])
        snprintf(out, cap, "%s/%lld/%s", row->prefix, (long long)row->id, rel);
    else
        snprintf(out, cap, "%lld/%s", (long long)row->id, rel);
}

void
sched_url_playlist(const struct config *cfg, const struct store_job *row, char *out, size_t cap)
{
    sched_url_object(cfg, row, "master.m3u8", out, cap);
}

void
sched_url_object(const struct config *cfg, const struct store_job *row, const char *rel, char *out,
                 size_t cap)
{
    char key[512];
    const char *url = cfg->upload.url;

    sched_url_key(row, rel, key, sizeof(key));
    if (strncmp(url, "file://", 7) == 0) {
        snprintf(out, cap, "%s/%s", url + 7, key);
        return;
    }
    /* s3://bucket[/prefix] */
    const char *b = url + 5, *slash = strchr(b, '/');
    char bucket[256], prefix[512] = "";
    snprintf(bucket, sizeof(bucket), "%.*s", slash ? (int)(slash - b) : (int)strlen(b), b);
    if (slash && slash[1]) {
        snprintf(prefix, sizeof(prefix), "%s", slash + 1);
        size_t n = strlen(prefix);
        if (n && prefix[n - 1] == '/')
            prefix[n - 1] = '\0';
    }
    char full[1024];
    snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "/" : "", key);
    if (cfg->upload.public_url[0]) {
        size_t n = strlen(cfg->upload.public_url);
        snprintf(out, cap, "%s%s%s", cfg->upload.public_url,
                 n && cfg->upload.public_url[n - 1] == '/' ? "" : "/", full);
    } else if (cfg->upload.endpoint[0] && cfg->upload.path_style) {
        snprintf(out, cap, "%s/%s/%s", cfg->upload.endpoint, bucket, full);
    } else {
        snprintf(out, cap, "s3://%s/%s", bucket, full);
    }
}
