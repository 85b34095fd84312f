/*
** iec21_meter.c — IEC 62056-21 meter-side session (protocol modes A, B, C, D).
** SPDX-License-Identifier: MIT
**
** IEC 62056-21:2002 clause 6.4 (flow of modes A-D) and 6.3 (messages, reaction times);
** ../shared/PROTOCOL-NOTES.md. Clause numbers follow the 2002 edition's layout as this
** folder's headers cite it (6.3.x messages; 6.4.1-6.4.5 modes A-E): check them against
** the edition you hold. Choices where the standard leaves room:
** - A request message is accepted in every state and starts a new sign-on (readers
**   retry the request when they lose an answer); one for another address ends any
**   session in progress.
** - An option select the meter does not understand (V other than '0', Y other than
**   '0' or '1') gets the readout at 300 Bd, as an absent one does (PROTOCOL-NOTES:
**   "Z=0, invalid or absent ACK -> stay at 300 Bd"), but after reaction_option_ms
**   rather than tt. Y = '1' without cfg.programming is answered like Y = '0'.
** - Every answer to an option select waits reaction_option_ms, with or without a baud
**   switch (readers that reopen the port after the ACK lose earlier answers).
** - Modes A and B: the data message follows the identification after reaction_ms.
** - A block with a wrong BCC is NAKed only in programming mode; elsewhere no block is
**   expected and it is discarded as a frame error.
** - After a readout the meter does not repeat it on NAK: it is back at 300 Bd.
** - Mode E (6.4.5, Annex E): offered when the identification's enhanced character W is
**   '2'. The option select "ACK 2 Z 2 CR LF" is acknowledged with the same message
**   after reaction_option_ms; both sides then switch to Z (the identification's Z or
**   a lower rate of mode C; another Z keeps 300 Bd) and to HDLC (IEC21_ACT_MODE_E).
**   V = '2' with Y other than '2', or without W = '2', is an option select the meter
**   does not understand.
** - Error message texts are ms_err names: unknown address "(MS_ENOENT)", refused
**   password "(MS_EACCES)", unsupported command "(MS_ENOTSUP)".
*/
#include "iec21_meter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_check.h"
#include "ms_err.h"

#define RX_MAX        1024u      /* largest command message the meter accepts */
#define TX_FIRST      256u       /* first transmit buffer */
#define TX_READOUT    4096u      /* first try for a readout */
#define TX_MAX        (1u << 20) /* largest message the meter builds */
#define REPLY_MAX     65536u     /* room given to ops->command() */
#define QUEUE_MAX     16u
#define OPERAND_MAX   64u
#define BCC_FLIP_MASK 0x7Fu /* bcc_corrupt: a different 7-bit BCC */

enum {
    S_IDLE = 0,
    S_WAIT_OPTION, /* mode C: identification sent, waiting for the option select */
    S_READOUT,     /* readout queued or on the wire; idle once sent */
    S_PROG,        /* programming mode */
    S_CLOSING,     /* last message (B0, error) on the way; idle once sent */
    S_MODE_D,      /* mode D: waiting for the next push */
    S_MODE_D_PUSH, /* mode D: push on the wire */
    S_MODE_E,      /* mode E: the link went to HDLC; input ignored */
};

static const char *const state_names[] = {
    "idle",    "wait-option", "readout",     "programming",
    "closing", "mode-d",      "mode-d-push", "mode-e",
};

typedef struct qact {
    iec21_action_type_t type;
    unsigned delay_ms;
    const uint8_t *fixed; /* static bytes (ACK, NAK), else tx + off */
    size_t off, len;
    unsigned baud;
} qact_t;

struct iec21_meter {
    iec21_meter_cfg_t cfg;
    const iec21_meter_ops_t *ops;
    void *ctx;
    int state;
    unsigned initial_baud;
    unsigned baud;        /* rate of the last SET_BAUD taken */
    unsigned queued_baud; /* rate after every queued action */
    int access;
    unsigned repeats;
    bool tx_pending; /* sent() has not yet confirmed every SEND */
    uint64_t tx_end_ms;
    uint64_t last_rx_ms;
    uint64_t last_valid_ms;
    uint64_t push_at_ms;
    /* last message sent, for a repeat on NAK */
    bool has_last;
    const uint8_t *last_fixed;
    size_t last_off, last_len;
    iec21_decoder_t dec;
    uint8_t *tx;
    size_t tx_cap, tx_len;
    qact_t q[QUEUE_MAX];
    unsigned qhead, qlen;
    uint8_t rx[RX_MAX];
};

static const uint8_t ack_byte = IEC21_ACK;
static const uint8_t nak_byte = IEC21_NAK;

/* ---- helpers ---- */

static void emit(iec21_meter_t *m, iec21_meter_event_t ev, const char *detail)
{
    if (m->ops->event)
        m->ops->event(m->ctx, ev, detail ? detail : "");
}

static void push(iec21_meter_t *m, const qact_t *a)
{
    if (m->qlen >= QUEUE_MAX)
        return; /* the caller does not drain its actions: drop rather than overrun */
    m->q[(m->qhead + m->qlen) % QUEUE_MAX] = *a;
    m->qlen++;
}

static void set_baud(iec21_meter_t *m, unsigned baud)
{
    if (!baud || baud == m->queued_baud)
        return;
    qact_t a = { .type = IEC21_ACT_SET_BAUD, .baud = baud };
    push(m, &a);
    m->queued_baud = baud;
    char d[16];
    snprintf(d, sizeof d, "%u", baud);
    emit(m, IEC21_EV_BAUD, d);
}

static void send_fixed(iec21_meter_t *m, unsigned delay_ms, const uint8_t *p, bool last)
{
    qact_t a = { .type = IEC21_ACT_SEND, .delay_ms = delay_ms, .fixed = p, .len = 1 };
    push(m, &a);
    m->tx_pending = true;
    if (last) {
        m->has_last = true;
        m->last_fixed = p;
        m->last_len = 1;
        m->repeats = 0;
    }
}

static void send_tx(iec21_meter_t *m, unsigned delay_ms, size_t off, size_t len)
{
    qact_t a = { .type = IEC21_ACT_SEND, .delay_ms = delay_ms, .off = off, .len = len };
    push(m, &a);
    m->tx_pending = true;
    m->has_last = true;
    m->last_fixed = NULL;
    m->last_off = off;
    m->last_len = len;
    m->repeats = 0;
}

/* Make room for `need` more bytes in the transmit buffer. */
static int tx_room(iec21_meter_t *m, size_t need)
{
    return ms_buf_reserve(&m->tx, &m->tx_cap, m->tx_len + need, TX_FIRST);
}

typedef int (*build_fn)(iec21_meter_t *m, ms_wr_t *w, const void *arg);

/* Build one message at the end of the transmit buffer, growing it while the builder
 * reports MS_ENOSPC. A new reply reuses the buffer from the start once every queued
 * action has been taken (their bytes were valid until this call). */
static int build(iec21_meter_t *m, size_t first, build_fn fn, const void *arg,
                 size_t *off, size_t *len)
{
    if (m->qlen == 0)
        m->tx_len = 0;
    size_t want = first;
    for (;;) {
        if (tx_room(m, want) < 0)
            return MS_ENOMEM;
        ms_wr_t w;
        ms_wr_init(&w, m->tx + m->tx_len, m->tx_cap - m->tx_len);
        int rc = fn(m, &w, arg);
        if (rc == MS_ENOSPC || (rc >= 0 && w.err)) {
            if (m->tx_cap - m->tx_len >= TX_MAX)
                return MS_ENOSPC;
            want = (m->tx_cap - m->tx_len) * 2;
            continue;
        }
        if (rc < 0)
            return rc;
        *off = m->tx_len;
        *len = w.len;
        m->tx_len += w.len;
        return 0;
    }
}

/* The BCC is the last byte of every block the meter sends. */
static void corrupt_bcc(iec21_meter_t *m, size_t off, size_t len)
{
    if (m->cfg.bcc_corrupt && len)
        m->tx[off + len - 1] ^= BCC_FLIP_MASK;
}

static int b_ident(iec21_meter_t *m, ms_wr_t *w, const void *arg)
{
    return iec21_encode_ident(w, m->cfg.mfr, m->cfg.baud_z, m->cfg.enh_w, m->cfg.ident);
}

static int b_error(iec21_meter_t *m, ms_wr_t *w, const void *arg)
{
    return iec21_encode_error(w, arg);
}

/* Readout: STX data-block "!" CR LF ETX BCC (clause 6.3.4); arg != NULL: the mode D
 * push without STX/ETX/BCC. */
static int b_readout(iec21_meter_t *m, ms_wr_t *w, const void *arg)
{
    bool framed = arg == NULL;
    if (framed)
        ms_wr_u8(w, IEC21_STX);
    if (w->err)
        return w->err;
    ms_wr_t sub;
    ms_wr_init(&sub, w->buf + w->len, w->cap - w->len);
    if (m->ops->readout) {
        int rc = m->ops->readout(m->ctx, &sub);
        if (rc < 0)
            return rc;
        if (sub.err)
            return sub.err;
    }
    if (iec21__has_framing(sub.buf, sub.len))
        return MS_EINVAL;
    w->len += sub.len;
    ms_wr_str(w, "!\r\n");
    if (framed) {
        ms_wr_u8(w, IEC21_ETX);
        if (!w->err)
            ms_wr_u8(w, ms_bcc(w->buf + 1, w->len - 1));
    }
    return w->err;
}

static int b_command(iec21_meter_t *m, ms_wr_t *w, const void *arg)
{
    const char *const *cd = arg; /* { "B0", data or NULL } */
    size_t n = cd[1] ? strlen(cd[1]) : 0;
    return iec21_encode_command(w, cd[0][0], cd[0][1], cd[1], n, false);
}

/* ---- sending whole messages ---- */

static void send_error(iec21_meter_t *m, unsigned delay_ms, const char *text)
{
    size_t off, len;
    if (build(m, TX_FIRST, b_error, text, &off, &len) < 0 &&
        build(m, TX_FIRST, b_error, "ERROR", &off, &len) < 0)
        return; /* out of memory: stay silent */
    corrupt_bcc(m, off, len);
    send_tx(m, delay_ms, off, len);
}

static void send_ident(iec21_meter_t *m, unsigned delay_ms)
{
    size_t off, len;
    if (build(m, TX_FIRST, b_ident, NULL, &off, &len) == 0)
        send_tx(m, delay_ms, off, len);
}

static void send_readout(iec21_meter_t *m, unsigned delay_ms, bool unframed)
{
    size_t off, len;
    int rc = build(m, TX_READOUT, b_readout, unframed ? "" : NULL, &off, &len);
    if (rc < 0) {
        emit(m, IEC21_EV_READOUT, ms_err_name(rc));
        send_error(m, delay_ms, ms_err_name(rc));
        return;
    }
    if (!unframed)
        corrupt_bcc(m, off, len);
    send_tx(m, delay_ms, off, len);
    emit(m, IEC21_EV_READOUT, "ok");
}

static void send_command(iec21_meter_t *m, unsigned delay_ms, const char *cd,
                         const char *data)
{
    const char *arg[2] = { cd, data };
    size_t off, len;
    if (build(m, TX_FIRST, b_command, arg, &off, &len) < 0)
        return;
    corrupt_bcc(m, off, len);
    send_tx(m, delay_ms, off, len);
}

/* P0 with the operand of ops->operand (clause 6.3.7; PROTOCOL-NOTES "prog"). */
static void send_p0(iec21_meter_t *m, unsigned delay_ms)
{
    char operand[OPERAND_MAX + 3];
    ms_wr_t w;
    ms_wr_init(&w, (uint8_t *)operand + 1, OPERAND_MAX);
    operand[0] = '(';
    if (m->ops->operand && (m->ops->operand(m->ctx, &w) < 0 || w.err))
        w.len = 0;
    if (!iec21__operand_ok(operand + 1, w.len))
        w.len = 0; /* not a valid operand: send "()" */
    operand[1 + w.len] = ')';
    operand[2 + w.len] = 0;
    send_command(m, delay_ms, "P0", operand);
}

/* ---- state changes ---- */

static void free_tx(iec21_meter_t *m)
{
    free(m->tx);
    m->tx = NULL;
    m->tx_cap = m->tx_len = 0;
    m->has_last = false;
}

static void go_idle(iec21_meter_t *m)
{
    /* A SEND still on its way keeps the session "closing" until sent(); queued
     * SET_BAUD actions alone need no confirmation. */
    m->state = m->tx_pending ? S_CLOSING : S_IDLE;
    if (!m->tx_pending)
        free_tx(m); /* no action refers to the buffer any more */
    iec21_decoder_set_flags(&m->dec, 0);
    m->access = IEC21_ACCESS_NONE;
    m->repeats = 0;
}

/* Back to the initial state at 300 Bd once everything queued is on the wire. */
static void to_start(iec21_meter_t *m)
{
    set_baud(m, m->initial_baud);
    go_idle(m);
}

/* Clause 6.3.1: leading zeros of the device address are not significant. */
static bool address_match(const char *own, const char *asked)
{
    if (!asked[0])
        return true;
    while (*own == '0')
        own++;
    while (*asked == '0')
        asked++;
    return strcmp(own, asked) == 0;
}

static void on_request(iec21_meter_t *m, const iec21_msg_t *msg)
{
    const iec21_meter_cfg_t *c = &m->cfg;
    if (!address_match(c->address, msg->address)) {
        emit(m, IEC21_EV_UNKNOWN_ADDRESS, msg->address);
        if (m->state != S_IDLE)
            to_start(m);
        if (c->unknown_address == IEC21_UNKNOWN_ADDRESS_ERROR)
            send_error(m, c->reaction_ms, ms_err_name(MS_ENOENT));
        return;
    }
    emit(m, IEC21_EV_SIGN_ON, msg->address);
    set_baud(m, m->initial_baud); /* a new sign-on while at another rate */
    m->access = IEC21_ACCESS_NONE;
    iec21_decoder_set_flags(&m->dec, 0);
    send_ident(m, c->reaction_ms);
    switch (c->mode) {
    case 'A': /* clause 6.4.1: identification, then the data message at 300 Bd */
        send_readout(m, c->reaction_ms, false);
        set_baud(m, m->initial_baud);
        m->state = S_READOUT;
        break;
    case 'B': /* clause 6.4.2: the meter switches to Z itself after the ident */
        set_baud(m, iec21_baud_of_z('B', c->baud_z));
        send_readout(m, c->reaction_ms, false);
        set_baud(m, m->initial_baud);
        m->state = S_READOUT;
        break;
    default: /* 'C', clause 6.4.3: wait for the option select */
        iec21_decoder_set_flags(&m->dec, IEC21_DEC_OPTION_SELECT);
        m->state = S_WAIT_OPTION;
        break;
    }
}

/* The acknowledgement of mode E repeats the option select: ACK 2 Z 2 CR LF. */
static int b_mode_e_ack(iec21_meter_t *m, ms_wr_t *w, const void *arg)
{
    return iec21_encode_option_select(w, '2', *(const char *)arg, '2');
}

static void on_option_select(iec21_meter_t *m, const iec21_msg_t *msg)
{
    const iec21_meter_cfg_t *c = &m->cfg;
    iec21_decoder_set_flags(&m->dec, 0);
    if (msg->opt_v == '2' && msg->opt_y == '2' && c->enh_w == '2') {
        unsigned baud = iec21_baud_of_z('C', msg->opt_z);
        if (!baud || baud > iec21_baud_of_z('C', c->baud_z))
            baud = 300;
        size_t off, len;
        if (build(m, TX_FIRST, b_mode_e_ack, &msg->opt_z, &off, &len) == 0)
            send_tx(m, c->reaction_option_ms, off, len);
        m->has_last = false;
        qact_t a = { .type = IEC21_ACT_MODE_E, .baud = baud };
        push(m, &a);
        m->queued_baud = baud;
        m->state = S_MODE_E;
        char d[16];
        snprintf(d, sizeof d, "%u", baud);
        emit(m, IEC21_EV_MODE_E, d);
        return;
    }
    bool understood = msg->opt_v == '0' && (msg->opt_y == '0' || msg->opt_y == '1');
    /* Both sides switch only when the option select's Z repeats the identification's
     * (PROTOCOL-NOTES "option"); Z = '0' is 300 Bd, no switch. */
    if (understood && msg->opt_z == c->baud_z)
        set_baud(m, iec21_baud_of_z('C', c->baud_z));
    if (understood && msg->opt_y == '1' && c->programming) {
        send_p0(m, c->reaction_option_ms);
        m->state = S_PROG;
        m->access = IEC21_ACCESS_NONE;
        emit(m, IEC21_EV_PROGRAMMING, "");
        return;
    }
    send_readout(m, c->reaction_option_ms, false);
    set_baud(m, m->initial_baud);
    m->state = S_READOUT;
}

static void on_nak(iec21_meter_t *m)
{
    if ((m->state != S_WAIT_OPTION && m->state != S_PROG) || !m->has_last) {
        emit(m, IEC21_EV_NAK_RECEIVED, "ignored");
        return;
    }
    if (m->repeats >= m->cfg.max_repeats) {
        emit(m, IEC21_EV_NAK_RECEIVED, "limit");
        to_start(m);
        return;
    }
    unsigned n = ++m->repeats;
    char d[16];
    snprintf(d, sizeof d, "%u", n);
    emit(m, IEC21_EV_NAK_RECEIVED, d);
    qact_t a = { .type = IEC21_ACT_SEND,
                 .delay_ms = m->cfg.reaction_ms,
                 .fixed = m->last_fixed,
                 .off = m->last_off,
                 .len = m->last_len };
    push(m, &a);
    m->tx_pending = true;
}

static void on_password(iec21_meter_t *m, const iec21_msg_t *msg)
{
    const iec21_meter_cfg_t *c = &m->cfg;
    int level = msg->cmd_type - '0';
    const uint8_t *op = msg->data; /* the text inside "(...)", or the whole data */
    size_t n = msg->data_len;
    iec21__unparen(&op, &n);
    const char *name = level == 1 ? "P1" : "P2";
    int rc = m->ops->password ? m->ops->password(m->ctx, level, (const char *)op, n)
                              : MS_EACCES;
    if (rc == 0) {
        m->access = level;
        emit(m, IEC21_EV_PASSWORD_OK, name);
        send_fixed(m, c->reaction_ms, &ack_byte, true);
        return;
    }
    emit(m, IEC21_EV_PASSWORD_WRONG, name);
    switch (c->refusal) {
    case IEC21_REFUSE_ERROR:
        send_error(m, c->reaction_ms, ms_err_name(MS_EACCES));
        break;
    case IEC21_REFUSE_NAK:
        send_fixed(m, c->reaction_ms, &nak_byte, false);
        break;
    default: /* the break message ends programming mode */
        send_command(m, c->reaction_ms, "B0", NULL);
        to_start(m);
        break;
    }
}

/* An R, W or E command: the provider answers (clause 6.3.7; programming mode,
 * clause 6.4.3). */
static void on_provider_command(iec21_meter_t *m, const iec21_msg_t *msg)
{
    const iec21_meter_cfg_t *c = &m->cfg;
    if (!m->ops->command) {
        send_error(m, c->reaction_ms, ms_err_name(MS_ENOTSUP));
        return;
    }
    /* Room for STX, the provider's block, ETX and BCC after the last message, which
     * stays intact (a NAK reply keeps it for a repeat). Once every action has been
     * taken the last message moves to the front, so a long session does not grow. */
    if (m->qlen == 0) {
        if (m->has_last && !m->last_fixed) {
            memmove(m->tx, m->tx + m->last_off, m->last_len);
            m->last_off = 0;
            m->tx_len = m->last_len;
        } else {
            m->tx_len = 0;
        }
    }
    if (tx_room(m, REPLY_MAX + 3) < 0)
        return;
    size_t off = m->tx_len;
    ms_wr_t out;
    ms_wr_init(&out, m->tx + off + 1, REPLY_MAX);
    iec21_reply_t reply = m->ops->command(m->ctx, m->access, msg, &out);
    switch (reply) {
    case IEC21_REPLY_DATA: {
        if (out.err || iec21__has_framing(out.buf, out.len)) {
            send_error(m, c->reaction_ms, ms_err_name(out.err ? out.err : MS_EINVAL));
            break;
        }
        uint8_t *p = m->tx + off;
        p[0] = IEC21_STX;
        p[1 + out.len] = IEC21_ETX;
        p[2 + out.len] = ms_bcc(p + 1, out.len + 1);
        m->tx_len += out.len + 3;
        corrupt_bcc(m, off, out.len + 3);
        send_tx(m, c->reaction_ms, off, out.len + 3);
        break;
    }
    case IEC21_REPLY_ACK:
        send_fixed(m, c->reaction_ms, &ack_byte, true);
        break;
    case IEC21_REPLY_NAK:
        send_fixed(m, c->reaction_ms, &nak_byte, false);
        break;
    case IEC21_REPLY_BREAK:
        send_command(m, c->reaction_ms, "B0", NULL);
        to_start(m);
        break;
    case IEC21_REPLY_ERROR:
    default: {
        char text[IEC21_ERROR_TEXT_MAX + 1];
        size_t n = out.err ? 0 : out.len;
        if (n > IEC21_ERROR_TEXT_MAX)
            n = IEC21_ERROR_TEXT_MAX;
        memcpy(text, out.buf, n);
        text[n] = 0;
        send_error(m, c->reaction_ms, text); /* falls back to "(ERROR)" if invalid */
        break;
    }
    }
}

static void on_command(iec21_meter_t *m, const iec21_msg_t *msg)
{
    switch (msg->cmd) {
    case 'B': /* B0 (and B1 of battery devices): sign-off, no answer (clause 6.3.7) */
        emit(m, IEC21_EV_BREAK, msg->cmd_type == '1' ? "B1" : "B0");
        to_start(m);
        break;
    case 'P':
        if (msg->cmd_type == '1' || msg->cmd_type == '2')
            on_password(m, msg);
        else
            send_error(m, m->cfg.reaction_ms, ms_err_name(MS_ENOTSUP));
        break;
    default: /* R, W, E */
        on_provider_command(m, msg);
        break;
    }
}

static void handle(iec21_meter_t *m, uint64_t now_ms, int rc, const iec21_msg_t *msg)
{
    if (rc == MS_EBADBCC && m->state == S_PROG) {
        /* Programming mode: a block with a wrong BCC is answered with NAK. */
        emit(m, IEC21_EV_BAD_BCC, msg->type == IEC21_MSG_COMMAND ? "command" : "data");
        send_fixed(m, m->cfg.reaction_ms, &nak_byte, false);
        return;
    }
    if (rc < 0) {
        emit(m, IEC21_EV_FRAME_ERROR, ms_err_name(rc));
        return;
    }
    if (m->state == S_PROG)
        m->last_valid_ms = now_ms;
    switch (msg->type) {
    case IEC21_MSG_REQUEST:
        on_request(m, msg);
        return;
    case IEC21_MSG_NAK:
        on_nak(m);
        return;
    case IEC21_MSG_OPTION_SELECT:
        if (m->state == S_WAIT_OPTION) {
            on_option_select(m, msg);
            return;
        }
        break;
    case IEC21_MSG_COMMAND:
        if (m->state == S_PROG) {
            on_command(m, msg);
            return;
        }
        break;
    default:
        break;
    }
    emit(m, IEC21_EV_FRAME_ERROR, "unexpected");
}

static void mode_d_push(iec21_meter_t *m, uint64_t now_ms)
{
    /* Clause 6.4.4 (mode D): identification and data at 2400 Bd, no request. */
    send_ident(m, 0);
    send_readout(m, 0, !m->cfg.mode_d_framed);
    m->state = S_MODE_D_PUSH;
    m->push_at_ms += m->cfg.mode_d_period_ms;
    if (m->push_at_ms <= now_ms)
        m->push_at_ms = now_ms + m->cfg.mode_d_period_ms;
}

/* ---- configuration ---- */

/* Z of the identification (clause 6.4): a rate of mode B, C or D; in mode A a
 * character that names no rate of modes B and C (6.4.1) and is not "\" (it would read
 * as the "\W" separator). The identification encoder checks the rest (printable, not
 * "/" or "!"). */
static bool z_valid(char mode, char z)
{
    if (mode != 'A')
        return iec21_baud_of_z(mode, z) != 0;
    return z != '\\' && !iec21_baud_of_z('B', z) && !iec21_baud_of_z('C', z);
}

static int check_cfg(iec21_meter_cfg_t *c)
{
    if (!c->mode)
        c->mode = 'C';
    if (!strchr("ABCD", c->mode))
        return MS_EINVAL;
    if (!c->baud_z && c->mode == 'D')
        c->baud_z = '3';
    /* Strings must end within their arrays; then the encoders judge the fields the
     * session sends (clause 6.3.1 address, 6.3.2 identification). */
    if (!memchr(c->mfr, 0, sizeof c->mfr) || !memchr(c->ident, 0, sizeof c->ident) ||
        !memchr(c->address, 0, sizeof c->address) || !z_valid(c->mode, c->baud_z))
        return MS_EINVAL;
    uint8_t scratch[IEC21_IDENT_MAX + IEC21_ADDRESS_MAX + 32]; /* both messages */
    ms_wr_t w;
    ms_wr_init(&w, scratch, sizeof scratch);
    if (iec21_encode_ident(&w, c->mfr, c->baud_z, c->enh_w, c->ident) < 0 ||
        iec21_encode_request(&w, c->address) < 0)
        return MS_EINVAL;
    if ((unsigned)c->unknown_address > IEC21_UNKNOWN_ADDRESS_SILENT ||
        (unsigned)c->refusal > IEC21_REFUSE_NAK)
        return MS_EINVAL;
    /* Defaults (clause 6.3, reaction times). Out-of-range values are kept on purpose. */
    if (!c->reaction_ms) /* 20 ms minimum when the 3rd letter is lowercase */
        c->reaction_ms = (c->mfr[2] >= 'a' && c->mfr[2] <= 'z') ? IEC21_TR_MIN_FAST_MS
                                                                : IEC21_TR_MIN_MS;
    if (!c->reaction_option_ms)
        c->reaction_option_ms = 500;
    if (!c->tt_ms)
        c->tt_ms = 2000;
    if (!c->ta_ms)
        c->ta_ms = IEC21_TA_MAX_MS;
    if (!c->inactivity_ms)
        c->inactivity_ms = IEC21_INACTIVITY_MAX_MS;
    if (!c->mode_d_period_ms)
        c->mode_d_period_ms = 10000;
    if (!c->max_repeats)
        c->max_repeats = 3;
    return 0;
}

/* ---- public API ---- */

static void initial_state(iec21_meter_t *m, uint64_t now_ms)
{
    m->qhead = m->qlen = 0;
    m->tx_pending = false;
    m->has_last = false;
    m->access = IEC21_ACCESS_NONE;
    m->repeats = 0;
    m->tx_end_ms = m->last_rx_ms = m->last_valid_ms = now_ms;
    iec21_decoder_init(&m->dec, m->rx, sizeof m->rx);
    if (m->cfg.mode == 'D') {
        m->state = S_MODE_D;
        m->push_at_ms = now_ms + m->cfg.mode_d_period_ms;
    } else {
        m->state = S_IDLE;
    }
}

iec21_meter_t *iec21_meter_new(const iec21_meter_cfg_t *cfg, const iec21_meter_ops_t *ops,
                               void *ctx, uint64_t now_ms, int *err)
{
    int rc = MS_EINVAL;
    iec21_meter_t *m = NULL;
    if (!cfg || !ops)
        goto fail;
    iec21_meter_cfg_t c = *cfg;
    if ((rc = check_cfg(&c)) < 0)
        goto fail;
    rc = MS_ENOMEM;
    if (!(m = calloc(1, sizeof *m)))
        goto fail;
    m->cfg = c;
    m->ops = ops;
    m->ctx = ctx;
    m->initial_baud = c.mode == 'D' ? IEC21_MODE_D_BAUD : IEC21_INITIAL_BAUD;
    m->baud = m->queued_baud = m->initial_baud;
    initial_state(m, now_ms);
    if (err)
        *err = 0;
    return m;
fail:
    free(m);
    if (err)
        *err = rc;
    return NULL;
}

void iec21_meter_free(iec21_meter_t *m)
{
    if (!m)
        return;
    free(m->tx);
    free(m);
}

void iec21_meter_input(iec21_meter_t *m, uint64_t now_ms, const uint8_t *p, size_t n)
{
    if (!n)
        return;
    if (m->cfg.mode == 'D' || m->state == S_MODE_E) { /* the meter does not listen */
        m->last_rx_ms = now_ms;
        return;
    }
    /* ta: a pause of ta or more inside a message discards it (clause 6.3, ta). */
    if (iec21_decoder_busy(&m->dec) && now_ms >= m->last_rx_ms &&
        now_ms - m->last_rx_ms >= m->cfg.ta_ms) {
        iec21_decoder_reset(&m->dec);
        emit(m, IEC21_EV_TIMEOUT, "ta");
    }
    m->last_rx_ms = now_ms;
    while (n) {
        size_t used = 0;
        iec21_msg_t msg;
        int rc = iec21_decoder_feed(&m->dec, p, n, &used, &msg);
        p += used;
        n -= used;
        if (rc == 0)
            break;
        handle(m, now_ms, rc, &msg);
    }
}

void iec21_meter_tick(iec21_meter_t *m, uint64_t now_ms)
{
    const iec21_meter_cfg_t *c = &m->cfg;
    if (c->mode == 'D') {
        if (m->state == S_MODE_D && !m->tx_pending && now_ms >= m->push_at_ms)
            mode_d_push(m, now_ms);
        return;
    }
    if (m->state == S_MODE_E)
        return;
    if (iec21_decoder_busy(&m->dec) && now_ms >= m->last_rx_ms + c->ta_ms) {
        iec21_decoder_reset(&m->dec);
        emit(m, IEC21_EV_TIMEOUT, "ta");
    }
    if (m->tx_pending)
        return;
    if (m->state == S_WAIT_OPTION && now_ms >= m->tx_end_ms + c->tt_ms) {
        /* No option select within tt: the data readout at 300 Bd (clause 6.4.3). */
        emit(m, IEC21_EV_TIMEOUT, "tt");
        iec21_decoder_set_flags(&m->dec, 0);
        send_readout(m, 0, false);
        m->state = S_READOUT;
    } else if (m->state == S_PROG) {
        uint64_t from = m->last_valid_ms > m->tx_end_ms ? m->last_valid_ms : m->tx_end_ms;
        if (now_ms >= from + c->inactivity_ms) {
            emit(m, IEC21_EV_TIMEOUT, "inactivity");
            to_start(m);
        }
    }
}

void iec21_meter_sent(iec21_meter_t *m, uint64_t now_ms)
{
    m->tx_end_ms = now_ms;
    if (m->qlen)
        return; /* more to send: transitions wait for the end of all of it */
    m->tx_pending = false;
    if (m->state == S_READOUT || m->state == S_CLOSING)
        m->state = S_IDLE;
    else if (m->state == S_MODE_D_PUSH)
        m->state = S_MODE_D;
    if (m->state == S_IDLE || m->state == S_MODE_D)
        free_tx(m); /* nothing left to repeat: idle meters stay small */
}

int iec21_meter_next_action(iec21_meter_t *m, iec21_action_t *a)
{
    if (!m->qlen)
        return 0;
    const qact_t *q = &m->q[m->qhead];
    m->qhead = (m->qhead + 1) % QUEUE_MAX;
    m->qlen--;
    memset(a, 0, sizeof *a);
    a->type = q->type;
    if (q->type == IEC21_ACT_SET_BAUD || q->type == IEC21_ACT_MODE_E) {
        a->baud = q->baud;
        m->baud = q->baud;
    } else {
        a->delay_ms = q->delay_ms;
        a->data = q->fixed ? q->fixed : m->tx + q->off;
        a->len = q->len;
    }
    return 1;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t iec21_meter_deadline(const iec21_meter_t *m)
{
    const iec21_meter_cfg_t *c = &m->cfg;
    uint64_t d = UINT64_MAX;
    if (c->mode == 'D')
        return (m->state == S_MODE_D && !m->tx_pending) ? m->push_at_ms : UINT64_MAX;
    if (m->state == S_MODE_E)
        return UINT64_MAX;
    if (iec21_decoder_busy(&m->dec))
        d = m->last_rx_ms + c->ta_ms;
    if (m->tx_pending)
        return d;
    if (m->state == S_WAIT_OPTION)
        d = min64(d, m->tx_end_ms + c->tt_ms);
    else if (m->state == S_PROG) {
        uint64_t from = m->last_valid_ms > m->tx_end_ms ? m->last_valid_ms : m->tx_end_ms;
        d = min64(d, from + c->inactivity_ms);
    }
    return d;
}

unsigned iec21_meter_baud(const iec21_meter_t *m)
{
    return m->baud;
}

const char *iec21_meter_state_name(const iec21_meter_t *m)
{
    return state_names[m->state];
}

void iec21_meter_reset(iec21_meter_t *m, uint64_t now_ms)
{
    initial_state(m, now_ms);
    m->queued_baud = m->baud;
    free_tx(m);
    set_baud(m, m->initial_baud);
}
