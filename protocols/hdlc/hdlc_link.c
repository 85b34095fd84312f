/*
** hdlc_link.c — IEC 62056-46 HDLC link sessions: server (secondary station) and client
** (primary station) in normal response mode, with negotiation, windows, segmentation,
** frame reject, time-outs and repeats. No I/O, no clock reads.
** SPDX-License-Identifier: MIT
**
** Sources: see hdlc_link.h. Choices where the text leaves room:
** - Server, NDM: SNRM is answered with UA and the negotiated parameters; DISC, I, RR,
**   RNR and unknown commands with the poll bit get DM (gurux.fi forum 15618 shows a
**   conformance tool expecting DM to DISC and to an I frame in NDM); without the poll
**   bit nothing. UI is delivered in any state and never answered unless polled in NRM.
** - Server, NRM: a frame that passes its FCS but is invalid gets FRMR with the
**   ISO/IEC 13239 bits: W (control field unknown, not implemented or a response),
**   X with W (information field where none is allowed: RR, RNR, DISC), Y (information
**   field over the negotiated maximum), Z (N(R) that acknowledges no sent frame). The
**   station then stays in the frame reject condition: every poll gets the same FRMR
**   until SNRM or DISC. Frames that fail HCS/FCS, have no closing flag or are too short
**   are discarded silently (DLMS UA conformance test plan, HDLC_FRAME_N7 HCS check:
**   "discard"; PROTOCOL-NOTES trap 11).
** - N(S): V(R) is accepted; a repeat (up to the window behind V(R), counting only frames
**   actually received) and a frame ahead within the receive window (a lost frame) are
**   discarded, their N(R) and P/F processed; any other N(S) gets FRMR with W (62056-46's
**   FRMR field has no bit of its own for N(S); cfg.ns_policy can discard instead).
** - Checkpointing: a poll whose N(R) leaves sent I frames unacknowledged makes the
**   server send them again (ISO/IEC 13239), so a client that repeats its request or
**   polls with RR after a lost answer gets it again.
** - Inactivity: NRM without a frame from the client for inactivity_ms goes to NDM
**   without sending anything. A partial frame is dropped after inter_octet_ms of
**   silence.
** - While connected, a frame from another client address gets DM if polled (one
**   primary station at a time); SNRM from the connected client to another logical
**   device of this server moves the connection there.
** - A server that receives a complete new APDU while part of its previous reply is
**   not yet framed drops that rest: the client has moved on.
** - The LLC header of received APDUs is checked (E6 E6 00 or E6 E7 00) and stripped;
**   the direction byte is not enforced; an LLC header with nothing behind it is
**   dropped like a missing one. An unsegmented I frame without information
**   field (an acknowledgement) delivers nothing.
** - UA and SNRM (unless cfg.snrm_no_params) carry all four parameters: lengths in 1 or
**   2 bytes, windows in 4 (the layout of the Green Book example and of the pwitab UA
**   vector).
*/
#include "hdlc_link.h"

#include <stdlib.h>
#include <string.h>

#include "ms_err.h"

#define QUEUE_MAX 64u

typedef struct qact {
    hdlc_action_type_t type;
    unsigned delay_ms;
    size_t off, len;
    hdlc_addr_t server, client;
    bool ui, broadcast;
    int reason;
} qact_t;

typedef struct reasm {
    uint8_t *p;
    size_t len, cap;
    bool drop;
} reasm_t;

struct hdlc_link {
    hdlc_link_cfg_t cfg;
    hdlc_link_state_t state;
    hdlc_link_params_t np; /* negotiated, own view */
    hdlc_addr_t peer;      /* server: the connected client; client: the server */
    hdlc_addr_t local;     /* server: the address the client connected to; client: own */
    uint64_t now;
    /* sequence state (6.4.5): V(S), V(R), V(A) = oldest unacknowledged N(S) */
    uint8_t vs, vr, va;
    uint8_t rx_count; /* I frames accepted since SNRM (saturates at 8) */
    bool frmr;        /* server: frame reject condition */
    uint8_t frmr_info[HDLC_FRMR_LEN];
    bool poll_held;      /* server: a poll waits for its answer */
    bool awaiting_reply; /* server: an APDU went up; its reply may follow */
    bool peer_busy;      /* RNR received */
    uint64_t hold_deadline;
    /* receiving */
    hdlc_decoder_t dec;
    uint64_t last_octet_ms, last_frame_ms;
    reasm_t ra; /* APDU from I frames */
    reasm_t ru; /* APDU from UI frames */
    /* sending: LLC header + APDU, tx_off bytes already in I frames */
    uint8_t *tx;
    size_t tx_len, tx_off, tx_cap;
    /* information fields of the sent, unacknowledged I frames by N(S) */
    uint8_t *slots;
    size_t slot_size, slot_cap;
    size_t slot_len[HDLC_SEQ_MODULUS];
    bool slot_seg[HDLC_SEQ_MODULUS];
    /* client: waiting for an answer with F = 1 */
    bool waiting;
    uint64_t resp_deadline;
    unsigned retries;
    uint8_t *last; /* the frames of the last poll, sent again on a time-out */
    size_t last_len, last_cap;
    /* actions */
    qact_t q[QUEUE_MAX];
    unsigned qhead, qlen;
    uint8_t *out; /* bytes of the queued actions */
    size_t out_len, out_cap;
    uint8_t rxbuf[HDLC_FORMAT_LENGTH_MAX];
};

static const char *const state_names[] = { "NDM", "connecting", "NRM", "disconnecting" };

/* ---- helpers ---- */

static unsigned umin(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

/* The time ms after t; UINT64_MAX (never) for HDLC_TIMEOUT_NONE. */
static uint64_t after(uint64_t t, unsigned ms)
{
    if (ms == HDLC_TIMEOUT_NONE)
        return UINT64_MAX;
    return t > UINT64_MAX - ms ? UINT64_MAX : t + ms;
}

static bool due(uint64_t now, uint64_t deadline)
{
    return deadline != UINT64_MAX && now >= deadline;
}

static void emit(hdlc_link_t *l, hdlc_link_event_t ev, const hdlc_frame_t *f, int detail)
{
    if (l->cfg.event)
        l->cfg.event(l->cfg.ctx, ev, f, detail);
}

/* A new call into the session: the bytes of actions already taken may go. */
static void begin(hdlc_link_t *l, uint64_t now_ms)
{
    l->now = now_ms;
    if (l->qlen == 0)
        l->out_len = 0;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    return ms_buf_reserve(p, cap, need, 256);
}

static qact_t *push(hdlc_link_t *l, hdlc_action_type_t type)
{
    if (l->qlen >= QUEUE_MAX)
        return NULL; /* the caller does not drain its actions: drop, do not overrun */
    qact_t *a = &l->q[(l->qhead + l->qlen) % QUEUE_MAX];
    memset(a, 0, sizeof *a);
    a->type = type;
    l->qlen++;
    return a;
}

static void push_disconnected(hdlc_link_t *l, int reason)
{
    qact_t *a = push(l, HDLC_ACT_DISCONNECTED);
    if (a)
        a->reason = reason;
}

/* Encode one frame into the action bytes; join it to the SEND action just before it
 * (frames of one answer go out as one action). */
static int put_frame(hdlc_link_t *l, const hdlc_frame_t *f, unsigned delay_ms, bool join)
{
    if (grow(&l->out, &l->out_cap, l->out_len + HDLC_FRAME_WIRE_MAX) < 0)
        return MS_ENOMEM;
    int n = hdlc_frame_encode(f, l->out + l->out_len, l->out_cap - l->out_len);
    if (n < 0)
        return n;
    if (join && l->qlen) {
        qact_t *t = &l->q[(l->qhead + l->qlen - 1) % QUEUE_MAX];
        if (t->type == HDLC_ACT_SEND && t->off + t->len == l->out_len) {
            t->len += (size_t)n;
            l->out_len += (size_t)n;
            return 0;
        }
    }
    qact_t *a = push(l, HDLC_ACT_SEND);
    if (!a)
        return MS_ENOSPC;
    a->delay_ms = delay_ms;
    a->off = l->out_len;
    a->len = (size_t)n;
    l->out_len += (size_t)n;
    return 0;
}

/* A frame from this station to its peer (or to explicit addresses). */
static int put(hdlc_link_t *l, hdlc_type_t type, bool pf, uint8_t ns, bool seg,
               const uint8_t *info, size_t n, bool join)
{
    hdlc_frame_t f;
    memset(&f, 0, sizeof f);
    f.type = type;
    f.pf = pf;
    f.ns = ns & 7u;
    f.nr = l->vr;
    f.segmented = seg;
    f.dst = l->peer;
    f.src = l->local;
    f.info = info;
    f.info_len = n;
    bool server = l->cfg.role == HDLC_ROLE_SERVER;
    return put_frame(l, &f, server ? l->cfg.reaction_ms : 0, join);
}

/* Server: answer a frame to its source, from the address it was sent to. */
static void reply_to(hdlc_link_t *l, const hdlc_frame_t *rx, hdlc_type_t type)
{
    hdlc_frame_t f;
    memset(&f, 0, sizeof f);
    f.type = type;
    f.pf = rx->pf;
    f.dst = rx->src;
    f.src = rx->dst;
    put_frame(l, &f, l->cfg.reaction_ms, false);
}

static void reasm_reset(reasm_t *r)
{
    r->len = 0;
    r->drop = false;
}

static void reset_link(hdlc_link_t *l)
{
    l->vs = l->vr = l->va = 0;
    l->rx_count = 0;
    l->frmr = false;
    l->poll_held = false;
    l->awaiting_reply = false;
    l->peer_busy = false;
    l->waiting = false;
    l->retries = 0;
    reasm_reset(&l->ra);
    reasm_reset(&l->ru);
    l->tx_len = l->tx_off = 0;
}

static void default_params(hdlc_link_t *l)
{
    l->np.max_info_tx = l->np.max_info_rx = HDLC_DEFAULT_INFO;
    l->np.window_tx = l->np.window_rx = HDLC_DEFAULT_WINDOW;
}

static void go_ndm(hdlc_link_t *l)
{
    l->state = HDLC_STATE_NDM;
    reset_link(l);
    default_params(l);
    hdlc_decoder_set_max_info(&l->dec, 0);
}

/* ---- sequence numbers (6.4.5) ---- */

/* N(R) is valid when it acknowledges nothing beyond V(S): V(A) <= N(R) <= V(S). */
static bool nr_valid(const hdlc_link_t *l, uint8_t nr)
{
    return ((nr - l->va) & 7u) <= ((l->vs - l->va) & 7u);
}

static unsigned unacked(const hdlc_link_t *l)
{
    return (l->vs - l->va) & 7u;
}

static unsigned frames_pending(const hdlc_link_t *l)
{
    size_t left = l->tx_len - l->tx_off;
    size_t m = l->np.max_info_tx;
    return (unsigned)((left + m - 1) / m);
}

/* Make room for the information fields of a full window of I frames. */
static int ensure_slots(hdlc_link_t *l)
{
    size_t need = (size_t)l->np.max_info_tx * HDLC_SEQ_MODULUS;
    if (grow(&l->slots, &l->slot_cap, need) < 0)
        return MS_ENOMEM;
    l->slot_size = l->np.max_info_tx;
    return 0;
}

/* I frames: first again those sent but not acknowledged (checkpoint), then new ones
 * while the window allows; P/F on the last. Returns the number of frames sent. */
static unsigned send_window(hdlc_link_t *l)
{
    unsigned r = unacked(l);
    unsigned room = l->np.window_tx > r ? l->np.window_tx - r : 0;
    unsigned k = umin(room, frames_pending(l));
    unsigned total = r + k, i = 0;
    if (r)
        emit(l, HDLC_EV_RETRANSMIT, NULL, (int)r);
    for (unsigned j = 0; j < r; j++, i++) {
        uint8_t ns = (uint8_t)((l->va + j) & 7u);
        put(l, HDLC_I, i + 1 == total, ns, l->slot_seg[ns], l->slots + ns * l->slot_size,
            l->slot_len[ns], true);
    }
    for (unsigned j = 0; j < k; j++, i++) {
        size_t n = l->tx_len - l->tx_off;
        if (n > l->np.max_info_tx)
            n = l->np.max_info_tx;
        uint8_t ns = l->vs;
        memcpy(l->slots + ns * l->slot_size, l->tx + l->tx_off, n);
        l->slot_len[ns] = n;
        l->tx_off += n;
        l->slot_seg[ns] = l->tx_off < l->tx_len;
        put(l, HDLC_I, i + 1 == total, ns, l->slot_seg[ns], l->slots + ns * l->slot_size,
            n, true);
        l->vs = (uint8_t)((l->vs + 1) & 7u);
    }
    if (l->tx_off >= l->tx_len)
        l->tx_off = l->tx_len = 0; /* the whole APDU is in frames */
    return total;
}

/* ---- receiving APDUs ---- */

static void reasm_add(hdlc_link_t *l, reasm_t *r, const uint8_t *p, size_t n)
{
    if (r->drop || n == 0)
        return;
    size_t lim = l->cfg.max_apdu + HDLC_LLC_LEN;
    if (n > lim - r->len || grow(&r->p, &r->cap, r->len + n) < 0) {
        r->drop = true;
        return;
    }
    memcpy(r->p + r->len, p, n);
    r->len += n;
}

/* The last segment arrived: check and strip the LLC header, pass the APDU up. */
static bool reasm_done(hdlc_link_t *l, reasm_t *r, const hdlc_frame_t *f, bool ui,
                       bool broadcast)
{
    if (r->drop) {
        emit(l, HDLC_EV_APDU_DROPPED, f, MS_ETOOBIG);
        reasm_reset(r);
        return false;
    }
    int h = hdlc_llc_check(r->p, r->len, NULL);
    if (h < 0 || r->len == (size_t)h) { /* no LLC header, or nothing behind it */
        emit(l, HDLC_EV_APDU_DROPPED, f, MS_EFRAME);
        reasm_reset(r);
        return false;
    }
    size_t n = r->len - (size_t)h;
    if (grow(&l->out, &l->out_cap, l->out_len + n) < 0) {
        reasm_reset(r);
        return false;
    }
    qact_t *a = push(l, HDLC_ACT_APDU);
    if (a) {
        memcpy(l->out + l->out_len, r->p + h, n);
        a->off = l->out_len;
        a->len = n;
        l->out_len += n;
        bool server = l->cfg.role == HDLC_ROLE_SERVER;
        a->server = server ? f->dst : f->src;
        a->client = server ? f->src : f->dst;
        a->ui = ui;
        a->broadcast = broadcast;
    }
    reasm_reset(r);
    return a != NULL;
}

static void on_ui(hdlc_link_t *l, const hdlc_frame_t *f, bool broadcast)
{
    reasm_add(l, &l->ru, f->info, f->info_len);
    if (!f->segmented)
        reasm_done(l, &l->ru, f, true, broadcast);
}

/* ---- server (secondary station) ---- */

static void send_frmr(hdlc_link_t *l, bool pf)
{
    put(l, HDLC_FRMR, pf, 0, false, l->frmr_info, HDLC_FRMR_LEN, false);
}

/* Enter the frame reject condition for frame f (IEC 62056-46 6.4.4, FRMR response;
 * ISO/IEC 13239 for the condition). */
static void frame_reject(hdlc_link_t *l, const hdlc_frame_t *f, uint8_t flags)
{
    hdlc_frmr_t fr = { .control = f->control, .vs = l->vs, .vr = l->vr, .flags = flags };
    hdlc_frmr_encode(&fr, l->frmr_info);
    l->frmr = true;
    l->poll_held = false;
    emit(l, HDLC_EV_FRMR, f, flags);
    if (f->pf)
        send_frmr(l, true);
}

/* The client polled (P = 1): answer with F = 1 — FRMR in the frame reject condition,
 * I frames (again and new), RR, or hold the poll for the upper layer's reply. */
static void answer_poll(hdlc_link_t *l)
{
    l->poll_held = false;
    if (l->frmr) {
        send_frmr(l, true);
        return;
    }
    if (!l->peer_busy && send_window(l) > 0)
        return;
    if (l->awaiting_reply && !l->peer_busy) {
        l->poll_held = true;
        l->hold_deadline = after(l->now, l->cfg.reply_ms);
        return;
    }
    put(l, HDLC_RR, true, 0, false, NULL, 0, false);
}

/* The parameter field of an SNRM or UA: lengths in the smallest width, windows in 4
 * bytes (the layout of the Green Book example and of the pwitab UA vector). */
static size_t params_put(uint8_t *info, size_t cap, const hdlc_link_params_t *p)
{
    hdlc_params_t f;
    memset(&f, 0, sizeof f);
    hdlc_params_set(&f, HDLC_P_MAX_INFO_TX, p->max_info_tx);
    hdlc_params_set(&f, HDLC_P_MAX_INFO_RX, p->max_info_rx);
    f.value[HDLC_P_WINDOW_TX] = p->window_tx;
    f.value[HDLC_P_WINDOW_RX] = p->window_rx;
    f.width[HDLC_P_WINDOW_TX] = f.width[HDLC_P_WINDOW_RX] = 4;
    ms_wr_t w;
    ms_wr_init(&w, info, cap);
    int n = hdlc_params_put(&w, &f);
    return n > 0 ? (size_t)n : 0;
}

/* Negotiation (6.4.4.4.3.2): the minimum of this station's own values and the peer's,
 * in this station's view — the peer's transmit is this station's receive
 * (PROTOCOL-NOTES trap 5). peer: values in the peer's view, as check_params() gives. */
static hdlc_link_params_t negotiate(const hdlc_link_params_t *own,
                                    const uint32_t peer[HDLC_P_COUNT])
{
    return (hdlc_link_params_t){
        .max_info_tx =
            umin(own->max_info_tx, umin(peer[HDLC_P_MAX_INFO_RX], HDLC_INFO_MAX)),
        .max_info_rx =
            umin(own->max_info_rx, umin(peer[HDLC_P_MAX_INFO_TX], HDLC_INFO_MAX)),
        .window_tx = umin(own->window_tx, umin(peer[HDLC_P_WINDOW_RX], HDLC_WINDOW_MAX)),
        .window_rx = umin(own->window_rx, umin(peer[HDLC_P_WINDOW_TX], HDLC_WINDOW_MAX)),
    };
}

/* This station's own values from the configuration. */
static hdlc_link_params_t own_params(const hdlc_link_t *l)
{
    return (hdlc_link_params_t){ .max_info_tx = l->cfg.max_info_tx,
                                 .max_info_rx = l->cfg.max_info_rx,
                                 .window_tx = l->cfg.window_tx,
                                 .window_rx = l->cfg.window_rx };
}

static int check_params(const hdlc_frame_t *f, uint32_t v[HDLC_P_COUNT])
{
    hdlc_params_t p;
    int rc = hdlc_params_decode(f->info, f->info_len, &p);
    if (rc < 0)
        return rc;
    v[HDLC_P_MAX_INFO_TX] = hdlc_params_get(&p, HDLC_P_MAX_INFO_TX, HDLC_DEFAULT_INFO);
    v[HDLC_P_MAX_INFO_RX] = hdlc_params_get(&p, HDLC_P_MAX_INFO_RX, HDLC_DEFAULT_INFO);
    v[HDLC_P_WINDOW_TX] = hdlc_params_get(&p, HDLC_P_WINDOW_TX, HDLC_DEFAULT_WINDOW);
    v[HDLC_P_WINDOW_RX] = hdlc_params_get(&p, HDLC_P_WINDOW_RX, HDLC_DEFAULT_WINDOW);
    for (int i = 0; i < HDLC_P_COUNT; i++)
        if (v[i] == 0)
            return MS_ERANGE;
    return 0;
}

/* SNRM (6.4.4.4.3): negotiate, reset the sequence numbers, answer UA. */
static void srv_connect(hdlc_link_t *l, const hdlc_frame_t *f)
{
    uint32_t c[HDLC_P_COUNT]; /* the client's proposal, in its own view */
    int rc = check_params(f, c);
    bool was = l->state == HDLC_STATE_NRM;
    if (rc < 0) {
        emit(l, HDLC_EV_PARAMS, f, rc);
        if (was)
            frame_reject(l, f, HDLC_FRMR_W | HDLC_FRMR_X);
        else if (f->pf)
            reply_to(l, f, HDLC_DM);
        return;
    }
    hdlc_link_params_t own = own_params(l);
    hdlc_link_params_t np = negotiate(&own, c);
    hdlc_link_params_t old = l->np;
    l->np = np;
    if (ensure_slots(l) < 0) {
        l->np = old;
        if (f->pf)
            reply_to(l, f, HDLC_DM);
        return;
    }
    reset_link(l);
    l->peer = f->src;
    l->local = f->dst;
    l->state = HDLC_STATE_NRM;
    l->last_frame_ms = l->now;
    hdlc_decoder_set_max_info(&l->dec, np.max_info_rx);
    if (was)
        push_disconnected(l, 0);

    uint8_t info[32];
    put(l, HDLC_UA, f->pf, 0, false, info, params_put(info, sizeof info, &np), false);
    qact_t *a = push(l, HDLC_ACT_CONNECTED);
    if (a) {
        a->server = l->local;
        a->client = l->peer;
    }
}

static void srv_on_i(hdlc_link_t *l, const hdlc_frame_t *f)
{
    if (!nr_valid(l, f->nr)) {
        frame_reject(l, f, HDLC_FRMR_Z);
        return;
    }
    l->va = f->nr;
    if (f->ns == l->vr) {
        l->vr = (uint8_t)((l->vr + 1) & 7u);
        if (l->rx_count < HDLC_SEQ_MODULUS)
            l->rx_count++;
        l->awaiting_reply = false; /* the client goes on: a new request */
        reasm_add(l, &l->ra, f->info, f->info_len);
        if (!f->segmented) {
            if (l->ra.len == 0 && !l->ra.drop) {
                ; /* an empty I frame: nothing to pass up */
            } else {
                if (l->tx_off < l->tx_len)
                    l->tx_off = l->tx_len = 0; /* stale rest of the previous reply */
                l->awaiting_reply = reasm_done(l, &l->ra, f, false, false);
            }
        }
    } else {
        unsigned back = (l->vr - f->ns) & 7u, ahead = (f->ns - l->vr) & 7u;
        unsigned w = l->np.window_rx, seen = umin(l->rx_count, w);
        bool repeat = back >= 1 && back <= seen;
        bool lost = ahead >= 1 && ahead < w;
        if (!repeat && !lost && l->cfg.ns_policy == HDLC_NS_FRMR) {
            frame_reject(l, f, HDLC_FRMR_W);
            return;
        }
        emit(l, HDLC_EV_SEQ_ERROR, f, f->ns);
    }
    if (f->pf)
        answer_poll(l);
}

static void srv_on_s(hdlc_link_t *l, const hdlc_frame_t *f)
{
    if (f->info_len) {
        frame_reject(l, f, HDLC_FRMR_W | HDLC_FRMR_X);
        return;
    }
    if (!nr_valid(l, f->nr)) {
        frame_reject(l, f, HDLC_FRMR_Z);
        return;
    }
    l->va = f->nr;
    l->peer_busy = f->type == HDLC_RNR;
    if (f->pf)
        answer_poll(l);
}

/* Destination check: 0 = not this station, 1 = this station, 2 = all stations. */
static int classify_dst(const hdlc_link_t *l, const hdlc_addr_t *d)
{
    const hdlc_addr_t *me = &l->cfg.server;
    if (d->size != me->size && !l->cfg.any_address_size)
        return 0;
    uint16_t all = d->size == 4 ? HDLC_ADDR_ALL_STATION_14 : HDLC_ADDR_ALL_STATION;
    bool all_upper = d->upper == all;
    bool upper = all_upper || d->upper == me->upper;
    for (unsigned i = 0; !upper && i < l->cfg.n_more_upper; i++)
        upper = d->upper == l->cfg.more_upper[i];
    if (!upper)
        return 0;
    bool all_lower = false;
    if (d->size > 1) {
        uint16_t calling =
            d->size == 4 ? HDLC_ADDR_CALLING_PHYSICAL_14 : HDLC_ADDR_CALLING_PHYSICAL;
        all_lower = d->lower == all;
        if (!all_lower && d->lower != me->lower &&
            !(l->cfg.accept_calling && d->lower == calling))
            return 0;
    }
    return all_upper || all_lower ? 2 : 1;
}

static bool is_response(hdlc_type_t t)
{
    return t == HDLC_UA || t == HDLC_DM || t == HDLC_FRMR;
}

static void srv_on_frame(hdlc_link_t *l, const hdlc_frame_t *f, int rc)
{
    int c = classify_dst(l, &f->dst);
    if (c == 0) {
        emit(l, HDLC_EV_IGNORED, f, 0);
        return;
    }
    if (f->src.size != 1 || f->src.upper == HDLC_ADDR_NO_STATION ||
        f->src.upper == HDLC_ADDR_ALL_STATION) {
        emit(l, HDLC_EV_IGNORED, f, 4); /* not a client address: no one to answer */
        return;
    }
    if (c == 2) { /* all stations: UI is taken, nothing is ever answered */
        if (rc == 1 && f->type == HDLC_UI)
            on_ui(l, f, true);
        else
            emit(l, HDLC_EV_IGNORED, f, 1);
        return;
    }
    emit(l, HDLC_EV_RX_FRAME, f, rc);
    if (l->state == HDLC_STATE_NRM &&
        !(hdlc_addr_equal(&f->src, &l->peer) && hdlc_addr_equal(&f->dst, &l->local))) {
        if (rc == 1 && f->type == HDLC_UI) {
            on_ui(l, f, false);
        } else if (rc == 1 && f->type == HDLC_SNRM &&
                   hdlc_addr_equal(&f->src, &l->peer)) {
            srv_connect(l, f); /* the same client, another logical device */
        } else {
            emit(l, HDLC_EV_IGNORED, f, 3);
            if (f->pf && !is_response(f->type))
                reply_to(l, f, HDLC_DM);
        }
        return;
    }
    if (rc == MS_ETOOBIG) {
        if (l->state == HDLC_STATE_NRM) {
            l->last_frame_ms = l->now;
            if (l->frmr) {
                if (f->pf)
                    send_frmr(l, true);
            } else {
                frame_reject(l, f, HDLC_FRMR_Y);
            }
        } else if (f->pf && !is_response(f->type)) {
            reply_to(l, f, HDLC_DM);
        }
        return;
    }
    if (l->state != HDLC_STATE_NRM) { /* NDM */
        switch (f->type) {
        case HDLC_SNRM:
            srv_connect(l, f);
            break;
        case HDLC_UI:
            on_ui(l, f, false);
            break;
        case HDLC_UA:
        case HDLC_DM:
        case HDLC_FRMR:
            emit(l, HDLC_EV_IGNORED, f, 2);
            break;
        default: /* DISC, I, RR, RNR, unknown */
            if (f->pf)
                reply_to(l, f, HDLC_DM);
            break;
        }
        return;
    }

    l->last_frame_ms = l->now;
    if (f->type == HDLC_SNRM) {
        srv_connect(l, f);
        return;
    }
    if (f->type == HDLC_DISC && f->info_len == 0) {
        put(l, HDLC_UA, f->pf, 0, false, NULL, 0, false);
        go_ndm(l);
        push_disconnected(l, 0);
        return;
    }
    if (l->frmr) { /* frame reject condition: only SNRM and DISC get out of it */
        if (f->pf)
            send_frmr(l, true);
        return;
    }
    switch (f->type) {
    case HDLC_I:
        srv_on_i(l, f);
        break;
    case HDLC_RR:
    case HDLC_RNR:
        srv_on_s(l, f);
        break;
    case HDLC_UI:
        on_ui(l, f, false);
        if (f->pf)
            answer_poll(l);
        break;
    case HDLC_DISC: /* with an information field */
        frame_reject(l, f, HDLC_FRMR_W | HDLC_FRMR_X);
        break;
    default: /* unknown, or a response (UA, DM, FRMR) sent to a secondary */
        frame_reject(l, f, (uint8_t)(HDLC_FRMR_W | (f->info_len ? HDLC_FRMR_X : 0)));
        break;
    }
}

/* ---- client (primary station) ---- */

/* Remember the frames of a poll from out[from..] to repeat them on a time-out. */
static void keep_last(hdlc_link_t *l, size_t from)
{
    size_t n = l->out_len - from;
    if (grow(&l->last, &l->last_cap, n) < 0) {
        l->last_len = 0;
        return;
    }
    memcpy(l->last, l->out + from, n);
    l->last_len = n;
    l->waiting = true;
    l->resp_deadline = after(l->now, l->cfg.response_ms);
}

static void cli_poll_rr(hdlc_link_t *l)
{
    size_t from = l->out_len;
    if (put(l, HDLC_RR, true, 0, false, NULL, 0, false) == 0)
        keep_last(l, from);
}

static void cli_send_window(hdlc_link_t *l)
{
    size_t from = l->out_len;
    if (send_window(l) > 0)
        keep_last(l, from);
}

static void cli_fail(hdlc_link_t *l, int reason)
{
    go_ndm(l);
    push_disconnected(l, reason);
}

static void cli_connected(hdlc_link_t *l, const hdlc_frame_t *f)
{
    uint32_t s[HDLC_P_COUNT]; /* the server's result, in its own view */
    int rc = check_params(f, s);
    if (rc < 0) {
        emit(l, HDLC_EV_PARAMS, f, rc);
        cli_fail(l, MS_EPROTO);
        return;
    }
    hdlc_link_params_t own = own_params(l);
    if (l->cfg.snrm_no_params) /* then the proposal was the defaults */
        own = (hdlc_link_params_t){ HDLC_DEFAULT_INFO, HDLC_DEFAULT_INFO,
                                    HDLC_DEFAULT_WINDOW, HDLC_DEFAULT_WINDOW };
    reset_link(l);
    l->np = negotiate(&own, s);
    if (ensure_slots(l) < 0) {
        cli_fail(l, MS_ENOMEM);
        return;
    }
    l->state = HDLC_STATE_NRM;
    hdlc_decoder_set_max_info(&l->dec, l->np.max_info_rx);
    qact_t *a = push(l, HDLC_ACT_CONNECTED);
    if (a) {
        a->server = l->peer;
        a->client = l->local;
    }
}

static void cli_on_i(hdlc_link_t *l, const hdlc_frame_t *f)
{
    if (!nr_valid(l, f->nr)) {
        emit(l, HDLC_EV_SEQ_ERROR, f, f->nr);
        cli_fail(l, MS_EPROTO);
        return;
    }
    l->va = f->nr;
    bool done = false;
    if (f->ns == l->vr) {
        l->vr = (uint8_t)((l->vr + 1) & 7u);
        reasm_add(l, &l->ra, f->info, f->info_len);
        if (!f->segmented) {
            if (l->ra.len || l->ra.drop)
                reasm_done(l, &l->ra, f, false, false);
            done = true;
        }
    } else {
        emit(l, HDLC_EV_SEQ_ERROR, f, f->ns);
    }
    if (!f->pf)
        return;
    l->retries = 0;
    if (done) {
        l->waiting = false; /* the answer is complete */
        return;
    }
    cli_poll_rr(l); /* next segment, or the missing one again */
}

static void cli_on_s(hdlc_link_t *l, const hdlc_frame_t *f)
{
    if (!nr_valid(l, f->nr)) {
        emit(l, HDLC_EV_SEQ_ERROR, f, f->nr);
        cli_fail(l, MS_EPROTO);
        return;
    }
    l->va = f->nr;
    l->peer_busy = f->type == HDLC_RNR;
    if (!f->pf)
        return;
    l->retries = 0;
    if (l->peer_busy) { /* poll again after the response time */
        l->resp_deadline = after(l->now, l->cfg.response_ms);
        return;
    }
    if (unacked(l) || frames_pending(l)) {
        cli_send_window(l);
        return;
    }
    l->waiting = false; /* all acknowledged, nothing comes back */
}

static void cli_on_frame(hdlc_link_t *l, const hdlc_frame_t *f, int rc)
{
    bool broadcast = f->dst.size == 1 && f->dst.upper == HDLC_ADDR_ALL_STATION;
    if (!(f->dst.size == 1 && (f->dst.upper == l->local.upper || broadcast))) {
        emit(l, HDLC_EV_IGNORED, f, 0);
        return;
    }
    if (!hdlc_addr_equal(&f->src, &l->peer)) {
        emit(l, HDLC_EV_IGNORED, f, 4);
        return;
    }
    if (rc == MS_ETOOBIG) { /* a primary cannot reject: the time-out repeats */
        emit(l, HDLC_EV_RX_ERROR, f, rc);
        return;
    }
    emit(l, HDLC_EV_RX_FRAME, f, rc);
    if (f->type == HDLC_UI) {
        on_ui(l, f, broadcast);
        return;
    }
    if (broadcast) {
        emit(l, HDLC_EV_IGNORED, f, 1);
        return;
    }
    switch (l->state) {
    case HDLC_STATE_CONNECTING:
        if (f->type == HDLC_UA)
            cli_connected(l, f);
        else if (f->type == HDLC_DM)
            cli_fail(l, MS_ECLOSED);
        else
            emit(l, HDLC_EV_IGNORED, f, 2);
        return;
    case HDLC_STATE_DISCONNECTING:
        if (f->type == HDLC_UA || f->type == HDLC_DM)
            cli_fail(l, 0);
        else
            emit(l, HDLC_EV_IGNORED, f, 2);
        return;
    case HDLC_STATE_NDM:
        emit(l, HDLC_EV_IGNORED, f, 2);
        return;
    default:
        break;
    }
    switch (f->type) {
    case HDLC_I:
        cli_on_i(l, f);
        break;
    case HDLC_RR:
    case HDLC_RNR:
        cli_on_s(l, f);
        break;
    case HDLC_DM:
        cli_fail(l, MS_ECLOSED);
        break;
    case HDLC_FRMR: {
        hdlc_frmr_t fr;
        hdlc_frmr_decode(f->info, f->info_len, &fr);
        emit(l, HDLC_EV_FRMR, f, fr.flags);
        cli_fail(l, MS_EPROTO);
        break;
    }
    default:
        emit(l, HDLC_EV_IGNORED, f, 2);
        break;
    }
}

/* ---- time-outs ---- */

static void expire_octet(hdlc_link_t *l)
{
    if (hdlc_decoder_busy(&l->dec) &&
        due(l->now, after(l->last_octet_ms, l->cfg.inter_octet_ms))) {
        hdlc_decoder_reset(&l->dec); /* the partial frame is discarded */
        emit(l, HDLC_EV_TIMEOUT, NULL, 0);
    }
}

static void expire(hdlc_link_t *l)
{
    uint64_t now = l->now;
    expire_octet(l);
    if (l->cfg.role == HDLC_ROLE_SERVER) {
        if (l->state == HDLC_STATE_NRM &&
            due(now, after(l->last_frame_ms, l->cfg.inactivity_ms))) {
            emit(l, HDLC_EV_TIMEOUT, NULL, 1);
            go_ndm(l);
            push_disconnected(l, MS_ETIMEDOUT);
        }
        if (l->poll_held && due(now, l->hold_deadline)) {
            emit(l, HDLC_EV_TIMEOUT, NULL, 3);
            l->awaiting_reply = false;
            answer_poll(l);
        }
        return;
    }
    if (l->waiting && due(now, l->resp_deadline)) {
        emit(l, HDLC_EV_TIMEOUT, NULL, 2);
        if (l->retries >= l->cfg.max_retries || l->last_len == 0) {
            cli_fail(l, MS_ETIMEDOUT);
            return;
        }
        l->retries++;
        emit(l, HDLC_EV_RETRY, NULL, (int)l->retries);
        if (grow(&l->out, &l->out_cap, l->out_len + l->last_len) == 0) {
            qact_t *a = push(l, HDLC_ACT_SEND);
            if (a) {
                memcpy(l->out + l->out_len, l->last, l->last_len);
                a->off = l->out_len;
                a->len = l->last_len;
                l->out_len += l->last_len;
            }
        }
        l->resp_deadline = after(now, l->cfg.response_ms);
    }
}

/* ---- public API ---- */

static int check_cfg(hdlc_link_cfg_t *c)
{
    if ((unsigned)c->role > HDLC_ROLE_CLIENT || (unsigned)c->ns_policy > HDLC_NS_DISCARD)
        return MS_EINVAL;
    if (c->server.size == 0) {
        c->server.upper = HDLC_ADDR_MANAGEMENT_LD;
        c->server.lower = 0;
        c->server.size = 1;
    }
    if (!hdlc_addr_valid(&c->server))
        return MS_EINVAL;
    uint16_t all = c->server.size == 4 ? HDLC_ADDR_ALL_STATION_14 : HDLC_ADDR_ALL_STATION;
    if (c->role == HDLC_ROLE_SERVER &&
        (c->server.upper == HDLC_ADDR_NO_STATION || c->server.upper == all ||
         (c->server.size > 1 &&
          (c->server.lower == HDLC_ADDR_NO_STATION || c->server.lower == all))))
        return MS_EINVAL; /* a station's own address is not a reserved one */
    if (c->n_more_upper > HDLC_LINK_MORE_UPPER)
        return MS_EINVAL;
    for (unsigned i = 0; i < c->n_more_upper; i++)
        if (c->more_upper[i] == 0 || c->more_upper[i] >= all)
            return MS_EINVAL;
    if (c->client == 0)
        c->client = HDLC_ADDR_CLIENT_PUBLIC;
    if (c->client >= HDLC_ADDR_ALL_STATION)
        return MS_EINVAL;
    unsigned *len[] = { &c->max_info_tx, &c->max_info_rx };
    for (int i = 0; i < 2; i++) {
        if (*len[i] == 0)
            *len[i] = HDLC_DEFAULT_INFO;
        if (*len[i] > HDLC_INFO_MAX)
            return MS_EINVAL;
    }
    unsigned *win[] = { &c->window_tx, &c->window_rx };
    for (int i = 0; i < 2; i++) {
        if (*win[i] == 0)
            *win[i] = HDLC_DEFAULT_WINDOW;
        if (*win[i] > HDLC_WINDOW_MAX)
            return MS_EINVAL;
    }
    if (!c->inter_octet_ms)
        c->inter_octet_ms = HDLC_INTER_OCTET_DEFAULT_MS;
    if (!c->inactivity_ms)
        c->inactivity_ms = HDLC_INACTIVITY_DEFAULT_MS;
    if (!c->response_ms)
        c->response_ms = HDLC_RESPONSE_DEFAULT_MS;
    if (!c->max_retries)
        c->max_retries = HDLC_RETRIES_DEFAULT;
    else if (c->max_retries == HDLC_TIMEOUT_NONE)
        c->max_retries = 0;
    if (!c->reply_ms)
        c->reply_ms = HDLC_TIMEOUT_NONE;
    if (!c->max_apdu)
        c->max_apdu = HDLC_MAX_APDU_DEFAULT;
    if (c->max_apdu > (1u << 24))
        return MS_EINVAL;
    return 0;
}

hdlc_link_t *hdlc_link_new(const hdlc_link_cfg_t *cfg, uint64_t now_ms, int *err)
{
    int rc = MS_ENOMEM;
    hdlc_link_t *l = calloc(1, sizeof *l);
    if (!l)
        goto fail;
    l->cfg = *cfg;
    rc = check_cfg(&l->cfg);
    if (rc < 0)
        goto fail;
    hdlc_decoder_init(&l->dec, l->rxbuf, sizeof l->rxbuf);
    l->now = now_ms;
    l->last_octet_ms = l->last_frame_ms = now_ms;
    if (l->cfg.role == HDLC_ROLE_CLIENT) {
        l->peer = l->cfg.server;
        hdlc_addr_client(&l->local, l->cfg.client);
    }
    go_ndm(l);
    if (err)
        *err = 0;
    return l;
fail:
    free(l);
    if (err)
        *err = rc;
    return NULL;
}

void hdlc_link_free(hdlc_link_t *l)
{
    if (!l)
        return;
    free(l->ra.p);
    free(l->ru.p);
    free(l->tx);
    free(l->slots);
    free(l->last);
    free(l->out);
    free(l);
}

void hdlc_link_input(hdlc_link_t *l, uint64_t now_ms, const uint8_t *p, size_t n)
{
    begin(l, now_ms);
    expire_octet(l); /* a partial frame older than the inter-octet time-out goes first;
                        the other time-outs wait for tick (the bytes may answer them) */
    if (n)
        l->last_octet_ms = now_ms;
    size_t pos = 0;
    for (;;) {
        size_t used = 0;
        hdlc_frame_t f;
        int rc = hdlc_decoder_feed(&l->dec, n > pos ? p + pos : NULL, n - pos, &used, &f);
        pos += used;
        if (rc == 0)
            break;
        if (rc == 1 || rc == MS_ETOOBIG) {
            if (l->cfg.role == HDLC_ROLE_SERVER)
                srv_on_frame(l, &f, rc);
            else
                cli_on_frame(l, &f, rc);
        } else {
            emit(l, HDLC_EV_RX_ERROR, NULL, rc);
        }
    }
}

void hdlc_link_tick(hdlc_link_t *l, uint64_t now_ms)
{
    begin(l, now_ms);
    expire(l);
}

void hdlc_link_sent(hdlc_link_t *l, uint64_t now_ms)
{
    begin(l, now_ms);
    if (l->cfg.role == HDLC_ROLE_CLIENT && l->waiting)
        l->resp_deadline = after(now_ms, l->cfg.response_ms);
}

int hdlc_link_next_action(hdlc_link_t *l, hdlc_action_t *a)
{
    if (l->qlen == 0)
        return 0;
    qact_t *q = &l->q[l->qhead];
    l->qhead = (l->qhead + 1) % QUEUE_MAX;
    l->qlen--;
    memset(a, 0, sizeof *a);
    a->type = q->type;
    a->delay_ms = q->delay_ms;
    a->data = q->len ? l->out + q->off : NULL;
    a->len = q->len;
    a->server = q->server;
    a->client = q->client;
    a->ui = q->ui;
    a->broadcast = q->broadcast;
    a->reason = q->reason;
    return 1;
}

uint64_t hdlc_link_deadline(const hdlc_link_t *l)
{
    uint64_t d = UINT64_MAX, t;
    if (hdlc_decoder_busy(&l->dec)) {
        t = after(l->last_octet_ms, l->cfg.inter_octet_ms);
        d = t < d ? t : d;
    }
    if (l->cfg.role == HDLC_ROLE_SERVER) {
        if (l->state == HDLC_STATE_NRM) {
            t = after(l->last_frame_ms, l->cfg.inactivity_ms);
            d = t < d ? t : d;
        }
        if (l->poll_held)
            d = l->hold_deadline < d ? l->hold_deadline : d;
    } else if (l->waiting) {
        d = l->resp_deadline < d ? l->resp_deadline : d;
    }
    return d;
}

static int load_tx(hdlc_link_t *l, const uint8_t *apdu, size_t len, bool response)
{
    if (len == 0 || !apdu)
        return MS_EINVAL;
    if (len > l->cfg.max_apdu)
        return MS_ETOOBIG;
    if (grow(&l->tx, &l->tx_cap, len + HDLC_LLC_LEN) < 0)
        return MS_ENOMEM;
    ms_wr_t w;
    ms_wr_init(&w, l->tx, l->tx_cap);
    hdlc_llc_put(&w, response);
    ms_wr_bytes(&w, apdu, len);
    l->tx_len = w.len;
    l->tx_off = 0;
    return 0;
}

int hdlc_link_send(hdlc_link_t *l, uint64_t now_ms, const uint8_t *apdu, size_t len)
{
    begin(l, now_ms);
    if (l->state != HDLC_STATE_NRM)
        return MS_ESTATE;
    bool server = l->cfg.role == HDLC_ROLE_SERVER;
    if (l->tx_off < l->tx_len || (!server && l->waiting))
        return MS_EBUSY;
    int rc = load_tx(l, apdu, len, server);
    if (rc < 0)
        return rc;
    if (server) {
        l->awaiting_reply = false;
        if (l->poll_held && !l->frmr)
            answer_poll(l);
    } else {
        l->retries = 0;
        cli_send_window(l);
    }
    return 0;
}

int hdlc_link_send_ui(hdlc_link_t *l, uint64_t now_ms, const hdlc_addr_t *peer,
                      const uint8_t *apdu, size_t len)
{
    begin(l, now_ms);
    bool server = l->cfg.role == HDLC_ROLE_SERVER;
    hdlc_addr_t dst, src;
    if (peer) {
        dst = *peer;
    } else if (server && l->state != HDLC_STATE_NRM) {
        return MS_ESTATE;
    } else {
        dst = l->peer;
    }
    if (server)
        src = l->state == HDLC_STATE_NRM ? l->local : l->cfg.server;
    else
        src = l->local;
    if (!hdlc_addr_valid(&dst) || (server && dst.size != 1))
        return MS_EINVAL;
    if (len == 0 || !apdu)
        return MS_EINVAL;
    if (len > l->cfg.max_apdu)
        return MS_ETOOBIG;
    size_t total = len + HDLC_LLC_LEN;
    uint8_t *buf = malloc(total);
    if (!buf)
        return MS_ENOMEM;
    ms_wr_t w;
    ms_wr_init(&w, buf, total);
    hdlc_llc_put(&w, server);
    ms_wr_bytes(&w, apdu, len);
    size_t m = l->state == HDLC_STATE_NRM ? l->np.max_info_tx : l->cfg.max_info_tx;
    int rc = 0;
    for (size_t off = 0; off < total && rc == 0;) {
        size_t n = total - off < m ? total - off : m;
        hdlc_frame_t f;
        memset(&f, 0, sizeof f);
        f.type = HDLC_UI;
        f.dst = dst;
        f.src = src;
        f.info = buf + off;
        f.info_len = n;
        off += n;
        f.segmented = off < total;
        f.pf = !f.segmented;
        rc = put_frame(l, &f, 0, true);
    }
    free(buf);
    return rc;
}

int hdlc_link_release(hdlc_link_t *l, uint64_t now_ms)
{
    begin(l, now_ms);
    if (l->cfg.role != HDLC_ROLE_SERVER || l->state != HDLC_STATE_NRM)
        return MS_ESTATE;
    l->awaiting_reply = false;
    if (l->poll_held)
        answer_poll(l);
    return 0;
}

int hdlc_link_connect(hdlc_link_t *l, uint64_t now_ms)
{
    begin(l, now_ms);
    if (l->cfg.role != HDLC_ROLE_CLIENT || l->state == HDLC_STATE_DISCONNECTING)
        return MS_ESTATE;
    bool was = l->state == HDLC_STATE_NRM;
    go_ndm(l);
    if (was)
        push_disconnected(l, 0);
    uint8_t info[32];
    size_t n = 0;
    if (!l->cfg.snrm_no_params) {
        hdlc_link_params_t own = own_params(l);
        n = params_put(info, sizeof info, &own);
    }
    size_t from = l->out_len;
    if (put(l, HDLC_SNRM, true, 0, false, info, n, false) == 0)
        keep_last(l, from);
    l->state = HDLC_STATE_CONNECTING;
    return 0;
}

int hdlc_link_disconnect(hdlc_link_t *l, uint64_t now_ms)
{
    begin(l, now_ms);
    if (l->cfg.role != HDLC_ROLE_CLIENT || l->state == HDLC_STATE_NDM)
        return MS_ESTATE;
    reset_link(l);
    size_t from = l->out_len;
    if (put(l, HDLC_DISC, true, 0, false, NULL, 0, false) == 0)
        keep_last(l, from);
    l->state = HDLC_STATE_DISCONNECTING;
    return 0;
}

void hdlc_link_reset(hdlc_link_t *l, uint64_t now_ms)
{
    l->now = now_ms;
    l->qhead = l->qlen = 0;
    l->out_len = 0;
    hdlc_decoder_reset(&l->dec);
    go_ndm(l);
    l->last_frame_ms = l->last_octet_ms = now_ms;
}

hdlc_link_state_t hdlc_link_state(const hdlc_link_t *l)
{
    return l->state;
}

const char *hdlc_link_state_name(const hdlc_link_t *l)
{
    if (l->state == HDLC_STATE_NRM && l->frmr)
        return "NRM/FRMR";
    if ((unsigned)l->state >= sizeof state_names / sizeof state_names[0])
        return "?";
    return state_names[l->state];
}

const hdlc_link_params_t *hdlc_link_params(const hdlc_link_t *l)
{
    return &l->np;
}
