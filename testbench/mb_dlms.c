/*
** mb_dlms.c — the DLMS/COSEM session of meterbench: m:dlms{...} opens a client (head-end)
** on a meter over the IEC 62056-47 wrapper (TCP) or IEC 62056-46 HDLC (pty, serial port
** or TCP) and runs protocols/dlms/dlms_client (AARQ with lowest/LLS/HLS-GMAC, GET with
** block transfer, SET, ACTION, RLRQ, ciphering) over protocols/hdlc/hdlc_link (client
** role) or the wrapper codec, on protocols/phy streams, inside the scenario's coroutine.
** Raw frames and APDUs for negative tests; every frame and APDU goes into the step's
** frame trace. API: docs/scenario-api.md "DLMS/COSEM".
** SPDX-License-Identifier: MIT
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "dlms_acse.h"
#include "dlms_client.h"
#include "dlms_wrapper.h"
#include "hdlc_link.h"
#include "mb_dlms.h"
#include "mb_rt.h"
#include "ms_err.h"
#include "ms_hex.h"
#include "phy.h"

#define DLMS_MT       "mb.dlms"
#define REQ_CAP       (70u * 1024u)
#define DEFAULT_OP_MS 30000u
#define RAW_MAX       256u /* frames kept for recv_raw */

enum { W_NONE = 0, W_OPEN, W_OP, W_RAW };
enum { OP_NONE = 0, OP_CONNECT, OP_DISCONNECT, OP_DLMS, OP_APDU };
/* what an OP_DLMS operation was (the continuation's context) */
enum { K_ASSOC = 1, K_GET, K_SET, K_ACTION, K_RELEASE };

typedef struct raw_frame {
    struct raw_frame *next;
    uint64_t t_ns;
    int rc;
    size_t n;
    uint8_t b[];
} raw_frame_t;

typedef struct op_stats {
    unsigned frames_tx, frames_rx, i_tx, i_rx, seg_tx, seg_rx, max_info_tx, max_info_rx;
    unsigned rr_rx, apdus_tx, apdus_rx;
    uint64_t t0_ns;
} op_stats_t;

typedef struct mb_dlms {
    mb_res_t res;
    int refs;
    uv_loop_t *loop;
    ms_phy_t *phy;
    uv_timer_t timer;
    bool timer_init;
    bool hdlc, tcp;
    char spec[700];
    uint16_t client, server_sap;
    hdlc_link_t *link;
    hdlc_link_cfg_t lcfg;
    dlms_client_t *dc;
    dlms_client_cfg_t ccfg;
    unsigned op_timeout_ms;
    bool closing, dead, released;
    bool disc_closing; /* a DISC on its way out before the stream closes */
    char dead_why[160];
    int open_status;
    int wait, op;
    bool op_done;
    int op_rc;
    bool link_up;
    int link_reason;
    uint8_t *req;
    uint8_t *ans;
    size_t ans_len;
    uint8_t *last_req;
    size_t last_req_len;
    /* receiving */
    wrap_decoder_t wdec;
    uint8_t *wbuf;
    hdlc_decoder_t hdec;
    uint8_t hbuf[HDLC_FORMAT_LENGTH_MAX + 16];
    uint8_t *pend;
    size_t pendlen, pendcap;
    uint64_t pend_t0;
    raw_frame_t *rq_head, *rq_tail;
    unsigned rq_n;
    op_stats_t st;
} mb_dlms_t;

typedef struct ldlms {
    mb_dlms_t *d;
} ldlms_t;

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* ---- trace ------------------------------------------------------------------------ */

static void emit(mb_dlms_t *d, const char *dir, const char *layer, const uint8_t *p,
                 size_t n, uint64_t t_ns, const char *meaning)
{
    mb_scn_trace(d->res.scn, dir, layer, p, n, t_ns, false, meaning);
}

/* The client's APDUs, as built and as fed (plain: the deciphered form). */
static void on_apdu_trace(void *ctx, bool sent, const uint8_t *wire, size_t wl,
                          const uint8_t *plain, size_t pl)
{
    mb_dlms_t *d = ctx;
    char meaning[800];
    mb_dlms_describe_apdu(wire, wl, plain, pl, meaning, sizeof meaning);
    emit(d, sent ? "tx" : "rx", "apdu", wire, wl, uv_hrtime(), meaning);
    if (sent) {
        d->st.apdus_tx++;
        if (wl <= REQ_CAP) {
            memcpy(d->last_req, wire, wl);
            d->last_req_len = wl;
        }
    } else {
        d->st.apdus_rx++;
    }
}

/* An HDLC frame the session received or sent: statistics. */
static void count_frame(mb_dlms_t *d, bool rx, const hdlc_frame_t *f)
{
    if (rx) {
        d->st.frames_rx++;
        if (f->type == HDLC_I) {
            d->st.i_rx++;
            if (f->segmented)
                d->st.seg_rx++;
            if (f->info_len > d->st.max_info_rx)
                d->st.max_info_rx = (unsigned)f->info_len;
        } else if (f->type == HDLC_RR) {
            d->st.rr_rx++;
        }
    } else {
        d->st.frames_tx++;
        if (f->type == HDLC_I) {
            d->st.i_tx++;
            if (f->segmented)
                d->st.seg_tx++;
            if (f->info_len > d->st.max_info_tx)
                d->st.max_info_tx = (unsigned)f->info_len;
        }
    }
}

/* Bytes we send: HDLC frames one trace entry each, a wrapper frame as one. */
static void trace_tx(mb_dlms_t *d, const uint8_t *p, size_t n, uint64_t t_ns)
{
    char meaning[600];
    if (!d->hdlc) {
        if (n >= WRAP_HEADER_LEN) {
            wrap_frame_t f;
            mb_wrap_header(p, &f);
            mb_wrap_describe(&f, meaning, sizeof meaning);
        } else {
            snprintf(meaning, sizeof meaning,
                     "%zu octets (shorter than a wrapper header)", n);
        }
        emit(d, "tx", "wrapper", p, n, t_ns, meaning);
        return;
    }
    uint8_t buf[HDLC_FORMAT_LENGTH_MAX + 16];
    hdlc_decoder_t dec;
    hdlc_decoder_init(&dec, buf, sizeof buf);
    size_t off = 0, start = 0;
    while (off < n) {
        size_t used = 0;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&dec, p + off, n - off, &used, &f);
        off += used;
        if (rc != 0) {
            mb_hdlc_describe_frame(&f, rc, meaning, sizeof meaning);
            emit(d, "tx", "hdlc", p + start, off - start, t_ns, meaning);
            if (rc > 0 || rc == MS_ETOOBIG)
                count_frame(d, false, &f);
            start = off;
        } else if (!used) {
            break;
        }
    }
    if (start < n) /* a frame without its end (a raw negative test) */
        emit(d, "tx", "hdlc", p + start, n - start, t_ns,
             "incomplete frame (no closing flag or cut short)");
}

/* ---- raw frames ------------------------------------------------------------------- */

static void rq_clear(mb_dlms_t *d)
{
    while (d->rq_head) {
        raw_frame_t *f = d->rq_head;
        d->rq_head = f->next;
        free(f);
    }
    d->rq_tail = NULL;
    d->rq_n = 0;
}

static void rq_push(mb_dlms_t *d, const uint8_t *p, size_t n, int rc, uint64_t t_ns)
{
    if (d->op != OP_NONE)
        return; /* frames of an exchange belong to it */
    if (d->rq_n >= RAW_MAX) {
        raw_frame_t *f = d->rq_head;
        d->rq_head = f->next;
        if (!d->rq_head)
            d->rq_tail = NULL;
        free(f);
        d->rq_n--;
    }
    raw_frame_t *f = malloc(sizeof *f + n);
    if (!f)
        return;
    f->next = NULL;
    f->t_ns = t_ns;
    f->rc = rc;
    f->n = n;
    memcpy(f->b, p, n);
    if (d->rq_tail)
        d->rq_tail->next = f;
    else
        d->rq_head = f;
    d->rq_tail = f;
    d->rq_n++;
    if (d->wait == W_RAW && d->res.scn)
        mb_wake(d->res.scn, MB_WAKE_DONE);
}

/* ---- the session ------------------------------------------------------------------ */

static void finish_op(mb_dlms_t *d, int rc)
{
    if (d->op == OP_NONE)
        return;
    d->op = OP_NONE;
    d->op_done = true;
    d->op_rc = rc;
    if (d->wait == W_OP && d->res.scn)
        mb_wake(d->res.scn, MB_WAKE_DONE);
}

static void pump(mb_dlms_t *d);

static int write_phy(mb_dlms_t *d, const uint8_t *p, size_t n)
{
    if (!d->phy || d->closing)
        return MS_ECLOSED;
    uint64_t t = uv_hrtime();
    trace_tx(d, p, n, t);
    return ms_phy_write(d->phy, p, n, 0);
}

/* Send one APDU through the transport. */
static int send_apdu(mb_dlms_t *d, const uint8_t *p, size_t n)
{
    if (!d->hdlc) {
        uint8_t *f = malloc(n + WRAP_HEADER_LEN);
        if (!f)
            return MS_ENOMEM;
        ms_wr_t w;
        ms_wr_init(&w, f, n + WRAP_HEADER_LEN);
        int rc = wrap_encode(&w, d->client, d->server_sap, p, n);
        if (rc == 0)
            rc = write_phy(d, f, w.len);
        free(f);
        return rc;
    }
    int rc = hdlc_link_send(d->link, now_ms(), p, n);
    if (rc == 0)
        pump(d);
    return rc;
}

/* An APDU arrived (wrapper frame or reassembled from I frames). */
static void on_apdu(mb_dlms_t *d, const uint8_t *p, size_t n)
{
    if (d->op == OP_APDU) {
        d->st.apdus_rx++;
        char meaning[800];
        mb_dlms_describe_apdu(p, n, NULL, 0, meaning, sizeof meaning);
        emit(d, "rx", "apdu", p, n, uv_hrtime(), meaning);
        uint8_t *a = realloc(d->ans, n ? n : 1);
        if (!a) {
            finish_op(d, MS_ENOMEM);
            return;
        }
        d->ans = a;
        memcpy(a, p, n);
        d->ans_len = n;
        finish_op(d, 0);
        return;
    }
    if (d->op != OP_DLMS) {
        char meaning[800];
        mb_dlms_describe_apdu(p, n, NULL, 0, meaning, sizeof meaning);
        emit(d, "rx", "apdu", p, n, uv_hrtime(), meaning);
        return;
    }
    ms_wr_t out;
    ms_wr_init(&out, d->req, REQ_CAP);
    int rc = dlms_client_feed(d->dc, p, n, &out);
    if (rc == DLMS_CLIENT_SEND) {
        rc = send_apdu(d, out.buf, out.len);
        if (rc < 0) {
            ms_wr_init(&out, d->req, REQ_CAP);
            dlms_client_feed(d->dc, NULL, 0, &out); /* abandon */
            finish_op(d, rc);
        }
        return;
    }
    finish_op(d, rc);
}

static void on_timer(uv_timer_t *t);

static void arm(mb_dlms_t *d)
{
    if (!d->link || !d->timer_init || d->closing || d->disc_closing)
        return;
    uint64_t dl = hdlc_link_deadline(d->link);
    if (dl == UINT64_MAX) {
        uv_timer_stop(&d->timer);
        return;
    }
    uint64_t n = now_ms();
    uv_timer_start(&d->timer, on_timer, dl > n ? dl - n : 0, 0);
}

/* Execute the HDLC link's actions. */
static void pump(mb_dlms_t *d)
{
    if (!d->link || d->closing)
        return;
    hdlc_action_t a;
    while (!d->closing && hdlc_link_next_action(d->link, &a)) {
        switch (a.type) {
        case HDLC_ACT_SEND:
            write_phy(d, a.data, a.len);
            break;
        case HDLC_ACT_APDU:
            on_apdu(d, a.data, a.len);
            break;
        case HDLC_ACT_CONNECTED:
            d->link_up = true;
            if (d->op == OP_CONNECT)
                finish_op(d, 0);
            break;
        case HDLC_ACT_DISCONNECTED:
            d->link_up = false;
            d->link_reason = a.reason;
            if (d->op == OP_CONNECT) {
                finish_op(d, a.reason ? a.reason : MS_ECLOSED);
            } else if (d->op == OP_DISCONNECT) {
                finish_op(d, a.reason);
            } else if (d->op == OP_DLMS || d->op == OP_APDU) {
                if (d->op == OP_DLMS) {
                    ms_wr_t out;
                    ms_wr_init(&out, d->req, REQ_CAP);
                    dlms_client_feed(d->dc, NULL, 0, &out);
                }
                finish_op(d, a.reason ? a.reason : MS_ECLOSED);
            }
            break;
        }
    }
    arm(d);
}

static void on_timer(uv_timer_t *t)
{
    mb_dlms_t *d = t->data;
    if (!d->link || d->closing || d->disc_closing)
        return;
    hdlc_link_tick(d->link, now_ms());
    pump(d);
}

static void trace_rx_flush(mb_dlms_t *d, const char *meaning)
{
    if (d->pendlen)
        emit(d, "rx", d->hdlc ? "hdlc" : "wrapper", d->pend, d->pendlen, d->pend_t0,
             meaning);
    d->pendlen = 0;
}

static void pend_add(mb_dlms_t *d, const uint8_t *p, size_t n, uint64_t t_ns)
{
    if (d->pendlen + n > d->pendcap) {
        size_t cap = d->pendcap ? d->pendcap : 4096;
        while (cap < d->pendlen + n)
            cap *= 2;
        uint8_t *b = realloc(d->pend, cap);
        if (!b)
            return;
        d->pend = b;
        d->pendcap = cap;
    }
    if (!d->pendlen)
        d->pend_t0 = t_ns;
    memcpy(d->pend + d->pendlen, p, n);
    d->pendlen += n;
}

static void rx_hdlc(mb_dlms_t *d, const uint8_t *buf, size_t len, uint64_t t_ns)
{
    size_t off = 0;
    while (off < len) {
        size_t used = 0;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&d->hdec, buf + off, len - off, &used, &f);
        pend_add(d, buf + off, used, t_ns);
        off += used;
        if (rc != 0) {
            char meaning[600];
            mb_hdlc_describe_frame(&f, rc, meaning, sizeof meaning);
            if (rc > 0 || rc == MS_ETOOBIG)
                count_frame(d, true, &f);
            rq_push(d, d->pend, d->pendlen, rc, d->pend_t0);
            trace_rx_flush(d, meaning);
        } else if (!used) {
            break;
        }
    }
    if (d->op != OP_NONE && d->link) {
        hdlc_link_input(d->link, t_ns / 1000000u, buf, len);
        pump(d);
    }
}

static void rx_wrap(mb_dlms_t *d, const uint8_t *buf, size_t len, uint64_t t_ns)
{
    size_t off = 0;
    while (off < len && !d->closing) {
        size_t used = 0;
        wrap_frame_t f;
        int rc = wrap_decoder_feed(&d->wdec, buf + off, len - off, &used, &f);
        pend_add(d, buf + off, used, t_ns);
        off += used;
        if (rc == 1) {
            char meaning[600];
            mb_wrap_describe(&f, meaning, sizeof meaning);
            rq_push(d, d->pend, d->pendlen, 0, d->pend_t0);
            trace_rx_flush(d, meaning);
            d->st.frames_rx++;
            if (d->op != OP_NONE)
                on_apdu(d, f.apdu, f.length);
        } else if (rc < 0) {
            rq_push(d, d->pend, d->pendlen, rc, d->pend_t0);
            trace_rx_flush(d, rc == MS_EFRAME ? "wrapper header with a wrong version"
                                              : "wrapper frame longer than accepted");
        } else if (!used) {
            break;
        }
    }
}

static void on_data(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t_ns, void *ud)
{
    mb_dlms_t *d = ud;
    if (d->closing || d->disc_closing)
        return;
    if (d->hdlc)
        rx_hdlc(d, buf, len, t_ns);
    else
        rx_wrap(d, buf, len, t_ns);
}

static void close_now(mb_dlms_t *d, const char *why);

static void on_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    mb_dlms_t *d = ud;
    if (d->disc_closing) {
        close_now(d, "closed");
        return;
    }
    if (d->link && !d->closing) {
        hdlc_link_sent(d->link, t_ns / 1000000u);
        pump(d);
    }
}

static void on_close(ms_phy_t *p, int err, void *ud)
{
    mb_dlms_t *d = ud;
    if (d->phy) {
        ms_phy_close(d->phy);
        d->phy = NULL;
    }
    d->dead = true;
    snprintf(d->dead_why, sizeof d->dead_why, "the connection ended%s%s", err ? ": " : "",
             err ? ms_strerror(err) : "");
    if (d->op != OP_NONE)
        finish_op(d, MS_ECLOSED);
    if (d->wait == W_RAW && d->res.scn)
        mb_wake(d->res.scn, MB_WAKE_DONE);
}

static void on_connect(ms_phy_t *p, int status, void *ud)
{
    mb_dlms_t *d = ud;
    d->open_status = status;
    if (status)
        d->phy = NULL; /* freed by the backend */
    if (d->wait == W_OPEN && d->res.scn)
        mb_wake(d->res.scn, MB_WAKE_DONE);
}

static const ms_phy_cb_t phy_cb = {
    .on_data = on_data,
    .on_drained = on_drained,
    .on_close = on_close,
};

static void unref(mb_dlms_t *d)
{
    if (--d->refs == 0) {
        rq_clear(d);
        hdlc_link_free(d->link);
        dlms_client_free(d->dc);
        free(d->req);
        free(d->ans);
        free(d->last_req);
        free(d->wbuf);
        free(d->pend);
        free(d);
    }
}

static void timer_closed(uv_handle_t *h)
{
    mb_dlms_t *d = h->data;
    d->released = true;
    mb_res_release(&d->res);
    unref(d);
}

static void close_now(mb_dlms_t *d, const char *why)
{
    if (d->closing)
        return;
    trace_rx_flush(d, "");
    d->closing = true;
    d->dead = true;
    if (why && !d->dead_why[0])
        snprintf(d->dead_why, sizeof d->dead_why, "%s", why);
    if (d->phy) {
        ms_phy_close(d->phy);
        d->phy = NULL;
    }
    if (d->timer_init) {
        d->timer_init = false;
        uv_close((uv_handle_t *)&d->timer, timer_closed);
    } else {
        d->released = true;
        mb_res_release(&d->res);
        unref(d);
    }
}

static void on_disc_timer(uv_timer_t *t)
{
    close_now(t->data, "closed");
}

/* Closing with the HDLC link connected: a DISC first (best effort, not awaited), so
 * that the meter is free for the next client at once rather than after its inactivity
 * time-out (a meter answers one primary station at a time). */
static void res_shutdown(mb_res_t *r)
{
    mb_dlms_t *d = (mb_dlms_t *)r;
    d->wait = W_NONE;
    if (d->closing || d->disc_closing)
        return;
    if (d->hdlc && d->link_up && d->phy && !d->dead && d->timer_init) {
        hdlc_frame_t f;
        memset(&f, 0, sizeof f);
        f.type = HDLC_DISC;
        f.pf = true;
        f.dst = d->lcfg.server;
        hdlc_addr_client(&f.src, d->client);
        uint8_t buf[32];
        int n = hdlc_frame_encode(&f, buf, sizeof buf);
        if (n > 0 && write_phy(d, buf, (size_t)n) == 0) {
            d->disc_closing = true;
            d->op = OP_NONE;
            uv_timer_start(&d->timer, on_disc_timer, 500, 0);
            return;
        }
    }
    close_now(d, "closed");
}

static void res_step_edge(mb_res_t *r)
{
    mb_dlms_t *d = (mb_dlms_t *)r;
    if (!d->closing)
        trace_rx_flush(d, "");
}

/* A time limit cut an exchange short: abandon it (an HDLC link goes back to NDM here;
 * d:connect() again). */
static void cancel_op(void *ud)
{
    mb_dlms_t *d = ud;
    d->wait = W_NONE;
    if (d->op == OP_DLMS) {
        ms_wr_t out;
        ms_wr_init(&out, d->req, REQ_CAP);
        dlms_client_feed(d->dc, NULL, 0, &out);
    }
    if (d->link && d->op != OP_NONE) {
        hdlc_link_reset(d->link, now_ms());
        d->link_up = false;
        arm(d);
    }
    d->op = OP_NONE;
}

static void cancel_raw(void *ud)
{
    mb_dlms_t *d = ud;
    d->wait = W_NONE;
}

/* ---- Lua handle: helpers ---------------------------------------------------------- */

static mb_dlms_t *check(lua_State *L)
{
    ldlms_t *u = luaL_checkudata(L, 1, DLMS_MT);
    if (!u->d)
        luaL_error(L, "DLMS session is closed");
    return u->d;
}

static mb_dlms_t *usable(lua_State *L)
{
    mb_dlms_t *d = check(L);
    if (d->dead)
        luaL_error(L, "DLMS session on %s: %s", d->spec, d->dead_why);
    if (d->wait)
        luaL_error(L, "DLMS session: another call is waiting on it");
    return d;
}

static unsigned opt_timeout(lua_State *L, int idx, unsigned def)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v <= 0 || v > 86400000)
            luaL_error(L, "timeout: 1..86400000 ms expected");
        return (unsigned)v;
    }
    if (!lua_istable(L, idx))
        return def;
    lua_getfield(L, idx, "timeout_ms");
    lua_Integer v = luaL_optinteger(L, -1, (lua_Integer)def);
    lua_pop(L, 1);
    if (v <= 0 || v > 86400000)
        luaL_error(L, "timeout_ms: 1..86400000 ms expected");
    return (unsigned)v;
}

static void begin_op(mb_dlms_t *d, int op)
{
    rq_clear(d);
    memset(&d->st, 0, sizeof d->st);
    d->st.t0_ns = uv_hrtime();
    d->op = op;
    d->op_done = false;
    d->op_rc = 0;
}

static void push_stats(lua_State *L, mb_dlms_t *d)
{
    const dlms_client_result_t *r = dlms_client_result(d->dc);
    lua_createtable(L, 0, 14);
#define STAT(name, v)                         \
    do {                                      \
        lua_pushinteger(L, (lua_Integer)(v)); \
        lua_setfield(L, -2, name);            \
    } while (0)
    STAT("blocks", r->blocks);
    STAT("apdus_tx", d->st.apdus_tx);
    STAT("apdus_rx", d->st.apdus_rx);
    STAT("frames_tx", d->st.frames_tx);
    STAT("frames_rx", d->st.frames_rx);
    STAT("i_frames_tx", d->st.i_tx);
    STAT("i_frames_rx", d->st.i_rx);
    STAT("segmented_tx", d->st.seg_tx);
    STAT("segmented_rx", d->st.seg_rx);
    STAT("max_info_tx", d->st.max_info_tx);
    STAT("max_info_rx", d->st.max_info_rx);
    STAT("rr_rx", d->st.rr_rx);
#undef STAT
    lua_pushnumber(L, (double)(uv_hrtime() - d->st.t0_ns) / 1e6);
    lua_setfield(L, -2, "ms");
    lua_pushinteger(L, r->rx_sc);
    lua_setfield(L, -2, "rx_sc");
}

static int fail(lua_State *L, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(lua_State *L, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushstring(L, code);
    return 3;
}

static const char *op_name(lua_KContext k)
{
    switch (k) {
    case K_ASSOC:
        return "associate";
    case K_GET:
        return "get";
    case K_SET:
        return "set";
    case K_ACTION:
        return "action";
    default:
        return "release";
    }
}

static void link_params(lua_State *L, mb_dlms_t *d)
{
    const hdlc_link_params_t *p = hdlc_link_params(d->link);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, p->max_info_tx);
    lua_setfield(L, -2, "max_info_tx");
    lua_pushinteger(L, p->max_info_rx);
    lua_setfield(L, -2, "max_info_rx");
    lua_pushinteger(L, p->window_tx);
    lua_setfield(L, -2, "window_tx");
    lua_pushinteger(L, p->window_rx);
    lua_setfield(L, -2, "window_rx");
}

/* ---- connect / disconnect --------------------------------------------------------- */

static int k_link(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    mb_dlms_t *d = check(L);
    d->wait = W_NONE;
    const char *what = ctx == OP_CONNECT ? "connect (SNRM)" : "disconnect (DISC)";
    if (why == MB_WAKE_OP_TIMEOUT)
        return fail(L, "MS_ETIMEDOUT", "%s: no answer within %u ms", what,
                    mb_wait_limit_ms(mb_scn_of(L)));
    if (ctx == OP_CONNECT) {
        if (d->op_rc)
            return fail(L, ms_err_name(d->op_rc), "%s: %s", what,
                        d->op_rc == MS_ECLOSED     ? "the meter answered DM"
                        : d->op_rc == MS_ETIMEDOUT ? "no UA after the repeats"
                                                   : ms_strerror(d->op_rc));
        link_params(L, d);
        return 1;
    }
    /* DISC: UA (0) or DM (MS_ECLOSED) both leave the link disconnected */
    lua_createtable(L, 0, 2);
    lua_pushstring(L, d->op_rc == 0            ? "UA"
                      : d->op_rc == MS_ECLOSED ? "DM"
                                               : ms_err_name(d->op_rc));
    lua_setfield(L, -2, "answer");
    lua_pushboolean(L, d->op_rc == 0 || d->op_rc == MS_ECLOSED);
    lua_setfield(L, -2, "ok");
    if (d->op_rc != 0 && d->op_rc != MS_ECLOSED)
        return fail(L, ms_err_name(d->op_rc), "%s: %s", what, ms_strerror(d->op_rc));
    return 1;
}

static int s_connect(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    unsigned ms = opt_timeout(L, 2, d->op_timeout_ms);
    if (!d->hdlc) {
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "wrapper");
        lua_setfield(L, -2, "transport");
        return 1;
    }
    begin_op(d, OP_CONNECT);
    int rc = hdlc_link_connect(d->link, now_ms());
    if (rc) {
        d->op = OP_NONE;
        return fail(L, ms_err_name(rc), "connect: %s", ms_strerror(rc));
    }
    mb_wait_prepare(mb_scn_of(L), "dlms connect (SNRM)", cancel_op, d);
    d->wait = W_OP;
    pump(d);
    return mb_block(L, ms, k_link, OP_CONNECT);
}

static int s_disconnect(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    unsigned ms = opt_timeout(L, 2, d->op_timeout_ms);
    if (!d->hdlc) {
        lua_createtable(L, 0, 1);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ok");
        return 1;
    }
    begin_op(d, OP_DISCONNECT);
    int rc = hdlc_link_disconnect(d->link, now_ms());
    if (rc) {
        d->op = OP_NONE;
        return fail(L, ms_err_name(rc), "disconnect: %s (the link is not connected)",
                    ms_strerror(rc));
    }
    mb_wait_prepare(mb_scn_of(L), "dlms disconnect (DISC)", cancel_op, d);
    d->wait = W_OP;
    pump(d);
    return mb_block(L, ms, k_link, OP_DISCONNECT);
}

/* ---- xDLMS ------------------------------------------------------------------------ */

static void push_conformance(lua_State *L, uint32_t c)
{
    lua_newtable(L);
    int k = 0;
    for (unsigned b = 0; b < 24; b++)
        if (c & DLMS_CONF_BIT(b)) {
            lua_pushstring(L, dlms_conformance_bit_name(b));
            lua_seti(L, -2, ++k);
        }
}

static int push_exception(lua_State *L, mb_dlms_t *d, const char *op)
{
    const dlms_exception_response_t *e = &dlms_client_result(d->dc)->exception;
    char meaning[400];
    mb_dlms_describe_exception(e, meaning, sizeof meaning);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: the meter answered %s", op, meaning);
    lua_pushliteral(L, "EXCEPTION");
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, e->state_error);
    lua_setfield(L, -2, "state_error");
    lua_pushinteger(L, e->service_error);
    lua_setfield(L, -2, "service_error");
    lua_pushstring(L, dlms_exception_service_name(e->service_error));
    lua_setfield(L, -2, "name");
    if (e->service_error == DLMS_EXC_SERVICE_INVOCATION_COUNTER_ERROR) {
        lua_pushinteger(L, e->invocation_counter);
        lua_setfield(L, -2, "invocation_counter");
    }
    return 4;
}

static int push_aare(lua_State *L, mb_dlms_t *d)
{
    const dlms_client_result_t *r = dlms_client_result(d->dc);
    lua_createtable(L, 0, 12);
    lua_pushboolean(L, r->associated);
    lua_setfield(L, -2, "accepted");
    lua_pushinteger(L, r->result);
    lua_setfield(L, -2, "result");
    lua_pushstring(L, acse_result_name(r->result));
    lua_setfield(L, -2, "result_name");
    lua_pushinteger(L, r->result_source);
    lua_setfield(L, -2, "source");
    lua_pushinteger(L, r->diagnostic);
    lua_setfield(L, -2, "diagnostic");
    lua_pushstring(L, acse_diagnostic_name(r->result_source, r->diagnostic));
    lua_setfield(L, -2, "diagnostic_name");
    if (r->has_initiate_response) {
        const dlms_initiate_response_t *ir = &r->initiate_response;
        lua_pushinteger(L, ir->conformance);
        lua_setfield(L, -2, "conformance");
        push_conformance(L, ir->conformance);
        lua_setfield(L, -2, "conformance_names");
        lua_pushinteger(L, ir->max_receive_pdu_size);
        lua_setfield(L, -2, "max_pdu");
        lua_pushinteger(L, ir->dlms_version);
        lua_setfield(L, -2, "dlms_version");
        lua_pushinteger(L, ir->vaa_name);
        lua_setfield(L, -2, "vaa_name");
    }
    if (r->has_service_error) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, r->service_error.service);
        lua_setfield(L, -2, "service");
        lua_pushinteger(L, r->service_error.error_class);
        lua_setfield(L, -2, "class");
        lua_pushinteger(L, r->service_error.error_value);
        lua_setfield(L, -2, "value");
        lua_setfield(L, -2, "service_error");
    }
    if (r->apdu_tag == DLMS_TAG_EXCEPTION_RESPONSE) {
        lua_pushinteger(L, r->exception.service_error);
        lua_setfield(L, -2, "exception");
    }
    if (r->count && r->action) { /* HLS pass 3 answered */
        lua_pushinteger(L, r->action[0].result);
        lua_setfield(L, -2, "hls_pass3");
    }
    return 1;
}

static int k_dlms(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    mb_dlms_t *d = check(L);
    d->wait = W_NONE;
    const char *op = op_name(ctx);
    if (why == MB_WAKE_OP_TIMEOUT)
        return fail(L, "MS_ETIMEDOUT", "%s: no answer within %u ms%s", op,
                    mb_wait_limit_ms(mb_scn_of(L)),
                    d->hdlc ? " (the HDLC link is reset: d:connect() again)" : "");
    int rc = d->op_rc;
    if (rc < 0) {
        const char *detail =
            rc == MS_EACCES    ? "an answer that does not decipher or authenticate"
            : rc == MS_EREPLAY ? "the meter's invocation counter did "
                                 "not increase"
            : rc == MS_EPROTO  ? "an answer that does not fit the request"
            : rc == MS_ECLOSED
                ? (d->hdlc ? "the link was disconnected" : "the connection ended")
            : rc == MS_ETIMEDOUT ? "no answer after the HDLC repeats"
                                 : ms_strerror(rc);
        return fail(L, ms_err_name(rc), "%s: %s", op, detail);
    }
    const dlms_client_result_t *r = dlms_client_result(d->dc);
    if (ctx == K_ASSOC)
        return push_aare(L, d);
    if (r->apdu_tag == DLMS_TAG_EXCEPTION_RESPONSE)
        return push_exception(L, d, op);
    if (r->apdu_tag == DLMS_TAG_CONFIRMED_SERVICE_ERROR) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: the meter answered confirmedServiceError %d/%d/%d", op,
                        r->service_error.service, r->service_error.error_class,
                        r->service_error.error_value);
        lua_pushliteral(L, "SERVICE_ERROR");
        return 3;
    }
    switch (ctx) {
    case K_GET:
        if (!r->count || !r->get)
            return fail(L, "MS_EPROTO", "get: no result in the answer");
        if (r->get[0].is_data) {
            mb_dlms_push_data(L, &r->get[0].data);
        } else {
            lua_createtable(L, 0, 2);
            lua_pushinteger(L, r->get[0].dar);
            lua_setfield(L, -2, "dar");
            lua_pushstring(L, dlms_data_access_result_name(r->get[0].dar));
            lua_setfield(L, -2, "name");
        }
        push_stats(L, d);
        return 2;
    case K_SET:
        if (!r->set)
            return fail(L, "MS_EPROTO", "set: no result in the answer");
        lua_createtable(L, 0, 2);
        lua_pushinteger(L, r->set[0]);
        lua_setfield(L, -2, "dar");
        lua_pushstring(L, dlms_data_access_result_name(r->set[0]));
        lua_setfield(L, -2, "name");
        push_stats(L, d);
        return 2;
    case K_ACTION:
        if (!r->action)
            return fail(L, "MS_EPROTO", "action: no result in the answer");
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, r->action[0].result);
        lua_setfield(L, -2, "result");
        lua_pushstring(L, dlms_action_result_name(r->action[0].result));
        lua_setfield(L, -2, "name");
        if (r->action[0].has_return_parameters) {
            const dlms_get_data_result_t *g = &r->action[0].return_parameters;
            if (g->is_data) {
                mb_dlms_push_data(L, &g->data);
                lua_setfield(L, -2, "data");
            } else {
                lua_pushinteger(L, g->dar);
                lua_setfield(L, -2, "dar");
            }
        }
        push_stats(L, d);
        return 2;
    default:
        lua_createtable(L, 0, 2);
        lua_pushboolean(L, r->apdu_tag == DLMS_TAG_RLRE);
        lua_setfield(L, -2, "released");
        if (r->has_reason) {
            lua_pushinteger(L, r->reason);
            lua_setfield(L, -2, "reason");
        }
        return 1;
    }
}

/* Send what a dlms_client_* call appended to the request buffer and wait. */
static int run_dlms(lua_State *L, mb_dlms_t *d, int rc, ms_wr_t *w, lua_KContext k,
                    unsigned ms)
{
    const char *op = op_name(k);
    if (rc < 0) {
        d->op = OP_NONE;
        if (rc == MS_ESTATE)
            return fail(L, "MS_ESTATE", "%s: %s", op,
                        k == K_ASSOC ? "an association is already open"
                                     : "no association is open (d:associate())");
        return fail(L, ms_err_name(rc), "%s: cannot build the request: %s", op,
                    ms_strerror(rc));
    }
    if (d->hdlc && !d->link_up) {
        ms_wr_t out;
        ms_wr_init(&out, d->req, REQ_CAP);
        dlms_client_feed(d->dc, NULL, 0, &out);
        d->op = OP_NONE;
        return fail(L, "MS_ESTATE", "%s: the HDLC link is not connected (d:connect())",
                    op);
    }
    mb_wait_prepare(mb_scn_of(L), "a DLMS answer", cancel_op, d);
    d->wait = W_OP;
    rc = send_apdu(d, w->buf, w->len);
    if (rc < 0) {
        d->wait = W_NONE;
        ms_wr_t out;
        ms_wr_init(&out, d->req, REQ_CAP);
        dlms_client_feed(d->dc, NULL, 0, &out);
        d->op = OP_NONE;
        mb_wait_prepare(mb_scn_of(L), "a DLMS answer", NULL, NULL);
        return fail(L, ms_err_name(rc), "%s: cannot send: %s", op, ms_strerror(rc));
    }
    return mb_block(L, ms, k_dlms, k);
}

static int s_associate(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    unsigned ms = opt_timeout(L, 2, d->op_timeout_ms);
    begin_op(d, OP_DLMS);
    ms_wr_t w;
    ms_wr_init(&w, d->req, REQ_CAP);
    int rc = dlms_client_aarq(d->dc, &w);
    return run_dlms(L, d, rc, &w, K_ASSOC, ms);
}

static int s_release(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    unsigned ms = opt_timeout(L, 2, d->op_timeout_ms);
    begin_op(d, OP_DLMS);
    ms_wr_t w;
    ms_wr_init(&w, d->req, REQ_CAP);
    int rc = dlms_client_rlrq(d->dc, &w);
    return run_dlms(L, d, rc, &w, K_RELEASE, ms);
}

/* The arena for request values lives in a userdata kept on the stack. */
static dlms_arena_t *req_arena(lua_State *L)
{
    dlms_arena_t *a = lua_newuserdatauv(L, sizeof *a + (1u << 20), 0);
    dlms_arena_init(a, (uint8_t *)(a + 1), 1u << 20);
    return a;
}

/* d:_get(class, obis, attr [, selector, parameters] [, opts]) */
static int s_get(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    dlms_attr_sel_t s;
    memset(&s, 0, sizeof s);
    s.desc.class_id = (uint16_t)luaL_checkinteger(L, 2);
    s.desc.instance_id = mb_dlms_check_obis(L, 3);
    s.desc.attribute_id = (int8_t)luaL_checkinteger(L, 4);
    dlms_arena_t *a = req_arena(L);
    if (!lua_isnoneornil(L, 5)) {
        s.access.present = true;
        s.access.selector = (uint8_t)luaL_checkinteger(L, 5);
        if (!lua_isnoneornil(L, 6))
            mb_dlms_to_data(L, 6, a, &s.access.parameters);
        else
            s.access.parameters = dlms_data_null();
    }
    unsigned ms = opt_timeout(L, 7, d->op_timeout_ms);
    begin_op(d, OP_DLMS);
    ms_wr_t w;
    ms_wr_init(&w, d->req, REQ_CAP);
    int rc = dlms_client_get(d->dc, &s, &w);
    return run_dlms(L, d, rc, &w, K_GET, ms);
}

/* d:set(class, obis, attr, value [, opts]) */
static int s_set(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    dlms_attr_sel_t s;
    memset(&s, 0, sizeof s);
    s.desc.class_id = (uint16_t)luaL_checkinteger(L, 2);
    s.desc.instance_id = mb_dlms_check_obis(L, 3);
    s.desc.attribute_id = (int8_t)luaL_checkinteger(L, 4);
    luaL_checktype(L, 5, LUA_TTABLE);
    unsigned ms = opt_timeout(L, 6, d->op_timeout_ms);
    dlms_arena_t *a = req_arena(L);
    dlms_data_t v;
    mb_dlms_to_data(L, 5, a, &v);
    begin_op(d, OP_DLMS);
    ms_wr_t w;
    ms_wr_init(&w, d->req, REQ_CAP);
    int rc = dlms_client_set(d->dc, &s, &v, &w);
    return run_dlms(L, d, rc, &w, K_SET, ms);
}

/* d:action(class, obis, method [, params] [, opts]) */
static int s_action(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    dlms_method_desc_t m;
    memset(&m, 0, sizeof m);
    m.class_id = (uint16_t)luaL_checkinteger(L, 2);
    m.instance_id = mb_dlms_check_obis(L, 3);
    m.method_id = (int8_t)luaL_checkinteger(L, 4);
    unsigned ms = opt_timeout(L, 6, d->op_timeout_ms);
    dlms_arena_t *a = req_arena(L);
    dlms_data_t v;
    bool has = !lua_isnoneornil(L, 5);
    if (has)
        mb_dlms_to_data(L, 5, a, &v);
    begin_op(d, OP_DLMS);
    ms_wr_t w;
    ms_wr_init(&w, d->req, REQ_CAP);
    int rc = dlms_client_action(d->dc, &m, has ? &v : NULL, &w);
    return run_dlms(L, d, rc, &w, K_ACTION, ms);
}

/* ---- raw -------------------------------------------------------------------------- */

/* d:send_raw(bytes): octets as they are (whole frames, broken frames, garbage). */
static int s_send_raw(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    int rc = write_phy(d, (const uint8_t *)p, n);
    if (rc)
        return fail(L, ms_err_name(rc), "send_raw: %s", ms_strerror(rc));
    lua_pushboolean(L, 1);
    return 1;
}

static void push_raw(lua_State *L, mb_dlms_t *d, raw_frame_t *f)
{
    if (d->hdlc) {
        uint8_t buf[HDLC_FORMAT_LENGTH_MAX + 16];
        hdlc_decoder_t dec;
        hdlc_decoder_init(&dec, buf, sizeof buf);
        hdlc_frame_t fr;
        memset(&fr, 0, sizeof fr);
        size_t off = 0;
        int rc = 0;
        while (off < f->n) {
            size_t used = 0;
            rc = hdlc_decoder_feed(&dec, f->b + off, f->n - off, &used, &fr);
            off += used;
            if (rc != 0 || !used)
                break;
        }
        if (rc == 0)
            rc = f->rc ? f->rc : MS_ETRUNC;
        mb_hdlc_push_frame(L, &fr, rc, f->b, f->n);
    } else {
        lua_createtable(L, 0, 8);
        lua_pushlstring(L, (const char *)f->b, f->n);
        lua_setfield(L, -2, "bytes");
        if (f->rc < 0 || f->n < WRAP_HEADER_LEN) {
            lua_pushstring(L, ms_err_name(f->rc ? f->rc : MS_ETRUNC));
            lua_setfield(L, -2, "error");
        } else {
            const uint8_t *p = f->b;
            wrap_frame_t w;
            mb_wrap_header(p, &w);
            mb_wrap_push_header(L, &w);
            lua_pushlstring(L, (const char *)p + WRAP_HEADER_LEN, f->n - WRAP_HEADER_LEN);
            lua_setfield(L, -2, "apdu");
            char meaning[800];
            mb_dlms_describe_apdu(p + WRAP_HEADER_LEN, f->n - WRAP_HEADER_LEN, NULL, 0,
                                  meaning, sizeof meaning);
            lua_pushstring(L, meaning);
            lua_setfield(L, -2, "meaning");
        }
    }
    lua_pushnumber(L, (double)f->t_ns / 1e6);
    lua_setfield(L, -2, "t_ms");
}

static int k_recv_raw(lua_State *L, int status, lua_KContext ctx)
{
    mb_woken(L);
    mb_dlms_t *d = check(L);
    d->wait = W_NONE;
    raw_frame_t *f = d->rq_head;
    if (!f) {
        trace_rx_flush(d, d->pendlen ? "incomplete frame" : "");
        return fail(L, "MS_ETIMEDOUT", "recv_raw: no whole frame within %u ms%s",
                    mb_wait_limit_ms(mb_scn_of(L)),
                    d->dead ? " (connection closed)" : "");
    }
    d->rq_head = f->next;
    if (!d->rq_head)
        d->rq_tail = NULL;
    d->rq_n--;
    push_raw(L, d, f);
    free(f);
    return 1;
}

/* d:recv_raw([timeout_ms | {timeout_ms=}]) -> the next whole frame received outside the
 * session's own exchanges | nil, message, "MS_ETIMEDOUT" (silence may be the answer) */
static int s_recv_raw(lua_State *L)
{
    mb_dlms_t *d = check(L);
    if (d->wait)
        return luaL_error(L, "DLMS session: another call is waiting on it");
    unsigned ms = opt_timeout(L, 2, 3000);
    mb_scn_t *s = mb_scn_of(L);
    mb_wait_prepare(s, "dlms recv_raw", cancel_raw, d);
    d->wait = W_RAW;
    if (d->rq_head || d->dead)
        mb_wake(s, MB_WAKE_DONE);
    return mb_block(L, ms, k_recv_raw, 0);
}

static int s_clear(lua_State *L)
{
    mb_dlms_t *d = check(L);
    rq_clear(d);
    return 0;
}

static int k_apdu(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    mb_dlms_t *d = check(L);
    d->wait = W_NONE;
    if (why == MB_WAKE_OP_TIMEOUT)
        return fail(L, "MS_ETIMEDOUT", "apdu: no answer within %u ms",
                    mb_wait_limit_ms(mb_scn_of(L)));
    if (d->op_rc < 0)
        return fail(L, ms_err_name(d->op_rc), "apdu: %s", ms_strerror(d->op_rc));
    lua_pushlstring(L, (const char *)d->ans, d->ans_len);
    char meaning[800];
    mb_dlms_describe_apdu(d->ans, d->ans_len, NULL, 0, meaning, sizeof meaning);
    lua_pushstring(L, meaning);
    return 2;
}

/* d:apdu(bytes [, opts]): an APDU of the caller's (e.g. a captured ciphered request sent
 * again) through the transport, outside the client session; returns the answer APDU and
 * its meaning. */
static int s_apdu(lua_State *L)
{
    mb_dlms_t *d = usable(L);
    size_t n;
    const char *p = luaL_checklstring(L, 2, &n);
    unsigned ms = opt_timeout(L, 3, d->op_timeout_ms);
    if (d->hdlc && !d->link_up)
        return fail(L, "MS_ESTATE", "apdu: the HDLC link is not connected (d:connect())");
    begin_op(d, OP_APDU);
    char meaning[800];
    mb_dlms_describe_apdu((const uint8_t *)p, n, NULL, 0, meaning, sizeof meaning);
    emit(d, "tx", "apdu", (const uint8_t *)p, n, uv_hrtime(), meaning);
    d->st.apdus_tx++;
    mb_wait_prepare(mb_scn_of(L), "a DLMS answer", cancel_op, d);
    d->wait = W_OP;
    int rc = send_apdu(d, (const uint8_t *)p, n);
    if (rc < 0) {
        d->wait = W_NONE;
        d->op = OP_NONE;
        mb_wait_prepare(mb_scn_of(L), "a DLMS answer", NULL, NULL);
        return fail(L, ms_err_name(rc), "apdu: cannot send: %s", ms_strerror(rc));
    }
    return mb_block(L, ms, k_apdu, 0);
}

/* ---- handle ----------------------------------------------------------------------- */

static int s_gc(lua_State *L)
{
    ldlms_t *u = luaL_checkudata(L, 1, DLMS_MT);
    mb_dlms_t *d = u->d;
    if (!d)
        return 0;
    u->d = NULL;
    res_shutdown(&d->res);
    unref(d);
    return 0;
}

static int s_tostring(lua_State *L)
{
    ldlms_t *u = luaL_checkudata(L, 1, DLMS_MT);
    lua_pushfstring(L, "DLMS session (%s, client %d) on %s%s",
                    u->d && u->d->hdlc ? "HDLC" : "wrapper", u->d ? u->d->client : 0,
                    u->d ? u->d->spec : "?", u->d && !u->d->dead ? "" : " (closed)");
    return 1;
}

static int s_index(lua_State *L)
{
    ldlms_t *u = luaL_checkudata(L, 1, DLMS_MT);
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    mb_dlms_t *d = u->d;
    if (!strcmp(k, "closed")) {
        lua_pushboolean(L, !d || d->dead);
    } else if (!d) {
        return luaL_error(L, "DLMS session is closed (reading '%s')", k);
    } else if (!strcmp(k, "spec")) {
        lua_pushstring(L, d->spec);
    } else if (!strcmp(k, "transport")) {
        lua_pushstring(L, d->hdlc ? "hdlc" : "wrapper");
    } else if (!strcmp(k, "client")) {
        lua_pushinteger(L, d->client);
    } else if (!strcmp(k, "ic")) {
        lua_pushinteger(L, dlms_client_ic(d->dc));
    } else if (!strcmp(k, "associated")) {
        lua_pushboolean(L, dlms_client_associated(d->dc));
    } else if (!strcmp(k, "last_request")) {
        lua_pushlstring(L, (const char *)d->last_req, d->last_req_len);
    } else if (!strcmp(k, "link_state")) {
        lua_pushstring(L, d->link ? hdlc_link_state_name(d->link) : "wrapper");
    } else if (!strcmp(k, "params")) {
        if (d->link)
            link_params(L, d);
        else
            lua_pushnil(L);
    } else if (!strcmp(k, "max_pdu")) {
        lua_pushinteger(L, dlms_client_server_max_pdu(d->dc));
    } else if (!strcmp(k, "conformance")) {
        lua_pushinteger(L, dlms_client_conformance(d->dc));
    } else {
        return luaL_error(L,
                          "unknown method or field '%s' of a DLMS session "
                          "(docs/scenario-api.md)",
                          k);
    }
    return 1;
}

/* Methods written in Lua over the C ones: selective access in words, the object list
 * and load profiles as tables. `M` is the methods table, `dlms` the module. */
static const char dlms_lua[] =
    "local M, dlms = ...\n"
    "local function clock_ref()\n"
    "  return dlms.structure{ dlms.u16(8), dlms.obis('0-0:1.0.0.255'), dlms.i8(2), "
    "dlms.u16(0) }\n"
    "end\n"
    "local function selector(sel)\n"
    "  if sel == nil then return nil end\n"
    "  if type(sel) ~= 'table' then error('selector: a table expected', 3) end\n"
    "  if sel.selector then return sel.selector, sel.parameters end\n"
    "  if sel.from or sel.to then\n"
    "    local from = type(sel.from) == 'string' and dlms.datetime(sel.from) or "
    "sel.from\n"
    "    local to = type(sel.to) == 'string' and dlms.datetime(sel.to) or sel.to\n"
    "    return 1, dlms.structure{ sel.restricting or clock_ref(), from, to,\n"
    "      sel.columns or dlms.array{} }\n"
    "  end\n"
    "  if sel.from_entry or sel.to_entry then\n"
    "    return 2, dlms.structure{ dlms.u32(sel.from_entry or 1), dlms.u32(sel.to_entry "
    "or 0),\n"
    "      dlms.u16(sel.from_col or 1), dlms.u16(sel.to_col or 0) }\n"
    "  end\n"
    "  error('selector: {from=, to=}, {from_entry=, to_entry=} or {selector=, "
    "parameters=} expected', 3)\n"
    "end\n"
    "function M:get(class, obis, attr, sel, opts)\n"
    "  local s, p = selector(sel)\n"
    "  return self:_get(class, obis, attr, s, p, opts)\n"
    "end\n"
    "function M:profile(obis, sel, opts)\n"
    "  return self:get(7, obis, 2, sel, opts)\n"
    "end\n"
    "function M:object_list(opts)\n"
    "  local v, info, code, x = self:get(15, '0-0:40.0.0.255', 2, nil, opts)\n"
    "  if not v then return v, info, code, x end\n"
    "  if v.dar then return nil, 'object_list: data-access-result ' .. v.name, 'DAR', v "
    "end\n"
    "  local list = {}\n"
    "  for i, o in ipairs(v) do\n"
    "    local e = { class_id = o[1].value, version = o[2].value, obis = "
    "dlms.obis(o[3]),\n"
    "      logical_name = o[3].value, attributes = {}, methods = {}, raw = o }\n"
    "    local rights = o[4]\n"
    "    for _, a in ipairs(rights and rights[1] or {}) do\n"
    "      e.attributes[#e.attributes + 1] = { id = a[1].value, access = a[2].value,\n"
    "        selectors = a[3] and a[3].type == 'array' and a[3] or nil }\n"
    "    end\n"
    "    for _, m in ipairs(rights and rights[2] or {}) do\n"
    "      local acc = m[2].value\n"
    "      if acc == true then acc = 1 elseif acc == false then acc = 0 end\n"
    "      e.methods[#e.methods + 1] = { id = m[1].value, access = acc }\n"
    "    end\n"
    "    list[i] = e\n"
    "  end\n"
    "  info.value = v\n"
    "  return list, info\n"
    "end\n";

void mb_dlms_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "connect", s_connect },
        { "disconnect", s_disconnect },
        { "associate", s_associate },
        { "release", s_release },
        { "_get", s_get },
        { "set", s_set },
        { "action", s_action },
        { "send_raw", s_send_raw },
        { "recv_raw", s_recv_raw },
        { "apdu", s_apdu },
        { "clear", s_clear },
        { "close", s_gc },
        { NULL, NULL },
    };
    luaL_newmetatable(L, DLMS_MT);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    if (luaL_loadbufferx(L, dlms_lua, sizeof dlms_lua - 1, "=dlms session", "t") ==
        LUA_OK) {
        lua_pushvalue(L, -2);
        luaopen_mb_dlms(L);
        if (lua_pcall(L, 2, 0, 0) != LUA_OK)
            lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
    }
    lua_pushcclosure(L, s_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, s_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, s_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, s_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

/* ---- opening ---------------------------------------------------------------------- */

static const char *const open_opts[] = { "transport",
                                         "client",
                                         "auth",
                                         "password",
                                         "ek",
                                         "ak",
                                         "title",
                                         "ic",
                                         "server",
                                         "physical",
                                         "address_size",
                                         "max_info",
                                         "window",
                                         "max_pdu",
                                         "ciphering",
                                         "sc",
                                         "framing",
                                         "server_title",
                                         "conformance",
                                         "timeout_ms",
                                         "response_ms",
                                         "retries",
                                         "inter_octet_ms",
                                         "snrm_params",
                                         "baud",
                                         NULL };

static int hex_opt(lua_State *L, int opts, const char *k, uint8_t *out, size_t want,
                   const char *def)
{
    lua_getfield(L, opts, k);
    const char *s = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
    lua_pop(L, 1);
    if (!s)
        return 0;
    if (ms_hex_decode(s, strlen(s), out, want) != (int)want)
        luaL_error(L, "m:dlms: %s: %u octets in hex expected", k, (unsigned)want);
    return 1;
}

static lua_Integer int_opt(lua_State *L, int opts, const char *k, lua_Integer def,
                           lua_Integer lo, lua_Integer hi)
{
    if (!opts)
        return def;
    lua_getfield(L, opts, k);
    lua_Integer v = luaL_optinteger(L, -1, def);
    lua_pop(L, 1);
    if (v < lo || v > hi)
        luaL_error(L, "m:dlms: %s: %lld..%lld expected", k, (long long)lo, (long long)hi);
    return v;
}

static int k_open(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    ldlms_t *u = luaL_checkudata(L, lua_gettop(L), DLMS_MT);
    mb_dlms_t *d = u->d;
    d->wait = W_NONE;
    if (why == MB_WAKE_OP_TIMEOUT || d->open_status || !d->phy) {
        const char *e = why == MB_WAKE_OP_TIMEOUT ? "timed out"
                        : d->open_status          ? ms_strerror(d->open_status)
                                                  : "closed";
        close_now(d, "could not connect");
        return mb_raise(L, "fixture", "cannot connect to the meter %s: %s", d->spec, e);
    }
    return 1;
}

int mb_dlms_open(lua_State *L, const char *phy_spec, bool hdlc, unsigned dbaud, int opts)
{
    mb_scn_t *s = mb_scn_of(L);
    if (opts)
        mb_check_opts(L, opts, "m:dlms", open_opts);
    dlms_client_cfg_t cc;
    memset(&cc, 0, sizeof cc);
    hdlc_link_cfg_t lc;
    memset(&lc, 0, sizeof lc);
    lua_Integer client = int_opt(L, opts, "client", 16, 1, 0x7F);
    const char *auth = "none";
    if (opts) {
        lua_getfield(L, opts, "auth");
        auth = luaL_optstring(L, -1, "none");
        lua_pop(L, 1);
    }
    if (!strcmp(auth, "none") || !strcmp(auth, "lowest"))
        cc.mechanism = DLMS_MECH_LOWEST;
    else if (!strcmp(auth, "lls"))
        cc.mechanism = DLMS_MECH_LLS;
    else if (!strcmp(auth, "hls-gmac"))
        cc.mechanism = DLMS_MECH_HLS_GMAC;
    else
        return luaL_error(L, "m:dlms: auth: \"none\", \"lls\" or \"hls-gmac\" expected");
    if (opts) {
        lua_getfield(L, opts, "password");
        size_t pn = 0;
        const char *pw = lua_tolstring(L, -1, &pn);
        if (pw) {
            if (pn > sizeof cc.password)
                return luaL_error(L, "m:dlms: password: at most 32 octets");
            memcpy(cc.password, pw, pn);
            cc.password_len = pn;
        }
        lua_pop(L, 1);
    }
    if (cc.mechanism == DLMS_MECH_LLS && !cc.password_len)
        return luaL_error(L, "m:dlms: auth = \"lls\" needs a password");
    /* keys: the Green Book example keys by default (metersim's management client) */
    if (!opts || !hex_opt(L, opts, "ek", cc.ek, 16, NULL))
        for (int i = 0; i < 16; i++)
            cc.ek[i] = (uint8_t)i;
    if (!opts || !hex_opt(L, opts, "ak", cc.ak, 16, NULL))
        for (int i = 0; i < 16; i++)
            cc.ak[i] = (uint8_t)(0xD0 + i);
    if (!opts || !hex_opt(L, opts, "title", cc.client_title, 8, NULL))
        memcpy(cc.client_title, "METERSIM", 8);
    if (opts && hex_opt(L, opts, "server_title", cc.server_title, 8, NULL))
        cc.has_server_title = true;
    cc.ic = (uint32_t)int_opt(L, opts, "ic", 1, 0, 0xFFFFFFFFll);
    bool ciphering = cc.mechanism == DLMS_MECH_HLS_GMAC;
    if (opts) {
        lua_getfield(L, opts, "ciphering");
        if (!lua_isnil(L, -1))
            ciphering = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    cc.ciphering = ciphering;
    cc.sc = (uint8_t)int_opt(L, opts, "sc", 0, 0, 255);
    if (opts) {
        static const char *const fr[] = { "glo", "ded", "general-glo", "general-ded",
                                          NULL };
        lua_getfield(L, opts, "framing");
        if (!lua_isnil(L, -1))
            cc.framing = (dlms_client_framing_t)luaL_checkoption(L, -1, NULL, fr);
        lua_pop(L, 1);
    }
    cc.conformance = (uint32_t)int_opt(L, opts, "conformance", 0, 0, 0xFFFFFF);
    cc.max_pdu = (uint16_t)int_opt(L, opts, "max_pdu", 0xFFFF, 0, 0xFFFF);
    cc.arena_size = 4u << 20;
    cc.max_value = 4u << 20;
    if (cc.mechanism == DLMS_MECH_HLS_GMAC) {
        uint64_t x = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)&cc;
        for (int i = 0; i < 8; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cc.ctos[i] = (uint8_t)(0x21 + x % 90); /* printable, as many clients send */
        }
        cc.ctos_len = 8;
    }
    lua_Integer server = int_opt(L, opts, "server", 1, 0, 0x3FFF);
    lua_Integer physical = int_opt(L, opts, "physical", -1, -1, 0x3FFF);
    lua_Integer asize = int_opt(L, opts, "address_size",
                                physical < 0     ? 1
                                : physical < 128 ? 2
                                                 : 4,
                                1, 4);
    lc.role = HDLC_ROLE_CLIENT;
    lc.client = (uint8_t)client;
    int rc = hdlc_addr_server(&lc.server, (unsigned)server,
                              physical < 0 ? 0 : (unsigned)physical, (unsigned)asize);
    if (rc < 0)
        return luaL_error(L, "m:dlms: server/physical/address_size: %s", ms_strerror(rc));
    lc.max_info_tx = lc.max_info_rx =
        (unsigned)int_opt(L, opts, "max_info", 128, 1, 2030);
    lc.window_tx = lc.window_rx = (unsigned)int_opt(L, opts, "window", 1, 1, 7);
    lc.response_ms = (unsigned)int_opt(L, opts, "response_ms", 3000, 1, 600000);
    lc.max_retries = (unsigned)int_opt(L, opts, "retries", 3, 0, 100);
    if (!lc.max_retries)
        lc.max_retries = HDLC_TIMEOUT_NONE;
    lc.inter_octet_ms = (unsigned)int_opt(L, opts, "inter_octet_ms", 200, 1, 600000);
    lc.max_apdu = 65535;
    if (opts) {
        lua_getfield(L, opts, "snrm_params");
        lc.snrm_no_params = !lua_isnil(L, -1) && !lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    unsigned op_ms = (unsigned)int_opt(L, opts, "timeout_ms", DEFAULT_OP_MS, 1, 86400000);
    unsigned baud = (unsigned)int_opt(L, opts, "baud", dbaud, 300, 115200);

    ldlms_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->d = NULL;
    luaL_setmetatable(L, DLMS_MT);
    mb_dlms_t *d = calloc(1, sizeof *d);
    if (!d)
        return luaL_error(L, "out of memory");
    d->refs = 2;
    d->res.kind = "dlms";
    d->res.shutdown = res_shutdown;
    d->res.step_edge = res_step_edge;
    d->loop = mb_scn_env(s)->loop;
    d->hdlc = hdlc;
    d->client = (uint16_t)client;
    d->server_sap = (uint16_t)server;
    d->op_timeout_ms = op_ms;
    d->ccfg = cc;
    d->lcfg = lc;
    snprintf(d->spec, sizeof d->spec, "%s", phy_spec);
    u->d = d;
    mb_res_add(s, &d->res);
    d->req = malloc(REQ_CAP);
    d->last_req = malloc(REQ_CAP);
    d->wbuf = malloc(WRAP_MAX_APDU + 16);
    if (!d->req || !d->last_req || !d->wbuf) {
        close_now(d, "out of memory");
        return luaL_error(L, "out of memory");
    }
    wrap_decoder_init(&d->wdec, d->wbuf, WRAP_MAX_APDU);
    hdlc_decoder_init(&d->hdec, d->hbuf, sizeof d->hbuf);
    int err = 0;
    d->dc = dlms_client_new(&cc, &err);
    if (!d->dc) {
        close_now(d, "bad settings");
        return luaL_error(L, "m:dlms: client settings refused: %s", ms_strerror(err));
    }
    dlms_client_set_trace(d->dc, on_apdu_trace, d);
    uv_timer_init(d->loop, &d->timer);
    d->timer.data = d;
    d->timer_init = true;
    if (hdlc) {
        d->link = hdlc_link_new(&lc, now_ms(), &err);
        if (!d->link) {
            close_now(d, "bad settings");
            return luaL_error(L, "m:dlms: HDLC settings refused: %s", ms_strerror(err));
        }
    }
    char msg[512];
    if (!strncmp(phy_spec, "serial:", 7)) {
        const char *dev = phy_spec + 7;
        bool pty = strncmp(dev, "/dev/pts/", 9) == 0;
        char real[4096];
        if (!pty && realpath(dev, real))
            pty = strncmp(real, "/dev/pts/", 9) == 0;
        ms_phy_tty_opts_t o = { .path = dev, .line = MS_LINE_8N1(baud), .pace = pty };
        rc = ms_phy_tty_open(d->loop, &o, &phy_cb, d, &d->phy);
        if (rc) {
            d->phy = NULL;
            snprintf(msg, sizeof msg, "%s: %s", dev, ms_strerror(rc));
            close_now(d, "could not open");
            return mb_raise(L, "fixture", "cannot open the meter's port: %s", msg);
        }
        return 1;
    }
    if (strncmp(phy_spec, "tcp:", 4) != 0) {
        close_now(d, "bad spec");
        return luaL_error(L, "m:dlms: the meter is neither serial: nor tcp: (%s)",
                          phy_spec);
    }
    d->tcp = true;
    char host[128];
    const char *hp = phy_spec + 4, *colon = strrchr(hp, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || *end || port <= 0 || port > 65535) {
        close_now(d, "bad spec");
        return luaL_error(L, "m:dlms: %s: expected tcp:HOST:PORT", phy_spec);
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = 0;
    }
    rc = ms_phy_tcp_connect(d->loop, host, (unsigned)port, &phy_cb, d, on_connect,
                            &d->phy);
    if (rc) {
        d->phy = NULL;
        close_now(d, "could not connect");
        return mb_raise(L, "fixture", "cannot connect to %s: %s", phy_spec,
                        ms_strerror(rc));
    }
    mb_wait_prepare(s, "the TCP connection", NULL, NULL);
    d->wait = W_OPEN;
    return mb_block(L, 10000, k_open, 0);
}
