/*
** phy_tcp.c — tcp backend: a listener that accepts byte streams, and a client.
** SPDX-License-Identifier: MIT
**
** Streams are unpaced (MS__PACE_INSTANT): bytes go out when queued, or at not_before.
** Writes try uv_try_write() first; what the socket does not take at once goes to
** libuv's write queue, and on_drained waits until that has been written too.
*/
#include "phy.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ms_err.h"
#include "phy_internal.h"

/* Receive buffer shared by the streams of one thread: libuv calls alloc_cb and then
 * read_cb for one stream before it reads another. */
#define TCP_READ_BUF 65536u

typedef struct phy_tcp {
    ms_phy_t base;
    uv_tcp_t h;
    bool h_ok;
    uv_connect_t creq;
    ms_phy_connect_cb on_connect;
    bool connecting;
    bool accepted;
    bool reading;
    unsigned writes_queued; /* uv_write requests not yet completed */
} phy_tcp_t;

typedef struct tcp_wreq {
    uv_write_t req;
    ms_phy_t *p;
    uint8_t data[];
} tcp_wreq_t;

struct ms_phy_listener {
    uv_tcp_t h;
    unsigned port;
    ms_phy_accept_cb on_accept;
    void *ud;
};

static const ms_phy_ops_t tcp_ops;

static phy_tcp_t *to_tcp(const ms_phy_t *p)
{
    return (phy_tcp_t *)p;
}

/* libuv reports negated errno values on Unix. */
static int uv_to_ms(int uverr)
{
    return ms_err_from_errno(-uverr);
}

/* Parse an IPv4 dotted quad or an IPv6 literal. @return 0 or MS_EINVAL. */
static int parse_addr(const char *host, unsigned port, struct sockaddr_storage *ss)
{
    if (host == NULL || port > 65535)
        return MS_EINVAL;
    memset(ss, 0, sizeof *ss);
    if (strchr(host, ':') != NULL) {
        if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) != 0)
            return MS_EINVAL;
    } else if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) != 0) {
        return MS_EINVAL;
    }
    return 0;
}

/* ---- input ------------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static _Thread_local uint8_t rbuf[TCP_READ_BUF];
    *buf = uv_buf_init((char *)rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ms_phy_t *p = s->data;
    if (nread > 0) {
        ms__phy_emit_data(p, (uint8_t *)buf->base, (size_t)nread, uv_hrtime());
        return;
    }
    if (nread == 0)
        return; /* EAGAIN inside libuv */
    uv_read_stop(s);
    to_tcp(p)->reading = false;
    ms__phy_emit_close(p, nread == UV_EOF ? 0 : uv_to_ms((int)nread));
}

static void start_reading(phy_tcp_t *t)
{
    if (t->reading || t->base.closing || t->base.ended)
        return;
    int r = uv_read_start((uv_stream_t *)&t->h, on_alloc, on_read);
    if (r == 0)
        t->reading = true;
}

/* ---- output ----------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    tcp_wreq_t *w = (tcp_wreq_t *)req;
    ms_phy_t *p = w->p;
    free(w);
    to_tcp(p)->writes_queued--;
    if (p->closing)
        return; /* status UV_ECANCELED when the stream was closed */
    if (status < 0) {
        ms__phy_emit_close(p, uv_to_ms(status));
        return;
    }
    if (to_tcp(p)->writes_queued == 0)
        ms__pace_resume(p); /* on_drained may be due */
}

static int tcp_write(ms_phy_t *p, const uint8_t *buf, size_t len)
{
    phy_tcp_t *t = to_tcp(p);
    if (t->connecting)
        return MS_EAGAIN; /* resumed once connected */
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&t->h, &b, 1);
    if (r == UV_EAGAIN)
        r = 0;
    else if (r < 0)
        return uv_to_ms(r);
    if ((size_t)r < len) {
        size_t rest = len - (size_t)r;
        tcp_wreq_t *w = malloc(sizeof *w + rest);
        if (w == NULL)
            return r > 0 ? r : MS_ENOMEM;
        w->p = p;
        memcpy(w->data, buf + r, rest);
        b = uv_buf_init((char *)w->data, (unsigned)rest);
        int e = uv_write(&w->req, (uv_stream_t *)&t->h, &b, 1, on_written);
        if (e < 0) {
            free(w);
            return r > 0 ? r : uv_to_ms(e);
        }
        t->writes_queued++;
    }
    return (int)len;
}

static bool tcp_busy(const ms_phy_t *p)
{
    return to_tcp(p)->writes_queued > 0;
}

static const ms__pace_ops_t tcp_pace_ops = {
    .write = tcp_write,
    .busy = tcp_busy,
};

/* ---- ops ----------------------------------------------------------------------------
 */

static void tcp_close(ms_phy_t *p)
{
    phy_tcp_t *t = to_tcp(p);
    /* Closing cancels a pending connect and queued writes (their callbacks run with
     * UV_ECANCELED before the close callback). */
    if (t->h_ok)
        ms__phy_handle_close((uv_handle_t *)&t->h);
}

static void tcp_destroy(ms_phy_t *p)
{
    ms__pace_free(p);
    free(to_tcp(p));
}

static void tcp_callbacks_set(ms_phy_t *p)
{
    phy_tcp_t *t = to_tcp(p);
    if (t->accepted)
        start_reading(t);
}

static size_t tcp_extra_pending(const ms_phy_t *p)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&to_tcp(p)->h);
}

static const ms_phy_ops_t tcp_ops = {
    .name = "tcp",
    .write = ms__phy_queue_write,
    .set_line = NULL, /* a byte stream has no line: MS_ENOTSUP */
    .flush = ms__phy_queue_flush,
    .close = tcp_close,
};

static const ms__phy_hooks_t tcp_hooks = {
    .destroy = tcp_destroy,
    .callbacks_set = tcp_callbacks_set,
    .extra_pending = tcp_extra_pending,
};

/* A stream around a fresh uv_tcp_t. On failure the struct is torn down (async). */
static int tcp_new(uv_loop_t *loop, const ms_phy_cb_t *cb, void *ud, phy_tcp_t **out)
{
    phy_tcp_t *t = calloc(1, sizeof *t);
    if (t == NULL)
        return MS_ENOMEM;
    ms_phy_t *p = &t->base;
    ms__phy_init(p, &tcp_ops, &tcp_hooks, loop, cb, ud);
    p->line = MS_LINE_8N1(0); /* no rate: char time 0 */
    int r = ms__pace_init(p, MS__PACE_INSTANT, &tcp_pace_ops);
    if (r == 0) {
        r = uv_tcp_init(loop, &t->h);
        if (r == 0) {
            ms__phy_handle_added(p, (uv_handle_t *)&t->h);
            t->h_ok = true;
        } else {
            r = uv_to_ms(r);
        }
    }
    if (r < 0) {
        if (p->handles == 0)
            tcp_destroy(p);
        else
            ms__phy_teardown(p);
        return r;
    }
    *out = t;
    return 0;
}

/* ---- listener ------------------------------------------------------------------------
 */

static void on_connection(uv_stream_t *server, int status)
{
    ms_phy_listener_t *l = server->data;
    if (status < 0)
        return; /* e.g. EMFILE: libuv retries on the next readiness */
    phy_tcp_t *t;
    if (tcp_new(server->loop, NULL, NULL, &t) < 0)
        return;
    if (uv_accept(server, (uv_stream_t *)&t->h) < 0) {
        ms__phy_teardown(&t->base);
        return;
    }
    /* Small request/response messages: send each at once (no Nagle delay). */
    uv_tcp_nodelay(&t->h, 1);
    t->accepted = true;
    /* Input is held back until the owner sets callbacks (tcp_callbacks_set). */
    if (l->on_accept)
        l->on_accept(l, &t->base, l->ud);
    else
        ms__phy_teardown(&t->base);
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

int ms_phy_tcp_listen(uv_loop_t *loop, const char *host, unsigned port,
                      ms_phy_accept_cb on_accept, void *ud, ms_phy_listener_t **out)
{
    *out = NULL;
    struct sockaddr_storage ss;
    if (parse_addr(host, port, &ss) < 0)
        return MS_EINVAL;
    ms_phy_listener_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return MS_ENOMEM;
    l->on_accept = on_accept;
    l->ud = ud;
    /* Create the socket now, to set SO_REUSEADDR ourselves: a restarted simulator
     * binds again while connections of the old one are in TIME_WAIT. */
    int r = uv_tcp_init_ex(loop, &l->h, ss.ss_family);
    if (r < 0) {
        free(l);
        return uv_to_ms(r);
    }
    l->h.data = l;
    uv_os_fd_t fd;
    int on = 1;
    if (uv_fileno((uv_handle_t *)&l->h, &fd) == 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    /* libuv may report a bind error only at listen(). */
    r = uv_tcp_bind(&l->h, (const struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&l->h, SOMAXCONN, on_connection);
    if (r == 0) {
        struct sockaddr_storage bound;
        int len = sizeof bound;
        r = uv_tcp_getsockname(&l->h, (struct sockaddr *)&bound, &len);
        if (r == 0)
            l->port = ntohs(bound.ss_family == AF_INET6
                                ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                : ((struct sockaddr_in *)&bound)->sin_port);
    }
    if (r < 0) {
        uv_close((uv_handle_t *)&l->h, on_listener_closed);
        /* Not an address of this machine: a bad host for a listener. */
        return r == UV_EADDRNOTAVAIL ? MS_EINVAL : uv_to_ms(r);
    }
    *out = l;
    return 0;
}

unsigned ms_phy_listener_port(const ms_phy_listener_t *l)
{
    return l->port;
}

void ms_phy_listener_close(ms_phy_listener_t *l)
{
    if (l != NULL && !uv_is_closing((uv_handle_t *)&l->h))
        uv_close((uv_handle_t *)&l->h, on_listener_closed);
}

/* ---- addresses and client
 * -------------------------------------------------------------- */

int ms_phy_tcp_local_addr(const ms_phy_t *p, char *host, size_t cap, unsigned *port)
{
    if (p == NULL || p->ops != &tcp_ops)
        return MS_ENOTSUP;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int r = uv_tcp_getsockname(&to_tcp(p)->h, (struct sockaddr *)&ss, &len);
    if (r < 0)
        return uv_to_ms(r);
    char name[64];
    unsigned pt;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        r = uv_ip6_name(a, name, sizeof name);
        pt = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        r = uv_ip4_name(a, name, sizeof name);
        pt = ntohs(a->sin_port);
    }
    if (r < 0)
        return uv_to_ms(r);
    if (host != NULL) {
        if (strlen(name) + 1 > cap)
            return MS_ENOSPC;
        memcpy(host, name, strlen(name) + 1);
    }
    if (port != NULL)
        *port = pt;
    return 0;
}

/* Connection errors: a refusal (RST from the peer) is the peer closing the connection;
 * ms_err_from_errno has no closer code for ECONNREFUSED than MS_ESYS. */
static int connect_err(int uverr)
{
    return uverr == UV_ECONNREFUSED ? MS_ECLOSED : uv_to_ms(uverr);
}

static void on_connected(uv_connect_t *req, int status)
{
    ms_phy_t *p = req->handle->data;
    phy_tcp_t *t = to_tcp(p);
    t->connecting = false;
    if (p->closing)
        return; /* closed by the owner meanwhile (status UV_ECANCELED): no callback */
    if (status < 0) {
        p->ended = true;
        if (t->on_connect)
            t->on_connect(p, connect_err(status), p->ud);
        ms__phy_teardown(p);
        return;
    }
    uv_tcp_nodelay(&t->h, 1);
    start_reading(t);
    if (t->on_connect)
        t->on_connect(p, 0, p->ud);
    if (!p->closing)
        ms__pace_resume(p); /* bytes queued while connecting */
}

int ms_phy_tcp_connect(uv_loop_t *loop, const char *host, unsigned port,
                       const ms_phy_cb_t *cb, void *ud, ms_phy_connect_cb on_connect,
                       ms_phy_t **out)
{
    *out = NULL;
    struct sockaddr_storage ss;
    if (parse_addr(host, port, &ss) < 0 || port == 0)
        return MS_EINVAL;
    phy_tcp_t *t;
    int r = tcp_new(loop, cb, ud, &t);
    if (r < 0)
        return r;
    t->on_connect = on_connect;
    t->connecting = true;
    r = uv_tcp_connect(&t->creq, &t->h, (const struct sockaddr *)&ss, on_connected);
    if (r < 0) {
        ms__phy_teardown(&t->base);
        return connect_err(r);
    }
    *out = &t->base;
    return 0;
}
