# common.sh — sourced by the tests in this folder: a scratch folder that
# goes away at exit, and pass/fail counting.
#   step NAME COMMAND...   runs COMMAND, output to $tmp/log; counts it
#   expect NAME REGEX COMMAND...  like step, and the output must match REGEX
#   ok NAME / bad NAME     count a check done by hand
#   finish                 prints "N passed, N failed", exits 1 on a failure
pass=0
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tns_install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() {
  fail=$((fail + 1))
  echo "FAIL: $1"
  [ -s "$tmp/log" ] && sed 's/^/  | /' "$tmp/log" | head -40
  : >"$tmp/log"
}
step() {
  name=$1
  shift
  if "$@" >"$tmp/log" 2>&1; then ok "$name"; else bad "$name"; fi
}
expect() {
  name=$1
  re=$2
  shift 2
  if "$@" >"$tmp/log" 2>&1 && grep -Eq "$re" "$tmp/log"; then ok "$name"
  else echo "(expected output matching: $re)" >>"$tmp/log"; bad "$name"; fi
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}
