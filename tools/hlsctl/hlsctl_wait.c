/*
 * hlsctl_wait.c - the simple commands (status, list, cancel, retry,
 * workers, stats, ping) and --wait, which follows a job until it ends.
 */
#include "tools/hlsctl/hlsctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- commands -------------------------------------------------------------- */

long long
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
int
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
    } else if (strcmp(cmd, "delete") == 0) {
        printf("job %lld deleted\n", int_or(rep, "id", 0));
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

int
job_ended(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "canceled") == 0;
}

/* wait_job - poll status until the job ends; the exit status says how */
int
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
        json_t *fetch = json_object_get(job, "fetch");
        if (json_is_object(fetch) && !json_is_true(json_object_get(fetch, "done"))) {
            /* an input URL still on its way into the spool */
            long long got = int_or(fetch, "bytes", 0), all = int_or(fetch, "total", 0);
            if (all > 0)
                snprintf(segs, sizeof(segs), "fetching the input: %lld of %lld bytes", got, all);
            else
                snprintf(segs, sizeof(segs), "fetching the input: %lld bytes", got);
        }
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

/* cmd_wait - hlsctl wait JOB: follow a job already submitted (after a
 * Ctrl-C of submit --wait, or from another terminal) */
int
cmd_wait(long long id)
{
    struct client cl = {.fd = -1};

    if (client_connect(&cl, 0) < 0)
        return EX_UNREACHABLE;
    int rc = wait_job(&cl, id);
    client_close(&cl);
    return rc;
}
