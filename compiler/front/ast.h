/* ast.h — the syntax tree. One Node struct for every form (as in chibicc);
 * ast.def says which fields each kind uses. Nodes live in the compilation
 * arena and each carries the span of the text it came from. Sema fills the
 * `type` and `sym` fields and inserts implicit sums as REDUCE nodes. */
#ifndef TNS_AST_H
#define TNS_AST_H
#include <stdint.h>
#include "arena.h"
#include "diag.h"
#include "ops.h"
#include "strtab.h"
#include "types.h"

typedef enum NodeKind {
#define NODE(id, name) N_##id,
#include "ast.def"
#undef NODE
  N_COUNT
} NodeKind;

/* N_ASSIGN's op: `=` or `+=`. */
typedef enum AssignOp { ASSIGN_SET, ASSIGN_ADD } AssignOp;

typedef struct Node Node;
typedef struct NodeList {
  Node **items;
  int n, cap;
} NodeList;

struct Node {
  NodeKind kind;
  Span span;
  int op;               /* Op (ops.h), ReduceOp, ElemType, AssignOp */
  int implicit;         /* REDUCE placed by sema's implicit-sum rule */
  const char *name;     /* interned */
  const char *str;
  int64_t ival;
  double fval;
  Node *a, *b, *c;
  NodeList list, list2;
  /* filled by sema */
  Type *type;
  void *sym;            /* the Symbol or IndexVar a NAME refers to */
  PtrVec sizes;         /* a simple statement: SNAPSHOT nodes it runs first */
};

typedef struct Ast {
  Arena *arena;
  StrTab *names;
  DiagSink *diag;
} Ast;

Node *ast_node(Ast *t, NodeKind k, Span sp);
void ast_list_push(Ast *t, NodeList *l, Node *n);
NodeList ast_list1(Ast *t, Node *n);
Node *ast_int(Ast *t, Span sp, int64_t v);
Node *ast_float(Ast *t, Span sp, double v);
Node *ast_string(Ast *t, Span sp, const char *s);
Node *ast_bool(Ast *t, Span sp, int v);
Node *ast_name(Ast *t, Span sp, const char *name);
/* tok: the grammar's token, mapped to an Op here (ops.def) */
Node *ast_unary(Ast *t, Span op, int tok, Node *a);
Node *ast_binary(Ast *t, int tok, Node *a, Node *b);
Node *ast_index(Ast *t, Node *base, NodeList idx, Span close);
Node *ast_call(Ast *t, Node *callee, NodeList args, Span close);
Node *ast_group(Ast *t, Span open, NodeList items, Span close);
Node *ast_paren(Ast *t, Span open, Node *e, Span close);
Node *ast_label(Ast *t, Node *a, Node *b);
Node *ast_literal(Ast *t, Span open, NodeList items, Span close);
Node *ast_type(Ast *t, Span sp, int elem, const char *param);
Node *ast_type_dims(Ast *t, Node *type, NodeList dims, Span close);
Node *ast_assign(Ast *t, NodeList targets, AssignOp op, Node *value);
Node *ast_assign_typed(Ast *t, Node *target, Node *type, Node *value);
Node *ast_expr_stmt(Ast *t, Node *e);
Node *ast_for(Ast *t, Span kw, Node *var, Node *from, Node *to, Node *body);
Node *ast_while(Ast *t, Span kw, Node *cond, Node *body);
Node *ast_if(Ast *t, Span kw, Node *cond, Node *then, Node *els);
Node *ast_return(Ast *t, Span kw, NodeList values);
Node *ast_import_module(Ast *t, Span kw, NodeList parts);
Node *ast_import_file(Ast *t, Span kw, Node *path);
Node *ast_def(Ast *t, Span kw, Node *name, NodeList params, NodeList results, Node *body);
Node *ast_param(Ast *t, Node *name, Node *type);
Node *ast_block(Ast *t, Span open, NodeList stmts, Span close);
Node *ast_error(Ast *t, Span sp);

const char *ast_kind_name(NodeKind k);
void ast_dump(FILE *f, const Node *n, int depth);
/* Writes the node back as TNS source (for messages and `emit`). */
void ast_unparse(FILE *f, const Node *n);
char *ast_to_string(Arena *a, const Node *n);

#endif
