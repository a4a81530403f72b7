/*
 * convert_caption.c - convert_caption_check(): is a caption file given with
 * a job SubRip or WebVTT that we can use? FFmpeg's demuxers read them (in
 * convert_subs.c) but forgive a lot and say nothing of where a file is
 * wrong; a user who made a typo in cue 40 wants the line number, at
 * submission time, not a job that silently loses cues. So this reads the
 * structure line by line: UTF-8, cue timings, at least one cue.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/convert_int.h"

/*
 * convert_caption_fail - "<fmt>[: <strerror(e)>]" in err, errno e (EINVAL
 * when 0); returns -1. Not convert_err_set: ctl checks caption files in a
 * process that never loads FFmpeg, so this file must not call into it.
 */
static int __attribute__((format(printf, 4, 5)))
convert_caption_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        size_t used = n < 0 ? 0 : (size_t)n < errlen ? (size_t)n : errlen - 1;
        if (e != 0 && used < errlen) {
            snprintf(err + used, errlen - used, ": %s", strerror(e));
        }
    }
    errno = e != 0 ? e : EINVAL;
    return -1;
}

/*
 * convert_caption_time - parse "[HH:]MM:SS.mmm" (sep '.' or, for SubRip,
 * ','); the milliseconds, or -1. *p moves past it.
 */
static long long
convert_caption_time(const char **p, int srt)
{
    long long part[3] = {0};
    int n = 0;
    const char *s = *p;
    for (;;) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        long long v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 9) {
            v = v * 10 + (*s++ - '0');
            digits++;
        }
        if (n == 3) {
            return -1;
        }
        part[n++] = v;
        if (*s != ':') {
            break;
        }
        s++;
    }
    if (!(*s == '.' || (srt && *s == ','))) {
        return -1;
    }
    s++;
    int ms = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) {
        ms = ms * 10 + (*s++ - '0');
        digits++;
    }
    if (digits != 3 || n < (srt ? 3 : 2) || part[n - 1] > 59 || (n == 3 && part[1] > 59)) {
        return -1;
    }
    *p = s;
    long long h = n == 3 ? part[0] : 0, m = part[n - 2], sec = part[n - 1];
    return ((h * 60 + m) * 60 + sec) * 1000 + ms;
}

/* convert_caption_timing - a "start --> end[ settings]" line; 0, -1 malformed, -2 backwards. */
static int
convert_caption_timing(const char *line, int srt)
{
    const char *p = line;
    long long a = convert_caption_time(&p, srt);
    if (a < 0 || strncmp(p, " --> ", 5) != 0) {
        return -1;
    }
    p += 5;
    long long b = convert_caption_time(&p, srt);
    if (b < 0 || (*p != '\0' && *p != ' ' && *p != '\t')) {
        return -1;
    }
    return b < a ? -2 : 0;
}

/* convert_caption_scan - check the text, line by line; 0 or -1 with err. */
static int
convert_caption_scan(char *text, size_t n, const char *shown, char *err, size_t errlen)
{
    const unsigned char *u = (const unsigned char *)text;
    long line = 1;
    for (size_t i = 0; i < n;) {
        if (u[i] == '\0') {
            return convert_caption_fail(err, errlen, 0, "%s line %ld: a NUL byte (not a text file)",
                                        shown, line);
        }
        size_t len = convert_lang_utf8(u + i, n - i);
        if (len == 0) {
            return convert_caption_fail(err, errlen, 0, "%s line %ld: not UTF-8 text", shown, line);
        }
        line += u[i] == '\n';
        i += len;
    }
    char *p = text;
    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3; /* a byte order mark */
    }
    int vtt = strncmp(p, "WEBVTT", 6) == 0 && (p[6] == '\0' || strchr(" \t\r\n", p[6]) != NULL);
    const char *what = vtt ? "WebVTT" : "SubRip";
    /* SubRip: number, timing, text...; WebVTT: [id], timing, text... */
    enum { BETWEEN, AFTER_NUMBER, IN_CUE, IN_BLOCK } state = BETWEEN;
    long cues = 0;
    line = 0;
    for (char *save = NULL, *l = p; l != NULL; l = save) {
        save = strchr(l, '\n');
        if (save != NULL) {
            *save++ = '\0';
        }
        line++;
        size_t len = strlen(l);
        if (len > 0 && l[len - 1] == '\r') {
            l[--len] = '\0';
        }
        if (vtt && line == 1) {
            state = IN_BLOCK; /* the header, and any header lines, up to a blank line */
            continue;
        }
        if (len == 0) {
            if (state == AFTER_NUMBER) {
                return convert_caption_fail(
                    err, errlen, 0, "%s line %ld: expected a cue timing after the cue number",
                    shown, line);
            }
            state = BETWEEN;
            continue;
        }
        if (state == IN_CUE || state == IN_BLOCK) {
            if (strstr(l, "-->") != NULL) {
                return convert_caption_fail(
                    err, errlen, 0, "%s line %ld: a cue timing %s (missing blank line?)", shown,
                    line, state == IN_CUE ? "inside a cue" : "inside a block");
            }
            continue;
        }
        if (strstr(l, "-->") != NULL) {
            int t = convert_caption_timing(l, !vtt);
            if (t == -1) {
                return convert_caption_fail(
                    err, errlen, 0,
                    "%s line %ld: malformed %s cue timing \"%.40s\" (expected "
                    "%s)",
                    shown, line, what, l,
                    vtt ? "HH:MM:SS.mmm --> HH:MM:SS.mmm" : "HH:MM:SS,mmm --> HH:MM:SS,mmm");
            }
            if (t == -2) {
                return convert_caption_fail(
                    err, errlen, 0, "%s line %ld: the cue ends before it starts", shown, line);
            }
            cues++;
            state = IN_CUE;
            continue;
        }
        if (vtt) {
            /* A cue identifier, or a NOTE, STYLE or REGION block. */
            state = strncmp(l, "NOTE", 4) == 0 || strncmp(l, "STYLE", 5) == 0 ||
                            strncmp(l, "REGION", 6) == 0
                        ? IN_BLOCK
                        : AFTER_NUMBER;
            continue;
        }
        if (state == BETWEEN && strspn(l, "0123456789") == len) {
            state = AFTER_NUMBER;
            continue;
        }
        return convert_caption_fail(err, errlen, 0, "%s line %ld: expected a %s, not \"%.40s\"",
                                    shown, line, state == BETWEEN ? "cue number" : "cue timing", l);
    }
    if (cues == 0) {
        return convert_caption_fail(err, errlen, 0, "%s: no %s cues", shown, what);
    }
    return 0;
}

int
convert_caption_check(const char *path, const char *shown, char *err, size_t errlen)
{
    if (shown == NULL) {
        shown = path;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return convert_caption_fail(err, errlen, errno, "%s", shown);
    }
    char *text = malloc(CONVERT_CAPTION_MAX + 1);
    if (text == NULL) {
        fclose(f);
        return convert_caption_fail(err, errlen, ENOMEM, "%s", shown);
    }
    size_t n = fread(text, 1, CONVERT_CAPTION_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad) {
        rc = convert_caption_fail(err, errlen, EIO, "%s: read", shown);
    } else if (n > CONVERT_CAPTION_MAX) {
        rc = convert_caption_fail(err, errlen, 0, "%s: larger than %u MiB", shown,
                                  CONVERT_CAPTION_MAX >> 20);
    } else {
        text[n] = '\0';
        rc = convert_caption_scan(text, n, shown, err, errlen);
    }
    free(text);
    if (rc < 0 && errno == 0) {
        errno = EINVAL;
    }
    return rc;
}
