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
#include "daemon/log.h"
#include "daemon/master.h"
#include "daemon/sched.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void
iso8601(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
job_json(const struct store_job *row)
{
    char created[32], updated[32], url[2048];
    json_t *rends = json_array();
    char buf[sizeof(row->renditions)], *save = NULL;

    iso8601(row->created_at, created, sizeof(created));
    iso8601(row->updated_at, updated, sizeof(updated));
    snprintf(buf, sizeof(buf), "%s", row->renditions);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        json_array_append_new(rends, json_string(t));
    sched_url_playlist(&M.cfg, row, url, sizeof(url));
    double progress = sched_progress(row);
    if (!isfinite(progress) || progress < 0)
        progress = 0;
    long long expected = sched_segments_expected(row);
    json_t *owner = row->owner_uid >= 0 ? json_pack("{s:I, s:s}", "uid", (json_int_t)row->owner_uid,
                                                    "user", row->owner_name)
                                        : json_null();
    json_t *job = json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:f, s:{s:i, s:i}, s:o, s:i, s:o, s:o}",
                            "id", (json_int_t)row->id, "state", job_state_name(row->state), "input",
                            row->input, "owner", owner, "created_at", created, "updated_at",
                            updated, "progress", progress > 1 ? 1.0 : progress, "segments", "done",
                            (int)row->segs_done, "uploaded", (int)row->segs_uploaded, "renditions",
                            rends, "attempts", (int)row->attempts, "playlist_url",
                            row->state == JOB_DONE ? json_string(url) : json_null(), "error",
                            row->error[0] ? json_string(row->error) : json_null());
    if (job && expected >= 0)
        json_object_set_new(json_object_get(job, "segments"), "expected",
                            json_integer((json_int_t)expected));
    if (job)
        json_object_set_new(job, "notes", row->notes[0] ? json_string(row->notes) : json_null());
    /* uploads waiting out an outage: the last error and the next retry */
    char uerr[200], next[32];
    int64_t next_wall;
    if (job && sched_upload_retrying(row->id, uerr, sizeof(uerr), &next_wall)) {
        iso8601(next_wall, next, sizeof(next));
        json_object_set_new(job, "upload_retry",
                            json_pack("{s:s, s:s}", "last_error", uerr, "next_at", next));
    } else if (job) {
        json_object_set_new(job, "upload_retry", json_null());
    }
    return job;
}

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
    send_json(s, json_pack("{s:b, s:o}", "ok", 1, "job", job_json(row)));
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
};

static int
list_one(void *ud, const struct store_job *row)
{
    struct list_ud *l = ud;
    const struct store_job *active = sched_active(row->id);

    /* active jobs: memory is newer than the store (progress, counters) */
    json_array_append_new(l->arr, job_json(active ? active : row));
    return 0;
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
    struct list_ud ud = {json_array()};
    if (store_job_each(M.store, state, 1, limit, list_one, &ud) < 0) {
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
            iso8601(w->started_wall, started, sizeof(started));
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

static void
do_submit(struct slot *s, json_t *req)
{
    const char *token = get_str(req, "token"), *input = get_str(req, "input");
    const char *ladder = get_str(req, "ladder"), *prefix = get_str(req, "prefix");
    json_t *seg = json_object_get(req, "segment");
    double segment = 0;
    char why[300];

    if (token == NULL || input == NULL) {
        send_error(s, "bad_request", "submit needs token and input");
        return;
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
    if (sched_submit_as(token, input, ladder, segment, prefix, get_client(req, &who) ? &who : NULL,
                        &row, &code, why, sizeof(why)) < 0) {
        send_error(s, code, why);
        return;
    }
    send_job(s, &row);
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
    } else {
        send_error(s, "unknown_command", "unknown command");
    }
    json_decref(req);
}
