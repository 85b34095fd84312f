/*
** phy.c — the generic layer of the phy backends: dispatch through the ops table,
** callbacks, close semantics, line helpers and the termios speed table.
** SPDX-License-Identifier: MIT
*/
#include "phy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ms_err.h"
#include "phy_internal.h"

/* ---- line helpers ------------------------------------------------------------- */

static unsigned line_bits(const ms_line_t *l)
{
    /* start bit + data bits + parity bit + stop bits */
    return 1u + l->data_bits + (l->parity == 'N' ? 0u : 1u) + l->stop_bits;
}

uint64_t ms_line_char_ns(const ms_line_t *l)
{
    if (l->baud == 0)
        return 0;
    /* Rounded to the nearest ns: 9600 Bd 7E1 = 1041667 ns. */
    return ((uint64_t)line_bits(l) * 1000000000u + l->baud / 2) / l->baud;
}

const char *ms_line_str(const ms_line_t *l, char *buf, size_t cap)
{
    if (cap > 0)
        snprintf(buf, cap, "%u %u%c%u", l->baud, (unsigned)l->data_bits,
                 l->parity ? l->parity : '?', (unsigned)l->stop_bits);
    return buf;
}

int ms__line_check(const ms_line_t *l)
{
    if (l->baud == 0 || (l->data_bits != 7 && l->data_bits != 8) ||
        (l->parity != 'N' && l->parity != 'E' && l->parity != 'O') ||
        (l->stop_bits != 1 && l->stop_bits != 2))
        return MS_EINVAL;
    return 0;
}

/* Every rate <termios.h> has a constant for (Linux, glibc). */
static const struct {
    unsigned baud;
    speed_t speed;
} speeds[] = {
    { 50, B50 },           { 75, B75 },           { 110, B110 },
    { 134, B134 },         { 150, B150 },         { 200, B200 },
    { 300, B300 },         { 600, B600 },         { 1200, B1200 },
    { 1800, B1800 },       { 2400, B2400 },       { 4800, B4800 },
    { 9600, B9600 },       { 19200, B19200 },     { 38400, B38400 },
    { 57600, B57600 },     { 115200, B115200 },   { 230400, B230400 },
    { 460800, B460800 },   { 500000, B500000 },   { 576000, B576000 },
    { 921600, B921600 },   { 1000000, B1000000 }, { 1152000, B1152000 },
    { 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
    { 3000000, B3000000 }, { 3500000, B3500000 }, { 4000000, B4000000 },
};

int ms__baud_to_speed(unsigned baud, speed_t *out)
{
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++) {
        if (speeds[i].baud == baud) {
            *out = speeds[i].speed;
            return 0;
        }
    }
    return MS_EINVAL;
}

unsigned ms__speed_to_baud(speed_t s)
{
    for (size_t i = 0; i < sizeof speeds / sizeof speeds[0]; i++) {
        if (speeds[i].speed == s)
            return speeds[i].baud;
    }
    return 0;
}

void ms__line_from_termios(const struct termios *t, ms_line_t *out)
{
    out->baud = ms__speed_to_baud(cfgetospeed(t));
    switch (t->c_cflag & CSIZE) {
    case CS5:
        out->data_bits = 5;
        break;
    case CS6:
        out->data_bits = 6;
        break;
    case CS7:
        out->data_bits = 7;
        break;
    default:
        out->data_bits = 8;
        break;
    }
    out->parity = !(t->c_cflag & PARENB) ? 'N' : (t->c_cflag & PARODD) ? 'O' : 'E';
    out->stop_bits = (t->c_cflag & CSTOPB) ? 2 : 1;
}

/* ---- stream life cycle ---------------------------------------------------------- */

void ms__phy_init(ms_phy_t *p, const ms_phy_ops_t *ops, const ms__phy_hooks_t *hooks,
                  uv_loop_t *loop, const ms_phy_cb_t *cb, void *ud)
{
    p->ops = ops;
    p->hooks = hooks;
    p->loop = loop;
    if (cb)
        p->cb = *cb;
    else
        memset(&p->cb, 0, sizeof p->cb);
    p->ud = ud;
    p->closing = false;
    p->ended = false;
    p->handles = 0;
    p->pacer.tfd = -1;
}

void ms__phy_handle_added(ms_phy_t *p, uv_handle_t *h)
{
    h->data = p;
    p->handles++;
}

static void on_handle_closed(uv_handle_t *h)
{
    ms_phy_t *p = h->data;
    if (--p->handles == 0)
        p->hooks->destroy(p);
}

void ms__phy_handle_close(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

void ms__phy_teardown(ms_phy_t *p)
{
    if (p->closing)
        return;
    p->closing = true;
    if (p->ops->close)
        p->ops->close(p);
    ms__pace_close(p);
    /* Every stream has at least the pacer's idle handle, so destroy always runs from a
     * close callback, never inside a callback of the stream itself. */
}

/* ---- callbacks ---------------------------------------------------------------- */

void ms__phy_emit_data(ms_phy_t *p, uint8_t *buf, size_t len, uint64_t t_ns)
{
    if (p->closing || p->ended || p->cb.on_data == NULL || len == 0)
        return;
    if (p->line.data_bits == 7) {
        /* 7-bit line on an 8-bit device: bit 7 is the parity bit (or noise). */
        for (size_t i = 0; i < len; i++)
            buf[i] &= 0x7F;
    }
    p->cb.on_data(p, buf, len, t_ns, p->ud);
}

void ms__phy_emit_peer_line(ms_phy_t *p, const ms_line_t *line)
{
    if (!p->closing && !p->ended && p->cb.on_peer_line)
        p->cb.on_peer_line(p, line, p->ud);
}

void ms__phy_emit_drained(ms_phy_t *p, uint64_t t_ns)
{
    if (!p->closing && !p->ended && p->cb.on_drained)
        p->cb.on_drained(p, t_ns, p->ud);
}

void ms__phy_emit_close(ms_phy_t *p, int err)
{
    if (p->ended)
        return;
    p->ended = true;
    if (!p->closing && p->cb.on_close)
        p->cb.on_close(p, err, p->ud);
}

/* ---- output queue -------------------------------------------------------------- */

int ms__phy_queue_write(ms_phy_t *p, const uint8_t *buf, size_t len,
                        uint64_t not_before_ns)
{
    ms__pace_xform_t xf = MS__XF_NONE;
    if (p->line.data_bits == 7) {
        if (!p->parity_out)
            xf = MS__XF_CLEAR7;
        else if (p->line.parity == 'O')
            xf = MS__XF_ODD7;
        else if (p->line.parity == 'E')
            xf = MS__XF_EVEN7;
        else
            xf = MS__XF_CLEAR7;
    }
    return ms__pace_queue(p, buf, len, not_before_ns, xf);
}

int ms__phy_fd_write(int fd, const uint8_t *buf, size_t len)
{
    ssize_t n;
    do {
        n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? MS_EAGAIN : ms_err_from_errno(errno);
    return (int)n;
}

void ms__phy_queue_flush(ms_phy_t *p)
{
    ms__pace_flush(p);
}

/* ---- public API ---------------------------------------------------------------- */

int ms_phy_write(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t not_before_ns)
{
    if (p->closing || p->ended)
        return MS_ECLOSED;
    if (len == 0)
        return 0;
    return p->ops->write(p, buf, len, not_before_ns);
}

int ms_phy_set_line(ms_phy_t *p, const ms_line_t *line)
{
    if (p->ops->set_line == NULL)
        return MS_ENOTSUP;
    if (p->closing || p->ended)
        return MS_ECLOSED;
    int r = ms__line_check(line);
    if (r < 0)
        return r;
    r = p->ops->set_line(p, line);
    if (r < 0)
        return r;
    p->line = *line;
    return 0;
}

const ms_line_t *ms_phy_line(const ms_phy_t *p)
{
    return &p->line;
}

void ms_phy_flush(ms_phy_t *p)
{
    if (p->closing)
        return;
    if (p->ops->flush)
        p->ops->flush(p);
}

size_t ms_phy_pending(const ms_phy_t *p)
{
    size_t n = ms__pace_pending(p);
    if (p->hooks->extra_pending)
        n += p->hooks->extra_pending(p);
    return n;
}

void ms_phy_set_callbacks(ms_phy_t *p, const ms_phy_cb_t *cb, void *ud)
{
    if (cb)
        p->cb = *cb;
    else
        memset(&p->cb, 0, sizeof p->cb);
    p->ud = ud;
    if (!p->closing && p->hooks->callbacks_set)
        p->hooks->callbacks_set(p);
}

const char *ms_phy_name(const ms_phy_t *p)
{
    return p->ops->name;
}

void ms_phy_close(ms_phy_t *p)
{
    if (p == NULL)
        return;
    ms__phy_teardown(p);
}
