/*
 * sched_url.c - where a job's objects go: keys under the upload URL and
 * the URL a client is given for the master playlist.
 */
#include "daemon/sched_int.h"

#include "daemon/job.h"
#include "daemon/log.h"
#include "daemon/spool.h"
#include "ipc/proto.h"
#include "workers/backoff.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void
sched_object_key(const struct store_job *row, const char *rel, char *out, size_t cap)
{
    if (row->prefix[0])
        snprintf(out, cap, "%s/%lld/%s", row->prefix, (long long)row->id, rel);
    else
        snprintf(out, cap, "%lld/%s", (long long)row->id, rel);
}

void
sched_playlist_url(const struct store_job *row, char *out, size_t cap)
{
    char key[512];
    const char *url = M.cfg.upload.url;

    sched_object_key(row, "master.m3u8", key, sizeof(key));
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
    if (M.cfg.upload.public_url[0]) {
        size_t n = strlen(M.cfg.upload.public_url);
        snprintf(out, cap, "%s%s%s", M.cfg.upload.public_url,
                 n && M.cfg.upload.public_url[n - 1] == '/' ? "" : "/", full);
    } else if (M.cfg.upload.endpoint[0] && M.cfg.upload.path_style) {
        snprintf(out, cap, "%s/%s/%s", M.cfg.upload.endpoint, bucket, full);
    } else {
        snprintf(out, cap, "s3://%s/%s", bucket, full);
    }
}
