/*
 * convert_pipe.c - the ladder in parallel: one thread per rendition runs
 * that rendition's stage (scale + libx264, convert_video_encode()), while
 * the caller's thread keeps demux, decode, rotation, audio, the muxers and
 * every callback. Without it the caller would scale and feed each encoder
 * in turn, and x264's own threads would wait on it.
 *
 *   caller ──av_frame_ref──▶ frames[i] (a few) ──▶ rendition i ──▶ pkts[i] ──▶ caller: mux[i]
 *
 * Both queues are bounded, so memory stays fixed whatever the input; the
 * decoded picture is shared by reference, never copied. The caller waits
 * only for room in a frame queue or for the end, and while it waits it
 * keeps handing packets to the muxers (so a rendition blocked on a full
 * packet queue always makes progress) and calls cb.tick at least every
 * 100 ms (cancel, progress). Packets of one rendition reach the caller in
 * the encoder's order, so segments are cut and reported exactly as they
 * would be without threads, and each encoder's thread count is fixed by the
 * caller: the output does not depend on scheduling.
 *
 * A rendition thread never calls back into the caller's code, never logs
 * and never exits: a failure is kept (one line, errno) and handed to the
 * caller, which stops everything.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/convert_int.h"

/*
 * Decoded frames queued per rendition, at most: the caller can run this far
 * ahead of the slowest rendition, keeping the faster ones busy meanwhile.
 * The frames are shared by every queue, so CONVERT_PIPE_BYTES bounds the
 * memory they hold whatever the picture size.
 */
#define CONVERT_PIPE_FRAMES 16
#define CONVERT_PIPE_BYTES  (16 << 20)
/* Packets waiting for the caller per rendition (x264 flushes its delay at once). */
#define CONVERT_PIPE_PACKETS 64
#define CONVERT_PIPE_TICK_NS 100000000L

struct convert_pipe_rend {
    struct convert_pipe *p;
    int i;
    pthread_t th;
    int started; /* th must be joined */
    pthread_cond_t cv;
    int cv_ok;
    AVFrame *frames[CONVERT_PIPE_FRAMES]; /* a ring of depth; the head one is being encoded */
    unsigned fhead, flen;
    int eof; /* the caller has sent every frame */
    AVPacket *pkts[CONVERT_PIPE_PACKETS];
    unsigned phead, plen;
    int done;   /* the thread has returned from its last encode */
    int failed; /* ... with this error */
    int error;
    char err[512];
};

struct convert_pipe {
    struct convert_video *v;
    int n;
    unsigned depth; /* frames per queue, 2..CONVERT_PIPE_FRAMES */
    struct convert_pipe_cb cb;
    /* One lock for the whole conversion: held only to move pointers. */
    pthread_mutex_t lock;
    pthread_cond_t caller; /* room for a frame, a packet, a thread done */
    int lock_ok, caller_ok;
    int stop; /* the caller is giving up: threads return at once */
    struct convert_pipe_rend r[CONVERT_MAX_RENDITIONS];
};

/* convert_pipe_emit - on rendition i's thread: queue a packet for the caller. */
static int
convert_pipe_emit(void *ud, int i, AVPacket *pkt, char *err, size_t errlen)
{
    struct convert_pipe_rend *r = ud;
    struct convert_pipe *p = r->p;
    (void)i;
    pthread_mutex_lock(&p->lock);
    while (!p->stop && r->plen == CONVERT_PIPE_PACKETS) {
        pthread_cond_wait(&r->cv, &p->lock);
    }
    if (p->stop) {
        pthread_mutex_unlock(&p->lock);
        av_packet_free(&pkt);
        return convert_err_set(err, errlen, AVERROR(ECANCELED), "stopped");
    }
    r->pkts[(r->phead + r->plen) % CONVERT_PIPE_PACKETS] = pkt;
    r->plen++;
    pthread_cond_signal(&p->caller);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* convert_pipe_main - rendition i: encode each queued frame, then flush. */
static void *
convert_pipe_main(void *arg)
{
    struct convert_pipe_rend *r = arg;
    struct convert_pipe *p = r->p;
    convert_log_reset();
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && r->flen == 0 && !r->eof) {
            pthread_cond_wait(&r->cv, &p->lock);
        }
        if (p->stop) {
            break;
        }
        AVFrame *f = r->flen > 0 ? r->frames[r->fhead] : NULL;
        pthread_mutex_unlock(&p->lock);
        int ret = convert_video_encode(p->v, r->i, f, convert_pipe_emit, r, r->err, sizeof(r->err));
        int e = errno;
        pthread_mutex_lock(&p->lock);
        if (f != NULL) {
            /* The encoder took the reference: the slot is free again. */
            r->fhead = (r->fhead + 1) % p->depth;
            r->flen--;
            pthread_cond_signal(&p->caller);
        }
        if (ret < 0) {
            r->failed = 1;
            r->error = e;
            break;
        }
        if (f == NULL) {
            break; /* flushed: every packet is queued */
        }
    }
    r->done = 1;
    pthread_cond_signal(&p->caller);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* convert_pipe_failed - the first failed rendition's reason, as the caller's error. */
static int
convert_pipe_failed(struct convert_pipe *p, char *err, size_t errlen)
{
    for (int i = 0; i < p->n; i++) {
        struct convert_pipe_rend *r = &p->r[i];
        pthread_mutex_lock(&p->lock);
        int failed = r->failed, done = r->done;
        pthread_mutex_unlock(&p->lock);
        if (failed) {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "%s", r->err);
            }
            errno = r->error;
            return -1;
        }
        if (done && !r->eof) {
            /* Ended before being told to: a broken invariant of our own. */
            return convert_err_set(err, errlen, AVERROR_BUG, "video thread %d ended early", i);
        }
    }
    return 0;
}

/* convert_pipe_deliver - on the caller's thread: every ready packet to cb.packet. */
static int
convert_pipe_deliver(struct convert_pipe *p, char *err, size_t errlen)
{
    for (int i = 0; i < p->n; i++) {
        struct convert_pipe_rend *r = &p->r[i];
        for (;;) {
            pthread_mutex_lock(&p->lock);
            if (r->plen == 0) {
                pthread_mutex_unlock(&p->lock);
                break;
            }
            AVPacket *pkt = r->pkts[r->phead];
            r->pkts[r->phead] = NULL;
            r->phead = (r->phead + 1) % CONVERT_PIPE_PACKETS;
            r->plen--;
            pthread_cond_signal(&r->cv);
            pthread_mutex_unlock(&p->lock);
            if (p->cb.packet(p->cb.ud, i, pkt, err, errlen) < 0) {
                return -1;
            }
        }
    }
    return convert_pipe_failed(p, err, errlen);
}

/* convert_pipe_pending - with the lock held: a packet waits for the caller. */
static int
convert_pipe_pending(const struct convert_pipe *p)
{
    for (int i = 0; i < p->n; i++) {
        if (p->r[i].plen > 0) {
            return 1;
        }
    }
    return 0;
}

/* convert_pipe_wait - with the lock held: sleep until signalled or a tick passes. */
static void
convert_pipe_wait(struct convert_pipe *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += CONVERT_PIPE_TICK_NS;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->caller, &p->lock, &ts);
}

int
convert_pipe_open(struct convert_pipe **out, struct convert_video *v, int n, size_t frame_bytes,
                  const struct convert_pipe_cb *cb, char *err, size_t errlen)
{
    struct convert_pipe *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return convert_err_set(err, errlen, AVERROR(ENOMEM), "video threads");
    }
    *out = p;
    p->v = v;
    p->n = n;
    p->cb = *cb;
    size_t d = CONVERT_PIPE_BYTES / (frame_bytes > 0 ? frame_bytes : 1);
    p->depth = d < 2 ? 2 : d > CONVERT_PIPE_FRAMES ? CONVERT_PIPE_FRAMES : (unsigned)d;
    pthread_condattr_t ca;
    int ret = pthread_mutex_init(&p->lock, NULL);
    if (ret != 0) {
        return convert_err_set(err, errlen, AVERROR(ret), "video threads");
    }
    p->lock_ok = 1;
    if ((ret = pthread_condattr_init(&ca)) != 0) {
        return convert_err_set(err, errlen, AVERROR(ret), "video threads");
    }
    ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (ret == 0 && (ret = pthread_cond_init(&p->caller, &ca)) == 0) {
        p->caller_ok = 1;
    }
    for (int i = 0; i < n && ret == 0; i++) {
        struct convert_pipe_rend *r = &p->r[i];
        r->p = p;
        r->i = i;
        if ((ret = pthread_cond_init(&r->cv, NULL)) == 0) {
            r->cv_ok = 1;
        }
        for (int k = 0; k < CONVERT_PIPE_FRAMES && ret == 0; k++) {
            if ((r->frames[k] = av_frame_alloc()) == NULL) {
                ret = ENOMEM;
            }
        }
    }
    pthread_condattr_destroy(&ca);
    if (ret != 0) {
        return convert_err_set(err, errlen, AVERROR(ret), "video threads");
    }
    /* Signals stay with the caller's threads, whose handlers expect them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < n && ret == 0; i++) {
        ret = pthread_create(&p->r[i].th, NULL, convert_pipe_main, &p->r[i]);
        p->r[i].started = ret == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret != 0) {
        return convert_err_set(err, errlen, AVERROR(ret), "video threads: pthread_create");
    }
    return 0;
}

/*
 * convert_pipe_send - give every rendition a reference to f (the caller
 * keeps its own), waiting for room in its queue.
 */
int
convert_pipe_send(struct convert_pipe *p, AVFrame *f, char *err, size_t errlen)
{
    for (int i = 0; i < p->n; i++) {
        struct convert_pipe_rend *r = &p->r[i];
        for (;;) {
            if (convert_pipe_deliver(p, err, errlen) < 0) {
                return -1;
            }
            pthread_mutex_lock(&p->lock);
            if (r->flen < p->depth) {
                AVFrame *slot = r->frames[(r->fhead + r->flen) % p->depth];
                int ret = av_frame_ref(slot, f);
                if (ret == 0) {
                    r->flen++;
                    pthread_cond_signal(&r->cv);
                }
                pthread_mutex_unlock(&p->lock);
                if (ret < 0) {
                    return convert_err_set(err, errlen, ret, "video threads");
                }
                break;
            }
            if (!convert_pipe_pending(p)) {
                convert_pipe_wait(p);
            }
            pthread_mutex_unlock(&p->lock);
            if (p->cb.tick(p->cb.ud, err, errlen) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* convert_pipe_poll - hand the muxers what is ready, without waiting. */
int
convert_pipe_poll(struct convert_pipe *p, char *err, size_t errlen)
{
    return convert_pipe_deliver(p, err, errlen);
}

/* convert_pipe_finish - flush every rendition, deliver all, join the threads. */
int
convert_pipe_finish(struct convert_pipe *p, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->n; i++) {
        p->r[i].eof = 1;
        pthread_cond_signal(&p->r[i].cv);
    }
    pthread_mutex_unlock(&p->lock);
    for (;;) {
        if (convert_pipe_deliver(p, err, errlen) < 0) {
            return -1;
        }
        pthread_mutex_lock(&p->lock);
        int all = 1;
        for (int i = 0; i < p->n; i++) {
            all = all && p->r[i].done && p->r[i].plen == 0;
        }
        if (!all && !convert_pipe_pending(p)) {
            convert_pipe_wait(p);
        }
        pthread_mutex_unlock(&p->lock);
        if (all) {
            break;
        }
        if (p->cb.tick(p->cb.ud, err, errlen) < 0) {
            return -1;
        }
    }
    for (int i = 0; i < p->n; i++) {
        if (p->r[i].started) {
            pthread_join(p->r[i].th, NULL);
            p->r[i].started = 0;
        }
    }
    return 0;
}

/* convert_pipe_free - stop the threads (at once, mid-stream or not) and free all. */
void
convert_pipe_free(struct convert_pipe **pp)
{
    struct convert_pipe *p = *pp;
    if (p == NULL) {
        return;
    }
    if (p->lock_ok) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        for (int i = 0; i < p->n; i++) {
            if (p->r[i].cv_ok) {
                pthread_cond_signal(&p->r[i].cv);
            }
        }
        pthread_mutex_unlock(&p->lock);
    }
    for (int i = 0; i < p->n; i++) {
        struct convert_pipe_rend *r = &p->r[i];
        if (r->started) {
            pthread_join(r->th, NULL);
        }
        for (int k = 0; k < CONVERT_PIPE_FRAMES; k++) {
            av_frame_free(&r->frames[k]);
        }
        for (; r->plen > 0; r->plen--) {
            av_packet_free(&r->pkts[r->phead]);
            r->phead = (r->phead + 1) % CONVERT_PIPE_PACKETS;
        }
        if (r->cv_ok) {
            pthread_cond_destroy(&r->cv);
        }
    }
    if (p->caller_ok) {
        pthread_cond_destroy(&p->caller);
    }
    if (p->lock_ok) {
        pthread_mutex_destroy(&p->lock);
    }
    free(p);
    *pp = NULL;
}
