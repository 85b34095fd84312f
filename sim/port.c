/*
** port.c — a meter's ports: each byte stream (a pty, or a TCP connection) is a link
** that drives the protocol sessions of protocols/: an IEC 62056-21 meter session
** (iec21_meter.h), which may hand the link over to HDLC (mode E); an HDLC link
** (hdlc_link.h) or a wrapper stream (dlms_wrapper.h) carrying DLMS/COSEM associations
** (dlms_server.h) served by the meter's COSEM view. The sessions decide what to send
** and when; this file only moves bytes, keeps time and keeps statistics.
** SPDX-License-Identifier: MIT
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlms_server.h"
#include "dlms_wrapper.h"
#include "hdlc_link.h"
#include "iec21_meter.h"
#include "log.h"
#include "ms_err.h"
#include "sim.h"
#include "view_iec21.h"

typedef struct ms_link ms_link_t;

struct ms_port {
    ms_port_kind_t kind;
    ms_proto_t proto;
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
    ms_proto_t proto; /* what the link speaks now (IEC 62056-21 may go to HDLC) */
    bool from_mode_e; /* an HDLC link entered by mode E: back to IEC 62056-21 after */
    bool back_to_iec; /* ... once the DISC answer is on the wire */
    iec21_meter_t *sess;
    hdlc_link_t *hdlc;
    dlms_server_t *dlms;
    wrap_decoder_t wrap;
    uint8_t *wrap_buf;
    uv_timer_t timer;
    uint64_t last_rx_ns; /* when the last byte was received */
    uint64_t tx_end_ns;  /* when the output queued so far will have reached the reader */
    unsigned baud;       /* the session's current rate */
    bool closing;
};

/* One answer at a time is built (the loop is single-threaded): the largest APDU a
 * client may accept (max receive PDU size 65535) behind a wrapper header. */
static uint8_t answer_buf[WRAP_HEADER_LEN + WRAP_MAX_APDU];

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
        [IEC21_EV_MODE_E] = "mode E: HDLC",
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
    case IEC21_EV_MODE_E:
        st->mode_e++;
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

/* ---- driving the sessions -----------------------------------------------------------
 */

static void on_timer(uv_timer_t *t);
static void link_close(ms_link_t *l);
static int hdlc_start(ms_link_t *l, unsigned baud, char *msg, size_t msgcap);
static int iec21_start(ms_link_t *l, char *msg, size_t msgcap);

static uint64_t now_ms(void)
{
    return to_ms(uv_hrtime());
}

/* Queue bytes: the reaction time counts from the later of the last byte received and
 * the end of our previous transmission. */
static void link_write(ms_link_t *l, const uint8_t *p, size_t n, unsigned delay_ms)
{
    uint64_t now = uv_hrtime();
    uint64_t from = l->last_rx_ns > l->tx_end_ns ? l->last_rx_ns : l->tx_end_ns;
    uint64_t start = from + (uint64_t)delay_ms * 1000000;
    if (start < now)
        start = now;
    int rc = ms_phy_write(l->phy, p, n, start);
    if (rc < 0) {
        ms_log(MS_LOG_WARN, name_of(l), "write failed: %s", ms_strerror(rc));
        return;
    }
    l->tx_end_ns = start + n * ms_line_char_ns(ms_phy_line(l->phy));
    l->port->stats.tx_bytes += n;
}

static void set_line(ms_link_t *l, ms_line_t line)
{
    l->baud = line.baud;
    int rc = ms_phy_set_line(l->phy, &line);
    if (rc < 0 && rc != MS_ENOTSUP)
        ms_log(MS_LOG_WARN, name_of(l), "cannot switch to %u Bd: %s", line.baud,
               ms_strerror(rc));
}

static void arm(ms_link_t *l, uint64_t d)
{
    if (d == UINT64_MAX) {
        uv_timer_stop(&l->timer);
    } else {
        uint64_t now = now_ms();
        uv_timer_start(&l->timer, on_timer, d > now ? d - now : 0, 0);
    }
}

/* IEC 62056-21: execute what the session asks for, then arm the timer. */
static void run_iec21(ms_link_t *l)
{
    iec21_action_t a;
    while (l->sess && iec21_meter_next_action(l->sess, &a)) {
        if (a.type == IEC21_ACT_SEND) {
            link_write(l, a.data, a.len, a.delay_ms);
        } else if (a.type == IEC21_ACT_SET_BAUD) {
            ms_line_t line = *ms_phy_line(l->phy);
            line.baud = a.baud;
            set_line(l, line);
        } else if (a.type == IEC21_ACT_MODE_E) {
            /* the acknowledgement went out at the old rate; HDLC from here on */
            char msg[256];
            iec21_meter_free(l->sess);
            l->sess = NULL;
            if (hdlc_start(l, a.baud, msg, sizeof msg) < 0) {
                ms_log(MS_LOG_ERROR, name_of(l), "%s", msg);
                iec21_start(l, msg, sizeof msg);
            } else {
                l->from_mode_e = true;
            }
            return;
        }
    }
    if (!l->sess)
        return;
    l->port->last_session = iec21_meter_state_name(l->sess);
    arm(l, iec21_meter_deadline(l->sess));
}

/* A DLMS APDU from a client: the meter's answer, written at `at` in answer_buf, at most
 * `room` octets. choice: the meter sends APDUs of at most its own max PDU size (the
 * model's dlms.max_pdu), longer values in blocks, even to a client that accepts more:
 * as meters do, and some clients (Gurux DLMS C) need it. */
static size_t dlms_answer(ms_link_t *l, uint16_t client, uint16_t server,
                          const uint8_t *apdu, size_t len, size_t room, size_t at)
{
    ms_wr_t w;
    ms_wr_init(&w, answer_buf, at + room);
    w.len = at;
    l->port->stats.apdus++;
    int rc = dlms_server_apdu(l->dlms, client, server, apdu, len, &w);
    if (rc < 0) {
        ms_log(MS_LOG_WARN, name_of(l), "DLMS answer to client %u: %s", client,
               ms_strerror(rc));
        return 0;
    }
    return w.len - at;
}

/* HDLC: execute the link's actions (frames out, APDUs up), then arm the timer. */
static void run_hdlc(ms_link_t *l)
{
    hdlc_action_t a;
    while (l->hdlc && hdlc_link_next_action(l->hdlc, &a)) {
        switch (a.type) {
        case HDLC_ACT_SEND:
            link_write(l, a.data, a.len, a.delay_ms);
            break;
        case HDLC_ACT_APDU: {
            size_t n = dlms_answer(l, a.client.upper, a.server.upper, a.data, a.len,
                                   l->port->sm->model->dlms.max_pdu, 0);
            if (a.ui)
                break; /* connectionless: no answer (unconfirmed services only) */
            if (n == 0 || hdlc_link_send(l->hdlc, now_ms(), answer_buf, n) < 0)
                hdlc_link_release(l->hdlc, now_ms());
            break;
        }
        case HDLC_ACT_CONNECTED:
            ms_log(MS_LOG_DEBUG, name_of(l), "hdlc: client %u connected (NRM)",
                   a.client.upper);
            break;
        case HDLC_ACT_DISCONNECTED:
            ms_log(MS_LOG_DEBUG, name_of(l), "hdlc: disconnected (%s)",
                   a.reason ? ms_strerror(a.reason) : "DISC");
            dlms_server_reset(l->dlms);
            if (l->from_mode_e)
                l->back_to_iec = true; /* once the UA is on the wire */
            break;
        }
    }
    if (!l->hdlc)
        return;
    l->port->last_session = hdlc_link_state_name(l->hdlc);
    arm(l, hdlc_link_deadline(l->hdlc));
}

/* Mode E ended: IEC 62056-21 at 300 Bd again (IEC 62056-21 6.4.5 / Annex E). */
static void hdlc_back_to_iec21(ms_link_t *l)
{
    char msg[256];
    l->back_to_iec = false;
    l->from_mode_e = false;
    hdlc_link_free(l->hdlc);
    l->hdlc = NULL;
    if (iec21_start(l, msg, sizeof msg) < 0)
        ms_log(MS_LOG_ERROR, name_of(l), "%s", msg);
}

/* Wrapper: whole frames from the stream; each APDU answered at once. */
static void wrap_input(ms_link_t *l, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        size_t used = 0;
        wrap_frame_t f;
        int rc = wrap_decoder_feed(&l->wrap, buf, len, &used, &f);
        buf += used;
        len -= used;
        if (rc < 0) {
            /* IEC 62056-47 has no resynchronisation: the connection ends */
            ms_log(MS_LOG_INFO, name_of(l), "wrapper: %s, connection closed",
                   ms_strerror(rc));
            link_close(l);
            return;
        }
        if (rc == 0)
            break;
        size_t n = dlms_answer(l, f.src_wport, f.dst_wport, f.apdu, f.length,
                               l->port->sm->model->dlms.max_pdu, WRAP_HEADER_LEN);
        if (n == 0)
            continue;
        ms_wr_t w;
        ms_wr_init(&w, answer_buf, WRAP_HEADER_LEN);
        wrap_encode_header(&w, f.dst_wport, f.src_wport, n);
        link_write(l, answer_buf, WRAP_HEADER_LEN + n, 0);
    }
}

static void on_timer(uv_timer_t *t)
{
    ms_link_t *l = t->data;
    ms_sim_sync(l->port->sm);
    if (l->sess) {
        iec21_meter_tick(l->sess, now_ms());
        run_iec21(l);
    } else if (l->hdlc) {
        hdlc_link_tick(l->hdlc, now_ms());
        run_hdlc(l);
    }
}

static void on_data(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t_ns, void *ud)
{
    ms_link_t *l = ud;
    l->last_rx_ns = t_ns;
    l->port->stats.rx_bytes += len;
    if (l->sess) {
        ms_sim_sync(l->port->sm);
        iec21_meter_input(l->sess, to_ms(t_ns), buf, len);
        run_iec21(l);
    } else if (l->hdlc) {
        hdlc_link_input(l->hdlc, to_ms(t_ns), buf, len);
        run_hdlc(l);
    } else if (l->wrap_buf) {
        wrap_input(l, buf, len);
    }
}

static void on_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    ms_link_t *l = ud;
    if (l->sess) {
        iec21_meter_sent(l->sess, to_ms(t_ns));
        run_iec21(l);
    } else if (l->hdlc) {
        hdlc_link_sent(l->hdlc, to_ms(t_ns));
        if (l->back_to_iec)
            hdlc_back_to_iec21(l);
        else
            run_hdlc(l);
    }
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
    hdlc_link_free(l->hdlc);
    dlms_server_free(l->dlms);
    free(l->wrap_buf);
    if (l->phy)
        ms_phy_close(l->phy);
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, link_free_cb);
}

static void on_close(ms_phy_t *p, int err, void *ud)
{
    ms_link_t *l = ud;
    if (err)
        ms_log(l->proto == MS_PROTO_IEC21 ? MS_LOG_INFO : MS_LOG_DEBUG, name_of(l),
               "connection ended: %s", ms_strerror(err));
    link_close(l);
}

static const ms_phy_cb_t link_cb = {
    .on_data = on_data,
    .on_peer_line = on_peer_line,
    .on_drained = on_drained,
    .on_close = on_close,
};

/* ---- starting a link's protocol ---------------------------------------------------- */

static int iec21_start(ms_link_t *l, char *msg, size_t msgcap)
{
    ms_sim_meter_t *sm = l->port->sm;
    int err = 0;
    l->sess = iec21_meter_new(&sm->model->iec21.session, &link_ops, l, now_ms(), &err);
    if (!l->sess) {
        snprintf(msg, msgcap, "%s: IEC 62056-21 settings refused: %s", sm->model->path,
                 ms_strerror(err));
        return err ? err : MS_EINVAL;
    }
    l->proto = MS_PROTO_IEC21;
    l->baud = iec21_meter_baud(l->sess);
    if (l->phy)
        set_line(l, MS_LINE_7E1(l->baud));
    return 0;
}

static int dlms_start(ms_link_t *l, char *msg, size_t msgcap)
{
    if (l->dlms)
        return 0;
    int err = 0;
    l->dlms = dlms_server_new(NULL, &ms_cosem_ops, l->port->sm->cosem, &err);
    if (!l->dlms) {
        snprintf(msg, msgcap, "DLMS server session: %s", ms_strerror(err));
        return err ? err : MS_ENOMEM;
    }
    return 0;
}

/* HDLC at `baud` 8N1 (IEC 62056-46 over a serial line; the rate does not matter on
 * TCP). The server address: the model's logical device and physical address, in the
 * size the client picks (IEC 62056-46 6.4.2.2). */
static int hdlc_start(ms_link_t *l, unsigned baud, char *msg, size_t msgcap)
{
    const ms_model_dlms_t *d = &l->port->sm->model->dlms;
    int err = dlms_start(l, msg, msgcap);
    if (err)
        return err;
    hdlc_link_cfg_t c;
    memset(&c, 0, sizeof c);
    c.role = HDLC_ROLE_SERVER;
    c.server.upper = d->logical_device;
    c.server.lower = d->physical_address;
    c.server.size = 4;
    c.any_address_size = true;
    /* an I frame out of sequence is a sequence error: discarded, the poll answered with
     * RR N(R) = V(R) (ISO/IEC 13239 checkpointing, as the DLMS UA conformance test plan's
     * HDLC group expects), not FRMR */
    c.ns_policy = HDLC_NS_DISCARD;
    c.max_info_tx = c.max_info_rx = d->hdlc_max_info;
    c.window_tx = c.window_rx = d->hdlc_window;
    c.inter_octet_ms =
        d->hdlc_inter_octet_ms ? d->hdlc_inter_octet_ms : HDLC_TIMEOUT_NONE;
    c.inactivity_ms =
        d->hdlc_inactivity_s ? d->hdlc_inactivity_s * 1000 : HDLC_TIMEOUT_NONE;
    l->hdlc = hdlc_link_new(&c, now_ms(), &err);
    if (!l->hdlc) {
        snprintf(msg, msgcap, "%s: HDLC settings refused: %s", l->port->sm->model->path,
                 ms_strerror(err));
        return err ? err : MS_EINVAL;
    }
    l->proto = MS_PROTO_DLMS_HDLC;
    if (l->phy)
        set_line(l, MS_LINE_8N1(baud));
    l->baud = baud;
    return 0;
}

static int wrap_start(ms_link_t *l, char *msg, size_t msgcap)
{
    int err = dlms_start(l, msg, msgcap);
    if (err)
        return err;
    /* the largest APDU a client may send: the server's max receive PDU size plus the
     * ciphering overhead; longer frames end the connection (the wrapper cannot skip
     * them and stay in step) */
    size_t cap = (size_t)l->port->sm->model->dlms.max_pdu + 64;
    l->wrap_buf = malloc(cap);
    if (!l->wrap_buf) {
        snprintf(msg, msgcap, "out of memory");
        return MS_ENOMEM;
    }
    wrap_decoder_init(&l->wrap, l->wrap_buf, cap);
    l->proto = MS_PROTO_DLMS_WRAP;
    return 0;
}

static ms_link_t *link_new(ms_port_t *port, ms_phy_t *phy, char *msg, size_t msgcap)
{
    ms_sim_meter_t *sm = port->sm;
    ms_link_t *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(msg, msgcap, "out of memory");
        return NULL;
    }
    l->port = port;
    l->phy = phy;
    uv_timer_init(sm->sim->loop, &l->timer);
    l->timer.data = l;
    l->next = port->links;
    port->links = l;
    port->nlinks++;
    int rc = port->proto == MS_PROTO_DLMS_HDLC
                 ? hdlc_start(l, sm->model->iec21.baud, msg, msgcap)
             : port->proto == MS_PROTO_DLMS_WRAP ? wrap_start(l, msg, msgcap)
                                                 : iec21_start(l, msg, msgcap);
    if (rc < 0) {
        l->phy = NULL; /* the caller closes it */
        link_close(l);
        return NULL;
    }
    /* arm the session's first deadline (a mode D meter pushes without being asked) */
    if (l->sess)
        run_iec21(l);
    return l;
}

/* ---- ports --------------------------------------------------------------------------
 */

const char *ms_proto_name(ms_proto_t p)
{
    return p == MS_PROTO_DLMS_HDLC   ? "dlms-hdlc"
           : p == MS_PROTO_DLMS_WRAP ? "dlms-wrapper"
                                     : "iec62056-21";
}

/* A pty or serial port: one link on one byte stream. */
static int open_line(ms_sim_meter_t *sm, ms_proto_t proto, ms_port_kind_t kind,
                     const char *name, ms_port_t **out, char *msg, size_t msgcap)
{
    const char *flag = kind == MS_PORT_PTY ? "--pty" : "--serial";
    if (sm->nports >= MS_SIM_MAX_PORTS)
        return MS_ENOSPC;
    if (proto == MS_PROTO_DLMS_WRAP) {
        snprintf(msg, msgcap, "%s: the DLMS wrapper (IEC 62056-47) runs on TCP only",
                 flag);
        return MS_EINVAL;
    }
    ms_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return MS_ENOMEM;
    p->kind = kind;
    p->proto = proto;
    p->sm = sm;
    snprintf(p->link, sizeof p->link, "%s", name ? name : "");
    bool iec = proto == MS_PROTO_IEC21;
    ms_line_t line = iec ? MS_LINE_7E1(300) : MS_LINE_8N1(sm->model->iec21.baud);
    bool parity = iec && sm->model->iec21.parity_out;
    ms_phy_t *phy;
    int rc;
    if (kind == MS_PORT_PTY) {
        ms_phy_pty_opts_t o = { .link = name, .line = line, .parity_out = parity };
        rc = ms_phy_pty_open(sm->sim->loop, &o, &link_cb, NULL, &phy);
    } else {
        /* a pty slave has no UART to pace the output: pace it here */
        bool pty = strncmp(name, "/dev/pts/", 9) == 0;
        ms_phy_tty_opts_t o = {
            .path = name, .line = line, .pace = pty, .parity_out = parity
        };
        rc = ms_phy_tty_open(sm->sim->loop, &o, &link_cb, NULL, &phy);
    }
    if (rc < 0) {
        snprintf(msg, msgcap, "%s %s: %s", flag, name ? name : "", ms_strerror(rc));
        free(p);
        return rc;
    }
    ms_link_t *l = link_new(p, phy, msg, msgcap);
    if (!l) {
        ms_phy_close(phy);
        free(p);
        return MS_EINVAL;
    }
    ms_phy_set_callbacks(phy, &link_cb, l);
    sm->ports[sm->nports++] = p;
    *out = p;
    return 0;
}

int ms_port_open_pty(ms_sim_meter_t *sm, ms_proto_t proto, const char *link,
                     ms_port_t **out, char *msg, size_t msgcap)
{
    return open_line(sm, proto, MS_PORT_PTY, link, out, msg, msgcap);
}

int ms_port_open_serial(ms_sim_meter_t *sm, ms_proto_t proto, const char *device,
                        ms_port_t **out, char *msg, size_t msgcap)
{
    return open_line(sm, proto, MS_PORT_SERIAL, device, out, msg, msgcap);
}

static void on_accept(ms_phy_listener_t *lis, ms_phy_t *conn, void *ud)
{
    ms_port_t *p = ud;
    char msg[256];
    ms_link_t *l = link_new(p, conn, msg, sizeof msg);
    if (!l) {
        ms_log(MS_LOG_ERROR, p->sm->meter->id, "%s", msg);
        ms_phy_close(conn);
        return;
    }
    ms_phy_set_callbacks(conn, &link_cb, l);
    char host[64];
    unsigned port = 0;
    ms_phy_tcp_local_addr(conn, host, sizeof host, &port);
    ms_log(p->proto == MS_PROTO_IEC21 ? MS_LOG_INFO : MS_LOG_DEBUG, p->sm->meter->id,
           "%s tcp connection on %s:%u", ms_proto_name(p->proto), host, port);
}

int ms_port_open_tcp(ms_sim_meter_t *sm, ms_proto_t proto, const char *host,
                     unsigned port, ms_port_t **out, char *msg, size_t msgcap)
{
    if (sm->nports >= MS_SIM_MAX_PORTS)
        return MS_ENOSPC;
    ms_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return MS_ENOMEM;
    p->kind = MS_PORT_TCP;
    p->proto = proto;
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
    info->protocol = ms_proto_name(p->proto);
    snprintf(info->link, sizeof info->link, "%s", p->link);
    snprintf(info->address, sizeof info->address, "%s", p->address);
    info->connections = p->nlinks;
    info->session = p->last_session ? p->last_session : "idle";
    if (p->kind != MS_PORT_TCP && p->links) {
        const ms_link_t *l = p->links;
        snprintf(info->path, sizeof info->path, "%.*s", (int)sizeof info->path - 1,
                 p->kind == MS_PORT_PTY ? ms_phy_pty_slave(l->phy) : p->link);
        info->baud = l->baud;
        info->session = l->sess   ? iec21_meter_state_name(l->sess)
                        : l->hdlc ? hdlc_link_state_name(l->hdlc)
                                  : "idle";
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
