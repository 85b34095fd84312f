#!/usr/bin/env python3
"""metersim's DLMS/COSEM ports driven by a raw client written here from the standards
(stdlib only, no metersim code): the IEC 62056-47 wrapper on TCP, IEC 62056-46 HDLC on a
pty (--protocol dlms-hdlc) and IEC 62056-21 mode E on a pty (option select "ACK 2 Z 2",
then HDLC, then back to IEC 62056-21 after DISC). AARQ/AARE (lowest and LLS, a wrong
password refused), GET of registers, the clock and the serial number compared with the
control API's view of the same meter, access rights per client, RLRQ, the invocation
counter kept in the state file across a restart.
Loopback only; every metersim is stopped by its PID.
"""
import os
import select
import socket
import struct
import tempfile
import time
import tty
import unittest

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # Debian python3-cryptography

import metersim_proc


# ---- A-XDR / APDUs (Green Book; the AARQ layouts as the pwitab and Gurux traces show) ----

CTX_LN = bytes.fromhex("A109060760857405080101")  # application-context-name: LN, no ciphering
# xDLMS InitiateRequest: no dedicated key, no response-allowed flag, no QoS, version 6,
# conformance 0x007E1F, client max receive PDU 0x04B0 (in a BER octet string BE 10 04 0E)
INITIATE = bytes.fromhex("BE10040E01000000065F1F0400007E1F04B0")


def aarq(password=None):
    body = CTX_LN
    if password is not None:  # LLS: sender-acse-requirements, mechanism-name, calling-auth
        body += bytes.fromhex("8A0207808B0760857405080201")
        body += b"\xAC" + bytes([len(password) + 2]) + b"\x80" + bytes([len(password)]) + password
    body += INITIATE
    return b"\x60" + bytes([len(body)]) + body


def get_request(class_id, obis, attr, invoke=0xC1):
    return bytes([0xC0, 0x01, invoke]) + struct.pack(">H", class_id) + bytes(obis) + bytes([attr, 0x00])


def aare_result(aare):
    """(result, source-diagnostic) of an AARE: A2 03 02 01 r, A3 05 A1|A2 03 02 01 d."""
    assert aare[0] == 0x61, aare.hex()
    i = aare.index(b"\xA2\x03\x02\x01") + 4
    j = aare.index(b"\xA3\x05") + 6
    return aare[i], aare[j]


def get_data(resp):
    """The Data of a GET-Response-Normal: (True, bytes of the Data) or (False, DAR)."""
    assert resp[0] == 0xC4 and resp[1] == 0x01, resp.hex()
    if resp[3] == 0x00:
        return True, resp[4:]
    return False, resp[4]


def u32(data):
    assert data[0] == 0x06, data.hex()  # double-long-unsigned
    return struct.unpack(">I", data[1:5])[0]


def octets(data):
    assert data[0] == 0x09, data.hex()
    return data[2:2 + data[1]]


def local_time(dt):
    """date-time octets -> ('YYYY-MM-DDThh:mm:ss', deviation)"""
    y, mo, d, wd, h, mi, s, hs, dev, st = struct.unpack(">HBBBBBBBhB", dt)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}", dev


# ---- HDLC (IEC 62056-46): frame format type 3, CRC-16/X.25 HCS and FCS ----

def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    crc ^= 0xFFFF
    return bytes([crc & 0xFF, crc >> 8])


def hdlc_frame(ctrl, info=b"", dst=b"\x03", src=b"\x21"):
    n = 2 + len(dst) + len(src) + 1 + 2 + (len(info) + 2 if info else 0)
    head = bytes([0xA0 | (n >> 8), n & 0xFF]) + dst + src + bytes([ctrl])
    body = head + (crc16(head) + info if info else b"")
    return b"\x7E" + body + crc16(body) + b"\x7E"


class Line:
    """A byte stream (pty fd or socket) with a deadline read."""

    def __init__(self, fd):
        self.fd, self.buf = fd, b""

    def send(self, b):
        os.write(self.fd, b)

    def read(self, n, timeout=5):
        end = time.time() + timeout
        while len(self.buf) < n:
            left = end - time.time()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"time-out, have {self.buf!r}")
            self.buf += os.read(self.fd, 4096)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def until(self, end, timeout=5):
        t = time.time() + timeout
        while end not in self.buf:
            left = t - time.time()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"time-out waiting for {end!r}, have {self.buf!r}")
            self.buf += os.read(self.fd, 4096)
        i = self.buf.index(end) + len(end)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def hdlc(self):
        """One frame: (control, information field without LLC header)."""
        while True:
            b = self.read(1)
            if b == b"\x7E" and self.buf[:1] != b"\x7E":
                break
        fmt = self.read(2)
        n = ((fmt[0] & 0x07) << 8) | fmt[1]
        rest = self.read(n - 2 + 1)  # up to the closing flag
        assert rest[-1] == 0x7E, rest.hex()
        frame = fmt + rest[:-1]
        assert crc16(frame[:-2]) == frame[-2:], "FCS"
        i = 2
        while not frame[i] & 1:  # destination (client) address
            i += 1
        i += 1
        while not frame[i] & 1:  # source (server) address
            i += 1
        i += 1
        ctrl = frame[i]
        info = frame[i + 3:-2] if len(frame) > i + 3 else b""
        return ctrl, info


class HdlcClient:
    def __init__(self, line, dst=b"\x03"):
        self.l, self.dst, self.ns, self.nr = line, dst, 0, 0

    def snrm(self):
        self.l.send(hdlc_frame(0x93, dst=self.dst))
        ctrl, info = self.l.hdlc()
        assert ctrl == 0x73, hex(ctrl)  # UA with the negotiated parameters
        assert info.startswith(b"\x81\x80") or info[:1] == b"\x80", info.hex()
        self.ns = self.nr = 0

    def apdu(self, apdu):
        ctrl = (self.nr << 5) | 0x10 | (self.ns << 1)
        self.l.send(hdlc_frame(ctrl, b"\xE6\xE6\x00" + apdu, dst=self.dst))
        self.ns = (self.ns + 1) % 8
        ctrl, info = self.l.hdlc()
        assert ctrl & 1 == 0, hex(ctrl)  # an I frame
        assert not ctrl & 0x01 and (ctrl >> 5) == self.ns, hex(ctrl)
        self.nr = (((ctrl >> 1) & 7) + 1) % 8
        assert info[:3] == b"\xE6\xE7\x00", info.hex()
        return info[3:]

    def disc(self):
        self.l.send(hdlc_frame(0x53, dst=self.dst))
        ctrl, _ = self.l.hdlc()
        assert ctrl == 0x73, hex(ctrl)


# ---- metersim ----

class Meter(metersim_proc.Meter):
    """A meter at 1.2 kW from 2016-01-13T23:00Z; args name its ports (no pty unless
    pty=True: then port 0 is a pty at self.link)."""

    def __init__(self, *args, pty=False):
        super().__init__(*args, start="2016-01-13T23:00:00Z", load="constant:1200", pty=pty)

    def register(self, obis):
        for r in self.state()["registers"]:
            if r["obis"] == obis:
                return r
        raise AssertionError(f"{obis} not in the control API's registers")

    def tcp(self):
        return socket.create_connection(self.address(), timeout=5)

    def pty(self):
        fd = os.open(self.port()["path"], os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        return Line(fd)


class Wrapper:
    def __init__(self, sock, client=16):
        self.s, self.client = sock, client
        self.l = Line(sock.fileno())

    def apdu(self, apdu):
        self.s.sendall(struct.pack(">HHHH", 1, self.client, 1, len(apdu)) + apdu)
        v, src, dst, n = struct.unpack(">HHHH", self.l.read(8))
        assert (v, src, dst) == (1, 1, self.client), (v, src, dst)
        return self.l.read(n)


CLOCK = (8, [0, 0, 1, 0, 0, 255], 2)
SERIAL = (1, [0, 0, 96, 1, 0, 255], 2)
A_PLUS = (3, [1, 0, 1, 8, 0, 255], 2)
LOAD_PROFILE = (7, [1, 0, 99, 1, 0, 255], 7)  # entries_in_use


class WrapperTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Meter("--protocol", "dlms-wrapper", "--tcp", "127.0.0.1:0")
        cls.m.post("/clock", {"advance_s": 36 * 3600})

    @classmethod
    def tearDownClass(cls):
        cls.m.close()

    def test_public_reads_match_the_control_api(self):
        w = Wrapper(self.m.tcp())
        try:
            self.assertEqual(aare_result(w.apdu(aarq())), (0, 0))
            ok, data = get_data(w.apdu(get_request(*A_PLUS)))
            self.assertTrue(ok)
            api = self.m.register("1-0:1.8.0*255")
            self.assertEqual(u32(data), int(api["raw"]) // 1000)  # mWh -> Wh
            self.assertEqual(u32(data), 43200)  # 36 h at 1.2 kW
            ok, data = get_data(w.apdu(get_request(*SERIAL)))
            self.assertEqual(octets(data), b"60012345")
            ok, data = get_data(w.apdu(get_request(*CLOCK)))
            t, dev = local_time(octets(data))
            self.assertEqual((t, dev), ("2016-01-15T12:00:00", -60))  # 11:00Z in CET
            meter_time = self.m.get(f"/meters/{self.m.id}")["clock"]["meter_time"]
            self.assertEqual(meter_time[:19], t, meter_time)  # local time, both
            # the load profile is not in the public client's object list
            ok, dar = get_data(w.apdu(get_request(*LOAD_PROFILE)))
            self.assertEqual((ok, dar), (False, 4))  # object-undefined
            self.assertEqual(w.apdu(b"\x62\x00")[:1], b"\x63")  # RLRQ -> RLRE
            port = self.m.get(f"/meters/{self.m.id}")["ports"][0]
            self.assertEqual(port["protocol"], "dlms-wrapper")
            self.assertGreaterEqual(port["stats"]["apdus"], 6)
        finally:
            w.s.close()

    def test_lls(self):
        w = Wrapper(self.m.tcp(), client=17)
        try:
            # a wrong password: rejected-permanent (1), authentication-failure (13)
            self.assertEqual(aare_result(w.apdu(aarq(b"11111111"))), (1, 13))
            # and a GET outside an association: exception-response
            self.assertEqual(w.apdu(get_request(*A_PLUS))[:1], b"\xD8")
            self.assertEqual(aare_result(w.apdu(aarq(b"00000000"))), (0, 0))
            ok, data = get_data(w.apdu(get_request(*LOAD_PROFILE)))
            self.assertTrue(ok)
            self.assertEqual(u32(data), 36 * 4)  # entries of 15 min
        finally:
            w.s.close()

    def test_many_connections_at_once(self):
        socks = [Wrapper(self.m.tcp()) for _ in range(20)]
        try:
            for w in socks:
                self.assertEqual(aare_result(w.apdu(aarq())), (0, 0))
            values = {u32(get_data(w.apdu(get_request(*A_PLUS)))[1]) for w in socks}
            self.assertEqual(values, {43200})
        finally:
            for w in socks:
                w.s.close()


class HdlcTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.link = os.path.join(self.tmp.name, "meter")

    def tearDown(self):
        self.tmp.cleanup()
    def test_hdlc_on_a_pty(self):
        m = Meter("--protocol", "dlms-hdlc", "--pty", self.link)
        try:
            line = m.pty()
            c = HdlcClient(line)
            c.snrm()
            self.assertEqual(aare_result(c.apdu(aarq())), (0, 0))
            ok, data = get_data(c.apdu(get_request(*SERIAL)))
            self.assertEqual(octets(data), b"60012345")
            c.disc()
            # 4-byte server address: logical device 1, physical 16 + 2345 = 2361
            c4 = HdlcClient(line, dst=bytes([0x00, 0x02, (2361 >> 7) << 1, ((2361 & 0x7F) << 1) | 1]))
            c4.snrm()
            c4.disc()
            os.close(line.fd)
        finally:
            m.close()

    def test_hdlc_on_a_serial_port(self):
        """--serial: metersim opens a terminal device (here the slave of a pty this test
        owns, as an optical head's tty would be) and speaks HDLC on it."""
        master, slave = os.openpty()
        tty.setraw(master)
        m = Meter("--protocol", "dlms-hdlc", "--serial", os.ttyname(slave))
        try:
            self.assertEqual(m.port()["type"], "serial")
            c = HdlcClient(Line(master))
            c.snrm()
            self.assertEqual(aare_result(c.apdu(aarq())), (0, 0))
            ok, data = get_data(c.apdu(get_request(*SERIAL)))
            self.assertEqual(octets(data), b"60012345")
            c.disc()
        finally:
            m.close()
            os.close(master)
            os.close(slave)

    def test_mode_e(self):
        m = Meter("--pty", self.link, "--set", 'iec62056_21.enhanced="2"')
        try:
            line = m.pty()
            line.send(b"/?!\r\n")
            ident = line.until(b"\r\n")
            self.assertIn(b"\\2", ident)  # enhanced identification: mode E offered
            line.send(b"\x06" + b"252\r\n")
            self.assertEqual(line.until(b"\r\n"), b"\x06" + b"252\r\n")  # echoed
            c = HdlcClient(line)
            c.snrm()
            self.assertEqual(aare_result(c.apdu(aarq())), (0, 0))
            ok, data = get_data(c.apdu(get_request(*SERIAL)))
            self.assertEqual(octets(data), b"60012345")
            c.disc()
            time.sleep(0.2)
            line.send(b"/?!\r\n")  # IEC 62056-21 again
            self.assertIn(b"\\2", line.until(b"\r\n"))
            stats = m.get(f"/meters/{m.id}")["ports"][0]["stats"]
            self.assertEqual((stats["mode_e"], stats["apdus"]), (1, 2))
            os.close(line.fd)
        finally:
            m.close()


# ---- security suite 0 (Green Book: AES-128-GCM, 12-octet tag; IV = system title || IC;
# AAD = SC || AK (|| StoC/CtoS for HLS-GMAC); the ciphered APDU is tag, length, SC, IC,
# ciphertext, tag) ----

EK = bytes(range(16))
AK = bytes(range(0xD0, 0xE0))
CLIENT_TITLE = b"METERSIM"


def ber_len(n):
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


class Hls:
    """The management client (SAP 1): HLS-GMAC, authenticated and encrypted APDUs."""

    def __init__(self, w, ic=1):
        self.w, self.ic, self.server_title = w, ic, None

    def protect(self, tag, apdu, ic=None):
        ic = self.ic if ic is None else ic
        if ic == self.ic:
            self.ic += 1
        iv = CLIENT_TITLE + struct.pack(">I", ic)
        full = AESGCM(EK).encrypt(iv, apdu, b"\x30" + AK)  # ciphertext || 16-octet tag
        ct = full[:-16] + full[-16:-4]  # the tag truncated to 12 octets
        body = b"\x30" + struct.pack(">I", ic) + ct
        return bytes([tag]) + ber_len(len(body)) + body

    def unprotect(self, apdu):
        body = apdu[2:] if apdu[1] < 0x80 else apdu[3:]
        sc, ic = body[0], struct.unpack(">I", body[1:5])[0]
        assert sc == 0x30, hex(sc)
        iv = self.server_title + struct.pack(">I", ic)
        ct, tag = body[5:-12], body[-12:]  # a 12-octet tag: the low-level GCM API
        d = Cipher(algorithms.AES(EK), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
        d.authenticate_additional_data(b"\x30" + AK)
        return d.update(ct) + d.finalize()

    def gmac(self, title, ic, challenge):
        e = Cipher(algorithms.AES(EK), modes.GCM(title + struct.pack(">I", ic))).encryptor()
        e.authenticate_additional_data(b"\x10" + AK + challenge)
        e.finalize()
        return e.tag[:12]

    def associate(self):
        ctos = b"K56iVagY"
        init = self.protect(0x21, bytes.fromhex("01000000065F1F0400007E1F04B0"))
        body = (bytes.fromhex("A109060760857405080103") + b"\xA6\x0A\x04\x08" + CLIENT_TITLE +
                bytes.fromhex("8A0207808B0760857405080205") + b"\xAC\x0A\x80\x08" + ctos +
                b"\xBE" + ber_len(len(init) + 2) + b"\x04" + ber_len(len(init)) + init)
        aare = self.w.apdu(b"\x60" + ber_len(len(body)) + body)
        result, diag = aare_result(aare)
        assert (result, diag) == (0, 14), (result, diag)  # authentication-required
        i = aare.index(b"\xA4\x0A\x04\x08") + 4
        self.server_title = aare[i:i + 8]
        i = aare.index(b"\xAA") + 2
        stoc = aare[i + 2:i + 2 + aare[i + 1]]
        # pass 3: reply_to_HLS_authentication with f(StoC) = SC || IC || GMAC
        ic = self.ic
        f = b"\x10" + struct.pack(">I", ic) + self.gmac(CLIENT_TITLE, ic, stoc)
        act = bytes.fromhex("C301C1000F0000280000FF0101") + b"\x09" + bytes([len(f)]) + f
        resp = self.unprotect(self.w.apdu(self.protect(0xCB, act)))
        assert resp[:4] == b"\xC7\x01\xC1\x00", resp.hex()  # success
        # pass 4: f(CtoS) from the server, checked here
        fs = resp[-17:]
        sic = struct.unpack(">I", fs[1:5])[0]
        assert fs[5:] == self.gmac(self.server_title, sic, ctos), "server f(CtoS)"

    def get(self, req):
        return self.unprotect(self.w.apdu(self.protect(0xC8, req)))

    def action(self, req):
        return self.unprotect(self.w.apdu(self.protect(0xCB, req)))


class SecurityTests(unittest.TestCase):
    def test_hls_gmac_breaker_replay_and_counters_across_a_restart(self):
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "m.db")
            m = Meter("--protocol", "dlms-wrapper", "--tcp", "127.0.0.1:0", "--state", state)
            try:
                c = Hls(Wrapper(m.tcp(), client=1))
                c.associate()
                ok, data = get_data(c.get(get_request(70, [0, 0, 96, 3, 10, 255], 3)))
                self.assertEqual((ok, data), (True, b"\x16\x01"))  # connected
                # ACTION remote_disconnect; the control API sees it
                dis = bytes.fromhex("C301C10046000060030AFF0101") + b"\x0F\x00"
                self.assertEqual(c.action(dis)[:4], b"\xC7\x01\xC1\x00")
                self.assertEqual(m.get(f"/meters/{m.id}")["breaker"]["state"], "disconnected")
                events = m.get(f"/meters/{m.id}/events?log=disconnect")["events"]
                self.assertIn("DLMS client 1 (management)", events[-1]["detail"])
                # a replayed invocation counter: exception-response, nothing done
                old = c.protect(0xC8, get_request(*CLOCK), ic=c.ic - 1)
                exc = c.w.apdu(old)
                self.assertEqual(exc[0], 0xD8, exc.hex())
                self.assertEqual(exc[2], 6)  # invocation-counter-error
                # unprotected under the ciphering policy: refused
                self.assertEqual(c.w.apdu(get_request(*CLOCK))[0], 0xD8)
                last = c.ic - 1
                c.w.s.close()
            finally:
                m.close()
            # restart: the counters come back from the state file
            m = Meter("--protocol", "dlms-wrapper", "--tcp", "127.0.0.1:0", "--state", state)
            try:
                w = Wrapper(m.tcp())
                self.assertEqual(aare_result(w.apdu(aarq())), (0, 0))
                ok, data = get_data(w.apdu(get_request(1, [0, 0, 43, 1, 3, 255], 2)))
                self.assertEqual(u32(data), last + 1)
                w.s.close()
                c = Hls(Wrapper(m.tcp(), client=1), ic=last)  # a counter already used
                with self.assertRaises(AssertionError):
                    c.associate()
                c.w.s.close()
                c = Hls(Wrapper(m.tcp(), client=1), ic=last + 1)
                c.associate()
                c.w.s.close()
            finally:
                m.close()

    def test_push(self):
        """Push setup 0-0:25.9.0.255 method push: a DATA-NOTIFICATION over the wrapper to
        the destination of the model (Green Book DATA-NOTIFICATION; IEC 62056-47)."""
        lis = socket.socket()
        lis.bind(("127.0.0.1", 0))
        lis.listen(1)
        lis.settimeout(10)
        dest = f"127.0.0.1:{lis.getsockname()[1]}"
        m = Meter("--protocol", "dlms-wrapper", "--tcp", "127.0.0.1:0",
                  "--set", f'dlms.push="{dest}"')
        try:
            c = Hls(Wrapper(m.tcp(), client=1))
            c.associate()
            ok, data = get_data(c.get(get_request(40, [0, 0, 25, 9, 0, 255], 3)))
            self.assertTrue(ok)
            self.assertIn(dest.encode(), data)
            push = bytes.fromhex("C301C100280000190900FF0101") + b"\x0F\x00"
            self.assertEqual(c.action(push)[:4], b"\xC7\x01\xC1\x00")
            conn, _ = lis.accept()
            conn.settimeout(10)
            frame = Line(conn.fileno())
            v, src, dst, n = struct.unpack(">HHHH", frame.read(8))
            self.assertEqual((v, src, dst), (1, 1, 0x66))
            apdu = frame.read(n)
            conn.close()
            self.assertEqual(apdu[0], 0x0F)  # data-notification
            self.assertEqual(apdu[5], 0x0C)  # date-time: an octet string of 12
            body = apdu[18:]
            self.assertEqual(body[:2], b"\x02\x03")  # structure of the 3 pushed values
            self.assertIn(b"MSM60012345", body)
            c.w.s.close()
        finally:
            m.close()
            lis.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
