/*
 * sched.h - the master's scheduler: the lease table, the active jobs and
 * their upload ledgers, and what happens on every event from a worker.
 *
 * It owns its state (nothing of the master's global): the master hands it
 * a store, the configuration, clocks and a narrow interface to the
 * processes (struct sched_proc), and feeds it worker messages and exits.
 * Workers are numbers (the master's slot index); the scheduler never sees
 * a pid or a ring, so it links and runs without the master (tests/test_sched*.c).
 *
 * Invariants (a violation is a panic):
 *  - a job is leased to at most one convert worker, and only while it is
 *    converting (or ended, until the worker lets go);
 *  - an object is leased to at most one upload worker;
 *  - the master playlist is queued only when every other object of the job
 *    is uploaded, and the job is done only when it is uploaded.
 * Everything a worker reports is checked against its lease: a report about
 * another job is a protocol violation and the worker is killed.
 */
#ifndef HLSD_DAEMON_SCHED_H
#define HLSD_DAEMON_SCHED_H

#include "daemon/config.h"
#include "daemon/store.h"

#include <stddef.h>
#include <stdint.h>

#define SCHED_MAX_WORKERS 128 /* worker numbers are 0..SCHED_MAX_WORKERS-1 */

enum sched_role { SCHED_CONVERT, SCHED_UPLOAD };

/* sched_proc - the processes as the scheduler may touch them */
struct sched_proc {
    void *ud;
    /* lease - worker w starts (busy=1) or ends (busy=0) a lease */
    void (*lease)(void *ud, int w, int busy);
    /* send - a message to w; -1 if it could not be sent (w is then being
     * killed, and its exit comes back through sched_on_exit) */
    int (*send)(void *ud, int w, uint16_t type, uint64_t job, const void *body, size_t len);
    /* kill - SIGKILL w because of why. A "protocol: ..." reason always
     * stands; another one is ignored if w is already being killed. */
    void (*kill)(void *ud, int w, const char *why);
};

struct sched_env {
    const struct config *cfg; /* read at every use: a reload swaps it in place */
    store_t *store;           /* inside a transaction the caller commits */
    struct sched_proc proc;
    int64_t (*now)(void);  /* monotonic ms */
    int64_t (*wall)(void); /* ms since the epoch */
    int (*durable)(void);  /* commit what the store holds so far: 0 or -1 */
    char owner[64];        /* this host, in job leases */
    uint64_t seed;         /* back-off jitter */
    /* job_text - the job object as the clients see it (JSON, malloc'd),
     * the body of its webhook; NULL: a minimal {"id","state"} */
    char *(*job_text)(const struct store_job *row);
};

struct sched_stats {
    uint64_t segments_uploaded, bytes_uploaded, upload_failures, conversions_done;
};

/* sched_init - forget everything, then use env; sched_fini frees memory */
void sched_init(const struct sched_env *env);
void sched_fini(void);
/* sched_recover - unfinished jobs from the store, spool swept; -1 on a
 * store error */
int sched_recover(void);

/* sched_offer - an idle worker of role: 1 if it was given a lease */
int sched_offer(int w, enum sched_role role);
/* sched_on_message - a complete message from w (already checked against
 * its role's record rules) */
void sched_on_message(int w, enum sched_role role, uint16_t type, uint64_t job, const void *body,
                      size_t len);
/* sched_on_exit - w died (status from waitpid); we_stopped: after our
 * SIGTERM; reason: why we killed it ("" if we did not) */
void sched_on_exit(int w, int status, int we_stopped, const char *reason);
/* sched_timers - stalls, job timeouts, store lease renewal */
void sched_timers(void);
int64_t sched_next_timer(void); /* monotonic ms, INT64_MAX if none */

/*
 * A full disk under the store (master.c): a failed COMMIT rolls back what
 * the transaction held, but the scheduler's memory still has it.
 * sched_resync writes every active job and its ledger again (and the final
 * rows of jobs that left memory since the last commit) into the open
 * transaction; sched_committed says a commit went through (those rows may
 * go). sched_store_full(1) closes admission with "store_full" until
 * sched_store_full(0).
 */
void sched_resync(void);
void sched_committed(void);
void sched_store_full(int full);

/* sched_stop - shutdown: intake closes, no new conversions */
void sched_stop(void);
/* sched_release_conversions - ask running conversions to let go; their
 * jobs go back to queued (the attempt not counted) */
void sched_release_conversions(void);
int sched_conversions_running(void);
const struct sched_stats *sched_stats(void);
/* sched_lease_of - the job id worker w holds (0: none) and the object's
 * path ("" for a conversion) */
int64_t sched_lease_of(int w, const char **rel);

/* sched_client - who asks, as ctl read it from the socket (SO_PEERCRED) */
struct sched_client {
    int64_t uid;   /* -1: unknown (a request not from a client) */
    char user[64]; /* the user name, or the uid in decimal */
    int admin;     /* root, the daemon's own user or a member of admin_group */
};

/* the client's requests: 0, or -1 with a code and a message for it */
int sched_admit(const char **code, char *msg, size_t msglen);
/* sched_submit - store a new job for an ingested input (spool token) */
int sched_submit(const char *token, const char *input, const char *ladder, double segment,
                 const char *prefix, struct store_job *out, const char **code, char *msg,
                 size_t msglen);
/* sched_submit_as - the same, recording who submitted it (NULL: nobody) */
int sched_submit_as(const char *token, const char *input, const char *ladder, double segment,
                    const char *prefix, const struct sched_client *who, struct store_job *out,
                    const char **code, char *msg, size_t msglen);
/* what a submission may add (docs/protocol.md); NULL fields: none */
struct sched_submit_opts {
    const char *url;      /* the input is fetched from here (https://, http://, s3://) */
    const char *key;      /* publish at exactly this prefix; refused ("conflict") when
                             another live job uses it */
    const char *notify;   /* webhook URL */
    const char *metadata; /* a JSON object, compact, at most SCHED_METADATA_MAX bytes */
};
#define SCHED_METADATA_MAX 4096
/* sched_submit_ex - sched_submit_as with opts; with opts->url the token
 * may be NULL (the job's spool directory is made here) and the job waits
 * in the queue until its input is fetched */
int sched_submit_ex(const char *token, const char *input, const char *ladder, double segment,
                    const char *prefix, const struct sched_client *who,
                    const struct sched_submit_opts *opts, struct store_job *out, const char **code,
                    char *msg, size_t msglen);
/* sched_delete - remove an ended job: its published objects are deleted
 * by the upload workers, then its row and spool go; "conflict" while it
 * runs (queued, converting, uploading) */
int sched_delete(int64_t id, const char **code, char *msg, size_t msglen);
/* sched_fetch_info - a job's input fetch: 1 for a job with an input URL
 * (bytes so far, the announced total or 0, failed attempts), else 0 */
int sched_fetch_info(const struct store_job *row, uint64_t *done, uint64_t *total,
                     unsigned *attempts);
/* sched_authorize - may who change job id (cancel, retry)? Its owner may,
 * an admin may, and anyone may change a job of unknown owner (submitted
 * before jobs recorded theirs); else -1 with code "forbidden" */
int sched_authorize(int64_t id, const struct sched_client *who, const char **code, char *msg,
                    size_t msglen);
int sched_cancel(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen);
int sched_retry(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen);
/* sched_status - the freshest row of a job (memory, else the store) */
int sched_status(int64_t id, struct store_job *out);
/* sched_active - the row of a job in memory, or NULL */
const struct store_job *sched_active(int64_t id);
unsigned sched_queued(void);
/* sched_segments_expected - how many segments the job publishes in all,
 * once its conversion is over (the ledger's count); -1 before */
long long sched_segments_expected(const struct store_job *row);
/* sched_upload_retrying - 1 if job id has uploads waiting to be retried
 * after a retryable error: the last error and when (ms since the epoch)
 * the next retry is due */
int sched_upload_retrying(int64_t id, char *err, size_t cap, int64_t *next_wall);
/* sched_progress - 0..1 for a job, from memory when active */
double sched_progress(const struct store_job *row);

/* sched_url_key - the key of rel under the upload URL */
void sched_url_key(const struct store_job *row, const char *rel, char *out, size_t cap);
/* sched_url_object - where the job's object rel is (or will be), as a
 * client reaches it; sched_url_playlist - that of master.m3u8 */
void sched_url_object(const struct config *cfg, const struct store_job *row, const char *rel,
                      char *out, size_t cap);
/* sched_url_playlist - where the master playlist is (or will be) */
void sched_url_playlist(const struct config *cfg, const struct store_job *row, char *out,
                        size_t cap);

#endif
