/*
 * convert_fixtures.c - see convert_fixtures.h. Parsing is deliberately
 * independent of workers/convert_playlist.c: it reads the files as a player
 * would and reports what is wrong instead of trusting the writer.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/display.h>

#include "tests/convert_fixtures.h"
#include "tests/fix.h"

/* the scratch directory, the shell and ffmpeg are the shared fixtures'
 * (tests/fix.h); these names stay for the conversion suites */
const char *
convert_fixtures_tmp(void)
{
    return fix_tmp();
}

char *
convert_fixtures_path(const char *name)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", fix_tmp(), name);
    return strdup(buf);
}

int
convert_fixtures_sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fix_vsh(NULL, 0, fmt, ap);
    va_end(ap);
    return rc;
}

char *
convert_fixtures_make(const char *name, const char *args)
{
    return fix_ffmpeg(name, args);
}

/* convert_fixtures_attr - the value of NAME= in an attribute list. */
static int
convert_fixtures_attr(const char *line, const char *name, char *val, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = line; (p = strstr(p, name)) != NULL; p += nl) {
        if ((p != line && p[-1] != ',' && p[-1] != ':') || p[nl] != '=') {
            continue;
        }
        const char *v = p + nl + 1;
        size_t n = 0;
        if (*v == '"') {
            v++;
            while (v[n] != '\0' && v[n] != '"') {
                n++;
            }
        } else {
            while (v[n] != '\0' && v[n] != ',' && v[n] != '\n') {
                n++;
            }
        }
        if (n >= len) {
            return 0;
        }
        memcpy(val, v, n);
        val[n] = '\0';
        return 1;
    }
    return 0;
}

/* convert_fixtures_open - a playlist for reading, or NULL with why set */
static FILE *
convert_fixtures_open(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        snprintf(why, whylen, "%s: cannot open", path);
    return f;
}

int
convert_fixtures_media(const char *path, struct convert_fixtures_media *m, char *why, size_t whylen)
{
    memset(m, 0, sizeof(*m));
    m->media_sequence = -1;
    long long rlen = -1, roff = -1;
    FILE *f = convert_fixtures_open(path, why, whylen);
    if (f == NULL)
        return -1;
    char line[1024];
    int lineno = 0, pending = 0;
    double dur = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        lineno++;
        if (lineno == 1 && strcmp(line, "#EXTM3U") != 0) {
            snprintf(why, whylen, "%s: first line is not #EXTM3U", path);
            fclose(f);
            return -1;
        }
        if (sscanf(line, "#EXT-X-VERSION:%d", &m->version) == 1 ||
            sscanf(line, "#EXT-X-TARGETDURATION:%ld", &m->target) == 1 ||
            sscanf(line, "#EXT-X-MEDIA-SEQUENCE:%d", &m->media_sequence) == 1) {
            continue;
        }
        if (strcmp(line, "#EXT-X-PLAYLIST-TYPE:VOD") == 0) {
            m->vod = 1;
        } else if (strcmp(line, "#EXT-X-INDEPENDENT-SEGMENTS") == 0) {
            m->independent = 1;
        } else if (strcmp(line, "#EXT-X-ENDLIST") == 0) {
            m->endlist = 1;
        } else if (strcmp(line, "#EXT-X-I-FRAMES-ONLY") == 0) {
            m->iframes_only = 1;
        } else if (sscanf(line, "#EXT-X-BYTERANGE:%lld@%lld", &rlen, &roff) == 2) {
            continue;
        } else if (strncmp(line, "#EXT-X-MAP:URI=\"", 16) == 0) {
            snprintf(m->map, sizeof(m->map), "%.*s", (int)strcspn(line + 16, "\""), line + 16);
        } else if (sscanf(line, "#EXTINF:%lf,", &dur) == 1) {
            pending = 1;
        } else if (line[0] != '#' && line[0] != '\0') {
            if (!pending || m->n >= CONVERT_FIXTURES_MAX_SEGS || m->endlist) {
                snprintf(why, whylen, "%s:%d: URI without EXTINF or after ENDLIST", path, lineno);
                fclose(f);
                return -1;
            }
            m->extinf[m->n] = dur;
            m->range_len[m->n] = rlen;
            m->range_off[m->n] = roff;
            rlen = roff = -1;
            snprintf(m->uri[m->n], sizeof(m->uri[0]), "%.63s", line);
            m->sum += dur;
            m->n++;
            pending = 0;
        }
    }
    fclose(f);
    if (pending || m->n == 0) {
        snprintf(why, whylen, "%s: %s", path, m->n == 0 ? "no segments" : "EXTINF without URI");
        return -1;
    }
    return 0;
}

int
convert_fixtures_master(const char *path, struct convert_fixtures_variant *v, int max, char *why,
                        size_t whylen)
{
    FILE *f = convert_fixtures_open(path, why, whylen);
    if (f == NULL)
        return -1;
    char line[2048], val[256];
    int n = 0, pending = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "#EXT-X-STREAM-INF:", 18) == 0) {
            if (n >= max) {
                break;
            }
            memset(&v[n], 0, sizeof(v[n]));
            const char *a = line + 18;
            v[n].bandwidth =
                convert_fixtures_attr(a, "BANDWIDTH", val, sizeof(val)) ? atol(val) : -1;
            v[n].average =
                convert_fixtures_attr(a, "AVERAGE-BANDWIDTH", val, sizeof(val)) ? atol(val) : -1;
            convert_fixtures_attr(a, "CODECS", v[n].codecs, sizeof(v[n].codecs));
            if (convert_fixtures_attr(a, "RESOLUTION", val, sizeof(val))) {
                sscanf(val, "%dx%d", &v[n].width, &v[n].height);
            }
            if (convert_fixtures_attr(a, "FRAME-RATE", val, sizeof(val))) {
                v[n].fps = atof(val);
            }
            convert_fixtures_attr(a, "AUDIO", v[n].audio, sizeof(v[n].audio));
            convert_fixtures_attr(a, "SUBTITLES", v[n].subtitles, sizeof(v[n].subtitles));
            convert_fixtures_attr(a, "CLOSED-CAPTIONS", v[n].cc, sizeof(v[n].cc));
            convert_fixtures_attr(a, "VIDEO-RANGE", v[n].range, sizeof(v[n].range));
            pending = 1;
        } else if (pending && line[0] != '#' && line[0] != '\0') {
            snprintf(v[n].uri, sizeof(v[n].uri), "%.63s", line);
            n++;
            pending = 0;
        }
    }
    fclose(f);
    if (n == 0 || pending) {
        snprintf(why, whylen, "%s: no complete variant", path);
        return -1;
    }
    return n;
}

/* convert_fixtures_tagged - the attributes of f's next line starting with tag, or NULL. */
static const char *
convert_fixtures_tagged(FILE *f, const char *tag, char *line, size_t len)
{
    size_t tl = strlen(tag);
    while (fgets(line, (int)len, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, tag, tl) == 0) {
            return line + tl;
        }
    }
    return NULL;
}

int
convert_fixtures_renditions(const char *path, struct convert_fixtures_rendition *r, int max,
                            char *why, size_t whylen)
{
    FILE *f = convert_fixtures_open(path, why, whylen);
    if (f == NULL)
        return -1;
    char line[2048], val[64];
    const char *a;
    int n = 0;
    while (n < max && (a = convert_fixtures_tagged(f, "#EXT-X-MEDIA:", line, sizeof(line)))) {
        struct convert_fixtures_rendition *x = &r[n++];
        memset(x, 0, sizeof(*x));
        convert_fixtures_attr(a, "TYPE", x->type, sizeof(x->type));
        convert_fixtures_attr(a, "GROUP-ID", x->group, sizeof(x->group));
        convert_fixtures_attr(a, "NAME", x->name, sizeof(x->name));
        convert_fixtures_attr(a, "LANGUAGE", x->language, sizeof(x->language));
        convert_fixtures_attr(a, "CHANNELS", x->channels, sizeof(x->channels));
        convert_fixtures_attr(a, "URI", x->uri, sizeof(x->uri));
        x->is_default =
            convert_fixtures_attr(a, "DEFAULT", val, sizeof(val)) && !strcmp(val, "YES");
        x->autoselect =
            convert_fixtures_attr(a, "AUTOSELECT", val, sizeof(val)) && !strcmp(val, "YES");
        x->forced = convert_fixtures_attr(a, "FORCED", val, sizeof(val)) && !strcmp(val, "YES");
    }
    fclose(f);
    return n;
}

int
convert_fixtures_iframes(const char *path, struct convert_fixtures_variant *v, int max, char *why,
                         size_t whylen)
{
    FILE *f = convert_fixtures_open(path, why, whylen);
    if (f == NULL)
        return -1;
    char line[2048], val[64];
    const char *a;
    int n = 0;
    while (n < max &&
           (a = convert_fixtures_tagged(f, "#EXT-X-I-FRAME-STREAM-INF:", line, sizeof(line)))) {
        struct convert_fixtures_variant *x = &v[n++];
        memset(x, 0, sizeof(*x));
        x->bandwidth = convert_fixtures_attr(a, "BANDWIDTH", val, sizeof(val)) ? atol(val) : -1;
        convert_fixtures_attr(a, "CODECS", x->codecs, sizeof(x->codecs));
        if (convert_fixtures_attr(a, "RESOLUTION", val, sizeof(val))) {
            sscanf(val, "%dx%d", &x->width, &x->height);
        }
        convert_fixtures_attr(a, "VIDEO-RANGE", x->range, sizeof(x->range));
        convert_fixtures_attr(a, "URI", x->uri, sizeof(x->uri));
    }
    fclose(f);
    return n;
}

/* convert_fixtures_copy - append bytes [off, off+len) of path (len < 0: to its end) to out. */
static int
convert_fixtures_copy(FILE *out, const char *path, long long off, long long len)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL || fseek(in, off, SEEK_SET) != 0) {
        if (in != NULL) {
            fclose(in);
        }
        return -1;
    }
    char buf[65536];
    long long left = len;
    int rc = 0;
    while (len < 0 || left > 0) {
        size_t want = len < 0 || left > (long long)sizeof(buf) ? sizeof(buf) : (size_t)left;
        size_t got = fread(buf, 1, want, in);
        if (got == 0) {
            rc = len < 0 ? 0 : -1;
            break;
        }
        if (fwrite(buf, 1, got, out) != got) {
            rc = -1;
            break;
        }
        left -= (long long)got;
    }
    fclose(in);
    return rc;
}

char *
convert_fixtures_join(const char *init, const char *seg, long long off, long long len)
{
    char *part = convert_fixtures_path("join");
    static int seq;
    char tmp[4200];
    const char *dot = strrchr(seg, '.');
    /* the segment's own extension, a hint for the demuxer; .mp4 after an init */
    snprintf(tmp, sizeof(tmp), "%s.%d.%d%s", part, (int)getpid(), seq++,
             init != NULL                     ? ".mp4"
             : dot != NULL && strlen(dot) < 6 ? dot
                                              : "");
    free(part);
    FILE *out = fopen(tmp, "wb");
    if (out == NULL) {
        return NULL;
    }
    int rc = (init != NULL ? convert_fixtures_copy(out, init, 0, -1) : 0) == 0 &&
                     convert_fixtures_copy(out, seg, off, len) == 0
                 ? 0
                 : -1;
    if (fclose(out) != 0 || rc < 0) {
        unlink(tmp);
        return NULL;
    }
    return strdup(tmp);
}

int
convert_fixtures_range_frames(const char *path, const char *init, long long off, long long len,
                              int *keys)
{
    char *joined = convert_fixtures_join(init, path, off, len);
    if (joined == NULL) {
        return -1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s", joined);
    free(joined);
    /* Decode what the range holds, as a player given only those bytes would. */
    char cmd[8600];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams v:0 -show_entries frame=key_frame -of csv=p=0 '%s'",
             tmp);
    FILE *p = popen(cmd, "r");
    int frames = 0;
    *keys = 0;
    char line[64];
    while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
        if (line[0] == '0' || line[0] == '1') { /* side data adds lines of its own */
            frames++;
            *keys += line[0] == '1';
        }
    }
    int st = p != NULL ? pclose(p) : -1;
    unlink(tmp);
    return st == 0 ? frames : -1;
}

int
convert_fixtures_probe(const char *path, struct convert_fixtures_seg *s)
{
    memset(s, 0, sizeof(*s));
    if (av_log_get_level() > AV_LOG_ERROR) {
        av_log_set_level(AV_LOG_ERROR); /* no decoder banners (libdav1d's) in the test log */
    }
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) {
        return -1;
    }
    if (avformat_find_stream_info(fmt, NULL) < 0) {
        avformat_close_input(&fmt);
        return -1;
    }
    int vi = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVCodecParameters *p = fmt->streams[i]->codecpar;
        if (p->codec_type == AVMEDIA_TYPE_VIDEO) {
            vi = (int)i;
            s->has_video = 1;
            s->vcodec = p->codec_id;
            s->width = p->width;
            s->height = p->height;
            s->pix_fmt = p->format;
            s->profile = p->profile;
            s->level = p->level;
        } else if (p->codec_type == AVMEDIA_TYPE_AUDIO) {
            s->has_audio = 1;
            s->acodec = p->codec_id;
            s->channels = p->ch_layout.nb_channels;
            s->sample_rate = p->sample_rate;
            s->aac_profile = p->profile;
        }
    }
    /* find_stream_info has read ahead: reopen to see packets from the start. */
    avformat_close_input(&fmt);
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) {
        return -1;
    }
    vi = -1;
    int ai = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            vi = (int)i;
        } else if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
            ai = (int)i;
        }
    }
    AVPacket *pkt = av_packet_alloc();
    int first = 1, first_audio = 1;
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == ai && first_audio && pkt->pts != AV_NOPTS_VALUE) {
            s->first_audio_pts = pkt->pts * av_q2d(fmt->streams[ai]->time_base);
            first_audio = 0;
        }
        if (pkt->stream_index == vi) {
            double t = pkt->pts * av_q2d(fmt->streams[vi]->time_base);
            if (first) {
                s->first_video_key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
                s->first_video_pts = t;
                first = 0;
            }
            if ((pkt->flags & AV_PKT_FLAG_KEY) && s->n_keys < CONVERT_FIXTURES_MAX_KEYS) {
                s->keys[s->n_keys++] = t;
            }
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return 0;
}

int
convert_fixtures_input(const char *path, double *duration, int *w, int *h, double *fps)
{
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) {
        return -1;
    }
    if (avformat_find_stream_info(fmt, NULL) < 0) {
        avformat_close_input(&fmt);
        return -1;
    }
    *duration = fmt->duration / (double)AV_TIME_BASE;
    *w = *h = 0;
    *fps = 0;
    int v = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (v >= 0) {
        AVStream *st = fmt->streams[v];
        *w = st->codecpar->width;
        *h = st->codecpar->height;
        const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
        if (m != NULL && fabs(fabs(av_display_rotation_get((const int32_t *)m)) - 90) < 1) {
            int t = *w;
            *w = *h;
            *h = t;
        }
        *fps = av_q2d(av_guess_frame_rate(fmt, st, NULL));
    }
    avformat_close_input(&fmt);
    return 0;
}

/* convert_fixtures_gray - first frame of path as 24x32 gray bytes, via the CLI. */
static int
convert_fixtures_gray(const char *path, int autorotate, unsigned char *buf, size_t len)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error %s -i '%s' -frames:v 1 -vf scale=24:32 -f rawvideo "
             "-pix_fmt gray -",
             autorotate ? "" : "-noautorotate", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, len, p);
    int st = pclose(p);
    return n == len && st == 0 ? 0 : -1;
}

double
convert_fixtures_picdiff(const char *a, const char *b, int autorotate_a)
{
    unsigned char x[24 * 32], y[24 * 32];
    if (convert_fixtures_gray(a, autorotate_a, x, sizeof(x)) < 0 ||
        convert_fixtures_gray(b, 1, y, sizeof(y)) < 0) {
        return 1e9;
    }
    double d = 0;
    for (size_t i = 0; i < sizeof(x); i++) {
        d += abs((int)x[i] - (int)y[i]);
    }
    return d / sizeof(x);
}
