#!/usr/bin/env python3
"""Structured linear algebra (passes/kronla.c), -O2 against -O0 (dense).

usage: linalg.py TNSC [--programs N] [--seed S]

Each random program draws 2-3 symmetric positive definite factors (sizes
1-4, X X^T + n I, so that the condition numbers stay small) and calls
solve / logdet / det / slogdet / eigh / inv / cholesky on
  kron(F1, .., Fk)                                  written directly or named,
  kron(..) + s * eye(..)                            or K[r, c] = kron(..)[r, c] + s * f64(r == c),
  kron(F1, eye, ..) + kron(eye, F2, ..) + ..        a Kronecker sum (+ s * eye),
with a vector or a matrix right-hand side, at top level, inside a loop or
inside a function with symbolic sizes, in f64 (1e-9 relative) or f32
(1e-3). Every result is printed as a weighted sum at full precision and
the two levels must agree. `tnsc explain` must list one structured
decision per call, so a test that silently fell back to the dense path
fails. Some programs use a non-symmetric factor in an eigh form: -O2 must
take the dense path at run time and still agree.
Prints one line per failure, then `N passed, N failed`."""
import os
import random
import re
import subprocess
import sys
import tempfile

NUM = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?|nan|inf")


class Prog:
    def __init__(self, rng, elem):
        self.rng, self.elem, self.lines, self.outs, self.seed = rng, elem, [], [], 0
        self.calls = 0
        self.fallback = False

    def fresh(self):
        self.seed += 1
        return self.seed

    def spd(self, name, n, symmetric=True):
        e = self.elem
        self.lines.append(f"X{name} = randn({e}[{n}, {n}], {self.fresh()})")
        if symmetric:
            self.lines.append(f"{name}[i, j] = X{name}[i, k] * X{name}[j, k] + {e}({n}) * {e}(i == j)")
        else:
            self.lines.append(f"{name}[i, j] = X{name}[i, j] + {e}({n} + 2) * {e}(i == j)")
            self.fallback = True

    def eye(self, n):
        return f"eye({self.elem}[{n}, {n}])"


def kron_expr(p, s, names, sizes, form):
    """The matrix, as an expression or a name bound before; returns (expr, size)."""
    N = 1
    for n in sizes:
        N *= n
    e = p.elem
    kr = f"kron({', '.join(names)})"
    if form == "kron":
        return kr, N
    shift = round(p.rng.uniform(0.1, 2.0), 2)
    if form == "shifted":
        return f"{kr} + {e}({shift}) * {p.eye(N)}", N
    if form == "indexed":
        p.lines.append(f"M{s}[r, c] = {kr}[r, c] + {e}({shift}) * {e}(r == c)")
        return f"M{s}", N
    # a Kronecker sum, shifted or not
    terms = []
    for t in range(len(names)):
        fs = [names[u] if u == t else p.eye(sizes[u]) for u in range(len(names))]
        terms.append(f"kron({', '.join(fs)})")
    x = " + ".join(terms)
    if form == "sum_shifted":
        x += f" + {e}({shift}) * {p.eye(N)}"
    return x, N


def block(p, s):
    rng, e = p.rng, p.elem
    k = rng.randint(2, 3)
    sizes = [rng.randint(1, 4) for _ in range(k)]
    names = [f"F{s}_{t}" for t in range(k)]
    form = rng.choice(["kron", "kron", "shifted", "indexed", "sum", "sum_shifted"])
    eig = form != "kron"
    bad = eig and rng.random() < 0.15
    for t, (nm, n) in enumerate(zip(names, sizes)):
        p.spd(nm, n, symmetric=not (bad and t == 0 and n > 1))
    K, N = kron_expr(p, s, names, sizes, form)
    if form != "indexed" and rng.random() < 0.4:
        p.lines.append(f"M{s} = {K}")
        K = f"M{s}"
    ops = ["solve", "solve_mat", "logdet", "eigh", "matvec", "det", "slogdet"] + (["inv", "cholesky"] if form == "kron" else [])
    op = rng.choice(ops)
    where = rng.choice(["top", "top", "loop", "function", "passed"]) if op.startswith("solve") else "top"
    if op == "solve_mat":
        p.lines.append(f"B{s} = randn({e}[{N}, 2], {p.fresh()})")
    else:
        p.lines.append(f"b{s} = randn({e}[{N}], {p.fresh()})")
    if op in ("solve", "solve_mat"):
        rhs = f"B{s}" if op == "solve_mat" else f"b{s}"
        if where == "loop":
            p.lines.append(f"y{s} = zeros({e}[{N}{', 2' if op == 'solve_mat' else ''}])")
            p.lines.append(f"for it in 0..2 {{\n  z{s} = solve({K}, {rhs})\n  y{s} = z{s}\n}}")
        elif where == "function" and form in ("kron", "shifted", "indexed"):
            params = ", ".join(f"A{t}: {e}[n{t}, n{t}]" for t in range(k))
            dims = "*".join(f"n{t}" for t in range(k))
            fac = ", ".join(f"A{t}" for t in range(k))
            rshape = f"{e}[{dims}, 2]" if op == "solve_mat" else f"{e}[{dims}]"
            body = f"kron({fac})" if form == "kron" else f"kron({fac}) + s * eye({e}[{dims}, {dims}])"
            p.lines.insert(0, f"def g{s}({params}, b: {rshape}, s: {e}) -> {rshape} {{\n"
                              f"  return solve({body}, b)\n}}")
            p.lines.append(f"y{s} = g{s}({', '.join(names)}, {rhs}, {e}(0.5))")
            if form == "indexed":   # the function spells it with eye()
                pass
        elif where == "passed":   # the matrix passed to a function: inlined (passes/kroninline.c)
            rshape = f"{e}[n, 2]" if op == "solve_mat" else f"{e}[n]"
            if rng.random() < 0.5:
                p.lines.insert(0, f"def h{s}(K: {e}[n, n], b: {rshape}) -> {rshape} {{\n  return solve(K, b)\n}}")
                p.lines.append(f"y{s} = h{s}({K}, {rhs})")
            else:   # an early return: the solve lands in the if's other path
                p.lines.insert(0, f"def h{s}(K: {e}[n, n], b: {rshape}, t: i64) -> {rshape} {{\n"
                                  f"  if t > 0 {{\n    return b\n  }}\n  return solve(K, b)\n}}")
                p.lines.append(f"y{s} = h{s}({K}, {rhs}, 0)")
            p.calls += 1   # the inlined call's record too
        else:
            p.lines.append(f"y{s} = solve({K}, {rhs})")
        p.outs.append((f"y{s}", 2 if op == "solve_mat" else 1))
    elif op == "matvec":   # the sum read in a contraction, one term at a time
        if not K.startswith("M"):
            p.lines.append(f"M{s} = {K}")
        p.lines.append(f"y{s}[r] = M{s}[r, c] * b{s}[c]")
        p.lines.append(f"t{s}[c] = b{s}[c] - b{s}[r] * M{s}[r, c] * {e}(2)")
        p.outs.append((f"y{s}", 1))
        p.outs.append((f"t{s}", 1))
        p.calls += 1 if form != "kron" else -1   # kron alone: the structure pass's (no algebra record)
    elif op == "eigh":   # eigenvalues in order; the vectors through V diag(w) V^T
        p.lines.append(f"w{s}, V{s} = eigh({K})")
        p.lines.append(f"y{s}[r, c] = V{s}[r, a] * w{s}[a] * V{s}[c, a]")
        p.outs.append((f"w{s}", 1))
        p.outs.append((f"y{s}", 2))
    elif op == "det":
        p.lines.append(f"y{s} = det({K})")
        p.outs.append((f"y{s}", 0))
    elif op == "slogdet":
        p.lines.append(f"ys{s}, y{s} = slogdet({K})")
        p.outs.append((f"ys{s}", 0))
        p.outs.append((f"y{s}", 0))
    elif op == "logdet":
        p.lines.append(f"y{s} = logdet({K})")
        p.outs.append((f"y{s}", 0))
    else:
        p.lines.append(f"y{s} = {op}({K})")
        p.outs.append((f"y{s}", 2))
    p.calls += 1


def program(rng):
    p = Prog(rng, "f32" if rng.random() < 0.2 else "f64")
    for s in range(4):
        block(p, s)
    for o, rank in p.outs:
        if rank == 0:
            p.lines.append(f"print({o})")
        elif rank == 1:
            p.lines.append(f"print(sum(r: {o}[r] * {p.elem}(r % 5 + 1)))")
        else:
            p.lines.append(f"print(sum(r, q: {o}[r, q] * {p.elem}((7 * r + q) % 11 + 1)))")
    return p, "\n".join(p.lines) + "\n"


def numbers(text):
    return [float(v) for v in NUM.findall(text)]


def check(tnsc, path, p):
    res = {o: subprocess.run([tnsc, "run", o, path], capture_output=True, text=True, timeout=120)
           for o in ("-O0", "-O2")}
    if res["-O0"].returncode or res["-O2"].returncode:
        return f"exit {res['-O0'].returncode}/{res['-O2'].returncode}: {res['-O2'].stderr[:300]}"
    a, b = numbers(res["-O0"].stdout), numbers(res["-O2"].stdout)
    if len(a) != len(b) or not a:
        return f"{len(a)} numbers at -O0, {len(b)} at -O2"
    tol = 1e-3 if p.elem == "f32" else 1e-9
    for x, y in zip(a, b):
        if abs(x - y) > tol * max(1.0, abs(x)):
            return f"-O0 {x!r} and -O2 {y!r} differ by more than {tol}"
    ex = subprocess.run([tnsc, "explain", path], capture_output=True, text=True, timeout=120)
    n = ex.stdout.count("the dense matrix is not") + ex.stdout.count(" inlined: ")
    if n < p.calls:
        return f"explain lists {n} structured calls, expected {p.calls}:\n{ex.stdout}"
    return None


def main():
    tnsc = os.path.abspath(sys.argv[1])
    nprog = int(sys.argv[sys.argv.index("--programs") + 1]) if "--programs" in sys.argv else 30
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1313
    rng = random.Random(seed)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        for i in range(nprog):
            p, src = program(rng)
            path = os.path.join(d, f"l{i}.tns")
            with open(path, "w") as f:
                f.write(src)
            bad = check(tnsc, path, p)
            if bad:
                failed += 1
                print(f"FAIL program {i}: {bad}\n{src}")
            else:
                passed += 1
    print(f"kron_linalg: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
