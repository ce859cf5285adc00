# common.sh — sourced by the runners of tests/lang (run_programs.sh,
# no_crash.sh) after they set ME: takes TNSC and DIR from the arguments
# (TNSC made absolute), a scratch folder TMP removed on exit, LIMIT (a
# per-program time limit where `timeout` exists) and the pass/fail counts.
set -u
TNSC=${1:?usage: $ME TNSC DIR}
DIR=${2:?usage: $ME TNSC DIR}
case $TNSC in /*) ;; */*) TNSC=$(cd "$(dirname "$TNSC")" && pwd)/$(basename "$TNSC") ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tnslang.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
LIMIT=
if command -v timeout >/dev/null 2>&1; then LIMIT="timeout 120"; fi
pass=0
fail=0
