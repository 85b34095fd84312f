/*
** luacfg.h — read a configuration file written as a Lua table (models, load
** specifications, fleets) with checked types and ranges. Every error message names the
** file, the line and the field: "sim/models/x.lua:14: field 'iec62056_21.mode': ...".
** SPDX-License-Identifier: MIT
**
** The chunk runs in a sandbox (base functions without file access, string, table, math;
** no os, io, package, debug) under an instruction limit. Lua keeps no line numbers for
** table fields, so the line of a field is found by scanning the source's tokens.
*/
#ifndef MS_LUACFG_H
#define MS_LUACFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lua_State lua_State;

#define MS_LUACFG_DEPTH 16

#define MS_LUACFG_MAX_OVERRIDES 32

typedef struct ms_luacfg {
    lua_State *L;
    const char *overrides[MS_LUACFG_MAX_OVERRIDES]; /* "a.b=v" applied by ms_luacfg_set */
    size_t noverrides;
    char file[512];
    char *src;
    size_t srclen;
    char path[256];               /* dotted path of the current table */
    size_t mark[MS_LUACFG_DEPTH]; /* path lengths of the enclosing tables */
    int depth;
    char *msg;
    size_t msgcap;
} ms_luacfg_t;

/**
 * Run `file` and keep the table it returns as the current table.
 * @param[out] msg  error message buffer, retained for the reader's life
 * @return 0, MS_ENOENT, MS_EPARSE (syntax or runtime error, or not a table), MS_ENOMEM
 */
int ms_luacfg_open(ms_luacfg_t *c, const char *file, char *msg, size_t msgcap);
void ms_luacfg_close(ms_luacfg_t *c);

typedef struct json_t json_t;

/**
 * Take a JSON object as the current table (objects become tables with string keys,
 * arrays sequences). There is no source: messages read "field 'PATH': TEXT".
 * @return 0, MS_EINVAL (not an object), MS_ENOMEM
 */
int ms_luacfg_open_json(ms_luacfg_t *c, const json_t *j, char *msg, size_t msgcap);

/**
 * Override a field of the loaded table before it is read: "a.b.c=VALUE" sets field c of
 * table a.b to VALUE: true/false, a number, or else a string (quote it "..." to force a
 * string). Named tables on the path that the file leaves out are created (the model's
 * checker refuses misspelt names); list elements ([n]) must exist. Errors about that
 * field then name the override instead of a source line. The text is retained (not
 * copied).
 * @return 0, or MS_EINVAL (message set: no '=', a path through a non-table, too many)
 */
int ms_luacfg_set(ms_luacfg_t *c, const char *assignment);

/** Record an error about field `key` of the current table (NULL: the table itself):
 *  "FILE:LINE: field 'PATH.KEY': TEXT". @return MS_EINVAL */
int ms_luacfg_fail(ms_luacfg_t *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** True when the current table has a non-nil `key`. */
bool ms_luacfg_has(ms_luacfg_t *c, const char *key);

/** String field; def == NULL makes it required. Longer than cap-1 is an error.
 *  @return 0 or MS_EINVAL (message set) */
int ms_luacfg_str(ms_luacfg_t *c, const char *key, char *out, size_t cap,
                  const char *def);

/** Integer field (a Lua integer or an integral float) in [lo, hi]. */
int ms_luacfg_int(ms_luacfg_t *c, const char *key, int64_t *out, int64_t def, int64_t lo,
                  int64_t hi);

/** Number field in [lo, hi], returned scaled: round(value * scale) (e.g. volts -> mV
 *  with scale 1000). */
int ms_luacfg_scaled(ms_luacfg_t *c, const char *key, int64_t *out, double def, double lo,
                     double hi, double scale);

int ms_luacfg_bool(ms_luacfg_t *c, const char *key, bool *out, bool def);

/** One of `names` (NULL-terminated); *out = its index. def < 0 makes it required. */
int ms_luacfg_choice(ms_luacfg_t *c, const char *key, const char *const *names, int *out,
                     int def);

/** Every string key of the current table is in `allowed` (NULL-terminated); an unknown
 *  key (a misspelling) is an error naming it. Integer keys are left to the caller. */
int ms_luacfg_only(ms_luacfg_t *c, const char *const *allowed);

/** Enter subtable `key`. @return 1 entered, 0 absent (not entered), MS_EINVAL not a
 *  table */
int ms_luacfg_push(ms_luacfg_t *c, const char *key);

/** Enter element i (1-based) of the current array; it must be a table.
 *  @return 1, 0 (absent), MS_EINVAL */
int ms_luacfg_push_index(ms_luacfg_t *c, size_t i);

/** Leave the table entered last. */
void ms_luacfg_pop(ms_luacfg_t *c);

/** Length (#) of the current table. */
size_t ms_luacfg_len(ms_luacfg_t *c);

/** Element i (1-based) of the current table as a string (also for numbers).
 *  @return 0, MS_EINVAL (missing or other type; message set) */
int ms_luacfg_index_str(ms_luacfg_t *c, size_t i, char *out, size_t cap);

/** Element i as an integer in [lo, hi]. */
int ms_luacfg_index_int(ms_luacfg_t *c, size_t i, int64_t *out, int64_t lo, int64_t hi);

/**
 * Line of a field path such as "iec62056_21.readout[3].unit" in a Lua table
 * constructor source (the first occurrence); for a path not written in the source, the
 * line of its nearest written ancestor; 0 when none.
 */
unsigned ms_luacfg_line_of(const char *src, size_t len, const char *path);

#endif
