/*
 * sched_upload.c - results from upload workers: published, retried with
 * back-off (workers/backoff.c; the master never sleeps for it), or failed.
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

/* ---- events from upload workers ---- */

void
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
