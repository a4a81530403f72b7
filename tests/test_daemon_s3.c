/*
 * test_daemon_s3.c - the whole daemon publishing to the run's real S3
 * server (skipped without one): a job read back by an independent client
 * (aws) with the right content types, uploads running while the
 * conversion goes on, and a wrong secret failing clearly without showing
 * any secret.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

Test(daemon_s3, submit_to_done_with_s3_and_awscli_reads_it_back, .timeout = 180)
{
    struct fix_daemon d;
    char out[16384];

    if (fix_daemon_init(&d, "s3", 1) < 0)
        cr_skip_test("no S3 test server");
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = fix_clip(6, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--prefix videos");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait_done(&d, id, 90000);
    json_decref(job);

    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char base[512];
    snprintf(base, sizeof(base), "%s/videos/%lld", d.s3_prefix, (long long)id);
    /* an independent client downloads what was published */
    char down[700];
    snprintf(down, sizeof(down), "%s/down", d.dir);
    int rc =
        fix_daemon_aws(out, sizeof(out), "s3 cp --recursive --only-show-errors 's3://%s/%s/' '%s'",
                       bucket, base, down);
    cr_assert_eq(rc, 0, "aws s3 cp exited %d", rc);
    int segs = fix_daemon_published(down, NULL);
    cr_assert_gt(segs, 0);
    /* the right content types */
    rc = fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/master.m3u8'",
                        bucket, base);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "application/vnd.apple.mpegurl"), "master content type: %s", out);
    char seg[1024];
    /* a video rendition's (the audio renditions' are named audio*) */
    snprintf(seg, sizeof(seg), "find '%s' -path '*/[0-9]*p/seg_00000.ts' | head -1", down);
    char segpath[700];
    fix_sh(segpath, sizeof(segpath), "%s", seg);
    segpath[strcspn(segpath, "\n")] = '\0';
    cr_assert(segpath[0], "no first segment downloaded");
    const char *rel = segpath + strlen(down) + 1;
    rc = fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/%s'", bucket,
                        base, rel);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "video/mp2t"), "segment content type: %s", out);
    /* a segment is real MPEG-TS with H.264 in it */
    rc = fix_sh(out, sizeof(out),
                "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "
                "'%s'",
                segpath);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "h264"), "ffprobe: %s", out);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* The first segment is in the bucket before the conversion has written its
 * last one: uploads run while conversion goes on. */
Test(daemon_s3, segments_upload_while_conversion_runs, .timeout = 240)
{
    struct fix_daemon d;
    char out[8192];

    if (fix_daemon_init(&d, "overlap", 1) < 0)
        cr_skip_test("no S3 test server");
    /* a slow preset on a longer clip: many segments, seconds apart */
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    cr_assert_gt(id, 0);
    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char outdir[800];
    snprintf(outdir, sizeof(outdir), "%s/%lld/out", d.spool, (long long)id);

    int seen = 0;
    int64_t deadline = fix_ms() + 120000;
    while (!seen && fix_ms() < deadline) {
        char first[900] = "";
        fix_sh(first, sizeof(first),
               "cd '%s' 2>/dev/null && ls */seg_00000.ts 2>/dev/null | head -1", outdir);
        first[strcspn(first, "\n")] = '\0';
        if (first[0] == '\0')
            continue;
        if (fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/%lld/%s'",
                           bucket, d.s3_prefix, (long long)id, first) != 0)
            continue;
        /* in the bucket: is the conversion still short of its last segment? */
        char last[900];
        char rend[64];
        snprintf(rend, sizeof(rend), "%.*s", (int)(strchr(first, '/') - first), first);
        snprintf(last, sizeof(last), "%s/%s/seg_00019.ts", outdir, rend);
        json_t *job = fix_daemon_status(&d, id);
        cr_assert_str_eq(fix_daemon_str(job, "state"), "converting",
                         "the first segment reached the bucket only after the conversion");
        cr_assert(!fix_exists(last), "the last segment was already written");
        json_decref(job);
        seen = 1;
    }
    cr_assert(seen, "the first segment never reached the bucket");
    json_t *job = fix_daemon_wait_done(&d, id, 180000);
    cr_assert_eq(fix_daemon_segs(job, "uploaded"), 40, "40 s in 2 s segments, video and audio");
    json_decref(job);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* A wrong secret: the job fails with S3's reason, and neither the wrong nor
 * the real secret appears in the job's error, hlsctl's output or the log. */
Test(daemon_s3, wrong_s3_secret_fails_clearly_and_leaks_no_secret, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192], extra[512];

    if (fix_daemon_init(&d, "badkey", 1) < 0)
        cr_skip_test("no S3 test server");
    const char *wrong = "WRONGsecretWRONGsecret0123456789abcdefXYZ";
    snprintf(extra, sizeof(extra), "secret_access_key = %s\nmax_attempts = 2", wrong);
    fix_daemon_config(&d, 1, 1, NULL, NULL, extra); /* the later key wins */
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    json_t *job = fix_daemon_wait(&d, id, NULL, 60000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    const char *err = fix_daemon_str(job, "error");
    cr_assert(strstr(err, "SignatureDoesNotMatch"), "the error does not say why: %s", err);
    cr_assert(strstr(err, getenv("HLSD_TEST_S3_BUCKET")), "the error names no bucket: %s", err);
    cr_assert(!strstr(err, wrong), "the error shows the secret");
    json_decref(job);
    fix_daemon_ctl(&d, out, sizeof(out), "--json status %lld 2>&1", (long long)id);
    cr_assert(!strstr(out, wrong) && !strstr(out, getenv("HLSD_TEST_S3_SECRET_KEY")));
    fix_daemon_stop(&d, SIGTERM, 10000);
    cr_assert(!fix_daemon_log_contains(&d, wrong), "the log shows the configured secret");
    cr_assert(!fix_daemon_log_contains(&d, getenv("HLSD_TEST_S3_SECRET_KEY")),
              "the log shows the real secret");
    cr_assert(fix_daemon_log_contains(&d, "SignatureDoesNotMatch"), "the log does not say why");
}
