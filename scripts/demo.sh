#!/bin/sh
# make demo: show one example end to end.
set -e
TNSC=${1:-build/tnsc}
EX=examples/attention.tns
echo "== $EX"
cat "$EX"
echo
if "$TNSC" run --help >/dev/null 2>&1; then
  echo "== tnsc run $EX"
  start=$(date +%s.%N)
  "$TNSC" run "$EX"
  end=$(date +%s.%N)
  echo "== ran in $(echo "$end - $start" | bc 2>/dev/null || echo "?") s"
else
  echo "== tnsc check $EX"
  "$TNSC" check "$EX" && echo "clean: every name, type, shape and index range checks"
  echo "== typed tree of the first statements (tnsc emit ast)"
  "$TNSC" emit ast "$EX" | head -40
fi
