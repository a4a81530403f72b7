/*
 * storage_s3.c - the s3:// back-end: one signed HTTP request per object
 * through one kept-alive libcurl handle, signed by libcurl's AWS SigV4.
 *
 * The body is streamed from the file with pread() (never read whole into
 * memory), after a first pass that computes its MD5 and SHA-256: the server
 * checks both (Content-MD5, x-amz-content-sha256) and refuses a body that is
 * not the one we hashed, and the ETag it returns is checked against the MD5.
 *
 * libcurl 7.88's SigV4 has traps this file works around (docs/upload.md):
 *  - it does not add x-amz-content-sha256 itself; S3 requires it, and when we
 *    add it curl uses its value as the payload hash it signs;
 *  - every header in CURLOPT_HTTPHEADER is signed, including a header that is
 *    only there to be removed ("Expect:"), which is then signed but not
 *    sent, so the signature never matches: we never remove headers;
 *  - the path is signed exactly as it appears in the URL, so the key is
 *    percent-encoded once by us (storage_key.c) and CURLOPT_PATH_AS_IS stops
 *    curl from collapsing "/./" or "//";
 *  - CURLOPT_USERPWD splits "key:secret" at the first colon, and Swift's
 *    access keys are "account:user": username and password are set apart.
 *
 * Must never log or print, and never put the secret into any text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workers/storage_impl.h"

#define STORAGE_S3_BODY_MAX     8192
#define STORAGE_S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One request's state, shared with curl's callbacks */
struct storage_s3_xfer {
    int in_fd;
    uint64_t in_size, in_off;
    int in_errno; /* why the read callback aborted; 0 if it did not */
    int out_fd;
    int out_errno;
    long status; /* from the last status line (a 100 Continue is followed by another) */
    char etag[80];
    char ctype[128];
    char retry_after[128];
    uint64_t clen;
    char body[STORAGE_S3_BODY_MAX];
    size_t body_len;
};

static char *
storage_s3_dup(const char *cfg, const char *env, const char *def)
{
    const char *v = cfg;

    if (v == NULL || *v == '\0')
        v = env ? getenv(env) : NULL;
    if (v == NULL || *v == '\0')
        v = def;
    return v ? strdup(v) : NULL;
}

int
storage_s3_open(storage_t *s, const struct storage_config *cfg, char *err, size_t errlen)
{
    char def[256];
    const char *ep;
    size_t n;

    s->region = storage_s3_dup(cfg->region, "AWS_REGION", NULL);
    if (s->region == NULL)
        s->region = storage_s3_dup(NULL, "AWS_DEFAULT_REGION", "us-east-1");
    if (s->region == NULL)
        goto nomem;
    snprintf(def, sizeof(def), "https://s3.%s.amazonaws.com", s->region);
    ep = cfg->endpoint;
    if (ep == NULL || *ep == '\0')
        ep = getenv("AWS_ENDPOINT_URL_S3");
    if (ep == NULL || *ep == '\0')
        ep = getenv("AWS_ENDPOINT_URL");
    s->endpoint = storage_s3_dup(ep, NULL, def);
    if (s->endpoint == NULL)
        goto nomem;
    n = strlen(s->endpoint);
    while (n > 0 && s->endpoint[n - 1] == '/')
        s->endpoint[--n] = '\0';
    if (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0) {
        snprintf(err, errlen, "storage s3://%s: endpoint %s is not an http:// or https:// URL",
                 s->loc.bucket, s->endpoint);
        errno = EINVAL;
        return -1;
    }
    s->access_key = storage_s3_dup(cfg->access_key_id, "AWS_ACCESS_KEY_ID", NULL);
    s->secret = storage_s3_dup(cfg->secret_access_key, "AWS_SECRET_ACCESS_KEY", NULL);
    s->token = storage_s3_dup(cfg->session_token, "AWS_SESSION_TOKEN", NULL);
    if (s->access_key == NULL || s->secret == NULL) {
        snprintf(err, errlen,
                 "storage s3://%s: no credentials (configure them or set AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY)",
                 s->loc.bucket);
        errno = EINVAL;
        return -1;
    }
    n = (size_t)snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region);
    if (n >= sizeof(s->sigv4) || strchr(s->region, ':') != NULL) {
        snprintf(err, errlen, "storage s3://%s: invalid region", s->loc.bucket);
        errno = EINVAL;
        return -1;
    }
    s->path_style = cfg->path_style;
    s->no_etag_check = cfg->no_etag_check;
    s->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
    s->low_speed_time_s = cfg->low_speed_time_s > 0 ? cfg->low_speed_time_s : 30;
    s->curl = curl_easy_init();
    if (s->curl == NULL)
        goto nomem;
    return 0;
nomem:
    snprintf(err, errlen, "storage s3://%s: out of memory", s->loc.bucket);
    errno = ENOMEM;
    return -1;
}

static void
storage_s3_free_secret(char *p)
{
    if (p != NULL) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

void
storage_s3_close(storage_t *s)
{
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    free(s->endpoint);
    free(s->region);
    free(s->access_key);
    storage_s3_free_secret(s->secret);
    storage_s3_free_secret(s->token);
}

int
storage_s3_object_url(storage_t *s, const char *key, char *out, size_t outlen)
{
    char full[STORAGE_KEY_MAX + 1], enc[3 * STORAGE_KEY_MAX + 1];
    const char *authority = strstr(s->endpoint, "://") + 3;
    int n;

    if (storage_key_join(s->loc.prefix, key, full, sizeof(full)) < 0 ||
        storage_key_encode(full, enc, sizeof(enc)) < 0)
        return -1;
    if (s->path_style)
        n = snprintf(out, outlen, "%s/%s/%s", s->endpoint, s->loc.bucket, enc);
    else
        n = snprintf(out, outlen, "%.*s%s.%s/%s", (int)(authority - s->endpoint), s->endpoint,
                     s->loc.bucket, authority, enc);
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static size_t
storage_s3_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct storage_s3_xfer *x = arg;
    uint64_t left = x->in_size - x->in_off;
    size_t want = size * nitems;
    ssize_t n;

    if (left == 0)
        return 0;
    if (want > left)
        want = (size_t)left;
    do
        n = pread(x->in_fd, buf, want, (off_t)x->in_off);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* n == 0: the file shrank after we hashed it and announced its size */
        x->in_errno = n < 0 ? errno : ENODATA;
        return CURL_READFUNC_ABORT;
    }
    x->in_off += (uint64_t)n;
    return (size_t)n;
}

/* storage_s3_progress - forward curl's progress to the caller's callback;
 * curl calls it about once a second even when nothing moves */
static int
storage_s3_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
    storage_t *s = arg;

    if (ultotal > 0 || ulnow > 0)
        return s->progress(s->progress_arg, (unsigned long long)ulnow, (unsigned long long)ultotal);
    return s->progress(s->progress_arg, (unsigned long long)dlnow, (unsigned long long)dltotal);
}

/* storage_s3_seek - curl rewinds the body when it must send it again (a
 * kept-alive connection that the server had closed, an auth retry) */
static int
storage_s3_seek(void *arg, curl_off_t offset, int origin)
{
    struct storage_s3_xfer *x = arg;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->in_size)
        return CURL_SEEKFUNC_CANTSEEK;
    x->in_off = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void
storage_s3_copy_value(char *dst, size_t dstlen, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t
storage_s3_header(char *line, size_t size, size_t nitems, void *arg)
{
    struct storage_s3_xfer *x = arg;
    size_t n = size * nitems;
    const char *colon = memchr(line, ':', n);
    size_t name;

    if (n > 5 && memcmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', n);

        /* a new response (after 100 Continue, or a retried request) */
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->etag[0] = x->ctype[0] = x->retry_after[0] = '\0';
        x->clen = 0;
        x->body_len = 0;
        return n;
    }
    if (colon == NULL)
        return n;
    name = (size_t)(colon - line);
    colon++;
    if (name == 4 && strncasecmp(line, "ETag", 4) == 0) {
        storage_s3_copy_value(x->etag, sizeof(x->etag), colon, n - name - 1);
        /* the ETag is a quoted string; the MD5 is inside the quotes */
        size_t len = strlen(x->etag);
        if (len >= 2 && x->etag[0] == '"' && x->etag[len - 1] == '"') {
            memmove(x->etag, x->etag + 1, len - 2);
            x->etag[len - 2] = '\0';
        }
    } else if (name == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
        storage_s3_copy_value(x->ctype, sizeof(x->ctype), colon, n - name - 1);
    } else if (name == 11 && strncasecmp(line, "Retry-After", 11) == 0) {
        storage_s3_copy_value(x->retry_after, sizeof(x->retry_after), colon, n - name - 1);
    } else if (name == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        x->clen = strtoull(colon, NULL, 10);
    }
    return n;
}

static size_t
storage_s3_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct storage_s3_xfer *x = arg;
    size_t n = size * nmemb, room;

    if (x->status >= 200 && x->status < 300 && x->out_fd >= 0) {
        for (size_t off = 0; off < n;) {
            ssize_t w = write(x->out_fd, data + off, n - off);

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                x->out_errno = errno;
                return 0; /* makes curl fail with CURLE_WRITE_ERROR */
            }
            off += (size_t)w;
        }
        return n;
    }
    /* an error document: keep its start for the code and message */
    room = sizeof(x->body) - 1 - x->body_len;
    if (room > n)
        room = n;
    memcpy(x->body + x->body_len, data, room);
    x->body_len += room;
    x->body[x->body_len] = '\0';
    return n;
}

static struct curl_slist *
storage_s3_add(struct curl_slist *h, int *failed, const char *name, const char *value)
{
    char line[1024];
    struct curl_slist *n;

    if (value == NULL)
        return h;
    snprintf(line, sizeof(line), "%s: %s", name, value);
    n = curl_slist_append(h, line);
    if (n == NULL)
        *failed = 1;
    return n ? n : h;
}

/* storage_s3_perform - one signed request; the body (PUT) comes from x->in_fd
 * and is described by d. Fills r in every case; returns 0 on a 2xx. */
static int
storage_s3_perform(storage_t *s, const char *method, const char *key, struct storage_s3_xfer *x,
                   const struct storage_digest *d, struct storage_result *r)
{
    char url[4 * STORAGE_KEY_MAX + 512], full[STORAGE_KEY_MAX + 1];
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    int failed = 0, put = strcmp(method, "PUT") == 0;
    CURL *c = s->curl;
    CURLcode rc;
    long status = 0;

    x->status = 0;
    if (storage_key_join(s->loc.prefix, key, full, sizeof(full)) < 0 ||
        storage_s3_object_url(s, key, url, sizeof(url)) < 0) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "%s s3://%s/%s%s%s: key too long", method,
                     s->loc.bucket, s->loc.prefix, s->loc.prefix[0] ? "/" : "", key);
        errno = ENAMETOOLONG;
        return -1;
    }
    /* Why reset: the handle carries options from the previous request (a PUT
     * after a HEAD must not keep NOBODY); a reset keeps the live connections
     * and the DNS cache, which is what keep-alive needs. */
    curl_easy_reset(c);
    h = storage_s3_add(h, &failed, "x-amz-content-sha256",
                       put ? d->sha256_hex : STORAGE_S3_EMPTY_SHA256);
    if (put) {
        h = storage_s3_add(h, &failed, "Content-Type", storage_mime_type(key));
        h = storage_s3_add(h, &failed, "Content-MD5", d->md5_b64);
        h = storage_s3_add(h, &failed, "Cache-Control", s->cache_control);
        h = storage_s3_add(h, &failed, "x-amz-acl", s->acl);
    }
    h = storage_s3_add(h, &failed, "x-amz-security-token", s->token);
    if (failed) {
        curl_slist_free_all(h);
        storage_fail(s, r, STORAGE_RETRYABLE, 0, "%s s3://%s/%s: out of memory", method,
                     s->loc.bucket, full);
        errno = ENOMEM;
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hlsd");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->low_speed_time_s);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, storage_s3_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, storage_s3_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (s->progress != NULL) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, storage_s3_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    if (put) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->in_size);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, storage_s3_read);
        curl_easy_setopt(c, CURLOPT_READDATA, x);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, storage_s3_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
        curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200)
        status = 0; /* a 100 Continue is not an answer */
    r->http_status = status;
    if (x->retry_after[0])
        r->retry_after_ms = storage_classify_retry_after(x->retry_after, time(NULL));

    if (rc != CURLE_OK) {
        if (x->in_errno != 0) {
            storage_fail(s, r, STORAGE_RETRYABLE, status, "%s s3://%s/%s: reading the body: %s",
                         method, s->loc.bucket, full,
                         x->in_errno == ENODATA ? "the file shrank during the upload"
                                                : strerror(x->in_errno));
            errno = x->in_errno;
        } else if (x->out_errno != 0) {
            storage_fail(s, r, STORAGE_PERMANENT, status, "%s s3://%s/%s: writing the body: %s",
                         method, s->loc.bucket, full, strerror(x->out_errno));
            errno = x->out_errno;
        } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
            storage_fail(s, r, STORAGE_RETRYABLE, status, "%s s3://%s/%s: canceled by the caller",
                         method, s->loc.bucket, full);
            errno = ECANCELED;
        } else {
            storage_fail(s, r, storage_classify_curl(rc), status, "%s s3://%s/%s: %s", method,
                         s->loc.bucket, full, errbuf[0] ? errbuf : curl_easy_strerror(rc));
            errno = EIO;
        }
        return -1;
    }
    if (status < 200 || status >= 300) {
        char code[64] = "", msg[256] = "";
        enum storage_class cls;

        storage_classify_s3_error(x->body, x->body_len, code, sizeof(code), msg, sizeof(msg));
        cls = storage_classify_http(status, code);
        storage_fail(s, r, cls, status, "%s s3://%s/%s: HTTP %ld %s%s%s%s", method, s->loc.bucket,
                     full, status, code[0] ? code : "(no S3 error code)", msg[0] ? ": " : "", msg,
                     strcmp(code, "SignatureDoesNotMatch") == 0
                         ? " (check the secret key, the region and the endpoint)"
                         : "");
        errno = cls == STORAGE_RETRYABLE ? EAGAIN : EACCES;
        return -1;
    }
    r->cls = STORAGE_OK;
    return 0;
}

int
storage_s3_put_fd(storage_t *s, int fd, const struct storage_digest *d, const char *key,
                  struct storage_result *r)
{
    struct storage_s3_xfer *x = calloc(1, sizeof(*x));
    int rc;

    if (x == NULL) {
        storage_fail(s, r, STORAGE_RETRYABLE, 0, "PUT s3://%s/%s: out of memory", s->loc.bucket,
                     key);
        return -1;
    }
    x->in_fd = fd;
    x->in_size = d->size;
    x->out_fd = -1;
    rc = storage_s3_perform(s, "PUT", key, x, d, r);
    if (rc == 0) {
        snprintf(r->etag, sizeof(r->etag), "%s", x->etag);
        /* Why check: the server verified Content-MD5, but a proxy or gateway
         * in between may not have passed it on; the ETag of a single-part
         * PUT is the MD5 of what was stored. */
        if (!s->no_etag_check && x->etag[0] && strcasecmp(x->etag, d->md5_hex) != 0) {
            char full[STORAGE_KEY_MAX + 1];

            storage_key_join(s->loc.prefix, key, full, sizeof(full));
            storage_fail(s, r, STORAGE_RETRYABLE, r->http_status,
                         "PUT s3://%s/%s: the stored object's ETag %s is not the MD5 %s of the "
                         "body sent",
                         s->loc.bucket, full, x->etag, d->md5_hex);
            errno = EIO;
            rc = -1;
        }
    }
    free(x);
    return rc;
}

int
storage_s3_put(storage_t *s, const char *local_path, const char *key, struct storage_result *r)
{
    struct storage_digest d;
    struct stat st;
    int fd, rc, e;

    fd = open(local_path, O_RDONLY | O_CLOEXEC);
    e = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (e != 0) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "PUT s3://%s/%s%s%s: open(%s): %s", s->loc.bucket,
                     s->loc.prefix, s->loc.prefix[0] ? "/" : "", key, local_path,
                     e == EINVAL ? "not a regular file" : strerror(e));
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    if (storage_digest_fd(fd, s->buf, STORAGE_BUF_SIZE, &d) < 0) {
        e = errno;
        storage_fail(s, r, STORAGE_RETRYABLE, 0, "PUT s3://%s/%s%s%s: read(%s): %s", s->loc.bucket,
                     s->loc.prefix, s->loc.prefix[0] ? "/" : "", key, local_path, strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    rc = storage_s3_put_fd(s, fd, &d, key, r);
    e = errno;
    close(fd);
    errno = e;
    return rc;
}

int
storage_s3_delete(storage_t *s, const char *key, struct storage_result *r)
{
    struct storage_s3_xfer *x = calloc(1, sizeof(*x));
    int rc;

    if (x == NULL) {
        storage_fail(s, r, STORAGE_RETRYABLE, 0, "DELETE s3://%s/%s: out of memory", s->loc.bucket,
                     key);
        return -1;
    }
    x->in_fd = x->out_fd = -1;
    rc = storage_s3_perform(s, "DELETE", key, x, NULL, r);
    /* deleting what is already gone is success: deletes are retried */
    if (rc < 0 && r->http_status == 404 && strstr(r->error, "NoSuchKey") != NULL) {
        storage_result_init(r);
        r->http_status = 404;
        rc = 0;
    }
    free(x);
    return rc;
}

int
storage_s3_get(storage_t *s, const char *key, int out_fd, char *content_type, size_t ctlen,
               uint64_t *length, struct storage_result *r)
{
    struct storage_s3_xfer *x = calloc(1, sizeof(*x));
    int rc;

    storage_result_init(r);
    if (x == NULL) {
        storage_fail(s, r, STORAGE_RETRYABLE, 0, "GET s3://%s/%s: out of memory", s->loc.bucket,
                     key);
        return -1;
    }
    x->in_fd = -1;
    x->out_fd = out_fd;
    rc = storage_s3_perform(s, out_fd >= 0 ? "GET" : "HEAD", key, x, NULL, r);
    if (rc == 0) {
        snprintf(r->etag, sizeof(r->etag), "%s", x->etag);
        if (content_type != NULL && ctlen > 0)
            snprintf(content_type, ctlen, "%s", x->ctype);
        if (length != NULL)
            *length = x->clen;
    }
    free(x);
    return rc;
}
