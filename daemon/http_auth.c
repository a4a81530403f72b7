/*
 * http_auth.c - bearer tokens: [http] token_file holds one per line (blank
 * lines and # comments skipped); a request must carry "Authorization:
 * Bearer TOKEN" matching one of them. Compared in constant time, so that
 * the answer's timing says nothing about how much of a guess was right.
 * The file is looked at again (at most once a second) when it changes, so
 * that a token can be added or revoked without a restart. A token never
 * appears in a log line or a reply.
 */
#include "daemon/http_int.h"

#include "daemon/log.h"
#include "ipc/msclock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* same - constant time in the length of the longer string */
static int
same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    unsigned char d = la != lb;

    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
    return d == 0;
}

/* reload - the token file again if it changed; on an error the tokens
 * loaded before are kept (and the error logged) */
static void
reload(void)
{
    struct stat st;
    int64_t now = msclock_mono();

    if (now - H.tokens_checked < 1000)
        return;
    H.tokens_checked = now;
    if (stat(H.cfg->http.token_file, &st) < 0)
        return;
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    if (mt == H.tokens_mtime_ns)
        return;
    char *tokens[HTTP_MAX_TOKENS], err[512];
    int n;
    if (http_tokens_load(H.cfg->http.token_file, tokens, &n, err, sizeof(err)) < 0) {
        log_warn("%s: keeping the tokens loaded before", err);
        H.tokens_mtime_ns = mt;
        return;
    }
    http_tokens_free(H.tokens, &H.ntokens);
    memcpy(H.tokens, tokens, sizeof(tokens[0]) * (size_t)n);
    H.ntokens = n;
    H.tokens_mtime_ns = mt;
    log_info("[http] token_file reloaded: %d token%s", n, n == 1 ? "" : "s");
}

int
http_auth_ok(struct MHD_Connection *c)
{
    if (H.cfg->http.token_file[0] == '\0')
        return 1;
    reload();
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    int ok = 0;
    for (int i = 0; i < H.ntokens; i++)
        ok |= same(h, H.tokens[i]);
    return ok;
}
