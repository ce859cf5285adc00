/* Tests for compiler/front/lex.re: token kinds, literal values, spans and the
 * lexical errors (bad characters, escapes, unterminated strings, NUL
 * bytes, integer overflow). Expected tokens are written out by hand from
 * language.md section 2. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "grammar.h"
#include "token.h"

enum { MAX_TOKS = 256 };

static Arena *arena;
static StrTab names;
static DiagSink sink;
static char *diag_buf;
static size_t diag_len;
static FILE *diag_out;
static Token toks[MAX_TOKS];
static int ntoks;

static void setup(void) {
  arena = arena_new();
  strtab_init(&names, arena);
  diag_out = open_memstream(&diag_buf, &diag_len);
  diag_sink_init(&sink, diag_out);
}

static void teardown(void) {
  if (diag_out) fclose(diag_out);
  free(diag_buf);
  arena_free(arena);
}

TestSuite(lex, .init = setup, .fini = teardown);

/* Lexes len bytes (the byte after them must be NUL) up to end of input;
 * the end token is not stored. Returns the diagnostics printed. */
static const char *lex_bytes(const char *text, int len) {
  Source *src = arena_alloc(arena, sizeof *src);
  char *copy = arena_alloc(arena, (size_t)len + 1);
  memcpy(copy, text, (size_t)len);
  src->path = "t.tns";
  src->text = copy;
  src->len = len;
  Lexer lx;
  lex_init(&lx, src, &names, &sink);
  ntoks = 0;
  Token t;
  while (lex_next(&lx, &t)) {
    cr_assert_lt(ntoks, MAX_TOKS, "runaway lexer");
    toks[ntoks++] = t;
  }
  cr_assert_eq(t.kind, 0);
  /* the end is sticky */
  cr_assert_eq(lex_next(&lx, &t), 0);
  fflush(diag_out);
  return diag_buf ? diag_buf : "";
}

static const char *lex_text(const char *text) { return lex_bytes(text, (int)strlen(text)); }

/* Checks the token kinds, ignoring end-of-line tokens when skip_nl. */
static void expect_kinds(const int *kinds, int n, int skip_nl) {
  int k = 0;
  for (int i = 0; i < ntoks; i++) {
    if (skip_nl && toks[i].kind == TK_NEWLINE) continue;
    cr_assert_lt(k, n, "extra token %s at %d:%d", tok_name(toks[i].kind), toks[i].span.line,
                 toks[i].span.col);
    cr_assert_eq(toks[i].kind, kinds[k], "token %d: got %s, want %s", k, tok_name(toks[i].kind),
                 tok_name(kinds[k]));
    k++;
  }
  cr_assert_eq(k, n, "got %d tokens, want %d", k, n);
}

#define EXPECT_KINDS(skip_nl, ...)                                  \
  do {                                                              \
    static const int want_[] = {__VA_ARGS__};                       \
    expect_kinds(want_, (int)(sizeof want_ / sizeof *want_), skip_nl); \
  } while (0)

static void expect_span(int i, int line, int col, int len) {
  cr_assert_lt(i, ntoks);
  cr_expect_eq(toks[i].span.line, line, "token %d line %d, want %d", i, toks[i].span.line, line);
  cr_expect_eq(toks[i].span.col, col, "token %d col %d, want %d", i, toks[i].span.col, col);
  cr_expect_eq(toks[i].span.len, len, "token %d len %d, want %d", i, toks[i].span.len, len);
}

static int count_errors(const char *d) {
  int n = 0;
  for (const char *p = d; (p = strstr(p, ": error: ")); p++) n++;
  return n;
}

/* ---- token kinds ---- */

Test(lex, every_operator) {
  const char *d = lex_text("+ - * / % == != < <= > >= && || ! = += -> : , .. . ( ) [ ] { }");
  cr_assert_str_empty(d);
  EXPECT_KINDS(0, TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH, TK_PERCENT, TK_EQ, TK_NE, TK_LT, TK_LE,
               TK_GT, TK_GE, TK_ANDAND, TK_OROR, TK_NOT, TK_ASSIGN, TK_PLUSEQ, TK_ARROW, TK_COLON,
               TK_COMMA, TK_DOTDOT, TK_DOT, TK_LPAREN, TK_RPAREN, TK_LBRACKET, TK_RBRACKET,
               TK_LBRACE, TK_RBRACE);
}

Test(lex, operators_without_spaces) {
  /* longest match: "<=" is one token, "=<" two, "+=-" is "+=" "-" */
  cr_assert_str_empty(lex_text("a<=b=<c+=-d->e!=!f==g"));
  EXPECT_KINDS(0, TK_IDENT, TK_LE, TK_IDENT, TK_ASSIGN, TK_LT, TK_IDENT, TK_PLUSEQ, TK_MINUS,
               TK_IDENT, TK_ARROW, TK_IDENT, TK_NE, TK_NOT, TK_IDENT, TK_EQ, TK_IDENT);
}

Test(lex, floor_division_and_power) {
  /* longest match: "//" and "**" are one token each, "***" is "**" "*" */
  cr_assert_str_empty(lex_text("a//b**c/ /d***e"));
  EXPECT_KINDS(0, TK_IDENT, TK_SLASHSLASH, TK_IDENT, TK_STARSTAR, TK_IDENT, TK_SLASH, TK_SLASH,
               TK_IDENT, TK_STARSTAR, TK_STAR, TK_IDENT);
}

Test(lex, every_keyword) {
  cr_assert_str_empty(lex_text("def return import for in while if else true false"));
  EXPECT_KINDS(0, TK_DEF, TK_RETURN, TK_IMPORT, TK_FOR, TK_IN, TK_WHILE, TK_IF, TK_ELSE,
               TK_TRUE, TK_FALSE);
}

Test(lex, keyword_prefixes_are_identifiers) {
  cr_assert_str_empty(lex_text("define returned imports form inx While IF else_ _if truex f32x "
                               "f64_ bool2 infinity nanx inf_ i64a"));
  for (int i = 0; i < ntoks; i++)
    cr_expect_eq(toks[i].kind, TK_IDENT, "token %d is %s", i, tok_name(toks[i].kind));
  cr_assert_eq(ntoks, 17);
  cr_assert_str_eq(toks[0].str, "define");
  cr_assert_str_eq(toks[16].str, "i64a");
}

Test(lex, identifiers_are_interned) {
  cr_assert_str_empty(lex_text("abc _x9 abc A_b_C"));
  EXPECT_KINDS(0, TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT);
  cr_assert_str_eq(toks[1].str, "_x9");
  cr_assert_eq(toks[0].str, toks[2].str, "equal names must be the same pointer");
  cr_assert_neq(toks[0].str, toks[3].str);
  cr_assert_eq(toks[0].str, strtab_cstr(&names, "abc"));
}

Test(lex, element_types) {
  cr_assert_str_empty(lex_text("f32 f64 i32 i64 bool"));
  EXPECT_KINDS(0, TK_TYPE, TK_TYPE, TK_TYPE, TK_TYPE, TK_TYPE);
  cr_assert_eq(toks[0].ival, ELEM_F32);
  cr_assert_eq(toks[1].ival, ELEM_F64);
  cr_assert_eq(toks[2].ival, ELEM_I32);
  cr_assert_eq(toks[3].ival, ELEM_I64);
  cr_assert_eq(toks[4].ival, ELEM_BOOL);
}

Test(lex, tok_name_spellings) {
  cr_assert_str_eq(tok_name(0), "end of file");
  cr_assert_str_eq(tok_name(TK_PLUS), "'+'");
  cr_assert_str_eq(tok_name(TK_DOTDOT), "'..'");
  cr_assert_str_eq(tok_name(TK_IDENT), "identifier");
  cr_assert_str_eq(tok_name(TK_NEWLINE), "end of line");
  cr_assert_str_eq(tok_name(TK_DEF), "'def'");
  cr_assert_str_eq(tok_name(-1), "token");
  cr_assert_str_eq(tok_name(100000), "token");
}

/* ---- numbers ---- */

Test(lex, integers) {
  cr_assert_str_empty(lex_text("0 42 007 9223372036854775807"));
  EXPECT_KINDS(0, TK_INT, TK_INT, TK_INT, TK_INT);
  cr_assert_eq(toks[0].ival, 0);
  cr_assert_eq(toks[1].ival, 42);
  cr_assert_eq(toks[2].ival, 7);
  cr_assert_eq(toks[3].ival, INT64_MAX);
}

Test(lex, floats) {
  cr_assert_str_empty(lex_text(".5 2e-3 1.5 1E3 2.5e+2 0.125"));
  EXPECT_KINDS(0, TK_FLOAT, TK_FLOAT, TK_FLOAT, TK_FLOAT, TK_FLOAT, TK_FLOAT);
  cr_assert_eq(toks[0].fval, 0.5);
  cr_assert_float_eq(toks[1].fval, 0.002, 1e-18);
  cr_assert_eq(toks[2].fval, 1.5);
  cr_assert_eq(toks[3].fval, 1000.0);
  cr_assert_eq(toks[4].fval, 250.0);
  cr_assert_eq(toks[5].fval, 0.125);
  expect_span(1, 1, 4, 4);
  expect_span(4, 1, 17, 6);
}

Test(lex, inf_and_nan) {
  cr_assert_str_empty(lex_text("inf nan -inf"));
  EXPECT_KINDS(0, TK_FLOAT, TK_FLOAT, TK_MINUS, TK_FLOAT);
  cr_assert(isinf(toks[0].fval) && toks[0].fval > 0);
  cr_assert(isnan(toks[1].fval));
}

Test(lex, long_float_literal_keeps_its_value) {
  /* 0.000...0001 with 199 zeros after the point: 1e-200 */
  char text[256] = "0.";
  for (int i = 0; i < 199; i++) strcat(text, "0");
  strcat(text, "1");
  cr_assert_str_empty(lex_text(text));
  EXPECT_KINDS(0, TK_FLOAT);
  cr_assert_float_eq(toks[0].fval, 1e-200, 1e-210);
  expect_span(0, 1, 1, (int)strlen(text));
}

Test(lex, range_is_int_dotdot_ident) {
  cr_assert_str_empty(lex_text("0..n 1..2 a..b"));
  EXPECT_KINDS(0, TK_INT, TK_DOTDOT, TK_IDENT, TK_INT, TK_DOTDOT, TK_INT, TK_IDENT, TK_DOTDOT,
               TK_IDENT);
  cr_assert_eq(toks[0].ival, 0);
  cr_assert_str_eq(toks[2].str, "n");
  cr_assert_eq(toks[3].ival, 1);
  cr_assert_eq(toks[5].ival, 2);
  expect_span(1, 1, 2, 2);
}

Test(lex, dotted_module_name) {
  cr_assert_str_empty(lex_text("std.nn"));
  EXPECT_KINDS(0, TK_IDENT, TK_DOT, TK_IDENT);
}

Test(lex, integer_overflow) {
  const char *d = lex_text("x = 9223372036854775808\ny = 99999999999999999999999 + 1");
  cr_assert_eq(count_errors(d), 2, "%s", d);
  cr_assert(strstr(d, "t.tns:1:5: error: integer literal '9223372036854775808' does not fit in i64"),
            "%s", d);
  cr_assert(strstr(d, "t.tns:2:5: error: integer literal '99999999999999999999999'"), "%s", d);
  /* an INT token still comes out, so the parser sees a complete statement */
  EXPECT_KINDS(1, TK_IDENT, TK_ASSIGN, TK_INT, TK_IDENT, TK_ASSIGN, TK_INT, TK_PLUS, TK_INT);
}

Test(lex, malformed_numbers) {
  const char *d = lex_text("1abc 1e 2 0x1F");
  cr_assert_eq(count_errors(d), 3, "%s", d);
  cr_assert(strstr(d, "t.tns:1:1: error: malformed number '1abc'"), "%s", d);
  cr_assert(strstr(d, "t.tns:1:6: error: malformed number '1e'"), "%s", d);
  cr_assert(strstr(d, "t.tns:1:11: error: malformed number '0x1F'"), "%s", d);
  EXPECT_KINDS(0, TK_INT);
  cr_assert_eq(toks[0].ival, 2);
}

/* ---- strings ---- */

Test(lex, string_plain) {
  cr_assert_str_empty(lex_text("load(\"x.npy\")"));
  EXPECT_KINDS(0, TK_IDENT, TK_LPAREN, TK_STRING, TK_RPAREN);
  cr_assert_str_eq(toks[2].str, "x.npy");
  expect_span(2, 1, 6, 7);
}

Test(lex, string_escapes) {
  /* source text: "a\tb\n\"q\\" # é */
  cr_assert_str_empty(lex_text("\"a\\tb\\n\\\"q\\\\\" \"# \xc3\xa9\""));
  EXPECT_KINDS(0, TK_STRING, TK_STRING);
  cr_assert_str_eq(toks[0].str, "a\tb\n\"q\\");
  cr_assert_eq(toks[0].span.len, 13);
  /* '#' inside a string is not a comment; UTF-8 is kept as it is */
  cr_assert_str_eq(toks[1].str, "# \xc3\xa9");
}

Test(lex, string_empty) {
  cr_assert_str_empty(lex_text("\"\""));
  EXPECT_KINDS(0, TK_STRING);
  cr_assert_str_eq(toks[0].str, "");
}

Test(lex, bad_escape) {
  const char *d = lex_text("s = 1\nbad = \"x\\qy\"\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:2:9: error: unknown escape '\\q' in string"), "%s", d);
  /* the caret covers the two characters \q */
  cr_assert(strstr(d, "bad = \"x\\qy\"\n        ^~\n"), "%s", d);
  EXPECT_KINDS(1, TK_IDENT, TK_ASSIGN, TK_INT, TK_IDENT, TK_ASSIGN, TK_STRING);
}

Test(lex, unterminated_string) {
  const char *d = lex_text("u = \"abc\nv = 2\n");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:5: error: unterminated string"), "%s", d);
  /* the string stops at the line end: the next line lexes normally */
  EXPECT_KINDS(0, TK_IDENT, TK_ASSIGN, TK_NEWLINE, TK_IDENT, TK_ASSIGN, TK_INT, TK_NEWLINE);
  expect_span(3, 2, 1, 1);
}

Test(lex, unterminated_string_at_end_of_input) {
  const char *d = lex_text("print(\"abc\\");
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:1:7: error: unterminated string"), "%s", d);
  EXPECT_KINDS(0, TK_IDENT, TK_LPAREN);
}

/* ---- comments and layout ---- */

Test(lex, comments) {
  cr_assert_str_empty(lex_text("# heading\nx = 1 # trailing ==\n#\ny # at the end"));
  EXPECT_KINDS(0, TK_NEWLINE, TK_IDENT, TK_ASSIGN, TK_INT, TK_NEWLINE, TK_NEWLINE, TK_IDENT);
  expect_span(1, 2, 1, 1);
  expect_span(6, 4, 1, 1);
}

Test(lex, whitespace_kinds) {
  cr_assert_str_empty(lex_text("a\t=\r\n\f\vb \r\n"));
  EXPECT_KINDS(0, TK_IDENT, TK_ASSIGN, TK_NEWLINE, TK_IDENT, TK_NEWLINE);
  expect_span(3, 2, 3, 1);
}

Test(lex, empty_input) {
  cr_assert_str_empty(lex_text(""));
  cr_assert_eq(ntoks, 0);
}

Test(lex, spans_on_later_lines) {
  const char *src = "A = 1\n\n  B[i, j] = C[i, k]\n\tfoo += 12.5\n";
  cr_assert_str_empty(lex_text(src));
  /* A = 1 NL NL B [ i , j ] = C [ i , k ] NL foo += 12.5 NL */
  cr_assert_eq(toks[5].kind, TK_IDENT);
  expect_span(5, 3, 3, 1);      /* B */
  expect_span(6, 3, 4, 1);      /* [ */
  expect_span(11, 3, 11, 1);    /* = */
  expect_span(17, 3, 19, 1);    /* ] */
  expect_span(18, 3, 20, 1);    /* end of line */
  expect_span(19, 4, 2, 3);     /* foo: a tab counts one column */
  expect_span(20, 4, 6, 2);     /* += */
  expect_span(21, 4, 9, 4);     /* 12.5 */
  cr_assert_eq(toks[21].fval, 12.5);
  cr_assert_eq(ntoks, 23);
  /* offsets are byte offsets into the whole text */
  cr_assert_eq(toks[19].span.off, (int)(strstr(src, "foo") - src));
  cr_assert_eq(toks[5].span.src->text[toks[5].span.off], 'B');
}

/* ---- bad input ---- */

Test(lex, bad_characters) {
  const char *d = lex_text("a @ b\n$c ? `d` ; ^ & |\n");
  cr_assert_eq(count_errors(d), 9, "%s", d);
  cr_assert(strstr(d, "t.tns:1:3: error: unexpected character '@'"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:1: error: unexpected character '$'"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:4: error: unexpected character '?'"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:6: error: unexpected character '`'"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:10: error: unexpected character ';'"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:14: error: unexpected character '&'"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:16: error: unexpected character '|'"), "%s", d);
  /* lexing goes on after each one */
  EXPECT_KINDS(1, TK_IDENT, TK_IDENT, TK_IDENT, TK_IDENT);
}

Test(lex, non_ascii) {
  /* "é" is two bytes: one error, not two; the name around it is split */
  const char *d = lex_text("caf\xc3\xa9 = 1\nx = \xe2\x88\x91");
  cr_assert_eq(count_errors(d), 2, "%s", d);
  cr_assert(strstr(d, "t.tns:1:4: error: unexpected non-ASCII character"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:5: error: unexpected non-ASCII character"), "%s", d);
  /* one character on the screen: one caret */
  cr_assert(strstr(d, "x = \xe2\x88\x91\n    ^\n"), "%s", d);
  EXPECT_KINDS(1, TK_IDENT, TK_ASSIGN, TK_INT, TK_IDENT, TK_ASSIGN);
  cr_assert_str_eq(toks[0].str, "caf");
}

Test(lex, non_ascii_in_comment_is_fine) {
  cr_assert_str_empty(lex_text("x = 1 # \xc3\xa9t\xc3\xa9 \xe2\x88\x91\n"));
  EXPECT_KINDS(0, TK_IDENT, TK_ASSIGN, TK_INT, TK_NEWLINE);
}

Test(lex, nul_byte_in_the_middle) {
  static const char text[] = "x = 1\ny \0= 2\nz = 3\n";
  const char *d = lex_bytes(text, (int)sizeof text - 1);
  cr_assert_eq(count_errors(d), 1, "%s", d);
  cr_assert(strstr(d, "t.tns:2:3: error: NUL byte in source text"), "%s", d);
  /* the NUL does not end the input: line 3 is still there */
  EXPECT_KINDS(1, TK_IDENT, TK_ASSIGN, TK_INT, TK_IDENT, TK_ASSIGN, TK_INT, TK_IDENT, TK_ASSIGN,
               TK_INT);
  cr_assert_eq(toks[ntoks - 2].span.line, 3);
  cr_assert_eq(toks[ntoks - 2].ival, 3);
}

Test(lex, nul_byte_in_comment_and_string) {
  static const char text[] = "# c\0d\ns = \"a\0b\"\nt = 1";
  const char *d = lex_bytes(text, (int)sizeof text - 1);
  cr_assert(strstr(d, "t.tns:1:4: error: NUL byte in source text"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:7: error: NUL byte in source text"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:5: error: unterminated string"), "%s", d);
  cr_assert(strstr(d, "t.tns:2:9: error: unterminated string"), "%s", d);
  /* the last line is intact */
  cr_assert_eq(toks[ntoks - 1].kind, TK_INT);
  cr_assert_eq(toks[ntoks - 1].span.line, 3);
}

Test(lex, nul_byte_at_the_start) {
  static const char text[] = "\0x";
  const char *d = lex_bytes(text, 2);
  cr_assert(strstr(d, "t.tns:1:1: error: NUL byte in source text"), "%s", d);
  EXPECT_KINDS(0, TK_IDENT);
}

Test(lex, errors_do_not_stop_at_the_first) {
  const char *d = lex_text("a = @\nb = \"x\\z\"\nc = 99999999999999999999\nd = \"open\n");
  cr_assert_eq(count_errors(d), 4, "%s", d);
  cr_assert_eq(sink.nerrors, 4);
}
