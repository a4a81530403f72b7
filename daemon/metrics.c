/*
 * metrics.c - the master's event counters and histograms (see metrics.h).
 * Counters only grow while the master lives (Prometheus handles the reset
 * at a restart); histogram buckets are fixed so that a scrape is a copy.
 */
#include "daemon/metrics.h"

#include <math.h>
#include <string.h>

/* conversion speed, x real time: a 720p ladder runs near 1-4x on a core */
static const double speed_le[] = {0.25, 0.5, 1, 2, 4, 8, 16, 32, 64};
/* job duration, seconds from submission to done */
static const double dur_le[] = {1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600};

#define NSPEED (sizeof(speed_le) / sizeof(speed_le[0]))
#define NDUR   (sizeof(dur_le) / sizeof(dur_le[0]))

enum retry_class { RETRY_NETWORK, RETRY_THROTTLED, RETRY_SERVER, RETRY_CLIENT, RETRY_NCLASSES };
static const char *const retry_names[RETRY_NCLASSES] = {"network", "throttled", "server", "client"};

struct hist {
    uint64_t counts[16]; /* per bucket, not cumulative; [n] is +Inf */
    double sum;
    uint64_t count;
};

static struct {
    uint64_t submitted, done, failed, canceled;
    uint64_t seg_converted, seg_uploaded, bytes_uploaded;
    uint64_t retries[RETRY_NCLASSES];
    struct hist speed, duration;
} m;

void
metrics_reset(void)
{
    memset(&m, 0, sizeof(m));
}

static void
observe(struct hist *h, const double *le, size_t n, double v)
{
    size_t i = 0;

    if (!isfinite(v) || v < 0)
        return;
    while (i < n && v > le[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void
metrics_job_submitted(void)
{
    m.submitted++;
}

void
metrics_job_done(int64_t created_wall_ms, int64_t now_wall_ms)
{
    m.done++;
    if (created_wall_ms > 0 && now_wall_ms >= created_wall_ms)
        observe(&m.duration, dur_le, NDUR, (double)(now_wall_ms - created_wall_ms) / 1000.0);
}

void
metrics_job_failed(void)
{
    m.failed++;
}

void
metrics_job_canceled(void)
{
    m.canceled++;
}

void
metrics_segment_converted(void)
{
    m.seg_converted++;
}

void
metrics_segment_uploaded(uint64_t bytes)
{
    (void)bytes;
    m.seg_uploaded++;
}

void
metrics_bytes_uploaded(uint64_t bytes)
{
    m.bytes_uploaded += bytes;
}

void
metrics_upload_retry(int status)
{
    enum retry_class c = status <= 0                      ? RETRY_NETWORK
                         : status == 429 || status == 503 ? RETRY_THROTTLED
                         : status >= 500                  ? RETRY_SERVER
                                                          : RETRY_CLIENT;
    m.retries[c]++;
}

void
metrics_conversion(double media_s, int64_t wall_ms)
{
    if (wall_ms > 0 && media_s > 0)
        observe(&m.speed, speed_le, NSPEED, media_s * 1000.0 / (double)wall_ms);
}

static json_t *
hist_json(const struct hist *h, const double *le, size_t n)
{
    json_t *bounds = json_array(), *counts = json_array();
    uint64_t cum = 0;

    for (size_t i = 0; i < n; i++) {
        cum += h->counts[i];
        json_array_append_new(bounds, json_real(le[i]));
        json_array_append_new(counts, json_integer((json_int_t)cum));
    }
    return json_pack("{s:o, s:o, s:f, s:I}", "le", bounds, "counts", counts, "sum", h->sum, "count",
                     (json_int_t)h->count);
}

json_t *
metrics_json(void)
{
    json_t *retries = json_object();

    for (int i = 0; i < RETRY_NCLASSES; i++)
        json_object_set_new(retries, retry_names[i], json_integer((json_int_t)m.retries[i]));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "jobs_submitted",
                     (json_int_t)m.submitted, "jobs_done", (json_int_t)m.done, "jobs_failed",
                     (json_int_t)m.failed, "jobs_canceled", (json_int_t)m.canceled,
                     "segments_converted", (json_int_t)m.seg_converted, "segments_uploaded",
                     (json_int_t)m.seg_uploaded, "bytes_uploaded", (json_int_t)m.bytes_uploaded,
                     "upload_retries", retries, "conversion_speed",
                     hist_json(&m.speed, speed_le, NSPEED), "job_duration_seconds",
                     hist_json(&m.duration, dur_le, NDUR));
}
