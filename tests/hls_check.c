/*
 * hls_check.c - see hls_check.h. It reads the files as a player would
 * (through tests/convert_fixtures.c, never through the writer's code) and
 * says what is wrong.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/pixfmt.h>

#include "tests/convert_fixtures.h"
#include "tests/hls_check.h"

/*
 * check_codecs - a variant's CODECS for its video against what the
 * segment's bitstream says (FFmpeg's parse of it): avc1.PPCCLL, hvc1.P.C.
 * [LH]L... or av01.P.LLT.DD, each naming the profile and level the stream
 * really has.
 */
static void
check_codecs(const char *seg, const char *codecs, const struct convert_fixtures_seg *s,
             const struct hls_expect *e)
{
    const char *c;
    if ((c = strstr(codecs, "avc1.")) != NULL) {
        unsigned prof = 0, cons = 0, lev = 0;
        cr_assert_eq(sscanf(c, "avc1.%2x%2x%2x", &prof, &cons, &lev), 3, "CODECS %s", codecs);
        cr_assert_eq(s->vcodec, AV_CODEC_ID_H264, "%s: not H.264 as %s says", seg, codecs);
        cr_assert_eq((unsigned)s->profile & 0xff, prof, "%s: profile %d vs %s", seg, s->profile,
                     codecs);
        if (!e->copy && !e->any_profile) {
            cr_assert_eq(s->profile, FF_PROFILE_H264_HIGH, "%s: not High", seg);
        }
        cr_assert_eq((unsigned)s->level, lev, "%s: level %d vs %s", seg, s->level, codecs);
    } else if ((c = strstr(codecs, "hvc1.")) != NULL) {
        int prof = -1, lev = -1;
        unsigned compat = 0;
        char tier = 0;
        cr_assert_eq(sscanf(c, "hvc1.%d.%X.%c%d", &prof, &compat, &tier, &lev), 4, "CODECS %s",
                     codecs);
        cr_assert_eq(s->vcodec, AV_CODEC_ID_HEVC, "%s: not HEVC as %s says", seg, codecs);
        cr_assert_eq(s->profile, prof, "%s: profile %d vs %s", seg, s->profile, codecs);
        cr_assert(compat & (1u << prof), "%s: profile %d not among the compatible %X", codecs, prof,
                  compat);
        cr_assert(tier == 'L' || tier == 'H', "CODECS %s: tier", codecs);
        cr_assert_eq(s->level, lev, "%s: level %d vs %s", seg, s->level, codecs);
    } else if ((c = strstr(codecs, "av01.")) != NULL) {
        int prof = -1, lev = -1, depth = 0;
        char tier = 0;
        cr_assert_eq(sscanf(c, "av01.%d.%2d%c.%2d", &prof, &lev, &tier, &depth), 4, "CODECS %s",
                     codecs);
        cr_assert_eq(s->vcodec, AV_CODEC_ID_AV1, "%s: not AV1 as %s says", seg, codecs);
        cr_assert_eq(s->profile, prof, "%s: profile %d vs %s", seg, s->profile, codecs);
        cr_assert_eq(s->level, lev, "%s: level %d vs %s", seg, s->level, codecs);
        cr_assert(tier == 'M' || tier == 'H', "CODECS %s: tier", codecs);
        cr_assert_eq(depth, 8, "CODECS %s: the ladder is 8-bit", codecs);
    } else {
        cr_assert_fail("CODECS %s names no video codec (avc1, hvc1, av01)", codecs);
    }
    cr_assert(e->fmp4 || s->vcodec == AV_CODEC_ID_H264, "%s: %s in MPEG-TS", seg, codecs);
}

/* check_decodes - ffmpeg decodes init + segment to the end without a word. */
static void
check_decodes(const char *init, const char *seg)
{
    char *joined = convert_fixtures_join(init, seg, 0, -1);
    cr_assert_not_null(joined, "%s + %s", init, seg);
    char cmd[8600];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -i '%s' -map 0 -f null - 2>&1", joined);
    FILE *p = popen(cmd, "r");
    char line[512] = "";
    int said = p != NULL && fgets(line, sizeof(line), p) != NULL;
    int st = p != NULL ? pclose(p) : -1;
    unlink(joined);
    free(joined);
    cr_assert(st == 0 && !said, "%s after %s does not decode cleanly: %s", seg, init, line);
}

/* What one media playlist's segments showed, for comparing renditions. */
struct seen {
    int n;                                    /* segments */
    double starts[CONVERT_FIXTURES_MAX_SEGS]; /* first packet time of each (video or audio) */
    int nkeys;
    double keys[CONVERT_FIXTURES_MAX_KEYS * 4];
    double peak; /* RFC 8216 4.1's peak segment bit rate, from the files' sizes */
};

/*
 * rfc_peak - RFC 8216 4.1: the largest bit rate of any run of consecutive
 * segments lasting 0.5 to 1.5 target durations (all of them when shorter),
 * computed here from the files on disk, apart from the writer's code.
 */
static double
rfc_peak(const double *dur, const double *bytes, int n, long target)
{
    double peak = 0, all_b = 0, all_t = 0;
    for (int i = 0; i < n; i++) {
        all_b += 8 * bytes[i];
        all_t += dur[i];
        double b = 0, t = 0;
        for (int k = i; k < n; k++) {
            b += 8 * bytes[k];
            t += dur[k];
            if (t > 1.5 * (double)target) {
                break;
            }
            if (t >= 0.5 * (double)target && b / t > peak) {
                peak = b / t;
            }
        }
    }
    return peak > 0 ? peak : all_t > 0 ? all_b / all_t : 0;
}

/*
 * check_playlist - one rendition's media playlist and every segment it
 * names: durations, the promised bit rate, codecs and sizes, keyframes.
 */
static void
check_playlist(const char *out, const char *uri, const struct convert_fixtures_variant *var,
               int video, int audio, int channels, double in_dur, double frame,
               const struct hls_expect *e, struct seen *seen)
{
    char path[4096], dir[4096], why[512] = "";
    struct convert_fixtures_media m;
    snprintf(dir, sizeof(dir), "%s/%s", out, uri);
    *strrchr(dir, '/') = '\0';
    snprintf(path, sizeof(path), "%s/%s", out, uri);
    cr_assert_eq(convert_fixtures_media(path, &m, why, sizeof(why)), 0, "%s", why);
    cr_assert_geq(m.version, 3);
    cr_assert(m.vod && m.independent && m.endlist, "%s: VOD/INDEPENDENT/ENDLIST missing", path);
    char init[4200] = "";
    if (e->fmp4) {
        cr_assert_str_eq(m.map, "init.mp4", "%s: EXT-X-MAP missing", path);
        cr_assert_geq(m.version, 7, "%s: fMP4 playlists are version 7", path);
        snprintf(init, sizeof(init), "%s/%s", dir, m.map);
        struct stat ist;
        cr_assert_eq(stat(init, &ist), 0, "%s missing", init);
        if (video && strstr(var->codecs, "hvc1.") != NULL) {
            /* Apple plays HEVC in fMP4 with the hvc1 sample entry only */
            char buf[4096];
            FILE *f = fopen(init, "rb");
            size_t got = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
            if (f != NULL) {
                fclose(f);
            }
            cr_assert_not_null(memmem(buf, got, "hvc1", 4), "%s: no hvc1 sample entry", init);
            cr_assert_null(memmem(buf, got, "hev1", 4), "%s: hev1 sample entry", init);
        }
    } else {
        cr_assert_str_eq(m.map, "", "%s: EXT-X-MAP in an MPEG-TS playlist", path);
    }
    cr_assert_eq(m.media_sequence, 0);
    double tol = frame + 1e-3;
    if (e->partial) {
        cr_assert(m.sum > 0.5 && m.sum < in_dur, "%s: %.3f s of a truncated %.3f s", path, m.sum,
                  in_dur);
    } else {
        cr_assert_lt(fabs(m.sum - in_dur), tol, "%s: EXTINF sum %.4f, input %.4f", path, m.sum,
                     in_dur);
    }
    memset(seen, 0, sizeof(*seen));
    seen->n = m.n;
    double bytes[CONVERT_FIXTURES_MAX_SEGS];
    for (int k = 0; k < m.n; k++) {
        cr_assert_leq(lround(m.extinf[k]), m.target, "EXTINF %.3f > target %ld", m.extinf[k],
                      m.target);
        if (!e->copy) {
            cr_assert_leq(m.extinf[k], e->seg + 0.5, "%s: segment %d lasts %.3f s", path, k,
                          m.extinf[k]);
        }
        char seg[4200];
        snprintf(seg, sizeof(seg), "%s/%.63s", dir, m.uri[k]);
        struct convert_fixtures_seg s;
        if (e->fmp4) {
            /* a player reads a media segment after its init segment */
            cr_assert(strstr(m.uri[k], ".m4s") != NULL, "%s: %s", path, m.uri[k]);
            char *joined = convert_fixtures_join(init, seg, 0, -1);
            cr_assert_not_null(joined, "%s", seg);
            int rc = convert_fixtures_probe(joined, &s);
            unlink(joined);
            free(joined);
            cr_assert_eq(rc, 0, "%s after %s does not open", seg, init);
            if (k == 0 || k == m.n / 2 || k == m.n - 1) {
                check_decodes(init, seg);
            }
        } else {
            cr_assert_eq(convert_fixtures_probe(seg, &s), 0, "%s does not open", seg);
        }
        cr_assert_eq(s.has_video, video, "%s: video %d", seg, s.has_video);
        cr_assert_eq(s.has_audio, audio, "%s: audio %d", seg, s.has_audio);
        /* The bit rate the master promises covers every full segment. */
        struct stat st;
        cr_assert_eq(stat(seg, &st), 0);
        bytes[k] = (double)st.st_size;
        if (m.extinf[k] >= m.target / 2.0) {
            cr_assert_leq(st.st_size * 8 / m.extinf[k], var->bandwidth + 1.0,
                          "%s: %.0f b/s above BANDWIDTH %ld", seg, st.st_size * 8 / m.extinf[k],
                          var->bandwidth);
        }
        if (s.has_video) {
            cr_assert(s.first_video_key, "%s does not start with a keyframe", seg);
            cr_assert_eq(s.pix_fmt, AV_PIX_FMT_YUV420P, "%s: pix_fmt %d", seg, s.pix_fmt);
            cr_assert_eq(s.width, var->width, "%s: %dx%d, master says %dx%d", seg, s.width,
                         s.height, var->width, var->height);
            cr_assert_eq(s.height, var->height);
            check_codecs(seg, var->codecs, &s, e);
            seen->starts[k] = s.first_video_pts;
            for (int q = 0; q < s.n_keys && seen->nkeys < CONVERT_FIXTURES_MAX_KEYS * 4; q++) {
                seen->keys[seen->nkeys++] = s.keys[q];
            }
        } else {
            seen->starts[k] = s.first_audio_pts;
        }
        if (s.has_audio) {
            cr_assert_eq(s.acodec, AV_CODEC_ID_AAC);
            if (!e->copy) {
                cr_assert_eq(s.channels, channels, "%s: %d channels, expected %d", seg, s.channels,
                             channels);
                cr_assert_eq(s.sample_rate, 48000);
                cr_assert_eq(s.aac_profile, FF_PROFILE_AAC_LOW);
            }
        }
    }
    seen->peak = rfc_peak(m.extinf, bytes, m.n, m.target);
}

/* check_iframes - every byte range of an I-frame playlist decodes as one keyframe. */
static void
check_iframes(const char *out, const struct convert_fixtures_variant *iv,
              const struct convert_fixtures_variant *video, const struct seen *seen,
              const struct hls_expect *e)
{
    char path[4096], dir[4096], why[512] = "";
    snprintf(path, sizeof(path), "%s/%s", out, iv->uri);
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = '\0';
    struct convert_fixtures_media m;
    cr_assert_eq(convert_fixtures_media(path, &m, why, sizeof(why)), 0, "%s", why);
    cr_assert(m.iframes_only, "%s: no EXT-X-I-FRAMES-ONLY", path);
    char init[4200] = "";
    if (m.map[0] != '\0') {
        snprintf(init, sizeof(init), "%s/%s", dir, m.map);
    }
    cr_assert_eq(m.map[0] != '\0', e->fmp4, "%s: EXT-X-MAP %s", path, m.map);
    cr_assert_geq(m.version, 4, "%s: I-frame playlists need version 4", path);
    cr_assert(m.vod && m.endlist, "%s", path);
    cr_assert_eq(m.n, seen->nkeys, "%s: %d entries for %d keyframes", path, m.n, seen->nkeys);
    cr_assert_eq(iv->width, video->width);
    cr_assert_eq(iv->height, video->height);
    cr_assert_eq(strncmp(iv->codecs, video->codecs, strcspn(video->codecs, ",")), 0, "%s vs %s",
                 iv->codecs, video->codecs);
    cr_assert_null(strchr(iv->codecs, ','), "I-frame CODECS %s names more than the video",
                   iv->codecs);
    cr_assert_str_eq(iv->range, "SDR");
    for (int k = 0; k < m.n; k++) {
        cr_assert_geq(m.range_len[k], 188, "%s: entry %d has no byte range", path, k);
        char seg[4200];
        snprintf(seg, sizeof(seg), "%s/%.63s", dir, m.uri[k]);
        int keys = 0;
        int frames = convert_fixtures_range_frames(seg, init[0] ? init : NULL, m.range_off[k],
                                                   m.range_len[k], &keys);
        cr_assert_eq(frames, 1, "%s: %lld@%lld of %s decodes %d frames", path, m.range_len[k],
                     m.range_off[k], m.uri[k], frames);
        cr_assert_eq(keys, 1, "%s: entry %d is not a keyframe", path, k);
    }
}

void
hls_check_output(const char *input, const char *out, const struct hls_expect *e)
{
    char path[4096], why[512] = "";
    double in_dur, fps;
    int in_w, in_h;
    cr_assert_eq(convert_fixtures_input(input, &in_dur, &in_w, &in_h, &fps), 0);
    double frame = fps > 0 ? 1 / fps : 1024.0 / 48000;

    struct convert_fixtures_variant v[16], iv[8];
    struct convert_fixtures_rendition r[16];
    snprintf(path, sizeof(path), "%s/master.m3u8", out);
    int n = convert_fixtures_master(path, v, 16, why, sizeof(why));
    cr_assert_gt(n, 0, "%s: %s", path, why);
    int nr = convert_fixtures_renditions(path, r, 16, why, sizeof(why));
    int ni = convert_fixtures_iframes(path, iv, 8, why, sizeof(why));

    /* Audio renditions: stereo always, 5.1 too for a surround input. */
    int separate = e->audio && !e->muxed, naudio = 0, n6 = 0, ndefault = 0;
    for (int k = 0; k < nr; k++) {
        if (strcmp(r[k].type, "AUDIO") == 0) {
            naudio++;
            n6 += strcmp(r[k].channels, "6") == 0;
            cr_assert(strcmp(r[k].channels, "2") == 0 || strcmp(r[k].channels, "6") == 0,
                      "CHANNELS=%s", r[k].channels);
            cr_assert_str_eq(r[k].group, "aac");
            ndefault += r[k].is_default;
            cr_assert(!r[k].is_default || strcmp(r[k].channels, "2") == 0,
                      "%s: a 5.1 rendition is DEFAULT", r[k].uri);
            cr_assert(r[k].name[0] != '\0', "%s: no NAME", r[k].uri);
        }
    }
    /* RFC 8216 4.3.4.1.1: in a group, NAMEs differ, DEFAULT implies
     * AUTOSELECT, and the AUTOSELECT members differ in language */
    for (int k = 0; k < nr; k++) {
        cr_assert(!r[k].is_default || r[k].autoselect, "%s: DEFAULT without AUTOSELECT", r[k].uri);
        for (int q = 0; q < k; q++) {
            if (strcmp(r[k].group, r[q].group) != 0)
                continue;
            cr_assert_str_neq(r[k].name, r[q].name, "two members of %s named %s", r[k].group,
                              r[k].name);
            cr_assert(!(r[k].autoselect && r[q].autoselect &&
                        strcmp(r[k].language, r[q].language) == 0 && r[k].forced == r[q].forced),
                      "%s and %s: AUTOSELECT twice for language \"%s\"", r[q].uri, r[k].uri,
                      r[k].language);
        }
    }
    cr_assert_eq(naudio > 0, separate, "%d audio renditions for %s audio", naudio,
                 separate ? "separate" : "no or muxed");
    cr_assert_eq(n6 > 0, separate && e->surround, "%d 5.1 renditions", n6);
    cr_assert_eq(ndefault, separate ? 1 : 0, "%d audio renditions say DEFAULT=YES", ndefault);

    /* The variants: the first one a player starts on, the rest by bandwidth. */
    int nvideo = 0, naonly = 0;
    for (int i = 0; i < n; i++) {
        int video = v[i].width > 0;
        cr_assert_gt(v[i].bandwidth, 0);
        cr_assert_gt(v[i].average, 0);
        cr_assert_leq(v[i].average, v[i].bandwidth, "AVERAGE-BANDWIDTH above BANDWIDTH");
        if (i > 1) {
            int pv = v[i - 1].width > 0;
            cr_assert(pv > video || (pv == video && v[i].bandwidth >= v[i - 1].bandwidth),
                      "variant %d (%s) out of order", i, v[i].uri);
        }
        /* NONE on one variant means NONE on all (RFC 8216 4.3.4.2) */
        cr_assert_str_eq(v[i].cc, e->copy || !e->video ? "" : "NONE", "%s: CLOSED-CAPTIONS",
                         v[i].uri);
        if (!video) {
            naonly++;
            cr_assert_eq(strcmp(v[i].codecs, "mp4a.40.2"), 0, "audio-only CODECS %s", v[i].codecs);
            continue;
        }
        nvideo++;
        cr_assert(e->audio == (strstr(v[i].codecs, "mp4a.40.2") != NULL), "CODECS %s", v[i].codecs);
        cr_assert(strstr(v[i].codecs, "avc1.") != NULL || strstr(v[i].codecs, "hvc1.") != NULL ||
                      strstr(v[i].codecs, "av01.") != NULL,
                  "CODECS %s", v[i].codecs);
        cr_assert_str_eq(v[i].range, "SDR", "VIDEO-RANGE");
        if (separate) {
            cr_assert_str_eq(v[i].audio, "aac", "video variant %s names no audio group", v[i].uri);
        } else {
            cr_assert_str_eq(v[i].audio, "");
        }
        cr_assert_gt(v[i].fps, 0, "no FRAME-RATE");
        /* Never upscaled, aspect ratio kept (within even rounding). */
        cr_assert_leq(v[i].width, in_w);
        cr_assert_leq(v[i].height, in_h);
        cr_assert_lt(fabs((double)v[i].width / v[i].height - (double)in_w / in_h),
                     2.0 / v[i].height + 0.01, "aspect %dx%d vs %dx%d", v[i].width, v[i].height,
                     in_w, in_h);
    }
    if (e->video) {
        cr_assert_eq(nvideo, e->n, "%d video renditions, expected %d", nvideo, e->n);
        cr_assert_gt(v[0].width, 0, "the first variant is audio only");
        cr_assert_eq(ni, e->n, "%d I-frame playlists for %d renditions", ni, e->n);
        /* Apple 9.21: something under 192 kb/s for cellular. */
        cr_assert_eq(naonly > 0, separate, "%d audio-only variants", naonly);
    } else {
        cr_assert_eq(n, e->n, "%d audio-only variants, expected %d", n, e->n);
        cr_assert_eq(ni, 0);
    }

    /* Every rendition once: its playlist, its segments, aligned with the first. */
    struct seen first = {0}, cur;
    int have_first = 0;
    double own_peak[16] = {0}; /* each variant's own rendition (its URI's) */
    for (int i = 0; i < n; i++) {
        int dup = 0;
        for (int k = 0; k < i; k++) {
            dup |= strcmp(v[k].uri, v[i].uri) == 0;
        }
        if (dup || (v[i].width == 0 && separate && e->video)) {
            continue; /* audio-only variants name audio renditions, checked below */
        }
        int video = v[i].width > 0;
        check_playlist(out, v[i].uri, &v[i], video, video ? e->audio && e->muxed : 1, 2, in_dur,
                       frame, e, &cur);
        own_peak[i] = cur.peak;
        if (video) {
            for (int k = 0; k < ni; k++) {
                if (strncmp(iv[k].uri, v[i].uri, strcspn(v[i].uri, "/") + 1) == 0) {
                    check_iframes(out, &iv[k], &v[i], &cur, e);
                }
            }
            if (!e->copy) {
                /* Keyframes every 2 s (or on the segment grid), the first at 0. */
                for (int q = 0; q < cur.nkeys; q++) {
                    double t = cur.keys[q] - cur.keys[0];
                    double r2 = fabs(t - 2 * round(t / 2));
                    double rs = fabs(t - e->seg * round(t / e->seg));
                    cr_assert(r2 < frame || rs < frame, "%s: keyframe at %.3f s off the grid",
                              v[i].uri, t);
                    if (q > 0) {
                        cr_assert_leq(cur.keys[q] - cur.keys[q - 1], 2 + frame,
                                      "%s: keyframe gap %.3f s", v[i].uri,
                                      cur.keys[q] - cur.keys[q - 1]);
                    }
                }
            }
        }
        if (!have_first) {
            first = cur;
            have_first = 1;
            continue;
        }
        /* Same keyframes and same cut points in every rendition. */
        cr_assert_eq(cur.nkeys, first.nkeys, "%s: %d keyframes, first rendition %d", v[i].uri,
                     cur.nkeys, first.nkeys);
        cr_assert_eq(cur.n, first.n, "%s: %d segments, first rendition %d", v[i].uri, cur.n,
                     first.n);
        for (int q = 0; q < cur.nkeys; q++) {
            cr_assert_lt(fabs(cur.keys[q] - first.keys[q]), 1e-4, "keyframe %d at %.4f vs %.4f", q,
                         cur.keys[q], first.keys[q]);
        }
        for (int q = 0; q < cur.n; q++) {
            cr_assert_lt(fabs(cur.starts[q] - first.starts[q]), 1e-4,
                         "segment %d starts %.4f vs %.4f", q, cur.starts[q], first.starts[q]);
        }
    }
    int nsubs = 0;
    double audio_peak = 0; /* the heaviest audio rendition of the group */
    for (int k = 0; k < nr; k++) {
        if (strcmp(r[k].type, "SUBTITLES") != 0) {
            continue;
        }
        nsubs++;
        cr_assert_str_eq(r[k].group, "subs");
        cr_assert(r[k].name[0] != '\0', "%s: no NAME", r[k].uri);
        for (int i = 0; i < n; i++) {
            cr_assert_str_eq(v[i].subtitles, "subs", "%s names no SUBTITLES group", v[i].uri);
        }
        /* Segmented on the video's boundaries, each a WebVTT file tied to the TS clock. */
        char path[4096], why2[512] = "";
        struct convert_fixtures_media m;
        snprintf(path, sizeof(path), "%s/%s", out, r[k].uri);
        cr_assert_eq(convert_fixtures_media(path, &m, why2, sizeof(why2)), 0, "%s", why2);
        cr_assert(m.vod && m.endlist, "%s", path);
        if (have_first) {
            cr_assert_eq(m.n, first.n, "%s: %d segments, video %d", r[k].uri, m.n, first.n);
        }
        for (int q = 0; q < m.n; q++) {
            char seg[4200], head[128] = "";
            snprintf(seg, sizeof(seg), "%s/%.*s/%.63s", out, (int)strcspn(r[k].uri, "/"), r[k].uri,
                     m.uri[q]);
            cr_assert(strstr(m.uri[q], ".vtt") != NULL, "%s: %s", path, m.uri[q]);
            FILE *f = fopen(seg, "r");
            cr_assert_not_null(f, "%s missing", seg);
            size_t got = fread(head, 1, sizeof(head) - 1, f);
            fclose(f);
            head[got] = '\0';
            cr_assert(strncmp(head, "WEBVTT\n", 7) == 0, "%s: no WEBVTT header", seg);
            cr_assert(strstr(head, "X-TIMESTAMP-MAP=MPEGTS:") != NULL, "%s: no X-TIMESTAMP-MAP",
                      seg);
        }
    }
    cr_assert_eq(nsubs, e->subtitles, "%d subtitle renditions, expected %d", nsubs, e->subtitles);
    for (int k = 0; k < nr; k++) {
        if (strcmp(r[k].type, "AUDIO") != 0) {
            continue;
        }
        struct convert_fixtures_variant av = {.bandwidth = LONG_MAX};
        snprintf(av.codecs, sizeof(av.codecs), "mp4a.40.2");
        for (int i = 0; i < n; i++) {
            if (strcmp(v[i].uri, r[k].uri) == 0) {
                av = v[i]; /* the audio-only variant promises its bit rate */
            }
        }
        check_playlist(out, r[k].uri, &av, 0, 1, atoi(r[k].channels), in_dur, frame, e, &cur);
        audio_peak = cur.peak > audio_peak ? cur.peak : audio_peak;
        if (!have_first) {
            continue;
        }
        /* Audio segments cut on the video's boundaries, within one AAC frame
         * (the first starts with both streams' encoder delays). */
        cr_assert_eq(cur.n, first.n, "%s: %d segments, video %d", r[k].uri, cur.n, first.n);
        for (int q = 1; q < cur.n; q++) {
            cr_assert_lt(fabs(cur.starts[q] - first.starts[q]), 1024.0 / 48000 + 1e-3,
                         "%s: segment %d starts %.4f, video %.4f", r[k].uri, q, cur.starts[q],
                         first.starts[q]);
        }
    }
    /* BANDWIDTH: the variant's own peak (RFC 8216 4.1) plus the heaviest
     * rendition of its audio group (4.3.4.2); subtitles add a little more */
    for (int i = 0; i < n; i++) {
        int grouped = separate && v[i].audio[0] != '\0';
        double want = (v[i].width > 0 || !grouped ? own_peak[i] : 0) + (grouped ? audio_peak : 0);
        if (want == 0) {
            continue; /* a duplicate URI, checked once */
        }
        if (e->subtitles) {
            cr_assert_geq(v[i].bandwidth + 2.0, want, "%s: BANDWIDTH %ld below the peak %.0f",
                          v[i].uri, v[i].bandwidth, want);
        } else {
            cr_assert_lt(fabs((double)v[i].bandwidth - want), 3.0,
                         "%s: BANDWIDTH %ld, RFC 8216 peak %.0f", v[i].uri, v[i].bandwidth, want);
        }
    }
}

/* hls_check_stamp - "[HH:]MM:SS.mmm" in seconds, -1 if malformed. */
static double
hls_check_stamp(const char *s)
{
    int h = 0, m = 0, sec = 0, ms = 0;
    if (sscanf(s, "%d:%d:%d.%d", &h, &m, &sec, &ms) == 4) {
        return h * 3600.0 + m * 60 + sec + ms / 1000.0;
    }
    if (sscanf(s, "%d:%d.%d", &m, &sec, &ms) == 3) {
        return m * 60.0 + sec + ms / 1000.0;
    }
    return -1;
}

int
hls_check_cues(const char *out, const char *uri, struct hls_cue *cues, int max)
{
    char path[4096], why[512] = "";
    struct convert_fixtures_media m;
    snprintf(path, sizeof(path), "%s/%s", out, uri);
    cr_assert_eq(convert_fixtures_media(path, &m, why, sizeof(why)), 0, "%s", why);
    int n = 0;
    for (int q = 0; q < m.n; q++) {
        char seg[4200], line[512];
        snprintf(seg, sizeof(seg), "%s/%.*s/%.63s", out, (int)strcspn(uri, "/"), uri, m.uri[q]);
        FILE *f = fopen(seg, "r");
        cr_assert_not_null(f, "%s missing", seg);
        double shift = 0; /* MPEGTS time of LOCAL 0 less the segments' own start */
        struct hls_cue c;
        int in_cue = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            long long mpegts;
            char local[32];
            if (sscanf(line, "X-TIMESTAMP-MAP=MPEGTS:%lld,LOCAL:%31s", &mpegts, local) == 2) {
                /* The TS timeline starts at 1.4 s (segments' first PTS): media 0. */
                shift = mpegts / 90000.0 - 1.4 - hls_check_stamp(local);
                continue;
            }
            char *arrow = strstr(line, " --> ");
            if (arrow != NULL) {
                *arrow = '\0';
                memset(&c, 0, sizeof(c));
                c.start = hls_check_stamp(line) + shift;
                c.end = hls_check_stamp(arrow + 5) + shift;
                in_cue = 1;
                continue;
            }
            if (in_cue && line[0] != '\0') {
                if (c.text[0] != '\0') {
                    strncat(c.text, "\n", sizeof(c.text) - strlen(c.text) - 1);
                }
                strncat(c.text, line, sizeof(c.text) - strlen(c.text) - 1);
                continue;
            }
            if (in_cue) {
                int dup = 0;
                for (int k = 0; k < n; k++) {
                    dup |= fabs(cues[k].start - c.start) < 1e-3 &&
                           fabs(cues[k].end - c.end) < 1e-3 && strcmp(cues[k].text, c.text) == 0;
                }
                if (!dup && n < max) {
                    cues[n++] = c;
                }
                in_cue = 0;
            }
        }
        if (in_cue) {
            int dup = 0;
            for (int k = 0; k < n; k++) {
                dup |= fabs(cues[k].start - c.start) < 1e-3 && strcmp(cues[k].text, c.text) == 0;
            }
            if (!dup && n < max) {
                cues[n++] = c;
            }
        }
        fclose(f);
    }
    return n;
}
