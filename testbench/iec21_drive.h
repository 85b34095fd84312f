/*
** iec21_drive.h — run the IEC 62056-21 reader-side session (protocols/iec62056_21/
** iec21_client.h) over a byte stream (protocols/phy) on a libuv loop: the meterbench
** side of a conversation with a real or simulated meter.
** SPDX-License-Identifier: MIT
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

typedef struct mb_iec21 {
    uv_loop_t *loop;
    ms_phy_t *phy;
    iec21_client_t *client;
    uv_timer_t timer;
    uint64_t last_rx_ns, tx_end_ns;
    bool connected;
    int conn_err;
    bool closed; /* the stream ended */
    mb_trace_fn trace;
    void *trace_ud;
} mb_iec21_t;

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

const iec21_client_result_t *mb_iec21_result(const mb_iec21_t *s);

/** Close the stream and free the session (runs the loop until handles are closed). */
void mb_iec21_close(mb_iec21_t *s);

#endif
