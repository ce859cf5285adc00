#!/bin/sh
# bounded.sh TNSC — Kronecker products read inside contractions are never
# built (passes/structure.c): the issue's cases, whose dense products need
# 512 GiB, 32 GiB and 128 MiB, and the structured solves and logdet of
# passes/kronla.c (8 GiB and 512 GiB dense), and a product passed to a
# function (passes/kroninline.c), run at -O2 under a 1.5 GiB address-space
# limit and agree with the factor-by-factor form computed another way.
set -u
TNSC=${1:?usage: bounded.sh TNSC}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tnskron.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
cat >"$TMP/kron.tns" <<'TNS'
def mv(M: f64[n, m], v: f64[m]) -> f64[n] {
  z[r] = M[r, c] * v[c]
  return z
}
A = randn(f64[64, 64], 1)
B = randn(f64[64, 64], 2)
C = randn(f64[64, 64], 3)
x = randn(f64[262144], 4)
y[r] = kron(A, B, C)[r, c] * x[c]                    # (A x B x C) x: 512 GiB dense
ref[(i, k, m)] = A[i, j] * B[k, l] * C[m, n] * x[(j, l, n)]
e1 = max(r: abs(y[r] - ref[r])) / max(r: abs(ref[r]))
yf = mv(kron(A, B, C), x)                            # passed to a function (inlined)
e1 = e1 + max(r: abs(yf[r] - ref[r])) / max(r: abs(ref[r]))
P = randn(f64[256, 256], 5)
Q = randn(f64[256, 256], 6)
K = kron(P, Q)                                       # 32 GiB dense
z = randn(f64[65536], 7)
w[r] = K[r, c] * z[c]
wref[(i, k)] = P[i, j] * Q[k, l] * z[(j, l)]
e2 = max(r: abs(w[r] - wref[r])) / max(r: abs(wref[r]))
D = randn(f64[64, 64], 8)
s = randn(f64[4096], 9)
v[r] = kron(A, B)[r, t] * kron(C, D)[t, c] * s[c]    # (A x B)(C x D) s
vref[(i, k)] = A[i, j] * B[k, l] * C[j, m] * D[l, n] * s[(m, n)]
e3 = max(r: abs(v[r] - vref[r])) / max(r: abs(vref[r]))
assert(e1 < 1e-10 && e2 < 1e-10 && e3 < 1e-10, "structured product differs from the factor form")
# solve and logdet (passes/kronla.c): a 32^3 Kronecker GP (8 GiB dense) and
# a 64^3 Kronecker product (512 GiB), checked by multiplying back.
g[i: 32] = f64(i) / 31.0
G1[i: 32, j: 32] = exp(-0.5 * (g[i] - g[j]) * (g[i] - g[j]) / 0.04)
G2[i: 32, j: 32] = exp(-0.5 * (g[i] - g[j]) * (g[i] - g[j]) / 0.09)
G3[i: 32, j: 32] = exp(-0.5 * (g[i] - g[j]) * (g[i] - g[j]) / 0.25)
yg = randn(f64[32768], 10)
KG[r, c] = kron(G1, G2, G3)[r, c] + 0.1 * f64(r == c)
al = solve(KG, yg)
back[r] = KG[r, c] * al[c]                           # K itself, read term by term
e4 = max(r: abs(back[r] - yg[r])) / max(r: abs(yg[r]))
ld = logdet(KG)
S[i, j] = A[i, k] * A[j, k] + 64.0 * f64(i == j)
T[i, j] = B[i, k] * B[j, k] + 64.0 * f64(i == j)
U[i, j] = C[i, k] * C[j, k] + 64.0 * f64(i == j)
xs = solve(kron(S, T, U), x)
xb[r] = kron(S, T, U)[r, c] * xs[c]
e5 = max(r: abs(xb[r] - x[r])) / max(r: abs(x[r]))
assert(e4 < 1e-8 && e5 < 1e-10, "structured solve does not solve the system")
# a product redefined in a loop as a factor changes (loop-carried): 512 GiB
Ac = randn(f64[64, 64], 11)
Kc = kron(Ac, B, C)
xc = x
for t in 0..2 {
  yc[r] = Kc[r, c] * xc[c]
  xc[r] = yc[r] / sqrt(sum(c: yc[c] * yc[c]))
  Ac[i, j] = Ac[i, j] * 0.5
  Kc = kron(Ac, B, C)
}
assert(abs(sum(r: xc[r] * xc[r]) - 1.0) < 1e-9, "loop-carried product")
assert(ld > -1e6 && ld < 1e6, "structured logdet is not finite")
print("ok")
TNS
out=$( (ulimit -v 1572864; "$TNSC" run -O2 "$TMP/kron.tns") 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ "$out" != "ok" ]; then
  echo "FAIL: exit $rc"
  echo "$out" | head -n 10
  exit 1
fi
echo "kron.bounded: 3 structured products, a call, a loop-carried product, 2 solves and a logdet in bounded memory"
