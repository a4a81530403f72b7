/*
 * convert_audio.c - the audio half of a transcode, for one audio track:
 * resample and mix to 48 kHz stereo (or 5.1 for a surround rendition),
 * encode AAC-LC once, and hand a reference to each packet to every muxer
 * that carries it (its own audio rendition, or every video rendition when
 * audio is muxed: encoding it per rendition would only burn CPU).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "workers/convert_int.h"

#define CONVERT_AUDIO_RATE 48000
/* Apple's authoring specification: stereo AAC-LC at 128 kb/s or more,
 * 5.1 AAC at 320 to 384 kb/s (2.3, 2.26). */
#define CONVERT_AUDIO_BITRATE_2 128000
#define CONVERT_AUDIO_BITRATE_6 320000

struct convert_audio {
    const struct convert_input *in;
    const AVStream *st;
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    int grate, gfmt; /* what the graph was built for */
    AVChannelLayout glayout;
    AVCodecContext *enc;
    AVFrame *f;
    AVPacket *pkt;
    int64_t next_pts; /* encoder time base */
};

int
convert_audio_open(struct convert_audio **out, const struct convert_input *in, const AVStream *st,
                   int channels, char *err, size_t errlen)
{
    struct convert_audio *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "audio");
    }
    *out = a;
    a->in = in;
    a->st = st;
    a->next_pts = INT64_MIN;
    a->f = av_frame_alloc();
    a->pkt = av_packet_alloc();
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (a->f == NULL || a->pkt == NULL || codec == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "aac encoder");
    }
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (c == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "aac encoder");
    }
    a->enc = c;
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = CONVERT_AUDIO_RATE;
    c->bit_rate = channels > 2 ? CONVERT_AUDIO_BITRATE_6 : CONVERT_AUDIO_BITRATE_2;
    c->time_base = (AVRational){1, CONVERT_AUDIO_RATE};
    c->profile = FF_PROFILE_AAC_LOW;
    if (channels > 2) {
        /* AAC's channel configuration 6 is 5.1 with back surrounds; any
         * other 5.1 needs a program config element, which ADTS carries only
         * in the stream's first frame: every segment but the first would
         * then be undecodable on its own. */
        c->ch_layout = (AVChannelLayout)AV_CHANNEL_LAYOUT_5POINT1_BACK;
    } else {
        av_channel_layout_default(&c->ch_layout, 2);
    }
    int ret = avcodec_open2(c, codec, NULL);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "aac encoder");
    }
    return 0;
}

const AVCodecContext *
convert_audio_encoder(const struct convert_audio *a)
{
    return a->enc;
}

/* convert_audio_graph - resample/downmix graph for frames like f. */
static int
convert_audio_graph(struct convert_audio *a, const AVFrame *f, char *err, size_t errlen)
{
    char args[512], layout[128], formats[128];
    av_channel_layout_describe(&f->ch_layout, layout, sizeof(layout));
    AVRational tb = a->st->time_base;
    snprintf(args, sizeof(args), "time_base=%d/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             tb.num, tb.den, f->sample_rate, av_get_sample_fmt_name(f->format), layout);

    a->graph = avfilter_graph_alloc();
    if (a->graph == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: audio filters", a->in->path);
    }
    AVFilterContext *fmt = NULL;
    int ret = avfilter_graph_create_filter(&a->src, avfilter_get_by_name("abuffer"), "in", args,
                                           NULL, a->graph);
    if (ret >= 0) {
        snprintf(formats, sizeof(formats), "sample_fmts=fltp:sample_rates=%d:channel_layouts=%s",
                 CONVERT_AUDIO_RATE, a->enc->ch_layout.nb_channels > 2 ? "5.1" : "stereo");
        ret = avfilter_graph_create_filter(&fmt, avfilter_get_by_name("aformat"), "fmt", formats,
                                           NULL, a->graph);
    }
    if (ret >= 0) {
        ret = avfilter_graph_create_filter(&a->sink, avfilter_get_by_name("abuffersink"), "out",
                                           NULL, NULL, a->graph);
    }
    if (ret >= 0) {
        ret = avfilter_link(a->src, 0, fmt, 0);
    }
    if (ret >= 0) {
        ret = avfilter_link(fmt, 0, a->sink, 0);
    }
    if (ret >= 0) {
        ret = avfilter_graph_config(a->graph, NULL);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: audio filters (%s)", a->in->path, args);
    }
    /* AAC takes exactly frame_size samples per frame but the last. */
    av_buffersink_set_frame_size(a->sink, (unsigned)a->enc->frame_size);
    a->grate = f->sample_rate;
    a->gfmt = f->format;
    av_channel_layout_uninit(&a->glayout);
    if (av_channel_layout_copy(&a->glayout, &f->ch_layout) < 0) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: audio", a->in->path);
    }
    return 0;
}

/* convert_audio_encode - encode f (NULL: flush), share packets with every mux. */
static int
convert_audio_encode(struct convert_audio *a, AVFrame *f, struct convert_mux **mux, int n,
                     char *err, size_t errlen)
{
    AVCodecContext *c = a->enc;
    if (f != NULL) {
        AVRational tb = av_buffersink_get_time_base(a->sink);
        int64_t pts =
            f->pts == AV_NOPTS_VALUE ? a->next_pts : av_rescale_q(f->pts, tb, c->time_base);
        /* Overlaps would make the AAC timeline go backwards: close them up. */
        if (pts == INT64_MIN || (a->next_pts != INT64_MIN && pts < a->next_pts)) {
            pts = a->next_pts == INT64_MIN ? 0 : a->next_pts;
        }
        f->pts = pts;
        a->next_pts = pts + f->nb_samples;
    }
    int ret = avcodec_send_frame(c, f);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: aac encoder", a->in->path);
    }
    for (;;) {
        ret = avcodec_receive_packet(c, a->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: aac encoder", a->in->path);
        }
        for (int i = 0; i < n; i++) {
            AVPacket *p = av_packet_clone(a->pkt);
            if (p == NULL) {
                av_packet_unref(a->pkt);
                return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", a->in->path);
            }
            if (convert_mux_push(mux[i], 0, p, err, errlen) < 0) {
                av_packet_unref(a->pkt);
                return -1;
            }
        }
        av_packet_unref(a->pkt);
    }
}

static int
convert_audio_pull(struct convert_audio *a, struct convert_mux **mux, int n, char *err,
                   size_t errlen)
{
    for (;;) {
        int ret = av_buffersink_get_frame(a->sink, a->f);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: audio filters", a->in->path);
        }
        ret = convert_audio_encode(a, a->f, mux, n, err, errlen);
        av_frame_unref(a->f);
        if (ret < 0) {
            return -1;
        }
    }
}

static int
convert_audio_close_graph(struct convert_audio *a, struct convert_mux **mux, int n, char *err,
                          size_t errlen)
{
    if (a->graph == NULL) {
        return 0;
    }
    int ret = av_buffersrc_add_frame_flags(a->src, NULL, 0);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: audio filters", a->in->path);
    }
    ret = convert_audio_pull(a, mux, n, err, errlen);
    avfilter_graph_free(&a->graph);
    a->src = a->sink = NULL;
    return ret;
}

/* convert_audio_push - one decoded frame (NULL: flush) into every muxer. */
int
convert_audio_push(struct convert_audio *a, AVFrame *frame, struct convert_mux **mux, int n,
                   char *err, size_t errlen)
{
    if (frame == NULL) {
        if (convert_audio_close_graph(a, mux, n, err, errlen) < 0) {
            return -1;
        }
        return convert_audio_encode(a, NULL, mux, n, err, errlen);
    }
    /* An unordered layout cannot be downmixed sensibly: assume the usual one. */
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        int nb = frame->ch_layout.nb_channels > 0 ? frame->ch_layout.nb_channels : 2;
        av_channel_layout_uninit(&frame->ch_layout);
        av_channel_layout_default(&frame->ch_layout, nb);
    }
    if (a->graph != NULL && (frame->sample_rate != a->grate || frame->format != a->gfmt ||
                             av_channel_layout_compare(&frame->ch_layout, &a->glayout) != 0)) {
        if (convert_audio_close_graph(a, mux, n, err, errlen) < 0) {
            return -1;
        }
    }
    if (a->graph == NULL && convert_audio_graph(a, frame, err, errlen) < 0) {
        return -1;
    }
    int ret = av_buffersrc_add_frame_flags(a->src, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: audio filters", a->in->path);
    }
    return convert_audio_pull(a, mux, n, err, errlen);
}

void
convert_audio_free(struct convert_audio **ap)
{
    struct convert_audio *a = *ap;
    if (a == NULL) {
        return;
    }
    avfilter_graph_free(&a->graph);
    avcodec_free_context(&a->enc);
    av_channel_layout_uninit(&a->glayout);
    av_frame_free(&a->f);
    av_packet_free(&a->pkt);
    free(a);
    *ap = NULL;
}
