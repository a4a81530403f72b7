/*
 * fix_storage.h - fixtures for the storage and upload tests, on top of
 * tests/fix.h: scratch files and the standard tree, the S3 test server's
 * settings, and a one-shot fake HTTP server for answers a real server will
 * not give on demand.
 */
#ifndef HLSD_TESTS_FIX_STORAGE_H
#define HLSD_TESTS_FIX_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "tests/fix.h" /* fix_tmpdir, fix_unique, fix_run */
#include "workers/storage.h"

/* fix_storage_s3_config - cfg for the run's S3 server (env HLSD_TEST_S3_*), with
 * url = s3://bucket/<prefix>; url_buf must hold 512 bytes. Returns 0, or -1
 * when no server is configured (the caller skips). */
int fix_storage_s3_config(struct storage_config *cfg, char *url_buf, const char *prefix);

/* fix_storage_write - a file of size bytes of a pattern derived from seed;
 * creates parent directories */
void fix_storage_write(const char *path, uint64_t size, uint32_t seed);
void fix_storage_write_str(const char *path, const char *text);

/* fix_storage_same_file - 1 if both files exist with identical bytes */
int fix_storage_same_file(const char *a, const char *b);

/* fix_storage_contains - 1 if the file's bytes contain needle */
int fix_storage_file_contains(const char *path, const char *needle);

/* The standard test tree: two renditions of segments (one empty, one over
 * 1 MiB so that curl sends Expect: 100-continue), their playlists, a master
 * playlist, and awkward names. Keys are relative to the tree's root. */
extern const char *const fix_storage_tree_keys[];
extern const size_t fix_storage_tree_count;
void fix_storage_make_tree(const char *root);

/* A fake HTTP server on 127.0.0.1 that answers one request with a canned
 * response (or never answers when response is NULL) and records what it
 * received. */
struct fix_storage_fake {
    int port;
    int fd;
    const char *response;
    char request[16384]; /* head and the start of the body */
    size_t request_len;
    unsigned long thread;
};

int fix_storage_fake_start(struct fix_storage_fake *f, const char *response);
void fix_storage_fake_stop(struct fix_storage_fake *f);

/* fix_storage_dead_port - a loopback port where nothing listens */
int fix_storage_dead_port(void);

#endif
