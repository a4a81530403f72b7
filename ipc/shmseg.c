/*
 * shmseg.c - creation, attachment and disposal of per-child segments.
 *
 * The header's fields are written once by the master before fork, except
 * child_pid which only the child writes. The master never reads capacity
 * or record size back from shared memory; shmseg_verify only compares.
 */
#include "ipc/shmseg.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct shmseg_hdr {
    uint32_t magic;
    uint32_t version;
    uint32_t capacity;
    uint32_t rec_size;
    uint64_t incarnation;
    _Atomic int32_t master_pid; /* master writes */
    _Atomic int32_t child_pid;  /* child writes */
    unsigned char pad[32];
};
_Static_assert(sizeof(struct shmseg_hdr) == 64, "segment header is one cache line");

struct shmseg {
    void *base;
    size_t size;
    struct shmseg_hdr hdr; /* private copy of what the master wrote */
    ring_t *inbox;
    ring_t *outbox;
    int is_child;
};

static size_t
ring_off(uint32_t cap, uint32_t recsz, int which)
{
    size_t rs = ring_shared_size(cap, recsz);

    rs = (rs + 63) & ~(size_t)63;
    return sizeof(struct shmseg_hdr) + (size_t)which * rs;
}

static int
attach_rings(shmseg_t *s, int child)
{
    uint32_t cap = s->hdr.capacity, rsz = s->hdr.rec_size;
    unsigned char *b = s->base;
    ring_t *in =
        ring_attach(b + ring_off(cap, rsz, 0), cap, rsz, child ? RING_CONSUMER : RING_PRODUCER);
    ring_t *out =
        ring_attach(b + ring_off(cap, rsz, 1), cap, rsz, child ? RING_PRODUCER : RING_CONSUMER);

    if (in == NULL || out == NULL) {
        ring_detach(in);
        ring_detach(out);
        return -1;
    }
    ring_detach(s->inbox);
    ring_detach(s->outbox);
    s->inbox = in;
    s->outbox = out;
    s->is_child = child;
    return 0;
}

shmseg_t *
shmseg_create(uint64_t incarnation, uint32_t cap, uint32_t recsz)
{
    static _Atomic unsigned seq;
    char name[64];
    shmseg_t *s;
    int fd = -1;
    size_t rs = ring_shared_size(cap, recsz);

    if (rs == 0) {
        errno = EINVAL;
        return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->size = ring_off(cap, recsz, 2);
    for (int tries = 0; tries < 16; tries++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(name, sizeof(name), "/hlsd-%ld-%llu-%u-%ld", (long)getpid(),
                 (unsigned long long)incarnation, atomic_fetch_add(&seq, 1), ts.tv_nsec);
        fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0)
        goto fail;
    /* unlink at once: the mapping (and the child's inherited copy) keep it */
    shm_unlink(name);
    if (ftruncate(fd, (off_t)s->size) < 0)
        goto fail;
    s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s->base == MAP_FAILED) {
        s->base = NULL;
        goto fail;
    }
    close(fd);
    fd = -1;

    struct shmseg_hdr *h = s->base;
    h->magic = SHMSEG_MAGIC;
    h->version = SHMSEG_VERSION;
    h->capacity = cap;
    h->rec_size = recsz;
    h->incarnation = incarnation;
    atomic_store(&h->master_pid, (int32_t)getpid());
    atomic_store(&h->child_pid, 0);
    s->hdr.magic = SHMSEG_MAGIC;
    s->hdr.version = SHMSEG_VERSION;
    s->hdr.capacity = cap;
    s->hdr.rec_size = recsz;
    s->hdr.incarnation = incarnation;
    unsigned char *b = s->base;
    if (ring_format(b + ring_off(cap, recsz, 0), cap, recsz, 0) < 0 ||
        ring_format(b + ring_off(cap, recsz, 1), cap, recsz, 0) < 0 || attach_rings(s, 0) < 0)
        goto fail;
    return s;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (s->base)
        munmap(s->base, s->size);
    free(s);
    errno = e;
    return NULL;
}

int
shmseg_child_attach(shmseg_t *s)
{
    struct shmseg_hdr *h = s->base;

    if (attach_rings(s, 1) < 0)
        return -1;
    atomic_store(&h->child_pid, (int32_t)getpid());
    return 0;
}

ring_t *
shmseg_inbox(shmseg_t *s)
{
    return s->inbox;
}

ring_t *
shmseg_outbox(shmseg_t *s)
{
    return s->outbox;
}

uint64_t
shmseg_incarnation(const shmseg_t *s)
{
    return s->hdr.incarnation;
}

int
shmseg_verify(const shmseg_t *s)
{
    const struct shmseg_hdr *h = s->base;

    if (h->magic != s->hdr.magic || h->version != s->hdr.version ||
        h->capacity != s->hdr.capacity || h->rec_size != s->hdr.rec_size ||
        h->incarnation != s->hdr.incarnation) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int
shmseg_peer_alive(const shmseg_t *s)
{
    struct shmseg_hdr *h = s->base;
    pid_t pid;

    if (s->is_child)
        pid = atomic_load(&h->master_pid);
    else
        pid = atomic_load(&h->child_pid);
    if (pid <= 0)
        return 0;
    if (s->is_child && getppid() != pid)
        return 0;
    return kill(pid, 0) == 0 || errno == EPERM;
}

ssize_t
shmseg_drain(shmseg_t *s, void (*fn)(void *ud, const void *rec), void *ud)
{
    unsigned char rec[4096];
    ssize_t n = 0;

    if (s->is_child || s->hdr.rec_size > sizeof(rec)) {
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        if (ring_pop(s->outbox, rec) < 0) {
            if (errno == EAGAIN)
                return n;
            return -1;
        }
        if (fn)
            fn(ud, rec);
        n++;
    }
}

void
shmseg_destroy(shmseg_t *s)
{
    if (s == NULL)
        return;
    ring_detach(s->inbox);
    ring_detach(s->outbox);
    if (s->base)
        munmap(s->base, s->size);
    free(s);
}
