/*
 * ctl_int.h - the control process's files among themselves: a connection,
 * the process's state, and the calls between its concerns. Nothing outside
 * daemon/ctl*.c includes this.
 */
#ifndef HLSD_DAEMON_CTL_INT_H
#define HLSD_DAEMON_CTL_INT_H

#include "daemon/ctl.h"
#include "daemon/ctl_ingest.h"
#include "daemon/ctl_request.h"
#include "daemon/front_link.h"
#include "ipc/msclock.h"
#include "ipc/msg.h"
#include "ipc/ring.h"

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#define CONN_IN_START 4096u
#define CONN_IN_MAX   (CTL_LINE_MAX + 1u) /* the line and its newline */
#define INLINE_CHUNK  (256u << 10)
#define POLL_MS       1000
/* deadlines of a connection's phases (ctl_conn_deadlines) and a user's
 * share of the slots: nobody holds a slot without making progress, and
 * one user cannot take them all */
#define CTL_LINE_TIMEOUT      10000 /* ms for a request line, from its first byte */
#define CTL_STALL_TIMEOUT     30000 /* ms an input's bytes (inline or passed) may stop */
#define CTL_MAX_CONNS_PER_UID (CTL_MAX_CONNS / 2)

enum ctl_conn_state {
    CONN_READ,   /* reading request lines */
    CONN_INGEST, /* copying a submitted input */
    CONN_DEAD,   /* to be freed */
};

struct ctl_conn {
    int fd;
    enum ctl_conn_state state;
    unsigned char *in;
    size_t inlen, incap;
    char *out;
    size_t outlen, outoff;
    int passed_fd; /* descriptor received with SCM_RIGHTS, not used yet */
    /* the descriptors after it: caption files, in the request's order */
    int extra_fd[CTL_MAX_CAPTIONS];
    int n_extra;
    int fds_truncated; /* more descriptors came than a request may carry */
    int peer_eof;      /* the client shut its sending side */
    int close_after;   /* close once the reply is out */
    /* a submission in progress */
    struct ctl_request rq;
    struct ctl_ingest ig;
    int src;             /* the passed descriptor, or -1 when the bytes follow inline */
    int64_t last_active; /* ms: last byte in or out (of the input, while ingesting) */
    int64_t line_since;  /* ms: the request line being read began (or the connection) */
    unsigned requests;   /* request lines handled */
    /* the peer, from SO_PEERCRED at accept (ctl_access.c) */
    uid_t uid;
    pid_t pid;
    char user[64]; /* its user name, or the uid in decimal */
    int allowed;   /* by allow_users / allow_groups */
    int admin;     /* may cancel or retry others' jobs */
};

struct ctl {
    const struct config *cfg;
    shmseg_t *seg;
    struct front_link link; /* to the master */
    int lfd;
    int incoming;
    struct ctl_conn *conns[CTL_MAX_CONNS];
    int nconns;
    int exit_code; /* >= 0: leave the loop with it */
    int64_t accept_pause_until;
};

extern volatile sig_atomic_t ctl_stop; /* SIGTERM */

/* ctl_dispatch.c */
void ctl_dispatch(struct ctl *c, struct ctl_conn *k, const char *line, size_t len);

/* ctl_reply.c: the bottom of ctl, calling nothing else of it */
void ctl_reply_json(struct ctl_conn *k, json_t *obj);
void ctl_reply_error(struct ctl_conn *k, const char *code, const char *message);
void ctl_reply_errorf(struct ctl_conn *k, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ctl_reply_flush(struct ctl_conn *k);

/* ctl_conn.c */
void ctl_conn_lines(struct ctl *c, struct ctl_conn *k);
void ctl_conn_read(struct ctl *c, struct ctl_conn *k);
void ctl_conn_ingest_inline(struct ctl *c, struct ctl_conn *k);
void ctl_conn_free(struct ctl *c, struct ctl_conn *k);
/* ctl_conn_deadlines - end (with an error line saying why) every
 * connection past its phase's deadline */
void ctl_conn_deadlines(struct ctl *c, int64_t now);
/* ctl_conn_refuse - one error line to a connection not taken, then close */
void ctl_conn_refuse(int fd, const char *code, const char *message);

/* ctl_access.c */
void ctl_access_identify(const struct config *cfg, struct ctl_conn *k, uid_t uid, gid_t gid);
/* ctl_access_client - {"uid","user","admin"}, for the master */
json_t *ctl_access_client(const struct ctl_conn *k);

/* ctl_options.c */
int ctl_options_write(struct ctl *c, struct ctl_conn *k, struct ctl_error *err);
void ctl_options_close_fds(struct ctl_conn *k);

/* ctl_master.c */
json_t *ctl_master_ask(struct ctl *c, json_t *req, struct ctl_error *err);
void ctl_master_forward(struct ctl *c, struct ctl_conn *k, json_t *req);

/* ctl_submit.c */
void ctl_submit_end(struct ctl *c, struct ctl_conn *k, int remove_input);
void ctl_submit_ingest_error(struct ctl *c, struct ctl_conn *k, int e);
void ctl_submit_complete(struct ctl *c, struct ctl_conn *k);
void ctl_submit_inline(struct ctl *c, struct ctl_conn *k, const void *buf, size_t n);
void ctl_submit_start(struct ctl *c, struct ctl_conn *k);

#endif
