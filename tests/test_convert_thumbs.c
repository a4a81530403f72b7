/*
 * test_convert_thumbs.c - the poster and the storyboard, as a player and a
 * person check them: storyboard.vtt is WebVTT whose cues cover the whole
 * video without gap or overlap, every #xywh lies inside its sprite sheet
 * (its size from ffprobe), the poster is not a flat frame (its luma
 * variance, decoded by ffmpeg, above a floor) even when the first tenth of
 * the video is black, a clip shorter than one interval still gets a poster
 * and one tile, audio-only inputs and thumbnails = no make none (and the
 * segments do not change by a byte either way); then the daemon publishes
 * them and names them in the job (poster_url, storyboard_url).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/convert_fixtures.h"
#include "tests/fix_daemon.h"
#include "tests/fix_sched.h"
#include "workers/convert.h"

static void
thumbs_setup(void)
{
    convert_log_quiet();
}

TestSuite(convert_thumbs, .init = thumbs_setup, .timeout = 120);

/* A poster whose luma varies less than this (a standard deviation of 10
 * levels) is a flat frame; testsrc2 is far above it, black is 0. */
#define THUMBS_FLAT_VARIANCE 100.0

/* What on_file saw. */
struct thumbs_seen {
    const char *outdir;
    int n;
    char name[16][32];
    unsigned long long size[16];
    int master_before; /* a file reported after master.m3u8 was there */
};

static void
thumbs_on_file(void *ud, const char *name, const char *path, uint64_t size)
{
    struct thumbs_seen *z = ud;
    char master[1024];
    snprintf(master, sizeof(master), "%s/master.m3u8", z->outdir);
    z->master_before += fix_exists(master);
    if (z->n < 16) {
        snprintf(z->name[z->n], sizeof(z->name[0]), "%s", name);
        z->size[z->n] = (unsigned long long)size;
        z->n++;
    }
    (void)path;
}

/* thumbs_seen_has - name was reported once, with the size it has on disk */
static int
thumbs_seen_has(const struct thumbs_seen *z, const char *name)
{
    char path[1024];
    struct stat st;
    int found = 0;
    snprintf(path, sizeof(path), "%s/%s", z->outdir, name);
    for (int i = 0; i < z->n; i++) {
        if (strcmp(z->name[i], name) == 0) {
            found += stat(path, &st) == 0 && (unsigned long long)st.st_size == z->size[i];
        }
    }
    return found == 1;
}

/* thumbs_convert - convert in into out with thumbnails (or not); the result */
static struct convert_result
thumbs_convert(const char *in, const char *out, int thumbnails, double interval,
               struct thumbs_seen *z)
{
    struct convert_result res;
    char err[512];
    memset(z, 0, sizeof(*z));
    z->outdir = out;
    struct convert_opts o = {
        .input = in,
        .outdir = out,
        .ladder = "240:400k",
        .segment_seconds = 2,
        .preset = "ultrafast",
        .threads = 1,
        .thumbnails = thumbnails,
        .storyboard_interval = interval,
        .on_file = thumbs_on_file,
        .ud = z,
    };
    cr_assert_eq(convert_run(&o, &res, err, sizeof(err)), 0, "convert_run(%s): %s", in, err);
    return res;
}

/* thumbs_sprite_size - a sprite sheet's size by ffprobe; 0 if it is not a picture */
static int
thumbs_sprite_size(const char *dir, int n, int *w, int *h)
{
    char out[128];
    *w = *h = 0;
    if (fix_sh(out, sizeof(out),
               "ffprobe -v error -select_streams v:0 -show_entries stream=width,height,codec_name "
               "-of csv=p=0 '%s/sprites_%d.jpg'",
               dir, n) != 0) {
        return 0;
    }
    char codec[32];
    return sscanf(out, "%31[^,],%d,%d", codec, w, h) == 3 && strcmp(codec, "mjpeg") == 0;
}

/* thumbs_ms - "HH:MM:SS.mmm" to ms, or -1 */
static long long
thumbs_ms(const char *s)
{
    int hh, mm, ss, ms, used = 0;
    if (sscanf(s, "%2d:%2d:%2d.%3d%n", &hh, &mm, &ss, &ms, &used) != 4 || used != 12 || mm > 59 ||
        ss > 59) {
        return -1;
    }
    return ((hh * 60LL + mm) * 60 + ss) * 1000 + ms;
}

/*
 * thumbs_check_storyboard - dir/storyboard.vtt parses as WebVTT, its cues
 * run from 0 to duration (within tol seconds) without gap or overlap, and
 * every #xywh lies inside its sheet; the number of cues, or -1 with why.
 * *lengths gets each cue's length in ms (up to max).
 */
static int
thumbs_check_storyboard(const char *dir, double duration, double tol, long long *lengths, int max,
                        char *why, size_t whylen)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/storyboard.vtt", dir);
    char *text = fix_slurp(path);
    if (text == NULL) {
        snprintf(why, whylen, "no storyboard.vtt in %.200s", dir);
        return -1;
    }
    int sw[256] = {0}, sh[256] = {0};
    int n = 0, ret = -1;
    long long prev = 0;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (line == NULL || strcmp(line, "WEBVTT") != 0) {
        snprintf(why, whylen, "first line is not WEBVTT");
        goto out;
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (strlen(line) != 29 || strncmp(line + 12, " --> ", 5) != 0) {
            snprintf(why, whylen, "cue %d: bad timing line \"%.60s\"", n, line);
            goto out;
        }
        long long a = thumbs_ms(line), b = thumbs_ms(line + 17);
        if (a < 0 || b < 0 || b <= a) {
            snprintf(why, whylen, "cue %d: bad times \"%.60s\"", n, line);
            goto out;
        }
        if (a != prev) {
            snprintf(why, whylen, "cue %d starts at %lld ms, the previous ended at %lld ms", n, a,
                     prev);
            goto out;
        }
        prev = b;
        if (n < max) {
            lengths[n] = b - a;
        }
        char *ref = strtok_r(NULL, "\n", &save);
        int sheet, x, y, w, h, used = 0;
        if (ref == NULL ||
            sscanf(ref, "sprites_%d.jpg#xywh=%d,%d,%d,%d%n", &sheet, &x, &y, &w, &h, &used) != 5 ||
            ref[used] != '\0' || sheet < 0 || sheet >= 256) {
            snprintf(why, whylen, "cue %d: bad payload \"%.60s\"", n, ref ? ref : "(none)");
            goto out;
        }
        if (sw[sheet] == 0 && !thumbs_sprite_size(dir, sheet, &sw[sheet], &sh[sheet])) {
            snprintf(why, whylen, "cue %d: sprites_%d.jpg is not a JPEG picture", n, sheet);
            goto out;
        }
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > sw[sheet] || y + h > sh[sheet]) {
            snprintf(why, whylen, "cue %d: xywh=%d,%d,%d,%d outside sprites_%d.jpg (%dx%d)", n, x,
                     y, w, h, sheet, sw[sheet], sh[sheet]);
            goto out;
        }
        n++;
    }
    if (n == 0 || fabs(prev / 1000.0 - duration) > tol) {
        snprintf(why, whylen, "%d cues end at %.3f s, the video at %.3f s", n, prev / 1000.0,
                 duration);
        goto out;
    }
    ret = n;
out:
    free(text);
    return ret;
}

/* thumbs_poster_variance - dir/poster.jpg decoded by ffmpeg to gray: its
 * variance (and size), or -1 */
static double
thumbs_poster_variance(const char *dir, int *w, int *h)
{
    char out[128], gray[1100];
    snprintf(gray, sizeof(gray), "%s/poster.gray", dir);
    if (fix_sh(out, sizeof(out),
               "ffprobe -v error -show_entries stream=width,height -of csv=p=0 '%s/poster.jpg' && "
               "ffmpeg -v error -y -i '%s/poster.jpg' -f rawvideo -pix_fmt gray '%s'",
               dir, dir, gray) != 0 ||
        sscanf(out, "%d,%d", w, h) != 2) {
        return -1;
    }
    FILE *f = fopen(gray, "rb");
    if (f == NULL) {
        return -1;
    }
    double sum = 0, sq = 0, n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        sum += c;
        sq += (double)c * c;
        n++;
    }
    fclose(f);
    remove(gray);
    if (n != (double)*w * *h) {
        return -1;
    }
    double mean = sum / n;
    return sq / n - mean * mean;
}

Test(convert_thumbs, poster_skips_black_start_and_storyboard_covers_the_video)
{
    /* 1 s of black, then 5 s of picture: the whole first tenth is black */
    char *in = convert_fixtures_make(
        "th_black_start.mp4",
        "-f lavfi -i color=black:size=320x180:rate=25:duration=1 -f lavfi -i "
        "testsrc2=size=320x180:rate=25:duration=5 -filter_complex '[0][1]concat=n=2:v=1' "
        "-c:v libx264 -preset ultrafast -pix_fmt yuv420p");
    cr_assert_not_null(in);
    char *out = convert_fixtures_path("th_black_start.out");
    struct thumbs_seen z;
    /* 0.05 s between tiles: some 120 tiles, more than one 10x10 sheet */
    struct convert_result res = thumbs_convert(in, out, 1, 0.05, &z);

    cr_assert(thumbs_seen_has(&z, "poster.jpg"), "poster.jpg not reported once with its size");
    cr_assert(thumbs_seen_has(&z, "sprites_0.jpg"));
    cr_assert(thumbs_seen_has(&z, "sprites_1.jpg"));
    cr_assert(thumbs_seen_has(&z, "storyboard.vtt"));
    cr_assert_eq(z.n, 4, "%d files reported", z.n);
    cr_assert_eq(z.master_before, 0, "a file was reported after master.m3u8 was written");

    char why[256];
    long long len[256];
    int cues = thumbs_check_storyboard(out, res.duration, 0.002, len, 256, why, sizeof(why));
    cr_assert_gt(cues, 100, "storyboard: %s", why);
    cr_assert_lt(cues, 200);

    int w, h;
    double var = thumbs_poster_variance(out, &w, &h);
    cr_assert_gt(var, THUMBS_FLAT_VARIANCE, "the poster is flat (variance %.1f): black?", var);
    cr_assert_eq(w, 320);
    cr_assert_eq(h, 180);
    free(in);
}

Test(convert_thumbs, poster_and_tiles_keep_the_pictures_levels)
{
    /* SMPTE bars stand still: every frame is the first one */
    char *in = convert_fixtures_make("th_bars.mp4",
                                     "-f lavfi -i smptebars=size=320x240:rate=25:duration=2 "
                                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p");
    cr_assert_not_null(in);
    char *out = convert_fixtures_path("th_bars.out");
    struct thumbs_seen z;
    thumbs_convert(in, out, 1, 0, &z);
    /* what ffmpeg makes of the first frame, and the same with its video
     * range taken for full range (JPEG's), the mistake to catch */
    cr_assert_eq(convert_fixtures_sh("cd '%s' && ffmpeg -v error -y -i '%s' -frames:v 1 ref.png && "
                                     "ffmpeg -v error -y -i '%s' -frames:v 1 -vf "
                                     "setparams=range=pc bad.png && ffmpeg -v error -y -i "
                                     "sprites_0.jpg -vf crop=160:120:0:0 tile.png",
                                     out, in, in),
                 0);
    char poster[1100], ref[1100], bad[1100], tile[1100];
    snprintf(poster, sizeof(poster), "%s/poster.jpg", out);
    snprintf(ref, sizeof(ref), "%s/ref.png", out);
    snprintf(bad, sizeof(bad), "%s/bad.png", out);
    snprintf(tile, sizeof(tile), "%s/tile.png", out);
    double wrong = convert_fixtures_picdiff(bad, ref, 1);
    double p = convert_fixtures_picdiff(poster, ref, 1), t = convert_fixtures_picdiff(tile, ref, 1);
    cr_assert_gt(wrong, 6, "the check cannot tell the ranges apart (%.1f)", wrong);
    cr_assert_lt(p, 3, "the poster differs from the frame by %.1f levels (wrong range: %.1f)", p,
                 wrong);
    cr_assert_lt(t, 3, "a tile differs from the frame by %.1f levels (wrong range: %.1f)", t,
                 wrong);
    free(in);
}

Test(convert_thumbs, automatic_interval_keeps_a_long_video_to_a_few_hundred_tiles)
{
    /* 7 minutes of a tiny portrait picture at 2 fps: quick to convert */
    char *in =
        convert_fixtures_make("th_long.mp4", "-f lavfi -i testsrc2=size=64x96:rate=2:duration=420 "
                                             "-c:v libx264 -preset ultrafast -pix_fmt yuv420p");
    cr_assert_not_null(in);
    char *out = convert_fixtures_path("th_long.out");
    struct thumbs_seen z;
    struct convert_result res = thumbs_convert(in, out, 1, 0, &z);

    /* max(2 s, 420 s / 200 rounded up) = 3 s: 140 tiles, each 3 s */
    char why[256];
    long long len[256];
    int cues = thumbs_check_storyboard(out, res.duration, 0.002, len, 256, why, sizeof(why));
    cr_assert_eq(cues, 140, "storyboard: %d cues (%s)", cues, cues < 0 ? why : "");
    for (int i = 0; i < cues; i++) {
        cr_assert_eq(len[i], 3000, "cue %d lasts %lld ms", i, len[i]);
    }
    /* no upscaling: the tiles are the picture's own size */
    int w, h;
    cr_assert(thumbs_sprite_size(out, 1, &w, &h));
    cr_assert_eq(w, 64 * 10, "sprites_1.jpg is %dx%d", w, h);
    cr_assert_eq(h, 96 * 4, "sprites_1.jpg is %dx%d: 40 tiles make 4 rows", w, h);
    cr_assert_gt(thumbs_poster_variance(out, &w, &h), THUMBS_FLAT_VARIANCE);
    free(in);
}

Test(convert_thumbs, clip_shorter_than_an_interval_gets_a_poster_and_one_tile)
{
    char *in = convert_fixtures_make("th_short.mp4",
                                     "-f lavfi -i testsrc2=size=320x240:rate=25:duration=0.4 "
                                     "-c:v libx264 -preset ultrafast -pix_fmt yuv420p");
    cr_assert_not_null(in);
    char *out = convert_fixtures_path("th_short.out");
    struct thumbs_seen z;
    struct convert_result res = thumbs_convert(in, out, 1, 0, &z);
    char why[256];
    long long len[4];
    int cues = thumbs_check_storyboard(out, res.duration, 0.002, len, 4, why, sizeof(why));
    cr_assert_eq(cues, 1, "storyboard: %d cues (%s)", cues, cues < 0 ? why : "");
    int w, h;
    cr_assert_eq(thumbs_sprite_size(out, 0, &w, &h), 1);
    cr_assert_eq(w, 160, "one tile 160 px wide: %dx%d", w, h);
    cr_assert_eq(h, 120);
    cr_assert_gt(thumbs_poster_variance(out, &w, &h), THUMBS_FLAT_VARIANCE);
    free(in);
}

Test(convert_thumbs, off_makes_none_and_leaves_the_segments_unchanged)
{
    char *in = convert_fixtures_make("th_off.mp4",
                                     "-f lavfi -i testsrc2=size=320x240:rate=25:duration=3 "
                                     "-f lavfi -i sine=duration=3 -c:v libx264 -preset ultrafast "
                                     "-pix_fmt yuv420p -c:a aac");
    cr_assert_not_null(in);
    char *on = convert_fixtures_path("th_off.on"), *off = convert_fixtures_path("th_off.off");
    struct thumbs_seen z;
    thumbs_convert(in, on, 1, 0, &z);
    cr_assert_eq(z.n, 3);
    thumbs_convert(in, off, 0, 0, &z);
    cr_assert_eq(z.n, 0, "%d files reported with thumbnails off", z.n);
    cr_assert_eq(convert_fixtures_sh("ls '%s' | grep -q -e poster -e sprites -e storyboard", off),
                 1, "thumbnails off left a poster or a storyboard");
    /* the ladder is the same, byte for byte, with or without them */
    cr_assert_eq(
        convert_fixtures_sh("for f in '%s'/240p/*.ts '%s'/audio/*.ts; do "
                            "cmp -s \"$f\" \"$(echo \"$f\" | sed 's,th_off.off,th_off.on,')\""
                            " || exit 1; done; test -s '%s/240p/seg_00001.ts'",
                            off, off, off),
        0, "thumbnails changed the segments");
    /* hls-convert makes them unless told not to */
    const char *bin = getenv("HLSD_BINDIR");
    cr_assert_not_null(bin);
    cr_assert_eq(convert_fixtures_sh("'%s/hls-convert' '%s' '%s.tool' --ladder 240:400k --preset "
                                     "ultrafast --no-thumbnails && ! ls '%s.tool' | grep -q -e "
                                     "poster -e sprites -e storyboard && '%s/hls-convert' '%s' "
                                     "'%s.tool2' --ladder 240:400k --preset ultrafast && test -s "
                                     "'%s.tool2/poster.jpg' && test -s '%s.tool2/storyboard.vtt'",
                                     bin, in, off, off, bin, in, off, off, off),
                 0, "hls-convert --no-thumbnails made them, or hls-convert did not by default");
    free(in);
}

Test(convert_thumbs, audio_only_makes_none_and_no_error)
{
    char *in = convert_fixtures_make("th_audio.m4a", "-f lavfi -i sine=duration=2 -c:a aac");
    cr_assert_not_null(in);
    char *out = convert_fixtures_path("th_audio.out");
    struct thumbs_seen z;
    thumbs_convert(in, out, 1, 0, &z);
    cr_assert_eq(z.n, 0);
    cr_assert_eq(convert_fixtures_sh("test -s '%s/master.m3u8' && ! ls '%s' | grep -q -e poster "
                                     "-e sprites -e storyboard",
                                     out, out),
                 0);
    free(in);
}

TestSuite(daemon_thumbs, .timeout = 120);

Test(daemon_thumbs, poster_and_storyboard_published_and_named_in_the_job)
{
    struct fix_daemon d;
    char out[8192], why[256];

    fix_daemon_init(&d, "thumbs", 0);
    fix_daemon_config(&d, 1, 2, NULL, "storyboard_interval = 1", NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait_done(&d, id, 60000);

    char root[1024], want[1100];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    snprintf(want, sizeof(want), "%s/poster.jpg", root);
    cr_assert_str_eq(fix_daemon_str(job, "poster_url"), want);
    cr_assert(fix_exists(want));
    snprintf(want, sizeof(want), "%s/storyboard.vtt", root);
    cr_assert_str_eq(fix_daemon_str(job, "storyboard_url"), want);
    /* the segments counters count segments only */
    cr_assert_eq(fix_daemon_segs(job, "uploaded"), fix_daemon_segs(job, "done"));
    cr_assert_eq(fix_daemon_published(root, NULL), fix_daemon_segs(job, "uploaded"));
    json_decref(job);

    long long len[8];
    int cues = thumbs_check_storyboard(root, 4.0, 0.1, len, 8, why, sizeof(why));
    cr_assert_eq(cues, 4, "published storyboard: %d cues (%s)", cues, cues < 0 ? why : "");
    int w, h;
    cr_assert_gt(thumbs_poster_variance(root, &w, &h), THUMBS_FLAT_VARIANCE);

    int rc = fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "poster      ") && strstr(out, "poster.jpg"), "status: %s", out);
    cr_assert(strstr(out, "storyboard  ") && strstr(out, "storyboard.vtt"), "status: %s", out);

    /* a job may go without them */
    id = fix_daemon_submit(&d, clip, "--no-thumbnails");
    job = fix_daemon_wait_done(&d, id, 60000);
    cr_assert(json_is_null(json_object_get(job, "poster_url")));
    cr_assert(json_is_null(json_object_get(job, "storyboard_url")));
    json_decref(job);
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    cr_assert_eq(convert_fixtures_sh("test -s '%s/master.m3u8' && ! ls '%s' | grep -q -e poster "
                                     "-e sprites -e storyboard",
                                     root, root),
                 0, "--no-thumbnails published a poster or a storyboard");
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(daemon_thumbs, thumbnails_no_publishes_none_unless_the_job_asks)
{
    struct fix_daemon d;
    char root[1024], want[1100];

    fix_daemon_init(&d, "nothumbs", 0);
    fix_daemon_config(&d, 1, 1, NULL, "thumbnails = no", NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "");
    json_t *job = fix_daemon_wait_done(&d, id, 60000);
    cr_assert(json_is_null(json_object_get(job, "poster_url")));
    cr_assert(json_is_null(json_object_get(job, "storyboard_url")));
    json_decref(job);
    cr_assert_eq(
        convert_fixtures_sh("! find '%s' -name '*.jpg' -o -name storyboard.vtt | grep -q .", d.www),
        0, "thumbnails = no published a poster or a storyboard");

    id = fix_daemon_submit(&d, clip, "--thumbnails");
    job = fix_daemon_wait_done(&d, id, 60000);
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    snprintf(want, sizeof(want), "%s/poster.jpg", root);
    cr_assert_str_eq(fix_daemon_str(job, "poster_url"), want);
    json_decref(job);
    char why[256];
    long long len[4];
    cr_assert_eq(thumbs_check_storyboard(root, 4.0, 0.1, len, 4, why, sizeof(why)), 2,
                 "--thumbnails: %s", why);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* On S3: the right content types, and URLs under the endpoint. */
Test(daemon_thumbs, s3_content_types_and_urls, .timeout = 180)
{
    struct fix_daemon d;
    char out[8192];

    if (fix_daemon_init(&d, "thumbs_s3", 1) < 0)
        cr_skip_test("no S3 test server");
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--prefix thumbs");
    json_t *job = fix_daemon_wait_done(&d, id, 90000);
    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char base[512], tail[600];
    snprintf(base, sizeof(base), "%s/thumbs/%lld", d.s3_prefix, (long long)id);
    snprintf(tail, sizeof(tail), "/%s/poster.jpg", base);
    const char *url = fix_daemon_str(job, "poster_url");
    cr_assert(strlen(url) > strlen(tail) && strcmp(url + strlen(url) - strlen(tail), tail) == 0 &&
                  strstr(url, bucket) != NULL,
              "poster_url %s is not the bucket's .../%s/poster.jpg", url, base);
    json_decref(job);
    static const struct {
        const char *rel, *type;
    } want[] = {{"poster.jpg", "image/jpeg"},
                {"sprites_0.jpg", "image/jpeg"},
                {"storyboard.vtt", "text/vtt"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int rc = fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/%s'",
                                bucket, base, want[i].rel);
        cr_assert_eq(rc, 0, "%s was not published", want[i].rel);
        cr_assert(strstr(out, want[i].type), "%s: %s", want[i].rel, out);
    }
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* The scheduler's side, with no process: a file beside the master
 * playlist (PROTO_SEG_FILE) is an object of the job, published before the
 * master and not counted as a segment; a name that is not NAME.jpg or
 * NAME.vtt is a protocol violation. */
TestSuite(sched_thumbs, .init = fix_sched_setup, .fini = fix_sched_teardown);

static void
thumbs_file(int w, int64_t job, const char *name, uint64_t size)
{
    struct proto_conv_segment m;
    memset(&m, 0, sizeof(m));
    snprintf(m.rendition, sizeof(m.rendition), "%s", name);
    m.kind = PROTO_SEG_FILE;
    m.size = size;
    sched_on_message(w, SCHED_CONVERT, PROTO_CONV_SEGMENT, (uint64_t)job, &m, sizeof(m));
}

Test(sched_thumbs, files_published_before_the_master_and_not_counted)
{
    int64_t id = fix_sched_converting(); /* two 720p segments reported */
    thumbs_file(CONV, id, "poster.jpg", 500);
    thumbs_file(CONV, id, "sprites_0.jpg", 900);
    thumbs_file(CONV, id, "storyboard.vtt", 100);
    cr_assert_str_eq(FS.killed[CONV], "", "killed: %s", FS.killed[CONV]);
    cr_assert_eq(fix_sched_row(id).segs_done, 2, "files counted as segments");
    fix_sched_conv_done(CONV, id, "4.000 v:720p");
    char order[2048] = "";
    fix_sched_publish_all(id, order, sizeof(order));
    const char *poster = strstr(order, "/poster.jpg"), *vtt = strstr(order, "/storyboard.vtt");
    const char *master = strstr(order, "/master.m3u8");
    cr_assert(poster && vtt && strstr(order, "/sprites_0.jpg") && master, "published: %s", order);
    cr_assert(poster < master && vtt < master, "the master is not last: %s", order);
    struct store_job row = fix_sched_row(id);
    cr_assert_eq(row.state, JOB_DONE);
    cr_assert_eq(row.segs_uploaded, 2, "%u segments uploaded: files counted", row.segs_uploaded);
    unsigned recount = 0;
    cr_assert_eq(store_obj_recount(FS.st, id, &recount), 0);
    cr_assert_eq(recount, 2, "the ledger recounts %u segments", recount);
}

Test(sched_thumbs, malformed_file_names_kill_the_worker)
{
    static const char *const bad[] = {"../poster.jpg", "a/b.jpg", "master.m3u8",
                                      "x.m3u8",        ".jpg",    "poster",
                                      "poster.png",    "p q.jpg", "poster.jpg.vtt"};
    int64_t id = fix_sched_converting();
    for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
        FS.killed[CONV][0] = '\0';
        thumbs_file(CONV, id, bad[c], 10);
        cr_expect(strstr(FS.killed[CONV], "malformed segment report") != NULL,
                  "\"%s\": killed for \"%s\"", bad[c], FS.killed[CONV]);
    }
}
