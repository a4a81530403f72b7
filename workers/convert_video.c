/*
 * convert_video.c - the video half of a transcode, in two stages that may
 * run on different threads:
 *
 *   convert_video_rotate()  the caller's stage: apply the display matrix
 *                           (only when there is one to apply) and hand
 *                           each upright frame on;
 *   convert_video_encode()  one rendition's stage: scale to its size
 *                           (yuv420p, square pixels) and encode with its
 *                           own encoder, handing each packet on.
 *
 * A rendition's stage touches only that rendition's graph, encoder and
 * scratch frames, so each may run on its own thread (convert_pipe.c) with
 * no lock; what they share (input, options, sizes) is read-only once open.
 *
 * Keyframes are forced by timestamp on the shared grid (convert_grid.c)
 * with scene-cut detection off, so that every rendition has an IDR frame at
 * the same instants and its segments can be cut at the same frames.
 *
 * Codecs: libx264 (H.264 High), libx265 (HEVC Main, tagged hvc1 by the
 * muxer) and libsvtav1 (AV1 Main), each capped CRF with the rung's rate as
 * VBV maximum. FFmpeg 5.1's libsvtav1 ignores forced keyframes: it can
 * only place a keyframe every N frames. A ladder with an AV1 rendition
 * therefore forces keyframes by frame count in every rendition (frame 0,
 * N, 2N... with N the keyframe interval in frames), and SVT-AV1 gets the
 * same N as its fixed GOP; all renditions see the same frames, so their
 * keyframes fall on the same pictures.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>

#include "workers/convert_int.h"

/* Each encoder's own default quality; the ladder's bit rate caps it. */
#define CONVERT_VIDEO_CRF      "23"
#define CONVERT_VIDEO_CRF_X265 "28"
#define CONVERT_VIDEO_CRF_SVT  "35"
#define CONVERT_VIDEO_X265     "fast"
#define CONVERT_VIDEO_SVTAV1   "10"

/* A filter graph fed by a buffer source, rebuilt when its input changes. */
struct convert_video_graph {
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    int w, h, fmt; /* what the graph was built for */
};

/* One rendition's stage: only its own thread touches this. */
struct convert_video_out {
    struct convert_video_graph g;
    AVCodecContext *enc;
    AVFrame *f;
    AVPacket *pkt;
    int64_t next_force; /* next forced keyframe, encoder time base */
    int64_t last_pts;
    int64_t frames; /* frames sent to the encoder (keyframes by count) */
};

struct convert_video {
    const struct convert_input *in;
    const struct convert_opts *o;
    double seg_seconds;
    int n;
    struct convert_rendition r[CONVERT_MAX_LADDER];
    struct convert_video_out out[CONVERT_MAX_LADDER];
    struct convert_video_graph rot; /* the caller's stage; unused without one */
    const char *rotate;             /* its filters: tone map, display matrix; NULL: none */
    char rotate_buf[384];
    int tonemap; /* HDR (PQ or HLG) input made SDR in the caller's stage */
    AVFrame *f;
    int gop; /* > 0: a keyframe every gop frames in every rendition (AV1 in the ladder) */
};

static const char *const convert_video_encoders[] = {"libx264", "libx265", "libsvtav1"};

/* convert_video_preset - the preset the options give rendition i's encoder. */
static const char *
convert_video_preset(const struct convert_video *v, int i)
{
    switch (v->r[i].codec) {
    case CONVERT_HEVC:
        return v->o->x265_preset != NULL ? v->o->x265_preset : CONVERT_VIDEO_X265;
    case CONVERT_AV1:
        return v->o->svtav1_preset != NULL ? v->o->svtav1_preset : CONVERT_VIDEO_SVTAV1;
    default:
        return v->o->preset != NULL ? v->o->preset : "veryfast";
    }
}

/* convert_video_options - the encoder's options beyond the shared fields. */
static void
convert_video_options(const struct convert_video *v, int i, int threads, AVCodecContext *c,
                      AVDictionary **opt)
{
    char params[160];
    av_dict_set(opt, "preset", convert_video_preset(v, i), 0);
    switch (v->r[i].codec) {
    case CONVERT_HEVC:
        av_dict_set(opt, "crf", CONVERT_VIDEO_CRF_X265, 0);
        av_dict_set(opt, "forced-idr", "1", 0);
        /* Only forced keyframes, closed GOPs (segments decode alone), no
         * banner on stderr; threads within the budget. */
        if (threads > 0) {
            snprintf(params, sizeof(params),
                     "keyint=-1:scenecut=0:open-gop=0:log-level=error:frame-threads=1:pools=%d",
                     threads);
        } else {
            snprintf(params, sizeof(params), "keyint=-1:scenecut=0:open-gop=0:log-level=error");
        }
        av_dict_set(opt, "x265-params", params, 0);
        break;
    case CONVERT_AV1:
        av_dict_set(opt, "crf", CONVERT_VIDEO_CRF_SVT, 0);
        /* Closed GOPs of exactly gop frames (key frames, not forward ones);
         * no scene-change keyframes. */
        c->gop_size = v->gop;
        if (threads > 0) {
            snprintf(params, sizeof(params), "scd=0:irefresh-type=2:lp=%d", threads);
        } else {
            snprintf(params, sizeof(params), "scd=0:irefresh-type=2");
        }
        av_dict_set(opt, "svtav1-params", params, 0);
        break;
    default:
        av_dict_set(opt, "profile", "high", 0);
        av_dict_set(opt, "crf", CONVERT_VIDEO_CRF, 0);
        av_dict_set(opt, "forced-idr", "1", 0);
        /* Only forced keyframes: no scene cuts, no keyint-driven extras. */
        av_dict_set(opt, "x264-params", "scenecut=0:keyint=infinite", 0);
        break;
    }
}

/* convert_video_encoder_open - rendition i's encoder with its thread count. */
static int
convert_video_encoder_open(struct convert_video *v, int i, int threads, char *err, size_t errlen)
{
    const struct convert_rendition *r = &v->r[i];
    const char *name = convert_video_encoders[r->codec];
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (codec == NULL) {
        return convert_err_set(err, errlen, AVERROR_ENCODER_NOT_FOUND, "%s", name);
    }
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (c == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", name);
    }
    v->out[i].enc = c;
    c->width = r->width;
    c->height = r->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->time_base = v->in->vst->time_base;
    c->framerate = v->in->fps;
    c->thread_count = threads;
    c->rc_max_rate = r->maxrate;
    c->rc_buffer_size = (int)(r->maxrate * 2 > INT32_MAX ? INT32_MAX : r->maxrate * 2);
    if (v->o->format == CONVERT_FMP4) {
        /* Parameter sets in the init segment (avcC, hvcC, av1C). */
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    if (v->tonemap) {
        c->color_primaries = AVCOL_PRI_BT709;
        c->color_trc = AVCOL_TRC_BT709;
        c->colorspace = AVCOL_SPC_BT709;
    } else if (v->in->vdec != NULL) {
        c->color_primaries = v->in->vdec->color_primaries;
        c->color_trc = v->in->vdec->color_trc;
        c->colorspace = v->in->vdec->colorspace;
    }
    c->color_range = AVCOL_RANGE_MPEG;

    AVDictionary *opt = NULL;
    convert_video_options(v, i, threads, c, &opt);
    int ret = avcodec_open2(c, codec, &opt);
    av_dict_free(&opt);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s for %s (%dx%d, preset %s)", name, r->name,
                               r->width, r->height, convert_video_preset(v, i));
    }
    v->out[i].next_force = INT64_MIN;
    v->out[i].last_pts = INT64_MIN;
    v->out[i].f = av_frame_alloc();
    v->out[i].pkt = av_packet_alloc();
    if (v->out[i].f == NULL || v->out[i].pkt == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "video");
    }
    return 0;
}

int
convert_video_open(struct convert_video **out, const struct convert_input *in,
                   const struct convert_rendition *r, int n, const int *threads,
                   const struct convert_opts *o, double seg_seconds, char *err, size_t errlen)
{
    struct convert_video *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "video");
    }
    *out = v;
    v->in = in;
    v->o = o;
    v->n = n;
    v->seg_seconds = seg_seconds;
    memcpy(v->r, r, (size_t)n * sizeof(*r));
    for (int i = 0; i < n; i++) {
        if (r[i].codec == CONVERT_AV1) {
            /* The keyframe interval in frames: 2 s, or 1 s when segments
             * are an odd number of seconds (cuts then still fall on one),
             * or the segment length itself when it is not whole. */
            double step = fmod(seg_seconds, CONVERT_KEYFRAME_SECONDS) == 0
                              ? CONVERT_KEYFRAME_SECONDS
                          : fmod(seg_seconds, 1.0) == 0 ? 1.0
                                                        : seg_seconds;
            long gop = lround(step * av_q2d(in->fps));
            v->gop = gop < 1 ? 1 : gop > 600 ? 600 : (int)gop;
        }
    }
    v->f = av_frame_alloc();
    if (v->f == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "video");
    }
    /*
     * HDR to SDR: the ladder is 8-bit H.264 that players take as BT.709,
     * so a PQ or HLG picture is brought to linear light, tone-mapped
     * (Hable, no desaturation) and converted to BT.709 once, here, before
     * any scaling; the master playlist then honestly says VIDEO-RANGE=SDR.
     */
    enum AVColorTransferCharacteristic trc = in->vst->codecpar->color_trc;
    const char *tonemap = NULL;
    if (trc == AVCOL_TRC_SMPTE2084 || trc == AVCOL_TRC_ARIB_STD_B67) {
        tonemap = trc == AVCOL_TRC_SMPTE2084
                      ? "zscale=tin=smpte2084:min=bt2020nc:pin=bt2020:rin=tv:t=linear:npl=100,"
                        "format=gbrpf32le,zscale=p=bt709,tonemap=hable:desat=0,"
                        "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
                      : "zscale=tin=arib-std-b67:min=bt2020nc:pin=bt2020:rin=tv:t=linear:npl=100,"
                        "format=gbrpf32le,zscale=p=bt709,tonemap=hable:desat=0,"
                        "zscale=t=bt709:m=bt709:r=tv,format=yuv420p";
        v->tonemap = 1;
    }
    /* Rotation exactly as the ffmpeg CLI's autorotate inserts it. */
    char rotate[64] = "";
    double rot = in->rotation;
    if (fabs(rot - 90) < 1.0) {
        snprintf(rotate, sizeof(rotate), "transpose=clock");
    } else if (fabs(rot - 180) < 1.0) {
        snprintf(rotate, sizeof(rotate), "hflip,vflip");
    } else if (fabs(rot - 270) < 1.0) {
        snprintf(rotate, sizeof(rotate), "transpose=cclock");
    } else if (fabs(rot) > 1.0) {
        snprintf(rotate, sizeof(rotate), "rotate=%f*PI/180", rot);
    }
    if (tonemap != NULL || rotate[0] != '\0') {
        snprintf(v->rotate_buf, sizeof(v->rotate_buf), "%s%s%s", tonemap != NULL ? tonemap : "",
                 tonemap != NULL && rotate[0] != '\0' ? "," : "", rotate);
        v->rotate = v->rotate_buf;
    }
    for (int i = 0; i < n; i++) {
        if (convert_video_encoder_open(v, i, threads[i], err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

const AVCodecContext *
convert_video_encoder(const struct convert_video *v, int i)
{
    return v->out[i].enc;
}

/*
 * convert_video_graph_open - "buffer -> desc -> buffersink" for frames like
 * f, whose times are in the input stream's time base. Filter threads: the
 * caller's budget (0: automatic) for the caller's stage, 1 in a rendition
 * thread, which is already one of the budget's threads.
 */
static int
convert_video_graph_open(struct convert_video *v, struct convert_video_graph *g, const AVFrame *f,
                         const char *desc, int threads, char *err, size_t errlen)
{
    char args[256];
    AVRational tb = v->in->vst->time_base;
    AVRational sar = f->sample_aspect_ratio;
    if (sar.num <= 0 || sar.den <= 0) {
        sar = (AVRational){1, 1};
    }
    g->graph = avfilter_graph_alloc();
    if (g->graph == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: filter graph", v->in->path);
    }
    g->graph->nb_threads = threads;
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d:frame_rate=%d/%d",
             f->width, f->height, f->format, tb.num, tb.den, sar.num, sar.den, v->in->fps.num,
             v->in->fps.den);
    int ret = avfilter_graph_create_filter(&g->src, avfilter_get_by_name("buffer"), "in", args,
                                           NULL, g->graph);
    if (ret >= 0) {
        ret = avfilter_graph_create_filter(&g->sink, avfilter_get_by_name("buffersink"), "out",
                                           NULL, NULL, g->graph);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    AVFilterInOut *outputs = avfilter_inout_alloc();
    AVFilterInOut *inputs = avfilter_inout_alloc();
    if (outputs == NULL || inputs == NULL || (outputs->name = av_strdup("in")) == NULL ||
        (inputs->name = av_strdup("out")) == NULL) {
        avfilter_inout_free(&inputs);
        avfilter_inout_free(&outputs);
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: filters", v->in->path);
    }
    outputs->filter_ctx = g->src;
    inputs->filter_ctx = g->sink;
    ret = avfilter_graph_parse_ptr(g->graph, desc, &inputs, &outputs, NULL);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (ret >= 0) {
        ret = avfilter_graph_config(g->graph, NULL);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters \"%s\"", v->in->path, desc);
    }
    g->w = f->width;
    g->h = f->height;
    g->fmt = f->format;
    return 0;
}

static void
convert_video_graph_free(struct convert_video_graph *g)
{
    avfilter_graph_free(&g->graph);
    g->src = g->sink = NULL;
}

/* convert_video_graph_changed - a stream may change size or format midway. */
static int
convert_video_graph_changed(const struct convert_video_graph *g, const AVFrame *f)
{
    return g->graph != NULL && (f->width != g->w || f->height != g->h || f->format != g->fmt);
}

/* convert_video_send - encode one scaled frame (NULL: flush) of rendition i. */
static int
convert_video_send(struct convert_video *v, int i, AVFrame *f, convert_video_emit_fn emit, void *ud,
                   char *err, size_t errlen)
{
    struct convert_video_out *out = &v->out[i];
    AVCodecContext *c = out->enc;
    if (f != NULL) {
        AVRational tb = av_buffersink_get_time_base(out->g.sink);
        if (f->pts == AV_NOPTS_VALUE) {
            f->pts = out->last_pts == INT64_MIN ? 0 : out->last_pts + 1;
        } else {
            f->pts = av_rescale_q(f->pts, tb, c->time_base);
        }
        /* x264 needs strictly increasing times: a repeated one is a duplicate. */
        if (f->pts <= out->last_pts) {
            return 0;
        }
        out->last_pts = f->pts;
        /* The decoder's picture type must not leak into the encoder. */
        f->pict_type = AV_PICTURE_TYPE_NONE;
        if (v->gop > 0) {
            /* By count (see the top); SVT-AV1 places its own on the same frames. */
            if (out->frames % v->gop == 0 && v->r[i].codec != CONVERT_AV1) {
                f->pict_type = AV_PICTURE_TYPE_I;
            }
            out->frames++;
        } else if (f->pts >= out->next_force) {
            f->pict_type = AV_PICTURE_TYPE_I;
            int64_t a = convert_grid_next(f->pts, c->time_base, CONVERT_KEYFRAME_SECONDS);
            int64_t b = convert_grid_next(f->pts, c->time_base, v->seg_seconds);
            out->next_force = a < b ? a : b;
        }
    }
    const char *name = convert_video_encoders[v->r[i].codec];
    int ret = avcodec_send_frame(c, f);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: %s (%s)", v->in->path, name, v->r[i].name);
    }
    for (;;) {
        ret = avcodec_receive_packet(c, out->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: %s (%s)", v->in->path, name,
                                   v->r[i].name);
        }
        AVPacket *p = av_packet_alloc();
        if (p == NULL) {
            av_packet_unref(out->pkt);
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", v->in->path);
        }
        av_packet_move_ref(p, out->pkt);
        if (emit(ud, i, p, err, errlen) < 0) {
            return -1;
        }
    }
}

/* convert_video_scaled - encode every frame rendition i's graph has ready. */
static int
convert_video_scaled(struct convert_video *v, int i, convert_video_emit_fn emit, void *ud,
                     char *err, size_t errlen)
{
    struct convert_video_out *out = &v->out[i];
    for (;;) {
        int ret = av_buffersink_get_frame(out->g.sink, out->f);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
        }
        ret = convert_video_send(v, i, out->f, emit, ud, err, errlen);
        av_frame_unref(out->f);
        if (ret < 0) {
            return -1;
        }
    }
}

/* convert_video_drain - flush rendition i's graph into its encoder and free it. */
static int
convert_video_drain(struct convert_video *v, int i, convert_video_emit_fn emit, void *ud, char *err,
                    size_t errlen)
{
    struct convert_video_out *out = &v->out[i];
    if (out->g.graph == NULL) {
        return 0;
    }
    int ret = av_buffersrc_add_frame_flags(out->g.src, NULL, 0);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    ret = convert_video_scaled(v, i, emit, ud, err, errlen);
    convert_video_graph_free(&out->g);
    return ret;
}

/*
 * convert_video_encode - rendition i's stage: scale and encode one upright
 * frame, taking its reference (NULL: flush everything); each packet goes
 * to emit, which takes it. Touches nothing of the other renditions.
 */
int
convert_video_encode(struct convert_video *v, int i, AVFrame *frame, convert_video_emit_fn emit,
                     void *ud, char *err, size_t errlen)
{
    struct convert_video_out *out = &v->out[i];
    if (frame == NULL) {
        if (convert_video_drain(v, i, emit, ud, err, errlen) < 0) {
            return -1;
        }
        return convert_video_send(v, i, NULL, emit, ud, err, errlen);
    }
    if (convert_video_graph_changed(&out->g, frame) &&
        convert_video_drain(v, i, emit, ud, err, errlen) < 0) {
        av_frame_unref(frame);
        return -1;
    }
    if (out->g.graph == NULL) {
        char desc[128];
        snprintf(desc, sizeof(desc), "scale=%d:%d,setsar=1,format=yuv420p", v->r[i].width,
                 v->r[i].height);
        if (convert_video_graph_open(v, &out->g, frame, desc, 1, err, errlen) < 0) {
            av_frame_unref(frame);
            return -1;
        }
    }
    int ret = av_buffersrc_add_frame_flags(out->g.src, frame, 0);
    if (ret < 0) {
        av_frame_unref(frame);
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    return convert_video_scaled(v, i, emit, ud, err, errlen);
}

/* convert_video_rotated - hand on every frame the rotation graph has ready. */
static int
convert_video_rotated(struct convert_video *v, convert_video_frame_fn next, void *ud, char *err,
                      size_t errlen)
{
    AVRational tb = av_buffersink_get_time_base(v->rot.sink);
    for (;;) {
        int ret = av_buffersink_get_frame(v->rot.sink, v->f);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
        }
        if (v->f->pts != AV_NOPTS_VALUE) {
            v->f->pts = av_rescale_q(v->f->pts, tb, v->in->vst->time_base);
        }
        ret = next(ud, v->f, err, errlen);
        av_frame_unref(v->f);
        if (ret < 0) {
            return -1;
        }
    }
}

static int
convert_video_rotate_drain(struct convert_video *v, convert_video_frame_fn next, void *ud,
                           char *err, size_t errlen)
{
    if (v->rot.graph == NULL) {
        return 0;
    }
    int ret = av_buffersrc_add_frame_flags(v->rot.src, NULL, 0);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    ret = convert_video_rotated(v, next, ud, err, errlen);
    convert_video_graph_free(&v->rot);
    return ret;
}

/*
 * convert_video_rotate - the caller's stage: one decoded frame (times
 * relative to the input's start; NULL: drain) made upright and passed to
 * next, which must not keep the frame it is given (it refs it).
 */
int
convert_video_rotate(struct convert_video *v, AVFrame *frame, convert_video_frame_fn next, void *ud,
                     char *err, size_t errlen)
{
    if (v->rotate == NULL) {
        return frame == NULL ? 0 : next(ud, frame, err, errlen);
    }
    if (frame == NULL) {
        return convert_video_rotate_drain(v, next, ud, err, errlen);
    }
    if (convert_video_graph_changed(&v->rot, frame) &&
        convert_video_rotate_drain(v, next, ud, err, errlen) < 0) {
        return -1;
    }
    if (v->rot.graph == NULL &&
        convert_video_graph_open(v, &v->rot, frame, v->rotate, v->o->threads, err, errlen) < 0) {
        return -1;
    }
    int ret = av_buffersrc_add_frame_flags(v->rot.src, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    return convert_video_rotated(v, next, ud, err, errlen);
}

void
convert_video_free(struct convert_video **vp)
{
    struct convert_video *v = *vp;
    if (v == NULL) {
        return;
    }
    convert_video_graph_free(&v->rot);
    for (int i = 0; i < v->n; i++) {
        convert_video_graph_free(&v->out[i].g);
        avcodec_free_context(&v->out[i].enc);
        av_frame_free(&v->out[i].f);
        av_packet_free(&v->out[i].pkt);
    }
    av_frame_free(&v->f);
    free(v);
    *vp = NULL;
}
