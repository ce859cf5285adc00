/* lex.re — TNS lexer, compiled by re2c into build/gen/lexer.c.
 * Needs a NUL-terminated buffer; a NUL before the end is an error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "token.h"
#include "grammar.h"

typedef enum ElemTypeLex {
#define ELEM(id, name, size, f, i, dtype) LEX_ELEM_##id,
#include "elem.def"
#undef ELEM
} ElemTypeLex;

static const char *const tok_names[] = {
  [0] = "end of file",
#define TOK(name, text) [TK_##name] = text,
#include "tokens.def"
#undef TOK
};

const char *tok_name(int kind) {
  if (kind < 0 || kind >= (int)(sizeof tok_names / sizeof *tok_names) || !tok_names[kind])
    return "token";
  return tok_names[kind];
}

void lex_init(Lexer *lx, const Source *src, StrTab *names, DiagSink *diag) {
  lx->src = src;
  lx->cur = (const unsigned char *)src->text;
  lx->lim = lx->cur + src->len;
  lx->line_start = lx->cur;
  lx->line = 1;
  lx->names = names;
  lx->diag = diag;
}

static Span make_span(Lexer *lx, const unsigned char *start) {
  Span s;
  s.src = lx->src;
  s.off = (int)(start - (const unsigned char *)lx->src->text);
  s.len = (int)(lx->cur - start);
  s.line = lx->line;
  s.col = (int)(start - lx->line_start) + 1;
  return s;
}

static const struct { const char *word; int kind; int elem; } keywords[] = {
  {"def", TK_DEF, 0}, {"return", TK_RETURN, 0}, {"import", TK_IMPORT, 0},
  {"for", TK_FOR, 0}, {"in", TK_IN, 0}, {"while", TK_WHILE, 0},
  {"if", TK_IF, 0}, {"else", TK_ELSE, 0}, {"true", TK_TRUE, 0},
  {"false", TK_FALSE, 0},
#define ELEM(id, name, size, f, i, dtype) {name, TK_TYPE, LEX_ELEM_##id},
#include "elem.def"
#undef ELEM
};

/* ident: keyword, element type, inf/nan, or a plain name. */
static int lex_word(Lexer *lx, const unsigned char *start, Token *t) {
  int n = (int)(lx->cur - start);
  for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++) {
    if ((int)strlen(keywords[i].word) == n && memcmp(keywords[i].word, start, (size_t)n) == 0) {
      t->ival = keywords[i].elem;
      return keywords[i].kind;
    }
  }
  if (n == 3 && (memcmp(start, "inf", 3) == 0 || memcmp(start, "nan", 3) == 0)) {
    t->fval = start[0] == 'i' ? __builtin_inf() : __builtin_nan("");
    return TK_FLOAT;
  }
  t->str = strtab_intern(lx->names, (const char *)start, n);
  return TK_IDENT;
}

/* int = [0-9]+ ; checked for i64 overflow */
static int lex_int(Lexer *lx, const unsigned char *start, Token *t) {
  int64_t v = 0;
  for (const unsigned char *p = start; p < lx->cur; p++) {
    if (v > (INT64_MAX - (*p - '0')) / 10) {
      diag_report(lx->diag, make_span(lx, start), E_INT_OVERFLOW,
                  (int)(lx->cur - start), (const char *)start);
      v = 0;
      break;
    }
    v = v * 10 + (*p - '0');
  }
  t->ival = v;
  return TK_INT;
}

/* float = digit+ "." digit+ exp? | "." digit+ exp? | digit+ exp ; the
 * whole literal is converted, however long it is */
static int lex_float(Lexer *lx, const unsigned char *start, Token *t) {
  size_t n = (size_t)(lx->cur - start);
  char *buf = arena_strndup(lx->names->arena, (const char *)start, n);
  t->fval = strtod(buf, NULL);
  return TK_FLOAT;
}

/* string = '"' (char | escape)* '"' ; escapes \n \t \\ \" */
static int lex_string(Lexer *lx, const unsigned char *start, Token *t) {
  const unsigned char *p = start + 1, *end = lx->cur - 1;
  char *out = arena_alloc(lx->names->arena, (size_t)(end - p) + 1), *o = out;
  for (; p < end; p++) {
    if (*p != '\\') { *o++ = (char)*p; continue; }
    p++;
    switch (*p) {
    case 'n': *o++ = '\n'; break;
    case 't': *o++ = '\t'; break;
    case '\\': *o++ = '\\'; break;
    case '"': *o++ = '"'; break;
    default: {
      Span s = make_span(lx, p - 1);
      s.len = 2;
      s.col = (int)(p - 1 - lx->line_start) + 1;
      diag_report(lx->diag, s, E_BAD_ESCAPE, *p);
    }
    }
  }
  *o = 0;
  t->str = out;
  return TK_STRING;
}

/*!re2c
  re2c:define:YYCTYPE = "unsigned char";
  re2c:define:YYCURSOR = lx->cur;
  re2c:define:YYMARKER = marker;
  re2c:yyfill:enable = 0;

  digit = [0-9];
  ident = [A-Za-z_][A-Za-z0-9_]*;
  exp   = [eE] [+-]? digit+;
  float = digit+ "." digit+ exp? | "." digit+ exp? | digit+ exp;
*/

int lex_next(Lexer *lx, Token *t) {
  const unsigned char *marker;
  memset(t, 0, sizeof *t);
  for (;;) {
    const unsigned char *start = lx->cur;
    int kind;
    /*!re2c
      "\x00" {
        if (start >= lx->lim) { lx->cur = lx->lim; kind = 0; goto done; }
        diag_report(lx->diag, make_span(lx, start), E_NUL_BYTE);
        continue;
      }
      [ \t\r\f\v]+ { continue; }
      "#" [^\n\x00]* { continue; }
      "\n" {
        t->span = make_span(lx, start);
        lx->line++;
        lx->line_start = lx->cur;
        t->kind = TK_NEWLINE;
        return TK_NEWLINE;
      }
      ident { kind = lex_word(lx, start, t); goto done; }
      float { kind = lex_float(lx, start, t); goto done; }
      digit+ { kind = lex_int(lx, start, t); goto done; }
      digit+ [A-Za-z_][A-Za-z0-9_]* {
        diag_report(lx->diag, make_span(lx, start), E_BAD_NUMBER,
                    (int)(lx->cur - start), (const char *)start);
        continue;
      }
      ["] ([^"\\\n\x00] | "\\" [^\n\x00])* ["] { kind = lex_string(lx, start, t); goto done; }
      ["] ([^"\\\n\x00] | "\\" [^\n\x00])* "\\"? {
        diag_report(lx->diag, make_span(lx, start), E_UNTERMINATED_STRING);
        continue;
      }
      "+"  { kind = TK_PLUS; goto done; }
      "-"  { kind = TK_MINUS; goto done; }
      "*"  { kind = TK_STAR; goto done; }
      "/"  { kind = TK_SLASH; goto done; }
      "%"  { kind = TK_PERCENT; goto done; }
      "//" { kind = TK_SLASHSLASH; goto done; }
      "**" { kind = TK_STARSTAR; goto done; }
      "==" { kind = TK_EQ; goto done; }
      "!=" { kind = TK_NE; goto done; }
      "<"  { kind = TK_LT; goto done; }
      "<=" { kind = TK_LE; goto done; }
      ">"  { kind = TK_GT; goto done; }
      ">=" { kind = TK_GE; goto done; }
      "&&" { kind = TK_ANDAND; goto done; }
      "||" { kind = TK_OROR; goto done; }
      "!"  { kind = TK_NOT; goto done; }
      "="  { kind = TK_ASSIGN; goto done; }
      "+=" { kind = TK_PLUSEQ; goto done; }
      "->" { kind = TK_ARROW; goto done; }
      ":"  { kind = TK_COLON; goto done; }
      ","  { kind = TK_COMMA; goto done; }
      ".." { kind = TK_DOTDOT; goto done; }
      "."  { kind = TK_DOT; goto done; }
      "("  { kind = TK_LPAREN; goto done; }
      ")"  { kind = TK_RPAREN; goto done; }
      "["  { kind = TK_LBRACKET; goto done; }
      "]"  { kind = TK_RBRACKET; goto done; }
      "{"  { kind = TK_LBRACE; goto done; }
      "}"  { kind = TK_RBRACE; goto done; }
      [\x80-\xff]+ {
        diag_report(lx->diag, make_span(lx, start), E_BAD_CHAR_UTF8);
        continue;
      }
      * {
        diag_report(lx->diag, make_span(lx, start), E_BAD_CHAR, *start);
        continue;
      }
    */
  done:
    t->kind = kind;
    t->span = make_span(lx, start);
    return kind;
  }
}
