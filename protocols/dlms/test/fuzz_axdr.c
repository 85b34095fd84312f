/*
** fuzz_axdr.c — libFuzzer target: A-XDR Data decoding with varied arena sizes and depth
** limits. Whatever decodes must encode again (never longer than its input, since the
** encoder writes shortest lengths), decode to an equal tree and encode to the same
** octets; date-time values go through the UTC helpers and back.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = max depth - 1 (low 5 bits), byte 1 = arena size selector, then Data.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axdr.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static void check_datetimes(const dlms_data_t *d, unsigned depth)
{
    if (depth > 64)
        return;
    const uint8_t *b = NULL;
    if (d->type == DLMS_DATE_TIME)
        b = d->v.raw;
    else if (d->type == DLMS_OCTET_STRING && d->n == DLMS_DATE_TIME_LEN)
        b = d->v.bytes;
    if (b) {
        int64_t t, t2;
        dlms_datetime_t f;
        int rc = dlms_datetime_to_utc(b, &t, &f);
        CHECK(rc == 0 || rc == 1 || rc == MS_ERANGE);
        if (rc >= 0) {
            uint8_t back[DLMS_DATE_TIME_LEN];
            int dev = rc == 1 ? DLMS_DEVIATION_NOT_SPECIFIED : f.deviation;
            unsigned h = f.hundredths <= 99 ? f.hundredths : DLMS_FIELD_NOT_SPECIFIED;
            int rc2 = dlms_datetime_from_utc(t, h, dev, f.status, back);
            if (rc2 == 0) {
                CHECK(dlms_datetime_to_utc(back, &t2, NULL) == rc && t2 == t);
                /* same fields except the day of week, which is computed */
                CHECK((memcmp(back, b, 4) == 0 && memcmp(back + 5, b + 5, 7) == 0) ||
                      h != f.hundredths);
            } else {
                CHECK(rc2 == MS_ERANGE);
            }
        }
    }
    if (d->type == DLMS_ARRAY || d->type == DLMS_STRUCTURE)
        for (uint32_t i = 0; i < d->n; i++)
            check_datetimes(&d->v.items[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = { 0, 64, 512, 4096, 65536, 1 << 20 };
    if (size < 2)
        return 0;
    unsigned depth = (data[0] & 31u) + 1;
    size_t cap = caps[data[1] % 6];
    data += 2;
    size -= 2;

    void *mem = malloc(cap ? cap : 1);
    dlms_arena_t a;
    dlms_arena_init(&a, mem, cap);
    a.max_depth = depth;
    dlms_data_t d;
    ms_rd_t r;
    ms_rd_init(&r, data, size);
    int rc = axdr_decode_data(&r, &a, &d);
    if (rc < 0) {
        CHECK(rc == MS_ETRUNC || rc == MS_EFRAME || rc == MS_ETOOBIG || rc == MS_ENOMEM);
        free(mem);
        return 0;
    }
    CHECK(r.pos >= 1 && r.pos <= size);
    check_datetimes(&d, 0);

    size_t ecap = r.pos + 16;
    uint8_t *e1 = malloc(ecap), *e2 = malloc(ecap);
    ms_wr_t w;
    ms_wr_init(&w, e1, ecap);
    CHECK(axdr_encode_data(&w, &d) == 0); /* what decodes, encodes */
    CHECK(w.len <= r.pos);
    size_t l1 = w.len;

    size_t cap2 = a.used + 64; /* the re-encoding needs no more nodes than the input */
    void *mem2 = malloc(cap2);
    dlms_arena_t a2;
    dlms_arena_init(&a2, mem2, cap2);
    a2.max_depth = depth;
    dlms_data_t d2;
    CHECK(axdr_decode(e1, l1, &a2, &d2) == 0);
    CHECK(dlms_data_equal(&d, &d2));
    ms_wr_init(&w, e2, ecap);
    CHECK(axdr_encode_data(&w, &d2) == 0);
    CHECK(w.len == l1 && memcmp(e1, e2, l1) == 0);
    free(mem2);
    free(e1);
    free(e2);
    free(mem);
    return 0;
}
