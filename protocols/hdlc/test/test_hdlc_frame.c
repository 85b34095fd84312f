/*
** test_hdlc_frame.c — IEC 62056-46 HDLC frame codec: third-party vectors decoded and
** re-encoded byte for byte, addresses, control field, parameter negotiation field,
** FRMR field, negative cases, bytes fed one at a time, resynchronisation.
** SPDX-License-Identifier: MIT
**
** Vector sources (only byte strings are quoted, as test data; no code is taken):
** - pwitab/dlms-cosem tests (MIT) and epri-dev/DLMS-COSEM tests (BSD-3-Clause), read at
**   run time from MS_SHARED_DATA/dlms (the two JSONL files); toreamun/amshan tests (MIT),
*read from
**   MS_SHARED_DATA/dlms/amshan_norway/hdlc_frame*.hex (see ../shared/data/README.md).
** - epri-dev/DLMS-COSEM test/UnitTest-HDLC-Address.cpp: addresses 03, CE FF (0x67,
**   0x7F) beside 48 68 FE FF (0x1234, 0x3FFF) which is in the JSONL.
** - ../shared/PROTOCOL-NOTES.md: Kamstrup server address 00 02 0C C5 = upper 1,
**   lower 866; header A8 86 21 03 54 with HCS 0x7E49 (bytes 49 7E).
** - github.com/u9n/dlms-cosem issue #62: a client's SNRM with 1-, 2- and 4-byte
**   parameter values; issue #97: a meter's answer whose FCS is 0x8C7E (bytes 7E 8C).
** - gurux.fi forum topic 15618 ("Test 9 and Test 16 Failing"): the DISC/DM pair, a
**   frame with I control 0x94 answered with DM, and the "illegal frame" with a wrong
**   HCS that the conformance plan (HDLC_FRAME_N7, HCS field check) says to discard.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hdlc_frame.h"
#include "hdlc_test_util.h"
#include "ms_check.h"
#include "ms_err.h"

#define PWITAB "dlms/pwitab_2021/hex_vectors.jsonl"
#define EPRI   "dlms/epri_dlms_cosem_vectors.jsonl"
#define AMSHAN "dlms/amshan_norway/"

static uint8_t dec_buf[HDLC_FORMAT_LENGTH_MAX];

/* Decode a whole stream that holds exactly one frame (or one error); asserts that all
 * bytes were consumed after a frame, and that fed one byte at a time the result is the
 * same. max_info: the decoder's information field limit. */
static int decode_stream(const uint8_t *in, size_t len, size_t max_info, hdlc_frame_t *f)
{
    static uint8_t buf2[HDLC_FORMAT_LENGTH_MAX];
    hdlc_decoder_t d;
    hdlc_frame_t g;
    /* one byte at a time first: the result must not depend on the split */
    hdlc_decoder_init(&d, buf2, sizeof buf2);
    hdlc_decoder_set_max_info(&d, max_info);
    int rc1 = 0;
    for (size_t i = 0; i < len && rc1 == 0; i++) {
        size_t used = 0;
        rc1 = hdlc_decoder_feed(&d, in + i, 1, &used, &g);
        assert_int_equal(used, 1);
    }
    hdlc_decoder_init(&d, dec_buf, sizeof dec_buf);
    hdlc_decoder_set_max_info(&d, max_info);
    size_t used = 0;
    int rc = hdlc_decoder_feed(&d, in, len, &used, f);
    assert_int_equal(rc, rc1);
    if (rc == 1) {
        assert_int_equal(used, len);
        assert_int_equal(g.info_len, f->info_len);
        assert_int_equal(g.control, f->control);
        if (f->info_len)
            assert_memory_equal(g.info, f->info, f->info_len);
    }
    return rc;
}

/* Re-encode a decoded frame and compare with the original bytes (flags included). */
static void assert_reencodes(const hdlc_frame_t *f, const uint8_t *wire, size_t len)
{
    uint8_t out[HDLC_FRAME_WIRE_MAX];
    int n = hdlc_frame_encode(f, out, sizeof out);
    assert_int_equal(n, (int)len);
    assert_memory_equal(out, wire, len);
}

/* ---- check values ---- */

static void test_crc_check_values(void **state)
{
    /* CRC-16/X-25 catalogue check value (STYLE-EXAMPLES section 7) */
    assert_int_equal(ms_crc16_x25((const uint8_t *)"123456789", 9), 0x906E);
    /* PROTOCOL-NOTES trap 1: HCS of A8 86 21 03 54 is 0x7E49, sent 49 7E */
    const uint8_t h[] = { 0xA8, 0x86, 0x21, 0x03, 0x54 };
    assert_int_equal(ms_crc16_x25(h, sizeof h), 0x7E49);
}

/* ---- addresses ---- */

static void check_addr_bytes(const uint8_t *b, size_t n, unsigned upper, unsigned lower)
{
    ms_rd_t r;
    hdlc_addr_t a;
    ms_rd_init(&r, b, n);
    assert_int_equal(hdlc_addr_get(&r, &a), 0);
    assert_int_equal(r.pos, n);
    assert_int_equal(a.size, n);
    assert_int_equal(a.upper, upper);
    assert_int_equal(a.lower, lower);
    assert_true(hdlc_addr_valid(&a));
    uint8_t out[4];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(hdlc_addr_put(&w, &a), 0);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, b, n);
}

static void test_addr_vectors(void **state)
{
    uint8_t b[8];
    /* EPRI hdlc3_EXPECTED: HDLCAddress(0x1234, 0x3FFF) */
    size_t n = t_jsonl_hex(EPRI, "context", "hdlc3_EXPECTED", b, sizeof b);
    assert_int_equal(n, 4);
    check_addr_bytes(b, n, 0x1234, 0x3FFF);
    /* EPRI hdlc2_EXPECTED CE FF = (0x67, 0x7F); hdlc1_EXPECTED 03 = 1 */
    check_addr_bytes((const uint8_t[]){ 0xCE, 0xFF }, 2, 0x67, 0x7F);
    check_addr_bytes((const uint8_t[]){ 0x03 }, 1, 1, 0);
    /* PROTOCOL-NOTES: Kamstrup 00 02 0C C5 = upper 1, lower 866 */
    check_addr_bytes((const uint8_t[]){ 0x00, 0x02, 0x0C, 0xC5 }, 4, 1, 866);

    hdlc_addr_t a;
    assert_int_equal(hdlc_addr_server(&a, 1, 866, 4), 0);
    assert_int_equal(a.upper, 1);
    assert_int_equal(a.lower, 866);
    assert_int_equal(hdlc_addr_server(&a, 0x80, 1, 2), MS_ERANGE);
    assert_int_equal(hdlc_addr_server(&a, 1, 0x4000, 4), MS_ERANGE);
    assert_int_equal(hdlc_addr_server(&a, 1, 1, 3), MS_EINVAL);
    assert_int_equal(hdlc_addr_server(&a, 0x7F, 99, 1), 0);
    assert_int_equal(a.lower, 0); /* 1-byte server address has no lower half */
    assert_int_equal(hdlc_addr_client(&a, 0x80), MS_ERANGE);
    assert_int_equal(hdlc_addr_client(&a, 0x10), 0);

    /* no end within 4 bytes; truncated */
    ms_rd_t r;
    ms_rd_init(&r, (const uint8_t[]){ 0, 2, 4, 6, 9 }, 5);
    assert_int_equal(hdlc_addr_get(&r, &a), MS_EFRAME);
    ms_rd_init(&r, (const uint8_t[]){ 0, 2 }, 2);
    assert_int_equal(hdlc_addr_get(&r, &a), MS_ETRUNC);
    /* 3 bytes: returned as size 3, not valid */
    ms_rd_init(&r, (const uint8_t[]){ 0x10, 0xDE, 0x91 }, 3);
    assert_int_equal(hdlc_addr_get(&r, &a), 0);
    assert_int_equal(a.size, 3);
    assert_false(hdlc_addr_valid(&a));
}

/* ---- control field ---- */

static void test_control_values(void **state)
{
    /* 62056-46 control field codes (P/F set), as in the vectors of this file */
    assert_int_equal(hdlc_control(HDLC_SNRM, 0, 0, true), 0x93);
    assert_int_equal(hdlc_control(HDLC_DISC, 0, 0, true), 0x53);
    assert_int_equal(hdlc_control(HDLC_UA, 0, 0, true), 0x73);
    assert_int_equal(hdlc_control(HDLC_DM, 0, 0, true), 0x1F);
    assert_int_equal(hdlc_control(HDLC_FRMR, 0, 0, true), 0x97);
    assert_int_equal(hdlc_control(HDLC_UI, 0, 0, true), 0x13);
    assert_int_equal(hdlc_control(HDLC_UI, 0, 0, false), 0x03);
    assert_int_equal(hdlc_control(HDLC_RR, 0, 4, true), 0x91);
    assert_int_equal(hdlc_control(HDLC_RNR, 0, 2, false), 0x45);
    assert_int_equal(hdlc_control(HDLC_I, 3, 4, true), 0x96); /* pwitab A8 frame */
    assert_int_equal(hdlc_control(HDLC_I, 0, 1, true), 0x30);
    assert_int_equal(hdlc_control(HDLC_UNKNOWN, 0, 0, true), -1);

    uint8_t ns, nr;
    bool pf;
    assert_int_equal(hdlc_control_parse(0x96, &ns, &nr, &pf), HDLC_I);
    assert_int_equal(ns, 3);
    assert_int_equal(nr, 4);
    assert_true(pf);
    assert_int_equal(hdlc_control_parse(0xB1, &ns, &nr, &pf), HDLC_RR);
    assert_int_equal(nr, 5);
    assert_true(pf);
    assert_int_equal(hdlc_control_parse(0xE5, NULL, &nr, &pf), HDLC_RNR);
    assert_int_equal(nr, 7);
    assert_false(pf);
    assert_int_equal(hdlc_control_parse(0x83, NULL, NULL, &pf), HDLC_SNRM);
    assert_false(pf);
    assert_int_equal(hdlc_control_parse(0x09, NULL, NULL, NULL), HDLC_UNKNOWN); /* REJ */
    assert_int_equal(hdlc_control_parse(0x0D, NULL, NULL, NULL), HDLC_UNKNOWN); /* SREJ */
    assert_int_equal(hdlc_control_parse(0x3F, NULL, NULL, NULL), HDLC_UNKNOWN); /* SABM */
    assert_int_equal(hdlc_control_parse(0xBF, NULL, NULL, NULL), HDLC_UNKNOWN); /* XID */
    assert_string_equal(hdlc_type_name(HDLC_FRMR), "FRMR");
    assert_string_equal(hdlc_type_name((hdlc_type_t)99), "unknown");
}

/* ---- pwitab vectors ---- */

typedef struct pw_ctx {
    int frames;
} pw_ctx_t;

static void pw_each(void *ctx, json_t *obj, const uint8_t *b, size_t n)
{
    pw_ctx_t *c = ctx;
    if (n < 9 || b[0] != HDLC_FLAG || b[n - 1] != HDLC_FLAG)
        return; /* not a whole HDLC frame */
    hdlc_frame_t f;
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_reencodes(&f, b, n);
    /* and without flags */
    hdlc_frame_t g;
    assert_int_equal(hdlc_frame_decode(b + 1, n - 2, &g), 0);
    assert_int_equal(g.control, f.control);
    c->frames++;
}

static void test_pwitab_all_frames(void **state)
{
    pw_ctx_t c = { 0 };
    t_jsonl_each(PWITAB, NULL, NULL, pw_each, &c);
    assert_int_equal(c.frames, 8); /* every 7E...7E vector of the file */
}

static void test_pwitab_segmented(void **state)
{
    /* TestHdlcAddress.test_find_address: a real segmented frame, format A8, whose
     * length byte is 0x7E */
    uint8_t b[512];
    size_t n =
        t_jsonl_hex(PWITAB, "context", "TestHdlcAddress.test_find_address", b, sizeof b);
    assert_int_equal(b[1], 0xA8);
    assert_int_equal(b[2], 0x7E);
    hdlc_frame_t f;
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_true(f.segmented);
    assert_int_equal(f.length, 126);
    assert_int_equal(f.type, HDLC_I);
    assert_int_equal(f.ns, 3);
    assert_int_equal(f.nr, 4);
    assert_true(f.pf);
    assert_int_equal(f.dst.size, 1);
    assert_int_equal(f.dst.upper, 0x10); /* client 16 (public client) */
    assert_int_equal(f.src.size, 1);
    assert_int_equal(f.src.upper, 1); /* server 1 */
    assert_int_equal(f.info_len, 126 - 5 - 4);
    /* a middle segment: no LLC header of its own */
    assert_int_equal(hdlc_llc_check(f.info, f.info_len, NULL), MS_EFRAME);
}

static void test_pwitab_ua_params(void **state)
{
    uint8_t b[256];
    size_t n = t_jsonl_hex(PWITAB, "context", "TestUAFrame.test_from_bytes", b, sizeof b);
    hdlc_frame_t f;
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_UA);
    assert_true(f.pf);
    assert_int_equal(f.dst.upper, 0x10);
    assert_int_equal(f.src.size, 2);
    assert_int_equal(f.src.upper, 1);
    assert_int_equal(f.src.lower, 0x11);
    hdlc_params_t p;
    assert_int_equal(hdlc_params_decode(f.info, f.info_len, &p), 0);
    assert_int_equal(p.value[HDLC_P_MAX_INFO_TX], 154);
    assert_int_equal(p.value[HDLC_P_MAX_INFO_RX], 154);
    assert_int_equal(p.value[HDLC_P_WINDOW_TX], 1);
    assert_int_equal(p.value[HDLC_P_WINDOW_RX], 1);
    assert_int_equal(p.width[HDLC_P_MAX_INFO_TX], 1);
    assert_int_equal(p.width[HDLC_P_WINDOW_RX], 4);
    uint8_t out[64];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(hdlc_params_put(&w, &p), (int)f.info_len);
    assert_memory_equal(out, f.info, f.info_len);
}

static void test_pwitab_i_frames(void **state)
{
    uint8_t b[256], info[256];
    hdlc_frame_t f;
    /* TestInformationFrame.test_construct: client -> server AARQ */
    size_t n = t_jsonl_hex(PWITAB, "context", "TestInformationFrame.test_construct", b,
                           sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_I);
    assert_int_equal(f.ns, 0);
    assert_int_equal(f.nr, 0);
    assert_true(f.pf);
    assert_false(f.segmented);
    assert_int_equal(f.dst.size, 2);
    assert_int_equal(f.dst.upper, 1);
    assert_int_equal(f.dst.lower, 17);
    assert_int_equal(f.src.upper, 0x10);
    /* the same test's information_part vector: pwitab lists two objects for this test;
     * the first is "total", the second "information_part" */
    size_t in = 0;
    {
        FILE *fp = fopen(t_data_path(PWITAB), "r");
        assert_non_null(fp);
        char line[8192];
        int seen = 0;
        while (fgets(line, sizeof line, fp)) {
            json_t *o = json_loads(line, 0, NULL);
            assert_non_null(o);
            const char *ctx = json_string_value(json_object_get(o, "context"));
            const char *var = json_string_value(json_object_get(o, "var"));
            if (ctx && var && strcmp(var, "information_part") == 0) {
                size_t m = t_hex(json_string_value(json_object_get(o, "hex")), info,
                                 sizeof info);
                bool response =
                    strcmp(ctx, "TestInformationResponseFrame.test_contruct") == 0;
                if (!response) {
                    assert_int_equal(m, f.info_len);
                    assert_memory_equal(info, f.info, m);
                    in = m;
                }
                seen++;
            }
            json_decref(o);
        }
        fclose(fp);
        assert_int_equal(seen, 2);
    }
    assert_true(in > 0);
    bool response = true;
    assert_int_equal(hdlc_llc_check(f.info, f.info_len, &response), 3);
    assert_false(response); /* E6 E6 00: command */

    /* TestInformationResponseFrame.test_contruct: server -> client AARE */
    n = t_jsonl_hex(PWITAB, "context", "TestInformationResponseFrame.test_contruct", b,
                    sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_I);
    assert_int_equal(f.ns, 0);
    assert_int_equal(f.nr, 1);
    assert_int_equal(f.src.size, 2);
    assert_int_equal(hdlc_llc_check(f.info, f.info_len, &response), 3);
    assert_true(response); /* E6 E7 00 */

    /* TestSnrmFrame.test_parses_correct: SNRM without information field */
    n = t_jsonl_hex(PWITAB, "context", "TestSnrmFrame.test_parses_correct", b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_SNRM);
    assert_true(f.pf);
    assert_int_equal(f.info_len, 0);
    assert_null(f.info);
    hdlc_params_t p;
    assert_int_equal(hdlc_params_decode(f.info, f.info_len, &p), 0);
    assert_int_equal(hdlc_params_get(&p, HDLC_P_MAX_INFO_RX, HDLC_DEFAULT_INFO), 128);
    assert_int_equal(hdlc_params_get(&p, HDLC_P_WINDOW_TX, HDLC_DEFAULT_WINDOW), 1);
}

static void test_pwitab_ui_long(void **state)
{
    /* TestUnnumberedInformationFrame.test_parse: a 579-byte UI push (format A2 43) */
    uint8_t b[1024];
    size_t n = t_jsonl_hex(PWITAB, "context", "TestUnnumberedInformationFrame.test_parse",
                           b, sizeof b);
    hdlc_frame_t f;
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_UI);
    assert_int_equal(f.length, 579);
    assert_false(f.segmented);
    assert_int_equal(f.dst.upper, 0x20);
    assert_int_equal(f.src.size, 2);
    assert_int_equal(f.src.upper, 4);
    assert_int_equal(f.src.lower, 0x41);
    /* over a 128-byte limit: checked whole, then reported with its header */
    assert_int_equal(decode_stream(b, n, 128, &f), MS_ETOOBIG);
    assert_int_equal(f.type, HDLC_UI);
    assert_null(f.info);
    assert_int_equal(f.info_len, 579 - 6 - 4);
    /* and with a buffer smaller than the frame */
    hdlc_decoder_t d;
    uint8_t small[64];
    hdlc_decoder_init(&d, small, sizeof small);
    size_t used;
    assert_int_equal(hdlc_decoder_feed(&d, b, n, &used, &f), MS_ETOOBIG);
    assert_int_equal(used, n);
    assert_int_equal(f.length, 579);
    /* a flipped byte in the middle is caught by the FCS even when not stored */
    b[400] ^= 1;
    hdlc_decoder_init(&d, small, sizeof small);
    assert_int_equal(hdlc_decoder_feed(&d, b, n, &used, &f), MS_EBADFCS);
}

/* ---- EPRI vectors ---- */

static void test_epri_vectors(void **state)
{
    uint8_t b[256], info[64];
    hdlc_frame_t f;
    size_t n = t_jsonl_hex(EPRI, "context", "PUT_TEST_PACKET", b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_UI);
    assert_true(f.pf);
    assert_int_equal(f.dst.size, 2);
    assert_int_equal(f.dst.upper, 0x67);
    assert_int_equal(f.dst.lower, HDLC_ADDR_ALL_STATION);
    assert_int_equal(f.src.upper, 0x66);
    size_t m = t_jsonl_hex(EPRI, "context", "PUT_TEST", info, sizeof info);
    assert_int_equal(f.info_len, m);
    assert_memory_equal(f.info, info, m);
    assert_reencodes(&f, b, n);

    n = t_jsonl_hex(EPRI, "context", "PUT_SNRM", b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_SNRM);
    assert_int_equal(f.dst.size, 4);
    assert_int_equal(f.dst.upper, 1);
    assert_int_equal(f.dst.lower, 17);
    assert_int_equal(f.src.upper, 0x10);
    assert_reencodes(&f, b, n);

    /* BAD_AARQ_TEST_PACKET fails its HCS on purpose (its HCS covers only one address
     * byte): streamed, byte by byte, and without flags */
    n = t_jsonl_hex(EPRI, "context", "BAD_AARQ_TEST_PACKET", b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), MS_EBADHCS);
    assert_int_equal(f.type, HDLC_NONE);
    assert_int_equal(hdlc_frame_decode(b + 1, n - 2, &f), MS_EBADHCS);
}

/* ---- amshan frames (without flags) ---- */

static void amshan_ok(const char *name, hdlc_frame_t *f, uint8_t *wire, size_t *wlen)
{
    char rel[256];
    snprintf(rel, sizeof rel, AMSHAN "%s", name);
    uint8_t b[512];
    size_t n = t_hex_file(rel, b, sizeof b);
    static uint8_t keep[512];
    memcpy(keep, b, n);
    assert_int_equal(hdlc_frame_decode(keep, n, f), 0);
    wire[0] = HDLC_FLAG;
    memcpy(wire + 1, b, n);
    wire[n + 1] = HDLC_FLAG;
    *wlen = n + 2;
    hdlc_frame_t g;
    assert_int_equal(decode_stream(wire, *wlen, 0, &g), 1);
    assert_int_equal(g.info_len, f->info_len);
    assert_reencodes(f, wire, *wlen);
}

static bool has_byte(const uint8_t *p, size_t n, uint8_t v)
{
    return p && memchr(p, v, n) != NULL;
}

static void test_amshan_frames(void **state)
{
    uint8_t wire[600];
    size_t wlen;
    hdlc_frame_t f;
    amshan_ok("hdlc_frame_empty_info.unstuffed_noflags.hex", &f, wire, &wlen);
    assert_int_equal(f.type, HDLC_I);
    assert_int_equal(f.info_len, 0);
    assert_int_equal(f.length, 8);
    assert_int_equal(f.src.size, 2);

    amshan_ok("hdlc_frame_short_info.unstuffed_noflags.hex", &f, wire, &wlen);
    assert_int_equal(f.info_len, 2);

    amshan_ok("hdlc_frame_with_escape_character_in_info.unstuffed_noflags.hex", &f, wire,
              &wlen);
    assert_int_equal(f.type, HDLC_UI);
    assert_true(has_byte(f.info, f.info_len, 0x7D)); /* 0x7D is data, not an escape */

    amshan_ok("hdlc_frame_with_flag_sequence_character_in_info.unstuffed_noflags.hex", &f,
              wire, &wlen);
    assert_true(has_byte(f.info, f.info_len, HDLC_FLAG)); /* 0x7E inside the frame */

    /* The stuffed frame is the form of other HDLC profiles (ISO/IEC 13239 octet
     * transparency), which 62056-46 does not use: read as it is, its length field ends
     * it inside the escapes, so no closing flag follows. */
    uint8_t b[64];
    size_t n = t_hex_file(AMSHAN "hdlc_stuffed_frame_short_info.stuffed_noflags.hex", b,
                          sizeof b);
    assert_int_equal(hdlc_frame_decode(b, n, &f), MS_EFRAME); /* length 13 != 16 */
    wire[0] = HDLC_FLAG;
    memcpy(wire + 1, b, n);
    wire[n + 1] = HDLC_FLAG;
    assert_int_equal(decode_stream(wire, n + 2, 0, &f), MS_EFRAME);
    /* unstuffed here (7D x -> x ^ 0x20), it is a good frame with 7E and 7D inside */
    uint8_t u[64];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        u[k++] = b[i] == 0x7D && i + 1 < n ? (uint8_t)(b[++i] ^ 0x20) : b[i];
    assert_int_equal(k, 13);
    assert_int_equal(hdlc_frame_decode(u, k, &f), 0);
    assert_int_equal(f.info_len, 3);
    assert_int_equal(f.info[0], 0x7E);
    assert_int_equal(f.info[1], 0x7D);
}

/* ---- other public vectors ---- */

static void test_issue_vectors(void **state)
{
    uint8_t b[128];
    hdlc_frame_t f;
    hdlc_params_t p;
    /* u9n/dlms-cosem #62: SNRM with values of 1, 2 and 4 bytes */
    size_t n = t_hex("7E A0 20 20 41 27 93 0C 0C 81 80 13 05 01 80 06 02 02 00 07 04 00 "
                     "00 00 01 08 04 00 00 00 01 B4 F9 7E",
                     b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_SNRM);
    assert_int_equal(f.dst.size, 2);
    assert_int_equal(f.dst.upper, 0x10);
    assert_int_equal(f.dst.lower, 0x20);
    assert_int_equal(f.src.upper, 0x13);
    assert_int_equal(hdlc_params_decode(f.info, f.info_len, &p), 0);
    assert_int_equal(p.value[HDLC_P_MAX_INFO_TX], 128);
    assert_int_equal(p.width[HDLC_P_MAX_INFO_TX], 1);
    assert_int_equal(p.value[HDLC_P_MAX_INFO_RX], 512);
    assert_int_equal(p.width[HDLC_P_MAX_INFO_RX], 2);
    assert_int_equal(p.value[HDLC_P_WINDOW_TX], 1);
    assert_int_equal(p.width[HDLC_P_WINDOW_TX], 4);
    assert_reencodes(&f, b, n);

    /* u9n/dlms-cosem #97: the FCS is 0x8C7E, so the frame ends 7E 8C 7E */
    n = t_hex(
        "7E A0 1B 03 00 02 3C 47 52 D5 51 E6 E7 00 C4 01 C1 00 09 06 01 00 20 20 00 "
        "FF 7E 8C 7E",
        b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_I);
    assert_int_equal(f.src.size, 4);
    assert_int_equal(f.src.upper, 1);
    assert_int_equal(f.src.lower, 3875);
    assert_int_equal(f.info_len, 15);
    assert_reencodes(&f, b, n);

    /* gurux.fi forum 15618: DISC and the DM answer */
    n = t_hex("7E A0 07 03 21 53 03 C7 7E", b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_DISC);
    assert_reencodes(&f, b, n);
    n = t_hex("7E A0 07 21 03 1F 6B E9 7E", b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_DM);
    assert_true(f.pf);
    assert_reencodes(&f, b, n);
    /* ... and its "illegal frame": SNRM control with the HCS of the 0x94 frame */
    n = t_hex(
        "7E A0 1E 03 21 93 72 4F 81 80 12 05 01 80 06 01 80 07 04 00 00 00 01 08 04 "
        "00 00 00 01 53 3B 7E",
        b, sizeof b);
    assert_int_equal(decode_stream(b, n, 0, &f), MS_EBADHCS);
    b[5] = 0x94; /* the frame as first sent: an I frame, HCS and FCS good */
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_int_equal(f.type, HDLC_I);
}

/* PROTOCOL-NOTES trap 1: a header whose HCS holds 0x7E. The frame is assembled here
 * from the notes' header and ms_crc16_x25 (checked above), not by the encoder. */
static void test_flag_in_hcs(void **state)
{
    uint8_t b[200];
    size_t n = 0;
    b[n++] = HDLC_FLAG;
    const uint8_t hdr[] = { 0xA8, 0x86, 0x21, 0x03, 0x54, 0x49, 0x7E };
    memcpy(b + n, hdr, sizeof hdr);
    n += sizeof hdr;
    for (int i = 0; i < 0x86 - 5 - 4; i++)
        b[n++] = (uint8_t)(i % 3 ? 0x7E : i); /* flags inside the information too */
    uint16_t fcs = ms_crc16_x25(b + 1, n - 1);
    b[n++] = (uint8_t)fcs;
    b[n++] = (uint8_t)(fcs >> 8);
    b[n++] = HDLC_FLAG;
    assert_int_equal(n, 0x86 + 2);
    hdlc_frame_t f;
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_true(f.segmented);
    assert_int_equal(f.type, HDLC_I);
    assert_int_equal(f.ns, 2);
    assert_int_equal(f.nr, 2);
    assert_reencodes(&f, b, n); /* the encoder agrees with the hand-built frame */
}

/* ---- negative cases ---- */

/* A valid DISC (gurux forum), used as the base of the cases below. */
static const uint8_t disc[] = { 0x7E, 0xA0, 0x07, 0x03, 0x21, 0x53, 0x03, 0xC7, 0x7E };

/* Hand-built frame: format/length, raw address and control bytes, info; HCS and FCS
 * from ms_crc16_x25; flags around. Returns its length. */
static size_t hand_frame(uint8_t *b, const uint8_t *hdr_tail, size_t tail_len,
                         const uint8_t *info, size_t info_len, int length_delta)
{
    size_t hdr = 2 + tail_len;
    size_t length = hdr + (info_len ? 2 + info_len : 0) + 2;
    length = (size_t)((int)length + length_delta);
    b[0] = HDLC_FLAG;
    b[1] = (uint8_t)(0xA0 | (length >> 8));
    b[2] = (uint8_t)length;
    memcpy(b + 3, hdr_tail, tail_len);
    size_t n = 1 + hdr;
    if (info_len) {
        uint16_t hcs = ms_crc16_x25(b + 1, hdr);
        b[n++] = (uint8_t)hcs;
        b[n++] = (uint8_t)(hcs >> 8);
        memcpy(b + n, info, info_len);
        n += info_len;
    }
    uint16_t fcs = ms_crc16_x25(b + 1, n - 1);
    b[n++] = (uint8_t)fcs;
    b[n++] = (uint8_t)(fcs >> 8);
    b[n++] = HDLC_FLAG;
    return n;
}

static void test_negative_cases(void **state)
{
    uint8_t b[64];
    hdlc_frame_t f;

    memcpy(b, disc, sizeof disc);
    assert_int_equal(decode_stream(b, sizeof disc, 0, &f), 1);
    b[6] ^= 0x01; /* FCS */
    assert_int_equal(decode_stream(b, sizeof disc, 0, &f), MS_EBADFCS);
    memcpy(b, disc, sizeof disc);
    b[4] ^= 0x02; /* source address: FCS no longer matches */
    assert_int_equal(decode_stream(b, sizeof disc, 0, &f), MS_EBADFCS);

    /* too short: length field below 7 */
    memcpy(b, disc, sizeof disc);
    b[2] = 0x05;
    assert_int_equal(decode_stream(b, sizeof disc, 0, &f), MS_ETRUNC);
    /* too short: length 7 but 4-byte destination address */
    uint8_t a4[] = { 0x00, 0x02, 0x00, 0x23, 0x21, 0x53 };
    size_t n = hand_frame(b, a4, sizeof a4, NULL, 0, 0);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    b[2] = 0x07;
    assert_int_equal(decode_stream(b, n, 0, &f), MS_ETRUNC);

    /* no closing flag */
    memcpy(b, disc, sizeof disc);
    b[8] = 0x00;
    assert_int_equal(decode_stream(b, sizeof disc, 0, &f), MS_EFRAME);
    /* a format type other than 3 after a flag */
    memcpy(b, disc, sizeof disc);
    b[1] = 0x80;
    assert_int_equal(decode_stream(b, sizeof disc, 0, &f), MS_EFRAME);

    /* bad HCS */
    const uint8_t ui[] = { 0x03, 0x21, 0x13 };
    const uint8_t info[] = { 0xE6, 0xE6, 0x00, 0xC0, 0x01 };
    n = hand_frame(b, ui, sizeof ui, info, sizeof info, 0);
    assert_int_equal(decode_stream(b, n, 0, &f), 1);
    assert_reencodes(&f, b, n);
    b[6] ^= 0x80;
    assert_int_equal(decode_stream(b, n, 0, &f), MS_EBADHCS);

    /* information field over the limit */
    n = hand_frame(b, ui, sizeof ui, info, sizeof info, 0);
    assert_int_equal(decode_stream(b, n, 5, &f), 1);
    assert_int_equal(decode_stream(b, n, 4, &f), MS_ETOOBIG);
    assert_int_equal(f.type, HDLC_UI);
    assert_int_equal(f.info_len, 5);

    /* a 3-byte source address with good HCS and FCS */
    const uint8_t a3[] = { 0x03, 0x20, 0x40, 0x21, 0x13 };
    n = hand_frame(b, a3, sizeof a3, info, sizeof info, 0);
    assert_int_equal(decode_stream(b, n, 0, &f), MS_EFRAME);
    assert_int_equal(hdlc_frame_decode(b + 1, n - 2, &f), MS_EFRAME);
    /* an address that does not end within 4 bytes */
    const uint8_t a5[] = { 0x02, 0x02, 0x02, 0x02, 0x03, 0x21, 0x13 };
    n = hand_frame(b, a5, sizeof a5, info, sizeof info, 0);
    assert_int_equal(decode_stream(b, n, 0, &f), MS_EFRAME);
    /* one byte between the header and the FCS: no room for an HCS */
    const uint8_t one[] = { 0x03, 0x21, 0x13, 0x55 };
    n = hand_frame(b, one, sizeof one, NULL, 0, 0);
    assert_int_equal(decode_stream(b, n, 0, &f), MS_EFRAME);

    /* flagless decoder: length field vs buffer */
    assert_int_equal(hdlc_frame_decode(disc + 1, 6, &f), MS_EFRAME);
    assert_int_equal(hdlc_frame_decode(disc + 1, 1, &f), MS_ETRUNC);
    assert_int_equal(hdlc_frame_decode(disc + 1, 7, &f), 0);

    /* decoder buffer below the minimum */
    hdlc_decoder_t d;
    uint8_t tiny[8];
    size_t used;
    hdlc_decoder_init(&d, tiny, sizeof tiny);
    assert_int_equal(hdlc_decoder_feed(&d, disc, sizeof disc, &used, &f), MS_EINVAL);
    assert_int_equal(used, sizeof disc);
}

/* Feed a whole stream in chunks of `chunk` bytes; collect results. */
static int feed_all(const uint8_t *in, size_t len, size_t chunk, int *results, int max,
                    uint8_t *controls)
{
    hdlc_decoder_t d;
    hdlc_decoder_init(&d, dec_buf, sizeof dec_buf);
    int k = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        size_t used = 0;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&d, in + pos, n, &used, &f);
        assert_true(used <= n);
        pos += used;
        if (rc != 0 && k < max) {
            controls[k] = f.control;
            results[k++] = rc;
        }
        if (rc == 0)
            assert_int_equal(used, n);
    }
    /* anything held for re-decoding is decoded by a call with no new bytes */
    for (;;) {
        size_t used = 0;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&d, NULL, 0, &used, &f);
        if (rc == 0)
            break;
        if (k < max) {
            controls[k] = f.control;
            results[k++] = rc;
        }
    }
    return k;
}

static void test_stream_resync(void **state)
{
    static const size_t chunks[] = { 1, 2, 3, 7, 1000 };
    uint8_t s[256];
    size_t n = 0;
    /* garbage, idle flags */
    const uint8_t junk[] = { 0x00, 0x11, 0xA0, 0x7D, HDLC_FLAG, HDLC_FLAG };
    memcpy(s + n, junk, sizeof junk);
    n += sizeof junk;
    /* EPRI PUT_SNRM cut before its FCS: its length then swallows the next frame's
     * opening flag and format byte, and no closing flag follows */
    const uint8_t cut[] = { 0xA0, 0x0A, 0x00, 0x02, 0x00, 0x23, 0x21, 0x93 };
    memcpy(s + n, cut, sizeof cut);
    n += sizeof cut;
    memcpy(s + n, disc, sizeof disc); /* DISC, whose closing flag opens the next */
    n += sizeof disc;
    memcpy(s + n, disc + 1, sizeof disc - 1); /* DISC sharing the flag */
    n += sizeof disc - 1;
    /* a frame with a bad HCS, then a DM right behind its header */
    const uint8_t badhcs[] = { 0x7E, 0xA0, 0x1E, 0x03, 0x21, 0x93, 0x72, 0x4F };
    memcpy(s + n, badhcs, sizeof badhcs);
    n += sizeof badhcs;
    const uint8_t dm[] = { 0x7E, 0xA0, 0x07, 0x21, 0x03, 0x1F, 0x6B, 0xE9, 0x7E };
    memcpy(s + n, dm, sizeof dm);
    n += sizeof dm;
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        int r[16];
        uint8_t ctl[16];
        int k = feed_all(s, n, chunks[c], r, 16, ctl);
        /* the junk "A0" before the first flag is skipped silently (hunting); the cut
         * frame has no closing flag; both DISC, the bad HCS, the DM */
        assert_int_equal(k, 5);
        assert_int_equal(r[0], MS_EFRAME);
        assert_int_equal(r[1], 1);
        assert_int_equal(ctl[1], 0x53);
        assert_int_equal(r[2], 1);
        assert_int_equal(ctl[2], 0x53);
        assert_int_equal(r[3], MS_EBADHCS);
        assert_int_equal(r[4], 1);
        assert_int_equal(ctl[4], 0x1F);
    }
}

static void test_decoder_reset_and_busy(void **state)
{
    hdlc_decoder_t d;
    hdlc_decoder_init(&d, dec_buf, sizeof dec_buf);
    hdlc_frame_t f;
    size_t used;
    assert_false(hdlc_decoder_busy(&d));
    assert_int_equal(hdlc_decoder_feed(&d, disc, 5, &used, &f), 0);
    assert_true(hdlc_decoder_busy(&d));
    hdlc_decoder_reset(&d); /* inter-octet time-out: the partial frame is dropped */
    assert_false(hdlc_decoder_busy(&d));
    assert_int_equal(hdlc_decoder_feed(&d, disc + 5, sizeof disc - 5, &used, &f), 0);
    assert_int_equal(hdlc_decoder_feed(&d, disc, sizeof disc, &used, &f), 1);
    assert_int_equal(d.frames, 1);
}

/* ---- encoder errors ---- */

static void test_encode_errors(void **state)
{
    uint8_t out[HDLC_FRAME_WIRE_MAX + 8];
    static uint8_t big[2100];
    hdlc_frame_t f;
    memset(&f, 0, sizeof f);
    f.type = HDLC_I;
    hdlc_addr_server(&f.dst, 1, 17, 2);
    hdlc_addr_client(&f.src, 0x10);
    f.ns = 8;
    assert_int_equal(hdlc_frame_encode(&f, out, sizeof out), MS_EINVAL);
    f.ns = 1;
    f.dst.size = 3;
    assert_int_equal(hdlc_frame_encode(&f, out, sizeof out), MS_EINVAL);
    hdlc_addr_server(&f.dst, 1, 17, 2);
    f.info = big;
    f.info_len = 2047 - 6 - 4 + 1;
    assert_int_equal(hdlc_frame_encode(&f, out, sizeof out), MS_ETOOBIG);
    f.info_len = 2047 - 6 - 4;
    int n = hdlc_frame_encode(&f, out, sizeof out);
    assert_int_equal(n, 2049);
    assert_int_equal(out[1], 0xA7); /* length 2047 = 0x7FF */
    assert_int_equal(out[2], 0xFF);
    assert_int_equal(hdlc_frame_encode(&f, out, 2048), MS_ENOSPC);
    f.info_len = 1;
    f.info = NULL;
    assert_int_equal(hdlc_frame_encode(&f, out, sizeof out), MS_EINVAL);
    f.type = HDLC_NONE;
    f.info_len = 0;
    assert_int_equal(hdlc_frame_encode(&f, out, sizeof out), MS_EINVAL);
    /* an unknown control field is encoded as given (conformance faults) */
    f.type = HDLC_UNKNOWN;
    f.control = 0x09;
    n = hdlc_frame_encode(&f, out, sizeof out);
    assert_int_equal(n, 10); /* 7E A0 08 02 23 21 09 FCS FCS 7E */
    assert_int_equal(out[6], 0x09);
}

/* ---- parameters, LLC, FRMR ---- */

static void test_params(void **state)
{
    hdlc_params_t p;
    memset(&p, 0, sizeof p);
    uint8_t out[64];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(hdlc_params_put(&w, &p), 0); /* nothing present: no field */
    assert_int_equal(w.len, 0);
    hdlc_params_set(&p, HDLC_P_MAX_INFO_TX, 0x80);
    hdlc_params_set(&p, HDLC_P_MAX_INFO_RX, 0x200);
    hdlc_params_set(&p, HDLC_P_WINDOW_RX, 0x10000);
    assert_int_equal(p.width[HDLC_P_MAX_INFO_RX], 2);
    assert_int_equal(p.width[HDLC_P_WINDOW_RX], 4);
    const uint8_t want[] = { 0x81, 0x80, 0x0D, 0x05, 0x01, 0x80, 0x06, 0x02,
                             0x02, 0x00, 0x08, 0x04, 0x00, 0x01, 0x00, 0x00 };
    assert_int_equal(hdlc_params_put(&w, &p), (int)sizeof want);
    assert_memory_equal(out, want, sizeof want);
    p.width[HDLC_P_WINDOW_TX] = 3;
    assert_int_equal(hdlc_params_put(&w, &p), MS_EINVAL);
    p.width[HDLC_P_WINDOW_TX] = 1;
    p.value[HDLC_P_WINDOW_TX] = 0x100;
    assert_int_equal(hdlc_params_put(&w, &p), MS_EINVAL);

    hdlc_params_t q;
    /* bad format identifier; lengths; widths; a parameter twice */
    assert_int_equal(hdlc_params_decode((const uint8_t[]){ 0x82, 0x80, 0x00 }, 3, &q),
                     MS_EFRAME);
    assert_int_equal(
        hdlc_params_decode((const uint8_t[]){ 0x81, 0x80, 0x05, 0x05, 0x01 }, 5, &q),
        MS_EFRAME);
    assert_int_equal(
        hdlc_params_decode((const uint8_t[]){ 0x81, 0x80, 0x05, 0x07, 0x03, 1, 2, 3 }, 8,
                           &q),
        MS_EFRAME);
    assert_int_equal(hdlc_params_decode((const uint8_t[]){ 0x81, 0x80, 0x06, 0x07, 0x01,
                                                           0x01, 0x07, 0x01, 0x02 },
                                        9, &q),
                     MS_EFRAME);
    assert_int_equal(hdlc_params_decode((const uint8_t[]){ 0x81, 0x80 }, 2, &q),
                     MS_EFRAME);
    /* another group and an unknown parameter are skipped */
    assert_int_equal(
        hdlc_params_decode((const uint8_t[]){ 0x81, 0xF0, 0x02, 0xAA, 0xBB, 0x80, 0x06,
                                              0x09, 0x01, 0x05, 0x08, 0x01, 0x03 },
                           13, &q),
        0);
    assert_int_equal(q.width[HDLC_P_WINDOW_RX], 1);
    assert_int_equal(q.value[HDLC_P_WINDOW_RX], 3);
    assert_int_equal(q.width[HDLC_P_MAX_INFO_TX], 0);
    assert_int_equal(hdlc_params_get(&q, HDLC_P_MAX_INFO_TX, 128), 128);
}

static void test_llc_and_frmr(void **state)
{
    uint8_t out[8];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(hdlc_llc_put(&w, false), 0);
    assert_int_equal(hdlc_llc_put(&w, true), 0);
    assert_memory_equal(out, ((const uint8_t[]){ 0xE6, 0xE6, 0x00, 0xE6, 0xE7, 0x00 }),
                        6);
    bool resp;
    assert_int_equal(hdlc_llc_check(out + 3, 3, &resp), 3);
    assert_true(resp);
    assert_int_equal(hdlc_llc_check(out, 2, &resp), MS_ETRUNC);
    assert_int_equal(hdlc_llc_check((const uint8_t[]){ 0xE6, 0xE6, 0x01 }, 3, &resp),
                     MS_EFRAME);

    /* FRMR: rejected I frame 0x32 (N(S) 1, N(R) 1, P), V(S) 2, V(R) 5, Z. Bit order of
     * ISO/IEC 13239: byte 2 = 0 V(S) C/R V(R) from bit 1, byte 3 = W X Y Z. */
    hdlc_frmr_t fr = { .control = 0x32, .vs = 2, .vr = 5, .flags = HDLC_FRMR_Z };
    uint8_t b[3];
    hdlc_frmr_encode(&fr, b);
    assert_memory_equal(b, ((const uint8_t[]){ 0x32, 0xA4, 0x08 }), 3);
    hdlc_frmr_t g;
    assert_int_equal(
        hdlc_frmr_decode((const uint8_t[]){ 0x10, 0xF1 ^ 0x01, 0x05 }, 3, &g), 0);
    assert_int_equal(g.control, 0x10);
    assert_int_equal(g.vs, 0);
    assert_true(g.cr);
    assert_int_equal(g.vr, 7);
    assert_int_equal(g.flags, HDLC_FRMR_W | HDLC_FRMR_Y);
    assert_int_equal(hdlc_frmr_decode(b, 2, &g), MS_EFRAME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_values),
        cmocka_unit_test(test_addr_vectors),
        cmocka_unit_test(test_control_values),
        cmocka_unit_test(test_pwitab_all_frames),
        cmocka_unit_test(test_pwitab_segmented),
        cmocka_unit_test(test_pwitab_ua_params),
        cmocka_unit_test(test_pwitab_i_frames),
        cmocka_unit_test(test_pwitab_ui_long),
        cmocka_unit_test(test_epri_vectors),
        cmocka_unit_test(test_amshan_frames),
        cmocka_unit_test(test_issue_vectors),
        cmocka_unit_test(test_flag_in_hcs),
        cmocka_unit_test(test_negative_cases),
        cmocka_unit_test(test_stream_resync),
        cmocka_unit_test(test_decoder_reset_and_busy),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_llc_and_frmr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
