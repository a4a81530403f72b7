/*
 * sched_upload.c - results from upload workers: an object published, to
 * be retried with back-off (workers/backoff.c: exponential, equal jitter,
 * cap, Retry-After honoured; the master never sleeps for it), or a failure
 * that fails the job. Deletions of a canceled job's objects are retried
 * the same way and given up after max_attempts.
 *
 * Outages: a retryable error (network, 5xx, throttling) is retried for a
 * time, [upload] give_up_after (1 h), not a number of attempts, so an S3
 * outage shorter than that costs time, not jobs. While objects wait, one
 * of them is let go early every SCHED_PROBE_MS (a probe; never before a
 * Retry-After), and the first success lets every waiting object go at
 * once: uploads resume within seconds of the storage coming back instead
 * of after the back-off. A permanent error (403, a missing bucket, a bad
 * signature) still fails the job at once.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "daemon/metrics.h"
#include "workers/backoff.h"

#include <stdio.h>
#include <string.h>

static uint64_t
delay_ms(unsigned attempts, uint64_t retry_after_ms)
{
    /* no count: put_failed gives up by time (give_up_after) */
    struct backoff_config bc = {.base_ms = (uint64_t)SCHED_CFG->upload.backoff_base_ms,
                                .cap_ms = (uint64_t)SCHED_CFG->upload.backoff_max_ms,
                                .max_attempts = UINT32_MAX};
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

/* storage_back - an upload succeeded: the storage answers again, so every
 * object waiting out a back-off goes now */
static void
storage_back(int64_t now)
{
    for (struct job *j = S.head; j; j = j->next) {
        int waiting = 0;
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            struct obj *o = &j->objs[i];
            if (o->failing_since && o->state == OBJ_PENDING && o->lease == NULL &&
                o->next_at > now && o->next_at != INT64_MAX) {
                o->next_at = now;
                sched_obj_rewind(j, o);
                waiting = 1;
            }
        }
        if (waiting)
            j->up_retry_at = now;
    }
    S.next_probe = now;
}

void
sched_upload_probe(int64_t now)
{
    if (now < S.next_probe)
        return;
    for (struct job *j = S.head; j; j = j->next) {
        if (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING)
            continue;
        for (size_t i = j->cursor; i < j->nobjs; i++) {
            struct obj *o = &j->objs[i];
            if (o->failing_since && o->state == OBJ_PENDING && o->lease == NULL &&
                o->next_at > now && o->next_at != INT64_MAX) {
                o->next_at = now;
                S.next_probe = now + SCHED_PROBE_MS;
                return;
            }
        }
    }
}

int
sched_upload_retrying(int64_t id, char *err, size_t cap, int64_t *next_wall)
{
    const struct job *j = sched_job_find(id);

    if (j == NULL || j->up_error[0] == '\0' ||
        (j->row.state != JOB_CONVERTING && j->row.state != JOB_UPLOADING))
        return 0;
    int64_t now = S.env.now(), at = j->up_retry_at;
    if (S.next_probe < at) /* a probe may come first */
        at = S.next_probe;
    snprintf(err, cap, "%s", j->up_error);
    *next_wall = S.env.wall() + (at > now ? at - now : 0);
    return 1;
}

static void
put_ok(struct job *j, struct obj *o, const char *etag)
{
    int64_t now = S.env.now();
    int was_failing = o->failing_since != 0;

    o->failing_since = 0;
    j->up_error[0] = '\0';
    sched_obj_set(j, o, OBJ_UPLOADED, etag);
    if (was_failing || S.next_probe > now)
        storage_back(now);
    S.stats.bytes_uploaded += (uint64_t)(o->size > 0 ? o->size : 0);
    metrics_bytes_uploaded((uint64_t)(o->size > 0 ? o->size : 0));
    if (o->kind == OBJ_SEGMENT) {
        /* a segment sent again (a new conversion made it anew) is still one */
        if (!o->counted)
            j->row.segs_uploaded++;
        o->counted = 1;
        S.stats.segments_uploaded++;
        metrics_segment_uploaded((uint64_t)(o->size > 0 ? o->size : 0));
    }
    if (sched_taking_down(j)) {
        /* uploaded after the cancel (or the failure): take it down again */
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
    int64_t now = S.env.now();
    if (o->failing_since == 0)
        o->failing_since = now;
    if (now - o->failing_since >= SCHED_CFG->upload.give_up_after_ms) {
        sched_job_fail(j,
                       "upload of %s failed: retried for %lld s (%u attempts, give_up_after): %s",
                       key, (long long)((now - o->failing_since) / 1000), o->attempts,
                       text[0] ? text : "retryable error");
        return;
    }
    uint64_t delay = delay_ms(o->attempts, h->retry_after_ms);
    if (delay == BACKOFF_GIVE_UP)
        delay = (uint64_t)SCHED_CFG->upload.backoff_max_ms;
    o->next_at = now + (int64_t)delay;
    /* never beyond the budget: the last retry is made at its end */
    if (o->next_at > o->failing_since + SCHED_CFG->upload.give_up_after_ms)
        o->next_at = o->failing_since + SCHED_CFG->upload.give_up_after_ms;
    if (h->retry_after_ms > 0 && now + h->retry_after_ms > S.next_probe)
        S.next_probe = now + h->retry_after_ms; /* the server asked for quiet */
    else if (S.next_probe <= now)
        S.next_probe = now + SCHED_PROBE_MS;
    /* the error first: a long key must not push it out */
    int n =
        snprintf(j->up_error, sizeof(j->up_error), "%.150s", text[0] ? text : "retryable error");
    if (n > 0 && (size_t)n < sizeof(j->up_error))
        snprintf(j->up_error + n, sizeof(j->up_error) - (size_t)n, " (%.*s)",
                 (int)(sizeof(j->up_error) - (size_t)n - 4), o->rel);
    j->up_retry_at = o->next_at;
    metrics_upload_retry(h->http_status);
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

    if (sched_lease_up_result(l, body, len, &h, text, sizeof(text)) < 0)
        return;
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
