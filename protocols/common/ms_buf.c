/*
** ms_buf.c — bounds-checked byte reader and writer, growable buffers.
** SPDX-License-Identifier: MIT
*/
#include "ms_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"

void ms_wr_init(ms_wr_t *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->err = 0;
}

/* Reserve n bytes; NULL (and a sticky MS_ENOSPC) when they do not fit. */
static uint8_t *reserve(ms_wr_t *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n > w->cap - w->len) {
        w->err = MS_ENOSPC;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

int ms_wr_u8(ms_wr_t *w, uint8_t v)
{
    uint8_t *p = reserve(w, 1);
    if (!p)
        return w->err;
    p[0] = v;
    return 0;
}

int ms_wr_u16be(ms_wr_t *w, uint16_t v)
{
    uint8_t *p = reserve(w, 2);
    if (!p)
        return w->err;
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 0;
}

int ms_wr_u16le(ms_wr_t *w, uint16_t v)
{
    uint8_t *p = reserve(w, 2);
    if (!p)
        return w->err;
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return 0;
}

int ms_wr_u32be(ms_wr_t *w, uint32_t v)
{
    uint8_t *p = reserve(w, 4);
    if (!p)
        return w->err;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
    return 0;
}

int ms_wr_u64be(ms_wr_t *w, uint64_t v)
{
    uint8_t *p = reserve(w, 8);
    if (!p)
        return w->err;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    return 0;
}

int ms_wr_bytes(ms_wr_t *w, const void *src, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (!p)
        return w->err;
    if (n)
        memcpy(p, src, n);
    return 0;
}

int ms_wr_str(ms_wr_t *w, const char *s)
{
    return ms_wr_bytes(w, s, strlen(s));
}

int ms_wr_vfmt(ms_wr_t *w, const char *fmt, va_list ap)
{
    if (w->err)
        return w->err;
    size_t room = w->cap - w->len;
    /* vsnprintf needs room for its NUL; the NUL is not part of the output. */
    char tmp[1];
    char *dst = room ? (char *)w->buf + w->len : tmp;
    int n = vsnprintf(dst, room ? room : sizeof tmp, fmt, ap);
    if (n < 0 || (size_t)n >= room) {
        w->err = n < 0 ? MS_EINVAL : MS_ENOSPC;
        return w->err;
    }
    w->len += (size_t)n;
    return 0;
}

int ms_wr_fmt(ms_wr_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ms_wr_vfmt(w, fmt, ap);
    va_end(ap);
    return rc;
}

size_t ms_wr_room(const ms_wr_t *w)
{
    return w->err ? 0 : w->cap - w->len;
}

void ms_rd_init(ms_rd_t *r, const void *buf, size_t len)
{
    r->buf = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
    r->err = 0;
}

/* Take n bytes; NULL (and a sticky MS_ETRUNC) when fewer are left. */
static const uint8_t *take(ms_rd_t *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->pos) {
        r->err = MS_ETRUNC;
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

uint8_t ms_rd_u8(ms_rd_t *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint16_t ms_rd_u16be(ms_rd_t *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint16_t ms_rd_u16le(ms_rd_t *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)(p[1] << 8 | p[0]) : 0;
}

uint32_t ms_rd_u32be(ms_rd_t *r)
{
    const uint8_t *p = take(r, 4);
    if (!p)
        return 0;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t ms_rd_u64be(ms_rd_t *r)
{
    const uint8_t *p = take(r, 8);
    if (!p)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

const uint8_t *ms_rd_bytes(ms_rd_t *r, size_t n)
{
    return take(r, n);
}

int ms_rd_peek(const ms_rd_t *r)
{
    if (r->err || r->pos >= r->len)
        return -1;
    return r->buf[r->pos];
}

size_t ms_rd_left(const ms_rd_t *r)
{
    return r->err ? 0 : r->len - r->pos;
}

int ms_buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return MS_ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}
