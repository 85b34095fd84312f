/*
** ms_time.c — civil-date arithmetic and ISO 8601 text.
** SPDX-License-Identifier: MIT
**
** Day counts use the era decomposition of the Gregorian calendar (400-year eras of
** 146097 days, March-based years so that the leap day is the last day of a year), as
** described by H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" (public
** domain description of the arithmetic; this is an independent implementation).
*/
#include "ms_time.h"

#include <stdio.h>
#include <stdlib.h>

#include "ms_err.h"

int64_t ms_days_from_civil(int year, unsigned month, unsigned day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = ms_floor_div(y, 400);
    int64_t yoe = y - era * 400;                         /* 0..399 */
    int64_t mp = (month + 9) % 12;                       /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)day - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468; /* 719468 = days from 0000-03-01 to 1970-01-01 */
}

void ms_civil_from_days(int64_t z, int *year, unsigned *month, unsigned *day)
{
    z += 719468;
    int64_t era = ms_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

int ms_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned ms_days_in_month(int year, unsigned month)
{
    static const uint8_t dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month < 1 || month > 12)
        return 0;
    return dim[month - 1] + (month == 2 && ms_is_leap_year(year));
}

void ms_tm_from_unix(int64_t t, ms_tm_t *out)
{
    int64_t days = ms_floor_div(t, 86400);
    int64_t sod = t - days * 86400;
    unsigned m, d;
    ms_civil_from_days(days, &out->year, &m, &d);
    out->month = (uint8_t)m;
    out->day = (uint8_t)d;
    out->hour = (uint8_t)(sod / 3600);
    out->minute = (uint8_t)(sod / 60 % 60);
    out->second = (uint8_t)(sod % 60);
    out->wday = (uint8_t)ms_weekday(days);
    out->yday = (uint16_t)(days - ms_days_from_civil(out->year, 1, 1) + 1);
}

int64_t ms_unix_from_tm(const ms_tm_t *tm)
{
    return ms_days_from_civil(tm->year, tm->month, tm->day) * 86400 + tm->hour * 3600 +
           tm->minute * 60 + tm->second;
}

/* Exactly n decimal digits at *p; advances *p. -1 on error. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

int ms_iso8601_parse(const char *s, int64_t *t, int *offset_s)
{
    if (!s || !t)
        return MS_EINVAL;
    const char *p = s;
    int sign = 1;
    if (*p == '-' || *p == '+')
        sign = *p++ == '-' ? -1 : 1;
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return MS_EPARSE;
    int mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || *p++ != '-')
        return MS_EPARSE;
    int d = digits(&p, 2);
    y *= sign;
    if (d < 1 || (unsigned)d > ms_days_in_month(y, (unsigned)mo))
        return MS_EPARSE;
    int hh = 0, mm = 0, ss = 0, off = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        hh = digits(&p, 2);
        if (hh < 0 || hh > 23 || *p++ != ':')
            return MS_EPARSE;
        mm = digits(&p, 2);
        if (mm < 0 || mm > 59)
            return MS_EPARSE;
        if (*p == ':') {
            p++;
            ss = digits(&p, 2);
            if (ss < 0 || ss > 59)
                return MS_EPARSE;
            if (*p == '.' || *p == ',') {
                p++;
                if (*p < '0' || *p > '9')
                    return MS_EPARSE;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int osign = *p++ == '-' ? -1 : 1;
            int oh = digits(&p, 2), om = 0;
            if (oh < 0 || oh > 18)
                return MS_EPARSE;
            if (*p == ':')
                p++;
            if (*p >= '0' && *p <= '9') {
                om = digits(&p, 2);
                if (om < 0 || om > 59)
                    return MS_EPARSE;
            }
            off = osign * (oh * 3600 + om * 60);
        } else {
            return MS_EPARSE; /* a local time without offset is ambiguous: refuse */
        }
    }
    if (*p != 0)
        return MS_EPARSE;
    *t = ms_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + hh * 3600 + mm * 60 +
         ss - off;
    if (offset_s)
        *offset_s = off;
    return 0;
}

int ms_iso8601_format(int64_t t, int offset_s, char *buf, size_t cap)
{
    ms_tm_t tm;
    ms_tm_from_unix(t + offset_s, &tm);
    char zone[16] = "Z";
    if (offset_s) {
        int a = abs(offset_s);
        snprintf(zone, sizeof zone, "%c%02d:%02d", offset_s < 0 ? '-' : '+', a / 3600,
                 a / 60 % 60);
    }
    int n = snprintf(buf, cap, "%04d-%02u-%02uT%02u:%02u:%02u%s", tm.year, tm.month,
                     tm.day, tm.hour, tm.minute, tm.second, zone);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = 0;
        return MS_ENOSPC;
    }
    return n;
}
