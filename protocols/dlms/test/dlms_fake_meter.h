/*
** dlms_fake_meter.h — a small COSEM object model behind dlms_server_ops_t for the
** session tests and the server fuzz target: a few clients (lowest, LLS, HLS-GMAC, with
** and without a ciphering policy), invocation counters in memory, and a handful of
** objects: a Data with an octet-string, a Register with scaler_unit, a large
** Profile-generic-like buffer (several kB, settable, selective access by entry), a
** Clock, the invocation counter of the public client, an "echo" method.
** SPDX-License-Identifier: MIT
*/
#ifndef DLMS_FAKE_METER_H
#define DLMS_FAKE_METER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axdr.h"
#include "dlms_apdu.h"
#include "dlms_security.h"
#include "dlms_server.h"
#include "ms_err.h"

/* Client SAPs of the fake meter. */
enum {
    FM_SAP_PUBLIC = 16,  /* lowest */
    FM_SAP_LLS = 17,     /* LLS "12345678" */
    FM_SAP_HLS = 18,     /* HLS-GMAC, no ciphering policy */
    FM_SAP_LLS_ENC = 32, /* LLS, policy authenticated + encrypted */
    FM_SAP_HLS_ENC = 48, /* HLS-GMAC, policy authenticated + encrypted */
};
#define FM_CLIENTS      5
#define FM_PROFILE_ROWS 200 /* 200 x 21 octets: about 4 kB */

/* The Green Book suite 0 example keys (also pwitab's conftest keys). */
static const uint8_t fm_ek[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                   0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F };
static const uint8_t fm_ak[16] = { 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                   0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF };
static const uint8_t fm_server_title[8] = { 'M', 'S', 'I', 0, 0, 0, 0, 1 };
static const uint8_t fm_client_title[8] = { 'B', 'E', 'N', 'C', 'H', 0, 0, 1 };

typedef struct fm_client {
    uint16_t sap;
    dlms_assoc_cfg_t cfg;
    dlms_ic_t rx;     /* received counters accepted */
    uint32_t tx_next; /* next server counter */
} fm_client_t;

typedef struct fake_meter {
    fm_client_t clients[FM_CLIENTS];
    bool hls_random_fixed; /* random: repeat `challenge`, else a counter pattern */
    uint8_t challenge[64];
    uint32_t random_calls;
    /* objects */
    uint8_t name[32];
    size_t name_len;
    uint32_t energy;  /* register value */
    uint8_t *profile; /* encoded buffer (array of {date-time, double-long-unsigned}) */
    size_t profile_len;
    /* what the server passed on, for the tests to check */
    unsigned gets, sets, actions, events;
    dlms_attr_sel_t last_sel;
    uint8_t last_access[512]; /* the last access parameters, re-encoded */
    size_t last_access_len;
    uint8_t last_set[8192]; /* the last SET value, re-encoded */
    size_t last_set_len;
    char last_event[80];
    bool ic_callbacks; /* give the server ic_* callbacks (true by default) */
} fake_meter_t;

static void fm_profile_row(uint8_t *p, unsigned i)
{
    /* 02 02 | 09 0C date-time | 06 value: 21 octets */
    p[0] = DLMS_STRUCTURE;
    p[1] = 2;
    p[2] = DLMS_OCTET_STRING;
    p[3] = 12;
    uint8_t dt[12];
    dlms_datetime_from_utc(1700000000 + (int64_t)i * 900, 0, -60, 0, dt);
    memcpy(p + 4, dt, 12);
    p[16] = DLMS_DOUBLE_LONG_UNSIGNED;
    uint32_t v = 1000u + i * 7u;
    p[17] = (uint8_t)(v >> 24);
    p[18] = (uint8_t)(v >> 16);
    p[19] = (uint8_t)(v >> 8);
    p[20] = (uint8_t)v;
}

static void fm_init(fake_meter_t *m)
{
    memset(m, 0, sizeof *m);
    static const uint16_t saps[FM_CLIENTS] = { FM_SAP_PUBLIC, FM_SAP_LLS, FM_SAP_HLS,
                                               FM_SAP_LLS_ENC, FM_SAP_HLS_ENC };
    for (int i = 0; i < FM_CLIENTS; i++) {
        fm_client_t *c = &m->clients[i];
        c->sap = saps[i];
        dlms_assoc_cfg_t *g = &c->cfg;
        memcpy(g->ek, fm_ek, 16);
        memcpy(g->ak, fm_ak, 16);
        memcpy(g->server_title, fm_server_title, 8);
        memcpy(g->password, "12345678", 8);
        g->password_len = 8;
        g->logical_name[0] = 0;
        g->logical_name[1] = 0;
        g->logical_name[2] = 40;
        g->logical_name[3] = 0;
        g->logical_name[4] = (uint8_t)(i + 1);
        g->logical_name[5] = 255;
        switch (c->sap) {
        case FM_SAP_PUBLIC:
            g->mechanism = DLMS_MECH_LOWEST;
            break;
        case FM_SAP_LLS:
            g->mechanism = DLMS_MECH_LLS;
            break;
        case FM_SAP_HLS:
            g->mechanism = DLMS_MECH_HLS_GMAC;
            break;
        case FM_SAP_LLS_ENC:
            g->mechanism = DLMS_MECH_LLS;
            g->policy = DLMS_POLICY_AUTHENTICATED | DLMS_POLICY_ENCRYPTED;
            break;
        default:
            g->mechanism = DLMS_MECH_HLS_GMAC;
            g->policy = DLMS_POLICY_AUTHENTICATED | DLMS_POLICY_ENCRYPTED;
            break;
        }
        dlms_ic_init(&c->rx);
        c->tx_next = 1;
    }
    memcpy(m->name, "METERSIM-0001", 13);
    m->name_len = 13;
    m->energy = 123456;
    size_t n = FM_PROFILE_ROWS;
    size_t len = 1 + axdr_length_size((uint32_t)n) + n * 21;
    m->profile = malloc(len);
    ms_wr_t w;
    ms_wr_init(&w, m->profile, len);
    ms_wr_u8(&w, DLMS_ARRAY);
    axdr_write_length(&w, (uint32_t)n);
    for (unsigned i = 0; i < n; i++) {
        fm_profile_row(m->profile + w.len, i);
        w.len += 21;
    }
    m->profile_len = len;
    m->ic_callbacks = true;
}

static void fm_free(fake_meter_t *m)
{
    free(m->profile);
    m->profile = NULL;
}

static fm_client_t *fm_client(fake_meter_t *m, uint16_t sap)
{
    for (int i = 0; i < FM_CLIENTS; i++)
        if (m->clients[i].sap == sap)
            return &m->clients[i];
    return NULL;
}

static int fm_association(void *ctx, uint16_t client_sap, uint16_t server_sap,
                          dlms_assoc_cfg_t *out)
{
    fake_meter_t *m = ctx;
    fm_client_t *c = fm_client(m, client_sap);
    if (!c || server_sap != 1)
        return MS_ENOENT;
    *out = c->cfg;
    return 0;
}

static bool fm_is(const ms_obis_t *o, int a, int b, int c, int d, int e, int f)
{
    return o->a == a && o->b == b && o->c == c && o->d == d && o->e == e && o->f == f;
}

static int fm_get(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
                  ms_wr_t *out)
{
    fake_meter_t *m = ctx;
    const dlms_attr_desc_t *d = &sel->desc;
    const ms_obis_t *o = &d->instance_id;
    m->gets++;
    m->last_sel = *sel;
    m->last_access_len = 0;
    if (sel->access.present) {
        ms_wr_t w;
        ms_wr_init(&w, m->last_access, sizeof m->last_access);
        dlms_access_sel_write(&w, &sel->access);
        m->last_access_len = w.err ? 0 : w.len;
    }
    if (d->class_id == 1 && fm_is(o, 0, 0, 96, 1, 0, 255) && d->attribute_id == 2) {
        dlms_data_t v =
            dlms_data_string(DLMS_OCTET_STRING, m->name, (uint32_t)m->name_len);
        axdr_encode_data(out, &v);
        return 0;
    }
    if (d->class_id == 1 && fm_is(o, 0, 0, 43, 1, 0, 255) && d->attribute_id == 2) {
        dlms_data_t v = dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, 5009);
        axdr_encode_data(out, &v);
        return 0;
    }
    if (d->class_id == 3 && fm_is(o, 1, 0, 1, 8, 0, 255)) {
        if (d->attribute_id == 2) {
            dlms_data_t v = dlms_data_uint(DLMS_DOUBLE_LONG_UNSIGNED, m->energy);
            axdr_encode_data(out, &v);
            return 0;
        }
        if (d->attribute_id == 3) {
            dlms_data_t su[2] = { dlms_data_int(DLMS_INTEGER, 0),
                                  dlms_data_uint(DLMS_ENUM, 30) };
            dlms_data_t v = dlms_data_list(DLMS_STRUCTURE, su, 2);
            axdr_encode_data(out, &v);
            return 0;
        }
        return DLMS_DAR_OBJECT_UNAVAILABLE;
    }
    if (d->class_id == 8 && fm_is(o, 0, 0, 1, 0, 0, 255) && d->attribute_id == 2) {
        uint8_t dt[12];
        dlms_datetime_from_utc(1700000000, 0, -60, 0, dt);
        dlms_data_t v = dlms_data_string(DLMS_OCTET_STRING, dt, 12);
        axdr_encode_data(out, &v);
        return 0;
    }
    if (d->class_id == 7 && fm_is(o, 1, 0, 99, 1, 0, 255) && d->attribute_id == 2) {
        if (!sel->access.present) {
            ms_wr_bytes(out, m->profile, m->profile_len);
            return 0;
        }
        /* entry_descriptor (selector 2): structure {from_entry, to_entry, ...}, 1-based
         */
        const dlms_data_t *p = &sel->access.parameters;
        if (sel->access.selector != 2 || p->type != DLMS_STRUCTURE || p->n < 2)
            return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
        int64_t from, to;
        if (dlms_data_to_i64(&p->v.items[0], &from) < 0 ||
            dlms_data_to_i64(&p->v.items[1], &to) < 0 || from < 1 || to < from)
            return DLMS_DAR_SCOPE_OF_ACCESS_VIOLATED;
        /* every row is 21 octets (fm_set keeps it so) */
        ms_rd_t rd;
        uint32_t rows = 0;
        ms_rd_init(&rd, m->profile, m->profile_len);
        ms_rd_u8(&rd);
        axdr_read_length(&rd, &rows);
        if ((int64_t)rows < to)
            to = rows;
        size_t n = to >= from ? (size_t)(to - from + 1) : 0;
        ms_wr_u8(out, DLMS_ARRAY);
        axdr_write_length(out, (uint32_t)n);
        if (n)
            ms_wr_bytes(out, m->profile + rd.pos + (size_t)(from - 1) * 21, n * 21);
        return 0;
    }
    return DLMS_DAR_OBJECT_UNDEFINED;
}

static int fm_set(void *ctx, const dlms_who_t *who, const dlms_attr_sel_t *sel,
                  const dlms_data_t *value)
{
    fake_meter_t *m = ctx;
    const dlms_attr_desc_t *d = &sel->desc;
    m->sets++;
    m->last_sel = *sel;
    ms_wr_t w;
    ms_wr_init(&w, m->last_set, sizeof m->last_set);
    axdr_encode_data(&w, value);
    m->last_set_len = w.err ? 0 : w.len;
    if (who->mechanism == DLMS_MECH_LOWEST)
        return DLMS_DAR_READ_WRITE_DENIED;
    if (d->class_id == 1 && fm_is(&d->instance_id, 0, 0, 96, 1, 0, 255) &&
        d->attribute_id == 2) {
        if (value->type != DLMS_OCTET_STRING || value->n > sizeof m->name)
            return DLMS_DAR_TYPE_UNMATCHED;
        memcpy(m->name, value->v.bytes, value->n);
        m->name_len = value->n;
        return 0;
    }
    if (d->class_id == 7 && fm_is(&d->instance_id, 1, 0, 99, 1, 0, 255) &&
        d->attribute_id == 2) {
        if (value->type != DLMS_ARRAY || !m->last_set_len)
            return DLMS_DAR_TYPE_UNMATCHED;
        for (uint32_t i = 0; i < value->n; i++) {
            const dlms_data_t *e = &value->v.items[i];
            if (e->type != DLMS_STRUCTURE || e->n != 2 ||
                e->v.items[0].type != DLMS_OCTET_STRING || e->v.items[0].n != 12 ||
                e->v.items[1].type != DLMS_DOUBLE_LONG_UNSIGNED)
                return DLMS_DAR_TYPE_UNMATCHED;
        }
        uint8_t *p = realloc(m->profile, m->last_set_len);
        if (!p)
            return DLMS_DAR_HARDWARE_FAULT;
        memcpy(p, m->last_set, m->last_set_len);
        m->profile = p;
        m->profile_len = m->last_set_len;
        return 0;
    }
    if (d->class_id == 3 && fm_is(&d->instance_id, 1, 0, 1, 8, 0, 255))
        return DLMS_DAR_READ_WRITE_DENIED;
    return DLMS_DAR_OBJECT_UNDEFINED;
}

static int fm_action(void *ctx, const dlms_who_t *who, const dlms_method_desc_t *md,
                     const dlms_data_t *params, ms_wr_t *ret, bool *has_ret)
{
    fake_meter_t *m = ctx;
    m->actions++;
    /* Register reset (class 3 method 1, data integer 0) */
    if (md->class_id == 3 && fm_is(&md->instance_id, 1, 0, 1, 8, 0, 255) &&
        md->method_id == 1) {
        if (!params || params->type != DLMS_INTEGER)
            return DLMS_ACTION_TYPE_UNMATCHED;
        m->energy = 0;
        return DLMS_ACTION_SUCCESS;
    }
    /* a manufacturer-specific echo: returns its parameters */
    if (md->class_id == 1 && fm_is(&md->instance_id, 0, 128, 0, 0, 0, 255) &&
        md->method_id == 1) {
        if (!params)
            return DLMS_ACTION_TYPE_UNMATCHED;
        axdr_encode_data(ret, params);
        *has_ret = true;
        return DLMS_ACTION_SUCCESS;
    }
    return DLMS_ACTION_OBJECT_UNDEFINED;
}

static void fm_random(void *ctx, uint8_t *buf, size_t n)
{
    fake_meter_t *m = ctx;
    m->random_calls++;
    for (size_t i = 0; i < n; i++)
        buf[i] = m->hls_random_fixed ? m->challenge[i % 64]
                                     : (uint8_t)(0x41 + (m->random_calls * 7 + i) % 26);
}

static uint32_t fm_ic_next(void *ctx, uint16_t client_sap)
{
    fm_client_t *c = fm_client(ctx, client_sap);
    return c ? c->tx_next++ : 0;
}

static int fm_ic_check(void *ctx, uint16_t client_sap, uint32_t ic)
{
    fm_client_t *c = fm_client(ctx, client_sap);
    return c ? dlms_ic_check(&c->rx, ic) : MS_EREPLAY;
}

static void fm_ic_accept(void *ctx, uint16_t client_sap, uint32_t ic)
{
    fm_client_t *c = fm_client(ctx, client_sap);
    if (c)
        dlms_ic_accept(&c->rx, ic);
}

static void fm_event(void *ctx, const dlms_who_t *who, const char *what)
{
    fake_meter_t *m = ctx;
    m->events++;
    strncpy(m->last_event, what, sizeof m->last_event - 1);
}

static dlms_server_ops_t fm_ops(const fake_meter_t *m)
{
    dlms_server_ops_t ops = { .association = fm_association,
                              .get = fm_get,
                              .set = fm_set,
                              .action = fm_action,
                              .random = fm_random,
                              .event = fm_event };
    if (m->ic_callbacks) {
        ops.ic_next = fm_ic_next;
        ops.ic_check = fm_ic_check;
        ops.ic_accept = fm_ic_accept;
    }
    return ops;
}

#endif
