/*
** test_iec21_client.c — IEC 62056-21 reader-side session: back to back with the meter
** session over a simulated line (character times, baud rates: bytes sent at one rate
** and received at another are lost), and fed the real third-party streams
** (Apollon77/smartmeter-obis tests, MIT; read from MS_SHARED_DATA at run time).
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iec21_client.h"
#include "iec21_meter.h"
#include "iec21_test_util.h"
#include "ms_err.h"

/* ---- meter provider (same data as test_iec21_meter) ---- */

#define READOUT_BODY "1.8.0(000123.4*kWh)\r\n2.8.0(000001.0*kWh)\r\n"

static int p_readout(void *ctx, ms_wr_t *out)
{
    return ms_wr_str(out, READOUT_BODY);
}

static int p_operand(void *ctx, ms_wr_t *out)
{
    return ms_wr_str(out, "12345678");
}

static int p_password(void *ctx, int level, const char *op, size_t len)
{
    return level == 1 && len == 6 && memcmp(op, "secret", 6) == 0 ? 0 : MS_EACCES;
}

static int cmd_calls;

static iec21_reply_t p_command(void *ctx, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out)
{
    cmd_calls++;
    if (cmd->cmd == 'R' && cmd->data_len == 7 && memcmp(cmd->data, "1.8.0()", 7) == 0) {
        ms_wr_str(out, "1.8.0(000123.4*kWh)");
        return IEC21_REPLY_DATA;
    }
    if (cmd->cmd == 'W')
        return access >= IEC21_ACCESS_P1 ? IEC21_REPLY_ACK : IEC21_REPLY_ERROR;
    if (cmd->cmd == 'E')
        return IEC21_REPLY_NAK;
    ms_wr_str(out, "UNKNOWN");
    return IEC21_REPLY_ERROR;
}

static const iec21_meter_ops_t ops = {
    .readout = p_readout,
    .operand = p_operand,
    .password = p_password,
    .command = p_command,
};

/* ---- simulated line ---- */

enum { METER = 0, CLIENT = 1 };
enum { L_DELIVER, L_BAUD, L_SENT };

typedef struct lev {
    uint64_t t, seq;
    int kind, side; /* side: receiver (DELIVER) or the side concerned */
    unsigned baud;
    size_t len;
    uint8_t data[16];
} lev_t;

typedef struct side {
    unsigned baud;       /* rate the side's UART runs at now */
    unsigned sched_baud; /* rate after its queued switches: new transmissions use it */
    uint64_t tx_free;    /* its transmitter is idle from then on */
    uint64_t last_rx;
} side_t;

typedef struct line {
    iec21_meter_t *m;
    iec21_client_t *c;
    side_t s[2];
    lev_t ev[8192];
    size_t nev;
    uint64_t seq, now;
    size_t lost;             /* bytes that arrived at the wrong rate */
    size_t rx_at_client[20]; /* bytes the client received, by rate / 1200 (300 -> 0) */
} line_t;

static void schedule(line_t *l, const lev_t *e)
{
    assert_true(l->nev < sizeof l->ev / sizeof l->ev[0]);
    l->ev[l->nev] = *e;
    l->ev[l->nev].seq = l->seq++;
    l->nev++;
}

/* 7E1: 10 bits per character. */
static uint64_t char_ms(size_t chars, unsigned baud)
{
    return ((uint64_t)chars * 10000u + baud - 1) / baud;
}

static int next_action(line_t *l, int side, iec21_action_t *a)
{
    return side == METER ? iec21_meter_next_action(l->m, a)
                         : iec21_client_next_action(l->c, a);
}

static void drain(line_t *l, int side)
{
    side_t *s = &l->s[side];
    iec21_action_t a;
    while (next_action(l, side, &a)) {
        uint64_t free_at = s->tx_free > l->now ? s->tx_free : l->now;
        if (a.type == IEC21_ACT_SET_BAUD) {
            lev_t e = { .t = free_at, .kind = L_BAUD, .side = side, .baud = a.baud };
            schedule(l, &e);
            s->sched_baud = a.baud;
            continue;
        }
        uint64_t from = s->tx_free > s->last_rx ? s->tx_free : s->last_rx;
        uint64_t start = from + a.delay_ms;
        if (start < l->now)
            start = l->now;
        /* first byte at the start (it times the reaction), then chunks of 8 */
        for (size_t i = 0; i < a.len;) {
            size_t n = i == 0 ? 1 : (a.len - i < 8 ? a.len - i : 8);
            lev_t e = {
                .kind = L_DELIVER, .side = !side, .baud = s->sched_baud, .len = n
            };
            e.t = i == 0 ? start : start + char_ms(i + n, s->sched_baud);
            memcpy(e.data, a.data + i, n);
            schedule(l, &e);
            i += n;
        }
        s->tx_free = start + char_ms(a.len, s->sched_baud);
        lev_t e = { .t = s->tx_free, .kind = L_SENT, .side = side };
        schedule(l, &e);
    }
}

static void drain_all(line_t *l)
{
    drain(l, METER);
    drain(l, CLIENT);
}

static void process(line_t *l, const lev_t *e)
{
    side_t *s = &l->s[e->side];
    switch (e->kind) {
    case L_BAUD:
        s->baud = e->baud;
        break;
    case L_SENT:
        if (l->now >= s->tx_free) { /* nothing else queued behind it */
            if (e->side == METER)
                iec21_meter_sent(l->m, l->now);
            else
                iec21_client_sent(l->c, l->now);
        }
        break;
    case L_DELIVER:
        if (s->baud != e->baud) {
            l->lost += e->len;
            break;
        }
        s->last_rx = l->now;
        if (e->side == METER) {
            iec21_meter_input(l->m, l->now, e->data, e->len);
        } else {
            l->rx_at_client[e->baud / 1200] += e->len;
            iec21_client_input(l->c, l->now, e->data, e->len);
        }
        break;
    }
}

static uint64_t earliest(const line_t *l, size_t *idx)
{
    uint64_t t = UINT64_MAX, seq = UINT64_MAX;
    for (size_t i = 0; i < l->nev; i++)
        if (l->ev[i].t < t || (l->ev[i].t == t && l->ev[i].seq < seq)) {
            t = l->ev[i].t;
            seq = l->ev[i].seq;
            *idx = i;
        }
    return t;
}

/* Run until the client is no longer busy and the line is quiet, or until `limit`. */
static void run(line_t *l, uint64_t limit)
{
    for (int guard = 0; guard < 200000; guard++) {
        drain_all(l);
        if (iec21_client_status(l->c) != IEC21_CLIENT_BUSY && l->nev == 0)
            return;
        size_t idx = 0;
        uint64_t t = earliest(l, &idx);
        uint64_t dm = iec21_meter_deadline(l->m), dc = iec21_client_deadline(l->c);
        uint64_t next = t;
        if (dm < next)
            next = dm;
        if (dc < next)
            next = dc;
        if (next == UINT64_MAX || next > limit)
            return;
        if (next > l->now)
            l->now = next;
        if (t <= l->now) {
            lev_t e = l->ev[idx];
            l->ev[idx] = l->ev[--l->nev];
            process(l, &e);
            continue;
        }
        if (dm <= l->now)
            iec21_meter_tick(l->m, l->now);
        if (dc <= l->now)
            iec21_client_tick(l->c, l->now);
    }
    fail_msg("line simulation did not settle");
}

static void line_init(line_t *l, const iec21_meter_cfg_t *mc,
                      const iec21_client_cfg_t *cc)
{
    memset(l, 0, sizeof *l);
    int err = -1;
    l->m = iec21_meter_new(mc, &ops, NULL, 0, &err);
    assert_non_null(l->m);
    l->c = iec21_client_new(cc, 0, &err);
    assert_non_null(l->c);
    l->s[METER].baud = l->s[METER].sched_baud = iec21_meter_baud(l->m);
    l->s[CLIENT].baud = l->s[CLIENT].sched_baud = iec21_client_baud(l->c);
    cmd_calls = 0;
}

static void line_free(line_t *l)
{
    iec21_meter_free(l->m);
    iec21_client_free(l->c);
}

static iec21_meter_cfg_t meter_cfg(char mode, char z)
{
    iec21_meter_cfg_t c;
    memset(&c, 0, sizeof c);
    c.mode = mode;
    memcpy(c.mfr, "ABC", 4);
    c.baud_z = z;
    strcpy(c.ident, "METER1");
    c.programming = true;
    return c;
}

static const iec21_client_result_t *res(line_t *l)
{
    return iec21_client_result(l->c);
}

static void expect_readout_data(line_t *l)
{
    const char *exp = READOUT_BODY "!\r\n";
    assert_int_equal(res(l)->len, strlen(exp));
    assert_memory_equal(res(l)->data, exp, strlen(exp));
}

/* ---- back to back ---- */

static void test_b2b_mode_a(void **state)
{
    line_t *l = malloc(sizeof *l);
    iec21_meter_cfg_t mc = meter_cfg('A', 'H');
    iec21_client_cfg_t cc = { 0 };
    line_init(l, &mc, &cc);
    assert_int_equal(iec21_client_readout(l->c, 0), 0);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_BUSY);
    assert_int_equal(iec21_client_readout(l->c, 0), MS_ESTATE);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    assert_int_equal(res(l)->err, 0);
    assert_int_equal(res(l)->reply, IEC21_REPLY_DATA);
    assert_int_equal(res(l)->mode, 'A');
    assert_true(res(l)->has_ident);
    assert_string_equal(res(l)->ident.ident, "METER1");
    expect_readout_data(l);
    assert_int_equal(res(l)->ident_reaction_ms, 200);
    assert_int_equal(res(l)->reaction_ms, 200);
    assert_int_equal(res(l)->baud, 300);
    assert_int_equal(l->lost, 0);
    assert_string_equal(iec21_meter_state_name(l->m), "idle");
    line_free(l);
    free(l);
}

static void test_b2b_mode_b(void **state)
{
    line_t *l = malloc(sizeof *l);
    iec21_meter_cfg_t mc = meter_cfg('B', 'E'); /* 9600 Bd */
    iec21_client_cfg_t cc = { 0 };
    line_init(l, &mc, &cc);
    assert_int_equal(iec21_client_readout(l->c, 0), 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    assert_int_equal(res(l)->mode, 'B');
    expect_readout_data(l);
    assert_int_equal(l->lost, 0);
    /* the readout came at 9600 Bd, the identification at 300 */
    assert_int_equal(l->rx_at_client[9600 / 1200], strlen(READOUT_BODY "!\r\n") + 3);
    assert_int_equal(l->rx_at_client[0], strlen("/ABCEMETER1\r\n"));
    assert_int_equal(iec21_client_baud(l->c), 300);
    assert_int_equal(iec21_meter_baud(l->m), 300);
    line_free(l);
    free(l);
}

static void test_b2b_mode_c(void **state)
{
    line_t *l = malloc(sizeof *l);
    iec21_meter_cfg_t mc = meter_cfg('C', '6'); /* 19200 Bd */
    iec21_client_cfg_t cc = { 0 };
    line_init(l, &mc, &cc);
    assert_int_equal(iec21_client_readout(l->c, 0), 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    assert_int_equal(res(l)->mode, 'C');
    expect_readout_data(l);
    assert_int_equal(res(l)->ident_reaction_ms, 200);
    assert_int_equal(res(l)->reaction_ms, 500); /* the meter's reaction_option_ms */
    assert_int_equal(l->lost, 0);
    assert_int_equal(l->rx_at_client[19200 / 1200], strlen(READOUT_BODY "!\r\n") + 3);
    assert_int_equal(iec21_client_baud(l->c), 300);
    assert_string_equal(iec21_meter_state_name(l->m), "idle");
    line_free(l);
    free(l);

    /* the client's limit is below the meter's rate: both stay at 300 Bd */
    l = malloc(sizeof *l);
    cc.max_baud = 9600;
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    expect_readout_data(l);
    assert_int_equal(l->rx_at_client[19200 / 1200], 0);
    line_free(l);
    free(l);

    /* no_switch, and a reader that waits before switching (switch_wait_ms) */
    l = malloc(sizeof *l);
    cc.max_baud = 0;
    cc.no_switch = true;
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    assert_int_equal(l->rx_at_client[19200 / 1200], 0);
    line_free(l);
    free(l);

    l = malloc(sizeof *l);
    cc.no_switch = false;
    cc.switch_wait_ms = 300; /* still before the meter's answer 500 ms later */
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    assert_int_equal(l->lost, 0);
    assert_int_equal(l->rx_at_client[19200 / 1200], strlen(READOUT_BODY "!\r\n") + 3);
    line_free(l);
    free(l);

    /* ... and one that waits too long loses the readout (the smartmeter-obis case) */
    l = malloc(sizeof *l);
    cc.switch_wait_ms = 700;
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_FAILED);
    assert_int_equal(res(l)->err, MS_ETIMEDOUT);
    assert_true(l->lost > 0);
    line_free(l);
    free(l);
}

static void test_b2b_programming(void **state)
{
    line_t *l = malloc(sizeof *l);
    iec21_meter_cfg_t mc = meter_cfg('C', '5');
    iec21_client_cfg_t cc = { 0 };
    line_init(l, &mc, &cc);
    assert_int_equal(iec21_client_command(l->c, 0, 'R', '1', "1.8.0()"), MS_ESTATE);
    assert_int_equal(iec21_client_program(l->c, 0, "sec(ret", 1), MS_EINVAL);
    assert_int_equal(iec21_client_program(l->c, 0, "secret", 3), MS_EINVAL);
    assert_int_equal(iec21_client_program(l->c, 0, "secret", 1), 0);
    run(l, 60000);
    /* in programming mode and ready */
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_IDLE);
    assert_int_equal(res(l)->err, 0);
    assert_int_equal(res(l)->reply, IEC21_REPLY_ACK);
    assert_int_equal(res(l)->len, 0);
    assert_string_equal(iec21_meter_state_name(l->m), "programming");
    assert_int_equal(iec21_meter_baud(l->m), 9600);
    assert_int_equal(iec21_client_baud(l->c), 9600);

    assert_int_equal(iec21_client_command(l->c, l->now, 'R', '1', "1.8.0()"), 0);
    run(l, l->now + 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_IDLE);
    assert_int_equal(res(l)->reply, IEC21_REPLY_DATA);
    assert_int_equal(res(l)->len, strlen("1.8.0(000123.4*kWh)"));
    assert_memory_equal(res(l)->data, "1.8.0(000123.4*kWh)", res(l)->len);
    assert_int_equal(res(l)->reaction_ms, 200);

    assert_int_equal(iec21_client_command(l->c, l->now, 'W', '1', "1.8.0(5)"), 0);
    run(l, l->now + 60000);
    assert_int_equal(res(l)->reply, IEC21_REPLY_ACK);

    assert_int_equal(iec21_client_command(l->c, l->now, 'R', '1', "9.9.9()"), 0);
    run(l, l->now + 60000);
    assert_int_equal(res(l)->reply, IEC21_REPLY_DATA); /* R: an error text stays DATA */
    assert_memory_equal(res(l)->data, "(UNKNOWN)", 9);

    /* E: the provider NAKs; the client repeats max_naks times, then reports the NAK */
    cmd_calls = 0;
    assert_int_equal(iec21_client_command(l->c, l->now, 'E', '2', "X(1)"), 0);
    run(l, l->now + 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_IDLE);
    assert_int_equal(res(l)->err, 0);
    assert_int_equal(res(l)->reply, IEC21_REPLY_NAK);
    assert_int_equal(res(l)->naks_received, 4);
    assert_int_equal(cmd_calls, 4);

    assert_int_equal(iec21_client_break(l->c, l->now), 0);
    run(l, l->now + 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    assert_int_equal(res(l)->reply, IEC21_REPLY_BREAK);
    assert_string_equal(iec21_meter_state_name(l->m), "idle");
    assert_int_equal(iec21_meter_baud(l->m), 300);
    assert_int_equal(iec21_client_baud(l->c), 300);
    assert_int_equal(l->lost, 0);
    line_free(l);
    free(l);
}

static void test_b2b_wrong_password(void **state)
{
    static const iec21_refusal_t pol[] = { IEC21_REFUSE_BREAK, IEC21_REFUSE_ERROR,
                                           IEC21_REFUSE_NAK };
    static const iec21_reply_t want[] = { IEC21_REPLY_BREAK, IEC21_REPLY_ERROR,
                                          IEC21_REPLY_NAK };
    for (int i = 0; i < 3; i++) {
        line_t *l = malloc(sizeof *l);
        iec21_meter_cfg_t mc = meter_cfg('C', '5');
        mc.refusal = pol[i];
        iec21_client_cfg_t cc = { 0 };
        line_init(l, &mc, &cc);
        assert_int_equal(iec21_client_program(l->c, 0, "wrong", 1), 0);
        run(l, 60000);
        assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_FAILED);
        assert_int_equal(res(l)->err, MS_EACCES);
        assert_int_equal(res(l)->reply, want[i]);
        if (pol[i] == IEC21_REFUSE_BREAK) {
            assert_string_equal(iec21_meter_state_name(l->m), "idle");
            assert_int_equal(iec21_client_baud(l->c), 300);
        } else {
            /* the meter stays in programming mode: the client can sign off */
            assert_string_equal(iec21_meter_state_name(l->m), "programming");
            if (pol[i] == IEC21_REFUSE_ERROR)
                assert_memory_equal(res(l)->data, "MS_EACCES", 9);
            assert_int_equal(iec21_client_break(l->c, l->now), 0);
            run(l, l->now + 60000);
            assert_string_equal(iec21_meter_state_name(l->m), "idle");
            assert_int_equal(iec21_meter_baud(l->m), 300);
        }
        line_free(l);
        free(l);
    }
}

static void test_b2b_bad_bcc(void **state)
{
    /* Readout with a wrong BCC: one NAK, no repeat (the meter is back at 300 Bd). */
    line_t *l = malloc(sizeof *l);
    iec21_meter_cfg_t mc = meter_cfg('C', '5');
    mc.bcc_corrupt = true;
    iec21_client_cfg_t cc = { 0 };
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_FAILED);
    assert_int_equal(res(l)->err, MS_EBADBCC);
    assert_int_equal(res(l)->naks_sent, 1);
    assert_int_equal(iec21_client_baud(l->c), 300);
    line_free(l);
    free(l);

    /* P0 with a wrong BCC: NAK, the meter repeats it, max_naks times, then give up. */
    l = malloc(sizeof *l);
    line_init(l, &mc, &cc);
    iec21_client_program(l->c, 0, "secret", 1);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_FAILED);
    assert_int_equal(res(l)->err, MS_EBADBCC);
    assert_int_equal(res(l)->naks_sent, 3);
    line_free(l);
    free(l);
}

static void test_b2b_mode_d(void **state)
{
    for (int framed = 0; framed < 2; framed++) {
        line_t *l = malloc(sizeof *l);
        iec21_meter_cfg_t mc = meter_cfg('D', '3');
        mc.mode_d_period_ms = 5000;
        mc.mode_d_framed = framed;
        iec21_client_cfg_t cc = { .mode_d = 1 };
        line_init(l, &mc, &cc);
        assert_int_equal(iec21_client_baud(l->c), 2400);
        assert_int_equal(iec21_client_program(l->c, 0, "secret", 1), MS_EINVAL);
        assert_int_equal(iec21_client_readout(l->c, 0), 0);
        run(l, 60000);
        assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
        assert_int_equal(res(l)->mode, 'D');
        assert_int_equal(res(l)->baud, 2400);
        expect_readout_data(l);
        assert_int_equal(res(l)->ident_reaction_ms, 5000);
        line_free(l);
        free(l);
    }
}

static void test_b2b_unknown_address(void **state)
{
    line_t *l = malloc(sizeof *l);
    iec21_meter_cfg_t mc = meter_cfg('C', '5');
    strcpy(mc.address, "123");
    iec21_client_cfg_t cc = { .address = "999" };
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_FAILED);
    assert_int_equal(res(l)->err, MS_EPROTO);
    assert_int_equal(res(l)->reply, IEC21_REPLY_ERROR);
    assert_memory_equal(res(l)->data, "MS_ENOENT", 9);
    line_free(l);
    free(l);

    l = malloc(sizeof *l);
    mc.unknown_address = IEC21_UNKNOWN_ADDRESS_SILENT;
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(res(l)->err, MS_ETIMEDOUT);
    /* the request is on the wire after 8 characters at 300 Bd; then 3700 ms */
    assert_int_equal(l->now, char_ms(strlen("/?999!\r\n"), 300) + 3700);
    line_free(l);
    free(l);

    /* with the right address (leading zeros ignored) */
    l = malloc(sizeof *l);
    strcpy(cc.address, "000123");
    line_init(l, &mc, &cc);
    iec21_client_readout(l->c, 0);
    run(l, 60000);
    assert_int_equal(iec21_client_status(l->c), IEC21_CLIENT_DONE);
    line_free(l);
    free(l);

    int err = 0;
    iec21_client_cfg_t bad = { .address = "12-3" };
    assert_null(iec21_client_new(&bad, 0, &err));
    assert_int_equal(err, MS_EINVAL);
}

/* ---- real streams ---- */

static t_act_t cacts[16];

static int ctake(iec21_client_t *c)
{
    int n = 0;
    iec21_action_t a;
    while (iec21_client_next_action(c, &a)) {
        assert_true(n < 16);
        cacts[n].type = a.type;
        cacts[n].delay_ms = a.delay_ms;
        cacts[n].baud = a.baud;
        cacts[n].len = a.len;
        if (a.type == IEC21_ACT_SEND)
            memcpy(cacts[n].data, a.data, a.len);
        n++;
    }
    return n;
}

/* Start a readout, put the request on the wire at t=100, feed `s` at t=400. Returns the
 * number of actions the input produced (in cacts). */
static int feed_stream(iec21_client_t *c, const uint8_t *s, size_t len)
{
    assert_int_equal(iec21_client_readout(c, 0), 0);
    int n = ctake(c);
    if (!n)
        return -1; /* mode D: nothing sent */
    assert_int_equal(n, 1);
    assert_memory_equal(cacts[0].data, "/?!\r\n", 5);
    iec21_client_sent(c, 100);
    iec21_client_input(c, 400, s, len);
    return ctake(c);
}

/* Tick the client through its deadlines, confirming every transmission at once. */
static void settle(iec21_client_t *c)
{
    for (int i = 0; i < 100 && iec21_client_status(c) == IEC21_CLIENT_BUSY; i++) {
        uint64_t d = iec21_client_deadline(c);
        assert_true(d != UINT64_MAX);
        iec21_client_tick(c, d);
        if (ctake(c))
            iec21_client_sent(c, d + 10);
    }
    assert_int_not_equal(iec21_client_status(c), IEC21_CLIENT_BUSY);
}

static iec21_client_t *client(bool mode_d)
{
    iec21_client_cfg_t cc = { .mode_d = mode_d };
    int err;
    iec21_client_t *c = iec21_client_new(&cc, 0, &err);
    assert_non_null(c);
    return c;
}

static void test_stream_iskra(void **state)
{
    size_t len;
    uint8_t *s =
        t_load_stream("testSerialRequestResponseD0WithAck2.meter_stream.bin", &len);
    iec21_client_t *c = client(false);
    int n = feed_stream(c, s, len);
    /* option select for 9600 Bd, the switch, and back to 300 after the readout */
    assert_int_equal(n, 3);
    assert_int_equal(cacts[0].type, IEC21_ACT_SEND);
    assert_int_equal(cacts[0].delay_ms, 200);
    assert_memory_equal(cacts[0].data,
                        "\x06"
                        "050\r\n",
                        6);
    assert_int_equal(cacts[1].type, IEC21_ACT_SET_BAUD);
    assert_int_equal(cacts[1].baud, 9600);
    assert_int_equal(cacts[2].baud, 300);
    assert_int_equal(iec21_client_status(c), IEC21_CLIENT_DONE);
    const iec21_client_result_t *r = iec21_client_result(c);
    assert_int_equal(r->err, 0);
    assert_string_equal(r->ident.mfr, "ISk");
    assert_string_equal(r->ident.ident, "MT174-0001");
    assert_int_equal(r->mode, 'C');
    assert_int_equal(r->ident_reaction_ms, 300);
    const uint8_t *stx = memchr(s, IEC21_STX, len);
    assert_int_equal(r->len, (size_t)(s + len - 2 - (stx + 1)));
    assert_memory_equal(r->data, stx + 1, r->len);
    free(s);
    iec21_client_free(c);

    /* garbage before the identification (Itron ACE3000 quirk), fed byte by byte */
    s = t_load_stream("testSerialRequestResponseD0WithAck2.meter_stream.bin", &len);
    stx = memchr(s, IEC21_STX, len);
    uint8_t *g = malloc(len + 16);
    memcpy(g, "\0\0\x7f\x13zz?\r\n\xff", 10);
    memcpy(g + 10, s, len);
    c = client(false);
    iec21_client_readout(c, 0);
    ctake(c);
    iec21_client_sent(c, 100);
    for (size_t i = 0; i < len + 10; i++)
        iec21_client_input(c, 400 + i, g + i, 1);
    assert_int_equal(iec21_client_status(c), IEC21_CLIENT_DONE);
    assert_int_equal(iec21_client_result(c)->ident_reaction_ms, 310);
    assert_int_equal(iec21_client_result(c)->len, (size_t)(s + len - 2 - (stx + 1)));
    free(g);
    free(s);
    iec21_client_free(c);
}

static void test_stream_bad_bcc(void **state)
{
    static const struct {
        const char *file;
        char mode;
        unsigned baud;
    } v[] = {
        { "testSerialRequestResponseD0-20.meter_stream.bin", 'B', 2400 }, /* Z = C */
        { "testSerialRequestResponseD0End.meter_stream.bin", 'E', 9600 },
    };
    for (int i = 0; i < 2; i++) {
        size_t len;
        uint8_t *s = t_load_stream(v[i].file, &len);
        iec21_client_t *c = client(false);
        int n = feed_stream(c, s, len);
        int k = 0;
        if (v[i].mode == 'E') {
            assert_memory_equal(cacts[k].data,
                                "\x06"
                                "050\r\n",
                                6);
            k++;
        }
        assert_int_equal(cacts[k].type, IEC21_ACT_SET_BAUD);
        assert_int_equal(cacts[k].baud, v[i].baud);
        k++;
        assert_int_equal(n, k + 1);
        assert_int_equal(cacts[k].type, IEC21_ACT_SEND); /* NAK */
        assert_int_equal(cacts[k].len, 1);
        assert_int_equal(cacts[k].data[0], IEC21_NAK);
        assert_int_equal(iec21_client_result(c)->mode, v[i].mode);
        iec21_client_sent(c, 500);
        settle(c);
        assert_int_equal(iec21_client_result(c)->err, MS_EBADBCC);
        assert_int_equal(iec21_client_result(c)->naks_sent, 1);
        iec21_client_free(c);

        /* the meter repeats the bad block: NAK up to max_naks (3), then give up */
        c = client(false);
        feed_stream(c, s, len);
        const uint8_t *stx = memchr(s, IEC21_STX, len);
        for (int rep = 0; rep < 3; rep++) {
            iec21_client_sent(c, 1000 + 1000 * (uint64_t)rep);
            assert_int_equal(iec21_client_status(c), IEC21_CLIENT_BUSY);
            iec21_client_input(c, 1500 + 1000 * (uint64_t)rep, stx,
                               (size_t)(s + len - stx));
            ctake(c);
        }
        assert_int_equal(iec21_client_status(c), IEC21_CLIENT_FAILED);
        assert_int_equal(iec21_client_result(c)->err, MS_EBADBCC);
        assert_int_equal(iec21_client_result(c)->naks_sent, 3);
        assert_int_equal(iec21_client_baud(c), 300);
        iec21_client_free(c);
        free(s);
    }
}

static void test_stream_truncated(void **state)
{
    static const struct {
        const char *file;
        const char *ident;
        const char *option;
    } v[] = {
        { "testSerialRequestResponseD0ModeDAck.meter_stream.bin", "V9.30 ",
          "\x06"
          "050\r\n" },
        { "testSerialRequestResponseD0ModeE.meter_stream.bin", "k260V01.18",
          "\x06"
          "000\r\n" },
        { "testSerialRequestResponseD0ModeOverwrite.meter_stream.bin", "EM214",
          "\x06"
          "050\r\n" },
    };
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *s = t_load_stream(v[i].file, &len);
        iec21_client_t *c = client(false);
        int n = feed_stream(c, s, len);
        assert_true(n >= 1);
        assert_memory_equal(cacts[0].data, v[i].option, 6);
        iec21_client_sent(c, 500);
        assert_string_equal(iec21_client_result(c)->ident.ident, v[i].ident);
        /* a block is under way: the ta time-out, then the response time-out */
        assert_int_equal(iec21_client_deadline(c), 400 + 1500);
        settle(c);
        assert_int_equal(iec21_client_status(c), IEC21_CLIENT_FAILED);
        assert_int_equal(iec21_client_result(c)->err, MS_ETIMEDOUT);
        assert_int_equal(iec21_client_baud(c), 300);
        iec21_client_free(c);
        free(s);
    }
}

static void test_stream_mode_d(void **state)
{
    static const struct {
        const char *file;
        const char *ident;
        size_t ident_len, pushes;
    } v[] = {
        { "testSerialResponseD0ModeD.meter_stream.bin", "2WR5", 11, 2 },
        /* EMH sends an empty line after the identification */
        { "testSerialResponseD0FastSend.meter_stream.bin", "----eHZ-E0018E", 23, 2 },
        { "testSerialRequestResponseD0WithAck.meter_stream.bin", "2WR5", 11, 1 },
    };
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *s = t_load_stream(v[i].file, &len);
        iec21_client_t *c = client(true);
        assert_int_equal(feed_stream(c, s, len), -1);
        iec21_client_input(c, 400, s, len);
        assert_int_equal(ctake(c), 0); /* mode D: the reader sends nothing */
        assert_int_equal(iec21_client_status(c), IEC21_CLIENT_DONE);
        const iec21_client_result_t *r = iec21_client_result(c);
        assert_int_equal(r->mode, 'D');
        assert_string_equal(r->ident.ident, v[i].ident);
        assert_int_equal(r->len, len / v[i].pushes - v[i].ident_len);
        assert_int_equal(r->data[r->len - 3], '!');
        iec21_client_free(c);

        /* a mode C reader does not take unframed data */
        c = client(false);
        feed_stream(c, s, len);
        iec21_client_sent(c, 500);
        settle(c);
        assert_int_equal(iec21_client_result(c)->err, MS_ETIMEDOUT);
        iec21_client_free(c);
        free(s);
    }

    /* DSMR P1 is not IEC 62056-21: no identification is accepted */
    size_t len;
    uint8_t *s = t_load_stream("testSerialResponseD0DSMR.meter_stream.bin", &len);
    iec21_client_t *c = client(true);
    feed_stream(c, s, len);
    iec21_client_input(c, 400, s, len);
    settle(c);
    assert_int_equal(iec21_client_result(c)->err, MS_ETIMEDOUT);
    assert_false(iec21_client_result(c)->has_ident);
    iec21_client_free(c);
    free(s);
}

/* A readout longer than max_message fails at once with MS_ETOOBIG. */
static void test_too_big(void **state)
{
    size_t len;
    uint8_t *s =
        t_load_stream("testSerialRequestResponseD0WithAck2.meter_stream.bin", &len);
    iec21_client_cfg_t cc = { .max_message = 4096 };
    int err;
    iec21_client_t *c = iec21_client_new(&cc, 0, &err);
    feed_stream(c, s, len);
    assert_int_equal(iec21_client_status(c), IEC21_CLIENT_FAILED);
    assert_int_equal(iec21_client_result(c)->err, MS_ETOOBIG);
    assert_int_equal(iec21_client_baud(c), 300);
    iec21_client_free(c);
    free(s);
}

/* LF LF line ends (PROTOCOL-NOTES field quirk) in a mode C answer. */
static void test_lf_lf(void **state)
{
    uint8_t stream[128];
    size_t n = strlen("/ABC5METER\n\n");
    memcpy(stream, "/ABC5METER\n\n", n);
    n += t_block(stream + n, IEC21_STX, "1.8.0(1*kWh)\n\n2.8.0(2*kWh)\n\n!\n\n", false);
    iec21_client_t *c = client(false);
    feed_stream(c, stream, n);
    assert_int_equal(iec21_client_status(c), IEC21_CLIENT_DONE);
    const iec21_client_result_t *r = iec21_client_result(c);
    ms_rd_t rd;
    iec21_dataset_t ds;
    ms_rd_init(&rd, r->data, r->len);
    int k = 0;
    while (iec21_dataset_next(&rd, &ds) == 1)
        k++;
    assert_int_equal(k, 2);
    iec21_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b2b_mode_a),
        cmocka_unit_test(test_b2b_mode_b),
        cmocka_unit_test(test_b2b_mode_c),
        cmocka_unit_test(test_b2b_programming),
        cmocka_unit_test(test_b2b_wrong_password),
        cmocka_unit_test(test_b2b_bad_bcc),
        cmocka_unit_test(test_b2b_mode_d),
        cmocka_unit_test(test_b2b_unknown_address),
        cmocka_unit_test(test_stream_iskra),
        cmocka_unit_test(test_stream_bad_bcc),
        cmocka_unit_test(test_stream_truncated),
        cmocka_unit_test(test_stream_mode_d),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_lf_lf),
    };
    t_stream_dir();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
