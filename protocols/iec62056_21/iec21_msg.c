/*
** iec21_msg.c — IEC 62056-21 message codec: incremental decoder, encoders, baud table,
** mode inference, data sets.
** SPDX-License-Identifier: MIT
**
** IEC 62056-21:2002 clause 6.3 (messages) and 6.4 (modes); facts and their sources in
** ../shared/PROTOCOL-NOTES.md. The BCC is ms_bcc() (protocols/common).
*/
#include "iec21_msg.h"

#include <string.h>

#include "ms_check.h"
#include "ms_err.h"

/* Decoder states. */
enum {
    D_IDLE = 0,
    D_SLASH,    /* "/" seen: request or identification follows */
    D_REQ,      /* "/?" address */
    D_REQ_CR,   /* "!" seen, CR expected */
    D_REQ_LF,   /* CR seen, LF expected */
    D_IDENT,    /* identification line after "/" */
    D_IDENT_LF, /* CR seen, LF expected */
    D_OPT,      /* ACK V Z Y */
    D_OPT_CR,   /* CR expected */
    D_OPT_LF,   /* LF expected */
    D_BLOCK,    /* STX block or command data up to ETX/EOT */
    D_BCC,      /* BCC byte expected */
    D_CMD,      /* after SOH: C, D, then STX or ETX/EOT */
    D_UNF,      /* unframed data (IEC21_DEC_UNFRAMED) */
    D_UNF_END,  /* "!" seen: CR or LF expected */
    D_UNF_END2, /* LF expected */
};

/* d->aux bits: what the block in progress is. */
#define AUX_CMD     0x01u /* command message (buf[0] = C, buf[1] = D, data from buf[2]) */
#define AUX_STX     0x02u /* command with an STX data part */
#define AUX_PARTIAL 0x04u /* block ended with EOT */

/* Result of one step: 0 go on, 1 message complete, <0 error (byte consumed), or
 * STEP_RESTART: error and the byte starts a new message (not consumed). */
#define STEP_RESTART 1000

static bool is_print(uint8_t c)
{
    return c >= 0x20 && c <= 0x7E;
}

static bool is_letter(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Clause 6.3.1: device address characters 0-9, A-Z, a-z and space. */
static bool is_addr_char(uint8_t c)
{
    return is_digit(c) || is_letter(c) || c == ' ';
}

/* Characters that start a message and therefore break off a partial line message. */
static bool is_restart(uint8_t c)
{
    return c == '/' || c == IEC21_SOH || c == IEC21_STX;
}

void iec21_decoder_init(iec21_decoder_t *d, uint8_t *buf, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->buf = buf;
    d->cap = buf ? cap : 0;
}

void iec21_decoder_reset(iec21_decoder_t *d)
{
    d->state = D_IDLE;
    d->len = 0;
    d->aux = 0;
    d->bcc = 0;
}

void iec21_decoder_set_flags(iec21_decoder_t *d, unsigned flags)
{
    d->flags = flags;
}

bool iec21_decoder_busy(const iec21_decoder_t *d)
{
    return d->state != D_IDLE;
}

static int put(iec21_decoder_t *d, uint8_t c)
{
    if (d->len >= d->cap)
        return MS_ETOOBIG;
    d->buf[d->len++] = c;
    return 0;
}

static void clear_msg(iec21_msg_t *m)
{
    memset(m, 0, sizeof *m);
}

/* Parse the identification line held in buf (without "/" and line end). Clause 6.3.2:
 * XXX (3 letters) Z ["\" W] identification (<= 16 printable, no "/" or "!"). */
static int finish_ident(iec21_decoder_t *d, iec21_msg_t *out)
{
    const uint8_t *b = d->buf;
    size_t n = d->len;
    if (n < 4)
        return MS_EFRAME;
    for (int i = 0; i < 3; i++)
        if (!is_letter(b[i]))
            return MS_EFRAME;
    size_t pos = 4;
    char w = 0;
    if (n >= 6 && b[4] == '\\') {
        w = (char)b[5];
        pos = 6;
    }
    if (n - pos > IEC21_IDENT_MAX)
        return MS_ETOOBIG;
    clear_msg(out);
    out->type = IEC21_MSG_IDENT;
    memcpy(out->mfr, b, 3);
    out->baud_z = (char)b[3];
    out->enh_w = w;
    memcpy(out->ident, b + pos, n - pos);
    return 1;
}

static void finish_block(iec21_decoder_t *d, iec21_msg_t *out, uint8_t got)
{
    clear_msg(out);
    out->partial = (d->aux & AUX_PARTIAL) != 0;
    out->bcc = got;
    if (d->aux & AUX_CMD) {
        out->type = IEC21_MSG_COMMAND;
        out->cmd = (char)d->buf[0];
        out->cmd_type = (char)d->buf[1];
        out->has_data = (d->aux & AUX_STX) != 0;
        out->data = d->buf + 2;
        out->data_len = d->len - 2;
    } else {
        out->type = IEC21_MSG_DATA;
        out->data = d->buf;
        out->data_len = d->len;
    }
}

/* One received byte. */
static int step(iec21_decoder_t *d, uint8_t c, iec21_msg_t *out)
{
    int rc;
    switch (d->state) {
    case D_IDLE:
        if (c == '/') {
            d->state = D_SLASH;
            d->len = 0;
        } else if (c == IEC21_STX) {
            d->state = D_BLOCK;
            d->len = 0;
            d->aux = 0;
            d->bcc = 0; /* the BCC starts after the STX (clause 6.3, ISO 1155) */
        } else if (c == IEC21_SOH) {
            d->state = D_CMD;
            d->len = 0;
            d->aux = AUX_CMD;
            d->bcc = 0; /* ... or after the SOH of a command message */
        } else if (c == IEC21_ACK && (d->flags & IEC21_DEC_OPTION_SELECT)) {
            d->state = D_OPT;
            d->len = 0;
        } else if (c == IEC21_ACK || c == IEC21_NAK) {
            clear_msg(out);
            out->type = c == IEC21_ACK ? IEC21_MSG_ACK : IEC21_MSG_NAK;
            return 1;
        } else if ((d->flags & IEC21_DEC_UNFRAMED) && is_print(c)) {
            d->len = 0;
            if ((rc = put(d, c)) < 0)
                return rc;
            d->state = c == '!' ? D_UNF_END : D_UNF;
        } else {
            d->skipped++; /* garbage, NULs of a wake-up, stray CR LF */
        }
        return 0;

    case D_SLASH:
        if (c == '?') {
            d->state = D_REQ;
            return 0;
        }
        if (c == '/') /* "//": the first was noise */
            return 0;
        if (!is_letter(c))
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        d->state = D_IDENT;
        return put(d, c);

    case D_REQ:
        if (c == '!') {
            d->state = D_REQ_CR;
            return 0;
        }
        if (!is_addr_char(c))
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        if (d->len >= IEC21_ADDRESS_MAX)
            return MS_ETOOBIG;
        return put(d, c);

    case D_REQ_CR:
        if (c == IEC21_CR) {
            d->state = D_REQ_LF;
            return 0;
        }
        return is_restart(c) ? STEP_RESTART : MS_EFRAME;

    case D_REQ_LF:
        if (c != IEC21_LF)
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        clear_msg(out);
        out->type = IEC21_MSG_REQUEST;
        memcpy(out->address, d->buf, d->len);
        return 1;

    case D_IDENT:
        if (c == IEC21_CR) {
            d->state = D_IDENT_LF;
            return 0;
        }
        if (c == IEC21_LF) /* bare LF line end (LF LF quirk) */
            return finish_ident(d, out);
        if (!is_print(c) || c == '/' || c == '!')
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        /* 3 letters + Z + "\" W + 16 characters at most */
        if (d->len >= 3 + 1 + 2 + IEC21_IDENT_MAX)
            return MS_ETOOBIG;
        return put(d, c);

    case D_IDENT_LF:
        if (c != IEC21_LF)
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        return finish_ident(d, out);

    case D_OPT:
        if (!is_print(c))
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        if ((rc = put(d, c)) < 0)
            return rc;
        if (d->len == 3)
            d->state = D_OPT_CR;
        return 0;

    case D_OPT_CR:
        if (c == IEC21_CR) {
            d->state = D_OPT_LF;
            return 0;
        }
        return is_restart(c) ? STEP_RESTART : MS_EFRAME;

    case D_OPT_LF:
        if (c != IEC21_LF)
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        clear_msg(out);
        out->type = IEC21_MSG_OPTION_SELECT;
        out->opt_v = (char)d->buf[0];
        out->opt_z = (char)d->buf[1];
        out->opt_y = (char)d->buf[2];
        return 1;

    case D_CMD:
        if (d->len == 0) { /* command message identifier C (clause 6.3.7) */
            if (!strchr("PWREB", c) || c == 0)
                return is_restart(c) ? STEP_RESTART : MS_EFRAME;
            d->bcc ^= c;
            return put(d, c);
        }
        if (d->len == 1) { /* command type identifier D */
            if (!is_digit(c))
                return is_restart(c) ? STEP_RESTART : MS_EFRAME;
            d->bcc ^= c;
            return put(d, c);
        }
        d->bcc ^= c;
        if (c == IEC21_STX) {
            d->aux |= AUX_STX;
            d->state = D_BLOCK;
            return 0;
        }
        if (c == IEC21_ETX || c == IEC21_EOT) {
            if (c == IEC21_EOT)
                d->aux |= AUX_PARTIAL;
            d->state = D_BCC;
            return 0;
        }
        return c == IEC21_SOH ? STEP_RESTART : MS_EFRAME;

    case D_BLOCK:
        if (c == IEC21_ETX || c == IEC21_EOT) {
            d->bcc ^= c;
            if (c == IEC21_EOT)
                d->aux |= AUX_PARTIAL;
            d->state = D_BCC;
            return 0;
        }
        if (c == IEC21_STX || c == IEC21_SOH) /* a new block: this one broke off */
            return STEP_RESTART;
        d->bcc ^= c;
        return put(d, c);

    case D_BCC:
        finish_block(d, out, c);
        return c == d->bcc ? 1 : MS_EBADBCC;

    case D_UNF:
        if (c == '!') {
            d->state = D_UNF_END;
            return put(d, c);
        }
        if (is_restart(c))
            return STEP_RESTART;
        if (!is_print(c) && c != IEC21_CR && c != IEC21_LF)
            return MS_EFRAME;
        return put(d, c);

    case D_UNF_END:
        if (c != IEC21_CR && c != IEC21_LF)
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        d->state = D_UNF_END2;
        return put(d, c);

    case D_UNF_END2:
        if (c != IEC21_LF)
            return is_restart(c) ? STEP_RESTART : MS_EFRAME;
        if ((rc = put(d, c)) < 0)
            return rc;
        clear_msg(out);
        out->type = IEC21_MSG_DATA;
        out->unframed = true;
        out->data = d->buf;
        out->data_len = d->len;
        return 1;
    }
    return MS_EFRAME; /* unreachable: unknown state */
}

int iec21_decoder_feed(iec21_decoder_t *d, const uint8_t *in, size_t len, size_t *used,
                       iec21_msg_t *out)
{
    for (size_t i = 0; i < len; i++) {
        int rc = step(d, in[i], out);
        if (rc == 0)
            continue;
        if (rc == STEP_RESTART) {
            *used = i; /* the start character begins the next message */
            iec21_decoder_reset(d);
            clear_msg(out);
            return MS_EFRAME;
        }
        if (rc < 0 && rc != MS_EBADBCC)
            clear_msg(out);
        /* Complete or failed: ready for the next message. The buffer keeps the
         * message bytes (out->data) until the next feed. */
        *used = i + 1;
        d->state = D_IDLE;
        d->aux = 0;
        d->bcc = 0;
        return rc;
    }
    *used = len;
    return 0;
}

/* ---- encoders ---- */

/* Finish an encoder: on failure roll the writer back so no partial message remains. */
static int done(ms_wr_t *w, size_t start, int rc)
{
    if (rc == 0 && w->err)
        rc = w->err;
    if (rc < 0 && rc != MS_EINVAL)
        w->len = start;
    return rc;
}

int iec21_encode_request(ms_wr_t *w, const char *address)
{
    size_t start = w->len;
    if (!address)
        address = "";
    size_t n = strlen(address);
    if (n > IEC21_ADDRESS_MAX)
        return MS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_addr_char((uint8_t)address[i]))
            return MS_EINVAL;
    ms_wr_str(w, "/?");
    ms_wr_bytes(w, address, n);
    ms_wr_str(w, "!\r\n");
    return done(w, start, 0);
}

static bool ident_char(char c)
{
    return is_print((uint8_t)c) && c != '/' && c != '!';
}

int iec21_encode_ident(ms_wr_t *w, const char *mfr, char baud_z, char enh_w,
                       const char *ident)
{
    size_t start = w->len;
    if (!mfr || strlen(mfr) != 3 || !ident)
        return MS_EINVAL;
    for (int i = 0; i < 3; i++)
        if (!is_letter((uint8_t)mfr[i]))
            return MS_EINVAL;
    if (!ident_char(baud_z) || (enh_w && !ident_char(enh_w)))
        return MS_EINVAL;
    size_t n = strlen(ident);
    if (n > IEC21_IDENT_MAX)
        return MS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!ident_char(ident[i]))
            return MS_EINVAL;
    /* Without W an identification starting with "\" would read as one with W. */
    if (!enh_w && n >= 1 && ident[0] == '\\')
        return MS_EINVAL;
    ms_wr_u8(w, '/');
    ms_wr_bytes(w, mfr, 3);
    ms_wr_u8(w, (uint8_t)baud_z);
    if (enh_w) {
        ms_wr_u8(w, '\\');
        ms_wr_u8(w, (uint8_t)enh_w);
    }
    ms_wr_bytes(w, ident, n);
    ms_wr_str(w, "\r\n");
    return done(w, start, 0);
}

int iec21_encode_option_select(ms_wr_t *w, char v, char z, char y)
{
    size_t start = w->len;
    if (!is_print((uint8_t)v) || !is_print((uint8_t)z) || !is_print((uint8_t)y))
        return MS_EINVAL;
    ms_wr_u8(w, IEC21_ACK);
    ms_wr_u8(w, (uint8_t)v);
    ms_wr_u8(w, (uint8_t)z);
    ms_wr_u8(w, (uint8_t)y);
    ms_wr_str(w, "\r\n");
    return done(w, start, 0);
}

bool iec21__has_framing(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == IEC21_SOH || p[i] == IEC21_STX || p[i] == IEC21_ETX ||
            p[i] == IEC21_EOT)
            return true;
    return false;
}

void iec21__unparen(const uint8_t **p, size_t *n)
{
    if (*n >= 2 && (*p)[0] == '(' && (*p)[*n - 1] == ')') {
        (*p)++;
        *n -= 2;
    }
}

bool iec21__operand_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_print((uint8_t)s[i]) || s[i] == '(' || s[i] == ')')
            return false;
    return true;
}

/* Append ETX|EOT and the BCC over w->buf[first..] (first = the byte after SOH/STX). */
static void end_block(ms_wr_t *w, size_t first, bool partial)
{
    ms_wr_u8(w, partial ? IEC21_EOT : IEC21_ETX);
    if (w->err)
        return;
    ms_wr_u8(w, ms_bcc(w->buf + first, w->len - first));
}

int iec21_encode_data(ms_wr_t *w, const void *data, size_t len, bool partial)
{
    size_t start = w->len;
    if ((len && !data) || iec21__has_framing(data, len))
        return MS_EINVAL;
    ms_wr_u8(w, IEC21_STX);
    ms_wr_bytes(w, data, len);
    end_block(w, start + 1, partial);
    return done(w, start, 0);
}

int iec21_encode_error(ms_wr_t *w, const char *text)
{
    size_t start = w->len;
    if (!text)
        return MS_EINVAL;
    size_t n = strlen(text);
    if (n > IEC21_ERROR_TEXT_MAX)
        return MS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_print((uint8_t)text[i]) || strchr("()*/!", text[i]))
            return MS_EINVAL;
    ms_wr_u8(w, IEC21_STX);
    ms_wr_u8(w, '(');
    ms_wr_bytes(w, text, n);
    ms_wr_u8(w, ')');
    end_block(w, start + 1, false);
    return done(w, start, 0);
}

int iec21_encode_command(ms_wr_t *w, char cmd, char cmd_type, const void *data,
                         size_t len, bool partial)
{
    size_t start = w->len;
    if (!cmd || !strchr("PWREB", cmd) || !is_digit((uint8_t)cmd_type))
        return MS_EINVAL;
    if (data && iec21__has_framing(data, len))
        return MS_EINVAL;
    ms_wr_u8(w, IEC21_SOH);
    ms_wr_u8(w, (uint8_t)cmd);
    ms_wr_u8(w, (uint8_t)cmd_type);
    if (data) {
        ms_wr_u8(w, IEC21_STX);
        ms_wr_bytes(w, data, len);
    }
    end_block(w, start + 1, partial);
    return done(w, start, 0);
}

int iec21_encode_ack(ms_wr_t *w)
{
    return ms_wr_u8(w, IEC21_ACK);
}

int iec21_encode_nak(ms_wr_t *w)
{
    return ms_wr_u8(w, IEC21_NAK);
}

/* ---- baud rates and modes (clause 6.4) ---- */

static const unsigned baud_b[] = { 600, 1200, 2400, 4800, 9600, 19200 };      /* A..F */
static const unsigned baud_c[] = { 300, 600, 1200, 2400, 4800, 9600, 19200 }; /* 0..6 */

unsigned iec21_baud_of_z(char mode, char z)
{
    switch (mode) {
    case 'B':
        return z >= 'A' && z <= 'F' ? baud_b[z - 'A'] : 0;
    case 'C':
    case 'E':
        return z >= '0' && z <= '6' ? baud_c[z - '0'] : 0;
    case 'D':
        return z == '3' ? 2400u : 0;
    default:
        return 0;
    }
}

char iec21_z_of_baud(char mode, unsigned baud)
{
    for (char z = '0'; z <= 'F'; z++) {
        if (z == ':')
            z = 'A';
        if (iec21_baud_of_z(mode, z) == baud && baud)
            return z;
    }
    return 0;
}

char iec21_mode_of_ident(const iec21_msg_t *ident)
{
    char z = ident->baud_z;
    if (z >= 'A' && z <= 'F')
        return 'B';
    if (z >= '0' && z <= '6')
        return ident->enh_w == '2' ? 'E' : 'C';
    return 'A';
}

/* ---- data sets (clause 6.3.x, data set structure) ---- */

int iec21_dataset_next(ms_rd_t *r, iec21_dataset_t *ds)
{
    const char *b = (const char *)r->buf;
    size_t p = r->pos;
    while (p < r->len && (b[p] == IEC21_CR || b[p] == IEC21_LF))
        p++;
    r->pos = p;
    if (p >= r->len || b[p] == '!')
        return 0;

    memset(ds, 0, sizeof *ds);
    ds->address = b + p;
    while (p < r->len && b[p] != '(') {
        if (!is_print((uint8_t)b[p]) || strchr(")/!", b[p])) {
            r->pos = p;
            return MS_EPARSE;
        }
        p++;
    }
    if (p >= r->len) {
        r->pos = p;
        return MS_EPARSE;
    }
    ds->address_len = (size_t)(b + p - ds->address);
    p++; /* "(" */
    ds->value = b + p;
    while (p < r->len && b[p] != ')' && b[p] != '*') {
        if (!is_print((uint8_t)b[p]) || strchr("(/!", b[p])) {
            r->pos = p;
            return MS_EPARSE;
        }
        p++;
    }
    ds->value_len = (size_t)(b + p - ds->value);
    if (p < r->len && b[p] == '*') {
        p++;
        ds->unit = b + p;
        while (p < r->len && b[p] != ')') {
            if (!is_print((uint8_t)b[p]) || strchr("(/!", b[p])) {
                r->pos = p;
                return MS_EPARSE;
            }
            p++;
        }
        ds->unit_len = (size_t)(b + p - ds->unit);
    }
    if (p >= r->len) {
        r->pos = p;
        return MS_EPARSE;
    }
    r->pos = p + 1; /* ")" */
    return 1;
}

static bool field_ok(const char *s, const char *excluded)
{
    for (; s && *s; s++)
        if (!is_print((uint8_t)*s) || strchr(excluded, *s))
            return false;
    return true;
}

int iec21_encode_dataset(ms_wr_t *w, const char *address, const char *value,
                         const char *unit)
{
    size_t start = w->len;
    if (!value)
        value = "";
    if (!field_ok(address, "()/!") || !field_ok(value, "()*/!") ||
        !field_ok(unit, "()/!"))
        return MS_EINVAL;
    if (address)
        ms_wr_str(w, address);
    ms_wr_u8(w, '(');
    ms_wr_str(w, value);
    if (unit && *unit) {
        ms_wr_u8(w, '*');
        ms_wr_str(w, unit);
    }
    ms_wr_u8(w, ')');
    return done(w, start, 0);
}
