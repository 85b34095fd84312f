/*
** iec21_client.h — IEC 62056-21 reader-side ("HHU") session state machine: readout in
** modes A, B, C (and listening in mode D), programming mode with password, R/W/E
** commands, break. No I/O and no clock reads, like iec21_meter.h; it serves meterbench,
** `meterbench read` and the tests.
** SPDX-License-Identifier: MIT
**
** Source: IEC 62056-21:2002 clause 6.4 (protocol modes) and 6.3 (messages, times).
*/
#ifndef IEC21_CLIENT_H
#define IEC21_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iec21_meter.h" /* iec21_action_t, iec21_reply_t, time constants */
#include "iec21_msg.h"

/** Client configuration. Zero values take the defaults named per field. */
typedef struct iec21_client_cfg {
    char address[IEC21_ADDRESS_MAX + 1]; /* device address for the request ("" = none) */
    unsigned max_baud;       /* highest rate to switch to (default 19200); if the meter
                                offers more, the option select asks for 300 (Z = '0') */
    bool no_switch;          /* mode C: ask to stay at 300 Bd (option select Z = '0') */
    unsigned reaction_ms;    /* wait before each message we send after one received
                                (default 200, the standard's minimum tr) */
    unsigned switch_wait_ms; /* after our option select is on the wire: wait before
                                switching our own rate (default 0) */
    unsigned response_timeout_ms; /* max wait for the first byte of an answer (default
                               IEC21_TR_MAX_MS + IEC21_TT_MAX_MS = 3700: mode C meters
                               may wait tt before a 300 Bd readout; in mode D 30000,
                               the wait for a push) */
    unsigned ta_ms;     /* inter-character time-out within an answer (default 1500) */
    unsigned max_naks;  /* NAKs sent for answers with a wrong BCC (default 3) */
    size_t max_message; /* largest message accepted (default 65536 bytes) */
    char mode_d;        /* nonzero: mode D, send nothing and wait for a push */
} iec21_client_cfg_t;

typedef enum iec21_client_status {
    IEC21_CLIENT_IDLE = 0, /* no exchange started, or in programming mode and ready */
    IEC21_CLIENT_BUSY,     /* an exchange is under way */
    IEC21_CLIENT_DONE,     /* the last exchange finished (and the session is not in
                              programming mode); see the result */
    IEC21_CLIENT_FAILED,   /* the last exchange failed; result.err says why */
} iec21_client_status_t;

/** Outcome of the last exchange. Pointers stay valid until the next request. */
typedef struct iec21_client_result {
    int err; /* 0; MS_ETIMEDOUT (no answer in time), MS_EBADBCC (BCC still wrong after
                max_naks repeats), MS_EPROTO (an answer the exchange did not expect),
                MS_EACCES (password refused), MS_ETOOBIG (an answer longer than
                max_message) */
    iec21_reply_t reply; /* kind of the final answer: DATA, ACK, ERROR, NAK, BREAK */
    const uint8_t *data; /* readout / data block without STX, ETX, BCC; or the error
                            text without parentheses; after program(): the operand
                            of P0 without parentheses. An answer to an R command is
                            always DATA (an error text "(...)" cannot be told from
                            a value without address); to P, W, E it is ERROR */
    size_t len;
    bool has_ident;
    iec21_msg_t ident;    /* identification received (readout, programming) */
    char mode;            /* protocol mode inferred from the identification */
    unsigned baud;        /* line rate after the exchange */
    unsigned reaction_ms; /* measured reaction time of the last answer: its first byte
                             received minus the later of the end of our last
                             transmission and the end of the last message received */
    unsigned ident_reaction_ms; /* the same for the identification */
    unsigned naks_sent;
    unsigned naks_received;
} iec21_client_result_t;

typedef struct iec21_client iec21_client_t;

/** Create an idle client at 300 Bd (mode D: 2400 Bd). cfg is copied.
 *  @param[out] err  MS_EINVAL (bad address), MS_ENOMEM; may be NULL */
iec21_client_t *iec21_client_new(const iec21_client_cfg_t *cfg, uint64_t now_ms,
                                 int *err);
void iec21_client_free(iec21_client_t *c);

/** Readout: request -> identification -> [option select Y=0 and switch] -> readout.
 *  In mode D configuration: wait for a pushed identification and readout (framed or,
 *  as real mode D meters send it, without STX/ETX/BCC).
 *  Copes with: garbage before the identification, the echo of our own request and
 *  option select (half-duplex optical heads), LF LF line ends.
 *  @return 0 started, MS_ESTATE when an exchange is under way */
int iec21_client_readout(iec21_client_t *c, uint64_t now_ms);

/** Enter programming mode: request -> identification -> option select Y=1 -> P0 ->
 *  P1/P2 with `password` -> ACK. level 1 = P1, 2 = P2. A refused password ends with
 *  err = MS_EACCES and reply = the meter's refusal (BREAK, ERROR or NAK; a NAK is not
 *  answered with a repeat, so that a wrong password is not tried again). After ERROR
 *  or NAK the meter is still in programming mode: command() and break() may follow.
 *  A meter in mode A or B ends with MS_EPROTO.
 *  @return 0 started, MS_ESTATE, MS_EINVAL (password longer than 64 or with "()",
 *  level not 1 or 2, client configured for mode D) */
int iec21_client_program(iec21_client_t *c, uint64_t now_ms, const char *password,
                         int level);

/** In programming mode: send command C D with data (a data set such as "1.8.0()" or
 *  "P.01(1510040000;1510050000)", or NULL for none) and wait for the answer (data
 *  message, ACK, NAK, error message or break).
 *  @return 0 started, MS_ESTATE (not in programming mode or busy), MS_EINVAL */
int iec21_client_command(iec21_client_t *c, uint64_t now_ms, char cmd, char cmd_type,
                         const char *data);

/** Send the break B0 (no answer expected) and return to 300 Bd. The exchange ends
 *  (DONE, reply BREAK) when iec21_client_sent() reports it on the wire.
 *  @return 0 started, MS_ESTATE when busy */
int iec21_client_break(iec21_client_t *c, uint64_t now_ms);

/** Bytes received from the meter at now_ms (7-bit characters). */
void iec21_client_input(iec21_client_t *c, uint64_t now_ms, const uint8_t *p, size_t n);

/** Time has reached the deadline. */
void iec21_client_tick(iec21_client_t *c, uint64_t now_ms);

/** Everything sent so far is on the wire at now_ms. */
void iec21_client_sent(iec21_client_t *c, uint64_t now_ms);

/** Take the next action (SEND / SET_BAUD): 1 and *a filled, or 0. */
int iec21_client_next_action(iec21_client_t *c, iec21_action_t *a);

/** Absolute time of the next tick needed, or UINT64_MAX. */
uint64_t iec21_client_deadline(const iec21_client_t *c);

iec21_client_status_t iec21_client_status(const iec21_client_t *c);
const iec21_client_result_t *iec21_client_result(const iec21_client_t *c);

/** Current line rate of the reader's side (baud). */
unsigned iec21_client_baud(const iec21_client_t *c);

#endif
