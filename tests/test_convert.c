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
#include <limits.h>
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
#include "tests/hls_check.h"
#include "workers/convert.h"

/* Small and quick: every input is generated at test time. */
#define V4           "-f lavfi -i testsrc2=size=320x240:rate=30:duration=4"
#define A4           "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=4"
#define X264         "-c:v libx264 -preset ultrafast -g 60"
#define SMALL_LADDER "240:400k,160:200k"

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
run_opts(struct convert_opts *o, struct convert_result *res)
{
    char err[512] = "";
    int ret = convert_run(o, res, err, sizeof(err));
    cr_assert_eq(ret, 0, "convert_run(%s) failed: %s", o->input, err);
}

static void
run_ok(const char *input, const char *out, const char *ladder, double seg,
       struct convert_result *res)
{
    struct convert_opts o = {
        .input = input, .outdir = out, .ladder = ladder, .segment_seconds = seg, .threads = 1};
    run_opts(&o, res);
}

static void
convert_case(const char *name, const char *args, const char *ladder, double seg,
             const struct hls_expect *e)
{
    char file[256];
    snprintf(file, sizeof(file), "cv_%s", name);
    char *in = convert_fixtures_make(file, args);
    cr_assert_not_null(in, "ffmpeg could not generate %s", name);
    snprintf(file, sizeof(file), "cv_%s.out", name);
    char *out = outdir(file);
    struct convert_result res;
    run_ok(in, out, ladder, seg, &res);
    int nres = 0;
    for (int i = 0; i < res.n_renditions; i++) {
        nres += res.kinds[i] == (e->video ? CONVERT_VIDEO : CONVERT_AUDIO);
    }
    cr_assert_eq(nres, e->n);
    hls_check_output(in, out, e);
    free(in);
    free(out);
}

TestSuite(convert_inputs, .init = convert_setup, .timeout = 120);

Test(convert_inputs, mp4_h264_aac)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("h264.mp4", V4 " " A4 " " X264 " -c:a aac", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, avi_mpeg4_mp3)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("mpeg4.avi", V4 " " A4 " -c:v mpeg4 -c:a libmp3lame", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, webm_vp9_opus)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("vp9.webm",
                 V4 " " A4 " -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k -c:a libopus",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, odd_dimensions)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("odd.mkv",
                 "-f lavfi -i testsrc2=size=321x241:rate=30:duration=4 " A4 " " X264
                 " -pix_fmt yuv444p -c:a aac",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, ten_bit_422)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("p10.mkv", V4 " " A4 " " X264 " -pix_fmt yuv422p10le -c:a aac", SMALL_LADDER, 0,
                 &e);
}

Test(convert_inputs, surround_51)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .surround = 1};
    convert_case("51.mp4", V4 " " A4 " " X264 " -c:a aac -ac 6", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, no_audio)
{
    struct hls_expect e = {.video = 1, .audio = 0, .n = 2, .seg = 6};
    convert_case("noaudio.mp4", V4 " " X264, SMALL_LADDER, 0, &e);
}

Test(convert_inputs, audio_only)
{
    struct hls_expect e = {.video = 0, .audio = 1, .n = 1, .seg = 6};
    convert_case("audio.m4a", A4 " -c:a aac", SMALL_LADDER, 0, &e);
}

Test(convert_inputs, variable_frame_rate)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    /* Half of each second at 30 fps, the other half at 10 fps. */
    convert_case("vfr.mkv",
                 V4 " " A4 " -vf select='if(lt(mod(n\\,30)\\,15)\\,1\\,not(mod(n\\,3)))' "
                    "-fps_mode vfr " X264 " -c:a aac",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, shorter_than_one_segment)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("short.mp4",
                 "-f lavfi -i testsrc2=size=320x240:rate=30:duration=1.5 -f lavfi -i "
                 "sine=duration=1.5 " X264 " -c:a aac",
                 SMALL_LADDER, 0, &e);
}

Test(convert_inputs, segment_not_a_multiple_of_two)
{
    /* 3 s segments: keyframes at 0, 2, 3, 4(end): cuts at 3 in both renditions. */
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 3};
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
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    hls_check_output(in, out, &e); /* sizes checked against the rotated 240x320 */

    char mpath[4096], why[256];
    snprintf(mpath, sizeof(mpath), "%s/master.m3u8", out);
    struct convert_fixtures_variant v[8];
    cr_assert_eq(convert_fixtures_master(mpath, v, 8, why, sizeof(why)), 3);
    cr_assert_str_eq(v[0].uri, "240p/index.m3u8");
    cr_assert_eq(v[0].width, 240, "portrait 240p is 240 wide, got %dx%d", v[0].width, v[0].height);
    cr_assert_eq(v[0].height, 320);
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
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6};
    convert_case("vga.mp4",
                 "-f lavfi -i testsrc2=size=640x480:rate=25:duration=3 -f lavfi -i "
                 "sine=duration=3 " X264 " -c:a aac",
                 NULL, 0, &e);
    char *m = convert_fixtures_path("cv_vga.mp4.out/master.m3u8");
    struct convert_fixtures_variant v[8];
    char why[256];
    cr_assert_eq(convert_fixtures_master(m, v, 8, why, sizeof(why)), 3);
    /* The first variant is the one nearest 2 Mb/s, then by bandwidth. */
    cr_assert_str_eq(v[0].uri, "480p/index.m3u8");
    cr_assert_eq(v[0].width, 640);
    cr_assert_float_eq(v[0].fps, 25.0, 1e-3);
    cr_assert_str_eq(v[1].uri, "360p/index.m3u8");
    cr_assert_eq(v[1].width, 480);
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
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .partial = 1};
    hls_check_output(in, out, &e);
    free(full);
    free(in);
    free(out);
}

TestSuite(convert_copy, .init = convert_setup, .timeout = 120);

Test(convert_copy, h264_aac_remux)
{
    struct hls_expect e = {.video = 1, .audio = 1, .n = 1, .seg = 6, .copy = 1, .muxed = 1};
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
