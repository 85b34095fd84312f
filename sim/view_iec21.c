/*
** view_iec21.c — IEC 62056-21 view of the meter model.
** SPDX-License-Identifier: MIT
*/
#include "view_iec21.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_time.h"

int ms_iec21_address(const ms_model_t *md, const ms_obis_t *obis, char *buf, size_t cap)
{
    const ms_model_iec21_t *x = &md->iec21;
    unsigned f = x->letters ? MS_OBIS_FMT_LETTERS : 0;
    if (x->addr_style == MS_ADDR_FULL)
        f |= MS_OBIS_FMT_FULL;
    else if (x->addr_style == MS_ADDR_ABCDE)
        f |= MS_OBIS_FMT_AB;
    return ms_obis_format(obis, f, buf, cap);
}

/* Local time of an instant on the meter's clock as YYMMDDhhmm (EDIS time stamp). */
static void stamp(const ms_meter_t *m, int64_t utc_ms, char *buf, size_t cap)
{
    if (utc_ms == 0) {
        snprintf(buf, cap, "0000000000");
        return;
    }
    ms_tm_t tm;
    ms_tm_from_unix(ms_tz_local(&m->model->tz, ms_floor_div(utc_ms, 1000)), &tm);
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
        ms_iec21_address(m->model, &it->obis, addr, sizeof addr);
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

/* VDEW/EDIS time stamp "sYYMMDDhhmmss" of an RTC instant: s = 1 while daylight saving
 * time is in force, else 0; local time of the meter. */
static void zst(const ms_meter_t *m, int64_t rtc_ms, char *buf, size_t cap)
{
    int64_t s = ms_floor_div(rtc_ms, 1000);
    bool dst;
    int32_t off = ms_tz_offset(&m->model->tz, s, &dst);
    ms_tm_t tm;
    ms_tm_from_unix(s + off, &tm);
    snprintf(buf, cap, "%d%02u%02u%02u%02u%02u%02u", dst ? 1 : 0,
             (unsigned)(tm.year % 100), tm.month, tm.day, tm.hour, tm.minute, tm.second);
}

/* Parse a time stamp of an R5 request: "YYMMDDhhmm", "sYYMMDDhhmm", "YYMMDDhhmmss" or
 * "sYYMMDDhhmmss" (local time; s selects daylight (1) or standard (0) time when the
 * local time happens twice). "" = open. Returns 0, 1 (open) or MS_EPARSE. */
static int parse_zst(const ms_meter_t *m, const char *p, size_t n, int64_t *rtc_ms)
{
    if (n == 0)
        return 1;
    int season = -1;
    if (n == 11 || n == 13) {
        if (p[0] != '0' && p[0] != '1' && p[0] != '2')
            return MS_EPARSE;
        season = p[0] - '0';
        p++;
        n--;
    }
    if (n != 10 && n != 12)
        return MS_EPARSE;
    int v[6] = { 0, 0, 0, 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return MS_EPARSE;
        v[i / 2] = v[i / 2] * 10 + (p[i] - '0');
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 ||
        v[2] > (int)ms_days_in_month(2000 + v[0], (unsigned)v[1]) || v[3] > 23 ||
        v[4] > 59 || v[5] > 59)
        return MS_EPARSE;
    int64_t local =
        ms_days_from_civil(2000 + v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 +
        v[3] * 3600 + v[4] * 60 + v[5];
    const ms_tz_t *tz = &m->model->tz;
    int64_t u = ms_tz_utc_of_local(tz, local);
    if (season == 0 && tz->dst) { /* the standard-time occurrence of a repeated hour */
        int64_t b = local - tz->std_offset_s;
        if (ms_tz_local(tz, b) == local)
            u = b;
    }
    *rtc_ms = u * 1000;
    return 0;
}

/* "(from;to)" of an R5 data set into an RTC range. */
static int parse_range(const ms_meter_t *m, const char *d, size_t len, int64_t *from,
                       int64_t *to)
{
    const char *o = memchr(d, '(', len);
    *from = INT64_MIN;
    *to = INT64_MAX;
    if (!o)
        return 0;
    const char *end = d + len;
    const char *c = memchr(o, ')', (size_t)(end - o));
    if (!c)
        return MS_EPARSE;
    const char *semi = memchr(o, ';', (size_t)(c - o));
    const char *a_end = semi ? semi : c;
    int rc = parse_zst(m, o + 1, (size_t)(a_end - o - 1), from);
    if (rc < 0)
        return rc;
    if (rc == 1)
        *from = INT64_MIN;
    if (semi) {
        rc = parse_zst(m, semi + 1, (size_t)(c - semi - 1), to);
        if (rc < 0)
            return rc;
        if (rc == 1)
            *to = INT64_MAX;
    }
    return 0;
}

/* R5 load profile (VDEW/EDIS): a header "P.01(time)(status)(period min)(n)(code)(unit).."
 * before the first entry and wherever the status changes or entries do not follow at
 * the period, then one line of values per entry. */
static iec21_reply_t r5_profile(const ms_meter_t *m, unsigned pi, int64_t from,
                                int64_t to, ms_wr_t *out)
{
    const ms_profile_def_t *p = &m->model->profiles[pi];
    size_t max = 2000; /* what one answer carries; ask again with a later `from` */
    ms_profile_entry_t *e = malloc(max * sizeof *e);
    if (!e) {
        ms_wr_str(out, "NO MEMORY");
        return IEC21_REPLY_ERROR;
    }
    /* the oldest entries of the range first: read ahead of `to` and keep the first max */
    size_t n = ms_meter_profile(m, pi, from, to, e, max);
    if (n == 0) {
        free(e);
        ms_wr_str(out, "NO DATA");
        return IEC21_REPLY_ERROR;
    }
    /* each channel's display unit and decimals (the channels were checked at load) */
    ms_reg_def_t def[MS_PROFILE_MAX_CHANNELS];
    const char *unit[MS_PROFILE_MAX_CHANNELS];
    unsigned dec[MS_PROFILE_MAX_CHANNELS];
    bool known[MS_PROFILE_MAX_CHANNELS];
    for (unsigned k = 0; k < p->nch; k++) {
        unit[k] = "";
        known[k] = ms_reg_lookup(&p->ch[k], &def[k]);
        if (known[k])
            ms_reg_display(&def[k], &unit[k], &dec[k]);
    }
    int64_t per_ms = (int64_t)p->period_s * 1000;
    for (size_t i = 0; i < n; i++) {
        bool header = i == 0 || e[i].status != e[i - 1].status ||
                      (p->period_s < 86400 && e[i].rtc_ms - e[i - 1].rtc_ms != per_ms);
        if (header) {
            char ts[24];
            zst(m, e[i].rtc_ms, ts, sizeof ts);
            ms_wr_fmt(out, "%s(%s)(%02X)(%u)(%u)", p->name, ts, e[i].status,
                      p->period_s / 60, p->nch);
            for (unsigned k = 0; k < p->nch; k++) {
                ms_obis_t o = p->ch[k];
                if (p->ch_kind[k] == MS_CH_DELTA)
                    o.d = 29; /* time integral over the capture period */
                char code[24];
                ms_obis_format(&o, 0, code, sizeof code);
                ms_wr_fmt(out, "(%s)(%s)", code, unit[k]);
            }
            ms_wr_str(out, "\r\n");
        }
        for (unsigned k = 0; k < p->nch; k++) {
            char num[32] = "";
            if (known[k])
                ms_reg_format_fixed(e[i].value[k], def[k].exp10, def[k].unit, unit[k], 1,
                                    dec[k], num, sizeof num);
            ms_wr_fmt(out, "(%s)", num);
        }
        ms_wr_str(out, "\r\n");
        if (out->err)
            break;
    }
    free(e);
    if (out->err) {
        ms_wr_init(out, out->buf, out->cap);
        ms_wr_str(out, "ANSWER TOO LONG");
        return IEC21_REPLY_ERROR;
    }
    return IEC21_REPLY_DATA;
}

/* R5 logbook P.98: one line per event of the standard log, "P.98(time)(code)()(0)"
 * with the event code as four hexadecimal digits. */
static iec21_reply_t r5_logbook(const ms_meter_t *m, int64_t from, int64_t to,
                                ms_wr_t *out)
{
    size_t lines = 0;
    for (uint32_t i = 0;; i++) {
        const ms_event_rec_t *ev = ms_meter_event(m, MS_LOG_STANDARD, i);
        if (!ev)
            break;
        if (ev->rtc_ms < from || ev->rtc_ms > to)
            continue;
        char ts[24];
        zst(m, ev->rtc_ms, ts, sizeof ts);
        ms_wr_fmt(out, "P.98(%s)(%04X)()(0)\r\n", ts, ev->code);
        lines++;
    }
    if (lines == 0) {
        ms_wr_init(out, out->buf, out->cap);
        ms_wr_str(out, "NO DATA");
        return IEC21_REPLY_ERROR;
    }
    return out->err ? IEC21_REPLY_ERROR : IEC21_REPLY_DATA;
}

/* Value part "(...)" of a data set. */
static bool value_of(const iec21_msg_t *cmd, const char **v, size_t *n)
{
    const char *d = (const char *)cmd->data;
    const char *o = memchr(d, '(', cmd->data_len);
    if (!o)
        return false;
    const char *c = memchr(o, ')', cmd->data_len - (size_t)(o - d));
    if (!c)
        return false;
    *v = o + 1;
    *n = (size_t)(c - o - 1);
    return true;
}

static bool digits(const char *v, size_t n, size_t want, int *out)
{
    if (n != want)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        if (v[i] < '0' || v[i] > '9' || v[i + 1] < '0' || v[i + 1] > '9')
            return false;
        out[i / 2] = (v[i] - '0') * 10 + (v[i + 1] - '0');
    }
    return true;
}

/* The audit trail's name of an access level. */
static const char *who_of(int access)
{
    return access == IEC21_ACCESS_P2 ? "iec62056-21 P2" : "iec62056-21 P1";
}

/* W1/W5: the clock (0.9.1 hhmmss), the date (0.9.2 YYMMDD) and the tariff override
 * (96.14.0 rate), local time of the meter. */
static iec21_reply_t write_cmd(ms_meter_t *m, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out)
{
    const char *d = (const char *)cmd->data;
    const char *paren = memchr(d, '(', cmd->data_len);
    size_t alen = paren ? (size_t)(paren - d) : cmd->data_len;
    ms_obis_t o;
    unsigned present;
    const char *v;
    size_t vn;
    if (ms_obis_parse(d, alen, &o, &present) != 0 || !value_of(cmd, &v, &vn)) {
        ms_wr_str(out, "BAD DATA SET");
        return IEC21_REPLY_ERROR;
    }
    if (access < IEC21_ACCESS_P1) {
        ms_wr_str(out, "NO ACCESS");
        return IEC21_REPLY_ERROR;
    }
    const char *who = who_of(access);
    int64_t rtc = ms_meter_rtc_ms(m);
    int64_t s = ms_floor_div(rtc, 1000);
    int64_t local = ms_tz_local(&m->model->tz, s);
    int64_t day = ms_floor_div(local, 86400), sod = local - day * 86400;
    int f[3];
    if (o.c == 0 && o.d == 9 && (o.e == 1 || o.e == 2)) {
        if (!digits(v, vn, 6, f)) {
            ms_wr_str(out, "BAD VALUE");
            return IEC21_REPLY_ERROR;
        }
        if (o.e == 1) { /* time of day */
            if (f[0] > 23 || f[1] > 59 || f[2] > 59) {
                ms_wr_str(out, "BAD VALUE");
                return IEC21_REPLY_ERROR;
            }
            sod = f[0] * 3600 + f[1] * 60 + f[2];
        } else { /* date */
            if (f[1] < 1 || f[1] > 12 || f[2] < 1 ||
                f[2] > (int)ms_days_in_month(2000 + f[0], (unsigned)f[1])) {
                ms_wr_str(out, "BAD VALUE");
                return IEC21_REPLY_ERROR;
            }
            day = ms_days_from_civil(2000 + f[0], (unsigned)f[1], (unsigned)f[2]);
        }
        int64_t u = ms_tz_utc_of_local(&m->model->tz, day * 86400 + sod);
        ms_meter_set_clock(m, u * 1000 + (rtc - s * 1000), who);
        return IEC21_REPLY_ACK;
    }
    if (o.c == 96 && o.d == 14 && o.e == 0) {
        int rate = 0;
        for (size_t i = 0; i < vn; i++)
            rate = (v[i] >= '0' && v[i] <= '9' && rate < 100) ? rate * 10 + v[i] - '0'
                                                              : 1000;
        if (ms_meter_override_rate(m, rate, who) != 0) {
            ms_wr_str(out, "BAD RATE");
            return IEC21_REPLY_ERROR;
        }
        return IEC21_REPLY_ACK;
    }
    ms_wr_str(out, "READ ONLY");
    return IEC21_REPLY_ERROR;
}

iec21_reply_t ms_iec21_command(ms_meter_t *m, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out)
{
    const char *d = (const char *)cmd->data;
    size_t len = cmd->data_len;
    const char *paren = memchr(d, '(', len);
    size_t alen = paren ? (size_t)(paren - d) : len;
    if (cmd->cmd == 'R' && cmd->cmd_type == '5') {
        int64_t from, to;
        if (parse_range(m, d, len, &from, &to) != 0) {
            ms_wr_str(out, "BAD TIME RANGE");
            return IEC21_REPLY_ERROR;
        }
        if (alen == 4 && !memcmp(d, "P.98", 4))
            return r5_logbook(m, from, to, out);
        for (unsigned i = 0; i < m->model->nprofiles; i++)
            if (strlen(m->model->profiles[i].name) == alen &&
                !memcmp(d, m->model->profiles[i].name, alen))
                return r5_profile(m, i, from, to, out);
    }
    if (cmd->cmd == 'R' &&
        (cmd->cmd_type == '1' || cmd->cmd_type == '2' || cmd->cmd_type == '5')) {
        /* Data set "address(...)": the value part of a read request is ignored. */
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
    if (cmd->cmd == 'W' && (cmd->cmd_type == '1' || cmd->cmd_type == '5'))
        return write_cmd(m, access, cmd, out);
    if (cmd->cmd == 'E' && cmd->cmd_type == '2') {
        ms_obis_t o;
        unsigned present;
        if (ms_obis_parse(d, alen, &o, &present) == 0 && o.c == 0 && o.d == 1 &&
            o.e == 0) {
            if (access < IEC21_ACCESS_P1) {
                ms_wr_str(out, "NO ACCESS");
                return IEC21_REPLY_ERROR;
            }
            ms_meter_billing_reset(m, who_of(access));
            return IEC21_REPLY_ACK;
        }
    }
    ms_wr_str(out, "NOT SUPPORTED");
    return IEC21_REPLY_ERROR;
}
