/*
 * sched_conv.c - events from convert workers: segments (each becomes a
 * pending object at once, so uploads run while the conversion goes on),
 * progress, and the outcome. A worker reports on its own lease only, with
 * well-formed values; anything else is a protocol violation and it is
 * killed.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/spool.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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

/* file_ok - a file beside the master playlist: NAME.jpg or NAME.vtt, NAME
 * as a rendition's, so never a path nor a playlist */
static int
file_ok(const char *r, size_t cap)
{
    char base[16];
    size_t n = strnlen(r, cap);

    if (n < 5 || n == cap || (strcmp(r + n - 4, ".jpg") != 0 && strcmp(r + n - 4, ".vtt") != 0))
        return 0;
    snprintf(base, sizeof(base), "%.*s", (int)(n - 4), r);
    return rendition_ok(base, sizeof(base));
}

static void
on_segment(struct lease *l, struct job *j, const struct proto_conv_segment *m)
{
    char rel[64];
    int file = m->kind == PROTO_SEG_FILE;

    if (!(file ? file_ok(m->rendition, sizeof(m->rendition))
               : rendition_ok(m->rendition, sizeof(m->rendition))) ||
        m->index > 9999999 || !isfinite(m->duration) || m->duration < 0 ||
        (m->kind != PROTO_SEG_TS && m->kind != PROTO_SEG_VTT && m->kind != PROTO_SEG_INIT &&
         m->kind != PROTO_SEG_M4S && !file) ||
        (m->kind == PROTO_SEG_INIT && m->index != 0)) {
        sched_lease_kill(l, "protocol: malformed segment report");
        return;
    }
    /* an init segment is reported before the rendition's first media
     * segment, so it is queued (and published) before them and long
     * before the playlists that name it, which come with the outcome */
    if (file)
        snprintf(rel, sizeof(rel), "%.16s", m->rendition);
    else if (m->kind == PROTO_SEG_INIT)
        snprintf(rel, sizeof(rel), "%.16s/init.mp4", m->rendition);
    else
        snprintf(rel, sizeof(rel), "%.16s/seg_%05u.%s", m->rendition, m->index,
                 m->kind == PROTO_SEG_VTT   ? "vtt"
                 : m->kind == PROTO_SEG_M4S ? "m4s"
                                            : "ts");
    /* init segments count: uploads count every segment object; files
     * beside the master playlist do not */
    if (!file) {
        /* counts never go back or pass the total across attempts: the
         * best attempt's count is the one shown */
        if (++j->attempt_segs > j->row.segs_done)
            j->row.segs_done = j->attempt_segs;
        metrics_segment_converted();
    }
    j->last_progress = S.env.now();
    if (j->row.state != JOB_CONVERTING)
        return; /* canceled or failed meanwhile: nothing to publish */
    struct obj *o = sched_obj_find(j, rel);
    if (o && o->state == OBJ_UPLOADED && o->size == (int64_t)m->size)
        return; /* published before a restart: not sent again */
    o = sched_obj_add(j, rel, (int64_t)m->size);
    o->size = (int64_t)m->size;
    o->next_at = 0;
    sched_obj_set(j, o, OBJ_PENDING, NULL);
}

static void
on_progress(struct lease *l, struct job *j, const struct proto_conv_progress *p)
{
    if (!isfinite(p->fraction) || p->fraction < 0 || p->fraction > 1.0001) {
        sched_lease_kill(l, "protocol: progress out of range");
        return;
    }
    double f = p->fraction > 1 ? 1 : p->fraction;
    if (f > j->conv_progress) /* an attempt after a crash catches up first */
        j->conv_progress = f;
    j->last_progress = S.env.now();
    if (S.env.now() - j->progress_saved >= 1000) {
        j->row.progress = j->conv_progress;
        sched_job_save(j);
    }
}

static void
on_done(struct lease *l, struct job *j, const char *text)
{
    char buf[1536], *save = NULL;
    double dur;

    snprintf(buf, sizeof(buf), "%s", text);
    /* "DURATION K:NAME ..." then, on a line of its own, what was left out */
    char *notes = strchr(buf, '\n');
    if (notes != NULL)
        *notes++ = '\0';
    char *tok = strtok_r(buf, " ", &save);
    if (tok == NULL || sscanf(tok, "%lf", &dur) != 1 || !isfinite(dur) || dur < 0) {
        sched_lease_kill(l, "protocol: malformed conversion result");
        return;
    }
    j->conv = NULL;
    S.stats.conversions_done++;
    metrics_conversion(dur, S.env.now() - j->conv_started);
    if (j->row.state != JOB_CONVERTING) {
        sched_lease_end(l);
        sched_job_settle(j);
        return;
    }
    j->row.duration = dur;
    j->row.renditions[0] = '\0';
    /* "K:NAME": every rendition has index.m3u8, a video one iframes.m3u8 too */
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (strlen(tok) < 3 || tok[1] != ':' || strchr("vas", tok[0]) == NULL ||
            !rendition_ok(tok + 2, 16)) {
            sched_lease_kill(l, "protocol: malformed rendition name");
            return;
        }
        size_t n = strlen(j->row.renditions);
        if (n + 1 + strlen(tok + 2) < sizeof(j->row.renditions)) /* whole names only */
            snprintf(j->row.renditions + n, sizeof(j->row.renditions) - n, "%s%s", n ? " " : "",
                     tok + 2);
        static const char *const lists[] = {"index.m3u8", "iframes.m3u8"};
        for (int k = 0; k < (tok[0] == 'v' ? 2 : 1); k++) {
            char rel[64];
            snprintf(rel, sizeof(rel), "%s/%s", tok + 2, lists[k]);
            /* a playlist is rewritten by every conversion: (re)send it */
            struct obj *o = sched_obj_add(j, rel, 0);
            sched_obj_set(j, o, OBJ_PENDING, NULL);
        }
    }
    sched_printable(j->row.notes, sizeof(j->row.notes), notes ? notes : "",
                    notes ? strlen(notes) : 0);
    j->row.conv_done = 1;
    j->conv_progress = 1.0;
    job_transition(j->row.id, &j->row.state, JOB_UPLOADING);
    sched_job_save(j);
    log_info("job %lld: conversion done (%.1fs, %s)", (long long)j->row.id, dur, j->row.renditions);
    sched_lease_end(l);
    sched_job_queue_master(j);
}

/* replace - every from in buf by to, within cap */
static void
replace(char *buf, size_t cap, const char *from, const char *to)
{
    char out[1024];
    size_t o = 0, nf = strlen(from), nt = strlen(to);
    const char *p = buf;

    if (nf == 0)
        return;
    for (const char *hit; (hit = strstr(p, from)) != NULL; p = hit + nf) {
        size_t pre = (size_t)(hit - p);
        if (o + pre + nt >= sizeof(out))
            break;
        memcpy(out + o, p, pre);
        memcpy(out + o + pre, to, nt);
        o += pre + nt;
    }
    snprintf(out + o, sizeof(out) - o, "%s", p);
    size_t n = strlen(out) < cap ? strlen(out) : cap - 1;
    memcpy(buf, out, n);
    buf[n] = '\0';
}

/* user_names - a conversion error names the job's files by the spool paths
 * the worker used; the user knows the input by the name it submitted, and
 * the rest by their place in the job's output */
static void
user_names(const struct job *j, char *why, size_t cap)
{
    char path[CONFIG_PATH_MAX + 64];

    spool_job_path(SCHED_CFG->daemon.spool_dir, j->row.id, "input", path, sizeof(path));
    replace(why, cap, path, j->row.input);
    spool_job_path(SCHED_CFG->daemon.spool_dir, j->row.id, "out/", path, sizeof(path));
    replace(why, cap, path, "");
}

static void
on_failed(struct lease *l, struct job *j, const char *text, size_t len)
{
    char why[400];

    sched_printable(why, sizeof(why), text, len);
    user_names(j, why, sizeof(why));
    j->conv = NULL;
    sched_lease_end(l);
    if (j->releasing) {
        sched_job_requeue(j, 1);
        return;
    }
    if (j->row.state == JOB_CONVERTING)
        sched_job_fail(j, "%s", why[0] ? why : "conversion failed");
    else
        sched_job_settle(j);
}

static void
on_canceled(struct lease *l, struct job *j)
{
    j->conv = NULL;
    sched_lease_end(l);
    if (j->releasing) {
        sched_job_requeue(j, 0);
        return;
    }
    sched_job_settle(j);
}

/* sched_conv_message - a convert worker's report on the job it holds */
void
sched_conv_message(struct lease *l, uint16_t type, const void *body, size_t len)
{
    struct job *j = l->job;

    switch (type) {
    case PROTO_CONV_SEGMENT: {
        struct proto_conv_segment m;
        memcpy(&m, body, sizeof(m));
        on_segment(l, j, &m);
        break;
    }
    case PROTO_CONV_PROGRESS: {
        struct proto_conv_progress p;
        memcpy(&p, body, sizeof(p));
        on_progress(l, j, &p);
        break;
    }
    case PROTO_CONV_DONE:
        on_done(l, j, (const char *)body);
        break;
    case PROTO_CONV_FAILED:
        on_failed(l, j, body, len);
        break;
    case PROTO_CONV_CANCELED:
        on_canceled(l, j);
        break;
    default:
        sched_lease_kill(l, "protocol: unexpected record type");
        break;
    }
}
