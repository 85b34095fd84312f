/*
** axdr.h — A-XDR encoding of COSEM data: the Data CHOICE, lengths, a value tree decoded
** without malloc, and the COSEM date-time helpers.
** SPDX-License-Identifier: MIT
**
** References (the standards are the authority; clause numbers as cited by the public
** sources named in ../../../shared/PROTOCOL-NOTES.md, not checked against a held copy):
** - IEC 61334-6 (A-XDR): lengths of SEQUENCE OF / OCTET STRING / BIT STRING are one octet
**   below 0x80, else 0x80 | n followed by n length octets, big-endian.
** - DLMS UA 1000-2 "Green Book" (IEC 62056-5-3), the COSEM APDU ASN.1 module: Data and
**   TypeDescription CHOICEs (tags below), compact-array.
** - DLMS UA 1000-1 "Blue Book" (IEC 62056-6-2) 4.1.5 "Common data types" (Table 2) and
**   4.1.6.1 "Date and time formats" (date-time, date, time; deviation; clock status).
**
** Ownership: a decoded tree points into two places, both owned by the caller and both
** needed for as long as the tree is used: the input buffer (string, bit-string and
** compact-array contents are not copied) and the arena (child nodes). Nothing is ever
** freed one by one; reset the arena to reuse it.
*/
#ifndef DLMS_AXDR_H
#define DLMS_AXDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_buf.h"

/** COSEM data types: the tags of the Data CHOICE (Blue Book 4.1.5 Table 2). */
typedef enum dlms_data_type {
    DLMS_NULL_DATA = 0,
    DLMS_ARRAY = 1,
    DLMS_STRUCTURE = 2,
    DLMS_BOOLEAN = 3,
    DLMS_BIT_STRING = 4,
    DLMS_DOUBLE_LONG = 5,          /* Integer32 */
    DLMS_DOUBLE_LONG_UNSIGNED = 6, /* Unsigned32 */
    DLMS_OCTET_STRING = 9,
    DLMS_VISIBLE_STRING = 10,
    DLMS_UTF8_STRING = 12,
    DLMS_BCD = 13,           /* one octet, two BCD digits */
    DLMS_INTEGER = 15,       /* Integer8 */
    DLMS_LONG = 16,          /* Integer16 */
    DLMS_UNSIGNED = 17,      /* Unsigned8 */
    DLMS_LONG_UNSIGNED = 18, /* Unsigned16 */
    DLMS_COMPACT_ARRAY = 19,
    DLMS_LONG64 = 20,          /* Integer64 */
    DLMS_LONG64_UNSIGNED = 21, /* Unsigned64 */
    DLMS_ENUM = 22,            /* Unsigned8 */
    DLMS_FLOAT32 = 23,         /* IEEE 754 binary32, big-endian */
    DLMS_FLOAT64 = 24,         /* IEEE 754 binary64, big-endian */
    DLMS_DATE_TIME = 25,       /* 12 octets */
    DLMS_DATE = 26,            /* 5 octets */
    DLMS_TIME = 27,            /* 4 octets */
    DLMS_DONT_CARE = 255
} dlms_data_type_t;

/** Encoded sizes of the fixed-size octet-string types. */
#define DLMS_DATE_TIME_LEN 12
#define DLMS_DATE_LEN      5
#define DLMS_TIME_LEN      4

/** Default limit of nesting (array/structure/compact-array levels) a decode accepts. */
#define DLMS_MAX_DEPTH_DEFAULT 16

/** A span of bytes the caller owns (or that points into a decoded input). p == NULL means
 * "absent" wherever a field is optional; a present empty value has p != NULL, len 0. */
typedef struct dlms_bytes {
    const uint8_t *p;
    size_t len;
} dlms_bytes_t;

typedef struct dlms_data dlms_data_t;

/**
 * One COSEM value (a node of the Data CHOICE). Which union member holds the value, and
 * what n means, depends on type:
 *
 * | type                                          | n                 | v            |
 * |-----------------------------------------------|-------------------|--------------|
 * | null-data, dont-care                          | 0                 | -            |
 * | array, structure                              | element count     | items[n]     |
 * | compact-array                                 | element count     | ca           |
 * | boolean, bcd, enum, unsigned ... long64-unsigned | 0              | u            |
 * | integer, long, double-long, long64            | 0                 | i            |
 * | octet-string, visible-string, utf8-string     | length in octets  | bytes        |
 * | bit-string                                    | length in bits    | bytes ((n+7)/8
 * octets, first bit = MSB of bytes[0]) | | float32/64, date-time, date, time | octet
 * count       | raw (as on the wire) |
 *
 * For the fixed-size types n is set by the decoder and dlms_data_fixed(); the encoder
 * always writes the type's own size from raw.
 * boolean and bcd keep the octet as received (A-XDR: 0x00 = FALSE, anything else TRUE),
 * so re-encoding is byte-exact. compact-array: ca.td is the contents-description (a tree
 * of the same nodes where array n = number-of-elements with one child, structure n =
 * number of children, leaves only a type) and ca.items the n decoded elements.
 */
struct dlms_data {
    uint8_t type; /* dlms_data_type_t */
    uint32_t n;
    union {
        int64_t i;
        uint64_t u;
        uint8_t raw[DLMS_DATE_TIME_LEN];
        const uint8_t *bytes;
        dlms_data_t *items;
        struct {
            dlms_data_t *td;
            dlms_data_t *items;
        } ca;
    } v;
};

/**
 * Caller-provided storage and limits for decoding: a bump allocator over mem[0..cap).
 * Decoders take child nodes (and list items of APDUs) from it; they never call malloc.
 * Contents are 8-byte aligned. max_depth bounds nesting (default DLMS_MAX_DEPTH_DEFAULT).
 */
typedef struct dlms_arena {
    uint8_t *mem;
    size_t cap;
    size_t used;
    unsigned max_depth;
} dlms_arena_t;

/** Start an arena over mem (cap bytes, caller-owned; not freed by the arena). */
void dlms_arena_init(dlms_arena_t *a, void *mem, size_t cap);

/** Forget everything allocated; trees decoded before become invalid. */
void dlms_arena_reset(dlms_arena_t *a);

/**
 * Take n bytes (8-byte aligned, zero-filled) from the arena.
 * @return the memory, or NULL when it does not fit (the arena is unchanged)
 */
void *dlms_arena_alloc(dlms_arena_t *a, size_t n);

/**
 * Read an A-XDR length (IEC 61334-6): one octet 0..0x7F, or 0x81..0x84 followed by 1..4
 * octets big-endian. Long forms are accepted even where the short form would do.
 * @return 0, MS_ETRUNC (input ends), MS_EFRAME (0x80 or 0x85..0xFF as first octet)
 */
int axdr_read_length(ms_rd_t *r, uint32_t *len);

/**
 * Append len as an A-XDR length in its shortest form (0x81 xx from 128, 0x82 xx xx from
 * 256, 0x83 from 65536, 0x84 from 2^24).
 * @return 0 or MS_ENOSPC
 */
int axdr_write_length(ms_wr_t *w, uint32_t len);

/** Octets axdr_write_length() uses for len (1..5). */
size_t axdr_length_size(uint32_t len);

/**
 * Largest n such that an A-XDR length of n followed by n octets fits in avail octets
 * (0 when avail < 2): the most contents one OCTET STRING (e.g. a datablock) can carry.
 */
size_t axdr_max_contents(size_t avail);

/**
 * Contents whose length is not known in advance. axdr_length_begin() reserves one length
 * octet at w->len and returns its position; once the contents are written,
 * axdr_length_end() stores their length there, widening the length (and moving the
 * contents) when it needs more octets. min_octets 0 gives the shortest form; 1..4 forces
 * at least the long form 0x80|min_octets (to re-encode a peer's long form byte for byte).
 * BER definite lengths (dlms_acse.h) have the same octets.
 * @return axdr_length_end: 0, or MS_ENOSPC (w->err is set), MS_ETOOBIG (contents of
 *         4 GiB or more), or w->err when the writer failed before
 */
size_t axdr_length_begin(ms_wr_t *w);
int axdr_length_end(ms_wr_t *w, size_t at, unsigned min_octets);

/**
 * Read an A-XDR OCTET STRING without its Data tag: axdr_read_length(), then the octets.
 * @param[out] out  points into the reader's buffer
 * @return 0, or the errors of axdr_read_length(); MS_ETRUNC when the length points past
 *         the end
 */
int axdr_read_octets(ms_rd_t *r, dlms_bytes_t *out);

/**
 * Decode one tagged Data value at the reader's position.
 *
 * Implements the Data CHOICE of the Green Book's COSEM APDU module (all types of the enum
 * above, compact-array with its TypeDescription). Lengths use axdr_read_length().
 *
 * @param[in,out] r    reader; on success advanced past the value, on failure its
 *                     position is unspecified
 * @param[in,out] a    arena for child nodes (see "Ownership" above)
 * @param[out]    out  the root node (caller storage)
 * @return 0, or MS_ETRUNC (input ends inside the value, or a length points past the end),
 *         MS_EFRAME (unknown type tag, bad length form, compact-array contents that do
 * not split into whole elements or whose element type has no encoded size), MS_ETOOBIG
 * (nested deeper than a->max_depth), MS_ENOMEM (arena full), MS_EINVAL (NULL argument)
 */
int axdr_decode_data(ms_rd_t *r, dlms_arena_t *a, dlms_data_t *out);

/**
 * Decode a buffer that holds exactly one tagged Data value.
 * @return the same as axdr_decode_data(), and MS_EFRAME when bytes follow the value
 */
int axdr_decode(const uint8_t *buf, size_t len, dlms_arena_t *a, dlms_data_t *out);

/**
 * Append the A-XDR encoding of d (tag, then contents), lengths in shortest form.
 *
 * @return 0, or MS_ENOSPC (w is full; w->err is set), MS_EINVAL (unknown type, a
 * fixed-size type whose n is wrong, a NULL pointer with n > 0, a compact-array element
 * that does not match the contents-description), MS_ERANGE (an integer outside its type's
 * range, e.g. 300 as unsigned), MS_ETOOBIG (deeper than DLMS_MAX_DEPTH_DEFAULT * 4
 * levels)
 */
int axdr_encode_data(ms_wr_t *w, const dlms_data_t *d);

/** True when a and b have the same type and value (recursively; raw octets compared). */
bool dlms_data_equal(const dlms_data_t *a, const dlms_data_t *b);

/** Standard name of a data type ("double-long-unsigned"), "?" for unknown tags. */
const char *dlms_data_type_name(unsigned type);

/* Value constructors (no allocation; pointers are kept, not copied). */

static inline dlms_data_t dlms_data_null(void)
{
    dlms_data_t d = { .type = DLMS_NULL_DATA };
    return d;
}

/** integer, long, double-long or long64. */
static inline dlms_data_t dlms_data_int(dlms_data_type_t type, int64_t v)
{
    dlms_data_t d = { .type = (uint8_t)type };
    d.v.i = v;
    return d;
}

/** boolean (0/1), bcd, unsigned, long-unsigned, double-long-unsigned, long64-unsigned,
 * enum. */
static inline dlms_data_t dlms_data_uint(dlms_data_type_t type, uint64_t v)
{
    dlms_data_t d = { .type = (uint8_t)type };
    d.v.u = v;
    return d;
}

static inline dlms_data_t dlms_data_bool(bool v)
{
    return dlms_data_uint(DLMS_BOOLEAN, v ? 1u : 0u);
}

/** octet-string, visible-string or utf8-string of len octets at p (kept, not copied). */
static inline dlms_data_t dlms_data_string(dlms_data_type_t type, const void *p,
                                           uint32_t len)
{
    dlms_data_t d = { .type = (uint8_t)type, .n = len };
    d.v.bytes = (const uint8_t *)p;
    return d;
}

/** bit-string of nbits bits, the first in the MSB of p[0]. */
static inline dlms_data_t dlms_data_bits(const uint8_t *p, uint32_t nbits)
{
    dlms_data_t d = { .type = DLMS_BIT_STRING, .n = nbits };
    d.v.bytes = p;
    return d;
}

/** array or structure of n nodes at items (kept, not copied). */
static inline dlms_data_t dlms_data_list(dlms_data_type_t type, dlms_data_t *items,
                                         uint32_t n)
{
    dlms_data_t d = { .type = (uint8_t)type, .n = n };
    d.v.items = items;
    return d;
}

/** date-time (12 octets), date (5) or time (4), copied from raw. */
dlms_data_t dlms_data_fixed(dlms_data_type_t type, const uint8_t *raw);

/** float32 / float64 from a C value, and back (IEEE 754, big-endian on the wire). */
dlms_data_t dlms_data_float32(float v);
dlms_data_t dlms_data_float64(double v);
float dlms_data_get_float32(const dlms_data_t *d);
double dlms_data_get_float64(const dlms_data_t *d);

/**
 * A node's value as a signed integer, whatever its integer type (boolean, bcd, enum and
 * every signed/unsigned type). long64-unsigned values above INT64_MAX fail.
 * @return 0, or MS_EINVAL (not an integer type), MS_ERANGE
 */
int dlms_data_to_i64(const dlms_data_t *d, int64_t *out);

/* ---- COSEM date-time (Blue Book 4.1.6.1) ---- */

/** deviation value meaning "not specified" (0x8000 on the wire). */
#define DLMS_DEVIATION_NOT_SPECIFIED INT16_MIN
/** "not specified" for year (0xFFFF) and for the one-octet fields (0xFF). */
#define DLMS_YEAR_NOT_SPECIFIED  0xFFFFu
#define DLMS_FIELD_NOT_SPECIFIED 0xFFu
/** month: 0xFD = daylight_savings_end, 0xFE = daylight_savings_begin. day of month: 0xFD
 * = second last day, 0xFE = last day. */
#define DLMS_MONTH_DST_END   0xFDu
#define DLMS_MONTH_DST_BEGIN 0xFEu
#define DLMS_DAY_SECOND_LAST 0xFDu
#define DLMS_DAY_LAST        0xFEu

/* Clock status bits (Blue Book 4.1.6.1, "clock_status"); 0xFF = not specified. */
#define DLMS_CLOCK_INVALID_VALUE        0x01u
#define DLMS_CLOCK_DOUBTFUL_VALUE       0x02u
#define DLMS_CLOCK_DIFFERENT_BASE       0x04u
#define DLMS_CLOCK_INVALID_STATUS       0x08u
#define DLMS_CLOCK_DAYLIGHT_SAVING      0x80u
#define DLMS_CLOCK_STATUS_NOT_SPECIFIED 0xFFu

/**
 * The fields of a COSEM date-time, unpacked. Every one-octet field may hold
 * DLMS_FIELD_NOT_SPECIFIED (0xFF).
 *
 * Sign of deviation: it is the deviation of local time *to* UTC in minutes, i.e.
 * UTC = local + deviation. Central European Time (UTC+01:00) is -60, CEST -120. This is
 * the Blue Book 4.1.6.1 / IDIS convention: Gurux documents it as "from normal time to
 * UTC" with Paris = -60 (gurux.fi GXDLMSClock, "Deviation in date time"); a Kaifa meter
 * at 20:23:45+02:00 sends -120 (UtilitechAS/amsreader-firmware#809); pwitab/dlms-cosem
 * tests map 0xFF88 to +02:00. Some national companion standards use the opposite sign;
 * that is a meter-model quirk, not this codec's business.
 */
typedef struct dlms_datetime {
    uint16_t year;      /* 0..0xFFFE, DLMS_YEAR_NOT_SPECIFIED */
    uint8_t month;      /* 1..12, DLMS_MONTH_DST_END/BEGIN */
    uint8_t day;        /* 1..31, DLMS_DAY_SECOND_LAST/LAST */
    uint8_t wday;       /* 1 = Monday .. 7 = Sunday */
    uint8_t hour;       /* 0..23 */
    uint8_t minute;     /* 0..59 */
    uint8_t second;     /* 0..59 */
    uint8_t hundredths; /* 0..99 */
    int16_t
        deviation;  /* minutes, UTC = local + deviation; DLMS_DEVIATION_NOT_SPECIFIED */
    uint8_t status; /* DLMS_CLOCK_* bits */
} dlms_datetime_t;

/** Split the 12 wire octets into fields (no validation). */
void dlms_datetime_unpack(const uint8_t b[DLMS_DATE_TIME_LEN], dlms_datetime_t *out);

/** Join fields into the 12 wire octets (year and deviation big-endian). */
void dlms_datetime_pack(const dlms_datetime_t *dt, uint8_t b[DLMS_DATE_TIME_LEN]);

/**
 * Build a date-time for the instant utc_s as a meter whose local time is UTC - deviation
 * shows it: the date and time fields are local (UTC - deviation minutes), day of week is
 * computed, hundredths as given.
 *
 * @param[in]  utc_s          seconds since 1970-01-01T00:00:00Z
 * @param[in]  hundredths     0..99, or DLMS_FIELD_NOT_SPECIFIED
 * @param[in]  deviation_min  -840..840 (the Blue Book names -720..720; real zones reach
 *                            UTC+14), or DLMS_DEVIATION_NOT_SPECIFIED: then no shift is
 *                            applied and utc_s is taken as the local wall-clock time
 * @param[in]  status         clock status octet (DLMS_CLOCK_* or 0xFF)
 * @param[out] out            12 octets
 * @return 0, or MS_ERANGE (deviation or hundredths out of range, year outside 0..65534)
 */
int dlms_datetime_from_utc(int64_t utc_s, unsigned hundredths, int deviation_min,
                           uint8_t status, uint8_t out[DLMS_DATE_TIME_LEN]);

/**
 * The instant a date-time denotes.
 *
 * @param[in]  b       12 octets
 * @param[out] utc_s   seconds since 1970-01-01T00:00:00Z (hundredths dropped)
 * @param[out] fields  the unpacked fields (may be NULL), for deviation, status,
 * hundredths
 * @return 0 (*utc_s is UTC); 1 when deviation is not specified (*utc_s is then the local
 *         wall-clock time counted as if it were UTC); MS_ERANGE when year, month, day,
 *         hour, minute or second is not specified, a DST/last-day marker, or out of range
 *         (e.g. 31 April), or deviation is outside -840..840
 */
int dlms_datetime_to_utc(const uint8_t b[DLMS_DATE_TIME_LEN], int64_t *utc_s,
                         dlms_datetime_t *fields);

#endif
