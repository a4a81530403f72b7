/*
 * sched_fetch.c - inputs named by URL (https://, http://, s3://): a queued
 * job whose input is not in the spool yet is given to an idle upload
 * worker, which fetches it into <spool>/<id>/input (never the master, a
 * front or a convert worker). Until then the job stays queued and no
 * conversion starts; its progress is the bytes fetched so far.
 *
 * A retryable failure (a connection, a timeout, a 5xx) is tried again
 * with the uploads' back-off (workers/backoff.c, [upload] backoff_base and
 * backoff_max) up to [input] max_attempts; a permanent one (404, 403, an
 * input over max_input_size) fails the job at once with the worker's
 * message, which names the status and the URL without its query or
 * credentials. A fetch cut short (a worker death, a restart) starts over:
 * `fetched` is written only once the input is complete.
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"
#include "workers/backoff.h"
#include "workers/upworker.h"

#include <stdio.h>
#include <string.h>

int
sched_fetch_pending(const struct job *j)
{
    return j->row.input_url[0] != '\0' && !j->row.fetched;
}

static uint64_t
fetch_delay_ms(unsigned attempts, long retry_after_ms)
{
    struct backoff_config bc = {.base_ms = (uint64_t)SCHED_CFG->upload.backoff_base_ms,
                                .cap_ms = (uint64_t)SCHED_CFG->upload.backoff_max_ms,
                                .max_attempts = SCHED_CFG->input.max_attempts};
    return backoff_delay_ms(&bc, attempts, retry_after_ms, &S.rng);
}

static int
fetchable(const struct job *j, int64_t now)
{
    return j->row.state == JOB_QUEUED && sched_fetch_pending(j) && j->fetch == NULL &&
           j->conv == NULL && j->fetch_next_at <= now && !j->row.deleted;
}

int
sched_fetch_offer(int w, int64_t now)
{
    if (S.stopping)
        return 0;
    for (struct job *j = S.head; j; j = j->next) {
        if (!fetchable(j, now))
            continue;
        char msg[sizeof(j->row.input_url) + CONFIG_PATH_MAX + 64], shown[512];
        int n = snprintf(msg, sizeof(msg), "%llu\n%s\n%s/%lld/input",
                         (unsigned long long)SCHED_CFG->daemon.max_input_bytes, j->row.input_url,
                         SCHED_CFG->daemon.spool_dir, (long long)j->row.id);
        if (n < 0 || (size_t)n >= sizeof(msg)) {
            sched_job_fail(j, "the input URL is too long");
            continue;
        }
        j->fetch_done = j->fetch_total = 0;
        sched_lease_begin_fetch(w, j);
        url_redact(j->row.input_url, shown, sizeof(shown));
        log_info("job %lld: fetching %s on upload[%d] (attempt %u)", (long long)j->row.id, shown, w,
                 j->fetch_attempts + 1);
        sched_lease_send(j->fetch, PROTO_UP_FETCH, msg, (size_t)n);
        return 1;
    }
    return 0;
}

/* fetch_failed - attempt number fetch_attempts failed with text */
static void
fetch_failed(struct job *j, int permanent, long retry_after_ms, const char *text)
{
    j->fetch_attempts++;
    uint64_t delay =
        permanent ? BACKOFF_GIVE_UP : fetch_delay_ms(j->fetch_attempts, retry_after_ms);
    if (permanent) {
        sched_job_fail(j, "%s", text);
        return;
    }
    if (delay == BACKOFF_GIVE_UP || j->fetch_attempts >= SCHED_CFG->input.max_attempts) {
        sched_job_fail(j, "%s (gave up after %u attempts)", text, j->fetch_attempts);
        return;
    }
    j->fetch_next_at = S.env.now() + (int64_t)delay;
    log_info("job %lld: fetch attempt %u failed (%s); again in %llu ms", (long long)j->row.id,
             j->fetch_attempts, text, (unsigned long long)delay);
}

void
sched_fetch_result(struct lease *l, const void *body, size_t len)
{
    struct proto_up_result h;
    char text[600];

    if (sched_lease_up_result(l, body, len, &h, text, sizeof(text)) < 0)
        return;
    struct job *j = l->job;
    j->fetch = NULL;
    sched_lease_end(l);
    if (j->row.state != JOB_QUEUED) { /* canceled (or deleted) while it was fetched */
        sched_job_settle(j);
        return;
    }
    if (h.cls == PROTO_UP_OK) {
        j->row.fetched = 1;
        j->fetch_attempts = 0;
        sched_job_save(j);
        log_info("job %lld: input fetched (%llu bytes)", (long long)j->row.id,
                 (unsigned long long)j->fetch_done);
        return;
    }
    fetch_failed(j, h.cls == PROTO_UP_PERMANENT, (long)h.retry_after_ms,
                 text[0] ? text : "fetch failed");
}

void
sched_fetch_progress(struct lease *l, const void *body, size_t len)
{
    struct proto_up_progress p;

    if (len != sizeof(p) || !l->fetch) {
        sched_lease_kill(l, "protocol: progress without a fetch");
        return;
    }
    memcpy(&p, body, sizeof(p));
    l->job->fetch_done = p.done;
    l->job->fetch_total = p.total;
}

/* sched_fetch_exit - the worker fetching j died: the next attempt starts
 * over (a death we caused, at shutdown or retirement, is not counted) */
void
sched_fetch_exit(struct job *j, int we_stopped)
{
    char shown[512], why[600];

    j->fetch = NULL;
    if (j->row.state != JOB_QUEUED) {
        sched_job_settle(j);
        return;
    }
    if (we_stopped) {
        j->fetch_next_at = 0;
        return;
    }
    url_redact(j->row.input_url, shown, sizeof(shown));
    snprintf(why, sizeof(why), "fetching %s: the upload worker died", shown);
    fetch_failed(j, 0, -1, why);
}

int64_t
sched_fetch_next(int64_t now, int64_t t)
{
    for (struct job *j = S.head; j; j = j->next)
        if (j->row.state == JOB_QUEUED && sched_fetch_pending(j) && j->fetch == NULL &&
            j->fetch_next_at > now && j->fetch_next_at < t)
            t = j->fetch_next_at;
    return t;
}

int
sched_fetch_info(const struct store_job *row, uint64_t *done, uint64_t *total, unsigned *attempts)
{
    const struct job *j = sched_job_find(row->id);

    if (row->input_url[0] == '\0')
        return 0;
    *done = j ? j->fetch_done : 0;
    *total = j ? j->fetch_total : 0;
    *attempts = j ? j->fetch_attempts : 0;
    if (row->fetched && j && j->fetch_total == 0)
        *total = j->fetch_done;
    return 1;
}
