/*
 * master_ctl.c - answers the requests ctl forwards (one JSON object each,
 * already validated by ctl, checked again here: ctl is a child and may be
 * broken). Replies are one JSON object: {"ok":true,...} or
 * {"ok":false,"error":{"code":...,"message":...}}; see docs/protocol.md.
 *
 * Only the master knows job state, so status, list and stats are answered
 * here from memory and the store. A reply that acknowledges a job is sent
 * only after the store has committed it.
 */
#include "daemon/job.h"
#include "daemon/job_json.h"
#include "daemon/log.h"
#include "daemon/master.h"
#include "daemon/metrics.h"
#include "daemon/ctl_request.h"
#include "daemon/sched.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"
#include "workers/upworker.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* the request's sequence number (rec.job of PROTO_CTL_REQ), echoed in the
 * reply so that ctl can drop a reply that comes after it gave up waiting */
static uint64_t reply_seq;

static void
send_json(struct slot *s, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);

    json_decref(reply);
    if (text == NULL) {
        log_error("json_dumps failed");
        return;
    }
    master_proc_send(s, PROTO_CTL_REPLY, reply_seq, text, strlen(text));
    free(text);
}

static void
send_error(struct slot *s, const char *code, const char *msg)
{
    send_json(s, json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg));
}

static void
send_job(struct slot *s, const struct store_job *row)
{
    send_json(s, json_pack("{s:b, s:o}", "ok", 1, "job", job_json(&M.cfg, row)));
}

/* get_id - a positive integer field */
static int
get_id(json_t *req, int64_t *id)
{
    json_t *v = json_object_get(req, "id");

    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return -1;
    *id = (int64_t)json_integer_value(v);
    return 0;
}

static const char *
get_str(json_t *req, const char *key)
{
    json_t *v = json_object_get(req, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* get_client - who asks, as ctl put it in "client" (ctl builds every
 * forwarded request itself, so a client cannot supply this); 0 if absent */
static int
get_client(json_t *req, struct sched_client *who)
{
    json_t *c = json_object_get(req, "client");
    json_t *uid = json_object_get(c, "uid");
    const char *user = get_str(c, "user");

    if (!json_is_object(c) || !json_is_integer(uid) || json_integer_value(uid) < 0 || user == NULL)
        return 0;
    memset(who, 0, sizeof(*who));
    who->uid = (int64_t)json_integer_value(uid);
    snprintf(who->user, sizeof(who->user), "%s", user);
    who->admin = json_is_true(json_object_get(c, "admin"));
    return 1;
}

struct list_ud {
    json_t *arr;
    int64_t after; /* > 0: only jobs older than this id (the next page) */
    unsigned left;
};

static int
list_one(void *ud, const struct store_job *row)
{
    struct list_ud *l = ud;
    const struct store_job *active = sched_active(row->id);

    if (l->after > 0 && row->id >= l->after)
        return 0;
    if (row->deleted || (active && active->deleted))
        return 0; /* being deleted: gone for clients */
    /* active jobs: memory is newer than the store (progress, counters) */
    json_array_append_new(l->arr, job_json(&M.cfg, active ? active : row));
    return --l->left == 0;
}

static void
do_list(struct slot *s, json_t *req)
{
    int state = -1;
    const char *st = get_str(req, "state");
    json_t *lim = json_object_get(req, "limit");
    unsigned limit = 1000;

    if (st && (state = job_state_parse(st)) < 0) {
        send_error(s, "bad_request",
                   "state must be one of queued, converting, uploading, done, "
                   "failed, canceled");
        return;
    }
    if (json_is_integer(lim) && json_integer_value(lim) > 0 && json_integer_value(lim) <= 100000)
        limit = (unsigned)json_integer_value(lim);
    json_t *after = json_object_get(req, "after");
    struct list_ud ud = {json_array(), 0, limit};
    if (json_is_integer(after) && json_integer_value(after) > 0)
        ud.after = (int64_t)json_integer_value(after);
    /* newer jobs than "after" and jobs being deleted are skipped in the
     * callback, so the store is read without a limit and the callback
     * stops at `limit` */
    if (store_job_each(M.store, state, 1, 0, list_one, &ud) < 0) {
        json_decref(ud.arr);
        send_error(s, "internal", store_errmsg(M.store));
        return;
    }
    send_json(s, json_pack("{s:b, s:o}", "ok", 1, "jobs", ud.arr));
}

static void
do_workers(struct slot *s)
{
    json_t *arr = json_array();

    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        const struct slot *w = &M.slots[i];
        if (w->state == SLOT_DISABLED && w->generation == 0)
            continue;
        char started[32] = "";
        if (w->started_wall)
            job_json_iso8601(w->started_wall, started, sizeof(started));
        const char *rel;
        int64_t leased = sched_lease_of(w->idx, &rel);
        json_t *job = leased ? json_integer((json_int_t)leased) : json_null();
        json_t *o = json_pack(
            "{s:i, s:s, s:i, s:s, s:o, s:i, s:s, s:i, s:i}", "slot", w->idx, "role",
            master_proc_role_name(w->role), "pid", w->pid > 0 ? (int)w->pid : 0, "state",
            master_proc_state_name(w->state), "job", job, "generation", (int)w->generation,
            "started_at", started, "jobs_done", (int)w->jobs_done, "restarts", (int)w->restarts);
        if (rel[0])
            json_object_set_new(o, "object", json_string(rel));
        json_array_append_new(arr, o);
    }
    send_json(s, json_pack("{s:b, s:o}", "ok", 1, "workers", arr));
}

static uint64_t spool_sum;

static int
spool_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        spool_sum += (uint64_t)st->st_size;
    return 0;
}

/* spool_bytes - what the spool holds: inputs (failed jobs' included) and
 * segments waiting for upload. A walk at each stats request: they are
 * rare, and the spool holds few files per job */
static uint64_t
spool_bytes(void)
{
    spool_sum = 0;
    nftw(M.cfg.daemon.spool_dir, spool_add, 16, FTW_PHYS);
    return spool_sum;
}

static void
do_stats(struct slot *s)
{
    json_t *jobs = json_object();
    for (int st = 0; st < JOB_NSTATES; st++)
        json_object_set_new(jobs, job_state_name((enum job_state)st),
                            json_integer(store_job_count(M.store, (enum job_state)st)));
    const struct sched_stats *st = sched_stats();
    int alive[ROLE_N] = {0}, busy[ROLE_N] = {0};
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        const struct slot *w = &M.slots[i];
        if (w->pid > 0)
            alive[w->role]++;
        if (w->state == SLOT_BUSY)
            busy[w->role]++;
    }
    json_t *stats = json_pack(
        "{s:o, s:I, s:{s:i, s:i, s:i, s:i}, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:b}", "jobs", jobs,
        "uptime_s", (json_int_t)((msclock_wall() - M.started_wall) / 1000), "workers", "convert",
        alive[ROLE_CONVERT], "convert_busy", busy[ROLE_CONVERT], "upload", alive[ROLE_UPLOAD],
        "upload_busy", busy[ROLE_UPLOAD], "segments_uploaded", (json_int_t)st->segments_uploaded,
        "bytes_uploaded", (json_int_t)st->bytes_uploaded, "upload_failures",
        (json_int_t)st->upload_failures, "conversions_done", (json_int_t)st->conversions_done,
        "children_started", (json_int_t)M.children_started, "children_crashed",
        (json_int_t)M.children_crashed, "queued", (int)sched_queued(), "stopping", M.stopping);
    json_object_set_new(stats, "spool_bytes", json_integer((json_int_t)spool_bytes()));
    send_json(s, json_pack("{s:b, s:o}", "ok", 1, "stats", stats));
}

/* rss_bytes - a process's resident memory from /proc/PID/statm; 0 if gone */
static uint64_t
rss_bytes(pid_t pid)
{
    char path[64];
    unsigned long long size, res;

    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    int n = fscanf(f, "%llu %llu", &size, &res);
    fclose(f);
    return n == 2 ? (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* do_metrics - what /metrics shows, as JSON (the HTTP process writes the
 * Prometheus text): the event counters of metrics.c, and what is true now
 * (jobs by state, queue depth, restarts and resident memory by role) */
static void
do_metrics(struct slot *s)
{
    json_t *m = metrics_json();
    json_t *jobs = json_object(), *restarts = json_object(), *rss = json_object(),
           *live = json_object();
    uint64_t role_rss[ROLE_N] = {0};
    unsigned role_restarts[ROLE_N] = {0}, role_live[ROLE_N] = {0};

    if (m == NULL || jobs == NULL || restarts == NULL || rss == NULL || live == NULL) {
        json_decref(m);
        json_decref(jobs);
        json_decref(restarts);
        json_decref(rss);
        json_decref(live);
        send_error(s, "internal", "out of memory");
        return;
    }
    for (int st = 0; st < JOB_NSTATES; st++)
        json_object_set_new(jobs, job_state_name((enum job_state)st),
                            json_integer(store_job_count(M.store, (enum job_state)st)));
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        const struct slot *w = &M.slots[i];
        role_restarts[w->role] += w->restarts;
        if (w->pid > 0) {
            role_live[w->role]++;
            role_rss[w->role] += rss_bytes(w->pid);
        }
    }
    json_object_set_new(rss, "master", json_integer((json_int_t)rss_bytes(getpid())));
    for (int r = 0; r < ROLE_N; r++) {
        const char *name = master_proc_role_name((enum slot_role)r);
        json_object_set_new(restarts, name, json_integer((json_int_t)role_restarts[r]));
        json_object_set_new(rss, name, json_integer((json_int_t)role_rss[r]));
        json_object_set_new(live, name, json_integer((json_int_t)role_live[r]));
    }
    json_object_set_new(m, "jobs", jobs);
    json_object_set_new(m, "queue_depth", json_integer((json_int_t)sched_queued()));
    json_object_set_new(m, "worker_restarts", restarts);
    json_object_set_new(m, "workers", live);
    json_object_set_new(m, "resident_memory_bytes", rss);
    json_object_set_new(m, "uptime_seconds",
                        json_integer((json_int_t)((msclock_wall() - M.started_wall) / 1000)));
    send_json(s, json_pack("{s:b, s:o}", "ok", 1, "metrics", m));
}

/* submit_extras - what a submission may add (key, notify, metadata, an
 * input URL), checked again: ctl is a child and may be broken, and the
 * HTTP front forwards the same fields. metadata is rendered into mbuf. */
static int
submit_extras(json_t *req, struct sched_submit_opts *o, char *mbuf, size_t mcap, char *why,
              size_t whylen)
{
    const char *input = get_str(req, "input");
    json_t *meta = json_object_get(req, "metadata");

    memset(o, 0, sizeof(*o));
    if (input && ctl_request_is_url(input)) {
        if (!ctl_request_url_ok(input)) {
            snprintf(why, whylen, "input URL is malformed or longer than %d bytes", CTL_URL_MAX);
            return -1;
        }
        o->url = input;
    }
    o->key = get_str(req, "key");
    if (o->key && o->key[0] == '\0')
        o->key = NULL;
    if (o->key && !ctl_request_prefix_ok(o->key)) {
        snprintf(why, whylen, "key must be a key prefix of [A-Za-z0-9._/-]");
        return -1;
    }
    o->notify = get_str(req, "notify");
    if (o->notify && o->notify[0] == '\0')
        o->notify = NULL;
    if (o->notify && !ctl_request_notify_ok(o->notify)) {
        snprintf(why, whylen, "notify must be an http:// or https:// URL");
        return -1;
    }
    if (meta && !json_is_null(meta)) {
        if (ctl_request_metadata_text(meta, mbuf, mcap) < 0) {
            snprintf(why, whylen, "metadata must be a JSON object of at most %d bytes",
                     CTL_METADATA_MAX);
            return -1;
        }
        o->metadata = mbuf;
    }
    return 0;
}

static void
do_submit(struct slot *s, json_t *req)
{
    const char *token = get_str(req, "token"), *input = get_str(req, "input");
    const char *ladder = get_str(req, "ladder"), *prefix = get_str(req, "prefix");
    json_t *seg = json_object_get(req, "segment");
    double segment = 0;
    char why[300], meta[CTL_METADATA_MAX + 1], label[256];
    struct sched_submit_opts opts;

    if (input == NULL) {
        send_error(s, "bad_request", "submit needs input");
        return;
    }
    if (submit_extras(req, &opts, meta, sizeof(meta), why, sizeof(why)) < 0) {
        send_error(s, "bad_request", why);
        return;
    }
    if (token == NULL && opts.url == NULL) {
        send_error(s, "bad_request", "submit needs token and input");
        return;
    }
    if (opts.url) { /* the label people see: no query, no credentials */
        url_redact(opts.url, label, sizeof(label));
        input = label;
    }
    if (json_is_number(seg)) {
        segment = json_number_value(seg);
        if (!(segment >= 1 && segment <= 60)) {
            send_error(s, "bad_request", "segment must be between 1 and 60 seconds");
            return;
        }
    }
    if (ladder && config_check_ladder(ladder, why, sizeof(why)) < 0) {
        send_error(s, "bad_request", why);
        return;
    }
    if ((ladder && strlen(ladder) >= 96) || strlen(input) >= 256 ||
        (prefix && (strlen(prefix) > 256 || strstr(prefix, "..")))) {
        send_error(s, "bad_request", "ladder, input or prefix too long or malformed");
        return;
    }
    struct store_job row;
    struct sched_client who;
    const char *code = "internal";
    if (sched_submit_ex(token, input, ladder, segment, prefix, get_client(req, &who) ? &who : NULL,
                        &opts, &row, &code, why, sizeof(why)) < 0) {
        send_error(s, code, why);
        return;
    }
    send_job(s, &row);
}

/* do_delete - an ended job and what it published go (the objects through
 * the upload workers; the reply comes at once) */
static void
do_delete(struct slot *s, json_t *req)
{
    int64_t id;
    struct sched_client who;
    const char *code = "internal";
    char msg[300];

    if (get_id(req, &id) < 0) {
        send_error(s, "bad_request", "id must be a positive integer");
    } else if (get_client(req, &who) && sched_authorize(id, &who, &code, msg, sizeof(msg)) < 0) {
        log_warn("delete of job %lld by %s (uid %lld) refused: %s", (long long)id, who.user,
                 (long long)who.uid, msg);
        send_error(s, code, msg);
    } else if (sched_delete(id, &code, msg, sizeof(msg)) < 0) {
        send_error(s, code, msg);
    } else if (master_durable() < 0) {
        send_error(s, "internal", "job store: commit failed");
    } else {
        send_json(s, json_pack("{s:b, s:I, s:b}", "ok", 1, "id", (json_int_t)id, "deleted", 1));
    }
}

void
master_ctl_request(struct slot *s, uint64_t seq, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *cmd;
    int64_t id;
    struct store_job row;
    struct sched_client who;
    const char *code = "internal";
    char msg[300];

    reply_seq = seq;
    if (req == NULL || !json_is_object(req) || (cmd = get_str(req, "cmd")) == NULL) {
        log_warn("ctl sent a malformed request");
        send_error(s, "bad_request", "malformed request");
        json_decref(req);
        return;
    }
    if (strcmp(cmd, "ping") == 0) {
        send_json(s, json_pack("{s:b, s:s}", "ok", 1, "version", HLSD_VERSION));
    } else if (strcmp(cmd, "admit") == 0) {
        if (sched_admit(&code, msg, sizeof(msg)) < 0)
            send_error(s, code, msg);
        else
            send_json(s, json_pack("{s:b}", "ok", 1));
    } else if (strcmp(cmd, "submit") == 0) {
        do_submit(s, req);
    } else if (strcmp(cmd, "delete") == 0) {
        do_delete(s, req);
    } else if (strcmp(cmd, "status") == 0 || strcmp(cmd, "cancel") == 0 ||
               strcmp(cmd, "retry") == 0) {
        if (get_id(req, &id) < 0) {
            send_error(s, "bad_request", "id must be a positive integer");
        } else if (cmd[0] == 's') {
            if (sched_status(id, &row) == 0)
                send_job(s, &row);
            else if (errno != ENOENT)
                send_error(s, "internal", store_errmsg(M.store));
            else {
                snprintf(msg, sizeof(msg), "no job %lld", (long long)id);
                send_error(s, "not_found", msg);
            }
        } else if (get_client(req, &who) &&
                   sched_authorize(id, &who, &code, msg, sizeof(msg)) < 0) {
            log_warn("%s of job %lld by %s (uid %lld) refused: %s", cmd, (long long)id, who.user,
                     (long long)who.uid, msg);
            send_error(s, code, msg);
        } else {
            int rc = cmd[0] == 'c' ? sched_cancel(id, &row, &code, msg, sizeof(msg))
                                   : sched_retry(id, &row, &code, msg, sizeof(msg));
            if (rc < 0)
                send_error(s, code, msg);
            else if (master_durable() < 0)
                send_error(s, M.store_full ? "store_full" : "internal",
                           M.store_full ? "the job store's disk is full: the change is made and "
                                          "is written when space returns"
                                        : "job store: commit failed");
            else
                send_job(s, &row);
        }
    } else if (strcmp(cmd, "list") == 0) {
        do_list(s, req);
    } else if (strcmp(cmd, "workers") == 0) {
        do_workers(s);
    } else if (strcmp(cmd, "stats") == 0) {
        do_stats(s);
    } else if (strcmp(cmd, "metrics") == 0) {
        do_metrics(s);
    } else {
        send_error(s, "unknown_command", "unknown command");
    }
    json_decref(req);
}
