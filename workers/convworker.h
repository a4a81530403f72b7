/*
 * convworker.h - the conversion worker: the skeleton plus convert_run.
 */
#ifndef HLSD_WORKERS_CONVWORKER_H
#define HLSD_WORKERS_CONVWORKER_H

#include "ipc/shmseg.h"

/* what a conversion worker needs from the configuration (daemon/config.c
 * fills it: config_convworker); the strings outlive the worker */
struct convworker_settings {
    const char *spool_dir; /* <spool>/<job>/input and <spool>/<job>/out/ */
    const char *preset;    /* x264 preset */
    /* defaults for a job whose spool has no options.json saying otherwise */
    int audio_muxed;
    const char *first_variant;
    int thumbnails;             /* poster.jpg, storyboard.vtt, sprites_N.jpg */
    double storyboard_interval; /* seconds; 0 = automatic */
    /* CMAF: segment_format (0 ts, 1 fmp4; a job's "format" overrides it),
     * the codec of ladder entries that name none, and the presets */
    int fmp4;
    int video_codec; /* enum convert_codec */
    const char *x265_preset;
    const char *svtav1_preset;
};

/* convworker_main - in the forked child, after shmseg_child_attach */
int convworker_main(const struct convworker_settings *set, shmseg_t *seg);

#endif
