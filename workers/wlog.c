/*
 * wlog.c - the worker log hook (see wlog.h). Never exits, never aborts:
 * what to do about an error is the worker's decision.
 */
#include "workers/wlog.h"

#include <stdio.h>

static wlog_sink_fn wlog_sink;

void
wlog_set_sink(wlog_sink_fn fn)
{
    wlog_sink = fn;
}

void
wlog(enum wlog_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (wlog_sink) {
        wlog_sink(lvl, fmt, ap);
    } else {
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}
