/*
 * convert_thumb.c - the poster and the storyboard of a conversion, from the
 * same decoded frames as the ladder (no second decode):
 *
 *   OUTDIR/poster.jpg       a representative frame of the first tenth
 *   OUTDIR/sprites_N.jpg    sheets of 10x10 small thumbnails, one per interval
 *   OUTDIR/storyboard.vtt   WebVTT: each time range -> sprites_N.jpg#xywh=x,y,w,h
 *
 * It sees each upright frame on the caller's thread (convert.c hands it
 * every frame before the ladder's scalers) and does work only for the few
 * it keeps: one frame per storyboard interval is scaled into the current
 * sheet, and up to CONVERT_THUMB_CANDIDATES frames spread over the first
 * tenth are poster candidates. A candidate is scaled to the poster's size
 * and measured; a flat one (black, a fade, a title card of one colour:
 * luma deviation below CONVERT_THUMB_FLAT) is not a candidate, and if the
 * whole first tenth is flat the search goes on past it to the first frame
 * that is not. Among the candidates FFmpeg's thumbnail filter picks the one
 * whose colour histogram is nearest the average of all of them. Each
 * candidate is kept as its JPEG (a few hundred KB in all) rather than as a
 * picture, so memory stays small and fixed whatever the input.
 *
 * Sheets are written as each fills (and reported at once, so uploads run
 * while the conversion goes on); the last, partial sheet is cropped to the
 * tiles it holds; storyboard.vtt is written at the end, when the duration
 * is known. Every file is written under a temporary name and renamed.
 * Library code: it never logs, prints or exits.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libswscale/swscale.h>

#include "workers/convert_int.h"

#define CONVERT_THUMB_TILE_W     160   /* storyboard thumbnail width, pixels */
#define CONVERT_THUMB_COLS       10    /* tiles per sheet row */
#define CONVERT_THUMB_ROWS       10    /* rows per sheet */
#define CONVERT_THUMB_MAX_TILES  10000 /* the interval grows to stay below this */
#define CONVERT_THUMB_AUTO_TILES 200   /* the automatic interval's target */
#define CONVERT_THUMB_MIN_AUTO   2.0   /* seconds: the automatic interval's floor */
#define CONVERT_THUMB_UNKNOWN    10.0  /* seconds: interval and poster window, duration unknown */
#define CONVERT_THUMB_POSTER_MAX 720   /* the poster's short side, at most */
#define CONVERT_THUMB_CANDIDATES 12    /* poster candidates in the first tenth */
#define CONVERT_THUMB_FLAT       8.0   /* luma standard deviation below which a frame is flat */
#define CONVERT_THUMB_Q_POSTER   3     /* JPEG quantizer (ffmpeg's -q:v) */
#define CONVERT_THUMB_Q_SPRITE   5

/* A poster candidate, kept as its JPEG. */
struct convert_thumb_cand {
    uint8_t *jpeg;
    int size;
};

struct convert_thumb {
    const struct convert_opts *o;
    const char *path; /* the input, for messages */
    AVRational tb;    /* of the frames' pts */
    double frame_dur; /* seconds, for frames without a time */
    double last_t;
    AVPacket *pkt;

    /* storyboard */
    double interval;
    int tw, th;     /* tile size */
    AVFrame *sheet; /* the sheet being filled (yuv420p, full range) */
    struct SwsContext *sws_tile;
    double *starts; /* each tile's start, seconds */
    int ntiles, cap;
    int64_t next_slot; /* the next tile's interval index */
    unsigned sheets;   /* sprites_N.jpg written */

    /* poster */
    int pw, ph;
    double window;     /* the first tenth, seconds */
    double spacing;    /* between candidates */
    int64_t next_cand; /* the next candidate's index on the spacing grid */
    struct SwsContext *sws_poster;
    AVFilterGraph *graph; /* buffer -> scale,format,thumbnail -> buffersink */
    AVFilterContext *src, *sink;
    struct convert_thumb_cand cand[CONVERT_THUMB_CANDIDATES];
    int ncand;
    struct convert_thumb_cand flat; /* the least flat of the flat frames: the last resort */
    double flat_dev;
    int poster_done;
};

/* convert_thumb_even - v rounded to an even number, at least 2. */
static int
convert_thumb_even(double v)
{
    int n = (int)lround(v / 2) * 2;
    return n < 2 ? 2 : n;
}

/* convert_thumb_interval - the storyboard's interval for a duration (0: unknown). */
static double
convert_thumb_interval(double asked, double duration)
{
    double iv = asked;
    if (!(iv > 0)) {
        iv = duration > 0 ? ceil(duration / CONVERT_THUMB_AUTO_TILES) : CONVERT_THUMB_UNKNOWN;
        iv = iv < CONVERT_THUMB_MIN_AUTO ? CONVERT_THUMB_MIN_AUTO : iv;
    }
    if (duration > 0 && duration / iv > CONVERT_THUMB_MAX_TILES) {
        iv = ceil(duration / CONVERT_THUMB_MAX_TILES);
    }
    return iv;
}

/* convert_thumb_blank - the sheet black, for the tiles a partial one lacks. */
static void
convert_thumb_blank(AVFrame *f)
{
    for (int p = 0; p < 3; p++) {
        int h = p == 0 ? f->height : f->height / 2, w = p == 0 ? f->width : f->width / 2;
        for (int y = 0; y < h; y++) {
            memset(f->data[p] + (size_t)y * (size_t)f->linesize[p], p == 0 ? 0 : 128, (size_t)w);
        }
    }
}

/* convert_thumb_graph - the thumbnail filter over poster-size candidates. */
static int
convert_thumb_graph(struct convert_thumb *t, char *err, size_t errlen)
{
    char args[160], desc[128];
    t->graph = avfilter_graph_alloc();
    if (t->graph == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: poster", t->path);
    }
    t->graph->nb_threads = 1;
    /* pts is the candidate's index: what comes out names the winner */
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/25:pixel_aspect=1/1",
             t->pw, t->ph, AV_PIX_FMT_YUVJ420P);
    /* The histograms need no detail: compare small pictures. */
    snprintf(desc, sizeof(desc), "scale=%d:%d,format=rgb24,thumbnail=n=%d", t->tw, t->th,
             CONVERT_THUMB_CANDIDATES);
    int ret = avfilter_graph_create_filter(&t->src, avfilter_get_by_name("buffer"), "in", args,
                                           NULL, t->graph);
    if (ret >= 0) {
        ret = avfilter_graph_create_filter(&t->sink, avfilter_get_by_name("buffersink"), "out",
                                           NULL, NULL, t->graph);
    }
    AVFilterInOut *outputs = avfilter_inout_alloc();
    AVFilterInOut *inputs = avfilter_inout_alloc();
    if (ret >= 0 &&
        (outputs == NULL || inputs == NULL || (outputs->name = av_strdup("in")) == NULL ||
         (inputs->name = av_strdup("out")) == NULL)) {
        ret = AVERROR(ENOMEM);
    }
    if (ret >= 0) {
        outputs->filter_ctx = t->src;
        inputs->filter_ctx = t->sink;
        ret = avfilter_graph_parse_ptr(t->graph, desc, &inputs, &outputs, NULL);
    }
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (ret >= 0) {
        ret = avfilter_graph_config(t->graph, NULL);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: poster filters \"%s\"", t->path, desc);
    }
    return 0;
}

int
convert_thumb_open(struct convert_thumb **out, const struct convert_input *in,
                   const struct convert_opts *o, char *err, size_t errlen)
{
    struct convert_thumb *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: storyboard", in->path);
    }
    *out = t;
    t->o = o;
    t->path = in->path;
    t->tb = in->vst->time_base;
    t->frame_dur = 1 / av_q2d(in->fps);
    t->last_t = -t->frame_dur;
    t->interval = convert_thumb_interval(o->storyboard_interval, in->duration);
    t->window = in->duration > 0 ? in->duration / 10 : CONVERT_THUMB_UNKNOWN;
    t->spacing = t->window / CONVERT_THUMB_CANDIDATES;
    t->flat_dev = -1;

    /* Square pixels at the display's aspect ratio, never upscaled. */
    double dw = in->disp_w > 0 ? in->disp_w : 2, dh = in->disp_h > 0 ? in->disp_h : 2;
    double tw = dw < CONVERT_THUMB_TILE_W ? dw : CONVERT_THUMB_TILE_W;
    t->tw = convert_thumb_even(tw);
    t->th = convert_thumb_even(tw * dh / dw);
    t->th = t->th > 4 * CONVERT_THUMB_TILE_W ? 4 * CONVERT_THUMB_TILE_W : t->th;
    double scale =
        fmin(dw, dh) > CONVERT_THUMB_POSTER_MAX ? CONVERT_THUMB_POSTER_MAX / fmin(dw, dh) : 1.0;
    t->pw = convert_thumb_even(fmin(dw * scale, 4096));
    t->ph = convert_thumb_even(fmin(dh * scale, 4096));

    t->pkt = av_packet_alloc();
    t->sheet = av_frame_alloc();
    if (t->pkt == NULL || t->sheet == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: storyboard", in->path);
    }
    t->sheet->format = AV_PIX_FMT_YUVJ420P;
    t->sheet->width = t->tw * CONVERT_THUMB_COLS;
    t->sheet->height = t->th * CONVERT_THUMB_ROWS;
    int ret = av_frame_get_buffer(t->sheet, 0);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: storyboard", in->path);
    }
    convert_thumb_blank(t->sheet);
    return convert_thumb_graph(t, err, errlen);
}

/*
 * convert_thumb_scale - f into the w x h picture at data/linesize (8-bit
 * 4:2:0, full range, as JPEG wants), with a scaler cached for its size.
 * The ranges are told to swscale by the pixel formats (yuvj = full): a
 * range set afterwards with sws_setColorspaceDetails() is ignored by its
 * unscaled path, which a poster at the source's own size takes.
 */
static int
convert_thumb_scale(struct convert_thumb *t, struct SwsContext **sws, const AVFrame *f, int w,
                    int h, uint8_t *const data[4], const int linesize[4], char *err, size_t errlen)
{
    enum AVPixelFormat in = f->format;
    if (f->color_range == AVCOL_RANGE_JPEG) {
        in = in == AV_PIX_FMT_YUV420P   ? AV_PIX_FMT_YUVJ420P
             : in == AV_PIX_FMT_YUV422P ? AV_PIX_FMT_YUVJ422P
             : in == AV_PIX_FMT_YUV444P ? AV_PIX_FMT_YUVJ444P
                                        : in;
    }
    *sws = sws_getCachedContext(*sws, f->width, f->height, in, w, h, AV_PIX_FMT_YUVJ420P,
                                SWS_BICUBIC, NULL, NULL, NULL);
    if (*sws == NULL) {
        return convert_err_set(err, errlen, AVERROR(EINVAL), "%s: thumbnail scaler", t->path);
    }
    sws_scale(*sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, data, linesize);
    return 0;
}

/* convert_thumb_jpeg - the w x h top-left part of f as one JPEG in t->pkt. */
static int
convert_thumb_jpeg(struct convert_thumb *t, const AVFrame *f, int w, int h, int q, char *err,
                   size_t errlen)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (codec == NULL) {
        return convert_err_set(err, errlen, AVERROR_ENCODER_NOT_FOUND, "mjpeg");
    }
    AVCodecContext *c = avcodec_alloc_context3(codec);
    AVFrame *view = av_frame_alloc();
    int ret = c == NULL || view == NULL ? AVERROR(ENOMEM) : 0;
    if (ret == 0) {
        c->width = w;
        c->height = h;
        c->pix_fmt = AV_PIX_FMT_YUVJ420P;
        c->color_range = AVCOL_RANGE_JPEG;
        c->sample_aspect_ratio = (AVRational){1, 1};
        c->time_base = (AVRational){1, 25};
        c->thread_count = 1;
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * q;
        ret = avcodec_open2(c, codec, NULL);
    }
    if (ret >= 0) {
        ret = av_frame_ref(view, f);
    }
    if (ret >= 0) {
        view->width = w;
        view->height = h;
        view->format = AV_PIX_FMT_YUVJ420P;
        view->color_range = AVCOL_RANGE_JPEG;
        view->sample_aspect_ratio = (AVRational){1, 1};
        view->pts = 0;
        view->quality = c->global_quality;
        ret = avcodec_send_frame(c, view);
    }
    if (ret >= 0) {
        ret = avcodec_send_frame(c, NULL);
    }
    if (ret >= 0) {
        av_packet_unref(t->pkt);
        ret = avcodec_receive_packet(c, t->pkt);
    }
    av_frame_free(&view);
    avcodec_free_context(&c);
    return ret < 0 ? convert_err_set(err, errlen, ret, "%s: mjpeg encoder", t->path) : 0;
}

/* convert_thumb_write - OUTDIR/name from data, whole or not at all, then reported. */
static int
convert_thumb_write(struct convert_thumb *t, const char *name, const void *data, size_t size,
                    char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    if (snprintf(path, sizeof(path), "%s/%s", t->o->outdir, name) >= (int)sizeof(path)) {
        return convert_err_set(err, errlen, AVERROR(ENAMETOOLONG), "%s", t->o->outdir);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: create", tmp);
    }
    if (size > 0) {
        fwrite(data, 1, size, f); /* a short write sets the error commit checks */
    }
    if (convert_playlist_commit(f, tmp, path, err, errlen) < 0) {
        return -1;
    }
    if (t->o->on_file != NULL) {
        t->o->on_file(t->o->ud, name, path, (uint64_t)size);
    }
    return 0;
}

/* convert_thumb_sheet - the current sheet, cropped to the tiles it holds, as sprites_N.jpg. */
static int
convert_thumb_sheet(struct convert_thumb *t, char *err, size_t errlen)
{
    int n = t->ntiles - (int)t->sheets * CONVERT_THUMB_COLS * CONVERT_THUMB_ROWS;
    if (n <= 0) {
        return 0;
    }
    int cols = n < CONVERT_THUMB_COLS ? n : CONVERT_THUMB_COLS;
    int rows = (n + CONVERT_THUMB_COLS - 1) / CONVERT_THUMB_COLS;
    char name[32];
    snprintf(name, sizeof(name), "sprites_%u.jpg", t->sheets);
    if (convert_thumb_jpeg(t, t->sheet, cols * t->tw, rows * t->th, CONVERT_THUMB_Q_SPRITE, err,
                           errlen) < 0 ||
        convert_thumb_write(t, name, t->pkt->data, (size_t)t->pkt->size, err, errlen) < 0) {
        return -1;
    }
    t->sheets++;
    convert_thumb_blank(t->sheet);
    return 0;
}

/* convert_thumb_tile - frame f as the next tile, starting at start seconds. */
static int
convert_thumb_tile(struct convert_thumb *t, const AVFrame *f, double start, char *err,
                   size_t errlen)
{
    if (t->ntiles == t->cap) {
        int cap = t->cap ? t->cap * 2 : 256;
        double *s = realloc(t->starts, (size_t)cap * sizeof(*s));
        if (s == NULL) {
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: storyboard", t->path);
        }
        t->starts = s;
        t->cap = cap;
    }
    int pos = t->ntiles % (CONVERT_THUMB_COLS * CONVERT_THUMB_ROWS);
    int x = pos % CONVERT_THUMB_COLS * t->tw, y = pos / CONVERT_THUMB_COLS * t->th;
    uint8_t *data[4] = {t->sheet->data[0] + (size_t)y * (size_t)t->sheet->linesize[0] + x,
                        t->sheet->data[1] + (size_t)(y / 2) * (size_t)t->sheet->linesize[1] + x / 2,
                        t->sheet->data[2] + (size_t)(y / 2) * (size_t)t->sheet->linesize[2] + x / 2,
                        NULL};
    if (convert_thumb_scale(t, &t->sws_tile, f, t->tw, t->th, data, t->sheet->linesize, err,
                            errlen) < 0) {
        return -1;
    }
    t->starts[t->ntiles++] = start;
    if (pos == CONVERT_THUMB_COLS * CONVERT_THUMB_ROWS - 1) {
        return convert_thumb_sheet(t, err, errlen);
    }
    return 0;
}

/* convert_thumb_flatness - the luma's standard deviation (every other pixel and line). */
static double
convert_thumb_flatness(const AVFrame *f)
{
    double sum = 0, sq = 0, n = 0;
    for (int y = 0; y < f->height; y += 2) {
        const uint8_t *row = f->data[0] + (size_t)y * (size_t)f->linesize[0];
        for (int x = 0; x < f->width; x += 2) {
            sum += row[x];
            sq += (double)row[x] * row[x];
            n++;
        }
    }
    if (n == 0) {
        return 0;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    return var > 0 ? sqrt(var) : 0;
}

/* convert_thumb_keep - t->pkt's JPEG into c. */
static int
convert_thumb_keep(struct convert_thumb *t, struct convert_thumb_cand *c, char *err, size_t errlen)
{
    uint8_t *p = malloc((size_t)t->pkt->size);
    if (p == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: poster", t->path);
    }
    memcpy(p, t->pkt->data, (size_t)t->pkt->size);
    free(c->jpeg);
    c->jpeg = p;
    c->size = t->pkt->size;
    return 0;
}

/* convert_thumb_poster - write the chosen candidate (idx; -1: the last resort) as poster.jpg. */
static int
convert_thumb_poster(struct convert_thumb *t, int idx, char *err, size_t errlen)
{
    const struct convert_thumb_cand *c = idx >= 0 && idx < t->ncand ? &t->cand[idx] : &t->flat;
    t->poster_done = 1;
    int ret = 0;
    if (c->jpeg != NULL) {
        ret = convert_thumb_write(t, "poster.jpg", c->jpeg, (size_t)c->size, err, errlen);
    }
    for (int k = 0; k < t->ncand; k++) {
        free(t->cand[k].jpeg);
        t->cand[k].jpeg = NULL;
    }
    free(t->flat.jpeg);
    t->flat.jpeg = NULL;
    avfilter_graph_free(&t->graph);
    return ret;
}

/* convert_thumb_pick - what the thumbnail filter chose, if it has (eof: make it choose). */
static int
convert_thumb_pick(struct convert_thumb *t, int eof, char *err, size_t errlen)
{
    if (eof && t->ncand > 0) {
        int ret = av_buffersrc_add_frame(t->src, NULL);
        if (ret < 0) {
            return convert_err_set(err, errlen, ret, "%s: poster", t->path);
        }
    }
    if (t->ncand == 0) {
        return eof ? convert_thumb_poster(t, -1, err, errlen) : 0;
    }
    AVFrame *f = av_frame_alloc();
    if (f == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: poster", t->path);
    }
    int ret = av_buffersink_get_frame(t->sink, f);
    int64_t idx = ret >= 0 ? f->pts : 0; /* nothing chosen after the end: the first */
    av_frame_free(&f);
    if (ret == AVERROR(EAGAIN) && !eof) {
        return 0;
    }
    if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
        return convert_err_set(err, errlen, ret, "%s: poster (thumbnail filter)", t->path);
    }
    return convert_thumb_poster(t, idx >= 0 && idx < t->ncand ? (int)idx : 0, err, errlen);
}

/*
 * convert_thumb_candidate - f as a poster candidate: scaled to the
 * poster's size, its JPEG kept, its picture given to the thumbnail filter;
 * a flat one only kept as the last resort if it is the least flat yet.
 */
static int
convert_thumb_candidate(struct convert_thumb *t, const AVFrame *f, double s, char *err,
                        size_t errlen)
{
    AVFrame *p = av_frame_alloc();
    if (p == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: poster", t->path);
    }
    p->format = AV_PIX_FMT_YUVJ420P;
    p->width = t->pw;
    p->height = t->ph;
    int ret = av_frame_get_buffer(p, 0);
    if (ret < 0) {
        av_frame_free(&p);
        return convert_err_set(err, errlen, ret, "%s: poster", t->path);
    }
    if (convert_thumb_scale(t, &t->sws_poster, f, t->pw, t->ph, p->data, p->linesize, err, errlen) <
        0) {
        av_frame_free(&p);
        return -1;
    }
    double dev = convert_thumb_flatness(p);
    if (dev < CONVERT_THUMB_FLAT) {
        ret = 0;
        if (dev > t->flat_dev) {
            t->flat_dev = dev;
            ret = convert_thumb_jpeg(t, p, t->pw, t->ph, CONVERT_THUMB_Q_POSTER, err, errlen);
            ret = ret < 0 ? -1 : convert_thumb_keep(t, &t->flat, err, errlen);
        }
        av_frame_free(&p);
        return ret;
    }
    if (convert_thumb_jpeg(t, p, t->pw, t->ph, CONVERT_THUMB_Q_POSTER, err, errlen) < 0 ||
        convert_thumb_keep(t, &t->cand[t->ncand], err, errlen) < 0) {
        av_frame_free(&p);
        return -1;
    }
    p->pts = t->ncand++;
    p->color_range = AVCOL_RANGE_JPEG;
    p->sample_aspect_ratio = (AVRational){1, 1};
    ret = av_buffersrc_add_frame(t->src, p); /* takes the picture */
    av_frame_free(&p);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: poster", t->path);
    }
    /* past the first tenth (it was all flat) the first good frame wins */
    return convert_thumb_pick(t, s >= t->window || t->ncand == CONVERT_THUMB_CANDIDATES, err,
                              errlen);
}

/* convert_thumb_frame - one upright decoded frame, in presentation order. */
int
convert_thumb_frame(struct convert_thumb *t, const AVFrame *f, char *err, size_t errlen)
{
    double s = f->pts != AV_NOPTS_VALUE ? f->pts * av_q2d(t->tb) : t->last_t + t->frame_dur;
    t->last_t = s;
    /* storyboard: the first frame of each interval (the first one starts at 0) */
    int64_t slot = (int64_t)floor(s / t->interval + 1e-6);
    if (t->ntiles < CONVERT_THUMB_MAX_TILES && (t->ntiles == 0 || slot >= t->next_slot)) {
        double start = t->ntiles == 0 ? 0 : (double)slot * t->interval;
        t->next_slot = (slot > 0 ? slot : 0) + 1;
        if (convert_thumb_tile(t, f, start, err, errlen) < 0) {
            return -1;
        }
    }
    if (t->poster_done) {
        return 0;
    }
    /* poster: candidates on a grid over the first tenth, then beyond if all were flat */
    if (s >= t->window && t->ncand > 0) {
        return convert_thumb_pick(t, 1, err, errlen);
    }
    int64_t k = t->spacing > 0 ? (int64_t)floor(s / t->spacing + 1e-6) : t->next_cand;
    if (k < t->next_cand) {
        return 0;
    }
    t->next_cand = k + 1;
    return convert_thumb_candidate(t, f, s, err, errlen);
}

/* convert_thumb_time - seconds as WebVTT's HH:MM:SS.mmm. */
static void
convert_thumb_time(char *buf, size_t len, int64_t ms)
{
    snprintf(buf, len, "%02lld:%02lld:%02lld.%03lld", (long long)(ms / 3600000),
             (long long)(ms / 60000 % 60), (long long)(ms / 1000 % 60), (long long)(ms % 1000));
}

/* convert_thumb_vtt - storyboard.vtt: tile i from its start to the next one's (the last to end). */
static int
convert_thumb_vtt(struct convert_thumb *t, double end, char *err, size_t errlen)
{
    size_t cap = 16 + (size_t)t->ntiles * 96, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: storyboard", t->path);
    }
    n += (size_t)snprintf(buf, cap, "WEBVTT\n");
    int per = CONVERT_THUMB_COLS * CONVERT_THUMB_ROWS;
    int64_t prev = 0;
    for (int i = 0; i < t->ntiles; i++) {
        int64_t a = i == 0 ? 0 : prev;
        int64_t b = i + 1 < t->ntiles ? llround(t->starts[i + 1] * 1000) : llround(end * 1000);
        b = b > a ? b : a + 1;
        prev = b;
        char ta[32], tb[32];
        convert_thumb_time(ta, sizeof(ta), a);
        convert_thumb_time(tb, sizeof(tb), b);
        int pos = i % per;
        n += (size_t)snprintf(buf + n, cap - n, "\n%s --> %s\nsprites_%d.jpg#xywh=%d,%d,%d,%d\n",
                              ta, tb, i / per, pos % CONVERT_THUMB_COLS * t->tw,
                              pos / CONVERT_THUMB_COLS * t->th, t->tw, t->th);
    }
    int ret = convert_thumb_write(t, "storyboard.vtt", buf, n, err, errlen);
    free(buf);
    return ret;
}

/* convert_thumb_finish - the poster if still undecided, the last sheet, storyboard.vtt. */
int
convert_thumb_finish(struct convert_thumb *t, double end, char *err, size_t errlen)
{
    if (t == NULL) {
        return 0;
    }
    if (!t->poster_done && convert_thumb_pick(t, 1, err, errlen) < 0) {
        return -1;
    }
    if (t->ntiles == 0) {
        return 0; /* no frame at all: the conversion fails anyway */
    }
    if (t->ntiles % (CONVERT_THUMB_COLS * CONVERT_THUMB_ROWS) != 0 &&
        convert_thumb_sheet(t, err, errlen) < 0) {
        return -1;
    }
    return convert_thumb_vtt(t, end, err, errlen);
}

void
convert_thumb_free(struct convert_thumb **tp)
{
    struct convert_thumb *t = *tp;
    if (t == NULL) {
        return;
    }
    for (int k = 0; k < t->ncand; k++) {
        free(t->cand[k].jpeg);
    }
    free(t->flat.jpeg);
    free(t->starts);
    avfilter_graph_free(&t->graph);
    sws_freeContext(t->sws_tile);
    sws_freeContext(t->sws_poster);
    av_frame_free(&t->sheet);
    av_packet_free(&t->pkt);
    free(t);
    *tp = NULL;
}
