/* sema_call.c — calls of user functions: arguments against parameter
 * types, binding of size names and type parameters, the result type. */
#include <string.h>
#include "sema_int.h"

enum { MAX_BIND = 64 };

typedef struct Bind {
  const char *name;     /* size name or type parameter */
  Dim dim;
  int elem;
  const char *tparam;
  Node *arg;            /* the argument that bound it */
  const char *param;
} Bind;

typedef struct Binds {
  Bind b[MAX_BIND];
  int n;
  Node *call;           /* for messages */
  const char *own_from[MAX_BIND], *own_to[MAX_BIND];   /* callee_size */
  int nown;
} Binds;

static Bind *find(Binds *bs, const char *name) {
  for (int i = 0; i < bs->n; i++)
    if (bs->b[i].name == name) return &bs->b[i];
  return NULL;
}

static Bind *add(Binds *bs, const char *name, Node *arg, const char *param) {
  if (bs->n == MAX_BIND) return NULL;
  Bind *b = &bs->b[bs->n++];
  memset(b, 0, sizeof *b);
  b->name = name;
  b->arg = arg;
  b->param = param;
  return b;
}

/* Replaces bound size names in d; leaves the unbound ones in *rest. */
static Dim subst(Binds *bs, Dim d, Dim *rest) {
  Dim out = dim_const(d.k);
  *rest = dim_const(1);
  for (int i = 0; i < d.n; i++) {
    Bind *b = find(bs, d.syms[i]);
    if (b) dim_mul(out, b->dim, &out);
    else dim_mul(*rest, dim_sym(d.syms[i]), rest);
  }
  return out;
}

/* One dimension of one argument: binds a new size name or checks it. */
/* A dimension as written in a parameter's type: 2*n, m. */
static const char *dim_text(Sema *s, Node *d) {
  if (d->kind == N_INT) return arena_printf(s->arena, "%lld", (long long)d->ival);
  if (d->kind == N_BINARY) return arena_printf(s->arena, "%s*%s", dim_text(s, d->a), dim_text(s, d->b));
  return d->kind == N_NAME ? d->name : "?";
}

/* K: f64[a*b, ...] given kron(A, B) of size n*p: a = n and b = p, factor
 * by factor in the written order. 0 when the factors do not pair up. */
static int bind_factors(Binds *bs, Dim pd, Node *arg, Node *param, int k) {
  DimFactor pf[DIM_MAX_FACTORS + 1], af[DIM_MAX_FACTORS + 1];
  int n = dim_pair_factors(pd, arg->type->dims[k], pf, af);
  for (int i = 0; i < n; i++) {
    Bind *b = pf[i].sym ? find(bs, pf[i].sym) : NULL;
    Dim have = b ? b->dim : dim_of_factor(pf[i]);
    if ((b || !pf[i].sym) && dim_cmp(have, dim_of_factor(af[i])) == DIM_DIFFERENT) return 0;
  }
  for (int i = 0; i < n; i++) {
    if (!pf[i].sym || find(bs, pf[i].sym)) continue;
    Bind *b = add(bs, pf[i].sym, arg, param->name);
    if (!b) return 0;
    b->dim = dim_of_factor(af[i]);
  }
  return n > 0;
}

/* The parameters that bound the sizes of a product n1*n2: "G1', 'G2"
 * inside the quotes of the message. */
static const char *binders(Sema *s, Binds *bs, Dim pd, const char *self) {
  const char *out = NULL, *seen[DIM_MAX_SYMS];
  int n = 0;
  for (int i = 0; i < pd.n; i++) {
    Bind *b = find(bs, pd.syms[i]);
    const char *p = b ? b->param : self;
    int dup = 0;
    for (int j = 0; j < n; j++) dup |= seen[j] == p;
    if (dup) continue;
    seen[n++] = p;
    out = out ? arena_printf(s->arena, "%s', '%s", out, p) : p;
  }
  return out ? out : self;
}

static int match_dim(Sema *s, Symbol *fn, Binds *bs, Dim pd, Node *arg, Node *param, int k) {
  Dim rest, known = subst(bs, pd, &rest), ad = arg->type->dims[k], q;
  const char *what = dim_text(s, param->a->list.items[k]);
  if (rest.n == 1 && dim_is_const(ad) && dim_is_const(known) && !dim_div(ad, known, &q)) {
    ERR(s, arg->span, E_SIZE_NOT_MULTIPLE, k, param->name, fn->name,
        dim_to_string(s->arena, ad), dim_to_string(s->arena, known));
    return 0;
  }
  if (rest.n == 1 && dim_div(ad, known, &q)) {
    Bind *b = add(bs, rest.syms[0], arg, param->name);
    if (b) b->dim = q;
    return b != NULL;
  }
  if (rest.n == 1) {   /* a quotient known only at run time: a new size,
                          checked for divisibility when the call runs */
    Bind *b = add(bs, rest.syms[0], arg, param->name);
    char *name = arena_printf(s->arena, "(%s/%s)", dim_to_string(s->arena, ad), dim_to_string(s->arena, known));
    if (b) b->dim = dim_sym(strtab_cstr(&s->c->names, name));
    return b != NULL;
  }
  if (rest.n >= 2 && bind_factors(bs, pd, arg, param, k)) return 1;
  if (rest.n >= 1) {
    ERR(s, arg->span, E_SIZE_UNBINDABLE, what, param->name);
    return 0;
  }
  if (dim_cmp(known, ad) != DIM_DIFFERENT) return 1;
  Bind *b = pd.n == 1 ? find(bs, pd.syms[0]) : NULL;
  ERR(s, arg->span, E_SIZE_MISMATCH, what, fn->name, dim_to_string(s->arena, known),
      b ? b->param : binders(s, bs, pd, param->name), dim_to_string(s->arena, ad), param->name);
  if (b && b->arg != arg) ERR(s, b->arg->span, N_SIZE_BOUND, what, dim_to_string(s->arena, b->dim));
  for (int i = 0; !b && i < pd.n; i++) {   /* n1*n2: where each factor came from */
    Bind *f = find(bs, pd.syms[i]);
    if (f && f->arg != arg) ERR(s, f->arg->span, N_SIZE_BOUND, pd.syms[i], dim_to_string(s->arena, f->dim));
  }
  return 0;
}

static const char *elem_text(int elem, const char *tparam) {
  return elem == ELEM_PARAM ? tparam : elem_name(elem);
}

/* Type parameters are bound by the first typed argument that uses them;
 * plain numbers (2.0) then adapt: axpy(2.0, x, y) with x: f32[n]. */
static void bind_tparams(Symbol *fn, Binds *bs, Node *call) {
  Node *def = fn->def;
  for (int i = 0; i < call->list.n; i++) {
    Node *arg = call->list.items[i], *param = def->list.items[i];
    Type *pt = param->type, *at = arg->type;
    if (type_is_error(pt) || type_is_error(at) || at->kind != T_TENSOR) continue;
    if (pt->elem != ELEM_PARAM || sema_is_weak(arg) || find(bs, pt->tparam)) continue;
    Bind *b = add(bs, pt->tparam, arg, param->name);
    if (!b) return;
    b->elem = at->elem;
    b->tparam = at->tparam;
  }
}

/* Element type of one argument against its parameter. */
static int match_elem(Sema *s, Symbol *fn, Binds *bs, Type *pt, Node *arg, Node *param) {
  Type *at = arg->type;
  const char *what = arena_printf(s->arena, "argument '%s' of '%s'", param->name, fn->name);
  if (pt->elem != ELEM_PARAM) {
    if (at->elem == pt->elem) return 1;
    if (sema_is_weak(arg)) return sema_adopt_literal(s, arg, pt->elem, NULL, what);
    ERR(s, arg->span, E_ARG_ELEM, param->name, fn->name, elem_name(pt->elem),
        type_to_string(s->arena, at));
    return 0;
  }
  Bind *b = find(bs, pt->tparam);
  if (!b) { /* only plain numbers use it: they keep their own type */
    b = add(bs, pt->tparam, arg, param->name);
    if (!b) return 0;
    b->elem = at->elem;
    b->tparam = at->tparam;
    return 1;
  }
  if (b->elem == at->elem && b->tparam == at->tparam) return 1;
  if (sema_is_weak(arg) && b->arg != arg) return sema_adopt_literal(s, arg, b->elem, b->tparam, what);
  ERR(s, arg->span, E_TPARAM_MISMATCH, pt->tparam, fn->name, elem_text(b->elem, b->tparam), b->param,
      elem_text(at->elem, at->tparam), param->name);
  return 0;
}

/* Rank and element type of one argument (its dimensions: match_dims). */
static int match_head(Sema *s, Symbol *fn, Binds *bs, Node *arg, Node *param) {
  Type *pt = param->type, *at = arg->type;
  if (type_is_error(at) || type_is_error(pt)) return 0;
  if (at->kind != T_TENSOR || at->rank < 0) {
    if (!sema_value_ok(s, arg, at)) return 0;
    ERR(s, arg->span, E_ARG_RANK, param->name, fn->name, pt->rank, type_to_string(s->arena, at));
    return 0;
  }
  if (at->rank != pt->rank) {
    ERR(s, arg->span, E_ARG_RANK, param->name, fn->name, pt->rank,
        arena_printf(s->arena, "%s (rank %d)", type_to_string(s->arena, at), at->rank));
    return 0;
  }
  return match_elem(s, fn, bs, pt, arg, param);
}

/* The dimensions of one argument that are products (n1*n2*n3, 2*n:
 * matched after every plain one, whichever parameter holds it), or not.
 * tir_build.c call_sizes binds in the same order. */
static int match_dims(Sema *s, Symbol *fn, Binds *bs, Node *arg, Node *param, int products) {
  Type *pt = param->type;
  for (int k = 0; k < pt->rank; k++)
    if (dim_is_product(pt->dims[k]) == products && !match_dim(s, fn, bs, pt->dims[k], arg, param, k)) return 0;
  return 1;
}

/* A result dimension that comes from data or a value inside the callee
 * (`E[i: n, j: n]` for a value n): a data size of the caller, set from the
 * shape the callee returns; the same dimension twice is one size. */
static Dim callee_size(Sema *s, Binds *bs, Dim d) {
  const char *text = dim_to_string(s->arena, d);
  for (int i = 0; i < bs->nown; i++)
    if (!strcmp(bs->own_from[i], text)) return dim_data_sym(bs->own_to[i]);
  const char *name = strtab_cstr(&s->c->names, arena_printf(s->arena, "%s.%s", bs->call->name, text));
  for (int i = 0; i < s->snap_names.n; i++)
    if (s->snap_names.items[i] == name)
      name = strtab_cstr(&s->c->names, arena_printf(s->arena, "%s.%s@%d:%d", bs->call->name, text,
                                                    bs->call->span.line, bs->call->span.col));
  ptrvec_push(s->arena, &s->snap_names, (void *)name);
  if (bs->nown < MAX_BIND) {
    bs->own_from[bs->nown] = text;
    bs->own_to[bs->nown++] = name;
  }
  return dim_data_sym(name);
}

/* The declared or inferred result, with the caller's sizes and types. */
static Type *subst_type(Sema *s, Binds *bs, Type *t) {
  if (t->kind == T_TUPLE) {
    Type **items = arena_alloc(s->arena, sizeof(Type *) * (size_t)t->n);
    for (int i = 0; i < t->n; i++) items[i] = subst_type(s, bs, t->items[i]);
    return type_tuple(s->arena, t->n, items);
  }
  if (t->kind != T_TENSOR) return t;
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(t->rank + 1));
  for (int i = 0; i < t->rank; i++) {
    Dim rest;
    dims[i] = subst(bs, t->dims[i], &rest);
    if (rest.n) {   /* a size only the callee knows: the call binds it */
      dims[i] = callee_size(s, bs, t->dims[i]);
      continue;
    }
    dim_mul(dims[i], rest, &dims[i]);
  }
  int elem = t->elem;
  const char *tp = t->tparam;
  Bind *b = elem == ELEM_PARAM ? find(bs, t->tparam) : NULL;
  if (b) { elem = b->elem; tp = b->tparam; }
  Type *r = type_tensor(s->arena, elem, t->rank, dims);
  r->tparam = tp;
  return r;
}

/* call = name "(" args ")" of a def */
Type *sema_call_user(Sema *s, Node *call, Symbol *fn) {
  Node *def = fn->def;
  if (!sema_check_def(s, fn)) {
    ERR(s, call->span, E_RECURSIVE, fn->name);
    return sema_error_type(s);
  }
  int np = def->list.n, na = call->list.n, ok = 1;
  if (np != na) {
    ERR(s, call->span, E_ARG_COUNT, fn->name, arena_printf(s->arena, "%d", np), np == 1 ? "" : "s", na);
    ERR(s, fn->span, N_DEFINED_HERE, fn->name);
    for (int i = 0; i < na; i++) sema_expr(s, call->list.items[i]);
    return sema_error_type(s);
  }
  Binds *bs = arena_alloc(s->arena, sizeof *bs);
  bs->call = call;
  for (int i = 0; i < na; i++) sema_expr(s, call->list.items[i]);
  bind_tparams(fn, bs, call);
  /* sizes from every plain dimension first, then the products: in
   * tt_linear(X: T[s, n1*n2*n3], G1: T[m1, n1, r1], ...) the cores after X
   * bind n1, n2, n3, and X's dimension is checked against their product */
  int *good = arena_alloc(s->arena, sizeof(int) * (size_t)(na + 1));
  for (int i = 0; i < na; i++) good[i] = match_head(s, fn, bs, call->list.items[i], def->list.items[i]);
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < na; i++)
      if (good[i]) good[i] = match_dims(s, fn, bs, call->list.items[i], def->list.items[i], pass);
  for (int i = 0; i < na; i++) ok &= good[i];
  if (!ok || !fn->result) return sema_error_type(s);
  if (fn->result->kind == T_VOID) return fn->result;
  return subst_type(s, bs, fn->result);
}
