#!/bin/sh
# Install the Debian packages tnsc needs (when root), or print the apt-get line.
# Usage: scripts/deps.sh [--quiet] [--bench]
#   --bench: the packages of `make bench` instead (numpy, scipy for the
#            gallery's exact GeLU, matplotlib for the speed-up charts)
set -e
PKGS="cmake ninja-build pkg-config make gcc g++ llvm-19-dev clang-19 libclang-rt-19-dev re2c lemon \
libcriterion-dev libffi-dev libopenblas-dev liblapacke-dev libedit-dev python3"
for a in "$@"; do
  [ "$a" = --bench ] && PKGS="python3 python3-numpy python3-scipy python3-matplotlib"
done
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $missing
else
  echo "deps: missing packages; run as root:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
