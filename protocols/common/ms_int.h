/*
** ms_int.h — exact integer arithmetic helpers (floor division, a*b/c without overflow).
** SPDX-License-Identifier: MIT
**
** The meter model keeps energy, power and time as integers (DESIGN.md "Meter model");
** these keep rounding explicit: always towards minus infinity, so sums of differences
** telescope.
*/
#ifndef MS_INT_H
#define MS_INT_H

#include <stdint.h>

/** floor(a / b) for b > 0, also for negative a (e.g. the start of a day before 1970). */
static inline int64_t ms_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/** floor(a * b / c) for c > 0, exact for every int64 a and b whose result fits. */
static inline int64_t ms_muldiv_floor(int64_t a, int64_t b, int64_t c)
{
    int64_t p64;
    if (!__builtin_mul_overflow(a, b, &p64)) /* the common case: no 128-bit division */
        return ms_floor_div(p64, c);
    __int128 p = (__int128)a * b;
    __int128 q = p / c;
    if (p % c != 0 && p < 0)
        q--;
    return (int64_t)q;
}

#endif
