/*
** mb_dlms_codec.c — COSEM values between Lua and dlms_data_t, the meanings of APDUs and
** HDLC frames for the frame trace, and the scenario modules `dlms` (A-XDR values,
** date-times, OBIS codes, APDUs, wrapper frames) and `hdlc` (IEC 62056-46 frames with
** any field, also wrong ones, and their parser). All coding is done by protocols/
** (axdr, dlms_apdu, dlms_acse, dlms_wrapper, hdlc_frame); this file only translates.
** SPDX-License-Identifier: MIT
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "dlms_acse.h"
#include "dlms_apdu.h"
#include "dlms_client.h"
#include "dlms_security.h"
#include "dlms_wrapper.h"
#include "mb_dlms.h"
#include "mb_rt.h"
#include "ms_check.h"
#include "ms_err.h"
#include "ms_obis.h"
#include "ms_hex.h"
#include "ms_time.h"

#define ARENA_SIZE (1u << 20)

/* ---- values ----------------------------------------------------------------------- */

static void push_hex(lua_State *L, const uint8_t *p, size_t n)
{
    luaL_Buffer b;
    char *o = luaL_buffinitsize(L, &b, n * 2 + 1);
    ms_hex_encode(p, n, o);
    luaL_pushresultsize(&b, n * 2);
}

static void set_type(lua_State *L, unsigned type)
{
    lua_pushstring(L, dlms_data_type_name(type));
    lua_setfield(L, -2, "type");
}

void mb_dlms_push_data(lua_State *L, const dlms_data_t *d)
{
    luaL_checkstack(L, 8, "COSEM value nested too deeply");
    switch (d->type) {
    case DLMS_ARRAY:
    case DLMS_STRUCTURE:
        lua_createtable(L, (int)d->n, 1);
        set_type(L, d->type);
        for (uint32_t i = 0; i < d->n; i++) {
            mb_dlms_push_data(L, &d->v.items[i]);
            lua_seti(L, -2, (lua_Integer)i + 1);
        }
        return;
    case DLMS_COMPACT_ARRAY:
        lua_createtable(L, (int)d->n, 1);
        set_type(L, d->type);
        for (uint32_t i = 0; i < d->n; i++) {
            mb_dlms_push_data(L, &d->v.ca.items[i]);
            lua_seti(L, -2, (lua_Integer)i + 1);
        }
        return;
    default:
        break;
    }
    lua_createtable(L, 0, 3);
    set_type(L, d->type);
    switch (d->type) {
    case DLMS_NULL_DATA:
    case DLMS_DONT_CARE:
        return;
    case DLMS_BOOLEAN:
        lua_pushboolean(L, d->v.u != 0);
        break;
    case DLMS_INTEGER:
    case DLMS_LONG:
    case DLMS_DOUBLE_LONG:
    case DLMS_LONG64:
        lua_pushinteger(L, (lua_Integer)d->v.i);
        break;
    case DLMS_LONG64_UNSIGNED:
        if (d->v.u > (uint64_t)INT64_MAX)
            lua_pushnumber(L, (lua_Number)d->v.u);
        else
            lua_pushinteger(L, (lua_Integer)d->v.u);
        break;
    case DLMS_BCD:
    case DLMS_UNSIGNED:
    case DLMS_LONG_UNSIGNED:
    case DLMS_DOUBLE_LONG_UNSIGNED:
    case DLMS_ENUM:
        lua_pushinteger(L, (lua_Integer)d->v.u);
        break;
    case DLMS_FLOAT32:
        lua_pushnumber(L, dlms_data_get_float32(d));
        break;
    case DLMS_FLOAT64:
        lua_pushnumber(L, dlms_data_get_float64(d));
        break;
    case DLMS_OCTET_STRING:
        lua_pushlstring(L, (const char *)d->v.bytes, d->n);
        lua_setfield(L, -2, "value");
        push_hex(L, d->v.bytes, d->n);
        lua_setfield(L, -2, "hex");
        return;
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING:
        lua_pushlstring(L, (const char *)d->v.bytes, d->n);
        break;
    case DLMS_BIT_STRING: {
        luaL_Buffer b;
        char *o = luaL_buffinitsize(L, &b, d->n + 1);
        for (uint32_t i = 0; i < d->n; i++)
            o[i] = (d->v.bytes[i / 8] >> (7 - i % 8)) & 1 ? '1' : '0';
        luaL_pushresultsize(&b, d->n);
        lua_setfield(L, -2, "value");
        lua_pushinteger(L, d->n);
        lua_setfield(L, -2, "bits");
        return;
    }
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME:
        lua_pushlstring(L, (const char *)d->v.raw, d->n);
        lua_setfield(L, -2, "value");
        push_hex(L, d->v.raw, d->n);
        lua_setfield(L, -2, "hex");
        return;
    default:
        return;
    }
    lua_setfield(L, -2, "value");
}

static int type_of_name(const char *s)
{
    for (unsigned t = 0; t < 256; t++) {
        const char *n = dlms_data_type_name(t);
        if (n[0] != '?' && !strcmp(n, s))
            return (int)t;
    }
    return -1;
}

/* Octets of hex text into the arena; -1 when malformed, -2 out of memory. */
static long unhex_into(dlms_arena_t *a, const char *s, size_t n, uint8_t **out)
{
    uint8_t *p = dlms_arena_alloc(a, n / 2 + 1);
    if (!p)
        return -2;
    int k = ms_hex_decode(s, n, p, n / 2 + 1);
    if (k < 0)
        return -1;
    *out = p;
    return k;
}

static void to_data(lua_State *L, int idx, dlms_arena_t *a, dlms_data_t *out, char *path,
                    size_t plen, unsigned depth);

static void bad(lua_State *L, const char *path, const char *what)
{
    luaL_error(L, "COSEM value %s: %s", path[0] ? path : "(top)", what);
}

static const uint8_t *bytes_field(lua_State *L, int idx, dlms_arena_t *a, size_t *n,
                                  const char *path)
{
    uint8_t *p = NULL;
    lua_getfield(L, idx, "hex");
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t hn;
        const char *h = lua_tolstring(L, -1, &hn);
        long k = unhex_into(a, h, hn, &p);
        if (k == -2)
            bad(L, path, "out of memory");
        if (k < 0)
            bad(L, path, "hex: not hex digits");
        lua_pop(L, 1);
        *n = (size_t)k;
        return p;
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "value");
    if (lua_type(L, -1) != LUA_TSTRING)
        bad(L, path, "value (a string) or hex expected");
    size_t vn;
    const char *v = lua_tolstring(L, -1, &vn);
    p = dlms_arena_alloc(a, vn + 1);
    if (!p)
        bad(L, path, "out of memory");
    memcpy(p, v, vn);
    lua_pop(L, 1);
    *n = vn;
    return p;
}

static void to_data(lua_State *L, int idx, dlms_arena_t *a, dlms_data_t *out, char *path,
                    size_t plen, unsigned depth)
{
    idx = lua_absindex(L, idx);
    memset(out, 0, sizeof *out);
    if (depth > 64)
        bad(L, path, "nested too deeply");
    if (!lua_istable(L, idx))
        bad(L, path,
            "a typed table expected, e.g. { type = \"long-unsigned\", value = 5 } "
            "(dlms.u16(5))");
    lua_getfield(L, idx, "type");
    int t = -1;
    if (lua_type(L, -1) == LUA_TSTRING)
        t = type_of_name(lua_tostring(L, -1));
    else if (lua_isinteger(L, -1))
        t = (int)lua_tointeger(L, -1);
    if (t < 0 || dlms_data_type_name((unsigned)t)[0] == '?') {
        char msg[160];
        snprintf(msg, sizeof msg, "type: unknown COSEM type '%s'",
                 lua_tostring(L, -1) ? lua_tostring(L, -1) : "nil");
        bad(L, path, msg);
    }
    lua_pop(L, 1);
    out->type = (uint8_t)t;
    switch (t) {
    case DLMS_NULL_DATA:
    case DLMS_DONT_CARE:
        return;
    case DLMS_ARRAY:
    case DLMS_STRUCTURE: {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        dlms_data_t *items =
            n ? dlms_arena_alloc(a, (size_t)n * sizeof *items) : (dlms_data_t *)NULL;
        if (n && !items)
            bad(L, path, "out of memory");
        for (lua_Integer i = 0; i < n; i++) {
            size_t k = strlen(path);
            snprintf(path + k, plen - k, "[%lld]", (long long)i + 1);
            lua_geti(L, idx, i + 1);
            to_data(L, -1, a, &items[i], path, plen, depth + 1);
            lua_pop(L, 1);
            path[k] = 0;
        }
        *out = dlms_data_list((dlms_data_type_t)t, items, (uint32_t)n);
        return;
    }
    case DLMS_COMPACT_ARRAY:
        bad(L, path, "compact-array values cannot be sent (send an array)");
        return;
    default:
        break;
    }
    switch (t) {
    case DLMS_OCTET_STRING:
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING: {
        size_t n;
        const uint8_t *p = bytes_field(L, idx, a, &n, path);
        *out = dlms_data_string((dlms_data_type_t)t, p, (uint32_t)n);
        return;
    }
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME: {
        size_t n;
        const uint8_t *p = bytes_field(L, idx, a, &n, path);
        size_t want = t == DLMS_DATE_TIME ? 12 : t == DLMS_DATE ? 5 : 4;
        if (n != want)
            bad(L, path, "value: wrong number of octets for this type");
        *out = dlms_data_fixed((dlms_data_type_t)t, p);
        return;
    }
    case DLMS_BIT_STRING: {
        lua_getfield(L, idx, "value");
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (!s)
            bad(L, path, "value: a string of '0' and '1' expected");
        uint8_t *p = dlms_arena_alloc(a, n / 8 + 1);
        if (!p)
            bad(L, path, "out of memory");
        for (size_t i = 0; i < n; i++) {
            if (s[i] != '0' && s[i] != '1')
                bad(L, path, "value: a string of '0' and '1' expected");
            if (s[i] == '1')
                p[i / 8] |= (uint8_t)(0x80u >> (i % 8));
        }
        lua_pop(L, 1);
        *out = dlms_data_bits(p, (uint32_t)n);
        return;
    }
    default:
        break;
    }
    lua_getfield(L, idx, "value");
    switch (t) {
    case DLMS_BOOLEAN:
        if (!lua_isboolean(L, -1) && !lua_isinteger(L, -1))
            bad(L, path, "value: true or false expected");
        *out = dlms_data_bool(lua_isboolean(L, -1) ? lua_toboolean(L, -1)
                                                   : lua_tointeger(L, -1) != 0);
        break;
    case DLMS_FLOAT32:
    case DLMS_FLOAT64:
        if (!lua_isnumber(L, -1))
            bad(L, path, "value: a number expected");
        *out = t == DLMS_FLOAT32 ? dlms_data_float32((float)lua_tonumber(L, -1))
                                 : dlms_data_float64(lua_tonumber(L, -1));
        break;
    case DLMS_INTEGER:
    case DLMS_LONG:
    case DLMS_DOUBLE_LONG:
    case DLMS_LONG64:
        if (!lua_isinteger(L, -1))
            bad(L, path, "value: an integer expected");
        *out = dlms_data_int((dlms_data_type_t)t, lua_tointeger(L, -1));
        break;
    default: /* unsigned kinds, enum, bcd */
        if (!lua_isinteger(L, -1))
            bad(L, path, "value: an integer expected");
        if (lua_tointeger(L, -1) < 0)
            bad(L, path, "value: a value >= 0 expected");
        *out = dlms_data_uint((dlms_data_type_t)t, (uint64_t)lua_tointeger(L, -1));
        break;
    }
    lua_pop(L, 1);
}

void mb_dlms_to_data(lua_State *L, int idx, dlms_arena_t *a, dlms_data_t *out)
{
    char path[256] = "";
    to_data(L, idx, a, out, path, sizeof path, 0);
}

void mb_dlms_brief(const dlms_data_t *d, char *buf, size_t cap)
{
    const char *n = dlms_data_type_name(d->type);
    switch (d->type) {
    case DLMS_ARRAY:
    case DLMS_COMPACT_ARRAY:
        snprintf(buf, cap, "%s[%u]", n, d->n);
        return;
    case DLMS_STRUCTURE:
        snprintf(buf, cap, "structure{%u}", d->n);
        return;
    case DLMS_NULL_DATA:
    case DLMS_DONT_CARE:
        snprintf(buf, cap, "%s", n);
        return;
    case DLMS_BOOLEAN:
        snprintf(buf, cap, "boolean %s", d->v.u ? "true" : "false");
        return;
    case DLMS_INTEGER:
    case DLMS_LONG:
    case DLMS_DOUBLE_LONG:
    case DLMS_LONG64:
        snprintf(buf, cap, "%s %lld", n, (long long)d->v.i);
        return;
    case DLMS_FLOAT32:
        snprintf(buf, cap, "%s %g", n, (double)dlms_data_get_float32(d));
        return;
    case DLMS_FLOAT64:
        snprintf(buf, cap, "%s %g", n, dlms_data_get_float64(d));
        return;
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING:
        snprintf(buf, cap, "%s \"%.*s\"", n, (int)(d->n > 40 ? 40 : d->n),
                 (const char *)d->v.bytes);
        return;
    case DLMS_OCTET_STRING:
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME:
    case DLMS_BIT_STRING: {
        const uint8_t *p = d->type == DLMS_OCTET_STRING || d->type == DLMS_BIT_STRING
                               ? d->v.bytes
                               : d->v.raw;
        size_t k = d->type == DLMS_BIT_STRING ? (d->n + 7) / 8 : d->n;
        int o = snprintf(buf, cap, "%s(%u) ", n, d->n);
        for (size_t i = 0; i < k && i < 16 && o > 0 && (size_t)o + 3 < cap; i++)
            o += snprintf(buf + o, cap - (size_t)o, "%02x", p[i]);
        if (k > 16 && o > 0 && (size_t)o + 4 < cap)
            snprintf(buf + o, cap - (size_t)o, "...");
        return;
    }
    default:
        snprintf(buf, cap, "%s %llu", n, (unsigned long long)d->v.u);
        return;
    }
}

/* ---- meanings --------------------------------------------------------------------- */

static void obis_text(const ms_obis_t *o, char *buf, size_t cap)
{
    ms_obis_format(o, MS_OBIS_FMT_LN, buf, cap);
}

static void attr_text(const dlms_attr_sel_t *s, char *buf, size_t cap)
{
    char ob[32];
    obis_text(&s->desc.instance_id, ob, sizeof ob);
    if (s->access.present)
        snprintf(buf, cap, "%u/%s/%d with selector %u", s->desc.class_id, ob,
                 s->desc.attribute_id, s->access.selector);
    else
        snprintf(buf, cap, "%u/%s/%d", s->desc.class_id, ob, s->desc.attribute_id);
}

static void method_text(const dlms_method_desc_t *m, char *buf, size_t cap)
{
    char ob[32];
    obis_text(&m->instance_id, ob, sizeof ob);
    snprintf(buf, cap, "%u/%s method %d", m->class_id, ob, m->method_id);
}

static void result_text(const dlms_get_data_result_t *r, char *buf, size_t cap)
{
    if (r->is_data)
        mb_dlms_brief(&r->data, buf, cap);
    else
        snprintf(buf, cap, "data-access-result %s (%u)",
                 dlms_data_access_result_name(r->dar), r->dar);
}

static const char *mech_name(int m)
{
    switch (m) {
    case ACSE_MECHANISM_LOWEST:
        return "lowest";
    case ACSE_MECHANISM_LOW:
        return "LLS";
    case ACSE_MECHANISM_HIGH_GMAC:
        return "HLS-GMAC";
    case -1:
        return "none given";
    default:
        return "HLS";
    }
}

static void describe_acse(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    acse_apdu_t a;
    int rc = acse_decode(p, n, &a);
    if (rc < 0) {
        snprintf(buf, cap, "%s, malformed (%s)", dlms_apdu_tag_name(p[0]),
                 ms_strerror(rc));
        return;
    }
    int ctx = acse_context_id(a.application_context_name);
    const char *cn = ctx == ACSE_CONTEXT_LN             ? "LN"
                     : ctx == ACSE_CONTEXT_LN_CIPHERING ? "LN with ciphering"
                     : ctx == ACSE_CONTEXT_SN           ? "SN"
                     : ctx == ACSE_CONTEXT_SN_CIPHERING ? "SN with ciphering"
                                                        : "?";
    char ui[160] = "";
    const acse_user_info_t *u = &a.user_information;
    if (u->kind == DLMS_TAG_INITIATE_REQUEST)
        snprintf(ui, sizeof ui, ", InitiateRequest conformance 0x%06X max PDU %u",
                 u->initiate_request.conformance,
                 u->initiate_request.max_receive_pdu_size);
    else if (u->kind == DLMS_TAG_INITIATE_RESPONSE)
        snprintf(ui, sizeof ui, ", InitiateResponse conformance 0x%06X max PDU %u",
                 u->initiate_response.conformance,
                 u->initiate_response.max_receive_pdu_size);
    else if (u->kind == DLMS_TAG_CONFIRMED_SERVICE_ERROR)
        snprintf(ui, sizeof ui, ", ConfirmedServiceError %u/%u/%u",
                 u->service_error.service, u->service_error.error_class,
                 u->service_error.error_value);
    else if (u->kind)
        snprintf(ui, sizeof ui, ", user-information %s", dlms_apdu_tag_name(u->kind));
    switch (a.type) {
    case DLMS_TAG_AARQ:
        snprintf(buf, cap, "AARQ: context %s, mechanism %s%s%s", cn,
                 mech_name(acse_mechanism_id(a.mechanism_name)),
                 a.calling_ap_title.p ? ", calling AP title" : "", ui);
        break;
    case DLMS_TAG_AARE:
        snprintf(buf, cap, "AARE: %s, diagnostic %s (%u)%s%s", acse_result_name(a.result),
                 acse_diagnostic_name(a.result_source, a.diagnostic), a.diagnostic,
                 a.authentication_value.value.p ? ", StoC challenge" : "", ui);
        break;
    case DLMS_TAG_RLRQ:
        snprintf(buf, cap, "RLRQ%s%s", a.has_reason ? " reason " : "",
                 a.has_reason ? (a.reason == 0 ? "normal" : "other") : "");
        break;
    default:
        snprintf(buf, cap, "RLRE%s%s", a.has_reason ? " reason " : "",
                 a.has_reason ? (a.reason == 0 ? "normal" : "other") : "");
        break;
    }
}

void mb_dlms_describe_exception(const dlms_exception_response_t *e, char *buf, size_t cap)
{
    char x[32] = "";
    if (e->service_error == DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR)
        snprintf(x, sizeof x, " (counter %u)", e->invocation_counter);
    snprintf(buf, cap, "exception-response: state %s, service %s%s",
             dlms_exception_state_name(e->state_error),
             dlms_exception_service_name(e->service_error), x);
}

static void describe_xdlms(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    static uint8_t *mem;
    if (!mem && !(mem = malloc(ARENA_SIZE))) {
        snprintf(buf, cap, "%s", dlms_apdu_tag_name(p[0]));
        return;
    }
    dlms_arena_t ar;
    dlms_arena_init(&ar, mem, ARENA_SIZE);
    dlms_apdu_t a;
    int rc = dlms_apdu_decode(p, n, &ar, &a);
    if (rc < 0) {
        snprintf(buf, cap, "%s (%zu octets)%s%s", dlms_apdu_tag_name(p[0]), n,
                 rc == MS_ENOTSUP ? "" : ", malformed: ",
                 rc == MS_ENOTSUP ? "" : ms_strerror(rc));
        return;
    }
    char x[200], y[240];
    switch (a.tag) {
    case DLMS_TAG_GET_REQUEST:
        if (a.type == DLMS_GET_REQUEST_NORMAL) {
            attr_text(&a.u.get_req.attr, x, sizeof x);
            snprintf(buf, cap, "GET-Request-Normal %s", x);
        } else if (a.type == DLMS_GET_REQUEST_NEXT) {
            snprintf(buf, cap, "GET-Request-Next block %u", a.u.get_req.block_number);
        } else {
            snprintf(buf, cap, "GET-Request-With-List, %u attributes", a.u.get_req.count);
        }
        break;
    case DLMS_TAG_GET_RESPONSE:
        if (a.type == DLMS_GET_RESPONSE_NORMAL) {
            result_text(&a.u.get_resp.result, x, sizeof x);
            snprintf(buf, cap, "GET-Response-Normal: %s", x);
        } else if (a.type == DLMS_GET_RESPONSE_WITH_DATABLOCK) {
            const dlms_datablock_g_t *b = &a.u.get_resp.block;
            if (b->is_raw)
                snprintf(buf, cap, "GET-Response-With-Datablock block %u%s, %zu octets",
                         b->block_number, b->last_block ? " (last)" : "", b->raw.len);
            else
                snprintf(buf, cap,
                         "GET-Response-With-Datablock block %u: data-access-result %s",
                         b->block_number, dlms_data_access_result_name(b->dar));
        } else {
            snprintf(buf, cap, "GET-Response-With-List, %u results", a.u.get_resp.count);
        }
        break;
    case DLMS_TAG_SET_REQUEST:
        if (a.type == DLMS_SET_REQUEST_NORMAL) {
            attr_text(&a.u.set_req.attr, x, sizeof x);
            mb_dlms_brief(&a.u.set_req.value, y, sizeof y);
            snprintf(buf, cap, "SET-Request-Normal %s = %s", x, y);
        } else if (a.type == DLMS_SET_REQUEST_WITH_FIRST_DATABLOCK) {
            attr_text(&a.u.set_req.attr, x, sizeof x);
            snprintf(buf, cap,
                     "SET-Request-With-First-Datablock %s, block %u, %zu octets", x,
                     a.u.set_req.block.block_number, a.u.set_req.block.raw.len);
        } else if (a.type == DLMS_SET_REQUEST_WITH_DATABLOCK) {
            snprintf(buf, cap, "SET-Request-With-Datablock block %u%s, %zu octets",
                     a.u.set_req.block.block_number,
                     a.u.set_req.block.last_block ? " (last)" : "",
                     a.u.set_req.block.raw.len);
        } else {
            snprintf(buf, cap, "SET-Request (choice %u)", a.type);
        }
        break;
    case DLMS_TAG_SET_RESPONSE:
        if (a.type == DLMS_SET_RESPONSE_NORMAL ||
            a.type == DLMS_SET_RESPONSE_LAST_DATABLOCK)
            snprintf(buf, cap, "SET-Response%s: %s (%u)",
                     a.type == DLMS_SET_RESPONSE_NORMAL ? "-Normal" : "-Last-Datablock",
                     dlms_data_access_result_name(a.u.set_resp.result),
                     a.u.set_resp.result);
        else if (a.type == DLMS_SET_RESPONSE_DATABLOCK)
            snprintf(buf, cap, "SET-Response-Datablock block %u",
                     a.u.set_resp.block_number);
        else
            snprintf(buf, cap, "SET-Response (choice %u)", a.type);
        break;
    case DLMS_TAG_ACTION_REQUEST:
        if (a.type == DLMS_ACTION_REQUEST_NORMAL) {
            method_text(&a.u.action_req.method, x, sizeof x);
            if (a.u.action_req.has_parameters)
                mb_dlms_brief(&a.u.action_req.parameters, y, sizeof y);
            else
                snprintf(y, sizeof y, "no parameters");
            snprintf(buf, cap, "ACTION-Request-Normal %s (%s)", x, y);
        } else {
            snprintf(buf, cap, "ACTION-Request (choice %u)", a.type);
        }
        break;
    case DLMS_TAG_ACTION_RESPONSE:
        if (a.type == DLMS_ACTION_RESPONSE_NORMAL) {
            const dlms_action_result_t *r = &a.u.action_resp.single;
            y[0] = 0;
            if (r->has_return_parameters) {
                result_text(&r->return_parameters, x, sizeof x);
                snprintf(y, sizeof y, ", returns %s", x);
            }
            snprintf(buf, cap, "ACTION-Response-Normal: %s (%u)%s",
                     dlms_action_result_name(r->result), r->result, y);
        } else {
            snprintf(buf, cap, "ACTION-Response (choice %u)", a.type);
        }
        break;
    case DLMS_TAG_EXCEPTION_RESPONSE:
        mb_dlms_describe_exception(&a.u.exception, buf, cap);
        break;
    case DLMS_TAG_CONFIRMED_SERVICE_ERROR:
        snprintf(buf, cap, "confirmedServiceError: service %u, class %u, value %u",
                 a.u.service_error.service, a.u.service_error.error_class,
                 a.u.service_error.error_value);
        break;
    default:
        snprintf(buf, cap, "%s (%zu octets)", dlms_apdu_tag_name(a.tag), n);
        break;
    }
}

static void describe_plain(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    if (!n) {
        snprintf(buf, cap, "empty APDU");
        return;
    }
    if (p[0] >= DLMS_TAG_AARQ && p[0] <= DLMS_TAG_RLRE)
        describe_acse(p, n, buf, cap);
    else
        describe_xdlms(p, n, buf, cap);
}

void mb_dlms_describe_apdu(const uint8_t *apdu, size_t len, const uint8_t *plain,
                           size_t plain_len, char *buf, size_t cap)
{
    if (!len) {
        snprintf(buf, cap, "empty APDU");
        return;
    }
    if (!dlms_tag_is_ciphered(apdu[0])) {
        describe_plain(apdu, len, buf, cap);
        return;
    }
    dlms_ciphered_t c;
    char head[96];
    if (dlms_ciphered_decode(apdu, len, &c) == 0)
        snprintf(head, sizeof head, "%s (SC 0x%02X, IC %u, %zu octets)",
                 dlms_apdu_tag_name(apdu[0]), c.sc, c.ic, len);
    else
        snprintf(head, sizeof head, "%s (%zu octets)", dlms_apdu_tag_name(apdu[0]), len);
    if (plain && plain != apdu && plain_len) {
        char in[400];
        describe_plain(plain, plain_len, in, sizeof in);
        snprintf(buf, cap, "%s: %s", head, in);
    } else {
        snprintf(buf, cap, "%s", head);
    }
}

static void addr_text(const hdlc_addr_t *a, char *buf, size_t cap)
{
    if (a->size <= 1)
        snprintf(buf, cap, "%u", a->upper);
    else
        snprintf(buf, cap, "%u/%u", a->upper, a->lower);
}

void mb_hdlc_describe_frame(const hdlc_frame_t *f, int rc, char *buf, size_t cap)
{
    switch (rc) {
    case MS_EBADHCS:
        snprintf(buf, cap, "frame with a wrong HCS");
        return;
    case MS_EBADFCS:
        snprintf(buf, cap, "frame with a wrong FCS");
        return;
    case MS_ETRUNC:
        snprintf(buf, cap, "frame too short");
        return;
    case MS_EFRAME:
        snprintf(buf, cap, "malformed frame (no closing flag, bad format or address)");
        return;
    default:
        break;
    }
    if (rc < 0 && rc != MS_ETOOBIG) {
        snprintf(buf, cap, "malformed frame: %s", ms_strerror(rc));
        return;
    }
    char dst[24], src[24], seq[48] = "", info[200] = "";
    addr_text(&f->dst, dst, sizeof dst);
    addr_text(&f->src, src, sizeof src);
    if (f->type == HDLC_I)
        snprintf(seq, sizeof seq, " N(S)=%u N(R)=%u", f->ns, f->nr);
    else if (f->type == HDLC_RR || f->type == HDLC_RNR)
        snprintf(seq, sizeof seq, " N(R)=%u", f->nr);
    if ((f->type == HDLC_SNRM || f->type == HDLC_UA) && f->info_len && f->info) {
        hdlc_params_t p;
        if (hdlc_params_decode(f->info, f->info_len, &p) == 0)
            snprintf(info, sizeof info, ", max info tx %u rx %u, window tx %u rx %u",
                     hdlc_params_get(&p, HDLC_P_MAX_INFO_TX, HDLC_DEFAULT_INFO),
                     hdlc_params_get(&p, HDLC_P_MAX_INFO_RX, HDLC_DEFAULT_INFO),
                     hdlc_params_get(&p, HDLC_P_WINDOW_TX, HDLC_DEFAULT_WINDOW),
                     hdlc_params_get(&p, HDLC_P_WINDOW_RX, HDLC_DEFAULT_WINDOW));
    } else if (f->type == HDLC_FRMR && f->info) {
        hdlc_frmr_t r;
        if (hdlc_frmr_decode(f->info, f->info_len, &r) == 0)
            snprintf(info, sizeof info,
                     ", rejected control 0x%02X V(S)=%u V(R)=%u%s%s%s%s", r.control, r.vs,
                     r.vr, r.flags & HDLC_FRMR_W ? " W" : "",
                     r.flags & HDLC_FRMR_X ? " X" : "", r.flags & HDLC_FRMR_Y ? " Y" : "",
                     r.flags & HDLC_FRMR_Z ? " Z" : "");
    } else if (f->info_len) {
        snprintf(info, sizeof info, ", info %zu octets", f->info_len);
        if (f->type == HDLC_I && !f->segmented && f->info && f->info_len > HDLC_LLC_LEN &&
            hdlc_llc_check(f->info, f->info_len, NULL) == HDLC_LLC_LEN) {
            size_t k = strlen(info);
            snprintf(info + k, sizeof info - k, ": %s",
                     dlms_apdu_tag_name(f->info[HDLC_LLC_LEN]));
        }
    }
    snprintf(buf, cap, "%s%s%s%s, %s->%s%s%s", hdlc_type_name(f->type), seq,
             f->pf ? (f->type == HDLC_UA || f->type == HDLC_DM || f->type == HDLC_FRMR
                          ? " F"
                          : " P/F")
                   : "",
             f->segmented ? " segmented" : "", src, dst, info,
             rc == MS_ETOOBIG ? " (information field over the maximum)" : "");
}

/* ---- wrapper frames ---------------------------------------------------------------- */

void mb_wrap_header(const uint8_t *p, wrap_frame_t *f)
{
    ms_rd_t r;
    ms_rd_init(&r, p, WRAP_HEADER_LEN);
    f->version = ms_rd_u16be(&r);
    f->src_wport = ms_rd_u16be(&r);
    f->dst_wport = ms_rd_u16be(&r);
    f->length = ms_rd_u16be(&r);
    f->apdu = p + WRAP_HEADER_LEN;
}

void mb_wrap_push_header(lua_State *L, const wrap_frame_t *f)
{
    lua_pushinteger(L, f->version);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, f->src_wport);
    lua_setfield(L, -2, "src");
    lua_pushinteger(L, f->dst_wport);
    lua_setfield(L, -2, "dst");
    lua_pushinteger(L, f->length);
    lua_setfield(L, -2, "length");
}

void mb_wrap_describe(const wrap_frame_t *f, char *buf, size_t cap)
{
    snprintf(buf, cap, "wrapper v%u %u->%u, %u octets", f->version, f->src_wport,
             f->dst_wport, f->length);
}

/* ---- OBIS and date-times ---------------------------------------------------------- */

ms_obis_t mb_dlms_check_obis(lua_State *L, int idx)
{
    size_t n;
    const char *s = luaL_checklstring(L, idx, &n);
    ms_obis_t o;
    unsigned present = 0;
    int rc = ms_obis_parse(s, n, &o, &present);
    if (rc != 0 || present != MS_OBIS_ALL)
        luaL_error(
            L, "'%s': an OBIS code with all six groups expected (\"0-0:1.0.0.255\")", s);
    return o;
}

int mb_dlms_datetime_from_iso(const char *iso, uint8_t status, uint8_t out[12])
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", iso);
    const char *t = strchr(buf, 'T');
    if (!t)
        t = strchr(buf, ' ');
    bool has_off = t && (strchr(t, 'Z') || strchr(t, '+') || strchr(t, '-'));
    if (!has_off && strlen(buf) + 2 < sizeof buf)
        strcat(buf, "Z");
    int64_t utc;
    int off = 0;
    if (ms_iso8601_parse(buf, &utc, &off) != 0)
        return MS_EPARSE;
    if (!has_off)
        return dlms_datetime_from_utc(utc, 0, DLMS_DEVIATION_NOT_SPECIFIED, status, out) <
                       0
                   ? MS_EPARSE
                   : 0;
    return dlms_datetime_from_utc(utc, 0, -off / 60, status, out) < 0 ? MS_EPARSE : 0;
}

/* ---- module dlms ------------------------------------------------------------------ */

typedef struct arena_ud {
    uint8_t *mem;
} arena_ud_t;

static int arena_gc(lua_State *L)
{
    arena_ud_t *u = lua_touserdata(L, 1);
    free(u->mem);
    u->mem = NULL;
    return 0;
}

/* A temporary arena owned by a userdata on the stack (freed by the GC even when an
 * error unwinds). */
static void temp_arena(lua_State *L, dlms_arena_t *a, size_t size)
{
    arena_ud_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->mem = NULL;
    if (luaL_newmetatable(L, "mb.dlms_arena")) {
        lua_pushcfunction(L, arena_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    u->mem = malloc(size);
    if (!u->mem)
        luaL_error(L, "out of memory");
    dlms_arena_init(a, u->mem, size);
}

/* dlms.encode(value) -> A-XDR octets */
static int d_encode(lua_State *L)
{
    dlms_arena_t a;
    temp_arena(L, &a, ARENA_SIZE);
    dlms_data_t d;
    mb_dlms_to_data(L, 1, &a, &d);
    size_t cap = 1u << 20;
    luaL_Buffer b;
    uint8_t *p = (uint8_t *)luaL_buffinitsize(L, &b, cap);
    ms_wr_t w;
    ms_wr_init(&w, p, cap);
    int rc = axdr_encode_data(&w, &d);
    if (rc < 0)
        return luaL_error(L, "dlms.encode: %s", ms_strerror(rc));
    luaL_pushresultsize(&b, w.len);
    return 1;
}

/* dlms.decode(octets [, pos]) -> value, next position | nil, message */
static int d_decode(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    lua_Integer pos = luaL_optinteger(L, 2, 1);
    luaL_argcheck(L, pos >= 1 && (size_t)pos <= n + 1, 2, "position out of range");
    dlms_arena_t a;
    temp_arena(L, &a, ARENA_SIZE);
    ms_rd_t r;
    ms_rd_init(&r, p + pos - 1, n - (size_t)(pos - 1));
    dlms_data_t d;
    int rc = axdr_decode_data(&r, &a, &d);
    if (rc < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "dlms.decode: %s", ms_strerror(rc));
        return 2;
    }
    mb_dlms_push_data(L, &d);
    lua_pushinteger(L, (lua_Integer)(n - ms_rd_left(&r)) + 1);
    return 2;
}

/* Constructors: dlms.u32(5) -> { type = "double-long-unsigned", value = 5 }. The type
 * is the upvalue. */
static int d_make(lua_State *L)
{
    int t = (int)lua_tointeger(L, lua_upvalueindex(1));
    lua_createtable(L, 0, 2);
    set_type(L, (unsigned)t);
    switch (t) {
    case DLMS_NULL_DATA:
        return 1;
    case DLMS_BOOLEAN:
        lua_pushboolean(L, lua_toboolean(L, 1));
        break;
    case DLMS_OCTET_STRING:
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING:
    case DLMS_BIT_STRING:
        luaL_checkstring(L, 1);
        lua_pushvalue(L, 1);
        break;
    case DLMS_FLOAT32:
    case DLMS_FLOAT64:
        lua_pushnumber(L, luaL_checknumber(L, 1));
        break;
    default:
        lua_pushinteger(L, luaL_checkinteger(L, 1));
        break;
    }
    lua_setfield(L, -2, "value");
    return 1;
}

/* dlms.structure{a, b} / dlms.array{a, b}: the list with its type. */
static int d_list(lua_State *L)
{
    int t = (int)lua_tointeger(L, lua_upvalueindex(1));
    lua_settop(L, 1);
    if (lua_isnil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    lua_createtable(L, (int)n, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        lua_seti(L, -2, i);
    }
    set_type(L, (unsigned)t);
    return 1;
}

/* dlms.hex("0102") -> octet-string */
static int d_hexval(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_createtable(L, 0, 2);
    set_type(L, DLMS_OCTET_STRING);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "hex");
    return 1;
}

/* dlms.obis("0-0:1.0.0.255") -> octet-string(6); dlms.obis(octet-string or 6 octets)
 * -> "0-0:1.0.0.255" */
static int d_obis(lua_State *L)
{
    const char *s = NULL;
    size_t n = 0;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "value");
        s = lua_tolstring(L, -1, &n);
    } else {
        s = luaL_checklstring(L, 1, &n);
        if (n != 6) {
            ms_obis_t o = mb_dlms_check_obis(L, 1);
            const uint8_t b[6] = { o.a, o.b, o.c, o.d, o.e, o.f };
            lua_createtable(L, 0, 2);
            set_type(L, DLMS_OCTET_STRING);
            lua_pushlstring(L, (const char *)b, 6);
            lua_setfield(L, -2, "value");
            return 1;
        }
    }
    if (!s || n != 6)
        return luaL_error(L, "dlms.obis: an OBIS code, 6 octets or an octet-string(6) "
                             "expected");
    const uint8_t *p = (const uint8_t *)s;
    const ms_obis_t o = { p[0], p[1], p[2], p[3], p[4], p[5] };
    char text[32];
    ms_obis_format(&o, MS_OBIS_FMT_LN, text, sizeof text);
    lua_pushstring(L, text);
    return 1;
}

/* dlms.datetime(iso [, {status = , typed = }]) -> octet-string(12) (or date-time) */
static int d_datetime(lua_State *L)
{
    const char *iso = luaL_checkstring(L, 1);
    lua_Integer status = 0;
    bool typed = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "status");
        status = luaL_optinteger(L, -1, 0);
        lua_getfield(L, 2, "typed");
        typed = lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    uint8_t b[12];
    if (mb_dlms_datetime_from_iso(iso, (uint8_t)status, b) != 0)
        return luaL_error(L, "dlms.datetime: '%s' is not an ISO 8601 time", iso);
    lua_createtable(L, 0, 2);
    set_type(L, typed ? DLMS_DATE_TIME : DLMS_OCTET_STRING);
    lua_pushlstring(L, (const char *)b, 12);
    lua_setfield(L, -2, "value");
    return 1;
}

/* dlms.parse_datetime(value or 12 octets) -> fields table | nil, message */
static int d_parse_datetime(lua_State *L)
{
    size_t n = 0;
    const char *s;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "value");
        s = lua_tolstring(L, -1, &n);
    } else {
        s = luaL_checklstring(L, 1, &n);
    }
    if (!s || n != 12) {
        lua_pushnil(L);
        lua_pushliteral(L, "a date-time has 12 octets");
        return 2;
    }
    dlms_datetime_t f;
    int64_t utc;
    int rc = dlms_datetime_to_utc((const uint8_t *)s, &utc, &f);
    lua_createtable(L, 0, 14);
#define FIELD(name, v)             \
    do {                           \
        lua_pushinteger(L, (v));   \
        lua_setfield(L, -2, name); \
    } while (0)
    FIELD("year", f.year);
    FIELD("month", f.month);
    FIELD("day", f.day);
    FIELD("wday", f.wday);
    FIELD("hour", f.hour);
    FIELD("minute", f.minute);
    FIELD("second", f.second);
    FIELD("hundredths", f.hundredths);
    FIELD("status", f.status);
#undef FIELD
    if (f.deviation != DLMS_DEVIATION_NOT_SPECIFIED) {
        lua_pushinteger(L, f.deviation);
        lua_setfield(L, -2, "deviation");
    }
    lua_pushboolean(L, f.status != 0xFF && (f.status & DLMS_CLOCK_DAYLIGHT_SAVING));
    lua_setfield(L, -2, "dst");
    char loc[40];
    snprintf(loc, sizeof loc, "%04u-%02u-%02uT%02u:%02u:%02u", f.year, f.month, f.day,
             f.hour, f.minute, f.second);
    lua_pushstring(L, loc);
    lua_setfield(L, -2, "local");
    if (rc == 0) {
        lua_pushinteger(L, (lua_Integer)utc);
        lua_setfield(L, -2, "utc");
        char iso[40];
        ms_iso8601_format(utc, -f.deviation * 60, iso, sizeof iso);
        lua_pushstring(L, iso);
        lua_setfield(L, -2, "iso");
    }
    return 1;
}

static int d_dar_name(lua_State *L)
{
    lua_pushstring(L, dlms_data_access_result_name((unsigned)luaL_checkinteger(L, 1)));
    return 1;
}

static int d_action_result_name(lua_State *L)
{
    lua_pushstring(L, dlms_action_result_name((unsigned)luaL_checkinteger(L, 1)));
    return 1;
}

/* dlms.describe(apdu) -> meaning */
static int d_describe(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    char buf[600];
    mb_dlms_describe_apdu(p, n, NULL, 0, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* dlms.wrap(src_wport, dst_wport, apdu [, {version=, length=}]) -> wrapper frame */
static int d_wrap(lua_State *L)
{
    lua_Integer src = luaL_checkinteger(L, 1), dst = luaL_checkinteger(L, 2);
    size_t n;
    const char *apdu = luaL_checklstring(L, 3, &n);
    lua_Integer version = WRAP_VERSION, length = (lua_Integer)n;
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "version");
        version = luaL_optinteger(L, -1, version);
        lua_getfield(L, 4, "length");
        length = luaL_optinteger(L, -1, length);
        lua_pop(L, 2);
    }
    luaL_argcheck(L, n <= 0xFFFF, 3, "at most 65535 octets");
    uint8_t h[WRAP_HEADER_LEN];
    ms_wr_t w;
    ms_wr_init(&w, h, sizeof h);
    ms_wr_u16be(&w, (uint16_t)version);
    ms_wr_u16be(&w, (uint16_t)src);
    ms_wr_u16be(&w, (uint16_t)dst);
    ms_wr_u16be(&w, (uint16_t)length);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, (const char *)h, WRAP_HEADER_LEN);
    luaL_addlstring(&b, apdu, n);
    luaL_pushresult(&b);
    return 1;
}

/* dlms.unwrap(frame) -> {version, src, dst, length, apdu}, rest | nil, message */
static int d_unwrap(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    if (n < WRAP_HEADER_LEN) {
        lua_pushnil(L);
        lua_pushliteral(L, "shorter than the wrapper header");
        return 2;
    }
    wrap_frame_t f;
    mb_wrap_header(p, &f);
    size_t len = f.length;
    if (n < WRAP_HEADER_LEN + len) {
        lua_pushnil(L);
        lua_pushliteral(L, "shorter than the length the header announces");
        return 2;
    }
    lua_createtable(L, 0, 5);
    mb_wrap_push_header(L, &f);
    lua_pushlstring(L, (const char *)p + WRAP_HEADER_LEN, len);
    lua_setfield(L, -2, "apdu");
    lua_pushlstring(L, (const char *)p + WRAP_HEADER_LEN + len,
                    n - WRAP_HEADER_LEN - len);
    return 2;
}

/* dlms.get_request(class, obis, attr [, {invoke = 0xC1}]) -> APDU octets (plain) */
static int d_get_request(lua_State *L)
{
    dlms_apdu_t x;
    memset(&x, 0, sizeof x);
    x.tag = DLMS_TAG_GET_REQUEST;
    x.type = DLMS_GET_REQUEST_NORMAL;
    x.invoke_id_and_priority = DLMS_CLIENT_IIP_DEFAULT;
    x.u.get_req.attr.desc.class_id = (uint16_t)luaL_checkinteger(L, 1);
    x.u.get_req.attr.desc.instance_id = mb_dlms_check_obis(L, 2);
    x.u.get_req.attr.desc.attribute_id = (int8_t)luaL_checkinteger(L, 3);
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "invoke");
        x.invoke_id_and_priority =
            (uint8_t)luaL_optinteger(L, -1, x.invoke_id_and_priority);
        lua_pop(L, 1);
    }
    uint8_t b[32];
    ms_wr_t w;
    ms_wr_init(&w, b, sizeof b);
    int rc = dlms_apdu_encode(&w, &x);
    if (rc < 0)
        return luaL_error(L, "dlms.get_request: %s", ms_strerror(rc));
    lua_pushlstring(L, (const char *)b, w.len);
    return 1;
}

/* dlms.decode_apdu(octets) -> table for plain xDLMS answers: {tag, name, choice, invoke,
 * value | dar | result | state_error, service_error, invocation_counter} */
static int d_decode_apdu(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    if (!n) {
        lua_pushnil(L);
        lua_pushliteral(L, "empty APDU");
        return 2;
    }
    dlms_arena_t a;
    temp_arena(L, &a, ARENA_SIZE);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, p[0]);
    lua_setfield(L, -2, "tag");
    lua_pushstring(L, dlms_apdu_tag_name(p[0]));
    lua_setfield(L, -2, "name");
    char meaning[600];
    mb_dlms_describe_apdu(p, n, NULL, 0, meaning, sizeof meaning);
    lua_pushstring(L, meaning);
    lua_setfield(L, -2, "meaning");
    dlms_apdu_t x;
    if (p[0] >= DLMS_TAG_AARQ && p[0] <= DLMS_TAG_RLRE) {
        acse_apdu_t c;
        if (acse_decode(p, n, &c) == 0 && c.type == DLMS_TAG_AARE) {
            lua_pushinteger(L, c.result);
            lua_setfield(L, -2, "result");
            lua_pushinteger(L, c.diagnostic);
            lua_setfield(L, -2, "diagnostic");
        }
        return 1;
    }
    if (dlms_apdu_decode(p, n, &a, &x) != 0)
        return 1;
    lua_pushinteger(L, x.type);
    lua_setfield(L, -2, "choice");
    lua_pushinteger(L, x.invoke_id_and_priority);
    lua_setfield(L, -2, "invoke");
    if (x.tag == DLMS_TAG_GET_RESPONSE && x.type == DLMS_GET_RESPONSE_NORMAL) {
        if (x.u.get_resp.result.is_data) {
            mb_dlms_push_data(L, &x.u.get_resp.result.data);
            lua_setfield(L, -2, "value");
        } else {
            lua_pushinteger(L, x.u.get_resp.result.dar);
            lua_setfield(L, -2, "dar");
        }
    } else if (x.tag == DLMS_TAG_SET_RESPONSE && x.type == DLMS_SET_RESPONSE_NORMAL) {
        lua_pushinteger(L, x.u.set_resp.result);
        lua_setfield(L, -2, "dar");
    } else if (x.tag == DLMS_TAG_ACTION_RESPONSE &&
               x.type == DLMS_ACTION_RESPONSE_NORMAL) {
        lua_pushinteger(L, x.u.action_resp.single.result);
        lua_setfield(L, -2, "result");
    } else if (x.tag == DLMS_TAG_EXCEPTION_RESPONSE) {
        lua_pushinteger(L, x.u.exception.state_error);
        lua_setfield(L, -2, "state_error");
        lua_pushinteger(L, x.u.exception.service_error);
        lua_setfield(L, -2, "service_error");
        if (x.u.exception.service_error == DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR) {
            lua_pushinteger(L, x.u.exception.invocation_counter);
            lua_setfield(L, -2, "invocation_counter");
        }
    }
    return 1;
}

int luaopen_mb_dlms(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "encode", d_encode },
        { "decode", d_decode },
        { "hex", d_hexval },
        { "obis", d_obis },
        { "datetime", d_datetime },
        { "parse_datetime", d_parse_datetime },
        { "dar_name", d_dar_name },
        { "action_result_name", d_action_result_name },
        { "describe", d_describe },
        { "wrap", d_wrap },
        { "unwrap", d_unwrap },
        { "get_request", d_get_request },
        { "decode_apdu", d_decode_apdu },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    static const struct {
        const char *name;
        int type;
    } makers[] = {
        { "null", DLMS_NULL_DATA },
        { "bool", DLMS_BOOLEAN },
        { "boolean", DLMS_BOOLEAN },
        { "i8", DLMS_INTEGER },
        { "integer", DLMS_INTEGER },
        { "i16", DLMS_LONG },
        { "long", DLMS_LONG },
        { "i32", DLMS_DOUBLE_LONG },
        { "double_long", DLMS_DOUBLE_LONG },
        { "i64", DLMS_LONG64 },
        { "u8", DLMS_UNSIGNED },
        { "unsigned", DLMS_UNSIGNED },
        { "u16", DLMS_LONG_UNSIGNED },
        { "long_unsigned", DLMS_LONG_UNSIGNED },
        { "u32", DLMS_DOUBLE_LONG_UNSIGNED },
        { "double_long_unsigned", DLMS_DOUBLE_LONG_UNSIGNED },
        { "u64", DLMS_LONG64_UNSIGNED },
        { "enum", DLMS_ENUM },
        { "octets", DLMS_OCTET_STRING },
        { "string", DLMS_VISIBLE_STRING },
        { "utf8", DLMS_UTF8_STRING },
        { "bits", DLMS_BIT_STRING },
        { "float32", DLMS_FLOAT32 },
        { "float64", DLMS_FLOAT64 },
    };
    for (size_t i = 0; i < sizeof makers / sizeof makers[0]; i++) {
        lua_pushinteger(L, makers[i].type);
        lua_pushcclosure(L, d_make, 1);
        lua_setfield(L, -2, makers[i].name);
    }
    lua_pushinteger(L, DLMS_STRUCTURE);
    lua_pushcclosure(L, d_list, 1);
    lua_setfield(L, -2, "structure");
    lua_pushinteger(L, DLMS_ARRAY);
    lua_pushcclosure(L, d_list, 1);
    lua_setfield(L, -2, "array");
    return 1;
}

/* ---- module hdlc ------------------------------------------------------------------ */

static const char *const type_names[] = { "I",  "RR", "RNR",  "SNRM", "DISC",
                                          "UA", "DM", "FRMR", "UI",   NULL };
static const hdlc_type_t type_vals[] = { HDLC_I,    HDLC_RR,   HDLC_RNR,
                                         HDLC_SNRM, HDLC_DISC, HDLC_UA,
                                         HDLC_DM,   HDLC_FRMR, HDLC_UI };

/* An address: a number (1 byte, upper only) or {upper=, lower=, size=}. */
static void check_addr(lua_State *L, int idx, const char *what, bool server,
                       hdlc_addr_t *a)
{
    int rc;
    if (lua_isinteger(L, idx)) {
        rc = server ? hdlc_addr_server(a, (unsigned)lua_tointeger(L, idx), 0, 1)
                    : hdlc_addr_client(a, (unsigned)lua_tointeger(L, idx));
    } else if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "upper");
        lua_getfield(L, idx, "lower");
        lua_getfield(L, idx, "size");
        unsigned up = (unsigned)luaL_optinteger(L, -3, 1);
        unsigned lo = (unsigned)luaL_optinteger(L, -2, 0);
        unsigned size = (unsigned)luaL_optinteger(L, -1, lua_isnil(L, -2) ? 1 : 4);
        lua_pop(L, 3);
        rc = hdlc_addr_server(a, up, lo, size);
    } else {
        luaL_error(L, "hdlc.frame: %s: a number or {upper=, lower=, size=} expected",
                   what);
        return;
    }
    if (rc < 0)
        luaL_error(L, "hdlc.frame: %s: %s", what, ms_strerror(rc));
}

static void set_params_from(lua_State *L, int idx, hdlc_params_t *p)
{
    static const char *const names[] = { "max_info_tx", "max_info_rx", "window_tx",
                                         "window_rx" };
    memset(p, 0, sizeof *p);
    for (int i = 0; i < HDLC_P_COUNT; i++) {
        lua_getfield(L, idx, names[i]);
        if (!lua_isnil(L, -1))
            hdlc_params_set(p, i, (uint32_t)luaL_checkinteger(L, -1));
        lua_pop(L, 1);
    }
}

static bool opt_true(lua_State *L, int idx, const char *k)
{
    lua_getfield(L, idx, k);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* hdlc.params{max_info_tx=, max_info_rx=, window_tx=, window_rx=} -> field octets */
static int h_params(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    hdlc_params_t p;
    set_params_from(L, 1, &p);
    uint8_t buf[64];
    ms_wr_t w;
    ms_wr_init(&w, buf, sizeof buf);
    int rc = hdlc_params_put(&w, &p);
    if (rc < 0)
        return luaL_error(L, "hdlc.params: %s", ms_strerror(rc));
    lua_pushlstring(L, (const char *)buf, w.len);
    return 1;
}

static void push_params(lua_State *L, const uint8_t *p, size_t n)
{
    hdlc_params_t x;
    if (hdlc_params_decode(p, n, &x) != 0) {
        lua_pushnil(L);
        return;
    }
    static const char *const names[] = { "max_info_tx", "max_info_rx", "window_tx",
                                         "window_rx" };
    lua_createtable(L, 0, 4);
    for (int i = 0; i < HDLC_P_COUNT; i++) {
        if (x.width[i]) {
            lua_pushinteger(L, x.value[i]);
            lua_setfield(L, -2, names[i]);
        }
    }
}

/* hdlc.parse_params(octets) -> table | nil */
static int h_parse_params(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    push_params(L, p, n);
    return 1;
}

/* hdlc.crc(octets) -> CRC-16/X.25 as a number; hdlc.fcs(octets) -> its two octets, LSB
 * first (as sent) */
static int h_crc(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    lua_pushinteger(L, ms_crc16_x25(p, n));
    return 1;
}

static int h_fcs(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    uint16_t c = ms_crc16_x25(p, n);
    char b[2] = { (char)(c & 0xFF), (char)(c >> 8) };
    lua_pushlstring(L, b, 2);
    return 1;
}

/* hdlc.frame{type=, control=, ns=, nr=, pf=, segmented=, dst=, src=, info=, apdu=,
 *   llc=, bad_hcs=, bad_fcs=, no_closing_flag=, no_opening_flag=, length=} -> octets */
static int h_frame(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const allowed[] = { "type",
                                           "control",
                                           "ns",
                                           "nr",
                                           "pf",
                                           "segmented",
                                           "dst",
                                           "src",
                                           "info",
                                           "apdu",
                                           "bad_hcs",
                                           "bad_fcs",
                                           "no_closing_flag",
                                           "no_opening_flag",
                                           "length",
                                           NULL };
    mb_check_opts(L, 1, "hdlc.frame", allowed);
    hdlc_frame_t f;
    memset(&f, 0, sizeof f);
    lua_getfield(L, 1, "type");
    if (lua_isnil(L, -1)) {
        f.type = HDLC_UNKNOWN;
    } else {
        int i = luaL_checkoption(L, -1, NULL, type_names);
        f.type = type_vals[i];
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "control");
    bool has_control = !lua_isnil(L, -1);
    lua_Integer control = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    if (f.type == HDLC_UNKNOWN && !has_control)
        return luaL_error(L,
                          "hdlc.frame: type (\"I\", \"SNRM\", ...) or control expected");
    lua_getfield(L, 1, "ns");
    f.ns = (uint8_t)(luaL_optinteger(L, -1, 0) & 7);
    lua_getfield(L, 1, "nr");
    f.nr = (uint8_t)(luaL_optinteger(L, -1, 0) & 7);
    lua_getfield(L, 1, "pf");
    f.pf = lua_isnil(L, -1) ? true : lua_toboolean(L, -1);
    lua_getfield(L, 1, "segmented");
    f.segmented = lua_toboolean(L, -1);
    lua_pop(L, 4);
    lua_getfield(L, 1, "dst");
    if (lua_isnil(L, -1))
        hdlc_addr_server(&f.dst, 1, 0, 1);
    else
        check_addr(L, lua_gettop(L), "dst", true, &f.dst);
    lua_getfield(L, 1, "src");
    if (lua_isnil(L, -1))
        hdlc_addr_client(&f.src, HDLC_ADDR_CLIENT_PUBLIC);
    else
        check_addr(L, lua_gettop(L), "src", false, &f.src);
    lua_pop(L, 2);
    /* information field: info as given, or LLC E6 E6 00 + apdu */
    lua_getfield(L, 1, "apdu");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TSTRING);
        lua_pushlstring(L, "\xE6\xE6\x00", 3);
        lua_insert(L, -2);
        lua_concat(L, 2);
    } else {
        lua_pop(L, 1);
        lua_getfield(L, 1, "info");
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "");
        }
        luaL_checktype(L, -1, LUA_TSTRING);
    }
    size_t info_len;
    const char *info = lua_tolstring(L, -1, &info_len);
    f.info = info_len ? (const uint8_t *)info : NULL;
    f.info_len = info_len;
    uint8_t buf[HDLC_FRAME_WIRE_MAX + 8];
    int n;
    if (f.type == HDLC_UNKNOWN) {
        /* any control byte: encode as UI, then put the byte in */
        f.type = HDLC_UI;
        n = hdlc_frame_encode(&f, buf, sizeof buf);
    } else {
        n = hdlc_frame_encode(&f, buf, sizeof buf);
    }
    if (n < 0)
        return luaL_error(L, "hdlc.frame: %s", ms_strerror(n));
    /* header length: flag, format 2, addresses, control */
    size_t ctl_at = 3 + f.dst.size + f.src.size;
    if (has_control)
        buf[ctl_at] = (uint8_t)control;
    size_t hdr_end = ctl_at + 1; /* HCS follows when there is an information field */
    lua_getfield(L, 1, "length");
    if (!lua_isnil(L, -1)) {
        lua_Integer len = luaL_checkinteger(L, -1);
        luaL_argcheck(L, len >= 0 && len <= 0x7FF, 1, "length: 0..2047");
        buf[1] = (uint8_t)((buf[1] & 0xF8) | (len >> 8));
        buf[2] = (uint8_t)len;
    }
    lua_pop(L, 1);
    /* checks over the (possibly changed) header and frame */
    if (f.info_len) {
        uint16_t hcs = ms_crc16_x25(buf + 1, hdr_end - 1);
        buf[hdr_end] = (uint8_t)(hcs & 0xFF);
        buf[hdr_end + 1] = (uint8_t)(hcs >> 8);
    }
    uint16_t fcs = ms_crc16_x25(buf + 1, (size_t)n - 4);
    buf[n - 3] = (uint8_t)(fcs & 0xFF);
    buf[n - 2] = (uint8_t)(fcs >> 8);
    if (opt_true(L, 1, "bad_hcs")) {
        if (!f.info_len)
            return luaL_error(L, "hdlc.frame: bad_hcs needs an information field");
        buf[hdr_end] ^= 0x01;
        /* the FCS stays right for the bytes as sent */
        fcs = ms_crc16_x25(buf + 1, (size_t)n - 4);
        buf[n - 3] = (uint8_t)(fcs & 0xFF);
        buf[n - 2] = (uint8_t)(fcs >> 8);
    }
    if (opt_true(L, 1, "bad_fcs"))
        buf[n - 3] ^= 0x01;
    size_t start = opt_true(L, 1, "no_opening_flag") ? 1 : 0;
    size_t end = opt_true(L, 1, "no_closing_flag") ? (size_t)n - 1 : (size_t)n;
    lua_pushlstring(L, (const char *)buf + start, end - start);
    return 1;
}

/* A decoded frame as a table. */
static void push_frame(lua_State *L, const hdlc_frame_t *f, int rc, const uint8_t *bytes,
                       size_t n)
{
    lua_createtable(L, 0, 16);
    lua_pushlstring(L, (const char *)bytes, n);
    lua_setfield(L, -2, "bytes");
    char meaning[400];
    mb_hdlc_describe_frame(f, rc, meaning, sizeof meaning);
    lua_pushstring(L, meaning);
    lua_setfield(L, -2, "meaning");
    if (rc < 0) {
        lua_pushstring(L, ms_err_name(rc));
        lua_setfield(L, -2, "error");
        if (rc != MS_ETOOBIG)
            return;
    }
    lua_pushstring(L, hdlc_type_name(f->type));
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, f->control);
    lua_setfield(L, -2, "control");
    lua_pushboolean(L, f->pf);
    lua_setfield(L, -2, "pf");
    lua_pushboolean(L, f->segmented);
    lua_setfield(L, -2, "segmented");
    if (f->type == HDLC_I) {
        lua_pushinteger(L, f->ns);
        lua_setfield(L, -2, "ns");
    }
    if (f->type == HDLC_I || f->type == HDLC_RR || f->type == HDLC_RNR) {
        lua_pushinteger(L, f->nr);
        lua_setfield(L, -2, "nr");
    }
    const hdlc_addr_t *as[2] = { &f->dst, &f->src };
    const char *an[2] = { "dst", "src" };
    for (int i = 0; i < 2; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, as[i]->upper);
        lua_setfield(L, -2, "upper");
        lua_pushinteger(L, as[i]->lower);
        lua_setfield(L, -2, "lower");
        lua_pushinteger(L, as[i]->size);
        lua_setfield(L, -2, "size");
        lua_setfield(L, -2, an[i]);
    }
    lua_pushinteger(L, f->length);
    lua_setfield(L, -2, "length");
    lua_pushinteger(L, (lua_Integer)f->info_len);
    lua_setfield(L, -2, "info_len");
    if (f->info) {
        lua_pushlstring(L, (const char *)f->info, f->info_len);
        lua_setfield(L, -2, "info");
        if ((f->type == HDLC_SNRM || f->type == HDLC_UA) && f->info_len) {
            push_params(L, f->info, f->info_len);
            lua_setfield(L, -2, "params");
        }
        if (f->type == HDLC_FRMR) {
            hdlc_frmr_t r;
            if (hdlc_frmr_decode(f->info, f->info_len, &r) == 0) {
                lua_createtable(L, 0, 8);
                lua_pushinteger(L, r.control);
                lua_setfield(L, -2, "control");
                lua_pushinteger(L, r.vs);
                lua_setfield(L, -2, "vs");
                lua_pushinteger(L, r.vr);
                lua_setfield(L, -2, "vr");
                lua_pushboolean(L, r.flags & HDLC_FRMR_W);
                lua_setfield(L, -2, "w");
                lua_pushboolean(L, r.flags & HDLC_FRMR_X);
                lua_setfield(L, -2, "x");
                lua_pushboolean(L, r.flags & HDLC_FRMR_Y);
                lua_setfield(L, -2, "y");
                lua_pushboolean(L, r.flags & HDLC_FRMR_Z);
                lua_setfield(L, -2, "z");
                lua_setfield(L, -2, "frmr");
            }
        }
        if ((f->type == HDLC_I || f->type == HDLC_UI) && f->info_len >= HDLC_LLC_LEN &&
            hdlc_llc_check(f->info, f->info_len, NULL) == HDLC_LLC_LEN) {
            lua_pushlstring(L, (const char *)f->info, HDLC_LLC_LEN);
            lua_setfield(L, -2, "llc");
            lua_pushlstring(L, (const char *)f->info + HDLC_LLC_LEN,
                            f->info_len - HDLC_LLC_LEN);
            lua_setfield(L, -2, "apdu");
        }
    }
}

void mb_hdlc_push_frame(lua_State *L, const hdlc_frame_t *f, int rc, const uint8_t *bytes,
                        size_t n)
{
    push_frame(L, f, rc, bytes, n);
}

/* hdlc.parse(octets) -> frame table, rest | nil, message, rest (incomplete) */
static int h_parse(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    uint8_t buf[HDLC_FORMAT_LENGTH_MAX + 16];
    hdlc_decoder_t d;
    hdlc_decoder_init(&d, buf, sizeof buf);
    size_t off = 0;
    hdlc_frame_t f;
    int rc = 0;
    while (off < n) {
        size_t used = 0;
        rc = hdlc_decoder_feed(&d, p + off, n - off, &used, &f);
        off += used;
        if (rc != 0)
            break;
        if (!used)
            break;
    }
    if (rc == 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "incomplete frame");
        lua_pushlstring(L, (const char *)p, n);
        return 3;
    }
    push_frame(L, &f, rc, p, off);
    lua_pushlstring(L, (const char *)p + off, n - off);
    return 2;
}

static int h_control(lua_State *L)
{
    int i = luaL_checkoption(L, 1, NULL, type_names);
    int c = hdlc_control(type_vals[i], (unsigned)luaL_optinteger(L, 2, 0),
                         (unsigned)luaL_optinteger(L, 3, 0),
                         lua_isnoneornil(L, 4) ? true : lua_toboolean(L, 4));
    lua_pushinteger(L, c);
    return 1;
}

/* hdlc.address(n) / hdlc.address{upper=, lower=, size=} -> octets */
static int h_address(lua_State *L)
{
    hdlc_addr_t a;
    check_addr(L, 1, "address", lua_istable(L, 1), &a);
    uint8_t b[8];
    ms_wr_t w;
    ms_wr_init(&w, b, sizeof b);
    hdlc_addr_put(&w, &a);
    lua_pushlstring(L, (const char *)b, w.len);
    return 1;
}

int luaopen_mb_hdlc(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "frame", h_frame },     { "parse", h_parse },
        { "params", h_params },   { "parse_params", h_parse_params },
        { "crc", h_crc },         { "fcs", h_fcs },
        { "control", h_control }, { "address", h_address },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    lua_pushlstring(L, "\xE6\xE6\x00", 3);
    lua_setfield(L, -2, "LLC_COMMAND");
    lua_pushlstring(L, "\xE6\xE7\x00", 3);
    lua_setfield(L, -2, "LLC_RESPONSE");
    lua_pushinteger(L, HDLC_FLAG);
    lua_setfield(L, -2, "FLAG");
    return 1;
}
