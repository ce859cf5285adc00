#!/bin/sh
# run.sh TNSC DIR — the language tests.
#   DIR/good/*.tns  must check clean: exit 0, nothing on stderr.
#   DIR/bad/*.tns   (and DIR/bad_export/*.tns, compiled with `tnsc obj`)
#                   carry `# error: TEXT` comments. The comment's line (or
#                   the line N below/above for `# error@+N:` / `# error@-N:`)
#                   must get an `error:` whose message contains TEXT; every
#                   error printed must be on an annotated line; the exit
#                   code must be 1 and a caret line (`^~~`) must be shown.
#                   `# note: TEXT` and `# warning: TEXT` (also @+N/@-N) ask
#                   for a `note:` / `warning:` there; notes and warnings
#                   without an annotation are allowed.
# Helper files that tests import live in subfolders (good/lib, bad/lib);
# an error reported inside one is expected when its line is annotated.
# Prints each failure, then `N passed, N failed`; exits 1 on any failure.
set -u
TNSC=${1:?usage: run.sh TNSC DIR}
DIR=${2:?usage: run.sh TNSC DIR}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tnslang.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
pass=0
fail=0

# The checker: reads the diagnostics (file 1) and the test file (file 2);
# other files named by diagnostics are read with getline. Prints one line
# per problem; prints nothing when the test passes.
cat >"$TMP/check.awk" <<'EOF'
# Annotations of one line: `# error: TEXT` and `# note: TEXT`, each
# with an optional @+N / @-N, go to aline/atext/akind[file, k].
function scan(file, text, lineno,    rest, pos, body, off, tgt, kind) {
  rest = text
  while (match(rest, /#[ \t]*(error|note|warning)(@[-+][0-9]+)?:/)) {
    pos = RSTART; tgt = lineno
    body = substr(rest, RSTART, RLENGTH)
    kind = body ~ /error/ ? "error" : body ~ /warning/ ? "warning" : "note"
    if (match(body, /@[-+][0-9]+/)) tgt = lineno + substr(body, RSTART + 1, RLENGTH - 1)
    rest = substr(rest, pos + length(body))
    off = match(rest, /#[ \t]*(error|note|warning)(@[-+][0-9]+)?:/)
    body = off ? substr(rest, 1, off - 1) : rest
    sub(/^[ \t]+/, "", body); sub(/[ \t]+$/, "", body)
    nann[file]++
    aline[file, nann[file]] = tgt
    atext[file, nann[file]] = body
    akind[file, nann[file]] = kind
    if (kind == "error") annotated[file, tgt] = 1
  }
}
function load(file,    line, n) {
  if (file in loaded) return
  loaded[file] = 1
  n = 0
  while ((getline line < file) > 0) scan(file, line, ++n)
  close(file)
}
FILENAME == ARGV[1] {
  # file:LINE:COL: error: message   (or note:)
  p = index($0, ": error: "); kind = "error"
  if (p == 0) { p = index($0, ": note: "); kind = "note" }
  if (p == 0) { p = index($0, ": warning: "); kind = "warning" }
  if (p == 0) { if ($0 ~ /^[ \t]*\^~*[ \t]*$/) caret = 1; next }
  head = substr($0, 1, p - 1); msg = substr($0, p + length(kind) + 4)
  nerr++
  ekind[nerr] = kind
  if (match(head, /:[0-9]+:[0-9]+$/)) {
    efile[nerr] = substr(head, 1, RSTART - 1)
    split(substr(head, RSTART + 1), lc, ":")
    eline[nerr] = lc[1] + 0
  } else {
    efile[nerr] = ""; eline[nerr] = 0
  }
  emsg[nerr] = msg
  next
}
{ if (FNR == 1) loaded[FILENAME] = 1; scan(FILENAME, $0, FNR) }
END {
  test = ARGV[2]
  nerrors = 0
  for (i = 1; i <= nann[test]; i++) {
    nerrors += akind[test, i] == "error"
    found = 0
    for (k = 1; k <= nerr && !found; k++)
      if (ekind[k] == akind[test, i] && efile[k] == test && eline[k] == aline[test, i] &&
          index(emsg[k], atext[test, i])) found = 1
    if (!found) printf "expected at line %d: %s: %s\n", aline[test, i], akind[test, i], atext[test, i]
  }
  if (nerrors == 0) print "no '# error:' annotation in the test"
  for (k = 1; k <= nerr; k++) {
    if (ekind[k] != "error") continue
    if (efile[k] != "") load(efile[k])
    if (!((efile[k], eline[k]) in annotated))
      printf "unexpected: %s:%d: error: %s\n", efile[k], eline[k], emsg[k]
  }
  if (nerr > 0 && !caret) print "no caret line (^~~) in the output"
}
EOF

report() { # file, problems
  fail=$((fail + 1))
  printf 'FAIL %s\n%s\n' "$1" "$2" | sed '2,$s/^/  /'
}

for f in "$DIR"/good/*.tns; do
  [ -e "$f" ] || continue
  "$TNSC" check "$f" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if [ $rc -eq 0 ] && [ ! -s "$TMP/err" ]; then
    pass=$((pass + 1))
  else
    report "$f" "$(printf 'expected a clean check, got exit %d:\n' $rc; cat "$TMP/err")"
  fi
done

# bad/*.tns through `check`; bad_export/*.tns through `obj` (errors that
# only compiling for C callers reports)
for f in "$DIR"/bad/*.tns "$DIR"/bad_export/*.tns; do
  [ -e "$f" ] || continue
  case $f in
  */bad_export/*) "$TNSC" obj "$f" -o "$TMP/out.o" >"$TMP/out" 2>"$TMP/err" ;;
  *) "$TNSC" check "$f" >"$TMP/out" 2>"$TMP/err" ;;
  esac
  rc=$?
  problems=$(awk -f "$TMP/check.awk" "$TMP/err" "$f")
  [ $rc -eq 1 ] || problems="$(printf 'exit code %d, expected 1\n%s' $rc "$problems")"
  if [ -z "$problems" ]; then
    pass=$((pass + 1))
  else
    report "$f" "$(printf '%s\n--- tnsc said:\n' "$problems"; cat "$TMP/err")"
  fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
