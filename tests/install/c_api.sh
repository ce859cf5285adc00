#!/bin/sh
# examples/c_api with its own CMake project (cmake/TNSC.cmake), copied to a
# scratch folder, built by the tnsc under test, run, and rebuilt when
# model.tns changes.
# Usage: c_api.sh TNSC SOURCE_DIR
TNSC=$1
SRC=$2
. "$(dirname "$0")/common.sh"
B=$tmp/build
mkdir -p "$tmp/src/examples" && cp -R "$SRC/cmake" "$tmp/src/" &&
  cp -R "$SRC/examples/c_api" "$tmp/src/examples/" || exit 1

step "configure examples/c_api" \
  cmake -S "$tmp/src/examples/c_api" -B "$B" -G Ninja -DTNSC_EXECUTABLE="$TNSC"
step "build examples/c_api" cmake --build "$B"
step "header and object in the binary dir" \
  test -f "$B/model.tnsc/model.h" -a -f "$B/model.tnsc/model.o" -a -f "$B/libmodel.a"
step "header declares the exported functions only" sh -c "
  grep -q '^int attention(int64_t n, int64_t d, int64_t m, int64_t e, const float \*Q, const float \*K, const float \*V, float \*out);' '$B/model.tnsc/model.h' &&
  grep -q '^int column_stats(int64_t n, int64_t d, const double \*X, double \*out0, double \*out1);' '$B/model.tnsc/model.h' &&
  grep -q '^int unit_rows_f32(' '$B/model.tnsc/model.h' &&
  ! grep -q '_mean_square\|^int unit_rows(' '$B/model.tnsc/model.h'"
step "c_api_demo matches its C reference" sh -c "
  '$B/c_api_demo' >'$tmp/out' 2>&1; rc=\$?; cat '$tmp/out'
  [ \$rc = 0 ] && grep -q 'all results match' '$tmp/out'"
# Up to date after a build; a changed .tns file rebuilds the object.
step "no work after a build" sh -c "cmake --build '$B' -- -n | grep -q 'no work to do'"
step "touching model.tns reruns tnsc obj" sh -c "
  sleep 1; touch '$tmp/src/examples/c_api/model.tns'
  cmake --build '$B' -- -n | grep -q 'tnsc obj'"
finish
