/*
** fuzz_hdlc_frame.c — libFuzzer target: the HDLC frame decoder on arbitrary bytes in
** arbitrary chunks. Every frame it returns must re-encode to exactly the bytes it was
** read from; the results must not depend on how the stream is split; the flagless
** decoder and the field decoders run on the raw input too.
** SPDX-License-Identifier: MIT
**
** Input: byte 0 = chunk size - 1 (low 4 bits) and information field limit selector
** (high 4 bits: 0 none, else 16 * value), then the stream.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdlc_frame.h"
#include "ms_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)     \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

#define MAX_RESULTS 4096

typedef struct run {
    int rc[MAX_RESULTS];
    uint8_t control[MAX_RESULTS];
    size_t info_len[MAX_RESULTS];
    int n;
} run_t;

static uint8_t buf[HDLC_FORMAT_LENGTH_MAX];

/* A frame the decoder returned: its fields are consistent, and (when whole) the
 * encoder gives back the very bytes the decoder holds. */
static void check_frame(const hdlc_decoder_t *d, const hdlc_frame_t *f, int rc)
{
    CHECK(f->length >= HDLC_FRAME_LENGTH_MIN && f->length <= HDLC_FORMAT_LENGTH_MAX);
    CHECK(hdlc_addr_valid(&f->dst) && hdlc_addr_valid(&f->src));
    CHECK(f->info_len + 2u + f->dst.size + f->src.size + 1u + 2u <= f->length);
    CHECK(f->type != HDLC_NONE);
    if (rc == MS_ETOOBIG) {
        CHECK(f->info == NULL);
        return;
    }
    CHECK(f->info_len == 0 ||
          (f->info >= d->buf && f->info + f->info_len <= d->buf + d->cap));
    uint8_t enc[HDLC_FRAME_WIRE_MAX];
    int n = hdlc_frame_encode(f, enc, sizeof enc);
    CHECK(n == f->length + 2);
    CHECK(memcmp(enc + 1, d->buf, f->length) == 0);
    hdlc_frame_t g;
    CHECK(hdlc_frame_decode(enc + 1, (size_t)n - 2, &g) == 0);
    CHECK(g.control == f->control && g.info_len == f->info_len);
    /* the field decoders must cope with any information field */
    hdlc_params_t p;
    if (hdlc_params_decode(f->info, f->info_len, &p) == 0) {
        uint8_t out[64];
        ms_wr_t w;
        ms_wr_init(&w, out, sizeof out);
        CHECK(hdlc_params_put(&w, &p) >= 0);
    }
    hdlc_frmr_t fr;
    if (hdlc_frmr_decode(f->info, f->info_len, &fr) == 0) {
        uint8_t out[3];
        hdlc_frmr_encode(&fr, out);
        CHECK(out[0] == f->info[0] && out[1] == (f->info[1] & 0xFEu)); /* bit 1 is 0 */
    }
    hdlc_llc_check(f->info, f->info_len, NULL);
}

static void decode(const uint8_t *s, size_t len, size_t chunk, size_t max_info, run_t *r)
{
    hdlc_decoder_t d;
    hdlc_decoder_init(&d, buf, sizeof buf);
    hdlc_decoder_set_max_info(&d, max_info);
    r->n = 0;
    size_t pos = 0;
    for (;;) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        size_t used = 0;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&d, n ? s + pos : NULL, n, &used, &f);
        CHECK(used <= n);
        pos += used;
        if (rc == 0) {
            CHECK(used == n);
            if (pos >= len)
                break;
            continue;
        }
        if (rc == 1 || rc == MS_ETOOBIG)
            check_frame(&d, &f, rc);
        else
            CHECK(rc == MS_EBADHCS || rc == MS_EBADFCS || rc == MS_ETRUNC ||
                  rc == MS_EFRAME);
        if (r->n < MAX_RESULTS) {
            r->rc[r->n] = rc;
            r->control[r->n] = f.control;
            r->info_len[r->n] = f.info_len;
            r->n++;
        }
    }
    CHECK(d.replay == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run_t a, b;
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] & 0x0F) + 1;
    size_t max_info = (size_t)(data[0] >> 4) * 16u;
    const uint8_t *s = data + 1;
    size_t len = size - 1;
    decode(s, len, chunk, max_info, &a);
    decode(s, len, len ? len : 1, max_info, &b);
    CHECK(a.n == b.n);
    for (int i = 0; i < a.n; i++) {
        CHECK(a.rc[i] == b.rc[i]);
        CHECK(a.control[i] == b.control[i]);
        CHECK(a.info_len[i] == b.info_len[i]);
    }
    /* the flagless decoder on the raw bytes */
    hdlc_frame_t f;
    if (hdlc_frame_decode(s, len, &f) == 0) {
        uint8_t enc[HDLC_FRAME_WIRE_MAX];
        int n = hdlc_frame_encode(&f, enc, sizeof enc);
        CHECK(n == (int)len + 2 && memcmp(enc + 1, s, len) == 0);
    }
    return 0;
}
