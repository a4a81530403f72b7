/*
 * job_json.h - the job object as clients see it (docs/protocol.md, "The
 * job object"): in status, list and submit replies, and as the body of a
 * job's webhook. One renderer, so the two never differ.
 */
#ifndef HLSD_DAEMON_JOB_JSON_H
#define HLSD_DAEMON_JOB_JSON_H

#include "daemon/config.h"
#include "daemon/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* job_json_iso8601 - ms since the epoch as 2024-05-01T10:00:00Z */
void job_json_iso8601(int64_t ms, char *out, size_t cap);
/* job_json - a new reference (NULL when out of memory) */
json_t *job_json(const struct config *cfg, const struct store_job *row);
/* job_json_text - the same, compact text, malloc'd (the master's config) */
char *job_json_text(const struct store_job *row);

#endif
