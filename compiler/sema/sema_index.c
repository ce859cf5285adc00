/* sema_index.c — index statements: which names are indices, their ranges
 * (from bare uses, explicit `i: n`, and grouped `(i, k)` splits), explicit
 * reductions, and the implicit-sum rule of language.md section 5: an index
 * not on the left is summed over the smallest subexpression holding all of
 * its uses, unless that would cut through a non-linear function. */
#include <string.h>
#include "sema_int.h"

enum { GROUP_MAX = 16 };

typedef struct Group {
  IndexVar *v[GROUP_MAX];
  int n;
  Dim dim;
  Span span;
  const char *of;       /* the tensor, for messages */
  int done;
} Group;

/* ---- which names are indices ---- */

/* Variables and size names inside brackets are values (A[n - 1]);
 * every other name there is an index. */
static int is_value_name(Sema *s, const char *name) {
  Symbol *y = sema_lookup(s, name);
  if (!y) return 0;
  /* a tensor variable is a value too: A[i, x] with x a vector is an error
   * about x, not a new index that hides it */
  return y->kind == SYM_SIZE || y->kind == SYM_VAR;
}

static void add_candidate(Sema *s, const char *name) {
  for (int i = 0; i < s->candidates.n; i++)
    if (s->candidates.items[i] == name) return;
  ptrvec_push(s->arena, &s->candidates, (void *)name);
}

static void collect(Sema *s, Node *e, int in_brackets);

static void collect_position(Sema *s, Node *p) {
  if (p->kind == N_NAME) {
    if (!is_value_name(s, p->name)) add_candidate(s, p->name);
  } else if (p->kind == N_RANGED && p->a->kind == N_NAME) {
    add_candidate(s, p->a->name);
  } else if (p->kind == N_GROUP) {
    for (int i = 0; i < p->list.n; i++) collect_position(s, p->list.items[i]);
  } else {
    collect(s, p, 1);
  }
}

static void collect(Sema *s, Node *e, int in_brackets) {
  if (!e) return;
  if (e->kind == N_NAME) {
    if (in_brackets && !is_value_name(s, e->name)) add_candidate(s, e->name);
    return;
  }
  if (e->kind == N_TYPE) return;
  if (e->kind == N_INDEX) {
    collect(s, e->a, 0);
    for (int i = 0; i < e->list.n; i++) collect_position(s, e->list.items[i]);
    return;
  }
  if (e->kind == N_REDUCE && e->op == RED_SOFTMAX)
    for (int i = 0; i < e->list.n; i++) add_candidate(s, e->list.items[i]->name);
  if (e->kind != N_REDUCE)
    for (int i = 0; i < e->list.n; i++) collect(s, e->list.items[i], in_brackets);
  collect(s, e->a, in_brackets);
  if (e->kind != N_CALL) collect(s, e->b, in_brackets);
}

int sema_is_index_name(Sema *s, const char *name) {
  for (int i = 0; i < s->candidates.n; i++)
    if (s->candidates.items[i] == name) return 1;
  return 0;
}

static IndexVar *new_var(Sema *s, IndexEnv *env, const char *name, Span sp) {
  IndexVar *v = arena_alloc(s->arena, sizeof *v);
  v->kind = SYM_INDEX;
  v->name = name;
  v->range_span = sp;
  v->id = s->stmt_vars.n;
  ptrvec_push(s->arena, &env->vars, v);
  ptrvec_push(s->arena, &s->stmt_vars, v);
  return v;
}

static IndexVar *env_find(IndexEnv *env, const char *name) {
  for (int i = 0; i < env->vars.n; i++) {
    IndexVar *v = env->vars.items[i];
    if (v->name == name) return v;
  }
  return NULL;
}

static IndexEnv *root_env(Sema *s) {
  IndexEnv *e = s->ienv;
  while (e && e->parent) e = e->parent;
  return e;
}

/* Innermost index of that name; a candidate seen for the first time
 * becomes an implicit (summed) index of the whole statement. */
static IndexVar *lookup_at(Sema *s, const char *name, Span sp) {
  if (!s->ienv) return NULL;
  for (IndexEnv *e = s->ienv; e; e = e->parent) {
    IndexVar *v = env_find(e, name);
    if (v) return v;
  }
  if (!sema_is_index_name(s, name)) return NULL;
  IndexVar *v = new_var(s, root_env(s), name, sp);
  v->implicit = 1;
  return v;
}

IndexVar *sema_index_lookup(Sema *s, const char *name, Span sp) {
  return lookup_at(s, name, sp);
}

/* ---- ranges ---- */

/* Whether an explicit range r may run over a dimension d: a prefix (r <= d),
 * checked at run time unless both are numbers. */
static int prefix_ok(Dim r, Dim d) {
  return !(dim_is_const(r) && dim_is_const(d)) || r.k <= d.k;
}

/* An index's range comes from the dimensions it indexes, which must agree;
 * an explicit range (`a: r`) may cover a prefix of them instead. */
static void give_range(Sema *s, IndexVar *v, Dim d, Span sp, const char *from, int explicit_range) {
  if (!v->has_range || (explicit_range && !v->explicit_range && prefix_ok(d, v->range))) {
    v->has_range = 1;
    v->range = d;
    v->range_span = sp;
    v->range_from = from;
    v->explicit_range = explicit_range;
    return;
  }
  if (v->explicit_range != explicit_range && prefix_ok(v->explicit_range ? v->range : d, v->explicit_range ? d : v->range))
    return;
  if (dim_cmp(v->range, d) != DIM_DIFFERENT) return;
  ERR(s, sp, E_INDEX_RANGE, v->name, dim_to_string(s->arena, v->range), v->range_from,
      dim_to_string(s->arena, d), from);
  ERR(s, v->range_span, N_RANGE_HERE, v->name, dim_to_string(s->arena, v->range));
}

/* Marks one use of an index name at node p. */
static IndexVar *use_index(Sema *s, Node *p) {
  IndexVar *v = lookup_at(s, p->name, p->span);
  if (!v) return NULL;
  if (!v->has_range && !v->uses && !v->on_lhs) v->range_span = p->span;
  v->uses++;
  p->sym = v;
  p->type = type_scalar(s->arena, ELEM_I64);
  return v;
}

/* "'i: n'" for messages about the range it gives */
static const char *range_text(Sema *s, Node *p) {
  return arena_printf(s->arena, "'%s'", ast_to_string(s->arena, p));
}

/* idx = ident ":" dim — an explicit range */
static IndexVar *ranged_index(Sema *s, Node *p) {
  if (p->a->kind != N_NAME) { ERR(s, p->span, E_INDEX_POSITION); return NULL; }
  IndexVar *v = use_index(s, p->a);
  Dim d;
  if (!v) { ERR(s, p->a->span, E_INDEX_POSITION); return NULL; }
  if (sema_dim_of_expr(s, p->b, 0, &d)) give_range(s, v, d, p->b->span, range_text(s, p), 1);
  p->type = p->a->type;
  return v;
}

/* idx = "(" idx, ... ")" — a constraint: product of ranges == dimension */
static void group_position(Sema *s, Node *p, Dim d, const char *of) {
  Group *g = arena_alloc(s->arena, sizeof *g);
  g->dim = d;
  g->span = p->span;
  g->of = of;
  for (int i = 0; i < p->list.n; i++) {
    Node *it = p->list.items[i];
    IndexVar *v = it->kind == N_NAME ? use_index(s, it) : it->kind == N_RANGED ? ranged_index(s, it) : NULL;
    if (!v || g->n == GROUP_MAX) { ERR(s, it->span, E_INDEX_POSITION); return; }
    g->v[g->n++] = v;
  }
  p->type = type_scalar(s->arena, ELEM_I64);
  ptrvec_push(s->arena, &s->groups, g);
}

/* A constant position: inside the dimension when its size is known. */
static void constant_position(Sema *s, Node *p, Dim d, int k, const char *of) {
  const char *size = dim_to_string(s->arena, d);
  if (p->ival < 0)
    ERR(s, p->span, E_POSITION_NEG, (long long)p->ival, (long long)p->ival, size, (long long)-p->ival);
  else if (dim_is_const(d) && p->ival >= d.k)
    ERR(s, p->span, E_POSITION_RANGE, (long long)p->ival, k, of, size);
}

/* The terms of an integer position made with + and -: one index with its
 * coefficient, the sum of the integer literals, and at most one other
 * term with its sign. */
typedef struct Affine {
  IndexVar *v;
  int vc, leaf_sign;
  int64_t c;
  Node *leaf;
} Affine;

static int affine_terms(Node *e, int sign, Affine *a) {
  if (e->kind == N_INT) { a->c += sign * e->ival; return 1; }
  if (e->kind == N_BINARY && (e->op == OP_ADD || e->op == OP_SUB))
    return affine_terms(e->a, sign, a) && affine_terms(e->b, e->op == OP_SUB ? -sign : sign, a);
  if (e->kind == N_UNARY && e->op == OP_NEG) return affine_terms(e->a, -sign, a);
  if (e->kind == N_NAME && e->sym && ((IndexVar *)e->sym)->kind == SYM_INDEX) {
    if (a->v && a->v != e->sym) return 0;
    a->v = e->sym;
    a->vc += sign;
    return 1;
  }
  if (a->leaf) return 0;
  a->leaf = e;
  a->leaf_sign = sign;
  return 1;
}

/* The size a name stands for as a dimension: a size name, an integer
 * variable whose value is known, or one bound to dim(X, c). */
static int name_dim(const Node *e, Dim *out) {
  if (e->kind != N_NAME || !e->sym) return 0;
  const Symbol *y = e->sym;
  if (y->kind == SYM_SIZE) { *out = y->size; return 1; }
  if (y->kind == SYM_VAR && y->has_const) { *out = dim_const(y->cval); return 1; }
  if (y->kind == SYM_VAR && y->has_dim_of) { *out = y->dim_of; return 1; }
  return 0;
}

/* A position `n - 1 - q` (or `n - q - 1`, `9 - q` over 10) over a
 * dimension of size n reverses it: it gives q the range n, when nothing
 * else does (check_ranges). */
static void reversed_position(Node *p, Dim d, const char *of) {
  Affine a = {0};
  Dim ld;
  if (!affine_terms(p, 1, &a) || !a.v || a.vc != -1 || a.v->reversed) return;
  int whole = a.leaf ? a.leaf_sign == 1 && a.c == -1 && name_dim(a.leaf, &ld) && dim_cmp(ld, d) == DIM_EQUAL
                     : dim_is_const(d) && a.c == d.k - 1;
  if (!whole) {
    if (!a.v->near_reversed) a.v->near_reversed = p, a.v->near_dim = d;
    return;
  }
  a.v->reversed = p;
  a.v->reversed_dim = d;
  a.v->reversed_of = of;
}

/* An index without any range: the one a reversed position gives it. */
static int reversed_range(Sema *s, IndexVar *v) {
  if (!v->reversed) return 0;
  give_range(s, v, v->reversed_dim, v->reversed->span, v->reversed_of, 0);
  return 1;
}

/* After "needs a range": why a position like `k - 1 - q` gave none. */
static void not_reversed_note(Sema *s, IndexVar *v) {
  if (!v->near_reversed) return;
  const char *n = dim_to_string(s->arena, v->near_dim);
  Span sp = v->near_reversed->span;
  const char *text = arena_printf(s->arena, "%.*s", sp.len, sp.src ? sp.src->text + sp.off : "");
  ERR(s, sp, N_NOT_REVERSED, text, n, n, v->name, v->name);
}

/* One position (number k) of X[...] over dimension d. */
static void position(Sema *s, Node *p, Dim d, int k, const char *of) {
  IndexVar *v;
  if (p->kind == N_NAME && (v = use_index(s, p))) {
    give_range(s, v, d, p->span, of, 0);
  } else if (p->kind == N_RANGED) {
    if ((v = ranged_index(s, p))) give_range(s, v, d, p->span, of, 0);
  } else if (p->kind == N_GROUP) {
    group_position(s, p, d, of);
  } else {
    Type *t = sema_expect_scalar(s, p, "an index position");
    if (type_is_error(t)) return;
    if (!elem_is_int(t->elem)) { ERR(s, p->span, E_NOT_INT, "an index position", type_to_string(s->arena, t)); return; }
    if (sema_is_weak(p)) sema_retype_literal(s, p, ELEM_I64);
    if (p->kind == N_INT) constant_position(s, p, d, k, of);
    else if (p->kind == N_NAME && p->sym && ((Symbol *)p->sym)->kind == SYM_SIZE &&
             dim_cmp(((Symbol *)p->sym)->size, d) == DIM_EQUAL) /* x[n] with x: f64[n] */
      ERR(s, p->span, E_POSITION_SIZE, p->name, k, of, p->name, p->name);
    else reversed_position(p, d, of);
  }
}

/* T[n, m] in an expression, where T is a type parameter: a type value. */
static Type *tparam_type(Sema *s, Node *e) {
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(e->list.n + 1));
  for (int i = 0; i < e->list.n; i++)
    if (!sema_dim_of_expr(s, e->list.items[i], 0, &dims[i])) return sema_error_type(s);
  Type *t = type_tensor(s->arena, ELEM_PARAM, e->list.n, dims);
  t->tparam = e->a->name;
  return type_typeval(s->arena, t);
}

/* postfix = postfix "[" idx, ... "]" — a read of one element */
Type *sema_access(Sema *s, Node *e) {
  Node *base = e->a;
  if (base->kind == N_NAME) {
    if (lookup_at(s, base->name, base->span) && !sema_lookup(s, base->name)) {
      ERR(s, base->span, E_INDEX_AS_TENSOR, base->name);
      return sema_error_type(s);
    }
    Symbol *y = sema_lookup(s, base->name);
    if (y && y->kind == SYM_TPARAM) return tparam_type(s, e);
  }
  Type *bt = sema_expr(s, base);
  if (type_is_error(bt)) return bt;
  const char *of = sema_node_text(s, base);
  if (bt->kind != T_TENSOR || bt->rank < 0) {
    ERR(s, base->span, bt->rank < 0 ? E_LOAD_NEEDS_TYPE : E_TYPE_VALUE);
    return sema_error_type(s);
  }
  if (bt->rank != e->list.n) {
    ERR(s, e->span, E_RANK_MISMATCH, of, bt->rank, e->list.n, e->list.n == 1 ? "" : "s");
    return sema_error_type(s);
  }
  for (int i = 0; i < e->list.n; i++) position(s, e->list.items[i], bt->dims[i], i, of);
  Type *t = type_scalar(s->arena, bt->elem);
  t->tparam = bt->tparam;
  return t;
}

/* ---- grouped-index constraints ---- */

/* The names in a group with (has_range == 1) or without a range:
 * "'i' and 'k'", or "i, k" with plain. */
static char *group_names(Sema *s, Group *g, int ranged, int plain) {
  char *names = "";
  for (int k = 0; k < g->n; k++)
    if (g->v[k]->has_range == ranged || ranged < 0)
      names = arena_printf(s->arena, plain ? "%s%s%s" : "%s%s'%s'", names,
                           *names ? (plain ? ", " : " and ") : "", g->v[k]->name);
  return names;
}

/* K[(i, k), ...] over a dimension with written factors (n*p, a kron
 * result) as many as the group's names: each name ranges over its factor. */
static int split_by_factors(Sema *s, Group *g) {
  DimFactor f[DIM_MAX_FACTORS + 1];
  if (dim_factors(g->dim, f) != g->n || g->n < 2) return 0;
  for (int i = 0; i < g->n; i++)
    if (g->v[i]->has_range && dim_cmp(g->v[i]->range, dim_of_factor(f[i])) == DIM_DIFFERENT) return 0;
  for (int i = 0; i < g->n; i++)
    if (!g->v[i]->has_range) give_range(s, g->v[i], dim_of_factor(f[i]), g->span, g->of, 0);
  g->done = 1;
  return 1;
}

static int solve_group(Sema *s, Group *g) {
  Dim known = dim_const(1), q;
  IndexVar *open = NULL;
  int nopen = 0;
  for (int i = 0; i < g->n; i++) {
    if (g->v[i]->has_range) dim_mul(known, g->v[i]->range, &known);
    else { open = g->v[i]; nopen++; }
  }
  if (nopen > 1) return split_by_factors(s, g);
  g->done = 1;
  if (nopen == 0) {
    if (dim_cmp(known, g->dim) == DIM_DIFFERENT)
      ERR(s, g->span, E_GROUP_SIZE, group_names(s, g, -1, 1), dim_to_string(s->arena, known),
          g->of, dim_to_string(s->arena, g->dim));
    return 1;
  }
  if (!dim_div(g->dim, known, &q)) {
    ERR(s, g->span, E_GROUP_SPLIT, dim_to_string(s->arena, g->dim), g->of, group_names(s, g, 1, 0),
        dim_to_string(s->arena, known));
    return 1;
  }
  give_range(s, open, q, g->span, g->of, 0);
  return 1;
}

static void solve_groups(Sema *s) {
  for (int changed = 1; changed;) {
    changed = 0;
    for (int i = 0; i < s->groups.n; i++) {
      Group *g = s->groups.items[i];
      if (!g->done && solve_group(s, g)) changed = 1;
    }
  }
  for (int i = 0; i < s->groups.n; i++) {
    Group *g = s->groups.items[i];
    if (g->done) continue;
    g->done = 1;   /* reported once, though groups are solved again outside a reduction */
    char *names = group_names(s, g, 0, 0);
    const char *first = NULL;
    for (int k = 0; k < g->n && !first; k++)
      if (!g->v[k]->has_range) first = g->v[k]->name;
    ERR(s, g->span, E_GROUP_NEEDS_RANGE, dim_to_string(s->arena, g->dim), g->of, names, first);
  }
}

/* ---- explicit reductions ---- */

static int reduce_elem(int op, int body) {
  switch (op) {
  case RED_SUM: case RED_PROD: return body == ELEM_BOOL ? ELEM_I64 : body;
  case RED_ARGMAX: case RED_ARGMIN: return ELEM_I64;
  case RED_LOGSUMEXP: case RED_SOFTMAX: return elem_is_float(body) || body == ELEM_PARAM ? body : ELEM_F64;
  default: return body;
  }
}

/* softmax(j, k: e) — j, k are the statement's own indices, kept */
static void kept_indices(Sema *s, Node *e) {
  for (int i = 0; i < e->list.n; i++) {
    Node *nm = e->list.items[i];
    IndexVar *v = use_index(s, nm);
    if (!v) { ERR(s, nm->span, E_UNDEFINED, nm->name); continue; }
    v->kept = 1;
  }
}

/* sum(j, k: e) and friends — j, k are new indices bound to the body */
static IndexEnv *bound_indices(Sema *s, Node *e) {
  IndexEnv *env = arena_alloc(s->arena, sizeof *env);
  env->parent = s->ienv;
  for (int i = 0; i < e->list.n; i++) {
    Node *nm = e->list.items[i];
    IndexVar *old = NULL;
    for (IndexEnv *p = s->ienv; p && !old; p = p->parent) old = env_find(p, nm->name);
    if (old && (old->on_lhs || old->reduce)) {
      ERR(s, nm->span, E_REDUCE_SHADOW, nm->name);
      ERR(s, old->range_span, N_INDEX_USED, nm->name);
    }
    if (env_find(env, nm->name)) { ERR(s, nm->span, E_REDUCE_SHADOW, nm->name); continue; }
    IndexVar *v = new_var(s, env, nm->name, nm->span);
    v->reduce = e;
    nm->sym = v;
    nm->type = type_scalar(s->arena, ELEM_I64);
  }
  return env;
}

/* reduce = op "(" ident, ... ":" expr ")" */
Type *sema_reduce(Sema *s, Node *e) {
  IndexEnv *outer = s->ienv, *env = NULL;
  IndexEnv tmp = {0};
  if (!outer) s->ienv = &tmp; /* a reduction outside any statement */
  if (e->op == RED_SOFTMAX) kept_indices(s, e);
  else s->ienv = env = bound_indices(s, e);
  int errors = s->diag->nerrors;
  Type *t = sema_expr(s, e->a);
  s->ienv = outer;
  if (type_is_error(t)) return t;
  if (t->kind != T_TENSOR || t->rank != 0) {
    ERR(s, e->a->span, E_REDUCE_BODY, reduce_name(e->op), type_to_string(s->arena, t));
    return sema_error_type(s);
  }
  for (int i = 0; env && s->diag->nerrors == errors && i < env->vars.n; i++) {
    IndexVar *v = env->vars.items[i];
    if (!v->has_range && !reversed_range(s, v)) {
      ERR(s, v->range_span, E_INDEX_NO_RANGE, v->name);
      not_reversed_note(s, v);
    }
  }
  if (t->elem == ELEM_BOOL && e->op != RED_SUM && e->op != RED_PROD && e->op != RED_ARGMAX && e->op != RED_ARGMIN) {
    ERR(s, e->a->span, E_NOT_NUMERIC, reduce_name(e->op), "bool");
    return sema_error_type(s);
  }
  int elem = reduce_elem(e->op, t->elem);
  /* an explicit sum or prod of i32 accumulates in i64 like numpy's sum;
   * implicit (einsum) sums keep the element type like numpy's einsum */
  if ((e->op == RED_SUM || e->op == RED_PROD) && elem == ELEM_I32) elem = ELEM_I64;
  Type *r = type_scalar(s->arena, elem);
  r->tparam = t->tparam;
  return r;
}

/* ---- implicit sums ---- */

static int count_uses(Node *n, IndexVar *v) {
  if (!n) return 0;
  if (n->kind == N_NAME) return n->sym == v;
  if (n->kind == N_TYPE) return 0;
  int c = count_uses(n->a, v) + count_uses(n->b, v) + count_uses(n->c, v);
  for (int i = 0; i < n->list.n; i++) c += count_uses(n->list.items[i], v);
  return c;
}

/* Whether a sum may move from the child `which` up through node n:
 * + - and * in any operand, / in its numerator, conversions, and the
 * value arms of where(). Everything else is non-linear. */
static int edge_is_linear(const Node *n, const Node *child) {
  switch (n->kind) {
  case N_BINARY:
    if (n->op == OP_ADD || n->op == OP_SUB || n->op == OP_MUL) return 1;
    return n->op == OP_DIV && child == n->a;
  case N_UNARY: return n->op == OP_NEG;
  case N_CALL:
    if (builtin_is_linear(n->name)) return 1;
    return strcmp(n->name, "where") == 0 && n->list.n == 3 && child != n->list.items[0];
  case N_REDUCE: return n->op == RED_SUM && child == n->a;
  default: return 0;
  }
}

static const char *culprit(Sema *s, const Node *n) {
  if (n->kind == N_CALL || n->kind == N_REDUCE) return n->name ? n->name : reduce_name(n->op);
  if (n->kind == N_INDEX) return arena_printf(s->arena, "%s[...]", sema_node_text(s, n->a));
  if (n->kind == N_UNARY || n->kind == N_BINARY) {
    return sema_op_text(s, n->op);
  }
  return "this expression";
}

/* The child slot of n that holds all `total` uses of v, or NULL. */
static Node **child_with_all(Node *n, IndexVar *v, int total) {
  /* positions of an access are not subexpressions a sum can sit in:
   * X[k + k] sums the whole read */
  if (n->kind == N_INDEX) return count_uses(n->a, v) == total ? &n->a : NULL;
  Node **slots[3] = {&n->a, &n->b, &n->c};
  for (int i = 0; i < 3; i++)
    if (*slots[i] && count_uses(*slots[i], v) == total) return slots[i];
  for (int i = 0; i < n->list.n; i++)
    if (count_uses(n->list.items[i], v) == total) return &n->list.items[i];
  return NULL;
}

static Node *wrap_sum(Sema *s, Node *body, IndexVar *v) {
  Node *nm = ast_name(&s->c->ast, body->span, v->name);
  nm->sym = v;
  nm->type = type_scalar(s->arena, ELEM_I64);
  if (body->kind == N_REDUCE && body->implicit) {
    ast_list_push(&s->c->ast, &body->list, nm);
    return body;
  }
  Node *r = ast_node(&s->c->ast, N_REDUCE, body->span);
  r->op = RED_SUM;
  r->implicit = 1;
  r->name = strtab_cstr(&s->c->names, "sum");
  r->a = body;
  ast_list_push(&s->c->ast, &r->list, nm);
  r->type = type_scalar(s->arena, reduce_elem(RED_SUM, body->type->elem));
  r->type->tparam = body->type->tparam;
  return r;
}

/* Uses of v as a position of a tensor read. */
static int read_uses(const Node *n, const IndexVar *v) {
  if (!n || n->kind == N_TYPE) return 0;
  int c = 0;
  if (n->kind == N_INDEX)
    for (int i = 0; i < n->list.n; i++) c += count_uses(n->list.items[i], (IndexVar *)v);
  c += read_uses(n->a, v) + read_uses(n->b, v) + read_uses(n->c, v);
  for (int i = 0; n->kind != N_INDEX && i < n->list.n; i++) c += read_uses(n->list.items[i], v);
  return c;
}

/* Below the sum's node: a non-linear function or operator holding a
 * product over v (two reads at v, not all of them): `sqrt(E[i, j] *
 * E[i, j]) / sqrt(M[i, j] * M[i, j])` would sum the quotient of the square
 * roots, where the formula means a norm inside each. Ambiguous: an error
 * (explicit reductions below are their own scope and do not count). */
static Node *product_inside(Node *n, IndexVar *v) {
  if (!n || n->kind == N_TYPE || n->kind == N_REDUCE) return NULL;
  Node *kids[3] = {n->a, n->b, n->c};
  for (int i = 0; i < 3 + n->list.n; i++) {
    Node *c = i < 3 ? kids[i] : n->list.items[i - 3];
    if (!c || (n->kind == N_INDEX && i >= 3)) continue;
    if (n->kind != N_INDEX && !edge_is_linear(n, c) && read_uses(c, v) >= 2) return n;
    Node *r = product_inside(c, v);
    if (r) return r;
  }
  return NULL;
}

/* A non-linear node with several operands that a sum may stay inside one
 * operand of: an operator (`/`, `//`, `%`, `**`, a comparison, && ||) or a
 * builtin such as max(a, b), pow(a, b) or where's condition. Functions of
 * one argument and user functions are not: `exp(S[i, j])` stays an error. */
static int several_operands(const Node *n) {
  if (n->kind == N_BINARY) return 1;
  return n->kind == N_CALL && n->list.n >= 2 && builtin_lookup(n->name) >= 0;
}

/* Whether n reads an index other than v that is summed by the Einstein
 * rule. */
static int other_sum(const Node *n, const IndexVar *v) {
  if (!n || n->kind == N_TYPE) return 0;
  if (n->kind == N_NAME) {
    const IndexVar *w = n->sym;
    return w && w != v && w->kind == SYM_INDEX && w->implicit && !w->on_lhs;
  }
  if (other_sum(n->a, v) || other_sum(n->b, v) || other_sum(n->c, v)) return 1;
  for (int i = 0; i < n->list.n; i++)
    if (other_sum(n->list.items[i], v)) return 1;
  return 0;
}

/* `max(b, X[q, a, c] * Y[p, b, c])` summing b around it, with a
 * contraction over c inside: a comma typed for the colon of max(b: ...)
 * (Chamfer's inner max), not a sum of max(b, ...) over b. */
static int is_reduce_typo(const Node *n, const IndexVar *v) {
  return n->kind == N_CALL && n->list.n == 2 && reduce_lookup(n->name) >= 0 &&
         n->list.items[0]->kind == N_NAME && n->list.items[0]->sym == v && other_sum(n->list.items[1], v);
}

/* Walks down from the root to the smallest subexpression holding every
 * use of v, remembering the last non-linear node crossed (a reduction's
 * body starts afresh), and wraps it in a sum. Crossing a node of several
 * operands (`x[a] / (A[a, p] * v[p] + 1.0)`) confines the sum to that
 * operand, like a reduction's body, when the sum is a contraction there
 * (two or more reads at v): the matrix product a numpy user writes as
 * `x / (A @ v + 1.0)`. A single read (`max(S[i, j], 0.0)`) could be summed
 * inside or around the node, and stays an error. */
static void place_sum(Sema *s, Node **slot, IndexVar *v) {
  int total = count_uses(*slot, v);
  Node *bad = NULL, *local = NULL, **next;
  while ((next = child_with_all(*slot, v, total))) {
    Node *n = *slot;
    /* a reduction's body, or an argument of print/assert/save, starts afresh */
    if ((n->kind == N_REDUCE && next == &n->a) || (n->kind == N_CALL && n->type->kind == T_VOID)) bad = local = NULL;
    else if (edge_is_linear(n, *next)) {}
    else if (several_operands(n)) local = n, bad = NULL; /* the sum stays below: what is above does not matter */
    else bad = n;
    slot = next;
  }
  if (!bad && local && read_uses(*slot, v) < 2) bad = local;
  if (!bad) bad = product_inside(*slot, v);
  if (!bad && is_reduce_typo(*slot, v)) {   /* max(b, e) for max(b: e) */
    ERR(s, (*slot)->span, E_REDUCE_COMMA, (*slot)->name, v->name, v->name, (*slot)->name, v->name);
    return;
  }
  if (bad) {
    ERR(s, bad->span, E_SUM_CUTS, v->name, culprit(s, bad), v->name);
    ERR(s, v->range_span, N_INDEX_USED, v->name);
    return;
  }
  *slot = wrap_sum(s, *slot, v);
}

/* ---- the left side ---- */

static IndexVar *lhs_index(Sema *s, Node *p) {
  Node *nm = p->kind == N_RANGED ? p->a : p;
  if (nm->kind != N_NAME) { ERR(s, p->span, E_LHS_POSITION); return NULL; }
  if (env_find(s->ienv, nm->name)) { ERR(s, nm->span, E_LHS_REPEATED, nm->name); return NULL; }
  IndexVar *v = new_var(s, s->ienv, nm->name, nm->span);
  v->on_lhs = 1;
  nm->sym = v;
  nm->type = type_scalar(s->arena, ELEM_I64);
  add_candidate(s, nm->name);
  Dim d;
  if (p->kind == N_RANGED && sema_dim_of_expr(s, p->b, 0, &d)) give_range(s, v, d, p->b->span, range_text(s, p), 1);
  return v;
}

/* A position on the left that is a value, not a new index: an integer
 * expression, or a name that is an integer variable in scope (`U[t, q] =
 * x[q]` with a loop counter t writes row t; `S[0, 1] = 0.0`). */
int sema_lhs_fixed(Sema *s, const Node *p) {
  if (p->kind == N_GROUP || p->kind == N_RANGED) return 0;
  if (p->kind != N_NAME) return 1;
  Symbol *y = sema_lookup(s, p->name);
  return y && y->kind == SYM_VAR && y->type && y->type->kind == T_TENSOR && y->type->rank == 0 &&
         elem_is_int(y->type->elem);
}

/* Returns the number of fixed positions (typed later: fixed_positions). */
static int lhs_setup(Sema *s, Node *lhs) {
  int fixed = 0;
  for (int i = 0; i < lhs->list.n; i++) {
    Node *p = lhs->list.items[i];
    if (p->kind == N_GROUP) {
      for (int k = 0; k < p->list.n; k++) lhs_index(s, p->list.items[k]);
    } else if (sema_lhs_fixed(s, p)) {
      fixed++;
    } else {
      lhs_index(s, p);
    }
  }
  return fixed;
}

/* The first index of the statement that e reads, or NULL. */
static Node *reads_index(Node *e) {
  if (!e) return NULL;
  if (e->kind == N_NAME && e->sym && ((IndexVar *)e->sym)->kind == SYM_INDEX) return e;
  Node *r = reads_index(e->a);
  if (!r) r = reads_index(e->b);
  for (int i = 0; !r && i < e->list.n; i++) r = reads_index(e->list.items[i]);
  return r;
}

/* Whether name is a position of an access in e (`B[j, k]`). */
static int in_access_position(const Node *e, const char *name) {
  if (!e) return 0;
  if (e->kind == N_INDEX)
    for (int i = 0; i < e->list.n; i++) {
      const Node *p = e->list.items[i];
      if (p->kind == N_NAME && p->name == name) return 1;
    }
  if (in_access_position(e->a, name) || in_access_position(e->b, name) || in_access_position(e->c, name)) return 1;
  for (int i = 0; i < e->list.n; i++)
    if (in_access_position(e->list.items[i], name)) return 1;
  return 0;
}

/* Types the fixed positions: integer scalars that use no index. A name
 * that is also an index on the right (`C[i, k] = A[i, j] * B[j, k]` with
 * a variable k) is read as the variable, and a warning says so. */
static void fixed_positions(Sema *s, Node *lhs, Node *rhs) {
  for (int i = 0; i < lhs->list.n; i++) {
    Node *p = lhs->list.items[i], *ix;
    if (!sema_lhs_fixed(s, p)) continue;
    Type *t = sema_expr(s, p);
    if (type_is_error(t)) continue;
    if ((ix = reads_index(p))) { ERR(s, ix->span, E_FIXED_USES_INDEX, ix->name); continue; }
    if (t->kind != T_TENSOR || t->rank != 0 || !elem_is_int(t->elem)) {
      ERR(s, p->span, E_FIXED_NOT_INT, type_to_string(s->arena, t));
      continue;
    }
    Symbol *y = p->kind == N_NAME ? p->sym : NULL;
    if (y && !(y->def && y->def->kind == N_FOR) && in_access_position(rhs, p->name))
      ERR(s, p->span, W_FIXED_NAME, p->name, lhs->a->name, p->name, p->name);
  }
}

/* X[i, j] += e: the left indices range over the existing X. Returns 0
 * when there is no such X (check_pluseq reports it). */
static int lhs_existing(Sema *s, Node *lhs) {
  Symbol *y = sema_lookup(s, lhs->a->name);
  if (!y || y->kind != SYM_VAR) return 0;
  Type *t = y->type;
  if (type_is_error(t) || t->kind != T_TENSOR || t->rank < 0) return 1;
  if (t->rank != lhs->list.n) {
    ERR(s, lhs->span, E_RANK_MISMATCH, y->name, t->rank, lhs->list.n, lhs->list.n == 1 ? "" : "s");
    return 1;
  }
  for (int i = 0; i < lhs->list.n; i++) {
    Node *p = lhs->list.items[i], *nm = p->kind == N_RANGED ? p->a : p;
    if (p->kind == N_GROUP) group_position(s, p, t->dims[i], y->name);
    else if (nm->kind == N_NAME && nm->sym) give_range(s, nm->sym, t->dims[i], p->span, y->name, 0);
  }
  return 1;
}

/* The defined tensor's shape: one dimension per position, a group's
 * dimension the product of its ranges. */
static Type *lhs_type(Sema *s, Node *lhs, int elem, const char *tparam) {
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(lhs->list.n + 1));
  for (int i = 0; i < lhs->list.n; i++) {
    Node *p = lhs->list.items[i];
    int n = p->kind == N_GROUP ? p->list.n : 1;
    dims[i] = dim_const(1);
    for (int k = 0; k < n; k++) {
      Node *it = p->kind == N_GROUP ? p->list.items[k] : p;
      Node *nm = it->kind == N_RANGED ? it->a : it;
      IndexVar *v = nm->sym;
      if (!v || !v->has_range || !dim_mul(dims[i], v->range, &dims[i])) return sema_error_type(s);
    }
  }
  Type *t = type_tensor(s->arena, elem, lhs->list.n, dims);
  t->tparam = tparam;
  return t;
}

/* X[t, j] = e writes into the existing X: its shape, e's element type. */
static Type *fixed_type(Sema *s, Node *lhs, Type *t) {
  Symbol *y = sema_lookup(s, lhs->a->name);
  if (!y || y->kind != SYM_VAR || type_is_error(y->type) || y->type->rank != lhs->list.n) return sema_error_type(s);
  Type *r = type_tensor(s->arena, t->elem, y->type->rank, y->type->dims);
  r->tparam = t->tparam;
  return r;
}

/* Finds a rank > 0 operand inside an index expression, for the message. */
static Node *whole_tensor(Node *e) {
  if (!e || !e->type || e->kind == N_TYPE) return NULL;
  if ((e->kind == N_NAME || e->kind == N_CALL) && e->type->kind == T_TENSOR && e->type->rank > 0) return e;
  if (e->kind == N_INDEX) return NULL;
  Node *r = whole_tensor(e->a);
  if (!r && e->kind != N_CALL) r = whole_tensor(e->b);
  for (int i = 0; !r && i < e->list.n; i++) r = whole_tensor(e->list.items[i]);
  return r;
}

/* Whether e refers to an index of the current statement. */
static int uses_index(Sema *s, const Node *e) {
  if (!e || e->kind == N_TYPE) return 0;
  if (e->kind == N_NAME) {
    for (int i = 0; i < s->stmt_vars.n; i++)
      if (e->sym == s->stmt_vars.items[i]) return 1;
    return 0;
  }
  if (uses_index(s, e->a) || uses_index(s, e->b)) return 1;
  for (int i = 0; i < e->list.n; i++)
    if (uses_index(s, e->list.items[i])) return 1;
  return 0;
}

/* print(x[i] * y[i], A): each argument of a statement-level call that
 * holds indices is an index expression of its own. */
static Node *whole_tensor_in_args(Sema *s, Node *call) {
  if (call->kind != N_CALL) return NULL;
  for (int i = 0; i < call->list.n; i++) {
    Node *a = call->list.items[i], *w;
    if (uses_index(s, a) && (w = whole_tensor(a))) return w;
  }
  return NULL;
}

/* An index expression has a scalar value (at each point of its indices);
 * print(x[i] * y[i]) and friends: each argument is one. */
static int scalar_value(Sema *s, Node *st, Node *lhs, Type *t) {
  Node *w;
  if (!lhs && t->kind == T_VOID) w = whole_tensor_in_args(s, st->a);
  else if (!sema_value_ok(s, st->a, t)) return 0;
  else if (t->rank == 0) return 1;
  else if (!(w = whole_tensor(st->a))) w = st->a;
  if (!w) return 1;
  ERR(s, w->span, E_WHOLE_TENSOR, sema_node_text(s, w), type_to_string(s->arena, w->type), sema_node_text(s, w));
  return 0;
}

static void check_ranges(Sema *s) {
  for (int i = 0; i < s->stmt_vars.n; i++) {
    IndexVar *v = s->stmt_vars.items[i];
    if (v->has_range || v->reduce || reversed_range(s, v)) continue;
    if (v->on_lhs) ERR(s, v->range_span, E_LHS_NEEDS_RANGE, v->name, v->name);
    else ERR(s, v->range_span, E_INDEX_NO_RANGE, v->name);
    not_reversed_note(s, v);
  }
}

Type *sema_stmt_rhs(Sema *s, Node *st, Node *lhs) {
  IndexEnv *root = arena_alloc(s->arena, sizeof *root);
  s->ienv = root;
  s->stmt_vars = (PtrVec){0};
  s->candidates = (PtrVec){0};
  s->groups = (PtrVec){0};
  int errors = s->diag->nerrors;
  int known = 1, fixed = lhs ? lhs_setup(s, lhs) : 0;
  if (lhs && (st->op == ASSIGN_ADD || fixed)) known = lhs_existing(s, lhs);
  if (fixed && !known) ERR(s, lhs->a->span, E_FIXED_NEEDS_TENSOR, lhs->a->name);
  collect(s, st->a, 0);
  if (fixed && known) fixed_positions(s, lhs, st->a);
  Type *t = sema_expr(s, st->a);
  solve_groups(s);
  int indexed = lhs || root->vars.n > 0;
  /* an operand already in error gives no ranges, nor does a `+=` without
   * a target: say nothing more */
  if (s->diag->nerrors == errors && known && indexed && !type_is_error(t) && !scalar_value(s, st, lhs, t))
    t = sema_error_type(s);
  if (s->diag->nerrors == errors && known && !type_is_error(t)) check_ranges(s);
  if (s->diag->nerrors == errors && indexed) {
    for (int i = 0; i < root->vars.n; i++) {
      IndexVar *v = root->vars.items[i];
      if (v->implicit && !v->on_lhs && v->uses) place_sum(s, &st->a, v);
    }
    t = st->a->type;
  }
  s->ienv = NULL;
  if (!lhs || type_is_error(t)) return t;
  if (fixed) return fixed_type(s, lhs, t);
  return lhs_type(s, lhs, t->elem, t->tparam);
}

/* A value outside an assignment — a condition, a loop bound, a returned
 * value — may hold indices too: `if x[i] * x[i] > 1.0`. The slot may be
 * replaced by an implicit sum. */
Type *sema_index_value(Sema *s, Node **slot) {
  Node st;
  memset(&st, 0, sizeof st);
  st.kind = N_EXPR_STMT;
  st.span = (*slot)->span;
  st.a = *slot;
  Type *t = sema_stmt_rhs(s, &st, NULL);
  *slot = st.a;
  return t;
}
