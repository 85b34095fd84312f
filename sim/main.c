/*
** main.c — metersim: a meter in software, on ptys and TCP, driven by a control API.
** SPDX-License-Identifier: MIT
**
** Contract (DESIGN.md "Contracts users rely on"): one line "ready {json}" on stdout once
** every listener is up, the log on stderr, exit 0 on SIGTERM.
*/
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "control.h"
#include "dlms_wrapper.h"
#include "load.h"
#include "log.h"
#include "model.h"
#include "ms_err.h"
#include "ms_time.h"
#include "sim.h"
#include "state_json.h"

#define MAX_LISTEN 4

static const char usage[] =
    "usage: metersim --model NAME|PATH [options]\n"
    "\n"
    "A simulated electricity meter speaking IEC 62056-21 and DLMS/COSEM on ptys and "
    "TCP.\n"
    "\n"
    "  --model NAME|PATH     meter model: a name in sim/models/ or a .lua file\n"
    "  --load SPEC           what the meter measures: a CSV of cumulative kWh readings\n"
    "                        (Open Power System Data layout) or "
    "constant:IMPORT_W[:EXPORT_W]\n"
    "                        (default constant:500)\n"
    "  --pty LINK            serve a pty, with a symlink at LINK (repeatable)\n"
    "  --serial DEVICE       serve a serial port, e.g. /dev/ttyUSB0 (repeatable)\n"
    "  --tcp HOST:PORT       serve TCP (repeatable; PORT 0 = any free port)\n"
    "  --protocol NAME       iec62056-21 (default; mode E to HDLC when the model offers\n"
    "                        it), dlms-hdlc (pty or TCP), dlms-wrapper (TCP, port 4059)\n"
    "  --control HOST:PORT   control API address (default 127.0.0.1:0)\n"
    "  --clock MODE          stepped | realtime | xN (default realtime)\n"
    "  --start ISO8601       simulation start time (default: now)\n"
    "  --id ID               meter id in the control API (default: the serial number)\n"
    "  --state PATH          keep the meter's non-volatile state in PATH (SQLite); a "
    "restart\n"
    "                        resumes from it\n"
    "  --set FIELD=VALUE     override a model field, e.g. iec62056_21.reaction_ms=1600\n"
    "                        (repeatable; for tests that break conformance on purpose)\n"
    "  --log-level LEVEL     error | warn | info | debug (default info)\n"
    "  --help, --version\n"
    "\n"
    "Prints one line 'ready {json}' on stdout when every listener is up; logs on "
    "stderr;\n"
    "exits 0 on SIGTERM or SIGINT. Docs: docs/metersim.md, docs/control-api.md.\n";

typedef struct options {
    const char *model;
    const char *load;
    bool have_load;
    const char *state;
    const char *pty[MAX_LISTEN];
    int npty;
    const char *serial[MAX_LISTEN];
    int nserial;
    char tcp_host[MAX_LISTEN][64];
    unsigned tcp_port[MAX_LISTEN];
    int ntcp;
    char control_host[64];
    unsigned control_port;
    ms_clock_mode_t clock;
    int64_t factor;
    int64_t start_ms;
    bool have_start;
    const char *id;
    const char *set[32];
    size_t nset;
    ms_proto_t proto;
} options_t;

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("metersim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* "HOST:PORT" or "[V6]:PORT" -> host, port. */
static int parse_hostport(const char *s, char *host, size_t cap, unsigned *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return MS_EPARSE;
        snprintf(host, cap, "%.*s", (int)(end - s - 1), s + 1);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || colon == s)
            return MS_EPARSE;
        snprintf(host, cap, "%.*s", (int)(colon - s), s);
    }
    char *e;
    long p = strtol(colon + 1, &e, 10);
    if (*e || colon[1] == 0 || p < 0 || p > 65535)
        return MS_EPARSE;
    *port = (unsigned)p;
    return 0;
}

static int parse_args(int argc, char **argv, options_t *o)
{
    enum {
        O_MODEL = 256,
        O_LOAD,
        O_PTY,
        O_TCP,
        O_PROTOCOL,
        O_CONTROL,
        O_CLOCK,
        O_START,
        O_ID,
        O_LOG,
        O_FLEET,
        O_SERIAL,
        O_STATE,
        O_HELP,
        O_VERSION,
        O_SET
    };
    static const struct option opts[] = {
        { "model", required_argument, 0, O_MODEL },
        { "load", required_argument, 0, O_LOAD },
        { "pty", required_argument, 0, O_PTY },
        { "tcp", required_argument, 0, O_TCP },
        { "protocol", required_argument, 0, O_PROTOCOL },
        { "control", required_argument, 0, O_CONTROL },
        { "clock", required_argument, 0, O_CLOCK },
        { "start", required_argument, 0, O_START },
        { "id", required_argument, 0, O_ID },
        { "log-level", required_argument, 0, O_LOG },
        { "fleet", required_argument, 0, O_FLEET },
        { "serial", required_argument, 0, O_SERIAL },
        { "state", required_argument, 0, O_STATE },
        { "help", no_argument, 0, O_HELP },
        { "version", no_argument, 0, O_VERSION },
        { "set", required_argument, 0, O_SET },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    snprintf(o->control_host, sizeof o->control_host, "127.0.0.1");
    o->clock = MS_CLOCK_REALTIME;
    o->factor = 1;
    o->load = "constant:500";
    opterr = 0;
    int c, idx;
    while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        switch (c) {
        case O_MODEL:
            o->model = optarg;
            break;
        case O_LOAD:
            o->load = optarg;
            o->have_load = true;
            break;
        case O_PTY:
            if (o->npty == MAX_LISTEN)
                return fail(2, "--pty: at most %d", MAX_LISTEN);
            o->pty[o->npty++] = optarg;
            break;
        case O_TCP:
            if (o->ntcp == MAX_LISTEN)
                return fail(2, "--tcp: at most %d", MAX_LISTEN);
            if (parse_hostport(optarg, o->tcp_host[o->ntcp], sizeof o->tcp_host[0],
                               &o->tcp_port[o->ntcp]))
                return fail(2, "--tcp %s: expected HOST:PORT, e.g. 127.0.0.1:4059",
                            optarg);
            o->ntcp++;
            break;
        case O_PROTOCOL:
            if (!strcmp(optarg, "dlms-hdlc")) {
                o->proto = MS_PROTO_DLMS_HDLC;
            } else if (!strcmp(optarg, "dlms-wrapper")) {
                o->proto = MS_PROTO_DLMS_WRAP;
            } else if (strcmp(optarg, "iec62056-21") != 0) {
                if (!strcmp(optarg, "c1218") || !strcmp(optarg, "c1222"))
                    return fail(2,
                                "--protocol %s: not available in this version yet "
                                "(iec62056-21, dlms-hdlc and dlms-wrapper are)",
                                optarg);
                return fail(
                    2,
                    "--protocol %s: unknown (iec62056-21, dlms-hdlc, dlms-wrapper, "
                    "c1218, c1222)",
                    optarg);
            }
            break;
        case O_CONTROL:
            if (parse_hostport(optarg, o->control_host, sizeof o->control_host,
                               &o->control_port))
                return fail(2, "--control %s: expected HOST:PORT, e.g. 127.0.0.1:8080",
                            optarg);
            break;
        case O_CLOCK:
            if (ms_simclock_parse(optarg, &o->clock, &o->factor))
                return fail(
                    2, "--clock %s: expected stepped, realtime or xN (N = 1..1000000)",
                    optarg);
            break;
        case O_START: {
            int64_t t;
            if (ms_iso8601_parse(optarg, &t, NULL))
                return fail(2,
                            "--start %s: expected ISO 8601 with offset, e.g. "
                            "2016-01-01T00:00:00Z",
                            optarg);
            o->start_ms = t * 1000;
            o->have_start = true;
            break;
        }
        case O_SET:
            if (o->nset == sizeof o->set / sizeof o->set[0])
                return fail(2, "--set: at most %zu", sizeof o->set / sizeof o->set[0]);
            o->set[o->nset++] = optarg;
            break;
        case O_ID:
            if (!optarg[0] || strlen(optarg) >= 32 || strchr(optarg, '/'))
                return fail(2, "--id %s: 1 to 31 characters, no '/'", optarg);
            o->id = optarg;
            break;
        case O_LOG: {
            ms_log_level_t lv;
            if (ms_log_parse_level(optarg, &lv))
                return fail(2, "--log-level %s: expected error, warn, info or debug",
                            optarg);
            ms_log_set_level(lv);
            break;
        }
        case O_STATE:
            o->state = optarg;
            break;
        case O_SERIAL:
            if (o->nserial == MAX_LISTEN)
                return fail(2, "--serial: at most %d", MAX_LISTEN);
            o->serial[o->nserial++] = optarg;
            break;
        case O_FLEET:
            return fail(2, "%s: not available in this version yet", argv[optind - 1]);
        case O_HELP:
            fputs(usage, stdout);
            exit(0);
        case O_VERSION:
            printf("metersim %s\n", MS_VERSION);
            exit(0);
        case ':':
            return fail(2, "%s needs a value (metersim --help)", argv[optind - 1]);
        default:
            return fail(2, "unknown option '%s' (metersim --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(2, "unexpected argument '%s' (metersim --help)", argv[optind]);
    if (!o->model)
        return fail(2, "--model is required (metersim --help)");
    if (!o->have_start) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->start_ms = (int64_t)ts.tv_sec * 1000;
    }
    return 0;
}

/* ---- the COSEM view's hooks ---- */

static void cosem_sync(void *ud)
{
    ms_sim_sync(ud);
}

static void cosem_commit(void *ud)
{
    ms_sim_commit(ud);
}

/* Green Book security: the invocation counters survive a restart; written before the
 * APDU that uses them leaves. */
static void cosem_ic_persist(void *ud, uint16_t sap, uint32_t tx_next, uint32_t rx_next)
{
    ms_sim_meter_t *sm = ud;
    char msg[256];
    if (sm->store && ms_store_put_counters(sm->store, sm->meter->id, sap, tx_next,
                                           rx_next, msg, sizeof msg) != 0)
        ms_log(MS_LOG_ERROR, sm->meter->id, "%s", msg);
}

static void cosem_event(void *ud, uint16_t sap, const char *what)
{
    ms_sim_meter_t *sm = ud;
    ms_log(MS_LOG_DEBUG, sm->meter->id, "dlms client %u: %s", sap, what);
}

/* A push (Push setup method 1): one TCP connection per push carrying one wrapper frame
 * (IEC 62056-47), closed once the frame is out. choice: source wPort the logical device,
 * destination wPort 102 (0x66, the push client of the IDIS/DSMR profiles). */
#define PUSH_WPORT 0x66u

typedef struct push_job {
    ms_sim_meter_t *sm;
    bool closed;
    size_t len;
    uint8_t data[];
} push_job_t;

static void push_close(ms_phy_t *p, push_job_t *j)
{
    if (!j->closed) {
        j->closed = true;
        ms_phy_close(p);
        free(j);
    }
}

static void push_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    push_close(p, ud);
}

static void push_closed(ms_phy_t *p, int err, void *ud)
{
    push_close(p, ud);
}

static const ms_phy_cb_t push_cb = { .on_drained = push_drained,
                                     .on_close = push_closed };

static void push_connected(ms_phy_t *p, int status, void *ud)
{
    push_job_t *j = ud;
    if (status < 0) { /* the backend closes and frees the stream */
        ms_log(MS_LOG_WARN, j->sm->meter->id, "push: %s", ms_strerror(status));
        free(j);
        return;
    }
    int rc = ms_phy_write(p, j->data, j->len, 0);
    ms_log(rc ? MS_LOG_WARN : MS_LOG_INFO, j->sm->meter->id, "push: %zu octets %s",
           j->len, rc ? ms_strerror(rc) : "sent");
    if (rc)
        push_close(p, j);
}

static int cosem_push(void *ud, const char *dest, const uint8_t *apdu, size_t len)
{
    ms_sim_meter_t *sm = ud;
    char host[64];
    unsigned port;
    if (parse_hostport(dest, host, sizeof host, &port) || port == 0)
        return MS_EINVAL;
    push_job_t *j = malloc(sizeof *j + WRAP_HEADER_LEN + len);
    if (!j)
        return MS_ENOMEM;
    j->sm = sm;
    j->closed = false;
    ms_wr_t w;
    ms_wr_init(&w, j->data, WRAP_HEADER_LEN + len);
    wrap_encode(&w, sm->model->dlms.logical_device, PUSH_WPORT, apdu, len);
    j->len = w.len;
    ms_phy_t *p;
    int rc =
        ms_phy_tcp_connect(sm->sim->loop, host, port, &push_cb, j, push_connected, &p);
    if (rc) {
        free(j);
        return rc;
    }
    return 0;
}

typedef struct app {
    ms_sim_t sim;
    ms_control_t *control;
    uv_signal_t sigterm, sigint;
} app_t;

static void shutdown_app(app_t *a)
{
    for (size_t i = 0; i < a->sim.nmeters; i++) {
        ms_sim_meter_t *sm = a->sim.meters[i];
        /* flush: the state at the moment of the signal */
        ms_sim_sync(sm);
        ms_sim_commit(sm);
        for (size_t k = 0; k < sm->nports; k++)
            ms_port_close(sm->ports[k]);
        sm->nports = 0;
    }
    ms_control_stop(a->control);
    a->control = NULL;
    uv_close((uv_handle_t *)&a->sigterm, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    app_t *a = s->data;
    ms_log(MS_LOG_INFO, NULL, "%s: shutting down",
           signum == SIGTERM ? "SIGTERM" : "SIGINT");
    shutdown_app(a);
}

int main(int argc, char **argv)
{
    options_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    signal(SIGPIPE, SIG_IGN);

    char path[512], msg[1024] = "";
    if (ms_model_find(o.model, path, sizeof path) != 0)
        return fail(1, "--model %s: no such model (a name in %s, or a .lua path)",
                    o.model,
                    getenv("METERSIM_MODELS") ? getenv("METERSIM_MODELS") : "sim/models");
    ms_model_t *model = calloc(1, sizeof *model);
    if (!model)
        return fail(1, "out of memory");
    if ((rc = ms_model_load_with(path, o.set, o.nset, model, msg, sizeof msg)) != 0)
        return fail(1, "%s", msg);
    int err = 0;
    ms_load_t *load = ms_load_from_spec(o.load, &err, msg, sizeof msg);
    if (!load)
        return fail(1, "--load: %s", msg[0] ? msg : ms_strerror(err));

    static app_t app;
    app_t *a = &app;
    a->sim.loop = uv_default_loop();
    ms_simclock_init(&a->sim.clock, o.clock, o.factor, o.start_ms, uv_hrtime());
    ms_sim_meter_t *sm = calloc(1, sizeof *sm);
    a->sim.meters = calloc(1, sizeof *a->sim.meters);
    if (!sm || !a->sim.meters)
        return fail(1, "out of memory");
    sm->sim = &a->sim;
    sm->model = model;
    sm->meter = ms_meter_new(o.id ? o.id : model->serial, model, load, o.start_ms, &err);
    if (!sm->meter)
        return fail(1, "cannot create the meter: %s", ms_strerror(err));
    if (o.state) {
        /* Resume what the meter kept: its state and the simulation time of its last
         * commit (--start applies to a new state file only). */
        if (ms_store_open(o.state, &sm->store, msg, sizeof msg) != 0)
            return fail(1, "%s", msg);
        int64_t resumed;
        rc = ms_store_restore(sm->store, sm->meter, o.have_load, &resumed, msg,
                              sizeof msg);
        if (rc == 0) {
            ms_simclock_init(&a->sim.clock, o.clock, o.factor, resumed, uv_hrtime());
            char at[40];
            ms_iso8601_format(ms_floor_div(resumed, 1000), 0, at, sizeof at);
            ms_log(MS_LOG_INFO, sm->meter->id, "state restored from %s at %s%s", o.state,
                   at, o.have_start ? " (--start ignored)" : "");
        } else if (rc != MS_ENOENT) {
            return fail(1, "%s", msg);
        }
        sm->meter->on_commit = ms_sim_on_commit;
        sm->meter->commit_ud = sm;
        ms_sim_commit(sm);
    }
    ms_cosem_hooks_t hooks = {
        .sync = cosem_sync,
        .commit = cosem_commit,
        .ic_persist = cosem_ic_persist,
        .event = cosem_event,
        .push = cosem_push,
        .ud = sm,
    };
    if (!(sm->cosem = ms_cosem_new(sm->meter, model, &hooks, &err)))
        return fail(1, "cannot build the COSEM view: %s", ms_strerror(err));
    if (sm->store && (rc = ms_store_restore_counters(sm->store, sm->meter->id, sm->cosem,
                                                     msg, sizeof msg)) != 0)
        return fail(1, "%s", msg);
    a->sim.meters[a->sim.nmeters++] = sm;

    for (int i = 0; i < o.npty; i++) {
        ms_port_t *p;
        if (ms_port_open_pty(sm, o.proto, o.pty[i], &p, msg, sizeof msg) != 0)
            return fail(1, "%s", msg);
    }
    for (int i = 0; i < o.nserial; i++) {
        ms_port_t *p;
        if (ms_port_open_serial(sm, o.proto, o.serial[i], &p, msg, sizeof msg) != 0)
            return fail(1, "%s", msg);
    }
    for (int i = 0; i < o.ntcp; i++) {
        ms_port_t *p;
        if (ms_port_open_tcp(sm, o.proto, o.tcp_host[i], o.tcp_port[i], &p, msg,
                             sizeof msg) != 0)
            return fail(1, "%s", msg);
    }
    if (ms_control_start(&a->sim, o.control_host, o.control_port, &a->control, msg,
                         sizeof msg) != 0)
        return fail(1, "%s", msg);

    uv_signal_init(a->sim.loop, &a->sigterm);
    uv_signal_init(a->sim.loop, &a->sigint);
    a->sigterm.data = a->sigint.data = a;
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sigint, on_signal, SIGINT);

    json_t *meters = json_array();
    json_array_append_new(meters, ms_json_meter_summary(sm));
    json_t *ready = json_pack("{s:i, s:s, s:o, s:o}", "pid", (int)getpid(), "control",
                              ms_control_url(a->control), "clock", ms_json_clock(&a->sim),
                              "meters", meters);
    char *text = json_dumps(ready, JSON_COMPACT);
    printf("ready %s\n", text);
    fflush(stdout);
    free(text);
    json_decref(ready);
    ms_log(MS_LOG_INFO, sm->meter->id, "model %s, load %s, clock %s", model->name,
           ms_load_describe(load), ms_simclock_mode_name(&a->sim.clock));

    uv_run(a->sim.loop, UV_RUN_DEFAULT);
    uv_loop_close(a->sim.loop);
    ms_cosem_free(sm->cosem);
    ms_store_close(sm->store);
    ms_meter_free(sm->meter);
    free(sm);
    free(a->sim.meters);
    free(model);
    return 0;
}
