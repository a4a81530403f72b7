/*
 * ctl_ingest.c - submitted inputs into the spool, one bounded chunk at a
 * time, then fsync of the file and of both directories so that a job the
 * master acknowledges has its input on disk.
 *
 * It must never follow a client-chosen name (the token is ours, the file is
 * always "input") and never copy more than the configured limit.
 */
#include "daemon/ctl_ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_COPY (8u << 20)   /* copy_file_range per step: a few ms of disk */
#define CHUNK_READ (256u << 10) /* read/write per step */

static unsigned char ingest_buf[CHUNK_READ];

static void
remove_dir_at(int parent, const char *name)
{
    int d = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (d >= 0) {
        DIR *dir = fdopendir(d);
        if (dir == NULL) {
            close(d);
        } else {
            struct dirent *e;
            while ((e = readdir(dir)) != NULL)
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                    unlinkat(dirfd(dir), e->d_name, 0);
            closedir(dir);
        }
    }
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno == ENOTDIR)
        unlinkat(parent, name, 0);
}

int
ctl_ingest_open_spool(const char *spool_dir)
{
    return ctl_ingest_open_dir(spool_dir, "incoming");
}

int
ctl_ingest_open_dir(const char *spool_dir, const char *name)
{
    char path[4096];
    int fd;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool_dir, name) >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(spool_dir, 0700) < 0 && errno != EEXIST)
        return -1;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -1;
    if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;

    int d = dup(fd);
    DIR *dir = d >= 0 ? fdopendir(d) : NULL;
    if (dir == NULL) {
        int e = errno;
        if (d >= 0)
            close(d);
        close(fd);
        errno = e;
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove_dir_at(fd, e->d_name);
    closedir(dir);
    return fd;
}

int
ctl_ingest_begin(struct ctl_ingest *ig, int incoming, uint64_t limit, uint64_t expect)
{
    unsigned char rnd[CTL_INGEST_TOKEN_LEN / 2];

    memset(ig, 0, sizeof(*ig));
    ig->dirfd = ig->fd = -1;
    ig->limit = limit;
    ig->expect = expect;
    if (expect != UINT64_MAX && expect > limit) {
        errno = EFBIG;
        return -1;
    }
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -1;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(ig->token + 2 * i, 3, "%02x", rnd[i]);
    if (mkdirat(incoming, ig->token, 0700) < 0)
        goto fail;
    ig->dirfd = openat(incoming, ig->token, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ig->dirfd < 0)
        goto fail;
    ig->fd = openat(ig->dirfd, CTL_INGEST_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (ig->fd < 0)
        goto fail;
    return 0;
fail:;
    int e = errno;
    ctl_ingest_abort(ig, incoming);
    errno = e;
    return -1;
}

int
ctl_ingest_source(struct ctl_ingest *ig, int src)
{
    struct stat st;
    int fl = fcntl(src, F_GETFL);

    if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY || fstat(src, &st) < 0) {
        errno = EBADF;
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    /* a file, a pipe or a socket; not a device (/dev/zero would be copied
     * up to max_input_size), not an eventfd, epoll, timerfd or signalfd
     * (never readable, or endless) */
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        errno = ENODEV;
        return -1;
    }
    ig->src_regular = S_ISREG(st.st_mode);
    if (ig->src_regular) {
        off_t pos = lseek(src, 0, SEEK_CUR);
        if (pos >= 0 && st.st_size > pos && (uint64_t)(st.st_size - pos) > ig->limit) {
            errno = EFBIG;
            return -1;
        }
    }
    return 0;
}

void
ctl_ingest_kind(int src, char *out, size_t cap)
{
    struct stat st;
    char link[64], target[128];

    if (fstat(src, &st) < 0) {
        snprintf(out, cap, "not open");
        return;
    }
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        snprintf(out, cap, "a file");
        return;
    case S_IFDIR:
        snprintf(out, cap, "a directory");
        return;
    case S_IFIFO:
        snprintf(out, cap, "a pipe");
        return;
    case S_IFSOCK:
        snprintf(out, cap, "a socket");
        return;
    case S_IFCHR:
        snprintf(out, cap, "a character device");
        return;
    case S_IFBLK:
        snprintf(out, cap, "a block device");
        return;
    default:
        break;
    }
    /* "anon_inode:[eventfd]", "anon_inode:[eventpoll]", ... */
    snprintf(link, sizeof(link), "/proc/self/fd/%d", src);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    const char *b = strchr(target, '['), *e = strrchr(target, ']');
    if (strncmp(target, "anon_inode:", 11) == 0 && b && e && e > b)
        snprintf(out, cap, "an %.*s descriptor", (int)(e - b - 1), b + 1);
    else
        snprintf(out, cap, "a special descriptor");
}

size_t
ctl_ingest_remaining(const struct ctl_ingest *ig)
{
    if (ig->expect == UINT64_MAX)
        return SIZE_MAX;
    return (size_t)(ig->expect - ig->copied);
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* account - after n more bytes: complete, more, or over the limit */
static int
account(struct ctl_ingest *ig, size_t n)
{
    ig->copied += n;
    if (ig->copied > ig->limit) {
        errno = EFBIG;
        return -1;
    }
    return ig->expect != UINT64_MAX && ig->copied == ig->expect ? 1 : 0;
}

int
ctl_ingest_write(struct ctl_ingest *ig, const void *buf, size_t len)
{
    if (len > ctl_ingest_remaining(ig)) {
        errno = EINVAL;
        return -1;
    }
    if (write_all(ig->fd, buf, len) < 0) {
        ig->write_failed = 1;
        return -1;
    }
    return account(ig, len);
}

int
ctl_ingest_step(struct ctl_ingest *ig, int src)
{
    /* read one byte past the limit so that an oversize input is noticed */
    uint64_t room = ig->limit - ig->copied + 1;
    size_t want = ig->src_regular ? CHUNK_COPY : CHUNK_READ;
    ssize_t n;

    if (ig->expect != UINT64_MAX && ig->expect - ig->copied < room)
        room = ig->expect - ig->copied;
    if (room < want)
        want = (size_t)room;
    if (want == 0)
        return 1;
    if (ig->src_regular) {
        n = copy_file_range(src, NULL, ig->fd, NULL, want, 0);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            /* not supported between these two files: plain copy from now on */
            ig->src_regular = 0;
            return 0;
        }
    } else {
        n = read(src, ingest_buf, want);
    }
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return -1; /* EAGAIN for a non-blocking source with nothing yet */
    }
    if (n == 0) {
        if (ig->expect != UINT64_MAX && ig->copied < ig->expect) {
            errno = EPIPE;
            return -1;
        }
        return 1;
    }
    if (!ig->src_regular && write_all(ig->fd, ingest_buf, (size_t)n) < 0) {
        ig->write_failed = 1;
        return -1;
    }
    return account(ig, (size_t)n);
}

int
ctl_ingest_finish(struct ctl_ingest *ig, int incoming)
{
    if (fsync(ig->fd) < 0 || close(ig->fd) < 0) {
        ig->fd = -1;
        return -1;
    }
    ig->fd = -1;
    if (fsync(ig->dirfd) < 0)
        return -1;
    close(ig->dirfd);
    ig->dirfd = -1;
    return fsync(incoming);
}

void
ctl_ingest_remove(int incoming, const char *token)
{
    if (token[0] == '\0')
        return;
    remove_dir_at(incoming, token);
}

void
ctl_ingest_abort(struct ctl_ingest *ig, int incoming)
{
    if (ig->fd >= 0)
        close(ig->fd);
    if (ig->dirfd >= 0)
        close(ig->dirfd);
    ig->fd = ig->dirfd = -1;
    ctl_ingest_remove(incoming, ig->token);
    ig->token[0] = '\0';
}
