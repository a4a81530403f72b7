/*
 * fix_sched.h - the scheduler's world in a test, with no process forked: a
 * fake process interface that records what the scheduler sends to which
 * worker (and which worker it leased or killed), a fake clock that moves
 * only when a test moves it, and a real SQLite store and spool in a
 * scratch directory; then drivers that feed the scheduler what a master
 * would (offers of idle workers, worker messages, exits).
 */
#ifndef HLSD_TESTS_FIX_SCHED_H
#define HLSD_TESTS_FIX_SCHED_H

#include "daemon/config.h"
#include "daemon/obj.h"
#include "daemon/sched.h"
#include "daemon/store.h"
#include "ipc/proto.h"
#include "tests/fix.h"

#include <stddef.h>
#include <stdint.h>

/* worker numbers, as the master's slots would be */
#define CONV  1
#define CONV2 2
#define UP    40
#define UP2   41

struct fix_sched_sent {
    int w;
    uint16_t type;
    uint64_t job;
    char body[1400];
    size_t len;
};

struct fix_sched {
    struct fix_sched_sent sent[512]; /* every message, in order */
    int nsent;
    int busy[SCHED_MAX_WORKERS];         /* leased */
    char killed[SCHED_MAX_WORKERS][160]; /* why, "" if not */
    int64_t clock_ms, wall_ms;           /* the fake clocks */
    char dir[400], spool[420];
    struct config cfg; /* tests may change it: the scheduler reads it at every use */
    store_t *st;       /* inside a transaction */
};
extern struct fix_sched FS;

/* fix_sched_setup / fix_sched_teardown - a Criterion suite's init and fini */
void fix_sched_setup(void);
void fix_sched_teardown(void);
/* fix_sched_start - (again) a scheduler on FS, as a new master would */
void fix_sched_start(void);
int fix_sched_durable(void); /* commit and begin again */

/* fix_sched_submit - a new job for an input in the spool; its id */
int64_t fix_sched_submit(void);
struct store_job fix_sched_row(int64_t id);
struct store_job fix_sched_cancel(int64_t id);
/* fix_sched_last_to - the last message sent to worker w, NULL if none */
const struct fix_sched_sent *fix_sched_last_to(int w);
void fix_sched_segment(int w, int64_t job, const char *rend, unsigned idx, uint64_t size);
void fix_sched_conv_done(int w, int64_t job, const char *text);
/* fix_sched_offer_up - an idle upload worker: the key it was given ("" if
 * none), the message type in *type */
const char *fix_sched_offer_up(int w, uint16_t *type);
void fix_sched_up_result(int w, int64_t job, enum proto_up_class cls, int64_t retry_after,
                         const char *text);
/* fix_sched_exit - w died; as the process table, its slot is free again */
void fix_sched_exit(int w, int status, int we_stopped, const char *reason);
/* fix_sched_publish_all - upload what is ready with one worker, all
 * succeeding; the keys in the order they went out, space-separated */
void fix_sched_publish_all(int64_t job, char *order, size_t cap);
/* fix_sched_converting_on - a job converting on worker w with two 720p
 * segments reported, not yet uploaded; fix_sched_converting: on CONV */
int64_t fix_sched_converting_on(int w);
int64_t fix_sched_converting(void);

/* fix_sched_put_job / fix_sched_put_obj - rows written straight into the
 * store, as an earlier master left them */
int64_t fix_sched_put_job(enum job_state state, unsigned segs_uploaded);
void fix_sched_put_obj(int64_t job, const char *rel, enum obj_state state);

#endif
