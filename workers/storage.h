/*
 * storage.h - where finished HLS objects go: a local directory (file://) or
 * an S3-compatible bucket (s3://), chosen by a URL.
 *
 * One storage_t per upload worker: it owns one kept-alive libcurl handle (S3)
 * and one copy buffer, and is not shared between threads. The library never
 * logs, prints or exits; every failure fills a storage_result whose class
 * tells the caller whether trying again can help, and whose error text names
 * the bucket, the key, the HTTP status and the S3 error code, never a secret.
 *
 * Call curl_global_init() (or storage_global_init()) once per process before
 * the first storage_open().
 */
#ifndef HLSD_STORAGE_H
#define HLSD_STORAGE_H

#include <stddef.h>

typedef struct storage storage_t;

/* storage_progress_fn - called during a transfer (about once a second, and
 * per chunk copied); return non-zero to abort it (the put then fails as
 * retryable with errno ECANCELED). Lets a worker heartbeat and obey a
 * cancel or shutdown request during a long upload. */
typedef int (*storage_progress_fn)(void *arg, unsigned long long done, unsigned long long total);

struct storage_config {
    const char *url;      /* file:///dir or s3://bucket[/prefix] */
    const char *endpoint; /* S3 only; NULL: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL,
                             else https://s3.<region>.amazonaws.com */
    const char *region;   /* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1 */
    int path_style;       /* 1: endpoint/bucket/key; 0: bucket.endpoint-host/key */
    /* NULL: from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
     * The access key may contain ':' (Swift tempauth's account:user). */
    const char *access_key_id, *secret_access_key, *session_token;
    const char *cache_control;    /* NULL: no Cache-Control header */
    const char *acl;              /* canned ACL (x-amz-acl); NULL: none, as several providers
                                     reject the header */
    long connect_timeout_ms;      /* 0: 5000 */
    long low_speed_time_s;        /* abort when under 1 byte/s for this long; 0: 30 */
    int no_etag_check;            /* 1: accept an ETag that is not the body's MD5 (SSE-KMS) */
    storage_progress_fn progress; /* NULL: none */
    void *progress_arg;
};

enum storage_class {
    STORAGE_OK,
    STORAGE_RETRYABLE, /* connection error, timeout, 5xx, 429, SlowDown, BadDigest, ... */
    STORAGE_PERMANENT, /* bad credentials, no such bucket, bad key, missing file, ... */
};

struct storage_result {
    enum storage_class cls;
    long http_status;    /* 0 when no HTTP answer (or file://) */
    long retry_after_ms; /* from Retry-After; -1 when absent */
    char etag[80];       /* the object's ETag without quotes, on success */
    char error[512];     /* empty on success */
};

/* storage_global_init - curl_global_init, once per process, before any thread */
int storage_global_init(void);
void storage_global_cleanup(void);

storage_t *storage_open(const struct storage_config *cfg, char *err, size_t errlen);

/* storage_put - publish local_path as key (relative to the URL's prefix). The
 * content type follows the key's extension. Returns 0, or -1 with r filled. */
int storage_put(storage_t *s, const char *local_path, const char *key, struct storage_result *r);

/* storage_delete - remove key; a key that does not exist is not an error */
int storage_delete(storage_t *s, const char *key, struct storage_result *r);

/* storage_url - the object's public URL: public_url + "/" + prefix/key when
 * public_url is set, else the endpoint URL (S3) or the absolute path (file). */
int storage_url(storage_t *s, const char *public_url, const char *key, char *out, size_t outlen);

void storage_close(storage_t *s);

/* storage_class_name - "ok", "retryable", "permanent" */
const char *storage_class_name(enum storage_class cls);

#endif
