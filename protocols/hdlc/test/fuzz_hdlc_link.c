/*
** fuzz_hdlc_link.c — libFuzzer target: an HDLC link session (server by default, client
** when selected) fed arbitrary bytes, ticks, end-of-transmission reports and upper-layer
** calls. Every action is checked: SEND bytes must be whole, good frames within the
** negotiated sizes, APDUs within max_apdu, and after a tick the deadline must lie past
** the current time.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = role (bit 0), window 1..7 (bits 1-3), N(S) policy (bit 4), server
** address size 1, 2 or 4 (bits 5-6), reply time-out (bit 7); byte 1 = maximum
** information field length (32 + 7 * value); then operations:
** op % 8 == 0: input of the next (op / 8) bytes; 1: advance by 5 ms times the next
** byte and tick; 2: jump to the deadline and tick; 3: sent(); 4: upper layer sends an
** APDU of 7 * next byte + 1 bytes (server: the reply; client: a request); 5: server:
** release, client: connect (op 0xFD: disconnect), UI push (op 0xF5), reset (op 0xE5);
** 6 and 7: a frame built from the next 4 bytes (and its information field) with the
** encoder, so that it passes its HCS and FCS unless told to corrupt one byte — see
** build_frame().
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdlc_frame.h"
#include "hdlc_link.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static uint8_t pattern[2048];
static uint8_t decbuf[HDLC_FORMAT_LENGTH_MAX];

static void check_send(hdlc_link_t *l, const hdlc_link_cfg_t *c, const uint8_t *p,
                       size_t n)
{
    hdlc_decoder_t d;
    hdlc_decoder_init(&d, decbuf, sizeof decbuf);
    size_t pos = 0;
    int frames = 0;
    const hdlc_link_params_t *np = hdlc_link_params(l);
    unsigned max = np->max_info_tx > c->max_info_tx ? np->max_info_tx : c->max_info_tx;
    while (pos < n) {
        size_t used;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&d, p + pos, n - pos, &used, &f);
        pos += used;
        if (rc == 0)
            break;
        CHECK(rc == 1); /* the session only sends good frames */
        frames++;
        if (f.type == HDLC_I || f.type == HDLC_UI)
            CHECK(f.info_len <= max);
        else if (f.type == HDLC_FRMR)
            CHECK(f.info_len == HDLC_FRMR_LEN);
        else if (f.type != HDLC_UA && f.type != HDLC_SNRM)
            CHECK(f.info_len == 0); /* only UA and SNRM carry parameters */
        CHECK(f.type != HDLC_UNKNOWN);
    }
    CHECK(frames > 0 && pos == n && !hdlc_decoder_busy(&d));
}

/* A frame from fuzz bytes: t = type, fl = P/F (bit 0), S (bit 1), corrupt a byte
 * (bit 2) at 5 * (fl >> 3 & 3) % length, addresses (bits 5-6: as the peer sends them,
 * another client, all stations, reversed; bit 7: another server address); sq = N(S)
 * (bits 0-2) and N(R) (bits 3-5),
 * or the control field of an unknown frame; il = information field: bit 7 parameters
 * (values from the next 4 bytes), else bit 6 an LLC header first, then il % 64 bytes
 * from the input (63: 7 * next byte of a pattern). Returns the bytes consumed. */
static size_t build_frame(const hdlc_link_cfg_t *c, const uint8_t *p, size_t n,
                          uint8_t *out, size_t *out_len)
{
    static const hdlc_type_t types[10] = { HDLC_I,    HDLC_RR,     HDLC_RNR, HDLC_SNRM,
                                           HDLC_DISC, HDLC_UA,     HDLC_DM,  HDLC_FRMR,
                                           HDLC_UI,   HDLC_UNKNOWN };
    *out_len = 0;
    if (n < 4)
        return n;
    uint8_t t = p[0], fl = p[1], sq = p[2], il = p[3];
    size_t used = 4;
    hdlc_frame_t f;
    memset(&f, 0, sizeof f);
    f.type = types[t % 10];
    f.pf = fl & 1;
    f.segmented = (fl >> 1) & 1;
    f.ns = sq & 7;
    f.nr = (sq >> 3) & 7;
    f.control = sq;
    hdlc_addr_t srv = c->server, cli;
    hdlc_addr_client(&cli, 0x10);
    switch ((fl >> 5) & 3) {
    case 1:
        hdlc_addr_client(&cli, 0x11);
        break;
    case 2:
        srv.upper = srv.size == 4 ? HDLC_ADDR_ALL_STATION_14 : HDLC_ADDR_ALL_STATION;
        hdlc_addr_client(&cli, HDLC_ADDR_ALL_STATION);
        break;
    default:
        break;
    }
    if (fl & 0x80) { /* another server address */
        srv.lower ^= srv.size > 1 ? 1 : 0;
        srv.upper ^= srv.size == 1 ? 2 : 0;
    }
    bool to_server = c->role == HDLC_ROLE_SERVER;
    if (((fl >> 5) & 3) == 3)
        to_server = !to_server;
    f.dst = to_server ? srv : cli;
    f.src = to_server ? cli : srv;
    static uint8_t info[HDLC_FORMAT_LENGTH_MAX];
    size_t k = 0;
    if (il & 0x80) {
        hdlc_params_t pr;
        memset(&pr, 0, sizeof pr);
        for (int i = 0; i < HDLC_P_COUNT && used < n; i++, used++)
            if (p[used] & 0x80)
                hdlc_params_set(&pr, i, i < 2 ? 8u * p[used] : p[used] & 7u);
        ms_wr_t w;
        ms_wr_init(&w, info, sizeof info);
        int rc = hdlc_params_put(&w, &pr);
        k = rc > 0 ? (size_t)rc : 0;
    } else {
        if (il & 0x40) {
            info[k++] = HDLC_LLC_LSAP;
            info[k++] = HDLC_LLC_LSAP;
            info[k++] = HDLC_LLC_QUALITY;
        }
        size_t m = il & 63;
        if (m == 63 && used < n) {
            m = 7u * p[used++];
            memcpy(info + k, pattern, m);
        } else {
            if (m > n - used)
                m = n - used;
            memcpy(info + k, p + used, m);
            used += m;
        }
        k += m;
    }
    f.info = k ? info : NULL;
    f.info_len = k;
    int len = hdlc_frame_encode(&f, out, HDLC_FRAME_WIRE_MAX);
    if (len < 0)
        return used;
    if (fl & 4)
        out[1 + ((fl >> 3) & 3u) * 5u % (size_t)(len - 2)] ^= 0x20;
    *out_len = (size_t)len;
    return used;
}

static int drain(hdlc_link_t *l, const hdlc_link_cfg_t *c)
{
    hdlc_action_t a;
    int n = 0, apdus = 0;
    while (hdlc_link_next_action(l, &a)) {
        CHECK(++n <= 64);
        switch (a.type) {
        case HDLC_ACT_SEND:
            CHECK(a.data && a.len > 0);
            check_send(l, c, a.data, a.len);
            break;
        case HDLC_ACT_APDU:
            CHECK(a.len <= c->max_apdu || (c->max_apdu == 0 && a.len <= 65535));
            if (a.len) {
                volatile uint8_t sink = a.data[0] ^ a.data[a.len - 1];
                (void)sink;
            }
            apdus++;
            break;
        case HDLC_ACT_CONNECTED:
            CHECK(hdlc_link_params(l)->window_tx >= 1 &&
                  hdlc_link_params(l)->window_tx <= 7);
            break;
        case HDLC_ACT_DISCONNECTED:
            break;
        default:
            CHECK(0);
        }
    }
    CHECK(hdlc_link_state_name(l) != NULL);
    return apdus;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 29 + 11);
    hdlc_link_cfg_t c;
    memset(&c, 0, sizeof c);
    c.role = (data[0] & 1) ? HDLC_ROLE_CLIENT : HDLC_ROLE_SERVER;
    c.window_tx = c.window_rx = 1u + ((data[0] >> 1) & 7u) % 7u;
    c.ns_policy = (data[0] & 0x10) ? HDLC_NS_DISCARD : HDLC_NS_FRMR;
    static const unsigned sizes[4] = { 1, 2, 4, 2 };
    unsigned asz = sizes[(data[0] >> 5) & 3];
    hdlc_addr_server(&c.server, 1, asz == 1 ? 0 : 17, asz);
    c.reply_ms = (data[0] & 0x80) ? 100 : 0;
    c.max_info_tx = c.max_info_rx = 32u + 7u * data[1]; /* <= 1817 */
    c.inactivity_ms = 5000;
    c.response_ms = 300;
    c.max_apdu = 4096;
    c.client = 0x10;
    int err;
    uint64_t now = 1000;
    hdlc_link_t *l = hdlc_link_new(&c, now, &err);
    CHECK(l != NULL);
    bool server = c.role == HDLC_ROLE_SERVER;
    size_t pos = 2;
    while (pos < size) {
        uint8_t op = data[pos++];
        switch (op % 8) {
        case 0: {
            size_t n = (size_t)(op / 8);
            if (n > size - pos)
                n = size - pos;
            hdlc_link_input(l, now, n ? data + pos : NULL, n);
            pos += n;
            break;
        }
        case 6:
        case 7: {
            static uint8_t fr[HDLC_FRAME_WIRE_MAX];
            size_t flen;
            pos += build_frame(&c, data + pos, size - pos, fr, &flen);
            if (flen && (op & 0x80) && flen > 2) { /* in two parts */
                size_t cut = flen / 2;
                hdlc_link_input(l, now, fr, cut);
                hdlc_link_input(l, now, fr + cut, flen - cut);
            } else if (flen) {
                hdlc_link_input(l, now, fr, flen);
            }
            break;
        }
        case 1:
            if (pos < size)
                now += 5u * data[pos++];
            hdlc_link_tick(l, now);
            CHECK(hdlc_link_deadline(l) > now);
            break;
        case 2: {
            uint64_t d = hdlc_link_deadline(l);
            if (d != UINT64_MAX && d > now)
                now = d;
            hdlc_link_tick(l, now);
            /* a tick handles what is due: a caller looping on the deadline advances */
            CHECK(hdlc_link_deadline(l) > now);
            break;
        }
        case 3:
            hdlc_link_sent(l, now);
            break;
        case 4: {
            size_t n = 1;
            if (pos < size)
                n = 7u * data[pos++] + 1u;
            int rc = hdlc_link_send(l, now, pattern, n);
            CHECK(rc == 0 || rc == MS_ESTATE || rc == MS_EBUSY);
            break;
        }
        default:
            if (op == 0xE5) {
                hdlc_link_reset(l, now);
            } else if (op == 0xF5) {
                hdlc_addr_t to;
                if (server)
                    hdlc_addr_client(&to, 0x20);
                else
                    to = c.server;
                CHECK(hdlc_link_send_ui(l, now, &to, pattern, 300) == 0);
            } else if (server) {
                int rc = hdlc_link_release(l, now);
                CHECK(rc == 0 || rc == MS_ESTATE);
            } else if (op == 0xFD) {
                int rc = hdlc_link_disconnect(l, now);
                CHECK(rc == 0 || rc == MS_ESTATE);
            } else {
                int rc = hdlc_link_connect(l, now);
                CHECK(rc == 0 || rc == MS_ESTATE);
            }
            break;
        }
        drain(l, &c);
    }
    hdlc_link_free(l);
    return 0;
}
