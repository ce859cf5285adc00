#!/usr/bin/env python3
"""tnsc explain [--json]: the path, its steps (kind, layout, shape, FLOPs,
transposed copies) and costs, checked against costs computed here in
opt_einsum's convention. usage: run.py TNSC"""
import json, os, subprocess, sys, tempfile

PROGRAM = """\
def transform4(A: f64[n, n, n, n], C: f64[n, n]) -> f64[n, n, n, n] {
  B[a, b, c, d] = C[p, a] * C[q, b] * C[r, c] * C[s, d] * A[p, q, r, s]
  return B
}
def permuted(A: f64[8, 9, 10, 11], B: f64[11, 9, 12, 13]) -> f64[8, 10, 12, 13] {
  C[a, x, y, t] = A[a, v, x, u] * B[u, v, y, t]
  return C
}
def chain(A: f64[10, 30], B: f64[30, 5], C: f64[5, 60]) -> f64[10, 60] {
  M[i, l] = A[i, j] * B[j, k] * C[k, l]
  return M
}
"""

WHERE_PROGRAM = """\
A = randn(f64[30, 20], 1)
B = randn(f64[20, 10], 2)
C = randn(f64[10, 5], 3)
D[i, l] = where(i > 2, A[i, j] * B[j, k] * C[k, l], 0.0)
E[i, l] = A[i, j] * B[j, k] * C[k, l]
"""

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)


def main():
    tnsc = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "prog.tns")
        with open(path, "w") as f:
            f.write(PROGRAM)
        js = json.loads(subprocess.run([tnsc, "explain", "--json", path], check=True, capture_output=True,
                                       text=True).stdout)
        txt = subprocess.run([tnsc, "explain", path], check=True, capture_output=True, text=True).stdout
    st = {s["line"]: s for s in js["statements"]}
    check(sorted(st) == [2, 6, 10], f"statement lines {sorted(st)}")

    t4 = st[2]
    check(t4["target"] == "B" and t4["operands"] == ["C", "C", "C", "C", "A"], f"transform4 operands {t4}")
    check([s["kind"] for s in t4["steps"]] == ["GEMM", "batched GEMM", "batched GEMM", "GEMM"],
          f"transform4 kinds {[s['kind'] for s in t4['steps']]}")
    check(all(s["copies"] == 0 for s in t4["steps"]), "transform4 needs no copy")
    # symbolic n counted as 64: four steps of 2 n^5
    check(all(s["flops"] == 2 * 64**5 for s in t4["steps"]), f"transform4 step flops {[s['flops'] for s in t4['steps']]}")
    check(t4["flops"] == 4 * 2 * 64**5 and t4["symbolic"], f"transform4 flops {t4['flops']}")
    check([s["result"] for s in t4["steps"]] == ["a,q,r,s", "a,b,r,s", "a,b,c,s", "a,b,c,d"],
          f"transform4 layouts {[s['result'] for s in t4['steps']]}")

    pm = st[6]
    check(pm["path"] == [[0, 1]] and pm["steps"][0]["kind"] == "GEMM", f"permuted {pm}")
    check(pm["steps"][0]["copies"] == 1, f"permuted copies {pm['steps'][0]['copies']}")
    check(pm["flops"] == 2 * 8 * 9 * 10 * 11 * 12 * 13, f"permuted flops {pm['flops']}")
    check("(+1 transposed copy)" in txt, "text form shows the copy")

    ch = st[10]
    # (A B) C: 2*10*30*5 + 2*10*5*60 = 9000; A (B C): 2*30*5*60 + 2*10*30*60 = 54000
    check(ch["path"] == [[0, 1], [0, 1]], f"chain path {ch['path']}")
    check(ch["flops"] == 9000 and not ch["symbolic"], f"chain flops {ch['flops']}")
    check(ch["naive_flops"] == 3 * 10 * 30 * 5 * 60, f"chain naive {ch['naive_flops']}")
    # opt_einsum counts the result too: 10 x 60
    check(ch["largest_intermediate"] == 600, f"chain largest {ch['largest_intermediate']}")
    check([s["shape"] for s in ch["steps"]] == ["[10, 5]", "[10, 60]"], f"chain shapes {ch['steps']}")

    # a contraction inside where(...) is lifted out: planned like the plain one
    with tempfile.TemporaryDirectory() as d:
        wpath = os.path.join(d, "where.tns")
        with open(wpath, "w") as f:
            f.write(WHERE_PROGRAM)
        js = json.loads(subprocess.run([tnsc, "explain", "--json", wpath], check=True, capture_output=True,
                                       text=True).stdout)
        wst = {s["line"]: s for s in js["statements"]}
        check(sorted(wst) == [4, 5], f"where: statement lines {sorted(wst)}")
        w, e = wst.get(4, {}), wst.get(5, {})
        check(w.get("target") == "D" and w.get("lifted") and not e.get("lifted") and w.get("path") == e.get("path")
              and w.get("flops") == e.get("flops") == 2 * 20 * 10 * 5 + 2 * 30 * 20 * 5, f"where: {w} {e}")
        wtxt = subprocess.run([tnsc, "explain", wpath], check=True, capture_output=True, text=True).stdout
        check("computed first, into a temporary" in wtxt and "where.tns:4: D" in wtxt, f"where text: {wtxt}")
        # a temporary over the memory limit is not made: listed with its naive cost
        js = json.loads(subprocess.run([tnsc, "explain", "--json", "--memory-limit=100", wpath], check=True,
                                       capture_output=True, text=True).stdout)
        wst = {s["line"]: s for s in js["statements"]}
        w = wst.get(4, {})
        check(w.get("target") == "D" and w.get("inside_where") and w.get("naive_flops") == 30 * 5 * 20 * 10
              and not w.get("symbolic"), f"where over the limit: {w}")
        wtxt = subprocess.run([tnsc, "explain", "--memory-limit=100", wpath], check=True, capture_output=True,
                              text=True).stdout
        check("contraction inside where(...)" in wtxt, f"where text over the limit: {wtxt}")

    # a repeated pairwise step reads the earlier result (4-cycles)
    with tempfile.TemporaryDirectory() as d:
        cpath = os.path.join(d, "cycles.tns")
        with open(cpath, "w") as f:
            f.write("A = randn(f64[40, 40], 1)\nw = A[i, j] * A[j, k] * A[k, l] * A[l, i]\nprint(w)\n")
        js = json.loads(subprocess.run([tnsc, "explain", "--json", cpath], check=True, capture_output=True,
                                       text=True).stdout)
        kinds = [s["kind"] for s in js["statements"][0]["steps"]]
        reuses = [s["reuses"] for s in js["statements"][0]["steps"]]
        check(kinds == ["GEMM", "reused", "loop"] and reuses == [0, 1, 0], f"cycles: {kinds} {reuses}")

    # unannotated loads: the costs use the sizes in the files' headers
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "make.tns"), "w") as f:
            f.write('save("A.npy", randn(f64[500, 40], 1))\nsave("B.npy", randn(f64[40, 600], 2))\n'
                    'save("C.npy", randn(f64[600, 3], 3))\n')
        subprocess.run([tnsc, "run", "make.tns"], check=True, cwd=d)
        with open(os.path.join(d, "loads.tns"), "w") as f:
            f.write('A = load("A.npy")\nB = load("B.npy")\nC = load("C.npy")\n'
                    'D[i, l] = A[i, j] * B[j, k] * C[k, l]\nprint(D[0, 0])\n')
        js = json.loads(subprocess.run([tnsc, "explain", "--json", "loads.tns"], check=True, capture_output=True,
                                       text=True, cwd=d).stdout)
        ld = js["statements"][0]
        # B*C first: 2*40*600*3 + 2*500*3*40 (opt_einsum's convention, as above)
        check(ld["path"] == [[1, 2], [0, 1]] and ld["flops"] == 2 * 40 * 600 * 3 + 2 * 500 * 3 * 40
              and ld["symbolic"] and ld["sizes_from_files"], f"loads: {ld}")
        txt = subprocess.run([tnsc, "explain", "loads.tns"], check=True, capture_output=True, text=True, cwd=d).stdout
        check("sizes as in the files read at compile time" in txt and "counted as 64" not in txt, f"loads text: {txt}")

    # Kronecker products: not materialised where contractions read them,
    # materialised (with the reason) where a print needs the dense tensor
    with tempfile.TemporaryDirectory() as d:
        kpath = os.path.join(d, "kron.tns")
        with open(kpath, "w") as f:
            f.write("A = randn(f64[3, 3], 1)\nB = randn(f64[2, 2], 2)\nx = randn(f64[6], 3)\n"
                    "K = kron(A, B)\ny[r] = K[r, c] * x[c]\nP = kron(B, B)\nprint(P)\n"
                    "u = randn(f64[4], 4)\nz[r] = P[r, c] * u[c]\n")
        js = json.loads(subprocess.run([tnsc, "explain", "--json", kpath], check=True, capture_output=True,
                                       text=True).stdout)
        st = {s_["target"]: s_ for s_ in js.get("structures", [])}
        check(st.get("K", {}).get("materialised") is False and st["K"]["contractions"] == 1, f"kron K: {st}")
        check(st.get("P", {}).get("materialised") is True and "print" in st["P"]["why"], f"kron P: {st}")
        ktxt = subprocess.run([tnsc, "explain", kpath], check=True, capture_output=True, text=True).stdout
        check("K: Kronecker structure, not materialised" in ktxt, f"kron text: {ktxt}")
        # a read at constant positions (print(K[2, 3])) goes through the
        # factors; one outside K keeps the dense read (its error names K)
        with open(kpath, "w") as f:
            f.write("A = randn(f64[3, 3], 1)\nB = randn(f64[2, 2], 2)\nK = kron(A, B)\nprint(K[2, 3], K[5, 0])\n"
                    "L = kron(B, B)\nprint(L[1, 0])\ni = 1\nprint(L[i, 0])\n")
        js = json.loads(subprocess.run([tnsc, "explain", "--json", kpath], check=True, capture_output=True,
                                       text=True).stdout)
        st = {s_["target"]: s_ for s_ in js.get("structures", [])}
        check(st.get("K", {}).get("materialised") is False and st["K"]["contractions"] == 2, f"kron K[2, 3]: {st}")
        check(st.get("L", {}).get("materialised") is True and "line 8" in st["L"]["why"], f"kron L[i, 0]: {st}")
        # structured linear algebra (passes/kronla.c): one record per call
        with open(kpath, "w") as f:
            f.write("A = [[4.0, 1.0], [1.0, 3.0]]\nB = [[2.0, 0.5], [0.5, 2.0]]\ny = [1.0, 2.0, 3.0, 4.0]\n"
                    "S[r, c] = kron(A, B)[r, c] + 0.5 * f64(r == c)\nprint(solve(S, y), logdet(S))\n"
                    "print(solve(kron(A, B), y))\n")
        js = json.loads(subprocess.run([tnsc, "explain", "--json", kpath], check=True, capture_output=True,
                                       text=True).stdout)
        alg = [s_["algebra"] for s_ in js.get("structures", []) if "algebra" in s_]
        check(len(alg) == 3 and alg[0].startswith("solve(S): a Kronecker product plus s*eye")
              and "eigh of each factor" in alg[0] and alg[1].startswith("logdet(S)")
              and "factor by factor" in alg[2], f"kron algebra: {alg}")
        ktxt = subprocess.run([tnsc, "explain", kpath], check=True, capture_output=True, text=True).stdout
        check("kron.tns:5: solve(S): a Kronecker product plus s*eye of 2 factors" in ktxt, f"kron algebra text: {ktxt}")

    for f_ in failures:
        print("FAIL:", f_)
    print(f"explain: {checks - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
