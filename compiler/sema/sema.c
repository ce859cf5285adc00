/* sema.c — semantic analysis, statements and scopes.
 * Needs: a parsed program (BLOCK of statements).
 * Guarantees when no error is reported: every expression node has a type,
 * every NAME its symbol or index, every index a range, every implicit sum
 * an explicit REDUCE node (sema_index.c), every def a checked signature.
 * Expressions are in sema_expr.c, index statements in sema_index.c,
 * builtins in builtins.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sema_int.h"
#include "tns_runtime.h"

static void check_block(Sema *s, Node *block, int loop, int branch);
static void check_stmt(Sema *s, Node *st);

/* ---- scopes ---- */

static Scope *scope_push(Sema *s, int is_function) {
  Scope *sc = arena_alloc(s->arena, sizeof *sc);
  sc->parent = s->scope;
  sc->is_function = is_function;
  s->scope = sc;
  return sc;
}

static void scope_pop(Sema *s) { s->scope = s->scope->parent; }

static Symbol *scope_find(Scope *sc, const char *name) {
  for (int i = sc->syms.n - 1; i >= 0; i--) {
    Symbol *y = sc->syms.items[i];
    if (y->name == name) return y;
  }
  return NULL;
}

/* Variables are visible up to the enclosing function; functions always. */
Symbol *sema_lookup(Sema *s, const char *name) {
  int crossed = 0;
  for (Scope *sc = s->scope; sc; sc = sc->parent) {
    Symbol *y = scope_find(sc, name);
    if (y && (!crossed || y->kind == SYM_FUNC)) return y;
    if (sc->is_function) crossed = 1;
  }
  return NULL;
}

Symbol *sema_define(Sema *s, SymKind k, const char *name, Span sp, Type *t) {
  Symbol *y = arena_alloc(s->arena, sizeof *y);
  y->kind = k;
  y->name = name;
  y->span = sp;
  y->type = t;
  y->loop_depth = s->loop_depth;
  ptrvec_push(s->arena, &s->scope->syms, y);
  return y;
}

Type *sema_error_type(Sema *s) { return type_simple(s->arena, T_ERROR); }

/* One maximum rank for the whole system: the runtime's (print, save,
 * load, permute keep dimensions in TNS_MAX_RANK-sized arrays). */
Type *sema_rank_ok(Sema *s, Type *t, Span sp) {
  if (!t || t->kind != T_TENSOR || t->rank <= TNS_MAX_RANK) return t;
  ERR(s, sp, E_RANK_LIMIT, t->rank, TNS_MAX_RANK);
  return sema_error_type(s);
}

/* ---- types written in the source ---- */

/* type = elem ("[" dim, ... "]")? ; with bind, unknown size names and
 * type parameters are defined (parameters of a def). */
int sema_type_from_node(Sema *s, Node *tn, int bind, Type **out) {
  int elem = tn->op, ok = 1;
  if (elem == ELEM_PARAM) {
    Symbol *y = sema_lookup(s, tn->name);
    if (!y && bind) y = sema_define(s, SYM_TPARAM, tn->name, tn->span, NULL);
    if (!y || y->kind != SYM_TPARAM) {
      ERR(s, tn->span, E_UNKNOWN_TYPE, tn->name);
      return 0;
    }
  }
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(tn->list.n + 1));
  for (int i = 0; i < tn->list.n; i++)
    ok &= sema_dim_of_expr(s, tn->list.items[i], bind, &dims[i]);
  if (!ok) return 0;
  if (tn->list.n > TNS_MAX_RANK) {
    ERR(s, tn->span, E_RANK_LIMIT, tn->list.n, TNS_MAX_RANK);
    return 0;
  }
  Type *t = type_tensor(s->arena, elem, tn->list.n, dims);
  t->tparam = tn->name;
  tn->type = type_typeval(s->arena, t);
  *out = t;
  return 1;
}

/* ---- binding names ---- */

static int same_type(const Type *a, const Type *b) {
  if (a->kind != b->kind) return 0;
  if (a->kind != T_TENSOR) return 1;
  if (a->elem != b->elem || a->rank != b->rank) return 0;
  if (a->elem == ELEM_PARAM && a->tparam != b->tparam) return 0;
  for (int i = 0; i < a->rank; i++)
    if (dim_cmp(a->dims[i], b->dims[i]) == DIM_DIFFERENT) return 0;
  return 1;
}

/* The symbol `name` would rebind: visible, and in this function. */
static Symbol *find_rebind(Sema *s, const char *name, Scope **where) {
  for (Scope *sc = s->scope; sc; sc = sc->parent) {
    Symbol *y = scope_find(sc, name);
    if (y) {
      *where = sc;
      return y;
    }
    if (sc->is_function) break;
  }
  return NULL;
}

/* Binds name to a value of type t: a new variable, or a rebinding that
 * keeps its type when it crosses a loop or a branch. */
static Symbol *rebind_var(Sema *s, Symbol *y, Scope *where, Span sp, Type *t);

/* The value an i64 name is known to hold, for use as a size (f64[k]):
 * an integer constant (`3`, `2 ** 3`, `k // 2` of a known k) bound where
 * no branch or loop can skip or repeat it. */
static void set_const(Sema *s, Symbol *y, Node *value, int straight) {
  int64_t v = 0;
  y->has_const = straight && value && y->type && y->type->kind == T_TENSOR && y->type->rank == 0 &&
                 elem_is_int(y->type->elem) && sema_fold_int(s, value, &v) == INT_OK;
  if (y->has_const) y->cval = v;
  /* k = dim(X, 1): the size k stands for, for a reversal only */
  Node *x = value && value->kind == N_CALL && value->list.n == 2 && !strcmp(value->name, "dim") ? value->list.items[0] : NULL;
  Node *c = x ? value->list.items[1] : NULL;
  y->has_dim_of = straight && x && x->type && x->type->kind == T_TENSOR && c->kind == N_INT && c->ival >= 0 &&
                  c->ival < x->type->rank;
  if (y->has_dim_of) y->dim_of = x->type->dims[c->ival];
}

static Symbol *bind_var(Sema *s, const char *name, Span sp, Type *t, Node *value) {
  t = sema_rank_ok(s, t, sp);
  Scope *where = NULL;
  Symbol *y = find_rebind(s, name, &where);
  if (!y) {
    y = sema_define(s, SYM_VAR, name, sp, t);
    set_const(s, y, value, 1);
    return y;
  }
  y = rebind_var(s, y, where, sp, t);
  if (y) set_const(s, y, value, where == s->scope && y->loop_depth == s->loop_depth);
  return y;
}

/* A rebinding keeps the type when it crosses a loop or a branch. */
static Symbol *rebind_var(Sema *s, Symbol *y, Scope *where, Span sp, Type *t) {
  const char *name = y->name;
  if (y->kind == SYM_VAR && y->def && y->def->kind == N_FOR) { ERR(s, sp, E_ASSIGN_LOOP_VAR, name); return NULL; }
  if (y->kind == SYM_FUNC) { ERR(s, sp, E_ASSIGN_FUNC, name); return NULL; }
  if (y->kind == SYM_SIZE) { ERR(s, sp, E_ASSIGN_SIZE, name); return NULL; }
  if (y->kind != SYM_VAR) { ERR(s, sp, E_REDEFINED, name); return NULL; }
  if (type_is_error(t) || type_is_error(y->type)) {
    y->type = t;
    return y;
  }
  int crosses_loop = y->loop_depth < s->loop_depth;
  int crosses_branch = where != s->scope;
  if ((crosses_loop || crosses_branch) && !same_type(y->type, t)) {
    ERR(s, sp, crosses_loop ? E_LOOP_CHANGE : E_BRANCH_CHANGE, name,
        type_to_string(s->arena, y->type), type_to_string(s->arena, t));
    ERR(s, y->span, N_PREVIOUS, name);
    return NULL;
  }
  if (!crosses_loop && !crosses_branch) {
    y->type = t;
    y->span = sp;
  }
  return y;
}

/* ---- assignments ---- */

/* Whether value (a load or a literal) takes its type from the annotation. */
static int value_is_dynamic(const Type *t) { return t->kind == T_TENSOR && t->rank < 0; }

/* Compares one annotated dimension `n` (a bare name) with the value's; a
 * new size name is bound to the value's dimension, or, for a load, to a
 * data size whose value the load reads. */
static void annot_dim(Sema *s, Node *an, Node *dn, int i, const Type *vt, Dim *out, int *ok) {
  Symbol *y = dn->kind == N_NAME ? sema_lookup(s, dn->name) : NULL;
  if (dn->kind == N_NAME && !y) {
    Dim v = value_is_dynamic(vt) ? dim_data_sym(dn->name) : vt->dims[i];
    Symbol *sz = sema_define(s, SYM_SIZE, dn->name, dn->span, type_scalar(s->arena, ELEM_I64));
    sz->size = v;
    dn->sym = sz;
    *out = v;
    return;
  }
  if (!sema_dim_of_expr(s, dn, 1, out)) { *ok = 0; return; }
  if (!value_is_dynamic(vt) && dim_cmp(*out, vt->dims[i]) == DIM_DIFFERENT) {
    ERR(s, dn->span, E_ANNOT_DIM, i, an->name, dim_to_string(s->arena, *out),
        dim_to_string(s->arena, vt->dims[i]));
    *ok = 0;
  }
}

/* The size names in a written dimension that are not defined yet. */
static int new_size_names(Sema *s, Node *d, const char **out, int n) {
  if (d->kind == N_BINARY) return new_size_names(s, d->b, out, new_size_names(s, d->a, out, n));
  if (d->kind != N_NAME || sema_lookup(s, d->name)) return n;
  for (int i = 0; i < n; i++)
    if (out[i] == d->name) return n;
  if (n < DIM_MAX_SYMS) out[n++] = d->name;
  return n;
}

/* A product dimension with one new size name, `n*5`: binds the name to
 * the value's dimension divided by the rest (a data size, divided out at
 * run time, when that cannot be done here). Two new names cannot be
 * bound from one number. */
static void annot_product(Sema *s, Node *an, Node *dn, int i, const Type *vt, Dim *out, int *ok) {
  const char *names[DIM_MAX_SYMS];
  int n = new_size_names(s, dn, names, 0);
  if (n > 1) {
    char *list = arena_printf(s->arena, "'%s'", names[0]);
    for (int k = 1; k < n; k++) list = arena_printf(s->arena, "%s and '%s'", list, names[k]);
    ERR(s, dn->span, E_ANNOT_UNBINDABLE, list, i, an->name);
    *ok = 0;
    return;
  }
  if (n == 0 || value_is_dynamic(vt)) { annot_dim(s, an, dn, i, vt, out, ok); return; }
  Dim d, rest, q;
  if (!sema_dim_of_expr(s, dn, 1, &d)) { *ok = 0; return; }
  Symbol *u = sema_lookup(s, names[0]);
  dim_div(d, u->size, &rest);   /* d holds u's own name: it divides */
  if (dim_div(vt->dims[i], rest, &q)) {
    u->size = q;          /* f64[n*5] = zeros(f64[10]): n is 2 */
    *out = vt->dims[i];
  } else if (dim_is_const(vt->dims[i]) && dim_is_const(rest)) {
    ERR(s, dn->span, E_ANNOT_NOT_MULTIPLE, i, an->name, dim_to_string(s->arena, d),
        dim_to_string(s->arena, vt->dims[i]), dim_to_string(s->arena, rest));
    *ok = 0;
  } else {
    *out = d;             /* divided out when the statement runs */
  }
}

/* stmt = ident ":" type "=" expr */
static void check_annotated(Sema *s, Node *st) {
  Node *target = st->list.items[0], *tn = st->b;
  if (target->kind != N_NAME) { ERR(s, target->span, E_BAD_TARGET); return; }
  s->annotating = 1;
  Type *vt = sema_index_value(s, &st->a);
  s->annotating = 0;
  if (type_is_error(vt)) { bind_var(s, target->name, target->span, vt, NULL); return; }
  int elem = tn->op, ok = 1;
  if (elem == ELEM_PARAM) {
    Symbol *y = sema_lookup(s, tn->name);
    if (!y || y->kind != SYM_TPARAM) { ERR(s, tn->span, E_UNKNOWN_TYPE, tn->name); ok = 0; }
  }
  if (vt->kind != T_TENSOR) {
    sema_value_ok(s, st->a, vt);
    bind_var(s, target->name, target->span, sema_error_type(s), NULL);
    return;
  }
  if (ok && !value_is_dynamic(vt) && vt->rank != tn->list.n) {
    ERR(s, tn->span, E_ANNOT_RANK, target->name, tn->list.n, vt->rank);
    ok = 0;
  }
  st->type = vt;   /* the value's own type, for the run-time checks */
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(tn->list.n + 1));
  s->bind_data = 1;
  /* bare names first, so that f64[n*m, n] binds n before dividing by it */
  for (int i = 0; ok && i < tn->list.n; i++)
    if (tn->list.items[i]->kind == N_NAME) annot_dim(s, target, tn->list.items[i], i, vt, &dims[i], &ok);
  for (int i = 0; ok && i < tn->list.n; i++)
    if (tn->list.items[i]->kind != N_NAME) annot_product(s, target, tn->list.items[i], i, vt, &dims[i], &ok);
  s->bind_data = 0;
  if (ok && !value_is_dynamic(vt) && vt->elem != elem) {
    if (sema_is_weak(st->a))
      ok = sema_adopt_literal(s, st->a, elem, tn->name, arena_printf(s->arena, "'%s'", target->name));
    else {
      ERR(s, st->a->span, E_ANNOT_ELEM, target->name, elem_name(elem), elem_name(vt->elem));
      ok = 0;
    }
  }
  Type *t = ok ? type_tensor(s->arena, elem, tn->list.n, dims) : sema_error_type(s);
  if (ok) t->tparam = tn->name;
  tn->type = type_typeval(s->arena, t);
  st->a->type = t;
  target->sym = bind_var(s, target->name, target->span, t, st->a);
  target->type = t;
}

/* stmt = a, b, ... "=" call */
static void check_multi(Sema *s, Node *st) {
  Type *vt = sema_index_value(s, &st->a);
  int n = st->list.n;
  if (!type_is_error(vt) && (vt->kind != T_TUPLE || st->a->kind != N_CALL)) {
    ERR(s, st->a->span, E_MULTI_TARGET);
    vt = sema_error_type(s);
  } else if (!type_is_error(vt) && vt->n != n) {
    ERR(s, st->a->span, E_RESULT_COUNT, n, st->a->name, vt->n);
    vt = sema_error_type(s);
  }
  for (int i = 0; i < n; i++) {
    Node *t = st->list.items[i];
    if (t->kind != N_NAME) { ERR(s, t->span, E_BAD_TARGET); continue; }
    t->type = type_is_error(vt) ? vt : vt->items[i];
    t->sym = bind_var(s, t->name, t->span, t->type, NULL);
  }
}

/* Narrowing check shared by += and annotated bindings. */
static int converts_to(int from, int to) {
  return from == to || elem_promote(from, to) == to;
}

/* stmt = target "+=" expr */
static void check_pluseq(Sema *s, Node *st, Node *target, Type *vt) {
  const char *name = target->kind == N_INDEX ? target->a->name : target->name;
  Symbol *y = sema_lookup(s, name);
  Span at = target->kind == N_INDEX ? target->a->span : target->span;
  if (!y) { ERR(s, target->span, E_PLUSEQ_UNDEFINED, name); return; }
  if (y->kind == SYM_FUNC) { ERR(s, at, E_ASSIGN_FUNC, name); return; }
  if (y->kind == SYM_SIZE) { ERR(s, at, E_ASSIGN_SIZE, name); return; }
  if (y->kind != SYM_VAR) { ERR(s, at, E_REDEFINED, name); return; }
  if (y->def && y->def->kind == N_FOR) { ERR(s, at, E_ASSIGN_LOOP_VAR, name); return; }
  if (type_is_error(vt) || type_is_error(y->type)) return;
  Type *want = y->type;
  /* x += 1 adds to every element, as in numpy */
  int same = vt->rank == want->rank || (vt->rank == 0 && target->kind == N_NAME);
  for (int i = 0; same && i < vt->rank; i++)
    same = dim_cmp(vt->dims[i], want->dims[i]) != DIM_DIFFERENT;
  if (!same) {
    ERR(s, st->a->span, E_PLUSEQ_SHAPE, name, type_to_string(s->arena, want),
        type_to_string(s->arena, vt));
    return;
  }
  const char *what = arena_printf(s->arena, st->op == ASSIGN_ADD ? "'+=' into '%s'" : "writing into '%s'", name);
  if (sema_is_weak(st->a)) {
    if (!sema_adopt_literal(s, st->a, want->elem, want->tparam, what)) return;
  } else if (!converts_to(vt->elem, want->elem)) {
    const char *to = want->elem == ELEM_PARAM ? want->tparam : elem_name(want->elem);
    const char *from = vt->elem == ELEM_PARAM ? vt->tparam : elem_name(vt->elem);
    ERR(s, st->a->span, E_NARROWING, what, from, to, to);
    return;
  }
  target->type = want;
  if (target->kind == N_INDEX) target->a->sym = y;
  else target->sym = y;
}

static int has_fixed(Sema *s, const Node *target) {
  for (int i = 0; i < target->list.n; i++)
    if (sema_lhs_fixed(s, target->list.items[i])) return 1;
  return 0;
}

/* stmt = target ("=" | "+=") expr, target = name | name "[" idx "]" */
/* The rank of name's first indexed use in n, or -1. */
static int rank_of_use(const Node *n, const char *name) {
  if (!n) return -1;
  if (n->kind == N_INDEX && n->a && n->a->kind == N_NAME && n->a->name == name) return n->list.n;
  const Node *kids[] = {n->a, n->b, n->c};
  for (int i = 0; i < 3; i++) {
    int r = rank_of_use(kids[i], name);
    if (r >= 0) return r;
  }
  for (int i = 0; i < n->list.n; i++) {
    int r = rank_of_use(n->list.items[i], name);
    if (r >= 0) return r;
  }
  return -1;
}

/* X = load("missing.npy"): the file is not there to give its type, so
 * the error suggests an annotation with the rank that X's use implies. */
static void load_needs_type(Sema *s, Node *st, const char *name) {
  int rank = -1;
  for (int i = s->stmt_at; s->stmts && rank < 0 && i < s->stmts->n; i++)
    rank = rank_of_use(s->stmts->items[i], name);
  static const char *names[] = {"n", "m", "p", "q", "r", "s", "t", "u"};
  char *dims = rank < 0 ? "n, ..." : "";
  for (int k = 0; k < rank; k++)
    dims = arena_printf(s->arena, "%s%s%s", dims, k ? ", " : "", k < 8 ? names[k] : arena_printf(s->arena, "n%d", k));
  const char *file = st->a->list.n && st->a->list.items[0]->kind == N_STRING ? st->a->list.items[0]->str : "?";
  ERR(s, st->a->span, E_LOAD_MISSING, file, name, rank == 0 ? "f64" : arena_printf(s->arena, "f64[%s]", dims));
}

static void check_assign(Sema *s, Node *st) {
  if (st->b) { check_annotated(s, st); return; }
  if (st->list.n > 1) { check_multi(s, st); return; }
  Node *target = st->list.items[0];
  int indexed = target->kind == N_INDEX;
  if (!(target->kind == N_NAME || (indexed && target->a->kind == N_NAME))) {
    ERR(s, target->span, E_BAD_TARGET);
    sema_expr(s, st->a);
    return;
  }
  s->defining = indexed ? NULL : target->name;
  Type *t = sema_stmt_rhs(s, st, indexed ? target : NULL);
  s->defining = NULL;
  if (st->op == ASSIGN_ADD) { check_pluseq(s, st, target, t); return; }
  if (indexed && has_fixed(s, target)) {   /* U[t, q] = x[q]: a write into U */
    if (!type_is_error(t)) check_pluseq(s, st, target, t);
    return;
  }
  if (!indexed && value_is_dynamic(t) && st->a->kind == N_CALL) {
    load_needs_type(s, st, target->name);
    t = sema_error_type(s);
  }
  if (!sema_value_ok(s, st->a, t)) t = sema_error_type(s);
  Node *nm = indexed ? target->a : target;
  target->type = t;
  nm->sym = bind_var(s, nm->name, nm->span, t, indexed ? NULL : st->a);
}

/* ---- control flow ---- */

/* A scalar outside a statement: a condition or a loop bound. Indices in
 * it are summed (sema_index_value). */
static Type *scalar_value(Sema *s, Node **slot, const char *what) {
  Type *t = sema_index_value(s, slot);
  if (type_is_error(t)) return t;
  if (t->kind != T_TENSOR || t->rank != 0) {
    ERR(s, (*slot)->span, E_NOT_SCALAR, what, type_to_string(s->arena, t));
    return sema_error_type(s);
  }
  return t;
}

/* Names a loop body assigns hold different values on different
 * iterations: none of them is a known constant (a size) in the loop. */
static void forget_consts(Sema *s, Node *n) {
  if (!n) return;
  switch (n->kind) {
  case N_ASSIGN:
    for (int i = 0; i < n->list.n; i++) {
      Node *t = n->list.items[i], *nm = t->kind == N_INDEX ? t->a : t;
      Symbol *y = nm->kind == N_NAME ? sema_lookup(s, nm->name) : NULL;
      if (y && y->kind == SYM_VAR) y->has_const = y->has_dim_of = 0;
    }
    break;
  case N_BLOCK:
    for (int i = 0; i < n->list.n; i++) forget_consts(s, n->list.items[i]);
    break;
  case N_IF: forget_consts(s, n->b); forget_consts(s, n->c); break;
  case N_FOR: case N_WHILE: forget_consts(s, n->c); break;
  default: break;
  }
}

/* stmt = "for" ident "in" expr ".." expr block */
static void check_for(Sema *s, Node *st) {
  Type *a = scalar_value(s, &st->a, "the start of a for range");
  Type *b = scalar_value(s, &st->b, "the end of a for range");
  if (!type_is_error(a) && !elem_is_int(a->elem)) ERR(s, st->a->span, E_NOT_INT, "the start of a for range", type_to_string(s->arena, a));
  if (!type_is_error(b) && !elem_is_int(b->elem)) ERR(s, st->b->span, E_NOT_INT, "the end of a for range", type_to_string(s->arena, b));
  if (sema_is_weak(st->a)) sema_retype_literal(s, st->a, ELEM_I64);
  if (sema_is_weak(st->b)) sema_retype_literal(s, st->b, ELEM_I64);
  s->loop_depth++;
  scope_push(s, 0);
  Node *var = st->list.items[0];
  Symbol *lv = sema_define(s, SYM_VAR, st->name, var->span, type_scalar(s->arena, ELEM_I64));
  lv->def = st; /* marks the loop variable: it cannot be assigned */
  var->sym = lv;
  var->type = type_scalar(s->arena, ELEM_I64);
  forget_consts(s, st->c);
  check_block(s, st->c, 0, 0);
  scope_pop(s);
  s->loop_depth--;
}

static void check_cond(Sema *s, Node **cond, const char *what) {
  Type *t = scalar_value(s, cond, what);
  if (!type_is_error(t) && t->elem != ELEM_BOOL)
    ERR(s, (*cond)->span, E_NOT_BOOL, what, type_to_string(s->arena, t));
}

/* stmt = "while" expr block */
static void check_while(Sema *s, Node *st) {
  forget_consts(s, st->c);
  check_cond(s, &st->a, "a while condition");
  check_block(s, st->c, 1, 0);
}

/* stmt = "if" expr block ("else" (block | if))? */
static void check_if(Sema *s, Node *st) {
  check_cond(s, &st->a, "an if condition");
  check_block(s, st->b, 0, 1);
  if (st->c && st->c->kind == N_IF) check_if(s, st->c);
  else if (st->c) check_block(s, st->c, 0, 1);
}

static void check_block(Sema *s, Node *block, int loop, int branch) {
  s->loop_depth += loop;
  Scope *sc = scope_push(s, 0);
  sc->in_branch = branch;
  for (int i = 0; i < block->list.n; i++) {
    s->stmts = &block->list;
    s->stmt_at = i;
    check_stmt(s, block->list.items[i]);
  }
  scope_pop(s);
  s->loop_depth -= loop;
}

/* ---- functions ---- */

static Type *result_type(Sema *s, int n, Type **items) {
  if (n == 1) return items[0];
  if (n == 0) return type_simple(s->arena, T_VOID);
  return type_tuple(s->arena, n, items);
}

/* A later return of a def without declared results: the same types as
 * the first one (plain numbers adapt). */
static void check_inferred_return(Sema *s, Node *st, Symbol *fn, int n, Type **items, int want) {
  int same = want == n;
  for (int i = 0; same && i < n; i++) {
    Type *w = fn->result->kind == T_TUPLE ? fn->result->items[i] : fn->result;
    Node *v = st->list.items[i];
    if (sema_is_weak(v) && w->kind == T_TENSOR && w->rank == items[i]->rank &&
        sema_adopt_literal(s, v, w->elem, w->tparam, arena_printf(s->arena, "result %d of '%s'", i + 1, fn->name)))
      items[i] = v->type;
    same = same_type(w, items[i]);
  }
  if (!same)
    ERR(s, st->span, E_RETURN_INFERRED, fn->name, type_to_string(s->arena, fn->result),
        type_to_string(s->arena, result_type(s, n, items)));
}

/* stmt = "return" expr, ... — checked against the declared or first result */
static void check_return(Sema *s, Node *st) {
  if (!s->cur_def) { ERR(s, st->span, E_RETURN_OUTSIDE); return; }
  Symbol *fn = s->cur_def->sym;
  int n = st->list.n, bad = 0;
  Type **items = arena_alloc(s->arena, sizeof(Type *) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    items[i] = sema_index_value(s, &st->list.items[i]);
    if (!sema_value_ok(s, st->list.items[i], items[i])) bad = 1;
  }
  ptrvec_push(s->arena, &s->returns, st);
  /* a result that failed to check is <error>: callers say nothing more */
  if (bad && !fn->result) fn->result = sema_error_type(s);
  if (bad || (fn->result && type_is_error(fn->result))) return;
  if (!fn->result) { fn->result = result_type(s, n, items); return; }
  int want = fn->result->kind == T_TUPLE ? fn->result->n : fn->result->kind == T_VOID ? 0 : 1;
  if (!s->cur_def->list2.n) { check_inferred_return(s, st, fn, n, items, want); return; }
  if (want != n) { ERR(s, st->span, E_RETURN_COUNT, fn->name, want, want == 1 ? "" : "s", n); return; }
  for (int i = 0; i < n; i++) {
    Type *w = fn->result->kind == T_TUPLE ? fn->result->items[i] : fn->result;
    if (sema_is_weak(st->list.items[i]) && w->kind == T_TENSOR && w->rank == items[i]->rank) {
      const char *what = arena_printf(s->arena, "result %d of '%s'", i + 1, fn->name);
      if (!sema_adopt_literal(s, st->list.items[i], w->elem, w->tparam, what)) continue;
      items[i] = st->list.items[i]->type;
    }
    if (!same_type(w, items[i]))
      ERR(s, st->list.items[i]->span, E_RETURN_TYPE, i + 1, fn->name,
          type_to_string(s->arena, w), type_to_string(s->arena, items[i]));
  }
}

/* Declared results may use only sizes bound by the parameters. */
static int result_dim_bound(Sema *s, Node *d, Symbol *fn) {
  if (d->kind == N_BINARY) return result_dim_bound(s, d->a, fn) & result_dim_bound(s, d->b, fn);
  if (d->kind != N_NAME || sema_lookup(s, d->name)) return 1;
  ERR(s, d->span, E_RESULT_SIZE, d->name, fn->name);
  return 0;
}

/* One declared result type: its type parameter and sizes must be bound. */
static int declared_result(Sema *s, Node *tn, Symbol *fn, Type **out) {
  int ok = 1;
  if (tn->op == ELEM_PARAM) {
    Symbol *y = sema_lookup(s, tn->name);
    if (!y || y->kind != SYM_TPARAM) {
      ERR(s, tn->span, E_TPARAM_IN_BODY, tn->name);
      ok = 0;
    }
  }
  for (int k = 0; k < tn->list.n; k++) ok &= result_dim_bound(s, tn->list.items[k], fn);
  return ok && sema_type_from_node(s, tn, 0, out);
}

static int check_declared_results(Sema *s, Node *def, Symbol *fn) {
  int n = def->list2.n, ok = 1;
  if (!n) return 1;
  Type **items = arena_alloc(s->arena, sizeof(Type *) * (size_t)n);
  for (int i = 0; i < n; i++) ok &= declared_result(s, def->list2.items[i], fn, &items[i]);
  if (ok) fn->result = result_type(s, n, items);
  return ok;
}

static void check_params(Sema *s, Node *def) {
  for (int i = 0; i < def->list.n; i++) {
    Node *p = def->list.items[i];
    Type *t = NULL;
    for (int j = 0; j < i; j++)
      if (def->list.items[j]->name == p->name) ERR(s, p->span, E_PARAM_DUP, p->name);
    if (!sema_type_from_node(s, p->a, 1, &t)) t = sema_error_type(s);
    p->type = t;
    p->sym = sema_define(s, SYM_VAR, p->name, p->span, t);
  }
}

/* def = "def" name "(" params ")" ("->" results)? block. Checked once,
 * generically: sizes stay symbolic, type parameters stay parameters. */
int sema_check_def(Sema *s, Symbol *fn) {
  if (fn->state == DEF_DONE) return 1;
  if (fn->state == DEF_CHECKING) return 0;
  fn->state = DEF_CHECKING;
  Node *def = fn->def;
  Sema saved = *s;
  s->scope = s->global;
  scope_push(s, 1);
  s->cur_def = def;
  s->loop_depth = 0;
  s->returns = (PtrVec){0};
  s->ienv = NULL;
  s->snaps = NULL;
  check_params(s, def);
  int declared = check_declared_results(s, def, fn);
  if (!declared) fn->result = sema_error_type(s);
  for (int i = 0; i < def->c->list.n; i++) {
    s->stmts = &def->c->list;
    s->stmt_at = i;
    check_stmt(s, def->c->list.items[i]);
  }
  if (declared && def->list2.n && s->returns.n == 0) ERR(s, def->a->span, E_NO_RETURN, fn->name);
  if (!fn->result) fn->result = type_simple(s->arena, T_VOID);
  Scope *body = s->scope;
  *s = saved;
  def->type = fn->result;
  (void)body;
  fn->state = DEF_DONE;
  return 1;
}

static void register_def(Sema *s, Node *def) {
  if (builtin_lookup(def->name) >= 0 || reduce_lookup(def->name) >= 0) {
    ERR(s, def->a->span, E_SHADOWS_BUILTIN, def->name);
    return;
  }
  Symbol *old = scope_find(s->global, def->name);
  if (old) {
    ERR(s, def->a->span, E_REDEFINED, def->name);
    ERR(s, old->span, N_PREVIOUS, def->name);
    return;
  }
  Scope *cur = s->scope;
  s->scope = s->global;
  Symbol *fn = sema_define(s, SYM_FUNC, def->name, def->a->span, NULL);
  s->scope = cur;
  fn->def = def;
  def->sym = fn;
}

/* ---- imports ---- */

/* A regular file (a directory of that name is not a module). */
static int file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *dir_of(Arena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? arena_strndup(a, path, (size_t)(slash - path)) : arena_strndup(a, ".", 1);
}

/* import std.X -> stdlib/X.tns; other modules and "file.tns" are looked
 * up beside the importing file, then in each -I directory. */
static char *resolve_import(Sema *s, Node *st, char *tried, size_t cap) {
  const char *rel;
  const char *dirs[MAX_INCLUDE_DIRS + 2];
  int nd = 0;
  if (st->name) {
    char *p = arena_strndup(s->arena, st->name, strlen(st->name));
    for (char *q = p; *q; q++) if (*q == '.') *q = '/';
    if (strncmp(p, "std/", 4) == 0) {
      rel = arena_printf(s->arena, "%s.tns", p + 4);
      dirs[nd++] = s->c->stdlib_dir;
    } else {
      rel = arena_printf(s->arena, "%s.tns", p);
    }
  } else {
    rel = st->str;
  }
  if (rel[0] == '/') return file_exists(rel) ? (char *)rel : NULL;
  dirs[nd++] = dir_of(s->arena, s->path);
  for (int i = 0; i < s->c->ninclude; i++) dirs[nd++] = s->c->include_dirs[i];
  size_t used = 0;
  tried[0] = 0;
  for (int i = 0; i < nd; i++) {
    char *full = arena_printf(s->arena, "%s/%s", dirs[i], rel);
    if (file_exists(full)) return full;
    used += (size_t)snprintf(tried + used, used < cap ? cap - used : 0, "%s%s", i ? ", " : "", full);
  }
  return NULL;
}

static void check_module(Sema *s, Node *prog);

/* Marks a file as loaded; 0 when it was already (an import cycle, or the
 * same module imported twice). */
static int first_import(Sema *s, const char *path) {
  char *real = realpath(path, NULL);
  const char *key = strtab_cstr(&s->c->names, real ? real : path);
  free(real);
  for (int i = 0; i < s->imported.n; i++)
    if (s->imported.items[i] == key) return 0;
  ptrvec_push(s->arena, &s->imported, (void *)key);
  return 1;
}

/* stmt = "import" module | "import" string */
static void check_import(Sema *s, Node *st) {
  char tried[2048];
  char *path = resolve_import(s, st, tried, sizeof tried);
  if (!path) {
    ERR(s, st->span, E_IMPORT_NOT_FOUND, st->name ? st->name : st->str, tried);
    return;
  }
  if (!first_import(s, path)) return;
  FILE *f = fopen(path, "rb");
  if (!f) { ERR(s, st->span, E_CANNOT_OPEN, path, strerror(errno)); return; }
  fclose(f);
  int errors = s->diag->nerrors;
  Node *prog = compiler_parse_file(s->c, path);
  if (prog) {
    const char *saved_path = s->path;
    int saved_in = s->in_import;
    s->path = path;
    s->in_import = 1;
    check_module(s, prog);
    s->path = saved_path;
    s->in_import = saved_in;
    st->c = prog; /* the imported definitions stay reachable from the tree */
  }
  if (s->diag->nerrors > errors) ERR(s, st->span, N_IMPORTED_HERE, st->name ? st->name : st->str);
}

/* ---- statements ---- */

/* stmt = expr. Only a call can do something (print, save, assert, a def
 * that does); any other value would be computed and dropped, which in a
 * file is a mistake (in the REPL a bare expression is rewritten to
 * `_ = expr` before it gets here). */
static void check_expr_stmt(Sema *s, Node *st) {
  Type *t = sema_stmt_rhs(s, st, NULL);
  if (st->a->kind != N_CALL && !type_is_error(t)) ERR(s, st->a->span, E_NO_EFFECT);
}

/* Dimensions written as i64 values (`zeros(f64[k, k])`) are snapshots
 * that a simple statement takes before it runs. */
static void check_stmt(Sema *s, Node *st) {
  PtrVec *saved = s->snaps;
  int simple = st->kind == N_ASSIGN || st->kind == N_EXPR_STMT || st->kind == N_RETURN;
  s->snaps = simple ? &st->sizes : NULL;
  switch (st->kind) {
  case N_ASSIGN: check_assign(s, st); break;
  case N_EXPR_STMT: check_expr_stmt(s, st); break;
  case N_FOR: check_for(s, st); break;
  case N_WHILE: check_while(s, st); break;
  case N_IF: check_if(s, st); break;
  case N_RETURN: check_return(s, st); break;
  case N_IMPORT: ERR(s, st->span, E_IMPORT_PLACE); break;
  case N_DEF: ERR(s, st->span, E_NESTED_DEF); break;
  case N_ERROR: break;
  default: TNS_BUG("unexpected statement kind");
  }
  s->snaps = saved;
}

/* A file: every def is registered first (so order does not matter, and
 * an import cycle sees them), then imports, then def bodies and top-level
 * statements in source order (a def called earlier is checked then), so
 * that messages come in the order of the text. */
static void check_module(Sema *s, Node *prog) {
  for (int i = 0; i < prog->list.n; i++) {
    Node *st = prog->list.items[i];
    if (st->kind == N_DEF) register_def(s, st);
    else if (s->in_import && st->kind != N_IMPORT) ERR(s, st->span, E_IMPORT_STMT);
  }
  for (int i = 0; i < prog->list.n; i++)
    if (prog->list.items[i]->kind == N_IMPORT) check_import(s, prog->list.items[i]);
  for (int i = 0; i < prog->list.n; i++) {
    Node *st = prog->list.items[i];
    if (st->kind == N_DEF && st->sym) sema_check_def(s, st->sym);
    else if (st->kind != N_DEF && st->kind != N_IMPORT && !s->in_import) {
      s->stmts = &prog->list;
      s->stmt_at = i;
      check_stmt(s, st);
    }
  }
}

void sema_program(Compiler *c, Node *prog, const char *path) {
  Sema s;
  memset(&s, 0, sizeof s);
  s.c = c;
  s.arena = c->arena;
  s.diag = &c->diag;
  s.path = path;
  s.global = scope_push(&s, 0);
  first_import(&s, path); /* a library importing the program is a cycle */
  check_module(&s, prog);
}

Node *sema_check_file(Compiler *c, const char *path) {
  int before = c->diag.nerrors;
  Node *prog = compiler_parse_file(c, path);
  if (!prog) return NULL;
  sema_program(c, prog, path);
  return c->diag.nerrors == before ? prog : NULL;
}
