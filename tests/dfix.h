/*
 * dfix.h - fixtures for black-box tests of the whole daemon: a private
 * configuration, socket, spool and output per test; the real bin/hlsd
 * started in the foreground; hlsctl and raw socket requests; waiting for a
 * job to reach a state (polling with a deadline, never a blind sleep).
 * Built on tests/fix.h (scratch dir, shell, clips, socket client).
 */
#ifndef HLSD_TESTS_DFIX_H
#define HLSD_TESTS_DFIX_H

#include "tests/fix.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dfix {
    char dir[512];
    char conf[600], sock[600], spool[600], state[600], www[600], log[600];
    char url[700];       /* the [upload] url */
    char s3_prefix[128]; /* with S3: the key prefix of this test under the bucket */
    pid_t pid;
};

/* dfix_init - a fresh directory for test `name`. s3: use the run's Swift
 * (returns -1 if none is configured); else file:// output under dir/www. */
int dfix_init(struct dfix *d, const char *name, int s3);

/* dfix_config - write the configuration; extra is appended verbatim per
 * section ("" or NULL for none). */
void dfix_config(struct dfix *d, unsigned convert_workers, unsigned upload_workers,
                 const char *daemon_extra, const char *convert_extra, const char *upload_extra);

/* dfix_start - run bin/hlsd -f -c conf (stderr to log) and wait until it
 * answers ping (10 s at most). 0 or -1. */
int dfix_start(struct dfix *d);

/* dfix_stop - send sig, wait for the exit (timeout_ms); the wait status, or
 * -1 if it did not exit in time (then it is killed). */
int dfix_stop(struct dfix *d, int sig, int timeout_ms);

/* dfix_ctl - run bin/hlsctl -s SOCK ARGS (a shell word list); its exit code,
 * stdout in out. */
int dfix_ctl(struct dfix *d, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* dfix_req - one raw request line on the socket; the parsed reply or NULL */
json_t *dfix_req(struct dfix *d, const char *line);

/* dfix_submit - hlsctl --json submit FILE [ARGS]; the job id or -1 */
int64_t dfix_submit(struct dfix *d, const char *file, const char *args);

/* dfix_status - the job object (owned by the caller) or NULL */
json_t *dfix_status(struct dfix *d, int64_t id);

/* dfix_wait - poll until the job's state is `state` (or any terminal state
 * when state is NULL), timeout_ms at most; the job object or NULL. */
json_t *dfix_wait(struct dfix *d, int64_t id, const char *state, int timeout_ms);
/* dfix_wait_done - dfix_wait for the end, asserting the job ended done (the
 * message names the state and error otherwise); a new reference */
json_t *dfix_wait_done(struct dfix *d, int64_t id, int timeout_ms);
/* dfix_str - a job's string field, "" when absent; dfix_segs - one of its
 * segments counters ("uploaded", ...) */
const char *dfix_str(json_t *job, const char *key);
long long dfix_segs(json_t *job, const char *key);

/* dfix_log_contains - 1 if the daemon's log holds needle */
int dfix_log_contains(struct dfix *d, const char *needle);

/* dfix_wait_uploaded - poll until the job has published at least n
 * segments; the job object, or NULL at the deadline */
json_t *dfix_wait_uploaded(struct dfix *d, int64_t id, long long n, int timeout_ms);

/* dfix_wait_worker - the pid of the `role` worker holding job id, other
 * than `not` (a process just killed may still be listed until reaped); -1
 * at the deadline */
pid_t dfix_wait_worker(struct dfix *d, const char *role, int64_t id, pid_t not, int timeout_ms);

/* dfix_first_segment - path of <dir>/<rendition>/seg_00000.ts, "" if none */
void dfix_first_segment(const char *dir, char *out, size_t cap);

/* dfix_aws - run awscli against the run's S3 server with its credentials
 * (from the environment, never on a command line); exit status, stdout */
int dfix_aws(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* dfix_worker_pid - the pid of the ROLE worker holding job id (0: any
 * worker of that role), or -1 */
pid_t dfix_worker_pid(struct dfix *d, const char *role, int64_t id);

/* dfix_count_files - regular files under dir (recursively) */
int dfix_count_files(const char *dir);

#endif
