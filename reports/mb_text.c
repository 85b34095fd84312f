/*
** mb_text.c — text buffer, escaping and document accessors shared by the report writers.
** SPDX-License-Identifier: MIT
*/
#include "mb_report_internal.h"
#include "mb_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_err.h"
#include "ms_hex.h"

/* ---- growable text buffer ---------------------------------------------------------- */

void mb__sb_init(mb__sb_t *sb)
{
    memset(sb, 0, sizeof *sb);
}

void mb__sb_free(mb__sb_t *sb)
{
    free(sb->buf);
    mb__sb_init(sb);
}

static int sb_reserve(mb__sb_t *sb, size_t more)
{
    if (sb->err)
        return 0;
    if (more > SIZE_MAX / 2 - sb->len) {
        sb->err = MS_ENOMEM;
        return 0;
    }
    size_t need = sb->len + more + 1;
    if (need <= sb->cap)
        return 1;
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *p = realloc(sb->buf, cap);
    if (!p) {
        sb->err = MS_ENOMEM;
        return 0;
    }
    sb->buf = p;
    sb->cap = cap;
    return 1;
}

void mb__sb_add(mb__sb_t *sb, const char *s, size_t n)
{
    if (!n || !sb_reserve(sb, n))
        return;
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void mb__sb_str(mb__sb_t *sb, const char *s)
{
    mb__sb_add(sb, s, strlen(s));
}

void mb__sb_ch(mb__sb_t *sb, char c)
{
    mb__sb_add(sb, &c, 1);
}

void mb__sb_fmt(mb__sb_t *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        sb->err = sb->err ? sb->err : MS_EINVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        mb__sb_add(sb, small, (size_t)n);
        return;
    }
    if (!sb_reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

int mb__sb_take(mb__sb_t *sb, char **text, size_t *len)
{
    if (!sb->err && !sb->buf)
        sb_reserve(sb, 0);
    if (sb->err) {
        int err = sb->err;
        mb__sb_free(sb);
        return err;
    }
    sb->buf[sb->len] = '\0';
    *text = sb->buf;
    if (len)
        *len = sb->len;
    mb__sb_init(sb);
    return 0;
}

/* ---- UTF-8 and control characters -------------------------------------------------- */

size_t mb__utf8_next(const char *str, size_t n, size_t i, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str + i;
    size_t left = n - i;
    unsigned c = s[0];
    uint32_t v, min;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (left < len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

static const char *const ctrl_names[32] = {
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS",  "HT",  "LF",
    "VT",  "FF",  "CR",  "SO",  "SI",  "DLE", "DC1", "DC2", "DC3", "DC4", "NAK",
    "SYN", "ETB", "CAN", "EM",  "SUB", "ESC", "FS",  "GS",  "RS",  "US",
};

const char *mb__ctrl_name(uint32_t c)
{
    if (c < 32)
        return ctrl_names[c];
    if (c == 0x7F)
        return "DEL";
    return NULL;
}

static int is_uhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

size_t mb__ctrl_token(const char *s, size_t n, size_t i)
{
    if (i >= n || s[i] != '<')
        return 0;
    if (i + 5 < n && s[i + 1] == '0' && s[i + 2] == 'x' && is_uhex(s[i + 3]) &&
        is_uhex(s[i + 4]) && s[i + 5] == '>')
        return 6; /* "<0x9F>": a byte above 0x7F */
    size_t j = i + 1;
    while (j < n && j - i <= 4 && s[j] >= 'A' && s[j] <= 'Z')
        j++;
    if (j >= n || s[j] != '>' || j - i - 1 < 2)
        return 0;
    size_t len = j - i - 1;
    for (uint32_t c = 0; c <= 32; c++) {
        const char *name = mb__ctrl_name(c < 32 ? c : 0x7F);
        if (strlen(name) == len && memcmp(name, s + i + 1, len) == 0)
            return len + 2;
    }
    return 0;
}

/* Is cp a character XML 1.0 can hold (section 2.2 "Char")? */
static int xml_char_ok(uint32_t cp)
{
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* XML and HTML share the escaping; HTML additionally marks control mnemonics. */
static void sb_markup(mb__sb_t *sb, const char *s, size_t n, unsigned flags, int html)
{
    size_t i = 0;
    while (i < n) {
        if (html && (flags & MB__X_MARK)) {
            size_t tok = mb__ctrl_token(s, n, i);
            if (tok) {
                mb__sb_str(sb, "<span class=\"cc\">&lt;");
                mb__sb_add(sb, s + i + 1, tok - 2);
                mb__sb_str(sb, "&gt;</span>");
                i += tok;
                continue;
            }
        }
        uint32_t cp;
        size_t k = mb__utf8_next(s, n, i, &cp);
        const char *name = mb__ctrl_name(cp);
        int keep_ws =
            (cp == '\t' || cp == '\n' || cp == '\r') && !(flags & MB__X_CTRL_ALL);
        if (name && !keep_ws) {
            if (html && (flags & MB__X_MARK))
                mb__sb_fmt(sb, "<span class=\"cc\">&lt;%s&gt;</span>", name);
            else
                mb__sb_fmt(sb, "&lt;%s&gt;", name);
        } else if (cp == '&') {
            mb__sb_str(sb, "&amp;");
        } else if (cp == '<') {
            mb__sb_str(sb, "&lt;");
        } else if (cp == '>') {
            mb__sb_str(sb, "&gt;");
        } else if (cp == '"' && (flags & MB__X_ATTR)) {
            mb__sb_str(sb, "&quot;");
        } else if (cp == '\'' && (flags & MB__X_ATTR)) {
            mb__sb_str(sb, "&#39;");
        } else if (cp == '\t' && (flags & MB__X_ATTR)) {
            mb__sb_str(sb, "&#9;");
        } else if (cp == '\n' && (flags & MB__X_ATTR)) {
            mb__sb_str(sb, "&#10;");
        } else if (cp == '\r') {
            /* a literal CR would be normalised to LF by every XML parser */
            mb__sb_str(sb, "&#13;");
        } else if (cp == 0xFFFD || !xml_char_ok(cp)) {
            mb__sb_str(sb, "\xEF\xBF\xBD"); /* U+FFFD for bytes that are not UTF-8 */
        } else {
            mb__sb_add(sb, s + i, k);
        }
        i += k;
    }
}

void mb__sb_xml(mb__sb_t *sb, const char *s, size_t n, unsigned flags)
{
    sb_markup(sb, s, n, flags, 0);
}

void mb__sb_html(mb__sb_t *sb, const char *s, size_t n, unsigned flags)
{
    sb_markup(sb, s, n, flags, 1);
}

void mb__sb_yaml(mb__sb_t *sb, const char *s, size_t n)
{
    mb__sb_ch(sb, '"');
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = mb__utf8_next(s, n, i, &cp);
        if (cp == '"')
            mb__sb_str(sb, "\\\"");
        else if (cp == '\\')
            mb__sb_str(sb, "\\\\");
        else if (cp == '\n')
            mb__sb_str(sb, "\\n");
        else if (cp == '\t')
            mb__sb_str(sb, "\\t");
        else if (cp == '\r')
            mb__sb_str(sb, "\\r");
        else if (cp < 0x20 || cp == 0x7F)
            mb__sb_fmt(sb, "\\x%02X", (unsigned)cp);
        else if (cp == 0xFFFD && k == 1)
            mb__sb_str(sb, "\xEF\xBF\xBD");
        else
            mb__sb_add(sb, s + i, k);
        i += k;
    }
    mb__sb_ch(sb, '"');
}

void mb__sb_tap_desc(mb__sb_t *sb, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = mb__utf8_next(s, n, i, &cp);
        const char *name = mb__ctrl_name(cp);
        if (name)
            mb__sb_fmt(sb, "<%s>", name);
        else if (cp == '#')
            mb__sb_str(sb, "\\#");
        else if (cp == '\\')
            mb__sb_str(sb, "\\\\");
        else if (cp == 0xFFFD && k == 1)
            mb__sb_str(sb, "\xEF\xBF\xBD");
        else
            mb__sb_add(sb, s + i, k);
        i += k;
    }
}

void mb__sb_json_str(mb__sb_t *sb, const char *s, size_t n)
{
    mb__sb_ch(sb, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            mb__sb_str(sb, "\\\"");
            break;
        case '\\':
            mb__sb_str(sb, "\\\\");
            break;
        case '\b':
            mb__sb_str(sb, "\\b");
            break;
        case '\f':
            mb__sb_str(sb, "\\f");
            break;
        case '\n':
            mb__sb_str(sb, "\\n");
            break;
        case '\r':
            mb__sb_str(sb, "\\r");
            break;
        case '\t':
            mb__sb_str(sb, "\\t");
            break;
        default:
            if (c < 0x20)
                mb__sb_fmt(sb, "\\u%04x", c);
            else
                mb__sb_ch(sb, (char)c);
        }
    }
    mb__sb_ch(sb, '"');
}

/* ---- numbers ----------------------------------------------------------------------- */

void mb__sb_num(mb__sb_t *sb, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        mb__sb_str(sb, isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        return;
    }
    double a = fabs(v);
    if (a == 0 || (a >= 1e-5 && a < 1e15)) {
        /* plain decimals (200, 0.005, 1620.7): fewest that read back equal */
        for (int dec = 0; dec <= 20; dec++) {
            snprintf(buf, sizeof buf, "%.*f", dec, v);
            if (strtod(buf, NULL) == v) {
                mb__sb_str(sb, strcmp(buf, "-0") == 0 ? "0" : buf);
                return;
            }
        }
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    mb__sb_str(sb, buf);
}

void mb__sb_secs(mb__sb_t *sb, double ms)
{
    if (!(ms > 0) || !isfinite(ms))
        ms = 0;
    mb__sb_fmt(sb, "%.3f", ms / 1000.0);
}

/* ---- the results document ---------------------------------------------------------- */

const char *mb__str(const json_t *obj, const char *key, size_t *n)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_string(v)) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = json_string_length(v);
    return json_string_value(v);
}

int mb__num(const json_t *obj, const char *key, double *v)
{
    const json_t *j = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_number(j))
        return 0;
    *v = json_number_value(j);
    return 1;
}

const json_t *mb__arr(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

const json_t *mb__obj(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

mb__status_t mb__status(const json_t *obj)
{
    const char *s = mb__str(obj, "status", NULL);
    if (s && strcmp(s, "passed") == 0)
        return MB__PASSED;
    if (s && strcmp(s, "failed") == 0)
        return MB__FAILED;
    if (s && strcmp(s, "skipped") == 0)
        return MB__SKIPPED;
    return MB__ERROR;
}

const char *mb__status_name(mb__status_t s)
{
    static const char *const names[] = { "passed", "failed", "error", "skipped" };
    return names[s];
}

mb__verdict_t mb__verdict(const json_t *m)
{
    const char *s = mb__str(m, "verdict", NULL);
    if (!s)
        return MB__V_NONE;
    if (strcmp(s, "pass") == 0)
        return MB__V_PASS;
    if (strcmp(s, "marginal") == 0)
        return MB__V_MARGINAL;
    if (strcmp(s, "fail") == 0)
        return MB__V_FAIL;
    return MB__V_NONE;
}

const char *mb__verdict_name(mb__verdict_t v)
{
    static const char *const names[] = { "none", "pass", "marginal", "fail" };
    return names[v];
}

void mb__count(const json_t *scenarios, mb__counts_t *c)
{
    memset(c, 0, sizeof *c);
    size_t i;
    const json_t *sc;
    json_array_foreach(scenarios, i, sc)
    {
        c->total++;
        switch (mb__status(sc)) {
        case MB__PASSED:
            c->passed++;
            break;
        case MB__FAILED:
            c->failed++;
            break;
        case MB__ERROR:
            c->error++;
            break;
        case MB__SKIPPED:
            c->skipped++;
            break;
        }
    }
}

const char *mb__suite(const json_t *scenario, size_t *n)
{
    const char *s = mb__str(scenario, "suite", n);
    if (s && *n)
        return s;
    size_t idn;
    const char *id = mb__str(scenario, "id", &idn);
    const char *slash = id ? memchr(id, '/', idn) : NULL;
    if (slash && slash > id) {
        *n = (size_t)(slash - id);
        return id;
    }
    *n = strlen("scenarios");
    return "scenarios";
}

void mb__sb_value(mb__sb_t *sb, const json_t *v, int quote)
{
    if (json_is_string(v)) {
        if (quote)
            mb__sb_ch(sb, '"');
        mb__sb_add(sb, json_string_value(v), json_string_length(v));
        if (quote)
            mb__sb_ch(sb, '"');
    } else if (json_is_integer(v)) {
        mb__sb_fmt(sb, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        mb__sb_num(sb, json_real_value(v));
    } else if (json_is_true(v)) {
        mb__sb_str(sb, "true");
    } else if (json_is_false(v)) {
        mb__sb_str(sb, "false");
    } else if (!v || json_is_null(v)) {
        mb__sb_str(sb, "null");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s) {
            sb->err = MS_ENOMEM;
            return;
        }
        mb__sb_str(sb, s);
        free(s);
    }
}

static void sb_unit(mb__sb_t *sb, const char *unit)
{
    if (unit && *unit) {
        mb__sb_ch(sb, ' ');
        mb__sb_str(sb, unit);
    }
}

void mb__sb_limit(mb__sb_t *sb, const json_t *limit, const char *unit, int unicode)
{
    const char *kind = mb__str(limit, "kind", NULL);
    const char *le = unicode ? " \xE2\x89\xA4 " : " <= ";
    const char *ge = unicode ? "\xE2\x89\xA5 " : ">= ";
    if (!kind || strcmp(kind, "none") == 0) {
        mb__sb_str(sb, "recorded only");
    } else if (strcmp(kind, "equals") == 0) {
        mb__sb_str(sb, "= ");
        mb__sb_value(sb, json_object_get(limit, "expected"), 1);
        const json_t *e = json_object_get(limit, "expected");
        if (json_is_number(e))
            sb_unit(sb, unit);
    } else if (strcmp(kind, "in_range") == 0) {
        double lo, hi, mlo, mhi;
        int has_lo = mb__num(limit, "low", &lo), has_hi = mb__num(limit, "high", &hi);
        if (has_lo && has_hi) {
            mb__sb_num(sb, lo);
            mb__sb_str(sb, le);
            mb__sb_ch(sb, 'x');
            mb__sb_str(sb, le);
            mb__sb_num(sb, hi);
        } else if (has_lo) {
            mb__sb_str(sb, ge);
            mb__sb_num(sb, lo);
        } else if (has_hi) {
            mb__sb_str(sb, le + 1);
            mb__sb_num(sb, hi);
        } else {
            mb__sb_str(sb, "any value");
        }
        sb_unit(sb, unit);
        if (mb__num(limit, "marginal_low", &mlo)) {
            mb__sb_str(sb, ", marginal below ");
            mb__sb_num(sb, mlo);
        }
        if (mb__num(limit, "marginal_high", &mhi)) {
            mb__sb_str(sb, ", marginal above ");
            mb__sb_num(sb, mhi);
        }
    } else if (strcmp(kind, "matches") == 0) {
        size_t n;
        const char *pat = mb__str(limit, "pattern", &n);
        mb__sb_str(sb, "matches /");
        mb__sb_add(sb, pat ? pat : "", n);
        mb__sb_ch(sb, '/');
    } else {
        mb__sb_str(sb, kind);
        mb__sb_ch(sb, ' ');
        mb__sb_value(sb, limit, 0);
    }
}

void mb__sb_bytes_text(mb__sb_t *sb, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = mb__ctrl_name(p[i]);
        if (name)
            mb__sb_fmt(sb, "<%s>", name);
        else if (p[i] >= 0x80)
            mb__sb_fmt(sb, "<0x%02X>", p[i]);
        else
            mb__sb_ch(sb, (char)p[i]);
    }
}

void mb__sb_hex_text(mb__sb_t *sb, const char *hex, size_t n)
{
    uint8_t *b = malloc(n / 2 + 1);
    int k = b ? ms_hex_decode(hex, n, b, n / 2 + 1) : -1;
    if (k > 0)
        mb__sb_bytes_text(sb, b, (size_t)k);
    free(b);
}

char *mb_report_bytes_text(const uint8_t *p, size_t n, size_t *len)
{
    mb__sb_t sb;
    char *text;
    mb__sb_init(&sb);
    mb__sb_bytes_text(&sb, p, n);
    return mb__sb_take(&sb, &text, len) == 0 ? text : NULL;
}

int mb__has_failed_measurement(const json_t *scenario)
{
    size_t i, j;
    const json_t *step, *m;
    json_array_foreach(mb__arr(scenario, "steps"), i, step)
    {
        json_array_foreach(mb__arr(step, "measurements"), j, m)
        {
            if (mb__verdict(m) == MB__V_FAIL)
                return 1;
        }
    }
    return 0;
}
