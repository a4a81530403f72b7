/*
 * storage_classify.c - decide whether a failed request is worth trying
 * again, and pull the S3 error code and Retry-After out of a response.
 *
 * The rule: retry what a later attempt can fix by itself (the network, an
 * overloaded or restarting server, a body damaged in transit); never retry
 * what only a human can fix (credentials, a missing bucket, a bad request),
 * because retrying those only delays the failure report. When in doubt
 * (an unknown curl error), retry: the caller's maximum attempt count bounds
 * the cost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workers/storage_impl.h"

/* S3 error codes that arrive with a 4xx status but are transient */
static const char *const storage_classify_transient[] = {
    "SlowDown",
    "RequestTimeout",
    "BadDigest",
    "XAmzContentSHA256Mismatch",
    "IncompleteBody",
    "InternalError",
    "OperationAborted",
    "ServiceUnavailable",
    "RequestTimeTooSkewed" /* only transient with NTP running, but then it is */,
    "Throttling",
    "ThrottlingException",
};

enum storage_class
storage_classify_http(long status, const char *s3code)
{
    if (status >= 200 && status < 300)
        return STORAGE_OK;
    if (s3code != NULL && *s3code != '\0') {
        for (size_t i = 0;
             i < sizeof(storage_classify_transient) / sizeof(storage_classify_transient[0]); i++)
            if (strcmp(s3code, storage_classify_transient[i]) == 0)
                return STORAGE_RETRYABLE;
    }
    if (status == 408 || status == 429 || status >= 500 || status == 0)
        return STORAGE_RETRYABLE;
    return STORAGE_PERMANENT;
}

enum storage_class
storage_classify_curl(CURLcode code)
{
    switch (code) {
    case CURLE_OK:
        return STORAGE_OK;
    /* configuration errors: the same request fails the same way forever */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_LOGIN_DENIED:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_TOO_MANY_REDIRECTS:
        return STORAGE_PERMANENT;
    default:
        /* connect/resolve failures, timeouts, resets, empty replies, HTTP/2
         * stream errors, a local file that shrank while being read */
        return STORAGE_RETRYABLE;
    }
}

/* storage_classify_tag - copy the text of <tag>...</tag> from an S3 error
 * body. Not an XML parser: S3 error documents are flat and machine-made, and
 * a missing or odd tag only costs us a less precise message. */
static void
storage_classify_tag(const char *body, size_t len, const char *tag, char *out, size_t outlen)
{
    char open[32], close[32];
    const char *end = body + len, *p, *q;
    size_t on, n;

    if (outlen == 0)
        return;
    out[0] = '\0';
    on = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    p = memmem(body, len, open, on);
    if (p == NULL)
        return;
    p += on;
    q = memmem(p, (size_t)(end - p), close, strlen(close));
    if (q == NULL)
        return;
    n = (size_t)(q - p);
    if (n >= outlen)
        n = outlen - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') ? ' ' : p[i];
    out[n] = '\0';
}

int
storage_classify_s3_error(const char *body, size_t len, char *code, size_t codelen, char *msg,
                          size_t msglen)
{
    storage_classify_tag(body, len, "Code", code, codelen);
    storage_classify_tag(body, len, "Message", msg, msglen);
    return code[0] ? 0 : -1;
}

/* storage_classify_retry_after - Retry-After as milliseconds from now:
 * either delta-seconds or an HTTP-date (RFC 9110 10.2.3); -1 if unusable */
long
storage_classify_retry_after(const char *value, time_t now)
{
    char *end;
    long secs;
    time_t t;

    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        secs = strtol(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end != '\0' || secs < 0 || secs > 86400 * 7)
            return -1;
        return secs * 1000;
    }
    t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    return t <= now ? 0 : (long)(t - now) * 1000;
}
