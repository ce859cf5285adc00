/* kronla.c — linear algebra on Kronecker-structured matrices, solved from
 * the factors (docs/kronecker.md, "Structured linear algebra").
 *
 * Needs: TIR from tir_build. Runs before `structure`, so that the dense
 * products this pass no longer needs are dropped there or here.
 * A matrix argument V of solve, logdet, inv or cholesky whose one
 * definition (in the block of the call or one around it, its inputs not
 * written after it) is
 *   kron(F1, ..., Fk)                          (a Kronecker product)
 *   kron(F1, ..., Fk) + s * eye                (shifted, s index-free)
 *   kron(F1, eye, ..) + kron(eye, F2, ..) + .. (+ s * eye)  (a Kronecker sum)
 * — written with kron() and eye(), or as K[r, c] = kron(..)[r, c] +
 * s * f64(r == c) — is replaced by ops over the factors:
 *   solve(⊗F, B)   = (⊗F⁻¹) B, one inv per factor and one contraction;
 *   logdet(⊗F)     = Σ_t (N / n_t) logdet(F_t);
 *   inv(⊗F)        = ⊗ inv(F_t);  cholesky(⊗F) = ⊗ cholesky(F_t);
 *   the shifted product and the sum through eigh(F_t) = Q_t Λ_t Q_tᵀ:
 *   solve = (⊗Q) (Λ + s)⁻¹ (⊗Q)ᵀ B with Λ = ⊗Λ_t (product) or ⊕Λ_t (sum),
 *   logdet = Σ log(Λ + s).
 * The eigh forms check at run time that each factor is symmetric (eigh
 * reads one triangle); logdet checks that Λ + s > 0, as the dense logdet
 * would. Guarantees: the call's results are the same values as the dense
 * computation (to rounding); the dense V and its kron temporaries are
 * dropped when nothing else reads them. Each decision is recorded in
 * p->structures for `tnsc explain`. */
#include <string.h>
#include "passes.h"
#include "tir_make.h"

enum { MAXK = 8, MAXDEPTH = 64 };

/* ---- what a matrix is ---- */

/* One Kronecker term: factors f[0..k), NULL where the factor is eye. */
typedef struct Term {
  TirVar *f[MAXK];       /* NULL where the factor is eye */
  TirVar *v[MAXK];       /* the factors as read */
  TirVar *kron;          /* the product itself (its definition's output) */
} Term;

typedef enum FormKind { F_NONE, F_KRON, F_SHIFTED, F_SUM } FormKind;

typedef struct Form {
  FormKind kind;
  int k;                 /* factors per term */
  Term terms[MAXK];
  int nterms;
  const TirExpr *shift;  /* s of + s * eye, or NULL */
  Dim rows[MAXK], cols[MAXK];
  TirVar *fac[MAXK];     /* F_SHIFTED, F_SUM: the factor of each mode */
  PtrVec defs;           /* the ops that define V, for dropping them */
  int whole;             /* every summand of V's definition recognised */
} Form;

typedef struct Scope {
  TirBlock *b;
  int at;
} Scope;

typedef struct Ctx {
  TirProgram *p;
  TirFunc *f;
  Scope scope[MAXDEPTH];
  int depth;
  PtrVec replaced;       /* matrices whose definitions may now be dead */
} Ctx;

/* ---- reads and writes ---- */

/* Whether any variable read by x is written by b->ops[from..]. */
typedef struct Stable {
  const TirBlock *b;
  int from, changed;
} Stable;

static void note_written(const TirExpr *x, void *ud) {
  Stable *s = ud;
  if (x->kind != TX_ACCESS && x->kind != TX_READ) return;
  TirUses c = {x->var, 0, 0};
  tir_uses_block(s->b, s->from, &c);
  s->changed |= c.writes > 0;
}

static int inputs_change(const TirExpr *x, const TirBlock *b, int from) {
  Stable s = {b, from, 0};
  tir_expr_visit(x, note_written, &s);
  return s.changed;
}

/* The one EINSUM defining local v, in a block around the current op and
 * before it, its inputs unchanged after it; NULL if none. */
static TirOp *find_def(Ctx *c, const TirVar *v) {
  if (v->param || v->out_slot || tir_uses_func(c->f, v).writes != 1) return NULL;
  for (int d = c->depth - 1; d >= 0; d--) {
    TirBlock *b = c->scope[d].b;
    for (int i = 0; i < c->scope[d].at; i++) {
      TirOp *op = b->ops[i];
      if (op->out != v) continue;
      if (op->kind != TO_EINSUM || op->accumulate || op->partial || inputs_change(op->body, b, i + 1)) return NULL;
      return op;
    }
  }
  return NULL;
}

/* ---- recognising the forms ---- */

/* x reads v at exactly the indices r, c (in this order). */
static int reads_at(const TirExpr *x, const TirIndex *r, const TirIndex *c) {
  return x->kind == TX_ACCESS && x->var->type->rank == 2 && x->pos[0].kind == TP_INDEX &&
         x->pos[1].kind == TP_INDEX && x->pos[0].idx[0] == r && x->pos[1].idx[0] == c;
}

/* f64(r == c) (either order) */
static int is_delta(const TirExpr *x, const TirIndex *r, const TirIndex *c) {
  if (x->kind == TX_CONVERT) x = x->a;
  if (x->kind != TX_BINARY || x->op != OP_EQ || x->a->kind != TX_INDEX || x->b->kind != TX_INDEX) return 0;
  const TirIndex *u = x->a->idx[0], *w = x->b->idx[0];
  return (u == r && w == c) || (u == c && w == r);
}

/* v is eye(...): v[i, j] = f64(i == j) */
static int is_eye(Ctx *c, const TirVar *v) {
  if (v->type->rank != 2) return 0;
  const TirOp *d = find_def(c, v);
  return d && d->opos[0].kind == TP_INDEX && d->opos[1].kind == TP_INDEX &&
         is_delta(d->body, d->opos[0].idx[0], d->opos[1].idx[0]);
}

/* The factors of a kron definition d: K[(a0..), (b0..)] = F0[a0, b0] * ...
 * in that order (what tir_build writes for kron of matrices). */
static int kron_factors(Ctx *c, const TirOp *d, Form *fm, Term *t) {
  if (d->out->type->rank != 2 || d->opos[0].kind != TP_GROUP || d->opos[1].kind != TP_GROUP) return 0;
  int k = d->opos[0].n;
  if (k != d->opos[1].n || k > MAXK || (fm->k && fm->k != k)) return 0;
  const TirExpr *x = d->body, *stack[MAXK];
  int n = 0;
  while (x->kind == TX_BINARY && x->op == OP_MUL && n < MAXK) {
    stack[n++] = x->b;
    x = x->a;
  }
  if (n + 1 != k) return 0;
  stack[n++] = x;
  for (int t2 = 0; t2 < k; t2++) {
    const TirExpr *a = stack[k - 1 - t2];
    if (!reads_at(a, d->opos[0].idx[t2], d->opos[1].idx[t2])) return 0;
    if (fm->k && (dim_cmp(fm->rows[t2], a->var->type->dims[0]) != DIM_EQUAL ||
                  dim_cmp(fm->cols[t2], a->var->type->dims[1]) != DIM_EQUAL)) return 0;
    fm->rows[t2] = a->var->type->dims[0];
    fm->cols[t2] = a->var->type->dims[1];
    t->v[t2] = a->var;
    t->f[t2] = is_eye(c, a->var) ? NULL : a->var;
  }
  fm->k = k;
  return 1;
}

static int add_term(Ctx *c, const TirOp *d, Form *fm) {
  if (fm->nterms == MAXK) return 0;
  Term *t = &fm->terms[fm->nterms];
  memset(t, 0, sizeof *t);
  if (!kron_factors(c, d, fm, t)) return 0;
  t->kron = d->out;
  fm->nterms++;
  ptrvec_push(c->p->arena, &fm->defs, (void *)d);
  return 1;
}

/* index-free and movable: may be evaluated where the call is */
static int scalar_expr(const TirExpr *x) {
  return !tir_expr_uses_index(x) && tir_expr_movable(x) && elem_is_float(x->elem);
}

/* One summand of V[r, c] = ...: a kron product read at [r, c], or s * eye. */
static int add_summand(Ctx *c, const TirExpr *x, const TirIndex *r, const TirIndex *cc, Form *fm) {
  if (x->kind == TX_ACCESS && reads_at(x, r, cc)) {
    const TirOp *d = find_def(c, x->var);
    return d && add_term(c, d, fm);
  }
  if (x->kind != TX_BINARY || x->op != OP_MUL || fm->shift) return 0;
  for (int side = 0; side < 2; side++) {
    const TirExpr *s = side ? x->b : x->a, *e = side ? x->a : x->b;
    if (!scalar_expr(s)) continue;
    if (is_delta(e, r, cc) || (reads_at(e, r, cc) && is_eye(c, e->var))) {
      fm->shift = s;
      return 1;
    }
  }
  return 0;
}

/* K - s * eye: only the shift may be subtracted; it becomes -s */
static int sub_shift(Ctx *c, const TirExpr *x, const TirIndex *r, const TirIndex *cc, Form *fm) {
  int nterms = fm->nterms;
  if (fm->shift || !add_summand(c, x, r, cc, fm) || !fm->shift || fm->nterms != nterms) return 0;
  TirExpr *neg = tir_expr_new(c->p->arena, TX_UNARY, fm->shift->elem, fm->shift->span);
  neg->op = OP_NEG;
  neg->a = (TirExpr *)fm->shift;
  fm->shift = neg;
  return 1;
}

static int add_summands(Ctx *c, const TirExpr *x, const TirIndex *r, const TirIndex *cc, Form *fm) {
  if (x->kind == TX_BINARY && x->op == OP_ADD)
    return add_summands(c, x->a, r, cc, fm) && add_summands(c, x->b, r, cc, fm);
  if (x->kind == TX_BINARY && x->op == OP_SUB)
    return add_summands(c, x->a, r, cc, fm) && sub_shift(c, x->b, r, cc, fm);
  return add_summand(c, x, r, cc, fm);
}

static int square_factors(const Form *fm) {
  for (int t = 0; t < fm->k; t++)
    if (dim_cmp(fm->rows[t], fm->cols[t]) != DIM_EQUAL) return 0;
  return 1;
}

/* Which form the terms make (fm->kind). */
static void classify(Form *fm) {
  fm->kind = F_NONE;
  if (!fm->nterms || !square_factors(fm)) return;
  if (fm->nterms == 1) {
    for (int t = 0; t < fm->k; t++) {
      if (fm->shift && !fm->terms[0].f[t]) return;   /* kron(A, eye) + s I: not yet */
      fm->fac[t] = fm->terms[0].v[t];
    }
    fm->kind = fm->shift ? F_SHIFTED : F_KRON;
    return;
  }
  /* a Kronecker sum: term j has one factor, at a mode no other term has */
  if (fm->nterms != fm->k) return;
  memset(fm->fac, 0, sizeof fm->fac);
  for (int j = 0; j < fm->nterms; j++) {
    int at = -1;
    for (int t = 0; t < fm->k; t++)
      if (fm->terms[j].f[t]) {
        if (at >= 0) return;
        at = t;
      }
    if (at < 0 || fm->fac[at]) return;
    fm->fac[at] = fm->terms[j].f[at];
  }
  fm->kind = F_SUM;
}

static Form recognise(Ctx *c, const TirVar *v) {
  Form fm;
  memset(&fm, 0, sizeof fm);
  if (v->type->rank != 2 || !elem_is_float(v->type->elem)) return fm;
  TirOp *d = find_def(c, v);
  if (!d) return fm;
  if (d->opos[0].kind == TP_GROUP) {
    if (!add_term(c, d, &fm)) return fm;
  } else {
    if (d->opos[0].kind != TP_INDEX || d->opos[1].kind != TP_INDEX ||
        !add_summands(c, d->body, d->opos[0].idx[0], d->opos[1].idx[0], &fm))
      return fm;
    ptrvec_push(c->p->arena, &fm.defs, d);
  }
  fm.whole = 1;
  classify(&fm);
  return fm;
}

/* ---- building the replacement ---- */

typedef struct Gen {
  Ctx *c;
  Arena *a;
  TirOp *call;      /* the builtin replaced */
  TirOp **ops;      /* the ops in its place */
  int n, cap;
  int elem;
} Gen;

static void emit(Gen *g, TirOp *op) {
  if (g->n == g->cap) {
    int cap = g->cap ? 2 * g->cap : 16;
    TirOp **ops = arena_alloc(g->a, sizeof(TirOp *) * (size_t)cap);
    if (g->n) memcpy(ops, g->ops, sizeof(TirOp *) * (size_t)g->n);
    g->ops = ops;
    g->cap = cap;
  }
  g->ops[g->n++] = op;
}

static TirVar *var(Gen *g, const char *name, int elem, int rank, const Dim *dims) {
  return tir_var_new(g->a, g->c->f, name, type_tensor(g->a, elem, rank, (Dim *)dims));
}

static TirIndex *new_index(Gen *g, const char *name, int t, Dim range) {
  return tir_index_new(g->a, g->c->f, arena_printf(g->a, "%s%d", name, t), range);
}

/* results = builtin(args) at the call's place */
static TirOp *builtin(Gen *g, int id, TirVar *arg, TirVar *r0, TirVar *r1) {
  TirOp *op = tir_op_new(g->a, TO_BUILTIN, g->call->span);
  op->builtin = id;
  op->nargs = 1;
  op->args = arena_alloc(g->a, sizeof(TirVar *) * 2);
  op->args[0] = arg;
  op->strs = arena_alloc(g->a, sizeof(char *) * 2);
  op->results = arena_alloc(g->a, sizeof(TirVar *) * 2);
  op->results[0] = r0;
  op->results[1] = r1;
  op->nresults = r1 ? 2 : 1;
  op->loc = g->call->loc;
  emit(g, op);
  return op;
}

static TirPos group(Gen *g, TirIndex **idx, int n) {
  TirPos p;
  memset(&p, 0, sizeof p);
  p.kind = n == 1 ? TP_INDEX : TP_GROUP;
  p.n = n;
  p.idx = arena_alloc(g->a, sizeof(TirIndex *) * (size_t)n);
  memcpy(p.idx, idx, sizeof(TirIndex *) * (size_t)n);
  return p;
}

static TirPos one(Gen *g, TirIndex *i) {
  return group(g, &i, 1);
}

/* v[i, j] */
static TirExpr *at2(Gen *g, TirVar *v, TirIndex *i, TirIndex *j) {
  TirPos *pos = arena_alloc(g->a, sizeof(TirPos) * 2);
  pos[0] = one(g, i);
  pos[1] = one(g, j);
  return tir_make_access(g->a, v, pos, g->call->span);
}

static TirExpr *at1(Gen *g, TirVar *v, TirIndex *i) {
  TirPos *pos = arena_alloc(g->a, sizeof(TirPos));
  pos[0] = one(g, i);
  return tir_make_access(g->a, v, pos, g->call->span);
}

static TirExpr *mul(Gen *g, TirExpr *x, TirExpr *y) {
  return x ? tir_make_binary(g->a, OP_MUL, g->elem, x, y, g->call->span) : y;
}

static TirExpr *copy_expr(Arena *a, const TirExpr *x) {
  if (!x) return NULL;
  TirExpr *c = tir_expr_new(a, x->kind, x->elem, x->span);
  *c = *x;
  c->a = copy_expr(a, x->a);
  c->b = copy_expr(a, x->b);
  c->c = copy_expr(a, x->c);
  if (x->args && x->kind != TX_REDUCE) {
    c->args = arena_alloc(a, sizeof(TirExpr *) * (size_t)(x->n + 1));
    for (int i = 0; i < x->n; i++) c->args[i] = copy_expr(a, x->args[i]);
  }
  return c;
}

/* out[idx..] = body; rank 0 when n == 0 */
static TirOp *einsum(Gen *g, TirVar *out, TirIndex **idx, int n, TirExpr *body) {
  TirIndex **order = arena_alloc(g->a, sizeof(TirIndex *) * (size_t)(n + 1));
  if (n) memcpy(order, idx, sizeof(TirIndex *) * (size_t)n);
  TirOp *op = tir_make_einsum(g->a, out, order, n, body, g->call->span);
  emit(g, op);
  return op;
}

/* Indices over the factors' rows (cols: columns), one per mode. */
static void mode_indices(Gen *g, const Form *fm, const char *name, int cols, TirIndex **out) {
  for (int t = 0; t < fm->k; t++) out[t] = new_index(g, name, t, cols ? fm->cols[t] : fm->rows[t]);
}

/* Y[i1.., p] = sum(j..: M1[i1, j1] * .. * X[j1.., p]) (trans: M[j, i]).
 * flat: x is B[N(, m)] itself, read as X through a grouped position;
 * into: write result[N(, m)] through one (else a new X-shaped tensor).
 * The GEMM steps read and write such groups as views (gemm.h), so the
 * right-hand side is not copied into an unfolded tensor nor the result
 * folded back (two O(N) copies per call, 8% of a 32^3 GP solve). */
static TirVar *mode_products(Gen *g, const Form *fm, TirVar **m, int trans, TirVar *x, int flat, TirVar *into) {
  TirIndex *i[MAXK + 1], *j[MAXK];
  mode_indices(g, fm, "i", 0, i);
  mode_indices(g, fm, "j", 0, j);
  int xe = flat ? 1 : fm->k;   /* x's position of the extra column index */
  int extra = x->type->rank == xe + 1;
  Dim dims[MAXK + 1];
  for (int t = 0; t < fm->k; t++) dims[t] = fm->rows[t];
  if (extra) {
    dims[fm->k] = x->type->dims[xe];
    i[fm->k] = tir_index_new(g->a, g->c->f, "p", dims[fm->k]);
  }
  TirExpr *prod = NULL;
  TirPos *pos = arena_alloc(g->a, sizeof(TirPos) * (size_t)(fm->k + 2));
  for (int t = 0; t < fm->k; t++) {
    prod = mul(g, prod, trans ? at2(g, m[t], j[t], i[t]) : at2(g, m[t], i[t], j[t]));
    pos[t] = one(g, j[t]);
  }
  if (flat) pos[0] = group(g, j, fm->k);
  if (extra) pos[xe] = one(g, i[fm->k]);
  prod = mul(g, prod, tir_make_access(g->a, x, pos, g->call->span));
  TirIndex **red = arena_alloc(g->a, sizeof(TirIndex *) * (size_t)fm->k);
  memcpy(red, j, sizeof(TirIndex *) * (size_t)fm->k);
  TirVar *y = into ? into : var(g, NULL, g->elem, fm->k + extra, dims);
  TirOp *op = einsum(g, y, i, fm->k + extra, tir_make_reduce(g->a, RED_SUM, red, fm->k, prod, g->call->span));
  if (into) {
    op->opos = arena_alloc(g->a, sizeof(TirPos) * 2);
    op->opos[0] = group(g, i, fm->k);
    if (extra) op->opos[1] = one(g, i[fm->k]);
  }
  return y;
}

/* one builtin per factor: r[t] = id(F_t) */
static void per_factor(Gen *g, const Form *fm, int id, TirVar **r, int scalar) {
  for (int t = 0; t < fm->k; t++) {
    Dim d[2] = {fm->rows[t], fm->cols[t]};
    r[t] = var(g, NULL, g->elem, scalar ? 0 : 2, d);
    builtin(g, id, fm->fac[t], r[t], NULL);
  }
}

/* out[(i..), (j..)] = M1[i1, j1] * .. : a Kronecker product, which the
 * structure pass then keeps in factors for the contractions reading it */
static void kron_of(Gen *g, const Form *fm, TirVar **m, TirVar *out) {
  TirIndex *i[MAXK], *j[MAXK], *all[2 * MAXK];
  mode_indices(g, fm, "a", 0, i);
  mode_indices(g, fm, "b", 1, j);
  TirExpr *prod = NULL;
  for (int t = 0; t < fm->k; t++) {
    prod = mul(g, prod, at2(g, m[t], i[t], j[t]));
    all[t] = i[t];
    all[fm->k + t] = j[t];
  }
  TirOp *op = einsum(g, out, all, 2 * fm->k, prod);
  op->opos = arena_alloc(g->a, sizeof(TirPos) * 2);
  op->opos[0] = group(g, i, fm->k);
  op->opos[1] = group(g, j, fm->k);
}

/* f64(N / n_t): the product of the other factors' sizes */
static TirExpr *others(Gen *g, const Form *fm, int t) {
  TirExpr *x = NULL;
  for (int u = 0; u < fm->k; u++)
    if (u != t) x = mul(g, x, tir_make_convert(g->a, tir_make_dim(g->a, fm->rows[u], g->call->span), g->elem, g->call->span));
  return x ? x : tir_make_fconst(g->a, g->elem, 1.0, g->call->span);
}

/* assert(cond, msg) */
static void check(Gen *g, TirExpr *cond, const char *msg) {
  TirVar *ok = var(g, NULL, ELEM_BOOL, 0, NULL);
  einsum(g, ok, NULL, 0, cond);
  TirOp *op = tir_op_new(g->a, TO_BUILTIN, g->call->span);
  op->builtin = B_ASSERT;
  op->nargs = 1;
  op->args = arena_alloc(g->a, sizeof(TirVar *));
  op->args[0] = ok;
  op->msg = msg;
  op->loc = g->call->loc;
  emit(g, op);
}

/* F_t is symmetric to rounding: max|F - Fᵀ| <= tol * max|F| (eigh reads
 * one triangle; the dense computation reads both). */
static TirExpr *symmetric(Gen *g, const Form *fm, int t) {
  TirVar *F = fm->fac[t];
  TirIndex **r1 = arena_alloc(g->a, sizeof(TirIndex *) * 2), **r2 = arena_alloc(g->a, sizeof(TirIndex *) * 2);
  r1[0] = new_index(g, "si", t, fm->rows[t]);
  r1[1] = new_index(g, "sj", t, fm->rows[t]);
  r2[0] = new_index(g, "mi", t, fm->rows[t]);
  r2[1] = new_index(g, "mj", t, fm->rows[t]);
  Span sp = g->call->span;
  TirExpr *diff = tir_make_binary(g->a, OP_SUB, g->elem, at2(g, F, r1[0], r1[1]), at2(g, F, r1[1], r1[0]), sp);
  TirExpr *asym = tir_make_reduce(g->a, RED_MAX, r1, 2, tir_make_math1(g->a, B_ABS, diff, sp), sp);
  TirExpr *mag = tir_make_reduce(g->a, RED_MAX, r2, 2, tir_make_math1(g->a, B_ABS, at2(g, F, r2[0], r2[1]), sp), sp);
  double tol = g->elem == ELEM_F32 ? 1e-5 : 1e-12;
  TirExpr *lim = mul(g, tir_make_fconst(g->a, g->elem, tol, sp), mag);
  return tir_make_binary(g->a, OP_LE, ELEM_BOOL, asym, lim, sp);
}

/* ok = every factor is symmetric */
static TirVar *all_symmetric(Gen *g, const Form *fm) {
  TirExpr *all = NULL;
  for (int t = 0; t < fm->k; t++) {
    TirExpr *e = symmetric(g, fm, t);
    all = all ? tir_make_binary(g->a, OP_AND, ELEM_BOOL, all, e, g->call->span) : e;
  }
  TirVar *ok = var(g, NULL, ELEM_BOOL, 0, NULL);
  einsum(g, ok, NULL, 0, all);
  return ok;
}

static TirExpr *index_value(Gen *g, TirIndex *i) {
  TirExpr *x = tir_expr_new(g->a, TX_INDEX, ELEM_I64, g->call->span);
  x->idx = arena_alloc(g->a, sizeof(TirIndex *));
  x->idx[0] = i;
  return x;
}

/* f64(i == j) */
static TirExpr *delta_at(Gen *g, TirIndex *i, TirIndex *j) {
  Span sp = g->call->span;
  return tir_make_convert(g->a, tir_make_binary(g->a, OP_EQ, ELEM_BOOL, index_value(g, i), index_value(g, j), sp), g->elem, sp);
}

/* The dense matrix and the call on it, for factors that turn out not to
 * be symmetric: V[(a..), (b..)] = Σ_terms Π F[a_t, b_t] + s Π δ(a_t, b_t). */
static void dense_call(Gen *g, const Form *fm) {
  TirIndex *i[MAXK], *j[MAXK], *all[2 * MAXK];
  mode_indices(g, fm, "a", 0, i);
  mode_indices(g, fm, "b", 1, j);
  Span sp = g->call->span;
  TirExpr *sum = NULL, *delta = NULL;
  for (int t = 0; t < fm->k; t++) {
    all[t] = i[t];
    all[fm->k + t] = j[t];
    delta = mul(g, delta, delta_at(g, i[t], j[t]));
  }
  for (int n = 0; n < fm->nterms; n++) {
    TirExpr *prod = NULL;
    for (int t = 0; t < fm->k; t++)
      prod = mul(g, prod, fm->terms[n].f[t] ? at2(g, fm->terms[n].f[t], i[t], j[t]) : delta_at(g, i[t], j[t]));
    sum = sum ? tir_make_binary(g->a, OP_ADD, g->elem, sum, prod, sp) : prod;
  }
  if (fm->shift)
    sum = tir_make_binary(g->a, OP_ADD, g->elem, sum,
                          mul(g, tir_make_convert(g->a, copy_expr(g->a, fm->shift), g->elem, sp), delta), sp);
  TirVar *v = g->call->args[0];
  TirVar *d = var(g, v->name, g->elem, 2, v->type->dims);
  TirOp *op = einsum(g, d, all, 2 * fm->k, sum);
  op->opos = arena_alloc(g->a, sizeof(TirPos) * 2);
  op->opos[0] = group(g, i, fm->k);
  op->opos[1] = group(g, j, fm->k);
  TirOp *c = tir_op_new(g->a, TO_BUILTIN, sp);
  *c = *g->call;
  c->args = arena_alloc(g->a, sizeof(TirVar *) * (size_t)(c->nargs + 1));
  memcpy(c->args, g->call->args, sizeof(TirVar *) * (size_t)c->nargs);
  c->args[0] = d;
  emit(g, c);
}

/* Λ + s at a[..]: the product (shifted form) or the sum of l_t[a_t] */
static TirExpr *eigenvalue(Gen *g, const Form *fm, TirVar **l, TirIndex **a) {
  TirExpr *x = NULL;
  for (int t = 0; t < fm->k; t++) {
    TirExpr *e = at1(g, l[t], a[t]);
    x = !x ? e : tir_make_binary(g->a, fm->kind == F_SUM ? OP_ADD : OP_MUL, g->elem, x, e, g->call->span);
  }
  if (fm->shift)
    x = tir_make_binary(g->a, OP_ADD, g->elem, x,
                        tir_make_convert(g->a, copy_expr(g->a, fm->shift), g->elem, g->call->span), g->call->span);
  return x;
}

/* (l_t, Q_t) = eigh(F_t) after the symmetry checks */
static void eigh_factors(Gen *g, const Form *fm, TirVar **l, TirVar **Q) {
  for (int t = 0; t < fm->k; t++) {
    Dim d[2] = {fm->rows[t], fm->rows[t]};
    l[t] = var(g, NULL, g->elem, 1, d);
    Q[t] = var(g, NULL, g->elem, 2, d);
    builtin(g, B_EIGH, fm->fac[t], l[t], Q[t]);
  }
}

static const char *gen_solve(Gen *g, const Form *fm) {
  TirVar *b = g->call->args[1], *x = g->call->results[0], *m[MAXK];
  if (fm->kind == F_KRON) {
    per_factor(g, fm, B_INV, m, 0);
    mode_products(g, fm, m, 0, b, 1, x);
    return "solved factor by factor: (inv(F1) x .. x inv(Fk)) B";
  }
  TirVar *l[MAXK];
  eigh_factors(g, fm, l, m);
  TirVar *t = mode_products(g, fm, m, 1, b, 1, NULL);
  TirIndex **a = arena_alloc(g->a, sizeof(TirIndex *) * (MAXK + 1));   /* the positions point into it */
  mode_indices(g, fm, "a", 0, a);
  int extra = t->type->rank == fm->k + 1;
  if (extra) a[fm->k] = tir_index_new(g->a, g->c->f, "p", t->type->dims[fm->k]);
  TirPos *pos = tir_make_positions(g->a, a, fm->k + extra);
  TirVar *u = var(g, NULL, g->elem, t->type->rank, t->type->dims);
  einsum(g, u, a, fm->k + extra,
         tir_make_binary(g->a, OP_DIV, g->elem, tir_make_access(g->a, t, pos, g->call->span),
                         eigenvalue(g, fm, l, a), g->call->span));
  mode_products(g, fm, m, 0, u, 0, x);
  return "solved through eigh of each factor: Q (L + s)^-1 Q^T B with Q = Q1 x .. x Qk";
}

static const char *gen_logdet(Gen *g, const Form *fm) {
  TirVar *out = g->call->results[0];
  if (fm->kind == F_KRON) {
    TirVar *ld[MAXK];
    per_factor(g, fm, B_LOGDET, ld, 1);
    TirExpr *sum = NULL;
    for (int t = 0; t < fm->k; t++) {
      TirExpr *term = mul(g, others(g, fm, t), tir_make_read(g->a, ld[t], g->call->span));
      sum = sum ? tir_make_binary(g->a, OP_ADD, g->elem, sum, term, g->call->span) : term;
    }
    einsum(g, out, NULL, 0, sum);
    return "from the factors: sum of (N / n_t) logdet(F_t)";
  }
  TirVar *l[MAXK], *Q[MAXK];
  eigh_factors(g, fm, l, Q);
  TirIndex **a = arena_alloc(g->a, sizeof(TirIndex *) * MAXK), **a2 = arena_alloc(g->a, sizeof(TirIndex *) * MAXK);
  mode_indices(g, fm, "a", 0, a);
  mode_indices(g, fm, "e", 0, a2);
  Span sp = g->call->span;
  TirExpr *low = tir_make_reduce(g->a, RED_MIN, a2, fm->k, eigenvalue(g, fm, l, a2), sp);
  check(g, tir_make_binary(g->a, OP_GT, ELEM_BOOL, low, tir_make_fconst(g->a, g->elem, 0.0, sp), sp),
        "logdet: matrix is not positive definite (use slogdet for a general matrix)");
  einsum(g, out, NULL, 0, tir_make_reduce(g->a, RED_SUM, a, fm->k, tir_make_math1(g->a, B_LOG, eigenvalue(g, fm, l, a), sp), sp));
  return "from the eigenvalues of the factors: sum of log(L + s)";
}

static TirExpr *power(Gen *g, TirExpr *x, TirExpr *y) {
  TirExpr *e = tir_make_math1(g->a, B_POW, x, g->call->span);
  e->n = 2;
  TirExpr **args = arena_alloc(g->a, sizeof(TirExpr *) * 3);
  args[0] = x;
  args[1] = y;
  e->args = args;
  return e;
}

/* det(⊗A) = Π det(A_t)^(N/n_t); slogdet: the signs likewise, the logs
 * Σ (N/n_t) log|det A_t| */
static const char *gen_det(Gen *g, const Form *fm) {
  Span sp = g->call->span;
  TirExpr *sign = NULL, *logs = NULL;
  for (int t = 0; t < fm->k; t++) {
    TirVar *d = var(g, NULL, g->elem, 0, NULL), *l = NULL;
    if (g->call->builtin == B_SLOGDET) l = var(g, NULL, g->elem, 0, NULL);
    builtin(g, g->call->builtin, fm->fac[t], d, l);
    TirExpr *p = power(g, tir_make_read(g->a, d, sp), others(g, fm, t));
    sign = sign ? tir_make_binary(g->a, OP_MUL, g->elem, sign, p, sp) : p;
    if (l) {
      TirExpr *x = mul(g, others(g, fm, t), tir_make_read(g->a, l, sp));
      logs = logs ? tir_make_binary(g->a, OP_ADD, g->elem, logs, x, sp) : x;
    }
  }
  einsum(g, g->call->results[0], NULL, 0, sign);
  if (logs) einsum(g, g->call->results[1], NULL, 0, logs);
  return logs ? "from the factors: signs multiplied, sum of (N / n_t) log|det F_t|"
              : "from the factors: product of det(F_t)^(N / n_t)";
}

/* det, slogdet of the shifted and sum forms from the eigenvalues μ of
 * the factors' eigh (Λ as in eigenvalue()): det = Π μ; slogdet's sign
 * Π sign(μ) (0 when one is 0, as the dense LU gives) and Σ log|μ|. */
static const char *gen_det_eig(Gen *g, const Form *fm) {
  TirVar *l[MAXK], *Q[MAXK];
  eigh_factors(g, fm, l, Q);
  Span sp = g->call->span;
  TirIndex **a = arena_alloc(g->a, sizeof(TirIndex *) * MAXK), **a2 = arena_alloc(g->a, sizeof(TirIndex *) * MAXK);
  mode_indices(g, fm, "a", 0, a);
  mode_indices(g, fm, "e", 0, a2);
  if (g->call->builtin == B_DET) {
    einsum(g, g->call->results[0], NULL, 0, tir_make_reduce(g->a, RED_PROD, a, fm->k, eigenvalue(g, fm, l, a), sp));
    return "from the eigenvalues of the factors: product of (L + s)";
  }
  TirExpr *zero = tir_make_fconst(g->a, g->elem, 0.0, sp);
  TirExpr *pos = tir_make_convert(g->a, tir_make_binary(g->a, OP_GT, ELEM_BOOL, eigenvalue(g, fm, l, a), zero, sp), g->elem, sp);
  TirExpr *neg = tir_make_convert(g->a, tir_make_binary(g->a, OP_LT, ELEM_BOOL, eigenvalue(g, fm, l, a),
                                                        tir_make_fconst(g->a, g->elem, 0.0, sp), sp), g->elem, sp);
  TirExpr *sign = tir_make_binary(g->a, OP_SUB, g->elem, pos, neg, sp);
  einsum(g, g->call->results[0], NULL, 0, tir_make_reduce(g->a, RED_PROD, a, fm->k, sign, sp));
  TirExpr *lg = tir_make_math1(g->a, B_LOG, tir_make_math1(g->a, B_ABS, eigenvalue(g, fm, l, a2), sp), sp);
  einsum(g, g->call->results[1], NULL, 0, tir_make_reduce(g->a, RED_SUM, a2, fm->k, lg, sp));
  return "from the eigenvalues of the factors: product of the signs of (L + s), sum of log|L + s|";
}

/* inv, cholesky: the Kronecker product of the factors' results */
static const char *gen_each(Gen *g, const Form *fm) {
  TirVar *m[MAXK];
  per_factor(g, fm, g->call->builtin, m, 0);
  kron_of(g, fm, m, g->call->results[0]);
  return g->call->builtin == B_INV ? "kron of the factors' inverses" : "kron of the factors' Cholesky factors";
}

static TirExpr *i64c(Gen *g, int64_t v) {
  TirExpr *x = tir_expr_new(g->a, TX_CONST, ELEM_I64, g->call->span);
  x->ival = v;
  return x;
}

/* eigh: the eigenvalues Λ (⊗Λ_t, ⊕Λ_t, + s) sorted ascending as the dense
 * eigh gives them, by counting (rank[a] = how many come before a; O(N²),
 * against the dense O(N³)), and the eigenvectors ⊗Q_t with their columns
 * in the same order: V[(i..), q] = Π Q_t[i_t, digit t of perm[q]]. */
static const char *gen_eigh(Gen *g, const Form *fm) {
  TirVar *l[MAXK], *Q[MAXK];
  eigh_factors(g, fm, l, Q);
  Span sp = g->call->span;
  TirVar *w = g->call->results[0], *V = g->call->results[1];
  TirIndex **a = arena_alloc(g->a, sizeof(TirIndex *) * MAXK);
  mode_indices(g, fm, "a", 0, a);
  TirVar *lam = var(g, NULL, g->elem, 1, w->type->dims);
  TirOp *op = einsum(g, lam, a, fm->k, eigenvalue(g, fm, l, a));
  op->opos = arena_alloc(g->a, sizeof(TirPos));
  op->opos[0] = group(g, a, fm->k);
  Dim N = w->type->dims[0];
  /* rank[b0] = sum(b1: lam[b1] < lam[b0] || (lam[b1] == lam[b0] && b1 < b0)) */
  TirIndex *b0 = tir_index_new(g->a, g->c->f, "b", N), **b1 = arena_alloc(g->a, sizeof(TirIndex *));
  b1[0] = tir_index_new(g->a, g->c->f, "c", N);
  TirExpr *lt = tir_make_binary(g->a, OP_LT, ELEM_BOOL, at1(g, lam, b1[0]), at1(g, lam, b0), sp);
  TirExpr *eq = tir_make_binary(g->a, OP_EQ, ELEM_BOOL, at1(g, lam, b1[0]), at1(g, lam, b0), sp);
  TirExpr *before = tir_make_binary(g->a, OP_LT, ELEM_BOOL, index_value(g, b1[0]), index_value(g, b0), sp);
  TirExpr *cond = tir_make_binary(g->a, OP_OR, ELEM_BOOL, lt, tir_make_binary(g->a, OP_AND, ELEM_BOOL, eq, before, sp), sp);
  TirVar *rank = var(g, NULL, ELEM_I64, 1, &N);
  einsum(g, rank, &b0, 1, tir_make_reduce(g->a, RED_SUM, b1, 1, tir_make_convert(g->a, cond, ELEM_I64, sp), sp));
  /* perm[q] = sum(a: a * (rank[a] == q)): the a that comes q-th */
  TirIndex *q = tir_index_new(g->a, g->c->f, "q", N), **r = arena_alloc(g->a, sizeof(TirIndex *));
  r[0] = tir_index_new(g->a, g->c->f, "r", N);
  TirExpr *hit = tir_make_convert(g->a, tir_make_binary(g->a, OP_EQ, ELEM_BOOL, at1(g, rank, r[0]), index_value(g, q), sp), ELEM_I64, sp);
  TirVar *perm = var(g, NULL, ELEM_I64, 1, &N);
  einsum(g, perm, &q, 1, tir_make_reduce(g->a, RED_SUM, r, 1, tir_make_binary(g->a, OP_MUL, ELEM_I64, index_value(g, r[0]), hit, sp), sp));
  /* w[q] = lam[perm[q]] */
  TirIndex *q2 = tir_index_new(g->a, g->c->f, "q", N);
  TirPos *pp = arena_alloc(g->a, sizeof(TirPos));
  pp[0].kind = TP_EXPR;
  pp[0].e = at1(g, perm, q2);
  einsum(g, w, &q2, 1, tir_make_access(g->a, lam, pp, sp));
  /* V[(i..), q] = Π Q_t[i_t, (perm[q] / stride_t) % n_t] */
  TirIndex *i[MAXK + 1];
  mode_indices(g, fm, "v", 0, i);
  i[fm->k] = tir_index_new(g->a, g->c->f, "q", N);
  TirExpr *prod = NULL, *stride = i64c(g, 1);
  for (int t = fm->k - 1; t >= 0; t--) {
    TirExpr *digit = tir_make_binary(g->a, OP_MOD, ELEM_I64,
                                     tir_make_binary(g->a, OP_DIV, ELEM_I64, at1(g, perm, i[fm->k]), copy_expr(g->a, stride), sp),
                                     tir_make_dim(g->a, fm->rows[t], sp), sp);
    TirPos *pos = arena_alloc(g->a, sizeof(TirPos) * 2);
    pos[0] = one(g, i[t]);
    pos[1].kind = TP_EXPR;
    pos[1].e = digit;
    TirExpr *x = tir_make_access(g->a, Q[t], pos, sp);
    prod = prod ? tir_make_binary(g->a, OP_MUL, g->elem, x, prod, sp) : x;
    stride = tir_make_binary(g->a, OP_MUL, ELEM_I64, stride, tir_make_dim(g->a, fm->rows[t], sp), sp);
  }
  op = einsum(g, V, i, fm->k + 1, prod);
  op->opos = arena_alloc(g->a, sizeof(TirPos) * 2);
  op->opos[0] = group(g, i, fm->k);
  op->opos[1] = one(g, i[fm->k]);
  return "eigh of each factor; the eigenvalues sorted by counting (O(N^2)), the eigenvectors the columns of Q1 x .. x Qk in that order";
}

/* ---- a sum of Kronecker products read inside a contraction ---- */

/* A copy of x with its own position and index arrays (the passes after
 * this one rewrite positions in place). */
static TirExpr *deep_copy(Arena *a, const TirExpr *x) {
  if (!x) return NULL;
  TirExpr *c = tir_expr_new(a, x->kind, x->elem, x->span);
  *c = *x;
  c->a = deep_copy(a, x->a);
  c->b = deep_copy(a, x->b);
  c->c = deep_copy(a, x->c);
  if (x->args && x->kind != TX_REDUCE) {
    c->args = arena_alloc(a, sizeof(TirExpr *) * (size_t)(x->n + 1));
    for (int i = 0; i < x->n; i++) c->args[i] = deep_copy(a, x->args[i]);
  }
  if (x->idx) {
    int n = x->kind == TX_REDUCE ? x->n : 1;
    c->idx = arena_alloc(a, sizeof(TirIndex *) * (size_t)(n + 1));
    memcpy(c->idx, x->idx, sizeof(TirIndex *) * (size_t)n);
  }
  if (x->kind == TX_ACCESS) {
    int r = x->var->type->rank;
    c->pos = arena_alloc(a, sizeof(TirPos) * (size_t)(r + 1));
    for (int k = 0; k < r; k++) {
      c->pos[k] = x->pos[k];
      if (x->pos[k].kind == TP_EXPR) {
        c->pos[k].e = deep_copy(a, x->pos[k].e);
        continue;
      }
      c->pos[k].idx = arena_alloc(a, sizeof(TirIndex *) * (size_t)x->pos[k].n);
      memcpy(c->pos[k].idx, x->pos[k].idx, sizeof(TirIndex *) * (size_t)x->pos[k].n);
    }
  }
  return c;
}

/* The slot holding the read of v among the factors of product *x, looking
 * inside one sum among them (*red, and the slot holding it, *redslot). */
static TirExpr **factor_slot(TirExpr **x, const TirVar *v, TirExpr ***redslot) {
  if ((*x)->kind == TX_ACCESS && (*x)->var == v) return x;
  if ((*x)->kind == TX_REDUCE && (*x)->reduce == RED_SUM && !*redslot) {
    *redslot = x;
    TirExpr **s = factor_slot(&(*x)->a, v, redslot);
    if (!s) *redslot = NULL;
    return s;
  }
  if ((*x)->kind != TX_BINARY || (*x)->op != OP_MUL) return NULL;
  TirExpr **s = factor_slot(&(*x)->a, v, redslot);
  return s ? s : factor_slot(&(*x)->b, v, redslot);
}

/* Index `from` becomes `to` in x (positions and values). */
static void rename_index(TirExpr *x, const TirIndex *from, TirIndex *to) {
  if (!x) return;
  if (x->kind == TX_INDEX && x->idx[0] == from) x->idx[0] = to;
  if (x->kind == TX_ACCESS)
    for (int k = 0; k < x->var->type->rank; k++) {
      if (x->pos[k].kind == TP_EXPR) rename_index(x->pos[k].e, from, to);
      else for (int t = 0; t < x->pos[k].n; t++)
        if (x->pos[k].idx[t] == from) x->pos[k].idx[t] = to;
    }
  rename_index(x->a, from, to);
  rename_index(x->b, from, to);
  rename_index(x->c, from, to);
  for (int i = 0; x->args && x->kind != TX_REDUCE && i < x->n; i++) rename_index(x->args[i], from, to);
}

static int reduces(const TirExpr *red, const TirIndex *i) {
  for (int k = 0; red && k < red->n; k++)
    if (red->idx[k] == i) return 1;
  return 0;
}

static int reads_var(const TirExpr *x, const TirVar *v) {
  TirUses n = {v, 0, 0};
  tir_uses_expr(x, &n);
  return n.reads;
}

/* The slot of the top-level summand of *x (through + and -) that reads v. */
static TirExpr **summand(TirExpr **x, const TirVar *v) {
  while ((*x)->kind == TX_BINARY && ((*x)->op == OP_ADD || (*x)->op == OP_SUB))
    x = reads_var((*x)->b, v) ? &(*x)->b : &(*x)->a;
  return x;
}

/* A copy of the consumer op; *slot: where its read of v is, *red: the
 * slot of the sum around it (NULL: none). A later copy keeps only the
 * summand reading v (negated under a minus): the other summands are in
 * the first. */
static TirOp *consumer_copy(Ctx *c, const TirOp *op, const TirVar *v, int later, TirExpr ***slot, TirExpr ***red) {
  TirOp *n = tir_op_new(c->p->arena, TO_EINSUM, op->span);
  *n = *op;
  n->body = deep_copy(c->p->arena, op->body);
  n->opos = arena_alloc(c->p->arena, sizeof(TirPos) * (size_t)(op->out->type->rank + 1));
  for (int k = 0; k < op->out->type->rank; k++) {
    n->opos[k] = op->opos[k];
    if (op->opos[k].kind != TP_EXPR) {
      n->opos[k].idx = arena_alloc(c->p->arena, sizeof(TirIndex *) * (size_t)op->opos[k].n);
      memcpy(n->opos[k].idx, op->opos[k].idx, sizeof(TirIndex *) * (size_t)op->opos[k].n);
    }
  }
  n->oidx = arena_alloc(c->p->arena, sizeof(TirIndex *) * (size_t)(op->noidx + 1));
  memcpy(n->oidx, op->oidx, sizeof(TirIndex *) * (size_t)op->noidx);
  if (later) {
    int neg = 0;
    for (TirExpr *x = n->body; x->kind == TX_BINARY && (x->op == OP_ADD || x->op == OP_SUB);) {
      int inb = reads_var(x->b, v) > 0;
      neg ^= inb && x->op == OP_SUB;
      x = n->body = inb ? x->b : x->a;
    }
    if (neg) {
      TirExpr *u = tir_expr_new(c->p->arena, TX_UNARY, n->body->elem, n->body->span);
      u->op = OP_NEG;
      u->a = n->body;
      n->body = u;
    }
  }
  *red = NULL;
  *slot = factor_slot(summand(later && n->body->kind == TX_UNARY ? &n->body->a : &n->body, v), v, red);
  return *slot ? n : NULL;
}

/* y = sum(R: V[r, c] * rest) with V a sum of Kronecker products (and
 * s * eye) becomes one statement per term, the later ones +=:
 *   y  = sum(R: K1[r, c] * rest)    (read through the factors by structure)
 *   y += s * rest[c := r]           (the eye term: c summed away)
 * Returns whether it did. */
static int distribute(Ctx *c, TirBlock *b, int i) {
  TirOp *op = b->ops[i];
  if (op->kind != TO_EINSUM || op->partial || !op->body) return 0;
  /* the read of V: the first access among the product's factors (inside
   * a sum among them too) whose matrix is a sum of Kronecker products */
  TirVar *v = NULL;
  const TirExpr *stack[64];
  int n = 0;
  stack[n++] = op->body;
  while (n && !v) {
    const TirExpr *top = stack[n - 1];
    if (top->kind == TX_BINARY && (top->op == OP_ADD || top->op == OP_SUB) && top == op->body) {
      n--;   /* the top-level summands: + and - distribute too */
      const TirExpr *sums[64];
      int ns = 0;
      sums[ns++] = top;
      while (ns && n < 62) {
        const TirExpr *x = sums[--ns];
        if (x->kind == TX_BINARY && (x->op == OP_ADD || x->op == OP_SUB) && ns < 62) {
          sums[ns++] = x->b;
          sums[ns++] = x->a;
        } else {
          stack[n++] = x;
        }
      }
      continue;
    }
    const TirExpr *x = stack[--n];
    if (x->kind == TX_REDUCE && x->reduce == RED_SUM && n < 62) {
      stack[n++] = x->a;
    } else if (x->kind == TX_BINARY && x->op == OP_MUL && n < 62) {
      stack[n++] = x->b;
      stack[n++] = x->a;
    } else if (x->kind == TX_ACCESS && x->var->type->rank == 2 && x->pos[0].kind == TP_INDEX &&
               x->pos[1].kind == TP_INDEX && x->pos[0].idx[0] != x->pos[1].idx[0] && x->var != op->out) {
      TirOp *d = find_def(c, x->var);
      if (d && d->opos[0].kind == TP_INDEX) v = x->var;
    }
  }
  /* y = K y would read y after the first statement wrote it */
  if (!v || reads_var(op->body, op->out)) return 0;
  TirUses cnt = {v, 0, 0};
  tir_uses_expr(op->body, &cnt);
  if (cnt.reads != 1) return 0;
  Form fm = recognise(c, v);
  if (!fm.whole || !fm.nterms) return 0;   /* any terms: square factors or not */
  TirOp *ops[MAXK + 1];
  int m = 0;
  for (int t = 0; t < fm.nterms; t++) {
    TirExpr **where, **red;
    TirOp *cp = consumer_copy(c, op, v, m > 0, &where, &red);
    if (!cp) return 0;
    (*where)->var = fm.terms[t].kron;
    cp->accumulate = op->accumulate || m > 0;
    ops[m++] = cp;
  }
  if (fm.shift) {
    TirExpr **where, **redslot;
    TirOp *cp = consumer_copy(c, op, v, m > 0, &where, &redslot);
    if (!cp) return 0;
    TirExpr *red = redslot ? *redslot : NULL;
    TirIndex *r = (*where)->pos[0].idx[0], *cc = (*where)->pos[1].idx[0];
    Span sp = (*where)->span;
    TirExpr *sc = tir_make_convert(c->p->arena, copy_expr(c->p->arena, fm.shift), v->type->elem, sp);
    TirIndex *gone = reduces(red, cc) ? cc : reduces(red, r) ? r : NULL;
    if (gone) {   /* δ(r, c) summed over one of them: that one becomes the other */
      TirIndex *keep = gone == cc ? r : cc;
      *where = sc;
      rename_index(cp->body, gone, keep);
      int k = 0;
      for (int j = 0; j < red->n; j++)
        if (red->idx[j] != gone) red->idx[k++] = red->idx[j];
      red->n = k;
      if (!k) *redslot = red->a;
    } else {
      Gen g = {c, c->p->arena, op, NULL, 0, 0, v->type->elem};
      *where = tir_make_binary(c->p->arena, OP_MUL, v->type->elem, sc, delta_at(&g, r, cc), sp);
    }
    cp->accumulate = op->accumulate || m > 0;
    ops[m++] = cp;
  }
  for (int k = 0; k < m; k++) tir_block_append(c->p->arena, b, ops[k]);
  memmove(&b->ops[i + m], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - m - i - 1));
  memcpy(&b->ops[i], ops, sizeof(TirOp *) * (size_t)m);
  b->n--;
  ptrvec_push(c->p->arena, &c->replaced, v);
  StructureInfo *si = arena_alloc(c->p->arena, sizeof *si);
  si->span = op->span;
  si->target = v->name;
  si->algebra = arena_printf(c->p->arena, "%s read in a contraction: a sum of %d Kronecker product%s%s, one "
                             "contraction per term (read through the factors)%s; the dense matrix is not needed here",
                             v->name ? v->name : "a matrix", fm.nterms, fm.nterms == 1 ? "" : "s",
                             fm.shift ? " and s*eye" : "", fm.shift ? ", the eye term as s times the other factors" : "");
  ptrvec_push(c->p->arena, &c->p->structures, si);
  return 1;
}

/* ---- the pass ---- */

static int handled(int id) {
  return id == B_SOLVE || id == B_LOGDET || id == B_INV || id == B_CHOLESKY || id == B_EIGH || id == B_DET ||
         id == B_SLOGDET;
}

/* Drops the definition of v (and, in turn, of what only it read) when
 * nothing reads v any more. */
static void drop_dead(Ctx *c, TirBlock *b, TirVar *v);

static void drop_reads_of(const TirExpr *x, void *ud) {
  Ctx *c = ud;
  if (x->kind == TX_ACCESS) drop_dead(c, &c->f->body, x->var);
}

static int remove_def(TirBlock *b, const TirVar *v, TirOp **out) {
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    if (op->kind == TO_EINSUM && op->out == v) {
      *out = op;
      memmove(&b->ops[i], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - i - 1));
      b->n--;
      return 1;
    }
    if (remove_def(&op->body_ops, v, out) || remove_def(&op->else_ops, v, out)) return 1;
  }
  return 0;
}

static void drop_dead(Ctx *c, TirBlock *b, TirVar *v) {
  if (v->param || v->out_slot) return;
  TirUses n = tir_uses_func(c->f, v);
  TirOp *op = NULL;
  if (n.reads || n.writes != 1 || !remove_def(b, v, &op)) return;
  tir_expr_visit(op->body, drop_reads_of, c);
}

static void record(Ctx *c, const TirOp *call, const Form *fm, const char *how) {
  StructureInfo *si = arena_alloc(c->p->arena, sizeof *si);
  si->span = call->span;
  TirVar *v = call->args[0];
  const char *what = fm->kind == F_KRON ? "a Kronecker product" : fm->kind == F_SUM ? "a Kronecker sum"
                                                                                   : "a Kronecker product plus s*eye";
  si->target = v->name;
  si->algebra = arena_printf(c->p->arena, "%s(%s): %s of %d factors, %s; the dense matrix is not built%s",
                             builtin_name(call->builtin), v->name ? v->name : "kron(...)", what, fm->k, how,
                             fm->kind == F_KRON ? "" : " (unless a factor is not symmetric at run time: "
                                                       "then the dense call)");
  ptrvec_push(c->p->arena, &c->p->structures, si);
}

/* Replaces b->ops[i] when its matrix argument has a known structure;
 * returns how many ops are now in its place. */
static int rewrite_call(Ctx *c, TirBlock *b, int i) {
  TirOp *call = b->ops[i];
  if (call->kind != TO_BUILTIN || !handled(call->builtin) || call->nargs < 1 || !call->args[0]) return 1;
  TirVar *v = call->args[0];
  Form fm = recognise(c, v);
  if (fm.kind == F_NONE) return 1;
  if (fm.kind != F_KRON && call->builtin != B_SOLVE && call->builtin != B_LOGDET && call->builtin != B_EIGH &&
      call->builtin != B_DET && call->builtin != B_SLOGDET)
    return 1;
  if (call->builtin == B_SOLVE && call->args[1]->type->rank > 2) return 1;
  Gen g = {c, c->p->arena, call, NULL, 0, 0, v->type->elem}, then = g, dense = g;
  const char *how;
  if (fm.kind == F_KRON && call->builtin != B_EIGH) {
    how = call->builtin == B_SOLVE ? gen_solve(&g, &fm) : call->builtin == B_LOGDET ? gen_logdet(&g, &fm)
        : call->builtin == B_DET || call->builtin == B_SLOGDET ? gen_det(&g, &fm) : gen_each(&g, &fm);
  } else {   /* eigh reads one triangle: symmetric factors, or the dense call */
    TirVar *ok = all_symmetric(&g, &fm);
    how = call->builtin == B_SOLVE ? gen_solve(&then, &fm) : call->builtin == B_LOGDET ? gen_logdet(&then, &fm)
        : call->builtin == B_DET || call->builtin == B_SLOGDET ? gen_det_eig(&then, &fm) : gen_eigh(&then, &fm);
    dense_call(&dense, &fm);
    TirOp *op = tir_op_new(c->p->arena, TO_IF, call->span);
    op->body = tir_make_read(c->p->arena, ok, call->span);
    op->body_ops = (TirBlock){then.ops, then.n, then.cap};
    op->else_ops = (TirBlock){dense.ops, dense.n, dense.cap};
    emit(&g, op);
  }
  /* the ops in place of the call */
  for (int k = 0; k < g.n; k++) tir_block_append(c->p->arena, b, g.ops[k]);
  memmove(&b->ops[i + g.n], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - g.n - i - 1));
  memcpy(&b->ops[i], g.ops, sizeof(TirOp *) * (size_t)g.n);
  b->n--;
  record(c, call, &fm, how);
  ptrvec_push(c->p->arena, &c->replaced, v);
  return g.n;
}

static void walk(Ctx *c, TirBlock *b) {
  if (c->depth == MAXDEPTH) return;
  Scope *s = &c->scope[c->depth++];
  s->b = b;
  for (int i = 0; i < b->n;) {
    s->at = i;
    TirOp *op = b->ops[i];
    walk(c, &op->body_ops);
    walk(c, &op->else_ops);
    int n = rewrite_call(c, b, i);
    if (n == 1 && b->ops[i] == op && distribute(c, b, i)) continue;   /* the copies may read another sum */
    i += n;
  }
  c->depth--;
}

void pass_kronla(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) {
    Ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.f = p->funcs.items[i];
    walk(&c, &c.f->body);
    for (int k = 0; k < c.replaced.n; k++) drop_dead(&c, &c.f->body, c.replaced.items[k]);
  }
}
