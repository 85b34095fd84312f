/*
** mb_tap.c — TAP version 13 report: one test point per scenario, YAML diagnostics.
** SPDX-License-Identifier: MIT
**
** The YAML blocks use only what TAP::Parser's YAMLish reader understands (block maps and
** sequences, double-quoted strings with \" \\ \n \t \r \xNN escapes, bare numbers), so
** prove and the other TAP 13 consumers read them.
*/
#include "mb_report.h"

#include <string.h>

#include "mb_report_internal.h"
#include "ms_err.h"

/* key: "string" at an indent, when the member is a string */
static void y_str(mb__sb_t *sb, int indent, const char *key, const char *v, size_t n)
{
    mb__sb_fmt(sb, "%*s%s: ", indent, "", key);
    mb__sb_yaml(sb, v, n);
    mb__sb_ch(sb, '\n');
}

static void y_member_str(mb__sb_t *sb, int indent, const char *key, const json_t *obj,
                         const char *member)
{
    size_t n;
    const char *s = mb__str(obj, member, &n);
    if (s)
        y_str(sb, indent, key, s, n);
}

static void y_member_num(mb__sb_t *sb, int indent, const char *key, const json_t *obj,
                         const char *member)
{
    double v;
    if (mb__num(obj, member, &v)) {
        mb__sb_fmt(sb, "%*s%s: ", indent, "", key);
        mb__sb_num(sb, v);
        mb__sb_ch(sb, '\n');
    }
}

/* A scalar as YAML: numbers and booleans bare, null as ~, the rest quoted. */
static void y_value(mb__sb_t *sb, const json_t *v)
{
    if (json_is_string(v)) {
        mb__sb_yaml(sb, json_string_value(v), json_string_length(v));
    } else if (json_is_number(v) || json_is_boolean(v)) {
        mb__sb_value(sb, v, 0);
    } else if (!v || json_is_null(v)) {
        mb__sb_ch(sb, '~');
    } else {
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_value(&t, v, 0);
        mb__sb_yaml(sb, t.buf ? t.buf : "", t.len);
        if (t.err)
            sb->err = t.err;
        mb__sb_free(&t);
    }
}

static void y_list(mb__sb_t *sb, int indent, const char *key, const json_t *arr)
{
    if (!json_array_size(arr))
        return;
    mb__sb_fmt(sb, "%*s%s:\n", indent, "", key);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        mb__sb_fmt(sb, "%*s- ", indent + 2, "");
        y_value(sb, v);
        mb__sb_ch(sb, '\n');
    }
}

/* The measurements of every step with one verdict, as a YAML sequence. */
static void y_measurements(mb__sb_t *sb, const json_t *sc, mb__verdict_t verdict,
                           const char *key)
{
    int any = 0;
    size_t i, j;
    const json_t *step, *m;
    json_array_foreach(mb__arr(sc, "steps"), i, step)
    {
        json_array_foreach(mb__arr(step, "measurements"), j, m)
        {
            if (mb__verdict(m) != verdict)
                continue;
            if (!any)
                mb__sb_fmt(sb, "  %s:\n", key);
            any = 1;
            size_t n;
            const char *sname = mb__str(step, "name", &n);
            mb__sb_str(sb, "    - step: ");
            mb__sb_yaml(sb, sname ? sname : "", n);
            mb__sb_ch(sb, '\n');
            y_member_str(sb, 6, "name", m, "name");
            mb__sb_str(sb, "      value: ");
            y_value(sb, json_object_get(m, "value"));
            mb__sb_ch(sb, '\n');
            const char *unit = mb__str(m, "unit", NULL);
            y_member_str(sb, 6, "unit", m, "unit");
            mb__sb_t t;
            mb__sb_init(&t);
            mb__sb_limit(&t, mb__obj(m, "limit"), unit, 0);
            y_str(sb, 6, "limit", t.buf ? t.buf : "", t.len);
            if (t.err)
                sb->err = t.err;
            mb__sb_free(&t);
            mb__sb_fmt(sb, "      verdict: %s\n", mb__verdict_name(mb__verdict(m)));
            y_member_str(sb, 6, "requirement", m, "requirement");
        }
    }
}

static void diagnostics(mb__sb_t *sb, const json_t *sc, mb__status_t st)
{
    mb__sb_str(sb, "  ---\n");
    size_t n;
    const char *message = mb__str(sc, "message", &n);
    if (message)
        y_str(sb, 2, "message", message, n);
    mb__sb_fmt(sb, "  severity: %s\n", st == MB__FAILED ? "fail" : "error");
    mb__sb_fmt(sb, "  status: %s\n", mb__status_name(st));
    y_member_str(sb, 2, "id", sc, "id");
    y_member_str(sb, 2, "file", sc, "file");
    y_member_num(sb, 2, "line", sc, "line");
    y_member_num(sb, 2, "duration_ms", sc, "duration_ms");
    y_list(sb, 2, "requirements", mb__arr(sc, "requirements"));
    y_list(sb, 2, "tags", mb__arr(sc, "tags"));
    const json_t *steps = mb__arr(sc, "steps");
    if (json_array_size(steps)) {
        mb__sb_str(sb, "  steps:\n");
        size_t i;
        const json_t *step;
        json_array_foreach(steps, i, step)
        {
            const char *name = mb__str(step, "name", &n);
            mb__sb_str(sb, "    - name: ");
            mb__sb_yaml(sb, name ? name : "", n);
            mb__sb_fmt(sb, "\n      status: %s\n", mb__status_name(mb__status(step)));
            y_member_num(sb, 6, "duration_ms", step, "duration_ms");
            double attempts;
            if (mb__num(step, "attempts", &attempts) && attempts > 1)
                y_member_num(sb, 6, "attempts", step, "attempts");
            y_member_str(sb, 6, "message", step, "message");
        }
    }
    y_measurements(sb, sc, MB__V_FAIL, "failed_measurements");
    y_measurements(sb, sc, MB__V_MARGINAL, "marginal_measurements");
    y_member_str(sb, 2, "traceback", sc, "traceback");
    const json_t *meter = mb__obj(sc, "meter");
    if (meter) {
        const char *log = mb__str(meter, "log", &n);
        if (log && n)
            y_str(sb, 2, "meter_log", log, n);
    }
    mb__sb_str(sb, "  ...\n");
}

int mb_report_tap(const json_t *results, char **text, size_t *len, char *msg,
                  size_t msgcap)
{
    int rc = mb__prepare(results, text, msg, msgcap);
    if (rc < 0)
        return rc;
    const json_t *scenarios = mb__arr(results, "scenarios");
    mb__counts_t c;
    mb__count(scenarios, &c);
    mb__sb_t sb;
    mb__sb_init(&sb);
    mb__sb_str(&sb, "TAP version 13\n");

    /* one comment line of run metadata */
    const json_t *tool = mb__obj(results, "tool"), *run = mb__obj(results, "run");
    size_t n;
    const char *s;
    mb__sb_str(&sb, "# ");
    s = mb__str(tool, "name", &n);
    mb__sb_tap_desc(&sb, s ? s : "meterbench", s ? n : strlen("meterbench"));
    if ((s = mb__str(tool, "version", &n))) {
        mb__sb_ch(&sb, ' ');
        mb__sb_tap_desc(&sb, s, n);
    }
    if ((s = mb__str(run, "meter", &n))) {
        mb__sb_str(&sb, ", meter ");
        mb__sb_tap_desc(&sb, s, n);
    }
    const json_t *seed = json_object_get(run, "seed");
    if (json_is_number(seed)) {
        mb__sb_str(&sb, ", seed ");
        mb__sb_value(&sb, seed, 0);
    }
    if ((s = mb__str(run, "started", &n))) {
        mb__sb_str(&sb, ", started ");
        mb__sb_tap_desc(&sb, s, n);
    }
    if ((s = mb__str(run, "host", &n))) {
        mb__sb_str(&sb, " on ");
        mb__sb_tap_desc(&sb, s, n);
    }
    mb__sb_ch(&sb, '\n');

    if (c.total == 0)
        mb__sb_str(&sb, "1..0 # SKIP no scenario selected\n");
    else
        mb__sb_fmt(&sb, "1..%zu\n", c.total);

    size_t i;
    const json_t *sc;
    json_array_foreach(scenarios, i, sc)
    {
        mb__status_t st = mb__status(sc);
        mb__sb_fmt(&sb, "%s %zu - ",
                   st == MB__PASSED || st == MB__SKIPPED ? "ok" : "not ok", i + 1);
        size_t sn;
        const char *suite = mb__suite(sc, &sn);
        mb__sb_tap_desc(&sb, suite, sn);
        mb__sb_str(&sb, ": ");
        const char *name = mb__str(sc, "name", &n);
        if (!name || !n)
            name = mb__str(sc, "id", &n);
        if (name && n)
            mb__sb_tap_desc(&sb, name, n);
        else
            mb__sb_fmt(&sb, "scenario %zu", i + 1);
        if (st == MB__SKIPPED) {
            mb__sb_str(&sb, " # SKIP");
            const char *why = mb__str(sc, "message", &n);
            if (why && n) {
                mb__sb_ch(&sb, ' ');
                mb__sb_tap_desc(&sb, why, n);
            }
        }
        mb__sb_ch(&sb, '\n');
        if (st == MB__FAILED || st == MB__ERROR)
            diagnostics(&sb, sc, st);
    }
    mb__sb_fmt(&sb, "# %zu passed, %zu failed, %zu error, %zu skipped of %zu\n", c.passed,
               c.failed, c.error, c.skipped, c.total);
    return mb__finish(&sb, text, len, "tap", msg, msgcap);
}
