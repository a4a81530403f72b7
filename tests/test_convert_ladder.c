/*
 * test_convert_ladder.c - table-driven checks of the pure parts: ladder
 * parsing, rendition sizing (never upscale, even sizes, short side for
 * portrait) and the keyframe/cut grid, edge cases first.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "workers/convert_int.h"

TestSuite(convert_ladder);

Test(convert_ladder, parse)
{
    static const struct {
        const char *spec;
        int n;
        int size0;
        int64_t rate0;
    } cases[] = {
        {"720:2800k", 1, 720, 2800000},
        {"1080:5M,720:2800k", 2, 1080, 5000000},
        {"360:800000", 1, 360, 800000},
        {"480:1.5M", 1, 480, 1500000},
        {"", -1, 0, 0},
        {"720", -1, 0, 0},
        {"720:", -1, 0, 0},
        {":800k", -1, 0, 0},
        {"720:800q", -1, 0, 0},
        {"720:800k,", -1, 0, 0},
        {"720:800k,,480:400k", -1, 0, 0},
        {"15:800k", -1, 0, 0},
        {"4321:800k", -1, 0, 0},
        {"720:15k", -1, 0, 0},
        {"720:201M", -1, 0, 0},
        {"720:1M,720:2M", -1, 0, 0},
        {"100:1M,110:1M,120:1M,130:1M,140:1M,150:1M,160:1M,170:1M,180:1M", -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct convert_rung r[CONVERT_MAX_LADDER];
        char err[256] = "";
        int n = convert_ladder_parse(cases[i].spec, CONVERT_H264, r, CONVERT_MAX_LADDER, err,
                                     sizeof(err));
        cr_expect_eq(n, cases[i].n, "\"%s\": %d (%s)", cases[i].spec, n, err);
        if (n > 0) {
            cr_expect_eq(r[0].size, cases[i].size0);
            cr_expect_eq(r[0].bitrate, cases[i].rate0);
        } else {
            cr_expect(strstr(err, "ladder") != NULL, "\"%s\": %s", cases[i].spec, err);
        }
    }
}

Test(convert_ladder, select)
{
    static const struct convert_rung def[] = {{1080, 5000000, CONVERT_H264},
                                              {720, 2800000, CONVERT_H264},
                                              {480, 1400000, CONVERT_H264},
                                              {360, 800000, CONVERT_H264}};
    static const struct {
        int w, h;
        int n;
        const char *name0;
        int w0, h0;
        const char *last;
        int wl, hl;
    } cases[] = {
        {1920, 1080, 4, "1080p", 1920, 1080, "360p", 640, 360},
        {1280, 720, 3, "720p", 1280, 720, "360p", 640, 360},
        {1080, 1920, 4, "1080p", 1080, 1920, "360p", 360, 640}, /* portrait */
        {640, 480, 2, "480p", 640, 480, "360p", 480, 360},
        {321, 241, 1, "240p", 320, 240, "240p", 320, 240}, /* below all rungs */
        {1280, 719, 2, "480p", 854, 480, "360p", 640, 360},
        {2, 2, 1, "2p", 2, 2, "2p", 2, 2},
        {3, 1, 1, "2p", 2, 2, "2p", 2, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct convert_rendition r[CONVERT_MAX_LADDER];
        int n = convert_ladder_select(def, 4, cases[i].w, cases[i].h, r);
        cr_expect_eq(n, cases[i].n, "%dx%d: %d renditions", cases[i].w, cases[i].h, n);
        if (n < 1) {
            continue;
        }
        cr_expect_str_eq(r[0].name, cases[i].name0);
        cr_expect_eq(r[0].width, cases[i].w0, "%dx%d: %dx%d", cases[i].w, cases[i].h, r[0].width,
                     r[0].height);
        cr_expect_eq(r[0].height, cases[i].h0);
        cr_expect_str_eq(r[n - 1].name, cases[i].last);
        cr_expect_eq(r[n - 1].width, cases[i].wl, "%dx%d last: %dx%d", cases[i].w, cases[i].h,
                     r[n - 1].width, r[n - 1].height);
        cr_expect_eq(r[n - 1].height, cases[i].hl);
        for (int k = 0; k < n; k++) {
            cr_expect_eq(r[k].width % 2, 0);
            cr_expect_eq(r[k].height % 2, 0);
            cr_expect_leq(r[k].width, cases[i].w < 2 ? 2 : cases[i].w);
            cr_expect_leq(r[k].height, cases[i].h < 2 ? 2 : cases[i].h);
        }
    }
}

Test(convert_ladder, grid)
{
    static const struct {
        int64_t ts;
        AVRational tb;
        double step;
        int64_t next;
    } cases[] = {
        {INT64_C(-1), {1, 90000}, 2.0, 180000},
        {-1024, {1, 48000}, 6.0, 288000},
        {0, {1, 90000}, 2.0, 180000},
        {179999, {1, 90000}, 2.0, 180000},
        {180000, {1, 90000}, 2.0, 360000},
        {0, {1001, 30000}, 2.0, 60}, /* 59.94 ticks: the first frame at or after 2 s */
        {59, {1001, 30000}, 2.0, 60},
        {60, {1001, 30000}, 2.0, 120}, /* 119.88 -> 120 */
        {0, {1, 25}, 6.0, 150},
        {149, {1, 25}, 3.0, 150},
        {0, {1, 1000}, 1.5, 1500},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = convert_grid_next(cases[i].ts, cases[i].tb, cases[i].step);
        cr_expect_eq(got, cases[i].next, "next(%lld, %d/%d, %g) = %lld, want %lld",
                     (long long)cases[i].ts, cases[i].tb.num, cases[i].tb.den, cases[i].step,
                     (long long)got, (long long)cases[i].next);
    }
}

/* The thread plan: lanes and x264 threads, as the pipe and the docs rely on. */
Test(convert_ladder, threads_plan)
{
    static const struct convert_rendition hd[] = {{"720p", 1280, 720, 2800000, CONVERT_H264},
                                                  {"480p", 854, 480, 1400000, CONVERT_H264},
                                                  {"360p", 640, 360, 800000, CONVERT_H264}};
    static const struct convert_rendition full[] = {{"1080p", 1920, 1080, 5000000, CONVERT_H264},
                                                    {"720p", 1280, 720, 2800000, CONVERT_H264},
                                                    {"480p", 854, 480, 1400000, CONVERT_H264},
                                                    {"360p", 640, 360, 800000, CONVERT_H264}};
    /* listed smallest first: placement must not depend on the order */
    static const struct convert_rendition rev[] = {{"360p", 640, 360, 800000, CONVERT_H264},
                                                   {"480p", 854, 480, 1400000, CONVERT_H264},
                                                   {"720p", 1280, 720, 2800000, CONVERT_H264}};
    /* AV1 costs about 4 x264 encodes a pixel: it gets a thread to itself */
    static const struct convert_rendition mixed[] = {{"720p_av1", 1280, 720, 2000000, CONVERT_AV1},
                                                     {"720p", 1280, 720, 2800000, CONVERT_H264},
                                                     {"480p", 854, 480, 1400000, CONVERT_H264}};
    static const struct {
        const struct convert_rendition *r;
        int n, src_w, src_h, budget, single;
        int lanes;
        int lane[4], threads[4];
    } cases[] = {
        /* budget 1: everything here, single-threaded x264 */
        {hd, 3, 1280, 720, 1, 0, 1, {0, 0, 0}, {1, 1, 1}},
        /* 2 cores: 720p on a thread, decode + 480p + 360p here */
        {hd, 3, 1280, 720, 2, 0, 2, {1, 0, 0}, {1, 1, 1}},
        {rev, 3, 1280, 720, 2, 0, 2, {0, 0, 1}, {1, 1, 1}},
        /* 3: 720p and 480p on threads, 360p here with the decoding */
        {hd, 3, 1280, 720, 3, 0, 3, {2, 1, 0}, {1, 1, 1}},
        /* 4 and more: a thread each; x264 threads by area */
        {hd, 3, 1280, 720, 4, 0, 4, {3, 2, 1}, {2, 1, 1}},
        {hd, 3, 1280, 720, 8, 0, 4, {3, 2, 1}, {4, 2, 1}},
        /* 1080p source on 2 cores: 1080p on a thread, the rest here */
        {full, 4, 1920, 1080, 2, 0, 2, {1, 0, 0, 0}, {1, 1, 1, 1}},
        /* one rendition: a lane of its own, x264 threads as asked */
        {hd, 1, 1280, 720, 2, 0, 2, {1}, {0}},
        {hd, 1, 1280, 720, 4, 3, 2, {1}, {3}},
        {hd, 1, 1280, 720, 1, 0, 1, {0}, {1}},
        /* by area alone 480p would join the AV1 rendition's thread */
        {mixed, 3, 1280, 720, 2, 0, 2, {1, 0, 0}, {1, 1, 1}},
        {mixed, 3, 1280, 720, 4, 0, 4, {3, 2, 1}, {2, 1, 1}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int lane[CONVERT_MAX_LADDER], threads[CONVERT_MAX_LADDER];
        int lanes = convert_ladder_threads(cases[c].r, cases[c].n, cases[c].src_w, cases[c].src_h,
                                           cases[c].budget, cases[c].single, threads, lane);
        cr_expect_eq(lanes, cases[c].lanes, "case %zu: %d lanes", c, lanes);
        for (int i = 0; i < cases[c].n; i++) {
            cr_expect_eq(lane[i], cases[c].lane[i], "case %zu: %s on lane %d", c,
                         cases[c].r[i].name, lane[i]);
            cr_expect_eq(threads[i], cases[c].threads[i], "case %zu: %s with %d x264 threads", c,
                         cases[c].r[i].name, threads[i]);
        }
    }
}

/* Whatever the ladder and budget, every lane thread has a rendition to encode. */
Test(convert_ladder, threads_plan_lanes_valid)
{
    for (int n = 1; n <= CONVERT_MAX_LADDER; n++) {
        for (int budget = 1; budget <= 64; budget++) {
            struct convert_rendition r[CONVERT_MAX_LADDER];
            for (int i = 0; i < n; i++) {
                r[i] = (struct convert_rendition){"r", 2 * (8 + 37 * i % 11), 2 * (8 + i), 1,
                                                  CONVERT_H264};
            }
            int lane[CONVERT_MAX_LADDER], threads[CONVERT_MAX_LADDER];
            int lanes = convert_ladder_threads(r, n, 1920, 1080, budget, 0, threads, lane);
            cr_assert(lanes >= 1 && lanes <= n + 1 && lanes <= (budget > 1 ? budget : 1));
            int used[CONVERT_MAX_LADDER + 1] = {0};
            for (int i = 0; i < n; i++) {
                cr_assert(lane[i] >= 0 && lane[i] < lanes, "n %d budget %d: lane %d", n, budget,
                          lane[i]);
                cr_assert(threads[i] >= (n == 1 ? 0 : 1));
                used[lane[i]]++;
            }
            for (int k = 1; k < lanes; k++) {
                cr_assert_gt(used[k], 0, "n %d budget %d: lane %d has no rendition", n, budget, k);
            }
        }
    }
}
