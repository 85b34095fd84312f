/*
** mb_rt.h — the meterbench scenario runtime: one Lua 5.4 state per scenario, run as a
** coroutine on the libuv loop; blocking calls of the bindings yield to the loop and are
** resumed by their completion or by a time limit (after lua.c's docall/msghandler and
** liolib's handles: ../shared/STYLE-EXAMPLES.md section 6).
** SPDX-License-Identifier: MIT
*/
#ifndef MB_RT_H
#define MB_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <uv.h>

typedef struct mb_http mb_http_t;
typedef struct mb_scn mb_scn_t;

/** Libraries a scenario may be granted beyond the sandbox (--allow). */
enum {
    MB_ALLOW_OS = 1u << 0,
    MB_ALLOW_IO = 1u << 1,
    MB_ALLOW_DEBUG = 1u << 2,
    MB_ALLOW_PACKAGE = 1u << 3, /* package, require of any module, loadlib */
};

/** Settings shared by every scenario of a run. */
typedef struct mb_env {
    uv_loop_t *loop;
    mb_http_t *http;
    const char *meter;    /* "sim", "serial:DEV" or "tcp:HOST:PORT" */
    const char *metersim; /* the metersim program */
    const char *data_dir; /* third-party data (MS_SHARED_DATA) */
    long long seed;
    unsigned allow;               /* MB_ALLOW_* */
    unsigned step_timeout_ms;     /* default per step */
    unsigned scenario_timeout_ms; /* default per scenario */
    unsigned ready_timeout_ms;    /* metersim's ready line */
    long long max_instructions;   /* per scenario */
    size_t max_memory;            /* bytes per scenario state */
    json_t *params;               /* --param KEY=VALUE: object of strings */
    const char *sim_load;         /* --sim-load: default load of simulated meters */
    json_t *sim_sets;             /* --sim-set FIELD=VALUE: array of strings, applied to
                                     every simulated meter before the scenario's own */
    bool verbose;
} mb_env_t;

/** How a scenario's coroutine was woken from a blocking call. */
typedef enum mb_wake {
    MB_WAKE_NONE = 0,
    MB_WAKE_DONE,         /* the operation ended (successfully or not) */
    MB_WAKE_OP_TIMEOUT,   /* the operation's own time limit */
    MB_WAKE_STEP_TIMEOUT, /* the step's time limit: raises */
    MB_WAKE_SCN_TIMEOUT,  /* the scenario's wall-clock limit: raises */
    MB_WAKE_CRASH,        /* a simulated meter died: raises */
    MB_WAKE_ABORT,        /* the run is being stopped: raises */
} mb_wake_t;

/** A C resource a scenario owns (a meter process, a session). It stays listed until it
 *  is released, and the scenario ends only when every resource is released. */
typedef struct mb_res mb_res_t;
struct mb_res {
    mb_res_t *next, *prev;
    mb_scn_t *scn;
    const char *kind;
    void (*shutdown)(mb_res_t *r);  /* start closing (idempotent, never blocks) */
    void (*step_edge)(mb_res_t *r); /* a step begins or ends: flush traces (optional) */
    void (*hard_kill)(mb_res_t *r); /* teardown took too long (optional) */
};

/** One scenario declaration found in a file. */
typedef struct mb_decl {
    char *name;
    int line;
    json_t *tags;         /* array of strings */
    json_t *requirements; /* array of strings */
    bool sim_only;
    unsigned timeout_ms; /* 0: default */
    char *skip;          /* declared skipped, with this reason (NULL: runs) */
} mb_decl_t;

/** Results of loading a file: its declarations, or why it could not load. */
typedef struct mb_file {
    char *path;
    char *suite; /* folder below scenarios/ */
    char *rel;   /* path below scenarios/ */
    mb_decl_t *decls;
    size_t ndecls;
    char *load_error; /* NULL when the file loaded */
} mb_file_t;

/** Load a scenario file in a throw-away sandbox and list what it declares. */
int mb_file_scan(const mb_env_t *env, mb_file_t *f);
void mb_file_free(mb_file_t *f);

typedef void (*mb_scn_done_fn)(mb_scn_t *s, void *ud);

/**
 * Start running declaration `index` of file `f` (asynchronously, on env->loop). The
 * scenario's results object (format: docs/results-format.md) is filled in while it runs;
 * done(s, ud) runs once it has ended and every resource it held is released.
 * @param[in] res  the scenario's results object, with id, name, file... already set
 */
mb_scn_t *mb_scn_start(const mb_env_t *env, const mb_file_t *f, size_t index, json_t *res,
                       mb_scn_done_fn done, void *ud);

/** Ask a running scenario to stop (Ctrl-C): its blocking call raises. */
void mb_scn_abort(mb_scn_t *s);

/** Free a scenario after done() (its results object stays with the caller). */
void mb_scn_free(mb_scn_t *s);

/* ---- for the bindings ------------------------------------------------------------ */

/** The scenario a Lua state (or any of its threads) belongs to. */
mb_scn_t *mb_scn_of(lua_State *L);
const mb_env_t *mb_scn_env(const mb_scn_t *s);
/** Directory of the scenario's file (for models and data next to it). */
const char *mb_scn_dir(const mb_scn_t *s);
json_t *mb_scn_result(mb_scn_t *s);

void mb_res_add(mb_scn_t *s, mb_res_t *r);
/** The resource is gone (called once, when its memory may be freed). */
void mb_res_release(mb_res_t *r);

/**
 * Prepare a blocking call: forget the previous wake-up, name what is awaited (for
 * time-out messages, e.g. "iec21 readout"; static string) and set what to do when a time
 * limit cuts the operation short (cancel(ud) must stop the operation's callbacks from
 * calling mb_wake for it; it may be NULL).
 */
void mb_wait_prepare(mb_scn_t *s, const char *what, void (*cancel)(void *ud), void *ud);

/**
 * Suspend the scenario's coroutine until mb_wake() or a time limit: the earliest of
 * op_timeout_ms from now, the step's and the scenario's deadline. Use as the last
 * statement of a lua_CFunction: `return mb_block(L, ms, k, ctx);`; k runs on resume and
 * must start with mb_woken(). Raises when called outside the scenario's coroutine.
 */
int mb_block(lua_State *L, unsigned op_timeout_ms, lua_KFunction k, lua_KContext ctx);

/** Wake the scenario blocked in mb_block (the first reason wins). Never resumes Lua
 *  synchronously: the coroutine runs on a later loop iteration. */
void mb_wake(mb_scn_t *s, mb_wake_t why);

/** In a continuation: why the coroutine was woken. Raises the scenario's error for a
 *  step or scenario time limit, a meter crash or an abort; returns MB_WAKE_DONE or
 *  MB_WAKE_OP_TIMEOUT. */
mb_wake_t mb_woken(lua_State *L);

/** Milliseconds the operation was allowed (for messages after MB_WAKE_OP_TIMEOUT). */
unsigned mb_wait_limit_ms(const mb_scn_t *s);

/** A simulated meter died: remember why and cut the scenario short. */
void mb_scn_crash(mb_scn_t *s, const char *msg);

/** Something went wrong while releasing a resource (e.g. metersim did not exit 0 on
 *  SIGTERM): the scenario ends with status error unless it already failed. */
void mb_scn_teardown_error(mb_scn_t *s, const char *msg);

/** Raise a runner error object {mb_kind = kind, message = "where: msg"} (kinds: failure,
 *  skip, timeout, crash, abort, limit, fixture, error). Does not return. */
int mb_raise(lua_State *L, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The step traces and measurements go to (a step is opened implicitly when none is).
 *  Returns the step object; *t0_ns is the step's start. */
json_t *mb_scn_step(mb_scn_t *s, uint64_t *t0_ns);

/** Bytes shown per trace entry (longer entries give the count in truncated_bytes). */
#define MB_TRACE_ENTRY_MAX (64u << 10)

/**
 * Append one entry to the trace of the current step (mb_scn_step; format:
 * docs/results-format.md): t_ms since the step's start, dir ("tx"/"rx"), the bytes as
 * hex, text (printable ASCII with control characters named, when `text` is set; else
 * ""), meaning, and layer when not NULL. Does nothing when s is NULL or n is 0.
 */
void mb_scn_trace(mb_scn_t *s, const char *dir, const char *layer, const uint8_t *p,
                  size_t n, uint64_t t_ns, bool text, const char *meaning);

/** Log line of the scenario (console with --verbose; the step's "log"). */
void mb_scn_log(mb_scn_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Lua helpers ----------------------------------------------------------------- */

/** Push a JSON value as Lua (objects and arrays as tables, null as nil). */
void mb_push_json(lua_State *L, const json_t *j);
/** Convert the Lua value at idx to JSON (tables with only keys 1..n as arrays; other
 *  tables as objects with string keys). Raises on functions, userdata, cycles. */
json_t *mb_to_json(lua_State *L, int idx);

/** Check a table of options against the names allowed: an unknown (e.g. misspelt)
 *  option raises "what: unknown option 'x' (allowed: ...)". */
void mb_check_opts(lua_State *L, int idx, const char *what, const char *const *allowed);

/** Set a methods table as __index whose lookups of unknown names raise a clear error
 *  ("unknown method 'x' of <what>"). The metatable is at the top of the stack. */
void mb_set_methods(lua_State *L, const luaL_Reg *methods, const char *what);

/* Modules (linit.c style registration in mb_rt.c). */
int luaopen_mb_meter(lua_State *L);   /* fixtures: sim_meter, serial_meter, tcp_meter */
int luaopen_mb_iec21(lua_State *L);   /* require "iec21": codec helpers */
void mb_meter_register(lua_State *L); /* metatables of meter and session handles */
void mb_session_register(lua_State *L);

/** Open an IEC 62056-21 session on `spec` ("serial:DEV" / "tcp:H:P") for a meter
 *  handle; pushes the session (blocking for TCP). Used by the meter binding. */
int mb_session_open(lua_State *L, const char *spec, int opts_idx);

#endif
