/*
** view_cosem_cal.c — the tariff and billing schedule objects of the COSEM view:
** Activity calendar (20), Special days table (11), Script table (9), Register
** activation (6), Single action schedule (22).
** SPDX-License-Identifier: MIT
**
** Source: IEC 62056-6-2 / DLMS UA 1000-1 "Blue Book", the class descriptions "Activity
** calendar" (class_id 20, version 0), "Special days table" (11, 0), "Script table"
** (9, 0), "Register activation" (6, 0), "Single action schedule" (22, 0); the data
** formats of 4.1.6.1 (date, time, date-time with "not specified" fields); IEC 62056-6-1
** (OBIS) for the logical names: 0.0.13.0.0.255 activity calendar, 0.0.11.0.0.255
** special days table, 0.0.10.0.e.255 script tables (e = 1 end of billing period, 100
** tariffication, 106 disconnect control), 0.0.14.0.1.255 register activation,
** 0.0.15.0.0.255 single action schedule of the end of billing period.
** Choices where the standard leaves room are marked "choice:" and listed in
** docs/cosem.md, "Calendar and schedule objects".
**
** The meter's calendar (calendar.h) is the Activity calendar with the Special days table
** folded in, and refers to day profiles and week profiles by index. COSEM refers to them
** by day_id and week_profile_name: the conversions are here. Calendars are only ever
** changed through ms_meter_program_calendar(), which checks them first: a calendar it
** refuses changes nothing and is answered with other-reason.
**
** The Data-Access-Result and Action-Result codes used here have the same values
** (type-unmatched 12, temporary-failure 2, other-reason 250), so the parsing helpers'
** answers serve SET and ACTION alike.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "view_cosem_int.h"

#define BIT(n) (1u << (n))

static const ms_obis_t tariff_scripts_ln = { 0, 0, 10, 0, 100, 255 };
static const ms_obis_t billing_scripts_ln = { 0, 0, 10, 0, 1, 255 };
static const ms_obis_t tariff_data_ln = { 0, 0, 96, 14, 0, 255 };
static const ms_obis_t billing_profile_ln = { 0, 0, 98, 1, 0, 255 };
static const ms_obis_t disconnect_ln = { 0, 0, 96, 3, 10, 255 };

/* Script table action_specification service_id (Blue Book, class 9). */
enum { SERVICE_WRITE_ATTRIBUTE = 1, SERVICE_EXECUTE_METHOD = 2 };

/* ---- calendars as COSEM sees them -------------------------------------------------- */

/* A calendar in the references of the wire: weeks name their days by day_id (c.weeks[].
 * day[] hold day_ids, not indexes) and seasons their week by week_profile_name
 * (season_week[], parallel to c.seasons[], whose .week is unused). The special days are
 * not part of it (they are the Special days table's). The passive calendar a client
 * writes is kept in this form, so attributes 6..9 may come in any order; v->passive
 * points at .c, the first member, so ms_cosem_free()'s free(v->passive) releases it. */
typedef struct cal_wire {
    ms_calendar_t c;
    char season_week[MS_MAX_SEASONS][MS_NAME_MAX];
} cal_wire_t;

static void to_wire(const ms_calendar_t *c, cal_wire_t *out)
{
    out->c = *c;
    for (unsigned w = 0; w < c->nweeks; w++)
        for (unsigned d = 0; d < 7; d++) {
            unsigned k = c->weeks[w].day[d];
            out->c.weeks[w].day[d] = k < c->ndays ? c->days[k].day_id : 0;
        }
    for (unsigned s = 0; s < c->nseasons; s++) {
        unsigned k = c->seasons[s].week;
        memcpy(out->season_week[s], k < c->nweeks ? c->weeks[k].name : "", MS_NAME_MAX);
        out->season_week[s][MS_NAME_MAX - 1] = 0;
    }
}

static int day_index(const ms_calendar_t *c, unsigned day_id)
{
    for (unsigned i = 0; i < c->ndays; i++)
        if (c->days[i].day_id == day_id)
            return (int)i;
    return -1;
}

static int week_index(const ms_calendar_t *c, const char *name)
{
    for (unsigned i = 0; i < c->nweeks; i++)
        if (strcmp(c->weeks[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The special days of src in dst, by day_id: a special day whose day_id dst lacks is
 * left out (choice: it falls back to its season's week, as a table entry naming an
 * unknown day profile would). */
static void map_special(const ms_calendar_t *src, ms_calendar_t *dst)
{
    dst->nspecial = 0;
    for (unsigned i = 0; i < src->nspecial; i++) {
        const ms_special_day_t *s = &src->special[i];
        int k = s->day_profile < src->ndays
                    ? day_index(dst, src->days[s->day_profile].day_id)
                    : -1;
        if (k < 0)
            continue;
        dst->special[dst->nspecial] = *s;
        dst->special[dst->nspecial++].day_profile = (uint8_t)k;
    }
}

/* The meter's form of a wire calendar, with the special days of `special`.
 * @return 0, or -1 when a week names a day_id or a season a week that does not exist */
static int from_wire(const cal_wire_t *in, const ms_calendar_t *special,
                     ms_calendar_t *out, char *why, size_t cap)
{
    *out = in->c;
    for (unsigned w = 0; w < out->nweeks; w++)
        for (unsigned d = 0; d < 7; d++) {
            int k = day_index(out, in->c.weeks[w].day[d]);
            if (k < 0) {
                snprintf(why, cap, "week_profile_table[%u]: no day_id %u", w + 1,
                         in->c.weeks[w].day[d]);
                return -1;
            }
            out->weeks[w].day[d] = (uint8_t)k;
        }
    for (unsigned s = 0; s < out->nseasons; s++) {
        int k = week_index(out, in->season_week[s]);
        if (k < 0) {
            snprintf(why, cap, "season_profile[%u]: no week_profile_name \"%s\"", s + 1,
                     in->season_week[s]);
            return -1;
        }
        out->seasons[s].week = (uint8_t)k;
    }
    map_special(special, out);
    return 0;
}

/* The rate registers the view serves (1.0.1.8.e.255, e = 1..). */
static uint8_t view_rates(const ms_cosem_t *v)
{
    uint8_t n = 0;
    for (uint8_t e = 1; e <= MS_MAX_RATES; e++)
        if (cv_find(v, &MS_OBIS(1, 0, 1, 8, e, 255)))
            n = e;
    return n;
}

static void refused(ms_cosem_t *v, const dlms_who_t *who, const char *what)
{
    if (v->h.event) {
        char msg[160];
        snprintf(msg, sizeof msg, "calendar refused: %s", what);
        v->h.event(v->h.ud, who->client_sap, msg);
    }
}

/* Program a calendar into the meter (activation_rtc 0: active now). @return a
 * Data-Access-Result: other-reason when the meter refuses the calendar,
 * temporary-failure when it has no room for another one now (MS_EBUSY: too many
 * calendars kept for the profiles) */
static int program(ms_cosem_t *v, const dlms_who_t *who, const ms_calendar_t *cal,
                   int64_t activation_rtc)
{
    char field[128] = "";
    int rc = ms_meter_program_calendar(v->m, cal, activation_rtc, cv_who(v, who), field,
                                       sizeof field);
    if (rc == 0)
        return DLMS_DAR_SUCCESS;
    refused(v, who, field[0] ? field : ms_strerror(rc));
    return rc == MS_EINVAL ? DLMS_DAR_OTHER_REASON : DLMS_DAR_TEMPORARY_FAILURE;
}

/* ---- A-XDR of the calendar parts ----------------------------------------------------
 */

static void ax_name(ms_wr_t *w, const char *s)
{
    ax_octets(w, s, strlen(s));
}

/* A date (5 octets, Blue Book 4.1.6.1): year (0xFFFF: every year), month, day of month,
 * day_of_week not specified. */
static void ax_date(ms_wr_t *w, uint16_t year, uint8_t month, uint8_t day)
{
    const uint8_t b[DLMS_DATE_LEN] = { (uint8_t)(year >> 8), (uint8_t)year, month, day,
                                       DLMS_FIELD_NOT_SPECIFIED };
    ax_octets(w, b, sizeof b);
}

/* A time (4 octets): hour, minute, second 0, hundredths 0. */
static void ax_time(ms_wr_t *w, unsigned minutes)
{
    const uint8_t b[DLMS_TIME_LEN] = { (uint8_t)(minutes / 60), (uint8_t)(minutes % 60),
                                       0, 0 };
    ax_octets(w, b, sizeof b);
}

/* season_profile: array of structure { season_profile_name, season_start (date-time:
 * the date with year 0xFFFF for a yearly season, 00:00 local, deviation and status not
 * specified), week_name } */
static void ax_season_profile(ms_wr_t *w, const cal_wire_t *cw)
{
    const ms_calendar_t *c = &cw->c;
    ax_array(w, c->nseasons);
    for (unsigned s = 0; s < c->nseasons; s++) {
        const ms_season_t *x = &c->seasons[s];
        const dlms_datetime_t dt = { .year = x->year,
                                     .month = x->month,
                                     .day = x->day,
                                     .wday = DLMS_FIELD_NOT_SPECIFIED,
                                     .hour = 0,
                                     .minute = 0,
                                     .second = 0,
                                     .hundredths = DLMS_FIELD_NOT_SPECIFIED,
                                     .deviation = DLMS_DEVIATION_NOT_SPECIFIED,
                                     .status = DLMS_CLOCK_STATUS_NOT_SPECIFIED };
        uint8_t b[DLMS_DATE_TIME_LEN];
        dlms_datetime_pack(&dt, b);
        ax_struct(w, 3);
        ax_name(w, x->name);
        ax_octets(w, b, sizeof b);
        ax_name(w, cw->season_week[s]);
    }
}

/* week_profile_table: array of structure { week_profile_name, monday .. sunday (day_id) }
 */
static void ax_week_profile_table(ms_wr_t *w, const cal_wire_t *cw)
{
    const ms_calendar_t *c = &cw->c;
    ax_array(w, c->nweeks);
    for (unsigned k = 0; k < c->nweeks; k++) {
        ax_struct(w, 8);
        ax_name(w, c->weeks[k].name);
        for (unsigned d = 0; d < 7; d++)
            ax_uint(w, DLMS_UNSIGNED, c->weeks[k].day[d]);
    }
}

/* day_profile_table: array of structure { day_id, day_schedule: array of structure
 * { start_time, script_logical_name (the tariffication script table), script_selector
 * (the rate) } }. choice: the load-control relays of an action are not shown. */
static void ax_day_profile_table(ms_wr_t *w, const cal_wire_t *cw)
{
    const ms_calendar_t *c = &cw->c;
    ax_array(w, c->ndays);
    for (unsigned k = 0; k < c->ndays && !w->err; k++) {
        const ms_day_profile_t *p = &c->days[k];
        ax_struct(w, 2);
        ax_uint(w, DLMS_UNSIGNED, p->day_id);
        ax_array(w, p->nactions);
        for (unsigned i = 0; i < p->nactions; i++) {
            ax_struct(w, 3);
            ax_time(w, p->actions[i].start_min);
            ax_obis(w, &tariff_scripts_ln);
            ax_uint(w, DLMS_LONG_UNSIGNED, p->actions[i].rate);
        }
    }
}

/* ---- reading values a client writes --------------------------------------------------
 */

static bool is_struct(const dlms_data_t *d, uint32_t n)
{
    return d && d->type == DLMS_STRUCTURE && d->n == n;
}

/* An unsigned integer of exactly type t. @return 0 or type-unmatched */
static int get_uint(const dlms_data_t *d, dlms_data_type_t t, uint64_t *out)
{
    if (!d || d->type != t)
        return DLMS_DAR_TYPE_UNMATCHED;
    *out = d->v.u;
    return 0;
}

/* An octet-string of n octets, or the fixed-size type `alt` (date-time, date, time) of
 * that size. @return the octets, or NULL */
static const uint8_t *get_fixed(const dlms_data_t *d, uint32_t n, dlms_data_type_t alt)
{
    if (d->type == DLMS_OCTET_STRING && d->n == n)
        return d->v.bytes;
    if (d->type == alt)
        return d->v.raw;
    return NULL;
}

/* A name (octet-string): type-unmatched when it is not one, other-reason when the meter
 * cannot keep it (MS_NAME_MAX - 1 octets at most, no NUL). */
static int get_name(const dlms_data_t *d, char out[MS_NAME_MAX])
{
    if (d->type != DLMS_OCTET_STRING)
        return DLMS_DAR_TYPE_UNMATCHED;
    if (d->n >= MS_NAME_MAX || (d->n && memchr(d->v.bytes, 0, d->n)))
        return DLMS_DAR_OTHER_REASON;
    memset(out, 0, MS_NAME_MAX);
    if (d->n)
        memcpy(out, d->v.bytes, d->n);
    return 0;
}

/* A date of the calendar (season start, special day): year or 0xFFFF (every year), a
 * month 1..12 and a day of month 1..31 (choice: no wildcards, DST or last-day markers
 * there); day of week ignored. */
static int get_date(const uint8_t *b, uint16_t *year, uint8_t *month, uint8_t *day)
{
    *year = (uint16_t)(b[0] << 8 | b[1]);
    *month = b[2];
    *day = b[3];
    if (*month < 1 || *month > 12 || *day < 1 || *day > 31)
        return DLMS_DAR_OTHER_REASON;
    return 0;
}

/* 0 or "not specified": the only values of a time part the calendar can keep. */
static bool zero_or_any(uint8_t x)
{
    return x == 0 || x == DLMS_FIELD_NOT_SPECIFIED;
}

/* Check parts of a calendar that do not depend on the others (a week or season written
 * before the day profiles it names): ms_calendar_check on a calendar made of `c`'s days
 * or seasons and a stand-in for the rest. */
static int check_part(ms_cosem_t *v, const dlms_who_t *who, const ms_calendar_t *c,
                      bool days)
{
    ms_calendar_t *t = calloc(1, sizeof *t);
    if (!t)
        return DLMS_DAR_TEMPORARY_FAILURE;
    t->nrates = c->nrates;
    if (days) {
        t->ndays = c->ndays;
        memcpy(t->days, c->days, sizeof t->days);
    } else {
        t->ndays = 1;
        t->days[0] =
            (ms_day_profile_t){ .day_id = 1, .nactions = 1, .actions = { { 0, 1, 0 } } };
    }
    t->nweeks = 1;
    if (days) {
        t->nseasons = 1;
        t->seasons[0] = (ms_season_t){ .year = MS_EVERY_YEAR, .month = 1, .day = 1 };
    } else {
        t->nseasons = c->nseasons;
        memcpy(t->seasons, c->seasons, sizeof t->seasons);
        for (unsigned s = 0; s < t->nseasons; s++)
            t->seasons[s].week = 0;
    }
    char field[128];
    int rc = ms_calendar_check(t, field, sizeof field);
    free(t);
    if (rc) {
        refused(v, who, field);
        return DLMS_DAR_OTHER_REASON;
    }
    return 0;
}

/* season_profile_passive (attribute 7) into cw. */
static int set_season_profile(ms_cosem_t *v, const dlms_who_t *who, cal_wire_t *cw,
                              const dlms_data_t *val)
{
    if (val->type != DLMS_ARRAY)
        return DLMS_DAR_TYPE_UNMATCHED;
    if (val->n > MS_MAX_SEASONS)
        return DLMS_DAR_OTHER_REASON;
    ms_calendar_t *c = &cw->c;
    for (uint32_t s = 0; s < val->n; s++) {
        const dlms_data_t *e = &val->v.items[s];
        if (!is_struct(e, 3))
            return DLMS_DAR_TYPE_UNMATCHED;
        ms_season_t *x = &c->seasons[s];
        const uint8_t *b = get_fixed(&e->v.items[1], DLMS_DATE_TIME_LEN, DLMS_DATE_TIME);
        int dar;
        if (!b)
            return DLMS_DAR_TYPE_UNMATCHED;
        if ((dar = get_name(&e->v.items[0], x->name)) ||
            (dar = get_name(&e->v.items[2], cw->season_week[s])) ||
            (dar = get_date(b, &x->year, &x->month, &x->day)))
            return dar;
        /* choice: a season starts at 00:00 local time */
        if (!zero_or_any(b[5]) || !zero_or_any(b[6]) || !zero_or_any(b[7]) ||
            !zero_or_any(b[8]))
            return DLMS_DAR_OTHER_REASON;
        x->week = 0;
    }
    c->nseasons = (uint16_t)val->n;
    return check_part(v, who, c, false);
}

/* week_profile_table_passive (attribute 8) into cw. */
static int set_week_profile_table(cal_wire_t *cw, const dlms_data_t *val)
{
    if (val->type != DLMS_ARRAY)
        return DLMS_DAR_TYPE_UNMATCHED;
    if (val->n > MS_MAX_WEEKS)
        return DLMS_DAR_OTHER_REASON;
    ms_calendar_t *c = &cw->c;
    for (uint32_t k = 0; k < val->n; k++) {
        const dlms_data_t *e = &val->v.items[k];
        if (!is_struct(e, 8))
            return DLMS_DAR_TYPE_UNMATCHED;
        int dar = get_name(&e->v.items[0], c->weeks[k].name);
        if (dar)
            return dar;
        for (unsigned d = 0; d < 7; d++) {
            uint64_t id;
            if ((dar = get_uint(&e->v.items[1 + d], DLMS_UNSIGNED, &id)))
                return dar;
            c->weeks[k].day[d] = (uint8_t)id;
        }
        for (uint32_t j = 0; j < k; j++) /* seasons name weeks: names must differ */
            if (strcmp(c->weeks[j].name, c->weeks[k].name) == 0)
                return DLMS_DAR_OTHER_REASON;
    }
    c->nweeks = (uint8_t)val->n;
    return 0;
}

/* day_profile_table_passive (attribute 9) into cw. The day_schedule may come in any
 * order (it is sorted by start_time); every action must name the tariffication script
 * table, its script_selector is the rate. choice: relays 0. */
static int set_day_profile_table(ms_cosem_t *v, const dlms_who_t *who, cal_wire_t *cw,
                                 const dlms_data_t *val)
{
    if (val->type != DLMS_ARRAY)
        return DLMS_DAR_TYPE_UNMATCHED;
    if (val->n > MS_MAX_DAY_PROFILES)
        return DLMS_DAR_OTHER_REASON;
    ms_calendar_t *c = &cw->c;
    for (uint32_t k = 0; k < val->n; k++) {
        const dlms_data_t *e = &val->v.items[k];
        ms_day_profile_t *p = &c->days[k];
        uint64_t id;
        int dar;
        if (!is_struct(e, 2) || e->v.items[1].type != DLMS_ARRAY)
            return DLMS_DAR_TYPE_UNMATCHED;
        if ((dar = get_uint(&e->v.items[0], DLMS_UNSIGNED, &id)))
            return dar;
        const dlms_data_t *sched = &e->v.items[1];
        if (sched->n > MS_MAX_DAY_ACTIONS)
            return DLMS_DAR_OTHER_REASON;
        memset(p, 0, sizeof *p);
        p->day_id = (uint8_t)id;
        for (uint32_t i = 0; i < sched->n; i++) {
            const dlms_data_t *a = &sched->v.items[i];
            uint64_t sel;
            if (!is_struct(a, 3))
                return DLMS_DAR_TYPE_UNMATCHED;
            const uint8_t *t = get_fixed(&a->v.items[0], DLMS_TIME_LEN, DLMS_TIME);
            const dlms_data_t *ln = &a->v.items[1];
            if (!t || ln->type != DLMS_OCTET_STRING || ln->n != 6)
                return DLMS_DAR_TYPE_UNMATCHED;
            if ((dar = get_uint(&a->v.items[2], DLMS_LONG_UNSIGNED, &sel)))
                return dar;
            if (memcmp(ln->v.bytes, &tariff_scripts_ln, 6) != 0 || sel > 255 ||
                t[0] > 23 || t[1] > 59 || !zero_or_any(t[2]) || !zero_or_any(t[3]))
                return DLMS_DAR_OTHER_REASON;
            ms_day_action_t act = { (uint16_t)(t[0] * 60 + t[1]), (uint8_t)sel, 0 };
            uint32_t j = i; /* insertion by start_time */
            while (j > 0 && p->actions[j - 1].start_min > act.start_min) {
                p->actions[j] = p->actions[j - 1];
                j--;
            }
            p->actions[j] = act;
        }
        p->nactions = (uint8_t)sched->n;
        for (uint32_t j = 0; j < k; j++)
            if (c->days[j].day_id == p->day_id)
                return DLMS_DAR_OTHER_REASON;
    }
    c->ndays = (uint8_t)val->n;
    return check_part(v, who, c, true);
}

/* ---- Activity calendar (class_id 20, version 0) ------------------------------------ */

/* The passive calendar a write starts from: the one being written, else the meter's
 * passive calendar, else a copy of the active one. NULL: out of memory. */
static cal_wire_t *passive_for_write(ms_cosem_t *v)
{
    if (!v->passive) {
        cal_wire_t *cw = calloc(1, sizeof *cw);
        if (!cw)
            return NULL;
        v->passive = &cw->c;
        v->passive_dirty = false;
    }
    cal_wire_t *cw = (cal_wire_t *)v->passive;
    if (!v->passive_dirty) {
        const ms_calendar_t *base = v->m->passive ? v->m->passive : v->m->cal;
        to_wire(base, cw);
        uint8_t nr = view_rates(v);
        if (cw->c.nrates < nr) /* rates: as many as the view has rate registers */
            cw->c.nrates = nr;
    }
    return cw;
}

static int calendar_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                        const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_meter_t *m = v->m;
    if (attr == 1) {
        ax_obis(w, &o->ln);
        return 0;
    }
    if (attr == 10) { /* activate_passive_calendar_time: all "not specified" when none */
        cv_datetime(v, m->passive ? m->passive_activation_rtc : 0, 0, w);
        return 0;
    }
    cal_wire_t *tmp = NULL;
    const cal_wire_t *cw = NULL;
    if (attr >= 6 && v->passive && v->passive_dirty) {
        cw = (const cal_wire_t *)v->passive;
    } else {
        const ms_calendar_t *c = attr <= 5 ? m->cal : m->passive;
        if (c) {
            if (!(tmp = malloc(sizeof *tmp)))
                return DLMS_DAR_TEMPORARY_FAILURE;
            to_wire(c, tmp);
            cw = tmp;
        }
    }
    /* choice: without a passive calendar, attributes 6..9 are empty */
    switch ((attr - 2) % 4) {
    case 0: /* calendar_name */
        ax_name(w, cw ? cw->c.name : "");
        break;
    case 1:
        if (cw)
            ax_season_profile(w, cw);
        else
            ax_array(w, 0);
        break;
    case 2:
        if (cw)
            ax_week_profile_table(w, cw);
        else
            ax_array(w, 0);
        break;
    default:
        if (cw)
            ax_day_profile_table(w, cw);
        else
            ax_array(w, 0);
        break;
    }
    free(tmp);
    return 0;
}

/* Program the passive calendar (in wire form) with an activation time (0: active now).
 * The special days are the Special days table's (those of the active calendar). */
static int program_passive(ms_cosem_t *v, const dlms_who_t *who, const cal_wire_t *cw,
                           int64_t activation_rtc)
{
    ms_calendar_t *cal = malloc(sizeof *cal);
    if (!cal)
        return DLMS_DAR_TEMPORARY_FAILURE;
    char why[128];
    int dar;
    if (from_wire(cw, v->m->cal, cal, why, sizeof why)) {
        refused(v, who, why);
        dar = DLMS_DAR_OTHER_REASON;
    } else {
        dar = program(v, who, cal, activation_rtc);
    }
    free(cal);
    if (dar == 0) {
        v->passive_dirty = false;
        cv_commit(v);
    }
    return dar;
}

/* activate_passive_calendar_time (attribute 10): a complete date-time programs the
 * passive calendar with that activation time. */
static int set_activation_time(ms_cosem_t *v, const dlms_who_t *who,
                               const dlms_data_t *val)
{
    const uint8_t *b = get_fixed(val, DLMS_DATE_TIME_LEN, DLMS_DATE_TIME);
    if (!b)
        return DLMS_DAR_TYPE_UNMATCHED;
    static const uint8_t none[9] = {
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
    };
    if (memcmp(b, none, sizeof none) == 0) {
        /* Blue Book: all fields not specified switch the activation off. choice: the
         * meter cannot withdraw a passive calendar it holds; without one, nothing to
         * do. */
        return v->m->passive ? DLMS_DAR_OTHER_REASON : DLMS_DAR_SUCCESS;
    }
    int64_t rtc;
    /* choice: no periodic activation (a date-time with wildcards) */
    if (cv_time_of(v, val, &rtc) || rtc <= 0)
        return DLMS_DAR_OTHER_REASON;
    cal_wire_t *cw = passive_for_write(v);
    if (!cw)
        return DLMS_DAR_TEMPORARY_FAILURE;
    return program_passive(v, who, cw, rtc);
}

static int calendar_set(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                        const dlms_data_t *val)
{
    if (attr == 10)
        return set_activation_time(v, who, val);
    cal_wire_t *cw = passive_for_write(v);
    cal_wire_t *t = cw ? malloc(sizeof *t) : NULL;
    if (!t)
        return DLMS_DAR_TEMPORARY_FAILURE;
    *t = *cw; /* written into a copy: a refused value changes nothing */
    int dar;
    switch (attr) {
    case 6: /* calendar_name_passive */
        dar = get_name(val, t->c.name);
        break;
    case 7:
        dar = set_season_profile(v, who, t, val);
        break;
    case 8:
        dar = set_week_profile_table(t, val);
        break;
    default: /* 9 */
        dar = set_day_profile_table(v, who, t, val);
        break;
    }
    if (dar == 0) {
        *cw = *t;
        v->passive_dirty = true;
    }
    free(t);
    return dar;
}

/* Method 1 activate_passive_calendar (data: integer 0): the passive calendar becomes
 * the active one now. choice: programmed as the passive calendar with the activation
 * time "now", so the meter activates it at once as it would at its time (event "TOU
 * activated") and holds no passive calendar after it. */
static int calendar_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                           int method, const dlms_data_t *params, ms_wr_t *ret,
                           bool *has_ret)
{
    if (params && params->type != DLMS_INTEGER)
        return DLMS_ACTION_TYPE_UNMATCHED;
    const cal_wire_t *cw = NULL;
    cal_wire_t *tmp = NULL;
    if (v->passive && v->passive_dirty) {
        cw = (const cal_wire_t *)v->passive;
    } else if (v->m->passive) {
        if (!(tmp = malloc(sizeof *tmp)))
            return DLMS_ACTION_TEMPORARY_FAILURE;
        to_wire(v->m->passive, tmp);
        cw = tmp;
    } else {
        return DLMS_ACTION_OTHER_REASON; /* no passive calendar */
    }
    int rc = program_passive(v, who, cw, ms_meter_rtc_ms(v->m));
    free(tmp);
    return rc;
}

static const cv_ops_t calendar_ops = { calendar_get, calendar_set, calendar_action };
const cv_class_t cv_activity_calendar = { .class_id = 20,
                                          .version = 0,
                                          .nattr = 10,
                                          .nmeth = 1,
                                          .write_mask =
                                              BIT(6) | BIT(7) | BIT(8) | BIT(9) | BIT(10),
                                          .meth_mask = BIT(1),
                                          .ops = &calendar_ops };

/* ---- Special days table (class_id 11, version 0) ----------------------------------- */

/* A spec_day_entry as the client sends it. */
typedef struct sd_entry {
    uint16_t index;
    uint16_t year;
    uint8_t month, day;
    uint8_t day_id;
} sd_entry_t;

/* spec_day_entry: structure { index long-unsigned, specialday_date octet-string(5),
 * day_id unsigned } */
static int get_sd_entry(const dlms_data_t *d, sd_entry_t *e)
{
    uint64_t index, id;
    int dar;
    if (!is_struct(d, 3))
        return DLMS_DAR_TYPE_UNMATCHED;
    const uint8_t *b = get_fixed(&d->v.items[1], DLMS_DATE_LEN, DLMS_DATE);
    if (!b)
        return DLMS_DAR_TYPE_UNMATCHED;
    if ((dar = get_uint(&d->v.items[0], DLMS_LONG_UNSIGNED, &index)) ||
        (dar = get_uint(&d->v.items[2], DLMS_UNSIGNED, &id)) ||
        (dar = get_date(b, &e->year, &e->month, &e->day)))
        return dar;
    e->index = (uint16_t)index;
    e->day_id = (uint8_t)id;
    return 0;
}

/* The special days of the active calendar as entries (index: position + 1). */
static size_t sd_entries(const ms_calendar_t *c, sd_entry_t *out)
{
    for (unsigned i = 0; i < c->nspecial; i++) {
        const ms_special_day_t *s = &c->special[i];
        out[i] = (sd_entry_t){ (uint16_t)(i + 1), s->year, s->month, s->day,
                               s->day_profile < c->ndays ? c->days[s->day_profile].day_id
                                                         : 0 };
    }
    return c->nspecial;
}

/* Program the active calendar with these special days (and a pending passive calendar
 * with them too, by day_id: the Special days table is one for both). */
static int sd_apply(ms_cosem_t *v, const dlms_who_t *who, const sd_entry_t *e, size_t n)
{
    ms_meter_t *m = v->m;
    ms_calendar_t *act = malloc(sizeof *act);
    ms_calendar_t *pas = m->passive ? malloc(sizeof *pas) : NULL;
    int dar = DLMS_DAR_TEMPORARY_FAILURE;
    if (!act || (m->passive && !pas))
        goto done;
    *act = *m->cal;
    dar = DLMS_DAR_OTHER_REASON;
    if (n > MS_MAX_SPECIAL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        int k = day_index(act, e[i].day_id);
        if (k < 0) {
            refused(v, who, "special day: no such day_id");
            goto done;
        }
        act->special[i] =
            (ms_special_day_t){ e[i].year, e[i].month, e[i].day, (uint8_t)k };
    }
    act->nspecial = (uint16_t)n;
    char field[128];
    if (ms_calendar_check(act, field, sizeof field)) {
        refused(v, who, field);
        goto done;
    }
    if (pas) {
        *pas = *m->passive;
        map_special(act, pas);
        if (ms_calendar_check(pas, field, sizeof field)) {
            refused(v, who, field);
            goto done;
        }
    }
    int64_t pas_rtc = m->passive_activation_rtc;
    if ((dar = program(v, who, act, 0)) == 0 && pas)
        dar = program(v, who, pas, pas_rtc);
    if (dar == 0)
        cv_commit(v);
done:
    free(act);
    free(pas);
    return dar;
}

static int special_days_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                            int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_calendar_t *c = v->m->cal;
    if (attr == 1) {
        ax_obis(w, &o->ln);
        return 0;
    }
    /* entries: choice: index = the position in the table, which is sorted (the yearly
     * dates by month and day, then the dated ones) */
    ax_array(w, c->nspecial);
    for (unsigned i = 0; i < c->nspecial && !w->err; i++) {
        const ms_special_day_t *s = &c->special[i];
        ax_struct(w, 3);
        ax_uint(w, DLMS_LONG_UNSIGNED, i + 1);
        ax_date(w, s->year, s->month, s->day);
        ax_uint(w, DLMS_UNSIGNED,
                s->day_profile < c->ndays ? c->days[s->day_profile].day_id : 0);
    }
    return 0;
}

/* entries (attribute 2) written: the whole table replaced (the indexes are ignored). */
static int special_days_set(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                            int attr, const dlms_data_t *val)
{
    if (val->type != DLMS_ARRAY)
        return DLMS_DAR_TYPE_UNMATCHED;
    if (val->n > MS_MAX_SPECIAL)
        return DLMS_DAR_OTHER_REASON;
    sd_entry_t *e = malloc((val->n ? val->n : 1) * sizeof *e);
    if (!e)
        return DLMS_DAR_TEMPORARY_FAILURE;
    int dar = 0;
    for (uint32_t i = 0; i < val->n && !dar; i++)
        dar = get_sd_entry(&val->v.items[i], &e[i]);
    if (!dar)
        dar = sd_apply(v, who, e, val->n);
    free(e);
    return dar;
}

/* Methods 1 insert (spec_day_entry): an entry with the same index or the same date is
 * overwritten (Blue Book), else the entry is added; 2 delete (long-unsigned index). */
static int special_days_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                               int method, const dlms_data_t *params, ms_wr_t *ret,
                               bool *has_ret)
{
    if (!params)
        return DLMS_ACTION_TYPE_UNMATCHED;
    sd_entry_t *e = malloc((MS_MAX_SPECIAL + 1) * sizeof *e);
    if (!e)
        return DLMS_ACTION_TEMPORARY_FAILURE;
    size_t n = sd_entries(v->m->cal, e), k = 0;
    int dar;
    if (method == 1) {
        sd_entry_t x;
        if ((dar = get_sd_entry(params, &x)))
            goto done;
        for (size_t i = 0; i < n; i++) { /* drop the entries it overwrites */
            bool same_date =
                e[i].year == x.year && e[i].month == x.month && e[i].day == x.day;
            if (e[i].index != x.index && !same_date)
                e[k++] = e[i];
        }
        e[k++] = x;
    } else {
        uint64_t index;
        if ((dar = get_uint(params, DLMS_LONG_UNSIGNED, &index)))
            goto done;
        if (index < 1 || index > n) { /* choice: no such entry is other-reason */
            dar = DLMS_ACTION_OTHER_REASON;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            if (e[i].index != index)
                e[k++] = e[i];
    }
    dar = sd_apply(v, who, e, k);
done:
    free(e);
    return dar;
}

static const cv_ops_t special_days_ops = { special_days_get, special_days_set,
                                           special_days_action };
const cv_class_t cv_special_days = { .class_id = 11,
                                     .version = 0,
                                     .nattr = 2,
                                     .nmeth = 2,
                                     .write_mask = BIT(2),
                                     .meth_mask = BIT(1) | BIT(2),
                                     .ops = &special_days_ops };

/* ---- Script table (class_id 9, version 0) ------------------------------------------ */

/* One action_specification: structure { service_id, class_id, logical_name, index,
 * parameter }. */
static void ax_action_spec(ms_wr_t *w, unsigned service, uint16_t class_id,
                           const ms_obis_t *ln, int index)
{
    ax_struct(w, 5);
    ax_uint(w, DLMS_ENUM, service);
    ax_uint(w, DLMS_LONG_UNSIGNED, class_id);
    ax_obis(w, ln);
    ax_int(w, DLMS_INTEGER, index);
}

/* The scripts of an instance: identifier 1..n. */
static unsigned script_count(const ms_cosem_t *v, const cv_obj_t *o)
{
    switch (o->arg) {
    case CV_SCRIPTS_TARIFF:
        return v->m->cal->nrates;
    case CV_SCRIPTS_BILLING:
        return 1;
    default:
        return 2;
    }
}

static int script_table_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                            int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    if (attr == 1) {
        ax_obis(w, &o->ln);
        return 0;
    }
    /* scripts: array of structure { script_identifier, actions } */
    unsigned n = script_count(v, o);
    ax_array(w, n);
    for (unsigned s = 1; s <= n; s++) {
        ax_struct(w, 2);
        ax_uint(w, DLMS_LONG_UNSIGNED, s);
        ax_array(w, 1);
        switch (o->arg) {
        case CV_SCRIPTS_TARIFF: /* write the rate to "currently active tariff" */
            ax_action_spec(w, SERVICE_WRITE_ATTRIBUTE, 1, &tariff_data_ln, 2);
            ax_uint(w, DLMS_UNSIGNED, s);
            break;
        case CV_SCRIPTS_BILLING: /* capture of the billing profile */
            ax_action_spec(w, SERVICE_EXECUTE_METHOD, 7, &billing_profile_ln, 2);
            ax_int(w, DLMS_INTEGER, 0);
            break;
        default: /* remote_disconnect (1), remote_reconnect (2) */
            ax_action_spec(w, SERVICE_EXECUTE_METHOD, 70, &disconnect_ln, (int)s);
            ax_int(w, DLMS_INTEGER, 0);
            break;
        }
    }
    return 0;
}

/* Method 1 execute (data: long-unsigned script_identifier). Blue Book: script 0 is the
 * null script (nothing done). choice: an identifier the table lacks is other-reason. */
static int script_table_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                               int method, const dlms_data_t *params, ms_wr_t *ret,
                               bool *has_ret)
{
    uint64_t id;
    if (!params || get_uint(params, DLMS_LONG_UNSIGNED, &id))
        return DLMS_ACTION_TYPE_UNMATCHED;
    if (id == 0)
        return DLMS_ACTION_SUCCESS;
    if (id > script_count(v, o))
        return DLMS_ACTION_OTHER_REASON;
    ms_meter_t *m = v->m;
    int rc = 0;
    switch (o->arg) {
    case CV_SCRIPTS_TARIFF: /* the rate holds until the next scheduled switch */
        rc = ms_meter_override_rate(m, (int)id, cv_who(v, who));
        break;
    case CV_SCRIPTS_BILLING:
        ms_meter_billing_reset(m, cv_who(v, who));
        break;
    default:
        rc = ms_meter_breaker(
            m, id == 1 ? MS_BREAKER_REMOTE_DISCONNECT : MS_BREAKER_REMOTE_RECONNECT,
            cv_who(v, who));
        break;
    }
    if (rc == MS_EBUSY) /* the reconnect wait is not over */
        return DLMS_ACTION_TEMPORARY_FAILURE;
    if (rc) /* MS_ESTATE: the transition does not exist now; MS_ERANGE */
        return DLMS_ACTION_OTHER_REASON;
    cv_commit(v);
    return DLMS_ACTION_SUCCESS;
}

static const cv_ops_t script_table_ops = { script_table_get, NULL, script_table_action };
/* choice: the scripts are the meter's own (attribute 2 read-only) */
const cv_class_t cv_script_table = { .class_id = 9,
                                     .version = 0,
                                     .nattr = 2,
                                     .nmeth = 1,
                                     .meth_mask = BIT(1),
                                     .ops = &script_table_ops };

/* ---- Register activation (class_id 6, version 0) ----------------------------------- */

/* register_assignment: the energy registers 1.0.c.8.e.255 (c = 1..4: A+, A-, R+, R-) of
 * the rates e = 1..n, rate by rate: the register (e, c) is at 4 (e - 1) + c. Each rate
 * has a mask (choice: mask_name = the rate number as one octet, the value the
 * tariffication script writes to 0.0.96.14.0.255) activating its four registers. */
static int register_activation_get(ms_cosem_t *v, const cv_obj_t *o,
                                   const dlms_who_t *who, int attr,
                                   const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const unsigned nr = view_rates(v);
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* register_assignment: array of object_definition { class_id, logical_name }
             */
        ax_array(w, 4 * nr);
        for (unsigned e = 1; e <= nr; e++)
            for (unsigned c = 1; c <= 4; c++) {
                const ms_obis_t ln = MS_OBIS(1, 0, (uint8_t)c, 8, (uint8_t)e, 255);
                ax_struct(w, 2);
                ax_uint(w, DLMS_LONG_UNSIGNED, 3);
                ax_obis(w, &ln);
            }
        break;
    case 3: /* mask_list: array of register_act_mask { mask_name, index_list } */
        ax_array(w, nr);
        for (unsigned e = 1; e <= nr; e++) {
            const uint8_t name = (uint8_t)e;
            ax_struct(w, 2);
            ax_octets(w, &name, 1);
            ax_array(w, 4);
            for (unsigned c = 1; c <= 4; c++)
                ax_uint(w, DLMS_UNSIGNED, 4 * (e - 1) + c);
        }
        break;
    default: { /* active_mask: the rate in force */
        const uint8_t name = ms_regs_rate(&v->m->regs);
        ax_octets(w, &name, 1);
        break;
    }
    }
    return 0;
}

static const cv_ops_t register_activation_ops = { register_activation_get, NULL, NULL };
/* Methods 1 add_register, 2 add_mask, 3 delete_mask: not offered (the registers and
 * masks follow the meter's rates). */
const cv_class_t cv_register_activation = {
    .class_id = 6, .version = 0, .nattr = 4, .nmeth = 3, .ops = &register_activation_ops
};

/* ---- Single action schedule (class_id 22, version 0) ------------------------------- */

/* The end of billing period schedule of the model (billing day and time; read-only). */
static int single_action_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                             int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_model_t *md = v->md;
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* executed_script: structure { script_logical_name, script_selector } */
        ax_struct(w, 2);
        ax_obis(w, &billing_scripts_ln);
        ax_uint(w, DLMS_LONG_UNSIGNED, 1);
        break;
    case 3: /* type 1: one execution_time, wildcards in the date allowed */
        ax_uint(w, DLMS_ENUM, 1);
        break;
    default: /* execution_time: array of structure { time, date }: every month on
                billing_day at billing_time; none when the model has no schedule */
        ax_array(w, md->billing_day ? 1 : 0);
        if (md->billing_day) {
            ax_struct(w, 2);
            ax_time(w, md->billing_time_min);
            ax_date(w, MS_EVERY_YEAR, DLMS_FIELD_NOT_SPECIFIED, md->billing_day);
        }
        break;
    }
    return 0;
}

static const cv_ops_t single_action_ops = { single_action_get, NULL, NULL };
const cv_class_t cv_single_action = {
    .class_id = 22, .version = 0, .nattr = 4, .ops = &single_action_ops
};

/* ---- the objects ------------------------------------------------------------------ */

int cv_add_calendar_objects(ms_cosem_t *v)
{
    int rc = 0;
    rc |= cv_add(v, &cv_activity_calendar, MS_OBIS(0, 0, 13, 0, 0, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cv_special_days, MS_OBIS(0, 0, 11, 0, 0, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cv_script_table, MS_OBIS(0, 0, 10, 0, 100, 255), MS_DLMS_READ,
                 CV_SCRIPTS_TARIFF);
    rc |= cv_add(v, &cv_script_table, MS_OBIS(0, 0, 10, 0, 1, 255), MS_DLMS_READ,
                 CV_SCRIPTS_BILLING);
    rc |= cv_add(v, &cv_script_table, MS_OBIS(0, 0, 10, 0, 106, 255), MS_DLMS_READ,
                 CV_SCRIPTS_DISCONNECT);
    rc |=
        cv_add(v, &cv_register_activation, MS_OBIS(0, 0, 14, 0, 1, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cv_single_action, MS_OBIS(0, 0, 15, 0, 0, 255), MS_DLMS_READ, 0);
    return rc ? MS_ENOMEM : 0;
}
