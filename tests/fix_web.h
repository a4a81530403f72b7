/*
 * fix_web.h - the loopback web server of tools/test-web-server.py, for the
 * tests of inputs by URL and of webhooks: files to fetch, statuses, a
 * server that stalls, and a webhook receiver that checks the signature
 * and logs each delivery. It dies with the test process.
 */
#ifndef HLSD_TESTS_FIX_WEB_H
#define HLSD_TESTS_FIX_WEB_H

#include "tests/fix.h"

#include <stdint.h>
#include <sys/types.h>

struct fix_web {
    pid_t pid;
    int port;
    char dir[512]; /* the files it serves */
    char log[600]; /* webhook deliveries, one JSON line each */
    char secret[64];
    char cert[640]; /* "" or the server's certificate: it speaks HTTPS */
};

/* fix_web_init - a directory to serve and a log, under a fresh scratch
 * directory; the server is not started */
void fix_web_init(struct fix_web *w, const char *name, const char *secret);
/* fix_web_tls - HTTPS from now on, with a self-signed certificate for
 * 127.0.0.1 made here (w->cert, also the CA a client must trust) */
void fix_web_tls(struct fix_web *w);
/* fix_web_start - listen on port (0: any free one, kept in w->port for a
 * later start on the same one); 0 or -1 */
int fix_web_start(struct fix_web *w, int port);
void fix_web_stop(struct fix_web *w);
/* fix_web_url - "http(s)://127.0.0.1:PORT/path" (static) */
const char *fix_web_url(struct fix_web *w, const char *path);
/* fix_web_hooks - deliveries logged for job id (0: any) in state (NULL:
 * any) whose signature was right; *bad (may be NULL) those whose was not */
int fix_web_hooks(struct fix_web *w, int64_t id, const char *state, int *bad);
/* fix_web_requests - how many requests path got */
int fix_web_requests(struct fix_web *w, const char *path);

#endif
