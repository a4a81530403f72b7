/*
 * convert_copy.c - the "copy" ladder's gate: an input whose streams a
 * player can take as they are (H.264 8-bit 4:2:0, AAC) is remuxed into one
 * rendition without decoding; anything else is refused with the reason,
 * rather than silently re-encoded, because the caller asked for speed.
 *
 * Segments are cut on the source's own keyframes, so their lengths follow
 * the source's GOP and may exceed the target when keyframes are sparse.
 */
#include <libavutil/pixdesc.h>

#include "workers/convert_int.h"

int
convert_copy_check(const struct convert_input *in, char *err, size_t errlen)
{
    if (in->vst != NULL) {
        const AVCodecParameters *p = in->vst->codecpar;
        int fmt_ok = p->format == AV_PIX_FMT_YUV420P || p->format == AV_PIX_FMT_YUVJ420P;
        if (p->codec_id != AV_CODEC_ID_H264 || !fmt_ok) {
            const char *pf = av_get_pix_fmt_name(p->format);
            return convert_err_set(err, errlen, 0,
                                   "%s: the copy ladder needs H.264 8-bit 4:2:0 video, not %s %s",
                                   in->path, avcodec_get_name(p->codec_id),
                                   pf != NULL ? pf : "(unknown pixel format)");
        }
        if (in->rotation != 0) {
            return convert_err_set(err, errlen, 0,
                                   "%s: the copy ladder cannot apply the %.0f degree rotation "
                                   "of the display matrix",
                                   in->path, in->rotation);
        }
    }
    if (in->na > 0 && in->audio[0].st->codecpar->codec_id != AV_CODEC_ID_AAC) {
        return convert_err_set(err, errlen, 0, "%s: the copy ladder needs AAC audio, not %s",
                               in->path, avcodec_get_name(in->audio[0].st->codecpar->codec_id));
    }
    return 0;
}
