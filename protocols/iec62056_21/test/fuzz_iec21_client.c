/*
** fuzz_iec21_client.c — libFuzzer target: the IEC 62056-21 reader session fed arbitrary
** meter bytes, ticks and end-of-transmission reports in every exchange kind.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = exchange (readout, mode D readout, program P1/P2) and options, then
** operations: op % 4 == 0: input of the next (op / 4 % 64) bytes; 1: sent(); 2: jump to
** the deadline and tick; 3: a command or break when the client allows one.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iec21_client.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static void drain(iec21_client_t *c)
{
    iec21_action_t a;
    int n = 0;
    while (iec21_client_next_action(c, &a)) {
        CHECK(++n < 32);
        if (a.type == IEC21_ACT_SEND)
            CHECK(a.data && a.len > 0);
        else
            CHECK(a.type == IEC21_ACT_SET_BAUD && a.baud >= 300 && a.baud <= 19200);
    }
    const iec21_client_result_t *r = iec21_client_result(c);
    if (r->len) {
        volatile uint8_t sink = r->data[0] ^ r->data[r->len - 1]; /* readable */
        (void)sink;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    iec21_client_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    int kind = data[0] & 3;
    cfg.mode_d = kind == 1;
    cfg.max_baud = (data[0] & 4) ? 4800 : 0;
    cfg.switch_wait_ms = (data[0] & 8) ? 300 : 0;
    cfg.max_message = (data[0] & 16) ? 64 : 0;
    int err;
    uint64_t now = 0;
    iec21_client_t *c = iec21_client_new(&cfg, now, &err);
    CHECK(c != NULL);
    if (kind >= 2)
        CHECK(iec21_client_program(c, now, "secret", kind - 1) == 0);
    else
        CHECK(iec21_client_readout(c, now) == 0);
    drain(c);
    size_t pos = 1;
    while (pos < size) {
        uint8_t op = data[pos++];
        switch (op % 4) {
        case 0: {
            size_t n = (size_t)(op / 4 % 64);
            if (n > size - pos)
                n = size - pos;
            now += 5;
            iec21_client_input(c, now, data + pos, n);
            pos += n;
            break;
        }
        case 1:
            now += 10;
            iec21_client_sent(c, now);
            break;
        case 2: {
            uint64_t d = iec21_client_deadline(c);
            if (d != UINT64_MAX && d > now)
                now = d;
            iec21_client_tick(c, now);
            CHECK(iec21_client_deadline(c) > now);
            break;
        }
        default:
            if (iec21_client_status(c) != IEC21_CLIENT_BUSY) {
                if (op & 4)
                    iec21_client_break(c, now);
                else if (iec21_client_command(c, now, "RWEP"[(op >> 3) & 3], '1',
                                              "1.8.0()") != 0)
                    iec21_client_readout(c, now);
            }
            break;
        }
        drain(c);
    }
    iec21_client_free(c);
    return 0;
}
