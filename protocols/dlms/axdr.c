/*
** axdr.c — A-XDR encoding of COSEM data (IEC 61334-6; Green Book Data CHOICE).
** SPDX-License-Identifier: MIT
*/
#include "axdr.h"

#include <string.h>

#include "ms_err.h"
#include "ms_time.h"

/* Hand-built trees may be cyclic; the encoder stops at this depth instead of recursing
 * for ever. Decoded trees are bounded by dlms_arena_t.max_depth. */
#define ENC_MAX_DEPTH (DLMS_MAX_DEPTH_DEFAULT * 4)

/* ---- arena ---- */

void dlms_arena_init(dlms_arena_t *a, void *mem, size_t cap)
{
    a->mem = mem;
    a->cap = mem ? cap : 0;
    a->used = 0;
    a->max_depth = DLMS_MAX_DEPTH_DEFAULT;
}

void dlms_arena_reset(dlms_arena_t *a)
{
    a->used = 0;
}

void *dlms_arena_alloc(dlms_arena_t *a, size_t n)
{
    if (!a->mem)
        return NULL;
    /* Align the address, not the offset: mem itself need not be aligned. */
    size_t pad = (size_t)(-(uintptr_t)(a->mem + a->used)) & 7u;
    if (pad > a->cap - a->used || n > a->cap - a->used - pad)
        return NULL;
    uint8_t *p = a->mem + a->used + pad;
    if (n)
        memset(p, 0, n);
    a->used += pad + n;
    return p;
}

/* Room left for nodes, in nodes (an upper bound: alignment may take a few bytes). */
static size_t arena_nodes_left(const dlms_arena_t *a)
{
    return (a->cap - a->used) / sizeof(dlms_data_t);
}

_Static_assert(SIZE_MAX / sizeof(dlms_data_t) >= UINT32_MAX, "node counts are 32-bit");

static int alloc_nodes(dlms_arena_t *a, uint32_t n, dlms_data_t **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = dlms_arena_alloc(a, (size_t)n * sizeof(dlms_data_t));
    return *out ? 0 : MS_ENOMEM;
}

/* ---- lengths ---- */

int axdr_read_length(ms_rd_t *r, uint32_t *len)
{
    uint8_t b = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    if (b < 0x80) {
        *len = b;
        return 0;
    }
    unsigned k = b & 0x7Fu;
    if (k == 0 || k > 4)
        return MS_EFRAME;
    uint32_t v = 0;
    for (unsigned i = 0; i < k; i++)
        v = (v << 8) | ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    *len = v;
    return 0;
}

size_t axdr_length_size(uint32_t len)
{
    if (len < 0x80)
        return 1;
    if (len <= 0xFF)
        return 2;
    if (len <= 0xFFFF)
        return 3;
    if (len <= 0xFFFFFF)
        return 4;
    return 5;
}

static void put_length(uint8_t *p, uint32_t len, size_t size)
{
    if (size == 1) {
        p[0] = (uint8_t)len;
        return;
    }
    p[0] = (uint8_t)(0x80u | (size - 1));
    for (size_t i = 1; i < size; i++)
        p[i] = (uint8_t)(len >> (8 * (size - 1 - i)));
}

int axdr_write_length(ms_wr_t *w, uint32_t len)
{
    uint8_t tmp[5];
    size_t n = axdr_length_size(len);
    put_length(tmp, len, n);
    return ms_wr_bytes(w, tmp, n);
}

size_t axdr_max_contents(size_t avail)
{
    if (avail < 2)
        return 0;
    size_t n = avail - 1;
    while (n > 0 && n + axdr_length_size((uint32_t)n) > avail)
        n--;
    return n;
}

size_t axdr_length_begin(ms_wr_t *w)
{
    size_t at = w->len;
    ms_wr_u8(w, 0);
    return at;
}

int axdr_length_end(ms_wr_t *w, size_t at, unsigned min_octets)
{
    if (w->err)
        return w->err;
    size_t clen = w->len - at - 1;
    if (clen > UINT32_MAX)
        return MS_ETOOBIG;
    size_t ls = axdr_length_size((uint32_t)clen);
    if (min_octets > 4)
        min_octets = 4;
    if (min_octets && ls < min_octets + 1)
        ls = min_octets + 1;
    if (ls > 1) {
        if (w->cap - w->len < ls - 1) {
            w->err = MS_ENOSPC;
            return MS_ENOSPC;
        }
        memmove(w->buf + at + ls, w->buf + at + 1, clen);
        w->len += ls - 1;
    }
    put_length(w->buf + at, (uint32_t)clen, ls);
    return 0;
}

int axdr_read_octets(ms_rd_t *r, dlms_bytes_t *out)
{
    uint32_t n;
    int rc = axdr_read_length(r, &n);
    if (rc < 0)
        return rc;
    if (n > ms_rd_left(r))
        return MS_ETRUNC;
    out->p = ms_rd_bytes(r, n);
    out->len = n;
    return 0;
}

/* ---- decoding ---- */

static size_t fixed_size(unsigned type)
{
    switch (type) {
    case DLMS_FLOAT32:
        return 4;
    case DLMS_FLOAT64:
        return 8;
    case DLMS_DATE_TIME:
        return DLMS_DATE_TIME_LEN;
    case DLMS_DATE:
        return DLMS_DATE_LEN;
    case DLMS_TIME:
        return DLMS_TIME_LEN;
    default:
        return 0;
    }
}

/* Contents of a leaf type (everything except array, structure, compact-array). */
static int dec_leaf(ms_rd_t *r, uint8_t type, dlms_data_t *out)
{
    uint32_t len;
    int rc;
    const uint8_t *p;
    out->type = type;
    switch (type) {
    case DLMS_NULL_DATA:
    case DLMS_DONT_CARE:
        return 0;
    case DLMS_BOOLEAN:
    case DLMS_BCD:
    case DLMS_UNSIGNED:
    case DLMS_ENUM:
        out->v.u = ms_rd_u8(r);
        break;
    case DLMS_INTEGER:
        out->v.i = (int8_t)ms_rd_u8(r);
        break;
    case DLMS_LONG:
        out->v.i = (int16_t)ms_rd_u16be(r);
        break;
    case DLMS_LONG_UNSIGNED:
        out->v.u = ms_rd_u16be(r);
        break;
    case DLMS_DOUBLE_LONG:
        out->v.i = (int32_t)ms_rd_u32be(r);
        break;
    case DLMS_DOUBLE_LONG_UNSIGNED:
        out->v.u = ms_rd_u32be(r);
        break;
    case DLMS_LONG64:
        out->v.i = (int64_t)ms_rd_u64be(r);
        break;
    case DLMS_LONG64_UNSIGNED:
        out->v.u = ms_rd_u64be(r);
        break;
    case DLMS_FLOAT32:
    case DLMS_FLOAT64:
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME: {
        size_t k = fixed_size(type);
        p = ms_rd_bytes(r, k);
        if (!p)
            return MS_ETRUNC;
        memcpy(out->v.raw, p, k);
        out->n = (uint32_t)k;
        return 0;
    }
    case DLMS_OCTET_STRING:
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING: {
        dlms_bytes_t b;
        if ((rc = axdr_read_octets(r, &b)) < 0)
            return rc;
        out->n = (uint32_t)b.len;
        out->v.bytes = b.p;
        return 0;
    }
    case DLMS_BIT_STRING: {
        if ((rc = axdr_read_length(r, &len)) < 0)
            return rc;
        uint64_t nbytes = ((uint64_t)len + 7u) / 8u;
        if (nbytes > ms_rd_left(r))
            return MS_ETRUNC;
        out->n = len;
        out->v.bytes = ms_rd_bytes(r, (size_t)nbytes);
        return 0;
    }
    default:
        return MS_EFRAME;
    }
    return r->err ? MS_ETRUNC : 0;
}

/* A TypeDescription (Green Book: contents-description of compact-array). */
static int dec_td(ms_rd_t *r, dlms_arena_t *a, dlms_data_t *td, unsigned depth)
{
    int rc;
    if (depth > a->max_depth)
        return MS_ETOOBIG;
    uint8_t tag = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    memset(td, 0, sizeof *td);
    td->type = tag;
    switch (tag) {
    case DLMS_ARRAY:
        td->n = ms_rd_u16be(r); /* number-of-elements Unsigned16 */
        if (r->err)
            return MS_ETRUNC;
        if ((rc = alloc_nodes(a, 1, &td->v.items)) < 0)
            return rc;
        return dec_td(r, a, td->v.items, depth + 1);
    case DLMS_STRUCTURE: {
        uint32_t n;
        if ((rc = axdr_read_length(r, &n)) < 0)
            return rc;
        if (n > ms_rd_left(r)) /* each description takes at least one octet */
            return MS_ETRUNC;
        td->n = n;
        if ((rc = alloc_nodes(a, n, &td->v.items)) < 0)
            return rc;
        for (uint32_t i = 0; i < n; i++)
            if ((rc = dec_td(r, a, &td->v.items[i], depth + 1)) < 0)
                return rc;
        return 0;
    }
    case DLMS_NULL_DATA:
    case DLMS_BOOLEAN:
    case DLMS_BIT_STRING:
    case DLMS_DOUBLE_LONG:
    case DLMS_DOUBLE_LONG_UNSIGNED:
    case DLMS_OCTET_STRING:
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING:
    case DLMS_BCD:
    case DLMS_INTEGER:
    case DLMS_LONG:
    case DLMS_UNSIGNED:
    case DLMS_LONG_UNSIGNED:
    case DLMS_LONG64:
    case DLMS_LONG64_UNSIGNED:
    case DLMS_ENUM:
    case DLMS_FLOAT32:
    case DLMS_FLOAT64:
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME:
    case DLMS_DONT_CARE:
        return 0;
    default: /* compact-array is not a TypeDescription */
        return MS_EFRAME;
    }
}

/* Walk one untagged element of type td without storing it, counting the nodes a decode
 * would take; *nodes beyond budget stops the walk (MS_ENOMEM), so elements of no encoded
 * size (null-data) cannot make it loop for long. */
static int skip_typed(ms_rd_t *r, const dlms_data_t *td, uint64_t *nodes, uint64_t budget)
{
    int rc;
    switch (td->type) {
    case DLMS_ARRAY:
    case DLMS_STRUCTURE:
        for (uint32_t i = 0; i < td->n; i++) {
            if (++*nodes > budget)
                return MS_ENOMEM;
            const dlms_data_t *c = td->type == DLMS_ARRAY ? td->v.items : &td->v.items[i];
            if ((rc = skip_typed(r, c, nodes, budget)) < 0)
                return rc;
        }
        return 0;
    default: {
        dlms_data_t tmp;
        memset(&tmp, 0, sizeof tmp);
        return dec_leaf(r, td->type, &tmp);
    }
    }
}

static int dec_typed(ms_rd_t *r, dlms_arena_t *a, const dlms_data_t *td, dlms_data_t *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->type = td->type;
    switch (td->type) {
    case DLMS_ARRAY:
    case DLMS_STRUCTURE:
        out->n = td->n;
        if ((rc = alloc_nodes(a, td->n, &out->v.items)) < 0)
            return rc;
        for (uint32_t i = 0; i < td->n; i++) {
            const dlms_data_t *c = td->type == DLMS_ARRAY ? td->v.items : &td->v.items[i];
            if ((rc = dec_typed(r, a, c, &out->v.items[i])) < 0)
                return rc;
        }
        return 0;
    default:
        return dec_leaf(r, td->type, out);
    }
}

static int dec_compact_array(ms_rd_t *r, dlms_arena_t *a, dlms_data_t *out,
                             unsigned depth)
{
    int rc;
    dlms_data_t *td;
    if ((rc = alloc_nodes(a, 1, &td)) < 0)
        return rc;
    if ((rc = dec_td(r, a, td, depth + 1)) < 0)
        return rc;
    uint32_t clen;
    if ((rc = axdr_read_length(r, &clen)) < 0)
        return rc;
    const uint8_t *contents = ms_rd_bytes(r, clen);
    if (!contents)
        return MS_ETRUNC;

    /* Pass 1: count the elements (the element nodes must be contiguous). */
    ms_rd_t sub;
    ms_rd_init(&sub, contents, clen);
    uint64_t nodes = 0, budget = arena_nodes_left(a);
    uint32_t count = 0;
    while (ms_rd_left(&sub) > 0) {
        size_t before = sub.pos;
        if (++nodes > budget)
            return MS_ENOMEM;
        if ((rc = skip_typed(&sub, td, &nodes, budget)) < 0)
            return rc == MS_ETRUNC ? MS_EFRAME : rc; /* the contents end mid-element */
        if (sub.pos == before)
            return MS_EFRAME; /* element type without encoded size */
        count++;
    }
    /* Pass 2: decode. */
    out->type = DLMS_COMPACT_ARRAY;
    out->n = count;
    out->v.ca.td = td;
    if ((rc = alloc_nodes(a, count, &out->v.ca.items)) < 0)
        return rc;
    ms_rd_init(&sub, contents, clen);
    for (uint32_t i = 0; i < count; i++)
        if ((rc = dec_typed(&sub, a, td, &out->v.ca.items[i])) < 0)
            return rc;
    return 0;
}

static int dec_data(ms_rd_t *r, dlms_arena_t *a, dlms_data_t *out, unsigned depth)
{
    int rc;
    if (depth > a->max_depth)
        return MS_ETOOBIG;
    memset(out, 0, sizeof *out);
    uint8_t tag = ms_rd_u8(r);
    if (r->err)
        return MS_ETRUNC;
    switch (tag) {
    case DLMS_ARRAY:
    case DLMS_STRUCTURE: {
        uint32_t n;
        if ((rc = axdr_read_length(r, &n)) < 0)
            return rc;
        if (n > ms_rd_left(r)) /* each element takes at least its tag */
            return MS_ETRUNC;
        out->type = tag;
        out->n = n;
        if ((rc = alloc_nodes(a, n, &out->v.items)) < 0)
            return rc;
        for (uint32_t i = 0; i < n; i++)
            if ((rc = dec_data(r, a, &out->v.items[i], depth + 1)) < 0)
                return rc;
        return 0;
    }
    case DLMS_COMPACT_ARRAY:
        return dec_compact_array(r, a, out, depth);
    default:
        return dec_leaf(r, tag, out);
    }
}

int axdr_decode_data(ms_rd_t *r, dlms_arena_t *a, dlms_data_t *out)
{
    if (!r || !a || !out)
        return MS_EINVAL;
    if (r->err)
        return MS_ETRUNC;
    int rc = dec_data(r, a, out, 0);
    if (rc < 0 && r->err)
        return MS_ETRUNC;
    return rc;
}

int axdr_decode(const uint8_t *buf, size_t len, dlms_arena_t *a, dlms_data_t *out)
{
    ms_rd_t r;
    if (!buf && len)
        return MS_EINVAL;
    ms_rd_init(&r, buf, len);
    int rc = axdr_decode_data(&r, a, out);
    if (rc < 0)
        return rc;
    return ms_rd_left(&r) ? MS_EFRAME : 0;
}

/* ---- encoding ---- */

static int enc_leaf(ms_wr_t *w, const dlms_data_t *d)
{
    switch (d->type) {
    case DLMS_NULL_DATA:
    case DLMS_DONT_CARE:
        return 0;
    case DLMS_BOOLEAN:
    case DLMS_BCD:
    case DLMS_UNSIGNED:
    case DLMS_ENUM:
        if (d->v.u > 0xFFu)
            return MS_ERANGE;
        return ms_wr_u8(w, (uint8_t)d->v.u);
    case DLMS_INTEGER:
        if (d->v.i < INT8_MIN || d->v.i > INT8_MAX)
            return MS_ERANGE;
        return ms_wr_u8(w, (uint8_t)d->v.i);
    case DLMS_LONG:
        if (d->v.i < INT16_MIN || d->v.i > INT16_MAX)
            return MS_ERANGE;
        return ms_wr_u16be(w, (uint16_t)d->v.i);
    case DLMS_LONG_UNSIGNED:
        if (d->v.u > 0xFFFFu)
            return MS_ERANGE;
        return ms_wr_u16be(w, (uint16_t)d->v.u);
    case DLMS_DOUBLE_LONG:
        if (d->v.i < INT32_MIN || d->v.i > INT32_MAX)
            return MS_ERANGE;
        return ms_wr_u32be(w, (uint32_t)d->v.i);
    case DLMS_DOUBLE_LONG_UNSIGNED:
        if (d->v.u > 0xFFFFFFFFu)
            return MS_ERANGE;
        return ms_wr_u32be(w, (uint32_t)d->v.u);
    case DLMS_LONG64:
        return ms_wr_u64be(w, (uint64_t)d->v.i);
    case DLMS_LONG64_UNSIGNED:
        return ms_wr_u64be(w, d->v.u);
    case DLMS_FLOAT32:
    case DLMS_FLOAT64:
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME:
        return ms_wr_bytes(w, d->v.raw, fixed_size(d->type));
    case DLMS_OCTET_STRING:
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING:
        if (d->n && !d->v.bytes)
            return MS_EINVAL;
        if (axdr_write_length(w, d->n) < 0)
            return w->err;
        return ms_wr_bytes(w, d->v.bytes, d->n);
    case DLMS_BIT_STRING: {
        size_t nbytes = ((size_t)d->n + 7u) / 8u;
        if (nbytes && !d->v.bytes)
            return MS_EINVAL;
        if (axdr_write_length(w, d->n) < 0)
            return w->err;
        return ms_wr_bytes(w, d->v.bytes, nbytes);
    }
    default:
        return MS_EINVAL;
    }
}

static int enc_td(ms_wr_t *w, const dlms_data_t *td, unsigned depth)
{
    int rc;
    if (depth > ENC_MAX_DEPTH)
        return MS_ETOOBIG;
    if (ms_wr_u8(w, td->type) < 0)
        return w->err;
    switch (td->type) {
    case DLMS_ARRAY:
        if (td->n > 0xFFFFu)
            return MS_ERANGE;
        if (!td->v.items)
            return MS_EINVAL;
        if (ms_wr_u16be(w, (uint16_t)td->n) < 0)
            return w->err;
        return enc_td(w, td->v.items, depth + 1);
    case DLMS_STRUCTURE:
        if (td->n && !td->v.items)
            return MS_EINVAL;
        if (axdr_write_length(w, td->n) < 0)
            return w->err;
        for (uint32_t i = 0; i < td->n; i++)
            if ((rc = enc_td(w, &td->v.items[i], depth + 1)) < 0)
                return rc;
        return 0;
    case DLMS_COMPACT_ARRAY:
        return MS_EINVAL;
    default:
        return dlms_data_type_name(td->type)[0] == '?' ? MS_EINVAL : 0;
    }
}

/* One compact-array element: the contents of d, which must match td, without tags. */
static int enc_typed(ms_wr_t *w, const dlms_data_t *td, const dlms_data_t *d,
                     unsigned depth)
{
    int rc;
    if (depth > ENC_MAX_DEPTH)
        return MS_ETOOBIG;
    if (d->type != td->type)
        return MS_EINVAL;
    switch (td->type) {
    case DLMS_ARRAY:
    case DLMS_STRUCTURE:
        if (d->n != td->n || (d->n && !d->v.items))
            return MS_EINVAL;
        for (uint32_t i = 0; i < d->n; i++) {
            const dlms_data_t *c = td->type == DLMS_ARRAY ? td->v.items : &td->v.items[i];
            if ((rc = enc_typed(w, c, &d->v.items[i], depth + 1)) < 0)
                return rc;
        }
        return 0;
    default:
        return enc_leaf(w, d);
    }
}

static int enc_data(ms_wr_t *w, const dlms_data_t *d, unsigned depth)
{
    int rc;
    if (depth > ENC_MAX_DEPTH)
        return MS_ETOOBIG;
    if (dlms_data_type_name(d->type)[0] == '?')
        return MS_EINVAL;
    if (ms_wr_u8(w, d->type) < 0)
        return w->err;
    switch (d->type) {
    case DLMS_ARRAY:
    case DLMS_STRUCTURE:
        if (d->n && !d->v.items)
            return MS_EINVAL;
        if (axdr_write_length(w, d->n) < 0)
            return w->err;
        for (uint32_t i = 0; i < d->n; i++)
            if ((rc = enc_data(w, &d->v.items[i], depth + 1)) < 0)
                return rc;
        return 0;
    case DLMS_COMPACT_ARRAY: {
        if (!d->v.ca.td || (d->n && !d->v.ca.items))
            return MS_EINVAL;
        if ((rc = enc_td(w, d->v.ca.td, depth + 1)) < 0)
            return rc;
        size_t at = axdr_length_begin(w);
        for (uint32_t i = 0; i < d->n; i++)
            if ((rc = enc_typed(w, d->v.ca.td, &d->v.ca.items[i], depth + 1)) < 0)
                return rc;
        return axdr_length_end(w, at, 0);
    }
    default:
        return enc_leaf(w, d);
    }
}

int axdr_encode_data(ms_wr_t *w, const dlms_data_t *d)
{
    if (!w || !d)
        return MS_EINVAL;
    if (w->err)
        return w->err;
    int rc = enc_data(w, d, 0);
    if (rc == 0 && w->err)
        rc = w->err;
    return rc;
}

/* ---- comparison, names, constructors ---- */

static bool td_equal(const dlms_data_t *a, const dlms_data_t *b)
{
    if (a->type != b->type)
        return false;
    if (a->type == DLMS_ARRAY)
        return a->n == b->n && td_equal(a->v.items, b->v.items);
    if (a->type == DLMS_STRUCTURE) {
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++)
            if (!td_equal(&a->v.items[i], &b->v.items[i]))
                return false;
    }
    return true;
}

bool dlms_data_equal(const dlms_data_t *a, const dlms_data_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case DLMS_NULL_DATA:
    case DLMS_DONT_CARE:
        return true;
    case DLMS_ARRAY:
    case DLMS_STRUCTURE:
        if (a->n != b->n)
            return false;
        for (uint32_t i = 0; i < a->n; i++)
            if (!dlms_data_equal(&a->v.items[i], &b->v.items[i]))
                return false;
        return true;
    case DLMS_COMPACT_ARRAY:
        if (a->n != b->n || !td_equal(a->v.ca.td, b->v.ca.td))
            return false;
        for (uint32_t i = 0; i < a->n; i++)
            if (!dlms_data_equal(&a->v.ca.items[i], &b->v.ca.items[i]))
                return false;
        return true;
    case DLMS_INTEGER:
    case DLMS_LONG:
    case DLMS_DOUBLE_LONG:
    case DLMS_LONG64:
        return a->v.i == b->v.i;
    case DLMS_FLOAT32:
    case DLMS_FLOAT64:
    case DLMS_DATE_TIME:
    case DLMS_DATE:
    case DLMS_TIME:
        return memcmp(a->v.raw, b->v.raw, fixed_size(a->type)) == 0;
    case DLMS_OCTET_STRING:
    case DLMS_VISIBLE_STRING:
    case DLMS_UTF8_STRING:
        return a->n == b->n && (a->n == 0 || memcmp(a->v.bytes, b->v.bytes, a->n) == 0);
    case DLMS_BIT_STRING:
        return a->n == b->n && (a->n == 0 || memcmp(a->v.bytes, b->v.bytes,
                                                    ((size_t)a->n + 7u) / 8u) == 0);
    default:
        return a->v.u == b->v.u;
    }
}

const char *dlms_data_type_name(unsigned type)
{
    switch (type) {
    case DLMS_NULL_DATA:
        return "null-data";
    case DLMS_ARRAY:
        return "array";
    case DLMS_STRUCTURE:
        return "structure";
    case DLMS_BOOLEAN:
        return "boolean";
    case DLMS_BIT_STRING:
        return "bit-string";
    case DLMS_DOUBLE_LONG:
        return "double-long";
    case DLMS_DOUBLE_LONG_UNSIGNED:
        return "double-long-unsigned";
    case DLMS_OCTET_STRING:
        return "octet-string";
    case DLMS_VISIBLE_STRING:
        return "visible-string";
    case DLMS_UTF8_STRING:
        return "utf8-string";
    case DLMS_BCD:
        return "bcd";
    case DLMS_INTEGER:
        return "integer";
    case DLMS_LONG:
        return "long";
    case DLMS_UNSIGNED:
        return "unsigned";
    case DLMS_LONG_UNSIGNED:
        return "long-unsigned";
    case DLMS_COMPACT_ARRAY:
        return "compact-array";
    case DLMS_LONG64:
        return "long64";
    case DLMS_LONG64_UNSIGNED:
        return "long64-unsigned";
    case DLMS_ENUM:
        return "enum";
    case DLMS_FLOAT32:
        return "float32";
    case DLMS_FLOAT64:
        return "float64";
    case DLMS_DATE_TIME:
        return "date-time";
    case DLMS_DATE:
        return "date";
    case DLMS_TIME:
        return "time";
    case DLMS_DONT_CARE:
        return "dont-care";
    default:
        return "?";
    }
}

dlms_data_t dlms_data_fixed(dlms_data_type_t type, const uint8_t *raw)
{
    dlms_data_t d = { .type = (uint8_t)type };
    size_t k = fixed_size(type);
    d.n = (uint32_t)k;
    if (raw && k)
        memcpy(d.v.raw, raw, k);
    return d;
}

dlms_data_t dlms_data_float32(float v)
{
    uint32_t bits;
    uint8_t raw[4];
    ms_wr_t w;
    memcpy(&bits, &v, sizeof bits);
    ms_wr_init(&w, raw, sizeof raw);
    ms_wr_u32be(&w, bits);
    return dlms_data_fixed(DLMS_FLOAT32, raw);
}

dlms_data_t dlms_data_float64(double v)
{
    uint64_t bits;
    uint8_t raw[8];
    ms_wr_t w;
    memcpy(&bits, &v, sizeof bits);
    ms_wr_init(&w, raw, sizeof raw);
    ms_wr_u64be(&w, bits);
    return dlms_data_fixed(DLMS_FLOAT64, raw);
}

float dlms_data_get_float32(const dlms_data_t *d)
{
    ms_rd_t r;
    float v;
    ms_rd_init(&r, d->v.raw, 4);
    uint32_t bits = ms_rd_u32be(&r);
    memcpy(&v, &bits, sizeof v);
    return v;
}

double dlms_data_get_float64(const dlms_data_t *d)
{
    ms_rd_t r;
    double v;
    ms_rd_init(&r, d->v.raw, 8);
    uint64_t bits = ms_rd_u64be(&r);
    memcpy(&v, &bits, sizeof v);
    return v;
}

int dlms_data_to_i64(const dlms_data_t *d, int64_t *out)
{
    switch (d->type) {
    case DLMS_INTEGER:
    case DLMS_LONG:
    case DLMS_DOUBLE_LONG:
    case DLMS_LONG64:
        *out = d->v.i;
        return 0;
    case DLMS_BOOLEAN:
    case DLMS_BCD:
    case DLMS_UNSIGNED:
    case DLMS_ENUM:
    case DLMS_LONG_UNSIGNED:
    case DLMS_DOUBLE_LONG_UNSIGNED:
    case DLMS_LONG64_UNSIGNED:
        if (d->v.u > (uint64_t)INT64_MAX)
            return MS_ERANGE;
        *out = (int64_t)d->v.u;
        return 0;
    default:
        return MS_EINVAL;
    }
}

/* ---- date-time ---- */

#define DEVIATION_LIMIT_MIN 840

void dlms_datetime_unpack(const uint8_t b[DLMS_DATE_TIME_LEN], dlms_datetime_t *out)
{
    ms_rd_t r;
    ms_rd_init(&r, b, DLMS_DATE_TIME_LEN);
    out->year = ms_rd_u16be(&r);
    out->month = ms_rd_u8(&r);
    out->day = ms_rd_u8(&r);
    out->wday = ms_rd_u8(&r);
    out->hour = ms_rd_u8(&r);
    out->minute = ms_rd_u8(&r);
    out->second = ms_rd_u8(&r);
    out->hundredths = ms_rd_u8(&r);
    out->deviation = (int16_t)ms_rd_u16be(&r);
    out->status = ms_rd_u8(&r);
}

void dlms_datetime_pack(const dlms_datetime_t *dt, uint8_t b[DLMS_DATE_TIME_LEN])
{
    ms_wr_t w;
    ms_wr_init(&w, b, DLMS_DATE_TIME_LEN);
    ms_wr_u16be(&w, dt->year);
    ms_wr_u8(&w, dt->month);
    ms_wr_u8(&w, dt->day);
    ms_wr_u8(&w, dt->wday);
    ms_wr_u8(&w, dt->hour);
    ms_wr_u8(&w, dt->minute);
    ms_wr_u8(&w, dt->second);
    ms_wr_u8(&w, dt->hundredths);
    ms_wr_u16be(&w, (uint16_t)dt->deviation);
    ms_wr_u8(&w, dt->status);
}

int dlms_datetime_from_utc(int64_t utc_s, unsigned hundredths, int deviation_min,
                           uint8_t status, uint8_t out[DLMS_DATE_TIME_LEN])
{
    bool dev_known = deviation_min != DLMS_DEVIATION_NOT_SPECIFIED;
    if (dev_known &&
        (deviation_min < -DEVIATION_LIMIT_MIN || deviation_min > DEVIATION_LIMIT_MIN))
        return MS_ERANGE;
    if (hundredths > 99 && hundredths != DLMS_FIELD_NOT_SPECIFIED)
        return MS_ERANGE;
    /* UTC = local + deviation (Blue Book 4.1.6.1), so local = UTC - deviation. */
    int64_t local = dev_known ? utc_s - (int64_t)deviation_min * 60 : utc_s;
    ms_tm_t tm;
    ms_tm_from_unix(local, &tm);
    if (tm.year < 0 || tm.year > 0xFFFE)
        return MS_ERANGE;
    dlms_datetime_t dt = {
        .year = (uint16_t)tm.year,
        .month = tm.month,
        .day = tm.day,
        .wday = tm.wday,
        .hour = tm.hour,
        .minute = tm.minute,
        .second = tm.second,
        .hundredths = (uint8_t)hundredths,
        .deviation = dev_known ? (int16_t)deviation_min : DLMS_DEVIATION_NOT_SPECIFIED,
        .status = status,
    };
    dlms_datetime_pack(&dt, out);
    return 0;
}

int dlms_datetime_to_utc(const uint8_t b[DLMS_DATE_TIME_LEN], int64_t *utc_s,
                         dlms_datetime_t *fields)
{
    dlms_datetime_t dt;
    dlms_datetime_unpack(b, &dt);
    if (fields)
        *fields = dt;
    if (dt.year == DLMS_YEAR_NOT_SPECIFIED || dt.month < 1 || dt.month > 12 ||
        dt.day < 1 || dt.day > ms_days_in_month(dt.year, dt.month) || dt.hour > 23 ||
        dt.minute > 59 || dt.second > 59)
        return MS_ERANGE;
    int64_t local = ms_days_from_civil(dt.year, dt.month, dt.day) * 86400 +
                    dt.hour * 3600 + dt.minute * 60 + dt.second;
    if (dt.deviation == DLMS_DEVIATION_NOT_SPECIFIED) {
        *utc_s = local;
        return 1;
    }
    if (dt.deviation < -DEVIATION_LIMIT_MIN || dt.deviation > DEVIATION_LIMIT_MIN)
        return MS_ERANGE;
    *utc_s = local + (int64_t)dt.deviation * 60;
    return 0;
}
