#!/usr/bin/env python3
"""make bench: the contraction workloads of bench/workloads.tns, compiled by
`tnsc lib` and called through the C ABI (ctypes), against numpy in the same
run: einsum(optimize=True) and the best hand-written form, timed in
alternation (rounds of three runs each). Medians of 6-15 runs, at 1 and 2
threads; prints times, GFLOP/s and speed-ups.

usage: run.py TNSC [--threads 1,2] [--quick] [--only SUBSTRING]
                   [--docs]   rewrite the tables in docs/performance.md and
                              draw docs/performance-speedup.svg"""
import ctypes, math, os, re, subprocess, sys, tempfile, time

import charts

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOC = os.path.join(ROOT, "docs", "performance.md")
SVG = os.path.join(ROOT, "docs", "performance-speedup.svg")
BEGIN, END = "<!-- performance-bench:begin -->", "<!-- performance-bench:end -->"


def parent(argv):
    tnsc = os.path.abspath(argv[1])
    quick = "--quick" in argv
    threads = [1, 2]
    if "--threads" in argv:
        threads = [int(t) for t in argv[argv.index("--threads") + 1].split(",")]
    out = tempfile.mkdtemp()
    lib = os.path.join(out, "libworkloads.so")
    subprocess.check_call([tnsc, "lib", os.path.join(HERE, "workloads.tns"), "-o", lib, "--target-cpu=native"])
    rows = []
    load = [os.getloadavg()[0]]
    for t in threads:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), TNS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
        env.pop("OPENBLAS_CORETYPE", None)   # they slow current numpy (see the env notes)
        env.pop("OPENBLAS_L2_SIZE", None)
        extra = (["--quick"] if quick else []) + (["--only", argv[argv.index("--only") + 1]] if "--only" in argv else [])
        res = subprocess.run([sys.executable, __file__, "--child", lib, str(t)] + extra,
                             env=env, capture_output=True, text=True)
        sys.stderr.write(res.stderr)
        if res.returncode:
            print(res.stdout)
            sys.exit(res.returncode)
        rows += [line.split("\t") for line in res.stdout.strip().splitlines()]
    load.append(os.getloadavg()[0])
    report(rows)
    if "--docs" in argv and ("--only" in argv or quick):
        print("bench: --docs writes the full run's tables only (no --only, no --quick); docs not written")
    elif "--docs" in argv:
        write_docs(rows, threads, load)
    if any(r[6] != "ok" for r in rows):
        sys.exit(1)


def report(rows):
    print(f"{'workload':<28}{'thr':>4}{'tnsc ms':>11}{'numpy ms':>11}  {'numpy form':<22}{'GFLOP/s':>9}{'speed-up':>10}")
    by_threads = {}
    for name, t, ms, nms, form, gf, ok in rows:
        sp = float(nms) / float(ms)
        by_threads.setdefault(t, []).append((name, sp))
        flag = "" if ok == "ok" else "  WRONG RESULT"
        print(f"{name:<28}{t:>4}{float(ms):>11.3f}{float(nms):>11.3f}  {form:<22}{float(gf):>9.1f}{sp:>9.2f}x{flag}")
    for t, sps in by_threads.items():
        geo = math.exp(sum(math.log(s) for _, s in sps) / len(sps))
        worst = min(sps, key=lambda x: x[1])
        print(f"threads {t}: geometric mean speed-up {geo:.2f}x, lowest {worst[1]:.2f}x ({worst[0]})")


def pretty(name):
    """gemm 2048^3 -> gemm 2048³, 64x256 -> 64×256, as the doc writes them."""
    name = re.sub(r"(\d)x(?=\d)", "\\1×", name)
    name = name.replace("^3", "³").replace("^4", "⁴").replace(" -> ", " → ")
    return re.sub(r"([a-z]{4},[a-z]{4})", r"`\1->axyt`", name) if "avxu" in name else name


def fmt_ms(ms):
    """Three significant digits or more: 637.4, 13.91, 0.137."""
    return f"{ms:.1f}" if ms >= 100 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def write_docs(rows, threads, load):
    """The measured tables between the markers in docs/performance.md (one
    per thread count, as the terminal shows them) and a bar chart of the
    speed-ups next to them, in the style of bench/gallery.py."""
    names, data = [], {}
    for name, t, ms, nms, form, gf, ok in rows:
        if name not in names:
            names.append(name)
        data[(name, int(t))] = (float(ms), float(nms), form, float(gf), ok == "ok")
    cpu = charts.cpu_name()
    import numpy
    lines = [BEGIN, "",
             f"Measured by `make bench` (bench/run.py --docs) on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores "
             f"({cpu}), numpy {numpy.__version__}; milliseconds, medians of 6-15 runs, numpy timed in the same run; "
             f"speed-up = numpy time / tnsc time. The machine is shared: load average {load[0]:.1f} when the run "
             f"started, {load[-1]:.1f} when it ended.", ""]
    for t in threads:
        lines += [f"{t} thread{'s' if t > 1 else ''}:", "",
                  "| workload | tnsc ms | numpy ms | numpy form | GFLOP/s | speed-up |",
                  "|---|---:|---:|---|---:|---:|"]
        sps = []
        for name in names:
            if (name, t) not in data:
                continue
            ms, nms, form, gf, ok = data[(name, t)]
            sps.append((nms / ms, name))
            lines.append(f"| {pretty(name)} | {fmt_ms(ms)} | {fmt_ms(nms)} | {form} | {gf:.1f} | "
                         f"{nms / ms:.2f}×{'' if ok else ' (wrong result)'} |")
        geo = math.exp(sum(math.log(x) for x, _ in sps) / len(sps))
        low = min(sps)
        lines += ["", f"Geometric mean {geo:.2f}×; lowest {low[0]:.2f}× ({pretty(low[1])}).", ""]
    lines += ["![speed-up of tnsc over numpy per workload](performance-speedup.svg)", "", END]
    charts.write_between(DOC, BEGIN, END, lines)
    charts.draw_speedups(SVG, "tnsc-performance", [pretty(n).replace("`", "") for n in names],
                         {t: [(i, data[(n, t)][1] / data[(n, t)][0]) for i, n in enumerate(names) if (n, t) in data]
                          for t in threads}, threads, "bench")
    print(f"bench: wrote {os.path.relpath(DOC, ROOT)}")


# OpenBLAS's idle threads spin for ~0.1 s after a call (THREAD_TIMEOUT
# 2^28 cycles) and would take a core from whatever runs next; a pause
# between the two sides lets them go to sleep.
SETTLE = 0.12


def medians_ms(fns, budget):
    """Medians of the functions' times, measured in alternation (a few runs
    of each per round) so that a noisy neighbour slows all of them alike."""
    times = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < 6 or (len(times[0]) < 15 and time.perf_counter() - start < budget * len(fns)):
        for k, fn in enumerate(fns):
            time.sleep(SETTLE)
            fn()  # warm up (caches, pages, the other side's threads)
            for _ in range(3):
                t0 = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t0) * 1e3)
    return [sorted(t)[len(t) // 2] for t in times]


def child(lib_path, threads, quick, only):
    import numpy as np
    lib = ctypes.CDLL(lib_path)
    rng = np.random.default_rng(0)
    budget = 0.3 if quick else 1.5

    def call(name, sizes, args, out_shape, dtype=np.float64):
        f = getattr(lib, name)
        out = np.empty(out_shape, dtype=dtype)
        c_args = [ctypes.c_int64(s) for s in sizes] + [a.ctypes.data_as(ctypes.c_void_p) for a in args] + \
                 [out.ctypes.data_as(ctypes.c_void_p)]
        f.restype = ctypes.c_int

        def run():
            if f(*c_args) != 0:
                raise RuntimeError(f"{name} failed")
        return run, out

    def bench(label, name, sizes, args, out_shape, flops, forms, dtype=np.float64):
        if only and only not in label:
            return
        run, out = call(name, sizes, args, out_shape, dtype)
        ms, *nmss = medians_ms([run] + [fn for _, fn in forms], budget)
        best = None
        for (form, fn), nms in zip(forms, nmss):
            if best is None or nms < best[0]:
                best = (nms, form, fn)
        ref = best[2]()
        tol = 1e-3 if dtype == np.float32 else 1e-8
        ok = np.allclose(out, ref, rtol=tol, atol=tol * max(1.0, float(np.abs(ref).max())))
        print(f"{label}\t{threads}\t{ms:.4f}\t{best[0]:.4f}\t{best[1]}\t{flops / ms / 1e6:.2f}\t{'ok' if ok else 'bad'}")
        sys.stdout.flush()

    r = lambda *s: rng.standard_normal(s)
    n = 1024 if quick else 2048
    A, B = r(n, n), r(n, n)
    bench(f"gemm {n}^3 f64", "gemm", [n, n, n], [A, B], (n, n), 2 * n**3,
          [("matmul", lambda: A @ B), ("einsum", lambda: np.einsum("ik,kj->ij", A, B, optimize=True))])
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    bench(f"gemm {n}^3 f32", "gemm32", [n, n, n], [A32, B32], (n, n), 2 * n**3,
          [("matmul", lambda: A32 @ B32)], np.float32)
    a, b = 1000, 20
    M1, M2, M3, M4 = r(a, b), r(b, a), r(a, b), r(b, a)
    bench("chain 1000x20x1000x20x1000", "chain", [a, b, a, b, a], [M1, M2, M3, M4], (a, a), 2 * (3 * a * b * b) + 2 * a * a * b,
          [("matmul ((AB)... best", lambda: M1 @ (M2 @ M3) @ M4),
           ("einsum", lambda: np.einsum("ij,jk,kl,lm->im", M1, M2, M3, M4, optimize=True))])
    t = 32 if quick else 64
    T4, C = r(t, t, t, t), r(t, t)
    bench(f"4-index transform n={t}", "transform4", [t], [T4, C], (t, t, t, t), 8 * t**5,
          [("tensordot x4", lambda: np.tensordot(np.tensordot(np.tensordot(np.tensordot(T4, C, (0, 0)), C, (0, 0)), C, (0, 0)), C, (0, 0))),
           ("einsum", lambda: np.einsum("pa,qb,rc,sd,pqrs->abcd", C, C, C, C, T4, optimize=True))])
    m, rk = (128 if quick else 256), 32
    X, Bm, Cm = r(m, m, m), r(m, rk), r(m, rk)
    bench(f"MTTKRP {m}^3 rank {rk}", "mttkrp", [m, m, m, rk], [X, Bm, Cm], (m, rk), 3 * m**3 * rk,
          [("reshape @ khatri-rao", lambda: X.reshape(m, m * m) @ (Bm[:, None, :] * Cm[None, :, :]).reshape(m * m, rk)),
           ("einsum", lambda: np.einsum("abc,bq,cq->aq", X, Bm, Cm, optimize=True))])
    g, big = 32, (128 if quick else 256)
    G, U, V, W = r(g, g, g), r(big, g), r(big, g), r(big, g)
    bench(f"Tucker {g}^3 -> {big}^3", "tucker", [g, g, g, big, big, big], [G, U, V, W], (big, big, big),
          2 * (big * g**3 + big * big * g * g + big**3 * g),
          [("tensordot x3", lambda: np.tensordot(np.tensordot(np.tensordot(G, U, (0, 1)), V, (0, 1)), W, (0, 1))),
           ("einsum", lambda: np.einsum("abc,ia,jb,kc->ijk", G, U, V, W, optimize=True))])
    nb, s = 64, (128 if quick else 256)
    Ab, Bb = r(nb, s, s), r(nb, s, s)
    bench(f"batched {nb}x{s}^3", "batched", [nb, s, s, s], [Ab, Bb], (nb, s, s), 2 * nb * s**3,
          [("matmul", lambda: Ab @ Bb), ("einsum", lambda: np.einsum("bij,bjk->bik", Ab, Bb, optimize=True))])
    p = 32
    Ap, Bp = r(p, p, p, p), r(p, p, p, p)
    bench(f"permuted {p}^4 avxu,uvyt", "permuted", [p] * 6, [Ap, Bp], (p, p, p, p), 2 * p**6,
          [("einsum", lambda: np.einsum("avxu,uvyt->axyt", Ap, Bp, optimize=True)),
           ("tensordot", lambda: np.tensordot(Ap, Bp, ((1, 3), (1, 0))))])
    kn = 64
    K1, K2, K3, K4 = r(kn, kn), r(kn, kn), r(kn, kn), r(kn, kn)
    xk = r(kn ** 3)
    # vec trick: (A ⊗ B ⊗ C) x = mode products of x reshaped to n x n x n
    vec3 = lambda: np.einsum("ia,jb,kc,abc->ijk", K1, K2, K3, xk.reshape(kn, kn, kn), optimize=True).reshape(-1)
    bench(f"kron3 matvec n={kn}", "kron3_matvec", [kn], [K1, K2, K3, xk], (kn ** 3,), 6 * kn ** 4,
          [("vec trick (einsum)", vec3),
           ("tensordot x3", lambda: np.tensordot(K3, np.tensordot(K2, np.tensordot(K1, xk.reshape(kn, kn, kn), (1, 0)),
                                                                   (1, 1)), (1, 2)).transpose(2, 1, 0).reshape(-1))])
    mn = 96
    M1k, M2k, M3k, M4k, xm = r(mn, mn), r(mn, mn), r(mn, mn), r(mn, mn), r(mn * mn)
    mixed = lambda: (M1k @ M3k @ xm.reshape(mn, mn) @ (M2k @ M4k).T).reshape(-1)
    bench(f"(A⊗B)(C⊗D)x n={mn}", "kron_mixed", [mn], [M1k, M2k, M3k, M4k, xm], (mn * mn,), 4 * mn ** 3,
          [("AC X (BD)^T", mixed),
           ("4 mode products", lambda: (M1k @ (M3k @ xm.reshape(mn, mn) @ M4k.T) @ M2k.T).reshape(-1))])
    nn = 256
    N1, N2, xn = r(nn, nn), r(nn, nn), r(nn * nn)
    bench(f"K = kron(A,B); K x n={nn}", "kron_named", [nn], [N1, N2, xn], (nn * nn,), 4 * nn ** 3,
          [("A X B^T", lambda: (N1 @ xn.reshape(nn, nn) @ N2.T).reshape(-1))])
    gn = 32
    gx = np.arange(gn) / (gn - 1)
    G1, G2, G3 = (np.exp(-0.5 * (gx[:, None] - gx[None, :]) ** 2 / l ** 2) for l in (0.2, 0.3, 0.5))
    gy, gs = r(gn ** 3), 0.1

    def np_gp():   # eigh of each factor, rotate, divide, rotate back
        (l1, Q1), (l2, Q2), (l3, Q3) = np.linalg.eigh(G1), np.linalg.eigh(G2), np.linalg.eigh(G3)
        t = np.einsum("ia,jb,kc,ijk->abc", Q1, Q2, Q3, gy.reshape(gn, gn, gn), optimize=True)
        t /= l1[:, None, None] * l2[None, :, None] * l3[None, None, :] + gs
        return np.einsum("ia,jb,kc,abc->ijk", Q1, Q2, Q3, t, optimize=True).reshape(-1)
    gp_fn = getattr(lib, "kron_gp_solve")
    gp_out = np.empty(gn ** 3)
    gp_s = ctypes.c_double(gs)   # scalars go by pointer (docs/c-api.md)
    gp_args = [ctypes.c_int64(gn)] + [a.ctypes.data_as(ctypes.c_void_p) for a in (G1, G2, G3, gy)] + \
              [ctypes.byref(gp_s), gp_out.ctypes.data_as(ctypes.c_void_p)]

    def run_gp():
        if gp_fn(*gp_args) != 0:
            raise RuntimeError("kron_gp_solve failed")
    if not only or only in f"Kronecker GP solve n={gn}^3":
        ms, nms = medians_ms([run_gp, np_gp], budget)
        ref = np_gp()
        ok = np.allclose(gp_out, ref, rtol=1e-6, atol=1e-6 * float(np.abs(ref).max()))
        print(f"Kronecker GP solve n={gn}^3\t{threads}\t{ms:.4f}\t{nms:.4f}\teigh + mode products\t"
              f"{12 * gn ** 4 / ms / 1e6:.2f}\t{'ok' if ok else 'bad'}")
        sys.stdout.flush()
    # attention: numpy's best hand form keeps the n x m scores
    an, ad = (1024 if quick else 4096), 64
    Qa, Ka, Va = (r(an, ad).astype(np.float32) for _ in range(3))
    sc = np.float32(1 / math.sqrt(ad))

    def np_attention(S):
        S -= S.max(axis=-1, keepdims=True)
        np.exp(S, out=S)
        return (S @ Va) / S.sum(axis=-1, keepdims=True)
    bench(f"attention n={an} d=64 f32", "attention", [an, ad, an, ad], [Qa, Ka, Va], (an, ad), 4 * an * an * ad,
          [("softmax(QK^T) V", lambda: np_attention((Qa @ Ka.T) * sc))], np.float32)
    causal = np.tril(np.ones((an, an), dtype=bool))
    bench(f"causal attention n={an} f32", "causal_attention", [an, ad, ad], [Qa, Ka, Va], (an, ad), 2 * an * an * ad,
          [("where(tril, QK^T, -inf)", lambda: np_attention(np.where(causal, (Qa @ Ka.T) * sc, np.float32(-np.inf))))],
          np.float32)
    window = causal & ~np.tril(np.ones((an, an), dtype=bool), -128)
    bench(f"sliding window 128 n={an} f32", "sliding_attention", [an, ad, ad], [Qa, Ka, Va], (an, ad),
          4 * an * 128 * ad,
          [("where(band, QK^T, -inf)", lambda: np_attention(np.where(window, (Qa @ Ka.T) * sc, np.float32(-np.inf))))],
          np.float32)
    # decoding: one query against a long K/V
    dm = 16384 if quick else 65536
    qd, Kd, Vd = r(1, ad).astype(np.float32), r(dm, ad).astype(np.float32), r(dm, ad).astype(np.float32)

    def np_decode():
        s = (qd @ Kd.T) * sc
        s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        return (s @ Vd) / s.sum(axis=-1, keepdims=True)
    bench(f"decoding 1 query, {dm} keys f32", "attention", [1, ad, dm, ad], [qd, Kd, Vd], (1, ad), 4 * dm * ad,
          [("softmax(q K^T) V", np_decode)], np.float32)
    # 2-simplicial attention: softmax over key pairs (j, k)
    sn, sd = (128 if quick else 256), 32
    Qs, K1, K2, V1, V2 = (r(sn, sd).astype(np.float32) for _ in range(5))
    ss = np.float32(1 / math.sqrt(sd))

    def np_simplicial():
        S = (Qs[:, None, :] * K1[None, :, :]) @ K2.T       # [n, j, k]
        S *= ss
        S -= S.max(axis=(1, 2), keepdims=True)
        np.exp(S, out=S)
        l = S.sum(axis=(1, 2))
        return ((S @ V2) * V1[None, :, :]).sum(axis=1) / l[:, None]
    bench(f"2-simplicial n={sn} d={sd} f32", "simplicial_attention", [sn, sd, sn, sd], [Qs, K1, K2, V1, V2],
          (sn, sd), 4 * sn * sn * sn * sd, [("(Q*K1) K2^T, softmax, P V2 * V1", np_simplicial)], np.float32)
    hb, hh, hn = 2, 8, (512 if quick else 1024)
    Qh, Kh, Vh = (r(hb, hh, hn, ad).astype(np.float32) for _ in range(3))

    def np_mha():
        S = (Qh @ Kh.transpose(0, 1, 3, 2)) * sc
        S -= S.max(axis=-1, keepdims=True)
        np.exp(S, out=S)
        return (S @ Vh) / S.sum(axis=-1, keepdims=True)
    bench(f"multi-head 2x8 n={hn} f32", "mha", [hb, hh, hn, ad, hn, ad], [Qh, Kh, Vh], (hb, hh, hn, ad),
          4 * hb * hh * hn * hn * ad, [("batched softmax(QK^T) V", np_mha)], np.float32)
    k = 100000
    As, Bs = r(k, 4, 4), r(k, 4, 4)
    bench("100000 4x4 products", "batched", [k, 4, 4, 4], [As, Bs], (k, 4, 4), 2 * k * 64,
          [("matmul", lambda: As @ Bs), ("einsum", lambda: np.einsum("bij,bjk->bik", As, Bs, optimize=True))])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
        child(sys.argv[2], int(sys.argv[3]), "--quick" in sys.argv, only)
    else:
        parent(sys.argv)
