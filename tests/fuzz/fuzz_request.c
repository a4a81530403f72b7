/*
 * fuzz_request.c - libFuzzer target: ctl's request parser (the first code
 * a client's bytes reach). Any input must end in a parsed request or a
 * clear error with a code, never a crash, a leak or undefined behaviour;
 * a parsed request must carry its normalised form. `make fuzz`.
 */
#include "daemon/ctl_request.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_request rq;
    struct ctl_error err;

    memset(&rq, 0, sizeof(rq));
    memset(&err, 0, sizeof(err));
    if (ctl_request_parse((const char *)data, size, &rq, &err) < 0) {
        if (err.code == NULL || err.code[0] == '\0')
            abort(); /* an error must say which */
        return 0;
    }
    if (rq.fwd == NULL || strnlen(rq.input, sizeof(rq.input)) == sizeof(rq.input))
        abort();
    ctl_request_free(&rq);
    return 0;
}
