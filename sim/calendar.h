/*
** calendar.h — tariff calendar of a meter: the COSEM Activity Calendar (IEC 62056-6-2,
** class_id 20: season_profile, week_profile_table, day_profile_table) with the Special
** Days Table (class_id 11), as a pure function "rate and relays at a local time" plus
** the search for the next change.
** SPDX-License-Identifier: MIT
**
** Semantics: the day profile of a local date is the special day's, if the date is in
** the special days table, else the week profile's entry for its weekday in the season
** in force (the last season whose start is on or before the date; seasons repeat yearly
** unless they name a year). Within the day, the action with the latest start_time at or
** before the local time gives the rate (script selector) and the load-control relays.
** The rate is a function of local time: when the local clock goes back (end of DST, a
** clock set), the actions of the repeated time are in force again.
*/
#ifndef MS_CALENDAR_H
#define MS_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tz.h"

#define MS_MAX_RATES        8 /* rate registers per energy quantity (E = 1..8) */
#define MS_MAX_DAY_ACTIONS  24
#define MS_MAX_DAY_PROFILES 16
#define MS_MAX_WEEKS        16
#define MS_MAX_SEASONS      128 /* e.g. 2 seasons a year for a 25-year plan with years */
#define MS_MAX_SPECIAL      512
#define MS_EVERY_YEAR       0xFFFF
#define MS_NAME_MAX         16

typedef struct ms_day_action {
    uint16_t start_min; /* local time of day, minutes after midnight, 0..1439 */
    uint8_t rate;       /* 1..nrates (script selector of the tariffication script) */
    uint8_t relays;     /* load-control relay states, bit 0 = relay 1, bit 1 = relay 2 */
} ms_day_action_t;

typedef struct ms_day_profile {
    uint8_t day_id; /* COSEM day_id */
    uint8_t nactions;
    ms_day_action_t actions[MS_MAX_DAY_ACTIONS]; /* ascending, the first at 00:00 */
} ms_day_profile_t;

typedef struct ms_week_profile {
    char name[MS_NAME_MAX];
    uint8_t day[7]; /* day profile index (not day_id) for Monday .. Sunday */
} ms_week_profile_t;

typedef struct ms_season {
    char name[MS_NAME_MAX];
    uint16_t year; /* MS_EVERY_YEAR: repeats yearly */
    uint8_t month, day;
    uint8_t week; /* week profile index */
} ms_season_t;

typedef struct ms_special_day {
    uint16_t year; /* MS_EVERY_YEAR: every year (e.g. 12-25) */
    uint8_t month, day;
    uint8_t day_profile; /* day profile index */
} ms_special_day_t;

/** A calendar. Immutable once checked; meters share it. */
typedef struct ms_calendar {
    char name[MS_NAME_MAX];
    uint8_t nrates;
    uint8_t ndays, nweeks;
    uint16_t nseasons, nspecial;
    uint16_t nseasons_yearly,
        nspecial_yearly; /* sorted first; set by ms_calendar_check */
    ms_day_profile_t days[MS_MAX_DAY_PROFILES];
    ms_week_profile_t weeks[MS_MAX_WEEKS];
    ms_season_t seasons[MS_MAX_SEASONS];      /* sorted by ms_calendar_check */
    ms_special_day_t special[MS_MAX_SPECIAL]; /* sorted by ms_calendar_check */
} ms_calendar_t;

/** A calendar with one day profile used every day (all seasons, all weekdays). */
void ms_calendar_single(ms_calendar_t *c, uint8_t nrates, const ms_day_action_t *actions,
                        size_t n);

/**
 * Check a calendar and bring it into canonical order (seasons and special days sorted).
 * Refused: no rates or more than 8; a day profile without a 00:00 action, with times not
 * ascending or >= 24:00, a rate above nrates, a relay mask above 3; a week naming a
 * missing day profile; no season; two seasons starting on the same date (overlapping);
 * a season date that does not exist (e.g. 04-31, or 02-29 of a year that is not a leap
 * year); a special day likewise; the same date twice in the special days table.
 * @param[out] field  "PATH: why", the path in the model's notation, e.g.
 *                    "days[2][1][1]: a day profile must start at 00:00" or
 *                    "seasons[3].start: overlaps seasons[1] (same start)"
 * @return 0 or MS_EINVAL
 */
int ms_calendar_check(ms_calendar_t *c, char *field, size_t cap);

/** Day profile index in force on a local date. */
unsigned ms_calendar_day_profile(const ms_calendar_t *c, int year, unsigned month,
                                 unsigned day);

/** The action in force at a local time (seconds on the local scale). */
const ms_day_action_t *ms_calendar_action_at(const ms_calendar_t *c, int64_t local_s);

/**
 * The first instant after utc_s (in UTC seconds) at which the rate or the relays in
 * force change, given the meter's time zone: an action whose rate or relays differ from
 * the ones in force, or a change of the UTC offset (after which the caller asks again).
 * Actions that repeat the state in force are skipped. Looks ahead at most `horizon_days`
 * (returns the horizon then).
 */
int64_t ms_calendar_next_change(const ms_calendar_t *c, const ms_tz_t *tz, int64_t utc_s,
                                unsigned horizon_days);

/** Parse "HH:MM" into minutes after midnight; -1 when malformed. */
int ms_parse_hhmm(const char *s);

/** Parse "MM-DD" (year MS_EVERY_YEAR) or "YYYY-MM-DD". @return 0 or MS_EPARSE */
int ms_parse_calendar_date(const char *s, uint16_t *year, uint8_t *month, uint8_t *day);

#endif
