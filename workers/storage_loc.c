/*
 * storage_loc.c - parse the storage URL: file:///absolute/dir or
 * s3://bucket[/prefix]. Strict on purpose: a typo in the URL must fail at
 * start-up with a message, not publish objects somewhere unexpected.
 */
#include <stdio.h>
#include <string.h>

#include "workers/storage_impl.h"

/* storage_loc_bucket_ok - the characters S3 and Swift accept in a bucket name */
static int
storage_loc_bucket_ok(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    return 1;
}

int
storage_loc_parse(const char *url, struct storage_loc *loc, char *err, size_t errlen)
{
    memset(loc, 0, sizeof(*loc));
    if (strncmp(url, "file://", 7) == 0) {
        const char *p = url + 7;
        size_t n;

        /* file://localhost/dir is the same as file:///dir (RFC 8089) */
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
        if (*p != '/') {
            snprintf(err, errlen, "storage URL %s: a file URL needs an absolute path (file:///dir)",
                     url);
            return -1;
        }
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            n--;
        if (n >= sizeof(loc->path)) {
            snprintf(err, errlen, "storage URL %s: path too long", url);
            return -1;
        }
        loc->kind = STORAGE_FILE;
        memcpy(loc->path, p, n);
        loc->path[n] = '\0';
        return 0;
    }
    if (strncmp(url, "s3://", 5) == 0) {
        const char *b = url + 5, *slash = strchr(b, '/');
        size_t bn = slash ? (size_t)(slash - b) : strlen(b), pn;
        const char *pfx = slash ? slash + 1 : "";

        if (!storage_loc_bucket_ok(b, bn)) {
            snprintf(err, errlen, "storage URL %s: invalid bucket name", url);
            return -1;
        }
        while (*pfx == '/')
            pfx++;
        pn = strlen(pfx);
        while (pn > 0 && pfx[pn - 1] == '/')
            pn--;
        if (pn >= sizeof(loc->prefix)) {
            snprintf(err, errlen, "storage URL %s: prefix too long", url);
            return -1;
        }
        loc->kind = STORAGE_S3;
        memcpy(loc->bucket, b, bn);
        memcpy(loc->prefix, pfx, pn);
        loc->prefix[pn] = '\0';
        if (pn > 0 && storage_key_check(loc->prefix) < 0) {
            snprintf(err, errlen, "storage URL %s: invalid prefix", url);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "storage URL %s: expected file:///dir or s3://bucket/prefix", url);
    return -1;
}
