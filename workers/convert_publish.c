/*
 * convert_publish.c - the end of a conversion: subtitle segments on the
 * video's boundaries, every rendition's media playlist, each video
 * rendition's I-frame playlist, then master.m3u8 (last, so a reader never
 * sees a master naming a playlist not yet written), then the caller's
 * result. Part of convert_run(): it never logs, prints or exits.
 */
#include <stdio.h>

#include "workers/convert_int.h"

/* convert_publish_range - VIDEO-RANGE of what the video renditions carry. */
static const char *
convert_publish_range(const struct convert_job *j)
{
    if (!j->copy) {
        return "SDR"; /* 8-bit, HDR inputs tone-mapped (convert_video.c) */
    }
    enum AVColorTransferCharacteristic trc = j->in.vst->codecpar->color_trc;
    return trc == AVCOL_TRC_SMPTE2084 ? "PQ" : trc == AVCOL_TRC_ARIB_STD_B67 ? "HLG" : "SDR";
}

/* convert_publish_result - one rendition into the caller's result. */
static void
convert_publish_result(struct convert_result *res, const char *name, enum convert_kind kind)
{
    if (res != NULL && res->n_renditions < CONVERT_MAX_RENDITIONS) {
        snprintf(res->renditions[res->n_renditions], CONVERT_NAME_MAX, "%s", name);
        res->kinds[res->n_renditions++] = kind;
    }
}

/*
 * convert_publish - subtitle segments (on the video's boundaries), every
 * rendition's media playlist and each video rendition's I-frame playlist,
 * then the master, then the result.
 */
int
convert_publish(struct convert_job *j, struct convert_result *res, char *err, size_t errlen)
{
    struct convert_variant v[CONVERT_MAX_RENDITIONS];
    char vcodecs[CONVERT_MAX_LADDER][80];
    int fmp4 = j->o->format == CONVERT_FMP4;
    int n = 0;
    for (int i = 0; i < j->n; i++) {
        const char *ac = convert_mux_acodec(j->mux[i]);
        snprintf(vcodecs[i], sizeof(vcodecs[i]), "%s%s%s", convert_mux_vcodec(j->mux[i]),
                 ac[0] != '\0' ? "," : "", ac);
        v[n] = (struct convert_variant){
            .kind = CONVERT_VIDEO,
            .name = j->r[i].name,
            .ext = fmp4 ? "m4s" : "ts",
            .map = fmp4 ? "init.mp4" : NULL,
            .codecs = vcodecs[i],
            .width = j->r[i].width,
            .height = j->r[i].height,
            .fps = av_q2d(j->in.fps),
            .range = convert_publish_range(j),
        };
        v[n].segs = convert_mux_segments(j->mux[i], &v[n].n_segs);
        v[n].keys = convert_mux_keys(j->mux[i], &v[n].n_keys);
        n++;
    }
    for (int k = 0; k < j->na; k++) {
        const struct convert_aout *a = &j->aout[k];
        if (a->mux == NULL) {
            continue; /* muxed into the video renditions */
        }
        v[n] = (struct convert_variant){
            .kind = CONVERT_AUDIO,
            .name = a->name,
            .ext = fmp4 ? "m4s" : "ts",
            .map = fmp4 ? "init.mp4" : NULL,
            .codecs = convert_mux_acodec(a->mux),
            .group = a->group,
            .language = a->language,
            .label = a->label,
            .channels = a->channels,
            .is_default = a->is_default,
        };
        v[n].segs = convert_mux_segments(a->mux, &v[n].n_segs);
        n++;
    }
    /* Subtitles follow the first rendition's boundaries: the video's, or the main audio's. */
    if (convert_subs_count(j->subs) > 0) {
        if (convert_subs_write(j->subs, j->o, v[0].segs, v[0].n_segs, err, errlen) < 0) {
            return -1;
        }
        for (int i = 0; i < convert_subs_count(j->subs); i++) {
            convert_subs_variant(j->subs, i, &v[n++]);
        }
    }
    for (int i = 0; i < n; i++) {
        if (convert_playlist_media(j->o->outdir, &v[i], err, errlen) < 0 ||
            (v[i].kind == CONVERT_VIDEO &&
             convert_playlist_iframes(j->o->outdir, &v[i], err, errlen) < 0)) {
            return -1;
        }
    }
    struct convert_master how = {.first = j->o->first_variant, .captions = -1};
    if (j->in.vdec != NULL) {
        how.captions = (j->in.vdec->properties & FF_CODEC_PROPERTY_CLOSED_CAPTIONS) != 0;
    }
    if (convert_playlist_master(j->o->outdir, v, n, &how, err, errlen) < 0) {
        return -1;
    }
    if (res != NULL) {
        for (int i = 0; i < n; i++) {
            convert_publish_result(res, v[i].name, v[i].kind);
        }
        res->duration = 0;
        for (unsigned k = 0; k < v[0].n_segs; k++) {
            res->duration += v[0].segs[k].duration;
        }
        snprintf(res->notes, sizeof(res->notes), "%s", j->in.skipped);
    }
    return 0;
}