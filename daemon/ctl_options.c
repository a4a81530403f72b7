/*
 * ctl_options.c - a submission's conversion options in its spool directory,
 * beside the input: each caption file it passed (copied as sub_<k>, checked
 * the way the conversion will read it, so a bad file is refused now, with
 * its line number, and not after the queue) and options.json, which the
 * convert worker reads. All of it is fsynced before the job exists, like
 * the input.
 *
 * Caption files are small (convert_caption_check bounds them): they are
 * copied in one go, and must be regular files.
 */
#include "daemon/ctl_int.h"

#include "workers/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTL_OPTIONS_FILE "options.json"

void
ctl_options_close_fds(struct ctl_conn *k)
{
    for (int i = 0; i < k->n_extra; i++)
        close(k->extra_fd[i]);
    k->n_extra = 0;
}

/* copy_caption - the passed descriptor src into dir/name, fsynced */
static int
copy_caption(int src, int dir, const char *name)
{
    struct stat st;
    int fl = fcntl(src, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY || fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(src, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 && fsync(fd) == 0 && close(fd) == 0)
                return 0;
            int e = n < 0 ? errno : EIO;
            close(fd);
            errno = e;
            return -1;
        }
        off += n;
        for (ssize_t w = 0; w < n;) {
            ssize_t r = write(fd, buf + w, (size_t)(n - w));
            if (r < 0 && errno != EINTR) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            w += r > 0 ? r : 0;
        }
        if (off > (off_t)CONVERT_CAPTION_MAX) { /* what convert_caption_check refuses anyway */
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
}

/*
 * ctl_options_write - before the input is copied: the caption files and
 * options.json into the submission's directory. 0, or -1 with err (the
 * caller removes the directory).
 */
int
ctl_options_write(struct ctl *c, struct ctl_conn *k, struct ctl_error *err)
{
    json_t *subs = json_object_get(k->rq.options, "subtitles");
    char path[PATH_MAX];

    err->close = 0;
    const char *ladder = json_string_value(json_object_get(k->rq.fwd, "ladder"));
    const char *format = json_string_value(json_object_get(k->rq.options, "format"));
    int fmp4 = format != NULL ? strcmp(format, "fmp4") == 0 : c->cfg->convert.fmp4;
    char why[200];
    if (config_check_format(ladder != NULL ? ladder : c->cfg->convert.ladder,
                            c->cfg->convert.video_codec, fmp4, why, sizeof(why)) < 0) {
        err->code = "bad_request";
        snprintf(err->message, sizeof(err->message), "%s%s", why,
                 fmp4 ? "" : " (submit with --format fmp4, \"format\": \"fmp4\")");
        return -1;
    }
    if (k->fds_truncated) {
        k->fds_truncated = 0;
        err->code = "bad_request";
        snprintf(err->message, sizeof(err->message),
                 "more descriptors than the input's and %d caption files'", CTL_MAX_CAPTIONS);
        return -1;
    }
    if (k->rq.options == NULL) {
        ctl_options_close_fds(k);
        return 0;
    }
    if (k->n_extra != k->rq.n_captions) {
        err->code = "bad_request";
        snprintf(err->message, sizeof(err->message),
                 "\"subtitles\" names %d files but %d descriptors came after the input's",
                 k->rq.n_captions, k->n_extra);
        return -1;
    }
    for (int i = 0; i < k->n_extra; i++) {
        json_t *s = json_array_get(subs, (size_t)i);
        const char *shown = json_string_value(json_object_get(s, "name"));
        char file[32];
        snprintf(file, sizeof(file), "sub_%d", i);
        snprintf(path, sizeof(path), "%s/incoming/%s/%s", c->cfg->daemon.spool_dir, k->ig.token,
                 file);
        if (copy_caption(k->extra_fd[i], k->ig.dirfd, file) < 0) {
            err->code = errno == EINVAL || errno == EFBIG ? "bad_input" : "io_error";
            snprintf(err->message, sizeof(err->message), "%s: %s", shown,
                     errno == EINVAL  ? "not a readable regular file"
                     : errno == EFBIG ? "larger than a caption file can be"
                                      : strerror(errno));
            return -1;
        }
        char why[256];
        if (convert_caption_check(path, shown, why, sizeof(why)) < 0) {
            err->code = "bad_input";
            snprintf(err->message, sizeof(err->message), "%s", why);
            return -1;
        }
        if (json_object_set_new(s, "file", json_string(file)) < 0) {
            err->code = "internal";
            snprintf(err->message, sizeof(err->message), "out of memory");
            return -1;
        }
    }
    ctl_options_close_fds(k);
    return ctl_options_save(k->ig.dirfd, k->rq.options, err);
}

/* ctl_options_save - options.json into the submission's directory dirfd,
 * fsynced; 0, or -1 with err */
int
ctl_options_save(int dirfd, json_t *options, struct ctl_error *err)
{
    char *text = json_dumps(options, JSON_COMPACT);
    int fd =
        text ? openat(dirfd, CTL_OPTIONS_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    size_t len = text ? strlen(text) : 0;
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) < 0)
        ok = 0;
    free(text);
    if (!ok) {
        err->code = "io_error";
        snprintf(err->message, sizeof(err->message), "saving the options in the spool: %s",
                 strerror(e));
        return -1;
    }
    return 0;
}
