#!/bin/sh
# Every example runs at -O0 (the naive oracle) and at -O2, passes its own
# asserts, and prints the same numbers at both levels. The tolerance follows
# the element type and the reduction length, as rounding error does:
# 16 * eps * sqrt(K), eps that of f32 when the program uses f32 (else f64),
# K from a `# reduction: K` line (default 4096, longer than any sum in these
# programs), never below 2e-8 (printing keeps 8 significant digits). A
# program whose result amplifies rounding (an iteration, a solve) states
# `# tolerance: X` with the reason.
# Usage: run.sh TNSC DIR [check|same]
#   check: only type-check (stdlib/)
#   same:  the programs may fail (a data file they expect is absent), but
#          -O0 and -O2 must exit alike and, when they succeed, print the
#          same numbers (tests/lang/good/); `# output: varies` (timings)
#          compares exit status only.
TNSC=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$2
MODE=${3:-run}
pass=0
fail=0
tmp=${TMPDIR:-/tmp}/tns_examples.$$
mkdir -p "$tmp"
# compare two outputs token by token; numbers within a relative tolerance
same_output() {
  awk -v tol="$3" '
    NR == FNR { a[NR] = $0; n = NR; next }
    { b[FNR] = $0; m = FNR }
    END {
      if (n != m) exit 1
      for (i = 1; i <= n; i++) {
        gsub(/[\[\],]/, " ", a[i]); gsub(/[\[\],]/, " ", b[i])
        k = split(a[i], x, " "); l = split(b[i], y, " ")
        if (k != l) exit 1
        for (j = 1; j <= k; j++) {
          if (x[j] == y[j]) continue
          if (x[j] !~ /^[-+0-9.eE]+$/ || y[j] !~ /^[-+0-9.eE]+$/) exit 1
          d = x[j] - y[j]; if (d < 0) d = -d
          s = x[j] < 0 ? -x[j] : x[j]
          if (d > tol * (s > 1 ? s : 1)) exit 1   # relative above 1, absolute below
        }
      }
    }' "$1" "$2"
}
# the default tolerance of one program (see the top of this file)
default_tol() {
  k=$(sed -n 's/^# reduction: *//p' "$1" | head -1)
  eps=2.2e-16
  grep -q 'f32' "$1" && eps=1.2e-7
  awk -v eps="$eps" -v k="${k:-4096}" 'BEGIN {
    t = 16 * eps * sqrt(k); if (t < 2e-8) t = 2e-8; printf "%g", t }'
}
for f in "$DIR"/*.tns; do
  name=$(basename "$f")
  if [ "$MODE" = check ]; then
    if "$TNSC" check "$f" >"$tmp/out" 2>&1; then pass=$((pass + 1)); else
      fail=$((fail + 1)); echo "FAIL: $f"; cat "$tmp/out"; fi
    continue
  fi
  tol=$(sed -n 's/^# tolerance: *//p' "$f" | head -1)
  [ -n "$tol" ] || tol=$(default_tol "$f")
  ok=1
  for O in -O0 -O2; do
    (cd "$DIR" && "$TNSC" run $O "$name") >"$tmp/out$O" 2>"$tmp/err$O"
    echo $? >"$tmp/rc$O"
    if [ "$MODE" = run ] && [ "$(cat "$tmp/rc$O")" != 0 ]; then
      ok=0; echo "FAIL: $f at $O"; cat "$tmp/err$O"
    fi
  done
  if [ "$MODE" = same ] && ! cmp -s "$tmp/rc-O0" "$tmp/rc-O2"; then
    ok=0; echo "FAIL: $f exits $(cat "$tmp/rc-O0") at -O0 but $(cat "$tmp/rc-O2") at -O2"
  fi
  if [ "$MODE" = same ] && [ "$(cat "$tmp/rc-O0")" -ge 126 ]; then
    ok=0; echo "FAIL: $f crashed"; cat "$tmp/err-O0"
  fi
  grep -q '^# output: varies' "$f" && cp "$tmp/out-O0" "$tmp/out-O2"
  if [ $ok = 1 ] && ! same_output "$tmp/out-O0" "$tmp/out-O2" "$tol"; then
    ok=0; echo "FAIL: $f prints different results at -O0 and -O2"
    diff "$tmp/out-O0" "$tmp/out-O2" | head -10
  fi
  if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
