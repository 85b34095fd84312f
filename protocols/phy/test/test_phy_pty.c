/*
** test_phy_pty.c — unit tests of the pty backend (meter side) and the pacer, with a
** reader on the slave that uses plain POSIX calls only.
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ms_err.h"
#include "phy.h"
#include "phy_test_util.h"

typedef struct fixture {
    uv_loop_t loop;
    rec_t *rec;
    ms_phy_t *p;
    int reader; /* the slave opened by path, or -1 */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->rec = calloc(1, sizeof *f->rec);
    f->reader = -1;
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->p)
        ms_phy_close(f->p);
    if (f->reader >= 0)
        close(f->reader);
    int r = loop_finish(&f->loop);
    free(f->rec);
    free(f);
    assert_int_equal(r, 0); /* every handle closed: the stream was freed */
    return 0;
}

static void open_pty(fixture_t *f, ms_line_t line, bool no_pace, bool parity_out)
{
    ms_phy_pty_opts_t o = { .line = line, .no_pace = no_pace, .parity_out = parity_out };
    assert_int_equal(ms_phy_pty_open(&f->loop, &o, &rec_cb, f->rec, &f->p), 0);
    assert_non_null(f->p);
    assert_string_equal(ms_phy_name(f->p), "pty");
    assert_non_null(ms_phy_pty_slave(f->p));
}

/* A reader that opens the slave by its path, as any program would. */
static void open_reader(fixture_t *f)
{
    f->reader = open(ms_phy_pty_slave(f->p), O_RDWR | O_NOCTTY | O_NONBLOCK);
    assert_true(f->reader >= 0);
}

/* ---- line helpers ---------------------------------------------------------------- */

static void test_line_helpers(void **state)
{
    ms_line_t l = MS_LINE_7E1(300);
    assert_int_equal(ms_line_char_ns(&l), 33333333); /* 10 bits at 300 Bd */
    l = MS_LINE_8N1(9600);
    assert_int_equal(ms_line_char_ns(&l), 1041667);
    l = (ms_line_t){ 9600, 8, 'E', 2 }; /* 12 bits */
    assert_int_equal(ms_line_char_ns(&l), 1250000);
    l = MS_LINE_8N1(0);
    assert_int_equal(ms_line_char_ns(&l), 0);
    char buf[16];
    l = MS_LINE_7E1(300);
    assert_string_equal(ms_line_str(&l, buf, sizeof buf), "300 7E1");
    l = MS_LINE_8N1(19200);
    assert_string_equal(ms_line_str(&l, buf, sizeof buf), "19200 8N1");
}

/* ---- output ---------------------------------------------------------------------- */

static void fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7u + seed + (i >> 8));
}

static void test_unpaced_write(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(9600), true, false);
    open_reader(f);
    static uint8_t out[3000], in[3000];
    fill_pattern(out, sizeof out, 3);
    assert_int_equal(ms_phy_write(f->p, out, 1000, 0), 0);
    assert_int_equal(ms_phy_write(f->p, out + 1000, 2000, 0), 0);
    assert_int_equal(ms_phy_pending(f->p), 3000);
    size_t got = read_while_running(&f->loop, f->reader, in, sizeof in, 5000, NULL, NULL);
    assert_int_equal(got, sizeof in);
    assert_memory_equal(in, out, sizeof out);
    assert_true(RUN_UNTIL(&f->loop, f->rec->drained == 1, 2000));
    assert_int_equal(ms_phy_pending(f->p), 0);
}

/* Pacing correctness, not speed: 30 characters at 9600 Bd cannot all have arrived
 * before 30 character times have passed, and they arrive complete and in order. */
static void test_paced_write(void **state)
{
    fixture_t *f = *state;
    ms_line_t line = MS_LINE_8N1(9600);
    open_pty(f, line, false, false);
    open_reader(f);
    uint8_t out[30], in[30];
    fill_pattern(out, sizeof out, 11);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(ms_phy_write(f->p, out, sizeof out, 0), 0);
    uint64_t t_first = 0, t_last = 0;
    size_t got =
        read_while_running(&f->loop, f->reader, in, sizeof in, 5000, &t_first, &t_last);
    assert_int_equal(got, sizeof in);
    assert_memory_equal(in, out, sizeof out);
    uint64_t char_ns = ms_line_char_ns(&line);
    assert_true(t_first - t0 >= char_ns);     /* not even the first byte at once */
    assert_true(t_last - t0 >= 30 * char_ns); /* ~31.25 ms */
    assert_true(RUN_UNTIL(&f->loop, f->rec->drained == 1, 2000));
    assert_true(f->rec->drained_t >= t0 + 30 * char_ns);
}

/* Chunks keep the rate they were queued with and their not_before; order is kept. */
static void test_paced_chunks(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(2400), false, false);
    open_reader(f);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"abc", 3, 0), 0);
    ms_line_t fast = MS_LINE_8N1(19200);
    assert_int_equal(ms_phy_set_line(f->p, &fast), 0);
    assert_int_equal(ms_phy_line(f->p)->baud, 19200);
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"defgh", 5, 0), 0);
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"ij", 2, t0 + 20 * MS_PER_NS),
                     0);
    uint8_t in[10];
    uint64_t t_last = 0;
    size_t got =
        read_while_running(&f->loop, f->reader, in, sizeof in, 5000, NULL, &t_last);
    assert_int_equal(got, sizeof in);
    assert_memory_equal(in, "abcdefghij", 10);
    /* 3 chars at 2400 Bd (12.5 ms), then 5 at 19200 (2.6 ms) → 15.1 ms, but "ij" may
     * not start before t0 + 20 ms; its 2 chars end after t0 + 21 ms. */
    assert_true(t_last - t0 >= 21 * MS_PER_NS);
    ms_line_t bad = { 9600, 9, 'N', 1 };
    assert_int_equal(ms_phy_set_line(f->p, &bad), MS_EINVAL);
}

/* Output is dropped by ms_phy_flush(); what follows still goes out. */
static void test_flush(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(1200), false, false);
    open_reader(f);
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"0123456789", 10, 0), 0);
    ms_phy_flush(f->p);
    assert_int_equal(ms_phy_pending(f->p), 0);
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"ok", 2, 0), 0);
    uint8_t in[2];
    assert_int_equal(read_while_running(&f->loop, f->reader, in, 2, 3000, NULL, NULL), 2);
    assert_memory_equal(in, "ok", 2);
    run_for(&f->loop, 30);
    assert_int_equal(read(f->reader, in, sizeof in), -1); /* nothing else */
}

/* More than the pty buffers hold (EAGAIN on the master): nothing lost, order kept. */
static void test_eagain(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(115200), true, false);
    open_reader(f);
    static uint8_t out[200000], in[200000];
    fill_pattern(out, sizeof out, 5);
    assert_int_equal(ms_phy_write(f->p, out, 150000, 0), 0);
    assert_int_equal(ms_phy_write(f->p, out + 150000, 50000, 0), 0);
    /* let it fill the pty before anyone reads */
    run_for(&f->loop, 50);
    assert_true(ms_phy_pending(f->p) > 0);
    size_t got =
        read_while_running(&f->loop, f->reader, in, sizeof in, 10000, NULL, NULL);
    assert_int_equal(got, sizeof in);
    assert_memory_equal(in, out, sizeof out);
    assert_true(RUN_UNTIL(&f->loop, f->rec->drained == 1, 2000));
}

/* ---- input and the reader's termios --------------------------------------------------
 */

static void test_input(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(9600), true, false);
    open_reader(f);
    assert_int_equal(write(f->reader, "/?!\r\n", 5), 5);
    assert_true(RUN_UNTIL(&f->loop, f->rec->n >= 5, 2000));
    assert_memory_equal(f->rec->data, "/?!\r\n", 5);
    assert_int_equal(f->rec->npeer, 0); /* no termios change, no report */
}

static void reader_set_speed(int fd, speed_t sp, bool clear_lflag)
{
    struct termios t;
    assert_int_equal(tcgetattr(fd, &t), 0);
    cfsetispeed(&t, sp);
    cfsetospeed(&t, sp);
    if (clear_lflag)
        t.c_lflag = 0; /* as some programs do: clears EXTPROC too */
    assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
}

static void test_peer_line(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_7E1(300), true, false);
    open_reader(f);
    rec_t *r = f->rec;

    reader_set_speed(f->reader, B9600, false);
    assert_true(RUN_UNTIL(&f->loop, r->npeer >= 1, 2000));
    assert_int_equal(r->peer[0].baud, 9600);
    assert_int_equal(r->peer[0].data_bits, 8); /* a pty is always CS8 */
    assert_int_equal(r->peer[0].parity, 'N');
    assert_int_equal(r->peer[0].stop_bits, 1);

    /* The reader clears EXTPROC: still reported, and EXTPROC is set again. */
    reader_set_speed(f->reader, B2400, true);
    assert_true(RUN_UNTIL(&f->loop, r->npeer >= 2, 2000));
    assert_int_equal(r->peer[1].baud, 2400);
    run_for(&f->loop, 50);
    assert_int_equal(r->npeer, 2); /* our own set is not reported, and does not loop */
    struct termios t;
    assert_int_equal(tcgetattr(f->reader, &t), 0);
    assert_true(t.c_lflag & EXTPROC);

    /* The next change (again without EXTPROC) is seen too. */
    assert_int_equal(tcgetattr(f->reader, &t), 0);
    t.c_lflag = 0;
    cfsetispeed(&t, B4800);
    cfsetospeed(&t, B4800);
    assert_int_equal(tcsetattr(f->reader, TCSANOW, &t), 0);
    assert_true(RUN_UNTIL(&f->loop, r->npeer >= 3, 2000));
    assert_int_equal(r->peer[2].baud, 4800);
    run_for(&f->loop, 50);
    assert_int_equal(r->npeer, 3);
}

/* ---- 7-bit line -----------------------------------------------------------------------
 */

static void test_7bit_in(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_7E1(300), true, false);
    open_reader(f);
    /* 'A' with its (odd-looking) bit 7 set, and 'B' with even parity 0 */
    assert_int_equal(write(f->reader, "\xC1\x42", 2), 2);
    assert_true(RUN_UNTIL(&f->loop, f->rec->n >= 2, 2000));
    assert_int_equal(f->rec->data[0], 0x41);
    assert_int_equal(f->rec->data[1], 0x42);
}

static void test_7bit_out_clear(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_7E1(300), true, false);
    open_reader(f);
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"\xC1\x43", 2, 0), 0);
    uint8_t in[2];
    assert_int_equal(read_while_running(&f->loop, f->reader, in, 2, 2000, NULL, NULL), 2);
    assert_int_equal(in[0], 0x41);
    assert_int_equal(in[1], 0x43);
}

static void test_7bit_out_parity(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_7E1(300), true, true);
    open_reader(f);
    /* 'A' 0x41 has two 1-bits (parity 0), 'C' 0x43 three (parity 1 -> 0xC3), 0x80 is
     * 7-bit 0 (parity 0 -> 0x00), '0' 0x30 two (0x30). */
    assert_int_equal(ms_phy_write(f->p,
                                  (const uint8_t *)"AC\x80"
                                                   "0",
                                  4, 0),
                     0);
    uint8_t in[4];
    assert_int_equal(read_while_running(&f->loop, f->reader, in, 4, 2000, NULL, NULL), 4);
    assert_memory_equal(in, "\x41\xC3\x00\x30", 4);
}

/* ---- symlink --------------------------------------------------------------------------
 */

static void test_symlink(void **state)
{
    fixture_t *f = *state;
    char dir[] = "/tmp/ms_phy_test_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char link[128], file[128], target[128];
    snprintf(link, sizeof link, "%s/meter", dir);
    snprintf(file, sizeof file, "%s/file", dir);

    ms_phy_pty_opts_t o = { .link = link, .no_pace = true };
    ms_phy_t *a, *b;
    assert_int_equal(ms_phy_pty_open(&f->loop, &o, NULL, NULL, &a), 0);
    ssize_t n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, ms_phy_pty_slave(a));

    /* An existing symlink is replaced. */
    assert_int_equal(ms_phy_pty_open(&f->loop, &o, NULL, NULL, &b), 0);
    n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, ms_phy_pty_slave(b));

    /* Closing a leaves b's link alone; closing b removes it. */
    ms_phy_close(a);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    ms_phy_close(b);
    assert_int_equal(lstat(link, &st), -1);
    assert_int_equal(errno, ENOENT);

    /* A regular file is not replaced. */
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    o.link = file;
    ms_phy_t *c = NULL;
    assert_int_equal(ms_phy_pty_open(&f->loop, &o, NULL, NULL, &c), MS_EEXIST);
    assert_null(c);
    assert_int_equal(lstat(file, &st), 0);
    assert_true(S_ISREG(st.st_mode));

    unlink(file);
    rmdir(dir);
}

/* ---- output nobody reads ------------------------------------------------------------
 */

static int unread_bytes(int fd)
{
    int n = -1;
    assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
    return n;
}

static void test_stale_output(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(9600), true, false);
    open_reader(f); /* opened, but not reading */
    uint64_t t0 = uv_hrtime();
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"old", 3, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, unread_bytes(f->reader) == 3, 500));

    /* Fresh bytes 600 ms later; at 1.2 s the old ones are gone, the fresh ones kept. */
    run_for(&f->loop, 600);
    assert_int_equal(unread_bytes(f->reader), 3); /* not before 1 s */
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"fresh", 5, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, unread_bytes(f->reader) == 8, 500));
    uint64_t now = uv_hrtime();
    if (t0 + 1200 * MS_PER_NS > now)
        run_for(&f->loop, (unsigned)((t0 + 1200 * MS_PER_NS - now) / MS_PER_NS));
    assert_int_equal(unread_bytes(f->reader), 5);
    uint8_t in[8];
    assert_int_equal(read(f->reader, in, sizeof in), 5);
    assert_memory_equal(in, "fresh", 5);

    /* Everything stale: all of it goes. */
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"again", 5, 0), 0);
    run_for(&f->loop, 1200);
    assert_int_equal(unread_bytes(f->reader), 0);
    /* A reader that comes later gets only what is sent after. */
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"new", 3, 0), 0);
    assert_int_equal(read_while_running(&f->loop, f->reader, in, 3, 2000, NULL, NULL), 3);
    assert_memory_equal(in, "new", 3);
}

/* ---- close ------------------------------------------------------------------------ */

static void test_close_in_callback(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(9600), false, false);
    open_reader(f);
    f->rec->close_in_data = true;
    /* queued output at close: no on_drained after it */
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"0123456789", 10, 0), 0);
    assert_int_equal(write(f->reader, "x", 1), 1);
    assert_true(RUN_UNTIL(&f->loop, f->rec->n >= 1, 2000));
    f->p = NULL; /* closed by the callback */
    run_for(&f->loop, 50);
    assert_int_equal(f->rec->n, 1);
    assert_int_equal(f->rec->drained, 0);
    assert_int_equal(f->rec->closed, 0);
}

static void test_write_after_close_api(void **state)
{
    fixture_t *f = *state;
    open_pty(f, MS_LINE_8N1(9600), false, false);
    char host[64];
    assert_int_equal(ms_phy_tcp_local_addr(f->p, host, sizeof host, NULL), MS_ENOTSUP);
    ms_phy_close(f->p);
    assert_int_equal(ms_phy_write(f->p, (const uint8_t *)"x", 1, 0), MS_ECLOSED);
    ms_phy_close(f->p); /* idempotent until the loop frees it */
    f->p = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_helpers),
        cmocka_unit_test_setup_teardown(test_unpaced_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paced_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paced_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eagain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_7bit_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_7bit_out_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_7bit_out_parity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_after_close_api, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
