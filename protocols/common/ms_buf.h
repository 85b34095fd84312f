/*
** ms_buf.h — bounds-checked byte reader and writer with a sticky error, and growable
** buffers.
** SPDX-License-Identifier: MIT
**
** Both work on caller-owned memory and never allocate. The first failure is kept in
** ->err and every later call is a no-op, so a codec can write or read a whole structure
** and check once at the end (the pattern of libcoap's coap_pdu_parse).
*/
#ifndef MS_BUF_H
#define MS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/** Writer over buf[0..cap). len grows as bytes are appended; err is 0 or MS_ENOSPC. */
typedef struct ms_wr {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
} ms_wr_t;

/** Reader over buf[0..len). pos advances; err is 0 or MS_ETRUNC. */
typedef struct ms_rd {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    int err;
} ms_rd_t;

/** Start writing into buf (cap bytes, caller-owned, not retained past the writer). */
void ms_wr_init(ms_wr_t *w, uint8_t *buf, size_t cap);

/* Append one value. Each returns 0, or MS_ENOSPC (then nothing is written and w->err is
 * set). Multi-byte integers in the byte order their suffix names. */
int ms_wr_u8(ms_wr_t *w, uint8_t v);
int ms_wr_u16be(ms_wr_t *w, uint16_t v);
int ms_wr_u16le(ms_wr_t *w, uint16_t v);
int ms_wr_u32be(ms_wr_t *w, uint32_t v);
int ms_wr_u64be(ms_wr_t *w, uint64_t v);
/** Append n bytes from p (p may be NULL when n == 0). */
int ms_wr_bytes(ms_wr_t *w, const void *p, size_t n);
/** Append a NUL-terminated string without its NUL. */
int ms_wr_str(ms_wr_t *w, const char *s);
/** Append printf-style text without a NUL. MS_ENOSPC if it does not fit whole. */
int ms_wr_fmt(ms_wr_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ms_wr_vfmt(ms_wr_t *w, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/** Bytes still free. */
size_t ms_wr_room(const ms_wr_t *w);

/**
 * Grow a malloc'ed byte buffer to hold at least `need` bytes: its capacity doubles,
 * starting from `first` (> 0) for a buffer not allocated yet. The contents are kept.
 * @param[in,out] buf, cap  the buffer and its capacity (NULL and 0 at first)
 * @return 0, or MS_ENOMEM (then buffer and capacity are unchanged)
 */
int ms_buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t first);

/** Start reading buf (len bytes, caller-owned). */
void ms_rd_init(ms_rd_t *r, const void *buf, size_t len);

/* Take one value. On underrun each returns 0, sets r->err = MS_ETRUNC and consumes
 * nothing. */
uint8_t ms_rd_u8(ms_rd_t *r);
uint16_t ms_rd_u16be(ms_rd_t *r);
uint16_t ms_rd_u16le(ms_rd_t *r);
uint32_t ms_rd_u32be(ms_rd_t *r);
uint64_t ms_rd_u64be(ms_rd_t *r);
/** Take n bytes: a pointer into the reader's buffer, or NULL (MS_ETRUNC). */
const uint8_t *ms_rd_bytes(ms_rd_t *r, size_t n);
/** Next byte without consuming it, or -1 at the end. */
int ms_rd_peek(const ms_rd_t *r);
/** Bytes left to read. */
size_t ms_rd_left(const ms_rd_t *r);

#endif
