/*
** test_sim_model.c — unit tests of the meter model: time zone, load sources
** (constant, CSV replay with gaps, the real OPSD household), integration, demand, the
** register catalogue and the IEC 62056-21 view.
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

#include "iec21_msg.h"
#include "load.h"
#include "meter.h"
#include "model.h"
#include "ms_err.h"
#include "ms_time.h"
#include "registers.h"
#include "calendar.h"
#include "tz.h"
#include "view_iec21.h"

#define H_MS 3600000LL

static int64_t utc_ms(const char *iso)
{
    int64_t t;
    assert_int_equal(ms_iso8601_parse(iso, &t, NULL), 0);
    return t * 1000;
}

static const char *opsd_path(void)
{
    static char p[1024];
    const char *d = getenv("MS_SHARED_DATA");
    if (!d)
        d = "../shared/data";
    snprintf(p, sizeof p,
             "%s/consumption/opsd_household_konstanz/"
             "household_data_60min_singleindex_2017_residential4.csv",
             d);
    return p;
}

static void test_tz_eu(void **state)
{
    ms_tz_t tz;
    assert_int_equal(ms_tz_parse("CET", &tz), 0);
    bool dst;
    /* Directive 2000/84/EC: 2016-03-27 and 2016-10-30 at 01:00 UTC. */
    assert_int_equal(ms_tz_offset(&tz, utc_ms("2016-03-27T00:59:59Z") / 1000, &dst),
                     3600);
    assert_false(dst);
    assert_int_equal(ms_tz_offset(&tz, utc_ms("2016-03-27T01:00:00Z") / 1000, &dst),
                     7200);
    assert_true(dst);
    assert_int_equal(ms_tz_offset(&tz, utc_ms("2016-10-30T00:59:59Z") / 1000, NULL),
                     7200);
    assert_int_equal(ms_tz_offset(&tz, utc_ms("2016-10-30T01:00:00Z") / 1000, NULL),
                     3600);
    assert_int_equal(ms_tz_next_transition(&tz, utc_ms("2016-01-01T00:00:00Z") / 1000),
                     utc_ms("2016-03-27T01:00:00Z") / 1000);
    assert_int_equal(ms_tz_next_transition(&tz, utc_ms("2016-03-27T01:00:00Z") / 1000),
                     utc_ms("2016-10-30T01:00:00Z") / 1000);
    assert_int_equal(ms_tz_next_transition(&tz, utc_ms("2016-11-01T00:00:00Z") / 1000),
                     utc_ms("2017-03-26T01:00:00Z") / 1000);
    assert_int_equal(ms_tz_parse("+05:30", &tz), 0);
    assert_int_equal(ms_tz_offset(&tz, 0, NULL), 19800);
    assert_int_equal(ms_tz_next_transition(&tz, 0), INT64_MAX);
    assert_int_equal(ms_tz_parse("Mars/Olympus", &tz), MS_EPARSE);
}

static void two_rate(ms_calendar_t *c)
{
    static const ms_day_action_t day[] = { { 0, 2, 0 },
                                           { 6 * 60, 1, 0 },
                                           { 22 * 60, 2, 0 } };
    ms_calendar_single(c, 2, day, 3);
    char field[32];
    assert_int_equal(ms_calendar_check(c, field, sizeof field), 0);
}

static void test_load_constant(void **state)
{
    ms_load_t *l = ms_load_constant(1000000 /* 1 kW */, 0, NULL);
    assert_non_null(l);
    int64_t a[2], b[2];
    ms_load_cumulative(l, 0, a);
    ms_load_cumulative(l, H_MS, b);
    assert_int_equal(b[0] - a[0], 1000000); /* 1 kWh in mWh */
    /* telescoping: any split of an interval sums to the whole */
    int64_t t = 12345, sum = 0, prev[2];
    ms_load_cumulative(l, t, prev);
    for (int i = 0; i < 1000; i++) {
        int64_t nt = t + 1 + (i * 7919) % 4001, c[2];
        ms_load_cumulative(l, nt, c);
        sum += c[0] - prev[0];
        memcpy(prev, c, sizeof c);
        t = nt;
    }
    ms_load_cumulative(l, 12345, a);
    ms_load_cumulative(l, t, b);
    assert_int_equal(sum, b[0] - a[0]);
    ms_load_seg_t seg;
    ms_load_segment(l, 42, &seg);
    assert_true(seg.valid);
    assert_int_equal(seg.power_mw[MS_DIR_IMPORT], 1000000);
    ms_load_free(l);
    int err = 0;
    assert_null(ms_load_constant(-1, 0, &err));
    assert_int_equal(err, MS_EINVAL);
}

static void test_load_csv_gaps(void **state)
{
    ms_load_csv_opts_t o = { .path = "sim/test/data/gaps.csv" };
    char msg[256];
    int err = 0;
    ms_load_t *l = ms_load_csv(&o, &err, msg, sizeof msg);
    assert_non_null(l);
    int64_t c[2];
    /* readings are met exactly, also after a gap */
    ms_load_cumulative(l, utc_ms("2016-01-01T01:00:00Z"), c);
    assert_int_equal(c[MS_DIR_IMPORT], 101000000);
    ms_load_cumulative(l, utc_ms("2016-01-01T04:00:00Z"), c);
    assert_int_equal(c[MS_DIR_IMPORT], 104001000);
    assert_int_equal(c[MS_DIR_EXPORT], 5600000);
    /* the gap is bridged linearly: 3.001 kWh over 3 h, not zero */
    ms_load_cumulative(l, utc_ms("2016-01-01T02:00:00Z"), c);
    assert_int_equal(c[MS_DIR_IMPORT], 101000000 + 1000333);
    ms_load_seg_t seg;
    ms_load_segment(l, utc_ms("2016-01-01T02:30:00Z"), &seg);
    assert_true(seg.valid);
    assert_true(seg.bridged);
    assert_int_equal(seg.start_ms, utc_ms("2016-01-01T02:00:00Z"));
    assert_int_equal(seg.end_ms, utc_ms("2016-01-01T03:00:00Z"));
    ms_load_segment(l, utc_ms("2016-01-01T04:30:00Z"), &seg);
    assert_false(seg.bridged);
    assert_int_equal(seg.power_mw[MS_DIR_IMPORT], 500000);
    assert_int_equal(seg.power_mw[MS_DIR_EXPORT], 0);
    /* leading export gap: flat (no data, no energy) */
    ms_load_cumulative(l, utc_ms("2016-01-01T00:00:00Z"), c);
    assert_int_equal(c[MS_DIR_EXPORT], 5000000);
    /* outside the data: no energy, segment invalid */
    ms_load_segment(l, utc_ms("2015-12-31T00:00:00Z"), &seg);
    assert_false(seg.valid);
    ms_load_segment(l, utc_ms("2016-02-01T00:00:00Z"), &seg);
    assert_false(seg.valid);
    ms_load_free(l);
}

static void csv_error(const char *file, int want, const char *want_text)
{
    char path[256], msg[512] = "";
    snprintf(path, sizeof path, "sim/test/data/%s", file);
    ms_load_csv_opts_t o = { .path = path };
    int err = 0;
    assert_null(ms_load_csv(&o, &err, msg, sizeof msg));
    assert_int_equal(err, want);
    if (!strstr(msg, want_text))
        fail_msg("message '%s' lacks '%s'", msg, want_text);
}

static void test_load_csv_errors(void **state)
{
    csv_error("bad_number.csv", MS_EPARSE,
              "bad_number.csv:3: column 'X_grid_import': '1.5x'");
    csv_error("bad_time.csv", MS_EPARSE, "bad_time.csv:3: column 'utc_timestamp'");
    csv_error("bad_fields.csv", MS_EPARSE,
              "bad_fields.csv:2: 3 fields, the header has 2");
    csv_error("bad_decrease.csv", MS_ERANGE, "column 'X_grid_import': reading at");
    csv_error("no_such_file.csv", MS_ENOENT, "no_such_file.csv: cannot open");
}

static void test_load_opsd(void **state)
{
    char msg[256];
    int err = 0;
    ms_load_t *l = ms_load_from_spec(opsd_path(), &err, msg, sizeof msg);
    if (!l)
        fail_msg("OPSD household data (../shared/data, or $MS_SHARED_DATA): %s", msg);
    int64_t a[2], b[2];
    /* Readings from the file (grid_import, grid_export in kWh):
     * 2015-11-24T09:00Z 396.370 / 540.556, 10:00Z 396.830 / 541.373. */
    ms_load_cumulative(l, utc_ms("2015-11-24T09:00:00Z"), a);
    ms_load_cumulative(l, utc_ms("2015-11-24T10:00:00Z"), b);
    assert_int_equal(b[MS_DIR_IMPORT] - a[MS_DIR_IMPORT], 460000);
    assert_int_equal(b[MS_DIR_EXPORT] - a[MS_DIR_EXPORT], 817000);
    /* Across the 15-hour gap 2015-11-06T18:00Z..2015-11-07T08:00Z:
     * 242.390 -> 245.620 kWh import. */
    ms_load_cumulative(l, utc_ms("2015-11-06T17:00:00Z"), a);
    ms_load_cumulative(l, utc_ms("2015-11-07T09:00:00Z"), b);
    assert_int_equal(b[MS_DIR_IMPORT] - a[MS_DIR_IMPORT], 3230000);
    ms_load_free(l);
}

static ms_model_t test_model(void)
{
    ms_model_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "test");
    m.phases = 3;
    m.phase_share_pct[0] = 40;
    m.phase_share_pct[1] = 35;
    m.phase_share_pct[2] = 25;
    m.nominal_voltage_mv = 230000;
    m.frequency_mhz = 50000;
    m.power_factor_permille = 950;
    m.reactive_permille = 329;
    ms_tz_parse("CET", &m.tz);
    two_rate(&m.calendar);
    m.demand_period_s = 900;
    return m;
}

static void test_meter_day(void **state)
{
    ms_model_t md = test_model();
    int64_t t0 = utc_ms("2016-01-14T23:00:00Z"); /* 2016-01-15 00:00 CET */
    ms_meter_t *m = ms_meter_new("m1", &md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    ms_meter_t *n = ms_meter_new("m2", &md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    assert_non_null(m);
    ms_meter_advance(m, t0 + 24 * H_MS);
    /* the same day in uneven steps gives the same registers: catch-up is exact */
    for (int64_t t = t0; t < t0 + 24 * H_MS; t += 7 * 60000 + 123)
        ms_meter_advance(n, t);
    ms_meter_advance(n, t0 + 24 * H_MS);
    assert_int_equal(m->regs.energy[MS_E_AP][0], 24000000);
    assert_int_equal(m->regs.energy[MS_E_AP][1], 16000000); /* 06:00-22:00 */
    assert_int_equal(m->regs.energy[MS_E_AP][2], 8000000);
    assert_int_equal(m->regs.energy[MS_E_RP][0], 24000000LL * 329 / 1000);
    assert_int_equal(m->regs.energy[MS_E_RP][1] + m->regs.energy[MS_E_RP][2],
                     m->regs.energy[MS_E_RP][0]);
    assert_memory_equal(m->regs.energy, n->regs.energy, sizeof m->regs.energy);
    assert_memory_equal(m->demand, n->demand, sizeof m->demand);
    ms_reg_value_t v;
    ms_obis_t o = MS_OBIS(1, 0, 1, 6, 0, 255);
    assert_int_equal(ms_meter_read(m, &o, &v), 0);
    assert_int_equal(v.value, 1000000); /* 1 kW block demand */
    o = MS_OBIS(1, 0, 21, 7, 0, 255);
    assert_int_equal(ms_meter_read(m, &o, &v), 0);
    assert_int_equal(v.value, 400000); /* 40 % on L1 */
    o = MS_OBIS(1, 0, 31, 7, 0, 255);
    assert_int_equal(ms_meter_read(m, &o, &v), 0);
    assert_int_equal(v.value, 1830); /* 400 W / (230 V * 0.95) = 1.8307 A */
    o = MS_OBIS(1, 0, 0, 9, 1, 255);
    assert_int_equal(ms_meter_read(m, &o, &v), 0);
    assert_string_equal(v.text, "000000"); /* local midnight */
    o = MS_OBIS(1, 0, 0, 9, 2, 255);
    assert_int_equal(ms_meter_read(m, &o, &v), 0);
    assert_string_equal(v.text, "160116");
    o = MS_OBIS(1, 0, 1, 8, 3, 255); /* rate 3 of a 2-rate meter */
    assert_int_equal(ms_meter_read(m, &o, &v), MS_ENOENT);
    ms_meter_free(m);
    ms_meter_free(n);
}

static void test_meter_opsd_day(void **state)
{
    /* A+ over a day of the real household equals the difference of its grid_import
     * readings (2016-01-01T00:00Z 1144.970 kWh -> 2016-01-02T00:00Z 1167.855 kWh),
     * and the rates add up to the total. */
    ms_model_t md = test_model();
    char msg[256];
    ms_load_t *l = ms_load_from_spec(opsd_path(), NULL, msg, sizeof msg);
    if (!l)
        fail_msg("%s", msg);
    int64_t t0 = utc_ms("2016-01-01T00:00:00Z");
    ms_meter_t *m = ms_meter_new("m", &md, l, t0, NULL);
    ms_meter_advance(m, t0 + 24 * H_MS);
    assert_int_equal(m->regs.energy[MS_E_AP][0], 22885000);
    assert_int_equal(m->regs.energy[MS_E_AN][0], 658000);
    assert_int_equal(m->regs.energy[MS_E_AP][1] + m->regs.energy[MS_E_AP][2], 22885000);
    ms_meter_free(m);
}

static void test_format_fixed(void **state)
{
    char b[40];
    assert_int_equal(ms_reg_format_fixed(8048375123, -3, "Wh", "kWh", 7, 3, b, sizeof b),
                     11);
    assert_string_equal(b, "0008048.375");
    ms_reg_format_fixed(2468000, -3, "W", "kW", 2, 3, b, sizeof b);
    assert_string_equal(b, "02.468");
    ms_reg_format_fixed(230000, -3, "V", "V", 3, 1, b, sizeof b);
    assert_string_equal(b, "230.0");
    ms_reg_format_fixed(950, -3, "", "", 1, 3, b, sizeof b);
    assert_string_equal(b, "0.950");
    ms_reg_format_fixed(999999, -3, "Wh", "kWh", 1, 3, b, sizeof b);
    assert_string_equal(b, "0.999"); /* truncated, not rounded */
    ms_reg_format_fixed(5, 0, "Wh", "Wh", 1, 2, b, sizeof b);
    assert_string_equal(b, "5.00");
    ms_reg_format_fixed(-1500, -3, "W", "W", 1, 1, b, sizeof b);
    assert_string_equal(b, "-1.5");
    assert_int_equal(ms_reg_format_fixed(1, -3, "Wh", "kvarh", 1, 1, b, sizeof b),
                     MS_EINVAL);
    assert_int_equal(ms_reg_format_fixed(1, -3, "Wh", "kWh", 1, 3, b, 3), MS_ENOSPC);
    char name[80];
    ms_obis_t o = MS_OBIS(1, 0, 2, 8, 1, 255);
    assert_string_equal(ms_reg_name(&o, name, sizeof name),
                        "Active energy export (A-) rate 1");
}

static void test_view_iec21(void **state)
{
    ms_model_t md;
    char msg[256];
    if (ms_model_load("sim/models/ms3p-direct.lua", &md, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    int64_t t0 = utc_ms("2016-01-14T23:00:00Z");
    ms_meter_t *m = ms_meter_new("m", &md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    ms_meter_advance(m, t0 + 24 * H_MS);
    uint8_t buf[4096];
    ms_wr_t w;
    ms_wr_init(&w, buf, sizeof buf - 1);
    assert_int_equal(ms_iec21_readout(m, &w), 0);
    buf[w.len] = 0;
    const char *want[] = { "0-0:C.1.0*255(60012345)\r\n",
                           "1-0:0.9.1*255(000000)\r\n",
                           "1-0:0.9.2*255(160116)\r\n",
                           "1-0:1.8.0*255(0000024.000*kWh)\r\n",
                           "1-0:1.8.1*255(0000016.000*kWh)\r\n",
                           "1-0:3.8.0*255(0000007.896*kvarh)\r\n",
                           "1-0:1.6.0*255(01.000*kW)(1601150015)\r\n",
                           "1-0:32.7.0*255(230.0*V)\r\n",
                           "1-0:13.7.0*255(0.950)\r\n",
                           "0-0:F.F.0*255(00000000)\r\n" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr((char *)buf, want[i]))
            fail_msg("readout lacks %s:\n%s", want[i], buf);
    /* every line is a well-formed data set (checked with the codec's own iterator) */
    ms_rd_t r;
    ms_rd_init(&r, buf, w.len);
    iec21_dataset_t ds;
    int n = 0, rc;
    while ((rc = iec21_dataset_next(&r, &ds)) == 1)
        n++;
    assert_int_equal(rc, 0);
    /* two historical values are absent (no billing yet); 1.6.0 and 2.6.0 carry a time */
    assert_int_equal(n, (int)md.iec21.nreadout);
    assert_null(strstr((char *)buf, "*1("));
    int lines = 0;
    for (const char *p = (char *)buf; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, (int)md.iec21.nreadout - 2);
    /* the data-set address in each address style, with and without letter codes */
    char a[32];
    ms_obis_t serial = MS_OBIS(0, 0, 96, 1, 0, 255), e1 = MS_OBIS(1, 0, 1, 8, 1, 255);
    ms_iec21_address(&md, &serial, a, sizeof a);
    assert_string_equal(a, "0-0:C.1.0*255");
    md.iec21.letters = false;
    md.iec21.addr_style = MS_ADDR_ABCDE;
    ms_iec21_address(&md, &serial, a, sizeof a);
    assert_string_equal(a, "0-0:96.1.0");
    md.iec21.addr_style = MS_ADDR_CDE;
    ms_iec21_address(&md, &e1, a, sizeof a);
    assert_string_equal(a, "1.8.1");
    md.iec21.letters = true;
    md.iec21.addr_style = MS_ADDR_FULL;

    /* R1 by a reduced address */
    iec21_msg_t cmd = { .type = IEC21_MSG_COMMAND, .cmd = 'R', .cmd_type = '1' };
    cmd.data = (const uint8_t *)"1.8.1()";
    cmd.data_len = 7;
    ms_wr_init(&w, buf, sizeof buf - 1);
    assert_int_equal(ms_iec21_command(m, 1, &cmd, &w), IEC21_REPLY_DATA);
    buf[w.len] = 0;
    assert_string_equal((char *)buf, "1.8.1(0000016.000*kWh)");
    cmd.data = (const uint8_t *)"1.8.7()";
    ms_wr_init(&w, buf, sizeof buf - 1);
    assert_int_equal(ms_iec21_command(m, 1, &cmd, &w), IEC21_REPLY_ERROR);
    cmd.data = (const uint8_t *)"1.x.7()";
    ms_wr_init(&w, buf, sizeof buf - 1);
    assert_int_equal(ms_iec21_command(m, 1, &cmd, &w), IEC21_REPLY_ERROR);
    assert_int_equal(ms_iec21_password(m, 1, "00000000", 8), 0);
    assert_int_equal(ms_iec21_password(m, 1, "00000001", 8), MS_EACCES);
    assert_int_equal(ms_iec21_password(m, 1, "0000000", 7), MS_EACCES);
    assert_int_equal(ms_iec21_password(m, 2, "00000000", 8), MS_EACCES);
    ms_meter_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_eu),          cmocka_unit_test(test_load_constant),
        cmocka_unit_test(test_load_csv_gaps),  cmocka_unit_test(test_load_csv_errors),
        cmocka_unit_test(test_load_opsd),      cmocka_unit_test(test_meter_day),
        cmocka_unit_test(test_meter_opsd_day), cmocka_unit_test(test_format_fixed),
        cmocka_unit_test(test_view_iec21),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
