/*
 * url.c - a URL as it may be shown in a message, a log line or a job: what
 * the daemon (the job's input, its notify URL) and the upload workers
 * (fetch errors) both print, so it lives outside the upload plugin.
 */
#include <stdio.h>
#include <string.h>

#include "workers/url.h"

void
url_redact(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    size_t o = 0;

    if (cap == 0)
        return;
    if (p == NULL) {
        snprintf(out, cap, "%.*s", (int)strcspn(url, "?#"), url);
        return;
    }
    p += 3;
    /* user:password@ goes; the authority ends at the first '/', '?' or '#' */
    size_t alen = strcspn(p, "/?#");
    const char *at = memchr(p, '@', alen);
    o = (size_t)snprintf(out, cap, "%.*s", (int)(p - url), url);
    if (o >= cap)
        return;
    if (at) {
        alen -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t rest = alen + strcspn(p + alen, "?#");
    snprintf(out + o, cap - o, "%.*s", (int)rest, p);
}
