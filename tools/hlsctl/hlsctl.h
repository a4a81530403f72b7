/*
 * hlsctl.h - the pieces of hlsctl among themselves (the .c files of tools/hlsctl/):
 * exit statuses, the connection, the global options, and each file's
 * calls. Nothing outside tools/hlsctl/ includes this.
 */
#ifndef HLSD_TOOLS_HLSCTL_H
#define HLSD_TOOLS_HLSCTL_H

#include "daemon/ctl_request.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define EX_OK          0
#define EX_FAIL        1
#define EX_USAGE       2
#define EX_UNREACHABLE 3

#define REPLY_TIMEOUT_MS 30000 /* the daemon answers in 5 s or says "unavailable" */
#define WAIT_POLL_MS     200
#define WAIT_RETRY_MS    10000 /* --wait rides out a ctl restart this long */
#define BAR_WIDTH        30

/* the global options: -s/--socket, --json */
extern const char *hlsctl_socket;
extern int hlsctl_json;

struct client {
    int fd;
    char *buf;
    size_t len, cap;
    /* descriptors that go after the request's own (caption files) */
    int extra[CTL_MAX_CAPTIONS];
    int nextra;
};

/* hlsctl.c */
void usage(FILE *f);
_Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* hlsctl_conn.c */
int64_t now_ms(void);
int client_connect(struct client *cl, int quiet);
void client_close(struct client *cl);
int client_send(struct client *cl, json_t *req, int fd);
json_t *client_recv(struct client *cl, int timeout_ms, int quiet);
json_t *request(struct client *cl, json_t *req, int fd, int timeout_ms, int quiet);

/* hlsctl_print.c */
const char *str_or(json_t *o, const char *key, const char *dflt);
long long int_or(json_t *o, const char *key, long long dflt);
double progress_of(json_t *job);
void print_json(json_t *o);
int reply_error(json_t *rep);
const char *plural(long long n, const char *one, const char *many);
long long seg_total(json_t *job);
int reply_ok(json_t *rep);
int rendition_kind(const char *name);
void print_renditions(json_t *rends);
void print_job(json_t *job);
void print_jobs(json_t *jobs);
void print_workers(json_t *ws);
void print_flat(const char *prefix, json_t *v);

/* hlsctl_wait.c */
long long parse_job_id(const char *s);
int cmd_simple(json_t *req, const char *cmd);
int job_ended(const char *state);
int wait_job(struct client *cl, long long id);
int cmd_wait(long long id);

/* hlsctl_submit.c */
const char *opt_value(int nargs, char **args, int *j, const char *name);
void check_ladder(const char *v);
int cmd_submit(int argc, char **argv);

#endif
