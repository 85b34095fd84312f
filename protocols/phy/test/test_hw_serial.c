/*
** test_hw_serial.c — hardware test (label hw, only with -DMS_HW_TESTS=ON): the tty
** backend on a real serial adapter whose TX is wired to its RX (a loopback plug).
** MS_HW_SERIAL names the device, e.g. /dev/ttyUSB0. Bytes written at 9600 8N1 and at
** 300 7E1 (parity done by the UART) must come back unchanged, and a 64-byte write at
** 300 Bd must take at least its wire time (the UART paces itself).
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ms_err.h"
#include "phy.h"

typedef struct rx {
    uint8_t buf[256];
    size_t n;
    uint64_t last_ns;
} rx_t;

static void on_data(ms_phy_t *p, const uint8_t *b, size_t n, uint64_t t_ns, void *ud)
{
    rx_t *r = ud;
    size_t k = n < sizeof r->buf - r->n ? n : sizeof r->buf - r->n;
    memcpy(r->buf + r->n, b, k);
    r->n += k;
    r->last_ns = t_ns;
}

static void loopback(const char *dev, ms_line_t line, size_t len, unsigned limit_ms)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    rx_t r = { .n = 0 };
    ms_phy_cb_t cb = { .on_data = on_data };
    ms_phy_tty_opts_t o = { .path = dev, .line = line };
    ms_phy_t *p = NULL;
    int rc = ms_phy_tty_open(&loop, &o, &cb, &r, &p);
    if (rc)
        fail_msg("%s: %s", dev, ms_strerror(rc));
    uint8_t out[256];
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(line.data_bits == 7 ? 0x20 + i % 0x5F : i);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(ms_phy_write(p, out, len, 0), 0);
    while (r.n < len && uv_hrtime() - t0 < (uint64_t)limit_ms * 1000000)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(r.n, len);
    assert_memory_equal(r.buf, out, len);
    /* a UART needs the wire time: len x 10 bits / rate */
    assert_true(r.last_ns - t0 >= len * ms_line_char_ns(&line) * 9 / 10);
    ms_phy_close(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static void test_loopback(void **state)
{
    const char *dev = getenv("MS_HW_SERIAL");
    if (!dev)
        fail_msg("set MS_HW_SERIAL to a serial device with TX wired to RX");
    loopback(dev, MS_LINE_8N1(9600), 200, 2000);
    loopback(dev, MS_LINE_7E1(300), 64, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_loopback) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
