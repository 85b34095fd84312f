/*
** iec21_meter.h — IEC 62056-21 meter-side ("tariff device") session state machine for
** protocol modes A, B, C and D: no I/O and no clock reads. The caller passes the time
** in, executes the actions the session returns, and calls back at its next deadline.
** SPDX-License-Identifier: MIT
**
** Source: IEC 62056-21:2002 clause 6.4 (protocol modes A-E, flow diagrams) and clause
** 6.3 (messages and reaction/monitoring times); ../shared/PROTOCOL-NOTES.md.
**
** Times are milliseconds on any monotonic scale the caller chooses (uint64_t now_ms).
*/
#ifndef IEC21_METER_H
#define IEC21_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iec21_msg.h"
#include "ms_buf.h"

/* Reaction and monitoring times of IEC 62056-21:2002 (clause 6.3, "reaction times"):
 * tr 200..1500 ms between a received message and the answer (from 20 ms when the third
 * letter of the manufacturer's identification is lowercase); tt 1500..2200 ms a device
 * waits for an answer before it goes on; ta < 1500 ms between two characters of one
 * message; inactivity 60..120 s without a valid message ends programming mode. */
#define IEC21_TR_MIN_MS         200u
#define IEC21_TR_MIN_FAST_MS    20u
#define IEC21_TR_MAX_MS         1500u
#define IEC21_TT_MIN_MS         1500u
#define IEC21_TT_MAX_MS         2200u
#define IEC21_TA_MAX_MS         1500u
#define IEC21_INACTIVITY_MIN_MS 60000u
#define IEC21_INACTIVITY_MAX_MS 120000u
#define IEC21_INITIAL_BAUD      300u  /* modes A, B, C, E: sign-on at 300 Bd */
#define IEC21_MODE_D_BAUD       2400u /* mode D: fixed 2400 Bd */

/** What the meter answers to a wrong password (P1/P2). The standard's own refusal is
 *  the break message B0 that ends programming mode; some meters send an error message
 *  or NAK instead (vendor behaviour, a model option). */
typedef enum iec21_refusal {
    IEC21_REFUSE_BREAK = 0, /* SOH B0 ETX BCC, back to the start */
    IEC21_REFUSE_ERROR,     /* STX (error text) ETX BCC, stay in programming mode */
    IEC21_REFUSE_NAK,       /* NAK */
} iec21_refusal_t;

/** What the meter does with a request whose device address is not its own. */
typedef enum iec21_unknown_address {
    IEC21_UNKNOWN_ADDRESS_ERROR = 0, /* answer with an error message at 300 Bd */
    IEC21_UNKNOWN_ADDRESS_SILENT,    /* stay silent (meters sharing one bus) */
} iec21_unknown_address_t;

/** Session configuration. Zero values take the defaults named per field. */
typedef struct iec21_meter_cfg {
    char mode;   /* 'A', 'B', 'C' or 'D' (default 'C') */
    char mfr[4]; /* manufacturer's identification, 3 letters (FLAG-assigned) */
    char baud_z; /* Z of the identification: mode B 'A'..'F', mode C
                    '0'..'6' (e.g. '5' = 9600 Bd), mode D '3'; mode A any
                    printable character that names no rate in B or C
                    (clause 6.4.1) and is not "/", "!" or "\\" (it would
                    read as the "\W" separator), e.g. 'H' */
    char enh_w;  /* enhanced identification W (0 = none) */
    char ident[IEC21_IDENT_MAX + 1];
    char address[IEC21_ADDRESS_MAX + 1]; /* own device address; "" = none */
    iec21_unknown_address_t unknown_address;
    iec21_refusal_t refusal;
    unsigned reaction_ms;        /* tr before each answer (default 200, or 20 when mfr[2]
                                    is lowercase) */
    unsigned reaction_option_ms; /* tr after the option select, before the first message
                                    at the new rate (default 500: readers such as
                                    smartmeter-obis lose bytes sent within ~300 ms of
                                    their own baud switch; PROTOCOL-NOTES) */
    unsigned tt_ms;              /* mode C: wait for the option select after the
                                    identification before the readout at 300 Bd
                                    (default 2000) */
    unsigned ta_ms;              /* inter-character time-out (default 1500) */
    unsigned inactivity_ms;    /* programming-mode inactivity time-out (default 120000) */
    unsigned mode_d_period_ms; /* mode D: interval between pushed readouts (default
                                  10000) */
    unsigned max_repeats;      /* NAKs answered by repeating the last message (default
                                  3), after that the session returns to the start */
    bool programming;          /* accept option select Y = '1' (programming mode);
                                  without it Y = '1' gets the readout, as Y = '0' */
    bool bcc_corrupt;          /* conformance fault: send every BCC wrong (selftests) */
    bool mode_d_framed;        /* mode D: frame the pushed data as a data message
                                  STX ... "!" CR LF ETX BCC; default (false): data
                                  lines and "!" CR LF without STX/ETX/BCC, as the
                                  mode D meters in the shared data push it
                                  (PROTOCOL-NOTES: "no STX/BCC") */
} iec21_meter_cfg_t;

/** Access level reached in programming mode. */
enum {
    IEC21_ACCESS_NONE = 0,
    IEC21_ACCESS_P1 = 1, /* password P1 accepted */
    IEC21_ACCESS_P2 = 2, /* secure algorithm result P2 accepted */
};

/** Kinds of reply a provider's command handler asks for. */
typedef enum iec21_reply {
    IEC21_REPLY_DATA = 0, /* out holds a data block: STX block ETX BCC */
    IEC21_REPLY_ACK,      /* ACK (e.g. write accepted) */
    IEC21_REPLY_ERROR,    /* out holds an error text: STX "(" text ")" ETX BCC */
    IEC21_REPLY_NAK,      /* NAK */
    IEC21_REPLY_BREAK,    /* SOH B0 ETX BCC and back to the start */
} iec21_reply_t;

/** Session events reported to the provider (logging, audit trail, statistics). */
typedef enum iec21_meter_event {
    IEC21_EV_SIGN_ON,         /* request received and accepted; detail = address */
    IEC21_EV_BAUD,            /* line rate switched; detail = rate */
    IEC21_EV_READOUT,         /* readout sent */
    IEC21_EV_PROGRAMMING,     /* programming mode entered */
    IEC21_EV_PASSWORD_OK,     /* detail = "P1" or "P2" */
    IEC21_EV_PASSWORD_WRONG,  /* detail = "P1" or "P2" */
    IEC21_EV_BAD_BCC,         /* a block with a wrong BCC was NAKed */
    IEC21_EV_FRAME_ERROR,     /* malformed message discarded */
    IEC21_EV_UNKNOWN_ADDRESS, /* detail = the address asked for */
    IEC21_EV_BREAK,           /* B0 received: session ended */
    IEC21_EV_TIMEOUT,         /* ta, tt or inactivity time-out; detail "ta", "tt" or
                                 "inactivity" */
    IEC21_EV_NAK_RECEIVED,    /* the reader asked for a repeat; detail = the repeat
                                 count ("1".."max_repeats"), "limit" when max_repeats
                                 is exhausted (back to the start), "ignored" when
                                 there is nothing to repeat */
    IEC21_EV_MODE_E,          /* option select for mode E: the link goes to HDLC;
                                 detail = rate */
} iec21_meter_event_t;

/**
 * The meter's data, provided by the caller (a protocol view of the meter model).
 * Callbacks run synchronously inside iec21_meter_input()/tick(); they must not call
 * back into the session. Any may be NULL where noted.
 */
typedef struct iec21_meter_ops {
    /** Write the readout data block: data lines "address(value*unit)" CR LF, without
     *  STX, the end line "!" CR LF, ETX and BCC (the session adds them). When out is
     *  too small (MS_ENOSPC) it is called again with a larger one (up to 1 MiB), so it
     *  must not have side effects. NULL: an empty readout.
     *  @return 0, or a negative ms_err (the readout is then an error message whose
     *  text is the error's name, e.g. "(MS_EIO)"). */
    int (*readout)(void *ctx, ms_wr_t *out);
    /** Operand of the P0 message sent on entering programming mode, without the
     *  parentheses (e.g. a seed for P2). NULL: an empty operand "()". */
    int (*operand)(void *ctx, ms_wr_t *out);
    /** Check a password. level: 1 = P1 (operand is the password), 2 = P2 (operand is the
     *  result of the secure algorithm). operand is the text inside the parentheses.
     *  @return 0 = accepted, MS_EACCES = refused (also when locked out). NULL: every
     *  password is refused. */
    int (*password)(void *ctx, int level, const char *operand, size_t len);
    /** Handle a programming command R, W or E (cmd->cmd, cmd->cmd_type, cmd->data) at
     *  the access level reached. Write a data block or an error text into out (64 KiB
     *  room; called once per received command, also for a repeat the reader sends).
     *  @return an iec21_reply_t. NULL: every command gets the error message
     *  "(MS_ENOTSUP)". */
    iec21_reply_t (*command)(void *ctx, int access, const iec21_msg_t *cmd, ms_wr_t *out);
    /** Session event (may be NULL). detail is a short NUL-terminated text. */
    void (*event)(void *ctx, iec21_meter_event_t ev, const char *detail);
} iec21_meter_ops_t;

/** Things the caller must do, in order. */
typedef enum iec21_action_type {
    IEC21_ACT_SEND = 1, /* transmit data[0..len) */
    IEC21_ACT_SET_BAUD, /* switch the line rate to `baud` once everything sent before
                           this action is on the wire */
    IEC21_ACT_MODE_E,   /* protocol mode E (IEC 62056-21 6.4.5, Annex E): once
                           everything sent before is on the wire, the link belongs to
                           the HDLC layer (IEC 62056-46) at `baud`, 8N1; the session
                           is idle and ignores input until the caller frees it */
} iec21_action_type_t;

typedef struct iec21_action {
    iec21_action_type_t type;
    unsigned delay_ms;   /* SEND: line silence before the first byte, counted from the
                            later of the end of the last received message and the end
                            of the previous transmission (the reaction time tr) */
    const uint8_t *data; /* SEND: valid until the next input/tick/sent call */
    size_t len;
    unsigned baud; /* SET_BAUD */
} iec21_action_t;

typedef struct iec21_meter iec21_meter_t;

/**
 * Create a session in its initial state (300 Bd waiting for a request; mode D: 2400 Bd,
 * first push after mode_d_period_ms).
 * @param[in] cfg  copied; zero fields take their defaults
 * @param[in] ops  retained (must outlive the session); ctx is passed to every callback
 * @param[in] now_ms  current time
 * @param[out] err  MS_EINVAL (cfg out of the standard's ranges: bad mode, mfr not three
 *                  letters, Z not valid for the mode, ident too long), MS_ENOMEM;
 *                  may be NULL. Times outside the standard's ranges are accepted on
 *                  purpose (a conformance-breaking model), not clamped.
 * @return the session, or NULL
 */
iec21_meter_t *iec21_meter_new(const iec21_meter_cfg_t *cfg, const iec21_meter_ops_t *ops,
                               void *ctx, uint64_t now_ms, int *err);

void iec21_meter_free(iec21_meter_t *m);

/** Bytes received from the reader at now_ms (7-bit characters). */
void iec21_meter_input(iec21_meter_t *m, uint64_t now_ms, const uint8_t *p, size_t n);

/** Time has reached the deadline: handle ta, tt, inactivity and mode D pushes. */
void iec21_meter_tick(iec21_meter_t *m, uint64_t now_ms);

/** Everything sent so far is on the wire at now_ms (the tt and inactivity timers count
 *  from the end of transmission). */
void iec21_meter_sent(iec21_meter_t *m, uint64_t now_ms);

/** Take the next action: 1 and *a filled, or 0 when none is pending. */
int iec21_meter_next_action(iec21_meter_t *m, iec21_action_t *a);

/** Absolute time of the next tick the session needs, or UINT64_MAX for none. */
uint64_t iec21_meter_deadline(const iec21_meter_t *m);

/** Current line rate of the meter's side (baud): the rate of the last SET_BAUD action
 *  taken with iec21_meter_next_action() (initially 300, mode D 2400). */
unsigned iec21_meter_baud(const iec21_meter_t *m);

/** Name of the current state, e.g. "idle", "wait-option", "programming". */
const char *iec21_meter_state_name(const iec21_meter_t *m);

/** Back to the initial state at once (e.g. the control API resets the port). */
void iec21_meter_reset(iec21_meter_t *m, uint64_t now_ms);

#endif
