/*
 * ctl.h - the control process: it owns the Unix socket that hlsctl and
 * scripts talk to (one JSON object per line each way, see docs/protocol.md),
 * validates every request, copies submitted inputs into the spool, and
 * forwards normalised requests to the master over its ring pair.
 *
 * ctl is a child like the workers: whatever a client sends can at worst
 * crash this process, never the master, which respawns it. The listening
 * socket is created once by the master (ctl_listen) so that it, and the
 * clients queued on it, survive a ctl respawn.
 */
#ifndef HLSD_DAEMON_CTL_H
#define HLSD_DAEMON_CTL_H

#include "daemon/config.h"
#include "ipc/shmseg.h"

#include <stddef.h>

/* bounds of the wire protocol (documented in docs/protocol.md) */
#define CTL_LINE_MAX      65536u /* bytes of one request line, newline excluded */
#define CTL_MAX_CONNS     256    /* clients at once; more are answered "busy" */
#define CTL_REPLY_TIMEOUT 5000   /* ms the master has to answer a request */
#define CTL_IDLE_TIMEOUT  600000 /* ms a connection may sit without a request */
#define CTL_LIST_DEFAULT  1000   /* list: jobs returned when no limit is given */
#define CTL_LIST_MAX      5000   /* list: largest limit accepted */

/* ctl_listen - master, at start: create, bind and listen on cfg->daemon.socket
 * (a stale socket file nobody listens on is replaced; a live one is an error),
 * with mode socket_mode and owner user/group when set. Returns the listening
 * descriptor (non-blocking, close-on-exec) or -1 with errno and a one-line
 * reason in err. Never logs or exits. */
int ctl_listen(const struct config *cfg, char *err, size_t errlen);

/* ctl_main - the ctl process, in the forked child after
 * shmseg_child_attach(seg). Serves clients until told to stop (SIGTERM:
 * returns 0) or until the master goes away (EXIT_ORPHAN); a master that
 * sends garbage gives EXIT_PROTO, an unusable spool EXIT_ENV. Returns the
 * exit code for the caller to _exit() with. */
int ctl_main(const struct config *cfg, shmseg_t *seg, int listen_fd);

#endif
