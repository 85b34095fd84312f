/*
** test_sim_config.c — configuration files: the field-path-to-line scanner, and model
** files with mistakes, each of which must be refused with a message naming the file,
** the line and the field.
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "luacfg.h"
#include "model.h"
#include "ms_err.h"

static const char src[] = "-- a comment { not a table }\n"      /* 1 */
                          "return {\n"                          /* 2 */
                          "  name = \"x\", -- [[ name = 1 ]]\n" /* 3 */
                          "  tariff = {\n"                      /* 4 */
                          "    rates = 2,\n"                    /* 5 */
                          "    day = { { \"00:00\", 1 },\n"     /* 6 */
                          "            { \"06:00\", 2 } },\n"   /* 7 */
                          "  },\n"                              /* 8 */
                          "  [\"quoted key\"] = [[long\n"       /* 9 */
                          "string]],\n"                         /* 10 */
                          "  after = 1;\n"                      /* 11 */
                          "}\n";

static void test_line_of(void **state)
{
    size_t n = sizeof src - 1;
    assert_int_equal(ms_luacfg_line_of(src, n, "name"), 3);
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff"), 4);
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff.rates"), 5);
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff.day"), 6);
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff.day[1]"), 6);
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff.day[2]"), 7);
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff.day[2][2]"), 7);
    assert_int_equal(ms_luacfg_line_of(src, n, "quoted key"), 9);
    assert_int_equal(ms_luacfg_line_of(src, n, "after"), 11);
    /* not written: the nearest written ancestor */
    assert_int_equal(ms_luacfg_line_of(src, n, "tariff.missing"), 4);
    assert_int_equal(ms_luacfg_line_of(src, n, "nothing"), 0);
}

/* A model file with one substitution applied; the load must fail with a message
 * containing `want` (file name and line are checked through it). */
static void broken_in(const char *model, const char *from, const char *to, int dline,
                      const char *want)
{
    FILE *f = fopen(model, "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *at = strstr(text, from);
    if (!at)
        fail_msg("model lacks '%s'", from);
    /* the expected line: where the changed text is, plus dline */
    int line = 1 + dline;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    char path[] = "/tmp/ms_model_XXXXXX.lua";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    FILE *o = fdopen(fd, "w");
    fwrite(text, 1, (size_t)(at - text), o);
    fputs(to, o);
    fputs(at + strlen(from), o);
    fclose(o);
    ms_model_t *m = calloc(1, sizeof *m);
    char msg[512] = "", expect[600];
    int rc = ms_model_load(path, m, msg, sizeof msg);
    free(m);
    unlink(path);
    assert_true(rc < 0);
    if (want[0] == '*') /* no line: a message from Lua or the instruction limit */
        snprintf(expect, sizeof expect, "%s:%s", path, want + 1);
    else
        snprintf(expect, sizeof expect, "%s:%d: %s", path, line, want);
    if (!strstr(msg, expect))
        fail_msg("message\n  %s\ndoes not contain\n  %s", msg, expect);
}

/* The shipped model with one substitution applied. */
static void broken(const char *from, const char *to, int dline, const char *want)
{
    broken_in("sim/models/ms3p-direct.lua", from, to, dline, want);
}

static void test_model_errors(void **state)
{
    broken("manufacturer = \"MSM\"", "manufacturr = \"MSM\"", 0,
           "field 'manufacturr': unknown field");
    broken("manufacturer = \"MSM\"", "manufacturer = \"MS\"", 0,
           "field 'manufacturer': three letters expected");
    broken("mode = \"C\"", "mode = \"X\"", 0,
           "field 'iec62056_21.mode': \"X\" is not one of");
    broken("baud = 9600", "baud = 9601", 0,
           "field 'iec62056_21.baud': 9601 Bd has no baud");
    broken("{ \"1-0:1.8.1*255\", \"kWh\", 7, 3 }", "{ \"1-0:1.8.1\", \"kWh\", 7, 3 }", 0,
           "field 'iec62056_21.readout[7][1]': \"1-0:1.8.1\" is not a full OBIS code");
    broken("{ \"1-0:1.8.2*255\", \"kWh\", 7, 3 }",
           "{ \"1-0:1.8.2*255\", \"kvarh\", 7, 3 }", 0,
           "field 'iec62056_21.readout[8][2]': unit \"kvarh\" does not fit");
    broken("{ \"1-0:2.8.0*255\", \"kWh\", 7, 3 }",
           "{ \"1-0:99.8.0*255\", \"kWh\", 7, 3 }", 0,
           "field 'iec62056_21.readout[9][1]': 1-0:99.8.0*255 is not a register");
    /* impossible calendars are refused, naming the field */
    broken("{ \"00:00\", 2 }, { \"06:00\", 1 }", "{ \"00:30\", 2 }, { \"06:00\", 1 }", 0,
           "field 'calendar.days[1][1][1]': a day profile must start at 00:00");
    broken("{ \"06:00\", 1 }", "{ \"26:00\", 1 }", 0,
           "field 'calendar.days[1][2][1]': \"26:00\" is not a time of day HH:MM");
    broken("{ \"06:00\", 1 }, { \"22:00\", 2 }", "{ \"06:00\", 1 }, { \"05:00\", 2 }", 0,
           "field 'calendar.days[1][3][1]': switch times must ascend");
    broken("{ \"22:00\", 2 }", "{ \"22:00\", 3 }", 0,
           "field 'calendar.days[1][3][2]': rate 3, the calendar has 2");
    broken("rates = 2,", "rates = 9,", 0,
           "field 'calendar.rates': 9 is out of range 1..8");
    broken(
        "seasons = { { name = \"all year\", start = \"01-01\", week = \"standard\" } }",
        "seasons = { { name = \"a\", start = \"04-01\", week = \"standard\" },\n"
        "              { name = \"b\", start = \"04-01\", week = \"standard\" } }",
        1, "field 'calendar.seasons[2].start': overlaps seasons[1] (same start)");
    broken("start = \"01-01\"", "start = \"02-30\"", 0,
           "field 'calendar.seasons[1].start': a date that does not exist");
    broken("{ \"05-01\", \"rest\" }", "{ \"05-01\", \"holiday\" }", 0,
           "field 'calendar.special_days[2][2]': no day profile named \"holiday\"");
    broken("\"working\", \"rest\", \"rest\" }", "\"working\", \"rest\" }", 0,
           "field 'calendar.weeks[1]': needs 7 day profile names");
    broken("phase_share = { 40, 35, 25 }", "phase_share = { 40, 35, 20 }", 0,
           "field 'phase_share': shares add up to 95");
    broken("power_factor = 0.95", "power_factor = \"high\"", 0,
           "field 'power_factor': expected a number, got string");
    broken("timezone = \"CET\"", "timezone = \"Mars\"", 0, "field 'timezone': \"Mars\"");
    broken("demand_period = 900", "demand_period = 700", 0,
           "field 'demand_period': 700 s");
    broken("billing = { day = 1", "billing = { day = 31", 0,
           "field 'billing.day': 31 is out");
    broken("battery_response = \"continue\"", "battery_response = \"panic\"", 0,
           "field 'battery_response': \"panic\" is not one of");
    broken("period = 900, capacity", "period = 700, capacity", 0,
           "field 'profiles[1].period': 700 s");
    broken("\"1-0:4.8.0*255\" } }", "\"1-0:32.7.0*255\" } }", 0,
           "field 'profiles[1].channels[4]': 1-0:32.7.0*255 is an instantaneous value: "
           "kind = \"value\"");
    broken("\"1-0:4.8.0*255\" } }", "\"1-0:0.9.1*255\" } }", 0,
           "field 'profiles[1].channels[4]': \"1-0:0.9.1*255\" is not an energy "
           "register");
    broken("rates = 2,", "rates = 2,,", 0, ""); /* Lua syntax error names the line */
    broken("return {", "while true do end return {", 0, "instruction limit exceeded");
    ms_model_t m;
    char msg[256];
    assert_int_equal(ms_model_load("/nonexistent/m.lua", &m, msg, sizeof msg), MS_ENOENT);
    assert_non_null(strstr(msg, "/nonexistent/m.lua: cannot open"));
}

/* --set into a section the model file leaves out creates it; a misspelt one is still
 * refused by the checker, naming the override. */
static void test_set_missing_section(void **state)
{
    ms_model_t m;
    char msg[256] = "";
    const char *ok[] = { "dlms.hdlc.inactivity_s=2" };
    int rc = ms_model_load_with("sim/models/ms3p-direct.lua", ok, 1, &m, msg, sizeof msg);
    if (rc)
        fail_msg("%s", msg);
    assert_int_equal(m.dlms.hdlc_inactivity_s, 2);
    assert_int_equal(m.dlms.hdlc_max_info, 128);
    const char *typo[] = { "dlms.hdcl.inactivity_s=2" };
    assert_int_equal(
        ms_model_load_with("sim/models/ms3p-direct.lua", typo, 1, &m, msg, sizeof msg),
        MS_EINVAL);
    assert_non_null(strstr(msg, "hdcl"));
}

/* The legacy form tariff = { rates, day = { switch times } }: one day profile every day,
 * read and refused like a calendar's day profile. */
static void test_legacy_tariff(void **state)
{
    static const char bench[] = "testbench/perf/models/bench-small.lua";
    ms_model_t *m = calloc(1, sizeof *m);
    char msg[256] = "";
    if (ms_model_load(bench, m, msg, sizeof msg))
        fail_msg("%s", msg);
    const ms_calendar_t *c = &m->calendar;
    assert_int_equal(c->nrates, 2);
    assert_int_equal(c->ndays, 1);
    assert_int_equal(c->days[0].nactions, 3);
    assert_int_equal(c->days[0].actions[1].start_min, 6 * 60);
    assert_int_equal(c->days[0].actions[1].rate, 1);
    assert_int_equal(c->days[0].actions[2].rate, 2);
    assert_int_equal(c->weeks[0].day[6], 0);
    /* no dlms table: the default logical device (serial 60012345: address 16 + 2345) */
    assert_int_equal(m->dlms.logical_device, 1);
    assert_int_equal(m->dlms.physical_address, 16 + 2345);
    assert_int_equal(m->dlms.max_pdu, 1024);
    assert_int_equal(m->dlms.hdlc_window, 1);
    assert_int_equal(m->dlms.hdlc_inter_octet_ms, 200);
    assert_int_equal(m->dlms.nclients, 3);
    free(m);
    broken_in(bench, "{ \"06:00\", 1 }", "{ \"26:00\", 1 }", 0,
              "field 'tariff.day[2][1]': \"26:00\" is not a time of day HH:MM");
    broken_in(bench, "{ \"06:00\", 1 }", "{ \"06:00\", 3 }", 0,
              "field 'tariff.day[2][2]': 3 is out of range 1..2");
}

static void test_model_ok(void **state)
{
    ms_model_t m;
    char msg[256] = "";
    int rc = ms_model_load("sim/models/ms3p-direct.lua", &m, msg, sizeof msg);
    if (rc)
        fail_msg("%s", msg);
    assert_string_equal(m.manufacturer, "MSM");
    assert_int_equal(m.iec21.session.mode, 'C');
    assert_int_equal(m.iec21.session.baud_z, '5');
    assert_int_equal(m.iec21.baud, 9600);
    assert_int_equal(m.calendar.nrates, 2);
    assert_int_equal(m.reactive_permille, 329);
    assert_int_equal(m.nominal_voltage_mv, 230000);
    assert_true(m.iec21.session.programming);
    char path[512];
    assert_int_equal(ms_model_find("ms3p-direct", path, sizeof path), 0);
    assert_int_equal(ms_model_find("no-such-model", path, sizeof path), MS_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_of),
        cmocka_unit_test(test_model_errors),
        cmocka_unit_test(test_model_ok),
        cmocka_unit_test(test_legacy_tariff),
        cmocka_unit_test(test_set_missing_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
