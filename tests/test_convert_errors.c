/*
 * test_convert_errors.c - what must not become HLS ends in one clear line
 * naming the input and FFmpeg's reason, with errno set, never a crash; and
 * the hls-convert tool turns that into a non-zero exit and one stderr line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/convert_fixtures.h"
#include "workers/convert.h"

static void
convert_setup(void)
{
    convert_log_quiet();
}

TestSuite(convert_errors, .init = convert_setup, .timeout = 60);

/* run_fail - convert_run must fail; the message is returned for checks. */
static void
run_fail(const char *input, const char *ladder, double seg, int want_errno, char *err,
         size_t errlen)
{
    static int calls;
    char name[64];
    snprintf(name, sizeof(name), "cv_err_%d_%d.out", (int)getpid(), calls++);
    char *out = convert_fixtures_path(name);
    struct convert_opts o = {
        .input = input, .outdir = out, .ladder = ladder, .segment_seconds = seg};
    struct convert_result res;
    err[0] = '\0';
    errno = 0;
    cr_assert_eq(convert_run(&o, &res, err, errlen), -1, "%s converted", input);
    cr_assert_eq(errno, want_errno, "errno %d (%s), want %d; %s", errno, strerror(errno),
                 want_errno, err);
    cr_assert_neq(err[0], '\0');
    cr_assert_null(strchr(err, '\n'), "error is not one line: %s", err);
    cr_assert_eq(res.n_renditions, 0);
    char master[4200];
    snprintf(master, sizeof(master), "%s/master.m3u8", out);
    struct stat st;
    cr_assert_neq(stat(master, &st), 0, "a failed run left master.m3u8");
    free(out);
}

/* write_noise - fixed noise, so that a failure reproduces. */
static char *
write_noise(const char *name)
{
    char *in = convert_fixtures_path(name);
    FILE *f = fopen(in, "wb");
    cr_assert_not_null(f);
    unsigned x = 12345;
    for (int i = 0; i < 200000; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 16) & 0xff, f);
    }
    fclose(f);
    return in;
}

Test(convert_errors, random_bytes)
{
    char *in = write_noise("cv_random.mp4");
    char err[512];
    run_fail(in, NULL, 0, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, in) != NULL, "%s", err);
    cr_assert(strstr(err, "Invalid data") != NULL, "%s", err);
    free(in);
}

Test(convert_errors, random_bytes_named_bin)
{
    /* *.bin is "binary text" art to libavformat, whatever it holds. */
    char *in = write_noise("cv_random.bin");
    char err[512];
    run_fail(in, NULL, 0, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, in) != NULL, "%s", err);
    cr_assert(strstr(err, "no audio or video") != NULL, "%s", err);
    free(in);
}

Test(convert_errors, truncated_before_the_index)
{
    /* moov at the end: cut in half, nothing says where the samples are. */
    char *full = convert_fixtures_make("cv_trunc_full.mp4",
                                       "-f lavfi -i testsrc2=size=320x240:duration=3 -c:v libx264 "
                                       "-preset ultrafast");
    cr_assert_not_null(full);
    char *in = convert_fixtures_path("cv_trunc.mp4");
    struct stat st;
    cr_assert_eq(stat(full, &st), 0);
    cr_assert_eq(
        convert_fixtures_sh("head -c %lld '%s' > '%s'", (long long)st.st_size / 2, full, in), 0);
    char err[512];
    run_fail(in, NULL, 0, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, in) != NULL, "%s", err);
    cr_assert(strstr(err, "moov atom not found") != NULL, "FFmpeg's reason missing: %s", err);
    free(full);
    free(in);
}

Test(convert_errors, missing_file)
{
    char *in = convert_fixtures_path("cv_does_not_exist.mp4");
    char err[512];
    run_fail(in, NULL, 0, ENOENT, err, sizeof(err));
    cr_assert(strstr(err, "No such file") != NULL, "%s", err);
    free(in);
}

Test(convert_errors, empty_and_text_files)
{
    char *empty = convert_fixtures_path("cv_empty.mp4");
    char *text = convert_fixtures_path("cv_text.mp4");
    cr_assert_eq(convert_fixtures_sh(": > '%s'; echo 'not a video at all' > '%s'", empty, text), 0);
    char err[512];
    run_fail(empty, NULL, 0, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, empty) != NULL, "%s", err);
    run_fail(text, NULL, 0, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, text) != NULL, "%s", err);
    free(empty);
    free(text);
}

Test(convert_errors, bad_options)
{
    char *in = convert_fixtures_make("cv_opts.mp4", "-f lavfi -i testsrc2=size=160x120:duration=1 "
                                                    "-c:v libx264 -preset ultrafast");
    cr_assert_not_null(in);
    static const char *ladders[] = {"",        "abc",        "720",          "720:0k",
                                    "720:2x",  "720:1k",     "8:100k",       "720:1M,720:2M",
                                    "720:1M,", "99999:100k", "720:1M;480:1M"};
    char err[512];
    for (size_t i = 0; i < sizeof(ladders) / sizeof(ladders[0]); i++) {
        run_fail(in, ladders[i], 0, EINVAL, err, sizeof(err));
        cr_assert(strstr(err, "ladder") != NULL, "ladder \"%s\": %s", ladders[i], err);
    }
    run_fail(in, NULL, 0.5, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, "segment") != NULL, "%s", err);
    struct convert_opts o = {.input = in, .outdir = NULL};
    cr_assert_eq(convert_run(&o, NULL, err, sizeof(err)), -1);
    cr_assert_eq(errno, EINVAL);
    free(in);
}

Test(convert_errors, audio_only_refused_by_nothing_else)
{
    /* A subtitle-only file has neither audio nor video. */
    char *srt = convert_fixtures_path("cv_subs.srt");
    cr_assert_eq(
        convert_fixtures_sh("printf '1\\n00:00:00,000 --> 00:00:01,000\\nhello\\n' > '%s'", srt),
        0);
    char err[512];
    run_fail(srt, NULL, 0, EINVAL, err, sizeof(err));
    cr_assert(strstr(err, "no audio or video stream") != NULL, "%s", err);
    free(srt);
}

TestSuite(convert_tool, .timeout = 60);

Test(convert_tool, exit_status_and_one_line_reason)
{
    const char *bindir = getenv("HLSD_BINDIR");
    cr_assert_not_null(bindir, "HLSD_BINDIR is not set");
    char *in = convert_fixtures_make("cv_tool.mp4", "-f lavfi -i testsrc2=size=160x120:duration=2 "
                                                    "-f lavfi -i sine=duration=2 -c:v libx264 "
                                                    "-preset ultrafast -c:a aac");
    cr_assert_not_null(in);
    char *out = convert_fixtures_path("cv_tool.out");
    char *log = convert_fixtures_path("cv_tool.err");
    cr_assert_eq(convert_fixtures_sh("'%s/hls-convert' '%s' '%s' --ladder 120:300k --segment 1 "
                                     "--threads 1 --preset ultrafast 2>'%s'",
                                     bindir, in, out, log),
                 0);
    cr_assert_eq(convert_fixtures_sh("test -s '%s/master.m3u8' && test -s '%s/120p/index.m3u8' && "
                                     "test -s '%s/120p/seg_00001.ts' && test ! -s '%s'",
                                     out, out, out, log),
                 0, "hls-convert wrote the wrong layout or printed on success");

    char *bad = convert_fixtures_path("cv_tool_bad.bin");
    cr_assert_eq(convert_fixtures_sh("echo garbage > '%s'", bad), 0);
    int st = convert_fixtures_sh("'%s/hls-convert' '%s' '%s.bad' 2>'%s'", bindir, bad, out, log);
    cr_assert_neq(st, 0);
    cr_assert_eq(convert_fixtures_sh("test \"$(wc -l < '%s')\" -eq 1 && grep -q '^hls-convert: "
                                     ".*cv_tool_bad.bin' '%s'",
                                     log, log),
                 0, "stderr is not one line naming the input");
    cr_assert_eq(convert_fixtures_sh("'%s/hls-convert' 2>/dev/null", bindir), 2, "usage");
    free(in);
    free(out);
    free(log);
    free(bad);
}
