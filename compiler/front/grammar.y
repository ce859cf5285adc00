/* grammar.y — the TNS grammar (Lemon). Each action is one call into ast.c.
 * parse.c feeds tokens and decides which newlines end statements, so the
 * grammar sees NEWLINE only where a statement ends. */
%include {
#include <assert.h>
#include <stdlib.h>
#include "parse_state.h"
}

%name TnsParse
%token_prefix TK_
%extra_argument { ParseState *ps }
%token_type { Token }
%default_type { Node * }
%stack_size 4000
%token_destructor { (void)ps; (void)yypminor; }
%syntax_error { parse_syntax_error(ps, yymajor, &TOKEN); }
%stack_overflow { parse_too_deep(ps); }

/* Token order fixes the TK_* codes; NEWLINE first so tokens.def lines up. */
%token NEWLINE IDENT INT FLOAT STRING TYPE DEF RETURN IMPORT FOR IN WHILE IF ELSE
       TRUE FALSE.

%left OROR.
%left ANDAND.
%nonassoc EQ NE LT LE GT GE.
%left PLUS MINUS.
%left STAR SLASH SLASHSLASH PERCENT.
%right NOT UMINUS.
%right STARSTAR.

%type stmts { NodeList }
%type exprlist { NodeList }
%type args { NodeList }
%type arglist { NodeList }
%type params { NodeList }
%type paramlist { NodeList }
%type results { NodeList }
%type typelist { NodeList }
%type dotted { NodeList }

/* program = stmt* */
program ::= stmts(L). { ps->program = ast_block(ps->ast, span_none(), L, span_none()); }

stmts(A) ::= . { A = (NodeList){0}; }
stmts(A) ::= stmts(B) NEWLINE. { A = B; }
stmts(A) ::= stmts(B) stmt(S) NEWLINE. { A = B; ast_list_push(ps->ast, &A, S); }
/* after a bad statement, report the next error at once (Lemon would wait
 * for three good tokens, and lose errors on short lines) */
stmts(A) ::= stmts(B) error NEWLINE. { A = B; yypParser->yyerrcnt = -1; }

block(A) ::= LBRACE(O) stmts(L) RBRACE(C). { A = ast_block(ps->ast, O.span, L, C.span); }

stmt(A) ::= exprlist(L) ASSIGN expr(E). { A = ast_assign(ps->ast, L, ASSIGN_SET, E); }
stmt(A) ::= exprlist(L) PLUSEQ expr(E). { A = ast_assign(ps->ast, L, ASSIGN_ADD, E); }
stmt(A) ::= expr(X) COLON type(T) ASSIGN expr(E). { A = ast_assign_typed(ps->ast, X, T, E); }
stmt(A) ::= expr(E). { A = ast_expr_stmt(ps->ast, E); }
stmt(A) ::= FOR(K) name(V) IN expr(F) DOTDOT expr(T) block(B). { A = ast_for(ps->ast, K.span, V, F, T, B); }
stmt(A) ::= WHILE(K) expr(C) block(B). { A = ast_while(ps->ast, K.span, C, B); }
stmt(A) ::= ifstmt(S). { A = S; }
stmt(A) ::= RETURN(K) exprlist(L). { A = ast_return(ps->ast, K.span, L); }
stmt(A) ::= RETURN(K). { A = ast_return(ps->ast, K.span, (NodeList){0}); }
stmt(A) ::= IMPORT(K) dotted(L). { A = ast_import_module(ps->ast, K.span, L); }
stmt(A) ::= IMPORT(K) string(S). { A = ast_import_file(ps->ast, K.span, S); }
stmt(A) ::= DEF(K) name(N) LPAREN params(P) RPAREN block(B). { A = ast_def(ps->ast, K.span, N, P, (NodeList){0}, B); }
stmt(A) ::= DEF(K) name(N) LPAREN params(P) RPAREN ARROW results(R) block(B). { A = ast_def(ps->ast, K.span, N, P, R, B); }

ifstmt(A) ::= IF(K) expr(C) block(T). { A = ast_if(ps->ast, K.span, C, T, NULL); }
ifstmt(A) ::= IF(K) expr(C) block(T) ELSE block(E). { A = ast_if(ps->ast, K.span, C, T, E); }
ifstmt(A) ::= IF(K) expr(C) block(T) ELSE ifstmt(E). { A = ast_if(ps->ast, K.span, C, T, E); }

dotted(A) ::= name(N). { A = ast_list1(ps->ast, N); }
dotted(A) ::= dotted(B) DOT name(N). { A = B; ast_list_push(ps->ast, &A, N); }

params(A) ::= . { A = (NodeList){0}; }
params(A) ::= paramlist(L). { A = L; }
params(A) ::= paramlist(L) COMMA. { A = L; }
paramlist(A) ::= param(P). { A = ast_list1(ps->ast, P); }
paramlist(A) ::= paramlist(B) COMMA param(P). { A = B; ast_list_push(ps->ast, &A, P); }
param(A) ::= name(N) COLON type(T). { A = ast_param(ps->ast, N, T); }

results(A) ::= type(T). { A = ast_list1(ps->ast, T); }
results(A) ::= LPAREN typelist(L) RPAREN. { A = L; }
typelist(A) ::= type(T). { A = ast_list1(ps->ast, T); }
typelist(A) ::= typelist(B) COMMA type(T). { A = B; ast_list_push(ps->ast, &A, T); }

/* type = elemtype ("[" dims "]")? | typeparam ("[" dims "]")? */
type(A) ::= TYPE(T). { A = ast_type(ps->ast, T.span, (int)T.ival, NULL); }
type(A) ::= TYPE(T) LBRACKET args(D) RBRACKET(C). { A = ast_type_dims(ps->ast, ast_type(ps->ast, T.span, (int)T.ival, NULL), D, C.span); }
type(A) ::= IDENT(T). { A = ast_type(ps->ast, T.span, 0, T.str); }
type(A) ::= IDENT(T) LBRACKET args(D) RBRACKET(C). { A = ast_type_dims(ps->ast, ast_type(ps->ast, T.span, 0, T.str), D, C.span); }

exprlist(A) ::= expr(E). { A = ast_list1(ps->ast, E); }
exprlist(A) ::= exprlist(B) COMMA expr(E). { A = B; ast_list_push(ps->ast, &A, E); }

expr(A) ::= expr(X) OROR(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) ANDAND(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) EQ(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) NE(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) LT(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) LE(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) GT(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) GE(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) PLUS(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) MINUS(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) STAR(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) SLASH(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) PERCENT(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= expr(X) SLASHSLASH(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
/* a ** b binds tighter than unary minus and to the right, as in Python:
 * -2 ** 2 is -4, 2 ** 3 ** 2 is 2 ** 9 */
expr(A) ::= expr(X) STARSTAR(O) expr(Y). { A = ast_binary(ps->ast, O.kind, X, Y); }
expr(A) ::= MINUS(O) expr(X). [UMINUS] { A = ast_unary(ps->ast, O.span, O.kind, X); }
expr(A) ::= NOT(O) expr(X). { A = ast_unary(ps->ast, O.span, O.kind, X); }
expr(A) ::= postfix(P). { A = P; }
expr(A) ::= typeexpr(T). { A = T; }

/* a type used as a value: zeros(f64[3, 4]) */
typeexpr(A) ::= TYPE(T). { A = ast_type(ps->ast, T.span, (int)T.ival, NULL); }
typeexpr(A) ::= TYPE(T) LBRACKET args(D) RBRACKET(C). { A = ast_type_dims(ps->ast, ast_type(ps->ast, T.span, (int)T.ival, NULL), D, C.span); }

postfix(A) ::= primary(P). { A = P; }
postfix(A) ::= postfix(B) LBRACKET args(L) RBRACKET(C). { A = ast_index(ps->ast, B, L, C.span); }
postfix(A) ::= name(N) LPAREN args(L) RPAREN(C). { A = ast_call(ps->ast, N, L, C.span); }
postfix(A) ::= TYPE(T) LPAREN args(L) RPAREN(C). { A = ast_call(ps->ast, parse_type_callee(ps, &T), L, C.span); }

primary(A) ::= name(N). { A = N; }
primary(A) ::= INT(T). { A = ast_int(ps->ast, T.span, T.ival); }
primary(A) ::= FLOAT(T). { A = ast_float(ps->ast, T.span, T.fval); }
primary(A) ::= string(S). { A = S; }
primary(A) ::= TRUE(T). { A = ast_bool(ps->ast, T.span, 1); }
primary(A) ::= FALSE(T). { A = ast_bool(ps->ast, T.span, 0); }
primary(A) ::= LPAREN(O) arg(E) RPAREN(C). { A = ast_paren(ps->ast, O.span, E, C.span); }
primary(A) ::= LPAREN(O) arg(E) COMMA arglist(L) RPAREN(C). { A = ast_group(ps->ast, O.span, parse_prepend(ps, E, L), C.span); }
primary(A) ::= LBRACKET(O) args(L) RBRACKET(C). { A = ast_literal(ps->ast, O.span, L, C.span); }

name(A) ::= IDENT(T). { A = ast_name(ps->ast, T.span, T.str); }
string(A) ::= STRING(T). { A = ast_string(ps->ast, T.span, T.str); }

/* args = (arg ("," arg)* ","?)? ; arg = expr (":" expr)? */
args(A) ::= . { A = (NodeList){0}; }
args(A) ::= arglist(L). { A = L; }
args(A) ::= arglist(L) COMMA. { A = L; }
arglist(A) ::= arg(E). { A = ast_list1(ps->ast, E); }
arglist(A) ::= arglist(B) COMMA arg(E). { A = B; ast_list_push(ps->ast, &A, E); }
arg(A) ::= expr(E). { A = E; }
arg(A) ::= expr(X) COLON expr(Y). { A = ast_label(ps->ast, X, Y); }
