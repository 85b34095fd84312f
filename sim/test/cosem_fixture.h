/*
** cosem_fixture.h — test helper: a meter of sim/models/ms3p-direct.lua with its COSEM
** view, and GET / SET / ACTION through the dlms_server_ops_t callbacks as a DLMS
** session calls them, for the three default clients. Values to send can be written with
** the ax_* helpers (val_begin / val_end) and are decoded as the session would decode
** them. Header-only, for cmocka tests (include after <cmocka.h>).
** SPDX-License-Identifier: MIT
*/
#ifndef MS_COSEM_FIXTURE_H
#define MS_COSEM_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "load.h"
#include "meter.h"
#include "model.h"
#include "ms_time.h"
#include "view_cosem.h"
#include "view_cosem_int.h"

static inline int64_t utc_ms(const char *iso)
{
    int64_t t;
    if (ms_iso8601_parse(iso, &t, NULL) != 0)
        fail_msg("bad time %s", iso);
    return t * 1000;
}

typedef struct fixture {
    ms_model_t *md;
    ms_meter_t *m;
    ms_cosem_t *v;
    int commits;
    char last_event[160];
    uint32_t persisted_tx, persisted_rx; /* the last ic_persist call */
    uint8_t out[1 << 20];
    uint8_t arena_mem[1 << 20];
    dlms_arena_t arena;
    /* a value to send: written with ax_*, then decoded as the session would */
    uint8_t val_buf[1 << 14];
    uint8_t val_mem[1 << 16];
    dlms_arena_t val_arena;
    ms_wr_t w;
} fixture_t;

/* The model's default clients (docs/cosem.md). */
static const dlms_who_t manage = { .client_sap = 1,
                                   .server_sap = 1,
                                   .mechanism = DLMS_MECH_HLS_GMAC,
                                   .authenticated = true };
static const dlms_who_t reader = {
    .client_sap = 17, .server_sap = 1, .mechanism = DLMS_MECH_LLS, .authenticated = true
};
static const dlms_who_t public_ = { .client_sap = 16,
                                    .server_sap = 1,
                                    .mechanism = DLMS_MECH_LOWEST,
                                    .authenticated = true };

static inline void fx_on_commit(void *ud)
{
    ((fixture_t *)ud)->commits++;
}

static inline void fx_on_event(void *ud, uint16_t sap, const char *what)
{
    fixture_t *f = ud;
    snprintf(f->last_event, sizeof f->last_event, "%s", what);
}

static inline void fx_on_ic(void *ud, uint16_t sap, uint32_t tx, uint32_t rx)
{
    fixture_t *f = ud;
    f->persisted_tx = tx;
    f->persisted_rx = rx;
}

/* A meter from `start` (ISO 8601) at a constant 1.2 kW, with model overrides. */
static inline fixture_t *setup_with(const char *start, const char *const *set,
                                    size_t nset)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->md = calloc(1, sizeof *f->md);
    char msg[512];
    if (ms_model_load_with("sim/models/ms3p-direct.lua", set, nset, f->md, msg,
                           sizeof msg))
        fail_msg("%s", msg);
    int err = 0;
    f->m =
        ms_meter_new("m", f->md, ms_load_constant(1200000, 0, NULL), utc_ms(start), &err);
    assert_non_null(f->m);
    ms_cosem_hooks_t h = {
        .commit = fx_on_commit, .ic_persist = fx_on_ic, .event = fx_on_event, .ud = f
    };
    f->v = ms_cosem_new(f->m, f->md, &h, &err);
    assert_non_null(f->v);
    return f;
}

static inline fixture_t *setup_at(const char *start)
{
    return setup_with(start, NULL, 0);
}

static inline void teardown_f(fixture_t *f)
{
    ms_cosem_free(f->v);
    ms_meter_free(f->m);
    free(f->md);
    free(f);
}

static inline dlms_attr_sel_t attr(uint16_t class_id, ms_obis_t ln, int a)
{
    dlms_attr_sel_t s = { .desc = { class_id, ln, (int8_t)a } };
    return s;
}

/* GET through the ops; on success the decoded value (in the fixture's arena). */
static inline int get_sel(fixture_t *f, const dlms_who_t *who, const dlms_attr_sel_t *s,
                          dlms_data_t *val)
{
    ms_wr_t w;
    ms_wr_init(&w, f->out, sizeof f->out);
    int dar = ms_cosem_ops.get(f->v, who, s, &w);
    if (dar)
        return dar;
    assert_int_equal(w.err, 0);
    dlms_arena_init(&f->arena, f->arena_mem, sizeof f->arena_mem);
    assert_int_equal(axdr_decode(f->out, w.len, &f->arena, val), 0);
    return 0;
}

static inline int get(fixture_t *f, const dlms_who_t *who, uint16_t class_id,
                      ms_obis_t ln, int a, dlms_data_t *val)
{
    dlms_attr_sel_t s = attr(class_id, ln, a);
    return get_sel(f, who, &s, val);
}

static inline int set(fixture_t *f, const dlms_who_t *who, uint16_t class_id,
                      ms_obis_t ln, int a, const dlms_data_t *val)
{
    dlms_attr_sel_t s = attr(class_id, ln, a);
    return ms_cosem_ops.set(f->v, who, &s, val);
}

static inline int act(fixture_t *f, const dlms_who_t *who, uint16_t class_id,
                      ms_obis_t ln, int k, const dlms_data_t *params)
{
    dlms_method_desc_t d = { class_id, ln, (int8_t)k };
    ms_wr_t w;
    ms_wr_init(&w, f->out, sizeof f->out);
    bool has_ret = false;
    return ms_cosem_ops.action(f->v, who, &d, params, &w, &has_ret);
}

/* Start writing a value to send. */
static inline ms_wr_t *val_begin(fixture_t *f)
{
    ms_wr_init(&f->w, f->val_buf, sizeof f->val_buf);
    return &f->w;
}

/* The value written since val_begin, decoded. */
static inline dlms_data_t val_end(fixture_t *f)
{
    dlms_data_t d;
    assert_int_equal(f->w.err, 0);
    dlms_arena_init(&f->val_arena, f->val_mem, sizeof f->val_mem);
    assert_int_equal(axdr_decode(f->val_buf, f->w.len, &f->val_arena, &d), 0);
    return d;
}

#endif
