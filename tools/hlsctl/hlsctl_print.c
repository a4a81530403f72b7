/*
 * hlsctl_print.c - rendering replies for people: jobs, lists, workers,
 * counters, and error replies with their exit status.
 */
#include "tools/hlsctl/hlsctl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- rendering ----------------------------------------------------------- */

const char *
str_or(json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

long long
int_or(json_t *o, const char *key, long long dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

double
progress_of(json_t *job)
{
    json_t *v = json_object_get(job, "progress");
    double p = json_is_number(v) ? json_number_value(v) : 0;
    return p < 0 || isnan(p) ? 0 : p > 1 ? 1 : p;
}

void
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
int
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

const char *
plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* seg_total - how many segments the job will have: the daemon's
 * segments.expected when it reports one, else the written count once the
 * conversion is over (uploading, done); -1 while unknown */
long long
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

int
reply_ok(json_t *rep)
{
    return json_is_true(json_object_get(rep, "ok"));
}

/* rendition_kind - 0 video, 1 audio, 2 subtitles, by the conversion's naming. */
int
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
void
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

void
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
    if (str_or(job, "key", NULL))
        printf("key         %s\n", str_or(job, "key", ""));
    json_t *fetch = json_object_get(job, "fetch");
    if (json_is_object(fetch)) {
        long long total = int_or(fetch, "total", -1);
        if (json_is_true(json_object_get(fetch, "done")))
            printf("fetch       done (%s)\n", str_or(fetch, "url", ""));
        else if (total > 0)
            printf("fetch       %lld of %lld bytes, %lld failed attempt%s (%s)\n",
                   int_or(fetch, "bytes", 0), total, int_or(fetch, "attempts", 0),
                   int_or(fetch, "attempts", 0) == 1 ? "" : "s", str_or(fetch, "url", ""));
        else
            printf("fetch       %lld bytes, %lld failed attempt%s (%s)\n",
                   int_or(fetch, "bytes", 0), int_or(fetch, "attempts", 0),
                   int_or(fetch, "attempts", 0) == 1 ? "" : "s", str_or(fetch, "url", ""));
    }
    if (str_or(job, "notify", NULL))
        printf("notify      %s\n", str_or(job, "notify", ""));
    json_t *meta = json_object_get(job, "metadata");
    if (json_is_object(meta)) {
        char *text = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("metadata    %s\n", text ? text : "?");
        free(text);
    }
    if (str_or(job, "poster_url", NULL))
        printf("poster      %s\n", str_or(job, "poster_url", ""));
    if (str_or(job, "storyboard_url", NULL))
        printf("storyboard  %s\n", str_or(job, "storyboard_url", ""));
    if (str_or(job, "notes", NULL))
        printf("notes       %s\n", str_or(job, "notes", ""));
    if (str_or(job, "error", NULL))
        printf("error       %s\n", str_or(job, "error", ""));
    json_t *retry = json_object_get(job, "upload_retry");
    if (json_is_object(retry))
        printf("retrying    %s (next retry %s)\n", str_or(retry, "last_error", ""),
               str_or(retry, "next_at", ""));
}

void
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

void
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
void
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
