/*
 * test_player.c - the viewer's check: a job the real daemon published is
 * played by hls.js in headless Chromium (tests/player/play.mjs, see
 * docs/player-test.md): every level parsed, loaded and decoded at its size,
 * playback to the end, the duration a player shows. A missing Chromium or
 * npm install is a failure with the remedy, never a skip: `make test`
 * installs both (tools/deps.sh).
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *
chromium_path(void)
{
    const char *c = getenv("HLSD_CHROMIUM");
    return c ? c : "/usr/bin/chromium";
}

/* need_player - fail (not skip) with the remedy when a part is missing */
static void
need_player(void)
{
    char path[1024];

    cr_assert_eq(fix_sh(NULL, 0, "command -v node >/dev/null 2>&1"), 0,
                 "no node on PATH: run `make deps` (tools/player-deps.sh installs nodejs)");
    cr_assert_eq(access(chromium_path(), X_OK), 0,
                 "no Chromium at %s: run `make deps` (Debian's chromium package) or set "
                 "HLSD_CHROMIUM",
                 chromium_path());
    snprintf(path, sizeof(path), "%s/tests/player/node_modules/hls.js/dist/hls.min.js",
             fix_srcdir());
    cr_assert(fix_exists(path), "%s is missing: run `make deps` (npm ci --prefix tests/player)",
              path);
    snprintf(path, sizeof(path), "%s/tests/player/node_modules/playwright-core/package.json",
             fix_srcdir());
    cr_assert(fix_exists(path), "%s is missing: run `make deps` (npm ci --prefix tests/player)",
              path);
}

/* play - run play.mjs on dir; its exit status in *rc, its JSON result
 * (owned by the caller; asserted to parse), the reasons line in why */
static json_t *
play(struct fix_daemon *d, const char *dir, const char *args, int *rc, char *why, size_t whycap)
{
    static char out[1 << 18];
    char err[700];

    snprintf(err, sizeof(err), "%s/play.err", d->dir);
    int64_t t0 = fix_ms();
    *rc = fix_sh(out, sizeof(out), "node '%s/tests/player/play.mjs' '%s' --timeout 60 %s 2>'%s'",
                 fix_srcdir(), dir, args ? args : "", err);
    cr_log_info("player: %s: exit %d in %lld ms", dir, *rc, (long long)(fix_ms() - t0));
    fix_sh(why, whycap, "tail -c 1500 '%s'", err);
    cr_assert_neq(*rc, 3, "the player could not run: %s", why);
    json_error_t je;
    json_t *r = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
    cr_assert_not_null(r, "play.mjs printed no JSON (exit %d, %s): %.500s", *rc, why, out);
    return r;
}

/* probe_duration - the input's duration as ffprobe reads it */
static double
probe_duration(const char *file)
{
    char out[64];
    cr_assert_eq(fix_sh(out, sizeof(out),
                        "ffprobe -v error -show_entries format=duration -of csv=p=0 '%s'", file),
                 0);
    return atof(out);
}

/* publish - start the daemon with file:// output, submit clip with args,
 * wait for done; the published job directory in root */
static void
publish(struct fix_daemon *d, const char *name, const char *clip, const char *args, char *root,
        size_t cap)
{
    fix_daemon_init(d, name, 0);
    fix_daemon_config(d, 1, 2, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(d), 0, "hlsd did not start (log %s)", d->log);
    int64_t id = fix_daemon_submit(d, clip, args);
    cr_assert_gt(id, 0, "submit failed");
    json_decref(fix_daemon_wait_done(d, id, 60000));
    snprintf(root, cap, "%s/%lld", d->www, (long long)id);
    char master[1100];
    snprintf(master, sizeof(master), "%s/master.m3u8", root);
    cr_assert(fix_exists(master), "%s was not published", master);
}

static double
jnum(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static long long
jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/*
 * check_played - what a viewer needs, asserted on play.mjs's JSON: want
 * levels with these heights (lowest bit rate first), each loaded and
 * decoded at its size, playback to the end, the input's duration, no
 * fatal hls.js error, audio codec declared exactly when there is audio.
 */
static void
check_played(json_t *r, int rc, const char *why, const int *heights, size_t n, double duration,
             int audio)
{
    cr_assert_eq(rc, 0, "the player failed (exit %d): %s", rc, why);
    cr_assert(json_is_true(json_object_get(r, "ok")));
    cr_assert(json_is_true(json_object_get(r, "manifest_parsed")), "no MANIFEST_PARSED");

    json_t *levels = json_object_get(r, "levels");
    cr_assert_eq(json_array_size(levels), n, "hls.js parsed %zu levels, want %zu",
                 json_array_size(levels), n);
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(levels, i);
        cr_assert_eq(jint(l, "height"), heights[i], "level %zu is %lldp, want %dp", i,
                     jint(l, "height"), heights[i]);
        cr_assert_gt(jint(l, "bitrate"), 0, "level %zu has no bit rate", i);
        if (i > 0)
            cr_assert_gt(jint(l, "bitrate"), jint(json_array_get(levels, i - 1), "bitrate"),
                         "levels are not sorted by bit rate");
        const char *codecs = json_string_value(json_object_get(l, "codecs"));
        cr_assert(codecs && strncmp(codecs, "avc1.", 5) == 0, "level %zu codecs %s", i,
                  codecs ? codecs : "(none)");
        cr_assert_eq(strstr(codecs, "mp4a.40.2") != NULL, audio,
                     "level %zu declares %s for an input %s audio", i, codecs,
                     audio ? "with" : "without");
        cr_assert(json_is_true(json_object_get(l, "mse_supported")),
                  "Chromium's MediaSource does not take %s", codecs);
    }

    /* each level was forced once: a fragment of it loaded, and the picture
     * decoded at that level's size */
    json_t *checks = json_object_get(r, "level_checks");
    cr_assert_eq(json_array_size(checks), n);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(checks, i), *l = json_array_get(levels, i);
        cr_assert(json_is_true(json_object_get(c, "fragment_loaded")), "level %zu: no FRAG_LOADED",
                  i);
        cr_assert(json_is_true(json_object_get(c, "fragment_buffered")),
                  "level %zu: no FRAG_BUFFERED", i);
        json_t *dec = json_object_get(c, "decoded");
        cr_assert_eq(json_integer_value(json_array_get(dec, 0)), jint(l, "width"),
                     "level %zu decoded %lld wide, declared %lld", i,
                     (long long)json_integer_value(json_array_get(dec, 0)), jint(l, "width"));
        cr_assert_eq(json_integer_value(json_array_get(dec, 1)), jint(l, "height"),
                     "level %zu decoded %lld high, declared %lld", i,
                     (long long)json_integer_value(json_array_get(dec, 1)), jint(l, "height"));
    }

    json_t *pb = json_object_get(r, "playback");
    cr_assert(json_is_true(json_object_get(pb, "started")), "playback did not start");
    cr_assert_geq(jnum(pb, "max_time"), 3.0, "currentTime reached only %.2f s",
                  jnum(pb, "max_time"));
    cr_assert(json_is_true(json_object_get(pb, "ended")), "playback did not reach the end");

    /* the last picture has the size of one of the levels */
    json_t *v = json_object_get(r, "video");
    int match = 0;
    for (size_t i = 0; i < n; i++)
        match |= jint(v, "width") == jint(json_array_get(levels, i), "width") &&
                 jint(v, "height") == jint(json_array_get(levels, i), "height");
    cr_assert(match, "decoded %lldx%lld matches no level", jint(v, "width"), jint(v, "height"));

    double shown = jnum(r, "duration");
    cr_assert(fabs(shown - duration) <= 0.5, "the player shows %.3f s, the input lasts %.3f s",
              shown, duration);
    json_t *pd = json_object_get(r, "playlist_durations");
    for (size_t i = 0; i < json_array_size(pd); i++)
        cr_assert(fabs(json_number_value(json_array_get(pd, i)) - duration) <= 0.5,
                  "level %zu's playlist lasts %.3f s, the input %.3f s", i,
                  json_number_value(json_array_get(pd, i)), duration);

    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(r, "errors"), i, e)
    {
        cr_assert(!json_is_true(json_object_get(e, "fatal")), "fatal hls.js error %s/%s",
                  json_string_value(json_object_get(e, "type")),
                  json_string_value(json_object_get(e, "details")));
    }
    json_t *req = json_object_get(r, "requests");
    cr_assert_eq(json_array_size(json_object_get(req, "failed")), 0, "requests failed: %s", why);
    cr_assert_gt(jint(req, "segments"), 0);
}

Test(player, two_levels_with_audio_play_to_the_end, .timeout = 120)
{
    struct fix_daemon d;
    char root[1024], why[2048];
    int rc;

    need_player();
    const char *clip = fix_clip(8, 640, 360);
    cr_assert_not_null(clip);
    double dur = probe_duration(clip);
    publish(&d, "player-av", clip, "--ladder 360:800k,240:400k", root, sizeof(root));
    json_t *r = play(&d, root, "--to-end", &rc, why, sizeof(why));
    static const int heights[] = {240, 360};
    check_played(r, rc, why, heights, 2, dur, 1);
    json_decref(r);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(player, video_only_input_plays, .timeout = 120)
{
    struct fix_daemon d;
    char root[1024], why[2048], clip[1024];
    int rc;

    need_player();
    const char *tmp = fix_tmp();
    snprintf(clip, sizeof(clip), "%s/player-video-only-%ld.mp4", tmp ? tmp : "/tmp",
             (long)getpid());
    cr_assert_eq(fix_sh(NULL, 0,
                        "ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25:duration=6 "
                        "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -an '%s'",
                        clip),
                 0);
    double dur = probe_duration(clip);
    publish(&d, "player-v", clip, "--ladder 360:800k,240:400k", root, sizeof(root));
    json_t *r = play(&d, root, "--to-end", &rc, why, sizeof(why));
    static const int heights[] = {240, 360};
    check_played(r, rc, why, heights, 2, dur, 0);
    json_decref(r);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* the player check can fail: a published job that lost a segment of its
 * top level is refused, and the reason names the segment */
Test(player, a_missing_segment_fails_the_player, .timeout = 120)
{
    struct fix_daemon d;
    char root[1024], why[2048];
    int rc;

    need_player();
    const char *clip = fix_clip(8, 640, 360);
    cr_assert_not_null(clip);
    publish(&d, "player-broken", clip, "--ladder 360:800k,240:400k", root, sizeof(root));
    fix_daemon_stop(&d, SIGTERM, 10000);
    char seg[1100];
    snprintf(seg, sizeof(seg), "%s/360p/seg_00002.ts", root);
    cr_assert_eq(unlink(seg), 0, "%s: no such segment to remove", seg);
    json_t *r = play(&d, root, "--to-end", &rc, why, sizeof(why));
    cr_assert_eq(rc, 1, "the player passed a job with a missing segment (exit %d)", rc);
    cr_assert(json_is_false(json_object_get(r, "ok")));
    cr_assert(strstr(why, "404") && strstr(why, "360p/seg_00002.ts"),
              "the reason does not name the missing segment: %s", why);
    json_decref(r);
}

/*
 * check_cues - every cue hls.js holds (it may have dropped those behind
 * the playhead) is one of subs_srt's, at its time: hls.js's timeline
 * starts at the first frame's decode time, so within a few frames.
 */
static void
check_cues(json_t *r)
{
    json_t *shown = json_object_get(json_object_get(r, "subtitles"), "cues");
    cr_assert_geq(json_array_size(shown), 1, "no cue reached the video element");
    static const struct {
        const char *text;
        double start;
    } want[] = {{"Hello <i>world</i>", 0.5}, {"Second cue", 3.0}};
    size_t i;
    json_t *c;
    json_array_foreach(shown, i, c)
    {
        const char *text = json_string_value(json_object_get(c, "text"));
        double start = json_number_value(json_object_get(c, "start"));
        size_t k = 0;
        while (k < 2 && (text == NULL || strcmp(text, want[k].text) != 0))
            k++;
        cr_assert_lt(k, 2, "cue %zu \"%s\" is none of the input's", i, text ? text : "");
        cr_assert_lt(fabs(start - want[k].start), 0.15,
                     "\"%s\" shown at %.3f s, written for %.1f s", text, start, want[k].start);
    }
}

/* subs_clip - 8 s of 640x360 with `audio` tracks (1 or 2: English, French)
 * and an English subtitle track with subs_srt's cues; its path in clip */
static void
subs_clip(const char *name, int audio, char *clip, size_t cap)
{
    char srt[1024];
    const char *tmp = getenv("HLSD_TEST_TMP");
    snprintf(srt, sizeof(srt), "%s/%s-%ld.srt", tmp ? tmp : "/tmp", name, (long)getpid());
    snprintf(clip, cap, "%s/%s-%ld.mp4", tmp ? tmp : "/tmp", name, (long)getpid());
    FILE *f = fopen(srt, "w");
    cr_assert_not_null(f);
    fputs("1\n00:00:00,500 --> 00:00:02,000\nHello <i>world</i>\n\n"
          "2\n00:00:03,000 --> 00:00:07,500\nSecond cue\n",
          f);
    fclose(f);
    cr_assert_eq(fix_sh(NULL, 0,
                        "ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25:duration=8 "
                        "-f lavfi -i sine=f=440:d=8 -f lavfi -i sine=f=880:d=8 -i '%s' "
                        "-map 0 -map 1 %s -map 3 -c:v libx264 -preset ultrafast "
                        "-pix_fmt yuv420p -c:a aac -c:s mov_text -metadata:s:a:0 language=eng "
                        "-metadata:s:a:1 language=fre -metadata:s:s:0 language=eng '%s'",
                        srt, audio > 1 ? "-map 2" : "", clip),
                 0);
}

/* A viewer's languages: two audio tracks and a subtitle track in the input
 * become renditions that hls.js lists, switches to and shows. */
Test(player, languages_switch_and_subtitles_show, .timeout = 150)
{
    struct fix_daemon d;
    char root[1024], why[2048], clip[1024];
    int rc;

    need_player();
    subs_clip("player-langs", 2, clip, sizeof(clip));
    double dur = probe_duration(clip);
    publish(&d, "player-langs", clip, "--ladder 360:800k,240:400k", root, sizeof(root));
    json_t *r = play(&d, root, "--to-end", &rc, why, sizeof(why));
    static const int heights[] = {240, 360};
    check_played(r, rc, why, heights, 2, dur, 1);

    json_t *tracks = json_object_get(r, "audio_tracks");
    cr_assert_eq(json_array_size(tracks), 2, "hls.js lists %zu audio tracks",
                 json_array_size(tracks));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tracks, 0), "lang")), "en");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tracks, 1), "lang")), "fr");
    json_t *sw = json_object_get(r, "audio_switch");
    cr_assert(json_is_true(json_object_get(sw, "ok")), "no switch to French audio");
    cr_assert_str_eq(json_string_value(json_object_get(sw, "lang")), "fr");
    cr_assert(json_is_true(json_object_get(sw, "audio_buffered")), "no French audio buffered");

    json_t *subs = json_object_get(r, "subtitle_tracks");
    cr_assert_eq(json_array_size(subs), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(subs, 0), "lang")), "en");
    check_cues(r);
    json_decref(r);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* CMAF: the H.264 ladder in fMP4 segments (init.mp4 + .m4s) plays to the
 * end, audio from its group, and the WebVTT cues show at their times (the
 * fMP4 timeline starts where the MPEG-TS one does). */
Test(player, fmp4_ladder_plays_to_the_end, .timeout = 150)
{
    struct fix_daemon d;
    char root[1024], why[2048], clip[1024];
    int rc;

    need_player();
    subs_clip("player-fmp4", 1, clip, sizeof(clip));
    double dur = probe_duration(clip);
    publish(&d, "player-fmp4", clip, "--format fmp4 --ladder 360:800k,240:400k", root,
            sizeof(root));
    char init[1100];
    snprintf(init, sizeof(init), "%s/360p/init.mp4", root);
    cr_assert(fix_exists(init), "%s was not published", init);
    json_t *r = play(&d, root, "--to-end", &rc, why, sizeof(why));
    static const int heights[] = {240, 360};
    check_played(r, rc, why, heights, 2, dur, 1);
    cr_assert_eq(json_array_size(json_object_get(r, "subtitle_tracks")), 1);
    check_cues(r);
    json_decref(r);
    fix_daemon_stop(&d, SIGTERM, 10000);
}
