/*
** mb_junit.c — JUnit XML report: testsuites > testsuite per suite > testcase per
*scenario.
** SPDX-License-Identifier: MIT
**
** The dialect is the one Jenkins (junit and xUnit plugins), GitLab
*(artifacts:reports:junit)
** and GitHub test-report actions read: failure/error/skipped children with message and
** type, system-out and system-err, properties on the suite, times in seconds. Checked
** against reports/schema/junit-10.xsd by the tests.
*/
#include "mb_report.h"

#include <stdlib.h>
#include <string.h>

#include "mb_report_internal.h"
#include "ms_err.h"

/* Write text s[0..n) with every control character as its mnemonic: byte traces. */
static void plain_ctrl(mb__sb_t *sb, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = mb__ctrl_name((unsigned char)s[i]);
        if (name)
            mb__sb_fmt(sb, "<%s>", name);
        else
            mb__sb_ch(sb, s[i]);
    }
}

static void attr(mb__sb_t *sb, const char *name, const char *v, size_t n)
{
    mb__sb_fmt(sb, " %s=\"", name);
    mb__sb_xml(sb, v, n, MB__X_ATTR);
    mb__sb_ch(sb, '"');
}

static void attr_s(mb__sb_t *sb, const char *name, const char *v)
{
    attr(sb, name, v, strlen(v));
}

static void property(mb__sb_t *sb, const char *name, const char *v, size_t n)
{
    mb__sb_str(sb, "      <property");
    attr_s(sb, "name", name);
    attr(sb, "value", v, n);
    mb__sb_str(sb, "/>\n");
}

/* One measurement as a line of plain text. */
static void measurement_line(mb__sb_t *t, const json_t *m)
{
    size_t n;
    const char *name = mb__str(m, "name", &n);
    const char *unit = mb__str(m, "unit", NULL);
    mb__sb_fmt(t, "    [%s] ", mb__verdict_name(mb__verdict(m)));
    plain_ctrl(t, name ? name : "measurement", name ? n : strlen("measurement"));
    mb__sb_str(t, " = ");
    const json_t *v = json_object_get(m, "value");
    mb__sb_t val;
    mb__sb_init(&val);
    mb__sb_value(&val, v, json_is_string(v));
    plain_ctrl(t, val.buf ? val.buf : "", val.len);
    if (val.err)
        t->err = val.err;
    mb__sb_free(&val);
    if (unit && *unit && json_is_number(v))
        mb__sb_fmt(t, " %s", unit);
    mb__sb_str(t, ", limit ");
    mb__sb_limit(t, mb__obj(m, "limit"), unit, 0);
    const char *req = mb__str(m, "requirement", &n);
    if (req && n) {
        mb__sb_str(t, " -- ");
        plain_ctrl(t, req, n);
    }
    mb__sb_ch(t, '\n');
}

/* Plain text of one step: status line, measurements, trace. */
static void step_text(mb__sb_t *t, const json_t *step, size_t k, int with_trace)
{
    size_t n;
    const char *name = mb__str(step, "name", &n);
    double d;
    mb__sb_fmt(t, "step %zu '", k + 1);
    plain_ctrl(t, name ? name : "", n);
    mb__sb_fmt(t, "': %s", mb__status_name(mb__status(step)));
    if (mb__num(step, "duration_ms", &d)) {
        mb__sb_str(t, " in ");
        mb__sb_secs(t, d);
        mb__sb_str(t, " s");
    }
    double attempts;
    if (mb__num(step, "attempts", &attempts) && attempts > 1)
        mb__sb_fmt(t, " after %.0f attempts", attempts);
    mb__sb_ch(t, '\n');
    const char *message = mb__str(step, "message", &n);
    if (message && n) {
        mb__sb_str(t, "    ");
        mb__sb_add(t, message, n);
        mb__sb_ch(t, '\n');
    }
    size_t i;
    const json_t *m;
    json_array_foreach(mb__arr(step, "measurements"), i, m)
    {
        measurement_line(t, m);
    }
    const json_t *trace = mb__arr(step, "trace");
    if (with_trace && json_array_size(trace)) {
        mb__sb_str(t, "    trace:\n");
        const json_t *e;
        json_array_foreach(trace, i, e)
        {
            double t_ms = 0;
            mb__num(e, "t_ms", &t_ms);
            const char *dir = mb__str(e, "dir", NULL);
            mb__sb_fmt(t, "      %+10.1f ms %-2s ", t_ms, dir ? dir : "?");
            size_t tn, hn, mn;
            const char *text = mb__str(e, "text", &tn);
            const char *hex = mb__str(e, "hex", &hn);
            if (text)
                plain_ctrl(t, text, tn);
            else if (hex)
                mb__sb_hex_text(t, hex, hn);
            const char *meaning = mb__str(e, "meaning", &mn);
            if (meaning && mn) {
                mb__sb_str(t, "  -- ");
                plain_ctrl(t, meaning, mn);
            }
            mb__sb_ch(t, '\n');
        }
    }
}

/* First step that did not pass (failed or error), or NULL. */
static const json_t *first_bad_step(const json_t *sc, size_t *k)
{
    size_t i;
    const json_t *step;
    json_array_foreach(mb__arr(sc, "steps"), i, step)
    {
        mb__status_t s = mb__status(step);
        if (s == MB__FAILED || s == MB__ERROR) {
            *k = i;
            return step;
        }
    }
    return NULL;
}

static void testcase(mb__sb_t *sb, const json_t *sc, size_t index)
{
    size_t n, sn;
    const char *suite = mb__suite(sc, &sn);
    const char *name = mb__str(sc, "name", &n);
    if (!name || !n)
        name = mb__str(sc, "id", &n);
    mb__sb_str(sb, "    <testcase");
    attr(sb, "classname", suite, sn);
    if (name && n) {
        attr(sb, "name", name, n);
    } else {
        char fallback[40];
        snprintf(fallback, sizeof fallback, "scenario %zu", index + 1);
        attr_s(sb, "name", fallback);
    }
    const char *file = mb__str(sc, "file", &n);
    if (file && n)
        attr(sb, "file", file, n);
    double line = 0, d = 0;
    if (mb__num(sc, "line", &line) && line >= 1)
        mb__sb_fmt(sb, " line=\"%.0f\"", line);
    mb__num(sc, "duration_ms", &d);
    mb__sb_str(sb, " time=\"");
    mb__sb_secs(sb, d);
    mb__sb_str(sb, "\">\n");

    mb__status_t st = mb__status(sc);
    size_t mn;
    const char *message = mb__str(sc, "message", &mn);
    size_t bad_k = 0;
    const json_t *bad = first_bad_step(sc, &bad_k);
    if (!message || !mn) {
        message = bad ? mb__str(bad, "message", &mn) : NULL;
        if (!message || !mn) {
            message = st == MB__FAILED    ? "scenario failed"
                      : st == MB__SKIPPED ? "skipped"
                                          : "scenario ended with an error";
            mn = strlen(message);
        }
    }
    if (st == MB__SKIPPED) {
        mb__sb_str(sb, "      <skipped");
        attr(sb, "message", message, mn);
        mb__sb_str(sb, "/>\n");
    } else if (st == MB__FAILED || st == MB__ERROR) {
        const char *el = st == MB__FAILED ? "failure" : "error";
        const char *type = st == MB__ERROR                  ? "error"
                           : mb__has_failed_measurement(sc) ? "measurement"
                                                            : "expectation";
        mb__sb_fmt(sb, "      <%s", el);
        attr(sb, "message", message, mn);
        attr_s(sb, "type", type);
        mb__sb_ch(sb, '>');
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_add(&t, message, mn);
        mb__sb_ch(&t, '\n');
        if (bad)
            step_text(&t, bad, bad_k, 0);
        size_t tn;
        const char *tb = mb__str(sc, "traceback", &tn);
        if (tb && tn) {
            mb__sb_add(&t, tb, tn);
            mb__sb_ch(&t, '\n');
        }
        if (file) {
            const char *f = mb__str(sc, "file", &n);
            mb__sb_str(&t, "at ");
            mb__sb_add(&t, f, n);
            if (line >= 1)
                mb__sb_fmt(&t, ":%.0f", line);
            mb__sb_ch(&t, '\n');
        }
        mb__sb_xml(sb, t.buf ? t.buf : "", t.len, 0);
        if (t.err)
            sb->err = t.err;
        mb__sb_free(&t);
        mb__sb_fmt(sb, "</%s>\n", el);
    }

    /* system-out: what a reader of the CI log needs without the HTML report */
    mb__sb_t t;
    mb__sb_init(&t);
    const char *id = mb__str(sc, "id", &n);
    if (id) {
        mb__sb_str(&t, "scenario: ");
        mb__sb_add(&t, id, n);
        mb__sb_ch(&t, '\n');
    }
    mb__sb_fmt(&t, "status: %s\n", mb__status_name(st));
    static const char *const lists[] = { "requirements", "tags" };
    for (size_t l = 0; l < 2; l++) {
        const json_t *arr = mb__arr(sc, lists[l]);
        if (!json_array_size(arr))
            continue;
        mb__sb_fmt(&t, "%s: ", lists[l]);
        size_t i;
        const json_t *v;
        json_array_foreach(arr, i, v)
        {
            mb__sb_str(&t, i ? ", " : "");
            mb__sb_value(&t, v, 0);
        }
        mb__sb_ch(&t, '\n');
    }
    const json_t *meter = mb__obj(sc, "meter");
    const char *kind = mb__str(meter, "kind", NULL),
               *model = mb__str(meter, "model", NULL);
    if (kind || model)
        mb__sb_fmt(&t, "meter: %s%s%s\n", kind ? kind : "", kind && model ? " " : "",
                   model ? model : "");
    size_t i;
    const json_t *step;
    json_array_foreach(mb__arr(sc, "steps"), i, step)
    {
        step_text(&t, step, i, 1);
    }
    mb__sb_str(sb, "      <system-out>");
    mb__sb_xml(sb, t.buf ? t.buf : "", t.len, 0);
    mb__sb_str(sb, "</system-out>\n");
    if (t.err)
        sb->err = t.err;
    mb__sb_free(&t);

    const char *log = mb__str(meter, "log", &n);
    if (log && n) {
        mb__sb_str(sb, "      <system-err>");
        mb__sb_xml(sb, log, n, 0);
        mb__sb_str(sb, "</system-err>\n");
    }
    mb__sb_str(sb, "    </testcase>\n");
}

/* A list of strings without repeats (pointers into the document). */
typedef struct strset {
    const char **s;
    size_t *len;
    size_t n, cap;
    int err;
} strset_t;

static void strset_add(strset_t *set, const char *s, size_t len)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->len[i] == len && memcmp(set->s[i], s, len) == 0)
            return;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        const char **ns = realloc(set->s, cap * sizeof *ns);
        if (ns)
            set->s = ns;
        size_t *nl = realloc(set->len, cap * sizeof *nl);
        if (nl)
            set->len = nl;
        if (!ns || !nl) {
            set->err = MS_ENOMEM;
            return;
        }
        set->cap = cap;
    }
    set->s[set->n] = s;
    set->len[set->n++] = len;
}

static void strset_free(strset_t *set)
{
    free(set->s);
    free(set->len);
    memset(set, 0, sizeof *set);
}

static int same_suite(const json_t *sc, const char *suite, size_t sn)
{
    size_t n;
    const char *s = mb__suite(sc, &n);
    return n == sn && memcmp(s, suite, n) == 0;
}

static void testsuite(mb__sb_t *sb, const json_t *doc, const json_t *scenarios,
                      size_t first, size_t id)
{
    size_t sn;
    const char *suite = mb__suite(json_array_get(scenarios, first), &sn);
    size_t tests = 0, failures = 0, errors = 0, skipped = 0;
    double time_ms = 0;
    strset_t reqs = { 0 }, tags = { 0 };
    size_t i;
    const json_t *sc;
    json_array_foreach(scenarios, i, sc)
    {
        if (i < first || !same_suite(sc, suite, sn))
            continue;
        tests++;
        mb__status_t st = mb__status(sc);
        failures += st == MB__FAILED;
        errors += st == MB__ERROR;
        skipped += st == MB__SKIPPED;
        double d;
        if (mb__num(sc, "duration_ms", &d) && d > 0)
            time_ms += d;
        size_t k;
        const json_t *v;
        json_array_foreach(mb__arr(sc, "requirements"), k, v)
        {
            if (json_is_string(v))
                strset_add(&reqs, json_string_value(v), json_string_length(v));
        }
        json_array_foreach(mb__arr(sc, "tags"), k, v)
        {
            if (json_is_string(v))
                strset_add(&tags, json_string_value(v), json_string_length(v));
        }
    }
    const json_t *run = mb__obj(doc, "run");
    mb__sb_str(sb, "  <testsuite");
    attr(sb, "name", suite, sn);
    mb__sb_fmt(sb,
               " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"",
               tests, failures, errors, skipped);
    mb__sb_secs(sb, time_ms);
    mb__sb_ch(sb, '"');
    size_t n;
    const char *started = mb__str(run, "started", &n);
    if (started && n)
        attr(sb, "timestamp", started, n);
    const char *host = mb__str(run, "host", &n);
    if (host && n)
        attr(sb, "hostname", host, n);
    mb__sb_fmt(sb, " id=\"%zu\">\n", id);

    mb__sb_t props;
    mb__sb_init(&props);
    const json_t *tool = mb__obj(doc, "tool");
    const char *tname = mb__str(tool, "name", NULL),
               *tver = mb__str(tool, "version", NULL);
    if (tname || tver) {
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_fmt(&t, "%s%s%s", tname ? tname : "", tname && tver ? " " : "",
                   tver ? tver : "");
        property(&props, "tool", t.buf ? t.buf : "", t.len);
        if (t.err)
            props.err = t.err;
        mb__sb_free(&t);
    }
    const char *meter = mb__str(run, "meter", &n);
    if (meter)
        property(&props, "meter", meter, n);
    const json_t *seed = json_object_get(run, "seed");
    if (json_is_number(seed)) {
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_value(&t, seed, 0);
        property(&props, "seed", t.buf ? t.buf : "", t.len);
        mb__sb_free(&t);
    }
    for (i = 0; i < reqs.n; i++)
        property(&props, "requirement", reqs.s[i], reqs.len[i]);
    for (i = 0; i < tags.n; i++)
        property(&props, "tag", tags.s[i], tags.len[i]);
    if (props.len) {
        mb__sb_str(sb, "    <properties>\n");
        mb__sb_add(sb, props.buf, props.len);
        mb__sb_str(sb, "    </properties>\n");
    }
    if (props.err)
        sb->err = props.err;
    mb__sb_free(&props);
    if (reqs.err || tags.err)
        sb->err = MS_ENOMEM;
    strset_free(&reqs);
    strset_free(&tags);

    json_array_foreach(scenarios, i, sc)
    {
        if (i >= first && same_suite(sc, suite, sn))
            testcase(sb, sc, i);
    }
    mb__sb_str(sb, "  </testsuite>\n");
}

int mb_report_junit(const json_t *results, char **text, size_t *len, char *msg,
                    size_t msgcap)
{
    int rc = mb__prepare(results, text, msg, msgcap);
    if (rc < 0)
        return rc;
    const json_t *scenarios = mb__arr(results, "scenarios");
    mb__counts_t c;
    mb__count(scenarios, &c);
    double time_ms = 0;
    if (!mb__num(mb__obj(results, "run"), "duration_ms", &time_ms)) {
        size_t i;
        const json_t *sc;
        double d;
        json_array_foreach(scenarios, i, sc)
        {
            if (mb__num(sc, "duration_ms", &d) && d > 0)
                time_ms += d;
        }
    }
    mb__sb_t sb;
    mb__sb_init(&sb);
    mb__sb_str(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    size_t n;
    const char *tname = mb__str(mb__obj(results, "tool"), "name", &n);
    if (tname && n)
        attr(&sb, "name", tname, n);
    else
        attr_s(&sb, "name", "meterbench");
    mb__sb_fmt(&sb, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"", c.total,
               c.failed, c.error);
    mb__sb_secs(&sb, time_ms);
    mb__sb_str(&sb, "\">\n");

    /* one testsuite per suite, in the order suites first appear in the run */
    size_t i, j;
    const json_t *sc;
    size_t id = 0;
    json_array_foreach(scenarios, i, sc)
    {
        size_t sn;
        const char *suite = mb__suite(sc, &sn);
        int seen = 0;
        for (j = 0; j < i && !seen; j++)
            seen = same_suite(json_array_get(scenarios, j), suite, sn);
        if (!seen)
            testsuite(&sb, results, scenarios, i, id++);
    }
    mb__sb_str(&sb, "</testsuites>\n");
    return mb__finish(&sb, text, len, "junit", msg, msgcap);
}
