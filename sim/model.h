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

#include "calendar.h"
#include "iec21_meter.h"
#include "ms_obis.h"
#include "tz.h"

#define MS_MODEL_MAX_READOUT    96
#define MS_MODEL_MAX_PROFILES   4
#define MS_PROFILE_MAX_CHANNELS 8

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

/** What a profile channel records at each capture. */
typedef enum ms_channel_kind {
    MS_CH_VALUE = 0, /* the register's value at the capture (e.g. 1.8.0 cumulative) */
    MS_CH_DELTA,     /* its increase since the previous capture (interval energy) */
} ms_channel_kind_t;

/** A load profile / daily profile / analysis logger (COSEM Profile generic, class 7). */
typedef struct ms_profile_def {
    char name[16];     /* IEC 62056-21 R5 name, e.g. "P.01" */
    ms_obis_t obis;    /* logical name, e.g. 1-0:99.1.0*255 */
    uint32_t period_s; /* capture period: 60..3600 (aligned to the clock), or 86400 (at
                          local midnight) */
    uint32_t capacity; /* entries kept (a ring) */
    uint8_t nch;
    ms_obis_t ch[MS_PROFILE_MAX_CHANNELS];    /* energy registers */
    uint8_t ch_kind[MS_PROFILE_MAX_CHANNELS]; /* ms_channel_kind_t */
} ms_profile_def_t;

#define MS_MODEL_MAX_CLIENTS 8

/** What a DLMS client may do (the access rights its Association LN object lists). */
typedef enum ms_dlms_access {
    MS_DLMS_PUBLIC = 0, /* reads the identification, the clock and the registers */
    MS_DLMS_READ,       /* reads every object (no secrets) */
    MS_DLMS_MANAGE,     /* reads and writes what is writable, invokes methods */
} ms_dlms_access_t;

/** One DLMS client (an Association LN of the logical device, with its Security Setup). */
typedef struct ms_dlms_client {
    uint16_t sap;      /* client SAP (HDLC client address, wrapper source wPort) */
    char name[16];     /* "public", "reader", "management" */
    uint8_t mechanism; /* dlms_mechanism_t: 0 lowest, 1 LLS, 5 HLS-GMAC */
    uint8_t access;    /* ms_dlms_access_t */
    char password[33]; /* LLS secret */
    uint8_t policy;    /* DLMS_POLICY_* bits (Security Setup security_policy) */
    bool ciphered;     /* security suite 0 keys below are in use */
    uint8_t ek[16], ak[16];
    bool has_title;
    uint8_t client_title[8]; /* Security Setup client_system_title, when fixed */
} ms_dlms_client_t;

/** DLMS/COSEM settings of a model (one logical device, the management one). */
typedef struct ms_model_dlms {
    uint16_t logical_device;    /* server SAP / upper HDLC address (default 1) */
    uint16_t physical_address;  /* lower HDLC address (default 16 + serial mod 10000) */
    uint8_t system_title[8];    /* default: FLAG id + the serial's last 10 digits, BCD */
    uint16_t max_pdu;           /* server max receive PDU size (default 1024) */
    uint8_t hdlc_window;        /* window size offered (1..7, default 1) */
    uint16_t hdlc_max_info;     /* max information field length offered (default 128) */
    uint32_t hdlc_inactivity_s; /* IEC HDLC setup inactivity_time_out (default 120) */
    uint32_t hdlc_inter_octet_ms; /* inter_octet_time_out (default 200) */
    bool has_master_key;
    uint8_t master_key[16];    /* KEK for Security Setup global_key_transfer */
    char push_destination[64]; /* Push setup: "HOST:PORT" of the wrapper push (or "") */
    size_t nclients;
    ms_dlms_client_t clients[MS_MODEL_MAX_CLIENTS];
} ms_model_dlms_t;

/** What the meter does at power-up after an outage during which its battery had failed
 *  (Elster Power Master Unit behaviour). */
typedef enum ms_battery_response {
    MS_BATTERY_CONTINUE = 0, /* continue on the tariff with a time error = the outage */
    MS_BATTERY_BILLING,      /* end-of-billing reset, then continue */
    MS_BATTERY_FREEZE, /* end-of-billing reset, tariff frozen until the clock is set */
} ms_battery_response_t;

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
    ms_calendar_t calendar;   /* active calendar at creation */
    uint32_t demand_period_s; /* demand integration period (default 900) */
    uint8_t
        demand_subperiods;     /* 1: block demand; N > 1: sliding window of N
                                  subperiods of demand_period_s / N (IEC 62053-21 style) */
    int32_t drift_ppm;         /* RTC drift (default 0) */
    uint8_t billing_day;       /* monthly end-of-billing reset on this day at
                                  billing_time (0 = no schedule) */
    uint16_t billing_time_min; /* local time of day */
    uint32_t billing_capacity; /* billing profile entries kept (default 15) */
    uint32_t
        log_capacity[5]; /* standard, power, clock, config, disconnect (ms_log_id_t) */
    ms_battery_response_t battery_response;
    uint8_t breaker_mode;      /* disconnect control_mode 0..6 (default 1) */
    uint32_t reconnect_wait_s; /* minimum time between a change and a reconnection */
    int64_t limiter_mw;        /* limiter threshold at creation (0 = off) */
    uint32_t limiter_over_s;   /* min_over_threshold_duration (default 60) */
    size_t nprofiles;
    ms_profile_def_t profiles[MS_MODEL_MAX_PROFILES];
    ms_model_iec21_t iec21;
    ms_model_dlms_t dlms;
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
