/*
 * obj.c - the object state machine (see obj.h): one table of legal moves,
 * kept apart from the scheduler so that it is tested on its own.
 */
#include "daemon/obj.h"

#include "daemon/log.h"

static const char *const names[OBJ_NSTATES] = {
    "pending", "uploading", "uploaded", "deleting", "unwanted",
};

#define B(s) (1u << (s))
static const unsigned legal[OBJ_NSTATES] = {
    [OBJ_PENDING] = B(OBJ_UPLOADING) | B(OBJ_UPLOADED) | B(OBJ_DELETING) | B(OBJ_UNWANTED),
    [OBJ_UPLOADING] = B(OBJ_PENDING) | B(OBJ_UPLOADED) | B(OBJ_DELETING) | B(OBJ_UNWANTED),
    [OBJ_UPLOADED] = B(OBJ_PENDING) | B(OBJ_DELETING) | B(OBJ_UNWANTED),
    [OBJ_DELETING] = B(OBJ_UNWANTED),
    [OBJ_UNWANTED] = B(OBJ_UPLOADED) | B(OBJ_DELETING),
};

const char *
obj_state_name(enum obj_state s)
{
    return (unsigned)s < OBJ_NSTATES ? names[s] : "invalid";
}

int
obj_state_legal(enum obj_state from, enum obj_state to)
{
    if ((unsigned)from >= OBJ_NSTATES || (unsigned)to >= OBJ_NSTATES)
        return 0;
    return from == to || (legal[from] & B(to)) != 0;
}

void
obj_transition(int64_t job, const char *rel, enum obj_state *s, enum obj_state to)
{
    if (!obj_state_legal(*s, to))
        log_panic("job %lld: object %s: illegal transition %s -> %s", (long long)job, rel,
                  obj_state_name(*s), obj_state_name(to));
    *s = to;
}
