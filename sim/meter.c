/*
** meter.c — meter model state and catch-up integration.
** SPDX-License-Identifier: MIT
*/
#include "meter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_int.h"
#include "ms_time.h"

#define MS_PER_HOUR 3600000

static int64_t demand_period_ms(const ms_meter_t *m)
{
    return (int64_t)m->model->demand_period_s * 1000;
}

/* Start of the demand block containing sim time t: blocks are aligned to the meter's
 * clock (its RTC), e.g. xx:00, xx:15, xx:30, xx:45 for 15 min. */
static int64_t block_start(const ms_meter_t *m, int64_t t)
{
    int64_t p = demand_period_ms(m);
    int64_t rtc = t + m->clock_offset_ms;
    return ms_floor_div(rtc, p) * p - m->clock_offset_ms;
}

ms_meter_t *ms_meter_new(const char *id, const ms_model_t *model, ms_load_t *load,
                         int64_t t_ms, int *err)
{
    ms_meter_t *m = calloc(1, sizeof *m);
    if (!m) {
        if (err)
            *err = MS_ENOMEM;
        return NULL;
    }
    snprintf(m->id, sizeof m->id, "%s", id);
    m->model = model;
    m->load = load;
    m->t_ms = t_ms;
    ms_load_cumulative(load, t_ms, m->src_mwh);
    m->rate = (uint8_t)ms_tariff_rate_at(&model->tariff, &model->tz, ms_meter_rtc_ms(m));
    m->next_rate_check_ms =
        ms_tariff_next_change(&model->tariff, &model->tz, ms_meter_rtc_ms(m)) -
        m->clock_offset_ms;
    m->block_start_ms = block_start(m, t_ms);
    return m;
}

void ms_meter_free(ms_meter_t *m)
{
    if (!m)
        return;
    ms_load_free(m->load);
    free(m);
}

int64_t ms_meter_rtc_ms(const ms_meter_t *m)
{
    return m->t_ms + m->clock_offset_ms;
}

/* Add the energy of [m->t_ms, t) to the registers of the active rate. */
static void integrate(ms_meter_t *m, int64_t t)
{
    int64_t c[MS_DIR_COUNT];
    ms_load_cumulative(m->load, t, c);
    const int r = m->rate;
    const int64_t k = m->model->reactive_permille;
    for (int d = 0; d < MS_DIR_COUNT; d++) {
        int64_t de = c[d] - m->src_mwh[d];
        if (de <= 0)
            continue; /* cumulative sources never decrease; 0 = nothing to add */
        int qa = d == MS_DIR_IMPORT ? MS_E_AP : MS_E_AN;
        int qr = d == MS_DIR_IMPORT ? MS_E_RP : MS_E_RN;
        m->energy[qa][0] += de;
        m->energy[qa][r] += de;
        /* Reactive energy follows active energy in the model's ratio (tan phi). It is
         * derived from the running active total, so rounding never accumulates:
         * R(total) = floor(A(total) * k / 1000) at every step. */
        int64_t r0 = ms_muldiv_floor(m->reactive_base[d], k, 1000);
        m->reactive_base[d] += de;
        int64_t dr = ms_muldiv_floor(m->reactive_base[d], k, 1000) - r0;
        m->energy[qr][0] += dr;
        m->energy[qr][r] += dr;
        m->block_mwh[d] += de;
    }
    memcpy(m->src_mwh, c, sizeof c);
}

/* A demand block ended at `end`: its mean power competes for the maximum. */
static void close_block(ms_meter_t *m, int64_t end)
{
    int64_t p = demand_period_ms(m);
    for (int d = 0; d < MS_DIR_COUNT; d++) {
        /* Block demand = energy of the block / integration period (IEC 62053-21 style
         * block maximum demand; a partial first block still divides by the period). */
        int64_t mw = ms_muldiv_floor(m->block_mwh[d], MS_PER_HOUR, p);
        ms_demand_t *tot = &m->demand[d][0], *rate = &m->demand[d][m->rate];
        if (mw > tot->max_mw || tot->max_at_ms == 0) {
            tot->max_mw = mw;
            tot->max_at_ms = end;
        }
        if (mw > rate->max_mw || rate->max_at_ms == 0) {
            rate->max_mw = mw;
            rate->max_at_ms = end;
        }
        m->block_mwh[d] = 0;
    }
    m->block_start_ms = end;
}

void ms_meter_advance(ms_meter_t *m, int64_t t)
{
    const ms_model_t *md = m->model;
    while (m->t_ms < t) {
        int64_t next = t;
        int64_t block_end = m->block_start_ms + demand_period_ms(m);
        if (block_end < next)
            next = block_end;
        if (m->next_rate_check_ms < next)
            next = m->next_rate_check_ms;
        integrate(m, next);
        m->t_ms = next;
        /* A block belongs to the rate in force while it ran: close it before a switch
         * that happens at the same instant. */
        if (next == block_end)
            close_block(m, next);
        if (next == m->next_rate_check_ms) {
            int64_t rtc = ms_meter_rtc_ms(m);
            m->rate = (uint8_t)ms_tariff_rate_at(&md->tariff, &md->tz, rtc);
            m->next_rate_check_ms =
                ms_tariff_next_change(&md->tariff, &md->tz, rtc) - m->clock_offset_ms;
        }
    }
}

void ms_meter_set_load(ms_meter_t *m, ms_load_t *load)
{
    ms_load_free(m->load);
    m->load = load;
    ms_load_cumulative(load, m->t_ms, m->src_mwh);
}

/* Power factor of the model's load, x1000 (1000 when nothing flows). */
static int64_t pf_permille(const ms_meter_t *m, int64_t p_mw)
{
    return p_mw > 0 ? m->model->power_factor_permille : 1000;
}

int ms_meter_read(const ms_meter_t *m, const ms_obis_t *obis, ms_reg_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (!ms_reg_lookup(obis, &out->def))
        return MS_ENOENT;
    const ms_model_t *md = m->model;
    const ms_reg_def_t *d = &out->def;
    if (d->rate > md->tariff.nrates || d->phase > md->phases ||
        (d->phase && md->phases == 1 && d->phase != 1))
        return MS_ENOENT;
    ms_load_seg_t seg;
    int64_t p_phase[MS_DIR_COUNT] = { 0, 0 };
    int share = d->phase ? md->phase_share_pct[d->phase - 1] : 100;
    if (d->kind == MS_REG_POWER || d->kind == MS_REG_CURRENT ||
        d->kind == MS_REG_POWER_FACTOR) {
        ms_load_segment(m->load, m->t_ms, &seg);
        for (int k = 0; k < MS_DIR_COUNT; k++)
            p_phase[k] = seg.valid ? seg.power_mw[k] * share / 100 : 0;
    }
    ms_tm_t tm;
    bool dst;
    int64_t rtc_s = ms_floor_div(ms_meter_rtc_ms(m), 1000);
    ms_tm_from_unix(rtc_s + ms_tz_offset(&md->tz, rtc_s, &dst), &tm);
    switch (d->kind) {
    case MS_REG_ENERGY:
        out->value = m->energy[d->q][d->rate];
        break;
    case MS_REG_MAX_DEMAND:
        out->value = m->demand[d->q][d->rate].max_mw;
        out->at_ms = m->demand[d->q][d->rate].max_at_ms;
        break;
    case MS_REG_POWER:
        out->value = p_phase[d->q == MS_E_AP ? MS_DIR_IMPORT : MS_DIR_EXPORT];
        break;
    case MS_REG_VOLTAGE:
        out->value = md->nominal_voltage_mv;
        break;
    case MS_REG_CURRENT: {
        /* I = P / (U cos phi): mA = mW * 1000 / mV * 1000 / pf_permille */
        int64_t p = p_phase[0] + p_phase[1];
        out->value =
            md->nominal_voltage_mv > 0
                ? ms_muldiv_floor(ms_muldiv_floor(p, 1000, md->nominal_voltage_mv), 1000,
                                  pf_permille(m, p))
                : 0;
        break;
    }
    case MS_REG_POWER_FACTOR:
        out->value = pf_permille(m, p_phase[0] + p_phase[1]);
        break;
    case MS_REG_FREQUENCY:
        out->value = md->frequency_mhz;
        break;
    case MS_REG_TIME:
        snprintf(out->text, sizeof out->text, "%02u%02u%02u", tm.hour, tm.minute,
                 tm.second);
        break;
    case MS_REG_DATE:
        snprintf(out->text, sizeof out->text, "%02u%02u%02u", (unsigned)(tm.year % 100),
                 tm.month, tm.day);
        break;
    case MS_REG_SERIAL:
        snprintf(out->text, sizeof out->text, "%s", md->serial);
        break;
    case MS_REG_DEVICE_ADDRESS:
        snprintf(out->text, sizeof out->text, "%s", md->device_address);
        break;
    case MS_REG_BILLING_COUNT:
        out->value = m->billing_count;
        break;
    case MS_REG_ERROR:
        snprintf(out->text, sizeof out->text, "%08X", m->error_flags);
        break;
    case MS_REG_FIRMWARE:
        snprintf(out->text, sizeof out->text, "%s", md->firmware);
        break;
    }
    return 0;
}
