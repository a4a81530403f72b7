/*
 * test_upload_tools.c - bin/hls-put end to end against the run's S3 server:
 * an independent client (Debian's awscli) lists and downloads the same bytes;
 * a 256 MiB object goes up with the uploading process's peak RSS under
 * 32 MiB; the file:// back-end through the tool; failures exit non-zero
 * with the reason and without the secret.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fix_storage.h"
#include "workers/storage_impl.h"

struct s3env {
    char key[256], secret[256], region[64], cfgfile[4200], credfile[4200];
    char *env[10];
};

static void
s3env_init(struct s3env *e, const char *tmp)
{
    snprintf(e->key, sizeof(e->key), "AWS_ACCESS_KEY_ID=%s", getenv("HLSD_TEST_S3_ACCESS_KEY"));
    snprintf(e->secret, sizeof(e->secret), "AWS_SECRET_ACCESS_KEY=%s",
             getenv("HLSD_TEST_S3_SECRET_KEY"));
    snprintf(e->region, sizeof(e->region), "AWS_DEFAULT_REGION=%s",
             getenv("HLSD_TEST_S3_REGION") ? getenv("HLSD_TEST_S3_REGION") : "us-east-1");
    /* keep awscli away from any user configuration and instance metadata */
    snprintf(e->cfgfile, sizeof(e->cfgfile), "AWS_CONFIG_FILE=%s/no-aws-config", tmp);
    snprintf(e->credfile, sizeof(e->credfile), "AWS_SHARED_CREDENTIALS_FILE=%s/no-aws-creds", tmp);
    e->env[0] = e->key;
    e->env[1] = e->secret;
    e->env[2] = e->region;
    e->env[3] = e->cfgfile;
    e->env[4] = e->credfile;
    e->env[5] = "AWS_EC2_METADATA_DISABLED=true";
    e->env[6] = "AWS_PAGER=";
    e->env[7] = NULL;
}

static const char *
need_s3(void)
{
    if (getenv("HLSD_TEST_S3_ENDPOINT") == NULL || getenv("HLSD_TEST_S3_SECRET_KEY") == NULL)
        cr_skip_test("no S3 test server (HLSD_TEST_S3_* unset)");
    return getenv("HLSD_TEST_S3_ENDPOINT");
}

static void
tool_path(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", fix_bindir(), name);
    cr_assert_eq(access(out, X_OK), 0, "%s is not built", out);
}

Test(upload_tools, awscli_agrees_with_hls_put, .timeout = 180)
{
    const char *ep = need_s3(), *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char tmp[4096], src[4200], down[4200], out[4200], url[512], prefix[128], hp[4200];
    char s3uri[600], a[4400], b[4400];
    struct s3env e;
    int rc;

    tool_path(hp, sizeof(hp), "hls-put");
    if (access("/usr/bin/aws", X_OK) != 0)
        cr_skip_test("awscli is not installed (make deps)");
    fix_tmpdir(tmp, sizeof(tmp), "awscli");
    s3env_init(&e, tmp);
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(down, sizeof(down), "%s/down", tmp);
    snprintf(out, sizeof(out), "%s/out.txt", tmp);
    fix_storage_make_tree(src);
    fix_unique(prefix, sizeof(prefix), "awscli");
    snprintf(url, sizeof(url), "s3://%s/%s", bucket, prefix);

    char *put[] = {hp, src, url, "--endpoint", (char *)ep, "--path-style", "--parallel", "3", NULL};
    rc = fix_run(put, e.env, out, NULL);
    cr_assert_eq(rc, 0, "hls-put exited %d (see %s)", rc, out);

    snprintf(s3uri, sizeof(s3uri), "s3://%s/%s/", bucket, prefix);
    char *ls[] = {"/usr/bin/aws", "--endpoint-url", (char *)ep, "s3",
                  "ls",           "--recursive",    s3uri,      NULL};
    rc = fix_run(ls, e.env, out, NULL);
    cr_assert_eq(rc, 0, "aws s3 ls exited %d (see %s)", rc, out);
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        struct stat st;

        snprintf(a, sizeof(a), "%s/%s", src, fix_storage_tree_keys[i]);
        cr_assert_eq(stat(a, &st), 0);
        /* a listing line ends "<size> <prefix>/<key>" */
        snprintf(b, sizeof(b), " %lld %s/%s\n", (long long)st.st_size, prefix,
                 fix_storage_tree_keys[i]);
        cr_assert(fix_storage_file_contains(out, b), "aws s3 ls lacks [%s]", b);
    }

    char *cp[] = {"/usr/bin/aws", "--endpoint-url",     (char *)ep, "s3", "cp",
                  "--recursive",  "--only-show-errors", s3uri,      down, NULL};
    rc = fix_run(cp, e.env, out, NULL);
    cr_assert_eq(rc, 0, "aws s3 cp exited %d (see %s)", rc, out);
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        snprintf(a, sizeof(a), "%s/%s", src, fix_storage_tree_keys[i]);
        snprintf(b, sizeof(b), "%s/%s", down, fix_storage_tree_keys[i]);
        cr_assert(fix_storage_same_file(a, b), "awscli downloaded different bytes for %s",
                  fix_storage_tree_keys[i]);
    }
}

Test(upload_tools, big_object_small_memory, .timeout = 180)
{
    const char *ep = need_s3(), *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char tmp[4096], src[4200], file[4300], out[4200], url[512], prefix[128], hp[4200], err[512];
    const uint64_t size = 256ull << 20;
    /* ASan's shadow memory and quarantine inflate RSS; there the bound only
     * proves the file is streamed (it would be >= 256 MiB otherwise) */
    const long limit_kib = getenv("HLSD_SANITIZED") ? 200 * 1024 : 32 * 1024;
    struct storage_config cfg;
    struct storage_result r;
    struct storage_digest d;
    struct rusage ru;
    struct s3env e;
    storage_t *s;
    uint64_t len;
    int rc, fd;

    tool_path(hp, sizeof(hp), "hls-put");
    fix_tmpdir(tmp, sizeof(tmp), "big");
    s3env_init(&e, tmp);
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(file, sizeof(file), "%s/big.ts", src);
    snprintf(out, sizeof(out), "%s/out.txt", tmp);
    fix_storage_write(file, size, 99);
    fix_unique(prefix, sizeof(prefix), "big");
    snprintf(url, sizeof(url), "s3://%s/%s", bucket, prefix);

    char *put[] = {hp, src, url, "--endpoint", (char *)ep, "--path-style", "--parallel", "1", NULL};
    rc = fix_run(put, e.env, out, &ru);
    cr_assert_eq(rc, 0, "hls-put exited %d (see %s)", rc, out);
    cr_log_info("hls-put 256 MiB: peak RSS %ld KiB", ru.ru_maxrss);
    cr_assert_lt(ru.ru_maxrss, limit_kib, "peak RSS %ld KiB >= %ld KiB", ru.ru_maxrss, limit_kib);

    /* the server has all of it, and its MD5 is ours */
    fd = open(file, O_RDONLY);
    s = NULL;
    {
        unsigned char *buf = malloc(1 << 20);

        cr_assert_eq(storage_digest_fd(fd, buf, 1 << 20, &d), 0);
        free(buf);
    }
    close(fd);
    cr_assert_eq(fix_storage_s3_config(&cfg, url, prefix), 0);
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(storage_s3_get(s, "big.ts", -1, NULL, 0, &len, &r), 0, "%s", r.error);
    cr_assert_eq(len, size);
    cr_assert_str_eq(r.etag, d.md5_hex);
    cr_assert_eq(storage_delete(s, "big.ts", &r), 0, "%s", r.error);
    storage_close(s);
    unlink(file);
}

Test(upload_tools, hls_put_file_and_failures, .timeout = 60)
{
    char tmp[4096], src[4200], dst[4200], out[4200], url[4300], hp[4200], a[4400], b[4400];
    int rc;

    tool_path(hp, sizeof(hp), "hls-put");
    fix_tmpdir(tmp, sizeof(tmp), "hlsput");
    snprintf(src, sizeof(src), "%s/src", tmp);
    snprintf(dst, sizeof(dst), "%s/dst", tmp);
    snprintf(out, sizeof(out), "%s/out.txt", tmp);
    fix_storage_make_tree(src);
    mkdir(dst, 0755);
    snprintf(url, sizeof(url), "file://%s", dst);

    char *put[] = {hp, src, url, "--parallel", "4", NULL};
    rc = fix_run(put, NULL, out, NULL);
    cr_assert_eq(rc, 0, "hls-put exited %d (see %s)", rc, out);
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        snprintf(a, sizeof(a), "%s/%s", src, fix_storage_tree_keys[i]);
        snprintf(b, sizeof(b), "%s/%s", dst, fix_storage_tree_keys[i]);
        cr_assert(fix_storage_same_file(a, b), "%s", fix_storage_tree_keys[i]);
    }

    /* usage errors exit 2 */
    char *bad[] = {hp, src, NULL};
    cr_assert_eq(fix_run(bad, NULL, out, NULL), 2);
    char *badurl[] = {hp, src, "gopher://x", NULL};
    cr_assert_eq(fix_run(badurl, NULL, out, NULL), 2);
    cr_assert(fix_storage_file_contains(out, "storage URL"));

    /* a wrong secret: exit 1, the reason printed, the secret not */
    if (getenv("HLSD_TEST_S3_ENDPOINT") != NULL) {
        char *env[] = {"AWS_ACCESS_KEY_ID=test:tester", "AWS_SECRET_ACCESS_KEY=NOTtheSECRETxyz987",
                       NULL};

        snprintf(url, sizeof(url), "s3://%s/hlsput-wrong", getenv("HLSD_TEST_S3_BUCKET"));
        char *wrong[] = {
            hp, src, url, "--endpoint", getenv("HLSD_TEST_S3_ENDPOINT"), "--path-style", NULL};
        rc = fix_run(wrong, env, out, NULL);
        cr_assert_eq(rc, 1);
        cr_assert(fix_storage_file_contains(out, "SignatureDoesNotMatch"));
        cr_assert(!fix_storage_file_contains(out, "NOTtheSECRETxyz987"), "the secret was printed");
        cr_assert(!fix_storage_file_contains(out, "master.m3u8"),
                  "the master playlist was attempted although segments failed");
    }
}
