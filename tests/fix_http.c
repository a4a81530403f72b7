/*
 * fix_http.c - see fix_http.h.
 */
#include "tests/fix_http.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int
fix_http_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

void
fix_http_init(struct fix_http *h, const char *name, unsigned cw, unsigned uw,
              const char *daemon_extra, const char *http_extra)
{
    memset(h, 0, sizeof(*h));
    if (fix_daemon_init(&h->d, name, 0) < 0)
        abort();
    fix_daemon_config(&h->d, cw, uw, daemon_extra, NULL, NULL);
    h->port = fix_http_port();
    snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%d", h->port);
    snprintf(h->hdrs, sizeof(h->hdrs), "%s/http.hdrs", h->d.dir);
    snprintf(h->body, sizeof(h->body), "%s/http.body", h->d.dir);
    FILE *f = fopen(h->d.conf, "a");
    if (f == NULL)
        abort();
    fprintf(f, "[http]\nlisten = 127.0.0.1:%d\n%s\n", h->port, http_extra ? http_extra : "");
    fclose(f);
}

static int
healthy(void *ud)
{
    return fix_http_curl(ud, "/healthz", "%s", "") == 200;
}

int
fix_http_start(struct fix_http *h)
{
    if (fix_daemon_start(&h->d) < 0)
        return -1;
    return fix_wait(healthy, h, 10000) ? 0 : -1;
}

int
fix_http_curl(struct fix_http *h, const char *path, const char *fmt, ...)
{
    char args[4096], out[64], auth[200] = "";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    if (h->token[0])
        snprintf(auth, sizeof(auth), "-H 'Authorization: Bearer %s'", h->token);
    unlink(h->body);
    unlink(h->hdrs);
    int rc = fix_sh(out, sizeof(out),
                    "curl -sS --max-time 120 -o '%s' -D '%s' -w '%%{http_code}' %s %s '%s%s' "
                    "2>/dev/null",
                    h->body, h->hdrs, auth, args, h->base, path);
    (void)rc;
    return atoi(out);
}

json_t *
fix_http_json(struct fix_http *h)
{
    json_error_t e;
    return json_load_file(h->body, 0, &e);
}

int
fix_http_header(struct fix_http *h, const char *name, char *out, size_t cap)
{
    FILE *f = fopen(h->hdrs, "r");
    char line[1024];
    size_t n = strlen(name);
    int found = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%s", v);
            out[strcspn(out, "\r\n")] = '\0';
            found = 1;
        }
    }
    fclose(f);
    return found;
}

const char *
fix_http_error(struct fix_http *h)
{
    static char code[64];
    json_t *j = fix_http_json(h);
    const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));

    snprintf(code, sizeof(code), "%s", c ? c : "");
    json_decref(j);
    return code;
}

int
fix_http_upload(struct fix_http *h, const char *file, const char *query, long long *id)
{
    char path[1024];

    snprintf(path, sizeof(path), "/v1/jobs%s%s", query[0] ? "?" : "", query);
    int st =
        fix_http_curl(h, path, "-X POST -H 'Content-Type: video/mp4' --data-binary @'%s'", file);
    json_t *j = fix_http_json(h);
    json_t *v = json_object_get(j, "id");
    *id = st == 201 && json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(j);
    return st;
}

struct wait_state {
    struct fix_http *h;
    long long id;
    const char *state;
    json_t *job;
};

static int
reached(void *ud)
{
    struct wait_state *w = ud;
    char path[64];

    snprintf(path, sizeof(path), "/v1/jobs/%lld", w->id);
    if (fix_http_curl(w->h, path, "%s", "") != 200)
        return 0;
    json_t *j = fix_http_json(w->h);
    const char *st = json_string_value(json_object_get(j, "state"));
    int ok = st && (w->state ? strcmp(st, w->state) == 0
                             : strcmp(st, "done") == 0 || strcmp(st, "failed") == 0 ||
                                   strcmp(st, "canceled") == 0);
    if (ok) {
        w->job = j;
        return 1;
    }
    json_decref(j);
    return 0;
}

json_t *
fix_http_wait_state(struct fix_http *h, long long id, const char *state, int timeout_ms)
{
    struct wait_state w = {h, id, state, NULL};

    fix_wait(reached, &w, timeout_ms);
    return w.job;
}
