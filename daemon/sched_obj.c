/*
 * sched_obj.c - a job's object ledger in memory and its rows in the store.
 *
 * An object is born here (sched_obj_add, sched_obj_load) and changes
 * state only in sched_obj_set, which checks the move
 * (daemon/obj.c) and writes the ledger at once: after a crash the ledger
 * says what was published. A failed write of the store is fatal (the
 * master restarts and recovers from what was committed).
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kind_of - the master playlist, a rendition playlist, a file beside the
 * master (no rendition directory), or a segment */
static enum obj_kind
kind_of(const char *rel)
{
    if (strcmp(rel, "master.m3u8") == 0)
        return OBJ_MASTER;
    if (strchr(rel, '/') == NULL)
        return OBJ_FILE;
    size_t n = strlen(rel);
    return n > 5 && strcmp(rel + n - 5, ".m3u8") == 0 ? OBJ_PLAYLIST : OBJ_SEGMENT;
}

void
sched_obj_set(struct job *j, struct obj *o, enum obj_state to, const char *etag)
{
    obj_transition(j->row.id, o->rel, &o->state, to);
    if (to == OBJ_UNWANTED) {
        if (store_obj_delete(S.env.store, j->row.id, o->rel) < 0)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
        return;
    }
    struct store_obj so;
    memset(&so, 0, sizeof(so));
    so.job = j->row.id;
    snprintf(so.rel, sizeof(so.rel), "%s", o->rel);
    so.state = o->state;
    so.size = o->size;
    so.attempts = o->attempts;
    snprintf(so.etag, sizeof(so.etag), "%s", etag ? etag : "");
    if (store_obj_put(S.env.store, &so) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
}

/* sched_obj_rewrite - o's ledger row written again as memory has it (after
 * a commit lost on a full disk, sched_resync); an uploaded object whose
 * row says so already keeps its ETag (memory does not hold it; a row
 * lost with its ETag is written without one) */
void
sched_obj_rewrite(struct job *j, const struct obj *o)
{
    struct store_obj so;

    if (o->state == OBJ_UNWANTED) {
        if (store_obj_delete(S.env.store, j->row.id, o->rel) < 0 && errno != ENOENT)
            log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
        return;
    }
    if (o->state == OBJ_UPLOADED && store_obj_get(S.env.store, j->row.id, o->rel, &so) == 0 &&
        so.state == OBJ_UPLOADED)
        return;
    memset(&so, 0, sizeof(so));
    so.job = j->row.id;
    snprintf(so.rel, sizeof(so.rel), "%s", o->rel);
    so.state = o->state;
    so.size = o->size;
    so.attempts = o->attempts;
    if (store_obj_put(S.env.store, &so) < 0)
        log_fatal(EXIT_ENV, "job store: %s", store_errmsg(S.env.store));
}

/* sched_obj_find - the wanted object at rel (an unwanted one is gone) */
struct obj *
sched_obj_find(struct job *j, const char *rel)
{
    for (size_t i = 0; i < j->nobjs; i++)
        if (j->objs[i].state != OBJ_UNWANTED && strcmp(j->objs[i].rel, rel) == 0)
            return &j->objs[i];
    return NULL;
}

/* sched_obj_add - the object at rel, a new pending one if there is none */
struct obj *
sched_obj_add(struct job *j, const char *rel, int64_t size)
{
    struct obj *o = sched_obj_find(j, rel);

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
    o->kind = kind_of(rel);
    o->size = size;
    o->state = OBJ_PENDING; /* born pending: not a move */
    if (j->cursor > j->nobjs - 1)
        j->cursor = j->nobjs - 1;
    return o;
}

void
sched_obj_rewind(struct job *j, const struct obj *o)
{
    if (j->cursor > (size_t)(o - j->objs))
        j->cursor = (size_t)(o - j->objs);
}

/* sched_obj_load - a ledger row into job ud (a store_obj_each callback):
 * an object is born in its stored state, not moved; an upload cut short by
 * a crash is pending again */
int
sched_obj_load(void *ud, const struct store_obj *so)
{
    struct job *j = ud;
    struct obj *o = sched_obj_add(j, so->rel, so->size);

    o->state = so->state == OBJ_UPLOADING ? OBJ_PENDING : so->state;
    o->attempts = so->attempts;
    o->counted = o->state == OBJ_UPLOADED; /* in the recount of segs_uploaded */
    return 0;
}
