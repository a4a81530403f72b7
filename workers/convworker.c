/*
 * convworker.c - runs one conversion at a time for the master.
 *
 * The main thread runs convert_run (which can take minutes); meanwhile a
 * watcher thread owns the inbox so that a cancel is seen within a fraction
 * of a second and a dead master stops the conversion. Only the main thread
 * writes the outbox (segments, progress, the outcome), so the outbox keeps
 * a single producer. Input and output live in the job's spool directory:
 * <spool>/<job>/input and <spool>/<job>/out/.
 */
#include "workers/convworker.h"

#include "ipc/proto.h"
#include "workers/convert.h"
#include "workers/wlog.h"
#include "workers/worker.h"

#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct conv {
    const struct convworker_settings *set;
    worker_t *w;
    _Atomic uint64_t running; /* job id being converted, 0 if none */
    _Atomic int cancel;       /* raised by the watcher */
    _Atomic int watch_stop;
    _Atomic int master_gone;
    uint64_t job;
    double last_progress_ms;
};

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* master_lost - the master is gone (or we are told to stop): end the job */
static void
master_lost(struct conv *c)
{
    atomic_store(&c->master_gone, 1);
    atomic_store(&c->cancel, 1);
}

#ifdef HLSD_TEST_HOOKS
/* test_crash_hook - test builds only (bin/hlsd-hooks, never the installed
 * hlsd): with HLSD_TEST_CRASH_SEGMENT=N in the environment the conversion
 * crashes by a real SIGSEGV as its decoding reaches segment N of any
 * rendition, as a decoder bug on a poison input would, at the same place
 * every attempt */
static void
test_crash_hook(unsigned index)
{
    const char *at = getenv("HLSD_TEST_CRASH_SEGMENT");
    if (at && at[0] && strtoul(at, NULL, 10) == index) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
}
#endif

static void
on_segment(void *ud, const struct convert_segment *s)
{
    struct conv *c = ud;
    struct proto_conv_segment m;

#ifdef HLSD_TEST_HOOKS
    test_crash_hook(s->index);
#endif
    memset(&m, 0, sizeof(m));
    snprintf(m.rendition, sizeof(m.rendition), "%s", s->rendition);
    m.index = s->index;
    size_t n = strlen(s->path);
    m.kind = s->kind == CONVERT_SUBTITLES                    ? PROTO_SEG_VTT
             : s->init                                       ? PROTO_SEG_INIT
             : n > 4 && strcmp(s->path + n - 4, ".m4s") == 0 ? PROTO_SEG_M4S
                                                             : PROTO_SEG_TS;
    m.size = s->size;
    m.duration = s->duration;
    if (worker_send(c->w, PROTO_CONV_SEGMENT, c->job, &m, sizeof(m)) < 0)
        master_lost(c);
}

/* on_file - poster.jpg, sprites_N.jpg, storyboard.vtt: published beside master.m3u8 */
static void
on_file(void *ud, const char *name, const char *path, uint64_t size)
{
    struct conv *c = ud;
    struct proto_conv_segment m;

    (void)path;
    memset(&m, 0, sizeof(m));
    if (strlen(name) >= sizeof(m.rendition)) {
        wlog_warn("job %llu: %s: name too long to report; not published",
                  (unsigned long long)c->job, name);
        return;
    }
    snprintf(m.rendition, sizeof(m.rendition), "%s", name);
    m.kind = PROTO_SEG_FILE;
    m.size = size;
    if (worker_send(c->w, PROTO_CONV_SEGMENT, c->job, &m, sizeof(m)) < 0)
        master_lost(c);
}

static void
on_progress(void *ud, double fraction)
{
    struct conv *c = ud;
    struct proto_conv_progress m = {.fraction = fraction};

    /* the master needs a sign of life, not every callback */
    if (now_ms() - c->last_progress_ms < 250)
        return;
    c->last_progress_ms = now_ms();
    if (worker_send(c->w, PROTO_CONV_PROGRESS, c->job, &m, sizeof(m)) < 0)
        master_lost(c);
}

/* the watcher thread: pumps the inbox while a conversion runs */
static void *
watch(void *arg)
{
    struct conv *c = arg;

    while (!atomic_load(&c->watch_stop)) {
        if (worker_pump(c->w, 100) < 0 || worker_stopping(c->w)) {
            master_lost(c);
            break;
        }
    }
    return NULL;
}

/* A job's conversion options: the configuration's, then its options.json's. */
struct job_options {
    json_t *doc; /* options.json, NULL when there is none */
    struct convert_caption captions[CONVERT_MAX_SUBTITLES];
    char paths[CONVERT_MAX_SUBTITLES][PATH_MAX];
};

/*
 * job_options - read <spool>/<job>/options.json (written by ctl beside the
 * input: "audio", "first_variant", "thumbnails", "format", "subtitles" [{"language","file"}]) into
 * o. A file that is there but does not parse fails the job: its options
 * were accepted, so converting without them would be wrong.
 */
static int
job_options(struct conv *c, uint64_t job, struct job_options *jo, struct convert_opts *o, char *err,
            size_t errlen)
{
    char path[PATH_MAX + 64];
    json_error_t je;

    o->audio_muxed = c->set->audio_muxed;
    o->first_variant = c->set->first_variant;
    o->thumbnails = c->set->thumbnails;
    o->storyboard_interval = c->set->storyboard_interval;
    o->format = c->set->fmp4 ? CONVERT_FMP4 : CONVERT_TS;
    o->video_codec = (enum convert_codec)c->set->video_codec;
    o->x265_preset = c->set->x265_preset;
    o->svtav1_preset = c->set->svtav1_preset;
    snprintf(path, sizeof(path), "%s/%llu/options.json", c->set->spool_dir,
             (unsigned long long)job);
    jo->doc = json_load_file(path, 0, &je);
    if (jo->doc == NULL) {
        if (access(path, F_OK) != 0 && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "options.json of job %llu: %s", (unsigned long long)job, je.text);
        return -1;
    }
    json_t *thumbs = json_object_get(jo->doc, "thumbnails");
    if (json_is_boolean(thumbs))
        o->thumbnails = json_is_true(thumbs);
    const char *audio = json_string_value(json_object_get(jo->doc, "audio"));
    const char *first = json_string_value(json_object_get(jo->doc, "first_variant"));
    const char *format = json_string_value(json_object_get(jo->doc, "format"));
    if (audio != NULL)
        o->audio_muxed = strcmp(audio, "muxed") == 0;
    if (format != NULL)
        o->format = strcmp(format, "fmp4") == 0 ? CONVERT_FMP4 : CONVERT_TS;
    if (first != NULL)
        o->first_variant = first;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(jo->doc, "subtitles"), i, s)
    {
        const char *lang = json_string_value(json_object_get(s, "language"));
        const char *file = json_string_value(json_object_get(s, "file"));
        if (i >= CONVERT_MAX_SUBTITLES || file == NULL || strchr(file, '/') != NULL) {
            snprintf(err, errlen, "options.json of job %llu: bad subtitles entry %zu",
                     (unsigned long long)job, i);
            return -1;
        }
        snprintf(jo->paths[i], sizeof(jo->paths[i]), "%s/%llu/%s", c->set->spool_dir,
                 (unsigned long long)job, file);
        jo->captions[i] = (struct convert_caption){
            .language = lang,
            .path = jo->paths[i],
            .name = json_string_value(json_object_get(s, "name")),
        };
        o->n_captions = (int)i + 1;
    }
    o->captions = o->n_captions > 0 ? jo->captions : NULL;
    return 0;
}

static void
run_job(struct conv *c, uint64_t job, const struct proto_conv_start *st)
{
    char input[PATH_MAX + 64], outdir[PATH_MAX + 64], err[1024];
    char ladder[sizeof(st->ladder) + 1];
    struct convert_result res;
    pthread_t th;

    memcpy(ladder, st->ladder, sizeof(st->ladder));
    ladder[sizeof(st->ladder)] = '\0';
    snprintf(input, sizeof(input), "%s/%llu/input", c->set->spool_dir, (unsigned long long)job);
    snprintf(outdir, sizeof(outdir), "%s/%llu/out", c->set->spool_dir, (unsigned long long)job);
    c->job = job;
    c->last_progress_ms = 0;
    atomic_store(&c->cancel, 0);
    atomic_store(&c->watch_stop, 0);
    atomic_store(&c->running, job);
    int have_watcher = pthread_create(&th, NULL, watch, c) == 0;
    if (!have_watcher)
        wlog_warn("pthread_create: %s: cancel only at the end of the conversion", strerror(errno));

    struct convert_opts o = {
        .input = input,
        .outdir = outdir,
        .ladder = ladder[0] ? ladder : NULL,
        .segment_seconds = st->segment_seconds,
        .preset = c->set->preset,
        .threads = (int)st->threads,
        .cancel = &c->cancel,
        .on_segment = on_segment,
        .on_progress = on_progress,
        .on_file = on_file,
        .ud = c,
    };
    wlog_info("job %llu: converting (attempt %u)", (unsigned long long)job, st->attempt);
    struct job_options *jo = calloc(1, sizeof(*jo));
    int rc = -1, e = ENOMEM;
    if (jo == NULL) {
        snprintf(err, sizeof(err), "job %llu: out of memory", (unsigned long long)job);
    } else if (job_options(c, job, jo, &o, err, sizeof(err)) < 0) {
        e = EINVAL;
    } else {
        rc = convert_run(&o, &res, err, sizeof(err));
        e = errno;
    }
    if (jo != NULL) {
        json_decref(jo->doc);
        free(jo);
    }

    atomic_store(&c->watch_stop, 1);
    if (have_watcher)
        pthread_join(th, NULL);
    atomic_store(&c->running, 0);
    if (atomic_load(&c->master_gone))
        return;
    if (rc == 0) {
        char msg[64 + CONVERT_MAX_RENDITIONS * (CONVERT_NAME_MAX + 3) + sizeof(res.notes)];
        int n = snprintf(msg, sizeof(msg), "%.3f", res.duration);
        for (int i = 0; i < res.n_renditions && n < (int)sizeof(msg); i++)
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, " %c:%s",
                          res.kinds[i] == CONVERT_VIDEO   ? 'v'
                          : res.kinds[i] == CONVERT_AUDIO ? 'a'
                                                          : 's',
                          res.renditions[i]);
        if (res.notes[0] != '\0' && n < (int)sizeof(msg))
            snprintf(msg + n, sizeof(msg) - (size_t)n, "\n%s", res.notes);
        worker_send(c->w, PROTO_CONV_DONE, job, msg, strlen(msg));
        wlog_info("job %llu: converted %.1fs into %d rendition%s", (unsigned long long)job,
                  res.duration, res.n_renditions, res.n_renditions == 1 ? "" : "s");
        if (res.notes[0] != '\0')
            wlog_warn("job %llu: %s", (unsigned long long)job, res.notes);
    } else if (e == ECANCELED) {
        worker_send(c->w, PROTO_CONV_CANCELED, job, NULL, 0);
        wlog_info("job %llu: conversion canceled", (unsigned long long)job);
    } else {
        worker_send(c->w, PROTO_CONV_FAILED, job, err, strlen(err));
        wlog_warn("job %llu: conversion failed: %s", (unsigned long long)job, err);
    }
}

static void
on_message(void *ctx, worker_t *w, uint16_t type, uint64_t job, const void *body, size_t len)
{
    struct conv *c = ctx;

    c->w = w;
    switch (type) {
    case PROTO_CONV_START:
        if (len != sizeof(struct proto_conv_start) || job == 0)
            return;
        if (atomic_load(&c->running) != 0) {
            /* the master leases one job at a time: a second start while one
             * runs means it lost track; refuse rather than nest */
            wlog_warn("job %llu: start while job %llu runs; ignored", (unsigned long long)job,
                      (unsigned long long)atomic_load(&c->running));
            return;
        }
        {
            struct proto_conv_start st;
            memcpy(&st, body, sizeof(st));
            run_job(c, job, &st);
        }
        break;
    case PROTO_CONV_CANCEL:
        /* seen by the watcher thread while the job runs */
        if (job != 0 && atomic_load(&c->running) == job)
            atomic_store(&c->cancel, 1);
        break;
    default:
        break;
    }
}

int
convworker_main(const struct convworker_settings *set, shmseg_t *seg)
{
    struct conv c;

    memset(&c, 0, sizeof(c));
    c.set = set;
    convert_log_quiet();
    /* SVT-AV1 prints its banner on stderr unless told otherwise (1: errors) */
    setenv("SVT_LOG", "1", 0);
    struct worker_ops ops = {
        .rules = proto_rules_to_convert,
        .on_message = on_message,
        .ctx = &c,
    };
    return worker_run(seg, &ops);
}
