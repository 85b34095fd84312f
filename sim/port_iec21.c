/*
** port_iec21.c — a meter's IEC 62056-21 ports: each byte stream (a pty, or a TCP
** connection) drives one meter-side session (protocols/iec62056_21/iec21_meter.h). The
** session decides what to send and when; this file only moves bytes, keeps time and
** keeps statistics.
** SPDX-License-Identifier: MIT
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iec21_meter.h"
#include "log.h"
#include "ms_err.h"
#include "sim.h"
#include "view_iec21.h"

typedef struct ms_link ms_link_t;

struct ms_port {
    ms_port_kind_t kind;
    ms_sim_meter_t *sm;
    char link[256];
    char address[64];
    ms_phy_t *phy;               /* pty */
    ms_phy_listener_t *listener; /* tcp */
    ms_link_t *links;            /* sessions on this port (pty: exactly one) */
    unsigned nlinks;
    ms_port_info_t stats; /* counters; the rest is filled by ms_port_info */
    const char *last_session;
};

struct ms_link {
    ms_port_t *port;
    ms_link_t *next;
    ms_phy_t *phy;
    iec21_meter_t *sess;
    uv_timer_t timer;
    uint64_t last_rx_ns; /* when the last byte was received */
    uint64_t tx_end_ns;  /* when the output queued so far will have reached the reader */
    unsigned baud;       /* the session's current rate */
    bool closing;
};

static uint64_t to_ms(uint64_t ns)
{
    return ns / 1000000;
}

static const char *name_of(const ms_link_t *l)
{
    return l->port->sm->meter->id;
}

/* ---- session callbacks (iec21_meter_ops_t): the IEC 62056-21 view of the meter ---- */

static int op_readout(void *ctx, ms_wr_t *out)
{
    ms_link_t *l = ctx;
    return ms_iec21_readout(l->port->sm->meter, out);
}

static int op_password(void *ctx, int level, const char *operand, size_t len)
{
    ms_link_t *l = ctx;
    return ms_iec21_password(l->port->sm->meter, level, operand, len);
}

static iec21_reply_t op_command(void *ctx, int access, const iec21_msg_t *cmd,
                                ms_wr_t *out)
{
    ms_link_t *l = ctx;
    return ms_iec21_command(l->port->sm->meter, access, cmd, out);
}

static void op_event(void *ctx, iec21_meter_event_t ev, const char *detail)
{
    ms_link_t *l = ctx;
    ms_port_info_t *st = &l->port->stats;
    static const char *const names[] = {
        [IEC21_EV_SIGN_ON] = "sign-on",
        [IEC21_EV_BAUD] = "baud",
        [IEC21_EV_READOUT] = "readout",
        [IEC21_EV_PROGRAMMING] = "programming mode",
        [IEC21_EV_PASSWORD_OK] = "password ok",
        [IEC21_EV_PASSWORD_WRONG] = "wrong password",
        [IEC21_EV_BAD_BCC] = "bad BCC, NAK",
        [IEC21_EV_FRAME_ERROR] = "malformed message",
        [IEC21_EV_UNKNOWN_ADDRESS] = "unknown address",
        [IEC21_EV_BREAK] = "break",
        [IEC21_EV_TIMEOUT] = "time-out",
        [IEC21_EV_NAK_RECEIVED] = "NAK received",
    };
    switch (ev) {
    case IEC21_EV_SIGN_ON:
        st->sign_ons++;
        break;
    case IEC21_EV_READOUT:
        st->readouts++;
        break;
    case IEC21_EV_BAD_BCC:
        st->bad_bcc++;
        break;
    case IEC21_EV_PASSWORD_WRONG:
        st->wrong_passwords++;
        break;
    case IEC21_EV_NAK_RECEIVED:
        st->naks_received++;
        break;
    default:
        break;
    }
    const char *n =
        (unsigned)ev < sizeof names / sizeof names[0] && names[ev] ? names[ev] : "?";
    ms_log(ev == IEC21_EV_BAD_BCC || ev == IEC21_EV_PASSWORD_WRONG ? MS_LOG_WARN
                                                                   : MS_LOG_INFO,
           name_of(l), "iec62056-21 %s %s%s%s",
           l->port->kind == MS_PORT_PTY ? "pty" : "tcp", n,
           detail && detail[0] ? ": " : "", detail ? detail : "");
}

static const iec21_meter_ops_t link_ops = {
    .readout = op_readout,
    .password = op_password,
    .command = op_command,
    .event = op_event,
};

/* ---- driving the session ------------------------------------------------------------
 */

static void on_timer(uv_timer_t *t);

/* Execute what the session asks for, then arm the timer for its next deadline. */
static void run_actions(ms_link_t *l)
{
    iec21_action_t a;
    while (iec21_meter_next_action(l->sess, &a)) {
        if (a.type == IEC21_ACT_SEND) {
            /* The reaction time counts from the later of the last byte received and
             * the end of our previous transmission. */
            uint64_t now = uv_hrtime();
            uint64_t from = l->last_rx_ns > l->tx_end_ns ? l->last_rx_ns : l->tx_end_ns;
            uint64_t start = from + (uint64_t)a.delay_ms * 1000000;
            if (start < now)
                start = now;
            int rc = ms_phy_write(l->phy, a.data, a.len, start);
            if (rc < 0) {
                ms_log(MS_LOG_WARN, name_of(l), "write failed: %s", ms_strerror(rc));
                continue;
            }
            l->tx_end_ns = start + a.len * ms_line_char_ns(ms_phy_line(l->phy));
            l->port->stats.tx_bytes += a.len;
        } else if (a.type == IEC21_ACT_SET_BAUD) {
            l->baud = a.baud;
            ms_line_t line = *ms_phy_line(l->phy);
            line.baud = a.baud;
            int rc = ms_phy_set_line(l->phy, &line);
            if (rc < 0 && rc != MS_ENOTSUP)
                ms_log(MS_LOG_WARN, name_of(l), "cannot switch to %u Bd: %s", a.baud,
                       ms_strerror(rc));
        }
    }
    l->port->last_session = iec21_meter_state_name(l->sess);
    uint64_t d = iec21_meter_deadline(l->sess);
    if (d == UINT64_MAX) {
        uv_timer_stop(&l->timer);
    } else {
        uint64_t now = to_ms(uv_hrtime());
        uv_timer_start(&l->timer, on_timer, d > now ? d - now : 0, 0);
    }
}

static void on_timer(uv_timer_t *t)
{
    ms_link_t *l = t->data;
    ms_sim_sync(l->port->sm);
    iec21_meter_tick(l->sess, to_ms(uv_hrtime()));
    run_actions(l);
}

static void on_data(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t_ns, void *ud)
{
    ms_link_t *l = ud;
    l->last_rx_ns = t_ns;
    l->port->stats.rx_bytes += len;
    ms_sim_sync(l->port->sm);
    iec21_meter_input(l->sess, to_ms(t_ns), buf, len);
    run_actions(l);
}

static void on_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    ms_link_t *l = ud;
    iec21_meter_sent(l->sess, to_ms(t_ns));
    run_actions(l);
}

static void on_peer_line(ms_phy_t *p, const ms_line_t *line, void *ud)
{
    ms_link_t *l = ud;
    ms_port_info_t *st = &l->port->stats;
    st->peer_line_changes++;
    if (line->baud != st->peer_baud)
        ms_log(MS_LOG_INFO, name_of(l), "reader set its line to %u Bd", line->baud);
    st->peer_baud = line->baud;
}

static void link_free_cb(uv_handle_t *h)
{
    free(h->data);
}

static void link_close(ms_link_t *l)
{
    if (l->closing)
        return;
    l->closing = true;
    ms_port_t *port = l->port;
    for (ms_link_t **pp = &port->links; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            port->nlinks--;
            break;
        }
    }
    iec21_meter_free(l->sess);
    if (l->phy)
        ms_phy_close(l->phy);
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, link_free_cb);
}

static void on_close(ms_phy_t *p, int err, void *ud)
{
    ms_link_t *l = ud;
    if (err)
        ms_log(MS_LOG_INFO, name_of(l), "connection ended: %s", ms_strerror(err));
    link_close(l);
}

static const ms_phy_cb_t link_cb = {
    .on_data = on_data,
    .on_peer_line = on_peer_line,
    .on_drained = on_drained,
    .on_close = on_close,
};

static ms_link_t *link_new(ms_port_t *port, char *msg, size_t msgcap)
{
    ms_sim_meter_t *sm = port->sm;
    ms_link_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->port = port;
    int err = 0;
    l->sess = iec21_meter_new(&sm->model->iec21.session, &link_ops, l, to_ms(uv_hrtime()),
                              &err);
    if (!l->sess) {
        snprintf(msg, msgcap, "%s: IEC 62056-21 settings refused: %s", sm->model->path,
                 ms_strerror(err));
        free(l);
        return NULL;
    }
    l->baud = iec21_meter_baud(l->sess);
    uv_timer_init(sm->sim->loop, &l->timer);
    l->timer.data = l;
    l->next = port->links;
    port->links = l;
    port->nlinks++;
    return l;
}

/* ---- ports --------------------------------------------------------------------------
 */

int ms_port_open_pty(ms_sim_meter_t *sm, const char *link, ms_port_t **out, char *msg,
                     size_t msgcap)
{
    if (sm->nports >= MS_SIM_MAX_PORTS)
        return MS_ENOSPC;
    ms_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return MS_ENOMEM;
    p->kind = MS_PORT_PTY;
    p->sm = sm;
    snprintf(p->link, sizeof p->link, "%s", link ? link : "");
    ms_link_t *l = link_new(p, msg, msgcap);
    if (!l) {
        free(p);
        return MS_EINVAL;
    }
    ms_phy_pty_opts_t o = {
        .link = link,
        .line = MS_LINE_7E1(l->baud),
        .parity_out = sm->model->iec21.parity_out,
    };
    int rc = ms_phy_pty_open(sm->sim->loop, &o, &link_cb, l, &l->phy);
    if (rc < 0) {
        snprintf(msg, msgcap, "--pty %s: %s", link ? link : "", ms_strerror(rc));
        link_close(l);
        free(p);
        return rc;
    }
    sm->ports[sm->nports++] = p;
    *out = p;
    return 0;
}

static void on_accept(ms_phy_listener_t *lis, ms_phy_t *conn, void *ud)
{
    ms_port_t *p = ud;
    char msg[256];
    ms_link_t *l = link_new(p, msg, sizeof msg);
    if (!l) {
        ms_log(MS_LOG_ERROR, p->sm->meter->id, "%s", msg);
        ms_phy_close(conn);
        return;
    }
    l->phy = conn;
    ms_phy_set_callbacks(conn, &link_cb, l);
    char host[64];
    unsigned port = 0;
    ms_phy_tcp_local_addr(conn, host, sizeof host, &port);
    ms_log(MS_LOG_INFO, p->sm->meter->id, "iec62056-21 tcp connection on %s:%u", host,
           port);
}

int ms_port_open_tcp(ms_sim_meter_t *sm, const char *host, unsigned port, ms_port_t **out,
                     char *msg, size_t msgcap)
{
    if (sm->nports >= MS_SIM_MAX_PORTS)
        return MS_ENOSPC;
    ms_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return MS_ENOMEM;
    p->kind = MS_PORT_TCP;
    p->sm = sm;
    int rc = ms_phy_tcp_listen(sm->sim->loop, host, port, on_accept, p, &p->listener);
    if (rc < 0) {
        snprintf(msg, msgcap, "--tcp %s:%u: %s", host, port, ms_strerror(rc));
        free(p);
        return rc;
    }
    snprintf(p->address, sizeof p->address, "%s%s%s:%u", strchr(host, ':') ? "[" : "",
             host, strchr(host, ':') ? "]" : "", ms_phy_listener_port(p->listener));
    sm->ports[sm->nports++] = p;
    *out = p;
    return 0;
}

void ms_port_info(const ms_port_t *p, ms_port_info_t *info)
{
    *info = p->stats;
    info->kind = p->kind;
    info->protocol = "iec62056-21";
    snprintf(info->link, sizeof info->link, "%s", p->link);
    snprintf(info->address, sizeof info->address, "%s", p->address);
    info->connections = p->nlinks;
    info->session = p->last_session ? p->last_session : "idle";
    if (p->kind == MS_PORT_PTY && p->links) {
        snprintf(info->path, sizeof info->path, "%s", ms_phy_pty_slave(p->links->phy));
        info->baud = p->links->baud;
        info->session = iec21_meter_state_name(p->links->sess);
    }
}

void ms_port_close(ms_port_t *p)
{
    if (!p)
        return;
    while (p->links)
        link_close(p->links);
    if (p->listener)
        ms_phy_listener_close(p->listener);
    free(p);
}
