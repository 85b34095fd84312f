/*
** hdlc_link.h — IEC 62056-46 HDLC link sessions (normal response mode): the server
** (meter, secondary station) and the client (head-end, primary station) state machines.
** No I/O and no clock reads: the caller passes the time in, executes the actions the
** session returns, and calls back at its next deadline (the house pattern of
** iec21_meter.h).
** SPDX-License-Identifier: MIT
**
** Sources (facts only): IEC 62056-46:2002+A1:2006 6.4.4 (commands and responses), 6.4.4.4
** (mode setting, parameter negotiation 6.4.4.4.3.2), 6.4.5 (elements of procedure:
** sequence numbers, P/F, segmentation); ISO/IEC 13239 (NRM checkpointing, frame reject
** condition); DLMS UA Blue Book IC 23 "IEC HDLC setup" (defaults: window 1, maximum
** information field 128, inter_octet_time_out 25 ms, inactivity_time_out 120 s); DLMS UA
** conformance test plan, HDLC groups (PROTOCOL-NOTES trap 11). Clause numbers: see
** hdlc_frame.h. Choices where the text leaves room are listed in hdlc_link.c.
**
** Times are milliseconds on any monotonic scale the caller chooses (uint64_t now_ms).
**
** Upper-layer interface: APDUs go down with hdlc_link_send() (the link adds the LLC
** header and segments them); complete APDUs come up as HDLC_ACT_APDU actions with the
** LLC header stripped. A server answers every poll: after an APDU arrives with the poll
** bit the link holds the poll until hdlc_link_send() gives the reply or
** hdlc_link_release() says there is none (then RR answers the poll).
*/
#ifndef HDLC_LINK_H
#define HDLC_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hdlc_frame.h"

/* Defaults (DLMS UA Blue Book IC 23 "IEC HDLC setup" attribute defaults). */
#define HDLC_INTER_OCTET_DEFAULT_MS 25u     /* inter_octet_time_out */
#define HDLC_INACTIVITY_DEFAULT_MS  120000u /* inactivity_time_out, 120 s */
#define HDLC_RESPONSE_DEFAULT_MS    3000u  /* client: wait for an answer (not in IC 23) */
#define HDLC_RETRIES_DEFAULT        3u     /* client: repeats after a response time-out */
#define HDLC_MAX_APDU_DEFAULT       65535u /* largest reassembled APDU */
#define HDLC_TIMEOUT_NONE           UINT32_MAX /* a time-out that never expires */
#define HDLC_LINK_MORE_UPPER        7u /* further logical devices a server answers */

typedef enum hdlc_role {
    HDLC_ROLE_SERVER = 0, /* meter: secondary station, answers polls */
    HDLC_ROLE_CLIENT,     /* head-end: primary station, sends commands and polls */
} hdlc_role_t;

/** What a server does with an I frame whose N(S) is neither V(R) nor a repeat nor
 *  within the receive window ahead of V(R). */
typedef enum hdlc_ns_policy {
    HDLC_NS_FRMR = 0, /* frame reject with W (the control field is invalid); default */
    HDLC_NS_DISCARD,  /* discard it and answer the poll with RR N(R) = V(R) (ISO/IEC
                         13239 sequence error recovery by checkpointing) */
} hdlc_ns_policy_t;

/** Session events for tracing and statistics (hdlc_link_cfg.event). */
typedef enum hdlc_link_event {
    HDLC_EV_RX_ERROR = 1, /* decoder error, frame discarded; detail = ms_err */
    HDLC_EV_RX_FRAME,     /* a frame for this station (f set) */
    HDLC_EV_IGNORED,      /* a frame for another station or not to be answered (f set);
                             detail: 0 other address, 1 broadcast, 2 response type,
                             3 other client while connected, 4 invalid source */
    HDLC_EV_FRMR,         /* server: FRMR sent; client: FRMR received; detail = W|X|Y|Z */
    HDLC_EV_SEQ_ERROR,    /* I frame with an unexpected N(S) discarded; detail = N(S) */
    HDLC_EV_RETRANSMIT,   /* I frames sent again (checkpoint); detail = how many */
    HDLC_EV_TIMEOUT,      /* detail: 0 inter-octet, 1 inactivity, 2 response, 3 reply */
    HDLC_EV_RETRY,        /* client: command repeated; detail = repeat number */
    HDLC_EV_APDU_DROPPED, /* reassembled APDU dropped; detail = MS_ETOOBIG (over
                             max_apdu) or MS_EFRAME (no LLC header, or nothing
                             behind it) */
    HDLC_EV_PARAMS,       /* SNRM/UA parameters refused; detail = ms_err */
} hdlc_link_event_t;

/** Session configuration. Zero fields take the defaults named per field. */
typedef struct hdlc_link_cfg {
    hdlc_role_t role;
    /* Server role: own address (upper = logical device, lower = physical device);
     * default 1-byte address 1 (management logical device). Client role: the server
     * address to talk to (same default). */
    hdlc_addr_t server;
    /* Server role: further logical devices (upper addresses) answered at the same
     * lower address. */
    uint16_t more_upper[HDLC_LINK_MORE_UPPER];
    unsigned n_more_upper;
    /* Server role: also answer frames to the calling physical device address (0x7E or
     * 0x3FFE) after this device called in. */
    bool accept_calling;
    /* Server role: accept the server address in any of the sizes 1, 2 and 4 (clients
     * choose; 6.4.2.2): a 1-byte address names the logical device alone, a 2-byte one
     * needs both halves below 128. Answers use the size the client connected with. */
    bool any_address_size;
    /* Client role: own client address, 7 bits (default 0x10, public client). */
    uint8_t client;
    /* Capabilities (server) or proposal (client), each in this station's own view:
     * maximum information field length transmit/receive (default 128, 1..2030) and
     * window size transmit/receive (default 1, 1..7). */
    unsigned max_info_tx, max_info_rx;
    unsigned window_tx, window_rx;
    unsigned inter_octet_ms; /* a partial frame is dropped after this silence (25;
                                HDLC_TIMEOUT_NONE) */
    unsigned inactivity_ms;  /* server: NRM without a frame from the client this long
                                goes back to NDM silently (120000); HDLC_TIMEOUT_NONE */
    unsigned response_ms;    /* client: answer time-out (3000; HDLC_TIMEOUT_NONE) */
    unsigned max_retries;    /* client: repeats before giving up (3; HDLC_TIMEOUT_NONE
                                for none) */
    unsigned reaction_ms;    /* server: delay_ms of every answer (0) */
    unsigned reply_ms;       /* server: a held poll is answered with RR after this long
                                without hdlc_link_send()/release() (HDLC_TIMEOUT_NONE:
                                hold until then, the default) */
    size_t max_apdu;         /* largest APDU reassembled or sent (65535) */
    hdlc_ns_policy_t ns_policy;
    bool snrm_no_params; /* client: send SNRM without information field (defaults) */
    /** Event callback (may be NULL); runs inside the session's calls and must not call
     *  back into it. f is the frame concerned or NULL. */
    void (*event)(void *ctx, hdlc_link_event_t ev, const hdlc_frame_t *f, int detail);
    void *ctx;
} hdlc_link_cfg_t;

/** Negotiated parameters in this station's own view. */
typedef struct hdlc_link_params {
    unsigned max_info_tx, max_info_rx;
    unsigned window_tx, window_rx;
} hdlc_link_params_t;

/** Things the caller must do or learn, in order. */
typedef enum hdlc_action_type {
    HDLC_ACT_SEND = 1,     /* transmit data[0..len): one or more whole frames */
    HDLC_ACT_APDU,         /* an APDU arrived (LLC header stripped): data[0..len) */
    HDLC_ACT_CONNECTED,    /* NRM entered; hdlc_link_params() has the result */
    HDLC_ACT_DISCONNECTED, /* back in NDM; reason */
} hdlc_action_type_t;

typedef struct hdlc_action {
    hdlc_action_type_t type;
    unsigned delay_ms;   /* SEND: line silence before the first byte (reaction time) */
    const uint8_t *data; /* SEND, APDU: valid until the next call into the session
                            other than hdlc_link_next_action() */
    size_t len;
    hdlc_addr_t server; /* APDU, CONNECTED: the server address of the frames (its
                           upper half names the logical device) */
    hdlc_addr_t client; /* APDU, CONNECTED: the client address */
    bool ui;            /* APDU: came in UI frames (connectionless) */
    bool broadcast;     /* APDU: addressed to all stations */
    int reason;         /* DISCONNECTED: 0 (DISC/UA, or a new SNRM), MS_ETIMEDOUT
                           (inactivity, or no answer after the repeats), MS_ECLOSED
                           (DM from the server), MS_EPROTO (FRMR or an invalid N(R)
                           from the server, refused parameters) */
} hdlc_action_t;

/** State names returned by hdlc_link_state(). */
typedef enum hdlc_link_state {
    HDLC_STATE_NDM = 0,       /* normal disconnected mode */
    HDLC_STATE_CONNECTING,    /* client: SNRM sent */
    HDLC_STATE_NRM,           /* normal response mode */
    HDLC_STATE_DISCONNECTING, /* client: DISC sent */
} hdlc_link_state_t;

typedef struct hdlc_link hdlc_link_t;

/**
 * Create a session in NDM.
 * @param[in] cfg  copied; zero fields take their defaults
 * @param[in] now_ms  current time
 * @param[out] err  MS_EINVAL (role, address, sizes or windows out of range),
 *                  MS_ENOMEM; may be NULL
 * @return the session, or NULL
 */
hdlc_link_t *hdlc_link_new(const hdlc_link_cfg_t *cfg, uint64_t now_ms, int *err);

/** Free a session and everything it holds (NULL is ignored). Action data taken before
 *  becomes invalid. */
void hdlc_link_free(hdlc_link_t *l);

/** Bytes received from the peer at now_ms. */
void hdlc_link_input(hdlc_link_t *l, uint64_t now_ms, const uint8_t *p, size_t n);

/** Time has reached the deadline: inter-octet, inactivity, response and reply
 *  time-outs. */
void hdlc_link_tick(hdlc_link_t *l, uint64_t now_ms);

/** Everything sent so far is on the wire at now_ms (a client's answer time-out counts
 *  from here). */
void hdlc_link_sent(hdlc_link_t *l, uint64_t now_ms);

/** Take the next action: 1 and *a filled, or 0 when none is pending. */
int hdlc_link_next_action(hdlc_link_t *l, hdlc_action_t *a);

/** Absolute time of the next tick the session needs, or UINT64_MAX for none. */
uint64_t hdlc_link_deadline(const hdlc_link_t *l);

/**
 * Send an APDU in I frames: the LLC header (E6 E6 00 from a client, E6 E7 00 from a
 * server) goes in front, the whole is cut into information fields of the negotiated
 * maximum with the segmentation bit set on all but the last frame, sent a window at a
 * time (6.4.5). A server sends when polled (at once if a poll is held).
 * @param[in] apdu  len bytes, copied
 * @return 0, or MS_ESTATE (not in NRM), MS_EBUSY (a client's request or a server's
 *         reply is still being sent), MS_EINVAL (len 0), MS_ETOOBIG (over max_apdu),
 *         MS_ENOMEM
 */
int hdlc_link_send(hdlc_link_t *l, uint64_t now_ms, const uint8_t *apdu, size_t len);

/**
 * Send an APDU in UI frames (connectionless; e.g. a push on a HAN port), segmented
 * like I frames, P/F set on the last frame. Sent at once, in any state.
 * @param[in] peer  destination: a client address (server role) or a server address
 *                  (client role); NULL = the connected peer
 * @return 0, or MS_ESTATE (peer NULL and not connected), MS_EINVAL (bad address,
 *         len 0), MS_ETOOBIG, MS_ENOMEM
 */
int hdlc_link_send_ui(hdlc_link_t *l, uint64_t now_ms, const hdlc_addr_t *peer,
                      const uint8_t *apdu, size_t len);

/**
 * Server: the upper layer has no reply to the last APDU; a held poll is answered with
 * RR (or with I frames still waiting).
 * @return 0, or MS_ESTATE (client role or not in NRM)
 */
int hdlc_link_release(hdlc_link_t *l, uint64_t now_ms);

/**
 * Client: send SNRM (with the parameter proposal unless cfg.snrm_no_params) and wait
 * for UA (6.4.4.4.3). Also from NRM (a link reset).
 * @return 0, or MS_ESTATE (server role, or a DISC is under way)
 */
int hdlc_link_connect(hdlc_link_t *l, uint64_t now_ms);

/**
 * Client: send DISC and wait for UA or DM.
 * @return 0, or MS_ESTATE (server role, or already in NDM)
 */
int hdlc_link_disconnect(hdlc_link_t *l, uint64_t now_ms);

/** Back to NDM at once, without a frame and without a DISCONNECTED action (e.g. the
 *  control API resets the port); pending actions are dropped. */
void hdlc_link_reset(hdlc_link_t *l, uint64_t now_ms);

/** Current state (HDLC_STATE_*). */
hdlc_link_state_t hdlc_link_state(const hdlc_link_t *l);

/** "NDM", "connecting", "NRM", "disconnecting"; "NRM/FRMR" in the frame reject
 *  condition. Never NULL. */
const char *hdlc_link_state_name(const hdlc_link_t *l);

/** Negotiated parameters (the defaults while disconnected). Never NULL. */
const hdlc_link_params_t *hdlc_link_params(const hdlc_link_t *l);

#endif
