/*
 * sched_notify.c - webhooks: when a job ends (done, failed, canceled) and
 * it names a notify URL (or [notify] url gives one), a delivery row is
 * written in the same transaction as the job's final state, holding the
 * job object as it was then. An idle upload worker POSTs it (signed, see
 * workers/upworker_notify.c); a failure is tried again with the uploads'
 * back-off until a 2xx or [notify] max_attempts. Pending rows are read
 * back at start, so a restart or a worker that dies delivers them all the
 * same: at least once (a receiver deduplicates by the job id and state).
 *
 * The master never speaks HTTP: it only keeps the list and the clock.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "workers/backoff.h"
#include "workers/upworker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
notify_delay_ms(unsigned attempts, long retry_after_ms)
{
    struct backoff_config bc = {.base_ms = (uint64_t)SCHED_CFG->upload.backoff_base_ms,
                                .cap_ms = (uint64_t)SCHED_CFG->upload.backoff_max_ms,
                                .max_attempts = SCHED_CFG->notify.max_attempts};
    return backoff_delay_ms(&bc, attempts, retry_after_ms, &S.rng);
}

static void
dlv_append(struct dlv *d)
{
    struct dlv **pp = &S.dlvs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = d;
}

static void
dlv_free(struct dlv *d)
{
    struct dlv **pp = &S.dlvs;
    while (*pp && *pp != d)
        pp = &(*pp)->next;
    if (*pp == NULL)
        log_panic("delivery %lld not in the list", (long long)d->row.id);
    *pp = d->next;
    free(d->row.body);
    free(d);
}

static void
dlv_save(struct dlv *d)
{
    if (store_dlv_update(S.env.store, &d->row) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
}

void
sched_notify_ended(struct job *j)
{
    const char *url = j->row.notify_url[0] ? j->row.notify_url : SCHED_CFG->notify.url;

    if (url[0] == '\0')
        return;
    struct dlv *d = calloc(1, sizeof(*d));
    if (d == NULL)
        log_fatal(EXIT_ENV, "out of memory for a webhook");
    d->row.job = j->row.id;
    snprintf(d->row.url, sizeof(d->row.url), "%s", url);
    d->row.body = S.env.job_text ? S.env.job_text(&j->row) : NULL;
    if (d->row.body == NULL) {
        char min[128];
        snprintf(min, sizeof(min), "{\"id\":%lld,\"state\":\"%s\"}", (long long)j->row.id,
                 job_state_name(j->row.state));
        d->row.body = strdup(min);
        if (d->row.body == NULL)
            log_fatal(EXIT_ENV, "out of memory for a webhook");
    }
    d->row.state = STORE_DLV_PENDING;
    d->row.created_at = S.env.wall();
    if (store_dlv_insert(S.env.store, &d->row) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    d->fresh = 1;
    dlv_append(d);
}

void
sched_notify_resync(void)
{
    for (struct dlv *d = S.dlvs; d; d = d->next)
        if (d->fresh && store_dlv_insert(S.env.store, &d->row) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
}

void
sched_notify_committed(void)
{
    for (struct dlv *d = S.dlvs; d; d = d->next)
        d->fresh = 0;
}

static int
recover_one(void *ud, struct store_dlv *row)
{
    struct dlv *d = calloc(1, sizeof(*d));

    (void)ud;
    if (d == NULL) {
        free(row->body);
        errno = ENOMEM;
        return 1;
    }
    d->row = *row;
    dlv_append(d);
    return 0;
}

int
sched_notify_recover(void)
{
    if (store_dlv_each_pending(S.env.store, recover_one, NULL) < 0)
        return -1;
    unsigned n = 0;
    for (struct dlv *d = S.dlvs; d; d = d->next)
        n++;
    if (n)
        log_info("%u webhook%s to deliver", n, n == 1 ? "" : "s");
    return 0;
}

void
sched_notify_fini(void)
{
    while (S.dlvs) {
        struct dlv *d = S.dlvs;
        S.dlvs = d->next;
        free(d->row.body);
        free(d);
    }
}

int
sched_notify_offer(int w, int64_t now)
{
    for (struct dlv *d = S.dlvs; d; d = d->next) {
        if (d->lease || d->next_at > now)
            continue;
        size_t ul = strlen(d->row.url), bl = strlen(d->row.body);
        char *msg = malloc(ul + 1 + bl);
        if (msg == NULL)
            return 0;
        memcpy(msg, d->row.url, ul);
        msg[ul] = '\n';
        memcpy(msg + ul + 1, d->row.body, bl);
        sched_lease_begin_dlv(w, d);
        sched_lease_send(d->lease, PROTO_UP_NOTIFY, msg, ul + 1 + bl);
        free(msg);
        return 1;
    }
    return 0;
}

/* notify_failed - attempt d->row.attempts failed */
static void
notify_failed(struct dlv *d, long retry_after_ms, const char *text)
{
    char shown[512];

    url_redact(d->row.url, shown, sizeof(shown));
    uint64_t delay = notify_delay_ms(d->row.attempts, retry_after_ms);
    if (delay == BACKOFF_GIVE_UP || d->row.attempts >= SCHED_CFG->notify.max_attempts) {
        log_error("job %lld: webhook to %s given up after %u attempts: %s", (long long)d->row.job,
                  shown, d->row.attempts, text);
        d->row.state = STORE_DLV_GAVE_UP;
        dlv_save(d);
        dlv_free(d);
        return;
    }
    dlv_save(d);
    d->next_at = S.env.now() + (int64_t)delay;
    log_info("job %lld: webhook attempt %u failed (%s); again in %llu ms", (long long)d->row.job,
             d->row.attempts, text, (unsigned long long)delay);
}

void
sched_notify_result(struct lease *l, const void *body, size_t len)
{
    struct proto_up_result h;
    char text[600];

    if (sched_lease_up_result(l, body, len, &h, text, sizeof(text)) < 0)
        return;
    struct dlv *d = l->dlv;
    d->lease = NULL;
    sched_lease_end(l);
    d->row.attempts++;
    if (h.cls == PROTO_UP_OK) {
        d->row.state = STORE_DLV_DELIVERED;
        dlv_save(d);
        log_info("job %lld: webhook delivered (HTTP %d, attempt %u)", (long long)d->row.job,
                 (int)h.http_status, d->row.attempts);
        dlv_free(d);
        return;
    }
    notify_failed(d, (long)h.retry_after_ms, text[0] ? text : "webhook failed");
}

void
sched_notify_exit(struct dlv *d, int we_stopped)
{
    d->lease = NULL;
    if (we_stopped)
        return;
    d->row.attempts++;
    notify_failed(d, -1, "the upload worker died");
}

int64_t
sched_notify_next(int64_t now, int64_t t)
{
    for (struct dlv *d = S.dlvs; d; d = d->next)
        if (d->lease == NULL && d->next_at > now && d->next_at < t)
            t = d->next_at;
    return t;
}
