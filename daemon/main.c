/*
 * main.c - hlsd's entry point: options, configuration, daemonizing, the
 * pidfile lock and the privilege drop, then the master loop.
 *
 *   hlsd [-f] [-c FILE] [-t] [-v] | -V | -h
 *     -f  stay in the foreground and log to stderr
 *     -c  configuration file (default HLSD_DEFAULT_CONFIG; embedded
 *         defaults when that file does not exist and -c is not given)
 *     -t  check the configuration and exit: 0 good, 2 bad
 *     -v  debug logging
 *     -V  print the version and exit 0; -h (--help) print the usage, exit 0
 *
 * Without -f the process started returns only once the daemon holds its
 * pidfile and accepts on its socket (0), or has failed (3; "already
 * running" is said on the terminal), so init scripts and systemd
 * Type=forking can rely on the pidfile the moment it returns.
 *
 * Exit codes: 0 stopped cleanly, 2 configuration error, 3 environment
 * (socket, directories, store, already running).
 */
#include "daemon/config.h"
#include "daemon/ctl.h"
#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/master.h"
#include "daemon/plugin.h"
#include "daemon/spool.h"
#include "daemon/version.h"
#include "workers/storage.h"
#include "workers/upworker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* usage - asked for (-h): stdout, exit 0; a usage error: stderr, exit 2 */
static _Noreturn void
usage(int asked)
{
    fprintf(asked ? stdout : stderr, "usage: hlsd [-f] [-c FILE] [-t] [-v] | -V | -h\n"
                                     "  -f       foreground, log to stderr\n"
                                     "  -c FILE  configuration (default " HLSD_DEFAULT_CONFIG ")\n"
                                     "  -t       check the configuration and exit (0 good, 2 bad)\n"
                                     "  -v       debug logging\n"
                                     "  -V       print the version and exit\n"
                                     "  -h       print this help and exit (also --help)\n"
                                     "See hlsd(8) and hlsd.conf(5).\n");
    exit(asked ? 0 : EXIT_CONFIG);
}

/* will_create - 1 if path is missing but its nearest existing ancestor is a
 * directory: hlsd creates a file:// output directory at start, so a fresh
 * install's `hlsd -t` must not fail on it */
static int
will_create(const char *path)
{
    char dir[CONFIG_PATH_MAX];
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", path);
    if (stat(dir, &st) == 0 || errno != ENOENT)
        return 0;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL)
            return 0;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(dir, &st) == 0)
            return S_ISDIR(st.st_mode);
        if (errno != ENOENT || slash == dir)
            return 0;
    }
}

/* check_storage_child - in a child of check_storage: load the upload
 * engine, open the output (no I/O), write the reason of a failure to wfd */
static void
check_storage_child(const struct config *c, int wfd)
{
    char err[1024] = "";
    struct storage_config sc;
    int (*global_init)(void) =
        (int (*)(void))plugin_sym(PLUGIN_UPLOAD, "storage_global_init", err, sizeof(err));
    storage_t *(*open_fn)(const struct storage_config *, char *, size_t) =
        (storage_t * (*)(const struct storage_config *, char *, size_t))
            plugin_sym(PLUGIN_UPLOAD, "storage_open", err, sizeof(err));
    void (*close_fn)(storage_t *) =
        (void (*)(storage_t *))plugin_sym(PLUGIN_UPLOAD, "storage_close", err, sizeof(err));
    int rc = 1;

    if (global_init && open_fn && close_fn) {
        global_init();
        config_storage(c, &sc);
        storage_t *st = open_fn(&sc, err, sizeof(err));
        if (st != NULL) {
            close_fn(st);
            rc = 0;
        }
    }
    if (rc != 0 && write(wfd, err, strlen(err)) < 0)
        rc = 2;
    _exit(rc);
}

/* check_storage - that the output can be opened (no I/O), -t or not. In a
 * child, so that the master never maps the upload engine's libraries. */
static int
check_storage(const struct config *c, int test, char *err, size_t errlen)
{
    int fds[2], status;

    if (test && strncmp(c->upload.url, "file://", 7) == 0 && will_create(c->upload.url + 7))
        return 0;
    if (pipe(fds) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        check_storage_child(c, fds[1]);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errlen && (r = read(fds[0], err + n, errlen - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        n += (size_t)r;
    }
    err[n] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (n == 0)
        snprintf(err, errlen, "checking the output failed (status %d)", status);
    return -1;
}

static int
lock_pidfile(const char *path)
{
    char dir[CONFIG_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (spool_mkdir_p(dir, 0755) < 0)
            log_fatal(EXIT_ENV, "mkdir %s: %s", dir, strerror(errno));
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char buf[32];

    if (fd < 0)
        log_fatal(EXIT_ENV, "open pidfile %s: %s", path, strerror(errno));
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        log_fatal(EXIT_ENV, "hlsd is already running (pid %s, pidfile %s)", buf[0] ? buf : "?",
                  path);
    }
    if (ftruncate(fd, 0) < 0)
        log_fatal(EXIT_ENV, "ftruncate %s: %s", path, strerror(errno));
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (pwrite(fd, buf, (size_t)n, 0) != n)
        log_fatal(EXIT_ENV, "write pidfile %s: %s", path, strerror(errno));
    return fd; /* kept open: the lock lives as long as we do */
}

/* pidfile_busy - before daemonizing: is another hlsd holding the lock?
 * Says so on the terminal (the daemon's own check, in lock_pidfile, can
 * only tell syslog). Racy by nature; lock_pidfile stays the real check. */
static void
pidfile_busy(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    if (fd < 0)
        return;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
        fprintf(stderr, "hlsd: hlsd is already running (pid %ld, pidfile %s)\n", (long)fl.l_pid,
                path);
        exit(EXIT_ENV);
    }
    close(fd);
}

/* socket_up - 1 once something accepts connections on path */
static int
socket_up(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok;

    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* pid_gone - 1 if pid has exited: a zombie counts, as nobody may reap it
 * for a while when a subreaper adopted it */
static int
pid_gone(pid_t pid)
{
    char path[64], buf[512];

    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/*
 * daemon_parent - the process the user (or an init script) started waits
 * until the daemon holds its pidfile lock and accepts on its socket, so
 * that when `hlsd` returns 0 the pidfile names the master and `hlsctl`
 * works; a failure in between is an exit status, not only a syslog line.
 */
static _Noreturn void
daemon_parent(int rfd, const struct config *c)
{
    long pid = 0;
    char buf[32];
    ssize_t n;
    size_t got = 0;

    while (got < sizeof(buf) - 1 &&
           ((n = read(rfd, buf + got, sizeof(buf) - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
        got += n > 0 ? (size_t)n : 0;
    buf[got] = '\0';
    if (sscanf(buf, "ready %ld", &pid) != 1 || pid <= 0) {
        fprintf(stderr, "hlsd: the daemon exited during start-up (see the system log)\n");
        _exit(EXIT_ENV);
    }
    /* the socket comes up once the store is open and recovered */
    for (int i = 0; i < 3000; i++) {
        if (socket_up(c->daemon.socket))
            _exit(0);
        if (pid_gone((pid_t)pid)) {
            fprintf(stderr,
                    "hlsd: the daemon (pid %ld) exited during start-up (see the system "
                    "log)\n",
                    pid);
            _exit(EXIT_ENV);
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "hlsd: started (pid %ld), but %s does not answer yet\n", pid, c->daemon.socket);
    _exit(0);
}

/* daemonize - double fork and setsid; returns, in the daemon, the pipe's
 * write end on which daemon_ready() tells the waiting parent */
static int
daemonize(const struct config *c)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "hlsd: pipe: %s\n", strerror(errno));
        exit(EXIT_ENV);
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "hlsd: fork: %s\n", strerror(errno));
        exit(EXIT_ENV);
    }
    if (pid > 0) {
        close(p[1]);
        waitpid(pid, NULL, 0); /* the middle process exits at once */
        daemon_parent(p[0], c);
    }
    close(p[0]);
    if (setsid() < 0)
        _exit(EXIT_ENV);
    pid = fork(); /* not a session leader: can never reacquire a terminal */
    if (pid < 0)
        _exit(EXIT_ENV);
    if (pid > 0)
        _exit(0);
    umask(027);
    if (chdir("/") < 0)
        exit(EXIT_ENV);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    return p[1];
}

/* daemon_ready - pidfile locked, privileges dropped: release the parent to
 * its socket wait (children forked later must not hold the pipe) */
static void
daemon_ready(int wfd)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "ready %ld\n", (long)getpid());

    if (write(wfd, buf, (size_t)n) != n) {
        /* the parent is gone: nobody left to tell */
    }
    close(wfd);
}

static void
mkdir_owned(const char *dir, uid_t uid, gid_t gid)
{
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        log_fatal(EXIT_ENV, "mkdir %s: %s", dir, strerror(errno));
    if (uid != (uid_t)-1 && chown(dir, uid, gid) < 0)
        log_fatal(EXIT_ENV, "chown %s: %s", dir, strerror(errno));
}

/* warn_exposure - risks of the configuration itself, said once at start:
 * a secret in a file others may read, and a daemon that keeps root */
static void
warn_exposure(const char *path, const struct config *c)
{
    struct stat st;

    if ((c->upload.secret_access_key[0] || c->upload.session_token[0]) && stat(path, &st) == 0 &&
        (st.st_mode & S_IROTH))
        log_warn("%s holds a secret ([upload] secret_access_key or session_token) and is "
                 "readable by others (mode %04o): chmod o-r %s",
                 path, (unsigned)(st.st_mode & 07777), path);
    else if ((c->input.secret_access_key[0] || c->input.session_token[0] || c->notify.secret[0]) &&
             stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        log_warn("%s holds a secret ([input] secret_access_key or session_token, or [notify] "
                 "secret) and is readable by others (mode %04o): chmod o-r %s",
                 path, (unsigned)(st.st_mode & 07777), path);
    if (geteuid() == 0 && c->daemon.user[0] == '\0')
        log_warn("running as root: set [daemon] user so that the workers, which parse "
                 "untrusted media, do not run as root");
}

/* drop_privileges - as root with [daemon] user set: own our directories,
 * then become that user for good */
static void
drop_privileges(const struct config *c)
{
    if (c->daemon.user[0] == '\0' || geteuid() != 0)
        return;
    struct passwd *pw = getpwnam(c->daemon.user);
    if (pw == NULL)
        log_fatal(EXIT_CONFIG, "[daemon] user %s does not exist", c->daemon.user);
    gid_t gid = pw->pw_gid;
    if (c->daemon.group[0]) {
        struct group *gr = getgrnam(c->daemon.group);
        if (gr == NULL)
            log_fatal(EXIT_CONFIG, "[daemon] group %s does not exist", c->daemon.group);
        gid = gr->gr_gid;
    }
    mkdir_owned(c->daemon.state_dir, pw->pw_uid, gid);
    mkdir_owned(c->daemon.spool_dir, pw->pw_uid, gid);
    if (strncmp(c->upload.url, "file://", 7) == 0)
        mkdir_owned(c->upload.url + 7, pw->pw_uid, gid);
    if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0)
        log_fatal(EXIT_ENV, "dropping privileges to %s: %s", c->daemon.user, strerror(errno));
}

int
main(int argc, char **argv)
{
    const char *path = NULL;
    int foreground = 0, test = 0, verbose = 0, opt;
    struct config cfg;
    char err[1024];

    /* the GNU long forms too, as packagers' scripts expect them */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0)
            usage(1);
        if (strcmp(argv[i], "--version") == 0) {
            printf("hlsd %s\n", HLSD_VERSION);
            return 0;
        }
    }
    while ((opt = getopt(argc, argv, "fc:tvVh")) != -1) {
        switch (opt) {
        case 'f':
            foreground = 1;
            break;
        case 'c':
            path = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'V':
            printf("hlsd %s\n", HLSD_VERSION);
            return 0;
        case 'h':
            usage(1);
        default:
            usage(0);
        }
    }
    if (optind != argc)
        usage(0);
    if (path == NULL && access(HLSD_DEFAULT_CONFIG, F_OK) == 0)
        path = HLSD_DEFAULT_CONFIG;
    if (path) {
        if (config_load(&cfg, path, err, sizeof(err)) < 0) {
            fprintf(stderr, "hlsd: %s\n", err);
            return EXIT_CONFIG;
        }
    } else {
        config_defaults(&cfg);
        path = "(embedded defaults)";
    }
    if (cfg.convert.workers > MASTER_MAX_CONVERT || cfg.upload.workers > MASTER_MAX_UPLOAD) {
        fprintf(stderr, "hlsd: %s: at most %d convert and %d upload workers\n", path,
                MASTER_MAX_CONVERT, MASTER_MAX_UPLOAD);
        return EXIT_CONFIG;
    }
    /* a local output directory is ours to create (not in -t: it checks only) */
    if (!test && strncmp(cfg.upload.url, "file://", 7) == 0 &&
        spool_mkdir_p(cfg.upload.url + 7, 0755) < 0) {
        fprintf(stderr, "hlsd: [upload] url: mkdir %s: %s\n", cfg.upload.url + 7, strerror(errno));
        return EXIT_ENV;
    }
    if (plugin_open(err, sizeof(err)) < 0) {
        fprintf(stderr, "hlsd: a broken installation: %s\n", err);
        return EXIT_CONFIG;
    }
    if (check_storage(&cfg, test, err, sizeof(err)) < 0) {
        fprintf(stderr, "hlsd: %s: [upload]: %s\n", path, err);
        return EXIT_CONFIG;
    }
    if (http_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "hlsd: %s: %s\n", path, err);
        return EXIT_CONFIG;
    }
    if (test) {
        printf("hlsd: %s: configuration ok\n", path);
        return 0;
    }
    int ready_fd = -1;
    if (!foreground) {
        if (cfg.daemon.pidfile[0])
            pidfile_busy(cfg.daemon.pidfile);
        ready_fd = daemonize(&cfg);
    }
    log_init("master", foreground, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    if (cfg.daemon.pidfile[0])
        lock_pidfile(cfg.daemon.pidfile);
    warn_exposure(path, &cfg);
    /* the socket is bound before the privilege drop, so that it can live in
     * a directory only root may write (/run/hlsd); ctl_listen gives it the
     * configured owner and mode */
    char sockdir[CONFIG_PATH_MAX];
    snprintf(sockdir, sizeof(sockdir), "%s", cfg.daemon.socket);
    char *slash = strrchr(sockdir, '/');
    if (slash && slash != sockdir) {
        *slash = '\0';
        if (spool_mkdir_p(sockdir, 0755) < 0)
            log_fatal(EXIT_ENV, "mkdir %s: %s", sockdir, strerror(errno));
    }
    int listen_fd = ctl_listen(&cfg, err, sizeof(err));
    if (listen_fd < 0)
        log_fatal(EXIT_ENV, "control socket: %s", err);
    /* the HTTP API's port too, before the drop (a port below 1024 works) */
    int http_fd = -1;
    if (cfg.http.listen[0] && (http_fd = http_listen(&cfg, err, sizeof(err))) < 0)
        log_fatal(EXIT_ENV, "HTTP API: %s", err);
    drop_privileges(&cfg);
    if (ready_fd >= 0)
        daemon_ready(ready_fd);
    pid_t master = getpid();
    int rc = master_run(path, &cfg, listen_fd, http_fd);
    /* a clean stop leaves no pidfile behind (best effort: after dropping
     * privileges its directory may no longer be writable) */
    if (getpid() == master && cfg.daemon.pidfile[0])
        unlink(cfg.daemon.pidfile);
    return rc;
}
