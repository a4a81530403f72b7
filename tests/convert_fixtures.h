/*
 * convert_fixtures.h - test helpers for the conversion engine: generate
 * small inputs with the ffmpeg CLI at test time, parse playlists the way a
 * player would, and probe segments with libavformat.
 */
#ifndef HLSD_TESTS_CONVERT_FIXTURES_H
#define HLSD_TESTS_CONVERT_FIXTURES_H

#include <stddef.h>

#define CONVERT_FIXTURES_MAX_SEGS 128
#define CONVERT_FIXTURES_MAX_KEYS 64

struct convert_fixtures_media {
    int version, vod, independent, endlist, media_sequence, iframes_only;
    long target;
    int n;
    double extinf[CONVERT_FIXTURES_MAX_SEGS];
    char uri[CONVERT_FIXTURES_MAX_SEGS][64];
    long long range_len[CONVERT_FIXTURES_MAX_SEGS], range_off[CONVERT_FIXTURES_MAX_SEGS]; /* -1 */
    double sum;
    char map[64]; /* EXT-X-MAP's URI (fMP4's init segment), "" when absent */
};

/* An EXT-X-STREAM-INF (or, from convert_fixtures_iframes, I-FRAME-STREAM-INF). */
struct convert_fixtures_variant {
    long bandwidth, average;
    char codecs[96];
    int width, height; /* 0: no RESOLUTION */
    double fps;        /* 0: no FRAME-RATE */
    char uri[64];
    char audio[32], subtitles[32], cc[32], range[16]; /* "" when absent */
};

/* An EXT-X-MEDIA line. */
struct convert_fixtures_rendition {
    char type[16], group[32], name[64], language[16], channels[8], uri[64];
    int is_default, autoselect, forced;
};

struct convert_fixtures_seg {
    int has_video, has_audio;
    int first_video_key;    /* the first video packet is a keyframe */
    double first_video_pts; /* seconds */
    double first_audio_pts; /* seconds */
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
int convert_fixtures_renditions(const char *path, struct convert_fixtures_rendition *r, int max,
                                char *why, size_t whylen);
int convert_fixtures_iframes(const char *path, struct convert_fixtures_variant *v, int max,
                             char *why, size_t whylen);
int convert_fixtures_probe(const char *path, struct convert_fixtures_seg *s);
/* Decode bytes [off, off+len) of path alone (after the init segment init,
 * when not NULL: fMP4): frames decoded, how many key, or -1. */
int convert_fixtures_range_frames(const char *path, const char *init, long long off, long long len,
                                  int *keys);
/*
 * convert_fixtures_join - what a player of fMP4 feeds its decoder: the init
 * segment then bytes [off, off+len) of seg (len < 0: all of it), in a new
 * scratch file; its path (free and unlink it), or NULL.
 */
char *convert_fixtures_join(const char *init, const char *seg, long long off, long long len);
/* The input's duration (seconds) and, if it has video, width/height/fps. */
int convert_fixtures_input(const char *path, double *duration, int *w, int *h, double *fps);
/* Mean absolute difference of two pictures' first frames, as 24x32 gray. */
double convert_fixtures_picdiff(const char *a, const char *b, int autorotate_a);

#endif
