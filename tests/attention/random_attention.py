#!/usr/bin/env python3
"""Random softmax-attention programs, -O2 (passes/attention.c: one
streaming kernel, masks as key ranges) against -O0 (the unfused meaning).

usage: random_attention.py TNSC [--programs N] [--seed S] [--higher]
(--higher: order-2/3 statements only)

Each program holds a few attention statements drawn at random: f32 or f64;
0-2 batch/head indices in varying positions, K and V sometimes shared
across heads; query and key counts that are and are not multiples of the
kernel's tiles, n = 1 and m = 1 among them; the scale inside the sum,
outside it, as a division or absent; written as three statements (S, P,
O), as one, or with the softmax inline over a temporary S; masks
(causal, sliding windows, offsets that leave whole rows masked, bounds on
j alone) and an additive bias; inf and NaN planted in queries and values.
Every statement must be fused (`tnsc explain`), and the results saved at
both levels must agree: the same NaN positions, the rest within
16 * sqrt(m + d) * eps * max(1, |O|) — f32 accumulates in f32 at -O2.
Prints one line per failure, then `N passed, N failed`."""
import ast
import math
import os
import random
import subprocess
import sys
import tempfile
from array import array


def load_npy(path):
    """(shape, values as floats) of a little-endian f32/f64 .npy file."""
    with open(path, "rb") as f:
        raw = f.read()
    hlen = int.from_bytes(raw[8:10], "little")
    head = ast.literal_eval(raw[10:10 + hlen].decode())
    vals = array("f" if head["descr"] == "<f4" else "d")
    vals.frombytes(raw[10 + hlen:])
    return tuple(head["shape"]), list(vals)

MASKS = ["j <= i", "j >= i", "i - j < 3 && j <= i", "j < 5", "i - j >= 2", "2 * j <= i + 3",
         "j <= i && i - j <= w", "j == i", "i < 4"]


def statement(rng, s, seed):
    """One attention statement: (lines, output name, n, m, d, e, elem)."""
    el = rng.choice(["f32", "f64"])
    n = rng.choice([1, 2, 5, 17, 64, 65, 130])
    m = n if rng.random() < 0.5 else rng.choice([1, 3, 64, 129, 200])
    if n == 1 and rng.random() < 0.5:   # decoding: one query, many keys (split over the pool)
        m = rng.choice([1100, 1500])
    d = rng.choice([1, 3, 8, 16])
    e = rng.choice([1, 2, 5, 7])
    nb = rng.choice([0, 0, 1, 2])
    bat = [("b", rng.randint(1, 3)), ("h", rng.randint(1, 3))][:nb]
    shared_kv = nb == 2 and rng.random() < 0.3   # K, V without h
    lines = []

    def tensor(name, idx, sizes, plant=None, subst=None):
        seed[0] += 1
        order = list(range(len(idx)))
        if len(idx) > 2 and rng.random() < 0.3:   # a head index after the row index
            order[-2], order[-3] = order[-3], order[-2]
        idx = [idx[k] for k in order]
        sizes = [sizes[k] for k in order]
        lines.append(f"{name}{s} = randn({el}[{', '.join(map(str, sizes))}], {seed[0]})")
        if plant:
            val, where = plant
            cond = " && ".join(f"{ix} == {min(w, sz - 1)}" for ix, w, sz in zip(idx, where, sizes))
            lines.append(f"{name}{s}x[{', '.join(idx)}] = where({cond}, {val}, {name}{s}[{', '.join(idx)}])")
            idx = [subst.get(x, x) for x in idx] if subst else idx
            return f"{name}{s}x[{', '.join(idx)}]"
        idx = [subst.get(x, x) for x in idx] if subst else idx
        return f"{name}{s}[{', '.join(idx)}]"

    bi = [b for b, _ in bat]
    bs = [z for _, z in bat]
    kb, kbs = (bi[:1], bs[:1]) if shared_kv else (bi, bs)
    subst = None
    if nb == 2 and not shared_kv and rng.random() < 0.4:   # grouped-query: K, V heads shared by G query heads
        G = rng.choice([2, 3])
        kbs = [bs[0], (bs[1] + G - 1) // G]
        subst = {"h": rng.choice([f"h // {G}", f"i64(h / {G})", f"i64(floor(h / {G}))"])}
    plant = rng.random() < 0.2
    q = tensor("Q", bi + ["i", "c"], bs + [n, d], ("inf" if rng.random() < 0.5 else "nan", [0] * (nb + 2)) if plant and rng.random() < 0.5 else None)
    k = tensor("K", kb + ["j", "c"], kbs + [m, d], subst=subst)
    v = tensor("V", kb + ["j", "x"], kbs + [m, e], ("inf" if rng.random() < 0.5 else "nan", [0] * len(kb) + [rng.randint(0, m), 0]) if plant else None, subst=subst)
    T = el
    scale = rng.choice(["", f" / sqrt({T}(d{s}))", " * 0.125", "in"])
    lines.append(f"d{s} = {d}")
    dot = f"sum(c: {q} * {k}{' * 0.5' if scale == 'in' else ''}){'' if scale == 'in' else scale}"
    if rng.random() < 0.2:   # softcap
        cap = rng.choice(["2.0", "0.5"])
        dot = f"{cap} * tanh({dot} / {cap})"
    if rng.random() < 0.25:
        kk = rng.randint(0, nb)
        mb = tensor("M", bi[:kk] + ["i", "j"], bs[:kk] + [n, m])
        dot = f"{dot} + {mb}"
    if rng.random() < 0.2:   # ALiBi: a slope per head, or one
        if nb and rng.random() < 0.6:
            seed[0] += 1
            lines.append(f"sl{s} = randn({el}[{bs[-1]}], {seed[0]})")
            slope = f"sl{s}[{bi[-1]}]"
        else:
            slope = "0.25"
        dot = f"{dot} - {slope} * {T}(i - j)" if rng.random() < 0.5 else f"{dot} + {T}(j - 2 * i + 1) * {slope}"
    mask = rng.choice(MASKS + [None] * 4)
    if nb and rng.random() < 0.25:   # key padding: a length per batch element
        half = rng.random() < 0.3   # a bound between two keys
        lens = ", ".join(str(rng.randint(0, m + 1) + (0.5 if half else 0)) for _ in range(bs[0]))
        lines.append(f"len{s} = [{lens}]")
        pad = rng.choice([f"j < len{s}[{bi[0]}]", f"len{s}[{bi[0]}] > j", f"f64(j) <= len{s}[{bi[0]}]", f"j >= len{s}[{bi[0]}] - 2.0"])
        mask = f"{mask} && {pad}" if mask else pad
    if mask and "w" in mask:
        lines.append(f"w = {rng.randint(0, 4)}")
    score = f"where({mask}, {dot}, -inf)" if mask else dot
    out = ", ".join(bi + ["i", "x"])
    sij = ", ".join(bi + ["i", "j"])
    form = rng.choice(["three", "one", "two"])
    lse = form != "one" and rng.random() < 0.3
    if form != "one":
        lines.append(f"S{s}[{sij}] = {score}")
    if lse:   # the row log-sum-exp as a second result
        lines.append(f"L{s}[{', '.join(bi + ['i'])}] = logsumexp(j: S{s}[{sij}])")
    if form == "three":
        lines.append(f"P{s}[{sij}] = softmax(j: S{s}[{sij}])")
        lines.append(f"O{s}[{out}] = P{s}[{sij}] * {v}")
    elif form == "two":
        lines.append(f"O{s}[{out}] = softmax(j: S{s}[{sij}]) * {v}")
    else:
        lines.append(f"O{s}[{out}] = softmax(j: {score}) * {v}")
    outs = [(f"O{s}", max(m, 1) + d, el)] + ([(f"L{s}", max(m, 1) + d, el)] if lse else [])
    return lines, outs


# Order-2/3 masks over the query i and the keys a, b (, c): causal, windows,
# orderings of the keys, sums of keys, bounds on one key, rows left empty.
MASKS_N = ["{a} <= i && {b} <= i", "i - {a} < w && i - {b} < w", "{a} < {b}", "{a} <= {b} && {b} <= i",
           "{b} < 3", "{a} + {b} <= i", "2 * {a} >= {b} - 1", "{a} == {b}", "i - {a} >= 2 && {b} > {a}",
           "i < 4 && {b} <= i"]
MASKS_3 = ["{a} < {b} && {b} < {c}", "{c} <= i && {a} <= i", "{a} + {b} + {c} <= 2 * i", "{c} >= {a}"]


def higher(rng, s, seed):
    """An order-2 or -3 statement (softmax over key pairs or triples), in
    index form or (order 2, no batch) through khatri_rao; in index form
    with masks over i and the keys (loop bounds), an additive bias
    M[b.., i, j, k..], softcap, ALiBi, key padding j < len[b], the
    log-sum-exp beside it, grouped-query heads (any of K1.., V1.. read at
    h // G), and inf/NaN planted in a query or a value (a value at a
    masked tuple makes its column NaN at -O0)."""
    el = rng.choice(["f32", "f64"])
    R = rng.choice([2, 2, 3])
    n = rng.choice([1, 5, 17, 33])
    ms = [rng.choice([1, 3, 7, 12]) if R == 3 else rng.choice([1, 5, 16, 40, 129]) for _ in range(R)]
    d = rng.choice([1, 4, 8])
    e = rng.choice([1, 3, 4])
    nb = rng.choice([0, 0, 1, 2])
    bat = [("b", rng.randint(1, 2)), ("h", rng.randint(1, 3))][:nb]
    bi = [b for b, _ in bat]
    bs = [z for _, z in bat]
    keys = ["j", "k", "l"][:R]
    lines = [f"d{s} = {d}"]
    G = rng.choice([2, 3]) if nb == 2 and rng.random() < 0.4 else 0   # grouped-query heads

    def tensor(name, idx, sizes, grouped=False):
        seed[0] += 1
        if grouped:   # K/V heads shared by G query heads
            sizes = sizes[:1] + [(sizes[1] + G - 1) // G] + sizes[2:]
            lines.append(f"{name}{s} = randn({el}[{', '.join(map(str, sizes))}], {seed[0]})")
            g = rng.choice([f"h // {G}", f"i64(h / {G})"])
            return f"{name}{s}[{', '.join([idx[0], g] + idx[2:])}]"
        lines.append(f"{name}{s} = randn({el}[{', '.join(map(str, sizes))}], {seed[0]})")
        return f"{name}{s}[{', '.join(idx)}]"

    q = tensor("Q", bi + ["i", "c"], bs + [n, d])
    if rng.random() < 0.2:   # an infinity or NaN in the first query row
        val = rng.choice(["inf", "-inf", "nan"])
        ix = bi + ["i", "c"]
        lines.append(f"Q{s}x[{', '.join(ix)}] = where({' && '.join(f'{x} == 0' for x in ix)}, {val}, {q})")
        q = f"Q{s}x[{', '.join(ix)}]"
    ks = [tensor(f"K{r + 1}_", bi + [keys[r], "c"], bs + [ms[r], d], G and rng.random() < 0.7) for r in range(R)]
    vs = [tensor(f"V{r + 1}_", bi + [keys[r], "x"], bs + [ms[r], e], G and rng.random() < 0.7) for r in range(R)]
    if rng.random() < 0.15:   # an infinity or NaN in a value
        r = rng.randrange(R)
        ix = bi + [keys[r], "x"]
        lx = [f"{b}: {z}" for b, z in bat] + [keys[r], "x"]   # the copy has every head
        at = rng.randrange(ms[r])
        plant = " && ".join([f"{keys[r]} == {at}", "x == 0"] + [f"{b} == 0" for b in bi])
        lines.append(f"V{r + 1}_{s}x[{', '.join(lx)}] = where({plant}, {rng.choice(['inf', 'nan'])}, {vs[r]})")
        vs[r] = f"V{r + 1}_{s}x[{', '.join(ix)}]"
    scale = rng.choice(["", f" / sqrt({el}(d{s}))", " * 0.5"])
    out = ", ".join(bi + ["i", "x"])
    if R == 2 and nb == 0 and "Q{s}x".format(s=s) not in q and rng.random() < 0.3:   # Alman-Song: khatri_rao(K1, K2), khatri_rao(V1, V2)
        lines.append(f"KK{s} = khatri_rao(K1_{s}, K2_{s})")
        lines.append(f"VV{s} = khatri_rao(V1_{s}, V2_{s})")
        lines.append(f"S{s}[i, t] = Q{s}[i, c] * KK{s}[t, c]{scale}")
        lines.append(f"P{s}[i, t] = softmax(t: S{s}[i, t])")
        lines.append(f"O{s}[{out}] = P{s}[i, t] * VV{s}[t, x]")
        red = d
        for mm in ms:
            red *= mm
        return lines, [(f"O{s}", red, el)]
    sk = ", ".join(bi + ["i"] + keys)
    dot = f"sum(c: {q} * {' * '.join(ks)}){scale}"
    if rng.random() < 0.25:   # softcap
        cap = rng.choice(["2.0", "0.5"])
        dot = f"{cap} * tanh({dot} / {cap})"
    if rng.random() < 0.3:   # a bias over the query and some of the keys, batch indices in front
        kk = rng.randint(0, nb)
        mk = [x for x in keys if rng.random() < 0.8] or keys[:1]
        dot = f"{dot} + {tensor('M', bi[:kk] + ['i'] + mk, bs[:kk] + [n] + [ms[keys.index(x)] for x in mk])}"
    if rng.random() < 0.2:   # ALiBi over the query and the keys
        if nb and rng.random() < 0.6:
            seed[0] += 1
            lines.append(f"sl{s} = randn({el}[{bs[-1]}], {seed[0]})")
            slope = f"sl{s}[{bi[-1]}]"
        else:
            slope = "0.25"
        dot = f"{dot} - {slope} * {el}(i - {keys[-1]})" if rng.random() < 0.5 else f"{dot} + {el}({' + '.join(keys)} - 2 * i + 1) * {slope}"
    mask = None
    if rng.random() < 0.6:
        pool = MASKS_N + (MASKS_3 if R == 3 else [])
        kx = keys[:]
        rng.shuffle(kx)
        mask = rng.choice(pool).format(a=kx[0], b=kx[1], c=kx[-1])
        if "w" in mask:
            lines.append(f"w{s} = {rng.randint(1, 5)}")
            mask = mask.replace(" w", f" w{s}")
    if nb and rng.random() < 0.2:   # key padding: a length per batch element, on some key
        lens = ", ".join(str(rng.randint(0, max(ms) + 1)) for _ in range(bs[0]))
        lines.append(f"len{s} = [{lens}]")
        key = rng.choice(keys)
        pad = rng.choice([f"{key} < len{s}[{bi[0]}]", f"len{s}[{bi[0]}] > {key}", f"{key} >= len{s}[{bi[0]}] - 2"])
        mask = f"{mask} && {pad}" if mask else pad
    score = f"where({mask}, {dot}, -inf)" if mask else dot
    tuples = 1
    for mm in ms:
        tuples *= mm
    # -O0 evaluates an inline softmax per element it is summed at: T^2 work
    form = rng.choice(["three", "two", "one"]) if tuples <= 2100 else "three"
    lse = form != "one" and rng.random() < 0.35
    if form != "one":
        lines.append(f"S{s}[{sk}] = {score}")
    if lse:   # the row log-sum-exp as a second result
        lines.append(f"L{s}[{', '.join(bi + ['i'])}] = logsumexp({', '.join(keys)}: S{s}[{sk}])")
    if form == "three":
        lines.append(f"P{s}[{sk}] = softmax({', '.join(keys)}: S{s}[{sk}])")
        lines.append(f"O{s}[{out}] = P{s}[{sk}] * {' * '.join(vs)}")
    elif form == "two":
        lines.append(f"O{s}[{out}] = softmax({', '.join(keys)}: S{s}[{sk}]) * {' * '.join(vs)}")
    else:
        lines.append(f"O{s}[{out}] = softmax({', '.join(keys)}: {score}) * {' * '.join(vs)}")
    red = d
    for mm in ms:
        red *= mm
    return lines, [(f"O{s}", red, el)] + ([(f"L{s}", red, el)] if lse else [])


def program(rng, p_higher):
    seed = [100]
    lines, outs = [], []
    for s in range(rng.randint(2, 4)):
        ls, os_ = (higher if rng.random() < p_higher else statement)(rng, s, seed)
        lines += ls
        outs += os_
    return lines, outs


def main():
    tnsc = os.path.abspath(sys.argv[1])
    nprog = int(sys.argv[sys.argv.index("--programs") + 1]) if "--programs" in sys.argv else 25
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 4242
    rng = random.Random(seed)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for p in range(nprog):
            lines, outs = program(rng, 1.0 if "--higher" in sys.argv else 0.35)
            bad = []
            res = {}
            src = "\n".join(lines) + "\n"
            for lvl in ("-O0", "-O2"):
                dd = os.path.join(tmp, f"p{p}{lvl}")
                os.makedirs(dd, exist_ok=True)
                full = src + "".join(f'save("{dd}/{o}.npy", {o})\n' for o, _, _ in outs)
                path = os.path.join(dd, "a.tns")
                with open(path, "w") as f:
                    f.write(full)
                r = subprocess.run([tnsc, "run", lvl, path], capture_output=True, text=True, timeout=300)
                if r.returncode:
                    bad.append(f"{lvl} exit {r.returncode}: {r.stderr[:400]}")
                res[lvl] = dd
            ex = subprocess.run([tnsc, "explain", path], capture_output=True, text=True, timeout=300).stdout
            nstat = sum(o.startswith("O") for o, _, _ in outs)
            if ex.count("fused attention") != nstat or "not fused" in ex or ex.count("logsumexp") != len(outs) - nstat:
                bad.append(f"{ex.count('fused attention')} of {nstat} fused:\n{ex}")
            for o, red, el in outs:
                if bad:
                    break
                sa, a = load_npy(f"{res['-O0']}/{o}.npy")
                sb, b = load_npy(f"{res['-O2']}/{o}.npy")
                if sa != sb or [math.isnan(x) for x in a] != [math.isnan(y) for y in b]:
                    bad.append(f"{o}: shapes {sa} {sb} or NaN positions differ "
                               f"({sum(map(math.isnan, a))} vs {sum(map(math.isnan, b))})")
                    continue
                if any(math.isinf(x) and x != y for x, y in zip(a, b)):
                    bad.append(f"{o}: infinities differ")
                    continue
                ok = [(x, y) for x, y in zip(a, b) if math.isfinite(x)]
                eps = 2.0 ** -23 if el == "f32" else 2.0 ** -52
                tol = 16 * math.sqrt(red) * eps * max([1.0] + [abs(x) for x, _ in ok])
                worst = max([0.0] + [abs(x - y) for x, y in ok])
                if worst > tol:
                    bad.append(f"{o}: differs by {worst:.3g} > {tol:.3g}")
            if bad:
                failed += 1
                print(f"FAIL program {p}: {'; '.join(bad)}\n{src}")
            else:
                passed += 1
    print(f"random_attention: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
