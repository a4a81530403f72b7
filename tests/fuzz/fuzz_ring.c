/*
 * fuzz_ring.c - libFuzzer target: what the master does with records read
 * from a child's outbox (shared memory a child may have scribbled on):
 * the record check against each role's table, then reassembly of
 * fragmented messages. The input is a byte string cut into 128-byte
 * records; its first byte picks the role. Nothing may crash, read out of
 * bounds or grow a message past its limit. `make fuzz`.
 */
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/record.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct rec_rule *const rules[] = {proto_rules_convert, proto_rules_upload,
                                                   proto_rules_ctl};
    static struct msg_asm a; /* one for the run, as a slot has one */
    static int ready;

    if (!ready && msg_asm_init(&a, PROTO_MSG_MAX) < 0)
        return 0;
    ready = 1;
    msg_asm_reset(&a);
    if (size < 1)
        return 0;
    const struct rec_rule *r = rules[data[0] % 3];
    data++;
    size--;
    for (size_t off = 0; off + REC_SIZE <= size; off += REC_SIZE) {
        struct rec rec;
        memcpy(&rec, data + off, REC_SIZE);
        if (rec_check(&rec, r) < 0)
            continue; /* dropped, as the master drops it */
        if (rec.len > REC_BODY)
            abort(); /* the check let an impossible length through */
        int done = msg_asm_feed(&a, &rec);
        if (done > 0 && a.len > PROTO_MSG_MAX)
            abort();
    }
    return 0;
}
