/*
 * spool.c - files of jobs in flight. The master calls these for renames and
 * clean-ups only; it never opens a video file.
 */
#define _XOPEN_SOURCE 700
#include "daemon/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
spool_mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int
spool_prepare(const char *spool_dir)
{
    char p[4096];

    if (spool_mkdir_p(spool_dir, 0700) < 0)
        return -1;
    snprintf(p, sizeof(p), "%s/incoming", spool_dir);
    return spool_mkdir_p(p, 0700);
}

int
spool_token_valid(const char *t)
{
    size_t n = strlen(t);

    if (n < 8 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return 0;
    return 1;
}

static int
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int
spool_adopt(const char *spool_dir, const char *token, int64_t id)
{
    char from[4096], to[4096];

    if (!spool_token_valid(token)) {
        errno = EINVAL;
        return -1;
    }
    snprintf(from, sizeof(from), "%s/incoming/%s", spool_dir, token);
    snprintf(to, sizeof(to), "%s/%lld", spool_dir, (long long)id);
    /* a leftover of a crash between rename and commit would be in the way */
    spool_rmtree(to);
    if (rename(from, to) < 0)
        return -1;
    if (fsync_dir(spool_dir) < 0)
        return -1;
    snprintf(from, sizeof(from), "%s/incoming", spool_dir);
    return fsync_dir(from);
}

int
spool_job_path(const char *spool_dir, int64_t id, const char *rel, char *out, size_t cap)
{
    int n =
        snprintf(out, cap, "%s/%lld%s%s", spool_dir, (long long)id, rel ? "/" : "", rel ? rel : "");
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
spool_rmtree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
spool_sweep(const char *spool_dir, int (*keep)(int64_t id))
{
    char p[4096];
    DIR *d;
    struct dirent *e;

    snprintf(p, sizeof(p), "%s/incoming", spool_dir);
    spool_rmtree(p);
    if (spool_prepare(spool_dir) < 0)
        return -1;
    if ((d = opendir(spool_dir)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *end;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        long long id = strtoll(e->d_name, &end, 10);
        if (*end != '\0' || keep(id))
            continue;
        snprintf(p, sizeof(p), "%s/%s", spool_dir, e->d_name);
        spool_rmtree(p);
    }
    closedir(d);
    return 0;
}
