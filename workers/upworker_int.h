/*
 * upworker_int.h - the upload worker's files among themselves: the
 * process's state and the handler of each request type. Nothing outside
 * workers/upworker*.c includes this.
 */
#ifndef HLSD_WORKERS_UPWORKER_INT_H
#define HLSD_WORKERS_UPWORKER_INT_H

#include "workers/storage.h"
#include "workers/upworker.h"
#include "workers/worker.h"

#include <curl/curl.h>
#include <stdint.h>

struct up {
    storage_t *st;                       /* where objects are published */
    const struct upworker_settings *set; /* fetch and webhook settings */
    CURL *web;                           /* fetches and webhooks, kept alive */
    int busy;                            /* a request runs: only a cancel may come */
    uint64_t cancel_job;                 /* the master asked to stop this job's fetch */
};

/* upworker_reply - the one PROTO_UP_RESULT of a request: rc 0 is success */
void upworker_reply(worker_t *w, uint64_t job, int rc, const struct storage_result *r);

/* upworker_fetch.c: "MAX\nURL\nPATH" (buf NUL-terminated, changed in place) */
void upworker_fetch(struct up *u, worker_t *w, uint64_t job, char *buf);
/* upworker_notify.c: "URL\nBODY" */
void upworker_notify(struct up *u, worker_t *w, uint64_t job, char *buf, size_t len);

#endif
