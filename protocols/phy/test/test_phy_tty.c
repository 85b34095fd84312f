/*
** test_phy_tty.c — unit tests of the tty backend: against a pty of our pty backend
** (meter and reader both ours), and against a plain openpty() pair.
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include "ms_err.h"
#include "phy.h"
#include "phy_test_util.h"

typedef struct fixture {
    uv_loop_t loop;
    rec_t *meter_rec;
    rec_t *reader_rec;
    ms_phy_t *meter;  /* pty backend */
    ms_phy_t *reader; /* tty backend */
    int master;       /* plain openpty() pair, or -1 */
    int slave;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->meter_rec = calloc(1, sizeof *f->meter_rec);
    f->reader_rec = calloc(1, sizeof *f->reader_rec);
    f->master = f->slave = -1;
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->reader)
        ms_phy_close(f->reader);
    if (f->meter)
        ms_phy_close(f->meter);
    if (f->master >= 0)
        close(f->master);
    if (f->slave >= 0)
        close(f->slave);
    int r = loop_finish(&f->loop);
    free(f->meter_rec);
    free(f->reader_rec);
    free(f);
    assert_int_equal(r, 0);
    return 0;
}

static bool has(const rec_t *r, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= r->n; i++) {
        if (memcmp(r->data + i, s, n) == 0)
            return true;
    }
    return false;
}

/* ---- both ends ours ---------------------------------------------------------------- */

/* IEC 62056-21 mode C shape: sign-on and identification at 300 Bd 7E1, then the reader's
 * option select, which must reach the meter at the old rate before the reader's switch
 * to 9600 Bd shows (set_line waits for the queue ahead). */
static void test_tty_on_our_pty(void **state)
{
    fixture_t *f = *state;
    ms_phy_pty_opts_t po = { .line = MS_LINE_7E1(300) };
    assert_int_equal(ms_phy_pty_open(&f->loop, &po, &rec_cb, f->meter_rec, &f->meter), 0);
    ms_phy_tty_opts_t to = { .path = ms_phy_pty_slave(f->meter),
                             .line = MS_LINE_7E1(300),
                             .pace = true };
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, &rec_cb, f->reader_rec, &f->reader),
                     0);
    assert_string_equal(ms_phy_name(f->reader), "tty");

    assert_int_equal(ms_phy_write(f->reader, (const uint8_t *)"/?!\r\n", 5, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, has(f->meter_rec, "/?!\r\n"), 3000));
    assert_int_equal(ms_phy_write(f->meter, (const uint8_t *)"/ABC5XYZ\r\n", 10, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, has(f->reader_rec, "/ABC5XYZ\r\n"), 3000));

    int npeer_before = f->meter_rec->npeer;
    size_t n_before = f->meter_rec->n;
    static const char ack[] = "\x06"
                              "050\r\n";
    assert_int_equal(ms_phy_write(f->reader, (const uint8_t *)ack, 6, 0), 0);
    ms_line_t fast = MS_LINE_7E1(9600);
    assert_int_equal(ms_phy_set_line(f->reader, &fast), 0);
    assert_int_equal(ms_phy_line(f->reader)->baud, 9600);
    assert_true(RUN_UNTIL(&f->loop, f->meter_rec->npeer > npeer_before, 3000));
    /* the first report of the switch came after all six bytes of the option select */
    int i = npeer_before;
    while (i < f->meter_rec->npeer && f->meter_rec->peer[i].baud != 9600)
        i++;
    assert_true(i < f->meter_rec->npeer);
    assert_true(f->meter_rec->peer_data_n[i] >= n_before + 6);
    assert_true(has(f->meter_rec, ack));

    /* the meter follows and answers at the new rate */
    assert_int_equal(ms_phy_set_line(f->meter, &fast), 0);
    assert_int_equal(ms_phy_write(f->meter, (const uint8_t *)"\x02(1.8.0)\x03", 10, 0),
                     0);
    assert_true(RUN_UNTIL(&f->loop, has(f->reader_rec, "\x02(1.8.0)\x03"), 3000));
}

/* Software 7E1 on a pty: parity generated on output, bit 7 stripped on input. The meter
 * side is 8N1 here so that it sees the bytes as sent. */
static void test_tty_soft_parity(void **state)
{
    fixture_t *f = *state;
    ms_phy_pty_opts_t po = { .line = MS_LINE_8N1(9600), .no_pace = true };
    assert_int_equal(ms_phy_pty_open(&f->loop, &po, &rec_cb, f->meter_rec, &f->meter), 0);
    ms_phy_tty_opts_t to = { .path = ms_phy_pty_slave(f->meter),
                             .line = MS_LINE_7E1(9600),
                             .parity_out = true };
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, &rec_cb, f->reader_rec, &f->reader),
                     0);
    assert_int_equal(ms_phy_write(f->reader, (const uint8_t *)"AC", 2, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, f->meter_rec->n >= 2, 2000));
    assert_memory_equal(f->meter_rec->data, "\x41\xC3", 2);
    assert_int_equal(ms_phy_write(f->meter, (const uint8_t *)"\xC1\x43", 2, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, f->reader_rec->n >= 2, 2000));
    assert_memory_equal(f->reader_rec->data, "\x41\x43", 2);
}

/* ---- a plain openpty() pair -------------------------------------------------------- */

static void open_plain_pair(fixture_t *f, char *name, size_t cap)
{
    assert_int_equal(openpty(&f->master, &f->slave, NULL, NULL, NULL), 0);
    assert_int_equal(ptsname_r(f->master, name, cap), 0);
    int fl = fcntl(f->master, F_GETFL);
    assert_int_equal(fcntl(f->master, F_SETFL, fl | O_NONBLOCK), 0);
}

static void test_tty_plain_openpty(void **state)
{
    fixture_t *f = *state;
    char name[64];
    open_plain_pair(f, name, sizeof name);
    ms_phy_tty_opts_t to = { .path = name, .line = MS_LINE_8N1(9600) };
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, &rec_cb, f->reader_rec, &f->reader),
                     0);

    /* raw at 9600 */
    struct termios t;
    assert_int_equal(tcgetattr(f->slave, &t), 0);
    assert_int_equal(cfgetospeed(&t), B9600);
    assert_false(t.c_lflag & (ICANON | ECHO | ISIG));
    assert_int_equal(t.c_cflag & CSIZE, CS8);

    /* both directions, bytes that a cooked tty would have changed */
    assert_int_equal(write(f->master, "he\rllo\x03\n", 8), 8);
    assert_true(RUN_UNTIL(&f->loop, f->reader_rec->n >= 8, 2000));
    assert_memory_equal(f->reader_rec->data, "he\rllo\x03\n", 8);
    assert_int_equal(ms_phy_write(f->reader, (const uint8_t *)"wor\nld", 6, 0), 0);
    uint8_t in[6];
    assert_int_equal(read_while_running(&f->loop, f->master, in, 6, 2000, NULL, NULL), 6);
    assert_memory_equal(in, "wor\nld", 6);
    assert_true(RUN_UNTIL(&f->loop, f->reader_rec->drained == 1, 2000));

    /* nothing queued: the rate switches at once */
    ms_line_t l2400 = MS_LINE_8N1(2400);
    assert_int_equal(ms_phy_set_line(f->reader, &l2400), 0);
    assert_int_equal(tcgetattr(f->slave, &t), 0);
    assert_int_equal(cfgetospeed(&t), B2400);

    /* bytes queued: the switch waits until they have left at 2400 Bd (device-timed:
     * 48 characters, 200 ms estimated) */
    static uint8_t out[48];
    memset(out, 'U', sizeof out);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(ms_phy_write(f->reader, out, sizeof out, 0), 0);
    ms_line_t l9600 = MS_LINE_8N1(9600);
    assert_int_equal(ms_phy_set_line(f->reader, &l9600), 0);
    assert_int_equal(tcgetattr(f->slave, &t), 0);
    assert_int_equal(cfgetospeed(&t), B2400);
    assert_true(RUN_UNTIL(
        &f->loop, tcgetattr(f->slave, &t) == 0 && cfgetospeed(&t) == B9600, 3000));
    assert_true(uv_hrtime() - t0 >= 48 * ms_line_char_ns(&l2400));

    /* unsupported rate */
    ms_line_t odd = MS_LINE_8N1(12345);
    assert_int_equal(ms_phy_set_line(f->reader, &odd), MS_EINVAL);

    /* the other side goes away: hang-up is the end of the stream */
    close(f->master);
    f->master = -1;
    assert_true(RUN_UNTIL(&f->loop, f->reader_rec->closed == 1, 2000));
    assert_int_equal(f->reader_rec->close_err, 0);
    assert_int_equal(ms_phy_write(f->reader, (const uint8_t *)"x", 1, 0), MS_ECLOSED);
}

static void test_tty_errors(void **state)
{
    fixture_t *f = *state;
    ms_phy_t *p = NULL;
    ms_phy_tty_opts_t to = { .path = "/nonexistent/ttyX" };
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, NULL, NULL, &p), MS_ENOENT);
    to.path = "/dev/null";
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, NULL, NULL, &p), MS_EINVAL);
    assert_null(p);
    char name[64];
    open_plain_pair(f, name, sizeof name);
    to.path = name;
    to.line = MS_LINE_8N1(12345);
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, NULL, NULL, &p), MS_EINVAL);
    to.line = (ms_line_t){ 9600, 8, 'X', 1 };
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, NULL, NULL, &p), MS_EINVAL);
    /* zero line: 300 7E1 */
    to.line = (ms_line_t){ 0 };
    assert_int_equal(ms_phy_tty_open(&f->loop, &to, NULL, NULL, &f->reader), 0);
    assert_int_equal(ms_phy_line(f->reader)->baud, 300);
    assert_int_equal(ms_phy_line(f->reader)->data_bits, 7);
    assert_int_equal(ms_phy_line(f->reader)->parity, 'E');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tty_on_our_pty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty_soft_parity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty_plain_openpty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tty_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
