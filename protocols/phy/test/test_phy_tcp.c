/*
** test_phy_tcp.c — unit tests of the tcp backend on loopback (127.0.0.0/8, ::1).
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

#include "ms_err.h"
#include "phy.h"
#include "phy_test_util.h"

typedef struct fixture {
    uv_loop_t loop;
    ms_phy_listener_t *l;
    rec_t *srv_rec;
    rec_t *cli_rec;
    ms_phy_t *srv; /* accepted */
    ms_phy_t *cli;
    int accepted;
    int connected;
    int connect_status;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->srv_rec = calloc(1, sizeof *f->srv_rec);
    f->cli_rec = calloc(1, sizeof *f->cli_rec);
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->cli)
        ms_phy_close(f->cli);
    if (f->srv)
        ms_phy_close(f->srv);
    if (f->l)
        ms_phy_listener_close(f->l);
    int r = loop_finish(&f->loop);
    free(f->srv_rec);
    free(f->cli_rec);
    free(f);
    assert_int_equal(r, 0);
    return 0;
}

static void on_accept(ms_phy_listener_t *l, ms_phy_t *conn, void *ud)
{
    fixture_t *f = ud;
    f->accepted++;
    f->srv = conn;
    ms_phy_set_callbacks(conn, &rec_cb, f->srv_rec);
}

static void on_connect(ms_phy_t *p, int status, void *ud)
{
    fixture_t *f = ud;
    f->connected++;
    f->connect_status = status;
}

/* A client whose callbacks record into cli_rec (no on_connect: writes queued before
 * the connection is up wait for it). */
static void connect_client(fixture_t *f, const char *host, unsigned port)
{
    assert_int_equal(
        ms_phy_tcp_connect(&f->loop, host, port, &rec_cb, f->cli_rec, NULL, &f->cli), 0);
    assert_non_null(f->cli);
}

static void test_echo(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept, f, &f->l), 0);
    unsigned port = ms_phy_listener_port(f->l);
    assert_true(port > 0);
    f->srv_rec->echo = true;
    connect_client(f, "127.0.0.1", port);
    /* queued before the connection is up: sent once it is */
    assert_int_equal(ms_phy_write(f->cli, (const uint8_t *)"hello", 5, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, f->cli_rec->n >= 5, 3000));
    assert_memory_equal(f->cli_rec->data, "hello", 5);
    assert_int_equal(f->accepted, 1);
    assert_string_equal(ms_phy_name(f->srv), "tcp");
    assert_true(RUN_UNTIL(&f->loop, f->cli_rec->drained >= 1, 2000));

    char host[64];
    unsigned lport = 0;
    assert_int_equal(ms_phy_tcp_local_addr(f->srv, host, sizeof host, &lport), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(lport, port);
    assert_int_equal(ms_phy_tcp_local_addr(f->cli, host, sizeof host, &lport), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_true(lport != port);
    assert_int_equal(ms_phy_tcp_local_addr(f->srv, host, 4, NULL), MS_ENOSPC);

    ms_line_t l = MS_LINE_8N1(9600);
    assert_int_equal(ms_phy_set_line(f->cli, &l), MS_ENOTSUP);

    /* a larger message, both ways */
    static uint8_t big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13u + (i >> 9));
    assert_int_equal(ms_phy_write(f->cli, big, sizeof big, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, f->cli_rec->n >= 5 + sizeof big, 5000));
    assert_memory_equal(f->cli_rec->data + 5, big, sizeof big);

    /* the client closes: the server sees an orderly end */
    ms_phy_close(f->cli);
    f->cli = NULL;
    assert_true(RUN_UNTIL(&f->loop, f->srv_rec->closed == 1, 2000));
    assert_int_equal(f->srv_rec->close_err, 0);
    assert_int_equal(ms_phy_write(f->srv, (const uint8_t *)"x", 1, 0), MS_ECLOSED);
}

static void test_server_closes(void **state)
{
    fixture_t *f = *state;
    /* any 127.x.y.z is local: a fleet tells meters apart by the address reached */
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.5", 0, on_accept, f, &f->l), 0);
    unsigned port = ms_phy_listener_port(f->l);
    connect_client(f, "127.0.0.5", port);
    assert_true(RUN_UNTIL(&f->loop, f->accepted == 1, 3000));
    char host[64];
    assert_int_equal(ms_phy_tcp_local_addr(f->srv, host, sizeof host, NULL), 0);
    assert_string_equal(host, "127.0.0.5");
    /* not_before holds output back (coarse lower bound only) */
    uint64_t t0 = uv_hrtime();
    assert_int_equal(
        ms_phy_write(f->srv, (const uint8_t *)"late", 4, t0 + 30 * MS_PER_NS), 0);
    assert_true(RUN_UNTIL(&f->loop, f->cli_rec->n >= 4, 3000));
    assert_true(f->cli_rec->t_first_data - t0 >= 30 * MS_PER_NS);
    ms_phy_close(f->srv);
    f->srv = NULL;
    assert_true(RUN_UNTIL(&f->loop, f->cli_rec->closed == 1, 2000));
    assert_int_equal(f->cli_rec->close_err, 0);
}

/* on_connect gets the stream's ud (its rec_t); the fixture is reached through this. */
static fixture_t *g_fixture;

static void on_connect_g(ms_phy_t *p, int status, void *ud)
{
    on_connect(p, status, g_fixture);
}

static void test_refused(void **state)
{
    fixture_t *f = *state;
    g_fixture = f;
    /* a port that was free a moment ago: listen on 0, note it, stop listening */
    ms_phy_listener_t *l;
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept, f, &l), 0);
    unsigned port = ms_phy_listener_port(l);
    ms_phy_listener_close(l);
    run_for(&f->loop, 10);
    ms_phy_t *c;
    assert_int_equal(ms_phy_tcp_connect(&f->loop, "127.0.0.1", port, &rec_cb, f->cli_rec,
                                        on_connect_g, &c),
                     0);
    assert_true(RUN_UNTIL(&f->loop, f->connected == 1, 3000));
    assert_int_equal(f->connect_status, MS_ECLOSED);
    run_for(&f->loop, 20);
    assert_int_equal(f->cli_rec->closed, 0); /* reported through on_connect only */
    /* the backend freed it: loop_finish in teardown checks that no handle is left */
}

static void test_close_while_connecting(void **state)
{
    fixture_t *f = *state;
    g_fixture = f;
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept, f, &f->l), 0);
    ms_phy_t *c;
    assert_int_equal(ms_phy_tcp_connect(&f->loop, "127.0.0.1", ms_phy_listener_port(f->l),
                                        &rec_cb, f->cli_rec, on_connect_g, &c),
                     0);
    ms_phy_close(c); /* no callback after this */
    run_for(&f->loop, 50);
    assert_int_equal(f->connected, 0);
}

static void test_ipv6(void **state)
{
    fixture_t *f = *state;
    int r = ms_phy_tcp_listen(&f->loop, "::1", 0, on_accept, f, &f->l);
    if (r < 0) {
        skip(); /* no IPv6 loopback here */
        return;
    }
    f->srv_rec->echo = true;
    connect_client(f, "::1", ms_phy_listener_port(f->l));
    assert_int_equal(ms_phy_write(f->cli, (const uint8_t *)"v6", 2, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, f->cli_rec->n >= 2, 3000));
    char host[64];
    assert_int_equal(ms_phy_tcp_local_addr(f->srv, host, sizeof host, NULL), 0);
    assert_string_equal(host, "::1");
}

static void on_accept_later(ms_phy_listener_t *l, ms_phy_t *conn, void *ud)
{
    fixture_t *f = ud;
    f->accepted++;
    f->srv = conn; /* no callbacks yet */
}

/* An accepted connection holds its input back until the owner sets callbacks. */
static void test_accept_holds_input(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(
        ms_phy_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept_later, f, &f->l), 0);
    connect_client(f, "127.0.0.1", ms_phy_listener_port(f->l));
    assert_int_equal(ms_phy_write(f->cli, (const uint8_t *)"early", 5, 0), 0);
    assert_true(RUN_UNTIL(&f->loop, f->accepted == 1 && f->cli_rec->drained == 1, 3000));
    run_for(&f->loop, 20);
    ms_phy_set_callbacks(f->srv, &rec_cb, f->srv_rec);
    assert_true(RUN_UNTIL(&f->loop, f->srv_rec->n >= 5, 2000));
    assert_memory_equal(f->srv_rec->data, "early", 5);
}

static void test_bad_args(void **state)
{
    fixture_t *f = *state;
    ms_phy_listener_t *l = NULL;
    ms_phy_t *c = NULL;
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "localhost", 0, on_accept, f, &l),
                     MS_EINVAL);
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "999.1.1.1", 0, on_accept, f, &l),
                     MS_EINVAL);
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.1", 70000, on_accept, f, &l),
                     MS_EINVAL);
    /* 192.0.2.1 (TEST-NET-1) is no address of this machine: bind fails, nothing sent */
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "192.0.2.1", 0, on_accept, f, &l),
                     MS_EINVAL);
    assert_null(l);
    assert_int_equal(ms_phy_tcp_connect(&f->loop, "nope", 1, &rec_cb, NULL, NULL, &c),
                     MS_EINVAL);
    assert_null(c);

    /* a port in use */
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.1", 0, on_accept, f, &f->l), 0);
    assert_int_equal(ms_phy_tcp_listen(&f->loop, "127.0.0.1", ms_phy_listener_port(f->l),
                                       on_accept, f, &l),
                     MS_EADDRINUSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_connecting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_holds_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
