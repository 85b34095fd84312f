/*
** mb_html.c — the self-contained HTML report: run summary, verdicts, steps, measurements
** against limits, frame traces and load-profile plots.
** SPDX-License-Identifier: MIT
**
** One file with inline CSS and SVG and a few lines of inline JavaScript (expand/collapse,
** "only failures"); it fetches nothing. Failed and errored scenarios come first, opened;
** passed and skipped ones follow, closed. Every text from the document is escaped, and
** control characters show as <STX> etc.
*/
#include "mb_report.h"

#include <math.h>
#include <string.h>

#include "mb_report_internal.h"
#include "ms_err.h"

static const char css[] =
    ":root{--pass:#2b8a3e;--pass-bg:#ebfbee;--fail:#c92a2a;--fail-bg:#fff0f0;"
    "--err:#d9480f;--err-bg:#fff4e6;--skip:#868e96;--skip-bg:#f1f3f5;--marg:#e67700;"
    "--marg-bg:#fff9db;--line:#dee2e6;--ink:#212529;--muted:#6c757d;--mono:ui-monospace,"
    "SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",monospace}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#f4f5f7;color:var(--ink);font:14px/1.45 system-ui,"
    "-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}\n"
    "main{max-width:1180px;margin:0 auto;padding:0 20px 40px}\n"
    "header.banner{display:flex;gap:24px;align-items:center;padding:18px "
    "28px;color:#fff}\n"
    "header.banner.failed{background:linear-gradient(90deg,#a61e1e,#c92a2a)}\n"
    "header.banner.passed{background:linear-gradient(90deg,#237032,#2f9e44)}\n"
    "header.banner.empty{background:#495057}\n"
    "header .verdict{font-size:30px;font-weight:800;letter-spacing:.04em}\n"
    "header h1{margin:0;font-size:18px;font-weight:600}\n"
    "header .sub{opacity:.9}\n"
    "header .counts{margin-left:auto;display:flex;gap:8px;flex-wrap:wrap}\n"
    "header .counts span{background:rgba(255,255,255,.16);border-radius:6px;"
    "padding:4px 10px;font-weight:600}\n"
    ".bar{display:flex;height:8px}.bar span{display:block}\n"
    ".bar .passed{background:var(--pass)}.bar .failed{background:var(--fail)}"
    ".bar .error{background:var(--err)}.bar .skipped{background:#adb5bd}\n"
    "dl.meta{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:4px "
    "16px;"
    "background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;"
    "margin:18px 0}\n"
    "dl.meta dt,dl.facts dt{color:var(--muted)}dl.meta dd,dl.facts dd{margin:0}\n"
    ".toolbar{display:flex;gap:10px;align-items:center;margin:8px 0}\n"
    ".toolbar button{font:inherit;padding:4px 12px;border:1px solid "
    "#ced4da;border-radius:6px;"
    "background:#fff;cursor:pointer}\n"
    "h2{font-size:16px;margin:26px 0 10px}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th{text-align:left;font-weight:600;color:var(--muted);font-size:12.5px}\n"
    "th,td{padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}\n"
    "table.overview{background:#fff;border:1px solid var(--line);border-radius:8px}\n"
    "table.overview a{color:inherit;text-decoration:none;font-weight:600}\n"
    "table.overview a:hover{text-decoration:underline}\n"
    "table.overview td.msg{color:var(--muted);max-width:520px}\n"
    "table.overview td.nw{white-space:nowrap}\n"
    "tr.failed td{background:var(--fail-bg)}tr.error td{background:var(--err-bg)}\n"
    ".badge{display:inline-block;min-width:64px;text-align:center;border-radius:4px;"
    "padding:1px "
    "7px;font-size:12px;font-weight:700;text-transform:uppercase;color:#fff}\n"
    ".badge.passed,.badge.pass{background:var(--pass)}.badge.failed,.badge.fail"
    "{background:var(--fail)}.badge.error{background:var(--err)}.badge.skipped,"
    ".badge.none{background:var(--skip)}.badge.marginal{background:var(--marg)}\n"
    "section.scenario{background:#fff;border:1px solid var(--line);border-left:6px solid "
    "var(--skip);border-radius:8px;margin:12px 0}\n"
    "section.scenario.passed{border-left-color:var(--pass)}section.scenario.failed"
    "{border-left-color:var(--fail)}section.scenario.error{border-left-color:var(--err)}"
    "\n"
    "section.scenario>details>summary{padding:10px 14px;cursor:pointer;font-size:15px}\n"
    "summary .suite{color:var(--muted)}summary .dur{color:var(--muted);float:right;"
    "font-size:13px}\n"
    ".sbody{padding:0 16px 14px}\n"
    "p.message{margin:6px 0 10px;padding:8px 12px;border-radius:6px;white-space:pre-wrap;"
    "font-weight:600}\n"
    ".failed>p.message,section.failed p.message.top{background:var(--fail-bg);"
    "color:#8b1a1a;border:1px solid #ffc9c9}\n"
    ".error>p.message,section.error p.message.top{background:var(--err-bg);color:#8a3307;"
    "border:1px solid #ffd8a8}\n"
    "section.skipped p.message.top{background:var(--skip-bg);color:#495057}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px "
    "0}\n"
    "code,pre,.mono{font-family:var(--mono);font-size:12.5px}\n"
    "pre{background:#f8f9fa;border:1px solid var(--line);border-radius:6px;padding:8px "
    "10px;"
    "overflow:auto;max-height:360px;white-space:pre-wrap;margin:6px 0}\n"
    ".tag{display:inline-block;background:#e7f5ff;color:#1864ab;border-radius:10px;"
    "padding:0 8px;margin-right:4px;font-size:12px}\n"
    "details.step{border:1px solid var(--line);border-radius:6px;margin:8px 0}\n"
    "details.step>summary{padding:6px 10px;cursor:pointer;background:#fafbfc;"
    "border-radius:6px}\n"
    "details.step.failed>summary{background:var(--fail-bg)}details.step.error>summary"
    "{background:var(--err-bg)}\n"
    "details.step .mcount{color:var(--muted);font-size:12.5px;margin-left:8px}\n"
    "details.step .mcount b{color:var(--fail)}\n"
    ".sinner{padding:4px 12px 10px}\n"
    "table.meas td.val{font-family:var(--mono);white-space:nowrap}\n"
    "table.meas tr.fail td{background:var(--fail-bg)}table.meas tr.marginal td"
    "{background:var(--marg-bg)}\n"
    "table.meas td.req{color:var(--muted);font-size:12.5px}\n"
    "details.trace>summary{cursor:pointer;color:#1864ab;margin:8px 0 4px}\n"
    "table.trace td{font-family:var(--mono);font-size:12px}\n"
    "table.trace td.hex{color:#495057;word-break:break-all;max-width:330px}\n"
    "table.trace td.hex div{max-height:7.5em;overflow:auto}\n"
    "table.trace td.txt{word-break:break-all;max-width:330px}\n"
    "table.trace td.mean{font-family:inherit;font-size:13px}\n"
    ".dir{font-weight:700;white-space:nowrap}.dir.tx{color:#1864ab}.dir.rx{color:#2b8a3e}"
    "\n"
    ".cc{color:#ae3ec9;font-weight:600}\n"
    "figure.plot{margin:12px 0;border:1px solid "
    "var(--line);border-radius:6px;padding:10px;"
    "background:#fff}\n"
    "figure.plot figcaption{font-weight:600;margin-bottom:4px}\n"
    "svg.chart{width:100%;height:auto;display:block;font:12px system-ui,sans-serif}\n"
    "svg .area{fill:#fcfcfd;stroke:#adb5bd}svg .grid line{stroke:#e9ecef}\n"
    "svg .ticks text{fill:#495057}svg .ticks .date{fill:#868e96;font-size:11px}\n"
    "svg .label{fill:#343a40;font-weight:600}svg .legend "
    "text{fill:#212529;font-size:13px}\n"
    "svg .hover circle{fill-opacity:0}svg .hover circle:hover{fill-opacity:1}\n"
    "svg .diff{fill:none;stroke:#e03131;stroke-width:2}\n"
    "p.pdiff{margin:6px 0;color:#495057}p.nodata{color:var(--muted)}\n"
    "table.pstats{width:auto;margin-top:4px}table.pstats td{font-size:12.5px}\n"
    ".swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:"
    "6px;"
    "vertical-align:-1px}\n"
    "body.onlybad section.scenario.passed,body.onlybad section.scenario.skipped,"
    "body.onlybad tr.passed,body.onlybad tr.skipped,body.onlybad h2.passed,"
    "body.onlybad h2.skipped{display:none}\n"
    "footer{color:var(--muted);font-size:12px;text-align:center;margin:30px 0}\n";

static const char script[] =
    "function mbAll(open){document.querySelectorAll('details').forEach(function(d){"
    "d.open=open;});}\n"
    "function mbHash(){var id=location.hash.slice(1);var "
    "e=id&&document.getElementById(id);"
    "if(e){var d=e.querySelector('details');if(d)d.open=true;}}\n"
    "document.getElementById('onlybad').addEventListener('change',function(e){"
    "document.body.classList.toggle('onlybad',e.target.checked);});\n"
    "window.addEventListener('hashchange',mbHash);mbHash();\n";

static void h(mb__sb_t *sb, const char *s, size_t n)
{
    mb__sb_html(sb, s, n, 0);
}

static void hs(mb__sb_t *sb, const char *s)
{
    mb__sb_html(sb, s, strlen(s), 0);
}

/* A member string escaped, or a placeholder. */
static void h_member(mb__sb_t *sb, const json_t *obj, const char *key, const char *dflt)
{
    size_t n;
    const char *s = mb__str(obj, key, &n);
    if (s)
        h(sb, s, n);
    else
        hs(sb, dflt);
}

/* Milliseconds for people: "612 ms", "1.23 s", "2 min 05 s". */
static void h_duration(mb__sb_t *sb, double ms)
{
    if (!(ms >= 0) || !isfinite(ms))
        mb__sb_str(sb, "\xE2\x80\x94");
    else if (ms < 1000)
        mb__sb_fmt(sb, "%.0f ms", ms);
    else if (ms < 60000)
        mb__sb_fmt(sb, "%.2f s", ms / 1000);
    else
        mb__sb_fmt(sb, "%.0f min %02.0f s", floor(ms / 60000),
                   floor(fmod(ms, 60000) / 1000));
}

static void h_member_duration(mb__sb_t *sb, const json_t *obj)
{
    double d;
    if (mb__num(obj, "duration_ms", &d))
        h_duration(sb, d);
}

static void badge(mb__sb_t *sb, const char *cls, const char *text)
{
    mb__sb_fmt(sb, "<span class=\"badge %s\">%s</span>", cls, text);
}

/* ---- header ---------------------------------------------------------------------- */

static void meta_row(mb__sb_t *sb, const char *label, const json_t *run, const char *key)
{
    const json_t *v = json_object_get(run, key);
    mb__sb_fmt(sb, "<dt>%s</dt><dd>", label);
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        if (!json_array_size(v))
            mb__sb_str(sb, "all");
        json_array_foreach(v, i, e)
        {
            mb__sb_t t;
            mb__sb_init(&t);
            mb__sb_value(&t, e, 0);
            mb__sb_str(sb, "<code>");
            h(sb, t.buf ? t.buf : "", t.len);
            mb__sb_str(sb, "</code> ");
            mb__sb_free(&t);
        }
    } else if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_value(&t, v, 0);
        h(sb, t.buf ? t.buf : "", t.len);
        mb__sb_free(&t);
    } else {
        mb__sb_str(sb, "\xE2\x80\x94");
    }
    mb__sb_str(sb, "</dd>");
}

static void header(mb__sb_t *sb, const json_t *doc, const mb__counts_t *c)
{
    const json_t *tool = mb__obj(doc, "tool"), *run = mb__obj(doc, "run");
    int bad = c->failed + c->error > 0;
    const char *cls = !c->total ? "empty" : bad ? "failed" : "passed";
    const char *verdict = !c->total ? "NO SCENARIOS" : bad ? "FAILED" : "PASSED";
    mb__sb_fmt(sb, "<header class=\"banner %s\"><div class=\"verdict\">%s</div><div><h1>",
               cls, verdict);
    h_member(sb, tool, "name", "meterbench");
    mb__sb_str(sb, " report</h1><div class=\"sub\">");
    /* "sim · 2026-11-21T10:00:00Z · 41.23 s", leaving out what the document lacks */
    const char *sep = "";
    static const char *const keys[] = { "meter", "started" };
    for (int k = 0; k < 2; k++) {
        size_t n;
        const char *s = mb__str(run, keys[k], &n);
        if (s && n) {
            mb__sb_str(sb, sep);
            h(sb, s, n);
            sep = " \xC2\xB7 ";
        }
    }
    double d;
    if (mb__num(run, "duration_ms", &d)) {
        mb__sb_str(sb, sep);
        h_duration(sb, d);
    }
    mb__sb_str(sb, "</div></div><div class=\"counts\">");
    mb__sb_fmt(sb, "<span>%zu scenarios</span><span>%zu passed</span>", c->total,
               c->passed);
    if (c->failed)
        mb__sb_fmt(sb, "<span>%zu failed</span>", c->failed);
    if (c->error)
        mb__sb_fmt(sb, "<span>%zu error</span>", c->error);
    if (c->skipped)
        mb__sb_fmt(sb, "<span>%zu skipped</span>", c->skipped);
    mb__sb_str(sb, "</div></header>\n<div class=\"bar\">");
    size_t parts[4] = { c->passed, c->failed, c->error, c->skipped };
    static const char *const names[4] = { "passed", "failed", "error", "skipped" };
    for (int i = 0; i < 4; i++)
        if (parts[i])
            mb__sb_fmt(sb, "<span class=\"%s\" style=\"flex:%zu\"></span>", names[i],
                       parts[i]);
    mb__sb_str(sb, "</div>\n<main>\n<dl class=\"meta\">");
    meta_row(sb, "started", run, "started");
    mb__sb_str(sb, "<dt>duration</dt><dd>");
    if (mb__num(run, "duration_ms", &d))
        h_duration(sb, d);
    else
        mb__sb_str(sb, "\xE2\x80\x94");
    mb__sb_str(sb, "</dd>");
    meta_row(sb, "meter", run, "meter");
    meta_row(sb, "seed", run, "seed");
    meta_row(sb, "paths", run, "paths");
    meta_row(sb, "tags", run, "tags");
    meta_row(sb, "filter", run, "filter");
    meta_row(sb, "host", run, "host");
    mb__sb_str(sb, "<dt>tool</dt><dd>");
    h_member(sb, tool, "name", "meterbench");
    mb__sb_ch(sb, ' ');
    h_member(sb, tool, "version", "");
    mb__sb_str(sb, "</dd><dt>results format</dt><dd>1</dd></dl>\n");
}

/* ---- overview -------------------------------------------------------------------- */

static void scenario_title(mb__sb_t *sb, const json_t *sc, size_t i)
{
    size_t n;
    const char *name = mb__str(sc, "name", &n);
    if (!name || !n)
        name = mb__str(sc, "id", &n);
    if (name && n)
        h(sb, name, n);
    else
        mb__sb_fmt(sb, "scenario %zu", i + 1);
}

static void overview(mb__sb_t *sb, const json_t *scenarios)
{
    mb__sb_str(sb,
               "<div class=\"toolbar\"><button type=\"button\" onclick=\"mbAll(true)\">"
               "Expand all</button><button type=\"button\" onclick=\"mbAll(false)\">"
               "Collapse all</button><label><input type=\"checkbox\" id=\"onlybad\"> "
               "Only failures and errors</label></div>\n");
    mb__sb_str(sb, "<table class=\"overview\"><thead><tr><th>#</th><th>verdict</th>"
                   "<th>suite</th><th>scenario</th><th>time</th><th>reason</th></tr>"
                   "</thead><tbody>\n");
    size_t i;
    const json_t *sc;
    json_array_foreach(scenarios, i, sc)
    {
        const char *st = mb__status_name(mb__status(sc));
        mb__sb_fmt(sb, "<tr class=\"%s\"><td>%zu</td><td>", st, i + 1);
        badge(sb, st, st);
        size_t sn;
        const char *suite = mb__suite(sc, &sn);
        mb__sb_str(sb, "</td><td class=\"nw\">");
        h(sb, suite, sn);
        mb__sb_fmt(sb, "</td><td><a href=\"#sc%zu\">", i + 1);
        scenario_title(sb, sc, i);
        mb__sb_str(sb, "</a></td><td class=\"nw\">");
        h_member_duration(sb, sc);
        mb__sb_str(sb, "</td><td class=\"msg\">");
        if (mb__status(sc) != MB__PASSED)
            h_member(sb, sc, "message", "");
        mb__sb_str(sb, "</td></tr>\n");
    }
    mb__sb_str(sb, "</tbody></table>\n");
}

/* ---- steps ------------------------------------------------------------------------- */

static void measurements(mb__sb_t *sb, const json_t *arr)
{
    if (!json_array_size(arr))
        return;
    mb__sb_str(sb, "<table class=\"meas\"><thead><tr><th>measurement</th><th>value</th>"
                   "<th>limit</th><th>verdict</th><th>requirement</th></tr></thead>"
                   "<tbody>\n");
    size_t i;
    const json_t *m;
    json_array_foreach(arr, i, m)
    {
        const char *v = mb__verdict_name(mb__verdict(m));
        const char *unit = mb__str(m, "unit", NULL);
        mb__sb_fmt(sb, "<tr class=\"%s\"><td>", v);
        h_member(sb, m, "name", "");
        mb__sb_str(sb, "</td><td class=\"val\">");
        const json_t *val = json_object_get(m, "value");
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_value(&t, val, json_is_string(val));
        if (unit && *unit && json_is_number(val)) {
            mb__sb_ch(&t, ' ');
            mb__sb_str(&t, unit);
        }
        mb__sb_html(sb, t.buf ? t.buf : "", t.len, MB__X_MARK | MB__X_CTRL_ALL);
        mb__sb_free(&t);
        mb__sb_str(sb, "</td><td>");
        mb__sb_init(&t);
        mb__sb_limit(&t, mb__obj(m, "limit"), unit, 1);
        mb__sb_html(sb, t.buf ? t.buf : "", t.len, MB__X_MARK | MB__X_CTRL_ALL);
        if (t.err)
            sb->err = t.err;
        mb__sb_free(&t);
        mb__sb_str(sb, "</td><td>");
        badge(sb, v, v);
        mb__sb_str(sb, "</td><td class=\"req\">");
        h_member(sb, m, "requirement", "");
        mb__sb_str(sb, "</td></tr>\n");
    }
    mb__sb_str(sb, "</tbody></table>\n");
}

static void hex_bytes(mb__sb_t *sb, const char *hex, size_t n)
{
    /* "2f3f21" -> "2f 3f 21" */
    for (size_t i = 0; i < n; i++) {
        if (i && i % 2 == 0)
            mb__sb_ch(sb, ' ');
        char c = hex[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            mb__sb_ch(sb, c);
        else
            h(sb, &hex[i], 1);
    }
}

static void trace(mb__sb_t *sb, const json_t *arr, int open)
{
    size_t count = json_array_size(arr);
    if (!count)
        return;
    mb__sb_fmt(sb,
               "<details class=\"trace\"%s><summary>Frame trace (%zu chunk%s)</summary>"
               "<table class=\"trace\"><thead><tr><th>t (ms)</th><th>dir</th>"
               "<th>bytes (hex)</th><th>text</th><th>meaning</th></tr></thead><tbody>\n",
               open ? " open" : "", count, count == 1 ? "" : "s");
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
    {
        double t;
        mb__sb_str(sb, "<tr><td>");
        if (mb__num(e, "t_ms", &t))
            mb__sb_fmt(sb, "%.1f", t);
        size_t n;
        const char *dir = mb__str(e, "dir", &n);
        int tx = dir && strcmp(dir, "tx") == 0, rx = dir && strcmp(dir, "rx") == 0;
        mb__sb_fmt(sb, "</td><td class=\"dir %s\">", tx ? "tx" : rx ? "rx" : "");
        if (tx)
            mb__sb_str(sb, "\xE2\x86\x92 tx");
        else if (rx)
            mb__sb_str(sb, "\xE2\x86\x90 rx");
        else if (dir)
            h(sb, dir, n);
        mb__sb_str(sb, "</td><td class=\"hex\"><div>");
        size_t hn, tn;
        const char *hex = mb__str(e, "hex", &hn);
        if (hex)
            hex_bytes(sb, hex, hn);
        mb__sb_str(sb, "</div></td><td class=\"txt\">");
        const char *text = mb__str(e, "text", &tn);
        if (text) {
            mb__sb_html(sb, text, tn, MB__X_MARK | MB__X_CTRL_ALL);
        } else if (hex) {
            mb__sb_t tt;
            mb__sb_init(&tt);
            mb__sb_hex_text(&tt, hex, hn);
            mb__sb_html(sb, tt.buf ? tt.buf : "", tt.len, MB__X_MARK | MB__X_CTRL_ALL);
            mb__sb_free(&tt);
        }
        mb__sb_str(sb, "</td><td class=\"mean\">");
        h_member(sb, e, "meaning", "");
        mb__sb_str(sb, "</td></tr>\n");
    }
    mb__sb_str(sb, "</tbody></table></details>\n");
}

static void steps(mb__sb_t *sb, const json_t *sc, size_t *plot_id)
{
    size_t i;
    const json_t *step;
    json_array_foreach(mb__arr(sc, "steps"), i, step)
    {
        mb__status_t st = mb__status(step);
        const char *sn = mb__status_name(st);
        int bad = st == MB__FAILED || st == MB__ERROR;
        const json_t *ms = mb__arr(step, "measurements");
        size_t nfail = 0, nmarg = 0, j;
        const json_t *m;
        json_array_foreach(ms, j, m)
        {
            nfail += mb__verdict(m) == MB__V_FAIL;
            nmarg += mb__verdict(m) == MB__V_MARGINAL;
        }
        mb__sb_fmt(sb, "<details class=\"step %s\"%s><summary>", sn,
                   bad || nfail ? " open" : "");
        badge(sb, sn, sn);
        mb__sb_fmt(sb, " %zu. ", i + 1);
        h_member(sb, step, "name", "");
        size_t nm = json_array_size(ms);
        if (nm) {
            mb__sb_fmt(sb, "<span class=\"mcount\">%zu measurement%s", nm,
                       nm == 1 ? "" : "s");
            if (nfail)
                mb__sb_fmt(sb, ", <b>%zu failed</b>", nfail);
            if (nmarg)
                mb__sb_fmt(sb, ", %zu marginal", nmarg);
            mb__sb_str(sb, "</span>");
        }
        double attempts;
        if (mb__num(step, "attempts", &attempts) && attempts > 1)
            mb__sb_fmt(sb, "<span class=\"mcount\">%.0f attempts</span>", attempts);
        mb__sb_str(sb, "<span class=\"dur\">");
        h_member_duration(sb, step);
        mb__sb_str(sb, "</span></summary><div class=\"sinner ");
        mb__sb_str(sb, sn);
        mb__sb_str(sb, "\">");
        size_t n;
        const char *message = mb__str(step, "message", &n);
        if (message && n) {
            mb__sb_str(sb, "<p class=\"message\">");
            h(sb, message, n);
            mb__sb_str(sb, "</p>");
        }
        measurements(sb, ms);
        const json_t *plot;
        json_array_foreach(mb__arr(step, "plots"), j, plot)
        {
            mb__html_plot(sb, plot, (*plot_id)++);
        }
        trace(sb, mb__arr(step, "trace"), 0);
        mb__sb_str(sb, "</div></details>\n");
    }
}

/* ---- scenarios --------------------------------------------------------------------- */

static void list_row(mb__sb_t *sb, const char *label, const json_t *arr, int tags)
{
    if (!json_array_size(arr))
        return;
    mb__sb_fmt(sb, "<dt>%s</dt><dd>", label);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        mb__sb_t t;
        mb__sb_init(&t);
        mb__sb_value(&t, v, 0);
        mb__sb_str(sb, tags ? "<span class=\"tag\">" : (i ? "; " : ""));
        h(sb, t.buf ? t.buf : "", t.len);
        mb__sb_str(sb, tags ? "</span>" : "");
        mb__sb_free(&t);
    }
    mb__sb_str(sb, "</dd>");
}

static void scenario(mb__sb_t *sb, const json_t *sc, size_t i, size_t *plot_id)
{
    mb__status_t st = mb__status(sc);
    const char *sn = mb__status_name(st);
    int bad = st == MB__FAILED || st == MB__ERROR;
    mb__sb_fmt(sb, "<section class=\"scenario %s\" id=\"sc%zu\"><details%s><summary>", sn,
               i + 1, bad ? " open" : "");
    badge(sb, sn, sn);
    size_t n;
    const char *suite = mb__suite(sc, &n);
    mb__sb_str(sb, " <span class=\"suite\">");
    h(sb, suite, n);
    mb__sb_str(sb, " /</span> <b>");
    scenario_title(sb, sc, i);
    mb__sb_str(sb, "</b><span class=\"dur\">");
    h_member_duration(sb, sc);
    mb__sb_str(sb, "</span></summary>\n<div class=\"sbody\">");
    const char *message = mb__str(sc, "message", &n);
    if (message && n) {
        mb__sb_str(sb, "<p class=\"message top\">");
        h(sb, message, n);
        mb__sb_str(sb, "</p>");
    }
    mb__sb_str(sb, "<dl class=\"facts\">");
    const char *id = mb__str(sc, "id", &n);
    if (id) {
        mb__sb_str(sb, "<dt>id</dt><dd><code>");
        h(sb, id, n);
        mb__sb_str(sb, "</code></dd>");
    }
    const char *file = mb__str(sc, "file", &n);
    if (file) {
        mb__sb_str(sb, "<dt>file</dt><dd><code>");
        h(sb, file, n);
        double line;
        if (mb__num(sc, "line", &line))
            mb__sb_fmt(sb, ":%.0f", line);
        mb__sb_str(sb, "</code></dd>");
    }
    list_row(sb, "requirements", mb__arr(sc, "requirements"), 0);
    list_row(sb, "tags", mb__arr(sc, "tags"), 1);
    const json_t *meter = mb__obj(sc, "meter");
    if (meter) {
        mb__sb_str(sb, "<dt>meter</dt><dd>");
        h_member(sb, meter, "kind", "");
        const char *model = mb__str(meter, "model", &n);
        if (model) {
            mb__sb_str(sb, ", model <code>");
            h(sb, model, n);
            mb__sb_str(sb, "</code>");
        }
        mb__sb_str(sb, "</dd>");
    }
    mb__sb_str(sb, "</dl>\n");
    const char *tb = mb__str(sc, "traceback", &n);
    if (tb && n) {
        mb__sb_str(sb, "<pre class=\"traceback\">");
        h(sb, tb, n);
        mb__sb_str(sb, "</pre>\n");
    }
    steps(sb, sc, plot_id);
    const char *log = mb__str(meter, "log", &n);
    if (log && n) {
        mb__sb_str(sb, "<details class=\"trace\"><summary>Meter log</summary><pre>");
        h(sb, log, n);
        mb__sb_str(sb, "</pre></details>\n");
    }
    mb__sb_str(sb, "</div></details></section>\n");
}

static void group(mb__sb_t *sb, const json_t *scenarios, const char *cls,
                  const char *title, int (*pick)(mb__status_t), size_t *plot_id)
{
    size_t i, count = 0;
    const json_t *sc;
    json_array_foreach(scenarios, i, sc)
    {
        count += pick(mb__status(sc));
    }
    if (!count)
        return;
    mb__sb_fmt(sb, "<h2 class=\"%s\">%s (%zu)</h2>\n", cls, title, count);
    json_array_foreach(scenarios, i, sc)
    {
        if (pick(mb__status(sc)))
            scenario(sb, sc, i, plot_id);
    }
}

static int pick_bad(mb__status_t s)
{
    return s == MB__FAILED || s == MB__ERROR;
}

static int pick_passed(mb__status_t s)
{
    return s == MB__PASSED;
}

static int pick_skipped(mb__status_t s)
{
    return s == MB__SKIPPED;
}

int mb_report_html(const json_t *results, char **text, size_t *len, char *msg,
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
    mb__sb_str(
        &sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<title>");
    h_member(&sb, mb__obj(results, "tool"), "name", "meterbench");
    mb__sb_fmt(&sb, ": %s, %zu of %zu passed", c.failed + c.error ? "FAILED" : "passed",
               c.passed, c.total);
    size_t n;
    const char *started = mb__str(mb__obj(results, "run"), "started", &n);
    if (started) {
        mb__sb_str(&sb, " \xE2\x80\x94 ");
        h(&sb, started, n);
    }
    mb__sb_str(&sb, "</title>\n<style>\n");
    mb__sb_str(&sb, css);
    mb__sb_str(&sb, "</style>\n</head>\n<body>\n");
    header(&sb, results, &c);
    overview(&sb, scenarios);
    size_t plot_id = 0;
    group(&sb, scenarios, "failed", "Failed and errored", pick_bad, &plot_id);
    group(&sb, scenarios, "passed", "Passed", pick_passed, &plot_id);
    group(&sb, scenarios, "skipped", "Skipped", pick_skipped, &plot_id);
    mb__sb_str(&sb, "<footer>meterbench results format 1 \xC2\xB7 times in UTC</footer>\n"
                    "</main>\n<script>\n");
    mb__sb_str(&sb, script);
    mb__sb_str(&sb, "</script>\n</body>\n</html>\n");
    return mb__finish(&sb, text, len, "html", msg, msgcap);
}
