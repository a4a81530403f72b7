/*
 * fix_web.c - start, stop and read tools/test-web-server.py (fix_web.h).
 */
#include "tests/fix_web.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

void
fix_web_init(struct fix_web *w, const char *name, const char *secret)
{
    char base[400];

    memset(w, 0, sizeof(*w));
    fix_tmpdir(base, sizeof(base), name);
    snprintf(w->dir, sizeof(w->dir), "%s/files", base);
    snprintf(w->log, sizeof(w->log), "%s/hooks.log", base);
    snprintf(w->secret, sizeof(w->secret), "%s", secret ? secret : "");
    fix_sh(NULL, 0, "mkdir -p '%s' && : > '%s'", w->dir, w->log);
}

void
fix_web_tls(struct fix_web *w)
{
    char out[2048];

    snprintf(w->cert, sizeof(w->cert), "%s.crt", w->log);
    int rc = fix_sh(out, sizeof(out),
                    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                    "-addext subjectAltName=IP:127.0.0.1 -keyout '%s.key' -out '%s' 2>&1",
                    w->log, w->cert);
    if (rc != 0)
        cr_log_error("openssl req: %s", out);
}

static int
port_ready(void *ud)
{
    return fix_exists((const char *)ud);
}

int
fix_web_start(struct fix_web *w, int port)
{
    char pf[700], script[700], portarg[16], key[700];

    snprintf(pf, sizeof(pf), "%s.port", w->log);
    unlink(pf);
    snprintf(script, sizeof(script), "%s/tools/test-web-server.py", fix_srcdir());
    snprintf(portarg, sizeof(portarg), "%d", port);
    snprintf(key, sizeof(key), "%s.key", w->log);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (w->cert[0])
            execlp("python3", "python3", script, "--port", portarg, "--port-file", pf, "--dir",
                   w->dir, "--secret", w->secret, "--log", w->log, "--cert", w->cert, "--key", key,
                   (char *)NULL);
        else
            execlp("python3", "python3", script, "--port", portarg, "--port-file", pf, "--dir",
                   w->dir, "--secret", w->secret, "--log", w->log, (char *)NULL);
        _exit(127);
    }
    w->pid = pid;
    if (!fix_wait(port_ready, pf, 10000))
        return -1;
    char *text = fix_slurp(pf);
    w->port = text ? atoi(text) : 0;
    free(text);
    return w->port > 0 ? 0 : -1;
}

void
fix_web_stop(struct fix_web *w)
{
    if (w->pid > 0) {
        kill(w->pid, SIGKILL);
        waitpid(w->pid, NULL, 0);
    }
    w->pid = 0;
}

const char *
fix_web_url(struct fix_web *w, const char *path)
{
    static char url[1024];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", w->cert[0] ? "https" : "http", w->port, path);
    return url;
}

int
fix_web_hooks(struct fix_web *w, int64_t id, const char *state, int *bad)
{
    char *text = fix_slurp(w->log), *save = NULL;
    int n = 0;

    if (bad)
        *bad = 0;
    if (text == NULL)
        return 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *rec = json_loads(line, 0, NULL);
        json_t *job = json_object_get(rec, "job");
        json_t *st = json_object_get(rec, "state");
        if (rec && (id == 0 || (json_is_integer(job) && json_integer_value(job) == id)) &&
            (state == NULL || (json_is_string(st) && strcmp(json_string_value(st), state) == 0))) {
            if (json_is_true(json_object_get(rec, "ok")))
                n++;
            else if (bad)
                (*bad)++;
        }
        json_decref(rec);
    }
    free(text);
    return n;
}

int
fix_web_requests(struct fix_web *w, const char *path)
{
    char out[8192];

    if (fix_sh(out, sizeof(out), "curl -s %s%s '%s'", w->cert[0] ? "--cacert " : "", w->cert,
               fix_web_url(w, "/requests")) != 0)
        return -1;
    json_t *o = json_loads(out, 0, NULL);
    json_t *v = json_object_get(o, path);
    int n = json_is_integer(v) ? (int)json_integer_value(v) : 0;
    json_decref(o);
    return n;
}
