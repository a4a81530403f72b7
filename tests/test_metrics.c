/*
 * test_metrics.c - daemon/metrics.c alone: counters, the upload retry
 * classes, histogram buckets (cumulative, edges inclusive, values past the
 * last bucket only in +Inf via count), and what is ignored (a conversion
 * of no time, a job with no creation time, NaN).
 */
#include "daemon/metrics.h"

#include <criterion/criterion.h>
#include <math.h>

static long long
num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

Test(metrics, counters_classes_and_histograms)
{
    metrics_reset();
    metrics_job_submitted();
    metrics_job_submitted();
    metrics_job_failed();
    metrics_job_canceled();
    metrics_segment_converted();
    metrics_segment_uploaded(100);
    metrics_bytes_uploaded(100);
    metrics_bytes_uploaded(23);
    int statuses[] = {0, 429, 503, 500, 502, 403, 0};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        metrics_upload_retry(statuses[i]);
    metrics_conversion(10, 10000);  /* 1x: the "1" bucket (edges inclusive) */
    metrics_conversion(10, 1000);   /* 10x */
    metrics_conversion(1000, 1000); /* 1000x: past every bucket */
    metrics_conversion(10, 0);      /* no time: ignored */
    metrics_conversion(NAN, 1000);  /* ignored */
    metrics_job_done(1000, 4000);   /* 3 s */
    metrics_job_done(0, 4000);      /* no creation time: counted, not observed */

    json_t *m = metrics_json();
    cr_assert_not_null(m);
    cr_expect_eq(num(m, "jobs_submitted"), 2);
    cr_expect_eq(num(m, "jobs_done"), 2);
    cr_expect_eq(num(m, "jobs_failed"), 1);
    cr_expect_eq(num(m, "jobs_canceled"), 1);
    cr_expect_eq(num(m, "segments_converted"), 1);
    cr_expect_eq(num(m, "segments_uploaded"), 1);
    cr_expect_eq(num(m, "bytes_uploaded"), 123);
    json_t *r = json_object_get(m, "upload_retries");
    cr_expect_eq(num(r, "network"), 2);
    cr_expect_eq(num(r, "throttled"), 2);
    cr_expect_eq(num(r, "server"), 2);
    cr_expect_eq(num(r, "client"), 1);
    json_t *s = json_object_get(m, "conversion_speed");
    cr_expect_eq(num(s, "count"), 3);
    cr_expect_float_eq(json_number_value(json_object_get(s, "sum")), 1011.0, 1e-9);
    json_t *le = json_object_get(s, "le"), *c = json_object_get(s, "counts");
    cr_assert_eq(json_array_size(le), json_array_size(c));
    long long prev = 0;
    for (size_t i = 0; i < json_array_size(le); i++) {
        double b = json_number_value(json_array_get(le, i));
        long long n = (long long)json_integer_value(json_array_get(c, i));
        cr_expect_geq(n, prev, "buckets are cumulative");
        prev = n;
        if (b == 1)
            cr_expect_eq(n, 1, "1x falls in le=1");
        if (b == 16)
            cr_expect_eq(n, 2);
    }
    cr_expect_eq(prev, 2, "1000x is only in +Inf");
    json_t *d = json_object_get(m, "job_duration_seconds");
    cr_expect_eq(num(d, "count"), 1);
    cr_expect_float_eq(json_number_value(json_object_get(d, "sum")), 3.0, 1e-9);
    json_decref(m);
    metrics_reset();
    m = metrics_json();
    cr_expect_eq(num(m, "jobs_submitted"), 0);
    json_decref(m);
}
