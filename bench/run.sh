#!/bin/sh
# make bench: REPL latency, compile time of the examples, the
# contraction workloads (docs/performance.md) and the paper gallery
# (docs/gallery.md), whose tables and charts it rewrites, against numpy,
# and the workloads where Eigen is the stronger peer (bench/peers.py).
BUILD=${1:-build}
PY=/usr/bin/python3
# numpy, scipy and matplotlib (the gallery's charts) from the deps script
sh "$(dirname "$0")/../scripts/deps.sh" --bench || true
if ! $PY -c "import numpy" 2>/dev/null; then
  echo "bench: numpy is not installed for $PY (apt-get install python3-numpy); workloads not run"
  exit 1
fi
echo "== $(date -u +%Y-%m-%d) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
sh "$(dirname "$0")/repl_latency.sh" "$BUILD/tnsc"
$PY "$(dirname "$0")/compile_time.py" "$BUILD/tnsc"
$PY "$(dirname "$0")/run.py" "$BUILD/tnsc" --docs "$@"
$PY "$(dirname "$0")/peers.py" "$BUILD/tnsc" --docs
$PY "$(dirname "$0")/gallery.py" "$BUILD/tnsc" --docs
