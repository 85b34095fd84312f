/*
** model.h — a meter type as data: identity, measurement, tariff, protocol settings and
** readout layout, loaded from a Lua table in sim/models/ (DESIGN.md "Layout").
** SPDX-License-Identifier: MIT
*/
#ifndef MS_MODEL_H
#define MS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iec21_meter.h"
#include "ms_obis.h"
#include "tariff.h"
#include "tz.h"

#define MS_MODEL_MAX_READOUT 96

/** How the readout shows data-set addresses. */
typedef enum ms_addr_style {
    MS_ADDR_FULL = 0, /* "1-0:1.8.1*255" */
    MS_ADDR_ABCDE,    /* "1-0:1.8.1" */
    MS_ADDR_CDE,      /* "1.8.1" (EDIS reduced form) */
} ms_addr_style_t;

/** One line of the readout (IEC 62056-21 data set). */
typedef struct ms_readout_item {
    ms_obis_t obis;
    char unit[8];     /* display unit, e.g. "kWh" ("" for dimensionless or text) */
    uint8_t digits;   /* integer digits, zero-padded */
    uint8_t decimals; /* fractional digits (truncated) */
} ms_readout_item_t;

/** IEC 62056-21 settings of a model. */
typedef struct ms_model_iec21 {
    iec21_meter_cfg_t session; /* mode, identification, timing, policies */
    unsigned baud;             /* rate named by the identification's Z */
    char password_p1[33];      /* "" = programming mode without password refused */
    ms_addr_style_t addr_style;
    bool letters;    /* show C/F/L/P letter codes (C.1.0, F.F) */
    bool parity_out; /* send even parity in bit 7 on ptys */
    size_t nreadout;
    ms_readout_item_t readout[MS_MODEL_MAX_READOUT];
} ms_model_iec21_t;

typedef struct ms_model {
    char path[512]; /* file it came from */
    char name[64];
    char description[160];
    char manufacturer[4];    /* FLAG manufacturer ID, 3 letters */
    char serial[17];         /* meter serial number (C.1.0) */
    char device_address[33]; /* property number / IEC 62056-21 device address (0.0.0) */
    char firmware[17];       /* 0.2.0 */
    uint8_t phases;          /* 1 or 3 */
    uint8_t phase_share_pct[3]; /* share of each phase in the load, sums to 100 */
    int64_t nominal_voltage_mv;
    int64_t frequency_mhz;
    int32_t reactive_permille;     /* reactive / active energy of the load, x1000
                                      (tan phi; 329 for cos phi 0.95) */
    int32_t power_factor_permille; /* derived: cos phi x1000 */
    ms_tz_t tz;
    ms_tariff_t tariff;
    uint32_t demand_period_s; /* block demand integration period (default 900) */
    ms_model_iec21_t iec21;
} ms_model_t;

/**
 * Load and check a model file (a Lua chunk returning a table; run without os, io and
 * other system libraries, with an instruction limit).
 * @param[in]  path   a file path
 * @param[out] m      the model
 * @param[out] msg    on error, "FILE:LINE: field 'a.b': what is wrong"
 * @return 0, MS_ENOENT (no such file), MS_EPARSE (Lua syntax or runtime error), MS_EINVAL
 *         (a field with a wrong type or value, an unknown field), MS_ENOMEM
 */
int ms_model_load(const char *path, ms_model_t *m, char *msg, size_t msgcap);

/**
 * ms_model_load with field overrides "a.b=VALUE" applied to the file's table before it
 * is checked (metersim --set). Errors about an overridden field name the override.
 */
int ms_model_load_with(const char *path, const char *const *overrides, size_t n,
                       ms_model_t *m, char *msg, size_t msgcap);

/**
 * Resolve --model NAME|PATH: a value containing '/' or ending in ".lua" is a path; a
 * bare NAME is looked up as NAME.lua in $METERSIM_MODELS (if set) and then in the
 * installed/source models directory.
 * @param[out] path  the file found
 * @return 0 or MS_ENOENT
 */
int ms_model_find(const char *name, char *path, size_t cap);

#endif
