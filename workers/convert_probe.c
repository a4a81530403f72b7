/*
 * convert_probe.c - open the input, choose its audio and video streams and
 * describe them (display size after rotation, frame rate, duration), or
 * refuse with the reason what cannot become HLS.
 *
 * It never decides the ladder or touches the output; it only reads.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include "workers/convert_int.h"

/* convert_probe_interrupt - let a raised cancel flag break blocking reads. */
static int
convert_probe_interrupt(void *opaque)
{
    const _Atomic int *cancel = opaque;
    return cancel != NULL && *cancel != 0;
}

/* convert_probe_rotation - degrees clockwise, as the ffmpeg CLI computes it. */
static double
convert_probe_rotation(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (m == NULL) {
        return 0;
    }
    double theta = -round(av_display_rotation_get((const int32_t *)m));
    if (isnan(theta)) {
        return 0;
    }
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    return theta;
}

/* convert_probe_decoder - open a decoder for st, or say why not. */
static int
convert_probe_decoder(struct convert_input *in, AVStream *st, AVCodecContext **out, int threads,
                      char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == NULL) {
        return convert_err_set(err, errlen, 0, "%s: no decoder for %s stream %d (%s)", in->path,
                               av_get_media_type_string(st->codecpar->codec_type), st->index,
                               avcodec_get_name(st->codecpar->codec_id));
    }
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (c == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: decoder", in->path);
    }
    int ret = avcodec_parameters_to_context(c, st->codecpar);
    if (ret >= 0) {
        c->pkt_timebase = st->time_base;
        c->thread_count = threads;
        ret = avcodec_open2(c, codec, NULL);
    }
    if (ret < 0) {
        avcodec_free_context(&c);
        return convert_err_set(err, errlen, ret, "%s: cannot open the %s decoder", in->path,
                               codec->name);
    }
    *out = c;
    return 0;
}

/* convert_probe_note - one more "what was left out" line for the job. */
void
convert_probe_note(struct convert_input *in, const char *fmt, ...)
{
    size_t n = strlen(in->skipped);
    if (n > 0 && n + 2 < sizeof(in->skipped)) {
        memcpy(in->skipped + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->skipped + n, sizeof(in->skipped) - n, fmt, ap);
    va_end(ap);
}

/* convert_probe_text_sub - a subtitle codec whose events are text (WebVTT can carry them). */
static int
convert_probe_text_sub(const AVCodecParameters *par)
{
    const AVCodecDescriptor *d = avcodec_descriptor_get(par->codec_id);
    return d != NULL && (d->props & AV_CODEC_PROP_TEXT_SUB) != 0 &&
           par->codec_id != AV_CODEC_ID_EIA_608;
}

/*
 * convert_probe_streams - pick the video, the audio tracks (the one that
 * best matches the video first, then the others in file order, up to
 * max_audio) and the text subtitle tracks; every other stream is
 * discarded, and what a viewer might miss is noted.
 */
static int
convert_probe_streams(struct convert_input *in, int max_audio)
{
    AVFormatContext *fmt = in->fmt;
    /* Cover art is a video stream of one picture: never the video. */
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        if (fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC) {
            fmt->streams[i]->discard = AVDISCARD_ALL;
        }
    }
    int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (v >= 0 && (fmt->streams[v]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        v = -1;
    }
    /* Text-mode art demuxers claim any *.bin or *.txt as "video". */
    if (v >= 0) {
        enum AVCodecID id = fmt->streams[v]->codecpar->codec_id;
        if (id == AV_CODEC_ID_BINTEXT || id == AV_CODEC_ID_XBIN || id == AV_CODEC_ID_IDF ||
            id == AV_CODEC_ID_ANSI) {
            v = -1;
        }
    }
    int a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, v >= 0 ? v : -1, NULL, 0);
    if (v < 0 && a < 0) {
        a = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    }
    in->vidx = v < 0 ? -1 : v;
    in->vst = v >= 0 ? fmt->streams[v] : NULL;
    if (a >= 0) {
        in->audio[in->na++].st = fmt->streams[a];
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        enum AVMediaType type = st->codecpar->codec_type;
        if ((int)i == v || (int)i == a || (st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            continue;
        }
        st->discard = AVDISCARD_ALL;
        if (type == AVMEDIA_TYPE_AUDIO && a >= 0) {
            if (in->na < max_audio) {
                st->discard = AVDISCARD_DEFAULT;
                in->audio[in->na++].st = st;
            } else if (max_audio > 1) {
                convert_probe_note(in, "audio track %u left out (more than %d)", i, max_audio);
            }
        } else if (type == AVMEDIA_TYPE_SUBTITLE) {
            const char *name = avcodec_get_name(st->codecpar->codec_id);
            if (!convert_probe_text_sub(st->codecpar)) {
                convert_probe_note(in,
                                   "subtitle track %u (%s) left out: bitmap subtitles cannot "
                                   "become WebVTT",
                                   i, name);
            } else if (in->ns == CONVERT_MAX_SUBTITLES) {
                convert_probe_note(in, "subtitle track %u left out (more than %d)", i,
                                   CONVERT_MAX_SUBTITLES);
            } else {
                st->discard = AVDISCARD_DEFAULT;
                in->subs[in->ns++].st = st;
            }
        }
    }
    return v >= 0 || a >= 0 ? 0 : -1;
}

int
convert_probe_open(struct convert_input *in, const char *path, int threads, int decoders,
                   int max_audio, const _Atomic int *cancel, char *err, size_t errlen)
{
    *in = (struct convert_input){.path = path, .vidx = -1, .size = -1};
    convert_log_reset();
    max_audio = max_audio < 1 ? 1 : max_audio > CONVERT_MAX_AUDIO ? CONVERT_MAX_AUDIO : max_audio;

    AVFormatContext *fmt = avformat_alloc_context();
    if (fmt == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: open", path);
    }
    fmt->interrupt_callback.callback = convert_probe_interrupt;
    fmt->interrupt_callback.opaque = (void *)cancel;
    int ret = avformat_open_input(&fmt, path, NULL, NULL);
    if (ret < 0) {
        if (cancel != NULL && *cancel) {
            return convert_err_set(err, errlen, AVERROR(ECANCELED), "%s", path);
        }
        /* avformat_open_input frees fmt on failure. */
        return convert_err_set(err, errlen, ret, "%s: not a readable media file", path);
    }
    in->fmt = fmt;
    ret = avformat_find_stream_info(fmt, NULL);
    if (ret < 0) {
        convert_probe_close(in);
        return convert_err_set(err, errlen, ret, "%s: cannot read stream information", path);
    }
    if (convert_probe_streams(in, max_audio) < 0) {
        const char *name = fmt->iformat->name;
        convert_err_set(err, errlen, 0, "%s: no audio or video stream (format %s)", path, name);
        convert_probe_close(in);
        return -1;
    }
    int v = in->vidx;

    if (in->vst != NULL) {
        AVCodecParameters *par = in->vst->codecpar;
        if (par->width <= 0 || par->height <= 0) {
            convert_probe_close(in);
            return convert_err_set(err, errlen, 0, "%s: video stream %d (%s) has no picture size",
                                   path, v, avcodec_get_name(par->codec_id));
        }
        AVRational sar = av_guess_sample_aspect_ratio(fmt, in->vst, NULL);
        double w = par->width;
        if (sar.num > 0 && sar.den > 0) {
            w = w * sar.num / sar.den;
        }
        in->rotation = convert_probe_rotation(in->vst);
        int quarter = fabs(in->rotation - 90) < 1.0 || fabs(in->rotation - 270) < 1.0;
        in->disp_w = quarter ? par->height : (int)lround(w);
        in->disp_h = quarter ? (int)lround(w) : par->height;
        in->fps = av_guess_frame_rate(fmt, in->vst, NULL);
        /* Rate control needs a rate; 1000+ fps is a timebase, not a rate. */
        if (in->fps.num <= 0 || in->fps.den <= 0 || av_q2d(in->fps) > 300) {
            in->fps = (AVRational){25, 1};
        }
    }

    in->start = fmt->start_time == AV_NOPTS_VALUE ? 0 : fmt->start_time;
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
        in->duration = fmt->duration / (double)AV_TIME_BASE;
    }
    if (fmt->pb != NULL) {
        in->size = avio_size(fmt->pb);
    }

    if (decoders) {
        if (in->vst != NULL &&
            convert_probe_decoder(in, in->vst, &in->vdec, threads, err, errlen) < 0) {
            int e = errno;
            convert_probe_close(in);
            errno = e;
            return -1;
        }
        for (int k = 0; k < in->na; k++) {
            if (convert_probe_decoder(in, in->audio[k].st, &in->audio[k].dec, threads, err,
                                      errlen) == 0) {
                continue;
            }
            if (k == 0) { /* the main track: the job needs it */
                int e = errno;
                convert_probe_close(in);
                errno = e;
                return -1;
            }
            /* Another track that cannot be decoded costs that track, not the job. */
            convert_probe_note(in, "audio track %d (%s) left out: no decoder",
                               in->audio[k].st->index,
                               avcodec_get_name(in->audio[k].st->codecpar->codec_id));
            in->audio[k].st->discard = AVDISCARD_ALL;
            memmove(&in->audio[k], &in->audio[k + 1],
                    (size_t)(in->na - k - 1) * sizeof(in->audio[0]));
            in->na--;
            k--;
        }
    }
    /* Subtitles are decoded in every mode: they are text, never copied. */
    for (int k = 0; k < in->ns; k++) {
        if (convert_probe_decoder(in, in->subs[k].st, &in->subs[k].dec, 1, err, errlen) == 0) {
            continue;
        }
        convert_probe_note(in, "subtitle track %d (%s) left out: no decoder", in->subs[k].st->index,
                           avcodec_get_name(in->subs[k].st->codecpar->codec_id));
        in->subs[k].st->discard = AVDISCARD_ALL;
        memmove(&in->subs[k], &in->subs[k + 1], (size_t)(in->ns - k - 1) * sizeof(in->subs[0]));
        in->ns--;
        k--;
    }
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    return 0;
}

/* convert_probe_track - which kept track a packet of stream idx belongs to. */
struct convert_track *
convert_probe_track(struct convert_input *in, int idx, enum convert_kind *k)
{
    for (int i = 0; i < in->na; i++) {
        if (in->audio[i].st->index == idx) {
            *k = CONVERT_AUDIO;
            return &in->audio[i];
        }
    }
    for (int i = 0; i < in->ns; i++) {
        if (in->subs[i].st->index == idx) {
            *k = CONVERT_SUBTITLES;
            return &in->subs[i];
        }
    }
    return NULL;
}

void
convert_probe_close(struct convert_input *in)
{
    avcodec_free_context(&in->vdec);
    for (int k = 0; k < in->na; k++) {
        avcodec_free_context(&in->audio[k].dec);
    }
    for (int k = 0; k < in->ns; k++) {
        avcodec_free_context(&in->subs[k].dec);
    }
    avformat_close_input(&in->fmt);
}

/* convert_probe_fraction - how far pos is into the input, 0..1. */
double
convert_probe_fraction(const struct convert_input *in, double pos_seconds)
{
    double f = 0;
    if (in->duration > 0) {
        f = pos_seconds / in->duration;
    } else if (in->size > 0 && in->fmt != NULL && in->fmt->pb != NULL) {
        /* No duration (a raw stream): bytes read is the best measure. */
        f = (double)avio_tell(in->fmt->pb) / (double)in->size;
    }
    return f < 0 ? 0 : f > 1 ? 1 : f;
}
