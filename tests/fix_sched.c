/*
 * fix_sched.c - the scheduler's test world (see fix_sched.h).
 */
#include "tests/fix_sched.h"

#include "daemon/spool.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fix_sched FS;

static void
fake_lease(void *ud, int w, int b)
{
    (void)ud;
    cr_assert(b != FS.busy[w], "worker %d: lease %d twice", w, b);
    FS.busy[w] = b;
}

static int
fake_send(void *ud, int w, uint16_t type, uint64_t job, const void *body, size_t len)
{
    (void)ud;
    cr_assert_lt(FS.nsent, 512);
    struct fix_sched_sent *s = &FS.sent[FS.nsent++];
    s->w = w;
    s->type = type;
    s->job = job;
    s->len = len < sizeof(s->body) - 1 ? len : sizeof(s->body) - 1;
    if (s->len) /* a message may be empty, with no body at all */
        memcpy(s->body, body, s->len);
    s->body[s->len] = '\0';
    return 0;
}

static void
fake_kill(void *ud, int w, const char *why)
{
    (void)ud;
    snprintf(FS.killed[w], sizeof(FS.killed[w]), "%s", why);
}

static int64_t
fake_now(void)
{
    return FS.clock_ms;
}

static int64_t
fake_wall(void)
{
    return FS.wall_ms;
}

int
fix_sched_durable(void)
{
    return store_commit(FS.st) == 0 && store_begin(FS.st) == 0 ? 0 : -1;
}

void
fix_sched_start(void)
{
    struct sched_env env = {
        .cfg = &FS.cfg,
        .store = FS.st,
        .proc = {.lease = fake_lease, .send = fake_send, .kill = fake_kill},
        .now = fake_now,
        .wall = fake_wall,
        .durable = fix_sched_durable,
        .owner = "test:1",
        .seed = 42,
    };
    sched_init(&env);
}

void
fix_sched_setup(void)
{
    char db[PATH_MAX + 16], err[256];

    memset(&FS, 0, sizeof(FS));
    FS.clock_ms = 1000000; /* not 0: a "not before" of 0 must be in the past */
    FS.wall_ms = 1700000000000;
    fix_tmpdir(FS.dir, sizeof(FS.dir), "sched");
    snprintf(FS.spool, sizeof(FS.spool), "%s/spool", FS.dir);
    cr_assert_eq(spool_prepare(FS.spool), 0, "spool_prepare: %s", strerror(errno));
    snprintf(db, sizeof(db), "%s/hlsd.db", FS.dir);
    FS.st = store_open(db, err, sizeof(err));
    cr_assert_not_null(FS.st, "%s", err);
    cr_assert_eq(store_begin(FS.st), 0);
    config_defaults(&FS.cfg);
    snprintf(FS.cfg.daemon.spool_dir, sizeof(FS.cfg.daemon.spool_dir), "%s", FS.spool);
    snprintf(FS.cfg.upload.url, sizeof(FS.cfg.upload.url), "file://%s/www", FS.dir);
    FS.cfg.upload.max_attempts = 3;
    FS.cfg.convert.max_attempts = 2;
    fix_sched_start();
}

void
fix_sched_teardown(void)
{
    sched_fini();
    store_commit(FS.st);
    store_close(FS.st);
    if (spool_rmtree(FS.dir) < 0)
        cr_log_warn("could not remove %s", FS.dir);
}

int64_t
fix_sched_submit(void)
{
    static unsigned n;
    char token[32], path[PATH_MAX + 64], msg[300];
    const char *code = "";
    struct store_job row;

    snprintf(token, sizeof(token), "%016x", ++n);
    snprintf(path, sizeof(path), "%s/incoming/%s", FS.spool, token);
    cr_assert_eq(spool_mkdir_p(path, 0700), 0);
    strcat(path, "/input");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not really a video", f);
    fclose(f);
    cr_assert_eq(sched_submit(token, "clip.mp4", NULL, 0, NULL, &row, &code, msg, sizeof(msg)), 0,
                 "%s: %s", code, msg);
    return row.id;
}

struct store_job
fix_sched_row(int64_t id)
{
    struct store_job row;
    cr_assert_eq(sched_status(id, &row), 0, "no job %lld", (long long)id);
    return row;
}

const struct fix_sched_sent *
fix_sched_last_to(int w)
{
    for (int i = FS.nsent - 1; i >= 0; i--)
        if (FS.sent[i].w == w)
            return &FS.sent[i];
    return NULL;
}

void
fix_sched_segment(int w, int64_t job, const char *rend, unsigned idx, uint64_t size)
{
    struct proto_conv_segment m;

    memset(&m, 0, sizeof(m));
    snprintf(m.rendition, sizeof(m.rendition), "%s", rend);
    m.index = idx;
    m.size = size;
    m.duration = 2.0;
    sched_on_message(w, SCHED_CONVERT, PROTO_CONV_SEGMENT, (uint64_t)job, &m, sizeof(m));
}

void
fix_sched_conv_done(int w, int64_t job, const char *text)
{
    sched_on_message(w, SCHED_CONVERT, PROTO_CONV_DONE, (uint64_t)job, text, strlen(text) + 1);
}

/* offer_up - an idle upload worker: the key it was given ("" if none) */
const char *
fix_sched_offer_up(int w, uint16_t *type)
{
    static char key[1400];
    int before = FS.nsent;

    key[0] = '\0';
    if (!sched_offer(w, SCHED_UPLOAD))
        return key;
    cr_assert_eq(FS.nsent, before + 1);
    const struct fix_sched_sent *s = fix_sched_last_to(w);
    const char *nl = strchr(s->body, '\n');
    snprintf(key, sizeof(key), "%s", nl ? nl + 1 : s->body);
    if (type)
        *type = s->type;
    return key;
}

/* worker_exit - w died; as the process table, its slot is free again */
void
fix_sched_exit(int w, int status, int we_stopped, const char *reason)
{
    sched_on_exit(w, status, we_stopped, reason);
    FS.busy[w] = 0;
}

void
fix_sched_up_result(int w, int64_t job, enum proto_up_class cls, int64_t retry_after,
                    const char *text)
{
    struct {
        struct proto_up_result h;
        char text[200];
    } m;

    memset(&m, 0, sizeof(m));
    m.h.cls = cls;
    m.h.http_status = cls == PROTO_UP_OK ? 200 : 503;
    m.h.retry_after_ms = retry_after;
    snprintf(m.h.etag, sizeof(m.h.etag), "%s", cls == PROTO_UP_OK ? "\"etag\"" : "");
    snprintf(m.text, sizeof(m.text), "%s", text);
    sched_on_message(w, SCHED_UPLOAD, PROTO_UP_RESULT, (uint64_t)job, &m,
                     sizeof(m.h) + strlen(text));
}

/* publish_all - upload whatever is ready with one worker, all succeeding;
 * the keys in the order they went out, space-separated */
void
fix_sched_publish_all(int64_t job, char *order, size_t cap)
{
    const char *key;

    while ((key = fix_sched_offer_up(UP, NULL))[0]) {
        size_t n = strlen(order);
        snprintf(order + n, cap - n, "%s%s", n ? " " : "", key);
        fix_sched_up_result(UP, job, PROTO_UP_OK, -1, "");
    }
}

/* a job converting on worker w with two 720p segments, not yet uploaded */
int64_t
fix_sched_converting_on(int w)
{
    int64_t id = fix_sched_submit();
    cr_assert(sched_offer(w, SCHED_CONVERT));
    cr_assert_eq(fix_sched_last_to(w)->type, PROTO_CONV_START);
    cr_assert_eq(fix_sched_last_to(w)->job, (uint64_t)id);
    fix_sched_segment(w, id, "720p", 0, 1000);
    fix_sched_segment(w, id, "720p", 1, 1000);
    return id;
}

int64_t
fix_sched_converting(void)
{
    return fix_sched_converting_on(CONV);
}

/* cancel - a successful cancel of id: its row */
struct store_job
fix_sched_cancel(int64_t id)
{
    const char *code = "";
    char msg[300];
    struct store_job row;

    cr_assert_eq(sched_cancel(id, &row, &code, msg, sizeof(msg)), 0, "%s: %s", code, msg);
    return row;
}

int64_t
fix_sched_put_job(enum job_state state, unsigned segs_uploaded)
{
    struct store_job j;
    char path[PATH_MAX + 64];

    memset(&j, 0, sizeof(j));
    j.state = state;
    j.segs_uploaded = segs_uploaded;
    j.conv_done = state == JOB_UPLOADING || state == JOB_DONE;
    snprintf(j.input, sizeof(j.input), "%s.mp4", job_state_name(state));
    cr_assert_eq(store_job_insert(FS.st, &j), 0);
    spool_job_path(FS.spool, j.id, "out", path, sizeof(path));
    cr_assert_eq(spool_mkdir_p(path, 0700), 0);
    return j.id;
}

void
fix_sched_put_obj(int64_t job, const char *rel, enum obj_state state)
{
    struct store_obj o;

    memset(&o, 0, sizeof(o));
    o.job = job;
    snprintf(o.rel, sizeof(o.rel), "%s", rel);
    o.state = state;
    o.size = 1000;
    cr_assert_eq(store_obj_put(FS.st, &o), 0);
}
