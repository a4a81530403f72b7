/*
 * storage_file.c - the file:// back-end: publish into a local directory that
 * a web server serves.
 *
 * A reader (nginx, a player) must never see half an object, and a crash must
 * never leave a truncated one under the final name: each put copies into a
 * temporary name in the destination directory, fsyncs it, renames it over
 * the final name (atomic within one file system) and fsyncs the directory so
 * that the rename itself survives a power cut. It never follows the key out
 * of the root (storage_key_check refuses "." and ".." segments).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workers/storage_impl.h"

/* storage_file_class - a full or failing disk may recover (space is freed,
 * a transient I/O error); a permission or path problem will not. */
static enum storage_class
storage_file_class(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EAGAIN:
    case EINTR:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ETIMEDOUT:
    case ESTALE:
    case ECANCELED: /* by the caller's progress callback */
        return STORAGE_RETRYABLE;
    default:
        return STORAGE_PERMANENT;
    }
}

int
storage_file_open(storage_t *s, char *err, size_t errlen)
{
    struct stat st;

    /* Why not create the root: a typo in the configured directory should be
     * an error at start-up, not a new tree nobody serves. */
    if (stat(s->loc.path, &st) < 0) {
        snprintf(err, errlen, "storage file://%s: stat: %s", s->loc.path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "storage file://%s: not a directory", s->loc.path);
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* storage_file_mkdirs - create the parent directories of root/key */
static int
storage_file_mkdirs(const char *path, size_t rootlen, char *failed, size_t failedlen)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);

    memcpy(tmp, path, n + 1);
    for (size_t i = rootlen + 1; i < n; i++) {
        if (tmp[i] != '/')
            continue;
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
            snprintf(failed, failedlen, "mkdir(%s)", tmp);
            return -1;
        }
        tmp[i] = '/';
    }
    return 0;
}

#define STORAGE_FILE_CHUNK (8u << 20) /* progress granularity of copy_file_range */

static int
storage_file_tick(storage_t *s, unsigned long long done, unsigned long long total)
{
    if (s->progress != NULL && s->progress(s->progress_arg, done, total) != 0) {
        errno = ECANCELED;
        return -1;
    }
    return 0;
}

static int
storage_file_copy(storage_t *s, int in, int out, unsigned long long total)
{
    unsigned long long done = 0;

    /* copy_file_range first: on one file system it can share extents or at
     * least skip the round trip through user space. */
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, STORAGE_FILE_CHUNK, 0);

        if (n == 0)
            return 0;
        if (n > 0) {
            done += (unsigned long long)n;
            if (storage_file_tick(s, done, total) < 0)
                return -1;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
            break;
        return -1;
    }
    for (;;) {
        ssize_t n = read(in, s->buf, STORAGE_BUF_SIZE), w;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n; off += w) {
            w = write(out, s->buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) {
                w = 0;
                continue;
            }
            if (w < 0)
                return -1;
        }
        done += (unsigned long long)n;
        if (storage_file_tick(s, done, total) < 0)
            return -1;
    }
}

static int
storage_file_fsync_dir(const char *path)
{
    char dir[PATH_MAX];
    char *slash;
    int fd, rc;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int
storage_file_put(storage_t *s, const char *local_path, const char *key, struct storage_result *r)
{
    char dst[PATH_MAX], tmp[PATH_MAX], what[2 * PATH_MAX + 32];
    size_t rootlen = strlen(s->loc.path);
    int in = -1, out = -1, created = 0, e, n;
    const char *base;
    struct stat st;

    n = snprintf(dst, sizeof(dst), "%s/%s", s->loc.path, key);
    if (n < 0 || (size_t)n >= sizeof(dst)) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "put file://%s/%s: path too long", s->loc.path,
                     key);
        errno = ENAMETOOLONG;
        return -1;
    }
    base = strrchr(dst, '/') + 1;
    /*
     * A dot name so that directory listings and globbing web servers skip it,
     * and one fixed name per key: a writer killed half-way leaves its
     * temporary file behind, and the retry of the same key (objects are
     * leased to one writer at a time) truncates and renames that very file,
     * so no debris outlives the next attempt; a delete removes it too.
     */
    n = snprintf(tmp, sizeof(tmp), "%.*s.%s.hlsd-tmp", (int)(base - dst), dst, base);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "put file://%s/%s: path too long", s->loc.path,
                     key);
        errno = ENAMETOOLONG;
        return -1;
    }
    in = open(local_path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(what, sizeof(what), "open(%s)", local_path);
        goto fail;
    }
    if (storage_file_mkdirs(dst, rootlen, what, sizeof(what)) < 0)
        goto fail;
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        snprintf(what, sizeof(what), "create(%s)", tmp);
        goto fail;
    }
    created = 1;
    snprintf(what, sizeof(what), "copy to %s", tmp);
    if (fstat(in, &st) < 0 || storage_file_copy(s, in, out, (unsigned long long)st.st_size) < 0)
        goto fail;
    /* the temporary file is 0600 until complete; published objects are for a web server to read */
    snprintf(what, sizeof(what), "fchmod(%s)", tmp);
    if (fchmod(out, 0644) < 0)
        goto fail;
    snprintf(what, sizeof(what), "fsync(%s)", tmp);
    if (fsync(out) < 0)
        goto fail;
    snprintf(what, sizeof(what), "close(%s)", tmp);
    e = close(out);
    out = -1;
    if (e < 0)
        goto fail;
    snprintf(what, sizeof(what), "rename(%s, %s)", tmp, dst);
    if (rename(tmp, dst) < 0)
        goto fail;
    created = 0;
    snprintf(what, sizeof(what), "fsync(directory of %s)", dst);
    if (storage_file_fsync_dir(dst) < 0)
        goto fail;
    close(in);
    r->cls = STORAGE_OK;
    return 0;
fail:
    e = errno;
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    if (created)
        unlink(tmp);
    /* the source file missing is the caller's problem, not a transient one */
    storage_fail(s, r, in < 0 ? STORAGE_PERMANENT : storage_file_class(e), 0,
                 "put file://%s/%s: %s: %s", s->loc.path, key, what, strerror(e));
    errno = e;
    return -1;
}

int
storage_file_delete(storage_t *s, const char *key, struct storage_result *r)
{
    char dst[PATH_MAX];
    int n = snprintf(dst, sizeof(dst), "%s/%s", s->loc.path, key), e;

    if (n < 0 || (size_t)n >= sizeof(dst)) {
        storage_fail(s, r, STORAGE_PERMANENT, 0, "delete file://%s/%s: path too long", s->loc.path,
                     key);
        errno = ENAMETOOLONG;
        return -1;
    }
    if (unlink(dst) < 0 && errno != ENOENT) {
        e = errno;
        storage_fail(s, r, storage_file_class(e), 0, "delete file://%s/%s: unlink(%s): %s",
                     s->loc.path, key, dst, strerror(e));
        errno = e;
        return -1;
    }
    /* and what a writer killed half-way may have left of it */
    char tmp[PATH_MAX];
    const char *base = strrchr(dst, '/') + 1;
    n = snprintf(tmp, sizeof(tmp), "%.*s.%s.hlsd-tmp", (int)(base - dst), dst, base);
    if (n > 0 && (size_t)n < sizeof(tmp))
        unlink(tmp);
    /* directories emptied by the delete go too, up to (not including) the root */
    size_t rootlen = strlen(s->loc.path);
    for (char *slash = strrchr(dst, '/'); slash && (size_t)(slash - dst) > rootlen;
         slash = strrchr(dst, '/')) {
        *slash = '\0';
        if (rmdir(dst) < 0)
            break;
    }
    r->cls = STORAGE_OK;
    return 0;
}
