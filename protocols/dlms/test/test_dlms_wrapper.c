/*
** test_dlms_wrapper.c — IEC 62056-47 wrapper: pwitab's UDP datagrams, the stream decoder
** fed in every chunk size, bad version, over-long length, encoder limits.
** SPDX-License-Identifier: MIT
**
** Vector source: pwitab/dlms-cosem tests/test_udp_message.py (MIT), via
** $MS_SHARED_DATA/dlms/pwitab_2021/hex_vectors.jsonl: header 0001 0001 0001 0046
** (version 1, source wPort 1, destination wPort 1, 70 APDU octets).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dlms_test_util.h"
#include "dlms_wrapper.h"
#include "ms_err.h"

/* test_udp_message.py:6 */
static const char *const udp6 =
    "0001000100010046db082f192291991641033b30000001e5025ce9d2271fd78be8c204211a916a9d7f"
    "587e0a7a814cadea89e9593f01f92ea8c087b5bdfdefeab6becf282dfe49c08f5be6dc8400";

static void test_datagram(void **state)
{
    uint8_t b[128];
    size_t n = t_hex(udp6, b, sizeof b);
    wrap_frame_t f;
    assert_int_equal(wrap_decode(b, n, &f), 0);
    assert_int_equal(f.version, WRAP_VERSION);
    assert_int_equal(f.src_wport, 1);
    assert_int_equal(f.dst_wport, 1);
    assert_int_equal(f.length, 70);
    assert_ptr_equal(f.apdu, b + 8);
    assert_int_equal(f.apdu[0], 0xDB); /* general-glo-ciphering */

    assert_int_equal(wrap_decode(b, 7, &f), MS_ETRUNC);
    assert_int_equal(wrap_decode(b, n - 1, &f), MS_ETRUNC);
    b[n] = 0;
    assert_int_equal(wrap_decode(b, n + 1, &f), MS_EFRAME); /* octets after the APDU */
    b[1] = 0x02;
    assert_int_equal(wrap_decode(b, n, &f), MS_EFRAME); /* version 2 */
    b[1] = 0x01;
    b[0] = 0x01;
    assert_int_equal(wrap_decode(b, n, &f), MS_EFRAME); /* version 0x0101 */
}

/* Two frames back to back, cut into chunks of every size 1..len: the frames come out the
 * same whatever the split, and consumption stops at each frame's end. */
static void test_stream_chunks(void **state)
{
    uint8_t stream[256], apdu_buf[128];
    size_t n1 = t_hex(udp6, stream, sizeof stream);
    /* a second frame: wPorts 0x10 -> 0x01, a GET-Request */
    size_t n2 = t_hex("000100100001000dc001c100080000010000ff0200", stream + n1,
                      sizeof stream - n1);
    size_t total = n1 + n2;
    for (size_t chunk = 1; chunk <= total; chunk++) {
        wrap_decoder_t d;
        wrap_decoder_init(&d, apdu_buf, sizeof apdu_buf);
        size_t pos = 0;
        int frames = 0;
        while (pos < total) {
            size_t len = total - pos < chunk ? total - pos : chunk;
            size_t used;
            wrap_frame_t f;
            int rc = wrap_decoder_feed(&d, stream + pos, len, &used, &f);
            assert_true(rc >= 0);
            assert_true(used <= len);
            if (rc == 0)
                assert_int_equal(used, len);
            pos += used;
            if (rc == 1) {
                assert_false(wrap_decoder_busy(&d));
                if (frames == 0) {
                    assert_int_equal(pos, n1);
                    assert_int_equal(f.length, 70);
                    assert_memory_equal(f.apdu, stream + 8, 70);
                } else {
                    assert_int_equal(pos, total);
                    assert_int_equal(f.src_wport, 0x10);
                    assert_int_equal(f.dst_wport, 0x01);
                    assert_int_equal(f.length, 13);
                    assert_int_equal(f.apdu[0], 0xC0);
                }
                frames++;
            }
        }
        assert_int_equal(frames, 2);
    }
}

static void test_stream_errors(void **state)
{
    uint8_t buf[64];
    wrap_decoder_t d;
    wrap_frame_t f;
    size_t used;
    /* bad version: refused as soon as the header is complete, then a good frame works */
    uint8_t bad[] = { 0x00, 0x02, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0xAA, 0xBB };
    wrap_decoder_init(&d, buf, sizeof buf);
    assert_int_equal(wrap_decoder_feed(&d, bad, sizeof bad, &used, &f), MS_EFRAME);
    assert_int_equal(used, 8);
    assert_false(wrap_decoder_busy(&d));
    uint8_t good[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x0E };
    assert_int_equal(wrap_decoder_feed(&d, good, sizeof good, &used, &f), 1);
    assert_int_equal(f.length, 1);
    /* over-long: the header announces more than the buffer holds */
    uint8_t big[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00, 0x41 };
    assert_int_equal(wrap_decoder_feed(&d, big, sizeof big, &used, &f), MS_ETOOBIG);
    assert_int_equal(used, 8);
    assert_false(wrap_decoder_busy(&d));
    /* exactly the buffer size is fine */
    uint8_t fits[8 + 64] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00, 0x40 };
    assert_int_equal(wrap_decoder_feed(&d, fits, sizeof fits, &used, &f), 1);
    assert_int_equal(f.length, 64);
    /* the over-long check happens on the header, one octet at a time too */
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(wrap_decoder_feed(&d, big + i, 1, &used, &f), 0);
        assert_true(wrap_decoder_busy(&d));
    }
    assert_int_equal(wrap_decoder_feed(&d, big + 7, 1, &used, &f), MS_ETOOBIG);
    /* an empty APDU is a complete frame */
    uint8_t empty[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00 };
    assert_int_equal(wrap_decoder_feed(&d, empty, sizeof empty, &used, &f), 1);
    assert_int_equal(f.length, 0);
    /* reset drops a partial frame */
    assert_int_equal(wrap_decoder_feed(&d, good, 5, &used, &f), 0);
    assert_true(wrap_decoder_busy(&d));
    wrap_decoder_reset(&d);
    assert_false(wrap_decoder_busy(&d));
    assert_int_equal(wrap_decoder_feed(&d, good, sizeof good, &used, &f), 1);
    assert_int_equal(wrap_decoder_feed(NULL, good, 1, &used, &f), MS_EINVAL);
}

static void test_encode(void **state)
{
    uint8_t out[80], expect[80];
    static const uint8_t apdu[] = { 0xC0, 0x01, 0xC1, 0x00, 0x08, 0x00, 0x00,
                                    0x01, 0x00, 0x00, 0xFF, 0x02, 0x00 };
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(wrap_encode(&w, 0x10, 0x01, apdu, sizeof apdu), 0);
    size_t n =
        t_hex("00010010 0001 000d c001c100080000010000ff0200", expect, sizeof expect);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, expect, n);
    /* header only, then the APDU separately */
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(wrap_encode_header(&w, 0x10, 0x01, sizeof apdu), 0);
    assert_int_equal(w.len, 8);
    assert_memory_equal(out, expect, 8);
    /* limits */
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(wrap_encode(&w, 1, 1, apdu, 70000), MS_ETOOBIG);
    assert_int_equal(wrap_encode_header(&w, 1, 1, 65536), MS_ETOOBIG);
    ms_wr_init(&w, out, 20);
    assert_int_equal(wrap_encode(&w, 1, 1, apdu, sizeof apdu), MS_ENOSPC);
    ms_wr_init(&w, out, 7);
    assert_int_equal(wrap_encode_header(&w, 1, 1, 1), MS_ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datagram),
        cmocka_unit_test(test_stream_chunks),
        cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
