/*
 * sched.c - the master's scheduler: the lease table, jobs and their upload
 * ledger, and what happens on every event from a worker.
 *
 * Invariants (a violation is a panic):
 *  - a job is leased to at most one convert worker, and only while it is
 *    converting (or ended, until the worker lets go);
 *  - an object is leased to at most one upload worker;
 *  - the master playlist is queued only when every other object of the job
 *    is uploaded, and the job is done only when it is uploaded.
 * Everything a worker reports is checked against its lease: a report about
 * another job is a protocol violation and the worker is killed.
 *
 * FIFO: conversions go to idle workers in job id order; uploads go in job
 * order, then object order, so the oldest job's segments leave first.
 * Retries follow workers/backoff.c; the master never sleeps for them.
 */
#include "daemon/sched.h"

#include "daemon/job.h"
#include "daemon/log.h"
#include "daemon/spool.h"
#include "ipc/proto.h"
#include "workers/backoff.h"

#include <ctype.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct job *jobs_head, *jobs_tail;

/* ---- small helpers ---- */

struct job *
sched_find(int64_t id)
{
    for (struct job *j = jobs_head; j; j = j->next)
        if (j->row.id == id)
            return j;
    return NULL;
}

static void
job_save(struct job *j)
{
    j->row.updated_at = master_wall();
    if (store_job_update(M.store, &j->row) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
    j->progress_saved = master_now();
}

/* obj_save - the ledger row of o; etag only once it is uploaded */
static void
obj_save_etag(struct job *j, const struct obj *o, const char *etag)
{
    struct store_obj so;

    memset(&so, 0, sizeof(so));
    so.job = j->row.id;
    snprintf(so.rel, sizeof(so.rel), "%s", o->rel);
    so.state = o->state;
    so.size = o->size;
    so.attempts = o->attempts;
    snprintf(so.etag, sizeof(so.etag), "%s", etag);
    if (store_obj_put(M.store, &so) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
}

static void
obj_save(struct job *j, const struct obj *o)
{
    obj_save_etag(j, o, "");
}

static struct obj *
obj_find(struct job *j, const char *rel)
{
    for (size_t i = 0; i < j->nobjs; i++)
        if (strcmp(j->objs[i].rel, rel) == 0)
            return &j->objs[i];
    return NULL;
}

static struct obj *
obj_add(struct job *j, const char *rel, enum obj_kind kind, int64_t size)
{
    struct obj *o = obj_find(j, rel);

    if (o)
        return o;
    if (j->nobjs == j->cap) {
        size_t ncap = j->cap ? j->cap * 2 : 64;
        struct obj *n = realloc(j->objs, ncap * sizeof(*n));
        if (n == NULL)
            log_fatal(EXIT_ENV, "out of memory for job %lld's objects", (long long)j->row.id);
        /* leases point at objects: move them along */
        for (size_t i = 0; i < j->nobjs; i++)
            if (n[i].lease)
                n[i].lease->obj = &n[i];
        j->objs = n;
        j->cap = ncap;
    }
    o = &j->objs[j->nobjs++];
    memset(o, 0, sizeof(*o));
    snprintf(o->rel, sizeof(o->rel), "%s", rel);
    o->kind = kind;
    o->size = size;
    o->state = OBJ_PENDING;
    if (j->cursor > j->nobjs - 1)
        j->cursor = j->nobjs - 1;
    return o;
}

static enum obj_kind
kind_of(const char *rel)
{
    if (strcmp(rel, "master.m3u8") == 0)
        return OBJ_MASTER;
    size_t n = strlen(rel);
    return n > 5 && strcmp(rel + n - 5, ".m3u8") == 0 ? OBJ_PLAYLIST : OBJ_SEGMENT;
}

static struct job *
job_new(const struct store_job *row)
{
    struct job *j = calloc(1, sizeof(*j));

    if (j == NULL)
        log_fatal(EXIT_ENV, "out of memory for a job");
    j->row = *row;
    /* keep id order */
    if (jobs_tail == NULL || jobs_tail->row.id < row->id) {
        if (jobs_tail)
            jobs_tail->next = j;
        else
            jobs_head = j;
        jobs_tail = j;
    } else {
        struct job **pp = &jobs_head;
        while (*pp && (*pp)->row.id < row->id)
            pp = &(*pp)->next;
        j->next = *pp;
        *pp = j;
        if (j->next == NULL)
            jobs_tail = j;
    }
    return j;
}

static void
job_free(struct job *j)
{
    struct job **pp = &jobs_head, *prev = NULL;

    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        log_panic("job %lld not in the active list", (long long)j->row.id);
    *pp = j->next;
    if (jobs_tail == j)
        jobs_tail = prev;
    free(j->objs);
    free(j);
}

static int
job_has_leases(const struct job *j)
{
    if (j->conv)
        return 1;
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].lease)
            return 1;
    return 0;
}

void
sched_object_key(const struct store_job *row, const char *rel, char *out, size_t cap)
{
    if (row->prefix[0])
        snprintf(out, cap, "%s/%lld/%s", row->prefix, (long long)row->id, rel);
    else
        snprintf(out, cap, "%lld/%s", (long long)row->id, rel);
}

void
sched_playlist_url(const struct store_job *row, char *out, size_t cap)
{
    char key[512];
    const char *url = M.cfg.upload.url;

    sched_object_key(row, "master.m3u8", key, sizeof(key));
    if (strncmp(url, "file://", 7) == 0) {
        snprintf(out, cap, "%s/%s", url + 7, key);
        return;
    }
    /* s3://bucket[/prefix] */
    const char *b = url + 5, *slash = strchr(b, '/');
    char bucket[256], prefix[512] = "";
    snprintf(bucket, sizeof(bucket), "%.*s", slash ? (int)(slash - b) : (int)strlen(b), b);
    if (slash && slash[1]) {
        snprintf(prefix, sizeof(prefix), "%s", slash + 1);
        size_t n = strlen(prefix);
        if (n && prefix[n - 1] == '/')
            prefix[n - 1] = '\0';
    }
    char full[1024];
    snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "/" : "", key);
    if (M.cfg.upload.public_url[0]) {
        size_t n = strlen(M.cfg.upload.public_url);
        snprintf(out, cap, "%s%s%s", M.cfg.upload.public_url,
                 n && M.cfg.upload.public_url[n - 1] == '/' ? "" : "/", full);
    } else if (M.cfg.upload.endpoint[0] && M.cfg.upload.path_style) {
        snprintf(out, cap, "%s/%s/%s", M.cfg.upload.endpoint, bucket, full);
    } else {
        snprintf(out, cap, "s3://%s/%s", bucket, full);
    }
}

double
sched_progress(const struct store_job *row)
{
    const struct job *j = sched_find(row->id);

    switch (row->state) {
    case JOB_DONE:
        return 1.0;
    case JOB_CONVERTING:
        return j ? 0.95 * j->conv_progress : 0.95 * row->progress;
    case JOB_UPLOADING: {
        if (j == NULL || j->nobjs == 0)
            return 0.95;
        size_t up = 0;
        for (size_t i = 0; i < j->nobjs; i++)
            up += j->objs[i].state == OBJ_UPLOADED;
        return 0.95 + 0.05 * (double)up / (double)(j->nobjs + 1);
    }
    default:
        return row->progress;
    }
}

unsigned
sched_queued(void)
{
    unsigned n = 0;

    for (struct job *j = jobs_head; j; j = j->next)
        n += j->row.state == JOB_QUEUED;
    return n;
}

int
sched_conversions_running(void)
{
    int n = 0;

    for (struct job *j = jobs_head; j; j = j->next)
        n += j->conv != NULL;
    return n;
}

/* ---- ending jobs ---- */

static void
slot_release(struct slot *s)
{
    s->job = NULL;
    s->obj = NULL;
    s->obj_delete = 0;
    s->jobs_done++;
    master_proc_lease(s, 0);
}

/* job_requeue_released - a conversion stopped for shutdown or retire goes
 * back to the queue without counting the attempt: not the input's fault */
static void
job_requeue_released(struct job *j)
{
    j->releasing = 0;
    if (j->row.attempts > 0)
        j->row.attempts--;
    job_transition(j->row.id, &j->row.state, JOB_QUEUED);
    job_save(j);
}

/* job_settle - a job that ended and holds no leases leaves memory, and its
 * spool goes (a failed job keeps its input, for retry) */
static void
job_settle(struct job *j)
{
    char path[CONFIG_PATH_MAX + 64];

    if (!job_state_terminal(j->row.state) || job_has_leases(j))
        return;
    if (j->row.state == JOB_CANCELED) {
        for (size_t i = 0; i < j->nobjs; i++)
            if (j->objs[i].state == OBJ_DELETING)
                return; /* deletions still to do */
    }
    if (j->row.state == JOB_FAILED) {
        spool_job_path(M.cfg.daemon.spool_dir, j->row.id, "out", path, sizeof(path));
    } else {
        spool_job_path(M.cfg.daemon.spool_dir, j->row.id, NULL, path, sizeof(path));
    }
    if (spool_rmtree(path) < 0)
        log_error("job %lld: removing %s: %s", (long long)j->row.id, path, strerror(errno));
    job_free(j);
}

static void
stop_conversion(struct job *j)
{
    if (j->conv)
        master_proc_send(j->conv, PROTO_CONV_CANCEL, (uint64_t)j->row.id, NULL, 0);
}

static void
drop_pending(struct job *j)
{
    /* forget objects not uploaded; the ledger keeps uploaded ones */
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        if (o->state == OBJ_PENDING) {
            store_obj_delete(M.store, j->row.id, o->rel);
            o->state = OBJ_UPLOADED; /* placeholder: not dispatched again */
            o->kind = OBJ_SEGMENT;
            o->rel[0] = '\0';
        }
    }
}

static void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
job_fail(struct job *j, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(j->row.error, sizeof(j->row.error), fmt, ap);
    va_end(ap);
    job_transition(j->row.id, &j->row.state, JOB_FAILED);
    log_warn("job %lld failed: %s", (long long)j->row.id, j->row.error);
    stop_conversion(j);
    drop_pending(j);
    job_save(j);
    job_settle(j);
}

static void
job_done(struct job *j)
{
    job_transition(j->row.id, &j->row.state, JOB_DONE);
    j->row.progress = 1.0;
    j->row.error[0] = '\0';
    job_save(j);
    log_info("job %lld done: %u segments published", (long long)j->row.id, j->row.segs_uploaded);
    job_settle(j);
}

/* ---- events from convert workers ---- */

static int
rendition_ok(const char *r, size_t cap)
{
    size_t n = strnlen(r, cap);
    if (n == 0 || n == cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)r[i]) && r[i] != '_' && r[i] != '-')
            return 0;
    return 1;
}

/* the worker reports on its own lease only */
static struct job *
conv_lease(struct slot *s, uint64_t job)
{
    if (s->role != ROLE_CONVERT || s->job == NULL || (uint64_t)s->job->row.id != job) {
        master_proc_kill(s, "protocol: report about a job it does not hold");
        return NULL;
    }
    return s->job;
}

static void
maybe_queue_master(struct job *j)
{
    if (!j->row.conv_done || j->row.state != JOB_UPLOADING)
        return;
    for (size_t i = 0; i < j->nobjs; i++) {
        const struct obj *o = &j->objs[i];
        if (o->rel[0] && o->kind != OBJ_MASTER && o->state != OBJ_UPLOADED)
            return;
    }
    struct obj *m = obj_find(j, "master.m3u8");
    if (m && m->state == OBJ_UPLOADED) {
        job_done(j);
        return;
    }
    if (m == NULL) {
        m = obj_add(j, "master.m3u8", OBJ_MASTER, 0);
        obj_save(j, m);
    }
}

static void
on_segment(struct slot *s, struct job *j, const struct proto_conv_segment *m)
{
    char rel[64];

    if (!rendition_ok(m->rendition, sizeof(m->rendition)) || m->index > 9999999 ||
        !isfinite(m->duration) || m->duration < 0 ||
        (m->kind != PROTO_SEG_TS && m->kind != PROTO_SEG_VTT)) {
        master_proc_kill(s, "protocol: malformed segment report");
        return;
    }
    snprintf(rel, sizeof(rel), "%.16s/seg_%05u.%s", m->rendition, m->index,
             m->kind == PROTO_SEG_VTT ? "vtt" : "ts");
    j->row.segs_done++;
    j->last_progress = master_now();
    if (j->row.state != JOB_CONVERTING)
        return; /* canceled or failed meanwhile: nothing to publish */
    struct obj *o = obj_find(j, rel);
    if (o && o->state == OBJ_UPLOADED && o->size == (int64_t)m->size)
        return; /* published before a restart: not sent again */
    o = obj_add(j, rel, OBJ_SEGMENT, (int64_t)m->size);
    o->state = OBJ_PENDING;
    o->size = (int64_t)m->size;
    o->next_at = 0;
    obj_save(j, o);
}

static void
on_conv_done(struct slot *s, struct job *j, const char *text)
{
    char buf[1024], *save = NULL;
    double dur;

    snprintf(buf, sizeof(buf), "%s", text);
    char *tok = strtok_r(buf, " ", &save);
    if (tok == NULL || sscanf(tok, "%lf", &dur) != 1 || !isfinite(dur) || dur < 0) {
        master_proc_kill(s, "protocol: malformed conversion result");
        return;
    }
    j->conv = NULL;
    M.conversions_done++;
    if (j->row.state != JOB_CONVERTING) {
        slot_release(s);
        job_settle(j);
        return;
    }
    j->row.duration = dur;
    j->row.renditions[0] = '\0';
    /* "K:NAME": every rendition has index.m3u8, a video one iframes.m3u8 too */
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (strlen(tok) < 3 || tok[1] != ':' || strchr("vas", tok[0]) == NULL ||
            !rendition_ok(tok + 2, 16)) {
            master_proc_kill(s, "protocol: malformed rendition name");
            return;
        }
        size_t n = strlen(j->row.renditions);
        snprintf(j->row.renditions + n, sizeof(j->row.renditions) - n, "%s%s", n ? " " : "",
                 tok + 2);
        static const char *const lists[] = {"index.m3u8", "iframes.m3u8"};
        for (int k = 0; k < (tok[0] == 'v' ? 2 : 1); k++) {
            char rel[64];
            snprintf(rel, sizeof(rel), "%s/%s", tok + 2, lists[k]);
            /* a playlist is rewritten by every conversion: (re)send it */
            struct obj *o = obj_add(j, rel, OBJ_PLAYLIST, 0);
            o->state = OBJ_PENDING;
            obj_save(j, o);
        }
    }
    j->row.conv_done = 1;
    j->conv_progress = 1.0;
    job_transition(j->row.id, &j->row.state, JOB_UPLOADING);
    job_save(j);
    log_info("job %lld: conversion done (%.1fs, %s)", (long long)j->row.id, dur, j->row.renditions);
    slot_release(s);
    maybe_queue_master(j);
}

static void
printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < cap; i++)
        dst[k++] =
            (src[i] >= 0x20 && src[i] < 0x7f) || (unsigned char)src[i] >= 0x80 ? src[i] : ' ';
    dst[k] = '\0';
}

static void
on_conv_failed(struct slot *s, struct job *j, const char *text, size_t len)
{
    char why[400];

    printable(why, sizeof(why), text, len);
    j->conv = NULL;
    slot_release(s);
    if (j->releasing) {
        j->releasing = 0;
        job_transition(j->row.id, &j->row.state, JOB_QUEUED);
        job_save(j);
        return;
    }
    if (j->row.state == JOB_CONVERTING)
        job_fail(j, "%s", why[0] ? why : "conversion failed");
    else
        job_settle(j);
}

static void
on_conv_canceled(struct slot *s, struct job *j)
{
    j->conv = NULL;
    slot_release(s);
    if (j->releasing) {
        job_requeue_released(j);
        return;
    }
    job_settle(j);
}

/* ---- events from upload workers ---- */

static void
on_up_result(struct slot *s, uint64_t job, const void *body, size_t len)
{
    struct proto_up_result h;
    char text[600];

    if (s->role != ROLE_UPLOAD || s->obj == NULL || s->job == NULL ||
        (uint64_t)s->job->row.id != job || len < sizeof(h)) {
        master_proc_kill(s, "protocol: upload result without a matching lease");
        return;
    }
    memcpy(&h, body, sizeof(h));
    h.etag[sizeof(h.etag) - 1] = '\0';
    printable(text, sizeof(text), (const char *)body + sizeof(h), len - sizeof(h));
    if (h.cls > PROTO_UP_PERMANENT) {
        master_proc_kill(s, "protocol: unknown result class");
        return;
    }
    struct job *j = s->job;
    struct obj *o = s->obj;
    int was_delete = s->obj_delete;
    o->lease = NULL;
    slot_release(s);
    char key[512];
    sched_object_key(&j->row, o->rel, key, sizeof(key));

    if (was_delete) {
        if (h.cls == PROTO_UP_RETRYABLE && ++o->attempts < M.cfg.upload.max_attempts) {
            struct backoff_config bc = {.base_ms = (uint64_t)M.cfg.upload.backoff_base_ms,
                                        .cap_ms = (uint64_t)M.cfg.upload.backoff_max_ms,
                                        .max_attempts = M.cfg.upload.max_attempts};
            o->next_at = master_now() +
                         (int64_t)backoff_delay_ms(&bc, o->attempts, h.retry_after_ms, &M.rng);
            return;
        }
        if (h.cls != PROTO_UP_OK)
            log_error("job %lld: could not delete %s: %s", (long long)j->row.id, key, text);
        store_obj_delete(M.store, j->row.id, o->rel);
        o->state = OBJ_UPLOADED;
        o->rel[0] = '\0';
        job_settle(j);
        return;
    }

    if (h.cls == PROTO_UP_OK) {
        o->state = OBJ_UPLOADED;
        obj_save_etag(j, o, h.etag);
        M.bytes_uploaded += (uint64_t)(o->size > 0 ? o->size : 0);
        if (o->kind == OBJ_SEGMENT) {
            j->row.segs_uploaded++;
            M.segments_uploaded++;
        }
        if (j->row.state == JOB_CANCELED) {
            /* uploaded after the cancel: take it down again */
            o->state = OBJ_DELETING;
            o->attempts = 0;
            o->next_at = 0;
            obj_save(j, o);
            return;
        }
        if (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING) {
            job_settle(j);
            return;
        }
        if (o->kind == OBJ_MASTER) {
            job_done(j);
            return;
        }
        maybe_queue_master(j);
        return;
    }

    M.upload_failures++;
    o->attempts++;
    if (j->row.state == JOB_CANCELED) {
        store_obj_delete(M.store, j->row.id, o->rel);
        o->state = OBJ_UPLOADED;
        o->rel[0] = '\0';
        job_settle(j);
        return;
    }
    if (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING) {
        job_settle(j);
        return;
    }
    if (h.cls == PROTO_UP_PERMANENT) {
        job_fail(j, "upload of %s failed: %s", key, text[0] ? text : "permanent error");
        return;
    }
    struct backoff_config bc = {.base_ms = (uint64_t)M.cfg.upload.backoff_base_ms,
                                .cap_ms = (uint64_t)M.cfg.upload.backoff_max_ms,
                                .max_attempts = M.cfg.upload.max_attempts};
    uint64_t delay = backoff_delay_ms(&bc, o->attempts, h.retry_after_ms, &M.rng);
    if (delay == BACKOFF_GIVE_UP || o->attempts >= M.cfg.upload.max_attempts) {
        job_fail(j, "upload of %s failed after %u attempts: %s", key, o->attempts,
                 text[0] ? text : "retryable error");
        return;
    }
    o->state = OBJ_PENDING;
    o->next_at = master_now() + (int64_t)delay;
    obj_save(j, o);
    log_info("job %lld: %s: retry %u in %llu ms (%s)", (long long)j->row.id, key, o->attempts + 1,
             (unsigned long long)delay, text);
    if (j->cursor > (size_t)(o - j->objs))
        j->cursor = (size_t)(o - j->objs);
}

void
sched_on_message(struct slot *s, uint16_t type, uint64_t job, const void *body, size_t len)
{
    struct job *j;

    switch (type) {
    case PROTO_CONV_SEGMENT:
        if ((j = conv_lease(s, job)) != NULL) {
            struct proto_conv_segment m;
            memcpy(&m, body, sizeof(m));
            on_segment(s, j, &m);
        }
        break;
    case PROTO_CONV_PROGRESS:
        if ((j = conv_lease(s, job)) != NULL) {
            struct proto_conv_progress p;
            memcpy(&p, body, sizeof(p));
            if (!isfinite(p.fraction) || p.fraction < 0 || p.fraction > 1.0001) {
                master_proc_kill(s, "protocol: progress out of range");
                break;
            }
            j->conv_progress = p.fraction > 1 ? 1 : p.fraction;
            j->last_progress = s->last_progress_ms = master_now();
            if (master_now() - j->progress_saved >= 1000) {
                j->row.progress = j->conv_progress;
                job_save(j);
            }
        }
        break;
    case PROTO_CONV_DONE:
        if ((j = conv_lease(s, job)) != NULL)
            on_conv_done(s, j, (const char *)body);
        break;
    case PROTO_CONV_FAILED:
        if ((j = conv_lease(s, job)) != NULL)
            on_conv_failed(s, j, body, len);
        break;
    case PROTO_CONV_CANCELED:
        if ((j = conv_lease(s, job)) != NULL)
            on_conv_canceled(s, j);
        break;
    case PROTO_UP_RESULT:
        on_up_result(s, job, body, len);
        break;
    default:
        master_proc_kill(s, "protocol: unexpected record type");
        break;
    }
}

/* ---- dispatch ---- */

static unsigned
conv_threads(void)
{
    if (M.cfg.convert.threads)
        return M.cfg.convert.threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned w = M.cfg.convert.workers ? M.cfg.convert.workers : 1;
    return n > (long)w ? (unsigned)(n / (long)w) : 1;
}

static void
start_conversion(struct slot *s, struct job *j)
{
    struct proto_conv_start st;

    memset(&st, 0, sizeof(st));
    j->row.attempts++;
    st.attempt = j->row.attempts;
    st.threads = conv_threads();
    st.segment_seconds = j->row.segment > 0 ? j->row.segment : M.cfg.convert.segment_seconds;
    snprintf(st.ladder, sizeof(st.ladder), "%s",
             j->row.ladder[0] ? j->row.ladder : M.cfg.convert.ladder);
    job_transition(j->row.id, &j->row.state, JOB_CONVERTING);
    j->conv = s;
    j->conv_started = j->last_progress = master_now();
    j->conv_progress = 0;
    j->row.segs_done = 0;
    j->row.conv_done = 0;
    /* a reconversion reports every segment again; forget unsent ones */
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].state == OBJ_PENDING && j->objs[i].lease == NULL)
            j->objs[i].next_at = INT64_MAX; /* re-armed by the new report */
    job_save(j);
    s->job = j;
    s->obj = NULL;
    s->lease_ms = master_now();
    s->last_progress_ms = master_now();
    master_proc_lease(s, 1);
    log_info("job %lld: converting on convert[%d] (attempt %u)", (long long)j->row.id, s->idx,
             j->row.attempts);
    master_proc_send(s, PROTO_CONV_START, (uint64_t)j->row.id, &st, sizeof(st));
}

static int
dispatchable(const struct job *j, const struct obj *o, int64_t now)
{
    if (o->lease || o->rel[0] == '\0' || o->next_at > now)
        return 0;
    if (j->row.state == JOB_CANCELED)
        return o->state == OBJ_DELETING;
    if (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING)
        return 0;
    return o->state == OBJ_PENDING;
}

static int
start_upload(struct slot *s, int64_t now)
{
    for (struct job *j = jobs_head; j; j = j->next) {
        /* the cursor skips the published prefix of a long job */
        while (j->cursor < j->nobjs && j->objs[j->cursor].rel[0] &&
               j->objs[j->cursor].state == OBJ_UPLOADED)
            j->cursor++;
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            struct obj *o = &j->objs[i];
            if (!dispatchable(j, o, now))
                continue;
            char key[512], msg[CONFIG_PATH_MAX + 700];
            sched_object_key(&j->row, o->rel, key, sizeof(key));
            s->job = j;
            s->obj = o;
            s->lease_ms = now;
            o->lease = s;
            if (o->state == OBJ_DELETING) {
                s->obj_delete = 1;
                master_proc_lease(s, 1);
                master_proc_send(s, PROTO_UP_DELETE, (uint64_t)j->row.id, key, strlen(key));
                return 1;
            }
            s->obj_delete = 0;
            o->state = OBJ_UPLOADING;
            obj_save(j, o);
            int n = snprintf(msg, sizeof(msg), "%s/%lld/out/%s\n%s", M.cfg.daemon.spool_dir,
                             (long long)j->row.id, o->rel, key);
            master_proc_lease(s, 1);
            master_proc_send(s, PROTO_UP_PUT, (uint64_t)j->row.id, msg, (size_t)n);
            return 1;
        }
    }
    return 0;
}

void
sched_dispatch(void)
{
    int64_t now = master_now();

    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->state != SLOT_IDLE)
            continue;
        if (s->retire) {
            master_proc_term(s);
            continue;
        }
        if (s->role == ROLE_CONVERT && !M.stopping) {
            for (struct job *j = jobs_head; j; j = j->next) {
                if (j->row.state == JOB_QUEUED && j->conv == NULL) {
                    start_conversion(s, j);
                    break;
                }
            }
        } else if (s->role == ROLE_UPLOAD) {
            start_upload(s, now);
        }
    }
}

/* ---- timers ---- */

void
sched_timers(void)
{
    int64_t now = master_now();

    for (struct job *j = jobs_head; j; j = j->next) {
        struct slot *s = j->conv;
        if (s == NULL || s->pid <= 0 || s->reason[0])
            continue;
        if (now - j->last_progress > M.cfg.convert.stall_timeout_ms) {
            char why[160];
            snprintf(why, sizeof(why), "conversion stalled: no progress for %llds",
                     (long long)(M.cfg.convert.stall_timeout_ms / 1000));
            master_proc_kill(s, why);
        } else if (now - j->conv_started > M.cfg.convert.job_timeout_ms) {
            char why[160];
            snprintf(why, sizeof(why), "conversion exceeded job_timeout (%llds)",
                     (long long)(M.cfg.convert.job_timeout_ms / 1000));
            master_proc_kill(s, why);
        }
    }
}

int64_t
sched_next_timer(void)
{
    int64_t t = INT64_MAX, now = master_now();

    for (struct job *j = jobs_head; j; j = j->next) {
        if (j->conv) {
            int64_t a = j->last_progress + M.cfg.convert.stall_timeout_ms + 1;
            int64_t b = j->conv_started + M.cfg.convert.job_timeout_ms + 1;
            if (a < t)
                t = a;
            if (b < t)
                t = b;
        }
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            const struct obj *o = &j->objs[i];
            if ((o->state == OBJ_PENDING || o->state == OBJ_DELETING) && o->lease == NULL &&
                o->next_at > now && o->next_at != INT64_MAX && o->next_at < t)
                t = o->next_at;
        }
    }
    return t;
}

/* ---- worker deaths and shutdown ---- */

void
sched_on_child_exit(struct slot *s, int status, int we_stopped)
{
    struct job *j = s->job;

    if (j == NULL)
        return;
    if (s->role == ROLE_CONVERT && j->conv == s) {
        j->conv = NULL;
        if (j->row.state != JOB_CONVERTING || j->releasing) {
            if (j->releasing)
                job_requeue_released(j);
            job_settle(j);
            return;
        }
        char why[200];
        if (s->reason[0])
            snprintf(why, sizeof(why), "%s", s->reason);
        else if (WIFSIGNALED(status))
            snprintf(why, sizeof(why), "worker crashed (signal %d) on this input",
                     WTERMSIG(status));
        else
            snprintf(why, sizeof(why), "worker exited with code %d on this input",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        if (we_stopped) {
            if (j->row.attempts > 0)
                j->row.attempts--;
            job_transition(j->row.id, &j->row.state, JOB_QUEUED);
            job_save(j);
        } else if (j->row.attempts >= M.cfg.convert.max_attempts) {
            job_fail(j, "%s", why);
        } else {
            log_warn("job %lld: %s; attempt %u of %u, trying again", (long long)j->row.id, why,
                     j->row.attempts, M.cfg.convert.max_attempts);
            job_transition(j->row.id, &j->row.state, JOB_QUEUED);
            job_save(j);
        }
        return;
    }
    if (s->role == ROLE_UPLOAD && s->obj) {
        struct obj *o = s->obj;
        o->lease = NULL;
        if (s->obj_delete || j->row.state == JOB_CANCELED) {
            /* a delete, or a put of a canceled job, that died half-way: it
             * may have left (part of) the object: delete it (again) */
            o->state = OBJ_DELETING;
            o->next_at = master_now() + 200;
            if (s->obj_delete && ++o->attempts >= M.cfg.upload.max_attempts) {
                store_obj_delete(M.store, j->row.id, o->rel);
                o->state = OBJ_UPLOADED;
                o->rel[0] = '\0';
            } else {
                obj_save(j, o);
            }
            job_settle(j);
            return;
        }
        if (j->row.state == JOB_CONVERTING || j->row.state == JOB_UPLOADING) {
            if (!we_stopped)
                o->attempts++;
            if (o->attempts >= M.cfg.upload.max_attempts) {
                char key[512];
                sched_object_key(&j->row, o->rel, key, sizeof(key));
                job_fail(j, "upload of %s failed after %u attempts: upload worker died", key,
                         o->attempts);
                return;
            }
            o->state = OBJ_PENDING;
            o->next_at = 0;
            obj_save(j, o);
            if (j->cursor > (size_t)(o - j->objs))
                j->cursor = (size_t)(o - j->objs);
        } else {
            job_settle(j);
        }
    }
}

/* sched_shutdown_release - on stop: ask running conversions to let go; the
 * jobs go back to queued and resume at the next start */
void
sched_shutdown_release(void)
{
    for (struct job *j = jobs_head; j; j = j->next) {
        if (j->conv && j->row.state == JOB_CONVERTING && !j->releasing) {
            j->releasing = 1;
            stop_conversion(j);
        }
    }
}

/* ---- control requests ---- */

int
sched_submit(const char *token, const char *input, const char *ladder, double segment,
             const char *prefix, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct store_job row;

    if (M.stopping) {
        *code = "unavailable";
        snprintf(msg, msglen, "hlsd is shutting down: not accepting jobs");
        return -1;
    }
    if (sched_queued() >= M.cfg.daemon.max_queued) {
        *code = "queue_full";
        snprintf(msg, msglen, "queue full: %u jobs are waiting (max_queued)",
                 M.cfg.daemon.max_queued);
        return -1;
    }
    memset(&row, 0, sizeof(row));
    row.state = JOB_QUEUED;
    snprintf(row.input, sizeof(row.input), "%s", input);
    snprintf(row.prefix, sizeof(row.prefix), "%s", prefix ? prefix : "");
    snprintf(row.ladder, sizeof(row.ladder), "%s", ladder ? ladder : "");
    row.segment = segment;
    row.created_at = row.updated_at = master_wall();
    /* durable before the rename is visible, visible before the ack */
    master_durable();
    if (store_job_insert(M.store, &row) < 0) {
        *code = "internal";
        snprintf(msg, msglen, "job store: %s", store_errmsg(M.store));
        store_rollback(M.store);
        store_begin(M.store);
        return -1;
    }
    if (spool_adopt(M.cfg.daemon.spool_dir, token, row.id) < 0) {
        int e = errno;
        store_rollback(M.store);
        store_begin(M.store);
        *code = e == ENOENT ? "bad_request" : "internal";
        snprintf(msg, msglen, "spool: adopting the input: %s", strerror(e));
        return -1;
    }
    if (master_durable() < 0) {
        *code = "internal";
        snprintf(msg, msglen, "job store: commit failed");
        return -1;
    }
    job_new(&row);
    *out = row;
    log_info("job %lld: queued (%s)", (long long)row.id, row.input);
    return 0;
}

static int
load_obj(void *ud, const struct store_obj *so)
{
    struct job *j = ud;
    struct obj *o = obj_add(j, so->rel, kind_of(so->rel), so->size);

    o->state = so->state == OBJ_UPLOADING ? OBJ_PENDING : so->state;
    o->attempts = so->attempts;
    return 0;
}

/* job_load - a job from the store into memory with its ledger; the ledger
 * is written with every upload and the job row less often, so after a
 * crash the published-segment count comes from the ledger */
static struct job *
job_load(const struct store_job *row)
{
    struct job *j = job_new(row);

    store_obj_each(M.store, row->id, load_obj, j);
    j->row.segs_uploaded = 0;
    for (size_t i = 0; i < j->nobjs; i++)
        j->row.segs_uploaded += j->objs[i].kind == OBJ_SEGMENT && j->objs[i].state == OBJ_UPLOADED;
    return j;
}

int
sched_cancel(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct job *j = sched_find(id);
    struct store_job row;

    if (j == NULL) {
        if (store_job_get(M.store, id, &row) < 0) {
            *code = "not_found";
            snprintf(msg, msglen, "no job %lld", (long long)id);
            return -1;
        }
        if (row.state != JOB_FAILED) {
            *code = "conflict";
            snprintf(msg, msglen, "job %lld is %s: nothing to cancel", (long long)id,
                     job_state_name(row.state));
            return -1;
        }
        j = job_load(&row); /* a failed job: remove its input and objects */
    }
    if (job_state_terminal(j->row.state) && j->row.state != JOB_FAILED) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: nothing to cancel", (long long)id,
                 job_state_name(j->row.state));
        *out = j->row;
        return -1;
    }
    job_transition(id, &j->row.state, JOB_CANCELED);
    j->row.error[0] = '\0';
    stop_conversion(j);
    /* what was published comes down; what was not is forgotten */
    drop_pending(j);
    for (size_t i = 0; i < j->nobjs; i++) {
        struct obj *o = &j->objs[i];
        if (o->rel[0] && (o->state == OBJ_UPLOADED || o->state == OBJ_UPLOADING) &&
            o->lease == NULL) {
            o->state = OBJ_DELETING;
            o->attempts = 0;
            o->next_at = 0;
            obj_save(j, o);
        }
    }
    j->cursor = 0;
    job_save(j);
    log_info("job %lld: canceled", (long long)id);
    *out = j->row;
    job_settle(j);
    return 0;
}

int
sched_retry(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen)
{
    struct store_job row;
    struct job *j = sched_find(id);

    if (j == NULL && store_job_get(M.store, id, &row) < 0) {
        *code = "not_found";
        snprintf(msg, msglen, "no job %lld", (long long)id);
        return -1;
    }
    if (j)
        row = j->row;
    if (row.state != JOB_FAILED) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld is %s: only a failed job can be retried", (long long)id,
                 job_state_name(row.state));
        return -1;
    }
    char in[CONFIG_PATH_MAX + 64];
    spool_job_path(M.cfg.daemon.spool_dir, id, "input", in, sizeof(in));
    if (access(in, R_OK) < 0) {
        *code = "conflict";
        snprintf(msg, msglen, "job %lld: its input is no longer in the spool", (long long)id);
        return -1;
    }
    if (j == NULL) {
        j = job_load(&row);
    }
    /* a job still winding down (its worker letting go) is requeued in place:
     * the dispatcher waits for the old lease to end before starting it */
    job_transition(id, &j->row.state, JOB_QUEUED);
    j->row.attempts = 0;
    j->row.error[0] = '\0';
    j->row.progress = 0;
    job_save(j);
    log_info("job %lld: queued again (retry)", (long long)id);
    *out = j->row;
    return 0;
}

/* ---- start-up ---- */

static int
keep_spool(int64_t id)
{
    struct store_job row;

    if (sched_find(id))
        return 1;
    return store_job_get(M.store, id, &row) == 0 && row.state == JOB_FAILED;
}

static int
recover_one(void *ud, const struct store_job *row)
{
    (void)ud;
    if (row->state == JOB_DONE || row->state == JOB_FAILED)
        return 0;
    struct job *j = job_load(row);
    if (j->row.state == JOB_CONVERTING) {
        job_transition(j->row.id, &j->row.state, JOB_QUEUED);
        /* unsent segments are reported again by the new conversion */
        for (size_t i = 0; i < j->nobjs; i++)
            if (j->objs[i].state == OBJ_PENDING && j->objs[i].kind == OBJ_SEGMENT)
                j->objs[i].next_at = INT64_MAX;
        job_save(j);
    }
    return 0;
}

int
sched_recover(void)
{
    if (store_job_each(M.store, -1, 0, 0, recover_one, NULL) < 0)
        return -1;
    unsigned n = 0;
    struct job *next;
    for (struct job *j = jobs_head; j; j = next) {
        next = j->next;
        n++;
        if (j->row.state == JOB_CANCELED)
            job_settle(j); /* leaves memory unless deletions remain */
        else if (j->row.state == JOB_UPLOADING)
            maybe_queue_master(j);
    }
    if (spool_sweep(M.cfg.daemon.spool_dir, keep_spool) < 0)
        log_error("spool_sweep %s: %s", M.cfg.daemon.spool_dir, strerror(errno));
    if (n)
        log_info("recovered %u unfinished jobs", n);
    return 0;
}
