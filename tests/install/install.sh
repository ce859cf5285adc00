#!/bin/sh
# Installs the current build into a scratch PREFIX and uses it from there:
# the installed tnsc (config, run with std imports, obj, build), linking a C
# program through pkg-config (shared and static) and `tnsc config`, and the
# CMake package (find_package(tnsc) + tnsc_add_library).
# Usage: install.sh BUILD_DIR LIBDIR      (LIBDIR: CMAKE_INSTALL_LIBDIR)
BUILD=$1
LIBDIR=${2:-lib}
. "$(dirname "$0")/common.sh"
P=$tmp/prefix
T=$P/bin/tnsc
unset TNS_STDLIB
export PKG_CONFIG_PATH=$P/$LIBDIR/pkgconfig

step "cmake --install --prefix" cmake --install "$BUILD" --prefix "$P"

for f in bin/tnsc "$LIBDIR/libtnsrt.a" "$LIBDIR/libtnsrt.so" include/tns_runtime.h \
         "$LIBDIR/pkgconfig/tnsrt.pc" share/tnsc/stdlib/nn.tns share/tnsc/stdlib/linalg.tns \
         share/tnsc/stdlib/decomp.tns "$LIBDIR/cmake/tnsc/TNSC.cmake" \
         "$LIBDIR/cmake/tnsc/tnsc-config.cmake"; do
  if [ -e "$P/$f" ]; then ok; else : >"$tmp/log"; bad "not installed: $f"; fi
done

# tnsc config reports the install, not the build tree.
check_config() {
  [ "$("$T" config --cflags)" = "-I$P/include" ] &&
  [ "$("$T" config --stdlib)" = "$P/share/tnsc/stdlib" ] &&
  "$T" config --libs | grep -q "^$P/$LIBDIR/libtnsrt.a "
}
step "installed tnsc --version" "$T" --version
step "installed tnsc config --cflags/--libs/--stdlib name PREFIX" check_config

# A program importing the standard library runs from the install.
cat >"$tmp/nn.tns" <<'EOF'
import std.nn
P = softmax_rows([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
assert(abs(sum(j: P[1, j]) - 1.0) < 1e-12, "rows sum to one")
print("ok", P[1, 0])
EOF
expect "installed tnsc run (import std.nn)" '^ok 0\.333' "$T" run "$tmp/nn.tns"

# ... and takes std.* from PREFIX/share/tnsc/stdlib (a module only there).
printf 'def probe(x: f64) -> f64 {\n  return x + 1.0\n}\n' >"$P/share/tnsc/stdlib/probe.tns"
printf 'import std.probe\nprint(probe(41.0))\n' >"$tmp/use_probe.tns"
expect "installed tnsc imports std.* from PREFIX/share/tnsc/stdlib" '^42' \
  "$T" run "$tmp/use_probe.tns"

# tnsc obj + a C program, linked three ways.
cat >"$tmp/f.tns" <<'EOF'
def solve_scaled(A: f64[n, n], b: f64[n], s: f64) -> f64[n] {
  x = solve(A, b)
  y[i] = s * x[i]
  return y
}
EOF
cat >"$tmp/main.c" <<'EOF'
#include "f.h"
#include <stdio.h>
int main(void) {
  double A[4] = {2, 1, 1, 3}, b[2] = {3, 5}, s = 10, x[2];
  int rc = solve_scaled(2, A, b, &s, x);
  if (rc != TNS_OK) { printf("%s\n", tns_last_error()); return 1; }
  printf("%g %g\n", x[0], x[1]);
  rc = solve_scaled(-2, A, b, &s, x);
  printf("%s\n", tns_status_name(rc));
  return !(x[0] == 8 && x[1] == 14 && rc == TNS_ERR_ARG);
}
EOF
printf '8 14\nTNS_ERR_ARG\n' >"$tmp/want"
step "installed tnsc obj -H" "$T" obj "$tmp/f.tns" -o "$tmp/f.o" -H "$tmp/f.h"

# (1) pkg-config, libtnsrt.so from PREFIX
link_shared() {
  cc -std=c99 -Wall -Werror -o "$tmp/shared" "$tmp/main.c" "$tmp/f.o" \
     $(pkg-config --cflags --libs tnsrt) &&
  LD_LIBRARY_PATH=$P/$LIBDIR "$tmp/shared" >"$tmp/out" && cmp "$tmp/want" "$tmp/out" &&
  LD_LIBRARY_PATH=$P/$LIBDIR ldd "$tmp/shared" | grep -q "$P/$LIBDIR/libtnsrt.so"
}
step "pkg-config --cflags --libs tnsrt (libtnsrt.so)" link_shared

# (2) pkg-config --static: libtnsrt.a followed by Libs.private
link_static_pc() {
  cc -std=c99 -Wall -Werror -o "$tmp/static" "$tmp/main.c" "$tmp/f.o" \
     $(pkg-config --cflags tnsrt) \
     $(pkg-config --static --libs tnsrt | sed 's/-ltnsrt/-l:libtnsrt.a/') &&
  "$tmp/static" >"$tmp/out" && cmp "$tmp/want" "$tmp/out" &&
  ! ldd "$tmp/static" | grep -q libtnsrt
}
step "pkg-config --static --libs tnsrt (libtnsrt.a + Libs.private)" link_static_pc

# (3) tnsc config --cflags --libs
link_config() {
  cc -std=c99 -Wall -Werror -o "$tmp/cfg" "$tmp/main.c" "$tmp/f.o" $("$T" config --cflags --libs) &&
  "$tmp/cfg" >"$tmp/out" && cmp "$tmp/want" "$tmp/out"
}
step "cc \$(tnsc config --cflags --libs)" link_config

# The header is also C++.
step "generated header compiles as C++" \
  c++ -fsyntax-only -x c++ -Wall -Werror $(pkg-config --cflags tnsrt) "$tmp/f.h"

# tnsc build with the installed runtime.
expect "installed tnsc build" '^ok 0\.333' sh -c "'$T' build '$tmp/nn.tns' -o '$tmp/nn' && '$tmp/nn'"

# The CMake package: find_package(tnsc) sets TNSC_EXECUTABLE itself.
mkdir -p "$tmp/proj"
cp "$tmp/f.tns" "$tmp/main.c" "$tmp/proj/"
cat >"$tmp/proj/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(uses_tnsc LANGUAGES C)
find_package(tnsc 0.1 CONFIG REQUIRED)
tnsc_add_library(f f.tns HEADER f.h)
add_executable(main main.c)
target_link_libraries(main PRIVATE f)
EOF
cmake_package() {
  cmake -S "$tmp/proj" -B "$tmp/proj/build" -G Ninja -DCMAKE_PREFIX_PATH="$P" &&
  grep -qx "TNSC_EXECUTABLE:FILEPATH=$P/bin/tnsc" "$tmp/proj/build/CMakeCache.txt" &&
  cmake --build "$tmp/proj/build" &&
  "$tmp/proj/build/main" >"$tmp/out" && cmp "$tmp/want" "$tmp/out"
}
step "find_package(tnsc) + tnsc_add_library from PREFIX" cmake_package

finish
