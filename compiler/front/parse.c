/* parse.c — the parser driver. Pulls tokens from the lexer, decides which
 * newlines end statements (not inside ( or [, not after an operator),
 * checks that brackets match, and feeds the Lemon parser. */
#include "parse.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "builtins.h"
#include "grammar.h"
#include "parse_state.h"
#include "tns_runtime.h"

void *TnsParseAlloc(void *(*mallocProc)(size_t));
void TnsParse(void *p, int major, Token minor, ParseState *ps);
void TnsParseFree(void *p, void (*freeProc)(void *));

/* MAX_OPERATORS: binary operators (and postfix "[") after an operand
 * build left-leaning chains that neither bracket nesting nor the Lemon
 * stack bounds; sema and later passes recurse over the tree, so one
 * statement may hold only so many (a sum of 100000 terms would overflow
 * the C stack). */
enum { MAX_NEST = 256, MAX_OPERATORS = 4000 };

typedef struct Driver {
  ParseState ps;          /* first: the grammar's hooks get &d->ps */
  void *parser;
  Lexer lx;
  Token open[MAX_NEST];   /* unclosed brackets, innermost last */
  int depth;
  int last_kind;          /* last token fed (0 at start) */
  int pending_nl;         /* a newline that ends a statement, held back */
  Token nl;
  int operators;          /* chain operators in this statement */
  int quiet;              /* a bracket error was reported in this statement:
                             the parser's own error for it is not repeated */
} Driver;

static Driver *driver_of(ParseState *ps) { return (Driver *)ps; }

/* Tokens after which a line break does not end the statement. */
static int continues_line(int kind) {
  switch (kind) {
  case 0: case TK_NEWLINE: case TK_PLUS: case TK_MINUS: case TK_STAR:
  case TK_SLASH: case TK_PERCENT: case TK_SLASHSLASH: case TK_STARSTAR: case TK_EQ: case TK_NE: case TK_LT:
  case TK_LE: case TK_GT: case TK_GE: case TK_ANDAND: case TK_OROR:
  case TK_NOT: case TK_ASSIGN: case TK_PLUSEQ: case TK_ARROW: case TK_COLON:
  case TK_COMMA: case TK_DOTDOT: case TK_DOT: case TK_LPAREN:
  case TK_LBRACKET: case TK_LBRACE:
    return 1;
  default:
    return 0;
  }
}

/* Tokens that can end an operand: a binary operator may follow them. */
static int ends_operand(int kind) {
  switch (kind) {
  case TK_IDENT: case TK_INT: case TK_FLOAT: case TK_STRING: case TK_TRUE:
  case TK_FALSE: case TK_TYPE: case TK_RPAREN: case TK_RBRACKET:
    return 1;
  default:
    return 0;
  }
}

/* A binary operator or an index "[" right after an operand. */
static int extends_chain(int kind, int prev) {
  switch (kind) {
  case TK_PLUS: case TK_MINUS: case TK_STAR: case TK_SLASH: case TK_PERCENT:
  case TK_SLASHSLASH: case TK_STARSTAR: case TK_EQ: case TK_NE: case TK_LT: case TK_LE: case TK_GT: case TK_GE:
  case TK_ANDAND: case TK_OROR: case TK_LBRACKET:
    return ends_operand(prev);
  default:
    return 0;
  }
}

/* ps.last is still the previous token while the parser runs, so that a
 * syntax error at a newline can name what the statement ended after. */
static void feed(Driver *d, int kind, Token t) {
  t.kind = kind;
  d->last_kind = kind;
  TnsParse(d->parser, kind, t, &d->ps);
  d->ps.last = t;
  if (kind == TK_NEWLINE) d->quiet = d->operators = 0;
}

static Token synthetic(int kind, Span sp) {
  Token t;
  memset(&t, 0, sizeof t);
  t.kind = kind;
  t.span = sp;
  t.span.len = 0;
  return t;
}

static int closer_of(int open) {
  return open == TK_LPAREN ? TK_RPAREN : open == TK_LBRACKET ? TK_RBRACKET : TK_RBRACE;
}

/* ")" "]" "}" — pops the matching opener; a mismatch is reported once and
 * the token is dropped unless it closes something further out. */
static int close_bracket(Driver *d, const Token *t) {
  DiagSink *ds = d->ps.ast->diag;
  if (d->depth == 0) {
    diag_report(ds, t->span, E_UNMATCHED_CLOSE, tok_name(t->kind));
    d->quiet = 1;
    d->last_kind = t->kind;  /* a following line break ends the statement */
    return 0;
  }
  Token *o = &d->open[d->depth - 1];
  if (closer_of(o->kind) == t->kind) {
    d->depth--;
    return 1;
  }
  diag_report(ds, t->span, E_MISMATCHED_CLOSE, tok_name(t->kind), tok_name(o->kind));
  diag_report(ds, o->span, N_OPENED_HERE, tok_name(o->kind));
  d->quiet = 1;
  for (int i = d->depth - 2; i >= 0; i--)
    if (closer_of(d->open[i].kind) == t->kind) {
      d->depth = i;
      return 1;
    }
  return 0;
}

static int in_brackets(Driver *d) {
  return d->depth > 0 && d->open[d->depth - 1].kind != TK_LBRACE;
}

/* Too many open brackets or too long an operator chain: reported once,
 * and parsing stops (the rest would only repeat it). */
static int over_limits(Driver *d, const Token *t) {
  int opens = t->kind == TK_LPAREN || t->kind == TK_LBRACKET || t->kind == TK_LBRACE;
  int chain = extends_chain(t->kind, d->last_kind);
  if ((opens && d->depth == MAX_NEST) || (chain && ++d->operators > MAX_OPERATORS)) {
    diag_report(d->ps.ast->diag, t->span, E_TOO_DEEP);
    d->ps.too_deep = 1;
    return 1;
  }
  return 0;
}

/* Decides what one lexer token means for the parser and feeds it. */
static void drive_token(Driver *d, Token *t) {
  if (t->kind == TK_NEWLINE) {
    if (!in_brackets(d) && !continues_line(d->last_kind) && !d->pending_nl) {
      d->pending_nl = 1;
      d->nl = *t;
    }
    return;
  }
  /* `else` and `->` at the start of a line continue the statement above */
  if (d->pending_nl && t->kind != TK_ELSE && t->kind != TK_ARROW) feed(d, TK_NEWLINE, d->nl);
  d->pending_nl = 0;
  if (over_limits(d, t)) return;
  if (t->kind == TK_LPAREN || t->kind == TK_LBRACKET || t->kind == TK_LBRACE) {
    d->open[d->depth++] = *t;
  } else if (t->kind == TK_RPAREN || t->kind == TK_RBRACKET || t->kind == TK_RBRACE) {
    if (!close_bracket(d, t)) return;
  }
  /* "}" ends the block's last statement */
  if (t->kind == TK_RBRACE && d->last_kind != TK_NEWLINE && d->last_kind != TK_LBRACE)
    feed(d, TK_NEWLINE, synthetic(TK_NEWLINE, t->span));
  feed(d, t->kind, *t);
}

/* End of input: close the last statement, report what is still open. */
static void drive_eof(Driver *d, Token *t) {
  for (int i = 0; i < d->depth; i++)
    diag_report(d->ps.ast->diag, d->open[i].span, E_UNCLOSED, tok_name(d->open[i].kind));
  if (d->depth) return;  /* the parser would only repeat it */
  if (d->last_kind != TK_NEWLINE && d->last_kind != 0)
    feed(d, TK_NEWLINE, synthetic(TK_NEWLINE, t->span));
  feed(d, 0, *t);
}

Node *parse_source(Ast *ast, const Source *src) {
  if (tns_looks_like_frostt(src->text, (size_t)src->len)) {
    Span sp = {src, 0, 0, 1, 1};
    diag_report(ast->diag, sp, E_LOOKS_LIKE_DATA);
    return NULL;
  }
  Driver *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->ps.ast = ast;
  d->parser = TnsParseAlloc(malloc);
  lex_init(&d->lx, src, ast->names, ast->diag);
  Token t;
  int errors_before = ast->diag->nerrors;
  for (;;) {
    lex_next(&d->lx, &t);
    if (t.kind == 0) {
      drive_eof(d, &t);
      break;
    }
    drive_token(d, &t);
    if (d->ps.too_deep) break;
  }
  Node *prog = d->ps.program;
  if (!prog && ast->diag->nerrors == errors_before)
    diag_report(ast->diag, t.span, E_SYNTAX_EOF);
  TnsParseFree(d->parser, free);
  free(d);
  return prog;
}

/* A syntax error on a later line than the innermost open "(" or "[":
 * most likely that bracket was never closed, so say where it is. */
static void note_open_bracket(Driver *d, const Token *tok) {
  if (d->depth == 0) return;
  const Token *o = &d->open[d->depth - 1];
  if (o->kind != TK_LBRACE && o->span.line < tok->span.line)
    diag_report(d->ps.ast->diag, o->span, N_OPENED_HERE, tok_name(o->kind));
}

/* x.T, x.mean(): TNS has no attributes; the numpy name's TNS form, if
 * known, goes in a note. */
static void attribute_error(ParseState *ps, const Token *dot) {
  const char *p = dot->span.src->text + dot->span.off + 1, *end = dot->span.src->text + dot->span.src->len;
  int n = 0;
  while (p + n < end && (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
                         (n && p[n] >= '0' && p[n] <= '9')) && n < 64)
    n++;
  char attr[65];
  memcpy(attr, p, (size_t)n);
  attr[n] = '\0';
  DiagSink *ds = ps->ast->diag;
  if (!n) { diag_report(ds, dot->span, E_SYNTAX, tok_name(TK_DOT)); return; }
  diag_report(ds, dot->span, E_ATTRIBUTE, ps->last.str, attr);
  const char *how = builtin_numpy_form(attr);
  if (how) diag_report(ds, dot->span, N_NUMPY_FORM, how);
}

/* The Lemon %syntax_error hook: one message per bad token. */
void parse_syntax_error(ParseState *ps, int major, const Token *tok) {
  Driver *d = driver_of(ps);
  ps->syntax_errors++;
  if (d->quiet) return;
  DiagSink *ds = ps->ast->diag;
  if (major == TK_NEWLINE && ps->last.kind != TK_NEWLINE && ps->last.kind != 0)
    diag_report(ds, ps->last.span, E_SYNTAX_AFTER, tok_name(ps->last.kind));
  else if (major == 0)
    diag_report(ds, tok->span, E_SYNTAX_EOF);
  else if (major == TK_COLON)
    diag_report(ds, tok->span, E_SYNTAX_COLON);
  else if (major == TK_DOT && ps->last.kind == TK_IDENT)
    attribute_error(ps, tok);
  else
    diag_report(ds, tok->span, E_SYNTAX, tok_name(major));
  note_open_bracket(d, tok);
}

void parse_too_deep(ParseState *ps) {
  ps->too_deep = 1;
  diag_report(ps->ast->diag, ps->last.span, E_TOO_DEEP);
}

/* f32(x): a conversion is a call of the element type's name. */
Node *parse_type_callee(ParseState *ps, const Token *t) {
  return ast_name(ps->ast, t->span, strtab_cstr(ps->ast->names, elem_name((int)t->ival)));
}

NodeList parse_prepend(ParseState *ps, Node *first, NodeList rest) {
  NodeList l = ast_list1(ps->ast, first);
  for (int i = 0; i < rest.n; i++) ast_list_push(ps->ast, &l, rest.items[i]);
  return l;
}

/* A REPL input is incomplete while a bracket or block is open, or the last
 * token asks for more (a trailing operator). Strings end at line ends. */
int parse_is_incomplete(const char *text) {
  Arena *a = arena_new();
  StrTab names;
  strtab_init(&names, a);
  DiagSink quiet;
  diag_sink_init(&quiet, NULL);
  Source *src = source_from_string(a, "<input>", text);
  Lexer lx;
  lex_init(&lx, src, &names, &quiet);
  Token t;
  int depth = 0, last = 0;
  while (lex_next(&lx, &t)) {
    if (t.kind == TK_LPAREN || t.kind == TK_LBRACKET || t.kind == TK_LBRACE) depth++;
    if (t.kind == TK_RPAREN || t.kind == TK_RBRACKET || t.kind == TK_RBRACE) depth--;
    if (t.kind != TK_NEWLINE) last = t.kind;
  }
  arena_free(a);
  return depth > 0 || (last != 0 && last != TK_RBRACE && last != TK_RPAREN &&
                       last != TK_RBRACKET && continues_line(last));
}

void parse_dump_tokens(Ast *ast, const Source *src, FILE *out) {
  Lexer lx;
  lex_init(&lx, src, ast->names, ast->diag);
  Token t;
  while (lex_next(&lx, &t)) {
    fprintf(out, "%d:%d\t%s", t.span.line, t.span.col, tok_name(t.kind));
    if (t.kind == TK_IDENT) fprintf(out, "\t%s", t.str);
    else if (t.kind == TK_INT) fprintf(out, "\t%lld", (long long)t.ival);
    else if (t.kind == TK_FLOAT) fprintf(out, "\t%.17g", t.fval);
    else if (t.kind == TK_STRING) fprintf(out, "\t\"%s\"", t.str);
    else if (t.kind == TK_TYPE) fprintf(out, "\t%s", elem_name((int)t.ival));
    fputc('\n', out);
  }
}

Source *source_from_string(Arena *a, const char *path, const char *text) {
  Source *s = arena_alloc(a, sizeof *s);
  s->path = arena_strndup(a, path, strlen(path));
  s->len = (int)strlen(text);
  s->text = arena_strndup(a, text, (size_t)s->len);
  return s;
}

enum { MAX_SOURCE = 256 * 1024 * 1024 };

/* Reads all of f into a malloc'ed, NUL-terminated buffer. NULL when it
 * grows past MAX_SOURCE (or memory runs out); *err is set on a read
 * error (a directory, an I/O error). */
static char *read_all(FILE *f, size_t *n, int *err) {
  size_t cap = 4096;
  char *buf = malloc(cap);
  *n = 0;
  *err = 0;
  while (buf) {
    size_t got = fread(buf + *n, 1, cap - *n - 1, f);
    *n += got;
    if (got == 0) break;
    if (*n + 1 < cap) continue;
    char *bigger = cap > MAX_SOURCE ? NULL : realloc(buf, cap * 2);
    if (!bigger) free(buf);
    buf = bigger;
    cap *= 2;
  }
  if (buf && ferror(f)) *err = errno ? errno : EIO;
  if (buf) buf[*n] = 0;
  return buf;
}

Source *source_load(Arena *a, DiagSink *d, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_report(d, span_none(), E_CANNOT_OPEN, path, strerror(errno));
    return NULL;
  }
  size_t n;
  int err;
  errno = 0;
  char *buf = read_all(f, &n, &err);
  fclose(f);
  if (buf && err) {
    free(buf);
    diag_report(d, span_none(), E_CANNOT_OPEN, path, strerror(err));
    return NULL;
  }
  if (!buf || n > MAX_SOURCE) {
    free(buf);
    diag_report(d, span_none(), E_TOO_LARGE, path);
    return NULL;
  }
  Source *s = arena_alloc(a, sizeof *s);
  s->path = arena_strndup(a, path, strlen(path));
  s->text = arena_strndup(a, buf, n);
  s->len = (int)n;
  free(buf);
  return s;
}
