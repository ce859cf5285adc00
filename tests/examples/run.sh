#!/bin/sh
# Every example must check clean (and, once tnsc can run programs, run
# and pass its own asserts). Prints `N passed, N failed`.
TNSC=$1
DIR=$2
pass=0
fail=0
for f in "$DIR"/*.tns; do
  if "$TNSC" check "$f" >/dev/null 2>err.$$; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $f"
    cat err.$$
  fi
done
rm -f err.$$
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
