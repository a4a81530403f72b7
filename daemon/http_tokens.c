/*
 * http_tokens.c - [http] token_file: one bearer token per line (blank
 * lines and # comments skipped). Read by main for `hlsd -t` and at start,
 * and by the HTTP process when the file changes (http_auth.c), so it
 * lives in hlsd itself, not in the HTTP plugin. A token is wiped from
 * memory when dropped and never appears in a message.
 */
#include "daemon/http_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 512

void
http_tokens_free(char **tokens, int *n)
{
    for (int i = 0; i < *n; i++) {
        explicit_bzero(tokens[i], strlen(tokens[i]));
        free(tokens[i]);
    }
    *n = 0;
}

int
http_tokens_load(const char *path, char **tokens, int *n, char *err, size_t errlen)
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
    http_tokens_free(tokens, n);
    return -1;
}
