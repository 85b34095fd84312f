/*
** luacfg.c — checked reading of Lua-table configuration files.
** SPDX-License-Identifier: MIT
*/
#include "luacfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "ms_err.h"

#define INSTRUCTION_LIMIT 10000000 /* a configuration file is data: no long loops */

/* ---- field path -> source line ------------------------------------------------ */

typedef struct scan {
    const char *s, *end;
    unsigned line;
} scan_t;

enum tok {
    T_EOF,
    T_NAME,
    T_STRING,
    T_OTHER,
    T_LBRACE,
    T_RBRACE,
    T_LBRACKET,
    T_RBRACKET,
    T_EQ,
    T_SEP
};

/* Skip a long bracket "[[ ... ]]" / "[==[ ... ]==]" starting at s (s[0] == '['). Returns
 * 1 if it was one (and skipped it), else 0. */
static int long_bracket(scan_t *sc)
{
    const char *p = sc->s + 1;
    int level = 0;
    while (p < sc->end && *p == '=') {
        level++;
        p++;
    }
    if (p >= sc->end || *p != '[')
        return 0;
    p++;
    for (; p < sc->end; p++) {
        if (*p == '\n')
            sc->line++;
        if (*p == ']') {
            const char *q = p + 1;
            int l = 0;
            while (q < sc->end && *q == '=') {
                l++;
                q++;
            }
            if (l == level && q < sc->end && *q == ']') {
                sc->s = q + 1;
                return 1;
            }
        }
    }
    sc->s = sc->end;
    return 1;
}

/* Next token; for T_NAME/T_STRING the text is [*a, *a + *n). */
static enum tok next_tok(scan_t *sc, const char **a, size_t *n, unsigned *line)
{
    for (;;) {
        while (sc->s < sc->end &&
               (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\r' || *sc->s == '\n')) {
            if (*sc->s == '\n')
                sc->line++;
            sc->s++;
        }
        if (sc->s + 1 < sc->end && sc->s[0] == '-' && sc->s[1] == '-') {
            sc->s += 2;
            if (sc->s < sc->end && *sc->s == '[' && long_bracket(sc))
                continue;
            while (sc->s < sc->end && *sc->s != '\n')
                sc->s++;
            continue;
        }
        break;
    }
    *line = sc->line;
    if (sc->s >= sc->end)
        return T_EOF;
    char ch = *sc->s;
    if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
        *a = sc->s;
        while (sc->s < sc->end &&
               (*sc->s == '_' || (*sc->s >= 'a' && *sc->s <= 'z') ||
                (*sc->s >= 'A' && *sc->s <= 'Z') || (*sc->s >= '0' && *sc->s <= '9')))
            sc->s++;
        *n = (size_t)(sc->s - *a);
        return T_NAME;
    }
    if (ch == '"' || ch == '\'') {
        *a = ++sc->s;
        while (sc->s < sc->end && *sc->s != ch) {
            if (*sc->s == '\\' && sc->s + 1 < sc->end)
                sc->s++;
            if (*sc->s == '\n')
                sc->line++;
            sc->s++;
        }
        *n = (size_t)(sc->s - *a);
        if (sc->s < sc->end)
            sc->s++;
        return T_STRING;
    }
    if (ch == '[') {
        const char *start = sc->s;
        if (long_bracket(sc)) {
            *a = start;
            *n = 0;
            return T_STRING;
        }
        sc->s++;
        return T_LBRACKET;
    }
    sc->s++;
    switch (ch) {
    case '{':
        return T_LBRACE;
    case '}':
        return T_RBRACE;
    case ']':
        return T_RBRACKET;
    case ',':
    case ';':
        return T_SEP;
    case '=':
        if (sc->s < sc->end && *sc->s == '=') {
            sc->s++;
            return T_OTHER;
        }
        return T_EQ;
    default:
        return T_OTHER;
    }
}

#define SCAN_DEPTH 32

unsigned ms_luacfg_line_of(const char *src, size_t len, const char *path)
{
    scan_t sc = { src, src + len, 1 };
    size_t plen[SCAN_DEPTH];  /* path length of each open table */
    unsigned idx[SCAN_DEPTH]; /* its positional counter */
    bool fresh[SCAN_DEPTH];   /* at the start of one of its elements */
    char cur[512] = "";       /* path of the element being read */
    int depth = -1;
    unsigned best = 0;
    size_t best_len = 0;
    const char *a = NULL, *a2 = NULL;
    size_t n = 0, n2 = 0;
    unsigned line, l2;
    enum tok t = next_tok(&sc, &a, &n, &line);
    while (t != T_EOF) {
        if (depth >= 0 && fresh[depth] && t != T_RBRACE && t != T_SEP) {
            /* An element starts: "name = v", "["key"] = v" or a positional value v. */
            fresh[depth] = false;
            unsigned kline = line;
            char key[160] = "";
            scan_t save = sc;
            if (t == T_NAME && next_tok(&sc, &a2, &n2, &l2) == T_EQ) {
                snprintf(key, sizeof key, "%.*s", (int)n, a);
            } else if (t == T_LBRACKET &&
                       (sc = save, next_tok(&sc, &a2, &n2, &l2)) == T_STRING &&
                       next_tok(&sc, &a, &n, &l2) == T_RBRACKET &&
                       next_tok(&sc, &a, &n, &l2) == T_EQ) {
                snprintf(key, sizeof key, "%.*s", (int)n2, a2);
            } else {
                sc = save; /* positional: the token read is the value itself */
                snprintf(key, sizeof key, "[%u]", ++idx[depth]);
            }
            cur[plen[depth]] = 0;
            size_t cl = strlen(cur);
            snprintf(cur + cl, sizeof cur - cl, "%s%s", (cl && key[0] != '[') ? "." : "",
                     key);
            size_t k = strlen(cur);
            if (k > best_len && strncmp(path, cur, k) == 0 &&
                (path[k] == 0 || path[k] == '.' || path[k] == '[')) {
                best = kline;
                best_len = k;
                if (path[k] == 0)
                    return best;
            }
            if (key[0] != '[')
                t = next_tok(&sc, &a, &n, &line); /* the value after "=" */
            continue;
        }
        if (t == T_LBRACE && depth + 1 < SCAN_DEPTH) {
            depth++;
            plen[depth] = depth ? strlen(cur) : 0;
            idx[depth] = 0;
            fresh[depth] = true;
        } else if (t == T_RBRACE && depth >= 0) {
            cur[plen[depth]] = 0;
            depth--;
        } else if (t == T_SEP && depth >= 0) {
            cur[plen[depth]] = 0;
            fresh[depth] = true;
        }
        t = next_tok(&sc, &a, &n, &line);
    }
    return best;
}

/* ---- reader ----------------------------------------------------------------------- */

static void count_hook(lua_State *L, lua_Debug *ar)
{
    lua_getinfo(L, "Sl", ar); /* the function running when the limit was hit */
    luaL_error(
        L, "%s:%d: instruction limit exceeded (a configuration file must be plain data)",
        ar->short_src, ar->currentline);
}

static void set_msg(ms_luacfg_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_msg(ms_luacfg_t *c, const char *fmt, ...)
{
    if (!c->msg || !c->msgcap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msgcap, fmt, ap);
    va_end(ap);
}

int ms_luacfg_open(ms_luacfg_t *c, const char *file, char *msg, size_t msgcap)
{
    memset(c, 0, sizeof *c);
    c->msg = msg;
    c->msgcap = msgcap;
    snprintf(c->file, sizeof c->file, "%s", file);
    FILE *f = fopen(file, "rb");
    if (!f) {
        int e = errno;
        set_msg(c, "%s: cannot open: %s", file, strerror(e));
        return ms_err_from_errno(e);
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->src = malloc(sz > 0 ? (size_t)sz + 1 : 1);
    if (!c->src) {
        fclose(f);
        return MS_ENOMEM;
    }
    c->srclen = fread(c->src, 1, sz > 0 ? (size_t)sz : 0, f);
    c->src[c->srclen] = 0;
    fclose(f);

    c->L = luaL_newstate();
    if (!c->L)
        return MS_ENOMEM;
    lua_State *L = c->L;
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_pop(L, 4);
    static const char *const unsafe[] = { "dofile",  "loadfile",       "load",
                                          "require", "collectgarbage", NULL };
    for (const char *const *u = unsafe; *u; u++) {
        lua_pushnil(L);
        lua_setglobal(L, *u);
    }
    lua_sethook(L, count_hook, LUA_MASKCOUNT, INSTRUCTION_LIMIT);
    char chunk[520];
    snprintf(chunk, sizeof chunk, "@%s", file);
    if (luaL_loadbufferx(L, c->src, c->srclen, chunk, "t") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        set_msg(c, "%s", lua_tostring(L, -1));
        return MS_EPARSE;
    }
    lua_sethook(L, NULL, 0, 0);
    if (!lua_istable(L, -1)) {
        set_msg(c, "%s:1: the file must return a table (return { ... })", file);
        return MS_EPARSE;
    }
    return 0;
}

/* Push a JSON value as a Lua value (depth-limited by jansson's own parser limits). */
static void push_json(lua_State *L, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(j));
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            push_json(L, v);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        lua_createtable(L, (int)json_array_size(j), 0);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            push_json(L, v);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
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
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(j));
        break;
    default:
        lua_pushnil(L);
    }
}

int ms_luacfg_open_json(ms_luacfg_t *c, const json_t *j, char *msg, size_t msgcap)
{
    memset(c, 0, sizeof *c);
    c->msg = msg;
    c->msgcap = msgcap;
    if (!json_is_object(j)) {
        set_msg(c, "a JSON object expected");
        return MS_EINVAL;
    }
    c->L = luaL_newstate();
    if (!c->L)
        return MS_ENOMEM;
    push_json(c->L, j);
    return 0;
}

void ms_luacfg_close(ms_luacfg_t *c)
{
    if (c->L)
        lua_close(c->L);
    free(c->src);
    c->L = NULL;
    c->src = NULL;
}

static void full_path(const ms_luacfg_t *c, const char *key, char *out, size_t cap)
{
    if (!key)
        snprintf(out, cap, "%s", c->path);
    else if (key[0] == '[')
        snprintf(out, cap, "%s%s", c->path, key);
    else
        snprintf(out, cap, "%s%s%s", c->path, c->path[0] ? "." : "", key);
}

/* Push the value for an override: true/false, a number, "quoted" text, or text. */
static void push_override_value(lua_State *L, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    size_t vl = strlen(v);
    if (!strcmp(v, "true") || !strcmp(v, "false"))
        lua_pushboolean(L, v[0] == 't');
    else if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
        lua_pushlstring(L, v + 1, vl - 2);
    else if (*v && !*end && d == (double)(lua_Integer)d)
        lua_pushinteger(L, (lua_Integer)d);
    else if (*v && !*end)
        lua_pushnumber(L, d);
    else
        lua_pushstring(L, v);
}

int ms_luacfg_set(ms_luacfg_t *c, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        set_msg(c, "--set %s: expected FIELD=VALUE, e.g. iec62056_21.reaction_ms=1600",
                assignment);
        return MS_EINVAL;
    }
    if (c->noverrides == MS_LUACFG_MAX_OVERRIDES) {
        set_msg(c, "--set %s: at most %d overrides", assignment, MS_LUACFG_MAX_OVERRIDES);
        return MS_EINVAL;
    }
    lua_State *L = c->L;
    int top = lua_gettop(L);
    lua_pushvalue(L, -1); /* the root table */
    /* Walk "a.b[2].c": names and [index] steps; the last step is assigned. */
    const char *p = assignment;
    for (;;) {
        bool index = *p == '[';
        lua_Integer idx = 0;
        size_t n = 0;
        if (index) {
            char *e;
            idx = strtoll(p + 1, &e, 10);
            if (*e != ']' || idx < 1) {
                set_msg(c, "--set %s: bad index in the field path", assignment);
                lua_settop(L, top);
                return MS_EINVAL;
            }
            n = (size_t)(e + 1 - p);
        } else {
            while (p + n < eq && p[n] != '.' && p[n] != '[')
                n++;
            if (n == 0) {
                set_msg(c, "--set %s: empty field name", assignment);
                lua_settop(L, top);
                return MS_EINVAL;
            }
        }
        const char *next = p + n;
        bool last = next == eq;
        if (index)
            lua_pushinteger(L, idx);
        else
            lua_pushlstring(L, p, n);
        if (last) {
            push_override_value(L, eq + 1);
            lua_settable(L, -3);
            break;
        }
        int ty = lua_gettable(L, -2);
        if (ty == LUA_TNIL && !index) {
            /* a section the model leaves out (e.g. dlms.hdlc of a model without a dlms
             * table): create it; the model's checker still refuses a misspelt name */
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushlstring(L, p, n);
            lua_pushvalue(L, -2);
            lua_settable(L, -4);
            ty = LUA_TTABLE;
        }
        if (ty != LUA_TTABLE) {
            set_msg(c, "--set %s: '%.*s' is not a table of the model", assignment,
                    (int)(next - assignment), assignment);
            lua_settop(L, top);
            return MS_EINVAL;
        }
        lua_remove(L, -2);
        p = *next == '.' ? next + 1 : next;
    }
    lua_settop(L, top);
    c->overrides[c->noverrides++] = assignment;
    return 0;
}

int ms_luacfg_fail(ms_luacfg_t *c, const char *key, const char *fmt, ...)
{
    char path[300], text[300];
    full_path(c, key, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < c->noverrides; i++) {
        size_t n = strcspn(c->overrides[i], "=");
        if (strlen(path) == n && strncmp(c->overrides[i], path, n) == 0) {
            set_msg(c, "--set %s: field '%s': %s", c->overrides[i], path, text);
            return MS_EINVAL;
        }
    }
    if (!c->src) { /* JSON: no file, no lines */
        set_msg(c, "field '%s': %s", path[0] ? path : "(top)", text);
        return MS_EINVAL;
    }
    unsigned line = ms_luacfg_line_of(c->src, c->srclen, path);
    set_msg(c, "%s:%u: field '%s': %s", c->file, line ? line : 1,
            path[0] ? path : "(top)", text);
    return MS_EINVAL;
}

/* Push field `key` of the current (top) table. */
static int get(ms_luacfg_t *c, const char *key)
{
    return lua_getfield(c->L, -1, key);
}

bool ms_luacfg_has(ms_luacfg_t *c, const char *key)
{
    int t = get(c, key);
    lua_pop(c->L, 1);
    return t != LUA_TNIL;
}

int ms_luacfg_str(ms_luacfg_t *c, const char *key, char *out, size_t cap, const char *def)
{
    int t = get(c, key);
    int rc = 0;
    if (t == LUA_TNIL) {
        if (def && def != out) /* def == out: keep what the buffer holds */
            snprintf(out, cap, "%s", def);
        else if (!def)
            rc = ms_luacfg_fail(c, key, "required (a string)");
    } else if (t != LUA_TSTRING) {
        rc = ms_luacfg_fail(c, key, "expected a string, got %s", lua_typename(c->L, t));
    } else {
        size_t n;
        const char *s = lua_tolstring(c->L, -1, &n);
        if (n >= cap || strlen(s) != n)
            rc = ms_luacfg_fail(c, key, "longer than %zu characters", cap - 1);
        else
            memcpy(out, s, n + 1);
    }
    lua_pop(c->L, 1);
    return rc;
}

/* The value on top of the stack (of type t), field `key`: an integer in [lo, hi]. */
static int top_int(ms_luacfg_t *c, const char *key, int t, int64_t *out, int64_t lo,
                   int64_t hi)
{
    int isint = 0;
    lua_Integer v = lua_tointegerx(c->L, -1, &isint);
    if (t != LUA_TNUMBER || !isint)
        return ms_luacfg_fail(c, key, "expected an integer, got %s",
                              t == LUA_TNUMBER ? "a fraction" : lua_typename(c->L, t));
    if (v < lo || v > hi)
        return ms_luacfg_fail(c, key, "%lld is out of range %lld..%lld", (long long)v,
                              (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

int ms_luacfg_int(ms_luacfg_t *c, const char *key, int64_t *out, int64_t def, int64_t lo,
                  int64_t hi)
{
    int t = get(c, key);
    int rc = 0;
    if (t == LUA_TNIL)
        *out = def;
    else
        rc = top_int(c, key, t, out, lo, hi);
    lua_pop(c->L, 1);
    return rc;
}

int ms_luacfg_scaled(ms_luacfg_t *c, const char *key, int64_t *out, double def, double lo,
                     double hi, double scale)
{
    int t = get(c, key);
    int rc = 0;
    double v = def;
    if (t != LUA_TNIL) {
        if (t != LUA_TNUMBER)
            rc = ms_luacfg_fail(c, key, "expected a number, got %s",
                                lua_typename(c->L, t));
        else
            v = lua_tonumber(c->L, -1);
    }
    if (!rc && (v < lo || v > hi || v != v))
        rc = ms_luacfg_fail(c, key, "%g is out of range %g..%g", v, lo, hi);
    if (!rc)
        *out = llround(v * scale);
    lua_pop(c->L, 1);
    return rc;
}

int ms_luacfg_bool(ms_luacfg_t *c, const char *key, bool *out, bool def)
{
    int t = get(c, key);
    int rc = 0;
    if (t == LUA_TNIL)
        *out = def;
    else if (t != LUA_TBOOLEAN)
        rc = ms_luacfg_fail(c, key, "expected true or false, got %s",
                            lua_typename(c->L, t));
    else
        *out = lua_toboolean(c->L, -1);
    lua_pop(c->L, 1);
    return rc;
}

int ms_luacfg_choice(ms_luacfg_t *c, const char *key, const char *const *names, int *out,
                     int def)
{
    char v[64];
    int rc = ms_luacfg_str(c, key, v, sizeof v, def >= 0 ? names[def] : NULL);
    if (rc)
        return rc;
    for (int i = 0; names[i]; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[256] = "";
    for (int i = 0; names[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s\"%s\"", i ? ", " : "", names[i]);
    }
    return ms_luacfg_fail(c, key, "\"%s\" is not one of %s", v, list);
}

int ms_luacfg_only(ms_luacfg_t *c, const char *const *allowed)
{
    lua_State *L = c->L;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1); /* value */
        if (lua_type(L, -1) != LUA_TSTRING)
            continue;
        const char *k = lua_tostring(L, -1);
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            char key[128];
            snprintf(key, sizeof key, "%s", k);
            lua_pop(L, 1);
            char list[512] = "";
            for (const char *const *a = allowed; *a; a++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", a == allowed ? "" : ", ", *a);
            }
            return ms_luacfg_fail(c, key, "unknown field (known: %s)", list);
        }
    }
    return 0;
}

static int enter(ms_luacfg_t *c, const char *seg)
{
    if (c->depth >= MS_LUACFG_DEPTH) {
        lua_pop(c->L, 1);
        return ms_luacfg_fail(c, NULL, "nested too deeply");
    }
    c->mark[c->depth++] = strlen(c->path);
    size_t l = strlen(c->path);
    snprintf(c->path + l, sizeof c->path - l, "%s%s", (l && seg[0] != '[') ? "." : "",
             seg);
    return 1;
}

int ms_luacfg_push(ms_luacfg_t *c, const char *key)
{
    int t = get(c, key);
    if (t == LUA_TNIL) {
        lua_pop(c->L, 1);
        return 0;
    }
    if (t != LUA_TTABLE) {
        lua_pop(c->L, 1);
        return ms_luacfg_fail(c, key, "expected a table { ... }, got %s",
                              lua_typename(c->L, t));
    }
    return enter(c, key);
}

int ms_luacfg_push_index(ms_luacfg_t *c, size_t i)
{
    int t = lua_geti(c->L, -1, (lua_Integer)i);
    char seg[24];
    snprintf(seg, sizeof seg, "[%zu]", i);
    if (t == LUA_TNIL) {
        lua_pop(c->L, 1);
        return 0;
    }
    if (t != LUA_TTABLE) {
        lua_pop(c->L, 1);
        return ms_luacfg_fail(c, seg, "expected a table { ... }, got %s",
                              lua_typename(c->L, t));
    }
    return enter(c, seg);
}

void ms_luacfg_pop(ms_luacfg_t *c)
{
    if (c->depth <= 0)
        return;
    lua_pop(c->L, 1);
    c->path[c->mark[--c->depth]] = 0;
}

size_t ms_luacfg_len(ms_luacfg_t *c)
{
    return (size_t)lua_rawlen(c->L, -1);
}

int ms_luacfg_index_str(ms_luacfg_t *c, size_t i, char *out, size_t cap)
{
    char seg[24];
    snprintf(seg, sizeof seg, "[%zu]", i);
    int t = lua_geti(c->L, -1, (lua_Integer)i);
    int rc = 0;
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        rc = ms_luacfg_fail(c, seg, "expected a string, got %s", lua_typename(c->L, t));
    } else {
        size_t n;
        const char *s = lua_tolstring(c->L, -1, &n);
        if (n >= cap)
            rc = ms_luacfg_fail(c, seg, "longer than %zu characters", cap - 1);
        else
            memcpy(out, s, n + 1);
    }
    lua_pop(c->L, 1);
    return rc;
}

int ms_luacfg_index_int(ms_luacfg_t *c, size_t i, int64_t *out, int64_t lo, int64_t hi)
{
    char seg[24];
    snprintf(seg, sizeof seg, "[%zu]", i);
    int t = lua_geti(c->L, -1, (lua_Integer)i);
    int rc = top_int(c, seg, t, out, lo, hi);
    lua_pop(c->L, 1);
    return rc;
}
