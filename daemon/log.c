/*
 * log.c - stderr or syslog, one line per message, role-prefixed.
 *
 * Not async-signal-safe: never call from a signal handler (handlers here only
 * set flags). Writes to stderr are single write(2) calls so lines from
 * several processes sharing the descriptor do not interleave.
 */
#include "daemon/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char log_role[48] = "hlsd";
static int log_stderr = 1;
static enum log_level log_min = LOG_LVL_INFO;

static void vlog(enum log_level lvl, const char *fmt, va_list ap);

/* wlog_to_log - the sink of the workers' log: this one, with its threshold */
static void
wlog_to_log(enum wlog_level lvl, const char *fmt, va_list ap)
{
    if ((enum log_level)lvl >= log_min)
        vlog((enum log_level)lvl, fmt, ap);
}

void
log_init(const char *role, int to_stderr, enum log_level min)
{
    wlog_set_sink(wlog_to_log);
    log_set_role(role);
    log_stderr = to_stderr;
    log_min = min;
    if (!to_stderr)
        openlog("hlsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_role(const char *role)
{
    snprintf(log_role, sizeof(log_role), "%s", role);
}

void
log_reopen(void)
{
    if (!log_stderr) {
        closelog();
        openlog("hlsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

static void
vlog(enum log_level lvl, const char *fmt, va_list ap)
{
    static const char *names[] = {"debug", "info", "warning", "error"};
    static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    char msg[2048];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!log_stderr) {
        syslog(prio[lvl], "%s: %s", log_role, msg);
        return;
    }
    char line[2300];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: %s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_role, (long)getpid(), names[lvl], msg);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nowhere left to report it */
    }
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    if (lvl < log_min)
        return;
    va_start(ap, fmt);
    vlog(lvl, fmt, ap);
    va_end(ap);
}

void
log_fatal(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_LVL_ERROR, fmt, ap);
    va_end(ap);
    exit(code);
}

void
log_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LOG_LVL_ERROR, fmt, ap);
    va_end(ap);
    abort();
}
