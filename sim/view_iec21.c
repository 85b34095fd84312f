/*
** view_iec21.c — IEC 62056-21 view of the meter model.
** SPDX-License-Identifier: MIT
*/
#include "view_iec21.h"

#include <stdio.h>
#include <string.h>

#include "ms_err.h"
#include "ms_time.h"

static unsigned addr_flags(const ms_model_iec21_t *x)
{
    unsigned f = x->letters ? MS_OBIS_FMT_LETTERS : 0;
    switch (x->addr_style) {
    case MS_ADDR_FULL:
        return f | MS_OBIS_FMT_FULL;
    case MS_ADDR_ABCDE:
        return f | MS_OBIS_FMT_AB;
    default:
        return f;
    }
}

/* Local time of an instant on the meter's clock as YYMMDDhhmm (EDIS time stamp). */
static void stamp(const ms_meter_t *m, int64_t utc_ms, char *buf, size_t cap)
{
    if (utc_ms == 0) {
        snprintf(buf, cap, "0000000000");
        return;
    }
    int64_t s = ms_floor_div(utc_ms + m->clock_offset_ms, 1000);
    ms_tm_t tm;
    ms_tm_from_unix(s + ms_tz_offset(&m->model->tz, s, NULL), &tm);
    snprintf(buf, cap, "%02u%02u%02u%02u%02u", (unsigned)(tm.year % 100), tm.month,
             tm.day, tm.hour, tm.minute);
}

int ms_iec21_format_item(const ms_meter_t *m, const ms_readout_item_t *it,
                         const char *address, ms_wr_t *out)
{
    ms_reg_value_t v;
    if (ms_meter_read(m, &it->obis, &v) != 0)
        return MS_ENOENT;
    char addr[32];
    if (!address) {
        ms_obis_format(&it->obis, addr_flags(&m->model->iec21), addr, sizeof addr);
        address = addr;
    }
    if (v.def.text)
        return ms_wr_fmt(out, "%s(%s)", address, v.text);
    char num[40];
    const char *unit = it->unit[0] ? it->unit : v.def.unit;
    int n = ms_reg_format_fixed(v.value, v.def.exp10, v.def.unit, unit, it->digits,
                                it->decimals, num, sizeof num);
    if (n < 0)
        return n;
    if (unit[0])
        ms_wr_fmt(out, "%s(%s*%s)", address, num, unit);
    else
        ms_wr_fmt(out, "%s(%s)", address, num);
    if (v.def.kind == MS_REG_MAX_DEMAND) {
        char ts[16];
        stamp(m, v.at_ms, ts, sizeof ts);
        ms_wr_fmt(out, "(%s)", ts);
    }
    return out->err;
}

int ms_iec21_readout(const ms_meter_t *m, ms_wr_t *out)
{
    const ms_model_iec21_t *x = &m->model->iec21;
    for (size_t i = 0; i < x->nreadout; i++) {
        int rc = ms_iec21_format_item(m, &x->readout[i], NULL, out);
        if (rc == MS_ENOENT)
            continue; /* checked at model load; a register the meter lacks is left out */
        if (rc)
            return rc;
        ms_wr_str(out, "\r\n");
    }
    return out->err;
}

int ms_iec21_password(const ms_meter_t *m, int level, const char *operand, size_t len)
{
    const char *pw = m->model->iec21.password_p1;
    size_t n = strlen(pw);
    if (level != 1 || n == 0 || len != n)
        return MS_EACCES;
    /* Compare all bytes whatever the first difference (no timing oracle). */
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)pw[i] ^ (unsigned char)operand[i];
    return diff ? MS_EACCES : 0;
}

/* Find the readout item (or, failing that, a catalogue code) an address names. */
static int resolve(const ms_meter_t *m, const char *addr, size_t len,
                   ms_readout_item_t *it)
{
    ms_obis_t o;
    unsigned present;
    if (ms_obis_parse(addr, len, &o, &present) != 0)
        return MS_EPARSE;
    const ms_model_iec21_t *x = &m->model->iec21;
    for (size_t i = 0; i < x->nreadout; i++) {
        if (ms_obis_match(&o, present, &x->readout[i].obis)) {
            *it = x->readout[i];
            return 0;
        }
    }
    /* Not in the readout: fill the groups the address omits with electricity defaults
     * (A = 1, B = 0, F = 255) and ask the catalogue. */
    memset(it, 0, sizeof *it);
    it->obis = o;
    if (!(present & MS_OBIS_A))
        it->obis.a = 1;
    if (!(present & MS_OBIS_B))
        it->obis.b = 0;
    if (!(present & MS_OBIS_E))
        it->obis.e = 0;
    if (!(present & MS_OBIS_F))
        it->obis.f = 255;
    ms_reg_value_t v;
    if (ms_meter_read(m, &it->obis, &v) != 0)
        return MS_ENOENT;
    it->decimals = (uint8_t)(v.def.exp10 < 0 ? -v.def.exp10 : 0);
    return 0;
}

iec21_reply_t ms_iec21_command(const ms_meter_t *m, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out)
{
    if (cmd->cmd == 'R' && (cmd->cmd_type == '1' || cmd->cmd_type == '2')) {
        /* Data set "address(...)": the value part of a read request is ignored. */
        const char *d = (const char *)cmd->data;
        size_t len = cmd->data_len;
        const char *paren = memchr(d, '(', len);
        size_t alen = paren ? (size_t)(paren - d) : len;
        ms_readout_item_t it;
        int rc = resolve(m, d, alen, &it);
        if (rc == MS_EPARSE) {
            ms_wr_str(out, "BAD ADDRESS");
            return IEC21_REPLY_ERROR;
        }
        if (rc != 0) {
            ms_wr_str(out, "UNKNOWN ADDRESS");
            return IEC21_REPLY_ERROR;
        }
        char addr[40];
        snprintf(addr, sizeof addr, "%.*s", (int)(alen < 39 ? alen : 39), d);
        if (ms_iec21_format_item(m, &it, addr, out) != 0) {
            ms_wr_init(out, out->buf, out->cap);
            ms_wr_str(out, "ERROR");
            return IEC21_REPLY_ERROR;
        }
        return IEC21_REPLY_DATA;
    }
    if (cmd->cmd == 'W') {
        ms_wr_str(out, access ? "READ ONLY" : "NO ACCESS");
        return IEC21_REPLY_ERROR;
    }
    ms_wr_str(out, "NOT SUPPORTED");
    return IEC21_REPLY_ERROR;
}
