/*
 * fix_storage.c - fixtures for the storage and upload tests (see fix_storage.h). Test
 * code: it may abort on a broken environment, since a fixture that cannot
 * set itself up must fail the test loudly rather than let it pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/fix_storage.h"

#include "tests/fix.h"

static void
fix_storage_die(const char *what)
{
    fprintf(stderr, "fix_storage: %s: %s\n", what, strerror(errno));
    abort();
}

int
fix_storage_s3_config(struct storage_config *cfg, char *url_buf, const char *prefix)
{
    const char *ep = getenv("HLSD_TEST_S3_ENDPOINT"), *bucket = getenv("HLSD_TEST_S3_BUCKET");

    memset(cfg, 0, sizeof(*cfg));
    if (ep == NULL || bucket == NULL || getenv("HLSD_TEST_S3_SECRET_KEY") == NULL)
        return -1;
    snprintf(url_buf, 512, "s3://%s/%s", bucket, prefix);
    cfg->url = url_buf;
    cfg->endpoint = ep;
    cfg->region = getenv("HLSD_TEST_S3_REGION");
    cfg->path_style = 1;
    cfg->access_key_id = getenv("HLSD_TEST_S3_ACCESS_KEY");
    cfg->secret_access_key = getenv("HLSD_TEST_S3_SECRET_KEY");
    cfg->connect_timeout_ms = 2000;
    cfg->low_speed_time_s = 20;
    return 0;
}

static void
fix_storage_mkparents(const char *path)
{
    char tmp[4096];

    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            fix_storage_die(tmp);
        *p = '/';
    }
}

void
fix_storage_write(const char *path, uint64_t size, uint32_t seed)
{
    static uint32_t block[65536]; /* 256 KiB */
    uint32_t x = seed * 2654435761u + 1;
    int fd;

    fix_storage_mkparents(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fix_storage_die(path);
    for (uint64_t done = 0, blk = 0; done < size; blk++) {
        size_t n = sizeof(block);

        /* xorshift per block, cheap enough for 256 MiB in well under a second */
        for (size_t i = 0; i < 65536; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            block[i] = x ^ (uint32_t)blk;
        }
        if (n > size - done)
            n = (size_t)(size - done);
        if (write(fd, block, n) != (ssize_t)n)
            fix_storage_die(path);
        done += n;
    }
    if (close(fd) < 0)
        fix_storage_die(path);
}

void
fix_storage_write_str(const char *path, const char *text)
{
    int fd;
    size_t n = strlen(text);

    fix_storage_mkparents(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n || close(fd) < 0)
        fix_storage_die(path);
}

static char *
fix_storage_slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return NULL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL)
        fix_storage_die("malloc");
    *len = 0;
    for (ssize_t n; (n = read(fd, buf + *len, (size_t)st.st_size - *len)) > 0;)
        *len += (size_t)n;
    buf[*len] = '\0';
    close(fd);
    return buf;
}

int
fix_storage_same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = fix_storage_slurp(a, &la), *y = fix_storage_slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;

    free(x);
    free(y);
    return same;
}

int
fix_storage_file_contains(const char *path, const char *needle)
{
    size_t len = 0;
    char *x = fix_storage_slurp(path, &len);
    int found = x && memmem(x, len, needle, strlen(needle)) != NULL;

    free(x);
    return found;
}

const char *const fix_storage_tree_keys[] = {
    "master.m3u8",       "360p/index.m3u8",
    "360p/seg_00000.ts", "360p/seg_00001.ts",
    "360p/seg_00002.ts", "720p/index.m3u8",
    "720p/seg_00000.ts", "720p/seg_00001.ts",
    "720p/empty.ts",     "names/a b+c=d \xc3\xa9\xe5\xad\x97.ts",
    "names/100%.m3u8",   "names/tilde~(parens)!'*;,&$@.ts",
};
const size_t fix_storage_tree_count =
    sizeof(fix_storage_tree_keys) / sizeof(fix_storage_tree_keys[0]);

void
fix_storage_make_tree(const char *root)
{
    char path[4096];

    for (size_t i = 0; i < fix_storage_tree_count; i++) {
        const char *k = fix_storage_tree_keys[i];
        uint64_t size;

        snprintf(path, sizeof(path), "%s/%s", root, k);
        if (strstr(k, ".m3u8") != NULL) {
            fix_storage_write_str(path, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n");
            continue;
        }
        if (strstr(k, "empty") != NULL)
            size = 0;
        else if (strncmp(k, "720p/seg_00000", 14) == 0)
            size = 1536 * 1024 + 7; /* over curl's 1 MiB Expect: 100-continue threshold */
        else
            size = 1000 + 37000 * i;
        fix_storage_write(path, size, (uint32_t)i);
    }
}

static void *
fix_storage_fake_main(void *arg)
{
    struct fix_storage_fake *f = arg;
    int c = accept(f->fd, NULL, NULL);
    size_t head_end = 0, want = 0;

    if (c < 0)
        return NULL;
    /* read the head, then as much body as Content-Length announces (bounded),
     * so that closing does not reset the connection under curl */
    while (f->request_len < sizeof(f->request) - 1) {
        ssize_t n = read(c, f->request + f->request_len, sizeof(f->request) - 1 - f->request_len);

        if (n <= 0)
            break;
        f->request_len += (size_t)n;
        f->request[f->request_len] = '\0';
        if (head_end == 0) {
            char *e = strstr(f->request, "\r\n\r\n"),
                 *cl = strcasestr(f->request, "Content-Length:");

            if (e == NULL)
                continue;
            head_end = (size_t)(e - f->request) + 4;
            want = cl && cl < e ? strtoul(cl + 15, NULL, 10) : 0;
            /* answer like a real server, so that curl sends the body */
            if (strcasestr(f->request, "Expect: 100-continue") && f->response &&
                write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 25)
                break;
        }
        if (f->request_len - head_end >= want || f->request_len >= sizeof(f->request) - 1)
            break;
    }
    if (f->response == NULL) {
        /* the silent server: hold the connection until the client gives up */
        char sink[4096];

        while (read(c, sink, sizeof(sink)) > 0)
            ;
    } else {
        size_t len = strlen(f->response);

        char sink[4096];

        /* a short write means the client is gone; the test checks its side */
        (void)!write(c, f->response, len);
        shutdown(c, SHUT_WR);
        while (read(c, sink, sizeof(sink)) > 0)
            ;
    }
    close(c);
    return NULL;
}

int
fix_storage_fake_start(struct fix_storage_fake *f, const char *response)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    pthread_t t;

    memset(f, 0, sizeof(*f));
    f->response = response;
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(f->fd, 4) < 0 ||
        getsockname(f->fd, (struct sockaddr *)&a, &alen) < 0)
        fix_storage_die("fake server socket");
    f->port = ntohs(a.sin_port);
    if (pthread_create(&t, NULL, fix_storage_fake_main, f) != 0)
        fix_storage_die("pthread_create");
    f->thread = (unsigned long)t;
    return 0;
}

void
fix_storage_fake_stop(struct fix_storage_fake *f)
{
    /* wakes an accept() still waiting when the client never connected */
    shutdown(f->fd, SHUT_RDWR);
    pthread_join((pthread_t)f->thread, NULL);
    close(f->fd);
}

int
fix_storage_dead_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

    /* bound but never listening: connections are refused, and no other
     * process can take the port while we hold it (the fd leaks on purpose
     * for the test process's short life) */
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
        fix_storage_die("dead port");
    port = ntohs(a.sin_port);
    return port;
}
