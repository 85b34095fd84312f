/*
** tz.c — time zone offsets, DST switch rules and local/UTC conversion.
** SPDX-License-Identifier: MIT
*/
#include "tz.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ms_err.h"
#include "ms_time.h"

/* EU rule, Directive 2000/84/EC articles 2 and 3. */
static const ms_dst_switch_t eu_begin = { 3, 5, 7, true, 3600 };
static const ms_dst_switch_t eu_end = { 10, 5, 7, true, 3600 };

int ms_tz_parse(const char *text, ms_tz_t *out)
{
    static const struct {
        const char *name;
        int32_t offset;
        bool eu;
    } zones[] = {
        { "UTC", 0, false },   { "GMT", 0, false },   { "WET", 0, true },
        { "CET", 3600, true }, { "EET", 7200, true },
    };
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        if (strcmp(text, zones[i].name) == 0) {
            out->std_offset_s = zones[i].offset;
            if (zones[i].eu) {
                out->dst = true;
                out->dst_delta_s = 3600;
                out->begin = eu_begin;
                out->end = eu_end;
            }
            snprintf(out->name, sizeof out->name, "%s", text);
            return 0;
        }
    }
    int hh, mm, n = 0;
    char sign;
    if (sscanf(text, "%c%2d:%2d%n", &sign, &hh, &mm, &n) == 3 && text[n] == 0 &&
        (sign == '+' || sign == '-') && hh <= 14 && mm < 60 && hh >= 0 && mm >= 0) {
        out->std_offset_s = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
        snprintf(out->name, sizeof out->name, "%s", text);
        return 0;
    }
    return MS_EPARSE;
}

int ms_tz_parse_switch(const char *text, ms_dst_switch_t *out)
{
    static const char *const ord[] = { "1st", "2nd", "3rd", "4th", "last" };
    static const char *const wd[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char o[8], w[8], m[8], hm[8];
    int n = 0;
    if (sscanf(text, "%7s %7s %7s %7s%n", o, w, m, hm, &n) != 4 || text[n] != 0)
        return MS_EPARSE;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(o, ord[i]))
            out->week = (uint8_t)(i + 1);
    for (int i = 0; i < 7; i++)
        if (!strcasecmp(w, wd[i]))
            out->wday = (uint8_t)(i + 1);
    for (int i = 0; i < 12; i++)
        if (!strcasecmp(m, mon[i]))
            out->month = (uint8_t)(i + 1);
    int h, mi, k = 0;
    if (!out->week || !out->wday || !out->month ||
        sscanf(hm, "%2d:%2d%n", &h, &mi, &k) != 2 || h < 0 || h > 23 || mi < 0 || mi > 59)
        return MS_EPARSE;
    if (hm[k] == 'Z' && hm[k + 1] == 0)
        out->utc = true;
    else if (hm[k] != 0)
        return MS_EPARSE;
    out->at_s = h * 3600 + mi * 60;
    return 0;
}

static int check_switch(const ms_dst_switch_t *s)
{
    return s->month >= 1 && s->month <= 12 && s->week >= 1 && s->week <= 5 &&
           s->wday >= 1 && s->wday <= 7 && s->at_s >= 0 && s->at_s < 86400;
}

int ms_tz_check(const ms_tz_t *tz, char *field, size_t cap)
{
    if (tz->std_offset_s < -14 * 3600 || tz->std_offset_s > 14 * 3600) {
        snprintf(field, cap, "offset");
        return MS_EINVAL;
    }
    if (!tz->dst)
        return 0;
    if (tz->dst_delta_s < 0 || tz->dst_delta_s > 7200) {
        snprintf(field, cap, "deviation");
        return MS_EINVAL;
    }
    if (!check_switch(&tz->begin)) {
        snprintf(field, cap, "begin");
        return MS_EINVAL;
    }
    if (!check_switch(&tz->end) || tz->end.month == tz->begin.month) {
        snprintf(field, cap, "end");
        return MS_EINVAL;
    }
    return 0;
}

/* UTC second of a switch in `year`. A rule in local standard time is converted with the
 * standard offset — except `end`, whose local time is daylight time (the clock shows
 * DST until the switch), so its offset is standard + deviation. */
static int64_t switch_utc(const ms_tz_t *tz, const ms_dst_switch_t *s, int year,
                          bool is_end)
{
    int64_t first = ms_days_from_civil(year, s->month, 1);
    int64_t day = first + ((int64_t)s->wday - ms_weekday(first) + 7) % 7; /* the first */
    if (s->week == 5) {
        unsigned dim = ms_days_in_month(year, s->month);
        while (day + 7 < first + dim)
            day += 7;
    } else {
        day += 7 * (s->week - 1);
    }
    int64_t t = day * 86400 + s->at_s;
    if (!s->utc)
        t -= tz->std_offset_s + (is_end ? tz->dst_delta_s : 0);
    return t;
}

int32_t ms_tz_offset(const ms_tz_t *tz, int64_t utc_s, bool *dst)
{
    bool on = false;
    if (tz->dst) {
        ms_tm_t tm;
        ms_tm_from_unix(utc_s, &tm);
        int64_t b = switch_utc(tz, &tz->begin, tm.year, false);
        int64_t e = switch_utc(tz, &tz->end, tm.year, true);
        /* Northern rules have begin < end in a year; southern ones (begin in spring =
         * September/October) have DST across the new year. */
        on = b < e ? (utc_s >= b && utc_s < e) : (utc_s >= b || utc_s < e);
    }
    if (dst)
        *dst = on;
    return tz->std_offset_s + (on ? tz->dst_delta_s : 0);
}

int64_t ms_tz_next_transition(const ms_tz_t *tz, int64_t utc_s)
{
    if (!tz->dst || tz->dst_delta_s == 0)
        return INT64_MAX;
    ms_tm_t tm;
    ms_tm_from_unix(utc_s, &tm);
    int64_t best = INT64_MAX;
    for (int y = tm.year - 1; y <= tm.year + 1; y++) {
        int64_t b = switch_utc(tz, &tz->begin, y, false),
                e = switch_utc(tz, &tz->end, y, true);
        if (b > utc_s && b < best)
            best = b;
        if (e > utc_s && e < best)
            best = e;
    }
    return best;
}

int64_t ms_tz_utc_of_local(const ms_tz_t *tz, int64_t local_s)
{
    int64_t a = local_s - tz->std_offset_s - (tz->dst ? tz->dst_delta_s : 0); /* as DST */
    int64_t b = local_s - tz->std_offset_s; /* as standard */
    bool ok_a = tz->dst && ms_tz_local(tz, a) == local_s;
    bool ok_b = ms_tz_local(tz, b) == local_s;
    if (ok_a && ok_b)
        return a < b ? a : b; /* happens twice: the first */
    if (ok_a)
        return a;
    if (ok_b)
        return b;
    /* Skipped by the spring switch: the switch instant, where the local clock jumps
     * past local_s. */
    int64_t lo = a < b ? a : b;
    return ms_tz_next_transition(tz, lo - 1);
}
