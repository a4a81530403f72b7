/*
 * log.h - the one logging API of hlsd's processes (never used by ipc/ or
 * by the engines in workers/, which return errors instead).
 *
 * Messages go to stderr (foreground) or syslog (daemon), one line each,
 * prefixed with the process role. Levels: debug, info, warn (bad input from
 * a peer or client: dropped, we go on), error (an operation failed), fatal
 * (the environment is unusable: exit with a documented code) and panic (a
 * broken invariant of our own: abort with a core). Never pass a secret.
 */
#ifndef HLSD_DAEMON_LOG_H
#define HLSD_DAEMON_LOG_H

#include "workers/exitcode.h"
#include "workers/wlog.h"

#include <stdarg.h>

/* the same values as the workers' levels: log_init makes this log their sink */
enum log_level {
    LOG_LVL_DEBUG = WLOG_DEBUG,
    LOG_LVL_INFO = WLOG_INFO,
    LOG_LVL_WARN = WLOG_WARN,
    LOG_LVL_ERROR = WLOG_ERROR
};

/* exit codes: workers/exitcode.h (documented in docs/ARCHITECTURE.md) */

void log_init(const char *role, int to_stderr, enum log_level min);
void log_set_role(const char *role); /* after fork: "convert[3]" etc. */
void log_reopen(void);               /* SIGUSR1 */

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

_Noreturn void log_fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
