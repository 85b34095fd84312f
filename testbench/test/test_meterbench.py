#!/usr/bin/env python3
"""Integration tests of `meterbench run` (the Lua scenario runner) against metersim.

Each test class is one ctest (run: test_meterbench.py CLASS; env MS_BUILD_DIR,
MS_SOURCE_DIR, MS_SHARED_DATA as ctest sets them):

  Suite        meterbench run scenarios/ passes against metersim (all four reports)
  Selftest     every selftest scenario fails for its intended reason, visible in the
               JSON, JUnit XML, TAP and HTML reports
  Serial       --meter serial:PATH runs the IEC 62056-21 suite through the tty backend
               against a metersim pty, as against an optical head
  Tcp          --meter tcp:HOST:PORT against metersim's TCP listener
  Conformance  metersim options that break conformance make the matching scenario fail
               with a message naming the clause it checks
  Cli          bad input: options, paths, --list, no scenario selected, ports

Every metersim this file starts is stopped by its PID; meterbench stops its own.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

# metersim_proc: the metersim process helper shared with sim/test
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim", "test"))
from metersim_proc import METERSIM, Meter

BUILD = os.environ.get("MS_BUILD_DIR", "build")
SRC = os.environ.get("MS_SOURCE_DIR", ".")
METERBENCH = os.path.join(BUILD, "testbench", "meterbench")
SCENARIOS = os.path.join(SRC, "scenarios")


def run_mb(*args, timeout=240):
    """Run meterbench; returns (exit status, stdout, stderr)."""
    p = subprocess.run([METERBENCH, *args], capture_output=True, text=True,
                       timeout=timeout, cwd=SRC)
    return p.returncode, p.stdout, p.stderr


class Out:
    """A temporary folder for reports."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="mb-out-")
        return self

    def path(self, name):
        return os.path.join(self.dir, name)

    def __exit__(self, *exc):
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def check_junit_xsd(test, path):
    """Validate JUnit XML against reports/schema/junit-10.xsd (xmllint, from ci/deps)."""
    if not shutil.which("xmllint"):
        test.skipTest("xmllint not installed (ci/deps installs libxml2-utils)")
    xsd = os.path.join(SRC, "reports", "schema", "junit-10.xsd")
    p = subprocess.run(["xmllint", "--noout", "--schema", xsd, path],
                       capture_output=True, text=True, timeout=60)
    test.assertEqual(p.returncode, 0, p.stderr)


def report_args(out):
    return ["--json", out.path("r.json"), "--junit", out.path("r.xml"),
            "--tap", out.path("r.tap"), "--html", out.path("r.html")]


def by_name(doc):
    return {s["name"]: s for s in doc["scenarios"]}


class Suite(unittest.TestCase):
    def test_scenarios_pass_against_metersim(self):
        with Out() as out:
            t0 = time.monotonic()
            rc, stdout, stderr = run_mb("run", "scenarios/", *report_args(out))
            wall = time.monotonic() - t0
            print(stdout[-3000:])
            self.assertEqual(rc, 0, stdout + stderr)
            doc = load_json(out.path("r.json"))
            s = doc["summary"]
            self.assertEqual((s["failed"], s["error"]), (0, 0), stdout)
            self.assertGreaterEqual(s["passed"], 20)
            suites = {x["suite"] for x in doc["scenarios"]}
            self.assertEqual(suites, {"iec62056-21", "billing", "dlms", "hdlc"})
            self.assertFalse([x for x in doc["scenarios"] if "selftest" in x["tags"]],
                             "selftest scenarios are not in the default selection")
            for x in doc["scenarios"]:
                if x["status"] == "skipped":
                    self.assertTrue(x["message"], x["id"])
            # every step of an IEC 62056-21 scenario traced its frames with meanings
            traced = [e for x in doc["scenarios"] if x["suite"] == "iec62056-21"
                      for st in x["steps"] for e in st["trace"]]
            self.assertTrue(any(e["meaning"].startswith("identification") for e in traced))
            self.assertTrue(all(e["dir"] in ("tx", "rx") and re.fullmatch(r"[0-9a-f]*", e["hex"])
                                for e in traced))
            # the load profile plots reach the HTML report
            plots = [p for x in doc["scenarios"] for st in x["steps"] for p in st["plots"]]
            self.assertTrue(any("P.01" in p["title"] for p in plots))
            page = read(out.path("r.html"))
            self.assertIn("<svg", page)
            ET.parse(out.path("r.xml"))
            check_junit_xsd(self, out.path("r.xml"))
            tap = read(out.path("r.tap"))
            self.assertTrue(tap.startswith("TAP version 13"))
            self.assertNotIn("\nnot ok", tap)
            print(f"suite wall time {wall:.1f} s")


# name -> (status, text the message must contain)
SELFTEST = {
    "selftest: a failed expectation fails the scenario":
        ("failed", "two and two: expected 5, got 4 (selftest requirement 1.2.3)"),
    "selftest: a measurement outside its limits fails the scenario":
        ("failed", "selftest reaction time = 1633 ms, limit 200..1500 ms (selftest clause tr)"),
    "selftest: a step that fails every attempt is retried, then fails":
        ("failed", "step 'flaky': attempt: expected > 10, got 3"),
    "selftest: a meter that never answers makes the step time out":
        ("error", "step 'sign on to a silent meter' timed out after 2000 ms"),
    "selftest: a scenario over its wall-clock limit is stopped":
        ("error", "scenario timed out after 1000 ms"),
    "selftest: a Lua error ends the scenario with a traceback":
        ("error", "lua_error.lua:4: attempt to call a nil value"),
    "selftest: a misspelt API call names itself":
        ("error", "lua_error.lua:19: unknown field or method of t 'mesure'"),
    "selftest: an unknown fixture option names itself":
        ("error", "lua_error.lua:26: t:meter: unknown option 'modle'"),
    "selftest: a meter that dies is reported as a crash":
        ("error", "died: killed by signal 9"),
    "selftest: a meter that is not ready in time fails the fixture":
        ("error", "meter never ready"),
    "selftest: a meter that exits before it is ready fails the fixture":
        ("error", "exited with status 1"),
    "(file)":
        ("error", "syntax_error.lua:6: unexpected symbol near '='"),
}


class Selftest(unittest.TestCase):
    def test_each_fails_for_its_reason_in_all_formats(self):
        with Out() as out:
            rc, stdout, stderr = run_mb("run", "scenarios/selftest", *report_args(out))
            self.assertEqual(rc, 1, stdout + stderr)
            doc = load_json(out.path("r.json"))
            got = by_name(doc)
            self.assertEqual(set(got), set(SELFTEST), "the selftest scenarios")
            for name, (status, text) in SELFTEST.items():
                s = got[name]
                self.assertEqual(s["status"], status, f"{name}: {s['message']}")
                self.assertIn(text, s["message"], name)
            # Lua errors carry a traceback into the report
            tb = got["selftest: a Lua error ends the scenario with a traceback"]["traceback"]
            self.assertIn("stack traceback", tb)
            self.assertIn("in upvalue 'helper'", tb)
            # retries: three attempts, and the step after it ran (continue = true)
            flaky = got["selftest: a step that fails every attempt is retried, then fails"]
            self.assertEqual([st["attempts"] for st in flaky["steps"]], [3, 1])
            self.assertEqual(flaky["steps"][1]["status"], "passed")
            self.assertEqual(flaky["steps"][1]["measurements"][0]["verdict"], "pass")
            # the metersim that was killed is stopped and its log is kept
            crash = got["selftest: a meter that dies is reported as a crash"]["meter"]
            self.assertEqual(crash.get("term_signal"), 9)

            check_junit_xsd(self, out.path("r.xml"))
            junit = ET.parse(out.path("r.xml")).getroot()
            cases = {c.get("name"): c for c in junit.iter("testcase")}
            tap = read(out.path("r.tap"))
            page = html.unescape(read(out.path("r.html")))
            self.assertEqual(tap.count("\nnot ok "), len(SELFTEST))
            for name, (status, text) in SELFTEST.items():
                case = next(c for n, c in cases.items() if n.endswith(name))
                kid = case.find("failure" if status == "failed" else "error")
                self.assertIsNotNone(kid, f"JUnit {status} element of {name}")
                self.assertIn(text, (kid.get("message") or "") + (kid.text or ""), name)
                self.assertIn(json.dumps(text)[1:-1], tap, f"TAP: {name}")
                self.assertIn(text, page, f"HTML: {name}")


class Serial(unittest.TestCase):
    def test_iec_suite_through_the_tty_backend(self):
        m = Meter()
        try:
            with Out() as out:
                rc, stdout, stderr = run_mb("run", "scenarios/iec62056-21",
                                            "--meter", "serial:" + m.link,
                                            "--json", out.path("r.json"))
                print(stdout[-2500:])
                self.assertEqual(rc, 0, stdout + stderr)
                doc = load_json(out.path("r.json"))
                self.assertEqual(doc["run"]["meter"], "serial:" + m.link)
                s = doc["summary"]
                self.assertEqual((s["failed"], s["error"]), (0, 0))
                self.assertGreaterEqual(s["passed"], 12)
                for x in doc["scenarios"]:
                    if x["status"] == "skipped":
                        self.assertRegex(x["message"], "simulator|known metersim defect",
                                         x["id"])
                    else:
                        self.assertEqual(x["meter"]["kind"], "serial", x["id"])
        finally:
            self.assertEqual(m.close(), 0)


class Tcp(unittest.TestCase):
    def test_scenarios_over_a_tcp_meter(self):
        m = Meter("--tcp", "127.0.0.1:0")
        try:
            port = m.ready["meters"][0]["ports"][-1]
            self.assertEqual(port["type"], "tcp")
            with Out() as out:
                rc, stdout, stderr = run_mb("run", "scenarios/iec62056-21",
                                            "--tags", "sign-on,programming,nak",
                                            "--meter", "tcp:" + port["address"],
                                            "--json", out.path("r.json"))
                self.assertEqual(rc, 0, stdout + stderr)
                s = load_json(out.path("r.json"))["summary"]
                self.assertEqual((s["failed"], s["error"]), (0, 0))
                self.assertGreaterEqual(s["passed"], 6)
        finally:
            self.assertEqual(m.close(), 0)


class Conformance(unittest.TestCase):
    def test_wrong_bcc_fails_the_bcc_scenario(self):
        with Out() as out:
            rc, stdout, stderr = run_mb("run", "scenarios/iec62056-21/readout_bcc.lua",
                                        "--sim-set", "iec62056_21.bcc_corrupt=true",
                                        "--json", out.path("r.json"))
            self.assertEqual(rc, 1, stdout + stderr)
            s = load_json(out.path("r.json"))["scenarios"][0]
            self.assertEqual(s["status"], "failed", s["message"])
            self.assertIn("BCC of the readout: expected", s["message"])
            self.assertIn("IEC 62056-21:2002 6.3.4 (block check character BCC)", s["message"])

    def test_slow_reaction_fails_the_tr_scenario(self):
        # a meter whose reaction time breaks tr <= 1500 ms, read as a real meter
        m = Meter("--set", "iec62056_21.reaction_ms=1600")
        try:
            with Out() as out:
                rc, stdout, stderr = run_mb("run", "scenarios/iec62056-21/reaction_time.lua",
                                            "--filter", "identification within",
                                            "--meter", "serial:" + m.link,
                                            "--json", out.path("r.json"))
                self.assertEqual(rc, 1, stdout + stderr)
                s = load_json(out.path("r.json"))["scenarios"][0]
                self.assertEqual(s["status"], "failed", s["message"])
                self.assertRegex(s["message"], r"identification reaction time tr = 1[56]\d\d")
                self.assertIn("limit 200..1500 ms (IEC 62056-21:2002 6.3 (reaction time tr",
                              s["message"])
                meas = [x for st in s["steps"] for x in st["measurements"]]
                tr = next(x for x in meas if x["name"] == "identification reaction time tr")
                self.assertEqual(tr["verdict"], "fail")
                self.assertEqual(tr["limit"]["high"], 1500)
        finally:
            self.assertEqual(m.close(), 0)


CODEC_SCENARIO = r"""
local mb, dlms = require "mb", require "dlms"
scenario "codec modules" {
  function(t)
    t:step("OBIS codes", function()
      for _, s in ipairs{ "1-0:1.8.0.255", "1-0:1.8.0*255", "1.0.1.8.0.255" } do
        t:expect(mb.hex(dlms.obis(s).value), s):equals("0100010800ff")
      end
      t:expect(mb.hex(dlms.obis("1-0:C.8.0.255").value), "letter C"):equals("0100600800ff")
      t:expect(dlms.obis(dlms.obis("0-0:1.0.0.255")), "back to text"):equals("0-0:1.0.0.255")
      for _, s in ipairs{ "1-0:1.8.0", "1.8.0", "1-0:1.8.0.256", "1-0:1.8.0.255.3", "x", "" } do
        t:expect(pcall(dlms.obis, s), "refused: " .. s):equals(false)
      end
    end)
    t:step("GET request", function()
      t:expect(mb.hex(dlms.get_request(3, "1-0:1.8.0.255", 2)), "GET 3/1-0:1.8.0.255/2")
        :equals("c001c100030100010800ff0200")
      t:expect(mb.hex(dlms.get_request(8, "0-0:1.0.0.255", 2, { invoke = 0x81 })), "invoke")
        :equals("c0018100080000010000ff0200")
    end)
    t:step("wrapper frames", function()
      local f = dlms.wrap(16, 1, "\xC0\x01")
      t:expect(mb.hex(f), "wrap"):equals("0001001000010002c001")
      t:expect(mb.hex(dlms.wrap(16, 1, "\xC0", { version = 2, length = 0x1234 })), "wrong fields")
        :equals("0002001000011234c0")
      local u, rest = dlms.unwrap(f .. "xy")
      t:expect(u, "unwrap"):equals({ version = 1, src = 16, dst = 1, length = 2, apdu = "\xC0\x01" })
      t:expect(rest, "after the frame"):equals("xy")
      t:expect(select(2, dlms.unwrap("\0\1\0\16\0\1\0\9ab")), "short frame")
        :equals("shorter than the length the header announces")
    end)
    t:step("mb.text", function()
      t:expect(mb.text("\x02ab\x03\x7f\x80"), "text"):equals("<STX>ab<ETX><DEL><0x80>")
    end)
  end }
"""


class Cli(unittest.TestCase):
    def test_bad_input(self):
        rc, _, err = run_mb("run", "--frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("'--frobnicate'", err)
        rc, _, err = run_mb("run", "--meter", "modem:1")
        self.assertEqual(rc, 2)
        self.assertIn("--meter modem:1", err)
        rc, _, err = run_mb("run", "no/such/folder")
        self.assertEqual(rc, 2)
        self.assertIn("no/such/folder: no such file or folder", err)
        rc, _, err = run_mb("run", "scenarios/", "--filter", "no scenario has this name")
        self.assertEqual(rc, 1)
        self.assertIn("no scenario selected", err)

    def test_list_and_selection(self):
        rc, out, _ = run_mb("run", "scenarios/", "--list", "--tags", "mode-c")
        self.assertEqual(rc, 0, out)
        self.assertIn("baud_switch.lua:mode C readout switches", out)
        self.assertNotIn("mode A", out)
        rc, out, _ = run_mb("run", "scenarios/", "--list")
        self.assertNotIn("selftest", out)
        rc, out, _ = run_mb("run", "scenarios/", "--list", "--tags", "selftest")
        self.assertIn("selftest/timeout.lua", out)
        self.assertIn("selftest/syntax_error.lua:(file)", out)
        rc, out, _ = run_mb("run", "scenarios/", "--list", "--tags", "iec62056-21,!programming")
        self.assertIn("sign_on.lua", out)
        self.assertNotIn("programming.lua", out)

    def test_codec_modules(self):
        """The codec modules a scenario requires, offline: OBIS text in each accepted
        form, a GET request, wrapper frames, mb.text."""
        with Out() as out:
            path = out.path("codec.lua")
            with open(path, "w", encoding="utf-8") as f:
                f.write(CODEC_SCENARIO)
            rc, stdout, stderr = run_mb("run", path, "--json", out.path("r.json"))
            self.assertEqual(rc, 0, stdout + stderr)
            self.assertEqual(load_json(out.path("r.json"))["summary"]["passed"], 1, stdout)

    def test_ports(self):
        rc, out, err = run_mb("ports", "--json")
        self.assertEqual(rc, 0, err)
        self.assertIsInstance(json.loads(out), list)


if __name__ == "__main__":
    for exe in (METERBENCH, METERSIM):
        if not os.access(exe, os.X_OK):
            sys.exit(f"missing {exe} (set MS_BUILD_DIR)")
    unittest.main(verbosity=2)
