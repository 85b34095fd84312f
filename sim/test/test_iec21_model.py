#!/usr/bin/env python3
"""The meter model seen through IEC 62056-21 programming mode, with a raw client written
here (stdlib sockets, no metersim code): R5 load profile P.01 and logbook P.98 with a
time range (VDEW/EDIS layout), W1 of the clock (0.9.1) and date (0.9.2), W1 of the tariff
override (96.14.0), E2 end of billing (0.1.0), and historical values (1.8.0*1). Every
answer is checked against the control API's view of the same meter.
Loopback only; metersim is stopped by its PID.
"""
import json
import socket
import unittest
import urllib.request
from functools import reduce

import metersim_proc

SOH, STX, ETX, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x06", b"\x15"


def bcc(data):
    return reduce(lambda a, b: a ^ b, data, 0)


def command(c, d, body):
    """SOH C D STX body ETX BCC (BCC over everything after SOH up to ETX)."""
    span = c + d + STX + body + ETX
    return SOH + span + bytes([bcc(span)])


def Meter():
    """A meter at 1.2 kW with a TCP port, from 2016-01-13T23:00Z."""
    return metersim_proc.Meter("--tcp", "127.0.0.1:0", start="2016-01-13T23:00:00Z",
                               load="constant:1200", pty=False)


class Session:
    """Programming mode over TCP: request, identification, option select Y=1, P0, P1."""

    def __init__(self, addr, password=b"00000000"):
        self.s = socket.create_connection(addr, timeout=10)
        self.send(b"/?!\r\n")
        assert self.until_line().startswith(b"/MSM5")
        self.send(ACK + b"051\r\n")
        p0 = self.block()
        assert p0.startswith(SOH + b"P0" + STX), p0
        self.send(command(b"P", b"1", b"(" + password + b")"))
        assert self.byte() == ACK

    def send(self, b):
        self.s.sendall(b)

    def byte(self):
        return self.s.recv(1)

    def until_line(self):
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += self.s.recv(1)
        return buf

    def block(self):
        """one answer: ACK, NAK, or a block up to ETX + BCC (BCC checked)"""
        buf = self.s.recv(1)
        if buf in (ACK, NAK):
            return buf
        while True:
            buf += self.s.recv(65536)
            i = buf.find(ETX)
            if i >= 0 and len(buf) > i + 1:
                assert bcc(buf[1:i + 1]) == buf[i + 1], "BCC of the meter's block"
                return buf

    def ask(self, c, d, body):
        self.send(command(c, d, body))
        return self.block()

    def close(self):
        self.send(SOH + b"B0" + ETX + bytes([bcc(b"B0" + ETX)]))  # break, no answer
        self.s.close()


def data(answer):
    assert answer.startswith(STX), answer
    return answer[1:answer.index(ETX)].decode()


class ProgrammingModeTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Meter()
        # a day and a half of 1.2 kW, then the control API reads the same meter
        cls.m.post("/clock", {"advance_s": 36 * 3600})

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def test_r5_load_profile(self):
        s = Session(self.m.address())
        try:
            # 2016-01-14 10:00 .. 11:00 local (CET): 15-min energy at 1.2 kW = 0.300 kWh
            ans = data(s.ask(b"R", b"5", b"P.01(1601141000;1601141100)"))
        finally:
            s.close()
        lines = ans.split("\r\n")
        self.assertEqual(lines[0], "P.01(0160114100000)(00)(15)(4)(1.29.0)(kWh)(2.29.0)(kWh)"
                                   "(3.29.0)(kvarh)(4.29.0)(kvarh)")
        values = [l for l in lines[1:] if l]
        self.assertEqual(len(values), 5)  # 10:00, 10:15, 10:30, 10:45, 11:00
        self.assertEqual(values[0], "(0.300)(0.000)(0.098)(0.000)")
        api = self.m.get(f"/meters/{self.m.id}/profiles/P.01?from=2016-01-14T09:00:00Z&to=2016-01-14T10:00:00Z")
        self.assertEqual(len(api["entries"]), 5)
        self.assertEqual(api["entries"][0]["values"][0], 0.3)

    def test_clock_write_logbook_and_commands(self):
        s = Session(self.m.address())
        try:
            # set the date and the time (local), both logged
            self.assertEqual(s.ask(b"W", b"1", b"0.9.2(160115)"), ACK)
            self.assertEqual(s.ask(b"W", b"1", b"0.9.1(073000)"), ACK)
            self.assertEqual(data(s.ask(b"R", b"1", b"0.9.1()"))[:9], "0.9.1(073")
            st = self.m.get(f"/meters/{self.m.id}")
            self.assertTrue(st["clock"]["meter_time"].startswith("2016-01-15T07:3"))
            # tariff override to rate 2 until the next switch; a rate the meter lacks refused
            self.assertEqual(s.ask(b"W", b"1", b"96.14.0(2)"), ACK)
            self.assertEqual(self.m.get(f"/meters/{self.m.id}")["tariff"]["active_rate"], 2)
            self.assertTrue(data(s.ask(b"W", b"1", b"96.14.0(7)")).startswith("("))
            # end of billing by command, then the historical value reads the snapshot
            self.assertEqual(s.ask(b"E", b"2", b"0.1.0()"), ACK)
            billing = self.m.get(f"/meters/{self.m.id}/billing")
            self.assertEqual(billing["counter"], 1)
            hist = data(s.ask(b"R", b"1", b"1.8.0*1()"))
            kwh = billing["snapshots"][0]["registers"]["1-0:1.8.0*255"] / 1e6
            self.assertEqual(hist, f"1.8.0*1({kwh:011.3f}*kWh)")
            # the logbook holds the clock set and the billing reset, in order
            book = data(s.ask(b"R", b"5", b"P.98(;)"))
        finally:
            s.close()
        codes = [l.split(")(")[1] for l in book.split("\r\n") if l]
        self.assertIn("0005", codes)   # clock adjusted (new time)
        self.assertIn("0064", codes)   # end of billing (100)
        self.assertLess(codes.index("0005"), codes.index("0064"))
        events = self.m.get(f"/meters/{self.m.id}/events?log=clock")["events"]
        self.assertGreaterEqual(len(events), 4)  # old/new for each of the two writes

    def test_breaker(self):
        m = Meter()  # its own meter: the breaker changes what the others measure
        try:
            path = f"/meters/{m.id}"
            st = m.get(path)["breaker"]
            self.assertEqual((st["state"], st["output"], st["mode"]), ("connected", True, 1))
            self.assertEqual(m.post(f"{path}/breaker", {"op": "remote_disconnect"})["breaker"]["state"],
                             "disconnected")
            # control mode 1: no manual disconnect of an open switch; reconnect only arms it
            status, e = m.call("POST", f"{path}/breaker", {"op": "manual_disconnect"})
            self.assertEqual(status, 409)
            self.assertIn("not a transition from disconnected", e["error"]["message"])
            m.post("/clock", {"advance_s": 3600})
            st = m.post(f"{path}/breaker", {"op": "remote_reconnect"})
            self.assertEqual((st["breaker"]["state"], st["breaker"]["output"]),
                             ("ready_for_reconnection", False))
            s = Session(m.address())
            try:
                self.assertEqual(data(s.ask(b"R", b"1", b"96.3.10()")), "96.3.10(2)")  # control_state ready
                # the hour open measured nothing
                self.assertEqual(data(s.ask(b"R", b"1", b"1.8.0()")), "1.8.0(0000000.000*kWh)")
                st = m.post(f"{path}/breaker", {"op": "manual_reconnect"})
                self.assertEqual(st["breaker"]["output"], True)
                self.assertEqual(data(s.ask(b"R", b"1", b"96.3.10()")), "96.3.10(1)")
            finally:
                s.close()
            m.post("/clock", {"advance_s": 3600})
            s = Session(m.address())
            try:  # one hour closed at 1.2 kW
                self.assertEqual(data(s.ask(b"R", b"1", b"1.8.0()")), "1.8.0(0000001.200*kWh)")
            finally:
                s.close()
            book = m.get(f"{path}/events?log=disconnect")["events"]
            self.assertEqual([(ev["code"], ev["name"]) for ev in book],
                             [(108, "disconnected"), (110, "ready for reconnection"),
                              (109, "reconnected")])
            self.assertEqual(book[0]["detail"], "connected -> disconnected (control API)")
        finally:
            m.close()

    def test_control_command_refusals(self):
        """Each meter command of the control API refuses a bad body with 400 naming the
        field, and the meter stays as it was; billing-reset takes no body."""
        m = Meter()  # its own meter: a billing reset at the end
        try:
            path = f"/meters/{m.id}"

            def post(sub, body):
                req = urllib.request.Request(f"{m.api}{path}{sub}", data=body, method="POST")
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        return r.status, json.loads(r.read())
                except urllib.error.HTTPError as e:
                    with e:
                        return e.code, json.loads(e.read())["error"]["message"]

            before = m.get(path)
            for sub, body, want in [
                ("/tariff", {"override": 9}, "field 'override'"),
                ("/clock", {"set": "yesterday"}, "field 'set': an ISO 8601 time"),
                ("/clock", {"jump_s": "1h"}, "field 'jump_s'"),
                ("/clock", {}, "give one of 'set', 'jump_s', 'drift_ppm'"),
                ("/outage", {}, "field 'duration_s'"),
                ("/battery", {"ok": 1}, "field 'ok'"),
                ("/limiter", {"threshold_w": 100, "min_over_s": 0}, "field 'min_over_s'"),
                ("/load", {"type": "constant", "export_w": -1}, "field 'export_w'"),
                ("/load", {"type": "wind"}, "field 'type'"),
                ("/breaker", {"op": "explode"}, "field 'op'"),
                ("/calendar", {"calendar": {}, "activate": "soon"}, "field 'activate'"),
                ("/calendar", {"calendar": {"rates": 2}}, "calendar refused"),
            ]:
                status, msg = post(sub, json.dumps(body).encode())
                self.assertEqual(status, 400, (sub, body, msg))
                self.assertIn(want, msg, (sub, body))
            status, msg = post("/tariff", b"[2]")
            self.assertEqual((status, msg), (400, "request body must be a JSON object"))
            after = m.get(path)
            for part in ("tariff", "supply", "breaker", "load", "billing", "logs"):
                self.assertEqual(after[part], before[part], part)
            status, st = post("/billing-reset", None)
            self.assertEqual(status, 200)
            self.assertEqual(st["billing"]["counter"], before["billing"]["counter"] + 1)
        finally:
            m.close()

    def test_refusals(self):
        s = Session(self.m.address())
        try:
            self.assertEqual(data(s.ask(b"W", b"1", b"0.9.1(256199)")), "(BAD VALUE)")
            self.assertEqual(data(s.ask(b"R", b"5", b"P.01(16011x;)")), "(BAD TIME RANGE)")
            self.assertEqual(data(s.ask(b"R", b"5", b"P.01(2001010000;2001010100)")), "(NO DATA)")
            self.assertEqual(data(s.ask(b"W", b"1", b"1.8.0(0)")), "(READ ONLY)")
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
