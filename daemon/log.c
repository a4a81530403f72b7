/*
 * log.c - stderr or syslog, one line per message, role-prefixed.
 *
 * Not async-signal-safe: never call from a signal handler (handlers here only
 * set flags). Writes to stderr are single write(2) calls so lines from
 * several processes sharing the descriptor do not interleave.
 *
 * Warnings are rate-limited per process (a token bucket: a burst of
 * LOG_WARN_BURST, then LOG_WARN_PER_S a second): a client sending bad
 * requests in a loop must not fill the disk with one warning each. What is
 * dropped is counted, and the count is logged with the next warning let
 * through ("N warnings suppressed"). Errors and the rest are never dropped.
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

#define LOG_WARN_BURST 100
#define LOG_WARN_PER_S 10

static double warn_tokens = LOG_WARN_BURST;
static struct timespec warn_last;
static unsigned long long warn_dropped;

/* warn_allowed - may one more warning go out now? (counts the ones that may not) */
static int
warn_allowed(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (warn_last.tv_sec != 0 || warn_last.tv_nsec != 0) {
        double dt = (double)(now.tv_sec - warn_last.tv_sec) +
                    (double)(now.tv_nsec - warn_last.tv_nsec) / 1e9;
        warn_tokens += dt * LOG_WARN_PER_S;
        if (warn_tokens > LOG_WARN_BURST)
            warn_tokens = LOG_WARN_BURST;
    }
    warn_last = now;
    if (warn_tokens < 1) {
        warn_dropped++;
        return 0;
    }
    warn_tokens -= 1;
    return 1;
}

static void __attribute__((format(printf, 2, 3))) logf_now(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(lvl, fmt, ap);
    va_end(ap);
}

static void
vlog_warn(const char *fmt, va_list ap)
{
    if (!warn_allowed())
        return;
    if (warn_dropped) {
        unsigned long long n = warn_dropped;
        warn_dropped = 0;
        logf_now(LOG_LVL_WARN, "%llu warning%s suppressed (more than %d a second)", n,
                 n == 1 ? "" : "s", LOG_WARN_PER_S);
    }
    vlog(LOG_LVL_WARN, fmt, ap);
}

/* wlog_to_log - the sink of the workers' log: this one, with its threshold */
static void
wlog_to_log(enum wlog_level lvl, const char *fmt, va_list ap)
{
    if ((enum log_level)lvl == LOG_LVL_WARN && log_min <= LOG_LVL_WARN)
        vlog_warn(fmt, ap);
    else if ((enum log_level)lvl >= log_min)
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
    if (lvl == LOG_LVL_WARN)
        vlog_warn(fmt, ap);
    else
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
