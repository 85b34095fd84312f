/*
** ms_time.h — calendar arithmetic on int64 UTC seconds: civil dates, ISO 8601.
** SPDX-License-Identifier: MIT
**
** Pure functions; nothing here reads a clock. Proleptic Gregorian calendar, valid for
** years -32768..32767, no leap seconds (POSIX time).
*/
#ifndef MS_TIME_H
#define MS_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "ms_int.h"

/** Broken-down civil time. */
typedef struct ms_tm {
    int year;       /* e.g. 2016 */
    uint8_t month;  /* 1..12 */
    uint8_t day;    /* 1..31 */
    uint8_t hour;   /* 0..23 */
    uint8_t minute; /* 0..59 */
    uint8_t second; /* 0..59 */
    uint8_t wday;   /* ISO 8601 / DLMS day of week: 1 = Monday .. 7 = Sunday */
    uint16_t yday;  /* 1..366 */
} ms_tm_t;

/** Days since 1970-01-01 of a civil date (month 1..12, day 1..31). */
int64_t ms_days_from_civil(int year, unsigned month, unsigned day);

/** Civil date of a day count since 1970-01-01. */
void ms_civil_from_days(int64_t days, int *year, unsigned *month, unsigned *day);

/** ISO 8601 day of week of a day count since 1970-01-01 (a Thursday): 1 = Monday ..
 *  7 = Sunday, as DLMS date-times number them. */
static inline unsigned ms_weekday(int64_t days)
{
    int64_t wd = (days + 3) % 7; /* 0 = Monday */
    return (unsigned)(wd < 0 ? wd + 7 : wd) + 1;
}

/** 1 in leap years of the Gregorian calendar, else 0. */
int ms_is_leap_year(int year);

/** Days in a month (month 1..12); 0 for a month out of range. */
unsigned ms_days_in_month(int year, unsigned month);

/** Break seconds since the epoch (UTC, or any local time scale) into fields. */
void ms_tm_from_unix(int64_t t, ms_tm_t *out);

/** Seconds since the epoch of the fields year..second (wday and yday are ignored). */
int64_t ms_unix_from_tm(const ms_tm_t *tm);

/**
 * Parse an ISO 8601 date-time: "YYYY-MM-DDThh:mm[:ss[.fff]]" followed by "Z", "+hh:mm",
 * "+hhmm" or "+hh" (or '-'); "YYYY-MM-DD" alone means midnight UTC. A space may stand
 * for 'T'. Fractions of a second are accepted and dropped.
 * @param[in]  s      NUL-terminated text
 * @param[out] t      seconds since 1970-01-01T00:00:00Z
 * @param[out] offset_s  the text's UTC offset in seconds (may be NULL)
 * @return 0, or MS_EPARSE (syntax, or a field out of range such as month 13), MS_EINVAL
 */
int ms_iso8601_parse(const char *s, int64_t *t, int *offset_s);

/**
 * Format t as ISO 8601 in the time scale UTC + offset_s: "2016-01-01T01:00:00+01:00",
 * or "...Z" when offset_s is 0.
 * @param[out] buf  cap >= 26 suffices
 * @return the text length, or MS_ENOSPC
 */
int ms_iso8601_format(int64_t t, int offset_s, char *buf, size_t cap);

#endif
