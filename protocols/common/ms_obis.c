/*
** ms_obis.c — OBIS code parse and format.
** SPDX-License-Identifier: MIT
*/
#include "ms_obis.h"

#include <stdio.h>

#include "ms_err.h"

/* Letter codes for 96..99 in groups C and D (IEC 62056-6-1 clause 5.4). */
static const char letters[] = "CFLP";

/* One value group: decimal 0..255, or (letters_ok) one of C F L P. Returns the number
 * of characters used, 0 on error. */
static size_t group(const char *s, size_t len, bool letters_ok, unsigned *v)
{
    if (len == 0)
        return 0;
    if (letters_ok) {
        for (unsigned i = 0; i < 4; i++) {
            if (s[0] == letters[i]) {
                *v = 96 + i;
                return 1;
            }
        }
    }
    size_t n = 0;
    unsigned x = 0;
    while (n < len && s[n] >= '0' && s[n] <= '9') {
        x = x * 10 + (unsigned)(s[n] - '0');
        if (x > 255)
            return 0;
        n++;
    }
    if (n == 0 || n > 3)
        return 0;
    *v = x;
    return n;
}

int ms_obis_parse(const char *s, size_t len, ms_obis_t *out, unsigned *present)
{
    if (!s || !out)
        return MS_EINVAL;
    unsigned g[6] = { 255, 255, 255, 255, 255, 255 };
    unsigned mask = 0;
    size_t i = 0, n;

    /* Six dotted groups (COSEM logical name)? Count the dots first. */
    unsigned dots = 0;
    bool other = false;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '.')
            dots++;
        else if (s[k] < '0' || s[k] > '9')
            other = true;
    }
    if (dots == 5 && !other) {
        for (int k = 0; k < 6; k++) {
            n = group(s + i, len - i, false, &g[k]);
            if (!n)
                return MS_EPARSE;
            i += n;
            if (k < 5) {
                if (i >= len || s[i] != '.')
                    return MS_EPARSE;
                i++;
            }
        }
        mask = MS_OBIS_ALL;
        goto done;
    }

    /* [A-][B:] prefix */
    unsigned v;
    n = group(s, len, false, &v);
    if (n && n < len && s[n] == '-') {
        g[0] = v;
        mask |= MS_OBIS_A;
        i = n + 1;
        n = group(s + i, len - i, false, &v);
        if (!n || i + n >= len || s[i + n] != ':')
            return MS_EPARSE;
        g[1] = v;
        mask |= MS_OBIS_B;
        i += n + 1;
    } else if (n && n < len && s[n] == ':') {
        g[1] = v;
        mask |= MS_OBIS_B;
        i = n + 1;
    }

    /* C.D[.E] */
    for (int k = 2; k <= 4; k++) {
        n = group(s + i, len - i, k <= 3, &g[k]);
        if (!n)
            return MS_EPARSE;
        mask |= 1u << k;
        i += n;
        if (i < len && s[i] == '.' && k < 4) {
            i++;
            continue;
        }
        if (k == 2)
            return MS_EPARSE; /* C alone is not an OBIS code */
        break;
    }

    /* [*F | &F], or ".F" after A-B:C.D.E (the COSEM logical name as the Blue Book
     * writes it, "0-0:1.0.0.255") */
    bool ln_f = i < len && s[i] == '.' && (mask & MS_OBIS_A) && (mask & MS_OBIS_E);
    if (i < len && (s[i] == '*' || s[i] == '&' || ln_f)) {
        i++;
        n = group(s + i, len - i, false, &g[5]);
        if (!n)
            return MS_EPARSE;
        mask |= MS_OBIS_F;
        i += n;
    }
    if (i != len)
        return MS_EPARSE;

done:
    *out = MS_OBIS(g[0], g[1], g[2], g[3], g[4], g[5]);
    if (present)
        *present = mask;
    return 0;
}

/* Group value as text: a letter for 96..99 when asked. */
static const char *gtext(unsigned v, bool letter, char tmp[4])
{
    if (letter && v >= 96 && v <= 99) {
        tmp[0] = letters[v - 96];
        tmp[1] = 0;
    } else {
        snprintf(tmp, 4, "%u", v);
    }
    return tmp;
}

int ms_obis_format(const ms_obis_t *o, unsigned flags, char *buf, size_t cap)
{
    int n;
    if (flags & MS_OBIS_FMT_DOTTED) {
        n = snprintf(buf, cap, "%u.%u.%u.%u.%u.%u", o->a, o->b, o->c, o->d, o->e, o->f);
    } else if (flags & MS_OBIS_FMT_LN) {
        n = snprintf(buf, cap, "%u-%u:%u.%u.%u.%u", o->a, o->b, o->c, o->d, o->e, o->f);
    } else {
        bool l = (flags & MS_OBIS_FMT_LETTERS) != 0;
        char tc[4], td[4], ab[12] = "", f[8] = "";
        if (flags & MS_OBIS_FMT_AB)
            snprintf(ab, sizeof ab, "%u-%u:", o->a, o->b);
        if (flags & MS_OBIS_FMT_F)
            snprintf(f, sizeof f, "*%u", o->f);
        n = snprintf(buf, cap, "%s%s.%s.%u%s", ab, gtext(o->c, l, tc), gtext(o->d, l, td),
                     o->e, f);
    }
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = 0;
        return MS_ENOSPC;
    }
    return n;
}

bool ms_obis_equal(const ms_obis_t *x, const ms_obis_t *y)
{
    return x->a == y->a && x->b == y->b && x->c == y->c && x->d == y->d && x->e == y->e &&
           x->f == y->f;
}

bool ms_obis_match(const ms_obis_t *p, unsigned present, const ms_obis_t *code)
{
    const uint8_t pv[6] = { p->a, p->b, p->c, p->d, p->e, p->f };
    const uint8_t cv[6] = { code->a, code->b, code->c, code->d, code->e, code->f };
    for (int k = 0; k < 6; k++) {
        if ((present & (1u << k)) && pv[k] != cv[k])
            return false;
    }
    return true;
}
