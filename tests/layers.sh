#!/bin/sh
# layers.sh BUILD_DIR SOURCE_DIR — the compiler's stages, one folder each
# under compiler/, may only depend downwards (docs/architecture.md):
#   base <- front <- sema <- tir <- opt <- lir <- cg <- driver
# The build gives each folder only the include paths of the folders below
# it; that alone does not stop `#include "../opt/x.h"` or a hand-written
# prototype, so this test checks
#  1. grammar.h / token.h (the parser's token codes) are included only in
#     front/;
#  2. with nm: every undefined symbol of a stage's objects is defined in the
#     same or a lower stage (or outside the compiler: LLVM, libc, runtime);
#  3. every .c file of compiler/ lies in one of the stage folders.
set -u
build=$1; src=$2
stages="base front sema tir opt lir cg driver"
fail=0

# 1. tokens stay in the front end
for f in $(grep -rl -E '#include "(grammar|token)\.h"' "$src"/compiler --include='*.[chy]' --include='*.re'); do
  case $f in
    "$src"/compiler/front/*) ;;
    *) echo "layers: $f includes the parser's tokens (front end only)"; fail=1 ;;
  esac
done

# 3. no source outside the stage folders
for f in $(find "$src"/compiler -name '*.c' -o -name '*.h' -o -name '*.re' -o -name '*.y'); do
  d=$(basename "$(dirname "$f")")
  case " $stages " in *" $d "*) ;; *) echo "layers: $f is in no stage folder"; fail=1 ;; esac
done

# 2. rank of an object file's stage, from its object library tns_STAGE
rank_of() {
  n=0
  for s in $stages; do
    case $1 in */tns_$s.dir/*) echo $n; return ;; esac
    n=$((n + 1))
  done
  echo 99
}
objs=$(find "$build"/compiler -name '*.o' -path '*/tns_*.dir/*')
[ -n "$objs" ] || { echo "layers: no objects under $build/compiler"; exit 1; }
defs=$(mktemp); trap 'rm -f "$defs"' EXIT
for o in $objs; do
  r=$(rank_of "$o")
  nm -g --defined-only "$o" | awk -v r="$r" '{print $3, r}'
done | sort -u > "$defs"
for o in $objs; do
  r=$(rank_of "$o")
  for sym in $(nm -u "$o" | awk '{print $2}'); do
    t=$(awk -v x="$sym" '$1 == x {print $2; exit}' "$defs")
    [ -z "$t" ] && continue            # outside the compiler
    if [ "$t" -gt "$r" ]; then
      echo "layers: $o (stage $r) uses $sym from stage $t"; fail=1
    fi
  done
done
[ $fail = 0 ] && echo "layers: ok ($(echo "$objs" | wc -l) objects)"
exit $fail
