/*
 * job_json.c - the job object (docs/protocol.md) from a job's row and the
 * scheduler's view of it (progress, segments expected, the fetch of an
 * input by URL). Used by master_ctl.c for replies and, through
 * sched_env.job_text, for the body of a webhook.
 *
 * Never shows a secret: an input or notify URL appears without its user
 * information and query.
 */
#include "daemon/job_json.h"

#include "daemon/master.h"
#include "daemon/sched.h"
#include "workers/upworker.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
job_json_iso8601(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* job_json_extra - what schema 4 added: key, metadata, notify, fetch */
static void
job_json_extra(json_t *job, const struct store_job *row)
{
    char shown[1024];

    json_object_set_new(job, "key", row->key[0] ? json_string(row->key) : json_null());
    json_t *meta = row->metadata[0] ? json_loads(row->metadata, 0, NULL) : NULL;
    json_object_set_new(job, "metadata", meta ? meta : json_null());
    if (row->notify_url[0]) {
        url_redact(row->notify_url, shown, sizeof(shown));
        json_object_set_new(job, "notify", json_string(shown));
    } else {
        json_object_set_new(job, "notify", json_null());
    }
    uint64_t done = 0, total = 0;
    unsigned attempts = 0;
    if (!sched_fetch_info(row, &done, &total, &attempts)) {
        json_object_set_new(job, "fetch", json_null());
        return;
    }
    url_redact(row->input_url, shown, sizeof(shown));
    json_object_set_new(job, "fetch",
                        json_pack("{s:s, s:b, s:I, s:o, s:i}", "url", shown, "done",
                                  (int)row->fetched, "bytes", (json_int_t)done, "total",
                                  total ? json_integer((json_int_t)total) : json_null(), "attempts",
                                  (int)attempts));
}

/* job_json_file_url - the URL of a done job's file beside its master
 * playlist (poster.jpg, storyboard.vtt), null when the job did not publish
 * one (thumbnails off, an input without video): the ledger says */
static json_t *
job_json_file_url(const struct config *cfg, const struct store_job *row, const char *rel)
{
    struct store_obj o;
    char url[2048];

    if (row->state != JOB_DONE || M.store == NULL || store_obj_get(M.store, row->id, rel, &o) < 0 ||
        o.state != OBJ_UPLOADED)
        return json_null();
    sched_url_object(cfg, row, rel, url, sizeof(url));
    return json_string(url);
}

json_t *
job_json(const struct config *cfg, const struct store_job *row)
{
    char created[32], updated[32], url[2048];
    json_t *rends = json_array();
    char buf[sizeof(row->renditions)], *save = NULL;

    job_json_iso8601(row->created_at, created, sizeof(created));
    job_json_iso8601(row->updated_at, updated, sizeof(updated));
    snprintf(buf, sizeof(buf), "%s", row->renditions);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        json_array_append_new(rends, json_string(t));
    sched_url_playlist(cfg, row, url, sizeof(url));
    double progress = sched_progress(row);
    if (!isfinite(progress) || progress < 0)
        progress = 0;
    long long expected = sched_segments_expected(row);
    json_t *owner = row->owner_uid >= 0 ? json_pack("{s:I, s:s}", "uid", (json_int_t)row->owner_uid,
                                                    "user", row->owner_name)
                                        : json_null();
    json_t *job = json_pack("{s:I, s:s, s:s, s:o, s:s, s:s, s:f, s:{s:i, s:i}, s:o, s:i, s:o, s:o}",
                            "id", (json_int_t)row->id, "state", job_state_name(row->state), "input",
                            row->input, "owner", owner, "created_at", created, "updated_at",
                            updated, "progress", progress > 1 ? 1.0 : progress, "segments", "done",
                            (int)row->segs_done, "uploaded", (int)row->segs_uploaded, "renditions",
                            rends, "attempts", (int)row->attempts, "playlist_url",
                            row->state == JOB_DONE ? json_string(url) : json_null(), "error",
                            row->error[0] ? json_string(row->error) : json_null());
    if (job && expected >= 0)
        json_object_set_new(json_object_get(job, "segments"), "expected",
                            json_integer((json_int_t)expected));
    if (job) {
        json_object_set_new(job, "notes", row->notes[0] ? json_string(row->notes) : json_null());
        json_object_set_new(job, "poster_url", job_json_file_url(cfg, row, "poster.jpg"));
        json_object_set_new(job, "storyboard_url", job_json_file_url(cfg, row, "storyboard.vtt"));
        /* uploads waiting out an outage: the last error and the next retry */
        char uerr[200], next[32];
        int64_t next_wall;
        if (sched_upload_retrying(row->id, uerr, sizeof(uerr), &next_wall)) {
            job_json_iso8601(next_wall, next, sizeof(next));
            json_object_set_new(job, "upload_retry",
                                json_pack("{s:s, s:s}", "last_error", uerr, "next_at", next));
        } else {
            json_object_set_new(job, "upload_retry", json_null());
        }
        job_json_extra(job, row);
    }
    return job;
}

char *
job_json_text(const struct store_job *row)
{
    json_t *j = job_json(&M.cfg, row);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return text;
}
