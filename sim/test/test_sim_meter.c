/*
** test_sim_meter.c — the meter model's behaviour: calendar edge cases (midnight, DST
** spring-forward and fall-back, special days, season change, 29 February, a 25-year
** plan), catch-up invariance, derived load profiles, billing, clock sets, outages and
** the three battery-failure responses, tariff override, calendar programming.
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

#include "calendar.h"
#include "load.h"
#include "meter.h"
#include "model.h"
#include "ms_err.h"
#include "ms_time.h"
#include "tz.h"

#define H_MS   3600000LL
#define MIN_MS 60000LL

static int64_t utc_ms(const char *iso)
{
    int64_t t;
    if (ms_iso8601_parse(iso, &t, NULL) != 0)
        fail_msg("bad time %s", iso);
    return t * 1000;
}

static const char *opsd_path(void)
{
    static char p[1024];
    const char *d = getenv("MS_SHARED_DATA");
    snprintf(p, sizeof p,
             "%s/consumption/opsd_household_konstanz/"
             "household_data_60min_singleindex_2017_residential4.csv",
             d ? d : "../shared/data");
    return p;
}

/* ---- a calendar with every feature the tests need ---------------------------------- */

enum { D_WORK, D_REST, D_SUMMER, D_MIDNIGHT, D_DST, D_LEAP };

static void day(ms_calendar_t *c, unsigned i, const char *spec)
{
    /* spec: "HH:MM=r HH:MM=r ..." */
    ms_day_profile_t *p = &c->days[i];
    p->day_id = (uint8_t)(i + 1);
    p->nactions = 0;
    const char *s = spec;
    int h, m, r, n;
    while (sscanf(s, "%d:%d=%d%n", &h, &m, &r, &n) == 3) {
        p->actions[p->nactions++] =
            (ms_day_action_t){ (uint16_t)(h * 60 + m), (uint8_t)r, 0 };
        s += n;
    }
}

static void test_calendar(ms_calendar_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "test");
    c->nrates = 2;
    c->ndays = 6;
    day(c, D_WORK, "00:00=2 06:00=1 22:00=2");
    day(c, D_REST, "00:00=2");
    day(c, D_SUMMER, "00:00=2 07:00=1 21:00=2");
    day(c, D_MIDNIGHT, "00:00=1 18:00=2");
    day(c, D_DST, "00:00=1 02:30=2");
    day(c, D_LEAP, "00:00=1");
    c->nweeks = 2;
    ms_week_profile_t std = {
        "std", { D_WORK, D_WORK, D_WORK, D_WORK, D_WORK, D_REST, D_REST }
    };
    ms_week_profile_t sum = {
        "summer", { D_SUMMER, D_SUMMER, D_SUMMER, D_SUMMER, D_SUMMER, D_REST, D_REST }
    };
    c->weeks[0] = std;
    c->weeks[1] = sum;
    c->nseasons = 2;
    c->seasons[0] = (ms_season_t){ "winter", MS_EVERY_YEAR, 10, 1, 0 };
    c->seasons[1] = (ms_season_t){ "summer", MS_EVERY_YEAR, 4, 1, 1 };
    c->nspecial = 3;
    c->special[0] = (ms_special_day_t){ MS_EVERY_YEAR, 12, 26, D_REST };
    c->special[1] = (ms_special_day_t){ MS_EVERY_YEAR, 2, 29, D_LEAP };
    c->special[2] = (ms_special_day_t){ 2016, 3, 27, D_DST }; /* spring forward day */
    char field[96];
    if (ms_calendar_check(c, field, sizeof field))
        fail_msg("test calendar refused: %s", field);
}

static ms_tz_t cet(void)
{
    ms_tz_t tz;
    assert_int_equal(ms_tz_parse("CET", &tz), 0);
    return tz;
}

static int rate_at(const ms_calendar_t *c, const ms_tz_t *tz, const char *iso)
{
    int64_t u = utc_ms(iso) / 1000;
    return ms_calendar_action_at(c, ms_tz_local(tz, u))->rate;
}

static int64_t next_change(const ms_calendar_t *c, const ms_tz_t *tz, const char *iso)
{
    return ms_calendar_next_change(c, tz, utc_ms(iso) / 1000, 400) * 1000;
}

static void test_calendar_midnight(void **state)
{
    /* Monday's profile starts with rate 1 at 00:00, Sunday ends on rate 2: the switch
     * falls exactly at midnight. */
    ms_calendar_t c;
    test_calendar(&c);
    c.weeks[0].day[0] = D_MIDNIGHT;
    char field[96];
    assert_int_equal(ms_calendar_check(&c, field, sizeof field), 0);
    ms_tz_t tz = cet();
    /* 2016-01-17 is a Sunday; 23:00 UTC = 00:00 CET Monday */
    assert_int_equal(rate_at(&c, &tz, "2016-01-17T22:59:59Z"), 2);
    assert_int_equal(rate_at(&c, &tz, "2016-01-17T23:00:00Z"), 1);
    assert_int_equal(next_change(&c, &tz, "2016-01-17T21:00:00Z"),
                     utc_ms("2016-01-17T23:00:00Z"));
    /* Friday 22:00 -> rate 2 holds through the weekend: the next change is Monday 00:00
     * (actions that repeat rate 2 are skipped) */
    assert_int_equal(next_change(&c, &tz, "2016-01-15T21:00:00Z"),
                     utc_ms("2016-01-17T23:00:00Z"));
}

static void test_calendar_dst_spring_forward(void **state)
{
    /* 2016-03-27 (CET -> CEST at 01:00 UTC) uses the profile 00:00=1 02:30=2: 02:30 local
     * never exists that day; the switch happens at the offset change (03:00 CEST). */
    ms_calendar_t c;
    test_calendar(&c);
    ms_tz_t tz = cet();
    assert_int_equal(rate_at(&c, &tz, "2016-03-27T00:59:59Z"), 1);
    assert_int_equal(rate_at(&c, &tz, "2016-03-27T01:00:00Z"), 2);
    assert_int_equal(next_change(&c, &tz, "2016-03-26T23:00:00Z"),
                     utc_ms("2016-03-27T01:00:00Z"));
    /* ms_tz_utc_of_local: a local time that does not exist maps to the switch instant */
    int64_t local = ms_days_from_civil(2016, 3, 27) * 86400 + 2 * 3600 + 30 * 60;
    assert_int_equal(ms_tz_utc_of_local(&tz, local) * 1000,
                     utc_ms("2016-03-27T01:00:00Z"));
}

static void test_calendar_dst_fall_back(void **state)
{
    /* 2016-10-30: CEST -> CET at 01:00 UTC, local 02:00-03:00 happens twice. With the
     * profile 00:00=1 02:30=2 the rate follows local time: 2 from 02:30 CEST (00:30Z),
     * 1 again when the clock goes back to 02:00 (01:00Z), 2 from 02:30 CET (01:30Z). */
    ms_calendar_t c;
    test_calendar(&c);
    c.special[2] = (ms_special_day_t){ 2016, 10, 30, D_DST };
    char field[96];
    assert_int_equal(ms_calendar_check(&c, field, sizeof field), 0);
    ms_tz_t tz = cet();
    assert_int_equal(next_change(&c, &tz, "2016-10-29T23:00:00Z"),
                     utc_ms("2016-10-30T00:30:00Z"));
    assert_int_equal(next_change(&c, &tz, "2016-10-30T00:30:00Z"),
                     utc_ms("2016-10-30T01:00:00Z"));
    assert_int_equal(rate_at(&c, &tz, "2016-10-30T01:00:00Z"), 1);
    assert_int_equal(next_change(&c, &tz, "2016-10-30T01:00:00Z"),
                     utc_ms("2016-10-30T01:30:00Z"));
    assert_int_equal(rate_at(&c, &tz, "2016-10-30T01:30:00Z"), 2);
    /* the first occurrence of a repeated local time */
    int64_t local = ms_days_from_civil(2016, 10, 30) * 86400 + 2 * 3600 + 30 * 60;
    assert_int_equal(ms_tz_utc_of_local(&tz, local) * 1000,
                     utc_ms("2016-10-30T00:30:00Z"));

    /* A meter at 1 kW from 00:00Z to 02:00Z splits the two hours 1 h / 1 h. */
    ms_model_t *md = calloc(1, sizeof *md);
    md->tz = tz;
    md->calendar = c;
    md->demand_period_s = 900;
    md->power_factor_permille = 1000;
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL),
                                 utc_ms("2016-10-30T00:00:00Z"), NULL);
    ms_meter_advance(m, utc_ms("2016-10-30T02:00:00Z"));
    assert_int_equal(m->regs.energy[MS_E_AP][1], 1000000);
    assert_int_equal(m->regs.energy[MS_E_AP][2], 1000000);
    ms_meter_free(m);
    free(md);
}

static void test_calendar_special_day_and_season(void **state)
{
    ms_calendar_t c;
    test_calendar(&c);
    ms_tz_t tz = cet();
    /* 2016-12-26 is a Monday, a special day (rest: rate 2 all day); Tuesday works */
    assert_int_equal(rate_at(&c, &tz, "2016-12-26T11:00:00Z"), 2);
    assert_int_equal(rate_at(&c, &tz, "2016-12-27T11:00:00Z"), 1);
    /* season change on 04-01: Thursday 2016-03-31 06:30 CEST -> winter work (rate 1);
     * Friday 2016-04-01 06:30 CEST -> summer work starts at 07:00 (rate 2) */
    assert_int_equal(rate_at(&c, &tz, "2016-03-31T04:30:00Z"), 1);
    assert_int_equal(rate_at(&c, &tz, "2016-04-01T04:30:00Z"), 2);
    assert_int_equal(rate_at(&c, &tz, "2016-04-01T05:00:00Z"), 1);
    /* a yearly season wraps: January is in the season that began on 10-01 */
    assert_int_equal(rate_at(&c, &tz, "2017-01-03T05:30:00Z"), 1); /* Tuesday 06:30 CET */
}

static void test_calendar_29_february(void **state)
{
    ms_calendar_t c;
    test_calendar(&c);
    ms_tz_t tz = cet();
    /* the yearly special day 02-29 exists in leap years only: 2016-02-29 is a Monday
     * running the all-day rate-1 profile; in 2017 there is no such day */
    assert_int_equal(rate_at(&c, &tz, "2016-02-29T02:00:00Z"), 1); /* 03:00 local */
    assert_int_equal(rate_at(&c, &tz, "2016-03-01T02:00:00Z"),
                     2); /* Tuesday 03:00: work */
    assert_int_equal(rate_at(&c, &tz, "2017-03-01T02:00:00Z"), 2);
    /* a dated 29 February of a common year does not exist: refused, naming the field */
    ms_calendar_t bad = c;
    bad.special[0] = (ms_special_day_t){ 2017, 2, 29, D_REST };
    char field[96];
    assert_int_equal(ms_calendar_check(&bad, field, sizeof field), MS_EINVAL);
    assert_non_null(strstr(field, "special_days[1][1]: a date that does not exist"));
    /* the next change from 2016-02-28 22:00 (Sunday, rest) is Monday 29th 00:00: rate 1
     */
    assert_int_equal(next_change(&c, &tz, "2016-02-28T21:00:00Z"),
                     utc_ms("2016-02-28T23:00:00Z"));
}

static void test_calendar_25_years(void **state)
{
    /* A plan 25 years ahead: dated seasons for each year 2026..2051 (summer from 04-01,
     * winter from 10-01), overriding the yearly ones from their start on. */
    ms_calendar_t c;
    test_calendar(&c);
    c.nseasons = 2;
    for (int y = 2026; y <= 2051; y++) {
        c.seasons[c.nseasons++] = (ms_season_t){ "s", (uint16_t)y, 4, 1, 1 };
        c.seasons[c.nseasons++] = (ms_season_t){ "w", (uint16_t)y, 10, 1, 0 };
    }
    char field[96];
    assert_int_equal(ms_calendar_check(&c, field, sizeof field), 0);
    ms_tz_t tz = cet();
    /* 2051-07-03 is a Monday: summer, 06:30 CEST -> rate 2 (summer work starts 07:00) */
    assert_int_equal(rate_at(&c, &tz, "2051-07-03T04:30:00Z"), 2);
    /* 2051-11-06 is a Monday: winter, 06:30 CET -> rate 1 */
    assert_int_equal(rate_at(&c, &tz, "2051-11-06T05:30:00Z"), 1);
    /* a meter runs the whole plan at 1 kW: every hour lands in exactly one rate */
    ms_model_t *md = calloc(1, sizeof *md);
    md->tz = tz;
    md->calendar = c;
    md->demand_period_s = 900;
    md->power_factor_permille = 1000;
    int64_t t0 = utc_ms("2026-01-01T00:00:00Z"), t1 = utc_ms("2051-12-31T00:00:00Z");
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    ms_meter_advance(m, t1);
    int64_t hours = (t1 - t0) / H_MS;
    assert_int_equal(m->regs.energy[MS_E_AP][0], hours * 1000000);
    assert_int_equal(m->regs.energy[MS_E_AP][1] + m->regs.energy[MS_E_AP][2],
                     hours * 1000000);
    assert_true(m->regs.energy[MS_E_AP][1] > hours * 1000000 / 4); /* working hours */
    ms_meter_free(m);
    free(md);
}

/* ---- meters of the shipped model -----------------------------------------------------
 */

static ms_model_t *load_model(const char *const *set, size_t n)
{
    ms_model_t *md = calloc(1, sizeof *md);
    char msg[512];
    if (ms_model_load_with("sim/models/ms3p-direct.lua", set, n, md, msg, sizeof msg))
        fail_msg("%s", msg);
    return md;
}

static ms_load_t *opsd(void)
{
    char msg[256];
    ms_load_t *l = ms_load_from_spec(opsd_path(), NULL, msg, sizeof msg);
    if (!l)
        fail_msg("%s", msg);
    return l;
}

/* Everything observable must be equal. */
static void assert_same_meter(const ms_meter_t *a, const ms_meter_t *b)
{
    assert_memory_equal(a->regs.energy, b->regs.energy, sizeof a->regs.energy);
    assert_memory_equal(a->demand, b->demand, sizeof a->demand);
    assert_memory_equal(a->cum_demand_mw, b->cum_demand_mw, sizeof a->cum_demand_mw);
    assert_int_equal(a->billing_count, b->billing_count);
    for (uint32_t i = 0; i < a->billing_n; i++)
        assert_memory_equal(ms_meter_billing(a, i), ms_meter_billing(b, i),
                            sizeof(ms_billing_rec_t));
    for (int l = 0; l < MS_LOG_COUNT; l++)
        assert_int_equal(a->logs[l].total, b->logs[l].total);
}

static void test_catch_up_invariance(void **state)
{
    /* Three months of the household in one step, and in uneven steps: the same meter. */
    ms_model_t *md = load_model(NULL, 0);
    int64_t t0 = utc_ms("2016-01-10T00:00:00Z"), t1 = utc_ms("2016-04-10T00:00:00Z");
    ms_meter_t *a = ms_meter_new("a", md, opsd(), t0, NULL);
    ms_meter_t *b = ms_meter_new("b", md, opsd(), t0, NULL);
    ms_meter_advance(a, t1);
    for (int64_t t = t0; t < t1; t += 7 * H_MS + 13 * MIN_MS + 7777)
        ms_meter_advance(b, t);
    ms_meter_advance(b, t1);
    assert_same_meter(a, b);
    assert_int_equal(a->billing_count, 3); /* 1 Feb, 1 Mar, 1 Apr */
    /* profiles read the same from both */
    static ms_profile_entry_t ea[6000], eb[6000];
    size_t na = ms_meter_profile(a, 0, INT64_MIN, INT64_MAX, ea, 6000);
    size_t nb = ms_meter_profile(b, 0, INT64_MIN, INT64_MAX, eb, 6000);
    assert_int_equal(na, nb);
    assert_memory_equal(ea, eb, na * sizeof ea[0]);
    ms_meter_free(a);
    ms_meter_free(b);
    free(md);
}

static void test_profile_derivation(void **state)
{
    /* P.01 (15-min deltas) sums to the registers' increase; P.02 (daily values) equals
     * the registers of a second meter sampled at each local midnight. */
    ms_model_t *md = load_model(NULL, 0);
    int64_t t0 = utc_ms("2016-02-01T00:00:00Z"), t1 = utc_ms("2016-02-15T00:00:00Z");
    ms_meter_t *m = ms_meter_new("m", md, opsd(), t0, NULL);
    ms_meter_advance(m, t1);
    static ms_profile_entry_t e[3000];
    size_t n = ms_meter_profile(m, 0, INT64_MIN, INT64_MAX, e, 3000);
    assert_int_equal(n, 14 * 96); /* one entry per quarter hour: 14 days */
    assert_int_equal(e[0].rtc_ms, t0 + 15 * MIN_MS);
    assert_true(e[0].status & MS_PST_NOT_VALID); /* no capture before the first */
    int64_t sum[4] = { 0 };
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(e[i].rtc_ms - e[i - 1].rtc_ms, 15 * MIN_MS);
        for (int k = 0; k < 4; k++)
            sum[k] += e[i].value[k];
    }
    /* registers at the first and last capture: e[0] is the first quarter's delta measured
     * from the start (registers were 0), so the sum of all deltas is the register */
    sum[0] += e[0].value[0];
    ms_meter_t *s = ms_meter_new("s", md, opsd(), t0, NULL);
    ms_meter_advance(s, e[n - 1].t_ms);
    assert_int_equal(sum[0], s->regs.energy[MS_E_AP][0]);
    static ms_profile_entry_t d[20];
    size_t nd = ms_meter_profile(m, 1, INT64_MIN, INT64_MAX, d, 20);
    assert_int_equal(nd, 14); /* local midnights 2016-02-01 01:00+01 .. : 14 captures */
    ms_meter_t *q = ms_meter_new("q", md, opsd(), t0, NULL);
    for (size_t i = 0; i < nd; i++) {
        ms_meter_advance(q, d[i].t_ms);
        int64_t local = ms_tz_local(&md->tz, d[i].rtc_ms / 1000);
        assert_int_equal(local % 86400, 0); /* at local midnight */
        assert_int_equal(d[i].value[0], q->regs.energy[MS_E_AP][1]);
        assert_int_equal(d[i].value[1], q->regs.energy[MS_E_AP][2]);
        assert_int_equal(d[i].value[2], q->regs.energy[MS_E_AN][1]);
    }
    /* a range: one day of P.01 */
    size_t n1 = ms_meter_profile(m, 0, utc_ms("2016-02-03T00:00:00Z"),
                                 utc_ms("2016-02-03T23:59:59Z"), e, 3000);
    assert_int_equal(n1, 96);
    ms_meter_free(m);
    ms_meter_free(s);
    ms_meter_free(q);
    free(md);
}

static void count_commit(ms_meter_t *m, void *ud)
{
    ++*(int *)ud;
}

static void test_billing(void **state)
{
    ms_model_t *md = load_model(NULL, 0);
    int64_t t0 = utc_ms("2016-01-20T00:00:00Z");
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(2000000, 0, NULL), t0, NULL);
    ms_meter_advance(m, utc_ms("2016-01-31T22:59:59Z"));
    assert_int_equal(m->billing_count, 0);
    ms_meter_advance(m, utc_ms("2016-01-31T23:00:00Z")); /* 1 Feb 00:00 CET */
    assert_int_equal(m->billing_count, 1);
    const ms_billing_rec_t *b = ms_meter_billing(m, 0);
    assert_non_null(b);
    assert_int_equal(b->rtc_ms, utc_ms("2016-01-31T23:00:00Z"));
    assert_int_equal(b->energy[MS_E_AP][0],
                     (utc_ms("2016-01-31T23:00:00Z") - t0) / H_MS * 2000000);
    assert_int_equal(b->demand[MS_DIR_IMPORT][0].max_mw, 2000000);
    assert_int_equal(m->demand[MS_DIR_IMPORT][0].max_mw, 0); /* reset */
    assert_int_equal(m->cum_demand_mw[MS_DIR_IMPORT][0], 2000000);
    /* historical value 1.8.0*1 reads the snapshot */
    ms_reg_value_t v;
    ms_obis_t o = MS_OBIS(1, 0, 1, 8, 0, 1);
    assert_int_equal(ms_meter_read(m, &o, &v), 0);
    assert_int_equal(v.value, b->energy[MS_E_AP][0]);
    o.f = 2;
    assert_int_equal(ms_meter_read(m, &o, &v), MS_ENOENT);
    /* a command reset, logged with its cause and who gave it */
    ms_meter_billing_reset(m, "test");
    assert_int_equal(m->billing_count, 2);
    assert_int_equal(ms_meter_billing(m, 1)->cause, 1);
    const ms_event_rec_t *ev =
        ms_meter_event(m, MS_LOG_STANDARD, m->logs[MS_LOG_STANDARD].n - 1);
    assert_int_equal(ev->code, MS_EV_BILLING_RESET);
    assert_string_equal(ev->detail, "end of billing 2 (command, test)");
    assert_string_equal(ms_meter_event(m, MS_LOG_STANDARD, 0)->detail,
                        "end of billing 1 (schedule)");
    /* every command is a commit point, the drift too */
    int commits = 0;
    m->on_commit = count_commit;
    m->commit_ud = &commits;
    assert_int_equal(ms_meter_set_drift(m, 20, "test"), 0);
    assert_int_equal(commits, 1);
    ms_meter_billing_reset(m, "test");
    assert_int_equal(commits, 2);
    ms_meter_free(m);
    free(md);
}

/* Battery failure and a 2-hour outage on a working day at 09:00 CET: the clock stops
 * for the outage, then each response applies. Returns the meter at 12:00 CET. */
static ms_meter_t *battery_case(ms_model_t *md)
{
    int64_t t0 = utc_ms("2016-01-14T00:00:00Z"); /* Thursday */
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    ms_meter_advance(m, utc_ms("2016-01-14T08:00:00Z"));
    ms_meter_set_battery(m, false, "test");
    assert_int_equal(ms_meter_outage(m, 2 * H_MS), 0);
    assert_int_equal(ms_meter_outage(m, H_MS), MS_ESTATE); /* already in one */
    ms_meter_advance(m, utc_ms("2016-01-14T11:00:00Z"));
    return m;
}

static bool has_event(const ms_meter_t *m, ms_log_id_t log, int code)
{
    for (uint32_t i = 0; i < m->logs[log].n; i++)
        if (ms_meter_event(m, log, i)->code == code)
            return true;
    return false;
}

static void check_battery_common(const ms_meter_t *m)
{
    /* the clock stood still for 2 h: 12:00 CET is 10:00 on the meter's clock */
    assert_int_equal(ms_meter_rtc_ms(m), utc_ms("2016-01-14T09:00:00Z"));
    assert_true(ms_meter_clock_status(m) & MS_CLOCK_INVALID);
    /* nothing measured during the outage: 11 h - 2 h at 1 kW */
    assert_int_equal(m->regs.energy[MS_E_AP][0], 9000000);
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_POWER_DOWN));
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_BATTERY_FAILED));
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_CLOCK_INVALID));
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_POWER_UP));
    assert_true(has_event(m, MS_LOG_POWER, MS_EV_POWER_FAILURE));
}

static void test_battery_continue(void **state)
{
    const char *set[] = { "battery_response=continue" };
    ms_model_t *md = load_model(set, 1);
    ms_meter_t *m = battery_case(md);
    check_battery_common(m);
    assert_int_equal(m->billing_count, 0);
    assert_int_equal(m->regs.rate, 1); /* 10:00 on a working day */
    assert_false(m->tariff_frozen);
    /* the tariff follows the wrong clock: the 22:00 switch comes 2 h late (00:00 CET) */
    ms_meter_advance(m, utc_ms("2016-01-14T22:59:59Z"));
    assert_int_equal(m->regs.rate, 1);
    ms_meter_advance(m, utc_ms("2016-01-14T23:00:00Z"));
    assert_int_equal(m->regs.rate, 2);
    ms_meter_free(m);
    free(md);
}

static void test_battery_billing(void **state)
{
    const char *set[] = { "battery_response=billing" };
    ms_model_t *md = load_model(set, 1);
    ms_meter_t *m = battery_case(md);
    check_battery_common(m);
    assert_int_equal(m->billing_count, 1);
    const ms_billing_rec_t *b = ms_meter_billing(m, 0);
    assert_int_equal(b->cause, 2);
    assert_int_equal(b->energy[MS_E_AP][0], 8000000); /* at power-up: 8 h */
    assert_int_equal(b->demand[MS_DIR_IMPORT][0].max_mw, 1000000);
    assert_false(m->tariff_frozen);
    ms_meter_free(m);
    free(md);
}

static void test_battery_freeze(void **state)
{
    const char *set[] = { "battery_response=freeze" };
    ms_model_t *md = load_model(set, 1);
    ms_meter_t *m = battery_case(md);
    check_battery_common(m);
    assert_int_equal(m->billing_count, 1);
    assert_true(m->tariff_frozen);
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_TARIFF_FROZEN));
    /* frozen: no switch at 22:00 (wrong clock) nor at any other time */
    int64_t r1 = m->regs.energy[MS_E_AP][1], r2 = m->regs.energy[MS_E_AP][2];
    ms_meter_advance(m, utc_ms("2016-01-15T11:00:00Z"));
    assert_int_equal(m->regs.energy[MS_E_AP][2], r2);
    assert_int_equal(m->regs.energy[MS_E_AP][1], r1 + 24000000);
    /* setting the clock releases the tariff and clears the invalid status */
    ms_meter_set_clock(m, utc_ms("2016-01-15T11:00:00Z"), "test");
    assert_false(m->tariff_frozen);
    assert_false(ms_meter_clock_status(m) & MS_CLOCK_INVALID);
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_TARIFF_RELEASED));
    assert_true(has_event(m, MS_LOG_CLOCK, MS_EV_CLOCK_OLD));
    ms_meter_advance(m, utc_ms("2016-01-15T21:00:00Z")); /* 22:00 CET: rate 2 again */
    assert_int_equal(m->regs.rate, 2);
    ms_meter_free(m);
    free(md);
}

static void test_outage_good_battery_and_clock_set(void **state)
{
    ms_model_t *md = load_model(NULL, 0);
    int64_t t0 = utc_ms("2016-01-14T00:00:00Z");
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    ms_meter_advance(m, t0 + 2 * H_MS + 7 * MIN_MS);
    ms_meter_outage(m, 50 * MIN_MS);
    ms_meter_advance(m, t0 + 5 * H_MS);
    /* the clock ran on the battery; the outage duration is logged */
    assert_int_equal(ms_meter_rtc_ms(m), t0 + 5 * H_MS);
    const ms_event_rec_t *pf = ms_meter_event(m, MS_LOG_POWER, 0);
    assert_non_null(pf);
    assert_int_equal(pf->duration_ms, 50 * MIN_MS);
    /* energy before and after the outage, each the difference of the source's
     * cumulative values (floors included) */
    ms_load_t *k = ms_load_constant(1000000, 0, NULL);
    int64_t c0[2], c1[2], c2[2], c3[2];
    ms_load_cumulative(k, t0, c0);
    ms_load_cumulative(k, t0 + 2 * H_MS + 7 * MIN_MS, c1);
    ms_load_cumulative(k, t0 + 2 * H_MS + 57 * MIN_MS, c2);
    ms_load_cumulative(k, t0 + 5 * H_MS, c3);
    ms_load_free(k);
    assert_int_equal(m->regs.energy[MS_E_AP][0], (c1[0] - c0[0]) + (c3[0] - c2[0]));
    /* profile: no captures while off, the first after power-up marked power down */
    static ms_profile_entry_t e[100];
    size_t n = ms_meter_profile(m, 0, INT64_MIN, INT64_MAX, e, 100);
    size_t after = 0;
    while (after < n && e[after].rtc_ms <= t0 + 2 * H_MS + 57 * MIN_MS)
        after++;
    assert_int_equal(e[after - 1].rtc_ms, t0 + 2 * H_MS);
    assert_int_equal(e[after].rtc_ms, t0 + 3 * H_MS); /* 02:15..02:45 missing */
    assert_true(e[after].status & MS_PST_POWER_DOWN);
    assert_false(e[after + 1].status & MS_PST_POWER_DOWN);
    /* a clock set back 1 h: logged old/new, the next capture marked clock adjusted */
    ms_meter_set_clock(m, t0 + 4 * H_MS, "test");
    ms_meter_advance(m, t0 + 6 * H_MS);
    n = ms_meter_profile(m, 0, INT64_MIN, INT64_MAX, e, 100);
    bool adjusted = false;
    for (size_t i = 0; i < n; i++)
        if (e[i].status & MS_PST_CLOCK_ADJUSTED) {
            adjusted = true;
            assert_int_equal(e[i].rtc_ms, t0 + 4 * H_MS + 15 * MIN_MS);
        }
    assert_true(adjusted);
    assert_true(has_event(m, MS_LOG_CLOCK, MS_EV_CLOCK_OLD));
    assert_true(has_event(m, MS_LOG_CLOCK, MS_EV_CLOCK_NEW));
    ms_meter_free(m);
    free(md);
}

static void test_override_and_programming(void **state)
{
    ms_model_t *md = load_model(NULL, 0);
    int64_t t0 = utc_ms("2016-01-14T09:00:00Z"); /* 10:00 CET Thursday: rate 1 */
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    assert_int_equal(ms_meter_override_rate(m, 3, "test"), MS_ERANGE);
    assert_int_equal(ms_meter_override_rate(m, 2, "test"), 0);
    ms_meter_advance(m, utc_ms("2016-01-14T21:00:00Z")); /* holds until 22:00 CET */
    assert_int_equal(m->regs.energy[MS_E_AP][2], 12000000);
    assert_int_equal(m->regs.override_rate, 0); /* ended at the scheduled switch */
    ms_meter_advance(m, utc_ms("2016-01-15T09:00:00Z")); /* next day 10:00: rate 1 */
    assert_int_equal(m->regs.rate, 1);
    /* a refused calendar leaves the active one */
    ms_calendar_t bad = md->calendar;
    bad.days[0].actions[0].start_min = 30;
    char field[96];
    const ms_calendar_t *before = m->cal;
    assert_int_equal(ms_meter_program_calendar(m, &bad, 0, "test", field, sizeof field),
                     MS_EINVAL);
    assert_ptr_equal(m->cal, before);
    assert_non_null(strstr(field, "days[1][1][1]"));
    /* a passive calendar (one rate) activated tomorrow at 00:00 CET */
    ms_calendar_t one;
    ms_day_action_t a = { 0, 1, 0 };
    ms_calendar_single(&one, 1, &a, 1);
    snprintf(one.name, sizeof one.name, "ONE");
    assert_int_equal(ms_meter_program_calendar(m, &one, utc_ms("2016-01-15T23:00:00Z"),
                                               "test", field, sizeof field),
                     0);
    ms_meter_advance(m, utc_ms("2016-01-15T22:00:00Z")); /* 23:00 CET: still rate 2 */
    assert_int_equal(m->regs.rate, 2);
    ms_meter_advance(m, utc_ms("2016-01-15T23:00:00Z"));
    assert_int_equal(m->regs.rate, 1);
    assert_string_equal(m->cal->name, "ONE");
    assert_true(has_event(m, MS_LOG_STANDARD, MS_EV_TOU_ACTIVATED));
    assert_true(has_event(m, MS_LOG_CONFIG, MS_EV_CONFIG_CHANGE));
    ms_meter_free(m);
    free(md);
}

static void test_sliding_demand(void **state)
{
    /* 1 kW, then 4 kW from minute 7. Block demand (15 min): 2.6 kW for [0, 15), 4 kW for
     * [15, 30) ending at 30. Sliding window of 3 x 5 min: 0.333, 1.267, 2.6, 3.6, then
     * 4 kW first at minute 25. */
    const char *set[] = { "demand_subperiods=3" };
    int64_t t0 = utc_ms("2016-01-14T09:00:00Z");
    for (int sliding = 0; sliding < 2; sliding++) {
        ms_model_t *md = load_model(set, sliding ? 1 : 0);
        ms_meter_t *m =
            ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
        ms_meter_advance(m, t0 + 7 * MIN_MS);
        ms_meter_set_load(m, ms_load_constant(4000000, 0, NULL));
        ms_meter_advance(m, t0 + 15 * MIN_MS);
        assert_int_equal(m->demand[MS_DIR_IMPORT][0].max_mw, 2600000);
        assert_int_equal(m->demand[MS_DIR_IMPORT][0].max_at_ms, t0 + 15 * MIN_MS);
        ms_meter_advance(m, t0 + 40 * MIN_MS);
        assert_int_equal(m->demand[MS_DIR_IMPORT][0].max_mw, 4000000);
        assert_int_equal(m->demand[MS_DIR_IMPORT][0].max_at_ms,
                         t0 + (sliding ? 25 : 30) * MIN_MS);
        ms_meter_free(m);
        free(md);
    }
}

static void test_analysis_logger(void **state)
{
    /* P.03 records voltage L1, current L1, import and export power at each capture: the
     * values a register read gives at that instant. */
    ms_model_t *md = load_model(NULL, 0);
    int64_t t0 = utc_ms("2016-06-01T00:00:00Z");
    ms_meter_t *m = ms_meter_new("m", md, opsd(), t0, NULL);
    ms_meter_t *s = ms_meter_new("s", md, opsd(), t0, NULL);
    ms_meter_advance(m, t0 + 24 * H_MS);
    static ms_profile_entry_t e[200];
    size_t n = ms_meter_profile(m, 2, INT64_MIN, INT64_MAX, e, 200);
    assert_int_equal(n, 96);
    const ms_obis_t codes[] = { MS_OBIS(1, 0, 32, 7, 0, 255),
                                MS_OBIS(1, 0, 31, 7, 0, 255), MS_OBIS(1, 0, 1, 7, 0, 255),
                                MS_OBIS(1, 0, 2, 7, 0, 255) };
    bool export_seen = false;
    for (size_t i = 0; i < n; i++) {
        ms_meter_advance(s, e[i].t_ms);
        for (int k = 0; k < 4; k++) {
            ms_reg_value_t v;
            assert_int_equal(ms_meter_read(s, &codes[k], &v), 0);
            assert_int_equal(e[i].value[k], v.value);
        }
        assert_int_equal(e[i].value[0], 230000); /* mV */
        export_seen |= e[i].value[3] > 0;        /* PV in June */
    }
    assert_true(export_seen);
    ms_meter_free(m);
    ms_meter_free(s);
    free(md);
}

static void test_breaker_and_limiter(void **state)
{
    ms_model_t *md = load_model(NULL, 0); /* control mode 1 */
    int64_t t0 = utc_ms("2016-01-14T09:00:00Z");
    ms_meter_t *m = ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
    ms_meter_advance(m, t0 + H_MS);
    assert_int_equal(ms_meter_breaker(m, MS_BREAKER_MANUAL_RECONNECT, "t"), MS_ESTATE);
    assert_int_equal(ms_meter_breaker(m, MS_BREAKER_REMOTE_DISCONNECT, "t"), 0);
    ms_meter_advance(m, t0 + 2 * H_MS);
    assert_int_equal(m->regs.energy[MS_E_AP][0],
                     1000000); /* nothing through an open breaker */
    ms_reg_value_t v;
    ms_obis_t volt = MS_OBIS(1, 0, 32, 7, 0, 255), pw = MS_OBIS(1, 0, 1, 7, 0, 255);
    ms_meter_read(m, &volt, &v);
    assert_int_equal(v.value, 230000); /* the supply side still has its voltage */
    ms_meter_read(m, &pw, &v);
    assert_int_equal(v.value, 0);
    /* mode 1: a remote reconnect only makes it ready; the customer closes it */
    assert_int_equal(ms_meter_breaker(m, MS_BREAKER_REMOTE_RECONNECT, "t"), 0);
    assert_int_equal(m->breaker, MS_BREAKER_READY);
    ms_meter_advance(m, t0 + 3 * H_MS);
    assert_int_equal(m->regs.energy[MS_E_AP][0], 1000000);
    assert_int_equal(ms_meter_breaker(m, MS_BREAKER_MANUAL_RECONNECT, "t"), 0);
    ms_meter_advance(m, t0 + 4 * H_MS);
    assert_int_equal(m->regs.energy[MS_E_AP][0], 2000000);
    assert_int_equal(m->logs[MS_LOG_DISCONNECT].n, 3);
    /* the limiter: 1 kW above 500 W for 60 s cuts the supply (ready for reconnection) */
    ms_meter_set_limiter(m, 500000, 60000, "t");
    ms_meter_advance(m, t0 + 5 * H_MS);
    assert_int_equal(m->breaker, MS_BREAKER_READY);
    assert_int_equal(m->regs.energy[MS_E_AP][0], 2000000 + 1000000 / 60);
    assert_int_equal(ms_meter_event(m, MS_LOG_DISCONNECT, 3)->code, MS_EV_LIMITER);
    /* the profile shows the cut: no energy in the quarter hours after it */
    static ms_profile_entry_t e[40];
    size_t n = ms_meter_profile(m, 0, t0 + 4 * H_MS + 30 * MIN_MS, t0 + 5 * H_MS, e, 40);
    assert_int_equal(n, 3);
    assert_int_equal(e[2].value[0], 0);
    ms_meter_free(m);
    free(md);
}

/* IEC 62056-6-2 class 70 control_mode table: which transitions each mode allows */
static void test_breaker_control_modes(void **state)
{
    const int C = MS_BREAKER_CONNECTED, R = MS_BREAKER_READY;
    /* per mode: state after remote reconnect (a: C, d: R); manual disconnect (f) */
    static const struct {
        int after_reconnect;
        bool manual_disconnect;
    } want[7] = { { -1, false }, { R, true }, { C, true }, { R, false },
                  { C, false },  { R, true }, { R, false } };
    int64_t t0 = utc_ms("2016-01-14T09:00:00Z");
    for (int mode = 0; mode <= 6; mode++) {
        char set[32];
        snprintf(set, sizeof set, "breaker.mode=%d", mode);
        const char *sets[] = { set };
        ms_model_t *md = load_model(sets, 1);
        ms_meter_t *m =
            ms_meter_new("m", md, ms_load_constant(1000000, 0, NULL), t0, NULL);
        if (mode == 0) {
            assert_int_equal(ms_meter_breaker(m, MS_BREAKER_REMOTE_DISCONNECT, "t"),
                             MS_ESTATE);
            assert_int_equal(ms_meter_breaker(m, MS_BREAKER_LOCAL_DISCONNECT, "t"),
                             MS_ESTATE);
            assert_int_equal(m->breaker, C);
        } else {
            assert_int_equal(ms_meter_breaker(m, MS_BREAKER_REMOTE_DISCONNECT, "t"), 0);
            assert_int_equal(ms_meter_breaker(m, MS_BREAKER_REMOTE_RECONNECT, "t"), 0);
            assert_int_equal(m->breaker, want[mode].after_reconnect);
            if ((int)m->breaker == R) /* e: the customer closes it */
                assert_int_equal(ms_meter_breaker(m, MS_BREAKER_MANUAL_RECONNECT, "t"),
                                 0);
            assert_int_equal(m->breaker, C);
            assert_int_equal(ms_meter_breaker(m, MS_BREAKER_MANUAL_DISCONNECT, "t"),
                             want[mode].manual_disconnect ? 0 : MS_ESTATE);
            assert_int_equal(m->breaker, want[mode].manual_disconnect ? R : C);
        }
        ms_meter_free(m);
        free(md);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_midnight),
        cmocka_unit_test(test_calendar_dst_spring_forward),
        cmocka_unit_test(test_calendar_dst_fall_back),
        cmocka_unit_test(test_calendar_special_day_and_season),
        cmocka_unit_test(test_calendar_29_february),
        cmocka_unit_test(test_calendar_25_years),
        cmocka_unit_test(test_catch_up_invariance),
        cmocka_unit_test(test_profile_derivation),
        cmocka_unit_test(test_billing),
        cmocka_unit_test(test_battery_continue),
        cmocka_unit_test(test_battery_billing),
        cmocka_unit_test(test_battery_freeze),
        cmocka_unit_test(test_outage_good_battery_and_clock_set),
        cmocka_unit_test(test_override_and_programming),
        cmocka_unit_test(test_sliding_demand),
        cmocka_unit_test(test_analysis_logger),
        cmocka_unit_test(test_breaker_and_limiter),
        cmocka_unit_test(test_breaker_control_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
