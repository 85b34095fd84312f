/*
** hdlc_frame.c — IEC 62056-46 HDLC frame codec (frame format type 3).
** SPDX-License-Identifier: MIT
**
** IEC 62056-46:2002+A1:2006 6.4 (frame format, address, control, HCS/FCS, commands and
** responses, parameter negotiation); ISO/IEC 13239 for the FRMR field. Clause numbers:
** see hdlc_frame.h. Choices where the text leaves room:
** - The decoder never unstuffs: 62056-46 delimits frames by the length field, and 0x7E
**   or 0x7D inside a frame are data (PROTOCOL-NOTES trap 1).
** - Checks in the order the bytes arrive: length (too short), addresses (at most 4
**   bytes each), HCS as soon as the header is in, then FCS and the closing flag at the
**   end. An address of 3 bytes is reported after the HCS, so a frame whose HCS was
**   computed over a different header split fails its HCS (EPRI BAD_AARQ_TEST_PACKET).
** - After an error that leaves the length field untrusted (bad HCS, too short, bad FCS
**   on a frame without HCS) the bytes after the opening flag are searched for the next
**   flag and decoded again, so a frame cut short does not take the next one with it.
*/
#include "hdlc_frame.h"

#include <string.h>

#include "ms_check.h"
#include "ms_err.h"

/* ---- addresses (6.4.2) ---- */

int hdlc_addr_server(hdlc_addr_t *a, unsigned upper, unsigned lower, unsigned size)
{
    unsigned lim;
    switch (size) {
    case 1:
        lim = 0x7Fu;
        lower = 0;
        break;
    case 2:
        lim = 0x7Fu;
        break;
    case 4:
        lim = 0x3FFFu;
        break;
    default:
        return MS_EINVAL;
    }
    if (upper > lim || lower > lim)
        return MS_ERANGE;
    a->upper = (uint16_t)upper;
    a->lower = (uint16_t)lower;
    a->size = (uint8_t)size;
    return 0;
}

int hdlc_addr_client(hdlc_addr_t *a, unsigned addr)
{
    if (addr > 0x7Fu)
        return MS_ERANGE;
    a->upper = (uint16_t)addr;
    a->lower = 0;
    a->size = 1;
    return 0;
}

bool hdlc_addr_valid(const hdlc_addr_t *a)
{
    switch (a->size) {
    case 1:
        return a->upper <= 0x7Fu && a->lower == 0;
    case 2:
        return a->upper <= 0x7Fu && a->lower <= 0x7Fu;
    case 4:
        return a->upper <= 0x3FFFu && a->lower <= 0x3FFFu;
    default:
        return false;
    }
}

bool hdlc_addr_equal(const hdlc_addr_t *a, const hdlc_addr_t *b)
{
    return a->size == b->size && a->upper == b->upper && a->lower == b->lower;
}

int hdlc_addr_put(ms_wr_t *w, const hdlc_addr_t *a)
{
    if (!hdlc_addr_valid(a))
        return MS_EINVAL;
    uint8_t b[4];
    switch (a->size) {
    case 1:
        b[0] = (uint8_t)(a->upper << 1);
        break;
    case 2:
        b[0] = (uint8_t)(a->upper << 1);
        b[1] = (uint8_t)(a->lower << 1);
        break;
    default: /* 4: each 14-bit half in two 7-bit groups, most significant first */
        b[0] = (uint8_t)((a->upper >> 7) << 1);
        b[1] = (uint8_t)((a->upper & 0x7Fu) << 1);
        b[2] = (uint8_t)((a->lower >> 7) << 1);
        b[3] = (uint8_t)((a->lower & 0x7Fu) << 1);
        break;
    }
    b[a->size - 1] |= 1u; /* extension bit: this byte ends the address */
    return ms_wr_bytes(w, b, a->size);
}

/* Length of the address field starting at p (n bytes available): 1..4, 0 when it does
 * not end within the n bytes, -1 when it does not end within 4 bytes. */
static int addr_len(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < 4; i++) {
        if (i >= n)
            return 0;
        if (p[i] & 1u)
            return (int)i + 1;
    }
    return -1;
}

static void addr_split(const uint8_t *p, int n, hdlc_addr_t *a)
{
    a->size = (uint8_t)n;
    switch (n) {
    case 1:
        a->upper = p[0] >> 1;
        a->lower = 0;
        break;
    case 2:
        a->upper = p[0] >> 1;
        a->lower = p[1] >> 1;
        break;
    case 4:
        a->upper = (uint16_t)(((p[0] >> 1) << 7) | (p[1] >> 1));
        a->lower = (uint16_t)(((p[2] >> 1) << 7) | (p[3] >> 1));
        break;
    default: /* 3: not a 62056-46 size; keep the whole value in upper */
        a->upper = (uint16_t)(((p[0] >> 1) << 14) | ((p[1] >> 1) << 7) | (p[2] >> 1));
        a->lower = 0;
        break;
    }
}

int hdlc_addr_get(ms_rd_t *r, hdlc_addr_t *a)
{
    int n = addr_len(r->buf + r->pos, ms_rd_left(r));
    if (n < 0)
        return MS_EFRAME;
    if (n == 0) {
        r->err = MS_ETRUNC;
        return MS_ETRUNC;
    }
    addr_split(ms_rd_bytes(r, (size_t)n), n, a);
    return 0;
}

/* ---- control field (6.4.3) ---- */

int hdlc_control(hdlc_type_t type, unsigned ns, unsigned nr, bool pf)
{
    unsigned p = pf ? HDLC_CTRL_PF : 0u;
    ns &= 7u;
    nr &= 7u;
    switch (type) {
    case HDLC_I:
        return (int)(nr << 5 | p | ns << 1);
    case HDLC_RR:
        return (int)(nr << 5 | p | HDLC_CTRL_RR);
    case HDLC_RNR:
        return (int)(nr << 5 | p | HDLC_CTRL_RNR);
    case HDLC_SNRM:
        return (int)(HDLC_CTRL_SNRM | p);
    case HDLC_DISC:
        return (int)(HDLC_CTRL_DISC | p);
    case HDLC_UA:
        return (int)(HDLC_CTRL_UA | p);
    case HDLC_DM:
        return (int)(HDLC_CTRL_DM | p);
    case HDLC_FRMR:
        return (int)(HDLC_CTRL_FRMR | p);
    case HDLC_UI:
        return (int)(HDLC_CTRL_UI | p);
    default:
        return -1;
    }
}

hdlc_type_t hdlc_control_parse(uint8_t c, uint8_t *ns, uint8_t *nr, bool *pf)
{
    uint8_t s = 0, r = 0;
    hdlc_type_t t;
    if ((c & 1u) == 0) {
        t = HDLC_I;
        s = (c >> 1) & 7u;
        r = c >> 5;
    } else if ((c & 3u) == 1u) {
        r = c >> 5;
        switch (c & 0x0Fu) {
        case HDLC_CTRL_RR:
            t = HDLC_RR;
            break;
        case HDLC_CTRL_RNR:
            t = HDLC_RNR;
            break;
        default: /* REJ 1001, SREJ 1101: not used by 62056-46 */
            t = HDLC_UNKNOWN;
            break;
        }
    } else {
        switch (c & (uint8_t)~HDLC_CTRL_PF) {
        case HDLC_CTRL_SNRM:
            t = HDLC_SNRM;
            break;
        case HDLC_CTRL_DISC:
            t = HDLC_DISC;
            break;
        case HDLC_CTRL_UA:
            t = HDLC_UA;
            break;
        case HDLC_CTRL_DM:
            t = HDLC_DM;
            break;
        case HDLC_CTRL_FRMR:
            t = HDLC_FRMR;
            break;
        case HDLC_CTRL_UI:
            t = HDLC_UI;
            break;
        default:
            t = HDLC_UNKNOWN;
            break;
        }
    }
    if (ns)
        *ns = s;
    if (nr)
        *nr = r;
    if (pf)
        *pf = (c & HDLC_CTRL_PF) != 0;
    return t;
}

const char *hdlc_type_name(hdlc_type_t type)
{
    static const char *const names[] = {
        "none", "I", "RR", "RNR", "SNRM", "DISC", "UA", "DM", "FRMR", "UI", "unknown",
    };
    if ((unsigned)type >= sizeof names / sizeof names[0])
        return "unknown";
    return names[type];
}

/* ---- encoder ---- */

int hdlc_frame_encode(const hdlc_frame_t *f, uint8_t *dst, size_t cap)
{
    int control;
    if (f->type == HDLC_UNKNOWN)
        control = f->control;
    else if (f->ns > 7u || f->nr > 7u)
        return MS_EINVAL;
    else
        control = hdlc_control(f->type, f->ns, f->nr, f->pf);
    if (control < 0 || !hdlc_addr_valid(&f->dst) || !hdlc_addr_valid(&f->src))
        return MS_EINVAL;
    if (f->info_len && !f->info)
        return MS_EINVAL;
    size_t hdr = 2u + f->dst.size + f->src.size + 1u;
    size_t length = hdr + (f->info_len ? 2u + f->info_len : 0u) + 2u;
    if (length > HDLC_FORMAT_LENGTH_MAX)
        return MS_ETOOBIG;
    if (cap < length + 2u)
        return MS_ENOSPC;

    ms_wr_t w;
    ms_wr_init(&w, dst, cap);
    ms_wr_u8(&w, HDLC_FLAG);
    uint16_t format = (uint16_t)(HDLC_FORMAT_TYPE3 |
                                 (f->segmented ? HDLC_FORMAT_SEGMENTED : 0u) | length);
    ms_wr_u16be(&w, format);
    hdlc_addr_put(&w, &f->dst);
    hdlc_addr_put(&w, &f->src);
    ms_wr_u8(&w, (uint8_t)control);
    if (f->info_len) {
        /* HCS over format, addresses and control, least significant byte first */
        ms_wr_u16le(&w, ms_crc16_x25(dst + 1, hdr));
        ms_wr_bytes(&w, f->info, f->info_len);
    }
    ms_wr_u16le(&w, ms_crc16_x25(dst + 1, length - 2u));
    ms_wr_u8(&w, HDLC_FLAG);
    if (w.err)
        return w.err;
    return (int)w.len;
}

/* ---- shared checks ---- */

/* Length of format + addresses + control in b[0..n): 0 = not yet known, -1 = an
 * address does not end within 4 bytes. */
static int header_len(const uint8_t *b, size_t n)
{
    if (n < 3)
        return 0;
    int da = addr_len(b + 2, n - 2);
    if (da <= 0)
        return da;
    int sa = addr_len(b + 2 + da, n - 2 - (size_t)da);
    if (sa <= 0)
        return sa;
    size_t hl = 2u + (size_t)da + (size_t)sa + 1u;
    return n >= hl ? (int)hl : 0;
}

/* An information field (and so an HCS) needs at least one byte after the HCS. */
static bool has_hcs(size_t length, size_t hdr_len)
{
    return length >= hdr_len + 2u + 2u + 1u;
}

/* Fill f from a header in b (format, addresses, control; hdr_len bytes, checked). */
static void fill_header(const uint8_t *b, size_t hdr_len, hdlc_frame_t *f)
{
    memset(f, 0, sizeof *f);
    f->length = (uint16_t)(((b[0] & 0x07u) << 8) | b[1]);
    f->segmented = (b[0] & (HDLC_FORMAT_SEGMENTED >> 8)) != 0;
    int da = addr_len(b + 2, hdr_len - 3);
    addr_split(b + 2, da, &f->dst);
    addr_split(b + 2 + da, (int)(hdr_len - 3u - (size_t)da), &f->src);
    f->control = b[hdr_len - 1];
    f->type = hdlc_control_parse(f->control, &f->ns, &f->nr, &f->pf);
}

/* Checks after the FCS matched: address sizes, the bytes between header and FCS. */
static int final_checks(const hdlc_frame_t *f, size_t length, size_t hdr_len)
{
    if (!hdlc_addr_valid(&f->dst) || !hdlc_addr_valid(&f->src))
        return MS_EFRAME;
    if (!has_hcs(length, hdr_len) && length != hdr_len + 2u)
        return MS_EFRAME; /* 1 or 2 bytes: neither empty nor room for HCS + info */
    return 0;
}

/* An HCS or FCS as sent: least significant byte first. */
static uint16_t get_le16(const uint8_t *p)
{
    ms_rd_t r;
    ms_rd_init(&r, p, 2);
    return ms_rd_u16le(&r);
}

int hdlc_frame_decode(const uint8_t *in, size_t len, hdlc_frame_t *f)
{
    memset(f, 0, sizeof *f);
    if (len < 2)
        return MS_ETRUNC;
    if (((in[0] << 8) & HDLC_FORMAT_TYPE_MASK) != HDLC_FORMAT_TYPE3)
        return MS_EFRAME;
    size_t length = (size_t)(((in[0] & 0x07u) << 8) | in[1]);
    if (length < HDLC_FRAME_LENGTH_MIN)
        return MS_ETRUNC;
    if (length != len)
        return MS_EFRAME;
    int hl = header_len(in, len);
    if (hl < 0)
        return MS_EFRAME;
    if (hl == 0 || (size_t)hl + 2u > length)
        return MS_ETRUNC;
    size_t hdr = (size_t)hl;
    if (has_hcs(length, hdr) && ms_crc16_x25(in, hdr) != get_le16(in + hdr))
        return MS_EBADHCS;
    if (ms_crc16_x25(in, length - 2u) != get_le16(in + length - 2u))
        return MS_EBADFCS;
    hdlc_frame_t t;
    fill_header(in, hdr, &t);
    int rc = final_checks(&t, length, hdr);
    if (rc < 0)
        return rc;
    if (has_hcs(length, hdr)) {
        t.info = in + hdr + 2u;
        t.info_len = length - hdr - 4u;
    }
    *f = t;
    return 0;
}

/* ---- incremental decoder ---- */

enum {
    D_HUNT = 0, /* looking for a flag */
    D_OPEN,     /* after a flag: more flags or the format field */
    D_BODY,     /* inside a frame: length bytes in all */
    D_CLOSE,    /* frame complete: the closing flag must follow */
};

/* Smallest buffer that holds the longest header (2 + 4 + 4 + 1) and an HCS. */
#define DEC_MIN_CAP 16u

void hdlc_decoder_init(hdlc_decoder_t *d, uint8_t *buf, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->buf = buf;
    d->cap = cap;
    d->state = D_HUNT;
}

void hdlc_decoder_set_max_info(hdlc_decoder_t *d, size_t max_info)
{
    d->max_info = max_info;
}

static void start_over(hdlc_decoder_t *d, int state)
{
    d->state = state;
    d->len = 0;
    d->length = 0;
    d->hdr_len = 0;
    d->hcs_ok = false;
    d->too_long = false;
}

void hdlc_decoder_reset(hdlc_decoder_t *d)
{
    start_over(d, D_HUNT);
    d->replay = 0;
    d->replay_off = 0;
}

bool hdlc_decoder_busy(const hdlc_decoder_t *d)
{
    return d->state == D_BODY || d->state == D_CLOSE;
}

static size_t stored(const hdlc_decoder_t *d)
{
    return d->len < d->cap ? d->len : d->cap;
}

/* The frame in progress failed and its length is not to be trusted: decode the bytes
 * after its opening flag again, from the next flag among them, followed by `extra`
 * (the byte that ended the frame: its would-be closing flag, or what came instead;
 * -1 for none). Bytes still waiting from an earlier resynchronisation stay behind them.
 * Writing the new frame from buf[0] never overtakes reading: each byte taken from
 * buf[replay_off] stores at most one byte below it. */
static void resync(hdlc_decoder_t *d, int extra)
{
    size_t n = stored(d);
    /* `extra` was taken from below replay_off (or from new input): buf[n] is free */
    if (extra >= 0 && n < d->cap && (!d->replay || n < d->replay_off))
        d->buf[n++] = (uint8_t)extra;
    size_t i = 1;
    while (i < n && d->buf[i] != HDLC_FLAG)
        i++;
    if (i >= n) {
        d->skipped += n;
        start_over(d, D_HUNT);
        return;
    }
    d->skipped += i;
    size_t again = n - (i + 1);
    if (d->replay && d->replay_off != n)
        memmove(d->buf + n, d->buf + d->replay_off, d->replay);
    d->replay_off = i + 1;
    d->replay += again;
    start_over(d, D_OPEN);
}

#define RESYNC (-1) /* fail(): resynchronise instead of going to a state */

/* Report an error; the decoder goes on in `state`, or resynchronises (RESYNC) with
 * `extra` as in resync(). */
static int fail(hdlc_decoder_t *d, int err, int state, int extra, hdlc_frame_t *out)
{
    memset(out, 0, sizeof *out);
    d->errors++;
    if (state == RESYNC) {
        resync(d, extra);
    } else {
        d->skipped += stored(d);
        start_over(d, state);
    }
    return err;
}

/* The closing flag arrived: check the whole frame. That flag may open the next one. */
static int finish(hdlc_decoder_t *d, hdlc_frame_t *out)
{
    size_t length = d->length, hdr = d->hdr_len;
    if (ms_crc16_x25_final(d->crc) != get_le16(d->tail))
        return fail(d, MS_EBADFCS, d->hcs_ok ? D_OPEN : RESYNC, HDLC_FLAG, out);
    hdlc_frame_t f;
    fill_header(d->buf, hdr, &f);
    int rc = final_checks(&f, length, hdr);
    if (rc < 0)
        return fail(d, rc, D_OPEN, -1, out);
    if (has_hcs(length, hdr))
        f.info_len = length - hdr - 4u;
    if (d->too_long) {
        *out = f; /* header only: the caller answers FRMR (Y) */
        d->errors++;
        start_over(d, D_OPEN);
        return MS_ETOOBIG;
    }
    if (f.info_len)
        f.info = d->buf + hdr + 2u;
    *out = f;
    d->frames++;
    start_over(d, D_OPEN);
    return 1;
}

/* One byte. @return 0 (go on), 1 (frame in *out) or a negative ms_err. */
static int step(hdlc_decoder_t *d, uint8_t b, hdlc_frame_t *out)
{
    switch (d->state) {
    case D_HUNT:
        if (b == HDLC_FLAG)
            d->state = D_OPEN;
        else
            d->skipped++;
        return 0;
    case D_OPEN:
        if (b == HDLC_FLAG)
            return 0; /* idle flags, or the closing flag shared as opening flag */
        if (((unsigned)b << 8 & HDLC_FORMAT_TYPE_MASK) != HDLC_FORMAT_TYPE3) {
            d->skipped++;
            return fail(d, MS_EFRAME, D_HUNT, -1, out);
        }
        start_over(d, D_BODY);
        d->crc = MS_CRC16_X25_INIT;
        break;
    case D_CLOSE:
        if (b == HDLC_FLAG)
            return finish(d, out);
        /* not a flag: the frame had no closing flag. With a length not confirmed by an
         * HCS, look for a frame that started inside it. */
        if (d->hcs_ok) {
            d->skipped++;
            return fail(d, MS_EFRAME, D_HUNT, -1, out);
        }
        return fail(d, MS_EFRAME, RESYNC, b, out);
    default: /* D_BODY */
        break;
    }

    size_t pos = d->len++;
    if (pos < d->cap)
        d->buf[pos] = b;
    if (d->length == 0 || pos < (size_t)d->length - 2u)
        d->crc = ms_crc16_x25_update(d->crc, &b, 1);
    else
        d->tail[pos - (d->length - 2u)] = b;

    if (pos == 1) {
        d->length = (uint16_t)(((d->buf[0] & 0x07u) << 8) | d->buf[1]);
        if (d->length < HDLC_FRAME_LENGTH_MIN)
            return fail(d, MS_ETRUNC, RESYNC, -1, out);
        return 0;
    }
    if (pos >= 2 && d->hdr_len == 0) {
        int hl = header_len(d->buf, d->len);
        if (hl < 0)
            return fail(d, MS_EFRAME, RESYNC, -1, out); /* address longer than 4 bytes */
        if (hl == 0) {
            if (d->len >= (size_t)d->length - 2u)
                return fail(d, MS_ETRUNC, RESYNC, -1, out); /* no room left for the FCS */
            return 0;
        }
        d->hdr_len = (size_t)hl;
        if (d->hdr_len + 2u > d->length)
            return fail(d, MS_ETRUNC, RESYNC, -1, out);
        size_t info = has_hcs(d->length, d->hdr_len) ? d->length - d->hdr_len - 4u : 0;
        if ((d->max_info && info > d->max_info) || d->length > d->cap)
            d->too_long = true;
    }
    if (d->hdr_len && !d->hcs_ok && d->len == d->hdr_len + 2u &&
        has_hcs(d->length, d->hdr_len)) {
        if (ms_crc16_x25(d->buf, d->hdr_len) != get_le16(d->buf + d->hdr_len))
            return fail(d, MS_EBADHCS, RESYNC, -1, out);
        d->hcs_ok = true; /* the length field can now be trusted */
    }
    if (d->len == d->length)
        d->state = D_CLOSE;
    return 0;
}

int hdlc_decoder_feed(hdlc_decoder_t *d, const uint8_t *in, size_t len, size_t *used,
                      hdlc_frame_t *out)
{
    *used = 0;
    memset(out, 0, sizeof *out);
    if (!d->buf || d->cap < DEC_MIN_CAP) {
        *used = len;
        return MS_EINVAL;
    }
    while (d->replay) {
        uint8_t b = d->buf[d->replay_off++];
        d->replay--;
        int rc = step(d, b, out);
        if (rc)
            return rc;
    }
    d->replay_off = 0;
    for (size_t i = 0; i < len; i++) {
        int rc = step(d, in[i], out);
        if (rc) {
            *used = i + 1;
            return rc;
        }
    }
    *used = len;
    return 0;
}

/* ---- LLC header ---- */

int hdlc_llc_put(ms_wr_t *w, bool response)
{
    uint8_t h[HDLC_LLC_LEN] = { HDLC_LLC_LSAP,
                                response ? HDLC_LLC_LSAP_RESPONSE : HDLC_LLC_LSAP,
                                HDLC_LLC_QUALITY };
    return ms_wr_bytes(w, h, sizeof h);
}

int hdlc_llc_check(const uint8_t *p, size_t n, bool *response)
{
    if (n < HDLC_LLC_LEN)
        return MS_ETRUNC;
    if (p[0] != HDLC_LLC_LSAP ||
        (p[1] != HDLC_LLC_LSAP && p[1] != HDLC_LLC_LSAP_RESPONSE) ||
        p[2] != HDLC_LLC_QUALITY)
        return MS_EFRAME;
    if (response)
        *response = p[1] == HDLC_LLC_LSAP_RESPONSE;
    return HDLC_LLC_LEN;
}

/* ---- parameter negotiation (6.4.4.4.3.2) ---- */

void hdlc_params_set(hdlc_params_t *p, int idx, uint32_t value)
{
    if (idx < 0 || idx >= HDLC_P_COUNT)
        return;
    p->value[idx] = value;
    p->width[idx] = value <= 0xFFu ? 1 : value <= 0xFFFFu ? 2 : 4;
}

uint32_t hdlc_params_get(const hdlc_params_t *p, int idx, uint32_t def)
{
    if (idx < 0 || idx >= HDLC_P_COUNT || !p->width[idx])
        return def;
    return p->value[idx];
}

int hdlc_params_put(ms_wr_t *w, const hdlc_params_t *p)
{
    size_t group = 0;
    for (int i = 0; i < HDLC_P_COUNT; i++) {
        unsigned wd = p->width[i];
        if (wd == 0)
            continue;
        if (wd != 1 && wd != 2 && wd != 4)
            return MS_EINVAL;
        if (wd < 4 && p->value[i] >> (8 * wd))
            return MS_EINVAL;
        group += 2u + wd;
    }
    if (group == 0)
        return 0;
    size_t start = w->len;
    ms_wr_u8(w, HDLC_PARAM_FORMAT_ID);
    ms_wr_u8(w, HDLC_PARAM_GROUP_ID);
    ms_wr_u8(w, (uint8_t)group);
    for (int i = 0; i < HDLC_P_COUNT; i++) {
        unsigned wd = p->width[i];
        if (wd == 0)
            continue;
        ms_wr_u8(w, (uint8_t)(5 + i));
        ms_wr_u8(w, (uint8_t)wd);
        for (unsigned k = wd; k-- > 0;)
            ms_wr_u8(w, (uint8_t)(p->value[i] >> (8 * k)));
    }
    if (w->err)
        return w->err;
    return (int)(w->len - start);
}

int hdlc_params_decode(const uint8_t *p, size_t n, hdlc_params_t *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    if (p[0] != HDLC_PARAM_FORMAT_ID)
        return MS_EFRAME;
    size_t pos = 1;
    while (pos < n) {
        if (n - pos < 2)
            return MS_EFRAME;
        uint8_t gid = p[pos];
        size_t glen = p[pos + 1];
        pos += 2;
        if (glen > n - pos)
            return MS_EFRAME;
        size_t end = pos + glen;
        if (gid != HDLC_PARAM_GROUP_ID) {
            pos = end; /* another group (user-defined): not ours */
            continue;
        }
        while (pos < end) {
            if (end - pos < 2)
                return MS_EFRAME;
            uint8_t id = p[pos];
            size_t vlen = p[pos + 1];
            pos += 2;
            if (vlen > end - pos)
                return MS_EFRAME;
            if (id >= 5 && id <= 8) {
                int i = id - 5;
                if ((vlen != 1 && vlen != 2 && vlen != 4) || out->width[i])
                    return MS_EFRAME;
                uint32_t v = 0;
                for (size_t k = 0; k < vlen; k++)
                    v = v << 8 | p[pos + k];
                out->value[i] = v;
                out->width[i] = (uint8_t)vlen;
            }
            pos += vlen;
        }
    }
    return 0;
}

/* ---- FRMR information field (ISO/IEC 13239) ---- */

void hdlc_frmr_encode(const hdlc_frmr_t *f, uint8_t out[HDLC_FRMR_LEN])
{
    out[0] = f->control;
    out[1] = (uint8_t)(((f->vs & 7u) << 1) | (f->cr ? 0x10u : 0u) | ((f->vr & 7u) << 5));
    out[2] = (uint8_t)(f->flags & 0x0Fu);
}

int hdlc_frmr_decode(const uint8_t *p, size_t n, hdlc_frmr_t *out)
{
    memset(out, 0, sizeof *out);
    if (n != HDLC_FRMR_LEN)
        return MS_EFRAME;
    out->control = p[0];
    out->vs = (p[1] >> 1) & 7u;
    out->cr = (p[1] & 0x10u) != 0;
    out->vr = p[1] >> 5;
    out->flags = p[2] & 0x0Fu;
    return 0;
}
