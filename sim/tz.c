/*
** tz.c — time zone offsets and DST transitions.
** SPDX-License-Identifier: MIT
*/
#include "tz.h"

#include <stdio.h>
#include <string.h>

#include "ms_err.h"
#include "ms_time.h"

int ms_tz_parse(const char *text, ms_tz_t *out)
{
    static const struct {
        const char *name;
        int32_t offset;
        ms_dst_rule_t rule;
    } zones[] = {
        { "UTC", 0, MS_DST_NONE },  { "GMT", 0, MS_DST_NONE },  { "WET", 0, MS_DST_EU },
        { "CET", 3600, MS_DST_EU }, { "EET", 7200, MS_DST_EU },
    };
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        if (strcmp(text, zones[i].name) == 0) {
            out->std_offset_s = zones[i].offset;
            out->dst_delta_s = zones[i].rule == MS_DST_NONE ? 0 : 3600;
            out->rule = zones[i].rule;
            snprintf(out->name, sizeof out->name, "%s", text);
            return 0;
        }
    }
    int hh, mm, n = 0;
    char sign;
    if (sscanf(text, "%c%2d:%2d%n", &sign, &hh, &mm, &n) == 3 && text[n] == 0 &&
        (sign == '+' || sign == '-') && hh <= 14 && mm < 60) {
        out->std_offset_s = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
        snprintf(out->name, sizeof out->name, "%s", text);
        return 0;
    }
    return MS_EPARSE;
}

/* UTC second at which the EU rule starts (or ends) DST in `year`: 01:00 UTC on the last
 * Sunday of March (October). */
static int64_t eu_switch(int year, unsigned month)
{
    int64_t last = ms_days_from_civil(year, month, 31);
    int64_t wd = (last + 3) % 7; /* 0 = Monday (1970-01-01 was a Thursday) */
    if (wd < 0)
        wd += 7;
    int64_t sunday = last - (wd + 1) % 7;
    return sunday * 86400 + 3600;
}

int32_t ms_tz_offset(const ms_tz_t *tz, int64_t utc_s, bool *dst)
{
    bool on = false;
    if (tz->rule == MS_DST_EU) {
        ms_tm_t tm;
        ms_tm_from_unix(utc_s, &tm);
        on = utc_s >= eu_switch(tm.year, 3) && utc_s < eu_switch(tm.year, 10);
    }
    if (dst)
        *dst = on;
    return tz->std_offset_s + (on ? tz->dst_delta_s : 0);
}

int64_t ms_tz_next_transition(const ms_tz_t *tz, int64_t utc_s)
{
    if (tz->rule != MS_DST_EU)
        return INT64_MAX;
    ms_tm_t tm;
    ms_tm_from_unix(utc_s, &tm);
    for (int y = tm.year; y <= tm.year + 1; y++) {
        int64_t b = eu_switch(y, 3), e = eu_switch(y, 10);
        if (b > utc_s)
            return b;
        if (e > utc_s)
            return e;
    }
    return INT64_MAX;
}
