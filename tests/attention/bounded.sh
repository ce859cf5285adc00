#!/bin/sh
# bounded.sh TNSC — fused attention (passes/attention.c) never builds the
# n x m scores: causal attention at n = 16384 (whose f32 scores alone take
# 1 GiB, and the probabilities as much again) runs at -O2 under a 768 MiB address-space limit, and four rows
# agree with the softmax spelled out (max, exp, sum) for those rows only.
set -u
TNSC=${1:?usage: bounded.sh TNSC}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tnsattn.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
cat >"$TMP/big.tns" <<'TNS'
Q = randn(f32[16384, 16], 1)
K = randn(f32[16384, 16], 2)
V = randn(f32[16384, 16], 3)
S[i, j] = where(j <= i, Q[i, c] * K[j, c] / 4.0, -inf)   # 1 GiB if built
P[i, j] = softmax(j: S[i, j])                            # and 1 GiB more
O[i, x] = P[i, j] * V[j, x]
# rows 0, 5461, 10922, 16383 spelled out
s[t: 4, j] = where(j <= 5461 * t, sum(c: Q[5461 * t, c] * K[j, c]) / 4.0, -inf)
mx[t] = max(j: s[t, j])
w[t, j] = exp(s[t, j] - mx[t])
z[t] = sum(j: w[t, j])
R[t, x] = w[t, j] * V[j, x] / z[t]
err = max(t, x: abs(O[5461 * t, x] - R[t, x]))
# f32 sums of up to m + d terms: 16 * sqrt(16384 + 16) * 2^-23 of the outputs' size
tol = 16.0 * sqrt(16400.0) * 1.2e-7 * max(1.0, max(t, x: abs(f64(R[t, x]))))
assert(f64(err) < tol, "fused attention differs from the spelled-out rows")
print("ok")
TNS
out=$( (ulimit -v 786432; "$TNSC" run -O2 "$TMP/big.tns") 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ "$out" != "ok" ]; then
  echo "FAIL: exit $rc"
  echo "$out" | head -n 10
  exit 1
fi
echo "attention.bounded: causal attention at n = 16384 in bounded memory"
