/*
 * http.h - the HTTP front: a process of its own (role "http" in the
 * master's process table, like ctl) that serves the REST API, /metrics and
 * /healthz with libmicrohttpd (docs/http.md). It maps every request onto
 * the socket protocol's requests to the master, over its own ring pair,
 * and streams uploaded videos into the spool the way ctl does; it never
 * touches the store. Whatever a client sends can at worst crash this
 * process, which the master respawns; the listening socket is bound once
 * (by main, before the privilege drop) so that it survives a respawn.
 */
#ifndef HLSD_DAEMON_HTTP_H
#define HLSD_DAEMON_HTTP_H

#include "daemon/config.h"
#include "ipc/shmseg.h"

#include <stddef.h>

/* http_check - what [http] needs beyond the file's syntax, for `hlsd -t`
 * and the start: a token file when listen is not a loopback address, the
 * token file readable with at least one token, TLS supported by this
 * libmicrohttpd and its files readable. 0, or -1 with a one-line reason. */
int http_check(const struct config *cfg, char *err, size_t errlen);

/* http_listen - bind and listen on [http] listen (SO_REUSEADDR,
 * close-on-exec). The descriptor, or -1 with a reason; never logs. */
int http_listen(const struct config *cfg, char *err, size_t errlen);

/* http_main - the HTTP process, in the forked child after
 * shmseg_child_attach(seg); returns the exit code for _exit(): 0 on
 * SIGTERM, EXIT_ORPHAN when the master goes away, EXIT_PROTO on garbage
 * from the master, EXIT_ENV when the spool or the server cannot be set
 * up, EXIT_CONFIG when the token file or the TLS files cannot be read. */
int http_main(const struct config *cfg, shmseg_t *seg, int listen_fd);

#endif
