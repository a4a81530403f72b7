/*
 * test_convert.c - the conversion engine against generated inputs of every
 * kind the issue names, checked the way a player would: playlists parse,
 * durations add up, segments start on keyframes aligned across renditions,
 * codecs and sizes are what master.m3u8 declares. Bad inputs must end in a
 * clear error, not a crash.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/pixfmt.h>

#include "tests/convert_fixtures.h"
#include "workers/convert.h"

/* Small and quick: every input is generated at test time. */
#define V4           "-f lavfi -i testsrc2=size=320x240:rate=30:duration=4"
#define A4           "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=4"
#define X264         "-c:v libx264 -preset ultrafast -g 60"
#define SMALL_LADDER "240:400k,160:200k"

struct expect {
    int video, audio;
    int n;       /* renditions */
    double seg;  /* target segment length */
    int copy;    /* segment lengths follow the source */
    int partial; /* a truncated input: less than its header says */
};

static void
convert_setup(void)
{
    convert_log_quiet();
}

static char *
outdir(const char *name)
{
    char *d = convert_fixtures_path(name);
    convert_fixtures_sh("rm -rf '%s'", d);
    return d;
}

static void
run_ok(const char *input, const char *out, const char *ladder, double seg,
       struct convert_result *res)
{
    struct convert_opts o = {
        .input = input, .outdir = out, .ladder = ladder, .segment_seconds = seg, .threads = 1};
    char err[512] = "";
    int ret = convert_run(&o, res, err, sizeof(err));
    cr_assert_eq(ret, 0, "convert_run(%s) failed: %s", input, err);
}

/* check_output - everything a player needs from OUTDIR, against the input. */
static void
check_output(const char *input, const char *out, const struct expect *e)
{
    char path[4096], why[512] = "";
    double in_dur, fps;
    int in_w, in_h;
    cr_assert_eq(convert_fixtures_input(input, &in_dur, &in_w, &in_h, &fps), 0);
    double frame = fps > 0 ? 1 / fps : 1024.0 / 48000;

    struct convert_fixtures_variant v[8];
    snprintf(path, sizeof(path), "%s/master.m3u8", out);
    int n = convert_fixtures_master(path, v, 8, why, sizeof(why));
    cr_assert_eq(n, e->n, "%s: %d variants, expected %d %s", path, n, e->n, why);

    double keys0[CONVERT_FIXTURES_MAX_KEYS * 4];
    int nkeys0 = -1;
    double starts0[CONVERT_FIXTURES_MAX_SEGS];
    int nstarts0 = -1;
    for (int i = 0; i < n; i++) {
        cr_assert_gt(v[i].bandwidth, 0);
        cr_assert_gt(v[i].average, 0);
        cr_assert_leq(v[i].average, v[i].bandwidth, "AVERAGE-BANDWIDTH above BANDWIDTH");
        if (i > 0) {
            cr_assert_geq(v[i].bandwidth, v[i - 1].bandwidth, "variants not sorted by bandwidth");
        }
        cr_assert(e->audio == (strstr(v[i].codecs, "mp4a.40.2") != NULL), "CODECS %s", v[i].codecs);
        cr_assert(e->video == (strstr(v[i].codecs, "avc1.") != NULL), "CODECS %s", v[i].codecs);
        unsigned prof = 0, cons = 0, lev = 0;
        if (e->video) {
            cr_assert_eq(sscanf(strstr(v[i].codecs, "avc1."), "avc1.%2x%2x%2x", &prof, &cons, &lev),
                         3, "CODECS %s", v[i].codecs);
            cr_assert_gt(v[i].width, 0, "no RESOLUTION");
            cr_assert_gt(v[i].fps, 0, "no FRAME-RATE");
            /* Never upscaled, aspect ratio kept (within even rounding). */
            cr_assert_leq(v[i].width, in_w);
            cr_assert_leq(v[i].height, in_h);
            cr_assert_lt(fabs((double)v[i].width / v[i].height - (double)in_w / in_h),
                         2.0 / v[i].height + 0.01, "aspect %dx%d vs %dx%d", v[i].width, v[i].height,
                         in_w, in_h);
        } else {
            cr_assert_eq(v[i].width, 0, "audio-only variant has RESOLUTION");
        }

        struct convert_fixtures_media m;
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", out, v[i].uri);
        *strrchr(dir, '/') = '\0';
        snprintf(path, sizeof(path), "%s/%s", out, v[i].uri);
        cr_assert_eq(convert_fixtures_media(path, &m, why, sizeof(why)), 0, "%s", why);
        cr_assert_geq(m.version, 3);
        cr_assert(m.vod && m.independent && m.endlist, "%s: VOD/INDEPENDENT/ENDLIST missing", path);
        cr_assert_eq(m.media_sequence, 0);
        double tol = frame + 1e-3;
        if (e->partial) {
            cr_assert(m.sum > 0.5 && m.sum < in_dur, "%s: %.3f s of a truncated %.3f s", path,
                      m.sum, in_dur);
        } else {
            cr_assert_lt(fabs(m.sum - in_dur), tol, "%s: EXTINF sum %.4f, input %.4f", path, m.sum,
                         in_dur);
        }
        double starts[CONVERT_FIXTURES_MAX_SEGS];
        double keys[CONVERT_FIXTURES_MAX_KEYS * 4];
        int nkeys = 0;
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
            cr_assert_eq(convert_fixtures_probe(seg, &s), 0, "%s does not open", seg);
            cr_assert_eq(s.has_video, e->video, "%s: video %d", seg, s.has_video);
            cr_assert_eq(s.has_audio, e->audio, "%s: audio %d", seg, s.has_audio);
            /* The bit rate the master promises covers every full segment. */
            struct stat st;
            cr_assert_eq(stat(seg, &st), 0);
            if (m.extinf[k] >= m.target / 2.0) {
                cr_assert_leq(st.st_size * 8 / m.extinf[k], v[i].bandwidth + 1.0,
                              "%s: %.0f b/s above BANDWIDTH %ld", seg, st.st_size * 8 / m.extinf[k],
                              v[i].bandwidth);
            }
            if (s.has_video) {
                cr_assert(s.first_video_key, "%s does not start with a keyframe", seg);
                cr_assert_eq(s.vcodec, AV_CODEC_ID_H264);
                cr_assert_eq(s.pix_fmt, AV_PIX_FMT_YUV420P, "%s: pix_fmt %d", seg, s.pix_fmt);
                cr_assert_eq(s.width, v[i].width, "%s: %dx%d, master says %dx%d", seg, s.width,
                             s.height, v[i].width, v[i].height);
                cr_assert_eq(s.height, v[i].height);
                cr_assert_eq((unsigned)s.profile & 0xff, prof, "%s: profile %d vs %s", seg,
                             s.profile, v[i].codecs);
                if (!e->copy) {
                    cr_assert_eq(s.profile, FF_PROFILE_H264_HIGH, "%s: not High", seg);
                }
                cr_assert_eq((unsigned)s.level, lev, "%s: level %d vs %s", seg, s.level,
                             v[i].codecs);
                starts[k] = s.first_video_pts;
                for (int q = 0; q < s.n_keys && nkeys < (int)(sizeof(keys) / sizeof(keys[0]));
                     q++) {
                    keys[nkeys++] = s.keys[q];
                }
            }
            if (s.has_audio) {
                cr_assert_eq(s.acodec, AV_CODEC_ID_AAC);
                if (!e->copy) {
                    cr_assert_eq(s.channels, 2, "%s: %d channels", seg, s.channels);
                    cr_assert_eq(s.sample_rate, 48000);
                    cr_assert_eq(s.aac_profile, FF_PROFILE_AAC_LOW);
                }
            }
        }
        if (!e->video) {
            continue;
        }
        /* Keyframes every 2 s (or on the segment grid), the first at 0. */
        if (!e->copy) {
            for (int q = 0; q < nkeys; q++) {
                double t = keys[q] - keys[0];
                double r2 = fabs(t - 2 * round(t / 2));
                double rs = fabs(t - e->seg * round(t / e->seg));
                cr_assert(r2 < frame || rs < frame, "%s: keyframe at %.3f s off the grid", path, t);
                if (q > 0) {
                    cr_assert_leq(keys[q] - keys[q - 1], 2 + frame, "%s: keyframe gap %.3f s", path,
                                  keys[q] - keys[q - 1]);
                }
            }
        }
        /* Same keyframes and same cut points in every rendition. */
        if (nkeys0 < 0) {
            nkeys0 = nkeys;
            memcpy(keys0, keys, sizeof(keys[0]) * (size_t)nkeys);
            nstarts0 = m.n;
            memcpy(starts0, starts, sizeof(starts[0]) * (size_t)m.n);
        } else {
            cr_assert_eq(nkeys, nkeys0, "%s: %d keyframes, first rendition %d", path, nkeys,
                         nkeys0);
            cr_assert_eq(m.n, nstarts0, "%s: %d segments, first rendition %d", path, m.n, nstarts0);
            for (int q = 0; q < nkeys; q++) {
                cr_assert_lt(fabs(keys[q] - keys0[q]), 1e-4, "keyframe %d at %.4f vs %.4f", q,
                             keys[q], keys0[q]);
            }
            for (int q = 0; q < m.n; q++) {
                cr_assert_lt(fabs(starts[q] - starts0[q]), 1e-4, "segment %d starts %.4f vs %.4f",
                             q, starts[q], starts0[q]);
            }
        }
    }
}

static void
convert_case(const char *name, const char *args, const char *ladder, double seg,
             const struct expect *e)
{
    char file[256];
    snprintf(file, sizeof(file), "cv_%s", name);
    char *in = convert_fixtures_make(file, args);
    cr_assert_not_null(in, "ffmpeg could not generate %s", name);
    snprintf(file, sizeof(file), "cv_%s.out", name);
    char *out = outdir(file);
    struct convert_result res;
    run_ok(in, out, ladder, seg, &res);
    cr_assert_eq(res.n_renditions, e->n);
    check_output(in, out, e);
    free(in);
    free(out);
}

TestSuite(convert_inputs, .init = convert_setup, .timeout = 120);

Test(convert_inputs, mp4_h264_aac)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("h264.mp4", V4 " " A4 " " X264 " -c:a aac", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, avi_mpeg4_mp3)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("mpeg4.avi", V4 " " A4 " -c:v mpeg4 -c:a libmp3lame", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, webm_vp9_opus)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("vp9.webm",
                 V4 " " A4 " -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k -c:a libopus",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, odd_dimensions)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("odd.mkv",
                 "-f lavfi -i testsrc2=size=321x241:rate=30:duration=4 " A4 " " X264
                 " -pix_fmt yuv444p -c:a aac",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, ten_bit_422)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("p10.mkv", V4 " " A4 " " X264 " -pix_fmt yuv422p10le -c:a aac", SMALL_LADDER, 0,
                 &e);
}

Test(convert_inputs, surround_51)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("51.mp4", V4 " " A4 " " X264 " -c:a aac -ac 6", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, no_audio)
{
    struct expect e = {.video = 1, .audio = 0, .n = 2, .seg = 6};
    convert_case("noaudio.mp4", V4 " " X264, SMALL_LADDER, 0, &e);
}

Test(convert_inputs, audio_only)
{
    struct expect e = {.video = 0, .audio = 1, .n = 1, .seg = 6};
    convert_case("audio.m4a", A4 " -c:a aac", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, variable_frame_rate)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    /* Half of each second at 30 fps, the other half at 10 fps. */
    convert_case("vfr.mkv",
                 V4 " " A4 " -vf select='if(lt(mod(n\\,30)\\,15)\\,1\\,not(mod(n\\,3)))' "
                    "-fps_mode vfr " X264 " -c:a aac",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, shorter_than_one_segment)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("short.mp4",
                 "-f lavfi -i testsrc2=size=320x240:rate=30:duration=1.5 -f lavfi -i "
                 "sine=duration=1.5 " X264 " -c:a aac",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, segment_not_a_multiple_of_two)
{
    /* 3 s segments: keyframes at 0, 2, 3, 4(end): cuts at 3 in both renditions. */
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 3};
    convert_case("seg3.mp4", V4 " " A4 " " X264 " -c:a aac", SMALL_LADDER, 3, &e);
    char *idx = convert_fixtures_path("cv_seg3.mp4.out/240p/index.m3u8");
    struct convert_fixtures_media m;
    char why[256];
    cr_assert_eq(convert_fixtures_media(idx, &m, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(m.n, 2);
    cr_assert_float_eq(m.extinf[0], 3.0, 1e-3);
    free(idx);
}

Test(convert_inputs, rotated_phone_clip)
{
    char *raw = convert_fixtures_make("cv_rot_raw.mp4", V4 " " A4 " " X264 " -c:a aac");
    cr_assert_not_null(raw);
    char args[4096];
    snprintf(args, sizeof(args), "-i '%s' -c copy -metadata:s:v:0 rotate=90", raw);
    char *in = convert_fixtures_make("cv_rot.mp4", args);
    cr_assert_not_null(in);
    char *out = outdir("cv_rot.out");
    struct convert_result res;
    run_ok(in, out, SMALL_LADDER, 0, &res);
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    check_output(in, out, &e); /* sizes checked against the rotated 240x320 */

    char mpath[4096], why[256];
    snprintf(mpath, sizeof(mpath), "%s/master.m3u8", out);
    struct convert_fixtures_variant v[8];
    cr_assert_eq(convert_fixtures_master(mpath, v, 8, why, sizeof(why)), 2);
    cr_assert_eq(v[1].width, 240, "portrait 240p is 240 wide, got %dx%d", v[1].width, v[1].height);
    cr_assert_eq(v[1].height, 320);
    /* Turned the way the ffmpeg CLI turns it, not the other way. */
    char seg[4096];
    snprintf(seg, sizeof(seg), "%s/240p/seg_00000.ts", out);
    double same = convert_fixtures_picdiff(in, seg, 1);
    cr_assert_lt(same, 8, "picture differs from the CLI's autorotated frame by %.1f", same);
    char flipped[4096];
    snprintf(flipped, sizeof(flipped), "-i '%s' -vf transpose=clock -c:v libx264 -an", raw);
    char *other = convert_fixtures_make("cv_rot_wrong.mp4", flipped);
    cr_assert_not_null(other);
    double wrong = convert_fixtures_picdiff(other, seg, 1);
    cr_assert_gt(wrong, 2 * same + 4, "rotation direction not distinguishable (%.1f vs %.1f)",
                 wrong, same);
    free(raw);
    free(in);
    free(out);
    free(other);
}

Test(convert_inputs, default_ladder_never_upscales)
{
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("vga.mp4",
                 "-f lavfi -i testsrc2=size=640x480:rate=25:duration=3 -f lavfi -i "
                 "sine=duration=3 " X264 " -c:a aac",
                 NULL, 0, &e);
    char *m = convert_fixtures_path("cv_vga.mp4.out/master.m3u8");
    struct convert_fixtures_variant v[8];
    char why[256];
    cr_assert_eq(convert_fixtures_master(m, v, 8, why, sizeof(why)), 2);
    cr_assert_str_eq(v[0].uri, "360p/index.m3u8");
    cr_assert_eq(v[0].width, 480);
    cr_assert_str_eq(v[1].uri, "480p/index.m3u8");
    cr_assert_eq(v[1].width, 640);
    cr_assert_float_eq(v[1].fps, 25.0, 1e-3);
    free(m);
}

Test(convert_inputs, truncated_but_playable)
{
    char *full = convert_fixtures_make("cv_fs_full.mp4",
                                       V4 " " A4 " " X264 " -c:a aac -movflags +faststart");
    cr_assert_not_null(full);
    char *in = convert_fixtures_path("cv_fs_trunc.mp4");
    struct stat st;
    cr_assert_eq(stat(full, &st), 0);
    cr_assert_eq(
        convert_fixtures_sh("head -c %lld '%s' > '%s'", (long long)st.st_size * 6 / 10, full, in),
        0);
    char *out = outdir("cv_fs_trunc.out");
    struct convert_result res;
    run_ok(in, out, SMALL_LADDER, 0, &res);
    struct expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .partial = 1};
    check_output(in, out, &e);
    free(full);
    free(in);
    free(out);
}

TestSuite(convert_copy, .init = convert_setup, .timeout = 120);

Test(convert_copy, h264_aac_remux)
{
    struct expect e = {.video = 1, .audio = 1, .n = 1, .seg = 6, .copy = 1};
    convert_case("copy.mp4",
                 "-f lavfi -i testsrc2=size=320x240:rate=30:duration=8 -f lavfi -i "
                 "sine=duration=8 " X264 " -c:a aac",
                 "copy", 0, &e);
    char *idx = convert_fixtures_path("cv_copy.mp4.out/240p/index.m3u8");
    struct convert_fixtures_media m;
    char why[256];
    cr_assert_eq(convert_fixtures_media(idx, &m, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(m.n, 2, "8 s with a 2 s GOP cut at 6 s: %d segments", m.n);
    cr_assert_float_eq(m.extinf[0], 6.0, 1e-3);
    free(idx);
}

Test(convert_copy, refuses_what_needs_encoding)
{
    char *in = convert_fixtures_make("cv_copy_no.avi", V4 " " A4 " -c:v mpeg4 -c:a libmp3lame");
    cr_assert_not_null(in);
    char *out = outdir("cv_copy_no.out");
    struct convert_opts o = {.input = in, .outdir = out, .ladder = "copy"};
    char err[512];
    cr_assert_eq(convert_run(&o, NULL, err, sizeof(err)), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert(strstr(err, "copy ladder") && strstr(err, "mpeg4") && strstr(err, in), "%s", err);
    free(in);
    free(out);
}
