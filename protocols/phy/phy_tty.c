/*
** phy_tty.c — tty backend: a terminal device opened raw through termios — a reader on
** a pty slave, or a meter (or reader) on a real serial port.
** SPDX-License-Identifier: MIT
**
** termios facts this relies on:
** - cfmakeraw() gives non-canonical input without echo, signals or CR/NL mapping;
**   VMIN = 1, VTIME = 0 with O_NONBLOCK: read() returns what is there or EAGAIN.
** - A Linux pty cannot do 7 data bits with parity: pty_set_termios() forces CS8 and
**   clears PARENB. Depending on the C library tcsetattr() then fails with EINVAL or
**   succeeds with CS8 (glibc 2.36 on these machines: succeeds), so the result is read
**   back. Without 7E1 in the device, 7-bit characters are handled in software.
** - POSIX tcsetattr() succeeds if any of the changes could be made: read back, always.
** - TIOCOUTQ: bytes the driver still holds for sending (0 on a pty slave).
*/
#include "phy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ms_err.h"
#include "phy_internal.h"

#define READS_PER_EVENT 64

typedef struct phy_tty {
    ms_phy_t base;
    int fd;
    uv_poll_t poll;
    bool poll_ok;
    bool want_w;
} phy_tty_t;

static phy_tty_t *to_tty(const ms_phy_t *p)
{
    return (phy_tty_t *)p;
}

/* Set the device to line l, raw. @return 0 or a negative ms_err. */
static int tty_apply(int fd, const ms_line_t *l)
{
    speed_t sp;
    if (ms__baud_to_speed(l->baud, &sp) < 0)
        return MS_EINVAL;
    struct termios tio;
    if (tcgetattr(fd, &tio) < 0)
        return errno == ENOTTY ? MS_EINVAL : ms_err_from_errno(errno);
    cfmakeraw(&tio);
    tio.c_iflag &= ~(tcflag_t)(INPCK | IXOFF | IXANY);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    tio.c_cflag |= CLOCAL | CREAD;
    if (l->stop_bits == 2)
        tio.c_cflag |= CSTOPB;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, sp) < 0 || cfsetospeed(&tio, sp) < 0)
        return MS_EINVAL;
    tcflag_t parity = l->parity == 'N'   ? 0
                      : l->parity == 'O' ? (PARENB | PARODD)
                                         : PARENB;

    struct termios got;
    if (l->data_bits == 7) {
        struct termios want = tio;
        want.c_cflag |= CS7 | parity;
        int r = tcsetattr(fd, TCSANOW, &want);
        if (r < 0 && errno != EINVAL)
            return ms_err_from_errno(errno);
        if (tcgetattr(fd, &got) < 0)
            return ms_err_from_errno(errno);
        if ((got.c_cflag & CSIZE) == CS7 && (got.c_cflag & (PARENB | PARODD)) == parity)
            return 0; /* the device does 7-bit characters itself */
        /* Not 7 bits: go on with 8N1 and 7-bit characters in software (the generic
         * layer strips bit 7 on input and sets it on output). The kernel may already
         * have applied everything else (a pty: CS8 forced, rest taken). */
        if ((got.c_cflag & CSIZE) == CS8 && !(got.c_cflag & PARENB) &&
            cfgetospeed(&got) == sp && (got.c_lflag & ICANON) == 0)
            return 0;
        tio.c_cflag |= CS8;
    } else {
        tio.c_cflag |= CS8 | parity;
    }
    if (tcsetattr(fd, TCSANOW, &tio) < 0)
        return ms_err_from_errno(errno);
    if (tcgetattr(fd, &got) < 0)
        return ms_err_from_errno(errno);
    if (cfgetospeed(&got) != sp)
        return MS_EINVAL; /* the driver refused the rate */
    return 0;
}

/* ---- input ------------------------------------------------------------------------ */

/* The line ended: read() returned n (errno if < 0). Hang-up (0: the pty master closed,
 * or carrier lost without CLOCAL) is an orderly end; anything else an I/O error. */
static void tty_ended(ms_phy_t *p, uv_poll_t *h, ssize_t n)
{
    int err = n == 0 ? 0 : ms_err_from_errno(errno);
    uv_poll_stop(h);
    ms__phy_emit_close(p, err);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    ms_phy_t *p = h->data;
    phy_tty_t *t = to_tty(p);
    if (status < 0) {
        /* libuv reports POLLERR as UV_EBADF and stops the handle; a hung-up tty polls
         * with POLLERR|POLLHUP. read() tells what happened: data still buffered, then
         * 0 at a hang-up, or the real error. */
        for (int i = 0; i < READS_PER_EVENT; i++) {
            uint8_t buf[4096];
            ssize_t n = read(t->fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0) {
                ms__phy_emit_data(p, buf, (size_t)n, uv_hrtime());
                if (p->closing || p->ended)
                    return;
                continue;
            }
            if (n < 0 && errno == EAGAIN)
                errno = -status;
            tty_ended(p, h, n);
            return;
        }
        errno = -status;
        tty_ended(p, h, -1);
        return;
    }
    if (events & UV_WRITABLE) {
        ms__pace_resume(p);
        if (p->closing || p->ended)
            return;
    }
    if (!(events & UV_READABLE))
        return;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        uint8_t buf[4096];
        ssize_t n = read(t->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            tty_ended(p, h, n);
            return;
        }
        ms__phy_emit_data(p, buf, (size_t)n, uv_hrtime());
        if (p->closing || p->ended)
            return;
    }
}

/* ---- output ------------------------------------------------------------------------ */

static int tty_write(ms_phy_t *p, const uint8_t *buf, size_t len)
{
    return ms__phy_fd_write(to_tty(p)->fd, buf, len);
}

static void tty_want_writable(ms_phy_t *p, bool on)
{
    phy_tty_t *t = to_tty(p);
    if (t->want_w == on)
        return;
    t->want_w = on;
    uv_poll_start(&t->poll, UV_READABLE | (on ? UV_WRITABLE : 0), on_poll);
}

static bool device_holds_output(int fd)
{
    int outq = 0;
    return ioctl(fd, TIOCOUTQ, &outq) == 0 && outq > 0;
}

/* A queued line change reached the head: the bytes before it were written (on a
 * device-timed line, their estimated wire end has passed). Wait for the driver's queue
 * too, then switch. tcdrain() would block the loop; polling every millisecond does not.
 */
static int tty_apply_line(ms_phy_t *p, const ms_line_t *line, uint64_t *retry_ns)
{
    phy_tty_t *t = to_tty(p);
    if (device_holds_output(t->fd)) {
        *retry_ns = 1000000u;
        return 1;
    }
    return tty_apply(t->fd, line);
}

static const ms__pace_ops_t tty_pace_ops = {
    .write = tty_write,
    .want_writable = tty_want_writable,
    .apply_line = tty_apply_line,
};

/* ---- ops ------------------------------------------------------------------------- */

static int tty_set_line(ms_phy_t *p, const ms_line_t *line)
{
    phy_tty_t *t = to_tty(p);
    speed_t sp;
    if (ms__baud_to_speed(line->baud, &sp) < 0)
        return MS_EINVAL;
    /* Nothing ahead on the line: switch now, and report the device's answer. */
    if (ms__pace_idle(p) && ms__pace_last_end(p) <= uv_hrtime() &&
        !device_holds_output(t->fd))
        return tty_apply(t->fd, line);
    /* Bytes ahead (a reader's option select) go out at the old rate first. */
    return ms__pace_line(p, line);
}

static void tty_close(ms_phy_t *p)
{
    phy_tty_t *t = to_tty(p);
    if (t->poll_ok)
        ms__phy_handle_close((uv_handle_t *)&t->poll);
}

static void tty_destroy(ms_phy_t *p)
{
    phy_tty_t *t = to_tty(p);
    ms__pace_free(p);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static const ms_phy_ops_t tty_ops = {
    .name = "tty",
    .write = ms__phy_queue_write,
    .set_line = tty_set_line,
    .flush = ms__phy_queue_flush,
    .close = tty_close,
};

static const ms__phy_hooks_t tty_hooks = {
    .destroy = tty_destroy,
};

int ms_phy_tty_open(uv_loop_t *loop, const ms_phy_tty_opts_t *o, const ms_phy_cb_t *cb,
                    void *ud, ms_phy_t **out)
{
    *out = NULL;
    ms_line_t line = o->line.baud ? o->line : MS_LINE_7E1(300);
    if (o->path == NULL || ms__line_check(&line) < 0)
        return MS_EINVAL;

    int fd = open(o->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    if (!isatty(fd)) {
        close(fd);
        return MS_EINVAL;
    }
    int r = tty_apply(fd, &line);
    if (r < 0) {
        close(fd);
        return r;
    }
    phy_tty_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        close(fd);
        return MS_ENOMEM;
    }
    t->fd = fd;
    ms_phy_t *p = &t->base;
    ms__phy_init(p, &tty_ops, &tty_hooks, loop, cb, ud);
    p->line = line;
    p->parity_out = o->parity_out;
    r = ms__pace_init(p, o->pace ? MS__PACE_SOFT : MS__PACE_DEVICE, &tty_pace_ops);
    if (r == 0) {
        r = uv_poll_init(loop, &t->poll, fd);
        if (r == 0) {
            ms__phy_handle_added(p, (uv_handle_t *)&t->poll);
            t->poll_ok = true;
            r = uv_poll_start(&t->poll, UV_READABLE, on_poll);
        }
        if (r < 0)
            r = ms_err_from_errno(-r);
    }
    if (r < 0) {
        if (p->handles == 0)
            tty_destroy(p);
        else
            ms__phy_teardown(p);
        return r;
    }
    *out = p;
    return 0;
}
