/*
** tz.h — a meter's time zone: standard offset plus an optional daylight-saving rule.
** SPDX-License-Identifier: MIT
**
** DLMS Clock semantics (IEC 62056-6-2, class_id 8): local time = UTC + offset, where the
** offset includes the daylight-saving deviation while DST is active.
*/
#ifndef MS_TZ_H
#define MS_TZ_H

#include <stdbool.h>
#include <stdint.h>

typedef enum ms_dst_rule {
    MS_DST_NONE = 0,
    MS_DST_EU, /* Directive 2000/84/EC art. 2-3: from 01:00 UTC on the last Sunday of
                  March to 01:00 UTC on the last Sunday of October */
} ms_dst_rule_t;

typedef struct ms_tz {
    int32_t std_offset_s; /* standard time offset east of UTC, e.g. +3600 for CET */
    int32_t dst_delta_s;  /* added while DST is active, normally 3600 */
    ms_dst_rule_t rule;
    char name[16]; /* e.g. "CET" */
} ms_tz_t;

/**
 * Parse a zone: "UTC"/"GMT" (no DST), "WET", "CET", "EET" (0, +1, +2 h with the EU
 * rule), or a fixed offset "+01:00" / "-05:00" (no DST).
 * @return 0 or MS_EPARSE
 */
int ms_tz_parse(const char *text, ms_tz_t *out);

/** UTC offset in seconds at utc_s (including DST); *dst tells whether DST is active. */
int32_t ms_tz_offset(const ms_tz_t *tz, int64_t utc_s, bool *dst);

/** First instant > utc_s at which the offset changes, or INT64_MAX. */
int64_t ms_tz_next_transition(const ms_tz_t *tz, int64_t utc_s);

/** Local time (seconds on the local scale) of utc_s. */
static inline int64_t ms_tz_local(const ms_tz_t *tz, int64_t utc_s)
{
    return utc_s + ms_tz_offset(tz, utc_s, 0);
}

#endif
