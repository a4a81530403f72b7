/*
 * convert_int.h - what the convert*.c files share and nothing else sees:
 * the probed input, ladder selection, the segmenting muxer, the encoders
 * and the playlist writer. Only convert.h is public.
 */
#ifndef HLSD_WORKERS_CONVERT_INT_H
#define HLSD_WORKERS_CONVERT_INT_H

#include <stdarg.h>

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

/* convert_probe.c: the input, its chosen streams and what they look like. */
struct convert_input {
    const char *path;
    AVFormatContext *fmt;
    int vidx, aidx; /* -1: none */
    AVStream *vst, *ast;
    AVCodecContext *vdec, *adec; /* NULL unless decoders were opened */
    double rotation;             /* degrees clockwise, as the ffmpeg CLI applies */
    int disp_w, disp_h;          /* after pixel aspect and rotation */
    AVRational fps;              /* never 0 */
    double duration;             /* seconds; 0 = unknown */
    int64_t start;               /* AV_TIME_BASE units, subtracted from every time */
    int64_t size;                /* bytes; -1 = unknown */
};

int convert_probe_open(struct convert_input *in, const char *path, int threads, int decoders,
                       const _Atomic int *cancel, char *err, size_t errlen);
void convert_probe_close(struct convert_input *in);
double convert_probe_fraction(const struct convert_input *in, double pos_seconds);

/* convert_ladder.c: parse a ladder and pick the rungs a source allows. */
struct convert_rung {
    int size;        /* short side of the picture */
    int64_t bitrate; /* bits/s cap */
};

struct convert_rendition {
    char name[CONVERT_NAME_MAX];
    int width, height;
    int64_t maxrate;
};

int convert_ladder_parse(const char *spec, struct convert_rung *rungs, int max, char *err,
                         size_t errlen);
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

int convert_mux_open(struct convert_mux **out, const struct convert_opts *o, const char *name,
                     const AVCodecParameters *vpar, AVRational vtb, const AVCodecParameters *apar,
                     AVRational atb, double seg_seconds, char *err, size_t errlen);
int convert_mux_push(struct convert_mux *m, int video, AVPacket *pkt, char *err, size_t errlen);
int convert_mux_finish(struct convert_mux *m, double end, char *err, size_t errlen);
void convert_mux_free(struct convert_mux **m);
const struct convert_mux_seg *convert_mux_segments(const struct convert_mux *m, unsigned *n);
const char *convert_mux_codecs(struct convert_mux *m);

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

/* convert_audio.c: AAC-LC stereo 48 kHz, encoded once for all renditions. */
struct convert_audio;

int convert_audio_open(struct convert_audio **out, const struct convert_input *in, char *err,
                       size_t errlen);
const AVCodecContext *convert_audio_encoder(const struct convert_audio *a);
int convert_audio_push(struct convert_audio *a, AVFrame *frame, struct convert_mux **mux, int n,
                       char *err, size_t errlen);
void convert_audio_free(struct convert_audio **a);

/* convert_playlist.c: media and master playlists, each written atomically. */
struct convert_variant {
    const char *name;
    int width, height; /* 0: audio only */
    double fps;
    const char *codecs;
    const struct convert_mux_seg *segs;
    unsigned n_segs;
};

int convert_playlist_media(const char *outdir, const struct convert_variant *v, char *err,
                           size_t errlen);
int convert_playlist_master(const char *outdir, const struct convert_variant *v, int n, char *err,
                            size_t errlen);

/* convert_copy.c: the "copy" ladder, remuxing without re-encoding. */
int convert_copy_check(const struct convert_input *in, char *err, size_t errlen);

#endif
