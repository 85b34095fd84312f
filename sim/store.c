/*
** store.c — persistence of meters in SQLite.
** SPDX-License-Identifier: MIT
**
** Rows hold fixed-layout records of this build (checked by a format number and the
** record size, so a state file from an incompatible build is refused, never misread).
*/
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "ms_err.h"

#define STORE_FORMAT 4
#define MAX_METERS   64 /* per-meter bookkeeping of what is already stored */

/* The meter's scalar state: ms_meter_t without pointers and rings. */
typedef struct core_rec {
    uint32_t format, size;
    ms_regs_t regs;
    int64_t t_ms;
    ms_rtc_t rtc;
    int64_t period_start_rtc;
    int64_t period_acc[MS_DIR_COUNT];
    int64_t window[MS_DIR_COUNT][MS_MAX_SUBPERIODS];
    uint32_t window_head;
    ms_demand_t demand[MS_DIR_COUNT][1 + MS_MAX_RATES];
    int64_t cum_demand_mw[MS_DIR_COUNT][1 + MS_MAX_RATES];
    uint32_t billing_count;
    int64_t next_billing_rtc;
    int64_t outage_end_ms, outage_start_ms;
    int64_t passive_activation_rtc;
    uint32_t error_flags;
    int32_t cal_slot, passive_slot; /* -1: the model's calendar / none */
    int64_t breaker_changed_ms, limiter_mw, limiter_over_ms, over_since_ms;
    uint32_t breaker;
    uint8_t powered, battery_ok, clock_invalid, tariff_frozen;
} core_rec_t;

typedef struct epoch_rec {
    uint32_t format, size;
    int64_t t_start;
    ms_rtc_t rtc;
    int32_t cal_slot;
    uint8_t powered, output, tariff_frozen, clock_invalid, first_status;
    ms_regs_t regs;
} epoch_rec_t;

typedef struct known {
    char id[32];
    uint64_t log_total[MS_LOG_COUNT];
    uint32_t billing_count;
    uint32_t epoch_gen, cal_gen;
    bool epochs_stored, cals_stored;
} known_t;

struct ms_store {
    sqlite3 *db;
    char path[512];
    known_t known[MAX_METERS];
    size_t nknown;
};

static int fail(char *msg, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *msg, size_t cap, int rc, const char *fmt, ...)
{
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS meter(id TEXT PRIMARY KEY, model TEXT, sim_ms INTEGER,"
    "  load_spec TEXT, core BLOB);"
    "CREATE TABLE IF NOT EXISTS epoch(meter TEXT, seq INTEGER, load_spec TEXT, rec BLOB,"
    "  PRIMARY KEY(meter, seq));"
    "CREATE TABLE IF NOT EXISTS event(meter TEXT, log INTEGER, seq INTEGER, rtc_ms "
    "INTEGER,"
    "  t_ms INTEGER, duration_ms INTEGER, code INTEGER, detail TEXT,"
    "  PRIMARY KEY(meter, log, seq));"
    "CREATE TABLE IF NOT EXISTS billing(meter TEXT, seq INTEGER, rec BLOB,"
    "  PRIMARY KEY(meter, seq));"
    "CREATE TABLE IF NOT EXISTS calendar(meter TEXT, slot INTEGER, rec BLOB,"
    "  PRIMARY KEY(meter, slot));"
    "CREATE TABLE IF NOT EXISTS ic(meter TEXT, sap INTEGER, tx_next INTEGER,"
    "  rx_next INTEGER, PRIMARY KEY(meter, sap));";

int ms_store_open(const char *path, ms_store_t **out, char *msg, size_t cap)
{
    ms_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ENOMEM;
    snprintf(s->path, sizeof s->path, "%s", path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        int rc = fail(msg, cap, MS_EIO, "--state %s: cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        ms_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *err = NULL;
    if (sqlite3_exec(s->db, schema, NULL, NULL, &err) != SQLITE_OK) {
        int rc = fail(msg, cap, MS_EIO, "--state %s: not a metersim state file (%s)",
                      path, err ? err : "?");
        sqlite3_free(err);
        ms_store_close(s);
        return rc;
    }
    /* format: written once, checked afterwards */
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%d/%zu/%zu", STORE_FORMAT, sizeof(core_rec_t),
             sizeof(epoch_rec_t));
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='format'", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *have = (const char *)sqlite3_column_text(st, 0);
        if (!have || strcmp(have, fmt) != 0) {
            int rc =
                fail(msg, cap, MS_EIO,
                     "--state %s: written by an incompatible metersim (format %s, this "
                     "build writes %s)",
                     path, have ? have : "?", fmt);
            sqlite3_finalize(st);
            ms_store_close(s);
            return rc;
        }
    } else {
        sqlite3_finalize(st);
        sqlite3_prepare_v2(s->db, "INSERT INTO meta VALUES('format', ?)", -1, &st, NULL);
        sqlite3_bind_text(st, 1, fmt, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    *out = s;
    return 0;
}

void ms_store_close(ms_store_t *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

static known_t *known_of(ms_store_t *s, const char *id)
{
    for (size_t i = 0; i < s->nknown; i++)
        if (!strcmp(s->known[i].id, id))
            return &s->known[i];
    if (s->nknown == MAX_METERS)
        return NULL;
    known_t *k = &s->known[s->nknown++];
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", id);
    return k;
}

static int slot_of(const ms_meter_t *m, const ms_calendar_t *c)
{
    if (!c || c == &m->model->calendar)
        return -1;
    for (int i = 0; i < (int)(sizeof m->cal_owned / sizeof m->cal_owned[0]); i++)
        if (m->cal_owned[i] == c)
            return i;
    return -1;
}

int ms_store_put_counters(ms_store_t *s, const char *id, uint16_t sap, uint32_t tx_next,
                          uint32_t rx_next, char *msg, size_t cap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO ic VALUES(?, ?, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(msg, cap, MS_EIO, "--state %s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, sap);
    sqlite3_bind_int64(st, 3, tx_next);
    sqlite3_bind_int64(st, 4, rx_next);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : MS_EIO;
    sqlite3_finalize(st);
    return rc ? fail(msg, cap, rc, "--state %s: invocation counters not written: %s",
                     s->path, sqlite3_errmsg(s->db))
              : 0;
}

int ms_store_restore_counters(ms_store_t *s, const char *id, ms_cosem_t *v, char *msg,
                              size_t cap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT sap, tx_next, rx_next FROM ic WHERE meter = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(msg, cap, MS_EIO, "--state %s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        ms_cosem_set_counters(v, (uint16_t)sqlite3_column_int(st, 0),
                              (uint32_t)sqlite3_column_int64(st, 1),
                              (uint32_t)sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return 0;
}

static int exec1(ms_store_t *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MS_EIO;
}

int ms_store_commit(ms_store_t *s, const ms_meter_t *m, char *msg, size_t cap)
{
    known_t *k = known_of(s, m->id);
    if (!k)
        return fail(msg, cap, MS_ENOMEM, "--state: too many meters");
    if (exec1(s, "BEGIN IMMEDIATE"))
        return fail(msg, cap, MS_EIO, "--state %s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_stmt *st = NULL;
    int ok = 1;

    core_rec_t c;
    memset(&c, 0, sizeof c); /* padding too: the record is compared and stored whole */
    c.format = STORE_FORMAT;
    c.size = sizeof c;
    c.regs = m->regs;
    c.t_ms = m->t_ms;
    c.rtc = m->rtc;
    c.period_start_rtc = m->period_start_rtc;
    memcpy(c.period_acc, m->period_acc, sizeof c.period_acc);
    memcpy(c.window, m->window, sizeof c.window);
    c.window_head = m->window_head;
    memcpy(c.demand, m->demand, sizeof c.demand);
    memcpy(c.cum_demand_mw, m->cum_demand_mw, sizeof c.cum_demand_mw);
    c.billing_count = m->billing_count;
    c.next_billing_rtc = m->next_billing_rtc;
    c.outage_end_ms = m->outage_end_ms;
    c.outage_start_ms = m->outage_start_ms;
    c.passive_activation_rtc = m->passive_activation_rtc;
    c.error_flags = m->error_flags;
    c.cal_slot = slot_of(m, m->cal);
    c.passive_slot = m->passive ? slot_of(m, m->passive) : -2;
    c.powered = m->powered;
    c.battery_ok = m->battery_ok;
    c.clock_invalid = m->clock_invalid;
    c.tariff_frozen = m->tariff_frozen;
    c.breaker = m->breaker;
    c.breaker_changed_ms = m->breaker_changed_ms;
    c.limiter_mw = m->limiter_mw;
    c.limiter_over_ms = m->limiter_over_ms;
    c.over_since_ms = m->over_since_ms;
    ok &= sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meter VALUES(?,?,?,?,?)", -1,
                             &st, NULL) == SQLITE_OK;
    sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->model->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, m->t_ms);
    sqlite3_bind_text(st, 4, ms_load_spec(m->load), -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, &c, sizeof c, SQLITE_STATIC);
    ok &= sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);

    /* new events: those with a sequence number above what is stored */
    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO event VALUES(?,?,?,?,?,?,?,?)", -1,
                       &st, NULL);
    for (int l = 0; l < MS_LOG_COUNT && ok; l++) {
        const ms_ring_t *r = &m->logs[l];
        uint64_t first = r->total - r->n; /* sequence number of the oldest kept */
        for (uint32_t i = 0; i < r->n; i++) {
            uint64_t seq = first + i;
            if (seq < k->log_total[l])
                continue;
            const ms_event_rec_t *e = ms_meter_event(m, (ms_log_id_t)l, i);
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, l);
            sqlite3_bind_int64(st, 3, (sqlite3_int64)seq);
            sqlite3_bind_int64(st, 4, e->rtc_ms);
            sqlite3_bind_int64(st, 5, e->t_ms);
            sqlite3_bind_int64(st, 6, e->duration_ms);
            sqlite3_bind_int(st, 7, e->code);
            sqlite3_bind_text(st, 8, e->detail, -1, SQLITE_STATIC);
            ok &= sqlite3_step(st) == SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);

    /* new billing snapshots: sequence = the billing counter after the reset */
    sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO billing VALUES(?,?,?)", -1, &st,
                       NULL);
    for (uint32_t i = 0; i < m->billing_n && ok; i++) {
        const ms_billing_rec_t *b = ms_meter_billing(m, i);
        if (b->counter <= k->billing_count)
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, b->counter);
        sqlite3_bind_blob(st, 3, b, sizeof *b, SQLITE_STATIC);
        ok &= sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);

    /* calendars, when they changed */
    if (ok && (!k->cals_stored || k->cal_gen != m->cal_gen)) {
        sqlite3_prepare_v2(s->db, "DELETE FROM calendar WHERE meter=?", -1, &st, NULL);
        sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        ok &= sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
        sqlite3_prepare_v2(s->db, "INSERT INTO calendar VALUES(?,?,?)", -1, &st, NULL);
        for (int i = 0; i < (int)(sizeof m->cal_owned / sizeof m->cal_owned[0]) && ok;
             i++) {
            if (!m->cal_owned[i])
                continue;
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, i);
            sqlite3_bind_blob(st, 3, m->cal_owned[i], sizeof(ms_calendar_t),
                              SQLITE_STATIC);
            ok &= sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    /* epochs, when they changed */
    if (ok && (!k->epochs_stored || k->epoch_gen != m->epoch_gen)) {
        sqlite3_prepare_v2(s->db, "DELETE FROM epoch WHERE meter=?", -1, &st, NULL);
        sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        ok &= sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
        sqlite3_prepare_v2(s->db, "INSERT INTO epoch VALUES(?,?,?,?)", -1, &st, NULL);
        for (uint32_t i = 0; i < m->nepochs && ok; i++) {
            const ms_epoch_t *e = &m->epochs[i];
            epoch_rec_t r;
            memset(&r, 0, sizeof r);
            r.format = STORE_FORMAT;
            r.size = sizeof r;
            r.t_start = e->t_start;
            r.rtc = e->rtc;
            r.cal_slot = slot_of(m, e->cal);
            r.powered = e->powered;
            r.output = e->output;
            r.tariff_frozen = e->tariff_frozen;
            r.clock_invalid = e->clock_invalid;
            r.first_status = e->first_status;
            r.regs = e->regs;
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, (int)i);
            sqlite3_bind_text(st, 3, ms_load_spec(e->load), -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 4, &r, sizeof r, SQLITE_TRANSIENT);
            ok &= sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    if (!ok || exec1(s, "COMMIT")) {
        int rc = fail(msg, cap, MS_EIO, "--state %s: commit failed: %s", s->path,
                      sqlite3_errmsg(s->db));
        exec1(s, "ROLLBACK");
        return rc;
    }
    /* what is stored now */
    for (int l = 0; l < MS_LOG_COUNT; l++)
        k->log_total[l] = m->logs[l].total;
    k->billing_count = m->billing_count;
    k->epoch_gen = m->epoch_gen;
    k->cal_gen = m->cal_gen;
    k->epochs_stored = k->cals_stored = true;
    return 0;
}

/* Loads re-created from their specifications, shared by equal specifications. */
typedef struct loads {
    ms_load_t *l[64];
    size_t n;
} loads_t;

static ms_load_t *load_for(loads_t *ls, ms_meter_t *m, const char *spec, char *msg,
                           size_t cap)
{
    if (!strcmp(spec, ms_load_spec(m->load)))
        return ms_load_retain(m->load);
    for (size_t i = 0; i < ls->n; i++)
        if (!strcmp(spec, ms_load_spec(ls->l[i])))
            return ms_load_retain(ls->l[i]);
    int err;
    ms_load_t *l = ms_load_from_spec(spec, &err, msg, cap);
    if (!l)
        return NULL;
    if (ls->n < 64)
        ls->l[ls->n++] = ms_load_retain(l);
    return l;
}

int ms_store_restore(ms_store_t *s, ms_meter_t *m, bool keep_load, int64_t *sim_ms,
                     char *msg, size_t cap)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s->db,
                       "SELECT model, sim_ms, load_spec, core FROM meter WHERE id=?", -1,
                       &st, NULL);
    sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return MS_ENOENT;
    }
    const char *model = (const char *)sqlite3_column_text(st, 0);
    if (!model || strcmp(model, m->model->name) != 0) {
        int rc = fail(msg, cap, MS_EIO, "--state %s: meter %s was a \"%s\", not a \"%s\"",
                      s->path, m->id, model ? model : "?", m->model->name);
        sqlite3_finalize(st);
        return rc;
    }
    core_rec_t c;
    if (sqlite3_column_bytes(st, 3) != (int)sizeof c) {
        sqlite3_finalize(st);
        return fail(msg, cap, MS_EIO, "--state %s: meter %s: damaged record", s->path,
                    m->id);
    }
    memcpy(&c, sqlite3_column_blob(st, 3), sizeof c);
    char spec[512];
    snprintf(spec, sizeof spec, "%s", (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    if (c.format != STORE_FORMAT || c.size != sizeof c)
        return fail(msg, cap, MS_EIO, "--state %s: meter %s: incompatible record",
                    s->path, m->id);

    /* calendars */
    sqlite3_prepare_v2(s->db, "SELECT slot, rec FROM calendar WHERE meter=?", -1, &st,
                       NULL);
    sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int slot = sqlite3_column_int(st, 0);
        if (slot < 0 || slot >= (int)(sizeof m->cal_owned / sizeof m->cal_owned[0]) ||
            sqlite3_column_bytes(st, 1) != (int)sizeof(ms_calendar_t))
            continue;
        ms_calendar_t *cal = malloc(sizeof *cal);
        if (!cal)
            break;
        memcpy(cal, sqlite3_column_blob(st, 1), sizeof *cal);
        free(m->cal_owned[slot]);
        m->cal_owned[slot] = cal;
    }
    sqlite3_finalize(st);
#define SLOT(i)                                                           \
    ((i) >= 0 && m->cal_owned[i] ? (const ms_calendar_t *)m->cal_owned[i] \
                                 : &m->model->calendar)

    /* the current load */
    loads_t ls = { .n = 0 };
    if (!keep_load) {
        ms_load_t *l = load_for(&ls, m, spec, msg, cap);
        if (!l)
            return MS_EIO;
        ms_load_free(m->load);
        m->load = l;
    }

    /* core state */
    m->regs = c.regs;
    m->t_ms = c.t_ms;
    m->rtc = c.rtc;
    m->period_start_rtc = c.period_start_rtc;
    memcpy(m->period_acc, c.period_acc, sizeof c.period_acc);
    memcpy(m->window, c.window, sizeof c.window);
    m->window_head = (uint8_t)c.window_head;
    memcpy(m->demand, c.demand, sizeof c.demand);
    memcpy(m->cum_demand_mw, c.cum_demand_mw, sizeof c.cum_demand_mw);
    m->billing_count = c.billing_count;
    m->next_billing_rtc = c.next_billing_rtc;
    m->outage_end_ms = c.outage_end_ms;
    m->outage_start_ms = c.outage_start_ms;
    m->passive_activation_rtc = c.passive_activation_rtc;
    m->error_flags = c.error_flags;
    m->cal = SLOT(c.cal_slot);
    m->passive = c.passive_slot >= 0 ? SLOT(c.passive_slot) : NULL;
    m->powered = c.powered;
    m->battery_ok = c.battery_ok;
    m->clock_invalid = c.clock_invalid;
    m->tariff_frozen = c.tariff_frozen;
    m->breaker = (ms_breaker_state_t)c.breaker;
    m->breaker_changed_ms = c.breaker_changed_ms;
    m->limiter_mw = c.limiter_mw;
    m->limiter_over_ms = c.limiter_over_ms;
    m->over_since_ms = c.over_since_ms;
    /* a load given again on the command line measures from now on */
    ms_load_cumulative(m->load, m->t_ms, m->regs.src_mwh);

    /* events: the newest of each log, up to its capacity, oldest first */
    sqlite3_prepare_v2(s->db,
                       "SELECT seq, rtc_ms, t_ms, duration_ms, code, detail FROM event "
                       "WHERE meter=? AND log=? ORDER BY seq DESC LIMIT ?",
                       -1, &st, NULL);
    for (int l = 0; l < MS_LOG_COUNT; l++) {
        ms_ring_t *r = &m->logs[l];
        if (!r->cap)
            continue;
        free(r->rec);
        r->rec = calloc(r->cap, sizeof *r->rec);
        r->n = r->head = 0;
        r->total = 0;
        if (!r->rec)
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, l);
        sqlite3_bind_int(st, 3, (int)r->cap);
        uint64_t last = 0;
        uint32_t n = 0;
        while (sqlite3_step(st) == SQLITE_ROW && n < r->cap) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
            if (n == 0)
                last = seq;
            ms_event_rec_t *e = &r->rec[r->cap - 1 - n]; /* filled from the end */
            e->rtc_ms = sqlite3_column_int64(st, 1);
            e->t_ms = sqlite3_column_int64(st, 2);
            e->duration_ms = sqlite3_column_int64(st, 3);
            e->code = (uint16_t)sqlite3_column_int(st, 4);
            snprintf(e->detail, sizeof e->detail, "%s",
                     (const char *)sqlite3_column_text(st, 5));
            n++;
        }
        r->n = n;
        r->head = r->cap - n; /* the oldest kept */
        if (r->head == r->cap)
            r->head = 0;
        r->total = n ? last + 1 : 0;
    }
    sqlite3_finalize(st);

    /* billing snapshots */
    if (m->model->billing_capacity) {
        free(m->billing);
        m->billing = calloc(m->model->billing_capacity, sizeof *m->billing);
        m->billing_n = m->billing_head = 0;
        sqlite3_prepare_v2(s->db,
                           "SELECT rec FROM (SELECT seq, rec FROM billing WHERE meter=? "
                           "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                           -1, &st, NULL);
        sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)m->model->billing_capacity);
        while (m->billing && sqlite3_step(st) == SQLITE_ROW) {
            if (sqlite3_column_bytes(st, 0) != (int)sizeof(ms_billing_rec_t))
                continue;
            memcpy(&m->billing[m->billing_n++], sqlite3_column_blob(st, 0),
                   sizeof(ms_billing_rec_t));
        }
        sqlite3_finalize(st);
    }

    /* epochs */
    for (uint32_t i = 0; i < m->nepochs; i++)
        ms_load_free(m->epochs[i].load);
    m->nepochs = 0;
    sqlite3_prepare_v2(s->db,
                       "SELECT load_spec, rec FROM epoch WHERE meter=? ORDER BY seq", -1,
                       &st, NULL);
    sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
    int rc = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        epoch_rec_t r;
        if (sqlite3_column_bytes(st, 1) != (int)sizeof r)
            continue;
        memcpy(&r, sqlite3_column_blob(st, 1), sizeof r);
        if (m->nepochs == m->epochs_cap) {
            uint32_t ncap = m->epochs_cap ? m->epochs_cap * 2 : 4;
            ms_epoch_t *e = realloc(m->epochs, ncap * sizeof *e);
            if (!e) {
                rc = MS_ENOMEM;
                break;
            }
            m->epochs = e;
            m->epochs_cap = ncap;
        }
        ms_epoch_t *e = &m->epochs[m->nepochs];
        memset(e, 0, sizeof *e);
        e->load = load_for(&ls, m, (const char *)sqlite3_column_text(st, 0), msg, cap);
        if (!e->load) {
            rc = MS_EIO;
            break;
        }
        e->t_start = r.t_start;
        e->rtc = r.rtc;
        e->cal = SLOT(r.cal_slot);
        e->powered = r.powered;
        e->output = r.output;
        e->tariff_frozen = r.tariff_frozen;
        e->clock_invalid = r.clock_invalid;
        e->first_status = r.first_status;
        e->regs = r.regs;
        m->nepochs++;
    }
    sqlite3_finalize(st);
#undef SLOT
    for (size_t i = 0; i < ls.n; i++)
        ms_load_free(ls.l[i]);
    if (rc)
        return rc;
    /* what the store holds now */
    known_t *k = known_of(s, m->id);
    if (k) {
        for (int l = 0; l < MS_LOG_COUNT; l++)
            k->log_total[l] = m->logs[l].total;
        k->billing_count = m->billing_count;
        k->epoch_gen = m->epoch_gen;
        k->cal_gen = m->cal_gen;
        k->epochs_stored = k->cals_stored = true;
    }
    *sim_ms = m->t_ms;
    return 0;
}
