/*
 * sched_timer.c - what happens with time: stalled or overlong conversions
 * are killed, store leases are renewed, cancels made elsewhere (by another
 * host sharing the store) are picked up, and the loop learns when it must
 * wake next (stall and job timeouts, upload back-off).
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SYNC_EVERY_MS 5000 /* how often cancels made elsewhere are looked for */

static void
kill_stalled(int64_t now)
{
    for (struct job *j = S.head; j; j = j->next) {
        char why[160];
        if (j->conv == NULL)
            continue;
        if (now - j->last_progress > SCHED_CFG->convert.stall_timeout_ms) {
            snprintf(why, sizeof(why), "conversion stalled: no progress for %llds",
                     (long long)(SCHED_CFG->convert.stall_timeout_ms / 1000));
            sched_lease_kill(j->conv, why);
        } else if (now - j->conv_started > SCHED_CFG->convert.job_timeout_ms) {
            snprintf(why, sizeof(why), "conversion exceeded job_timeout (%llds)",
                     (long long)(SCHED_CFG->convert.job_timeout_ms / 1000));
            sched_lease_kill(j->conv, why);
        }
    }
}

/* renew_leases - the heartbeat of this host's store leases; a lease that
 * another host took over (ESTALE) means the job is no longer ours: its
 * conversion is let go and it waits in the queue like any other */
static void
renew_leases(int64_t now)
{
    for (struct job *j = S.head; j; j = j->next) {
        if (j->slease.job == 0 || now - j->slease_renewed < SCHED_LEASE_RENEW_MS)
            continue;
        if (store_lease_renew(S.env.store, &j->slease, S.env.wall(), SCHED_LEASE_TTL_MS) == 0) {
            j->slease_renewed = now;
            continue;
        }
        if (errno != ESTALE)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
        log_warn("job %lld: its lease was taken over by another host", (long long)j->row.id);
        memset(&j->slease, 0, sizeof(j->slease));
        if (j->conv && j->row.state == JOB_CONVERTING && !j->releasing) {
            j->releasing = 1;
            sched_job_stop_conversion(j);
        }
    }
}

static int
canceled_elsewhere(void *ud, const struct store_job *row)
{
    struct job *j = sched_job_find(row->id);

    (void)ud;
    if (j && j->row.state != JOB_CANCELED && job_state_legal(j->row.state, JOB_CANCELED)) {
        log_info("job %lld: canceled elsewhere", (long long)row->id);
        sched_cancel_job(j);
    }
    return 0;
}

/* sync_cancels - jobs canceled in the store by someone else since the last
 * look (with one host, the master itself is the only writer and this finds
 * nothing new) */
static void
sync_cancels(int64_t now)
{
    if (now < S.next_sync)
        return;
    S.next_sync = now + SYNC_EVERY_MS;
    int64_t wall = S.env.wall();
    if (store_job_canceled_since(S.env.store, S.synced_wall, canceled_elsewhere, NULL) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
    S.synced_wall = wall;
}

void
sched_timers(void)
{
    int64_t now = S.env.now();

    kill_stalled(now);
    renew_leases(now);
    sync_cancels(now);
    sched_retain(now);
}

int64_t
sched_next_timer(void)
{
    int64_t t = INT64_MAX, now = S.env.now();

    for (struct job *j = S.head; j; j = j->next) {
        if (j->conv) {
            int64_t a = j->last_progress + SCHED_CFG->convert.stall_timeout_ms + 1;
            int64_t b = j->conv_started + SCHED_CFG->convert.job_timeout_ms + 1;
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
            /* an outage: the next probe (sched_upload_probe) */
            if (o->failing_since && o->state == OBJ_PENDING && o->lease == NULL &&
                o->next_at > now && o->next_at != INT64_MAX && S.next_probe < t)
                t = S.next_probe > now ? S.next_probe : now + 1;
        }
    }
    t = sched_fetch_next(now, t);
    return sched_notify_next(now, t);
}
