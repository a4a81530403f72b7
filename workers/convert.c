/*
 * convert.c - convert_run(): the pipeline that ties the pieces together.
 * Demux once; decode each packet once; feed the video frames to the
 * per-rendition encoders and the audio frames to the shared AAC encoder
 * (or, for the "copy" ladder, the packets straight to the muxer); finish
 * the segments, then the media playlists, then master.m3u8. The audio
 * renditions are convert_aout.c's, the playlists and the result
 * convert_publish.c's.
 *
 * Only this loop runs for the whole input, holding one packet and one
 * frame at a time: memory does not grow with the input's length. It must
 * never log, print, exit or abort; every failure returns through
 * convert_err_set().
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc/msclock.h"
#include "workers/convert_int.h"

#define CONVERT_DEFAULT_SEGMENT 6.0
#define CONVERT_PROGRESS_PERIOD 0.5 /* seconds; the promise is one */

/* convert_now - monotonic seconds, for the progress period */
static double
convert_now(void)
{
    return (double)msclock_mono() / 1e3;
}

static void
convert_progress(struct convert_job *j, int force)
{
    if (j->o->on_progress == NULL) {
        return;
    }
    double now = convert_now();
    if (force || now - j->reported >= CONVERT_PROGRESS_PERIOD) {
        j->reported = now;
        j->o->on_progress(j->o->ud, force > 1 ? 1.0 : convert_probe_fraction(&j->in, j->pos));
    }
}

static int
convert_canceled(const struct convert_job *j)
{
    return j->o->cancel != NULL && *j->o->cancel != 0;
}

/* convert_mkdirs - mkdir -p, for an OUTDIR whose parents may not exist. */
static int
convert_mkdirs(const char *dir, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
        return convert_err_set(err, errlen, AVERROR(ENAMETOOLONG), "%s", dir);
    }
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
                return convert_err_set(err, errlen, AVERROR(errno), "%s: mkdir", buf);
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: mkdir", buf);
    }
    return 0;
}

/* convert_emit - rendition i's next packet into its muxer (caller's thread). */
static int
convert_emit(void *ud, int i, AVPacket *pkt, char *err, size_t errlen)
{
    struct convert_job *j = ud;
    return convert_mux_push(j->mux[i], 1, pkt, err, errlen);
}

/* convert_tick - while waiting for the lane threads: cancel and progress. */
static int
convert_tick(void *ud, char *err, size_t errlen)
{
    struct convert_job *j = ud;
    if (convert_canceled(j)) {
        return convert_err_set(err, errlen, AVERROR(ECANCELED), "%s: canceled", j->in.path);
    }
    convert_progress(j, 0);
    return 0;
}

/* convert_budget - the conversion's thread budget: o->threads, 0 = one per online CPU. */
static int
convert_budget(const struct convert_opts *o)
{
    if (o->threads > 0) {
        return o->threads;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/*
 * convert_setup - pick renditions and open encoders and muxers. Audio has
 * renditions of its own unless asked to be muxed, or copied (the copy
 * ladder keeps the input's one audio track beside its video); an input
 * without video always gives its audio a muxer of its own.
 */
static int
convert_setup(struct convert_job *j, char *err, size_t errlen)
{
    struct convert_input *in = &j->in;
    AVCodecParameters *vpar[CONVERT_MAX_LADDER] = {0};
    const AVCodecParameters *apar;
    AVRational vtb = {1, 90000}, atb = {1, 48000};
    int lanes = 1, lane[CONVERT_MAX_LADDER] = {0}; /* convert_pipe.c's, 1: none */
    int muxed = j->copy || j->o->audio_muxed;
    int ret = 0;

    if (in->vst != NULL && j->copy) {
        j->n = 1;
        int s = in->disp_w < in->disp_h ? in->disp_w : in->disp_h;
        snprintf(j->r[0].name, sizeof(j->r[0].name), "%dp", s);
        j->r[0].width = in->vst->codecpar->width;
        j->r[0].height = in->vst->codecpar->height;
    } else if (in->vst != NULL) {
        struct convert_rung rungs[CONVERT_MAX_LADDER];
        const char *spec = j->o->ladder != NULL ? j->o->ladder : CONVERT_LADDER_DEFAULT;
        int nr =
            convert_ladder_parse(spec, j->o->video_codec, rungs, CONVERT_MAX_LADDER, err, errlen);
        if (nr < 0) {
            return -1;
        }
        j->n = convert_ladder_select(rungs, nr, in->disp_w, in->disp_h, j->r);
        int threads[CONVERT_MAX_LADDER];
        const AVCodecParameters *src = in->vst->codecpar;
        lanes = convert_ladder_threads(j->r, j->n, src->width, src->height, convert_budget(j->o),
                                       j->o->threads, threads, lane);
        if (convert_video_open(&j->video, in, j->r, j->n, threads, j->o, j->seg, err, errlen) < 0) {
            return -1;
        }
        vtb = convert_video_encoder(j->video, 0)->time_base;
        j->vcut = convert_grid_next(0, in->vst->time_base, j->seg);
    }
    if (in->na > 0) {
        convert_aout_plan(j, muxed);
    }
    if (j->copy) {
        vtb = in->vst != NULL ? in->vst->time_base : vtb;
        atb = in->na > 0 ? in->audio[0].st->time_base : atb;
    }
    for (int k = 0; k < j->na; k++) {
        struct convert_aout *a = &j->aout[k];
        if (!j->copy &&
            convert_audio_open(&a->enc, in, in->audio[a->track].st, a->channels, err, errlen) < 0) {
            return -1;
        }
    }
    for (int i = 0; i < j->n && ret >= 0; i++) {
        vpar[i] = avcodec_parameters_alloc();
        if (vpar[i] == NULL) {
            ret = AVERROR(ENOMEM);
        } else if (j->copy) {
            ret = avcodec_parameters_copy(vpar[i], in->vst->codecpar);
        } else {
            ret = avcodec_parameters_from_context(vpar[i], convert_video_encoder(j->video, i));
        }
    }
    /* Every audio rendition's encoder has the same parameters but the channels. */
    AVCodecParameters *aparv[2 * CONVERT_MAX_AUDIO] = {0};
    for (int k = 0; k < j->na && ret >= 0; k++) {
        aparv[k] = avcodec_parameters_alloc();
        if (aparv[k] == NULL) {
            ret = AVERROR(ENOMEM);
        } else if (j->copy) {
            ret = avcodec_parameters_copy(aparv[k], in->audio[0].st->codecpar);
        } else {
            ret = avcodec_parameters_from_context(aparv[k], convert_audio_encoder(j->aout[k].enc));
        }
    }
    apar = muxed && j->na > 0 ? aparv[0] : NULL;
    if (ret < 0) {
        convert_err_set(err, errlen, ret, "%s: stream parameters", in->path);
    }
    for (int k = 0; k < j->na && ret >= 0; k++) {
        /* Its own muxer, unless muxed into the video renditions. */
        if (muxed && j->n > 0) {
            continue;
        }
        if (muxed) {
            snprintf(j->aout[k].name, sizeof(j->aout[k].name), "audio");
        }
        if (convert_mux_open(&j->aout[k].mux, j->o, j->aout[k].name, NULL, vtb, aparv[k], atb,
                             j->seg, err, errlen) < 0) {
            ret = -1;
        } else if (in->vst != NULL) {
            convert_mux_follow(j->aout[k].mux);
        }
    }
    for (int i = 0; i < j->n && ret >= 0; i++) {
        if (convert_mux_open(&j->mux[i], j->o, j->r[i].name, vpar[i], vtb, apar, atb, j->seg, err,
                             errlen) < 0) {
            ret = -1;
        }
    }
    for (int i = 0; i < j->n; i++) {
        avcodec_parameters_free(&vpar[i]);
    }
    for (int k = 0; k < j->na; k++) {
        avcodec_parameters_free(&aparv[k]);
    }
    if (ret >= 0 && convert_subs_open(&j->subs, in, j->o, err, errlen) < 0) {
        ret = -1;
    }
    if (ret >= 0 && j->o->thumbnails && in->vst != NULL && !j->copy &&
        convert_thumb_open(&j->thumb, in, j->o, err, errlen) < 0) {
        ret = -1;
    }
    if (ret >= 0 && lanes > 1) {
        struct convert_pipe_cb cb = {.packet = convert_emit, .tick = convert_tick, .ud = j};
        /* What one decoded picture holds, as 8-bit 4:2:0 at least. */
        size_t bytes = (size_t)in->vst->codecpar->width * (size_t)in->vst->codecpar->height * 3 / 2;
        ret = convert_pipe_open(&j->pipe, j->video, j->n, lane, bytes, &cb, err, errlen);
    }
    return ret < 0 ? -1 : 0;
}

/* convert_upright - an upright video frame to every rendition's scaler and encoder. */
static int
convert_upright(void *ud, AVFrame *f, char *err, size_t errlen)
{
    struct convert_job *j = ud;
    if (j->thumb != NULL && convert_thumb_frame(j->thumb, f, err, errlen) < 0) {
        return -1;
    }
    if (j->pipe != NULL) {
        return convert_pipe_send(j->pipe, f, err, errlen);
    }
    for (int i = 0; i < j->n; i++) {
        int ret = av_frame_ref(j->vref, f);
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s", j->in.path);
        }
        if (convert_video_encode(j->video, i, j->vref, convert_emit, j, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

/* convert_frame - a decoded frame: shift its time to the input's start, pass it on. */
static int
convert_frame(struct convert_job *j, const struct convert_track *t, AVFrame *f, char *err,
              size_t errlen)
{
    AVStream *st = t != NULL ? t->st : j->in.vst;
    int64_t start = av_rescale_q(j->in.start, AV_TIME_BASE_Q, st->time_base);
    f->pts = f->best_effort_timestamp == AV_NOPTS_VALUE ? AV_NOPTS_VALUE
                                                        : f->best_effort_timestamp - start;
    if (f->pts != AV_NOPTS_VALUE) {
        double tt = f->pts * av_q2d(st->time_base);
        if (t == NULL) {
            tt += f->pkt_duration > 0 ? f->pkt_duration * av_q2d(st->time_base)
                                      : 1 / av_q2d(j->in.fps);
        } else if (f->sample_rate > 0) {
            tt += (double)f->nb_samples / f->sample_rate;
        }
        j->end = tt > j->end ? tt : j->end;
    }
    if (t == NULL && convert_aout_cuts(j, f, err, errlen) < 0) {
        return -1;
    }
    if (t == NULL) {
        j->vcount++;
        return convert_video_rotate(j->video, f, convert_upright, j, err, errlen);
    }
    if (t == &j->in.audio[0]) {
        j->acount++;
    }
    return convert_aout_push(j, (int)(t - j->in.audio), f, err, errlen);
}

/* convert_decode - one packet (NULL: drain) through its decoder; t NULL: the video. */
static int
convert_decode(struct convert_job *j, const struct convert_track *t, const AVPacket *pkt, char *err,
               size_t errlen)
{
    AVCodecContext *dec = t != NULL ? t->dec : j->in.vdec;
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        if (ret == AVERROR(ENOMEM)) {
            return convert_err_set(err, errlen, ret, "%s: decoder", j->in.path);
        }
        /* A damaged packet costs a frame, as in the ffmpeg CLI, not the job. */
        j->last_decode_error = ret;
        return 0;
    }
    for (;;) {
        ret = avcodec_receive_frame(dec, j->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            return 0;
        }
        if (ret < 0) {
            if (ret == AVERROR(ENOMEM)) {
                return convert_err_set(err, errlen, ret, "%s: decoder", j->in.path);
            }
            j->last_decode_error = ret;
            continue;
        }
        ret = convert_frame(j, t, j->frame, err, errlen);
        av_frame_unref(j->frame);
        if (ret < 0) {
            return -1;
        }
    }
}

/* convert_copy_packet - the copy ladder: the packet goes to the muxer as it is. */
static int
convert_copy_packet(struct convert_job *j, int video, AVPacket *pkt, char *err, size_t errlen)
{
    AVStream *st = video ? j->in.vst : j->in.audio[0].st;
    int64_t start = av_rescale_q(j->in.start, AV_TIME_BASE_Q, st->time_base);
    if (pkt->pts == AV_NOPTS_VALUE && pkt->dts == AV_NOPTS_VALUE) {
        return 0; /* nowhere to place it on the timeline */
    }
    AVPacket *p = av_packet_alloc();
    if (p == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", j->in.path);
    }
    av_packet_move_ref(p, pkt);
    if (p->pts != AV_NOPTS_VALUE) {
        p->pts -= start;
        double t = (p->pts + (p->duration > 0 ? p->duration : 0)) * av_q2d(st->time_base);
        j->end = t > j->end ? t : j->end;
    }
    if (p->dts != AV_NOPTS_VALUE) {
        p->dts -= start;
    }
    if (video) {
        j->vcount++;
    } else {
        j->acount++;
    }
    struct convert_mux *m =
        !video && j->na > 0 && j->aout[0].mux != NULL ? j->aout[0].mux : j->mux[0];
    return convert_mux_push(m, video, p, err, errlen);
}

/* convert_video_flush - the last frames through every rendition, all packets muxed. */
static int
convert_video_flush(struct convert_job *j, char *err, size_t errlen)
{
    if (convert_video_rotate(j->video, NULL, convert_upright, j, err, errlen) < 0) {
        return -1;
    }
    if (j->pipe != NULL) {
        return convert_pipe_finish(j->pipe, err, errlen);
    }
    for (int i = 0; i < j->n; i++) {
        if (convert_video_encode(j->video, i, NULL, convert_emit, j, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

/* convert_loop - read the whole input through the pipeline. */
static int
convert_loop(struct convert_job *j, char *err, size_t errlen)
{
    for (;;) {
        if (convert_canceled(j)) {
            return convert_err_set(err, errlen, AVERROR(ECANCELED), "%s: canceled", j->in.path);
        }
        convert_progress(j, 0);
        int ret = av_read_frame(j->in.fmt, j->pkt);
        if (ret == AVERROR_EOF || ret == AVERROR_INVALIDDATA) {
            /* A truncated file ends where its data does, as in the CLI. */
            break;
        }
        if (ret < 0) {
            if (convert_canceled(j)) {
                continue;
            }
            /* Demuxers say EIO for data they cannot parse; only an error
             * on the file itself is an I/O error. */
            if (j->in.fmt->pb == NULL || j->in.fmt->pb->error >= 0) {
                j->last_decode_error = ret;
                break;
            }
            return convert_err_set(err, errlen, ret, "%s: read", j->in.path);
        }
        int video = j->pkt->stream_index == j->in.vidx;
        enum convert_kind kind = CONVERT_VIDEO;
        const struct convert_track *t =
            video ? NULL : convert_probe_track(&j->in, j->pkt->stream_index, &kind);
        if (!video && t == NULL) {
            av_packet_unref(j->pkt);
            continue;
        }
        AVStream *st = j->in.fmt->streams[j->pkt->stream_index];
        int64_t ts = j->pkt->dts != AV_NOPTS_VALUE ? j->pkt->dts : j->pkt->pts;
        if (ts != AV_NOPTS_VALUE && kind != CONVERT_SUBTITLES) {
            double tt = ts * av_q2d(st->time_base) - j->in.start / (double)AV_TIME_BASE;
            j->pos = tt > j->pos ? tt : j->pos;
        }
        if (kind == CONVERT_SUBTITLES) {
            ret = convert_subs_packet(j->subs, t, j->pkt, err, errlen);
        } else if (j->copy) {
            ret = t == NULL || t == &j->in.audio[0]
                      ? convert_copy_packet(j, video, j->pkt, err, errlen)
                      : 0;
        } else {
            ret = convert_decode(j, t, j->pkt, err, errlen);
        }
        av_packet_unref(j->pkt);
        if (ret < 0 || (j->pipe != NULL && convert_pipe_poll(j->pipe, err, errlen) < 0)) {
            return -1;
        }
    }
    if (!j->copy) {
        if (j->in.vdec != NULL && convert_decode(j, NULL, NULL, err, errlen) < 0) {
            return -1;
        }
        for (int k = 0; k < j->in.na; k++) {
            if (j->in.audio[k].dec != NULL &&
                convert_decode(j, &j->in.audio[k], NULL, err, errlen) < 0) {
                return -1;
            }
        }
    }
    /* A stream that yields nothing would be declared but absent: refuse. */
    if ((j->in.vst != NULL && j->vcount == 0) || (j->in.na > 0 && j->acount == 0)) {
        return convert_err_set(err, errlen, j->last_decode_error,
                               "%s: no %s could be decoded (truncated or damaged)", j->in.path,
                               j->in.vst != NULL && j->vcount == 0 ? "video frame" : "audio frame");
    }
    if (convert_canceled(j)) {
        return convert_err_set(err, errlen, AVERROR(ECANCELED), "%s: canceled", j->in.path);
    }
    if (!j->copy) {
        if (j->video != NULL && convert_video_flush(j, err, errlen) < 0) {
            return -1;
        }
        if (convert_aout_push(j, -1, NULL, err, errlen) < 0) {
            return -1;
        }
    }
    /* Decoders pad the last audio frame past the container's end (AAC
     * has no end trim in 5.1): the container's duration is the truth. */
    if (j->in.duration > 0 && j->end > j->in.duration) {
        j->end = j->in.duration;
    }
    for (int i = 0; i < j->n; i++) {
        if (convert_mux_finish(j->mux[i], j->end, err, errlen) < 0) {
            return -1;
        }
    }
    for (int k = 0; k < j->na; k++) {
        if (j->aout[k].mux != NULL && convert_mux_finish(j->aout[k].mux, j->end, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * convert_heap_once - pin glibc's mmap threshold at its initial 128 KiB.
 * libx264 (0.164, Debian 12) reads a few bytes past the end of one of its
 * buffers (valgrind: 16-byte loads 8 bytes short of a block's end) and
 * those bytes change the stream. A block that large is mmapped and ends in
 * fresh zeroed pages, until the first such block is freed: glibc then
 * raises the threshold and later blocks come from reused heap, whose stale
 * bytes made one conversion in three or so differ from the next in the
 * same process (a worker converts many inputs; a restarted job should
 * reproduce the segments already uploaded). With the threshold fixed,
 * large blocks keep being mmapped; glibc may still serve one from a large
 * enough free heap chunk, so this makes a difference unlikely, not
 * impossible (docs/convert.md, "Byte-identical output").
 */
static void
convert_heap_once(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

int
convert_run(const struct convert_opts *o, struct convert_result *res, char *err, size_t errlen)
{
    static pthread_once_t heap_once = PTHREAD_ONCE_INIT;
    pthread_once(&heap_once, convert_heap_once);
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
    }
    if (o == NULL || o->input == NULL || o->outdir == NULL) {
        return convert_err_set(err, errlen, 0, "convert: input and output directory are required");
    }
    double seg = o->segment_seconds == 0 ? CONVERT_DEFAULT_SEGMENT : o->segment_seconds;
    if (!isfinite(seg) || seg < 1 || seg > 60) {
        return convert_err_set(err, errlen, 0, "%s: segment length %g s is not within 1..60",
                               o->input, o->segment_seconds);
    }
    if (o->threads < 0 || o->threads > 64) {
        return convert_err_set(err, errlen, 0, "%s: thread count %d is not within 0..64", o->input,
                               o->threads);
    }
    if (convert_ladder_check(o, err, errlen) < 0) {
        return -1;
    }

    struct convert_job j = {.o = o, .seg = seg};
    j.copy = o->ladder != NULL && strcmp(o->ladder, "copy") == 0;
    j.reported = convert_now();
    convert_progress(&j, 1);
    int ret = -1;
    int max_audio = j.copy || o->audio_muxed ? 1 : CONVERT_MAX_AUDIO;
    if (convert_probe_open(&j.in, o->input, o->threads, !j.copy, max_audio, o->cancel, err,
                           errlen) < 0) {
        return -1;
    }
    j.pkt = av_packet_alloc();
    j.frame = av_frame_alloc();
    j.vref = av_frame_alloc();
    if (j.pkt == NULL || j.frame == NULL || j.vref == NULL) {
        convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", o->input);
    } else if ((!j.copy || convert_copy_check(&j.in, err, errlen) == 0) &&
               convert_mkdirs(o->outdir, err, errlen) == 0 && convert_setup(&j, err, errlen) == 0 &&
               convert_loop(&j, err, errlen) == 0 &&
               convert_thumb_finish(j.thumb, j.end, err, errlen) == 0 &&
               convert_publish(&j, res, err, errlen) == 0) {
        ret = 0;
        convert_progress(&j, 2);
    }
    int e = errno;
    convert_pipe_free(&j.pipe); /* its threads use the encoders: stop them first */
    convert_video_free(&j.video);
    for (int k = 0; k < j.na; k++) {
        convert_audio_free(&j.aout[k].enc);
        convert_mux_free(&j.aout[k].mux);
    }
    convert_subs_free(&j.subs);
    convert_thumb_free(&j.thumb);
    for (int i = 0; i < j.n; i++) {
        convert_mux_free(&j.mux[i]);
    }
    av_packet_free(&j.pkt);
    av_frame_free(&j.frame);
    av_frame_free(&j.vref);
    convert_probe_close(&j.in);
    errno = e;
    return ret;
}
