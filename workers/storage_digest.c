/*
 * storage_digest.c - MD5 (for Content-MD5 and the ETag check) and SHA-256
 * (for x-amz-content-sha256) of a file, in one streaming pass through a
 * caller-owned buffer, so a 256 MiB segment never sits in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "workers/storage_impl.h"

static void
storage_digest_hex(const unsigned char *bin, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bin[i] >> 4];
        out[2 * i + 1] = hex[bin[i] & 15];
    }
    out[2 * n] = '\0';
}

struct storage_digest_ctx {
    EVP_MD_CTX *md5, *sha;
};

static int
storage_digest_begin(struct storage_digest_ctx *c)
{
    c->md5 = EVP_MD_CTX_new();
    c->sha = EVP_MD_CTX_new();
    if (c->md5 == NULL || c->sha == NULL || !EVP_DigestInit_ex(c->md5, EVP_md5(), NULL) ||
        !EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(c->md5);
        EVP_MD_CTX_free(c->sha);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static int
storage_digest_end(struct storage_digest_ctx *c, struct storage_digest *d)
{
    unsigned char md5[16], sha[32];
    unsigned int n5 = 0, ns = 0;
    int ok = EVP_DigestFinal_ex(c->md5, md5, &n5) && EVP_DigestFinal_ex(c->sha, sha, &ns) &&
             n5 == 16 && ns == 32;

    EVP_MD_CTX_free(c->md5);
    EVP_MD_CTX_free(c->sha);
    if (!ok) {
        errno = EIO;
        return -1;
    }
    storage_digest_hex(md5, 16, d->md5_hex);
    storage_digest_hex(sha, 32, d->sha256_hex);
    EVP_EncodeBlock((unsigned char *)d->md5_b64, md5, 16);
    return 0;
}

int
storage_digest_fd(int fd, unsigned char *buf, size_t buflen, struct storage_digest *d)
{
    struct storage_digest_ctx c;
    uint64_t off = 0;

    if (storage_digest_begin(&c) < 0)
        return -1;
    /* Why the hint: the file is read twice in a row (hash, then send) and
     * never again; read-ahead helps both passes. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        ssize_t n = pread(fd, buf, buflen, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;

            EVP_MD_CTX_free(c.md5);
            EVP_MD_CTX_free(c.sha);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        if (!EVP_DigestUpdate(c.md5, buf, (size_t)n) || !EVP_DigestUpdate(c.sha, buf, (size_t)n)) {
            EVP_MD_CTX_free(c.md5);
            EVP_MD_CTX_free(c.sha);
            errno = EIO;
            return -1;
        }
        off += (uint64_t)n;
    }
    d->size = off;
    return storage_digest_end(&c, d);
}

int
storage_digest_mem(const void *data, size_t len, struct storage_digest *d)
{
    struct storage_digest_ctx c;

    if (storage_digest_begin(&c) < 0)
        return -1;
    if (!EVP_DigestUpdate(c.md5, data, len) || !EVP_DigestUpdate(c.sha, data, len)) {
        EVP_MD_CTX_free(c.md5);
        EVP_MD_CTX_free(c.sha);
        errno = EIO;
        return -1;
    }
    d->size = len;
    return storage_digest_end(&c, d);
}
