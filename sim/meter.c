/*
** meter.c — the meter model: catch-up integration, demand, billing, supply and battery
** failure, clock, calendars, event logs and derived load profiles.
** SPDX-License-Identifier: MIT
*/
#include "meter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_int.h"
#include "ms_time.h"

#define NEVER INT64_MAX

const char *const ms_log_names[MS_LOG_COUNT] = { "standard", "power", "clock", "config",
                                                 "disconnect" };
const char *const ms_breaker_state_names[3] = {
    [MS_BREAKER_DISCONNECTED] = "disconnected",
    [MS_BREAKER_CONNECTED] = "connected",
    [MS_BREAKER_READY] = "ready_for_reconnection",
};

const char *ms_billing_cause_name(unsigned cause)
{
    static const char *const causes[] = { "schedule", "command", "battery response" };
    return causes[cause < 3 ? cause : 0];
}
#define HORIZON_DAYS 400 /* calendar look-ahead per search */

/* ---- RTC ----------------------------------------------------------------------------
 */

int64_t ms_rtc_at(const ms_rtc_t *r, int64_t t)
{
    if (!r->running || t <= r->t_base)
        return r->rtc_base;
    int64_t dt = t - r->t_base;
    if (r->drift_ppm == 0)
        return r->rtc_base + dt;
    return r->rtc_base + dt + ms_muldiv_floor(dt, r->drift_ppm, 1000000);
}

int64_t ms_rtc_sim_of(const ms_rtc_t *r, int64_t rtc_ms)
{
    if (rtc_ms <= r->rtc_base)
        return r->t_base;
    if (!r->running)
        return NEVER;
    int64_t d = rtc_ms - r->rtc_base;
    if (r->drift_ppm == 0)
        return r->t_base > NEVER - d ? NEVER : r->t_base + d;
    /* dt with dt + floor(dt * ppm / 1e6) >= d: start from the exact inverse and correct
     * the rounding by a step or two. */
    int64_t dt = ms_muldiv_floor(d, 1000000, 1000000 + r->drift_ppm);
    if (dt < 0)
        dt = 0;
    while (dt > 0 && ms_rtc_at(r, r->t_base + dt - 1) >= rtc_ms)
        dt--;
    while (ms_rtc_at(r, r->t_base + dt) < rtc_ms)
        dt++;
    if (r->t_base > NEVER - dt)
        return NEVER;
    return r->t_base + dt;
}

/* ---- small helpers -------------------------------------------------------------------
 */

static void ring_init(ms_ring_t *r, uint32_t cap)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
}

static void ring_push(ms_ring_t *r, const ms_event_rec_t *e)
{
    if (r->cap == 0)
        return;
    if (!r->rec) {
        r->rec = calloc(r->cap, sizeof *r->rec);
        if (!r->rec)
            return;
    }
    uint32_t at = (r->head + r->n) % r->cap;
    if (r->n == r->cap) { /* full: drop the oldest */
        at = r->head;
        r->head = (r->head + 1) % r->cap;
    } else {
        r->n++;
    }
    r->rec[at] = *e;
    r->total++;
}

static void log_event(ms_meter_t *m, ms_log_id_t log, ms_event_t code,
                      int64_t duration_ms, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void log_event(ms_meter_t *m, ms_log_id_t log, ms_event_t code,
                      int64_t duration_ms, const char *fmt, ...)
{
    ms_event_rec_t e = { .rtc_ms = ms_meter_rtc_ms(m),
                         .t_ms = m->t_ms,
                         .duration_ms = duration_ms,
                         .code = (uint16_t)code };
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e.detail, sizeof e.detail, fmt, ap);
        va_end(ap);
    }
    ring_push(&m->logs[log], &e);
}

int ms_meter_format_time(const ms_meter_t *m, int64_t rtc_ms, char *buf, size_t cap)
{
    int64_t s = ms_floor_div(rtc_ms, 1000);
    return ms_iso8601_format(s, ms_tz_offset(&m->model->tz, s, NULL), buf, cap);
}

/* ---- energy registers: the part a profile read replays
 * --------------------------------- */

/* Context of an integration: what an epoch fixes. */
typedef struct ictx {
    const ms_model_t *model;
    const ms_calendar_t *cal;
    const ms_rtc_t *rtc;
    ms_load_t *load;
    bool powered;
    bool frozen;
} ictx_t;

/* Next calendar change after sim time t, in sim time. */
static int64_t next_switch(const ictx_t *c, int64_t t)
{
    if (c->frozen || !c->rtc->running)
        return NEVER;
    int64_t rtc = ms_rtc_at(c->rtc, t);
    int64_t s = ms_calendar_next_change(c->cal, &c->model->tz, ms_floor_div(rtc, 1000),
                                        HORIZON_DAYS);
    if (s >= NEVER / 1000)
        return NEVER;
    int64_t at = ms_rtc_sim_of(c->rtc, s * 1000);
    return at > t ? at : t + 1;
}

/* Rate and relays in force at sim time t per the calendar. */
static void schedule_at(const ictx_t *c, int64_t t, uint8_t *rate, uint8_t *relays)
{
    int64_t rtc = ms_rtc_at(c->rtc, t);
    int64_t local = ms_tz_local(&c->model->tz, ms_floor_div(rtc, 1000));
    const ms_day_action_t *a = ms_calendar_action_at(c->cal, local);
    *rate = a->rate;
    *relays = a->relays;
}

/* Start register state for an epoch beginning at t with the given rate state. */
static void regs_rearm(const ictx_t *c, ms_regs_t *r, int64_t t)
{
    ms_load_cumulative(c->load, t, r->src_mwh);
    r->t_ms = t;
    if (!c->frozen) {
        uint8_t rate, relays;
        schedule_at(c, t, &rate, &relays);
        if (!r->override_rate)
            r->rate = rate;
        r->relays = relays;
    }
    r->next_switch_ms = next_switch(c, t);
}

/* Add the load's energy of [r->t_ms, t) to the registers of the rate in force. */
static void integrate(const ictx_t *c, ms_regs_t *r, int64_t t)
{
    int64_t cum[MS_DIR_COUNT];
    ms_load_cumulative(c->load, t, cum);
    if (c->powered) {
        const int64_t k = c->model->reactive_permille;
        const int rate = ms_regs_rate(r);
        for (int d = 0; d < MS_DIR_COUNT; d++) {
            int64_t de = cum[d] - r->src_mwh[d];
            if (de <= 0)
                continue;
            int qa = d == MS_DIR_IMPORT ? MS_E_AP : MS_E_AN;
            int qr = d == MS_DIR_IMPORT ? MS_E_RP : MS_E_RN;
            r->energy[qa][0] += de;
            r->energy[qa][rate] += de;
            /* Reactive energy follows active energy in the model's ratio; derived from
             * the running active total, so rounding never accumulates: the reactive
             * total is always floor(active total x k / 1000). */
            r->reactive_base[d] += de;
            int64_t dr = ms_muldiv_floor(r->reactive_base[d], k, 1000) - r->energy[qr][0];
            r->energy[qr][0] += dr;
            r->energy[qr][rate] += dr;
        }
    }
    memcpy(r->src_mwh, cum, sizeof cum);
    r->t_ms = t;
}

/* Apply the calendar change due at r->next_switch_ms (== r->t_ms). A manual override
 * ends at the first scheduled change. Returns true when the rate in force changed. */
static bool apply_switch(const ictx_t *c, ms_regs_t *r)
{
    uint8_t before = ms_regs_rate(r);
    schedule_at(c, r->t_ms, &r->rate, &r->relays);
    r->override_rate = 0;
    r->next_switch_ms = next_switch(c, r->t_ms);
    return r->rate != before;
}

/* Energy registers at sim time t from r (t >= r->t_ms): what a profile read needs. */
static void regs_advance(const ictx_t *c, ms_regs_t *r, int64_t t)
{
    while (r->next_switch_ms <= t) {
        integrate(c, r, r->next_switch_ms);
        apply_switch(c, r);
    }
    integrate(c, r, t);
}

/* ---- epochs -------------------------------------------------------------------------
 */

static void activate_passive(ms_meter_t *m);

/* Energy flows when the meter is powered and its breaker lets the load through. */
static ictx_t live_ctx(const ms_meter_t *m)
{
    return (ictx_t){
        m->model,        m->cal, &m->rtc, m->load, m->powered && ms_meter_output(m),
        m->tariff_frozen
    };
}

static ictx_t epoch_ctx(const ms_meter_t *m, const ms_epoch_t *e)
{
    return (ictx_t){ m->model,        e->cal, &e->rtc, e->load, e->powered && e->output,
                     e->tariff_frozen };
}

/* Oldest sim time any profile entry still kept may need. */
static int64_t oldest_needed(const ms_meter_t *m)
{
    int64_t span = 0;
    for (size_t i = 0; i < m->model->nprofiles; i++) {
        const ms_profile_def_t *p = &m->model->profiles[i];
        int64_t s = (int64_t)p->period_s * 1000 * (p->capacity + 1);
        if (s > span)
            span = s;
    }
    return m->t_ms - span;
}

/* A new epoch starts now: the rules a profile read replays by change here. */
static void new_epoch(ms_meter_t *m, uint8_t first_status)
{
    /* Drop epochs that ended before anything a profile keeps (keep at least one). */
    int64_t need = oldest_needed(m);
    uint32_t drop = 0;
    while (drop + 1 < m->nepochs && m->epochs[drop + 1].t_start <= need)
        drop++;
    for (uint32_t i = 0; i < drop; i++)
        ms_load_free(m->epochs[i].load);
    if (drop) {
        memmove(m->epochs, m->epochs + drop, (m->nepochs - drop) * sizeof *m->epochs);
        m->nepochs -= drop;
    }
    /* An epoch that begins where the previous one did is replaced. */
    if (m->nepochs && m->epochs[m->nepochs - 1].t_start == m->t_ms) {
        first_status |= m->epochs[m->nepochs - 1].first_status;
        ms_load_free(m->epochs[--m->nepochs].load);
    }
    if (m->nepochs == m->epochs_cap) {
        uint32_t cap = m->epochs_cap ? m->epochs_cap * 2 : 4;
        ms_epoch_t *e = realloc(m->epochs, cap * sizeof *e);
        if (!e)
            return; /* out of memory: profile reads fall back to the previous epoch */
        m->epochs = e;
        m->epochs_cap = cap;
    }
    m->epoch_gen++;
    ms_epoch_t *e = &m->epochs[m->nepochs++];
    memset(e, 0, sizeof *e);
    e->t_start = m->t_ms;
    e->rtc = m->rtc;
    e->load = ms_load_retain(m->load);
    e->cal = m->cal;
    e->powered = m->powered;
    e->output = ms_meter_output(m);
    e->tariff_frozen = m->tariff_frozen;
    e->clock_invalid = m->clock_invalid;
    e->first_status = first_status;
    e->regs = m->regs;
}

/* Re-derive the rate state after a change of the rules (clock, calendar, freeze) and
 * start a new epoch. */
static void rules_changed(ms_meter_t *m, uint8_t first_status)
{
    ictx_t c = live_ctx(m);
    regs_rearm(&c, &m->regs, m->t_ms);
    new_epoch(m, first_status);
}

/* ---- demand -------------------------------------------------------------------------
 */

static int64_t period_ms(const ms_meter_t *m)
{
    return (int64_t)m->model->demand_period_s * 1000;
}

static int nsub(const ms_meter_t *m)
{
    return m->model->demand_subperiods > 1 ? m->model->demand_subperiods : 1;
}

/* (Sub)period in progress: aligned to the meter's clock (xx:00, xx:15, ...); the window
 * starts empty (after a clock set or a power-up, as meters restart their integration). */
static void demand_restart(ms_meter_t *m)
{
    int64_t s = period_ms(m) / nsub(m);
    int64_t rtc = ms_meter_rtc_ms(m);
    m->period_start_rtc = ms_floor_div(rtc, s) * s;
    memset(m->period_acc, 0, sizeof m->period_acc);
    memset(m->window, 0, sizeof m->window);
    m->window_head = 0;
}

static void demand_offer(ms_meter_t *m, int d, int64_t mw, int64_t end_rtc, int rate)
{
    ms_demand_t *tot = &m->demand[d][0], *r = &m->demand[d][rate];
    if (mw > tot->max_mw || tot->max_at_ms == 0) {
        tot->max_mw = mw;
        tot->max_at_ms = end_rtc;
    }
    if (mw > r->max_mw || r->max_at_ms == 0) {
        r->max_mw = mw;
        r->max_at_ms = end_rtc;
    }
}

/* A (sub)period ended at RTC end_rtc with power x time sums acc[]: it enters the window,
 * and the window's mean power competes for the maximum. Block demand is the window of
 * one. */
static void demand_close(ms_meter_t *m, const int64_t acc[MS_DIR_COUNT], int64_t end_rtc,
                         int rate)
{
    const int n = nsub(m);
    for (int d = 0; d < MS_DIR_COUNT; d++) {
        m->window[d][m->window_head] = acc[d];
        int64_t sum = 0;
        for (int k = 0; k < n; k++)
            sum += m->window[d][k];
        demand_offer(m, d, sum / period_ms(m), end_rtc, rate);
    }
    m->window_head = (uint8_t)((m->window_head + 1) % n);
}

/* Integrate demand over [t0, t1) with constant powers, closing every (sub)period that
 * ends inside: the running one with its accumulated part, then up to N full ones one by
 * one (until the window holds only the constant power), then all the others at once —
 * their windows are equal, so none can set a new maximum. O(N) per call. */
static void demand_span(ms_meter_t *m, int64_t t0, int64_t t1,
                        const int64_t pw[MS_DIR_COUNT], int rate)
{
    const int n = nsub(m);
    const int64_t s = period_ms(m) / n;
    int64_t end = ms_rtc_sim_of(&m->rtc, m->period_start_rtc + s);
    if (end > t1) {
        for (int d = 0; d < MS_DIR_COUNT; d++)
            m->period_acc[d] += pw[d] * (t1 - t0);
        return;
    }
    for (int d = 0; d < MS_DIR_COUNT; d++)
        m->period_acc[d] += pw[d] * (end - t0);
    demand_close(m, m->period_acc, m->period_start_rtc + s, rate);
    m->period_start_rtc += s;
    int64_t full = (ms_rtc_at(&m->rtc, t1) - m->period_start_rtc) / s;
    int64_t one_by_one = full < n ? full : n;
    for (int64_t i = 0; i < one_by_one; i++) {
        int64_t a = ms_rtc_sim_of(&m->rtc, m->period_start_rtc);
        int64_t b = ms_rtc_sim_of(&m->rtc, m->period_start_rtc + s);
        int64_t acc[MS_DIR_COUNT];
        for (int d = 0; d < MS_DIR_COUNT; d++)
            acc[d] = pw[d] * (b - a);
        demand_close(m, acc, m->period_start_rtc + s, rate);
        m->period_start_rtc += s;
    }
    m->period_start_rtc += (full - one_by_one) * s;
    int64_t start = ms_rtc_sim_of(&m->rtc, m->period_start_rtc);
    for (int d = 0; d < MS_DIR_COUNT; d++)
        m->period_acc[d] = pw[d] * (t1 - start);
}

/* ---- billing ------------------------------------------------------------------------
 */

/* Next scheduled end of billing after RTC time rtc_ms (local day/time of the model). */
static int64_t billing_after(const ms_meter_t *m, int64_t rtc_ms)
{
    const ms_model_t *md = m->model;
    if (!md->billing_day)
        return NEVER;
    int64_t local = ms_tz_local(&md->tz, ms_floor_div(rtc_ms, 1000));
    int y;
    unsigned mo, d;
    ms_civil_from_days(ms_floor_div(local, 86400), &y, &mo, &d);
    for (int k = 0; k < 3; k++) {
        unsigned day = md->billing_day;
        if (day > ms_days_in_month(y, mo))
            day = ms_days_in_month(y, mo);
        int64_t l = ms_days_from_civil(y, mo, day) * 86400 + md->billing_time_min * 60;
        int64_t u = ms_tz_utc_of_local(&md->tz, l) * 1000;
        if (u > rtc_ms)
            return u;
        if (++mo == 13) {
            mo = 1;
            y++;
        }
    }
    return NEVER;
}

/* End of billing. `who` (a command's access level, or NULL) goes into the event. */
static void billing_reset(ms_meter_t *m, uint8_t cause, const char *who)
{
    const ms_model_t *md = m->model;
    m->billing_count++;
    /* Historical values, then the maximum demand reset (the maxima add to the
     * cumulative maximum demand, IEC 62053-21 style). */
    for (int d = 0; d < MS_DIR_COUNT; d++)
        for (int r = 0; r <= MS_MAX_RATES; r++)
            m->cum_demand_mw[d][r] += m->demand[d][r].max_mw;
    if (md->billing_capacity) {
        if (!m->billing)
            m->billing = calloc(md->billing_capacity, sizeof *m->billing);
        if (m->billing) {
            uint32_t at = (m->billing_head + m->billing_n) % md->billing_capacity;
            if (m->billing_n == md->billing_capacity) {
                at = m->billing_head;
                m->billing_head = (m->billing_head + 1) % md->billing_capacity;
            } else {
                m->billing_n++;
            }
            ms_billing_rec_t *b = &m->billing[at];
            b->rtc_ms = ms_meter_rtc_ms(m);
            b->t_ms = m->t_ms;
            b->counter = m->billing_count;
            b->cause = cause;
            memcpy(b->energy, m->regs.energy, sizeof b->energy);
            memcpy(b->demand, m->demand, sizeof b->demand);
            memcpy(b->cum_demand_mw, m->cum_demand_mw, sizeof b->cum_demand_mw);
        }
    }
    memset(m->demand, 0, sizeof m->demand);
    log_event(m, MS_LOG_STANDARD, MS_EV_BILLING_RESET, 0, "end of billing %u (%s%s%.24s)",
              m->billing_count, ms_billing_cause_name(cause), who ? ", " : "",
              who ? who : "");
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
}

/* ---- supply -------------------------------------------------------------------------
 */

static void power_up(ms_meter_t *m)
{
    const ms_model_t *md = m->model;
    int64_t outage = m->t_ms - m->outage_start_ms;
    m->powered = true;
    m->outage_end_ms = NEVER;
    uint8_t status = MS_PST_POWER_DOWN;
    if (!m->rtc.running) {
        /* Dead battery: the RTC stood still; it resumes from where it stopped, so the
         * meter's time is behind by the outage. The meter cannot know how long it was
         * off: it logs the time the battery failure was found (its own clock). */
        m->rtc = (ms_rtc_t){ m->t_ms, m->rtc.rtc_base, m->rtc.drift_ppm, true };
        m->clock_invalid = true;
        status |= MS_PST_CLOCK_INVALID;
        char at[40];
        ms_meter_format_time(m, m->rtc.rtc_base, at, sizeof at);
        log_event(m, MS_LOG_STANDARD, MS_EV_BATTERY_FAILED, 0,
                  "battery failed, clock stopped at %s", at);
        log_event(m, MS_LOG_STANDARD, MS_EV_CLOCK_INVALID, 0, NULL);
        log_event(m, MS_LOG_STANDARD, MS_EV_POWER_UP, 0, NULL);
        log_event(m, MS_LOG_POWER, MS_EV_POWER_FAILURE, -1, "duration unknown (battery)");
        demand_restart(m);
        m->next_billing_rtc = billing_after(m, ms_meter_rtc_ms(m));
        if (md->battery_response != MS_BATTERY_CONTINUE)
            billing_reset(m, 2, NULL);
        if (md->battery_response == MS_BATTERY_FREEZE) {
            m->tariff_frozen = true;
            log_event(m, MS_LOG_STANDARD, MS_EV_TARIFF_FROZEN, 0,
                      "tariff frozen at rate %u until the clock is set", m->regs.rate);
        }
    } else {
        log_event(m, MS_LOG_STANDARD, MS_EV_POWER_UP, 0, NULL);
        log_event(m, MS_LOG_POWER, MS_EV_POWER_FAILURE, outage, NULL);
        demand_restart(m);
        if (m->next_billing_rtc != NEVER && ms_meter_rtc_ms(m) >= m->next_billing_rtc) {
            billing_reset(m, 0, NULL); /* missed during the outage */
            m->next_billing_rtc = billing_after(m, ms_meter_rtc_ms(m));
        }
    }
    rules_changed(m, status);
    if (m->passive && m->passive_activation_rtc &&
        ms_meter_rtc_ms(m) >= m->passive_activation_rtc)
        activate_passive(m);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
}

/* ---- the advance loop ----------------------------------------------------------------
 */

void ms_meter_advance(ms_meter_t *m, int64_t t_end)
{
    while (m->t_ms < t_end) {
        const int64_t t = m->t_ms;
        ictx_t c = live_ctx(m);
        int64_t next = t_end;
        ms_load_seg_t seg = { .end_ms = NEVER };
        if (m->powered) {
            ms_load_segment(m->load, t, &seg);
            if (seg.end_ms < next)
                next = seg.end_ms;
            if (m->regs.next_switch_ms < next)
                next = m->regs.next_switch_ms;
        }
        /* Scheduled actions need the supply; missed ones run at power-up. */
        int64_t bill = m->powered && m->next_billing_rtc != NEVER
                           ? ms_rtc_sim_of(&m->rtc, m->next_billing_rtc)
                           : NEVER;
        if (bill < next)
            next = bill;
        if (m->outage_end_ms < next)
            next = m->outage_end_ms;
        int64_t act = m->powered && m->passive && m->passive_activation_rtc
                          ? ms_rtc_sim_of(&m->rtc, m->passive_activation_rtc)
                          : NEVER;
        if (act < next)
            next = act;
        if (next <= t)
            next = t + 1; /* events due now were handled; never stall */

        /* The limiter: import power above the threshold for min_over cuts the supply. */
        int64_t cut = NEVER;
        if (m->powered && ms_meter_output(m) && m->limiter_mw > 0 && seg.valid &&
            seg.power_mw[MS_DIR_IMPORT] > m->limiter_mw) {
            if (m->over_since_ms == NEVER)
                m->over_since_ms = t;
            cut = m->over_since_ms + m->limiter_over_ms;
            if (cut <= t)
                cut = t + 1;
            if (cut < next)
                next = cut;
        } else {
            m->over_since_ms = NEVER;
        }
        if (m->powered) {
            int rate = ms_regs_rate(&m->regs);
            int64_t pw[MS_DIR_COUNT] = { 0, 0 };
            if (seg.valid && ms_meter_output(m))
                memcpy(pw, seg.power_mw, sizeof pw);
            demand_span(m, t, next, pw, rate);
        }
        integrate(&c, &m->regs, next);
        m->t_ms = next;

        if (m->powered && m->regs.next_switch_ms <= next)
            apply_switch(&c, &m->regs); /* needs no event: the calendar explains it */
        if (next == bill) {
            billing_reset(m, 0, NULL);
            m->next_billing_rtc = billing_after(m, ms_meter_rtc_ms(m));
        }
        if (next == act)
            activate_passive(m);
        if (next == m->outage_end_ms)
            power_up(m);
        if (next == cut)
            ms_meter_breaker(m, MS_BREAKER_LOCAL_DISCONNECT, "limiter");
    }
}

/* ---- creation
 * -------------------------------------------------------------------------- */

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
    m->rtc = (ms_rtc_t){ t_ms, t_ms, model->drift_ppm, true };
    m->cal = &model->calendar;
    m->powered = true;
    m->battery_ok = true;
    m->outage_end_ms = NEVER;
    m->breaker = MS_BREAKER_CONNECTED;
    m->limiter_mw = model->limiter_mw;
    m->limiter_over_ms = (int64_t)model->limiter_over_s * 1000;
    m->over_since_ms = NEVER;
    for (int i = 0; i < MS_LOG_COUNT; i++)
        ring_init(&m->logs[i], model->log_capacity[i]);
    ictx_t c = live_ctx(m);
    regs_rearm(&c, &m->regs, t_ms);
    demand_restart(m);
    m->next_billing_rtc = billing_after(m, ms_meter_rtc_ms(m));
    new_epoch(m, 0);
    return m;
}

void ms_meter_free(ms_meter_t *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->nepochs; i++)
        ms_load_free(m->epochs[i].load);
    free(m->epochs);
    for (int i = 0; i < MS_LOG_COUNT; i++)
        free(m->logs[i].rec);
    free(m->billing);
    for (size_t i = 0; i < sizeof m->cal_owned / sizeof m->cal_owned[0]; i++)
        free(m->cal_owned[i]);
    ms_load_free(m->load);
    free(m);
}

int64_t ms_meter_rtc_ms(const ms_meter_t *m)
{
    return ms_rtc_at(&m->rtc, m->t_ms);
}

unsigned ms_meter_clock_status(const ms_meter_t *m)
{
    unsigned s = 0;
    bool dst;
    int64_t rtc = ms_meter_rtc_ms(m);
    ms_tz_offset(&m->model->tz, ms_floor_div(rtc, 1000), &dst);
    if (dst)
        s |= MS_CLOCK_DST;
    if (m->clock_invalid)
        s |= MS_CLOCK_INVALID;
    return s;
}

/* ---- commands -------------------------------------------------------------------------
 */

void ms_meter_set_load(ms_meter_t *m, ms_load_t *load)
{
    char old[64];
    snprintf(old, sizeof old, "%s", ms_load_describe(m->load));
    ms_load_free(m->load);
    m->load = load;
    ms_load_cumulative(load, m->t_ms, m->regs.src_mwh);
    log_event(m, MS_LOG_CONFIG, MS_EV_LOAD_CHANGE, 0, "load: %.30s -> %.40s", old,
              ms_load_describe(load));
    new_epoch(m, 0);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
}

void ms_meter_set_clock(ms_meter_t *m, int64_t rtc_ms, const char *who)
{
    int64_t old = ms_meter_rtc_ms(m);
    char a[40], b[40];
    ms_meter_format_time(m, old, a, sizeof a);
    ms_meter_format_time(m, rtc_ms, b, sizeof b);
    log_event(m, MS_LOG_CLOCK, MS_EV_CLOCK_OLD, 0, "%s (%s)", a, who ? who : "");
    m->rtc = (ms_rtc_t){ m->t_ms, rtc_ms, m->rtc.drift_ppm, m->powered || m->battery_ok };
    log_event(m, MS_LOG_CLOCK, MS_EV_CLOCK_NEW, 0, "%s (%s)", b, who ? who : "");
    log_event(m, MS_LOG_STANDARD, MS_EV_CLOCK_NEW, 0, "clock set %s -> %s", a, b);
    bool was_frozen = m->tariff_frozen;
    m->clock_invalid = false;
    m->tariff_frozen = false;
    if (was_frozen)
        log_event(m, MS_LOG_STANDARD, MS_EV_TARIFF_RELEASED, 0,
                  "clock set: tariff follows the calendar again");
    /* A billing date the clock jumped over is executed now (once); the schedule then
     * continues from the new time. */
    if (m->next_billing_rtc != NEVER && rtc_ms >= m->next_billing_rtc)
        billing_reset(m, 0, NULL);
    m->next_billing_rtc = billing_after(m, rtc_ms);
    demand_restart(m);
    rules_changed(m, MS_PST_CLOCK_ADJUSTED);
    if (m->passive && m->passive_activation_rtc && rtc_ms >= m->passive_activation_rtc &&
        m->powered)
        activate_passive(m);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
}

int ms_meter_set_drift(ms_meter_t *m, int32_t ppm, const char *who)
{
    if (ppm < -1000 || ppm > 1000)
        return MS_ERANGE;
    char a[16], b[16];
    snprintf(a, sizeof a, "%d ppm", m->rtc.drift_ppm);
    snprintf(b, sizeof b, "%d ppm", ppm);
    m->rtc = (ms_rtc_t){ m->t_ms, ms_meter_rtc_ms(m), ppm, m->rtc.running };
    ms_meter_audit(m, "clock drift", a, b, who);
    rules_changed(m, 0);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
    return 0;
}

void ms_meter_billing_reset(ms_meter_t *m, const char *who)
{
    billing_reset(m, 1, who);
}

int ms_meter_override_rate(ms_meter_t *m, int rate, const char *who)
{
    if (rate < 1 || rate > m->cal->nrates)
        return MS_ERANGE;
    int before = ms_regs_rate(&m->regs);
    m->regs.override_rate = (int8_t)rate;
    log_event(m, MS_LOG_STANDARD, MS_EV_TARIFF_OVERRIDE, 0,
              "rate %d -> %d until the next scheduled switch (%s)", before, rate,
              who ? who : "");
    new_epoch(m, 0);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
    return 0;
}

int ms_meter_outage(ms_meter_t *m, int64_t duration_ms)
{
    if (duration_ms <= 0)
        return MS_EINVAL;
    if (!m->powered)
        return MS_ESTATE;
    m->powered = false;
    m->outage_start_ms = m->t_ms;
    m->outage_end_ms = m->t_ms + duration_ms;
    log_event(m, MS_LOG_STANDARD, MS_EV_POWER_DOWN, 0, NULL);
    if (!m->battery_ok) /* the RTC runs on the battery while the supply is off */
        m->rtc = (ms_rtc_t){ m->t_ms, ms_meter_rtc_ms(m), m->rtc.drift_ppm, false };
    new_epoch(m, 0);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
    return 0;
}

void ms_meter_set_battery(ms_meter_t *m, bool ok, const char *who)
{
    if (m->battery_ok == ok)
        return;
    ms_meter_audit(m, "battery", m->battery_ok ? "ok" : "failed", ok ? "ok" : "failed",
                   who);
    m->battery_ok = ok;
    if (ok)
        log_event(m, MS_LOG_STANDARD, MS_EV_BATTERY_REPLACE, 0, NULL);
    if (!m->powered && !ok && m->rtc.running) { /* fails during an outage: clock stops */
        m->rtc = (ms_rtc_t){ m->t_ms, ms_meter_rtc_ms(m), m->rtc.drift_ppm, false };
        new_epoch(m, 0);
    }
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
}

/* Is a programmed calendar still needed (active, passive, or replayed by an epoch)? */
static bool calendar_used(const ms_meter_t *m, const ms_calendar_t *c)
{
    if (m->cal == c || m->passive == c)
        return true;
    for (uint32_t i = 0; i < m->nepochs; i++)
        if (m->epochs[i].cal == c)
            return true;
    return false;
}

static void activate_passive(ms_meter_t *m)
{
    m->cal = m->passive;
    m->passive = NULL;
    m->passive_activation_rtc = 0;
    log_event(m, MS_LOG_STANDARD, MS_EV_TOU_ACTIVATED, 0, "calendar %s activated",
              m->cal->name);
    rules_changed(m, 0);
}

int ms_meter_program_calendar(ms_meter_t *m, const ms_calendar_t *cal,
                              int64_t activation_rtc, const char *who, char *field,
                              size_t cap)
{
    ms_calendar_t *copy = malloc(sizeof *copy);
    if (!copy)
        return MS_ENOMEM;
    *copy = *cal;
    int rc = ms_calendar_check(copy, field, cap);
    if (rc) {
        free(copy);
        return rc;
    }
    /* A free slot, after releasing calendars nothing refers to any more. */
    const size_t nslots = sizeof m->cal_owned / sizeof m->cal_owned[0];
    size_t slot = nslots;
    for (size_t i = 0; i < nslots; i++) {
        if (m->cal_owned[i] && !calendar_used(m, m->cal_owned[i])) {
            free(m->cal_owned[i]);
            m->cal_owned[i] = NULL;
        }
        if (!m->cal_owned[i] && slot == nslots)
            slot = i;
    }
    if (slot == nslots) {
        free(copy);
        snprintf(field, cap,
                 "calendar (too many programmed calendars kept for profiles)");
        return MS_EBUSY;
    }
    m->cal_owned[slot] = copy;
    m->cal_gen++;
    if (activation_rtc == 0) {
        ms_meter_audit(m, "active calendar", m->cal->name, copy->name, who);
        m->cal = copy;
        rules_changed(m, 0);
    } else {
        ms_meter_audit(m, "passive calendar", m->passive ? m->passive->name : "-",
                       copy->name, who);
        m->passive = copy;
        m->passive_activation_rtc = activation_rtc;
        if (activation_rtc <= ms_meter_rtc_ms(m) && m->powered)
            activate_passive(m); /* an activation time already passed: now */
    }
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
    return 0;
}

int ms_meter_breaker(ms_meter_t *m, ms_breaker_op_t op, const char *who)
{
    const int mode = m->model->breaker_mode;
    ms_breaker_state_t from = m->breaker, to = from;
    /* IEC 62056-6-2 class 70 (Disconnect control), control_mode: the transitions
     * a..h each mode allows. Mode 0: always connected. Every mode 1..6 has remote
     * disconnect (b, c), local disconnect (g) and manual reconnect (e); remote
     * reconnect goes straight to connected (a) in modes 2 and 4, to
     * ready_for_reconnection (d) in 1, 3, 5, 6; manual disconnect (f) exists in modes
     * 1, 2 and 5. Local reconnect (h, modes 5 and 6) has no trigger in the model. */
    if (mode == 0)
        return MS_ESTATE;
    switch (op) {
    case MS_BREAKER_REMOTE_DISCONNECT:
        if (from == MS_BREAKER_DISCONNECTED)
            return MS_ESTATE;
        to = MS_BREAKER_DISCONNECTED;
        break;
    case MS_BREAKER_REMOTE_RECONNECT:
        if (from != MS_BREAKER_DISCONNECTED)
            return MS_ESTATE;
        to = mode == 2 || mode == 4 ? MS_BREAKER_CONNECTED : MS_BREAKER_READY;
        break;
    case MS_BREAKER_MANUAL_RECONNECT:
        if (from != MS_BREAKER_READY)
            return MS_ESTATE;
        to = MS_BREAKER_CONNECTED;
        break;
    case MS_BREAKER_MANUAL_DISCONNECT:
        if ((mode != 1 && mode != 2 && mode != 5) || from != MS_BREAKER_CONNECTED)
            return MS_ESTATE;
        to = MS_BREAKER_READY;
        break;
    case MS_BREAKER_LOCAL_DISCONNECT:
        if (from != MS_BREAKER_CONNECTED)
            return MS_ESTATE;
        to = MS_BREAKER_READY;
        break;
    }
    if (to == MS_BREAKER_CONNECTED && m->breaker_changed_ms &&
        m->t_ms - m->breaker_changed_ms < (int64_t)m->model->reconnect_wait_s * 1000)
        return MS_EBUSY;
    m->breaker = to;
    m->breaker_changed_ms = m->t_ms;
    m->over_since_ms = NEVER;
    static const ms_event_t ev[] = { [MS_BREAKER_DISCONNECTED] = MS_EV_DISCONNECT,
                                     [MS_BREAKER_CONNECTED] = MS_EV_RECONNECT,
                                     [MS_BREAKER_READY] = MS_EV_READY_RECONNECT };
    log_event(m, MS_LOG_DISCONNECT,
              op == MS_BREAKER_LOCAL_DISCONNECT ? MS_EV_LIMITER : ev[to], 0,
              "%s -> %s (%s)", ms_breaker_state_names[from], ms_breaker_state_names[to],
              who ? who : "");
    /* what the load does from now on changes: a new epoch */
    ms_load_cumulative(m->load, m->t_ms, m->regs.src_mwh);
    new_epoch(m, 0);
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
    return 0;
}

void ms_meter_set_limiter(ms_meter_t *m, int64_t threshold_mw, int64_t min_over_ms,
                          const char *who)
{
    char a[40], b[40];
    snprintf(a, sizeof a, "%lld W/%lld s", (long long)(m->limiter_mw / 1000),
             (long long)(m->limiter_over_ms / 1000));
    snprintf(b, sizeof b, "%lld W/%lld s", (long long)(threshold_mw / 1000),
             (long long)(min_over_ms / 1000));
    ms_meter_audit(m, "limiter", a, b, who);
    m->limiter_mw = threshold_mw;
    m->limiter_over_ms = min_over_ms;
    m->over_since_ms = NEVER;
    if (m->on_commit)
        m->on_commit(m, m->commit_ud);
}

void ms_meter_audit(ms_meter_t *m, const char *what, const char *old, const char *new_,
                    const char *who)
{
    log_event(m, MS_LOG_CONFIG, MS_EV_CONFIG_CHANGE, 0, "%.24s: %.18s -> %.18s (%.12s)",
              what, old, new_, who ? who : "control");
}

/* ---- reading --------------------------------------------------------------------------
 */

const ms_event_rec_t *ms_meter_event(const ms_meter_t *m, ms_log_id_t log, uint32_t n)
{
    const ms_ring_t *r = &m->logs[log];
    if (n >= r->n)
        return NULL;
    return &r->rec[(r->head + n) % r->cap];
}

const ms_billing_rec_t *ms_meter_billing(const ms_meter_t *m, uint32_t n)
{
    if (n >= m->billing_n)
        return NULL;
    return &m->billing[(m->billing_head + n) % m->model->billing_capacity];
}

/* An instantaneous value (power, voltage, current, power factor, frequency) of a meter
 * of model md measuring `load` at sim time t: from the load's power at t, the phase
 * shares and the nominal voltage. Shared by register reads and derived profiles. */
static int64_t instant(const ms_model_t *md, ms_load_t *load, bool powered, bool output,
                       int64_t t, const ms_reg_def_t *d)
{
    ms_load_seg_t seg;
    ms_load_segment(load, t, &seg);
    int share = d->phase ? md->phase_share_pct[d->phase - 1] : 100;
    int64_t p[MS_DIR_COUNT];
    for (int k = 0; k < MS_DIR_COUNT; k++)
        p[k] = powered && output && seg.valid ? seg.power_mw[k] * share / 100 : 0;
    /* voltage and frequency are measured on the supply side of the breaker; power and
     * current only flow through a closed one */
    int64_t both = p[0] + p[1];
    int64_t pf = both > 0 ? md->power_factor_permille : 1000;
    switch (d->kind) {
    case MS_REG_POWER:
        return p[d->q == MS_E_AP ? MS_DIR_IMPORT : MS_DIR_EXPORT];
    case MS_REG_VOLTAGE:
        return powered ? md->nominal_voltage_mv : 0;
    case MS_REG_CURRENT: /* I = P / (U cos phi): mA = mW x 1000 / mV x 1000 / pf */
        return md->nominal_voltage_mv > 0
                   ? ms_muldiv_floor(ms_muldiv_floor(both, 1000, md->nominal_voltage_mv),
                                     1000, pf)
                   : 0;
    case MS_REG_POWER_FACTOR:
        return pf;
    case MS_REG_FREQUENCY:
        return powered ? md->frequency_mhz : 0;
    default:
        return 0;
    }
}

int ms_meter_read(const ms_meter_t *m, const ms_obis_t *obis, ms_reg_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (!ms_reg_lookup(obis, &out->def))
        return MS_ENOENT;
    unsigned hist = out->def.hist; /* historical value: billing snapshot F back */
    const ms_model_t *md = m->model;
    const ms_reg_def_t *d = &out->def;
    if (d->rate > m->cal->nrates || d->phase > md->phases)
        return MS_ENOENT;
    const ms_billing_rec_t *b = NULL;
    if (hist) {
        if (hist > m->billing_n)
            return MS_ENOENT;
        b = ms_meter_billing(m, m->billing_n - hist);
    }
    ms_tm_t tm;
    int64_t rtc_s = ms_floor_div(ms_meter_rtc_ms(m), 1000);
    ms_tm_from_unix(ms_tz_local(&md->tz, rtc_s), &tm);
    int dir = d->q == MS_E_AP ? MS_DIR_IMPORT : MS_DIR_EXPORT;
    switch (d->kind) {
    case MS_REG_ENERGY:
        out->value = b ? b->energy[d->q][d->rate] : m->regs.energy[d->q][d->rate];
        break;
    case MS_REG_MAX_DEMAND: {
        const ms_demand_t *x = b ? &b->demand[dir][d->rate] : &m->demand[dir][d->rate];
        out->value = x->max_mw;
        out->at_ms = x->max_at_ms;
        break;
    }
    case MS_REG_CUM_DEMAND:
        out->value = b ? b->cum_demand_mw[dir][d->rate] : m->cum_demand_mw[dir][d->rate];
        break;
    case MS_REG_POWER:
    case MS_REG_VOLTAGE:
    case MS_REG_CURRENT:
    case MS_REG_POWER_FACTOR:
    case MS_REG_FREQUENCY:
        out->value = instant(md, m->load, m->powered, ms_meter_output(m), m->t_ms, d);
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
    case MS_REG_TARIFF:
        out->value = ms_regs_rate(&m->regs);
        break;
    case MS_REG_BREAKER:
        out->value = m->breaker;
        break;
    }
    return 0;
}

/* ---- derived load profiles ------------------------------------------------------------
 */

/* First capture time (RTC ms) strictly after rtc_ms for a profile: multiples of the
 * period on the standard-time scale for periods below a day (regular across DST
 * changes), local midnights for daily profiles. */
static int64_t capture_after(const ms_meter_t *m, const ms_profile_def_t *p,
                             int64_t rtc_ms)
{
    if (p->period_s >= 86400) {
        int64_t local = ms_tz_local(&m->model->tz, ms_floor_div(rtc_ms, 1000));
        int64_t day = ms_floor_div(local, 86400);
        for (int k = 0; k < 3; k++) {
            int64_t u = ms_tz_utc_of_local(&m->model->tz, (day + k) * 86400) * 1000;
            if (u > rtc_ms)
                return u;
        }
        return NEVER;
    }
    int64_t per = (int64_t)p->period_s * 1000,
            off = (int64_t)m->model->tz.std_offset_s * 1000;
    return (ms_floor_div(rtc_ms + off, per) + 1) * per - off;
}

static uint8_t entry_status(const ms_meter_t *m, const ms_epoch_t *e, int64_t rtc_ms)
{
    uint8_t st = 0;
    bool dst;
    ms_tz_offset(&m->model->tz, ms_floor_div(rtc_ms, 1000), &dst);
    if (dst)
        st |= MS_PST_DST;
    if (e->clock_invalid)
        st |= MS_PST_CLOCK_INVALID;
    return st;
}

size_t ms_meter_profile(const ms_meter_t *m, unsigned pi, int64_t from_rtc,
                        int64_t to_rtc, ms_profile_entry_t *out, size_t max)
{
    if (pi >= m->model->nprofiles || max == 0)
        return 0;
    const ms_profile_def_t *p = &m->model->profiles[pi];
    /* Generate every entry of the kept epochs in acquisition order; the ring keeps the
     * newest `capacity`; of those, the ones in [from, to] are returned (the newest `max`
     * when there are more). */
    size_t n = 0;       /* entries written (a ring over out when more than max) */
    size_t head = 0;    /* ring start in out */
    uint64_t total = 0; /* entries generated */
    uint64_t kept_from; /* sequence number of the oldest entry the profile keeps */
    int64_t prev[MS_PROFILE_MAX_CHANNELS] = { 0 };
    bool have_prev = false;
    /* Two passes: count, then emit the ones the ring keeps. */
    for (int pass = 0; pass < 2; pass++) {
        kept_from = total > p->capacity ? total - p->capacity : 0;
        uint64_t seq = 0;
        have_prev = false;
        for (uint32_t ei = 0; ei < m->nepochs; ei++) {
            const ms_epoch_t *e = &m->epochs[ei];
            /* Captures in (start, end]: one that falls on an epoch boundary belongs to
             * the earlier epoch, whose state it ends. */
            int64_t t_end = ei + 1 < m->nepochs ? m->epochs[ei + 1].t_start : m->t_ms;
            if (!e->powered)
                continue; /* the meter was off: no captures (registers stood still) */
            ictx_t c = epoch_ctx(m, e);
            ms_regs_t r = e->regs;
            uint8_t first = e->first_status;
            int64_t cap_rtc = capture_after(m, p, ms_rtc_at(&e->rtc, e->t_start));
            for (;;) {
                int64_t tc = ms_rtc_sim_of(&e->rtc, cap_rtc);
                if (tc > t_end || tc == NEVER)
                    break;
                if (pass == 1 && seq >= kept_from) {
                    regs_advance(&c, &r, tc);
                    ms_profile_entry_t en = { .rtc_ms = cap_rtc, .t_ms = tc };
                    en.status = entry_status(m, e, cap_rtc) | first;
                    for (unsigned k = 0; k < p->nch; k++) {
                        ms_reg_def_t def;
                        if (!ms_reg_lookup(&p->ch[k], &def))
                            en.value[k] = 0;
                        else if (def.kind == MS_REG_ENERGY)
                            en.value[k] = r.energy[def.q][def.rate];
                        else /* analysis logger: the value at the capture */
                            en.value[k] = instant(m->model, e->load, e->powered,
                                                  e->output, tc, &def);
                    }
                    int64_t raw[MS_PROFILE_MAX_CHANNELS];
                    memcpy(raw, en.value, sizeof raw);
                    for (unsigned k = 0; k < p->nch; k++)
                        if (p->ch_kind[k] == MS_CH_DELTA) {
                            if (have_prev)
                                en.value[k] -= prev[k];
                            else
                                en.status |= MS_PST_NOT_VALID; /* no previous capture */
                        }
                    memcpy(prev, raw, sizeof prev);
                    have_prev = true;
                    if (cap_rtc >= from_rtc && cap_rtc <= to_rtc) {
                        if (n < max) {
                            out[n++] = en;
                        } else { /* keep the newest max */
                            out[head] = en;
                            head = (head + 1) % max;
                        }
                    }
                } else if (pass == 1) {
                    regs_advance(&c, &r, tc);
                    ms_reg_def_t def;
                    for (unsigned k = 0; k < p->nch; k++)
                        prev[k] =
                            ms_reg_lookup(&p->ch[k], &def) && def.kind == MS_REG_ENERGY
                                ? r.energy[def.q][def.rate]
                                : 0;
                    have_prev = true;
                }
                first = 0;
                seq++;
                cap_rtc = capture_after(m, p, cap_rtc);
            }
        }
        total = seq;
    }
    if (head) { /* rotate the ring so that the oldest entry comes first */
        ms_profile_entry_t *tmp = malloc(n * sizeof *tmp);
        if (tmp) {
            for (size_t i = 0; i < n; i++)
                tmp[i] = out[(head + i) % n];
            memcpy(out, tmp, n * sizeof *tmp);
            free(tmp);
        }
    }
    return n;
}
