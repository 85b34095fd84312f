/*
** model_calendar.c — the time-related parts of a model: time zone and DST rule, the
** tariff calendar (seasons, weeks, day profiles, special days with an import of the
** gov.uk bank-holiday feed), load profiles, billing, logs. Read from a Lua table (model
** files) or from JSON (the control API) through one checked path (luacfg).
** SPDX-License-Identifier: MIT
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "luacfg.h"
#include "model.h"
#include "model_parts.h"
#include "ms_err.h"
#include "registers.h"

int ms_cfg_timezone(ms_luacfg_t *c, const char *key, ms_tz_t *tz)
{
    static const char *const keys[] = { "name", "offset", "dst", NULL };
    static const char *const dst_keys[] = { "begin", "end", "deviation", NULL };
    char text[32];
    if (!ms_luacfg_has(c, key)) {
        ms_tz_parse("UTC", tz);
        return 0;
    }
    int rc = ms_luacfg_push(c, key);
    if (rc < 0) { /* not a table: a zone name */
        if ((rc = ms_luacfg_str(c, key, text, sizeof text, NULL)))
            return rc;
        if (ms_tz_parse(text, tz) != 0)
            return ms_luacfg_fail(c, key,
                                  "\"%s\" is not UTC, GMT, WET, CET, EET, +hh:mm or a "
                                  "table { offset = \"+01:00\", dst = { ... } }",
                                  text);
        return 0;
    }
    /* { name = "CET", offset = "+01:00", dst = { begin = "...", end = "...",
     *   deviation = 60 } } */
    char name[24], off[16];
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_str(c, "offset", off, sizeof off, NULL)) ||
        (rc = ms_luacfg_str(c, "name", name, sizeof name, off)))
        return rc;
    if (ms_tz_parse(off, tz) != 0 || (off[0] != '+' && off[0] != '-'))
        return ms_luacfg_fail(c, "offset", "\"%s\" is not +hh:mm or -hh:mm", off);
    snprintf(tz->name, sizeof tz->name, "%s", name);
    rc = ms_luacfg_push(c, "dst");
    if (rc < 0)
        return rc;
    if (rc > 0) {
        char b[40], e[40];
        int64_t dev;
        if ((rc = ms_luacfg_only(c, dst_keys)) ||
            (rc = ms_luacfg_str(c, "begin", b, sizeof b, NULL)) ||
            (rc = ms_luacfg_str(c, "end", e, sizeof e, NULL)) ||
            (rc = ms_luacfg_int(c, "deviation", &dev, 60, 0, 120)))
            return rc;
        if (ms_tz_parse_switch(b, &tz->begin))
            return ms_luacfg_fail(c, "begin",
                                  "\"%s\" is not a rule like \"last Sun Mar 01:00Z\"", b);
        if (ms_tz_parse_switch(e, &tz->end))
            return ms_luacfg_fail(c, "end",
                                  "\"%s\" is not a rule like \"last Sun Oct 01:00Z\"", e);
        tz->dst = true;
        tz->dst_delta_s = (int32_t)dev * 60;
        char field[32];
        if (ms_tz_check(tz, field, sizeof field))
            return ms_luacfg_fail(c, field,
                                  "out of range (the begin and end months must differ)");
        ms_luacfg_pop(c);
    }
    ms_luacfg_pop(c);
    return 0;
}

/* Index of a named day profile or week, or -1. */
static int find_day(const ms_calendar_t *cal, char names[][MS_NAME_MAX], const char *n)
{
    for (unsigned i = 0; i < cal->ndays; i++)
        if (!strcmp(names[i], n))
            return (int)i;
    return -1;
}

/* The switch times of a day profile: the elements of the current table, each
 * { "HH:MM", rate } with the load-control relays as a third element or relays = n. */
static int load_actions(ms_luacfg_t *c, ms_day_profile_t *p, unsigned max_rate)
{
    static const char *const akeys[] = { "relays", NULL };
    size_t n = ms_luacfg_len(c);
    if (n < 1 || n > MS_MAX_DAY_ACTIONS)
        return ms_luacfg_fail(c, NULL,
                              "needs 1 to %d switch times { \"HH:MM\", rate }, has %zu",
                              MS_MAX_DAY_ACTIONS, n);
    for (size_t i = 1; i <= n; i++) {
        int rc;
        if ((rc = ms_luacfg_push_index(c, i)) <= 0)
            return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
        char hhmm[16];
        int64_t rate, relays = 0;
        if ((rc = ms_luacfg_only(c, akeys)) ||
            (rc = ms_luacfg_index_str(c, 1, hhmm, sizeof hhmm)) ||
            (rc = ms_luacfg_index_int(c, 2, &rate, 1, max_rate)))
            return rc;
        if (ms_luacfg_len(c) >= 3 && (rc = ms_luacfg_index_int(c, 3, &relays, 0, 3)))
            return rc;
        if ((rc = ms_luacfg_int(c, "relays", &relays, relays, 0, 3)))
            return rc;
        int min = ms_parse_hhmm(hhmm);
        if (min < 0)
            return ms_luacfg_fail(c, "[1]",
                                  "\"%s\" is not a time of day HH:MM (a switch time "
                                  "that does not exist)",
                                  hhmm);
        p->actions[i - 1] =
            (ms_day_action_t){ (uint16_t)min, (uint8_t)rate, (uint8_t)relays };
        ms_luacfg_pop(c);
    }
    p->nactions = (uint8_t)n;
    return 0;
}

/* One day profile: { name = "weekday", { "00:00", 2 }, { "06:00", 1, relays = 1 } } in
 * a model, or { "name": "weekday", "actions": [["00:00", 2], ["06:00", 1, 1]] } in
 * JSON (which has no tables that are list and record at once). */
static int load_day(ms_luacfg_t *c, ms_calendar_t *cal, unsigned d,
                    char names[][MS_NAME_MAX])
{
    static const char *const keys[] = { "name", "id", "actions", NULL };
    ms_day_profile_t *p = &cal->days[d];
    int64_t id;
    int rc;
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_str(c, "name", names[d], MS_NAME_MAX, NULL)) ||
        (rc = ms_luacfg_int(c, "id", &id, d + 1, 1, 255)))
        return rc;
    p->day_id = (uint8_t)id;
    bool json = ms_luacfg_has(c, "actions");
    if (json && (rc = ms_luacfg_push(c, "actions")) < 0)
        return rc;
    /* rates above the calendar's are refused by ms_calendar_check, naming the field */
    if ((rc = load_actions(c, p, MS_MAX_RATES)))
        return rc;
    if (json)
        ms_luacfg_pop(c);
    return 0;
}

/* gov.uk bank holidays feed: { "england-and-wales": { "events": [ { "date": ... } ] } }
 */
static int import_holidays(ms_luacfg_t *c, ms_calendar_t *cal, char names[][MS_NAME_MAX])
{
    static const char *const keys[] = { "file", "division", "day", NULL };
    char file[512], division[48], day[MS_NAME_MAX];
    int rc;
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_str(c, "file", file, sizeof file, NULL)) ||
        (rc = ms_luacfg_str(c, "division", division, sizeof division,
                            "england-and-wales")) ||
        (rc = ms_luacfg_str(c, "day", day, sizeof day, NULL)))
        return rc;
    int di = find_day(cal, names, day);
    if (di < 0)
        return ms_luacfg_fail(c, "day", "no day profile named \"%s\"", day);
    json_error_t e;
    json_t *j = json_load_file(file, 0, &e);
    if (!j)
        return ms_luacfg_fail(c, "file", "%s: line %d: %s", file, e.line, e.text);
    json_t *events = json_object_get(json_object_get(j, division), "events");
    if (!json_is_array(events)) {
        json_decref(j);
        return ms_luacfg_fail(c, "division", "%s has no division \"%s\" with events",
                              file, division);
    }
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *date = json_string_value(json_object_get(ev, "date"));
        ms_special_day_t s = { .day_profile = (uint8_t)di };
        if (!date || ms_parse_calendar_date(date, &s.year, &s.month, &s.day) ||
            s.year == MS_EVERY_YEAR) {
            json_decref(j);
            return ms_luacfg_fail(c, "file", "%s: events[%zu]: no date YYYY-MM-DD", file,
                                  i);
        }
        if (cal->nspecial == MS_MAX_SPECIAL) {
            json_decref(j);
            return ms_luacfg_fail(c, "file", "more than %d special days", MS_MAX_SPECIAL);
        }
        bool dup = false;
        for (unsigned k = 0; k < cal->nspecial && !dup; k++)
            dup = cal->special[k].year == s.year && cal->special[k].month == s.month &&
                  cal->special[k].day == s.day;
        if (!dup) /* a date given explicitly wins over the feed */
            cal->special[cal->nspecial++] = s;
    }
    json_decref(j);
    return 0;
}

/* The legacy form tariff = { rates = N, day = { { "00:00", 2 }, ... } }: one day profile
 * every day. */
static int load_tariff(ms_luacfg_t *c, ms_calendar_t *cal)
{
    static const char *const keys[] = { "rates", "day", NULL };
    int64_t v;
    int rc = ms_luacfg_push(c, "tariff");
    if (rc <= 0)
        return rc;
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_int(c, "rates", &v, 1, 1, MS_MAX_RATES)))
        return rc;
    ms_calendar_single(cal, (uint8_t)v, NULL, 0);
    rc = ms_luacfg_push(c, "day");
    if (rc <= 0)
        return rc < 0 ? rc
                      : ms_luacfg_fail(c, "day", "required: { {\"00:00\", 1}, ... }");
    if ((rc = load_actions(c, &cal->days[0], cal->nrates)))
        return rc;
    ms_luacfg_pop(c);
    ms_luacfg_pop(c);
    return 0;
}

/* A check failure "PATH: why" as a message about that field of the current table. */
static int calendar_refused(ms_luacfg_t *c, const char *field)
{
    char path[80];
    const char *colon = strstr(field, ": ");
    snprintf(path, sizeof path, "%.*s", colon ? (int)(colon - field) : (int)strlen(field),
             field);
    return ms_luacfg_fail(c, path, "%s", colon ? colon + 2 : "refused");
}

int ms_cfg_calendar(ms_luacfg_t *c, ms_calendar_t *cal)
{
    static const char *const keys[] = { "name",    "rates",        "days", "weeks",
                                        "seasons", "special_days", NULL };
    memset(cal, 0, sizeof *cal);
    int rc;
    if (!ms_luacfg_has(c, "calendar")) {
        if (ms_luacfg_has(c, "tariff")) {
            if ((rc = load_tariff(c, cal)))
                return rc;
        } else {
            ms_day_action_t one = { 0, 1, 0 };
            ms_calendar_single(cal, 1, &one, 1);
        }
        char field[96];
        if (ms_calendar_check(cal, field, sizeof field))
            return ms_luacfg_fail(c, "tariff", "refused (%s)", field);
        return 0;
    }
    if ((rc = ms_luacfg_push(c, "calendar")) < 0)
        return rc;
    int64_t v;
    if ((rc = ms_luacfg_only(c, keys)) ||
        (rc = ms_luacfg_str(c, "name", cal->name, sizeof cal->name, "calendar")) ||
        (rc = ms_luacfg_int(c, "rates", &v, 1, 1, MS_MAX_RATES)))
        return rc;
    cal->nrates = (uint8_t)v;
    /* day profiles */
    char day_names[MS_MAX_DAY_PROFILES][MS_NAME_MAX] = { { 0 } };
    if ((rc = ms_luacfg_push(c, "days")) <= 0)
        return rc < 0 ? rc
                      : ms_luacfg_fail(c, "days", "required: a list of day profiles");
    size_t n = ms_luacfg_len(c);
    if (n < 1 || n > MS_MAX_DAY_PROFILES)
        return ms_luacfg_fail(c, NULL, "needs 1 to %d day profiles, has %zu",
                              MS_MAX_DAY_PROFILES, n);
    cal->ndays = (uint8_t)n;
    for (size_t i = 1; i <= n; i++) {
        if ((rc = ms_luacfg_push_index(c, i)) <= 0)
            return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
        if ((rc = load_day(c, cal, (unsigned)(i - 1), day_names)))
            return rc;
        ms_luacfg_pop(c);
    }
    ms_luacfg_pop(c);
    /* weeks: { name = "standard", "weekday" x5, "weekend" x2 } */
    char week_names[MS_MAX_WEEKS][MS_NAME_MAX];
    if ((rc = ms_luacfg_push(c, "weeks")) <= 0)
        return rc < 0 ? rc
                      : ms_luacfg_fail(c, "weeks", "required: a list of week profiles");
    n = ms_luacfg_len(c);
    if (n < 1 || n > MS_MAX_WEEKS)
        return ms_luacfg_fail(c, NULL, "needs 1 to %d week profiles, has %zu",
                              MS_MAX_WEEKS, n);
    cal->nweeks = (uint8_t)n;
    for (size_t i = 1; i <= n; i++) {
        static const char *const wkeys[] = { "name", "days", NULL };
        if ((rc = ms_luacfg_push_index(c, i)) <= 0)
            return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
        ms_week_profile_t *w = &cal->weeks[i - 1];
        if ((rc = ms_luacfg_only(c, wkeys)) ||
            (rc = ms_luacfg_str(c, "name", w->name, sizeof w->name, NULL)))
            return rc;
        snprintf(week_names[i - 1], MS_NAME_MAX, "%s", w->name);
        bool json =
            ms_luacfg_has(c, "days"); /* JSON: { "name": ..., "days": [7 names] } */
        if (json && (rc = ms_luacfg_push(c, "days")) < 0)
            return rc;
        if (ms_luacfg_len(c) != 7)
            return ms_luacfg_fail(c, NULL, "needs 7 day profile names, Monday to Sunday");
        for (size_t d = 1; d <= 7; d++) {
            char dn[MS_NAME_MAX];
            if ((rc = ms_luacfg_index_str(c, d, dn, sizeof dn)))
                return rc;
            int di = find_day(cal, day_names, dn);
            if (di < 0) {
                char k[8];
                snprintf(k, sizeof k, "[%zu]", d);
                return ms_luacfg_fail(c, k, "no day profile named \"%s\"", dn);
            }
            w->day[d - 1] = (uint8_t)di;
        }
        if (json)
            ms_luacfg_pop(c);
        ms_luacfg_pop(c);
    }
    ms_luacfg_pop(c);
    /* seasons: { name = "winter", start = "10-01" | "2030-10-01", week = "standard" } */
    if ((rc = ms_luacfg_push(c, "seasons")) <= 0)
        return rc < 0 ? rc : ms_luacfg_fail(c, "seasons", "required: a list of seasons");
    n = ms_luacfg_len(c);
    if (n < 1 || n > MS_MAX_SEASONS)
        return ms_luacfg_fail(c, NULL, "needs 1 to %d seasons, has %zu", MS_MAX_SEASONS,
                              n);
    cal->nseasons = (uint16_t)n;
    for (size_t i = 1; i <= n; i++) {
        static const char *const skeys[] = { "name", "start", "week", NULL };
        if ((rc = ms_luacfg_push_index(c, i)) <= 0)
            return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
        ms_season_t *s = &cal->seasons[i - 1];
        char start[16], week[MS_NAME_MAX];
        if ((rc = ms_luacfg_only(c, skeys)) ||
            (rc = ms_luacfg_str(c, "name", s->name, sizeof s->name, "season")) ||
            (rc = ms_luacfg_str(c, "start", start, sizeof start, NULL)) ||
            (rc = ms_luacfg_str(c, "week", week, sizeof week, NULL)))
            return rc;
        if (ms_parse_calendar_date(start, &s->year, &s->month, &s->day))
            return ms_luacfg_fail(c, "start", "\"%s\" is not MM-DD or YYYY-MM-DD", start);
        int wi = -1;
        for (unsigned k = 0; k < cal->nweeks; k++)
            if (!strcmp(week_names[k], week))
                wi = (int)k;
        if (wi < 0)
            return ms_luacfg_fail(c, "week", "no week profile named \"%s\"", week);
        s->week = (uint8_t)wi;
        ms_luacfg_pop(c);
    }
    ms_luacfg_pop(c);
    /* special days: { "12-25", "holiday" }, ..., import = { file, division, day } */
    rc = ms_luacfg_push(c, "special_days");
    if (rc < 0)
        return rc;
    if (rc > 0) {
        static const char *const spkeys[] = { "import", NULL };
        if ((rc = ms_luacfg_only(c, spkeys)))
            return rc;
        n = ms_luacfg_len(c);
        if (n > MS_MAX_SPECIAL)
            return ms_luacfg_fail(c, NULL, "more than %d special days", MS_MAX_SPECIAL);
        for (size_t i = 1; i <= n; i++) {
            if ((rc = ms_luacfg_push_index(c, i)) <= 0)
                return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
            ms_special_day_t *s = &cal->special[cal->nspecial];
            char date[16], dn[MS_NAME_MAX];
            if ((rc = ms_luacfg_index_str(c, 1, date, sizeof date)) ||
                (rc = ms_luacfg_index_str(c, 2, dn, sizeof dn)))
                return rc;
            if (ms_parse_calendar_date(date, &s->year, &s->month, &s->day))
                return ms_luacfg_fail(c, "[1]", "\"%s\" is not MM-DD or YYYY-MM-DD",
                                      date);
            int di = find_day(cal, day_names, dn);
            if (di < 0)
                return ms_luacfg_fail(c, "[2]", "no day profile named \"%s\"", dn);
            s->day_profile = (uint8_t)di;
            cal->nspecial++;
            ms_luacfg_pop(c);
        }
        if ((rc = ms_luacfg_push(c, "import")) < 0)
            return rc;
        if (rc > 0) {
            if ((rc = import_holidays(c, cal, day_names)))
                return rc;
            ms_luacfg_pop(c);
        }
        ms_luacfg_pop(c);
    }
    char field[96];
    if (ms_calendar_check(cal, field, sizeof field))
        return calendar_refused(c, field);
    ms_luacfg_pop(c);
    return 0;
}

int ms_cfg_profiles(ms_luacfg_t *c, ms_model_t *m)
{
    static const char *const keys[] = { "name",     "obis", "period", "capacity",
                                        "channels", "kind", NULL };
    static const char *const kinds[] = { "value", "delta", NULL };
    int rc = ms_luacfg_push(c, "profiles");
    if (rc <= 0)
        return rc;
    size_t n = ms_luacfg_len(c);
    if (n > MS_MODEL_MAX_PROFILES)
        return ms_luacfg_fail(c, NULL, "at most %d profiles", MS_MODEL_MAX_PROFILES);
    for (size_t i = 1; i <= n; i++) {
        if ((rc = ms_luacfg_push_index(c, i)) <= 0)
            return rc < 0 ? rc : ms_luacfg_fail(c, NULL, "element %zu missing", i);
        ms_profile_def_t *p = &m->profiles[i - 1];
        char obis[40];
        int64_t period, cap;
        int kind;
        if ((rc = ms_luacfg_only(c, keys)) ||
            (rc = ms_luacfg_str(c, "name", p->name, sizeof p->name, NULL)) ||
            (rc = ms_luacfg_str(c, "obis", obis, sizeof obis, NULL)) ||
            (rc = ms_luacfg_int(c, "period", &period, 900, 60, 86400)) ||
            (rc = ms_luacfg_int(c, "capacity", &cap, 96 * 31, 1, 1000000)) ||
            (rc = ms_luacfg_choice(c, "kind", kinds, &kind, 0)))
            return rc;
        unsigned present;
        if (ms_obis_parse(obis, strlen(obis), &p->obis, &present) ||
            present != MS_OBIS_ALL)
            return ms_luacfg_fail(c, "obis", "\"%s\" is not a full OBIS code A-B:C.D.E*F",
                                  obis);
        if (period != 86400 && (period > 3600 || 3600 % period != 0))
            return ms_luacfg_fail(c, "period",
                                  "%lld s: 60..3600 dividing an hour, or 86400 "
                                  "(daily at local midnight)",
                                  (long long)period);
        p->period_s = (uint32_t)period;
        p->capacity = (uint32_t)cap;
        if ((rc = ms_luacfg_push(c, "channels")) <= 0)
            return rc < 0 ? rc
                          : ms_luacfg_fail(c, "channels", "required: energy registers");
        size_t nc = ms_luacfg_len(c);
        if (nc < 1 || nc > MS_PROFILE_MAX_CHANNELS)
            return ms_luacfg_fail(c, NULL, "1 to %d channels", MS_PROFILE_MAX_CHANNELS);
        for (size_t k = 1; k <= nc; k++) {
            char ch[40], key[8];
            snprintf(key, sizeof key, "[%zu]", k);
            if ((rc = ms_luacfg_index_str(c, k, ch, sizeof ch)))
                return rc;
            ms_reg_def_t def;
            if (ms_obis_parse(ch, strlen(ch), &p->ch[k - 1], &present) ||
                present != MS_OBIS_ALL || !ms_reg_lookup(&p->ch[k - 1], &def) ||
                def.hist ||
                (def.kind != MS_REG_ENERGY && def.kind != MS_REG_POWER &&
                 def.kind != MS_REG_VOLTAGE && def.kind != MS_REG_CURRENT &&
                 def.kind != MS_REG_POWER_FACTOR && def.kind != MS_REG_FREQUENCY))
                return ms_luacfg_fail(c, key,
                                      "\"%s\" is not an energy register (C.8.E) or an "
                                      "instantaneous value (C.7.0)",
                                      ch);
            if (def.kind != MS_REG_ENERGY && kind == MS_CH_DELTA)
                return ms_luacfg_fail(
                    c, key, "%s is an instantaneous value: kind = \"value\"", ch);
            if (def.rate > m->calendar.nrates)
                return ms_luacfg_fail(c, key, "%s: the calendar has %u rates", ch,
                                      m->calendar.nrates);
            p->ch_kind[k - 1] = (uint8_t)kind;
        }
        p->nch = (uint8_t)nc;
        ms_luacfg_pop(c);
        ms_luacfg_pop(c);
    }
    m->nprofiles = n;
    ms_luacfg_pop(c);
    return 0;
}

int ms_cfg_billing_logs(ms_luacfg_t *c, ms_model_t *m)
{
    static const char *const bkeys[] = { "day", "time", "capacity", NULL };
    static const char *const lkeys[] = { "standard", "power",      "clock",
                                         "config",   "disconnect", NULL };
    static const char *const responses[] = { "continue", "billing", "freeze", NULL };
    int rc, resp;
    int64_t v;
    m->billing_day = 1;
    m->billing_capacity = 15;
    if ((rc = ms_luacfg_push(c, "billing")) < 0)
        return rc;
    if (rc > 0) {
        char t[16];
        if ((rc = ms_luacfg_only(c, bkeys)) ||
            (rc = ms_luacfg_int(c, "day", &v, 1, 0, 28)))
            return rc;
        m->billing_day = (uint8_t)v;
        if ((rc = ms_luacfg_str(c, "time", t, sizeof t, "00:00")))
            return rc;
        int min = ms_parse_hhmm(t);
        if (min < 0)
            return ms_luacfg_fail(c, "time", "\"%s\" is not a time of day HH:MM", t);
        m->billing_time_min = (uint16_t)min;
        if ((rc = ms_luacfg_int(c, "capacity", &v, 15, 1, 1000)))
            return rc;
        m->billing_capacity = (uint32_t)v;
        ms_luacfg_pop(c);
    }
    static const uint32_t def_cap[] = { 100, 100, 50, 100, 50 };
    memcpy(m->log_capacity, def_cap, sizeof def_cap);
    if ((rc = ms_luacfg_push(c, "logs")) < 0)
        return rc;
    if (rc > 0) {
        if ((rc = ms_luacfg_only(c, lkeys)))
            return rc;
        for (size_t i = 0; i < sizeof m->log_capacity / sizeof m->log_capacity[0]; i++) {
            if ((rc = ms_luacfg_int(c, lkeys[i], &v, def_cap[i], 1, 100000)))
                return rc;
            m->log_capacity[i] = (uint32_t)v;
        }
        ms_luacfg_pop(c);
    }
    if ((rc = ms_luacfg_choice(c, "battery_response", responses, &resp, 0)))
        return rc;
    m->battery_response = (ms_battery_response_t)resp;
    if ((rc = ms_luacfg_int(c, "drift_ppm", &v, 0, -1000, 1000)))
        return rc;
    m->drift_ppm = (int32_t)v;
    /* breaker = { mode = 1, reconnect_wait_s = 0 }, limiter = { threshold_w, min_over_s }
     */
    static const char *const brk[] = { "mode", "reconnect_wait_s", NULL };
    static const char *const lim[] = { "threshold_w", "min_over_s", NULL };
    m->breaker_mode = 1;
    m->limiter_over_s = 60;
    if ((rc = ms_luacfg_push(c, "breaker")) < 0)
        return rc;
    if (rc > 0) {
        if ((rc = ms_luacfg_only(c, brk)) || (rc = ms_luacfg_int(c, "mode", &v, 1, 0, 6)))
            return rc;
        m->breaker_mode = (uint8_t)v;
        if ((rc = ms_luacfg_int(c, "reconnect_wait_s", &v, 0, 0, 86400)))
            return rc;
        m->reconnect_wait_s = (uint32_t)v;
        ms_luacfg_pop(c);
    }
    if ((rc = ms_luacfg_push(c, "limiter")) < 0)
        return rc;
    if (rc > 0) {
        if ((rc = ms_luacfg_only(c, lim)) ||
            (rc = ms_luacfg_scaled(c, "threshold_w", &m->limiter_mw, 0, 0, 1e7, 1000)) ||
            (rc = ms_luacfg_int(c, "min_over_s", &v, 60, 1, 86400)))
            return rc;
        m->limiter_over_s = (uint32_t)v;
        ms_luacfg_pop(c);
    }
    return 0;
}

int ms_calendar_from_json(const json_t *j, ms_calendar_t *cal, char *msg, size_t msgcap)
{
    ms_luacfg_t c;
    json_t *wrap = json_pack("{s:O}", "calendar", (json_t *)j);
    int rc = ms_luacfg_open_json(&c, wrap, msg, msgcap);
    json_decref(wrap);
    if (rc == 0)
        rc = ms_cfg_calendar(&c, cal);
    ms_luacfg_close(&c);
    return rc;
}
