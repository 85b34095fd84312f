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
** op % 6 == 0: input of the next (op / 6 % 48) bytes; 1: advance by 5 ms times the next
** byte and tick; 2: jump to the deadline and tick; 3: sent(); 4: upper layer sends an
** APDU of 7 * next byte + 1 bytes (server: the reply; client: a request); 5: server:
** release, client: connect (op 0xFB: disconnect), UI push (op 0xF5), reset (op 0xFF).
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
        switch (op % 6) {
        case 0: {
            size_t n = (size_t)(op / 6 % 48);
            if (n > size - pos)
                n = size - pos;
            hdlc_link_input(l, now, n ? data + pos : NULL, n);
            pos += n;
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
            if (op == 0xFF) {
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
            } else if (op == 0xFB) {
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
