/*
 * test_storage_units.c - the storage helpers and the retry timing, without a
 * server: URL parsing, key checks and encoding, content types, digests,
 * failure classification, Retry-After, back-off. Edge cases first.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "workers/backoff.h"
#include "workers/storage_impl.h"

Test(storage_loc, parses_and_refuses)
{
    static const struct {
        const char *url;
        int ok;
        enum storage_kind kind;
        const char *path, *bucket, *prefix;
    } t[] = {
        {"", 0, 0, "", "", ""},
        {"file://", 0, 0, "", "", ""},
        {"file://relative/dir", 0, 0, "", "", ""},
        {"http://example.com/x", 0, 0, "", "", ""},
        {"s3://", 0, 0, "", "", ""},
        {"s3://ab", 0, 0, "", "", ""},           /* bucket too short */
        {"s3://bad bucket/x", 0, 0, "", "", ""}, /* space */
        {"s3://b/../x", 0, 0, "", "", ""},
        {"s3://bucket/a/../b", 0, 0, "", "", ""},
        {"file:///", 1, STORAGE_FILE, "/", "", ""},
        {"file:///srv/hls///", 1, STORAGE_FILE, "/srv/hls", "", ""},
        {"file://localhost/srv/hls", 1, STORAGE_FILE, "/srv/hls", "", ""},
        {"s3://bucket", 1, STORAGE_S3, "", "bucket", ""},
        {"s3://bucket/", 1, STORAGE_S3, "", "bucket", ""},
        {"s3://my.bucket-1/videos/vod/", 1, STORAGE_S3, "", "my.bucket-1", "videos/vod"},
        {"s3://bucket//lead", 1, STORAGE_S3, "", "bucket", "lead"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct storage_loc loc;
        char err[256] = "";
        int rc = storage_loc_parse(t[i].url, &loc, err, sizeof(err));

        cr_assert_eq(rc == 0, t[i].ok, "%s: rc %d (%s)", t[i].url, rc, err);
        if (!t[i].ok) {
            cr_assert(strstr(err, "storage URL") != NULL, "%s: no message", t[i].url);
            continue;
        }
        cr_assert_eq(loc.kind, t[i].kind, "%s", t[i].url);
        cr_assert_str_eq(loc.path, t[i].path, "%s", t[i].url);
        cr_assert_str_eq(loc.bucket, t[i].bucket, "%s", t[i].url);
        cr_assert_str_eq(loc.prefix, t[i].prefix, "%s", t[i].url);
    }
}

Test(storage_key, check)
{
    static const struct {
        const char *key;
        int ok;
    } t[] = {
        {"", 0},        {"/abs", 0},    {"a//b", 0},     {"a/", 0},       {".", 0},
        {"..", 0},      {"a/./b", 0},   {"a/../b", 0},   {"../x", 0},     {"a\nb", 0},
        {"a\\b", 0},    {"a\x7f", 0},   {"a", 1},        {"a/b/c.ts", 1}, {"...", 1},
        {".hidden", 1}, {"a b+c=d", 1}, {"\xc3\xa9", 1}, {"x..y/z", 1},   {"100%", 1},
    };
    char big[STORAGE_KEY_MAX + 2];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        cr_assert_eq(storage_key_check(t[i].key) == 0, t[i].ok, "key [%s]", t[i].key);
    cr_assert_eq(storage_key_check(NULL), -1);
    memset(big, 'k', sizeof(big));
    big[STORAGE_KEY_MAX] = '\0';
    cr_assert_eq(storage_key_check(big), 0, "exactly the maximum");
    big[STORAGE_KEY_MAX] = 'k';
    big[STORAGE_KEY_MAX + 1] = '\0';
    cr_assert_eq(storage_key_check(big), -1, "one over the maximum");
}

Test(storage_key, encode)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"", ""},
        {"plain/Key-1._~", "plain/Key-1._~"},
        {"a b", "a%20b"},
        {"a+b=c", "a%2Bb%3Dc"},
        {"100%", "100%25"},
        {"\xc3\xa9", "%C3%A9"},
        {"q?x#y&z", "q%3Fx%23y%26z"},
        {"*'()!;,$@:", "%2A%27%28%29%21%3B%2C%24%40%3A"},
    };
    char out[64], tiny[4];

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cr_assert_eq(storage_key_encode(t[i].in, out, sizeof(out)), 0);
        cr_assert_str_eq(out, t[i].out, "[%s]", t[i].in);
    }
    cr_assert_eq(storage_key_encode("abcd", tiny, sizeof(tiny)), -1, "no room for the NUL");
    cr_assert_eq(storage_key_encode("ab ", tiny, sizeof(tiny)), -1, "no room for %%20");
    cr_assert_eq(storage_key_encode("abc", tiny, sizeof(tiny)), 0);
}

Test(storage_key, join)
{
    char out[16];

    cr_assert_eq(storage_key_join("", "k", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "k");
    cr_assert_eq(storage_key_join("p/q", "k", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "p/q/k");
    cr_assert_eq(storage_key_join("0123456789", "abcde", out, sizeof(out)), -1);
}

Test(storage_mime, types)
{
    static const struct {
        const char *key, *type;
    } t[] = {
        {"a/master.m3u8", "application/vnd.apple.mpegurl"},
        {"a/INDEX.M3U8", "application/vnd.apple.mpegurl"},
        {"a/seg_00001.ts", "video/mp2t"},
        {"a/init.mp4", "video/mp4"},
        {"a/seg.m4s", "video/mp4"},
        {"job/720p_av1/seg_00003.m4s", "video/mp4"},
        {"job/audio_en/seg_00003.m4s", "audio/mp4"},
        {"job/audio/init.mp4", "audio/mp4"},
        {"audio_fr_51/init.mp4", "audio/mp4"},
        {"job/audiobook/seg_00000.m4s", "video/mp4"},
        {"job/audio_en/index.m3u8", "application/vnd.apple.mpegurl"},
        {"subs.vtt", "text/vtt"},
        {"noext", "application/octet-stream"},
        {"dir.ts/noext", "application/octet-stream"},
        {"a.tsx", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        cr_assert_str_eq(storage_mime_type(t[i].key), t[i].type, "%s", t[i].key);
}

Test(storage_digest, known_vectors)
{
    struct storage_digest d;
    unsigned char buf[7]; /* smaller than the input: exercises the loop */
    FILE *f = tmpfile();

    cr_assert_eq(storage_digest_mem("", 0, &d), 0);
    cr_assert_str_eq(d.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
    cr_assert_str_eq(d.md5_b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
    cr_assert_str_eq(d.sha256_hex,
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cr_assert_eq(d.size, 0);

    cr_assert_not_null(f);
    fputs("The quick brown fox jumps over the lazy dog", f);
    fflush(f);
    cr_assert_eq(storage_digest_fd(fileno(f), buf, sizeof(buf), &d), 0);
    cr_assert_eq(d.size, 43);
    cr_assert_str_eq(d.md5_hex, "9e107d9d372bb6826bd81d3542a419d6");
    cr_assert_str_eq(d.md5_b64, "nhB9nTcrtoJr2B01QqQZ1g==");
    cr_assert_str_eq(d.sha256_hex,
                     "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
    fclose(f);
    cr_assert_eq(storage_digest_fd(-1, buf, sizeof(buf), &d), -1, "a bad fd fails");
}

Test(storage_classify, http)
{
    static const struct {
        long status;
        const char *code;
        enum storage_class cls;
    } t[] = {
        {200, "", STORAGE_OK},
        {204, NULL, STORAGE_OK},
        {0, "", STORAGE_RETRYABLE},
        {301, "PermanentRedirect", STORAGE_PERMANENT},
        {400, "InvalidArgument", STORAGE_PERMANENT},
        {400, "BadDigest", STORAGE_RETRYABLE},
        {400, "XAmzContentSHA256Mismatch", STORAGE_RETRYABLE},
        {400, "RequestTimeout", STORAGE_RETRYABLE},
        {403, "SignatureDoesNotMatch", STORAGE_PERMANENT},
        {403, "AccessDenied", STORAGE_PERMANENT},
        {403, "InvalidAccessKeyId", STORAGE_PERMANENT},
        {404, "NoSuchBucket", STORAGE_PERMANENT},
        {404, "", STORAGE_PERMANENT},
        {408, "", STORAGE_RETRYABLE},
        {409, "OperationAborted", STORAGE_RETRYABLE},
        {429, "", STORAGE_RETRYABLE},
        {500, "InternalError", STORAGE_RETRYABLE},
        {501, "NotImplemented", STORAGE_RETRYABLE},
        {503, "SlowDown", STORAGE_RETRYABLE},
        {503, NULL, STORAGE_RETRYABLE},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        cr_assert_eq(storage_classify_http(t[i].status, t[i].code), t[i].cls, "%ld %s", t[i].status,
                     t[i].code ? t[i].code : "(null)");
}

Test(storage_classify, curl)
{
    cr_assert_eq(storage_classify_curl(CURLE_OK), STORAGE_OK);
    cr_assert_eq(storage_classify_curl(CURLE_COULDNT_CONNECT), STORAGE_RETRYABLE);
    cr_assert_eq(storage_classify_curl(CURLE_COULDNT_RESOLVE_HOST), STORAGE_RETRYABLE);
    cr_assert_eq(storage_classify_curl(CURLE_OPERATION_TIMEDOUT), STORAGE_RETRYABLE);
    cr_assert_eq(storage_classify_curl(CURLE_GOT_NOTHING), STORAGE_RETRYABLE);
    cr_assert_eq(storage_classify_curl(CURLE_SEND_ERROR), STORAGE_RETRYABLE);
    cr_assert_eq(storage_classify_curl(CURLE_RECV_ERROR), STORAGE_RETRYABLE);
    cr_assert_eq(storage_classify_curl(CURLE_URL_MALFORMAT), STORAGE_PERMANENT);
    cr_assert_eq(storage_classify_curl(CURLE_UNSUPPORTED_PROTOCOL), STORAGE_PERMANENT);
    cr_assert_eq(storage_classify_curl(CURLE_PEER_FAILED_VERIFICATION), STORAGE_PERMANENT);
}

Test(storage_classify, s3_error_body)
{
    static const char body[] =
        "<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>SlowDown</Code>"
        "<Message>Please reduce\nyour request rate.</Message><RequestId>tx1</RequestId></Error>";
    char code[16], msg[64];

    cr_assert_eq(
        storage_classify_s3_error(body, strlen(body), code, sizeof(code), msg, sizeof(msg)), 0);
    cr_assert_str_eq(code, "SlowDown");
    cr_assert_str_eq(msg, "Please reduce your request rate.", "newlines flattened");
    /* truncated document, tiny buffers, no document at all */
    cr_assert_eq(storage_classify_s3_error(body, 60, code, sizeof(code), msg, sizeof(msg)), -1);
    cr_assert_str_eq(code, "");
    cr_assert_eq(storage_classify_s3_error(body, strlen(body), code, 5, msg, 1), 0);
    cr_assert_str_eq(code, "Slow");
    cr_assert_str_eq(msg, "");
    cr_assert_eq(storage_classify_s3_error("", 0, code, sizeof(code), msg, sizeof(msg)), -1);
}

Test(storage_classify, retry_after)
{
    time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */

    cr_assert_eq(storage_classify_retry_after("0", now), 0);
    cr_assert_eq(storage_classify_retry_after(" 7\r\n", now), 7000);
    cr_assert_eq(storage_classify_retry_after("120", now), 120000);
    cr_assert_eq(storage_classify_retry_after("-1", now), -1);
    cr_assert_eq(storage_classify_retry_after("3x", now), -1);
    cr_assert_eq(storage_classify_retry_after("99999999999", now), -1);
    cr_assert_eq(storage_classify_retry_after("", now), -1);
    cr_assert_eq(storage_classify_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now), 30000);
    cr_assert_eq(storage_classify_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now), 0,
                 "a date in the past means now");
    cr_assert_eq(storage_classify_retry_after("not a date", now), -1);
}

Test(upload_backoff, grows_caps_and_gives_up)
{
    struct backoff_config c = {.base_ms = 100, .cap_ms = 1000, .max_attempts = 6};
    static const uint64_t ceiling[] = {0, 100, 200, 400, 800, 1000};
    uint64_t rng = 0;

    for (int round = 0; round < 200; round++) {
        for (unsigned a = 1; a < 6; a++) {
            uint64_t d = backoff_delay_ms(&c, a, -1, &rng);

            cr_assert(d >= ceiling[a] / 2 && d <= ceiling[a], "attempt %u: %llu not in [%llu,%llu]",
                      a, (unsigned long long)d, (unsigned long long)ceiling[a] / 2,
                      (unsigned long long)ceiling[a]);
        }
        cr_assert_eq(backoff_delay_ms(&c, 6, -1, &rng), BACKOFF_GIVE_UP);
        cr_assert_eq(backoff_delay_ms(&c, 1000, -1, &rng), BACKOFF_GIVE_UP);
    }
}

Test(upload_backoff, jitter_spreads_workers)
{
    struct backoff_config c = {.base_ms = 1000, .cap_ms = 60000, .max_attempts = 10};
    uint64_t seen[64], rng;
    size_t distinct = 0;

    /* 64 workers that failed together, each with its own seed */
    for (uint64_t w = 0; w < 64; w++) {
        uint64_t d;
        size_t j;

        rng = w;
        d = backoff_delay_ms(&c, 3, -1, &rng);
        for (j = 0; j < distinct && seen[j] != d; j++)
            ;
        if (j == distinct)
            seen[distinct++] = d;
    }
    cr_assert_gt(distinct, 50, "only %zu distinct delays out of 64", distinct);
}

Test(upload_backoff, retry_after_and_defaults)
{
    struct backoff_config c = {
        .base_ms = 100, .cap_ms = 1000, .max_attempts = 5, .retry_after_max_ms = 20000};
    struct backoff_config dflt = {0};
    uint64_t rng = 42;

    cr_assert_eq(backoff_delay_ms(&c, 1, 7000, &rng), 7000, "Retry-After above the cap wins");
    cr_assert_eq(backoff_delay_ms(&c, 1, 999999, &rng), 20000, "but is clamped");
    cr_assert_leq(backoff_delay_ms(&c, 1, 0, &rng), 100, "Retry-After: 0 keeps the back-off");
    cr_assert_eq(backoff_delay_ms(&c, 5, 7000, &rng), BACKOFF_GIVE_UP,
                 "Retry-After does not extend the attempts");
    /* zeros mean defaults: 500 ms base, 8 attempts, no overflow at huge counts */
    cr_assert(backoff_delay_ms(&dflt, 1, -1, &rng) >= 250);
    cr_assert(backoff_delay_ms(&dflt, 1, -1, &rng) <= 500);
    cr_assert_eq(backoff_delay_ms(&dflt, 8, -1, &rng), BACKOFF_GIVE_UP);
    c.max_attempts = 4000000000u;
    c.cap_ms = UINT64_MAX / 2;
    cr_assert_leq(backoff_delay_ms(&c, 3999999999u, -1, &rng), UINT64_MAX / 2);
    /* attempt 0 is treated as the first failure */
    cr_assert_leq(backoff_delay_ms(&c, 0, -1, &rng), 100);
}
