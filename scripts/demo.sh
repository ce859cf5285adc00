#!/bin/sh
# make demo: one example end to end — the program, what the compiler makes
# of it, and its run with the time it took.
set -e
TNSC=${1:-build/tnsc}
EX=examples/attention.tns
echo "== $EX"
cat "$EX"
echo
echo "== tnsc explain $EX   (contraction paths)"
"$TNSC" explain "$EX"
echo
echo "== tnsc run $EX"
start=$(date +%s.%N)
"$TNSC" run "$EX"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "== compiled and ran in %.3f s\n", e - s }'
