/*
** bench_dlms_get.c — DLMS GET throughput and latency of metersim over the IEC 62056-47
** wrapper on loopback, against a bare request/response server measured in the same run
** (DESIGN.md "Targets": DLMS GET throughput, wrapper, loopback, 100 associations), and
** with --check the integration test of many associations held open at once.
** SPDX-License-Identifier: MIT
**
** Usage: bench_dlms_get [--metersim PATH] [--conns 1,100,1000] [--seconds 5]
**                       [--warmup 0.5] [--pin] [--json PATH]
**        bench_dlms_get --check [--metersim PATH] [--conns 1000]
**
** Benchmark: starts `metersim --model ms3p-direct --clock stepped --protocol
** dlms-wrapper --tcp 127.0.0.1:0`, and forks an echo server (libuv, 127.0.0.1:0) that
** answers every wrapper frame with fixed bytes: metersim's own AARE for an AARQ, its
** RLRE for an RLRQ, and for anything else its GET-Response to the request measured,
** captured once at the start (so the answers have the same size and decode the same).
** For each concurrency N and each server: N TCP connections, each associated as the
** public client (client SAP 0x10 -> server SAP 0x01, lowest level security), then each
** runs a closed loop with one GET-Request-Normal of 1-0:1.8.0.255 attribute 2 (class 3,
** Register value) outstanding. After the warm-up, answers are counted and their
** latencies (request handed to the socket -> whole answer frame received) kept for
** --seconds; then the loops stop, every association is released (RLRQ) and closed.
** Every answer must be a GET-Response carrying a double-long-unsigned: anything else
** is an error and the exit status is 1.
**
** --check (ctest it_dlms_many): metersim with a stepped clock from a fixed start; the
** clock is advanced by one day through the control API (POST /v1/clock); N
** associations (default 1000) are opened and all kept open; each reads 1-0:1.8.0.255/2,
** 0.0.96.1.0.255/2 (serial) and 0.0.1.0.0.255/2 (clock); while all are still open the
** values are compared with the control API's (GET /v1/meters/{id}) and metersim must
** report N connections; then every association is released and closed. Exit 0 only
** if every value is right.
**
** --pin keeps this client on CPU 0 and the servers on CPU 1 (sched_setaffinity), so
** that metersim and the echo server run under the same conditions.
**
** Every process started here (metersim, the echo server) is stopped by its PID at the
** end, also on errors (atexit), and dies with this program (PR_SET_PDEATHSIG). Traffic
** goes to loopback addresses only.
**
** Sources: IEC 62056-47 (wrapper header: version 1, source wPort = the sender's SAP,
** destination wPort = the receiver's, length; client SAP 0x10 = public client, server
** SAP 0x01 = management logical device); DLMS UA 1000-2 (Green Book) GET-Request-Normal
** / GET-Response-Normal, AARQ with lowest level security, RLRQ; DLMS UA 1000-1 (Blue
** Book) class 3 Register attribute 2 value, class 1 Data attribute 2 value, class 8
** Clock attribute 2 time (octet-string of 12: date-time, 4.1.6.1).
*/
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <uv.h>

#include "axdr.h"
#include "dlms_client.h"
#include "dlms_wrapper.h"
#include "ms_err.h"
#include "ms_obis.h"
#include "ms_time.h"

#ifndef MS_METERSIM_PATH
#define MS_METERSIM_PATH "sim/metersim"
#endif

#define CLIENT_SAP      0x10u /* IEC 62056-47 / Green Book: the public client */
#define SERVER_SAP      0x01u /* the management logical device */
#define APDU_CAP        4096u /* largest answer APDU accepted (metersim sends <= 1024) */
#define TX_CAP          512u  /* one request frame */
#define CLIENT_MAX_PDU  1024u /* client-max-receive-pdu-size proposed in the AARQ */
#define MAX_CONNS_LISTS 16
#define CHECK_START     "2016-06-01T00:00:00Z" /* --check: a day in CEST */
#define CHECK_SERIAL    "60012345"             /* the serial of model ms3p-direct */
#define CHECK_ADVANCE_S 86400

/* ---- the processes this program starts ------------------------------------------- */

static pid_t meter_pid = -1, echo_pid = -1;
static bool pin; /* --pin: this client on CPU 0, the servers on CPU 1 */

/* --pin: keep the calling process on one CPU. */
static void pin_to(int cpu)
{
    if (!pin)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "bench_dlms_get: cannot pin to CPU %d: %s\n", cpu,
                strerror(errno));
}
static int meter_out = -1; /* metersim's stdout (kept open: it may print again) */

/* Stop a child by its PID: SIGTERM, wait up to 10 s, then SIGKILL. Returns its wait
 * status, or -1. */
static int stop_child(pid_t *pid)
{
    if (*pid <= 0)
        return -1;
    int status = -1;
    kill(*pid, SIGTERM);
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(*pid, &status, WNOHANG);
        if (r == *pid || (r < 0 && errno != EINTR))
            break;
        if (i == 999) {
            kill(*pid, SIGKILL);
            waitpid(*pid, &status, 0);
        }
        usleep(10000);
    }
    *pid = -1;
    return status;
}

static void stop_children(void)
{
    stop_child(&echo_pid);
    stop_child(&meter_pid);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_dlms_get: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1); /* atexit: stop_children */
}

static bool is_loopback_host(const char *h)
{
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "localhost") == 0 ||
           strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0;
}

/* "127.0.0.1:4059" -> an IPv4 socket address on loopback. */
static void parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        die("address '%s': expected HOST:PORT", s);
    snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
    if (!is_loopback_host(host) || uv_ip4_addr(host, atoi(colon + 1), sa) != 0)
        die("address '%s': not an IPv4 loopback address", s);
}

typedef struct meter_info {
    struct sockaddr_in addr; /* the wrapper port */
    char control[256];       /* control API base URL, ".../v1" */
    char id[64];
} meter_info_t;

/* Start metersim with the common arguments plus extra (NULL-terminated), read its
 * ready line (DESIGN.md "Contracts": `ready {json}` once every listener is up). */
static void start_metersim(const char *path, const char *const *extra, meter_info_t *mi)
{
    const char *argv[32] = { path,          "--model",    "ms3p-direct",  "--clock",
                             "stepped",     "--protocol", "dlms-wrapper", "--tcp",
                             "127.0.0.1:0", "--control",  "127.0.0.1:0" };
    size_t n = 11;
    for (; extra && *extra && n < 31; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        pin_to(1);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(path, (char *const *)argv);
        fprintf(stderr, "bench_dlms_get: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    meter_pid = pid;
    close(fds[1]);
    meter_out = fds[0];

    char line[8192];
    size_t len = 0;
    uint64_t deadline = uv_hrtime() + 15000000000ull;
    while (!memchr(line, '\n', len)) {
        if (len + 1 >= sizeof line)
            die("metersim: ready line too long");
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            die("metersim: no ready line within 15 s");
        struct pollfd p = { .fd = meter_out, .events = POLLIN };
        int pr = poll(&p, 1, (int)((deadline - now) / 1000000) + 1);
        if (pr < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (pr <= 0)
            continue;
        ssize_t r = read(meter_out, line + len, sizeof line - 1 - len);
        if (r <= 0)
            die("metersim (%s) ended before its ready line", path);
        len += (size_t)r;
    }
    line[len] = 0;
    *strchr(line, '\n') = 0;
    if (strncmp(line, "ready ", 6) != 0)
        die("metersim: unexpected first line: %s", line);
    json_error_t je;
    json_t *j = json_loads(line + 6, 0, &je);
    const char *addr = NULL, *control = NULL, *id = NULL;
    if (!j || json_unpack(j, "{s:s, s:[{s:s, s:[{s:s}]}]}", "control", &control, "meters",
                          "id", &id, "ports", "address", &addr) != 0)
        die("metersim: ready line without control, meters[0].id, "
            "meters[0].ports[0].address: %s",
            line);
    parse_addr(addr, &mi->addr);
    snprintf(mi->control, sizeof mi->control, "%s", control);
    snprintf(mi->id, sizeof mi->id, "%s", id);
    if (strncmp(control, "http://", 7) != 0)
        die("control URL %s: expected http://", control);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(control + 7, ":/"), control + 7);
    if (!is_loopback_host(host))
        die("control URL %s: not on loopback", control);
    json_decref(j);
}

/* ---- a blocking exchange, to capture metersim's answers for the echo server ------- */

typedef struct frame {
    uint8_t b[WRAP_HEADER_LEN + APDU_CAP];
    size_t len; /* header + APDU */
} frame_t;

static void read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("probe: connection ended (%s)", r < 0 ? strerror(errno) : "EOF");
        p += r;
        n -= (size_t)r;
    }
}

/* Send the request in w (header space reserved), read one whole answer frame into f
 * and feed its APDU to the client. */
static void probe_exchange(int fd, dlms_client_t *dc, ms_wr_t *w, frame_t *f)
{
    size_t n = w->len - WRAP_HEADER_LEN;
    ms_wr_t h;
    ms_wr_init(&h, w->buf, WRAP_HEADER_LEN);
    wrap_encode_header(&h, CLIENT_SAP, SERVER_SAP, n);
    if (write(fd, w->buf, w->len) != (ssize_t)w->len)
        die("probe: write: %s", strerror(errno));
    read_all(fd, f->b, WRAP_HEADER_LEN);
    size_t alen = (size_t)f->b[6] << 8 | f->b[7];
    if (alen > APDU_CAP)
        die("probe: answer of %zu octets", alen);
    read_all(fd, f->b + WRAP_HEADER_LEN, alen);
    f->len = WRAP_HEADER_LEN + alen;
    wrap_frame_t wf;
    if (wrap_decode(f->b, f->len, &wf) != 0)
        die("probe: answer is not a wrapper frame");
    uint8_t tmp[TX_CAP];
    ms_wr_t next;
    ms_wr_init(&next, tmp, sizeof tmp);
    int rc = dlms_client_feed(dc, wf.apdu, wf.length, &next);
    if (rc != DLMS_CLIENT_DONE)
        die("probe: answer not understood: %s", rc < 0 ? ms_strerror(rc) : "follow-up");
}

static dlms_client_t *client_new(void)
{
    dlms_client_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mechanism = DLMS_MECH_LOWEST;
    cfg.max_pdu = CLIENT_MAX_PDU;
    cfg.arena_size = 4096; /* a few values; the default 64 KiB x 1000 clients is waste */
    cfg.max_value = 4096;
    int err = 0;
    dlms_client_t *c = dlms_client_new(&cfg, &err);
    if (!c)
        die("dlms_client_new: %s", ms_strerror(err));
    return c;
}

static dlms_attr_sel_t attr_sel(uint16_t cls, ms_obis_t ln, int8_t id)
{
    dlms_attr_sel_t s;
    memset(&s, 0, sizeof s);
    s.desc.class_id = cls;
    s.desc.instance_id = ln;
    s.desc.attribute_id = id;
    return s;
}

/* The attribute the benchmark reads: Register 1-0:1.8.0.255 (A+ total), value. */
static dlms_attr_sel_t energy_attr(void)
{
    return attr_sel(3, MS_OBIS(1, 0, 1, 8, 0, 255), 2);
}

/* AARE, GET-Response of the measured request, RLRE, as metersim sends them. */
static frame_t cap_aare, cap_get, cap_rlre;

static void probe_meter(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0)
        die("probe: connect to metersim: %s", strerror(errno));
    dlms_client_t *dc = client_new();
    uint8_t buf[TX_CAP];
    ms_wr_t w;
    ms_wr_init(&w, buf, sizeof buf);
    w.len = WRAP_HEADER_LEN;
    if (dlms_client_aarq(dc, &w) != 0)
        die("probe: AARQ");
    probe_exchange(fd, dc, &w, &cap_aare);
    if (!dlms_client_associated(dc))
        die("probe: metersim refused the public client's AARQ (result %u, diagnostic %u)",
            dlms_client_result(dc)->result, dlms_client_result(dc)->diagnostic);
    ms_wr_init(&w, buf, sizeof buf);
    w.len = WRAP_HEADER_LEN;
    dlms_attr_sel_t a = energy_attr();
    if (dlms_client_get(dc, &a, &w) != 0)
        die("probe: GET");
    probe_exchange(fd, dc, &w, &cap_get);
    const dlms_client_result_t *r = dlms_client_result(dc);
    if (r->apdu_tag != DLMS_TAG_GET_RESPONSE || r->count != 1 || !r->get[0].is_data ||
        r->get[0].data.type != DLMS_DOUBLE_LONG_UNSIGNED)
        die("probe: GET 1-0:1.8.0.255/2 did not answer a double-long-unsigned");
    ms_wr_init(&w, buf, sizeof buf);
    w.len = WRAP_HEADER_LEN;
    if (dlms_client_rlrq(dc, &w) != 0)
        die("probe: RLRQ");
    probe_exchange(fd, dc, &w, &cap_rlre);
    dlms_client_free(dc);
    close(fd);
}

/* ---- the echo server (a child process with its own loop) ------------------------- */

typedef struct echo_conn {
    uv_tcp_t h;
    wrap_decoder_t dec;
    uint8_t apdu[APDU_CAP];
} echo_conn_t;

typedef struct wreq {
    uv_write_t req;
    uint8_t data[];
} wreq_t;

static uint8_t rx_buf[65536]; /* one loop per process: reads are consumed at once */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    *b = uv_buf_init((char *)rx_buf, sizeof rx_buf);
}

static void free_handle(uv_handle_t *h)
{
    free(h->data);
}

static void on_wreq_done(uv_write_t *req, int status)
{
    free(req->data);
}

/* Write n octets now, queueing what the socket does not take. @return 0 or a uv error */
static int send_bytes(uv_stream_t *s, const uint8_t *p, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int r = uv_try_write(s, &b, 1);
    if (r == (int)n)
        return 0;
    if (r < 0 && r != UV_EAGAIN)
        return r;
    size_t done = r > 0 ? (size_t)r : 0;
    wreq_t *w = malloc(sizeof *w + (n - done));
    if (!w)
        return UV_ENOMEM;
    memcpy(w->data, p + done, n - done);
    w->req.data = w;
    b = uv_buf_init((char *)w->data, (unsigned)(n - done));
    r = uv_write(&w->req, s, &b, 1, on_wreq_done);
    if (r < 0)
        free(w);
    return r;
}

static void echo_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    echo_conn_t *c = s->data;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, free_handle);
        return;
    }
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t len = (size_t)nread;
    while (len > 0) {
        size_t used = 0;
        wrap_frame_t f;
        int rc = wrap_decoder_feed(&c->dec, p, len, &used, &f);
        p += used;
        len -= used;
        if (rc < 0) {
            uv_close((uv_handle_t *)s, free_handle);
            return;
        }
        if (rc == 0)
            break;
        const frame_t *a = f.length && f.apdu[0] == DLMS_TAG_AARQ   ? &cap_aare
                           : f.length && f.apdu[0] == DLMS_TAG_RLRQ ? &cap_rlre
                                                                    : &cap_get;
        if (send_bytes(s, a->b, a->len) < 0) {
            uv_close((uv_handle_t *)s, free_handle);
            return;
        }
    }
}

static void echo_on_conn(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    echo_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(server->loop, &c->h);
    c->h.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
        uv_close((uv_handle_t *)&c->h, free_handle);
        return;
    }
    uv_tcp_nodelay(&c->h, 1); /* as metersim's accepted connections */
    wrap_decoder_init(&c->dec, c->apdu, sizeof c->apdu);
    uv_read_start((uv_stream_t *)&c->h, on_alloc, echo_on_read);
}

/* Fork the echo server; it listens on 127.0.0.1:0 and tells its port through a pipe. */
static void start_echo(struct sockaddr_in *sa)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        close(fds[0]);
        if (meter_out >= 0)
            close(meter_out);
        signal(SIGTERM, SIG_DFL);
        pin_to(1);
        uv_loop_t loop;
        uv_tcp_t server;
        struct sockaddr_in a;
        uv_loop_init(&loop);
        uv_ip4_addr("127.0.0.1", 0, &a);
        uv_tcp_init(&loop, &server);
        if (uv_tcp_bind(&server, (const struct sockaddr *)&a, 0) != 0 ||
            uv_listen((uv_stream_t *)&server, SOMAXCONN, echo_on_conn) != 0)
            _exit(1);
        int len = sizeof a;
        uv_tcp_getsockname(&server, (struct sockaddr *)&a, &len);
        uint16_t port = ntohs(a.sin_port);
        if (write(fds[1], &port, sizeof port) != sizeof port)
            _exit(1);
        close(fds[1]);
        uv_run(&loop, UV_RUN_DEFAULT);
        _exit(0); /* not exit(): the parent's atexit handler is not ours to run */
    }
    echo_pid = pid;
    close(fds[1]);
    uint16_t port = 0;
    struct pollfd p = { .fd = fds[0], .events = POLLIN };
    if (poll(&p, 1, 10000) != 1 || read(fds[0], &port, sizeof port) != sizeof port)
        die("echo server did not start");
    close(fds[0]);
    uv_ip4_addr("127.0.0.1", port, sa);
}

/* ---- the clients ------------------------------------------------------------------ */

typedef enum cstate {
    C_CONNECTING,
    C_ASSOCIATING,
    C_IDLE, /* associated, nothing outstanding */
    C_GET,
    C_RELEASING,
    C_CLOSED,
} cstate_t;

typedef enum phase {
    P_SETUP,   /* connecting and associating */
    P_WARMUP,  /* closed loops running, not counted */
    P_MEASURE, /* counted */
    P_DRAIN,   /* no new requests; waiting for the outstanding ones */
    P_RELEASE,
} phase_t;

typedef struct bench bench_t;

typedef struct conn {
    bench_t *b;
    uv_tcp_t h;
    uv_connect_t creq;
    dlms_client_t *dc;
    wrap_decoder_t dec;
    cstate_t st;
    bool handle_open;
    unsigned step; /* --check: the attribute being read (0..2) */
    uint64_t t_sent;
    uint8_t tx[TX_CAP];
    uint8_t apdu[APDU_CAP];
} conn_t;

/* What --check compares with (from the control API). */
typedef struct expect {
    uint64_t energy_wh;
    char serial[32];
    int64_t clock_utc;
    int deviation_min;
    uint8_t clock_status;
} expect_t;

struct bench {
    uv_loop_t *loop;
    bool check;
    const meter_info_t *mi; /* --check */
    const expect_t *ex;     /* --check */
    conn_t *conns;
    unsigned n;
    unsigned associated, idle, closed;
    phase_t phase;
    uv_timer_t timer, watchdog;
    double warmup_s, seconds;
    uint64_t t_start, t_end;
    pid_t server_pid;            /* whose CPU time is sampled with the window */
    uint64_t cpu_start, cpu_end; /* its run time (ns), and this process's */
    uint64_t self_start, self_end;
    uint64_t *lat; /* ns, answers completed while measuring */
    size_t nlat, lat_cap;
    uint64_t errors, other_errors_shown;
    bool all_open_at_once; /* --check: metersim reported n connections */
};

static void conn_error(conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void conn_close(conn_t *c);
static void all_idle(bench_t *b);

static void conn_error(conn_t *c, const char *fmt, ...)
{
    bench_t *b = c->b;
    b->errors++;
    if (b->other_errors_shown < 10) {
        b->other_errors_shown++;
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "bench_dlms_get: connection %u: ", (unsigned)(c - b->conns));
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    bench_t *b = c->b;
    b->closed++;
    if (b->closed == b->n) {
        uv_timer_stop(&b->timer);
        uv_timer_stop(&b->watchdog);
    }
}

static void conn_close(conn_t *c)
{
    if (c->st == C_CLOSED)
        return;
    bench_t *b = c->b;
    cstate_t was = c->st;
    c->st = C_CLOSED;
    if (c->handle_open)
        uv_close((uv_handle_t *)&c->h, on_conn_closed);
    else
        on_conn_closed((uv_handle_t *)&c->h);
    /* a connection lost before its part was done must not stall the others */
    if (was == C_CONNECTING || was == C_ASSOCIATING) {
        if (++b->associated == b->n)
            all_idle(b);
    } else if (was == C_GET) {
        if (++b->idle == b->n)
            all_idle(b);
    }
}

/* Send the request the client appended to c->tx after the header space. */
static void conn_send(conn_t *c, ms_wr_t *w)
{
    size_t n = w->len - WRAP_HEADER_LEN;
    ms_wr_t h;
    ms_wr_init(&h, c->tx, WRAP_HEADER_LEN);
    wrap_encode_header(&h, CLIENT_SAP, SERVER_SAP, n);
    c->t_sent = uv_hrtime();
    int r = send_bytes((uv_stream_t *)&c->h, c->tx, w->len);
    if (r < 0) {
        conn_error(c, "write: %s", uv_strerror(r));
        conn_close(c);
    }
}

static void start_writer(conn_t *c, ms_wr_t *w)
{
    ms_wr_init(w, c->tx, sizeof c->tx);
    w->len = WRAP_HEADER_LEN;
}

/* The attributes --check reads, in order. */
static dlms_attr_sel_t check_attr(unsigned step)
{
    switch (step) {
    case 0:
        return energy_attr();
    case 1: /* Data, device ID 1 (serial number) */
        return attr_sel(1, MS_OBIS(0, 0, 96, 1, 0, 255), 2);
    default: /* Clock, time */
        return attr_sel(8, MS_OBIS(0, 0, 1, 0, 0, 255), 2);
    }
}

static void send_get(conn_t *c)
{
    ms_wr_t w;
    start_writer(c, &w);
    dlms_attr_sel_t a = c->b->check ? check_attr(c->step) : energy_attr();
    c->st = C_GET; /* also when it fails: conn_close() then ends this loop */
    int rc = dlms_client_get(c->dc, &a, &w);
    if (rc != 0) {
        conn_error(c, "GET: %s", ms_strerror(rc));
        conn_close(c);
        return;
    }
    conn_send(c, &w);
}

static void send_rlrq(conn_t *c)
{
    ms_wr_t w;
    start_writer(c, &w);
    int rc = dlms_client_rlrq(c->dc, &w);
    if (rc != 0) {
        conn_error(c, "RLRQ: %s", ms_strerror(rc));
        conn_close(c);
        return;
    }
    c->st = C_RELEASING;
    conn_send(c, &w);
}

/* CPU time a process has run so far, user and system, in ns (/proc/PID/schedstat,
 * first field); 0 when unknown. */
static uint64_t cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

static void on_measure_end(uv_timer_t *t)
{
    bench_t *b = t->data;
    if (b->phase != P_MEASURE)
        return;
    b->t_end = uv_hrtime();
    b->cpu_end = cpu_ns(b->server_pid);
    b->self_end = cpu_ns(getpid());
    b->phase = P_DRAIN;
}

static void on_warmup_end(uv_timer_t *t)
{
    bench_t *b = t->data;
    b->phase = P_MEASURE;
    b->cpu_start = cpu_ns(b->server_pid);
    b->self_start = cpu_ns(getpid());
    b->t_start = uv_hrtime();
    uv_timer_start(&b->timer, on_measure_end, (uint64_t)(b->seconds * 1000), 0);
}

static void on_watchdog(uv_timer_t *t)
{
    bench_t *b = t->data;
    fprintf(stderr,
            "bench_dlms_get: run timed out (phase %d, %u associated, %u idle, "
            "%u closed of %u)\n",
            (int)b->phase, b->associated, b->idle, b->closed, b->n);
    b->errors++;
    for (unsigned i = 0; i < b->n; i++)
        conn_close(&b->conns[i]);
}

/* GET answer: check it, then go on with the loop (benchmark) or the next attribute. */
static void got_get(conn_t *c, const dlms_client_result_t *r)
{
    bench_t *b = c->b;
    uint64_t now = uv_hrtime();
    bool ok = r->op == DLMS_OP_GET && r->apdu_tag == DLMS_TAG_GET_RESPONSE &&
              r->count == 1 && r->get[0].is_data;
    const dlms_data_t *d = ok ? &r->get[0].data : NULL;
    if (!ok) {
        conn_error(c, "GET answer: tag 0x%02X, %s (DAR %u)", r->apdu_tag,
                   r->count == 1 && !r->get[0].is_data ? "data-access-result" : "no data",
                   r->count ? r->get[0].dar : 0);
    } else if (!b->check) {
        if (d->type != DLMS_DOUBLE_LONG_UNSIGNED) {
            conn_error(c, "GET answer: type %u, expected double-long-unsigned (6)",
                       d->type);
        } else if (b->phase == P_MEASURE) {
            if (b->nlat == b->lat_cap) {
                size_t cap = b->lat_cap ? b->lat_cap * 2 : 1u << 20;
                uint64_t *p = realloc(b->lat, cap * sizeof *p);
                if (!p)
                    die("out of memory");
                b->lat = p;
                b->lat_cap = cap;
            }
            b->lat[b->nlat++] = now - c->t_sent;
        }
    } else if (c->step == 0) {
        if (d->type != DLMS_DOUBLE_LONG_UNSIGNED || d->v.u != b->ex->energy_wh)
            conn_error(c,
                       "1-0:1.8.0.255/2: type %u value %" PRIu64 ", expected "
                       "double-long-unsigned %" PRIu64 " Wh (control API)",
                       d->type, d->v.u, b->ex->energy_wh);
    } else if (c->step == 1) {
        size_t n = strlen(b->ex->serial);
        if (d->type != DLMS_OCTET_STRING || d->n != n ||
            memcmp(d->v.bytes, b->ex->serial, n))
            conn_error(c, "0.0.96.1.0.255/2: type %u '%.*s', expected octet-string '%s'",
                       d->type,
                       d->type == DLMS_OCTET_STRING ? (int)(d->n < 64 ? d->n : 64) : 0,
                       d->type == DLMS_OCTET_STRING ? (const char *)d->v.bytes : "",
                       b->ex->serial);
    } else {
        int64_t utc = 0;
        dlms_datetime_t f;
        int rc = d->type == DLMS_OCTET_STRING && d->n == DLMS_DATE_TIME_LEN
                     ? dlms_datetime_to_utc(d->v.bytes, &utc, &f)
                     : MS_EFRAME;
        if (rc != 0 || utc != b->ex->clock_utc || f.deviation != b->ex->deviation_min ||
            f.status != b->ex->clock_status)
            conn_error(c,
                       "0.0.1.0.0.255/2: rc %d, %" PRId64 " deviation %d status 0x%02X; "
                       "expected %" PRId64 " deviation %d status 0x%02X (control API)",
                       rc, utc, rc == 0 ? f.deviation : 0, rc == 0 ? f.status : 0,
                       b->ex->clock_utc, b->ex->deviation_min, b->ex->clock_status);
    }
    if (b->check) {
        if (++c->step < 3) {
            send_get(c);
            return;
        }
        c->st = C_IDLE;
        if (++b->idle == b->n)
            all_idle(b);
        return;
    }
    if (b->phase < P_DRAIN) {
        send_get(c);
        return;
    }
    c->st = C_IDLE;
    if (++b->idle == b->n)
        all_idle(b);
}

static void got_apdu(conn_t *c, const uint8_t *apdu, size_t len)
{
    bench_t *b = c->b;
    ms_wr_t w;
    start_writer(c, &w);
    int rc = dlms_client_feed(c->dc, apdu, len, &w);
    if (rc == DLMS_CLIENT_SEND) { /* a follow-up (not expected for these reads) */
        conn_send(c, &w);
        return;
    }
    if (rc < 0) {
        conn_error(c, "answer not understood: %s", ms_strerror(rc));
        conn_close(c);
        return;
    }
    const dlms_client_result_t *r = dlms_client_result(c->dc);
    switch (c->st) {
    case C_ASSOCIATING:
        if (!r->associated) {
            conn_error(c, "AARE: rejected (result %u, diagnostic %u)", r->result,
                       r->diagnostic);
            conn_close(c);
            return;
        }
        c->st = C_IDLE;
        if (++b->associated == b->n)
            all_idle(b);
        break;
    case C_GET:
        got_get(c, r);
        break;
    case C_RELEASING:
        if (r->apdu_tag != DLMS_TAG_RLRE || dlms_client_associated(c->dc))
            conn_error(c, "RLRQ answered with tag 0x%02X", r->apdu_tag);
        conn_close(c);
        break;
    default:
        conn_error(c, "unexpected answer (tag 0x%02X)", len ? apdu[0] : 0);
        conn_close(c);
        break;
    }
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (nread < 0) {
        if (c->st != C_CLOSED)
            conn_error(c, "connection ended: %s", uv_strerror((int)nread));
        conn_close(c);
        return;
    }
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t len = (size_t)nread;
    while (len > 0 && c->st != C_CLOSED) {
        size_t used = 0;
        wrap_frame_t f;
        int rc = wrap_decoder_feed(&c->dec, p, len, &used, &f);
        p += used;
        len -= used;
        if (rc < 0) {
            conn_error(c, "wrapper: %s", ms_strerror(rc));
            conn_close(c);
            return;
        }
        if (rc == 0)
            break;
        if (f.src_wport != SERVER_SAP || f.dst_wport != CLIENT_SAP) {
            conn_error(c, "wrapper ports %u -> %u", f.src_wport, f.dst_wport);
            conn_close(c);
            return;
        }
        got_apdu(c, f.apdu, f.length);
    }
}

static void conn_on_connect(uv_connect_t *req, int status)
{
    conn_t *c = req->data;
    if (c->st == C_CLOSED)
        return;
    if (status < 0) {
        conn_error(c, "connect: %s", uv_strerror(status));
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->h, 1);
    uv_read_start((uv_stream_t *)&c->h, on_alloc, conn_on_read);
    ms_wr_t w;
    start_writer(c, &w);
    int rc = dlms_client_aarq(c->dc, &w);
    if (rc != 0) {
        conn_error(c, "AARQ: %s", ms_strerror(rc));
        conn_close(c);
        return;
    }
    c->st = C_ASSOCIATING;
    conn_send(c, &w);
}

static void check_all_open(bench_t *b);

/* Every connection is idle: after the setup, start the loops (or the reads); after
 * the loops, release. */
static void all_idle(bench_t *b)
{
    if (b->phase == P_SETUP) {
        b->idle = 0; /* connections lost during the setup count as ended loops */
        for (unsigned i = 0; i < b->n; i++)
            b->idle += b->conns[i].st != C_IDLE;
        b->phase = b->check ? P_MEASURE : P_WARMUP;
        if (!b->check) {
            uv_timer_start(&b->timer, on_warmup_end, (uint64_t)(b->warmup_s * 1000), 0);
        } else {
            b->t_start = uv_hrtime();
        }
        for (unsigned i = 0; i < b->n; i++)
            if (b->conns[i].st == C_IDLE)
                send_get(&b->conns[i]);
        if (b->idle == b->n) /* nothing left to run */
            all_idle(b);
        return;
    }
    if (b->phase == P_RELEASE)
        return;
    if (b->check)
        check_all_open(b);
    else if (b->phase == P_MEASURE) /* every loop ended early: connections lost */
        b->t_end = uv_hrtime();
    uv_timer_stop(&b->timer);
    b->phase = P_RELEASE;
    for (unsigned i = 0; i < b->n; i++)
        if (b->conns[i].st == C_IDLE)
            send_rlrq(&b->conns[i]);
}

typedef struct result {
    unsigned conns;
    const char *server;
    double gets_per_s, p50_ms, p99_ms, mean_ms, max_ms;
    double server_cpu_us, client_cpu_us; /* CPU time per GET while measuring */
    double server_load;                  /* the server's CPU time / wall time */
    uint64_t count, errors;
    double setup_s;
} result_t;

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* nearest-rank percentile of sorted v[0..n) */
static double pct_ms(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e6;
}

/* One run: n associations to sa, through to their release. */
static result_t run(bench_t *b, const struct sockaddr_in *sa, pid_t server, unsigned n)
{
    result_t res = { .conns = n };
    b->conns = calloc(n, sizeof *b->conns);
    if (!b->conns)
        die("out of memory");
    b->n = n;
    b->server_pid = server;
    b->associated = b->idle = b->closed = 0;
    b->phase = P_SETUP;
    b->nlat = 0;
    b->errors = 0;
    b->other_errors_shown = 0;
    b->t_start = b->t_end = 0;
    b->cpu_start = b->cpu_end = b->self_start = b->self_end = 0;
    uv_timer_init(b->loop, &b->timer);
    uv_timer_init(b->loop, &b->watchdog);
    b->timer.data = b->watchdog.data = b;
    double limit_s = b->check ? 120 : b->warmup_s + b->seconds + 60;
    uv_timer_start(&b->watchdog, on_watchdog, (uint64_t)(limit_s * 1000), 0);
    uint64_t t0 = uv_hrtime();
    for (unsigned i = 0; i < n; i++) {
        conn_t *c = &b->conns[i];
        c->b = b;
        c->dc = client_new();
        wrap_decoder_init(&c->dec, c->apdu, sizeof c->apdu);
        c->h.data = c;
        c->creq.data = c;
        c->st = C_CONNECTING;
        int r = uv_tcp_init(b->loop, &c->h);
        if (r == 0) {
            c->handle_open = true;
            r = uv_tcp_connect(&c->creq, &c->h, (const struct sockaddr *)sa,
                               conn_on_connect);
        }
        if (r < 0) {
            conn_error(c, "connect: %s", uv_strerror(r));
            conn_close(c);
        }
    }
    uv_run(b->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&b->timer, NULL);
    uv_close((uv_handle_t *)&b->watchdog, NULL);
    uv_run(b->loop, UV_RUN_DEFAULT);
    res.setup_s = (double)(uv_hrtime() - t0) / 1e9;
    for (unsigned i = 0; i < n; i++)
        dlms_client_free(b->conns[i].dc);
    free(b->conns);
    b->conns = NULL;
    res.errors = b->errors;
    res.count = b->nlat;
    if (!b->check && b->t_end > b->t_start) {
        res.gets_per_s = (double)b->nlat / ((double)(b->t_end - b->t_start) / 1e9);
        qsort(b->lat, b->nlat, sizeof *b->lat, cmp_u64);
        res.p50_ms = pct_ms(b->lat, b->nlat, 50);
        res.p99_ms = pct_ms(b->lat, b->nlat, 99);
        res.max_ms = b->nlat ? (double)b->lat[b->nlat - 1] / 1e6 : 0;
        double sum = 0;
        for (size_t i = 0; i < b->nlat; i++)
            sum += (double)b->lat[i];
        res.mean_ms = b->nlat ? sum / (double)b->nlat / 1e6 : 0;
        if (b->nlat && b->cpu_end > b->cpu_start && b->self_end > b->self_start) {
            res.server_cpu_us =
                (double)(b->cpu_end - b->cpu_start) / 1e3 / (double)b->nlat;
            res.client_cpu_us =
                (double)(b->self_end - b->self_start) / 1e3 / (double)b->nlat;
            res.server_load =
                (double)(b->cpu_end - b->cpu_start) / (double)(b->t_end - b->t_start);
        }
    }
    return res;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "bench_dlms_get: setrlimit(RLIMIT_NOFILE): %s\n",
                    strerror(errno));
    }
}

static void check_nofile(unsigned conns)
{
    struct rlimit rl;
    /* the client's sockets, plus a margin for the loop and stdio */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 64)
        die("%u connections need more open files than RLIMIT_NOFILE %lu", conns,
            (unsigned long)rl.rlim_cur);
}

/* ---- the control API (--check) ---------------------------------------------------- */

typedef struct http_buf {
    char *p;
    size_t len;
} http_buf_t;

static size_t http_collect(char *p, size_t size, size_t nmemb, void *ud)
{
    http_buf_t *hb = ud;
    size_t n = size * nmemb;
    char *q = realloc(hb->p, hb->len + n + 1);
    if (!q)
        return 0;
    memcpy(q + hb->len, p, n);
    hb->len += n;
    q[hb->len] = 0;
    hb->p = q;
    return n;
}

/* method path (under the control URL) with an optional JSON body -> the JSON answer
 * (status 200 only). */
static json_t *http_json(const meter_info_t *mi, const char *method, const char *path,
                         const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", mi->control, path);
    CURL *cu = curl_easy_init();
    if (!cu)
        die("curl_easy_init");
    http_buf_t hb = { 0 };
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(cu, CURLOPT_URL, url);
    curl_easy_setopt(cu, CURLOPT_NOPROXY, "*"); /* loopback: never through a proxy */
    curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &hb);
    if (body)
        curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(cu);
    long status = 0;
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(cu);
    if (rc != CURLE_OK)
        die("%s %s: %s", method, url, curl_easy_strerror(rc));
    json_error_t je;
    json_t *j = hb.p ? json_loads(hb.p, 0, &je) : NULL;
    if (status != 200 || !j)
        die("%s %s: HTTP %ld %s", method, url, status, hb.p ? hb.p : "");
    free(hb.p);
    return j;
}

/* The values the meter's COSEM view must show, from GET /v1/meters/{id}. */
static void control_expect(const meter_info_t *mi, expect_t *ex)
{
    char path[128];
    snprintf(path, sizeof path, "/meters/%s", mi->id);
    json_t *m = http_json(mi, "GET", path, NULL);
    const char *serial = NULL, *meter_time = NULL;
    int dst = 0;
    json_int_t off = 0;
    json_t *regs = NULL;
    if (json_unpack(m, "{s:s, s:{s:s, s:I, s:b}, s:o}", "serial", &serial, "clock",
                    "meter_time", &meter_time, "utc_offset_s", &off, "dst", &dst,
                    "registers", &regs) != 0 ||
        !json_is_array(regs))
        die("GET %s: no serial, clock.meter_time/utc_offset_s/dst or registers", path);
    if (strcmp(serial, CHECK_SERIAL) != 0)
        die("control API serial '%s', the model's is '%s'", serial, CHECK_SERIAL);
    snprintf(ex->serial, sizeof ex->serial, "%s", CHECK_SERIAL);
    int offset_s = 0;
    if (ms_iso8601_parse(meter_time, &ex->clock_utc, &offset_s) != 0 || offset_s != off)
        die("clock.meter_time '%s' does not parse, or its offset is not %lld s",
            meter_time, (long long)off);
    /* Blue Book 4.1.6.1: deviation = UTC - local in minutes; clock_status bit 7 is
     * daylight saving active */
    ex->deviation_min = (int)(-off / 60);
    ex->clock_status = dst ? 0x80 : 0x00;
    bool found = false;
    size_t i;
    json_t *r;
    json_array_foreach(regs, i, r)
    {
        const char *obis = json_string_value(json_object_get(r, "obis"));
        if (!obis || strcmp(obis, "1-0:1.8.0*255") != 0)
            continue;
        json_int_t raw = 0, scale = 0;
        const char *unit = NULL;
        if (json_unpack(r, "{s:I, s:I, s:s}", "raw", &raw, "raw_scale", &scale,
                        "raw_unit", &unit) != 0 ||
            strcmp(unit, "Wh") != 0 || raw < 0 || scale > 0)
            die("register 1-0:1.8.0*255: no raw in 10^raw_scale Wh");
        /* the COSEM Register shows whole Wh (scaler 0, unit 30 Wh): truncated */
        uint64_t v = (uint64_t)raw;
        for (json_int_t k = scale; k < 0; k++)
            v /= 10;
        ex->energy_wh = v;
        found = true;
    }
    if (!found)
        die("GET %s: no register 1-0:1.8.0*255", path);
    json_decref(m);
}

/* --check, while every association is open: metersim must hold all of them. */
static void check_all_open(bench_t *b)
{
    unsigned open = 0;
    for (unsigned i = 0; i < b->n; i++)
        open += b->conns[i].st == C_IDLE;
    char path[128];
    snprintf(path, sizeof path, "/meters/%s", b->mi->id);
    json_t *m = http_json(b->mi, "GET", path, NULL);
    json_int_t served = -1;
    json_unpack(m, "{s:[{s:I}]}", "ports", "connections", &served);
    json_decref(m);
    printf("all reads done: %u of %u associations open here, metersim reports %lld "
           "connections\n",
           open, b->n, (long long)served);
    b->all_open_at_once = open == b->n && served == (json_int_t)b->n;
    if (!b->all_open_at_once) {
        fprintf(stderr, "bench_dlms_get: not every association was open at once\n");
        b->errors++;
    }
}

static int run_check(const char *metersim, unsigned n)
{
    check_nofile(n);
    meter_info_t mi;
    const char *extra[] = { "--start", CHECK_START, NULL };
    start_metersim(metersim, extra, &mi);
    char body[64];
    snprintf(body, sizeof body, "{\"advance_s\": %d}", CHECK_ADVANCE_S);
    json_decref(http_json(&mi, "POST", "/clock", body));
    expect_t ex;
    control_expect(&mi, &ex);
    if (ex.energy_wh == 0)
        die("1-0:1.8.0*255 is still 0 Wh after a day: nothing to compare");
    char when[40];
    ms_iso8601_format(ex.clock_utc, -ex.deviation_min * 60, when, sizeof when);
    printf("control API: 1-0:1.8.0*255 = %" PRIu64 " Wh, serial %s, meter time %s\n",
           ex.energy_wh, ex.serial, when);

    uv_loop_t loop;
    uv_loop_init(&loop);
    bench_t b = { .loop = &loop, .check = true, .mi = &mi, .ex = &ex };
    uint64_t t0 = uv_hrtime();
    result_t r = run(&b, &mi.addr, meter_pid, n);
    uv_loop_close(&loop);
    /* the clock is stepped: it must not have moved while the values were read */
    expect_t after;
    control_expect(&mi, &after);
    if (after.clock_utc != ex.clock_utc || after.energy_wh != ex.energy_wh) {
        fprintf(stderr, "bench_dlms_get: the meter changed while it was read\n");
        r.errors++;
    }
    int st = stop_child(&meter_pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr,
                "bench_dlms_get: metersim did not exit 0 on SIGTERM (status %d)\n", st);
        r.errors++;
    }
    printf("%u associations, 3 attributes each: %" PRIu64 " errors, %.2f s%s\n", n,
           r.errors, (double)(uv_hrtime() - t0) / 1e9, r.errors ? "" : " -- all correct");
    free(b.lat);
    return r.errors || !b.all_open_at_once ? 1 : 0;
}

/* ---- the benchmark ---------------------------------------------------------------- */

static void write_json(const char *path, const result_t *res, size_t nres, double seconds,
                       double warmup)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("--json %s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"benchmark\": \"bench_dlms_get\",\n");
    fprintf(f, "  \"request\": \"GET-Request-Normal 3/1-0:1.8.0.255/2\",\n");
    fprintf(f, "  \"transport\": \"IEC 62056-47 wrapper, TCP 127.0.0.1\",\n");
    fprintf(f, "  \"seconds\": %g, \"warmup_s\": %g, \"pinned\": %s,\n  \"runs\": [\n",
            seconds, warmup, pin ? "true" : "false");
    for (size_t i = 0; i < nres; i++) {
        const result_t *r = &res[i];
        fprintf(f,
                "    {\"conns\": %u, \"server\": \"%s\", \"gets_per_s\": %.1f, "
                "\"requests\": %" PRIu64 ", \"p50_ms\": %.4f, \"p99_ms\": %.4f, "
                "\"mean_ms\": %.4f, \"max_ms\": %.3f, \"server_cpu_us_per_get\": %.3f, "
                "\"client_cpu_us_per_get\": %.3f, \"server_cpu_load\": %.3f, "
                "\"errors\": %" PRIu64 "}%s\n",
                r->conns, r->server, r->gets_per_s, r->count, r->p50_ms, r->p99_ms,
                r->mean_ms, r->max_ms, r->server_cpu_us, r->client_cpu_us, r->server_load,
                r->errors, i + 1 < nres ? "," : "");
    }
    fprintf(f, "  ],\n  \"ratio_metersim_to_echo\": {");
    for (size_t i = 0; i + 1 < nres; i += 2)
        fprintf(f, "%s\"%u\": %.3f", i ? ", " : "", res[i].conns,
                res[i + 1].gets_per_s > 0 ? res[i].gets_per_s / res[i + 1].gets_per_s
                                          : 0);
    fprintf(f, "}\n}\n");
    fclose(f);
}

static int run_bench(const char *metersim, const unsigned *conns, size_t nconns,
                     double seconds, double warmup, const char *json)
{
    unsigned maxc = 0;
    for (size_t i = 0; i < nconns; i++)
        maxc = conns[i] > maxc ? conns[i] : maxc;
    check_nofile(maxc);
    meter_info_t mi;
    start_metersim(metersim, NULL, &mi);
    probe_meter(&mi.addr);
    struct sockaddr_in echo_addr;
    start_echo(&echo_addr);

    printf("DLMS GET-Request-Normal, Register 1-0:1.8.0.255 attribute 2, IEC 62056-47 "
           "wrapper on 127.0.0.1\n");
    printf("closed loop, one request outstanding per association; %.1f s measured "
           "after %.1f s warm-up\n",
           seconds, warmup);
    printf("answer frame %zu octets (GET-Response %zu), the echo server sends the same "
           "bytes\n\n",
           cap_get.len, cap_get.len - WRAP_HEADER_LEN);
    printf("%6s  %-8s %9s %8s %8s %8s %8s %6s %8s %7s %8s %7s\n", "conns", "server",
           "GET/s", "p50 ms", "p99 ms", "mean ms", "max ms", "errors", "srv us",
           "srv CPU", "cli us", "vs echo");
    fflush(stdout);

    uv_loop_t loop;
    uv_loop_init(&loop);
    bench_t b = { .loop = &loop, .warmup_s = warmup, .seconds = seconds };
    result_t *res = calloc(nconns * 2, sizeof *res);
    uint64_t errors = 0;
    for (size_t i = 0; i < nconns; i++) {
        for (int s = 0; s < 2; s++) {
            result_t r = run(&b, s == 0 ? &mi.addr : &echo_addr,
                             s == 0 ? meter_pid : echo_pid, conns[i]);
            r.server = s == 0 ? "metersim" : "echo";
            res[2 * i + (size_t)s] = r;
            errors += r.errors;
            char ratio[16] = "";
            if (s == 1 && r.gets_per_s > 0)
                snprintf(ratio, sizeof ratio, "%.0f%%",
                         100.0 * res[2 * i].gets_per_s / r.gets_per_s);
            printf("%6u  %-8s %9.0f %8.3f %8.3f %8.3f %8.2f %6" PRIu64
                   " %8.2f %6.0f%% %8.2f %7s\n",
                   r.conns, r.server, r.gets_per_s, r.p50_ms, r.p99_ms, r.mean_ms,
                   r.max_ms, r.errors, r.server_cpu_us, 100 * r.server_load,
                   r.client_cpu_us, ratio);
            fflush(stdout);
        }
    }
    uv_loop_close(&loop);
    free(b.lat);
    printf("\nsrv us / cli us: CPU time (user + system) of the server / of this client "
           "per GET while measuring;\nsrv CPU: the server's CPU time over wall time "
           "(100%% = one core busy)\n");
    printf("target (DESIGN.md): at 100 associations >= 50%% of the echo server's rate "
           "and >= 10x the Gurux DLMS C server example (about 9,000 GET/s here)\n");
    stop_child(&echo_pid);
    int st = stop_child(&meter_pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr,
                "bench_dlms_get: metersim did not exit 0 on SIGTERM (status %d)\n", st);
        errors++;
    }
    if (json)
        write_json(json, res, nconns * 2, seconds, warmup);
    free(res);
    if (errors) {
        fprintf(stderr, "bench_dlms_get: %" PRIu64 " errors\n", errors);
        return 1;
    }
    return 0;
}

static const char usage[] =
    "usage: bench_dlms_get [--metersim PATH] [--conns 1,100,1000] [--seconds 5]\n"
    "                      [--warmup 0.5] [--pin] [--json PATH]\n"
    "       bench_dlms_get --check [--metersim PATH] [--conns 1000]\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "metersim", required_argument, 0, 'm' },
        { "conns", required_argument, 0, 'c' },
        { "seconds", required_argument, 0, 's' },
        { "warmup", required_argument, 0, 'w' },
        { "json", required_argument, 0, 'j' },
        { "check", no_argument, 0, 'k' },
        { "pin", no_argument, 0, 'p' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *metersim = MS_METERSIM_PATH, *json = NULL, *conns_arg = NULL;
    double seconds = 5, warmup = 0.5;
    bool check = false;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm':
            metersim = optarg;
            break;
        case 'c':
            conns_arg = optarg;
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'w':
            warmup = atof(optarg);
            break;
        case 'j':
            json = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'p':
            pin = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc || seconds <= 0 || warmup < 0) {
        fputs(usage, stderr);
        return 2;
    }
    unsigned conns[MAX_CONNS_LISTS];
    size_t nconns = 0;
    const char *p = conns_arg ? conns_arg : check ? "1000" : "1,100,1000";
    while (*p && nconns < MAX_CONNS_LISTS) {
        char *e;
        unsigned long v = strtoul(p, &e, 10);
        if (e == p || v == 0 || v > 100000 || (*e && *e != ',')) {
            fprintf(stderr, "bench_dlms_get: --conns %s: expected N[,N...]\n", conns_arg);
            return 2;
        }
        conns[nconns++] = (unsigned)v;
        p = *e ? e + 1 : e;
    }
    if (check && nconns != 1) {
        fprintf(stderr, "bench_dlms_get: --check takes one --conns value\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    pin_to(0);
    atexit(stop_children);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = check ? run_check(metersim, conns[0])
                   : run_bench(metersim, conns, nconns, seconds, warmup, json);
    curl_global_cleanup();
    return rc;
}
