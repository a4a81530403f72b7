/*
 * convert_mux.c - one rendition's segmenter: a single MPEG-TS muxer (or,
 * for CMAF, a single fragmenting MP4 muxer) whose output file is switched
 * at each cut, so continuity counters and timestamps run on across
 * segments as in the ffmpeg CLI's hls muxer.
 *
 * fMP4: the mp4 muxer writes ftyp+moov at once (empty_moov) into
 * init.mp4, then a fragment (moof+mdat, default-base-is-moof, so a
 * fragment does not care which file it lands in) each time we ask
 * (frag_custom: av_write_frame(NULL)). A cut flushes the fragment into the
 * old file and switches files. Each video keyframe is a fragment of its
 * own, so the I-frame playlist's byte range is one whole moof+mdat that
 * decodes after the init segment alone. The muxer needs every sample's
 * duration when it closes a fragment: one video packet is held back until
 * the next gives it (next dts - this dts).
 *
 * Packets of the two streams arrive in encoder order; a small queue per
 * stream restores dts order. A segment is cut before a video keyframe (or,
 * without video, any audio packet) at or after the next multiple of the
 * segment length. Each file is written as seg_NNNNN.ts.part and renamed
 * when complete, and only then reported, so that a reader never sees half
 * a segment under its final name.
 *
 * Every video keyframe's place in its segment is recorded for the I-frame
 * playlist: the TS muxer writes a PAT and PMT just before each keyframe's
 * PES and writes a video PES whole in the call that is given it, so the
 * bytes one av_write_frame() adds for a keyframe are exactly what a player
 * needs to show it alone.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/opt.h>

#include "workers/convert_int.h"

/*
 * Beyond this many queued packets of one stream while the other stays
 * silent, write anyway: a badly interleaved input must not make memory
 * grow with its length.
 */
#define CONVERT_MUX_QUEUE_MAX 4096

/* Video cut times an audio rendition may be told ahead of its packets. */
#define CONVERT_MUX_CUTS 64

struct convert_mux_queue {
    AVPacket **p;
    size_t head, len, cap;
};

struct convert_mux {
    const struct convert_opts *o;
    char name[CONVERT_NAME_MAX];
    char dir[PATH_MAX];
    AVFormatContext *oc;
    int vi, ai; /* stream index in oc, -1: none */
    AVRational vtb, atb;
    struct convert_mux_queue vq, aq;
    double seg_seconds;
    int open;         /* a segment file is open */
    unsigned index;   /* of the open segment */
    double seg_start; /* seconds */
    int64_t next_cut; /* in the cutting stream's time base */
    double last_time; /* latest packet end seen, seconds */
    struct convert_mux_seg *segs;
    unsigned n_segs, cap_segs;
    struct convert_mux_key *keys;
    unsigned n_keys, cap_keys;
    /*
     * An audio rendition beside video follows the video's cuts, not the
     * grid: the caller tells it where each video segment starts (cuts) and
     * how far the video has been decoded (clock); a packet is written only
     * once the video is past it, so that its cut is known.
     */
    int follow;
    double clock;
    double cuts[CONVERT_MUX_CUTS];
    unsigned cut_head, cut_len;
    char vcodec[48], acodec[16];
    int have_sps;
    int fmp4;              /* CONVERT_FMP4: init.mp4 + seg_NNNNN.m4s */
    int64_t last_vdur;     /* fMP4: the last video sample's duration, vtb */
    int64_t vshift;        /* fMP4: the first video packet's pts - dts, vtb; -1 unknown */
    enum convert_codec vc; /* the video's codec, for its CODECS string */
};

/* convert_mux_grow - room for one more element in a doubling array. */
static int
convert_mux_grow(void **arr, unsigned *cap, unsigned n, size_t size)
{
    if (n < *cap) {
        return 0;
    }
    unsigned c = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, (size_t)c * size);
    if (p == NULL) {
        return -1;
    }
    *arr = p;
    *cap = c;
    return 0;
}

/* convert_mux_sps - "avc1.PPCCLL" from an SPS in Annex B or avcC bytes. */
static int
convert_mux_sps(struct convert_mux *m, const uint8_t *d, size_t n)
{
    if (n >= 4 && d[0] == 1) { /* avcC: version, profile, compat, level */
        snprintf(m->vcodec, sizeof(m->vcodec), "avc1.%02x%02x%02x", d[1], d[2], d[3]);
        return 1;
    }
    for (size_t i = 0; i + 6 < n; i++) {
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1 && (d[i + 3] & 0x1f) == 7) {
            snprintf(m->vcodec, sizeof(m->vcodec), "avc1.%02x%02x%02x", d[i + 4], d[i + 5],
                     d[i + 6]);
            return 1;
        }
    }
    return 0;
}

static int
convert_mux_queue_put(struct convert_mux_queue *q, AVPacket *pkt)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        AVPacket **p = malloc(cap * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        for (size_t i = 0; i < q->len; i++) {
            p[i] = q->p[(q->head + i) % q->cap];
        }
        free(q->p);
        q->p = p;
        q->head = 0;
        q->cap = cap;
    }
    q->p[(q->head + q->len) % q->cap] = pkt;
    q->len++;
    return 0;
}

static AVPacket *
convert_mux_queue_peek(const struct convert_mux_queue *q)
{
    return q->len ? q->p[q->head] : NULL;
}

static AVPacket *
convert_mux_queue_take(struct convert_mux_queue *q)
{
    AVPacket *pkt = q->p[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return pkt;
}

static void
convert_mux_queue_free(struct convert_mux_queue *q)
{
    while (q->len) {
        AVPacket *pkt = convert_mux_queue_take(q);
        av_packet_free(&pkt);
    }
    free(q->p);
    q->p = NULL;
    q->cap = 0;
}

static void
convert_mux_path(const struct convert_mux *m, unsigned index, int part, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seg_%05u.%s%s", m->dir, index, m->fmp4 ? "m4s" : "ts",
             part ? ".part" : "");
}

/* convert_mux_begin - open the next segment file under its .part name. */
static int
convert_mux_begin(struct convert_mux *m, char *err, size_t errlen)
{
    char path[PATH_MAX + 32];
    convert_mux_path(m, m->index, 1, path, sizeof(path));
    int ret = avio_open(&m->oc->pb, path, AVIO_FLAG_WRITE);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: cannot create", path);
    }
    /* Every segment must start with PAT/PMT to be decodable alone. */
    if (!m->fmp4) {
        av_opt_set(m->oc->priv_data, "mpegts_flags", "resend_headers", 0);
    }
    m->open = 1;
    return 0;
}

/* convert_mux_end - complete, rename and report the open segment. */
static int
convert_mux_end(struct convert_mux *m, double end, int trailer, char *err, size_t errlen)
{
    char part[PATH_MAX + 32], path[PATH_MAX + 32];
    convert_mux_path(m, m->index, 1, part, sizeof(part));
    convert_mux_path(m, m->index, 0, path, sizeof(path));
    /* Flush the PES data the TS muxer still holds into this file. */
    int ret = trailer ? av_write_trailer(m->oc) : av_write_frame(m->oc, NULL);
    if (ret >= 0) {
        avio_flush(m->oc->pb);
        ret = m->oc->pb->error;
    }
    int cret = avio_closep(&m->oc->pb);
    m->open = 0;
    if (ret < 0 || cret < 0) {
        return convert_err_set(err, errlen, ret < 0 ? ret : cret, "%s: write", part);
    }
    if (rename(part, path) < 0) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: rename", part);
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: stat", path);
    }
    if (convert_mux_grow((void **)&m->segs, &m->cap_segs, m->n_segs, sizeof(*m->segs)) < 0) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", path);
    }
    double dur = end - m->seg_start;
    m->segs[m->n_segs++] = (struct convert_mux_seg){.duration = dur, .size = (uint64_t)st.st_size};
    if (m->o->on_segment != NULL) {
        struct convert_segment seg = {
            .rendition = m->name,
            .kind = m->vi >= 0 ? CONVERT_VIDEO : CONVERT_AUDIO,
            .index = m->index,
            .path = path,
            .size = (uint64_t)st.st_size,
            .duration = dur,
        };
        m->o->on_segment(m->o->ud, &seg);
    }
    m->index++;
    m->seg_start = end;
    return 0;
}

/* convert_mux_write - write one packet, cutting a new segment before it if due. */
static int
convert_mux_write(struct convert_mux *m, int video, AVPacket *pkt, char *err, size_t errlen)
{
    AVRational tb = video ? m->vtb : m->atb;
    int cutter = video || m->vi < 0;
    if (!m->have_sps && video) {
        m->have_sps = convert_mux_sps(m, pkt->data, (size_t)pkt->size);
    }
    if (m->follow) {
        /* Cut where the video cut: before the first packet at or after it.
         * A gap in the audio spans several of the video's cuts: the segment
         * ends at the last of them (its EXTINF covers the gap). The AAC tail
         * past the video's last cut stays in the last segment. */
        double t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts * av_q2d(tb) : -1;
        double at = -1;
        while (m->cut_len > 0 && t >= m->cuts[m->cut_head]) {
            at = m->cuts[m->cut_head];
            m->cut_head = (m->cut_head + 1) % CONVERT_MUX_CUTS;
            m->cut_len--;
        }
        if (at >= 0 && m->open && at > m->seg_start && convert_mux_end(m, at, 0, err, errlen) < 0) {
            return -1;
        }
        if (at >= 0) {
            m->next_cut = convert_grid_next(pkt->pts, tb, m->seg_seconds);
        }
    } else if (cutter && pkt->pts != AV_NOPTS_VALUE && pkt->pts >= m->next_cut &&
               (pkt->flags & AV_PKT_FLAG_KEY)) {
        if (m->open) {
            if (convert_mux_end(m, pkt->pts * av_q2d(tb), 0, err, errlen) < 0) {
                return -1;
            }
        }
        m->next_cut = convert_grid_next(pkt->pts, tb, m->seg_seconds);
    }
    if (!m->open && convert_mux_begin(m, err, errlen) < 0) {
        return -1;
    }
    if (pkt->pts != AV_NOPTS_VALUE) {
        double t = (pkt->pts + (pkt->duration > 0 ? pkt->duration : 0)) * av_q2d(tb);
        if (t > m->last_time) {
            m->last_time = t;
        }
    }
    AVStream *st = m->oc->streams[video ? m->vi : m->ai];
    int64_t off =
        av_rescale_q(llround(CONVERT_TS_OFFSET * 90000), (AVRational){1, 90000}, st->time_base);
    if (m->fmp4 && video) {
        /*
         * The mp4 muxer (5.1, fragments, no edit list) makes the first
         * sample's decode time its presentation time and keeps the
         * composition offsets: every picture would show pts0 - dts0 late.
         * Given times that much earlier, the pictures show when they do in
         * MPEG-TS, in step with the audio (tested).
         */
        if (m->vshift < 0) {
            m->vshift =
                pkt->pts != AV_NOPTS_VALUE && pkt->dts != AV_NOPTS_VALUE && pkt->pts > pkt->dts
                    ? pkt->pts - pkt->dts
                    : 0;
        }
        if (pkt->pts != AV_NOPTS_VALUE) {
            pkt->pts -= m->vshift;
        }
        if (pkt->dts != AV_NOPTS_VALUE) {
            pkt->dts -= m->vshift;
        }
    }
    av_packet_rescale_ts(pkt, tb, st->time_base);
    if (pkt->pts != AV_NOPTS_VALUE) {
        pkt->pts += off;
    }
    if (pkt->dts != AV_NOPTS_VALUE) {
        pkt->dts += off;
    }
    pkt->stream_index = st->index;
    pkt->pos = -1;
    int key = video && (pkt->flags & AV_PKT_FLAG_KEY);
    double time = pkt->pts != AV_NOPTS_VALUE ? (pkt->pts - off) * av_q2d(st->time_base) : 0;
    if (m->fmp4 && video) {
        time += m->vshift * av_q2d(tb); /* where it shows (above) */
    }
    /* fMP4: a keyframe is a fragment of its own (see the top). */
    int ret = m->fmp4 && key ? av_write_frame(m->oc, NULL) : 0;
    int64_t before = avio_tell(m->oc->pb);
    if (ret >= 0) {
        ret = av_write_frame(m->oc, pkt);
    }
    if (ret >= 0 && m->fmp4 && key) {
        ret = av_write_frame(m->oc, NULL);
    }
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s/seg_%05u.%s: write", m->dir, m->index,
                               m->fmp4 ? "m4s" : "ts");
    }
    if (key) {
        if (convert_mux_grow((void **)&m->keys, &m->cap_keys, m->n_keys, sizeof(*m->keys)) < 0) {
            return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", m->dir);
        }
        m->keys[m->n_keys++] = (struct convert_mux_key){
            .time = time,
            .seg = m->index,
            .offset = (uint64_t)before,
            .size = (uint64_t)(avio_tell(m->oc->pb) - before),
        };
    }
    return 0;
}

/* convert_mux_drain - write queued packets in dts order while that order is known. */
static int
convert_mux_drain(struct convert_mux *m, int eof, char *err, size_t errlen)
{
    for (;;) {
        AVPacket *v = convert_mux_queue_peek(&m->vq);
        AVPacket *a = convert_mux_queue_peek(&m->aq);
        /* fMP4: a video packet waits for the next, which gives its duration. */
        int vhold = v != NULL && m->fmp4 && !eof && m->vq.len < 2;
        int video;
        if (v != NULL && a != NULL) {
            video = av_compare_ts(v->dts, m->vtb, a->dts, m->atb) <= 0;
            if (video && vhold) {
                return 0;
            }
        } else if (v != NULL && !vhold && (m->ai < 0 || eof || m->vq.len > CONVERT_MUX_QUEUE_MAX)) {
            video = 1;
        } else if (a != NULL && (eof || m->vi < 0 || m->aq.len > CONVERT_MUX_QUEUE_MAX) &&
                   (!m->follow || eof || a->pts * av_q2d(m->atb) < m->clock ||
                    m->aq.len > CONVERT_MUX_QUEUE_MAX)) {
            video = 0;
        } else {
            return 0;
        }
        if (!video && m->follow && m->aq.len > CONVERT_MUX_QUEUE_MAX) {
            /* The video stopped (or lags this far): cut this audio on the
             * grid from here on, rather than in one long segment. */
            convert_mux_unfollow(m);
        }
        AVPacket *pkt = convert_mux_queue_take(video ? &m->vq : &m->aq);
        if (video && m->fmp4) {
            const AVPacket *next = convert_mux_queue_peek(&m->vq);
            if (next != NULL && next->dts != AV_NOPTS_VALUE && pkt->dts != AV_NOPTS_VALUE &&
                next->dts > pkt->dts) {
                pkt->duration = next->dts - pkt->dts;
            } else if (pkt->duration <= 0) {
                pkt->duration = m->last_vdur;
            }
            m->last_vdur = pkt->duration;
        }
        int ret = convert_mux_write(m, video, pkt, err, errlen);
        av_packet_free(&pkt);
        if (ret < 0) {
            return -1;
        }
    }
}

/*
 * convert_mux_config - the RFC 6381 codecs string of the video from the
 * decoder configuration record the mp4 muxer wrote into the init segment
 * (avcC, hvcC or av1C: what players read), so CODECS states the real
 * bitstream's profile, tier and level.
 */
static void
convert_mux_config(struct convert_mux *m, const uint8_t *d, size_t n)
{
    static const char *const boxes[] = {"avcC", "hvcC", "av1C"};
    const char *box = boxes[m->vc];
    for (size_t i = 0; i + 4 + 13 <= n; i++) {
        if (memcmp(d + i, box, 4) != 0) {
            continue;
        }
        const uint8_t *c = d + i + 4;
        if (m->vc == CONVERT_H264) {
            snprintf(m->vcodec, sizeof(m->vcodec), "avc1.%02x%02x%02x", c[1], c[2], c[3]);
        } else if (m->vc == CONVERT_AV1) {
            /* high_bitdepth, then twelve_bit */
            int depth = (c[2] & 0x40) == 0 ? 8 : (c[2] & 0x20) ? 12 : 10;
            snprintf(m->vcodec, sizeof(m->vcodec), "av01.%d.%02d%c.%02d", c[1] >> 5, c[1] & 0x1f,
                     (c[2] & 0x80) ? 'H' : 'M', depth);
        } else {
            /* ISO/IEC 14496-15 E.3: space, profile, compatibility flags in
             * reverse bit order, tier and level, constraint bytes without
             * the trailing zero ones. */
            uint32_t compat =
                (uint32_t)c[2] << 24 | (uint32_t)c[3] << 16 | (uint32_t)c[4] << 8 | c[5];
            uint32_t rev = 0;
            for (int b = 0; b < 32; b++) {
                rev |= ((compat >> b) & 1u) << (31 - b);
            }
            int space = c[1] >> 6;
            int len = snprintf(m->vcodec, sizeof(m->vcodec), "hvc1.%s%d.%X.%c%d",
                               space == 0   ? ""
                               : space == 1 ? "A"
                               : space == 2 ? "B"
                                            : "C",
                               c[1] & 0x1f, rev, (c[1] & 0x20) ? 'H' : 'L', c[12]);
            int last = 5;
            while (last >= 0 && c[6 + last] == 0) {
                last--;
            }
            for (int k = 0; k <= last && len > 0 && len < (int)sizeof(m->vcodec); k++) {
                len += snprintf(m->vcodec + len, sizeof(m->vcodec) - (size_t)len, ".%X", c[6 + k]);
            }
        }
        return;
    }
}

/*
 * convert_mux_init - fMP4: ftyp+moov into init.mp4 (through .part, then
 * reported like a segment: it must be published before the playlist that
 * names it), the CODECS string read back from it.
 */
static int
convert_mux_init(struct convert_mux *m, char *err, size_t errlen)
{
    char part[PATH_MAX + 32], path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/init.mp4", m->dir);
    snprintf(part, sizeof(part), "%s/init.mp4.part", m->dir);
    int ret = avio_open(&m->oc->pb, part, AVIO_FLAG_WRITE);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: cannot create", part);
    }
    AVDictionary *opt = NULL;
    /* cmaf: its brands; skip_sidx: fragments are moof+mdat only, so the
     * I-frame ranges are whole fragments; skip_trailer: no mfra.
     * frag_discont without edit lists: the first fragment's decode time
     * (tfdt) is the packet's, not shifted to zero, so the media timeline
     * starts at CONVERT_TS_OFFSET as in MPEG-TS and the subtitles'
     * X-TIMESTAMP-MAP holds for both formats. */
    av_dict_set(&opt, "movflags",
                "frag_custom+empty_moov+default_base_moof+cmaf+skip_sidx+skip_trailer+"
                "frag_discont",
                0);
    av_dict_set(&opt, "use_editlist", "0", 0);
    /* Our times are never negative: no shifting them to zero either. */
    m->oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
    ret = avformat_write_header(m->oc, &opt);
    av_dict_free(&opt);
    if (ret >= 0) {
        avio_flush(m->oc->pb);
        ret = m->oc->pb->error;
    }
    int cret = avio_closep(&m->oc->pb);
    if (ret < 0 || cret < 0) {
        unlink(part);
        return convert_err_set(err, errlen, ret < 0 ? ret : cret, "%s: mp4 header", part);
    }
    if (rename(part, path) < 0) {
        int e = errno;
        unlink(part);
        return convert_err_set(err, errlen, AVERROR(e), "%s: rename", part);
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: open", path);
    }
    uint8_t buf[16384]; /* an empty moov: a few hundred bytes */
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct stat st;
    if (stat(path, &st) < 0) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: stat", path);
    }
    if (m->vi >= 0) {
        convert_mux_config(m, buf, n);
        m->have_sps = 1;
    }
    if (m->o->on_segment != NULL) {
        struct convert_segment seg = {
            .rendition = m->name,
            .kind = m->vi >= 0 ? CONVERT_VIDEO : CONVERT_AUDIO,
            .path = path,
            .size = (uint64_t)st.st_size,
            .init = 1,
        };
        m->o->on_segment(m->o->ud, &seg);
    }
    return 0;
}

static int
convert_mux_add(struct convert_mux *m, const AVCodecParameters *par, AVRational tb, char *err,
                size_t errlen)
{
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (st == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s: stream", m->dir);
    }
    int ret = avcodec_parameters_copy(st->codecpar, par);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: stream", m->dir);
    }
    st->codecpar->codec_tag = 0;
    if (m->fmp4 && par->codec_id == AV_CODEC_ID_HEVC) {
        /* hvc1: parameter sets in the init segment only, as Apple requires */
        st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    }
    st->time_base = tb;
    return st->index;
}

int
convert_mux_open(struct convert_mux **out, const struct convert_opts *o, const char *name,
                 const AVCodecParameters *vpar, AVRational vtb, const AVCodecParameters *apar,
                 AVRational atb, double seg_seconds, char *err, size_t errlen)
{
    struct convert_mux *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", o->outdir);
    }
    *out = m;
    m->o = o;
    m->vi = m->ai = -1;
    m->vshift = -1;
    m->vtb = vtb;
    m->atb = atb;
    m->seg_seconds = seg_seconds;
    snprintf(m->name, sizeof(m->name), "%s", name);
    if (snprintf(m->dir, sizeof(m->dir), "%s/%s", o->outdir, name) >= (int)sizeof(m->dir)) {
        return convert_err_set(err, errlen, AVERROR(ENAMETOOLONG), "%s", o->outdir);
    }
    if (mkdir(m->dir, 0755) < 0 && errno != EEXIST) {
        return convert_err_set(err, errlen, AVERROR(errno), "%s: mkdir", m->dir);
    }
    m->fmp4 = o->format == CONVERT_FMP4;
    int ret = avformat_alloc_output_context2(&m->oc, NULL, m->fmp4 ? "mp4" : "mpegts", NULL);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: %s muxer", m->dir,
                               m->fmp4 ? "mp4" : "mpegts");
    }
    if (vpar != NULL && (m->vi = convert_mux_add(m, vpar, vtb, err, errlen)) < 0) {
        return -1;
    }
    if (apar != NULL && (m->ai = convert_mux_add(m, apar, atb, err, errlen)) < 0) {
        return -1;
    }
    if (apar != NULL) {
        /* The object type a player must support: HE-AAC is 5, v2 is 29. */
        int aot = apar->profile == FF_PROFILE_AAC_HE      ? 5
                  : apar->profile == FF_PROFILE_AAC_HE_V2 ? 29
                                                          : 2;
        snprintf(m->acodec, sizeof(m->acodec), "mp4a.40.%d", aot);
    }
    if (vpar != NULL) {
        m->vc = vpar->codec_id == AV_CODEC_ID_HEVC  ? CONVERT_HEVC
                : vpar->codec_id == AV_CODEC_ID_AV1 ? CONVERT_AV1
                                                    : CONVERT_H264;
    }
    if (vpar != NULL && vpar->extradata_size > 0 && m->vc == CONVERT_H264) {
        m->have_sps = convert_mux_sps(m, vpar->extradata, (size_t)vpar->extradata_size);
    }
    m->next_cut = convert_grid_next(0, m->vi >= 0 ? vtb : atb, seg_seconds);
    if (m->fmp4) {
        return convert_mux_init(m, err, errlen) < 0 || convert_mux_begin(m, err, errlen) < 0 ? -1
                                                                                             : 0;
    }
    if (convert_mux_begin(m, err, errlen) < 0) {
        return -1;
    }
    ret = avformat_write_header(m->oc, NULL);
    if (ret < 0) {
        return convert_err_set(err, errlen, ret, "%s: mpegts header", m->dir);
    }
    return 0;
}

/* convert_mux_push - queue a packet (the mux takes it) and write what is due. */
int
convert_mux_push(struct convert_mux *m, int video, AVPacket *pkt, char *err, size_t errlen)
{
    if ((video ? m->vi : m->ai) < 0) {
        av_packet_free(&pkt);
        return 0;
    }
    if (pkt->dts == AV_NOPTS_VALUE) {
        pkt->dts = pkt->pts;
    }
    if (convert_mux_queue_put(video ? &m->vq : &m->aq, pkt) < 0) {
        av_packet_free(&pkt);
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "%s", m->dir);
    }
    return convert_mux_drain(m, 0, err, errlen);
}

/*
 * convert_mux_finish - write what is queued and close the last segment at
 * end. Audio that follows the video keeps a short tail past the video's
 * last frame (the AAC encoder's last frame) in the last segment, but cuts
 * a long one (a video shorter than its audio) on the grid, not as one
 * segment.
 */
int
convert_mux_finish(struct convert_mux *m, double end, char *err, size_t errlen)
{
    if (m->follow && m->aq.len > 0) {
        const AVPacket *last = m->aq.p[(m->aq.head + m->aq.len - 1) % m->aq.cap];
        if (last->pts != AV_NOPTS_VALUE && last->pts * av_q2d(m->atb) > m->clock + m->seg_seconds) {
            convert_mux_unfollow(m);
        }
    }
    if (convert_mux_drain(m, 1, err, errlen) < 0) {
        return -1;
    }
    if (end < m->seg_start) {
        end = m->last_time > m->seg_start ? m->last_time : m->seg_start;
    }
    return convert_mux_end(m, end, 1, err, errlen);
}

void
convert_mux_free(struct convert_mux **mp)
{
    struct convert_mux *m = *mp;
    if (m == NULL) {
        return;
    }
    convert_mux_queue_free(&m->vq);
    convert_mux_queue_free(&m->aq);
    if (m->oc != NULL) {
        if (m->oc->pb != NULL) {
            char part[PATH_MAX + 32];
            avio_closep(&m->oc->pb);
            convert_mux_path(m, m->index, 1, part, sizeof(part));
            unlink(part); /* an unfinished segment is never left behind */
        }
        avformat_free_context(m->oc);
    }
    free(m->segs);
    free(m->keys);
    free(m);
    *mp = NULL;
}

const struct convert_mux_seg *
convert_mux_segments(const struct convert_mux *m, unsigned *n)
{
    *n = m->n_segs;
    return m->segs;
}

/*
 * convert_mux_follow - make an audio-only mux cut where the video cuts:
 * convert_mux_video_cut() at each video segment's start, convert_mux_video
 * _clock() as the video is decoded. For audio renditions beside video.
 */
void
convert_mux_follow(struct convert_mux *m)
{
    m->follow = m->vi < 0;
}

/* convert_mux_video_cut - a video segment starts at t seconds. */
int
convert_mux_video_cut(struct convert_mux *m, double t, char *err, size_t errlen)
{
    if (!m->follow) {
        return 0;
    }
    if (m->cut_len == CONVERT_MUX_CUTS) {
        /* Video this far ahead of the audio: write what waits, in order. */
        m->clock = t;
        if (convert_mux_drain(m, 0, err, errlen) < 0) {
            return -1;
        }
        if (m->cut_len == CONVERT_MUX_CUTS) {
            /* No audio reaches these cuts (the track ended, or has a long
             * gap): forget the oldest; the next audio ends its segment at
             * a later cut. A short track costs nothing of the job. */
            m->cut_head = (m->cut_head + 1) % CONVERT_MUX_CUTS;
            m->cut_len--;
        }
    }
    m->cuts[(m->cut_head + m->cut_len) % CONVERT_MUX_CUTS] = t;
    m->cut_len++;
    return 0;
}

/* convert_mux_unfollow - back to cutting on the grid (the video is gone). */
void
convert_mux_unfollow(struct convert_mux *m)
{
    m->follow = 0;
    m->cut_len = 0;
}

/* convert_mux_video_clock - the video has been decoded up to t seconds. */
int
convert_mux_video_clock(struct convert_mux *m, double t, char *err, size_t errlen)
{
    if (!m->follow || t <= m->clock) {
        return 0;
    }
    m->clock = t;
    return convert_mux_drain(m, 0, err, errlen);
}

const struct convert_mux_key *
convert_mux_keys(const struct convert_mux *m, unsigned *n)
{
    *n = m->n_keys;
    return m->keys;
}

const char *
convert_mux_vcodec(const struct convert_mux *m)
{
    return m->vcodec;
}

const char *
convert_mux_acodec(const struct convert_mux *m)
{
    return m->acodec;
}
