/*
** tz.h — a meter's time zone: standard offset plus an optional daylight-saving rule.
** SPDX-License-Identifier: MIT
**
** DLMS Clock semantics (IEC 62056-6-2 class_id 8, attributes time_zone,
** daylight_savings_begin/end/deviation/enabled): local time = UTC + standard offset,
** plus the deviation while DST is active. Rules are "the Nth (or last) weekday of a
** month at a time", in UTC (EU) or in local standard time (US, AU).
*/
#ifndef MS_TZ_H
#define MS_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One DST switch rule: the `week`-th `wday` of `month` at `at_s` seconds after
 *  midnight. week 5 = the last one in the month. */
typedef struct ms_dst_switch {
    uint8_t month; /* 1..12 */
    uint8_t week;  /* 1..4, or 5 = last */
    uint8_t wday;  /* 1 = Monday .. 7 = Sunday */
    bool utc;      /* at_s counts in UTC; false: in local standard time */
    int32_t at_s;  /* 0..86399 */
} ms_dst_switch_t;

typedef struct ms_tz {
    int32_t std_offset_s; /* standard time east of UTC, e.g. +3600 for CET */
    int32_t dst_delta_s;  /* DLMS daylight_savings_deviation, usually 3600 */
    bool dst;             /* daylight_savings_enabled */
    ms_dst_switch_t begin, end;
    char name[24]; /* e.g. "CET" or "+05:30" */
} ms_tz_t;

/**
 * Parse a zone: "UTC"/"GMT" (no DST); "WET", "CET", "EET" (0, +1, +2 h, EU rule of
 * Directive 2000/84/EC: last Sunday of March to last Sunday of October at 01:00 UTC);
 * "US-Eastern"... not supported; or a fixed offset "+01:00" / "-05:00" (no DST).
 * @return 0 or MS_EPARSE
 */
int ms_tz_parse(const char *text, ms_tz_t *out);

/**
 * Parse a DST switch rule "last Sun Mar 01:00Z" or "2nd Sun Mar 02:00" (local standard
 * time without "Z"): ordinal 1st 2nd 3rd 4th last, weekday Mon..Sun, month Jan..Dec.
 * @return 0 or MS_EPARSE
 */
int ms_tz_parse_switch(const char *text, ms_dst_switch_t *out);

/** Check a zone: offset within +-14 h, deviation 0..2 h, switch fields in range.
 *  @param[out] field  the offending field name on error. @return 0 or MS_EINVAL */
int ms_tz_check(const ms_tz_t *tz, char *field, size_t cap);

/** UTC offset in seconds at utc_s (including DST); *dst tells whether DST is active. */
int32_t ms_tz_offset(const ms_tz_t *tz, int64_t utc_s, bool *dst);

/** First instant > utc_s at which the offset changes, or INT64_MAX. */
int64_t ms_tz_next_transition(const ms_tz_t *tz, int64_t utc_s);

/** Local time (seconds on the local scale) of utc_s. */
static inline int64_t ms_tz_local(const ms_tz_t *tz, int64_t utc_s)
{
    return utc_s + ms_tz_offset(tz, utc_s, 0);
}

/**
 * The first UTC instant whose local time is >= local_s: the only instant for an
 * ordinary local time, the first of the two when the local time happens twice (the
 * hour after the autumn switch), and the switch instant itself when it does not exist
 * (skipped by the spring switch).
 */
int64_t ms_tz_utc_of_local(const ms_tz_t *tz, int64_t local_s);

#endif
