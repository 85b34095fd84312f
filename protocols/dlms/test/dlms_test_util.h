/*
** dlms_test_util.h — helpers shared by the DLMS unit tests: third-party data from
** MS_SHARED_DATA (a missing file is a failure, not a skip), hex conversion.
** SPDX-License-Identifier: MIT
*/
#ifndef DLMS_TEST_UTIL_H
#define DLMS_TEST_UTIL_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of a file under $MS_SHARED_DATA/dlms/. Aborts when MS_SHARED_DATA is unset. */
static inline const char *t_dlms_path(const char *rel)
{
    static char path[2048];
    const char *base = getenv("MS_SHARED_DATA");
    if (!base || !*base) {
        fprintf(stderr, "MS_SHARED_DATA is not set: run the test through ctest\n");
        abort();
    }
    snprintf(path, sizeof path, "%s/dlms/%s", base, rel);
    return path;
}

/* Read a whole file (NUL-terminated copy); aborts when it is missing. free() it. */
static inline char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing third-party vector file %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        abort();
    }
    fclose(f);
    b[n] = 0;
    if (len)
        *len = (size_t)n;
    return b;
}

/* Hex text (whitespace ignored) to octets. Returns the octet count; aborts on bad text
 * or overflow: test data must be right. */
static inline size_t t_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else {
            fprintf(stderr, "bad hex character '%c'\n", *p);
            abort();
        }
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap) {
            fprintf(stderr, "hex longer than %zu octets\n", cap);
            abort();
        }
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0) {
        fprintf(stderr, "odd number of hex digits\n");
        abort();
    }
    return n;
}

/* Print octets as hex to stderr (for failure messages). */
static inline void t_dump(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s (%zu):", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", p[i]);
    fprintf(stderr, "\n");
}

#endif
