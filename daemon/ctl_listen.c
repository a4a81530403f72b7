/*
 * ctl_listen.c - the control socket, created once by the master so that it
 * outlives any ctl incarnation (clients connecting while ctl respawns wait
 * in the backlog instead of failing).
 *
 * A socket file left by a crashed daemon is replaced, but one that still
 * accepts connections belongs to a running daemon and is never stolen.
 * Never logs or exits: errors come back as -1, errno and a sentence.
 */
#include "daemon/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl_listen_fail(char *err, size_t errlen, int fd, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
ctl_listen_fail(char *err, size_t errlen, int fd, const char *fmt, ...)
{
    int e = errno;
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    if (fd >= 0)
        close(fd);
    errno = e;
    return -1;
}

/* ctl_listen_stale - 1 if path is a socket nobody accepts on, 0 if it is
 * alive, -1 if it is not a socket at all (never removed: it is not ours). */
static int
ctl_listen_stale(const struct sockaddr_un *sa)
{
    struct stat st;

    if (lstat(sa->sun_path, &st) < 0)
        return errno == ENOENT ? 1 : -1;
    if (!S_ISSOCK(st.st_mode))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int e = errno;
    close(fd);
    if (rc == 0)
        return 0;
    return e == ECONNREFUSED || e == ENOENT ? 1 : 0;
}

static int
ctl_listen_owner(const struct config *cfg, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    char buf[16384];

    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (cfg->daemon.user[0]) {
        struct passwd pw, *res = NULL;
        if (getpwnam_r(cfg->daemon.user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
            errno = ENOENT;
            return ctl_listen_fail(err, errlen, -1, "unknown user \"%s\"", cfg->daemon.user);
        }
        *uid = pw.pw_uid;
    }
    if (cfg->daemon.group[0]) {
        struct group gr, *res = NULL;
        if (getgrnam_r(cfg->daemon.group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
            errno = ENOENT;
            return ctl_listen_fail(err, errlen, -1, "unknown group \"%s\"", cfg->daemon.group);
        }
        *gid = gr.gr_gid;
    }
    return 0;
}

int
ctl_listen(const struct config *cfg, char *err, size_t errlen)
{
    const char *path = cfg->daemon.socket;
    mode_t mode = (mode_t)(cfg->daemon.socket_mode & 0777); /* checked by config.c */
    struct sockaddr_un sa;
    uid_t uid;
    gid_t gid;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return ctl_listen_fail(err, errlen, -1, "socket path \"%s\" is empty or longer than %zu",
                               path, sizeof(sa.sun_path) - 1);
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (ctl_listen_owner(cfg, &uid, &gid, err, errlen) < 0)
        return -1;

    switch (ctl_listen_stale(&sa)) {
    case 0:
        errno = EADDRINUSE;
        return ctl_listen_fail(err, errlen, -1, "%s: another daemon is listening there", path);
    case -1:
        errno = EEXIST;
        return ctl_listen_fail(err, errlen, -1, "%s exists and is not a socket", path);
    default:
        if (unlink(path) < 0 && errno != ENOENT)
            return ctl_listen_fail(err, errlen, -1, "unlink %s: %s", path, strerror(errno));
    }

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ctl_listen_fail(err, errlen, -1, "socket: %s", strerror(errno));
    /* bind under a tight umask so the socket is never briefly wider than
     * socket_mode */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0)
        return ctl_listen_fail(err, errlen, fd, "bind %s: %s", path, strerror(errno));
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)
        return ctl_listen_fail(err, errlen, fd, "chown %s: %s", path, strerror(errno));
    if (chmod(path, mode) < 0)
        return ctl_listen_fail(err, errlen, fd, "chmod %s: %s", path, strerror(errno));
    if (listen(fd, 128) < 0)
        return ctl_listen_fail(err, errlen, fd, "listen %s: %s", path, strerror(errno));
    return fd;
}
