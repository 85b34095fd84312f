/*
** mb_session.c — Lua binding of the IEC 62056-21 reader session (iec21_drive over
** protocols/iec62056_21/iec21_client and protocols/phy): readout, programming mode,
** commands, break, raw bytes for negative tests, and the frame trace of every step
** (time, direction, bytes, decoded meaning). Also the `iec21` module: codec helpers.
** SPDX-License-Identifier: MIT
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iec21_drive.h"
#include "iec21_msg.h"
#include "mb_rt.h"
#include "ms_buf.h"
#include "ms_check.h"
#include "ms_err.h"

#define SESSION_MT    "mb.iec21"
#define RAW_MAX       (256u << 10)
#define TRACE_MSG     (256u << 10)
#define DEFAULT_OP_MS 60000u
#define GAP_NS        (1500ull * 1000000u) /* ta: a pause that ends a fragment */

enum { W_NONE = 0, W_OP, W_RECV, W_OPEN };

typedef struct mb_sess {
    mb_res_t res;
    int refs;
    mb_iec21_t d;
    bool started; /* d holds handles */
    bool closing, released, dead;
    char dead_why[160];
    int wait;
    int op_rc;
    bool op_done;
    int open_status;
    bool in_prog, mode_d;
    unsigned op_timeout_ms;
    char spec[700];
    /* raw input */
    uint8_t *raw;
    uint64_t *rawt;
    size_t rawlen, rawcap;
    size_t want_n;
    unsigned want_flags;
    /* the answer of the last exchange */
    uint64_t ans_first_ns, ans_last_ns;
    size_t ans_bytes;
    unsigned rx_baud;
    /* the last whole message received: its first and last byte, its length */
    uint64_t msg_t0_ns, msg_t1_ns;
    size_t msg_len;
    /* trace */
    iec21_decoder_t tdec;
    uint8_t *tbuf;
    uint8_t *pend;
    size_t pendlen, pendcap, pend_noise;
    uint64_t pend_t0_ns, pend_last_ns;
} mb_sess_t;

typedef struct lsess {
    mb_sess_t *c;
} lsess_t;

/* ---- meanings -------------------------------------------------------------------------
 */

static const char *y_name(char y)
{
    switch (y) {
    case '0':
        return "readout";
    case '1':
        return "programming mode";
    case '2':
        return "binary mode (HDLC)";
    default:
        return "reserved or manufacturer-specific";
    }
}

static void describe(const iec21_msg_t *m, int rc, char *buf, size_t cap)
{
    if (rc == MS_EBADBCC) {
        snprintf(buf, cap, "%s with a wrong BCC (0x%02X received)",
                 m->type == IEC21_MSG_COMMAND ? "command message" : "data block", m->bcc);
        return;
    }
    if (rc < 0) {
        snprintf(buf, cap, "malformed: %s", ms_strerror(rc));
        return;
    }
    switch (m->type) {
    case IEC21_MSG_REQUEST:
        if (m->address[0])
            snprintf(buf, cap, "request (sign-on), address \"%s\"", m->address);
        else
            snprintf(buf, cap, "request (sign-on), no address");
        break;
    case IEC21_MSG_IDENT: {
        char mode = iec21_mode_of_ident(m);
        unsigned baud = iec21_baud_of_z(mode, m->baud_z);
        char rate[48] = "no rate: mode A";
        if (baud)
            snprintf(rate, sizeof rate, "%u Bd, mode %c", baud, mode);
        char enh[24] = "";
        if (m->enh_w)
            snprintf(enh, sizeof enh, ", \\W=%c", m->enh_w);
        snprintf(buf, cap, "identification %s, Z=%c (%s)%s, \"%s\"", m->mfr, m->baud_z,
                 rate, enh, m->ident);
        break;
    }
    case IEC21_MSG_OPTION_SELECT: {
        unsigned baud = iec21_baud_of_z('C', m->opt_z);
        snprintf(buf, cap, "option select V=%c Z=%c (%u Bd) Y=%c (%s)", m->opt_v,
                 m->opt_z, baud, m->opt_y, y_name(m->opt_y));
        break;
    }
    case IEC21_MSG_DATA: {
        if (m->unframed) {
            snprintf(buf, cap, "data message without STX/BCC (mode D), %zu bytes",
                     m->data_len);
            break;
        }
        if (m->data_len >= 2 && m->data[0] == '(' && m->data[m->data_len - 1] == ')' &&
            !memchr(m->data + 1, '(', m->data_len - 2) && m->data_len < 40) {
            snprintf(buf, cap,
                     "data message \"%.*s\" (an error message or a value), BCC ok",
                     (int)m->data_len, (const char *)m->data);
            break;
        }
        ms_rd_t r;
        ms_rd_init(&r, m->data, m->data_len);
        iec21_dataset_t ds;
        unsigned n = 0;
        while (iec21_dataset_next(&r, &ds) == 1)
            n++;
        snprintf(buf, cap, "data %s, %zu bytes, %u data sets, BCC 0x%02X ok",
                 m->partial ? "block (partial, EOT)" : "message", m->data_len, n, m->bcc);
        break;
    }
    case IEC21_MSG_COMMAND: {
        const char *what = "command";
        if (m->cmd == 'P' && m->cmd_type == '0')
            what = "password operand request";
        else if (m->cmd == 'P')
            what = "password";
        else if (m->cmd == 'R')
            what = "read";
        else if (m->cmd == 'W')
            what = "write";
        else if (m->cmd == 'E')
            what = "execute";
        else if (m->cmd == 'B')
            what = "break (sign-off)";
        if (m->has_data)
            snprintf(buf, cap, "%s %c%c \"%.*s\"%s", what, m->cmd, m->cmd_type,
                     (int)(m->data_len > 64 ? 64 : m->data_len), (const char *)m->data,
                     m->partial ? " (partial block)" : "");
        else
            snprintf(buf, cap, "%s %c%c", what, m->cmd, m->cmd_type);
        break;
    }
    case IEC21_MSG_ACK:
        snprintf(buf, cap, "acknowledgement (ACK)");
        break;
    case IEC21_MSG_NAK:
        snprintf(buf, cap, "repeat request (NAK)");
        break;
    default:
        buf[0] = 0;
    }
}

/* ---- trace ----------------------------------------------------------------------------
 */

static void emit(mb_sess_t *c, const char *dir, const uint8_t *p, size_t n, uint64_t t_ns,
                 const char *meaning)
{
    mb_scn_trace(c->res.scn, dir, NULL, p, n, t_ns, true, meaning);
}

static void pend_flush(mb_sess_t *c, const char *meaning)
{
    if (c->pendlen)
        emit(c, "rx", c->pend, c->pendlen, c->pend_t0_ns, meaning);
    c->pendlen = 0;
    c->pend_noise = 0;
}

static void trace_rx(mb_sess_t *c, const uint8_t *p, size_t n, uint64_t t_ns)
{
    if (c->pendlen && t_ns - c->pend_last_ns > GAP_NS) {
        pend_flush(c, "");
        iec21_decoder_reset(&c->tdec);
    }
    for (size_t i = 0; i < n;) {
        if (c->pendlen == c->pendcap) {
            size_t cap = c->pendcap ? c->pendcap * 2 : 256;
            uint8_t *b = realloc(c->pend, cap);
            if (!b)
                return;
            c->pend = b;
            c->pendcap = cap;
        }
        if (!c->pendlen)
            c->pend_t0_ns = t_ns;
        bool was_busy = iec21_decoder_busy(&c->tdec);
        size_t used = 0;
        iec21_msg_t m;
        int rc = iec21_decoder_feed(&c->tdec, p + i, 1, &used, &m);
        if (used) {
            c->pend[c->pendlen++] = p[i];
            if (!was_busy && !iec21_decoder_busy(&c->tdec) && rc == 0)
                c->pend_noise++;
            i++;
        }
        if (rc != 0) {
            c->msg_t0_ns = c->pend_t0_ns;
            c->msg_t1_ns = t_ns;
            c->msg_len = c->pendlen;
            char meaning[256];
            describe(&m, rc, meaning, sizeof meaning);
            if (c->pend_noise) {
                size_t k = strlen(meaning);
                snprintf(meaning + k, sizeof meaning - k, " (after %zu other bytes)",
                         c->pend_noise);
            }
            pend_flush(c, meaning);
        } else if (!used) {
            i++; /* cannot happen: the decoder consumes or reports */
        }
    }
    c->pend_last_ns = t_ns;
}

static void trace_tx(mb_sess_t *c, const uint8_t *p, size_t n, uint64_t t_ns)
{
    pend_flush(c, ""); /* what came before our transmission is over */
    uint8_t buf[512];
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, sizeof buf);
    iec21_decoder_set_flags(&d, IEC21_DEC_OPTION_SELECT);
    size_t used = 0;
    iec21_msg_t m;
    int rc = iec21_decoder_feed(&d, p, n, &used, &m);
    char meaning[256] = "";
    if (rc != 0 && used == n)
        describe(&m, rc, meaning, sizeof meaning);
    else if (n == 1 && p[0] == IEC21_ACK)
        snprintf(meaning, sizeof meaning, "acknowledgement (ACK)");
    else if (n == 1 && p[0] == IEC21_NAK)
        snprintf(meaning, sizeof meaning, "repeat request (NAK)");
    emit(c, "tx", p, n, t_ns, meaning);
}

/* ---- the session's C side -------------------------------------------------------------
 */

static void sess_unref(mb_sess_t *c)
{
    if (--c->refs == 0) {
        free(c->raw);
        free(c->rawt);
        free(c->tbuf);
        free(c->pend);
        free(c);
    }
}

static void raw_add(mb_sess_t *c, const uint8_t *p, size_t n, uint64_t t_ns)
{
    if (c->rawlen + n > RAW_MAX) {
        c->rawlen = 0; /* nobody reads this much raw: start over */
        if (n > RAW_MAX)
            return;
    }
    if (c->rawlen + n > c->rawcap) {
        size_t cap = c->rawcap ? c->rawcap : 1024;
        while (cap < c->rawlen + n)
            cap *= 2;
        uint8_t *b = realloc(c->raw, cap);
        uint64_t *t = realloc(c->rawt, cap * sizeof *t);
        if (b)
            c->raw = b;
        if (t)
            c->rawt = t;
        if (!b || !t)
            return;
        c->rawcap = cap;
    }
    memcpy(c->raw + c->rawlen, p, n);
    for (size_t i = 0; i < n; i++)
        c->rawt[c->rawlen + i] = t_ns;
    c->rawlen += n;
}

static void raw_drop(mb_sess_t *c, size_t n)
{
    if (n >= c->rawlen) {
        c->rawlen = 0;
        return;
    }
    memmove(c->raw, c->raw + n, c->rawlen - n);
    memmove(c->rawt, c->rawt + n, (c->rawlen - n) * sizeof *c->rawt);
    c->rawlen -= n;
}

/* Does the raw buffer hold what recv() waits for? *len: bytes of it; *m decoded over
 * buf (cap >= rawlen + 1), valid while buf is. */
static int raw_complete(mb_sess_t *c, uint8_t *buf, size_t *len, iec21_msg_t *m, int *rc)
{
    *rc = 0;
    if (c->want_n) {
        if (c->rawlen < c->want_n)
            return 0;
        *len = c->want_n;
        return 1;
    }
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, c->rawlen + 1);
    iec21_decoder_set_flags(&d, c->want_flags);
    size_t off = 0;
    while (off < c->rawlen) {
        size_t used = 0;
        *rc = iec21_decoder_feed(&d, c->raw + off, c->rawlen - off, &used, m);
        off += used;
        if (*rc != 0) {
            *len = off;
            return 1;
        }
        if (!used)
            break;
    }
    return 0;
}

static bool raw_ready(mb_sess_t *c)
{
    uint8_t *buf = malloc(c->rawlen + 1);
    if (!buf)
        return false;
    size_t len;
    iec21_msg_t m;
    int rc;
    bool ok = raw_complete(c, buf, &len, &m, &rc);
    free(buf);
    return ok;
}

static void on_trace(void *ud, int dir, const uint8_t *p, size_t n, uint64_t t_ns)
{
    mb_sess_t *c = ud;
    if (dir == MB_TRACE_TX) {
        trace_tx(c, p, n, t_ns);
        return;
    }
    trace_rx(c, p, n, t_ns);
    raw_add(c, p, n, t_ns);
    if (!c->ans_bytes)
        c->ans_first_ns = t_ns;
    c->ans_last_ns = t_ns;
    c->ans_bytes += n;
    if (c->d.phy)
        c->rx_baud = ms_phy_line(c->d.phy)->baud;
    if (c->wait == W_RECV && c->res.scn && raw_ready(c))
        mb_wake(c->res.scn, MB_WAKE_DONE);
}

static void on_done(mb_iec21_t *d, int rc, void *ud)
{
    mb_sess_t *c = ud;
    c->op_rc = rc;
    c->op_done = true;
    if (c->wait == W_OP && c->res.scn)
        mb_wake(c->res.scn, MB_WAKE_DONE);
}

static void on_opened(mb_iec21_t *d, int status, void *ud)
{
    mb_sess_t *c = ud;
    c->open_status = status;
    c->op_done = true;
    if (c->wait == W_OPEN && c->res.scn)
        mb_wake(c->res.scn, MB_WAKE_DONE);
}

static void on_closed(mb_iec21_t *d, void *ud)
{
    mb_sess_t *c = ud;
    c->released = true;
    mb_res_release(&c->res);
    sess_unref(c);
}

static void close_now(mb_sess_t *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    c->dead = true;
    if (why && !c->dead_why[0])
        snprintf(c->dead_why, sizeof c->dead_why, "%s", why);
    pend_flush(c, "");
    mb_iec21_close_async(&c->d, on_closed, c);
}

static void after_break(mb_iec21_t *d, int rc, void *ud)
{
    close_now(ud, "closed");
}

/* Shut down: a session in programming mode signs off with B0 first, so that the meter
 * is back at its start for whatever comes next (a real meter would otherwise wait for
 * its inactivity time-out). */
static void res_shutdown(mb_res_t *r)
{
    mb_sess_t *c = (mb_sess_t *)r;
    if (c->closing)
        return;
    c->wait = W_NONE;
    if (c->in_prog && !c->dead && !c->d.done && !c->d.closed && c->d.phy) {
        c->in_prog = false;
        c->dead = true;
        snprintf(c->dead_why, sizeof c->dead_why, "closed");
        if (mb_iec21_start(&c->d, MB_IEC21_BREAK, 0, 0, NULL, after_break, c) == 0)
            return;
    }
    close_now(c, "closed");
}

static void res_step_edge(mb_res_t *r)
{
    mb_sess_t *c = (mb_sess_t *)r;
    if (!c->closing)
        pend_flush(c, "");
}

static void cancel_op(void *ud)
{
    mb_sess_t *c = ud;
    c->wait = W_NONE;
    /* The client has no way to abandon an exchange half-way: the session ends. */
    close_now(c, "closed after a time limit cut an exchange short");
}

/* ---- Lua handle ---------------------------------------------------------------------
 */

static mb_sess_t *check_sess(lua_State *L)
{
    lsess_t *u = luaL_checkudata(L, 1, SESSION_MT);
    if (!u->c)
        luaL_error(L, "IEC 62056-21 session is closed");
    return u->c;
}

static mb_sess_t *usable(lua_State *L)
{
    mb_sess_t *c = check_sess(L);
    if (c->dead)
        luaL_error(L, "IEC 62056-21 session on %s: %s", c->spec, c->dead_why);
    if (c->wait)
        luaL_error(L, "IEC 62056-21 session: another call is waiting on it");
    return c;
}

static int sess_gc(lua_State *L)
{
    lsess_t *u = luaL_checkudata(L, 1, SESSION_MT);
    mb_sess_t *c = u->c;
    if (!c)
        return 0;
    u->c = NULL;
    res_shutdown(&c->res);
    sess_unref(c);
    return 0;
}

static int sess_tostring(lua_State *L)
{
    lsess_t *u = luaL_checkudata(L, 1, SESSION_MT);
    lua_pushfstring(L, "IEC 62056-21 session on %s%s", u->c ? u->c->spec : "?",
                    u->c && !u->c->dead ? "" : " (closed)");
    return 1;
}

static unsigned opt_ms(lua_State *L, int idx, const char *k, unsigned def)
{
    if (!lua_istable(L, idx))
        return def;
    lua_getfield(L, idx, k);
    lua_Integer v = luaL_optinteger(L, -1, (lua_Integer)def);
    lua_pop(L, 1);
    if (v <= 0 || v > 86400000)
        luaL_error(L, "%s: 1..86400000 ms expected", k);
    return (unsigned)v;
}

static void push_datasets(lua_State *L, const uint8_t *p, size_t n)
{
    ms_rd_t r;
    ms_rd_init(&r, p, n);
    iec21_dataset_t ds;
    lua_newtable(L); /* list */
    lua_newtable(L); /* values */
    lua_newtable(L); /* units */
    int i = 0;
    int rc;
    char last[128] = "";
    while ((rc = iec21_dataset_next(&r, &ds)) == 1) {
        lua_createtable(L, 0, 3);
        if (ds.address_len)
            snprintf(last, sizeof last, "%.*s", (int)ds.address_len, ds.address);
        lua_pushlstring(L, ds.address, ds.address_len);
        lua_setfield(L, -2, "address");
        lua_pushlstring(L, ds.value, ds.value_len);
        lua_setfield(L, -2, "value");
        if (ds.unit_len) {
            lua_pushlstring(L, ds.unit, ds.unit_len);
            lua_setfield(L, -2, "unit");
        }
        lua_seti(L, -4, ++i);
        if (ds.address_len) {
            lua_pushlstring(L, ds.value, ds.value_len);
            lua_setfield(L, -3, last);
            if (ds.unit_len) {
                lua_pushlstring(L, ds.unit, ds.unit_len);
                lua_setfield(L, -2, last);
            }
        }
    }
    lua_pushboolean(L, rc == 0);
}

/* Push the result of the last exchange as a table. */
static void push_result(lua_State *L, mb_sess_t *c, int rc)
{
    const iec21_client_result_t *r = mb_iec21_result(&c->d);
    lua_createtable(L, 0, 24);
    static const char *const replies[] = { "DATA", "ACK", "ERROR", "NAK", "BREAK" };
    lua_pushstring(L, (unsigned)r->reply < 5 ? replies[r->reply] : "?");
    lua_setfield(L, -2, "reply");
    if (r->has_ident) {
        const iec21_msg_t *m = &r->ident;
        if (m->enh_w)
            lua_pushfstring(L, "/%s%c\\%c%s", m->mfr, m->baud_z, m->enh_w, m->ident);
        else
            lua_pushfstring(L, "/%s%c%s", m->mfr, m->baud_z, m->ident);
        lua_setfield(L, -2, "ident");
        lua_pushstring(L, m->mfr);
        lua_setfield(L, -2, "manufacturer");
        lua_pushlstring(L, &m->baud_z, 1);
        lua_setfield(L, -2, "baud_char");
        if (m->enh_w) {
            lua_pushlstring(L, &m->enh_w, 1);
            lua_setfield(L, -2, "enhanced");
        }
        lua_pushstring(L, m->ident);
        lua_setfield(L, -2, "identification");
        lua_pushinteger(L, r->ident_reaction_ms);
        lua_setfield(L, -2, "ident_reaction_ms");
    }
    if (r->mode) {
        lua_pushlstring(L, &r->mode, 1);
        lua_setfield(L, -2, "mode");
    }
    lua_pushinteger(L, r->reaction_ms);
    lua_setfield(L, -2, "reaction_ms");
    lua_pushinteger(L, c->rx_baud ? c->rx_baud : r->baud);
    lua_setfield(L, -2, "baud");
    lua_pushinteger(L, r->naks_sent);
    lua_setfield(L, -2, "naks_sent");
    lua_pushinteger(L, r->naks_received);
    lua_setfield(L, -2, "naks_received");
    /* the final answer's length and how long it took to arrive: 10 bits a character
     * (7E1, 8N1) give the rate it came at */
    if (c->msg_len && c->msg_t1_ns >= c->ans_first_ns) {
        double ms = (double)(c->msg_t1_ns - c->msg_t0_ns) / 1e6;
        lua_pushinteger(L, (lua_Integer)c->msg_len);
        lua_setfield(L, -2, "rx_bytes");
        lua_pushnumber(L, ms);
        lua_setfield(L, -2, "rx_ms");
        if (c->msg_len > 8 && ms > 0) {
            lua_pushnumber(L, 10.0 * (double)(c->msg_len - 1) * 1000.0 / ms);
            lua_setfield(L, -2, "rx_rate_bd");
        }
    }
    if (r->data) {
        lua_pushlstring(L, (const char *)r->data, r->len);
        lua_setfield(L, -2, "data");
        if (r->reply == IEC21_REPLY_DATA) {
            push_datasets(L, r->data, r->len);
            lua_setfield(L, -5, "datasets_ok");
            lua_setfield(L, -4, "units");
            lua_setfield(L, -3, "values");
            lua_setfield(L, -2, "datasets");
        }
    }
    lua_pushstring(L, rc ? ms_err_name(rc) : "OK");
    lua_setfield(L, -2, "code");
}

static const char *reply_text(const iec21_client_result_t *r, char *buf, size_t cap)
{
    switch (r->reply) {
    case IEC21_REPLY_BREAK:
        return "the break message B0";
    case IEC21_REPLY_NAK:
        return "NAK";
    case IEC21_REPLY_ERROR:
        snprintf(buf, cap, "the error message \"(%.*s)\"",
                 (int)(r->len > 40 ? 40 : r->len), r->data ? (const char *)r->data : "");
        return buf;
    case IEC21_REPLY_ACK:
        return "ACK";
    default:
        return "data";
    }
}

/* nil, message, code, result — for an exchange that failed. */
static int push_failure(lua_State *L, mb_sess_t *c, const char *op, int rc)
{
    const iec21_client_result_t *r = mb_iec21_result(&c->d);
    char msg[1024], rb[96];
    switch (rc) {
    case MS_ETIMEDOUT:
        snprintf(msg, sizeof msg, "%s: no %s from the meter in time (%s)", op,
                 !r->has_ident && strcmp(op, "command") && strcmp(op, "break")
                     ? "identification"
                     : "answer",
                 ms_strerror(rc));
        break;
    case MS_EBADBCC:
        snprintf(msg, sizeof msg,
                 "%s: the meter's block check character (BCC) was wrong, also after %u "
                 "NAKs",
                 op, r->naks_sent);
        break;
    case MS_EACCES:
        snprintf(msg, sizeof msg, "%s: password refused with %s", op,
                 reply_text(r, rb, sizeof rb));
        break;
    case MS_EPROTO:
        snprintf(msg, sizeof msg, "%s: unexpected answer from the meter (%s)", op,
                 r->has_ident ? reply_text(r, rb, sizeof rb) : "no identification");
        break;
    case MS_ECLOSED:
        snprintf(msg, sizeof msg, "%s: the connection to %s ended", op, c->spec);
        break;
    default:
        snprintf(msg, sizeof msg, "%s: %s", op, ms_strerror(rc));
    }
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushstring(L, ms_err_name(rc));
    push_result(L, c, rc);
    return 4;
}

/* ---- exchanges --------------------------------------------------------------------- */

static int k_op(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    mb_sess_t *c = check_sess(L);
    c->wait = W_NONE;
    const char *op = ctx == MB_IEC21_READOUT   ? "readout"
                     : ctx == MB_IEC21_PROGRAM ? "programming mode"
                     : ctx == MB_IEC21_BREAK   ? "break"
                                               : "command";
    if (why == MB_WAKE_OP_TIMEOUT) {
        /* cancel_op has closed the session */
        lua_pushnil(L);
        lua_pushfstring(L, "%s: not finished within %d ms (the session is closed)", op,
                        (int)mb_wait_limit_ms(mb_scn_of(L)));
        lua_pushstring(L, "MS_ETIMEDOUT");
        return 3;
    }
    int rc = c->op_rc;
    c->rawlen = 0; /* what came was the client's: raw reads see what comes next */
    if (ctx == MB_IEC21_PROGRAM)
        c->in_prog = rc == 0;
    else if (ctx == MB_IEC21_BREAK || ctx == MB_IEC21_READOUT)
        c->in_prog = false;
    else if (rc && mb_iec21_result(&c->d)->reply == IEC21_REPLY_BREAK)
        c->in_prog = false;
    const iec21_client_result_t *r = mb_iec21_result(&c->d);
    if (r->reply == IEC21_REPLY_BREAK && ctx != MB_IEC21_BREAK)
        c->in_prog = false;
    if (rc)
        return push_failure(L, c, op, rc);
    push_result(L, c, 0);
    return 1;
}

static int start_op(lua_State *L, mb_sess_t *c, mb_iec21_op_t op, char cmd, char type,
                    const char *data, unsigned timeout_ms)
{
    mb_scn_t *s = mb_scn_of(L);
    c->op_done = false;
    c->rawlen = 0; /* raw reads see what comes after this exchange */
    c->ans_bytes = 0;
    c->rx_baud = 0;
    c->msg_len = 0;
    const char *what = op == MB_IEC21_READOUT   ? "iec21 readout"
                       : op == MB_IEC21_PROGRAM ? "iec21 programming mode sign-on"
                       : op == MB_IEC21_BREAK   ? "iec21 break"
                                                : "iec21 command";
    mb_wait_prepare(s, what, cancel_op, c);
    c->wait = W_OP;
    int rc = mb_iec21_start(&c->d, op, cmd, type, data, on_done, c);
    if (rc) {
        c->wait = W_NONE;
        mb_wait_prepare(s, what, NULL, NULL);
        if (rc == MS_EINVAL)
            return luaL_error(L, "invalid argument for the IEC 62056-21 client (%s)",
                              data ? data : "");
        if (rc == MS_ESTATE)
            return luaL_error(L,
                              "%s: not allowed in the session's state (a command needs "
                              "programming mode: c:program(password))",
                              what);
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", what, ms_strerror(rc));
        lua_pushstring(L, ms_err_name(rc));
        return 3;
    }
    return mb_block(L, timeout_ms, k_op, (lua_KContext)op);
}

static int s_readout(lua_State *L)
{
    mb_sess_t *c = usable(L);
    unsigned ms = opt_ms(L, 2, "timeout_ms", c->op_timeout_ms);
    return start_op(L, c, MB_IEC21_READOUT, 0, 0, NULL, ms);
}

/* c:program(password [, level]) */
static int s_program(lua_State *L)
{
    mb_sess_t *c = usable(L);
    const char *pw = luaL_checkstring(L, 2);
    lua_Integer level = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, level == 1 || level == 2, 3, "level 1 (P1) or 2 (P2) expected");
    return start_op(L, c, MB_IEC21_PROGRAM, 'P', level == 2 ? '2' : '1', pw,
                    c->op_timeout_ms);
}

/* c:command("R1", "1.8.0()") */
static int s_command(lua_State *L)
{
    mb_sess_t *c = usable(L);
    size_t n;
    const char *cd = luaL_checklstring(L, 2, &n);
    if (n != 2)
        return luaL_argerror(L, 2, "a command such as \"R1\", \"W1\", \"R5\", \"E2\"");
    const char *data = luaL_optstring(L, 3, NULL);
    return start_op(L, c, MB_IEC21_COMMAND, cd[0], cd[1], data, c->op_timeout_ms);
}

/* c:read("1.8.0") -> value, unit | nil, msg, code */
static int k_read(lua_State *L, int status, lua_KContext ctx)
{
    int n = k_op(L, status, ctx);
    if (n != 1)
        return n;
    mb_sess_t *c = check_sess(L);
    const iec21_client_result_t *r = mb_iec21_result(&c->d);
    ms_rd_t rd;
    ms_rd_init(&rd, r->data, r->len);
    iec21_dataset_t ds;
    if (!r->data || iec21_dataset_next(&rd, &ds) != 1) {
        lua_pushnil(L);
        lua_pushfstring(L, "R1: no data set in the answer \"%s\"",
                        r->data ? (const char *)r->data : "");
        lua_pushstring(L, "MS_EPARSE");
        return 3;
    }
    if (!ds.address_len && r->len < 40 && !ds.unit_len) {
        /* "(...)" without an address: the meter's error message */
        lua_pushnil(L);
        lua_pushfstring(L, "R1: the meter answered \"(%s)\"",
                        lua_pushlstring(L, ds.value, ds.value_len));
        lua_remove(L, -2);
        lua_pushstring(L, "ERROR");
        return 3;
    }
    lua_pushlstring(L, ds.value, ds.value_len);
    if (ds.unit_len)
        lua_pushlstring(L, ds.unit, ds.unit_len);
    else
        lua_pushnil(L);
    return 2;
}

static int s_read(lua_State *L)
{
    mb_sess_t *c = usable(L);
    const char *addr = luaL_checkstring(L, 2);
    lua_pushfstring(L, "%s()", addr);
    mb_scn_t *s = mb_scn_of(L);
    c->op_done = false;
    c->rawlen = 0;
    c->ans_bytes = 0;
    mb_wait_prepare(s, "iec21 read", cancel_op, c);
    c->wait = W_OP;
    int rc = mb_iec21_start(&c->d, MB_IEC21_COMMAND, 'R', '1', lua_tostring(L, -1),
                            on_done, c);
    if (rc) {
        c->wait = W_NONE;
        mb_wait_prepare(s, "iec21 read", NULL, NULL);
        if (rc == MS_ESTATE)
            return luaL_error(L, "c:read needs programming mode (c:program(password))");
        return luaL_error(L, "c:read('%s'): %s", addr, ms_strerror(rc));
    }
    return mb_block(L, c->op_timeout_ms, k_read, (lua_KContext)MB_IEC21_COMMAND);
}

/* c:write("1.8.0", "value") -> reply ("ACK") | nil, msg, code, result */
static int s_write(lua_State *L)
{
    mb_sess_t *c = usable(L);
    const char *addr = luaL_checkstring(L, 2);
    const char *val = luaL_checkstring(L, 3);
    lua_pushfstring(L, "%s(%s)", addr, val);
    return start_op(L, c, MB_IEC21_COMMAND, 'W', '1', lua_tostring(L, -1),
                    c->op_timeout_ms);
}

static int s_break(lua_State *L)
{
    mb_sess_t *c = usable(L);
    return start_op(L, c, MB_IEC21_BREAK, 0, 0, NULL, c->op_timeout_ms);
}

/* c:send(bytes [, delay_ms]): raw bytes after delay_ms of line silence (default 200,
 * the minimum reaction time). Returns the time (t:now_ms scale is not used: ms from
 * now) when they will have left. */
static int s_send(lua_State *L)
{
    mb_sess_t *c = usable(L);
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    lua_Integer delay = luaL_optinteger(L, 3, 200);
    luaL_argcheck(L, delay >= 0 && delay < 600000, 3, "0..600000 ms");
    int rc = mb_iec21_send_raw(&c->d, (const uint8_t *)p, n, (unsigned)delay);
    if (rc) {
        lua_pushnil(L);
        lua_pushfstring(L, "send: %s", ms_strerror(rc));
        lua_pushstring(L, ms_err_name(rc));
        return 3;
    }
    uint64_t now = uv_hrtime();
    lua_pushnumber(L, c->d.tx_end_ns > now ? (double)(c->d.tx_end_ns - now) / 1e6 : 0.0);
    return 1;
}

static const char *type_name(iec21_msg_type_t t)
{
    switch (t) {
    case IEC21_MSG_REQUEST:
        return "REQUEST";
    case IEC21_MSG_IDENT:
        return "IDENT";
    case IEC21_MSG_OPTION_SELECT:
        return "OPTION_SELECT";
    case IEC21_MSG_DATA:
        return "DATA";
    case IEC21_MSG_COMMAND:
        return "COMMAND";
    case IEC21_MSG_ACK:
        return "ACK";
    case IEC21_MSG_NAK:
        return "NAK";
    default:
        return "NONE";
    }
}

/* A decoded message as a table (bytes: the whole message as received). */
static void push_msg(lua_State *L, const iec21_msg_t *m, int rc, const uint8_t *bytes,
                     size_t n)
{
    lua_createtable(L, 0, 12);
    lua_pushstring(L, rc < 0 && rc != MS_EBADBCC ? "MALFORMED" : type_name(m->type));
    lua_setfield(L, -2, "type");
    lua_pushlstring(L, (const char *)bytes, n);
    lua_setfield(L, -2, "bytes");
    char meaning[256];
    describe(m, rc, meaning, sizeof meaning);
    lua_pushstring(L, meaning);
    lua_setfield(L, -2, "meaning");
    if (rc < 0 && rc != MS_EBADBCC) {
        lua_pushstring(L, ms_err_name(rc));
        lua_setfield(L, -2, "error");
        return;
    }
    switch (m->type) {
    case IEC21_MSG_REQUEST:
        lua_pushstring(L, m->address);
        lua_setfield(L, -2, "address");
        break;
    case IEC21_MSG_IDENT:
        lua_pushstring(L, m->mfr);
        lua_setfield(L, -2, "manufacturer");
        lua_pushlstring(L, &m->baud_z, 1);
        lua_setfield(L, -2, "baud_char");
        if (m->enh_w) {
            lua_pushlstring(L, &m->enh_w, 1);
            lua_setfield(L, -2, "enhanced");
        }
        lua_pushstring(L, m->ident);
        lua_setfield(L, -2, "identification");
        break;
    case IEC21_MSG_OPTION_SELECT:
        lua_pushlstring(L, &m->opt_v, 1);
        lua_setfield(L, -2, "v");
        lua_pushlstring(L, &m->opt_z, 1);
        lua_setfield(L, -2, "z");
        lua_pushlstring(L, &m->opt_y, 1);
        lua_setfield(L, -2, "y");
        break;
    case IEC21_MSG_COMMAND:
        lua_pushfstring(L, "%c%c", m->cmd, m->cmd_type);
        lua_setfield(L, -2, "cmd");
        /* fall through */
    case IEC21_MSG_DATA: {
        /* data between STX and ETX/EOT, from the received bytes */
        const uint8_t *stx = memchr(bytes, IEC21_STX, n);
        const uint8_t *end = NULL;
        for (size_t i = n; i > 0; i--) {
            if (bytes[i - 1] == IEC21_ETX || bytes[i - 1] == IEC21_EOT) {
                end = bytes + i - 1;
                break;
            }
        }
        if (m->unframed) {
            lua_pushlstring(L, (const char *)bytes, n);
            lua_setfield(L, -2, "data");
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "unframed");
            break;
        }
        if (stx && end && end > stx) {
            lua_pushlstring(L, (const char *)stx + 1, (size_t)(end - stx - 1));
            lua_setfield(L, -2, "data");
        }
        lua_pushboolean(L, m->partial);
        lua_setfield(L, -2, "partial");
        /* BCC: XOR over every byte after the first SOH or STX up to ETX/EOT inclusive */
        const uint8_t *first = NULL;
        for (size_t i = 0; i < n && !first; i++)
            if (bytes[i] == IEC21_SOH || bytes[i] == IEC21_STX)
                first = bytes + i;
        if (first && end && end + 1 < bytes + n) {
            uint8_t want = ms_bcc(first + 1, (size_t)(end - first));
            lua_pushinteger(L, end[1]);
            lua_setfield(L, -2, "bcc");
            lua_pushinteger(L, want);
            lua_setfield(L, -2, "expected_bcc");
            lua_pushboolean(L, want == end[1]);
            lua_setfield(L, -2, "bcc_ok");
        }
        break;
    }
    default:
        break;
    }
}

static int k_recv(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    mb_sess_t *c = check_sess(L);
    c->wait = W_NONE;
    size_t len;
    iec21_msg_t m;
    int rc = 0;
    uint8_t *buf = malloc(c->rawlen + 1);
    if (!buf)
        return luaL_error(L, "out of memory");
    if (!raw_complete(c, buf, &len, &m, &rc)) {
        free(buf);
        (void)why;
        lua_pushnil(L);
        if (c->rawlen)
            lua_pushfstring(L, "recv: no complete %s within %d ms (%d bytes came)",
                            c->want_n ? "answer" : "message",
                            (int)mb_wait_limit_ms(mb_scn_of(L)), (int)c->rawlen);
        else
            lua_pushfstring(L, "recv: nothing within %d ms",
                            (int)mb_wait_limit_ms(mb_scn_of(L)));
        lua_pushstring(L, "MS_ETIMEDOUT");
        lua_pushlstring(L, (const char *)c->raw, c->rawlen);
        return 4;
    }
    /* reaction time: first byte of the answer after the end of our transmission */
    size_t first = 0;
    if (!c->want_n)
        while (first < len &&
               !(c->raw[first] == '/' || c->raw[first] == IEC21_STX ||
                 c->raw[first] == IEC21_SOH || c->raw[first] == IEC21_ACK ||
                 c->raw[first] == IEC21_NAK || c->raw[first] >= 0x20))
            first++;
    if (first >= len)
        first = 0;
    uint64_t t_first = c->rawt[first], t_last = c->rawt[len - 1];
    uint64_t ref = c->d.tx_end_ns;
    if (c->want_n) {
        lua_createtable(L, 0, 4);
        lua_pushlstring(L, (const char *)c->raw, len);
        lua_setfield(L, -2, "bytes");
    } else {
        push_msg(L, &m, rc, c->raw, len);
    }
    free(buf);
    lua_pushnumber(L, t_first > ref ? (double)(t_first - ref) / 1e6 : 0.0);
    lua_setfield(L, -2, "reaction_ms");
    lua_pushnumber(L, (double)(t_last - t_first) / 1e6);
    lua_setfield(L, -2, "rx_ms");
    raw_drop(c, len);
    return 1;
}

/* c:recv{timeout_ms=, n=, option_select=, unframed=} -> message | nil, msg, code, bytes
 */
static int s_recv(lua_State *L)
{
    mb_sess_t *c = usable(L);
    static const char *const allowed[] = { "timeout_ms", "n", "option_select", "unframed",
                                           NULL };
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        mb_check_opts(L, 2, "c:recv", allowed);
    }
    unsigned ms = opt_ms(L, 2, "timeout_ms", 3700);
    c->want_n = 0;
    c->want_flags = 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "n");
        lua_Integer n = luaL_optinteger(L, -1, 0);
        luaL_argcheck(L, n >= 0 && n <= 65536, 2, "n: 0..65536");
        c->want_n = (size_t)n;
        lua_getfield(L, 2, "option_select");
        if (lua_toboolean(L, -1))
            c->want_flags |= IEC21_DEC_OPTION_SELECT;
        lua_getfield(L, 2, "unframed");
        if (lua_toboolean(L, -1) || c->mode_d)
            c->want_flags |= IEC21_DEC_UNFRAMED;
        lua_pop(L, 3);
    } else if (c->mode_d) {
        c->want_flags |= IEC21_DEC_UNFRAMED;
    }
    mb_scn_t *s = mb_scn_of(L);
    mb_wait_prepare(s, "iec21 recv", NULL, NULL);
    c->wait = W_RECV;
    if (raw_ready(c))
        mb_wake(s, MB_WAKE_DONE);
    /* time limit: not an error here (silence is what some negative tests expect) */
    return mb_block(L, ms, k_recv, 0);
}

static int s_clear(lua_State *L)
{
    mb_sess_t *c = check_sess(L);
    c->rawlen = 0;
    return 0;
}

static int s_set_baud(lua_State *L)
{
    mb_sess_t *c = usable(L);
    lua_Integer baud = luaL_checkinteger(L, 2);
    int rc = mb_iec21_set_baud(&c->d, (unsigned)baud);
    if (rc == MS_ENOTSUP) { /* tcp: nothing to switch */
        lua_pushboolean(L, 0);
        return 1;
    }
    if (rc)
        return luaL_error(L, "set_baud(%d): %s", (int)baud, ms_strerror(rc));
    lua_pushboolean(L, 1);
    return 1;
}

static int s_close(lua_State *L)
{
    return sess_gc(L);
}

static int sess_index(lua_State *L)
{
    lsess_t *u = luaL_checkudata(L, 1, SESSION_MT);
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    mb_sess_t *c = u->c;
    if (!strcmp(k, "closed")) {
        lua_pushboolean(L, !c || c->dead);
    } else if (!c) {
        return luaL_error(L, "IEC 62056-21 session is closed (reading '%s')", k);
    } else if (!strcmp(k, "spec")) {
        lua_pushstring(L, c->spec);
    } else if (!strcmp(k, "baud")) {
        lua_pushinteger(L, c->d.phy ? (lua_Integer)ms_phy_line(c->d.phy)->baud : 0);
    } else if (!strcmp(k, "in_programming")) {
        lua_pushboolean(L, c->in_prog);
    } else if (!strcmp(k, "transport")) {
        lua_pushstring(L, !strncmp(c->spec, "tcp:", 4) ? "tcp" : "serial");
    } else {
        return luaL_error(L,
                          "unknown method or field '%s' of an IEC 62056-21 session "
                          "(docs/scenario-api.md)",
                          k);
    }
    return 1;
}

void mb_session_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "readout", s_readout }, { "program", s_program },   { "command", s_command },
        { "read", s_read },       { "write", s_write },       { "sign_off", s_break },
        { "b0", s_break },        { "send", s_send },         { "recv", s_recv },
        { "clear", s_clear },     { "set_baud", s_set_baud }, { "close", s_close },
        { NULL, NULL },
    };
    luaL_newmetatable(L, SESSION_MT);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushcclosure(L, sess_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, sess_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, sess_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, sess_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

/* ---- opening -------------------------------------------------------------------------
 */

static const char *const sess_opts[] = { "transport",
                                         "address",
                                         "max_baud",
                                         "no_switch",
                                         "reaction_ms",
                                         "switch_wait_ms",
                                         "response_timeout_ms",
                                         "ta_ms",
                                         "max_naks",
                                         "max_message",
                                         "mode_d",
                                         "timeout_ms",
                                         NULL };

static unsigned opt_uint(lua_State *L, int idx, const char *k, unsigned max)
{
    lua_getfield(L, idx, k);
    lua_Integer v = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    if (v < 0 || (lua_Integer)v > (lua_Integer)max)
        luaL_error(L, "iec21 session: %s: 0..%u expected", k, max);
    return (unsigned)v;
}

static int k_open(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    lsess_t *u = luaL_checkudata(L, lua_gettop(L), SESSION_MT); /* pushed by open */
    mb_sess_t *c = u->c;
    c->wait = W_NONE;
    if (why == MB_WAKE_OP_TIMEOUT || c->open_status) {
        const char *e =
            why == MB_WAKE_OP_TIMEOUT ? "timed out" : ms_strerror(c->open_status);
        close_now(c, "could not connect");
        return mb_raise(L, "fixture", "cannot connect to the meter %s: %s", c->spec, e);
    }
    return 1;
}

int mb_session_open(lua_State *L, const char *spec, int opts)
{
    mb_scn_t *s = mb_scn_of(L);
    iec21_client_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    unsigned op_ms = DEFAULT_OP_MS;
    bool mode_d = false;
    if (opts) {
        mb_check_opts(L, opts, "m:iec21", sess_opts);
        lua_getfield(L, opts, "address");
        const char *a = luaL_optstring(L, -1, "");
        if (strlen(a) > IEC21_ADDRESS_MAX)
            return luaL_error(L, "m:iec21: address: at most %d characters",
                              IEC21_ADDRESS_MAX);
        snprintf(cfg.address, sizeof cfg.address, "%s", a);
        lua_pop(L, 1);
        cfg.max_baud = opt_uint(L, opts, "max_baud", 19200);
        cfg.reaction_ms = opt_uint(L, opts, "reaction_ms", 600000);
        cfg.switch_wait_ms = opt_uint(L, opts, "switch_wait_ms", 600000);
        cfg.response_timeout_ms = opt_uint(L, opts, "response_timeout_ms", 600000);
        cfg.ta_ms = opt_uint(L, opts, "ta_ms", 600000);
        cfg.max_naks = opt_uint(L, opts, "max_naks", 100);
        cfg.max_message = opt_uint(L, opts, "max_message", 16u << 20);
        lua_getfield(L, opts, "no_switch");
        cfg.no_switch = lua_toboolean(L, -1);
        lua_getfield(L, opts, "mode_d");
        mode_d = lua_toboolean(L, -1);
        lua_pop(L, 2);
        cfg.mode_d = mode_d ? 1 : 0;
        unsigned t = opt_uint(L, opts, "timeout_ms", 86400000);
        if (t)
            op_ms = t;
    }
    lsess_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->c = NULL;
    luaL_setmetatable(L, SESSION_MT);
    mb_sess_t *c = calloc(1, sizeof *c);
    if (!c)
        return luaL_error(L, "out of memory");
    c->refs = 2; /* Lua handle + C life cycle (until on_closed) */
    c->res.kind = "iec21";
    c->res.shutdown = res_shutdown;
    c->res.step_edge = res_step_edge;
    c->op_timeout_ms = op_ms;
    c->mode_d = mode_d;
    snprintf(c->spec, sizeof c->spec, "%s", spec);
    c->tbuf = malloc(TRACE_MSG);
    if (!c->tbuf) {
        free(c);
        return luaL_error(L, "out of memory");
    }
    iec21_decoder_init(&c->tdec, c->tbuf, TRACE_MSG);
    if (mode_d)
        iec21_decoder_set_flags(&c->tdec, IEC21_DEC_UNFRAMED);
    u->c = c;
    mb_res_add(s, &c->res);
    char msg[512];
    int rc = mb_iec21_open_async(&c->d, mb_scn_env(s)->loop, spec, &cfg, on_opened, c,
                                 msg, sizeof msg);
    c->d.trace = on_trace;
    c->d.trace_ud = c;
    if (rc < 0) {
        close_now(c, "could not open");
        return mb_raise(L, "fixture", "cannot open the meter's port: %s", msg);
    }
    if (rc == 0)
        return 1;
    /* TCP: wait for the connection */
    mb_wait_prepare(s, "the TCP connection", NULL, NULL);
    c->wait = W_OPEN;
    return mb_block(L, 10000, k_open, 0);
}

/* ---- the iec21 module: codec helpers for raw exchanges --------------------------------
 */

static void push_written(lua_State *L, int rc, ms_wr_t *w, bool bad_bcc)
{
    if (rc < 0)
        luaL_error(L, "iec21: cannot encode: %s", ms_strerror(rc));
    if (bad_bcc && w->len)
        w->buf[w->len - 1] ^= 0x01;
    lua_pushlstring(L, (const char *)w->buf, w->len);
}

static bool opt_bool(lua_State *L, int idx, const char *k)
{
    if (!lua_istable(L, idx))
        return false;
    lua_getfield(L, idx, k);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static int i_request(lua_State *L)
{
    const char *addr = luaL_optstring(L, 1, "");
    uint8_t buf[64];
    ms_wr_t w;
    ms_wr_init(&w, buf, sizeof buf);
    push_written(L, iec21_encode_request(&w, addr), &w, false);
    return 1;
}

static int i_option_select(lua_State *L)
{
    const char *v = luaL_checkstring(L, 1), *z = luaL_checkstring(L, 2),
               *y = luaL_checkstring(L, 3);
    uint8_t buf[16];
    ms_wr_t w;
    ms_wr_init(&w, buf, sizeof buf);
    push_written(L, iec21_encode_option_select(&w, v[0], z[0], y[0]), &w, false);
    return 1;
}

/* iec21.command("R1", "1.8.0()" [, {bad_bcc=, partial=}]) ; data nil: no STX part */
static int i_command(lua_State *L)
{
    size_t n, dn = 0;
    const char *cd = luaL_checklstring(L, 1, &n);
    luaL_argcheck(L, n == 2, 1, "a command such as \"R1\"");
    const char *data = luaL_optlstring(L, 2, NULL, &dn);
    luaL_Buffer b;
    uint8_t *buf = (uint8_t *)luaL_buffinitsize(L, &b, dn + 16);
    ms_wr_t w;
    ms_wr_init(&w, buf, dn + 16);
    int rc = iec21_encode_command(&w, cd[0], cd[1], data, dn, opt_bool(L, 3, "partial"));
    if (rc < 0)
        return luaL_error(L, "iec21.command: %s", ms_strerror(rc));
    if (opt_bool(L, 3, "bad_bcc"))
        buf[w.len - 1] ^= 0x01;
    luaL_pushresultsize(&b, w.len);
    return 1;
}

/* iec21.data("body" [, {bad_bcc=, partial=}]) -> STX body ETX BCC */
static int i_data(lua_State *L)
{
    size_t dn;
    const char *data = luaL_checklstring(L, 1, &dn);
    luaL_Buffer b;
    uint8_t *buf = (uint8_t *)luaL_buffinitsize(L, &b, dn + 8);
    ms_wr_t w;
    ms_wr_init(&w, buf, dn + 8);
    int rc = iec21_encode_data(&w, data, dn, opt_bool(L, 2, "partial"));
    if (rc < 0)
        return luaL_error(L, "iec21.data: %s", ms_strerror(rc));
    if (opt_bool(L, 2, "bad_bcc"))
        buf[w.len - 1] ^= 0x01;
    luaL_pushresultsize(&b, w.len);
    return 1;
}

static int i_bcc(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    lua_pushinteger(L, ms_bcc((const uint8_t *)p, n));
    return 1;
}

/* iec21.decode(bytes [, {option_select=, unframed=}]) -> message, rest | nil, why */
static int i_decode(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    unsigned flags = (opt_bool(L, 2, "option_select") ? IEC21_DEC_OPTION_SELECT : 0) |
                     (opt_bool(L, 2, "unframed") ? IEC21_DEC_UNFRAMED : 0);
    uint8_t *buf = malloc(n + 1);
    if (!buf)
        return luaL_error(L, "out of memory");
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, n + 1);
    iec21_decoder_set_flags(&d, flags);
    size_t off = 0;
    iec21_msg_t m;
    int rc = 0;
    while (off < n) {
        size_t used = 0;
        rc = iec21_decoder_feed(&d, p + off, n - off, &used, &m);
        off += used;
        if (rc != 0 || !used)
            break;
    }
    if (rc == 0) {
        free(buf);
        lua_pushnil(L);
        lua_pushliteral(L, "incomplete message");
        return 2;
    }
    push_msg(L, &m, rc, p, off);
    free(buf);
    lua_pushlstring(L, (const char *)p + off, n - off);
    return 2;
}

/* iec21.datasets(block) -> list, values, units, ok */
static int i_datasets(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    push_datasets(L, (const uint8_t *)p, n);
    return 4;
}

static int i_baud_of_z(lua_State *L)
{
    const char *mode = luaL_checkstring(L, 1), *z = luaL_checkstring(L, 2);
    unsigned b = iec21_baud_of_z(mode[0], z[0]);
    if (b)
        lua_pushinteger(L, b);
    else
        lua_pushnil(L);
    return 1;
}

int luaopen_mb_iec21(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "request", i_request },
        { "option_select", i_option_select },
        { "command", i_command },
        { "data", i_data },
        { "bcc", i_bcc },
        { "decode", i_decode },
        { "datasets", i_datasets },
        { "baud_of_z", i_baud_of_z },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    static const struct {
        const char *name;
        char c;
    } ctl[] = { { "SOH", IEC21_SOH }, { "STX", IEC21_STX }, { "ETX", IEC21_ETX },
                { "EOT", IEC21_EOT }, { "ACK", IEC21_ACK }, { "NAK", IEC21_NAK },
                { "CR", IEC21_CR },   { "LF", IEC21_LF } };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
        lua_pushlstring(L, &ctl[i].c, 1);
        lua_setfield(L, -2, ctl[i].name);
    }
    return 1;
}
