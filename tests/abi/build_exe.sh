#!/bin/sh
# tnsc build: an executable runs the top-level statements, prints, and
# exits 2 with file:line:col on a run-time error.
TNSC=$1
SRC=$2
tmp=${TMPDIR:-/tmp}/tns_build.$$
mkdir -p "$tmp"
pass=0
fail=0
check() { if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi; }

cat > "$tmp/hello.tns" <<'TNS'
A: f64[2, 2] = [[1, 2], [3, 4]]
B[i, k] = A[i, j] * A[j, k]
print("B =", B)
print(sum(i: B[i, i]))
TNS
"$TNSC" build "$tmp/hello.tns" -o "$tmp/hello" && out=$("$tmp/hello")
expect='B = [[ 7. 10.]
 [15. 22.]]
29.0'
[ "$out" = "$expect" ] && check ok hello || { check bad "hello printed: $out"; }

cat > "$tmp/fails.tns" <<'TNS'
x = 3.0
assert(x < 2.0, "x is too big")
TNS
"$TNSC" build "$tmp/fails.tns" -o "$tmp/fails"
"$tmp/fails" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "fails.tns:2:1: error: .*x is too big" "$tmp/err" && check ok fails || check bad "assert exe: rc=$rc $(cat "$tmp/err")"

"$TNSC" build "$tmp/hello.tns" 2>"$tmp/err"
[ $? = 2 ] && grep -q "usage" "$tmp/err" && check ok usage || check bad "build without -o"

rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
