/*
** fuzz_iec21_meter.c — libFuzzer target: an IEC 62056-21 meter session fed arbitrary
** bytes, ticks and end-of-transmission reports; every action it returns is checked.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = mode and Z, byte 1 = option bits (programming, refusal, unknown
** address policy, BCC fault, framed mode D, own address), then operations:
** op % 5 == 0: input of the next (op / 5 % 32) bytes; 1: advance time by 10 ms times
** the next byte and tick; 2: jump to the deadline and tick; 3: sent(); 4: reset (rare).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iec21_meter.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static int f_readout(void *ctx, ms_wr_t *out)
{
    return ms_wr_str(out, "1.8.0(000123.4*kWh)\r\nC.1(12345678)\r\n");
}

static int f_password(void *ctx, int level, const char *op, size_t len)
{
    return len == 6 && memcmp(op, "secret", 6) == 0 ? 0 : MS_EACCES;
}

static iec21_reply_t f_command(void *ctx, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out)
{
    switch (cmd->cmd_type) {
    case '1':
        ms_wr_bytes(out, cmd->data, cmd->data_len); /* echo: may hold anything */
        return IEC21_REPLY_DATA;
    case '2':
        return IEC21_REPLY_ACK;
    case '3':
        ms_wr_bytes(out, cmd->data, cmd->data_len); /* an invalid error text */
        return IEC21_REPLY_ERROR;
    case '4':
        return IEC21_REPLY_NAK;
    case '5':
        return IEC21_REPLY_BREAK;
    default:
        return (iec21_reply_t)99; /* out of range: must not crash */
    }
}

static void f_event(void *ctx, iec21_meter_event_t ev, const char *detail)
{
    CHECK(detail != NULL);
    CHECK(strlen(detail) < 64);
}

static const iec21_meter_ops_t ops = {
    .readout = f_readout,
    .password = f_password,
    .command = f_command,
    .event = f_event,
};

static void drain(iec21_meter_t *m)
{
    iec21_action_t a;
    int n = 0;
    while (iec21_meter_next_action(m, &a)) {
        CHECK(++n < 64);
        if (a.type == IEC21_ACT_SEND) {
            CHECK(a.data && a.len > 0 && a.len <= (1u << 20) + 16);
            volatile uint8_t sink = a.data[0] ^ a.data[a.len - 1]; /* readable */
            (void)sink;
        } else {
            CHECK(a.type == IEC21_ACT_SET_BAUD);
            CHECK(a.baud >= 300 && a.baud <= 19200);
        }
    }
    CHECK(iec21_meter_state_name(m) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char zs[4][4] = { "HKX", "ACEF", "0356", "333" };
    if (size < 2)
        return 0;
    iec21_meter_cfg_t c;
    memset(&c, 0, sizeof c);
    int mi = data[0] & 3;
    c.mode = "ABCD"[mi];
    c.baud_z = zs[mi][(data[0] >> 2) % (mi == 0 ? 3 : (mi == 3 ? 3 : 4))];
    memcpy(c.mfr, (data[0] & 0x80) ? "ABc" : "ABC", 4);
    strcpy(c.ident, "FUZZ");
    c.programming = data[1] & 1;
    c.refusal = (iec21_refusal_t)((data[1] >> 1) % 3);
    c.unknown_address = (iec21_unknown_address_t)((data[1] >> 3) & 1);
    c.bcc_corrupt = (data[1] >> 4) & 1;
    c.mode_d_framed = (data[1] >> 5) & 1;
    if (data[1] & 0x40)
        strcpy(c.address, "123");
    int err;
    uint64_t now = 1000;
    iec21_meter_t *m = iec21_meter_new(&c, &ops, NULL, now, &err);
    CHECK(m != NULL);
    size_t pos = 2;
    while (pos < size) {
        uint8_t op = data[pos++];
        switch (op % 5) {
        case 0: {
            size_t n = (size_t)(op / 5 % 32);
            if (n > size - pos)
                n = size - pos;
            iec21_meter_input(m, now, data + pos, n);
            pos += n;
            break;
        }
        case 1:
            if (pos < size)
                now += 10u * data[pos++];
            iec21_meter_tick(m, now);
            break;
        case 2: {
            uint64_t d = iec21_meter_deadline(m);
            if (d != UINT64_MAX && d > now)
                now = d;
            iec21_meter_tick(m, now);
            /* a tick handles what is due: a caller looping on the deadline advances */
            CHECK(iec21_meter_deadline(m) > now);
            break;
        }
        case 3:
            iec21_meter_sent(m, now);
            break;
        default:
            if (op == 0xFF)
                iec21_meter_reset(m, now);
            else
                now += op;
            break;
        }
        drain(m);
    }
    iec21_meter_free(m);
    return 0;
}
