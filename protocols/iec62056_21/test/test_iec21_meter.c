/*
** test_iec21_meter.c — IEC 62056-21 meter-side session driven by a fake clock: modes
** A, B, C, D, baud switch, tt, programming mode, refusal policies, NAK/repeat, ta,
** inactivity, unknown address, lowercase manufacturer, BCC fault injection.
** SPDX-License-Identifier: MIT
**
** Expected messages are written out byte by byte (BCCs from ms_bcc, which test_common
** and test_iec21_msg check against published vectors), not produced by our encoders.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iec21_meter.h"
#include "iec21_test_util.h"
#include "ms_err.h"

/* ---- test provider ---- */

typedef struct ev {
    iec21_meter_event_t ev;
    char detail[40];
} ev_t;

typedef struct prov {
    const char *readout;
    const char *operand; /* NULL: "12345678" */
    int readout_err;
    int readout_calls;
    ev_t evs[64];
    int nev;
    int cmd_calls;
    int last_access;
} prov_t;

#define READOUT_BODY "1.8.0(000123.4*kWh)\r\n2.8.0(000001.0*kWh)\r\n"

static int p_readout(void *ctx, ms_wr_t *out)
{
    prov_t *p = ctx;
    p->readout_calls++;
    if (p->readout_err)
        return p->readout_err;
    return ms_wr_str(out, p->readout ? p->readout : READOUT_BODY);
}

static int p_operand(void *ctx, ms_wr_t *out)
{
    const prov_t *p = ctx;
    return ms_wr_str(out, p->operand ? p->operand : "12345678");
}

static int p_password(void *ctx, int level, const char *op, size_t len)
{
    const char *want = level == 1 ? "secret" : "ABCD";
    return len == strlen(want) && memcmp(op, want, len) == 0 ? 0 : MS_EACCES;
}

static iec21_reply_t p_command(void *ctx, int access, const iec21_msg_t *cmd,
                               ms_wr_t *out)
{
    prov_t *p = ctx;
    p->cmd_calls++;
    p->last_access = access;
    if (cmd->cmd == 'R' && cmd->cmd_type == '1' && cmd->data_len == 7 &&
        memcmp(cmd->data, "1.8.0()", 7) == 0) {
        ms_wr_str(out, "1.8.0(000123.4*kWh)");
        return IEC21_REPLY_DATA;
    }
    if (cmd->cmd == 'W' && cmd->cmd_type == '1') {
        if (access < IEC21_ACCESS_P1) {
            ms_wr_str(out, "NOACCESS");
            return IEC21_REPLY_ERROR;
        }
        return IEC21_REPLY_ACK;
    }
    if (cmd->cmd == 'E')
        return IEC21_REPLY_NAK;
    if (cmd->cmd == 'R' && cmd->cmd_type == '9')
        return IEC21_REPLY_BREAK;
    ms_wr_str(out, "UNKNOWN");
    return IEC21_REPLY_ERROR;
}

static void p_event(void *ctx, iec21_meter_event_t ev, const char *detail)
{
    prov_t *p = ctx;
    if (p->nev < 64) {
        p->evs[p->nev].ev = ev;
        snprintf(p->evs[p->nev].detail, sizeof p->evs[p->nev].detail, "%s", detail);
        p->nev++;
    }
}

static const iec21_meter_ops_t ops = {
    .readout = p_readout,
    .operand = p_operand,
    .password = p_password,
    .command = p_command,
    .event = p_event,
};

static bool has_event(const prov_t *p, iec21_meter_event_t ev, const char *detail)
{
    for (int i = 0; i < p->nev; i++)
        if (p->evs[i].ev == ev && (!detail || strcmp(p->evs[i].detail, detail) == 0))
            return true;
    return false;
}

/* ---- harness ---- */

static iec21_meter_cfg_t base_cfg(char mode, char z)
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

static iec21_meter_t *mk(const iec21_meter_cfg_t *c, prov_t *p, uint64_t now)
{
    memset(p, 0, sizeof *p);
    int err = -1;
    iec21_meter_t *m = iec21_meter_new(c, &ops, p, now, &err);
    assert_non_null(m);
    assert_int_equal(err, 0);
    return m;
}

static t_act_t acts[16];

static int take(iec21_meter_t *m)
{
    int n = 0;
    iec21_action_t a;
    while (iec21_meter_next_action(m, &a)) {
        assert_true(n < 16);
        acts[n].type = a.type;
        acts[n].delay_ms = a.delay_ms;
        acts[n].baud = a.baud;
        acts[n].len = a.len;
        if (a.type == IEC21_ACT_SEND) {
            assert_non_null(a.data);
            assert_true(a.len > 0 && a.len <= sizeof acts[n].data);
            memcpy(acts[n].data, a.data, a.len);
        }
        n++;
    }
    return n;
}

static void in(iec21_meter_t *m, uint64_t now, const char *s)
{
    iec21_meter_input(m, now, (const uint8_t *)s, strlen(s));
}

static void in_n(iec21_meter_t *m, uint64_t now, const uint8_t *p, size_t n)
{
    iec21_meter_input(m, now, p, n);
}

static void expect_send(int i, unsigned delay, const void *bytes, size_t len)
{
    assert_int_equal(acts[i].type, IEC21_ACT_SEND);
    assert_int_equal(acts[i].delay_ms, delay);
    assert_int_equal(acts[i].len, len);
    assert_memory_equal(acts[i].data, bytes, len);
}

static void expect_baud(int i, unsigned baud)
{
    assert_int_equal(acts[i].type, IEC21_ACT_SET_BAUD);
    assert_int_equal(acts[i].baud, baud);
}

#define IDENT_C5 "/ABC5METER1\r\n"

static size_t readout_bytes(uint8_t *dst)
{
    return t_block(dst, IEC21_STX, READOUT_BODY "!\r\n", false);
}

static void expect_readout(int i, unsigned delay)
{
    uint8_t exp[256];
    size_t n = readout_bytes(exp);
    expect_send(i, delay, exp, n);
}

/* Sign on in mode C (Z '5'), identification on the wire at t=1000. */
static iec21_meter_t *signed_on(prov_t *p, iec21_meter_cfg_t *c)
{
    iec21_meter_t *m = mk(c, p, 0);
    in(m, 100, "/?!\r\n");
    assert_int_equal(take(m), 1);
    iec21_meter_sent(m, 1000);
    assert_string_equal(iec21_meter_state_name(m), "wait-option");
    return m;
}

/* In programming mode at 9600 Bd, P0 on the wire at t=3000. */
static iec21_meter_t *programming(prov_t *p, iec21_meter_cfg_t *c)
{
    iec21_meter_t *m = signed_on(p, c);
    in(m, 1200,
       "\x06"
       "051\r\n");
    assert_int_equal(take(m), 2);
    expect_baud(0, 9600);
    uint8_t p0[32];
    size_t n = t_block(p0 + 3, IEC21_STX, "(12345678)", false);
    /* SOH P0 STX (12345678) ETX BCC: the BCC runs from "P" to ETX */
    p0[0] = IEC21_SOH;
    p0[1] = 'P';
    p0[2] = '0';
    p0[n + 2] = ms_bcc(p0 + 1, n + 1);
    expect_send(1, 500, p0, n + 3);
    assert_int_equal(iec21_meter_baud(m), 9600);
    iec21_meter_sent(m, 3000);
    assert_string_equal(iec21_meter_state_name(m), "programming");
    assert_true(has_event(p, IEC21_EV_PROGRAMMING, NULL));
    return m;
}

/* A command block SOH C D STX data ETX BCC. */
static size_t command(uint8_t *dst, const char *cd, const char *data)
{
    size_t n = t_block(dst + 3, IEC21_STX, data, false);
    dst[0] = IEC21_SOH;
    dst[1] = (uint8_t)cd[0];
    dst[2] = (uint8_t)cd[1];
    dst[n + 2] = ms_bcc(dst + 1, n + 1);
    return n + 3;
}

/* ---- tests ---- */

static void test_cfg_validation(void **state)
{
    prov_t p;
    memset(&p, 0, sizeof p);
    int err = 0;
    static const struct {
        char mode, z;
        const char *mfr, *ident, *address;
        char w;
    } bad[] = {
        { 'X', '5', "ABC", "M", "", 0 },
        { 'C', '5', "AB", "M", "", 0 },
        { 'C', '5', "A1C", "M", "", 0 },
        { 'B', '5', "ABC", "M", "", 0 },
        { 'C', 'A', "ABC", "M", "", 0 },
        { 'C', '7', "ABC", "M", "", 0 },
        { 'D', '4', "ABC", "M", "", 0 },
        { 'A', '5', "ABC", "M", "", 0 },
        { 'A', 'C', "ABC", "M", "", 0 },
        { 'A', '/', "ABC", "M", "", 0 },
        { 'A', '!', "ABC", "M", "", 0 },
        { 'A', '\\', "ABC", "M", "", 0 },
        { 'A', 0, "ABC", "M", "", 0 },
        { 'C', '5', "ABC", "12345678901234567", "", 0 },
        { 'C', '5', "ABC", "ME!", "", 0 },
        { 'C', '5', "ABC", "M/E", "", 0 },
        { 'C', '5', "ABC", "M", "12-3", 0 },
        { 'C', '5', "ABC", "M", "", '/' },
        { 'C', '5', "ABC", "M", "", '\x7F' },
        { 'C', '5', "ABC", "\\M", "", 0 }, /* would read as W = 'M' */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iec21_meter_cfg_t c = base_cfg(bad[i].mode, bad[i].z);
        snprintf(c.mfr, sizeof c.mfr, "%s", bad[i].mfr);
        if (strlen(bad[i].ident) >= sizeof c.ident) /* no room for the NUL */
            memcpy(c.ident, bad[i].ident, sizeof c.ident);
        else
            strcpy(c.ident, bad[i].ident);
        snprintf(c.address, sizeof c.address, "%s", bad[i].address);
        c.enh_w = bad[i].w;
        err = 0;
        assert_null(iec21_meter_new(&c, &ops, &p, 0, &err));
        assert_int_equal(err, MS_EINVAL);
    }
    /* valid edge cases: mode A with 'H', 16-character ident, mode D default Z */
    iec21_meter_cfg_t c = base_cfg('A', 'H');
    strcpy(c.ident, "1234567890123456");
    iec21_meter_t *m = iec21_meter_new(&c, &ops, &p, 0, &err);
    assert_non_null(m);
    iec21_meter_free(m);
    c = base_cfg('D', 0);
    m = iec21_meter_new(&c, &ops, &p, 0, &err);
    assert_non_null(m);
    assert_int_equal(iec21_meter_baud(m), 2400);
    iec21_meter_free(m);
    /* times outside the standard's range are accepted on purpose */
    c = base_cfg('C', '5');
    c.reaction_ms = 5;
    c.tt_ms = 9000;
    m = iec21_meter_new(&c, &ops, &p, 0, &err);
    assert_non_null(m);
    in(m, 10, "/?!\r\n");
    assert_int_equal(take(m), 1);
    assert_int_equal(acts[0].delay_ms, 5);
    iec21_meter_sent(m, 100);
    assert_int_equal(iec21_meter_deadline(m), 9100);
    iec21_meter_free(m);
}

static void test_mode_a(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('A', 'H');
    iec21_meter_t *m = mk(&c, &p, 0);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    assert_int_equal(iec21_meter_baud(m), 300);
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    in(m, 50, "/?!\r\n");
    assert_int_equal(take(m), 2);
    expect_send(0, 200, "/ABCHMETER1\r\n", 13);
    expect_readout(1, 200);
    assert_string_equal(iec21_meter_state_name(m), "readout");
    assert_true(has_event(&p, IEC21_EV_SIGN_ON, ""));
    assert_true(has_event(&p, IEC21_EV_READOUT, "ok"));
    assert_false(has_event(&p, IEC21_EV_BAUD, NULL)); /* stays at 300 Bd */
    iec21_meter_sent(m, 5000);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    assert_int_equal(take(m), 0);
    iec21_meter_free(m);
}

static void test_mode_b(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('B', 'D'); /* D = 4800 Bd */
    iec21_meter_t *m = mk(&c, &p, 0);
    in(m, 50, "/?!\r\n");
    assert_int_equal(take(m), 4);
    expect_send(0, 200, "/ABCDMETER1\r\n", 13);
    expect_baud(1, 4800);
    expect_readout(2, 200);
    expect_baud(3, 300);
    assert_int_equal(iec21_meter_baud(m), 300);
    assert_true(has_event(&p, IEC21_EV_BAUD, "4800"));
    assert_true(has_event(&p, IEC21_EV_BAUD, "300"));
    iec21_meter_sent(m, 3000);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);
}

static void test_mode_c_switch(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = mk(&c, &p, 0);
    in(m, 100, "/?!\r\n");
    assert_int_equal(take(m), 1);
    expect_send(0, 200, IDENT_C5, strlen(IDENT_C5));
    /* tt counts from the end of transmission: no deadline before sent() */
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    iec21_meter_sent(m, 1000);
    assert_int_equal(iec21_meter_deadline(m), 3000);
    in(m, 1300,
       "\x06"
       "050\r\n");
    assert_int_equal(take(m), 3);
    expect_baud(0, 9600);
    expect_readout(1, 500);
    expect_baud(2, 300);
    assert_string_equal(iec21_meter_state_name(m), "readout");
    iec21_meter_sent(m, 2000);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);
}

/* Mode E (6.4.5): identification with the enhanced character "\\2"; the option select
 * "ACK 2 5 2" is echoed after the option reaction time, then the link goes to HDLC at
 * 9600 Bd and the session ignores what follows. Without W = '2' it is not understood:
 * the readout at 300 Bd. */
static void test_mode_e(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    c.enh_w = '2';
    iec21_meter_t *m = mk(&c, &p, 0);
    in(m, 100, "/?!\r\n");
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "/ABC5\\2METER1\r\n", strlen("/ABC5\\2METER1\r\n"));
    iec21_meter_sent(m, 1000);
    in(m, 1300,
       "\x06"
       "252\r\n");
    assert_int_equal(take(m), 2);
    expect_send(0, 500,
                "\x06"
                "252\r\n",
                6);
    assert_int_equal(acts[1].type, IEC21_ACT_MODE_E);
    assert_int_equal(acts[1].baud, 9600);
    assert_true(has_event(&p, IEC21_EV_MODE_E, "9600"));
    assert_string_equal(iec21_meter_state_name(m), "mode-e");
    iec21_meter_sent(m, 1600);
    in(m, 1700, "/?!\r\n"); /* HDLC bytes or anything else: not for this session */
    assert_int_equal(take(m), 0);
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    iec21_meter_free(m);
    /* a meter without mode E */
    c.enh_w = 0;
    m = mk(&c, &p, 0);
    in(m, 100, "/?!\r\n");
    assert_int_equal(take(m), 1);
    iec21_meter_sent(m, 1000);
    in(m, 1300,
       "\x06"
       "252\r\n");
    assert_int_equal(take(m), 1);
    expect_readout(0, 500);
    iec21_meter_free(m);
}

/* The option select's Z differs from the identification's, or is '0': no switch. */
static void test_mode_c_no_switch(void **state)
{
    const char *opts[] = { "\x06"
                           "040\r\n",
                           "\x06"
                           "000\r\n",
                           "\x06"
                           "060\r\n" };
    for (int i = 0; i < 3; i++) {
        prov_t p;
        iec21_meter_cfg_t c = base_cfg('C', '5');
        iec21_meter_t *m = signed_on(&p, &c);
        in(m, 1300, opts[i]);
        assert_int_equal(take(m), 1);
        expect_readout(0, 500);
        assert_false(has_event(&p, IEC21_EV_BAUD, NULL));
        iec21_meter_free(m);
    }
    /* not understood (V = '1', Y = '2'): readout at 300 Bd as well */
    const char *odd[] = { "\x06"
                          "150\r\n",
                          "\x06"
                          "052\r\n" };
    for (int i = 0; i < 2; i++) {
        prov_t p;
        iec21_meter_cfg_t c = base_cfg('C', '5');
        iec21_meter_t *m = signed_on(&p, &c);
        in(m, 1300, odd[i]);
        assert_int_equal(take(m), 1);
        expect_readout(0, 500);
        iec21_meter_free(m);
    }
}

/* No option select within tt: readout at 300 Bd. */
static void test_mode_c_tt(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = signed_on(&p, &c);
    iec21_meter_tick(m, 2999);
    assert_int_equal(take(m), 0);
    iec21_meter_tick(m, 3000);
    assert_int_equal(take(m), 1);
    expect_readout(0, 0);
    assert_true(has_event(&p, IEC21_EV_TIMEOUT, "tt"));
    assert_false(has_event(&p, IEC21_EV_BAUD, NULL));
    /* an option select now is too late: ignored */
    in(m, 3100,
       "\x06"
       "050\r\n");
    assert_int_equal(take(m), 0);
    iec21_meter_sent(m, 6000);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);
}

static void test_lowercase_mfr(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    memcpy(c.mfr, "ABc", 4);
    iec21_meter_t *m = mk(&c, &p, 0);
    in(m, 10, "/?!\r\n");
    assert_int_equal(take(m), 1);
    expect_send(0, 20, "/ABc5METER1\r\n", 13);
    iec21_meter_free(m);
}

/* An operand the P0 message cannot carry (a parenthesis, a control character) is
 * replaced by the empty operand "()". */
static void test_p0_invalid_operand(void **state)
{
    const char *bad[] = { "12(34", "1234)", "12\r\n" };
    for (int i = 0; i < 3; i++) {
        prov_t p;
        iec21_meter_cfg_t c = base_cfg('C', '5');
        iec21_meter_t *m = signed_on(&p, &c);
        p.operand = bad[i];
        in(m, 1200,
           "\x06"
           "051\r\n");
        assert_int_equal(take(m), 2);
        uint8_t p0[32];
        size_t n = command(p0, "P0", "()");
        expect_send(1, 500, p0, n);
        iec21_meter_free(m);
    }
}

static void test_programming_password_ok(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    assert_int_equal(iec21_meter_deadline(m), 3000 + 120000);
    uint8_t blk[64];

    /* W1 before the password: the provider sees access NONE */
    size_t n = command(blk, "W1", "1.8.0(5)");
    in_n(m, 3300, blk, n);
    assert_int_equal(take(m), 1);
    uint8_t exp[64];
    size_t e = t_block(exp, IEC21_STX, "(NOACCESS)", false);
    expect_send(0, 200, exp, e);
    assert_int_equal(p.last_access, IEC21_ACCESS_NONE);
    iec21_meter_sent(m, 3400);

    n = command(blk, "P1", "(secret)");
    in_n(m, 3600, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "\x06", 1);
    assert_true(has_event(&p, IEC21_EV_PASSWORD_OK, "P1"));
    iec21_meter_sent(m, 3900);

    n = command(blk, "R1", "1.8.0()");
    in_n(m, 4000, blk, n);
    assert_int_equal(take(m), 1);
    e = t_block(exp, IEC21_STX, "1.8.0(000123.4*kWh)", false);
    expect_send(0, 200, exp, e);
    iec21_meter_sent(m, 4300);

    n = command(blk, "W1", "1.8.0(5)");
    in_n(m, 4500, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "\x06", 1);
    assert_int_equal(p.last_access, IEC21_ACCESS_P1);
    iec21_meter_sent(m, 4800);

    n = command(blk, "E2", "X(1)");
    in_n(m, 5000, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "\x15", 1);
    iec21_meter_sent(m, 5100);

    /* P2 at level 2 */
    n = command(blk, "P2", "(ABCD)");
    in_n(m, 5200, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "\x06", 1);
    assert_true(has_event(&p, IEC21_EV_PASSWORD_OK, "P2"));
    iec21_meter_sent(m, 5300);

    /* B0 from the reader: no answer, back to 300 Bd */
    in(m, 5500,
       "\x01"
       "B0\x03q");
    assert_int_equal(take(m), 1);
    expect_baud(0, 300);
    assert_true(has_event(&p, IEC21_EV_BREAK, "B0"));
    assert_string_equal(iec21_meter_state_name(m), "idle");
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    iec21_meter_free(m);
}

static void test_programming_refusals(void **state)
{
    uint8_t blk[64], exp[64];
    size_t n;
    prov_t p;

    /* BREAK (default): B0 then back to the start */
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    n = command(blk, "P1", "(wrong)");
    in_n(m, 3500, blk, n);
    assert_int_equal(take(m), 2);
    expect_send(0, 200,
                "\x01"
                "B0\x03q",
                5); /* pwitab's B0 vector */
    expect_baud(1, 300);
    assert_true(has_event(&p, IEC21_EV_PASSWORD_WRONG, "P1"));
    assert_string_equal(iec21_meter_state_name(m), "closing");
    iec21_meter_sent(m, 3800);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);

    /* ERROR: an error message, still in programming mode */
    c.refusal = IEC21_REFUSE_ERROR;
    m = programming(&p, &c);
    n = command(blk, "P1", "(wrong)");
    in_n(m, 3500, blk, n);
    assert_int_equal(take(m), 1);
    size_t e = t_block(exp, IEC21_STX, "(MS_EACCES)", false);
    expect_send(0, 200, exp, e);
    assert_string_equal(iec21_meter_state_name(m), "programming");
    iec21_meter_free(m);

    /* NAK */
    c.refusal = IEC21_REFUSE_NAK;
    m = programming(&p, &c);
    n = command(blk, "P2", "(wrong)");
    in_n(m, 3500, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "\x15", 1);
    assert_true(has_event(&p, IEC21_EV_PASSWORD_WRONG, "P2"));
    assert_string_equal(iec21_meter_state_name(m), "programming");
    iec21_meter_free(m);

    /* Y = '1' without cfg.programming: the readout, with the switch */
    c = base_cfg('C', '5');
    c.programming = false;
    m = signed_on(&p, &c);
    in(m, 1200,
       "\x06"
       "051\r\n");
    assert_int_equal(take(m), 3);
    expect_baud(0, 9600);
    expect_readout(1, 500);
    expect_baud(2, 300);
    iec21_meter_free(m);
}

static void test_provider_replies(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    uint8_t blk[64];
    size_t n = command(blk, "R9", "X()");
    in_n(m, 3500, blk, n);
    assert_int_equal(take(m), 2);
    expect_send(0, 200,
                "\x01"
                "B0\x03q",
                5);
    expect_baud(1, 300);
    iec21_meter_free(m);

    /* without ops->command: "(MS_ENOTSUP)"; unknown P type too */
    iec21_meter_ops_t o2 = ops;
    o2.command = NULL;
    c = base_cfg('C', '5');
    int err;
    m = iec21_meter_new(&c, &o2, &p, 0, &err);
    in(m, 10, "/?!\r\n");
    take(m);
    iec21_meter_sent(m, 500);
    in(m, 600,
       "\x06"
       "051\r\n");
    assert_int_equal(take(m), 2);
    iec21_meter_sent(m, 1500);
    n = command(blk, "R1", "1.8.0()");
    in_n(m, 1700, blk, n);
    assert_int_equal(take(m), 1);
    uint8_t exp[64];
    size_t e = t_block(exp, IEC21_STX, "(MS_ENOTSUP)", false);
    expect_send(0, 200, exp, e);
    iec21_meter_sent(m, 1800);
    n = command(blk, "P3", "(x)");
    in_n(m, 1900, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, exp, e);
    iec21_meter_free(m);
}

static void test_bad_bcc_nak(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    uint8_t blk[64];
    size_t n = command(blk, "R1", "1.8.0()");
    blk[n - 1] ^= 0x01;
    in_n(m, 3500, blk, n);
    assert_int_equal(take(m), 1);
    expect_send(0, 200, "\x15", 1);
    assert_true(has_event(&p, IEC21_EV_BAD_BCC, "command"));
    assert_int_equal(p.cmd_calls, 0);
    assert_string_equal(iec21_meter_state_name(m), "programming");
    iec21_meter_free(m);

    /* outside programming mode a block is not expected: discarded, no NAK */
    m = mk(&c, &p, 0);
    in_n(m, 100, blk, n);
    assert_int_equal(take(m), 0);
    assert_true(has_event(&p, IEC21_EV_FRAME_ERROR, "MS_EBADBCC"));
    iec21_meter_free(m);
}

static void test_nak_repeat(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    uint8_t blk[64], exp[64];
    size_t n = command(blk, "R1", "1.8.0()");
    in_n(m, 3500, blk, n);
    assert_int_equal(take(m), 1);
    size_t e = t_block(exp, IEC21_STX, "1.8.0(000123.4*kWh)", false);
    expect_send(0, 200, exp, e);
    iec21_meter_sent(m, 3800);
    for (int i = 1; i <= 3; i++) {
        in(m, 4000 + 500 * (uint64_t)i, "\x15");
        assert_int_equal(take(m), 1);
        expect_send(0, 200, exp, e);
        char d[4];
        snprintf(d, sizeof d, "%d", i);
        assert_true(has_event(&p, IEC21_EV_NAK_RECEIVED, d));
        iec21_meter_sent(m, 4100 + 500 * (uint64_t)i);
    }
    assert_int_equal(p.cmd_calls, 1); /* repeats do not ask the provider again */
    in(m, 6000, "\x15");
    assert_int_equal(take(m), 1);
    expect_baud(0, 300);
    assert_true(has_event(&p, IEC21_EV_NAK_RECEIVED, "limit"));
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);

    /* NAK after the identification repeats it and restarts tt */
    m = signed_on(&p, &c);
    in(m, 1100, "\x15");
    assert_int_equal(take(m), 1);
    expect_send(0, 200, IDENT_C5, strlen(IDENT_C5));
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    iec21_meter_sent(m, 1800);
    assert_int_equal(iec21_meter_deadline(m), 3800);
    iec21_meter_free(m);

    /* NAK in idle: nothing to repeat */
    m = mk(&c, &p, 0);
    in(m, 100, "\x15");
    assert_int_equal(take(m), 0);
    assert_true(has_event(&p, IEC21_EV_NAK_RECEIVED, "ignored"));
    iec21_meter_free(m);
}

/* A long programming session: every answer can still be repeated, the provider is
 * asked once per command, and an ACK is repeated as an ACK. */
static void test_long_session(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    uint8_t blk[64], exp[64];
    size_t n = command(blk, "R1", "1.8.0()");
    size_t e = t_block(exp, IEC21_STX, "1.8.0(000123.4*kWh)", false);
    uint64_t t = 4000;
    for (int i = 0; i < 500; i++, t += 1000) {
        in_n(m, t, blk, n);
        assert_int_equal(take(m), 1);
        expect_send(0, 200, exp, e);
        iec21_meter_sent(m, t + 300);
    }
    in(m, t, "\x15");
    assert_int_equal(take(m), 1);
    expect_send(0, 200, exp, e);
    iec21_meter_sent(m, t + 300);
    assert_int_equal(p.cmd_calls, 500);
    n = command(blk, "W1", "1.8.0(5)");
    in_n(m, t + 1000, blk, n);
    assert_int_equal(take(m), 1);
    e = t_block(exp, IEC21_STX, "(NOACCESS)", false);
    expect_send(0, 200, exp, e);
    iec21_meter_sent(m, t + 1300);
    in(m, t + 2000, "\x15"); /* the error message is repeated */
    assert_int_equal(take(m), 1);
    expect_send(0, 200, exp, e);
    iec21_meter_free(m);
}

static void test_ta(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = mk(&c, &p, 0);
    /* a pause of ta (1500 ms) inside the request: discarded */
    in(m, 1000, "/?");
    assert_int_equal(iec21_meter_deadline(m), 2500);
    in(m, 2500, "!\r\n");
    assert_int_equal(take(m), 0);
    assert_true(has_event(&p, IEC21_EV_TIMEOUT, "ta"));
    assert_false(has_event(&p, IEC21_EV_SIGN_ON, NULL));
    /* just under ta: accepted */
    in(m, 3000, "/?");
    in(m, 4499, "!\r\n");
    assert_int_equal(take(m), 1);
    assert_true(has_event(&p, IEC21_EV_SIGN_ON, ""));
    iec21_meter_free(m);

    /* the deadline tick discards too */
    m = mk(&c, &p, 0);
    in(m, 1000, "/?12");
    iec21_meter_tick(m, 2499);
    assert_int_equal(p.nev, 0);
    iec21_meter_tick(m, 2500);
    assert_true(has_event(&p, IEC21_EV_TIMEOUT, "ta"));
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    in(m, 2600, "!\r\n"); /* the rest alone is garbage */
    assert_int_equal(take(m), 0);
    iec21_meter_free(m);
}

static void test_inactivity(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    /* a valid message restarts the time-out */
    uint8_t blk[64];
    size_t n = command(blk, "P1", "(secret)");
    in_n(m, 50000, blk, n);
    take(m);
    iec21_meter_sent(m, 50300);
    assert_int_equal(iec21_meter_deadline(m), 50300 + 120000);
    /* garbage does not */
    in(m, 100000, "xyz");
    assert_int_equal(iec21_meter_deadline(m), 50300 + 120000);
    iec21_meter_tick(m, 170299);
    assert_int_equal(take(m), 0);
    iec21_meter_tick(m, 170300);
    assert_int_equal(take(m), 1);
    expect_baud(0, 300);
    assert_true(has_event(&p, IEC21_EV_TIMEOUT, "inactivity"));
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);
}

static void test_unknown_address(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    strcpy(c.address, "12345678");
    iec21_meter_t *m = mk(&c, &p, 0);
    in(m, 100, "/?999!\r\n");
    assert_int_equal(take(m), 1);
    uint8_t exp[64];
    size_t e = t_block(exp, IEC21_STX, "(MS_ENOENT)", false);
    expect_send(0, 200, exp, e);
    assert_true(has_event(&p, IEC21_EV_UNKNOWN_ADDRESS, "999"));
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_sent(m, 800);
    /* leading zeros are not significant (clause 6.3.1); no address is everyone */
    in(m, 1000, "/?00012345678!\r\n");
    assert_int_equal(take(m), 1);
    expect_send(0, 200, IDENT_C5, strlen(IDENT_C5));
    iec21_meter_free(m);
    m = mk(&c, &p, 0);
    in(m, 1000, "/?!\r\n");
    assert_int_equal(take(m), 1);
    expect_send(0, 200, IDENT_C5, strlen(IDENT_C5));
    iec21_meter_free(m);

    c.unknown_address = IEC21_UNKNOWN_ADDRESS_SILENT;
    m = mk(&c, &p, 0);
    in(m, 100, "/?1234567!\r\n");
    assert_int_equal(take(m), 0);
    assert_true(has_event(&p, IEC21_EV_UNKNOWN_ADDRESS, "1234567"));
    iec21_meter_free(m);
}

static void test_bcc_corrupt(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('A', 'H');
    c.bcc_corrupt = true;
    iec21_meter_t *m = mk(&c, &p, 0);
    in(m, 100, "/?!\r\n");
    assert_int_equal(take(m), 2);
    expect_send(0, 200, "/ABCHMETER1\r\n", 13); /* no BCC in an identification */
    uint8_t exp[256];
    size_t n = readout_bytes(exp);
    assert_int_equal(acts[1].len, n);
    assert_memory_equal(acts[1].data, exp, n - 1);
    assert_int_not_equal(acts[1].data[n - 1], exp[n - 1]);
    /* our own decoder rejects it */
    uint8_t buf[256];
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, sizeof buf);
    size_t used;
    iec21_msg_t msg;
    assert_int_equal(iec21_decoder_feed(&d, acts[1].data, acts[1].len, &used, &msg),
                     MS_EBADBCC);
    iec21_meter_free(m);
}

static void test_readout_error(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('A', 'H');
    iec21_meter_t *m = mk(&c, &p, 0);
    p.readout_err = MS_EIO;
    in(m, 100, "/?!\r\n");
    assert_int_equal(take(m), 2);
    uint8_t exp[64];
    size_t e = t_block(exp, IEC21_STX, "(MS_EIO)", false);
    expect_send(1, 200, exp, e);
    assert_true(has_event(&p, IEC21_EV_READOUT, "MS_EIO"));
    iec21_meter_free(m);

    /* a readout bigger than the first buffer: the provider is asked again */
    static char big[20000];
    for (size_t i = 0; i + 12 < sizeof big; i += 12)
        memcpy(big + i, "1.8.0(1234)\n", 12);
    big[sizeof big - 1] = 0;
    m = mk(&c, &p, 0);
    p.readout = big;
    in(m, 100, "/?!\r\n");
    iec21_action_t a;
    assert_int_equal(iec21_meter_next_action(m, &a), 1);
    assert_int_equal(iec21_meter_next_action(m, &a), 1);
    assert_int_equal(a.len, strlen(big) + 3 + 3);
    assert_true(p.readout_calls >= 2);
    iec21_meter_free(m);
}

static void test_mode_d(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('D', '3');
    iec21_meter_t *m = mk(&c, &p, 1000);
    assert_string_equal(iec21_meter_state_name(m), "mode-d");
    assert_int_equal(iec21_meter_baud(m), 2400);
    assert_int_equal(iec21_meter_deadline(m), 11000);
    in(m, 2000, "/?!\r\n"); /* unidirectional: ignored */
    assert_int_equal(take(m), 0);
    iec21_meter_tick(m, 10999);
    assert_int_equal(take(m), 0);
    iec21_meter_tick(m, 11000);
    assert_int_equal(take(m), 2);
    expect_send(0, 0, "/ABC3METER1\r\n", 13);
    expect_send(1, 0, READOUT_BODY "!\r\n", strlen(READOUT_BODY "!\r\n"));
    assert_string_equal(iec21_meter_state_name(m), "mode-d-push");
    assert_int_equal(iec21_meter_deadline(m), UINT64_MAX);
    iec21_meter_sent(m, 12000);
    assert_int_equal(iec21_meter_deadline(m), 21000);
    iec21_meter_free(m);

    c.mode_d_framed = true;
    c.mode_d_period_ms = 500;
    m = mk(&c, &p, 0);
    iec21_meter_tick(m, 500);
    assert_int_equal(take(m), 2);
    expect_readout(1, 0);
    iec21_meter_free(m);
}

static void test_request_restarts(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = programming(&p, &c);
    in(m, 4000, "/?!\r\n");
    assert_int_equal(take(m), 2);
    expect_baud(0, 300);
    expect_send(1, 200, IDENT_C5, strlen(IDENT_C5));
    assert_string_equal(iec21_meter_state_name(m), "wait-option");
    iec21_meter_free(m);

    /* reset(): back to 300 Bd at once */
    m = programming(&p, &c);
    iec21_meter_reset(m, 5000);
    assert_int_equal(take(m), 1);
    expect_baud(0, 300);
    assert_string_equal(iec21_meter_state_name(m), "idle");
    iec21_meter_free(m);
}

static void test_frame_error_stays(void **state)
{
    prov_t p;
    iec21_meter_cfg_t c = base_cfg('C', '5');
    iec21_meter_t *m = signed_on(&p, &c);
    in(m, 1200,
       "\x06"
       "05\r\n"); /* option select without Y */
    assert_int_equal(take(m), 0);
    assert_true(has_event(&p, IEC21_EV_FRAME_ERROR, "MS_EFRAME"));
    assert_string_equal(iec21_meter_state_name(m), "wait-option");
    assert_int_equal(iec21_meter_deadline(m), 3000); /* tt still runs */
    in(m, 1500,
       "\x06"
       "050\r\n");
    assert_int_equal(take(m), 3);
    iec21_meter_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_validation),
        cmocka_unit_test(test_mode_a),
        cmocka_unit_test(test_mode_b),
        cmocka_unit_test(test_mode_c_switch),
        cmocka_unit_test(test_mode_c_no_switch),
        cmocka_unit_test(test_mode_e),
        cmocka_unit_test(test_mode_c_tt),
        cmocka_unit_test(test_lowercase_mfr),
        cmocka_unit_test(test_p0_invalid_operand),
        cmocka_unit_test(test_programming_password_ok),
        cmocka_unit_test(test_programming_refusals),
        cmocka_unit_test(test_provider_replies),
        cmocka_unit_test(test_bad_bcc_nak),
        cmocka_unit_test(test_nak_repeat),
        cmocka_unit_test(test_long_session),
        cmocka_unit_test(test_ta),
        cmocka_unit_test(test_inactivity),
        cmocka_unit_test(test_unknown_address),
        cmocka_unit_test(test_bcc_corrupt),
        cmocka_unit_test(test_readout_error),
        cmocka_unit_test(test_mode_d),
        cmocka_unit_test(test_request_restarts),
        cmocka_unit_test(test_frame_error_stays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
