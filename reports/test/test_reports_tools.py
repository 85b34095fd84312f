#!/usr/bin/env python3
"""Integration tests of the meterbench report writers with tools we did not write:

- JUnitTests: xmllint validates the JUnit XML against the Jenkins xUnit plugin's JUnit
  XSD (reports/schema/, see its README) and reads it back with XPath;
- TapTests: Perl's TAP::Parser (the engine of prove) parses the TAP 13 output,
  YAML diagnostics included;
- HtmlTests: headless Chromium renders the HTML report to a PNG, which is decoded here
  to check that the load-profile plot was drawn.

Reports are written by mb_report_tool (reports/test/mb_report_tool.c) from the documents
in reports/test/data/. Run: python3 reports/test/test_reports_tools.py [CLASS...]
(env MS_BUILD_DIR, MS_SOURCE_DIR; ctest sets both).

--screenshot PATH writes the screenshot of run_mixed.json's report to PATH (this is how
docs/report-screenshot.png is made) and exits.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

SRC = os.environ.get("MS_SOURCE_DIR", ".")
BUILD = os.environ.get("MS_BUILD_DIR", "build")
TOOL = os.path.join(BUILD, "reports", "test", "mb_report_tool")
DATA = os.path.join(SRC, "reports", "test", "data")
SCHEMA = os.path.join(SRC, "reports", "schema", "junit-10.xsd")
SCHEMA_SUREFIRE = os.path.join(SRC, "reports", "schema", "junit-10-surefire.xsd")
DOCS = ["run_mixed.json", "run_minimal.json", "run_empty.json"]

CHROMIUM_SECONDS = 90     # one screenshot takes about 2 s here
WINDOW = (1280, 2400)     # the load-profile plot of run_mixed.json lies within


def write_report(fmt, doc, out):
    r = subprocess.run([TOOL, fmt, os.path.join(DATA, doc), out],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"mb_report_tool {fmt} {doc}: {r.returncode} {r.stderr}")
    return out


class Tmp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mb-report-it-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def report(self, fmt, doc):
        return write_report(fmt, doc, os.path.join(self.tmp, f"{doc}.{fmt}"))


# ---- JUnit ---------------------------------------------------------------------------

def xmllint(*args):
    return subprocess.run(["xmllint", *args], capture_output=True, text=True, timeout=60)


class JUnitTests(Tmp):
    def validate(self, path, schema=SCHEMA):
        r = xmllint("--noout", "--schema", schema, path)
        return r.returncode, r.stderr

    def xpath(self, path, expr):
        r = xmllint("--xpath", expr, path)
        self.assertEqual(r.returncode, 0, f"{expr}: {r.stderr}")
        return r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout  # xmllint adds one

    def test_validates_against_xsd(self):
        for doc in DOCS:
            rc, err = self.validate(self.report("junit", doc))
            self.assertEqual(rc, 0, f"{doc}: {err}")

    def test_validates_against_current_jenkins_xsd_but_for_file_and_line(self):
        # The XSD on the plugin's master (last changed 2018-12) has no testcase file/line;
        # everything else we write must satisfy it too.
        for doc in DOCS:
            with open(self.report("junit", doc), encoding="utf-8") as f:
                text = f.read()
            stripped = re.sub(r'(<testcase [^>]*?) file="[^"]*" line="[0-9]+"', r"\1", text)
            stripped = re.sub(r'(<testcase [^>]*?) file="[^"]*"', r"\1", stripped)
            path = os.path.join(self.tmp, doc + ".strict.xml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(stripped)
            rc, err = self.validate(path, SCHEMA_SUREFIRE)
            self.assertEqual(rc, 0, f"{doc}: {err}")

    def test_schema_check_can_fail(self):
        with open(self.report("junit", "run_mixed.json"), encoding="utf-8") as f:
            text = f.read()
        broken = {
            "unknown element": text.replace("<system-out>", "<stdout>", 1)
                                   .replace("</system-out>", "</stdout>", 1),
            "testsuite without tests": re.sub(r' tests="3"', "", text, count=1),
            "not well-formed": text.replace("&lt;P1&gt;", "<P1>", 1),
        }
        for what, bad in broken.items():
            path = os.path.join(self.tmp, "broken.xml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(bad)
            rc, _ = self.validate(path)
            self.assertNotEqual(rc, 0, f"{what} passed the schema check")

    def test_read_back_with_xpath(self):
        x = self.report("junit", "run_mixed.json")
        self.assertEqual(self.xpath(x, "count(//testsuite)"), "3")
        self.assertEqual(self.xpath(x, "count(//testcase)"), "7")
        self.assertEqual(self.xpath(x, "sum(//testsuite/@tests)"), "7")
        self.assertEqual(self.xpath(x, "string(/testsuites/@failures)"), "2")
        self.assertEqual(self.xpath(x, "string(/testsuites/@errors)"), "2")
        self.assertEqual(self.xpath(x, "string(/testsuites/@time)"), "41.234")
        self.assertEqual(self.xpath(x, "string(//testsuite[2]/@name)"), "billing")
        lp = "//testcase[@name='load profile of 2016-01-01 matches the load']"
        self.assertEqual(self.xpath(x, f"string({lp}/@classname)"), "billing")
        self.assertEqual(self.xpath(x, f"string({lp}/@file)"),
                         "scenarios/billing/load_profile.lua")
        self.assertEqual(self.xpath(x, f"string({lp}/@line)"), "27")
        self.assertEqual(self.xpath(x, f"string({lp}/@time)"), "18.410")
        self.assertEqual(self.xpath(x, f"string({lp}/failure/@type)"), "measurement")
        self.assertIn("got 0.123 kWh", self.xpath(x, f"string({lp}/failure/@message)"))
        out = self.xpath(x, f"string({lp}/system-out)")
        self.assertIn("tx <SOH>R5<STX>P.01(1601010000;1601020000)<ETX>G  -- R5 read <P.01> "
                      'from 16-01-01 00:00 & to 16-01-02 00:00 "A+"', out)
        self.assertIn("[pass] intervals read = 96, limit = 96", out)
        # attribute values with markup characters come back exactly
        self.assertEqual(self.xpath(x, "string(//testcase[@line='55']/@name)"),
                         'programming with password <P1> & "quotes"')
        self.assertEqual(self.xpath(x, "string(//testcase[@line='9']/error/@message)"),
                         "fixture sim_meter: metersim exited with status 1 before its "
                         "ready line")
        self.assertIn("<ESC>[31mfatal", self.xpath(x, "string(//testcase[@line='9']/system-err)"))
        self.assertEqual(self.xpath(x, "count(//testcase[skipped])"), "1")
        self.assertIn("stack traceback:\n\t[C]: in ?",
                      self.xpath(x, "string(//testcase[@line='18']/error)"))
        self.assertEqual(self.xpath(x, "count(//testsuite[1]/properties/property"
                                       "[@name='requirement'])"), "3")


# ---- TAP -----------------------------------------------------------------------------

PERL_TAP = r"""
use strict; use warnings;
use TAP::Parser; use JSON::PP;
local $/; open my $fh, '<:raw', $ARGV[0] or die "$ARGV[0]: $!"; my $tap = <$fh>;
my $p = TAP::Parser->new({ tap => $tap });
my @tests;
while (my $r = $p->next) {
    if ($r->is_test) {
        push @tests, { number => $r->number, ok => ($r->is_actual_ok ? 1 : 0),
                       skip => ($r->has_skip ? 1 : 0), description => $r->description,
                       explanation => $r->explanation };
    } elsif ($r->is_yaml) {
        die "YAML before any test\n" unless @tests;
        $tests[-1]{yaml} = $r->data;
    }
}
print JSON::PP->new->canonical->encode({
    version => $p->version, plan => $p->plan, good_plan => ($p->is_good_plan ? 1 : 0),
    parse_errors => [ $p->parse_errors ], failed => [ $p->failed ],
    skipped => [ $p->skipped ], tests => \@tests });
"""


class TapTests(Tmp):
    def parse(self, path):
        r = subprocess.run(["perl", "-e", PERL_TAP, path], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return json.loads(r.stdout)

    def test_tap_parser_reads_it(self):
        p = self.parse(self.report("tap", "run_mixed.json"))
        self.assertEqual(p["version"], 13)
        self.assertEqual(p["plan"], "1..7")
        self.assertEqual(p["good_plan"], 1)
        self.assertEqual(p["parse_errors"], [])
        self.assertEqual(p["failed"], [2, 3, 4, 7])
        self.assertEqual(p["skipped"], [5])
        t = p["tests"]
        self.assertEqual([x["number"] for x in t], list(range(1, 8)))
        self.assertEqual(t[5]["description"],
                         '- iec62056-21: programming with password <P1> & "quotes"')
        self.assertTrue(t[4]["explanation"].startswith("needs a simulated meter"))
        self.assertEqual([("yaml" in x) for x in t],
                         [False, True, True, True, False, False, True])
        y = t[1]["yaml"]
        self.assertEqual(y["severity"], "fail")
        self.assertEqual(y["line"], "40")
        self.assertEqual([s["status"] for s in y["steps"]], ["failed", "skipped"])
        fm = y["failed_measurements"]
        self.assertEqual(len(fm), 1)
        self.assertEqual(fm[0]["name"], "reaction time tr")
        self.assertEqual(float(fm[0]["value"]), 1620.7)
        self.assertEqual(fm[0]["limit"], "200 <= x <= 1500 ms, marginal below 250, "
                                          "marginal above 1400")
        self.assertEqual(fm[0]["requirement"], "IEC 62056-21:2002 6.3 (tr)")
        self.assertEqual(y["marginal_measurements"][0]["verdict"], "marginal")
        y = t[2]["yaml"]
        self.assertEqual([m["name"] for m in y["failed_measurements"]],
                         ["status word 13:30", "max deviation from expected"])
        self.assertEqual(y["failed_measurements"][0]["limit"], '= "00"')
        y = t[3]["yaml"]
        self.assertEqual(y["severity"], "error")
        self.assertEqual(y["traceback"].split("\n")[:2], ["stack traceback:", "\t[C]: in ?"])
        self.assertIn("\x1b[31mfatal\x1b[0m", t[6]["yaml"]["meter_log"])

    def test_tap_parser_minimal_and_empty(self):
        p = self.parse(self.report("tap", "run_minimal.json"))
        self.assertEqual((p["plan"], p["parse_errors"], p["failed"], p["skipped"]),
                         ("1..3", [], [2], [3]))
        p = self.parse(self.report("tap", "run_empty.json"))
        self.assertEqual((p["plan"], p["parse_errors"], p["tests"]), ("1..0", [], []))

    def test_tap_parser_check_can_fail(self):
        with open(self.report("tap", "run_mixed.json"), encoding="utf-8") as f:
            text = f.read()
        path = os.path.join(self.tmp, "broken.tap")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("1..7", "1..8"))
        self.assertEqual(self.parse(path)["good_plan"], 0)


# ---- HTML in headless Chromium -------------------------------------------------------

def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no chromium on PATH (ci/deps installs Debian's chromium)")


def screenshot(html, png, window=WINDOW, seconds=CHROMIUM_SECONDS):
    """Render html to png in headless Chromium; bounded in time; the browser and its
    children (its own process group) are killed by PID if it has not exited."""
    profile = tempfile.mkdtemp(prefix="mb-chromium-")
    cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           "--force-device-scale-factor=1", f"--user-data-dir={profile}",
           f"--screenshot={png}", f"--window-size={window[0]},{window[1]}",
           "file://" + os.path.abspath(html)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # group id = the browser's PID
            proc.wait()
            timed_out = True
        else:
            timed_out = False
        try:  # renderer or zygote left behind in the browser's group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.seek(0)
        out = log.read().decode(errors="replace")
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
    if timed_out:
        raise AssertionError(f"chromium did not finish within {seconds} s:\n{out[-2000:]}")
    if proc.returncode != 0 or not os.path.exists(png):
        raise AssertionError(f"chromium exited with {proc.returncode}:\n{out[-2000:]}")


def png_rows(path):
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG: (width, height, bpp, rows)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG")
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise AssertionError(f"unexpected PNG layout depth={depth} type={ctype}")
    bpp = 3 if ctype == 2 else 4
    pos, idat = 8, bytearray()
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        if data[pos + 4:pos + 8] == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(bytes(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows, i = [], 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def count_colour(rows, bpp, rgb):
    """Pixels of exactly this colour."""
    n = 0
    for row in rows:
        start = row.find(rgb)
        while start >= 0:
            if start % bpp == 0:
                n += 1
            start = row.find(rgb, start + 1)
    return n


class HtmlTests(Tmp):
    def test_chromium_renders_the_load_profile_plot(self):
        html = self.report("html", "run_mixed.json")
        png = os.path.join(self.tmp, "report.png")
        screenshot(html, png)
        self.assertGreater(os.path.getsize(png), 50_000)
        w, h, bpp, rows = png_rows(png)
        self.assertEqual((w, h), WINDOW)
        # distinct colours: a blank or error page has a handful
        colours = set()
        for row in rows[::40]:
            colours.update(row[x:x + 3] for x in range(0, len(row), bpp * 7))
        self.assertGreater(len(colours), 50)
        # the series were drawn: "read" #1864ab, "expected" #e8590c (one polyline of
        # 96 points each, ~870 px wide), the red of the FAILED banner and badges
        read = count_colour(rows, bpp, bytes.fromhex("1864ab"))
        expected = count_colour(rows, bpp, bytes.fromhex("e8590c"))
        self.assertGreater(read, 800, "read series missing from the screenshot")
        self.assertGreater(expected, 400, "expected series missing from the screenshot")
        self.assertGreater(count_colour(rows, bpp, bytes.fromhex("c92a2a")), 2000)

    def test_pixel_check_can_fail(self):
        # the same page without its plot must not pass the series check
        html = self.report("html", "run_mixed.json")
        with open(html, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"<figure class=\"plot\">.*?</figure>", "", text, flags=re.S)
        stripped = os.path.join(self.tmp, "noplot.html")
        with open(stripped, "w", encoding="utf-8") as f:
            f.write(text)
        png = os.path.join(self.tmp, "noplot.png")
        screenshot(stripped, png)
        _, _, bpp, rows = png_rows(png)
        self.assertLess(count_colour(rows, bpp, bytes.fromhex("1864ab")), 800)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--screenshot":
        tmp = tempfile.mkdtemp(prefix="mb-report-shot-")
        try:
            html = write_report("html", "run_mixed.json", os.path.join(tmp, "report.html"))
            screenshot(html, sys.argv[2])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"wrote {sys.argv[2]}")
        sys.exit(0)
    unittest.main(verbosity=2)
