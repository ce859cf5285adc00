#!/usr/bin/env python3
"""Random Kronecker / Khatri-Rao programs, -O2 (structure pass: factors
read, products not built) against -O0 (the dense meaning).

usage: random_kron.py TNSC [--programs N] [--seed S]

Each program draws factors (2-3 of them, sizes 1-4) and uses kron and
khatri_rao results in random ways: indexed directly or through a name,
matrix-vector and matrix-matrix products, the mixed product of two Kronecker
products, grouped reads K[(i, k), c], traces K[i, i], sums over rows, reads
next to elementwise uses (which keep the product dense), inside a loop.
A weighted sum of every result is printed at full precision; the two levels must agree to
1e-9 relative. Prints one line per failure, then `N passed, N failed`."""
import random
import re
import subprocess
import sys
import tempfile
import os

NUM = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?|nan|inf")


def dims(rng, n):
    return [(rng.randint(1, 4), rng.randint(1, 4)) for _ in range(n)]


def program(rng):
    lines, outs, seed = [], [], [1]

    def mat(shape):
        seed[0] += 1
        return f"randn(f64[{shape[0]}, {shape[1]}], {seed[0]})"

    for s in range(6):
        nf = rng.randint(2, 3)
        fs = dims(rng, nf)
        names = []
        for t, d in enumerate(fs):
            nm = f"F{s}_{t}"
            lines.append(f"{nm} = {mat(d)}")
            names.append(nm)
        rows = 1
        cols = 1
        for a, b in fs:
            rows, cols = rows * a, cols * b
        kr = f"kron({', '.join(names)})"
        named = rng.random() < 0.5
        K = f"K{s}" if named else kr
        if named:
            lines.append(f"K{s} = {kr}")
        kind = rng.choice(["matvec", "matmat", "trace", "rowsum", "grouped", "mixed", "loop", "dense"])
        seed[0] += 1
        if kind == "matvec":
            lines.append(f"x{s} = randn(f64[{cols}], {seed[0]})")
            lines.append(f"y{s}[r] = {K}[r, c] * x{s}[c]")
        elif kind == "matmat":
            lines.append(f"X{s} = randn(f64[{cols}, 3], {seed[0]})")
            lines.append(f"y{s}[r, q] = {K}[r, c] * X{s}[c, q]")
        elif kind == "trace" and rows == cols:
            lines.append(f"y{s} = {K}[i, i]")
        elif kind == "rowsum":
            lines.append(f"y{s}[r] = sum(c: {K}[r, c])")
        elif kind == "grouped":
            a0, b0 = fs[0]
            ra, ca = rows // a0, cols // b0
            lines.append(f"x{s} = randn(f64[{ca}], {seed[0]})")
            lines.append(f"y{s}[i, c] = {K}[(i: {a0}, k), (c: {b0}, l)] * x{s}[l]")
        elif kind == "mixed":
            gs = [(b, rng.randint(1, 3)) for _, b in fs]
            gn = []
            for t, d in enumerate(gs):
                nm = f"G{s}_{t}"
                lines.append(f"{nm} = {mat(d)}")
                gn.append(nm)
            gcols = 1
            for _, b in gs:
                gcols *= b
            seed[0] += 1
            lines.append(f"x{s} = randn(f64[{gcols}], {seed[0]})")
            lines.append(f"y{s}[r] = {K}[r, t] * kron({', '.join(gn)})[t, c] * x{s}[c]")
        elif kind == "loop":
            lines.append(f"x{s} = randn(f64[{cols}], {seed[0]})")
            lines.append(f"y{s} = zeros(f64[{rows}])")
            lines.append(f"for it in 0..2 {{\n  y{s}[r] += {K}[r, c] * x{s}[c] * f64(it + 1)\n}}")
        else:
            lines.append(f"x{s} = randn(f64[{cols}], {seed[0]})")
            lines.append(f"y{s}[r] = {K}[r, c] * x{s}[c] + {K}[r, 0]")
        rank = {"matmat": 2, "grouped": 2, "trace": 0}.get(kind, 1)
        if kind == "trace" and rows != cols:
            rank = 1
        outs.append((f"y{s}", rank))
    # khatri_rao read in a contraction
    seed[0] += 1
    lines.append(f"B = randn(f64[3, 4], {seed[0]})\nC = randn(f64[2, 4], {seed[0] + 1})")
    lines.append(f"w = randn(f64[4], {seed[0] + 2})\nz[i] = khatri_rao(B, C)[i, r] * w[r]")
    outs.append(("z", 1))
    # one weighted sum per result, printed at full precision
    for o, rank in outs:
        if rank == 0:
            lines.append(f"print({o})")
        elif rank == 1:
            lines.append(f"print(sum(r: {o}[r] * f64(r + 1)))")
        else:
            lines.append(f"print(sum(r, q: {o}[r, q] * f64(7 * r + q + 1)))")
    return "\n".join(lines) + "\n"


def numbers(text):
    return [float(v) for v in NUM.findall(text)]


def main():
    tnsc = os.path.abspath(sys.argv[1])
    nprog = int(sys.argv[sys.argv.index("--programs") + 1]) if "--programs" in sys.argv else 30
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 13013
    rng = random.Random(seed)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        for p in range(nprog):
            src = program(rng)
            path = os.path.join(d, f"k{p}.tns")
            with open(path, "w") as f:
                f.write(src)
            res = {}
            for o in ("-O0", "-O2"):
                r = subprocess.run([tnsc, "run", o, path], capture_output=True, text=True, timeout=120)
                res[o] = r
            bad = None
            if res["-O0"].returncode or res["-O2"].returncode:
                bad = f"exit {res['-O0'].returncode}/{res['-O2'].returncode}: {res['-O2'].stderr[:300]}"
            else:
                a, b = numbers(res["-O0"].stdout), numbers(res["-O2"].stdout)
                if len(a) != len(b) or not a:
                    bad = f"{len(a)} numbers at -O0, {len(b)} at -O2"
                else:
                    scale = max(1.0, max(abs(v) for v in a))
                    worst = max(abs(x - y) for x, y in zip(a, b)) / scale
                    if worst > 1e-9:
                        bad = f"-O0 and -O2 differ by {worst:.3g} (relative to the largest value)"
            if bad:
                failed += 1
                print(f"FAIL program {p}: {bad}\n{src}")
            else:
                passed += 1
    print(f"random_kron: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
