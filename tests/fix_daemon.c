/*
 * fix_daemon.c - see fix_daemon.h. Every wait here polls a condition with a deadline.
 */
#include "tests/fix_daemon.h"

#include "tests/fix.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <grp.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
fix_daemon_init(struct fix_daemon *d, const char *name, int s3)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->dir, sizeof(d->dir), "%s/d-%s-%ld", fix_tmp(), name, (long)getpid());
    fix_sh(NULL, 0, "rm -rf '%s' && mkdir -p '%s'", d->dir, d->dir);
    snprintf(d->conf, sizeof(d->conf), "%s/hlsd.conf", d->dir);
    snprintf(d->sock, sizeof(d->sock), "%s/s", d->dir);
    snprintf(d->spool, sizeof(d->spool), "%s/spool", d->dir);
    snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
    snprintf(d->www, sizeof(d->www), "%s/www", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/hlsd.log", d->dir);
    d->pid = -1;
    if (!s3) {
        snprintf(d->url, sizeof(d->url), "file://%s", d->www);
        return 0;
    }
    const char *b = getenv("HLSD_TEST_S3_BUCKET");
    if (b == NULL || getenv("HLSD_TEST_S3_ENDPOINT") == NULL)
        return -1;
    snprintf(d->s3_prefix, sizeof(d->s3_prefix), "%s-%ld", name, (long)getpid());
    snprintf(d->url, sizeof(d->url), "s3://%s/%s", b, d->s3_prefix);
    return 0;
}

void
fix_daemon_config(struct fix_daemon *d, unsigned cw, unsigned uw, const char *dx, const char *cx,
                  const char *ux)
{
    FILE *f = fopen(d->conf, "w");
    if (f == NULL)
        return;
    fprintf(f,
            "[daemon]\nsocket = %s\nstate_dir = %s\nspool_dir = %s\npidfile = %s/hlsd.pid\n"
            "shutdown_timeout = 5s\n%s\n"
            "[convert]\nworkers = %u\nthreads = 1\nsegment_seconds = 2\npreset = ultrafast\n%s\n"
            "[upload]\nworkers = %u\nurl = %s\nbackoff_base = 100ms\nbackoff_max = 1s\n",
            d->sock, d->state, d->spool, d->dir, dx ? dx : "", cw, cx ? cx : "", uw, d->url);
    if (strncmp(d->url, "s3://", 5) == 0)
        fprintf(f,
                "endpoint = %s\nregion = %s\npath_style = yes\naccess_key_id = %s\n"
                "secret_access_key = %s\n",
                getenv("HLSD_TEST_S3_ENDPOINT"),
                getenv("HLSD_TEST_S3_REGION") ? getenv("HLSD_TEST_S3_REGION") : "us-east-1",
                getenv("HLSD_TEST_S3_ACCESS_KEY"), getenv("HLSD_TEST_S3_SECRET_KEY"));
    fprintf(f, "%s\n", ux ? ux : "");
    fclose(f);
}

/* fix_daemon_settle - until no worker is still starting (loading its
 * engine, before its hello), so that a test which stops or kills "the
 * convert worker" acts on one that is ready for work; gives up quietly at
 * the deadline (a test of crashing workers judges those itself) */
static void
fix_daemon_settle(struct fix_daemon *d, int64_t deadline)
{
    while (fix_ms() < deadline) {
        json_t *r = fix_daemon_req(d, "{\"cmd\":\"workers\"}");
        json_t *w;
        size_t i;
        int starting = r == NULL;
        json_array_foreach(json_object_get(r, "workers"), i, w)
        {
            const char *st = json_string_value(json_object_get(w, "state"));
            starting |= st != NULL && strcmp(st, "starting") == 0;
        }
        json_decref(r);
        if (!starting)
            return;
        fix_nap(10);
    }
}

int
fix_daemon_start(struct fix_daemon *d)
{
    char hlsd[700];

    snprintf(hlsd, sizeof(hlsd), "%s/%s", fix_bindir(), d->exe ? d->exe : "hlsd");
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        setpgid(0, 0);
        if (d->run_as > 0 &&
            (setgroups(0, NULL) < 0 || setgid(d->run_as_gid) < 0 || setuid(d->run_as) < 0))
            _exit(126);
        /* a test that fails half-way must not leave its daemon running
         * (after setuid, which clears it) */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() == 1)
            _exit(127);
        execl(hlsd, hlsd, "-f", "-c", d->conf, (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    int64_t deadline = fix_ms() + 10000;
    while (fix_ms() < deadline) {
        json_t *r = fix_daemon_req(d, "{\"cmd\":\"ping\"}");
        if (r) {
            int ok = json_is_true(json_object_get(r, "ok"));
            json_decref(r);
            if (ok) {
                fix_daemon_settle(d, deadline);
                return 0;
            }
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            d->pid = -1;
            return -1;
        }
        fix_nap(20);
    }
    return -1;
}

int
fix_daemon_stop(struct fix_daemon *d, int sig, int timeout_ms)
{
    int st;

    if (d->pid <= 0)
        return -1;
    kill(d->pid, sig);
    int64_t deadline = fix_ms() + timeout_ms;
    while (fix_ms() < deadline) {
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            d->pid = -1;
            return st;
        }
        fix_nap(10);
    }
    kill(-d->pid, SIGKILL);
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &st, 0);
    d->pid = -1;
    return -1;
}

int
fix_daemon_ctl(struct fix_daemon *d, char *out, size_t cap, const char *fmt, ...)
{
    char args[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    return fix_sh(out, cap, "'%s/hlsctl' -s '%s' %s", fix_bindir(), d->sock, args);
}

json_t *
fix_daemon_req(struct fix_daemon *d, const char *line)
{
    int fd = fix_connect(d->sock);

    if (fd < 0)
        return NULL;
    /* the server may answer and close before it has read everything (an
     * oversize line): read its answer all the same */
    if (fix_send_all(fd, line, strlen(line)) == 0)
        fix_send_all(fd, "\n", 1);
    char *reply = fix_line(fd, 10000);
    close(fd);
    json_t *rep = reply ? json_loads(reply, 0, NULL) : NULL;
    free(reply);
    return rep;
}

int64_t
fix_daemon_submit(struct fix_daemon *d, const char *file, const char *args)
{
    char out[8192];

    if (fix_daemon_ctl(d, out, sizeof(out), "--json submit '%s' %s", file, args ? args : "") != 0)
        return -1;
    json_t *r = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    if (r == NULL)
        return -1;
    json_t *job = json_object_get(r, "job");
    if (job == NULL)
        job = r;
    int64_t id = json_is_integer(json_object_get(job, "id"))
                     ? (int64_t)json_integer_value(json_object_get(job, "id"))
                     : -1;
    json_decref(r);
    return id;
}

json_t *
fix_daemon_status(struct fix_daemon *d, int64_t id)
{
    char line[128];

    snprintf(line, sizeof(line), "{\"cmd\":\"status\",\"id\":%lld}", (long long)id);
    json_t *r = fix_daemon_req(d, line);
    if (r == NULL)
        return NULL;
    json_t *job = json_incref(json_object_get(r, "job"));
    json_decref(r);
    return job;
}

json_t *
fix_daemon_wait(struct fix_daemon *d, int64_t id, const char *state, int timeout_ms)
{
    int64_t deadline = fix_ms() + timeout_ms;

    while (fix_ms() < deadline) {
        json_t *j = fix_daemon_status(d, id);
        if (j) {
            const char *st = json_string_value(json_object_get(j, "state"));
            if (st && state && strcmp(st, state) == 0)
                return j;
            if (st && !state &&
                (!strcmp(st, "done") || !strcmp(st, "failed") || !strcmp(st, "canceled")))
                return j;
            json_decref(j);
        }
        fix_nap(25);
    }
    return NULL;
}

json_t *
fix_daemon_wait_done(struct fix_daemon *d, int64_t id, int timeout_ms)
{
    json_t *j = fix_daemon_wait(d, id, NULL, timeout_ms);
    cr_assert_not_null(j, "job %lld did not end within %d ms", (long long)id, timeout_ms);
    cr_assert_str_eq(fix_daemon_str(j, "state"), "done", "job %lld ended %s: %s", (long long)id,
                     fix_daemon_str(j, "state"), fix_daemon_str(j, "error"));
    return j;
}

const char *
fix_daemon_str(json_t *job, const char *key)
{
    const char *s = json_string_value(json_object_get(job, key));
    return s ? s : "";
}

long long
fix_daemon_segs(json_t *job, const char *key)
{
    return (long long)json_integer_value(json_object_get(json_object_get(job, "segments"), key));
}

long long
fix_daemon_workers(struct fix_daemon *d, const char *role)
{
    json_t *r = fix_daemon_req(d, "{\"cmd\":\"stats\"}");
    if (r == NULL)
        return -1;
    json_t *n = json_object_get(json_object_get(json_object_get(r, "stats"), "workers"), role);
    long long v = json_is_integer(n) ? (long long)json_integer_value(n) : -1;
    json_decref(r);
    return v;
}

int
fix_daemon_log_contains(struct fix_daemon *d, const char *needle)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "grep -qF -- '%s' '%s'", needle, d->log);
    return fix_sh(NULL, 0, "%s", cmd) == 0;
}

int
fix_daemon_aws(char *out, size_t cap, const char *fmt, ...)
{
    char args[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    /* credentials travel in the environment of the child only */
    setenv("AWS_ACCESS_KEY_ID", getenv("HLSD_TEST_S3_ACCESS_KEY"), 1);
    setenv("AWS_SECRET_ACCESS_KEY", getenv("HLSD_TEST_S3_SECRET_KEY"), 1);
    setenv("AWS_DEFAULT_REGION",
           getenv("HLSD_TEST_S3_REGION") ? getenv("HLSD_TEST_S3_REGION") : "us-east-1", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-creds", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_PAGER", "", 1);
    return fix_sh(out, cap, "aws --endpoint-url '%s' %s 2>/dev/null",
                  getenv("HLSD_TEST_S3_ENDPOINT"), args);
}

pid_t
fix_daemon_worker_pid(struct fix_daemon *d, const char *role, int64_t id)
{
    json_t *r = fix_daemon_req(d, "{\"cmd\":\"workers\"}");
    json_t *w;
    size_t i;
    pid_t pid = -1;

    if (r == NULL)
        return -1;
    json_array_foreach(json_object_get(r, "workers"), i, w)
    {
        const char *ro = json_string_value(json_object_get(w, "role"));
        json_t *job = json_object_get(w, "job");
        if (ro == NULL || strcmp(ro, role) != 0)
            continue;
        if (id > 0 && !(json_is_integer(job) && json_integer_value(job) == id))
            continue;
        if (json_integer_value(json_object_get(w, "pid")) > 0) {
            pid = (pid_t)json_integer_value(json_object_get(w, "pid"));
            break;
        }
    }
    json_decref(r);
    return pid;
}

int
fix_daemon_count_files(const char *dir)
{
    char out[64];
    if (fix_sh(out, sizeof(out), "find '%s' -type f 2>/dev/null | wc -l", dir) != 0)
        return -1;
    return atoi(out);
}

json_t *
fix_daemon_wait_uploaded(struct fix_daemon *d, int64_t id, long long n, int timeout_ms)
{
    int64_t deadline = fix_ms() + timeout_ms;

    while (fix_ms() < deadline) {
        json_t *j = fix_daemon_status(d, id);
        json_t *up = json_object_get(json_object_get(j, "segments"), "uploaded");
        if (j && json_integer_value(up) >= n)
            return j;
        json_decref(j);
        fix_nap(25);
    }
    return NULL;
}

pid_t
fix_daemon_wait_worker(struct fix_daemon *d, const char *role, int64_t id, pid_t not,
                       int timeout_ms)
{
    int64_t deadline = fix_ms() + timeout_ms;

    while (fix_ms() < deadline) {
        pid_t pid = fix_daemon_worker_pid(d, role, id);
        if (pid > 0 && pid != not )
            return pid;
        fix_nap(10);
    }
    return -1;
}

void
fix_daemon_first_segment(const char *dir, char *out, size_t cap)
{
    char rel[512] = "";

    fix_sh(rel, sizeof(rel), "cd '%s' 2>/dev/null && ls */seg_00000.ts 2>/dev/null | head -1", dir);
    rel[strcspn(rel, "\n")] = '\0';
    if (rel[0])
        snprintf(out, cap, "%s/%s", dir, rel);
    else if (cap)
        out[0] = '\0';
}

/* fix_daemon_playlist - a finished VOD playlist at root/uri whose files all exist; its entries. */
static int
fix_daemon_playlist(const char *root, const char *uri)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, uri);
    char *media = fix_slurp(path);
    cr_assert_not_null(media, "rendition playlist %s is missing", path);
    cr_assert(strstr(media, "#EXT-X-PLAYLIST-TYPE:VOD"), "%s is not VOD", uri);
    cr_assert(strstr(media, "#EXT-X-ENDLIST"), "%s is not finished", uri);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", uri);
    char *slash = strrchr(dir, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    int n = 0;
    char *s2 = NULL;
    for (char *l = strtok_r(media, "\n", &s2); l; l = strtok_r(NULL, "\n", &s2)) {
        if (l[0] == '#' || l[0] == '\0')
            continue;
        snprintf(path, sizeof(path), "%s/%s/%s", root, dir, l);
        cr_assert(fix_exists(path), "segment %s is missing", path);
        n++;
    }
    free(media);
    return n;
}

/*
 * fix_daemon_published - what a player needs under root (a directory holding
 * master.m3u8): every variant line carries the required attributes, every
 * playlist it names (variants, audio and subtitle renditions, I-frame
 * playlists) is a finished VOD playlist, every segment they name exists.
 * Returns the number of segments; *playlists (if not NULL) the playlists.
 */
int
fix_daemon_published(const char *root, int *playlists)
{
    char path[1024], seen[64][64];
    int nseen = 0;
    snprintf(path, sizeof(path), "%s/master.m3u8", root);
    char *master = fix_slurp(path);
    cr_assert_not_null(master, "%s is missing", path);
    cr_assert(strncmp(master, "#EXTM3U", 7) == 0, "master playlist does not start with #EXTM3U");
    int variants = 0, segments = 0;
    char *save = NULL;
    for (char *line = strtok_r(master, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char uri[64] = "";
        const char *u = strstr(line, "URI=\"");
        if (strncmp(line, "#EXT-X-STREAM-INF:", 18) == 0) {
            variants++;
            const char *need[] = {"BANDWIDTH=", "AVERAGE-BANDWIDTH=", "CODECS=\""};
            for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
                cr_assert(strstr(line, need[i]), "variant lacks %s: %s", need[i], line);
            if (strstr(line, "RESOLUTION=")) {
                cr_assert(strstr(line, "CODECS=\"avc1.") && strstr(line, "FRAME-RATE=") &&
                              strstr(line, "VIDEO-RANGE="),
                          "video variant lacks CODECS, FRAME-RATE or VIDEO-RANGE: %s", line);
            }
            char *next = strtok_r(NULL, "\n", &save);
            cr_assert(next && next[0] != '#', "a variant without a URI");
            snprintf(uri, sizeof(uri), "%s", next);
        } else if ((strncmp(line, "#EXT-X-MEDIA:", 13) == 0 ||
                    strncmp(line, "#EXT-X-I-FRAME-STREAM-INF:", 26) == 0) &&
                   u != NULL) {
            snprintf(uri, sizeof(uri), "%.*s", (int)strcspn(u + 5, "\""), u + 5);
        }
        int dup = uri[0] == '\0';
        for (int i = 0; i < nseen && !dup; i++)
            dup = strcmp(seen[i], uri) == 0;
        if (dup)
            continue;
        cr_assert_lt(nseen, 64);
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", uri);
        int n = fix_daemon_playlist(root, uri);
        segments += strstr(uri, "iframes.m3u8") ? 0 : n; /* byte ranges of the same files */
    }
    free(master);
    cr_assert_gt(variants, 0, "no variant in the master playlist");
    if (playlists)
        *playlists = nseen;
    return segments;
}

const char *
fix_daemon_text(struct fix_daemon *d, const char *name, size_t n)
{
    static char path[700];
    snprintf(path, sizeof(path), "%s/%s", d->dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        fputc(i % 64 == 63 ? '\n' : 'x', f);
    fclose(f);
    return path;
}
