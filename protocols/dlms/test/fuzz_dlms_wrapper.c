/*
** fuzz_dlms_wrapper.c — libFuzzer target: the IEC 62056-47 stream decoder on arbitrary
** bytes in arbitrary chunks; every frame is re-encoded and must equal the octets it was
** decoded from; the datagram decoder on the whole input likewise.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = chunk size - 1 (low 4 bits) and buffer size selector (high 4 bits),
** then the stream.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlms_wrapper.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static void reencode(const wrap_frame_t *f, const uint8_t *orig, size_t orig_len)
{
    uint8_t out[8 + 0x10000];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    CHECK(wrap_encode(&w, f->src_wport, f->dst_wport, f->apdu, f->length) == 0);
    CHECK(w.len == orig_len && memcmp(out, orig, orig_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = { 0, 1, 8, 64, 200, 1024, 4096, 65535 };
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 15u) + 1;
    size_t cap = caps[(data[0] >> 4) & 7u];
    data++;
    size--;

    wrap_frame_t f;
    if (wrap_decode(data, size, &f) == 0)
        reencode(&f, data, size);

    uint8_t *buf = malloc(cap ? cap : 1); /* exact size: ASan sees any overrun */
    wrap_decoder_t d;
    wrap_decoder_init(&d, buf, cap);
    size_t pos = 0, frame_start = 0;
    uint8_t *copy = malloc(size ? size : 1); /* octets of the frame in progress */
    while (pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        size_t used = 0;
        int rc = wrap_decoder_feed(&d, data + pos, n, &used, &f);
        CHECK(used <= n);
        if (rc == 0)
            CHECK(used == n && wrap_decoder_busy(&d));
        pos += used;
        if (rc == 1) {
            CHECK(!wrap_decoder_busy(&d));
            CHECK(f.length <= cap);
            memcpy(copy, data + frame_start, pos - frame_start);
            reencode(&f, copy, pos - frame_start);
            frame_start = pos;
        } else if (rc < 0) {
            CHECK(rc == MS_EFRAME || rc == MS_ETOOBIG);
            CHECK(!wrap_decoder_busy(&d));
            CHECK(pos - frame_start == WRAP_HEADER_LEN);
            frame_start = pos;
        }
    }
    free(copy);
    free(buf);
    return 0;
}
