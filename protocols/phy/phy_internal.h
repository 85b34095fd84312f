/*
** phy_internal.h — what the phy backends share: the stream struct, handle accounting
** for the deferred free, callback dispatch, the output queue entry points, fd writes
** and the termios speed table.
** SPDX-License-Identifier: MIT
**
** Library-internal (ms__ prefix); nothing outside protocols/phy includes it. A backend
** embeds ms_phy_t as the first member of its own struct and casts.
*/
#ifndef MS_PHY_INTERNAL_H
#define MS_PHY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <termios.h>
#include <uv.h>

#include "phy.h"
#include "phy_pace.h"

/** Hooks of a backend that the ops table of phy.h has no place for. Any may be NULL. */
typedef struct ms__phy_hooks {
    /** Free the backend struct (close fds, free memory); runs once every libuv handle
     *  of the stream has been closed. Required. */
    void (*destroy)(ms_phy_t *p);
    /** ms_phy_set_callbacks() was called (tcp: start reading an accepted connection). */
    void (*callbacks_set)(ms_phy_t *p);
    /** Bytes handed on but not yet written to the OS (tcp: libuv's write queue). */
    size_t (*extra_pending)(const ms_phy_t *p);
} ms__phy_hooks_t;

struct ms_phy {
    const ms_phy_ops_t *ops;
    const ms__phy_hooks_t *hooks;
    uv_loop_t *loop;
    ms_phy_cb_t cb;
    void *ud;
    ms_line_t line;    /* line of bytes queued from now on */
    bool parity_out;   /* on a 7-bit line: even/odd parity in bit 7 instead of 0 */
    bool closing;      /* ms_phy_close() was called: no more callbacks */
    bool ended;        /* on_close was reported: no more reads or writes */
    unsigned handles;  /* libuv handles initialised and not yet closed */
    ms__pacer_t pacer; /* output queue */
};

/** Fill in the common part. cb may be NULL (no callbacks). */
void ms__phy_init(ms_phy_t *p, const ms_phy_ops_t *ops, const ms__phy_hooks_t *hooks,
                  uv_loop_t *loop, const ms_phy_cb_t *cb, void *ud);

/** Count a handle that uv_*_init() has just initialised; sets h->data = p. */
void ms__phy_handle_added(ms_phy_t *p, uv_handle_t *h);

/** uv_close() a counted handle (no-op if it is closing already). When the last one has
 *  closed, hooks->destroy runs. */
void ms__phy_handle_close(uv_handle_t *h);

/** Tear down a stream without callbacks: ms_phy_close() for a stream that the owner
 *  never got (failed open) or that the backend gives up itself (failed connect). */
void ms__phy_teardown(ms_phy_t *p);

/* Dispatch to the owner; each is a no-op once the stream is closing or has ended
 * (on_close was the last callback). The caller must
 * check p->closing after each one before touching the stream further (the owner may
 * have closed it inside the callback; the memory stays valid until the loop runs the
 * close callbacks). */
void ms__phy_emit_data(ms_phy_t *p, uint8_t *buf, size_t len, uint64_t t_ns);
void ms__phy_emit_peer_line(ms_phy_t *p, const ms_line_t *line);
void ms__phy_emit_drained(ms_phy_t *p, uint64_t t_ns);
/** Report the end of the stream once (sets p->ended); later calls are ignored. */
void ms__phy_emit_close(ms_phy_t *p, int err);

/** ops->write of every backend: 7-bit conversion, then the pacer queue. */
int ms__phy_queue_write(ms_phy_t *p, const uint8_t *buf, size_t len,
                        uint64_t not_before_ns);

/** write() to a non-blocking fd, repeated after EINTR (the pace_ops write of the fd
 *  backends). @return the bytes written (0..len), MS_EAGAIN, or another ms_err. */
int ms__phy_fd_write(int fd, const uint8_t *buf, size_t len);

/** ops->flush of every backend: drop queued output. */
void ms__phy_queue_flush(ms_phy_t *p);

/** 0 when the line is well formed (baud > 0, 7/8 data bits, N/E/O, 1/2 stop bits). */
int ms__line_check(const ms_line_t *l);

/** termios speed constant of a baud rate. @return 0, or MS_EINVAL for a rate termios
 *  has no constant for. */
int ms__baud_to_speed(unsigned baud, speed_t *out);

/** Baud rate of a termios speed constant (0 for B0 or an unknown constant). */
unsigned ms__speed_to_baud(speed_t s);

/** The line a termios struct describes (rate from cfgetospeed, CSIZE, PARENB/PARODD,
 *  CSTOPB). */
void ms__line_from_termios(const struct termios *t, ms_line_t *out);

#endif
