/*
 * ctl_submit.c - a submission: admit first (no copy into a full queue),
 * ingest the input into the spool (a passed descriptor or inline bytes),
 * then submit, and answer the client once the master has the job.
 */
#include "daemon/ctl_int.h"

#include "daemon/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
ctl_submit_end(struct ctl *c, struct ctl_conn *k, int remove_input)
{
    if (remove_input)
        ctl_ingest_abort(&k->ig, c->incoming);
    ctl_options_close_fds(k);
    if (k->src >= 0)
        close(k->src);
    k->src = -1;
    ctl_request_free(&k->rq);
    if (k->state == CONN_INGEST)
        k->state = CONN_READ;
}

/* ctl_submit_fail - an ingest that cannot go on: answer, clean up, and
 * close an inline submission whose remaining bytes we will not read */

static void ctl_submit_fail(struct ctl *c, struct ctl_conn *k, const char *code, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

static void
ctl_submit_fail(struct ctl *c, struct ctl_conn *k, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("submit of \"%s\" refused: %s", k->rq.input, msg);
    if (k->src < 0)
        k->close_after = 1;
    ctl_submit_end(c, k, 1);
    ctl_reply_error(k, code, msg);
}

void
ctl_submit_ingest_error(struct ctl *c, struct ctl_conn *k, int e)
{
    if (e == EFBIG)
        ctl_submit_fail(c, k, "too_large", "the input is larger than max_input_size (%llu bytes)",
                        (unsigned long long)c->cfg->daemon.max_input_bytes);
    else if (e == EPIPE)
        ctl_submit_fail(c, k, "bad_input", "the input ended after %llu of %llu bytes",
                        (unsigned long long)k->ig.copied, (unsigned long long)k->ig.expect);
    else if (k->ig.write_failed)
        ctl_submit_fail(c, k, "io_error", "writing the input into the spool: %s", strerror(e));
    else
        ctl_submit_fail(c, k, "bad_input", "reading the input: %s", strerror(e));
}

/* ctl_submit_complete - the whole input is in: make it durable, then let
 * the master store the job; only its answer goes to the client */
void
ctl_submit_complete(struct ctl *c, struct ctl_conn *k)
{
    struct ctl_error err;

    if (k->ig.copied == 0) {
        ctl_submit_fail(c, k, "bad_input", "the input is empty");
        return;
    }
    if (ctl_ingest_finish(&k->ig, c->incoming) < 0) {
        log_error("fsync of incoming/%s: %s", k->ig.token, strerror(errno));
        ctl_submit_fail(c, k, "io_error", "saving the input in the spool: %s", strerror(errno));
        return;
    }
    json_object_set_new(k->rq.fwd, "token", json_string(k->ig.token));
    json_object_set_new(k->rq.fwd, "input", json_string(k->rq.input));
    json_t *rep = ctl_master_ask(c, k->rq.fwd, &err);
    int ok = rep && json_is_true(json_object_get(rep, "ok"));
    if (ok) {
        json_t *id = json_object_get(json_object_get(rep, "job"), "id");
        log_info("submitted \"%s\" (%llu bytes) as job %lld for %s (uid %ld pid %ld)", k->rq.input,
                 (unsigned long long)k->ig.copied,
                 json_is_integer(id) ? json_integer_value(id) : -1, k->user, (long)k->uid,
                 (long)k->pid);
    }
    /* on any error the master did not take the directory: it is still ours */
    ctl_submit_end(c, k, !ok);
    if (rep) {
        ctl_reply_json(k, rep);
        json_decref(rep);
    } else {
        if (strcmp(err.code, "unavailable") == 0)
            snprintf(err.message, sizeof(err.message),
                     "the daemon did not answer in %d ms; the job may not have been created",
                     CTL_REPLY_TIMEOUT);
        ctl_reply_error(k, err.code, err.message);
    }
}

/* ctl_submit_inline - feed bytes of an inline submission */
void
ctl_submit_inline(struct ctl *c, struct ctl_conn *k, const void *buf, size_t n)
{
    int r = ctl_ingest_write(&k->ig, buf, n);

    if (r < 0)
        ctl_submit_ingest_error(c, k, errno);
    else if (r == 1)
        ctl_submit_complete(c, k);
}

/* ctl_submit_url - an input named by URL: nothing to copy (an upload
 * worker fetches it); conversion options still go beside it, in a token
 * directory the master adopts. The job exists, queued, once the master
 * answers. */
static void
ctl_submit_url(struct ctl *c, struct ctl_conn *k)
{
    struct ctl_error err;
    int have_dir = 0;

    if (k->passed_fd >= 0) {
        close(k->passed_fd); /* nothing to read: the input is the URL */
        k->passed_fd = -1;
    }
    if (k->rq.n_captions > 0) {
        ctl_reply_error(k, "bad_request",
                        "\"subtitles\" files go with a local input, not an input URL");
        ctl_submit_end(c, k, 0);
        return;
    }
    memset(&k->ig, 0, sizeof(k->ig));
    k->ig.dirfd = k->ig.fd = -1;
    if (k->rq.options) {
        if (ctl_ingest_begin(&k->ig, c->incoming, 1, UINT64_MAX) < 0) {
            log_error("creating an input in %s/incoming: %s", c->cfg->daemon.spool_dir,
                      strerror(errno));
            ctl_submit_fail(c, k, "io_error", "creating the job in the spool: %s", strerror(errno));
            return;
        }
        have_dir = 1;
        if (ctl_options_write(c, k, &err) < 0) {
            ctl_submit_fail(c, k, err.code, "%s", err.message);
            return;
        }
        if (ctl_ingest_finish(&k->ig, c->incoming) < 0) {
            ctl_submit_fail(c, k, "io_error", "saving the options in the spool: %s",
                            strerror(errno));
            return;
        }
        json_object_set_new(k->rq.fwd, "token", json_string(k->ig.token));
    }
    json_t *rep = ctl_master_ask(c, k->rq.fwd, &err);
    int ok = rep && json_is_true(json_object_get(rep, "ok"));
    if (ok) {
        json_t *id = json_object_get(json_object_get(rep, "job"), "id");
        log_info("submitted an input URL as job %lld for %s (uid %ld pid %ld)",
                 json_is_integer(id) ? json_integer_value(id) : -1, k->user, (long)k->uid,
                 (long)k->pid);
    }
    ctl_submit_end(c, k, have_dir && !ok);
    if (rep) {
        ctl_reply_json(k, rep);
        json_decref(rep);
    } else {
        ctl_reply_error(k, err.code, err.message);
    }
}

/* ctl_submit_start - after a valid submit line: admission, then ingest */
void
ctl_submit_start(struct ctl *c, struct ctl_conn *k)
{
    uint64_t max = c->cfg->daemon.max_input_bytes ? c->cfg->daemon.max_input_bytes : UINT64_MAX;
    struct ctl_error err;

    k->src = -1;
    if (k->rq.is_url) {
        ctl_submit_url(c, k);
        return;
    }
    if (k->rq.inline_size) {
        if (k->passed_fd >= 0) {
            close(k->passed_fd); /* the bytes follow inline: ignore it */
            k->passed_fd = -1;
        }
        if (k->rq.size == 0) {
            ctl_submit_fail(c, k, "bad_input", "the input is empty");
            k->close_after = 0; /* no bytes follow: the stream is still in step */
            return;
        }
        if (k->rq.size > max) {
            ctl_submit_fail(c, k, "too_large",
                            "the input is larger than max_input_size (%llu bytes)",
                            (unsigned long long)max);
            return;
        }
    } else {
        if (k->passed_fd < 0) {
            ctl_reply_error(k, "bad_request",
                            "submit needs the input: pass its descriptor with SCM_RIGHTS on the "
                            "same sendmsg as the line, or give \"size\" and send that many bytes "
                            "after the line");
            ctl_request_free(&k->rq);
            return;
        }
        k->src = k->passed_fd;
        k->passed_fd = -1;
    }

    memset(&k->ig, 0, sizeof(k->ig));
    k->ig.dirfd = k->ig.fd = -1;
    k->ig.limit = max;
    if (k->src >= 0 && ctl_ingest_source(&k->ig, k->src) < 0) {
        int e = errno;
        if (e == EISDIR)
            ctl_submit_fail(c, k, "bad_input", "the input is a directory");
        else if (e == EFBIG)
            ctl_submit_fail(c, k, "too_large",
                            "the input is larger than max_input_size (%llu bytes)",
                            (unsigned long long)max);
        else if (e == ENODEV) {
            char kind[80];
            ctl_ingest_kind(k->src, kind, sizeof(kind));
            ctl_submit_fail(c, k, "bad_input",
                            "the passed descriptor is %s, not a file, a pipe or a socket", kind);
        } else
            ctl_submit_fail(c, k, "bad_input", "the passed descriptor is not readable");
        return;
    }

    /* ask first, so that a big input is not copied only to be refused */
    json_t *admit = json_pack("{s:s, s:o}", "cmd", "admit", "client", ctl_access_client(k));
    json_t *rep = admit ? ctl_master_ask(c, admit, &err) : NULL;
    json_decref(admit);
    if (rep == NULL || !json_is_true(json_object_get(rep, "ok"))) {
        if (k->src < 0)
            k->close_after = 1;
        ctl_submit_end(c, k, 0);
        if (rep)
            ctl_reply_json(k, rep);
        else
            ctl_reply_error(k, admit ? err.code : "internal",
                            admit ? err.message : "out of memory");
        json_decref(rep);
        return;
    }
    json_decref(rep);

    int src_regular = k->ig.src_regular;
    if (ctl_ingest_begin(&k->ig, c->incoming, max, k->rq.inline_size ? k->rq.size : UINT64_MAX) <
        0) {
        log_error("creating an input in %s/incoming: %s", c->cfg->daemon.spool_dir,
                  strerror(errno));
        ctl_submit_fail(c, k, "io_error", "creating the input in the spool: %s", strerror(errno));
        return;
    }
    k->ig.src_regular = src_regular;
    /* caption files and options first: a bad one is refused before the copy */
    if (ctl_options_write(c, k, &err) < 0) {
        ctl_submit_fail(c, k, err.code, "%s", err.message);
        return;
    }
    k->state = CONN_INGEST;

    if (k->src < 0 && k->inlen > 0) {
        /* bytes that came in with the line */
        size_t n = k->inlen;
        if (n > ctl_ingest_remaining(&k->ig))
            n = ctl_ingest_remaining(&k->ig);
        unsigned char *tmp = malloc(n);
        if (tmp == NULL) {
            ctl_submit_fail(c, k, "internal", "out of memory");
            return;
        }
        memcpy(tmp, k->in, n);
        memmove(k->in, k->in + n, k->inlen - n);
        k->inlen -= n;
        ctl_submit_inline(c, k, tmp, n);
        free(tmp);
    }
}

/* --- requests ----------------------------------------------------------- */
