/*
** iec21_drive.c — reader-side IEC 62056-21 session over a phy stream.
** SPDX-License-Identifier: MIT
*/
#include "iec21_drive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void on_timer(uv_timer_t *t);

/* The asynchronous exchange under way has ended: report it once. */
static void check_done(mb_iec21_t *s)
{
    if (!s->done || s->closing)
        return;
    int rc;
    if (s->closed && (!s->client || iec21_client_status(s->client) == IEC21_CLIENT_BUSY))
        rc = MS_ECLOSED;
    else if (iec21_client_status(s->client) == IEC21_CLIENT_BUSY)
        return;
    else
        rc = iec21_client_result(s->client)->err;
    mb_iec21_done_fn fn = s->done;
    void *ud = s->done_ud;
    s->done = NULL;
    fn(s, rc, ud);
}

/* Queue bytes after `delay_ms` of silence since the last byte either way. */
static int send_at(mb_iec21_t *s, const uint8_t *p, size_t n, unsigned delay_ms)
{
    uint64_t now = uv_hrtime();
    uint64_t from = s->last_rx_ns > s->tx_end_ns ? s->last_rx_ns : s->tx_end_ns;
    uint64_t start = from + (uint64_t)delay_ms * 1000000;
    if (start < now)
        start = now;
    /* A paced line starts after what is queued already. */
    if (start < s->tx_end_ns)
        start = s->tx_end_ns;
    if (s->trace)
        s->trace(s->trace_ud, MB_TRACE_TX, p, n, start);
    int rc = ms_phy_write(s->phy, p, n, start);
    if (rc == 0)
        s->tx_end_ns = start + n * ms_line_char_ns(ms_phy_line(s->phy));
    return rc;
}

/* Execute the session's actions and arm its deadline. */
static void pump(mb_iec21_t *s)
{
    if (!s->phy || s->closing)
        return;
    iec21_action_t a;
    while (iec21_client_next_action(s->client, &a)) {
        if (a.type == IEC21_ACT_SEND) {
            send_at(s, a.data, a.len, a.delay_ms);
        } else if (a.type == IEC21_ACT_SET_BAUD) {
            ms_line_t line = *ms_phy_line(s->phy);
            line.baud = a.baud;
            ms_phy_set_line(s->phy, &line); /* MS_ENOTSUP on tcp: nothing to switch */
        }
    }
    uint64_t d = iec21_client_deadline(s->client);
    if (d == UINT64_MAX) {
        uv_timer_stop(&s->timer);
    } else {
        uint64_t n = now_ms();
        uv_timer_start(&s->timer, on_timer, d > n ? d - n : 0, 0);
    }
}

static void on_timer(uv_timer_t *t)
{
    mb_iec21_t *s = t->data;
    iec21_client_tick(s->client, now_ms());
    pump(s);
    check_done(s);
}

static void on_data(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t_ns, void *ud)
{
    mb_iec21_t *s = ud;
    s->last_rx_ns = t_ns;
    if (s->trace)
        s->trace(s->trace_ud, MB_TRACE_RX, buf, len, t_ns);
    if (s->closing)
        return;
    iec21_client_input(s->client, t_ns / 1000000, buf, len);
    pump(s);
    check_done(s);
}

static void on_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    mb_iec21_t *s = ud;
    iec21_client_sent(s->client, t_ns / 1000000);
    pump(s);
    check_done(s);
}

static void on_close(ms_phy_t *p, int err, void *ud)
{
    mb_iec21_t *s = ud;
    s->closed = true;
    s->close_err = err;
    check_done(s);
}

static void on_connect(ms_phy_t *p, int status, void *ud)
{
    mb_iec21_t *s = ud;
    s->conn_err = status;
    s->connected = status == 0;
    if (status)
        s->phy = NULL; /* the backend frees a stream that failed to connect */
    if (s->opened) {
        mb_iec21_open_fn fn = s->opened;
        s->opened = NULL;
        fn(s, status, s->opened_ud);
    }
}

static const ms_phy_cb_t cb = {
    .on_data = on_data,
    .on_drained = on_drained,
    .on_close = on_close,
};

static void wake(uv_timer_t *t)
{
    (void)t; /* only wakes uv_run so that the time limit is checked */
}

/* Run the loop until pred(s) holds or timeout_ms passes. Returns 0 or MS_ETIMEDOUT. */
static int run_until(mb_iec21_t *s, bool (*pred)(mb_iec21_t *), unsigned timeout_ms)
{
    uint64_t end = uv_hrtime() + (uint64_t)timeout_ms * 1000000;
    uv_timer_t guard;
    uv_timer_init(s->loop, &guard);
    uv_timer_start(&guard, wake, timeout_ms, 0);
    int rc = 0;
    while (!pred(s)) {
        if (uv_hrtime() >= end) {
            rc = MS_ETIMEDOUT;
            break;
        }
        uv_run(s->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(s->loop, UV_RUN_NOWAIT);
    return rc;
}

static bool connected_or_failed(mb_iec21_t *s)
{
    return s->connected || s->conn_err;
}

int mb_iec21_open_async(mb_iec21_t *s, uv_loop_t *loop, const char *meter,
                        const iec21_client_cfg_t *cfg, mb_iec21_open_fn opened, void *ud,
                        char *msg, size_t msgcap)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->timer_init = true;
    int rc, err = 0;
    s->client = iec21_client_new(cfg, now_ms(), &err);
    if (!s->client) {
        snprintf(msg, msgcap, "reader session: %s", ms_strerror(err));
        return err;
    }
    if (strncmp(meter, "serial:", 7) == 0) {
        const char *dev = meter + 7;
        /* A pty has no UART to pace the reader's bytes: pace in software. */
        bool pty = strncmp(dev, "/dev/pts/", 9) == 0;
        char real[4096];
        if (!pty && realpath(dev, real))
            pty = strncmp(real, "/dev/pts/", 9) == 0;
        ms_phy_tty_opts_t o = { .path = dev,
                                .line =
                                    cfg->mode_d ? MS_LINE_7E1(2400) : MS_LINE_7E1(300),
                                .pace = pty };
        rc = ms_phy_tty_open(loop, &o, &cb, s, &s->phy);
        if (rc) {
            snprintf(msg, msgcap, "%s: %s", meter, ms_strerror(rc));
            return rc;
        }
        s->connected = true;
        return 0;
    }
    if (strncmp(meter, "tcp:", 4) == 0) {
        char host[128];
        const char *hp = meter + 4, *colon = strrchr(hp, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || *end || port <= 0 || port > 65535) {
            snprintf(msg, msgcap, "%s: expected tcp:HOST:PORT", meter);
            return MS_EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
        if (host[0] == '[') { /* [v6]:port */
            memmove(host, host + 1, strlen(host));
            host[strcspn(host, "]")] = 0;
        }
        s->opened = opened;
        s->opened_ud = ud;
        rc = ms_phy_tcp_connect(loop, host, (unsigned)port, &cb, s, on_connect, &s->phy);
        if (rc) {
            s->opened = NULL;
            s->phy = NULL;
            snprintf(msg, msgcap, "%s: %s", meter, ms_strerror(rc));
            return rc;
        }
        return 1;
    }
    snprintf(msg, msgcap, "%s: expected serial:DEVICE or tcp:HOST:PORT", meter);
    return MS_EINVAL;
}

int mb_iec21_open(mb_iec21_t *s, uv_loop_t *loop, const char *meter,
                  const iec21_client_cfg_t *cfg, unsigned timeout_ms, char *msg,
                  size_t msgcap)
{
    int rc = mb_iec21_open_async(s, loop, meter, cfg, NULL, NULL, msg, msgcap);
    if (rc == 1) {
        rc = run_until(s, connected_or_failed, timeout_ms);
        if (rc == 0)
            rc = s->conn_err;
        if (rc)
            snprintf(msg, msgcap, "%s: %s", meter, ms_strerror(rc));
    }
    if (rc < 0)
        mb_iec21_close(s);
    return rc;
}

static bool not_busy(mb_iec21_t *s)
{
    return s->closed || iec21_client_status(s->client) != IEC21_CLIENT_BUSY;
}

static int finish(mb_iec21_t *s, int started, unsigned timeout_ms)
{
    if (started)
        return started;
    pump(s);
    int rc = run_until(s, not_busy, timeout_ms);
    if (rc)
        return rc;
    if (s->closed && iec21_client_status(s->client) == IEC21_CLIENT_BUSY)
        return MS_ECLOSED;
    return iec21_client_result(s->client)->err;
}

int mb_iec21_readout(mb_iec21_t *s, unsigned timeout_ms)
{
    return finish(s, iec21_client_readout(s->client, now_ms()), timeout_ms);
}

int mb_iec21_program(mb_iec21_t *s, const char *password, int level, unsigned timeout_ms)
{
    return finish(s, iec21_client_program(s->client, now_ms(), password, level),
                  timeout_ms);
}

int mb_iec21_command(mb_iec21_t *s, char cmd, char type, const char *data,
                     unsigned timeout_ms)
{
    return finish(s, iec21_client_command(s->client, now_ms(), cmd, type, data),
                  timeout_ms);
}

int mb_iec21_break(mb_iec21_t *s, unsigned timeout_ms)
{
    return finish(s, iec21_client_break(s->client, now_ms()), timeout_ms);
}

int mb_iec21_start(mb_iec21_t *s, mb_iec21_op_t op, char cmd, char cmd_type,
                   const char *data, mb_iec21_done_fn done, void *ud)
{
    if (s->closing || s->closed || !s->phy)
        return MS_ECLOSED;
    if (s->done)
        return MS_ESTATE;
    uint64_t now = now_ms();
    int rc;
    switch (op) {
    case MB_IEC21_READOUT:
        rc = iec21_client_readout(s->client, now);
        break;
    case MB_IEC21_PROGRAM:
        rc = iec21_client_program(s->client, now, data, cmd_type == '2' ? 2 : 1);
        break;
    case MB_IEC21_COMMAND:
        rc = iec21_client_command(s->client, now, cmd, cmd_type, data);
        break;
    case MB_IEC21_BREAK:
        rc = iec21_client_break(s->client, now);
        break;
    default:
        rc = MS_EINVAL;
    }
    if (rc)
        return rc;
    s->done = done;
    s->done_ud = ud;
    pump(s);
    check_done(s);
    return 0;
}

int mb_iec21_send_raw(mb_iec21_t *s, const uint8_t *p, size_t n, unsigned delay_ms)
{
    if (s->closing || s->closed || !s->phy)
        return MS_ECLOSED;
    return send_at(s, p, n, delay_ms);
}

int mb_iec21_set_baud(mb_iec21_t *s, unsigned baud)
{
    if (s->closing || s->closed || !s->phy)
        return MS_ECLOSED;
    ms_line_t line = *ms_phy_line(s->phy);
    line.baud = baud;
    return ms_phy_set_line(s->phy, &line);
}

const iec21_client_result_t *mb_iec21_result(const mb_iec21_t *s)
{
    return iec21_client_result(s->client);
}

static void timer_closed(uv_handle_t *h)
{
    mb_iec21_t *s = h->data;
    iec21_client_free(s->client);
    s->client = NULL;
    if (s->on_closed)
        s->on_closed(s, s->closed_ud);
}

void mb_iec21_close_async(mb_iec21_t *s, mb_iec21_closed_fn closed, void *ud)
{
    s->closing = true;
    s->done = NULL;
    s->opened = NULL;
    s->trace = NULL;
    if (s->phy) {
        ms_phy_close(s->phy);
        s->phy = NULL;
    }
    s->on_closed = closed;
    s->closed_ud = ud;
    if (s->timer_init) {
        s->timer_init = false;
        uv_close((uv_handle_t *)&s->timer, timer_closed);
    } else {
        iec21_client_free(s->client);
        s->client = NULL;
        if (closed)
            closed(s, ud);
    }
}

void mb_iec21_close(mb_iec21_t *s)
{
    mb_iec21_close_async(s, NULL, NULL);
    /* Closed handles are released on the next loop iterations. */
    for (int i = 0; i < 4; i++)
        uv_run(s->loop, UV_RUN_NOWAIT);
}
