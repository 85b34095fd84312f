/*
** test_iec21_msg.c — IEC 62056-21 message codec: third-party vectors, round trips,
** negative cases, bytes fed one at a time, data sets, baud table.
** SPDX-License-Identifier: MIT
**
** Vector sources:
** - pwitab/iec62056-21, tests/test_data.py (BSD-3-Clause, see that project's LICENSE):
**   only the byte strings are quoted, as test data; no code is taken.
** - ../shared/PROTOCOL-NOTES.md (IEC 62056-21 "BCC" line): SOH W2 STX C003(...) ETX.
** - Apollon77/smartmeter-obis test streams (MIT), read at run time from MS_SHARED_DATA.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iec21_msg.h"
#include "iec21_test_util.h"
#include "ms_check.h"
#include "ms_err.h"

#define S(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

/* Decode exactly one message from the whole of in; asserts everything was used. */
static int decode1(const uint8_t *in, size_t len, unsigned flags, iec21_msg_t *m,
                   uint8_t *buf, size_t cap)
{
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, cap);
    iec21_decoder_set_flags(&d, flags);
    size_t used = 0;
    int rc = iec21_decoder_feed(&d, in, len, &used, m);
    if (rc >= 0)
        assert_int_equal(used, len);
    else
        assert_true(used <= len);
    return rc;
}

/* The same, one byte per call: the result must not depend on the split. */
static int decode1_bytewise(const uint8_t *in, size_t len, unsigned flags, iec21_msg_t *m,
                            uint8_t *buf, size_t cap)
{
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, cap);
    iec21_decoder_set_flags(&d, flags);
    for (size_t i = 0; i < len; i++) {
        size_t used = 0;
        int rc = iec21_decoder_feed(&d, in + i, 1, &used, m);
        if (rc != 0) {
            assert_int_equal(i, len - 1); /* only the last byte completes */
            return rc;
        }
        assert_int_equal(used, 1);
    }
    return 0;
}

static void test_bcc_check_values(void **state)
{
    /* PROTOCOL-NOTES: SOH B0 ETX -> 0x71 ('q', also pwitab's break vector) */
    assert_int_equal(ms_bcc((const uint8_t *)"B0\x03", 3), 0x71);
    /* PROTOCOL-NOTES: SOH W2 STX C003(910324092239) ETX -> 0x1B */
    const char *w2 = "W2\x02"
                     "C003(910324092239)\x03";
    assert_int_equal(ms_bcc((const uint8_t *)w2, strlen(w2)), 0x1B);
}

/* pwitab: AnswerDataMessage "\x02" "3:171.0(0)" ETX 0x12, and the same with 0x11. */
static void test_pwitab_answer_data(void **state)
{
    uint8_t buf[128], out[128];
    iec21_msg_t m;
    assert_int_equal(decode1(S("\x02"
                               "3:171.0(0)\x03\x12"),
                             0, &m, buf, sizeof buf),
                     1);
    assert_int_equal(m.type, IEC21_MSG_DATA);
    assert_int_equal(m.data_len, 10);
    assert_memory_equal(m.data, "3:171.0(0)", 10);
    assert_int_equal(m.bcc, 0x12);
    assert_false(m.partial);
    ms_rd_t r;
    iec21_dataset_t ds;
    ms_rd_init(&r, m.data, m.data_len);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_int_equal(ds.address_len, 7);
    assert_memory_equal(ds.address, "3:171.0", 7);
    assert_int_equal(ds.value_len, 1);
    assert_int_equal(ds.value[0], '0');
    assert_int_equal(ds.unit_len, 0);
    assert_int_equal(iec21_dataset_next(&r, &ds), 0);
    /* re-encode */
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_data(&w, m.data, m.data_len, false), 0);
    assert_int_equal(w.len, 13);
    assert_memory_equal(out,
                        "\x02"
                        "3:171.0(0)\x03\x12",
                        13);
    /* wrong BCC */
    assert_int_equal(decode1(S("\x02"
                               "3:171.0(0)\x03\x11"),
                             0, &m, buf, sizeof buf),
                     MS_EBADBCC);
    assert_int_equal(m.bcc, 0x11); /* the received one, for diagnostics */
    /* pwitab AnswerDataMessage.to_representation: one data line, no end line */
    assert_int_equal(decode1(S("\x02"
                               "3:14(314*kWh)4:15(415*kWh)\r\n\x03\x04"),
                             0, &m, buf, sizeof buf),
                     1);
}

/* pwitab: CommandMessage vectors R1, P0, B0. */
static void test_pwitab_commands(void **state)
{
    uint8_t buf[128], out[128];
    iec21_msg_t m;
    ms_wr_t w;

    assert_int_equal(decode1(S("\x01R1\x02"
                               "1.8.0(1)\x03k"),
                             0, &m, buf, sizeof buf),
                     1);
    assert_int_equal(m.type, IEC21_MSG_COMMAND);
    assert_int_equal(m.cmd, 'R');
    assert_int_equal(m.cmd_type, '1');
    assert_true(m.has_data);
    assert_int_equal(m.data_len, 8);
    assert_memory_equal(m.data, "1.8.0(1)", 8);
    assert_int_equal(m.bcc, 'k');
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(
        iec21_encode_command(&w, m.cmd, m.cmd_type, m.data, m.data_len, false), 0);
    assert_int_equal(w.len, 14);
    assert_memory_equal(out,
                        "\x01R1\x02"
                        "1.8.0(1)\x03k",
                        14);

    assert_int_equal(decode1(S("\x01P0\x02(1234567)\x03P"), 0, &m, buf, sizeof buf), 1);
    assert_int_equal(m.cmd, 'P');
    assert_int_equal(m.cmd_type, '0');
    assert_memory_equal(m.data, "(1234567)", 9);
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_command(&w, 'P', '0', "(1234567)", 9, false), 0);
    assert_memory_equal(out, "\x01P0\x02(1234567)\x03P", w.len);
    assert_int_equal(decode1(S("\x01P0\x02(1234567)\x03X"), 0, &m, buf, sizeof buf),
                     MS_EBADBCC);

    assert_int_equal(decode1(S("\x01"
                               "B0\x03q"),
                             0, &m, buf, sizeof buf),
                     1);
    assert_int_equal(m.cmd, 'B');
    assert_int_equal(m.cmd_type, '0');
    assert_false(m.has_data);
    assert_int_equal(m.data_len, 0);
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_command(&w, 'B', '0', NULL, 0, false), 0);
    assert_int_equal(w.len, 5);
    assert_memory_equal(out,
                        "\x01"
                        "B0\x03q",
                        5);

    /* PROTOCOL-NOTES W2 vector, with its published BCC 0x1B */
    const uint8_t w2[] = "\x01W2\x02"
                         "C003(910324092239)\x03\x1B";
    assert_int_equal(decode1(w2, sizeof w2 - 1, 0, &m, buf, sizeof buf), 1);
    assert_int_equal(m.cmd, 'W');
    assert_int_equal(m.cmd_type, '2');
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_command(&w, 'W', '2', m.data, m.data_len, false), 0);
    assert_int_equal(w.len, sizeof w2 - 1);
    assert_memory_equal(out, w2, w.len);
}

/* pwitab: ReadoutDataMessage '\x02' "3:14(314*kWh)4:15(415*kWh)\r\n!\r\n" ETX '"' — built
 * from data sets with our encoders, compared with the published bytes. */
static void test_pwitab_readout(void **state)
{
    const uint8_t vec[] = "\x02"
                          "3:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03\"";
    uint8_t buf[128], body[64], out[128];
    iec21_msg_t m;
    assert_int_equal(decode1(vec, sizeof vec - 1, 0, &m, buf, sizeof buf), 1);
    assert_int_equal(m.bcc, '"');
    ms_rd_t r;
    iec21_dataset_t ds;
    ms_rd_init(&r, m.data, m.data_len);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_memory_equal(ds.address, "3:14", ds.address_len);
    assert_memory_equal(ds.value, "314", ds.value_len);
    assert_int_equal(ds.unit_len, 3);
    assert_memory_equal(ds.unit, "kWh", 3);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_memory_equal(ds.address, "4:15", 4);
    assert_int_equal(iec21_dataset_next(&r, &ds), 0); /* "!" ends it */
    assert_int_equal(r.buf[r.pos], '!');

    ms_wr_t b;
    ms_wr_init(&b, body, sizeof body);
    assert_int_equal(iec21_encode_dataset(&b, "3:14", "314", "kWh"), 0);
    assert_int_equal(iec21_encode_dataset(&b, "4:15", "415", "kWh"), 0);
    ms_wr_str(&b, "\r\n!\r\n");
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_data(&w, body, b.len, false), 0);
    assert_int_equal(w.len, sizeof vec - 1);
    assert_memory_equal(out, vec, w.len);
    /* pwitab: the same with BCC 'x' is invalid */
    assert_int_equal(decode1(S("\x02"
                               "3:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03x"),
                             0, &m, buf, sizeof buf),
                     MS_EBADBCC);
}

static void test_pwitab_request_option_ident(void **state)
{
    uint8_t buf[64], out[64];
    iec21_msg_t m;
    ms_wr_t w;

    assert_int_equal(decode1(S("/?45678903!\r\n"), 0, &m, buf, sizeof buf), 1);
    assert_int_equal(m.type, IEC21_MSG_REQUEST);
    assert_string_equal(m.address, "45678903");
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_request(&w, m.address), 0);
    assert_memory_equal(out, "/?45678903!\r\n", 13);
    assert_int_equal(decode1(S("/?!\r\n"), 0, &m, buf, sizeof buf), 1);
    assert_string_equal(m.address, "");

    assert_int_equal(decode1(S("\x06"
                               "051\r\n"),
                             IEC21_DEC_OPTION_SELECT, &m, buf, sizeof buf),
                     1);
    assert_int_equal(m.type, IEC21_MSG_OPTION_SELECT);
    assert_int_equal(m.opt_v, '0');
    assert_int_equal(m.opt_z, '5');
    assert_int_equal(m.opt_y, '1');
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_option_select(&w, '0', '5', '1'), 0);
    assert_int_equal(w.len, 6);
    assert_memory_equal(out,
                        "\x06"
                        "051\r\n",
                        6);

    /* Without the flag the ACK is a bare ACK and "051" CR LF is skipped. */
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, sizeof buf);
    size_t used;
    assert_int_equal(iec21_decoder_feed(&d,
                                        S("\x06"
                                          "051\r\n"),
                                        &used, &m),
                     1);
    assert_int_equal(m.type, IEC21_MSG_ACK);
    assert_int_equal(used, 1);
    assert_int_equal(iec21_decoder_feed(&d, (const uint8_t *)"051\r\n", 5, &used, &m), 0);
    assert_int_equal(d.skipped, 5);

    assert_int_equal(decode1(S("/Els6\\2EK280\r\n"), 0, &m, buf, sizeof buf), 1);
    assert_int_equal(m.type, IEC21_MSG_IDENT);
    assert_string_equal(m.mfr, "Els");
    assert_int_equal(m.baud_z, '6');
    assert_int_equal(m.enh_w, '2');
    assert_string_equal(m.ident, "EK280");
    assert_int_equal(iec21_mode_of_ident(&m), 'E');
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_ident(&w, m.mfr, m.baud_z, m.enh_w, m.ident), 0);
    assert_int_equal(w.len, 14);
    assert_memory_equal(out, "/Els6\\2EK280\r\n", 14);
}

/* Every vector above fed one byte at a time gives the same result. */
static void test_bytewise(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        unsigned flags;
        int rc;
    } v[] = {
#define V(lit) lit, sizeof(lit) - 1
        { V("\x02"
            "3:171.0(0)\x03\x12"),
          0, 1 },
        { V("\x02"
            "3:171.0(0)\x03\x11"),
          0, MS_EBADBCC },
        { V("\x01R1\x02"
            "1.8.0(1)\x03k"),
          0, 1 },
        { V("\x01"
            "B0\x03q"),
          0, 1 },
        { V("/?45678903!\r\n"), 0, 1 },
        { V("\x06"
            "051\r\n"),
          IEC21_DEC_OPTION_SELECT, 1 },
        { V("/Els6\\2EK280\r\n"), 0, 1 },
        { V("\x02"
            "3:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03\""),
          0, 1 },
#undef V
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t b1[128], b2[128];
        iec21_msg_t m1, m2;
        int r1 = decode1((const uint8_t *)v[i].bytes, v[i].len, v[i].flags, &m1, b1,
                         sizeof b1);
        int r2 = decode1_bytewise((const uint8_t *)v[i].bytes, v[i].len, v[i].flags, &m2,
                                  b2, sizeof b2);
        assert_int_equal(r1, v[i].rc);
        assert_int_equal(r2, v[i].rc);
        assert_int_equal(m1.type, m2.type);
        assert_int_equal(m1.data_len, m2.data_len);
        if (m1.data_len)
            assert_memory_equal(m1.data, m2.data, m1.data_len);
        assert_string_equal(m1.ident, m2.ident);
        assert_string_equal(m1.address, m2.address);
    }
}

static void test_negative(void **state)
{
    uint8_t buf[64];
    iec21_msg_t m;
    iec21_decoder_t d;
    size_t used;

    /* truncated: every proper prefix needs more bytes and leaves the decoder busy */
    const char *full = "\x01R1\x02"
                       "1.8.0(1)\x03k";
    for (size_t n = 1; n < 13; n++) {
        iec21_decoder_init(&d, buf, sizeof buf);
        assert_int_equal(iec21_decoder_feed(&d, (const uint8_t *)full, n, &used, &m), 0);
        assert_true(iec21_decoder_busy(&d));
        iec21_decoder_reset(&d); /* e.g. ta */
        assert_false(iec21_decoder_busy(&d));
    }
    /* over-long fields */
    assert_int_equal(
        decode1(S("/?123456789012345678901234567890123!\r\n"), 0, &m, buf, sizeof buf),
        MS_ETOOBIG);
    iec21_decoder_init(&d, buf, sizeof buf);
    assert_int_equal(iec21_decoder_feed(&d,
                                        S("/ABC5\\2"
                                          "12345678901234567\r\n"),
                                        &used, &m),
                     MS_ETOOBIG);
    iec21_decoder_init(&d, buf, sizeof buf);
    assert_int_equal(iec21_decoder_feed(&d,
                                        S("/ABC5"
                                          "1234567890123456\r\n"),
                                        &used, &m),
                     1);
    assert_string_equal(m.ident, "1234567890123456"); /* 16 is the limit, not 15 */
    uint8_t small[8];
    iec21_decoder_init(&d, small, sizeof small);
    assert_int_equal(iec21_decoder_feed(&d,
                                        S("\x02"
                                          "123456789\x03\x00"),
                                        &used, &m),
                     MS_ETOOBIG);
    assert_false(iec21_decoder_busy(&d)); /* reset and ready */

    /* malformed */
    assert_int_equal(decode1(S("/?12!\n"), 0, &m, buf, sizeof buf),
                     MS_EFRAME); /* no CR */
    assert_int_equal(decode1(S("/?1-2!\r\n"), 0, &m, buf, sizeof buf), MS_EFRAME);
    assert_int_equal(decode1(S("/1BC5X\r\n"), 0, &m, buf, sizeof buf), MS_EFRAME);
    assert_int_equal(m.type, IEC21_MSG_NONE); /* cleared after an error */
    assert_int_equal(decode1(S("/AB\r\n"), 0, &m, buf, sizeof buf), MS_EFRAME);
    assert_int_equal(decode1(S("/ABC5X!\r\n"), 0, &m, buf, sizeof buf), MS_EFRAME);
    assert_int_equal(decode1(S("\x06"
                               "05\r\n"),
                             IEC21_DEC_OPTION_SELECT, &m, buf, sizeof buf),
                     MS_EFRAME); /* option select without Y */
    assert_int_equal(decode1(S("\x06"
                               "050\n"),
                             IEC21_DEC_OPTION_SELECT, &m, buf, sizeof buf),
                     MS_EFRAME); /* without CR */
    assert_int_equal(decode1(S("\x01X1\x03\x00"), 0, &m, buf, sizeof buf), MS_EFRAME);
    assert_int_equal(decode1(S("\x01R"), 0, &m, buf, sizeof buf), 0);
    assert_int_equal(decode1(S("\x01RA"), 0, &m, buf, sizeof buf), MS_EFRAME);

    /* a "/" inside an identification starts the next message: not consumed */
    iec21_decoder_init(&d, buf, sizeof buf);
    const uint8_t *in = (const uint8_t *)"/ABC5XY/?!\r\n";
    assert_int_equal(iec21_decoder_feed(&d, in, 12, &used, &m), MS_EFRAME);
    assert_int_equal(used, 7);
    assert_int_equal(iec21_decoder_feed(&d, in + 7, 5, &used, &m), 1);
    assert_int_equal(m.type, IEC21_MSG_REQUEST);
    /* an STX inside a block restarts the block */
    iec21_decoder_init(&d, buf, sizeof buf);
    uint8_t blk[32];
    size_t n = t_block(blk + 3, IEC21_STX, "(1)", false);
    memcpy(blk,
           "\x02"
           "ab",
           3);
    assert_int_equal(iec21_decoder_feed(&d, blk, n + 3, &used, &m), MS_EFRAME);
    assert_int_equal(used, 3);
    assert_int_equal(iec21_decoder_feed(&d, blk + 3, n, &used, &m), 1);
    assert_memory_equal(m.data, "(1)", 3);

    /* garbage, NULs of a battery wake-up and stray CR LF are skipped and counted */
    iec21_decoder_init(&d, buf, sizeof buf);
    assert_int_equal(iec21_decoder_feed(&d, S("\0\0\0\r\nxyz/?!\r\n"), &used, &m), 1);
    assert_int_equal(d.skipped, 8);
    assert_int_equal(m.type, IEC21_MSG_REQUEST);

    /* NAK, ACK, partial block with EOT */
    assert_int_equal(decode1(S("\x15"), 0, &m, buf, sizeof buf), 1);
    assert_int_equal(m.type, IEC21_MSG_NAK);
    n = t_block(blk, IEC21_STX, "P.01(1)", true);
    assert_int_equal(decode1(blk, n, 0, &m, buf, sizeof buf), 1);
    assert_true(m.partial);
    assert_int_equal(m.data_len, 7);

    /* identification line ends: bare LF, and LF LF (second LF skipped) */
    iec21_decoder_init(&d, buf, sizeof buf);
    assert_int_equal(iec21_decoder_feed(&d, S("/ABC5METER\n\n"), &used, &m), 1);
    assert_string_equal(m.ident, "METER");
    assert_int_equal(used, 11);
}

static void test_encoder_errors(void **state)
{
    uint8_t out[64];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_request(&w, "12-3"), MS_EINVAL);
    assert_int_equal(iec21_encode_request(&w, "123456789012345678901234567890123"),
                     MS_EINVAL);
    assert_int_equal(iec21_encode_ident(&w, "AB", '5', 0, "X"), MS_EINVAL);
    assert_int_equal(iec21_encode_ident(&w, "ABC", '/', 0, "X"), MS_EINVAL);
    assert_int_equal(iec21_encode_ident(&w, "ABC", '5', 0, "12345678901234567"),
                     MS_EINVAL);
    assert_int_equal(iec21_encode_ident(&w, "ABC", '5', 0, "A!"), MS_EINVAL);
    assert_int_equal(iec21_encode_error(&w, "A(B"), MS_EINVAL);
    assert_int_equal(iec21_encode_error(&w, "123456789012345678901234567890123"),
                     MS_EINVAL);
    assert_int_equal(iec21_encode_command(&w, 'X', '1', NULL, 0, false), MS_EINVAL);
    assert_int_equal(iec21_encode_command(&w, 'R', 'A', NULL, 0, false), MS_EINVAL);
    assert_int_equal(iec21_encode_data(&w,
                                       "a\x03"
                                       "b",
                                       3, false),
                     MS_EINVAL);
    assert_int_equal(iec21_encode_dataset(&w, "1.8.0", "1*2", NULL), MS_EINVAL);
    assert_int_equal(iec21_encode_dataset(&w, "1(8", "1", NULL), MS_EINVAL);
    assert_int_equal(w.len, 0);
    assert_int_equal(w.err, 0);
    /* no room: nothing half-written, the error sticks */
    ms_wr_init(&w, out, 10);
    assert_int_equal(iec21_encode_request(&w, "12345"), 0); /* "/?12345!\r\n" = 10 */
    assert_int_equal(iec21_encode_ack(&w), MS_ENOSPC);
    ms_wr_init(&w, out, 12);
    assert_int_equal(iec21_encode_data(&w, "1234567890", 10, false), MS_ENOSPC);
    assert_int_equal(w.len, 0);
    /* error message and its BCC */
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_error(&w, "ERR1"), 0);
    uint8_t exp[16];
    size_t n = t_block(exp, IEC21_STX, "(ERR1)", false);
    assert_int_equal(w.len, n);
    assert_memory_equal(out, exp, n);
}

static void test_baud_table(void **state)
{
    /* clause 6.4 / PROTOCOL-NOTES "Z" */
    const unsigned b[] = { 600, 1200, 2400, 4800, 9600, 19200 };
    for (int i = 0; i < 6; i++) {
        assert_int_equal(iec21_baud_of_z('B', (char)('A' + i)), b[i]);
        assert_int_equal(iec21_z_of_baud('B', b[i]), 'A' + i);
        assert_int_equal(iec21_baud_of_z('C', (char)('1' + i)), b[i]);
        assert_int_equal(iec21_baud_of_z('E', (char)('1' + i)), b[i]);
        assert_int_equal(iec21_z_of_baud('C', b[i]), '1' + i);
    }
    assert_int_equal(iec21_baud_of_z('C', '0'), 300);
    assert_int_equal(iec21_baud_of_z('C', '7'), 0);
    assert_int_equal(iec21_baud_of_z('B', 'G'), 0);
    assert_int_equal(iec21_baud_of_z('B', '5'), 0);
    assert_int_equal(iec21_baud_of_z('D', '3'), 2400);
    assert_int_equal(iec21_baud_of_z('D', '4'), 0);
    assert_int_equal(iec21_baud_of_z('A', 'H'), 0);
    assert_int_equal(iec21_z_of_baud('B', 300), 0);
    assert_int_equal(iec21_z_of_baud('C', 300), '0');
    assert_int_equal(iec21_z_of_baud('D', 2400), '3');
    assert_int_equal(iec21_z_of_baud('C', 1234), 0);

    iec21_msg_t m = { .type = IEC21_MSG_IDENT };
    m.baud_z = 'C';
    assert_int_equal(iec21_mode_of_ident(&m), 'B');
    m.baud_z = '5';
    assert_int_equal(iec21_mode_of_ident(&m), 'C');
    m.enh_w = '2';
    assert_int_equal(iec21_mode_of_ident(&m), 'E');
    m.enh_w = '3'; /* reserved W: still mode C */
    assert_int_equal(iec21_mode_of_ident(&m), 'C');
    m.baud_z = 'H';
    assert_int_equal(iec21_mode_of_ident(&m), 'A');
}

static void test_datasets(void **state)
{
    ms_rd_t r;
    iec21_dataset_t ds;
    /* LF LF line ends, continuation value, address with "*", unit with "*" */
    const char *blk = "1.8.0(1*kWh)\n\n0-1:24.2.1(101209110000W)(12785.123*m3)\n\n"
                      "6.26*01(01563.92*m3)9.4(088*C&082*C)\n\n!\n\n";
    ms_rd_init(&r, blk, strlen(blk));
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_memory_equal(ds.address, "0-1:24.2.1", ds.address_len);
    assert_int_equal(ds.unit_len, 0);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_int_equal(ds.address_len, 0);
    assert_memory_equal(ds.value, "12785.123", ds.value_len);
    assert_memory_equal(ds.unit, "m3", ds.unit_len);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_memory_equal(ds.address, "6.26*01", ds.address_len);
    assert_int_equal(iec21_dataset_next(&r, &ds), 1);
    assert_memory_equal(ds.value, "088", ds.value_len);
    assert_memory_equal(ds.unit, "C&082*C", ds.unit_len);
    assert_int_equal(iec21_dataset_next(&r, &ds), 0);
    assert_int_equal(iec21_dataset_next(&r, &ds), 0);

    static const char *const bad[] = { "1.8.0(12", "1.8.0", "1.8.0(1/2)", "1.8.0(1\r\n)",
                                       "1)8(0)" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ms_rd_init(&r, bad[i], strlen(bad[i]));
        assert_int_equal(iec21_dataset_next(&r, &ds), MS_EPARSE);
    }
    ms_rd_init(&r, "", 0);
    assert_int_equal(iec21_dataset_next(&r, &ds), 0);
}

/* ---- third-party streams (smartmeter-obis, MIT) ---- */

typedef struct seen {
    int rc;
    iec21_msg_t m;
    size_t data_len;
} seen_t;

/* Decode a whole stream, chunked `chunk` bytes per call, recording every result. */
static size_t decode_stream(const uint8_t *s, size_t len, unsigned flags, size_t chunk,
                            seen_t *out, size_t max, bool *busy_at_end, size_t *skipped)
{
    static uint8_t buf[16384];
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, sizeof buf);
    iec21_decoder_set_flags(&d, flags);
    size_t n = 0, pos = 0;
    while (pos < len) {
        size_t take = len - pos < chunk ? len - pos : chunk;
        size_t off = 0;
        while (off < take) {
            size_t used = 0;
            iec21_msg_t m;
            int rc = iec21_decoder_feed(&d, s + pos + off, take - off, &used, &m);
            off += used;
            if (rc == 0)
                break;
            assert_true(n < max);
            out[n].rc = rc;
            out[n].m = m;
            out[n].data_len = m.data_len;
            n++;
        }
        pos += take;
    }
    *busy_at_end = iec21_decoder_busy(&d);
    if (skipped)
        *skipped = d.skipped;
    return n;
}

/* Whole-stream and byte-at-a-time decoding agree. */
static size_t decode_both(const uint8_t *s, size_t len, unsigned flags, seen_t *out,
                          size_t max, bool *busy, size_t *skipped)
{
    seen_t alt[16];
    bool busy2;
    size_t n = decode_stream(s, len, flags, len, out, max, busy, skipped);
    size_t n2 = decode_stream(s, len, flags, 1, alt, 16, &busy2, NULL);
    assert_int_equal(n, n2);
    assert_int_equal(*busy, busy2);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].rc, alt[i].rc);
        assert_int_equal(out[i].m.type, alt[i].m.type);
        assert_int_equal(out[i].data_len, alt[i].data_len);
    }
    return n;
}

static size_t count_char(const uint8_t *p, size_t n, uint8_t c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

/* Iskra MT174, mode C with the ACK echo: the one stream with a valid BCC. */
static void test_stream_iskra_valid(void **state)
{
    size_t len;
    uint8_t *s =
        t_load_stream("testSerialRequestResponseD0WithAck2.meter_stream.bin", &len);
    seen_t v[8];
    bool busy;
    size_t skipped;
    size_t n = decode_both(s, len, IEC21_DEC_OPTION_SELECT, v, 8, &busy, &skipped);
    assert_int_equal(n, 3);
    assert_false(busy);
    assert_int_equal(skipped, 0);
    assert_int_equal(v[0].rc, 1);
    assert_int_equal(v[0].m.type, IEC21_MSG_IDENT);
    assert_string_equal(v[0].m.mfr, "ISk");
    assert_int_equal(v[0].m.baud_z, '5');
    assert_string_equal(v[0].m.ident, "MT174-0001");
    assert_int_equal(iec21_mode_of_ident(&v[0].m), 'C');
    assert_int_equal(v[1].rc, 1);
    assert_int_equal(v[1].m.type, IEC21_MSG_OPTION_SELECT);
    assert_int_equal(v[1].m.opt_z, '5');
    assert_int_equal(v[1].m.opt_y, '0');
    assert_int_equal(v[2].rc, 1);
    assert_int_equal(v[2].m.type, IEC21_MSG_DATA);
    assert_int_equal(v[2].m.bcc, s[len - 1]);
    /* the block is everything between the STX after the echo and the final ETX */
    const uint8_t *stx = memchr(s, IEC21_STX, len);
    assert_non_null(stx);
    assert_int_equal(v[2].data_len, (size_t)(s + len - 2 - (stx + 1)));

    /* Every data set parses; as many as there are "(" in the block. */
    static uint8_t buf[16384];
    iec21_decoder_t d;
    iec21_decoder_init(&d, buf, sizeof buf);
    size_t used;
    iec21_msg_t m;
    assert_int_equal(iec21_decoder_feed(&d, stx, (size_t)(s + len - stx), &used, &m), 1);
    ms_rd_t r;
    iec21_dataset_t ds;
    ms_rd_init(&r, m.data, m.data_len);
    size_t sets = 0;
    int rc;
    while ((rc = iec21_dataset_next(&r, &ds)) == 1) {
        if (sets == 0) {
            assert_memory_equal(ds.address, "1-0:0.9.1*255", ds.address_len);
            assert_memory_equal(ds.value, "201455", ds.value_len);
        }
        sets++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(sets, count_char(m.data, m.data_len, '('));
    assert_true(sets > 200);

    /* Re-encode: the same bytes as the meter sent. */
    static uint8_t out[16384];
    ms_wr_t w;
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(iec21_encode_data(&w, m.data, m.data_len, false), 0);
    assert_int_equal(w.len, (size_t)(s + len - stx));
    assert_memory_equal(out, stx, w.len);
    ms_wr_init(&w, out, sizeof out);
    assert_int_equal(
        iec21_encode_ident(&w, v[0].m.mfr, v[0].m.baud_z, v[0].m.enh_w, v[0].m.ident), 0);
    assert_memory_equal(out, s, w.len);
    free(s);
}

/* Streams whose BCC is wrong (README: "several others have a wrong BCC"). */
static void test_stream_bad_bcc(void **state)
{
    static const struct {
        const char *file;
        const char *mfr;
        char z, w, mode;
        const char *ident;
    } v[] = {
        { "testSerialRequestResponseD0-20.meter_stream.bin", "SIE", 'C', 0, 'B', "2WR5" },
        { "testSerialRequestResponseD0End.meter_stream.bin", "LGZ", '5', '2', 'E',
          "ZMD4104407.B31" },
    };
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        uint8_t *s = t_load_stream(v[i].file, &len);
        seen_t r[8];
        bool busy;
        size_t n = decode_both(s, len, 0, r, 8, &busy, NULL);
        assert_int_equal(n, 2);
        assert_false(busy);
        assert_int_equal(r[0].rc, 1);
        assert_string_equal(r[0].m.mfr, v[i].mfr);
        assert_int_equal(r[0].m.baud_z, v[i].z);
        assert_int_equal(r[0].m.enh_w, v[i].w);
        assert_string_equal(r[0].m.ident, v[i].ident);
        assert_int_equal(iec21_mode_of_ident(&r[0].m), v[i].mode);
        assert_int_equal(r[1].rc, MS_EBADBCC);
        assert_int_equal(r[1].m.type, IEC21_MSG_DATA);
        assert_int_equal(r[1].m.bcc, s[len - 1]);
        free(s);
    }
}

/* Streams cut before ETX: identification decodes, the block stays incomplete. */
static void test_stream_truncated(void **state)
{
    size_t len;
    seen_t r[8];
    bool busy;

    /* ELS with W '@' and an ACK CR LF after the ident */
    uint8_t *s =
        t_load_stream("testSerialRequestResponseD0ModeDAck.meter_stream.bin", &len);
    size_t n = decode_both(s, len, 0, r, 8, &busy, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].m.mfr, "ELS");
    assert_int_equal(r[0].m.enh_w, '@');
    assert_string_equal(r[0].m.ident, "V9.30 ");
    assert_int_equal(iec21_mode_of_ident(&r[0].m), 'C');
    assert_int_equal(r[1].m.type, IEC21_MSG_ACK);
    assert_true(busy); /* STX block without ETX */
    /* with the option-select flag the ACK CR LF is a malformed option select */
    n = decode_both(s, len, IEC21_DEC_OPTION_SELECT, r, 8, &busy, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(r[1].rc, MS_EFRAME);
    free(s);

    /* Itron ACE, Z '0' with reserved W '3': mode C at 300 Bd */
    s = t_load_stream("testSerialRequestResponseD0ModeE.meter_stream.bin", &len);
    n = decode_both(s, len, 0, r, 8, &busy, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].m.mfr, "ACE");
    assert_int_equal(r[0].m.baud_z, '0');
    assert_int_equal(r[0].m.enh_w, '3');
    assert_string_equal(r[0].m.ident, "k260V01.18");
    assert_int_equal(iec21_mode_of_ident(&r[0].m), 'C');
    assert_true(busy);
    free(s);

    /* the request echo before the identification */
    s = t_load_stream("testSerialRequestResponseD0ModeOverwrite.meter_stream.bin", &len);
    n = decode_both(s, len, 0, r, 8, &busy, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].m.type, IEC21_MSG_REQUEST);
    assert_string_equal(r[0].m.address, "");
    assert_int_equal(r[1].m.type, IEC21_MSG_IDENT);
    assert_string_equal(r[1].m.ident, "EM214");
    assert_true(busy);
    free(s);

    /* DSMR P1: STX inside the identification line, then "!" + CRC, no ETX */
    s = t_load_stream("testSerialResponseD0DSMR.meter_stream.bin", &len);
    n = decode_both(s, len, IEC21_DEC_UNFRAMED, r, 8, &busy, NULL);
    /* two telegrams: the first "STX" block runs into the second one's STX */
    assert_int_equal(n, 2);
    assert_int_equal(r[0].rc, MS_EFRAME);
    assert_int_equal(r[1].rc, MS_EFRAME);
    assert_true(busy);
    free(s);
}

/* Mode D pushes without STX/ETX/BCC. */
static void test_stream_mode_d(void **state)
{
    size_t len;
    seen_t r[8];
    bool busy;
    size_t skipped;

    uint8_t *s = t_load_stream("testSerialResponseD0ModeD.meter_stream.bin", &len);
    size_t n = decode_both(s, len, IEC21_DEC_UNFRAMED, r, 8, &busy, NULL);
    /* the file holds the push twice (INDEX.tsv lists two identification lines) */
    assert_int_equal(n, 4);
    assert_false(busy);
    for (int i = 0; i < 4; i += 2) {
        assert_int_equal(r[i].m.type, IEC21_MSG_IDENT);
        assert_string_equal(r[i].m.mfr, "SIE");
        assert_int_equal(r[i].m.baud_z, '3');
        assert_int_equal(r[i + 1].rc, 1);
        assert_int_equal(r[i + 1].m.type, IEC21_MSG_DATA);
        assert_true(r[i + 1].m.unframed);
    }
    assert_int_equal(r[1].data_len + r[3].data_len, len - 2 * strlen("/SIE32WR5\r\n"));
    /* without the flag the unframed data is skipped as garbage */
    n = decode_both(s, len, 0, r, 8, &busy, &skipped);
    assert_int_equal(n, 2);
    assert_int_equal(skipped, len - 2 * strlen("/SIE32WR5\r\n"));
    free(s);

    s = t_load_stream("testSerialResponseD0FastSend.meter_stream.bin", &len);
    n = decode_both(s, len, IEC21_DEC_UNFRAMED, r, 8, &busy, NULL);
    assert_int_equal(n, 4);
    assert_string_equal(r[0].m.mfr, "EMH");
    assert_string_equal(r[0].m.ident, "----eHZ-E0018E");
    assert_true(r[1].m.unframed);
    assert_int_equal(r[1].data_len, r[3].data_len); /* the same push twice */
    free(s);

    s = t_load_stream("testSerialRequestResponseD0WithAck.meter_stream.bin", &len);
    n = decode_both(s, len, IEC21_DEC_UNFRAMED, r, 8, &busy, NULL);
    assert_int_equal(n, 2);
    assert_true(r[1].m.unframed);
    assert_int_equal(r[1].data_len, len - strlen("/SIE32WR5\r\n"));
    free(s);

    /* a mode D data block parses into data sets */
    ms_rd_t rd;
    iec21_dataset_t ds;
    s = t_load_stream("testSerialResponseD0FastSend.meter_stream.bin", &len);
    const uint8_t *blk = s + strlen("/EMH5----eHZ-E0018E\r\n");
    ms_rd_init(&rd, blk, len / 2 - strlen("/EMH5----eHZ-E0018E\r\n"));
    assert_int_equal(iec21_dataset_next(&rd, &ds), 1);
    assert_memory_equal(ds.address, "1-0:0.0.0*255", ds.address_len);
    assert_memory_equal(ds.value, "331200-5009810", ds.value_len);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bcc_check_values),
        cmocka_unit_test(test_pwitab_answer_data),
        cmocka_unit_test(test_pwitab_commands),
        cmocka_unit_test(test_pwitab_readout),
        cmocka_unit_test(test_pwitab_request_option_ident),
        cmocka_unit_test(test_bytewise),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_encoder_errors),
        cmocka_unit_test(test_baud_table),
        cmocka_unit_test(test_datasets),
        cmocka_unit_test(test_stream_iskra_valid),
        cmocka_unit_test(test_stream_bad_bcc),
        cmocka_unit_test(test_stream_truncated),
        cmocka_unit_test(test_stream_mode_d),
    };
    t_stream_dir(); /* fail loudly before running anything when the data is missing */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
