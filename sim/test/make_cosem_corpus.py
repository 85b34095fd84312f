#!/usr/bin/env python3
"""Seed corpus of fuzz_cosem_view: xDLMS requests (Green Book A-XDR) for the objects of
docs/cosem.md — every attribute of each class, selective access by range and entry,
SETs and ACTIONs with well-formed and ill-typed values. Writes corpus_cosem_view/."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus_cosem_view")


def obis(s):
    return bytes(int(x) for x in s.replace("-", ".").replace(":", ".").split("."))


def get(cls, ln, attr, sel=b"\x00"):
    return bytes([0xC0, 0x01, 0xC1]) + struct.pack(">H", cls) + obis(ln) + bytes([attr]) + sel


def set_(cls, ln, attr, value):
    return bytes([0xC1, 0x01, 0xC1]) + struct.pack(">H", cls) + obis(ln) + bytes([attr, 0]) + value


def act(cls, ln, m, params=b"\x0F\x00"):
    return bytes([0xC3, 0x01, 0xC1]) + struct.pack(">H", cls) + obis(ln) + bytes([m, 1]) + params


def dt(y, mo, d, h, mi, dev=-60):
    return b"\x09\x0C" + struct.pack(">HBBBBBBBhB", y, mo, d, 0xFF, h, mi, 0, 0, dev, 0)


def capdef(cls, ln, attr):
    return b"\x02\x04\x12" + struct.pack(">H", cls) + b"\x09\x06" + obis(ln) + \
        bytes([0x0F, attr]) + b"\x12\x00\x00"


objects = [
    (15, "0.0.40.0.0.255", 9), (15, "0.0.40.0.2.255", 9), (17, "0.0.41.0.0.255", 2),
    (1, "0.0.42.0.0.255", 2), (8, "0.0.1.0.0.255", 9), (1, "0.0.96.1.0.255", 2),
    (1, "0.0.43.1.3.255", 2), (64, "0.0.43.0.3.255", 5), (3, "1.0.1.8.0.255", 3),
    (3, "1.0.1.8.1.255", 3), (4, "1.0.1.6.0.255", 5), (5, "1.0.1.4.0.255", 9),
    (3, "1.0.32.7.0.255", 3), (3, "1.0.1.29.0.255", 3), (7, "1.0.99.1.0.255", 8),
    (7, "0.0.98.1.0.255", 8), (7, "0.0.99.98.0.255", 8), (7, "1.0.99.97.0.255", 8),
    (70, "0.0.96.3.10.255", 4), (71, "0.0.17.0.0.255", 11), (19, "0.0.20.0.0.255", 9),
    (23, "0.0.22.0.0.255", 9), (20, "0.0.13.0.0.255", 10), (11, "0.0.11.0.0.255", 2),
    (9, "0.0.10.0.100.255", 2), (6, "0.0.14.0.1.255", 4), (22, "0.0.15.0.0.255", 4),
]
seeds = {}
for cls, ln, n in objects:
    seeds[f"get_{cls}_{ln}"] = [get(cls, ln, a) for a in range(1, n + 1)]
rng = (b"\x01\x01\x02\x04" + capdef(8, "0.0.1.0.0.255", 2)[2:] + dt(2016, 1, 14, 0, 0) +
       dt(2016, 1, 15, 0, 0, dev=-32768) + b"\x01\x00")
rng = b"\x01\x01\x02\x04\x02\x04\x12\x00\x08\x09\x06" + obis("0.0.1.0.0.255") + \
    b"\x0F\x02\x12\x00\x00" + dt(2016, 1, 14, 0, 0) + dt(2016, 1, 15, 0, 0, dev=-32768) + \
    b"\x01\x01" + capdef(3, "1.0.1.29.0.255", 2)
entry = b"\x01\x02\x02\x04\x06\x00\x00\x00\x02\x06\x00\x00\x00\x00\x12\x00\x01\x12\x00\x02"
seeds["profile_range"] = [get(7, "1.0.99.1.0.255", 2, rng), get(7, "0.0.99.98.0.255", 2, rng)]
seeds["profile_entry"] = [get(7, "1.0.99.1.0.255", 2, entry), get(7, "0.0.98.1.0.255", 2, entry)]
seeds["set_clock"] = [set_(8, "0.0.1.0.0.255", 2, dt(2016, 1, 14, 12, 30)),
                      set_(8, "0.0.1.0.0.255", 2, b"\x11\x05")]
seeds["set_limiter"] = [set_(71, "0.0.17.0.0.255", 4, b"\x05\x00\x00\x01\xF4"),
                        set_(71, "0.0.17.0.0.255", 6, b"\x06\x00\x00\x00\x3C")]
day = (b"\x01\x01\x02\x02\x11\x01\x01\x02" +
       b"\x02\x03\x09\x04\x00\x00\x00\x00\x09\x06" + obis("0.0.10.0.100.255") + b"\x12\x00\x02" +
       b"\x02\x03\x09\x04\x07\x00\x00\x00\x09\x06" + obis("0.0.10.0.100.255") + b"\x12\x00\x01")
week = b"\x01\x01\x02\x08\x09\x01W" + b"\x11\x01" * 7
season = b"\x01\x01\x02\x03\x09\x01S" + b"\x09\x0C\xFF\xFF\x01\x01\xFF\x00\x00\x00\x00\x80\x00\xFF" + b"\x09\x01W"
seeds["calendar"] = [set_(20, "0.0.13.0.0.255", 6, b"\x09\x02P1"),
                     set_(20, "0.0.13.0.0.255", 9, day), set_(20, "0.0.13.0.0.255", 8, week),
                     set_(20, "0.0.13.0.0.255", 7, season),
                     set_(20, "0.0.13.0.0.255", 10, dt(2016, 1, 20, 0, 0)),
                     act(20, "0.0.13.0.0.255", 1)]
seeds["special_days"] = [act(11, "0.0.11.0.0.255", 1,
                             b"\x02\x03\x12\x00\x05\x09\x05\xFF\xFF\x03\x08\xFF\x11\x02"),
                         act(11, "0.0.11.0.0.255", 2, b"\x12\x00\x01")]
seeds["scripts"] = [act(9, "0.0.10.0.100.255", 1, b"\x12\x00\x02"),
                    act(9, "0.0.10.0.1.255", 1, b"\x12\x00\x01"),
                    act(9, "0.0.10.0.106.255", 1, b"\x12\x00\x01"),
                    act(9, "0.0.10.0.106.255", 1, b"\x12\x00\x02")]
seeds["breaker_clock_billing"] = [act(70, "0.0.96.3.10.255", 1), act(70, "0.0.96.3.10.255", 2),
                                  act(8, "0.0.1.0.0.255", 6, b"\x10\x00\x1E"),
                                  act(8, "0.0.1.0.0.255", 1), act(7, "0.0.98.1.0.255", 2)]
seeds["with_list_and_next"] = [
    bytes([0xC0, 0x03, 0xC1, 0x02]) + get(3, "1.0.1.8.0.255", 2)[3:] + get(8, "0.0.1.0.0.255", 2)[3:],
    get(15, "0.0.40.0.0.255", 2), bytes.fromhex("C002C100000001")]

os.makedirs(OUT, exist_ok=True)
for name, apdus in seeds.items():
    for cfg in (0x01, 0x07):
        body = bytes([cfg]) + b"".join(struct.pack(">H", len(a)) + a for a in apdus)
        safe = name.replace(".", "_")
        with open(os.path.join(OUT, f"{safe}_{cfg:02x}"), "wb") as f:
            f.write(body)
print(len(seeds) * 2, "seeds in", OUT)
