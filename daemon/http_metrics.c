/*
 * http_metrics.c - the master's `metrics` reply as the Prometheus text
 * exposition format (version 0.0.4): HELP and TYPE for every family,
 * counters ending in _total, histograms with cumulative buckets, +Inf,
 * _sum and _count. The master counts; this only writes (so a bug here
 * costs a scrape, never the master).
 */
#include "daemon/http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long
num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
scalar(FILE *f, const char *name, const char *type, const char *help, long long v)
{
    family(f, name, type, help);
    fprintf(f, "%s %lld\n", name, v);
}

/* labeled - one sample per key of obj, the key as label */
static void
labeled(FILE *f, const char *name, const char *type, const char *help, const char *label,
        json_t *obj)
{
    const char *k;
    json_t *v;

    family(f, name, type, help);
    json_object_foreach(obj, k, v)
    {
        fprintf(f, "%s{%s=\"%s\"} %lld\n", name, label, k, (long long)json_integer_value(v));
    }
}

static void
histogram(FILE *f, const char *name, const char *help, json_t *h)
{
    json_t *le = json_object_get(h, "le"), *counts = json_object_get(h, "counts");

    family(f, name, "histogram", help);
    for (size_t i = 0; i < json_array_size(le) && i < json_array_size(counts); i++)
        fprintf(f, "%s_bucket{le=\"%g\"} %lld\n", name, json_number_value(json_array_get(le, i)),
                (long long)json_integer_value(json_array_get(counts, i)));
    fprintf(f, "%s_bucket{le=\"+Inf\"} %lld\n", name, num(h, "count"));
    fprintf(f, "%s_sum %.6f\n", name, json_number_value(json_object_get(h, "sum")));
    fprintf(f, "%s_count %lld\n", name, num(h, "count"));
}

char *
http_metrics_text(json_t *m, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    if (f == NULL)
        return NULL;
    labeled(f, "hlsd_jobs", "gauge", "Jobs in the store, by state.", "state",
            json_object_get(m, "jobs"));
    scalar(f, "hlsd_queue_depth", "gauge", "Jobs waiting for a conversion worker.",
           num(m, "queue_depth"));
    scalar(f, "hlsd_jobs_submitted_total", "counter", "Jobs submitted since the daemon started.",
           num(m, "jobs_submitted"));
    scalar(f, "hlsd_jobs_done_total", "counter", "Jobs that ended done.", num(m, "jobs_done"));
    scalar(f, "hlsd_jobs_failed_total", "counter", "Jobs that ended failed.",
           num(m, "jobs_failed"));
    scalar(f, "hlsd_jobs_canceled_total", "counter", "Jobs canceled.", num(m, "jobs_canceled"));
    scalar(f, "hlsd_segments_converted_total", "counter", "Segments written by conversions.",
           num(m, "segments_converted"));
    scalar(f, "hlsd_segments_uploaded_total", "counter", "Segments published.",
           num(m, "segments_uploaded"));
    scalar(f, "hlsd_upload_bytes_total", "counter", "Bytes published (segments and playlists).",
           num(m, "bytes_uploaded"));
    labeled(f, "hlsd_upload_retries_total", "counter",
            "Uploads retried, by error class (network: no answer; throttled: 429 or 503; "
            "server: other 5xx; client: 4xx).",
            "class", json_object_get(m, "upload_retries"));
    labeled(f, "hlsd_worker_restarts_total", "counter", "Child processes restarted, by role.",
            "role", json_object_get(m, "worker_restarts"));
    labeled(f, "hlsd_workers", "gauge", "Child processes running, by role.", "role",
            json_object_get(m, "workers"));
    histogram(f, "hlsd_conversion_speed_ratio",
              "Conversion speed: seconds of media converted per second of wall time.",
              json_object_get(m, "conversion_speed"));
    histogram(f, "hlsd_job_duration_seconds", "Time from submission to done.",
              json_object_get(m, "job_duration_seconds"));
    labeled(f, "hlsd_resident_memory_bytes", "gauge",
            "Resident memory of the master and of the children of each role (summed).", "process",
            json_object_get(m, "resident_memory_bytes"));
    scalar(f, "hlsd_uptime_seconds", "gauge", "Seconds since the master started.",
           num(m, "uptime_seconds"));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
