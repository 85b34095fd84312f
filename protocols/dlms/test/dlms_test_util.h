/*
** dlms_test_util.h — helpers shared by the DLMS unit tests: third-party data from
** MS_SHARED_DATA (a missing file is a failure, not a skip), hex conversion.
** SPDX-License-Identifier: MIT
*/
#ifndef DLMS_TEST_UTIL_H
#define DLMS_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_hex.h"

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
    int n = ms_hex_decode(hex, strlen(hex), out, cap);
    if (n < 0) {
        fprintf(stderr, "bad hex (%s) in %.40s\n", ms_err_name(n), hex);
        abort();
    }
    return (size_t)n;
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
