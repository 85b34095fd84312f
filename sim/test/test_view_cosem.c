/*
** test_view_cosem.c — the COSEM view of the meter model, through the dlms_server_ops_t
** callbacks a DLMS session calls: object lists and rights per client, the value and
** type of each class's attributes against the Blue Book, registers against the meter,
** the clock (read, set, DST), profiles with selective access by range across a DST
** change and by entry, the billing profile's capture, disconnect control, invocation
** counters.
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

#include "cosem_fixture.h"

static int64_t i64(const dlms_data_t *d)
{
    int64_t x;
    assert_int_equal(dlms_data_to_i64(d, &x), 0);
    return x;
}

/* date-time octet string fields */
static dlms_datetime_t dt_of(const dlms_data_t *d)
{
    assert_int_equal(d->type, DLMS_OCTET_STRING);
    assert_int_equal(d->n, 12);
    dlms_datetime_t f;
    dlms_datetime_unpack(d->v.bytes, &f);
    return f;
}

/* ---- object lists and rights --------------------------------------------------------
 */

/* Expected data types of attribute 2.. per class (Blue Book), for the attributes whose
 * type the class fixes. */
static void check_types(uint16_t cls, int a, const dlms_data_t *d)
{
    switch (cls) {
    case 8: /* Clock: time, time_zone, status, begin, end, deviation, enabled, base */
    {
        static const uint8_t t[] = { 0,
                                     0,
                                     DLMS_OCTET_STRING,
                                     DLMS_LONG,
                                     DLMS_UNSIGNED,
                                     DLMS_OCTET_STRING,
                                     DLMS_OCTET_STRING,
                                     DLMS_INTEGER,
                                     DLMS_BOOLEAN,
                                     DLMS_ENUM };
        assert_int_equal(d->type, t[a]);
        break;
    }
    case 7: /* Profile generic */
    {
        static const uint8_t t[] = { 0,
                                     0,
                                     DLMS_ARRAY,
                                     DLMS_ARRAY,
                                     DLMS_DOUBLE_LONG_UNSIGNED,
                                     DLMS_ENUM,
                                     DLMS_STRUCTURE,
                                     DLMS_DOUBLE_LONG_UNSIGNED,
                                     DLMS_DOUBLE_LONG_UNSIGNED };
        assert_int_equal(d->type, t[a]);
        break;
    }
    case 3:
    case 4:
        if (a == 3) { /* scaler_unit: structure { integer, enum } */
            assert_int_equal(d->type, DLMS_STRUCTURE);
            assert_int_equal(d->n, 2);
            assert_int_equal(d->v.items[0].type, DLMS_INTEGER);
            assert_int_equal(d->v.items[1].type, DLMS_ENUM);
        }
        if (cls == 4 && a == 5)
            assert_int_equal(d->type, DLMS_OCTET_STRING);
        break;
    case 15:
        if (a == 2)
            assert_int_equal(d->type, DLMS_ARRAY);
        if (a == 3)
            assert_int_equal(d->type, DLMS_STRUCTURE);
        if (a == 8)
            assert_int_equal(d->type, DLMS_ENUM);
        break;
    case 70: /* Disconnect control: output_state boolean, control_state, control_mode */
        assert_int_equal(d->type, a == 2 ? DLMS_BOOLEAN : DLMS_ENUM);
        break;
    case 64:
        if (a == 2 || a == 3)
            assert_int_equal(d->type, DLMS_ENUM);
        else
            assert_int_equal(d->type, DLMS_OCTET_STRING);
        break;
    }
}

/* Every object of the list, every attribute its access rights call readable, answers
 * with success; the others are refused. */
static size_t walk_object_list(fixture_t *f, const dlms_who_t *who, bool *has_profile)
{
    dlms_data_t list;
    assert_int_equal(get(f, who, 15, MS_OBIS(0, 0, 40, 0, 0, 255), 2, &list), 0);
    assert_int_equal(list.type, DLMS_ARRAY);
    /* copy the entries out: the arena is reused by the GETs below */
    size_t n = list.n;
    struct entry {
        uint16_t cls;
        ms_obis_t ln;
        uint8_t mode[32];
        uint8_t nattr;
    } *e = calloc(n, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        const dlms_data_t *o = &list.v.items[i];
        assert_int_equal(o->type, DLMS_STRUCTURE);
        assert_int_equal(o->n, 4);
        assert_int_equal(o->v.items[0].type, DLMS_LONG_UNSIGNED);
        assert_int_equal(o->v.items[1].type, DLMS_UNSIGNED);
        assert_int_equal(o->v.items[2].type, DLMS_OCTET_STRING);
        assert_int_equal(o->v.items[2].n, 6);
        const dlms_data_t *ar = &o->v.items[3];
        assert_int_equal(ar->type, DLMS_STRUCTURE);
        const dlms_data_t *aa = &ar->v.items[0];
        e[i].cls = (uint16_t)o->v.items[0].v.u;
        const uint8_t *b = o->v.items[2].v.bytes;
        e[i].ln = MS_OBIS(b[0], b[1], b[2], b[3], b[4], b[5]);
        e[i].nattr = (uint8_t)aa->n;
        for (uint32_t k = 0; k < aa->n; k++) {
            const dlms_data_t *it = &aa->v.items[k];
            assert_int_equal(i64(&it->v.items[0]), k + 1);
            assert_int_equal(it->v.items[1].type, DLMS_ENUM);
            e[i].mode[k + 1] = (uint8_t)it->v.items[1].v.u;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (e[i].cls == 7)
            *has_profile = true;
        for (int a = 1; a <= e[i].nattr; a++) {
            dlms_data_t d;
            int dar = get(f, who, e[i].cls, e[i].ln, a, &d);
            char o[32];
            ms_obis_format(&e[i].ln, 0, o, sizeof o);
            if (e[i].mode[a] & 1) {
                if (dar)
                    fail_msg("class %u %s attribute %d: %s", e[i].cls, o, a,
                             dlms_data_access_result_name((unsigned)dar));
                if (a == 1) { /* logical_name */
                    assert_int_equal(d.type, DLMS_OCTET_STRING);
                    assert_memory_equal(d.v.bytes, &e[i].ln, 6);
                } else {
                    check_types(e[i].cls, a, &d);
                }
            } else {
                assert_int_equal(dar, DLMS_DAR_READ_WRITE_DENIED);
            }
        }
    }
    free(e);
    return n;
}

static void test_object_lists_and_rights(void **state)
{
    fixture_t *f = setup_at("2016-01-14T09:00:00Z");
    ms_meter_advance(f->m, utc_ms("2016-01-15T09:00:00Z"));
    bool prof_pub = false, prof_mgmt = false, prof_read = false;
    size_t n_pub = walk_object_list(f, &public_, &prof_pub);
    size_t n_read = walk_object_list(f, &reader, &prof_read);
    size_t n_mgmt = walk_object_list(f, &manage, &prof_mgmt);
    assert_true(n_pub < n_read);
    assert_true(n_read < n_mgmt);
    assert_true(n_mgmt == ms_cosem_object_count(f->v));
    assert_false(prof_pub); /* profiles are not public */
    assert_true(prof_read && prof_mgmt);
    dlms_data_t d;
    /* not in the public client's list: object-undefined */
    assert_int_equal(get(f, &public_, 7, MS_OBIS(1, 0, 99, 1, 0, 255), 2, &d),
                     DLMS_DAR_OBJECT_UNDEFINED);
    /* a wrong class, an attribute the class lacks, an object nobody has */
    assert_int_equal(get(f, &manage, 4, MS_OBIS(1, 0, 1, 8, 0, 255), 2, &d),
                     DLMS_DAR_OBJECT_CLASS_INCONSISTENT);
    assert_int_equal(get(f, &manage, 3, MS_OBIS(1, 0, 1, 8, 0, 255), 4, &d),
                     DLMS_DAR_OBJECT_UNAVAILABLE);
    assert_int_equal(get(f, &manage, 3, MS_OBIS(1, 0, 1, 8, 9, 255), 2, &d),
                     DLMS_DAR_OBJECT_UNDEFINED);
    /* the reader may not write the clock; the secret of an association is unreadable */
    dlms_data_t t = dlms_data_string(DLMS_OCTET_STRING, f->out, 12);
    assert_int_equal(set(f, &reader, 8, MS_OBIS(0, 0, 1, 0, 0, 255), 2, &t),
                     DLMS_DAR_READ_WRITE_DENIED);
    assert_int_equal(get(f, &manage, 15, MS_OBIS(0, 0, 40, 0, 0, 255), 7, &d),
                     DLMS_DAR_READ_WRITE_DENIED);
    /* the current association names its client and mechanism */
    assert_int_equal(get(f, &reader, 15, MS_OBIS(0, 0, 40, 0, 0, 255), 3, &d), 0);
    assert_int_equal(i64(&d.v.items[0]), 17);
    assert_int_equal(get(f, &reader, 15, MS_OBIS(0, 0, 40, 0, 0, 255), 6, &d), 0);
    assert_int_equal(d.v.bytes[6], 1); /* LLS */
    teardown_f(f);
}

/* ---- registers and the clock ---------------------------------------------------------
 */

static void test_registers(void **state)
{
    fixture_t *f = setup_at("2016-01-14T00:00:00Z");
    ms_meter_advance(f->m, utc_ms("2016-01-14T10:00:00Z")); /* 10 h at 1.2 kW */
    dlms_data_t d;
    assert_int_equal(get(f, &public_, 3, MS_OBIS(1, 0, 1, 8, 0, 255), 2, &d), 0);
    assert_int_equal(d.type, DLMS_DOUBLE_LONG_UNSIGNED);
    assert_int_equal(d.v.u, f->m->regs.energy[0][0] / 1000);
    assert_int_equal(d.v.u, 12000); /* Wh */
    assert_int_equal(get(f, &public_, 3, MS_OBIS(1, 0, 1, 8, 0, 255), 3, &d), 0);
    assert_int_equal(i64(&d.v.items[0]), 0);
    assert_int_equal(d.v.items[1].v.u, 30); /* Wh */
    /* rate 1 (working day 06:00-22:00 local = 05:00-21:00 UTC): 5 h so far */
    assert_int_equal(get(f, &public_, 3, MS_OBIS(1, 0, 1, 8, 1, 255), 2, &d), 0);
    assert_int_equal(d.v.u, 6000);
    assert_int_equal(get(f, &public_, 1, MS_OBIS(0, 0, 96, 14, 0, 255), 2, &d), 0);
    assert_int_equal(d.v.u, 1);
    /* voltage in 0.1 V */
    assert_int_equal(get(f, &public_, 3, MS_OBIS(1, 0, 32, 7, 0, 255), 2, &d), 0);
    assert_int_equal(d.v.u, 2300);
    /* maximum demand with its capture time: 1.2 kW, a quarter-hour end */
    assert_int_equal(get(f, &reader, 4, MS_OBIS(1, 0, 1, 6, 0, 255), 2, &d), 0);
    assert_int_equal(d.v.u, 1200);
    assert_int_equal(get(f, &reader, 4, MS_OBIS(1, 0, 1, 6, 0, 255), 5, &d), 0);
    dlms_datetime_t t = dt_of(&d);
    assert_int_equal(t.minute % 15, 0);
    assert_int_equal(t.deviation, -60);
    /* demand register: the last period's average is 1.2 kW, period 900 s */
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 3, &d), 0);
    assert_int_equal(d.v.u, 1200);
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 8, &d), 0);
    assert_int_equal(d.v.u, 900);
    /* half way through a period: current_average_value is half the power */
    ms_meter_advance(f->m, utc_ms("2016-01-14T10:07:30Z"));
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 2, &d), 0);
    assert_int_equal(d.v.i, 600);
    teardown_f(f);
    /* sliding window of 3 subperiods of 5 min: two whole ones and half of the third */
    const char *sliding[] = { "demand_subperiods=3" };
    f = setup_with("2016-01-14T00:00:00Z", sliding, 1);
    ms_meter_advance(f->m, utc_ms("2016-01-14T10:07:30Z"));
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 2, &d), 0);
    assert_int_equal(d.v.i, 1000);
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 3, &d), 0);
    assert_int_equal(d.v.u, 1200);
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 8, &d), 0);
    assert_int_equal(d.v.u, 300);
    assert_int_equal(get(f, &reader, 5, MS_OBIS(1, 0, 1, 4, 0, 255), 9, &d), 0);
    assert_int_equal(d.v.u, 3);
    teardown_f(f);
}

static void test_clock(void **state)
{
    fixture_t *f = setup_at("2016-07-01T10:00:00Z");
    dlms_data_t d;
    const ms_obis_t clk = MS_OBIS(0, 0, 1, 0, 0, 255);
    assert_int_equal(get(f, &public_, 8, clk, 2, &d), 0);
    dlms_datetime_t t = dt_of(&d);
    /* 10:00 UTC in summer: 12:00 CEST, deviation -120, DST bit */
    assert_int_equal(t.year, 2016);
    assert_int_equal(t.month, 7);
    assert_int_equal(t.hour, 12);
    assert_int_equal(t.wday, 5); /* a Friday */
    assert_int_equal(t.deviation, -120);
    assert_true(t.status & DLMS_CLOCK_DAYLIGHT_SAVING);
    assert_int_equal(get(f, &public_, 8, clk, 3, &d), 0);
    assert_int_equal(i64(&d), -60);
    /* daylight_savings_begin: the last Sunday of March, 02:00 local */
    assert_int_equal(get(f, &public_, 8, clk, 5, &d), 0);
    t = dt_of(&d);
    assert_int_equal(t.year, DLMS_YEAR_NOT_SPECIFIED);
    assert_int_equal(t.month, 3);
    assert_int_equal(t.day, DLMS_DAY_LAST);
    assert_int_equal(t.wday, 7);
    assert_int_equal(t.hour, 2);
    assert_int_equal(get(f, &public_, 8, clk, 6, &d), 0);
    assert_int_equal(dt_of(&d).hour, 3);
    /* SET the time (management): 2016-07-01 08:30:00 local without deviation */
    uint8_t b[12];
    dlms_datetime_t nt = { 2016, 7, 1, 0xFF, 8, 30, 0, 0, DLMS_DEVIATION_NOT_SPECIFIED,
                           0xFF };
    dlms_datetime_pack(&nt, b);
    dlms_data_t val = dlms_data_string(DLMS_OCTET_STRING, b, 12);
    assert_int_equal(set(f, &manage, 8, clk, 2, &val), 0);
    assert_int_equal(ms_meter_rtc_ms(f->m), utc_ms("2016-07-01T06:30:00Z"));
    assert_int_equal(f->commits, 1);
    const ms_event_rec_t *e =
        ms_meter_event(f->m, MS_LOG_CONFIG, f->m->logs[MS_LOG_CONFIG].n - 1);
    (void)e;
    const ms_event_rec_t *c =
        ms_meter_event(f->m, MS_LOG_CLOCK, f->m->logs[MS_LOG_CLOCK].n - 1);
    assert_non_null(strstr(c->detail, "DLMS client 1 (management)"));
    /* a value of another type */
    dlms_data_t bad = dlms_data_uint(DLMS_UNSIGNED, 3);
    assert_int_equal(set(f, &manage, 8, clk, 2, &bad), DLMS_DAR_TYPE_UNMATCHED);
    /* shift_time +30 s */
    dlms_data_t sh = dlms_data_int(DLMS_LONG, 30);
    int64_t before = ms_meter_rtc_ms(f->m);
    assert_int_equal(act(f, &manage, 8, clk, 6, &sh), DLMS_ACTION_SUCCESS);
    assert_int_equal(ms_meter_rtc_ms(f->m), before + 30000);
    assert_int_equal(act(f, &reader, 8, clk, 6, &sh), DLMS_ACTION_READ_WRITE_DENIED);
    teardown_f(f);
}

/* ---- profiles ------------------------------------------------------------------------
 */

static dlms_access_sel_t range(uint8_t *from, uint8_t *to, dlms_data_t *items,
                               dlms_data_t *ro_items)
{
    static const uint8_t clk[6] = { 0, 0, 1, 0, 0, 255 };
    ro_items[0] = dlms_data_uint(DLMS_LONG_UNSIGNED, 8);
    ro_items[1] = dlms_data_string(DLMS_OCTET_STRING, clk, 6);
    ro_items[2] = dlms_data_int(DLMS_INTEGER, 2);
    ro_items[3] = dlms_data_uint(DLMS_LONG_UNSIGNED, 0);
    items[0] = dlms_data_list(DLMS_STRUCTURE, ro_items, 4);
    items[1] = dlms_data_string(DLMS_OCTET_STRING, from, 12);
    items[2] = dlms_data_string(DLMS_OCTET_STRING, to, 12);
    items[3] = dlms_data_list(DLMS_ARRAY, NULL, 0);
    dlms_access_sel_t s = { .present = true, .selector = 1 };
    s.parameters = dlms_data_list(DLMS_STRUCTURE, items, 4);
    return s;
}

static void local_dt(int y, int mo, int d, int h, int mi, uint8_t b[12])
{
    dlms_datetime_t t = { (uint16_t)y, (uint8_t)mo, (uint8_t)d,
                          0xFF,        (uint8_t)h,  (uint8_t)mi,
                          0,           0xFF,        DLMS_DEVIATION_NOT_SPECIFIED,
                          0xFF };
    dlms_datetime_pack(&t, b);
}

static void test_profile_range_across_dst(void **state)
{
    /* the night CEST ends: 2016-10-30 03:00 CEST -> 02:00 CET */
    fixture_t *f = setup_at("2016-10-29T20:00:00Z");
    ms_meter_advance(f->m, utc_ms("2016-10-30T06:00:00Z"));
    uint8_t from[12], to[12];
    dlms_data_t items[4], ro[4], d;
    /* local 00:00 .. 04:00 on the day of the change: 5 hours of wall clock, the hour
     * 02:00-03:00 twice: 4 * 5 + 1 quarter-hours = 21 entries, 4 more than the same
     * span a day before */
    local_dt(2016, 10, 30, 0, 0, from);
    local_dt(2016, 10, 30, 4, 0, to);
    dlms_attr_sel_t s = attr(7, MS_OBIS(1, 0, 99, 1, 0, 255), 2);
    s.access = range(from, to, items, ro);
    assert_int_equal(get_sel(f, &reader, &s, &d), 0);
    assert_int_equal(d.type, DLMS_ARRAY);
    assert_int_equal(d.n, 21);
    /* each entry: time, status, 4 channels; the first at 00:00 CEST (deviation -120) */
    const dlms_data_t *e0 = &d.v.items[0];
    assert_int_equal(e0->n, 6);
    dlms_datetime_t t = dt_of(&e0->v.items[0]);
    assert_int_equal(t.hour, 0);
    assert_int_equal(t.deviation, -120);
    /* interval energy 1.2 kW x 15 min = 300 Wh */
    assert_int_equal(e0->v.items[2].v.u, 300);
    /* the second 02:00 is CET */
    int cet_two = 0;
    for (uint32_t i = 0; i < d.n; i++) {
        dlms_datetime_t x = dt_of(&d.v.items[i].v.items[0]);
        cet_two += x.hour == 2 && x.minute == 0 && x.deviation == -60;
    }
    assert_int_equal(cet_two, 1);
    local_dt(2016, 10, 29, 0, 0, from);
    local_dt(2016, 10, 29, 4, 0, to);
    s.access = range(from, to, items, ro);
    assert_int_equal(get_sel(f, &reader, &s, &d), 0);
    assert_int_equal(d.n, 0); /* before the meter existed (it starts 21:00 local) */
    /* selected values: the clock and the first channel only */
    static const uint8_t clk[6] = { 0, 0, 1, 0, 0, 255 }, ch[6] = { 1, 0, 1, 29, 0, 255 };
    dlms_data_t c0[4] = { dlms_data_uint(DLMS_LONG_UNSIGNED, 8),
                          dlms_data_string(DLMS_OCTET_STRING, clk, 6),
                          dlms_data_int(DLMS_INTEGER, 2),
                          dlms_data_uint(DLMS_LONG_UNSIGNED, 0) };
    dlms_data_t c1[4] = { dlms_data_uint(DLMS_LONG_UNSIGNED, 3),
                          dlms_data_string(DLMS_OCTET_STRING, ch, 6),
                          dlms_data_int(DLMS_INTEGER, 2),
                          dlms_data_uint(DLMS_LONG_UNSIGNED, 0) };
    dlms_data_t sv[2] = { dlms_data_list(DLMS_STRUCTURE, c0, 4),
                          dlms_data_list(DLMS_STRUCTURE, c1, 4) };
    local_dt(2016, 10, 30, 0, 0, from);
    local_dt(2016, 10, 30, 4, 0, to);
    s.access = range(from, to, items, ro);
    items[3] = dlms_data_list(DLMS_ARRAY, sv, 2);
    assert_int_equal(get_sel(f, &reader, &s, &d), 0);
    assert_int_equal(d.n, 21);
    assert_int_equal(d.v.items[0].n, 2);
    assert_int_equal(d.v.items[0].v.items[1].v.u, 300);
    /* restricting by something else than the clock */
    ro[1] = dlms_data_string(DLMS_OCTET_STRING, ch, 6);
    ro[0] = dlms_data_uint(DLMS_LONG_UNSIGNED, 3);
    assert_int_equal(get_sel(f, &reader, &s, &d), DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED);
    teardown_f(f);
}

static void test_profile_entries_and_attributes(void **state)
{
    fixture_t *f = setup_at("2016-01-14T00:00:00Z");
    ms_meter_advance(f->m, utc_ms("2016-01-14T02:00:00Z"));
    const ms_obis_t lp = MS_OBIS(1, 0, 99, 1, 0, 255);
    dlms_data_t d;
    assert_int_equal(get(f, &reader, 7, lp, 7, &d), 0); /* entries_in_use */
    size_t in_use = d.v.u;
    assert_int_equal(in_use, 8); /* 00:15 .. 02:00 (the first period ends 00:15) */
    assert_int_equal(get(f, &reader, 7, lp, 8, &d), 0);
    assert_int_equal(d.v.u, f->md->profiles[0].capacity);
    assert_int_equal(get(f, &reader, 7, lp, 4, &d), 0);
    assert_int_equal(d.v.u, 900);
    assert_int_equal(get(f, &reader, 7, lp, 3, &d), 0); /* capture objects */
    assert_int_equal(d.n, 2 + f->md->profiles[0].nch);
    assert_int_equal(d.v.items[0].v.items[0].v.u, 8); /* the clock first */
    /* entry_descriptor: entries 2..3, values 1..2 */
    dlms_data_t p[4] = { dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, 2),
                         dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, 3),
                         dlms_data_uint(DLMS_LONG_UNSIGNED, 1),
                         dlms_data_uint(DLMS_LONG_UNSIGNED, 2) };
    dlms_attr_sel_t s = attr(7, lp, 2);
    s.access = (dlms_access_sel_t){ .present = true, .selector = 2 };
    s.access.parameters = dlms_data_list(DLMS_STRUCTURE, p, 4);
    assert_int_equal(get_sel(f, &reader, &s, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.v.items[0].n, 2);
    assert_int_equal(dt_of(&d.v.items[0].v.items[0]).minute, 30); /* the 2nd entry */
    /* to_entry 0: to the last */
    p[1] = dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, 0);
    assert_int_equal(get_sel(f, &reader, &s, &d), 0);
    assert_int_equal(d.n, in_use - 1);
    /* selective access on an attribute without it */
    s.desc.attribute_id = 3;
    assert_int_equal(get_sel(f, &reader, &s, &d), DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED);
    /* the standard event log: time and event code */
    ms_meter_billing_reset(f->m, "t");
    assert_int_equal(get(f, &reader, 7, MS_OBIS(0, 0, 99, 98, 0, 255), 2, &d), 0);
    assert_true(d.n >= 1);
    const dlms_data_t *last = &d.v.items[d.n - 1];
    assert_int_equal(last->v.items[1].v.u, MS_EV_BILLING_RESET);
    teardown_f(f);
}

static void test_billing_capture_and_disconnect(void **state)
{
    fixture_t *f = setup_at("2016-01-14T00:00:00Z");
    ms_meter_advance(f->m, utc_ms("2016-01-14T10:00:00Z"));
    const ms_obis_t bp = MS_OBIS(0, 0, 98, 1, 0, 255);
    dlms_data_t zero = dlms_data_int(DLMS_INTEGER, 0), d;
    assert_int_equal(act(f, &reader, 7, bp, 2, &zero), DLMS_ACTION_READ_WRITE_DENIED);
    assert_int_equal(act(f, &manage, 7, bp, 2, &zero), DLMS_ACTION_SUCCESS);
    assert_int_equal(f->m->billing_count, 1);
    assert_int_equal(act(f, &manage, 7, MS_OBIS(1, 0, 99, 1, 0, 255), 1, &zero),
                     DLMS_ACTION_READ_WRITE_DENIED); /* derived profiles: no reset */
    assert_int_equal(get(f, &reader, 7, bp, 2, &d), 0);
    assert_int_equal(d.n, 1);
    const dlms_data_t *e = &d.v.items[0];
    assert_int_equal(e->v.items[1].v.u, 1);     /* billing counter */
    assert_int_equal(e->v.items[2].v.u, 12000); /* 1.8.0 in Wh */
    /* disconnect control: mode 1, remote disconnect then reconnect -> ready */
    const ms_obis_t dc = MS_OBIS(0, 0, 96, 3, 10, 255);
    assert_int_equal(act(f, &manage, 70, dc, 1, &zero), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 70, dc, 2, &d), 0);
    assert_int_equal(d.v.u, 0);
    assert_int_equal(act(f, &manage, 70, dc, 1, &zero), DLMS_ACTION_OTHER_REASON);
    assert_int_equal(act(f, &manage, 70, dc, 2, &zero), DLMS_ACTION_SUCCESS);
    assert_int_equal(get(f, &reader, 70, dc, 3, &d), 0);
    assert_int_equal(d.v.u, MS_BREAKER_READY);
    assert_int_equal(act(f, &reader, 70, dc, 2, &zero), DLMS_ACTION_READ_WRITE_DENIED);
    /* limiter: threshold_normal 500 W */
    dlms_data_t th = dlms_data_int(DLMS_DOUBLE_LONG, 500);
    assert_int_equal(set(f, &manage, 71, MS_OBIS(0, 0, 17, 0, 0, 255), 4, &th), 0);
    assert_int_equal(f->m->limiter_mw, 500000);
    assert_int_equal(get(f, &reader, 71, MS_OBIS(0, 0, 17, 0, 0, 255), 3, &d), 0);
    assert_int_equal(i64(&d), 500);
    teardown_f(f);
}

static void test_invocation_counters(void **state)
{
    fixture_t *f = setup_at("2016-01-14T00:00:00Z");
    assert_int_equal(ms_cosem_ops.ic_check(f->v, 1, 5), 0);
    ms_cosem_ops.ic_accept(f->v, 1, 5);
    assert_int_equal(f->persisted_rx, 6);
    assert_int_equal(ms_cosem_ops.ic_check(f->v, 1, 5), MS_EREPLAY);
    assert_int_equal(ms_cosem_ops.ic_check(f->v, 1, 4), MS_EREPLAY);
    assert_int_equal(ms_cosem_ops.ic_check(f->v, 1, 6), 0);
    uint32_t a = ms_cosem_ops.ic_next(f->v, 1), b = ms_cosem_ops.ic_next(f->v, 1);
    assert_true(b == a + 1);
    assert_int_equal(f->persisted_tx, b + 1);
    /* the public client reads the counter the management client must use next */
    dlms_data_t d;
    assert_int_equal(get(f, &public_, 1, MS_OBIS(0, 0, 43, 1, 3, 255), 2, &d), 0);
    assert_int_equal(d.v.u, 6);
    /* restored after a restart */
    assert_int_equal(ms_cosem_set_counters(f->v, 1, 100, 50), 0);
    assert_int_equal(ms_cosem_ops.ic_check(f->v, 1, 49), MS_EREPLAY);
    assert_int_equal(ms_cosem_ops.ic_next(f->v, 1), 100);
    assert_int_equal(ms_cosem_set_counters(f->v, 99, 1, 1), MS_ENOENT);
    /* association settings per client */
    dlms_assoc_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(ms_cosem_ops.association(f->v, 17, 1, &cfg), 0);
    assert_int_equal(cfg.mechanism, DLMS_MECH_LLS);
    assert_int_equal(cfg.password_len, 8);
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(ms_cosem_ops.association(f->v, 1, 1, &cfg), 0);
    assert_int_equal(cfg.mechanism, DLMS_MECH_HLS_GMAC);
    assert_int_equal(cfg.policy, 3);
    assert_int_equal(cfg.ek[15], 0x0F);
    assert_int_equal(ms_cosem_ops.association(f->v, 99, 1, &cfg), MS_ENOENT);
    assert_int_equal(ms_cosem_ops.association(f->v, 16, 7, &cfg), MS_ENOENT);
    teardown_f(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_lists_and_rights),
        cmocka_unit_test(test_registers),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_profile_range_across_dst),
        cmocka_unit_test(test_profile_entries_and_attributes),
        cmocka_unit_test(test_billing_capture_and_disconnect),
        cmocka_unit_test(test_invocation_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
