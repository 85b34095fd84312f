/*
** test_view_cosem_cal.c — the tariff and billing schedule objects of the COSEM view
** (view_cosem_cal.c) through the dlms_server_ops_t callbacks: the Activity calendar
** against the model's calendar, a passive calendar written, activated at its time and
** by the method, refused calendars, the Special days table (insert, delete, write), the
** script tables, Register activation and the Single action schedule of the end of
** billing, and the rights of each client.
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "load.h"
#include "meter.h"
#include "model.h"
#include "ms_err.h"
#include "ms_time.h"
#include "view_cosem.h"
#include "view_cosem_int.h" /* ax_* to write the values a client sends */

#include "cosem_fixture.h"

static const ms_obis_t CAL = { 0, 0, 13, 0, 0, 255 };
static const ms_obis_t SPECIAL = { 0, 0, 11, 0, 0, 255 };
static const ms_obis_t TARIFF_SCRIPTS = { 0, 0, 10, 0, 100, 255 };
static const ms_obis_t BILLING_SCRIPTS = { 0, 0, 10, 0, 1, 255 };
static const ms_obis_t DISCONNECT_SCRIPTS = { 0, 0, 10, 0, 106, 255 };
static const ms_obis_t REG_ACT = { 0, 0, 14, 0, 1, 255 };
static const ms_obis_t BILLING_SCHEDULE = { 0, 0, 15, 0, 0, 255 };

static void assert_octets(const dlms_data_t *d, const void *p, size_t n)
{
    assert_int_equal(d->type, DLMS_OCTET_STRING);
    assert_int_equal(d->n, n);
    if (n)
        assert_memory_equal(d->v.bytes, p, n);
}

static void assert_name(const dlms_data_t *d, const char *s)
{
    assert_octets(d, s, strlen(s));
}

static void assert_uint(const dlms_data_t *d, dlms_data_type_t t, uint64_t v)
{
    assert_int_equal(d->type, t);
    assert_int_equal(d->v.u, v);
}

static const dlms_data_t *item(const dlms_data_t *d, dlms_data_type_t t, uint32_t n,
                               uint32_t i)
{
    assert_int_equal(d->type, t);
    assert_int_equal(d->n, n);
    return &d->v.items[i];
}

/* ---- writing calendar parts ---------------------------------------------------------
 */

static void ax_name(ms_wr_t *w, const char *s)
{
    ax_octets(w, s, strlen(s));
}

/* season_start: a date-time with only the date (year 0xFFFF: every year) */
static void ax_season_start(ms_wr_t *w, uint16_t year, uint8_t month, uint8_t day,
                            uint8_t hour)
{
    dlms_datetime_t dt = {
        year, month, day, 0xFF, hour, 0, 0, 0xFF, DLMS_DEVIATION_NOT_SPECIFIED, 0xFF
    };
    uint8_t b[12];
    dlms_datetime_pack(&dt, b);
    ax_octets(w, b, sizeof b);
}

static void ax_hhmm(ms_wr_t *w, uint8_t h, uint8_t m)
{
    const uint8_t b[4] = { h, m, 0, 0 };
    ax_octets(w, b, 4);
}

static void ax_date5(ms_wr_t *w, uint16_t year, uint8_t month, uint8_t day)
{
    const uint8_t b[5] = { (uint8_t)(year >> 8), (uint8_t)year, month, day, 0xFF };
    ax_octets(w, b, 5);
}

/* One day profile action. */
static void ax_day_action(ms_wr_t *w, uint8_t h, uint8_t m, unsigned rate)
{
    ax_struct(w, 3);
    ax_hhmm(w, h, m);
    ax_obis(w, &TARIFF_SCRIPTS);
    ax_uint(w, DLMS_LONG_UNSIGNED, rate);
}

/* The passive calendar "T2-NEW": every day (day_id 7) rate 2 until noon, then rate 1;
 * day_id 2 (the model's rest day, which the special days name) rate 2 all day. */
static void write_t2_new(fixture_t *f)
{
    ms_wr_t *w = val_begin(f);
    ax_name(w, "T2-NEW");
    dlms_data_t d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 6, &d), 0);

    w = val_begin(f);
    ax_array(w, 2);
    ax_struct(w, 3);
    ax_name(w, "s1");
    ax_season_start(w, 0xFFFF, 1, 1, 0);
    ax_name(w, "all");
    ax_struct(w, 3);
    ax_name(w, "s2");
    ax_season_start(w, 2030, 6, 1, 0xFF);
    ax_name(w, "all");
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 7, &d), 0);

    w = val_begin(f);
    ax_array(w, 1);
    ax_struct(w, 8);
    ax_name(w, "all");
    for (int k = 0; k < 7; k++)
        ax_uint(w, DLMS_UNSIGNED, 7);
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 8, &d), 0);

    w = val_begin(f);
    ax_array(w, 2);
    ax_struct(w, 2);
    ax_uint(w, DLMS_UNSIGNED, 7);
    ax_array(w, 2); /* in any order */
    ax_day_action(w, 12, 0, 1);
    ax_day_action(w, 0, 0, 2);
    ax_struct(w, 2);
    ax_uint(w, DLMS_UNSIGNED, 2);
    ax_array(w, 1);
    ax_day_action(w, 0, 0, 2);
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 9, &d), 0);
}

/* attribute 9 with one day profile of one action */
static int write_one_day(fixture_t *f, uint8_t day_id, uint8_t h, uint8_t m,
                         unsigned rate, const ms_obis_t *script)
{
    ms_wr_t *w = val_begin(f);
    ax_array(w, 1);
    ax_struct(w, 2);
    ax_uint(w, DLMS_UNSIGNED, day_id);
    ax_array(w, 1);
    ax_struct(w, 3);
    ax_hhmm(w, h, m);
    ax_obis(w, script);
    ax_uint(w, DLMS_LONG_UNSIGNED, rate);
    dlms_data_t d = val_end(f);
    return set(f, &manage, 20, CAL, 9, &d);
}

/* ---- Activity calendar ------------------------------------------------------------- */

/* The active calendar is the model's T2-STD: day_id 1 "working" 00:00 rate 2, 06:00
 * rate 1, 22:00 rate 2; day_id 2 "rest" rate 2; week "standard" Mon-Fri working, Sat
 * and Sun rest; one season "all year" from 01-01 every year. */
static void test_active_calendar(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 20, CAL, 1, &d), 0);
    assert_octets(&d, &CAL, 6);
    assert_int_equal(get(f, &reader, 20, CAL, 2, &d), 0);
    assert_name(&d, "T2-STD");

    assert_int_equal(get(f, &reader, 20, CAL, 3, &d), 0);
    const dlms_data_t *s = item(&d, DLMS_ARRAY, 1, 0);
    assert_name(item(s, DLMS_STRUCTURE, 3, 0), "all year");
    const dlms_data_t *start = &s->v.items[1];
    assert_int_equal(start->n, 12);
    dlms_datetime_t dt;
    dlms_datetime_unpack(start->v.bytes, &dt);
    assert_int_equal(dt.year, 0xFFFF);
    assert_int_equal(dt.month, 1);
    assert_int_equal(dt.day, 1);
    assert_int_equal(dt.hour, 0);
    assert_int_equal(dt.deviation, DLMS_DEVIATION_NOT_SPECIFIED);
    assert_name(&s->v.items[2], "standard");

    assert_int_equal(get(f, &reader, 20, CAL, 4, &d), 0);
    const dlms_data_t *wk = item(&d, DLMS_ARRAY, 1, 0);
    assert_name(item(wk, DLMS_STRUCTURE, 8, 0), "standard");
    static const uint8_t ids[7] = { 1, 1, 1, 1, 1, 2, 2 };
    for (int k = 0; k < 7; k++)
        assert_uint(&wk->v.items[1 + k], DLMS_UNSIGNED, ids[k]);

    assert_int_equal(get(f, &reader, 20, CAL, 5, &d), 0);
    assert_int_equal(d.n, 2);
    const dlms_data_t *work = item(&d, DLMS_ARRAY, 2, 0);
    assert_uint(item(work, DLMS_STRUCTURE, 2, 0), DLMS_UNSIGNED, 1);
    static const uint8_t hh[3] = { 0, 6, 22 }, rate[3] = { 2, 1, 2 };
    for (uint32_t i = 0; i < 3; i++) {
        const dlms_data_t *a = item(&work->v.items[1], DLMS_ARRAY, 3, i);
        const uint8_t t[4] = { hh[i], 0, 0, 0 };
        assert_octets(item(a, DLMS_STRUCTURE, 3, 0), t, 4);
        assert_octets(&a->v.items[1], &TARIFF_SCRIPTS, 6);
        assert_uint(&a->v.items[2], DLMS_LONG_UNSIGNED, rate[i]);
    }
    const dlms_data_t *rest = &d.v.items[1];
    assert_uint(item(rest, DLMS_STRUCTURE, 2, 0), DLMS_UNSIGNED, 2);
    assert_int_equal(rest->v.items[1].n, 1);

    /* the same as the model's calendar, whatever it is */
    const ms_calendar_t *mc = &f->md->calendar;
    assert_int_equal(d.n, mc->ndays);
    for (uint32_t k = 0; k < mc->ndays; k++) {
        const dlms_data_t *p = item(&d, DLMS_ARRAY, mc->ndays, k);
        assert_uint(item(p, DLMS_STRUCTURE, 2, 0), DLMS_UNSIGNED, mc->days[k].day_id);
        for (uint32_t i = 0; i < mc->days[k].nactions; i++) {
            const ms_day_action_t *x = &mc->days[k].actions[i];
            const dlms_data_t *a =
                item(&p->v.items[1], DLMS_ARRAY, mc->days[k].nactions, i);
            const uint8_t t[4] = { (uint8_t)(x->start_min / 60),
                                   (uint8_t)(x->start_min % 60), 0, 0 };
            assert_octets(item(a, DLMS_STRUCTURE, 3, 0), t, 4);
            assert_uint(&a->v.items[2], DLMS_LONG_UNSIGNED, x->rate);
        }
    }

    /* a buffer too small (the session then retries with a larger one): nothing changes */
    uint8_t small[16];
    ms_wr_t sw;
    ms_wr_init(&sw, small, sizeof small);
    dlms_attr_sel_t s5 = { .desc = { 20, CAL, 5 } };
    assert_int_equal(ms_cosem_ops.get(f->v, &reader, &s5, &sw), 0);
    assert_int_not_equal(sw.err, 0);
    assert_int_equal(get(f, &reader, 20, CAL, 5, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(f->commits, 0);

    /* no passive calendar: empty, no activation time */
    assert_int_equal(get(f, &reader, 20, CAL, 6, &d), 0);
    assert_name(&d, "");
    for (int a = 7; a <= 9; a++) {
        assert_int_equal(get(f, &reader, 20, CAL, a, &d), 0);
        assert_int_equal(d.type, DLMS_ARRAY);
        assert_int_equal(d.n, 0);
    }
    assert_int_equal(get(f, &reader, 20, CAL, 10, &d), 0);
    static const uint8_t none[12] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF };
    assert_octets(&d, none, 12);
    teardown_f(f);
}

/* The passive calendar written attribute by attribute, read back, activated at its
 * time: the tariff follows the new calendar from then on. */
static void test_passive_calendar_activation_time(void **state)
{
    /* Thursday 10:00 CET: working day, rate 1 */
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    const ms_calendar_t *before = f->m->cal;
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    write_t2_new(f);
    /* nothing programmed yet */
    assert_ptr_equal(f->m->cal, before);
    assert_null(f->m->passive);
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 20, CAL, 6, &d), 0);
    assert_name(&d, "T2-NEW");
    assert_int_equal(get(f, &reader, 20, CAL, 7, &d), 0);
    assert_int_equal(d.n, 2);
    assert_name(&item(&d.v.items[1], DLMS_STRUCTURE, 3, 2)[0], "all");
    assert_int_equal(get(f, &reader, 20, CAL, 9, &d), 0);
    const dlms_data_t *day7 = item(&d, DLMS_ARRAY, 2, 0);
    assert_uint(&day7->v.items[0], DLMS_UNSIGNED, 7);
    /* sorted by start_time */
    const dlms_data_t *a0 = item(&day7->v.items[1], DLMS_ARRAY, 2, 0);
    const dlms_data_t *a1 = &day7->v.items[1].v.items[1];
    assert_uint(&a0->v.items[2], DLMS_LONG_UNSIGNED, 2);
    assert_uint(&a1->v.items[2], DLMS_LONG_UNSIGNED, 1);

    /* activate_passive_calendar_time: Friday 00:00 local time (no deviation) */
    ms_wr_t *w = val_begin(f);
    uint8_t b[12];
    dlms_datetime_t at = { 2016, 1, 15, 0xFF, 0, 0, 0, 0, DLMS_DEVIATION_NOT_SPECIFIED,
                           0xFF };
    dlms_datetime_pack(&at, b);
    ax_octets(w, b, 12);
    d = val_end(f);
    int commits = f->commits;
    assert_int_equal(set(f, &manage, 20, CAL, 10, &d), 0);
    assert_true(f->commits > commits);
    assert_non_null(f->m->passive);
    assert_string_equal(f->m->passive->name, "T2-NEW");
    assert_int_equal(f->m->passive_activation_rtc, utc_ms("2016-01-14T23:00:00Z"));
    assert_ptr_equal(f->m->cal, before);
    assert_int_equal(get(f, &reader, 20, CAL, 10, &d), 0);
    dlms_datetime_unpack(d.v.bytes, &at);
    assert_int_equal(at.day, 15);
    assert_int_equal(at.hour, 0);
    assert_int_equal(at.deviation, -60);

    /* Thursday 21:00: still T2-STD, rate 1 */
    ms_meter_advance(f->m, utc_ms("2016-01-14T20:00:00Z"));
    assert_string_equal(f->m->cal->name, "T2-STD");
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    /* Friday 10:00: T2-NEW says rate 2 (T2-STD would say 1) */
    ms_meter_advance(f->m, utc_ms("2016-01-15T09:00:00Z"));
    assert_string_equal(f->m->cal->name, "T2-NEW");
    assert_null(f->m->passive);
    assert_int_equal(f->m->regs.override_rate, 0);
    assert_int_equal(f->m->regs.rate, 2);
    /* Friday 13:00: rate 1 */
    ms_meter_advance(f->m, utc_ms("2016-01-15T12:00:00Z"));
    assert_int_equal(f->m->regs.rate, 1);
    assert_int_equal(get(f, &reader, 20, CAL, 2, &d), 0);
    assert_name(&d, "T2-NEW");
    assert_int_equal(get(f, &reader, 20, CAL, 3, &d), 0);
    assert_int_equal(d.n, 2);
    /* the special days still name day_id 2, which T2-NEW has */
    assert_int_equal(f->m->cal->nspecial, 4);
    assert_int_equal(get(f, &reader, 20, CAL, 10, &d), 0);
    assert_int_equal(d.v.bytes[0], 0xFF);
    /* the passive calendar is empty again */
    assert_int_equal(get(f, &reader, 20, CAL, 9, &d), 0);
    assert_int_equal(d.n, 0);
    teardown_f(f);
}

static void test_activate_method(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    dlms_data_t zero = dlms_data_int(DLMS_INTEGER, 0);
    /* no passive calendar to activate */
    assert_int_equal(act(f, &manage, 20, CAL, 1, &zero), DLMS_ACTION_OTHER_REASON);
    write_t2_new(f);
    dlms_data_t bad = dlms_data_uint(DLMS_UNSIGNED, 0);
    assert_int_equal(act(f, &manage, 20, CAL, 1, &bad), DLMS_ACTION_TYPE_UNMATCHED);
    assert_string_equal(f->m->cal->name, "T2-STD");
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    assert_int_equal(act(f, &manage, 20, CAL, 1, &zero), DLMS_ACTION_SUCCESS);
    assert_string_equal(f->m->cal->name, "T2-NEW");
    assert_null(f->m->passive);
    assert_int_equal(ms_regs_rate(&f->m->regs), 2); /* at once: 10:00 is before noon */
    ms_meter_advance(f->m, utc_ms("2016-01-14T11:30:00Z"));
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    /* the passive written before is what a read shows no more */
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 20, CAL, 6, &d), 0);
    assert_name(&d, "");

    /* a pending passive calendar (programmed with a time) activated early */
    ms_wr_t *w = val_begin(f);
    ax_name(w, "LATER");
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 6, &d), 0);
    w = val_begin(f);
    uint8_t b[12];
    dlms_datetime_t at = { 2017, 1, 1, 0xFF, 0, 0, 0, 0, -60, 0xFF };
    dlms_datetime_pack(&at, b);
    ax_octets(w, b, 12);
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 10, &d), 0);
    assert_string_equal(f->m->passive->name, "LATER");
    assert_int_equal(act(f, &manage, 20, CAL, 1, NULL), DLMS_ACTION_SUCCESS);
    assert_string_equal(f->m->cal->name, "LATER");
    assert_null(f->m->passive);
    teardown_f(f);
}

/* Calendars the meter refuses: other-reason, and the calendars stay as they were. */
static void test_refused_calendars(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    const ms_calendar_t *cal = f->m->cal;
    dlms_data_t d;
    /* a day profile that does not start at 00:00 */
    assert_int_equal(write_one_day(f, 1, 1, 0, 1, &TARIFF_SCRIPTS),
                     DLMS_DAR_OTHER_REASON);
    assert_non_null(strstr(f->last_event, "00:00"));
    /* a rate the meter lacks; a script other than the tariffication table */
    assert_int_equal(write_one_day(f, 1, 0, 0, 3, &TARIFF_SCRIPTS),
                     DLMS_DAR_OTHER_REASON);
    assert_int_equal(write_one_day(f, 1, 0, 0, 1, &BILLING_SCRIPTS),
                     DLMS_DAR_OTHER_REASON);
    assert_int_equal(write_one_day(f, 1, 24, 0, 1, &TARIFF_SCRIPTS),
                     DLMS_DAR_OTHER_REASON);
    /* nothing was taken */
    assert_int_equal(get(f, &reader, 20, CAL, 9, &d), 0);
    assert_int_equal(d.n, 0);
    /* a season date that does not exist */
    ms_wr_t *w = val_begin(f);
    ax_array(w, 1);
    ax_struct(w, 3);
    ax_name(w, "s");
    ax_season_start(w, 0xFFFF, 2, 30, 0);
    ax_name(w, "standard");
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 7, &d), DLMS_DAR_OTHER_REASON);
    /* a season starting at 06:00 */
    w = val_begin(f);
    ax_array(w, 1);
    ax_struct(w, 3);
    ax_name(w, "s");
    ax_season_start(w, 0xFFFF, 3, 1, 6);
    ax_name(w, "standard");
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 7, &d), DLMS_DAR_OTHER_REASON);
    /* a name too long for the meter */
    w = val_begin(f);
    ax_name(w, "a name of twenty chars");
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 6, &d), DLMS_DAR_OTHER_REASON);

    /* wrong types */
    dlms_data_t u = dlms_data_uint(DLMS_UNSIGNED, 1);
    for (int a = 6; a <= 10; a++)
        assert_int_equal(set(f, &manage, 20, CAL, a, &u), DLMS_DAR_TYPE_UNMATCHED);
    dlms_data_t vs = dlms_data_string(DLMS_VISIBLE_STRING, "X", 1);
    assert_int_equal(set(f, &manage, 20, CAL, 6, &vs), DLMS_DAR_TYPE_UNMATCHED);
    w = val_begin(f); /* day_id as long-unsigned */
    ax_array(w, 1);
    ax_struct(w, 2);
    ax_uint(w, DLMS_LONG_UNSIGNED, 1);
    ax_array(w, 0);
    d = val_end(f);
    assert_int_equal(set(f, &manage, 20, CAL, 9, &d), DLMS_DAR_TYPE_UNMATCHED);

    /* a week naming a day_id no day profile has: refused when programmed */
    assert_int_equal(write_one_day(f, 5, 0, 0, 1, &TARIFF_SCRIPTS), 0);
    dlms_datetime_t at = { 2016, 2, 1, 0xFF, 0, 0, 0, 0, -60, 0xFF };
    uint8_t when_b[12];
    dlms_datetime_pack(&at, when_b);
    dlms_data_t when = dlms_data_string(DLMS_OCTET_STRING, when_b, 12);
    /* the week "standard" (from the active calendar) names day_ids 1 and 2 */
    assert_int_equal(set(f, &manage, 20, CAL, 10, &when), DLMS_DAR_OTHER_REASON);
    assert_non_null(strstr(f->last_event, "day_id"));
    dlms_data_t zero = dlms_data_int(DLMS_INTEGER, 0);
    assert_int_equal(act(f, &manage, 20, CAL, 1, &zero), DLMS_ACTION_OTHER_REASON);
    assert_ptr_equal(f->m->cal, cal);
    assert_null(f->m->passive);
    /* a date-time with wildcards (periodic activation) is not taken */
    at.day = 0xFF;
    dlms_datetime_pack(&at, when_b);
    assert_int_equal(set(f, &manage, 20, CAL, 10, &when), DLMS_DAR_OTHER_REASON);
    /* all "not specified" without a passive calendar: nothing to do */
    memset(when_b, 0xFF, 12);
    when_b[9] = 0x80;
    when_b[10] = 0;
    assert_int_equal(set(f, &manage, 20, CAL, 10, &when), 0);
    assert_null(f->m->passive);
    assert_ptr_equal(f->m->cal, cal);
    assert_int_equal(f->commits, 0);
    teardown_f(f);
}

/* Public clients do not see the objects; the reader reads but does not write. */
static void test_rights(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    dlms_data_t d;
    static const struct {
        uint16_t cls;
        const ms_obis_t *ln;
    } objs[] = { { 20, &CAL },
                 { 11, &SPECIAL },
                 { 9, &TARIFF_SCRIPTS },
                 { 9, &BILLING_SCRIPTS },
                 { 9, &DISCONNECT_SCRIPTS },
                 { 6, &REG_ACT },
                 { 22, &BILLING_SCHEDULE } };
    dlms_data_t one = dlms_data_uint(DLMS_LONG_UNSIGNED, 1);
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        assert_int_equal(get(f, &public_, objs[i].cls, *objs[i].ln, 2, &d),
                         DLMS_DAR_OBJECT_UNDEFINED);
        assert_int_equal(get(f, &reader, objs[i].cls, *objs[i].ln, 2, &d), 0);
        assert_int_equal(get(f, &manage, objs[i].cls, *objs[i].ln, 1, &d), 0);
        assert_int_equal(set(f, &reader, objs[i].cls, *objs[i].ln, 2, &one),
                         DLMS_DAR_READ_WRITE_DENIED);
    }
    /* the object list: the management client writes 6..10 and activates; the reader
     * reads */
    for (int c = 0; c < 2; c++) {
        const dlms_who_t *who = c ? &manage : &reader;
        assert_int_equal(get(f, who, 15, MS_OBIS(0, 0, 40, 0, 0, 255), 2, &d), 0);
        const dlms_data_t *o = NULL;
        for (uint32_t i = 0; i < d.n; i++)
            if (memcmp(d.v.items[i].v.items[2].v.bytes, &CAL, 6) == 0)
                o = &d.v.items[i];
        assert_non_null(o);
        assert_uint(&o->v.items[0], DLMS_LONG_UNSIGNED, 20);
        assert_uint(&o->v.items[1], DLMS_UNSIGNED, 0);
        const dlms_data_t *attrs = &o->v.items[3].v.items[0];
        const dlms_data_t *meths = &o->v.items[3].v.items[1];
        assert_int_equal(attrs->n, 10);
        for (uint32_t a = 0; a < 10; a++)
            assert_uint(&attrs->v.items[a].v.items[1], DLMS_ENUM, c && a >= 5 ? 3 : 1);
        assert_int_equal(meths->n, 1);
        assert_uint(&meths->v.items[0].v.items[1], DLMS_ENUM, c ? 1 : 0);
    }

    assert_int_equal(act(f, &public_, 9, TARIFF_SCRIPTS, 1, &one),
                     DLMS_ACTION_OBJECT_UNDEFINED);
    assert_int_equal(act(f, &reader, 9, TARIFF_SCRIPTS, 1, &one),
                     DLMS_ACTION_READ_WRITE_DENIED);
    assert_int_equal(act(f, &reader, 11, SPECIAL, 2, &one),
                     DLMS_ACTION_READ_WRITE_DENIED);
    dlms_data_t zero = dlms_data_int(DLMS_INTEGER, 0);
    assert_int_equal(act(f, &reader, 20, CAL, 1, &zero), DLMS_ACTION_READ_WRITE_DENIED);
    dlms_data_t name = dlms_data_string(DLMS_OCTET_STRING, "X", 1);
    assert_int_equal(set(f, &reader, 20, CAL, 6, &name), DLMS_DAR_READ_WRITE_DENIED);
    /* what nobody writes or invokes: the scripts, the register activation methods,
     * the schedule, the active calendar */
    assert_int_equal(set(f, &manage, 9, TARIFF_SCRIPTS, 2, &one),
                     DLMS_DAR_READ_WRITE_DENIED);
    assert_int_equal(set(f, &manage, 20, CAL, 2, &name), DLMS_DAR_READ_WRITE_DENIED);
    assert_int_equal(set(f, &manage, 22, BILLING_SCHEDULE, 4, &one),
                     DLMS_DAR_READ_WRITE_DENIED);
    for (int k = 1; k <= 3; k++)
        assert_int_equal(act(f, &manage, 6, REG_ACT, k, &name),
                         DLMS_ACTION_READ_WRITE_DENIED);
    assert_int_equal(act(f, &manage, 20, CAL, 2, &zero), DLMS_ACTION_OBJECT_UNAVAILABLE);
    assert_int_equal(get(f, &manage, 20, CAL, 11, &d), DLMS_DAR_OBJECT_UNAVAILABLE);
    assert_int_equal(f->commits, 0);
    teardown_f(f);
}

/* ---- Special days table ------------------------------------------------------------ */

static dlms_data_t sd_entry(fixture_t *f, unsigned index, uint16_t year, uint8_t month,
                            uint8_t day, unsigned day_id)
{
    ms_wr_t *w = val_begin(f);
    ax_struct(w, 3);
    ax_uint(w, DLMS_LONG_UNSIGNED, index);
    ax_date5(w, year, month, day);
    ax_uint(w, DLMS_UNSIGNED, day_id);
    return val_end(f);
}

/* entry i of attribute 2 is { i + 1, year-month-day, day_id } */
static void assert_sd(const dlms_data_t *entries, uint32_t i, uint16_t year,
                      uint8_t month, uint8_t day, unsigned day_id)
{
    const dlms_data_t *e = &entries->v.items[i];
    assert_uint(item(e, DLMS_STRUCTURE, 3, 0), DLMS_LONG_UNSIGNED, i + 1);
    const uint8_t b[5] = { (uint8_t)(year >> 8), (uint8_t)year, month, day, 0xFF };
    assert_octets(&e->v.items[1], b, 5);
    assert_uint(&e->v.items[2], DLMS_UNSIGNED, day_id);
}

static void test_special_days(void **state)
{
    /* Friday 2016-04-29 10:00 CEST */
    fixture_t *f = setup_at("2016-04-29T08:00:00Z");
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 11, SPECIAL, 2, &d), 0);
    assert_int_equal(d.type, DLMS_ARRAY);
    assert_int_equal(d.n, 4);
    assert_sd(&d, 0, 0xFFFF, 1, 1, 2);
    assert_sd(&d, 1, 0xFFFF, 5, 1, 2);
    assert_sd(&d, 2, 0xFFFF, 12, 25, 2);
    assert_sd(&d, 3, 0xFFFF, 12, 26, 2);

    /* insert Monday 05-02 (every year) as a rest day */
    dlms_data_t e = sd_entry(f, 0, 0xFFFF, 5, 2, 2);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 11, SPECIAL, 2, &d), 0);
    assert_int_equal(d.n, 5);
    assert_sd(&d, 2, 0xFFFF, 5, 2, 2);
    /* Monday 10:00: rate 2 instead of 1 */
    ms_meter_advance(f->m, utc_ms("2016-05-02T08:00:00Z"));
    assert_int_equal(ms_regs_rate(&f->m->regs), 2);
    /* deleted (index 3): the working day's rate at once */
    dlms_data_t idx = dlms_data_uint(DLMS_LONG_UNSIGNED, 3);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 2, &idx), DLMS_ACTION_SUCCESS);
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    assert_int_equal(f->m->cal->nspecial, 4);

    /* the same index overwrites (index 1 was 01-01): a dated day, Tuesday 2016-05-03 */
    e = sd_entry(f, 1, 2016, 5, 3, 2);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 11, SPECIAL, 2, &d), 0);
    assert_int_equal(d.n, 4);
    assert_sd(&d, 0, 0xFFFF, 5, 1, 2);
    assert_sd(&d, 3, 2016, 5, 3, 2);
    ms_meter_advance(f->m, utc_ms("2016-05-03T08:00:00Z"));
    assert_int_equal(ms_regs_rate(&f->m->regs), 2);
    /* the same date overwrites: 12-25 becomes a working day */
    e = sd_entry(f, 99, 0xFFFF, 12, 25, 1);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 11, SPECIAL, 2, &d), 0);
    assert_int_equal(d.n, 4);
    assert_sd(&d, 1, 0xFFFF, 12, 25, 1);

    /* refused: an unknown day_id, a date that does not exist, no such index, wrong
     * types; nothing changes */
    const ms_calendar_t *cal = f->m->cal;
    e = sd_entry(f, 0, 0xFFFF, 7, 1, 9);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_OTHER_REASON);
    e = sd_entry(f, 0, 2015, 2, 29, 2);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_OTHER_REASON);
    e = sd_entry(f, 0, 0xFFFF, 0xFF, 1, 2);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_OTHER_REASON);
    idx = dlms_data_uint(DLMS_LONG_UNSIGNED, 77);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 2, &idx), DLMS_ACTION_OTHER_REASON);
    dlms_data_t u = dlms_data_uint(DLMS_UNSIGNED, 1);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &u), DLMS_ACTION_TYPE_UNMATCHED);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 2, &u), DLMS_ACTION_TYPE_UNMATCHED);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, NULL), DLMS_ACTION_TYPE_UNMATCHED);
    assert_ptr_equal(f->m->cal, cal);

    /* entries written: the table replaced */
    ms_wr_t *w = val_begin(f);
    ax_array(w, 2);
    ax_struct(w, 3);
    ax_uint(w, DLMS_LONG_UNSIGNED, 10);
    ax_date5(w, 0xFFFF, 12, 24);
    ax_uint(w, DLMS_UNSIGNED, 2);
    ax_struct(w, 3);
    ax_uint(w, DLMS_LONG_UNSIGNED, 20);
    ax_date5(w, 0xFFFF, 1, 6);
    ax_uint(w, DLMS_UNSIGNED, 2);
    d = val_end(f);
    assert_int_equal(set(f, &manage, 11, SPECIAL, 2, &d), 0);
    assert_int_equal(get(f, &reader, 11, SPECIAL, 2, &d), 0);
    assert_int_equal(d.n, 2);
    assert_sd(&d, 0, 0xFFFF, 1, 6, 2);
    assert_sd(&d, 1, 0xFFFF, 12, 24, 2);
    /* the same date twice is refused */
    w = val_begin(f);
    ax_array(w, 2);
    for (int k = 0; k < 2; k++) {
        ax_struct(w, 3);
        ax_uint(w, DLMS_LONG_UNSIGNED, (unsigned)k);
        ax_date5(w, 0xFFFF, 3, 3);
        ax_uint(w, DLMS_UNSIGNED, 2);
    }
    d = val_end(f);
    assert_int_equal(set(f, &manage, 11, SPECIAL, 2, &d), DLMS_DAR_OTHER_REASON);
    assert_int_equal(f->m->cal->nspecial, 2);
    teardown_f(f);
}

/* A pending passive calendar gets the special days too (one table for both). */
static void test_special_days_and_passive(void **state)
{
    fixture_t *f = setup_at("2016-04-29T08:00:00Z");
    write_t2_new(f);
    uint8_t b[12];
    dlms_datetime_t at = { 2016, 6, 1, 0xFF, 0, 0, 0, 0, -120, 0xFF };
    dlms_datetime_pack(&at, b);
    dlms_data_t when = dlms_data_string(DLMS_OCTET_STRING, b, 12);
    assert_int_equal(set(f, &manage, 20, CAL, 10, &when), 0);
    assert_int_equal(f->m->passive->nspecial, 4);
    dlms_data_t e = sd_entry(f, 0, 0xFFFF, 6, 6, 2);
    assert_int_equal(act(f, &manage, 11, SPECIAL, 1, &e), DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->cal->nspecial, 5);
    assert_non_null(f->m->passive);
    assert_string_equal(f->m->passive->name, "T2-NEW");
    assert_int_equal(f->m->passive->nspecial, 5);
    assert_int_equal(f->m->passive_activation_rtc, utc_ms("2016-05-31T22:00:00Z"));
    /* after the activation, 06-06 (a Monday) is a rest day: rate 2 at 14:00 */
    ms_meter_advance(f->m, utc_ms("2016-06-06T12:00:00Z"));
    assert_string_equal(f->m->cal->name, "T2-NEW");
    assert_int_equal(ms_regs_rate(&f->m->regs), 2);
    ms_meter_advance(f->m, utc_ms("2016-06-07T12:00:00Z"));
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    teardown_f(f);
}

/* ---- Script tables ------------------------------------------------------------------
 */

static const dlms_data_t *script_action(const dlms_data_t *scripts, uint32_t n,
                                        uint32_t i, unsigned service, unsigned cls,
                                        const ms_obis_t *ln, int index)
{
    const dlms_data_t *s = item(scripts, DLMS_ARRAY, n, i);
    assert_uint(item(s, DLMS_STRUCTURE, 2, 0), DLMS_LONG_UNSIGNED, i + 1);
    const dlms_data_t *a = item(&s->v.items[1], DLMS_ARRAY, 1, 0);
    assert_uint(item(a, DLMS_STRUCTURE, 5, 0), DLMS_ENUM, service);
    assert_uint(&a->v.items[1], DLMS_LONG_UNSIGNED, cls);
    assert_octets(&a->v.items[2], ln, 6);
    assert_int_equal(a->v.items[3].type, DLMS_INTEGER);
    assert_int_equal(a->v.items[3].v.i, index);
    return &a->v.items[4];
}

static void test_tariff_scripts(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z"); /* Thursday 10:00, rate 1 */
    const ms_obis_t tariff = MS_OBIS(0, 0, 96, 14, 0, 255);
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 9, TARIFF_SCRIPTS, 2, &d), 0);
    for (uint32_t i = 0; i < 2; i++)
        assert_uint(script_action(&d, 2, i, 1, 1, &tariff, 2), DLMS_UNSIGNED, i + 1);
    /* execute script 2: rate 2 until the next scheduled switch (22:00) */
    dlms_data_t id = dlms_data_uint(DLMS_LONG_UNSIGNED, 2);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, &id), DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->regs.override_rate, 2);
    assert_int_equal(ms_regs_rate(&f->m->regs), 2);
    assert_true(f->commits > 0);
    assert_int_equal(get(f, &reader, 1, tariff, 2, &d), 0);
    assert_int_equal(d.v.u, 2);
    ms_meter_advance(f->m, utc_ms("2016-01-14T20:00:00Z"));
    assert_int_equal(ms_regs_rate(&f->m->regs), 2);
    ms_meter_advance(f->m, utc_ms("2016-01-15T06:00:00Z")); /* Friday 07:00 */
    assert_int_equal(f->m->regs.override_rate, 0);
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    /* the null script, an unknown script, a wrong type */
    int commits = f->commits;
    dlms_data_t zero = dlms_data_uint(DLMS_LONG_UNSIGNED, 0);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, &zero), DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->regs.override_rate, 0);
    dlms_data_t three = dlms_data_uint(DLMS_LONG_UNSIGNED, 3);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, &three),
                     DLMS_ACTION_OTHER_REASON);
    dlms_data_t u = dlms_data_uint(DLMS_UNSIGNED, 2);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, &u),
                     DLMS_ACTION_TYPE_UNMATCHED);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, NULL),
                     DLMS_ACTION_TYPE_UNMATCHED);
    assert_int_equal(f->commits, commits);
    assert_int_equal(ms_regs_rate(&f->m->regs), 1);
    teardown_f(f);
}

static void test_billing_and_disconnect_scripts(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 9, BILLING_SCRIPTS, 2, &d), 0);
    const dlms_data_t *p =
        script_action(&d, 1, 0, 2, 7, &MS_OBIS(0, 0, 98, 1, 0, 255), 2);
    assert_int_equal(p->type, DLMS_INTEGER);
    uint32_t count = f->m->billing_count;
    dlms_data_t one = dlms_data_uint(DLMS_LONG_UNSIGNED, 1);
    assert_int_equal(act(f, &manage, 9, BILLING_SCRIPTS, 1, &one), DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->billing_count, count + 1);
    assert_int_equal(f->m->billing_n, 1);
    dlms_data_t two = dlms_data_uint(DLMS_LONG_UNSIGNED, 2);
    assert_int_equal(act(f, &manage, 9, BILLING_SCRIPTS, 1, &two),
                     DLMS_ACTION_OTHER_REASON);
    assert_int_equal(f->m->billing_count, count + 1);

    const ms_obis_t dc = MS_OBIS(0, 0, 96, 3, 10, 255);
    assert_int_equal(get(f, &reader, 9, DISCONNECT_SCRIPTS, 2, &d), 0);
    for (uint32_t i = 0; i < 2; i++)
        assert_int_equal(script_action(&d, 2, i, 2, 70, &dc, (int)i + 1)->type,
                         DLMS_INTEGER);
    assert_int_equal(f->m->breaker, MS_BREAKER_CONNECTED);
    assert_int_equal(act(f, &manage, 9, DISCONNECT_SCRIPTS, 1, &one),
                     DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->breaker, MS_BREAKER_DISCONNECTED);
    /* control_mode 1: a remote reconnect arms, the customer closes */
    assert_int_equal(act(f, &manage, 9, DISCONNECT_SCRIPTS, 1, &two),
                     DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->breaker, MS_BREAKER_READY);
    assert_int_equal(act(f, &manage, 9, DISCONNECT_SCRIPTS, 1, &two),
                     DLMS_ACTION_OTHER_REASON);
    assert_int_equal(f->m->breaker, MS_BREAKER_READY);
    teardown_f(f);
}

/* ---- Register activation, Single action schedule ------------------------------------
 */

static void test_register_activation(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 6, REG_ACT, 2, &d), 0);
    assert_int_equal(d.type, DLMS_ARRAY);
    assert_int_equal(d.n, 8);
    ms_obis_t regs[8];
    for (uint32_t i = 0; i < 8; i++) {
        const dlms_data_t *o = item(&d, DLMS_ARRAY, 8, i);
        assert_uint(item(o, DLMS_STRUCTURE, 2, 0), DLMS_LONG_UNSIGNED, 3);
        const uint8_t *b = o->v.items[1].v.bytes;
        assert_int_equal(o->v.items[1].n, 6);
        regs[i] = MS_OBIS(b[0], b[1], b[2], b[3], b[4], b[5]);
        assert_int_equal(regs[i].a, 1);
        assert_int_equal(regs[i].d, 8);
    }
    assert_int_equal(get(f, &reader, 6, REG_ACT, 3, &d), 0);
    assert_int_equal(d.type, DLMS_ARRAY);
    assert_int_equal(d.n, 2);
    for (uint32_t r = 0; r < 2; r++) {
        const dlms_data_t *mask = item(&d, DLMS_ARRAY, 2, r);
        const uint8_t name = (uint8_t)(r + 1);
        assert_octets(item(mask, DLMS_STRUCTURE, 2, 0), &name, 1);
        const dlms_data_t *il = &mask->v.items[1];
        assert_int_equal(il->type, DLMS_ARRAY);
        assert_int_equal(il->n, 4);
        bool seen[5] = { false };
        for (uint32_t k = 0; k < 4; k++) { /* 1-based into register_assignment */
            assert_int_equal(il->v.items[k].type, DLMS_UNSIGNED);
            uint64_t x = il->v.items[k].v.u;
            assert_true(x >= 1 && x <= 8);
            assert_int_equal(regs[x - 1].e, r + 1);
            seen[regs[x - 1].c] = true;
        }
        assert_true(seen[1] && seen[2] && seen[3] && seen[4]);
    }
    const uint8_t t1 = 1, t2 = 2;
    assert_int_equal(get(f, &reader, 6, REG_ACT, 4, &d), 0);
    assert_octets(&d, &t1, 1);
    /* follows an override, and the calendar: Thursday 23:00 rate 2 */
    dlms_data_t id = dlms_data_uint(DLMS_LONG_UNSIGNED, 2);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, &id), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 6, REG_ACT, 4, &d), 0);
    assert_octets(&d, &t2, 1);
    id = dlms_data_uint(DLMS_LONG_UNSIGNED, 1);
    assert_int_equal(act(f, &manage, 9, TARIFF_SCRIPTS, 1, &id), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 6, REG_ACT, 4, &d), 0);
    assert_octets(&d, &t1, 1);
    ms_meter_advance(f->m, utc_ms("2016-01-14T22:00:00Z"));
    assert_int_equal(get(f, &reader, 6, REG_ACT, 4, &d), 0);
    assert_octets(&d, &t2, 1);
    teardown_f(f);
}

static void test_single_action_schedule(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 22, BILLING_SCHEDULE, 2, &d), 0);
    assert_octets(item(&d, DLMS_STRUCTURE, 2, 0), &BILLING_SCRIPTS, 6);
    assert_uint(&d.v.items[1], DLMS_LONG_UNSIGNED, 1);
    assert_int_equal(get(f, &reader, 22, BILLING_SCHEDULE, 3, &d), 0);
    assert_uint(&d, DLMS_ENUM, 1);
    assert_int_equal(get(f, &reader, 22, BILLING_SCHEDULE, 4, &d), 0);
    const dlms_data_t *x = item(&d, DLMS_ARRAY, 1, 0);
    static const uint8_t t[4] = { 0, 0, 0, 0 };
    static const uint8_t day1[5] = { 0xFF, 0xFF, 0xFF, 1, 0xFF };
    assert_octets(item(x, DLMS_STRUCTURE, 2, 0), t, 4);
    assert_octets(&x->v.items[1], day1, 5);
    teardown_f(f);

    static const char *const other[] = { "billing.day=15", "billing.time=\"23:30\"" };
    f = setup_with("2016-01-14T09:00:00Z", other, 2);
    assert_int_equal(get(f, &reader, 22, BILLING_SCHEDULE, 4, &d), 0);
    x = item(&d, DLMS_ARRAY, 1, 0);
    static const uint8_t t2330[4] = { 23, 30, 0, 0 };
    static const uint8_t day15[5] = { 0xFF, 0xFF, 0xFF, 15, 0xFF };
    assert_octets(item(x, DLMS_STRUCTURE, 2, 0), t2330, 4);
    assert_octets(&x->v.items[1], day15, 5);
    teardown_f(f);

    static const char *const none[] = { "billing.day=0" };
    f = setup_with("2016-01-14T09:00:00Z", none, 1);
    assert_int_equal(get(f, &reader, 22, BILLING_SCHEDULE, 4, &d), 0);
    assert_int_equal(d.type, DLMS_ARRAY);
    assert_int_equal(d.n, 0);
    teardown_f(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_active_calendar),
        cmocka_unit_test(test_passive_calendar_activation_time),
        cmocka_unit_test(test_activate_method),
        cmocka_unit_test(test_refused_calendars),
        cmocka_unit_test(test_rights),
        cmocka_unit_test(test_special_days),
        cmocka_unit_test(test_special_days_and_passive),
        cmocka_unit_test(test_tariff_scripts),
        cmocka_unit_test(test_billing_and_disconnect_scripts),
        cmocka_unit_test(test_register_activation),
        cmocka_unit_test(test_single_action_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
