/* parse_state.h — what grammar.y actions see (internal to the parser). */
#ifndef TNS_PARSE_STATE_H
#define TNS_PARSE_STATE_H
#include "ast.h"
#include "token.h"

typedef struct ParseState {
  Ast *ast;
  Node *program;
  int syntax_errors;
  int too_deep;
  Token last;            /* last token fed to the parser */
} ParseState;

void parse_syntax_error(ParseState *ps, int major, const Token *tok);
void parse_too_deep(ParseState *ps);
Node *parse_type_callee(ParseState *ps, const Token *t);
NodeList parse_prepend(ParseState *ps, Node *first, NodeList rest);

#endif
