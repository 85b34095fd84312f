#!/usr/bin/env python3
"""kill -9 test of metersim's persistence (DESIGN.md: "kill -9 at any moment loses
nothing that the meter had committed").

metersim runs the OPSD household with --state and an accelerated clock (10 simulated
hours per second), so billing resets and events happen while it runs. A reader polls
the control API; at a random moment the process is killed with SIGKILL and restarted
with the same arguments. After every restart:
  - no energy register and no billing counter is below what was read before the kill;
  - every event read before the kill is still there, unchanged;
  - every load-profile entry read before the kill is still there, unchanged;
  - every billing snapshot read before the kill is still there, unchanged.
Supply outages and clock sets are injected along the way so that the restored state
includes epochs of each kind. Runs KILLS times (default 100; env MS_KILLS).
Loopback only; every process is stopped by its PID.
"""
import os
import random
import sys
import tempfile
import time

import metersim_proc

DATA = os.environ.get("MS_SHARED_DATA", "../shared/data")
CSV = os.path.join(DATA, "consumption", "opsd_household_konstanz",
                   "household_data_60min_singleindex_2017_residential4.csv")
KILLS = int(os.environ.get("MS_KILLS", "100"))
ENERGY = [f"1-0:{c}.8.{e}*255" for c in (1, 2, 3, 4) for e in (0, 1, 2)]


def start(state):
    """metersim on the household with the state file, 10 simulated hours a second."""
    return metersim_proc.Meter("--state", state, start="2016-01-28T00:00:00Z", load=CSV,
                               clock="x36000", pty=False)


def snapshot(m):
    path = f"/meters/{m.id}"
    s = m.get(path)
    regs = {r["obis"]: r["raw"] for r in s["registers"] if r["obis"] in ENERGY}
    events = m.get(f"{path}/events")
    prof = m.get(f"{path}/profiles/P.01?max=24")["entries"]
    bill = m.get(f"{path}/billing")["snapshots"]
    return {"regs": regs, "billing": s["billing"]["counter"], "events": events,
            "profile": prof, "snapshots": bill, "time": s["clock"]["sim_time"]}


def main():
    if not os.path.exists(CSV):
        sys.exit(f"missing third-party data {CSV} (set MS_SHARED_DATA)")
    rng = random.Random(int(os.environ.get("MS_SEED", "62056")))
    tmp = tempfile.mkdtemp(prefix="ms-kill-")
    state = os.path.join(tmp, "meter.db")
    seen_regs, seen_billing = {}, 0
    seen_events, seen_profile, seen_snapshots = {}, {}, {}
    problems = []
    m = None
    try:
        for i in range(KILLS):
            m = start(state)
            # After the restart: nothing observed before may be missing or smaller.
            now = snapshot(m)
            for k, v in seen_regs.items():
                if now["regs"].get(k, -1) < v:
                    problems.append(f"kill {i}: {k} went back from {v} to {now['regs'].get(k)}")
            if now["billing"] < seen_billing:
                problems.append(f"kill {i}: billing counter went back {seen_billing} -> {now['billing']}")
            for log, evs in now["events"].items():
                have = {e["seq"]: e for e in evs["events"]}
                for seq, e in seen_events.get(log, {}).items():
                    if seq >= evs["total"] - evs["kept"] and have.get(seq) != e:
                        problems.append(f"kill {i}: {log} event {seq} lost or changed: {e} -> {have.get(seq)}")
            entries = m.get(f"/meters/{m.id}/profiles/P.01?max=100000")["entries"]
            # A clock set back makes capture times repeat: every entry seen with a time
            # must be among the entries now kept with that time.
            have = {}
            for e in entries:
                have.setdefault(e["time"], []).append(e)
            kept_from = len(entries) - int(os.environ.get("MS_PROFILE_CAPACITY", 96 * 62))
            oldest = entries[max(kept_from, 0)]["time"] if entries else None
            for (t, st, raw), e in seen_profile.items():
                if oldest and t >= oldest and e not in have.get(t, []):
                    problems.append(f"kill {i}: profile entry {t} lost or changed: {e} -> {have.get(t)}")
            snaps = {b["counter"]: b for b in now["snapshots"]}
            for c, b in seen_snapshots.items():
                if c in snaps and snaps[c] != b:
                    problems.append(f"kill {i}: billing snapshot {c} changed")
                if c not in snaps and c > now["billing"] - 15:
                    problems.append(f"kill {i}: billing snapshot {c} lost")
            if len(problems) > 10:
                break
            # Run, observe, sometimes disturb, then kill at a random moment.
            deadline = time.monotonic() + rng.uniform(0.05, 0.45)
            while time.monotonic() < deadline:
                if rng.random() < 0.08:
                    status, r = m.call("POST", f"/meters/{m.id}/outage",
                                       {"duration_s": rng.randint(60, 7200)})
                    if status not in (200, 409):  # 409: an outage is running
                        problems.append(f"kill {i}: outage refused: {status} {r}")
                elif rng.random() < 0.04:
                    status, r = m.call("POST", f"/meters/{m.id}/clock",
                                       {"jump_s": rng.randint(-1800, 1800)})
                    if status != 200:
                        problems.append(f"kill {i}: clock jump refused: {status} {r}")
                s = snapshot(m)
                for k, v in s["regs"].items():
                    seen_regs[k] = max(seen_regs.get(k, 0), v)
                seen_billing = max(seen_billing, s["billing"])
                for log, evs in s["events"].items():
                    seen_events.setdefault(log, {}).update({e["seq"]: e for e in evs["events"]})
                seen_profile.update({(e["time"], e["status"], tuple(e["raw"])): e for e in s["profile"]})
                seen_snapshots.update({b["counter"]: b for b in s["snapshots"]})
            m.kill()
            m = None
        events = sum(len(v) for v in seen_events.values())
        print(f"{KILLS} kills; last sim time {now['time']}; {seen_billing} billing resets, "
              f"{events} events, {len(seen_profile)} profile entries checked; "
              f"A+ {seen_regs.get('1-0:1.8.0*255', 0) / 1e6:.3f} kWh")
    finally:
        if m is not None:
            m.kill()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    if problems:
        print("FAIL\n  " + "\n  ".join(problems[:20]))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
