/*
** mb_rt.c — the meterbench scenario runtime: a sandboxed Lua 5.4 state per scenario,
** its coroutine on the libuv loop, time limits, and the primitives the prelude
** (prelude.lua) builds the scenario API on.
** SPDX-License-Identifier: MIT
**
** After lua.c (msghandler + luaL_traceback for every error), linit.c (one list of
** modules) and liolib.c (handles as userdata, errors raised with luaL_error).
*/
#include "mb_rt.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lualib.h>

#include "mb_dlms.h"
#include "mb_report.h"
#include "ms_hex.h"
#include "ms_time.h"

extern const unsigned char mb_prelude[];
extern const size_t mb_prelude_len;

#define HOOK_EVERY    1000                /* instructions between two hook calls */
#define SLICE_NS      (20 * 1000000ull)   /* CPU time before a scenario yields */
#define GRACE_NS      (2000 * 1000000ull) /* cleanup allowed after a scenario time-out */
#define WATCHDOG_MS   10000u              /* after the scenario's limit: force its end */
#define TEARDOWN_MS   8000u /* resources must be released by then (then SIGKILL) */
#define READ_DATA_MAX (64u << 20)

enum { PH_SCAN = 0, PH_RUNNING, PH_TEARDOWN, PH_DONE };
enum { Y_NONE = 0, Y_WAIT, Y_SLICE };
enum { LIM_OP = 0, LIM_STEP, LIM_SCN };

typedef struct mb_mem {
    size_t used, limit;
} mb_mem_t;

struct mb_scn {
    const mb_env_t *env;
    char *file, *dir;
    size_t index;
    mb_mem_t mem;
    lua_State *L, *co;
    int run_ref;
    int phase;
    json_t *res, *steps;
    json_t *step, *implicit; /* borrowed from steps */
    char *step_fail, *impl_fail;
    unsigned step_fails, impl_fails;
    json_t *mlist; /* measurements created (for measure_limit) */
    uint64_t t0_ns, step_t0_ns, step_deadline_ns, scn_deadline_ns, last_step_t0_ns;
    unsigned step_limit_ms, scn_limit_ms;
    unsigned attempts;
    /* waiting */
    bool waiting;
    mb_wake_t wake;
    int limit_kind;
    unsigned limit_ms;
    const char *wait_what;
    void (*cancel)(void *);
    void *cancel_ud;
    int yield_kind;
    uint64_t slice_ns;
    long long instr, instr_max;
    bool aborted, abort_raised;
    uint64_t wait_deadline_ns;
    uv_timer_t wait_timer, watchdog;
    uv_idle_t resume_idle; /* resumes run one per loop iteration: I/O between slices */
    int open_handles;
    bool finalize_due, forced;
    /* resources */
    mb_res_t head;
    /* outcome */
    char *crash;
    char *teardown_err;
    char *skip;
    json_t *scn_error; /* {kind, message, traceback} of an error outside steps */
    mb_scn_done_fn done;
    void *done_ud;
};

/* ---- small helpers ----------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) {
        fputs("meterbench: out of memory\n", stderr);
        abort();
    }
    return p;
}

static double ms_since(uint64_t t0_ns)
{
    return (double)(uv_hrtime() - t0_ns) / 1e6;
}

static double round3(double v)
{
    return (double)(long long)(v * 1000.0 + (v >= 0 ? 0.5 : -0.5)) / 1000.0;
}

mb_scn_t *mb_scn_of(lua_State *L)
{
    return *(mb_scn_t **)lua_getextraspace(L);
}

const mb_env_t *mb_scn_env(const mb_scn_t *s)
{
    return s->env;
}

const char *mb_scn_dir(const mb_scn_t *s)
{
    return s->dir;
}

json_t *mb_scn_result(mb_scn_t *s)
{
    return s->res;
}

/* ---- memory limit --------------------------------------------------------------- */

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    mb_mem_t *m = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        m->used -= old;
        return NULL;
    }
    if (m->limit && nsize > old && m->used - old + nsize > m->limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        m->used = m->used - old + nsize;
    return p;
}

/* ---- errors ----------------------------------------------------------------------- */

static int raise_obj(lua_State *L, const char *kind, const char *scope, const char *msg)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "mb_kind");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    if (scope) {
        lua_pushstring(L, scope);
        lua_setfield(L, -2, "scope");
    }
    return lua_error(L);
}

int mb_raise(lua_State *L, const char *kind, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    luaL_where(L, 1);
    lua_pushstring(L, buf);
    lua_concat(L, 2);
    char msg[1400];
    snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return raise_obj(L, kind, NULL, msg);
}

/* ---- the hook: instruction budget, time limits, time slices ---------------------- */

static const char *step_name(mb_scn_t *s)
{
    json_t *n = s->step ? json_object_get(s->step, "name") : NULL;
    return n ? json_string_value(n) : "?";
}

static void hook(lua_State *L, lua_Debug *ar)
{
    mb_scn_t *s = mb_scn_of(L);
    s->instr += HOOK_EVERY;
    char msg[512];
    if (s->instr > s->instr_max) {
        s->instr_max = s->instr + 1000000; /* room for the clean-up */
        lua_getinfo(L, "Sl", ar);
        snprintf(msg, sizeof msg, "%s:%d: instruction limit (%lld) exceeded",
                 ar->short_src, ar->currentline, s->env->max_instructions);
        raise_obj(L, "limit", "scenario", msg);
    }
    uint64_t now = uv_hrtime();
    if (s->aborted && !s->abort_raised) {
        s->abort_raised = true;
        raise_obj(L, "abort", "scenario", "run interrupted");
    }
    if (s->scn_deadline_ns && now >= s->scn_deadline_ns) {
        s->scn_deadline_ns = now + GRACE_NS;
        lua_getinfo(L, "Sl", ar);
        snprintf(msg, sizeof msg,
                 "%s:%d: scenario timed out after %u ms (its wall-clock limit)",
                 ar->short_src, ar->currentline, s->scn_limit_ms);
        raise_obj(L, "timeout", "scenario", msg);
    }
    if (s->step_deadline_ns && now >= s->step_deadline_ns) {
        s->step_deadline_ns = 0;
        lua_getinfo(L, "Sl", ar);
        snprintf(msg, sizeof msg, "%s:%d: step '%s' timed out after %u ms", ar->short_src,
                 ar->currentline, step_name(s), s->step_limit_ms);
        raise_obj(L, "timeout", "step", msg);
    }
    if (L == s->co && now - s->slice_ns >= SLICE_NS && lua_isyieldable(L)) {
        s->yield_kind = Y_SLICE;
        lua_yield(L, 0);
    }
}

/* ---- blocking calls ---------------------------------------------------------------- */

static void on_resume(uv_idle_t *h);

/* An idle handle, not a zero timer: libuv runs a timer started from a timer callback in
 * the same pass, so a busy scenario could starve the loop; idle callbacks run once per
 * iteration, after I/O has been polled. */
static void schedule_resume(mb_scn_t *s)
{
    uv_idle_start(&s->resume_idle, on_resume);
}

void mb_wait_prepare(mb_scn_t *s, const char *what, void (*cancel)(void *ud), void *ud)
{
    s->wake = MB_WAKE_NONE;
    s->wait_what = what;
    s->cancel = cancel;
    s->cancel_ud = ud;
}

static void run_cancel(mb_scn_t *s)
{
    void (*fn)(void *) = s->cancel;
    s->cancel = NULL;
    if (fn)
        fn(s->cancel_ud);
}

static mb_wake_t limit_wake(const mb_scn_t *s)
{
    return s->limit_kind == LIM_STEP  ? MB_WAKE_STEP_TIMEOUT
           : s->limit_kind == LIM_SCN ? MB_WAKE_SCN_TIMEOUT
                                      : MB_WAKE_OP_TIMEOUT;
}

void mb_wake(mb_scn_t *s, mb_wake_t why)
{
    if (s->wake != MB_WAKE_NONE)
        return;
    /* Completion after the deadline (the loop was late to notice): a time-out. */
    if (why == MB_WAKE_DONE && s->waiting && uv_hrtime() > s->wait_deadline_ns)
        why = limit_wake(s);
    s->wake = why;
    if (why != MB_WAKE_DONE)
        run_cancel(s);
    else
        s->cancel = NULL;
    if (s->waiting) {
        uv_timer_stop(&s->wait_timer);
        schedule_resume(s);
    }
}

static void on_wait_timer(uv_timer_t *t)
{
    mb_scn_t *s = t->data;
    if (!s->waiting)
        return;
    mb_wake(s, limit_wake(s));
}

int mb_block(lua_State *L, unsigned op_timeout_ms, lua_KFunction k, lua_KContext ctx)
{
    mb_scn_t *s = mb_scn_of(L);
    if (s->phase != PH_RUNNING || L != s->co || !lua_isyieldable(L)) {
        run_cancel(s);
        return luaL_error(L, "this call waits for the meter: it is allowed only in the "
                             "scenario's function (not at file level, in a coroutine, or "
                             "in a metamethod or __close/__gc handler)");
    }
    uint64_t now = uv_hrtime();
    uint64_t dl = now + (uint64_t)op_timeout_ms * 1000000u;
    s->limit_kind = LIM_OP;
    s->limit_ms = op_timeout_ms;
    if (s->step_deadline_ns && s->step_deadline_ns < dl) {
        dl = s->step_deadline_ns;
        s->limit_kind = LIM_STEP;
    }
    if (s->scn_deadline_ns && s->scn_deadline_ns <= dl) {
        dl = s->scn_deadline_ns;
        s->limit_kind = LIM_SCN;
    }
    s->waiting = true;
    s->wait_deadline_ns = dl;
    s->yield_kind = Y_WAIT;
    if (s->aborted && s->wake == MB_WAKE_NONE)
        mb_wake(s, MB_WAKE_ABORT);
    else if (s->crash && s->wake == MB_WAKE_NONE)
        mb_wake(s, MB_WAKE_CRASH);
    if (s->wake != MB_WAKE_NONE) {
        schedule_resume(s);
    } else {
        uint64_t wait_ns = dl > now ? dl - now : 0;
        uv_timer_start(&s->wait_timer, on_wait_timer, (wait_ns + 999999) / 1000000, 0);
    }
    return lua_yieldk(L, 0, ctx, k);
}

unsigned mb_wait_limit_ms(const mb_scn_t *s)
{
    return s->limit_ms;
}

mb_wake_t mb_woken(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    mb_wake_t why = s->wake;
    s->wake = MB_WAKE_NONE;
    s->waiting = false;
    s->cancel = NULL;
    uv_timer_stop(&s->wait_timer);
    const char *what = s->wait_what ? s->wait_what : "a blocking call";
    char msg[1200];
    switch (why) {
    case MB_WAKE_STEP_TIMEOUT:
        s->step_deadline_ns = 0;
        luaL_where(L, 1);
        snprintf(msg, sizeof msg, "%sstep '%s' timed out after %u ms (waiting in %s)",
                 lua_tostring(L, -1), step_name(s), s->step_limit_ms, what);
        return raise_obj(L, "timeout", "step", msg);
    case MB_WAKE_SCN_TIMEOUT:
        s->scn_deadline_ns = uv_hrtime() + GRACE_NS;
        luaL_where(L, 1);
        snprintf(msg, sizeof msg,
                 "%sscenario timed out after %u ms, its wall-clock limit (waiting in %s)",
                 lua_tostring(L, -1), s->scn_limit_ms, what);
        return raise_obj(L, "timeout", "scenario", msg);
    case MB_WAKE_CRASH:
        return raise_obj(L, "crash", "scenario", s->crash ? s->crash : "meter crashed");
    case MB_WAKE_ABORT:
        s->abort_raised = true;
        return raise_obj(L, "abort", "scenario", "run interrupted");
    case MB_WAKE_NONE: /* resumed by coroutine.resume from the scenario itself */
        return luaL_error(L, "%s resumed by something other than the runner", what);
    default:
        return why;
    }
}

void mb_scn_crash(mb_scn_t *s, const char *msg)
{
    if (!s->crash)
        s->crash = xstrdup(msg);
    if (s->phase == PH_RUNNING && s->waiting)
        mb_wake(s, MB_WAKE_CRASH);
}

void mb_scn_teardown_error(mb_scn_t *s, const char *msg)
{
    if (!s->teardown_err)
        s->teardown_err = xstrdup(msg);
}

void mb_scn_abort(mb_scn_t *s)
{
    s->aborted = true;
    if (s->phase == PH_RUNNING && s->waiting)
        mb_wake(s, MB_WAKE_ABORT);
}

/* ---- resources -----------------------------------------------------------------------
 */

static void maybe_finalize(mb_scn_t *s);

void mb_res_add(mb_scn_t *s, mb_res_t *r)
{
    r->scn = s;
    r->next = s->head.next;
    r->prev = &s->head;
    s->head.next->prev = r;
    s->head.next = r;
}

void mb_res_release(mb_res_t *r)
{
    mb_scn_t *s = r->scn;
    if (!r->next)
        return;
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = NULL;
    if (s && s->phase == PH_TEARDOWN)
        maybe_finalize(s);
}

static void step_edges(mb_scn_t *s)
{
    for (mb_res_t *r = s->head.next; r != &s->head; r = r->next)
        if (r->step_edge)
            r->step_edge(r);
}

/* ---- steps and results ----------------------------------------------------------------
 */

static json_t *new_step(const char *name)
{
    return json_pack("{s:s, s:s, s:n, s:f, s:i, s:[], s:[], s:[]}", "name", name,
                     "status", "running", "message", "duration_ms", 0.0, "attempts", 1,
                     "measurements", "trace", "plots");
}

json_t *mb_scn_step(mb_scn_t *s, uint64_t *t0_ns)
{
    if (s->step) {
        if (t0_ns)
            *t0_ns = s->step_t0_ns;
        return s->step;
    }
    if (s->phase == PH_TEARDOWN && json_array_size(s->steps)) {
        /* closing handles (a B0 on the way out): the last step's trace */
        json_t *last = json_array_get(s->steps, json_array_size(s->steps) - 1);
        if (t0_ns)
            *t0_ns = s->last_step_t0_ns;
        return last;
    }
    if (!s->implicit) {
        s->implicit = new_step("(scenario)");
        json_array_append_new(s->steps, s->implicit);
    }
    if (t0_ns)
        *t0_ns = s->t0_ns;
    return s->implicit;
}

void mb_scn_log(mb_scn_t *s, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_t *st = mb_scn_step(s, NULL);
    json_t *log = json_object_get(st, "log");
    if (!log) {
        log = json_array();
        json_object_set_new(st, "log", log);
    }
    json_array_append_new(log, json_string(buf));
    if (s->env->verbose)
        fprintf(stderr, "    | %s\n", buf);
}

/* ---- frame traces ------------------------------------------------------------------ */

static json_t *text_json(const uint8_t *p, size_t n)
{
    size_t len;
    char *t = mb_report_bytes_text(p, n, &len);
    if (!t)
        return json_string("");
    json_t *j = json_stringn(t, len);
    free(t);
    return j;
}

/* mb.text(bytes) -> the text a trace shows for them (also the prelude's messages) */
static int mb_text(lua_State *L)
{
    size_t n, len;
    const char *p = luaL_checklstring(L, 1, &n);
    char *t = mb_report_bytes_text((const uint8_t *)p, n, &len);
    if (!t)
        return luaL_error(L, "out of memory");
    lua_pushlstring(L, t, len);
    free(t);
    return 1;
}

void mb_scn_trace(mb_scn_t *s, const char *dir, const char *layer, const uint8_t *p,
                  size_t n, uint64_t t_ns, bool text, const char *meaning)
{
    if (!s || !n)
        return;
    uint64_t t0;
    json_t *step = mb_scn_step(s, &t0);
    size_t shown = n > MB_TRACE_ENTRY_MAX ? MB_TRACE_ENTRY_MAX : n;
    char *hex = malloc(shown * 2 + 1);
    if (!hex)
        return;
    ms_hex_encode(p, shown, hex);
    json_t *e = json_object();
    double t_ms = (double)((int64_t)(t_ns - t0)) / 1e6;
    json_object_set_new(e, "t_ms",
                        json_real((double)(long long)(t_ms * 1000.0) / 1000.0));
    json_object_set_new(e, "dir", json_string(dir));
    json_object_set_new(e, "hex", json_stringn(hex, shown * 2));
    json_object_set_new(e, "text", text ? text_json(p, shown) : json_string(""));
    json_object_set_new(e, "meaning", json_string(meaning ? meaning : ""));
    if (layer)
        json_object_set_new(e, "layer", json_string(layer));
    if (shown < n)
        json_object_set_new(e, "truncated_bytes", json_integer((json_int_t)n));
    free(hex);
    json_array_append_new(json_object_get(step, "trace"), e);
}

/* Status of an error object's kind. */
static const char *status_of_kind(const char *kind)
{
    if (!strcmp(kind, "failure"))
        return "failed";
    if (!strcmp(kind, "skip"))
        return "skipped";
    return "error";
}

/* Read field k of the error table at idx as a string (NULL when absent). */
static const char *errfield(lua_State *L, int idx, const char *k)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return NULL;
    lua_getfield(L, idx, k);
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the string stays alive in the table */
    return v;
}

/* ---- primitives for the prelude (table C)
 * ------------------------------------------------ */

static int c_caller_line(lua_State *L)
{
    lua_Debug ar;
    int level = (int)luaL_checkinteger(L, 1);
    if (lua_getstack(L, level, &ar) && lua_getinfo(L, "l", &ar))
        lua_pushinteger(L, ar.currentline);
    else
        lua_pushinteger(L, 0);
    return 1;
}

static int c_where(lua_State *L)
{
    lua_Debug ar;
    int level = (int)luaL_checkinteger(L, 1);
    if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
        lua_pushfstring(L, "%s:%d", ar.short_src, ar.currentline);
    else
        lua_pushnil(L);
    return 1;
}

static int c_traceback(lua_State *L)
{
    const char *msg = luaL_optstring(L, 1, NULL);
    int level = (int)luaL_optinteger(L, 2, 1);
    luaL_traceback(L, L, msg, level);
    return 1;
}

static int c_step_begin(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *name = luaL_checkstring(L, 1);
    lua_Integer to = luaL_optinteger(L, 2, 0);
    step_edges(s); /* bytes so far belong to what came before */
    s->step = new_step(name);
    json_array_append_new(s->steps, s->step);
    s->step_t0_ns = s->last_step_t0_ns = uv_hrtime();
    s->step_limit_ms = to > 0 ? (unsigned)to : s->env->step_timeout_ms;
    s->step_deadline_ns = s->step_t0_ns + (uint64_t)s->step_limit_ms * 1000000u;
    free(s->step_fail);
    s->step_fail = NULL;
    s->step_fails = 0;
    s->attempts = 1;
    if (s->env->verbose)
        fprintf(stderr, "    step '%s'\n", name);
    return 0;
}

static int c_step_failed(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    s->step_deadline_ns = 0; /* the attempt is over (step_retry re-arms it) */
    if (s->step_fail)
        lua_pushstring(L, s->step_fail);
    else
        lua_pushnil(L);
    return 1;
}

static int c_step_retry(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *why = luaL_optstring(L, 1, "failed");
    step_edges(s);
    s->attempts++;
    json_object_set_new(s->step, "measurements", json_array());
    json_object_set_new(s->step, "trace", json_array());
    json_object_set_new(s->step, "plots", json_array());
    free(s->step_fail);
    s->step_fail = NULL;
    s->step_fails = 0;
    mb_scn_log(s, "attempt %u: %s; retrying", s->attempts - 1, why);
    s->step_t0_ns = uv_hrtime();
    s->step_deadline_ns = s->step_t0_ns + (uint64_t)s->step_limit_ms * 1000000u;
    return 0;
}

static void set_fail_message(json_t *st, const char *msg, unsigned n)
{
    if (n > 1) {
        char *m = NULL;
        if (asprintf(&m, "%s (and %u more)", msg, n - 1) > 0) {
            json_object_set_new(st, "message", json_string(m));
            free(m);
            return;
        }
    }
    json_object_set_new(st, "message", json_string(msg));
}

static int c_step_end(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    if (!s->step)
        return luaL_error(L, "step_end without a step");
    step_edges(s);
    json_t *st = s->step;
    const char *status = "passed";
    if (!lua_isnoneornil(L, 1)) {
        const char *kind = errfield(L, 1, "mb_kind");
        status = status_of_kind(kind ? kind : "error");
        const char *m = errfield(L, 1, "message");
        json_object_set_new(st, "message", json_string(m ? m : "error"));
        const char *tb = errfield(L, 1, "traceback");
        if (tb)
            json_object_set_new(st, "traceback", json_string(tb));
        const char *where = errfield(L, 1, "where");
        if (where)
            json_object_set_new(st, "where", json_string(where));
        /* A non-fatal failure that came before the error is the first cause. */
        if (s->step_fail && strcmp(status, "error") != 0) {
            status = "failed";
            set_fail_message(st, s->step_fail, s->step_fails + 1);
        }
    } else if (s->step_fail) {
        status = "failed";
        set_fail_message(st, s->step_fail, s->step_fails);
    }
    json_object_set_new(st, "status", json_string(status));
    json_object_set_new(st, "duration_ms", json_real(round3(ms_since(s->step_t0_ns))));
    json_object_set_new(st, "attempts", json_integer(s->attempts));
    if (s->env->verbose)
        fprintf(stderr, "    step '%s': %s\n", step_name(s), status);
    s->step = NULL;
    s->step_deadline_ns = 0;
    free(s->step_fail);
    s->step_fail = NULL;
    lua_pushstring(L, status);
    return 1;
}

static int c_note_failure(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *msg = luaL_checkstring(L, 1);
    const char *where = luaL_optstring(L, 2, NULL);
    char **slot = s->step ? &s->step_fail : &s->impl_fail;
    unsigned *n = s->step ? &s->step_fails : &s->impl_fails;
    json_t *st = mb_scn_step(s, NULL);
    if (!*slot) {
        *slot = xstrdup(msg);
        if (where)
            json_object_set_new(st, "where", json_string(where));
    }
    (*n)++;
    if (s->env->verbose)
        fprintf(stderr, "    FAIL %s%s%s\n", msg, where ? " at " : "",
                where ? where : "");
    return 0;
}

static int c_note_check(lua_State *L)
{
    (void)L;
    return 0;
}

static json_t *lua_scalar_json(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer(lua_tointeger(L, idx));
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(L, idx, &n);
        json_t *j = json_stringn(p, n);
        return j ? j : json_string("(not UTF-8)");
    }
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    default:
        return json_null();
    }
}

static int c_measure(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *name = luaL_checkstring(L, 1);
    json_t *m = json_object();
    json_object_set_new(m, "name", json_string(name));
    json_object_set_new(m, "value", lua_scalar_json(L, 2));
    json_object_set_new(
        m, "unit", lua_isstring(L, 3) ? json_string(lua_tostring(L, 3)) : json_null());
    json_object_set_new(m, "limit", json_pack("{s:s}", "kind", "none"));
    json_object_set_new(m, "verdict", json_string("none"));
    json_object_set_new(m, "requirement", json_null());
    json_array_append_new(json_object_get(mb_scn_step(s, NULL), "measurements"),
                          json_incref(m));
    json_array_append_new(s->mlist, m);
    lua_pushinteger(L, (lua_Integer)json_array_size(s->mlist));
    return 1;
}

static int c_measure_limit(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    lua_Integer idx = luaL_checkinteger(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *verdict = luaL_checkstring(L, 3);
    json_t *m = json_array_get(s->mlist, (size_t)(idx - 1));
    if (!m)
        return luaL_error(L, "no measurement %d", (int)idx);
    json_t *limit = mb_to_json(L, 2);
    /* Keys the results format lists are present, null when unused. */
    const char *kind = json_string_value(json_object_get(limit, "kind"));
    if (kind && !strcmp(kind, "in_range")) {
        if (!json_object_get(limit, "marginal_low"))
            json_object_set_new(limit, "marginal_low", json_null());
        if (!json_object_get(limit, "marginal_high"))
            json_object_set_new(limit, "marginal_high", json_null());
    }
    json_object_set_new(m, "limit", limit);
    json_object_set_new(m, "verdict", json_string(verdict));
    json_object_set_new(m, "requirement",
                        lua_isstring(L, 4) ? json_string(lua_tostring(L, 4))
                                           : json_null());
    return 0;
}

static int c_log(lua_State *L)
{
    mb_scn_log(mb_scn_of(L), "%s", luaL_checkstring(L, 1));
    return 0;
}

static int c_param(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *k = luaL_checkstring(L, 1);
    json_t *v = s->env->params ? json_object_get(s->env->params, k) : NULL;
    if (v)
        lua_pushstring(L, json_string_value(v));
    else
        lua_pushnil(L);
    return 1;
}

static int k_sleep(lua_State *L, int status, lua_KContext ctx)
{
    mb_woken(L);
    return 0;
}

/* t:sleep(ms): let time pass (the loop runs on). */
static int c_sleep(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    lua_Number ms = luaL_checknumber(L, 2);
    luaL_argcheck(L, ms >= 0 && ms <= 86400000.0, 2, "0 .. 86400000 ms expected");
    mb_wait_prepare(s, "t:sleep", NULL, NULL);
    return mb_block(L, (unsigned)ms, k_sleep, 0);
}

static int c_now_ms(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    lua_pushnumber(L, ms_since(s->t0_ns));
    return 1;
}

/* t:plot{title=, x={label=, kind="time"|"number"}, y={label=, unit=}, series={{name=,
 * points={{x, y}, ...}}, ...}} */
static int c_plot(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const allowed[] = { "title", "x", "y", "series", NULL };
    mb_check_opts(L, 2, "t:plot", allowed);
    json_t *p = mb_to_json(L, 2);
    json_t *series = json_object_get(p, "series");
    if (!json_is_string(json_object_get(p, "title")) || !json_is_array(series)) {
        json_decref(p);
        return luaL_error(L, "t:plot: 'title' (string) and 'series' (list) expected");
    }
    size_t i;
    json_t *se;
    json_array_foreach(series, i, se)
    {
        if (!json_is_string(json_object_get(se, "name")) ||
            !json_is_array(json_object_get(se, "points"))) {
            json_decref(p);
            return luaL_error(L, "t:plot: series[%d]: 'name' and 'points' expected",
                              (int)i + 1);
        }
    }
    json_array_append_new(json_object_get(mb_scn_step(s, NULL), "plots"), p);
    return 0;
}

/* A path below the data directory, without ".." or an absolute start. */
static int data_file(lua_State *L, int idx, char *out, size_t cap)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *rel = luaL_checkstring(L, idx);
    if (rel[0] == '/' || strstr(rel, "..") || !rel[0])
        return luaL_error(L, "data file '%s': a path below the data directory expected",
                          rel);
    snprintf(out, cap, "%s/%s", s->env->data_dir, rel);
    if (access(out, R_OK) != 0)
        return luaL_error(L, "data file '%s': not found in %s (set MS_SHARED_DATA)", rel,
                          s->env->data_dir);
    return 0;
}

static int c_data_path(lua_State *L)
{
    char path[4096];
    data_file(L, 2, path, sizeof path);
    lua_pushstring(L, path);
    return 1;
}

static int c_read_data(lua_State *L)
{
    char path[4096];
    data_file(L, 2, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return luaL_error(L, "%s: %s", path, strerror(errno));
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t total = 0, n;
    char *p;
    do {
        p = luaL_prepbuffsize(&b, 65536);
        n = fread(p, 1, 65536, f);
        luaL_addsize(&b, n);
        total += n;
    } while (n == 65536 && total < READ_DATA_MAX);
    bool big = total >= READ_DATA_MAX && !feof(f);
    fclose(f);
    if (big)
        return luaL_error(L, "%s: larger than %u bytes", path, READ_DATA_MAX);
    luaL_pushresult(&b);
    return 1;
}

static int c_info(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, s->env->seed);
    lua_setfield(L, -2, "seed");
    lua_pushstring(L, s->env->meter);
    lua_setfield(L, -2, "meter");
    lua_pushstring(L, s->file);
    lua_setfield(L, -2, "file");
    return 1;
}

/* C.finish(err): the scenario's function returned (err nil) or raised err. */
static int c_finish(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    if (lua_isnoneornil(L, 1))
        return 0;
    const char *kind = errfield(L, 1, "mb_kind");
    lua_getfield(L, 1, "recorded");
    bool recorded = lua_toboolean(L, -1);
    lua_pop(L, 1);
    const char *msg = errfield(L, 1, "message");
    if (kind && !strcmp(kind, "skip")) {
        free(s->skip);
        s->skip = xstrdup(msg ? msg : "skipped");
        return 0;
    }
    if (recorded || (kind && !strcmp(kind, "stop")))
        return 0;
    s->scn_error = json_pack("{s:s, s:s}", "kind", kind ? kind : "error", "message",
                             msg ? msg : "error");
    const char *tb = errfield(L, 1, "traceback");
    if (tb)
        json_object_set_new(s->scn_error, "traceback", json_string(tb));
    const char *where = errfield(L, 1, "where");
    if (where)
        json_object_set_new(s->scn_error, "where", json_string(where));
    return 0;
}

/* ---- sandbox ----------------------------------------------------------------------- */

/* load(chunk [, name [, mode [, env]]]) limited to text chunks. */
static int safe_load(lua_State *L)
{
    int n = lua_gettop(L);
    if (n >= 3 && !lua_isnil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);
        if (strcmp(mode, "t") != 0)
            return luaL_error(L, "load: only text chunks (mode \"t\") in a scenario");
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "mb.load");
    lua_pushvalue(L, 1);
    if (n >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "t");
    if (n >= 4) {
        lua_pushvalue(L, 4);
        lua_call(L, 4, LUA_MULTRET);
    } else {
        lua_call(L, 3, LUA_MULTRET);
    }
    return lua_gettop(L) - n;
}

static int luaopen_mb(lua_State *L);

/* require(name): the runner's modules, then NAME.lua beside the scenario file or in
 * ../lib/ (text chunks in the sandbox); with --allow package, everything else too. */
static int safe_require(lua_State *L)
{
    mb_scn_t *s = mb_scn_of(L);
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "mb.loaded");
    if (lua_getfield(L, -1, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    lua_CFunction builtin = !strcmp(name, "iec21")  ? luaopen_mb_iec21
                            : !strcmp(name, "mb")   ? luaopen_mb
                            : !strcmp(name, "dlms") ? luaopen_mb_dlms
                            : !strcmp(name, "hdlc") ? luaopen_mb_hdlc
                                                    : NULL;
    if (builtin) {
        lua_pushcfunction(L, builtin);
        lua_pushstring(L, name);
        lua_call(L, 1, 1);
    } else {
        if (strchr(name, '/') || strstr(name, ".."))
            return luaL_error(L, "require '%s': a module name expected (a.b.c)", name);
        char rel[512], path[4096];
        snprintf(rel, sizeof rel, "%s", name);
        for (char *p = rel; *p; p++)
            if (*p == '.')
                *p = '/';
        const char *dirs[2] = { "", "/../lib" };
        bool found = false;
        for (int i = 0; i < 2 && !found; i++) {
            snprintf(path, sizeof path, "%s%s/%s.lua", s->dir, dirs[i], rel);
            found = access(path, R_OK) == 0;
        }
        if (!found && (s->env->allow & MB_ALLOW_PACKAGE)) {
            lua_getfield(L, LUA_REGISTRYINDEX, "mb.require");
            lua_pushvalue(L, 1);
            lua_call(L, 1, 1);
            return 1;
        }
        if (!found)
            return luaL_error(L,
                              "module '%s' not found (built in: iec21, mb, dlms, hdlc; "
                              "files: %s/%s.lua, "
                              "%s/../lib/%s.lua)",
                              name, s->dir, rel, s->dir, rel);
        if (luaL_loadfilex(L, path, "t") != LUA_OK)
            return lua_error(L);
        lua_pushstring(L, name);
        lua_call(L, 1, 1);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name); /* mb.loaded[name] */
    return 1;
}

static int base_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_addstring(&b, luaL_tolstring(L, i, NULL));
        lua_pop(L, 1);
    }
    luaL_pushresult(&b);
    mb_scn_log(mb_scn_of(L), "%s", lua_tostring(L, -1));
    return 0;
}

/* ---- the mb module: small helpers for scenarios
 * ---------------------------------------- */

static int mb_hex(lua_State *L)
{
    size_t n;
    const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *o = luaL_buffinitsize(L, &b, n * 2 + 1);
    ms_hex_encode(p, n, o);
    luaL_pushresultsize(&b, n * 2);
    return 1;
}

static int mb_unhex(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    uint8_t *o = (uint8_t *)luaL_buffinitsize(L, &b, n / 2 + 1);
    int k = ms_hex_decode(p, n, o, n / 2 + 1);
    if (k < 0)
        return luaL_error(L, "unhex: not hex text (two digits an octet, spaces or "
                             "colons between octets)");
    luaL_pushresultsize(&b, (size_t)k);
    return 1;
}

static int mb_parse_time(lua_State *L)
{
    const char *iso = luaL_checkstring(L, 1);
    int64_t t;
    int off;
    if (ms_iso8601_parse(iso, &t, &off) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "'%s': not an ISO 8601 time with offset", iso);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)t);
    lua_pushinteger(L, off);
    return 2;
}

static int mb_format_time(lua_State *L)
{
    lua_Integer t = luaL_checkinteger(L, 1);
    lua_Integer off = luaL_optinteger(L, 2, 0);
    char buf[40];
    if (ms_iso8601_format((int64_t)t, (int)off, buf, sizeof buf) < 0)
        return luaL_error(L, "format_time: time out of range");
    lua_pushstring(L, buf);
    return 1;
}

static int luaopen_mb(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "hex", mb_hex },
        { "unhex", mb_unhex },
        { "parse_time", mb_parse_time },
        { "format_time", mb_format_time },
        { "text", mb_text },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    return 1;
}

/* ---- state creation -----------------------------------------------------------------
 */

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Libraries every scenario gets (linit.c's list, minus what the sandbox withholds). */
static const luaL_Reg safe_libs[] = {
    { LUA_GNAME, luaopen_base },
    { LUA_TABLIBNAME, luaopen_table },
    { LUA_STRLIBNAME, luaopen_string },
    { LUA_MATHLIBNAME, luaopen_math },
    { LUA_UTF8LIBNAME, luaopen_utf8 },
    { LUA_COLIBNAME, luaopen_coroutine },
    { NULL, NULL },
};

static const struct {
    unsigned flag;
    const char *name;
    lua_CFunction open;
} granted_libs[] = {
    { MB_ALLOW_OS, LUA_OSLIBNAME, luaopen_os },
    { MB_ALLOW_IO, LUA_IOLIBNAME, luaopen_io },
    { MB_ALLOW_DEBUG, LUA_DBLIBNAME, luaopen_debug },
    { MB_ALLOW_PACKAGE, LUA_LOADLIBNAME, luaopen_package },
};

/* A fresh sandboxed state with the prelude loaded; the prelude's API table is left in
 * the registry as "mb.api". Returns NULL (and msg) on failure. */
static lua_State *new_state(mb_scn_t *s, char *msg, size_t cap)
{
    s->mem.limit = s->env->max_memory;
    lua_State *L = lua_newstate(l_alloc, &s->mem);
    if (!L) {
        snprintf(msg, cap, "cannot create a Lua state");
        return NULL;
    }
    *(mb_scn_t **)lua_getextraspace(L) = s;
    for (const luaL_Reg *lib = safe_libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof granted_libs / sizeof granted_libs[0]; i++) {
        if (s->env->allow & granted_libs[i].flag) {
            luaL_requiref(L, granted_libs[i].name, granted_libs[i].open, 1);
            lua_pop(L, 1);
        }
    }
    if (s->env->allow & MB_ALLOW_PACKAGE) {
        lua_getglobal(L, "require");
        lua_setfield(L, LUA_REGISTRYINDEX, "mb.require");
    }
    /* Withheld from the base library: file access and binary chunks. */
    lua_getglobal(L, "load");
    lua_setfield(L, LUA_REGISTRYINDEX, "mb.load");
    if (!(s->env->allow & MB_ALLOW_IO)) {
        lua_pushnil(L);
        lua_setglobal(L, "dofile");
        lua_pushnil(L);
        lua_setglobal(L, "loadfile");
    }
    lua_pushcfunction(L, safe_load);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, safe_require);
    lua_setglobal(L, "require");
    lua_pushcfunction(L, base_print);
    lua_setglobal(L, "print");
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "mb.loaded");
    mb_meter_register(L);
    mb_session_register(L);
    mb_dlms_register(L);

    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);

    /* The prelude gets the primitives (C) and returns the API. */
    lua_pushcfunction(L, msghandler);
    int mh = lua_gettop(L);
    if (luaL_loadbufferx(L, (const char *)mb_prelude, mb_prelude_len,
                         "=meterbench prelude", "t") != LUA_OK) {
        snprintf(msg, cap, "prelude: %s", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    static const luaL_Reg prims[] = {
        { "caller_line", c_caller_line },
        { "where", c_where },
        { "traceback", c_traceback },
        { "step_begin", c_step_begin },
        { "step_failed", c_step_failed },
        { "step_retry", c_step_retry },
        { "step_end", c_step_end },
        { "note_failure", c_note_failure },
        { "note_check", c_note_check },
        { "measure", c_measure },
        { "measure_limit", c_measure_limit },
        { "log", c_log },
        { "param", c_param },
        { "sleep", c_sleep },
        { "now_ms", c_now_ms },
        { "plot", c_plot },
        { "data_path", c_data_path },
        { "read_data", c_read_data },
        { "info", c_info },
        { "finish", c_finish },
        { "text", mb_text },
        { NULL, NULL },
    };
    luaL_newlib(L, prims);
    luaopen_mb_meter(L); /* meter, sim_meter, serial_meter, tcp_meter */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -5);
    }
    lua_pop(L, 1);
    if (lua_pcall(L, 1, 1, mh) != LUA_OK) {
        snprintf(msg, cap, "prelude: %s", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    lua_getfield(L, -1, "scenario");
    lua_setglobal(L, "scenario");
    lua_getfield(L, -1, "print");
    lua_setglobal(L, "print");
    lua_setfield(L, LUA_REGISTRYINDEX, "mb.api");
    lua_pop(L, 1); /* msghandler */
    return L;
}

/* Run the file's top level (declarations). 0, or msg = the error with its traceback. */
static int load_file(lua_State *L, const char *path, char *msg, size_t cap)
{
    lua_pushcfunction(L, msghandler);
    int mh = lua_gettop(L);
    int rc = luaL_loadfilex(L, path, "t");
    if (rc == LUA_OK)
        rc = lua_pcall(L, 0, 0, mh);
    if (rc != LUA_OK) {
        const char *e = lua_tostring(L, -1);
        snprintf(msg, cap, "%s", e ? e : "error while loading the file");
        lua_pop(L, 2);
        return -1;
    }
    lua_pop(L, 1);
    return 0;
}

static char *dir_of(const char *path)
{
    char *d = xstrdup(path);
    char *slash = strrchr(d, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(d, ".");
    return d;
}

static json_t *strings_json(lua_State *L, int idx)
{
    json_t *a = json_array();
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        json_array_append_new(a, json_string(lua_tostring(L, -1)));
        lua_pop(L, 1);
    }
    return a;
}

int mb_file_scan(const mb_env_t *env, mb_file_t *f)
{
    mb_scn_t s;
    memset(&s, 0, sizeof s);
    s.env = env;
    s.file = f->path;
    s.dir = dir_of(f->path);
    s.phase = PH_SCAN;
    s.instr_max = env->max_instructions;
    s.scn_limit_ms = 10000; /* loading a file takes no longer */
    s.scn_deadline_ns = uv_hrtime() + (uint64_t)s.scn_limit_ms * 1000000u;
    s.head.next = s.head.prev = &s.head;
    s.steps = json_array();
    s.mlist = json_array();
    char msg[4096];
    lua_State *L = new_state(&s, msg, sizeof msg);
    if (L && load_file(L, f->path, msg, sizeof msg) == 0) {
        lua_getfield(L, LUA_REGISTRYINDEX, "mb.api");
        lua_getfield(L, -1, "declared");
        lua_Integer n = luaL_len(L, -1);
        f->decls = calloc((size_t)n + 1, sizeof *f->decls);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, -1, i);
            mb_decl_t *d = &f->decls[f->ndecls++];
            lua_getfield(L, -1, "name");
            d->name = xstrdup(lua_tostring(L, -1));
            lua_getfield(L, -2, "line");
            d->line = (int)lua_tointeger(L, -1);
            lua_getfield(L, -3, "tags");
            d->tags = strings_json(L, lua_gettop(L));
            lua_getfield(L, -4, "requirements");
            d->requirements = strings_json(L, lua_gettop(L));
            lua_getfield(L, -5, "sim_only");
            d->sim_only = lua_toboolean(L, -1);
            lua_getfield(L, -6, "timeout_ms");
            d->timeout_ms = (unsigned)lua_tointeger(L, -1);
            lua_getfield(L, -7, "skip");
            d->skip = lua_isstring(L, -1) ? xstrdup(lua_tostring(L, -1)) : NULL;
            lua_pop(L, 8);
        }
        lua_pop(L, 2);
    } else {
        f->load_error = xstrdup(msg);
    }
    if (L)
        lua_close(L);
    /* Nothing a file's top level can start outlives it: no blocking calls there. */
    for (mb_res_t *r = s.head.next; r != &s.head; r = s.head.next) {
        r->scn = NULL;
        mb_res_release(r);
    }
    free(s.dir);
    free(s.crash);
    free(s.teardown_err);
    json_decref(s.steps);
    json_decref(s.mlist);
    return f->load_error ? -1 : 0;
}

void mb_file_free(mb_file_t *f)
{
    for (size_t i = 0; i < f->ndecls; i++) {
        free(f->decls[i].name);
        json_decref(f->decls[i].tags);
        json_decref(f->decls[i].requirements);
        free(f->decls[i].skip);
    }
    free(f->decls);
    free(f->path);
    free(f->suite);
    free(f->rel);
    free(f->load_error);
    memset(f, 0, sizeof *f);
}

/* ---- running a scenario
 * ---------------------------------------------------------------- */

static void end_run(mb_scn_t *s);

static void resume(mb_scn_t *s, int nargs)
{
    if (s->phase != PH_RUNNING)
        return;
    s->slice_ns = uv_hrtime();
    s->yield_kind = Y_NONE;
    int nres = 0;
    int st = lua_resume(s->co, s->L, nargs, &nres);
    if (st == LUA_YIELD) {
        lua_pop(s->co, nres);
        if (s->yield_kind != Y_WAIT) /* a time slice, or coroutine.yield at top level */
            schedule_resume(s);
        return;
    }
    if (st != LUA_OK && !s->scn_error) {
        /* The prelude catches everything; this is out of memory or a runtime bug. */
        const char *e = lua_tostring(s->co, -1);
        s->scn_error = json_pack("{s:s, s:s}", "kind", "error", "message",
                                 e ? e : "error outside the scenario's function");
        if (st == LUA_ERRMEM)
            json_object_set_new(s->scn_error, "message",
                                json_string("out of memory (scenario memory limit)"));
    }
    end_run(s);
}

static void on_resume(uv_idle_t *h)
{
    mb_scn_t *s = h->data;
    uv_idle_stop(&s->resume_idle);
    if (s->finalize_due) {
        s->finalize_due = false;
        s->phase = PH_DONE;
        s->done(s, s->done_ud);
        return;
    }
    if (s->phase == PH_RUNNING)
        resume(s, 0);
}

static void on_watchdog(uv_timer_t *t)
{
    mb_scn_t *s = t->data;
    if (s->phase == PH_RUNNING) {
        if (!s->forced) {
            /* Every wait is bounded by the scenario's deadline: this is a last resort. */
            s->forced = true;
            mb_scn_abort(s);
            uv_timer_start(&s->watchdog, on_watchdog, 5000, 0);
            return;
        }
        if (!s->scn_error)
            s->scn_error = json_pack("{s:s, s:s}", "kind", "timeout", "message",
                                     "scenario did not end after its wall-clock limit "
                                     "and was stopped");
        end_run(s);
        return;
    }
    if (s->phase == PH_TEARDOWN) {
        if (!s->forced) {
            s->forced = true;
            for (mb_res_t *r = s->head.next; r != &s->head; r = r->next)
                if (r->hard_kill)
                    r->hard_kill(r);
            mb_scn_teardown_error(s, "resources were not released in time (killed)");
            uv_timer_start(&s->watchdog, on_watchdog, 4000, 0);
            return;
        }
        /* Give up waiting; what is left is detached from the scenario. */
        for (mb_res_t *r = s->head.next; r != &s->head; r = s->head.next) {
            r->prev->next = r->next;
            r->next->prev = r->prev;
            r->next = r->prev = NULL;
            r->scn = NULL;
        }
        maybe_finalize(s);
    }
}

static void set_status(mb_scn_t *s)
{
    json_t *res = s->res;
    const char *status = "passed";
    const char *message = NULL;
    char buf[2048];
    const char *traceback = NULL;
    /* Close the implicit step. */
    if (s->implicit) {
        json_t *st = s->implicit;
        const char *ist = "passed";
        if (s->scn_error) {
            ist =
                status_of_kind(json_string_value(json_object_get(s->scn_error, "kind")));
            json_object_set(st, "message", json_object_get(s->scn_error, "message"));
            json_t *tb = json_object_get(s->scn_error, "traceback");
            if (tb)
                json_object_set(st, "traceback", tb);
            json_t *w = json_object_get(s->scn_error, "where");
            if (w)
                json_object_set(st, "where", w);
        } else if (s->impl_fail) {
            ist = "failed";
            set_fail_message(st, s->impl_fail, s->impl_fails);
        }
        json_object_set_new(st, "status", json_string(ist));
        json_object_set_new(st, "duration_ms", json_real(round3(ms_since(s->t0_ns))));
    } else if (s->scn_error) {
        json_t *st = new_step("(scenario)");
        json_object_set_new(st, "status",
                            json_string(status_of_kind(json_string_value(
                                json_object_get(s->scn_error, "kind")))));
        json_object_set(st, "message", json_object_get(s->scn_error, "message"));
        json_t *tb = json_object_get(s->scn_error, "traceback");
        if (tb)
            json_object_set(st, "traceback", tb);
        json_array_append_new(s->steps, st);
    }
    /* A step interrupted by the end of the run. */
    size_t i;
    json_t *st;
    json_array_foreach(s->steps, i, st)
    {
        if (!strcmp(json_string_value(json_object_get(st, "status")), "running")) {
            json_object_set_new(st, "status", json_string("error"));
            json_object_set_new(st, "message", json_string("interrupted"));
        }
    }
    bool any_error = false, any_failed = false;
    json_array_foreach(s->steps, i, st)
    {
        const char *ss = json_string_value(json_object_get(st, "status"));
        any_error |= !strcmp(ss, "error");
        any_failed |= !strcmp(ss, "failed");
    }
    if (any_error || any_failed) {
        status = any_error ? "error" : "failed";
        json_array_foreach(s->steps, i, st)
        {
            const char *ss = json_string_value(json_object_get(st, "status"));
            if (strcmp(ss, status) != 0)
                continue;
            const char *name = json_string_value(json_object_get(st, "name"));
            const char *m = json_string_value(json_object_get(st, "message"));
            if (st == s->implicit || !strcmp(name, "(scenario)"))
                snprintf(buf, sizeof buf, "%s", m ? m : status);
            else
                snprintf(buf, sizeof buf, "step '%s': %s", name, m ? m : status);
            message = buf;
            traceback = json_string_value(json_object_get(st, "traceback"));
            break;
        }
    } else if (s->skip) {
        status = "skipped";
        message = s->skip;
    }
    if (s->crash && strcmp(status, "error") != 0) {
        status = "error";
        snprintf(buf, sizeof buf, "meter crash: %s", s->crash);
        message = buf;
    }
    if (s->teardown_err && !strcmp(status, "passed")) {
        status = "error";
        message = s->teardown_err;
    }
    json_object_set_new(res, "status", json_string(status));
    json_object_set_new(res, "message", message ? json_string(message) : json_null());
    json_object_set_new(res, "traceback",
                        traceback ? json_string(traceback) : json_null());
    json_object_set_new(res, "duration_ms", json_real(round3(ms_since(s->t0_ns))));
}

static void maybe_finalize(mb_scn_t *s)
{
    if (s->phase != PH_TEARDOWN || s->head.next != &s->head || s->finalize_due)
        return;
    uv_timer_stop(&s->watchdog);
    set_status(s);
    /* done() runs from the loop, not from inside a resource's callback. */
    s->finalize_due = true;
    schedule_resume(s);
}

static void end_run(mb_scn_t *s)
{
    if (s->phase != PH_RUNNING)
        return;
    s->phase = PH_TEARDOWN;
    s->forced = false;
    uv_timer_stop(&s->wait_timer);
    s->waiting = false;
    run_cancel(s);
    step_edges(s);
    if (s->L) {
        /* __gc of every handle starts releasing it (no Lua runs after this). */
        lua_close(s->L);
        s->L = s->co = NULL;
    }
    for (mb_res_t *r = s->head.next; r != &s->head; r = r->next)
        r->shutdown(r);
    uv_timer_start(&s->watchdog, on_watchdog, TEARDOWN_MS, 0);
    maybe_finalize(s);
}

mb_scn_t *mb_scn_start(const mb_env_t *env, const mb_file_t *f, size_t index, json_t *res,
                       mb_scn_done_fn done, void *ud)
{
    mb_scn_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->env = env;
    s->file = xstrdup(f->path);
    s->dir = dir_of(f->path);
    s->index = index;
    s->res = res;
    s->done = done;
    s->done_ud = ud;
    s->head.next = s->head.prev = &s->head;
    s->steps = json_array();
    json_object_set_new(res, "steps", s->steps);
    s->mlist = json_array();
    s->instr_max = env->max_instructions;
    s->t0_ns = uv_hrtime();
    const mb_decl_t *d = &f->decls[index];
    s->scn_limit_ms = d->timeout_ms ? d->timeout_ms : env->scenario_timeout_ms;
    uv_timer_init(env->loop, &s->wait_timer);
    uv_idle_init(env->loop, &s->resume_idle);
    uv_timer_init(env->loop, &s->watchdog);
    s->wait_timer.data = s->resume_idle.data = s->watchdog.data = s;
    s->open_handles = 3;
    s->phase = PH_RUNNING;

    char msg[4096];
    if (d->skip) {
        s->skip = xstrdup(d->skip);
        end_run(s);
        return s;
    }
    if (d->sim_only && strcmp(env->meter, "sim") != 0) {
        snprintf(msg, sizeof msg, "needs the simulator (sim_only); the meter is %s",
                 env->meter);
        s->skip = xstrdup(msg);
        end_run(s);
        return s;
    }
    s->L = new_state(s, msg, sizeof msg);
    if (!s->L) {
        s->scn_error = json_pack("{s:s, s:s}", "kind", "error", "message", msg);
        end_run(s);
        return s;
    }
    s->scn_deadline_ns = uv_hrtime() + 10000ull * 1000000u;
    if (load_file(s->L, s->file, msg, sizeof msg) != 0) {
        s->scn_error = json_pack("{s:s, s:s}", "kind", "error", "message", msg);
        end_run(s);
        return s;
    }
    lua_getfield(s->L, LUA_REGISTRYINDEX, "mb.api");
    lua_getfield(s->L, -1, "declared");
    lua_geti(s->L, -1, (lua_Integer)index + 1);
    lua_getfield(s->L, -1, "name");
    bool same = lua_isstring(s->L, -1) && !strcmp(lua_tostring(s->L, -1), d->name);
    lua_pop(s->L, 3);
    if (!same) {
        s->scn_error = json_pack("{s:s, s:s}", "kind", "error", "message",
                                 "the file declares other scenarios when loaded again "
                                 "(declarations must not depend on run-time state)");
        lua_pop(s->L, 1);
        end_run(s);
        return s;
    }
    s->co = lua_newthread(s->L);
    lua_setfield(s->L, LUA_REGISTRYINDEX, "mb.co");
    lua_getfield(s->L, -1, "run");
    lua_xmove(s->L, s->co, 1);
    lua_pushinteger(s->co, (lua_Integer)index + 1);
    lua_pop(s->L, 1); /* api */
    s->t0_ns = uv_hrtime();
    s->scn_deadline_ns = s->t0_ns + (uint64_t)s->scn_limit_ms * 1000000u;
    uv_timer_start(&s->watchdog, on_watchdog, s->scn_limit_ms + WATCHDOG_MS, 0);
    resume(s, 1);
    return s;
}

static void scn_handle_closed(uv_handle_t *h)
{
    mb_scn_t *s = h->data;
    if (--s->open_handles == 0) {
        free(s->file);
        free(s->dir);
        free(s->step_fail);
        free(s->impl_fail);
        free(s->crash);
        free(s->teardown_err);
        free(s->skip);
        json_decref(s->scn_error);
        json_decref(s->mlist);
        free(s);
    }
}

void mb_scn_free(mb_scn_t *s)
{
    if (!s)
        return;
    uv_close((uv_handle_t *)&s->wait_timer, scn_handle_closed);
    uv_close((uv_handle_t *)&s->resume_idle, scn_handle_closed);
    uv_close((uv_handle_t *)&s->watchdog, scn_handle_closed);
}

/* ---- Lua helpers
 * ------------------------------------------------------------------------ */

void mb_push_json(lua_State *L, const json_t *j)
{
    luaL_checkstack(L, 4, "JSON too deep");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            if (json_is_null(v))
                continue;
            mb_push_json(L, v);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        lua_createtable(L, (int)json_array_size(j), 0);
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v)
        {
            mb_push_json(L, v);
            lua_seti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushnil(L);
    }
}

static json_t *to_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    if (depth > 32)
        luaL_error(L, "value too deeply nested (or a cycle) for JSON");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TTABLE: {
        luaL_checkstack(L, 4, "JSON too deep");
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        size_t count = 0;
        bool only_seq = true;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            count++;
            if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 ||
                lua_tointeger(L, -2) > n)
                only_seq = false;
            lua_pop(L, 1);
        }
        if (count > 0 && only_seq && (lua_Integer)count == n) {
            json_t *a = json_array();
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                json_array_append_new(a, to_json(L, -1, depth + 1));
                lua_pop(L, 1);
            }
            return a;
        }
        json_t *o = json_object();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            char key[64];
            const char *k;
            if (lua_type(L, -2) == LUA_TSTRING) {
                k = lua_tostring(L, -2);
            } else if (lua_isinteger(L, -2)) {
                snprintf(key, sizeof key, "%lld", (long long)lua_tointeger(L, -2));
                k = key;
            } else {
                json_decref(o);
                luaL_error(L, "table key of type %s cannot be a JSON key",
                           luaL_typename(L, -2));
                return NULL;
            }
            json_object_set_new(o, k, to_json(L, -1, depth + 1));
            lua_pop(L, 1);
        }
        return o;
    }
    case LUA_TNUMBER:
    case LUA_TSTRING:
    case LUA_TBOOLEAN:
        return lua_scalar_json(L, idx);
    default:
        luaL_error(L, "a %s cannot be converted to JSON", luaL_typename(L, idx));
        return NULL;
    }
}

json_t *mb_to_json(lua_State *L, int idx)
{
    return to_json(L, idx, 0);
}

void mb_check_opts(lua_State *L, int idx, const char *what, const char *const *allowed)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        bool ok = false;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            for (const char *const *a = allowed; *a; a++)
                ok |= !strcmp(*a, k);
        }
        if (!ok) {
            char list[512] = "";
            size_t off = 0;
            for (const char *const *a = allowed; *a && off < sizeof list; a++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
                                        a == allowed ? "" : ", ", *a);
            const char *k = luaL_tolstring(L, -1, NULL);
            luaL_error(L, "%s: unknown option '%s' (allowed: %s)", what, k, list);
        }
    }
}

static int strict_index(lua_State *L)
{
    /* upvalue 1: methods, upvalue 2: what */
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    return luaL_error(L, "unknown method or field '%s' of %s", luaL_tolstring(L, 2, NULL),
                      lua_tostring(L, lua_upvalueindex(2)));
}

void mb_set_methods(lua_State *L, const luaL_Reg *methods, const char *what)
{
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushstring(L, what);
    lua_pushcclosure(L, strict_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
}
