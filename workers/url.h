/*
 * url.h - URLs as they may be shown (see url.c).
 */
#ifndef HLSD_WORKERS_URL_H
#define HLSD_WORKERS_URL_H

#include <stddef.h>

/* url_redact - url without user:password@, query or fragment, which may
 * hold credentials (a presigned URL's signature, a token) */
void url_redact(const char *url, char *out, size_t cap);

#endif
