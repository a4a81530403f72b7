/*
 * storage_impl.h - what the storage_*.c files share with each other and with
 * the tests, but not with the daemon: the handle's layout, the parsed URL,
 * key and digest helpers, failure classification and the S3 request engine.
 */
#ifndef HLSD_STORAGE_IMPL_H
#define HLSD_STORAGE_IMPL_H

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "workers/storage.h"

#define STORAGE_KEY_MAX    1024 /* S3's limit on a key, in bytes */
#define STORAGE_BUCKET_MAX 255
#define STORAGE_BUF_SIZE   (256 * 1024)

enum storage_kind { STORAGE_FILE, STORAGE_S3 };

/* storage_loc.c: the URL given by the user, parsed */
struct storage_loc {
    enum storage_kind kind;
    char path[PATH_MAX];                 /* file: absolute directory, no trailing '/' */
    char bucket[STORAGE_BUCKET_MAX + 1]; /* s3 */
    char prefix[STORAGE_KEY_MAX + 1];    /* s3: no leading or trailing '/', may be "" */
};

int storage_loc_parse(const char *url, struct storage_loc *loc, char *err, size_t errlen);

struct storage {
    struct storage_loc loc;
    char *endpoint; /* scheme://host[:port], no trailing '/' */
    char *region, *access_key, *secret, *token, *cache_control, *acl;
    char sigv4[128]; /* "aws:amz:<region>:s3" */
    long connect_timeout_ms, low_speed_time_s;
    int path_style, no_etag_check;
    storage_progress_fn progress;
    void *progress_arg;
    CURL *curl;
    unsigned char *buf; /* STORAGE_BUF_SIZE bytes: digest and file copy buffer */
};

/* storage.c: fill r as a failure; the text is scrubbed of s's secrets */
void storage_fail(storage_t *s, struct storage_result *r, enum storage_class cls, long http_status,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void storage_result_init(struct storage_result *r);

/* storage_key.c */
int storage_key_check(const char *key);
int storage_key_join(const char *prefix, const char *key, char *out, size_t outlen);
int storage_key_encode(const char *key, char *out, size_t outlen);

/* storage_mime.c */
const char *storage_mime_type(const char *key);

/* storage_digest.c: MD5 and SHA-256 of a whole file, for Content-MD5 and
 * x-amz-content-sha256 */
struct storage_digest {
    uint64_t size;
    char md5_hex[33];
    char md5_b64[25];
    char sha256_hex[65];
};

int storage_digest_fd(int fd, unsigned char *buf, size_t buflen, struct storage_digest *d);
int storage_digest_mem(const void *data, size_t len, struct storage_digest *d);

/* storage_classify.c */
enum storage_class storage_classify_http(long status, const char *s3code);
enum storage_class storage_classify_curl(CURLcode code);
int storage_classify_s3_error(const char *body, size_t len, char *code, size_t codelen, char *msg,
                              size_t msglen);
long storage_classify_retry_after(const char *value, time_t now);

/* storage_file.c */
int storage_file_open(storage_t *s, char *err, size_t errlen);
int storage_file_put(storage_t *s, const char *local_path, const char *key,
                     struct storage_result *r);
int storage_file_delete(storage_t *s, const char *key, struct storage_result *r);

/* storage_s3.c */
int storage_s3_open(storage_t *s, const struct storage_config *cfg, char *err, size_t errlen);
void storage_s3_close(storage_t *s);
int storage_s3_put(storage_t *s, const char *local_path, const char *key, struct storage_result *r);
int storage_s3_delete(storage_t *s, const char *key, struct storage_result *r);
int storage_s3_object_url(storage_t *s, const char *key, char *out, size_t outlen);

/* storage_s3_put_fd - send fd's bytes as key while announcing the digest d:
 * storage_s3_put's second half. Separate so that a test can announce the
 * digest of other bytes, which is what a file changed in flight looks like. */
int storage_s3_put_fd(storage_t *s, int fd, const struct storage_digest *d, const char *key,
                      struct storage_result *r);

/* storage_s3_get - GET key into out_fd, or HEAD when out_fd < 0; content_type
 * and length (may be NULL) receive the response's headers. For tests and
 * verification tools. */
int storage_s3_get(storage_t *s, const char *key, int out_fd, char *content_type, size_t ctlen,
                   uint64_t *length, struct storage_result *r);

#endif
