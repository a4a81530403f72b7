/*
 * test_convert_cmaf.c - CMAF: fMP4 segments (init.mp4 + seg_NNNNN.m4s,
 * EXT-X-MAP) and a codec per rendition (H.264, HEVC tagged hvc1, AV1),
 * checked as a player would (tests/hls_check.c with .fmp4): every segment
 * after its init segment, keyframes first and aligned across renditions
 * and codecs, CODECS against the bitstream, I-frame ranges that decode
 * alone, audio in step with the picture and the subtitles where they were
 * in MPEG-TS. HEVC and AV1 with MPEG-TS are refused with a clear message.
 * Inputs are tiny and the encoders' fastest presets are used.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/convert_fixtures.h"
#include "tests/fix.h"
#include "tests/hls_check.h"
#include "workers/convert.h"
#include "workers/convert_int.h"

#define SMALL_LADDER "240:400k,160:200k"
/* 6 s of 320x240 at 25 fps with a tone: three 2 s keyframe intervals a segment */
#define CLIP                                                                                       \
    "-f lavfi -i testsrc2=size=320x240:rate=25:duration=7 -f lavfi -i sine=f=440:d=7 "             \
    "-c:v libx264 -preset ultrafast -g 50 -c:a aac -shortest"

static void
cmaf_setup(void)
{
    convert_log_quiet();
    setenv("SVT_LOG", "1", 0); /* what hls-convert and the worker do */
}

static char *
fresh(const char *name)
{
    char *d = convert_fixtures_path(name);
    convert_fixtures_sh("rm -rf '%s'", d);
    return d;
}

/* What the callbacks saw: every init segment before its rendition's media. */
struct seen {
    int ts; /* MPEG-TS expected */
    int n_init, n_media, bad_order;
    char init_of[16][CONVERT_NAME_MAX];
};

static void
on_segment(void *ud, const struct convert_segment *s)
{
    struct seen *x = ud;
    struct stat st;
    cr_assert_eq(stat(s->path, &st), 0, "%s reported but missing", s->path);
    cr_assert_eq((uint64_t)st.st_size, s->size);
    if (s->init) {
        cr_assert(strstr(s->path, "/init.mp4") != NULL, "%s", s->path);
        if (x->n_init < 16) {
            snprintf(x->init_of[x->n_init++], CONVERT_NAME_MAX, "%s", s->rendition);
        }
        return;
    }
    x->n_media++;
    if (s->kind == CONVERT_SUBTITLES) {
        return;
    }
    cr_assert(strstr(s->path, x->ts ? ".ts" : ".m4s") != NULL, "%s", s->path);
    if (x->ts) {
        return;
    }
    int found = 0;
    for (int i = 0; i < x->n_init; i++) {
        found |= strcmp(x->init_of[i], s->rendition) == 0;
    }
    x->bad_order += !found;
}

static void
run(struct convert_opts *o, struct seen *x)
{
    struct convert_result res;
    char err[512] = "";
    o->on_segment = on_segment;
    o->ud = x;
    o->threads = o->threads ? o->threads : 1;
    int ret = convert_run(o, &res, err, sizeof(err));
    cr_assert_eq(ret, 0, "convert_run(%s) failed: %s", o->input, err);
    cr_assert_eq(x->bad_order, 0, "%d media segments before their init segment", x->bad_order);
}

/* first_pts - the first video (or audio) presentation time of OUT/REND's first segment. */
static double
first_pts(const char *out, const char *rend, int video)
{
    char init[4096], seg[4096];
    snprintf(init, sizeof(init), "%s/%s/init.mp4", out, rend);
    snprintf(seg, sizeof(seg), "%s/%s/seg_00000.m4s", out, rend);
    char *joined = convert_fixtures_join(init, seg, 0, -1);
    cr_assert_not_null(joined);
    struct convert_fixtures_seg s;
    cr_assert_eq(convert_fixtures_probe(joined, &s), 0);
    unlink(joined);
    free(joined);
    return video ? s.first_video_pts : s.first_audio_pts;
}

TestSuite(convert_cmaf, .init = cmaf_setup, .timeout = 240);

/*
 * The H.264 ladder in fMP4 with an audio rendition and a subtitle track:
 * the project's checks, the picture at the same times as in MPEG-TS (so
 * audio and the WebVTT X-TIMESTAMP-MAP hold), and the same cues.
 */
Test(convert_cmaf, h264_ladder_in_fmp4)
{
    char srt[4096];
    snprintf(srt, sizeof(srt), "%s", convert_fixtures_path("cmaf.srt"));
    FILE *f = fopen(srt, "w");
    cr_assert_not_null(f);
    fprintf(f, "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:05,000 --> "
               "00:00:06,000\nWorld\n\n");
    fclose(f);
    char args[8192];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=size=320x240:rate=25:duration=7 -f lavfi -i sine=f=440:d=7 "
             "-i '%s' -map 0 -map 1 -map 2 -c:v libx264 -preset ultrafast -g 50 -c:a aac "
             "-c:s mov_text -metadata:s:s:0 language=eng",
             srt);
    char *in = convert_fixtures_make("cmaf_h264.mp4", args);
    cr_assert_not_null(in);
    char *out = fresh("cmaf_h264.out"), *ts = fresh("cmaf_h264_ts.out");
    struct seen x = {0}, y = {.ts = 1};
    struct convert_opts o = {
        .input = in, .outdir = out, .ladder = SMALL_LADDER, .format = CONVERT_FMP4};
    run(&o, &x);
    cr_assert_eq(x.n_init, 3, "%d init segments (240p, 160p, audio)", x.n_init);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .subtitles = 1, .fmp4 = 1};
    hls_check_output(in, out, &e);

    struct convert_opts t = {.input = in, .outdir = ts, .ladder = SMALL_LADDER};
    run(&t, &y);
    cr_assert_eq(y.n_init, 0);
    /* MPEG-TS starts its picture at 1.4 s; fMP4 must show it then too. */
    struct convert_fixtures_seg s;
    char seg[4096];
    snprintf(seg, sizeof(seg), "%s/240p/seg_00000.ts", ts);
    cr_assert_eq(convert_fixtures_probe(seg, &s), 0);
    double v = first_pts(out, "240p", 1), a = first_pts(out, "audio", 0);
    cr_assert_lt(fabs(v - s.first_video_pts), 1e-3, "fMP4 picture at %.4f, MPEG-TS at %.4f", v,
                 s.first_video_pts);
    cr_assert_lt(fabs(v - CONVERT_TS_OFFSET), 1e-3, "picture at %.4f", v);
    cr_assert_lt(fabs(a - (CONVERT_TS_OFFSET - 1024.0 / 48000)), 1e-3, "audio at %.4f", a);

    /* The subtitles are the same WebVTT in both. */
    struct hls_cue c1[8], c2[8];
    int n1 = hls_check_cues(out, "subs_en/index.m3u8", c1, 8);
    int n2 = hls_check_cues(ts, "subs_en/index.m3u8", c2, 8);
    cr_assert_eq(n1, 2);
    cr_assert_eq(n1, n2);
    for (int i = 0; i < n1; i++) {
        cr_assert_lt(fabs(c1[i].start - c2[i].start), 1e-3);
        cr_assert_str_eq(c1[i].text, c2[i].text);
    }
    free(in);
    free(out);
    free(ts);
}

/* audio = muxed: one fMP4 track pair per rendition, still checked the same way. */
Test(convert_cmaf, muxed_audio)
{
    char *in = convert_fixtures_make("cmaf_muxed.mp4", CLIP);
    cr_assert_not_null(in);
    char *out = fresh("cmaf_muxed.out");
    struct seen x = {0};
    struct convert_opts o = {.input = in,
                             .outdir = out,
                             .ladder = SMALL_LADDER,
                             .format = CONVERT_FMP4,
                             .audio_muxed = 1};
    run(&o, &x);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .muxed = 1, .fmp4 = 1};
    hls_check_output(in, out, &e);
    /* a second run gives the same bytes: a job resumed after a crash
     * publishes nothing that differs from what went out before it */
    char *again = fresh("cmaf_muxed2.out");
    struct seen y = {0};
    o.outdir = again;
    run(&o, &y);
    cr_assert_eq(convert_fixtures_sh("diff -r '%s' '%s' >/dev/null", out, again), 0,
                 "two fMP4 runs differ");
    free(again);
    free(in);
    free(out);
}

/* The copy ladder (remuxed, no encoder) and an audio-only input, in fMP4. */
Test(convert_cmaf, copy_ladder_and_audio_only)
{
    char *in = convert_fixtures_make("cmaf_copy.mp4", CLIP);
    cr_assert_not_null(in);
    char *out = fresh("cmaf_copy.out");
    struct seen x = {0};
    struct convert_opts o = {.input = in, .outdir = out, .ladder = "copy", .format = CONVERT_FMP4};
    run(&o, &x);
    cr_assert_eq(x.n_init, 1, "one rendition, audio inside");
    struct hls_expect e = {
        .video = 1, .audio = 1, .n = 1, .seg = 6, .copy = 1, .muxed = 1, .fmp4 = 1};
    hls_check_output(in, out, &e);

    char *ain = convert_fixtures_make("cmaf_audio.m4a", "-f lavfi -i sine=f=440:d=7 -c:a aac");
    cr_assert_not_null(ain);
    char *aout = fresh("cmaf_audio.out");
    struct seen y = {0};
    struct convert_opts a = {.input = ain, .outdir = aout, .format = CONVERT_FMP4};
    run(&a, &y);
    cr_assert_eq(y.n_init, 1);
    struct hls_expect ea = {.video = 0, .audio = 1, .n = 1, .seg = 6, .fmp4 = 1};
    hls_check_output(ain, aout, &ea);
    free(in);
    free(out);
    free(ain);
    free(aout);
}

/* decodes_to_the_end - what the issue asks of every HEVC and AV1 rendition */
static void
decodes_to_the_end(const char *out, const char *rend)
{
    int st = convert_fixtures_sh("test -z \"$(ffmpeg -nostdin -v error -i '%s/%s/index.m3u8' "
                                 "-f null - 2>&1)\"",
                                 out, rend);
    cr_assert_eq(st, 0, "%s/%s does not decode to the end without errors", out, rend);
}

/*
 * A mixed ladder as one job: AV1 at every rung, H.264 at the lower one,
 * HEVC at the top. One master playlist; keyframes of every codec at the
 * same times and the same cuts (hls_check_output compares every rendition
 * with the first); CODECS from each bitstream.
 */
Test(convert_cmaf, mixed_codecs_one_job)
{
    char *in = convert_fixtures_make("cmaf_mixed.mp4", CLIP);
    cr_assert_not_null(in);
    char *out = fresh("cmaf_mixed.out");
    struct seen x = {0};
    struct convert_opts o = {.input = in,
                             .outdir = out,
                             .ladder = "240:400k:av1,160:200k:av1,160:200k,240:500k:hevc",
                             .format = CONVERT_FMP4,
                             .x265_preset = "ultrafast",
                             .svtav1_preset = "12",
                             .threads = 2};
    run(&o, &x);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 4, .seg = 6, .fmp4 = 1, .any_profile = 1};
    hls_check_output(in, out, &e);

    char path[4096], why[256] = "";
    struct convert_fixtures_variant v[8];
    snprintf(path, sizeof(path), "%s/master.m3u8", out);
    int n = convert_fixtures_master(path, v, 8, why, sizeof(why));
    int seen_av1 = 0, seen_hevc = 0, seen_avc = 0;
    for (int i = 0; i < n; i++) {
        if (strncmp(v[i].uri, "240p_av1/", 9) == 0 || strncmp(v[i].uri, "160p_av1/", 9) == 0) {
            seen_av1++;
            cr_assert(strncmp(v[i].codecs, "av01.0.", 7) == 0, "%s: CODECS %s", v[i].uri,
                      v[i].codecs);
        } else if (strncmp(v[i].uri, "240p_hevc/", 10) == 0) {
            seen_hevc++;
            /* Main profile, compatible with Main (and Main 10): hvc1.1.6 */
            cr_assert(strncmp(v[i].codecs, "hvc1.1.6.L", 10) == 0, "CODECS %s", v[i].codecs);
        } else if (strncmp(v[i].uri, "160p/", 5) == 0) {
            seen_avc++;
            cr_assert(strncmp(v[i].codecs, "avc1.", 5) == 0, "CODECS %s", v[i].codecs);
        }
    }
    cr_assert_eq(seen_av1, 2);
    cr_assert_eq(seen_hevc, 1);
    cr_assert_eq(seen_avc, 1);
    decodes_to_the_end(out, "240p_av1");
    decodes_to_the_end(out, "160p_av1");
    decodes_to_the_end(out, "240p_hevc");
    free(in);
    free(out);
}

/* video_codec: entries that name no codec get the job's default. */
Test(convert_cmaf, default_codec_hevc)
{
    char *in = convert_fixtures_make("cmaf_hevc.mp4", CLIP);
    cr_assert_not_null(in);
    char *out = fresh("cmaf_hevc.out");
    struct seen x = {0};
    struct convert_opts o = {.input = in,
                             .outdir = out,
                             .ladder = "240:400k",
                             .format = CONVERT_FMP4,
                             .video_codec = CONVERT_HEVC,
                             .x265_preset = "ultrafast"};
    run(&o, &x);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 1, .seg = 6, .fmp4 = 1};
    hls_check_output(in, out, &e);
    decodes_to_the_end(out, "240p_hevc");
    free(in);
    free(out);
}

/* HEVC or AV1 with MPEG-TS: refused before anything is read, saying why. */
Test(convert_cmaf, codecs_need_fmp4)
{
    static const struct {
        const char *ladder;
        enum convert_codec dflt;
        enum convert_format fmt;
        const char *says; /* NULL: accepted */
    } cases[] = {
        {"240:400k:hevc", CONVERT_H264, CONVERT_TS, "HEVC renditions need fMP4"},
        {"240:400k,160:200k:av1", CONVERT_H264, CONVERT_TS, "AV1 renditions need fMP4"},
        {"240:400k", CONVERT_AV1, CONVERT_TS, "AV1 renditions need fMP4"},
        {NULL, CONVERT_HEVC, CONVERT_TS, "HEVC renditions need fMP4"},
        {"240:400k:vp9", CONVERT_H264, CONVERT_FMP4, "unknown codec \"vp9\""},
        {"240:400k:hevc,240:300k:hevc", CONVERT_H264, CONVERT_FMP4, "appears twice"},
        {"240:400k:hevc,240:300k:av1,240:300k", CONVERT_H264, CONVERT_FMP4, NULL},
        {"240:400k:h264", CONVERT_H264, CONVERT_TS, NULL},
        {"copy", CONVERT_HEVC, CONVERT_TS, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct convert_opts o = {.input = "/nonexistent/in.mp4",
                                 .outdir = "/nonexistent/out",
                                 .ladder = cases[i].ladder,
                                 .format = cases[i].fmt,
                                 .video_codec = cases[i].dflt};
        char err[512] = "";
        int rc = convert_ladder_check(&o, err, sizeof(err));
        if (cases[i].says == NULL) {
            cr_expect_eq(rc, 0, "%s: %s", cases[i].ladder, err);
            continue;
        }
        cr_expect_eq(rc, -1, "%s accepted", cases[i].ladder);
        cr_expect_eq(errno, EINVAL);
        cr_expect(strstr(err, cases[i].says) != NULL, "%s: %s", cases[i].ladder, err);
        /* convert_run() refuses the same, before it opens the input */
        struct convert_result res;
        cr_expect_eq(convert_run(&o, &res, err, sizeof(err)), -1);
        cr_expect(strstr(err, cases[i].says) != NULL, "convert_run: %s", err);
    }
    /* hls-convert says how to ask for fMP4 */
    const char *bin = fix_bindir();
    cr_assert_eq(convert_fixtures_sh("'%s/hls-convert' /nonexistent.mp4 %s --ladder 240:400k:hevc "
                                     "2>%s; test $? -eq 1 && grep -q 'use --format fmp4' %s",
                                     bin, convert_fixtures_path("cmaf_refused.out"),
                                     convert_fixtures_path("cmaf_refused.err"),
                                     convert_fixtures_path("cmaf_refused.err")),
                 0, "hls-convert did not refuse with the hint");
}

/* Names and codecs of a mixed ladder: per codec, no upscaling, named apart. */
Test(convert_cmaf, ladder_names_per_codec)
{
    struct convert_rung r[CONVERT_MAX_LADDER];
    char err[256] = "";
    int n = convert_ladder_parse("1080:3000k:av1,720:2000k:av1,720:2800k,480:1400k:H264,"
                                 "720:2800k:hevc",
                                 CONVERT_H264, r, CONVERT_MAX_LADDER, err, sizeof(err));
    cr_assert_eq(n, 5, "%s", err);
    cr_assert_eq(r[0].codec, CONVERT_AV1);
    cr_assert_eq(r[2].codec, CONVERT_H264);
    cr_assert_eq(r[3].codec, CONVERT_H264);
    cr_assert_eq(r[4].codec, CONVERT_HEVC);
    struct convert_rendition out[CONVERT_MAX_LADDER];
    int k = convert_ladder_select(r, n, 1280, 720, out);
    cr_assert_eq(k, 4, "1080p is above the source");
    const char *want[] = {"720p", "720p_hevc", "720p_av1", "480p"};
    for (int i = 0; i < k; i++) {
        cr_assert_str_eq(out[i].name, want[i], "rendition %d: %s", i, out[i].name);
    }
    /* A source below every rung of a codec gets one rendition of it at its size. */
    k = convert_ladder_select(r, n, 320, 240, out);
    cr_assert_eq(k, 3);
    cr_assert_str_eq(out[0].name, "240p");
    cr_assert_str_eq(out[1].name, "240p_hevc");
    cr_assert_str_eq(out[2].name, "240p_av1");
}
