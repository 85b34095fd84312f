/*
** view_cosem_int.h — inside the COSEM view: the object table, the interface class
** descriptors and the A-XDR writing helpers shared by view_cosem.c (association,
** clock, registers, profiles, disconnect control, setups) and view_cosem_cal.c (the
** tariff and billing schedule objects).
** SPDX-License-Identifier: MIT
*/
#ifndef MS_VIEW_COSEM_INT_H
#define MS_VIEW_COSEM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "ms_buf.h"
#include "view_cosem.h"

typedef struct cv_obj cv_obj_t;

/** Handlers of an interface class. Each returns a Data-Access-Result (get, set) or an
 *  Action-Result (action); attribute and method numbers are already checked against
 *  the class descriptor and the client's rights. */
typedef struct cv_ops {
    int (*get)(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
               const dlms_access_sel_t *sel, ms_wr_t *out);
    int (*set)(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
               const dlms_data_t *value);
    int (*action)(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int method,
                  const dlms_data_t *params, ms_wr_t *ret, bool *has_ret);
} cv_ops_t;

/** An interface class as this meter implements it (Blue Book class description): the
 *  attributes and methods, and who may use them. Bit a of a mask = attribute a. */
typedef struct cv_class {
    uint16_t class_id;
    uint8_t version;
    uint8_t nattr, nmeth;
    uint32_t write_mask;  /* attributes a "manage" client may write */
    uint32_t secret_mask; /* attributes only a "manage" client may read */
    uint32_t noread_mask; /* attributes nobody reads (secrets: write-only) */
    uint32_t sel_mask;    /* attributes with selective access */
    uint8_t selectors;    /* access selectors offered there (bit s = selector s) */
    uint32_t meth_mask;   /* methods a "manage" client may invoke */
    uint32_t public_meth; /* methods any client may invoke (e.g. HLS reply) */
    const cv_ops_t *ops;
} cv_class_t;

/** One object of the logical device. */
struct cv_obj {
    ms_obis_t ln;          /* logical_name */
    const cv_class_t *cls; /* its interface class */
    uint8_t min_access;    /* ms_dlms_access_t: the least access that lists it */
    uint16_t arg;          /* class-specific: profile index, log, client index, ... */
    ms_reg_def_t reg;      /* registers: what the catalogue says the code is */
};

/** The view. */
struct ms_cosem {
    ms_meter_t *m;
    const ms_model_t *md;
    ms_cosem_hooks_t h;
    cv_obj_t *obj; /* sorted by (logical_name, class_id) */
    size_t nobj, objcap;
    uint32_t ic_tx[MS_MODEL_MAX_CLIENTS];      /* next server invocation counter */
    uint32_t ic_rx_next[MS_MODEL_MAX_CLIENTS]; /* least client counter accepted next */
    ms_profile_entry_t *scratch;               /* profile entries for one read */
    size_t scratch_cap;
    ms_calendar_t *passive;  /* Activity Calendar: the passive calendar being written */
    bool passive_dirty;      /* written since the last activation */
    char who[64];            /* audit trail name of the client of the running access */
    uint32_t push_invoke_id; /* DATA-NOTIFICATION long-invoke-id of the last push */
};

/* ---- A-XDR writing (Blue Book 4.1.5 data types; lengths IEC 61334-6) ----------------
 */

void ax_tag(ms_wr_t *w, dlms_data_type_t t);
void ax_struct(ms_wr_t *w, uint32_t n);
void ax_array(ms_wr_t *w, uint32_t n);
/** unsigned, long-unsigned, double-long-unsigned, long64-unsigned, enum, boolean */
void ax_uint(ms_wr_t *w, dlms_data_type_t t, uint64_t v);
/** integer, long, double-long, long64 */
void ax_int(ms_wr_t *w, dlms_data_type_t t, int64_t v);
void ax_octets(ms_wr_t *w, const void *p, size_t n);
void ax_visible(ms_wr_t *w, const char *s);
void ax_obis(ms_wr_t *w, const ms_obis_t *o);
void ax_null(ms_wr_t *w);

/** The meter's time rtc_ms (UTC scale) as a date-time octet-string in local time with
 *  the deviation and the DST status bit of that instant (Blue Book 4.1.6.1); status
 *  bits `extra` added (e.g. invalid). rtc_ms 0: a date-time with every field "not
 *  specified". */
void cv_datetime(const ms_cosem_t *v, int64_t rtc_ms, uint8_t extra, ms_wr_t *w);

/** A date-time octet-string to the meter's time scale (ms UTC). Without a deviation
 *  the time is the meter's local time. @return 0, or -1 (not a complete date-time) */
int cv_time_of(const ms_cosem_t *v, const dlms_data_t *d, int64_t *rtc_ms);

/** Audit-trail name of the client of the running access. */
const char *cv_who(ms_cosem_t *v, const dlms_who_t *who);

/** The meter changed: commit through the hooks. */
void cv_commit(ms_cosem_t *v);

/** Find an object by logical name (any class). */
const cv_obj_t *cv_find(const ms_cosem_t *v, const ms_obis_t *ln);

/* Calendar and schedule classes (view_cosem_cal.c). */
extern const cv_class_t cv_activity_calendar, cv_special_days, cv_script_table,
    cv_register_activation, cv_single_action;

/** Add the calendar objects (view_cosem_cal.c). @return 0 or MS_ENOMEM */
int cv_add_calendar_objects(ms_cosem_t *v);

/** Append an object. @return 0 or MS_ENOMEM */
int cv_add(ms_cosem_t *v, const cv_class_t *cls, ms_obis_t ln, uint8_t min_access,
           uint16_t arg);

/* Script table instances (arg of cv_script_table objects). */
enum { CV_SCRIPTS_TARIFF = 0, CV_SCRIPTS_BILLING, CV_SCRIPTS_DISCONNECT };

#endif
