/*
 * store.h - the job store: every call the master makes to it, and nothing
 * else (no SQL outside the store's files). The embedded backend is SQLite
 * in WAL mode (store_sqlite.c); the interface is shaped for a second one,
 * PostgreSQL shared by several hosts, where a job is leased to one host at
 * a time (owner, expiry, a generation that fences a host that lost it).
 *
 * Two record kinds: jobs (one row per submission) and objects (the
 * per-object upload ledger: pending, uploading, uploaded with its ETag,
 * deleting). Writes happen inside a transaction (store_begin) that the
 * caller commits before acting on them, so a crash at any point loses no
 * acknowledged job and at most re-sends objects that were in flight.
 *
 * Every call returns 0 / -1 with errno: ENOENT for a missing row, EBUSY
 * for a job leased by another live owner, ESTALE for a lease that is no
 * longer ours, EINVAL for a value the store does not keep, ENOSPC for a
 * full disk (a failed COMMIT then rolled the transaction back), EIO for
 * another database error; store_errmsg() says what failed. Nothing here
 * logs.
 */
#ifndef HLSD_DAEMON_STORE_H
#define HLSD_DAEMON_STORE_H

#include "daemon/job.h"
#include "daemon/obj.h"

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

struct store_job {
    int64_t id;
    enum job_state state;
    char input[256];    /* submitted file name, for people */
    char prefix[260];   /* key prefix under the upload URL ("" = none) */
    char ladder[96];    /* "" = configured default */
    double segment;     /* 0 = configured default */
    int64_t created_at; /* ms since the epoch */
    int64_t updated_at;
    double progress;      /* 0..1 */
    unsigned attempts;    /* conversions started */
    char error[512];      /* "" = none */
    char renditions[720]; /* space-separated names, once known */
    double duration;
    unsigned segs_done;
    unsigned segs_uploaded;
    unsigned conv_done;  /* 1 once the conversion finished for good */
    int64_t owner_uid;   /* who submitted it; -1: unknown (an older store) */
    char owner_name[64]; /* their user name then ("" if unknown) */
    char notes[256];     /* what the conversion left out of the input and why ("" none) */
    /* schema 4: inputs by URL, webhooks, job lifecycle */
    char input_url[2048];  /* https://, http:// or s3:// to fetch; "" = submitted bytes */
    unsigned fetched;      /* 1 once input_url is in the spool (always 1 without one) */
    char key[260];         /* publish at exactly this key prefix ("" = prefix/id) */
    char notify_url[1024]; /* POST the job here when it ends ("" = [notify] url) */
    char metadata[4100];   /* the client's JSON object, compact ("" = none) */
    unsigned deleted;      /* 1: being deleted (its objects come down, then the row goes) */
};

/* a webhook delivery: recorded with the job's final state, POSTed by an
 * upload worker until a 2xx or max_attempts */
enum store_dlv_state { STORE_DLV_PENDING = 0, STORE_DLV_DELIVERED = 1, STORE_DLV_GAVE_UP = 2 };

struct store_dlv {
    int64_t id; /* assigned by store_dlv_insert */
    int64_t job;
    char url[1024];
    char *body; /* the job object as JSON; owned by the caller (malloc'd by store_dlv_each) */
    unsigned attempts;
    enum store_dlv_state state;
    int64_t created_at; /* ms since the epoch */
};

struct store_obj {
    int64_t job;
    char rel[128];        /* path under the job: "720p/seg_00003.ts", "master.m3u8" */
    enum obj_state state; /* never OBJ_UNWANTED: that row is deleted */
    char etag[80];
    int64_t size;
    unsigned attempts;
};

store_t *store_open(const char *path, char *err, size_t errlen);
void store_close(store_t *s);
const char *store_errmsg(store_t *s);

int store_begin(store_t *s);
int store_commit(store_t *s);
int store_rollback(store_t *s);
/* store_in_txn - 1 while a transaction is open (a failed COMMIT on a full
 * disk may have rolled it back) */
int store_in_txn(store_t *s);
/* store_reserve - keep `bytes` of the store's disk in reserve (a file next
 * to the database, preallocated): -1 ENOSPC if there is not that much
 * room; store_unreserve gives it back, for the store to use when the disk
 * is full (see docs/reliability.md) */
int store_reserve(store_t *s, size_t bytes);
void store_unreserve(store_t *s);

/* store_job_insert - assigns j->id */
int store_job_insert(store_t *s, struct store_job *j);
int store_job_update(store_t *s, const struct store_job *j);
int store_job_get(store_t *s, int64_t id, struct store_job *j);
/* store_job_each - jobs in id order, newest first if desc; state < 0: all;
 * limit 0: no limit. fn returns non-zero to stop. */
int store_job_each(store_t *s, int state, int desc, unsigned limit,
                   int (*fn)(void *ud, const struct store_job *j), void *ud);
/* store_job_delete - the job's row and its ledger are gone (store_job_get
 * then says ENOENT); deliveries stay until they are delivered */
int store_job_delete(store_t *s, int64_t id);
/* store_job_key_each - the jobs (id, state) that publish at key, in id
 * order. fn returns non-zero to stop. */
int store_job_key_each(store_t *s, const char *key,
                       int (*fn)(void *ud, int64_t id, enum job_state state), void *ud);
/* store_job_count - how many jobs are in state */
int64_t store_job_count(store_t *s, enum job_state state);

int store_obj_put(store_t *s, const struct store_obj *o); /* insert or replace */
int store_obj_get(store_t *s, int64_t job, const char *rel, struct store_obj *o);
int store_obj_each(store_t *s, int64_t job, int (*fn)(void *ud, const struct store_obj *o),
                   void *ud);
int store_obj_delete(store_t *s, int64_t job, const char *rel);
int store_obj_delete_job(store_t *s, int64_t job);
/* store_obj_recount - how many segments of job are published (uploaded
 * objects in a rendition's directory that are not playlists): the ledger is written with every
 * upload and the job row less often, so this is the count after a crash */
int store_obj_recount(store_t *s, int64_t job, unsigned *segments);

/* store_job_canceled_since - jobs canceled with updated_at > since (ms
 * since the epoch), in id order: how a host learns of a cancel made by
 * another. fn returns non-zero to stop. */
int store_job_canceled_since(store_t *s, int64_t since,
                             int (*fn)(void *ud, const struct store_job *j), void *ud);

/* deliveries (webhooks) */
int store_dlv_insert(store_t *s, struct store_dlv *d);
/* store_dlv_update - attempts and state of d->id */
int store_dlv_update(store_t *s, const struct store_dlv *d);
/* store_dlv_each_pending - pending deliveries in id order; d->body is the
 * callee's to free. fn returns non-zero to stop. */
int store_dlv_each_pending(store_t *s, int (*fn)(void *ud, struct store_dlv *d), void *ud);
/* store_dlv_count - deliveries of job in state (-1 on error) */
int64_t store_dlv_count(store_t *s, int64_t job, enum store_dlv_state state);

/*
 * Job leases: which host works on a job. A host takes a job's lease before
 * it converts it, renews it while it works (a heartbeat, well within the
 * time to live), and releases it when the job ends or goes back to the
 * queue. A lease whose owner stopped renewing expires and may be taken
 * over by another host; the generation then grows, so the old owner's
 * renew fails with ESTALE and it must stop working on the job (fencing).
 * Times are ms since the epoch.
 */
struct store_lease {
    int64_t job;
    char owner[64];      /* the host: "hostname:pid" or a configured name */
    int64_t expires_at;  /* INT64_MAX: never */
    uint64_t generation; /* grows with every takeover */
};

/* store_lease_take - lease job to owner for ttl_ms: granted if nobody
 * holds it, if owner already does, or if the holder's lease expired (a
 * takeover); EBUSY if another owner holds a live one, ENOENT if no job */
int store_lease_take(store_t *s, int64_t job, const char *owner, int64_t now, int64_t ttl_ms,
                     struct store_lease *out);
/* store_lease_renew - the heartbeat: expires_at = now + ttl_ms; ESTALE if
 * the lease was taken over (generation or owner changed) */
int store_lease_renew(store_t *s, struct store_lease *l, int64_t now, int64_t ttl_ms);
/* store_lease_release - the job is nobody's (a stale lease is a no-op) */
int store_lease_release(store_t *s, const struct store_lease *l);
/* store_lease_expired_each - jobs whose lease expired before now, for a
 * host to take over. fn returns non-zero to stop. */
int store_lease_expired_each(store_t *s, int64_t now, int (*fn)(void *ud, int64_t job), void *ud);

#endif
