#!/usr/bin/env python3
"""Integration tests of metersim's IEC 62056-21 meter, driven by an independent raw
client written here with the Python standard library (termios on the pty, sockets on
TCP) -- not metersim's own client code -- and checked against an independent reading of
the Open Power System Data household CSV.

Every test starts its own metersim, talks to it on loopback or a pty only, and stops it
by its PID. Run: python3 testbench/test/test_metersim_iec21.py (env: MS_BUILD_DIR,
MS_SHARED_DATA; ctest sets both).
"""
import csv
import decimal
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import tty
import unittest
import urllib.error
import urllib.request
from functools import reduce

# metersim_proc: the metersim process helper shared with sim/test
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sim", "test"))
import metersim_proc

DATA = os.environ.get("MS_SHARED_DATA", "../shared/data")
METERSIM = metersim_proc.METERSIM
CSV = os.path.join(DATA, "consumption", "opsd_household_konstanz",
                   "household_data_60min_singleindex_2017_residential4.csv")
SOH, STX, ETX, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x06", b"\x15"
BAUD = {300: termios.B300, 9600: termios.B9600}


def bcc(data):
    """IEC 62056-21 block check character: XOR of the bytes after SOH/STX up to ETX."""
    return reduce(lambda a, b: a ^ b, data, 0)


def block(lead, body):
    """lead + body + ETX + BCC; lead starts with SOH or STX, and the BCC covers every
    byte after that first one up to and including ETX (IEC 62056-21 clause 6.3)."""
    span = lead[1:] + body + ETX
    return lead[:1] + span + bytes([bcc(span)])


class Meter(metersim_proc.Meter):
    """metersim with the household load, on a pty unless it listens on TCP."""

    def __init__(self, *args, start="2016-01-10T00:00:00Z", load=CSV):
        super().__init__(*args, start=start, load=load, pty="--tcp" not in args,
                         ready_timeout=10)


class PtyReader:
    """A raw reader on the pty slave: termios rate changes, 7-bit characters."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.set_baud(300)
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        self.sent_at = 0.0

    def set_baud(self, baud):
        a = termios.tcgetattr(self.fd)
        a[4] = a[5] = BAUD[baud]
        termios.tcsetattr(self.fd, termios.TCSANOW, a)

    def send(self, data):
        os.write(self.fd, data)
        self.sent_at = time.monotonic()

    def read(self, done, timeout=10.0):
        """Read until done(buf) is true; returns (buf, time of the first byte)."""
        buf, first = b"", None
        end = time.monotonic() + timeout
        while not done(buf):
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete answer, got {buf!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 4096)
                if first is None:
                    first = time.monotonic()
                buf += bytes(c & 0x7F for c in chunk)  # 7E1: drop the parity bit
        return buf, first

    def close(self):
        os.close(self.fd)


def ends_line(buf):
    return buf.endswith(b"\r\n")


def ends_block(buf):
    i = buf.find(ETX)
    return i >= 0 and len(buf) > i + 1


def check_block(test, buf, lead):
    test.assertTrue(buf.startswith(lead), buf[:20])
    i = buf.index(ETX)
    test.assertEqual(bcc(buf[1:i + 1]), buf[i + 1], "BCC of the meter's block")
    return buf[len(lead):i]


def readings(t0, t1):
    """grid_import kWh at the two UTC times, read from the CSV with csv + Decimal."""
    found = {}
    with open(CSV, newline="") as f:
        rows = csv.DictReader(f)
        col = next(c for c in rows.fieldnames if c.endswith("grid_import"))
        for row in rows:
            if row["utc_timestamp"] in (t0, t1):
                found[row["utc_timestamp"]] = decimal.Decimal(row[col])
    return found[t0], found[t1]


def datasets(body):
    """{address: (value, unit)} of a data block."""
    out = {}
    for line in body.decode().split("\r\n"):
        if not line or line == "!":
            continue
        addr, rest = line.split("(", 1)
        val = rest.split(")", 1)[0]
        v, _, unit = val.partition("*")
        out[addr] = (v, unit)
    return out


def sign_on_mode_c(test, r, y):
    """Request, identification, option select (V=0, Z=5 for 9600 Bd, Y), switch."""
    r.send(b"/?!\r\n")
    ident, first = r.read(ends_line)
    test.assertRegex(ident, rb"^/MSM5MS3P-D100\r\n$")
    r.send(ACK + b"05" + y + b"\r\n")
    time.sleep(0.05)  # the option select is on the wire before the reader switches
    r.set_baud(9600)
    return first


class Iec21Tests(unittest.TestCase):
    def test_readout_equals_household_readings(self):
        """A+ read over IEC 62056-21 after N hours = the difference of the data set's
        grid_import readings over those hours, to the register's resolution (1 Wh)."""
        hours = 30
        m = Meter(start="2016-01-10T00:00:00Z")
        try:
            status, clk = m.call("POST", "/clock", {"advance_s": hours * 3600})
            self.assertEqual(status, 200)
            self.assertEqual(clk["now"], "2016-01-11T06:00:00Z")
            r = PtyReader(m.link)
            try:
                first = sign_on_mode_c(self, r, b"0")
                buf, _ = r.read(ends_block, timeout=15)
            finally:
                r.close()
            body = check_block(self, buf, STX)
            self.assertTrue(body.endswith(b"!\r\n"))
            ds = datasets(body)
            a, b = readings("2016-01-10T00:00:00Z", "2016-01-11T06:00:00Z")
            self.assertEqual(ds["1-0:1.8.0*255"], (str((b - a).quantize(decimal.Decimal("0.001"))).rjust(11, "0"), "kWh"))
            t1, t2 = (decimal.Decimal(ds[f"1-0:1.8.{k}*255"][0]) for k in (1, 2))
            self.assertEqual(t1 + t2, b - a)
            # The control API reports the same numbers for the same instant.
            for reg in m.state()["registers"]:
                shown = ds[reg["address"]][0]
                if "text" in reg:
                    self.assertEqual(decimal.Decimal(reg["text"]), decimal.Decimal(shown), reg)
                else:
                    self.assertEqual(reg["value"], shown, reg)
        finally:
            self.assertEqual(m.close(), 0)

    def test_baud_switch_seen_through_pty(self):
        m = Meter()
        try:
            r = PtyReader(m.link)
            try:
                sign_on_mode_c(self, r, b"0")
                r.read(ends_block, timeout=15)
            finally:
                r.close()
            line = m.state()["ports"][0]["line"]
            self.assertEqual(line["peer_baud"], 9600)
            self.assertGreaterEqual(line["peer_line_changes"], 2)  # 300, then 9600
        finally:
            self.assertEqual(m.close(), 0)

    def test_programming_bad_bcc_is_naked(self):
        m = Meter()
        try:
            r = PtyReader(m.link)
            try:
                sign_on_mode_c(self, r, b"1")
                p0, _ = r.read(ends_block)
                check_block(self, p0, SOH + b"P0" + STX)
                r.send(block(SOH + b"P1" + STX, b"(00000000)"))
                ack, _ = r.read(lambda b: len(b) >= 1)
                self.assertEqual(ack, ACK)
                good = block(SOH + b"R1" + STX, b"1.8.0()")
                bad = good[:-1] + bytes([good[-1] ^ 0x01])
                r.send(bad)
                nak, _ = r.read(lambda b: len(b) >= 1)
                self.assertEqual(nak, NAK, "a command with a wrong BCC must be NAKed")
                r.send(good)
                ans, _ = r.read(ends_block)
                self.assertRegex(check_block(self, ans, STX), rb"^1\.8\.0\(\d{7}\.\d{3}\*kWh\)$")
                r.send(block(SOH + b"B0", b""))
            finally:
                r.close()
            self.assertGreaterEqual(m.state()["ports"][0]["stats"]["bad_bcc"], 1)
        finally:
            self.assertEqual(m.close(), 0)

    def test_wrong_password_refused(self):
        m = Meter()
        try:
            r = PtyReader(m.link)
            try:
                sign_on_mode_c(self, r, b"1")
                r.read(ends_block)
                r.send(block(SOH + b"P1" + STX, b"(12345678)"))
                ans, _ = r.read(ends_block)
                # The model's refusal is the break message B0 (SOH B0 ETX BCC = 'q').
                self.assertEqual(ans, b"\x01B0\x03q")
            finally:
                r.close()
            self.assertEqual(m.state()["ports"][0]["stats"]["wrong_passwords"], 1)
        finally:
            self.assertEqual(m.close(), 0)

    def test_garbage_then_meter_keeps_serving(self):
        m = Meter()
        try:
            r = PtyReader(m.link)
            try:
                r.send(b"\x00\xff/?xx" + SOH + b"R1" + STX + b"1.8")
                time.sleep(1.7)  # > ta: the partial message is dropped
                r.send(b"/?!\r\n")
                ident, first = r.read(ends_line)
                self.assertEqual(ident, b"/MSM5MS3P-D100\r\n")
                reaction_ms = (first - r.sent_at) * 1000
                # tr >= 200 ms (clause 6.3 timing); the first byte arrives one character
                # time (33 ms at 300 Bd) after it starts.
                self.assertGreaterEqual(reaction_ms, 200)
                self.assertLess(reaction_ms, 1500)
            finally:
                r.close()
        finally:
            self.assertEqual(m.close(), 0)

    def test_tcp_readout(self):
        m = Meter("--tcp", "127.0.0.1:0")
        try:
            port = m.ready["meters"][0]["ports"][0]
            host, p = port["address"].rsplit(":", 1)
            with socket.create_connection((host, int(p)), timeout=10) as s:
                s.sendall(b"/?!\r\n")
                buf = b""
                while not buf.endswith(b"\r\n"):
                    buf += s.recv(100)
                self.assertEqual(buf, b"/MSM5MS3P-D100\r\n")
                s.sendall(ACK + b"050\r\n")
                buf = b""
                while not ends_block(buf):
                    buf += s.recv(4096)
            body = check_block(self, buf, STX)
            self.assertIn(b"1-0:1.8.0*255(", body)
        finally:
            self.assertEqual(m.close(), 0)


def run(args):
    p = subprocess.run([METERSIM, *args], capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


class BadInputTests(unittest.TestCase):
    def test_bad_flag(self):
        rc, _, err = run(["--model", "ms3p-direct", "--frobnicate"])
        self.assertEqual(rc, 2)
        self.assertIn("'--frobnicate'", err)
        rc, _, err = run(["--model", "ms3p-direct", "--clock", "fast"])
        self.assertEqual(rc, 2)
        self.assertIn("--clock fast", err)
        rc, _, err = run(["--model", "ms3p-direct", "--tcp", "nowhere"])
        self.assertEqual(rc, 2)
        self.assertIn("--tcp nowhere", err)

    def test_unknown_model_and_load(self):
        rc, _, err = run(["--model", "no-such-meter"])
        self.assertEqual(rc, 1)
        self.assertIn("no-such-meter: no such model", err)
        rc, _, err = run(["--model", "ms3p-direct", "--load", "/nonexistent/load.csv"])
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/load.csv: cannot open", err)
        rc, _, err = run(["--model", "ms3p-direct", "--load", "sim/test/data/bad_number.csv"])
        self.assertEqual(rc, 1)
        self.assertIn("bad_number.csv:3: column 'X_grid_import': '1.5x'", err)

    def test_bad_model_field(self):
        with open("sim/models/ms3p-direct.lua") as f:
            text = f.read()
        line = text[:text.index('mode = "C"')].count("\n") + 1
        text = text.replace('mode = "C"', 'mode = "Q"')
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(text)
        try:
            rc, _, err = run(["--model", f.name])
            self.assertEqual(rc, 1)
            self.assertIn(f"{f.name}:{line}: field 'iec62056_21.mode': \"Q\" is not one of", err)
        finally:
            os.unlink(f.name)

    def test_set_overrides_model_fields(self):
        rc, _, err = run(["--model", "ms3p-direct", "--set", "iec62056_21.mode=Q"])
        self.assertEqual(rc, 1)
        self.assertIn("--set iec62056_21.mode=Q: field 'iec62056_21.mode': \"Q\" is not one of", err)
        rc, _, err = run(["--model", "ms3p-direct", "--set", "nothing"])
        self.assertEqual(rc, 1)
        self.assertIn("--set nothing: expected FIELD=VALUE", err)
        # A meter made to break conformance on purpose: every BCC it sends is wrong.
        m = Meter("--set", "iec62056_21.bcc_corrupt=true", "--tcp", "127.0.0.1:0")
        try:
            host, p = m.ready["meters"][0]["ports"][0]["address"].rsplit(":", 1)
            with socket.create_connection((host, int(p)), timeout=10) as s:
                s.sendall(b"/?!\r\n")
                buf = b""
                while not buf.endswith(b"\r\n"):
                    buf += s.recv(100)
                s.sendall(ACK + b"050\r\n")
                buf = b""
                while not ends_block(buf):
                    buf += s.recv(4096)
            i = buf.index(ETX)
            self.assertNotEqual(bcc(buf[1:i + 1]), buf[i + 1])
        finally:
            self.assertEqual(m.close(), 0)

    def test_control_api_errors(self):
        m = Meter()
        try:
            status, e = m.call("GET", "/meters/nope")
            self.assertEqual(status, 404)
            self.assertIn("no meter 'nope'", e["error"]["message"])
            req = urllib.request.Request(m.api + "/clock", data=b"{not json", method="POST")
            try:
                urllib.request.urlopen(req, timeout=10)
                self.fail("bad JSON accepted")
            except urllib.error.HTTPError as err:
                self.assertEqual(err.code, 400)
                self.assertIn("not JSON", json.loads(err.read())["error"]["message"])
            status, e = m.call("POST", "/clock", {"set": "2000-01-01T00:00:00Z"})
            self.assertEqual(status, 409)
            status, e = m.call("POST", f"/meters/{m.id}/load", {"type": "constant", "import_w": -5})
            self.assertEqual(status, 400)
            status, s = m.call("POST", f"/meters/{m.id}/load", {"type": "constant", "import_w": 2000})
            self.assertEqual(status, 200)
            self.assertEqual(s["load"]["import_w"], 2000)
        finally:
            self.assertEqual(m.close(), 0)

    def test_sigterm_exits_zero_and_removes_link(self):
        m = Meter()
        link = m.link
        self.assertTrue(os.path.islink(link))
        os.kill(m.proc.pid, signal.SIGTERM)
        self.assertEqual(m.proc.wait(10), 0)
        self.assertFalse(os.path.lexists(link))
        m.close()


if __name__ == "__main__":
    if not os.path.exists(CSV):
        sys.exit(f"missing third-party data {CSV} (set MS_SHARED_DATA)")
    unittest.main(verbosity=2)
