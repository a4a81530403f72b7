/*
 * convert_video.c - the video half of a transcode: one filter graph that
 * rotates as the display matrix says, splits, and scales to every rendition
 * (yuv420p, square pixels), then one libx264 encoder per rendition.
 *
 * Keyframes are forced by timestamp on the shared grid (convert_grid.c)
 * with scene-cut detection off, so that every rendition has an IDR frame at
 * the same instants and its segments can be cut at the same frames.
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

/* libx264's own default quality; the ladder's bit rate caps it. */
#define CONVERT_VIDEO_CRF "23"

struct convert_video_out {
    AVFilterContext *sink;
    AVCodecContext *enc;
    int64_t next_force; /* next forced keyframe, encoder time base */
    int64_t last_pts;
};

struct convert_video {
    const struct convert_input *in;
    const struct convert_opts *o;
    double seg_seconds;
    int n;
    struct convert_rendition r[CONVERT_MAX_RENDITIONS];
    struct convert_video_out out[CONVERT_MAX_RENDITIONS];
    AVFilterGraph *graph;
    AVFilterContext *src;
    int gw, gh, gfmt; /* what the graph was built for */
    AVRational gsar;
    AVFrame *f;
    AVPacket *pkt;
};

/* convert_video_encoder_open - libx264 for one rendition. */
static int
convert_video_encoder_open(struct convert_video *v, int i, char *err, size_t errlen)
{
    const struct convert_rendition *r = &v->r[i];
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return convert_err_set(err, errlen, AVERROR_ENCODER_NOT_FOUND, "libx264");
    }
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (c == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "libx264");
    }
    v->out[i].enc = c;
    c->width = r->width;
    c->height = r->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->time_base = v->in->vst->time_base;
    c->framerate = v->in->fps;
    c->thread_count = v->o->threads;
    c->rc_max_rate = r->maxrate;
    c->rc_buffer_size = (int)(r->maxrate * 2 > INT32_MAX ? INT32_MAX : r->maxrate * 2);
    if (v->in->vdec != NULL) {
        c->color_primaries = v->in->vdec->color_primaries;
        c->color_trc = v->in->vdec->color_trc;
        c->colorspace = v->in->vdec->colorspace;
    }
    c->color_range = AVCOL_RANGE_MPEG;

    AVDictionary *opt = NULL;
    av_dict_set(&opt, "preset", v->o->preset != NULL ? v->o->preset : "veryfast", 0);
    av_dict_set(&opt, "profile", "high", 0);
    av_dict_set(&opt, "crf", CONVERT_VIDEO_CRF, 0);
    av_dict_set(&opt, "forced-idr", "1", 0);
    /* Only forced keyframes: no scene cuts, no keyint-driven extras. */
    av_dict_set(&opt, "x264-params", "scenecut=0:keyint=infinite", 0);
    int ret = avcodec_open2(c, codec, &opt);
    av_dict_free(&opt);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "libx264 for %s (%dx%d, preset %s)", r->name,
                               r->width, r->height,
                               v->o->preset != NULL ? v->o->preset : "veryfast");
    }
    v->out[i].next_force = INT64_MIN;
    v->out[i].last_pts = INT64_MIN;
    return 0;
}

int
convert_video_open(struct convert_video **out, const struct convert_input *in,
                   const struct convert_rendition *r, int n, const struct convert_opts *o,
                   double seg_seconds, char *err, size_t errlen)
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
    v->f = av_frame_alloc();
    v->pkt = av_packet_alloc();
    if (v->f == NULL || v->pkt == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "video");
    }
    for (int i = 0; i < n; i++) {
        if (convert_video_encoder_open(v, i, err, errlen) < 0) {
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

/* convert_video_graph - build the rotate/split/scale graph for frames like f. */
static int
convert_video_graph(struct convert_video *v, const AVFrame *f, char *err, size_t errlen)
{
    char desc[2048], args[256];
    size_t len = 0;
    double rot = v->in->rotation;
    AVRational tb = v->in->vst->time_base;
    AVRational sar = f->sample_aspect_ratio;
    if (sar.num <= 0 || sar.den <= 0) {
        sar = (AVRational){1, 1};
    }

    v->graph = avfilter_graph_alloc();
    if (v->graph == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: filter graph", v->in->path);
    }
    snprintf(args, sizeof(args),
             "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d:frame_rate=%d/%d",
             f->width, f->height, f->format, tb.num, tb.den, sar.num, sar.den, v->in->fps.num,
             v->in->fps.den);
    int ret = avfilter_graph_create_filter(&v->src, avfilter_get_by_name("buffer"), "in", args,
                                           NULL, v->graph);
    for (int i = 0; ret >= 0 && i < v->n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "out%d", i);
        ret = avfilter_graph_create_filter(&v->out[i].sink, avfilter_get_by_name("buffersink"),
                                           name, NULL, NULL, v->graph);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }

    /* Rotation exactly as the ffmpeg CLI's autorotate inserts it. */
    len += (size_t)snprintf(desc + len, sizeof(desc) - len, "[in]");
    if (fabs(rot - 90) < 1.0) {
        len += (size_t)snprintf(desc + len, sizeof(desc) - len, "transpose=clock,");
    } else if (fabs(rot - 180) < 1.0) {
        len += (size_t)snprintf(desc + len, sizeof(desc) - len, "hflip,vflip,");
    } else if (fabs(rot - 270) < 1.0) {
        len += (size_t)snprintf(desc + len, sizeof(desc) - len, "transpose=cclock,");
    } else if (fabs(rot) > 1.0) {
        len += (size_t)snprintf(desc + len, sizeof(desc) - len, "rotate=%f*PI/180,", rot);
    }
    if (v->n > 1) {
        len += (size_t)snprintf(desc + len, sizeof(desc) - len, "split=%d", v->n);
        for (int i = 0; i < v->n; i++) {
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, "[s%d]", i);
        }
        len += (size_t)snprintf(desc + len, sizeof(desc) - len, ";");
    }
    for (int i = 0; i < v->n && len < sizeof(desc); i++) {
        if (v->n > 1) {
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, "[s%d]", i);
        }
        len += (size_t)snprintf(desc + len, sizeof(desc) - len,
                                "scale=%d:%d,setsar=1,format=yuv420p[o%d]%s", v->r[i].width,
                                v->r[i].height, i, i + 1 < v->n ? ";" : "");
    }
    if (len >= sizeof(desc)) {
        return convert_err_set(err, errlen, AVERROR(EINVAL), "%s: filter description", v->in->path);
    }

    AVFilterInOut *outputs = avfilter_inout_alloc();
    AVFilterInOut *inputs = NULL;
    if (outputs == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: filters", v->in->path);
    }
    outputs->name = av_strdup("in");
    outputs->filter_ctx = v->src;
    for (int i = v->n - 1; i >= 0; i--) {
        AVFilterInOut *io = avfilter_inout_alloc();
        char name[16];
        snprintf(name, sizeof(name), "o%d", i);
        if (io == NULL || (io->name = av_strdup(name)) == NULL) {
            avfilter_inout_free(&io);
            avfilter_inout_free(&inputs);
            avfilter_inout_free(&outputs);
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: filters", v->in->path);
        }
        io->filter_ctx = v->out[i].sink;
        io->next = inputs;
        inputs = io;
    }
    ret = avfilter_graph_parse_ptr(v->graph, desc, &inputs, &outputs, NULL);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (ret >= 0) {
        ret = avfilter_graph_config(v->graph, NULL);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters \"%s\"", v->in->path, desc);
    }
    v->gw = f->width;
    v->gh = f->height;
    v->gfmt = f->format;
    v->gsar = sar;
    return 0;
}

/* convert_video_encode - encode one frame (NULL: flush) of rendition i. */
static int
convert_video_encode(struct convert_video *v, int i, AVFrame *f, struct convert_mux **mux,
                     char *err, size_t errlen)
{
    struct convert_video_out *out = &v->out[i];
    AVCodecContext *c = out->enc;
    if (f != NULL) {
        AVRational tb = av_buffersink_get_time_base(out->sink);
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
        if (f->pts >= out->next_force) {
            f->pict_type = AV_PICTURE_TYPE_I;
            int64_t a = convert_grid_next(f->pts, c->time_base, CONVERT_KEYFRAME_SECONDS);
            int64_t b = convert_grid_next(f->pts, c->time_base, v->seg_seconds);
            out->next_force = a < b ? a : b;
        }
    }
    int ret = avcodec_send_frame(c, f);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: libx264 (%s)", v->in->path, v->r[i].name);
    }
    for (;;) {
        ret = avcodec_receive_packet(c, v->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: libx264 (%s)", v->in->path, v->r[i].name);
        }
        AVPacket *p = av_packet_alloc();
        if (p == NULL) {
            av_packet_unref(v->pkt);
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", v->in->path);
        }
        av_packet_move_ref(p, v->pkt);
        if (convert_mux_push(mux[i], 1, p, err, errlen) < 0) {
            return -1;
        }
    }
}

/* convert_video_pull - encode every frame the graph has ready. */
static int
convert_video_pull(struct convert_video *v, struct convert_mux **mux, char *err, size_t errlen)
{
    for (int i = 0; i < v->n; i++) {
        for (;;) {
            int ret = av_buffersink_get_frame(v->out[i].sink, v->f);
            if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
                break;
            }
            if (ret < 0) {
                return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
            }
            ret = convert_video_encode(v, i, v->f, mux, err, errlen);
            av_frame_unref(v->f);
            if (ret < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* convert_video_close_graph - drain the graph into the encoders and free it. */
static int
convert_video_close_graph(struct convert_video *v, struct convert_mux **mux, char *err,
                          size_t errlen)
{
    if (v->graph == NULL) {
        return 0;
    }
    int ret = av_buffersrc_add_frame_flags(v->src, NULL, 0);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    ret = convert_video_pull(v, mux, err, errlen);
    avfilter_graph_free(&v->graph);
    v->src = NULL;
    return ret;
}

/*
 * convert_video_push - filter and encode one decoded frame (times already
 * relative to the input's start); NULL flushes everything to the muxers.
 */
int
convert_video_push(struct convert_video *v, AVFrame *frame, struct convert_mux **mux, char *err,
                   size_t errlen)
{
    if (frame == NULL) {
        if (convert_video_close_graph(v, mux, err, errlen) < 0) {
            return -1;
        }
        for (int i = 0; i < v->n; i++) {
            if (convert_video_encode(v, i, NULL, mux, err, errlen) < 0) {
                return -1;
            }
        }
        return 0;
    }
    /* A stream may change size or format midway: rebuild, same outputs. */
    if (v->graph != NULL &&
        (frame->width != v->gw || frame->height != v->gh || frame->format != v->gfmt)) {
        if (convert_video_close_graph(v, mux, err, errlen) < 0) {
            return -1;
        }
    }
    if (v->graph == NULL && convert_video_graph(v, frame, err, errlen) < 0) {
        return -1;
    }
    int ret = av_buffersrc_add_frame_flags(v->src, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: video filters", v->in->path);
    }
    return convert_video_pull(v, mux, err, errlen);
}

void
convert_video_free(struct convert_video **vp)
{
    struct convert_video *v = *vp;
    if (v == NULL) {
        return;
    }
    avfilter_graph_free(&v->graph);
    for (int i = 0; i < v->n; i++) {
        avcodec_free_context(&v->out[i].enc);
    }
    av_frame_free(&v->f);
    av_packet_free(&v->pkt);
    free(v);
    *vp = NULL;
}
