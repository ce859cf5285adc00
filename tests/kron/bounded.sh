#!/bin/sh
# bounded.sh TNSC — Kronecker products read inside contractions are never
# built (passes/structure.c): the issue's cases, whose dense products need
# 512 GiB, 32 GiB and 128 MiB, run at -O2 under a 1.5 GiB address-space
# limit and agree with the factor-by-factor form computed another way.
set -u
TNSC=${1:?usage: bounded.sh TNSC}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tnskron.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
cat >"$TMP/kron.tns" <<'TNS'
A = randn(f64[64, 64], 1)
B = randn(f64[64, 64], 2)
C = randn(f64[64, 64], 3)
x = randn(f64[262144], 4)
y[r] = kron(A, B, C)[r, c] * x[c]                    # (A x B x C) x: 512 GiB dense
ref[(i, k, m)] = A[i, j] * B[k, l] * C[m, n] * x[(j, l, n)]
e1 = max(r: abs(y[r] - ref[r])) / max(r: abs(ref[r]))
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
print("ok")
TNS
out=$( (ulimit -v 1572864; "$TNSC" run -O2 "$TMP/kron.tns") 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ "$out" != "ok" ]; then
  echo "FAIL: exit $rc"
  echo "$out" | head -n 10
  exit 1
fi
echo "kron.bounded: 3 structured products in bounded memory"
