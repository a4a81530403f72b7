/*
 * sched_int.h - the scheduler's state and its files among themselves.
 * Nothing outside daemon/sched*.c includes this.
 */
#ifndef HLSD_DAEMON_SCHED_INT_H
#define HLSD_DAEMON_SCHED_INT_H

#include "daemon/sched.h"
#include "ipc/proto.h"

/* OBJ_FILE: beside the master playlist (poster.jpg, storyboard.vtt,
 * sprites_N.jpg); published before it, not counted as a segment */
enum obj_kind { OBJ_SEGMENT, OBJ_PLAYLIST, OBJ_MASTER, OBJ_FILE };

struct lease;

struct obj {
    char rel[128];
    enum obj_state state; /* moved only by sched_obj_set */
    enum obj_kind kind;
    unsigned attempts;
    int64_t next_at; /* monotonic ms: not before */
    int64_t size;
    struct lease *lease;
    int counted;           /* a published segment already in segs_uploaded */
    int64_t failing_since; /* monotonic ms of its first retryable error in a row; 0 none */
};

/* An active job: queued, converting, uploading, or ended with work left
 * (a canceled job's deletions, leases still out). */
struct job {
    struct store_job row;
    struct job *next;
    struct lease *conv; /* the convert worker holding it */
    struct obj *objs;
    size_t nobjs, cap;
    size_t cursor; /* objects before it are not pending: dispatch starts here */
    int64_t conv_started, last_progress, progress_saved;
    double conv_progress;
    int releasing; /* shutdown: back to queued once the worker lets go */
    /* deaths of its conversions (in memory: a restarted master starts
     * again at nothing): crashes that blame the input (fault signals, the
     * OOM killer, our kills for a stall or a timeout) count toward
     * max_attempts, kills from outside toward max_kills */
    unsigned crashes, kills;
    unsigned attempt_segs;     /* segments this attempt reported */
    unsigned crash_places[8];  /* attempt_segs at each crash (the first 8) */
    struct store_lease slease; /* the store's lease while converting */
    char up_error[200];        /* the last retryable upload error while one waits ("" none) */
    int64_t up_retry_at;       /* monotonic ms of its next retry */
    int64_t slease_renewed;
    /* an input by URL, until it is in the spool (sched_fetch.c) */
    struct lease *fetch; /* the upload worker fetching it */
    unsigned fetch_attempts;
    int64_t fetch_next_at; /* monotonic ms: not before */
    uint64_t fetch_done, fetch_total;
};

/* a webhook to deliver (sched_notify.c): pending in the store until a 2xx
 * or max_attempts */
struct dlv {
    struct store_dlv row;
    struct dlv *next;
    int64_t next_at; /* monotonic ms: not before */
    struct lease *lease;
    int fresh; /* inserted since the last commit: a lost commit inserts it again */
};

/* what one worker holds: a conversion (job) or one object (obj of job) */
struct lease {
    struct job *job;
    struct obj *obj;
    int del;         /* the lease is a DELETE, not a PUT */
    int fetch;       /* the lease fetches job's input (obj NULL) */
    struct dlv *dlv; /* the lease POSTs this webhook (job NULL) */
    int64_t since;
};

struct sched {
    struct sched_env env;
    struct job *head, *tail; /* active jobs in id order */
    struct lease leases[SCHED_MAX_WORKERS];
    int stopping;
    uint64_t rng;
    struct sched_stats stats;
    int64_t synced_wall; /* cancels made elsewhere are read from here on */
    int64_t next_sync;
    int64_t next_retain; /* the next look for failed inputs to remove */
    struct dlv *dlvs;    /* pending webhooks, oldest first */
    int64_t next_probe;  /* during an outage: the next waiting upload let go early */
    int store_full;      /* the store's disk is full: no admission */
    /* rows of jobs that left memory since the last commit (sched_resync) */
    struct store_job *settled;
    size_t nsettled, capsettled;
};

extern struct sched S;

#define SCHED_CFG (S.env.cfg)

/* a store lease lasts this long unless renewed, and is renewed at a third
 * of that (sched_dispatch.c takes it, sched_timer.c renews it) */
#define SCHED_LEASE_TTL_MS   30000
#define SCHED_LEASE_RENEW_MS 10000

/* sched_lease.c: the lease table */
struct lease *sched_lease_at(int w);
int sched_lease_id(const struct lease *l);
void sched_lease_begin(int w, struct job *j, struct obj *o, int del);
void sched_lease_end(struct lease *l);
void sched_lease_kill(const struct lease *l, const char *why);
/* sched_lease_up_result - an upload worker's PROTO_UP_RESULT for lease l
 * (a put, a delete, a fetch or a webhook), checked: the header into *h,
 * the error text into text; -1 when it breaks the protocol (the worker is
 * killed then, and nothing more is to be done with l) */
int sched_lease_up_result(struct lease *l, const void *body, size_t len, struct proto_up_result *h,
                          char *text, size_t cap);
int sched_lease_send(const struct lease *l, uint16_t type, const void *body, size_t len);

/* sched_lease_begin_fetch - w fetches j's input; sched_lease_begin_dlv -
 * w delivers d */
void sched_lease_begin_fetch(int w, struct job *j);
void sched_lease_begin_dlv(int w, struct dlv *d);

/* sched_fetch.c: inputs named by URL */
int sched_fetch_pending(const struct job *j); /* 1 while j's input is not in the spool */
int sched_fetch_offer(int w, int64_t now);
void sched_fetch_result(struct lease *l, const void *body, size_t len);
void sched_fetch_progress(struct lease *l, const void *body, size_t len);
void sched_fetch_exit(struct job *j, int we_stopped);
int64_t sched_fetch_next(int64_t now, int64_t t);

/* sched_notify.c: webhooks */
void sched_notify_ended(struct job *j); /* j reached done, failed or canceled */
int sched_notify_recover(void);
int sched_notify_offer(int w, int64_t now);
void sched_notify_result(struct lease *l, const void *body, size_t len);
void sched_notify_exit(struct dlv *d, int we_stopped);
int64_t sched_notify_next(int64_t now, int64_t t);
void sched_notify_fini(void);
/* sched_notify_resync - insert again the deliveries a lost commit held;
 * sched_notify_committed - they are durable now */
void sched_notify_resync(void);
void sched_notify_committed(void);

/* sched_retain.c: failed inputs past keep_failed_inputs */
void sched_retain(int64_t now);

/* sched_job.c */
struct job *sched_job_find(int64_t id);
struct job *sched_job_new(const struct store_job *row);
struct job *sched_job_load(const struct store_job *row);
void sched_job_save(struct job *j);
void sched_job_requeue(struct job *j, int count_attempt);
void sched_job_settle(struct job *j);
int sched_job_settle_unwanted(struct job *j, const struct obj *o);
void sched_job_stop_conversion(struct job *j);
void sched_job_drop_pending(struct job *j);
void sched_job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sched_job_done(struct job *j);
void sched_job_queue_master(struct job *j);
void sched_job_release_lease(struct job *j);

/* sched_obj.c */
struct obj *sched_obj_find(struct job *j, const char *rel);
struct obj *sched_obj_add(struct job *j, const char *rel, int64_t size);
int sched_obj_load(void *ud, const struct store_obj *so);
/* sched_obj_set - the one place an object changes state: the move is
 * checked, the ledger row written (etag once uploaded); unwanted deletes
 * the row */
void sched_obj_set(struct job *j, struct obj *o, enum obj_state to, const char *etag);
/* sched_taking_down - j's published objects are being deleted: it was
 * canceled, or it failed and keep_failed_output is off */
static inline int
sched_taking_down(const struct job *j)
{
    return j->row.state == JOB_CANCELED ||
           (j->row.state == JOB_FAILED && !SCHED_CFG->upload.keep_failed_output);
}
/* sched_obj_rewrite - o's ledger row again, as memory has it (sched_resync) */
void sched_obj_rewrite(struct job *j, const struct obj *o);
/* sched_obj_rewind - the dispatch cursor goes back to o */
void sched_obj_rewind(struct job *j, const struct obj *o);

/* sched_admit.c */
void sched_cancel_job(struct job *j);

/* sched_conv.c, sched_upload.c */
void sched_conv_message(struct lease *l, uint16_t type, const void *body, size_t len);
void sched_upload_result(struct lease *l, const void *body, size_t len);
/* sched_upload_probe - during an outage (uploads waiting for a retry),
 * one of them is let go early every SCHED_PROBE_MS, so that uploads resume
 * within seconds of the storage answering again whatever the back-off */
void sched_upload_probe(int64_t now);
#define SCHED_PROBE_MS 2000

/* sched_printable - len bytes a worker sent, as one line of text */
static inline void
sched_printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < cap; i++)
        dst[k++] =
            (src[i] >= 0x20 && src[i] < 0x7f) || (unsigned char)src[i] >= 0x80 ? src[i] : ' ';
    dst[k] = '\0';
}

#endif
