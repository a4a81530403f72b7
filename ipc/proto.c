/*
 * proto.c - rule tables for rec_check, one per direction and role. A type
 * missing from a table is a protocol violation for that receiver.
 */
#include "ipc/proto.h"

#define FIXED(t, s)                                                                                \
    {                                                                                              \
        .type = (t), .min_len = (s), .max_len = (s), .may_fragment = 0                             \
    }
#define MSG(t)                                                                                     \
    {                                                                                              \
        .type = (t), .min_len = 0, .max_len = REC_BODY, .may_fragment = 1                          \
    }

const struct rec_rule proto_rules_convert[] = {
    FIXED(PROTO_HELLO, 0),
    FIXED(PROTO_CONV_SEGMENT, sizeof(struct proto_conv_segment)),
    FIXED(PROTO_CONV_PROGRESS, sizeof(struct proto_conv_progress)),
    MSG(PROTO_CONV_DONE),
    MSG(PROTO_CONV_FAILED),
    FIXED(PROTO_CONV_CANCELED, 0),
    {0},
};

const struct rec_rule proto_rules_upload[] = {
    FIXED(PROTO_HELLO, 0),
    MSG(PROTO_UP_RESULT),
    FIXED(PROTO_UP_PROGRESS, sizeof(struct proto_up_progress)),
    {0},
};

const struct rec_rule proto_rules_ctl[] = {
    FIXED(PROTO_HELLO, 0),
    MSG(PROTO_CTL_REQ),
    {0},
};

const struct rec_rule proto_rules_to_convert[] = {
    FIXED(PROTO_CONV_START, sizeof(struct proto_conv_start)),
    FIXED(PROTO_CONV_CANCEL, 0),
    {0},
};

const struct rec_rule proto_rules_to_upload[] = {
    MSG(PROTO_UP_PUT),    MSG(PROTO_UP_DELETE),      MSG(PROTO_UP_FETCH),
    MSG(PROTO_UP_NOTIFY), FIXED(PROTO_UP_CANCEL, 0), {0},
};

const struct rec_rule proto_rules_to_ctl[] = {
    MSG(PROTO_CTL_REPLY),
    {0},
};
