/*
 * storage_mime.c - the Content-Type of an object, from its key's extension.
 * HLS players check it (Safari refuses a playlist served as text/plain), so
 * the HLS types come first and are exact.
 */
#include <string.h>
#include <strings.h>

#include "workers/storage_impl.h"

static const struct {
    const char *ext, *type;
} storage_mime_table[] = {
    {".m3u8", "application/vnd.apple.mpegurl"},
    {".ts", "video/mp2t"},
    {".m4s", "video/mp4"}, /* CMAF segments; audio renditions' too (see below) */
    {".mp4", "video/mp4"},
    {".m4a", "audio/mp4"},
    {".aac", "audio/aac"},
    {".vtt", "text/vtt"},
    {".webvtt", "text/vtt"},
    {".jpg", "image/jpeg"},
    {".png", "image/png"},
    {".json", "application/json"},
};

/* storage_mime_audio - is key in an audio rendition's folder (.../audio_en/,
 * .../audio/): its fMP4 segments and init segment are audio/mp4 */
static int
storage_mime_audio(const char *key, const char *slash)
{
    const char *dir = slash;
    while (dir > key && dir[-1] != '/')
        dir--;
    return slash - dir >= 5 && strncmp(dir, "audio", 5) == 0 && (slash - dir == 5 || dir[5] == '_');
}

const char *
storage_mime_type(const char *key)
{
    const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');

    if (dot != NULL && slash != NULL && dot > slash &&
        (strcasecmp(dot, ".m4s") == 0 || strcasecmp(dot, ".mp4") == 0) &&
        storage_mime_audio(key, slash))
        return "audio/mp4";
    if (dot != NULL && (slash == NULL || dot > slash)) {
        for (size_t i = 0; i < sizeof(storage_mime_table) / sizeof(storage_mime_table[0]); i++)
            if (strcasecmp(dot, storage_mime_table[i].ext) == 0)
                return storage_mime_table[i].type;
    }
    return "application/octet-stream";
}
