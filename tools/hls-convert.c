/*
 * hls-convert - run the conversion engine once from the command line:
 *
 *   hls-convert INPUT OUTDIR [--ladder SPEC|copy] [--segment SECONDS]
 *               [--preset P] [--threads N] [--audio separate|muxed]
 *               [--first-variant auto|lowest|highest|NAME]
 *               [--subtitles LANG=FILE]... [--no-thumbnails]
 *               [--storyboard-interval SECONDS] [--format ts|fmp4]
 *               [--codec h264|hevc|av1] [--x265-preset P] [--svtav1-preset N]
 *               [--verbose]
 *
 * Exit 0 on success; otherwise 1 with a one-line reason on stderr (2 for
 * bad usage). --verbose prints each segment as it is reported, and the
 * progress, on stderr. This is how the tests and benchmarks drive the
 * engine without the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/convert.h"

static void
usage(void)
{
    fprintf(stderr, "usage: hls-convert INPUT OUTDIR [--ladder SPEC|copy] [--segment SECONDS]\n"
                    "                   [--preset P] [--threads N] [--audio separate|muxed]\n"
                    "                   [--first-variant auto|lowest|highest|NAME]\n"
                    "                   [--subtitles LANG=FILE]... [--no-thumbnails]\n"
                    "                   [--storyboard-interval SECONDS] [--format ts|fmp4]\n"
                    "                   [--codec h264|hevc|av1] [--x265-preset P]\n"
                    "                   [--svtav1-preset N] [--verbose]\n");
    exit(2);
}

static void
on_segment(void *ud, const struct convert_segment *s)
{
    (void)ud;
    fprintf(stderr, "%s %s %u %s %llu %.3f\n", s->init ? "init" : "segment", s->rendition, s->index,
            s->path, (unsigned long long)s->size, s->duration);
}

static void
on_file(void *ud, const char *name, const char *path, uint64_t size)
{
    (void)ud;
    fprintf(stderr, "file %s %s %llu\n", name, path, (unsigned long long)size);
}

static void
on_progress(void *ud, double f)
{
    (void)ud;
    fprintf(stderr, "progress %.3f\n", f);
}

int
main(int argc, char **argv)
{
    struct convert_opts o = {.thumbnails = 1};
    struct convert_caption caps[CONVERT_MAX_SUBTITLES];
    int verbose = 0;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int last = i + 1 >= argc;
        if (strcmp(a, "--ladder") == 0 && !last) {
            o.ladder = argv[++i];
        } else if (strcmp(a, "--segment") == 0 && !last) {
            char *end;
            o.segment_seconds = strtod(argv[++i], &end);
            if (*end != '\0' || o.segment_seconds <= 0) {
                fprintf(stderr, "hls-convert: bad --segment %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--preset") == 0 && !last) {
            o.preset = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && !last) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end != '\0' || n < 0 || n > 64) {
                fprintf(stderr, "hls-convert: bad --threads %s\n", argv[i]);
                return 2;
            }
            o.threads = (int)n;
        } else if (strcmp(a, "--audio") == 0 && !last) {
            const char *v = argv[++i];
            if (strcmp(v, "separate") != 0 && strcmp(v, "muxed") != 0) {
                fprintf(stderr, "hls-convert: --audio is separate or muxed, not %s\n", v);
                return 2;
            }
            o.audio_muxed = strcmp(v, "muxed") == 0;
        } else if (strcmp(a, "--first-variant") == 0 && !last) {
            o.first_variant = argv[++i];
        } else if (strcmp(a, "--subtitles") == 0 && !last) {
            char *v = argv[++i], *eq = strchr(v, '=');
            if (eq == NULL || eq == v || eq[1] == '\0' || o.n_captions == CONVERT_MAX_SUBTITLES) {
                fprintf(stderr, "hls-convert: --subtitles takes LANG=FILE (at most %d)\n",
                        CONVERT_MAX_SUBTITLES);
                return 2;
            }
            *eq = '\0';
            caps[o.n_captions++] = (struct convert_caption){.language = v, .path = eq + 1};
            o.captions = caps;
        } else if (strcmp(a, "--no-thumbnails") == 0) {
            o.thumbnails = 0;
        } else if (strcmp(a, "--storyboard-interval") == 0 && !last) {
            char *end;
            o.storyboard_interval = strtod(argv[++i], &end);
            if (*end != '\0' || !(o.storyboard_interval > 0) || o.storyboard_interval > 3600) {
                fprintf(stderr, "hls-convert: bad --storyboard-interval %s (0 < s <= 3600)\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--format") == 0 && !last) {
            const char *v = argv[++i];
            if (strcmp(v, "ts") != 0 && strcmp(v, "fmp4") != 0) {
                fprintf(stderr, "hls-convert: --format is ts or fmp4, not %s\n", v);
                return 2;
            }
            o.format = strcmp(v, "fmp4") == 0 ? CONVERT_FMP4 : CONVERT_TS;
        } else if (strcmp(a, "--codec") == 0 && !last) {
            if (convert_codec_parse(argv[++i], &o.video_codec) < 0) {
                fprintf(stderr, "hls-convert: --codec is h264, hevc or av1, not %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--x265-preset") == 0 && !last) {
            o.x265_preset = argv[++i];
        } else if (strcmp(a, "--svtav1-preset") == 0 && !last) {
            o.svtav1_preset = argv[++i];
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            usage();
        } else if (pos == 0) {
            o.input = a;
            pos++;
        } else if (pos == 1) {
            o.outdir = a;
            pos++;
        } else {
            usage();
        }
    }
    if (pos != 2) {
        usage();
    }
    if (verbose) {
        o.on_segment = on_segment;
        o.on_progress = on_progress;
        o.on_file = on_file;
    }
    convert_log_quiet();
    /* SVT-AV1 prints its banner unless told otherwise (1: errors only). */
    setenv("SVT_LOG", "1", 0);

    struct convert_result res;
    char err[512];
    if (convert_ladder_check(&o, err, sizeof(err)) < 0) {
        fprintf(stderr, "hls-convert: %s%s\n", err,
                o.format == CONVERT_TS ? " (use --format fmp4)" : "");
        return 1;
    }
    if (convert_run(&o, &res, err, sizeof(err)) < 0) {
        fprintf(stderr, "hls-convert: %s\n", err);
        return 1;
    }
    if (verbose) {
        fprintf(stderr, "done %.3f s,", res.duration);
        for (int i = 0; i < res.n_renditions; i++) {
            fprintf(stderr, " %s", res.renditions[i]);
        }
        fprintf(stderr, "\n");
    }
    if (res.notes[0] != '\0') {
        fprintf(stderr, "hls-convert: note: %s\n", res.notes);
    }
    return 0;
}
