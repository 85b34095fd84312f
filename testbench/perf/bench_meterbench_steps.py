#!/usr/bin/env python3
"""Benchmark of meterbench's per-step overhead (issue "meterbench": the closing figure).

Runs `meterbench run` on generated scenario files without a meter: one with no steps
(the fixed cost of a run and a scenario), one with N empty steps, one with N steps that
each record one measurement and one expectation; the per-step cost is the difference of
the wall times divided by N (median of --repeat runs). Each run also writes the results
document, so report building is included as it is in real runs.

usage: bench_meterbench_steps.py [--meterbench PATH] [--steps N] [--repeat K]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

BODIES = {
    "none": "",
    "empty": """
    for i = 1, N do t:step("s" .. i, function() end) end""",
    "measure": """
    for i = 1, N do
      t:step("s" .. i, function()
        t:measure("value", i, "ms"):in_range(0, N + 1)
        t:expect(i, "i"):equals(i)
      end)
    end""",
}


def scenario(kind, n):
    return f"""local N = {n}
scenario "bench {kind}" {{
  tags = {{ "bench" }},
  function(t){BODIES[kind]}
  end }}
"""


def run(mb, path, out):
    t0 = time.perf_counter()
    p = subprocess.run([mb, "run", path, "--jobs", "1", "--json", out],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"meterbench failed on {path}: {p.stderr.decode()[-500:]}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meterbench", default=os.path.join(HERE, "..", "..", "build-rel",
                                                         "testbench", "meterbench"))
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        times = {}
        for kind in BODIES:
            path = os.path.join(d, f"{kind}.lua")
            with open(path, "w") as f:
                f.write(scenario(kind, a.steps))
            times[kind] = statistics.median(
                run(a.meterbench, path, os.path.join(d, f"{kind}.json"))
                for _ in range(a.repeat))
    base = times["none"]
    print(f"meterbench {a.meterbench}, {a.steps} steps, median of {a.repeat} runs")
    print(f"  run with one scenario and no step: {base * 1e3:.1f} ms")
    for kind in ("empty", "measure"):
        per = (times[kind] - base) / a.steps
        label = "empty step" if kind == "empty" else "step with a measurement and an expectation"
        print(f"  {label}: {per * 1e6:.1f} us (total {times[kind]:.2f} s)")


if __name__ == "__main__":
    main()
