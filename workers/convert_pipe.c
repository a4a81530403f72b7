/*
 * convert_pipe.c - the ladder in parallel. The renditions are spread over
 * lanes (convert_ladder_threads() chooses them): lane 0 is the
 * caller's thread, which also demuxes, decodes, rotates, encodes the audio,
 * muxes and makes every callback; every other lane is a thread of its own
 * that runs its renditions' stage (scale + libx264, convert_video_encode())
 * on each frame, in the same order every time.
 *
 *   caller ──av_frame_ref──▶ frames[lane] (a few) ──▶ lane thread ──▶ pkts[i] ──▶ caller: mux[i]
 *     └── lane 0's renditions: encoded right there, packets straight to mux[i]
 *
 * On two cores a 720p source's ladder runs as two busy threads, 720p on one and
 * decode + 480p + 360p on the caller's, rather than four threads sharing
 * two cores by time slices (which cost 3 s of CPU and 12 % of wall time on
 * the benchmark clip).
 *
 * Both queues are bounded, so memory stays fixed whatever the input; the
 * decoded picture is shared by reference, never copied. The caller waits
 * only for room in a lane's frame queue or for the end, and while it waits
 * it keeps handing packets to the muxers (so a lane blocked on a full
 * packet queue always makes progress) and calls cb.tick at least every
 * 100 ms (cancel, progress). Packets of one rendition reach the caller in
 * the encoder's order, so segments are cut and reported exactly as they
 * would be without threads, and each encoder's thread count is fixed by the
 * caller: with single-threaded libx264s the output depends neither on
 * scheduling nor on the lanes.
 *
 * A lane thread never calls back into the caller's code, never logs and
 * never exits: a failure is kept (one line, errno) and handed to the
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
 * Decoded frames queued per lane, at most: the caller can run this far
 * ahead of the slowest lane, keeping the others busy meanwhile. The frames
 * are shared by every queue, so CONVERT_PIPE_BYTES bounds the memory they
 * hold whatever the picture size.
 */
#define CONVERT_PIPE_FRAMES 16
#define CONVERT_PIPE_BYTES  (16 << 20)
/* Packets waiting for the caller per rendition (x264 flushes its delay at once). */
#define CONVERT_PIPE_PACKETS 64
#define CONVERT_PIPE_TICK_NS 100000000L
#define CONVERT_PIPE_LANES   (CONVERT_MAX_LADDER + 1)

/* A thread and the renditions it encodes. */
struct convert_pipe_lane {
    struct convert_pipe *p;
    int rend[CONVERT_MAX_LADDER]; /* in rendition order */
    int nrend;
    pthread_t th;
    int started;       /* th must be joined */
    pthread_cond_t cv; /* a frame, room for a packet, the end, a stop */
    int cv_ok;
    AVFrame *frames[CONVERT_PIPE_FRAMES]; /* a ring of depth; the head one is being encoded */
    unsigned fhead, flen;
    AVFrame *ref; /* one rendition's reference to the head frame */
    int eof;      /* the caller has sent every frame */
    int done;     /* the thread has returned from its last encode */
    int failed;   /* ... with this error */
    int error;
    char err[512];
};

/* A rendition's packets on their way back to the caller. */
struct convert_pipe_rend {
    struct convert_pipe_lane *lane; /* NULL: the caller's lane */
    AVPacket *pkts[CONVERT_PIPE_PACKETS];
    unsigned phead, plen;
};

struct convert_pipe {
    struct convert_video *v;
    int n;
    unsigned depth; /* frames per queue, 2..CONVERT_PIPE_FRAMES */
    struct convert_pipe_cb cb;
    /* One lock for the whole conversion: held only to move pointers. */
    pthread_mutex_t lock;
    pthread_cond_t caller; /* room for a frame, a packet, a lane done */
    int lock_ok, caller_ok;
    int stop; /* the caller is giving up: threads return at once */
    struct convert_pipe_rend r[CONVERT_MAX_LADDER];
    struct convert_pipe_lane lane[CONVERT_PIPE_LANES]; /* lane[0]: the caller's */
    int nlanes;
    AVFrame *ref; /* the caller's reference for its own renditions */
};

/* convert_pipe_emit - on a lane thread: queue rendition i's packet for the caller. */
static int
convert_pipe_emit(void *ud, int i, AVPacket *pkt, char *err, size_t errlen)
{
    struct convert_pipe *p = ud;
    struct convert_pipe_rend *r = &p->r[i];
    pthread_mutex_lock(&p->lock);
    while (!p->stop && r->plen == CONVERT_PIPE_PACKETS) {
        pthread_cond_wait(&r->lane->cv, &p->lock);
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

/*
 * convert_pipe_encode - f (NULL: flush) through each of lane l's
 * renditions, each with its own reference (ref, a scratch frame) to f;
 * packets go to emit: the caller's queue from a lane thread, the muxer
 * from the caller's own lane.
 */
static int
convert_pipe_encode(struct convert_pipe *p, const struct convert_pipe_lane *l, AVFrame *ref,
                    AVFrame *f, convert_video_emit_fn emit, void *ud, char *err, size_t errlen)
{
    for (int k = 0; k < l->nrend; k++) {
        AVFrame *in = NULL;
        if (f != NULL) {
            int ret = av_frame_ref(ref, f);
            if (ret < 0) {
                return convert_err_set(err, errlen, ret, "video threads");
            }
            in = ref;
        }
        int ret = convert_video_encode(p->v, l->rend[k], in, emit, ud, err, errlen);
        av_frame_unref(ref);
        if (ret < 0) {
            return -1;
        }
    }
    return 0;
}

/* convert_pipe_main - a lane: encode each queued frame, then flush. */
static void *
convert_pipe_main(void *arg)
{
    struct convert_pipe_lane *l = arg;
    struct convert_pipe *p = l->p;
    convert_log_reset();
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && l->flen == 0 && !l->eof) {
            pthread_cond_wait(&l->cv, &p->lock);
        }
        if (p->stop) {
            break;
        }
        AVFrame *f = l->flen > 0 ? l->frames[l->fhead] : NULL;
        pthread_mutex_unlock(&p->lock);
        int ret =
            convert_pipe_encode(p, l, l->ref, f, convert_pipe_emit, p, l->err, sizeof(l->err));
        int e = errno;
        if (f != NULL) {
            av_frame_unref(f);
        }
        pthread_mutex_lock(&p->lock);
        if (f != NULL) {
            l->fhead = (l->fhead + 1) % p->depth;
            l->flen--;
            pthread_cond_signal(&p->caller);
        }
        if (ret < 0) {
            l->failed = 1;
            l->error = e;
            break;
        }
        if (f == NULL) {
            break; /* flushed: every packet is queued */
        }
    }
    l->done = 1;
    pthread_cond_signal(&p->caller);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* convert_pipe_failed - the first failed lane's reason, as the caller's error. */
static int
convert_pipe_failed(struct convert_pipe *p, char *err, size_t errlen)
{
    for (int k = 1; k < p->nlanes; k++) {
        struct convert_pipe_lane *l = &p->lane[k];
        pthread_mutex_lock(&p->lock);
        int failed = l->failed, done = l->done;
        pthread_mutex_unlock(&p->lock);
        if (failed) {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "%s", l->err);
            }
            errno = l->error;
            return -1;
        }
        if (done && !l->eof) {
            /* Ended before being told to: a broken invariant of our own. */
            return convert_err_set(err, errlen, AVERROR_BUG, "video thread %d ended early", k);
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
        while (r->lane != NULL) {
            pthread_mutex_lock(&p->lock);
            if (r->plen == 0) {
                pthread_mutex_unlock(&p->lock);
                break;
            }
            AVPacket *pkt = r->pkts[r->phead];
            r->pkts[r->phead] = NULL;
            r->phead = (r->phead + 1) % CONVERT_PIPE_PACKETS;
            r->plen--;
            pthread_cond_signal(&r->lane->cv);
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

/* convert_pipe_lanes - check and record which lane encodes each rendition. */
static int
convert_pipe_lanes(struct convert_pipe *p, const int *lane, char *err, size_t errlen)
{
    p->nlanes = 1;
    for (int i = 0; i < p->n; i++) {
        if (lane[i] < 0 || lane[i] >= CONVERT_PIPE_LANES) {
            return convert_err_set(err, errlen, AVERROR_BUG, "rendition %d on lane %d", i, lane[i]);
        }
        struct convert_pipe_lane *l = &p->lane[lane[i]];
        l->rend[l->nrend++] = i;
        p->r[i].lane = lane[i] > 0 ? l : NULL;
        p->nlanes = lane[i] >= p->nlanes ? lane[i] + 1 : p->nlanes;
    }
    for (int k = 1; k < p->nlanes; k++) {
        if (p->lane[k].nrend == 0) {
            return convert_err_set(err, errlen, AVERROR_BUG, "video thread %d has no rendition", k);
        }
    }
    return 0;
}

int
convert_pipe_open(struct convert_pipe **out, struct convert_video *v, int n, const int *lane,
                  size_t frame_bytes, const struct convert_pipe_cb *cb, char *err, size_t errlen)
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
    if (convert_pipe_lanes(p, lane, err, errlen) < 0) {
        return -1;
    }
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
    if (ret == 0 && (p->ref = av_frame_alloc()) == NULL) {
        ret = ENOMEM;
    }
    for (int k = 1; k < p->nlanes && ret == 0; k++) {
        struct convert_pipe_lane *l = &p->lane[k];
        l->p = p;
        if ((ret = pthread_cond_init(&l->cv, NULL)) == 0) {
            l->cv_ok = 1;
        }
        if (ret == 0 && (l->ref = av_frame_alloc()) == NULL) {
            ret = ENOMEM;
        }
        for (int f = 0; f < CONVERT_PIPE_FRAMES && ret == 0; f++) {
            if ((l->frames[f] = av_frame_alloc()) == NULL) {
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
    for (int k = 1; k < p->nlanes && ret == 0; k++) {
        ret = pthread_create(&p->lane[k].th, NULL, convert_pipe_main, &p->lane[k]);
        p->lane[k].started = ret == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret != 0) {
        return convert_err_set(err, errlen, AVERROR(ret), "video threads: pthread_create");
    }
    return 0;
}

/* convert_pipe_queue - give lane l a reference to f, waiting for room. */
static int
convert_pipe_queue(struct convert_pipe *p, struct convert_pipe_lane *l, AVFrame *f, char *err,
                   size_t errlen)
{
    for (;;) {
        if (convert_pipe_deliver(p, err, errlen) < 0) {
            return -1;
        }
        pthread_mutex_lock(&p->lock);
        if (l->flen < p->depth) {
            AVFrame *slot = l->frames[(l->fhead + l->flen) % p->depth];
            int ret = av_frame_ref(slot, f);
            if (ret == 0) {
                l->flen++;
                pthread_cond_signal(&l->cv);
            }
            pthread_mutex_unlock(&p->lock);
            return ret < 0 ? convert_err_set(err, errlen, ret, "video threads") : 0;
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

/*
 * convert_pipe_send - give every lane thread a reference to f (the caller
 * keeps its own), then encode it for the caller's own renditions.
 */
int
convert_pipe_send(struct convert_pipe *p, AVFrame *f, char *err, size_t errlen)
{
    for (int k = 1; k < p->nlanes; k++) {
        if (convert_pipe_queue(p, &p->lane[k], f, err, errlen) < 0) {
            return -1;
        }
    }
    return convert_pipe_encode(p, &p->lane[0], p->ref, f, p->cb.packet, p->cb.ud, err, errlen);
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
    for (int k = 1; k < p->nlanes; k++) {
        p->lane[k].eof = 1;
        pthread_cond_signal(&p->lane[k].cv);
    }
    pthread_mutex_unlock(&p->lock);
    if (convert_pipe_encode(p, &p->lane[0], p->ref, NULL, p->cb.packet, p->cb.ud, err, errlen) <
        0) {
        return -1;
    }
    for (;;) {
        if (convert_pipe_deliver(p, err, errlen) < 0) {
            return -1;
        }
        pthread_mutex_lock(&p->lock);
        int all = !convert_pipe_pending(p);
        for (int k = 1; k < p->nlanes; k++) {
            all = all && p->lane[k].done;
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
    for (int k = 1; k < p->nlanes; k++) {
        if (p->lane[k].started) {
            pthread_join(p->lane[k].th, NULL);
            p->lane[k].started = 0;
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
        for (int k = 1; k < p->nlanes; k++) {
            if (p->lane[k].cv_ok) {
                pthread_cond_signal(&p->lane[k].cv);
            }
        }
        pthread_mutex_unlock(&p->lock);
    }
    for (int k = 1; k < p->nlanes; k++) {
        struct convert_pipe_lane *l = &p->lane[k];
        if (l->started) {
            pthread_join(l->th, NULL);
        }
        for (int f = 0; f < CONVERT_PIPE_FRAMES; f++) {
            av_frame_free(&l->frames[f]);
        }
        av_frame_free(&l->ref);
        if (l->cv_ok) {
            pthread_cond_destroy(&l->cv);
        }
    }
    for (int i = 0; i < p->n; i++) {
        struct convert_pipe_rend *r = &p->r[i];
        for (; r->plen > 0; r->plen--) {
            av_packet_free(&r->pkts[r->phead]);
            r->phead = (r->phead + 1) % CONVERT_PIPE_PACKETS;
        }
    }
    av_frame_free(&p->ref);
    if (p->caller_ok) {
        pthread_cond_destroy(&p->caller);
    }
    if (p->lock_ok) {
        pthread_mutex_destroy(&p->lock);
    }
    free(p);
    *pp = NULL;
}
