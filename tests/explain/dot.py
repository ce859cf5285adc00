#!/usr/bin/env python3
"""tnsc explain --dot [--stmt LINE]: the contraction trees as Graphviz,
checked structurally (nodes, edges, kinds, shapes, FLOPs; the same steps
and copies as --json says), and rendered by `dot -Tsvg` when Graphviz is
installed (the structural checks run either way).
usage: dot.py TNSC"""
import json, os, re, shutil, subprocess, sys, tempfile

PROGRAM = """\
def chain(A: f64[10, 30], B: f64[30, 5], C: f64[5, 60]) -> f64[10, 60] {
  M[i, l] = A[i, j] * B[j, k] * C[k, l]
  return M
}
def permuted(A: f64[8, 9, 10, 11], B: f64[11, 9, 12, 13]) -> f64[8, 10, 12, 13] {
  C[a, x, y, t] = A[a, v, x, u] * B[u, v, y, t]
  return C
}
def transform4(A: f64[n, n, n, n], C: f64[n, n]) -> f64[n, n, n, n] {
  B[a, b, c, d] = C[p, a] * C[q, b] * C[r, c] * C[s, d] * A[p, q, r, s]
  return B
}
def pairs(X: f64[3, 5, 4], Y: f64[2, 6, 4]) -> f64[3, 2, 5, 6] {
  D[q, p, a, b] = X[q, a, c] * Y[p, b, c]
  return D
}
def scaled(A: f64[4, 6], B: f64[6, 7], C: f64[7, 3]) -> f64[4, 3] {
  E[i, l] = 0.5 * A[i, j] * B[j, k] * C[k, l]
  return E
}
x = randn(f64[30, 20], 1)
y = randn(f64[20, 10], 2)
z = randn(f64[10, 5], 3)
W[i, l] = where(i > 2, x[i, j] * y[j, k] * z[k, l], 0.0)
"""

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)


NODE = re.compile(r'^\s*(\w+) \[(.*)\];$')
EDGE = re.compile(r'^\s*(\w+) -> (\w+);$')
CLUSTER = re.compile(r'^\s*subgraph (cluster_\w+) \{$')


def parse(text):
    """{cluster: {"label": str, "nodes": {name: label}, "edges": [(a, b)]}}"""
    graphs, cur = {}, None
    for line in text.splitlines():
        m = CLUSTER.match(line)
        if m:
            cur = graphs.setdefault(m.group(1), {"label": "", "nodes": {}, "edges": []})
            continue
        if line.strip() == "}":
            cur = None
            continue
        if cur is None:
            continue
        lm = re.match(r'^\s*label="(.*)";$', line)
        if lm:
            cur["label"] = lm.group(1)
            continue
        m = NODE.match(line)
        if m:
            label = re.search(r'label="((?:[^"\\]|\\.)*)"', m.group(2))
            cur["nodes"][m.group(1)] = label.group(1).split("\\n") if label else []
            continue
        m = EDGE.match(line)
        if m:
            cur["edges"].append((m.group(1), m.group(2)))
    return graphs


def steps(g):
    return {n: l for n, l in g["nodes"].items() if l and l[0].startswith("step ")}


def copies(g):
    return {n: l for n, l in g["nodes"].items() if l and "copy" in l[0]}


def operands(g):
    return {n: l for n, l in g["nodes"].items() if re.match(r"c\d+_o\d+$", n)}


def kind(label):
    return label[0].split(": ", 1)[1]


def flops(label):
    return float(label[-1].split()[-2])


def by_line(graphs, line):
    for g in graphs.values():
        if re.search(r":%d: " % line, g["label"]):
            return g
    return None


def tree_shape(g, what):
    """Every edge joins declared nodes; each step has one in-edge per
    input; every node but the last step feeds exactly one node."""
    names = set(g["nodes"])
    check(all(a in names and b in names for a, b in g["edges"]), f"{what}: edge to an undeclared node")
    outs = {}
    for a, _ in g["edges"]:
        outs[a] = outs.get(a, 0) + 1
    sinks = [n for n in names if outs.get(n, 0) == 0]
    check(len(sinks) == 1 and (sinks[0] in steps(g) or sinks[0] in copies(g)), f"{what}: one root, got {sinks}")
    check(all(v == 1 for v in outs.values()), f"{what}: a node used twice {outs}")
    check(len(g["edges"]) == len(names) - 1, f"{what}: a tree has nodes - 1 edges")


def run(tnsc, *args, cwd=None):
    return subprocess.run([tnsc, *args], capture_output=True, text=True, cwd=cwd)


def main():
    tnsc = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "prog.tns")
        with open(path, "w") as f:
            f.write(PROGRAM)
        whole = run(tnsc, "explain", "--dot", path)
        js = json.loads(run(tnsc, "explain", "--json", path).stdout)
        one = run(tnsc, "explain", "--dot", "--stmt", "2", path)
        one_eq = run(tnsc, "explain", "--dot", "--stmt=2", path)
        none = run(tnsc, "explain", "--dot", "--stmt", "1", path)
        alone = run(tnsc, "explain", "--stmt", "2", path)
        both = run(tnsc, "explain", "--dot", "--json", path)
        bad = run(tnsc, "explain", "--dot", "--stmt", "two", path)
        # a memory limit the lifted temporary would exceed keeps the loop nest
        tight = run(tnsc, "explain", "--dot", "--memory-limit=100", path)

    check(whole.returncode == 0 and whole.stdout.startswith("digraph tns {"), f"whole program: {whole.stderr}")
    graphs = parse(whole.stdout)
    st = {s["line"]: s for s in js["statements"]}
    check(len(graphs) == len(st) == 6, f"a cluster per statement: {sorted(graphs)} / {sorted(st)}")

    # the matrix chain: (A B) C, 3000 + 6000 flops
    ch = by_line(graphs, 2) or {"nodes": {}, "edges": [], "label": ""}
    check(sorted(l[0] for l in operands(ch).values()) == ["A[i, j]", "B[j, k]", "C[k, l]"], f"chain operands {ch}")
    check(sorted(l[1] for l in operands(ch).values()) == ["[10, 30]", "[30, 5]", "[5, 60]"], f"chain operand shapes {ch}")
    ss = sorted(steps(ch).values())
    check(len(ss) == 2 and len(ch["nodes"]) == 5 and len(ch["edges"]) == 4, f"chain counts {ch}")
    check([kind(l) for l in ss] == ["GEMM", "GEMM"], f"chain kinds {ss}")
    check([flops(l) for l in ss] == [3000, 6000], f"chain flops {ss}")
    check([l[1:3] for l in ss] == [["[i, k]", "[10, 5]"], ["M[i, l]", "[10, 60]"]], f"chain results {ss}")
    check("naive 270000 flops, chosen 9000 flops" in ch["label"], f"chain label {ch['label']}")
    first = [n for n, l in ch["nodes"].items() if l and l[0] == "step 1: GEMM"]
    a_b = {ch["nodes"][a][0] for a, b in ch["edges"] if first and b == first[0]}
    check(a_b == {"A[i, j]", "B[j, k]"}, f"chain: step 1 multiplies A and B: {a_b}")
    tree_shape(ch, "chain")

    # a transposed copy of A before the GEMM, none of B
    pm = by_line(graphs, 6) or {"nodes": {}, "edges": [], "label": ""}
    cp = copies(pm)
    check([l[0] for l in cp.values()] == ["transposed copy"] and len(steps(pm)) == 1, f"permuted copies {pm}")
    cpn = next(iter(cp), None)
    src = [pm["nodes"][a][0] for a, b in pm["edges"] if b == cpn]
    check(src == ["A[a, v, x, u]"] and list(cp.values())[0][1] == "[8, 10, 11, 9]", f"permuted: A is copied: {src} {cp}")
    check(flops(list(steps(pm).values())[0]) == 2 * 8 * 9 * 10 * 11 * 12 * 13, f"permuted flops {pm}")
    tree_shape(pm, "permuted")

    # symbolic sizes: the shape and the FLOPs in the size names
    t4 = by_line(graphs, 10) or {"nodes": {}, "edges": [], "label": ""}
    ss = [l for _, l in sorted(steps(t4).items(), key=lambda kv: kv[1][0])]
    check([kind(l) for l in ss] == ["GEMM", "batched GEMM", "batched GEMM", "GEMM"], f"transform4 kinds {ss}")
    check(all(l[2] == "[n, n, n, n]" and l[3] == "2*n^5 = 2.14748e+09 flops" for l in ss), f"transform4 labels {ss}")
    check(len(operands(t4)) == 5 and len(t4["edges"]) == 8, f"transform4 counts {t4}")
    check(sorted(l[1] for l in operands(t4).values()) == ["[n, n, n, n]"] + ["[n, n]"] * 4, f"transform4 shapes {t4}")
    check("symbolic sizes counted as 64" in t4["label"], f"transform4 label {t4['label']}")
    tree_shape(t4, "transform4")

    # the product computed as [q, a, p, b], then copied into D's order
    pr = by_line(graphs, 14) or {"nodes": {}, "edges": [], "label": ""}
    cp = copies(pr)
    step = next(iter(steps(pr)), None)
    after = [b for a, b in pr["edges"] if a == step]
    check(len(cp) == 1 and after == list(cp), f"pairs: copy after the step {pr}")
    check(list(cp.values())[0][1:] == ["[3, 2, 5, 6]"] if cp else False, f"pairs: copy shape {cp}")
    tree_shape(pr, "pairs")

    # a scalar factor enters the last step
    sc = by_line(graphs, 18) or {"nodes": {}, "edges": [], "label": ""}
    scal = [n for n, l in sc["nodes"].items() if l == ["scalar"]]
    last = [n for n, l in steps(sc).items() if l[1].startswith("E[")]
    check(len(scal) == 1 and (scal[0], last[0] if last else None) in sc["edges"], f"scaled: scalar -> last step {sc}")
    tree_shape(sc, "scaled")

    # a product inside where(...) is lifted: two GEMMs, (y z) first
    wh = by_line(graphs, 24) or {"nodes": {}, "edges": [], "label": ""}
    ws = sorted(steps(wh).values())
    check([kind(l) for l in ws] == ["GEMM", "GEMM"] and sorted(flops(l) for l in ws) == [2000, 6000],
          f"where: lifted product {wh}")
    check("naive 90000 flops, chosen 8000 flops" in wh["label"], f"where: label {wh['label']}")
    # under a tight memory limit it stays the loop nest: one note, its iterations
    wt = by_line(parse(tight.stdout), 24) or {"nodes": {}, "edges": [], "label": ""}
    notes = list(wt["nodes"].values())
    check(tight.returncode == 0 and len(notes) == 1 and notes[0][0] == "contraction inside where(...)"
          and notes[0][2] == "%d loop iterations" % (30 * 5 * 20 * 10), f"where under a memory limit: {wt}")

    # every statement draws the steps and copies --json lists
    for line, s in st.items():
        g = by_line(graphs, line)
        if g is None or s.get("inside_where"):
            continue
        gs = [l for _, l in sorted(steps(g).items(), key=lambda kv: int(kv[1][0].split()[1][:-1]))]
        check([kind(l) for l in gs] == [x["kind"] for x in s["steps"]], f"line {line}: kinds {gs} vs {s['steps']}")
        check([flops(l) for l in gs] == [float("%.6g" % x["flops"]) for x in s["steps"]], f"line {line}: flops")
        check([l[-2] for l in gs] == [x["shape"] for x in s["steps"]], f"line {line}: shapes")
        check(len(copies(g)) == sum(x["copies"] for x in s["steps"]), f"line {line}: copies")
        check(len(operands(g)) == len(s["operands"]), f"line {line}: operands")

    # --stmt: only that statement
    check(one.returncode == 0 and one.stdout == one_eq.stdout, f"--stmt: {one.stderr}")
    og = parse(one.stdout)
    check(len(og) == 1 and by_line(og, 2) == ch, f"--stmt 2: {sorted(og)}")
    check(none.returncode == 1 and none.stdout == "" and "no contraction of two or more tensors at line 1" in none.stderr
          and "lines 2, 6, 10, 14, 18" in none.stderr, f"--stmt 1: {none.returncode} {none.stderr}")
    check(alone.returncode == 2 and "--stmt LINE goes with --dot" in alone.stderr, f"--stmt alone: {alone.stderr}")
    check(both.returncode == 2 and "not both" in both.stderr, f"--dot --json: {both.stderr}")
    check(bad.returncode == 2 and "line number" in bad.stderr, f"--stmt two: {bad.stderr}")

    # Graphviz accepts it
    dot = shutil.which("dot")
    if dot:
        for what, text in (("whole program", whole.stdout), ("--stmt 2", one.stdout)):
            r = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True)
            check(r.returncode == 0 and "<svg" in r.stdout and not r.stderr.strip(), f"dot -Tsvg ({what}): {r.stderr}")
    else:
        print("explain --dot: Graphviz `dot` not installed: structural checks only, no rendering")

    for f_ in failures:
        print("FAIL:", f_)
    print(f"explain --dot: {checks - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
