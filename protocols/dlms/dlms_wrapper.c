/*
** dlms_wrapper.c — IEC 62056-47 wrapper header: stream decoder, datagram decoder,
*encoder.
** SPDX-License-Identifier: MIT
*/
#include "dlms_wrapper.h"

#include <string.h>

#include "ms_err.h"

void wrap_decoder_init(wrap_decoder_t *d, uint8_t *buf, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->buf = buf;
    d->cap = buf ? cap : 0;
}

void wrap_decoder_reset(wrap_decoder_t *d)
{
    d->hdr_len = 0;
    d->got = 0;
}

bool wrap_decoder_busy(const wrap_decoder_t *d)
{
    return d->hdr_len > 0;
}

static void parse_header(const uint8_t h[WRAP_HEADER_LEN], wrap_frame_t *f)
{
    ms_rd_t r;
    ms_rd_init(&r, h, WRAP_HEADER_LEN);
    f->version = ms_rd_u16be(&r);
    f->src_wport = ms_rd_u16be(&r);
    f->dst_wport = ms_rd_u16be(&r);
    f->length = ms_rd_u16be(&r);
    f->apdu = NULL;
}

int wrap_decoder_feed(wrap_decoder_t *d, const uint8_t *in, size_t len, size_t *used,
                      wrap_frame_t *out)
{
    if (!d || !used || !out || (!in && len))
        return MS_EINVAL;
    size_t pos = 0;
    *used = 0;
    if (d->hdr_len < WRAP_HEADER_LEN) {
        size_t take = WRAP_HEADER_LEN - d->hdr_len;
        if (take > len)
            take = len;
        memcpy(d->hdr + d->hdr_len, in, take);
        d->hdr_len += take;
        pos += take;
        if (d->hdr_len < WRAP_HEADER_LEN) {
            *used = pos;
            return 0;
        }
        parse_header(d->hdr, &d->cur);
        d->got = 0;
        if (d->cur.version != WRAP_VERSION) {
            wrap_decoder_reset(d);
            *used = pos;
            return MS_EFRAME;
        }
        if (d->cur.length > d->cap) {
            wrap_decoder_reset(d);
            *used = pos;
            return MS_ETOOBIG;
        }
    }
    size_t take = d->cur.length - d->got;
    if (take > len - pos)
        take = len - pos;
    if (take)
        memcpy(d->buf + d->got, in + pos, take);
    d->got += take;
    pos += take;
    *used = pos;
    if (d->got < d->cur.length)
        return 0;
    *out = d->cur;
    out->apdu = d->buf;
    wrap_decoder_reset(d);
    return 1;
}

int wrap_decode(const uint8_t *buf, size_t len, wrap_frame_t *out)
{
    if (!out || (!buf && len))
        return MS_EINVAL;
    if (len < WRAP_HEADER_LEN)
        return MS_ETRUNC;
    parse_header(buf, out);
    if (out->version != WRAP_VERSION)
        return MS_EFRAME;
    if (out->length > len - WRAP_HEADER_LEN)
        return MS_ETRUNC;
    if (out->length < len - WRAP_HEADER_LEN)
        return MS_EFRAME;
    out->apdu = buf + WRAP_HEADER_LEN;
    return 0;
}

int wrap_encode_header(ms_wr_t *w, uint16_t src_wport, uint16_t dst_wport,
                       size_t apdu_len)
{
    if (apdu_len > WRAP_MAX_APDU)
        return MS_ETOOBIG;
    if (ms_wr_room(w) < WRAP_HEADER_LEN) {
        w->err = MS_ENOSPC;
        return MS_ENOSPC;
    }
    ms_wr_u16be(w, WRAP_VERSION);
    ms_wr_u16be(w, src_wport);
    ms_wr_u16be(w, dst_wport);
    return ms_wr_u16be(w, (uint16_t)apdu_len);
}

int wrap_encode(ms_wr_t *w, uint16_t src_wport, uint16_t dst_wport, const uint8_t *apdu,
                size_t apdu_len)
{
    if (apdu_len > WRAP_MAX_APDU)
        return MS_ETOOBIG;
    if (apdu_len && !apdu)
        return MS_EINVAL;
    if (ms_wr_room(w) < WRAP_HEADER_LEN + apdu_len) {
        w->err = MS_ENOSPC;
        return MS_ENOSPC;
    }
    wrap_encode_header(w, src_wport, dst_wport, apdu_len);
    return ms_wr_bytes(w, apdu, apdu_len);
}
