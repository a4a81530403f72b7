/*
 * test_upload_s3.c - the s3:// back-end against the run's real S3 server
 * (Swift + s3api, tools/s3-test-server), which checks SigV4 signatures and
 * payload hashes as AWS does; and against a fake server for the answers a
 * healthy server will not give on demand (SlowDown, 500, a wrong ETag).
 * Every failing case also checks that no secret leaks into the error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fix_storage.h"
#include "workers/storage_impl.h"

static storage_t *
s3_open(struct storage_config *cfg, char *url, const char *name, char *prefix, size_t plen)
{
    char err[512] = "";
    storage_t *s;

    fix_unique(prefix, plen, name);
    if (fix_storage_s3_config(cfg, url, prefix) < 0)
        cr_skip_test("no S3 test server (HLSD_TEST_S3_* unset)");
    s = storage_open(cfg, err, sizeof(err));
    cr_assert_not_null(s, "storage_open: %s", err);
    return s;
}

static void
assert_no_secret(const struct storage_result *r, const char *secret)
{
    cr_assert_null(strstr(r->error, secret), "the secret leaked: %s", r->error);
}

/* get_and_compare - GET key back and compare it with the local file */
static void
get_and_compare(storage_t *s, const char *key, const char *local, const char *tmpdir)
{
    char back[4300];
    struct storage_result r;
    int fd;

    snprintf(back, sizeof(back), "%s/back", tmpdir);
    fd = open(back, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(storage_s3_get(s, key, fd, NULL, 0, NULL, &r), 0, "GET %s: %s", key, r.error);
    close(fd);
    cr_assert(fix_storage_same_file(local, back), "GET %s: different bytes", key);
}

Test(upload_s3, tree_roundtrip_and_content_types, .timeout = 120)
{
    char url[512], prefix[128], src[4096], path[4300], ctype[128], pub[4300];
    struct storage_config cfg;
    struct storage_result r;
    struct storage_digest d;
    storage_t *s = s3_open(&cfg, url, "tree", prefix, sizeof(prefix));
    uint64_t len;
    unsigned char buf[65536];

    fix_tmpdir(src, sizeof(src), "s3-tree");
    fix_storage_make_tree(src);
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        snprintf(path, sizeof(path), "%s/%s", src, fix_storage_tree_keys[i]);
        cr_assert_eq(storage_put(s, path, fix_storage_tree_keys[i], &r), 0, "%s", r.error);
        cr_assert_eq(r.cls, STORAGE_OK);
        cr_assert_eq(r.http_status, 200);
        int fd = open(path, O_RDONLY);
        cr_assert_eq(storage_digest_fd(fd, buf, sizeof(buf), &d), 0);
        close(fd);
        cr_assert_str_eq(r.etag, d.md5_hex, "%s: ETag", fix_storage_tree_keys[i]);
        /* one kept-alive connection: only the first request connects */
        long connects = -1;
        curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &connects);
        cr_assert_eq(connects, i == 0 ? 1 : 0, "%s: %ld new connections", fix_storage_tree_keys[i],
                     connects);
    }
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        const char *k = fix_storage_tree_keys[i];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", src, k);
        get_and_compare(s, k, path, src);
        cr_assert_eq(storage_s3_get(s, k, -1, ctype, sizeof(ctype), &len, &r), 0, "HEAD %s: %s", k,
                     r.error);
        cr_assert_str_eq(ctype, storage_mime_type(k), "HEAD %s", k);
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_eq(len, (uint64_t)st.st_size, "HEAD %s: length", k);
    }
    cr_assert_str_eq(storage_mime_type("x.ts"), "video/mp2t");
    cr_assert_str_eq(storage_mime_type("x.m3u8"), "application/vnd.apple.mpegurl");

    /* the object URL, path-style, with the key encoded */
    cr_assert_eq(storage_url(s, NULL, "names/a b.ts", pub, sizeof(pub)), 0);
    snprintf(path, sizeof(path), "%s/%s/%s/names/a%%20b.ts", cfg.endpoint,
             getenv("HLSD_TEST_S3_BUCKET"), prefix);
    cr_assert_str_eq(pub, path);

    /* delete: gone afterwards, and deleting again is not an error */
    cr_assert_eq(storage_delete(s, "360p/seg_00000.ts", &r), 0, "%s", r.error);
    cr_assert_eq(storage_s3_get(s, "360p/seg_00000.ts", -1, NULL, 0, NULL, &r), -1);
    cr_assert_eq(r.http_status, 404);
    cr_assert_eq(storage_delete(s, "360p/seg_00000.ts", &r), 0, "%s", r.error);
    storage_close(s);
}

Test(upload_s3, overwrite_cache_control_and_virtual_host, .timeout = 60)
{
    char url[512], prefix[128], dir[4096], a[4300], b[4300], ep[256], pub[4300];
    struct storage_config cfg;
    struct storage_result r;
    storage_t *s = s3_open(&cfg, url, "vhost", prefix, sizeof(prefix)), *v;
    const char *colon;
    char err[512];

    fix_tmpdir(dir, sizeof(dir), "s3-vhost");
    snprintf(a, sizeof(a), "%s/a.ts", dir);
    snprintf(b, sizeof(b), "%s/b.ts", dir);
    fix_storage_write(a, 70000, 10);
    fix_storage_write(b, 30000, 11);
    cr_assert_eq(storage_put(s, a, "same.ts", &r), 0, "%s", r.error);
    cr_assert_eq(storage_put(s, b, "same.ts", &r), 0, "%s", r.error);
    get_and_compare(s, "same.ts", b, dir);
    storage_close(s);

    /* Virtual-hosted addressing: the bucket in the host name. The test
     * server's s3api knows the domain s3.localhost, and curl resolves any
     * *.localhost name to the loopback address. */
    colon = strrchr(cfg.endpoint, ':');
    snprintf(ep, sizeof(ep), "http://s3.localhost%s", colon);
    cfg.endpoint = ep;
    cfg.path_style = 0;
    cfg.cache_control = "max-age=60";
    v = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(v, "%s", err);
    cr_assert_eq(storage_url(v, NULL, "k.ts", pub, sizeof(pub)), 0);
    snprintf(a, sizeof(a), "http://%s.s3.localhost%s/%s/k.ts", getenv("HLSD_TEST_S3_BUCKET"), colon,
             prefix);
    cr_assert_str_eq(pub, a);
    cr_assert_eq(storage_put(v, b, "vh/seg.ts", &r), 0, "%s", r.error);
    get_and_compare(v, "vh/seg.ts", b, dir);
    storage_close(v);
}

Test(upload_s3, wrong_secret_is_permanent_and_secret_free)
{
    char url[512], prefix[128], dir[4096], f[4300], err[512];
    struct storage_config cfg;
    struct storage_result r;
    storage_t *s;
    const char *wrong = "WRONGsecretDoNotLeak0123456789";

    fix_unique(prefix, sizeof(prefix), "wrongsecret");
    if (fix_storage_s3_config(&cfg, url, prefix) < 0)
        cr_skip_test("no S3 test server");
    cfg.secret_access_key = wrong;
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    fix_tmpdir(dir, sizeof(dir), "s3-wrong");
    snprintf(f, sizeof(f), "%s/seg.ts", dir);
    fix_storage_write(f, 5000, 4);
    cr_assert_eq(storage_put(s, f, "seg.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT, "%s", r.error);
    cr_assert_eq(r.http_status, 403);
    cr_assert(strstr(r.error, "SignatureDoesNotMatch"), "%s", r.error);
    cr_assert(strstr(r.error, getenv("HLSD_TEST_S3_BUCKET")) && strstr(r.error, "seg.ts") &&
                  strstr(r.error, "403"),
              "the error names bucket, key and status: %s", r.error);
    assert_no_secret(&r, wrong);
    assert_no_secret(&r, getenv("HLSD_TEST_S3_SECRET_KEY"));
    storage_close(s);
}

Test(upload_s3, missing_bucket_is_permanent)
{
    char url[512], prefix[128], dir[4096], f[4300], err[512];
    struct storage_config cfg;
    struct storage_result r;
    storage_t *s;

    fix_unique(prefix, sizeof(prefix), "nobucket");
    if (fix_storage_s3_config(&cfg, url, prefix) < 0)
        cr_skip_test("no S3 test server");
    snprintf(url, 512, "s3://hlsd-no-such-bucket/%s", prefix);
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    fix_tmpdir(dir, sizeof(dir), "s3-nobucket");
    snprintf(f, sizeof(f), "%s/seg.ts", dir);
    fix_storage_write(f, 5000, 5);
    cr_assert_eq(storage_put(s, f, "seg.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT, "%s", r.error);
    cr_assert_eq(r.http_status, 404);
    cr_assert(strstr(r.error, "NoSuchBucket") && strstr(r.error, "hlsd-no-such-bucket"), "%s",
              r.error);
    assert_no_secret(&r, getenv("HLSD_TEST_S3_SECRET_KEY"));
    storage_close(s);
}

Test(upload_s3, body_changed_in_flight_is_rejected, .timeout = 60)
{
    char url[512], prefix[128], dir[4096], f[4300];
    struct storage_config cfg;
    struct storage_result r;
    struct storage_digest announced, real;
    storage_t *s = s3_open(&cfg, url, "inflight", prefix, sizeof(prefix));
    unsigned char buf[65536];
    int fd;

    /* What a file rewritten between hashing and sending looks like on the
     * wire: headers announcing the digests of version 1, a body that is
     * version 2 of the same length. storage_s3_put_fd is storage_put's
     * sending half, so this is the production path with the file swapped
     * at the worst moment. The server must refuse it. */
    fix_tmpdir(dir, sizeof(dir), "s3-inflight");
    snprintf(f, sizeof(f), "%s/seg.ts", dir);
    fix_storage_write(f, 300000, 6);
    fd = open(f, O_RDONLY);
    cr_assert_eq(storage_digest_fd(fd, buf, sizeof(buf), &announced), 0);
    close(fd);
    fix_storage_write(f, 300000, 7); /* the rewrite */
    fd = open(f, O_RDONLY);
    cr_assert_eq(storage_digest_fd(fd, buf, sizeof(buf), &real), 0);
    cr_assert_str_neq(announced.sha256_hex, real.sha256_hex);

    cr_assert_eq(storage_s3_put_fd(s, fd, &announced, "seg.ts", &r), -1);
    cr_assert_eq(r.http_status, 400, "%s", r.error);
    cr_assert(strstr(r.error, "BadDigest") || strstr(r.error, "XAmzContentSHA256Mismatch"), "%s",
              r.error);
    cr_assert_eq(r.cls, STORAGE_RETRYABLE, "a re-read and re-hash can succeed: %s", r.error);

    /* only the SHA-256 wrong (the MD5 right): still refused */
    snprintf(announced.md5_b64, sizeof(announced.md5_b64), "%s", real.md5_b64);
    snprintf(announced.md5_hex, sizeof(announced.md5_hex), "%s", real.md5_hex);
    cr_assert_eq(storage_s3_put_fd(s, fd, &announced, "seg.ts", &r), -1);
    cr_assert_eq(r.http_status, 400, "%s", r.error);

    /* the file shrank after its size was announced: our own read fails */
    real.size += 1000;
    cr_assert_eq(storage_s3_put_fd(s, fd, &real, "seg.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_RETRYABLE);
    cr_assert(strstr(r.error, "shrank"), "%s", r.error);
    real.size -= 1000;

    /* nothing was stored under the key by the refused requests */
    cr_assert_eq(storage_s3_get(s, "seg.ts", -1, NULL, 0, NULL, &r), -1);
    cr_assert_eq(r.http_status, 404, "%s", r.error);
    /* and the honest request goes through on the same handle */
    cr_assert_eq(storage_s3_put_fd(s, fd, &real, "seg.ts", &r), 0, "%s", r.error);
    close(fd);
    get_and_compare(s, "seg.ts", f, dir);
    storage_close(s);
}

Test(upload_s3, stopped_server_is_retryable)
{
    char url[512], prefix[128], dir[4096], f[4300], ep[64], err[512];
    struct storage_config cfg;
    struct storage_result r;
    storage_t *s;

    fix_unique(prefix, sizeof(prefix), "stopped");
    if (fix_storage_s3_config(&cfg, url, prefix) < 0) {
        /* the check needs no server; run it with made-up settings */
        cfg.url = "s3://hlsd-test/x";
        cfg.access_key_id = "k";
        cfg.secret_access_key = "s3cr3t-not-leaked";
        cfg.path_style = 1;
    }
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", fix_storage_dead_port());
    cfg.endpoint = ep;
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    fix_tmpdir(dir, sizeof(dir), "s3-stopped");
    snprintf(f, sizeof(f), "%s/seg.ts", dir);
    fix_storage_write(f, 5000, 8);
    cr_assert_eq(storage_put(s, f, "seg.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_RETRYABLE, "%s", r.error);
    cr_assert_eq(r.http_status, 0);
    cr_assert(strstr(r.error, "seg.ts") && strstr(r.error, "onnect"), "%s", r.error);
    assert_no_secret(&r, cfg.secret_access_key);
    storage_close(s);
}

/* --- a fake server: answers a real server will not give on demand --- */

static storage_t *
fake_open(struct fix_storage_fake *fk, const char *response, char *ep, size_t eplen)
{
    struct storage_config cfg = {
        .url = "s3://fakebucket/pre",
        .region = "eu-west-3",
        .path_style = 1,
        .access_key_id = "AKIDfake:with-colon",
        .secret_access_key = "fakeSECRETnotToLeak99",
        .session_token = "fakeTOKENnotToLeak77",
        .cache_control = "public, max-age=31536000",
        .connect_timeout_ms = 2000,
        .low_speed_time_s = 1,
        .endpoint = ep,
    };
    char err[512];
    storage_t *s;

    fix_storage_fake_start(fk, response);
    snprintf(ep, eplen, "http://127.0.0.1:%d", fk->port);
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    return s;
}

static void
fake_put(const char *response, struct storage_result *r, struct fix_storage_fake *fk)
{
    char ep[64], dir[4096], f[4300];
    storage_t *s = fake_open(fk, response, ep, sizeof(ep));

    fix_tmpdir(dir, sizeof(dir), "fake");
    snprintf(f, sizeof(f), "%s/seg 1.ts", dir);
    fix_storage_write_str(f, "hello");
    storage_put(s, f, "a/seg 1.ts", r);
    storage_close(s);
    fix_storage_fake_stop(fk);
    assert_no_secret(r, "fakeSECRETnotToLeak99");
}

Test(upload_fake, request_shape)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n"
                             "Content-Length: 0\r\n\r\n";
    struct fix_storage_fake fk;
    struct storage_result r;

    fake_put(ok, &r, &fk);
    cr_assert_eq(r.cls, STORAGE_OK, "%s", r.error);
    cr_assert_str_eq(r.etag, "5d41402abc4b2a76b9719d911017c592");
    /* what went on the wire */
    cr_assert(strstr(fk.request, "PUT /fakebucket/pre/a/seg%201.ts HTTP/1.1\r\n"), "%s",
              fk.request);
    cr_assert(strstr(fk.request, "Credential=AKIDfake:with-colon/"), "the whole access key");
    cr_assert(strstr(fk.request, "/eu-west-3/s3/aws4_request"), "region and service in scope");
    cr_assert(strstr(fk.request,
                     "x-amz-content-sha256: "
                     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
              "%s", fk.request);
    cr_assert(strstr(fk.request, "Content-MD5: XUFAKrxLKna5cZ2REBfFkg=="), "%s", fk.request);
    cr_assert(strstr(fk.request, "Content-Type: video/mp2t"), "%s", fk.request);
    cr_assert(strstr(fk.request, "Cache-Control: public, max-age=31536000"), "%s", fk.request);
    cr_assert(strstr(fk.request, "x-amz-security-token: fakeTOKENnotToLeak77"), "%s", fk.request);
    cr_assert(strstr(fk.request, "SignedHeaders=cache-control;content-md5;content-type;host;"
                                 "x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
              "%s", fk.request);
    cr_assert_null(strstr(fk.request, "x-amz-acl"), "no ACL header by default");
    cr_assert_null(strstr(fk.request, "fakeSECRETnotToLeak99"), "the secret went on the wire");
    cr_assert(strstr(fk.request, "\r\n\r\nhello"), "the body: [%s]", fk.request);
}

Test(upload_fake, answers_are_classified)
{
    static const struct {
        const char *response;
        enum storage_class cls;
        long status, retry_after_ms;
        const char *in_error;
    } t[] = {
        {"HTTP/1.1 503 Slow Down\r\nRetry-After: 3\r\nConnection: close\r\n\r\n"
         "<Error><Code>SlowDown</Code><Message>Reduce your rate.</Message></Error>        ",
         STORAGE_RETRYABLE, 503, 3000, "SlowDown: Reduce your rate."},
        {"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", STORAGE_RETRYABLE, 500,
         -1, "HTTP 500 (no S3 error code)"},
        {"HTTP/1.1 429 Too Many\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n", STORAGE_RETRYABLE,
         429, 1000, "HTTP 429"},
        {"HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n"
         "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
         "                    ",
         STORAGE_PERMANENT, 403, -1, "HTTP 403 AccessDenied: Access Denied"},
        /* a hostile or buggy server quoting the secret back must not leak it */
        {"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
         "<Error><Code>InvalidArgument</Code><Message>key fakeSECRETnotToLeak99</Message></Error>"
         "            ",
         STORAGE_PERMANENT, 400, -1, "InvalidArgument: key ****"},
        /* 200, but the stored bytes are not the ones we hashed */
        {"HTTP/1.1 200 OK\r\nETag: \"00000000000000000000000000000000\"\r\nContent-Length: 0\r\n"
         "\r\n",
         STORAGE_RETRYABLE, 200, -1, "is not the MD5"},
        /* the connection closed with no answer */
        {"", STORAGE_RETRYABLE, 0, -1, "a/seg 1.ts"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct fix_storage_fake fk;
        struct storage_result r;

        fake_put(t[i].response, &r, &fk);
        cr_assert_eq(r.cls, t[i].cls, "case %zu: %s", i, r.error);
        cr_assert_eq(r.http_status, t[i].status, "case %zu: %s", i, r.error);
        cr_assert_eq(r.retry_after_ms, t[i].retry_after_ms, "case %zu", i);
        cr_assert(strstr(r.error, t[i].in_error), "case %zu: [%s] lacks [%s]", i, r.error,
                  t[i].in_error);
        cr_assert(strstr(r.error, "s3://fakebucket/pre/a/seg 1.ts"), "case %zu: %s", i, r.error);
    }
}

Test(upload_fake, silent_server_times_out_retryable, .timeout = 30)
{
    struct fix_storage_fake fk;
    struct storage_result r;

    fake_put(NULL, &r, &fk); /* never answers; low-speed limit 1 s */
    cr_assert_eq(r.cls, STORAGE_RETRYABLE, "%s", r.error);
    cr_assert(strstr(r.error, "imeout") || strstr(r.error, "timed out") ||
                  strstr(r.error, "too slow"),
              "%s", r.error);
}

static int
cancel_once_sending(void *arg, unsigned long long done, unsigned long long total)
{
    (void)total;
    ++*(int *)arg;
    return done > 0;
}

Test(upload_fake, progress_callback_cancels, .timeout = 30)
{
    struct storage_config cfg = {.url = "s3://fakebucket/pre",
                                 .path_style = 1,
                                 .access_key_id = "k",
                                 .secret_access_key = "fakeSECRET123",
                                 .low_speed_time_s = 20,
                                 .progress = cancel_once_sending};
    char ep[64], dir[4096], f[4300], err[512];
    struct fix_storage_fake fk;
    struct storage_result r;
    int calls = 0;
    storage_t *s;

    /* a server that takes the body but never answers would hold the worker
     * for low_speed_time_s; the callback gets it out once bytes moved */
    cfg.progress_arg = &calls;
    fix_storage_fake_start(&fk, NULL);
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", fk.port);
    cfg.endpoint = ep;
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    fix_tmpdir(dir, sizeof(dir), "fake-cancel");
    snprintf(f, sizeof(f), "%s/seg.ts", dir);
    fix_storage_write(f, 100000, 13);
    cr_assert_eq(storage_put(s, f, "seg.ts", &r), -1);
    cr_assert_eq(errno, ECANCELED);
    cr_assert_eq(r.cls, STORAGE_RETRYABLE);
    cr_assert(strstr(r.error, "canceled by the caller"), "%s", r.error);
    cr_assert_geq(calls, 1);
    storage_close(s);
    fix_storage_fake_stop(&fk);
    cr_assert(strstr(fk.request, "PUT /fakebucket/pre/seg.ts"), "canceled before sending");
}

Test(upload_fake, open_refuses_bad_settings)
{
    struct storage_config cfg = {.url = "s3://bucket/p", .endpoint = "ftp://x"};
    char err[512];

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    cfg.access_key_id = "k";
    cfg.secret_access_key = "s";
    cr_assert_null(storage_open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "endpoint"), "%s", err);
    cfg.endpoint = "http://127.0.0.1:1";
    cfg.secret_access_key = NULL;
    cr_assert_null(storage_open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "no credentials"), "%s", err);
    cfg.secret_access_key = "s";
    cfg.url = "s3:/bucket";
    cr_assert_null(storage_open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "storage URL"), "%s", err);
    cr_assert_null(storage_open(NULL, err, sizeof(err)));
    /* credentials from the environment */
    cfg.url = "s3://bucket/p";
    cfg.access_key_id = cfg.secret_access_key = NULL;
    setenv("AWS_ACCESS_KEY_ID", "envkey", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    storage_t *s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    storage_close(s);
}
