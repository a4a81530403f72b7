/*
 * upworker_notify.c - a webhook: the job object POSTed as JSON to the
 * notify URL, signed with X-Hlsd-Signature: sha256=<hex HMAC-SHA256 of the
 * body> under [notify] secret. Any 2xx is delivered; anything else is
 * retryable (the master counts attempts against [notify] max_attempts).
 * Redirects are not followed: a POST is not replayed somewhere else.
 *
 * Never shows the secret, and shows the URL without user information or
 * query.
 */
#include "workers/upworker_int.h"
#include "workers/url.h"

#include "ipc/proto.h"
#include "workers/wlog.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static size_t
notify_discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* upworker_notify_sign - "sha256=<hex>" of body under secret into out[72] */
static int
upworker_notify_sign(const char *secret, const char *body, size_t len, char *out, size_t cap)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
             &n) == NULL ||
        cap < 8 + 2 * (size_t)n)
        return -1;
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

void
upworker_notify(struct up *u, worker_t *w, uint64_t job, char *buf, size_t len)
{
    struct storage_result r;
    char *body = memchr(buf, '\n', len), shown[360], sig[128], hdr[160], jobhdr[64];
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    long status = 0;

    memset(&r, 0, sizeof(r));
    r.retry_after_ms = -1;
    if (body == NULL) {
        r.cls = STORAGE_PERMANENT;
        snprintf(r.error, sizeof(r.error), "malformed notify request");
        upworker_reply(w, job, -1, &r);
        return;
    }
    *body++ = '\0';
    size_t blen = len - (size_t)(body - buf);
    url_redact(buf, shown, sizeof(shown));
    if (u->web == NULL && (u->web = curl_easy_init()) == NULL) {
        r.cls = STORAGE_RETRYABLE;
        snprintf(r.error, sizeof(r.error), "webhook %s: out of memory", shown);
        upworker_reply(w, job, -1, &r);
        return;
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    snprintf(jobhdr, sizeof(jobhdr), "X-Hlsd-Job: %llu", (unsigned long long)job);
    h = curl_slist_append(h, jobhdr);
    const char *secret = u->set->notify_secret ? u->set->notify_secret : "";
    if (secret[0] && upworker_notify_sign(secret, body, blen, sig, sizeof(sig)) == 0) {
        snprintf(hdr, sizeof(hdr), "X-Hlsd-Signature: %s", sig);
        h = curl_slist_append(h, hdr);
    }
    long timeout = u->set->notify_timeout_ms > 0 ? u->set->notify_timeout_ms : 10000;
    CURL *c = u->web;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, buf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hlsd");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 5000 ? timeout : 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, notify_discard);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(h);
    explicit_bzero(sig, sizeof(sig));
    explicit_bzero(hdr, sizeof(hdr));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r.http_status = status;
    int ok = rc == CURLE_OK && status >= 200 && status < 300;
    if (!ok) {
        r.cls = STORAGE_RETRYABLE;
        if (rc != CURLE_OK)
            snprintf(r.error, sizeof(r.error), "webhook %s: %.90s", shown,
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
        else
            snprintf(r.error, sizeof(r.error), "webhook %s: HTTP %ld", shown, status);
        wlog_warn("job %llu: %s", (unsigned long long)job, r.error);
    }
    upworker_reply(w, job, ok ? 0 : -1, &r);
}
