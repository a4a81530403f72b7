/*
 * fix_ctl.c - see fix_ctl.h. The fake master is deliberately dumb:
 * canned answers keyed by "cmd", so that the tests assert what ctl does,
 * not what a master would decide.
 */
#include "tests/fix_ctl.h"

#include "tests/fix.h"
#include "daemon/ctl.h"
#include "daemon/log.h"
#include "ipc/msg.h"
#include "ipc/proto.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static json_t *
fake_job(json_int_t id, const char *state, const char *input, double progress)
{
    int done = strcmp(state, "done") == 0;
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:f, s:{s:i, s:i}, s:[s,s,s,s,s,s], s:i, s:o, s:o}",
                     "id", id, "state", state, "input", input, "created_at", "2024-05-01T10:00:00Z",
                     "updated_at", "2024-05-01T10:00:05Z", "progress", progress, "segments", "done",
                     (int)(progress * 10), "uploaded", (int)(progress * 8), "renditions", "720p",
                     "480p", "audio_en", "audio_fr", "audio_fr_51", "subs_de", "attempts", 1,
                     "playlist_url", done ? json_string("file:///out/7/master.m3u8") : json_null(),
                     "error", strcmp(state, "failed") == 0 ? json_string("boom") : json_null());
}

static json_t *
fake_error(const char *code, const char *msg)
{
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

/* fake_answer - the canned reply to one request; f->mu held */
static json_t *
fake_answer(struct fix_ctl *f, json_t *req, uint64_t seq)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    json_int_t id = json_integer_value(json_object_get(req, "id"));
    char ver[64];

    if (cmd == NULL)
        return fake_error("bad_request", "no cmd");
    if (strcmp(cmd, "ping") == 0) {
        snprintf(ver, sizeof(ver), "test-seq-%llu", (unsigned long long)seq);
        return json_pack("{s:b, s:s}", "ok", 1, "version", ver);
    }
    if (strcmp(cmd, "admit") == 0)
        return f->admit_full ? fake_error("queue_full", "queue full (2 jobs waiting)")
                             : json_pack("{s:b}", "ok", 1);
    if (strcmp(cmd, "submit") == 0) {
        const char *token = json_string_value(json_object_get(req, "token"));
        const char *input = json_string_value(json_object_get(req, "input"));
        char path[1024], dst[1024];
        struct stat st;
        f->submits++;
        if (token == NULL || input == NULL)
            return fake_error("bad_request", "no token");
        snprintf(path, sizeof(path), "%s/incoming/%s", f->spool, token);
        f->sub_dir_mode = stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
        snprintf(path, sizeof(path), "%s/incoming/%s/input", f->spool, token);
        free(f->sub_data);
        f->sub_data = fix_ctl_read_file(path, &f->sub_len);
        if (f->submit_fail)
            return fake_error("queue_full", "queue full");
        snprintf(path, sizeof(path), "%s/incoming/%s", f->spool, token);
        snprintf(dst, sizeof(dst), "%s/job-%d", f->spool, ++f->next_job);
        if (rename(path, dst) < 0)
            return fake_error("internal", "rename failed");
        return json_pack("{s:b, s:o}", "ok", 1, "job", fake_job(f->next_job, "queued", input, 0));
    }
    if (strcmp(cmd, "status") == 0) {
        if (id == 404)
            return fake_error("not_found", "no job 404");
        f->status_calls++;
        if (f->wait_done_after > 0) {
            int n = f->status_calls, end = f->wait_done_after;
            const char *st =
                n < end ? (n < 2 ? "queued" : "converting") : (f->wait_fail ? "failed" : "done");
            return json_pack("{s:b, s:o}", "ok", 1, "job",
                             fake_job(id, st, "movie.mp4", n >= end ? 1.0 : (double)n / end));
        }
        return json_pack("{s:b, s:o}", "ok", 1, "job",
                         fake_job(id, "converting", "movie.mp4", 0.5));
    }
    if (strcmp(cmd, "cancel") == 0 || strcmp(cmd, "retry") == 0)
        return json_pack("{s:b, s:o}", "ok", 1, "job",
                         fake_job(id, cmd[0] == 'c' ? "canceled" : "queued", "movie.mp4", 0));
    if (strcmp(cmd, "list") == 0)
        return json_pack("{s:b, s:[o,o]}", "ok", 1, "jobs", fake_job(1, "done", "a.mp4", 1),
                         fake_job(2, "converting", "b.mp4", 0.25));
    if (strcmp(cmd, "workers") == 0)
        return json_pack("{s:b, s:[{s:i, s:s, s:i, s:s, s:n, s:i, s:s, s:i, s:i}]}", "ok", 1,
                         "workers", "slot", 0, "role", "ctl", "pid", 4242, "state", "idle", "job",
                         "generation", 1, "started_at", "2024-05-01T10:00:00Z", "jobs_done", 0,
                         "restarts", 0);
    if (strcmp(cmd, "stats") == 0)
        return json_pack("{s:b, s:{s:{s:i, s:i}, s:i}}", "ok", 1, "stats", "jobs", "queued", 3,
                         "done", 9, "uptime_s", 42);
    return fake_error("unknown_command", "fake master does not know it");
}

/* fake_fail - criterion asserts belong to the test's thread: record it */
static void *
fake_fail(struct fix_ctl *f, const char *what)
{
    f->thread_err = what;
    return NULL;
}

static void *
fake_master(void *arg)
{
    struct fix_ctl *f = arg;
    ring_t *out = shmseg_outbox(f->seg), *in = shmseg_inbox(f->seg);
    struct msg_asm a;
    struct rec r;

    if (msg_asm_init(&a, PROTO_MSG_MAX) < 0)
        return fake_fail(f, "msg_asm_init");
    while (!f->stop) {
        if (ring_pop(out, &r) < 0) {
            ring_wait_data(out, 50);
            continue;
        }
        if (rec_check(&r, proto_rules_ctl) < 0)
            return fake_fail(f, "ctl sent a bad record");
        int k = msg_asm_feed(&a, &r);
        if (k < 0)
            return fake_fail(f, "ctl sent a broken message");
        if (k == 0)
            continue;
        if (a.type == PROTO_HELLO) {
            f->hello = 1;
            continue;
        }
        json_error_t jerr;
        json_t *req = json_loadb((const char *)a.buf, a.len, 0, &jerr);
        if (req == NULL)
            return fake_fail(f, "ctl forwarded malformed JSON");
        if (f->delay_ms) {
            struct timespec ts = {f->delay_ms / 1000, (f->delay_ms % 1000) * 1000000L};
            f->delay_ms = 0;
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&f->mu);
        json_array_append(f->reqs, req);
        json_t *rep = fake_answer(f, req, a.job);
        pthread_mutex_unlock(&f->mu);
        char *s = json_dumps(rep, JSON_COMPACT);
        if (msg_send(in, PROTO_CTL_REPLY, a.job, s, strlen(s), 2000) < 0)
            fake_fail(f, "msg_send of a reply failed");
        free(s);
        json_decref(rep);
        json_decref(req);
    }
    msg_asm_free(&a);
    return NULL;
}

static int
said_hello(void *ud)
{
    const struct fix_ctl *f = ud;
    return f->hello;
}

void
fix_ctl_start(struct fix_ctl *f, unsigned long long max_input)
{
    static int n;
    char err[256];

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/ctl-%d-%d", fix_tmp(), (int)getpid(), ++n);
    cr_assert_eq(mkdir(f->dir, 0700), 0, "mkdir %s: %s", f->dir, strerror(errno));
    snprintf(f->sock, sizeof(f->sock), "%s/s", f->dir);
    snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
    snprintf(f->cfg.daemon.socket, sizeof(f->cfg.daemon.socket), "%s", f->sock);
    snprintf(f->cfg.daemon.spool_dir, sizeof(f->cfg.daemon.spool_dir), "%s", f->spool);
    f->cfg.daemon.socket_mode = 0600;
    f->cfg.daemon.max_input_bytes = max_input;
    f->lfd = ctl_listen(&f->cfg, err, sizeof(err));
    cr_assert_geq(f->lfd, 0, "ctl_listen: %s", err);
    f->seg = shmseg_create(1, 64, REC_SIZE);
    cr_assert_not_null(f->seg);
    f->reqs = json_array();
    pthread_mutex_init(&f->mu, NULL);

    fflush(NULL);
    f->ctl = fork();
    cr_assert_geq(f->ctl, 0);
    if (f->ctl == 0) {
        char log[512];
        snprintf(log, sizeof(log), "%s/ctl.log", f->dir);
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lfd >= 0)
            dup2(lfd, 2);
        log_init("ctl", 1, LOG_LVL_INFO);
        if (shmseg_child_attach(f->seg) < 0)
            _exit(99);
        _exit(ctl_main(&f->cfg, f->seg, f->lfd));
    }
    cr_assert_eq(pthread_create(&f->master, NULL, fake_master, f), 0);
    cr_assert(fix_wait(said_hello, f, 5000), "ctl did not say hello");
}

int
fix_ctl_alive(struct fix_ctl *f)
{
    int st;
    return waitpid(f->ctl, &st, WNOHANG) == 0;
}

void
fix_ctl_stop(struct fix_ctl *f)
{
    int st;

    cr_assert(fix_ctl_alive(f), "ctl died (see %s/ctl.log)", f->dir);
    kill(f->ctl, SIGTERM);
    cr_assert_eq(waitpid(f->ctl, &st, 0), f->ctl);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ctl exit status %#x", st);
    f->stop = 1;
    pthread_join(f->master, NULL);
    cr_assert_null(f->thread_err, "fake master: %s", f->thread_err);
    close(f->lfd);
    shmseg_destroy(f->seg);
    json_decref(f->reqs);
    free(f->sub_data);
}

int
fix_ctl_connect(struct fix_ctl *f)
{
    int fd = fix_connect(f->sock);

    cr_assert_geq(fd, 0, "connect %s: %s", f->sock, strerror(errno));
    return fd;
}

void
fix_ctl_send(int fd, const void *buf, size_t len)
{
    cr_assert_eq(fix_send_all(fd, buf, len), 0, "send: %s", strerror(errno));
}

void
fix_ctl_send_fd(int sock, const char *line, int fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    struct iovec iov = {(void *)line, strlen(line)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf)};
    memset(&cm, 0, sizeof(cm));
    struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    cr_assert_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)strlen(line));
}

json_t *
fix_ctl_reply(int fd)
{
    char *line = fix_line(fd, 10000);
    cr_assert_not_null(line, "no reply");
    json_t *rep = json_loads(line, 0, NULL);
    cr_assert(json_is_object(rep), "not an object: %s", line);
    free(line);
    return rep;
}

json_t *
fix_ctl_rpc(struct fix_ctl *f, const char *line)
{
    int fd = fix_ctl_connect(f);
    fix_ctl_send(fd, line, strlen(line));
    fix_ctl_send(fd, "\n", 1);
    json_t *rep = fix_ctl_reply(fd);
    close(fd);
    return rep;
}

const char *
fix_ctl_code(json_t *rep)
{
    if (json_is_true(json_object_get(rep, "ok")))
        return "";
    const char *c = json_string_value(json_object_get(json_object_get(rep, "error"), "code"));
    return c ? c : "?";
}

size_t
fix_ctl_nreqs(struct fix_ctl *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = json_array_size(f->reqs);
    pthread_mutex_unlock(&f->mu);
    return n;
}

json_t *
fix_ctl_req(struct fix_ctl *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    json_t *r = json_incref(json_array_get(f->reqs, i));
    pthread_mutex_unlock(&f->mu);
    return r;
}

int
fix_ctl_incoming_empty(struct fix_ctl *f)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/incoming", f->spool);
    DIR *d = opendir(path);
    if (d == NULL)
        return 1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

int
fix_ctl_hlsctl(struct fix_ctl *f, int in_fd, char *out, size_t outlen, char *err, size_t errlen,
               ...)
{
    const char *bindir = fix_bindir();
    char prog[1024];
    char *argv[32];
    int argc = 0;
    va_list ap;

    snprintf(prog, sizeof(prog), "%s/hlsctl", bindir ? bindir : "bin");
    argv[argc++] = prog;
    argv[argc++] = "-s";
    argv[argc++] = f->sock;
    va_start(ap, errlen);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    return fix_capture(argv, in_fd, NULL, out, outlen, err, errlen);
}

void
fix_ctl_file(struct fix_ctl *f, const char *name, size_t n, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", f->dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    unsigned char buf[4096];
    unsigned x = (unsigned)n * 2654435761u + 1;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);
        for (size_t i = 0; i < k; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        cr_assert_eq(write(fd, buf, k), (ssize_t)k);
        off += k;
    }
    close(fd);
}

unsigned char *
fix_ctl_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    *len = 0;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return b;
}
