/*
 * test_store.c - the master's own modules in isolation: the job state
 * machine (every pair of states), the SQLite store (round trips, ordering,
 * counts, the object ledger, reopening), and the spool (tokens, adoption,
 * the start-up sweep).
 */
#include "daemon/job.h"
#include "daemon/spool.h"
#include "daemon/store.h"

#include "tests/fix.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
scratch(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s-%ld", fix_tmp(), name, (long)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", out, out);
    cr_assert_eq(system(cmd), 0);
}

/* scratch_store - a new store in a scratch directory of its own */
static store_t *
scratch_store(const char *name)
{
    char dir[600], db[700], err[256];

    scratch(dir, sizeof(dir), name);
    snprintf(db, sizeof(db), "%s/hlsd.db", dir);
    store_t *s = store_open(db, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    return s;
}

/* ---- job states ---- */

Test(job, legal_transitions_table)
{
    /* the whole matrix: anything not listed is illegal */
    const char *legal[] = {
        "queued>converting", "queued>canceled",    "queued>failed",       "converting>uploading",
        "converting>queued", "converting>failed",  "converting>canceled", "uploading>done",
        "uploading>failed",  "uploading>canceled", "failed>queued",       "failed>canceled",
    };
    for (int a = 0; a < JOB_NSTATES; a++) {
        for (int b = 0; b < JOB_NSTATES; b++) {
            char key[64];
            snprintf(key, sizeof(key), "%s>%s", job_state_name(a), job_state_name(b));
            int want = 0;
            for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
                want |= strcmp(key, legal[i]) == 0;
            cr_expect_eq(job_state_legal(a, b), want, "%s", key);
        }
    }
    cr_expect_eq(job_state_legal(JOB_NSTATES, JOB_QUEUED), 0);
    cr_expect_eq(job_state_legal(JOB_QUEUED, (enum job_state) - 1), 0);
}

Test(job, names_round_trip)
{
    for (int s = 0; s < JOB_NSTATES; s++)
        cr_expect_eq(job_state_parse(job_state_name(s)), s);
    cr_expect_eq(job_state_parse("Done"), -1);
    cr_expect_eq(job_state_parse(""), -1);
    cr_expect_str_eq(job_state_name(JOB_NSTATES), "invalid");
    cr_expect(job_state_terminal(JOB_DONE) && job_state_terminal(JOB_FAILED) &&
              job_state_terminal(JOB_CANCELED));
    cr_expect(!job_state_terminal(JOB_QUEUED) && !job_state_terminal(JOB_UPLOADING));
}

/* an illegal transition is a bug of ours: the process aborts */
Test(job, illegal_transition_panics)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 2);
        enum job_state s = JOB_DONE;
        job_transition(7, &s, JOB_QUEUED);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "done -> queued did not panic");
    enum job_state s = JOB_QUEUED;
    job_transition(7, &s, JOB_CONVERTING);
    cr_assert_eq(s, JOB_CONVERTING);
}

/* ---- store ---- */

static struct store_job
row(const char *input, enum job_state st)
{
    struct store_job j;
    memset(&j, 0, sizeof(j));
    j.state = st;
    snprintf(j.input, sizeof(j.input), "%s", input);
    snprintf(j.prefix, sizeof(j.prefix), "p/q");
    snprintf(j.ladder, sizeof(j.ladder), "720:2800k");
    j.segment = 4;
    j.created_at = j.updated_at = 1700000000000LL;
    return j;
}

static int
collect(void *ud, const struct store_job *j)
{
    char *buf = ud;
    char one[32];
    snprintf(one, sizeof(one), "%lld,", (long long)j->id);
    strcat(buf, one);
    return 0;
}

static int
collect_obj(void *ud, const struct store_obj *o)
{
    char *buf = ud;
    strcat(buf, o->rel);
    strcat(buf, ";");
    return 0;
}

Test(store, jobs_round_trip_list_and_count)
{
    char dir[600], db[700], err[256];
    scratch(dir, sizeof(dir), "store");
    snprintf(db, sizeof(db), "%s/hlsd.db", dir);
    store_t *s = store_open(db, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);

    struct store_job a = row("a.mp4", JOB_QUEUED), b = row("b \"quoted\" ünï.mov", JOB_DONE),
                     c = row("c.mkv", JOB_QUEUED);
    cr_assert_eq(store_job_insert(s, &a), 0);
    cr_assert_eq(store_job_insert(s, &b), 0);
    cr_assert_eq(store_job_insert(s, &c), 0);
    cr_assert(a.id > 0 && b.id == a.id + 1 && c.id == b.id + 1);

    struct store_job g;
    cr_assert_eq(store_job_get(s, b.id, &g), 0);
    cr_assert_str_eq(g.input, b.input);
    cr_assert_str_eq(g.prefix, "p/q");
    cr_assert_str_eq(g.ladder, "720:2800k");
    cr_assert_eq(g.segment, 4);
    cr_assert_eq(g.created_at, 1700000000000LL);

    g.state = JOB_FAILED;
    snprintf(g.error, sizeof(g.error), "upload of x failed: 403 SignatureDoesNotMatch");
    g.segs_done = 12;
    g.segs_uploaded = 7;
    g.progress = 0.5;
    cr_assert_eq(store_job_update(s, &g), 0);
    struct store_job h;
    cr_assert_eq(store_job_get(s, b.id, &h), 0);
    cr_assert_eq(h.state, JOB_FAILED);
    cr_assert_str_eq(h.error, g.error);
    cr_assert_eq(h.segs_done, 12);
    cr_assert_eq(h.segs_uploaded, 7);

    errno = 0;
    cr_assert_eq(store_job_get(s, 9999, &h), -1);
    cr_assert_eq(errno, ENOENT);

    char ids[256] = "";
    cr_assert_eq(store_job_each(s, -1, 1, 0, collect, ids), 0);
    char want[64];
    snprintf(want, sizeof(want), "%lld,%lld,%lld,", (long long)c.id, (long long)b.id,
             (long long)a.id);
    cr_assert_str_eq(ids, want, "newest first");
    ids[0] = '\0';
    cr_assert_eq(store_job_each(s, JOB_QUEUED, 0, 1, collect, ids), 0);
    snprintf(want, sizeof(want), "%lld,", (long long)a.id);
    cr_assert_str_eq(ids, want, "queued, oldest first, limit 1");
    cr_assert_eq(store_job_count(s, JOB_QUEUED), 2);
    cr_assert_eq(store_job_count(s, JOB_FAILED), 1);
    cr_assert_eq(store_job_count(s, JOB_DONE), 0);
    store_close(s);

    /* durable: a second open sees the same */
    s = store_open(db, err, sizeof(err));
    cr_assert_not_null(s);
    cr_assert_eq(store_job_get(s, b.id, &h), 0);
    cr_assert_eq(h.state, JOB_FAILED);
    store_close(s);
}

Test(store, object_ledger)
{
    store_t *s = scratch_store("ledger");
    struct store_job j = row("x.mp4", JOB_CONVERTING);
    cr_assert_eq(store_job_insert(s, &j), 0);

    const char *rels[] = {"720p/seg_00000.ts", "720p/seg_00001.ts", "720p/index.m3u8"};
    for (size_t i = 0; i < 3; i++) {
        struct store_obj o = {.job = j.id, .state = OBJ_PENDING, .size = 1000 + (int64_t)i};
        snprintf(o.rel, sizeof(o.rel), "%s", rels[i]);
        cr_assert_eq(store_obj_put(s, &o), 0);
    }
    /* replace: the same (job, rel) is one row */
    struct store_obj up = {.job = j.id, .state = OBJ_UPLOADED, .size = 1000, .attempts = 2};
    snprintf(up.rel, sizeof(up.rel), "720p/seg_00000.ts");
    snprintf(up.etag, sizeof(up.etag), "0123456789abcdef0123456789abcdef");
    cr_assert_eq(store_obj_put(s, &up), 0);
    struct store_obj got;
    cr_assert_eq(store_obj_get(s, j.id, "720p/seg_00000.ts", &got), 0);
    cr_assert_eq(got.state, OBJ_UPLOADED);
    cr_assert_str_eq(got.etag, up.etag);
    cr_assert_eq(got.attempts, 2);

    char list[512] = "";
    cr_assert_eq(store_obj_each(s, j.id, collect_obj, list), 0);
    cr_assert_str_eq(list, "720p/seg_00001.ts;720p/index.m3u8;720p/seg_00000.ts;");
    cr_assert_eq(store_obj_delete(s, j.id, "720p/index.m3u8"), 0);
    cr_assert_eq(store_obj_get(s, j.id, "720p/index.m3u8", &got), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(store_obj_delete_job(s, j.id), 0);
    list[0] = '\0';
    store_obj_each(s, j.id, collect_obj, list);
    cr_assert_str_eq(list, "");

    /* a transaction rolled back leaves nothing */
    cr_assert_eq(store_begin(s), 0);
    struct store_job k = row("rolled.mp4", JOB_QUEUED);
    cr_assert_eq(store_job_insert(s, &k), 0);
    cr_assert_eq(store_rollback(s), 0);
    cr_assert_eq(store_job_get(s, k.id, &k), -1);
    store_close(s);
}

static int
collect_id(void *ud, const struct store_job *j)
{
    char *list = ud;
    size_t n = strlen(list);
    snprintf(list + n, 256 - n, "%lld;", (long long)j->id);
    return 0;
}

/* what a store shared by several hosts will do for real, one host's SQLite
 * does trivially: leases always granted, never lost; recount and the
 * cancels-since query are real */
Test(store, leases_recount_and_cancels)
{
    store_t *s = scratch_store("lease");
    struct store_job a = row("a.mp4", JOB_CONVERTING), b = row("b.mp4", JOB_QUEUED);
    cr_assert_eq(store_job_insert(s, &a), 0);
    cr_assert_eq(store_job_insert(s, &b), 0);

    struct store_lease l;
    cr_assert_eq(store_lease_take(s, a.id, "host:1", 1000, 30000, &l), 0);
    cr_expect_eq(l.job, a.id);
    cr_expect_str_eq(l.owner, "host:1");
    cr_expect_eq(l.generation, 1);
    cr_expect_eq(store_lease_renew(s, &l, 2000, 30000), 0);
    struct store_lease stale = l;
    stale.generation = 2;
    cr_expect_eq(store_lease_renew(s, &stale, 2000, 30000), -1);
    cr_expect_eq(errno, ESTALE);
    cr_expect_eq(store_lease_release(s, &l), 0);
    cr_expect_eq(store_lease_take(s, 999, "host:1", 1000, 30000, &l), -1);
    cr_expect_eq(errno, ENOENT);

    /* published segments: uploaded and not a playlist */
    const struct {
        const char *rel;
        enum obj_state st;
    } objs[] = {{"720p/seg_00000.ts", OBJ_UPLOADED}, {"720p/seg_00001.ts", OBJ_UPLOADED},
                {"720p/seg_00002.ts", OBJ_PENDING},  {"720p/index.m3u8", OBJ_UPLOADED},
                {"master.m3u8", OBJ_UPLOADED},       {"720p/seg_00003.ts", OBJ_DELETING}};
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        struct store_obj o = {.job = a.id, .state = objs[i].st};
        snprintf(o.rel, sizeof(o.rel), "%s", objs[i].rel);
        cr_assert_eq(store_obj_put(s, &o), 0);
    }
    unsigned segs = 99;
    cr_expect_eq(store_obj_recount(s, a.id, &segs), 0);
    cr_expect_eq(segs, 2);
    cr_expect_eq(store_obj_recount(s, b.id, &segs), 0);
    cr_expect_eq(segs, 0);

    /* cancels since a time: only canceled jobs updated after it */
    char list[256] = "";
    b.state = JOB_CANCELED;
    b.updated_at = 5000;
    cr_assert_eq(store_job_update(s, &b), 0);
    cr_expect_eq(store_job_canceled_since(s, 4999, collect_id, list), 0);
    char want[64];
    snprintf(want, sizeof(want), "%lld;", (long long)b.id);
    cr_expect_str_eq(list, want);
    list[0] = '\0';
    cr_expect_eq(store_job_canceled_since(s, 5000, collect_id, list), 0);
    cr_expect_str_eq(list, "");
    store_close(s);
}

Test(store, unusable_path_is_a_clear_error)
{
    char err[256] = "";
    store_t *s = store_open("/nonexistent-dir/sub/hlsd.db", err, sizeof(err));
    cr_assert_null(s);
    cr_assert(strstr(err, "/nonexistent-dir/sub/hlsd.db"), "error does not name the path: %s", err);
}

/* ---- spool ---- */

Test(spool, tokens)
{
    struct {
        const char *t;
        int ok;
    } t[] = {
        {"0123456789abcdef", 1},
        {"deadbeef", 1},
        {"deadbee", 0},
        {"DEADBEEF", 0},
        {"../../etc", 0},
        {"", 0},
        {"0123456789abcdeg", 0},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        cr_expect_eq(spool_token_valid(t[i].t), t[i].ok, "%s", t[i].t);
}

static int
keep_two(int64_t id)
{
    return id == 2;
}

Test(spool, adopt_and_sweep)
{
    char dir[600], p[2600];
    scratch(dir, sizeof(dir), "spool");
    cr_assert_eq(spool_prepare(dir), 0);
    snprintf(p, sizeof(p),
             "mkdir -p '%s/incoming/00ff00ff' && echo data > '%s/incoming/00ff00ff/input'", dir,
             dir);
    cr_assert_eq(system(p), 0);
    cr_assert_eq(spool_adopt(dir, "00ff00ff", 5), 0);
    snprintf(p, sizeof(p), "%s/5/input", dir);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "the input did not move to the job's directory");
    cr_assert_eq(spool_adopt(dir, "00ff00ff", 6), -1, "adopting twice");
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(spool_adopt(dir, "../5", 7), -1);
    cr_assert_eq(errno, EINVAL);

    /* the sweep keeps what keep() names and empties incoming/ */
    snprintf(p, sizeof(p), "mkdir -p '%s/2/out' '%s/3/out' '%s/incoming/abcdef12' '%s/notajob'",
             dir, dir, dir, dir);
    cr_assert_eq(system(p), 0);
    cr_assert_eq(spool_sweep(dir, keep_two), 0);
    snprintf(p, sizeof(p), "%s/2/out", dir);
    cr_assert_eq(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/3", dir);
    cr_assert_neq(stat(p, &st), 0, "an orphan job directory survived the sweep");
    snprintf(p, sizeof(p), "%s/5", dir);
    cr_assert_neq(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/incoming/abcdef12", dir);
    cr_assert_neq(stat(p, &st), 0);
    snprintf(p, sizeof(p), "%s/notajob", dir);
    cr_assert_eq(stat(p, &st), 0, "the sweep removed something that is not a job");
    cr_assert_eq(spool_rmtree("/nonexistent/spool/x"), 0);
}
