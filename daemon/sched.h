/*
 * sched.h - the scheduler's job and object records, for the files of the
 * master that need to look at them (master_ctl.c renders them as JSON).
 */
#ifndef HLSD_DAEMON_SCHED_H
#define HLSD_DAEMON_SCHED_H

#include "daemon/master.h"
#include "daemon/store.h"

#include <stddef.h>
#include <stdint.h>

enum obj_kind { OBJ_SEGMENT, OBJ_PLAYLIST, OBJ_MASTER };

struct obj {
    char rel[128];
    enum obj_state state;
    enum obj_kind kind;
    unsigned attempts;
    int64_t next_at; /* monotonic ms: not before */
    int64_t size;
    struct slot *lease;
};

/* An active job: queued, converting, uploading, or ended with work left
 * (a canceled job's deletions, leases still out). */
struct job {
    struct store_job row;
    struct job *next;
    struct slot *conv; /* the convert worker holding it */
    struct obj *objs;
    size_t nobjs, cap;
    size_t cursor; /* objects before it are not pending: dispatch starts here */
    int64_t conv_started, last_progress, progress_saved;
    double conv_progress;
    int releasing; /* shutdown: back to queued once the worker lets go */
};

struct job *sched_find(int64_t id);
/* sched_submit - store a new job for an ingested input; 0 or -1 with a
 * code/message for the client */
int sched_submit(const char *token, const char *input, const char *ladder, double segment,
                 const char *prefix, struct store_job *out, const char **code, char *msg,
                 size_t msglen);
int sched_cancel(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen);
int sched_retry(int64_t id, struct store_job *out, const char **code, char *msg, size_t msglen);
unsigned sched_queued(void);
/* sched_progress - 0..1 for a job, from memory when active */
double sched_progress(const struct store_job *row);
/* sched_playlist_url - where the master playlist is (or will be) */
void sched_playlist_url(const struct store_job *row, char *out, size_t cap);
/* sched_object_key - the key of rel under the upload URL */
void sched_object_key(const struct store_job *row, const char *rel, char *out, size_t cap);

#endif
