/*
** meter.h — the meter model: the state a real meter keeps, brought up to a given
** simulation time by catch-up (DESIGN.md "Meter model": catch-up, not ticking).
** SPDX-License-Identifier: MIT
**
** Units: time int64 ms UTC (sim time), energy mWh / mvarh, power mW, voltage mV,
** current mA, power factor and ratios in per mille, frequency mHz.
*/
#ifndef MS_METER_H
#define MS_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "load.h"
#include "model.h"
#include "registers.h"
#include "tariff.h"

/** Maximum demand register (block demand). */
typedef struct ms_demand {
    int64_t max_mw;    /* highest block demand since the last reset */
    int64_t max_at_ms; /* end of the block that set it (0 = none yet) */
} ms_demand_t;

typedef struct ms_meter {
    char id[32];
    const ms_model_t *model;             /* shared, not owned */
    ms_load_t *load;                     /* owned */
    int64_t t_ms;                        /* the state below is valid at this sim time */
    int64_t clock_offset_ms;             /* RTC = sim time + offset */
    int64_t src_mwh[MS_DIR_COUNT];       /* load source cumulative at t_ms */
    int64_t reactive_base[MS_DIR_COUNT]; /* active energy basis of the reactive
                                            registers (to derive R+ / R- exactly) */
    int64_t energy[MS_E_COUNT][1 + MS_MAX_RATES]; /* [q][0] total, [q][r] rate r */
    uint8_t rate;                                 /* active rate 1..n */
    int64_t next_rate_check_ms;
    /* block demand: current block and maxima per direction, total [0] and per rate */
    int64_t block_start_ms;
    int64_t block_mwh[MS_DIR_COUNT];
    ms_demand_t demand[MS_DIR_COUNT][1 + MS_MAX_RATES];
    uint32_t billing_count;
    uint32_t error_flags; /* F.F error register */
} ms_meter_t;

/**
 * Create a meter of a model at sim time t_ms with all registers zero.
 * @param[in] load  taken over (freed with the meter)
 * @return the meter, or NULL (*err = MS_ENOMEM or MS_EINVAL)
 */
ms_meter_t *ms_meter_new(const char *id, const ms_model_t *model, ms_load_t *load,
                         int64_t t_ms, int *err);
void ms_meter_free(ms_meter_t *m);

/**
 * Bring the meter to sim time t_ms: integrate the load into the energy registers (split
 * between rates at the exact switch instant), close demand blocks, switch rates. Cost
 * grows with the rate switches and demand blocks in between, not with milliseconds.
 * A t_ms earlier than the meter's time is ignored (sim time never runs backwards for
 * a meter; the RTC may, through its offset).
 */
void ms_meter_advance(ms_meter_t *m, int64_t t_ms);

/** Replace the load source from the meter's current time on (old one freed). */
void ms_meter_set_load(ms_meter_t *m, ms_load_t *load);

/** The meter's RTC (UTC) in ms: sim time + offset. */
int64_t ms_meter_rtc_ms(const ms_meter_t *m);

/** A register value, as an integer in the catalogue unit (registers.h) or as text. */
typedef struct ms_reg_value {
    ms_reg_def_t def;
    int64_t value; /* integer x 10^def.exp10 def.unit */
    int64_t at_ms; /* MAX_DEMAND: end of the block (0 = none) */
    char text[40]; /* text values: serial, time "hhmmss", date "YYMMDD", ... */
} ms_reg_value_t;

/**
 * Read a register at the meter's current time (call ms_meter_advance first).
 * @return 0, MS_ENOENT (code not in the catalogue, or a rate above the model's rates,
 *         or a phase the model lacks)
 */
int ms_meter_read(const ms_meter_t *m, const ms_obis_t *obis, ms_reg_value_t *out);

#endif
