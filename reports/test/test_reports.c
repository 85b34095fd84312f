/*
** test_reports.c — unit tests of the report writers (JSON, JUnit XML, TAP 13, HTML) on
** the hand-written results documents in reports/test/data/.
** SPDX-License-Identifier: MIT
**
** The checks that need external tools (xmllint against the JUnit XSD, Perl's TAP::Parser,
** headless Chromium) are in test_reports_tools.py.
*/
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mb_report.h"
#include "mb_report_internal.h"
#include "ms_err.h"

/* ---- helpers ------------------------------------------------------------------------
 */

static json_t *load(const char *name)
{
    const char *root = getenv("MS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/reports/test/data/%s", root ? root : ".", name);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!doc)
        fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
    return doc;
}

static char *render(const json_t *doc, const char *format, size_t *len)
{
    char *text = NULL, msg[256] = "";
    int rc = mb_report_render(doc, format, &text, len, msg, sizeof msg);
    if (rc != 0)
        fail_msg("render %s: %d %s", format, rc, msg);
    assert_non_null(text);
    return text;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + k, needle))
        n++;
    return n;
}

/* No byte that XML 1.0 forbids (C0 controls other than TAB, LF, CR) and no DEL. */
static void assert_no_raw_controls(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
            fail_msg("raw control byte 0x%02x at offset %zu: ...%.40s", c, i,
                     text + (i > 20 ? i - 20 : 0));
    }
}

/* Points in a points="x,y x,y ..." attribute starting at p. */
static size_t polyline_points(const char *p)
{
    const char *a = strstr(p, "points=\"");
    assert_non_null(a);
    a += strlen("points=\"");
    const char *end = strchr(a, '"');
    assert_non_null(end);
    size_t n = 0;
    int in_pair = 0;
    for (const char *q = a; q < end; q++) {
        if (*q != ' ' && !in_pair) {
            n++;
            in_pair = 1;
        } else if (*q == ' ') {
            in_pair = 0;
        }
    }
    return n;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- text helpers --------------------------------------------------------------------
 */

static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        { 200, "200" },
        { 200.3, "200.3" },
        { 0.1, "0.1" },
        { 1620.7, "1620.7" },
        { -0.005, "-0.005" },
        { 1e-7, "1e-07" },
        { 1e300, "1e+300" },
        { 0, "0" },
        { 12.879999999999997, "12.879999999999997" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mb__sb_t sb;
        mb__sb_init(&sb);
        mb__sb_num(&sb, cases[i].v);
        assert_string_equal(sb.buf, cases[i].text);
        mb__sb_free(&sb);
    }
    mb__sb_t sb;
    mb__sb_init(&sb);
    mb__sb_secs(&sb, 1234.5);
    mb__sb_ch(&sb, ' ');
    mb__sb_secs(&sb, -3);
    assert_string_equal(sb.buf, "1.234 0.000"); /* 1.2345 is 1.23449... in binary */
    mb__sb_free(&sb);
}

static void test_xml_escaping(void **state)
{
    (void)state;
    /* every C0 control, DEL, markup characters, a stray continuation byte, U+FFFE */
    char in[64];
    size_t n = 0;
    for (int c = 0; c < 32; c++)
        in[n++] = (char)c;
    memcpy(in + n, "\x7f<&>\"'\x80\xEF\xBF\xBE", 11);
    n += 11;
    mb__sb_t sb;
    mb__sb_init(&sb);
    mb__sb_xml(&sb, in, n, MB__X_ATTR);
    assert_int_equal(sb.err, 0);
    assert_no_raw_controls(sb.buf, sb.len);
    assert_non_null(strstr(sb.buf, "&lt;NUL&gt;&lt;SOH&gt;&lt;STX&gt;&lt;ETX&gt;"));
    assert_non_null(strstr(sb.buf, "&#9;&#10;&lt;VT&gt;&lt;FF&gt;&#13;"));
    assert_non_null(strstr(sb.buf, "&lt;US&gt;&lt;DEL&gt;&lt;&amp;&gt;&quot;&#39;"));
    /* 0x80 alone and U+FFFE are not XML characters: both become U+FFFD */
    assert_non_null(strstr(sb.buf, "&#39;\xEF\xBF\xBD\xEF\xBF\xBD"));
    mb__sb_free(&sb);

    /* element content keeps TAB and LF, writes CR as a reference */
    mb__sb_init(&sb);
    static const char ws[] = "a\tb\nc\rd]]>";
    mb__sb_xml(&sb, ws, sizeof ws - 1, 0);
    assert_string_equal(sb.buf, "a\tb\nc&#13;d]]&gt;");
    mb__sb_free(&sb);
}

static void test_html_escaping(void **state)
{
    (void)state;
    mb__sb_t sb;
    mb__sb_init(&sb);
    const char in[] = "\x02P.01<CR><LF>(<&>\")\x03<P1><0x9F>";
    mb__sb_html(&sb, in, sizeof in - 1, MB__X_MARK | MB__X_CTRL_ALL);
    assert_string_equal(sb.buf, "<span class=\"cc\">&lt;STX&gt;</span>P.01"
                                "<span class=\"cc\">&lt;CR&gt;</span>"
                                "<span class=\"cc\">&lt;LF&gt;</span>(&lt;&amp;&gt;\")"
                                "<span class=\"cc\">&lt;ETX&gt;</span>&lt;P1&gt;"
                                "<span class=\"cc\">&lt;0x9F&gt;</span>");
    mb__sb_free(&sb);

    mb__sb_init(&sb);
    mb__sb_hex_text(&sb, "2f3f210d0a02ff", 14);
    assert_string_equal(sb.buf, "/?!<CR><LF><STX><0xFF>");
    mb__sb_free(&sb);
}

static void test_yaml_and_tap_escaping(void **state)
{
    (void)state;
    mb__sb_t sb;
    mb__sb_init(&sb);
    static const char y[] = "a\"b\\c\nd\te\x02\x7f";
    mb__sb_yaml(&sb, y, sizeof y - 1);
    assert_string_equal(sb.buf, "\"a\\\"b\\\\c\\nd\\te\\x02\\x7F\"");
    mb__sb_free(&sb);
    mb__sb_init(&sb);
    static const char d[] = "a # SKIP b\n\x06";
    mb__sb_tap_desc(&sb, d, sizeof d - 1);
    assert_string_equal(sb.buf, "a \\# SKIP b<LF><ACK>");
    mb__sb_free(&sb);
}

static void test_limits(void **state)
{
    (void)state;
    static const struct {
        const char *limit, *unit, *text;
    } cases[] = {
        { "{\"kind\":\"equals\",\"expected\":9600}", "Bd", "= 9600 Bd" },
        { "{\"kind\":\"equals\",\"expected\":\"00\"}", NULL, "= \"00\"" },
        { "{\"kind\":\"in_range\",\"low\":200,\"high\":1500,\"marginal_low\":null,"
          "\"marginal_high\":1400}",
          "ms", "200 <= x <= 1500 ms, marginal above 1400" },
        { "{\"kind\":\"in_range\",\"low\":null,\"high\":3}", NULL, "<= 3" },
        { "{\"kind\":\"in_range\",\"low\":0.5}", "V", ">= 0.5 V" },
        { "{\"kind\":\"matches\",\"pattern\":\"^/MSM\"}", NULL, "matches /^/MSM/" },
        { "{\"kind\":\"none\"}", "ms", "recorded only" },
        { "null", NULL, "recorded only" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *limit = json_loads(cases[i].limit, JSON_DECODE_ANY, NULL);
        mb__sb_t sb;
        mb__sb_init(&sb);
        mb__sb_limit(&sb, limit, cases[i].unit, 0);
        assert_string_equal(sb.buf, cases[i].text);
        mb__sb_free(&sb);
        json_decref(limit);
    }
}

/* ---- JSON ----------------------------------------------------------------------------
 */

static void test_json_round_trip(void **state)
{
    (void)state;
    static const char *const docs[] = { "run_mixed.json", "run_minimal.json",
                                        "run_empty.json" };
    for (size_t i = 0; i < 3; i++) {
        json_t *doc = load(docs[i]);
        size_t len;
        char *text = render(doc, "json", &len);
        assert_int_equal(strlen(text), len);
        json_error_t jerr;
        json_t *back = json_loads(text, JSON_ALLOW_NUL, &jerr);
        if (!back)
            fail_msg("%s: output does not parse: %d: %s", docs[i], jerr.line, jerr.text);
        assert_true(json_equal(doc, back));
        /* keys in document order */
        assert_ptr_equal(strstr(text, "\"format\""), text + 4);
        json_decref(back);
        free(text);
        json_decref(doc);
    }
}

static void test_json_is_stable(void **state)
{
    (void)state;
    /* run_mixed.json is committed in the writer's own layout: byte for byte */
    const char *root = getenv("MS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/reports/test/data/run_mixed.json", root ? root : ".");
    size_t flen, len;
    char *file = read_file(path, &flen);
    json_t *doc = load("run_mixed.json");
    char *text = render(doc, "json", &len);
    assert_int_equal(len, flen);
    assert_memory_equal(text, file, len);
    /* a load-profile point per line */
    assert_non_null(
        strstr(text, "\n                    [\"2016-01-01T00:15:00Z\", 0.06],\n"));
    free(text);
    free(file);
    json_decref(doc);
}

static void test_json_numbers_keep_type(void **state)
{
    (void)state;
    json_t *doc =
        json_pack("{s:i, s:[{s:s, s:f, s:f, s:f, s:f, s:I, s:s#}]}", "format", 1,
                  "scenarios", "name", "n", "a", 2.0, "b", 0.1, "c", 1e-7, "d", 1e300,
                  "e", (json_int_t)9007199254740993LL, "nul", "a\0b", 3);
    assert_non_null(doc);
    size_t len;
    char *text = render(doc, "json", &len);
    assert_non_null(strstr(text, "\"a\": 2.0"));
    assert_non_null(strstr(text, "\"nul\": \"a\\u0000b\""));
    json_t *back = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(back);
    assert_true(json_equal(doc, back));
    json_decref(back);
    free(text);
    json_decref(doc);
}

/* ---- JUnit ---------------------------------------------------------------------------
 */

static void test_junit_mixed(void **state)
{
    (void)state;
    json_t *doc = load("run_mixed.json");
    size_t len;
    char *x = render(doc, "junit", &len);
    assert_no_raw_controls(x, len);
    assert_ptr_equal(strstr(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), x);
    assert_non_null(strstr(x,
                           "<testsuites name=\"meterbench\" tests=\"7\" failures=\"2\" "
                           "errors=\"2\" time=\"41.234\">"));
    /* one testsuite per suite, in order of first appearance */
    assert_int_equal(count(x, "<testsuite "), 3);
    const char *a =
        strstr(x, "<testsuite name=\"iec62056-21\" tests=\"3\" failures=\"1\" "
                  "errors=\"0\" skipped=\"0\" time=\"8.565\"");
    const char *b = strstr(x, "<testsuite name=\"billing\" tests=\"2\" failures=\"1\" "
                              "errors=\"1\" skipped=\"0\"");
    const char *c = strstr(x, "<testsuite name=\"selftest\" tests=\"2\" failures=\"0\" "
                              "errors=\"1\" skipped=\"1\"");
    assert_true(a && b && c && a < b && b < c);
    assert_int_equal(count(x, "<testcase "), 7);
    assert_int_equal(count(x, "</testcase>"), 7);
    assert_int_equal(count(x, "<failure "), 2);
    assert_int_equal(count(x, "<error "), 2);
    assert_int_equal(count(x, "<skipped "), 1);
    assert_non_null(strstr(x, "<testcase classname=\"billing\" name=\"load profile of "
                              "2016-01-01 matches the load\" file=\"scenarios/billing/"
                              "load_profile.lua\" line=\"27\" time=\"18.410\">"));
    assert_non_null(strstr(x,
                           "<failure message=\"step &#39;sign on&#39;: reaction time tr "
                           "expected 200 .. 1500 ms, got 1620.7 ms (IEC 62056-21:2002 "
                           "6.3 (tr))\" type=\"measurement\">"));
    assert_non_null(strstr(x,
                           "<error message=\"scenarios/selftest/errors.lua:21: attempt "
                           "to index a nil value (global &#39;meter&#39;)\" "
                           "type=\"error\">"));
    assert_non_null(strstr(x, "<skipped message=\"needs a simulated meter"));
    /* escaping of names, trace text with raw controls, and the meter log's ESC */
    assert_non_null(strstr(x, "name=\"programming with password &lt;P1&gt; &amp; "
                              "&quot;quotes&quot;\""));
    assert_non_null(strstr(x, "tx &lt;SOH&gt;R5&lt;STX&gt;P.01(1601010000;1601020000)"
                              "&lt;ETX&gt;G  -- R5 read &lt;P.01&gt; from 16-01-01 00:00 "
                              "&amp; to 16-01-02 00:00 \"A+\""));
    assert_non_null(strstr(x, "&lt;ESC&gt;[31mfatal&lt;ESC&gt;[0m"));
    /* measurements and traceback in the failure text, requirements as properties */
    assert_non_null(strstr(x, "[fail] max deviation from expected = 0.123 kWh, limit 0 "
                              "&lt;= x &lt;= 0.005 kWh -- P.01 = interval energy"));
    assert_non_null(strstr(x, "stack traceback:\n\t[C]: in ?\n"));
    assert_non_null(strstr(x, "<property name=\"requirement\" value=\"IEC 62056-21:2002 "
                              "6.3 (tr)\"/>"));
    assert_non_null(strstr(x, "<property name=\"tag\" value=\"load-profile\"/>"));
    assert_non_null(strstr(x, "<property name=\"seed\" value=\"1\"/>"));
    free(x);
    json_decref(doc);
}

static void test_junit_minimal_and_empty(void **state)
{
    (void)state;
    json_t *doc = load("run_minimal.json");
    size_t len;
    char *x = render(doc, "junit", &len);
    assert_no_raw_controls(x, len);
    /* no suite and no id: "scenarios"; no name: "scenario N"; unknown step status */
    assert_non_null(strstr(x, "<testcase classname=\"scenarios\" name=\"bare scenario\" "
                              "time=\"0.000\">"));
    assert_non_null(strstr(x, "<testcase classname=\"scenarios\" name=\"scenario 3\""));
    assert_non_null(strstr(x,
                           "<testcase classname=\"misc\" name=\"number axis with a gap\" "
                           "time=\"0.000\">"));
    assert_non_null(
        strstr(x, "<failure message=\"scenario failed\" type=\"measurement\">"));
    assert_null(strstr(x, "<properties>")); /* nothing to say: no empty element */
    free(x);
    json_decref(doc);

    doc = load("run_empty.json");
    x = render(doc, "junit", &len);
    assert_string_equal(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<testsuites name=\"meterbench\" tests=\"0\" failures=\"0\" "
                           "errors=\"0\" time=\"0.000\">\n</testsuites>\n");
    free(x);
    json_decref(doc);
}

/* ---- TAP -----------------------------------------------------------------------------
 */

static void test_tap_lines(void **state)
{
    (void)state;
    json_t *doc = load("run_mixed.json");
    size_t len;
    char *t = render(doc, "tap", &len);
    assert_no_raw_controls(t, len);
    static const char *const want[] = { "ok", "not ok", "not ok", "not ok",
                                        "ok", "ok",     "not ok" };
    size_t plan = 0, points = 0, line_no = 0, yaml_blocks = 0;
    int in_yaml = 0, saw_failed_meas = 0, saw_skip = 0;
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        if (line_no == 1) {
            assert_string_equal(line, "TAP version 13");
            continue;
        }
        if (in_yaml) {
            assert_memory_equal(line, "  ", 2); /* indented under its test point */
            if (strcmp(line, "  ...") == 0)
                in_yaml = 0;
            if (strcmp(line, "  failed_measurements:") == 0)
                saw_failed_meas++;
            continue;
        }
        if (line[0] == '#')
            continue;
        if (strncmp(line, "1..", 3) == 0) {
            assert_int_equal(points, 0); /* plan first */
            plan = strtoul(line + 3, NULL, 10);
            continue;
        }
        if (strcmp(line, "  ---") == 0) {
            assert_true(points > 0);
            assert_string_equal(want[points - 1], "not ok"); /* only for failures */
            in_yaml = 1;
            yaml_blocks++;
            continue;
        }
        assert_true(points < 7);
        char head[32];
        snprintf(head, sizeof head, "%s %zu - ", want[points], points + 1);
        if (strncmp(line, head, strlen(head)) != 0)
            fail_msg("line %zu: expected '%s...', got '%s'", line_no, head, line);
        points++;
        if (strstr(line, " # SKIP ")) {
            assert_int_equal(points, 5);
            saw_skip = 1;
        }
    }
    assert_false(in_yaml);
    assert_int_equal(plan, 7);
    assert_int_equal(points, 7);
    assert_int_equal(yaml_blocks, 4);
    assert_int_equal(saw_failed_meas, 2);
    assert_true(saw_skip);
    free(t);

    t = render(doc, "tap", &len);
    assert_non_null(strstr(t, "ok 6 - iec62056-21: programming with password <P1> & "
                              "\"quotes\"\n"));
    assert_non_null(strstr(t, "  traceback: \"stack traceback:\\n\\t[C]: in ?\\n"));
    assert_non_null(strstr(t,
                           "  meter_log: \"metersim: cannot open model 'nope': no such "
                           "file\\n\\x1B[31mfatal\\x1B[0m\\n\"\n"));
    assert_non_null(strstr(t, "    - step: \"read load profile P.01 via R5\"\n"
                              "      name: \"max deviation from expected\"\n"
                              "      value: 0.123\n      unit: \"kWh\"\n"
                              "      limit: \"0 <= x <= 0.005 kWh\"\n"
                              "      verdict: fail\n"));
    assert_non_null(strstr(t, "  marginal_measurements:\n"));
    assert_non_null(strstr(t, "# 2 passed, 2 failed, 2 error, 1 skipped of 7\n"));
    free(t);
    json_decref(doc);

    doc = load("run_empty.json");
    t = render(doc, "tap", &len);
    assert_non_null(strstr(t, "\n1..0 # SKIP no scenario selected\n"));
    free(t);
    json_decref(doc);
}

/* ---- HTML ----------------------------------------------------------------------------
 */

static void test_html_mixed(void **state)
{
    (void)state;
    json_t *doc = load("run_mixed.json");
    size_t len;
    char *h = render(doc, "html", &len);
    assert_no_raw_controls(h, len);
    assert_ptr_equal(strstr(h, "<!DOCTYPE html>"), h);
    assert_non_null(strstr(h, "</html>\n"));
    /* self-contained: one inline script, no external resources */
    assert_int_equal(count(h, "<script"), 1);
    assert_null(strstr(h, "<script src"));
    assert_null(strstr(h, "<link"));
    assert_null(strstr(h, "src=\""));
    assert_null(strstr(h, "url("));
    assert_null(strstr(h, "@import"));
    assert_int_equal(count(h, "http"), 1); /* the SVG namespace */
    /* the load profile: two series, one polyline of 96 points each */
    assert_int_equal(count(h, "<svg class=\"chart\""), 1);
    const char *s0 = strstr(h, "<polyline class=\"series\" data-series=\"0\"");
    const char *s1 = strstr(h, "<polyline class=\"series\" data-series=\"1\"");
    assert_non_null(s0);
    assert_non_null(s1);
    assert_int_equal(count(h, "<polyline"), 2);
    assert_int_equal(polyline_points(s0), 96);
    assert_int_equal(polyline_points(s1), 96);
    assert_non_null(strstr(h, ">read</text>"));
    assert_non_null(strstr(h, ">expected</text>"));
    assert_non_null(strstr(h, "energy (kWh)</text>"));
    assert_non_null(strstr(h, "time (UTC)</text>"));
    assert_non_null(strstr(h, ">03:00</text>"));
    assert_non_null(strstr(h, ">21:00</text>"));
    assert_non_null(strstr(h, ">2016-01-01</text>"));
    assert_non_null(strstr(h, "<b>3 of 96</b> points differ"));
    assert_int_equal(count(h, "<circle class=\"diff\""), 3);
    /* verdict colouring, limits, failing scenarios first */
    assert_non_null(strstr(h, "<tr class=\"fail\"><td>max deviation from expected</td>"));
    assert_non_null(strstr(h, "<tr class=\"marginal\"><td>reaction time tr (attempt 1)"));
    assert_non_null(
        strstr(h, "200 \xE2\x89\xA4 x \xE2\x89\xA4 1500 ms, marginal above 1400"));
    assert_non_null(strstr(h, "<span class=\"badge none\">none</span>"));
    const char *first_failed =
        strstr(h, "<section class=\"scenario failed\" id=\"sc2\">");
    const char *first_passed =
        strstr(h, "<section class=\"scenario passed\" id=\"sc1\">");
    const char *skipped = strstr(h, "<section class=\"scenario skipped\" id=\"sc5\">");
    assert_true(first_failed && first_passed && skipped && first_failed < first_passed &&
                first_passed < skipped);
    assert_non_null(
        strstr(h, "<section class=\"scenario failed\" id=\"sc2\"><details open>"));
    assert_non_null(strstr(h, "<section class=\"scenario passed\" id=\"sc1\"><details>"));
    /* escaping and control characters in traces */
    assert_non_null(strstr(h, "programming with password &lt;P1&gt; &amp; \"quotes\""));
    assert_null(strstr(h, "<P1>"));
    assert_non_null(strstr(h, "<span class=\"cc\">&lt;SOH&gt;</span>R5<span class=\"cc\">"
                              "&lt;STX&gt;</span>P.01(1601010000;1601020000)<span "
                              "class=\"cc\">&lt;ETX&gt;</span>G"));
    assert_non_null(strstr(h, "R5 read &lt;P.01&gt; from 16-01-01 00:00 &amp; to"));
    assert_non_null(strstr(h, "01 52 35 02 50 2e"));
    assert_non_null(strstr(h, "\xE2\x86\x92 tx"));
    assert_non_null(strstr(h, "<span class=\"cc\">&lt;DLE&gt;</span></td>"));
    /* run metadata and counts */
    assert_non_null(strstr(h, "<div class=\"verdict\">FAILED</div>"));
    assert_non_null(strstr(h,
                           "<span>7 scenarios</span><span>2 passed</span><span>2 failed"
                           "</span><span>2 error</span><span>1 skipped</span>"));
    assert_non_null(strstr(h, "<dt>host</dt><dd>lab-bench-3</dd>"));
    free(h);
    json_decref(doc);
}

static void test_html_minimal(void **state)
{
    (void)state;
    json_t *doc = load("run_minimal.json");
    size_t len;
    char *h = render(doc, "html", &len);
    assert_no_raw_controls(h, len);
    /* the gap (y null at 1200 Bd) splits "frames" into 2 + 3 points */
    const char *p = strstr(h, "<polyline class=\"series\" data-series=\"0\"");
    assert_non_null(p);
    assert_int_equal(polyline_points(p), 2);
    p = strstr(p + 1, "<polyline class=\"series\" data-series=\"0\"");
    assert_non_null(p);
    assert_int_equal(polyline_points(p), 3);
    assert_non_null(strstr(h, "1 point could not be read and is left out."));
    assert_non_null(strstr(h, ">baud</text>"));
    assert_non_null(strstr(h, ">9600</text>") || strstr(h, ">10000</text>"));
    assert_non_null(strstr(h, "<p class=\"nodata\">no data points</p>"));
    /* hex without text is shown readable */
    assert_non_null(strstr(h,
                           "<span class=\"cc\">&lt;STX&gt;</span><span class=\"cc\">"
                           "&lt;ACK&gt;</span><span class=\"cc\">&lt;0xFF&gt;</span>A"));
    free(h);
    json_decref(doc);

    doc = load("run_empty.json");
    h = render(doc, "html", &len);
    assert_non_null(strstr(h, "<div class=\"verdict\">NO SCENARIOS</div>"));
    free(h);
    json_decref(doc);
}

/* A results document around one step with the given plots. */
static json_t *doc_with_plots(json_t *plots)
{
    return json_pack("{s:i, s:[{s:s, s:s, s:[{s:s, s:s, s:o}]}]}", "format", 1,
                     "scenarios", "name", "plot", "status", "passed", "steps", "name",
                     "s", "status", "passed", "plots", plots);
}

static json_t *series(const char *name, size_t n, double x0, double dx, double y0,
                      double dy)
{
    json_t *pts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            pts, json_pack("[f,f]", x0 + dx * (double)i, y0 + dy * (double)(i % 7)));
    return json_pack("{s:s, s:o}", "name", name, "points", pts);
}

static void test_plot_extremes(void **state)
{
    (void)state;
    /* doubles where x + step == x, a y range that overflows, years 1000..9000 */
    json_t *plots = json_pack(
        "[{s:{s:s}, s:[{s:s, s:[[f,i],[f,i]]}]},"
        " {s:{s:s}, s:[{s:s, s:[[i,f],[i,f]]}]},"
        " {s:{s:s}, s:[{s:s, s:[[s,i],[s,i],[s,i]]}]}]",
        "x", "kind", "number", "series", "name", "a", "points", 1e17, 1, 1e17 + 16, 2,
        "x", "kind", "number", "series", "name", "b", "points", 0, -1e308, 1, 1e308, "x",
        "kind", "time", "series", "name", "c", "points", "1000-01-01T00:00:00Z", 1,
        "5000-06-01T00:00:00Z", 2, "9000-12-31T23:59:59Z", 3);
    json_t *doc = doc_with_plots(plots);
    size_t len;
    char *h = render(doc, "html", &len);
    assert_int_equal(count(h, "<svg class=\"chart\""), 3);
    assert_true(count(h, "text-anchor=\"middle\">") < 3 * 2 * 62);
    assert_true(len < 200000);
    free(h);
    json_decref(doc);

    /* a year of 15-minute values against a series on other instants: the comparison is
     * a sorted look-up, not n * m */
    plots = json_pack("[{s:{s:s}, s:[o, o]}]", "x", "kind", "number", "series",
                      series("read", 35040, 0, 900, 0.1, 0.01),
                      series("expected", 35040, 450, 900, 0.1, 0.01));
    doc = doc_with_plots(plots);
    h = render(doc, "html", &len);
    assert_int_equal(polyline_points(strstr(h, "data-series=\"0\"")), 35040);
    assert_null(strstr(h, "points differ"));
    assert_null(
        strstr(h, "<title>read \xC2\xB7")); /* no hover targets for 35040 points */
    free(h);
    json_decref(doc);

    /* the same instants in another order: compared point by point */
    plots = json_pack("[{s:{s:s}, s:[{s:s, s:[[i,i],[i,i],[i,i]]}, {s:s, s:[[i,i],[i,i],"
                      "[i,i]]}]}]",
                      "x", "kind", "number", "series", "name", "read", "points", 1, 10, 2,
                      20, 3, 30, "name", "expected", "points", 3, 30, 1, 10, 2, 25);
    doc = doc_with_plots(plots);
    h = render(doc, "html", &len);
    assert_non_null(strstr(h, "<b>1 of 3</b> points differ; largest difference read "
                              "\xE2\x88\x92 expected: <b>-5</b> at 2 (20 against 25)."));
    free(h);
    json_decref(doc);
}

static void test_deterministic(void **state)
{
    (void)state;
    json_t *doc = load("run_mixed.json");
    for (const char *const *f = mb_report_formats; *f; f++) {
        size_t l1, l2;
        char *a = render(doc, *f, &l1), *b = render(doc, *f, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(a, b, l1);
        free(a);
        free(b);
    }
    json_decref(doc);
}

/* ---- any member of the wrong type ----------------------------------------------------
 */

typedef struct walk {
    json_t *doc;
    json_t *alternates[8];
    size_t renders, rejected;
} walk_t;

/* Render every format; only a document mb_report_check rejects may be refused, and only
 * for the members it checks (format, scenarios and its elements: depth <= 2). */
static void render_all(walk_t *w, int depth)
{
    char msg[256];
    int check = mb_report_check(w->doc, msg, sizeof msg);
    if (check != 0) {
        assert_int_equal(check, MS_EINVAL);
        assert_true(depth <= 2);
        w->rejected++;
    }
    for (const char *const *f = mb_report_formats; *f; f++) {
        char *text = NULL;
        size_t len = 0;
        int rc = mb_report_render(w->doc, *f, &text, &len, msg, sizeof msg);
        w->renders++;
        assert_int_equal(rc, check);
        if (rc == 0 && strcmp(*f, "json") != 0)
            assert_no_raw_controls(text, len);
        free(text);
    }
}

static void walk(walk_t *w, json_t *node, int depth)
{
    size_t nalt = sizeof w->alternates / sizeof w->alternates[0];
    if (json_is_array(node)) {
        /* the first three elements are enough: the rest have the same shape */
        for (size_t i = 0; i < json_array_size(node) && i < 3; i++) {
            json_t *child = json_incref(json_array_get(node, i));
            for (size_t a = 0; a < nalt; a++) {
                json_array_set(node, i, w->alternates[a]);
                render_all(w, depth + 1);
            }
            json_array_set(node, i, child);
            walk(w, child, depth + 1);
            json_decref(child);
        }
    } else if (json_is_object(node)) {
        const char *keys[64];
        size_t nkeys = 0;
        const char *key;
        json_t *v;
        json_object_foreach(node, key, v)
        {
            if (nkeys < 64)
                keys[nkeys++] = key;
        }
        for (size_t k = 0; k < nkeys; k++) {
            json_t *child = json_incref(json_object_get(node, keys[k]));
            for (size_t a = 0; a < nalt; a++) {
                json_object_set(node, keys[k], w->alternates[a]);
                render_all(w, depth + 1);
            }
            json_object_set(node, keys[k], child);
            walk(w, child, depth + 1);
            json_decref(child);
        }
    }
}

/* Keep 6 points of every plot series: the walk is about shapes, not volume. */
static void trim_points(json_t *node)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(node)) {
        json_object_foreach(node, key, v)
        {
            if (strcmp(key, "points") == 0)
                while (json_array_size(v) > 6)
                    json_array_remove(v, 6);
            else
                trim_points(v);
        }
    } else if (json_is_array(node)) {
        json_array_foreach(node, i, v)
        {
            trim_points(v);
        }
    }
}

static void test_any_member_of_any_type(void **state)
{
    (void)state;
    walk_t w = { 0 };
    w.doc = load("run_mixed.json");
    trim_points(w.doc);
    w.alternates[0] = json_null();
    w.alternates[1] = json_integer(-1);
    w.alternates[2] = json_real(-1e308);
    w.alternates[3] = json_stringn("\x01<&>\"\x00\x7f", 7);
    w.alternates[4] = json_array();
    w.alternates[5] = json_pack("[[s,i],[n,n],i]", "2016-13-45T99:00:00Z", 1, 7);
    w.alternates[6] = json_object();
    w.alternates[7] = json_true();
    walk(&w, w.doc, 0);
    /* the walk went everywhere: scenarios, steps, measurements, traces and plots */
    assert_true(w.renders > 10000);
    assert_true(w.rejected > 0);
    for (size_t a = 0; a < 8; a++)
        json_decref(w.alternates[a]);
    json_decref(w.doc);
}

/* ---- errors and files ----------------------------------------------------------------
 */

static void expect_einval(const json_t *doc, const char *format, const char *needle)
{
    char msg[256] = "";
    char *text = (char *)1;
    int rc = mb_report_render(doc, format, &text, NULL, msg, sizeof msg);
    assert_int_equal(rc, MS_EINVAL);
    assert_null(text == (char *)1 ? NULL : text);
    if (!strstr(msg, needle))
        fail_msg("message '%s' does not name '%s'", msg, needle);
}

static void test_errors(void **state)
{
    (void)state;
    json_t *doc = load("run_mixed.json");
    expect_einval(doc, "xml", "unknown report format 'xml'");
    expect_einval(doc, NULL, "unknown report format");
    json_decref(doc);

    doc = load("bad_no_format.json");
    for (const char *const *f = mb_report_formats; *f; f++)
        expect_einval(doc, *f, "member 'format' is missing");
    json_decref(doc);

    doc = json_pack("{s:i, s:[]}", "format", 2, "scenarios");
    expect_einval(doc, "tap", "member 'format' is 2");
    json_decref(doc);
    doc = json_pack("{s:s, s:[]}", "format", "1", "scenarios");
    expect_einval(doc, "tap", "member 'format' is not an integer");
    json_decref(doc);
    doc = json_pack("{s:i}", "format", 1);
    expect_einval(doc, "junit", "member 'scenarios' is missing");
    json_decref(doc);
    doc = json_pack("{s:i, s:[{}, i]}", "format", 1, "scenarios", 3);
    expect_einval(doc, "html", "member 'scenarios[1]' is not an object");
    json_decref(doc);
    doc = json_pack("[i]", 1);
    expect_einval(doc, "json", "not a JSON object");
    json_decref(doc);
    expect_einval(NULL, "json", "not a JSON object");

    /* msg may be NULL */
    char *text;
    assert_int_equal(mb_report_render(NULL, "json", &text, NULL, NULL, 0), MS_EINVAL);
}

static void test_write_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/mb_report_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    json_t *doc = load("run_mixed.json");
    char path[512], msg[256];
    for (const char *const *f = mb_report_formats; *f; f++) {
        snprintf(path, sizeof path, "%s/report.%s", dir, *f);
        assert_int_equal(mb_report_write(doc, *f, path, msg, sizeof msg), 0);
        size_t flen, len;
        char *file = read_file(path, &flen), *text = render(doc, *f, &len);
        assert_int_equal(flen, len);
        assert_memory_equal(file, text, len);
        free(file);
        free(text);
        unlink(path);
    }

    /* a missing directory and a directory as the file: MS_EIO naming path and errno */
    snprintf(path, sizeof path, "%s/no/such/dir/report.xml", dir);
    assert_int_equal(mb_report_write(doc, "junit", path, msg, sizeof msg), MS_EIO);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, strerror(ENOENT)));
    assert_int_equal(mb_report_write(doc, "html", dir, msg, sizeof msg), MS_EIO);
    assert_non_null(strstr(msg, strerror(EISDIR)));

    /* a write that fails half-way: MS_EIO with the errno text; the device stays */
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(mb_report_write(doc, "html", "/dev/full", msg, sizeof msg),
                         MS_EIO);
        assert_non_null(strstr(msg, "'/dev/full': "));
        assert_non_null(strstr(msg, strerror(ENOSPC)));
        assert_int_equal(access("/dev/full", F_OK), 0);
    }

    /* a regular file that could not be written whole is removed (file size limit) */
    snprintf(path, sizeof path, "%s/too-big.html", dir);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit small = { 1000, old.rlim_max };
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int big = mb_report_write(doc, "html", path, msg, sizeof msg);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(big, MS_EIO);
    assert_non_null(strstr(msg, strerror(EFBIG)));
    assert_int_equal(access(path, F_OK), -1);

    /* a rejected document leaves no file behind */
    snprintf(path, sizeof path, "%s/rejected.json", dir);
    json_t *bad = load("bad_no_format.json");
    assert_int_equal(mb_report_write(bad, "json", path, msg, sizeof msg), MS_EINVAL);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(mb_report_write(doc, "yaml", path, msg, sizeof msg), MS_EINVAL);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(mb_report_write(doc, "json", NULL, msg, sizeof msg), MS_EINVAL);
    json_decref(bad);

    /* "-" is standard output */
    snprintf(path, sizeof path, "%s/stdout.tap", dir);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int rc = mb_report_write(doc, "tap", "-", msg, sizeof msg);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    size_t flen, len;
    char *file = read_file(path, &flen), *text = render(doc, "tap", &len);
    assert_int_equal(flen, len);
    assert_memory_equal(file, text, len);
    free(file);
    free(text);
    unlink(path);
    rmdir(dir);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_xml_escaping),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_yaml_and_tap_escaping),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_is_stable),
        cmocka_unit_test(test_json_numbers_keep_type),
        cmocka_unit_test(test_junit_mixed),
        cmocka_unit_test(test_junit_minimal_and_empty),
        cmocka_unit_test(test_tap_lines),
        cmocka_unit_test(test_html_mixed),
        cmocka_unit_test(test_html_minimal),
        cmocka_unit_test(test_plot_extremes),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_any_member_of_any_type),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_write_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
