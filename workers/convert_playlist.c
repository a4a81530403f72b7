/*
 * convert_playlist.c - write the VOD media playlists and the master
 * playlist from what the muxers measured (sizes and durations of the
 * segments actually on disk), never from what was asked for.
 *
 * Each file is written under a temporary name and renamed, so a reader
 * sees the old file or the whole new one.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/convert_int.h"

/* convert_playlist_target - EXT-X-TARGETDURATION: every EXTINF, rounded, fits. */
static long
convert_playlist_target(const struct convert_variant *v)
{
    long t = 1;
    for (unsigned i = 0; i < v->n_segs; i++) {
        long r = lround(v->segs[i].duration);
        t = r > t ? r : t;
    }
    return t;
}

/*
 * convert_playlist_peak - RFC 8216 4.1's peak segment bit rate: the highest
 * rate of any run of consecutive segments lasting 0.5 to 1.5 times the
 * target duration (the whole stream if it is shorter than that).
 */
static uint64_t
convert_playlist_peak(const struct convert_variant *v)
{
    double target = (double)convert_playlist_target(v);
    double peak = 0, total_bits = 0, total_time = 0;
    for (unsigned i = 0; i < v->n_segs; i++) {
        double bits = 0, time = 0;
        for (unsigned j = i; j < v->n_segs; j++) {
            bits += 8.0 * (double)v->segs[j].size;
            time += v->segs[j].duration;
            if (time > 1.5 * target) {
                break;
            }
            if (time >= 0.5 * target && bits / time > peak) {
                peak = bits / time;
            }
        }
        total_bits += 8.0 * (double)v->segs[i].size;
        total_time += v->segs[i].duration;
    }
    if (peak == 0 && total_time > 0) {
        peak = total_bits / total_time;
    }
    return (uint64_t)ceil(peak);
}

static uint64_t
convert_playlist_average(const struct convert_variant *v)
{
    double bits = 0, time = 0;
    for (unsigned i = 0; i < v->n_segs; i++) {
        bits += 8.0 * (double)v->segs[i].size;
        time += v->segs[i].duration;
    }
    return time > 0 ? (uint64_t)ceil(bits / time) : 0;
}

/* convert_playlist_commit - close tmp and rename it over path. */
static int
convert_playlist_commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int e = errno ? errno : EIO;
        remove(tmp);
        return convert_err_set(err, errlen, AVERROR(e), "%s: write", tmp);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        remove(tmp);
        return convert_err_set(err, errlen, AVERROR(e), "%s: rename", tmp);
    }
    return 0;
}

int
convert_playlist_media(const char *outdir, const struct convert_variant *v, char *err,
                       size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/%s/index.m3u8", outdir, v->name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: create", tmp);
    }
    fprintf(f,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%ld\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n",
            convert_playlist_target(v));
    for (unsigned i = 0; i < v->n_segs; i++) {
        fprintf(f, "#EXTINF:%.6f,\nseg_%05u.ts\n", v->segs[i].duration, i);
    }
    fprintf(f, "#EXT-X-ENDLIST\n");
    return convert_playlist_commit(f, tmp, path, err, errlen);
}

int
convert_playlist_master(const char *outdir, const struct convert_variant *v, int n, char *err,
                        size_t errlen)
{
    uint64_t peak[CONVERT_MAX_RENDITIONS], avg[CONVERT_MAX_RENDITIONS];
    int order[CONVERT_MAX_RENDITIONS];
    for (int i = 0; i < n; i++) {
        peak[i] = convert_playlist_peak(&v[i]);
        avg[i] = convert_playlist_average(&v[i]);
        order[i] = i;
    }
    /* Lowest bandwidth first: players start low and climb. */
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && peak[order[j]] < peak[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }

    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/master.m3u8", outdir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: create", tmp);
    }
    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (int k = 0; k < n; k++) {
        const struct convert_variant *x = &v[order[k]];
        fprintf(f, "#EXT-X-STREAM-INF:BANDWIDTH=%llu,AVERAGE-BANDWIDTH=%llu,CODECS=\"%s\"",
                (unsigned long long)peak[order[k]], (unsigned long long)avg[order[k]], x->codecs);
        if (x->width > 0) {
            fprintf(f, ",RESOLUTION=%dx%d,FRAME-RATE=%.3f", x->width, x->height, x->fps);
        }
        fprintf(f, "\n%s/index.m3u8\n", x->name);
    }
    return convert_playlist_commit(f, tmp, path, err, errlen);
}
