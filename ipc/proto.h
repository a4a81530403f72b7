/*
 * proto.h - the record types hlsd's processes exchange, and the rule tables
 * each receiver checks them against (rec_check). Wire formats only.
 *
 * Ranges: 0x01xx master -> convert worker, 0x018x convert worker -> master,
 * 0x02xx master -> upload worker, 0x028x upload worker -> master,
 * 0x03xx ctl -> master, 0x038x master -> ctl, 0x0fxx any child -> master.
 * "msg" marks a type sent with msg_send (may span several records); its
 * payload format is given beside it.
 */
#ifndef HLSD_IPC_PROTO_H
#define HLSD_IPC_PROTO_H

#include "ipc/record.h"

#include <stdint.h>

enum proto_type {
    /* master -> convert worker */
    PROTO_CONV_START = 0x0101,  /* struct proto_conv_start; rec.job = job */
    PROTO_CONV_CANCEL = 0x0102, /* empty; cancels rec.job if it is running */
    /* convert worker -> master */
    PROTO_CONV_SEGMENT = 0x0181,  /* struct proto_conv_segment */
    PROTO_CONV_PROGRESS = 0x0182, /* struct proto_conv_progress */
    PROTO_CONV_DONE = 0x0183,     /* msg: "DURATION K:REND1 K:REND2 ..." (text), K v|a|s */
    PROTO_CONV_FAILED = 0x0184,   /* msg: one-line reason (text) */
    PROTO_CONV_CANCELED = 0x0185, /* empty */
    /* master -> upload worker */
    PROTO_UP_PUT = 0x0201,    /* msg: "LOCAL_PATH\nKEY" (absolute path, key under the URL) */
    PROTO_UP_DELETE = 0x0202, /* msg: "KEY" */
    PROTO_UP_FETCH = 0x0203,  /* msg: "MAX_BYTES\nURL\nLOCAL_PATH": fetch an input */
    PROTO_UP_NOTIFY = 0x0204, /* msg: "URL\nBODY": POST a webhook (BODY: JSON) */
    PROTO_UP_CANCEL = 0x0205, /* empty: stop the fetch of rec.job if it runs (its result
                                 still comes) */
    /* upload worker -> master */
    PROTO_UP_RESULT = 0x0281,   /* msg: struct proto_up_result, then error text */
    PROTO_UP_PROGRESS = 0x0282, /* struct proto_up_progress: a fetch's bytes so far */
    /* ctl <-> master */
    PROTO_CTL_REQ = 0x0301,   /* msg: one JSON object (text) */
    PROTO_CTL_REPLY = 0x0381, /* msg: one JSON object (text) */
    /* any child -> master */
    PROTO_HELLO = 0x0f01, /* empty: started and ready for work */
};

/* largest message any receiver accepts (a `list` reply) */
#define PROTO_MSG_MAX (4u << 20)

struct proto_conv_start {
    uint32_t attempt;
    uint32_t threads;
    double segment_seconds;
    char ladder[96]; /* NUL-terminated; "" = default ladder */
};
_Static_assert(sizeof(struct proto_conv_start) == REC_BODY, "conv_start is one body");

/*
 * what a segment file is, and so its name: seg_NNNNN.ts, seg_NNNNN.vtt,
 * and for fMP4 (CMAF) the rendition's init.mp4 (index 0) and
 * seg_NNNNN.m4s; PROTO_SEG_FILE is a file beside master.m3u8 (poster.jpg,
 * sprites_N.jpg, storyboard.vtt) whose name is `rendition`
 * ([A-Za-z0-9_-]+ then .jpg or .vtt), index and duration 0
 */
enum proto_seg_kind {
    PROTO_SEG_TS = 0,
    PROTO_SEG_VTT = 1,
    PROTO_SEG_INIT = 2,
    PROTO_SEG_M4S = 3,
    PROTO_SEG_FILE = 4
};

struct proto_conv_segment {
    char rendition[16]; /* NUL-terminated, [A-Za-z0-9_-]; PROTO_SEG_FILE: the file name */
    uint32_t index;
    uint32_t kind; /* enum proto_seg_kind */
    uint64_t size;
    double duration;
};
_Static_assert(sizeof(struct proto_conv_segment) == 40, "conv_segment is 40 bytes");

struct proto_conv_progress {
    double fraction;
};
_Static_assert(sizeof(struct proto_conv_progress) == 8, "conv_progress is 8 bytes");

enum proto_up_class { PROTO_UP_OK = 0, PROTO_UP_RETRYABLE = 1, PROTO_UP_PERMANENT = 2 };

struct proto_up_result {
    uint32_t cls; /* enum proto_up_class */
    int32_t http_status;
    int64_t retry_after_ms;
    char etag[80]; /* NUL-terminated */
};
_Static_assert(sizeof(struct proto_up_result) == 96, "up_result is 96 bytes");

struct proto_up_progress {
    uint64_t done;  /* bytes written into the spool */
    uint64_t total; /* the announced size; 0 when unknown */
};
_Static_assert(sizeof(struct proto_up_progress) == 16, "up_progress is 16 bytes");

/* what the master accepts from each role (defined in proto.c) */
extern const struct rec_rule proto_rules_convert[];
extern const struct rec_rule proto_rules_upload[];
extern const struct rec_rule proto_rules_ctl[];
/* what children accept from the master */
extern const struct rec_rule proto_rules_to_convert[];
extern const struct rec_rule proto_rules_to_upload[];
extern const struct rec_rule proto_rules_to_ctl[];

#endif
