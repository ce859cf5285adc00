#!/usr/bin/env python3
"""make bench: the paper gallery (docs/gallery.md). Each workload of
bench/gallery.tns, compiled by `tnsc lib` and called through the C ABI
(ctypes), against the numpy code a user would otherwise write, in the same
run: timed in alternation, medians of 6-15 runs, at 1 and 2 threads.
Every result is compared with numpy's before it is timed.

usage: gallery.py TNSC [--threads 1,2] [--quick] [--only SUBSTRING]
                       [--docs]   rewrite the table in docs/gallery.md and
                                  draw docs/gallery-speedup.svg"""
import ctypes, math, os, re, subprocess, sys, tempfile, time

import charts

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "gallery.md")
SVG = os.path.join(ROOT, "docs", "gallery-speedup.svg")
BEGIN, END = "<!-- gallery-bench:begin -->", "<!-- gallery-bench:end -->"


def parent(argv):
    tnsc = os.path.abspath(argv[1])
    quick = "--quick" in argv
    threads = [1, 2]
    if "--threads" in argv:
        threads = [int(t) for t in argv[argv.index("--threads") + 1].split(",")]
    out = tempfile.mkdtemp()
    lib, hdr = os.path.join(out, "libgallery.so"), os.path.join(out, "gallery.h")
    subprocess.check_call([tnsc, "lib", os.path.join(HERE, "gallery.tns"), "-o", lib, "-H", hdr,
                           "--target-cpu=native"])
    rows = []
    for t in threads:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), TNS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        extra = (["--quick"] if quick else []) + (["--only", argv[argv.index("--only") + 1]] if "--only" in argv else [])
        res = subprocess.run([sys.executable, __file__, "--child", lib, hdr, str(t)] + extra,
                             env=env, capture_output=True, text=True)
        sys.stderr.write(res.stderr)
        if res.returncode:
            print(res.stdout)
            sys.exit(res.returncode)
        rows += [line.split("\t") for line in res.stdout.strip().splitlines()]
    report(rows)
    if "--docs" in argv:
        write_docs(rows, threads)
    if any(r[-1] != "ok" for r in rows):
        sys.exit(1)


def report(rows):
    print(f"{'gallery workload':<34}{'thr':>4}{'tnsc ms':>10}{'numpy ms':>10}  {'numpy form':<26}{'speed-up':>9}")
    for name, t, ms, nms, form, err, ok in rows:
        flag = "" if ok == "ok" else f"  WRONG RESULT (rel. error {err})"
        print(f"{name:<34}{t:>4}{float(ms):>10.2f}{float(nms):>10.2f}  {form:<26}{float(nms) / float(ms):>8.2f}x{flag}")
    by = {}
    for name, t, ms, nms, *_ in rows:
        by.setdefault(t, []).append(float(nms) / float(ms))
    for t, sps in by.items():
        geo = math.exp(sum(math.log(s) for s in sps) / len(sps))
        print(f"threads {t}: geometric mean speed-up over numpy {geo:.2f}x")


def write_docs(rows, threads):
    """The measured table between the markers in docs/gallery.md, and a bar
    chart of the speed-ups next to it (matplotlib, when installed)."""
    names = []
    data = {}
    for name, t, ms, nms, form, err, ok in rows:
        if name not in names:
            names.append(name)
        data[(name, t)] = (float(ms), float(nms), form)
    cpu = charts.cpu_name()
    lines = [BEGIN, "",
             f"Measured by `make bench` (bench/gallery.py) on {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores ({cpu}); milliseconds, medians of 6-15 runs, "
             "numpy timed in the same run; speed-up = numpy time / tnsc time.", ""]
    head = "| workload | numpy form |"
    sep = "|---|---|"
    for t in threads:
        head += f" tnsc ms ({t}t) | numpy ms ({t}t) | speed-up ({t}t) |"
        sep += "---:|---:|---:|"
    lines += [head, sep]
    for name in names:
        line = f"| {name} | {data[(name, str(threads[0]))][2]} |"
        for t in threads:
            ms, nms, _ = data[(name, str(t))]
            line += f" {ms:.2f} | {nms:.2f} | {nms / ms:.2f}x |"
        lines.append(line)
    lines += ["", "![speed-up of tnsc over numpy per gallery workload](gallery-speedup.svg)", "", END]
    charts.write_between(DOC, BEGIN, END, lines)
    print(f"gallery: wrote {os.path.relpath(DOC, ROOT)}")
    charts.draw_speedups(SVG, "tnsc-gallery", names,
                         {t: [(i, data[(n, str(t))][1] / data[(n, str(t))][0]) for i, n in enumerate(names)]
                          for t in threads}, threads, "gallery")



# OpenBLAS's idle threads spin for ~0.1 s after a call; a pause between the
# two sides lets them sleep (as in bench/run.py).
SETTLE = 0.12


def medians_ms(fns, budget):
    times = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < 6 or (len(times[0]) < 15 and time.perf_counter() - start < budget * len(fns)):
        for k, fn in enumerate(fns):
            time.sleep(SETTLE)
            fn()
            for _ in range(3):
                t0 = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t0) * 1e3)
    return [sorted(t)[len(t) // 2] for t in times]


def parse_header(path):
    """name -> (parameter names in order, {output name: shape expressions})"""
    text = open(path).read()
    funcs = {}
    for m in re.finditer(r"/\* (.*?) \*/\s*int (\w+)\((.*?)\);", text, re.S):
        shapes = dict(re.findall(r"(\w+): \w+((?:\[[^\]]+\])*)", m.group(1)))
        params = [p.split()[-1].lstrip("*") for p in m.group(3).split(",")]
        outs = [p for p in params if re.fullmatch(r"out\d*", p)]
        funcs[m.group(2)] = (params, {o: re.findall(r"\[([^\]]+)\]", shapes.get(o, "")) for o in outs})
    return funcs


def child(lib_path, hdr, threads, quick, only):
    import numpy as np
    try:
        from scipy.special import erf
    except ImportError:
        erf = np.vectorize(math.erf)
    lib = ctypes.CDLL(lib_path)
    funcs = parse_header(hdr)
    rng = np.random.default_rng(0)
    budget = 0.3 if quick else 1.2
    r = lambda *s: rng.standard_normal(s)
    q = (lambda big, small: small) if quick else (lambda big, small: big)

    def tnsc(name, sizes, *args):
        """A callable running the tnsc function and its output arrays."""
        params, outs = funcs[name]
        f = getattr(lib, name)
        f.restype = ctypes.c_int
        args = list(args)
        arrays = {}
        c_args = []
        for p in params:
            if p in outs:
                shape = tuple(int(eval(e, {}, sizes)) for e in outs[p])
                arrays[p] = np.zeros(shape)
                c_args.append(arrays[p].ctypes.data_as(ctypes.c_void_p))
            elif p in sizes:
                c_args.append(ctypes.c_int64(sizes[p]))
            else:
                a = args.pop(0)
                if np.ndim(a) == 0:
                    a = np.array(float(a))
                a = np.ascontiguousarray(a, dtype=np.float64)
                arrays["in_" + p] = a
                c_args.append(a.ctypes.data_as(ctypes.c_void_p))

        def run():
            if f(*c_args) != 0:
                raise RuntimeError(f"{name} failed")
        return run, [arrays[o] for o in outs]

    def row(label, name, sizes, args, forms, compare=lambda x: x, tol=1e-8):
        if only and only not in label:
            return
        run, outs = tnsc(name, sizes, *args)
        run()
        ref = forms[0][1]()
        ref = list(ref) if isinstance(ref, tuple) else [ref]
        err = max(float(np.max(np.abs(compare(o) - compare(np.reshape(x, o.shape)))) /
                        max(float(np.max(np.abs(compare(np.reshape(x, o.shape))))), 1e-300))
                  for o, x in zip(outs, ref))
        ms, *nmss = medians_ms([run] + [fn for _, fn in forms], budget)
        k = min(range(len(forms)), key=lambda i: nmss[i])
        print(f"{label}\t{threads}\t{ms:.4f}\t{nmss[k]:.4f}\t{forms[k][0]}\t{err:.1e}\t{'ok' if err < tol else 'bad'}")
        sys.stdout.flush()

    # --- ALS matrix completion: one sweep (rows then columns) -------------
    n, m, rk = q(2000, 500), q(1500, 400), 16
    M = r(n, rk) @ r(rk, m)
    W = (rng.random((n, m)) < 0.3).astype(float)
    Mo = W * M
    U0, V0 = r(n, rk), r(m, rk)

    def np_als():
        I = 1e-9 * np.eye(rk)
        G = (W @ (V0[:, :, None] * V0[:, None, :]).reshape(m, rk * rk)).reshape(n, rk, rk) + I
        U = np.linalg.solve(G, (Mo @ V0)[..., None])[..., 0]
        G = (W.T @ (U[:, :, None] * U[:, None, :]).reshape(n, rk * rk)).reshape(m, rk, rk) + I
        V = np.linalg.solve(G, (Mo.T @ U)[..., None])[..., 0]
        return U, V
    row(f"ALS completion {n}x{m} r{rk}, 1 sweep", "g_als_sweep", dict(n=n, m=m, r=rk), [Mo, W, U0, V0, 1e-9],
        [("Gram GEMM + batched solve", np_als)], tol=1e-6)

    # --- CP-ALS and NTF: one sweep of a 3-way tensor ----------------------
    t3, rk = q(200, 80), 16
    X = np.einsum("ar,br,cr->abc", r(t3, rk), r(t3, rk), r(t3, rk)) + 0.1 * r(t3, t3, t3)
    A0, B0, C0 = r(t3, rk), r(t3, rk), r(t3, rk)
    kr = lambda P, Q: (P[:, None, :] * Q[None, :, :]).reshape(-1, P.shape[1])

    def np_cp():
        A = np.linalg.solve((B0.T @ B0) * (C0.T @ C0), (X.reshape(t3, -1) @ kr(B0, C0)).T).T
        B = np.linalg.solve((A.T @ A) * (C0.T @ C0), np.einsum("abc,aq,cq->bq", X, A, C0, optimize=True).T).T
        C = np.linalg.solve((A.T @ A) * (B.T @ B), (X.reshape(-1, t3).T @ kr(A, B)).T).T
        return A, B, C
    row(f"CP-ALS {t3}^3 rank {rk}, 1 sweep", "g_cp_als", dict(i1=t3, i2=t3, i3=t3, r=rk), [X, A0, B0, C0],
        [("unfold @ khatri-rao, solve", np_cp)], tol=1e-6)
    Xp = np.abs(X)
    Ap, Bp, Cp = np.abs(A0), np.abs(B0), np.abs(C0)

    def np_ntf():
        A = Ap * (Xp.reshape(t3, -1) @ kr(Bp, Cp)) / (Ap @ ((Bp.T @ Bp) * (Cp.T @ Cp)) + 1e-30)
        B = Bp * np.einsum("abc,aq,cq->bq", Xp, A, Cp, optimize=True) / (Bp @ ((A.T @ A) * (Cp.T @ Cp)) + 1e-30)
        C = Cp * (Xp.reshape(-1, t3).T @ kr(A, B)) / (Cp @ ((A.T @ A) * (B.T @ B)) + 1e-30)
        return A, B, C
    row(f"NTF {t3}^3 rank {rk}, 1 sweep", "g_ntf", dict(i1=t3, i2=t3, i3=t3, r=rk), [Xp, Ap, Bp, Cp],
        [("unfold @ khatri-rao", np_ntf)])

    # --- Tucker: HOSVD (full) and one HOOI iteration ----------------------
    t3 = q(120, 50)
    Xt = r(t3, t3, t3)

    def desc(G):
        w, V = np.linalg.eigh(G)
        return V[:, ::-1]

    def np_hosvd():
        U1 = desc(Xt.reshape(t3, -1) @ Xt.reshape(t3, -1).T)
        X2 = Xt.transpose(1, 0, 2).reshape(t3, -1)
        U2 = desc(X2 @ X2.T)
        X3 = Xt.reshape(-1, t3)
        U3 = desc(X3.T @ X3)
        return np.einsum("abc,ap,bq,cs->pqs", Xt, U1, U2, U3, optimize=True)
    # eigenvectors are defined up to sign: compare magnitudes
    row(f"HOSVD {t3}^3", "g_hosvd", dict(i1=t3, i2=t3, i3=t3), [Xt], [("Gram + eigh + einsum", np_hosvd)],
        compare=np.abs, tol=1e-6)
    rt = 10
    H1, H2, H3 = [np.linalg.qr(r(t3, rt))[0] for _ in range(3)]

    def np_hooi():
        def lead(Y):
            return desc(Y @ Y.T)[:, :rt]
        U1 = lead(np.einsum("abc,bq,cs->aqs", Xt, H2, H3, optimize=True).reshape(t3, -1))
        U2 = lead(np.einsum("abc,ap,cs->bps", Xt, U1, H3, optimize=True).reshape(t3, -1))
        U3 = lead(np.einsum("abc,ap,bq->cpq", Xt, U1, U2, optimize=True).reshape(t3, -1))
        return np.einsum("abc,ap,bq,cs->pqs", Xt, U1, U2, U3, optimize=True)
    row(f"HOOI {t3}^3 ranks {rt}, 1 iteration", "g_hooi", dict(i1=t3, i2=t3, i3=t3, r1=rt, r2=rt, r3=rt),
        [Xt, H1, H2, H3], [("einsum + eigh", np_hooi)], compare=np.abs, tol=1e-6)

    # --- FastRP ------------------------------------------------------------
    nf, d = q(2000, 500), 128
    U = rng.random((nf, nf))
    A = ((U + U.T) < 0.05).astype(float)
    np.fill_diagonal(A, 0)
    u = rng.random((nf, d))
    s = 3.0
    R = np.sqrt(s) * (u < 0.5 / s) - np.sqrt(s) * (u >= 1 - 0.5 / s)
    alpha, beta = np.array([0.0, 0.0, 1.0, 6.0]), -0.9

    def np_fastrp():
        deg = A.sum(1)
        P = A / np.maximum(deg, 1)[:, None]
        N = np.maximum(deg, 1)[:, None] ** beta * R
        E = np.zeros_like(R)
        for a in alpha:
            N = P @ N
            E += a * N
        return E
    row(f"FastRP n={nf} d={d} k=4 (dense A)", "g_fastrp", dict(n=nf, d=d, k=4), [A, R, alpha, beta],
        [("P @ N loop", np_fastrp)])

    # --- Chamfer and MUVERA ------------------------------------------------
    Nd, pv, dv = q(2000, 300), 32, 128
    Q, P = r(32, dv), r(Nd, pv, dv)
    row(f"Chamfer 32 vs {Nd} docs x {pv}, d={dv}", "g_chamfer", dict(m=32, d=dv, N=Nd, p=pv), [Q, P],
        [("(P @ Q.T).max.sum", lambda: (P @ Q.T).max(axis=1).sum(axis=1)),
         ("einsum + max.sum", lambda: np.einsum("ac,zbc->zab", Q, P, optimize=True).max(axis=2).sum(axis=1))])
    Nd, reps, ks = q(500, 100), 10, 4
    G = r(reps, ks, dv)
    code = ((np.arange(2 ** ks)[:, None] >> np.arange(ks)) & 1).astype(float)
    Pm = P[:Nd]

    def np_fde():
        H = np.einsum("zxc,ltc->zlxt", Pm, G, optimize=True) > 0
        ids = (H * (1 << np.arange(ks))).sum(-1)
        Mem = (ids[..., None] == np.arange(2 ** ks)).astype(float)
        cnt = Mem.sum(2)
        return np.einsum("zlxb,zxc->zlbc", Mem, Pm, optimize=True) / np.maximum(cnt, 1)[..., None]
    row(f"MUVERA doc FDEs {Nd} docs, R=10 k=4", "g_fde_docs", dict(N=Nd, m=pv, d=dv, r=reps, k=ks, B=2 ** ks),
        [Pm, G, code], [("bit ids + one-hot einsum", np_fde)])

    # --- graph polynomials ---------------------------------------------------
    ng = q(1500, 400)
    U = rng.random((ng, ng))
    Ag = ((U + U.T) < 0.2).astype(float)
    np.fill_diagonal(Ag, 0)
    row(f"triangles n={ng}", "g_triangles", dict(n=ng), [Ag],
        [("((A @ A) * A).sum()", lambda: ((Ag @ Ag) * Ag).sum() / 6),
         ("einsum", lambda: np.einsum("ij,jk,ki->", Ag, Ag, Ag, optimize=True) / 6)])

    def np_c4():
        A2 = Ag @ Ag
        dg = Ag.sum(0)
        return ((A2 * A2).sum() - 2 * (dg * dg).sum() + dg.sum()) / 8
    row(f"4-cycles n={ng}", "g_cycles4", dict(n=ng), [Ag],
        [("A2 = A @ A; sum(A2 * A2)", np_c4),
         ("einsum", lambda: (np.einsum("ij,jk,kl,li->", Ag, Ag, Ag, Ag, optimize=True)
                             - 2 * (Ag.sum(0) ** 2).sum() + Ag.sum()) / 8)])

    # --- factored and TT layers ----------------------------------------------
    sb, nin, r1, r2, no = q(4096, 1024), 1024, 64, 64, 1024
    Xf, W1, W2, W3 = r(sb, nin), r(nin, r1), r(r1, r2), r(r2, no)
    row(f"factored layer {sb}x{nin}, ranks 64", "g_factored", dict(s=sb, n=nin, r1=r1, r2=r2, o=no),
        [Xf, W1, W2, W3], [("X @ W1 @ W2 @ W3", lambda: Xf @ W1 @ W2 @ W3),
                           ("einsum", lambda: np.einsum("bi,ia,ac,cy->by", Xf, W1, W2, W3, optimize=True))])
    sb, tm, tr = q(512, 128), 16, 8
    G1, G2, G3 = r(tm, tm, tr), r(tr, tm, tm, tr), r(tr, tm, tm)
    Xb = r(sb, tm ** 3)
    # np.einsum("iar,rjbs,skc,zabc->zijk", ..., optimize=True) is the
    # one-line form, but it took 41 s at 128 rows (a poor path): the
    # hand-ordered tensordots are what a user ends up writing.
    def np_tt():
        T1 = np.tensordot(Xb.reshape(sb, tm, tm, tm), G3, axes=([3], [2]))   # z a b s k
        T2 = np.tensordot(T1, G2, axes=([2, 3], [2, 3]))                      # z a k r j
        T3 = np.tensordot(T2, G1, axes=([1, 3], [1, 2]))                      # z k j i
        return T3.transpose(0, 3, 2, 1).reshape(sb, -1)
    row(f"TT layer {sb}x16^3, TT-rank 8", "g_tt_linear",
        dict(m1=tm, n1=tm, r1=tr, m2=tm, n2=tm, r2=tr, m3=tm, n3=tm, s=sb), [G1, G2, G3, Xb],
        [("tensordot x3", np_tt)])

    # --- Megatron MLP ----------------------------------------------------------
    bm, hm = q(512, 128), 1024
    Xm, Am, Bm = r(bm, hm), r(hm, 4 * hm) / 32, r(4 * hm, hm) / 64
    gelu = lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2)))
    row(f"Megatron MLP {bm}x{hm}, 4 shards", "g_megatron", dict(b=bm, h=hm, f=hm), [Xm, Am, Bm],
        [("gelu(X @ A) @ B", lambda: gelu(Xm @ Am) @ Bm),
         ("4 shards, summed", lambda: sum(gelu(Xm @ Am[:, k * hm:(k + 1) * hm]) @ Bm[k * hm:(k + 1) * hm] for k in range(4)))])

    # --- attention -------------------------------------------------------------
    na, dm, hh, dk = q(512, 128), 256, 8, 32
    Xa = r(na, dm)
    Wq, Wk, Wv, Wo = r(hh, dm, dk) / 16, r(hh, dm, dk) / 16, r(hh, dm, dk) / 16, r(hh, dk, dm) / 16
    mask = np.tril(np.ones((na, na), dtype=bool))

    def np_mha():
        Qh, Kh, Vh = Xa @ Wq, Xa @ Wk, Xa @ Wv           # (h, n, dk)
        S = np.where(mask, Qh @ Kh.transpose(0, 2, 1) / np.sqrt(dk), -np.inf)
        S = np.exp(S - S.max(-1, keepdims=True))
        Pa = S / S.sum(-1, keepdims=True)
        return np.einsum("hix,hxo->io", Pa @ Vh, Wo, optimize=True)
    row(f"causal MHA n={na} d={dm} h={hh}", "g_mha", dict(n=na, dm=dm, h=hh, dk=dk), [Xa, Wq, Wk, Wv, Wo],
        [("matmul + masked softmax", np_mha)])
    ns, ds = q(96, 48), 32
    Qs, K1, K2, V1, V2 = r(ns, ds), r(ns, ds), r(ns, ds), r(ns, ds), r(ns, ds)

    def np_simplicial():
        S = np.einsum("ic,jc,kc->ijk", Qs, K1, K2, optimize=True) / np.sqrt(ds)
        S = np.exp(S - S.max(axis=(1, 2), keepdims=True))
        Ps = S / S.sum(axis=(1, 2), keepdims=True)
        return np.einsum("ijk,jx,kx->ix", Ps, V1, V2, optimize=True)
    row(f"2-simplicial attention n={ns} d={ds}", "g_simplicial", dict(n=ns, d=ds, e=ds), [Qs, K1, K2, V1, V2],
        [("einsum + softmax", np_simplicial)])

    # --- Kronecker GP solve ------------------------------------------------------
    n1, n2 = q(200, 60), q(150, 50)
    ii, jj = np.arange(n1), np.arange(n2)
    Kx = np.exp(-0.5 * (ii[:, None] - ii[None, :]) ** 2 / 9.0)
    Ky = np.exp(-0.5 * (jj[:, None] - jj[None, :]) ** 2 / 16.0)
    yv = r(n1 * n2)

    def np_kron():
        l1, Q1 = np.linalg.eigh(Kx)
        l2, Q2 = np.linalg.eigh(Ky)
        T = Q1.T @ yv.reshape(n1, n2) @ Q2
        return (Q1 @ (T / (l1[:, None] * l2[None, :] + 0.1)) @ Q2.T).ravel()
    row(f"Kronecker GP solve {n1}x{n2} grid", "g_kron_gp", dict(n1=n1, n2=n2), [Kx, Ky, yv, 0.1],
        [("eigh + Q1.T @ Y @ Q2", np_kron)], tol=1e-6)

    # --- MKOR step ---------------------------------------------------------------
    do, di, zb = q(1024, 256), q(1024, 256), 256
    Wk0 = r(do, di)
    Li = np.eye(di) + 0.01 * (lambda Z: Z @ Z.T)(r(di, di)) / di
    Ri = np.eye(do) + 0.01 * (lambda Z: Z @ Z.T)(r(do, do)) / do
    Xk, Ek = r(zb, di), r(zb, do)
    gm, lr = 0.9, 0.1

    def np_mkor():
        a, e = Xk.mean(0), Ek.mean(0)
        dW = Ek.T @ Xk / zb
        La, Re = Li @ a, Ri @ e
        L2 = Li / gm - (1 - gm) / gm ** 2 * np.outer(La, La) / (1 + (1 - gm) / gm * a @ La)
        R2 = Ri / gm - (1 - gm) / gm ** 2 * np.outer(Re, Re) / (1 + (1 - gm) / gm * e @ Re)
        return Wk0 - lr * (R2 @ dW @ L2)
    row(f"MKOR step {do}x{di}, batch {zb}", "g_mkor", dict(o=do, d=di, z=zb), [Wk0, Li, Ri, Xk, Ek, gm, lr],
        [("outer + R @ dW @ L", np_mkor)])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), "--quick" in sys.argv, only)
    else:
        parent(sys.argv)
