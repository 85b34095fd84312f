/*
** ms_obis.h — OBIS codes (IEC 62056-6-1, formerly IEC 62056-61): parse and format.
** SPDX-License-Identifier: MIT
*/
#ifndef MS_OBIS_H
#define MS_OBIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** An OBIS code: value groups A (medium) .. F (billing period / historical value). */
typedef struct ms_obis {
    uint8_t a, b, c, d, e, f;
} ms_obis_t;

#define MS_OBIS(a, b, c, d, e, f) ((ms_obis_t){ (a), (b), (c), (d), (e), (f) })

/* Which value groups a parsed text gave (bits of `present`). */
#define MS_OBIS_A   0x01u
#define MS_OBIS_B   0x02u
#define MS_OBIS_C   0x04u
#define MS_OBIS_D   0x08u
#define MS_OBIS_E   0x10u
#define MS_OBIS_F   0x20u
#define MS_OBIS_ALL 0x3Fu

/**
 * Parse an OBIS code in one of the forms used on the wire and in data sets:
 *  - reduced ID codes of IEC 62056-21 data sets: "[A-][B:]C.D[.E][*F|&F]",
 *    e.g. "1.8.1", "1-0:1.8.1*255", "0:1.0.0", "C.1.0", "F.F";
 *  - the six-group dotted form of COSEM logical names: "1.0.1.8.0.255", and the
 *    Blue Book's "A-B:C.D.E.F" ("0-0:1.0.0.255"; F after a dot needs A-B: in front).
 * In value groups C and D the letters C, F, L, P stand for 96, 97, 98, 99
 * (IEC 62056-6-1 clause 5.4, "manufacturer/country specific" letter codes).
 * Groups the text omits are set to 255 and left out of *present.
 *
 * @param[in]  s        text, not NUL-terminated necessarily; not retained
 * @param[in]  len      length of s in bytes
 * @param[out] out      the code
 * @param[out] present  MS_OBIS_* bits of the groups given (may be NULL)
 * @return 0, or MS_EPARSE (bad character, group > 255, wrong number of groups),
 *         MS_EINVAL (NULL arguments)
 */
int ms_obis_parse(const char *s, size_t len, ms_obis_t *out, unsigned *present);

/* Flags of ms_obis_format(). */
#define MS_OBIS_FMT_AB      0x01u /* prefix "A-B:" */
#define MS_OBIS_FMT_F       0x02u /* suffix "*F" */
#define MS_OBIS_FMT_LETTERS 0x04u /* 96..99 in C and D as C, F, L, P */
#define MS_OBIS_FMT_DOTTED  0x08u /* "A.B.C.D.E.F" (overrides the others) */
#define MS_OBIS_FMT_LN                                    \
    0x10u /* "A-B:C.D.E.F", the Blue Book's logical names \
             (overrides the others but DOTTED) */
#define MS_OBIS_FMT_FULL (MS_OBIS_FMT_AB | MS_OBIS_FMT_F)

/**
 * Format an OBIS code as text, NUL-terminated: "C.D.E" plus what flags add, e.g.
 * MS_OBIS_FMT_FULL -> "1-0:1.8.0*255".
 * @param[out] buf  receives the text and a NUL; cap >= 24 always suffices
 * @return the text length (without NUL), or MS_ENOSPC (buf then holds "")
 */
int ms_obis_format(const ms_obis_t *o, unsigned flags, char *buf, size_t cap);

/** True when every value group is equal. */
bool ms_obis_equal(const ms_obis_t *x, const ms_obis_t *y);

/**
 * True when `code` matches `pattern` in every group named by `present` (as returned by
 * ms_obis_parse): how a meter decides that the address "1.8.1" of an R1 request names
 * its register 1-0:1.8.1*255.
 */
bool ms_obis_match(const ms_obis_t *pattern, unsigned present, const ms_obis_t *code);

#endif
