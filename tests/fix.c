/*
 * fix.c - the shared test fixtures (see fix.h).
 */
#include "tests/fix.h"

#include "ipc/msclock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
die(const char *what)
{
    fprintf(stderr, "fix: %s: %s\n", what, strerror(errno));
    abort();
}

const char *
fix_tmp(void)
{
    const char *t = getenv("HLSD_TEST_TMP");
    return t && t[0] ? t : "/tmp";
}

const char *
fix_bindir(void)
{
    const char *b = getenv("HLSD_BINDIR");
    return b && b[0] ? b : "bin";
}

const char *
fix_srcdir(void)
{
    const char *s = getenv("HLSD_SRCDIR");
    return s && s[0] ? s : ".";
}

const char *
fix_version(void)
{
    static char v[64];
    char path[1024];

    snprintf(path, sizeof(path), "%s/VERSION", fix_srcdir());
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(v, sizeof(v), f) == NULL)
        die(path);
    fclose(f);
    v[strcspn(v, "\n")] = '\0';
    if (v[0] == '\0')
        die("VERSION is empty");
    return v;
}

int64_t
fix_ms(void)
{
    return msclock_mono();
}

void
fix_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int
fix_wait(int (*cond)(void *ud), void *ud, int timeout_ms)
{
    int64_t deadline = fix_ms() + timeout_ms;

    for (;;) {
        if (cond(ud))
            return 1;
        if (fix_ms() >= deadline)
            return 0;
        fix_nap(10);
    }
}

uint64_t
fix_mix(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

void
fix_unique(char *out, size_t cap, const char *name)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, cap, "%s-%d-%ld", name, (int)getpid(), (long)ts.tv_nsec);
}

void
fix_tmpdir(char *out, size_t cap, const char *name)
{
    char u[128];

    fix_unique(u, sizeof(u), name);
    snprintf(out, cap, "%s/%s", fix_tmp(), u);
    if (mkdir(out, 0755) < 0)
        die(out);
}

int
fix_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *
fix_text(const char *text)
{
    static char path[512];
    static int n;

    snprintf(path, sizeof(path), "%s/text-%ld-%d", fix_tmp(), (long)getpid(), n++);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        die(path);
    return path;
}

char *
fix_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = NULL, chunk[4096];
    size_t len = 0, n;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL)
        die("open_memstream");
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (fclose(m) != 0)
        die(path);
    return buf;
}

char *
fix_repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        die("malloc");
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

int
fix_proc_stat(pid_t pid, char *state, pid_t *ppid)
{
    char path[64], buf[512];
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: skip to its last ')' */
    const char *rp = strrchr(buf, ')');
    char st;
    long pp;
    if (rp == NULL || sscanf(rp + 1, " %c %ld", &st, &pp) != 2)
        return -1;
    if (state != NULL)
        *state = st;
    if (ppid != NULL)
        *ppid = (pid_t)pp;
    return 0;
}

int
fix_alive(pid_t pid)
{
    char st;
    return fix_proc_stat(pid, &st, NULL) == 0 && st != 'Z' && st != 'X';
}

pid_t
fix_pidfile(const char *path)
{
    FILE *f = fopen(path, "r");
    long pid = -1;
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = -1;
    fclose(f);
    return (pid_t)pid;
}

int
fix_vsh(char *out, size_t cap, const char *fmt, va_list ap)
{
    char cmd[8192];

    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    size_t n = 0, k;
    char buf[4096];
    while ((k = fread(buf, 1, sizeof(buf), p)) > 0) {
        if (out && n + 1 < cap) {
            size_t c = k < cap - 1 - n ? k : cap - 1 - n;
            memcpy(out + n, buf, c);
            n += c;
        }
    }
    if (out && cap)
        out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int
fix_sh(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int rc = fix_vsh(out, cap, fmt, ap);
    va_end(ap);
    return rc;
}

int
fix_run(char *const argv[], char *const env[], const char *out_path, struct rusage *ru)
{
    int status;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0)
            dup2(fd, 0);
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, ru) < 0)
        die("wait4");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* capture_read - what the file fd holds, NUL-terminated, into out */
static void
capture_read(int fd, char *out, size_t outlen)
{
    size_t len = 0;
    if (out == NULL || outlen == 0)
        return;
    while (len + 1 < outlen) {
        ssize_t n = pread(fd, out + len, outlen - 1 - len, (off_t)len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
}

int
fix_capture(char *const argv[], int in_fd, const char *unset, char *out, size_t outlen, char *err,
            size_t errlen)
{
    static unsigned seq;
    char opath[600], epath[600];

    snprintf(opath, sizeof(opath), "%s/capture-%ld-%u.out", fix_tmp(), (long)getpid(), seq);
    snprintf(epath, sizeof(epath), "%s/capture-%ld-%u.err", fix_tmp(), (long)getpid(), seq++);
    int ofd = open(opath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int efd = open(epath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (ofd < 0 || efd < 0)
        die(opath);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        dup2(in_fd >= 0 ? in_fd : nul, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        if (unset != NULL)
            unsetenv(unset);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    capture_read(ofd, out, outlen);
    capture_read(efd, err, errlen);
    close(ofd);
    close(efd);
    unlink(opath);
    unlink(epath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *
fix_ffmpeg(const char *name, const char *args)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", fix_tmp(), name);
    if (fix_sh(NULL, 0, "ffmpeg -nostdin -v error -y %s '%s'", args, path) != 0)
        return NULL;
    return strdup(path);
}

const char *
fix_clip(int seconds, int w, int h)
{
    static char path[512];
    char name[600], args[512];

    snprintf(path, sizeof(path), "%s/clip-%ds-%dx%d.mp4", fix_tmp(), seconds, w, h);
    if (fix_exists(path))
        return path;
    /* made under a private name and renamed: parallel tests may race here */
    snprintf(name, sizeof(name), "clip-%ds-%dx%d.mp4.%ld.tmp.mp4", seconds, w, h, (long)getpid());
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=size=%dx%d:rate=25:duration=%d -f lavfi -i "
             "sine=frequency=440:duration=%d -c:v libx264 -preset ultrafast -pix_fmt yuv420p "
             "-c:a aac -shortest",
             w, h, seconds, seconds);
    char *tmp = fix_ffmpeg(name, args);
    if (tmp == NULL)
        return NULL;
    int rc = rename(tmp, path);
    free(tmp);
    return rc == 0 ? path : NULL;
}

int
fix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int
fix_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

char *
fix_line(int fd, int timeout_ms)
{
    size_t cap = 1024, len = 0;
    char *buf = malloc(cap);

    if (buf == NULL)
        die("malloc");
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            break;
        if (len + 1 >= cap) {
            char *n = realloc(buf, cap *= 2);
            if (n == NULL)
                die("realloc");
            buf = n;
        }
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0)
            break;
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return buf;
        }
        len++;
    }
    free(buf);
    return NULL;
}
