/*
 * main.c - hlsd's entry point: options, configuration, daemonizing, the
 * pidfile lock and the privilege drop, then the master loop.
 *
 *   hlsd [-f] [-c FILE] [-t] [-v]
 *     -f  stay in the foreground and log to stderr
 *     -c  configuration file (default HLSD_DEFAULT_CONFIG; embedded
 *         defaults when that file does not exist and -c is not given)
 *     -t  check the configuration and exit: 0 good, 2 bad
 *     -v  debug logging
 *
 * Exit codes: 0 stopped cleanly, 2 configuration error, 3 environment
 * (socket, directories, store, already running).
 */
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/master.h"
#include "workers/storage.h"
#include "workers/upworker.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
usage(void)
{
    fprintf(stderr, "usage: hlsd [-f] [-c FILE] [-t] [-v]\n"
                    "  -f       foreground, log to stderr\n"
                    "  -c FILE  configuration (default " HLSD_DEFAULT_CONFIG ")\n"
                    "  -t       check the configuration and exit (0 good, 2 bad)\n"
                    "  -v       debug logging\n");
    exit(EXIT_CONFIG);
}

/* check_storage - -t also checks that the output can be opened (no I/O) */
static int
check_storage(const struct config *c, char *err, size_t errlen)
{
    struct storage_config sc;

    storage_global_init();
    upworker_storage_config(c, &sc);
    storage_t *st = storage_open(&sc, err, errlen);
    if (st == NULL)
        return -1;
    storage_close(st);
    return 0;
}

static int
lock_pidfile(const char *path)
{
    char dir[CONFIG_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
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

static void
daemonize(void)
{
    pid_t pid = fork();

    if (pid < 0) {
        fprintf(stderr, "hlsd: fork: %s\n", strerror(errno));
        exit(EXIT_ENV);
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        exit(EXIT_ENV);
    pid = fork(); /* not a session leader: can never reacquire a terminal */
    if (pid < 0)
        exit(EXIT_ENV);
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
}

static int
mkdir_p(const char *path)
{
    char tmp[CONFIG_PATH_MAX];
    size_t n = strlen(path);

    if (n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static void
mkdir_owned(const char *dir, uid_t uid, gid_t gid)
{
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        log_fatal(EXIT_ENV, "mkdir %s: %s", dir, strerror(errno));
    if (uid != (uid_t)-1 && chown(dir, uid, gid) < 0)
        log_fatal(EXIT_ENV, "chown %s: %s", dir, strerror(errno));
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

    while ((opt = getopt(argc, argv, "fc:tvh")) != -1) {
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
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
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
    if (!test && strncmp(cfg.upload.url, "file://", 7) == 0 && mkdir_p(cfg.upload.url + 7) < 0) {
        fprintf(stderr, "hlsd: [upload] url: mkdir %s: %s\n", cfg.upload.url + 7, strerror(errno));
        return EXIT_ENV;
    }
    if (check_storage(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "hlsd: %s: [upload]: %s\n", path, err);
        return EXIT_CONFIG;
    }
    if (test) {
        printf("hlsd: %s: configuration ok\n", path);
        return 0;
    }
    if (!foreground)
        daemonize();
    log_init("master", foreground, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
    if (cfg.daemon.pidfile[0])
        lock_pidfile(cfg.daemon.pidfile);
    drop_privileges(&cfg);
    return master_run(path, &cfg);
}
