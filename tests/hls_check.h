/*
 * hls_check.h - the project's own checks of a published HLS directory,
 * made the way a player and Apple's authoring specification would make
 * them: master playlist order and attributes, audio groups, I-frame
 * playlists whose byte ranges each decode as one keyframe, every media
 * playlist and every segment it names, and renditions aligned on the same
 * keyframes and cuts. Criterion assertions; for the conversion and daemon
 * tests alike.
 */
#ifndef HLSD_TESTS_HLS_CHECK_H
#define HLSD_TESTS_HLS_CHECK_H

struct hls_expect {
    int video, audio;
    int n;           /* video renditions (or, without video, audio-only variants) */
    double seg;      /* target segment length */
    int copy;        /* segment lengths follow the source */
    int partial;     /* a truncated input: less than its header says */
    int muxed;       /* audio inside the video segments (copy, or audio = muxed) */
    int surround;    /* a 5.1 rendition beside the stereo one */
    int subtitles;   /* subtitle renditions */
    int any_profile; /* a fast preset (ultrafast) may give less than High */
    /* fMP4 (CMAF): EXT-X-MAP in every media and I-frame playlist (version
     * 7), .m4s segments checked after their init segment, and init + the
     * first, middle and last segments decoded whole with ffmpeg. CODECS
     * may then be hvc1 (HEVC, sample entry hvc1) or av01 as well. */
    int fmp4;
};

/* One WebVTT cue, as published or as expected. */
struct hls_cue {
    double start, end;
    char text[256]; /* lines joined by '\n' */
};

/* hls_check_output - everything a player needs from OUTDIR, against the input. */
void hls_check_output(const char *input, const char *out, const struct hls_expect *e);

/*
 * hls_check_cues - the cues of a subtitle rendition's playlist
 * (OUTDIR/URI), each once (a cue repeated in the next segment counts once),
 * in start order, with times mapped through X-TIMESTAMP-MAP to the media
 * timeline. Returns how many (at most max).
 */
int hls_check_cues(const char *out, const char *uri, struct hls_cue *cues, int max);

#endif
