/*
 * convert.h - the conversion engine: one media file in, an HLS ladder out.
 *
 * convert_run() decodes the input once, scales and encodes every rendition
 * of the ladder (H.264 High; HEVC or AV1 when a rung names them), encodes
 * every audio track of the input (AAC-LC stereo, plus 5.1 for a surround
 * track) into renditions of their own, turns text subtitle tracks and
 * caption files into WebVTT, cuts MPEG-TS (or fMP4: init.mp4 + .m4s)
 * segments on keyframes that are forced at the same times in every
 * rendition, and writes
 *
 *     OUTDIR/<rendition>/seg_00000.ts ...   (each reported when closed;
 *                                            seg_00000.vtt for subtitles)
 *     OUTDIR/<rendition>/index.m3u8         (after its last segment)
 *     OUTDIR/<video rendition>/iframes.m3u8 (byte ranges into the segments)
 *     OUTDIR/poster.jpg, sprites_N.jpg, storyboard.vtt (thumbnails asked)
 *     OUTDIR/master.m3u8                    (last of all)
 *
 * docs/convert.md describes the layout and the master playlist.
 *
 * It is library code: it never logs, prints, exits or aborts on bad input.
 * It keeps no global state of its own, so it may run in a forked worker.
 * FFmpeg's own av_log output is process-wide and left to the caller;
 * convert_log_quiet() silences it and lets error strings carry FFmpeg's
 * last message.
 */
#ifndef HLSD_WORKERS_CONVERT_H
#define HLSD_WORKERS_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#define CONVERT_MAX_LADDER     8  /* video renditions */
#define CONVERT_MAX_AUDIO      8  /* audio tracks of the input made renditions */
#define CONVERT_MAX_SUBTITLES  16 /* subtitle tracks and caption files */
#define CONVERT_MAX_RENDITIONS (CONVERT_MAX_LADDER + 2 * CONVERT_MAX_AUDIO + CONVERT_MAX_SUBTITLES)
#define CONVERT_NAME_MAX       16
#define CONVERT_CAPTION_MAX    (32u << 20) /* bytes of a caption file: a film's are < 1 MiB */

enum convert_kind { CONVERT_VIDEO, CONVERT_AUDIO, CONVERT_SUBTITLES };

/* CMAF: the segment format and the video codec of a rendition. */
enum convert_format { CONVERT_TS = 0, CONVERT_FMP4 = 1 };
enum convert_codec { CONVERT_H264 = 0, CONVERT_HEVC = 1, CONVERT_AV1 = 2 };

/* One finished segment, reported the moment its file is complete on disk. */
struct convert_segment {
    const char *rendition; /* "720p", "audio_en", "subs_fr", ... */
    enum convert_kind kind;
    unsigned index;   /* NNNNN in seg_NNNNN.ts */
    const char *path; /* OUTDIR/<rendition>/seg_NNNNN.ts (.vtt for subtitles) */
    uint64_t size;    /* bytes */
    double duration;  /* seconds, as its EXTINF will say */
    /* fMP4: 1 for the rendition's init segment (init.mp4, reported before
     * its first media segment; index 0, duration 0), 0 for seg_NNNNN.m4s */
    int init;
};

/* A caption file given with the input (SubRip or WebVTT). */
struct convert_caption {
    const char *language; /* "en", "eng", "pt-BR"; NULL or "": undetermined */
    const char *path;
    const char *name; /* how messages name it (the user's file name); NULL: path */
};

struct convert_opts {
    const char *input;  /* media file to convert */
    const char *outdir; /* created if missing */
    /*
     * NULL: the default ladder, 1080:5000k,720:2800k,480:1400k,360:800k,
     * keeping the rungs not above the source. "copy": remux an H.264 8-bit
     * 4:2:0 + AAC input without re-encoding. Otherwise a list such as
     * "720:2800k,480:1400k": the short side of the picture and the bit-rate
     * cap (k or M suffix).
     */
    const char *ladder;
    double segment_seconds; /* target segment length; 0 = 6 */
    const char *preset;     /* libx264 preset; NULL = "veryfast" */
    int threads;            /* per encoder and decoder; 0 = automatic */
    /*
     * 0: every audio track of the input is a rendition of its own in an
     * EXT-X-MEDIA group (and an audio-only variant is listed); 1: the
     * input's main audio track muxed into every video variant, as hlsd
     * did before (the "copy" ladder always muxes).
     */
    int audio_muxed;
    /* The variant listed first, where players start: NULL or "auto" (the
     * one nearest 2 Mb/s), "lowest", "highest" or a rendition name. */
    const char *first_variant;
    const struct convert_caption *captions; /* CONVERT_MAX_SUBTITLES at most */
    int n_captions;
    /*
     * Poster and storyboard (docs/convert.md): non-zero writes
     * OUTDIR/poster.jpg, OUTDIR/sprites_N.jpg and OUTDIR/storyboard.vtt
     * from the same decode (none for an input without video or the copy
     * ladder). storyboard_interval: seconds between thumbnails, 0 =
     * max(2, duration / 200 rounded up to a whole second).
     */
    int thumbnails;
    double storyboard_interval;
    /*
     * CMAF. format: MPEG-TS segments (CONVERT_TS, the default) or fMP4
     * (init.mp4 + seg_NNNNN.m4s, EXT-X-MAP). video_codec: the codec of the
     * ladder entries that name none ("720:2800k"; "720:2800k:hevc" names
     * one). HEVC and AV1 need CONVERT_FMP4. x265_preset: libx265's preset,
     * NULL = "fast"; svtav1_preset: libsvtav1's, "0".."13", NULL = "10".
     */
    enum convert_format format;
    enum convert_codec video_codec;
    const char *x265_preset;
    const char *svtav1_preset;
    /* Non-zero: stop within a second, return -1 with errno ECANCELED. */
    const _Atomic int *cancel;
    /* Both optional; called on the thread that runs convert_run(). */
    void (*on_segment)(void *ud, const struct convert_segment *seg);
    void (*on_progress)(void *ud, double fraction); /* 0..1, >= once a second */
    /* A file beside master.m3u8 (name "poster.jpg", "sprites_0.jpg",
     * "storyboard.vtt"; path OUTDIR/name), reported once complete. */
    void (*on_file)(void *ud, const char *name, const char *path, uint64_t size);
    void *ud;
};

struct convert_result {
    int n_renditions;
    char renditions[CONVERT_MAX_RENDITIONS][CONVERT_NAME_MAX]; /* "720p", "audio_en" */
    enum convert_kind kinds[CONVERT_MAX_RENDITIONS];
    double duration; /* seconds of media converted (the sum of EXTINF) */
    char notes[256]; /* what of the input was left out and why; "" if nothing */
};

/*
 * convert_run - convert o->input into HLS under o->outdir.
 *
 * Returns 0, or -1 with errno set and a one-line reason in err naming the
 * input and FFmpeg's reason: ECANCELED (o->cancel was raised), EINVAL (bad
 * options, or an input that cannot become HLS), ENOMEM, or the system's
 * errno for files that cannot be read or written. Segments already
 * reported stay on disk; the caller owns OUTDIR's cleanup.
 */
int convert_run(const struct convert_opts *o, struct convert_result *res, char *err, size_t errlen);

/*
 * convert_caption_check - is path a caption file convert_run() can use
 * (SubRip or WebVTT, UTF-8, at least one cue)? 0, or -1 with errno EINVAL
 * and the reason with its line number in err ("captions.srt line 7: ..."),
 * naming the file as shown (NULL: path). For front ends, before a job is
 * accepted.
 */
int convert_caption_check(const char *path, const char *shown, char *err, size_t errlen);

/*
 * convert_ladder_check - can o's ladder (NULL: the default) be made with
 * o->format and o->video_codec? 0, or -1 with errno EINVAL and the reason
 * in err (a malformed entry, or HEVC/AV1 asked for with MPEG-TS). For
 * front ends, before a job is accepted; convert_run() checks the same.
 */
int convert_ladder_check(const struct convert_opts *o, char *err, size_t errlen);

/* convert_codec_name - "h264", "hevc", "av1"; convert_codec_parse - the
 * reverse (case-insensitive; "avc", "h265", "x265" too): 0, or -1. */
const char *convert_codec_name(enum convert_codec c);
int convert_codec_parse(const char *s, enum convert_codec *c);

/*
 * convert_log_quiet - silence FFmpeg's logging for this process and keep
 * each thread's last error message, which convert_run() then appends to its
 * error strings. For tools and worker processes; the library never calls it.
 */
void convert_log_quiet(void);

#endif
