/*
 * test_storage_file.c - the file:// back-end: a tree lands byte for byte,
 * replacement is by rename (a reader holding the old object keeps reading
 * it whole), no temporary file is left behind, and errors say what failed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fix_storage.h"
#include "workers/storage.h"

static storage_t *
open_dir(const char *dir)
{
    char url[4200], err[512] = "";
    struct storage_config cfg = {.url = url};
    storage_t *s;

    snprintf(url, sizeof(url), "file://%s", dir);
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "storage_open(%s): %s", url, err);
    return s;
}

/* count_temp - files whose name says they are our temporaries, anywhere below */
static int
count_temp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char p[4200];

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, ".tmp.") != NULL)
            n++;
        if (e->d_type == DT_DIR)
            n += count_temp(p);
    }
    closedir(d);
    return n;
}

Test(storage_file, tree_lands_byte_for_byte)
{
    char src[4096], dst[4096], a[4300], b[4300], url[4400];
    struct storage_result r;
    storage_t *s;
    struct stat st;

    fix_tmpdir(src, sizeof(src), "file-src");
    fix_tmpdir(dst, sizeof(dst), "file-dst");
    fix_storage_make_tree(src);
    s = open_dir(dst);
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        snprintf(a, sizeof(a), "%s/%s", src, fix_storage_tree_keys[i]);
        cr_assert_eq(storage_put(s, a, fix_storage_tree_keys[i], &r), 0, "%s", r.error);
        cr_assert_eq(r.cls, STORAGE_OK);
        cr_assert_str_eq(r.error, "");
    }
    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        snprintf(a, sizeof(a), "%s/%s", src, fix_storage_tree_keys[i]);
        snprintf(b, sizeof(b), "%s/%s", dst, fix_storage_tree_keys[i]);
        cr_assert(fix_storage_same_file(a, b), "%s differs", fix_storage_tree_keys[i]);
        cr_assert_eq(stat(b, &st), 0);
        cr_assert_eq(st.st_mode & 0777, 0644, "%s: mode %o", b, st.st_mode & 0777);
    }
    cr_assert_eq(count_temp(dst), 0, "temporary files left behind");
    cr_assert_eq(storage_url(s, NULL, "360p/index.m3u8", url, sizeof(url)), 0);
    snprintf(b, sizeof(b), "%s/360p/index.m3u8", dst);
    cr_assert_str_eq(url, b);
    cr_assert_eq(storage_url(s, "https://cdn.example/v/", "names/a b.ts", url, sizeof(url)), 0);
    cr_assert_str_eq(url, "https://cdn.example/v/names/a%20b.ts");

    /* delete, twice: the second finds nothing and is still a success */
    cr_assert_eq(storage_delete(s, "360p/seg_00000.ts", &r), 0, "%s", r.error);
    snprintf(b, sizeof(b), "%s/360p/seg_00000.ts", dst);
    cr_assert_eq(access(b, F_OK), -1);
    cr_assert_eq(storage_delete(s, "360p/seg_00000.ts", &r), 0, "%s", r.error);
    storage_close(s);
}

Test(storage_file, replace_is_atomic_rename)
{
    char dir[4096], v1[4200], v2[4200], dst[4200], buf[8192];
    struct storage_result r;
    struct stat before, after;
    storage_t *s;
    ssize_t n;
    size_t total = 0;
    int reader;

    fix_tmpdir(dir, sizeof(dir), "file-atomic");
    snprintf(v1, sizeof(v1), "%s/src/v1.m3u8", dir);
    snprintf(v2, sizeof(v2), "%s/src/v2.m3u8", dir);
    fix_storage_write(v1, 50000, 1);
    fix_storage_write(v2, 20000, 2);
    snprintf(dst, sizeof(dst), "%s/out", dir);
    mkdir(dst, 0755);
    s = open_dir(dst);
    cr_assert_eq(storage_put(s, v1, "j/index.m3u8", &r), 0, "%s", r.error);
    snprintf(dst, sizeof(dst), "%s/out/j/index.m3u8", dir);
    cr_assert_eq(stat(dst, &before), 0);
    /* a reader (a web server) has the old version open... */
    reader = open(dst, O_RDONLY);
    cr_assert_geq(reader, 0);
    cr_assert_eq(read(reader, buf, 100), 100);
    cr_assert_eq(storage_put(s, v2, "j/index.m3u8", &r), 0, "%s", r.error);
    /* ...and keeps reading the whole old version: it was replaced by a new
     * inode, not truncated and rewritten in place */
    total = 100;
    while ((n = read(reader, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    close(reader);
    cr_assert_eq(total, 50000, "the reader saw %zu bytes of the old version", total);
    cr_assert_eq(stat(dst, &after), 0);
    cr_assert_neq(before.st_ino, after.st_ino, "replaced in place");
    cr_assert(fix_storage_same_file(v2, dst));
    snprintf(dst, sizeof(dst), "%s/out", dir);
    cr_assert_eq(count_temp(dst), 0);
    storage_close(s);
}

Test(storage_file, errors_are_clear)
{
    char dir[4096], file[4200], url[4300], err[512] = "", src[4200];
    struct storage_config cfg = {.url = url};
    struct storage_result r;
    storage_t *s;

    fix_tmpdir(dir, sizeof(dir), "file-err");
    snprintf(file, sizeof(file), "%s/plain", dir);
    fix_storage_write_str(file, "x");

    /* the root does not exist, or is a file */
    snprintf(url, sizeof(url), "file://%s/missing", dir);
    cr_assert_null(storage_open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "No such file or directory") && strstr(err, "/missing"), "%s", err);
    snprintf(url, sizeof(url), "file://%s", file);
    cr_assert_null(storage_open(&cfg, err, sizeof(err)));
    cr_assert(strstr(err, "not a directory"), "%s", err);

    s = open_dir(dir);
    /* the source is missing: permanent, names the source */
    cr_assert_eq(storage_put(s, "/nonexistent/seg.ts", "a.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT);
    cr_assert(strstr(r.error, "open(/nonexistent/seg.ts): No such file or directory"), "%s",
              r.error);
    /* a key whose parent is a regular file: ENOTDIR, permanent, names the path */
    cr_assert_eq(storage_put(s, file, "plain/seg.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT);
    cr_assert(strstr(r.error, "Not a directory") && strstr(r.error, "plain"), "%s", r.error);
    cr_assert_eq(errno, ENOTDIR);
    /* keys that would leave the root are refused before any system call */
    cr_assert_eq(storage_put(s, file, "../escape.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT);
    cr_assert(strstr(r.error, "invalid object key"), "%s", r.error);
    cr_assert_eq(storage_put(s, file, "/abs.ts", &r), -1);
    /* a directory as the source */
    snprintf(src, sizeof(src), "%s", dir);
    cr_assert_eq(storage_put(s, src, "d.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT, "%s", r.error);
    cr_assert_eq(count_temp(dir), 0, "a failed copy left its temporary file");
    storage_close(s);
}

Test(storage_file, permission_denied)
{
    char dir[64] = "/tmp/hlsd-perm.XXXXXX", src[128], out[128];
    struct storage_result r;
    storage_t *s;
    int dropped = 0;

    /* Tests run as root in CI, and root ignores directory modes. Drop the
     * effective uid to nobody for the put (the saved uid lets us come back
     * to clean up) so that the kernel really checks the mode. */
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chmod(dir, 0755), 0);
    snprintf(src, sizeof(src), "%s/src.ts", dir);
    fix_storage_write(src, 1000, 3);
    snprintf(out, sizeof(out), "%s/out", dir);
    cr_assert_eq(mkdir(out, 0555), 0);
    s = open_dir(out);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");

        cr_assert_not_null(pw, "no user nobody to drop to");
        cr_assert_eq(seteuid(pw->pw_uid), 0, "seteuid: %s", strerror(errno));
        dropped = 1;
    }
    cr_assert_eq(storage_put(s, src, "seg.ts", &r), -1);
    cr_assert_eq(r.cls, STORAGE_PERMANENT);
    cr_assert(strstr(r.error, "Permission denied") && strstr(r.error, out), "%s", r.error);
    cr_assert_eq(storage_put(s, src, "sub/seg.ts", &r), -1);
    cr_assert(strstr(r.error, "mkdir(") && strstr(r.error, "Permission denied"), "%s", r.error);
    if (dropped)
        cr_assert_eq(seteuid(0), 0);
    storage_close(s);
    chmod(out, 0755);
    unlink(src);
    rmdir(out);
    rmdir(dir);
}

struct ticks {
    int calls, abort_at;
    unsigned long long last_done, last_total;
};

static int
count_ticks(void *arg, unsigned long long done, unsigned long long total)
{
    struct ticks *t = arg;

    t->calls++;
    t->last_done = done;
    t->last_total = total;
    return t->abort_at > 0 && t->calls >= t->abort_at;
}

Test(storage_file, progress_and_cancel)
{
    char dir[4096], src[4200], url[4300], dst[4300], err[512];
    struct ticks t = {0};
    struct storage_config cfg = {.url = url, .progress = count_ticks, .progress_arg = &t};
    struct storage_result r;
    storage_t *s;

    fix_tmpdir(dir, sizeof(dir), "file-progress");
    snprintf(src, sizeof(src), "%s/src/big.ts", dir);
    fix_storage_write(src, 20u << 20, 12); /* 20 MiB: several 8 MiB chunks */
    snprintf(url, sizeof(url), "file://%s", dir);
    s = storage_open(&cfg, err, sizeof(err));
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(storage_put(s, src, "out/big.ts", &r), 0, "%s", r.error);
    cr_assert_geq(t.calls, 3, "%d progress calls", t.calls);
    cr_assert_eq(t.last_done, 20u << 20);
    cr_assert_eq(t.last_total, 20u << 20);

    /* the callback says stop: retryable, ECANCELED, nothing published */
    t = (struct ticks){.abort_at = 1};
    cr_assert_eq(storage_put(s, src, "out/canceled.ts", &r), -1);
    cr_assert_eq(errno, ECANCELED);
    cr_assert_eq(r.cls, STORAGE_RETRYABLE, "%s", r.error);
    cr_assert(strstr(r.error, "canceled"), "%s", r.error);
    snprintf(dst, sizeof(dst), "%s/out/canceled.ts", dir);
    cr_assert_eq(access(dst, F_OK), -1);
    cr_assert_eq(count_temp(dir), 0);
    storage_close(s);
}
