/*
 * hls-put - publish a directory tree (an HLS rendition set) to a storage URL
 * with the upload engine the daemon uses:
 *
 *   hls-put DIR URL [--parallel N] [--endpoint URL] [--region R] [--path-style]
 *                   [--cache-control V] [--acl A] [--quiet]
 *
 * URL is file:///dir or s3://bucket/prefix; S3 credentials come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. N threads
 * each own one storage handle (one kept-alive connection), like N upload
 * workers. Objects go in three phases so that a reader never finds a
 * playlist naming a missing object: media files, then the playlists below
 * the top level (renditions), then the top-level playlists (master). A
 * phase starts only when the previous one fully succeeded. Retryable
 * failures are retried with backoff_delay_ms(). Exit: 0 all published,
 * 1 some object failed, 2 usage or set-up error.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/backoff.h"
#include "workers/storage.h"

struct hls_put_obj {
    char *path; /* absolute path of the local file */
    char *key;  /* path relative to DIR */
    long long size;
    int phase;
};

static struct {
    struct hls_put_obj *objs;
    size_t nobjs, cap;
    size_t rootlen;
    struct storage_config cfg;
    int quiet;
    atomic_size_t next;
    atomic_int failed;
    atomic_long retries;
    pthread_barrier_t barrier;
    size_t phase_begin[4];
    pthread_mutex_t out_lock;
} hls_put;

static int
hls_put_phase(const char *key)
{
    size_t n = strlen(key);

    if (n < 5 || strcmp(key + n - 5, ".m3u8") != 0)
        return 0;
    return strchr(key, '/') != NULL ? 1 : 2;
}

static int
hls_put_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    struct hls_put_obj *o;

    (void)ftw;
    if (type != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    if (hls_put.nobjs == hls_put.cap) {
        size_t cap = hls_put.cap ? hls_put.cap * 2 : 256;
        struct hls_put_obj *n = realloc(hls_put.objs, cap * sizeof(*n));

        if (n == NULL)
            return -1;
        hls_put.objs = n;
        hls_put.cap = cap;
    }
    o = &hls_put.objs[hls_put.nobjs];
    o->path = strdup(path);
    o->key = strdup(path + hls_put.rootlen + 1);
    if (o->path == NULL || o->key == NULL)
        return -1;
    o->size = (long long)st->st_size;
    o->phase = hls_put_phase(o->key);
    hls_put.nobjs++;
    return 0;
}

static int
hls_put_cmp(const void *a, const void *b)
{
    const struct hls_put_obj *x = a, *y = b;

    if (x->phase != y->phase)
        return x->phase - y->phase;
    return strcmp(x->key, y->key);
}

static void
hls_put_sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void
hls_put_one(storage_t *s, const struct hls_put_obj *o, uint64_t *rng)
{
    static const struct backoff_config bc = {200, 5000, 5, 30000};
    struct storage_result r;

    for (unsigned attempt = 1;; attempt++) {
        uint64_t delay;

        if (storage_put(s, o->path, o->key, &r) == 0)
            return;
        delay = r.cls == STORAGE_RETRYABLE ? backoff_delay_ms(&bc, attempt, r.retry_after_ms, rng)
                                           : BACKOFF_GIVE_UP;
        if (delay == BACKOFF_GIVE_UP) {
            pthread_mutex_lock(&hls_put.out_lock);
            fprintf(stderr, "hls-put: %s (%s, attempt %u)\n", r.error, storage_class_name(r.cls),
                    attempt);
            pthread_mutex_unlock(&hls_put.out_lock);
            atomic_store(&hls_put.failed, 1);
            return;
        }
        atomic_fetch_add(&hls_put.retries, 1);
        hls_put_sleep_ms(delay);
    }
}

static void *
hls_put_worker(void *arg)
{
    char err[512];
    storage_t *s = storage_open(&hls_put.cfg, err, sizeof(err));
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL);

    if (s == NULL) {
        pthread_mutex_lock(&hls_put.out_lock);
        fprintf(stderr, "hls-put: %s\n", err);
        pthread_mutex_unlock(&hls_put.out_lock);
        atomic_store(&hls_put.failed, 1);
    }
    for (int phase = 0; phase < 3; phase++) {
        for (;;) {
            size_t i = atomic_fetch_add(&hls_put.next, 1);

            if (s == NULL || atomic_load(&hls_put.failed) || i >= hls_put.phase_begin[phase + 1])
                break;
            hls_put_one(s, &hls_put.objs[i], &rng);
        }
        /* the serial thread moves the shared cursor to the next phase */
        if (pthread_barrier_wait(&hls_put.barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
            atomic_store(&hls_put.next, hls_put.phase_begin[phase + 1]);
        pthread_barrier_wait(&hls_put.barrier);
    }
    storage_close(s);
    return NULL;
}

static void
hls_put_usage(void)
{
    fprintf(stderr, "usage: hls-put DIR URL [--parallel N] [--endpoint URL] [--region R] "
                    "[--path-style] [--cache-control V] [--acl A] [--quiet]\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"parallel", required_argument, NULL, 'p'},
        {"endpoint", required_argument, NULL, 'e'},
        {"region", required_argument, NULL, 'r'},
        {"path-style", no_argument, NULL, 's'},
        {"cache-control", required_argument, NULL, 'c'},
        {"acl", required_argument, NULL, 'a'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct timespec t0, t1;
    long parallel = 4;
    long long bytes = 0;
    pthread_t *threads;
    char root[4096];
    double secs;
    int c;

    while ((c = getopt_long(argc, argv, "p:e:r:sc:a:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            parallel = strtol(optarg, NULL, 10);
            if (parallel < 1 || parallel > 256) {
                fprintf(stderr, "hls-put: --parallel must be 1..256\n");
                return 2;
            }
            break;
        case 'e':
            hls_put.cfg.endpoint = optarg;
            break;
        case 'r':
            hls_put.cfg.region = optarg;
            break;
        case 's':
            hls_put.cfg.path_style = 1;
            break;
        case 'c':
            hls_put.cfg.cache_control = optarg;
            break;
        case 'a':
            hls_put.cfg.acl = optarg;
            break;
        case 'q':
            hls_put.quiet = 1;
            break;
        default:
            hls_put_usage();
            return c == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 2) {
        hls_put_usage();
        return 2;
    }
    if (realpath(argv[optind], root) == NULL) {
        fprintf(stderr, "hls-put: %s: %s\n", argv[optind], strerror(errno));
        return 2;
    }
    hls_put.cfg.url = argv[optind + 1];
    hls_put.rootlen = strlen(root);
    if (nftw(root, hls_put_visit, 32, FTW_PHYS) != 0) {
        fprintf(stderr, "hls-put: walking %s: %s\n", root, strerror(errno));
        return 2;
    }
    qsort(hls_put.objs, hls_put.nobjs, sizeof(*hls_put.objs), hls_put_cmp);
    for (int p = 0, i = 0; p <= 3; p++) {
        while ((size_t)i < hls_put.nobjs && hls_put.objs[i].phase < p)
            i++;
        hls_put.phase_begin[p] = (size_t)i;
    }
    hls_put.phase_begin[3] = hls_put.nobjs;
    for (size_t i = 0; i < hls_put.nobjs; i++)
        bytes += hls_put.objs[i].size;

    if (storage_global_init() < 0) {
        fprintf(stderr, "hls-put: curl_global_init failed\n");
        return 2;
    }
    {
        /* fail fast, before any thread, on a bad URL or missing credentials */
        char err[512];
        storage_t *s = storage_open(&hls_put.cfg, err, sizeof(err));

        if (s == NULL) {
            fprintf(stderr, "hls-put: %s\n", err);
            return 2;
        }
        storage_close(s);
    }
    threads = calloc((size_t)parallel, sizeof(*threads));
    if (threads == NULL || pthread_barrier_init(&hls_put.barrier, NULL, (unsigned)parallel) != 0 ||
        pthread_mutex_init(&hls_put.out_lock, NULL) != 0) {
        fprintf(stderr, "hls-put: out of memory\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < parallel; i++) {
        if (pthread_create(&threads[i], NULL, hls_put_worker, (void *)(uintptr_t)(i + 1)) != 0) {
            fprintf(stderr, "hls-put: pthread_create: %s\n", strerror(errno));
            return 2;
        }
    }
    for (long i = 0; i < parallel; i++)
        pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!hls_put.quiet)
        fprintf(stderr, "hls-put: %zu objects, %lld bytes in %.3f s (%.1f MiB/s), %ld retries%s\n",
                hls_put.nobjs, bytes, secs, secs > 0 ? (double)bytes / 1048576.0 / secs : 0.0,
                atomic_load(&hls_put.retries), atomic_load(&hls_put.failed) ? ", FAILED" : "");
    for (size_t i = 0; i < hls_put.nobjs; i++) {
        free(hls_put.objs[i].path);
        free(hls_put.objs[i].key);
    }
    free(hls_put.objs);
    free(threads);
    storage_global_cleanup();
    return atomic_load(&hls_put.failed) ? 1 : 0;
}
