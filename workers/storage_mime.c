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
    {".m4s", "video/iso.segment"},
    {".mp4", "video/mp4"},
    {".m4a", "audio/mp4"},
    {".aac", "audio/aac"},
    {".vtt", "text/vtt"},
    {".webvtt", "text/vtt"},
    {".jpg", "image/jpeg"},
    {".png", "image/png"},
    {".json", "application/json"},
};

const char *
storage_mime_type(const char *key)
{
    const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');

    if (dot != NULL && (slash == NULL || dot > slash)) {
        for (size_t i = 0; i < sizeof(storage_mime_table) / sizeof(storage_mime_table[0]); i++)
            if (strcasecmp(dot, storage_mime_table[i].ext) == 0)
                return storage_mime_table[i].type;
    }
    return "application/octet-stream";
}
