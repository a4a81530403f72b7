/*
 * spool.h - the spool directory: a job's input and its segments live in
 * <spool_dir>/<job-id>/ (input, out/) until published; submissions land in
 * <spool_dir>/incoming/<token>/input first and are adopted by the master.
 * Returns 0 / -1 with errno; never logs.
 */
#ifndef HLSD_DAEMON_SPOOL_H
#define HLSD_DAEMON_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

/* spool_mkdir_p - mkdir -p with mode for the directories it creates */
int spool_mkdir_p(const char *path, mode_t mode);
int spool_prepare(const char *spool_dir);
/* spool_token_valid - a token is 8..64 lowercase hex digits */
int spool_token_valid(const char *token);
/* spool_adopt - rename incoming/<token> to <id> and fsync the spool dir */
int spool_adopt(const char *spool_dir, const char *token, int64_t id);
int spool_job_path(const char *spool_dir, int64_t id, const char *rel, char *out, size_t cap);
/* spool_rmtree - remove a tree; a missing path is not an error */
int spool_rmtree(const char *path);
/* spool_sweep - empty incoming/ and remove every <id>/ for which keep(id) is 0 */
int spool_sweep(const char *spool_dir, int (*keep)(int64_t id));

#endif
