#!/bin/sh
# examples/python_ctypes: tnsc lib makes a self-contained .so, which Python
# calls through ctypes with numpy arrays. Needs numpy for /usr/bin/python3;
# without it the test is reported as skipped (exit 77), not passed.
# Usage: python_ctypes.sh TNSC SOURCE_DIR
TNSC=$1
SRC=$2
PY=${TNS_PYTHON:-/usr/bin/python3}
. "$(dirname "$0")/common.sh"
if ! "$PY" -c "import numpy" 2>/dev/null; then
  echo "numpy not installed: python_ctypes not run"
  echo "0 passed, 0 failed"
  exit 77
fi
step "tnsc lib ops.tns" "$TNSC" lib "$SRC/examples/python_ctypes/ops.tns" -o "$tmp/libops.so" -H "$tmp/ops.h"
step "the .so needs no libtnsrt.so" sh -c "! ldd '$tmp/libops.so' | grep -q libtnsrt"
step "the .so exports the functions and tns_last_error" sh -c "
  nm -D --defined-only '$tmp/libops.so' > '$tmp/syms' &&
  grep -q ' T attention$' '$tmp/syms' && grep -q ' T column_stats$' '$tmp/syms' &&
  grep -q ' T count_above$' '$tmp/syms' && grep -q ' T tns_last_error$' '$tmp/syms'"
step "demo.py matches numpy" sh -c "
  cd '$tmp' && '$PY' '$SRC/examples/python_ctypes/demo.py' ./libops.so >out 2>&1; rc=\$?; cat out
  [ \$rc = 0 ] && grep -q 'all results match numpy' out"
finish
