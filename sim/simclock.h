/*
** simclock.h — the simulation clock of a metersim process (DESIGN.md "Time"): stepped
** (moves only when told), realtime, or accelerated xN. Pure: the caller passes the
** monotonic time in.
** SPDX-License-Identifier: MIT
*/
#ifndef MS_SIMCLOCK_H
#define MS_SIMCLOCK_H

#include <stdint.h>

typedef enum ms_clock_mode {
    MS_CLOCK_STEPPED = 0, /* deterministic: advanced by the control API or a scenario */
    MS_CLOCK_REALTIME,    /* follows the monotonic clock */
    MS_CLOCK_SCALED,      /* N sim seconds per real second */
} ms_clock_mode_t;

typedef struct ms_simclock {
    ms_clock_mode_t mode;
    int64_t factor;  /* SCALED: N (>= 1); REALTIME: 1 */
    int64_t base_ms; /* sim time at base_mono_ns, ms since the epoch (UTC) */
    uint64_t base_mono_ns;
} ms_simclock_t;

/**
 * Parse "stepped", "realtime" or "xN" (N an integer 1..1000000).
 * @return 0 or MS_EPARSE
 */
int ms_simclock_parse(const char *spec, ms_clock_mode_t *mode, int64_t *factor);

/** Start the clock at start_ms (sim time) at monotonic time mono_ns. */
void ms_simclock_init(ms_simclock_t *c, ms_clock_mode_t mode, int64_t factor,
                      int64_t start_ms, uint64_t mono_ns);

/** Sim time (ms UTC) at monotonic time mono_ns. */
int64_t ms_simclock_now(const ms_simclock_t *c, uint64_t mono_ns);

/** Move sim time forward by delta_ms (>= 0) in every mode. @return 0 or MS_EINVAL */
int ms_simclock_advance(ms_simclock_t *c, uint64_t mono_ns, int64_t delta_ms);

/** Set sim time to t_ms. Moving backwards is refused (meters never run backwards;
 *  a clock jump is a per-meter RTC fault). @return 0 or MS_EINVAL */
int ms_simclock_set(ms_simclock_t *c, uint64_t mono_ns, int64_t t_ms);

/** "stepped", "realtime" or "scaled". */
const char *ms_simclock_mode_name(const ms_simclock_t *c);

#endif
