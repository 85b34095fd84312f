/*
** mb_meter.c — meter fixtures of the scenario runtime: sim_meter (spawns metersim,
** waits for its ready line, stops it by PID, reports a crash), serial_meter and
** tcp_meter (a real meter), and the simulator's control API (libcurl, asynchronous).
** SPDX-License-Identifier: MIT
**
** metersim's contracts: docs/metersim.md (command line, ready line, SIGTERM -> exit 0)
** and docs/control-api.md (HTTP/JSON v1).
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mb_dlms.h"
#include "mb_http.h"
#include "mb_rt.h"

#define METER_MT     "mb.meter"
#define LOG_CAP      8192
#define STOP_WAIT_MS 5000u
#define HTTP_MS      10000u

enum { M_SIM = 0, M_SERIAL, M_TCP };

typedef struct mb_meter {
    mb_res_t res;
    int refs; /* the Lua handle + the C life cycle */
    int kind;
    char spec[600]; /* a real meter: "serial:DEV" or "tcp:HOST:PORT" */
    /* a simulated meter */
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t kill_timer;
    int handles;
    bool spawned, exited, stopping, killed_hard, ready, finished, shut;
    bool waiting_ready, waiting_exit;
    int pid;
    int64_t exit_status;
    int term_signal;
    char *outbuf;
    size_t outlen;
    char log[LOG_CAP];
    size_t loglen;
    json_t *ready_json;
    json_t *info; /* the results' "meter" object */
    char control[256], id[64], model[512], pty[256], link[512], tcp[128];
    char protocol[32];
    unsigned baud; /* the pty port's line rate (ready line) */
    char tmpdir[256];
} mb_meter_t;

typedef struct lmeter {
    mb_meter_t *m;
} lmeter_t;

static void meter_unref(mb_meter_t *m)
{
    if (--m->refs == 0) {
        free(m->outbuf);
        json_decref(m->ready_json);
        json_decref(m->info);
        free(m);
    }
}

static const char *last_line(const mb_meter_t *m, char *buf, size_t cap)
{
    size_t n = m->loglen;
    while (n > 0 && (m->log[n - 1] == '\n' || m->log[n - 1] == '\r'))
        n--;
    size_t b = n;
    while (b > 0 && m->log[b - 1] != '\n')
        b--;
    snprintf(buf, cap, "%.*s", (int)(n - b), m->log + b);
    return buf;
}

static void describe_exit(const mb_meter_t *m, char *buf, size_t cap)
{
    char line[512];
    last_line(m, line, sizeof line);
    if (m->term_signal)
        snprintf(buf, cap, "metersim (pid %d) died: killed by signal %d (%s)%s%s", m->pid,
                 m->term_signal, strsignal(m->term_signal), line[0] ? "; last log: " : "",
                 line);
    else
        snprintf(buf, cap, "metersim (pid %d) exited with status %lld%s%s", m->pid,
                 (long long)m->exit_status, line[0] ? ": " : "", line);
}

/* ---- process life cycle ----------------------------------------------------------- */

static void finish_c_side(mb_meter_t *m);

static void handle_closed(uv_handle_t *h)
{
    mb_meter_t *m = h->data;
    if (--m->handles == 0)
        finish_c_side(m);
}

static void close_handle(mb_meter_t *m, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, handle_closed);
}

/* Everything of the process is closed: remove the temporary folder and leave. */
static void finish_c_side(mb_meter_t *m)
{
    if (m->finished)
        return;
    m->finished = true;
    if (m->tmpdir[0]) {
        if (m->link[0])
            unlink(m->link); /* metersim removes it on SIGTERM; not after SIGKILL */
        rmdir(m->tmpdir);
    }
    if (m->info && m->loglen) {
        json_object_set_new(m->info, "log", json_stringn(m->log, m->loglen));
        json_object_set_new(m->info, "exit_status", json_integer(m->exit_status));
        if (m->term_signal)
            json_object_set_new(m->info, "term_signal", json_integer(m->term_signal));
    }
    mb_res_release(&m->res);
    meter_unref(m);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
    mb_meter_t *m = p->data;
    m->exited = true;
    m->exit_status = status;
    m->term_signal = term_signal;
    uv_timer_stop(&m->kill_timer);
    if (m->shut)
        close_handle(m, (uv_handle_t *)&m->kill_timer);
    mb_scn_t *s = m->res.scn;
    char msg[1024];
    if (m->stopping) {
        if (s && !m->killed_hard && (status != 0 || term_signal)) {
            describe_exit(m, msg, sizeof msg);
            char full[1200];
            snprintf(full, sizeof full, "after SIGTERM, %s (expected exit 0)", msg);
            mb_scn_teardown_error(s, full);
        }
        if (m->waiting_exit && s) {
            m->waiting_exit = false;
            mb_wake(s, MB_WAKE_DONE);
        }
    } else if (m->waiting_ready && s) {
        m->waiting_ready = false;
        mb_wake(s, MB_WAKE_DONE); /* the ready wait reports the early exit */
    } else if (s) {
        describe_exit(m, msg, sizeof msg);
        mb_scn_crash(s, msg);
    }
    close_handle(m, (uv_handle_t *)&m->proc);
}

static void log_append(mb_meter_t *m, const char *p, size_t n)
{
    if (n >= LOG_CAP) {
        p += n - LOG_CAP / 2;
        n = LOG_CAP / 2;
    }
    if (m->loglen + n > LOG_CAP) {
        /* keep the newest half, from a line start */
        size_t drop = m->loglen + n - LOG_CAP / 2;
        if (drop > m->loglen)
            drop = m->loglen;
        while (drop < m->loglen && m->log[drop - 1] != '\n')
            drop++;
        memmove(m->log, m->log + drop, m->loglen - drop);
        m->loglen -= drop;
    }
    memcpy(m->log + m->loglen, p, n);
    m->loglen += n;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char space[65536];
    (void)h;
    (void)suggested;
    buf->base = space;
    buf->len = sizeof space;
}

static const char *json_str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void take_ready(mb_meter_t *m, const char *line)
{
    json_error_t e;
    json_t *r = json_loads(line + 6, 0, &e);
    if (!r)
        return;
    m->ready_json = r;
    snprintf(m->control, sizeof m->control, "%s", json_str(r, "control"));
    json_t *meter = json_array_get(json_object_get(r, "meters"), 0);
    snprintf(m->id, sizeof m->id, "%s", json_str(meter, "id"));
    size_t i;
    json_t *port;
    json_array_foreach(json_object_get(meter, "ports"), i, port)
    {
        const char *type = json_str(port, "type");
        if (!strcmp(type, "pty") && !m->pty[0]) {
            snprintf(m->pty, sizeof m->pty, "%s", json_str(port, "path"));
            m->baud = (unsigned)json_integer_value(
                json_object_get(json_object_get(port, "line"), "baud"));
        } else if (!strcmp(type, "tcp") && !m->tcp[0]) {
            snprintf(m->tcp, sizeof m->tcp, "%s", json_str(port, "address"));
        }
    }
    m->ready = true;
    json_t *info = m->info;
    json_object_set_new(info, "pid", json_integer(m->pid));
    json_object_set_new(info, "id", json_string(m->id));
    json_object_set_new(info, "pty", json_string(m->pty));
    json_object_set_new(info, "control", json_string(m->control));
    if (m->waiting_ready && m->res.scn) {
        m->waiting_ready = false;
        mb_wake(m->res.scn, MB_WAKE_DONE);
    }
}

static void on_out(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    mb_meter_t *m = st->data;
    if (n < 0) {
        close_handle(m, (uv_handle_t *)st);
        return;
    }
    if (m->ready || n == 0)
        return; /* metersim writes nothing else on stdout */
    char *b = realloc(m->outbuf, m->outlen + (size_t)n + 1);
    if (!b)
        return;
    m->outbuf = b;
    memcpy(b + m->outlen, buf->base, (size_t)n);
    m->outlen += (size_t)n;
    b[m->outlen] = 0;
    char *nl;
    while (!m->ready && (nl = strchr(m->outbuf, '\n'))) {
        *nl = 0;
        if (!strncmp(m->outbuf, "ready ", 6))
            take_ready(m, m->outbuf);
        else
            log_append(m, m->outbuf, strlen(m->outbuf)), log_append(m, "\n", 1);
        size_t used = (size_t)(nl + 1 - m->outbuf);
        memmove(m->outbuf, nl + 1, m->outlen - used + 1);
        m->outlen -= used;
    }
}

static void on_err(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    mb_meter_t *m = st->data;
    if (n < 0) {
        close_handle(m, (uv_handle_t *)st);
        return;
    }
    log_append(m, buf->base, (size_t)n);
}

static void on_kill_timer(uv_timer_t *t)
{
    mb_meter_t *m = t->data;
    if (m->exited)
        return;
    m->killed_hard = true;
    if (m->res.scn) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "metersim (pid %d) did not exit within %u ms of SIGTERM "
                 "(killed)",
                 m->pid, STOP_WAIT_MS);
        mb_scn_teardown_error(m->res.scn, msg);
    }
    uv_process_kill(&m->proc, SIGKILL);
}

/* Stop the process by its PID: SIGTERM, SIGKILL after STOP_WAIT_MS. */
static void meter_stop(mb_meter_t *m)
{
    if (!m->spawned || m->exited || m->stopping)
        return;
    m->stopping = true;
    uv_process_kill(&m->proc, SIGTERM);
    uv_timer_start(&m->kill_timer, on_kill_timer, STOP_WAIT_MS, 0);
}

static void res_shutdown(mb_res_t *r)
{
    mb_meter_t *m = (mb_meter_t *)r;
    m->waiting_ready = m->waiting_exit = false;
    m->shut = true;
    if (m->kind == M_SIM && m->spawned) {
        meter_stop(m);
        /* The kill timer is not needed once the process has exited. */
        if (m->exited)
            close_handle(m, (uv_handle_t *)&m->kill_timer);
        return;
    }
    if (!m->finished && m->kind != M_SIM) {
        m->finished = true;
        mb_res_release(&m->res);
        meter_unref(m);
    }
}

static void res_hard_kill(mb_res_t *r)
{
    mb_meter_t *m = (mb_meter_t *)r;
    if (m->kind == M_SIM && m->spawned && !m->exited) {
        m->killed_hard = true;
        uv_process_kill(&m->proc, SIGKILL);
    }
}

/* ---- Lua handle ------------------------------------------------------------------- */

static mb_meter_t *check_meter(lua_State *L, int idx)
{
    lmeter_t *u = luaL_checkudata(L, idx, METER_MT);
    if (!u->m)
        luaL_error(L, "meter handle is closed");
    return u->m;
}

static int meter_gc(lua_State *L)
{
    lmeter_t *u = luaL_checkudata(L, 1, METER_MT);
    mb_meter_t *m = u->m;
    if (!m)
        return 0;
    u->m = NULL;
    res_shutdown(&m->res);
    if (m->kind == M_SIM && !m->spawned && !m->finished) {
        m->finished = true;
        mb_res_release(&m->res);
        meter_unref(m); /* the C side never started */
    }
    meter_unref(m);
    return 0;
}

static int meter_tostring(lua_State *L)
{
    lmeter_t *u = luaL_checkudata(L, 1, METER_MT);
    mb_meter_t *m = u->m;
    if (!m)
        lua_pushliteral(L, "meter (closed)");
    else if (m->kind == M_SIM)
        lua_pushfstring(L, "sim meter %s (metersim pid %d, %s)", m->id, m->pid, m->pty);
    else
        lua_pushfstring(L, "meter %s", m->spec);
    return 1;
}

/* The simulator's control: raises a skip against a real meter. */
static mb_meter_t *need_sim(lua_State *L, const char *what)
{
    mb_meter_t *m = check_meter(L, 1);
    if (m->kind != M_SIM)
        mb_raise(L, "skip", "%s needs the simulator's control API; the meter is %s", what,
                 m->spec);
    if (m->exited)
        mb_raise(L, "crash", "%s: metersim (pid %d) is not running", what, m->pid);
    return m;
}

/* ---- control API ----------------------------------------------------------------------
 */

typedef struct http_call {
    mb_scn_t *scn;
    mb_http_req_t *req;
    long status;
    char *body;
    size_t len;
    char err[256];
    bool done;
    bool raise; /* convenience methods raise on failure */
    char what[96];
} http_call_t;

static int http_call_gc(lua_State *L)
{
    http_call_t *c = lua_touserdata(L, 1);
    if (c->req && !c->done) /* the scenario ended while the request was in flight */
        mb_http_cancel(mb_scn_env(c->scn)->http, c->req);
    c->req = NULL;
    free(c->body);
    c->body = NULL;
    return 0;
}

static void http_done(long status, const char *body, size_t len, const char *err,
                      void *ud)
{
    http_call_t *c = ud;
    c->done = true;
    c->req = NULL;
    c->status = status;
    c->body = malloc(len + 1);
    if (c->body) {
        memcpy(c->body, body, len);
        c->body[len] = 0;
        c->len = len;
    }
    if (err)
        snprintf(c->err, sizeof c->err, "%s", err);
    mb_wake(c->scn, MB_WAKE_DONE);
}

static void http_cancel(void *ud)
{
    http_call_t *c = ud;
    if (c->req && !c->done)
        mb_http_cancel(mb_scn_env(c->scn)->http, c->req);
    c->req = NULL;
    c->done = true;
}

/* Continuation: the call object is at the top of the stack. */
static int k_http(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    http_call_t *c = luaL_checkudata(L, lua_gettop(L), "mb.http_call");
    char msg[1024];
    if (why == MB_WAKE_OP_TIMEOUT || c->status == 0) {
        snprintf(msg, sizeof msg, "control API %s: %s", c->what,
                 why == MB_WAKE_OP_TIMEOUT ? "no answer in time" : c->err);
        if (c->raise)
            return mb_raise(L, "error", "%s", msg);
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    json_error_t e;
    json_t *j = c->len ? json_loadb(c->body, c->len, 0, &e) : NULL;
    if (c->raise && (c->status < 200 || c->status > 299)) {
        const char *m =
            json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        snprintf(msg, sizeof msg, "control API %s: HTTP %ld: %s", c->what, c->status,
                 m         ? m
                 : c->body ? c->body
                           : "");
        json_decref(j);
        return mb_raise(L, "error", "%s", msg);
    }
    if (c->raise) {
        if (j)
            mb_push_json(L, j);
        else
            lua_pushnil(L);
        json_decref(j);
        return 1;
    }
    lua_pushinteger(L, c->status);
    if (j)
        mb_push_json(L, j);
    else
        lua_pushlstring(L, c->body ? c->body : "", c->len);
    json_decref(j);
    return 2;
}

/* Start a control API request and block; body_idx: a Lua table (or 0). */
static int http_call(lua_State *L, mb_meter_t *m, const char *method, const char *path,
                     int body_idx, bool raise)
{
    mb_scn_t *s = mb_scn_of(L);
    char *body = NULL;
    if (body_idx) {
        json_t *j = mb_to_json(L, body_idx);
        body = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
    http_call_t *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    if (luaL_newmetatable(L, "mb.http_call")) {
        lua_pushcfunction(L, http_call_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    c->scn = s;
    c->raise = raise;
    snprintf(c->what, sizeof c->what, "%s %s", method, path);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", m->control, path);
    mb_wait_prepare(s, "the control API", http_cancel, c);
    c->req =
        mb_http_request(mb_scn_env(s)->http, method, url, body, HTTP_MS, http_done, c);
    free(body);
    if (!c->req)
        return luaL_error(L, "control API %s: cannot start the request", c->what);
    return mb_block(L, HTTP_MS + 1000, k_http, 0);
}

static int m_state(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:state()");
    char path[128];
    snprintf(path, sizeof path, "/meters/%s", m->id);
    return http_call(L, m, "GET", path, 0, true);
}

static int m_clock(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:clock()");
    return http_call(L, m, "GET", "/clock", 0, true);
}

static int m_advance(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:advance()");
    lua_Number sec = luaL_checknumber(L, 2);
    luaL_argcheck(L, sec >= 0, 2, "seconds >= 0 expected");
    lua_settop(L, 2);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "advance_s");
    return http_call(L, m, "POST", "/clock", 3, true);
}

static int m_set_clock(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:set_clock()");
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "set");
    return http_call(L, m, "POST", "/clock", 3, true);
}

/* m:set_load("constant:2000[:500]") or m:set_load{type=..., ...} */
static int m_set_load(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:set_load()");
    lua_settop(L, 2);
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *spec = lua_tostring(L, 2);
        double imp = 0, exp = 0;
        int n = sscanf(spec, "constant:%lf:%lf", &imp, &exp);
        lua_createtable(L, 0, 3);
        if (n >= 1) {
            lua_pushliteral(L, "constant");
            lua_setfield(L, -2, "type");
            lua_pushnumber(L, imp);
            lua_setfield(L, -2, "import_w");
            lua_pushnumber(L, exp);
            lua_setfield(L, -2, "export_w");
        } else {
            lua_pushliteral(L, "csv");
            lua_setfield(L, -2, "type");
            lua_pushvalue(L, 2);
            lua_setfield(L, -2, "path");
        }
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushvalue(L, 2);
    }
    char path[128];
    snprintf(path, sizeof path, "/meters/%s/load", m->id);
    return http_call(L, m, "POST", path, 3, true);
}

/* m:api(method, path [, body]) -> status, body (raw access; does not raise on 4xx) */
static int m_api(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:api()");
    const char *method = luaL_checkstring(L, 2);
    const char *path = luaL_checkstring(L, 3);
    if (path[0] != '/')
        return luaL_argerror(L, 3, "a path below /v1 expected, e.g. \"/clock\"");
    int body = lua_istable(L, 4) ? 4 : 0;
    return http_call(L, m, method, path, body, false);
}

static int m_kill(lua_State *L)
{
    mb_meter_t *m = need_sim(L, "m:kill()");
    static const char *const names[] = { "KILL", "TERM", "SEGV", "ABRT", "INT", NULL };
    static const int sigs[] = { SIGKILL, SIGTERM, SIGSEGV, SIGABRT, SIGINT };
    int sig = lua_isinteger(L, 2)     ? (int)lua_tointeger(L, 2)
              : lua_isnoneornil(L, 2) ? SIGKILL
                                      : sigs[luaL_checkoption(L, 2, NULL, names)];
    if (uv_process_kill(&m->proc, sig) != 0)
        return luaL_error(L, "m:kill: cannot signal pid %d", m->pid);
    return 0;
}

static int k_stop(lua_State *L, int status, lua_KContext ctx)
{
    mb_meter_t *m = check_meter(L, 1);
    if (mb_woken(L) == MB_WAKE_OP_TIMEOUT)
        return mb_raise(L, "error", "metersim (pid %d) did not stop", m->pid);
    lua_pushinteger(L, m->term_signal ? 128 + m->term_signal : m->exit_status);
    return 1;
}

/* m:stop() -> exit status: SIGTERM and wait for the process to exit. */
static int m_stop(lua_State *L)
{
    mb_meter_t *m = check_meter(L, 1);
    if (m->kind != M_SIM)
        return 0;
    if (m->exited) {
        lua_pushinteger(L, m->term_signal ? 128 + m->term_signal : m->exit_status);
        return 1;
    }
    meter_stop(m);
    m->waiting_exit = true;
    mb_wait_prepare(mb_scn_of(L), "metersim's exit", NULL, NULL);
    return mb_block(L, STOP_WAIT_MS + 2000, k_stop, 0);
}

static int m_log(lua_State *L)
{
    mb_meter_t *m = check_meter(L, 1);
    lua_pushlstring(L, m->log, m->loglen);
    return 1;
}

/* m:iec21{...}: an IEC 62056-21 reader session on the meter's port. */
static int m_iec21(lua_State *L)
{
    mb_meter_t *m = check_meter(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    char spec[700];
    const char *transport = NULL;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "transport");
        transport = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    if (m->kind == M_SIM) {
        if (m->exited)
            return mb_raise(L, "crash", "metersim (pid %d) is not running", m->pid);
        if (transport && !strcmp(transport, "tcp")) {
            if (!m->tcp[0])
                return luaL_error(L, "m:iec21{transport=\"tcp\"}: the meter has no TCP "
                                     "port (t:meter{tcp = true})");
            snprintf(spec, sizeof spec, "tcp:%s", m->tcp);
        } else {
            snprintf(spec, sizeof spec, "serial:%s", m->link[0] ? m->link : m->pty);
        }
    } else {
        snprintf(spec, sizeof spec, "%s", m->spec);
    }
    return mb_session_open(L, spec, lua_istable(L, 2) ? 2 : 0);
}

/* m:dlms{...}: a DLMS/COSEM session on the meter's DLMS port (docs/scenario-api.md). */
static int m_dlms(lua_State *L)
{
    mb_meter_t *m = check_meter(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    int opts = lua_istable(L, 2) ? 2 : 0;
    const char *transport = NULL;
    if (opts) {
        lua_getfield(L, opts, "transport");
        transport = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (transport && strcmp(transport, "wrapper") && strcmp(transport, "hdlc"))
            return luaL_error(L, "m:dlms: transport: \"wrapper\" or \"hdlc\" expected");
    }
    char spec[700];
    bool hdlc;
    unsigned baud = 9600;
    if (m->kind == M_SIM) {
        if (m->exited)
            return mb_raise(L, "crash", "metersim (pid %d) is not running", m->pid);
        bool wrapper = !strcmp(m->protocol, "dlms-wrapper");
        if (!wrapper && strcmp(m->protocol, "dlms-hdlc"))
            return luaL_error(L,
                              "m:dlms: the meter speaks %s (start it with "
                              "t:meter{protocol = \"dlms-hdlc\"} or \"dlms-wrapper\")",
                              m->protocol);
        hdlc = !wrapper;
        if (transport && (!strcmp(transport, "hdlc")) != hdlc)
            return luaL_error(L, "m:dlms: transport \"%s\": the meter speaks %s",
                              transport, m->protocol);
        if (hdlc && m->pty[0]) {
            snprintf(spec, sizeof spec, "serial:%s", m->link[0] ? m->link : m->pty);
            if (m->baud)
                baud = m->baud;
        } else if (m->tcp[0]) {
            snprintf(spec, sizeof spec, "tcp:%s", m->tcp);
        } else {
            return luaL_error(L, "m:dlms: the meter has no port for DLMS");
        }
    } else {
        hdlc = m->kind == M_SERIAL || (transport && !strcmp(transport, "hdlc"));
        if (m->kind == M_SERIAL && transport && !strcmp(transport, "wrapper"))
            return luaL_error(L, "m:dlms: the wrapper (IEC 62056-47) needs a TCP meter");
        snprintf(spec, sizeof spec, "%s", m->spec);
    }
    return mb_dlms_open(L, spec, hdlc, baud, opts);
}

static int meter_index(lua_State *L)
{
    lmeter_t *u = luaL_checkudata(L, 1, METER_MT);
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    mb_meter_t *m = u->m;
    if (!m)
        return luaL_error(L, "meter handle is closed (reading '%s')", k);
    if (!strcmp(k, "kind")) {
        lua_pushstring(L, m->kind == M_SIM      ? "sim"
                          : m->kind == M_SERIAL ? "serial"
                                                : "tcp");
    } else if (!strcmp(k, "sim")) {
        lua_pushboolean(L, m->kind == M_SIM);
    } else if (!strcmp(k, "spec")) {
        lua_pushstring(L, m->spec);
    } else if (m->kind != M_SIM) {
        return luaL_error(L, "unknown field '%s' of a real meter (kind, sim, spec)", k);
    } else if (!strcmp(k, "pid")) {
        lua_pushinteger(L, m->pid);
    } else if (!strcmp(k, "id")) {
        lua_pushstring(L, m->id);
    } else if (!strcmp(k, "pty")) {
        lua_pushstring(L, m->pty);
    } else if (!strcmp(k, "link")) {
        lua_pushstring(L, m->link);
    } else if (!strcmp(k, "tcp")) {
        lua_pushstring(L, m->tcp[0] ? m->tcp : NULL);
    } else if (!strcmp(k, "control")) {
        lua_pushstring(L, m->control);
    } else if (!strcmp(k, "model")) {
        lua_pushstring(L, m->model);
    } else if (!strcmp(k, "protocol")) {
        lua_pushstring(L, m->protocol);
    } else if (!strcmp(k, "baud")) {
        lua_pushinteger(L, m->baud);
    } else if (!strcmp(k, "ready")) {
        mb_push_json(L, m->ready_json);
    } else {
        return luaL_error(
            L, "unknown method or field '%s' of a meter (docs/scenario-api.md)", k);
    }
    return 1;
}

void mb_meter_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "iec21", m_iec21 },
        { "dlms", m_dlms },
        { "state", m_state },
        { "clock", m_clock },
        { "advance", m_advance },
        { "set_clock", m_set_clock },
        { "set_load", m_set_load },
        { "api", m_api },
        { "kill", m_kill },
        { "stop", m_stop },
        { "log", m_log },
        { "close", meter_gc },
        { NULL, NULL },
    };
    luaL_newmetatable(L, METER_MT);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushcclosure(L, meter_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, meter_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, meter_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, meter_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

static mb_meter_t *new_meter(lua_State *L, int kind)
{
    lmeter_t *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->m = NULL;
    luaL_setmetatable(L, METER_MT);
    mb_meter_t *m = calloc(1, sizeof *m);
    if (!m)
        luaL_error(L, "out of memory");
    m->kind = kind;
    m->refs = 2;
    m->res.kind = "meter";
    m->res.shutdown = res_shutdown;
    m->res.hard_kill = res_hard_kill;
    u->m = m;
    mb_res_add(mb_scn_of(L), &m->res);
    return m;
}

/* Record the meter in the scenario's results ("meter": the first one). */
static void record_meter(mb_scn_t *s, mb_meter_t *m, json_t *info)
{
    json_t *res = mb_scn_result(s);
    json_t *first = json_object_get(res, "meter");
    if (!first || json_is_null(first))
        json_object_set(res, "meter", info);
    json_t *all = json_object_get(res, "meters");
    if (!all) {
        all = json_array();
        json_object_set_new(res, "meters", all);
    }
    json_array_append(all, info);
    m->info = info; /* owned: one reference */
}

/* ---- fixtures -------------------------------------------------------------------------
 */

static int k_sim_meter(lua_State *L, int status, lua_KContext ctx)
{
    mb_wake_t why = mb_woken(L);
    mb_meter_t *m = check_meter(L, lua_gettop(L));
    /* the time limit decides, even when the line came just after it */
    if (m->ready && why == MB_WAKE_DONE)
        return 1;
    char msg[1024];
    if (m->exited) {
        describe_exit(m, msg, sizeof msg);
        return mb_raise(L, "fixture", "meter never ready: %s before its ready line", msg);
    }
    meter_stop(m);
    return mb_raise(L, "fixture",
                    "meter never ready: metersim (pid %d) printed no ready line within "
                    "%u ms (stopped by its PID)",
                    m->pid, mb_wait_limit_ms(mb_scn_of(L)));
}

static void cancel_ready(void *ud)
{
    mb_meter_t *m = ud;
    m->waiting_ready = false;
}

/* A model name without '/' or ".lua": scenarios/models/NAME.lua near the scenario file
 * if there is one, else metersim's own models. */
static void resolve_model(mb_scn_t *s, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *dir = mb_scn_dir(s);
    if (strchr(name, '/') || (n > 4 && !strcmp(name + n - 4, ".lua"))) {
        if (name[0] == '/')
            snprintf(out, cap, "%s", name);
        else
            snprintf(out, cap, "%s/%s", dir, name);
        return;
    }
    const char *cand[] = { "/models/", "/../models/" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(out, cap, "%s%s%s.lua", dir, cand[i], name);
        if (access(out, R_OK) == 0)
            return;
    }
    snprintf(out, cap, "%s", name);
}

/* A CSV load given as a path: absolute, beside the scenario, or in the data folder. */
static void resolve_load(mb_scn_t *s, const char *spec, char *out, size_t cap)
{
    if (!strncmp(spec, "constant:", 9) || spec[0] == '/') {
        snprintf(out, cap, "%s", spec);
        return;
    }
    snprintf(out, cap, "%s/%s", mb_scn_dir(s), spec);
    if (access(out, R_OK) == 0)
        return;
    snprintf(out, cap, "%s/%s", mb_scn_env(s)->data_dir, spec);
    if (access(out, R_OK) == 0)
        return;
    snprintf(out, cap, "%s", spec); /* metersim names what is missing */
}

static const char *const sim_opts[] = {
    "model",     "load",     "clock",     "start", "set", "tcp", "id", "ready_timeout_ms",
    "log_level", "protocol", "transport", NULL
};

static int sim_meter(lua_State *L, int opts, const char *what)
{
    mb_scn_t *s = mb_scn_of(L);
    const mb_env_t *env = mb_scn_env(s);
    if (opts)
        mb_check_opts(L, opts, what, sim_opts);
    const char *model = "ms3p-direct", *clock = "stepped",
               *load = env->sim_load ? env->sim_load : "constant:500",
               *start = "2016-06-01T00:00:00Z", *id = NULL, *log_level = NULL;
    bool tcp = false;
    const char *protocol = "iec62056-21", *transport = NULL;
    lua_Integer ready_ms = env->ready_timeout_ms;
    if (opts) {
        lua_getfield(L, opts, "model");
        model = luaL_optstring(L, -1, model);
        lua_getfield(L, opts, "load");
        load = luaL_optstring(L, -1, load);
        lua_getfield(L, opts, "clock");
        clock = luaL_optstring(L, -1, clock);
        lua_getfield(L, opts, "start");
        start = luaL_optstring(L, -1, start);
        lua_getfield(L, opts, "id");
        id = luaL_optstring(L, -1, NULL);
        lua_getfield(L, opts, "log_level");
        log_level = luaL_optstring(L, -1, NULL);
        lua_getfield(L, opts, "tcp");
        tcp = lua_toboolean(L, -1);
        lua_getfield(L, opts, "ready_timeout_ms");
        ready_ms = luaL_optinteger(L, -1, ready_ms);
        lua_getfield(L, opts, "protocol");
        protocol = luaL_optstring(L, -1, protocol);
        lua_getfield(L, opts, "transport");
        transport = luaL_optstring(L, -1, NULL);
        /* the values stay on the stack until uv_spawn has copied them */
    }
    if (strcmp(protocol, "iec62056-21") && strcmp(protocol, "dlms-hdlc") &&
        strcmp(protocol, "dlms-wrapper"))
        return luaL_error(L,
                          "%s: protocol: \"iec62056-21\", \"dlms-hdlc\" or "
                          "\"dlms-wrapper\" expected",
                          what);
    bool wrapper = !strcmp(protocol, "dlms-wrapper");
    if (transport && strcmp(transport, "pty") && strcmp(transport, "tcp"))
        return luaL_error(L, "%s: transport: \"pty\" or \"tcp\" expected", what);
    if (wrapper && transport && !strcmp(transport, "pty"))
        return luaL_error(
            L, "%s: the DLMS wrapper runs on TCP only (transport = \"tcp\")", what);
    /* the port: a pty unless the protocol or the transport says TCP */
    bool use_pty = !wrapper && !(transport && !strcmp(transport, "tcp"));
    if (!use_pty)
        tcp = true;
    /* argv: strings kept alive on the Lua stack until uv_spawn has copied them */
    char model_path[1024], load_path[2048];
    resolve_model(s, model, model_path, sizeof model_path);
    resolve_load(s, load, load_path, sizeof load_path);
    const char *argv[96];
    int argc = 0;
    argv[argc++] = env->metersim;
    argv[argc++] = "--model";
    argv[argc++] = model_path;
    argv[argc++] = "--load";
    argv[argc++] = load_path;
    argv[argc++] = "--clock";
    argv[argc++] = clock;
    argv[argc++] = "--start";
    argv[argc++] = start;
    argv[argc++] = "--control";
    argv[argc++] = "127.0.0.1:0";
    if (strcmp(protocol, "iec62056-21")) {
        argv[argc++] = "--protocol";
        argv[argc++] = protocol;
    }
    if (id) {
        argv[argc++] = "--id";
        argv[argc++] = id;
    }
    if (log_level) {
        argv[argc++] = "--log-level";
        argv[argc++] = log_level;
    }
    if (tcp) {
        argv[argc++] = "--tcp";
        argv[argc++] = "127.0.0.1:0";
    }
    size_t si;
    json_t *sv;
    json_array_foreach(env->sim_sets, si, sv)
    {
        if (argc > 80)
            break;
        argv[argc++] = "--set";
        argv[argc++] = json_string_value(sv);
    }
    if (opts) {
        lua_getfield(L, opts, "set");
        int set = lua_gettop(L);
        if (!lua_isnil(L, set)) {
            luaL_argexpected(L, lua_istable(L, set), opts,
                             "set = { [\"field.path\"] = value }");
            lua_pushnil(L);
            while (lua_next(L, set)) {
                if (argc > 90)
                    return luaL_error(L, "sim_meter: too many 'set' overrides");
                if (lua_type(L, -2) != LUA_TSTRING)
                    return luaL_error(L, "sim_meter: set: keys are field paths such as "
                                         "\"iec62056_21.reaction_ms\"");
                const char *k = lua_tostring(L, -2);
                const char *v;
                if (lua_isboolean(L, -1))
                    v = lua_toboolean(L, -1) ? "true" : "false";
                else if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING)
                    v = lua_tostring(L, -1);
                else
                    return luaL_error(L,
                                      "sim_meter: set: '%s': a boolean, number or string "
                                      "expected",
                                      k);
                lua_pushfstring(L, "%s=%s", k, v);
                lua_insert(L, set); /* keep it below the iteration */
                set++;
                argv[argc++] = "--set";
                argv[argc++] = lua_tostring(L, set - 1);
                lua_pop(L, 1);
            }
        }
    }
    mb_meter_t *m = new_meter(L, M_SIM);
    int ud = lua_gettop(L);
    snprintf(m->model, sizeof m->model, "%s", model);
    const char *tmp = getenv("TMPDIR");
    snprintf(m->tmpdir, sizeof m->tmpdir, "%s/mb-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(m->tmpdir)) {
        m->tmpdir[0] = 0;
        return mb_raise(L, "fixture", "sim_meter: cannot create a temporary folder: %s",
                        strerror(errno));
    }
    snprintf(m->protocol, sizeof m->protocol, "%s", protocol);
    if (use_pty) {
        snprintf(m->link, sizeof m->link, "%s/meter", m->tmpdir);
        argv[argc++] = "--pty";
        argv[argc++] = m->link;
    }
    argv[argc] = NULL;

    uv_loop_t *loop = env->loop;
    uv_pipe_init(loop, &m->out, 0);
    uv_pipe_init(loop, &m->err, 0);
    uv_timer_init(loop, &m->kill_timer);
    m->out.data = m->err.data = m->kill_timer.data = m->proc.data = m;
    m->handles = 3;
    uv_stdio_container_t stdio[3] = {
        { .flags = UV_IGNORE },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
          .data.stream = (uv_stream_t *)&m->out },
        { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
          .data.stream = (uv_stream_t *)&m->err },
    };
    uv_process_options_t po = {
        .exit_cb = on_exit_cb,
        .file = env->metersim,
        .args = (char **)argv,
        .stdio_count = 3,
        .stdio = stdio,
    };
    int rc = uv_spawn(loop, &m->proc, &po);
    if (rc != 0) {
        /* the process handle is initialised even on failure: close it with the rest */
        m->handles++;
        m->exited = true;
        close_handle(m, (uv_handle_t *)&m->proc);
        close_handle(m, (uv_handle_t *)&m->out);
        close_handle(m, (uv_handle_t *)&m->err);
        close_handle(m, (uv_handle_t *)&m->kill_timer);
        m->spawned = true; /* the C side now ends through handle_closed */
        return mb_raise(L, "fixture", "sim_meter: cannot start %s: %s", env->metersim,
                        uv_strerror(rc));
    }
    m->spawned = true;
    m->handles++;
    m->pid = m->proc.pid;
    uv_read_start((uv_stream_t *)&m->out, alloc_cb, on_out);
    uv_read_start((uv_stream_t *)&m->err, alloc_cb, on_err);
    json_t *info = json_pack("{s:s, s:s, s:i, s:s}", "kind", "sim", "model", model, "pid",
                             m->pid, "protocol", protocol);
    record_meter(s, m, info);
    m->waiting_ready = true;
    lua_settop(L, ud);
    mb_wait_prepare(s, "metersim's ready line", cancel_ready, m);
    return mb_block(L, (unsigned)ready_ms, k_sim_meter, 0);
}

/* An attached real meter: "serial:DEV" or "tcp:HOST:PORT". Nothing opens until a
 * session does. */
static int real_meter(lua_State *L, const char *spec)
{
    mb_scn_t *s = mb_scn_of(L);
    mb_meter_t *m = new_meter(L, !strncmp(spec, "tcp:", 4) ? M_TCP : M_SERIAL);
    snprintf(m->spec, sizeof m->spec, "%s", spec);
    record_meter(s, m,
                 json_pack("{s:s, s:s}", "kind", m->kind == M_TCP ? "tcp" : "serial",
                           "spec", spec));
    return 1;
}

static int l_sim_meter(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    if (strcmp(mb_scn_env(s)->meter, "sim") != 0)
        return mb_raise(L, "skip", "needs the simulator (t:sim_meter); the meter is %s",
                        mb_scn_env(s)->meter);
    return sim_meter(L, lua_istable(L, 2) ? 2 : 0, "t:sim_meter");
}

/* t:meter{...}: the run's meter: metersim with these options by default, or the real
 * meter of --meter (then `model` and `set` need the simulator: the scenario is
 * skipped; load, clock and start only shape a simulation and are ignored). */
static int l_meter(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *spec = mb_scn_env(s)->meter;
    int opts = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        opts = 2;
    }
    if (!strcmp(spec, "sim"))
        return sim_meter(L, opts, "t:meter");
    if (opts) {
        mb_check_opts(L, opts, "t:meter", sim_opts);
        static const char *const need[] = { "model", "set", "tcp", NULL };
        for (const char *const *k = need; *k; k++) {
            lua_getfield(L, opts, *k);
            bool given = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (given)
                return mb_raise(L, "skip",
                                "needs the simulator (t:meter{%s = ...}); the "
                                "meter is %s",
                                *k, spec);
        }
    }
    return real_meter(L, spec);
}

static int l_serial_meter(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const allowed[] = { "device", NULL };
    mb_check_opts(L, 2, "serial_meter", allowed);
    lua_getfield(L, 2, "device");
    const char *dev = luaL_checkstring(L, -1);
    char spec[600];
    snprintf(spec, sizeof spec, "serial:%s", dev);
    return real_meter(L, spec);
}

static int l_tcp_meter(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const allowed[] = { "host", "port", NULL };
    mb_check_opts(L, 2, "tcp_meter", allowed);
    lua_getfield(L, 2, "host");
    const char *host = luaL_optstring(L, -1, "127.0.0.1");
    lua_getfield(L, 2, "port");
    lua_Integer port = luaL_checkinteger(L, -1);
    if (port <= 0 || port > 65535)
        return luaL_error(L, "tcp_meter: port 1..65535 expected");
    char spec[600];
    if (strchr(host, ':'))
        snprintf(spec, sizeof spec, "tcp:[%s]:%d", host, (int)port);
    else
        snprintf(spec, sizeof spec, "tcp:%s:%d", host, (int)port);
    return real_meter(L, spec);
}

int luaopen_mb_meter(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "meter", l_meter },
        { "sim_meter", l_sim_meter },
        { "serial_meter", l_serial_meter },
        { "tcp_meter", l_tcp_meter },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    return 1;
}
