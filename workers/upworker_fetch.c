/*
 * upworker_fetch.c - an input named by URL, fetched into the job's spool:
 * http:// and https:// with libcurl (redirects bounded, connect and
 * low-speed timeouts), s3://bucket/key with a SigV4 GET through the
 * storage library and the [input] credentials.
 *
 * The bytes go to "<path>.part", are counted against max_input_size as
 * they arrive (the transfer stops at the first byte over it), fsynced,
 * and renamed to <path> only when complete, so an interrupted fetch never
 * leaves something that looks like an input: the next attempt starts over.
 * Progress goes to the master about twice a second.
 *
 * Must never put a secret into a message: URLs are shown without their
 * user information and query (url_redact), S3 errors come from
 * the storage library, which scrubs its own.
 */
#include "workers/upworker_int.h"
#include "workers/url.h"

#include "ipc/msclock.h"
#include "ipc/proto.h"
#include "workers/storage_impl.h"
#include "workers/wlog.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FETCH_REPORT_MS 500

struct fetch {
    struct up *u;
    worker_t *w;
    uint64_t job;
    int fd;
    uint64_t max, done, total;
    int too_large, write_errno, canceled;
    int64_t reported;
};

static void
fetch_report(struct fetch *f, int force)
{
    int64_t now = msclock_mono();

    if (!force && now - f->reported < FETCH_REPORT_MS)
        return;
    f->reported = now;
    struct proto_up_progress p = {.done = f->done, .total = f->total};
    worker_send(f->w, PROTO_UP_PROGRESS, f->job, &p, sizeof(p));
}

static size_t
fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct fetch *f = arg;
    size_t n = size * nmemb;

    if (n > f->max - f->done) {
        f->too_large = 1;
        return 0; /* curl fails with CURLE_WRITE_ERROR */
    }
    for (size_t off = 0; off < n;) {
        ssize_t k = write(f->fd, data + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            f->write_errno = errno;
            return 0;
        }
        off += (size_t)k;
    }
    f->done += n;
    return n;
}

/* fetch_progress - both back-ends' progress: report, and stop on a
 * shutdown or an input that announced more than max_input_size */
static int
fetch_progress(void *arg, unsigned long long done, unsigned long long total)
{
    struct fetch *f = arg;

    (void)done;
    if (total > f->max) {
        f->too_large = 1;
        return 1;
    }
    f->total = total;
    fetch_report(f, 0);
    /* a cancel from the master is read here, between chunks */
    if (worker_pump(f->w, 0) < 0)
        return 1; /* the master is gone or broke the protocol: the loop ends us */
    if (f->u->cancel_job == f->job) {
        f->canceled = 1;
        return 1;
    }
    return worker_stopping(f->w);
}

static int
fetch_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    return fetch_progress(arg, (unsigned long long)dlnow, (unsigned long long)dltotal);
}

/* fetch_http - GET url into f->fd; 0 or -1 with r filled */
static int
fetch_http(struct up *u, struct fetch *f, const char *url, const char *shown,
           struct storage_result *r)
{
    const struct upworker_settings *set = u->set;
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;

    if (u->web == NULL && (u->web = curl_easy_init()) == NULL) {
        r->cls = STORAGE_RETRYABLE;
        snprintf(r->error, sizeof(r->error), "fetching %s: out of memory", shown);
        return -1;
    }
    CURL *c = u->web;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, set->max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)set->max_redirects);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hlsd");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     set->input.connect_timeout_ms > 0 ? set->input.connect_timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     set->input.low_speed_time_s > 0 ? set->input.low_speed_time_s : 30L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
    if (set->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, set->ca_file);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, fetch_xferinfo);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r->http_status = status;
    if (rc == CURLE_OK)
        return 0;
    if (f->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        f->too_large = 1;
        return -1; /* the caller says so */
    }
    if (f->write_errno) {
        r->cls = STORAGE_RETRYABLE;
        snprintf(r->error, sizeof(r->error), "fetching %s: writing into the spool: %s", shown,
                 strerror(f->write_errno));
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
        r->cls = storage_classify_http(status, NULL);
        snprintf(r->error, sizeof(r->error), "fetching %s: HTTP %ld", shown, status);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        r->cls = STORAGE_RETRYABLE;
        snprintf(r->error, sizeof(r->error), "fetching %s: timed out (%.90s)", shown,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        r->cls = storage_classify_curl(rc);
        snprintf(r->error, sizeof(r->error), "fetching %s: %.90s", shown,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    return -1;
}

/* fetch_s3 - a SigV4 GET of s3://bucket/key into f->fd */
static int
fetch_s3(struct up *u, struct fetch *f, const char *url, struct storage_result *r)
{
    const char *b = url + 5, *slash = strchr(b, '/');
    char bucket[STORAGE_BUCKET_MAX + 8], err[512];

    if (slash == NULL || slash == b || slash[1] == '\0' ||
        (size_t)(slash - b) > STORAGE_BUCKET_MAX) {
        r->cls = STORAGE_PERMANENT;
        snprintf(r->error, sizeof(r->error), "%.400s is not s3://bucket/key", url);
        return -1;
    }
    snprintf(bucket, sizeof(bucket), "s3://%.*s", (int)(slash - b), b);
    struct storage_config sc = u->set->input;
    sc.url = bucket;
    sc.progress = fetch_progress;
    sc.progress_arg = f;
    storage_t *st = storage_open(&sc, err, sizeof(err));
    if (st == NULL) {
        r->cls = STORAGE_PERMANENT;
        snprintf(r->error, sizeof(r->error), "fetching %.200s: %.250s", url, err);
        return -1;
    }
    uint64_t len = 0;
    int rc = storage_s3_get(st, slash + 1, f->fd, NULL, 0, &len, r);
    storage_close(st);
    /* the storage library wrote the bytes itself: count them now */
    off_t end = lseek(f->fd, 0, SEEK_CUR);
    f->done = end > 0 ? (uint64_t)end : 0;
    if (rc == 0 && f->done > f->max) {
        f->too_large = 1;
        return -1;
    }
    return rc;
}

/* fetch_keep - the complete input: durable, then renamed into place */
static int
fetch_keep(struct fetch *f, const char *part, const char *path)
{
    if (fsync(f->fd) < 0 || rename(part, path) < 0)
        return -1;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int rc = fsync(dfd);
    close(dfd);
    return rc;
}

void
upworker_fetch(struct up *u, worker_t *w, uint64_t job, char *buf)
{
    struct storage_result r;
    struct fetch f = {.u = u, .w = w, .job = job, .fd = -1};
    char *url = strchr(buf, '\n'), *path = url ? strchr(url + 1, '\n') : NULL;
    char part[4200], shown[360];
    int rc;

    memset(&r, 0, sizeof(r));
    r.retry_after_ms = -1;
    if (path == NULL) {
        r.cls = STORAGE_PERMANENT;
        snprintf(r.error, sizeof(r.error), "malformed fetch request");
        upworker_reply(w, job, -1, &r);
        return;
    }
    *url++ = '\0';
    *path++ = '\0';
    f.max = strtoull(buf, NULL, 10);
    if (f.max == 0)
        f.max = UINT64_MAX;
    url_redact(url, shown, sizeof(shown));
    snprintf(part, sizeof(part), "%s.part", path);
    f.fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (f.fd < 0) {
        r.cls = STORAGE_RETRYABLE;
        snprintf(r.error, sizeof(r.error), "fetching %s: open(%.40s...): %s", shown, part,
                 strerror(errno));
        upworker_reply(w, job, -1, &r);
        return;
    }
    fetch_report(&f, 1);
    if (strncmp(url, "s3://", 5) == 0)
        rc = fetch_s3(u, &f, url, &r);
    else
        rc = fetch_http(u, &f, url, shown, &r);
    if (rc < 0 && f.canceled) {
        r.cls = STORAGE_RETRYABLE;
        snprintf(r.error, sizeof(r.error), "fetching %s: canceled", shown);
    } else if (rc < 0 && f.too_large) {
        r.cls = STORAGE_PERMANENT;
        snprintf(r.error, sizeof(r.error),
                 "fetching %s: the input is larger than max_input_size (%llu bytes)", shown,
                 (unsigned long long)f.max);
    } else if (rc == 0 && f.done == 0) {
        r.cls = STORAGE_PERMANENT;
        snprintf(r.error, sizeof(r.error), "fetching %s: the input is empty", shown);
        rc = -1;
    } else if (rc == 0 && fetch_keep(&f, part, path) < 0) {
        r.cls = STORAGE_RETRYABLE;
        snprintf(r.error, sizeof(r.error), "fetching %s: saving the input: %s", shown,
                 strerror(errno));
        rc = -1;
    }
    close(f.fd);
    if (rc < 0) {
        unlink(part);
        wlog_warn("job %llu: %s (%s)", (unsigned long long)job, r.error, storage_class_name(r.cls));
    } else {
        f.total = f.done;
        fetch_report(&f, 1);
        wlog_info("job %llu: fetched %s (%llu bytes)", (unsigned long long)job, shown,
                  (unsigned long long)f.done);
        r.error[0] = '\0';
        r.etag[0] = '\0';
    }
    upworker_reply(w, job, rc, &r);
}
