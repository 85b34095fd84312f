/*
** phy_pty.c — pty backend, meter side: owns the master of a pseudo-terminal pair and
** holds the slave open for readers that come and go.
** SPDX-License-Identifier: MIT
**
** Linux facts this relies on (drivers/tty/pty.c, n_tty.c; DESIGN.md "Platform facts"):
** - termios belong to the slave; tcgetattr/tcsetattr on the master act on the slave's.
** - A pty forces CS8 without parity (pty_set_termios clears CSIZE|PARENB and sets CS8)
**   and has no line timing: the output is paced in software (phy_pace.c).
** - In packet mode (TIOCPKT) every read on the master returns one packet: a status
**   byte, then data when the status is TIOCPKT_DATA (0). With EXTPROC in c_lflag a
**   tcsetattr by the reader sets TIOCPKT_IOCTL, reported before data read after it. The
**   kernel reports a change when the old or the new termios has EXTPROC, so a reader
**   that clears EXTPROC is still seen once — and EXTPROC must then be set again.
** - Status bits accumulate until the master reads them: several changes between two
**   reads arrive as one TIOCPKT_IOCTL. Data the reader wrote before a tcsetattr but that
**   the master has not read yet is read after the status byte (n_tty_read returns a
**   pending status before any data).
** - Bytes written to the master reach the slave's input buffer (flush_to_ldisc runs
**   from a workqueue, so FIONREAD on the slave may lag a write by a moment).
*/
#include "phy.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ms_err.h"
#include "phy_internal.h"

/* Output that nobody has read this long after its wire time is discarded. */
#define STALE_NS 1000000000u
/* Writes closer together than this share one record: stale bytes are discarded at
 * most this much later than STALE_NS after their wire time. */
#define STALE_GROUP_NS 50000000u
/* Records kept; when full, the newest record absorbs further writes. */
#define STALE_RECS 32u
/* Reads per readiness callback before yielding to the rest of the loop. */
#define READS_PER_EVENT 64

/* Bytes [previous record's end, end) were written between t_first and t_last. */
typedef struct stale_rec {
    uint64_t end;
    uint64_t t_first;
    uint64_t t_last;
} stale_rec_t;

typedef struct phy_pty {
    ms_phy_t base;
    int master;
    int slave;
    char slave_path[64];
    char *link;
    uv_poll_t mpoll;
    bool mpoll_ok;
    bool want_w;
    uv_timer_t stale_timer;
    bool stale_timer_ok;
    uint64_t written; /* bytes written to the master so far */
    stale_rec_t recs[STALE_RECS];
    unsigned rec_head;
    unsigned rec_n;
    bool own_set_pending;   /* our own tcsetattr (EXTPROC again) is to be reported */
    struct termios own_set; /* ... and this is what it set */
} phy_pty_t;

static const ms_phy_ops_t pty_ops;

static phy_pty_t *to_pty(const ms_phy_t *p)
{
    return (phy_pty_t *)p;
}

/* ---- stale output ----------------------------------------------------------------- */

static void on_stale(uv_timer_t *h);

static void stale_arm(phy_pty_t *t, uint64_t now)
{
    if (t->rec_n == 0) {
        uv_timer_stop(&t->stale_timer);
        return;
    }
    uint64_t due = t->recs[t->rec_head].t_last + STALE_NS;
    uint64_t wait_ms = due > now ? (due - now + 999999u) / 1000000u : 0;
    /* +1: libuv's ms clock may lag uv_hrtime() by up to a millisecond. */
    uv_timer_start(&t->stale_timer, on_stale, wait_ms + 1, 0);
}

static void stale_record(phy_pty_t *t, size_t n, uint64_t now)
{
    t->written += n;
    if (t->rec_n > 0) {
        stale_rec_t *last = &t->recs[(t->rec_head + t->rec_n - 1) % STALE_RECS];
        if (now - last->t_first <= STALE_GROUP_NS || t->rec_n == STALE_RECS) {
            last->end = t->written;
            last->t_last = now;
            return;
        }
    }
    stale_rec_t *r = &t->recs[(t->rec_head + t->rec_n) % STALE_RECS];
    r->end = t->written;
    r->t_first = now;
    r->t_last = now;
    if (t->rec_n++ == 0)
        stale_arm(t, now);
}

static void stale_pop(phy_pty_t *t)
{
    t->rec_head = (t->rec_head + 1) % STALE_RECS;
    t->rec_n--;
}

/* Read and drop count bytes from the slave's input queue. */
static void discard_read(int fd, uint64_t count)
{
    uint8_t buf[1024];
    while (count > 0) {
        size_t want = count < sizeof buf ? (size_t)count : sizeof buf;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        count -= (uint64_t)n;
    }
}

static void on_stale(uv_timer_t *h)
{
    phy_pty_t *t = h->data;
    int unread = 0;
    /* Bytes still in the slave's input queue are the newest ones written (FIFO). */
    if (ioctl(t->slave, FIONREAD, &unread) < 0 || unread < 0)
        unread = 0;
    if ((uint64_t)unread > t->written)
        unread = (int)t->written;
    uint64_t first_unread = t->written - (uint64_t)unread;
    while (t->rec_n > 0 && t->recs[t->rec_head].end <= first_unread)
        stale_pop(t); /* read by someone */

    uint64_t now = uv_hrtime();
    uint64_t stale_end = first_unread;
    while (t->rec_n > 0 && t->recs[t->rec_head].t_last + STALE_NS <= now) {
        stale_end = t->recs[t->rec_head].end;
        stale_pop(t);
    }
    if (stale_end > first_unread) {
        if (stale_end - first_unread >= (uint64_t)unread)
            tcflush(t->slave, TCIFLUSH); /* all of it (and what is still in transit) */
        else
            discard_read(t->slave, stale_end - first_unread); /* keep the fresh tail */
    }
    stale_arm(t, now);
}

/* ---- symlink ---------------------------------------------------------------------- */

static int link_create(const char *link, const char *target)
{
    struct stat st;
    if (lstat(link, &st) == 0) {
        if (!S_ISLNK(st.st_mode))
            return MS_EEXIST;
        /* Replace atomically, so that a reader polling the link never misses it:
         * symlink under a temporary name beside it, then rename over. */
        size_t n = strlen(link) + 32;
        char *tmp = malloc(n);
        if (tmp == NULL)
            return MS_ENOMEM;
        snprintf(tmp, n, "%s.%ld.tmp", link, (long)getpid());
        unlink(tmp);
        int r = 0;
        if (symlink(target, tmp) < 0)
            r = ms_err_from_errno(errno);
        else if (rename(tmp, link) < 0) {
            r = ms_err_from_errno(errno);
            unlink(tmp);
        }
        free(tmp);
        return r;
    }
    if (errno != ENOENT)
        return ms_err_from_errno(errno);
    if (symlink(target, link) < 0)
        return ms_err_from_errno(errno);
    return 0;
}

/* Remove the link only while it still names our slave: another process (or stream) may
 * have taken the path over since. */
static void link_remove(const char *link, const char *target)
{
    char buf[sizeof((phy_pty_t *)0)->slave_path];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n < 0)
        return;
    buf[n] = '\0';
    if (strcmp(buf, target) == 0)
        unlink(link);
}

/* ---- input --------------------------------------------------------------------------
 */

static bool termios_same(const struct termios *a, const struct termios *b)
{
    return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
           a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
           cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b) &&
           memcmp(a->c_cc, b->c_cc, sizeof a->c_cc) == 0;
}

/* TIOCPKT_IOCTL: the reader (or we) changed the termios. */
static void peer_termios(phy_pty_t *t)
{
    struct termios tio;
    if (tcgetattr(t->master, &tio) < 0)
        return;
    if (t->own_set_pending) {
        t->own_set_pending = false;
        if (termios_same(&tio, &t->own_set))
            return; /* the report of our own EXTPROC set, nothing the reader did */
    }
    ms_line_t line;
    ms__line_from_termios(&tio, &line);
    if (!(tio.c_lflag & EXTPROC)) {
        /* The reader cleared EXTPROC (e.g. c_lflag = 0): set it again, or its next
         * change goes unreported. That set reports once more; own_set recognises it. */
        tio.c_lflag |= EXTPROC;
        if (tcsetattr(t->master, TCSANOW, &tio) == 0 &&
            tcgetattr(t->master, &t->own_set) == 0)
            t->own_set_pending = true;
    }
    ms__phy_emit_peer_line(&t->base, &line);
}

static void on_master(uv_poll_t *h, int status, int events)
{
    ms_phy_t *p = h->data;
    phy_pty_t *t = to_pty(p);
    if (status < 0) {
        uv_poll_stop(h);
        ms__phy_emit_close(p, ms_err_from_errno(-status));
        return;
    }
    if (events & UV_WRITABLE) {
        ms__pace_resume(p);
        if (p->closing || p->ended)
            return;
    }
    if (!(events & UV_READABLE))
        return;
    /* A termios change is reported after the data that is readable behind its status
     * byte: the kernel returns the status first, even before data the reader wrote
     * ahead of its tcsetattr (an option select sent just before the reader's switch).
     * An empty read flushes the pty's pending input work first (n_tty_read calls
     * tty_buffer_flush_work), so EAGAIN means nothing written before the change is left.
     * Data written right after the change comes first as well; readers wait for the
     * meter after a switch, so that order does not occur in the protocols. */
    bool ioctl_seen = false;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        uint8_t buf[1 + 4096]; /* status byte + data */
        ssize_t n = read(t->master, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            int err = ms_err_from_errno(errno);
            uv_poll_stop(h);
            ms__phy_emit_close(p, err);
            return;
        }
        if (n == 0)
            break; /* not seen while we hold the slave open */
        if (buf[0] == TIOCPKT_DATA)
            ms__phy_emit_data(p, buf + 1, (size_t)n - 1, uv_hrtime());
        else if (buf[0] & TIOCPKT_IOCTL)
            ioctl_seen = true;
        /* Other status bits (FLUSHREAD/FLUSHWRITE, STOP/START, DOSTOP/NOSTOP) mean
         * nothing to a simulated line. */
        if (p->closing || p->ended)
            return;
    }
    if (ioctl_seen)
        peer_termios(t);
}

/* ---- output --------------------------------------------------------------------- */

static int pty_write(ms_phy_t *p, const uint8_t *buf, size_t len)
{
    phy_pty_t *t = to_pty(p);
    int n = ms__phy_fd_write(t->master, buf, len);
    if (n > 0)
        stale_record(t, (size_t)n, uv_hrtime());
    return n;
}

static void pty_want_writable(ms_phy_t *p, bool on)
{
    phy_pty_t *t = to_pty(p);
    if (t->want_w == on)
        return;
    t->want_w = on;
    uv_poll_start(&t->mpoll, UV_READABLE | (on ? UV_WRITABLE : 0), on_master);
}

static const ms__pace_ops_t pty_pace_ops = {
    .write = pty_write,
    .want_writable = pty_want_writable,
};

/* ---- ops ------------------------------------------------------------------------- */

static int pty_set_line(ms_phy_t *p, const ms_line_t *line)
{
    /* Only our own pacing and 7-bit handling change: the slave's termios are the
     * reader's, and setting them would report a change the reader did not make. */
    return 0;
}

static void pty_close(ms_phy_t *p)
{
    phy_pty_t *t = to_pty(p);
    if (t->link) {
        link_remove(t->link, t->slave_path);
        free(t->link);
        t->link = NULL;
    }
    if (t->mpoll_ok)
        ms__phy_handle_close((uv_handle_t *)&t->mpoll);
    if (t->stale_timer_ok)
        ms__phy_handle_close((uv_handle_t *)&t->stale_timer);
}

static void pty_destroy(ms_phy_t *p)
{
    phy_pty_t *t = to_pty(p);
    ms__pace_free(p);
    /* Closing the master hangs up the slave: readers see end of file. */
    if (t->master >= 0)
        close(t->master);
    if (t->slave >= 0)
        close(t->slave);
    free(t->link);
    free(t);
}

static const ms_phy_ops_t pty_ops = {
    .name = "pty",
    .write = ms__phy_queue_write,
    .set_line = pty_set_line,
    .flush = ms__phy_queue_flush,
    .close = pty_close,
};

static const ms__phy_hooks_t pty_hooks = {
    .destroy = pty_destroy,
};

static int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdf = fcntl(fd, F_GETFD);
    if (fdf < 0 || fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

/* Slave raw at the initial rate, with EXTPROC so that the reader's changes show. */
static int slave_setup(int slave, const ms_line_t *line)
{
    struct termios tio;
    if (tcgetattr(slave, &tio) < 0)
        return -1;
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    if (line->stop_bits == 2)
        tio.c_cflag |= CSTOPB;
    tio.c_lflag |= EXTPROC;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    speed_t sp;
    /* A rate termios has no constant for still paces; the slave keeps its default. */
    if (ms__baud_to_speed(line->baud, &sp) == 0) {
        cfsetispeed(&tio, sp);
        cfsetospeed(&tio, sp);
    }
    return tcsetattr(slave, TCSANOW, &tio);
}

int ms_phy_pty_open(uv_loop_t *loop, const ms_phy_pty_opts_t *o, const ms_phy_cb_t *cb,
                    void *ud, ms_phy_t **out)
{
    *out = NULL;
    ms_line_t line = o->line.baud ? o->line : MS_LINE_7E1(300);
    if (ms__line_check(&line) < 0)
        return MS_EINVAL;

    phy_pty_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return MS_ENOMEM;
    t->master = t->slave = -1;
    int r;
    if (openpty(&t->master, &t->slave, NULL, NULL, NULL) < 0) {
        r = ms_err_from_errno(errno);
        goto fail;
    }
    int one = 1;
    if (set_nonblock_cloexec(t->master) < 0 || set_nonblock_cloexec(t->slave) < 0 ||
        ptsname_r(t->master, t->slave_path, sizeof t->slave_path) != 0 ||
        slave_setup(t->slave, &line) < 0 ||
        /* Packet mode last: the setup above is not a change of the reader's. */
        ioctl(t->master, TIOCPKT, &one) < 0) {
        r = ms_err_from_errno(errno);
        goto fail;
    }
    if (o->link) {
        t->link = strdup(o->link);
        if (t->link == NULL) {
            r = MS_ENOMEM;
            goto fail;
        }
        r = link_create(t->link, t->slave_path);
        if (r < 0) {
            free(t->link);
            t->link = NULL;
            goto fail;
        }
    }

    ms_phy_t *p = &t->base;
    ms__phy_init(p, &pty_ops, &pty_hooks, loop, cb, ud);
    p->line = line;
    p->parity_out = o->parity_out;
    /* From here on, failures go through ms__phy_teardown (handles close async). */
    r = ms__pace_init(p, o->no_pace ? MS__PACE_INSTANT : MS__PACE_SOFT, &pty_pace_ops);
    if (r == 0) {
        uv_timer_init(loop, &t->stale_timer);
        ms__phy_handle_added(p, (uv_handle_t *)&t->stale_timer);
        t->stale_timer_ok = true;
        r = uv_poll_init(loop, &t->mpoll, t->master);
        if (r == 0) {
            ms__phy_handle_added(p, (uv_handle_t *)&t->mpoll);
            t->mpoll_ok = true;
            r = uv_poll_start(&t->mpoll, UV_READABLE, on_master);
        }
        if (r < 0)
            r = ms_err_from_errno(-r);
    }
    if (r < 0) {
        if (p->handles == 0) {
            pty_close(p);
            pty_destroy(p);
        } else {
            ms__phy_teardown(p);
        }
        return r;
    }
    *out = p;
    return 0;

fail:
    if (t->master >= 0)
        close(t->master);
    if (t->slave >= 0)
        close(t->slave);
    free(t);
    return r;
}

const char *ms_phy_pty_slave(const ms_phy_t *p)
{
    if (p == NULL || p->ops != &pty_ops)
        return NULL;
    return to_pty(p)->slave_path;
}
