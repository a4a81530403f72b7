/*
 * convert_ladder.c - the ABR ladder: parse "720:2800k,480:1400k:hevc" and
 * pick the renditions a source allows.
 *
 * An entry may name its codec (h264, hevc, av1); one that does not gets
 * the job's default (convert_opts.video_codec). A rendition other than
 * H.264 is named with its codec ("720p_av1"), so that a mixed ladder (AV1
 * at every rung and H.264 at 720p and below) has distinct names.
 *
 * A rung names the short side of the picture, so that a portrait phone
 * clip gets 720x1280 for "720p" rather than a 405-pixel-wide sliver. No
 * rung is ever above the source: a source smaller than every rung gets one
 * rendition at its own size.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workers/convert_int.h"

/*
 * convert_ladder_fail - the reason in err, errno EINVAL; returns -1. Not
 * convert_err_set: hlsd's configuration loader and ctl check ladders in
 * processes that never load FFmpeg, so this file must not call into it.
 */
static int __attribute__((format(printf, 3, 4)))
convert_ladder_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = EINVAL;
    return -1;
}

#define CONVERT_LADDER_MIN_SIDE 16
#define CONVERT_LADDER_MAX_SIDE 4320

/* convert_ladder_even - round to the nearest even number, at least 2. */
static int
convert_ladder_even(double x)
{
    int v = (int)(x / 2 + 0.5) * 2;
    return v < 2 ? 2 : v;
}

static const char *const convert_ladder_codecs[] = {"h264", "hevc", "av1"};

const char *
convert_codec_name(enum convert_codec c)
{
    return (unsigned)c < 3 ? convert_ladder_codecs[c] : "h264";
}

int
convert_codec_parse(const char *s, enum convert_codec *c)
{
    static const struct {
        const char *name;
        enum convert_codec codec;
    } names[] = {
        {"h264", CONVERT_H264}, {"avc", CONVERT_H264},  {"x264", CONVERT_H264},
        {"hevc", CONVERT_HEVC}, {"h265", CONVERT_HEVC}, {"x265", CONVERT_HEVC},
        {"av1", CONVERT_AV1},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *c = names[i].codec;
            return 0;
        }
    }
    return -1;
}

int
convert_ladder_parse(const char *spec, enum convert_codec dflt, struct convert_rung *rungs, int max,
                     char *err, size_t errlen)
{
    int n = 0;
    const char *p = spec;
    while (*p != '\0') {
        char *end;
        errno = 0;
        long side = strtol(p, &end, 10);
        if (end == p || *end != ':' || errno != 0 || side < CONVERT_LADDER_MIN_SIDE ||
            side > CONVERT_LADDER_MAX_SIDE) {
            return convert_ladder_fail(
                err, errlen,
                "ladder \"%s\": expected SIZE:BITRATE with SIZE %d..%d, as in "
                "720:2800k",
                spec, CONVERT_LADDER_MIN_SIDE, CONVERT_LADDER_MAX_SIDE);
        }
        p = end + 1;
        double rate = strtod(p, &end);
        if (end == p || rate <= 0) {
            return convert_ladder_fail(err, errlen, "ladder \"%s\": bad bit rate after %ld:", spec,
                                       side);
        }
        if (*end == 'k' || *end == 'K') {
            rate *= 1e3;
            end++;
        } else if (*end == 'm' || *end == 'M') {
            rate *= 1e6;
            end++;
        }
        if (rate < 16e3 || rate > 200e6 || (*end != ',' && *end != ':' && *end != '\0')) {
            return convert_ladder_fail(
                err, errlen, "ladder \"%s\": bit rate for %ld must be 16k..200M", spec, side);
        }
        enum convert_codec codec = dflt;
        if (*end == ':') {
            char name[8];
            size_t len = strcspn(end + 1, ",");
            snprintf(name, sizeof(name), "%.*s", (int)(len < 7 ? len : 7), end + 1);
            if (len >= sizeof(name) || convert_codec_parse(name, &codec) < 0) {
                return convert_ladder_fail(err, errlen,
                                           "ladder \"%s\": unknown codec \"%.*s\" for %ld (h264, "
                                           "hevc or av1)",
                                           spec, (int)(len < 16 ? len : 16), end + 1, side);
            }
            end += 1 + len;
        }
        for (int i = 0; i < n; i++) {
            if (rungs[i].size == (int)side && rungs[i].codec == codec) {
                return convert_ladder_fail(err, errlen, "ladder \"%s\": %ld %s appears twice", spec,
                                           side, convert_codec_name(codec));
            }
        }
        if (n == max) {
            return convert_ladder_fail(err, errlen, "ladder \"%s\": more than %d rungs", spec, max);
        }
        rungs[n++] =
            (struct convert_rung){.size = (int)side, .bitrate = (int64_t)rate, .codec = codec};
        if (*end == ',' && end[1] == '\0') {
            return convert_ladder_fail(err, errlen, "ladder \"%s\": trailing comma", spec);
        }
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0) {
        return convert_ladder_fail(err, errlen, "ladder \"%s\" is empty", spec);
    }
    return n;
}

/* convert_ladder_fill - size one rendition whose short side is side. */
static void
convert_ladder_fill(struct convert_rendition *r, int side, int64_t rate, enum convert_codec codec,
                    int src_w, int src_h)
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
    r->codec = codec;
    char name[32];
    snprintf(name, sizeof(name), "%dp%s%s", s & 0xffff, codec != CONVERT_H264 ? "_" : "",
             codec != CONVERT_H264 ? convert_codec_name(codec) : "");
    snprintf(r->name, sizeof(r->name), "%.*s", (int)sizeof(r->name) - 1, name);
}

int
convert_ladder_select(const struct convert_rung *rungs, int n, int src_w, int src_h,
                      struct convert_rendition *out)
{
    int src_short = src_h < src_w ? src_h : src_w;
    int k = 0;
    /* Each codec on its own: the rungs that fit, or one at the source's size. */
    for (int c = CONVERT_H264; c <= CONVERT_AV1; c++) {
        int smallest = -1, kept = 0;
        for (int i = 0; i < n; i++) {
            if (rungs[i].codec != (enum convert_codec)c) {
                continue;
            }
            if (smallest < 0 || rungs[i].size < rungs[smallest].size) {
                smallest = i;
            }
            if (rungs[i].size <= src_short && k < CONVERT_MAX_LADDER) {
                convert_ladder_fill(&out[k++], rungs[i].size, rungs[i].bitrate, rungs[i].codec,
                                    src_w, src_h);
                kept++;
            }
        }
        if (smallest >= 0 && kept == 0 && k < CONVERT_MAX_LADDER) {
            /* Every rung is above the source: keep its size, and the smallest
             * rung's cap scaled by area (a cap, so erring high costs nothing). */
            double scale = (double)src_short / rungs[smallest].size;
            int64_t rate = (int64_t)(rungs[smallest].bitrate * scale * scale);
            convert_ladder_fill(&out[k++], src_short, rate < 200000 ? 200000 : rate,
                                rungs[smallest].codec, src_w, src_h);
        }
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
 * convert_ladder_check - o's ladder against its format: HEVC and AV1 are
 * carried in fMP4 only (MPEG-TS has no AV1 mapping that players read, and
 * HLS wants HEVC tagged hvc1 in fMP4).
 */
int
convert_ladder_check(const struct convert_opts *o, char *err, size_t errlen)
{
    struct convert_rung rungs[CONVERT_MAX_LADDER];
    const char *spec = o->ladder != NULL ? o->ladder : CONVERT_LADDER_DEFAULT;
    if (o->format != CONVERT_TS && o->format != CONVERT_FMP4) {
        return convert_ladder_fail(err, errlen, "segment format %d is not ts or fmp4",
                                   (int)o->format);
    }
    if ((unsigned)o->video_codec > CONVERT_AV1) {
        return convert_ladder_fail(err, errlen, "video codec %d is not h264, hevc or av1",
                                   (int)o->video_codec);
    }
    if (strcmp(spec, "copy") == 0) {
        return 0;
    }
    int n = convert_ladder_parse(spec, o->video_codec, rungs, CONVERT_MAX_LADDER, err, errlen);
    if (n < 0) {
        return -1;
    }
    for (int i = 0; i < n && o->format == CONVERT_TS; i++) {
        if (rungs[i].codec != CONVERT_H264) {
            return convert_ladder_fail(err, errlen,
                                       "ladder \"%s\": %s renditions need fMP4 segments, not "
                                       "MPEG-TS",
                                       spec, rungs[i].codec == CONVERT_HEVC ? "HEVC" : "AV1");
        }
    }
    return 0;
}

/*
 * The caller's own share of the work (demux, decode, audio, muxing) in
 * units of one libx264 encode at the source's size: decoding the benchmark
 * clip's 720p H.264 takes 2.3 s where encoding it at veryfast takes 9.5 s.
 */
#define CONVERT_CALLER_SHARE 0.25

/*
 * What one pixel costs each encoder at its default preset, against
 * libx264 veryfast: on a 360p clip (one thread, CPU time less decoding)
 * libx265 fast took 5 times as long and libsvtav1 preset 10 4 times. A
 * mixed ladder's lanes are balanced on these weights.
 */
static double
convert_ladder_cost(enum convert_codec c)
{
    return c == CONVERT_HEVC ? 5.0 : c == CONVERT_AV1 ? 4.0 : 1.0;
}

int
convert_ladder_threads(const struct convert_rendition *r, int n, int src_w, int src_h, int budget,
                       int x264_single, int *threads, int *lane)
{
    double area[CONVERT_MAX_LADDER], total = 0;
    for (int i = 0; i < n; i++) {
        area[i] = (double)r[i].width * r[i].height * convert_ladder_cost(r[i].codec);
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
