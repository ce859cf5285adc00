#!/usr/bin/env python3
"""Stronger peers than numpy: the workloads where Eigen 3.4's hand-written
forms (bench/eigen_peers.cpp: fixed-size 4x4 products, the Kronecker vec
trick) beat numpy, against the same workloads compiled by tnsc
(bench/workloads.tns, called by bench/peers_tnsc.c the way Eigen's program
calls its own: one call repeated, median of 15). The two programs run in
alternation, three rounds each, 1 thread; the table gives the median of
the rounds' medians.

usage: peers.py TNSC [--docs]   --docs rewrites the table in docs/performance.md"""
import os, shutil, statistics, subprocess, sys, tempfile

import charts

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(os.path.dirname(HERE), "docs", "performance.md")
BEGIN, END = "<!-- performance-peers:begin -->", "<!-- performance-peers:end -->"
ROUNDS = 3


def build(tnsc, out):
    """The two programs; None (and the reason printed) when Eigen or a
    compiler is missing."""
    if not os.path.exists("/usr/include/eigen3/Eigen/Dense") or not shutil.which("g++"):
        print("peers: Eigen 3 (libeigen3-dev) or g++ is not installed; skipped")
        return None
    lib = os.path.join(out, "libworkloads.so")
    subprocess.check_call([tnsc, "lib", os.path.join(HERE, "workloads.tns"), "-o", lib, "--target-cpu=native"])
    eig, drv = os.path.join(out, "eigen_peers"), os.path.join(out, "peers_tnsc")
    subprocess.check_call(["g++", "-O3", "-march=native", "-DNDEBUG", "-I/usr/include/eigen3",
                           os.path.join(HERE, "eigen_peers.cpp"), "-o", eig])
    subprocess.check_call(["gcc", "-O2", os.path.join(HERE, "peers_tnsc.c"), "-o", drv, "-ldl", "-lm"])
    return [drv, lib], [eig]


def run(cmd):
    env = dict(os.environ, TNS_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return {name: float(ms) for name, ms in (line.split("\t") for line in res.stdout.strip().splitlines())}


def main(argv):
    tnsc = os.path.abspath(argv[1])
    out = tempfile.mkdtemp()
    progs = build(tnsc, out)
    if not progs:
        return 0
    load = [os.getloadavg()[0]]
    times = {"tnsc": {}, "eigen": {}}
    for _ in range(ROUNDS):
        for who, cmd in zip(("tnsc", "eigen"), progs):
            for name, ms in run(cmd).items():
                times[who].setdefault(name, []).append(ms)
    load.append(os.getloadavg()[0])
    rows = []
    print(f"{'workload':<30}{'tnsc ms':>10}{'Eigen ms':>10}{'Eigen / tnsc':>14}")
    for name, ts in times["tnsc"].items():
        t, e = statistics.median(ts), statistics.median(times["eigen"].get(name, [float("nan")]))
        rows.append((name, t, e))
        print(f"{name:<30}{t:>10.3f}{e:>10.3f}{e / t:>13.2f}x")
    if "--docs" in argv:
        lines = [BEGIN, "",
                 f"Measured by `make bench` (bench/peers.py --docs), {charts.cpu_name()}, 1 thread; "
                 f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end. Both sides repeat one "
                 f"call (3 warm-up runs, median of 15) in their own process, alternating, {ROUNDS} rounds; "
                 "the median of the rounds. Ratio above 1: tnsc is faster.", "",
                 "| workload | tnsc ms | Eigen 3.4 ms | Eigen / tnsc |", "|---|---:|---:|---:|"]
        lines += [f"| {n} | {t:.3f} | {e:.3f} | {e / t:.2f}× |" for n, t, e in rows]
        lines += ["", END]
        charts.write_between(DOC, BEGIN, END, lines)
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
