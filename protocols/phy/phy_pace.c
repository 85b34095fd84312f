/*
** phy_pace.c — the output queue of a phy stream, paced by the character time.
** SPDX-License-Identifier: MIT
*/
#include "phy_pace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ms_check.h"
#include "ms_err.h"
#include "phy_internal.h"

/* Bytes gathered into one write when several chunks are due at once. */
#define PACE_GATHER_MAX 4096u

struct ms__pace_chunk {
    ms__pace_chunk_t *next;
    uint64_t start_ns; /* wire start; byte k ends at start + (k + 1) * char_ns. For a
                          line change: not before this time (a retry) */
    uint64_t char_ns;  /* character time of the line it was queued with; 0 = instant */
    size_t len;        /* data bytes */
    size_t off;        /* bytes written so far */
    bool is_line;      /* a line change, no data */
    ms_line_t line;
    uint8_t data[];
};

static void pace_run(ms_phy_t *p);

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Bytes of c (counted from c->off) whose time has come at now. */
static size_t chunk_due(const ms__pacer_t *q, const ms__pace_chunk_t *c, uint64_t now)
{
    if (now < c->start_ns)
        return 0;
    if (q->mode != MS__PACE_SOFT || c->char_ns == 0)
        return c->len - c->off;
    uint64_t ended = (now - c->start_ns) / c->char_ns; /* bytes whose stop bit ended */
    if (ended > c->len)
        ended = c->len;
    return ended > c->off ? (size_t)(ended - c->off) : 0;
}

/* When the next byte of the data chunk c falls due. */
static uint64_t chunk_next_ns(const ms__pacer_t *q, const ms__pace_chunk_t *c)
{
    if (q->mode != MS__PACE_SOFT || c->char_ns == 0)
        return c->start_ns;
    return c->start_ns + (uint64_t)(c->off + 1) * c->char_ns;
}

static void on_timer(uv_poll_t *h, int status, int events)
{
    ms_phy_t *p = h->data;
    ms__pacer_t *q = &p->pacer;
    uint64_t expirations;
    /* Reading clears the expiration count, or the level-triggered poll fires again. */
    while (read(q->tfd, &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
    q->armed_ns = 0;
    pace_run(p);
}

static void on_kick(uv_idle_t *h)
{
    ms_phy_t *p = h->data;
    uv_idle_stop(h);
    pace_run(p);
}

static int timer_create_once(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    if (q->tfd >= 0)
        return 0;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return ms_err_from_errno(errno);
    int r = uv_poll_init(p->loop, &q->tpoll, fd);
    if (r < 0) {
        close(fd);
        return ms_err_from_errno(-r);
    }
    q->tfd = fd;
    ms__phy_handle_added(p, (uv_handle_t *)&q->tpoll);
    return 0;
}

static void timer_disarm(ms__pacer_t *q)
{
    if (q->tpoll_active) {
        uv_poll_stop(&q->tpoll);
        q->tpoll_active = false;
    }
    q->armed_ns = 0;
}

/* Arm the timerfd for the absolute CLOCK_MONOTONIC time t_ns (uv_hrtime() reads the
 * same clock). @return 0 or a negative ms_err. */
static int timer_arm(ms__pacer_t *q, uint64_t t_ns)
{
    if (q->tfd < 0)
        return MS_EIO;
    if (q->armed_ns != t_ns) {
        struct itimerspec its = { 0 };
        its.it_value.tv_sec = (time_t)(t_ns / 1000000000u);
        its.it_value.tv_nsec = (long)(t_ns % 1000000000u);
        if (timerfd_settime(q->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
            return ms_err_from_errno(errno);
        q->armed_ns = t_ns;
    }
    if (!q->tpoll_active) {
        int r = uv_poll_start(&q->tpoll, UV_READABLE, on_timer);
        if (r < 0)
            return ms_err_from_errno(-r);
        q->tpoll_active = true;
    }
    return 0;
}

/* Arrange for pace_run() at the time the next thing falls due. Runs no callbacks. */
static void pace_schedule(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    if (p->closing || p->ended)
        return;
    uint64_t t;
    const ms__pace_chunk_t *c = q->head;
    if (q->blocked) {
        timer_disarm(q);
        return;
    }
    if (c == NULL) {
        /* A device-timed line reports drained once its last byte has left. */
        if (!q->dirty || (q->ops->busy && q->ops->busy(p))) {
            timer_disarm(q);
            return;
        }
        t = q->last_end_ns;
    } else if (c->is_line) {
        t = max_u64(c->start_ns, q->last_end_ns);
    } else {
        t = chunk_next_ns(q, c);
    }
    if (t <= uv_hrtime() || timer_arm(q, t) < 0) {
        /* Due now — or no timer (the timerfd was refused): retrying on every loop
         * iteration is late and busy, never lost. */
        timer_disarm(q);
        uv_idle_start(&q->kick, on_kick);
    }
}

static void chunk_pop(ms__pacer_t *q)
{
    ms__pace_chunk_t *c = q->head;
    q->head = c->next;
    if (q->head == NULL)
        q->tail = NULL;
    free(c);
}

/* Account for w bytes written at now, from the head on. */
static void pace_advance(ms__pacer_t *q, size_t w, uint64_t now)
{
    if (w > 0)
        q->dirty = true;
    while (w > 0) {
        ms__pace_chunk_t *c = q->head;
        size_t take = c->len - c->off;
        if (take > w)
            take = w;
        c->off += take;
        w -= take;
        q->pending -= take;
        switch (q->mode) {
        case MS__PACE_SOFT:
            /* Written at (or just after) its wire end: the nominal end is the one the
             * caller's timing is based on. */
            q->last_end_ns = c->start_ns + (uint64_t)c->off * c->char_ns;
            break;
        case MS__PACE_DEVICE:
            /* The UART sends after what it still holds: an estimate. */
            q->last_end_ns = max_u64(now, q->last_end_ns) + (uint64_t)take * c->char_ns;
            break;
        case MS__PACE_INSTANT:
            q->last_end_ns = now;
            break;
        }
        if (c->off == c->len)
            chunk_pop(q);
    }
}

/* Handle a line change at the head. @return true to go on with the queue. */
static bool pace_line_head(ms_phy_t *p, uint64_t now)
{
    ms__pacer_t *q = &p->pacer;
    ms__pace_chunk_t *c = q->head;
    if (now < max_u64(c->start_ns, q->last_end_ns))
        return false;
    uint64_t retry_ns = 1000000u;
    int r = q->ops->apply_line ? q->ops->apply_line(p, &c->line, &retry_ns) : 0;
    if (r == 1) {
        c->start_ns = now + retry_ns;
        return false;
    }
    chunk_pop(q);
    if (r < 0) {
        ms__phy_emit_close(p, r);
        return false;
    }
    return true;
}

static void pace_run(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    uint8_t buf[PACE_GATHER_MAX];

    for (;;) {
        if (p->closing || p->ended || q->blocked)
            return;
        uint64_t now = uv_hrtime();
        if (q->head != NULL && q->head->is_line) {
            if (!pace_line_head(p, now))
                break;
            continue;
        }
        /* Gather every byte whose time has come, across chunks, into one write: when
         * the loop wakes late, the late bytes go out together rather than each a
         * further step behind. */
        size_t n = 0;
        for (ms__pace_chunk_t *c = q->head; c != NULL && n < sizeof buf; c = c->next) {
            if (c->is_line)
                break;
            size_t due = chunk_due(q, c, now);
            if (due == 0)
                break;
            if (due > sizeof buf - n)
                due = sizeof buf - n;
            memcpy(buf + n, c->data + c->off, due);
            n += due;
            if (c->off + due < c->len)
                break;
        }
        if (n == 0)
            break;
        int w = q->ops->write(p, buf, n);
        if (w == MS_EAGAIN)
            w = 0;
        else if (w < 0) {
            ms__phy_emit_close(p, w);
            return;
        }
        pace_advance(q, (size_t)w, now);
        if ((size_t)w < n) {
            q->blocked = true;
            if (q->ops->want_writable)
                q->ops->want_writable(p, true);
            return;
        }
    }
    if (p->closing || p->ended)
        return;
    if (q->head == NULL && q->dirty && !(q->ops->busy && q->ops->busy(p)) &&
        uv_hrtime() >= q->last_end_ns) {
        q->dirty = false;
        ms__phy_emit_drained(p, q->last_end_ns);
        /* The owner may have queued more, or closed the stream, in the callback. */
        if (p->closing || p->ended)
            return;
    }
    pace_schedule(p);
}

int ms__pace_init(ms_phy_t *p, ms__pace_mode_t mode, const ms__pace_ops_t *ops)
{
    ms__pacer_t *q = &p->pacer;
    memset(q, 0, sizeof *q);
    q->ops = ops;
    q->mode = mode;
    q->tfd = -1;
    int r = uv_idle_init(p->loop, &q->kick);
    if (r < 0)
        return ms_err_from_errno(-r);
    ms__phy_handle_added(p, (uv_handle_t *)&q->kick);
    /* A paced line needs the timer for its first byte, a device-timed one for its
     * on_drained: fail at open, not at a write. */
    if (mode != MS__PACE_INSTANT)
        return timer_create_once(p);
    return 0;
}

static void chunk_append(ms_phy_t *p, ms__pace_chunk_t *c)
{
    ms__pacer_t *q = &p->pacer;
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    if (q->head == c)
        pace_schedule(p);
}

int ms__pace_queue(ms_phy_t *p, const uint8_t *buf, size_t len, uint64_t not_before_ns,
                   ms__pace_xform_t xf)
{
    ms__pacer_t *q = &p->pacer;
    if (len == 0)
        return 0;
    uint64_t now = uv_hrtime();
    uint64_t char_ns = q->mode == MS__PACE_INSTANT ? 0 : ms_line_char_ns(&p->line);
    if (not_before_ns > now) {
        int r = timer_create_once(p);
        if (r < 0)
            return MS_EIO;
    }
    ms__pace_chunk_t *c = malloc(sizeof *c + len);
    if (c == NULL)
        return MS_ENOMEM;
    memset(c, 0, sizeof *c);
    c->len = len;
    c->char_ns = char_ns;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];
        switch (xf) {
        case MS__XF_NONE:
            break;
        case MS__XF_CLEAR7:
            b &= 0x7F;
            break;
        case MS__XF_EVEN7:
            b = ms_parity_even7(b);
            break;
        case MS__XF_ODD7:
            b = (uint8_t)(ms_parity_even7(b) ^ 0x80);
            break;
        }
        c->data[i] = b;
    }
    /* An idle line starts now, a busy one after its last queued byte; never before
     * not_before. (Times before now cannot be met: a wire does not send in the past.) */
    c->start_ns = max_u64(not_before_ns, now);
    if (q->mode == MS__PACE_SOFT)
        c->start_ns = max_u64(c->start_ns, q->tail_end_ns);
    q->tail_end_ns = max_u64(c->start_ns, q->tail_end_ns) + (uint64_t)len * char_ns;
    q->pending += len;
    chunk_append(p, c);
    return 0;
}

int ms__pace_line(ms_phy_t *p, const ms_line_t *line)
{
    ms__pace_chunk_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MS_ENOMEM;
    c->is_line = true;
    c->line = *line;
    chunk_append(p, c);
    return 0;
}

bool ms__pace_idle(const ms_phy_t *p)
{
    return p->pacer.head == NULL && !p->pacer.blocked;
}

uint64_t ms__pace_last_end(const ms_phy_t *p)
{
    return p->pacer.last_end_ns;
}

void ms__pace_flush(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    ms__pace_chunk_t **pp = &q->head;
    q->tail = NULL;
    while (*pp != NULL) {
        ms__pace_chunk_t *c = *pp;
        if (c->is_line) {
            q->tail = c;
            pp = &c->next;
        } else {
            *pp = c->next;
            free(c);
        }
    }
    q->pending = 0;
    q->tail_end_ns = q->last_end_ns;
    /* The owner dropped the output itself: no on_drained for it. */
    q->dirty = false;
    pace_schedule(p);
}

size_t ms__pace_pending(const ms_phy_t *p)
{
    return p->pacer.pending;
}

void ms__pace_resume(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    if (q->blocked) {
        q->blocked = false;
        if (q->ops->want_writable)
            q->ops->want_writable(p, false);
    }
    pace_run(p);
}

void ms__pace_close(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    ms__phy_handle_close((uv_handle_t *)&q->kick);
    if (q->tfd >= 0)
        ms__phy_handle_close((uv_handle_t *)&q->tpoll);
}

void ms__pace_free(ms_phy_t *p)
{
    ms__pacer_t *q = &p->pacer;
    while (q->head != NULL)
        chunk_pop(q);
    if (q->tfd >= 0) {
        close(q->tfd);
        q->tfd = -1;
    }
}
