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

#define TOKEN_MAX 512

void
http_auth_free(char **tokens, int *n)
{
    for (int i = 0; i < *n; i++) {
        explicit_bzero(tokens[i], strlen(tokens[i]));
        free(tokens[i]);
    }
    *n = 0;
}

int
http_auth_load(const char *path, char **tokens, int *n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char line[TOKEN_MAX + 2];
    int lineno = 0;

    *n = 0;
    if (f == NULL) {
        snprintf(err, errlen, "[http] token_file %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            snprintf(err, errlen, "[http] token_file %s:%d: a token is longer than %d bytes", path,
                     lineno, TOKEN_MAX);
            goto fail;
        }
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        char *t = line;
        while (isspace((unsigned char)*t))
            t++;
        if (*t == '\0' || *t == '#')
            continue;
        for (char *p = t; *p; p++) {
            if (!isgraph((unsigned char)*p)) {
                snprintf(err, errlen,
                         "[http] token_file %s:%d: a token is one word of printable "
                         "characters",
                         path, lineno);
                goto fail;
            }
        }
        if (*n == HTTP_MAX_TOKENS) {
            snprintf(err, errlen, "[http] token_file %s: more than %d tokens", path,
                     HTTP_MAX_TOKENS);
            goto fail;
        }
        if ((tokens[*n] = strdup(t)) == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        (*n)++;
    }
    explicit_bzero(line, sizeof(line));
    fclose(f);
    if (*n == 0) {
        snprintf(err, errlen, "[http] token_file %s holds no token", path);
        return -1;
    }
    return 0;
fail:
    explicit_bzero(line, sizeof(line));
    fclose(f);
    http_auth_free(tokens, n);
    return -1;
}

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
    if (http_auth_load(H.cfg->http.token_file, tokens, &n, err, sizeof(err)) < 0) {
        log_warn("%s: keeping the tokens loaded before", err);
        H.tokens_mtime_ns = mt;
        return;
    }
    http_auth_free(H.tokens, &H.ntokens);
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
