/*
** ms_hex.c — see ms_hex.h.
** SPDX-License-Identifier: MIT
*/
#include "ms_hex.h"

#include "ms_err.h"

static const char digits[] = "0123456789abcdef";

char *ms_hex_encode(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
    return out;
}

static int value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ms_hex_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    size_t k = 0;
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        if (hi < 0 &&
            (s[i] == ' ' || s[i] == ':' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
            continue;
        int v = value(s[i]);
        if (v < 0)
            return MS_EPARSE;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (k == cap)
            return MS_ENOSPC;
        out[k++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (int)k : MS_EPARSE;
}
