#!/bin/sh
# run_programs.sh TNSC DIR — runnable language tests (DIR is tests/lang/run).
# Every DIR/*.tns is run with `tnsc run -O0` and with `tnsc run -O2`, from
# a scratch copy of DIR (so relative paths like "data/x.npy" work and files
# a program saves do not land in the source tree). A program states:
#   # expect: LINE   its stdout, line by line, in order (exactly; "# expect:"
#                    alone is an empty line). The lines come from numpy:
#                    see gen_expect.py and the program's `#| ` lines.
#   # exit: N        the exit code (default 0)
#   # stderr: TEXT   a text that stderr must contain (any number of these);
#                    without any, stderr must be empty
# Always: no `error:` line without a message, no crash (exit >= 126).
# Prints each failure, then `N passed, N failed` (one count per program and
# level); exits 1 on any failure.
ME=run_programs.sh
. "$(dirname "$0")/common.sh"

for f in "$DIR"/*.tns; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  sed -n -e 's/^# expect: //p' -e 's/^# expect:$//p' "$f" >"$TMP/expect"
  want_rc=$(sed -n 's/^# exit:[ 	]*\([0-9][0-9]*\).*/\1/p' "$f" | tail -n 1)
  [ -n "$want_rc" ] || want_rc=0
  sed -n 's/^# stderr: //p' "$f" >"$TMP/stderr_want"
  for opt in -O0 -O2; do
    rm -rf "$TMP/work"
    cp -R "$DIR" "$TMP/work"
    (cd "$TMP/work" && $LIMIT "$TNSC" run $opt "$name" >"$TMP/out" 2>"$TMP/err")
    rc=$?
    problems=
    [ "$rc" -eq "$want_rc" ] || problems="exit code $rc, expected $want_rc"
    if ! cmp -s "$TMP/expect" "$TMP/out"; then
      problems="$problems${problems:+
}stdout differs (--- expected from numpy, +++ tnsc):
$(diff -u "$TMP/expect" "$TMP/out" | sed '1,2d' | head -n 40)"
    fi
    if [ -s "$TMP/stderr_want" ]; then
      while IFS= read -r text; do
        grep -F -e "$text" "$TMP/err" >/dev/null ||
          problems="$problems${problems:+
}stderr lacks: $text"
      done <"$TMP/stderr_want"
    elif [ -s "$TMP/err" ]; then
      problems="$problems${problems:+
}unexpected stderr"
    fi
    if grep -E 'error:[[:space:]]*$' "$TMP/err" >/dev/null; then
      problems="$problems${problems:+
}an error without a message"
    fi
    if [ "$rc" -ge 126 ]; then
      problems="$problems${problems:+
}crashed or killed (exit $rc)"
    fi
    if [ -z "$problems" ]; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      printf 'FAIL %s %s\n' "$opt" "$f"
      {
        printf '%s\n' "$problems"
        if [ -s "$TMP/err" ]; then echo "--- stderr:"; head -n 20 "$TMP/err"; fi
      } | sed 's/^/  /'
    fi
  done
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
