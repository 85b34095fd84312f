/*
** view_cosem.c — the COSEM view of the meter model (see view_cosem.h): the object table,
** access rights, and the interface classes other than the calendar ones.
** SPDX-License-Identifier: MIT
**
** Sources: IEC 62056-6-2 / DLMS UA 1000-1 "Blue Book" (interface classes: attributes,
** data types, methods), IEC 62056-6-1 (OBIS codes), DLMS UA 1000-2 "Green Book"
** (Data-Access-Result and Action-Result meanings), IDIS package 2 (AMR profile status
** bits, the event log layout "time, event code"), DSMR 5 P1 (1-0:99.97.0 power failure
** log with 0-0:96.7.19 durations). Choices where the standards leave room are marked
** "choice:" and listed in docs/cosem.md.
**
** Answers: an object the client's association does not list is object-undefined; a
** class_id that does not match the object's is object-class-inconsistent; an attribute
** or method number the class lacks is object-unavailable; an attribute or method the
** client may not use is read-write-denied; a value of the wrong type is type-unmatched;
** a value of the right type the meter cannot take is other-reason (SET) or
** other-reason / temporary-failure (ACTION: a transition the state refuses / a wait
** not over).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ms_err.h"
#include "ms_time.h"
#include "registers.h"
#include "view_cosem_int.h"

#define BIT(n) (1u << (n))

/* ---- A-XDR writing ---------------------------------------------------------------- */

void ax_tag(ms_wr_t *w, dlms_data_type_t t)
{
    ms_wr_u8(w, (uint8_t)t);
}

void ax_struct(ms_wr_t *w, uint32_t n)
{
    ax_tag(w, DLMS_STRUCTURE);
    axdr_write_length(w, n);
}

void ax_array(ms_wr_t *w, uint32_t n)
{
    ax_tag(w, DLMS_ARRAY);
    axdr_write_length(w, n);
}

void ax_uint(ms_wr_t *w, dlms_data_type_t t, uint64_t v)
{
    ax_tag(w, t);
    switch (t) {
    case DLMS_LONG_UNSIGNED:
        ms_wr_u16be(w, (uint16_t)v);
        break;
    case DLMS_DOUBLE_LONG_UNSIGNED:
        ms_wr_u32be(w, (uint32_t)v);
        break;
    case DLMS_LONG64_UNSIGNED:
        ms_wr_u64be(w, v);
        break;
    default: /* unsigned, enum, boolean */
        ms_wr_u8(w, (uint8_t)v);
        break;
    }
}

void ax_int(ms_wr_t *w, dlms_data_type_t t, int64_t v)
{
    ax_tag(w, t);
    switch (t) {
    case DLMS_LONG:
        ms_wr_u16be(w, (uint16_t)(int16_t)v);
        break;
    case DLMS_DOUBLE_LONG:
        ms_wr_u32be(w, (uint32_t)(int32_t)v);
        break;
    case DLMS_LONG64:
        ms_wr_u64be(w, (uint64_t)v);
        break;
    default: /* integer */
        ms_wr_u8(w, (uint8_t)(int8_t)v);
        break;
    }
}

void ax_octets(ms_wr_t *w, const void *p, size_t n)
{
    ax_tag(w, DLMS_OCTET_STRING);
    axdr_write_length(w, (uint32_t)n);
    ms_wr_bytes(w, p, n);
}

void ax_visible(ms_wr_t *w, const char *s)
{
    size_t n = strlen(s);
    ax_tag(w, DLMS_VISIBLE_STRING);
    axdr_write_length(w, (uint32_t)n);
    ms_wr_bytes(w, s, n);
}

void ax_obis(ms_wr_t *w, const ms_obis_t *o)
{
    const uint8_t b[6] = { o->a, o->b, o->c, o->d, o->e, o->f };
    ax_octets(w, b, 6);
}

void ax_null(ms_wr_t *w)
{
    ax_tag(w, DLMS_NULL_DATA);
}

/* A capture object definition: structure { class_id, logical_name, attribute_index,
 * data_index } (Blue Book, Profile generic capture_objects). */
static void ax_capture_def(ms_wr_t *w, uint16_t class_id, const ms_obis_t *ln, int attr)
{
    ax_struct(w, 4);
    ax_uint(w, DLMS_LONG_UNSIGNED, class_id);
    ax_obis(w, ln);
    ax_int(w, DLMS_INTEGER, attr);
    ax_uint(w, DLMS_LONG_UNSIGNED, 0);
}

/* ---- time ------------------------------------------------------------------------- */

void cv_datetime(const ms_cosem_t *v, int64_t rtc_ms, uint8_t extra, ms_wr_t *w)
{
    uint8_t b[DLMS_DATE_TIME_LEN];
    if (rtc_ms == 0) {
        const dlms_datetime_t none = { DLMS_YEAR_NOT_SPECIFIED,
                                       0xFF,
                                       0xFF,
                                       0xFF,
                                       0xFF,
                                       0xFF,
                                       0xFF,
                                       0xFF,
                                       DLMS_DEVIATION_NOT_SPECIFIED,
                                       DLMS_CLOCK_STATUS_NOT_SPECIFIED };
        dlms_datetime_pack(&none, b);
    } else {
        int64_t s = ms_floor_div(rtc_ms, 1000);
        bool dst = false;
        int32_t off = ms_tz_offset(&v->md->tz, s, &dst);
        uint8_t status = (uint8_t)((dst ? DLMS_CLOCK_DAYLIGHT_SAVING : 0) | extra);
        /* Blue Book 4.1.6.1: deviation = UTC - local, in minutes (CET -60) */
        dlms_datetime_from_utc(s, (unsigned)((rtc_ms - s * 1000) / 10), -off / 60, status,
                               b);
    }
    ax_octets(w, b, sizeof b);
}

int cv_time_of(const ms_cosem_t *v, const dlms_data_t *d, int64_t *rtc_ms)
{
    if (!d || !((d->type == DLMS_OCTET_STRING && d->n == DLMS_DATE_TIME_LEN) ||
                d->type == DLMS_DATE_TIME))
        return -1;
    const uint8_t *b = d->type == DLMS_DATE_TIME ? d->v.raw : d->v.bytes;
    int64_t s;
    dlms_datetime_t f;
    int rc = dlms_datetime_to_utc(b, &s, &f);
    if (rc < 0)
        return -1;
    if (rc == 1) /* no deviation: the meter's local time */
        s = ms_tz_utc_of_local(&v->md->tz, s);
    unsigned hs = f.hundredths <= 99 ? f.hundredths : 0;
    *rtc_ms = s * 1000 + hs * 10;
    return 0;
}

/* ---- the object table ---------------------------------------------------------------
 */

static int obj_cmp(const void *a, const void *b)
{
    const cv_obj_t *x = a, *y = b;
    int c = memcmp(&x->ln, &y->ln, sizeof x->ln);
    return c ? c : (int)x->cls->class_id - (int)y->cls->class_id;
}

int cv_add(ms_cosem_t *v, const cv_class_t *cls, ms_obis_t ln, uint8_t min_access,
           uint16_t arg)
{
    if (v->nobj == v->objcap) {
        size_t cap = v->objcap ? v->objcap * 2 : 128;
        cv_obj_t *o = realloc(v->obj, cap * sizeof *o);
        if (!o)
            return MS_ENOMEM;
        v->obj = o;
        v->objcap = cap;
    }
    cv_obj_t *o = &v->obj[v->nobj++];
    memset(o, 0, sizeof *o);
    o->ln = ln;
    o->cls = cls;
    o->min_access = min_access;
    o->arg = arg;
    ms_reg_lookup(&ln, &o->reg);
    return 0;
}

const cv_obj_t *cv_find(const ms_cosem_t *v, const ms_obis_t *ln)
{
    size_t lo = 0, hi = v->nobj;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp(&v->obj[mid].ln, ln, sizeof *ln);
        if (c == 0) {
            while (mid > 0 && memcmp(&v->obj[mid - 1].ln, ln, sizeof *ln) == 0)
                mid--;
            return &v->obj[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- clients, rights, audit -----------------------------------------------------------
 */

static int client_index(const ms_cosem_t *v, uint16_t sap)
{
    for (size_t i = 0; i < v->md->dlms.nclients; i++)
        if (v->md->dlms.clients[i].sap == sap)
            return (int)i;
    return -1;
}

static ms_dlms_access_t access_of(const ms_cosem_t *v, const dlms_who_t *who)
{
    int i = client_index(v, who->client_sap);
    if (i < 0 || !who->authenticated)
        return MS_DLMS_PUBLIC;
    return (ms_dlms_access_t)v->md->dlms.clients[i].access;
}

const char *cv_who(ms_cosem_t *v, const dlms_who_t *who)
{
    int i = client_index(v, who->client_sap);
    snprintf(v->who, sizeof v->who, "DLMS client %u (%s)", who->client_sap,
             i >= 0 ? v->md->dlms.clients[i].name : "?");
    return v->who;
}

void cv_commit(ms_cosem_t *v)
{
    if (v->h.commit)
        v->h.commit(v->h.ud);
}

static void sync_meter(ms_cosem_t *v)
{
    if (v->h.sync)
        v->h.sync(v->h.ud);
}

static bool can_read(const cv_obj_t *o, int attr, ms_dlms_access_t acc)
{
    uint32_t b = BIT(attr);
    if (o->cls->noread_mask & b)
        return false;
    return !(o->cls->secret_mask & b) || acc == MS_DLMS_MANAGE;
}

static bool can_write(const cv_obj_t *o, int attr, ms_dlms_access_t acc)
{
    return attr > 1 && (o->cls->write_mask & BIT(attr)) && acc == MS_DLMS_MANAGE;
}

static bool can_invoke(const cv_obj_t *o, int method, ms_dlms_access_t acc)
{
    uint32_t b = BIT(method);
    return (o->cls->public_meth & b) ||
           ((o->cls->meth_mask & b) && acc == MS_DLMS_MANAGE);
}

/* The object a request names, as the client's association sees it. */
static int resolve(const ms_cosem_t *v, ms_dlms_access_t acc, uint16_t class_id,
                   const ms_obis_t *ln, const cv_obj_t **out)
{
    const cv_obj_t *o = cv_find(v, ln);
    const cv_obj_t *end = v->obj + v->nobj;
    for (; o && o < end && ms_obis_equal(&o->ln, ln); o++)
        if (o->min_access <= acc) {
            *out = o;
            return o->cls->class_id == class_id ? DLMS_DAR_SUCCESS
                                                : DLMS_DAR_OBJECT_CLASS_INCONSISTENT;
        }
    return DLMS_DAR_OBJECT_UNDEFINED;
}

/* ---- register values ------------------------------------------------------------------
 */

/* How a catalogue quantity is shown as a COSEM value: type, scaler, unit (Blue Book
 * 4.3.2 scaler_unit; unit enum: 27 W, 29 var, 30 Wh, 32 varh, 33 A, 35 V, 44 Hz,
 * 255 count). choice: energy in Wh and demand in W (the resolution of the IEC 62056-21
 * readout), voltage in 0.1 V, current in 0.01 A, frequency in 0.01 Hz, power factor in
 * 0.001. */
typedef struct cv_enc {
    dlms_data_type_t type;
    int8_t scaler;
    uint8_t unit;
} cv_enc_t;

static cv_enc_t reg_enc(const ms_reg_def_t *d)
{
    switch (d->kind) {
    case MS_REG_ENERGY:
        return (cv_enc_t){ DLMS_DOUBLE_LONG_UNSIGNED, 0, d->q <= MS_E_AN ? 30 : 32 };
    case MS_REG_MAX_DEMAND:
    case MS_REG_CUM_DEMAND:
        return (cv_enc_t){ DLMS_DOUBLE_LONG_UNSIGNED, 0, 27 };
    case MS_REG_POWER:
        return (cv_enc_t){ DLMS_DOUBLE_LONG, 0, 27 };
    case MS_REG_VOLTAGE:
        return (cv_enc_t){ DLMS_LONG_UNSIGNED, -1, 35 };
    case MS_REG_CURRENT:
        return (cv_enc_t){ DLMS_LONG_UNSIGNED, -2, 33 };
    case MS_REG_POWER_FACTOR:
        return (cv_enc_t){ DLMS_LONG, -3, 255 };
    case MS_REG_FREQUENCY:
        return (cv_enc_t){ DLMS_LONG_UNSIGNED, -2, 44 };
    default:
        return (cv_enc_t){ DLMS_DOUBLE_LONG_UNSIGNED, 0, 255 };
    }
}

/* raw (x 10^exp10 of the catalogue unit) -> the integer of the COSEM value */
static int64_t reg_scaled(const ms_reg_def_t *d, cv_enc_t e, int64_t raw)
{
    int k = e.scaler - d->exp10;
    for (; k > 0; k--)
        raw /= 10;
    for (; k < 0; k++)
        raw *= 10;
    return raw;
}

static void ax_reg_value(ms_wr_t *w, const ms_reg_def_t *d, int64_t raw)
{
    cv_enc_t e = reg_enc(d);
    int64_t x = reg_scaled(d, e, raw);
    if (e.type == DLMS_DOUBLE_LONG || e.type == DLMS_LONG)
        ax_int(w, e.type, x);
    else
        ax_uint(w, e.type, (uint64_t)(x < 0 ? 0 : x));
}

static void ax_scaler_unit(ms_wr_t *w, const ms_reg_def_t *d)
{
    cv_enc_t e = reg_enc(d);
    ax_struct(w, 2);
    ax_int(w, DLMS_INTEGER, e.scaler);
    ax_uint(w, DLMS_ENUM, e.unit);
}

/* ---- Data (class 1) -----------------------------------------------------------------
 */

enum data_kind {
    D_LDN = 1,     /* COSEM logical device name 0.0.42.0.0.255 */
    D_SERIAL,      /* 0.0.96.1.0.255 device ID 1 (manufacturing number) */
    D_PROPERTY,    /* 0.0.96.1.1.255 device ID 2 (property / device address) */
    D_FIRMWARE,    /* 1.0.0.2.0.255 active firmware identifier */
    D_BILLING_CNT, /* 0.0.0.1.0.255 billing period counter */
    D_TARIFF,      /* 0.0.96.14.0.255 currently active energy tariff */
    D_ERROR,       /* 0.0.97.97.0.255 error register */
    D_STATUS,      /* 0.0.96.10.1.255 AMR profile status */
    D_EVENT_CODE,  /* 0.0.96.11.e.255 last event code of a log (arg<<8: log) */
    D_PF_DURATION, /* 0.0.96.7.19.255 duration of the last power failure (s) */
    D_PF_COUNT,    /* 0.0.96.7.21.255 number of power failures */
    D_IC,          /* 0.0.43.1.e.255 invocation counter (arg<<8: client index) */
};

static void ldn(const ms_cosem_t *v, char out[17])
{
    /* Blue Book 4.4.11 (SAP assignment): the logical device name is 16 octets at most,
     * the first three the FLAG manufacturer id. */
    snprintf(out, 17, "%.3s%.13s", v->md->manufacturer, v->md->serial);
}

static uint8_t status_now(const ms_meter_t *m)
{
    return m->clock_invalid ? MS_PST_CLOCK_INVALID : 0;
}

static int data_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                    const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_meter_t *m = v->m;
    const ms_model_t *md = v->md;
    if (attr == 1) {
        ax_obis(w, &o->ln);
        return 0;
    }
    char s[20];
    switch (o->arg & 0xFF) {
    case D_LDN:
        ldn(v, s);
        ax_octets(w, s, strlen(s));
        break;
    case D_SERIAL:
        ax_octets(w, md->serial, strlen(md->serial));
        break;
    case D_PROPERTY:
        ax_octets(w, md->device_address, strlen(md->device_address));
        break;
    case D_FIRMWARE:
        ax_octets(w, md->firmware, strlen(md->firmware));
        break;
    case D_BILLING_CNT:
        ax_uint(w, DLMS_LONG_UNSIGNED, m->billing_count);
        break;
    case D_TARIFF:
        ax_uint(w, DLMS_UNSIGNED, ms_regs_rate(&m->regs));
        break;
    case D_ERROR:
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, m->error_flags);
        break;
    case D_STATUS:
        ax_uint(w, DLMS_UNSIGNED, status_now(m));
        break;
    case D_EVENT_CODE: {
        ms_log_id_t l = (ms_log_id_t)(o->arg >> 8);
        const ms_event_rec_t *e =
            m->logs[l].n ? ms_meter_event(m, l, m->logs[l].n - 1) : NULL;
        ax_uint(w, DLMS_UNSIGNED, e ? e->code : 0);
        break;
    }
    case D_PF_DURATION: {
        const ms_ring_t *r = &m->logs[MS_LOG_POWER];
        const ms_event_rec_t *e = r->n ? ms_meter_event(m, MS_LOG_POWER, r->n - 1) : NULL;
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED,
                e && e->duration_ms > 0 ? (uint64_t)(e->duration_ms / 1000) : 0);
        break;
    }
    case D_PF_COUNT:
        ax_uint(w, DLMS_LONG_UNSIGNED, m->logs[MS_LOG_POWER].total);
        break;
    case D_IC: {
        unsigned i = o->arg >> 8;
        /* the counter the client must use next (Green Book 9.2.x; read by the public
         * client before it associates with ciphering) */
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, v->ic_rx_next[i]);
        break;
    }
    default:
        return DLMS_DAR_OBJECT_UNAVAILABLE;
    }
    return 0;
}

static const cv_ops_t data_ops = { data_get, NULL, NULL };
static const cv_class_t cls_data = {
    .class_id = 1, .version = 0, .nattr = 2, .ops = &data_ops
};

/* ---- Register (3), Extended register (4), Demand register (5) ------------------------
 */

static int reg_read(const ms_cosem_t *v, const cv_obj_t *o, ms_reg_value_t *rv)
{
    return ms_meter_read(v->m, &o->ln, rv) == 0 ? 0 : DLMS_DAR_OBJECT_UNAVAILABLE;
}

/* The interval energy of a profile channel (D = 29): the increase over the last complete
 * capture period of the first profile recording the source register as a delta. */
static int delta_value(ms_cosem_t *v, const cv_obj_t *o, int64_t *raw)
{
    const ms_model_t *md = v->md;
    unsigned p = o->arg >> 8, k = o->arg & 0xFF;
    int64_t now = ms_meter_rtc_ms(v->m);
    ms_profile_entry_t e;
    int64_t span = (int64_t)md->profiles[p].period_s * 1000 * 2;
    *raw = ms_meter_profile(v->m, p, now - span, now, &e, 1) ? e.value[k] : 0;
    return 0;
}

static int register_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                        const dlms_access_sel_t *sel, ms_wr_t *w)
{
    if (attr == 1) {
        ax_obis(w, &o->ln);
        return 0;
    }
    ms_reg_def_t d = o->reg;
    if (o->ln.d == 29) { /* interval energy of a profile channel: the source's encoding */
        ms_obis_t src = o->ln;
        src.d = 8;
        ms_reg_lookup(&src, &d);
    }
    if (attr == 3) {
        ax_scaler_unit(w, &d);
        return 0;
    }
    int64_t raw;
    if (o->ln.d == 29) {
        delta_value(v, o, &raw);
    } else {
        ms_reg_value_t rv;
        int dar = reg_read(v, o, &rv);
        if (dar)
            return dar;
        raw = rv.value;
    }
    ax_reg_value(w, &d, raw);
    return 0;
}

static const cv_ops_t register_ops = { register_get, NULL, NULL };
static const cv_class_t cls_register = {
    .class_id = 3, .version = 0, .nattr = 3, .nmeth = 1, .ops = &register_ops
};

static int ext_register_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                            int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    if (attr <= 3)
        return register_get(v, o, who, attr, sel, w);
    ms_reg_value_t rv;
    int dar = reg_read(v, o, &rv);
    if (dar)
        return dar;
    if (attr == 4) /* status: choice: the AMR profile status bits now */
        ax_uint(w, DLMS_UNSIGNED, status_now(v->m));
    else /* 5 capture_time */
        cv_datetime(v, rv.at_ms, 0, w);
    return 0;
}

static const cv_ops_t ext_register_ops = { ext_register_get, NULL, NULL };
static const cv_class_t cls_ext_register = {
    .class_id = 4, .version = 0, .nattr = 5, .nmeth = 1, .ops = &ext_register_ops
};

/* Demand register (class 5) of A+ (arg 0) or A- (arg 1), after the meter's demand
 * integration: block demand is one period, a sliding window N subperiods (period =
 * the subperiod, number_of_periods = N, as Blue Book 4.3.4 describes). */
static int demand_register_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                               int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_meter_t *m = v->m;
    const int d = o->arg;
    const int n = v->md->demand_subperiods > 1 ? v->md->demand_subperiods : 1;
    const int64_t period_ms = (int64_t)v->md->demand_period_s * 1000;
    ms_reg_def_t def = {
        .kind = MS_REG_MAX_DEMAND, .q = (uint8_t)d, .unit = "W", .exp10 = -3
    };
    int64_t sum = 0;
    for (int k = 0; k < n; k++)
        sum += m->window[d][k];
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* current_average_value: the running subperiod with the N-1 before it (the
               slot at window_head is the oldest, about to be replaced) */
        ax_reg_value(w, &def,
                     (m->period_acc[d] + sum - m->window[d][m->window_head]) / period_ms);
        break;
    case 3: /* last_average_value */
        ax_reg_value(w, &def, sum / period_ms);
        break;
    case 4:
        ax_scaler_unit(w, &def);
        break;
    case 5:
        ax_uint(w, DLMS_UNSIGNED, status_now(m));
        break;
    case 6: /* capture_time: the end of the last (sub)period */
    case 7: /* start_time_current */
        cv_datetime(v, m->period_start_rtc, 0, w);
        break;
    case 8:
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, v->md->demand_period_s / (unsigned)n);
        break;
    case 9:
        ax_uint(w, DLMS_LONG_UNSIGNED, (unsigned)n);
        break;
    }
    return 0;
}

static const cv_ops_t demand_register_ops = { demand_register_get, NULL, NULL };
static const cv_class_t cls_demand_register = {
    .class_id = 5, .version = 0, .nattr = 9, .nmeth = 2, .ops = &demand_register_ops
};

/* ---- Profile generic (class 7, version 1) ------------------------------------------ */

/* Instances: a model profile (arg = index), the billing profile, an event log. */
enum { PG_PROFILE = 0, PG_BILLING = 0x100, PG_LOG = 0x200 };

enum col_kind {
    COL_TIME,
    COL_STATUS,
    COL_CH,
    COL_CODE,
    COL_DURATION,
    COL_COUNTER,
    COL_REG,
    COL_MD_TIME
};

typedef struct pg_col {
    uint16_t class_id;
    ms_obis_t ln;
    int8_t attr;
    uint8_t kind;
    uint8_t k;        /* channel index */
    ms_reg_def_t reg; /* COL_CH, COL_REG, COL_MD_TIME */
} pg_col_t;

#define PG_MAX_COLS (3 + 4 * (1 + MS_MAX_RATES) + 4 * (1 + MS_MAX_RATES))

static const ms_obis_t clock_ln = { 0, 0, 1, 0, 0, 255 };

/* Blue Book event log codes of metersim's logs: the Data objects holding the last code */
static const uint8_t log_code_e[MS_LOG_COUNT] = { [MS_LOG_STANDARD] = 0,
                                                  [MS_LOG_POWER] = 0,
                                                  [MS_LOG_CLOCK] = 6,
                                                  [MS_LOG_CONFIG] = 7,
                                                  [MS_LOG_DISCONNECT] = 2 };

static size_t pg_columns(const ms_cosem_t *v, const cv_obj_t *o, pg_col_t *c)
{
    size_t n = 0;
    c[n++] = (pg_col_t){ .class_id = 8, .ln = clock_ln, .attr = 2, .kind = COL_TIME };
    if (o->arg < PG_BILLING) {
        const ms_profile_def_t *p = &v->md->profiles[o->arg];
        c[n++] = (pg_col_t){
            .class_id = 1, .ln = { 0, 0, 96, 10, 1, 255 }, .attr = 2, .kind = COL_STATUS
        };
        for (unsigned k = 0; k < p->nch; k++) {
            pg_col_t *x = &c[n++];
            *x = (pg_col_t){
                .class_id = 3, .ln = p->ch[k], .attr = 2, .kind = COL_CH, .k = (uint8_t)k
            };
            ms_reg_lookup(&p->ch[k], &x->reg);
            if (p->ch_kind[k] == MS_CH_DELTA)
                x->ln.d = 29;
            else if (x->reg.kind == MS_REG_MAX_DEMAND)
                x->class_id = 4;
        }
    } else if (o->arg == PG_BILLING) {
        c[n++] = (pg_col_t){
            .class_id = 1, .ln = { 0, 0, 0, 1, 0, 255 }, .attr = 2, .kind = COL_COUNTER
        };
        const int nr = v->m->cal->nrates;
        for (uint8_t q = 0; q < MS_E_COUNT; q++)
            for (uint8_t r = 0; r <= nr; r++) {
                pg_col_t *x = &c[n++];
                *x = (pg_col_t){ .class_id = 3,
                                 .ln = { 1, 0, (uint8_t)(q + 1), 8, r, 255 },
                                 .attr = 2,
                                 .kind = COL_REG };
                ms_reg_lookup(&x->ln, &x->reg);
            }
        for (uint8_t q = 0; q < MS_DIR_COUNT; q++)
            for (uint8_t r = 0; r <= nr; r++)
                for (int a = 2; a <= 5; a += 3) {
                    pg_col_t *x = &c[n++];
                    *x = (pg_col_t){ .class_id = 4,
                                     .ln = { 1, 0, (uint8_t)(q + 1), 6, r, 255 },
                                     .attr = (int8_t)a,
                                     .kind = a == 2 ? COL_REG : COL_MD_TIME };
                    ms_reg_lookup(&x->ln, &x->reg);
                }
    } else {
        ms_log_id_t l = (ms_log_id_t)(o->arg - PG_LOG);
        if (l == MS_LOG_POWER) {
            c[n++] = (pg_col_t){ .class_id = 1,
                                 .ln = { 0, 0, 96, 7, 19, 255 },
                                 .attr = 2,
                                 .kind = COL_DURATION };
        } else {
            c[n++] = (pg_col_t){ .class_id = 1,
                                 .ln = { 0, 0, 96, 11, log_code_e[l], 255 },
                                 .attr = 2,
                                 .kind = COL_CODE };
        }
    }
    return n;
}

/* A row of any of the three sources, for the encoder. */
typedef struct pg_row {
    int64_t rtc_ms;
    const ms_profile_entry_t *pe;
    const ms_billing_rec_t *b;
    const ms_event_rec_t *e;
} pg_row_t;

static void pg_cell(const ms_cosem_t *v, const pg_col_t *c, const pg_row_t *r, ms_wr_t *w)
{
    switch (c->kind) {
    case COL_TIME:
        cv_datetime(v, r->rtc_ms, 0, w);
        break;
    case COL_STATUS:
        ax_uint(w, DLMS_UNSIGNED, r->pe->status);
        break;
    case COL_CH:
        ax_reg_value(w, &c->reg, r->pe->value[c->k]);
        break;
    case COL_CODE:
        ax_uint(w, DLMS_UNSIGNED, r->e->code);
        break;
    case COL_DURATION:
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED,
                r->e->duration_ms > 0 ? (uint64_t)(r->e->duration_ms / 1000) : 0);
        break;
    case COL_COUNTER:
        ax_uint(w, DLMS_LONG_UNSIGNED, r->b->counter);
        break;
    case COL_REG:
        if (c->reg.kind == MS_REG_ENERGY)
            ax_reg_value(w, &c->reg, r->b->energy[c->reg.q][c->reg.rate]);
        else
            ax_reg_value(w, &c->reg, r->b->demand[c->reg.q][c->reg.rate].max_mw);
        break;
    case COL_MD_TIME:
        cv_datetime(v, r->b->demand[c->reg.q][c->reg.rate].max_at_ms, 0, w);
        break;
    }
}

/* Rows of the instance in [first, last] (0-based, oldest first) or, when by_time, with a
 * capture time in [from, to]. Profile rows are read into v->scratch. */
typedef struct pg_rows {
    size_t n;     /* rows selected */
    size_t first; /* index of the first selected row in the source */
    size_t total; /* entries in use */
} pg_rows_t;

static int scratch(ms_cosem_t *v, size_t n)
{
    if (n <= v->scratch_cap)
        return 0;
    ms_profile_entry_t *p = realloc(v->scratch, n * sizeof *p);
    if (!p)
        return MS_ENOMEM;
    v->scratch = p;
    v->scratch_cap = n;
    return 0;
}

static size_t pg_total(ms_cosem_t *v, const cv_obj_t *o)
{
    if (o->arg < PG_BILLING) {
        const ms_profile_def_t *p = &v->md->profiles[o->arg];
        if (scratch(v, p->capacity))
            return 0;
        return ms_meter_profile(v->m, o->arg, INT64_MIN, INT64_MAX, v->scratch,
                                p->capacity);
    }
    if (o->arg == PG_BILLING)
        return v->m->billing_n;
    return v->m->logs[o->arg - PG_LOG].n;
}

static void pg_row(const ms_cosem_t *v, const cv_obj_t *o, size_t i, pg_row_t *r)
{
    memset(r, 0, sizeof *r);
    if (o->arg < PG_BILLING) {
        r->pe = &v->scratch[i];
        r->rtc_ms = r->pe->rtc_ms;
    } else if (o->arg == PG_BILLING) {
        r->b = ms_meter_billing(v->m, (uint32_t)i);
        r->rtc_ms = r->b->rtc_ms;
    } else {
        r->e = ms_meter_event(v->m, (ms_log_id_t)(o->arg - PG_LOG), (uint32_t)i);
        r->rtc_ms = r->e->rtc_ms;
    }
}

/* Selected columns from a selected_values array of capture object definitions (empty:
 * all). @return the count, or -1 when one names no column */
static int pg_select(const pg_col_t *cols, size_t ncols, const dlms_data_t *sv,
                     uint8_t *sel)
{
    if (!sv || sv->type != DLMS_ARRAY || sv->n == 0) {
        for (size_t i = 0; i < ncols; i++)
            sel[i] = (uint8_t)i;
        return (int)ncols;
    }
    int n = 0;
    for (uint32_t i = 0; i < sv->n && n < PG_MAX_COLS; i++) {
        const dlms_data_t *d = &sv->v.items[i];
        int64_t cls, attr;
        if (d->type != DLMS_STRUCTURE || d->n < 3 ||
            dlms_data_to_i64(&d->v.items[0], &cls) ||
            d->v.items[1].type != DLMS_OCTET_STRING || d->v.items[1].n != 6 ||
            dlms_data_to_i64(&d->v.items[2], &attr))
            return -1;
        const uint8_t *b = d->v.items[1].v.bytes;
        ms_obis_t ln = { b[0], b[1], b[2], b[3], b[4], b[5] };
        int found = -1;
        for (size_t k = 0; k < ncols; k++)
            if (cols[k].class_id == cls && cols[k].attr == attr &&
                ms_obis_equal(&cols[k].ln, &ln))
                found = (int)k;
        if (found < 0)
            return -1;
        sel[n++] = (uint8_t)found;
    }
    return n;
}

static int pg_buffer(ms_cosem_t *v, const cv_obj_t *o, const dlms_access_sel_t *sel,
                     ms_wr_t *w)
{
    pg_col_t cols[PG_MAX_COLS];
    size_t ncols = pg_columns(v, o, cols);
    uint8_t pick[PG_MAX_COLS];
    int npick = (int)ncols;
    size_t total = pg_total(v, o), first = 0, last = total; /* [first, last) */
    for (size_t i = 0; i < ncols; i++)
        pick[i] = (uint8_t)i;
    if (sel && sel->present) {
        const dlms_data_t *p = &sel->parameters;
        if (sel->selector == 1) {
            /* range_descriptor: structure { restricting_object, from_value, to_value,
             * selected_values }; metersim restricts by the clock column only */
            if (p->type != DLMS_STRUCTURE || p->n < 3)
                return DLMS_DAR_TYPE_UNMATCHED;
            const dlms_data_t *ro = &p->v.items[0];
            int64_t cls = 0, attr = 0;
            if (ro->type != DLMS_STRUCTURE || ro->n < 3 ||
                dlms_data_to_i64(&ro->v.items[0], &cls) ||
                dlms_data_to_i64(&ro->v.items[2], &attr))
                return DLMS_DAR_TYPE_UNMATCHED;
            if (cls != 8 || attr != 2)
                return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
            int64_t from, to;
            if (cv_time_of(v, &p->v.items[1], &from) ||
                cv_time_of(v, &p->v.items[2], &to))
                return DLMS_DAR_TYPE_UNMATCHED;
            size_t a = 0;
            pg_row_t r;
            while (a < total && (pg_row(v, o, a, &r), r.rtc_ms < from))
                a++;
            size_t b = a;
            while (b < total && (pg_row(v, o, b, &r), r.rtc_ms <= to))
                b++;
            first = a;
            last = b;
            if (p->n >= 4 && (npick = pg_select(cols, ncols, &p->v.items[3], pick)) < 0)
                return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
        } else if (sel->selector == 2) {
            /* entry_descriptor: structure { from_entry, to_entry (0: the last),
             * from_selected_value, to_selected_value (0: the last) }, 1-based */
            int64_t fe, te, fv, tv;
            if (p->type != DLMS_STRUCTURE || p->n != 4 ||
                dlms_data_to_i64(&p->v.items[0], &fe) ||
                dlms_data_to_i64(&p->v.items[1], &te) ||
                dlms_data_to_i64(&p->v.items[2], &fv) ||
                dlms_data_to_i64(&p->v.items[3], &tv))
                return DLMS_DAR_TYPE_UNMATCHED;
            if (te == 0 || te > (int64_t)total)
                te = (int64_t)total;
            if (tv == 0 || tv > (int64_t)ncols)
                tv = (int64_t)ncols;
            if (fe < 1 || fv < 1 || fv > tv)
                return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
            first = (size_t)fe - 1;
            last = fe > te ? first : (size_t)te;
            if (first > total)
                first = last = total;
            npick = 0;
            for (int64_t k = fv; k <= tv; k++)
                pick[npick++] = (uint8_t)(k - 1);
        } else {
            return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
        }
    }
    ax_array(w, (uint32_t)(last - first));
    for (size_t i = first; i < last && !w->err; i++) {
        pg_row_t r;
        pg_row(v, o, i, &r);
        ax_struct(w, (uint32_t)npick);
        for (int k = 0; k < npick; k++)
            pg_cell(v, &cols[pick[k]], &r, w);
    }
    return 0;
}

static int profile_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                       const dlms_access_sel_t *sel, ms_wr_t *w)
{
    pg_col_t cols[PG_MAX_COLS];
    size_t n;
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        return 0;
    case 2:
        return pg_buffer(v, o, sel, w);
    case 3:
        n = pg_columns(v, o, cols);
        ax_array(w, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            ax_capture_def(w, cols[i].class_id, &cols[i].ln, cols[i].attr);
        return 0;
    case 4: /* capture_period (s; 0 = captured by events, not periodically) */
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED,
                o->arg < PG_BILLING ? v->md->profiles[o->arg].period_s : 0);
        return 0;
    case 5: /* sort_method: fifo */
        ax_uint(w, DLMS_ENUM, 1);
        return 0;
    case 6: { /* sort_object: none */
        static const ms_obis_t zero = { 0, 0, 0, 0, 0, 0 };
        ax_capture_def(w, 0, &zero, 0);
        return 0;
    }
    case 7:
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, pg_total(v, o));
        return 0;
    case 8: /* profile_entries (capacity) */
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED,
                o->arg < PG_BILLING    ? v->md->profiles[o->arg].capacity
                : o->arg == PG_BILLING ? v->md->billing_capacity
                                       : v->m->logs[o->arg - PG_LOG].cap);
        return 0;
    }
    return DLMS_DAR_OBJECT_UNAVAILABLE;
}

/* Methods: 1 reset, 2 capture. The model derives its profiles from what it measured, so
 * neither exists for them (choice: the object list says no_access); the billing
 * profile's capture is the end of billing (Blue Book 4.3.6: "capture" copies the
 * capture objects' values into the buffer; for the billing profile that is the
 * end-of-billing snapshot). */
static int billing_profile_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                                  int method, const dlms_data_t *params, ms_wr_t *ret,
                                  bool *has_ret)
{
    if (method != 2)
        return DLMS_ACTION_READ_WRITE_DENIED;
    ms_meter_billing_reset(v->m, cv_who(v, who));
    cv_commit(v);
    return DLMS_ACTION_SUCCESS;
}

static const cv_ops_t profile_ops = { profile_get, NULL, NULL };
static const cv_class_t cls_profile = { .class_id = 7,
                                        .version = 1,
                                        .nattr = 8,
                                        .nmeth = 2,
                                        .sel_mask = BIT(2),
                                        .selectors = BIT(1) | BIT(2),
                                        .ops = &profile_ops };
static const cv_ops_t billing_profile_ops = { profile_get, NULL, billing_profile_action };
static const cv_class_t cls_billing_profile = { .class_id = 7,
                                                .version = 1,
                                                .nattr = 8,
                                                .nmeth = 2,
                                                .sel_mask = BIT(2),
                                                .selectors = BIT(1) | BIT(2),
                                                .meth_mask = BIT(2),
                                                .ops = &billing_profile_ops };

/* ---- Clock (class 8) ----------------------------------------------------------------
 */

/* A DST switch rule as a date-time with wildcards (Blue Book 4.1.6.1): year not
 * specified, the month, day_of_month 0xFE (last) or the first day of the week's range,
 * day_of_week the weekday; the local time of the switch. choice: begin in local standard
 * time, end in local daylight time (the wall-clock times at which the clocks change). */
static void ax_dst_rule(const ms_cosem_t *v, const ms_dst_switch_t *sw, bool end,
                        ms_wr_t *w)
{
    const ms_tz_t *tz = &v->md->tz;
    int32_t at =
        sw->at_s + (sw->utc ? tz->std_offset_s : 0) + (end ? tz->dst_delta_s : 0);
    at = ((at % 86400) + 86400) % 86400;
    dlms_datetime_t dt = { .year = DLMS_YEAR_NOT_SPECIFIED,
                           .month = sw->month,
                           .day = sw->week == 5 ? DLMS_DAY_LAST
                                                : (uint8_t)(1 + 7 * (sw->week - 1)),
                           .wday = sw->wday,
                           .hour = (uint8_t)(at / 3600),
                           .minute = (uint8_t)(at / 60 % 60),
                           .second = (uint8_t)(at % 60),
                           .hundredths = 0,
                           .deviation = (int16_t)(-tz->std_offset_s / 60),
                           .status = DLMS_CLOCK_STATUS_NOT_SPECIFIED };
    uint8_t b[DLMS_DATE_TIME_LEN];
    dlms_datetime_pack(&dt, b);
    ax_octets(w, b, sizeof b);
}

static int clock_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                     const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_tz_t *tz = &v->md->tz;
    unsigned st = ms_meter_clock_status(v->m);
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2:
        cv_datetime(v, ms_meter_rtc_ms(v->m), (uint8_t)(st & ~DLMS_CLOCK_DAYLIGHT_SAVING),
                    w);
        break;
    case 3: /* time_zone: deviation of local standard time to UTC, minutes (same sign
               convention as the date-time deviation: CET -60) */
        ax_int(w, DLMS_LONG, -tz->std_offset_s / 60);
        break;
    case 4:
        ax_uint(w, DLMS_UNSIGNED, st);
        break;
    case 5:
    case 6:
        if (!tz->dst)
            cv_datetime(v, 0, 0, w);
        else
            ax_dst_rule(v, attr == 5 ? &tz->begin : &tz->end, attr == 6, w);
        break;
    case 7:
        ax_int(w, DLMS_INTEGER, tz->dst ? tz->dst_delta_s / 60 : 0);
        break;
    case 8:
        ax_uint(w, DLMS_BOOLEAN, tz->dst ? 1 : 0);
        break;
    case 9: /* clock_base: internal crystal */
        ax_uint(w, DLMS_ENUM, 1);
        break;
    }
    return 0;
}

static int clock_set(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                     const dlms_data_t *val)
{
    int64_t rtc;
    if (cv_time_of(v, val, &rtc))
        return DLMS_DAR_TYPE_UNMATCHED;
    ms_meter_set_clock(v->m, rtc, cv_who(v, who));
    cv_commit(v);
    return 0;
}

/* Methods (Blue Book 4.5.1): 1 adjust_to_quarter, 2 adjust_to_measuring_period,
 * 3 adjust_to_minute, 6 shift_time (long, -900..900 s). */
static int clock_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                        int method, const dlms_data_t *params, ms_wr_t *ret,
                        bool *has_ret)
{
    int64_t now = ms_meter_rtc_ms(v->m), to;
    int64_t unit = method == 1   ? 900000
                   : method == 2 ? (int64_t)v->md->demand_period_s * 1000
                                 : 60000;
    if (method <= 3) { /* to the nearest boundary */
        to = ms_floor_div(now + unit / 2, unit) * unit;
    } else if (method == 6) {
        int64_t s;
        if (!params || params->type != DLMS_LONG || dlms_data_to_i64(params, &s))
            return DLMS_ACTION_TYPE_UNMATCHED;
        if (s < -900 || s > 900)
            return DLMS_ACTION_OTHER_REASON;
        to = now + s * 1000;
    } else {
        return DLMS_ACTION_READ_WRITE_DENIED;
    }
    ms_meter_set_clock(v->m, to, cv_who(v, who));
    cv_commit(v);
    return DLMS_ACTION_SUCCESS;
}

static const cv_ops_t clock_ops = { clock_get, clock_set, clock_action };
static const cv_class_t cls_clock = { .class_id = 8,
                                      .version = 0,
                                      .nattr = 9,
                                      .nmeth = 6,
                                      .write_mask = BIT(2),
                                      .meth_mask = BIT(1) | BIT(2) | BIT(3) | BIT(6),
                                      .ops = &clock_ops };

/* ---- Association LN (class 15, version 1) --------------------------------------------
 */

/* application context names and mechanism names: the BER encodings of the Green Book
 * object identifiers {joint-iso-ccitt(2) country(16) country-name(756) identified-
 * organization(5) DLMS-UA(8) application-context(1) | authentication-mechanism-name(2)
 * x} */
static const uint8_t ctx_ln[7] = { 0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x01 };
static const uint8_t ctx_ln_ciph[7] = { 0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x03 };

static void object_list(ms_cosem_t *v, ms_dlms_access_t acc, ms_wr_t *w)
{
    uint32_t n = 0;
    for (size_t i = 0; i < v->nobj; i++)
        n += v->obj[i].min_access <= acc;
    ax_array(w, n);
    for (size_t i = 0; i < v->nobj && !w->err; i++) {
        const cv_obj_t *o = &v->obj[i];
        const cv_class_t *c = o->cls;
        if (o->min_access > acc)
            continue;
        ax_struct(w, 4);
        ax_uint(w, DLMS_LONG_UNSIGNED, c->class_id);
        ax_uint(w, DLMS_UNSIGNED, c->version);
        ax_obis(w, &o->ln);
        ax_struct(w, 2);
        ax_array(w, c->nattr);
        for (int a = 1; a <= c->nattr; a++) {
            bool r = can_read(o, a, acc), wr = can_write(o, a, acc);
            ax_struct(w, 3);
            ax_int(w, DLMS_INTEGER, a);
            /* access_mode: 0 no_access, 1 read_only, 2 write_only, 3 read_and_write */
            ax_uint(w, DLMS_ENUM, (r ? 1u : 0u) | (wr ? 2u : 0u));
            if (c->sel_mask & BIT(a)) {
                uint32_t ns = 0;
                for (int s = 1; s < 8; s++)
                    ns += (c->selectors >> s) & 1;
                ax_array(w, ns);
                for (int s = 1; s < 8; s++)
                    if ((c->selectors >> s) & 1)
                        ax_int(w, DLMS_INTEGER, s);
            } else {
                ax_null(w);
            }
        }
        ax_array(w, c->nmeth);
        for (int mth = 1; mth <= c->nmeth; mth++) {
            ax_struct(w, 2);
            ax_int(w, DLMS_INTEGER, mth);
            ax_uint(w, DLMS_ENUM, can_invoke(o, mth, acc) ? 1 : 0); /* 1 access */
        }
    }
}

static int association_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                           int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    /* arg: the client index, or 0xFF for the current association (0.0.40.0.0.255) */
    bool current = o->arg == 0xFF;
    int ci = current ? client_index(v, who->client_sap) : o->arg;
    if (ci < 0)
        return DLMS_DAR_OBJECT_UNAVAILABLE;
    const ms_dlms_client_t *cl = &v->md->dlms.clients[ci];
    ms_dlms_access_t acc = current ? access_of(v, who) : (ms_dlms_access_t)cl->access;
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2:
        object_list(v, acc, w);
        break;
    case 3: /* associated_partners_id */
        ax_struct(w, 2);
        ax_int(w, DLMS_INTEGER, (int8_t)cl->sap);
        ax_uint(w, DLMS_LONG_UNSIGNED, v->md->dlms.logical_device);
        break;
    case 4: /* application_context_name */
        ax_octets(w, cl->ciphered && cl->policy ? ctx_ln_ciph : ctx_ln, 7);
        break;
    case 5: { /* xDLMS_context_info */
        uint8_t conf[3] = { (uint8_t)(DLMS_SERVER_CONFORMANCE_DEFAULT >> 16),
                            (uint8_t)(DLMS_SERVER_CONFORMANCE_DEFAULT >> 8),
                            (uint8_t)DLMS_SERVER_CONFORMANCE_DEFAULT };
        ax_struct(w, 6);
        ax_tag(w, DLMS_BIT_STRING);
        axdr_write_length(w, 24);
        ms_wr_bytes(w, conf, 3);
        ax_uint(w, DLMS_LONG_UNSIGNED, v->md->dlms.max_pdu);
        ax_uint(w, DLMS_LONG_UNSIGNED, v->md->dlms.max_pdu);
        ax_uint(w, DLMS_UNSIGNED, DLMS_VERSION);
        ax_int(w, DLMS_INTEGER, 0);
        ax_octets(w, NULL, 0);
        break;
    }
    case 6: { /* authentication_mechanism_name */
        const uint8_t mech[7] = { 0x60, 0x85, 0x74, 0x05, 0x08, 0x02, cl->mechanism };
        ax_octets(w, mech, 7);
        break;
    }
    case 8: /* association_status: associated (the asking client's own association) */
        ax_uint(w, DLMS_ENUM, current ? 2 : 0);
        break;
    case 9: { /* security_setup_reference */
        ms_obis_t ss = { 0, 0, 43, 0, (uint8_t)(ci + 1), 255 };
        if (cl->ciphered)
            ax_obis(w, &ss);
        else
            ax_octets(w, NULL, 0);
        break;
    }
    default:
        return DLMS_DAR_READ_WRITE_DENIED;
    }
    return 0;
}

static const cv_ops_t association_ops = { association_get, NULL, NULL };
/* Method 1 reply_to_HLS_authentication is the session's (dlms_server.h); 2..6 (change
 * secret, add/remove object, add/remove user) are not offered. Attribute 7 (secret) is
 * write-only and not writable here: the secrets come from the model. */
static const cv_class_t cls_association = { .class_id = 15,
                                            .version = 1,
                                            .nattr = 9,
                                            .nmeth = 4,
                                            .noread_mask = BIT(7),
                                            .public_meth = BIT(1),
                                            .ops = &association_ops };

/* ---- SAP assignment (class 17)
 * --------------------------------------------------------- */

static int sap_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                   const dlms_access_sel_t *sel, ms_wr_t *w)
{
    if (attr == 1) {
        ax_obis(w, &o->ln);
        return 0;
    }
    char name[17];
    ldn(v, name);
    ax_array(w, 1);
    ax_struct(w, 2);
    ax_uint(w, DLMS_LONG_UNSIGNED, v->md->dlms.logical_device);
    ax_octets(w, name, strlen(name));
    return 0;
}

static const cv_ops_t sap_ops = { sap_get, NULL, NULL };
static const cv_class_t cls_sap = {
    .class_id = 17, .version = 0, .nattr = 2, .nmeth = 1, .ops = &sap_ops
};

/* ---- IEC local port setup (19), IEC HDLC setup (23), Security setup (64) --------------
 */

/* baud enum of Blue Book 4.8.1: 0 300, 1 600, 2 1200, 3 2400, 4 4800, 5 9600, 6 19200 */
static unsigned baud_enum(unsigned baud)
{
    unsigned e = 0;
    for (unsigned b = 300; b < baud && e < 9; b *= 2)
        e++;
    return e;
}

static int iec_port_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                        const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_model_iec21_t *x = &v->md->iec21;
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* default_mode: IEC 62056-21 (modes A..E) */
        ax_uint(w, DLMS_ENUM, 0);
        break;
    case 3: /* default_baud */
        ax_uint(w, DLMS_ENUM, x->session.mode == 'D' ? baud_enum(x->baud) : 0);
        break;
    case 4: /* prop_baud */
        ax_uint(w, DLMS_ENUM, baud_enum(x->baud));
        break;
    case 5: /* response_time: 0 = 20 ms, 1 = 200 ms */
        ax_uint(w, DLMS_ENUM,
                x->session.reaction_ms && x->session.reaction_ms < 200 ? 0 : 1);
        break;
    case 6:
        ax_octets(w, x->session.address, strlen(x->session.address));
        break;
    case 7:
        ax_octets(w, x->password_p1, strlen(x->password_p1));
        break;
    default: /* pass_p2, pass_w5: none */
        ax_octets(w, NULL, 0);
        break;
    }
    return 0;
}

static const cv_ops_t iec_port_ops = { iec_port_get, NULL, NULL };
static const cv_class_t cls_iec_port = { .class_id = 19,
                                         .version = 1,
                                         .nattr = 9,
                                         .secret_mask = BIT(7) | BIT(8) | BIT(9),
                                         .ops = &iec_port_ops };

static int hdlc_setup_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                          int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_model_dlms_t *d = &v->md->dlms;
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* comm_speed */
        ax_uint(w, DLMS_ENUM, baud_enum(v->md->iec21.baud));
        break;
    case 3:
    case 4:
        ax_uint(w, DLMS_UNSIGNED, d->hdlc_window);
        break;
    case 5:
    case 6:
        ax_uint(w, DLMS_LONG_UNSIGNED, d->hdlc_max_info);
        break;
    case 7:
        ax_uint(w, DLMS_LONG_UNSIGNED, d->hdlc_inter_octet_ms);
        break;
    case 8:
        ax_uint(w, DLMS_LONG_UNSIGNED, d->hdlc_inactivity_s);
        break;
    case 9:
        ax_uint(w, DLMS_LONG_UNSIGNED, d->physical_address);
        break;
    }
    return 0;
}

static const cv_ops_t hdlc_setup_ops = { hdlc_setup_get, NULL, NULL };
static const cv_class_t cls_hdlc_setup = {
    .class_id = 23, .version = 1, .nattr = 9, .ops = &hdlc_setup_ops
};

static int security_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                        const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_dlms_client_t *cl = &v->md->dlms.clients[o->arg];
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* security_policy (version 0): 0 nothing, 1 authenticated, 2 encrypted,
               3 both */
        ax_uint(w, DLMS_ENUM, cl->policy);
        break;
    case 3: /* security_suite 0: AES-GCM-128 */
        ax_uint(w, DLMS_ENUM, 0);
        break;
    case 4:
        ax_octets(w, cl->has_title ? cl->client_title : NULL, cl->has_title ? 8 : 0);
        break;
    case 5:
        ax_octets(w, v->md->dlms.system_title, 8);
        break;
    }
    return 0;
}

static const cv_ops_t security_ops = { security_get, NULL, NULL };
/* Methods 1 security_activate and 2 global_key_transfer: the keys come from the model
 * (choice: not changeable over the air in this version). */
static const cv_class_t cls_security = {
    .class_id = 64, .version = 0, .nattr = 5, .nmeth = 2, .ops = &security_ops
};

/* ---- Disconnect control (class 70), Limiter (class 71) --------------------------------
 */

static int disconnect_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                          int attr, const dlms_access_sel_t *sel, ms_wr_t *w)
{
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2:
        ax_uint(w, DLMS_BOOLEAN, ms_meter_output(v->m));
        break;
    case 3:
        ax_uint(w, DLMS_ENUM, v->m->breaker);
        break;
    case 4:
        ax_uint(w, DLMS_ENUM, v->md->breaker_mode);
        break;
    }
    return 0;
}

/* Methods 1 remote_disconnect, 2 remote_reconnect (data: integer 0). */
static int disconnect_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                             int method, const dlms_data_t *params, ms_wr_t *ret,
                             bool *has_ret)
{
    if (params && params->type != DLMS_INTEGER)
        return DLMS_ACTION_TYPE_UNMATCHED;
    int rc = ms_meter_breaker(
        v->m, method == 1 ? MS_BREAKER_REMOTE_DISCONNECT : MS_BREAKER_REMOTE_RECONNECT,
        cv_who(v, who));
    if (rc == MS_ESTATE)
        return DLMS_ACTION_OTHER_REASON;
    if (rc == MS_EBUSY)
        return DLMS_ACTION_TEMPORARY_FAILURE;
    cv_commit(v);
    return DLMS_ACTION_SUCCESS;
}

static const cv_ops_t disconnect_ops = { disconnect_get, NULL, disconnect_action };
static const cv_class_t cls_disconnect = { .class_id = 70,
                                           .version = 0,
                                           .nattr = 4,
                                           .nmeth = 2,
                                           .meth_mask = BIT(1) | BIT(2),
                                           .ops = &disconnect_ops };

static void ax_script_ref(ms_wr_t *w, uint8_t e, unsigned selector)
{
    const ms_obis_t ln = { 0, 0, 10, 0, e, 255 };
    ax_struct(w, 2);
    ax_obis(w, &ln);
    ax_uint(w, DLMS_LONG_UNSIGNED, selector);
}

static int limiter_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                       const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const ms_meter_t *m = v->m;
    const ms_obis_t power = { 1, 0, 1, 7, 0, 255 };
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* monitored_value: the active power import register's value */
        ax_struct(w, 3);
        ax_uint(w, DLMS_LONG_UNSIGNED, 3);
        ax_obis(w, &power);
        ax_int(w, DLMS_INTEGER, 2);
        break;
    case 3: /* threshold_active: the monitored value's type (W) */
    case 4: /* threshold_normal */
        ax_int(w, DLMS_DOUBLE_LONG, m->limiter_mw / 1000);
        break;
    case 5: /* threshold_emergency: none */
        ax_int(w, DLMS_DOUBLE_LONG, 0);
        break;
    case 6:
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, (uint64_t)(m->limiter_over_ms / 1000));
        break;
    case 7:
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, 0);
        break;
    case 8: /* emergency_profile: none */
        ax_struct(w, 3);
        ax_uint(w, DLMS_LONG_UNSIGNED, 0);
        cv_datetime(v, 0, 0, w);
        ax_uint(w, DLMS_DOUBLE_LONG_UNSIGNED, 0);
        break;
    case 9:
        ax_array(w, 0);
        break;
    case 10:
        ax_uint(w, DLMS_BOOLEAN, 0);
        break;
    case 11: /* actions: over threshold the disconnect script 1, under it none */
        ax_struct(w, 2);
        ax_script_ref(w, 106, 1);
        ax_script_ref(w, 106, 0);
        break;
    }
    return 0;
}

static int limiter_set(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                       const dlms_data_t *val)
{
    int64_t x;
    if (dlms_data_to_i64(val, &x) ||
        val->type != (attr == 4 ? DLMS_DOUBLE_LONG : DLMS_DOUBLE_LONG_UNSIGNED))
        return DLMS_DAR_TYPE_UNMATCHED;
    if (x < 0)
        return DLMS_DAR_OTHER_REASON;
    ms_meter_t *m = v->m;
    if (attr == 4)
        ms_meter_set_limiter(m, x * 1000, m->limiter_over_ms, cv_who(v, who));
    else
        ms_meter_set_limiter(m, m->limiter_mw, x * 1000, cv_who(v, who));
    cv_commit(v);
    return 0;
}

static const cv_ops_t limiter_ops = { limiter_get, limiter_set, NULL };
static const cv_class_t cls_limiter = { .class_id = 71,
                                        .version = 0,
                                        .nattr = 11,
                                        .write_mask = BIT(4) | BIT(6),
                                        .ops = &limiter_ops };

/* ---- Push setup (class 40, version 0) ------------------------------------------------
 */

/* The pushed objects (IDIS style: the logical device name, the clock, A+). */
static const struct {
    uint16_t class_id;
    ms_obis_t ln;
    int8_t attr;
} push_objects[] = {
    { 1, { 0, 0, 42, 0, 0, 255 }, 2 },
    { 8, { 0, 0, 1, 0, 0, 255 }, 2 },
    { 3, { 1, 0, 1, 8, 0, 255 }, 2 },
};
#define N_PUSH (sizeof push_objects / sizeof push_objects[0])

static int push_get(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who, int attr,
                    const dlms_access_sel_t *sel, ms_wr_t *w)
{
    const char *dest = v->md->dlms.push_destination;
    switch (attr) {
    case 1:
        ax_obis(w, &o->ln);
        break;
    case 2: /* push_object_list */
        ax_array(w, N_PUSH);
        for (size_t i = 0; i < N_PUSH; i++)
            ax_capture_def(w, push_objects[i].class_id, &push_objects[i].ln,
                           push_objects[i].attr);
        break;
    case 3: /* send_destination_and_method: TCP, "HOST:PORT", A-XDR encoded xDLMS APDU */
        ax_struct(w, 3);
        ax_uint(w, DLMS_ENUM, 0);
        ax_octets(w, dest, strlen(dest));
        ax_uint(w, DLMS_ENUM, 0);
        break;
    case 4: /* communication_window: none (always) */
        ax_array(w, 0);
        break;
    case 5: /* randomisation_start_interval */
    case 7: /* repetition_delay */
        ax_uint(w, DLMS_LONG_UNSIGNED, 0);
        break;
    case 6: /* number_of_retries */
        ax_uint(w, DLMS_UNSIGNED, 0);
        break;
    }
    return 0;
}

/* Method 1 push (integer 0): a DATA-NOTIFICATION (Green Book: long-invoke-id-and-
 * priority, date-time as an octet string, notification-body = structure of the pushed
 * attributes' values) to the destination. */
static int push_action(ms_cosem_t *v, const cv_obj_t *o, const dlms_who_t *who,
                       int method, const dlms_data_t *params, ms_wr_t *ret, bool *has_ret)
{
    const char *dest = v->md->dlms.push_destination;
    if (!dest[0] || !v->h.push)
        return DLMS_ACTION_OTHER_REASON;
    static uint8_t buf[4096];
    ms_wr_t w;
    ms_wr_init(&w, buf, sizeof buf);
    ms_wr_u8(&w, DLMS_TAG_DATA_NOTIFICATION);
    ms_wr_u32be(&w, ++v->push_invoke_id & 0x00FFFFFFu);
    uint8_t dt[DLMS_DATE_TIME_LEN + 2];
    ms_wr_t dw;
    ms_wr_init(&dw, dt, sizeof dt);
    cv_datetime(v, ms_meter_rtc_ms(v->m), 0, &dw);   /* 09 0C + 12 octets */
    ms_wr_bytes(&w, dt + 1, DLMS_DATE_TIME_LEN + 1); /* OCTET STRING: 0C + 12 octets */
    ax_struct(&w, N_PUSH);
    for (size_t i = 0; i < N_PUSH; i++) {
        const cv_obj_t *po = cv_find(v, &push_objects[i].ln);
        if (!po || po->cls->ops->get(v, po, who, push_objects[i].attr, NULL, &w))
            ax_null(&w);
    }
    if (w.err)
        return DLMS_ACTION_OTHER_REASON;
    return v->h.push(v->h.ud, dest, buf, w.len) == 0 ? DLMS_ACTION_SUCCESS
                                                     : DLMS_ACTION_TEMPORARY_FAILURE;
}

static const cv_ops_t push_ops = { push_get, NULL, push_action };
static const cv_class_t cls_push = { .class_id = 40,
                                     .version = 0,
                                     .nattr = 7,
                                     .nmeth = 1,
                                     .meth_mask = BIT(1),
                                     .ops = &push_ops };

/* ---- building the table ------------------------------------------------------------ */

static int add_data(ms_cosem_t *v, ms_obis_t ln, uint8_t acc, unsigned kind, unsigned arg)
{
    return cv_add(v, &cls_data, ln, acc, (uint16_t)(kind | arg << 8));
}

static int build(ms_cosem_t *v)
{
    const ms_model_t *md = v->md;
    const int nr =
        md->calendar.nrates > v->m->cal->nrates ? md->calendar.nrates : v->m->cal->nrates;
    int rc = 0;
    /* association objects: the current one for every client, every client's own for
     * the managing client */
    rc |= cv_add(v, &cls_association, MS_OBIS(0, 0, 40, 0, 0, 255), MS_DLMS_PUBLIC, 0xFF);
    for (size_t i = 0; i < md->dlms.nclients; i++) {
        rc |= cv_add(v, &cls_association, MS_OBIS(0, 0, 40, 0, (uint8_t)(i + 1), 255),
                     MS_DLMS_MANAGE, (uint16_t)i);
        if (md->dlms.clients[i].ciphered) {
            rc |= cv_add(v, &cls_security, MS_OBIS(0, 0, 43, 0, (uint8_t)(i + 1), 255),
                         MS_DLMS_READ, (uint16_t)i);
            rc |= add_data(v, MS_OBIS(0, 0, 43, 1, (uint8_t)(i + 1), 255), MS_DLMS_PUBLIC,
                           D_IC, (unsigned)i);
        }
    }
    rc |= cv_add(v, &cls_sap, MS_OBIS(0, 0, 41, 0, 0, 255), MS_DLMS_PUBLIC, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 42, 0, 0, 255), MS_DLMS_PUBLIC, D_LDN, 0);
    rc |= cv_add(v, &cls_clock, MS_OBIS(0, 0, 1, 0, 0, 255), MS_DLMS_PUBLIC, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 96, 1, 0, 255), MS_DLMS_PUBLIC, D_SERIAL, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 96, 1, 1, 255), MS_DLMS_PUBLIC, D_PROPERTY, 0);
    rc |= add_data(v, MS_OBIS(1, 0, 0, 2, 0, 255), MS_DLMS_PUBLIC, D_FIRMWARE, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 0, 1, 0, 255), MS_DLMS_READ, D_BILLING_CNT, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 96, 14, 0, 255), MS_DLMS_PUBLIC, D_TARIFF, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 97, 97, 0, 255), MS_DLMS_READ, D_ERROR, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 96, 10, 1, 255), MS_DLMS_READ, D_STATUS, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 96, 7, 19, 255), MS_DLMS_READ, D_PF_DURATION, 0);
    rc |= add_data(v, MS_OBIS(0, 0, 96, 7, 21, 255), MS_DLMS_READ, D_PF_COUNT, 0);
    static const uint8_t logs[] = { MS_LOG_STANDARD, MS_LOG_DISCONNECT, MS_LOG_CLOCK,
                                    MS_LOG_CONFIG };
    for (size_t i = 0; i < sizeof logs; i++)
        rc |= add_data(v, MS_OBIS(0, 0, 96, 11, log_code_e[logs[i]], 255), MS_DLMS_READ,
                       D_EVENT_CODE, logs[i]);
    /* energy registers of every rate, maximum and cumulative demand, instantaneous */
    for (uint8_t q = 0; q < MS_E_COUNT; q++)
        for (uint8_t r = 0; r <= nr; r++)
            rc |= cv_add(v, &cls_register, MS_OBIS(1, 0, (uint8_t)(q + 1), 8, r, 255),
                         MS_DLMS_PUBLIC, 0);
    for (uint8_t q = 0; q < MS_DIR_COUNT; q++) {
        for (uint8_t r = 0; r <= nr; r++) {
            rc |= cv_add(v, &cls_ext_register, MS_OBIS(1, 0, (uint8_t)(q + 1), 6, r, 255),
                         MS_DLMS_READ, 0);
            rc |= cv_add(v, &cls_register, MS_OBIS(1, 0, (uint8_t)(q + 1), 2, r, 255),
                         MS_DLMS_READ, 0);
        }
        rc |= cv_add(v, &cls_demand_register, MS_OBIS(1, 0, (uint8_t)(q + 1), 4, 0, 255),
                     MS_DLMS_READ, q);
    }
    static const uint8_t instant_c[] = { 1, 2, 13, 14, 31, 32 };
    for (size_t i = 0; i < sizeof instant_c; i++)
        rc |= cv_add(v, &cls_register, MS_OBIS(1, 0, instant_c[i], 7, 0, 255),
                     MS_DLMS_PUBLIC, 0);
    if (md->phases == 3) {
        static const uint8_t c3[] = { 21, 22, 41, 42, 51, 52, 61, 62, 71, 72 };
        for (size_t i = 0; i < sizeof c3; i++)
            rc |= cv_add(v, &cls_register, MS_OBIS(1, 0, c3[i], 7, 0, 255),
                         MS_DLMS_PUBLIC, 0);
    }
    /* profiles, with the interval registers (D = 29) their delta channels name */
    for (size_t p = 0; p < md->nprofiles; p++) {
        const ms_profile_def_t *pd = &md->profiles[p];
        rc |= cv_add(v, &cls_profile, pd->obis, MS_DLMS_READ, (uint16_t)p);
        for (unsigned k = 0; k < pd->nch; k++) {
            if (pd->ch_kind[k] != MS_CH_DELTA)
                continue;
            ms_obis_t ln = pd->ch[k];
            ln.d = 29;
            /* duplicates (two profiles naming one) are removed after sorting */
            rc |= cv_add(v, &cls_register, ln, MS_DLMS_READ, (uint16_t)(p << 8 | k));
        }
    }
    rc |= cv_add(v, &cls_billing_profile, MS_OBIS(0, 0, 98, 1, 0, 255), MS_DLMS_READ,
                 PG_BILLING);
    /* event logs: IDIS standard event log and disconnector control log, the power
     * failure event log of DSMR; choice: clock and configuration (audit trail) logs at
     * 0.0.99.98.6 and .7 */
    rc |= cv_add(v, &cls_profile, MS_OBIS(0, 0, 99, 98, 0, 255), MS_DLMS_READ,
                 PG_LOG + MS_LOG_STANDARD);
    rc |= cv_add(v, &cls_profile, MS_OBIS(0, 0, 99, 98, 2, 255), MS_DLMS_READ,
                 PG_LOG + MS_LOG_DISCONNECT);
    rc |= cv_add(v, &cls_profile, MS_OBIS(0, 0, 99, 98, 6, 255), MS_DLMS_READ,
                 PG_LOG + MS_LOG_CLOCK);
    rc |= cv_add(v, &cls_profile, MS_OBIS(0, 0, 99, 98, 7, 255), MS_DLMS_READ,
                 PG_LOG + MS_LOG_CONFIG);
    rc |= cv_add(v, &cls_profile, MS_OBIS(1, 0, 99, 97, 0, 255), MS_DLMS_READ,
                 PG_LOG + MS_LOG_POWER);
    rc |= cv_add(v, &cls_disconnect, MS_OBIS(0, 0, 96, 3, 10, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cls_limiter, MS_OBIS(0, 0, 17, 0, 0, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cls_iec_port, MS_OBIS(0, 0, 20, 0, 0, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cls_hdlc_setup, MS_OBIS(0, 0, 22, 0, 0, 255), MS_DLMS_READ, 0);
    rc |= cv_add(v, &cls_push, MS_OBIS(0, 0, 25, 9, 0, 255), MS_DLMS_READ, 0);
    if (rc)
        return MS_ENOMEM;
    if ((rc = cv_add_calendar_objects(v)))
        return rc;
    qsort(v->obj, v->nobj, sizeof *v->obj, obj_cmp);
    /* drop exact duplicates (the same interval register named by two profiles) */
    size_t k = 0;
    for (size_t i = 0; i < v->nobj; i++)
        if (k == 0 || obj_cmp(&v->obj[k - 1], &v->obj[i]) != 0)
            v->obj[k++] = v->obj[i];
    v->nobj = k;
    return 0;
}

/* ---- the dlms_server_ops_t callbacks ---------------------------------------------- */

static int op_association(void *ctx, uint16_t client_sap, uint16_t server_sap,
                          dlms_assoc_cfg_t *out)
{
    ms_cosem_t *v = ctx;
    int i = client_index(v, client_sap);
    if (i < 0 || server_sap != v->md->dlms.logical_device)
        return MS_ENOENT;
    const ms_dlms_client_t *cl = &v->md->dlms.clients[i];
    out->mechanism = (dlms_mechanism_t)cl->mechanism;
    out->password_len = strlen(cl->password);
    memcpy(out->password, cl->password, out->password_len);
    if (cl->ciphered) {
        memcpy(out->ek, cl->ek, 16);
        memcpy(out->ak, cl->ak, 16);
    }
    memcpy(out->server_title, v->md->dlms.system_title, 8);
    out->policy = cl->ciphered ? cl->policy : 0;
    out->max_pdu = v->md->dlms.max_pdu;
    const uint8_t ln[6] = { 0, 0, 40, 0, 0, 255 };
    memcpy(out->logical_name, ln, 6);
    out->has_client_title = cl->has_title;
    memcpy(out->client_title, cl->client_title, 8);
    return 0;
}

static int op_get(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
                  ms_wr_t *out)
{
    ms_cosem_t *v = ctx;
    sync_meter(v);
    ms_dlms_access_t acc = access_of(v, who);
    const cv_obj_t *o = NULL;
    int dar = resolve(v, acc, sel->desc.class_id, &sel->desc.instance_id, &o);
    if (dar)
        return dar;
    int a = sel->desc.attribute_id;
    if (a < 1 || a > o->cls->nattr)
        return DLMS_DAR_OBJECT_UNAVAILABLE;
    if (!can_read(o, a, acc))
        return DLMS_DAR_READ_WRITE_DENIED;
    if (sel->access.present && !(o->cls->sel_mask & BIT(a)))
        return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
    return o->cls->ops->get(v, o, who, a, &sel->access, out);
}

static int op_set(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
                  const dlms_data_t *value)
{
    ms_cosem_t *v = ctx;
    sync_meter(v);
    ms_dlms_access_t acc = access_of(v, who);
    const cv_obj_t *o = NULL;
    int dar = resolve(v, acc, sel->desc.class_id, &sel->desc.instance_id, &o);
    if (dar)
        return dar;
    int a = sel->desc.attribute_id;
    if (a < 1 || a > o->cls->nattr)
        return DLMS_DAR_OBJECT_UNAVAILABLE;
    if (!can_write(o, a, acc) || !o->cls->ops->set)
        return DLMS_DAR_READ_WRITE_DENIED;
    return o->cls->ops->set(v, o, who, a, value);
}

static int op_action(void *ctx, const dlms_who_t *who, const dlms_method_desc_t *m,
                     const dlms_data_t *params, ms_wr_t *ret, bool *has_ret)
{
    ms_cosem_t *v = ctx;
    sync_meter(v);
    ms_dlms_access_t acc = access_of(v, who);
    const cv_obj_t *o = NULL;
    int dar = resolve(v, acc, m->class_id, &m->instance_id, &o);
    if (dar)
        return dar; /* the Action-Result codes equal the Data-Access-Result ones */
    int k = m->method_id;
    if (k < 1 || k > o->cls->nmeth)
        return DLMS_ACTION_OBJECT_UNAVAILABLE;
    if (!can_invoke(o, k, acc) || !o->cls->ops->action)
        return DLMS_ACTION_READ_WRITE_DENIED;
    *has_ret = false;
    return o->cls->ops->action(v, o, who, k, params, ret, has_ret);
}

static void op_random(void *ctx, uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = getrandom(buf, n, 0);
        if (k <= 0)
            continue;
        buf += k;
        n -= (size_t)k;
    }
}

static void persist_ic(ms_cosem_t *v, int i)
{
    if (v->h.ic_persist)
        v->h.ic_persist(v->h.ud, v->md->dlms.clients[i].sap, v->ic_tx[i],
                        v->ic_rx_next[i]);
}

static uint32_t op_ic_next(void *ctx, uint16_t client_sap)
{
    ms_cosem_t *v = ctx;
    int i = client_index(v, client_sap);
    if (i < 0)
        return 0;
    uint32_t ic = v->ic_tx[i]++;
    persist_ic(v, i);
    return ic;
}

static int op_ic_check(void *ctx, uint16_t client_sap, uint32_t ic)
{
    ms_cosem_t *v = ctx;
    int i = client_index(v, client_sap);
    if (i < 0)
        return MS_EREPLAY;
    return ic >= v->ic_rx_next[i] ? 0 : MS_EREPLAY;
}

static void op_ic_accept(void *ctx, uint16_t client_sap, uint32_t ic)
{
    ms_cosem_t *v = ctx;
    int i = client_index(v, client_sap);
    if (i < 0)
        return;
    if (ic == UINT32_MAX) /* the key set is used up: nothing more is accepted */
        v->ic_rx_next[i] = UINT32_MAX;
    else
        v->ic_rx_next[i] = ic + 1;
    persist_ic(v, i);
}

static void op_event(void *ctx, const dlms_who_t *who, const char *what)
{
    ms_cosem_t *v = ctx;
    if (v->h.event)
        v->h.event(v->h.ud, who ? who->client_sap : 0, what);
}

const dlms_server_ops_t ms_cosem_ops = {
    .association = op_association,
    .get = op_get,
    .set = op_set,
    .action = op_action,
    .random = op_random,
    .ic_next = op_ic_next,
    .ic_check = op_ic_check,
    .ic_accept = op_ic_accept,
    .event = op_event,
};

/* ---- life cycle -------------------------------------------------------------------- */

ms_cosem_t *ms_cosem_new(ms_meter_t *m, const ms_model_t *md,
                         const ms_cosem_hooks_t *hooks, int *err)
{
    ms_cosem_t *v = calloc(1, sizeof *v);
    if (!v) {
        *err = MS_ENOMEM;
        return NULL;
    }
    v->m = m;
    v->md = md;
    if (hooks)
        v->h = *hooks;
    for (size_t i = 0; i < MS_MODEL_MAX_CLIENTS; i++)
        v->ic_tx[i] = 1; /* choice: counters start at 1 */
    int rc = build(v);
    if (rc) {
        ms_cosem_free(v);
        *err = rc;
        return NULL;
    }
    return v;
}

void ms_cosem_free(ms_cosem_t *v)
{
    if (!v)
        return;
    free(v->obj);
    free(v->scratch);
    free(v->passive);
    free(v);
}

size_t ms_cosem_object_count(const ms_cosem_t *v)
{
    return v->nobj;
}

int ms_cosem_set_counters(ms_cosem_t *v, uint16_t client_sap, uint32_t tx_next,
                          uint32_t rx_next)
{
    int i = client_index(v, client_sap);
    if (i < 0)
        return MS_ENOENT;
    v->ic_tx[i] = tx_next;
    v->ic_rx_next[i] = rx_next;
    return 0;
}

int ms_cosem_get_counters(const ms_cosem_t *v, uint16_t client_sap, uint32_t *tx_next,
                          uint32_t *rx_next)
{
    int i = client_index(v, client_sap);
    if (i < 0)
        return MS_ENOENT;
    *tx_next = v->ic_tx[i];
    *rx_next = v->ic_rx_next[i];
    return 0;
}
