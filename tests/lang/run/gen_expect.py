#!/usr/bin/python3
"""Write the `# expect:` lines of tests/lang/run/*.tns from numpy.

Each program carries its numpy reference as comment lines starting with
`#| ` (Python, with `np` and `math` imported and numpy's default print
options). This script runs that code, captures what it prints, and
replaces the program's `# expect:` lines with it, so every expected line
comes from numpy, never from tnsc.

Usage: gen_expect.py [FILE.tns ...]     (default: every *.tns here)
       gen_expect.py --check [FILE ...] (exit 1 if a file is out of date)
Needs numpy (Debian: apt-get install python3-numpy; made with 1.24.2).
"""
import contextlib
import io
import math
import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def numpy_output(path, code):
    warnings.simplefilter("ignore")
    out = io.StringIO()
    env = {"np": np, "math": math, "__name__": "__expect__"}
    cwd = os.getcwd()
    os.chdir(os.path.dirname(os.path.abspath(path)))
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, path + " (numpy reference)", "exec"), env)
    finally:
        os.chdir(cwd)
    return out.getvalue()


def regenerate(path):
    with open(path) as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    code = "\n".join(l[3:] if l.startswith("#| ") else "" for l in lines if l.startswith("#|"))
    body = [l for l in lines if not l.startswith("# expect:")]
    if not code.strip():
        return body == lines, lines
    text = numpy_output(path, code)
    expect = ["# expect: " + l if l else "# expect:" for l in text.split("\n")[:-1]]
    # expect lines go right after the numpy block
    last = max(i for i, l in enumerate(body) if l.startswith("#|"))
    new = body[: last + 1] + expect + body[last + 1 :]
    return new == lines, new


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if a != "--check"]
    if not files:
        files = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".tns"))
    stale = 0
    for path in files:
        same, new = regenerate(path)
        if same:
            continue
        stale += 1
        if check:
            print("out of date:", path)
        else:
            with open(path, "w") as f:
                f.write("\n".join(new) + "\n")
            print("updated:", path)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
