/*
 * wlog.h - how a worker process logs without knowing the daemon's log: it
 * writes through a sink that the process installs (daemon/log.c installs
 * its own at log_init). Without a sink, lines go to stderr.
 *
 * Only the worker skeletons (convworker, upworker) log; the engines
 * (convert_*, storage_*) return errors and never call this.
 */
#ifndef HLSD_WORKERS_WLOG_H
#define HLSD_WORKERS_WLOG_H

#include <stdarg.h>

enum wlog_level { WLOG_DEBUG, WLOG_INFO, WLOG_WARN, WLOG_ERROR };

typedef void (*wlog_sink_fn)(enum wlog_level lvl, const char *fmt, va_list ap);

/* wlog_set_sink - where wlog lines go from now on (NULL: stderr) */
void wlog_set_sink(wlog_sink_fn fn);
void wlog(enum wlog_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wlog_info(...)  wlog(WLOG_INFO, __VA_ARGS__)
#define wlog_warn(...)  wlog(WLOG_WARN, __VA_ARGS__)
#define wlog_error(...) wlog(WLOG_ERROR, __VA_ARGS__)

#endif
