#!/usr/bin/env python3
"""A function with 2,000 parameters (issue 15): it must compile and run.
It took 8.2 s at -O0 while LLJIT generated code at its default level (the
machine scheduler is quadratic in a block's length); the JIT now uses the
-O level's code generation level. Not a timed test: it must just work.
Usage: run.py TNSC [N]"""
import os, subprocess, sys, tempfile

tnsc = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
params = ", ".join(f"x{i}: f64" for i in range(n))
body = " + ".join(f"x{i}" for i in range(n))
args = ", ".join(str(i % 3) + ".0" for i in range(n))
want = float(sum(i % 3 for i in range(n)))
src = f"def f({params}) -> f64 {{\n  return {body}\n}}\nprint(f({args}))\n"
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "wide.tns")
    with open(path, "w") as f:
        f.write(src)
    r = subprocess.run([tnsc, "run", "-O0", path], capture_output=True, text=True)
    if r.returncode != 0 or float(r.stdout.strip()) != want:
        print(f"FAIL: {n} parameters: exit {r.returncode}\n{r.stdout}{r.stderr}")
        sys.exit(1)
print(f"ok: a function with {n} parameters")
