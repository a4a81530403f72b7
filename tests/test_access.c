/*
 * test_access.c - who may use the daemon and change whose jobs: real
 * system users (created here, removed after; the suite runs as root) run
 * bin/hlsctl through runuser against the real daemon. A job records its
 * submitter (status shows it); another user's cancel and retry are
 * refused with "forbidden" and exit 1; an admin_group member may;
 * allow_users / allow_groups shut out everyone else. Also: a job store of
 * the release before gains the owner columns when opened.
 */
#include "daemon/store.h"
#include "tests/fix_daemon.h"
#include "tests/fix_users.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the test's users and group: names unique to this process */
struct people {
    char a[32], b[32], c[32], grp[32];
    char pub[256]; /* a directory everyone may read: the socket, inputs */
};

static void
people_make(struct people *p, const char *tag)
{
    fix_users_need_root();
    fix_users_name(p->a, sizeof(p->a), "hta", tag);
    fix_users_name(p->b, sizeof(p->b), "htb", tag);
    fix_users_name(p->c, sizeof(p->c), "htc", tag);
    fix_users_name(p->grp, sizeof(p->grp), "htg", tag);
    fix_users_group_add(p->grp);
    fix_users_add(p->a, NULL);
    fix_users_add(p->b, NULL);
    fix_users_add(p->c, p->grp); /* c is in the group */
    char name[32];
    snprintf(name, sizeof(name), "access-%s", tag);
    fix_users_public_dir(p->pub, sizeof(p->pub), name);
}

/* as - hlsctl ARGS run as user; exit status, stdout and stderr in out */
static int
as(struct fix_daemon *d, const char *user, char *out, size_t cap, const char *args)
{
    char bin[600];
    snprintf(bin, sizeof(bin), "%s/hlsctl", fix_bindir());
    char *abs = realpath(bin, NULL);
    cr_assert_not_null(abs, "no %s", bin);
    int rc = fix_sh(out, cap, "runuser -u %s -- %s -s '%s' %s 2>&1", user, abs, d->sock, args);
    free(abs);
    return rc;
}

/* raw_as - send line on the socket as uid:gid (a child process that
 * drops to them); 0 if the reply line holds want */
static int
raw_as(struct fix_daemon *d, uid_t uid, gid_t gid, const char *line, const char *want)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(3);
        int fd = fix_connect(d->sock);
        if (fd < 0 || fix_send_all(fd, line, strlen(line)) < 0)
            _exit(4);
        char *reply = fix_line(fd, 10000);
        _exit(reply && strstr(reply, want) ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

struct as_ok {
    struct fix_daemon *d;
    const char *user;
};

static int
lists_ok(void *ud)
{
    struct as_ok *a = ud;
    char out[4096];
    return as(a->d, a->user, out, sizeof(out), "list") == 0;
}

/* daemon_for - a daemon whose socket anyone may open, daemon_extra added */
static void
daemon_for(struct fix_daemon *d, struct people *p, const char *name, const char *extra)
{
    char dx[512];

    fix_daemon_init(d, name, 0);
    snprintf(d->sock, sizeof(d->sock), "%s/s", p->pub);
    snprintf(dx, sizeof(dx), "socket_mode = 0666\n%s", extra);
    fix_daemon_config(d, 1, 1, dx, NULL, NULL);
    cr_assert_eq(fix_daemon_start(d), 0, "hlsd did not start (log %s)", d->log);
}

/* a text file: every user may read it; it fails conversion at once */
static const char *
text_input(struct people *p)
{
    static char path[300];
    snprintf(path, sizeof(path), "%s/notes.txt", p->pub);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not a video\n", f);
    fclose(f);
    chmod(path, 0644);
    return path;
}

static long long
uid_of(const char *user)
{
    return (long long)fix_users_uid(user);
}

Test(access, owner_recorded_and_others_refused, .timeout = 120, .fini = fix_users_cleanup)
{
    struct people p;
    struct fix_daemon d;
    char out[8192], args[512], want[256];

    people_make(&p, "o");
    char extra[128];
    snprintf(extra, sizeof(extra), "admin_group = %s\n", p.grp);
    daemon_for(&d, &p, "access-owner", extra);

    /* a submits: the job is a's */
    snprintf(args, sizeof(args), "--json submit '%s'", text_input(&p));
    cr_assert_eq(as(&d, p.a, out, sizeof(out), args), 0, "%s", out);
    json_t *rep = json_loads(out, 0, NULL);
    cr_assert_not_null(rep, "%s", out);
    json_t *job = json_object_get(rep, "job") ? json_object_get(rep, "job") : rep;
    int64_t id = json_integer_value(json_object_get(job, "id"));
    cr_assert_gt(id, 0, "%s", out);
    json_decref(rep);
    json_t *st = fix_daemon_wait(&d, id, "failed", 60000);
    cr_assert_not_null(st, "job %lld did not fail", (long long)id);
    json_t *owner = json_object_get(st, "owner");
    cr_expect_str_eq(json_string_value(json_object_get(owner, "user")), p.a);
    cr_expect_eq(json_integer_value(json_object_get(owner, "uid")), uid_of(p.a));
    json_decref(st);
    snprintf(args, sizeof(args), "status %lld", (long long)id);
    cr_expect_eq(as(&d, p.b, out, sizeof(out), args), 0, "%s", out);
    snprintf(want, sizeof(want), "owner       %s (uid %lld)", p.a, uid_of(p.a));
    cr_expect(strstr(out, want), "status lacks \"%s\":\n%s", want, out);

    /* b may neither retry nor cancel it */
    snprintf(want, sizeof(want), "forbidden: job %lld belongs to %s", (long long)id, p.a);
    snprintf(args, sizeof(args), "retry %lld", (long long)id);
    cr_expect_eq(as(&d, p.b, out, sizeof(out), args), 1, "%s", out);
    cr_expect(strstr(out, want), "retry by another user: %s", out);
    snprintf(args, sizeof(args), "cancel %lld", (long long)id);
    cr_expect_eq(as(&d, p.b, out, sizeof(out), args), 1, "%s", out);
    cr_expect(strstr(out, want), "cancel by another user: %s", out);
    st = fix_daemon_status(&d, id);
    cr_expect_str_eq(fix_daemon_str(st, "state"), "failed", "a refused cancel changed the job");
    json_decref(st);
    cr_expect(fix_daemon_log_contains(&d, "refused"), "the refusal is not logged");

    /* c, of admin_group, may retry it; a, its owner, may cancel it */
    snprintf(args, sizeof(args), "retry %lld", (long long)id);
    int rc = as(&d, p.c, out, sizeof(out), args);
    cr_expect(rc == 0 || strstr(out, "only a failed job"), "admin retry: %d %s", rc, out);
    cr_expect(!strstr(out, "forbidden"), "admin retry refused: %s", out);
    st = fix_daemon_wait(&d, id, "failed", 60000);
    cr_expect_not_null(st);
    json_decref(st);
    snprintf(args, sizeof(args), "cancel %lld", (long long)id);
    cr_expect_eq(as(&d, p.a, out, sizeof(out), args), 0, "owner cancel: %s", out);

    fix_daemon_stop(&d, SIGTERM, 20000);
}

Test(access, allow_users_and_groups, .timeout = 90, .fini = fix_users_cleanup)
{
    struct people p;
    struct fix_daemon d;
    char out[8192], extra[256];

    people_make(&p, "l");
    snprintf(extra, sizeof(extra), "allow_users = nobody-else, %s\nallow_groups = %s\n", p.a,
             p.grp);
    daemon_for(&d, &p, "access-allow", extra);

    cr_expect_eq(as(&d, p.a, out, sizeof(out), "list"), 0, "a, in allow_users: %s", out);
    cr_expect_eq(as(&d, p.c, out, sizeof(out), "list"), 0, "c, in allow_groups: %s", out);
    int rc = as(&d, p.b, out, sizeof(out), "list");
    cr_expect_eq(rc, 1, "b, in neither: exit %d: %s", rc, out);
    char want[128];
    snprintf(want, sizeof(want), "forbidden: user %s may not use hlsd", p.b);
    cr_expect(strstr(out, want), "b's refusal: %s", out);
    /* a submission is refused before any byte is copied */
    char args[512];
    snprintf(args, sizeof(args), "submit '%s'", text_input(&p));
    cr_expect_eq(as(&d, p.b, out, sizeof(out), args), 1, "%s", out);
    cr_expect(strstr(out, "forbidden"), "%s", out);
    /* whatever it sends: a malformed line is refused the same way */
    cr_expect_eq(raw_as(&d, fix_users_uid(p.b), fix_users_gid(p.b), "not json\n", "forbidden"), 0,
                 "a malformed line from b is not answered forbidden");
    /* root always may */
    cr_expect_eq(fix_daemon_ctl(&d, out, sizeof(out), "list"), 0, "root: %s", out);

    /* a reload that lets b in: the new ctl says so */
    snprintf(extra, sizeof(extra), "socket_mode = 0666\nallow_users = %s,%s\n", p.a, p.b);
    fix_daemon_config(&d, 1, 1, extra, NULL, NULL);
    kill(d.pid, SIGHUP);
    struct as_ok ok = {&d, p.b};
    cr_expect(fix_wait(lists_ok, &ok, 20000), "b is still refused after the reload");

    fix_daemon_stop(&d, SIGTERM, 20000);
}

/* a job store written by the release before owners: opened, it gains the
 * columns, and its jobs are nobody's */
Test(access, store_migrates_owner_columns)
{
    char dir[512], path[600], err[256];

    fix_tmpdir(dir, sizeof(dir), "access-migrate");
    snprintf(path, sizeof(path), "%s/jobs.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(
        sqlite3_exec(db,
                     "CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT "
                     "NULL, input TEXT NOT NULL, prefix TEXT NOT NULL, ladder TEXT NOT NULL, "
                     "segment REAL NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT "
                     "NULL, progress REAL NOT NULL, attempts INTEGER NOT NULL, error TEXT NOT "
                     "NULL, renditions TEXT NOT NULL, duration REAL NOT NULL, segs_done INTEGER "
                     "NOT NULL, segs_uploaded INTEGER NOT NULL, conv_done INTEGER NOT NULL);"
                     "INSERT INTO jobs VALUES(NULL,4,'old.mp4','','',0,1,2,0,1,'boom','',0,0,0,0);"
                     "PRAGMA user_version=1;",
                     NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);

    store_t *s = store_open(path, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    struct store_job j;
    cr_assert_eq(store_job_get(s, 1, &j), 0, "%s", store_errmsg(s));
    cr_expect_str_eq(j.input, "old.mp4");
    cr_expect_eq(j.owner_uid, -1);
    cr_expect_str_eq(j.owner_name, "");
    /* and new rows keep theirs */
    memset(&j, 0, sizeof(j));
    snprintf(j.input, sizeof(j.input), "new.mp4");
    j.owner_uid = 1234;
    snprintf(j.owner_name, sizeof(j.owner_name), "alice");
    cr_assert_eq(store_begin(s), 0);
    cr_assert_eq(store_job_insert(s, &j), 0, "%s", store_errmsg(s));
    cr_assert_eq(store_commit(s), 0);
    struct store_job k;
    cr_assert_eq(store_job_get(s, j.id, &k), 0);
    cr_expect_eq(k.owner_uid, 1234);
    cr_expect_str_eq(k.owner_name, "alice");
    store_close(s);
    /* opened again: nothing to migrate, nothing lost */
    s = store_open(path, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    cr_expect_eq(store_job_get(s, j.id, &k), 0);
    cr_expect_str_eq(k.owner_name, "alice");
    store_close(s);
}
