/*
** test_common.c — unit tests of protocols/common: error table, byte reader/writer,
** CRC-16/X.25, BCC, parity, OBIS codes, civil time.
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ms_buf.h"
#include "ms_check.h"
#include "ms_hex.h"
#include "ms_err.h"
#include "ms_obis.h"
#include "ms_time.h"

static void test_err_table(void **state)
{
    assert_string_equal(ms_strerror(MS_EBADBCC), "block check character (BCC) mismatch");
    assert_string_equal(ms_err_name(MS_EPARITY), "MS_EPARITY");
    assert_string_equal(ms_strerror(-9999), "unknown error");
    assert_string_equal(ms_err_name(0), "MS_OK");
    assert_int_equal(ms_err_from_errno(2 /* ENOENT */), MS_ENOENT);
}

static void test_reserve(void **state)
{
    uint8_t *b = NULL;
    size_t cap = 0;
    assert_int_equal(ms_buf_reserve(&b, &cap, 0, 16), 0);
    assert_null(b);
    assert_int_equal(ms_buf_reserve(&b, &cap, 5, 16), 0);
    assert_int_equal(cap, 16);
    memcpy(b, "12345", 5);
    assert_int_equal(ms_buf_reserve(&b, &cap, 40, 16), 0);
    assert_int_equal(cap, 64); /* doubled: 32, 64 */
    assert_memory_equal(b, "12345", 5);
    assert_int_equal(ms_buf_reserve(&b, &cap, 64, 16), 0);
    assert_int_equal(cap, 64);
    free(b);
}

static void test_writer(void **state)
{
    uint8_t b[8];
    ms_wr_t w;
    ms_wr_init(&w, b, sizeof b);
    assert_int_equal(ms_wr_u16be(&w, 0x1234), 0);
    assert_int_equal(ms_wr_u16le(&w, 0x1234), 0);
    assert_int_equal(ms_wr_fmt(&w, "%d", 42), 0);
    assert_int_equal(w.len, 6);
    assert_memory_equal(b,
                        "\x12\x34\x34\x12"
                        "42",
                        6);
    /* 4 bytes do not fit in the 2 left: nothing written, error sticks */
    assert_int_equal(ms_wr_u32be(&w, 1), MS_ENOSPC);
    assert_int_equal(w.len, 6);
    assert_int_equal(ms_wr_u8(&w, 1), MS_ENOSPC);
    assert_int_equal(ms_wr_room(&w), 0);
    /* formatted text that would only fit without its NUL still fits */
    ms_wr_init(&w, b, 3);
    assert_int_equal(ms_wr_fmt(&w, "abc"), MS_ENOSPC); /* vsnprintf needs the NUL */
    ms_wr_init(&w, b, 4);
    assert_int_equal(ms_wr_fmt(&w, "abc"), 0);
    assert_int_equal(w.len, 3);
}

static void test_reader(void **state)
{
    const uint8_t b[] = { 0x12, 0x34, 0x56, 0x78, 0x9A };
    ms_rd_t r;
    ms_rd_init(&r, b, sizeof b);
    assert_int_equal(ms_rd_peek(&r), 0x12);
    assert_int_equal(ms_rd_u32be(&r), 0x12345678);
    assert_int_equal(ms_rd_left(&r), 1);
    assert_int_equal(ms_rd_u16be(&r), 0); /* underrun */
    assert_int_equal(r.err, MS_ETRUNC);
    assert_int_equal(r.pos, 4);      /* nothing consumed */
    assert_null(ms_rd_bytes(&r, 1)); /* sticky */
    ms_rd_init(&r, b, sizeof b);
    assert_int_equal(ms_rd_u16le(&r), 0x3412);
    assert_memory_equal(ms_rd_bytes(&r, 3), b + 2, 3);
    assert_int_equal(ms_rd_peek(&r), -1);
}

static void test_crc16_x25(void **state)
{
    /* Catalogue check value of CRC-16/X-25 (also HDLC FCS-16). */
    assert_int_equal(ms_crc16_x25((const uint8_t *)"123456789", 9), 0x906E);
    /* HCS of a real segmented DLMS HDLC frame header 7E A8 86 21 03 54 | 49 7E
     * (PROTOCOL-NOTES, DLMS trap 1; gurux.dlms.java #12): the HCS bytes are 0x49 0x7E
     * least significant first, and 0x7E legitimately occurs inside it. */
    const uint8_t hdr[] = { 0xA8, 0x86, 0x21, 0x03, 0x54 };
    assert_int_equal(ms_crc16_x25(hdr, sizeof hdr), 0x7E49);
    /* incremental == one shot */
    uint16_t c = ms_crc16_x25_update(MS_CRC16_X25_INIT, (const uint8_t *)"1234", 4);
    c = ms_crc16_x25_update(c, (const uint8_t *)"56789", 5);
    assert_int_equal(ms_crc16_x25_final(c), 0x906E);
    assert_int_equal(ms_crc16_x25(NULL, 0), 0x0000);
}

static void test_hex(void **state)
{
    char s[16];
    const uint8_t b[4] = { 0x00, 0xD0, 0x7F, 0xAB };
    assert_string_equal(ms_hex_encode(b, 4, s), "00d07fab");
    assert_string_equal(ms_hex_encode(NULL, 0, s), "");
    uint8_t o[4];
    assert_int_equal(ms_hex_decode("00D07fAB", 8, o, 4), 4);
    assert_memory_equal(o, b, 4);
    assert_int_equal(ms_hex_decode(" 00 d0:7f\r\n\tab ", 15, o, 4), 4);
    assert_memory_equal(o, b, 4);
    assert_int_equal(ms_hex_decode("", 0, o, 4), 0);
    assert_int_equal(ms_hex_decode("0", 1, o, 4), MS_EPARSE);   /* odd */
    assert_int_equal(ms_hex_decode("0 0", 3, o, 4), MS_EPARSE); /* split octet */
    assert_int_equal(ms_hex_decode("0g", 2, o, 4), MS_EPARSE);
    assert_int_equal(ms_hex_decode("0011223344", 10, o, 4), MS_ENOSPC);
}

static void test_bcc(void **state)
{
    /* PROTOCOL-NOTES (IEC 62056-21): SOH B0 ETX -> 0x71; SOH W2 STX C003(910324092239)
     * ETX -> 0x1B. The span starts after SOH. */
    assert_int_equal(ms_bcc((const uint8_t *)"B0\x03", 3), 0x71);
    const char *w2 = "W2\x02"
                     "C003(910324092239)\x03";
    assert_int_equal(ms_bcc((const uint8_t *)w2, strlen(w2)), 0x1B);
    /* pwitab/iec62056-21 tests/test_data.py (BSD-3-Clause): "\x023:171.0(0)\x03\x12" */
    assert_int_equal(ms_bcc((const uint8_t *)"3:171.0(0)\x03", 11), 0x12);
}

static void test_parity(void **state)
{
    assert_int_equal(ms_parity_even7('/'), 0xAF); /* 0x2F has 5 ones -> parity bit 1 */
    assert_int_equal(ms_parity_even7('0'), 0x30); /* 0x30 has 2 ones */
    assert_int_equal(ms_parity_even7(0x06), 0x06);
    for (unsigned c = 0; c < 128; c++)
        assert_true(ms_parity_even7_ok(ms_parity_even7((uint8_t)c)));
    assert_false(ms_parity_even7_ok(0x2F));
}

static void parse_ok(const char *s, ms_obis_t want, unsigned want_present)
{
    ms_obis_t o;
    unsigned present;
    assert_int_equal(ms_obis_parse(s, strlen(s), &o, &present), 0);
    assert_true(ms_obis_equal(&o, &want));
    assert_int_equal(present, want_present);
}

static void test_obis_parse(void **state)
{
    const unsigned CDE = MS_OBIS_C | MS_OBIS_D | MS_OBIS_E;
    parse_ok("1-0:1.8.0*255", MS_OBIS(1, 0, 1, 8, 0, 255), MS_OBIS_ALL);
    parse_ok("1.8.1", MS_OBIS(255, 255, 1, 8, 1, 255), CDE);
    parse_ok("1-0:32.7.0", MS_OBIS(1, 0, 32, 7, 0, 255), CDE | MS_OBIS_A | MS_OBIS_B);
    parse_ok("3:171.0", MS_OBIS(255, 3, 171, 0, 255, 255),
             MS_OBIS_B | MS_OBIS_C | MS_OBIS_D);
    parse_ok("C.1.0", MS_OBIS(255, 255, 96, 1, 0, 255), CDE);
    parse_ok("F.F", MS_OBIS(255, 255, 97, 97, 255, 255), MS_OBIS_C | MS_OBIS_D);
    parse_ok("1.8.1&02", MS_OBIS(255, 255, 1, 8, 1, 2), CDE | MS_OBIS_F);
    parse_ok("0.0.96.1.0.255", MS_OBIS(0, 0, 96, 1, 0, 255), MS_OBIS_ALL);
    parse_ok("0-0:1.0.0.255", MS_OBIS(0, 0, 1, 0, 0, 255), MS_OBIS_ALL);
    ms_obis_t o;
    const char *bad[] = { "",          "1",           "1.",
                          "1-0:",      "256.8.0",     "1.8.0*",
                          "1.8.0x",    "1-0.8.0",     "1.2.3.4.5",
                          "1.8.0 ",    "C.C.C.C.C.C", "1.8.0*2556",
                          "1.8.0.255", "0:1.0.0.255", "1-0:1.8.0.255.1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ms_obis_parse(bad[i], strlen(bad[i]), &o, NULL), MS_EPARSE);
}

static void test_obis_format_match(void **state)
{
    char b[32];
    ms_obis_t o = MS_OBIS(1, 0, 1, 8, 1, 255);
    assert_int_equal(ms_obis_format(&o, MS_OBIS_FMT_FULL, b, sizeof b), 13);
    assert_string_equal(b, "1-0:1.8.1*255");
    ms_obis_format(&o, 0, b, sizeof b);
    assert_string_equal(b, "1.8.1");
    ms_obis_format(&o, MS_OBIS_FMT_DOTTED, b, sizeof b);
    assert_string_equal(b, "1.0.1.8.1.255");
    ms_obis_format(&o, MS_OBIS_FMT_LN, b, sizeof b);
    assert_string_equal(b, "1-0:1.8.1.255");
    ms_obis_t sn = MS_OBIS(0, 0, 96, 1, 0, 255);
    ms_obis_format(&sn, MS_OBIS_FMT_LETTERS, b, sizeof b);
    assert_string_equal(b, "C.1.0");
    assert_int_equal(ms_obis_format(&o, MS_OBIS_FMT_FULL, b, 5), MS_ENOSPC);
    assert_string_equal(b, "");

    ms_obis_t p;
    unsigned present;
    ms_obis_parse("1.8.1", 5, &p, &present);
    assert_true(ms_obis_match(&p, present, &o));
    ms_obis_parse("1.8.2", 5, &p, &present);
    assert_false(ms_obis_match(&p, present, &o));
    ms_obis_parse("1-1:1.8.1", 9, &p, &present);
    assert_false(ms_obis_match(&p, present, &o)); /* channel B differs */
}

static void test_civil(void **state)
{
    assert_int_equal(ms_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(ms_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(ms_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(ms_weekday(0), 4);                                /* a Thursday */
    assert_int_equal(ms_weekday(ms_days_from_civil(2016, 10, 30)), 7); /* a Sunday */
    assert_int_equal(ms_weekday(ms_days_from_civil(1969, 12, 29)), 1); /* a Monday */
    /* every day from 1900 to 2200 round-trips and consecutive days are consecutive */
    int64_t first = ms_days_from_civil(1900, 1, 1), prev = first - 1;
    for (int y = 1900; y < 2200; y++) {
        for (unsigned m = 1; m <= 12; m++) {
            for (unsigned d = 1; d <= ms_days_in_month(y, m); d++) {
                int64_t z = ms_days_from_civil(y, m, d);
                assert_int_equal(z, prev + 1);
                prev = z;
                int yy;
                unsigned mm, dd;
                ms_civil_from_days(z, &yy, &mm, &dd);
                assert_true(yy == y && mm == m && dd == d);
            }
        }
    }
    assert_int_equal(ms_days_in_month(2016, 2), 29);
    assert_int_equal(ms_days_in_month(1900, 2), 28);
    assert_int_equal(ms_days_in_month(2000, 2), 29);
    ms_tm_t tm;
    ms_tm_from_unix(ms_days_from_civil(2026, 11, 21) * 86400 + 3661, &tm);
    assert_int_equal(tm.wday, 6); /* Saturday */
    assert_int_equal(tm.hour, 1);
    assert_int_equal(tm.minute, 1);
    assert_int_equal(tm.second, 1);
    assert_int_equal(tm.yday, 325);
    ms_tm_from_unix(-1, &tm); /* 1969-12-31T23:59:59, a Wednesday */
    assert_int_equal(tm.year, 1969);
    assert_int_equal(tm.wday, 3);
    assert_int_equal(tm.second, 59);
    assert_int_equal(ms_unix_from_tm(&tm), -1);
}

static void test_iso8601(void **state)
{
    int64_t t;
    int off;
    assert_int_equal(ms_iso8601_parse("2015-10-04T01:00:00Z", &t, &off), 0);
    assert_int_equal(t, 1443920400);
    assert_int_equal(off, 0);
    assert_int_equal(ms_iso8601_parse("2015-10-04T03:00:00+0200", &t, &off), 0);
    assert_int_equal(t, 1443920400);
    assert_int_equal(off, 7200);
    assert_int_equal(ms_iso8601_parse("2015-10-04T03:00+02:00", &t, NULL), 0);
    assert_int_equal(t, 1443920400);
    assert_int_equal(ms_iso8601_parse("2015-10-04 01:00:00.250Z", &t, NULL), 0);
    assert_int_equal(t, 1443920400);
    assert_int_equal(ms_iso8601_parse("2016-02-29", &t, NULL), 0);
    assert_int_equal(t, ms_days_from_civil(2016, 2, 29) * 86400);
    const char *bad[] = { "2015-02-29",
                          "2015-13-01",
                          "2015-10-04T24:00:00Z",
                          "2015-10-04T01:00:00",
                          "2015-10-04T01:00:00Zx",
                          "15-10-04",
                          "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ms_iso8601_parse(bad[i], &t, NULL), MS_EPARSE);
    char b[32];
    ms_iso8601_format(1443920400, 0, b, sizeof b);
    assert_string_equal(b, "2015-10-04T01:00:00Z");
    ms_iso8601_format(1443920400, 7200, b, sizeof b);
    assert_string_equal(b, "2015-10-04T03:00:00+02:00");
    ms_iso8601_format(1443920400, -5400, b, sizeof b);
    assert_string_equal(b, "2015-10-03T23:30:00-01:30");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),  cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_writer),     cmocka_unit_test(test_reader),
        cmocka_unit_test(test_crc16_x25),  cmocka_unit_test(test_hex),
        cmocka_unit_test(test_bcc),        cmocka_unit_test(test_parity),
        cmocka_unit_test(test_obis_parse), cmocka_unit_test(test_obis_format_match),
        cmocka_unit_test(test_civil),      cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
