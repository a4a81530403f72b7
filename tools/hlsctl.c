/*
 * hlsctl - the command-line client of hlsd's control socket.
 *
 *   hlsctl [-s SOCKET] [--json] COMMAND ...    (global options anywhere)
 *   hlsctl --version | --help
 *
 * It speaks the line protocol of docs/protocol.md: one JSON request, one
 * JSON reply. A file to submit is opened here, with the user's rights, and
 * its descriptor is passed to the daemon (SCM_RIGHTS), so the daemon never
 * needs access to the user's path. Exit status: 0 success (a --wait job
 * ended done), 1 an error reply or a failed/canceled job, 2 usage (also a
 * bad_request reply: hlsctl builds every request itself, so the daemon
 * refusing one means an argument was out of range), 3 the daemon cannot
 * be reached. Arguments are checked here first where the rule is known
 * (--ladder, --state, --limit, --segment), so a usage error never needs
 * the daemon.
 */
#include "daemon/config.h"
#include "daemon/ctl_request.h"
#include "daemon/paths.h"
#include "daemon/version.h"
#include "workers/convert.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EX_OK          0
#define EX_FAIL        1
#define EX_USAGE       2
#define EX_UNREACHABLE 3

#define REPLY_TIMEOUT_MS 30000 /* the daemon answers in 5 s or says "unavailable" */
#define WAIT_POLL_MS     200
#define WAIT_RETRY_MS    10000 /* --wait rides out a ctl restart this long */
#define BAR_WIDTH        30

static const char *hlsctl_socket;
static int hlsctl_json;

#define HLSCTL_MAX_CAPTIONS 8 /* the daemon's CTL_MAX_CAPTIONS */

struct client {
    int fd;
    char *buf;
    size_t len, cap;
    /* descriptors that go after the request's own (caption files) */
    int extra[HLSCTL_MAX_CAPTIONS];
    int nextra;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: hlsctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
            "       hlsctl --version | --help\n"
            "\n"
            "commands:\n"
            "  submit FILE|- [--ladder SPEC] [--segment SECONDS] [--prefix KEY]\n"
            "                [--audio separate|muxed] [--first-variant WHICH]\n"
            "                [--subtitles LANG=FILE]... [--wait]\n"
            "                   convert FILE (- for standard input); --wait follows it to its end\n"
            "  status JOB       one job in detail\n"
            "  list [--state STATE] [--limit N]\n"
            "                   jobs, newest first; STATE: queued, converting, uploading,\n"
            "                   done, failed or canceled; N: 1..5000 (default 1000)\n"
            "  cancel JOB       stop a job and remove what it published\n"
            "  retry JOB        queue a failed job again\n"
            "  workers          the daemon's processes\n"
            "  stats            the daemon's counters\n"
            "  ping             check that the daemon answers, and its version\n"
            "\n"
            "options (anywhere on the line):\n"
            "  -s, --socket SOCKET  the control socket (else $HLSD_SOCKET, else\n"
            "                       %s)\n"
            "  --json               print the daemon's JSON replies instead of text\n"
            "  -V, --version        print hlsctl's version and the daemon's, and exit\n"
            "  -h, --help           print this help and exit\n"
            "submit options:\n"
            "  --ladder SPEC        renditions, HEIGHT:BITRATE[,...] (e.g. 720:2800k,480:1400k,\n"
            "                       at most 8, heights 144..4320) or copy\n"
            "  --segment SECONDS    target segment duration, 1..60\n"
            "  --prefix KEY         publish under URL/KEY/JOB/ instead of URL/JOB/\n"
            "  --audio separate|muxed\n"
            "                       audio in renditions of its own (every track, languages;\n"
            "                       the default) or muxed into every video rendition\n"
            "  --first-variant WHICH\n"
            "                       the variant players start on: auto (nearest 2 Mb/s),\n"
            "                       lowest, highest or a rendition such as 720p\n"
            "  --subtitles LANG=FILE\n"
            "                       a SubRip or WebVTT caption file in language LANG (e.g.\n"
            "                       en=captions.srt) as a subtitle rendition; up to 8\n"
            "  --wait               show progress until the job ends; exit 0 only if done\n"
            "\n"
            "Exit status: 0 ok, 1 error or job failed/canceled, 2 usage, 3 daemon unreachable.\n"
            "See hlsctl(1).\n",
            HLSD_DEFAULT_SOCKET);
}

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void
usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("hlsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (hlsctl --help for usage)\n", stderr);
    exit(EX_USAGE);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the connection ------------------------------------------------------ */

/* client_connect - 0, or -1 with a message already printed */
static int
client_connect(struct client *cl, int quiet)
{
    struct sockaddr_un sa;

    /* a fresh connection; the descriptors to pass with it stay */
    free(cl->buf);
    cl->buf = NULL;
    cl->len = cl->cap = 0;
    cl->fd = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(hlsctl_socket) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "hlsctl: socket path too long: %s\n", hlsctl_socket);
        return -1;
    }
    strcpy(sa.sun_path, hlsctl_socket);
    cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cl->fd < 0 || connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (!quiet)
            fprintf(stderr, "hlsctl: cannot reach hlsd at %s: %s\n", hlsctl_socket,
                    strerror(errno));
        if (cl->fd >= 0)
            close(cl->fd);
        cl->fd = -1;
        return -1;
    }
    return 0;
}

static void
client_close(struct client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    free(cl->buf);
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

/* client_send - the request line, with fd attached when >= 0 */
static int
client_send(struct client *cl, json_t *req, int fd)
{
    char *s = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len, off = 0;

    if (s == NULL)
        return -1;
    len = strlen(s);
    s[len] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
    len++;
    while (off < len) {
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * (1 + HLSCTL_MAX_CAPTIONS))];
        } cm;
        struct iovec iov = {s + off, len - off};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (fd >= 0 && off == 0) {
            int fds[1 + HLSCTL_MAX_CAPTIONS] = {fd};
            memcpy(fds + 1, cl->extra, (size_t)cl->nextra * sizeof(int));
            size_t nfd = 1 + (size_t)cl->nextra;
            memset(&cm, 0, sizeof(cm));
            mh.msg_control = cm.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
            struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
            memcpy(CMSG_DATA(h), fds, sizeof(int) * nfd);
        }
        ssize_t n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(s);
            return -1;
        }
        off += (size_t)n;
    }
    free(s);
    return 0;
}

/* client_recv - one reply line as JSON; NULL when the daemon is gone or
 * silent (message printed unless quiet) */
static json_t *
client_recv(struct client *cl, int timeout_ms, int quiet)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

    for (;;) {
        char *nl = cl->buf ? memchr(cl->buf, '\n', cl->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - cl->buf);
            json_error_t jerr;
            json_t *rep = json_loadb(cl->buf, n, 0, &jerr);
            memmove(cl->buf, nl + 1, cl->len - n - 1);
            cl->len -= n + 1;
            if (rep == NULL || !json_is_object(rep)) {
                fprintf(stderr, "hlsctl: the daemon sent a malformed reply\n");
                json_decref(rep);
                return NULL;
            }
            return rep;
        }
        if (cl->len == cl->cap) {
            size_t cap = cl->cap ? cl->cap * 2 : 65536;
            char *p = realloc(cl->buf, cap);
            if (p == NULL) {
                fprintf(stderr, "hlsctl: out of memory\n");
                return NULL;
            }
            cl->buf = p;
            cl->cap = cap;
        }
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                if (!quiet)
                    fprintf(stderr, "hlsctl: no answer from hlsd at %s\n", hlsctl_socket);
                return NULL;
            }
            wait = (int)left;
        }
        struct pollfd pf = {cl->fd, POLLIN, 0};
        int r = poll(&pf, 1, wait);
        if (r < 0 && errno != EINTR)
            return NULL;
        if (r <= 0)
            continue;
        ssize_t n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!quiet)
                fprintf(stderr, "hlsctl: hlsd at %s closed the connection%s%s\n", hlsctl_socket,
                        n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return NULL;
        }
        cl->len += (size_t)n;
    }
}

/* request - send and receive on cl (connecting first if needed); NULL when
 * the daemon cannot be reached */
static json_t *
request(struct client *cl, json_t *req, int fd, int timeout_ms, int quiet)
{
    if (cl->fd < 0 && client_connect(cl, quiet) < 0)
        return NULL;
    if (client_send(cl, req, fd) < 0) {
        if (!quiet)
            fprintf(stderr, "hlsctl: sending to hlsd at %s: %s\n", hlsctl_socket, strerror(errno));
        client_close(cl);
        return NULL;
    }
    json_t *rep = client_recv(cl, timeout_ms, quiet);
    if (rep == NULL)
        client_close(cl);
    return rep;
}

/* --- rendering ----------------------------------------------------------- */

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static long long
int_or(json_t *o, const char *key, long long dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static double
progress_of(json_t *job)
{
    json_t *v = json_object_get(job, "progress");
    double p = json_is_number(v) ? json_number_value(v) : 0;
    return p < 0 || isnan(p) ? 0 : p > 1 ? 1 : p;
}

static void
print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
}

/* reply_error - an ok:false reply on stderr (and stdout in --json); the
 * exit status: bad_request is a usage error (hlsctl writes every request
 * itself, so only an argument can be wrong), anything else 1 */
static int
reply_error(json_t *rep)
{
    json_t *e = json_object_get(rep, "error");
    const char *code = str_or(e, "code", "error");

    if (hlsctl_json)
        print_json(rep);
    fprintf(stderr, "hlsctl: %s: %s\n", code,
            str_or(e, "message", "the daemon refused the request"));
    return strcmp(code, "bad_request") == 0 ? EX_USAGE : EX_FAIL;
}

static const char *
plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* seg_total - how many segments the job will have: the daemon's
 * segments.expected when it reports one, else the written count once the
 * conversion is over (uploading, done); -1 while unknown */
static long long
seg_total(json_t *job)
{
    json_t *seg = json_object_get(job, "segments");
    long long e = int_or(seg, "expected", -1);
    const char *state = str_or(job, "state", "");

    if (e >= 0)
        return e;
    if (strcmp(state, "uploading") == 0 || strcmp(state, "done") == 0)
        return int_or(seg, "done", -1);
    return -1;
}

static int
reply_ok(json_t *rep)
{
    return json_is_true(json_object_get(rep, "ok"));
}

/* rendition_kind - 0 video, 1 audio, 2 subtitles, by the conversion's naming. */
static int
rendition_kind(const char *name)
{
    return strncmp(name, "audio", 5) == 0 ? 1 : strncmp(name, "subs", 4) == 0 ? 2 : 0;
}

/*
 * print_renditions - the renditions by kind, as the conversion names them:
 * "720p" video, "audio_<lang>[_51]" audio, "subs_<lang>" subtitles; an
 * audio or subtitle rendition shows its language ("fr", "fr 5.1"), or its
 * name when it has none.
 */
static void
print_renditions(json_t *rends)
{
    static const char *const labels[] = {"video", "audio", "subtitles"};
    for (int k = 0; k < 3; k++) {
        size_t i, n = 0;
        json_t *v;
        json_array_foreach(rends, i, v)
        {
            const char *name = json_string_value(v);
            if (name == NULL || rendition_kind(name) != k)
                continue;
            if (n++ == 0)
                printf("%-12s", labels[k]);
            else
                printf(", ");
            const char *lang = k == 0 ? "" : strchr(name, '_');
            size_t len = lang ? strlen(lang) : 0;
            int surround = len >= 3 && strcmp(lang + len - 3, "_51") == 0;
            if (lang != NULL && len > 1 && !isdigit((unsigned char)lang[1]) &&
                !(surround && len == 3))
                printf("%.*s%s", (int)(len - 1 - (surround ? 3 : 0)), lang + 1,
                       surround ? " 5.1" : "");
            else
                printf("%s", name);
        }
        if (n > 0)
            printf("\n");
    }
}

static void
print_job(json_t *job)
{
    json_t *seg = json_object_get(job, "segments");
    json_t *rends = json_object_get(job, "renditions");

    printf("job         %lld\n", int_or(job, "id", 0));
    printf("state       %s\n", str_or(job, "state", "?"));
    printf("input       %s\n", str_or(job, "input", ""));
    json_t *owner = json_object_get(job, "owner");
    if (json_is_object(owner))
        printf("owner       %s (uid %lld)\n", str_or(owner, "user", "?"), int_or(owner, "uid", -1));
    printf("progress    %.0f%%\n", progress_of(job) * 100);
    long long total = seg_total(job);
    if (total >= 0)
        printf("segments    %lld/%lld uploaded, %lld written\n", int_or(seg, "uploaded", 0), total,
               int_or(seg, "done", 0));
    else
        printf("segments    %lld uploaded, %lld written\n", int_or(seg, "uploaded", 0),
               int_or(seg, "done", 0));
    print_renditions(rends);
    printf("attempts    %lld\n", int_or(job, "attempts", 0));
    printf("created     %s\n", str_or(job, "created_at", ""));
    printf("updated     %s\n", str_or(job, "updated_at", ""));
    if (str_or(job, "playlist_url", NULL))
        printf("playlist    %s\n", str_or(job, "playlist_url", ""));
    if (str_or(job, "error", NULL))
        printf("error       %s\n", str_or(job, "error", ""));
}

static void
print_jobs(json_t *jobs)
{
    size_t i;
    json_t *job;

    printf("%-6s %-10s %5s %9s  %-20s  %s\n", "ID", "STATE", "PROG", "SEGMENTS", "CREATED",
           "INPUT");
    json_array_foreach(jobs, i, job)
    {
        json_t *seg = json_object_get(job, "segments");
        char segs[48];
        long long total = seg_total(job);
        if (total >= 0)
            snprintf(segs, sizeof(segs), "%lld/%lld", int_or(seg, "uploaded", 0), total);
        else
            snprintf(segs, sizeof(segs), "%lld/?", int_or(seg, "uploaded", 0));
        printf("%-6lld %-10s %4.0f%% %9s  %-20s  %s\n", int_or(job, "id", 0),
               str_or(job, "state", "?"), progress_of(job) * 100, segs,
               str_or(job, "created_at", ""), str_or(job, "input", ""));
    }
}

static void
print_workers(json_t *ws)
{
    size_t i;
    json_t *w;

    printf("%-4s %-8s %-8s %-10s %-6s %4s %-20s %6s %8s\n", "SLOT", "ROLE", "PID", "STATE", "JOB",
           "GEN", "STARTED", "DONE", "RESTARTS");
    json_array_foreach(ws, i, w)
    {
        char job[24] = "-";
        if (json_is_integer(json_object_get(w, "job")))
            snprintf(job, sizeof(job), "%lld", int_or(w, "job", 0));
        printf("%-4lld %-8s %-8lld %-10s %-6s %4lld %-20s %6lld %8lld\n", int_or(w, "slot", 0),
               str_or(w, "role", "?"), int_or(w, "pid", 0), str_or(w, "state", "?"), job,
               int_or(w, "generation", 0), str_or(w, "started_at", ""), int_or(w, "jobs_done", 0),
               int_or(w, "restarts", 0));
    }
}

/* print_flat - an object of counters as "a.b value" lines */
static void
print_flat(const char *prefix, json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            char name[512];
            snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", key);
            print_flat(name, x);
        }
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    printf("%-32s %s\n", prefix, s ? s : "?");
    free(s);
}

/* --- commands -------------------------------------------------------------- */

static long long
parse_job_id(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v <= 0)
        usage_error("JOB must be a job id (a positive integer), not \"%s\"", s);
    return v;
}

/* simple - a request whose reply is printed as is */
static int
cmd_simple(json_t *req, const char *cmd)
{
    struct client cl = {.fd = -1};
    json_t *rep = request(&cl, req, -1, REPLY_TIMEOUT_MS, 0);
    int rc = EX_OK;

    json_decref(req);
    if (rep == NULL)
        return EX_UNREACHABLE;
    if (!reply_ok(rep)) {
        rc = reply_error(rep);
    } else if (hlsctl_json) {
        print_json(rep);
    } else if (strcmp(cmd, "ping") == 0) {
        printf("ok: hlsd %s at %s\n", str_or(rep, "version", "?"), hlsctl_socket);
    } else if (strcmp(cmd, "list") == 0) {
        print_jobs(json_object_get(rep, "jobs"));
    } else if (strcmp(cmd, "workers") == 0) {
        print_workers(json_object_get(rep, "workers"));
    } else if (strcmp(cmd, "stats") == 0) {
        print_flat("", json_object_get(rep, "stats"));
    } else if (json_is_object(json_object_get(rep, "job"))) {
        json_t *job = json_object_get(rep, "job");
        if (strcmp(cmd, "status") == 0)
            print_job(job);
        else
            printf("job %lld: %s\n", int_or(job, "id", 0), str_or(job, "state", "?"));
    } else {
        printf("ok\n");
    }
    json_decref(rep);
    client_close(&cl);
    return rc;
}

static int
job_ended(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "canceled") == 0;
}

/* wait_job - poll status until the job ends; the exit status says how */
static int
wait_job(struct client *cl, long long id)
{
    int tty = isatty(STDOUT_FILENO) && !hlsctl_json;
    char last_state[32] = "";
    int last_decile = -1;
    /* what was shown never goes back: a cancel or a retry may lower the
     * daemon's numbers, the user's view keeps the furthest point */
    double shown_p = 0;
    long long shown_up = 0, shown_written = 0;
    int64_t unreachable_since = -1;
    json_t *req = json_pack("{s:s, s:I}", "cmd", "status", "id", (json_int_t)id);

    for (;;) {
        json_t *rep = request(cl, req, -1, REPLY_TIMEOUT_MS, 1);
        int transient = rep == NULL;
        if (rep && !reply_ok(rep) &&
            strcmp(str_or(json_object_get(rep, "error"), "code", ""), "unavailable") == 0)
            transient = 1;
        if (transient) {
            /* ctl may be restarting: ride it out for a while */
            if (unreachable_since < 0)
                unreachable_since = now_ms();
            if (now_ms() - unreachable_since > WAIT_RETRY_MS) {
                if (tty)
                    printf("\n");
                if (rep) {
                    json_decref(req);
                    int rc = reply_error(rep);
                    json_decref(rep);
                    return rc;
                }
                fprintf(stderr, "hlsctl: lost hlsd at %s while waiting for job %lld\n",
                        hlsctl_socket, id);
                json_decref(req);
                return EX_UNREACHABLE;
            }
            json_decref(rep);
            usleep(WAIT_POLL_MS * 1000);
            continue;
        }
        unreachable_since = -1;
        if (!reply_ok(rep)) {
            if (tty)
                printf("\n");
            json_decref(req);
            int rc = reply_error(rep);
            json_decref(rep);
            return rc;
        }
        json_t *job = json_object_get(rep, "job");
        const char *state = str_or(job, "state", "?");
        json_t *seg = json_object_get(job, "segments");
        if (progress_of(job) > shown_p)
            shown_p = progress_of(job);
        if (int_or(seg, "uploaded", 0) > shown_up)
            shown_up = int_or(seg, "uploaded", 0);
        if (int_or(seg, "done", 0) > shown_written)
            shown_written = int_or(seg, "done", 0);
        double p = shown_p;
        long long total = seg_total(job);
        char segs[96];
        if (total >= 0 && total < shown_up)
            total = shown_up;
        if (total >= 0)
            snprintf(segs, sizeof(segs), "%lld/%lld %s uploaded", shown_up, total,
                     plural(total, "segment", "segments"));
        else
            snprintf(segs, sizeof(segs), "%lld %s uploaded, %lld written", shown_up,
                     plural(shown_up, "segment", "segments"), shown_written);
        if (tty) {
            int fill = (int)(p * BAR_WIDTH + 0.5);
            char bar[BAR_WIDTH + 1];
            for (int i = 0; i < BAR_WIDTH; i++)
                bar[i] = i < fill ? '#' : '-';
            bar[BAR_WIDTH] = '\0';
            printf("\rjob %lld [%s] %3.0f%%  %-10s  %s\033[K", id, bar, p * 100, state, segs);
            fflush(stdout);
        } else if (!hlsctl_json &&
                   (strcmp(state, last_state) != 0 || (int)(p * 10) != last_decile)) {
            printf("job %lld %s %.0f%% (%s)\n", id, state, p * 100, segs);
            fflush(stdout);
        }
        snprintf(last_state, sizeof(last_state), "%s", state);
        last_decile = (int)(p * 10);
        if (job_ended(state)) {
            int rc = strcmp(state, "done") == 0 ? EX_OK : EX_FAIL;
            if (tty)
                printf("\n");
            if (hlsctl_json)
                print_json(rep);
            else if (rc == EX_OK)
                printf("job %lld done: %s\n", id, str_or(job, "playlist_url", "(no playlist)"));
            if (rc != EX_OK)
                fprintf(stderr, "hlsctl: job %lld %s: %s\n", id, state,
                        str_or(job, "error", "no reason given"));
            json_decref(rep);
            json_decref(req);
            return rc;
        }
        json_decref(rep);
        usleep(WAIT_POLL_MS * 1000);
    }
}

/* opt_value - args[*j] is --NAME VALUE or --NAME=VALUE: the value (and
 * *j past it); NULL when it is another argument */
static const char *
opt_value(int nargs, char **args, int *j, const char *name)
{
    const char *a = args[*j];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*j + 1 >= nargs)
        usage_error("%s needs a value", name);
    return args[++*j];
}

/* check_ladder - --ladder as the daemon will parse it: usage error if not */
static void
check_ladder(const char *v)
{
    char why[256];

    if (*v == '\0')
        usage_error("--ladder needs renditions like 720:2800k,480:1400k, or copy");
    if (strlen(v) >= sizeof(((struct config *)0)->convert.ladder))
        usage_error("--ladder is longer than %zu characters",
                    sizeof(((struct config *)0)->convert.ladder) - 1);
    if (config_check_ladder(v, why, sizeof(why)) < 0)
        usage_error("--ladder: %s", why);
}

static int
cmd_submit(int argc, char **argv)
{
    const char *file = NULL, *ladder = NULL, *prefix = NULL, *audio = NULL, *first = NULL, *v;
    const char *subs[HLSCTL_MAX_CAPTIONS];
    int nsubs = 0;
    double segment = NAN;
    int wait = 0, only_files = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || strcmp(a, "-") == 0 || a[0] != '-') {
            if (file != NULL)
                usage_error("submit takes one FILE (or - for standard input)");
            file = a;
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "--wait") == 0) {
            wait = 1;
        } else if ((v = opt_value(argc, argv, &i, "--ladder")) != NULL) {
            check_ladder(v);
            ladder = v;
        } else if ((v = opt_value(argc, argv, &i, "--prefix")) != NULL) {
            prefix = v;
        } else if ((v = opt_value(argc, argv, &i, "--audio")) != NULL) {
            if (strcmp(v, "separate") != 0 && strcmp(v, "muxed") != 0)
                usage_error("--audio is separate or muxed, not \"%s\"", v);
            audio = v;
        } else if ((v = opt_value(argc, argv, &i, "--first-variant")) != NULL) {
            if (!ctl_request_first_ok(v))
                usage_error("--first-variant is auto, lowest, highest or a rendition such as "
                            "720p, not \"%s\"",
                            v);
            first = v;
        } else if ((v = opt_value(argc, argv, &i, "--subtitles")) != NULL) {
            const char *eq = strchr(v, '=');
            char lang[32];
            snprintf(lang, sizeof(lang), "%.*s", eq ? (int)(eq - v) : 0, v);
            if (eq == NULL || eq[1] == '\0' || !ctl_request_language_ok(lang))
                usage_error("--subtitles takes LANG=FILE, e.g. en=captions.srt, not \"%s\"", v);
            if (nsubs == HLSCTL_MAX_CAPTIONS)
                usage_error("at most %d --subtitles files", HLSCTL_MAX_CAPTIONS);
            subs[nsubs++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--segment")) != NULL) {
            char *end;
            segment = strtod(v, &end);
            if (*v == '\0' || *end != '\0' || !isfinite(segment) || segment < 1 || segment > 60)
                usage_error("--segment needs a number of seconds from 1 to 60, not \"%s\"", v);
        } else {
            usage_error("submit: unknown option %s", a);
        }
    }
    if (file == NULL)
        usage_error("submit needs a FILE (or - for standard input)");

    int fd;
    const char *name;
    if (strcmp(file, "-") == 0) {
        fd = STDIN_FILENO;
        name = "stdin";
    } else {
        struct stat st;
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "hlsctl: cannot open %s: %s\n", file, strerror(errno));
            return EX_FAIL;
        }
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "hlsctl: %s is a directory\n", file);
            close(fd);
            return EX_FAIL;
        }
        const char *slash = strrchr(file, '/');
        name = slash && slash[1] ? slash + 1 : file;
    }

    json_t *jname = json_string(name);
    if (jname == NULL) /* not UTF-8: the daemon only needs a label */
        jname = json_string("input");
    json_t *req = json_pack("{s:s, s:o}", "cmd", "submit", "input", jname);
    if ((ladder && json_object_set_new(req, "ladder", json_string(ladder)) < 0) ||
        (prefix && json_object_set_new(req, "prefix", json_string(prefix)) < 0))
        usage_error("--ladder and --prefix must be valid UTF-8");
    if (!isnan(segment))
        json_object_set_new(req, "segment", json_real(segment));
    if (audio)
        json_object_set_new(req, "audio", json_string(audio));
    if (first)
        json_object_set_new(req, "first_variant", json_string(first));

    /* caption files: checked here, named by the user's path, then passed
     * after the input's descriptor (the daemon checks them again) */
    struct client cl = {.fd = -1};
    json_t *jsubs = nsubs ? json_array() : NULL;
    for (int k = 0; k < nsubs; k++) {
        const char *eq = strchr(subs[k], '='), *path = eq + 1;
        char why[512], lang[32];
        snprintf(lang, sizeof(lang), "%.*s", (int)(eq - subs[k]), subs[k]);
        int sfd = open(path, O_RDONLY | O_CLOEXEC);
        if (sfd < 0 || convert_caption_check(path, path, why, sizeof(why)) < 0) {
            if (sfd < 0)
                fprintf(stderr, "hlsctl: cannot open %s: %s\n", path, strerror(errno));
            else
                fprintf(stderr, "hlsctl: %s\n", why);
            if (sfd >= 0)
                close(sfd);
            for (int q = 0; q < cl.nextra; q++)
                close(cl.extra[q]);
            if (fd != STDIN_FILENO)
                close(fd);
            json_decref(jsubs);
            json_decref(req);
            return EX_FAIL;
        }
        cl.extra[cl.nextra++] = sfd;
        const char *slash = strrchr(path, '/');
        json_t *jn = json_string(slash && slash[1] ? slash + 1 : path);
        json_array_append_new(jsubs, json_pack("{s:s, s:o}", "language", lang, "name",
                                               jn ? jn : json_string("captions")));
    }
    if (jsubs)
        json_object_set_new(req, "subtitles", jsubs);

    /* no timeout: the daemon copies the whole input before it answers */
    json_t *rep = request(&cl, req, fd, -1, 0);
    json_decref(req);
    if (fd != STDIN_FILENO)
        close(fd);
    for (int q = 0; q < cl.nextra; q++)
        close(cl.extra[q]);
    cl.nextra = 0;
    if (rep == NULL)
        return EX_UNREACHABLE;
    if (!reply_ok(rep)) {
        int rc = reply_error(rep);
        json_decref(rep);
        client_close(&cl);
        return rc;
    }
    json_t *job = json_object_get(rep, "job");
    long long id = int_or(job, "id", 0);
    int rc = EX_OK;
    if (!wait) {
        if (hlsctl_json)
            print_json(rep);
        else
            printf("job %lld %s (%s)\n", id, str_or(job, "state", "queued"),
                   str_or(job, "input", name));
    } else {
        if (!hlsctl_json)
            printf("job %lld submitted (%s)\n", id, str_or(job, "input", name));
        rc = wait_job(&cl, id);
    }
    json_decref(rep);
    client_close(&cl);
    return rc;
}

/* cmd_version - the client's version, and the daemon's when it answers a
 * ping (the protocol's version field); exit 0 either way */
static int
cmd_version(void)
{
    struct client cl = {.fd = -1};
    json_t *req = json_pack("{s:s}", "cmd", "ping");
    json_t *rep = request(&cl, req, -1, 5000, 1);
    const char *dv = rep && reply_ok(rep) ? str_or(rep, "version", NULL) : NULL;

    if (hlsctl_json) {
        json_t *o = json_pack("{s:s, s:s?, s:s}", "client", HLSD_VERSION, "daemon", dv, "socket",
                              hlsctl_socket);
        print_json(o);
        json_decref(o);
    } else {
        printf("hlsctl %s\n", HLSD_VERSION);
        if (dv)
            printf("hlsd %s at %s\n", dv, hlsctl_socket);
        else
            fprintf(stderr, "hlsctl: no hlsd answers at %s\n", hlsctl_socket);
    }
    json_decref(req);
    json_decref(rep);
    client_close(&cl);
    return EX_OK;
}

static const char *const job_states[] = {"queued", "converting", "uploading",
                                         "done",   "failed",     "canceled"};

/* check_state - list --state: one of the job states, else usage */
static void
check_state(const char *v)
{
    for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++)
        if (strcmp(v, job_states[i]) == 0)
            return;
    usage_error("--state must be queued, converting, uploading, done, failed or canceled, not "
                "\"%s\"",
                v);
}

/* takes_value - a command option whose value is the next argument: the
 * global scan must not read that value as an option of its own */
static int
takes_value(const char *a)
{
    static const char *const opts[] = {"--ladder", "--segment", "--prefix", "--state", "--limit"};

    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (strcmp(a, opts[i]) == 0)
            return 1;
    return 0;
}

int
main(int argc, char **argv)
{
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0, help = 0, version = 0;

    if (rest == NULL) {
        fprintf(stderr, "hlsctl: out of memory\n");
        return EX_FAIL;
    }
    signal(SIGPIPE, SIG_IGN);
    hlsctl_socket = getenv("HLSD_SOCKET");
    if (hlsctl_socket == NULL || *hlsctl_socket == '\0')
        hlsctl_socket = HLSD_DEFAULT_SOCKET;
    /* global options anywhere on the line; the rest, in order, is the
     * command and its arguments (everything after "--" is left alone) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                rest[nrest++] = argv[i++];
            break;
        }
        if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
            if (i + 1 >= argc)
                usage_error("%s needs a path", a);
            hlsctl_socket = argv[++i];
        } else if (strncmp(a, "--socket=", 9) == 0) {
            hlsctl_socket = a + 9;
        } else if (strcmp(a, "--json") == 0) {
            hlsctl_json = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = 1;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            version = 1;
        } else {
            rest[nrest++] = argv[i];
            if (takes_value(a) && i + 1 < argc)
                rest[nrest++] = argv[++i];
        }
    }
    if (*hlsctl_socket == '\0')
        usage_error("the socket path is empty");
    if (help) {
        usage(stdout);
        return EX_OK;
    }
    if (version)
        return cmd_version();
    if (nrest == 0) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *cmd = rest[0];
    int nargs = nrest - 1;
    char **args = rest + 1;

    if (cmd[0] == '-')
        usage_error("unknown option %s", cmd);
    if (strcmp(cmd, "submit") == 0)
        return cmd_submit(nargs, args);

    /* the other commands: positional JOB and a few options */
    const char *pos = NULL, *state = NULL, *v;
    long long limit = 0;
    int is_list = strcmp(cmd, "list") == 0;
    for (int j = 0; j < nargs; j++) {
        if (is_list && (v = opt_value(nargs, args, &j, "--state")) != NULL) {
            check_state(v);
            state = v;
        } else if (is_list && (v = opt_value(nargs, args, &j, "--limit")) != NULL) {
            char *end;
            errno = 0;
            limit = strtoll(v, &end, 10);
            if (errno || *v == '\0' || *end != '\0' || limit < 1 || limit > 5000)
                usage_error("--limit must be a number from 1 to 5000, not \"%s\"", v);
        } else if (strcmp(args[j], "--") != 0 && args[j][0] == '-' && args[j][1] != '\0') {
            usage_error("%s: unknown option %s", cmd, args[j]);
        } else if (strcmp(args[j], "--") == 0) {
            continue;
        } else if (pos == NULL) {
            pos = args[j];
        } else {
            usage_error("%s: too many arguments", cmd);
        }
    }
    json_t *req;
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "cancel") == 0 || strcmp(cmd, "retry") == 0) {
        if (pos == NULL)
            usage_error("%s needs a JOB id", cmd);
        req = json_pack("{s:s, s:I}", "cmd", cmd, "id", (json_int_t)parse_job_id(pos));
    } else if (is_list || strcmp(cmd, "workers") == 0 || strcmp(cmd, "stats") == 0 ||
               strcmp(cmd, "ping") == 0) {
        if (pos)
            usage_error("%s takes no argument", cmd);
        req = json_pack("{s:s}", "cmd", cmd);
        if (state)
            json_object_set_new(req, "state", json_string(state));
        if (limit)
            json_object_set_new(req, "limit", json_integer(limit));
    } else {
        usage_error("unknown command \"%s\"", cmd);
    }
    free(rest);
    return cmd_simple(req, cmd);
}
