/*
** phy.h — byte-stream backends on a libuv loop: pty (meter side, owns the master), tty
** (termios device: a reader on a pty slave, or a real serial port), tcp (listener and
** client). One ops table per backend, after libmodbus's modbus_backend_t; framing
** stays in the protocol codecs.
** SPDX-License-Identifier: MIT
**
** Platform facts (../shared/DESIGN.md "Platform facts"): a Linux pty forces 8 data bits
** without parity and has no line timing, so backends pace their own output by the
** current rate and handle 7E1 in software; the pty master sees the reader's termios
** changes through packet mode (TIOCPKT) with EXTPROC set.
**
** Times are nanoseconds of uv_hrtime() (CLOCK_MONOTONIC).
*/
#ifndef MS_PHY_H
#define MS_PHY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/** Serial line settings. */
typedef struct ms_line {
    unsigned baud;     /* bits per second, e.g. 300 */
    uint8_t data_bits; /* 7 or 8 */
    char parity;       /* 'N', 'E' or 'O' */
    uint8_t stop_bits; /* 1 or 2 */
} ms_line_t;

/** IEC 62056-21 modes A-D: 7 data bits, even parity, 1 stop bit (clause 6.1). */
#define MS_LINE_7E1(b) ((ms_line_t){ (b), 7, 'E', 1 })
/** DLMS HDLC (mode E) and C12.18: 8 data bits, no parity, 1 stop bit. */
#define MS_LINE_8N1(b) ((ms_line_t){ (b), 8, 'N', 1 })

/** Time one character takes on the wire: (start + data + parity + stop bits) / baud,
 *  in ns (7E1 and 8N1: 10 bits). 0 when baud is 0. */
uint64_t ms_line_char_ns(const ms_line_t *l);

/** Format "300 7E1" into buf (cap >= 16). Returns buf. */
const char *ms_line_str(const ms_line_t *l, char *buf, size_t cap);

typedef struct ms_phy ms_phy_t;

/** Events of one byte stream; any callback may be NULL. Called on the loop thread. */
typedef struct ms_phy_cb {
    /** Bytes received at t_ns. On a 7-bit line bit 7 (parity) is already removed. */
    void (*on_data)(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t t_ns, void *ud);
    /** pty only: the peer changed its termios (rate, character size); `line` is what it
     *  set (a pty reports CS8/no parity whatever the peer asked for). Reported after
     *  the data that the peer wrote before the change (and any it wrote right after,
     *  before the meter side read: the kernel cannot tell them apart). */
    void (*on_peer_line)(ms_phy_t *p, const ms_line_t *line, void *ud);
    /** The output queue became empty; t_ns is when the last byte reached the peer (its
     *  stop bit ended, for a paced line). */
    void (*on_drained)(ms_phy_t *p, uint64_t t_ns, void *ud);
    /** The stream ended: err is 0 for an orderly close by the peer (tcp EOF) or a
     *  negative ms_err. The owner then calls ms_phy_close(). */
    void (*on_close)(ms_phy_t *p, int err, void *ud);
} ms_phy_cb_t;

/** Backend operations. Optional entries are NULL. */
typedef struct ms_phy_ops {
    const char *name; /* "pty", "tty", "tcp" */
    int (*write)(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t not_before_ns);
    int (*set_line)(ms_phy_t *p, const ms_line_t *line); /* NULL on tcp */
    void (*flush)(ms_phy_t *p);                          /* drop queued output */
    void (*close)(ms_phy_t *p);
} ms_phy_ops_t;

/**
 * Queue bytes for output. Bytes go out in order; on a paced line byte k of this call
 * reaches the peer at start + (k + 1) * character time, where start is the latest of
 * not_before_ns, the end of the bytes queued before, and the time of the call (an idle
 * line starts now, not in the past). The bytes are copied. Callbacks never run inside
 * this call (output due now is written on the next loop iteration).
 * On a 7-bit line bit 7 is cleared, or set to even parity when the backend was opened
 * with parity_out.
 * @param[in] not_before_ns  earliest start (uv_hrtime() scale), 0 = as soon as possible
 * @return 0, MS_ENOMEM, MS_ECLOSED (stream closed), MS_EIO
 */
int ms_phy_write(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t not_before_ns);

/**
 * Change the line settings. Bytes queued before keep the rate they were queued with;
 * bytes queued after use the new one. On a tty the device's termios changes once the
 * queue ahead has drained (so a reader's option select goes out at the old rate).
 * @return 0, MS_ENOTSUP (tcp), MS_EINVAL (rate not supported), MS_EIO
 */
int ms_phy_set_line(ms_phy_t *p, const ms_line_t *line);

/** Current line settings (of bytes queued from now on). */
const ms_line_t *ms_phy_line(const ms_phy_t *p);

/** Drop output that is queued and not yet written (a session reset). */
void ms_phy_flush(ms_phy_t *p);

/** Bytes queued and not yet written. */
size_t ms_phy_pending(const ms_phy_t *p);

/** Replace the callbacks (e.g. for a connection just accepted). */
void ms_phy_set_callbacks(ms_phy_t *p, const ms_phy_cb_t *cb, void *ud);

/** Backend name ("pty", "tty", "tcp"). */
const char *ms_phy_name(const ms_phy_t *p);

/** Close the stream and free it once libuv has released its handles. No callback runs
 *  after this call. Safe to call from inside a callback of this stream. */
void ms_phy_close(ms_phy_t *p);

/** Options of the pty backend. */
typedef struct ms_phy_pty_opts {
    const char *link; /* symlink to create at this path, pointing at the slave (NULL:
                         none). An existing symlink is replaced; any other file there
                         is an error (MS_EEXIST). Removed again on close. */
    ms_line_t line;   /* initial line (zero: 300 7E1) */
    bool no_pace;     /* write at once instead of pacing by the character time */
    bool parity_out;  /* on a 7-bit line, send even parity in bit 7 */
} ms_phy_pty_opts_t;

/**
 * Open a pseudo-terminal pair and hold both ends: the master for I/O in packet mode
 * (TIOCPKT) with EXTPROC, the slave open so that readers may come and go. The slave is
 * raw (cfmakeraw) at the initial rate. Output nobody reads within 1 s of reaching the
 * wire is discarded, as a real line keeps no bytes.
 * @param[out] out  the stream
 * @return 0, MS_EEXIST (link path is not a symlink), MS_EACCES, MS_ENOENT (the link's
 *         folder does not exist), MS_EINVAL (bad line), MS_ENOMEM, MS_ESYS
 */
int ms_phy_pty_open(uv_loop_t *loop, const ms_phy_pty_opts_t *o, const ms_phy_cb_t *cb,
                    void *ud, ms_phy_t **out);

/** Path of the pty slave, e.g. "/dev/pts/3" (valid while the stream is open). */
const char *ms_phy_pty_slave(const ms_phy_t *p);

/** Options of the tty backend. */
typedef struct ms_phy_tty_opts {
    const char *path; /* device, e.g. "/dev/ttyUSB0" or a pty slave */
    ms_line_t line;   /* initial line (zero: 300 7E1) */
    bool pace;        /* pace output in software (for pty slaves: a UART paces itself) */
    bool parity_out;  /* software parity when the device cannot do 7E1 (a pty) */
} ms_phy_tty_opts_t;

/**
 * Open a terminal device raw (termios) at the given line settings. Where the device
 * refuses 7 data bits with parity (a pty forces CS8: tcsetattr fails with EINVAL, or
 * succeeds with CS8 — glibc 2.36 here; the backend reads the settings back), the backend
 * keeps 8N1 and handles 7-bit characters in software (strips bit 7 on input; parity_out
 * on output).
 * @return 0, MS_ENOENT, MS_EACCES, MS_EBUSY, MS_EINVAL (not a terminal, or a rate
 *         termios has no constant for), MS_ENOMEM, MS_ESYS
 */
int ms_phy_tty_open(uv_loop_t *loop, const ms_phy_tty_opts_t *o, const ms_phy_cb_t *cb,
                    void *ud, ms_phy_t **out);

typedef struct ms_phy_listener ms_phy_listener_t;

/** A connection was accepted: the owner sets its callbacks with ms_phy_set_callbacks()
 *  (until then its input is held back). */
typedef void (*ms_phy_accept_cb)(ms_phy_listener_t *l, ms_phy_t *conn, void *ud);

/**
 * Listen on TCP host:port (IPv4 dotted quad or IPv6 literal; port 0 = any free port).
 * Connections are unpaced byte streams (TCP_NODELAY).
 * @return 0, MS_EADDRINUSE, MS_EINVAL (bad host), MS_EACCES, MS_ESYS
 */
int ms_phy_tcp_listen(uv_loop_t *loop, const char *host, unsigned port,
                      ms_phy_accept_cb on_accept, void *ud, ms_phy_listener_t **out);

/** Port the listener is bound to (useful after port 0). */
unsigned ms_phy_listener_port(const ms_phy_listener_t *l);

/** Stop listening and free the listener; connections stay open. */
void ms_phy_listener_close(ms_phy_listener_t *l);

/** Local address of an accepted or connected tcp stream ("127.0.0.5"), for a fleet
 *  that tells meters apart by the address a connection reached.
 *  @return 0, MS_ENOTSUP (not tcp), MS_ENOSPC */
int ms_phy_tcp_local_addr(const ms_phy_t *p, char *host, size_t cap, unsigned *port);

/** Connection result of ms_phy_tcp_connect: status 0 or a negative ms_err (MS_ECLOSED
 *  when the peer refused the connection). */
typedef void (*ms_phy_connect_cb)(ms_phy_t *p, int status, void *ud);

/**
 * Connect to host:port (reader side). on_connect runs once; on failure the stream is
 * closed and freed by the backend after the callback.
 * @return 0 (connecting), MS_EINVAL, MS_ENOMEM
 */
int ms_phy_tcp_connect(uv_loop_t *loop, const char *host, unsigned port,
                       const ms_phy_cb_t *cb, void *ud, ms_phy_connect_cb on_connect,
                       ms_phy_t **out);

#endif
