/*
** simclock.c — simulation clock.
** SPDX-License-Identifier: MIT
*/
#include "simclock.h"

#include <stdlib.h>
#include <string.h>

#include "ms_err.h"

int ms_simclock_parse(const char *spec, ms_clock_mode_t *mode, int64_t *factor)
{
    if (strcmp(spec, "stepped") == 0) {
        *mode = MS_CLOCK_STEPPED;
        *factor = 0;
        return 0;
    }
    if (strcmp(spec, "realtime") == 0) {
        *mode = MS_CLOCK_REALTIME;
        *factor = 1;
        return 0;
    }
    if (spec[0] == 'x' && spec[1]) {
        char *end;
        long long n = strtoll(spec + 1, &end, 10);
        if (*end == 0 && n >= 1 && n <= 1000000) {
            *mode = n == 1 ? MS_CLOCK_REALTIME : MS_CLOCK_SCALED;
            *factor = n;
            return 0;
        }
    }
    return MS_EPARSE;
}

void ms_simclock_init(ms_simclock_t *c, ms_clock_mode_t mode, int64_t factor,
                      int64_t start_ms, uint64_t mono_ns)
{
    c->mode = mode;
    c->factor = mode == MS_CLOCK_STEPPED ? 0 : (factor < 1 ? 1 : factor);
    c->base_ms = start_ms;
    c->base_mono_ns = mono_ns;
}

int64_t ms_simclock_now(const ms_simclock_t *c, uint64_t mono_ns)
{
    if (c->mode == MS_CLOCK_STEPPED || mono_ns <= c->base_mono_ns)
        return c->base_ms;
    /* Whole sim milliseconds elapsed: (real ns * factor) / 1e6. */
    uint64_t real_ns = mono_ns - c->base_mono_ns;
    return c->base_ms + (int64_t)((__int128)real_ns * c->factor / 1000000);
}

/* Rebase at mono_ns so later reads continue from the current sim time. */
static void rebase(ms_simclock_t *c, uint64_t mono_ns)
{
    c->base_ms = ms_simclock_now(c, mono_ns);
    c->base_mono_ns = mono_ns;
}

int ms_simclock_advance(ms_simclock_t *c, uint64_t mono_ns, int64_t delta_ms)
{
    if (delta_ms < 0)
        return MS_EINVAL;
    rebase(c, mono_ns);
    c->base_ms += delta_ms;
    return 0;
}

int ms_simclock_set(ms_simclock_t *c, uint64_t mono_ns, int64_t t_ms)
{
    rebase(c, mono_ns);
    if (t_ms < c->base_ms)
        return MS_EINVAL;
    c->base_ms = t_ms;
    return 0;
}

const char *ms_simclock_mode_name(const ms_simclock_t *c)
{
    switch (c->mode) {
    case MS_CLOCK_STEPPED:
        return "stepped";
    case MS_CLOCK_REALTIME:
        return "realtime";
    default:
        return "scaled";
    }
}
