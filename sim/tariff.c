/*
** tariff.c — day-profile tariff schedule.
** SPDX-License-Identifier: MIT
*/
#include "tariff.h"

#include <stdio.h>

#include "ms_err.h"
#include "ms_time.h"

int ms_tariff_check(const ms_tariff_t *t, char *field, size_t cap)
{
    if (t->nrates < 1 || t->nrates > MS_MAX_RATES) {
        snprintf(field, cap, "rates");
        return MS_EINVAL;
    }
    if (t->nactions < 1 || t->nactions > MS_MAX_DAY_ACTIONS) {
        snprintf(field, cap, "day");
        return MS_EINVAL;
    }
    for (unsigned i = 0; i < t->nactions; i++) {
        const ms_day_action_t *a = &t->actions[i];
        if ((i == 0 && a->start_min != 0) || a->start_min >= 1440 ||
            (i > 0 && a->start_min <= t->actions[i - 1].start_min)) {
            snprintf(field, cap, "day[%u].start", i + 1);
            return MS_EINVAL;
        }
        if (a->rate < 1 || a->rate > t->nrates) {
            snprintf(field, cap, "day[%u].rate", i + 1);
            return MS_EINVAL;
        }
    }
    return 0;
}

/* Index of the action in force at local minute-of-day m. */
static unsigned action_at(const ms_tariff_t *t, unsigned m)
{
    unsigned i = 0;
    while (i + 1 < t->nactions && t->actions[i + 1].start_min <= m)
        i++;
    return i;
}

int ms_tariff_rate_at(const ms_tariff_t *t, const ms_tz_t *tz, int64_t utc_ms)
{
    int64_t utc_s = ms_floor_div(utc_ms, 1000);
    int64_t local = ms_tz_local(tz, utc_s);
    unsigned m = (unsigned)((local - ms_floor_div(local, 86400) * 86400) / 60);
    return t->actions[action_at(t, m)].rate;
}

int64_t ms_tariff_next_change(const ms_tariff_t *t, const ms_tz_t *tz, int64_t utc_ms)
{
    int64_t utc_s = ms_floor_div(utc_ms, 1000);
    int32_t off = ms_tz_offset(tz, utc_s, 0);
    int64_t local_ms = utc_ms + (int64_t)off * 1000;
    int64_t day_ms = ms_floor_div(local_ms, 86400000) * 86400000;
    int64_t in_day = local_ms - day_ms;
    /* Next action start strictly after now on the local scale: later today, or the first
     * action (00:00) of tomorrow. Converted back with the offset in force now; a change
     * of offset before then is itself returned, and the caller asks again there. */
    int64_t next_local = day_ms + 86400000;
    for (unsigned i = 0; i < t->nactions; i++) {
        int64_t s = (int64_t)t->actions[i].start_min * 60000;
        if (s > in_day) {
            next_local = day_ms + s;
            break;
        }
    }
    int64_t next = next_local - (int64_t)off * 1000;
    int64_t tr = ms_tz_next_transition(tz, utc_s);
    if (tr != INT64_MAX && tr * 1000 <= next && tr * 1000 > utc_ms)
        return tr * 1000;
    return next;
}
