/*
 * sched_lease.c - the lease table: what each worker holds (a conversion,
 * or one object to put or delete). The scheduler reaches a worker only
 * through here, and only through the sched_proc interface the master
 * handed in (lease, send, kill).
 */
#include "daemon/sched_int.h"

#include "daemon/log.h"

#include <string.h>

int
sched_lease_id(const struct lease *l)
{
    return (int)(l - S.leases);
}

struct lease *
sched_lease_at(int w)
{
    if (w < 0 || w >= SCHED_MAX_WORKERS)
        log_panic("worker %d out of the lease table", w);
    return &S.leases[w];
}

/* sched_lease_begin - w holds a conversion of j (o NULL) or object o */
void
sched_lease_begin(int w, struct job *j, struct obj *o, int del)
{
    struct lease *l = sched_lease_at(w);

    if (l->job || l->dlv)
        log_panic("worker %d given a second lease", w);
    l->job = j;
    l->obj = o;
    l->del = del;
    l->since = S.env.now();
    if (o)
        o->lease = l;
    else
        j->conv = l;
    S.env.proc.lease(S.env.proc.ud, w, 1);
}

void
sched_lease_begin_fetch(int w, struct job *j)
{
    struct lease *l = sched_lease_at(w);

    if (l->job || l->dlv)
        log_panic("worker %d given a second lease", w);
    l->job = j;
    l->fetch = 1;
    l->since = S.env.now();
    j->fetch = l;
    S.env.proc.lease(S.env.proc.ud, w, 1);
}

void
sched_lease_begin_dlv(int w, struct dlv *d)
{
    struct lease *l = sched_lease_at(w);

    if (l->job || l->dlv)
        log_panic("worker %d given a second lease", w);
    l->dlv = d;
    l->since = S.env.now();
    d->lease = l;
    S.env.proc.lease(S.env.proc.ud, w, 1);
}

/* sched_lease_end - the lease ends and the worker is idle again */
void
sched_lease_end(struct lease *l)
{
    memset(l, 0, sizeof(*l));
    S.env.proc.lease(S.env.proc.ud, sched_lease_id(l), 0);
}

void
sched_lease_kill(const struct lease *l, const char *why)
{
    S.env.proc.kill(S.env.proc.ud, sched_lease_id(l), why);
}

int
sched_lease_send(const struct lease *l, uint16_t type, const void *body, size_t len)
{
    int64_t id = l->job ? l->job->row.id : l->dlv ? l->dlv->row.job : 0;
    return S.env.proc.send(S.env.proc.ud, sched_lease_id(l), type, (uint64_t)id, body, len);
}

int64_t
sched_lease_of(int w, const char **rel)
{
    const struct lease *l = w >= 0 && w < SCHED_MAX_WORKERS ? &S.leases[w] : NULL;

    *rel = l && l->obj ? l->obj->rel : l && l->fetch ? "(input)" : l && l->dlv ? "(webhook)" : "";
    return l && l->job ? l->job->row.id : l && l->dlv ? l->dlv->row.job : 0;
}

int
sched_lease_up_result(struct lease *l, const void *body, size_t len, struct proto_up_result *h,
                      char *text, size_t cap)
{
    if (len < sizeof(*h)) {
        sched_lease_kill(l, "protocol: short upload worker result");
        return -1;
    }
    memcpy(h, body, sizeof(*h));
    h->etag[sizeof(h->etag) - 1] = '\0';
    sched_printable(text, cap, (const char *)body + sizeof(*h), len - sizeof(*h));
    if (h->cls > PROTO_UP_PERMANENT) {
        sched_lease_kill(l, "protocol: unknown result class");
        return -1;
    }
    return 0;
}
