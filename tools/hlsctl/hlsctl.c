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
 *
 * This file: usage, global options anywhere on the line, --version and
 * the command dispatch; the rest is in tools/hlsctl/hlsctl_*.c.
 */
#include "tools/hlsctl/hlsctl.h"

#include "daemon/paths.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *hlsctl_socket;
int hlsctl_json;

void
usage(FILE *f)
{
    fprintf(f,
            "usage: hlsctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
            "       hlsctl --version | --help\n"
            "\n"
            "commands:\n"
            "  submit FILE|-|URL [--ladder SPEC] [--segment SECONDS] [--prefix KEY]\n"
            "                [--key KEY] [--notify URL] [--metadata JSON]\n"
            "                [--audio separate|muxed] [--first-variant WHICH]\n"
            "                [--subtitles LANG=FILE]... [--no-thumbnails] [--format ts|fmp4]\n"
            "                [--wait]\n"
            "                   convert FILE (- for standard input), or an input URL\n"
            "                   (https://..., http://..., s3://BUCKET/KEY) that hlsd fetches;\n"
            "                   --wait follows it to its end\n"
            "  wait JOB         follow a job to its end (exit 0 only if done)\n"
            "  delete JOB       remove an ended job and everything it published\n"
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
            "  --ladder SPEC        renditions, HEIGHT:BITRATE[:CODEC][,...] (e.g.\n"
            "                       720:2800k,480:1400k, at most 8, heights 144..4320;\n"
            "                       CODEC h264 (default), hevc or av1: fmp4 only) or copy\n"
            "  --format ts|fmp4     segments in MPEG-TS or fragmented MP4 (CMAF: init.mp4 +\n"
            "                       .m4s); the daemon's segment_format by default\n"
            "  --segment SECONDS    target segment duration, 1..60\n"
            "  --prefix KEY         publish under URL/KEY/JOB/ instead of URL/JOB/\n"
            "  --key KEY            publish at exactly URL/KEY/ (no job id); refused while\n"
            "                       another job uses KEY\n"
            "  --notify URL         POST the job (JSON, signed) to URL when it ends\n"
            "  --metadata JSON      a JSON object kept with the job and sent in its webhook\n"
            "  --audio separate|muxed\n"
            "                       audio in renditions of its own (every track, languages;\n"
            "                       the default) or muxed into every video rendition\n"
            "  --first-variant WHICH\n"
            "                       the variant players start on: auto (nearest 2 Mb/s),\n"
            "                       lowest, highest or a rendition such as 720p\n"
            "  --subtitles LANG=FILE\n"
            "                       a SubRip or WebVTT caption file in language LANG (e.g.\n"
            "                       en=captions.srt) as a subtitle rendition; up to 8\n"
            "  --no-thumbnails, --thumbnails\n"
            "                       without (with) poster.jpg and the storyboard\n"
            "                       (storyboard.vtt, sprites_N.jpg); default: the\n"
            "                       daemon's [convert] thumbnails\n"
            "  --wait               show progress until the job ends; exit 0 only if done\n"
            "\n"
            "Exit status: 0 ok, 1 error or job failed/canceled, 2 usage, 3 daemon unreachable.\n"
            "See hlsctl(1).\n",
            HLSD_DEFAULT_SOCKET);
}

_Noreturn void
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
    static const char *const opts[] = {"--ladder", "--segment", "--prefix",
                                       "--state",  "--limit",   "--format"};

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
    if (strcmp(cmd, "wait") == 0) {
        if (pos == NULL)
            usage_error("wait needs a JOB id");
        long long id = parse_job_id(pos);
        free(rest);
        return cmd_wait(id);
    }
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "cancel") == 0 || strcmp(cmd, "retry") == 0 ||
        strcmp(cmd, "delete") == 0) {
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
