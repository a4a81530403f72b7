/*
 * fix_daemon.h - fixtures for black-box tests of the whole daemon: a private
 * configuration, socket, spool and output per test; the real bin/hlsd
 * started in the foreground; hlsctl and raw socket requests; waiting for a
 * job to reach a state (polling with a deadline, never a blind sleep).
 * Built on tests/fix.h (scratch dir, shell, clips, socket client).
 */
#ifndef HLSD_TESTS_FIX_DAEMON_H
#define HLSD_TESTS_FIX_DAEMON_H

#include "tests/fix.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fix_daemon {
    char dir[512];
    char conf[600], sock[600], spool[600], state[600], www[600], log[600];
    char url[700];       /* the [upload] url */
    char s3_prefix[128]; /* with S3: the key prefix of this test under the bucket */
    pid_t pid;
    uid_t run_as; /* > 0: fix_daemon_start runs hlsd as this user (and run_as_gid) */
    gid_t run_as_gid;
    const char *exe; /* the program under the bindir: "hlsd" if NULL; "hooks/hlsd" has the
                      * test-only fault hooks (docs/reliability.md) */
};

/* fix_daemon_init - a fresh directory for test `name`. s3: use the run's Swift
 * (returns -1 if none is configured); else file:// output under dir/www. */
int fix_daemon_init(struct fix_daemon *d, const char *name, int s3);

/* fix_daemon_config - write the configuration; extra is appended verbatim per
 * section ("" or NULL for none). */
void fix_daemon_config(struct fix_daemon *d, unsigned convert_workers, unsigned upload_workers,
                       const char *daemon_extra, const char *convert_extra,
                       const char *upload_extra);

/* fix_daemon_start - run bin/hlsd -f -c conf (stderr to log) and wait until it
 * answers ping (10 s at most). 0 or -1. */
int fix_daemon_start(struct fix_daemon *d);

/* fix_daemon_stop - send sig, wait for the exit (timeout_ms); the wait status, or
 * -1 if it did not exit in time (then it is killed). */
int fix_daemon_stop(struct fix_daemon *d, int sig, int timeout_ms);

/* fix_daemon_ctl - run bin/hlsctl -s SOCK ARGS (a shell word list); its exit code,
 * stdout in out. */
int fix_daemon_ctl(struct fix_daemon *d, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* fix_daemon_req - one raw request line on the socket; the parsed reply or NULL */
json_t *fix_daemon_req(struct fix_daemon *d, const char *line);

/* fix_daemon_submit - hlsctl --json submit FILE [ARGS]; the job id or -1 */
int64_t fix_daemon_submit(struct fix_daemon *d, const char *file, const char *args);

/* fix_daemon_status - the job object (owned by the caller) or NULL */
json_t *fix_daemon_status(struct fix_daemon *d, int64_t id);

/* fix_daemon_wait - poll until the job's state is `state` (or any terminal state
 * when state is NULL), timeout_ms at most; the job object or NULL. */
json_t *fix_daemon_wait(struct fix_daemon *d, int64_t id, const char *state, int timeout_ms);
/* fix_daemon_wait_done - fix_daemon_wait for the end, asserting the job ended done (the
 * message names the state and error otherwise); a new reference */
json_t *fix_daemon_wait_done(struct fix_daemon *d, int64_t id, int timeout_ms);
/* fix_daemon_str - a job's string field, "" when absent; fix_daemon_segs - one of its
 * segments counters ("uploaded", ...) */
const char *fix_daemon_str(json_t *job, const char *key);
long long fix_daemon_segs(json_t *job, const char *key);

/* fix_daemon_published - what a player needs under root (a directory holding
 * master.m3u8, as published): every variant with its required attributes,
 * every playlist it names a finished VOD playlist whose segments exist. The
 * number of segments; *playlists (if not NULL) the number of playlists. */
int fix_daemon_published(const char *root, int *playlists);

/* fix_daemon_workers - how many `role` workers the daemon's stats count
 * live; -1 when it does not answer */
long long fix_daemon_workers(struct fix_daemon *d, const char *role);

/* fix_daemon_log_contains - 1 if the daemon's log holds needle */
int fix_daemon_log_contains(struct fix_daemon *d, const char *needle);

/* fix_daemon_wait_uploaded - poll until the job has published at least n
 * segments; the job object, or NULL at the deadline */
json_t *fix_daemon_wait_uploaded(struct fix_daemon *d, int64_t id, long long n, int timeout_ms);

/* fix_daemon_wait_worker - the pid of the `role` worker holding job id, other
 * than `not` (a process just killed may still be listed until reaped); -1
 * at the deadline */
pid_t fix_daemon_wait_worker(struct fix_daemon *d, const char *role, int64_t id, pid_t not,
                             int timeout_ms);

/* fix_daemon_first_segment - path of <dir>/<rendition>/seg_00000.ts, "" if none */
void fix_daemon_first_segment(const char *dir, char *out, size_t cap);

/* fix_daemon_aws - run awscli against the run's S3 server with its credentials
 * (from the environment, never on a command line); exit status, stdout */
int fix_daemon_aws(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fix_daemon_worker_pid - the pid of the ROLE worker holding job id (0: any
 * worker of that role), or -1 */
pid_t fix_daemon_worker_pid(struct fix_daemon *d, const char *role, int64_t id);

/* fix_daemon_count_files - regular files under dir (recursively) */
int fix_daemon_count_files(const char *dir);

/* fix_daemon_text - a text file of n bytes (64-byte lines) in the test's
 * directory, which fails conversion at once; its path (static) */
const char *fix_daemon_text(struct fix_daemon *d, const char *name, size_t n);

#endif
