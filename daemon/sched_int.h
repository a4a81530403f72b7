/*
 * sched_int.h - the scheduler's files among themselves.
 */
#ifndef HLSD_DAEMON_SCHED_INT_H
#define HLSD_DAEMON_SCHED_INT_H

#include "daemon/sched.h"
#include "ipc/proto.h"

extern struct job *jobs_head, *jobs_tail;

void job_save(struct job *j);
void obj_save_etag(struct job *j, const struct obj *o, const char *etag);
void obj_save(struct job *j, const struct obj *o);
struct obj *obj_find(struct job *j, const char *rel);
struct obj *obj_add(struct job *j, const char *rel, enum obj_kind kind, int64_t size);
enum obj_kind kind_of(const char *rel);
struct job *job_new(const struct store_job *row);
void job_free(struct job *j);
int job_has_leases(const struct job *j);
void slot_release(struct slot *s);
void job_requeue_released(struct job *j);
void job_settle(struct job *j);
void stop_conversion(struct job *j);
void drop_pending(struct job *j);
void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void job_done(struct job *j);
struct job *job_load(const struct store_job *row);
int load_obj(void *ud, const struct store_obj *so);
int rendition_ok(const char *r, size_t cap);
struct job *conv_lease(struct slot *s, uint64_t job);
void maybe_queue_master(struct job *j);
void on_segment(struct slot *s, struct job *j, const struct proto_conv_segment *m);
void on_conv_done(struct slot *s, struct job *j, const char *text);
void printable(char *dst, size_t cap, const char *src, size_t len);
void on_conv_failed(struct slot *s, struct job *j, const char *text, size_t len);
void on_conv_canceled(struct slot *s, struct job *j);
void on_up_result(struct slot *s, uint64_t job, const void *body, size_t len);
unsigned conv_threads(void);
void start_conversion(struct slot *s, struct job *j);
int dispatchable(const struct job *j, const struct obj *o, int64_t now);
int start_upload(struct slot *s, int64_t now);
int keep_spool(int64_t id);
int recover_one(void *ud, const struct store_job *row);

#endif
