/* sema_int.h — shared between the parts of semantic analysis:
 * sema.c (statements, scopes, functions, imports), sema_expr.c
 * (expressions), sema_index.c (index ranges and implicit sums) and
 * builtins.c (the builtin function table). Not for other modules. */
#ifndef TNS_SEMA_INT_H
#define TNS_SEMA_INT_H
#include "compile.h"
#include "sema.h"
#include "types.h"
#include "builtins.h"

typedef struct Scope Scope;
struct Scope {
  Scope *parent;
  PtrVec syms;
  int is_function;      /* names above a function scope are not visible,
                           except functions */
  int in_branch;        /* an if/else body */
};

typedef struct IndexEnv IndexEnv;
struct IndexEnv {
  IndexEnv *parent;     /* enclosing reduction's scope */
  PtrVec vars;
};

typedef struct Sema {
  Compiler *c;
  Arena *arena;
  DiagSink *diag;
  Scope *scope;
  Scope *global;
  int loop_depth;
  Node *cur_def;        /* function being checked, or NULL */
  PtrVec returns;       /* RETURN nodes seen in cur_def */
  PtrVec imported;      /* realpaths of imported files */
  const char *path;     /* file being checked (for relative imports) */
  int in_import;
  int bind_data;        /* size names bound now come from data (annotations) */
  PtrVec *snaps;        /* SNAPSHOT sizes of the simple statement being
                           checked; NULL where a dimension must be static */
  PtrVec snap_names;    /* every snapshot size name, to keep them distinct */
  const char *defining; /* the name `X = value` defines (names a load's sizes) */
  int annotating;       /* checking the value of `X: T = value` (a load
                           takes its type from T, not from the file) */
  NodeList *stmts;      /* the statements around the one being checked */
  int stmt_at;          /* its position there */
  /* per index statement */
  IndexEnv *ienv;       /* innermost index scope, NULL outside statements */
  PtrVec stmt_vars;     /* every IndexVar of the current statement */
  PtrVec candidates;    /* names that are indices in this statement */
  PtrVec groups;        /* grouped-index constraints to solve */
  const char *lhs_name; /* tensor being defined, for messages */
} Sema;

#define ERR(s, sp, id, ...) diag_report((s)->diag, (sp), id, ##__VA_ARGS__)

/* sema.c */
Symbol *sema_lookup(Sema *s, const char *name);
Symbol *sema_define(Sema *s, SymKind k, const char *name, Span sp, Type *t);
Type *sema_error_type(Sema *s);
/* t, or an error (reported at sp) when its rank is above TNS_MAX_RANK. */
Type *sema_rank_ok(Sema *s, Type *t, Span sp);
int sema_type_from_node(Sema *s, Node *tn, int bind, Type **out);
Type *sema_call_user(Sema *s, Node *call, Symbol *fn);
int sema_check_def(Sema *s, Symbol *fn);

/* sema_expr.c */
Type *sema_expr(Sema *s, Node *e);
Type *sema_expect_scalar(Sema *s, Node *e, const char *what);
int sema_value_ok(Sema *s, Node *e, Type *t);
int sema_is_weak(const Node *e);
void sema_retype_literal(Sema *s, Node *e, int elem);
int sema_adopt_literal(Sema *s, Node *e, int elem, const char *tparam, const char *what);
int sema_unify_elem(Sema *s, Node *a, Node *b, Span where, int *out);
int sema_dim_of_expr(Sema *s, Node *e, int bind, Dim *out);
int sema_fold_int(Sema *s, const Node *e, int64_t *out);
/* sema_index.c: a position on the left that is a value (U[t, q]) */
int sema_lhs_fixed(Sema *s, const Node *p);
const char *sema_node_text(Sema *s, Node *e);
const char *sema_op_text(Sema *s, int tok);

/* sema_index.c */
/* Types the right side of an assignment or expression statement (and the
 * left side X[i, j] when given): index ranges, implicit sums, result. */
Type *sema_stmt_rhs(Sema *s, Node *stmt, Node *lhs);
/* The same for a value that is not a statement (condition, bound, result). */
Type *sema_index_value(Sema *s, Node **slot);
int sema_is_index_name(Sema *s, const char *name);
IndexVar *sema_index_lookup(Sema *s, const char *name, Span sp);
Type *sema_access(Sema *s, Node *e);
Type *sema_reduce(Sema *s, Node *e);

/* builtins.c */
Type *builtin_check(Sema *s, int id, Node *call);

#endif
