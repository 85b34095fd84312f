/*
** test_hdlc_link.c — IEC 62056-46 HDLC link sessions with a fake clock: server (meter)
** negotiation, I/RR flow with windows 1 and 7, segmentation both ways, N(S)/N(R)
** errors, DISC, DM, the HDLC_1 cases of the DLMS UA conformance test plan (discard vs
** FRMR), time-outs, addressing; client connect, requests, repeats and refusals.
** SPDX-License-Identifier: MIT
**
** Expected bytes come from third-party vectors where they exist: the pwitab/dlms-cosem
** SNRM, UA, AARQ and AARE frames (MS_SHARED_DATA/dlms/pwitab_2021, MIT) are what the
** client must send and the server must answer; the EPRI PUT_SNRM and PUT_TEST_PACKET
** frames (BSD-3-Clause) and the gurux.fi forum 15618 DISC/DM exchange likewise. Other
** answers are checked field by field after decoding with the frame decoder.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hdlc_frame.h"
#include "hdlc_link.h"
#include "hdlc_link_util.h"
#include "hdlc_test_util.h"
#include "ms_err.h"

#define PWITAB "dlms/pwitab_2021/hex_vectors.jsonl"
#define EPRI   "dlms/epri_dlms_cosem_vectors.jsonl"

static t_out_t out;
static t_events_t ev;
static uint8_t fb[HDLC_FRAME_WIRE_MAX * 2];

/* The pwitab addresses: server upper 1, lower 17 (2 bytes), public client 0x10. */
static hdlc_addr_t srv_a(void)
{
    return t_addr(1, 17, 2);
}

static hdlc_addr_t cli_a(void)
{
    return t_client(0x10);
}

static hdlc_link_cfg_t srv_cfg(void)
{
    hdlc_link_cfg_t c;
    memset(&c, 0, sizeof c);
    c.role = HDLC_ROLE_SERVER;
    c.server = srv_a();
    c.event = t_event_fn;
    c.ctx = &ev;
    return c;
}

static hdlc_link_t *mk_link(const hdlc_link_cfg_t *c)
{
    memset(&ev, 0, sizeof ev);
    int err = 1;
    hdlc_link_t *l = hdlc_link_new(c, 0, &err);
    assert_non_null(l);
    assert_int_equal(err, 0);
    return l;
}

static t_out_t *feed(hdlc_link_t *l, uint64_t now, const uint8_t *p, size_t n)
{
    hdlc_link_input(l, now, p, n);
    return t_drain(l, &out);
}

static size_t pw(const char *context, uint8_t *b, size_t cap)
{
    return t_jsonl_hex(PWITAB, "context", context, b, cap);
}

/* SNRM with the given information field from the pwitab client to the server. */
static t_out_t *snrm(hdlc_link_t *l, uint64_t now, const uint8_t *info, size_t n)
{
    size_t len =
        t_mk(fb, sizeof fb, HDLC_SNRM, srv_a(), cli_a(), true, 0, 0, false, info, n);
    return feed(l, now, fb, len);
}

static t_out_t *i_frame(hdlc_link_t *l, uint64_t now, int ns, int nr, bool pf, bool seg,
                        const uint8_t *info, size_t n)
{
    size_t len = t_mk(fb, sizeof fb, HDLC_I, srv_a(), cli_a(), pf, ns, nr, seg, info, n);
    return feed(l, now, fb, len);
}

static t_out_t *s_frame(hdlc_link_t *l, uint64_t now, hdlc_type_t t, int nr, bool pf)
{
    size_t len = t_mk(fb, sizeof fb, t, srv_a(), cli_a(), pf, 0, nr, false, NULL, 0);
    return feed(l, now, fb, len);
}

/* An APDU as a client sends it: LLC E6 E6 00 + n bytes of a counting pattern. */
static size_t client_apdu(uint8_t *b, size_t n, uint8_t seed)
{
    b[0] = 0xE6;
    b[1] = 0xE6;
    b[2] = 0x00;
    for (size_t i = 0; i < n; i++)
        b[3 + i] = (uint8_t)(seed + i * 7);
    return n + 3;
}

static void assert_frame(const t_frm_t *t, hdlc_type_t type, bool pf)
{
    assert_int_equal(t->f.type, type);
    assert_int_equal(t->f.pf, pf);
}

/* ---- NDM ---- */

static void test_ndm_dm_answers(void **state)
{
    /* gurux.fi forum 15618: server 1 (1 byte), client 0x10. DISC in NDM -> DM; the
     * I frame (control 0x94) in NDM -> DM; the "illegal frame" (bad HCS) -> nothing. */
    hdlc_link_cfg_t c = srv_cfg();
    c.server = t_addr(1, 0, 1);
    hdlc_link_t *l = mk_link(&c);
    uint8_t b[64], dm[16];
    size_t dml = t_hex("7E A0 07 21 03 1F 6B E9 7E", dm, sizeof dm);
    size_t n = t_hex("7E A0 07 03 21 53 03 C7 7E", b, sizeof b);
    feed(l, 10, b, n);
    assert_int_equal(out.nsend, 1);
    assert_int_equal(out.wire_len, dml);
    assert_memory_equal(out.wire, dm, dml);
    n = t_hex(
        "7E A0 1E 03 21 94 72 4F 81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 "
        "00 00 00 01 53 3B 7E",
        b, sizeof b);
    feed(l, 20, b, n);
    assert_int_equal(out.wire_len, dml);
    assert_memory_equal(out.wire, dm, dml);
    b[5] = 0x93; /* the illegal frame: SNRM control, HCS of the 0x94 frame */
    feed(l, 30, b, n);
    assert_int_equal(out.nact, 0);
    assert_int_equal(ev.n[HDLC_EV_RX_ERROR], 1);
    assert_int_equal(ev.last_detail[HDLC_EV_RX_ERROR], MS_EBADHCS);
    /* RR with P -> DM; RR without P, UA, DM -> nothing */
    hdlc_addr_t s1 = t_addr(1, 0, 1);
    n = t_mk(b, sizeof b, HDLC_RR, s1, cli_a(), true, 0, 0, false, NULL, 0);
    feed(l, 40, b, n);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_DM, true);
    n = t_mk(b, sizeof b, HDLC_RR, s1, cli_a(), false, 0, 0, false, NULL, 0);
    assert_int_equal(feed(l, 50, b, n)->nact, 0);
    n = t_mk(b, sizeof b, HDLC_UA, s1, cli_a(), true, 0, 0, false, NULL, 0);
    assert_int_equal(feed(l, 60, b, n)->nact, 0);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);
    assert_string_equal(hdlc_link_state_name(l), "NDM");
    hdlc_link_free(l);
}

/* ---- SNRM / UA negotiation ---- */

static void test_snrm_defaults(void **state)
{
    hdlc_link_t *l = mk_link(&(hdlc_link_cfg_t){ 0 });
    hdlc_link_free(l);
    hdlc_link_cfg_t c = srv_cfg();
    l = mk_link(&c);
    /* pwitab TestSnrmFrame: SNRM without information field */
    uint8_t b[64];
    size_t n = pw("TestSnrmFrame.test_parses_correct", b, sizeof b);
    feed(l, 5, b, n);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_true(hdlc_addr_equal(&out.frm[0].f.dst, &(hdlc_addr_t){ 0x10, 0, 1 }));
    /* UA carries the defaults: the Green Book example field */
    uint8_t want[32];
    size_t wl = t_hex("81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01",
                      want, sizeof want);
    assert_int_equal(out.frm[0].f.info_len, wl);
    assert_memory_equal(out.frm[0].info, want, wl);
    t_act_t *a = t_find(&out, HDLC_ACT_CONNECTED);
    assert_non_null(a);
    assert_int_equal(a->client.upper, 0x10);
    assert_int_equal(a->server.lower, 17);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NRM);
    const hdlc_link_params_t *p = hdlc_link_params(l);
    assert_int_equal(p->max_info_tx, 128);
    assert_int_equal(p->max_info_rx, 128);
    assert_int_equal(p->window_tx, 1);
    assert_int_equal(p->window_rx, 1);
    hdlc_link_free(l);
}

/* The server's view after an SNRM with the field p (hex). */
static hdlc_link_params_t negotiate(const hdlc_link_cfg_t *c, const char *hex,
                                    hdlc_params_t *ua)
{
    hdlc_link_t *l = mk_link(c);
    uint8_t info[64];
    size_t n = t_hex(hex, info, sizeof info);
    snrm(l, 0, info, n);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(hdlc_params_decode(out.frm[0].info, out.frm[0].f.info_len, ua), 0);
    hdlc_link_params_t p = *hdlc_link_params(l);
    hdlc_link_free(l);
    return p;
}

static void test_snrm_each_param(void **state)
{
    hdlc_link_cfg_t c = srv_cfg();
    c.max_info_tx = c.max_info_rx = 512;
    c.window_tx = c.window_rx = 7;
    hdlc_params_t ua;
    /* 0x05 only (client transmit, 1 byte): the server's receive */
    hdlc_link_params_t p = negotiate(&c, "81 80 03 05 01 64", &ua);
    assert_int_equal(p.max_info_rx, 100);
    assert_int_equal(p.max_info_tx, 128);
    assert_int_equal(p.window_tx, 1);
    assert_int_equal(p.window_rx, 1);
    /* the UA in the server's own view: transmit 128, receive 100 */
    assert_int_equal(ua.value[HDLC_P_MAX_INFO_TX], 128);
    assert_int_equal(ua.value[HDLC_P_MAX_INFO_RX], 100);
    assert_int_equal(ua.width[HDLC_P_WINDOW_TX], 4);
    /* 0x06 only, 2 bytes: the server's transmit, min(512, 1024) */
    p = negotiate(&c, "81 80 04 06 02 04 00", &ua);
    assert_int_equal(p.max_info_tx, 512);
    assert_int_equal(p.max_info_rx, 128);
    assert_int_equal(ua.value[HDLC_P_MAX_INFO_TX], 512);
    assert_int_equal(ua.width[HDLC_P_MAX_INFO_TX], 2);
    /* 0x07 only, 4 bytes: the client's transmit window is the server's receive */
    p = negotiate(&c, "81 80 06 07 04 00 00 00 03", &ua);
    assert_int_equal(p.window_rx, 3);
    assert_int_equal(p.window_tx, 1);
    assert_int_equal(ua.value[HDLC_P_WINDOW_RX], 3);
    /* 0x08 only, 1 byte */
    p = negotiate(&c, "81 80 03 08 01 05", &ua);
    assert_int_equal(p.window_tx, 5);
    assert_int_equal(p.window_rx, 1);
    /* 4-byte length value */
    p = negotiate(&c, "81 80 06 05 04 00 00 01 00", &ua);
    assert_int_equal(p.max_info_rx, 256);
    /* the minimum: proposals above the capability */
    p = negotiate(
        &c, "81 80 14 05 02 07 D0 06 02 07 D0 07 04 00 00 00 07 08 04 00 00 00 07", &ua);
    assert_int_equal(p.max_info_tx, 512);
    assert_int_equal(p.max_info_rx, 512);
    assert_int_equal(p.window_tx, 7);
    assert_int_equal(p.window_rx, 7);
    hdlc_link_cfg_t d = srv_cfg(); /* default capability 128 / 1 */
    p = negotiate(
        &d, "81 80 14 05 02 07 D0 06 02 07 D0 07 04 00 00 00 07 08 04 00 00 00 07", &ua);
    assert_int_equal(p.max_info_tx, 128);
    assert_int_equal(p.window_rx, 1);
    assert_int_equal(ua.value[HDLC_P_MAX_INFO_RX], 128);

    /* u9n/dlms-cosem #62: server 0x10/0x20 (2 bytes), client 0x13, values of 1, 2 and
     * 4 bytes: client transmit 128, receive 512, windows 1 */
    hdlc_link_cfg_t e = srv_cfg();
    e.server = t_addr(0x10, 0x20, 2);
    e.max_info_tx = e.max_info_rx = 512;
    hdlc_link_t *l = mk_link(&e);
    uint8_t b[64];
    size_t n =
        t_hex("7E A0 20 20 41 27 93 0C 0C 81 80 13 05 01 80 06 02 02 00 07 04 00 00 "
              "00 01 08 04 00 00 00 01 B4 F9 7E",
              b, sizeof b);
    feed(l, 0, b, n);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(out.frm[0].f.dst.upper, 0x13);
    assert_int_equal(hdlc_link_params(l)->max_info_tx, 512);
    assert_int_equal(hdlc_link_params(l)->max_info_rx, 128);
    hdlc_link_free(l);
}

static void test_snrm_bad_params(void **state)
{
    hdlc_link_cfg_t c = srv_cfg();
    hdlc_link_t *l = mk_link(&c);
    /* window 0; a 3-byte value; a bad format identifier: DM, stays in NDM */
    static const char *bad[] = { "81 80 03 07 01 00", "81 80 05 05 03 00 00 80",
                                 "82 80 03 05 01 80" };
    for (int i = 0; i < 3; i++) {
        uint8_t info[16];
        size_t n = t_hex(bad[i], info, sizeof info);
        snrm(l, 0, info, n);
        assert_int_equal(out.nfrm, 1);
        assert_frame(&out.frm[0], HDLC_DM, true);
        assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);
    }
    assert_int_equal(ev.n[HDLC_EV_PARAMS], 3);
    /* in NRM the same SNRM is a frame reject (W, X) */
    snrm(l, 0, NULL, 0);
    assert_int_equal(out.nconn, 1);
    uint8_t info[16];
    size_t n = t_hex(bad[0], info, sizeof info);
    snrm(l, 0, info, n);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_FRMR, true);
    assert_int_equal(out.frm[0].info[2], HDLC_FRMR_W | HDLC_FRMR_X);
    hdlc_link_free(l);
}

/* ---- I / RR flow, window 1 ---- */

static void test_pwitab_exchange(void **state)
{
    /* SNRM, the AARQ I frame, the server's AARE answer byte for byte */
    hdlc_link_cfg_t c = srv_cfg();
    c.reaction_ms = 20;
    hdlc_link_t *l = mk_link(&c);
    uint8_t b[256], want[256];
    size_t n = pw("TestSnrmFrame.test_parses_correct", b, sizeof b);
    feed(l, 0, b, n);
    assert_int_equal(out.nconn, 1);
    assert_int_equal(out.act[0].delay_ms, 20);
    n = pw("TestInformationFrame.test_construct", b, sizeof b);
    feed(l, 100, b, n);
    assert_int_equal(out.nsend, 0); /* the poll is held for the reply */
    t_act_t *a = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(a);
    assert_int_equal(a->data[0], 0x60); /* AARQ, LLC header stripped */
    assert_int_equal(a->len, 0x2C - 2 - 3 - 1 - 2 - 2 - 3);
    assert_int_equal(a->client.upper, 0x10);
    assert_int_equal(a->server.upper, 1);
    assert_false(a->ui);
    assert_int_equal(hdlc_link_deadline(l), 100 + HDLC_INACTIVITY_DEFAULT_MS);

    size_t wl = pw("TestInformationResponseFrame.test_contruct", want, sizeof want);
    /* the AARE: the response frame's information field without E6 E7 00 */
    hdlc_frame_t rf;
    assert_int_equal(hdlc_frame_decode(want + 1, wl - 2, &rf), 0);
    assert_int_equal(hdlc_link_send(l, 110, rf.info + 3, rf.info_len - 3), 0);
    t_drain(l, &out);
    assert_int_equal(out.nsend, 1);
    assert_int_equal(out.act[0].delay_ms, 20);
    assert_int_equal(out.wire_len, wl);
    assert_memory_equal(out.wire, want, wl);
    /* a poll with nothing to send: RR N(R) = 1 */
    s_frame(l, 200, HDLC_RR, 1, true);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_RR, true);
    assert_int_equal(out.frm[0].f.nr, 1);
    /* send when not polled waits for the next poll */
    uint8_t apdu[4] = { 1, 2, 3, 4 };
    assert_int_equal(hdlc_link_send(l, 210, apdu, 4), 0);
    assert_int_equal(t_drain(l, &out)->nact, 0);
    assert_int_equal(hdlc_link_send(l, 211, apdu, 4), MS_EBUSY);
    s_frame(l, 220, HDLC_RR, 1, true);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_I, true);
    assert_int_equal(out.frm[0].f.ns, 1);
    assert_int_equal(out.frm[0].f.nr, 1);
    assert_int_equal(out.frm[0].f.info_len, 7);
    assert_memory_equal(out.frm[0].info, ((const uint8_t[]){ 0xE6, 0xE7, 0, 1, 2, 3, 4 }),
                        7);
    hdlc_link_free(l);
}

static void test_reply_hold_release(void **state)
{
    hdlc_link_cfg_t c = srv_cfg();
    hdlc_link_t *l = mk_link(&c);
    snrm(l, 0, NULL, 0);
    uint8_t a[16];
    size_t n = client_apdu(a, 5, 1);
    i_frame(l, 10, 0, 0, true, false, a, n);
    assert_int_equal(out.napdu, 1);
    assert_int_equal(out.nsend, 0);
    assert_int_equal(hdlc_link_release(l, 20), 0); /* no reply: RR answers the poll */
    t_drain(l, &out);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_RR, true);
    assert_int_equal(out.frm[0].f.nr, 1);
    hdlc_link_free(l);

    /* with reply_ms, a held poll is answered with RR at the deadline */
    c.reply_ms = 500;
    l = mk_link(&c);
    snrm(l, 0, NULL, 0);
    i_frame(l, 1000, 0, 0, true, false, a, n);
    assert_int_equal(hdlc_link_deadline(l), 1500);
    hdlc_link_tick(l, 1499);
    assert_int_equal(t_drain(l, &out)->nact, 0);
    hdlc_link_tick(l, 1500);
    t_drain(l, &out);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_RR, true);
    assert_true(hdlc_link_deadline(l) > 1500);
    assert_int_equal(ev.last_detail[HDLC_EV_TIMEOUT], 3);
    assert_int_equal(hdlc_link_release(l, 1600), 0);
    hdlc_link_free(l);
}

/* ---- segmentation ---- */

/* Connect with window w both ways and the given maximum information field lengths. */
static hdlc_link_t *connected(unsigned w, unsigned info)
{
    hdlc_link_cfg_t c = srv_cfg();
    c.window_tx = c.window_rx = w;
    c.max_info_tx = c.max_info_rx = info;
    hdlc_link_t *l = mk_link(&c);
    hdlc_params_t p;
    memset(&p, 0, sizeof p);
    hdlc_params_set(&p, HDLC_P_MAX_INFO_TX, info);
    hdlc_params_set(&p, HDLC_P_MAX_INFO_RX, info);
    hdlc_params_set(&p, HDLC_P_WINDOW_TX, w);
    hdlc_params_set(&p, HDLC_P_WINDOW_RX, w);
    uint8_t f[32];
    ms_wr_t wr;
    ms_wr_init(&wr, f, sizeof f);
    hdlc_params_put(&wr, &p);
    snrm(l, 0, f, wr.len);
    assert_int_equal(out.nconn, 1);
    assert_int_equal(hdlc_link_params(l)->window_tx, w);
    assert_int_equal(hdlc_link_params(l)->max_info_rx, info);
    return l;
}

static uint8_t big[70000], got[70000];

static void test_segmentation_out_window1(void **state)
{
    hdlc_link_t *l = connected(1, 128);
    uint8_t a[16];
    i_frame(l, 10, 0, 0, true, false, a, client_apdu(a, 4, 0));
    for (size_t i = 0; i < 1000; i++)
        big[i] = (uint8_t)(i * 13 + 1);
    assert_int_equal(hdlc_link_send(l, 20, big, 1000), 0);
    t_drain(l, &out);
    size_t glen = 0;
    int frames = 0;
    for (;;) {
        assert_int_equal(out.nfrm, 1); /* window 1: one frame per poll */
        const t_frm_t *t = &out.frm[0];
        assert_frame(t, HDLC_I, true);
        assert_int_equal(t->f.ns, frames & 7);
        assert_int_equal(t->f.nr, 1);
        memcpy(got + glen, t->info, t->f.info_len);
        glen += t->f.info_len;
        frames++;
        if (!t->f.segmented)
            break;
        assert_int_equal(t->f.info_len, 128);
        s_frame(l, 30 + (uint64_t)frames, HDLC_RR, frames & 7, true); /* next segment */
    }
    assert_int_equal(frames, 8); /* 1003 bytes in 128-byte fields */
    assert_int_equal(glen, 1003);
    assert_memory_equal(got, ((const uint8_t[]){ 0xE6, 0xE7, 0x00 }), 3);
    assert_memory_equal(got + 3, big, 1000);
    /* the next request acknowledges the last frame */
    i_frame(l, 100, 1, 0, true, false, a, client_apdu(a, 4, 0));
    assert_int_equal(out.napdu, 1);
    hdlc_link_free(l);
}

static void test_segmentation_out_window7(void **state)
{
    hdlc_link_t *l = connected(7, 128);
    uint8_t a[16];
    i_frame(l, 10, 0, 0, true, false, a, client_apdu(a, 4, 0));
    assert_int_equal(hdlc_link_send(l, 20, big, 1000), 0);
    t_drain(l, &out);
    assert_int_equal(out.nsend, 1); /* one answer ... */
    assert_int_equal(out.nfrm, 7);  /* ... of a full window */
    for (int i = 0; i < 7; i++) {
        assert_int_equal(out.frm[i].f.ns, i);
        assert_int_equal(out.frm[i].f.pf, i == 6); /* F on the last only */
        assert_true(out.frm[i].f.segmented);
    }
    /* the client lost frames 3..6: it acknowledges 0..2; the server sends 3..6 again
     * and the last new frame (window room 3) */
    s_frame(l, 30, HDLC_RR, 3, true);
    assert_int_equal(out.nfrm, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(out.frm[i].f.ns, 3 + i);
    assert_int_equal(ev.last_detail[HDLC_EV_RETRANSMIT], 4);
    assert_false(out.frm[4].f.segmented); /* 8 frames in all */
    assert_true(out.frm[4].f.pf);
    assert_int_equal(out.frm[4].f.info_len, 1003 - 7 * 128);
    /* all acknowledged: RR */
    s_frame(l, 40, HDLC_RR, 0, true);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_RR, true);
    hdlc_link_free(l);
}

static void test_segmentation_in(void **state)
{
    /* window 1: each segment polled, RR in between (PROTOCOL-NOTES trap 4) */
    hdlc_link_t *l = connected(1, 64);
    uint8_t a[400];
    size_t n = client_apdu(a, 300, 5);
    size_t off = 0;
    int ns = 0;
    while (off < n) {
        size_t k = n - off < 64 ? n - off : 64;
        bool seg = off + k < n;
        i_frame(l, 10 + (uint64_t)ns, ns, 0, true, seg, a + off, k);
        off += k;
        ns++;
        if (seg) {
            assert_int_equal(out.napdu, 0);
            assert_int_equal(out.nfrm, 1);
            assert_frame(&out.frm[0], HDLC_RR, true);
            assert_int_equal(out.frm[0].f.nr, ns);
        }
    }
    assert_int_equal(ns, 5);
    t_act_t *ap = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(ap);
    assert_int_equal(ap->len, 300);
    assert_memory_equal(ap->data, a + 3, 300);
    hdlc_link_free(l);

    /* window 7: the poll only on the last frame of the window */
    l = connected(7, 64);
    off = 0;
    ns = 0;
    int answers = 0;
    while (off < n) {
        size_t k = n - off < 64 ? n - off : 64;
        bool seg = off + k < n;
        bool pf = !seg || ns == 2; /* a window of 3, then the rest */
        i_frame(l, 10 + (uint64_t)ns, ns, 0, pf, seg, a + off, k);
        answers += out.nsend;
        off += k;
        ns++;
        if (ns == 3) {
            assert_int_equal(out.nfrm, 1);
            assert_frame(&out.frm[0], HDLC_RR, true);
            assert_int_equal(out.frm[0].f.nr, 3);
        }
    }
    assert_int_equal(answers, 1); /* the last frame's poll is held for the reply */
    ap = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(ap);
    assert_int_equal(ap->len, 300);
    hdlc_link_free(l);

    /* over max_apdu: dropped, the poll answered with RR */
    hdlc_link_cfg_t c = srv_cfg();
    c.max_apdu = 100;
    l = mk_link(&c);
    snrm(l, 0, NULL, 0);
    i_frame(l, 1, 0, 0, true, true, a, 100);
    i_frame(l, 2, 1, 0, true, false, a + 100, 20);
    assert_int_equal(out.napdu, 0);
    assert_int_equal(ev.last_detail[HDLC_EV_APDU_DROPPED], MS_ETOOBIG);
    assert_frame(&out.frm[0], HDLC_RR, true);
    /* an APDU without LLC header is dropped too */
    i_frame(l, 3, 2, 0, true, false, a + 3, 10);
    assert_int_equal(out.napdu, 0);
    assert_int_equal(ev.last_detail[HDLC_EV_APDU_DROPPED], MS_EFRAME);
    /* an LLC header alone is no APDU (found by fuzz_hdlc_link) */
    i_frame(l, 3, 3, 0, true, false, a, 3);
    assert_int_equal(out.napdu, 0);
    assert_int_equal(ev.n[HDLC_EV_APDU_DROPPED], 3);
    assert_frame(&out.frm[0], HDLC_RR, true);
    /* an empty I frame passes nothing up */
    i_frame(l, 4, 4, 0, true, false, NULL, 0);
    assert_int_equal(out.napdu, 0);
    assert_frame(&out.frm[0], HDLC_RR, true);
    assert_int_equal(out.frm[0].f.nr, 5);
    hdlc_link_free(l);
}

/* ---- N(S) / N(R) errors and FRMR ---- */

static void test_wrong_nr(void **state)
{
    hdlc_link_t *l = connected(1, 128);
    uint8_t a[16];
    size_t n = client_apdu(a, 3, 0);
    i_frame(l, 10, 0, 3, true, false, a, n); /* N(R) 3: nothing was sent */
    assert_int_equal(out.napdu, 0);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_FRMR, true);
    hdlc_frmr_t fr;
    assert_int_equal(hdlc_frmr_decode(out.frm[0].info, out.frm[0].f.info_len, &fr), 0);
    assert_int_equal(fr.control, 0x70); /* N(R) 3, P, N(S) 0 */
    assert_int_equal(fr.flags, HDLC_FRMR_Z);
    assert_int_equal(fr.vs, 0);
    assert_int_equal(fr.vr, 0);
    assert_string_equal(hdlc_link_state_name(l), "NRM/FRMR");
    /* the frame reject condition: every poll gets the same FRMR */
    s_frame(l, 20, HDLC_RR, 0, true);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_FRMR, true);
    assert_int_equal(out.frm[0].info[2], HDLC_FRMR_Z);
    i_frame(l, 30, 0, 0, true, false, a, n);
    assert_int_equal(out.napdu, 0);
    assert_frame(&out.frm[0], HDLC_FRMR, true);
    /* SNRM clears it */
    snrm(l, 40, NULL, 0);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_string_equal(hdlc_link_state_name(l), "NRM");
    assert_int_equal(out.ndisc, 1); /* the old connection ends, a new one starts */
    assert_int_equal(out.nconn, 1);
    /* an RR with an invalid N(R) too */
    s_frame(l, 50, HDLC_RR, 5, true);
    assert_frame(&out.frm[0], HDLC_FRMR, true);
    assert_int_equal(out.frm[0].info[2], HDLC_FRMR_Z);
    /* DISC clears it as well */
    s_frame(l, 60, HDLC_DISC, 0, true);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);
    hdlc_link_free(l);
}

static void test_wrong_ns(void **state)
{
    hdlc_link_t *l = connected(1, 128);
    uint8_t a[16];
    size_t n = client_apdu(a, 3, 0);
    i_frame(l, 10, 2, 0, true, false, a, n); /* V(R) is 0 */
    assert_int_equal(out.napdu, 0);
    assert_frame(&out.frm[0], HDLC_FRMR, true);
    assert_int_equal(out.frm[0].info[0], 0x14); /* N(S) 2, P */
    assert_int_equal(out.frm[0].info[2], HDLC_FRMR_W);
    hdlc_link_free(l);

    /* policy: discard, answer RR N(R) = V(R) */
    hdlc_link_cfg_t c = srv_cfg();
    c.ns_policy = HDLC_NS_DISCARD;
    l = mk_link(&c);
    snrm(l, 0, NULL, 0);
    i_frame(l, 10, 2, 0, true, false, a, n);
    assert_int_equal(out.napdu, 0);
    assert_frame(&out.frm[0], HDLC_RR, true);
    assert_int_equal(out.frm[0].f.nr, 0);
    assert_int_equal(ev.n[HDLC_EV_SEQ_ERROR], 1);
    hdlc_link_free(l);

    /* a repeat (the client lost the answer) is not an error: the answer goes again,
     * the APDU does not go up twice */
    l = connected(1, 128);
    i_frame(l, 10, 0, 0, true, false, a, n);
    assert_int_equal(out.napdu, 1);
    uint8_t r[3] = { 9, 8, 7 };
    hdlc_link_send(l, 11, r, 3);
    t_drain(l, &out);
    assert_frame(&out.frm[0], HDLC_I, true);
    uint8_t first[64];
    memcpy(first, out.wire, out.wire_len);
    size_t first_len = out.wire_len;
    i_frame(l, 20, 0, 0, true, false, a, n); /* the same frame again */
    assert_int_equal(out.napdu, 0);
    assert_int_equal(out.wire_len, first_len);
    assert_memory_equal(out.wire, first, first_len);
    assert_int_equal(ev.n[HDLC_EV_SEQ_ERROR], 1);
    /* an RR poll after a lost answer gets it again too */
    s_frame(l, 30, HDLC_RR, 0, true);
    assert_memory_equal(out.wire, first, first_len);
    s_frame(l, 40, HDLC_RR, 1, true);
    assert_frame(&out.frm[0], HDLC_RR, true);
    /* window 7: a frame ahead within the window (one lost) is discarded, no FRMR */
    hdlc_link_free(l);
    l = connected(7, 128);
    i_frame(l, 10, 1, 0, true, false, a, n);
    assert_int_equal(out.napdu, 0);
    assert_frame(&out.frm[0], HDLC_RR, true);
    assert_int_equal(out.frm[0].f.nr, 0);
    hdlc_link_free(l);
}

/* The HDLC_1 group of the DLMS UA conformance test plan (incorrect frame fields) as
 * the server sees them in NRM: each case with its reaction. */
static void test_hdlc1_cases(void **state)
{
    uint8_t a[300] = { 0 };
    size_t n = client_apdu(a, 3, 0);
    uint8_t b[600];
    size_t len;
    enum { DISCARD, FRMR };
    struct {
        const char *name;
        int mutation;
        int reaction;
        uint8_t frmr_flags;
    } cases[] = {
        { "no closing flag", 0, DISCARD, 0 },
        { "too short", 1, DISCARD, 0 },
        { "bad HCS", 2, DISCARD, 0 },
        { "bad FCS", 3, DISCARD, 0 },
        { "information field too long", 4, FRMR, HDLC_FRMR_Y },
        { "wrong N(R)", 5, FRMR, HDLC_FRMR_Z },
        { "wrong N(S)", 6, FRMR, HDLC_FRMR_W },
        { "unknown control field (REJ)", 7, FRMR, HDLC_FRMR_W },
        { "RR with information field", 8, FRMR, HDLC_FRMR_W | HDLC_FRMR_X },
        { "UA (a response) to the server", 9, FRMR, HDLC_FRMR_W },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hdlc_link_t *l = connected(1, 128);
        hdlc_addr_t s = srv_a(), c = cli_a();
        switch (cases[i].mutation) {
        case 0: /* the closing flag replaced: the partial frame times out */
            len = t_mk(b, sizeof b, HDLC_I, s, c, true, 0, 0, false, a, n);
            b[len - 1] = 0x00;
            break;
        case 1: /* a length field below the minimum */
            len = t_mk(b, sizeof b, HDLC_RR, s, c, true, 0, 0, false, NULL, 0);
            b[2] = 0x05;
            break;
        case 2:
            len = t_mk(b, sizeof b, HDLC_I, s, c, true, 0, 0, false, a, n);
            b[7] ^= 0x01; /* 7E A0 len dst dst src ctrl HCS */
            break;
        case 3:
            len = t_mk(b, sizeof b, HDLC_I, s, c, true, 0, 0, false, a, n);
            b[len - 2] ^= 0x01;
            break;
        case 4:
            len = t_mk(b, sizeof b, HDLC_I, s, c, true, 0, 0, false, a, 129);
            break;
        case 5:
            len = t_mk(b, sizeof b, HDLC_I, s, c, true, 0, 1, false, a, n);
            break;
        case 6:
            len = t_mk(b, sizeof b, HDLC_I, s, c, true, 5, 0, false, a, n);
            break;
        case 7: {
            hdlc_frame_t f = {
                .type = HDLC_UNKNOWN, .control = 0x19, .dst = s, .src = c
            };
            len = (size_t)hdlc_frame_encode(&f, b, sizeof b);
            break;
        }
        case 8:
            len = t_mk(b, sizeof b, HDLC_RR, s, c, true, 0, 0, false, a, 2);
            break;
        default:
            len = t_mk(b, sizeof b, HDLC_UA, s, c, true, 0, 0, false, NULL, 0);
            break;
        }
        hdlc_link_input(l, 10, b, len);
        hdlc_link_tick(l, 10 + HDLC_INTER_OCTET_DEFAULT_MS); /* ends a partial frame */
        t_drain(l, &out);
        if (cases[i].reaction == DISCARD) {
            if (out.nact != 0)
                fail_msg("%s: expected no answer", cases[i].name);
            assert_string_equal(hdlc_link_state_name(l), "NRM");
            /* the link still works */
            i_frame(l, 100, 0, 0, true, false, a, n);
            assert_int_equal(out.napdu, 1);
        } else {
            if (out.nfrm != 1 || out.frm[0].f.type != HDLC_FRMR)
                fail_msg("%s: expected FRMR", cases[i].name);
            assert_int_equal(out.frm[0].f.info_len, 3);
            assert_int_equal(out.frm[0].info[0], b[6]); /* the rejected control field */
            if (out.frm[0].info[2] != cases[i].frmr_flags)
                fail_msg("%s: FRMR flags %02x", cases[i].name, out.frm[0].info[2]);
            assert_string_equal(hdlc_link_state_name(l), "NRM/FRMR");
        }
        hdlc_link_free(l);
    }
}

static void test_rnr_and_stale_reply(void **state)
{
    /* RNR: the client is busy; the server answers the poll with RR, sends nothing
     * until an RR */
    hdlc_link_t *l = connected(1, 128);
    uint8_t a[16];
    size_t n = client_apdu(a, 3, 0);
    i_frame(l, 10, 0, 0, true, false, a, n);
    assert_int_equal(out.napdu, 1);
    s_frame(l, 20, HDLC_RNR, 0, true);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_RR, true); /* a busy peer's poll is answered at once */
    assert_int_equal(hdlc_link_send(l, 30, big, 10), 0);
    assert_int_equal(t_drain(l, &out)->nfrm, 0); /* no poll held: waits */
    s_frame(l, 40, HDLC_RNR, 0, true);
    assert_frame(&out.frm[0], HDLC_RR, true);
    s_frame(l, 50, HDLC_RR, 0, true);
    assert_frame(&out.frm[0], HDLC_I, true);
    assert_int_equal(out.frm[0].f.info_len, 13);
    hdlc_link_free(l);

    /* a new request while a segmented reply is under way: the rest is dropped */
    l = connected(1, 128);
    i_frame(l, 10, 0, 0, true, false, a, n);
    assert_int_equal(hdlc_link_send(l, 20, big, 1000), 0);
    t_drain(l, &out);
    assert_true(out.frm[0].f.segmented);
    i_frame(l, 30, 1, 1, true, false, a, n);
    assert_int_equal(out.napdu, 1);
    assert_int_equal(hdlc_link_send(l, 40, big, 5), 0); /* not busy */
    t_drain(l, &out);
    assert_frame(&out.frm[0], HDLC_I, true);
    assert_false(out.frm[0].f.segmented);
    assert_int_equal(out.frm[0].f.ns, 1);
    assert_int_equal(out.frm[0].f.nr, 2);
    hdlc_link_free(l);
}

/* ---- DISC, DM ---- */

static void test_disc(void **state)
{
    hdlc_link_t *l = connected(1, 128);
    s_frame(l, 10, HDLC_DISC, 0, true);
    assert_int_equal(out.nfrm, 1);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(out.frm[0].f.info_len, 0);
    assert_int_equal(out.ndisc, 1);
    assert_int_equal(out.last_reason, 0);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);
    assert_int_equal(hdlc_link_deadline(l), UINT64_MAX);
    /* disconnected: DISC and I get DM */
    s_frame(l, 20, HDLC_DISC, 0, true);
    assert_frame(&out.frm[0], HDLC_DM, true);
    uint8_t a[16];
    i_frame(l, 30, 0, 0, true, false, a, client_apdu(a, 2, 0));
    assert_frame(&out.frm[0], HDLC_DM, true);
    assert_int_equal(out.napdu, 0);
    assert_int_equal(hdlc_link_send(l, 40, a, 2), MS_ESTATE);
    assert_int_equal(hdlc_link_release(l, 40), MS_ESTATE);
    hdlc_link_free(l);
}

/* ---- time-outs ---- */

static void test_inactivity(void **state)
{
    hdlc_link_cfg_t c = srv_cfg();
    c.inactivity_ms = 1000;
    hdlc_link_t *l = mk_link(&c);
    snrm(l, 0, NULL, 0);
    assert_int_equal(hdlc_link_deadline(l), 1000);
    s_frame(l, 600, HDLC_RR, 0, true); /* a frame restarts the time */
    assert_int_equal(hdlc_link_deadline(l), 1600);
    hdlc_link_tick(l, 1599);
    assert_int_equal(t_drain(l, &out)->nact, 0);
    hdlc_link_tick(l, 1600);
    t_drain(l, &out);
    assert_int_equal(out.nsend, 0); /* silently */
    assert_int_equal(out.ndisc, 1);
    assert_int_equal(out.last_reason, MS_ETIMEDOUT);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);
    assert_int_equal(hdlc_link_deadline(l), UINT64_MAX);
    s_frame(l, 1700, HDLC_RR, 0, true);
    assert_frame(&out.frm[0], HDLC_DM, true);
    hdlc_link_free(l);

    c.inactivity_ms = HDLC_TIMEOUT_NONE;
    l = mk_link(&c);
    snrm(l, 0, NULL, 0);
    assert_int_equal(hdlc_link_deadline(l), UINT64_MAX);
    hdlc_link_free(l);
}

static void test_inter_octet(void **state)
{
    hdlc_link_t *l = connected(1, 128);
    uint8_t b[64];
    size_t n = t_mk(b, sizeof b, HDLC_RR, srv_a(), cli_a(), true, 0, 0, false, NULL, 0);
    /* the rest within 25 ms: an answer */
    feed(l, 1000, b, 4);
    assert_int_equal(hdlc_link_deadline(l), 1025);
    feed(l, 1020, b + 4, n - 4);
    assert_frame(&out.frm[0], HDLC_RR, true);
    /* the rest after 30 ms: the partial frame was dropped */
    feed(l, 2000, b, 4);
    hdlc_link_tick(l, 2025);
    t_drain(l, &out);
    assert_int_equal(ev.n[HDLC_EV_TIMEOUT], 1);
    assert_int_equal(ev.last_detail[HDLC_EV_TIMEOUT], 0);
    assert_true(hdlc_link_deadline(l) > 2025);
    feed(l, 2030, b + 4, n - 4);
    assert_int_equal(out.nact, 0);
    /* the same without a tick: input after the time-out drops the old part first */
    feed(l, 3000, b, 4);
    feed(l, 3100, b + 4, n - 4);
    assert_int_equal(out.nact, 0);
    feed(l, 3200, b, n);
    assert_frame(&out.frm[0], HDLC_RR, true);
    hdlc_link_free(l);
}

/* ---- addressing ---- */

static void test_addressing(void **state)
{
    hdlc_link_cfg_t c = srv_cfg();
    c.more_upper[0] = 16;
    c.n_more_upper = 1;
    hdlc_link_t *l = mk_link(&c);
    uint8_t b[128], a[16];
    size_t an = client_apdu(a, 2, 0);
    /* another physical device, another logical device, another address size */
    hdlc_addr_t others[] = { t_addr(1, 18, 2), t_addr(2, 17, 2), t_addr(1, 17, 4),
                             t_addr(1, 0, 1) };
    for (int i = 0; i < 4; i++) {
        size_t n =
            t_mk(b, sizeof b, HDLC_SNRM, others[i], cli_a(), true, 0, 0, false, NULL, 0);
        assert_int_equal(feed(l, 1, b, n)->nact, 0);
    }
    assert_int_equal(ev.n[HDLC_EV_IGNORED], 4);
    /* all stations: SNRM not answered; UI taken, flagged broadcast */
    size_t n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(0x7F, 0x7F, 2), cli_a(), true, 0, 0,
                    false, NULL, 0);
    assert_int_equal(feed(l, 2, b, n)->nact, 0);
    n = t_mk(b, sizeof b, HDLC_UI, t_addr(1, 0x7F, 2), cli_a(), true, 0, 0, false, a, an);
    feed(l, 3, b, n);
    assert_int_equal(out.nsend, 0);
    t_act_t *ap = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(ap);
    assert_true(ap->ui);
    assert_true(ap->broadcast);
    /* EPRI PUT_TEST_PACKET: a UI to upper 0x67, lower all stations (2 bytes) */
    hdlc_link_cfg_t e = srv_cfg();
    e.server = t_addr(0x67, 5, 2);
    hdlc_link_t *m = mk_link(&e);
    n = t_jsonl_hex(EPRI, "context", "PUT_TEST_PACKET", b, sizeof b);
    feed(m, 0, b, n);
    ap = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(ap);
    assert_true(ap->broadcast);
    assert_int_equal(ap->len, 6); /* 1D 64 00 14 00 00 after E6 E6 00 */
    assert_int_equal(ap->data[0], 0x1D);
    hdlc_link_free(m);
    /* source address not a client: 0x7F, 2 bytes */
    n = t_mk(b, sizeof b, HDLC_SNRM, srv_a(), t_client(0x7F), true, 0, 0, false, NULL, 0);
    assert_int_equal(feed(l, 4, b, n)->nact, 0);
    n = t_mk(b, sizeof b, HDLC_SNRM, srv_a(), t_addr(1, 1, 2), true, 0, 0, false, NULL,
             0);
    assert_int_equal(feed(l, 4, b, n)->nact, 0);
    /* the second logical device connects */
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(16, 17, 2), cli_a(), true, 0, 0, false, NULL,
             0);
    feed(l, 5, b, n);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(out.frm[0].f.src.upper, 16);
    /* another client while connected: DM */
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(16, 17, 2), t_client(0x11), true, 0, 0, false,
             NULL, 0);
    feed(l, 6, b, n);
    assert_frame(&out.frm[0], HDLC_DM, true);
    assert_int_equal(out.frm[0].f.dst.upper, 0x11);
    /* the connected client to the other logical device: not connected there (DM) */
    n = t_mk(b, sizeof b, HDLC_I, srv_a(), cli_a(), true, 0, 0, false, a, an);
    feed(l, 7, b, n);
    assert_frame(&out.frm[0], HDLC_DM, true);
    /* and SNRM there moves the connection */
    n = t_mk(b, sizeof b, HDLC_SNRM, srv_a(), cli_a(), true, 0, 0, false, NULL, 0);
    feed(l, 8, b, n);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(out.frm[0].f.src.upper, 1);
    hdlc_link_free(l);

    /* the calling physical device address, only when allowed */
    c = srv_cfg();
    l = mk_link(&c);
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(1, 0x7E, 2), cli_a(), true, 0, 0, false, NULL,
             0);
    assert_int_equal(feed(l, 1, b, n)->nact, 0);
    hdlc_link_free(l);
    c.accept_calling = true;
    l = mk_link(&c);
    feed(l, 1, b, n);
    assert_frame(&out.frm[0], HDLC_UA, true);
    hdlc_link_free(l);

    /* any address size: the 4-byte server 1/2361 answers 1- and 4-byte addresses
     * (in the size asked), not a 2-byte one (2361 does not fit 7 bits) nor another
     * physical device */
    c = srv_cfg();
    c.server = t_addr(1, 2361, 4);
    c.any_address_size = true;
    l = mk_link(&c);
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(1, 0, 1), cli_a(), true, 0, 0, false, NULL,
             0);
    feed(l, 1, b, n);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(out.frm[0].f.src.size, 1);
    n = t_mk(b, sizeof b, HDLC_DISC, t_addr(1, 0, 1), cli_a(), true, 0, 0, false, NULL,
             0);
    feed(l, 2, b, n);
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(1, 2361, 4), cli_a(), true, 0, 0, false, NULL,
             0);
    feed(l, 3, b, n);
    assert_frame(&out.frm[0], HDLC_UA, true);
    assert_int_equal(out.frm[0].f.src.size, 4);
    assert_int_equal(out.frm[0].f.src.lower, 2361);
    n = t_mk(b, sizeof b, HDLC_DISC, t_addr(1, 2361, 4), cli_a(), true, 0, 0, false, NULL,
             0);
    feed(l, 4, b, n);
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(1, 57, 2), cli_a(), true, 0, 0, false, NULL,
             0);
    assert_int_equal(feed(l, 5, b, n)->nact, 0);
    n = t_mk(b, sizeof b, HDLC_SNRM, t_addr(1, 2362, 4), cli_a(), true, 0, 0, false, NULL,
             0);
    assert_int_equal(feed(l, 6, b, n)->nact, 0);
    hdlc_link_free(l);

    /* configuration checks */
    int err;
    c = srv_cfg();
    c.server = t_addr(0x7F, 1, 2);
    assert_null(hdlc_link_new(&c, 0, &err));
    assert_int_equal(err, MS_EINVAL);
    c = srv_cfg();
    c.window_tx = 8;
    assert_null(hdlc_link_new(&c, 0, &err));
    c = srv_cfg();
    c.max_info_rx = 2031;
    assert_null(hdlc_link_new(&c, 0, &err));
    c = srv_cfg();
    c.client = 0x7F;
    assert_null(hdlc_link_new(&c, 0, &err));
}

/* ---- UI push ---- */

static void test_ui_push(void **state)
{
    /* pwitab TestUnnumberedInformationFrame: a 579-byte UI push from server 4/0x41
     * (2 bytes) to client 0x20. The server sends the same APDU: the same bytes. */
    static uint8_t b[1024];
    size_t n = pw("TestUnnumberedInformationFrame.test_parse", b, sizeof b);
    hdlc_frame_t f;
    assert_int_equal(hdlc_frame_decode(b + 1, n - 2, &f), 0);
    hdlc_link_cfg_t c = srv_cfg();
    c.server = t_addr(4, 0x41, 2);
    c.max_info_tx = 2030;
    hdlc_link_t *l = mk_link(&c);
    hdlc_addr_t to = t_client(0x20);
    assert_int_equal(hdlc_link_send_ui(l, 0, &to, f.info + 3, f.info_len - 3), 0);
    t_drain(l, &out);
    assert_int_equal(out.wire_len, n);
    assert_memory_equal(out.wire, b, n);
    hdlc_link_free(l);

    /* segmented: 300 bytes in 128-byte fields, S on all but the last, F on the last */
    c.max_info_tx = 128;
    l = mk_link(&c);
    assert_int_equal(hdlc_link_send_ui(l, 0, &to, big, 300), 0);
    t_drain(l, &out);
    assert_int_equal(out.nfrm, 3);
    assert_true(out.frm[0].f.segmented && !out.frm[0].f.pf);
    assert_true(out.frm[1].f.segmented);
    assert_true(!out.frm[2].f.segmented && out.frm[2].f.pf);
    assert_int_equal(out.frm[2].f.info_len, 303 - 256);
    assert_int_equal(hdlc_llc_check(out.frm[0].info, 3, NULL), 3);
    assert_int_equal(hdlc_link_send_ui(l, 0, NULL, big, 3), MS_ESTATE);
    assert_int_equal(hdlc_link_send_ui(l, 0, &to, big, 0), MS_EINVAL);
    hdlc_link_free(l);

    /* and received: segmented UI frames make one APDU */
    hdlc_link_cfg_t s = srv_cfg();
    l = mk_link(&s);
    uint8_t a[200];
    size_t an = client_apdu(a, 150, 3);
    size_t k = t_mk(fb, sizeof fb, HDLC_UI, srv_a(), cli_a(), false, 0, 0, true, a, 100);
    feed(l, 1, fb, k);
    assert_int_equal(out.napdu, 0);
    k = t_mk(fb, sizeof fb, HDLC_UI, srv_a(), cli_a(), false, 0, 0, false, a + 100,
             an - 100);
    feed(l, 2, fb, k);
    t_act_t *ap = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(ap);
    assert_true(ap->ui);
    assert_false(ap->broadcast);
    assert_int_equal(ap->len, 150);
    hdlc_link_free(l);
}

/* ---- client ---- */

static hdlc_link_cfg_t cli_cfg(void)
{
    hdlc_link_cfg_t c;
    memset(&c, 0, sizeof c);
    c.role = HDLC_ROLE_CLIENT;
    c.server = srv_a();
    c.client = 0x10;
    c.event = t_event_fn;
    c.ctx = &ev;
    return c;
}

static void test_client_pwitab(void **state)
{
    /* SNRM without parameters: pwitab's SNRM byte for byte */
    hdlc_link_cfg_t c = cli_cfg();
    c.snrm_no_params = true;
    hdlc_link_t *l = mk_link(&c);
    uint8_t b[256], want[256];
    assert_int_equal(hdlc_link_connect(l, 0), 0);
    t_drain(l, &out);
    size_t wl = pw("TestSnrmFrame.test_parses_correct", want, sizeof want);
    assert_int_equal(out.wire_len, wl);
    assert_memory_equal(out.wire, want, wl);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_CONNECTING);
    assert_int_equal(hdlc_link_deadline(l), HDLC_RESPONSE_DEFAULT_MS);
    /* pwitab's UA (154 bytes both ways): the proposal was the default 128 */
    size_t n = pw("TestUAFrame.test_from_bytes", b, sizeof b);
    feed(l, 50, b, n);
    assert_int_equal(out.nconn, 1);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NRM);
    assert_int_equal(hdlc_link_params(l)->max_info_tx, 128);
    assert_int_equal(hdlc_link_deadline(l), UINT64_MAX);
    /* the AARQ: pwitab's I frame byte for byte */
    wl = pw("TestInformationFrame.test_construct", want, sizeof want);
    hdlc_frame_t f;
    assert_int_equal(hdlc_frame_decode(want + 1, wl - 2, &f), 0);
    assert_int_equal(hdlc_link_send(l, 60, f.info + 3, f.info_len - 3), 0);
    t_drain(l, &out);
    assert_int_equal(out.wire_len, wl);
    assert_memory_equal(out.wire, want, wl);
    assert_int_equal(hdlc_link_send(l, 61, f.info, 3), MS_EBUSY);
    /* the AARE comes back as an APDU */
    n = pw("TestInformationResponseFrame.test_contruct", b, sizeof b);
    feed(l, 70, b, n);
    t_act_t *ap = t_find(&out, HDLC_ACT_APDU);
    assert_non_null(ap);
    assert_int_equal(ap->data[0], 0x61);
    assert_int_equal(ap->server.lower, 17);
    assert_int_equal(hdlc_link_deadline(l), UINT64_MAX);
    hdlc_link_free(l);

    /* with the proposal: the Green Book parameter field; EPRI PUT_SNRM's address */
    c = cli_cfg();
    c.server = t_addr(1, 17, 4);
    c.snrm_no_params = true;
    l = mk_link(&c);
    hdlc_link_connect(l, 0);
    t_drain(l, &out);
    wl = t_jsonl_hex(EPRI, "context", "PUT_SNRM", want, sizeof want);
    assert_int_equal(out.wire_len, wl);
    assert_memory_equal(out.wire, want, wl);
    hdlc_link_free(l);
    c.snrm_no_params = false;
    l = mk_link(&c);
    hdlc_link_connect(l, 0);
    t_drain(l, &out);
    wl = t_hex("81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 00 00 00 01", want,
               sizeof want);
    assert_int_equal(out.frm[0].f.info_len, wl);
    assert_memory_equal(out.frm[0].info, want, wl);
    hdlc_link_free(l);
}

static void test_client_repeats_and_refusals(void **state)
{
    hdlc_link_cfg_t c = cli_cfg();
    c.response_ms = 100;
    c.max_retries = 2;
    hdlc_link_t *l = mk_link(&c);
    hdlc_link_connect(l, 0);
    t_drain(l, &out);
    uint8_t snrm_bytes[64];
    size_t sl = out.wire_len;
    memcpy(snrm_bytes, out.wire, sl);
    hdlc_link_sent(l, 10); /* the answer time counts from the end of transmission */
    assert_int_equal(hdlc_link_deadline(l), 110);
    hdlc_link_tick(l, 110);
    t_drain(l, &out);
    assert_int_equal(out.wire_len, sl); /* the same SNRM again */
    assert_memory_equal(out.wire, snrm_bytes, sl);
    assert_int_equal(ev.last_detail[HDLC_EV_RETRY], 1);
    hdlc_link_tick(l, 210);
    assert_int_equal(t_drain(l, &out)->nsend, 1);
    hdlc_link_tick(l, 310);
    t_drain(l, &out);
    assert_int_equal(out.nsend, 0);
    assert_int_equal(out.ndisc, 1);
    assert_int_equal(out.last_reason, MS_ETIMEDOUT);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);

    /* DM to SNRM: refused */
    hdlc_link_connect(l, 400);
    uint8_t b[64];
    size_t n = t_mk(b, sizeof b, HDLC_DM, cli_a(), srv_a(), true, 0, 0, false, NULL, 0);
    feed(l, 410, b, n);
    assert_int_equal(out.ndisc, 1);
    assert_int_equal(out.last_reason, MS_ECLOSED);

    /* FRMR in NRM */
    hdlc_link_connect(l, 500);
    n = t_mk(b, sizeof b, HDLC_UA, cli_a(), srv_a(), true, 0, 0, false, NULL, 0);
    feed(l, 510, b, n);
    assert_int_equal(out.nconn, 1);
    const uint8_t fr[3] = { 0x10, 0x00, HDLC_FRMR_W };
    n = t_mk(b, sizeof b, HDLC_FRMR, cli_a(), srv_a(), true, 0, 0, false, fr, 3);
    feed(l, 520, b, n);
    assert_int_equal(out.last_reason, MS_EPROTO);
    assert_int_equal(ev.last_detail[HDLC_EV_FRMR], HDLC_FRMR_W);

    /* a request without an answer is repeated byte for byte */
    hdlc_link_connect(l, 600);
    n = t_mk(b, sizeof b, HDLC_UA, cli_a(), srv_a(), true, 0, 0, false, NULL, 0);
    feed(l, 610, b, n);
    uint8_t apdu[5] = { 0xC0, 1, 2, 3, 4 };
    hdlc_link_send(l, 620, apdu, 5);
    t_drain(l, &out);
    uint8_t req[64];
    size_t rl = out.wire_len;
    memcpy(req, out.wire, rl);
    hdlc_link_tick(l, 720);
    t_drain(l, &out);
    assert_int_equal(out.wire_len, rl);
    assert_memory_equal(out.wire, req, rl);
    /* DISC: UA ends it */
    assert_int_equal(hdlc_link_disconnect(l, 730), 0);
    t_drain(l, &out);
    assert_frame(&out.frm[0], HDLC_DISC, true);
    n = t_mk(b, sizeof b, HDLC_UA, cli_a(), srv_a(), true, 0, 0, false, NULL, 0);
    feed(l, 740, b, n);
    assert_int_equal(out.ndisc, 1);
    assert_int_equal(out.last_reason, 0);
    assert_int_equal(hdlc_link_disconnect(l, 750), MS_ESTATE);
    assert_int_equal(hdlc_link_send(l, 750, apdu, 5), MS_ESTATE);
    /* frames from another server or to another client are ignored */
    hdlc_link_connect(l, 800);
    t_drain(l, &out);
    n = t_mk(b, sizeof b, HDLC_UA, cli_a(), t_addr(1, 18, 2), true, 0, 0, false, NULL, 0);
    assert_int_equal(feed(l, 810, b, n)->nact, 0);
    n = t_mk(b, sizeof b, HDLC_UA, t_client(0x11), srv_a(), true, 0, 0, false, NULL, 0);
    assert_int_equal(feed(l, 810, b, n)->nact, 0);
    hdlc_link_free(l);

    /* a server role has no connect/disconnect */
    hdlc_link_cfg_t s = srv_cfg();
    l = mk_link(&s);
    assert_int_equal(hdlc_link_connect(l, 0), MS_ESTATE);
    assert_int_equal(hdlc_link_disconnect(l, 0), MS_ESTATE);
    hdlc_link_reset(l, 0);
    assert_int_equal(hdlc_link_state(l), HDLC_STATE_NDM);
    hdlc_link_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndm_dm_answers),
        cmocka_unit_test(test_snrm_defaults),
        cmocka_unit_test(test_snrm_each_param),
        cmocka_unit_test(test_snrm_bad_params),
        cmocka_unit_test(test_pwitab_exchange),
        cmocka_unit_test(test_reply_hold_release),
        cmocka_unit_test(test_segmentation_out_window1),
        cmocka_unit_test(test_segmentation_out_window7),
        cmocka_unit_test(test_segmentation_in),
        cmocka_unit_test(test_wrong_nr),
        cmocka_unit_test(test_wrong_ns),
        cmocka_unit_test(test_hdlc1_cases),
        cmocka_unit_test(test_rnr_and_stale_reply),
        cmocka_unit_test(test_disc),
        cmocka_unit_test(test_inactivity),
        cmocka_unit_test(test_inter_octet),
        cmocka_unit_test(test_addressing),
        cmocka_unit_test(test_ui_push),
        cmocka_unit_test(test_client_pwitab),
        cmocka_unit_test(test_client_repeats_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
