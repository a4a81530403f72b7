/*
 * ctl_ingest.h - copying a submitted input into <spool_dir>/incoming/<token>/
 * input, in bounded steps so that one big or slow submission never stalls
 * the other clients of ctl.
 *
 * The master takes a finished directory over by renaming it (see
 * docs/protocol.md, "submit"); until then it belongs to ctl, which removes
 * it on any failure. Library-like: returns -1 with errno, never logs.
 */
#ifndef HLSD_DAEMON_CTL_INGEST_H
#define HLSD_DAEMON_CTL_INGEST_H

#include "daemon/ctl_request.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_INGEST_TOKEN_LEN 32 /* hex characters */
#define CTL_INGEST_FILE      "input"

struct ctl_ingest {
    int dirfd; /* incoming/<token>, -1 when idle */
    int fd;    /* the input file being written */
    char token[CTL_INGEST_TOKEN_LEN + 1];
    uint64_t copied;
    uint64_t limit;   /* largest input accepted */
    uint64_t expect;  /* exact size, or UINT64_MAX: until end of file */
    int src_regular;  /* source is a regular file: copy_file_range */
    int write_failed; /* the last error was the spool's, not the source's */
};

/* ctl_ingest_open_spool - mkdir <spool>/incoming (0700), open it, and
 * remove what a previous ctl left there half-written (nobody else writes
 * in it, and the master only renames directories out of it). */
int ctl_ingest_open_spool(const char *spool_dir);

/* ctl_ingest_open_dir - the same for <spool>/<name>, a front's own area
 * (the HTTP process streams uploads into "http-incoming" and moves each
 * finished one into incoming/ before it asks the master to take it) */
int ctl_ingest_open_dir(const char *spool_dir, const char *name);

/* ctl_ingest_begin - a fresh token directory and an empty input file. */
int ctl_ingest_begin(struct ctl_ingest *ig, int incoming, uint64_t limit, uint64_t expect);

/* ctl_ingest_source - look at the source descriptor once before copying:
 * -1 EISDIR / EFBIG (regular file larger than the limit) / EBADF / ENODEV
 * (neither a file, a pipe nor a socket: a device, an eventfd, ...). */
int ctl_ingest_source(struct ctl_ingest *ig, int src);

/* ctl_ingest_kind - what src is, for a message: "a pipe", "an eventfd
 * descriptor", "a character device", ... */
void ctl_ingest_kind(int src, char *out, size_t cap);

/* ctl_ingest_step - copy one bounded chunk from src (at most what remains
 * when expect is set). Returns 1 when the input is complete (end of file,
 * or expect bytes), 0 when more is to come, -1 with errno: EAGAIN nothing
 * to read now, EFBIG over the limit, EPIPE end of file before expect bytes,
 * other errno from read/write. */
int ctl_ingest_step(struct ctl_ingest *ig, int src);

/* ctl_ingest_write - add bytes already read (inline submissions). Same
 * return values as ctl_ingest_step. */
int ctl_ingest_write(struct ctl_ingest *ig, const void *buf, size_t len);

/* ctl_ingest_remaining - bytes still expected (expect set), else SIZE_MAX */
size_t ctl_ingest_remaining(const struct ctl_ingest *ig);

/* ctl_ingest_finish - fsync the file, its directory and incoming/, and
 * close them: after 0 the input survives a crash. */
int ctl_ingest_finish(struct ctl_ingest *ig, int incoming);

/* ctl_ingest_abort - close and remove incoming/<token> (whether or not
 * finish ran); harmless if the master already took the directory. */
void ctl_ingest_abort(struct ctl_ingest *ig, int incoming);

/* ctl_ingest_remove - remove incoming/<token> by name. */
void ctl_ingest_remove(int incoming, const char *token);

/* ctl_options_save (ctl_options.c) - a submission's conversion options
 * (ctl_request's rq.options) as options.json into its directory dirfd,
 * fsynced, where the convert worker reads them; 0, or -1 with err */
int ctl_options_save(int dirfd, json_t *options, struct ctl_error *err);

#endif
