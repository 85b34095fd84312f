/*
** phy_test_util.h — helpers of the phy unit tests: run a libuv loop with a deadline
** while waiting on a plain fd, and record the callbacks of a stream.
** SPDX-License-Identifier: MIT
**
** No sleeps: every wait is poll() on the loop's backend fd (and the fd under test) with
** a timeout that ends at a deadline.
*/
#ifndef PHY_TEST_UTIL_H
#define PHY_TEST_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "phy.h"

#define MS_PER_NS     1000000u
#define PUMP_SLICE_MS 5u

static inline void pump_on_timer_(uv_timer_t *h)
{
}

static inline void pump_on_readable_(uv_poll_t *h, int status, int events)
{
    *(bool *)h->data = true;
    uv_poll_stop(h);
}

/* Run the loop once: wait for one round of its events, or for fd (-1: none) to become
 * readable, or for PUMP_SLICE_MS (conditions on state outside the loop, such as FIONREAD,
 * are checked again that often), never past deadline_ns. The waits are libuv's own (a
 * timer, a poll handle for fd), so fds the loop starts watching inside a callback are
 * watched at once. @return true when fd is readable. */
static inline bool pump_once(uv_loop_t *loop, int fd, uint64_t deadline_ns)
{
    uint64_t now = uv_hrtime();
    uint64_t wait_ms =
        deadline_ns > now ? (deadline_ns - now + MS_PER_NS - 1) / MS_PER_NS : 0;
    if (wait_ms > PUMP_SLICE_MS)
        wait_ms = PUMP_SLICE_MS;
    bool ready = false;
    uv_timer_t tm;
    uv_poll_t pl;
    uv_timer_init(loop, &tm);
    uv_timer_start(&tm, pump_on_timer_, wait_ms, 0);
    if (fd >= 0) {
        uv_poll_init(loop, &pl, fd);
        pl.data = &ready;
        uv_poll_start(&pl, UV_READABLE, pump_on_readable_);
    }
    uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tm, NULL);
    if (fd >= 0)
        uv_close((uv_handle_t *)&pl, NULL);
    uv_run(loop,
           UV_RUN_NOWAIT); /* runs the close callbacks: tm and pl live on the stack */
    return ready;
}

/* Run the loop until cond holds or ms milliseconds have passed; value: cond. */
#define RUN_UNTIL(loop, cond, ms)                              \
    ({                                                         \
        uint64_t dl_ = uv_hrtime() + (uint64_t)(ms)*MS_PER_NS; \
        while (!(cond) && uv_hrtime() < dl_)                   \
            pump_once((loop), -1, dl_);                        \
        (cond);                                                \
    })

/* Run the loop for ms milliseconds. */
static inline void run_for(uv_loop_t *loop, unsigned ms)
{
    uint64_t dl = uv_hrtime() + (uint64_t)ms * MS_PER_NS;
    while (uv_hrtime() < dl)
        pump_once(loop, -1, dl);
}

/* Read from the non-blocking fd while the loop runs, until want bytes or ms passed.
 * *t_first / *t_last (may be NULL): uv_hrtime() when the first / last byte arrived.
 * @return bytes read. */
static inline size_t read_while_running(uv_loop_t *loop, int fd, uint8_t *buf,
                                        size_t want, unsigned ms, uint64_t *t_first,
                                        uint64_t *t_last)
{
    uint64_t dl = uv_hrtime() + (uint64_t)ms * MS_PER_NS;
    size_t got = 0;
    while (got < want && uv_hrtime() < dl) {
        pump_once(loop, fd, dl);
        ssize_t n = read(fd, buf + got, want - got);
        if (n > 0) {
            uint64_t t = uv_hrtime();
            if (got == 0 && t_first)
                *t_first = t;
            if (t_last)
                *t_last = t;
            got += (size_t)n;
        }
    }
    return got;
}

/* Close the loop after its handles have gone (bounded). @return uv_loop_close(). */
static inline int loop_finish(uv_loop_t *loop)
{
    uint64_t dl = uv_hrtime() + 2000u * MS_PER_NS;
    while (uv_loop_alive(loop) && uv_hrtime() < dl)
        pump_once(loop, -1, dl);
    return uv_loop_close(loop);
}

/* What a stream reported. */
typedef struct rec {
    uint8_t data[1 << 18];
    size_t n;
    uint64_t t_first_data;
    uint64_t t_last_data;
    ms_line_t peer[32];
    size_t peer_data_n[32]; /* rec.n when each peer line arrived */
    int npeer;
    int drained;
    uint64_t drained_t;
    int closed;
    int close_err;
    bool close_in_data; /* ms_phy_close() from on_data */
    bool echo;          /* write received bytes back */
} rec_t;

static inline void rec_on_data(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t,
                               void *ud)
{
    rec_t *r = ud;
    if (r->n == 0)
        r->t_first_data = t;
    r->t_last_data = t;
    size_t room = sizeof r->data - r->n;
    memcpy(r->data + r->n, buf, len < room ? len : room);
    r->n += len < room ? len : room;
    if (r->echo)
        ms_phy_write(p, buf, len, 0);
    if (r->close_in_data)
        ms_phy_close(p);
}

static inline void rec_on_peer_line(ms_phy_t *p, const ms_line_t *l, void *ud)
{
    rec_t *r = ud;
    if (r->npeer < 32) {
        r->peer[r->npeer] = *l;
        r->peer_data_n[r->npeer] = r->n;
    }
    r->npeer++;
}

static inline void rec_on_drained(ms_phy_t *p, uint64_t t, void *ud)
{
    rec_t *r = ud;
    r->drained++;
    r->drained_t = t;
}

static inline void rec_on_close(ms_phy_t *p, int err, void *ud)
{
    rec_t *r = ud;
    r->closed++;
    r->close_err = err;
}

static const ms_phy_cb_t rec_cb = {
    .on_data = rec_on_data,
    .on_peer_line = rec_on_peer_line,
    .on_drained = rec_on_drained,
    .on_close = rec_on_close,
};

#endif
