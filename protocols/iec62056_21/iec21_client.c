/*
** iec21_client.c — IEC 62056-21 reader-side ("HHU") session: readout in modes A-D,
** programming mode with P1/P2, R/W/E commands, break.
** SPDX-License-Identifier: MIT
**
** IEC 62056-21:2002 clause 6.4 (modes) and 6.3 (messages, times); field quirks from
** ../shared/PROTOCOL-NOTES.md and ../shared/data/README.md. Choices:
** - An answer block with a wrong BCC is NAKed up to max_naks times; if no good answer
**   follows (a meter does not repeat a readout), the exchange fails with MS_EBADBCC.
** - A NAK from the meter repeats our last message up to max_naks times, except after a
**   password (P1/P2): there the NAK is the meter's refusal.
** - Messages that can only be the echo of our own transmission on a half-duplex head
**   (request, option select, commands other than P0/B0) are ignored, as is a bare ACK
**   while a data block is awaited.
*/
#include "iec21_client.h"

#include <stdlib.h>
#include <string.h>

#include "ms_err.h"

#define QUEUE_MAX    8u
#define PASSWORD_MAX 64u
#define CMD_DATA_MAX 4096u /* longest data part of a command we send */

enum {
    C_IDLE = 0,
    C_WAIT_IDENT,
    C_WAIT_READOUT,
    C_WAIT_P0,
    C_WAIT_PW,
    C_WAIT_CMD,
    C_BREAKING,
    C_DONE,
    C_FAILED,
};

enum { OP_NONE = 0, OP_READOUT, OP_PROGRAM, OP_COMMAND, OP_BREAK };

typedef struct cact {
    iec21_action_type_t type;
    unsigned delay_ms;
    const uint8_t *fixed;
    size_t off, len;
    unsigned baud;
} cact_t;

struct iec21_client {
    iec21_client_cfg_t cfg;
    int state;
    int op;
    unsigned initial_baud;
    unsigned baud;        /* rate of the last SET_BAUD taken */
    unsigned queued_baud; /* rate after every queued action */
    bool in_prog;
    bool tx_pending;
    uint64_t tx_end_ms;
    uint64_t last_rx_ms;
    uint64_t rx_end_ms;    /* end of the last whole message received */
    uint64_t wait_ref_ms;  /* the response time-out counts from here */
    uint64_t msg_start_ms; /* first byte of the message being received */
    bool switch_armed;     /* switch_wait_ms: SET_BAUD at switch_at_ms */
    unsigned switch_baud;
    uint64_t switch_at_ms;
    unsigned naks_block;    /* NAKs we sent for the answer awaited */
    unsigned naks_rx_block; /* NAKs received for our last message */
    bool bad_bcc_seen;
    iec21_client_result_t res;
    uint8_t *res_buf;
    size_t res_cap;
    iec21_decoder_t dec;
    uint8_t *rx;
    uint8_t *tx;
    size_t tx_cap, tx_len;
    bool has_last;
    size_t last_off, last_len;
    cact_t q[QUEUE_MAX];
    unsigned qhead, qlen;
    char password[PASSWORD_MAX + 1];
    int level;
    char cmd; /* command of the exchange under way */
};

static const uint8_t nak_byte = IEC21_NAK;

static bool waiting(const iec21_client_t *c)
{
    return c->state >= C_WAIT_IDENT && c->state <= C_WAIT_CMD;
}

static void push(iec21_client_t *c, const cact_t *a)
{
    if (c->qlen >= QUEUE_MAX)
        return;
    c->q[(c->qhead + c->qlen) % QUEUE_MAX] = *a;
    c->qlen++;
}

static void set_baud(iec21_client_t *c, unsigned baud)
{
    if (!baud || baud == c->queued_baud)
        return;
    cact_t a = { .type = IEC21_ACT_SET_BAUD, .baud = baud };
    push(c, &a);
    c->queued_baud = baud;
}

static int tx_room(iec21_client_t *c, size_t need)
{
    if (c->qlen == 0)
        c->tx_len = 0; /* taken actions were valid until this call */
    return ms_buf_reserve(&c->tx, &c->tx_cap, c->tx_len + need, 64);
}

/* Queue the message just written at tx[off..tx_len) as our next transmission. */
static void send_written(iec21_client_t *c, unsigned delay_ms, size_t off)
{
    cact_t a = {
        .type = IEC21_ACT_SEND, .delay_ms = delay_ms, .off = off, .len = c->tx_len - off
    };
    push(c, &a);
    c->tx_pending = true;
    c->has_last = true;
    c->last_off = off;
    c->last_len = a.len;
    c->naks_rx_block = 0;
}

static int send_request(iec21_client_t *c)
{
    if (tx_room(c, IEC21_ADDRESS_MAX + 8) < 0)
        return MS_ENOMEM;
    ms_wr_t w;
    ms_wr_init(&w, c->tx + c->tx_len, c->tx_cap - c->tx_len);
    int rc = iec21_encode_request(&w, c->cfg.address);
    if (rc < 0)
        return rc;
    size_t off = c->tx_len;
    c->tx_len += w.len;
    send_written(c, 0, off);
    return 0;
}

static int send_command(iec21_client_t *c, char cmd, char type, const char *data)
{
    size_t n = data ? strlen(data) : 0;
    if (tx_room(c, n + 8) < 0)
        return MS_ENOMEM;
    ms_wr_t w;
    ms_wr_init(&w, c->tx + c->tx_len, c->tx_cap - c->tx_len);
    int rc = iec21_encode_command(&w, cmd, type, data, n, false);
    if (rc < 0)
        return rc;
    size_t off = c->tx_len;
    c->tx_len += w.len;
    send_written(c, c->cfg.reaction_ms, off);
    return 0;
}

static void send_option_select(iec21_client_t *c, char z, char y)
{
    if (tx_room(c, 8) < 0)
        return;
    ms_wr_t w;
    ms_wr_init(&w, c->tx + c->tx_len, c->tx_cap - c->tx_len);
    if (iec21_encode_option_select(&w, '0', z, y) < 0)
        return;
    size_t off = c->tx_len;
    c->tx_len += w.len;
    send_written(c, c->cfg.reaction_ms, off);
}

static void send_nak(iec21_client_t *c)
{
    cact_t a = { .type = IEC21_ACT_SEND,
                 .delay_ms = c->cfg.reaction_ms,
                 .fixed = &nak_byte,
                 .len = 1 };
    push(c, &a);
    c->tx_pending = true;
}

static void resend_last(iec21_client_t *c)
{
    cact_t a = { .type = IEC21_ACT_SEND,
                 .delay_ms = c->cfg.reaction_ms,
                 .off = c->last_off,
                 .len = c->last_len };
    push(c, &a);
    c->tx_pending = true;
}

static void set_data(iec21_client_t *c, const uint8_t *p, size_t n)
{
    if (n + 1 > c->res_cap) {
        uint8_t *b = realloc(c->res_buf, n + 1);
        if (!b) {
            n = 0;
        } else {
            c->res_buf = b;
            c->res_cap = n + 1;
        }
    }
    if (c->res_buf) {
        if (n)
            memcpy(c->res_buf, p, n);
        c->res_buf[n] = 0;
    }
    c->res.data = c->res_buf;
    c->res.len = n;
}

/* Error text of an error message "(text)", or the whole block. */
static void set_error_text(iec21_client_t *c, const iec21_msg_t *m)
{
    const uint8_t *p = m->data;
    size_t n = m->data_len;
    iec21__unparen(&p, &n);
    set_data(c, p, n);
}

static void enter_wait(iec21_client_t *c, int state, uint64_t now_ms)
{
    c->state = state;
    c->wait_ref_ms = now_ms;
    c->naks_block = 0;
    c->bad_bcc_seen = false;
}

static void finish(iec21_client_t *c, int err)
{
    c->res.err = err;
    c->switch_armed = false;
    if (!c->in_prog)
        set_baud(c, c->initial_baud);
    iec21_decoder_set_flags(&c->dec, 0);
    iec21_decoder_reset(&c->dec);
    c->res.baud = c->queued_baud;
    if (err)
        c->state = C_FAILED;
    else
        c->state = c->in_prog ? C_IDLE : C_DONE;
}

static void fail_session(iec21_client_t *c, int err)
{
    c->in_prog = false;
    finish(c, err);
}

static void on_ident(iec21_client_t *c, uint64_t now_ms, const iec21_msg_t *m)
{
    const iec21_client_cfg_t *cfg = &c->cfg;
    c->res.has_ident = true;
    c->res.ident = *m;
    c->res.ident.data = NULL;
    c->res.ident_reaction_ms = c->res.reaction_ms;
    char mode = cfg->mode_d ? 'D' : iec21_mode_of_ident(m);
    c->res.mode = mode;
    if (mode == 'D') {
        iec21_decoder_set_flags(&c->dec, IEC21_DEC_UNFRAMED);
        enter_wait(c, C_WAIT_READOUT, now_ms);
        return;
    }
    if (c->op == OP_PROGRAM && (mode == 'A' || mode == 'B')) {
        fail_session(c, MS_EPROTO); /* no programming mode in modes A and B */
        return;
    }
    if (mode == 'A') { /* clause 6.4.1: the data message follows at 300 Bd */
        enter_wait(c, C_WAIT_READOUT, now_ms);
        return;
    }
    if (mode == 'B') { /* clause 6.4.2: the meter switches to Z after the ident */
        set_baud(c, iec21_baud_of_z('B', m->baud_z));
        enter_wait(c, C_WAIT_READOUT, now_ms);
        return;
    }
    /* Modes C and E (clause 6.4.3, 6.4.5): option select, V = '0' (normal protocol). */
    unsigned rate = iec21_baud_of_z('C', m->baud_z);
    char z = m->baud_z;
    if (cfg->no_switch || !rate || rate > cfg->max_baud)
        z = '0';
    char y = c->op == OP_PROGRAM ? '1' : '0';
    send_option_select(c, z, y);
    unsigned to = iec21_baud_of_z('C', z);
    if (to != c->queued_baud) {
        if (cfg->switch_wait_ms) {
            c->switch_baud = to; /* armed once the option select is on the wire */
        } else {
            set_baud(c, to); /* switches after the option select is on the wire */
        }
    }
    /* an echo of our option select must decode whole, not as a bare ACK */
    iec21_decoder_set_flags(&c->dec, IEC21_DEC_OPTION_SELECT);
    enter_wait(c, c->op == OP_PROGRAM ? C_WAIT_P0 : C_WAIT_READOUT, now_ms);
}

static void on_bad_bcc(iec21_client_t *c, uint64_t now_ms)
{
    if (c->state == C_WAIT_IDENT)
        return; /* no block expected: noise */
    c->bad_bcc_seen = true;
    if (c->naks_block >= c->cfg.max_naks) {
        if (c->state == C_WAIT_READOUT || c->state == C_WAIT_P0)
            fail_session(c, MS_EBADBCC);
        else
            finish(c, MS_EBADBCC);
        return;
    }
    c->naks_block++;
    c->res.naks_sent++;
    send_nak(c);
    c->wait_ref_ms = now_ms;
}

static void on_nak(iec21_client_t *c)
{
    c->res.naks_received++;
    if (c->state == C_WAIT_PW) { /* refusal by NAK: still in programming mode */
        c->res.reply = IEC21_REPLY_NAK;
        finish(c, MS_EACCES);
        return;
    }
    if (c->has_last && c->naks_rx_block < c->cfg.max_naks) {
        c->naks_rx_block++;
        resend_last(c);
        return;
    }
    c->res.reply = IEC21_REPLY_NAK;
    if (c->state == C_WAIT_CMD)
        finish(c, 0); /* a NAK answer is data */
    else
        fail_session(c, MS_EPROTO);
}

static void on_break(iec21_client_t *c)
{
    c->res.reply = IEC21_REPLY_BREAK;
    c->in_prog = false;
    if (c->state == C_WAIT_PW)
        finish(c, MS_EACCES);
    else if (c->state == C_WAIT_CMD)
        finish(c, 0);
    else
        finish(c, MS_EPROTO);
}

static void on_data(iec21_client_t *c, const iec21_msg_t *m)
{
    switch (c->state) {
    case C_WAIT_READOUT:
        c->res.reply = IEC21_REPLY_DATA;
        set_data(c, m->data, m->data_len);
        finish(c, 0);
        break;
    case C_WAIT_PW: /* error message: refused, the meter stays in programming mode */
        c->res.reply = IEC21_REPLY_ERROR;
        set_error_text(c, m);
        finish(c, MS_EACCES);
        break;
    case C_WAIT_CMD:
        if (c->cmd == 'R') {
            c->res.reply = IEC21_REPLY_DATA;
            set_data(c, m->data, m->data_len);
        } else {
            c->res.reply = IEC21_REPLY_ERROR;
            set_error_text(c, m);
        }
        finish(c, 0);
        break;
    default: /* an error message instead of the identification or P0 */
        c->res.reply = IEC21_REPLY_ERROR;
        set_error_text(c, m);
        fail_session(c, MS_EPROTO);
        break;
    }
}

static void on_p0(iec21_client_t *c, uint64_t now_ms, const iec21_msg_t *m)
{
    c->in_prog = true;
    set_error_text(c, m); /* the operand without parentheses */
    iec21_decoder_set_flags(&c->dec, 0);
    char data[PASSWORD_MAX + 3];
    data[0] = '(';
    size_t n = strlen(c->password);
    memcpy(data + 1, c->password, n);
    data[1 + n] = ')';
    data[2 + n] = 0;
    if (send_command(c, 'P', (char)('0' + c->level), data) < 0) {
        fail_session(c, MS_ENOMEM);
        return;
    }
    enter_wait(c, C_WAIT_PW, now_ms);
}

static void handle(iec21_client_t *c, uint64_t now_ms, int rc, const iec21_msg_t *m)
{
    if (rc == MS_EBADBCC) {
        on_bad_bcc(c, now_ms);
        return;
    }
    if (rc == MS_ETOOBIG && c->state != C_WAIT_IDENT) {
        /* an answer block longer than max_message: no point in waiting for more */
        if (c->state == C_WAIT_CMD || c->state == C_WAIT_PW)
            finish(c, MS_ETOOBIG);
        else
            fail_session(c, MS_ETOOBIG);
        return;
    }
    if (rc < 0)
        return; /* garbage that looked like a message: keep waiting */
    if (m->type == IEC21_MSG_REQUEST || m->type == IEC21_MSG_OPTION_SELECT)
        return; /* the echo of our own request or option select */
    uint64_t ref = c->tx_end_ms > c->rx_end_ms ? c->tx_end_ms : c->rx_end_ms;
    c->res.reaction_ms = c->msg_start_ms > ref ? (unsigned)(c->msg_start_ms - ref) : 0;
    c->rx_end_ms = now_ms;
    switch (m->type) {
    case IEC21_MSG_IDENT:
        if (c->state == C_WAIT_IDENT || (c->cfg.mode_d && c->state == C_WAIT_READOUT))
            on_ident(c, now_ms, m);
        break;
    case IEC21_MSG_DATA:
        on_data(c, m);
        break;
    case IEC21_MSG_ACK:
        if (c->state == C_WAIT_PW) {
            c->res.reply = IEC21_REPLY_ACK;
            c->res.len = 0;
            finish(c, 0);
        } else if (c->state == C_WAIT_CMD) {
            c->res.reply = IEC21_REPLY_ACK;
            finish(c, 0);
        }
        break;
    case IEC21_MSG_NAK:
        on_nak(c);
        break;
    case IEC21_MSG_COMMAND:
        if (m->cmd == 'B')
            on_break(c);
        else if (m->cmd == 'P' && m->cmd_type == '0' && c->state == C_WAIT_P0)
            on_p0(c, now_ms, m);
        break; /* anything else: the echo of our own command */
    default:
        break;
    }
}

/* ---- public API ---- */

iec21_client_t *iec21_client_new(const iec21_client_cfg_t *cfg, uint64_t now_ms, int *err)
{
    int rc = MS_EINVAL;
    iec21_client_t *c = NULL;
    if (!cfg)
        goto fail;
    iec21_client_cfg_t k = *cfg;
    /* The address must end within its array and make a valid request (clause 6.3.1). */
    uint8_t scratch[IEC21_ADDRESS_MAX + 8];
    ms_wr_t w;
    ms_wr_init(&w, scratch, sizeof scratch);
    if (!memchr(k.address, 0, sizeof k.address) ||
        iec21_encode_request(&w, k.address) < 0)
        goto fail;
    if (!k.max_baud)
        k.max_baud = 19200;
    if (!k.reaction_ms)
        k.reaction_ms = IEC21_TR_MIN_MS;
    if (!k.response_timeout_ms)
        k.response_timeout_ms = k.mode_d ? 30000u : IEC21_TR_MAX_MS + IEC21_TT_MAX_MS;
    if (!k.ta_ms)
        k.ta_ms = IEC21_TA_MAX_MS;
    if (!k.max_naks)
        k.max_naks = 3;
    if (!k.max_message)
        k.max_message = 65536;
    rc = MS_ENOMEM;
    if (!(c = calloc(1, sizeof *c)) || !(c->rx = malloc(k.max_message)))
        goto fail;
    c->cfg = k;
    c->initial_baud = k.mode_d ? IEC21_MODE_D_BAUD : IEC21_INITIAL_BAUD;
    c->baud = c->queued_baud = c->initial_baud;
    c->res.baud = c->initial_baud;
    c->tx_end_ms = c->rx_end_ms = c->last_rx_ms = c->wait_ref_ms = now_ms;
    iec21_decoder_init(&c->dec, c->rx, k.max_message);
    if (err)
        *err = 0;
    return c;
fail:
    if (c)
        free(c->rx);
    free(c);
    if (err)
        *err = rc;
    return NULL;
}

void iec21_client_free(iec21_client_t *c)
{
    if (!c)
        return;
    free(c->rx);
    free(c->tx);
    free(c->res_buf);
    free(c);
}

/* Start an exchange: forget the previous result (the identification is kept for
 * commands in programming mode). */
static void begin(iec21_client_t *c, int op, bool keep_ident)
{
    iec21_msg_t ident = c->res.ident;
    bool has_ident = c->res.has_ident;
    char mode = c->res.mode;
    memset(&c->res, 0, sizeof c->res);
    if (keep_ident) {
        c->res.ident = ident;
        c->res.has_ident = has_ident;
        c->res.mode = mode;
    }
    c->res.baud = c->queued_baud;
    c->op = op;
    c->switch_armed = false;
    c->switch_baud = 0;
    iec21_decoder_reset(&c->dec);
    iec21_decoder_set_flags(&c->dec, 0);
}

int iec21_client_readout(iec21_client_t *c, uint64_t now_ms)
{
    if (waiting(c) || c->state == C_BREAKING)
        return MS_ESTATE;
    begin(c, OP_READOUT, false);
    c->in_prog = false;
    set_baud(c, c->initial_baud);
    enter_wait(c, C_WAIT_IDENT, now_ms);
    if (c->cfg.mode_d)
        return 0; /* mode D: listen only */
    int rc = send_request(c);
    if (rc < 0)
        c->state = C_IDLE;
    return rc;
}

int iec21_client_program(iec21_client_t *c, uint64_t now_ms, const char *password,
                         int level)
{
    if (waiting(c) || c->state == C_BREAKING)
        return MS_ESTATE;
    if (!password || strlen(password) > PASSWORD_MAX ||
        !iec21__operand_ok(password, strlen(password)) || (level != 1 && level != 2) ||
        c->cfg.mode_d)
        return MS_EINVAL;
    begin(c, OP_PROGRAM, false);
    strcpy(c->password, password);
    c->level = level;
    c->in_prog = false;
    set_baud(c, c->initial_baud);
    enter_wait(c, C_WAIT_IDENT, now_ms);
    int rc = send_request(c);
    if (rc < 0)
        c->state = C_IDLE;
    return rc;
}

int iec21_client_command(iec21_client_t *c, uint64_t now_ms, char cmd, char cmd_type,
                         const char *data)
{
    if (waiting(c) || c->state == C_BREAKING || !c->in_prog)
        return MS_ESTATE;
    if (!cmd || !strchr("PWRE", cmd) || cmd_type < '0' || cmd_type > '9')
        return MS_EINVAL;
    if (data) {
        size_t n = strlen(data);
        if (n > CMD_DATA_MAX)
            return MS_EINVAL;
        for (size_t i = 0; i < n; i++)
            if (data[i] < 0x20 || data[i] > 0x7E)
                return MS_EINVAL;
    }
    begin(c, OP_COMMAND, true);
    c->cmd = cmd; /* remembered for classifying the answer */
    int rc = send_command(c, cmd, cmd_type, data);
    if (rc < 0)
        return rc;
    enter_wait(c, C_WAIT_CMD, now_ms);
    return 0;
}

int iec21_client_break(iec21_client_t *c, uint64_t now_ms)
{
    if (waiting(c) || c->state == C_BREAKING)
        return MS_ESTATE;
    begin(c, OP_BREAK, true);
    int rc = send_command(c, 'B', '0', NULL);
    if (rc < 0)
        return rc;
    c->in_prog = false;
    set_baud(c, c->initial_baud);
    c->state = C_BREAKING;
    return 0;
}

void iec21_client_input(iec21_client_t *c, uint64_t now_ms, const uint8_t *p, size_t n)
{
    if (!n)
        return;
    if (!waiting(c)) {
        c->last_rx_ms = now_ms;
        return; /* nothing awaited: late bytes, a mode D push nobody asked for */
    }
    if (iec21_decoder_busy(&c->dec) && now_ms >= c->last_rx_ms &&
        now_ms - c->last_rx_ms >= c->cfg.ta_ms) {
        iec21_decoder_reset(&c->dec); /* ta: the partial answer is void */
    }
    c->last_rx_ms = now_ms;
    size_t i = 0;
    while (i < n && waiting(c)) {
        /* one byte at a time: the first byte of each message times the reaction */
        bool was_busy = iec21_decoder_busy(&c->dec);
        size_t used = 0;
        iec21_msg_t m;
        int rc = iec21_decoder_feed(&c->dec, p + i, 1, &used, &m);
        if (used && !was_busy && (rc != 0 || iec21_decoder_busy(&c->dec)))
            c->msg_start_ms = now_ms;
        i += used;
        if (rc == 0)
            continue;
        handle(c, now_ms, rc, &m);
    }
}

void iec21_client_tick(iec21_client_t *c, uint64_t now_ms)
{
    if (c->switch_armed && now_ms >= c->switch_at_ms) {
        c->switch_armed = false;
        set_baud(c, c->switch_baud);
        c->switch_baud = 0;
    }
    if (!waiting(c))
        return;
    if (iec21_decoder_busy(&c->dec)) {
        if (now_ms < c->last_rx_ms + c->cfg.ta_ms)
            return;
        iec21_decoder_reset(&c->dec);
    }
    if (c->tx_pending || now_ms < c->wait_ref_ms + c->cfg.response_timeout_ms)
        return;
    int err = c->bad_bcc_seen ? MS_EBADBCC : MS_ETIMEDOUT;
    if (c->state == C_WAIT_CMD || c->state == C_WAIT_PW)
        finish(c, err); /* the meter may still be in programming mode */
    else
        fail_session(c, err);
}

void iec21_client_sent(iec21_client_t *c, uint64_t now_ms)
{
    c->tx_end_ms = now_ms;
    if (c->qlen)
        return;
    c->tx_pending = false;
    if (waiting(c))
        c->wait_ref_ms = now_ms;
    if (c->switch_baud && !c->switch_armed && waiting(c)) {
        c->switch_armed = true;
        c->switch_at_ms = now_ms + c->cfg.switch_wait_ms;
    }
    if (c->state == C_BREAKING) {
        c->res.reply = IEC21_REPLY_BREAK;
        finish(c, 0);
    }
}

int iec21_client_next_action(iec21_client_t *c, iec21_action_t *a)
{
    if (!c->qlen)
        return 0;
    const cact_t *q = &c->q[c->qhead];
    c->qhead = (c->qhead + 1) % QUEUE_MAX;
    c->qlen--;
    memset(a, 0, sizeof *a);
    a->type = q->type;
    if (q->type == IEC21_ACT_SET_BAUD) {
        a->baud = q->baud;
        c->baud = q->baud;
    } else {
        a->delay_ms = q->delay_ms;
        a->data = q->fixed ? q->fixed : c->tx + q->off;
        a->len = q->len;
    }
    return 1;
}

uint64_t iec21_client_deadline(const iec21_client_t *c)
{
    uint64_t d = UINT64_MAX;
    if (c->switch_armed)
        d = c->switch_at_ms;
    if (!waiting(c))
        return d;
    uint64_t w;
    if (iec21_decoder_busy(&c->dec))
        w = c->last_rx_ms + c->cfg.ta_ms;
    else if (c->tx_pending)
        w = UINT64_MAX;
    else
        w = c->wait_ref_ms + c->cfg.response_timeout_ms;
    return w < d ? w : d;
}

iec21_client_status_t iec21_client_status(const iec21_client_t *c)
{
    if (waiting(c) || c->state == C_BREAKING)
        return IEC21_CLIENT_BUSY;
    if (c->state == C_DONE)
        return IEC21_CLIENT_DONE;
    if (c->state == C_FAILED)
        return IEC21_CLIENT_FAILED;
    return IEC21_CLIENT_IDLE;
}

const iec21_client_result_t *iec21_client_result(const iec21_client_t *c)
{
    return &c->res;
}

unsigned iec21_client_baud(const iec21_client_t *c)
{
    return c->baud;
}
