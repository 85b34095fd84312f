/*
** tariff.h — tariff (rate) schedule of a meter: which energy rate register is active
** at a given instant. First form: one day profile of switch times in local time, used
** every day.
** SPDX-License-Identifier: MIT
**
** Terms after the DLMS Activity Calendar (IEC 62056-6-2, class_id 20): a day profile is
** a list of "day profile actions" each starting at a local start_time; the rate
** ("script selector" of the tariffication script table) holds until the next action.
*/
#ifndef MS_TARIFF_H
#define MS_TARIFF_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

#define MS_MAX_RATES       8 /* rate registers per energy quantity (E = 1..8) */
#define MS_MAX_DAY_ACTIONS 24

typedef struct ms_day_action {
    uint16_t start_min; /* local time of day, minutes after midnight, 0..1439 */
    uint8_t rate;       /* 1..nrates */
} ms_day_action_t;

typedef struct ms_tariff {
    uint8_t nrates; /* 1..MS_MAX_RATES */
    uint8_t nactions;
    ms_day_action_t actions[MS_MAX_DAY_ACTIONS]; /* ascending start_min, first at 00:00 */
} ms_tariff_t;

/**
 * Check a tariff: 1..8 rates, 1..24 actions, the first at 00:00, start times strictly
 * ascending and < 24:00, every rate in 1..nrates.
 * @param[out] field  on error, the offending field, e.g. "actions[3].rate"
 * @return 0 or MS_EINVAL
 */
int ms_tariff_check(const ms_tariff_t *t, char *field, size_t fieldcap);

/** Rate active at utc_ms (1..nrates). */
int ms_tariff_rate_at(const ms_tariff_t *t, const ms_tz_t *tz, int64_t utc_ms);

/** First instant > utc_ms at which the active rate may change (a day-profile action or
 *  a change of the UTC offset), in ms. */
int64_t ms_tariff_next_change(const ms_tariff_t *t, const ms_tz_t *tz, int64_t utc_ms);

#endif
