#!/bin/sh
# REPL latency: time from a statement (a 100x100 matrix product) to its
# answer, end to end (parse, check, lower, JIT-compile, run, print).
# Measured as the slope between a session with 1 and with 41 such inputs,
# median of 5 runs, so process start-up does not count.
TNSC=${1:-build/tnsc}
setup='A = randn(f64[100, 100], 1)
B = randn(f64[100, 100], 2)'
stmt='C[i, k] = A[i, j] * B[j, k]'
session() {
  echo "$setup"
  i=0
  while [ $i -lt "$1" ]; do echo "$stmt"; i=$((i + 1)); done
}
wall() { # seconds for one session with $1 statements
  session "$1" > /tmp/tns_lat.in
  s=$(date +%s.%N)
  "$TNSC" repl < /tmp/tns_lat.in > /dev/null
  e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }' 
}
slopes=""
for r in 1 2 3 4 5; do
  t1=$(wall 1)
  t41=$(wall 41)
  slopes="$slopes $(awk -v a="$t1" -v b="$t41" 'BEGIN { printf "%.3f", (b - a) / 40 * 1000 }')"
done
rm -f /tmp/tns_lat.in
med=$(for x in $slopes; do echo "$x"; done | sort -n | sed -n 3p)
printf 'repl latency, 100x100 matrix product statement: median %.1f ms per input (target < 50 ms)\n' "$med"
