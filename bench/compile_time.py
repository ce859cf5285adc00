#!/usr/bin/env python3
"""Compile time: `tnsc run` of each program in examples/ at -O0 and -O2,
median of N runs (default 5), wall-clock and CPU (user + system of the
child) seconds. The machine is shared: wall time includes waiting for a
core, CPU time does not, so both are printed. Target: median wall under
0.5 s per example at -O2 (issue 11, item 10).

usage: compile_time.py TNSC [--runs N] [--levels 0,2] [--time] [FILES...]
  --time   also print the median of each stage (`tnsc run --time`) at -O2"""
import os, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def one_run(tnsc, level, path, want_stages):
    cmd = [tnsc, "run", f"-O{level}", path] + (["--time"] if want_stages else [])
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         cwd=os.path.dirname(path))
    err = p.stderr.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode:
        sys.exit(f"compile_time: {' '.join(cmd)} failed ({p.returncode}):\n{err}")
    stages = {m.group(1).strip(): float(m.group(2))
              for m in re.finditer(r"tnsc: time (.+?)\s+([0-9.]+) ms", err)}
    return wall, ru.ru_utime + ru.ru_stime, stages


def main(argv):
    tnsc = os.path.abspath(argv[1])
    runs, levels, want_stages, files = 5, [0, 2], False, []
    i = 2
    while i < len(argv):
        if argv[i] == "--runs": runs = int(argv[i + 1]); i += 1
        elif argv[i] == "--levels": levels = [int(x) for x in argv[i + 1].split(",")]; i += 1
        elif argv[i] == "--time": want_stages = True
        else: files.append(os.path.abspath(argv[i]))
        i += 1
    if not files:
        ex = os.path.join(HERE, "..", "examples")
        files = sorted(os.path.abspath(os.path.join(ex, f)) for f in os.listdir(ex) if f.endswith(".tns"))
    head = "".join(f"{'-O%d wall' % l:>11}{'cpu':>7}" for l in levels)
    print(f"compile time, `tnsc run`, median of {runs} (seconds)")
    print(f"{'example':<24}{head}")
    worst = {l: (0, "") for l in levels}
    stage_rows = []
    for f in files:
        line = f"{os.path.basename(f):<24}"
        for l in levels:
            res = [one_run(tnsc, l, f, want_stages and l == max(levels)) for _ in range(runs)]
            w = statistics.median(r[0] for r in res)
            c = statistics.median(r[1] for r in res)
            line += f"{w:>11.3f}{c:>7.3f}"
            worst[l] = max(worst[l], (w, os.path.basename(f)))
            if want_stages and l == max(levels):
                keys = res[0][2].keys()
                stage_rows.append((os.path.basename(f), {k: statistics.median(r[2].get(k, 0) for r in res) for k in keys}))
        print(line, flush=True)
    for l in levels:
        print(f"-O{l}: slowest median {worst[l][0]:.3f} s ({worst[l][1]})" + ("  (target < 0.5 s)" if l == 2 else ""))
    for name, st in stage_rows:
        print(f"{name} at -O{max(levels)}, ms: " + ", ".join(f"{k} {v:.1f}" for k, v in st.items() if k != "total"))


if __name__ == "__main__":
    main(sys.argv)
