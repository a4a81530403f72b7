/*
 * test_sched.c - the scheduler alone: no process is forked. A fake process
 * interface records what the scheduler sends to which worker, a fake clock
 * moves only when a test moves it, and the store is a real SQLite file in
 * a scratch directory. Each test drives the events a master would feed it
 * (offers of idle workers, worker messages, exits) and checks what a user
 * would: which objects go out in which order, the job's state and error.
 */
#include "daemon/config.h"
#include "daemon/obj.h"
#include "daemon/sched.h"
#include "daemon/spool.h"
#include "daemon/store.h"
#include "ipc/proto.h"
#include "tests/fix.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONV  1 /* worker numbers, as the master's slots would be */
#define CONV2 2
#define UP    40
#define UP2   41

/* ---- the fake world ---- */

struct sent {
    int w;
    uint16_t type;
    uint64_t job;
    char body[1400];
    size_t len;
};

static struct sent sent[512];
static int nsent;
static int busy[SCHED_MAX_WORKERS];
static char killed[SCHED_MAX_WORKERS][160];
static int64_t clock_ms = 1000000, wall_ms = 1700000000000;
static char dir[400], spool[420];
static struct config cfg;
static store_t *st;

static void
fake_lease(void *ud, int w, int b)
{
    (void)ud;
    cr_assert(b != busy[w], "worker %d: lease %d twice", w, b);
    busy[w] = b;
}

static int
fake_send(void *ud, int w, uint16_t type, uint64_t job, const void *body, size_t len)
{
    (void)ud;
    cr_assert_lt(nsent, 512);
    struct sent *s = &sent[nsent++];
    s->w = w;
    s->type = type;
    s->job = job;
    s->len = len < sizeof(s->body) - 1 ? len : sizeof(s->body) - 1;
    memcpy(s->body, body, s->len);
    s->body[s->len] = '\0';
    return 0;
}

static void
fake_kill(void *ud, int w, const char *why)
{
    (void)ud;
    snprintf(killed[w], sizeof(killed[w]), "%s", why);
}

static int64_t
fake_now(void)
{
    return clock_ms;
}

static int64_t
fake_wall(void)
{
    return wall_ms;
}

static int
fake_durable(void)
{
    return store_commit(st) == 0 && store_begin(st) == 0 ? 0 : -1;
}

static void
start_sched(void)
{
    struct sched_env env = {
        .cfg = &cfg,
        .store = st,
        .proc = {.lease = fake_lease, .send = fake_send, .kill = fake_kill},
        .now = fake_now,
        .wall = fake_wall,
        .durable = fake_durable,
        .owner = "test:1",
        .seed = 42,
    };
    sched_init(&env);
}

static void
setup(void)
{
    char db[PATH_MAX + 16], err[256];

    fix_tmpdir(dir, sizeof(dir), "sched");
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    cr_assert_eq(spool_prepare(spool), 0, "spool_prepare: %s", strerror(errno));
    snprintf(db, sizeof(db), "%s/hlsd.db", dir);
    st = store_open(db, err, sizeof(err));
    cr_assert_not_null(st, "%s", err);
    cr_assert_eq(store_begin(st), 0);
    config_defaults(&cfg);
    snprintf(cfg.daemon.spool_dir, sizeof(cfg.daemon.spool_dir), "%s", spool);
    snprintf(cfg.upload.url, sizeof(cfg.upload.url), "file://%s/www", dir);
    cfg.upload.max_attempts = 3;
    cfg.convert.max_attempts = 2;
    start_sched();
}

static void
teardown(void)
{
    sched_fini();
    store_commit(st);
    store_close(st);
    if (spool_rmtree(dir) < 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(sched, .init = setup, .fini = teardown);

/* ---- driving it ---- */

static int64_t
submit(void)
{
    static unsigned n;
    char token[32], path[PATH_MAX + 64], msg[300];
    const char *code = "";
    struct store_job row;

    snprintf(token, sizeof(token), "%016x", ++n);
    snprintf(path, sizeof(path), "%s/incoming/%s", spool, token);
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

static struct store_job
row_of(int64_t id)
{
    struct store_job row;
    cr_assert_eq(sched_status(id, &row), 0, "no job %lld", (long long)id);
    return row;
}

static const struct sent *
last_to(int w)
{
    for (int i = nsent - 1; i >= 0; i--)
        if (sent[i].w == w)
            return &sent[i];
    return NULL;
}

static void
segment(int w, int64_t job, const char *rend, unsigned idx, uint64_t size)
{
    struct proto_conv_segment m;

    memset(&m, 0, sizeof(m));
    snprintf(m.rendition, sizeof(m.rendition), "%s", rend);
    m.index = idx;
    m.size = size;
    m.duration = 2.0;
    sched_on_message(w, SCHED_CONVERT, PROTO_CONV_SEGMENT, (uint64_t)job, &m, sizeof(m));
}

static void
conv_done(int w, int64_t job, const char *text)
{
    sched_on_message(w, SCHED_CONVERT, PROTO_CONV_DONE, (uint64_t)job, text, strlen(text) + 1);
}

/* offer_up - an idle upload worker: the key it was given ("" if none) */
static const char *
offer_up(int w, uint16_t *type)
{
    static char key[1400];
    int before = nsent;

    key[0] = '\0';
    if (!sched_offer(w, SCHED_UPLOAD))
        return key;
    cr_assert_eq(nsent, before + 1);
    const struct sent *s = last_to(w);
    const char *nl = strchr(s->body, '\n');
    snprintf(key, sizeof(key), "%s", nl ? nl + 1 : s->body);
    if (type)
        *type = s->type;
    return key;
}

/* worker_exit - w died; as the process table, its slot is free again */
static void
worker_exit(int w, int status, int we_stopped, const char *reason)
{
    sched_on_exit(w, status, we_stopped, reason);
    busy[w] = 0;
}

static void
up_result(int w, int64_t job, enum proto_up_class cls, int64_t retry_after, const char *text)
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
static void
publish_all(int64_t job, char *order, size_t cap)
{
    const char *key;

    while ((key = offer_up(UP, NULL))[0]) {
        size_t n = strlen(order);
        snprintf(order + n, cap - n, "%s%s", n ? " " : "", key);
        up_result(UP, job, PROTO_UP_OK, -1, "");
    }
}

/* a job converting on worker w with two 720p segments, not yet uploaded */
static int64_t
converting_job_on(int w)
{
    int64_t id = submit();
    cr_assert(sched_offer(w, SCHED_CONVERT));
    cr_assert_eq(last_to(w)->type, PROTO_CONV_START);
    cr_assert_eq(last_to(w)->job, (uint64_t)id);
    segment(w, id, "720p", 0, 1000);
    segment(w, id, "720p", 1, 1000);
    return id;
}

static int64_t
converting_job(void)
{
    return converting_job_on(CONV);
}

/* cancel - a successful cancel of id: its row */
static struct store_job
cancel(int64_t id)
{
    const char *code = "";
    char msg[300];
    struct store_job row;

    cr_assert_eq(sched_cancel(id, &row, &code, msg, sizeof(msg)), 0, "%s: %s", code, msg);
    return row;
}

static int
exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- the tests ---- */

Test(sched, submit_to_master_playlist_last)
{
    int64_t id = converting_job();
    char order[2000] = "", want[400], job_dir[PATH_MAX + 64];

    cr_expect_eq(row_of(id).state, JOB_CONVERTING);
    cr_expect(busy[CONV]);
    publish_all(id, order, sizeof(order)); /* uploads run while converting */
    conv_done(CONV, id, "4.0 720p");
    cr_expect_not(busy[CONV], "the convert worker is free once it reported");
    cr_expect_eq(row_of(id).state, JOB_UPLOADING);
    publish_all(id, order, sizeof(order));
    snprintf(want, sizeof(want),
             "%lld/720p/seg_00000.ts %lld/720p/seg_00001.ts %lld/720p/index.m3u8 "
             "%lld/master.m3u8",
             (long long)id, (long long)id, (long long)id, (long long)id);
    cr_expect_str_eq(order, want);
    struct store_job row = row_of(id);
    cr_expect_eq(row.state, JOB_DONE);
    cr_expect_eq(row.segs_uploaded, 2);
    cr_expect_null(sched_active(id), "a done job leaves memory");
    spool_job_path(spool, id, NULL, job_dir, sizeof(job_dir));
    cr_expect_not(exists(job_dir), "its spool is removed");
    cr_expect_eq(sched_stats()->segments_uploaded, 2);
}

Test(sched, master_playlist_waits_for_every_other_object)
{
    int64_t id = converting_job();
    uint16_t type;

    conv_done(CONV, id, "4.0 720p");
    /* three objects are out: the master playlist must not be among them */
    cr_assert_str_neq(offer_up(UP, &type), "");
    cr_assert_str_neq(offer_up(UP2, &type), "");
    cr_assert_str_neq(offer_up(UP + 2, &type), "");
    cr_expect_str_eq(offer_up(UP + 3, &type), "", "nothing else until they are uploaded");
    up_result(UP, id, PROTO_UP_OK, -1, "");
    up_result(UP2, id, PROTO_UP_OK, -1, "");
    cr_expect_str_eq(offer_up(UP, &type), "", "one object still out");
    up_result(UP + 2, id, PROTO_UP_OK, -1, "");
    char want[64];
    snprintf(want, sizeof(want), "%lld/master.m3u8", (long long)id);
    cr_expect_str_eq(offer_up(UP, &type), want);
}

/* retryable failures: backed off (Retry-After honoured), then retried */
Test(sched, retryable_upload_backs_off_and_retries)
{
    static const struct {
        int64_t retry_after; /* -1: none */
        int64_t at_least;    /* the delay is at least this */
    } cases[] = {{-1, 1}, {0, 1}, {5000, 5000}, {20000, 20000}};

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int64_t id = converting_job_on(CONV + (int)c);
        char key[600];
        snprintf(key, sizeof(key), "%s", offer_up(UP, NULL));
        cr_assert_str_neq(key, "");
        /* the other segment goes out meanwhile */
        cr_assert_str_neq(offer_up(UP2, NULL), "");
        up_result(UP2, id, PROTO_UP_OK, -1, "");
        up_result(UP, id, PROTO_UP_RETRYABLE, cases[c].retry_after, "503 SlowDown");
        cr_expect_eq(row_of(id).state, JOB_CONVERTING, "case %zu: a retry is not a failure", c);
        int64_t due = sched_next_timer();
        cr_assert(due >= clock_ms + cases[c].at_least && due != INT64_MAX,
                  "case %zu: retry due in %lld ms", c, (long long)(due - clock_ms));
        clock_ms = due - 1;
        cr_expect_str_eq(offer_up(UP, NULL), "", "case %zu: not before the back-off", c);
        clock_ms = due;
        cr_expect_str_eq(offer_up(UP, NULL), key, "case %zu: the same object again", c);
        up_result(UP, id, PROTO_UP_OK, -1, "");
        cr_expect_eq(row_of(id).segs_uploaded, 2, "case %zu", c);
    }
}

Test(sched, retryable_upload_gives_up_after_max_attempts)
{
    int64_t id = submit();
    char want[64];

    cr_assert(sched_offer(CONV, SCHED_CONVERT));
    segment(CONV, id, "720p", 0, 1000);
    snprintf(want, sizeof(want), "%lld/720p/seg_00000.ts", (long long)id);
    for (unsigned a = 1; a <= cfg.upload.max_attempts; a++) {
        cr_assert_str_eq(offer_up(UP, NULL), want, "attempt %u", a);
        up_result(UP, id, PROTO_UP_RETRYABLE, 0, "503 SlowDown");
        if (a < cfg.upload.max_attempts)
            clock_ms = sched_next_timer();
    }
    struct store_job row = row_of(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect(strstr(row.error, "failed after 3 attempts") != NULL, "%s", row.error);
    cr_expect(strstr(row.error, "503 SlowDown") != NULL, "%s", row.error);
    cr_expect_str_eq(last_to(CONV)->type == PROTO_CONV_CANCEL ? "cancel" : "other", "cancel",
                     "the conversion is told to stop");
}

Test(sched, permanent_upload_failure_fails_the_job)
{
    int64_t id = converting_job();
    char key[600];

    snprintf(key, sizeof(key), "%s", offer_up(UP, NULL));
    up_result(UP, id, PROTO_UP_PERMANENT, -1, "403 AccessDenied");
    struct store_job row = row_of(id);
    cr_expect_eq(row.state, JOB_FAILED);
    cr_expect(strstr(row.error, key) != NULL, "the error names the key: %s", row.error);
    cr_expect(strstr(row.error, "403 AccessDenied") != NULL, "%s", row.error);
    cr_expect_str_eq(offer_up(UP, NULL), "", "the pending segment is no longer wanted");
    cr_expect_eq(last_to(CONV)->type, PROTO_CONV_CANCEL);
    /* the worker lets go: the job leaves memory, its input stays for retry */
    sched_on_message(CONV, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
    cr_expect_null(sched_active(id));
    char in[PATH_MAX + 64];
    spool_job_path(spool, id, "input", in, sizeof(in));
    cr_expect(exists(in), "a failed job keeps its input");
    /* and a retry starts it again, attempts reset */
    const char *code = "";
    char msg[300];
    cr_assert_eq(sched_retry(id, &row, &code, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect_eq(row.state, JOB_QUEUED);
    cr_expect_eq(row.attempts, 0);
    cr_expect(sched_offer(CONV2, SCHED_CONVERT));
}

/* a convert worker's death: what becomes of its job */
Test(sched, worker_death_requeues_or_fails)
{
    static const struct {
        const char *name;
        unsigned attempts_before; /* conversions already made */
        int status;               /* as from waitpid */
        int we_stopped;
        const char *reason;
        enum job_state want;
        unsigned want_attempts;
        const char *want_error; /* substring, for failed */
    } cases[] = {
        {"crash, attempts left", 0, SIGSEGV, 0, "", JOB_QUEUED, 1, NULL},
        {"crash, last attempt", 1, SIGSEGV, 0, "", JOB_FAILED, 2,
         "worker crashed (signal 11) on this input"},
        {"exit code, last attempt", 1, 3 << 8, 0, "", JOB_FAILED, 2,
         "worker exited with code 3 on this input"},
        {"killed by us: the reason", 1, SIGKILL, 0, "conversion stalled: no progress for 60s",
         JOB_FAILED, 2, "conversion stalled"},
        {"stopped by us (shutdown)", 1, SIGTERM, 1, "", JOB_QUEUED, 1, NULL},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int w = CONV + (int)c;
        int64_t id = submit();
        for (unsigned a = 0; a < cases[c].attempts_before; a++) {
            cr_assert(sched_offer(w, SCHED_CONVERT));
            worker_exit(w, SIGKILL, 0, "");
            cr_assert_eq(row_of(id).state, JOB_QUEUED, "%s: set-up", cases[c].name);
        }
        cr_assert(sched_offer(w, SCHED_CONVERT));
        segment(w, id, "720p", 0, 1000);
        worker_exit(w, cases[c].status, cases[c].we_stopped, cases[c].reason);
        struct store_job row = row_of(id);
        cr_expect_eq(row.state, cases[c].want, "%s: %s", cases[c].name, job_state_name(row.state));
        cr_expect_eq(row.attempts, cases[c].want_attempts, "%s: attempts %u", cases[c].name,
                     row.attempts);
        if (cases[c].want_error)
            cr_expect(strstr(row.error, cases[c].want_error) != NULL, "%s: %s", cases[c].name,
                      row.error);
        if (row.state == JOB_QUEUED) {
            /* the queue gives it to the next idle worker, first in line */
            cr_expect(sched_offer(w, SCHED_CONVERT), "%s: started again", cases[c].name);
            cr_expect_eq(last_to(w)->job, (uint64_t)id);
            cancel(id); /* out of the way of the next case */
            sched_on_message(w, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
        }
    }
}

Test(sched, upload_worker_death_sends_the_object_again)
{
    int64_t id = converting_job();
    char key[600];

    snprintf(key, sizeof(key), "%s", offer_up(UP, NULL));
    worker_exit(UP, SIGKILL, 0, "");
    cr_expect_str_eq(offer_up(UP2, NULL), key, "the same object, to another worker");
    up_result(UP2, id, PROTO_UP_OK, -1, "");
    cr_expect_eq(row_of(id).segs_uploaded, 1);
}

Test(sched, cancel_deletes_what_was_published)
{
    int64_t id = converting_job();
    char first[600], msg[300];
    const char *code = "";
    struct store_job row;

    snprintf(first, sizeof(first), "%s", offer_up(UP, NULL));
    up_result(UP, id, PROTO_UP_OK, -1, ""); /* seg 0 published, seg 1 pending */
    cr_expect_eq(cancel(id).state, JOB_CANCELED);
    cr_expect_eq(last_to(CONV)->type, PROTO_CONV_CANCEL, "the conversion is told to stop");
    uint16_t type = 0;
    cr_expect_str_eq(offer_up(UP, &type), first, "the published segment comes down");
    cr_expect_eq(type, PROTO_UP_DELETE);
    cr_expect_str_eq(offer_up(UP2, NULL), "", "the pending one is forgotten, not deleted");
    up_result(UP, id, PROTO_UP_OK, -1, "");
    cr_expect_not_null(sched_active(id), "the conversion has not let go yet");
    sched_on_message(CONV, SCHED_CONVERT, PROTO_CONV_CANCELED, (uint64_t)id, "", 0);
    cr_expect_null(sched_active(id), "nothing left to do");
    char path[PATH_MAX + 64];
    spool_job_path(spool, id, NULL, path, sizeof(path));
    cr_expect_not(exists(path), "the spool goes");
    struct store_obj so;
    cr_expect_eq(store_obj_get(st, id, "720p/seg_00000.ts", &so), -1, "ledger row gone");
    /* a second cancel is a conflict */
    cr_expect_eq(sched_cancel(id, &row, &code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "conflict");
}

Test(sched, cancel_takes_down_an_object_uploaded_after_it)
{
    int64_t id = converting_job();
    char key[600];

    snprintf(key, sizeof(key), "%s", offer_up(UP, NULL));
    cancel(id);
    up_result(UP, id, PROTO_UP_OK, -1, ""); /* the put was already out */
    uint16_t type = 0;
    cr_expect_str_eq(offer_up(UP, &type), key);
    cr_expect_eq(type, PROTO_UP_DELETE);
}

Test(sched, queue_full_bound)
{
    const char *code = "";
    char msg[300];

    cfg.daemon.max_queued = 2;
    submit();
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), 0);
    submit();
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "queue_full");
    cr_expect(strstr(msg, "2 jobs are waiting") != NULL, "%s", msg);
    struct store_job row;
    char token[] = "00000000000000ff";
    cr_expect_eq(sched_submit(token, "x.mp4", NULL, 0, NULL, &row, &code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "queue_full");
    cr_expect_eq(sched_queued(), 2);
    /* a conversion that starts makes room */
    cr_assert(sched_offer(CONV, SCHED_CONVERT));
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), 0);
    sched_stop();
    cr_expect_eq(sched_admit(&code, msg, sizeof(msg)), -1);
    cr_expect_str_eq(code, "unavailable");
    cr_expect_not(sched_offer(CONV2, SCHED_CONVERT), "no new conversion while stopping");
}

Test(sched, report_about_another_job_kills_the_worker)
{
    static const struct {
        int w;
        enum sched_role role;
        uint16_t type;
        int64_t job_delta; /* added to the leased job's id */
        const char *want;
    } cases[] = {
        {CONV, SCHED_CONVERT, PROTO_CONV_SEGMENT, 1, "protocol: report about a job"},
        {CONV2, SCHED_CONVERT, PROTO_CONV_SEGMENT, 0, "protocol: report about a job"},
        {UP, SCHED_UPLOAD, PROTO_UP_RESULT, 0, "protocol: upload result without"},
        {UP, SCHED_UPLOAD, PROTO_UP_PUT, 0, "protocol: unexpected record type"},
    };
    int64_t id = converting_job(); /* CONV holds it; CONV2 and UP hold nothing */

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct proto_conv_segment m;
        memset(&m, 0, sizeof(m));
        snprintf(m.rendition, sizeof(m.rendition), "720p");
        killed[cases[c].w][0] = '\0';
        sched_on_message(cases[c].w, cases[c].role, cases[c].type,
                         (uint64_t)(id + cases[c].job_delta), &m, sizeof(m));
        cr_expect(strncmp(killed[cases[c].w], cases[c].want, strlen(cases[c].want)) == 0,
                  "case %zu: killed for \"%s\"", c, killed[cases[c].w]);
    }
    cr_expect_eq(row_of(id).state, JOB_CONVERTING, "the job is not harmed");
}

Test(sched, stalled_conversion_is_killed)
{
    int64_t id = converting_job();

    cfg.convert.stall_timeout_ms = 60000;
    clock_ms += 60001;
    sched_timers();
    cr_expect(strstr(killed[CONV], "conversion stalled") != NULL, "%s", killed[CONV]);
    worker_exit(CONV, SIGKILL, 0, killed[CONV]);
    cr_expect_eq(row_of(id).state, JOB_QUEUED, "attempt 1 of 2: again");
}

/* ---- recovery ---- */

static int64_t
put_job(enum job_state state, unsigned segs_uploaded)
{
    struct store_job j;
    char path[PATH_MAX + 64];

    memset(&j, 0, sizeof(j));
    j.state = state;
    j.segs_uploaded = segs_uploaded;
    j.conv_done = state == JOB_UPLOADING || state == JOB_DONE;
    snprintf(j.input, sizeof(j.input), "%s.mp4", job_state_name(state));
    cr_assert_eq(store_job_insert(st, &j), 0);
    spool_job_path(spool, j.id, "out", path, sizeof(path));
    cr_assert_eq(spool_mkdir_p(path, 0700), 0);
    return j.id;
}

static void
put_obj(int64_t job, const char *rel, enum obj_state state)
{
    struct store_obj o;

    memset(&o, 0, sizeof(o));
    o.job = job;
    snprintf(o.rel, sizeof(o.rel), "%s", rel);
    o.state = state;
    o.size = 1000;
    cr_assert_eq(store_obj_put(st, &o), 0);
}

Test(sched, recovery_from_every_state)
{
    int64_t queued = put_job(JOB_QUEUED, 0);
    int64_t converting = put_job(JOB_CONVERTING, 0);
    put_obj(converting, "720p/seg_00000.ts", OBJ_UPLOADED);
    put_obj(converting, "720p/seg_00001.ts", OBJ_PENDING);
    int64_t uploading = put_job(JOB_UPLOADING, 0); /* the row's count lags the ledger */
    put_obj(uploading, "720p/seg_00000.ts", OBJ_UPLOADED);
    put_obj(uploading, "720p/seg_00001.ts", OBJ_UPLOADED);
    put_obj(uploading, "720p/index.m3u8", OBJ_UPLOADING); /* in flight at the crash */
    int64_t done = put_job(JOB_DONE, 1);
    int64_t failed = put_job(JOB_FAILED, 0);
    int64_t canceled = put_job(JOB_CANCELED, 0);
    put_obj(canceled, "720p/seg_00000.ts", OBJ_DELETING);
    int64_t canceled_clean = put_job(JOB_CANCELED, 0);
    cr_assert_eq(fake_durable(), 0);

    start_sched(); /* a new master */
    cr_assert_eq(sched_recover(), 0);

    static const struct {
        const char *name;
        int active;
        enum job_state state;
        int spool_kept;
    } want[] = {
        {"queued", 1, JOB_QUEUED, 1},
        {"converting", 1, JOB_QUEUED, 1},
        {"uploading", 1, JOB_UPLOADING, 1},
        {"done", 0, JOB_DONE, 0},
        {"failed", 0, JOB_FAILED, 1},
        {"canceled", 1, JOB_CANCELED, 1},
        {"canceled, nothing left", 0, JOB_CANCELED, 0},
    };
    int64_t ids[] = {queued, converting, uploading, done, failed, canceled, canceled_clean};
    for (size_t c = 0; c < sizeof(ids) / sizeof(ids[0]); c++) {
        char path[PATH_MAX + 64];
        cr_expect_eq(sched_active(ids[c]) != NULL, want[c].active, "%s: in memory", want[c].name);
        cr_expect_eq(row_of(ids[c]).state, want[c].state, "%s: state %s", want[c].name,
                     job_state_name(row_of(ids[c]).state));
        spool_job_path(spool, ids[c], NULL, path, sizeof(path));
        cr_expect_eq(exists(path), want[c].spool_kept, "%s: spool", want[c].name);
    }
    cr_expect_eq(row_of(uploading).segs_uploaded, 2, "recounted from the ledger");
    cr_expect_eq(row_of(converting).segs_uploaded, 1);

    /* the work left: the canceled job's deletion and the interrupted
     * playlist upload, oldest job first; the converting job's pending
     * segment waits for the new conversion to report it again */
    uint16_t type;
    char want_key[64];
    snprintf(want_key, sizeof(want_key), "%lld/720p/index.m3u8", (long long)uploading);
    cr_expect_str_eq(offer_up(UP, &type), want_key);
    cr_expect_eq(type, PROTO_UP_PUT);
    snprintf(want_key, sizeof(want_key), "%lld/720p/seg_00000.ts", (long long)canceled);
    cr_expect_str_eq(offer_up(UP2, &type), want_key);
    cr_expect_eq(type, PROTO_UP_DELETE);
    cr_expect_str_eq(offer_up(UP + 2, &type), "");
    /* conversions restart in id order */
    cr_expect(sched_offer(CONV, SCHED_CONVERT));
    cr_expect_eq(last_to(CONV)->job, (uint64_t)queued);
    cr_expect(sched_offer(CONV2, SCHED_CONVERT));
    cr_expect_eq(last_to(CONV2)->job, (uint64_t)converting);
    /* the playlist done, the master playlist goes last and the job is done */
    up_result(UP, uploading, PROTO_UP_OK, -1, "");
    snprintf(want_key, sizeof(want_key), "%lld/master.m3u8", (long long)uploading);
    cr_expect_str_eq(offer_up(UP, &type), want_key);
    up_result(UP, uploading, PROTO_UP_OK, -1, "");
    cr_expect_eq(row_of(uploading).state, JOB_DONE);
}

/* ---- the object state machine ---- */

Test(obj, legal_transitions_table)
{
    const char *legal[] = {
        "pending>uploading", "pending>uploaded",   "pending>deleting",   "pending>unwanted",
        "uploading>pending", "uploading>uploaded", "uploading>deleting", "uploading>unwanted",
        "uploaded>pending",  "uploaded>deleting",  "uploaded>unwanted",  "deleting>unwanted",
        "unwanted>uploaded", "unwanted>deleting",
    };
    for (int a = 0; a < OBJ_NSTATES; a++) {
        for (int b = 0; b < OBJ_NSTATES; b++) {
            char key[64];
            snprintf(key, sizeof(key), "%s>%s", obj_state_name(a), obj_state_name(b));
            int want = a == b;
            for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
                want |= strcmp(key, legal[i]) == 0;
            cr_expect_eq(obj_state_legal(a, b), want, "%s", key);
        }
    }
    cr_expect_eq(obj_state_legal(OBJ_NSTATES, OBJ_PENDING), 0);
    cr_expect_eq(obj_state_legal(OBJ_PENDING, (enum obj_state) - 1), 0);
}

Test(obj, illegal_transition_panics, .signal = SIGABRT)
{
    enum obj_state s = OBJ_DELETING;
    obj_transition(1, "720p/seg_00000.ts", &s, OBJ_UPLOADING);
}

Test(obj, unwanted_is_never_stored)
{
    char dbdir[PATH_MAX], db[PATH_MAX + 16], err[256];

    fix_tmpdir(dbdir, sizeof(dbdir), "obj");
    snprintf(db, sizeof(db), "%s/hlsd.db", dbdir);
    store_t *s = store_open(db, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    struct store_obj o = {.job = 1, .rel = "a.ts", .state = OBJ_UNWANTED};
    cr_expect_eq(store_obj_put(s, &o), -1);
    cr_expect_eq(errno, EINVAL);
    store_close(s);
    spool_rmtree(dbdir);
}
