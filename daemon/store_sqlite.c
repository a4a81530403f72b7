/*
 * store_sqlite.c - SQLite behind the store interface (store.h): the
 * embedded store of one host. All of hlsd's SQL is in this file.
 *
 * One host is the only writer, so the job leases of a shared store are
 * trivial here: a lease is always granted, never expires and is never
 * taken over, and no cancel is ever made elsewhere (the query for one
 * still runs, and finds the master's own).
 *
 * Prepared statements are made once at open. The schema carries a version
 * in PRAGMA user_version so a later release can migrate. The master is the
 * only writer; nothing else opens the database.
 */
#include "daemon/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEMA_VERSION 4

/* the job row's columns, in read_job's order */
#define JOB_COLS                                                                                   \
    "id,state,input,prefix,ladder,segment,created_at,updated_at,progress,attempts,error,"          \
    "renditions,duration,segs_done,segs_uploaded,conv_done,owner_uid,owner_name,notes,"            \
    "input_url,fetched,key,notify_url,metadata,deleted"

enum {
    Q_JOB_INSERT,
    Q_JOB_UPDATE,
    Q_JOB_GET,
    Q_JOB_COUNT,
    Q_OBJ_PUT,
    Q_OBJ_GET,
    Q_OBJ_EACH,
    Q_OBJ_DEL,
    Q_OBJ_DEL_JOB,
    Q_JOB_EXISTS,
    Q_JOB_CANCELED,
    Q_OBJ_RECOUNT,
    Q_JOB_DELETE,
    Q_JOB_KEY,
    Q_DLV_INSERT,
    Q_DLV_UPDATE,
    Q_DLV_PENDING,
    Q_DLV_COUNT,
    Q_N
};

static const char *const sql[Q_N] = {
    [Q_JOB_INSERT] = "INSERT INTO jobs(state,input,prefix,ladder,segment,created_at,updated_at,"
                     "progress,attempts,error,renditions,duration,segs_done,segs_uploaded,"
                     "conv_done,owner_uid,owner_name,notes,input_url,fetched,key,notify_url,"
                     "metadata,deleted) "
                     "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [Q_JOB_UPDATE] = "UPDATE jobs SET state=?,input=?,prefix=?,ladder=?,segment=?,created_at=?,"
                     "updated_at=?,progress=?,attempts=?,error=?,renditions=?,duration=?,"
                     "segs_done=?,segs_uploaded=?,conv_done=?,owner_uid=?,owner_name=?,notes=?,"
                     "input_url=?,fetched=?,key=?,notify_url=?,metadata=?,deleted=? WHERE id=?",
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id=?",
    [Q_JOB_COUNT] = "SELECT count(*) FROM jobs WHERE state=?",
    [Q_OBJ_PUT] = "INSERT OR REPLACE INTO objects(job,rel,state,etag,size,attempts) "
                  "VALUES(?,?,?,?,?,?)",
    [Q_OBJ_GET] = "SELECT job,rel,state,etag,size,attempts FROM objects WHERE job=? AND rel=?",
    [Q_OBJ_EACH] = "SELECT job,rel,state,etag,size,attempts FROM objects WHERE job=? "
                   "ORDER BY rowid",
    [Q_OBJ_DEL] = "DELETE FROM objects WHERE job=? AND rel=?",
    [Q_OBJ_DEL_JOB] = "DELETE FROM objects WHERE job=?",
    [Q_JOB_EXISTS] = "SELECT 1 FROM jobs WHERE id=?",
    [Q_JOB_CANCELED] = "SELECT " JOB_COLS " FROM jobs WHERE state=? AND updated_at>? ORDER BY id",
    [Q_OBJ_RECOUNT] = "SELECT count(*) FROM objects WHERE job=? AND state=? "
                      "AND rel NOT LIKE '%.m3u8' AND rel LIKE '%/%'",
    [Q_JOB_DELETE] = "DELETE FROM jobs WHERE id=?",
    [Q_JOB_KEY] = "SELECT id,state FROM jobs WHERE key=? ORDER BY id",
    [Q_DLV_INSERT] = "INSERT INTO deliveries(job,url,body,attempts,state,created_at) "
                     "VALUES(?,?,?,?,?,?)",
    [Q_DLV_UPDATE] = "UPDATE deliveries SET attempts=?,state=? WHERE id=?",
    [Q_DLV_PENDING] = "SELECT id,job,url,body,attempts,state,created_at FROM deliveries "
                      "WHERE state=0 ORDER BY id",
    [Q_DLV_COUNT] = "SELECT count(*) FROM deliveries WHERE job=? AND state=?",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_N];
    char err[256];
    char reserve[4096]; /* <database>.reserve: room kept for a full disk */
};

static int
fail(store_t *s, const char *what)
{
    snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
    /* a full disk is a condition the master rides out, not a broken store */
    errno = (sqlite3_errcode(s->db) & 0xff) == SQLITE_FULL ? ENOSPC : EIO;
    return -1;
}

int
store_in_txn(store_t *s)
{
    return !sqlite3_get_autocommit(s->db);
}

/* The reserve: a file of preallocated blocks next to the database. When
 * the disk fills, it is removed, and its room lets the store commit what
 * the master holds while new work is refused; once space returns it is
 * made again. */
int
store_reserve(store_t *s, size_t bytes)
{
    int fd = open(s->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = posix_fallocate(fd, 0, (off_t)bytes);
    close(fd);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

void
store_unreserve(store_t *s)
{
    unlink(s->reserve);
}

const char *
store_errmsg(store_t *s)
{
    return s->err;
}

/* has_column - 1 if table has column, 0 if not, -1 on error */
static int
has_column(store_t *s, const char *table, const char *column)
{
    char q[128];
    sqlite3_stmt *st;
    int found = 0, rc;

    snprintf(q, sizeof(q), "PRAGMA table_info(%s)", table);
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name && strcmp((const char *)name, column) == 0)
            found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? found : -1;
}

/* store_migrate - bring a database of an older release up to this schema:
 * version 2 added the submitter of each job (owner_uid -1 and an empty
 * name for jobs submitted before: nobody's); version 3 what a conversion
 * left out of the input (notes, empty before); version 4 inputs by URL
 * (input_url, fetched: 1 for every older job, whose input is in the spool),
 * the key, notify URL and metadata a client may give, the deleted mark,
 * and the deliveries table (created by the schema itself) */
static int
store_migrate(store_t *s, char *err, size_t errlen)
{
    static const struct {
        const char *column, *ddl;
    } added[] = {
        {"owner_uid", "ALTER TABLE jobs ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT -1"},
        {"owner_name", "ALTER TABLE jobs ADD COLUMN owner_name TEXT NOT NULL DEFAULT ''"},
        {"notes", "ALTER TABLE jobs ADD COLUMN notes TEXT NOT NULL DEFAULT ''"},
        {"input_url", "ALTER TABLE jobs ADD COLUMN input_url TEXT NOT NULL DEFAULT ''"},
        {"fetched", "ALTER TABLE jobs ADD COLUMN fetched INTEGER NOT NULL DEFAULT 1"},
        {"key", "ALTER TABLE jobs ADD COLUMN key TEXT NOT NULL DEFAULT ''"},
        {"notify_url", "ALTER TABLE jobs ADD COLUMN notify_url TEXT NOT NULL DEFAULT ''"},
        {"metadata", "ALTER TABLE jobs ADD COLUMN metadata TEXT NOT NULL DEFAULT ''"},
        {"deleted", "ALTER TABLE jobs ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0"},
    };

    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
        int has = has_column(s, "jobs", added[i].column);
        if (has < 0 ||
            (has == 0 && sqlite3_exec(s->db, added[i].ddl, NULL, NULL, NULL) != SQLITE_OK)) {
            snprintf(err, errlen, "migrating the job store: %s", sqlite3_errmsg(s->db));
            return -1;
        }
    }
    if (sqlite3_exec(s->db, "CREATE INDEX IF NOT EXISTS jobs_key ON jobs(key)", NULL, NULL, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "migrating the job store: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

store_t *
store_open(const char *path, char *err, size_t errlen)
{
    static const char *schema =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "PRAGMA foreign_keys=ON;"
        "CREATE TABLE IF NOT EXISTS jobs("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, state INTEGER NOT NULL, input TEXT NOT NULL,"
        " prefix TEXT NOT NULL, ladder TEXT NOT NULL, segment REAL NOT NULL,"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, progress REAL NOT NULL,"
        " attempts INTEGER NOT NULL, error TEXT NOT NULL, renditions TEXT NOT NULL,"
        " duration REAL NOT NULL, segs_done INTEGER NOT NULL, segs_uploaded INTEGER NOT NULL,"
        " conv_done INTEGER NOT NULL, owner_uid INTEGER NOT NULL DEFAULT -1,"
        " owner_name TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '',"
        " input_url TEXT NOT NULL DEFAULT '', fetched INTEGER NOT NULL DEFAULT 1,"
        " key TEXT NOT NULL DEFAULT '', notify_url TEXT NOT NULL DEFAULT '',"
        " metadata TEXT NOT NULL DEFAULT '', deleted INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);"
        "CREATE TABLE IF NOT EXISTS objects("
        " job INTEGER NOT NULL REFERENCES jobs(id), rel TEXT NOT NULL, state INTEGER NOT NULL,"
        " etag TEXT NOT NULL, size INTEGER NOT NULL, attempts INTEGER NOT NULL,"
        " PRIMARY KEY(job, rel));"
        "CREATE TABLE IF NOT EXISTS deliveries("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, job INTEGER NOT NULL, url TEXT NOT NULL,"
        " body TEXT NOT NULL, attempts INTEGER NOT NULL, state INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries(state);";
    store_t *s = calloc(1, sizeof(*s));
    char *msg = NULL;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (snprintf(s->reserve, sizeof(s->reserve), "%s.reserve", path) >= (int)sizeof(s->reserve)) {
        snprintf(err, errlen, "%s: path too long", path);
        free(s);
        return NULL;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "sqlite3_open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: schema: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        goto fail;
    }
    if (store_migrate(s, err, errlen) < 0) {
        snprintf(err + strlen(err), errlen - strlen(err), " (%s)", path);
        goto fail;
    }
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", SCHEMA_VERSION);
    sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
    for (int i = 0; i < Q_N; i++) {
        if (sqlite3_prepare_v2(s->db, sql[i], -1, &s->q[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: prepare: %s", path, sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    return s;
fail:
    store_close(s);
    return NULL;
}

void
store_close(store_t *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s);
}

static int
exec(store_t *s, const char *q)
{
    if (sqlite3_exec(s->db, q, NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, q);
    return 0;
}

int
store_begin(store_t *s)
{
    return exec(s, "BEGIN IMMEDIATE");
}

int
store_commit(store_t *s)
{
    return exec(s, "COMMIT");
}

int
store_rollback(store_t *s)
{
    return exec(s, "ROLLBACK");
}

static void
bind_job(sqlite3_stmt *q, const struct store_job *j)
{
    sqlite3_bind_int(q, 1, (int)j->state);
    sqlite3_bind_text(q, 2, j->input, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, j->prefix, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, j->ladder, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 5, j->segment);
    sqlite3_bind_int64(q, 6, j->created_at);
    sqlite3_bind_int64(q, 7, j->updated_at);
    sqlite3_bind_double(q, 8, j->progress);
    sqlite3_bind_int(q, 9, (int)j->attempts);
    sqlite3_bind_text(q, 10, j->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 11, j->renditions, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(q, 12, j->duration);
    sqlite3_bind_int(q, 13, (int)j->segs_done);
    sqlite3_bind_int(q, 14, (int)j->segs_uploaded);
    sqlite3_bind_int(q, 15, (int)j->conv_done);
    sqlite3_bind_int64(q, 16, j->owner_uid);
    sqlite3_bind_text(q, 17, j->owner_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 18, j->notes, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 19, j->input_url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 20, (int)j->fetched);
    sqlite3_bind_text(q, 21, j->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 22, j->notify_url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 23, j->metadata, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 24, (int)j->deleted);
}

static void
col_text(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void
read_job(sqlite3_stmt *q, struct store_job *j)
{
    memset(j, 0, sizeof(*j));
    j->id = sqlite3_column_int64(q, 0);
    j->state = (enum job_state)sqlite3_column_int(q, 1);
    col_text(q, 2, j->input, sizeof(j->input));
    col_text(q, 3, j->prefix, sizeof(j->prefix));
    col_text(q, 4, j->ladder, sizeof(j->ladder));
    j->segment = sqlite3_column_double(q, 5);
    j->created_at = sqlite3_column_int64(q, 6);
    j->updated_at = sqlite3_column_int64(q, 7);
    j->progress = sqlite3_column_double(q, 8);
    j->attempts = (unsigned)sqlite3_column_int(q, 9);
    col_text(q, 10, j->error, sizeof(j->error));
    col_text(q, 11, j->renditions, sizeof(j->renditions));
    j->duration = sqlite3_column_double(q, 12);
    j->segs_done = (unsigned)sqlite3_column_int(q, 13);
    j->segs_uploaded = (unsigned)sqlite3_column_int(q, 14);
    j->conv_done = (unsigned)sqlite3_column_int(q, 15);
    j->owner_uid = sqlite3_column_int64(q, 16);
    col_text(q, 17, j->owner_name, sizeof(j->owner_name));
    col_text(q, 18, j->notes, sizeof(j->notes));
    col_text(q, 19, j->input_url, sizeof(j->input_url));
    j->fetched = (unsigned)sqlite3_column_int(q, 20);
    col_text(q, 21, j->key, sizeof(j->key));
    col_text(q, 22, j->notify_url, sizeof(j->notify_url));
    col_text(q, 23, j->metadata, sizeof(j->metadata));
    j->deleted = (unsigned)sqlite3_column_int(q, 24);
}

static void
read_obj(sqlite3_stmt *q, struct store_obj *o)
{
    memset(o, 0, sizeof(*o));
    o->job = sqlite3_column_int64(q, 0);
    col_text(q, 1, o->rel, sizeof(o->rel));
    o->state = (enum obj_state)sqlite3_column_int(q, 2);
    col_text(q, 3, o->etag, sizeof(o->etag));
    o->size = sqlite3_column_int64(q, 4);
    o->attempts = (unsigned)sqlite3_column_int(q, 5);
}

static int
step_done(store_t *s, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_DONE)
        return fail(s, what);
    return 0;
}

/* row_done - after stepping a one-row query: 0 found, -1 ENOENT, or EIO */
static int
row_done(store_t *s, sqlite3_stmt *q, int rc, const char *what)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE) {
        errno = ENOENT;
        return -1;
    }
    return fail(s, what);
}

int
store_job_insert(store_t *s, struct store_job *j)
{
    sqlite3_stmt *q = s->q[Q_JOB_INSERT];

    bind_job(q, j);
    if (step_done(s, q, "insert job") < 0)
        return -1;
    j->id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int
store_job_update(store_t *s, const struct store_job *j)
{
    sqlite3_stmt *q = s->q[Q_JOB_UPDATE];

    bind_job(q, j);
    sqlite3_bind_int64(q, 25, j->id);
    return step_done(s, q, "update job");
}

int
store_job_get(store_t *s, int64_t id, struct store_job *j)
{
    sqlite3_stmt *q = s->q[Q_JOB_GET];
    int rc;

    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        read_job(q, j);
    return row_done(s, q, rc, "get job");
}

/*
 * A listing's callback: a job's or an object's (the other is NULL), and
 * its argument. One loop (each_row) serves every listing query.
 */
struct each_cb {
    int (*job)(void *ud, const struct store_job *j);
    int (*obj)(void *ud, const struct store_obj *o);
    void *ud;
};

/* each_row - step q, reading each row for cb (non-zero stops); q is reset
 * for its next use */
static int
each_row(store_t *s, sqlite3_stmt *q, const struct each_cb *cb, const char *what)
{
    int rc = SQLITE_DONE, stop = 0;

    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_job j;
        struct store_obj o;
        if (cb->obj != NULL) {
            read_obj(q, &o);
            stop = cb->obj(cb->ud, &o);
        } else {
            read_job(q, &j);
            stop = cb->job(cb->ud, &j);
        }
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, what);
    return 0;
}

/* each_job - step q, a query of job rows, calling fn for each (non-zero stops) */
static int
each_job(store_t *s, sqlite3_stmt *q, int (*fn)(void *ud, const struct store_job *j), void *ud,
         const char *what)
{
    struct each_cb cb = {.job = fn, .ud = ud};
    return each_row(s, q, &cb, what);
}

int
store_job_each(store_t *s, int state, int desc, unsigned limit,
               int (*fn)(void *ud, const struct store_job *j), void *ud)
{
    char q[512];
    sqlite3_stmt *st;

    snprintf(q, sizeof(q), "SELECT " JOB_COLS " FROM jobs %s ORDER BY id %s LIMIT %lld",
             state >= 0 ? "WHERE state=?" : "", desc ? "DESC" : "ASC",
             limit ? (long long)limit : -1LL);
    if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
        return fail(s, "list jobs");
    if (state >= 0)
        sqlite3_bind_int(st, 1, state);
    int rc = each_job(s, st, fn, ud, "list jobs");
    sqlite3_finalize(st);
    return rc;
}

int64_t
store_job_count(store_t *s, enum job_state state)
{
    sqlite3_stmt *q = s->q[Q_JOB_COUNT];
    int64_t n = -1;

    sqlite3_bind_int(q, 1, (int)state);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return n;
}

int
store_job_canceled_since(store_t *s, int64_t since, int (*fn)(void *ud, const struct store_job *j),
                         void *ud)
{
    sqlite3_stmt *q = s->q[Q_JOB_CANCELED];

    sqlite3_bind_int(q, 1, (int)JOB_CANCELED);
    sqlite3_bind_int64(q, 2, since);
    return each_job(s, q, fn, ud, "list canceled jobs");
}

int
store_lease_take(store_t *s, int64_t job, const char *owner, int64_t now, int64_t ttl_ms,
                 struct store_lease *out)
{
    sqlite3_stmt *q = s->q[Q_JOB_EXISTS];

    (void)now;
    (void)ttl_ms;
    sqlite3_bind_int64(q, 1, job);
    if (row_done(s, q, sqlite3_step(q), "lease job") < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->job = job;
    snprintf(out->owner, sizeof(out->owner), "%s", owner);
    out->expires_at = INT64_MAX; /* one host: nobody to take it over */
    out->generation = 1;
    return 0;
}

int
store_lease_renew(store_t *s, struct store_lease *l, int64_t now, int64_t ttl_ms)
{
    (void)now;
    (void)ttl_ms;
    if (l->job <= 0 || l->generation != 1) {
        snprintf(s->err, sizeof(s->err), "renew lease of job %lld: not ours", (long long)l->job);
        errno = ESTALE;
        return -1;
    }
    return 0;
}

int
store_lease_release(store_t *s, const struct store_lease *l)
{
    (void)s;
    (void)l;
    return 0;
}

int
store_lease_expired_each(store_t *s, int64_t now, int (*fn)(void *ud, int64_t job), void *ud)
{
    (void)s;
    (void)now;
    (void)fn;
    (void)ud;
    return 0; /* one host: no lease ever expires */
}

int
store_obj_recount(store_t *s, int64_t job, unsigned *segments)
{
    sqlite3_stmt *q = s->q[Q_OBJ_RECOUNT];
    int rc;

    sqlite3_bind_int64(q, 1, job);
    sqlite3_bind_int(q, 2, (int)OBJ_UPLOADED);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *segments = (unsigned)sqlite3_column_int64(q, 0);
    return row_done(s, q, rc, "recount objects");
}

int
store_obj_put(store_t *s, const struct store_obj *o)
{
    sqlite3_stmt *q = s->q[Q_OBJ_PUT];

    if ((unsigned)o->state >= OBJ_UNWANTED) {
        snprintf(s->err, sizeof(s->err), "put object: state %d is not stored", (int)o->state);
        errno = EINVAL;
        return -1;
    }

    sqlite3_bind_int64(q, 1, o->job);
    sqlite3_bind_text(q, 2, o->rel, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 3, (int)o->state);
    sqlite3_bind_text(q, 4, o->etag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, o->size);
    sqlite3_bind_int(q, 6, (int)o->attempts);
    return step_done(s, q, "put object");
}

int
store_obj_get(store_t *s, int64_t job, const char *rel, struct store_obj *o)
{
    sqlite3_stmt *q = s->q[Q_OBJ_GET];
    int rc;

    sqlite3_bind_int64(q, 1, job);
    sqlite3_bind_text(q, 2, rel, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        read_obj(q, o);
    return row_done(s, q, rc, "get object");
}

int
store_obj_each(store_t *s, int64_t job, int (*fn)(void *ud, const struct store_obj *o), void *ud)
{
    sqlite3_stmt *q = s->q[Q_OBJ_EACH];
    struct each_cb cb = {.obj = fn, .ud = ud};

    sqlite3_bind_int64(q, 1, job);
    return each_row(s, q, &cb, "list objects");
}

int
store_obj_delete(store_t *s, int64_t job, const char *rel)
{
    sqlite3_stmt *q = s->q[Q_OBJ_DEL];

    sqlite3_bind_int64(q, 1, job);
    sqlite3_bind_text(q, 2, rel, -1, SQLITE_TRANSIENT);
    return step_done(s, q, "delete object");
}

int
store_obj_delete_job(store_t *s, int64_t job)
{
    sqlite3_stmt *q = s->q[Q_OBJ_DEL_JOB];

    sqlite3_bind_int64(q, 1, job);
    return step_done(s, q, "delete objects");
}

int
store_job_delete(store_t *s, int64_t id)
{
    sqlite3_stmt *q = s->q[Q_JOB_DELETE];

    if (store_obj_delete_job(s, id) < 0)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    return step_done(s, q, "delete job");
}

int
store_job_key_each(store_t *s, const char *key,
                   int (*fn)(void *ud, int64_t id, enum job_state state), void *ud)
{
    sqlite3_stmt *q = s->q[Q_JOB_KEY];
    int rc = SQLITE_DONE, stop = 0;

    sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
        stop = fn(ud, sqlite3_column_int64(q, 0), (enum job_state)sqlite3_column_int(q, 1));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, "look up a key");
    return 0;
}

int
store_dlv_insert(store_t *s, struct store_dlv *d)
{
    sqlite3_stmt *q = s->q[Q_DLV_INSERT];

    sqlite3_bind_int64(q, 1, d->job);
    sqlite3_bind_text(q, 2, d->url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, d->body ? d->body : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 4, (int)d->attempts);
    sqlite3_bind_int(q, 5, (int)d->state);
    sqlite3_bind_int64(q, 6, d->created_at);
    if (step_done(s, q, "insert delivery") < 0)
        return -1;
    d->id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int
store_dlv_update(store_t *s, const struct store_dlv *d)
{
    sqlite3_stmt *q = s->q[Q_DLV_UPDATE];

    sqlite3_bind_int(q, 1, (int)d->attempts);
    sqlite3_bind_int(q, 2, (int)d->state);
    sqlite3_bind_int64(q, 3, d->id);
    return step_done(s, q, "update delivery");
}

int
store_dlv_each_pending(store_t *s, int (*fn)(void *ud, struct store_dlv *d), void *ud)
{
    sqlite3_stmt *q = s->q[Q_DLV_PENDING];
    int rc = SQLITE_DONE, stop = 0;

    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_dlv d;
        const unsigned char *body = sqlite3_column_text(q, 3);
        memset(&d, 0, sizeof(d));
        d.id = sqlite3_column_int64(q, 0);
        d.job = sqlite3_column_int64(q, 1);
        col_text(q, 2, d.url, sizeof(d.url));
        d.body = strdup(body ? (const char *)body : "");
        d.attempts = (unsigned)sqlite3_column_int(q, 4);
        d.state = (enum store_dlv_state)sqlite3_column_int(q, 5);
        d.created_at = sqlite3_column_int64(q, 6);
        if (d.body == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        stop = fn(ud, &d);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(s, "list deliveries");
    return 0;
}

int64_t
store_dlv_count(store_t *s, int64_t job, enum store_dlv_state state)
{
    sqlite3_stmt *q = s->q[Q_DLV_COUNT];
    int64_t n = -1;

    sqlite3_bind_int64(q, 1, job);
    sqlite3_bind_int(q, 2, (int)state);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return n;
}
