/* Tests for compiler/base/diag.c: the exact diagnostic layout
 * (`file.tns:3:14: error: msg`, the source line, `^~~~` under the span),
 * tabs in the caret line, spans at line ends, notes, colour only on a
 * terminal, error counting and the error limit, span_join. The expected
 * texts are written out by hand from architecture.md convention 5. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static DiagSink sink;
static char *buf;
static size_t len;
static FILE *out;
static Source src;

static void setup(void) {
  out = open_memstream(&buf, &len);
  diag_sink_init(&sink, out);
}

static void teardown(void) {
  if (out) fclose(out);
  free(buf);
}

TestSuite(diag, .init = setup, .fini = teardown);

static void use_text(const char *text) {
  src.path = "file.tns";
  src.text = text;
  src.len = (int)strlen(text);
}

/* A span over the n bytes of the first occurrence of `what` at or after
 * byte `from`; line and column are counted here independently of lex.re. */
static Span span_at(const char *what, int from, int n) {
  const char *p = strstr(src.text + from, what);
  cr_assert_not_null(p, "'%s' not in the text", what);
  Span s = {&src, (int)(p - src.text), n, 1, 1};
  for (const char *q = src.text; q < p; q++) {
    if (*q == '\n') { s.line++; s.col = 1; }
    else s.col++;
  }
  return s;
}

static const char *output(void) {
  fflush(out);
  return buf ? buf : "";
}

static void report(Span sp, const char *msg) { diag_report(&sink, sp, E_MISMATCH, msg); }

/* ---- layout ---- */

Test(diag, exact_format) {
  use_text("a = 1\nb = 2\nx = foo(abc, defg)\nz = 3\n");
  report(span_at("defg", 0, 4), "msg");
  cr_assert_str_eq(output(), "file.tns:3:14: error: msg\n"
                             "x = foo(abc, defg)\n"
                             "             ^~~~\n");
}

Test(diag, first_column_and_one_byte_span) {
  use_text("x\n");
  report(span_at("x", 0, 1), "here");
  cr_assert_str_eq(output(), "file.tns:1:1: error: here\nx\n^\n");
}

Test(diag, empty_span_shows_one_caret) {
  use_text("abc def\n");
  report(span_at("def", 0, 0), "empty");
  cr_assert_str_eq(output(), "file.tns:1:5: error: empty\nabc def\n    ^\n");
}

Test(diag, message_arguments) {
  use_text("C[i, k] = A[i, j] * B[j, k]\n");
  diag_report(&sink, span_at("j, k]", 0, 1), E_INDEX_RANGE, "j", "4", "A", "5", "B");
  cr_assert_str_eq(output(), "file.tns:1:23: error: index 'j' ranges over 4 in A but over 5 in B\n"
                             "C[i, k] = A[i, j] * B[j, k]\n"
                             "                      ^\n");
}

Test(diag, tabs_kept_in_caret_indentation) {
  use_text("def f() {\n\tx =\t\tfoo(1)\n}\n");
  report(span_at("foo", 0, 3), "tabs");
  cr_assert_str_eq(output(), "file.tns:2:7: error: tabs\n"
                             "\tx =\t\tfoo(1)\n"
                             "\t   \t\t^~~\n");
}

Test(diag, span_at_line_end) {
  use_text("y = 2 +\nz = 1\n");
  Span sp = span_at("\n", 0, 0);
  report(sp, "end");
  cr_assert_str_eq(output(), "file.tns:1:8: error: end\ny = 2 +\n       ^\n");
}

Test(diag, span_past_line_end_is_cut) {
  /* a span running over two lines: only the first line is underlined */
  use_text("if c {\n  x = 1\n}\n");
  report(span_at("c {", 0, 14), "multi");
  cr_assert_str_eq(output(), "file.tns:1:4: error: multi\nif c {\n   ^~~\n");
}

Test(diag, span_at_end_of_text_without_newline) {
  use_text("a = 1\nb = (");
  Span sp = {&src, src.len, 0, 2, 6};
  report(sp, "eof");
  cr_assert_str_eq(output(), "file.tns:2:6: error: eof\nb = (\n     ^\n");
}

Test(diag, last_line_without_newline) {
  use_text("a = 1\nb = q");
  report(span_at("q", 0, 1), "last");
  cr_assert_str_eq(output(), "file.tns:2:5: error: last\nb = q\n    ^\n");
}

Test(diag, empty_line) {
  use_text("a\n\nb\n");
  Span sp = {&src, 2, 0, 2, 1};
  report(sp, "blank");
  cr_assert_str_eq(output(), "file.tns:2:1: error: blank\n\n^\n");
}

Test(diag, crlf_line_is_printed_without_cr) {
  use_text("a = 1\r\nb = x\r\n");
  report(span_at("x", 0, 1), "crlf");
  cr_assert_str_eq(output(), "file.tns:2:5: error: crlf\nb = x\n    ^\n");
}

Test(diag, utf8_before_the_span_takes_one_column) {
  /* "é" is two bytes but one character on the screen */
  use_text("s = \"\xc3\xa9\" + q\n");
  report(span_at("q", 0, 1), "utf8");
  cr_assert_str_eq(output(), "file.tns:1:12: error: utf8\n"
                             "s = \"\xc3\xa9\" + q\n"
                             "          ^\n");
}

Test(diag, utf8_inside_the_span_takes_one_column) {
  use_text("s = \"\xc3\xa9t\xc3\xa9\"\n");
  report(span_at("\"", 0, 8), "utf8 string");
  cr_assert_str_eq(output(), "file.tns:1:5: error: utf8 string\n"
                             "s = \"\xc3\xa9t\xc3\xa9\"\n"
                             "    ^~~~~\n");
}

Test(diag, no_span) {
  report(span_none(), "no file");
  cr_assert_str_eq(output(), "tnsc: error: no file\n");
}

Test(diag, note_lines) {
  use_text("x = [1,\n  2)\n");
  diag_report(&sink, span_at(")", 0, 1), E_MISMATCHED_CLOSE, "')'", "'['");
  diag_report(&sink, span_at("[", 0, 1), N_OPENED_HERE, "'['");
  cr_assert_str_eq(output(), "file.tns:2:4: error: ')' does not close '['\n"
                             "  2)\n"
                             "   ^\n"
                             "file.tns:1:5: note: '[' opened here\n"
                             "x = [1,\n"
                             "    ^\n");
  cr_assert_eq(sink.nerrors, 1, "a note is not an error");
}

/* ---- colour ---- */

Test(diag, no_colour_when_not_a_terminal) {
  setenv("TERM", "xterm-256color", 1);
  unsetenv("NO_COLOR");
  DiagSink s2;
  diag_sink_init(&s2, out);
  cr_assert_eq(s2.color, 0);
  use_text("x = y\n");
  diag_report(&s2, span_at("y", 0, 1), E_UNDEFINED, "y");
  cr_assert_null(strchr(output(), '\033'), "escape codes in %s", output());
  cr_assert_str_eq(output(), "file.tns:1:5: error: undefined name 'y'\nx = y\n    ^\n");
}

Test(diag, colour_on_a_terminal_only_decorates) {
  use_text("x = y\n");
  sink.color = 1;
  report(span_at("y", 0, 1), "coloured");
  const char *o = output();
  cr_assert_not_null(strchr(o, '\033'));
  /* without the escape sequences the text is the plain one */
  char plain[256];
  size_t n = 0;
  for (const char *p = o; *p && n + 1 < sizeof plain; p++) {
    if (*p == '\033') { while (*p && *p != 'm') p++; continue; }
    plain[n++] = *p;
  }
  plain[n] = 0;
  cr_assert_str_eq(plain, "file.tns:1:5: error: coloured\nx = y\n    ^\n");
}

Test(diag, null_output_counts_silently) {
  DiagSink q;
  diag_sink_init(&q, NULL);
  use_text("x\n");
  diag_report(&q, span_at("x", 0, 1), E_MISMATCH, "quiet");
  diag_report(&q, span_none(), E_MISMATCH, "quiet");
  cr_assert_eq(q.nerrors, 2);
  cr_assert_eq(q.color, 0);
}

/* ---- counting ---- */

Test(diag, levels) {
  cr_assert_eq(diag_level(E_SYNTAX), DL_ERROR);
  cr_assert_eq(diag_level(N_OPENED_HERE), DL_NOTE);
  cr_assert_eq(diag_level(N_PREVIOUS), DL_NOTE);
  cr_assert_str_eq(diag_text(E_SYNTAX), "unexpected %s");
}

Test(diag, error_counting) {
  use_text("a b c\n");
  cr_assert_eq(sink.nerrors, 0);
  report(span_at("a", 0, 1), "one");
  diag_report(&sink, span_at("a", 0, 1), N_PREVIOUS, "a");
  report(span_at("b", 0, 1), "two");
  report(span_at("c", 0, 1), "three");
  cr_assert_eq(sink.nerrors, 3);
  cr_assert_eq(sink.nwarnings, 0);
}

Test(diag, error_limit) {
  use_text("x\n");
  sink.max_errors = 3;
  for (int i = 0; i < 6; i++) report(span_at("x", 0, 1), "again");
  diag_report(&sink, span_at("x", 0, 1), N_PREVIOUS, "x");
  cr_assert_eq(sink.nerrors, 6, "errors are counted past the limit");
  const char *o = output();
  int shown = 0;
  for (const char *p = o; (p = strstr(p, "error: again")); p++) shown++;
  cr_assert_eq(shown, 3, "%s", o);
  cr_assert(strstr(o, "tnsc: too many errors; stopping here\n"), "%s", o);
  cr_assert_null(strstr(o, "note:"), "notes after the limit are dropped: %s", o);
  /* the message comes once, after the last error shown */
  const char *stop = strstr(o, "too many errors");
  cr_assert_null(strstr(stop + 1, "too many errors"));
  cr_assert_null(strstr(stop, "error: again"));
}

Test(diag, default_limit_is_set) {
  cr_assert_gt(sink.max_errors, 0);
}

/* ---- spans ---- */

Test(diag, span_join_orders_and_covers) {
  use_text("abc = defg + h\n");
  Span a = span_at("abc", 0, 3), b = span_at("h", 0, 1);
  Span j1 = span_join(a, b), j2 = span_join(b, a);
  cr_assert_eq(j1.off, 0);
  cr_assert_eq(j1.len, 14);
  cr_assert_eq(j1.line, 1);
  cr_assert_eq(j1.col, 1);
  cr_assert_eq(j2.off, j1.off);
  cr_assert_eq(j2.len, j1.len);
  cr_assert_eq(j2.col, 1, "the start position comes from the earlier span");
}

Test(diag, span_join_nested_and_overlapping) {
  use_text("abcdefgh\n");
  Span outer = {&src, 1, 6, 1, 2}, inner = {&src, 3, 2, 1, 4}, tail = {&src, 5, 3, 1, 6};
  Span j = span_join(outer, inner);
  cr_assert_eq(j.off, 1);
  cr_assert_eq(j.len, 6, "an inner span adds nothing");
  j = span_join(inner, tail);
  cr_assert_eq(j.off, 3);
  cr_assert_eq(j.len, 5);
}

Test(diag, span_join_with_none) {
  use_text("abc\n");
  Span a = {&src, 1, 2, 1, 2};
  Span j = span_join(span_none(), a);
  cr_assert_eq(j.off, 1);
  cr_assert_eq(j.len, 2);
  j = span_join(a, span_none());
  cr_assert_eq(j.off, 1);
  cr_assert_eq(j.len, 2);
  Span n = span_none();
  cr_assert_null(n.src);
  cr_assert_eq(n.len, 0);
}

Test(diag, span_join_across_lines) {
  use_text("x = f(1,\n      2)\n");
  Span a = span_at("x", 0, 1), b = span_at(")", 0, 1);
  Span j = span_join(a, b);
  cr_assert_eq(j.line, 1);
  cr_assert_eq(j.len, (int)(strchr(src.text, ')') - src.text) + 1);
}
