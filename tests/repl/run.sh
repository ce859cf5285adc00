#!/bin/sh
# Scripted REPL sessions: each sessions/NAME.in is fed to `tnsc repl` on
# stdin; stdout must equal NAME.out and stderr NAME.err (empty if absent).
# A line TIME in NAME.out matches the output of :time. Also checks
# --strict and the exit status.
TNSC=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$(cd "$2" && pwd)
tmp=${TMPDIR:-/tmp}/tns_repl.$$
mkdir -p "$tmp"
pass=0
fail=0
for f in "$DIR"/sessions/*.in; do
  name=$(basename "$f" .in)
  (cd "$tmp" && "$TNSC" repl <"$f" >"$tmp/out" 2>"$tmp/err")
  rc=$?
  sed 's/^median [0-9.]* ms of 7 runs (min [0-9.]* ms)$/TIME/' "$tmp/out" >"$tmp/out2"
  exp_err="$DIR/sessions/$name.err"
  [ -f "$exp_err" ] || exp_err=/dev/null
  if [ $rc -eq 0 ] && cmp -s "$tmp/out2" "$DIR/sessions/$name.out" && cmp -s "$tmp/err" "$exp_err"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name (exit $rc)"
    diff "$DIR/sessions/$name.out" "$tmp/out2" | head -20
    diff "$exp_err" "$tmp/err" | head -20
  fi
done
# --strict: stop at the first error with status 1
printf 'x = 1\ny = nope\nprint("not reached")\n' | "$TNSC" repl --strict >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && ! grep -q "not reached" "$tmp/out" && grep -q "undefined name 'nope'" "$tmp/err"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: --strict (exit $rc)"
fi
# stdout and stderr into one file: printed values and errors in input
# order (stdout is flushed before each error)
printf 'x = 1.0\ny = nope\nz = 2.0\n:nosuch\nprint(3.0)\nassert(x > 2.0, "too small")\nw = 4.0\n' |
  (cd "$tmp" && "$TNSC" repl >"$tmp/both" 2>&1)
grep -o "^x: f64\|name 'nope'\|^z: f64\|':nosuch'\|^3\.0\|failed: too small\|^w: f64" "$tmp/both" | tr '\n' '|' >"$tmp/order"
if [ "$(cat "$tmp/order")" = "x: f64|name 'nope'|z: f64|':nosuch'|3.0|failed: too small|w: f64|" ]; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: output and errors out of order:"; cat "$tmp/both"
fi
rm -rf "$tmp"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
