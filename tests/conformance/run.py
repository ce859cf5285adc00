#!/usr/bin/env python3
"""Einsum conformance: every case of cases.txt as a TNS program, at -O0 and -O2.

Usage: run.py TNSC [--big] [-j N] [CASE_ID ...]

Each case becomes
    T0: f64[2, 3] = [[...], ...]        (one binding per operand)
    OUT[a, c] = T0[a, b] * T1[b, c]     (the einsum as an index statement)
    save("out.npy", OUT)
    E = einsum("ab,bc->ac", T0, T1)     (the same through the builtin)
    save("out_einsum.npy", E)
run with `tnsc run -O0` and `tnsc run -O2`; the .npy files are parsed here
(pure Python) and compared with `expected`: equal values when the case is
exact, else within rtol 1e-9. When a program fails, each form is run alone
to tell which one failed. A case whose naive loop nest is out of reach
(more than BIG_COST iterations: only case 108, 2^52) runs at -O2 alone,
where contraction order makes it small; --big runs it at -O0 too.
Prints one line per failure, then `N passed, N failed` (one count per
case, level and form); exits 1 on any failure. Standard library only.
"""
import ast
import math
import os
import struct
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = ("-O0", "-O2")
RTOL = 1e-9
BIG_COST = 1e10        # naive -O0 iterations; only case 108 (2^52) is above
TIMEOUT = 120


class Case:
    def __init__(self, cid, exact):
        self.id, self.exact = cid, exact
        self.expr = ""
        self.operands = []     # (dims, values)
        self.expected = None   # (dims, values)


def parse_tensor(line):
    """`operand <rank> <dims...> : <values>` -> (dims, values)"""
    head, vals = line.split(":", 1)
    words = head.split()
    rank = int(words[1])
    dims = [int(w) for w in words[2:2 + rank]]
    return dims, [float(v) for v in vals.split()]


def read_cases(path):
    cases, cur = [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("case "):
                w = line.split()
                cur = Case(w[1], w[2] == "1")
            elif line.startswith("expr "):
                cur.expr = line[5:].strip()
            elif line.startswith("operand "):
                cur.operands.append(parse_tensor(line))
            elif line.startswith("expected "):
                cur.expected = parse_tensor(line)
            elif line == "end":
                cases.append(cur)
    return cases


def index_name(ch):
    """An einsum letter as a TNS index identifier."""
    if ch.isascii() and ch.isalpha():
        return ch
    return "i%d" % ord(ch)


def literal(dims, vals):
    """Row-major values as a nested TNS tensor literal."""
    if not dims:
        return repr(vals[0])
    step = len(vals) // dims[0] if dims[0] else 0
    return "[" + ", ".join(literal(dims[1:], vals[k * step:(k + 1) * step])
                           for k in range(dims[0])) + "]"


def access(name, letters):
    if not letters:
        return name
    return "%s[%s]" % (name, ", ".join(index_name(c) for c in letters))


FORMS = ("index", "einsum")
OUT_FILE = {"index": "out.npy", "einsum": "out_einsum.npy"}


def program(case, forms=FORMS):
    """The TNS source text for one case, with the result in each form."""
    lhs, out = case.expr.split("->")
    terms = lhs.split(",") if case.operands else []
    names = ["T%d" % k for k in range(len(case.operands))]
    lines = []
    for k, (dims, vals) in enumerate(case.operands):
        ty = "f64[%s]" % ", ".join(map(str, dims)) if dims else "f64"
        lines.append("%s: %s = %s" % (names[k], ty, literal(dims, vals)))
    if "index" in forms:
        rhs = " * ".join(access(n, t) for n, t in zip(names, terms))
        lines.append("%s = %s" % (access("OUT", out), rhs or "0.0"))
        lines.append('save("%s", OUT)' % OUT_FILE["index"])
    if "einsum" in forms:
        lines.append('E = einsum(%s)' % ", ".join(['"%s"' % case.expr] + names))
        lines.append('save("%s", E)' % OUT_FILE["einsum"])
    return "\n".join(lines) + "\n"


def naive_cost(case):
    terms = case.expr.split("->")[0].split(",") if case.operands else []
    size = {}
    for t, (dims, _) in zip(terms, case.operands):
        size.update(zip(t, dims))
    return math.prod(size.values())


def read_npy(path):
    """A little-endian f8 C-order .npy file -> (dims, values)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy file")
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack_from("<H", data, 8)[0], 10
    else:
        hlen, start = struct.unpack_from("<I", data, 8)[0], 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["descr"] != "<f8" or header["fortran_order"]:
        raise ValueError("unexpected .npy header %r" % header)
    dims = list(header["shape"])
    n = math.prod(dims)
    body = data[start + hlen:]
    if len(body) != 8 * n:
        raise ValueError("%d data bytes for %d elements" % (len(body), n))
    return dims, list(struct.unpack("<%dd" % n, body))


def compare(case, dims, vals):
    """None when the result matches, else a short reason."""
    edims, evals = case.expected
    if dims != edims:
        return "shape %s, expected %s" % (dims, edims)
    for k, (x, e) in enumerate(zip(vals, evals)):
        ok = x == e if case.exact else abs(x - e) <= RTOL * abs(e)
        if not ok:
            return "element %d is %r, expected %r%s" % (
                k, x, e, "" if case.exact else " (rtol %g)" % RTOL)
    return None


def run_tns(tnsc, case, level, forms, d):
    """Runs the case's program in d; None on success, else the failure."""
    src = os.path.join(d, "case%s.tns" % case.id)
    with open(src, "w") as f:
        f.write(program(case, forms))
    try:
        p = subprocess.run([tnsc, "run", level, src], cwd=d, capture_output=True,
                           text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % TIMEOUT
    except OSError as e:
        return "cannot run %s: %s" % (tnsc, e)
    if p.returncode < 0:
        return "killed by signal %d" % -p.returncode
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["(no message)"])[0]
        return "exit %d: %s" % (p.returncode, err)
    return None


def check_file(case, path):
    try:
        dims, vals = read_npy(path)
    except (OSError, ValueError, SyntaxError, KeyError) as e:
        return "bad %s: %s" % (os.path.basename(path), e)
    return compare(case, dims, vals)


def run_one(tnsc, case, level):
    """Runs one case at one level: [failure text or None] per form."""
    with tempfile.TemporaryDirectory(prefix="tns_conf_") as d:
        err = run_tns(tnsc, case, level, FORMS, d)
        if err is None:
            return [check_file(case, os.path.join(d, OUT_FILE[f])) for f in FORMS]
        out = []    # one form at a time, to tell which one fails
        for f in FORMS:
            err = run_tns(tnsc, case, level, (f,), d)
            out.append(err or check_file(case, os.path.join(d, OUT_FILE[f])))
        return out


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tnsc = os.path.abspath(args.pop(0))
    big = "--big" in args
    jobs = os.cpu_count() or 2
    if "-j" in args:
        jobs = int(args[args.index("-j") + 1])
        del args[args.index("-j"):args.index("-j") + 2]
    only = [a for a in args if not a.startswith("-")]
    cases = read_cases(os.path.join(HERE, "cases.txt"))
    if only:
        cases = [c for c in cases if c.id in only]
    work = []
    for c in cases:
        for level in LEVELS:
            if level == "-O0" and not big and naive_cost(c) > BIG_COST:
                print("skip %s -O0 %s...: naive loop nest of %.3g iterations (--big runs it)"
                      % (c.id, c.expr[:30], naive_cost(c)))
                continue
            work.append((c, level))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda w: run_one(tnsc, *w), work))
    passed = failed = 0
    for (c, level), whys in zip(work, results):
        for form, why in zip(FORMS, whys):
            if why is None:
                passed += 1
                continue
            failed += 1
            print("FAIL %s %s %s (%s): %s" % (c.id, level, c.expr, form, why))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
