/*
 * sched_upload.c - results from upload workers: an object published, to
 * be retried with back-off (workers/backoff.c: exponential, equal jitter,
 * cap, Retry-After honoured; the master never sleeps for it), or a failure
 * that fails the job. Deletions of a canceled job's objects are retried
 * the same way and given up after max_attempts.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "workers/backoff.h"

#include <stdio.h>
#include <string.h>

static uint64_t
delay_ms(unsigned attempts, uint64_t retry_after_ms)
{
    struct backoff_config bc = {.base_ms = (uint64_t)SCHED_CFG->upload.backoff_base_ms,
                                .cap_ms = (uint64_t)SCHED_CFG->upload.backoff_max_ms,
                                .max_attempts = SCHED_CFG->upload.max_attempts};
    return backoff_delay_ms(&bc, attempts, retry_after_ms, &S.rng);
}

static void
delete_result(struct job *j, struct obj *o, const struct proto_up_result *h, const char *key,
              const char *text)
{
    if (h->cls == PROTO_UP_RETRYABLE && ++o->attempts < SCHED_CFG->upload.max_attempts) {
        o->next_at = S.env.now() + (int64_t)delay_ms(o->attempts, h->retry_after_ms);
        return;
    }
    if (h->cls != PROTO_UP_OK)
        log_error("job %lld: could not delete %s: %s", (long long)j->row.id, key, text);
    sched_obj_set(j, o, OBJ_UNWANTED, NULL);
    sched_job_settle(j);
}

static void
put_ok(struct job *j, struct obj *o, const char *etag)
{
    sched_obj_set(j, o, OBJ_UPLOADED, etag);
    S.stats.bytes_uploaded += (uint64_t)(o->size > 0 ? o->size : 0);
    if (o->kind == OBJ_SEGMENT) {
        /* a segment sent again (a new conversion made it anew) is still one */
        if (!o->counted)
            j->row.segs_uploaded++;
        o->counted = 1;
        S.stats.segments_uploaded++;
    }
    if (j->row.state == JOB_CANCELED) {
        /* uploaded after the cancel: take it down again */
        o->attempts = 0;
        o->next_at = 0;
        sched_obj_set(j, o, OBJ_DELETING, NULL);
        return;
    }
    if (sched_job_settle_unwanted(j, o)) /* o is uploaded: only j's state counts */
        return;
    if (o->kind == OBJ_MASTER) {
        sched_job_done(j);
        return;
    }
    sched_job_queue_master(j);
}

static void
put_failed(struct job *j, struct obj *o, const struct proto_up_result *h, const char *key,
           const char *text)
{
    S.stats.upload_failures++;
    o->attempts++;
    if (j->row.state == JOB_CANCELED) {
        sched_obj_set(j, o, OBJ_UNWANTED, NULL);
        sched_job_settle(j);
        return;
    }
    if (sched_job_settle_unwanted(j, o))
        return;
    if (h->cls == PROTO_UP_PERMANENT) {
        sched_job_fail(j, "upload of %s failed: %s", key, text[0] ? text : "permanent error");
        return;
    }
    uint64_t delay = delay_ms(o->attempts, h->retry_after_ms);
    if (delay == BACKOFF_GIVE_UP || o->attempts >= SCHED_CFG->upload.max_attempts) {
        sched_job_fail(j, "upload of %s failed after %u attempts: %s", key, o->attempts,
                       text[0] ? text : "retryable error");
        return;
    }
    o->next_at = S.env.now() + (int64_t)delay;
    sched_obj_set(j, o, OBJ_PENDING, NULL);
    log_info("job %lld: %s: retry %u in %llu ms (%s)", (long long)j->row.id, key, o->attempts + 1,
             (unsigned long long)delay, text);
    sched_obj_rewind(j, o);
}

/* sched_upload_result - the result of the lease l, checked */
void
sched_upload_result(struct lease *l, const void *body, size_t len)
{
    struct proto_up_result h;
    char text[600], key[512];

    if (len < sizeof(h)) {
        sched_lease_kill(l, "protocol: upload result without a matching lease");
        return;
    }
    memcpy(&h, body, sizeof(h));
    h.etag[sizeof(h.etag) - 1] = '\0';
    sched_printable(text, sizeof(text), (const char *)body + sizeof(h), len - sizeof(h));
    if (h.cls > PROTO_UP_PERMANENT) {
        sched_lease_kill(l, "protocol: unknown result class");
        return;
    }
    struct job *j = l->job;
    struct obj *o = l->obj;
    int was_delete = l->del;
    o->lease = NULL;
    sched_lease_end(l);
    sched_url_key(&j->row, o->rel, key, sizeof(key));
    if (was_delete)
        delete_result(j, o, &h, key, text);
    else if (h.cls == PROTO_UP_OK)
        put_ok(j, o, h.etag);
    else
        put_failed(j, o, &h, key, text);
}
