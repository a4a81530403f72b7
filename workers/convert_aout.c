/*
 * convert_aout.c - the audio renditions of one conversion: which tracks
 * become which renditions (stereo, 5.1, muxed or in their own group), the
 * decoded audio frames to their encoders, and the video's cuts to the
 * audio renditions' segmenters so that every rendition cuts at the same
 * instants. Part of convert_run(): it never logs, prints or exits.
 */
#include <stdio.h>
#include <string.h>

#include "workers/convert_int.h"

/*
 * convert_aout_plan - the audio renditions: muxed, the main track in
 * stereo; otherwise every kept track in stereo and each surround track
 * also in 5.1, all in one group "aac". The stereo rendition of the input's
 * default track (its disposition, else the main one) is the DEFAULT.
 *
 * One group, not a group per channel count with every variant listed once
 * per group as Apple's examples do: hls.js moves between variants as its
 * bandwidth estimate moves, and across such groups that would switch the
 * audio between stereo and 5.1 under the viewer. In one group, 5.1 is a
 * track a player or a viewer picks (CHANNELS="6"), never one a bandwidth
 * switch picks.
 */
void
convert_aout_plan(struct convert_job *j, int muxed)
{
    const struct convert_input *in = &j->in;
    int def = 0;
    for (int t = 0; t < in->na; t++) {
        if (in->audio[t].st->disposition & AV_DISPOSITION_DEFAULT) {
            def = t;
            break;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < (muxed ? 1 : in->na); t++) {
            const AVStream *st = in->audio[t].st;
            if (pass == 1 && (muxed || st->codecpar->ch_layout.nb_channels < 6)) {
                continue;
            }
            struct convert_aout *a = &j->aout[j->na++];
            a->track = t;
            a->channels = pass == 1 ? 6 : 2;
            a->group = muxed ? NULL : "aac";
            a->is_default = t == def && pass == 0;
            char name[64];
            const AVDictionaryEntry *e = av_dict_get(st->metadata, "language", NULL, 0);
            convert_lang_tag(e != NULL ? e->value : NULL, a->language, sizeof(a->language), name,
                             sizeof(name));
            e = av_dict_get(st->metadata, "title", NULL, 0);
            char fallback[32];
            snprintf(fallback, sizeof(fallback), "Audio %d", t + 1);
            convert_lang_label(a->label, sizeof(a->label),
                               e != NULL && e->value[0] != '\0' ? e->value
                               : name[0] != '\0'                ? name
                               : in->na > 1                     ? fallback
                                                                : "Audio",
                               pass == 1 ? " (5.1)" : "");
            /* unique among the renditions before this one */
            struct convert_lang_set labels = {j->aout[0].label, sizeof(j->aout[0]), j->na - 1};
            struct convert_lang_set names = {j->aout[0].name, sizeof(j->aout[0]), j->na - 1};
            convert_lang_unique(a->label, sizeof(a->label), &labels);
            convert_lang_name(a->name, "audio", a->language, pass == 1 ? "_51" : "", &names);
        }
    }
}

/* convert_aout_push - a decoded frame of audio track t (NULL: flush) to its renditions. */
int
convert_aout_push(struct convert_job *j, int t, AVFrame *f, char *err, size_t errlen)
{
    for (int k = 0; k < j->na; k++) {
        struct convert_aout *a = &j->aout[k];
        if (a->track != t && t >= 0) {
            continue;
        }
        struct convert_mux **to = a->mux != NULL ? &a->mux : j->mux;
        if (convert_audio_push(a->enc, f, to, a->mux != NULL ? 1 : j->n, err, errlen) < 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * convert_aout_cuts - tell the audio renditions where the video cuts and
 * how far it is decoded. A video segment starts at the first frame at or
 * after each multiple of the segment length (the frame convert_video.c
 * forces to be a keyframe and convert_mux.c cuts before), so the audio's
 * segments start with the first AAC frame at or after the same instants.
 */
int
convert_aout_cuts(struct convert_job *j, const AVFrame *f, char *err, size_t errlen)
{
    if (f->pts == AV_NOPTS_VALUE) {
        return 0;
    }
    AVRational tb = j->in.vst->time_base;
    double t = f->pts * av_q2d(tb);
    int cut = f->pts >= j->vcut;
    if (cut) {
        j->vcut = convert_grid_next(f->pts, tb, j->seg);
    }
    for (int k = 0; k < j->na; k++) {
        struct convert_mux *m = j->aout[k].mux;
        if (m != NULL && ((cut && convert_mux_video_cut(m, t, err, errlen) < 0) ||
                          convert_mux_video_clock(m, t, err, errlen) < 0)) {
            return -1;
        }
    }
    return 0;
}
