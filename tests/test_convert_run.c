/*
 * test_convert_run.c - the contract with the daemon: each segment reported
 * the moment it is complete (before any playlist), progress at least once
 * a second ending at 1, every callback on the thread that called
 * convert_run() (the daemon's outbox has one producer) even when the
 * renditions are encoded on threads of their own, and a cancel honoured
 * promptly without leaving a master playlist or a half-written segment
 * behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tests/convert_fixtures.h"
#include "workers/convert.h"

static void
convert_setup(void)
{
    convert_log_quiet();
}

TestSuite(convert_run, .init = convert_setup, .timeout = 120);

struct seen {
    const char *outdir;
    int n;
    char rendition[64][16];
    unsigned index[64];
    double duration[64];
    int problems;
    char problem[256];
    double progress[4096];
    double when[4096];
    int np;
    _Atomic int cancel;
    int cancel_after;
    pthread_t caller; /* the thread that runs convert_run() */
    int wrong_thread; /* callbacks seen on another thread */
};

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
on_segment(void *ud, const struct convert_segment *s)
{
    struct seen *z = ud;
    struct stat st;
    char p[4200];
    z->wrong_thread += !pthread_equal(pthread_self(), z->caller);
    if (stat(s->path, &st) != 0 || (uint64_t)st.st_size != s->size || s->size == 0) {
        snprintf(z->problem, sizeof(z->problem), "%.200s not complete on disk", s->path);
        z->problems++;
    }
    snprintf(p, sizeof(p), "%s/%s/seg_%05u.ts", z->outdir, s->rendition, s->index);
    if (strcmp(p, s->path) != 0) {
        snprintf(z->problem, sizeof(z->problem), "path %.100s, expected %.100s", s->path, p);
        z->problems++;
    }
    snprintf(p, sizeof(p), "%s/%s/index.m3u8", z->outdir, s->rendition);
    if (stat(p, &st) == 0) {
        snprintf(z->problem, sizeof(z->problem), "playlist before segment %u", s->index);
        z->problems++;
    }
    snprintf(p, sizeof(p), "%s/master.m3u8", z->outdir);
    if (stat(p, &st) == 0) {
        snprintf(z->problem, sizeof(z->problem), "master before segment %u", s->index);
        z->problems++;
    }
    if (z->n < 64) {
        snprintf(z->rendition[z->n], sizeof(z->rendition[0]), "%s", s->rendition);
        z->index[z->n] = s->index;
        z->duration[z->n] = s->duration;
        z->n++;
    }
    if (z->cancel_after > 0 && z->n >= z->cancel_after) {
        z->cancel = 1;
    }
}

static void
on_progress(void *ud, double f)
{
    struct seen *z = ud;
    z->wrong_thread += !pthread_equal(pthread_self(), z->caller);
    if (z->np < 4096) {
        z->progress[z->np] = f;
        z->when[z->np] = now();
        z->np++;
    }
}

static char *
make_input(const char *name, int seconds)
{
    char args[512];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=size=320x240:rate=30:duration=%d -f lavfi -i sine=duration=%d "
             "-c:v libx264 -preset ultrafast -c:a aac",
             seconds, seconds);
    char *in = convert_fixtures_make(name, args);
    cr_assert_not_null(in);
    return in;
}

Test(convert_run, segments_reported_as_they_complete)
{
    char *in = make_input("cv_cb.mp4", 7);
    char *out = convert_fixtures_path("cv_cb.out");
    struct seen *z = calloc(1, sizeof(*z));
    z->outdir = out;
    z->caller = pthread_self();
    struct convert_opts o = {.input = in,
                             .outdir = out,
                             .ladder = "240:400k,160:200k",
                             .segment_seconds = 2,
                             .on_segment = on_segment,
                             .on_progress = on_progress,
                             .ud = z};
    struct convert_result res;
    char err[512];
    double t0 = now();
    cr_assert_eq(convert_run(&o, &res, err, sizeof(err)), 0, "%s", err);
    double t1 = now();
    cr_assert_eq(z->problems, 0, "%d problems, e.g. %s", z->problems, z->problem);
    cr_assert_eq(z->wrong_thread, 0, "callbacks on another thread");
    cr_assert_eq(res.n_renditions, 3);
    cr_assert_str_eq(res.renditions[0], "240p");
    cr_assert_str_eq(res.renditions[1], "160p");
    cr_assert_str_eq(res.renditions[2], "audio");
    cr_assert_eq(res.kinds[0], CONVERT_VIDEO);
    cr_assert_eq(res.kinds[2], CONVERT_AUDIO);
    cr_assert_float_eq(res.duration, 7.0, 0.034);

    /* Every playlist entry was reported once, in order, with its EXTINF. */
    for (int r = 0; r < 3; r++) {
        char idx[4200], why[256];
        snprintf(idx, sizeof(idx), "%s/%s/index.m3u8", out, res.renditions[r]);
        struct convert_fixtures_media m;
        cr_assert_eq(convert_fixtures_media(idx, &m, why, sizeof(why)), 0, "%s", why);
        cr_assert_eq(m.n, 4, "7 s in 2 s segments");
        unsigned next = 0;
        for (int k = 0; k < z->n; k++) {
            if (strcmp(z->rendition[k], res.renditions[r]) != 0) {
                continue;
            }
            cr_assert_eq(z->index[k], next, "reported out of order");
            cr_assert_float_eq(z->duration[k], m.extinf[next], 1e-5);
            next++;
        }
        cr_assert_eq(next, (unsigned)m.n, "%u reported, %d in the playlist", next, m.n);
    }

    /* Progress: from 0 to 1, never backwards, never silent for a second. */
    cr_assert_geq(z->np, 2);
    cr_assert_float_eq(z->progress[0], 0.0, 1e-9);
    cr_assert_float_eq(z->progress[z->np - 1], 1.0, 1e-9);
    double last = t0;
    for (int k = 0; k < z->np; k++) {
        cr_assert_geq(z->progress[k], k > 0 ? z->progress[k - 1] : 0.0);
        cr_assert_leq(z->progress[k], 1.0);
        cr_assert_lt(z->when[k] - last, 1.0, "no progress for %.2f s", z->when[k] - last);
        last = z->when[k];
    }
    cr_assert_lt(t1 - last, 1.0);
    free(z);
    free(in);
    free(out);
}

/* no_part_files - nothing half-written is left in any rendition directory. */
static int
count_files(const char *outdir, const char *suffix)
{
    int n = 0;
    DIR *d = opendir(outdir);
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char sub[4200];
        snprintf(sub, sizeof(sub), "%s/%s", outdir, e->d_name);
        DIR *s = opendir(sub);
        if (s == NULL) {
            continue;
        }
        struct dirent *f;
        while ((f = readdir(s)) != NULL) {
            size_t l = strlen(f->d_name), ls = strlen(suffix);
            n += l >= ls && strcmp(f->d_name + l - ls, suffix) == 0;
        }
        closedir(s);
    }
    closedir(d);
    return n;
}

/* cancel_midway - cancel after the first segment; threads as given. */
static void
cancel_midway(int threads)
{
    char name[64];
    snprintf(name, sizeof(name), "cv_cancel%d.out", threads);
    char *in = make_input("cv_cancel.mp4", 8);
    char *out = convert_fixtures_path(name);
    struct seen *z = calloc(1, sizeof(*z));
    z->outdir = out;
    z->cancel_after = 1;
    z->caller = pthread_self();
    struct convert_opts o = {.input = in,
                             .outdir = out,
                             .ladder = "240:400k,160:200k",
                             .segment_seconds = 2,
                             .threads = threads,
                             .cancel = &z->cancel,
                             .on_segment = on_segment,
                             .ud = z};
    char err[512];
    struct convert_result res;
    cr_assert_eq(convert_run(&o, &res, err, sizeof(err)), -1);
    cr_assert_eq(errno, ECANCELED, "errno %d: %s", errno, err);
    /* Stopped at once: far fewer than the 8 segments of a full run. */
    cr_assert_lt(z->n, 4, "%d segments after the cancel", z->n);
    cr_assert_eq(z->wrong_thread, 0, "callbacks on another thread");
    char master[4200];
    snprintf(master, sizeof(master), "%s/master.m3u8", out);
    struct stat st;
    cr_assert_neq(stat(master, &st), 0);
    cr_assert_eq(count_files(out, ".part"), 0, "a half-written segment was left");
    cr_assert_eq(count_files(out, ".m3u8"), 0);
    free(z);
    free(in);
    free(out);
}

Test(convert_run, cancel_midway)
{
    cancel_midway(1); /* everything on the caller's thread */
    cancel_midway(2); /* the larger rendition on a thread, the other here */
}

Test(convert_run, cancel_before_start)
{
    char *in = make_input("cv_cancel0.mp4", 2);
    char *out = convert_fixtures_path("cv_cancel0.out");
    _Atomic int cancel = 1;
    struct convert_opts o = {.input = in, .outdir = out, .cancel = &cancel};
    char err[512];
    double t0 = now();
    cr_assert_eq(convert_run(&o, NULL, err, sizeof(err)), -1);
    cr_assert_eq(errno, ECANCELED, "%s", err);
    cr_assert_lt(now() - t0, 1.0);
    free(in);
    free(out);
}

Test(convert_run, same_output_twice)
{
    /* Deterministic: a worker that retries a job produces the same files. */
    char *in = make_input("cv_twice.mp4", 3);
    char *a = convert_fixtures_path("cv_twice.a");
    char *b = convert_fixtures_path("cv_twice.b");
    struct convert_opts o = {.input = in, .outdir = a, .ladder = "160:200k", .threads = 1};
    char err[512];
    cr_assert_eq(convert_run(&o, NULL, err, sizeof(err)), 0, "%s", err);
    o.outdir = b;
    cr_assert_eq(convert_run(&o, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(convert_fixtures_sh("cmp -s '%s/160p/seg_00000.ts' '%s/160p/seg_00000.ts' && "
                                     "cmp -s '%s/master.m3u8' '%s/master.m3u8'",
                                     a, b, a, b),
                 0, "two runs differ");
    free(in);
    free(a);
    free(b);
}

Test(convert_run, threaded_ladder_contract)
{
    /*
     * A budget of 2 threads encodes the largest rendition on a thread of
     * its own and the others on this one: the callbacks must still come
     * from this thread, each rendition's segments in order and before any
     * playlist, and a rerun must give the same bytes in every file (the
     * daemon skips re-uploading equal segments), as must budgets of 1 (all
     * on this thread), 3 (two threads) and 4 (a thread each, this one only
     * decoding), which place the renditions differently.
     */
    char *in = make_input("cv_thr.mp4", 5);
    char *a = convert_fixtures_path("cv_thr.a");
    char *b = convert_fixtures_path("cv_thr.b");
    struct seen *z = calloc(1, sizeof(*z));
    z->outdir = a;
    z->caller = pthread_self();
    struct convert_opts o = {.input = in,
                             .outdir = a,
                             .ladder = "240:400k,200:300k,160:200k",
                             .segment_seconds = 2,
                             .threads = 2,
                             .on_segment = on_segment,
                             .on_progress = on_progress,
                             .ud = z};
    struct convert_result res;
    char err[512];
    cr_assert_eq(convert_run(&o, &res, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(z->problems, 0, "%d problems, e.g. %s", z->problems, z->problem);
    cr_assert_eq(z->wrong_thread, 0, "%d callbacks on another thread", z->wrong_thread);
    cr_assert_eq(res.n_renditions, 4);
    cr_assert_eq(z->n, 12, "3 video and 1 audio renditions x 3 segments, %d reported", z->n);
    for (int r = 0; r < res.n_renditions; r++) {
        unsigned next = 0;
        for (int k = 0; k < z->n; k++) {
            if (strcmp(z->rendition[k], res.renditions[r]) == 0) {
                cr_assert_eq(z->index[k], next++, "%s reported out of order", z->rendition[k]);
            }
        }
        cr_assert_eq(next, 3u);
    }
    cr_assert_float_eq(z->progress[z->np - 1], 1.0, 1e-9);

    z->n = 0;
    z->outdir = b;
    o.outdir = b;
    cr_assert_eq(convert_run(&o, &res, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(z->problems, 0, "%d problems, e.g. %s", z->problems, z->problem);
    cr_assert_eq(z->wrong_thread, 0);
    cr_assert_eq(convert_fixtures_sh("diff -r '%s' '%s' >/dev/null", a, b), 0, "two runs differ");

    static const int others[] = {1, 3, 4};
    for (size_t t = 0; t < sizeof(others) / sizeof(others[0]); t++) {
        int threads = others[t];
        char name[32];
        snprintf(name, sizeof(name), "cv_thr.c%d", threads);
        char *c = convert_fixtures_path(name);
        z->n = 0;
        z->outdir = c;
        o.outdir = c;
        o.threads = threads;
        cr_assert_eq(convert_run(&o, &res, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(z->problems, 0, "%d problems, e.g. %s", z->problems, z->problem);
        cr_assert_eq(z->wrong_thread, 0);
        cr_assert_eq(z->n, 12, "threads %d: %d segments reported", threads, z->n);
        cr_assert_eq(convert_fixtures_sh("diff -r '%s' '%s' >/dev/null", a, c), 0,
                     "threads %d gives other bytes than threads 2", threads);
        free(c);
    }
    free(z);
    free(in);
    free(a);
    free(b);
}
