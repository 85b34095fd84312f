/*
** hdlc_test_util.h — helpers shared by the HDLC unit tests: third-party vectors from
** MS_SHARED_DATA (hex files and JSONL), hex decoding, whole-stream decoding.
** SPDX-License-Identifier: MIT
*/
#ifndef HDLC_TEST_UTIL_H
#define HDLC_TEST_UTIL_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdlc_frame.h"
#include "ms_err.h"
#include "ms_hex.h"

/* Path of a file under MS_SHARED_DATA (../shared/data/README.md). A missing variable or
 * file fails the whole test program loudly: a missing vector is a failure, not a skip. */
static inline const char *t_data_path(const char *rel)
{
    static char path[1200];
    const char *base = getenv("MS_SHARED_DATA");
    if (!base || !*base) {
        fprintf(stderr, "MS_SHARED_DATA is not set: run the test through ctest\n");
        abort();
    }
    snprintf(path, sizeof path, "%s/%s", base, rel);
    return path;
}

/* Decode hex text (whitespace ignored) into out. Aborts on a bad digit or overflow. */
static inline size_t t_hex(const char *hex, uint8_t *out, size_t cap)
{
    int n = ms_hex_decode(hex, strlen(hex), out, cap);
    if (n < 0) {
        fprintf(stderr, "bad hex (%s) in %.40s\n", ms_err_name(n), hex);
        abort();
    }
    return (size_t)n;
}

/* Read a hex file under MS_SHARED_DATA into out; returns its length in bytes. */
static inline size_t t_hex_file(const char *rel, uint8_t *out, size_t cap)
{
    const char *path = t_data_path(rel);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "missing third-party vector %s\n", path);
        abort();
    }
    static char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return t_hex(text, out, cap);
}

/* Every object of a JSONL file under MS_SHARED_DATA whose `field` equals `value` (or
 * every object when field is NULL) is passed to fn with its "hex" bytes. Returns the
 * number of objects passed. Aborts when the file is missing or malformed. */
typedef void (*t_jsonl_fn)(void *ctx, json_t *obj, const uint8_t *bytes, size_t len);

static inline int t_jsonl_each(const char *rel, const char *field, const char *value,
                               t_jsonl_fn fn, void *ctx)
{
    const char *path = t_data_path(rel);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "missing third-party vector %s\n", path);
        abort();
    }
    static char line[1 << 16];
    static uint8_t bytes[1 << 15];
    int count = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (!o) {
            fprintf(stderr, "%s:%d: %s\n", path, lineno, jerr.text);
            abort();
        }
        const char *v = field ? json_string_value(json_object_get(o, field)) : NULL;
        const char *hex = json_string_value(json_object_get(o, "hex"));
        if (hex && (!field || (v && strcmp(v, value) == 0))) {
            size_t n = t_hex(hex, bytes, sizeof bytes);
            fn(ctx, o, bytes, n);
            count++;
        }
        json_decref(o);
    }
    fclose(f);
    return count;
}

/* Collects the bytes of the first object passed. */
typedef struct t_first {
    uint8_t b[1 << 15];
    size_t len;
    int n;
} t_first_t;

static inline void t_first_fn(void *ctx, json_t *obj, const uint8_t *bytes, size_t len)
{
    t_first_t *t = ctx;
    if (t->n++ == 0) {
        memcpy(t->b, bytes, len);
        t->len = len;
    }
}

/* Bytes of the one object of a JSONL file whose field equals value (aborts when there
 * is none). */
static inline size_t t_jsonl_hex(const char *rel, const char *field, const char *value,
                                 uint8_t *out, size_t cap)
{
    static t_first_t t;
    t.n = 0;
    t.len = 0;
    t_jsonl_each(rel, field, value, t_first_fn, &t);
    if (t.n == 0 || t.len > cap) {
        fprintf(stderr, "%s: no vector with %s = %s\n", rel, field, value);
        abort();
    }
    memcpy(out, t.b, t.len);
    return t.len;
}

#endif
