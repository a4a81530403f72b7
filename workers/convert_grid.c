/*
 * convert_grid.c - the time grid on which keyframes are forced and segments
 * are cut. Both decisions call the same integer function on the same
 * timestamps, so every rendition cuts at exactly the same frames.
 */
#include <math.h>

#include "workers/convert_int.h"

/*
 * convert_grid_next - the smallest timestamp (in tb) strictly after ts that
 * is the first tick at or after a multiple of step seconds.
 */
int64_t
convert_grid_next(int64_t ts, AVRational tb, double step)
{
    long double per = (long double)step * tb.den / tb.num; /* ticks per step */
    long double k = floorl((long double)ts / per) + 1;
    if (k < 1) {
        k = 1;
    }
    for (;;) {
        int64_t t = (int64_t)ceill(k * per - 1e-6L);
        if (t > ts) {
            return t;
        }
        k += 1;
    }
}
