#!/usr/bin/env python3
"""Billing test against an independent computation.

metersim (model ms3p-direct: two rates, working days 06:00-22:00 rate 1, nights, weekends
and holidays rate 2, CET/CEST, monthly end of billing at local midnight on the 1st, 15-min
block demand, power factor 0.95) measures the Open Power System Data household for three
months (2016-01-01 to 2016-04-01 UTC, across the March DST change). This script computes
the same quantities from the CSV on its own -- its own CSV reading, gap bridging, tariff
calendar (Python's zoneinfo for CET/CEST, not metersim's time zone code), integration,
demand and billing -- and compares, to the Wh (in fact to the mWh):
  - every energy register per rate at the end (A+, A-, R+, R-),
  - each billing snapshot: registers, maximum demand and its time, per rate,
  - every 15-min load-profile entry kept (A+, A-, R+, R- per period),
  - every daily-profile entry (per-rate registers at local midnight).

Rules of the meter that the reference follows (docs/models.md, docs/metersim.md):
cumulative readings in kWh are exact mWh; between two readings, and across a gap, the
cumulative value is linear and floored to the mWh; a rate receives the difference of
the cumulative values over the time it is in force; R = floor(A_total x 329 / 1000)
(tan(acos 0.95) rounded to per mille); a 15-min block's demand is its mean power, the
interval's power being floor(dE x 3600000 / dt) mW; the first block reaching a maximum
keeps it (time = block end).
"""
import csv
import datetime as dt
import decimal
import os
import sys

import metersim_proc
from zoneinfo import ZoneInfo

DATA = os.environ.get("MS_SHARED_DATA", "../shared/data")
CSV = os.path.join(DATA, "consumption", "opsd_household_konstanz",
                   "household_data_60min_singleindex_2017_residential4.csv")
T0 = "2016-01-01T00:00:00Z"
T1 = "2016-04-01T00:00:00Z"
TZ = ZoneInfo("Europe/Berlin")  # CET/CEST, the EU rule
HOLIDAYS = {(1, 1), (5, 1), (12, 25), (12, 26)}
K = 329  # round(tan(acos(0.95)) * 1000)
BLOCK = 900_000


def ms(iso):
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def iso_local(t_ms):
    return dt.datetime.fromtimestamp(t_ms / 1000, TZ).isoformat()


# ---- the load: cumulative readings -------------------------------------------------

def readings():
    rows = []
    with open(CSV, newline="") as f:
        r = csv.DictReader(f)
        imp = next(c for c in r.fieldnames if c.endswith("grid_import"))
        exp = next(c for c in r.fieldnames if c.endswith("grid_export"))
        for row in r:
            def mwh(v):
                return None if v == "" else int(decimal.Decimal(v) * 1_000_000)
            rows.append([ms(row["utc_timestamp"]), mwh(row[imp]), mwh(row[exp])])
    # rows before the first / after the last import reading carry no data
    first = next(i for i, r in enumerate(rows) if r[1] is not None)
    last = max(i for i, r in enumerate(rows) if r[1] is not None)
    rows = rows[first:last + 1]
    for col in (1, 2):
        known = [i for i, r in enumerate(rows) if r[col] is not None]
        for a, b in zip(known, known[1:]):
            ta, tb, ea, eb = rows[a][0], rows[b][0], rows[a][col], rows[b][col]
            for k in range(a + 1, b):
                rows[k][col] = ea + (eb - ea) * (rows[k][0] - ta) // (tb - ta)
        for k in range(0, known[0]):
            rows[k][col] = rows[known[0]][col]
        for k in range(known[-1] + 1, len(rows)):
            rows[k][col] = rows[known[-1]][col]
    return rows


class Load:
    def __init__(self):
        self.rows = readings()
        self.t = [r[0] for r in self.rows]

    def _row(self, t):
        import bisect
        i = bisect.bisect_right(self.t, t) - 1
        return max(0, min(i, len(self.rows) - 2))

    def cum(self, t, col):
        if t <= self.t[0]:
            return self.rows[0][col]
        if t >= self.t[-1]:
            return self.rows[-1][col]
        i = self._row(t)
        (ta, *a), (tb, *b) = self.rows[i], self.rows[i + 1]
        return a[col - 1] + (b[col - 1] - a[col - 1]) * (t - ta) // (tb - ta)

    def power(self, t, col):
        """mean power of the reading interval containing t, mW"""
        i = self._row(t)
        (ta, *a), (tb, *b) = self.rows[i], self.rows[i + 1]
        return (b[col - 1] - a[col - 1]) * 3_600_000 // (tb - ta)


# ---- the tariff calendar ----------------------------------------------------------

def rate_at(t_ms):
    local = dt.datetime.fromtimestamp(t_ms / 1000, TZ)
    rest = local.weekday() >= 5 or (local.month, local.day) in HOLIDAYS
    if rest:
        return 2
    return 1 if 6 <= local.hour < 22 else 2


def switch_points(t0, t1):
    """instants in (t0, t1) where the rate may change: 06:00 and 22:00 local time"""
    pts = []
    day = dt.datetime.fromtimestamp(t0 / 1000, TZ).date()
    while True:
        for h in (6, 22):
            t = int(dt.datetime(day.year, day.month, day.day, h, tzinfo=TZ).timestamp() * 1000)
            if t0 < t < t1:
                pts.append(t)
        if int(dt.datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp() * 1000) > t1:
            return pts
        day += dt.timedelta(days=1)


def billing_points(t0, t1):
    pts, y, m = [], 2016, 1
    while True:
        m += 1
        if m == 13:
            y, m = y + 1, 1
        t = int(dt.datetime(y, m, 1, tzinfo=TZ).timestamp() * 1000)
        if t > t1:
            return pts
        if t > t0:
            pts.append(t)


# ---- the reference meter ------------------------------------------------------------

def reference(load, t0, t1):
    cuts = sorted(set(switch_points(t0, t1) + billing_points(t0, t1) + [t0, t1]))
    regs = {(q, r): 0 for q in (1, 2, 3, 4) for r in (0, 1, 2)}
    base = {1: 0, 2: 0}  # running active totals (import, export)
    snaps = []

    def add(a, b):
        rate = rate_at(a)
        for col, qa, qr in ((1, 1, 3), (2, 2, 4)):
            de = load.cum(b, col) - load.cum(a, col)
            regs[(qa, 0)] += de
            regs[(qa, rate)] += de
            r0 = base[col] * K // 1000
            base[col] += de
            dr = base[col] * K // 1000 - r0
            regs[(qr, 0)] += dr
            regs[(qr, rate)] += dr

    bills = billing_points(t0, t1)
    for a, b in zip(cuts, cuts[1:]):
        add(a, b)
        if b in bills:
            snaps.append((b, dict(regs)))
    # demand per billing period: blocks of 15 min aligned to UTC quarter hours
    demand = []
    edges = [t0] + bills
    for pa, pb in zip(edges, edges[1:]):
        best = {}
        t = pa
        while t < pb:
            rate = rate_at(t)
            for col in (1, 2):
                d = load.power(t, col) * BLOCK // BLOCK  # block inside one hour reading
                for key in ((col, 0), (col, rate)):
                    if key not in best or d > best[key][0]:
                        best[key] = (d, t + BLOCK)
            t += BLOCK
        demand.append(best)
    return regs, snaps, demand


def main():
    if not os.path.exists(CSV):
        sys.exit(f"missing third-party data {CSV} (set MS_SHARED_DATA)")
    m = metersim_proc.Meter(start=T0, load=CSV, pty=False)
    try:
        m.post("/clock", {"set": T1})
        state = m.state()
        billing = m.get(f"/meters/{m.id}/billing")
        p01 = m.get(f"/meters/{m.id}/profiles/P.01?max=100000")
        p02 = m.get(f"/meters/{m.id}/profiles/P.02?max=100000")
    finally:
        m.close()

    load = Load()
    t0, t1 = ms(T0), ms(T1)
    regs, snaps, demand = reference(load, t0, t1)
    problems, checks = [], 0

    def check(what, got, want):
        nonlocal checks
        checks += 1
        if got != want:
            problems.append(f"{what}: metersim {got}, reference {want}")

    # registers at the end
    raw = {r["obis"]: r.get("raw") for r in state["registers"]}
    for (q, r), v in regs.items():
        check(f"1-0:{q}.8.{r}*255 at {T1}", raw.get(f"1-0:{q}.8.{r}*255"), v)
    # billing snapshots
    check("billing counter", billing["counter"], len(snaps))
    for i, (t, want) in enumerate(snaps):
        if i >= len(billing["snapshots"]):
            problems.append(f"snapshot {i + 1} missing")
            continue
        s = billing["snapshots"][i]
        check(f"snapshot {i + 1} time", s["time"], iso_local(t))
        for (q, r), v in want.items():
            check(f"snapshot {i + 1} 1-0:{q}.8.{r}*255", s["registers"][f"1-0:{q}.8.{r}*255"], v)
        for (col, r), (mw, at) in demand[i].items():
            d = s["registers"][f"1-0:{col}.6.{r}*255"]
            check(f"snapshot {i + 1} 1-0:{col}.6.{r}*255 demand", d["mw"], mw)
            check(f"snapshot {i + 1} 1-0:{col}.6.{r}*255 time", d["time"], iso_local(at))
    # 15-min load profile: each kept entry's deltas
    tot = lambda t, col: load.cum(t, col) - load.cum(t0, col)
    for e in p01["entries"]:
        t = ms(e["time"])
        a, b = t - BLOCK, t
        want = [tot(b, 1) - tot(a, 1), tot(b, 2) - tot(a, 2),
                tot(b, 1) * K // 1000 - tot(a, 1) * K // 1000,
                tot(b, 2) * K // 1000 - tot(a, 2) * K // 1000]
        check(f"P.01 {e['time']}", e["raw"], want)
    # daily profile: per-rate registers at local midnight
    daily = {}
    for e in p02["entries"]:
        daily[ms(e["time"])] = e["raw"]
    for t, raw_d in daily.items():
        r, _, _ = reference(load, t0, t)
        check(f"P.02 {iso_local(t)}", raw_d, [r[(1, 1)], r[(1, 2)], r[(2, 1)], r[(2, 2)]])
    print(f"{checks} values compared: {len(regs)} registers, {len(snaps)} billing snapshots, "
          f"{len(p01['entries'])} 15-min and {len(daily)} daily profile entries; "
          f"A+ {regs[(1, 0)] / 1e6:.3f} kWh (T1 {regs[(1, 1)] / 1e6:.3f}, T2 {regs[(1, 2)] / 1e6:.3f}), "
          f"A- {regs[(2, 0)] / 1e6:.3f} kWh")
    if problems:
        print("FAIL\n  " + "\n  ".join(problems[:30]) + (f"\n  ... {len(problems)} in all" if len(problems) > 30 else ""))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
