/*
** ms_check.h — check sequences: CRC-16/X.25 (HDLC HCS/FCS, C12.18 packet CRC), the
** IEC 62056-21 block check character, and 7-bit even parity.
** SPDX-License-Identifier: MIT
*/
#ifndef MS_CHECK_H
#define MS_CHECK_H

#include <stddef.h>
#include <stdint.h>

/** Initial register value of CRC-16/X.25 (ISO/IEC 13239 FCS-16). */
#define MS_CRC16_X25_INIT 0xFFFFu

/**
 * Feed bytes into a running CRC-16/X.25 register (reflected polynomial 0x8408, i.e.
 * x^16 + x^12 + x^5 + 1, processed LSB first).
 *
 * Implements: ISO/IEC 13239 FCS-16 as used by IEC 62056-46 (HDLC HCS/FCS) and ANSI
 * C12.18 clause 5.4 (packet CRC). Start with MS_CRC16_X25_INIT; finish with
 * ms_crc16_x25_final().
 * @param[in] crc  running register
 * @param[in] p    bytes, not retained (may be NULL when n == 0)
 * @param[in] n    number of bytes
 * @return the updated register; cannot fail
 */
uint16_t ms_crc16_x25_update(uint16_t crc, const uint8_t *p, size_t n);

/** Final XOR (0xFFFF) of a running CRC-16/X.25 register. */
static inline uint16_t ms_crc16_x25_final(uint16_t crc)
{
    return (uint16_t)(crc ^ 0xFFFFu);
}

/**
 * CRC-16/X.25 of a whole buffer. Check value: "123456789" -> 0x906E (the catalogue
 * value of CRC-16/X-25). On the wire the result is sent least significant byte first.
 */
uint16_t ms_crc16_x25(const uint8_t *p, size_t n);

/**
 * IEC 62056-21 block check character: XOR of every byte of the span.
 *
 * Implements: IEC 62056-21:2002 clause 6.3 (BCC, ISO 1155). The span starts after the
 * first SOH or STX and ends with ETX or EOT inclusive; the caller passes exactly that
 * span. Vector: "B0" ETX (after SOH) -> 0x71.
 * @return the BCC byte; cannot fail
 */
uint8_t ms_bcc(const uint8_t *span, size_t len);

/**
 * The 7-bit character c with bit 7 set to even parity over bits 0..6 (IEC 62056-21
 * modes A-D use 7E1: ISO/IEC 646 characters with even parity, clause 6.1).
 */
static inline uint8_t ms_parity_even7(uint8_t c)
{
    c &= 0x7F;
    return (uint8_t)(c | (__builtin_parity(c) << 7));
}

/** 1 if the 8-bit value (7 data bits + parity in bit 7) has even parity, else 0. */
static inline int ms_parity_even7_ok(uint8_t c)
{
    return __builtin_parity(c) == 0;
}

#endif
