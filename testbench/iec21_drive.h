/*
** iec21_drive.h — run the IEC 62056-21 reader-side session (protocols/iec62056_21/
** iec21_client.h) over a byte stream (protocols/phy) on a libuv loop: the meterbench
** side of a conversation with a real or simulated meter.
** SPDX-License-Identifier: MIT
**
** Two forms: the blocking one (mb_iec21_readout() ... run the loop until the exchange
** ends; `meterbench read`) and the asynchronous one (mb_iec21_start() ... return at once
** and report the end through a callback; the scenario runner, whose coroutines must not
** run the loop themselves). Do not mix them on one loop iteration.
*/
#ifndef MB_IEC21_DRIVE_H
#define MB_IEC21_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "iec21_client.h"
#include "phy.h"

/** Direction of a traced chunk. */
enum { MB_TRACE_RX = 0, MB_TRACE_TX = 1 };

/** Frame trace hook: bytes received, or queued for sending (t_ns: uv_hrtime scale; for
 *  TX the time the first byte starts on the wire). */
typedef void (*mb_trace_fn)(void *ud, int dir, const uint8_t *p, size_t n, uint64_t t_ns);

typedef struct mb_iec21 mb_iec21_t;

/** End of an asynchronous exchange: rc as the blocking forms return it. */
typedef void (*mb_iec21_done_fn)(mb_iec21_t *s, int rc, void *ud);

/** Result of an asynchronous open (TCP connect): 0 or a negative ms_err. */
typedef void (*mb_iec21_open_fn)(mb_iec21_t *s, int status, void *ud);

/** The session's handles are released: the owner may free *s now. */
typedef void (*mb_iec21_closed_fn)(mb_iec21_t *s, void *ud);

struct mb_iec21 {
    uv_loop_t *loop;
    ms_phy_t *phy;
    iec21_client_t *client;
    uv_timer_t timer;
    bool timer_init;
    uint64_t last_rx_ns, tx_end_ns;
    bool connected;
    int conn_err;
    bool closed; /* the stream ended */
    int close_err;
    mb_trace_fn trace;
    void *trace_ud;
    /* asynchronous forms */
    mb_iec21_done_fn done;
    void *done_ud;
    mb_iec21_open_fn opened;
    void *opened_ud;
    mb_iec21_closed_fn on_closed;
    void *closed_ud;
    bool closing;
};

/**
 * Open a meter connection and create an idle reader session.
 * @param[in] meter  "serial:DEVICE" (a tty or pty, 300 7E1, paced in software when the
 *                   device is a pty) or "tcp:HOST:PORT"
 * @param[in] cfg    client configuration (copied)
 * @param[in] timeout_ms  for the TCP connect
 * @param[out] msg   on error, what failed
 * @return 0, MS_EINVAL (bad spec), MS_ENOENT, MS_EACCES, MS_ETIMEDOUT, or another ms_err
 */
int mb_iec21_open(mb_iec21_t *s, uv_loop_t *loop, const char *meter,
                  const iec21_client_cfg_t *cfg, unsigned timeout_ms, char *msg,
                  size_t msgcap);

/**
 * Open without running the loop. A serial device opens at once (return 0); a TCP
 * connection returns 1 and reports its outcome through opened(s, status, ud) later.
 * On failure (< 0) nothing is left open, but the caller must still release the session
 * with mb_iec21_close_async() (or mb_iec21_close()) before freeing *s.
 * @return 0 open, 1 connecting, or a negative ms_err as mb_iec21_open()
 */
int mb_iec21_open_async(mb_iec21_t *s, uv_loop_t *loop, const char *meter,
                        const iec21_client_cfg_t *cfg, mb_iec21_open_fn opened, void *ud,
                        char *msg, size_t msgcap);

/** Readout (request, identification, option select, readout). Runs the loop until the
 *  exchange ends or timeout_ms passes. @return result->err, or MS_ETIMEDOUT */
int mb_iec21_readout(mb_iec21_t *s, unsigned timeout_ms);

/** Enter programming mode with a password (level 1 = P1, 2 = P2). */
int mb_iec21_program(mb_iec21_t *s, const char *password, int level, unsigned timeout_ms);

/** Send a command (e.g. 'R', '1', "1.8.0()") in programming mode and wait for the
 *  answer. */
int mb_iec21_command(mb_iec21_t *s, char cmd, char type, const char *data,
                     unsigned timeout_ms);

/** Send the break B0. */
int mb_iec21_break(mb_iec21_t *s, unsigned timeout_ms);

/** Exchanges of the asynchronous form. */
typedef enum mb_iec21_op {
    MB_IEC21_READOUT = 1,
    MB_IEC21_PROGRAM, /* password = data, level = cmd_type '1' or '2' */
    MB_IEC21_COMMAND, /* cmd, cmd_type, data (NULL: none) */
    MB_IEC21_BREAK,
} mb_iec21_op_t;

/**
 * Start an exchange and return at once; done(s, rc, ud) runs on the loop when it ends
 * (rc: the result's err, or MS_ECLOSED when the stream ended first). done may run before
 * this function returns when the exchange ends at once. No time limit beyond the
 * client's own (response time-out, ta); the caller keeps its own deadline and closes
 * the session to abandon an exchange.
 * @return 0 started, MS_ESTATE (an exchange is under way), MS_ECLOSED, MS_EINVAL
 */
int mb_iec21_start(mb_iec21_t *s, mb_iec21_op_t op, char cmd, char cmd_type,
                   const char *data, mb_iec21_done_fn done, void *ud);

/**
 * Send raw bytes (negative tests: a block with a wrong BCC, a NAK, garbage) after
 * delay_ms of line silence (counted as the client counts its reaction time). They are
 * traced like the client's own messages.
 * @return 0, MS_ECLOSED, MS_ENOMEM, MS_EIO
 */
int mb_iec21_send_raw(mb_iec21_t *s, const uint8_t *p, size_t n, unsigned delay_ms);

/** Switch the reader's own line rate (raw exchanges). @return 0, MS_ENOTSUP (tcp),
 *  MS_EINVAL, MS_ECLOSED */
int mb_iec21_set_baud(mb_iec21_t *s, unsigned baud);

const iec21_client_result_t *mb_iec21_result(const mb_iec21_t *s);

/** Close the stream and free the session (runs the loop until handles are closed). */
void mb_iec21_close(mb_iec21_t *s);

/** Close without running the loop: closed(s, ud) runs once the handles are released
 *  (never inside this call); no other callback runs after this call. */
void mb_iec21_close_async(mb_iec21_t *s, mb_iec21_closed_fn closed, void *ud);

#endif
