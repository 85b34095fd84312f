/*
** phy_pace.h — output queue of a phy stream, paced by the character time of the line.
** SPDX-License-Identifier: MIT
**
** Library-internal. The queue holds chunks in order; each remembers the character time
** of the line it was queued with and its wire start (the latest of its not_before, the
** end of the chunks before it and the time it was queued). Byte k of a chunk reaches
** the peer at start + (k + 1) * char_ns.
**
** Deadlines use a timerfd (CLOCK_MONOTONIC, TFD_TIMER_ABSTIME, nanoseconds) watched by a
** uv_poll_t: libuv's own timers count whole milliseconds, a third of a character at
** 9600 Bd. Work due now runs from a uv_idle_t on the next loop iteration, so no owner
** callback ever runs inside an ms_phy_* call.
*/
#ifndef MS_PHY_PACE_H
#define MS_PHY_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "phy.h"

/** How the bytes get their timing. */
typedef enum ms__pace_mode {
    MS__PACE_INSTANT = 0, /* write at once; bytes reach the peer when written (tcp, a pty
                             without pacing) */
    MS__PACE_DEVICE,      /* write at once; the device sends them at the line rate (a
                             UART): wire times are estimated from the character time */
    MS__PACE_SOFT,        /* write each byte at its wire-end time (a pty has no line
                             timing, DESIGN.md "Platform facts") */
} ms__pace_mode_t;

/** What happens to bit 7 of queued bytes on a 7-bit line. */
typedef enum ms__pace_xform {
    MS__XF_NONE = 0,
    MS__XF_CLEAR7, /* bit 7 = 0 */
    MS__XF_EVEN7,  /* bit 7 = even parity over bits 0..6 */
    MS__XF_ODD7,   /* bit 7 = odd parity over bits 0..6 */
} ms__pace_xform_t;

/** The backend below the queue. */
typedef struct ms__pace_ops {
    /** Write bytes to the OS now. @return the number written (0..len), MS_EAGAIN when
     *  the fd would block (the backend then calls ms__pace_resume() once it is
     *  writable), or another negative ms_err (the stream ends: on_close(err)). */
    int (*write)(ms_phy_t *p, const uint8_t *buf, size_t len);
    /** Watch (on) or stop watching the fd for writability. NULL: never needed. */
    void (*want_writable)(ms_phy_t *p, bool on);
    /** A line change queued with ms__pace_line() has reached the head of the queue and
     *  the bytes before it have left. @return 0 applied; 1 not yet (the device still
     *  holds output; *retry_ns = how long to wait); <0 ms_err (the stream ends). NULL:
     *  line changes are not queued. */
    int (*apply_line)(ms_phy_t *p, const ms_line_t *line, uint64_t *retry_ns);
    /** true while bytes accepted by write() are still on their way (tcp: libuv's write
     *  queue); on_drained then waits for ms__pace_resume(). NULL: never. */
    bool (*busy)(const ms_phy_t *p);
} ms__pace_ops_t;

typedef struct ms__pace_chunk ms__pace_chunk_t;

typedef struct ms__pacer {
    const ms__pace_ops_t *ops;
    ms__pace_mode_t mode;
    uv_idle_t kick;  /* work due now */
    uv_poll_t tpoll; /* watches tfd */
    int tfd;         /* timerfd, -1 until the first deadline needs it */
    bool tpoll_active;
    uint64_t armed_ns; /* deadline tfd is armed for, 0 = none */
    ms__pace_chunk_t *head;
    ms__pace_chunk_t *tail;
    size_t pending;       /* data bytes queued, not yet written */
    uint64_t tail_end_ns; /* wire end of the last byte queued */
    uint64_t last_end_ns; /* wire end of the last byte written */
    bool blocked;         /* a write hit EAGAIN: waiting for ms__pace_resume() */
    bool dirty;           /* bytes written since the last on_drained */
} ms__pacer_t;

/** Initialise p->pacer (counts its handles on p). @return 0 or a negative ms_err. */
int ms__pace_init(ms_phy_t *p, ms__pace_mode_t mode, const ms__pace_ops_t *ops);

/** Queue a copy of buf (after xf), timed by p->line as it is now. The stream's
 *  callbacks do not run inside this call. @return 0, MS_ENOMEM, MS_EIO (no timer). */
int ms__pace_queue(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t not_before_ns,
                   ms__pace_xform_t xf);

/** Queue a line change: ops->apply_line runs once the bytes queued before have left.
 *  @return 0, MS_ENOMEM */
int ms__pace_line(ms_phy_t *p, const ms_line_t *line);

/** true when nothing is queued (data or line changes) and no write is blocked. */
bool ms__pace_idle(const ms_phy_t *p);

/** Wire end of the last byte written (estimated on a device-timed line). */
uint64_t ms__pace_last_end(const ms_phy_t *p);

/** Drop queued data that is not yet written; queued line changes stay. */
void ms__pace_flush(ms_phy_t *p);

/** Data bytes queued and not yet written. */
size_t ms__pace_pending(const ms_phy_t *p);

/** The fd became writable, or ops->busy() turned false: go on. Call from a libuv
 *  callback only (owner callbacks may run). */
void ms__pace_resume(ms_phy_t *p);

/** Close the pacer's libuv handles (part of ms_phy_close()). */
void ms__pace_close(ms_phy_t *p);

/** Free queued chunks and close the timerfd (from hooks->destroy). */
void ms__pace_free(ms_phy_t *p);

#endif
