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
    int64_t s = ms_floor_div(utc_ms, 1000);
    char b[40];
    ms_iso8601_format(s, ms_tz_offset(&m->model->tz, s, NULL), b, sizeof b);
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
        json_t *p =
            json_pack("{s:s, s:s, s:s}", "type", in.kind == MS_PORT_PTY ? "pty" : "tcp",
                      "protocol", in.protocol, "session", in.session);
        if (in.kind == MS_PORT_PTY) {
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
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes",
                      (json_int_t)in.rx_bytes, "tx_bytes", (json_int_t)in.tx_bytes,
                      "sign_ons", (json_int_t)in.sign_ons, "readouts",
                      (json_int_t)in.readouts, "bad_bcc", (json_int_t)in.bad_bcc,
                      "wrong_passwords", (json_int_t)in.wrong_passwords, "naks_received",
                      (json_int_t)in.naks_received));
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
    /* The data-set address as the readout shows it. */
    uint8_t tmp[160];
    ms_wr_t w;
    ms_wr_init(&w, tmp, sizeof tmp - 1);
    ms_iec21_format_item(m, it, NULL, &w);
    tmp[w.len] = 0;
    char *paren = strchr((char *)tmp, '(');
    snprintf(addr, sizeof addr, "%.*s", paren ? (int)(paren - (char *)tmp) : 0,
             (char *)tmp);
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
    json_t *clock = json_pack("{s:s, s:o, s:s, s:i, s:b}", "sim_time", sim_t,
                              "meter_time", local_time(m, rtc), "timezone", md->tz.name,
                              "utc_offset_s", (int)off, "dst", dst);
    ms_load_seg_t seg;
    ms_load_segment(m->load, m->t_ms, &seg);
    json_t *load =
        json_pack("{s:s, s:s, s:b, s:b, s:f, s:f}", "type", ms_load_type(m->load),
                  "description", ms_load_describe(m->load), "valid", seg.valid, "bridged",
                  seg.bridged, "import_w", (double)seg.power_mw[MS_DIR_IMPORT] / 1000.0,
                  "export_w", (double)seg.power_mw[MS_DIR_EXPORT] / 1000.0);
    json_t *regs = json_array();
    for (size_t i = 0; i < md->iec21.nreadout; i++) {
        json_t *r = register_json(m, &md->iec21.readout[i]);
        if (r)
            json_array_append_new(regs, r);
    }
    return json_pack(
        "{s:s, s:s, s:s, s:o, s:{s:i, s:i}, s:o, s:o, s:o}", "id", m->id, "model",
        md->name, "serial", md->serial, "clock", clock, "tariff", "active_rate",
        (int)(m->regs.override_rate ? m->regs.override_rate : m->regs.rate), "rates",
        (int)m->cal->nrates, "load", load, "registers", regs, "ports", ms_json_ports(sm));
}
