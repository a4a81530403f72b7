/*
 * convert_int.h - what the convert*.c files share and nothing else sees:
 * the probed input, ladder selection, the segmenting muxer, the encoders
 * and the playlist writer. Only convert.h is public.
 */
#ifndef HLSD_WORKERS_CONVERT_INT_H
#define HLSD_WORKERS_CONVERT_INT_H

#include <stdarg.h>
#include <stdio.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "workers/convert.h"

/* Keyframe grid: every renditions gets an IDR at each multiple of this. */
#define CONVERT_KEYFRAME_SECONDS 2.0

/*
 * Timestamps written into the TS start at this offset, as the ffmpeg CLI's
 * do (1.4 s): B-frame dts and AAC priming sit just before zero, and MPEG-TS
 * has no negative times. Identical in every rendition, so alignment holds.
 */
#define CONVERT_TS_OFFSET 1.4

/* convert_err.c: format "what: FFmpeg reason (last log line)", set errno. */
int convert_err_set(char *err, size_t errlen, int averr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* convert_log.c: the last error FFmpeg logged on this thread, if captured. */
void convert_log_reset(void);
const char *convert_log_last(void);

/* convert_lang.c: RFC 5646 tag and English name of a container's language. */
void convert_lang_tag(const char *value, char *tag, size_t taglen, char *name, size_t namelen);
/* Strings already taken: n of them, the first at first, the next stride bytes on
 * (a field of each element of an array of structs). */
struct convert_lang_set {
    const char *first;
    size_t stride;
    int n;
};
void convert_lang_name(char name[CONVERT_NAME_MAX], const char *prefix, const char *tag,
                       const char *suffix, const struct convert_lang_set *taken);
size_t convert_lang_utf8(const unsigned char *s, size_t n);
void convert_lang_label(char *dst, size_t cap, const char *src, const char *suffix);
void convert_lang_unique(char *s, size_t cap, const struct convert_lang_set *taken);

/* convert_probe.c: the input, its chosen streams and what they look like. */
struct convert_track {
    AVStream *st;
    AVCodecContext *dec; /* NULL unless decoders were opened */
};

struct convert_input {
    const char *path;
    AVFormatContext *fmt;
    int vidx; /* -1: none */
    AVStream *vst;
    AVCodecContext *vdec; /* NULL unless decoders were opened */
    /* Audio tracks, the main one (the best match for the video) first. */
    int na;
    struct convert_track audio[CONVERT_MAX_AUDIO];
    /* Text subtitle tracks, with their decoders always open. */
    int ns;
    struct convert_track subs[CONVERT_MAX_SUBTITLES];
    char skipped[256];  /* tracks left out and why, "" if none */
    double rotation;    /* degrees clockwise, as the ffmpeg CLI applies */
    int disp_w, disp_h; /* after pixel aspect and rotation */
    AVRational fps;     /* never 0 */
    double duration;    /* seconds; 0 = unknown */
    int64_t start;      /* AV_TIME_BASE units, subtracted from every time */
    int64_t size;       /* bytes; -1 = unknown */
};

/* max_audio: how many audio tracks to keep (at least the main one). */
int convert_probe_open(struct convert_input *in, const char *path, int threads, int decoders,
                       int max_audio, const _Atomic int *cancel, char *err, size_t errlen);
/* convert_probe_note - append one line to in->skipped ("; "-separated). */
void convert_probe_note(struct convert_input *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* convert_probe_track - the input's track whose stream index is idx, or NULL. */
struct convert_track *convert_probe_track(struct convert_input *in, int idx, enum convert_kind *k);
void convert_probe_close(struct convert_input *in);
double convert_probe_fraction(const struct convert_input *in, double pos_seconds);

/* convert_ladder.c: parse a ladder and pick the rungs a source allows. */
#define CONVERT_LADDER_DEFAULT "1080:5000k,720:2800k,480:1400k,360:800k"

struct convert_rung {
    int size;        /* short side of the picture */
    int64_t bitrate; /* bits/s cap */
    enum convert_codec codec;
};

struct convert_rendition {
    char name[CONVERT_NAME_MAX];
    int width, height;
    int64_t maxrate;
    enum convert_codec codec;
};

/* dflt: the codec of entries that name none. */
int convert_ladder_parse(const char *spec, enum convert_codec dflt, struct convert_rung *rungs,
                         int max, char *err, size_t errlen);
int convert_ladder_select(const struct convert_rung *rungs, int n, int src_w, int src_h,
                          struct convert_rendition *out);

/*
 * convert_ladder_threads - how a thread budget (>= 1) is spent on n
 * renditions of a src_w x src_h source: each rendition's libx264 thread
 * count in threads[], and in lane[] the lane that encodes it
 * (convert_pipe.c: 0 is the caller's thread, others threads of their own).
 * Returns the number of lanes; 1 keeps everything on the caller's thread,
 * as the daemon asks when it runs one worker per core.
 *
 * One rendition alone gets a lane of its own and x264_single threads for
 * its libx264 (the caller's option, 0 = libx264's automatic count), so the
 * caller decodes while it encodes. A ladder gets as many lanes as the
 * budget allows (at most one per rendition plus the caller's), the
 * renditions placed largest first on the least loaded lane, load being
 * picture area with the caller's lane starting at its own share: on 2
 * cores a 720p source's 720/480/360 ladder is 720p on one thread and
 * decode + 480p + 360p on the caller's, two busy threads for two cores.
 * The x264 budget is split by picture area (rounded down, at least one
 * each): up to a budget of 3, every rung of that ladder runs x264
 * single-threaded. That matters beyond speed: x264's frame threads make
 * VBV (our maxrate cap) depend on timing, and so the bytes on the run.
 * The plan depends only on its arguments, never on timing, and with
 * single-threaded x264s the lanes do not change a byte of the output.
 */
int convert_ladder_threads(const struct convert_rendition *r, int n, int src_w, int src_h,
                           int budget, int x264_single, int *threads, int *lane);

/* convert_grid.c: the keyframe and cut grid, in integer timestamps. */
int64_t convert_grid_next(int64_t ts, AVRational tb, double step);

/* convert_mux.c: one rendition's MPEG-TS segmenter. */
struct convert_mux;

struct convert_mux_seg {
    double duration;
    uint64_t size;
};

/* A video keyframe: where its PAT, PMT and picture lie in its segment. */
struct convert_mux_key {
    double time; /* seconds, on the rendition's timeline */
    unsigned seg;
    uint64_t offset, size;
};

int convert_mux_open(struct convert_mux **out, const struct convert_opts *o, const char *name,
                     const AVCodecParameters *vpar, AVRational vtb, const AVCodecParameters *apar,
                     AVRational atb, double seg_seconds, char *err, size_t errlen);
int convert_mux_push(struct convert_mux *m, int video, AVPacket *pkt, char *err, size_t errlen);
int convert_mux_finish(struct convert_mux *m, double end, char *err, size_t errlen);
void convert_mux_follow(struct convert_mux *m);
void convert_mux_unfollow(struct convert_mux *m);
int convert_mux_video_cut(struct convert_mux *m, double t, char *err, size_t errlen);
int convert_mux_video_clock(struct convert_mux *m, double t, char *err, size_t errlen);
void convert_mux_free(struct convert_mux **m);
const struct convert_mux_seg *convert_mux_segments(const struct convert_mux *m, unsigned *n);
const struct convert_mux_key *convert_mux_keys(const struct convert_mux *m, unsigned *n);
/* The RFC 6381 codecs of the video and of the audio carried, "" when none. */
const char *convert_mux_vcodec(const struct convert_mux *m);
const char *convert_mux_acodec(const struct convert_mux *m);

/* convert_video.c: rotation (the caller's stage), then per rendition scale +
 * libx264 (each rendition's stage, on any one thread). */
struct convert_video;

/* Takes pkt. */
typedef int (*convert_video_emit_fn)(void *ud, int i, AVPacket *pkt, char *err, size_t errlen);
/* Must not keep f (it may av_frame_ref it). */
typedef int (*convert_video_frame_fn)(void *ud, AVFrame *f, char *err, size_t errlen);

int convert_video_open(struct convert_video **out, const struct convert_input *in,
                       const struct convert_rendition *r, int n, const int *threads,
                       const struct convert_opts *o, double seg_seconds, char *err, size_t errlen);
const AVCodecContext *convert_video_encoder(const struct convert_video *v, int i);
int convert_video_rotate(struct convert_video *v, AVFrame *frame, convert_video_frame_fn next,
                         void *ud, char *err, size_t errlen);
int convert_video_encode(struct convert_video *v, int i, AVFrame *frame, convert_video_emit_fn emit,
                         void *ud, char *err, size_t errlen);
void convert_video_free(struct convert_video **v);

/*
 * convert_pipe.c: the renditions spread over lanes, lane 0 being the
 * caller's thread and every other lane a thread running
 * convert_video_encode() for its renditions, fed through a small bounded
 * queue of frame references; packets come back to the caller's thread,
 * which alone muxes and calls back. lane[i] is rendition i's lane; every
 * lane from 1 to the highest used must have a rendition.
 */
struct convert_pipe;

struct convert_pipe_cb {
    /* On the caller's thread: rendition i's next packet, in order (takes it). */
    int (*packet)(void *ud, int i, AVPacket *pkt, char *err, size_t errlen);
    /* On the caller's thread, at least every 100 ms while it waits: -1 stops. */
    int (*tick)(void *ud, char *err, size_t errlen);
    void *ud;
};

int convert_pipe_open(struct convert_pipe **out, struct convert_video *v, int n, const int *lane,
                      size_t frame_bytes, const struct convert_pipe_cb *cb, char *err,
                      size_t errlen);
int convert_pipe_send(struct convert_pipe *p, AVFrame *f, char *err, size_t errlen);
int convert_pipe_poll(struct convert_pipe *p, char *err, size_t errlen);
int convert_pipe_finish(struct convert_pipe *p, char *err, size_t errlen);
void convert_pipe_free(struct convert_pipe **p);

/* convert_audio.c: one audio track to AAC-LC 48 kHz, stereo or 5.1, encoded
 * once for every muxer that carries it. */
struct convert_audio;

int convert_audio_open(struct convert_audio **out, const struct convert_input *in,
                       const AVStream *st, int channels, char *err, size_t errlen);
const AVCodecContext *convert_audio_encoder(const struct convert_audio *a);
int convert_audio_push(struct convert_audio *a, AVFrame *frame, struct convert_mux **mux, int n,
                       char *err, size_t errlen);
void convert_audio_free(struct convert_audio **a);

/*
 * convert_playlist.c: media, I-frame and master playlists, each written
 * atomically, from one description per rendition.
 */
struct convert_variant {
    enum convert_kind kind;
    const char *name;
    const char *ext;    /* of its segments: "ts", "m4s", "vtt" */
    const char *map;    /* fMP4: its init segment ("init.mp4", EXT-X-MAP); NULL: none */
    const char *codecs; /* what its own segments carry ("avc1.64001f,mp4a.40.2" muxed) */
    const struct convert_mux_seg *segs;
    unsigned n_segs;
    /* video */
    int width, height;
    double fps;
    const char *range; /* VIDEO-RANGE: "SDR", "PQ", "HLG" */
    const struct convert_mux_key *keys;
    unsigned n_keys;
    /* audio and subtitles: their EXT-X-MEDIA entry */
    const char *group;    /* "aac-2", "aac-6", "subs"; NULL: muxed into the video */
    const char *language; /* RFC 5646, "" unknown */
    const char *label;    /* NAME */
    int channels;
    int is_default;
    int forced; /* subtitles: FORCED=YES */
};

struct convert_master {
    const char *first; /* convert_opts.first_variant */
    int captions;      /* CEA-608 in the video: 1 yes, 0 no, -1 unknown (copied video) */
};

int convert_playlist_media(const char *outdir, const struct convert_variant *v, char *err,
                           size_t errlen);
int convert_playlist_iframes(const char *outdir, const struct convert_variant *v, char *err,
                             size_t errlen);
int convert_playlist_master(const char *outdir, const struct convert_variant *v, int n,
                            const struct convert_master *how, char *err, size_t errlen);
/* convert_playlist_commit - close f, written as tmp, and rename it over
 * path: every file of the output appears whole or not at all (tmp is
 * removed on failure) */
int convert_playlist_commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen);

/* convert_subs.c: subtitle tracks and caption files as segmented WebVTT. */
struct convert_subs;

int convert_subs_open(struct convert_subs **out, struct convert_input *in,
                      const struct convert_opts *o, char *err, size_t errlen);
int convert_subs_count(const struct convert_subs *ss);
int convert_subs_packet(struct convert_subs *ss, const struct convert_track *t, AVPacket *pkt,
                        char *err, size_t errlen);
int convert_subs_write(struct convert_subs *ss, const struct convert_opts *o,
                       const struct convert_mux_seg *segs, unsigned n, char *err, size_t errlen);
void convert_subs_variant(const struct convert_subs *ss, int i, struct convert_variant *v);
void convert_subs_free(struct convert_subs **ss);

/* convert_thumb.c: poster.jpg, sprites_N.jpg and storyboard.vtt from the
 * upright decoded frames (the caller's thread, presentation order). */
struct convert_thumb;

int convert_thumb_open(struct convert_thumb **out, const struct convert_input *in,
                       const struct convert_opts *o, char *err, size_t errlen);
int convert_thumb_frame(struct convert_thumb *t, const AVFrame *f, char *err, size_t errlen);
/* NULL t: nothing to do. end: the media's end, seconds. */
int convert_thumb_finish(struct convert_thumb *t, double end, char *err, size_t errlen);
void convert_thumb_free(struct convert_thumb **t);

/* convert_copy.c: the "copy" ladder, remuxing without re-encoding. */
int convert_copy_check(const struct convert_input *in, char *err, size_t errlen);

/*
 * convert.c: one conversion's state, shared with the files that do a part
 * of convert_run() (convert_aout.c, convert_publish.c).
 *
 * One audio rendition: a track of the input encoded once, as stereo or
 * 5.1, into its own segments, or (mux NULL) into every video rendition's.
 */
struct convert_aout {
    int track;    /* in.audio[track] */
    int channels; /* 2 or 6 */
    struct convert_audio *enc;
    struct convert_mux *mux;
    char name[CONVERT_NAME_MAX], language[16], label[64];
    const char *group; /* "aac"; NULL: muxed */
    int is_default;
};

struct convert_job {
    const struct convert_opts *o;
    struct convert_input in;
    int copy;
    double seg;
    int n; /* video renditions */
    struct convert_rendition r[CONVERT_MAX_LADDER];
    struct convert_mux *mux[CONVERT_MAX_LADDER];
    struct convert_video *video;
    struct convert_pipe *pipe; /* NULL: renditions encoded on this thread */
    int na;                    /* audio renditions */
    struct convert_aout aout[2 * CONVERT_MAX_AUDIO];
    struct convert_subs *subs;
    struct convert_thumb *thumb; /* NULL: no poster nor storyboard */
    AVPacket *pkt;
    AVFrame *frame;
    AVFrame *vref;   /* a rendition's reference when encoding on this thread */
    double end;      /* latest media end seen, seconds from the start */
    int64_t vcut;    /* the video's next cut on the grid, input time base */
    double pos;      /* progress position, seconds */
    double reported; /* monotonic time of the last progress call */
    int64_t vcount, acount;
    int last_decode_error;
};

/* convert_aout.c: the audio renditions. */
void convert_aout_plan(struct convert_job *j, int muxed);
int convert_aout_push(struct convert_job *j, int t, AVFrame *f, char *err, size_t errlen);
int convert_aout_cuts(struct convert_job *j, const AVFrame *f, char *err, size_t errlen);

/* convert_publish.c: subtitle segments, playlists, master, the result. */
int convert_publish(struct convert_job *j, struct convert_result *res, char *err, size_t errlen);

#endif
