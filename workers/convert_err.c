/*
 * convert_err.c - the engine's one way to fail: a one-line reason in the
 * caller's buffer and errno set to match, so that callers can tell a bad
 * input (EINVAL) from a full disk (ENOSPC) or a cancel (ECANCELED).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>

#include "workers/convert_int.h"

/*
 * convert_err_set - write "<fmt>: <FFmpeg reason> (<last av_log error>)".
 * averr is an AVERROR code, or 0 when the message says it all. Returns -1.
 */
int
convert_err_set(char *err, size_t errlen, int averr, const char *fmt, ...)
{
    int e = EINVAL;
    if (averr < 0 && averr > -4096) {
        e = AVUNERROR(averr); /* AVERROR(errno) codes are negated errno */
    } else if (averr == AVERROR(ENOMEM)) {
        e = ENOMEM;
    }
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        size_t used = n < 0 ? 0 : (size_t)n < errlen ? (size_t)n : errlen - 1;
        if (averr < 0 && used < errlen) {
            char why[AV_ERROR_MAX_STRING_SIZE];
            av_strerror(averr, why, sizeof(why));
            n = snprintf(err + used, errlen - used, ": %s", why);
            used += n < 0 ? 0 : (size_t)n < errlen - used ? (size_t)n : errlen - used - 1;
        }
        const char *last = convert_log_last();
        if (averr < 0 && last[0] != '\0' && used < errlen) {
            snprintf(err + used, errlen - used, " (%s)", last);
        }
        /* One line, whatever FFmpeg wrote. */
        for (char *p = err; *p != '\0'; p++) {
            if (*p == '\n' || *p == '\r') {
                *p = ' ';
            }
        }
    }
    errno = e;
    return -1;
}
