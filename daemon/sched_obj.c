/*
 * sched_obj.c - a job's object ledger in memory and its rows in the store.
 */
#include "daemon/sched_int.h"

#include "daemon/job.h"
#include "daemon/log.h"
#include "daemon/spool.h"
#include "ipc/proto.h"
#include "workers/backoff.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void
obj_save_etag(struct job *j, const struct obj *o, const char *etag)
{
    struct store_obj so;

    memset(&so, 0, sizeof(so));
    so.job = j->row.id;
    snprintf(so.rel, sizeof(so.rel), "%s", o->rel);
    so.state = o->state;
    so.size = o->size;
    so.attempts = o->attempts;
    snprintf(so.etag, sizeof(so.etag), "%s", etag);
    if (store_obj_put(M.store, &so) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(M.store));
}

void
obj_save(struct job *j, const struct obj *o)
{
    obj_save_etag(j, o, "");
}

struct obj *
obj_find(struct job *j, const char *rel)
{
    for (size_t i = 0; i < j->nobjs; i++)
        if (strcmp(j->objs[i].rel, rel) == 0)
            return &j->objs[i];
    return NULL;
}

struct obj *
obj_add(struct job *j, const char *rel, enum obj_kind kind, int64_t size)
{
    struct obj *o = obj_find(j, rel);

    if (o)
        return o;
    if (j->nobjs == j->cap) {
        size_t ncap = j->cap ? j->cap * 2 : 64;
        struct obj *n = realloc(j->objs, ncap * sizeof(*n));
        if (n == NULL)
            log_fatal(EXIT_ENV, "out of memory for job %lld's objects", (long long)j->row.id);
        /* leases point at objects: move them along */
        for (size_t i = 0; i < j->nobjs; i++)
            if (n[i].lease)
                n[i].lease->obj = &n[i];
        j->objs = n;
        j->cap = ncap;
    }
    o = &j->objs[j->nobjs++];
    memset(o, 0, sizeof(*o));
    snprintf(o->rel, sizeof(o->rel), "%s", rel);
    o->kind = kind;
    o->size = size;
    o->state = OBJ_PENDING;
    if (j->cursor > j->nobjs - 1)
        j->cursor = j->nobjs - 1;
    return o;
}

enum obj_kind
kind_of(const char *rel)
{
    if (strcmp(rel, "master.m3u8") == 0)
        return OBJ_MASTER;
    size_t n = strlen(rel);
    return n > 5 && strcmp(rel + n - 5, ".m3u8") == 0 ? OBJ_PLAYLIST : OBJ_SEGMENT;
}
