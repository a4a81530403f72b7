/*
 * convert_log.c - route FFmpeg's av_log away from stderr and keep, per
 * thread, the last error it logged, so that an error string can say
 * "moov atom not found" rather than only "Invalid data found".
 *
 * av_log's callback is process-wide, so only the caller (a tool, a worker's
 * main) installs it, through convert_log_quiet(); the engine merely reads
 * what was captured. Thread-local storage survives fork() intact.
 */
#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>

#include "workers/convert_int.h"

static _Thread_local char convert_log_buf[256];

/* convert_log_callback - keep the last error-level line, print nothing. */
static void
convert_log_callback(void *avcl, int level, const char *fmt, va_list vl)
{
    (void)avcl;
    if (level > AV_LOG_ERROR) {
        return;
    }
    char line[sizeof(convert_log_buf)];
    vsnprintf(line, sizeof(line), fmt, vl);
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '.' || line[len - 1] == ' ')) {
        line[--len] = '\0';
    }
    /* Continuation fragments ("\n" alone) would wipe the useful line. */
    if (len > 0) {
        memcpy(convert_log_buf, line, len + 1);
    }
}

void
convert_log_quiet(void)
{
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(convert_log_callback);
}

void
convert_log_reset(void)
{
    convert_log_buf[0] = '\0';
}

const char *
convert_log_last(void)
{
    return convert_log_buf;
}
