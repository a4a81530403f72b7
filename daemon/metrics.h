/*
 * metrics.h - the master's counters for /metrics: what happened since the
 * master started (jobs submitted, done, failed, canceled; segments
 * converted and uploaded; bytes uploaded; upload retries by error class)
 * and two histograms (conversion speed as a multiple of real time, job
 * duration from submission to done).
 *
 * Plain data in the master's memory, bumped with one call where the event
 * happens (sched_*.c); read whole by master_ctl.c to answer a `metrics`
 * request, which the HTTP process turns into Prometheus text. Never logs,
 * never allocates except in metrics_json.
 */
#ifndef HLSD_DAEMON_METRICS_H
#define HLSD_DAEMON_METRICS_H

#include <jansson.h>
#include <stdint.h>

void metrics_job_submitted(void);
void metrics_job_done(int64_t created_wall_ms, int64_t now_wall_ms);
void metrics_job_failed(void);
void metrics_job_canceled(void);
void metrics_segment_converted(void);
void metrics_segment_uploaded(uint64_t bytes);
/* metrics_bytes_uploaded - any object (segments, playlists) */
void metrics_bytes_uploaded(uint64_t bytes);
/* metrics_upload_retry - a retry scheduled after a put failed with this
 * HTTP status (0: no answer) */
void metrics_upload_retry(int http_status);
/* metrics_conversion - a conversion of media_s seconds took wall_ms */
void metrics_conversion(double media_s, int64_t wall_ms);

/* metrics_json - everything above as one JSON object (a new reference, or
 * NULL without memory): counters by name, "upload_retries" by class, the
 * histograms as {"le":[...],"counts":[...cumulative],"sum","count"} */
json_t *metrics_json(void);

/* metrics_reset - back to zero (tests) */
void metrics_reset(void);

#endif
