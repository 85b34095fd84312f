/*
** mb_report_internal.h — shared pieces of the report writers: a growable text buffer,
** escaping for XML, HTML, YAML and TAP, tolerant accessors for the results document.
** SPDX-License-Identifier: MIT
*/
#ifndef MB_REPORT_INTERNAL_H
#define MB_REPORT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- growable text buffer with a sticky error ------------------------------------- */

/** Text being built. err is 0 or MS_ENOMEM; after an error every append is a no-op. */
typedef struct mb__sb {
    char *buf; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
    int err;
} mb__sb_t;

void mb__sb_init(mb__sb_t *sb);
void mb__sb_free(mb__sb_t *sb);
void mb__sb_add(mb__sb_t *sb, const char *s, size_t n);
void mb__sb_str(mb__sb_t *sb, const char *s);
void mb__sb_ch(mb__sb_t *sb, char c);
void mb__sb_fmt(mb__sb_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Hand the text to the caller (malloc'ed, NUL-terminated, never NULL on success).
 *  @return 0 or MS_ENOMEM (then the buffer is freed). */
int mb__sb_take(mb__sb_t *sb, char **text, size_t *len);

/* ---- text ------------------------------------------------------------------------ */

/** Decode one UTF-8 code point at s[i] (i < n). Malformed or overlong sequences and
 *  surrogates give U+FFFD for one byte. @return bytes consumed (1..4). */
size_t mb__utf8_next(const char *s, size_t n, size_t i, uint32_t *cp);

/** Mnemonic of an ASCII control character ("STX" for 0x02, "DEL" for 0x7F), or NULL. */
const char *mb__ctrl_name(uint32_t c);

/** Length of a control mnemonic in angle brackets ("<STX>", or "<0x9F>" for a byte
 *  above 0x7F) at s[i], or 0. */
size_t mb__ctrl_token(const char *s, size_t n, size_t i);

/* Escaping. Each writes s[0..n) to sb. Control characters that the target cannot hold
 * become their mnemonic in angle brackets ("<STX>", escaped as the target needs). */
enum {
    MB__X_ATTR = 1,     /* XML/HTML attribute value: also escape quotes, TAB, LF, CR */
    MB__X_CTRL_ALL = 2, /* show TAB, LF and CR as <HT>, <LF>, <CR> too (byte traces) */
    MB__X_MARK = 4,     /* HTML: wrap mnemonics (raw or written "<STX>") in a span */
};
void mb__sb_xml(mb__sb_t *sb, const char *s, size_t n, unsigned flags);
void mb__sb_html(mb__sb_t *sb, const char *s, size_t n, unsigned flags);
/** A YAML double-quoted scalar, with TAP::Parser's YAMLish escapes (\", \\, \n, \xNN). */
void mb__sb_yaml(mb__sb_t *sb, const char *s, size_t n);
/** A TAP test description: one line, '#' escaped, controls as mnemonics. */
void mb__sb_tap_desc(mb__sb_t *sb, const char *s, size_t n);
/** A JSON string literal (UTF-8 kept, controls as \uXXXX). */
void mb__sb_json_str(mb__sb_t *sb, const char *s, size_t n);

/** A double as the shortest text that reads back as the same value (at most 17
 *  significant digits): 0.25, 200.3, 1e-07. */
void mb__sb_num(mb__sb_t *sb, double v);
/** Seconds with millisecond resolution from milliseconds: "1.235"; negative -> "0.000".
 */
void mb__sb_secs(mb__sb_t *sb, double ms);

/* ---- the results document --------------------------------------------------------- */

/** Member key of obj when it is a string, else NULL; *n gets its length (may hold NUL).
 */
const char *mb__str(const json_t *obj, const char *key, size_t *n);
/** Member key of obj when it is a number: 1 and *v set, else 0. */
int mb__num(const json_t *obj, const char *key, double *v);
/** Member key of obj when it is an array (or an object), else NULL. */
const json_t *mb__arr(const json_t *obj, const char *key);
const json_t *mb__obj(const json_t *obj, const char *key);

/** Scenario and step status. */
typedef enum mb__status {
    MB__PASSED,
    MB__FAILED,
    MB__ERROR,
    MB__SKIPPED,
} mb__status_t;

/** Status of a scenario or step; absent or unknown text counts as an error, so that
 *  nothing unexplained is reported as passed. */
mb__status_t mb__status(const json_t *obj);
const char *mb__status_name(mb__status_t s);

/** Measurement verdict. */
typedef enum mb__verdict {
    MB__V_NONE,
    MB__V_PASS,
    MB__V_MARGINAL,
    MB__V_FAIL,
} mb__verdict_t;
mb__verdict_t mb__verdict(const json_t *measurement);
const char *mb__verdict_name(mb__verdict_t v);

/** Counts over the scenarios array (computed, not read from "summary"). */
typedef struct mb__counts {
    size_t total, passed, failed, error, skipped;
} mb__counts_t;
void mb__count(const json_t *scenarios, mb__counts_t *c);

/** Suite of a scenario: "suite", else the part of "id" before the first '/', else
 *  "scenarios". *n gets the length. */
const char *mb__suite(const json_t *scenario, size_t *n);

/** A scalar member value (number, string, boolean, null) as plain text, strings as
 *  they are (quote = 0) or in double quotes (quote = 1). Arrays/objects as JSON. */
void mb__sb_value(mb__sb_t *sb, const json_t *v, int quote);

/** A measurement's limit as plain text: "= 9600", "200 <= x <= 1500 ms, marginal above
 *  1400", "matches /^\/MSM/", "recorded only". unicode = 1 uses ≤ instead of <=. */
void mb__sb_limit(mb__sb_t *sb, const json_t *limit, const char *unit, int unicode);

/** Readable text of bytes: printable ASCII as is, controls as "<STX>" (and "<DEL>"),
 *  other bytes as "<0x9F>" (the tokens the HTML report marks). */
void mb__sb_bytes_text(mb__sb_t *sb, const uint8_t *p, size_t n);

/** The same for a hex string (as the results document records frames); nothing when
 *  it is not hex text. */
void mb__sb_hex_text(mb__sb_t *sb, const char *hex, size_t n);

/** Does the scenario have a failed measurement anywhere? */
int mb__has_failed_measurement(const json_t *scenario);

/* ---- writer plumbing -------------------------------------------------------------- */

/** Check the document and clear *text. @return 0 or MS_EINVAL (msg says why). */
int mb__prepare(const json_t *results, char **text, char *msg, size_t msgcap);
/** Hand the built text over (mb__sb_take) and explain a failure in msg. */
int mb__finish(mb__sb_t *sb, char **text, size_t *len, const char *format, char *msg,
               size_t msgcap);

/* ---- HTML plots ------------------------------------------------------------------- */

/** One "plots" entry as an inline SVG figure with a legend and a table of series
 *  statistics. id makes element ids unique within the page. */
void mb__html_plot(mb__sb_t *sb, const json_t *plot, size_t id);

#endif
