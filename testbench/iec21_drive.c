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

/* Execute the session's actions and arm its deadline. */
static void pump(mb_iec21_t *s)
{
    iec21_action_t a;
    while (iec21_client_next_action(s->client, &a)) {
        if (a.type == IEC21_ACT_SEND) {
            uint64_t now = uv_hrtime();
            uint64_t from = s->last_rx_ns > s->tx_end_ns ? s->last_rx_ns : s->tx_end_ns;
            uint64_t start = from + (uint64_t)a.delay_ms * 1000000;
            if (start < now)
                start = now;
            if (s->trace)
                s->trace(s->trace_ud, MB_TRACE_TX, a.data, a.len, start);
            if (ms_phy_write(s->phy, a.data, a.len, start) == 0)
                s->tx_end_ns = start + a.len * ms_line_char_ns(ms_phy_line(s->phy));
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
}

static void on_data(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t_ns, void *ud)
{
    mb_iec21_t *s = ud;
    s->last_rx_ns = t_ns;
    if (s->trace)
        s->trace(s->trace_ud, MB_TRACE_RX, buf, len, t_ns);
    iec21_client_input(s->client, t_ns / 1000000, buf, len);
    pump(s);
}

static void on_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    mb_iec21_t *s = ud;
    iec21_client_sent(s->client, t_ns / 1000000);
    pump(s);
}

static void on_close(ms_phy_t *p, int err, void *ud)
{
    mb_iec21_t *s = ud;
    s->closed = true;
}

static void on_connect(ms_phy_t *p, int status, void *ud)
{
    mb_iec21_t *s = ud;
    s->conn_err = status;
    s->connected = status == 0;
    if (status)
        s->phy = NULL; /* the backend frees a stream that failed to connect */
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

int mb_iec21_open(mb_iec21_t *s, uv_loop_t *loop, const char *meter,
                  const iec21_client_cfg_t *cfg, unsigned timeout_ms, char *msg,
                  size_t msgcap)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    int rc, err = 0;
    s->client = iec21_client_new(cfg, now_ms(), &err);
    if (!s->client) {
        snprintf(msg, msgcap, "reader session: %s", ms_strerror(err));
        return err;
    }
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
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
            goto fail;
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
            rc = MS_EINVAL;
            goto fail;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
        if (host[0] == '[') { /* [v6]:port */
            memmove(host, host + 1, strlen(host));
            host[strcspn(host, "]")] = 0;
        }
        rc = ms_phy_tcp_connect(loop, host, (unsigned)port, &cb, s, on_connect, &s->phy);
        if (rc == 0)
            rc = run_until(s, connected_or_failed, timeout_ms);
        if (rc == 0)
            rc = s->conn_err;
        if (rc) {
            snprintf(msg, msgcap, "%s: %s", meter, ms_strerror(rc));
            goto fail;
        }
        return 0;
    }
    snprintf(msg, msgcap, "%s: expected serial:DEVICE or tcp:HOST:PORT", meter);
    rc = MS_EINVAL;
fail:
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

const iec21_client_result_t *mb_iec21_result(const mb_iec21_t *s)
{
    return iec21_client_result(s->client);
}

void mb_iec21_close(mb_iec21_t *s)
{
    if (s->phy) {
        ms_phy_close(s->phy);
        s->phy = NULL;
    }
    if (s->client) {
        uv_timer_stop(&s->timer);
        uv_close((uv_handle_t *)&s->timer, NULL);
        iec21_client_free(s->client);
        s->client = NULL;
    }
    /* Closed handles are released on the next loop iterations. */
    for (int i = 0; i < 4; i++)
        uv_run(s->loop, UV_RUN_NOWAIT);
}
