/*
** ms_hex.h — octets as hexadecimal text and back (traces, keys and system titles in
** model files and scenarios, test vectors).
** SPDX-License-Identifier: MIT
*/
#ifndef MS_HEX_H
#define MS_HEX_H

#include <stddef.h>
#include <stdint.h>

/**
 * Write n octets as 2n lowercase hex digits and a NUL.
 * @param[in]  p    n octets (may be NULL when n == 0)
 * @param[out] out  room for 2n + 1 characters
 * @return out
 */
char *ms_hex_encode(const uint8_t *p, size_t n, char *out);

/**
 * Read hex text: digits in either case, two per octet; white space (space, tab, CR, LF)
 * and colons may stand between octets ("D0 D1", "d0:d1", a hex dump over lines).
 * @param[in]  s, n  the text (not NUL-terminated necessarily)
 * @param[out] out   octets, room for cap
 * @return the number of octets, or MS_EPARSE (a character that is not a hex digit, a
 *         separator inside an octet, an odd number of digits), MS_ENOSPC (more than cap
 *         octets)
 */
int ms_hex_decode(const char *s, size_t n, uint8_t *out, size_t cap);

#endif
