/*
 * obj.h - the state machine of one object of a job's upload ledger.
 *
 *   pending -> uploading -> uploaded -> deleting -> unwanted
 *      ^  \________|___________^  \_______^          |
 *      |___________|   (a late result of an earlier lease)
 *   pending, uploading, uploaded -> unwanted   (no longer wanted: the job
 *                                               failed or was canceled)
 *   unwanted -> uploaded, deleting             (a put that was already out
 *                                               ends after all)
 *
 * unwanted is the state of an object the job no longer needs: its ledger
 * row is gone and it is never dispatched again, but it keeps its path so
 * that a put still in flight can be taken down. It is never stored.
 * Staying in the same state is not a move. An illegal move is a bug of
 * ours: obj_transition panics.
 */
#ifndef HLSD_DAEMON_OBJ_H
#define HLSD_DAEMON_OBJ_H

#include <stdint.h>

enum obj_state {
    OBJ_PENDING,   /* to be uploaded */
    OBJ_UPLOADING, /* leased to an upload worker */
    OBJ_UPLOADED,  /* published, with its ETag in the ledger */
    OBJ_DELETING,  /* published, to be taken down (canceled job) */
    OBJ_UNWANTED,  /* forgotten: not in the ledger, never dispatched */
    OBJ_NSTATES
};

const char *obj_state_name(enum obj_state s);
int obj_state_legal(enum obj_state from, enum obj_state to);
/* obj_transition - *s = to, or panic if the move is illegal */
void obj_transition(int64_t job, const char *rel, enum obj_state *s, enum obj_state to);

#endif
