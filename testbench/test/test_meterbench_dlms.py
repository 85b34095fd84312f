#!/usr/bin/env python3
"""Integration tests of meterbench's DLMS/COSEM binding: the scenarios/dlms and
scenarios/hdlc suites against metersim over each transport (each test class is one
ctest; run: test_meterbench_dlms.py CLASS; env MS_BUILD_DIR, MS_SOURCE_DIR as ctest sets
them):

  DlmsWrapper   scenarios/dlms over the IEC 62056-47 wrapper (TCP)
  DlmsHdlcPty   scenarios/dlms over HDLC on metersim's pty (paced)
  DlmsHdlcTcp   scenarios/dlms over HDLC on TCP
  DlmsTcpMeter  scenarios/dlms with --meter tcp:HOST:PORT against a metersim started
                here, as against a real meter (the simulator-only scenarios skip)
  HdlcPty       scenarios/hdlc over the pty
  HdlcTcp       scenarios/hdlc over TCP

Every metersim this file starts is stopped by its PID; meterbench stops its own.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

# metersim_proc: the metersim process helper shared with sim/test
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim", "test"))
from metersim_proc import METERSIM, Meter

BUILD = os.environ.get("MS_BUILD_DIR", "build")
SRC = os.environ.get("MS_SOURCE_DIR", ".")
METERBENCH = os.path.join(BUILD, "testbench", "meterbench")


def run_suite(test, suite, *args, min_passed=1):
    """meterbench run scenarios/SUITE ARGS...: every scenario passes (or skips with a
    reason); returns the JSON results."""
    with tempfile.TemporaryDirectory(prefix="mb-dlms-") as out:
        path = os.path.join(out, "r.json")
        t0 = time.monotonic()
        p = subprocess.run([METERBENCH, "run", f"scenarios/{suite}", "--json", path, *args],
                           capture_output=True, text=True, timeout=300, cwd=SRC)
        print(p.stdout[-4000:])
        print(f"{suite} {' '.join(args)}: {time.monotonic() - t0:.1f} s")
        test.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    s = doc["summary"]
    test.assertEqual((s["failed"], s["error"]), (0, 0), p.stdout)
    test.assertGreaterEqual(s["passed"], min_passed)
    for x in doc["scenarios"]:
        if x["status"] == "skipped":
            test.assertTrue(x["message"], x["id"])
    return doc


def trace(doc, layer=None):
    return [e for x in doc["scenarios"] for st in x["steps"] for e in st["trace"]
            if layer is None or e.get("layer") == layer]


class DlmsWrapper(unittest.TestCase):
    def test_dlms_suite_over_the_wrapper(self):
        doc = run_suite(self, "dlms", "--param", "transport=wrapper", min_passed=13)
        apdus = [e["meaning"] for e in trace(doc, "apdu")]
        self.assertTrue(any("GET-Response-With-Datablock" in m for m in apdus))
        self.assertTrue(any(m.startswith("glo-get-response (SC 0x30") for m in apdus))
        self.assertTrue(any("invocation-counter-error" in m for m in apdus))
        self.assertTrue(trace(doc, "wrapper"))


class DlmsHdlcPty(unittest.TestCase):
    def test_dlms_suite_over_hdlc_on_the_pty(self):
        doc = run_suite(self, "dlms", "--param", "transport=hdlc-pty", min_passed=13)
        frames = [e["meaning"] for e in trace(doc, "hdlc")]
        self.assertTrue(any(m.startswith("SNRM") for m in frames))
        self.assertTrue(any(m.startswith("I ") and "segmented" in m for m in frames))
        self.assertTrue(any(m.startswith("DISC") for m in frames))
        for x in doc["scenarios"]:
            self.assertEqual(x["meter"]["protocol"], "dlms-hdlc")


class DlmsHdlcTcp(unittest.TestCase):
    def test_dlms_suite_over_hdlc_on_tcp(self):
        doc = run_suite(self, "dlms", "--param", "transport=hdlc-tcp", min_passed=13)
        self.assertTrue(trace(doc, "hdlc"))


class DlmsTcpMeter(unittest.TestCase):
    def test_dlms_suite_against_a_tcp_meter(self):
        m = Meter("--protocol", "dlms-wrapper", "--tcp", "127.0.0.1:0", pty=False)
        try:
            addr = m.ready["meters"][0]["ports"][0]["address"]
            doc = run_suite(self, "dlms", "--meter", "tcp:" + addr, min_passed=9)
            skipped = [x for x in doc["scenarios"] if x["status"] == "skipped"]
            for x in skipped:
                self.assertIn("simulator", x["message"], x["id"])
            self.assertLessEqual(len(skipped), 4)
        finally:
            self.assertEqual(m.close(), 0)


class HdlcPty(unittest.TestCase):
    def test_hdlc_suite_over_the_pty(self):
        doc = run_suite(self, "hdlc", "--param", "transport=hdlc-pty", min_passed=10)
        self.assertTrue(any(e["meaning"].startswith("FRMR") for e in trace(doc, "hdlc")))


class HdlcTcp(unittest.TestCase):
    def test_hdlc_suite_over_tcp(self):
        run_suite(self, "hdlc", "--param", "transport=hdlc-tcp", min_passed=10)


if __name__ == "__main__":
    for exe in (METERBENCH, METERSIM):
        if not os.access(exe, os.X_OK):
            sys.exit(f"missing {exe} (set MS_BUILD_DIR)")
    unittest.main(verbosity=2)
