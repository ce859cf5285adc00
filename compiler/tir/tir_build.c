/* tir_build.c — typed AST to TIR.
 * Needs: a program that sema checked without errors.
 * Guarantees: every function reachable from the program (and every
 * non-generic def) is in the TIR, generic ones once per element-type
 * binding; every tensor-valued expression is an op writing a variable;
 * whole-tensor arithmetic, copies, zeros/ones/full/eye, kron, khatri_rao
 * and einsum() are EINSUM ops in index form. */
#include <string.h>
#include "sema.h"
#include "tir.h"

enum { MAX_TPARAMS = 16 };

typedef struct Map {
  PtrVec keys, vals;
} Map;

typedef struct Builder {
  Arena *a;
  StrTab *names;
  TirProgram *prog;
  TirFunc *fn;
  TirBlock *block;
  Map vars;             /* Symbol -> TirVar (current binding) */
  Map idx;              /* IndexVar -> TirIndex */
  const char *tparams[MAX_TPARAMS];
  int telems[MAX_TPARAMS];
  int ntparams;
  int ntemps;
  Node *root;           /* the main file: only its defs are exported */
  const int *forced;    /* tir_instantiate: element types asked for */
  int nforced;
} Builder;

static TirExpr *build_expr(Builder *b, Node *e);
static void build_into(Builder *b, Node *e, TirVar *dst);
static void build_block(Builder *b, Node *block, TirBlock *into);
static TirFunc *get_func(Builder *b, Symbol *fn, Node *call);
static void localize_carried(Builder *b, Node *body);

/* ---- small maps ---- */

static void *map_get(Map *m, const void *k) {
  for (int i = m->keys.n - 1; i >= 0; i--)
    if (m->keys.items[i] == k) return m->vals.items[i];
  return NULL;
}

static void map_put(Builder *b, Map *m, void *k, void *v) {
  for (int i = m->keys.n - 1; i >= 0; i--)
    if (m->keys.items[i] == k) { m->vals.items[i] = v; return; }
  ptrvec_push(b->a, &m->keys, k);
  ptrvec_push(b->a, &m->vals, v);
}

/* ---- types ---- */

static int concrete_elem(Builder *b, int elem, const char *tparam) {
  if (elem != ELEM_PARAM) return elem;
  for (int i = 0; i < b->ntparams; i++)
    if (b->tparams[i] == tparam) return b->telems[i];
  /* a builtin's result that lost the parameter's name: with one type
   * parameter there is no doubt which it is */
  if (!tparam && b->ntparams == 1) return b->telems[0];
  TNS_BUG("unbound type parameter after sema");
}

static Type *concrete(Builder *b, Type *t) {
  if (t->kind == T_TUPLE) {
    Type **items = arena_alloc(b->a, sizeof(Type *) * (size_t)t->n);
    for (int i = 0; i < t->n; i++) items[i] = concrete(b, t->items[i]);
    return type_tuple(b->a, t->n, items);
  }
  if (t->kind != T_TENSOR || t->elem != ELEM_PARAM) return t;
  return type_tensor(b->a, concrete_elem(b, t->elem, t->tparam), t->rank, t->dims);
}

static int node_elem(Builder *b, Node *e) { return concrete_elem(b, e->type->elem, e->type->tparam); }

/* ---- variables ---- */

static TirVar *temp(Builder *b, Type *t) {
  return tir_var_new(b->a, b->fn, NULL, t);
}

static void emit(Builder *b, TirOp *op) { tir_block_append(b->a, b->block, op); }

/* The variable a binding of symbol y writes: the current one when the type
 * is unchanged (loop-carried values keep their slot), else a new one.
 * Parameters are inputs and are never written. */
static TirVar *target_var(Builder *b, Symbol *y, Type *t) {
  TirVar *v = map_get(&b->vars, y);
  if (v && !v->param && v->type->elem == t->elem && type_same_shape(v->type, t)) return v;
  return tir_var_new(b->a, b->fn, y->name, t);
}

/* After the value is built (it may read the old binding): y is now v. */
static void rebind(Builder *b, Symbol *y, TirVar *v) { map_put(b, &b->vars, y, v); }

static TirVar *var_of(Builder *b, Node *name) {
  TirVar *v = map_get(&b->vars, name->sym);
  if (!v) TNS_BUG("name without a variable");
  return v;
}

/* A size name whose value an op sets at run time. */
static TirSize *new_size(Builder *b, const char *name) {
  TirSize *s = arena_alloc(b->a, sizeof *s);
  s->name = name;
  s->kind = TS_BOUND;
  ptrvec_push(b->a, &b->fn->sizes, s);
  return s;
}

/* Registers a size name bound at run time by an op; returns it when this
 * op is the one that binds it. */
static const char *bind_size(Builder *b, Dim d) {
  if (d.n != 1 || d.k != 1 || tir_size_find(b->fn, d.syms[0])) return NULL;
  return new_size(b, d.syms[0])->name;
}

/* Whether dimension d can be computed before op runs. */
static int dim_known_before(Builder *b, const TirOp *op, Dim d) {
  for (int i = 0; i < d.n; i++) {
    if (!tir_size_find(b->fn, d.syms[i])) return 0;
    for (int k = 0; k < op->nbind; k++)
      if (op->bind[k] == d.syms[i]) return 0;
  }
  return 1;
}

/* Sizes bound from an op's result dimensions (load, svd, qr). A dimension
 * that is one new name binds it. Any other dimension that cannot be
 * computed before the op (the second n of f64[n, n], n*5) is read into a
 * fresh size, to be checked or divided out after it (bind_dims). */
static void bind_result_sizes(Builder *b, TirOp *op) {
  int n = 0;
  for (int r = 0; r < op->nresults; r++) n += op->results[r]->type->rank;
  op->bind = arena_alloc(b->a, sizeof(char *) * (size_t)(n + 1));
  for (int r = 0; r < op->nresults; r++)
    for (int k = 0; k < op->results[r]->type->rank; k++)
      op->bind[op->nbind++] = bind_size(b, op->results[r]->type->dims[k]);
  for (int r = 0, at = 0; r < op->nresults; r++)
    for (int k = 0; k < op->results[r]->type->rank; k++, at++) {
      Dim d = op->results[r]->type->dims[k];
      if (op->bind[at] || dim_known_before(b, op, d)) continue;
      op->bind[at] = new_size(b, strtab_cstr(b->names, arena_printf(b->a, "%s.%d", op->results[r]->name ? op->results[r]->name : "dim", k)))->name;
    }
}

static char *loc_of(Builder *b, Span sp) {
  if (!sp.src) return "";
  return arena_printf(b->a, "%s:%d:%d", sp.src->path, sp.line, sp.col);
}

/* ---- expressions in scalar (index) context ---- */

/* (int64_t)v is undefined for NaN, infinities and |v| >= 2^63, which float
   literals (inf, 1e39) and i64 literals rounded to double (2^63) reach:
   saturate instead. Integer literals overwrite ival with the exact value. */
static int64_t int_of_double(double v) {
  if (v != v) return 0;
  if (v >= 0x1p63) return INT64_MAX;
  if (v < -0x1p63) return INT64_MIN;
  return (int64_t)v;
}

static TirExpr *xconst(Builder *b, int elem, double v, Span sp) {
  TirExpr *x = tir_expr_new(b->a, TX_CONST, elem, sp);
  x->fval = v;
  x->ival = int_of_double(v);
  return x;
}

static TirExpr *xconvert(Builder *b, TirExpr *x, int elem) {
  if (x->elem == elem) return x;
  TirExpr *c = tir_expr_new(b->a, TX_CONVERT, elem, x->span);
  c->a = x;
  return c;
}

static TirIndex *index_of(Builder *b, IndexVar *iv) {
  TirIndex *ix = map_get(&b->idx, iv);
  if (!ix) {
    ix = tir_index_new(b->a, b->fn, iv->name, iv->range);
    ix->prefix = iv->explicit_range;
    map_put(b, &b->idx, iv, ix);
  }
  return ix;
}

/* Materialises a tensor-valued expression into a variable. */
static TirVar *value_var(Builder *b, Node *e) {
  if (e->kind == N_NAME && e->sym && ((Symbol *)e->sym)->kind == SYM_VAR) return var_of(b, e);
  TirVar *v = temp(b, concrete(b, e->type));
  build_into(b, e, v);
  return v;
}

/* Run-time check that an index's range equals a dimension it indexes. */
/* A CHECK op of a against b (equal, or a <= b with le, or dividing with a
 * bound name: bind_by_division), emitted at the current point. */
static TirOp *check_op(Builder *b, Dim x, Dim y, Span sp, const char *what) {
  TirOp *op = tir_op_new(b->a, TO_CHECK, sp);
  op->dims[0] = x;
  op->dims[1] = y;
  op->msg = what;
  op->loc = loc_of(b, sp);
  emit(b, op);
  return op;
}

/* Binds size `name` to x / y at run time, checking that y divides x. */
static void bind_by_division(Builder *b, Dim x, Dim y, const char *name, Span sp, const char *what) {
  TirOp *op = check_op(b, x, y, sp, what);
  op->bind = arena_alloc(b->a, sizeof(char *));
  op->bind[0] = name;
  op->nbind = 1;
}

static void check_dim(Builder *b, Dim range, Dim d, Span sp, const char *what) {
  if (dim_cmp(range, d) == DIM_UNKNOWN) check_op(b, range, d, sp, what);
}

/* After a value with dimensions `have` is known: binds the one size name
 * of each dimension of `want` that has no value yet (n*5: n = have / 5,
 * which must divide) and checks what cannot be compared here. */
static void bind_dims(Builder *b, const Type *want, const Dim *have, Span sp, const char *what) {
  for (int k = 0; k < want->rank; k++) {
    Dim d = want->dims[k], rest = dim_const(d.k);
    const char *open = NULL;
    for (int i = 0; i < d.n; i++) {
      if (tir_size_find(b->fn, d.syms[i])) dim_mul(rest, dim_sym(d.syms[i]), &rest);
      else if (!open) open = d.syms[i];
      else TNS_BUG("two sizes bound from one dimension");
    }
    if (!open) {
      check_dim(b, have[k], d, sp, arena_printf(b->a, "dimension %d of %s is not %s", k, what, dim_to_string(b->a, d)));
      continue;
    }
    bind_by_division(b, have[k], rest, new_size(b, open)->name, sp,
                     arena_printf(b->a, "dimension %d of %s is not a multiple of %s", k, what, dim_to_string(b->a, rest)));
  }
}

/* Run-time check that an explicit range fits in a dimension it indexes. */
static void check_prefix(Builder *b, Dim range, Dim d, Span sp, const char *name, const char *of) {
  if (dim_cmp(range, d) == DIM_EQUAL || (dim_is_const(range) && dim_is_const(d))) return;
  check_op(b, range, d, sp, arena_printf(b->a, "the range of '%s' runs past the dimension of %s", name, of))->le = 1;
}

static TirPos position(Builder *b, Node *p, Dim d, const char *of) {
  TirPos pos;
  memset(&pos, 0, sizeof pos);
  Node *nm = p->kind == N_RANGED ? p->a : p;
  if (nm->kind == N_NAME && nm->sym && *(SymKind *)nm->sym == SYM_INDEX) {
    pos.kind = TP_INDEX;
    pos.n = 1;
    pos.idx = arena_alloc(b->a, sizeof(TirIndex *));
    pos.idx[0] = index_of(b, nm->sym);
    if (((IndexVar *)nm->sym)->explicit_range) check_prefix(b, pos.idx[0]->range, d, p->span, nm->name, of);
    else check_dim(b, pos.idx[0]->range, d, p->span,
                   arena_printf(b->a, "index '%s' does not match dimension of %s", nm->name, of));
  } else if (p->kind == N_GROUP) {
    pos.kind = TP_GROUP;
    pos.n = p->list.n;
    pos.idx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)pos.n);
    for (int i = 0; i < pos.n; i++) {
      Node *it = p->list.items[i];
      pos.idx[i] = index_of(b, (it->kind == N_RANGED ? it->a : it)->sym);
    }
  } else {
    pos.kind = TP_EXPR;
    pos.e = xconvert(b, build_expr(b, p), ELEM_I64);
  }
  return pos;
}

/* postfix "[" idx "]"; transpose(A)[..., i, j] reads A[..., j, i] */
static TirExpr *build_access(Builder *b, Node *e) {
  Node *src = e->a;
  int r = e->list.n, tr = src->kind == N_CALL && builtin_lookup(src->name) == B_TRANSPOSE;
  if (tr) src = src->list.items[0];
  TirVar *v = value_var(b, src);
  TirExpr *x = tir_expr_new(b->a, TX_ACCESS, v->type->elem, e->span);
  x->var = v;
  x->pos = arena_alloc(b->a, sizeof(TirPos) * (size_t)(r + 1));
  const char *of = e->a->kind == N_NAME ? e->a->name : "a value";
  for (int i = 0; i < r; i++) {
    int at = tr && i >= r - 2 ? 2 * r - 3 - i : i;
    x->pos[at] = position(b, e->list.items[i], v->type->dims[at], of);
  }
  return x;
}

static TirExpr *build_name(Builder *b, Node *e) {
  SymKind k = *(SymKind *)e->sym;
  if (k == SYM_INDEX) {
    TirExpr *x = tir_expr_new(b->a, TX_INDEX, ELEM_I64, e->span);
    x->idx = arena_alloc(b->a, sizeof(TirIndex *));
    x->idx[0] = index_of(b, e->sym);
    return x;
  }
  Symbol *y = e->sym;
  if (k == SYM_SIZE) {
    TirExpr *x = tir_expr_new(b->a, TX_DIM, ELEM_I64, e->span);
    x->dim = y->size;
    return x;
  }
  TirExpr *x = tir_expr_new(b->a, TX_READ, node_elem(b, e), e->span);
  x->var = var_of(b, e);
  return x;
}

static TirExpr *build_args_expr(Builder *b, TirExpr *x, Node *e) {
  x->n = e->list.n;
  x->args = arena_alloc(b->a, sizeof(TirExpr *) * (size_t)(x->n + 1));
  for (int i = 0; i < x->n; i++) x->args[i] = build_expr(b, e->list.items[i]);
  return x;
}

static int all_scalar_params(Node *def) {
  for (int i = 0; i < def->list.n; i++) {
    Type *t = def->list.items[i]->type;
    if (!t || t->kind != T_TENSOR || t->rank != 0) return 0;
  }
  return 1;
}

/* T(x): a conversion to a type parameter */
static int is_tparam_call(Builder *b, Node *e) {
  for (int i = 0; i < b->ntparams; i++)
    if (b->tparams[i] == e->name) return 1;
  return 0;
}

/* call in scalar context */
static TirExpr *build_call_expr(Builder *b, Node *e) {
  int elem = node_elem(b, e);
  int id = builtin_lookup(e->name);
  if (is_tparam_call(b, e)) return xconvert(b, build_expr(b, e->list.items[0]), elem);
  if (id < 0 && e->sym && ((Symbol *)e->sym)->kind == SYM_FUNC && all_scalar_params(((Symbol *)e->sym)->def)) {
    TirExpr *x = build_args_expr(b, tir_expr_new(b->a, TX_CALL, elem, e->span), e);
    x->fn = get_func(b, e->sym, e);
    return x;
  }
  if (id == B_WHERE) {
    TirExpr *x = tir_expr_new(b->a, TX_WHERE, elem, e->span);
    x->a = build_expr(b, e->list.items[0]);
    x->b = xconvert(b, build_expr(b, e->list.items[1]), elem);
    x->c = xconvert(b, build_expr(b, e->list.items[2]), elem);
    return x;
  }
  if (id >= B_TO_F32 && id <= B_TO_BOOL) return xconvert(b, build_expr(b, e->list.items[0]), elem);
  if (id == B_DIM) {
    TirVar *v = value_var(b, e->list.items[0]);
    TirExpr *x = tir_expr_new(b->a, TX_DIM, ELEM_I64, e->span);
    x->dim = v->type->dims[e->list.items[1]->ival];
    return x;
  }
  if ((id >= B_EXP && id <= B_MIN2) || id == B_TIME) {
    TirExpr *x = build_args_expr(b, tir_expr_new(b->a, TX_MATH, elem, e->span), e);
    x->op = id;
    for (int i = 0; i < x->n; i++) x->args[i] = xconvert(b, x->args[i], elem);
    return x;
  }
  /* anything else yields a tensor: compute it, then read it */
  TirVar *v = value_var(b, e);
  TirExpr *x = tir_expr_new(b->a, TX_READ, v->type->elem, e->span);
  x->var = v;
  return x;
}

/* reduce = op "(" idx, ... ":" e ")" */
static TirExpr *build_reduce(Builder *b, Node *e) {
  TirExpr *x = tir_expr_new(b->a, TX_REDUCE, node_elem(b, e), e->span);
  x->op = e->op;
  x->n = e->list.n;
  x->idx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)x->n);
  for (int i = 0; i < x->n; i++) x->idx[i] = index_of(b, e->list.items[i]->sym);
  x->a = build_expr(b, e->a);
  int want = x->elem;
  /* softmax and logsumexp of integers (a generic def instantiated for
   * i32): computed in f64, converted back like numpy's astype */
  if ((e->op == RED_SOFTMAX || e->op == RED_LOGSUMEXP) && !elem_is_float(want)) x->elem = ELEM_F64;
  if (e->op != RED_ARGMAX && e->op != RED_ARGMIN) x->a = xconvert(b, x->a, x->elem);
  return xconvert(b, x, want);
}

static TirExpr *build_binary(Builder *b, Node *e) {
  TirExpr *x = tir_expr_new(b->a, TX_BINARY, node_elem(b, e), e->span);
  x->op = e->op;
  x->a = build_expr(b, e->a);
  x->b = build_expr(b, e->b);
  /* operands meet in one type: the result's, or for a comparison the
   * promotion of both sides */
  int common = x->elem;
  if (op_is_compare(e->op)) common = elem_promote(x->a->elem, x->b->elem);
  if (e->op == OP_AND || e->op == OP_OR) common = ELEM_BOOL;
  x->a = xconvert(b, x->a, common);
  x->b = xconvert(b, x->b, common);
  return x;
}

static TirExpr *build_expr(Builder *b, Node *e) {
  switch (e->kind) {
  case N_INT: {      /* exact: i64 literals beyond 2^53 stay whole */
    TirExpr *x = xconst(b, node_elem(b, e), (double)e->ival, e->span);
    x->ival = e->ival;
    return x;
  }
  case N_FLOAT: return xconst(b, node_elem(b, e), e->fval, e->span);
  case N_BOOL: return xconst(b, ELEM_BOOL, (double)e->ival, e->span);
  case N_NAME: return build_name(b, e);
  case N_INDEX: return build_access(b, e);
  case N_CALL: return build_call_expr(b, e);
  case N_REDUCE: return build_reduce(b, e);
  case N_UNARY: {
    TirExpr *x = tir_expr_new(b->a, TX_UNARY, node_elem(b, e), e->span);
    x->op = e->op;
    x->a = xconvert(b, build_expr(b, e->a), x->elem);
    return x;
  }
  case N_BINARY: return build_binary(b, e);
  default: {
    /* build_into sends rank-0 values here: one that is not handled above
     * would go back to build_into, and around forever (a string, a type) */
    if (!e->type || (e->type->rank == 0 && e->kind != N_LITERAL)) TNS_BUG("unhandled scalar expression");
    TirVar *v = value_var(b, e);
    TirExpr *x = tir_expr_new(b->a, TX_READ, v->type->elem, e->span);
    x->var = v;
    return x;
  }
  }
}

/* ---- tensor-valued expressions ---- */

/* An EINSUM over fresh indices i0, i1, ... covering dst's shape. */
static TirOp *einsum_over(Builder *b, TirVar *dst, Span sp, TirPos **pos_out) {
  TirOp *op = tir_op_new(b->a, TO_EINSUM, sp);
  int r = dst->type->rank;
  op->out = dst;
  op->opos = arena_alloc(b->a, sizeof(TirPos) * (size_t)(r + 1));
  op->oidx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)(r + 1));
  op->noidx = r;
  for (int k = 0; k < r; k++) {
    TirIndex *ix = tir_index_new(b->a, b->fn, arena_printf(b->a, "i%d", k), dst->type->dims[k]);
    op->oidx[k] = ix;
    op->opos[k].kind = TP_INDEX;
    op->opos[k].n = 1;
    op->opos[k].idx = arena_alloc(b->a, sizeof(TirIndex *));
    op->opos[k].idx[0] = ix;
  }
  *pos_out = op->opos;
  return op;
}

/* An access of v at the same positions as the output (same shape; sizes
 * known only at run time are checked then). */
static TirExpr *same_access(Builder *b, TirVar *v, TirPos *pos, Span sp) {
  for (int k = 0; k < v->type->rank; k++)
    check_dim(b, pos[k].idx[0]->range, v->type->dims[k], sp,
              arena_printf(b->a, "dimension %d of the operands differs", k));
  TirExpr *x = tir_expr_new(b->a, TX_ACCESS, v->type->elem, sp);
  x->var = v;
  x->pos = pos;
  return x;
}

/* Positions pos with the last two of r swapped: transpose's reads. */
static TirPos *swap_last(Builder *b, const TirPos *pos, int r) {
  TirPos *p = arena_alloc(b->a, sizeof(TirPos) * (size_t)r);
  memcpy(p, pos, sizeof(TirPos) * (size_t)r);
  p[r - 2] = pos[r - 1];
  p[r - 1] = pos[r - 2];
  return p;
}

/* An elementwise expression of rank > 0 at positions pos. */
static TirExpr *elementwise(Builder *b, Node *e, TirPos *pos) {
  if (e->type->rank == 0) return build_expr(b, e);
  int elem = node_elem(b, e);
  int id = e->kind == N_CALL ? builtin_lookup(e->name) : -1;
  if (e->kind == N_BINARY) {
    TirExpr *x = tir_expr_new(b->a, TX_BINARY, elem, e->span);
    x->op = e->op;
    x->a = elementwise(b, e->a, pos);
    x->b = elementwise(b, e->b, pos);
    int common = op_is_compare(e->op) ? elem_promote(x->a->elem, x->b->elem) : elem;
    x->a = xconvert(b, x->a, common);
    x->b = xconvert(b, x->b, common);
    return x;
  }
  if (e->kind == N_UNARY) {
    TirExpr *x = tir_expr_new(b->a, TX_UNARY, elem, e->span);
    x->op = e->op;
    x->a = elementwise(b, e->a, pos);
    return x;
  }
  if ((id >= B_TO_F32 && id <= B_TO_BOOL) || (e->kind == N_CALL && is_tparam_call(b, e)))
    return xconvert(b, elementwise(b, e->list.items[0], pos), elem);
  if (id == B_TRANSPOSE) return elementwise(b, e->list.items[0], swap_last(b, pos, e->type->rank));
  if (id == B_WHERE) {
    TirExpr *x = tir_expr_new(b->a, TX_WHERE, elem, e->span);
    x->a = elementwise(b, e->list.items[0], pos);
    x->b = xconvert(b, elementwise(b, e->list.items[1], pos), elem);
    x->c = xconvert(b, elementwise(b, e->list.items[2], pos), elem);
    return x;
  }
  if (id >= B_EXP && id <= B_MIN2) {
    TirExpr *x = tir_expr_new(b->a, TX_MATH, elem, e->span);
    x->op = id;
    x->n = e->list.n;
    x->args = arena_alloc(b->a, sizeof(TirExpr *) * (size_t)x->n);
    for (int i = 0; i < x->n; i++) x->args[i] = xconvert(b, elementwise(b, e->list.items[i], pos), elem);
    return x;
  }
  return same_access(b, value_var(b, e), pos, e->span);
}

static void build_elementwise_into(Builder *b, Node *e, TirVar *dst, int accumulate) {
  TirPos *pos;
  TirOp *op = einsum_over(b, dst, e->span, &pos);
  op->accumulate = accumulate;
  op->body = xconvert(b, elementwise(b, e, pos), dst->type->elem);
  emit(b, op);
}

/* zeros(T), ones(T), full(T, v), eye(T) */
static void build_fill(Builder *b, Node *e, int id, TirVar *dst) {
  TirPos *pos;
  TirOp *op = einsum_over(b, dst, e->span, &pos);
  int elem = dst->type->elem;
  if (id == B_FULL) op->body = xconvert(b, build_expr(b, e->list.items[1]), elem);
  else if (id == B_EYE) {
    TirExpr *eq = tir_expr_new(b->a, TX_BINARY, ELEM_BOOL, e->span);
    eq->op = OP_EQ;
    eq->a = tir_expr_new(b->a, TX_INDEX, ELEM_I64, e->span);
    eq->a->idx = &op->oidx[0];
    eq->b = tir_expr_new(b->a, TX_INDEX, ELEM_I64, e->span);
    eq->b->idx = &op->oidx[1];
    op->body = xconvert(b, eq, elem);
  } else {
    op->body = xconst(b, elem, id == B_ONES ? 1.0 : 0.0, e->span);
  }
  emit(b, op);
}

static TirExpr *product(Builder *b, TirExpr *acc, TirExpr *x, int elem) {
  x = xconvert(b, x, elem);
  if (!acc) return x;
  TirExpr *m = tir_expr_new(b->a, TX_BINARY, elem, x->span);
  m->op = OP_MUL;
  m->a = acc;
  m->b = x;
  return m;
}

/* An operand of kron/einsum(): v[positions to fill], or a plain read
 * when v is a scalar (a READ, never a rank-0 ACCESS). */
static TirExpr *operand_expr(Builder *b, TirVar *v, Span sp) {
  TirExpr *x = tir_expr_new(b->a, v->type->rank ? TX_ACCESS : TX_READ, v->type->elem, sp);
  x->var = v;
  if (v->type->rank) x->pos = arena_alloc(b->a, sizeof(TirPos) * (size_t)v->type->rank);
  return x;
}

static TirPos index_pos(Builder *b, TirIndex **idx, int n) {
  TirPos p;
  memset(&p, 0, sizeof p);
  p.kind = n == 1 ? TP_INDEX : TP_GROUP;
  p.n = n;
  p.idx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)n);
  memcpy(p.idx, idx, sizeof(TirIndex *) * (size_t)n);
  return p;
}

/* kron(A, B, ...)[(i, k), (j, l)] = A[i, j] * B[k, l] — index form, the
 * Kronecker matrix is a product over grouped indices. khatri_rao shares
 * the column index. */
static void build_kron(Builder *b, Node *e, int khatri_rao, TirVar *dst) {
  int n = e->list.n, r = dst->type->rank, elem = dst->type->elem;
  TirOp *op = tir_op_new(b->a, TO_EINSUM, e->span);
  op->out = dst;
  op->opos = arena_alloc(b->a, sizeof(TirPos) * (size_t)r);
  op->oidx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)(n * r));
  TirVar **ops = arena_alloc(b->a, sizeof(TirVar *) * (size_t)n);
  for (int t = 0; t < n; t++) ops[t] = value_var(b, e->list.items[t]);
  TirIndex *grid[16][16];
  for (int k = 0; k < r; k++) {
    int shared = khatri_rao && k == 1;
    for (int t = 0; t < n; t++) {
      grid[t][k] = shared && t > 0 ? grid[0][k]
                 : tir_index_new(b->a, b->fn, arena_printf(b->a, "%c%d", 'a' + k, t), ops[t]->type->dims[k]);
      if (!(shared && t > 0)) op->oidx[op->noidx++] = grid[t][k];
    }
    TirIndex *col[16];
    for (int t = 0; t < n; t++) col[t] = grid[t][k];
    op->opos[k] = index_pos(b, col, shared ? 1 : n);
  }
  TirExpr *body = NULL;
  for (int t = 0; t < n; t++) {
    TirExpr *x = operand_expr(b, ops[t], e->span);
    for (int k = 0; k < r; k++) x->pos[k] = index_pos(b, &grid[t][k], 1);
    body = product(b, body, x, elem);
  }
  op->body = body;
  emit(b, op);
}

/* einsum("ij,jk->ik", A, B): letters become indices; letters not in the
 * output are summed around the product. */
static void build_einsum(Builder *b, Node *e, TirVar *dst) {
  const char *spec = e->list.items[0]->str, *arrow = strstr(spec, "->");
  TirIndex *letter[128] = {0};
  int count[128] = {0}, elem = dst->type->elem, t = 0, k = 0;
  TirVar *v = value_var(b, e->list.items[1]);
  TirExpr *body = NULL, *acc = operand_expr(b, v, e->span);
  for (const char *p = spec;; p++) {
    if (*p == ',' || p == arrow || !*p) {
      body = product(b, body, acc, elem);
      if (*p != ',') break;
      t++;
      k = 0;
      v = value_var(b, e->list.items[t + 1]);
      acc = operand_expr(b, v, e->span);
      continue;
    }
    if (*p == ' ') continue;
    int c = *p;
    if (!letter[c]) letter[c] = tir_index_new(b->a, b->fn, arena_printf(b->a, "%c", c), v->type->dims[k]);
    count[c]++;
    acc->pos[k++] = index_pos(b, &letter[c], 1);
  }
  char out[65] = {0};
  int no = 0;
  if (arrow) {
    for (const char *p = arrow + 2; *p; p++) if (*p != ' ') out[no++] = *p;
  } else {
    for (int c = 'A'; c <= 'z'; c++) if (count[c] == 1) out[no++] = (char)c;
  }
  TirOp *op = tir_op_new(b->a, TO_EINSUM, e->span);
  op->out = dst;
  op->opos = arena_alloc(b->a, sizeof(TirPos) * (size_t)(no + 1));
  op->oidx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)(no + 1));
  op->noidx = no;
  for (int i = 0; i < no; i++) {
    op->oidx[i] = letter[(int)out[i]];
    op->opos[i] = index_pos(b, &op->oidx[i], 1);
  }
  TirExpr *sum = tir_expr_new(b->a, TX_REDUCE, elem, e->span);
  sum->reduce = RED_SUM;
  sum->idx = arena_alloc(b->a, sizeof(TirIndex *) * 128);
  for (int c = 0; c < 128; c++)
    if (letter[c] && !strchr(out, c)) sum->idx[sum->n++] = letter[c];
  sum->a = body;
  if (!sum->n) {   /* numpy's einsum adds into zeros: -0.0 comes out +0.0 */
    TirExpr *z = tir_expr_new(b->a, TX_BINARY, elem, e->span);
    z->op = OP_ADD;
    z->a = xconst(b, elem, 0.0, e->span);
    z->b = body;
    body = z;
  }
  op->body = sum->n ? sum : body;
  emit(b, op);
}

/* transpose(A): At[..., j, i] = A[..., i, j], an index permutation (reads
 * of transpose(A)[...] and elementwise uses never build it at all) */
static void build_transpose(Builder *b, Node *e, TirVar *dst) {
  TirVar *v = value_var(b, e->list.items[0]);
  TirPos *pos;
  TirOp *op = einsum_over(b, dst, e->span, &pos);
  op->body = same_access(b, v, swap_last(b, pos, dst->type->rank), e->span);
  emit(b, op);
}

/* sum(d: body) over a fresh index d of the given range */
static TirExpr *sum_over(Builder *b, TirIndex **idx, int n, TirExpr *body, int elem, Span sp) {
  TirExpr *x = tir_expr_new(b->a, TX_REDUCE, elem, sp);
  x->reduce = RED_SUM;
  x->idx = idx;
  x->n = n;
  x->a = xconvert(b, body, elem);
  return x;
}

/* trace(A): t[...] = sum(d: A[..., d, d]) */
static void build_trace(Builder *b, Node *e, TirVar *dst) {
  TirVar *v = value_var(b, e->list.items[0]);
  int r = v->type->rank;
  TirPos *pos;
  TirOp *op = einsum_over(b, dst, e->span, &pos);
  TirIndex **d = arena_alloc(b->a, sizeof(TirIndex *));
  d[0] = tir_index_new(b->a, b->fn, "d", v->type->dims[r - 1]);
  TirExpr *x = operand_expr(b, v, e->span);
  for (int k = 0; k < r - 2; k++) x->pos[k] = pos[k];
  x->pos[r - 2] = x->pos[r - 1] = index_pos(b, d, 1);
  op->body = sum_over(b, d, 1, x, dst->type->elem, e->span);
  emit(b, op);
}

/* norm(x): sqrt(sum(i, j, ...: x[i, j, ...] * x[i, j, ...])) */
static void build_norm(Builder *b, Node *e, TirVar *dst) {
  TirVar *v = value_var(b, e->list.items[0]);
  int r = v->type->rank, elem = dst->type->elem;
  TirOp *op = tir_op_new(b->a, TO_EINSUM, e->span);
  op->out = dst;
  TirIndex **idx = arena_alloc(b->a, sizeof(TirIndex *) * (size_t)r);
  TirExpr *x = operand_expr(b, v, e->span);
  for (int k = 0; k < r; k++) {
    idx[k] = tir_index_new(b->a, b->fn, arena_printf(b->a, "i%d", k), v->type->dims[k]);
    x->pos[k] = index_pos(b, &idx[k], 1);
  }
  TirExpr *sq = product(b, product(b, NULL, x, elem), x, elem);
  TirExpr *root = tir_expr_new(b->a, TX_MATH, elem, e->span);
  root->math = B_SQRT;
  root->n = 1;
  root->args = arena_alloc(b->a, sizeof(TirExpr *));
  root->args[0] = sum_over(b, idx, r, sq, elem, e->span);
  op->body = root;
  emit(b, op);
}

/* A runtime builtin writing its results. */
static TirVar **copy_vars(Builder *b, TirVar **v, int n) {
  TirVar **r = arena_alloc(b->a, sizeof(TirVar *) * (size_t)(n + 1));
  if (n) memcpy(r, v, sizeof(TirVar *) * (size_t)n);
  return r;
}

/* The linear algebra that takes stacks of square matrices. */
static int batched_linalg(int id) {
  return id == B_SOLVE || id == B_CHOLESKY || id == B_EIGH || id == B_INV || id == B_DET ||
         id == B_LOGDET || id == B_SLOGDET;
}

/* Square matrices, and solve's batch dimensions and rows, where sema
 * could not compare the sizes: checked when the call runs. */
static void linalg_checks(Builder *b, const TirOp *op, Span sp) {
  const Type *A = op->args[0]->type, *B = op->nargs > 1 ? op->args[1]->type : NULL;
  int r = A->rank;
  const char *name = builtin_name(op->builtin);
  check_dim(b, A->dims[r - 2], A->dims[r - 1], sp, arena_printf(b->a, "'%s' needs square matrices", name));
  if (op->builtin != B_SOLVE) return;
  for (int k = 0; k + 2 < r; k++)
    check_dim(b, A->dims[k], B->dims[k], sp, arena_printf(b->a, "solve(A, B): batch dimension %d differs in A and B", k));
  int rows = B->rank == r - 1 ? B->rank - 1 : B->rank - 2;   /* one vector per matrix, or columns */
  check_dim(b, A->dims[r - 2], B->dims[rows], sp, "solve(A, B): B's rows do not match A's");
}

/* After an op that binds sizes from its results' shapes (a load, svd, a
 * call whose results the callee allocates): the dimensions read into
 * fresh sizes are checked against, or divided into, the expected ones. */
static void check_bound_results(Builder *b, const TirOp *op, Span sp, const char *who) {
  for (int r = 0, at = 0; r < op->nresults; at += op->results[r]->type->rank, r++) {
    Type *t = op->results[r]->type;
    Dim *have = arena_alloc(b->a, sizeof(Dim) * (size_t)(t->rank + 1));
    int any = 0;
    for (int k = 0; k < t->rank; k++) {
      const char *fresh = op->bind[at + k];
      int own = fresh && (t->dims[k].n != 1 || t->dims[k].syms[0] != fresh);
      have[k] = own ? dim_data_sym(fresh) : t->dims[k];
      any |= own;
    }
    if (any) bind_dims(b, t, have, sp, !who && op->results[r]->name
        ? arena_printf(b->a, "the array loaded into '%s'", op->results[r]->name)
        : arena_printf(b->a, "result %d of %s", r + 1, who ? who : "load"));
  }
}

static TirOp *builtin_op(Builder *b, Node *e, int id, TirVar **results, int nres) {
  TirOp *op = tir_op_new(b->a, TO_BUILTIN, e->span);
  op->builtin = id;
  op->nargs = e->list.n;
  op->args = arena_alloc(b->a, sizeof(TirVar *) * (size_t)(op->nargs + 1));
  op->strs = arena_alloc(b->a, sizeof(char *) * (size_t)(op->nargs + 1));
  for (int i = 0; i < op->nargs; i++) {
    Node *a = e->list.items[i];
    if (a->kind == N_STRING) op->strs[i] = a->str;
    else if (a->type->kind == T_TENSOR) op->args[i] = value_var(b, a);
  }
  op->results = copy_vars(b, results, nres);
  op->nresults = nres;
  op->loc = loc_of(b, e->span);
  bind_result_sizes(b, op);
  if (batched_linalg(id)) linalg_checks(b, op, e->span);
  emit(b, op);
  check_bound_results(b, op, e->span, id == B_LOAD ? NULL : builtin_name(id));
  return op;
}

/* Size arguments of a call: the callee's size parameters, bound from the
 * arguments' dimensions in order; later uses are checked at run time when
 * they cannot be compared here. */
/* Sizes of a parameter dimension a*b taken factor by factor from the
 * argument's (sema's bind_factors); the others checked. */
static void factor_sizes(Builder *b, TirOp *op, TirFunc *f, Dim pd, Dim ad, int *set, int arg) {
  DimFactor pf[DIM_MAX_FACTORS + 1], af[DIM_MAX_FACTORS + 1];
  int n = dim_pair_factors(pd, ad, pf, af);
  const char *what = arena_printf(b->a, "argument %d of '%s' does not match its declared size", arg + 1, f->source_name);
  for (int i = 0; i < n; i++) {
    Dim have = dim_of_factor(af[i]);
    int pi = pf[i].sym ? tir_size_find(f, pf[i].sym)->param : -1;
    if (pi >= 0 && !set[pi]) {
      set[pi] = 1;
      op->sargs[pi] = have;
    } else {
      check_dim(b, pi >= 0 ? op->sargs[pi] : dim_of_factor(pf[i]), have, op->span, what);
    }
  }
}

/* Dimension k of argument i of a call: binds the one size of the
 * parameter's dimension that has no value yet, or checks it. */
static void call_dim(Builder *b, TirOp *op, TirFunc *f, int *set, int i, int k) {
  Type *pt = ((TirVar *)f->params.items[i])->type, *at = op->args[i]->type;
  Dim pd = pt->dims[k], known = dim_const(pd.k);
  int open = -1, nopen = 0;
  for (int s = 0; s < pd.n; s++) {
    int pi = tir_size_find(f, pd.syms[s])->param;
    if (set[pi]) dim_mul(known, op->sargs[pi], &known);
    else open = pi, nopen++;
  }
  if (nopen >= 2) {
    factor_sizes(b, op, f, pd, at->dims[k], set, i);
    return;
  }
  if (open < 0) {
    check_dim(b, known, at->dims[k], op->span,
              arena_printf(b->a, "argument %d of '%s' does not match its declared size", i + 1, f->source_name));
    return;
  }
  set[open] = 1;
  if (dim_div(at->dims[k], known, &op->sargs[open])) return;
  /* the quotient of sizes known at run time: bound (and checked for
   * divisibility) by a CHECK op, named as sema names it */
  char *name = arena_printf(b->a, "(%s/%s)", dim_to_string(b->a, at->dims[k]), dim_to_string(b->a, known));
  Dim q = dim_sym(strtab_cstr(b->names, name));
  const char *bound = bind_size(b, q);
  if (bound)
    bind_by_division(b, at->dims[k], known, bound, op->span,
                     arena_printf(b->a, "argument %d of '%s' is not a multiple of %s", i + 1, f->source_name,
                                  dim_to_string(b->a, known)));
  op->sargs[open] = q;
}

/* The sizes of a call, in sema's order (sema_call.c): every plain
 * dimension of every argument first, then the products (n1*n2*n3). */
static void call_sizes(Builder *b, TirOp *op, TirFunc *f) {
  op->nsargs = f->nsize_params;
  op->sargs = arena_alloc(b->a, sizeof(Dim) * (size_t)(op->nsargs + 1));
  int *set = arena_alloc(b->a, sizeof(int) * (size_t)(op->nsargs + 1));
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < f->params.n; i++) {
      Type *pt = ((TirVar *)f->params.items[i])->type;
      for (int k = 0; k < pt->rank; k++)
        if (dim_is_product(pt->dims[k]) == pass) call_dim(b, op, f, set, i, k);
    }
}

/* call of a user function writing results */
static void build_call(Builder *b, Node *e, TirVar **results, int nres) {
  TirFunc *f = get_func(b, e->sym, e);
  TirOp *op = tir_op_new(b->a, TO_CALL, e->span);
  op->fn = f;
  op->nargs = e->list.n;
  op->args = arena_alloc(b->a, sizeof(TirVar *) * (size_t)(op->nargs + 1));
  for (int i = 0; i < op->nargs; i++) op->args[i] = value_var(b, e->list.items[i]);
  op->results = copy_vars(b, results, nres);
  op->nresults = nres;
  op->loc = loc_of(b, e->span);
  call_sizes(b, op, f);
  if (f->array_results) bind_result_sizes(b, op);   /* the shapes the callee returns */
  emit(b, op);
  if (f->array_results) check_bound_results(b, op, e->span, arena_printf(b->a, "'%s'", f->source_name));
}

static void build_builtin_into(Builder *b, Node *e, int id, TirVar *dst) {
  switch (id) {
  case B_ZEROS: case B_ONES: case B_FULL: case B_EYE: build_fill(b, e, id, dst); return;
  case B_KRON: build_kron(b, e, 0, dst); return;
  case B_KHATRI_RAO: build_kron(b, e, 1, dst); return;
  case B_EINSUM: build_einsum(b, e, dst); return;
  case B_TRANSPOSE: build_transpose(b, e, dst); return;
  case B_TRACE: build_trace(b, e, dst); return;
  case B_NORM: build_norm(b, e, dst); return;
  default:
    if (dst->type->rank == 0 && ((id >= B_EXP && id <= B_TO_BOOL) || id == B_TIME || id == B_DIM)) {
      TirOp *op = tir_op_new(b->a, TO_EINSUM, e->span);   /* a scalar value */
      op->out = dst;
      op->body = xconvert(b, build_call_expr(b, e), dst->type->elem);
      emit(b, op);
      return;
    }
    if ((id >= B_EXP && id <= B_TO_BOOL)) { build_elementwise_into(b, e, dst, 0); return; }
    builtin_op(b, e, id, &dst, 1);
  }
}

/* Writes the value of e (any rank) into dst. */
static void build_into(Builder *b, Node *e, TirVar *dst) {
  if (e->type->rank == 0 && e->kind != N_CALL && e->kind != N_LITERAL) {
    TirOp *op = tir_op_new(b->a, TO_EINSUM, e->span);
    op->out = dst;
    op->body = xconvert(b, build_expr(b, e), dst->type->elem);
    emit(b, op);
    return;
  }
  switch (e->kind) {
  case N_CALL: {
    int id = builtin_lookup(e->name);
    if (id >= 0) build_builtin_into(b, e, id, dst);
    else if (is_tparam_call(b, e)) build_elementwise_into(b, e, dst, 0);
    else if (all_scalar_params(((Symbol *)e->sym)->def) && e->type->rank == 0) {
      TirOp *op = tir_op_new(b->a, TO_EINSUM, e->span);
      op->out = dst;
      op->body = xconvert(b, build_call_expr(b, e), dst->type->elem);
      emit(b, op);
    } else build_call(b, e, &dst, 1);
    return;
  }
  case N_LITERAL: {
    TirOp *op = tir_op_new(b->a, TO_LITERAL, e->span);
    op->out = dst;
    PtrVec flat = {0};
    Node *stack[64];
    int sp = 0;
    stack[sp++] = e;
    /* row-major flattening: depth-first, left to right */
    while (sp) {
      Node *n = stack[--sp];
      if (n->kind != N_LITERAL) { ptrvec_push(b->a, &flat, xconvert(b, build_expr(b, n), dst->type->elem)); continue; }
      for (int i = n->list.n - 1; i >= 0 && sp < 64; i--) stack[sp++] = n->list.items[i];
    }
    op->elems = (TirExpr **)flat.items;
    op->nelems = flat.n;
    emit(b, op);
    return;
  }
  default:
    build_elementwise_into(b, e, dst, 0);
  }
}

/* ---- statements ---- */

/* Whether a left side has a fixed position (a value, not an index). */
static int fixed_target(const Node *target) {
  for (int k = 0; k < target->list.n; k++) {
    const Node *p = target->list.items[k];
    if (p->kind != N_GROUP && p->kind != N_RANGED && !(p->kind == N_NAME && p->sym && *(SymKind *)p->sym == SYM_INDEX))
      return 1;
  }
  return 0;
}

/* X[idx...] = e  or  X[idx...] += e; with a fixed position (X[t, j] = e)
 * it writes into X in place: O(row), the rest of X unchanged */
static void build_index_assign(Builder *b, Node *st, Node *target) {
  Node *nm = target->a;
  Type *t = concrete(b, target->type);
  int partial = st->op != ASSIGN_ADD && fixed_target(target);
  TirVar *dst = st->op == ASSIGN_ADD || partial ? var_of(b, nm) : target_var(b, nm->sym, t);
  if (dst->param) {  /* += into a parameter: work on a local copy */
    localize_carried(b, st);
    dst = var_of(b, nm);
  }
  TirOp *op = tir_op_new(b->a, TO_EINSUM, st->span);
  int r = target->list.n;
  op->out = dst;
  op->accumulate = st->op == ASSIGN_ADD;
  op->partial = partial;
  op->opos = arena_alloc(b->a, sizeof(TirPos) * (size_t)(r + 1));
  op->oidx = arena_alloc(b->a, sizeof(TirIndex *) * 64);
  for (int k = 0; k < r; k++) {
    op->opos[k] = position(b, target->list.items[k], dst->type->dims[k], nm->name);
    for (int i = 0; i < op->opos[k].n && op->noidx < 64; i++) op->oidx[op->noidx++] = op->opos[k].idx[i];
  }
  op->body = xconvert(b, build_expr(b, st->a), dst->type->elem);
  emit(b, op);
  rebind(b, nm->sym, dst);
}

/* x = e, x += e, x: T = e */
static void build_assign(Builder *b, Node *st) {
  Node *target = st->list.items[0];
  if (st->list.n > 1) {
    TirVar **res = arena_alloc(b->a, sizeof(TirVar *) * (size_t)st->list.n);
    for (int i = 0; i < st->list.n; i++)
      res[i] = target_var(b, st->list.items[i]->sym, concrete(b, st->list.items[i]->type));
    int id = builtin_lookup(st->a->name);
    if (id >= 0) builtin_op(b, st->a, id, res, st->list.n);
    else build_call(b, st->a, res, st->list.n);
    for (int i = 0; i < st->list.n; i++) rebind(b, st->list.items[i]->sym, res[i]);
    return;
  }
  if (target->kind == N_INDEX) { build_index_assign(b, st, target); return; }
  Symbol *y = target->sym;
  Type *t = concrete(b, st->b ? st->a->type : target->type);
  if (st->op == ASSIGN_ADD) {
    TirVar *dst = map_get(&b->vars, y);
    if (dst->type->rank == 0) {
      TirOp *op = tir_op_new(b->a, TO_EINSUM, st->span);
      op->out = dst;
      op->accumulate = 1;
      op->body = xconvert(b, build_expr(b, st->a), dst->type->elem);
      emit(b, op);
    } else {
      build_elementwise_into(b, st->a, dst, 1);
    }
    return;
  }
  /* x: f64[n*5] = v binds n from v's own dimensions before v is built */
  if (st->b && st->type && st->type->kind == T_TENSOR && st->type->rank == t->rank)
    bind_dims(b, t, st->type->dims, st->span, arena_printf(b->a, "the value of '%s'", y->name));
  /* ops always write a fresh buffer, so x = f(x) reads the old x */
  TirVar *dst = target_var(b, y, t);
  build_into(b, st->a, dst);
  rebind(b, y, dst);
}

/* stmt = expr — print, assert, save, or a value that is dropped */
static void build_expr_stmt(Builder *b, Node *st) {
  Node *e = st->a;
  int id = e->kind == N_CALL ? builtin_lookup(e->name) : -1;
  if (id == B_PRINT || id == B_SAVE) { builtin_op(b, e, id, NULL, 0); return; }
  if (id == B_ASSERT) {
    TirVar *c = temp(b, type_scalar(b->a, ELEM_BOOL));
    build_into(b, e->list.items[0], c);
    TirOp *op = tir_op_new(b->a, TO_BUILTIN, e->span);
    op->builtin = B_ASSERT;
    op->nargs = 1;
    op->args = arena_alloc(b->a, sizeof(TirVar *));
    op->args[0] = c;
    op->msg = e->list.n > 1 ? e->list.items[1]->str : "assertion failed";
    op->loc = loc_of(b, e->span);
    emit(b, op);
    return;
  }
  if (e->type->kind == T_VOID) {   /* a def without results runs for its effects */
    if (id < 0 && e->kind == N_CALL) build_call(b, e, NULL, 0);
    return;
  }
  if (e->type->kind == T_TUPLE) {
    TirVar **res = arena_alloc(b->a, sizeof(TirVar *) * (size_t)e->type->n);
    for (int i = 0; i < e->type->n; i++) res[i] = temp(b, concrete(b, e->type->items[i]));
    if (id >= 0) builtin_op(b, e, id, res, e->type->n);
    else build_call(b, e, res, e->type->n);
    return;
  }
  build_into(b, e, temp(b, concrete(b, e->type)));
}

/* Symbols assigned anywhere inside a loop or branch body. */
static void assigned_in(Node *n, PtrVec *out, Arena *a) {
  if (!n) return;
  if (n->kind == N_ASSIGN)
    for (int i = 0; i < n->list.n; i++) {
      Node *t = n->list.items[i];
      Node *nm = t->kind == N_INDEX ? t->a : t;
      if (nm->sym) ptrvec_push(a, out, nm->sym);
    }
  if (n->kind == N_BLOCK || n->kind == N_FOR || n->kind == N_WHILE || n->kind == N_IF || n->kind == N_ASSIGN) {
    for (int i = 0; i < n->list.n; i++) assigned_in(n->list.items[i], out, a);
    assigned_in(n->b, out, a);
    assigned_in(n->c, out, a);
  }
}

/* Values carried into a loop or branch live in a local slot: a parameter
 * rebound inside is copied first so the input is never written. */
static void localize_carried(Builder *b, Node *body) {
  PtrVec syms = {0};
  assigned_in(body, &syms, b->a);
  for (int i = 0; i < syms.n; i++) {
    TirVar *v = map_get(&b->vars, syms.items[i]);
    if (!v || !v->param) continue;
    TirVar *copy = tir_var_new(b->a, b->fn, v->name, v->type);
    TirPos *pos;
    TirOp *op = einsum_over(b, copy, span_none(), &pos);
    op->body = v->type->rank ? same_access(b, v, pos, span_none()) : NULL;
    if (!op->body) {
      op->body = tir_expr_new(b->a, TX_READ, v->type->elem, span_none());
      op->body->var = v;
    }
    emit(b, op);
    map_put(b, &b->vars, syms.items[i], copy);
  }
}

static TirExpr *cond_expr(Builder *b, Node *e) { return xconvert(b, build_expr(b, e), ELEM_BOOL); }

/* size = an i64 value written as a dimension (sema's snapshot), taken
 * just before the statement that uses it */
static void build_snapshot(Builder *b, Node *sn) {
  TirOp *op = tir_op_new(b->a, TO_SIZE, sn->span);
  op->value = xconvert(b, build_expr(b, sn->a), ELEM_I64);
  op->bind = arena_alloc(b->a, sizeof(char *));
  op->bind[0] = tir_size_find(b->fn, sn->name) ? sn->name : new_size(b, sn->name)->name;
  op->nbind = 1;
  op->msg = arena_printf(b->a, "size '%s' is negative", sn->str);
  op->loc = loc_of(b, sn->span);
  emit(b, op);
}

/* A returned value whose sizes come from data against the declared
 * result: the caller allocated that shape. */
static void check_result_shape(Builder *b, const Type *have, const Type *want, Span sp, int i) {
  for (int k = 0; k < want->rank && k < have->rank; k++)
    check_dim(b, have->dims[k], want->dims[k], sp,
              arena_printf(b->a, "result %d: dimension %d differs from the declared result type", i + 1, k));
}

static void build_stmt(Builder *b, Node *st) {
  for (int i = 0; i < st->sizes.n; i++) build_snapshot(b, st->sizes.items[i]);
  switch (st->kind) {
  case N_ASSIGN: build_assign(b, st); break;
  case N_EXPR_STMT: build_expr_stmt(b, st); break;
  case N_FOR: {
    localize_carried(b, st->c);
    TirOp *op = tir_op_new(b->a, TO_FOR, st->span);
    op->lo = xconvert(b, build_expr(b, st->a), ELEM_I64);
    op->hi = xconvert(b, build_expr(b, st->b), ELEM_I64);
    Node *var = st->list.items[0];
    op->out = tir_var_new(b->a, b->fn, var->name, type_scalar(b->a, ELEM_I64));
    map_put(b, &b->vars, var->sym, op->out);
    emit(b, op);
    build_block(b, st->c, &op->body_ops);
    break;
  }
  case N_WHILE: {
    localize_carried(b, st->c);
    TirOp *op = tir_op_new(b->a, TO_WHILE, st->span);
    TirBlock *saved = b->block;
    b->block = &op->cond_ops; /* ops computing the condition, run each time */
    op->cond = cond_expr(b, st->a);
    b->block = saved;
    emit(b, op);
    build_block(b, st->c, &op->body_ops);
    break;
  }
  case N_IF: {
    localize_carried(b, st->b);
    if (st->c) localize_carried(b, st->c);
    TirOp *op = tir_op_new(b->a, TO_IF, st->span);
    op->cond = cond_expr(b, st->a);
    emit(b, op);
    build_block(b, st->b, &op->body_ops);
    if (st->c && st->c->kind == N_IF) {
      TirBlock *saved = b->block;
      b->block = &op->else_ops;
      build_stmt(b, st->c);
      b->block = saved;
    } else if (st->c) {
      build_block(b, st->c, &op->else_ops);
    }
    break;
  }
  case N_RETURN: {
    TirOp *op = tir_op_new(b->a, TO_RETURN, st->span);
    op->nargs = st->list.n;
    op->args = arena_alloc(b->a, sizeof(TirVar *) * (size_t)(op->nargs + 1));
    for (int i = 0; i < op->nargs; i++) {
      Node *v = st->list.items[i];
      TirVar *res = b->fn->results.n > i ? temp(b, b->fn->results.items[i]) : NULL;
      if (v->kind == N_NAME && !(res && res->type->elem != node_elem(b, v))) op->args[i] = value_var(b, v);
      else { build_into(b, v, res); op->args[i] = res; }
      if (res) check_result_shape(b, op->args[i]->type, res->type, v->span, i);
    }
    emit(b, op);
    break;
  }
  default: break;
  }
}

static void build_block(Builder *b, Node *block, TirBlock *into) {
  TirBlock *saved = b->block;
  b->block = into;
  for (int i = 0; i < block->list.n; i++) build_stmt(b, block->list.items[i]);
  b->block = saved;
}

/* ---- functions ---- */

/* Binds each type parameter of def to the element type of the first
 * argument that uses it, as the caller sees it. */
static void collect_tparams(Builder *b, Node *def, Node *call) {
  const char *names[MAX_TPARAMS];
  int elems[MAX_TPARAMS], n = 0;
  for (int i = 0; i < def->list.n; i++) {
    Type *pt = def->list.items[i]->type;
    if (pt->elem != ELEM_PARAM) continue;
    int seen = 0;
    for (int k = 0; k < n; k++) seen |= names[k] == pt->tparam;
    if (seen || n == MAX_TPARAMS) continue;
    Type *at = call ? call->list.items[i]->type : NULL;
    names[n] = pt->tparam;
    elems[n] = at ? concrete_elem(b, at->elem, at->tparam) : n < b->nforced ? b->forced[n] : ELEM_F64;
    n++;
  }
  b->ntparams = n;
  memcpy(b->tparams, names, sizeof(char *) * (size_t)n);
  memcpy(b->telems, elems, sizeof(int) * (size_t)n);
}

static TirFunc *find_func(Builder *b, Node *def, int *elems, int n) {
  for (int i = 0; i < b->prog->funcs.n; i++) {
    TirFunc *f = b->prog->funcs.items[i];
    if (f->def == def && (n == 0 || memcmp(f->elems, elems, sizeof(int) * (size_t)n) == 0)) return f;
  }
  return NULL;
}

static void func_sizes(Builder *b, TirFunc *f) {
  for (int i = 0; i < f->params.n; i++) {
    Type *t = ((TirVar *)f->params.items[i])->type;
    for (int k = 0; k < t->rank; k++)
      for (int s = 0; s < t->dims[k].n; s++) {
        if (tir_size_find(f, t->dims[k].syms[s])) continue;
        TirSize *sz = arena_alloc(b->a, sizeof *sz);
        sz->name = t->dims[k].syms[s];
        sz->kind = TS_PARAM;
        sz->param = f->nsize_params++;
        ptrvec_push(b->a, &f->sizes, sz);
      }
  }
}

static int defined_in(Node *prog, Node *def) {
  for (int i = 0; prog && i < prog->list.n; i++)
    if (prog->list.items[i] == def) return 1;
  return 0;
}

/* A def specialised for the element types its type parameters have at
 * this call (a caller's own parameters already resolved). */
/* Whether a result has a size only the body knows (a value, a load): the
 * callee then allocates it and hands it over with its shape. */
static int data_sized(const TirFunc *f) {
  for (int r = 0; r < f->results.n; r++) {
    const Type *t = f->results.items[r];
    for (int k = 0; k < t->rank; k++)
      for (int i = 0; i < t->dims[k].n; i++) {
        const TirSize *s = tir_size_find(f, t->dims[k].syms[i]);
        if (!s || s->kind != TS_PARAM) return 1;
      }
  }
  return 0;
}

static TirFunc *get_func(Builder *b, Symbol *y, Node *call) {
  Builder saved = *b;
  Node *def = y->def;
  collect_tparams(b, def, call);
  TirFunc *f = find_func(b, def, b->telems, b->ntparams);
  if (f) { *b = saved; return f; }
  f = arena_alloc(b->a, sizeof *f);
  f->def = def;
  f->source_name = def->name;
  f->exported = def->name[0] != '_' && b->ntparams == 0 && defined_in(b->root, def);
  f->elems = arena_alloc(b->a, sizeof(int) * (size_t)(b->ntparams + 1));
  memcpy(f->elems, b->telems, sizeof(int) * (size_t)b->ntparams);
  char *name = arena_printf(b->a, "%s", def->name);
  for (int i = 0; i < b->ntparams; i++) name = arena_printf(b->a, "%s%s%s", name, i ? "_" : "__", elem_name(b->telems[i]));
  f->name = strtab_cstr(b->names, name);
  ptrvec_push(b->a, &b->prog->funcs, f);
  b->fn = f;
  b->vars = (Map){0};
  b->idx = (Map){0};
  for (int i = 0; i < def->list.n; i++) {
    Node *p = def->list.items[i];
    TirVar *v = tir_var_new(b->a, f, p->name, concrete(b, p->type));
    v->param = i + 1;
    ptrvec_push(b->a, &f->params, v);
    map_put(b, &b->vars, p->sym, v);
  }
  func_sizes(b, f);
  Type *res = concrete(b, y->result);
  if (res->kind == T_TUPLE)
    for (int i = 0; i < res->n; i++) ptrvec_push(b->a, &f->results, res->items[i]);
  else if (res->kind == T_TENSOR)
    ptrvec_push(b->a, &f->results, res);
  build_block(b, def->c, &f->body);
  f->array_results = data_sized(f);
  *b = saved;
  return f;
}

/* Imported functions are compiled where used, never exported: two
 * objects importing one module must link together. */
static void build_module(Builder *b, Node *prog, int with_main, int imported) {
  for (int i = 0; i < prog->list.n; i++) {
    Node *st = prog->list.items[i];
    if (st->kind == N_IMPORT && st->c) build_module(b, st->c, 0, 1);
    if (st->kind != N_DEF || !st->sym || imported) continue;
    int generic = 0;
    for (int k = 0; k < st->list.n; k++) generic |= st->list.items[k]->type->elem == ELEM_PARAM;
    if (!generic) get_func(b, st->sym, NULL);
  }
  if (!with_main) return;
  TirFunc *m = arena_alloc(b->a, sizeof *m);
  m->name = strtab_cstr(b->names, "tns_main");
  m->source_name = "<program>";
  ptrvec_push(b->a, &b->prog->funcs, m);
  b->prog->main = m;
  b->fn = m;
  b->block = &m->body;
  for (int i = 0; i < prog->list.n; i++) {
    Node *st = prog->list.items[i];
    if (st->kind != N_DEF && st->kind != N_IMPORT) build_stmt(b, st);
  }
}

TirProgram *tir_build(Arena *a, StrTab *names, Node *prog, int with_main) {
  Builder b;
  memset(&b, 0, sizeof b);
  b.a = a;
  b.names = names;
  b.prog = arena_alloc(a, sizeof *b.prog);
  b.prog->arena = a;
  b.root = prog;
  build_module(&b, prog, with_main, 0);
  return b.prog;
}

/* Finds a def by name, in the program or what it imports. */
static Node *find_def(Node *prog, const char *name) {
  for (int i = 0; i < prog->list.n; i++) {
    Node *st = prog->list.items[i];
    if (st->kind == N_DEF && st->sym && strcmp(st->name, name) == 0) return st;
    if (st->kind == N_IMPORT && st->c) {
      Node *d = find_def(st->c, name);
      if (d) return d;
    }
  }
  return NULL;
}

TirFunc *tir_instantiate(TirProgram *p, StrTab *names, Node *prog, const char *name, const int *elems, int n) {
  Node *def = find_def(prog, name);
  if (!def) return NULL;
  int generic = 0;
  for (int k = 0; k < def->list.n; k++) generic |= def->list.items[k]->type->elem == ELEM_PARAM;
  if (!generic) return NULL;
  Builder b;
  memset(&b, 0, sizeof b);
  b.a = p->arena;
  b.names = names;
  b.prog = p;
  b.forced = elems;
  b.nforced = n;
  b.root = prog;
  TirFunc *f = get_func(&b, def->sym, NULL);
  char *sym = arena_printf(b.a, "%s", name);
  for (int i = 0; i < n; i++) sym = arena_printf(b.a, "%s_%s", sym, elem_name(elems[i]));
  f->name = strtab_cstr(names, sym);
  f->exported = 1;
  return f;
}
