/*
 * plugin.h - the parts of hlsd that the master must not carry: the
 * conversion engine (FFmpeg and the hundred libraries it pulls in) and the
 * upload engine (libcurl, OpenSSL) are shared objects, hlsd-convert.so and
 * hlsd-upload.so, that a worker loads after its fork; so is the HTTP API
 * (libmicrohttpd, GnuTLS), hlsd-http.so, in the http process. The master and ctl
 * then map only libc, SQLite, jansson and inih: a few MiB resident instead
 * of tens, and none of that code in the one process that must not die.
 *
 * plugin_open() runs once in main, before the privilege drop: it finds both
 * files (next to the hlsd binary in a build tree, else in ../lib/hlsd from
 * it, as installed) and keeps them open. A child loads the descriptor, not
 * the path, so a package upgrade that replaces the files under a running
 * daemon cannot mix an old master with a new worker.
 */
#ifndef HLSD_DAEMON_PLUGIN_H
#define HLSD_DAEMON_PLUGIN_H

#include <stddef.h>

enum plugin_id { PLUGIN_CONVERT, PLUGIN_UPLOAD, PLUGIN_HTTP, PLUGIN_N };

/* plugin_open - find and open every plugin; 0, or -1 with err ("where it looked") */
int plugin_open(char *err, size_t errlen);

/* plugin_sym - load a plugin (once per process) and return one of its
 * functions; NULL with err (dlerror's text) if it cannot */
void *plugin_sym(enum plugin_id id, const char *name, char *err, size_t errlen);

#endif
