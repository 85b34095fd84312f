/*
** registers.h — the register catalogue: which OBIS code names which quantity of the
** meter model, with its unit. One catalogue for every protocol view (an IEC 62056-21
** readout, a COSEM Register, a C12.19 table read the same number).
** SPDX-License-Identifier: MIT
**
** OBIS codes after IEC 62056-6-1 (value group C: 1 = A+ (active import), 2 = A-, 3 = R+,
** 4 = R-, 13 = power factor, 14 = frequency, 21/41/61 = A+ of L1/L2/L3, 22/42/62 = A-,
** 31/51/71 = current L1..L3, 32/52/72 = voltage L1..L3; value group D: 6 = maximum
** demand, 7 = instantaneous value, 8 = time integral 1 (energy register); value group E:
** 0 = total, 1..8 = rate (tariff) 1..8; D = 2: cumulative maximum demand); EDIS abstract
*codes 0.9.1 (time), 0.9.2 (date),
** 0.0.0 (device address), 0.1.0 (billing reset counter), C.1.0 = 96.1.0 (meter serial
** number), 0.2.0 (firmware version), F.F = 97.97.0 (error register).
*/
#ifndef MS_REGISTERS_H
#define MS_REGISTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "ms_obis.h"

/** Energy quantities the model integrates. */
typedef enum ms_energy {
    MS_E_AP = 0, /* active energy import A+ (mWh) */
    MS_E_AN,     /* active energy export A- (mWh) */
    MS_E_RP,     /* reactive energy import R+ (mvarh) */
    MS_E_RN,     /* reactive energy export R- (mvarh) */
    MS_E_COUNT
} ms_energy_t;

typedef enum ms_reg_kind {
    MS_REG_ENERGY = 1,     /* energy[q][rate], rate 0 = total */
    MS_REG_MAX_DEMAND,     /* maximum demand of energy q (rate 0 = any), with timestamp */
    MS_REG_POWER,          /* instantaneous active power, q = A+ or A-, phase 0 = total */
    MS_REG_VOLTAGE,        /* instantaneous voltage of phase 1..3 */
    MS_REG_CURRENT,        /* instantaneous current of phase 1..3 */
    MS_REG_POWER_FACTOR,   /* instantaneous power factor (total) */
    MS_REG_FREQUENCY,      /* supply frequency */
    MS_REG_TIME,           /* local time hh:mm:ss (EDIS 0.9.1) */
    MS_REG_DATE,           /* local date YY-MM-DD (EDIS 0.9.2) */
    MS_REG_SERIAL,         /* meter serial number (C.1.0) */
    MS_REG_DEVICE_ADDRESS, /* device address / property number (0.0.0) */
    MS_REG_BILLING_COUNT,  /* billing reset counter (0.1.0) */
    MS_REG_ERROR,          /* error register (F.F) */
    MS_REG_FIRMWARE,       /* firmware version (0.2.0) */
    MS_REG_CUM_DEMAND,     /* cumulative maximum demand of A+ / A- (D = 2) */
    MS_REG_TARIFF,         /* rate in force (0-0:96.14.0, tariff indicator) */
    MS_REG_BREAKER,        /* disconnect control_state (0-0:96.3.10): 0 disconnected,
                              1 connected, 2 ready for reconnection */
} ms_reg_kind_t;

/** What an OBIS code names. */
typedef struct ms_reg_def {
    ms_reg_kind_t kind;
    uint8_t q;        /* ms_energy_t for ENERGY, MAX_DEMAND, POWER */
    uint8_t rate;     /* 0 total, 1..8 */
    uint8_t phase;    /* 0 total, 1..3 */
    const char *unit; /* base unit of the integer value: "Wh", "varh", "W", "V", "A",
                         "Hz", "" (dimensionless) */
    int8_t exp10;     /* integer value x 10^exp10 = value in `unit` (-3: mWh, mV ...) */
    bool text;        /* the value is text (serial, firmware, time, date) */
    uint8_t hist;     /* F = 1..99: historical value of the F-th last billing period
                         (energy and demand registers only); 0 = current */
} ms_reg_def_t;

/**
 * Look up an OBIS code in the catalogue. Value groups A and B must be those of the
 * quantity (A = 1 electricity or 0 abstract as the code requires, B = 0); F = 255
 * (current value), or F = 1..99 for the historical values of energy and demand
 * registers (VDEW/EDIS: the value at the F-th last end of billing).
 * @return true and *def filled, or false for a code the model does not know
 */
bool ms_reg_lookup(const ms_obis_t *obis, ms_reg_def_t *def);

/** Human-readable name of a code the catalogue knows, e.g. "Active energy import (A+)
 *  rate 1". buf cap >= 64. Returns buf ("" when unknown). */
const char *ms_reg_name(const ms_obis_t *obis, char *buf, size_t cap);

/** Default display unit and decimals of a register (where no readout layout says
 *  otherwise): kWh/kvarh with 3 decimals, kW 3, V 1, A 2, power factor 3, Hz 2. */
void ms_reg_display(const ms_reg_def_t *d, const char **unit, unsigned *decimals);

/**
 * Scale an integer value from its base unit to a display unit with the same dimension
 * and format it as fixed-point text, truncated (energy registers show completed units).
 * Example: 8048375123 mWh as "kWh" with 3 decimals and 7 integer digits ->
 * "0008048.375".
 * @param[in] value    integer in units of 10^exp10 `base_unit`
 * @param[in] display  display unit: base_unit with an optional prefix k or M ("kWh")
 * @return text length, MS_EINVAL (display unit not a prefix of base), MS_ENOSPC
 */
int ms_reg_format_fixed(int64_t value, int exp10, const char *base_unit,
                        const char *display, unsigned int_digits, unsigned decimals,
                        char *buf, size_t cap);

#endif
