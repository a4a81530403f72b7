/*
 * convert_subs.c - subtitles as WebVTT renditions: the input's text
 * subtitle tracks (mov_text, SubRip, ASS/SSA, WebVTT) and caption files
 * given with it (SubRip, WebVTT) are decoded by FFmpeg into events, turned
 * into WebVTT cue text by FFmpeg's webvtt encoder, kept (they are small:
 * bounded by CONVERT_SUBS_TEXT_MAX), and written at the end as one .vtt
 * file per video segment, on the same boundaries, each with an
 * X-TIMESTAMP-MAP that ties local time 0 to the MPEG-TS time at which the
 * segments start (CONVERT_TS_OFFSET), so cues line up with the picture.
 *
 * A cue that spans a boundary is written into both segments, as RFC 8216
 * 3.5 and players expect. Nothing here touches the audio or video.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "workers/convert_int.h"

/* Cue text kept for one job, all renditions together. */
#define CONVERT_SUBS_TEXT_MAX (16u << 20)

struct convert_cue {
    double start, end; /* seconds from the input's start */
    char *text;        /* WebVTT cue payload, no blank line inside */
};

struct convert_sub {
    char name[CONVERT_NAME_MAX];
    char language[16], label[64];
    int is_default, forced;
    AVCodecContext *dec; /* borrowed (the input's) or owned (a caption file's) */
    AVCodecContext *enc; /* webvtt */
    int owned;
    struct convert_cue *cues;
    size_t n, cap;
    struct convert_mux_seg *segs;
    unsigned n_segs;
};

struct convert_subs {
    const struct convert_input *in;
    int n;
    struct convert_sub s[CONVERT_MAX_SUBTITLES];
    size_t text_bytes;
};

/* convert_subs_unique - the last rendition's NAME and directory unlike the others' */
static void
convert_subs_unique(struct convert_subs *ss, struct convert_sub *s)
{
    struct convert_lang_set labels = {ss->s[0].label, sizeof(ss->s[0]), ss->n - 1};
    struct convert_lang_set names = {ss->s[0].name, sizeof(ss->s[0]), ss->n - 1};
    convert_lang_unique(s->label, sizeof(s->label), &labels);
    convert_lang_name(s->name, "subs", s->language, "", &names);
}

/* convert_subs_encoder - a webvtt encoder that understands dec's styles. */
static int
convert_subs_encoder(struct convert_sub *s, const char *path, char *err, size_t errlen)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_WEBVTT);
    if (codec == NULL) {
        return convert_err_set(err, errlen, AVERROR_ENCODER_NOT_FOUND, "webvtt encoder");
    }
    s->enc = avcodec_alloc_context3(codec);
    if (s->enc == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "webvtt encoder");
    }
    s->enc->time_base = AV_TIME_BASE_Q;
    if (s->dec->subtitle_header_size > 0) {
        s->enc->subtitle_header = av_mallocz((size_t)s->dec->subtitle_header_size + 1);
        if (s->enc->subtitle_header == NULL) {
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "webvtt encoder");
        }
        memcpy(s->enc->subtitle_header, s->dec->subtitle_header,
               (size_t)s->dec->subtitle_header_size);
        s->enc->subtitle_header_size = s->dec->subtitle_header_size;
    }
    int ret = avcodec_open2(s->enc, codec, NULL);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: webvtt encoder", path);
    }
    return 0;
}

/* convert_subs_describe - language, NAME and flags from a stream's tags. */
static void
convert_subs_describe(struct convert_sub *s, const AVStream *st, const char *language, int index)
{
    char name[64];
    const AVDictionaryEntry *t = NULL;
    if (language == NULL && st != NULL) {
        t = av_dict_get(st->metadata, "language", NULL, 0);
        language = t != NULL ? t->value : NULL;
    }
    convert_lang_tag(language, s->language, sizeof(s->language), name, sizeof(name));
    t = st != NULL ? av_dict_get(st->metadata, "title", NULL, 0) : NULL;
    char fallback[32];
    snprintf(fallback, sizeof(fallback), "Subtitles %d", index + 1);
    convert_lang_label(s->label, sizeof(s->label),
                       t != NULL && t->value[0] != '\0' ? t->value
                       : name[0] != '\0'                ? name
                                                        : fallback,
                       "");
    if (st != NULL) {
        s->is_default = (st->disposition & AV_DISPOSITION_DEFAULT) != 0;
        s->forced = (st->disposition & AV_DISPOSITION_FORCED) != 0;
    }
}

/*
 * convert_subs_escape - WebVTT text from the encoder's output: FFmpeg's
 * webvtt encoder writes the styles it knows as <i>, <b>, <u> but passes
 * the text through as it is, so a literal &, < or > would be read as
 * markup. Escape everything but those tags. dst holds 5 x src.
 */
static void
convert_subs_escape(char *dst, const char *src)
{
    static const char *const tags[] = {"<i>", "</i>", "<b>", "</b>", "<u>", "</u>"};
    while (*src != '\0') {
        if (src[0] == '\\' && src[1] == 'h') { /* ASS's hard space, left by the encoder */
            dst = stpcpy(dst, "&nbsp;");
            src += 2;
            continue;
        }
        size_t tag = 0;
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]) && tag == 0; i++) {
            if (strncmp(src, tags[i], strlen(tags[i])) == 0) {
                tag = strlen(tags[i]);
            }
        }
        if (tag > 0) {
            memcpy(dst, src, tag);
            dst += tag;
            src += tag;
            continue;
        }
        const char *e = *src == '&' ? "&amp;" : *src == '<' ? "&lt;" : *src == '>' ? "&gt;" : NULL;
        if (e != NULL) {
            dst = stpcpy(dst, e);
        } else {
            *dst++ = *src;
        }
        src++;
    }
    *dst = '\0';
}

/* convert_subs_keep - store one decoded event as a cue. */
static int
convert_subs_keep(struct convert_subs *ss, struct convert_sub *s, AVSubtitle *sub,
                  const AVPacket *pkt, AVRational tb, double shift, char *err, size_t errlen)
{
    if (sub->num_rects == 0 || sub->pts == AV_NOPTS_VALUE) {
        return 0; /* an event that only clears the screen */
    }
    uint8_t buf[8192];
    int len = avcodec_encode_subtitle(s->enc, buf, sizeof(buf) - 1, sub);
    if (len <= 0) {
        return 0; /* nothing WebVTT can show (an empty or drawing-only event) */
    }
    buf[len] = '\0';
    /* No blank line inside a cue: it would end it. Trim the end. */
    char *text = (char *)buf;
    size_t k = 0;
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (text[i] == '\r' || (text[i] == '\n' && (k == 0 || text[k - 1] == '\n'))) {
            continue;
        }
        text[k++] = text[i];
    }
    while (k > 0 && (text[k - 1] == '\n' || text[k - 1] == ' ')) {
        k--;
    }
    text[k] = '\0';
    if (k == 0) {
        return 0;
    }
    double base = sub->pts / (double)AV_TIME_BASE - shift;
    double start = base + sub->start_display_time / 1000.0;
    double end = base + sub->end_display_time / 1000.0;
    if (sub->end_display_time == UINT32_MAX) {
        /* open-ended: until the packet's end, or a reading's worth */
        end = pkt->duration > 0 ? base + pkt->duration * av_q2d(tb) : start + 5;
    }
    /* end_display_time 0 (FFmpeg fills it from the packet's duration when
     * there is one): a cue of no length, which shows nothing */
    if (!(end > start) || !isfinite(start)) {
        return 0;
    }
    if (ss->text_bytes + k + 1 + sizeof(struct convert_cue) > CONVERT_SUBS_TEXT_MAX) {
        return convert_err_set(err, errlen, AVERROR(E2BIG), "%s: more than %u MiB of subtitle text",
                               ss->in->path, CONVERT_SUBS_TEXT_MAX >> 20);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct convert_cue *c = realloc(s->cues, cap * sizeof(*c));
        if (c == NULL) {
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: subtitles", ss->in->path);
        }
        s->cues = c;
        s->cap = cap;
    }
    char *copy = malloc(5 * k + 1);
    if (copy != NULL) {
        convert_subs_escape(copy, text);
        k = strlen(copy);
    }
    if (copy == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: subtitles", ss->in->path);
    }
    s->cues[s->n++] =
        (struct convert_cue){.start = start < 0 ? 0 : start, .end = end, .text = copy};
    ss->text_bytes += k + 1 + sizeof(struct convert_cue);
    return 0;
}

/* convert_subs_decode - one packet of rendition s through its decoder; its
 * times less shift seconds are the video's. */
static int
convert_subs_decode(struct convert_subs *ss, struct convert_sub *s, AVPacket *pkt, AVRational tb,
                    double shift, char *err, size_t errlen)
{
    AVSubtitle sub;
    int got = 0;
    int ret = avcodec_decode_subtitle2(s->dec, &sub, &got, pkt);
    if (ret < 0 || !got) {
        return 0; /* a damaged event costs that event, as in the CLI */
    }
    ret = convert_subs_keep(ss, s, &sub, pkt, tb, shift, err, errlen);
    avsubtitle_free(&sub);
    return ret;
}

/* convert_subs_format - the demuxer for a caption file, as convert_caption_check tells them apart
 */
static const AVInputFormat *
convert_subs_format(const char *path)
{
    char head[16] = "";
    FILE *f = fopen(path, "rb");
    size_t n = f != NULL ? fread(head, 1, sizeof(head) - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    head[n] = '\0';
    const char *p = strncmp(head, "\xef\xbb\xbf", 3) == 0 ? head + 3 : head;
    return av_find_input_format(strncmp(p, "WEBVTT", 6) == 0 ? "webvtt" : "srt");
}

/*
 * convert_subs_file - read a whole caption file into rendition s. The
 * demuxer is named, not guessed (SubRip's probe wants a cue number first,
 * and a file must not be taken for another format), and only the file
 * protocol is allowed; shown is how messages name the file.
 */
static int
convert_subs_file(struct convert_subs *ss, struct convert_sub *s, const char *path,
                  const char *shown, char *err, size_t errlen)
{
    AVFormatContext *fmt = NULL;
    AVDictionary *opt = NULL;
    av_dict_set(&opt, "protocol_whitelist", "file", 0);
    int ret = avformat_open_input(&fmt, path, convert_subs_format(path), &opt);
    av_dict_free(&opt);
    path = shown;
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: cannot read the caption file", path);
    }
    ret = avformat_find_stream_info(fmt, NULL);
    int idx = ret < 0 ? ret : av_find_best_stream(fmt, AVMEDIA_TYPE_SUBTITLE, -1, -1, NULL, 0);
    const AVCodec *codec = NULL;
    if (idx >= 0) {
        codec = avcodec_find_decoder(fmt->streams[idx]->codecpar->codec_id);
    }
    if (idx < 0 || codec == NULL) {
        avformat_close_input(&fmt);
        return convert_err_set(err, errlen, idx < 0 ? idx : AVERROR_DECODER_NOT_FOUND,
                               "%s: not a SubRip or WebVTT file", path);
    }
    AVStream *st = fmt->streams[idx];
    s->dec = avcodec_alloc_context3(codec);
    s->owned = 1;
    ret = s->dec == NULL ? AVERROR(ENOMEM) : avcodec_parameters_to_context(s->dec, st->codecpar);
    if (ret >= 0) {
        s->dec->pkt_timebase = st->time_base;
        ret = avcodec_open2(s->dec, codec, NULL);
    }
    if (ret >= 0 && convert_subs_encoder(s, path, err, errlen) < 0) {
        avformat_close_input(&fmt);
        return -1;
    }
    AVPacket *pkt = ret >= 0 ? av_packet_alloc() : NULL;
    if (ret >= 0 && pkt == NULL) {
        ret = AVERROR(ENOMEM);
    }
    if (ret < 0) {
        avformat_close_input(&fmt);
        return convert_err_set(err, errlen, ret, "%s: subtitle decoder", path);
    }
    int rc = 0;
    while (rc == 0 && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == idx) {
            /* A caption file's times are the video's: nothing to subtract. */
            rc = convert_subs_decode(ss, s, pkt, st->time_base, 0, err, errlen);
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    if (rc == 0 && s->n == 0) {
        return convert_err_set(err, errlen, 0, "%s: no cues", path);
    }
    return rc;
}

/*
 * convert_subs_open - one rendition per caption file (read whole now) and
 * per text subtitle track of in (fed packet by packet); may note in
 * in->skipped what it leaves out.
 */
int
convert_subs_open(struct convert_subs **out, struct convert_input *in, const struct convert_opts *o,
                  char *err, size_t errlen)
{
    struct convert_subs *ss = calloc(1, sizeof(*ss));
    if (ss == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "subtitles");
    }
    *out = ss;
    ss->in = in;
    if (o->n_captions < 0 || o->n_captions > CONVERT_MAX_SUBTITLES ||
        (o->n_captions > 0 && o->captions == NULL)) {
        return convert_err_set(err, errlen, 0, "%s: %d caption files (at most %d)", in->path,
                               o->n_captions, CONVERT_MAX_SUBTITLES);
    }
    /* Caption files first: the user asked for them by name. */
    for (int i = 0; i < o->n_captions; i++) {
        const struct convert_caption *c = &o->captions[i];
        if (c->path == NULL || convert_caption_check(c->path, c->name, err, errlen) < 0) {
            return c->path == NULL ? convert_err_set(err, errlen, 0, "caption %d: no file", i) : -1;
        }
        struct convert_sub *s = &ss->s[ss->n++];
        convert_subs_describe(s, NULL, c->language != NULL ? c->language : "", i);
        convert_subs_unique(ss, s);
        if (convert_subs_file(ss, s, c->path, c->name != NULL ? c->name : c->path, err, errlen) <
            0) {
            return -1;
        }
    }
    for (int i = 0; i < in->ns; i++) {
        if (ss->n == CONVERT_MAX_SUBTITLES) {
            convert_probe_note(in, "subtitle track %d left out (more than %d subtitles)",
                               in->subs[i].st->index, CONVERT_MAX_SUBTITLES);
            continue;
        }
        struct convert_sub *s = &ss->s[ss->n++];
        s->dec = in->subs[i].dec;
        convert_subs_describe(s, in->subs[i].st, NULL, ss->n - 1);
        convert_subs_unique(ss, s);
        if (convert_subs_encoder(s, in->path, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

int
convert_subs_count(const struct convert_subs *ss)
{
    return ss != NULL ? ss->n : 0;
}

/* convert_subs_packet - a packet of the input's subtitle track t (in->subs[t]). */
int
convert_subs_packet(struct convert_subs *ss, const struct convert_track *t, AVPacket *pkt,
                    char *err, size_t errlen)
{
    for (int i = 0; i < ss->n; i++) {
        if (!ss->s[i].owned && ss->s[i].dec == t->dec) {
            double shift = ss->in->start / (double)AV_TIME_BASE;
            return convert_subs_decode(ss, &ss->s[i], pkt, t->st->time_base, shift, err, errlen);
        }
    }
    return 0;
}

/* convert_subs_time - "HH:MM:SS.mmm" for a cue timing. */
static void
convert_subs_time(FILE *f, double t)
{
    long long ms = llround(t * 1000);
    fprintf(f, "%02lld:%02lld:%02lld.%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
            ms % 1000);
}

/* What a subtitle rendition may write in all: cues repeated over many
 * segments (a cue that lasts the whole film) must not fill the disk. */
#define CONVERT_SUBS_OUT_MAX (64u << 20)

/*
 * convert_subs_segment - write seg_NNNNN.vtt of s for [t0, t1) and report
 * it: the cues that overlap it, none past end (the media's end), starting
 * the scan at *lo (cues are in start order; *lo moves past the ended).
 */
static int
convert_subs_segment(struct convert_sub *s, const struct convert_opts *o, const char *dir,
                     unsigned k, double t0, double t1, double end, size_t *lo, uint64_t *written,
                     char *err, size_t errlen)
{
    char path[PATH_MAX + 32], part[PATH_MAX + 40];
    snprintf(path, sizeof(path), "%s/seg_%05u.vtt", dir, k);
    snprintf(part, sizeof(part), "%s.part", path);
    FILE *f = fopen(part, "w");
    if (f == NULL) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: create", part);
    }
    fprintf(f, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:%lld,LOCAL:00:00:00.000\n",
            (long long)llround(CONVERT_TS_OFFSET * 90000));
    while (*lo < s->n && s->cues[*lo].end <= t0) {
        (*lo)++;
    }
    for (size_t i = *lo; i < s->n && s->cues[i].start < t1 && s->cues[i].start < end; i++) {
        const struct convert_cue *c = &s->cues[i];
        if (c->end > t0) {
            fputc('\n', f);
            convert_subs_time(f, c->start);
            fputs(" --> ", f);
            convert_subs_time(f, c->end < end ? c->end : end);
            fprintf(f, "\n%s\n", c->text);
        }
    }
    if (convert_playlist_commit(f, part, path, err, errlen) < 0) {
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: stat", path);
    }
    s->segs[k] = (struct convert_mux_seg){.duration = t1 - t0, .size = (uint64_t)st.st_size};
    *written += (uint64_t)st.st_size;
    if (*written > CONVERT_SUBS_OUT_MAX) {
        return convert_err_set(err, errlen, AVERROR(E2BIG),
                               "%s: more than %u MiB of WebVTT (cues repeated over too many "
                               "segments)",
                               s->name, CONVERT_SUBS_OUT_MAX >> 20);
    }
    if (o->on_segment != NULL) {
        struct convert_segment seg = {
            .rendition = s->name,
            .kind = CONVERT_SUBTITLES,
            .index = k,
            .path = path,
            .size = (uint64_t)st.st_size,
            .duration = t1 - t0,
        };
        o->on_segment(o->ud, &seg);
    }
    return 0;
}

/* convert_subs_cmp - cues in start order (stable enough: ties keep file order by end). */
static int
convert_subs_cmp(const void *a, const void *b)
{
    const struct convert_cue *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return x->end < y->end ? -1 : x->end > y->end;
}

/*
 * convert_subs_write - every rendition's segments, on the boundaries of
 * segs (the video's, or the main audio's), under OUTDIR/<name>/.
 */
int
convert_subs_write(struct convert_subs *ss, const struct convert_opts *o,
                   const struct convert_mux_seg *segs, unsigned n, char *err, size_t errlen)
{
    for (int i = 0; i < ss->n; i++) {
        struct convert_sub *s = &ss->s[i];
        char dir[PATH_MAX];
        if (snprintf(dir, sizeof(dir), "%s/%s", o->outdir, s->name) >= (int)sizeof(dir)) {
            return convert_err_set(err, errlen, AVERROR(ENAMETOOLONG), "%s", o->outdir);
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            return convert_err_set(err, errlen, AVERROR(errno), "%s: mkdir", dir);
        }
        qsort(s->cues, s->n, sizeof(*s->cues), convert_subs_cmp);
        free(s->segs);
        s->segs = calloc(n > 0 ? n : 1, sizeof(*s->segs));
        if (s->segs == NULL) {
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", dir);
        }
        s->n_segs = n;
        double t = 0, end = 0;
        for (unsigned k = 0; k < n; k++) {
            end += segs[k].duration;
        }
        size_t lo = 0;
        uint64_t written = 0;
        for (unsigned k = 0; k < n; k++) {
            if (o->cancel != NULL && *o->cancel) {
                return convert_err_set(err, errlen, AVERROR(ECANCELED), "%s: canceled", dir);
            }
            double t1 = t + segs[k].duration; /* the last one is end: the same sum */
            if (convert_subs_segment(s, o, dir, k, t, t1, end, &lo, &written, err, errlen) < 0) {
                return -1;
            }
            t = t1;
        }
    }
    return 0;
}

/* convert_subs_variant - rendition i as the playlist writer sees it. */
void
convert_subs_variant(const struct convert_subs *ss, int i, struct convert_variant *v)
{
    const struct convert_sub *s = &ss->s[i];
    int any_default = 0;
    for (int k = 0; k < ss->n; k++) {
        any_default |= ss->s[k].is_default && k < i;
    }
    *v = (struct convert_variant){
        .kind = CONVERT_SUBTITLES,
        .name = s->name,
        .ext = "vtt",
        .codecs = "wvtt",
        .segs = s->segs,
        .n_segs = s->n_segs,
        .group = "subs",
        .language = s->language,
        .label = s->label,
        .is_default = s->is_default && !any_default, /* one DEFAULT per group */
        .forced = s->forced,
    };
}

void
convert_subs_free(struct convert_subs **ssp)
{
    struct convert_subs *ss = *ssp;
    if (ss == NULL) {
        return;
    }
    for (int i = 0; i < ss->n; i++) {
        struct convert_sub *s = &ss->s[i];
        for (size_t k = 0; k < s->n; k++) {
            free(s->cues[k].text);
        }
        free(s->cues);
        free(s->segs);
        avcodec_free_context(&s->enc);
        if (s->owned) {
            avcodec_free_context(&s->dec);
        }
    }
    free(ss);
    *ssp = NULL;
}
