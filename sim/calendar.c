/*
** calendar.c — activity calendar evaluation.
** SPDX-License-Identifier: MIT
*/
#include "calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_time.h"

void ms_calendar_single(ms_calendar_t *c, uint8_t nrates, const ms_day_action_t *actions,
                        size_t n)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "default");
    c->nrates = nrates;
    c->ndays = 1;
    c->days[0].day_id = 1;
    c->days[0].nactions = (uint8_t)(n > MS_MAX_DAY_ACTIONS ? MS_MAX_DAY_ACTIONS : n);
    if (c->days[0].nactions)
        memcpy(c->days[0].actions, actions, c->days[0].nactions * sizeof *actions);
    c->nweeks = 1;
    snprintf(c->weeks[0].name, sizeof c->weeks[0].name, "week");
    c->nseasons = 1;
    c->seasons[0] =
        (ms_season_t){ .year = MS_EVERY_YEAR, .month = 1, .day = 1, .week = 0 };
    snprintf(c->seasons[0].name, sizeof c->seasons[0].name, "year");
    c->nseasons_yearly = 1;
}

/* Ordering key of a date: a yearly date sorts by month/day within any year. */
static int64_t date_key(uint16_t year, uint8_t month, uint8_t day)
{
    return (int64_t)(year == MS_EVERY_YEAR ? 0 : year) * 10000 + month * 100 + day;
}

static int cmp_season(const void *a, const void *b)
{
    const ms_season_t *x = a, *y = b;
    /* Yearly seasons first (by month/day), then dated ones chronologically. */
    int64_t kx = date_key(x->year, x->month, x->day),
            ky = date_key(y->year, y->month, y->day);
    return kx < ky ? -1 : kx > ky;
}

static int cmp_special(const void *a, const void *b)
{
    const ms_special_day_t *x = a, *y = b;
    int64_t kx = date_key(x->year, x->month, x->day),
            ky = date_key(y->year, y->month, y->day);
    return kx < ky ? -1 : kx > ky;
}

static bool date_exists(uint16_t year, uint8_t month, uint8_t day)
{
    if (month < 1 || month > 12 || day < 1)
        return false;
    /* A yearly date exists when it exists in some year: 02-29 does (leap years). */
    unsigned dim = ms_days_in_month(year == MS_EVERY_YEAR ? 2000 : year, month);
    return day <= dim;
}

/* Record a refusal: field path in the model's notation, and why. */
#define REFUSE(...)                        \
    do {                                   \
        snprintf(field, cap, __VA_ARGS__); \
        return MS_EINVAL;                  \
    } while (0)

int ms_calendar_check(ms_calendar_t *c, char *field, size_t cap)
{
    if (c->nrates < 1 || c->nrates > MS_MAX_RATES)
        REFUSE("rates: %u rates, 1 to %d allowed", c->nrates, MS_MAX_RATES);
    if (c->ndays < 1 || c->ndays > MS_MAX_DAY_PROFILES)
        REFUSE("days: 1 to %d day profiles", MS_MAX_DAY_PROFILES);
    for (unsigned d = 0; d < c->ndays; d++) {
        const ms_day_profile_t *p = &c->days[d];
        if (p->nactions < 1 || p->nactions > MS_MAX_DAY_ACTIONS)
            REFUSE("days[%u]: 1 to %d switch times", d + 1, MS_MAX_DAY_ACTIONS);
        for (unsigned i = 0; i < p->nactions; i++) {
            const ms_day_action_t *a = &p->actions[i];
            if (i == 0 && a->start_min != 0)
                REFUSE("days[%u][1][1]: a day profile must start at 00:00", d + 1);
            if (a->start_min >= 1440)
                REFUSE("days[%u][%u][1]: a switch time that does not exist", d + 1,
                       i + 1);
            if (i > 0 && a->start_min <= p->actions[i - 1].start_min)
                REFUSE("days[%u][%u][1]: switch times must ascend", d + 1, i + 1);
            if (a->rate < 1 || a->rate > c->nrates)
                REFUSE("days[%u][%u][2]: rate %u, the calendar has %u", d + 1, i + 1,
                       a->rate, c->nrates);
            if (a->relays > 3)
                REFUSE("days[%u][%u].relays: 0..3 (two relays)", d + 1, i + 1);
        }
    }
    if (c->nweeks < 1 || c->nweeks > MS_MAX_WEEKS)
        REFUSE("weeks: 1 to %d week profiles", MS_MAX_WEEKS);
    for (unsigned w = 0; w < c->nweeks; w++)
        for (unsigned d = 0; d < 7; d++)
            if (c->weeks[w].day[d] >= c->ndays)
                REFUSE("weeks[%u][%u]: no such day profile", w + 1, d + 1);
    if (c->nseasons < 1 || c->nseasons > MS_MAX_SEASONS)
        REFUSE("seasons: 1 to %d seasons", MS_MAX_SEASONS);
    for (unsigned s = 0; s < c->nseasons; s++) {
        const ms_season_t *x = &c->seasons[s];
        if (!date_exists(x->year, x->month, x->day))
            REFUSE("seasons[%u].start: a date that does not exist", s + 1);
        if (x->week >= c->nweeks)
            REFUSE("seasons[%u].week: no such week profile", s + 1);
        for (unsigned k = 0; k < s; k++) {
            const ms_season_t *y = &c->seasons[k];
            if (y->year == x->year && y->month == x->month && y->day == x->day)
                REFUSE("seasons[%u].start: overlaps seasons[%u] (same start)", s + 1,
                       k + 1);
        }
    }
    if (c->nspecial > MS_MAX_SPECIAL)
        REFUSE("special_days: at most %d", MS_MAX_SPECIAL);
    for (unsigned s = 0; s < c->nspecial; s++) {
        const ms_special_day_t *x = &c->special[s];
        if (!date_exists(x->year, x->month, x->day))
            REFUSE("special_days[%u][1]: a date that does not exist", s + 1);
        if (x->day_profile >= c->ndays)
            REFUSE("special_days[%u][2]: no such day profile", s + 1);
        for (unsigned k = 0; k < s; k++) {
            const ms_special_day_t *y = &c->special[k];
            if (y->year == x->year && y->month == x->month && y->day == x->day)
                REFUSE("special_days[%u][1]: the same date as special_days[%u]", s + 1,
                       k + 1);
        }
    }
    qsort(c->seasons, c->nseasons, sizeof c->seasons[0], cmp_season);
    qsort(c->special, c->nspecial, sizeof c->special[0], cmp_special);
    c->nseasons_yearly = c->nspecial_yearly = 0;
    while (c->nseasons_yearly < c->nseasons &&
           c->seasons[c->nseasons_yearly].year == MS_EVERY_YEAR)
        c->nseasons_yearly++;
    while (c->nspecial_yearly < c->nspecial &&
           c->special[c->nspecial_yearly].year == MS_EVERY_YEAR)
        c->nspecial_yearly++;
    return 0;
}
#undef REFUSE

/* Index of the last entry in [lo, hi) of a sorted array whose key is <= key, or -1.
 * Keys are read through key_of(i). */
#define LAST_LE(lo, hi, key, key_of)                                                  \
    ({                                                                                \
        long a_ = (long)(lo)-1, b_ = (long)(hi); /* key_of(a_) <= key < key_of(b_) */ \
        while (b_ - a_ > 1) {                                                         \
            long m_ = a_ + (b_ - a_) / 2;                                             \
            if ((key_of(m_)) <= (key))                                                \
                a_ = m_;                                                              \
            else                                                                      \
                b_ = m_;                                                              \
        }                                                                             \
        a_ >= (long)(lo) ? a_ : -1;                                                   \
    })

/* Season in force on a date: the dated season with the latest start <= date if one has
 * started (dated seasons override yearly ones from their start on); otherwise the
 * yearly season with the latest month/day <= the date's, wrapping to the last yearly
 * season of the year before. Binary searches: seasons are sorted, yearly ones first. */
static const ms_season_t *season_at(const ms_calendar_t *c, int year, unsigned month,
                                    unsigned day)
{
    int64_t key = (int64_t)year * 10000 + month * 100 + day;
    int64_t md = month * 100 + day;
#define SKEY(i) date_key(c->seasons[i].year, c->seasons[i].month, c->seasons[i].day)
    long i = LAST_LE(c->nseasons_yearly, c->nseasons, key, SKEY);
    if (i >= 0)
        return &c->seasons[i];
    if (c->nseasons_yearly == 0)
        return &c->seasons[0]; /* only dated seasons, none started yet: the first */
    i = LAST_LE(0, c->nseasons_yearly, md, SKEY);
#undef SKEY
    return &c->seasons[i >= 0 ? i : c->nseasons_yearly - 1];
}

unsigned ms_calendar_day_profile(const ms_calendar_t *c, int year, unsigned month,
                                 unsigned day)
{
    /* Special days: a dated entry wins over a yearly one for the same date. */
    int64_t key = (int64_t)year * 10000 + month * 100 + day;
    int64_t md = month * 100 + day;
#define DKEY(i) date_key(c->special[i].year, c->special[i].month, c->special[i].day)
    long i = LAST_LE(c->nspecial_yearly, c->nspecial, key, DKEY);
    if (i >= 0 && DKEY(i) == key)
        return c->special[i].day_profile;
    i = LAST_LE(0, c->nspecial_yearly, md, DKEY);
    if (i >= 0 && DKEY(i) == md)
        return c->special[i].day_profile;
#undef DKEY
    const ms_season_t *se = season_at(c, year, month, day);
    return c->weeks[se->week].day[ms_weekday(ms_days_from_civil(year, month, day)) - 1];
}

const ms_day_action_t *ms_calendar_action_at(const ms_calendar_t *c, int64_t local_s)
{
    int64_t days = ms_floor_div(local_s, 86400);
    unsigned min = (unsigned)((local_s - days * 86400) / 60);
    int y;
    unsigned m, d;
    ms_civil_from_days(days, &y, &m, &d);
    const ms_day_profile_t *p = &c->days[ms_calendar_day_profile(c, y, m, d)];
    unsigned i = 0;
    while (i + 1 < p->nactions && p->actions[i + 1].start_min <= min)
        i++;
    return &p->actions[i];
}

int64_t ms_calendar_next_change(const ms_calendar_t *c, const ms_tz_t *tz, int64_t utc_s,
                                unsigned horizon_days)
{
    int32_t off = ms_tz_offset(tz, utc_s, NULL);
    int64_t local = utc_s + off;
    const ms_day_action_t *now = ms_calendar_action_at(c, local);
    uint8_t rate = now->rate, relays = now->relays;
    int64_t tr = ms_tz_next_transition(tz, utc_s);
    int64_t day = ms_floor_div(local, 86400);
    unsigned min = (unsigned)((local - day * 86400) / 60);
    int64_t limit = utc_s + (int64_t)horizon_days * 86400;
    /* Walk the action starts after `local` on the local scale, with the offset in force
     * now: valid up to the next offset change, where the caller asks again. */
    for (unsigned k = 0; k <= horizon_days; k++, day++) {
        int y;
        unsigned m, d;
        ms_civil_from_days(day, &y, &m, &d);
        const ms_day_profile_t *p = &c->days[ms_calendar_day_profile(c, y, m, d)];
        for (unsigned i = 0; i < p->nactions; i++) {
            const ms_day_action_t *a = &p->actions[i];
            if (k == 0 && a->start_min <= min)
                continue;
            int64_t at = day * 86400 + a->start_min * 60 - off;
            if (at >= tr)
                return tr;
            if (at >= limit)
                return limit;
            if (a->rate != rate || a->relays != relays)
                return at;
        }
    }
    return tr < limit ? tr : limit;
}

int ms_parse_hhmm(const char *s)
{
    int h, m, n = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || s[n] != 0 || n != 5 || h > 23 ||
        m > 59 || h < 0 || m < 0)
        return -1;
    return h * 60 + m;
}

int ms_parse_calendar_date(const char *s, uint16_t *year, uint8_t *month, uint8_t *day)
{
    int y = MS_EVERY_YEAR, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && s[n] == 0 && n == 10) {
        if (y < 1900 || y > 9999)
            return MS_EPARSE;
    } else if (n = 0, sscanf(s, "%2d-%2d%n", &m, &d, &n) == 2 && s[n] == 0 && n == 5) {
        y = MS_EVERY_YEAR;
    } else {
        return MS_EPARSE;
    }
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return MS_EPARSE;
    *year = (uint16_t)y;
    *month = (uint8_t)m;
    *day = (uint8_t)d;
    return 0;
}
