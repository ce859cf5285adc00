/* token.h — tokens and the re2c lexer (lex.re): bytes to tokens with spans.
 * Token kinds are the TK_* codes of the Lemon grammar; 0 is end of input.
 * Newlines come out as TK_NEWLINE; parse.c decides which ones end a
 * statement. */
#ifndef TNS_TOKEN_H
#define TNS_TOKEN_H
#include <stdint.h>
#include "diag.h"
#include "strtab.h"

typedef struct Token {
  int kind;
  Span span;
  int64_t ival;          /* TK_INT value; TK_TYPE element type */
  double fval;           /* TK_FLOAT value */
  const char *str;       /* TK_IDENT (interned), TK_STRING (unescaped) */
} Token;

typedef struct Lexer {
  const Source *src;
  const unsigned char *cur, *lim, *line_start;
  int line;
  StrTab *names;
  DiagSink *diag;
} Lexer;

void lex_init(Lexer *lx, const Source *src, StrTab *names, DiagSink *diag);
int lex_next(Lexer *lx, Token *tok);
const char *tok_name(int kind);      /* "'+'", "identifier", ... */

#endif
