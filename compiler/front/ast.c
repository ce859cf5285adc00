/* ast.c — constructors called from the grammar actions, and printing. */
#include "ast.h"
#include <string.h>
#include "grammar.h"

static const char *const kind_names[] = {
#define NODE(id, name) name,
#include "ast.def"
#undef NODE
};

const char *ast_kind_name(NodeKind k) { return kind_names[k]; }

Node *ast_node(Ast *t, NodeKind k, Span sp) {
  Node *n = arena_alloc(t->arena, sizeof *n);
  n->kind = k;
  n->span = sp;
  return n;
}

void ast_list_push(Ast *t, NodeList *l, Node *n) {
  ptrvec_push(t->arena, (PtrVec *)l, n);
}

NodeList ast_list1(Ast *t, Node *n) {
  NodeList l = {0};
  ast_list_push(t, &l, n);
  return l;
}

Node *ast_int(Ast *t, Span sp, int64_t v) {
  Node *n = ast_node(t, N_INT, sp);
  n->ival = v;
  return n;
}

Node *ast_float(Ast *t, Span sp, double v) {
  Node *n = ast_node(t, N_FLOAT, sp);
  n->fval = v;
  return n;
}

Node *ast_string(Ast *t, Span sp, const char *s) {
  Node *n = ast_node(t, N_STRING, sp);
  n->str = s;
  return n;
}

Node *ast_bool(Ast *t, Span sp, int v) {
  Node *n = ast_node(t, N_BOOL, sp);
  n->ival = v;
  return n;
}

Node *ast_name(Ast *t, Span sp, const char *name) {
  Node *n = ast_node(t, N_NAME, sp);
  n->name = name;
  return n;
}

/* The Op a grammar token stands for (the one place tokens become Ops). */
static Op op_of_token(int tok, int unary) {
#define OP(id, token, text, cls) \
  if (tok == TK_##token && ((cls) == OPC_UNARY) == unary) return OP_##id;
#include "ops.def"
#undef OP
  TNS_BUG("operator token missing from ops.def");
}

/* expr = ("-" | "!") expr ; a literal folds its sign in */
Node *ast_unary(Ast *t, Span op, int tok, Node *a) {
  if (tok == TK_MINUS && (a->kind == N_INT || a->kind == N_FLOAT)) {
    a->span = span_join(op, a->span);
    a->ival = -a->ival;
    a->fval = -a->fval;
    return a;
  }
  Node *n = ast_node(t, N_UNARY, span_join(op, a->span));
  n->op = op_of_token(tok, 1);
  n->a = a;
  return n;
}

/* expr = expr op expr */
Node *ast_binary(Ast *t, int tok, Node *a, Node *b) {
  Node *n = ast_node(t, N_BINARY, span_join(a->span, b->span));
  n->op = op_of_token(tok, 0);
  n->a = a;
  n->b = b;
  return n;
}

/* postfix = postfix "[" idx, ... "]" ; `i: n` positions arrive as LABEL */
Node *ast_index(Ast *t, Node *base, NodeList idx, Span close) {
  Node *n = ast_node(t, N_INDEX, span_join(base->span, close));
  n->a = base;
  for (int i = 0; i < idx.n; i++) {
    Node *e = idx.items[i];
    if (e->kind == N_LABEL) e->kind = N_RANGED;
  }
  n->list = idx;
  return n;
}

/* All labels' left sides and the plain arguments before them must be
 * index names: `sum(j, k: e)` parses as [j, (k: e)]. */
static int reduce_shape_ok(NodeList args) {
  if (args.n == 0 || args.items[args.n - 1]->kind != N_LABEL) return 0;
  for (int i = 0; i < args.n - 1; i++)
    if (args.items[i]->kind != N_NAME) return 0;
  return args.items[args.n - 1]->a->kind == N_NAME;
}

/* call = ident "(" args ")" ; reduce = ident "(" ident, ... ":" expr ")" */
Node *ast_call(Ast *t, Node *callee, NodeList args, Span close) {
  Span sp = span_join(callee->span, close);
  int red = reduce_lookup(callee->name);
  if (red >= 0 && reduce_shape_ok(args)) {
    Node *n = ast_node(t, N_REDUCE, sp);
    n->op = red;
    n->name = callee->name;
    Node *last = args.items[args.n - 1];
    for (int i = 0; i < args.n - 1; i++) ast_list_push(t, &n->list, args.items[i]);
    ast_list_push(t, &n->list, last->a);
    n->a = last->b;
    return n;
  }
  int bad = 0;
  for (int i = 0; i < args.n; i++)
    if (args.items[i]->kind == N_LABEL) {
      diag_report(t->diag, args.items[i]->span,
                  red >= 0 ? E_REDUCE_NOT_INDEX : E_LABEL_IN_CALL, callee->name);
      bad = 1;
    }
  if (bad) return ast_error(t, sp);  /* reported: sema need not say it again */
  Node *n = ast_node(t, N_CALL, sp);
  n->name = callee->name;
  n->list = args;
  n->str = NULL;
  n->b = callee;   /* keeps the callee's own span for messages */
  return n;
}

/* primary = "(" expr "," expr, ... ")" — a grouped index */
Node *ast_group(Ast *t, Span open, NodeList items, Span close) {
  Node *n = ast_node(t, N_GROUP, span_join(open, close));
  for (int i = 0; i < items.n; i++)
    if (items.items[i]->kind == N_LABEL) items.items[i]->kind = N_RANGED;
  n->list = items;
  return n;
}

/* primary = "(" expr ")" ; the span grows to cover the parentheses */
Node *ast_paren(Ast *t, Span open, Node *e, Span close) {
  (void)t;
  if (e->kind == N_LABEL) e->kind = N_RANGED; /* `(i: n)` alone */
  e->span = span_join(open, span_join(e->span, close));
  return e;
}

/* arg = expr ":" expr */
Node *ast_label(Ast *t, Node *a, Node *b) {
  Node *n = ast_node(t, N_LABEL, span_join(a->span, b->span));
  n->a = a;
  n->b = b;
  return n;
}

/* primary = "[" expr, ... "]" */
Node *ast_literal(Ast *t, Span open, NodeList items, Span close) {
  Node *n = ast_node(t, N_LITERAL, span_join(open, close));
  n->list = items;
  return n;
}

/* type = elemtype | ident (a type parameter) */
Node *ast_type(Ast *t, Span sp, int elem, const char *param) {
  Node *n = ast_node(t, N_TYPE, sp);
  n->op = param ? ELEM_PARAM : elem;
  n->name = param;
  n->ival = 0; /* rank given: set by ast_type_dims */
  return n;
}

/* type = type "[" dim, ... "]" */
Node *ast_type_dims(Ast *t, Node *type, NodeList dims, Span close) {
  (void)t;
  type->list = dims;
  type->ival = 1;
  type->span = span_join(type->span, close);
  return type;
}

/* stmt = target, ... ("=" | "+=") expr */
Node *ast_assign(Ast *t, NodeList targets, AssignOp op, Node *value) {
  Node *n = ast_node(t, N_ASSIGN, span_join(targets.items[0]->span, value->span));
  n->list = targets;
  n->op = op;
  n->a = value;
  return n;
}

/* stmt = ident ":" type "=" expr */
Node *ast_assign_typed(Ast *t, Node *target, Node *type, Node *value) {
  Node *n = ast_assign(t, ast_list1(t, target), ASSIGN_SET, value);
  n->b = type;
  return n;
}

Node *ast_expr_stmt(Ast *t, Node *e) {
  Node *n = ast_node(t, N_EXPR_STMT, e->span);
  n->a = e;
  return n;
}

/* stmt = "for" ident "in" expr ".." expr block */
Node *ast_for(Ast *t, Span kw, Node *var, Node *from, Node *to, Node *body) {
  Node *n = ast_node(t, N_FOR, span_join(kw, to->span));
  n->name = var->name;
  n->b = to;
  n->a = from;
  n->c = body;
  n->list = ast_list1(t, var);
  return n;
}

/* stmt = "while" expr block */
Node *ast_while(Ast *t, Span kw, Node *cond, Node *body) {
  Node *n = ast_node(t, N_WHILE, span_join(kw, cond->span));
  n->a = cond;
  n->c = body;
  return n;
}

/* stmt = "if" expr block ("else" (block | if))? */
Node *ast_if(Ast *t, Span kw, Node *cond, Node *then, Node *els) {
  Node *n = ast_node(t, N_IF, span_join(kw, cond->span));
  n->a = cond;
  n->b = then;
  n->c = els;
  return n;
}

/* stmt = "return" expr, ... */
Node *ast_return(Ast *t, Span kw, NodeList values) {
  Span sp = values.n ? span_join(kw, values.items[values.n - 1]->span) : kw;
  Node *n = ast_node(t, N_RETURN, sp);
  n->list = values;
  return n;
}

/* stmt = "import" ident ("." ident)* ; std.nn -> "std/nn" */
Node *ast_import_module(Ast *t, Span kw, NodeList parts) {
  Node *last = parts.items[parts.n - 1];
  Node *n = ast_node(t, N_IMPORT, span_join(kw, last->span));
  size_t len = 0;
  for (int i = 0; i < parts.n; i++) len += strlen(parts.items[i]->name) + 1;
  char *dotted = arena_alloc(t->arena, len + 1);
  for (int i = 0; i < parts.n; i++) {
    if (i) strcat(dotted, ".");
    strcat(dotted, parts.items[i]->name);
  }
  n->name = strtab_cstr(t->names, dotted);
  n->list = parts;
  return n;
}

/* stmt = "import" string */
Node *ast_import_file(Ast *t, Span kw, Node *path) {
  Node *n = ast_node(t, N_IMPORT, span_join(kw, path->span));
  n->str = path->str;
  n->a = path;
  return n;
}

/* stmt = "def" ident "(" params ")" ("->" results)? block */
Node *ast_def(Ast *t, Span kw, Node *name, NodeList params, NodeList results, Node *body) {
  Node *n = ast_node(t, N_DEF, span_join(kw, name->span));
  n->name = name->name;
  n->a = name;
  n->list = params;
  n->list2 = results;
  n->c = body;
  return n;
}

/* param = ident ":" type */
Node *ast_param(Ast *t, Node *name, Node *type) {
  Node *n = ast_node(t, N_PARAM, span_join(name->span, type->span));
  n->name = name->name;
  n->a = type;
  return n;
}

Node *ast_block(Ast *t, Span open, NodeList stmts, Span close) {
  Node *n = ast_node(t, N_BLOCK, span_join(open, close));
  n->list = stmts;
  return n;
}

Node *ast_error(Ast *t, Span sp) { return ast_node(t, N_ERROR, sp); }
