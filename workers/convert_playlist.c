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

int
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

/* convert_playlist_open - the temporary file beside OUTDIR/<dir>/<name>. */
static FILE *
convert_playlist_open(const char *outdir, const char *dir, const char *name, char *path,
                      size_t pathlen, char *tmp, size_t tmplen, char *err, size_t errlen)
{
    snprintf(path, pathlen, "%s%s%s/%s", outdir, dir != NULL ? "/" : "", dir != NULL ? dir : "",
             name);
    snprintf(tmp, tmplen, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        convert_err_set(err, errlen, AVERROR(errno), "%s: create", tmp);
    }
    return f;
}

int
convert_playlist_media(const char *outdir, const struct convert_variant *v, char *err,
                       size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f = convert_playlist_open(outdir, v->name, "index.m3u8", path, sizeof(path), tmp,
                                    sizeof(tmp), err, errlen);
    if (f == NULL) {
        return -1;
    }
    /* fMP4 needs version 6 for EXT-X-MAP without I-frames only; 7 as
     * Apple's authoring specification asks of fMP4 (subtitles stay 3) */
    fprintf(f,
            "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%ld\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n",
            v->map != NULL ? 7 : 3, convert_playlist_target(v));
    if (v->map != NULL) {
        fprintf(f, "#EXT-X-MAP:URI=\"%s\"\n", v->map);
    }
    for (unsigned i = 0; i < v->n_segs; i++) {
        fprintf(f, "#EXTINF:%.6f,\nseg_%05u.%s\n", v->segs[i].duration, i, v->ext);
    }
    fprintf(f, "#EXT-X-ENDLIST\n");
    return convert_playlist_commit(f, tmp, path, err, errlen);
}

/*
 * convert_playlist_keysegs - the I-frame playlist as segments: each
 * keyframe's bytes lasting until the next keyframe (the last until the
 * rendition's end), so that the same target and peak rules apply.
 */
static struct convert_mux_seg *
convert_playlist_keysegs(const struct convert_variant *v)
{
    struct convert_mux_seg *ks = calloc(v->n_keys > 0 ? v->n_keys : 1, sizeof(*ks));
    if (ks == NULL) {
        return NULL;
    }
    double end = 0;
    for (unsigned i = 0; i < v->n_segs; i++) {
        end += v->segs[i].duration;
    }
    for (unsigned i = 0; i < v->n_keys; i++) {
        double next = i + 1 < v->n_keys ? v->keys[i + 1].time : end;
        ks[i].duration = next > v->keys[i].time ? next - v->keys[i].time : 0;
        ks[i].size = v->keys[i].size;
    }
    return ks;
}

/* convert_playlist_iframes - OUTDIR/<name>/iframes.m3u8: a byte range per keyframe. */
int
convert_playlist_iframes(const char *outdir, const struct convert_variant *v, char *err,
                         size_t errlen)
{
    struct convert_mux_seg *ks = convert_playlist_keysegs(v);
    if (ks == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", outdir);
    }
    struct convert_variant iv = {.segs = ks, .n_segs = v->n_keys};
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f = convert_playlist_open(outdir, v->name, "iframes.m3u8", path, sizeof(path), tmp,
                                    sizeof(tmp), err, errlen);
    if (f == NULL) {
        free(ks);
        return -1;
    }
    fprintf(f,
            "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%ld\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-INDEPENDENT-SEGMENTS\n",
            v->map != NULL ? 7 : 4, convert_playlist_target(&iv));
    if (v->map != NULL) {
        fprintf(f, "#EXT-X-MAP:URI=\"%s\"\n", v->map);
    }
    for (unsigned i = 0; i < v->n_keys; i++) {
        fprintf(f, "#EXTINF:%.6f,\n#EXT-X-BYTERANGE:%llu@%llu\nseg_%05u.%s\n", ks[i].duration,
                (unsigned long long)v->keys[i].size, (unsigned long long)v->keys[i].offset,
                v->keys[i].seg, v->ext);
    }
    fprintf(f, "#EXT-X-ENDLIST\n");
    free(ks);
    return convert_playlist_commit(f, tmp, path, err, errlen);
}

/* What the master playlist says of one rendition, measured once. */
struct convert_playlist_rate {
    uint64_t peak, avg;
};

/* A group of alternative renditions and what the heaviest of them costs. */
/* The audio group (the engine makes one, "aac") and what its heaviest member costs. */
struct convert_playlist_group {
    const char *id; /* NULL: no group (no audio, or audio muxed) */
    struct convert_playlist_rate rate;
    int main; /* the member an audio-only variant plays: the DEFAULT */
};

/* One EXT-X-STREAM-INF line to write. */
struct convert_playlist_line {
    int rend;    /* the rendition it names: a video one, or audio for audio only */
    int primary; /* eligible to be listed first: video, else the audio */
    uint64_t peak, avg;
};

/* convert_playlist_attr - a quoted-string attribute value: no '"', no line breaks. */
static void
convert_playlist_attr(FILE *f, const char *name, const char *value)
{
    fprintf(f, ",%s=\"", name);
    for (const char *p = value; *p != '\0'; p++) {
        fputc(*p == '"' || *p == '\n' || *p == '\r' ? '\'' : *p, f);
    }
    fputc('"', f);
}

/*
 * convert_playlist_first - which line players should start on: "auto"
 * (or NULL) the one whose BANDWIDTH is nearest 2 Mb/s (Apple's authoring
 * specification 1.32), "lowest", "highest", or the one of the video
 * rendition so named (auto when no rendition has that name). Among the
 * video variants (the audio-only ones when there is no video).
 */
static int
convert_playlist_first(const struct convert_playlist_line *l, int n,
                       const struct convert_variant *v, const char *how)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!l[i].primary) {
            continue;
        }
        if (best < 0) {
            best = i;
            continue;
        }
        if (how != NULL && strcmp(how, "lowest") == 0) {
            best = l[i].peak < l[best].peak ? i : best;
        } else if (how != NULL && strcmp(how, "highest") == 0) {
            best = l[i].peak > l[best].peak ? i : best;
        } else {
            double di = fabs((double)l[i].peak - 2e6), db = fabs((double)l[best].peak - 2e6);
            best = di < db || (di == db && l[i].peak < l[best].peak) ? i : best;
        }
    }
    if (how != NULL && strcmp(how, "auto") != 0 && strcmp(how, "lowest") != 0 &&
        strcmp(how, "highest") != 0) {
        for (int i = 0; i < n; i++) {
            if (l[i].primary && strcmp(v[l[i].rend].name, how) == 0) {
                return i;
            }
        }
    }
    return best;
}

/*
 * convert_playlist_autoselect - AUTOSELECT for v[i]: YES for the DEFAULT,
 * and for the first member of its group in each language; NO for the
 * others (a 5.1 beside the stereo, a second track in the same language),
 * so that the AUTOSELECT members of a group differ (RFC 8216 4.3.4.1.1).
 */
static int
convert_playlist_autoselect(const struct convert_variant *v, int n, int i)
{
    if (v[i].is_default) {
        return 1;
    }
    for (int k = 0; k < n; k++) {
        const struct convert_variant *o = &v[k];
        if (k != i && o->kind == v[i].kind && o->group != NULL && v[i].group != NULL &&
            strcmp(o->group, v[i].group) == 0 && strcmp(o->language, v[i].language) == 0 &&
            o->forced == v[i].forced && (o->is_default || k < i)) {
            return 0;
        }
    }
    return 1;
}

/* convert_playlist_media_tag - one EXT-X-MEDIA line for an audio or subtitle rendition. */
static void
convert_playlist_media_tag(FILE *f, const struct convert_variant *x, int autoselect)
{
    fprintf(f, "#EXT-X-MEDIA:TYPE=%s", x->kind == CONVERT_AUDIO ? "AUDIO" : "SUBTITLES");
    convert_playlist_attr(f, "GROUP-ID", x->group);
    convert_playlist_attr(f, "NAME", x->label);
    if (x->language[0] != '\0') {
        convert_playlist_attr(f, "LANGUAGE", x->language);
    }
    fprintf(f, ",DEFAULT=%s,AUTOSELECT=%s", x->is_default ? "YES" : "NO",
            autoselect ? "YES" : "NO");
    if (x->kind == CONVERT_AUDIO) {
        fprintf(f, ",CHANNELS=\"%d\"", x->channels);
    } else {
        fprintf(f, ",FORCED=%s", x->forced ? "YES" : "NO");
    }
    fprintf(f, ",URI=\"%s/index.m3u8\"\n", x->name);
}

/*
 * convert_playlist_master - master.m3u8: the audio groups and the
 * subtitle group (EXT-X-MEDIA), a variant per video rendition and audio
 * group, an audio-only variant per audio group, then an I-frame variant
 * per video rendition. BANDWIDTH and AVERAGE-BANDWIDTH add the heaviest
 * rendition of each group a variant names (RFC 8216 4.3.4.2). The first
 * variant is the one players should start on; the rest follow in
 * bandwidth order, video variants before audio-only ones.
 */
int
convert_playlist_master(const char *outdir, const struct convert_variant *v, int n,
                        const struct convert_master *how, char *err, size_t errlen)
{
    struct convert_playlist_rate rate[CONVERT_MAX_RENDITIONS];
    struct convert_playlist_group ag = {0};
    struct convert_playlist_rate subs = {0, 0};
    int have_subs = 0, have_video = 0;
    for (int i = 0; i < n; i++) {
        rate[i].peak = convert_playlist_peak(&v[i]);
        rate[i].avg = convert_playlist_average(&v[i]);
        struct convert_playlist_rate *max = NULL;
        if (v[i].kind == CONVERT_VIDEO) {
            have_video = 1;
        } else if (v[i].kind == CONVERT_SUBTITLES) {
            have_subs = 1;
            max = &subs;
        } else if (v[i].group != NULL) {
            if (ag.id == NULL || v[i].is_default) {
                ag.main = i;
            }
            ag.id = v[i].group;
            max = &ag.rate;
        }
        if (max != NULL) {
            max->peak = rate[i].peak > max->peak ? rate[i].peak : max->peak;
            max->avg = rate[i].avg > max->avg ? rate[i].avg : max->avg;
        }
    }

    /* The variants: each video rendition with the audio group, then audio
     * only (the group's DEFAULT, or muxed audio of an input without video). */
    struct convert_playlist_line line[CONVERT_MAX_RENDITIONS + 1];
    int nl = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].kind == CONVERT_VIDEO) {
            line[nl++] = (struct convert_playlist_line){
                .rend = i,
                .primary = 1,
                .peak = rate[i].peak + ag.rate.peak + subs.peak,
                .avg = rate[i].avg + ag.rate.avg + subs.avg,
            };
        }
    }
    int nvideo = nl;
    for (int i = 0; i < n; i++) {
        if (v[i].kind == CONVERT_AUDIO && (v[i].group == NULL || i == ag.main)) {
            int grouped = v[i].group != NULL;
            line[nl++] = (struct convert_playlist_line){
                .rend = i,
                .primary = !have_video,
                .peak = (grouped ? ag.rate.peak : rate[i].peak) + (grouped ? subs.peak : 0),
                .avg = (grouped ? ag.rate.avg : rate[i].avg) + (grouped ? subs.avg : 0),
            };
        }
    }
    /* By bandwidth, video variants first (a stable insertion sort). */
    struct convert_playlist_line sorted[CONVERT_MAX_RENDITIONS + 1];
    for (int i = 0; i < nl; i++) {
        int j = i;
        for (; j > 0; j--) {
            const struct convert_playlist_line *a = &sorted[j - 1];
            int av = v[a->rend].kind == CONVERT_VIDEO, bv = i < nvideo;
            if (av > bv || (av == bv && a->peak <= line[i].peak)) {
                break;
            }
            sorted[j] = sorted[j - 1];
        }
        sorted[j] = line[i];
    }
    int first = convert_playlist_first(sorted, nl, v, how != NULL ? how->first : NULL);
    if (first > 0) {
        struct convert_playlist_line t = sorted[first];
        memmove(&sorted[1], &sorted[0], (size_t)first * sizeof(sorted[0]));
        sorted[0] = t;
    }

    char path[PATH_MAX], tmp[PATH_MAX + 8];
    FILE *f = convert_playlist_open(outdir, NULL, "master.m3u8", path, sizeof(path), tmp,
                                    sizeof(tmp), err, errlen);
    if (f == NULL) {
        return -1;
    }
    int fmp4 = 0;
    for (int i = 0; i < n; i++) {
        fmp4 |= v[i].map != NULL;
    }
    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", fmp4 ? 7 : 4);
    for (int i = 0; i < n; i++) {
        if (v[i].kind == CONVERT_AUDIO && v[i].group != NULL) {
            convert_playlist_media_tag(f, &v[i], convert_playlist_autoselect(v, n, i));
        }
    }
    for (int i = 0; i < n; i++) {
        if (v[i].kind == CONVERT_SUBTITLES) {
            convert_playlist_media_tag(f, &v[i], convert_playlist_autoselect(v, n, i));
        }
    }
    int cc = how != NULL && how->captions > 0;
    if (cc) {
        fprintf(f, "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC1\","
                   "DEFAULT=YES,AUTOSELECT=YES,INSTREAM-ID=\"CC1\"\n");
    }
    for (int k = 0; k < nl; k++) {
        const struct convert_playlist_line *l = &sorted[k];
        const struct convert_variant *x = &v[l->rend];
        int video = x->kind == CONVERT_VIDEO;
        int grouped = ag.id != NULL && (video || x->group != NULL);
        char codecs[128];
        /* A group's members share a codec (AAC-LC) and differ in channels. */
        snprintf(codecs, sizeof(codecs), "%s%s%s", x->codecs, video && grouped ? "," : "",
                 video && grouped ? v[ag.main].codecs : "");
        fprintf(f, "#EXT-X-STREAM-INF:BANDWIDTH=%llu,AVERAGE-BANDWIDTH=%llu,CODECS=\"%s\"",
                (unsigned long long)l->peak, (unsigned long long)l->avg, codecs);
        if (video) {
            fprintf(f, ",RESOLUTION=%dx%d,FRAME-RATE=%.3f,VIDEO-RANGE=%s", x->width, x->height,
                    x->fps, x->range != NULL ? x->range : "SDR");
        }
        if (grouped) {
            convert_playlist_attr(f, "AUDIO", ag.id);
        }
        if (have_subs) {
            fprintf(f, ",SUBTITLES=\"subs\"");
        }
        /* NONE must then be on every variant (RFC 8216 4.3.4.2); the group
         * only where there is video to carry it */
        if (how != NULL && how->captions == 0) {
            fprintf(f, ",CLOSED-CAPTIONS=NONE");
        } else if (video && cc) {
            fprintf(f, ",CLOSED-CAPTIONS=\"cc\"");
        }
        fprintf(f, "\n%s/index.m3u8\n", x->name);
    }
    for (int i = 0; i < n; i++) {
        const struct convert_variant *x = &v[i];
        if (x->kind != CONVERT_VIDEO || x->n_keys == 0) {
            continue;
        }
        struct convert_mux_seg *ks = convert_playlist_keysegs(x);
        if (ks == NULL) {
            fclose(f);
            remove(tmp);
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", outdir);
        }
        struct convert_variant iv = {.segs = ks, .n_segs = x->n_keys};
        /* Only the picture: the codecs of the video alone. */
        char vc[64];
        snprintf(vc, sizeof(vc), "%.*s", (int)strcspn(x->codecs, ","), x->codecs);
        fprintf(f,
                "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%llu,AVERAGE-BANDWIDTH=%llu,CODECS=\"%s\","
                "RESOLUTION=%dx%d,VIDEO-RANGE=%s,URI=\"%s/iframes.m3u8\"\n",
                (unsigned long long)convert_playlist_peak(&iv),
                (unsigned long long)convert_playlist_average(&iv), vc, x->width, x->height,
                x->range != NULL ? x->range : "SDR", x->name);
        free(ks);
    }
    return convert_playlist_commit(f, tmp, path, err, errlen);
}
