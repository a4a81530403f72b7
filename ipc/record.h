/*
 * record.h - the fixed-size record every ring carries, and the checks the
 * receiving side runs on it before trusting a single field.
 *
 * A record is 128 bytes: a 16-byte header (type, body length, flags,
 * fragment number, job id) and a 112-byte body. Payloads longer than one
 * body (error messages, file names) are split into fragments, see msg.h.
 * This header holds wire formats only: fixed-width fields and static
 * assertions, no behaviour that could differ between two builds.
 */
#ifndef HLSD_IPC_RECORD_H
#define HLSD_IPC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define REC_SIZE 128u
#define REC_HDR  16u
#define REC_BODY (REC_SIZE - REC_HDR)

/* flags */
#define REC_F_MORE 0x0001u /* another fragment of the same message follows */

struct rec {
    uint16_t type;  /* a protocol's record type, never 0 */
    uint16_t len;   /* bytes of body in use, <= REC_BODY */
    uint16_t flags; /* REC_F_* */
    uint16_t frag;  /* fragment number within a message, from 0 */
    uint64_t job;   /* job id the record is about, 0 if none */
    uint8_t body[REC_BODY];
};
_Static_assert(sizeof(struct rec) == REC_SIZE, "struct rec must be 128 bytes");
_Static_assert(offsetof(struct rec, body) == REC_HDR, "record header must be 16 bytes");

/*
 * One entry per record type a receiver accepts: the body length must lie in
 * [min_len, max_len] (equal for fixed-size bodies), and fragments are only
 * legal where may_fragment is set. A table ends with type 0.
 */
struct rec_rule {
    uint16_t type;
    uint16_t min_len;
    uint16_t max_len;
    uint16_t may_fragment;
};

/* rec_check - 0 if r obeys the table, else -1 with errno EPROTO. */
int rec_check(const struct rec *r, const struct rec_rule *rules);

#endif
