/*
 * storage_key.c - object keys: validation, joining with the URL's prefix and
 * percent-encoding for the request path.
 *
 * Why we encode ourselves: libcurl 7.88 signs the path exactly as given in
 * the URL (no normalisation, no encoding), and S3 verifies the signature
 * over the URI-encoded path. Encoding every byte except A-Za-z0-9-._~/ once,
 * here, makes what curl signs, what curl sends and what S3 canonicalises the
 * same string. Keys with "." or ".." segments are refused: curl would
 * collapse them (unless told not to), S3 would not, and a file:// back-end
 * would walk out of its directory.
 */
#include <errno.h>
#include <string.h>

#include "workers/storage_impl.h"

int
storage_key_check(const char *key)
{
    const char *seg;
    size_t n;

    if (key == NULL || (n = strlen(key)) == 0 || n > STORAGE_KEY_MAX || key[0] == '/')
        goto bad;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c < 0x20 || c == 0x7f || c == '\\')
            goto bad;
    }
    seg = key;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);

        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            goto bad;
        if (end == NULL)
            break;
        seg = end + 1;
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int
storage_key_join(const char *prefix, const char *key, char *out, size_t outlen)
{
    size_t pn = strlen(prefix), kn = strlen(key), need = pn + (pn ? 1 : 0) + kn;

    if (need > STORAGE_KEY_MAX || need >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(out, prefix, pn);
    if (pn)
        out[pn++] = '/';
    memcpy(out + pn, key, kn + 1);
    return 0;
}

int
storage_key_encode(const char *key, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        unsigned char c = *p;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '/';

        if (o + (plain ? 1 : 3) >= outlen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    out[o] = '\0';
    return 0;
}
