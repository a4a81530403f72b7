/*
 * convert_fixtures.h - test helpers for the conversion engine: generate
 * small inputs with the ffmpeg CLI at test time, parse playlists the way a
 * player would, and probe segments with libavformat.
 */
#ifndef HLSD_TESTS_CONVERT_FIXTURES_H
#define HLSD_TESTS_CONVERT_FIXTURES_H

#include <stddef.h>

#define CONVERT_FIXTURES_MAX_SEGS 64
#define CONVERT_FIXTURES_MAX_KEYS 64

struct convert_fixtures_media {
    int version, vod, independent, endlist, media_sequence;
    long target;
    int n;
    double extinf[CONVERT_FIXTURES_MAX_SEGS];
    char uri[CONVERT_FIXTURES_MAX_SEGS][64];
    double sum;
};

struct convert_fixtures_variant {
    long bandwidth, average;
    char codecs[64];
    int width, height; /* 0: no RESOLUTION */
    double fps;        /* 0: no FRAME-RATE */
    char uri[64];
};

struct convert_fixtures_seg {
    int has_video, has_audio;
    int first_video_key;    /* the first video packet is a keyframe */
    double first_video_pts; /* seconds */
    int n_keys;             /* video keyframes in the segment */
    double keys[CONVERT_FIXTURES_MAX_KEYS];
    int width, height, pix_fmt, profile, level;
    int vcodec, acodec; /* AVCodecID */
    int channels, sample_rate, aac_profile;
};

/* The run's scratch directory (HLSD_TEST_TMP). */
const char *convert_fixtures_tmp(void);
/* A path under the scratch directory; returns a static-lifetime copy. */
char *convert_fixtures_path(const char *name);
/* Run a shell command; its exit status. */
int convert_fixtures_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ffmpeg -v error -y ARGS OUT into the scratch directory; the path, or NULL. */
char *convert_fixtures_make(const char *name, const char *args);

int convert_fixtures_media(const char *path, struct convert_fixtures_media *m, char *why,
                           size_t whylen);
int convert_fixtures_master(const char *path, struct convert_fixtures_variant *v, int max,
                            char *why, size_t whylen);
int convert_fixtures_probe(const char *path, struct convert_fixtures_seg *s);
/* The input's duration (seconds) and, if it has video, width/height/fps. */
int convert_fixtures_input(const char *path, double *duration, int *w, int *h, double *fps);
/* Mean absolute difference of two pictures' first frames, as 24x32 gray. */
double convert_fixtures_picdiff(const char *a, const char *b, int autorotate_a);

#endif
