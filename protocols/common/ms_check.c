/*
** ms_check.c — CRC-16/X.25 and BCC.
** SPDX-License-Identifier: MIT
*/
#include "ms_check.h"

uint16_t ms_crc16_x25_update(uint16_t crc, const uint8_t *p, size_t n)
{
    /* Byte-wise form of the reflected CCITT polynomial 0x8408: with x the low byte of
     * the register XOR the data byte, folded once (x ^= x << 4), the new register is
     * (crc >> 8) ^ (x << 8) ^ (x << 3) ^ (x >> 4). Equivalent to the bit-serial
     * definition in ISO/IEC 13239 and needs no table. */
    for (size_t i = 0; i < n; i++) {
        uint8_t x = (uint8_t)(crc ^ p[i]);
        x ^= (uint8_t)(x << 4);
        crc = (uint16_t)((crc >> 8) ^ ((uint16_t)x << 8) ^ ((uint16_t)x << 3) ^ (x >> 4));
    }
    return crc;
}

uint16_t ms_crc16_x25(const uint8_t *p, size_t n)
{
    return ms_crc16_x25_final(ms_crc16_x25_update(MS_CRC16_X25_INIT, p, n));
}

uint8_t ms_bcc(const uint8_t *span, size_t len)
{
    uint8_t bcc = 0;
    for (size_t i = 0; i < len; i++)
        bcc ^= span[i];
    return bcc;
}
