/*
** state_json.c — JSON views of the meters for the control API.
** SPDX-License-Identifier: MIT
*/
#include "state_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_time.h"
#include "registers.h"
#include "view_iec21.h"

/* ISO 8601 text of utc_ms on the meter's local scale ("...+01:00"). */
static json_t *local_time(const ms_meter_t *m, int64_t utc_ms)
{
    char b[40];
    ms_meter_format_time(m, utc_ms, b, sizeof b);
    return json_string(b);
}

json_t *ms_json_clock(const ms_sim_t *s)
{
    int64_t now = ms_sim_now(s);
    char b[40];
    ms_iso8601_format(ms_floor_div(now, 1000), 0, b, sizeof b);
    return json_pack("{s:s, s:I, s:s, s:I}", "mode", ms_simclock_mode_name(&s->clock),
                     "factor", (json_int_t)s->clock.factor, "now", b, "now_ms",
                     (json_int_t)now);
}

json_t *ms_json_ports(const ms_sim_meter_t *sm)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sm->nports; i++) {
        ms_port_info_t in;
        ms_port_info(sm->ports[i], &in);
        json_t *p = json_pack("{s:s, s:s, s:s}", "type",
                              in.kind == MS_PORT_PTY      ? "pty"
                              : in.kind == MS_PORT_SERIAL ? "serial"
                                                          : "tcp",
                              "protocol", in.protocol, "session", in.session);
        if (in.kind != MS_PORT_TCP) {
            json_object_set_new(p, "path", json_string(in.path));
            if (in.link[0])
                json_object_set_new(p, "link", json_string(in.link));
            json_object_set_new(p, "line",
                                json_pack("{s:I, s:I, s:I}", "baud", (json_int_t)in.baud,
                                          "peer_baud", (json_int_t)in.peer_baud,
                                          "peer_line_changes",
                                          (json_int_t)in.peer_line_changes));
        } else {
            json_object_set_new(p, "address", json_string(in.address));
            json_object_set_new(p, "connections", json_integer(in.connections));
        }
        json_object_set_new(
            p, "stats",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes",
                      (json_int_t)in.rx_bytes, "tx_bytes", (json_int_t)in.tx_bytes,
                      "sign_ons", (json_int_t)in.sign_ons, "readouts",
                      (json_int_t)in.readouts, "bad_bcc", (json_int_t)in.bad_bcc,
                      "wrong_passwords", (json_int_t)in.wrong_passwords, "naks_received",
                      (json_int_t)in.naks_received, "mode_e", (json_int_t)in.mode_e,
                      "apdus", (json_int_t)in.apdus));
        json_array_append_new(a, p);
    }
    return a;
}

json_t *ms_json_meter_summary(const ms_sim_meter_t *sm)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "id", sm->meter->id, "model",
                     sm->model->name, "serial", sm->model->serial, "ports",
                     ms_json_ports(sm));
}

/* One register of the data set. */
static json_t *register_json(const ms_meter_t *m, const ms_readout_item_t *it)
{
    ms_reg_value_t v;
    if (ms_meter_read(m, &it->obis, &v) != 0)
        return NULL;
    char code[32], addr[32], name[80];
    ms_obis_format(&it->obis, MS_OBIS_FMT_FULL, code, sizeof code);
    ms_iec21_address(m->model, &it->obis, addr,
                     sizeof addr); /* as the readout shows it */
    json_t *r = json_pack("{s:s, s:s, s:s}", "obis", code, "address", addr, "name",
                          ms_reg_name(&it->obis, name, sizeof name));
    if (v.def.text) {
        json_object_set_new(r, "value", json_string(v.text));
        return r;
    }
    const char *unit = it->unit[0] ? it->unit : v.def.unit;
    char num[40];
    ms_reg_format_fixed(v.value, v.def.exp10, v.def.unit, unit, 1, it->decimals, num,
                        sizeof num);
    json_object_set_new(r, "value", json_real(strtod(num, NULL)));
    json_object_set_new(r, "text", json_string(num));
    json_object_set_new(r, "unit", json_string(unit));
    json_object_set_new(r, "raw", json_integer(v.value));
    json_object_set_new(r, "raw_scale", json_integer(v.def.exp10));
    json_object_set_new(r, "raw_unit", json_string(v.def.unit));
    if (v.def.kind == MS_REG_MAX_DEMAND)
        json_object_set_new(r, "time", v.at_ms ? local_time(m, v.at_ms) : json_null());
    return r;
}

static json_t *time_or_null(const ms_meter_t *m, int64_t rtc_ms)
{
    return (rtc_ms == 0 || rtc_ms == INT64_MAX) ? json_null() : local_time(m, rtc_ms);
}

json_t *ms_json_meter_state(const ms_sim_meter_t *sm)
{
    const ms_meter_t *m = sm->meter;
    const ms_model_t *md = sm->model;
    int64_t rtc = ms_meter_rtc_ms(m);
    int64_t rtc_s = ms_floor_div(rtc, 1000);
    bool dst;
    int32_t off = ms_tz_offset(&md->tz, rtc_s, &dst);
    char sim_t[40];
    ms_iso8601_format(ms_floor_div(m->t_ms, 1000), 0, sim_t, sizeof sim_t);
    unsigned status = ms_meter_clock_status(m);
    json_t *clock = json_pack(
        "{s:s, s:o, s:s, s:i, s:b, s:i, s:b, s:i, s:I}", "sim_time", sim_t, "meter_time",
        local_time(m, rtc), "timezone", md->tz.name, "utc_offset_s", (int)off, "dst", dst,
        "status", (int)status, "invalid", (status & MS_CLOCK_INVALID) != 0, "drift_ppm",
        (int)m->rtc.drift_ppm, "error_s", (json_int_t)((rtc - m->t_ms) / 1000));
    ms_load_seg_t seg;
    ms_load_segment(m->load, m->t_ms, &seg);
    json_t *load =
        json_pack("{s:s, s:s, s:s, s:b, s:b, s:f, s:f}", "type", ms_load_type(m->load),
                  "description", ms_load_describe(m->load), "spec", ms_load_spec(m->load),
                  "valid", seg.valid, "bridged", seg.bridged, "import_w",
                  (double)seg.power_mw[MS_DIR_IMPORT] / 1000.0, "export_w",
                  (double)seg.power_mw[MS_DIR_EXPORT] / 1000.0);
    json_t *regs = json_array();
    for (size_t i = 0; i < md->iec21.nreadout; i++) {
        json_t *r = register_json(m, &md->iec21.readout[i]);
        if (r)
            json_array_append_new(regs, r);
    }
    json_t *tariff = json_pack(
        "{s:i, s:i, s:i, s:i, s:b, s:s, s:o, s:o}", "active_rate",
        (int)ms_regs_rate(&m->regs), "scheduled_rate", (int)m->regs.rate, "override",
        (int)m->regs.override_rate, "relays", (int)m->regs.relays, "frozen",
        m->tariff_frozen, "calendar", m->cal->name, "passive_calendar",
        m->passive ? json_string(m->passive->name) : json_null(), "passive_activation",
        m->passive ? time_or_null(m, m->passive_activation_rtc) : json_null());
    json_object_set_new(tariff, "rates", json_integer(m->cal->nrates));
    json_t *supply = json_pack("{s:b, s:b, s:n}", "powered", m->powered, "battery_ok",
                               m->battery_ok, "outage_ends");
    if (!m->powered) {
        char e[40];
        ms_iso8601_format(ms_floor_div(m->outage_end_ms, 1000), 0, e, sizeof e);
        json_object_set_new(supply, "outage_ends", json_string(e));
    }
    json_t *breaker = json_pack("{s:s, s:b, s:i, s:{s:f, s:I}}", "state",
                                ms_breaker_state_names[m->breaker], "output",
                                ms_meter_output(m), "mode", (int)md->breaker_mode,
                                "limiter", "threshold_w", (double)m->limiter_mw / 1000.0,
                                "min_over_s", (json_int_t)(m->limiter_over_ms / 1000));
    json_t *logs = json_object();
    for (int l = 0; l < MS_LOG_COUNT; l++)
        json_object_set_new(
            logs, ms_log_names[l],
            json_pack("{s:I, s:I, s:I}", "total", (json_int_t)m->logs[l].total, "kept",
                      (json_int_t)m->logs[l].n, "capacity", (json_int_t)m->logs[l].cap));
    json_t *profiles = json_array();
    for (size_t i = 0; i < md->nprofiles; i++) {
        char o[32];
        ms_obis_format(&md->profiles[i].obis, MS_OBIS_FMT_FULL, o, sizeof o);
        json_array_append_new(
            profiles, json_pack("{s:s, s:s, s:i, s:i}", "name", md->profiles[i].name,
                                "obis", o, "period_s", (int)md->profiles[i].period_s,
                                "capacity", (int)md->profiles[i].capacity));
    }
    json_t *billing =
        json_pack("{s:i, s:o, s:i}", "counter", (int)m->billing_count, "next",
                  time_or_null(m, m->next_billing_rtc), "kept", (int)m->billing_n);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", m->id, "model", md->name, "serial", md->serial, "clock", clock,
                     "tariff", tariff, "supply", supply, "breaker", breaker, "billing",
                     billing, "load", load, "registers", regs, "logs", logs, "profiles",
                     profiles, "ports", ms_json_ports(sm));
}

const char *ms_event_name(unsigned code)
{
    switch (code) {
    case MS_EV_POWER_DOWN:
        return "power down";
    case MS_EV_POWER_UP:
        return "power up";
    case MS_EV_DST:
        return "daylight saving time changed";
    case MS_EV_CLOCK_OLD:
        return "clock adjusted (old time)";
    case MS_EV_CLOCK_NEW:
        return "clock adjusted (new time)";
    case MS_EV_CLOCK_INVALID:
        return "clock invalid";
    case MS_EV_BATTERY_REPLACE:
        return "battery replaced";
    case MS_EV_TOU_ACTIVATED:
        return "passive calendar activated";
    case MS_EV_BILLING_RESET:
        return "end of billing";
    case MS_EV_TARIFF_OVERRIDE:
        return "tariff override";
    case MS_EV_TARIFF_FROZEN:
        return "tariff frozen";
    case MS_EV_TARIFF_RELEASED:
        return "tariff released";
    case MS_EV_BATTERY_FAILED:
        return "battery failure";
    case MS_EV_POWER_FAILURE:
        return "power failure";
    case MS_EV_CONFIG_CHANGE:
        return "configuration change";
    case MS_EV_LOAD_CHANGE:
        return "load change";
    case MS_EV_DISCONNECT:
        return "disconnected";
    case MS_EV_RECONNECT:
        return "reconnected";
    case MS_EV_READY_RECONNECT:
        return "ready for reconnection";
    case MS_EV_LIMITER:
        return "limiter cut the supply";
    default:
        return "event";
    }
}

json_t *ms_json_events(const ms_meter_t *m, ms_log_id_t log)
{
    const ms_ring_t *r = &m->logs[log];
    json_t *a = json_array();
    for (uint32_t i = 0; i < r->n; i++) {
        const ms_event_rec_t *e = ms_meter_event(m, log, i);
        char st[40];
        ms_iso8601_format(ms_floor_div(e->t_ms, 1000), 0, st, sizeof st);
        json_t *o = json_pack(
            "{s:I, s:o, s:s, s:i, s:s, s:s}", "seq", (json_int_t)(r->total - r->n + i),
            "time", local_time(m, e->rtc_ms), "sim_time", st, "code", (int)e->code,
            "name", ms_event_name(e->code), "detail", e->detail);
        if (e->code == MS_EV_POWER_FAILURE)
            json_object_set_new(o, "duration_s",
                                e->duration_ms < 0
                                    ? json_null()
                                    : json_real((double)e->duration_ms / 1000));
        json_array_append_new(a, o);
    }
    return json_pack("{s:s, s:I, s:I, s:o}", "log", ms_log_names[log], "total",
                     (json_int_t)r->total, "kept", (json_int_t)r->n, "events", a);
}

json_t *ms_json_billing(const ms_meter_t *m)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < m->billing_n; i++) {
        const ms_billing_rec_t *b = ms_meter_billing(m, i);
        json_t *regs = json_object();
        for (int q = 0; q < MS_E_COUNT; q++)
            for (int r = 0; r <= m->cal->nrates && r <= MS_MAX_RATES; r++) {
                char code[32];
                ms_obis_t o = MS_OBIS(1, 0, (uint8_t)(q + 1), 8, (uint8_t)r, 255);
                ms_obis_format(&o, MS_OBIS_FMT_FULL, code, sizeof code);
                json_object_set_new(regs, code, json_integer(b->energy[q][r]));
            }
        for (int d = 0; d < MS_DIR_COUNT; d++)
            for (int r = 0; r <= m->cal->nrates && r <= MS_MAX_RATES; r++) {
                char code[32];
                ms_obis_t o = MS_OBIS(1, 0, (uint8_t)(d + 1), 6, (uint8_t)r, 255);
                ms_obis_format(&o, MS_OBIS_FMT_FULL, code, sizeof code);
                json_object_set_new(
                    regs, code,
                    json_pack("{s:I, s:o}", "mw", (json_int_t)b->demand[d][r].max_mw,
                              "time", time_or_null(m, b->demand[d][r].max_at_ms)));
            }
        json_array_append_new(
            a, json_pack("{s:i, s:o, s:s, s:o}", "counter", (int)b->counter, "time",
                         local_time(m, b->rtc_ms), "cause",
                         ms_billing_cause_name(b->cause), "registers", regs));
    }
    return json_pack("{s:i, s:s, s:o}", "counter", (int)m->billing_count, "units",
                     "energy in mWh (mvarh for 3.8/4.8), demand in mW", "snapshots", a);
}

json_t *ms_json_profile(const ms_meter_t *m, unsigned pi, int64_t from, int64_t to,
                        size_t max)
{
    const ms_profile_def_t *p = &m->model->profiles[pi];
    ms_profile_entry_t *e = malloc((max ? max : 1) * sizeof *e);
    if (!e)
        return NULL;
    size_t n = ms_meter_profile(m, pi, from, to, e, max);
    json_t *ch = json_array();
    const char *units[MS_PROFILE_MAX_CHANNELS];
    unsigned decs[MS_PROFILE_MAX_CHANNELS];
    ms_reg_def_t defs[MS_PROFILE_MAX_CHANNELS];
    for (unsigned k = 0; k < p->nch; k++) {
        char code[32];
        ms_obis_format(&p->ch[k], MS_OBIS_FMT_FULL, code, sizeof code);
        ms_reg_lookup(&p->ch[k], &defs[k]); /* checked when the model was loaded */
        ms_reg_display(&defs[k], &units[k], &decs[k]);
        json_array_append_new(ch,
                              json_pack("{s:s, s:s, s:s}", "obis", code, "kind",
                                        p->ch_kind[k] == MS_CH_DELTA ? "delta" : "value",
                                        "unit", units[k]));
    }
    json_t *entries = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *vals = json_array(), *raw = json_array();
        for (unsigned k = 0; k < p->nch; k++) {
            char num[32] = "0";
            ms_reg_format_fixed(e[i].value[k], defs[k].exp10, defs[k].unit, units[k], 1,
                                decs[k], num, sizeof num);
            json_array_append_new(vals, json_real(strtod(num, NULL)));
            json_array_append_new(raw, json_integer(e[i].value[k]));
        }
        json_array_append_new(
            entries, json_pack("{s:o, s:i, s:o, s:o}", "time", local_time(m, e[i].rtc_ms),
                               "status", (int)e[i].status, "values", vals, "raw", raw));
    }
    free(e);
    char code[32];
    ms_obis_format(&p->obis, MS_OBIS_FMT_FULL, code, sizeof code);
    return json_pack(
        "{s:s, s:s, s:i, s:i, s:s, s:o, s:o}", "name", p->name, "obis", code, "period_s",
        (int)p->period_s, "capacity", (int)p->capacity, "status_bits",
        "0x01 critical, 0x02 clock invalid, 0x04 not valid, 0x08 DST, 0x20 clock "
        "adjusted, 0x80 power down",
        "channels", ch, "entries", entries);
}

/* A season start or special day: "MM-DD" yearly, else "YYYY-MM-DD". */
static void calendar_date(uint16_t year, uint8_t month, uint8_t day, char *buf,
                          size_t cap)
{
    if (year == MS_EVERY_YEAR)
        snprintf(buf, cap, "%02u-%02u", month, day);
    else
        snprintf(buf, cap, "%04u-%02u-%02u", year, month, day);
}

json_t *ms_json_calendar(const ms_calendar_t *c)
{
    /* JSON form of the model schema: days = [{ "name": "...", "actions": [[time, rate,
     * relays]] }] is accepted too (see ms_cfg_calendar). */
    json_t *jdays = json_array();
    for (unsigned d = 0; d < c->ndays; d++) {
        json_t *acts = json_array();
        for (unsigned i = 0; i < c->days[d].nactions; i++) {
            const ms_day_action_t *a = &c->days[d].actions[i];
            char t[8];
            snprintf(t, sizeof t, "%02u:%02u", a->start_min / 60, a->start_min % 60);
            json_array_append_new(
                acts, a->relays ? json_pack("[s, i, i]", t, (int)a->rate, (int)a->relays)
                                : json_pack("[s, i]", t, (int)a->rate));
        }
        char name[24];
        snprintf(name, sizeof name, "d%u", d + 1);
        json_array_append_new(jdays, json_pack("{s:s, s:i, s:o}", "name", name, "id",
                                               (int)c->days[d].day_id, "actions", acts));
    }
    json_t *weeks = json_array();
    for (unsigned w = 0; w < c->nweeks; w++) {
        json_t *wd = json_array();
        for (int d = 0; d < 7; d++) {
            char name[24];
            snprintf(name, sizeof name, "d%u", c->weeks[w].day[d] + 1);
            json_array_append_new(wd, json_string(name));
        }
        json_array_append_new(
            weeks, json_pack("{s:s, s:o}", "name", c->weeks[w].name, "days", wd));
    }
    json_t *seasons = json_array();
    for (unsigned s = 0; s < c->nseasons; s++) {
        const ms_season_t *x = &c->seasons[s];
        char start[16];
        calendar_date(x->year, x->month, x->day, start, sizeof start);
        json_array_append_new(seasons,
                              json_pack("{s:s, s:s, s:s}", "name", x->name, "start",
                                        start, "week", c->weeks[x->week].name));
    }
    json_t *special = json_array();
    for (unsigned s = 0; s < c->nspecial; s++) {
        const ms_special_day_t *x = &c->special[s];
        char date[16], name[24];
        calendar_date(x->year, x->month, x->day, date, sizeof date);
        snprintf(name, sizeof name, "d%u", x->day_profile + 1);
        json_array_append_new(special, json_pack("[s, s]", date, name));
    }
    return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o}", "name", c->name, "rates",
                     (int)c->nrates, "days", jdays, "weeks", weeks, "seasons", seasons,
                     "special_days", special);
}
