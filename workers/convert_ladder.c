/*
 * convert_ladder.c - the ABR ladder: parse "720:2800k,480:1400k" and pick
 * the renditions a source allows.
 *
 * A rung names the short side of the picture, so that a portrait phone
 * clip gets 720x1280 for "720p" rather than a 405-pixel-wide sliver. No
 * rung is ever above the source: a source smaller than every rung gets one
 * rendition at its own size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/convert_int.h"

#define CONVERT_LADDER_MIN_SIDE 16
#define CONVERT_LADDER_MAX_SIDE 4320

/* convert_ladder_even - round to the nearest even number, at least 2. */
static int
convert_ladder_even(double x)
{
    int v = (int)(x / 2 + 0.5) * 2;
    return v < 2 ? 2 : v;
}

int
convert_ladder_parse(const char *spec, struct convert_rung *rungs, int max, char *err,
                     size_t errlen)
{
    int n = 0;
    const char *p = spec;
    while (*p != '\0') {
        char *end;
        errno = 0;
        long side = strtol(p, &end, 10);
        if (end == p || *end != ':' || errno != 0 || side < CONVERT_LADDER_MIN_SIDE ||
            side > CONVERT_LADDER_MAX_SIDE) {
            return convert_err_set(err, errlen, 0,
                                   "ladder \"%s\": expected SIZE:BITRATE with SIZE %d..%d, as in "
                                   "720:2800k",
                                   spec, CONVERT_LADDER_MIN_SIDE, CONVERT_LADDER_MAX_SIDE);
        }
        p = end + 1;
        double rate = strtod(p, &end);
        if (end == p || rate <= 0) {
            return convert_err_set(err, errlen, 0, "ladder \"%s\": bad bit rate after %ld:", spec,
                                   side);
        }
        if (*end == 'k' || *end == 'K') {
            rate *= 1e3;
            end++;
        } else if (*end == 'm' || *end == 'M') {
            rate *= 1e6;
            end++;
        }
        if (rate < 16e3 || rate > 200e6 || (*end != ',' && *end != '\0')) {
            return convert_err_set(err, errlen, 0,
                                   "ladder \"%s\": bit rate for %ld must be 16k..200M", spec, side);
        }
        for (int i = 0; i < n; i++) {
            if (rungs[i].size == (int)side) {
                return convert_err_set(err, errlen, 0, "ladder \"%s\": %ld appears twice", spec,
                                       side);
            }
        }
        if (n == max) {
            return convert_err_set(err, errlen, 0, "ladder \"%s\": more than %d rungs", spec, max);
        }
        rungs[n++] = (struct convert_rung){.size = (int)side, .bitrate = (int64_t)rate};
        if (*end == ',' && end[1] == '\0') {
            return convert_err_set(err, errlen, 0, "ladder \"%s\": trailing comma", spec);
        }
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0) {
        return convert_err_set(err, errlen, 0, "ladder \"%s\" is empty", spec);
    }
    return n;
}

/* convert_ladder_fill - size one rendition whose short side is side. */
static void
convert_ladder_fill(struct convert_rendition *r, int side, int64_t rate, int src_w, int src_h)
{
    int portrait = src_h > src_w;
    int src_short = portrait ? src_w : src_h;
    int src_long = portrait ? src_h : src_w;
    int s = convert_ladder_even(side);
    if (s > src_short) {
        s = src_short & ~1; /* never round up past the source */
        s = s < 2 ? 2 : s;
    }
    int l = convert_ladder_even((double)src_long * s / src_short);
    if (l > src_long && src_long >= 2) {
        l = src_long & ~1;
    }
    r->width = portrait ? s : l;
    r->height = portrait ? l : s;
    r->maxrate = rate;
    snprintf(r->name, sizeof(r->name), "%dp", s);
}

int
convert_ladder_select(const struct convert_rung *rungs, int n, int src_w, int src_h,
                      struct convert_rendition *out)
{
    int src_short = src_h < src_w ? src_h : src_w;
    int k = 0;
    int smallest = 0;
    for (int i = 0; i < n; i++) {
        if (rungs[i].size < rungs[smallest].size) {
            smallest = i;
        }
        if (rungs[i].size <= src_short && k < CONVERT_MAX_LADDER) {
            convert_ladder_fill(&out[k++], rungs[i].size, rungs[i].bitrate, src_w, src_h);
        }
    }
    if (k == 0) {
        /* Every rung is above the source: keep its size, and the smallest
         * rung's cap scaled by area (a cap, so erring high costs nothing). */
        double scale = (double)src_short / rungs[smallest].size;
        int64_t rate = (int64_t)(rungs[smallest].bitrate * scale * scale);
        convert_ladder_fill(&out[k++], src_short, rate < 200000 ? 200000 : rate, src_w, src_h);
    }
    /* Highest first, so that callers and logs read top-down. */
    for (int i = 1; i < k; i++) {
        for (int j = i; j > 0 && out[j].maxrate > out[j - 1].maxrate; j--) {
            struct convert_rendition t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    }
    return k;
}

/*
 * The caller's own share of the work (demux, decode, audio, muxing) in
 * units of one libx264 encode at the source's size: decoding the benchmark
 * clip's 720p H.264 takes 2.3 s where encoding it at veryfast takes 9.5 s.
 */
#define CONVERT_CALLER_SHARE 0.25

int
convert_ladder_threads(const struct convert_rendition *r, int n, int src_w, int src_h, int budget,
                       int x264_single, int *threads, int *lane)
{
    double area[CONVERT_MAX_LADDER], total = 0;
    for (int i = 0; i < n; i++) {
        area[i] = (double)r[i].width * r[i].height;
        total += area[i];
        lane[i] = 0;
        threads[i] = 1;
    }
    if (budget <= 1) {
        return 1;
    }
    if (n == 1) {
        threads[0] = x264_single;
        lane[0] = 1;
        return 2;
    }
    int lanes = budget < n + 1 ? budget : n + 1;
    double load[CONVERT_MAX_LADDER + 1] = {0};
    load[0] = CONVERT_CALLER_SHARE * src_w * src_h;
    int placed[CONVERT_MAX_LADDER] = {0};
    for (int done = 0; done < n; done++) {
        int big = -1;
        for (int i = 0; i < n; i++) {
            if (!placed[i] && (big < 0 || area[i] > area[big])) {
                big = i;
            }
        }
        int least = lanes - 1; /* ties go to a thread, not the caller */
        for (int k = lanes - 2; k >= 0; k--) {
            if (load[k] < load[least]) {
                least = k;
            }
        }
        placed[big] = 1;
        lane[big] = least;
        load[least] += area[big];
    }
    for (int i = 0; i < n && total > 0; i++) {
        long t = (long)(budget * area[i] / total);
        threads[i] = t < 1 ? 1 : (int)t;
    }
    return lanes;
}
