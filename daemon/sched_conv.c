/*
 * sched_conv.c - events from convert workers: segments, progress, the
 * outcome. A worker reports on its own lease only.
 */
#include "daemon/sched_int.h"

#include "daemon/job.h"
#include "daemon/log.h"
#include "daemon/spool.h"
#include "ipc/proto.h"
#include "workers/backoff.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- events from convert workers ---- */

int
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
struct job *
conv_lease(struct slot *s, uint64_t job)
{
    if (s->role != ROLE_CONVERT || s->job == NULL || (uint64_t)s->job->row.id != job) {
        master_proc_kill(s, "protocol: report about a job it does not hold");
        return NULL;
    }
    return s->job;
}

void
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

void
on_segment(struct slot *s, struct job *j, const struct proto_conv_segment *m)
{
    char rel[64];

    if (!rendition_ok(m->rendition, sizeof(m->rendition)) || m->index > 9999999 ||
        !isfinite(m->duration) || m->duration < 0) {
        master_proc_kill(s, "protocol: malformed segment report");
        return;
    }
    snprintf(rel, sizeof(rel), "%.16s/seg_%05u.ts", m->rendition, m->index);
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

void
on_conv_done(struct slot *s, struct job *j, const char *text)
{
    char buf[512], *save = NULL;
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
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (!rendition_ok(tok, 16)) {
            master_proc_kill(s, "protocol: malformed rendition name");
            return;
        }
        size_t n = strlen(j->row.renditions);
        snprintf(j->row.renditions + n, sizeof(j->row.renditions) - n, "%s%s", n ? " " : "", tok);
        char rel[64];
        snprintf(rel, sizeof(rel), "%s/index.m3u8", tok);
        /* a playlist is rewritten by every conversion: (re)send it */
        struct obj *o = obj_add(j, rel, OBJ_PLAYLIST, 0);
        o->state = OBJ_PENDING;
        obj_save(j, o);
    }
    j->row.conv_done = 1;
    j->conv_progress = 1.0;
    job_transition(j->row.id, &j->row.state, JOB_UPLOADING);
    job_save(j);
    log_info("job %lld: conversion done (%.1fs, %s)", (long long)j->row.id, dur, j->row.renditions);
    slot_release(s);
    maybe_queue_master(j);
}

void
printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < cap; i++)
        dst[k++] =
            (src[i] >= 0x20 && src[i] < 0x7f) || (unsigned char)src[i] >= 0x80 ? src[i] : ' ';
    dst[k] = '\0';
}

void
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

void
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
