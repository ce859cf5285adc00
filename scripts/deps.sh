#!/bin/sh
# Install the Debian packages tnsc needs (when root), or print the apt-get line.
# Usage: scripts/deps.sh [--quiet] [--bench]
#   --bench: the packages of `make bench` instead (numpy, scipy for the
#            gallery's exact GeLU, matplotlib for the speed-up charts,
#            Eigen and g++ for the stronger-peer comparison)
#   --quiet: no note about missing optional packages
# Optional for `make check`: graphviz (tests/explain/dot.py renders the
# `tnsc explain --dot` output with it; without it only the structural
# checks run). Installed when root, never required.
set -e
PKGS="cmake ninja-build pkg-config make gcc g++ llvm-19-dev clang-19 libclang-rt-19-dev re2c lemon \
libcriterion-dev libffi-dev libopenblas-dev liblapacke-dev libedit-dev python3"
OPTIONAL="graphviz"
quiet=""
for a in "$@"; do
  [ "$a" = --bench ] && PKGS="python3 python3-numpy python3-scipy python3-matplotlib libeigen3-dev g++" && OPTIONAL=""
  [ "$a" = --quiet ] && quiet=1
done
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
missing_opt=""
for p in $OPTIONAL; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing_opt="$missing_opt $p"
done
[ -z "$missing$missing_opt" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing:$missing$missing_opt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing $missing_opt
elif [ -n "$missing" ]; then
  echo "deps: missing packages; run as root:" >&2
  echo "  apt-get install -y$missing$missing_opt" >&2
  exit 1
elif [ -z "$quiet" ]; then
  echo "deps: optional, to render \`tnsc explain --dot\` in the tests: apt-get install -y$missing_opt" >&2
fi
