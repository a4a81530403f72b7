/*
 * test_convert_hls.c - what Apple's HLS authoring specification asks of a
 * published job, on generated inputs: audio tracks in two languages and a
 * mov_text subtitle track, a SubRip caption file, 5.1 audio, a PQ 10-bit
 * HEVC clip; the master playlist's first variant; audio muxed on request;
 * caption files that do not parse refused with their line number.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/convert_fixtures.h"
#include "tests/hls_check.h"
#include "workers/convert.h"
#include "workers/convert_int.h"

#define SMALL_LADDER "240:400k,160:200k"

/* The cues every generated caption track and file carries. */
static const struct hls_cue srt_cues[] = {
    {0.5, 2.0, "Hello <i>world</i>"},
    {3.0, 7.5, "Second cue\nspanning lines"},
    {7.6, 8.0, "Last & least"},
};
#define SRT_CUES (int)(sizeof(srt_cues) / sizeof(srt_cues[0]))

static void
hls_setup(void)
{
    convert_log_quiet();
}

/* write_srt - the cues above as a SubRip file; its path. */
static char *
write_srt(const char *name)
{
    char *path = convert_fixtures_path(name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < SRT_CUES; i++) {
        const struct hls_cue *c = &srt_cues[i];
        long long a = llround(c->start * 1000), b = llround(c->end * 1000);
        fprintf(f, "%d\n%02lld:%02lld:%02lld,%03lld --> %02lld:%02lld:%02lld,%03lld\n%s\n\n", i + 1,
                a / 3600000, a / 60000 % 60, a / 1000 % 60, a % 1000, b / 3600000, b / 60000 % 60,
                b / 1000 % 60, b % 1000, c->text);
    }
    cr_assert_eq(fclose(f), 0);
    return path;
}

static char *
fresh(const char *name)
{
    char *d = convert_fixtures_path(name);
    convert_fixtures_sh("rm -rf '%s'", d);
    return d;
}

static void
run(struct convert_opts *o, struct convert_result *res)
{
    char err[512] = "";
    cr_assert_eq(convert_run(o, res, err, sizeof(err)), 0, "convert_run(%s): %s", o->input, err);
}

/* cues_equal - the published cues are the input's, times within one frame. */
static void
cues_equal(const char *out, const char *uri)
{
    struct hls_cue got[16];
    int n = hls_check_cues(out, uri, got, 16);
    cr_assert_eq(n, SRT_CUES, "%s: %d cues, input has %d", uri, n, SRT_CUES);
    for (int i = 0; i < n; i++) {
        cr_assert_lt(fabs(got[i].start - srt_cues[i].start), 1 / 30.0, "%s cue %d starts %.3f", uri,
                     i, got[i].start);
        cr_assert_lt(fabs(got[i].end - srt_cues[i].end), 1 / 30.0, "%s cue %d ends %.3f", uri, i,
                     got[i].end);
        /* WebVTT escapes what would be markup: & becomes &amp;. */
        const char *want =
            strcmp(srt_cues[i].text, "Last & least") == 0 ? "Last &amp; least" : srt_cues[i].text;
        cr_assert_str_eq(got[i].text, want, "%s cue %d", uri, i);
    }
}

/* rendition - the EXT-X-MEDIA entry of OUTDIR's master with this URI. */
static struct convert_fixtures_rendition
rendition(const char *out, const char *uri)
{
    char path[4096], why[256];
    struct convert_fixtures_rendition r[16];
    snprintf(path, sizeof(path), "%s/master.m3u8", out);
    int n = convert_fixtures_renditions(path, r, 16, why, sizeof(why));
    for (int i = 0; i < n; i++) {
        if (strcmp(r[i].uri, uri) == 0) {
            return r[i];
        }
    }
    cr_assert_fail("%s: no EXT-X-MEDIA for %s", path, uri);
    return r[0];
}

TestSuite(convert_hls, .init = hls_setup, .timeout = 120);

Test(convert_hls, two_languages_and_a_subtitle_track)
{
    char *srt = write_srt("hls_multi.srt");
    char args[4096];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=size=320x240:rate=30:duration=8 -f lavfi -i sine=f=440:d=8 "
             "-f lavfi -i sine=f=660:d=8 -i '%s' -map 0 -map 1 -map 2 -map 3 "
             "-c:v libx264 -preset ultrafast -g 60 -c:a aac -c:s mov_text "
             "-metadata:s:a:0 language=eng -metadata:s:a:1 language=fre "
             "-metadata:s:s:0 language=eng -disposition:a:0 0 -disposition:a:1 default",
             srt);
    char *in = convert_fixtures_make("hls_multi.mp4", args);
    cr_assert_not_null(in);
    char *out = fresh("hls_multi.out");
    struct convert_opts o = {.input = in, .outdir = out, .ladder = SMALL_LADDER, .threads = 1};
    struct convert_result res;
    run(&o, &res);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .subtitles = 1};
    hls_check_output(in, out, &e);

    /* Languages as RFC 5646 tags; the input's default track is DEFAULT. */
    struct convert_fixtures_rendition en = rendition(out, "audio_en/index.m3u8");
    struct convert_fixtures_rendition fr = rendition(out, "audio_fr/index.m3u8");
    cr_assert_str_eq(en.language, "en");
    cr_assert_str_eq(en.name, "English");
    cr_assert_str_eq(fr.language, "fr");
    cr_assert_str_eq(fr.channels, "2");
    cr_assert(!en.is_default && fr.is_default, "DEFAULT should follow the input's disposition");
    struct convert_fixtures_rendition sub = rendition(out, "subs_en/index.m3u8");
    cr_assert_str_eq(sub.type, "SUBTITLES");
    cr_assert_str_eq(sub.language, "en");
    cues_equal(out, "subs_en/index.m3u8");

    /* The result names every rendition with its kind. */
    int kinds[3] = {0};
    for (int i = 0; i < res.n_renditions; i++) {
        kinds[res.kinds[i]]++;
    }
    cr_assert_eq(kinds[CONVERT_VIDEO], 2);
    cr_assert_eq(kinds[CONVERT_AUDIO], 2);
    cr_assert_eq(kinds[CONVERT_SUBTITLES], 1);
    cr_assert_str_eq(res.notes, "");
    free(srt);
    free(in);
    free(out);
}

Test(convert_hls, surround_gets_stereo_and_51)
{
    char *in = convert_fixtures_make(
        "hls_51.mkv", "-f lavfi -i testsrc2=size=320x240:rate=30:duration=4 -f lavfi -i "
                      "sine=f=440:d=4 -c:v libx264 -preset ultrafast -g 60 -c:a aac -ac 6 "
                      "-metadata:s:a:0 language=ger");
    cr_assert_not_null(in);
    char *out = fresh("hls_51.out");
    /* 2 s segments of a 4 s clip: the AAC tail past 4 s must not open a third */
    struct convert_opts o = {
        .input = in, .outdir = out, .ladder = SMALL_LADDER, .threads = 1, .segment_seconds = 2};
    run(&o, NULL);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 2, .surround = 1};
    hls_check_output(in, out, &e); /* 2 and 6 channels, as many audio segments as video */
    struct convert_fixtures_rendition st = rendition(out, "audio_de/index.m3u8");
    struct convert_fixtures_rendition sr = rendition(out, "audio_de_51/index.m3u8");
    cr_assert_str_eq(st.group, "aac");
    cr_assert_str_eq(sr.group, "aac");
    cr_assert_str_eq(st.channels, "2");
    cr_assert_str_eq(sr.channels, "6");
    cr_assert_str_eq(sr.language, "de", "ISO 639-2/B ger is de");
    cr_assert_str_eq(sr.name, "German (5.1)");
    cr_assert(st.is_default && !sr.is_default, "stereo is where players start");
    cr_assert(st.autoselect && !sr.autoselect, "one AUTOSELECT per language");
    free(in);
    free(out);
}

Test(convert_hls, caption_file_becomes_a_subtitle_rendition)
{
    char *srt = write_srt("hls_side.srt");
    char *in = convert_fixtures_make(
        "hls_side.mp4", "-f lavfi -i testsrc2=size=320x240:rate=30:duration=8 -f lavfi -i "
                        "sine=d=8 -c:v libx264 -preset ultrafast -g 60 -c:a aac");
    cr_assert_not_null(in);
    char *out = fresh("hls_side.out");
    struct convert_caption cap = {.language = "pt-br", .path = srt};
    struct convert_opts o = {.input = in,
                             .outdir = out,
                             .ladder = SMALL_LADDER,
                             .threads = 1,
                             .captions = &cap,
                             .n_captions = 1};
    run(&o, NULL);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .subtitles = 1};
    hls_check_output(in, out, &e);
    struct convert_fixtures_rendition r = rendition(out, "subs_pt-BR/index.m3u8");
    cr_assert_str_eq(r.language, "pt-BR");
    cr_assert_str_eq(r.name, "Portuguese");
    cues_equal(out, "subs_pt-BR/index.m3u8");
    free(srt);
    free(in);
    free(out);
}

Test(convert_hls, caption_file_errors_name_the_line)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03.000 -> 00:00:04,000\nbad\n",
         "line 6: expected a cue timing"},
        {"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:0x,000\nbad\n",
         "line 6: malformed SubRip cue timing"},
        {"1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", "line 2: the cue ends before it starts"},
        {"WEBVTT\n00:01.000 --> 00:02.000\nno blank line\n", "line 2: a cue timing inside a block"},
        {"WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:03,000 --> 00:04.000\nbad\n",
         "line 6: malformed WebVTT cue timing"},
        {"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe bad bytes\n", "line 3: not UTF-8"},
        {"just some text\n", "line 1: expected a cue number"},
        {"", "no SubRip cues"},
        {"WEBVTT\n\nNOTE nothing here\n", "no WebVTT cues"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = convert_fixtures_path("hls_bad.srt");
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(cases[i].text, f);
        fclose(f);
        char err[512] = "";
        cr_assert_eq(convert_caption_check(path, "captions.srt", err, sizeof(err)), -1,
                     "case %zu accepted", i);
        cr_assert_eq(errno, EINVAL);
        cr_assert(strstr(err, cases[i].want) != NULL && strncmp(err, "captions.srt", 12) == 0,
                  "case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].want);
        free(path);
    }
    /* Good ones pass: SubRip with CRLF and a BOM, WebVTT with a NOTE and an id. */
    static const char *good[] = {
        "\xef\xbb\xbf"
        "1\r\n00:00:01,000 --> 00:00:02,500\r\nhi\r\n\r\n",
        "WEBVTT - title\n\nNOTE a note\n\ncue-1\n00:01.000 --> 00:02.000 line:0\nhi\n",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *path = convert_fixtures_path("hls_good.vtt");
        FILE *f = fopen(path, "w");
        fputs(good[i], f);
        fclose(f);
        char err[512] = "";
        cr_assert_eq(convert_caption_check(path, NULL, err, sizeof(err)), 0, "good %zu: %s", i,
                     err);
        free(path);
    }
    /* convert_run refuses a bad caption file before it converts anything. */
    char *bad = convert_fixtures_path("hls_bad.srt");
    char *in = convert_fixtures_make("hls_badcap.mp4",
                                     "-f lavfi -i testsrc2=size=160x120:rate=30:duration=1 "
                                     "-c:v libx264 -preset ultrafast");
    char *out = fresh("hls_badcap.out");
    struct convert_caption cap = {.language = "en", .path = bad};
    struct convert_opts o = {.input = in, .outdir = out, .captions = &cap, .n_captions = 1};
    char err[512];
    cr_assert_eq(convert_run(&o, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "no WebVTT cues") != NULL, "%s", err);
    free(bad);
    free(in);
    free(out);
}

Test(convert_hls, pq_hdr_is_tone_mapped_to_sdr)
{
    char *in = convert_fixtures_make(
        "hls_pq.mp4", "-f lavfi -i testsrc2=size=320x240:rate=30:duration=2 -c:v libx265 "
                      "-preset ultrafast -pix_fmt yuv420p10le -x265-params "
                      "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:log-level=error");
    cr_assert_not_null(in);
    char *out = fresh("hls_pq.out");
    struct convert_opts o = {.input = in, .outdir = out, .ladder = "240:400k", .threads = 1};
    run(&o, NULL);
    struct hls_expect e = {.video = 1, .n = 1, .seg = 6};
    hls_check_output(in, out, &e); /* VIDEO-RANGE=SDR, 8-bit 4:2:0 */
    /* The bitstream says BT.709 too, not the input's PQ. */
    char *probe = convert_fixtures_path("hls_pq.probe");
    cr_assert_eq(convert_fixtures_sh("ffprobe -v error -select_streams v -show_entries "
                                     "stream=color_transfer,color_primaries -of csv=p=0 "
                                     "'%s/240p/seg_00000.ts' > '%s'",
                                     out, probe),
                 0);
    char line[128] = "";
    FILE *f = fopen(probe, "r");
    cr_assert_not_null(fgets(line, sizeof(line), f));
    fclose(f);
    cr_assert(strstr(line, "bt709,bt709") != NULL, "tone-mapped output is tagged %s", line);
    free(probe);
    free(in);
    free(out);
}

Test(convert_hls, first_variant_is_chosen)
{
    char *in = convert_fixtures_make(
        "hls_first.mp4", "-f lavfi -i testsrc2=size=640x360:rate=30:duration=2 -f lavfi -i "
                         "sine=d=2 -c:v libx264 -preset ultrafast -g 60 -c:a aac");
    cr_assert_not_null(in);
    static const struct {
        const char *how, *first;
    } cases[] = {
        {NULL, "360p"},      /* nearest 2 Mb/s: the 2.4M rung's ~1.2M beats 0.3M */
        {"lowest", "144p"},  /* cellular */
        {"highest", "360p"}, /* top */
        {"240p", "240p"},    /* by name */
        {"1080p", "360p"},   /* a rung the source does not have: auto */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "hls_first.%zu.out", i);
        char *out = fresh(name);
        struct convert_opts o = {.input = in,
                                 .outdir = out,
                                 .ladder = "360:2400k,240:600k,144:200k",
                                 .threads = 1,
                                 .first_variant = cases[i].how};
        run(&o, NULL);
        char path[4096], why[256];
        struct convert_fixtures_variant v[16];
        snprintf(path, sizeof(path), "%s/master.m3u8", out);
        int n = convert_fixtures_master(path, v, 16, why, sizeof(why));
        cr_assert_gt(n, 3);
        char want[64];
        snprintf(want, sizeof(want), "%s/index.m3u8", cases[i].first);
        cr_assert_str_eq(v[0].uri, want, "first_variant %s", cases[i].how ? cases[i].how : "auto");
        cr_assert_str_eq(v[0].audio, "aac");
        free(out);
    }
    free(in);
}

Test(convert_hls, audio_muxed_keeps_the_old_layout)
{
    char *in = convert_fixtures_make(
        "hls_muxed.mp4", "-f lavfi -i testsrc2=size=320x240:rate=30:duration=4 -f lavfi -i "
                         "sine=d=4 -f lavfi -i sine=f=880:d=4 -map 0 -map 1 -map 2 -c:v libx264 "
                         "-preset ultrafast -g 60 -c:a aac");
    cr_assert_not_null(in);
    char *out = fresh("hls_muxed.out");
    struct convert_opts o = {
        .input = in, .outdir = out, .ladder = SMALL_LADDER, .threads = 1, .audio_muxed = 1};
    struct convert_result res;
    run(&o, &res);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 6, .muxed = 1};
    hls_check_output(in, out, &e);
    cr_assert_eq(res.n_renditions, 2, "muxed: the video renditions only");
    free(in);
    free(out);
}

Test(convert_hls, language_tags)
{
    static const struct {
        const char *in, *tag, *name;
    } cases[] = {
        {"eng", "en", "English"},
        {"fre", "fr", "French"},
        {"fra", "fr", "French"},
        {"ger", "de", "German"},
        {"chi", "zh", "Chinese"},
        {"haw", "haw", "Hawaiian"},
        {"en", "en", "English"},
        {"pt-br", "pt-BR", "Portuguese"},
        {"und", "", ""},
        {"mul", "", ""},
        {"xyz", "", ""},
        {"", "", ""},
        {"e", "", ""},
        {"english", "", ""},
        {NULL, "", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char tag[16], name[64];
        convert_lang_tag(cases[i].in, tag, sizeof(tag), name, sizeof(name));
        cr_assert_str_eq(tag, cases[i].tag, "%s", cases[i].in ? cases[i].in : "NULL");
        cr_assert_str_eq(name, cases[i].name, "%s", cases[i].in ? cases[i].in : "NULL");
    }
}

Test(convert_hls, names_in_a_group_differ)
{
    /* three untitled English tracks: NAME and AUTOSELECT must still tell them apart */
    char *in = convert_fixtures_make(
        "hls_3en.mkv", "-f lavfi -i testsrc2=size=160x120:rate=25:duration=2 -f lavfi -i "
                       "sine=f=300:d=2 -f lavfi -i sine=f=500:d=2 -f lavfi -i sine=f=700:d=2 "
                       "-map 0 -map 1 -map 2 -map 3 -c:v libx264 -preset ultrafast -c:a aac "
                       "-metadata:s:a language=eng");
    cr_assert_not_null(in);
    char *out = fresh("hls_3en.out");
    struct convert_opts o = {.input = in, .outdir = out, .ladder = "120:200k", .threads = 1};
    run(&o, NULL);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 1, .seg = 6};
    hls_check_output(in, out, &e); /* distinct NAMEs, one AUTOSELECT per language */
    struct convert_fixtures_rendition a = rendition(out, "audio_en/index.m3u8");
    struct convert_fixtures_rendition b = rendition(out, "audio_en_2/index.m3u8");
    struct convert_fixtures_rendition c = rendition(out, "audio_en_3/index.m3u8");
    cr_assert_str_eq(a.name, "English");
    cr_assert_str_eq(b.name, "English 2");
    cr_assert_str_eq(c.name, "English 3");
    cr_assert(a.autoselect && !b.autoselect && !c.autoselect);
    free(in);
    free(out);
}

Test(convert_hls, a_short_audio_track_costs_nothing_of_the_job)
{
    /* 70 one-second video segments, 3 s of audio: the audio rendition ends
     * its last segment at the video's last cut, the job succeeds */
    char *in = convert_fixtures_make(
        "hls_short_a.mkv", "-f lavfi -i testsrc2=size=128x96:rate=10:duration=70 -f lavfi -i "
                           "sine=d=3 -c:v libx264 -preset ultrafast -c:a aac");
    cr_assert_not_null(in);
    char *out = fresh("hls_short_a.out");
    struct convert_opts o = {
        .input = in, .outdir = out, .ladder = "96:150k", .threads = 1, .segment_seconds = 1};
    run(&o, NULL);
    char path[4096], why[256];
    struct convert_fixtures_media v, a;
    snprintf(path, sizeof(path), "%s/96p/index.m3u8", out);
    cr_assert_eq(convert_fixtures_media(path, &v, why, sizeof(why)), 0, "%s", why);
    snprintf(path, sizeof(path), "%s/audio/index.m3u8", out);
    cr_assert_eq(convert_fixtures_media(path, &a, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(v.n, 70);
    cr_assert_lt(fabs(a.sum - v.sum), 0.05, "audio lasts %.3f s, video %.3f s", a.sum, v.sum);
    cr_assert_geq(a.n, 3, "the audio's own seconds keep their cuts");
    free(in);
    free(out);
}
