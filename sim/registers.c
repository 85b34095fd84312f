/*
** registers.c — OBIS code catalogue of the meter model, and fixed-point formatting.
** SPDX-License-Identifier: MIT
**
** Codes: IEC 62056-6-1 value groups (see registers.h). Abstract EDIS codes as used in
** IEC 62056-21 readouts of real meters (e.g. the Iskra MT174 readout in
** ../shared/data/iec62056-21/smartmeter-obis/: 1-0:0.9.1 time, 1-0:0.9.2 date,
** 1-0:0.0.0 device address, 0-0:C.1.0 serial number, 0-0:F.F.0 error register).
*/
#include "registers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ms_err.h"

static bool energy_c(unsigned c, uint8_t *q)
{
    if (c < 1 || c > 4)
        return false;
    *q = (uint8_t)(c - 1); /* 1 A+, 2 A-, 3 R+, 4 R- */
    return true;
}

static bool lookup(const ms_obis_t *o, ms_reg_def_t *d);

bool ms_reg_lookup(const ms_obis_t *o, ms_reg_def_t *d)
{
    if (o->f >= 1 && o->f <= 99) {
        ms_obis_t cur = *o;
        cur.f = 255;
        if (!lookup(&cur, d) ||
            (d->kind != MS_REG_ENERGY && d->kind != MS_REG_MAX_DEMAND &&
             d->kind != MS_REG_CUM_DEMAND))
            return false;
        d->hist = o->f;
        return true;
    }
    return lookup(o, d);
}

static bool lookup(const ms_obis_t *o, ms_reg_def_t *d)
{
    memset(d, 0, sizeof *d);
    if (o->b != 0 || o->f != 255)
        return false;
    /* Abstract and identification codes: A = 0 or 1 as meters use them in readouts. */
    if (o->a <= 1) {
        if (o->c == 0 && o->d == 9 && (o->e == 1 || o->e == 2)) {
            d->kind = o->e == 1 ? MS_REG_TIME : MS_REG_DATE;
            d->text = true;
            d->unit = "";
            return true;
        }
        if (o->c == 96 && o->d == 1 && o->e == 0) {
            d->kind = MS_REG_SERIAL;
            d->text = true;
            d->unit = "";
            return true;
        }
        if (o->c == 0 && o->d == 0 && o->e == 0) {
            d->kind = MS_REG_DEVICE_ADDRESS;
            d->text = true;
            d->unit = "";
            return true;
        }
        if (o->c == 0 && o->d == 1 && o->e == 0) {
            d->kind = MS_REG_BILLING_COUNT;
            d->unit = "";
            return true;
        }
        if (o->c == 0 && o->d == 2 && o->e == 0) {
            d->kind = MS_REG_FIRMWARE;
            d->text = true;
            d->unit = "";
            return true;
        }
        if (o->c == 96 && o->d == 3 && o->e == 10) {
            d->kind = MS_REG_BREAKER;
            d->unit = "";
            return true;
        }
        if (o->c == 96 && o->d == 14 && o->e == 0) {
            d->kind = MS_REG_TARIFF;
            d->unit = "";
            return true;
        }
        if (o->c == 97 && o->d == 97 && o->e == 0) {
            d->kind = MS_REG_ERROR;
            d->text = true;
            d->unit = "";
            return true;
        }
    }
    if (o->a != 1)
        return false;
    uint8_t q;
    if (energy_c(o->c, &q) && o->d == 8 && o->e <= 8) {
        d->kind = MS_REG_ENERGY;
        d->q = q;
        d->rate = o->e;
        d->unit = q <= MS_E_AN ? "Wh" : "varh";
        d->exp10 = -3;
        return true;
    }
    if (energy_c(o->c, &q) && q <= MS_E_AN && (o->d == 6 || o->d == 2) && o->e <= 8) {
        d->kind = o->d == 6 ? MS_REG_MAX_DEMAND : MS_REG_CUM_DEMAND;
        d->q = q;
        d->rate = o->e;
        d->unit = "W";
        d->exp10 = -3;
        return true;
    }
    if (o->d != 7 || o->e != 0)
        return false;
    switch (o->c) {
    case 1:
    case 2:
        d->kind = MS_REG_POWER;
        d->q = o->c == 1 ? MS_E_AP : MS_E_AN;
        d->unit = "W";
        d->exp10 = -3;
        return true;
    case 21:
    case 41:
    case 61:
    case 22:
    case 42:
    case 62:
        d->kind = MS_REG_POWER;
        d->q = (o->c % 20 == 1) ? MS_E_AP : MS_E_AN;
        d->phase = (uint8_t)(o->c / 20);
        d->unit = "W";
        d->exp10 = -3;
        return true;
    case 31:
    case 51:
    case 71:
        d->kind = MS_REG_CURRENT;
        d->phase = (uint8_t)((o->c - 11) / 20);
        d->unit = "A";
        d->exp10 = -3;
        return true;
    case 32:
    case 52:
    case 72:
        d->kind = MS_REG_VOLTAGE;
        d->phase = (uint8_t)((o->c - 12) / 20);
        d->unit = "V";
        d->exp10 = -3;
        return true;
    case 13:
        d->kind = MS_REG_POWER_FACTOR;
        d->unit = "";
        d->exp10 = -3;
        return true;
    case 14:
        d->kind = MS_REG_FREQUENCY;
        d->unit = "Hz";
        d->exp10 = -3;
        return true;
    default:
        return false;
    }
}

const char *ms_reg_name(const ms_obis_t *o, char *buf, size_t cap)
{
    static const char *const energy[] = { "Active energy import (A+)",
                                          "Active energy export (A-)",
                                          "Reactive energy import (R+)",
                                          "Reactive energy export (R-)" };
    ms_reg_def_t d;
    buf[0] = 0;
    if (!ms_reg_lookup(o, &d))
        return buf;
    if (d.hist) {
        ms_obis_t cur = *o;
        cur.f = 255;
        char base[64];
        ms_reg_name(&cur, base, sizeof base);
        snprintf(buf, cap, "%s, billing period -%u", base, d.hist);
        return buf;
    }
    char rate[16] = " total";
    if (d.rate)
        snprintf(rate, sizeof rate, " rate %u", d.rate);
    char ph[8] = "";
    if (d.phase)
        snprintf(ph, sizeof ph, " L%u", d.phase);
    switch (d.kind) {
    case MS_REG_ENERGY:
        snprintf(buf, cap, "%s%s", energy[d.q], rate);
        break;
    case MS_REG_MAX_DEMAND:
        snprintf(buf, cap, "Maximum demand %s%s", d.q == MS_E_AP ? "A+" : "A-", rate);
        break;
    case MS_REG_POWER:
        snprintf(buf, cap, "Active power %s%s",
                 d.q == MS_E_AP ? "import (+P)" : "export (-P)", d.phase ? ph : " total");
        break;
    case MS_REG_VOLTAGE:
        snprintf(buf, cap, "Voltage%s", ph);
        break;
    case MS_REG_CURRENT:
        snprintf(buf, cap, "Current%s", ph);
        break;
    case MS_REG_POWER_FACTOR:
        snprintf(buf, cap, "Power factor");
        break;
    case MS_REG_FREQUENCY:
        snprintf(buf, cap, "Supply frequency");
        break;
    case MS_REG_TIME:
        snprintf(buf, cap, "Local time");
        break;
    case MS_REG_DATE:
        snprintf(buf, cap, "Local date");
        break;
    case MS_REG_SERIAL:
        snprintf(buf, cap, "Meter serial number");
        break;
    case MS_REG_DEVICE_ADDRESS:
        snprintf(buf, cap, "Device address");
        break;
    case MS_REG_BILLING_COUNT:
        snprintf(buf, cap, "Billing reset counter");
        break;
    case MS_REG_ERROR:
        snprintf(buf, cap, "Error register");
        break;
    case MS_REG_FIRMWARE:
        snprintf(buf, cap, "Firmware version");
        break;
    case MS_REG_CUM_DEMAND:
        snprintf(buf, cap, "Cumulative maximum demand %s%s", d.q == MS_E_AP ? "A+" : "A-",
                 rate);
        break;
    case MS_REG_TARIFF:
        snprintf(buf, cap, "Active tariff (rate)");
        break;
    case MS_REG_BREAKER:
        snprintf(buf, cap, "Disconnect control state");
        break;
    }
    return buf;
}

void ms_reg_display(const ms_reg_def_t *d, const char **unit, unsigned *decimals)
{
    switch (d->kind) {
    case MS_REG_ENERGY:
        *unit = d->q <= MS_E_AN ? "kWh" : "kvarh";
        *decimals = 3;
        return;
    case MS_REG_MAX_DEMAND:
    case MS_REG_CUM_DEMAND:
    case MS_REG_POWER:
        *unit = "kW";
        *decimals = 3;
        return;
    case MS_REG_VOLTAGE:
        *unit = "V";
        *decimals = 1;
        return;
    case MS_REG_CURRENT:
        *unit = "A";
        *decimals = 2;
        return;
    case MS_REG_FREQUENCY:
        *unit = "Hz";
        *decimals = 2;
        return;
    default:
        *unit = d->unit ? d->unit : "";
        *decimals = d->exp10 < 0 ? (unsigned)-d->exp10 : 0;
        return;
    }
}

int ms_reg_format_fixed(int64_t value, int exp10, const char *base, const char *display,
                        unsigned int_digits, unsigned decimals, char *buf, size_t cap)
{
    /* Display unit = optional prefix + base unit. */
    int prefix = 0;
    size_t lb = strlen(base), ld = strlen(display);
    if (ld == lb + 1 && strcmp(display + 1, base) == 0 &&
        (display[0] == 'k' || display[0] == 'M'))
        prefix = display[0] == 'k' ? 3 : 6;
    else if (strcmp(display, base) != 0)
        return MS_EINVAL;
    /* value * 10^exp10 base = value * 10^(exp10 - prefix) display. */
    int shift = prefix - exp10; /* digits to move right of the decimal point */
    if (shift < 0 || shift > 18 || decimals > 18)
        return MS_EINVAL;
    int64_t div = 1;
    for (int i = 0; i < shift; i++)
        div *= 10;
    bool neg = value < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    uint64_t whole = v / (uint64_t)div, frac = v % (uint64_t)div;
    /* Keep `decimals` fractional digits, truncating (or padding with zeros). */
    uint64_t fr = frac;
    int have = shift;
    while (have > (int)decimals) {
        fr /= 10;
        have--;
    }
    while (have < (int)decimals) {
        fr *= 10;
        have++;
    }
    int n;
    if (decimals)
        n = snprintf(buf, cap, "%s%0*" PRIu64 ".%0*" PRIu64, neg ? "-" : "",
                     (int)int_digits, whole, (int)decimals, fr);
    else
        n = snprintf(buf, cap, "%s%0*" PRIu64, neg ? "-" : "", (int)int_digits, whole);
    if (n < 0 || (size_t)n >= cap)
        return MS_ENOSPC;
    return n;
}
