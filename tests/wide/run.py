#!/usr/bin/env python3
"""Wide functions (issue 15): a function with N scalar parameters must
compile and run at -O0 and -O2, and its compile time must grow about
linearly with N.

History: 2,000 parameters took 8.2 s at -O0 while LLJIT generated code at
its default level (the machine scheduler is quadratic in a block's
length); the JIT now uses the -O level's code generation level. At -O2,
2,000 parameters still took 4.6 s and 4,000 about 27 s: every incoming
argument stayed live from the entry across the blocks of all the argument
checks (live intervals and greedy allocation quadratic), and
CalledValuePropagation is quadratic in a call's argument count. Arguments
are now stored to slots at entry, and a module with nothing heavy skips
the LLVM pipeline: 0.7 s and 1.5 s.

The scaling check compares N and 2N at -O2 (the best of three runs each,
in CPU time of the compiler process, which other work on a shared machine
disturbs far less than wall time does): the larger may take at most 3.5
times as long (it was 5.8 times; linear is 2). Usage: run.py TNSC [N]"""
import os, resource, subprocess, sys, tempfile

tnsc = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000


def program(d, n):
    params = ", ".join(f"x{i}: f64" for i in range(n))
    body = " + ".join(f"x{i}" for i in range(n))
    args = ", ".join(str(i % 3) + ".0" for i in range(n))
    path = os.path.join(d, f"wide{n}.tns")
    with open(path, "w") as f:
        f.write(f"def f({params}) -> f64 {{\n  return {body}\n}}\nprint(f({args}))\n")
    return path, float(sum(i % 3 for i in range(n)))


def cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def run(path, want, opt):
    t0 = cpu()
    r = subprocess.run([tnsc, "run", opt, path], capture_output=True, text=True)
    t = cpu() - t0
    if r.returncode != 0 or float(r.stdout.strip() or "nan") != want:
        print(f"FAIL: {path} {opt}: exit {r.returncode}\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return t


with tempfile.TemporaryDirectory() as d:
    small, want_small = program(d, n)
    large, want_large = program(d, 2 * n)
    run(small, want_small, "-O0")
    ts = min(run(small, want_small, "-O2") for _ in range(3))
    tl = min(run(large, want_large, "-O2") for _ in range(3))
    print(f"-O2: {n} parameters {ts:.2f} s, {2 * n} parameters {tl:.2f} s ({tl / ts:.1f}x)")
    if tl > 3.5 * ts:
        print(f"FAIL: compile time grows faster than linearly ({tl / ts:.1f}x for twice the parameters)")
        sys.exit(1)
print(f"ok: functions with {n} and {2 * n} parameters")
