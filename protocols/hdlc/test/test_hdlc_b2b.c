/*
** test_hdlc_b2b.c — HDLC client and server sessions back to back with a fake clock:
** negotiation in both views, large APDUs segmented both ways with windows 1 and 7,
** lost and corrupted frames recovered by repeats and checkpointing, DISC, the server's
** inactivity time-out seen by the client.
** SPDX-License-Identifier: MIT
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hdlc_frame.h"
#include "hdlc_link.h"
#include "ms_err.h"

/* One side's view of the run. */
typedef struct side {
    hdlc_link_t *l;
    int connected, disconnected, last_reason, apdus;
    uint8_t apdu[70000];
    size_t apdu_len;
} side_t;

typedef struct net {
    side_t cli, srv;
    uint64_t now;
    unsigned sends;      /* SEND actions seen, both ways */
    unsigned drop_every; /* drop every Nth SEND action (0: none) */
    unsigned flip_every; /* corrupt one byte of every Nth SEND action (0: none) */
    unsigned dropped, flipped;
    const uint8_t *reply; /* the server's answer to every APDU (NULL: release) */
    size_t reply_len;
} net_t;

static net_t net;
static uint8_t req[70000], rep[70000];

/* Carry out every pending action of one side. Returns how many there were. */
static int deliver(net_t *n, side_t *from, side_t *to)
{
    hdlc_action_t a;
    int count = 0;
    while (hdlc_link_next_action(from->l, &a)) {
        count++;
        switch (a.type) {
        case HDLC_ACT_SEND: {
            n->sends++;
            if (n->drop_every && n->sends % n->drop_every == 0) {
                n->dropped++;
                break;
            }
            static uint8_t copy[1 << 16];
            memcpy(copy, a.data, a.len);
            if (n->flip_every && n->sends % n->flip_every == 0) {
                copy[a.len / 2] ^= 0x40;
                n->flipped++;
            }
            /* the wire takes 1 ms; the peer sees the bytes then */
            hdlc_link_sent(from->l, n->now);
            hdlc_link_input(to->l, n->now, copy, a.len);
            break;
        }
        case HDLC_ACT_APDU:
            from->apdus++;
            memcpy(from->apdu, a.data, a.len);
            from->apdu_len = a.len;
            if (from == &n->srv && !a.ui) {
                if (n->reply)
                    assert_int_equal(
                        hdlc_link_send(from->l, n->now, n->reply, n->reply_len), 0);
                else
                    assert_int_equal(hdlc_link_release(from->l, n->now), 0);
            }
            break;
        case HDLC_ACT_CONNECTED:
            from->connected++;
            break;
        case HDLC_ACT_DISCONNECTED:
            from->disconnected++;
            from->last_reason = a.reason;
            break;
        }
    }
    return count;
}

/* Run until `done` or the time limit; when nothing moves, jump to the next deadline. */
static void run(net_t *n, bool (*done)(net_t *), uint64_t limit_ms)
{
    int guard = 0;
    while (!done(n)) {
        assert_true(++guard < 100000);
        int moved = deliver(n, &n->cli, &n->srv);
        moved += deliver(n, &n->srv, &n->cli);
        if (moved || done(n))
            continue;
        /* quiet: advance the clock */
        uint64_t dc = hdlc_link_deadline(n->cli.l), ds = hdlc_link_deadline(n->srv.l);
        uint64_t d = dc < ds ? dc : ds;
        if (d == UINT64_MAX) {
            /* nothing will ever happen: both sides must have drained */
            hdlc_action_t a;
            assert_int_equal(hdlc_link_next_action(n->cli.l, &a), 0);
            break;
        }
        n->now = d > n->now ? d : n->now + 1;
        assert_true(n->now <= limit_ms);
        hdlc_link_tick(n->cli.l, n->now);
        hdlc_link_tick(n->srv.l, n->now);
        /* a tick handles what is due */
        assert_true(hdlc_link_deadline(n->cli.l) > n->now);
        assert_true(hdlc_link_deadline(n->srv.l) > n->now);
    }
}

static bool is_connected(net_t *n)
{
    return n->cli.connected > 0 && n->srv.connected > 0;
}

static bool got_reply(net_t *n)
{
    return n->cli.apdus > 0;
}

static bool server_got(net_t *n)
{
    return n->srv.apdus > 0 && hdlc_link_deadline(n->cli.l) == UINT64_MAX;
}

static bool disconnected(net_t *n)
{
    return n->cli.disconnected > 0;
}

static void setup(unsigned cw, unsigned cinfo, unsigned sw, unsigned sinfo)
{
    memset(&net, 0, sizeof net);
    hdlc_link_cfg_t s, c;
    memset(&s, 0, sizeof s);
    memset(&c, 0, sizeof c);
    s.role = HDLC_ROLE_SERVER;
    hdlc_addr_server(&s.server, 1, 866, 4); /* the Kamstrup address of PROTOCOL-NOTES */
    s.window_tx = s.window_rx = sw;
    s.max_info_tx = s.max_info_rx = sinfo;
    s.inactivity_ms = 60000;
    c.role = HDLC_ROLE_CLIENT;
    c.server = s.server;
    c.client = 0x10;
    c.window_tx = c.window_rx = cw;
    c.max_info_tx = c.max_info_rx = cinfo;
    c.response_ms = 500;
    c.max_retries = 5;
    int err;
    net.srv.l = hdlc_link_new(&s, 0, &err);
    net.cli.l = hdlc_link_new(&c, 0, &err);
    assert_non_null(net.srv.l);
    assert_non_null(net.cli.l);
    for (size_t i = 0; i < sizeof req; i++) {
        req[i] = (uint8_t)(i * 31 + 7);
        rep[i] = (uint8_t)(i * 17 + 3);
    }
}

static void teardown(void)
{
    hdlc_link_free(net.cli.l);
    hdlc_link_free(net.srv.l);
}

static void connect_both(void)
{
    assert_int_equal(hdlc_link_connect(net.cli.l, net.now), 0);
    run(&net, is_connected, 1000000);
    assert_int_equal(hdlc_link_state(net.cli.l), HDLC_STATE_NRM);
    assert_int_equal(hdlc_link_state(net.srv.l), HDLC_STATE_NRM);
}

/* One request of qlen bytes answered by rlen bytes. */
static void exchange(size_t qlen, size_t rlen)
{
    net.cli.apdus = net.srv.apdus = 0;
    net.reply = rep;
    net.reply_len = rlen;
    assert_int_equal(hdlc_link_send(net.cli.l, net.now, req, qlen), 0);
    run(&net, got_reply, 10000000);
    assert_int_equal(net.srv.apdus, 1);
    assert_int_equal(net.srv.apdu_len, qlen);
    assert_memory_equal(net.srv.apdu, req, qlen);
    assert_int_equal(net.cli.apdus, 1);
    assert_int_equal(net.cli.apdu_len, rlen);
    assert_memory_equal(net.cli.apdu, rep, rlen);
}

static void test_window1(void **state)
{
    setup(1, 128, 1, 128);
    connect_both();
    exchange(20, 30);
    exchange(5000, 7000); /* both ways segmented, an RR before every segment */
    exchange(1, 65535);
    teardown();
}

static void test_window7(void **state)
{
    setup(7, 64, 7, 64);
    connect_both();
    assert_int_equal(hdlc_link_params(net.cli.l)->window_tx, 7);
    exchange(5000, 7000);
    exchange(64 * 7 - 3, 64 * 7 - 3); /* exactly one window */
    teardown();
}

static void test_negotiation_views(void **state)
{
    /* the client proposes 2030 / 7, the server can 256 / 3: both get 256 / 3, each in
     * its own view (transmit = the other's receive) */
    setup(7, 2030, 3, 256);
    connect_both();
    const hdlc_link_params_t *c = hdlc_link_params(net.cli.l);
    const hdlc_link_params_t *s = hdlc_link_params(net.srv.l);
    assert_int_equal(c->max_info_tx, 256);
    assert_int_equal(c->max_info_rx, 256);
    assert_int_equal(c->window_tx, 3);
    assert_int_equal(s->window_rx, 3);
    assert_int_equal(s->max_info_tx, c->max_info_rx);
    assert_int_equal(s->window_tx, c->window_rx);
    exchange(3000, 3000);
    teardown();

    /* asymmetric: client sends 2030, receives 64; server accepts 1000 */
    memset(&net, 0, sizeof net);
    hdlc_link_cfg_t sc = { .role = HDLC_ROLE_SERVER,
                           .max_info_tx = 2030,
                           .max_info_rx = 1000 };
    hdlc_link_cfg_t cc = { .role = HDLC_ROLE_CLIENT,
                           .max_info_tx = 2030,
                           .max_info_rx = 64 };
    net.srv.l = hdlc_link_new(&sc, 0, NULL);
    net.cli.l = hdlc_link_new(&cc, 0, NULL);
    connect_both();
    assert_int_equal(hdlc_link_params(net.cli.l)->max_info_tx, 1000);
    assert_int_equal(hdlc_link_params(net.cli.l)->max_info_rx, 64);
    assert_int_equal(hdlc_link_params(net.srv.l)->max_info_tx, 64);
    assert_int_equal(hdlc_link_params(net.srv.l)->max_info_rx, 1000);
    exchange(2500, 2500);
    teardown();
}

static void test_lossy(void **state)
{
    static const unsigned windows[] = { 1, 7 };
    for (int w = 0; w < 2; w++) {
        setup(windows[w], 64, windows[w], 64);
        net.drop_every = 7;
        connect_both();
        exchange(2000, 3000);
        exchange(10, 10);
        assert_true(net.dropped > 0);
        teardown();

        setup(windows[w], 64, windows[w], 64);
        net.flip_every = 5; /* bad FCS or HCS: discarded silently, then repeated */
        connect_both();
        exchange(2000, 3000);
        assert_true(net.flipped > 0);
        teardown();
    }
}

static void test_no_reply_and_disc(void **state)
{
    setup(1, 128, 1, 128);
    connect_both();
    /* the upper layer has no answer: the server releases the poll with RR and the
     * client's request is over */
    net.reply = NULL;
    assert_int_equal(hdlc_link_send(net.cli.l, net.now, req, 300), 0);
    run(&net, server_got, 100000);
    assert_int_equal(net.cli.apdus, 0);
    assert_int_equal(hdlc_link_send(net.cli.l, net.now, req, 3), 0); /* not busy */
    run(&net, server_got, 100000);
    /* DISC: UA, both in NDM */
    assert_int_equal(hdlc_link_disconnect(net.cli.l, net.now), 0);
    run(&net, disconnected, 100000);
    assert_int_equal(net.cli.last_reason, 0);
    assert_int_equal(net.srv.disconnected, 1);
    assert_int_equal(hdlc_link_state(net.srv.l), HDLC_STATE_NDM);
    teardown();
}

static void test_server_inactivity(void **state)
{
    setup(1, 128, 1, 128);
    connect_both();
    /* nothing for 60 s: the server goes back to NDM silently */
    net.now += 60000;
    hdlc_link_tick(net.srv.l, net.now);
    deliver(&net, &net.srv, &net.cli);
    assert_int_equal(net.srv.disconnected, 1);
    assert_int_equal(net.srv.last_reason, MS_ETIMEDOUT);
    /* the client's next request gets DM */
    assert_int_equal(hdlc_link_send(net.cli.l, net.now, req, 10), 0);
    run(&net, disconnected, net.now + 100000);
    assert_int_equal(net.cli.last_reason, MS_ECLOSED);
    teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window1),
        cmocka_unit_test(test_window7),
        cmocka_unit_test(test_negotiation_views),
        cmocka_unit_test(test_lossy),
        cmocka_unit_test(test_no_reply_and_disc),
        cmocka_unit_test(test_server_inactivity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
