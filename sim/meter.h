/*
** meter.h — the meter model: what a real meter keeps (registers, clock, tariff,
** demand, billing, loggers, supply and battery state), brought up to a given simulation
** time by catch-up (DESIGN.md "Meter model": catch-up, not ticking).
** SPDX-License-Identifier: MIT
**
** Units: time int64 ms (sim time and RTC, both on the UTC scale), energy mWh / mvarh,
** power mW, voltage mV, current mA, ratios per mille, frequency mHz.
**
** Cost model: ms_meter_advance() visits only the instants where something happens —
** a rate change, a load-source segment boundary inside a demand period, a billing date,
** an outage end, a calendar activation — never each capture period. Load-profile
** entries are not stored: the meter keeps "epochs" (spans in which nothing disturbed
** the meter: no clock set, outage, load or calendar change) with the registers at their
** start, and a profile read replays the epoch up to each capture time.
*/
#ifndef MS_METER_H
#define MS_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "load.h"
#include "model.h"
#include "registers.h"

#define MS_MAX_SUBPERIODS 15 /* sliding demand window */

/* ---- RTC ----------------------------------------------------------------------------
 */

/** The meter's real-time clock as a function of sim time: rtc(t) = rtc_base + (t -
 *  t_base) * (1 + drift_ppm / 1e6) while running; frozen at rtc_base while stopped
 *  (a dead battery during an outage). */
typedef struct ms_rtc {
    int64_t t_base;   /* sim ms */
    int64_t rtc_base; /* RTC ms at t_base */
    int32_t drift_ppm;
    bool running;
} ms_rtc_t;

/** RTC (ms, UTC scale) at sim time t (>= r->t_base). */
int64_t ms_rtc_at(const ms_rtc_t *r, int64_t t);

/** The first sim time >= r->t_base at which the RTC reads >= rtc_ms; INT64_MAX if the
 *  clock is stopped below it. */
int64_t ms_rtc_sim_of(const ms_rtc_t *r, int64_t rtc_ms);

/* DLMS clock_status bits (IEC 62056-6-2, class Clock, attribute 4 / the status byte of
 * a COSEM date-time). */
#define MS_CLOCK_INVALID        0x01u
#define MS_CLOCK_DOUBTFUL       0x02u
#define MS_CLOCK_DIFFERENT_BASE 0x04u
#define MS_CLOCK_INVALID_STATUS 0x08u
#define MS_CLOCK_DST            0x80u

/* Profile entry status (the AMR profile status byte of the IDIS companion
 * specification, as used by many DLMS meters). */
#define MS_PST_CRITICAL       0x01u
#define MS_PST_CLOCK_INVALID  0x02u
#define MS_PST_NOT_VALID      0x04u
#define MS_PST_DST            0x08u
#define MS_PST_CLOCK_ADJUSTED 0x20u
#define MS_PST_POWER_DOWN     0x80u

/* ---- events --------------------------------------------------------------------------
 */

/** Event logs of the model (DESIGN.md "Loggers"). */
typedef enum ms_log_id {
    MS_LOG_STANDARD = 0, /* standard event log */
    MS_LOG_POWER,        /* power failure log: start, end, duration */
    MS_LOG_CLOCK,        /* RTC adjustments */
    MS_LOG_CONFIG,       /* configuration changes: the audit trail */
    MS_LOG_DISCONNECT,   /* disconnect control: breaker operations */
    MS_LOG_COUNT
} ms_log_id_t;

/** Names of the logs ("standard", "power", "clock", "config", "disconnect"), as the
 *  model and the control API call them. */
extern const char *const ms_log_names[MS_LOG_COUNT];

/** Event kinds; codes after the IDIS standard event log where it defines one. */
typedef enum ms_event {
    MS_EV_POWER_DOWN = 1,
    MS_EV_POWER_UP = 2,
    MS_EV_DST = 3,
    MS_EV_CLOCK_OLD = 4, /* clock adjusted: the time before */
    MS_EV_CLOCK_NEW = 5, /* clock adjusted: the time after */
    MS_EV_CLOCK_INVALID = 6,
    MS_EV_BATTERY_REPLACE = 7,
    MS_EV_TOU_ACTIVATED = 9, /* passive calendar activated */
    MS_EV_BILLING_RESET = 100,
    MS_EV_TARIFF_OVERRIDE,
    MS_EV_TARIFF_FROZEN,
    MS_EV_TARIFF_RELEASED,
    MS_EV_BATTERY_FAILED, /* battery failure detected at power-up */
    MS_EV_POWER_FAILURE,  /* power failure log entry: start, duration */
    MS_EV_CONFIG_CHANGE,  /* audit trail: what, old -> new, access level */
    MS_EV_LOAD_CHANGE,
    MS_EV_DISCONNECT,      /* disconnect log: output off (detail: who / why) */
    MS_EV_RECONNECT,       /* disconnect log: output on */
    MS_EV_READY_RECONNECT, /* disconnect log: ready for (manual) reconnection */
    MS_EV_LIMITER,         /* the limiter cut the supply off */
} ms_event_t;

/** Disconnect control states (IEC 62056-6-2 class 70, attribute 3 control_state). */
typedef enum ms_breaker_state {
    MS_BREAKER_DISCONNECTED = 0,
    MS_BREAKER_CONNECTED = 1,
    MS_BREAKER_READY = 2, /* ready_for_reconnection */
} ms_breaker_state_t;

/** Names of the disconnect control states ("disconnected", "connected",
 *  "ready_for_reconnection"), as the control API and the scenarios call them. */
extern const char *const ms_breaker_state_names[3];

/** Disconnect control operations (the transitions of class 70: remote from a head end,
 *  manual at the meter's button, local by the meter's own functions). */
typedef enum ms_breaker_op {
    MS_BREAKER_REMOTE_DISCONNECT = 0, /* method 1 */
    MS_BREAKER_REMOTE_RECONNECT,      /* method 2 */
    MS_BREAKER_MANUAL_RECONNECT,      /* the customer presses the button */
    MS_BREAKER_MANUAL_DISCONNECT,
    MS_BREAKER_LOCAL_DISCONNECT, /* the meter's own decision (limiter) */
} ms_breaker_op_t;

typedef struct ms_event_rec {
    int64_t rtc_ms;      /* meter time of the event */
    int64_t t_ms;        /* sim time */
    int64_t duration_ms; /* power failure: outage length */
    uint16_t code;       /* ms_event_t */
    char detail[80]; /* audit trail "field: old -> new (access)", clock "old -> new" */
} ms_event_rec_t;

/** A bounded ring of events. */
typedef struct ms_ring {
    ms_event_rec_t *rec;
    uint32_t cap, n, head; /* head: index of the oldest entry */
    uint64_t total;        /* entries ever logged (the entry's sequence number) */
} ms_ring_t;

/* ---- billing -------------------------------------------------------------------------
 */

typedef struct ms_demand {
    int64_t max_mw;    /* highest period demand since the last reset */
    int64_t max_at_ms; /* RTC end of the period that set it (0 = none yet) */
} ms_demand_t;

/** Historical values stored at an end-of-billing reset (billing profile entry). */
typedef struct ms_billing_rec {
    int64_t rtc_ms, t_ms;
    uint32_t counter; /* billing reset counter after the reset */
    uint8_t cause;    /* 0 schedule, 1 command, 2 battery response */
    int64_t energy[MS_E_COUNT][1 + MS_MAX_RATES];
    ms_demand_t demand[MS_DIR_COUNT][1 + MS_MAX_RATES];
    int64_t cum_demand_mw[MS_DIR_COUNT][1 + MS_MAX_RATES];
} ms_billing_rec_t;

/** Name of a billing reset cause: "schedule", "command", "battery response". */
const char *ms_billing_cause_name(unsigned cause);

/* ---- epochs (for derived profiles)
 * ----------------------------------------------------- */

/** The state energy registers depend on: replaying it from an epoch start gives the
 *  registers at any later time of the epoch. */
typedef struct ms_regs {
    int64_t t_ms;
    int64_t energy[MS_E_COUNT][1 + MS_MAX_RATES];
    int64_t reactive_base[MS_DIR_COUNT];
    int64_t src_mwh[MS_DIR_COUNT];
    uint8_t rate, relays;
    int8_t override_rate;   /* manual override (0 = none), until the next switch */
    int64_t next_switch_ms; /* sim time of the next calendar change */
} ms_regs_t;

/** The rate in force: a manual override until the next switch, else the calendar's. */
static inline uint8_t ms_regs_rate(const ms_regs_t *r)
{
    return r->override_rate ? (uint8_t)r->override_rate : r->rate;
}

typedef struct ms_epoch {
    int64_t t_start; /* sim ms */
    ms_rtc_t rtc;
    ms_load_t *load; /* shared with the meter (reference-counted) */
    const ms_calendar_t *cal;
    bool powered;
    bool output;        /* the breaker let the load through */
    bool tariff_frozen; /* battery response (c): rate frozen until the clock is set */
    bool clock_invalid;
    uint8_t first_status; /* status bits for the first capture of the epoch
                             (clock adjusted, power down) */
    ms_regs_t regs;       /* registers at t_start */
} ms_epoch_t;

/* ---- the meter
 * ------------------------------------------------------------------------- */

typedef struct ms_meter {
    char id[32];
    const ms_model_t *model; /* shared, not owned */
    ms_regs_t regs;          /* current energy registers, rate, override */
    int64_t t_ms;            /* the state is valid at this sim time */
    ms_rtc_t rtc;
    ms_load_t *load;
    const ms_calendar_t *cal;       /* active calendar (model's, or programmed) */
    ms_calendar_t *cal_owned[8];    /* programmed calendars, freed when no epoch,
                                       neither active nor passive, refers to them */
    const ms_calendar_t *passive;   /* passive calendar (or NULL) */
    int64_t passive_activation_rtc; /* RTC ms, 0 = none */
    /* demand: the running period and the maxima per direction, total [0] and per rate */
    int64_t period_start_rtc;         /* RTC ms */
    int64_t period_acc[MS_DIR_COUNT]; /* sum of power x time in the running (sub)period,
                                         mW x ms */
    int64_t window[MS_DIR_COUNT][MS_MAX_SUBPERIODS]; /* the last N subperiods' sums */
    uint8_t window_head;
    ms_demand_t demand[MS_DIR_COUNT][1 + MS_MAX_RATES];
    int64_t cum_demand_mw[MS_DIR_COUNT][1 + MS_MAX_RATES];
    /* billing */
    uint32_t billing_count;
    int64_t next_billing_rtc;  /* RTC ms of the next scheduled reset */
    ms_billing_rec_t *billing; /* ring of model->billing_capacity */
    uint32_t billing_n, billing_head;
    /* supply and battery */
    bool powered;
    bool battery_ok;
    bool clock_invalid; /* status: invalid until set (battery failure) */
    bool tariff_frozen;
    int64_t outage_end_ms; /* sim time the running outage ends (INT64_MAX: none) */
    int64_t outage_start_ms;
    uint32_t error_flags;
    /* loggers */
    ms_ring_t logs[MS_LOG_COUNT];
    ms_epoch_t *epochs;
    uint32_t nepochs, epochs_cap;
    uint32_t epoch_gen, cal_gen; /* change counters (what the store must rewrite) */
    /* disconnect control and limiter */
    ms_breaker_state_t breaker;
    int64_t breaker_changed_ms; /* sim time of the last transition (reconnect wait) */
    int64_t limiter_mw;         /* threshold (0 = off) */
    int64_t limiter_over_ms;    /* min_over_threshold_duration */
    int64_t over_since_ms;      /* sim time the power went above it (INT64_MAX: not) */
    void (*on_commit)(struct ms_meter *m, void *ud); /* persistence hook, may be NULL */
    void *commit_ud;
} ms_meter_t;

/**
 * Create a meter of a model at sim time t_ms with all registers zero, RTC = t_ms.
 * @param[in] load  taken over (released with the meter)
 * @return the meter, or NULL (*err = MS_ENOMEM or MS_EINVAL)
 */
ms_meter_t *ms_meter_new(const char *id, const ms_model_t *model, ms_load_t *load,
                         int64_t t_ms, int *err);
void ms_meter_free(ms_meter_t *m);

/**
 * Bring the meter to sim time t_ms. A t_ms earlier than the meter's time is ignored
 * (sim time never runs backwards for a meter; the RTC may, by a clock set).
 */
void ms_meter_advance(ms_meter_t *m, int64_t t_ms);

/** The meter's RTC (ms, UTC scale) now. */
int64_t ms_meter_rtc_ms(const ms_meter_t *m);

/** ISO 8601 text of an RTC instant on the meter's local scale, e.g.
 *  "2016-01-14T10:00:00+01:00" (seconds; the milliseconds are dropped).
 *  @return the text length, or MS_ENOSPC (cap >= 26 suffices) */
int ms_meter_format_time(const ms_meter_t *m, int64_t rtc_ms, char *buf, size_t cap);

/** DLMS clock status bits now (MS_CLOCK_*). */
unsigned ms_meter_clock_status(const ms_meter_t *m);

/* Commands. Each applies at the meter's current time (advance first), starts a new
 * epoch where the derivation rules change, logs its event, and returns 0 or an error. */

/** Replace the load source (old one released). */
void ms_meter_set_load(ms_meter_t *m, ms_load_t *load);

/** Set the RTC to rtc_ms (a clock set: logged old/new; clears "clock invalid" and a
 *  battery-response tariff freeze). `who` names the access level for the audit trail. */
void ms_meter_set_clock(ms_meter_t *m, int64_t rtc_ms, const char *who);

/** Set the RTC drift in ppm (-1000..1000). @return 0 or MS_ERANGE */
int ms_meter_set_drift(ms_meter_t *m, int32_t ppm, const char *who);

/** End-of-billing reset now (cause 1 = command). */
void ms_meter_billing_reset(ms_meter_t *m, const char *who);

/** Manual tariff override: rate (1..n) holds until the next scheduled switch.
 *  @return 0 or MS_ERANGE */
int ms_meter_override_rate(ms_meter_t *m, int rate, const char *who);

/** Supply outage from now for duration_ms (> 0). While it lasts the meter measures
 *  nothing; with a failed battery the RTC stops. At power-up the battery response of
 *  the model applies. @return 0, MS_ESTATE (already in an outage), MS_EINVAL */
int ms_meter_outage(ms_meter_t *m, int64_t duration_ms);

/** Battery state: fail (false) or replace (true). */
void ms_meter_set_battery(ms_meter_t *m, bool ok, const char *who);

/**
 * Program a calendar: active now (activation_rtc 0) or as the passive calendar,
 * activated when the RTC reaches activation_rtc. The calendar is checked first; a
 * refused one leaves the meter's calendars as they were.
 * @param[in] cal  copied
 * @param[out] field  the offending field when refused
 * @return 0 or MS_EINVAL
 */
int ms_meter_program_calendar(ms_meter_t *m, const ms_calendar_t *cal,
                              int64_t activation_rtc, const char *who, char *field,
                              size_t cap);

/**
 * Operate the disconnect control (IEC 62056-6-2 class 70). The model's control_mode says
 * which transitions exist: 0 none (always connected); 1, 3, 5, 6: a remote reconnect
 * leads to "ready for reconnection" and the customer reconnects manually; 2, 4: a remote
 * reconnect closes the output at once; modes 1, 2, 5 allow manual disconnection; a local
 * disconnect (limiter) leaves the meter ready for reconnection. A reconnect within the
 * model's minimum wait after the last change is refused.
 * @return 0, MS_ESTATE (the transition does not exist in this state or mode), MS_EBUSY
 *         (reconnect wait not over)
 */
int ms_meter_breaker(ms_meter_t *m, ms_breaker_op_t op, const char *who);

/** Limiter (class 71): cut the supply (local disconnect) when the import power stays
 *  above threshold_mw for at least min_over_ms; threshold 0 switches it off. */
void ms_meter_set_limiter(ms_meter_t *m, int64_t threshold_mw, int64_t min_over_ms,
                          const char *who);

/** Output on: the meter's breaker lets the load through. */
static inline bool ms_meter_output(const ms_meter_t *m)
{
    return m->breaker == MS_BREAKER_CONNECTED;
}

/** Append an audit-trail entry "what: old -> new (who)". */
void ms_meter_audit(ms_meter_t *m, const char *what, const char *old, const char *new_,
                    const char *who);

/* Reading. */

/** A register value, as an integer in the catalogue unit (registers.h) or as text. */
typedef struct ms_reg_value {
    ms_reg_def_t def;
    int64_t value; /* integer x 10^def.exp10 def.unit */
    int64_t at_ms; /* MAX_DEMAND: RTC end of the period (0 = none) */
    char text[40]; /* text values: serial, time "hhmmss", date "YYMMDD", ... */
} ms_reg_value_t;

/**
 * Read a register at the meter's current time (call ms_meter_advance first). Codes
 * with F = 1..99 read the F-th most recent billing snapshot (VDEW/EDIS style
 * historical values: 1-0:1.8.0*1 is the value at the last reset).
 * @return 0, MS_ENOENT (not in the catalogue, a rate or phase the model lacks, or no
 *         such snapshot)
 */
int ms_meter_read(const ms_meter_t *m, const ms_obis_t *obis, ms_reg_value_t *out);

/** Event n (0 = oldest kept) of a log, or NULL. */
const ms_event_rec_t *ms_meter_event(const ms_meter_t *m, ms_log_id_t log, uint32_t n);

/** Billing snapshot n (0 = oldest kept), or NULL. */
const ms_billing_rec_t *ms_meter_billing(const ms_meter_t *m, uint32_t n);

/** One load-profile entry: capture time and the channel values. */
typedef struct ms_profile_entry {
    int64_t rtc_ms; /* capture time on the meter's clock */
    int64_t t_ms;   /* sim time */
    uint8_t status; /* MS_PST_* */
    int64_t value[MS_PROFILE_MAX_CHANNELS];
} ms_profile_entry_t;

/**
 * Read the entries of profile `p` (index in the model) whose capture time on the meter's
 * clock lies in [from_rtc, to_rtc], oldest first, at most `max` (the newest ones when
 * more exist within the profile's capacity). Entries are derived from the epochs.
 * @return the number of entries written to out
 */
size_t ms_meter_profile(const ms_meter_t *m, unsigned p, int64_t from_rtc, int64_t to_rtc,
                        ms_profile_entry_t *out, size_t max);

#endif
