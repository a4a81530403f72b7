/*
 * storage.c - the storage API: open a back-end from a URL, dispatch puts and
 * deletes to it, build public URLs, and format failures. It must never log,
 * print or exit, and no text it produces may contain a secret.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/storage_impl.h"

int
storage_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void
storage_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *
storage_class_name(enum storage_class cls)
{
    switch (cls) {
    case STORAGE_OK:
        return "ok";
    case STORAGE_RETRYABLE:
        return "retryable";
    case STORAGE_PERMANENT:
        return "permanent";
    }
    return "?";
}

void
storage_result_init(struct storage_result *r)
{
    memset(r, 0, sizeof(*r));
    r->cls = STORAGE_OK;
    r->retry_after_ms = -1;
}

/* storage_scrub - overwrite every occurrence of secret in text. Why: error
 * texts quote server messages and curl's error buffer, which we do not
 * control; this is the last line of defence for "never the secret". */
static void
storage_scrub(char *text, const char *secret)
{
    size_t n;
    char *p;

    if (secret == NULL || (n = strlen(secret)) < 4)
        return;
    while ((p = strstr(text, secret)) != NULL)
        memset(p, '*', n);
}

void
storage_fail(storage_t *s, struct storage_result *r, enum storage_class cls, long http_status,
             const char *fmt, ...)
{
    va_list ap;

    r->cls = cls;
    r->http_status = http_status;
    r->etag[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    if (s != NULL) {
        storage_scrub(r->error, s->secret);
        storage_scrub(r->error, s->token);
    }
}

static char *
storage_strdup_opt(const char *v, int *failed)
{
    char *d;

    if (v == NULL || *v == '\0')
        return NULL;
    d = strdup(v);
    if (d == NULL)
        *failed = 1;
    return d;
}

storage_t *
storage_open(const struct storage_config *cfg, char *err, size_t errlen)
{
    storage_t *s;
    int failed = 0;

    if (cfg == NULL || cfg->url == NULL) {
        snprintf(err, errlen, "storage: no URL configured");
        errno = EINVAL;
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "storage: out of memory");
        return NULL;
    }
    if (storage_loc_parse(cfg->url, &s->loc, err, errlen) < 0) {
        free(s);
        errno = EINVAL;
        return NULL;
    }
    s->progress = cfg->progress;
    s->progress_arg = cfg->progress_arg;
    s->buf = malloc(STORAGE_BUF_SIZE);
    s->cache_control = storage_strdup_opt(cfg->cache_control, &failed);
    s->acl = storage_strdup_opt(cfg->acl, &failed);
    if (s->buf == NULL || failed) {
        snprintf(err, errlen, "storage: out of memory");
        storage_close(s);
        errno = ENOMEM;
        return NULL;
    }
    if ((s->loc.kind == STORAGE_FILE ? storage_file_open(s, err, errlen)
                                     : storage_s3_open(s, cfg, err, errlen)) < 0) {
        int e = errno;

        storage_close(s);
        errno = e;
        return NULL;
    }
    return s;
}

int
storage_put(storage_t *s, const char *local_path, const char *key, struct storage_result *r)
{
    storage_result_init(r);
    if (storage_key_check(key) < 0) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "put %s: invalid object key",
                     key ? key : "(null)");
        errno = EINVAL;
        return -1;
    }
    if (s->loc.kind == STORAGE_FILE)
        return storage_file_put(s, local_path, key, r);
    return storage_s3_put(s, local_path, key, r);
}

int
storage_delete(storage_t *s, const char *key, struct storage_result *r)
{
    storage_result_init(r);
    if (storage_key_check(key) < 0) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "delete %s: invalid object key",
                     key ? key : "(null)");
        errno = EINVAL;
        return -1;
    }
    if (s->loc.kind == STORAGE_FILE)
        return storage_file_delete(s, key, r);
    return storage_s3_delete(s, key, r);
}

int
storage_url(storage_t *s, const char *public_url, const char *key, char *out, size_t outlen)
{
    char full[STORAGE_KEY_MAX + 1], enc[3 * STORAGE_KEY_MAX + 1];
    size_t n;
    int len;

    if (storage_key_check(key) < 0)
        return -1;
    if (public_url != NULL && *public_url != '\0') {
        if (storage_key_join(s->loc.kind == STORAGE_S3 ? s->loc.prefix : "", key, full,
                             sizeof(full)) < 0 ||
            storage_key_encode(full, enc, sizeof(enc)) < 0)
            return -1;
        n = strlen(public_url);
        while (n > 0 && public_url[n - 1] == '/')
            n--;
        len = snprintf(out, outlen, "%.*s/%s", (int)n, public_url, enc);
    } else if (s->loc.kind == STORAGE_S3) {
        return storage_s3_object_url(s, key, out, outlen);
    } else {
        len = snprintf(out, outlen, "%s/%s", s->loc.path, key);
    }
    if (len < 0 || (size_t)len >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

void
storage_close(storage_t *s)
{
    if (s == NULL)
        return;
    if (s->loc.kind == STORAGE_S3)
        storage_s3_close(s);
    free(s->cache_control);
    free(s->acl);
    free(s->buf);
    free(s);
}
