/*
 * test_daemon_cmaf.c - CMAF through the real daemon: `hlsctl submit
 * --format fmp4` publishes init segments and .m4s segments that pass the
 * project's checks, each init segment before the playlists that name it;
 * `[convert] segment_format = fmp4` with a ladder naming HEVC and AV1 makes
 * one job whose renditions decode to the end with ffmpeg; HEVC or AV1 with
 * MPEG-TS is refused at submission (hlsctl and the daemon), saying how to
 * ask for fMP4, and no job is made. With the S3 test server: the content
 * types of init and media segments, video and audio.
 */
#include "tests/convert_fixtures.h"
#include "tests/fix_daemon.h"
#include "tests/hls_check.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mtime_ns - a published file's modification time, in nanoseconds */
static long long
mtime_ns(const char *root, const char *rel)
{
    char path[1400];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    cr_assert_eq(stat(path, &st), 0, "%s was not published", path);
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

Test(daemon_cmaf, fmp4_job_publishes_init_segments_first, .timeout = 120)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "cmaf-fmp4", 0);
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = fix_clip(6, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--format fmp4 --ladder 240:400k,160:200k");
    cr_assert_gt(id, 0, "submit failed");
    json_decref(fix_daemon_wait_done(&d, id, 90000));

    char root[700];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 2, .any_profile = 1, .fmp4 = 1};
    hls_check_output(clip, root, &e);
    /* every init segment was published before the playlists naming it */
    static const char *const rends[] = {"240p", "160p", "audio"};
    for (size_t i = 0; i < sizeof(rends) / sizeof(rends[0]); i++) {
        char init[64], index[64], seg0[64];
        snprintf(init, sizeof(init), "%s/init.mp4", rends[i]);
        snprintf(index, sizeof(index), "%s/index.m3u8", rends[i]);
        snprintf(seg0, sizeof(seg0), "%s/seg_00000.m4s", rends[i]);
        long long ti = mtime_ns(root, init);
        cr_assert_leq(ti, mtime_ns(root, index), "%s published after %s", init, index);
        cr_assert_leq(ti, mtime_ns(root, "master.m3u8"), "%s after master.m3u8", init);
        mtime_ns(root, seg0);
    }
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(daemon_cmaf, hevc_and_av1_in_one_job_decode_to_the_end, .timeout = 180)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "cmaf-codecs", 0);
    fix_daemon_config(&d, 1, 2, NULL,
                      "segment_format = fmp4\nx265_preset = ultrafast\nsvtav1_preset = 12\n", NULL);
    const char *clip = fix_clip(6, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    /* no --format: the configured fMP4 */
    int64_t id = fix_daemon_submit(&d, clip, "--ladder 240:300k:av1,240:400k:hevc,160:200k");
    cr_assert_gt(id, 0, "submit failed");
    json_decref(fix_daemon_wait_done(&d, id, 150000));

    char root[700];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 3, .seg = 2, .any_profile = 1, .fmp4 = 1};
    hls_check_output(clip, root, &e);
    static const char *const rends[] = {"240p_av1", "240p_hevc", "160p"};
    for (size_t i = 0; i < sizeof(rends) / sizeof(rends[0]); i++) {
        char out[512];
        int rc =
            fix_sh(out, sizeof(out),
                   "ffmpeg -nostdin -v error -i '%s/%s/index.m3u8' -f null - 2>&1", root, rends[i]);
        cr_assert(rc == 0 && out[0] == '\0', "%s does not decode to the end: %s", rends[i], out);
    }
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(daemon_cmaf, hevc_or_av1_with_mpeg_ts_is_refused, .timeout = 60)
{
    struct fix_daemon d;
    char out[8192], err[8192];

    fix_daemon_init(&d, "cmaf-refused", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    const char *clip = fix_clip(2, 160, 120);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);

    /* hlsctl itself, when the line asks for both */
    char errf[700];
    snprintf(errf, sizeof(errf), "%s/hlsctl.err", d.dir);
    int rc = fix_daemon_ctl(&d, out, sizeof(out),
                            "submit '%s' --format ts --ladder 240:400k:hevc 2>'%s'", clip, errf);
    fix_sh(err, sizeof(err), "cat '%s'", errf);
    cr_assert_eq(rc, 2, "hlsctl exit %d: %s", rc, err);
    cr_assert(strstr(err, "HEVC renditions need fMP4") && strstr(err, "--format fmp4"), "%s", err);

    /* the daemon, whose segment_format is ts */
    rc = fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --ladder 240:400k:av1 2>'%s'", clip,
                        errf);
    fix_sh(err, sizeof(err), "cat '%s'", errf);
    cr_assert_neq(rc, 0, "hlsctl exit %d: %s", rc, err);
    cr_assert(strstr(err, "bad_request") && strstr(err, "AV1 renditions need fMP4") &&
                  strstr(err, "--format fmp4"),
              "%s", err);

    /* a bad format or codec on the socket */
    json_t *r =
        fix_daemon_req(&d, "{\"cmd\":\"submit\",\"input\":\"x\",\"format\":\"mp4\",\"size\":1}");
    cr_assert_not_null(r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
                     "bad_request");
    json_decref(r);
    rc = fix_daemon_ctl(&d, out, sizeof(out),
                        "submit '%s' --format fmp4 --ladder 240:400k:vp9 2>'%s'", clip, errf);
    fix_sh(err, sizeof(err), "cat '%s'", errf);
    cr_assert_neq(rc, 0, "a vp9 rendition was accepted");
    cr_assert(strstr(err, "vp9") != NULL, "%s", err);

    /* no job was made */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "--json list"), 0);
    json_t *list = json_loads(out, 0, NULL);
    cr_assert_not_null(list, "%s", out);
    json_t *jobs = json_is_array(list) ? list : json_object_get(list, "jobs");
    cr_assert_eq(json_array_size(jobs), 0, "a refused submission made a job: %s", out);
    json_decref(list);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* S3: the content types a player and a CDN need for CMAF */
Test(daemon_cmaf, s3_content_types, .timeout = 120)
{
    struct fix_daemon d;
    char out[16384];

    if (fix_daemon_init(&d, "cmaf-s3", 1) < 0)
        cr_skip_test("no S3 test server");
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--format fmp4 --ladder 240:400k");
    cr_assert_gt(id, 0);
    json_decref(fix_daemon_wait_done(&d, id, 90000));
    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    static const struct {
        const char *rel, *type;
    } want[] = {
        {"240p/init.mp4", "video/mp4"},
        {"240p/seg_00000.m4s", "video/mp4"},
        {"audio/init.mp4", "audio/mp4"},
        {"audio/seg_00000.m4s", "audio/mp4"},
        {"240p/index.m3u8", "application/vnd.apple.mpegurl"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int rc =
            fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/%lld/%s'",
                           bucket, d.s3_prefix, (long long)id, want[i].rel);
        cr_assert_eq(rc, 0, "%s was not published", want[i].rel);
        char needle[96];
        snprintf(needle, sizeof(needle), "\"ContentType\": \"%s\"", want[i].type);
        cr_assert(strstr(out, needle), "%s: %s", want[i].rel, out);
    }
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* A convert worker killed mid-job: the job resumes and ends done in fMP4,
 * the init segment and the segments published before the crash are not
 * sent again (same files), and the whole passes the checks. */
Test(daemon_cmaf, resume_after_a_crash, .timeout = 240)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "cmaf-crash", 0);
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium", NULL);
    const char *clip = fix_clip(30, 640, 360);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--format fmp4 --ladder 360:800k");
    cr_assert_gt(id, 0);
    json_t *j = fix_daemon_wait_uploaded(&d, id, 3, 90000);
    cr_assert_not_null(j);
    json_decref(j);
    char root[700], init[800];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    snprintf(init, sizeof(init), "%s/360p/init.mp4", root);
    struct stat st;
    cr_assert_eq(stat(init, &st), 0, "the init segment was not published first");
    ino_t before = st.st_ino;
    pid_t victim = fix_daemon_worker_pid(&d, "convert", id);
    cr_assert_gt(victim, 0);
    cr_assert_eq(kill(victim, SIGKILL), 0);

    j = fix_daemon_wait_done(&d, id, 200000);
    cr_assert_eq(json_integer_value(json_object_get(j, "attempts")), 2, "the kill came too late");
    /* 15 video and 15 audio segments of 2 s, and the two init segments */
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 32, "%lld segments published",
                 fix_daemon_segs(j, "uploaded"));
    json_decref(j);
    cr_assert_eq(stat(init, &st), 0);
    cr_assert_eq(st.st_ino, before, "the init segment was sent again");
    struct hls_expect e = {.video = 1, .audio = 1, .n = 1, .seg = 2, .fmp4 = 1};
    hls_check_output(clip, root, &e);
    fix_daemon_stop(&d, SIGTERM, 10000);
}
