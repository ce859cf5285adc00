#!/bin/sh
# no_crash.sh TNSC DIR — every .tns file under DIR (tests/lang: good, bad,
# run, and the helpers they import) goes through `check` and `emit llvm`,
# and the bad ones also through `run -O0` and `run -O2` (lang.run and the
# differential test already run the others and fail on a signal).
# Whatever the program, no stage may die on a signal (exit >= 126: abort
# 134, segfault 139; a timeout 124 too) or print "internal error". Prints
# each failure, then `N passed, N failed`.
ME=no_crash.sh
. "$(dirname "$0")/common.sh"
for f in $(find "$DIR" -name '*.tns' | sort); do
  # run from a scratch copy of the file's folder: saves land there
  rm -rf "$TMP/work"
  cp -R "$(dirname "$f")" "$TMP/work"
  name=$(basename "$f")
  stages="check|emit llvm"
  case $f in */bad/*) stages="$stages|run -O0|run -O2" ;; esac
  IFS='|'
  for stage in $stages; do
    unset IFS
    (cd "$TMP/work" && $LIMIT "$TNSC" $stage "$name" >/dev/null 2>"$TMP/err" </dev/null)
    rc=$?
    if [ "$rc" -ge 124 ] || grep -q "internal error" "$TMP/err"; then
      fail=$((fail + 1))
      echo "FAIL: tnsc $stage $f: exit $rc"
      head -n 5 "$TMP/err"
    else
      pass=$((pass + 1))
    fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
