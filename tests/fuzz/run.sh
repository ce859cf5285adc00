#!/bin/sh
# tests/fuzz/run.sh — the libFuzzer targets (docs/testing.md).
#   run.sh check BUILD        every target over its seed corpus and its
#                             regression files only (-runs=0: no mutation);
#                             fast and deterministic, part of `make check`
#   run.sh fuzz BUILD [SECS] [TARGET...]
#                             mutate for SECS seconds per target (default
#                             300); a crash is written to
#                             tests/fuzz/regressions/TARGET/ and kept
# BUILD is a tree configured with -DTNS_FUZZ=ON (build-fuzz).
set -u
MODE=${1:?usage: run.sh check|fuzz BUILD [SECS] [TARGET...]}
BUILD=$(cd "${2:?usage: run.sh check|fuzz BUILD}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${3:-300}
[ $# -ge 3 ] && shift 3 || shift $#
TARGETS=${*:-fuzz_frontend fuzz_npy fuzz_frostt fuzz_repl}
CORPUS=$BUILD/fuzz/corpus
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

# Seed corpora, rebuilt from the tree each time (never committed).
seed() {
  rm -rf "$CORPUS/seed_$1"
  mkdir -p "$CORPUS/seed_$1" "$CORPUS/$1"
  case $1 in
  fuzz_frontend)
    find "$SRC/tests/lang" "$SRC/examples" "$SRC/stdlib" -name '*.tns' ! -name '*frostt*' |
      while read -r f; do cp "$f" "$CORPUS/seed_$1/$(echo "$f" | cksum | cut -d' ' -f1).tns"; done ;;
  fuzz_repl)
    cp "$SRC"/tests/repl/sessions/*.in "$CORPUS/seed_$1/" ;;
  fuzz_npy)
    cp "$SRC"/tests/unit/data/*.npy "$SRC"/tests/lang/run/data/*.npy "$CORPUS/seed_$1/" ;;
  fuzz_frostt)   # rank, then dimensions (each byte % 8 + 1), then the text
    for f in "$SRC"/tests/lang/run/data/*frostt*.tns; do
      { printf '\001\003\003'; cat "$f"; } >"$CORPUS/seed_$1/$(basename "$f")"
    done
    printf '\002\003\003# c\n1 1 1.5\n3 3 -2e3\n\n' >"$CORPUS/seed_$1/small"
    printf '\003\001\001\001\0011 1 1 1 nan\n' >"$CORPUS/seed_$1/rank4" ;;
  esac
}

flags() {
  case $1 in
  fuzz_frontend) echo "-dict=$SRC/tests/fuzz/tns.dict -max_len=4096" ;;
  fuzz_repl) echo "-dict=$SRC/tests/fuzz/tns.dict -max_len=1024 -timeout=20 -close_fd_mask=1" ;;
  *) echo "-max_len=4096" ;;
  esac
}

fail=0
for t in $TARGETS; do
  bin=$BUILD/fuzz/$t
  [ -x "$bin" ] || { echo "fuzz: $bin missing (make fuzz builds it)"; exit 2; }
  seed "$t"
  reg=$SRC/tests/fuzz/regressions/$t
  mkdir -p "$reg"
  if [ "$MODE" = check ]; then
    # regression files and seeds, each run once
    # (a log of its own: a long fuzz run may be writing $t.log)
    log=$CORPUS/$t.check.log
    if "$bin" $(flags "$t") -runs=0 "$CORPUS/seed_$t" "$reg" >"$log" 2>&1; then
      echo "fuzz check $t: ok ($(grep -a -o 'INITED.*' "$log" | head -1 | cut -c1-60))"
    else
      fail=1; echo "fuzz check $t: FAILED"; tail -40 "$log"
    fi
  else
    echo "fuzz $t for ${SECS}s"
    "$bin" $(flags "$t") -max_total_time="$SECS" -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$reg/" "$CORPUS/$t" "$CORPUS/seed_$t" >"$CORPUS/$t.log" 2>&1
    st=$?
    # libFuzzer writes inputs slower than 10 s next to crashes: not
    # findings (a long REPL session under ASan), kept with the corpus
    mkdir -p "$CORPUS/slow_$t"
    for f in "$reg"/slow-unit-*; do [ -f "$f" ] && mv "$f" "$CORPUS/slow_$t/"; done
    grep -a -E '^stat::number_of_executed_units|^stat::peak_rss|#[0-9]+.*DONE' "$CORPUS/$t.log" | tail -3
    if [ $st -ne 0 ]; then fail=1; echo "fuzz $t: FOUND A CRASH (kept in $reg/):"; grep -a -E 'ERROR|SUMMARY|artifact' "$CORPUS/$t.log" | head; fi
  fi
done
exit $fail
