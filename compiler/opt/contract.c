/* contract.c — the contraction order of multi-operand product-sums.
 *
 * Needs: TIR from tir_build (EINSUM bodies as expression trees).
 * Guarantees: an EINSUM whose body is `sum(R: F1 * F2 * ... * s)` — tensor
 * accesses Fi with index or grouped positions, and index-free scalar
 * factors s — with three or more tensor factors becomes a sequence of
 * pairwise EINSUM steps (or single-operand reductions) in the cheapest
 * order path.h finds, each intermediate in a fresh temporary laid out
 * [first operand's kept indices, second's] as a matrix product writes it;
 * the last step writes the original output (with +=, and the scalar
 * factors). Every statement with two or more tensor factors gets a
 * ContractInfo for `tnsc explain`. Symbolic sizes are counted as 64 each
 * to rank the paths. Also: product-sums inside a larger statement are
 * lifted into contractions of their own (gallery gap 3), a repeated
 * pairwise step reads the earlier result (gap 13), and three factors take
 * the path the layout pass needs fewest copies for among near-equal ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "passes.h"
#include "tir_make.h"
#include "path.h"
#include "gemm.h"

enum { MAXF = 64, MAXIDX = 64, SYMBOLIC_GUESS = 64 };
#define LIFT_MAX 134217728.0   /* 2^27 elements: 1 GiB of f64 */

typedef struct Core {
  TirExpr *factors[MAXF];   /* tensor accesses */
  int n;
  TirExpr *computed[MAXF];  /* factors that are expressions (relu(A[i, j])):
                               materialised into temporaries first */
  int at[MAXF];             /* ... and their place among the factors */
  int ncomputed;
  TirExpr *scalars[MAXF];   /* index-free factors (and divisions by them) */
  int nscalars;
  TirIndex *idx[MAXIDX];    /* every index of the statement, numbered */
  int nidx;
  uint64_t out;             /* output indices */
  int elem;
} Core;

typedef struct Operand {
  TirExpr *access;          /* an original factor, or NULL for a temporary */
  TirVar *var;
  TirIndex *order[MAXIDX];  /* the temporary's index order */
  int n;
  uint64_t mask;
} Operand;

/* ---- recognising the core ---- */

static int index_number(Core *c, TirIndex *ix) {
  for (int i = 0; i < c->nidx; i++)
    if (c->idx[i] == ix) return i;
  if (c->nidx == MAXIDX) return -1;
  c->idx[c->nidx] = ix;
  return c->nidx++;
}

static void note_reduce(const TirExpr *x, void *ud) {
  if (x->kind == TX_REDUCE) *(int *)ud = 0;
}

/* An expression a temporary can hold: movable, and no reduction (whose
 * indices would be its own). */
static int elementwise(const TirExpr *x) {
  int ok = tir_expr_movable(x);
  tir_expr_visit(x, note_reduce, &ok);
  return ok;
}

/* factor = access with index/group positions | index-free scalar
 *        | elementwise expression over indices (materialised) */
static int add_factor(Core *c, TirExpr *x) {
  if (!tir_expr_uses_index(x)) {
    if (c->nscalars == MAXF) return 0;
    c->scalars[c->nscalars++] = x;
    return 1;
  }
  if (x->elem != c->elem || c->n == MAXF) return 0;
  int plain = x->kind == TX_ACCESS;
  for (int i = 0; plain && i < x->var->type->rank; i++)
    if (x->pos[i].kind == TP_EXPR) plain = 0;
  if (!plain) {
    if (!elementwise(x)) return 0;
    c->computed[c->ncomputed] = x;
    c->at[c->ncomputed++] = c->n;
  }
  c->factors[c->n++] = x;
  return 1;
}

/* product = product "*" product | product "/" scalar | sum(R: product)
 *         | factor. A nested sum's indices occur only inside it (the
 * implicit-sum rule puts them there), so it can be pulled out. */
static int flatten(Core *c, TirExpr *x) {
  if (x->kind == TX_REDUCE && x->reduce == RED_SUM) return flatten(c, x->a);
  if (x->kind == TX_BINARY && x->op == OP_MUL) return flatten(c, x->a) && flatten(c, x->b);
  if (x->kind == TX_BINARY && x->op == OP_DIV && !tir_expr_uses_index(x->b)) {
    if (!flatten(c, x->a) || c->nscalars == MAXF) return 0;
    c->scalars[c->nscalars++] = x;   /* marks a division by x->b */
    return 1;
  }
  return add_factor(c, x);
}

static uint64_t factor_mask(Core *c, const TirExpr *x) {
  uint64_t m = 0;
  for (int i = 0; i < x->var->type->rank; i++)
    for (int k = 0; k < x->pos[i].n; k++) {
      int id = index_number(c, x->pos[i].idx[k]);
      if (id < 0) return UINT64_MAX;
      m |= (uint64_t)1 << id;
    }
  return m;
}

typedef struct MaskWalk {
  Core *c;
  uint64_t m;
} MaskWalk;

static void note_mask(Core *c, TirIndex *ix, uint64_t *m) {
  int id = index_number(c, ix);
  *m |= id < 0 ? UINT64_MAX : (uint64_t)1 << id;
}

static void note_uses(const TirExpr *x, void *ud) {
  MaskWalk *w = ud;
  if (x->kind == TX_INDEX) note_mask(w->c, x->idx[0], &w->m);
  if (x->kind == TX_ACCESS)
    for (int i = 0; i < x->var->type->rank; i++)
      for (int k = 0; x->pos[i].kind != TP_EXPR && k < x->pos[i].n; k++) note_mask(w->c, x->pos[i].idx[k], &w->m);
}

/* The indices an elementwise factor uses (UINT64_MAX: too many). */
static uint64_t expr_mask(Core *c, const TirExpr *x) {
  MaskWalk w = {c, 0};
  tir_expr_visit(x, note_uses, &w);
  return w.m;
}

static int is_computed(const Core *c, int i) {
  for (int k = 0; k < c->ncomputed; k++)
    if (c->at[k] == i) return 1;
  return 0;
}

static uint64_t mask_of(Core *c, int i) {
  return is_computed(c, i) ? expr_mask(c, c->factors[i]) : factor_mask(c, c->factors[i]);
}

/* body = ["sum(R:"] product [")"] */
static int find_core(const TirOp *op, Core *c) {
  memset(c, 0, sizeof *c);
  c->elem = op->out->type->elem;
  TirExpr *body = op->body;
  if (body->kind == TX_REDUCE && body->reduce == RED_SUM) body = body->a;
  if (!flatten(c, body) || c->n < 2) return 0;
  for (int i = 0; i < op->noidx; i++) {
    int id = index_number(c, op->oidx[i]);
    if (id < 0) return 0;
    c->out |= (uint64_t)1 << id;
  }
  uint64_t all = 0;
  for (int i = 0; i < c->n; i++) {
    uint64_t m = mask_of(c, i);
    if (m == UINT64_MAX) return 0;
    all |= m;
  }
  /* a computed factor over every index would be as large as the loops */
  for (int k = 0; k < c->ncomputed; k++)
    if (expr_mask(c, c->factors[c->at[k]]) == (all | c->out)) return 0;
  return (c->out & ~all) == 0;  /* no output index from nowhere */
}

/* ---- building the steps ---- */

/* A symbolic size counts as the file's size seen at compile time (bit 1
 * of *symbolic), else as SYMBOLIC_GUESS (bit 2). */
static int64_t size_of(const TirIndex *ix, int *symbolic) {
  int64_t s = ix->range.k;
  for (int i = 0; i < ix->range.n; i++) {
    int64_t h = dim_hint(ix->range.syms[i]);
    *symbolic |= h > 0 ? 1 : 2;
    s *= h > 0 ? h : SYMBOLIC_GUESS;
  }
  return s;
}

static TirExpr *access_of(Arena *a, Operand *o, Span sp) {
  if (o->access) return o->access;
  if (o->n == 0) return tir_make_read(a, o->var, sp);   /* a scalar intermediate is read, not accessed */
  return tir_make_access(a, o->var, tir_make_positions(a, o->order, o->n), sp);
}

static TirExpr *sum_over(Arena *a, Core *c, uint64_t summed, TirExpr *body) {
  if (!summed) return body;
  TirIndex **idx = arena_alloc(a, sizeof(TirIndex *) * MAXIDX);
  int n = 0;
  for (int i = 0; i < c->nidx; i++)
    if (summed >> i & 1) idx[n++] = c->idx[i];
  return tir_make_reduce(a, RED_SUM, idx, n, body, body->span);
}

static TirExpr *times(Arena *a, TirExpr *x, TirExpr *y) {
  return x ? tir_make_binary(a, OP_MUL, x->elem, x, y, x->span) : y;
}

/* The scalar factors multiply (or divide) the last step. */
static TirExpr *with_scalars(Arena *a, Core *c, TirExpr *body) {
  for (int k = 0; k < c->nscalars; k++) {
    TirExpr *sc = c->scalars[k];
    if (sc->kind == TX_BINARY && sc->op == OP_DIV && !tir_expr_uses_index(sc->b))
      body = tir_make_binary(a, OP_DIV, body->elem, body, sc->b, sc->span);
    else
      body = times(a, body, sc);
  }
  return body;
}

static void push_index(Operand *r, TirIndex *ix) {
  for (int j = 0; j < r->n; j++)
    if (r->order[j] == ix) return;
  r->order[r->n++] = ix;
}

static TirVar *temp_for(TirProgram *p, TirFunc *f, Operand *r, int elem) {
  Dim dims[MAXIDX];
  for (int i = 0; i < r->n; i++) dims[i] = r->order[i]->range;
  return tir_var_new(p->arena, f, NULL, type_tensor(p->arena, elem, r->n, dims));
}

static void record_step(ContractInfo *info, const PathStep *ps, TirOp *step) {
  if (info->nsteps == 128) return;
  PathStepInfo *si = &info->steps[info->nsteps++];
  si->nargs = ps->n_args < 8 ? ps->n_args : 8;
  for (int k = 0; k < si->nargs; k++) si->args[k] = ps->args[k];
  si->op = step;
  si->flops = ps->cost;
  char *shape = step->out ? shape_to_string(NULL, step->out->type) : NULL;
  snprintf(si->shape, sizeof si->shape, "%s", shape ? shape : "[]");
  free(shape);
  si->result[0] = 0;   /* in the result's own layout, like its shape */
  for (int i = 0; i < step->noidx; i++)
    if (strlen(si->result) + strlen(step->oidx[i]->name) + 2 < sizeof si->result) {
      if (si->result[0]) strcat(si->result, ",");
      strcat(si->result, step->oidx[i]->name);
    }
}

/* Where a step's result goes next: the step that consumes it, and the
 * operand it meets there. */
typedef struct Hint {
  Operand *partner;         /* NULL: no two-operand consumer */
  int to_final;             /* the consumer writes the statement's output */
} Hint;

static double mask_size(Core *c, uint64_t m) {
  double n = 1;
  int symbolic = 0;
  for (int i = 0; i < c->nidx; i++)
    if (m >> i & 1) n *= (double)size_of(c->idx[i], &symbolic);
  return n;
}

/* Appends to r, in the order of operand o, its indices that are in set. */
static void push_from(Core *c, Operand *o, uint64_t set, Operand *r) {
  if (o->access) {
    for (int i = 0; i < o->access->var->type->rank; i++)
      for (int k = 0; k < o->access->pos[i].n; k++)
        if (set >> index_number(c, o->access->pos[i].idx[k]) & 1) push_index(r, o->access->pos[i].idx[k]);
  } else if (o->var) {
    for (int i = 0; i < o->n; i++)
      if (set >> index_number(c, o->order[i]) & 1) push_index(r, o->order[i]);
  } else {   /* a temporary not laid out yet: by index number */
    for (int i = 0; i < c->nidx; i++)
      if ((set & o->mask) >> i & 1) push_index(r, c->idx[i]);
  }
}

/* A temporary laid out for its consumer: first the indices the consumer
 * sums with its partner (in the partner's order), then the rest (in the
 * output's order when the consumer writes the output, else the larger
 * operand's first). Both sides of the next product are then in matrix
 * order and need no copy (a 4-index transform runs as four GEMMs). */
static void consumer_order(Core *c, Operand **src, int nsrc, uint64_t keep, const Hint *h, const TirOp *op,
                           Operand *r) {
  uint64_t k = keep & h->partner->mask, free = keep & ~k;
  r->n = 0;
  r->mask = keep;
  push_from(c, h->partner, k, r);
  if (h->to_final) {
    for (int i = 0; i < op->noidx; i++)
      if (free >> index_number(c, op->oidx[i]) & 1) push_index(r, op->oidx[i]);
  }
  if (nsrc == 2 && mask_size(c, src[1]->mask) > mask_size(c, src[0]->mask)) {
    Operand *t = src[0];
    src[0] = src[1];
    src[1] = t;
  }
  for (int i = 0; i < nsrc; i++) push_from(c, src[i], free, r);
  /* GEMM reads the temporary as [K, M] or as [M, K]: when the sources
   * hold the rest first (W[i, j] * M[i, j] before a product over j), put
   * it first too, so the step writes in their order instead of
   * transposing (W M V: 100 ms -> 35 ms at 2000 x 1500) */
  Operand s = {0};
  for (int i = 0; i < nsrc; i++) push_from(c, src[i], keep, &s);
  int nk = __builtin_popcountll(k), nf = r->n - nk, swapped = s.n == r->n && nk > 0 && nf > 0;
  for (int i = 0; swapped && i < nf; i++) swapped = s.order[i] == r->order[nk + i];
  for (int i = 0; swapped && i < nk; i++) swapped = s.order[nf + i] == r->order[i];
  if (swapped) memcpy(r->order, s.order, sizeof *r->order * (size_t)r->n);
}

/* An operand's indices in storage order. */
static int order_of(Operand *o, TirIndex **out) {
  int n = 0;
  if (!o->access) {
    for (int i = 0; i < o->n; i++) out[n++] = o->order[i];
    return n;
  }
  for (int i = 0; i < o->access->var->type->rank; i++)
    for (int k = 0; k < o->access->pos[i].n && n < MAXIDX; k++) out[n++] = o->access->pos[i].idx[k];
  return n;
}

/* A mode product: a tensor X meets a smaller Y that shares only
 * summed indices with it (Tucker's G[a, b, c] U[i, a], each step of a
 * 4-index transform). The result keeps X's order with Y's new indices in
 * place of the summed run: [X before, Y kept, X after]. The step is then a
 * GEMM batched over "X before" with Y shared, the next mode product again,
 * and the last step lands in the output's own order — no copies. */
static int mode_product_order(Core *c, Operand **src, int nsrc, uint64_t keep, Operand *r) {
  if (nsrc != 2) return 0;
  Operand *x = src[0], *y = src[1];
  /* X: the tensor (more indices), Y: the matrix; equal: the larger */
  int rx = __builtin_popcountll(x->mask), ry = __builtin_popcountll(y->mask);
  if (ry > rx || (ry == rx && mask_size(c, y->mask) > mask_size(c, x->mask))) x = src[1], y = src[0];
  uint64_t summed = (x->mask | y->mask) & ~keep;
  if (!summed || (x->mask & y->mask & keep) || (x->mask & summed) != (y->mask & summed)) return 0;
  TirIndex *xo[MAXIDX], *yo[MAXIDX];
  int nx = order_of(x, xo), ny = order_of(y, yo), first = -1, run = 0;
  for (int i = 0; i < nx; i++)
    if (summed >> index_number(c, xo[i]) & 1) {
      if (first >= 0 && i != first + run) return 0;   /* the summed run is broken */
      if (first < 0) first = i;
      run++;
    }
  int at = 0;   /* the summed indices in the same order in Y */
  for (int i = 0; i < ny; i++)
    if (summed >> index_number(c, yo[i]) & 1 && yo[i] != xo[first + at++]) return 0;
  r->n = 0;
  r->mask = keep;
  for (int i = 0; i < first; i++) push_index(r, xo[i]);
  for (int i = 0; i < ny; i++)
    if (keep >> index_number(c, yo[i]) & 1) push_index(r, yo[i]);
  for (int i = first + run; i < nx; i++) push_index(r, xo[i]);
  return r->n == __builtin_popcountll(keep);
}

/* A temporary's layout: the first operand's kept indices in its order, then
 * the second's — [M, N] as a matrix product writes it. */
static void result_order(Core *c, Operand **src, int nsrc, uint64_t keep, Operand *r) {
  r->n = 0;
  r->mask = keep;
  for (int i = 0; i < nsrc; i++) push_from(c, src[i], keep, r);
}

static int taken(const PathStep *ps, int j) {
  for (int k = 0; k < ps->n_args; k++)
    if (ps->args[k] == j) return 1;
  return 0;
}

/* ---- a pairwise step computed before, up to a renaming (gap 13) ----
 * `A[i, j] * A[j, k] * A[k, l] * A[l, i]`: the step A[k, l] A[l, i] is the
 * step A[i, j] A[j, k] with k, l, i for i, j, k; its result is the earlier
 * temporary read as [k, i]. */

typedef struct Done {
  TirExpr *x, *y;           /* the two original factors it multiplied */
  uint64_t keep;            /* the indices its result kept */
  Operand *r;               /* its result */
  int step;                 /* its place among the recorded steps */
} Done;

typedef struct Renaming {
  TirIndex *from[MAXIDX], *to[MAXIDX];
  int n;
} Renaming;

static int rename_pair(Renaming *m, TirIndex *a, TirIndex *b) {
  if (dim_cmp(a->range, b->range) != DIM_EQUAL) return 0;   /* a prefix range reads less */
  for (int k = 0; k < m->n; k++) {
    if (m->from[k] == a || m->to[k] == b) return m->from[k] == a && m->to[k] == b;
  }
  if (m->n == MAXIDX) return 0;
  m->from[m->n] = a;
  m->to[m->n++] = b;
  return 1;
}

/* x reads what y reads, with x's indices in place of y's. */
static int rename_access(Renaming *m, const TirExpr *x, const TirExpr *y) {
  if (x->var != y->var) return 0;
  for (int i = 0; i < x->var->type->rank; i++) {
    const TirPos *a = &x->pos[i], *b = &y->pos[i];
    if (a->kind != b->kind || a->kind == TP_EXPR || a->n != b->n) return 0;
    for (int k = 0; k < a->n; k++)
      if (!rename_pair(m, a->idx[k], b->idx[k])) return 0;
  }
  return 1;
}

/* r becomes d's result read through the renaming when x * y (keeping
 * keep) is d's product with other names. */
static int reuse(Core *c, TirExpr *x, TirExpr *y, uint64_t keep, const Done *d, Operand *r) {
  Renaming m;
  m.n = 0;
  if (!rename_access(&m, x, d->x) || !rename_access(&m, y, d->y)) return 0;
  for (int k = 0; k < m.n; k++)
    if ((keep >> index_number(c, m.from[k]) & 1) != (d->keep >> index_number(c, m.to[k]) & 1)) return 0;
  memset(r, 0, sizeof *r);
  r->var = d->r->var;
  r->mask = keep;
  for (int t = 0; t < d->r->n; t++) {
    int k = 0;
    while (k < m.n && m.to[k] != d->r->order[t]) k++;
    if (k == m.n) return 0;
    r->order[r->n++] = m.from[k];
  }
  return 1;
}

static int find_reuse(Core *c, Operand **src, int nsrc, uint64_t keep, const Done *done, int ndone, Operand *r) {
  if (nsrc != 2 || !src[0]->access || !src[1]->access) return -1;
  for (int d = 0; d < ndone; d++)
    if (reuse(c, src[0]->access, src[1]->access, keep, &done[d], r) ||
        reuse(c, src[1]->access, src[0]->access, keep, &done[d], r))
      return d;
  return -1;
}

/* One step: the taken operands multiplied, summed over what no one else
 * needs; the last step writes the statement's own output. A step that
 * repeats an earlier one under other names reads its result instead. */
static void emit_step(TirProgram *p, TirFunc *f, TirOp *op, Core *c, Operand *ops, int *live, int nlive,
                      const PathStep *ps, Operand *r, TirBlock *out, ContractInfo *info, const Hint *h,
                      Done *done, int *ndone) {
  uint64_t others = c->out, u = 0;
  Operand *src[8];
  int nsrc = 0;
  TirExpr *body = NULL;
  for (int j = 0; j < nlive; j++) {
    if (!taken(ps, j)) { others |= ops[live[j]].mask; continue; }
    u |= ops[live[j]].mask;
    if (nsrc < 8) src[nsrc++] = &ops[live[j]];
    body = times(p->arena, body, access_of(p->arena, &ops[live[j]], op->span));
  }
  uint64_t keep = u & others;
  int again = nlive == ps->n_args ? -1 : find_reuse(c, src, nsrc, keep, done, *ndone, r);
  if (again >= 0) {
    int before = info->nsteps;
    record_step(info, ps, info->steps[done[again].step].op);
    if (info->nsteps > before) {
      PathStepInfo *si = &info->steps[before];
      si->reused = done[again].step + 1;
      si->flops = 0;
      si->result[0] = 0;   /* its own names, in the earlier result's layout */
      for (int i = 0; i < r->n; i++)
        if (strlen(si->result) + strlen(r->order[i]->name) + 2 < sizeof si->result) {
          if (si->result[0]) strcat(si->result, ",");
          strcat(si->result, r->order[i]->name);
        }
    }
    return;
  }
  body = sum_over(p->arena, c, u & ~keep, body);
  TirOp *step = tir_op_new(p->arena, TO_EINSUM, op->span);
  memset(r, 0, sizeof *r);
  if (nlive == ps->n_args) {
    step->out = op->out;
    step->opos = op->opos;
    step->oidx = op->oidx;
    step->noidx = op->noidx;
    step->accumulate = op->accumulate;
    step->partial = op->partial;
    body = with_scalars(p->arena, c, body);
  } else {
    if (mode_product_order(c, src, nsrc, keep, r)) {}
    else if (h->partner) consumer_order(c, src, nsrc, keep, h, op, r);
    else result_order(c, src, nsrc, keep, r);
    r->var = temp_for(p, f, r, c->elem);
    step->out = r->var;
    step->opos = access_of(p->arena, r, op->span)->pos;
    step->oidx = r->order;
    step->noidx = r->n;
  }
  step->body = body;
  tir_block_append(p->arena, out, step);
  if (r->var && nsrc == 2 && src[0]->access && src[1]->access && *ndone < 2 * MAXF && info->nsteps < 128)
    done[(*ndone)++] = (Done){src[0]->access, src[1]->access, keep, r, info->nsteps};
  record_step(info, ps, step);
}

static void emit_steps(TirProgram *p, TirFunc *f, TirOp *op, Core *c, const PathResult *path,
                       TirBlock *out, ContractInfo *info) {
  /* in the arena: the steps' index lists point into these operands */
  Operand *ops = arena_alloc(p->arena, sizeof(Operand) * (2 * MAXF + 2));
  int live[2 * MAXF + 2], nlive = c->n;
  for (int i = 0; i < c->n; i++) {
    memset(&ops[i], 0, sizeof ops[i]);
    ops[i].access = c->factors[i];
    ops[i].mask = factor_mask(c, c->factors[i]);
    live[i] = i;
  }
  /* which step takes each operand, and with which partner */
  int nsteps = path->n_steps < 2 * MAXF + 2 - c->n ? path->n_steps : 2 * MAXF + 2 - c->n;
  int partner[2 * MAXF + 2], final_of[2 * MAXF + 2];
  for (int i = 0; i < 2 * MAXF + 2; i++) partner[i] = -1, final_of[i] = 0;
  Done *done = arena_alloc(p->arena, sizeof(Done) * 2 * MAXF);
  int ndone = 0;
  int sim[2 * MAXF + 2], nsim = c->n;
  for (int i = 0; i < c->n; i++) sim[i] = i;
  for (int s = 0; s < nsteps; s++) {
    const PathStep *ps = &path->steps[s];
    if (ps->n_args == 2) {
      int a = sim[ps->args[0]], b = sim[ps->args[1]];
      partner[a] = b;
      partner[b] = a;
      final_of[a] = final_of[b] = s == nsteps - 1;
    }
    int k = 0;
    for (int j = 0; j < nsim; j++)
      if (!taken(ps, j)) sim[k++] = sim[j];
    sim[k++] = c->n + s;
    nsim = k;
  }
  for (int s = 0; s < nsteps; s++) {
    const PathStep *ps = &path->steps[s];
    int id = c->n + s;
    Hint h = {partner[id] >= 0 ? &ops[partner[id]] : NULL, final_of[id]};
    if (h.partner && partner[id] >= c->n && partner[id] > id) {
      /* the partner is computed later: its mask is known from the path */
      ops[partner[id]].mask = path->steps[partner[id] - c->n].result;
    }
    emit_step(p, f, op, c, ops, live, nlive, ps, &ops[id], out, info, &h, done, &ndone);
    int k = 0;
    for (int j = 0; j < nlive; j++)
      if (!taken(ps, j)) live[k++] = live[j];
    live[k++] = c->n + s;
    nlive = k;
  }
}

static void record_operands(TirProgram *p, TirOp *op, Core *c, ContractInfo *info) {
  info->span = op->span;
  info->target = op->out->name ? op->out->name : "%tmp";
  for (int i = 0; i < c->n && info->noperands < 64; i++) {
    const TirVar *v = c->factors[i]->var;
    info->operands[info->noperands++] = v->name ? v->name : arena_printf(p->arena, "%%%d", v->id);
  }
  for (int i = 0; i < c->nscalars && info->noperands < 64; i++) {
    info->operands[info->noperands++] = "scalar";
    info->nscalar++;
  }
}

static void *arena_fn(void *ud, size_t n) { return arena_alloc(ud, n); }

/* ---- symbolic sizes: candidate paths chosen at run time ---- */

enum { MAXSYM = 8, SAMPLES = 64, MAXCAND = 4 };

typedef struct Candidate {
  PathResult path;
  char key[512];
  int votes;
} Candidate;

/* The size names the statement's ranges use. */
static int symbols_of(Core *c, const char **syms) {
  int n = 0;
  for (int i = 0; i < c->nidx; i++)
    for (int k = 0; k < c->idx[i]->range.n; k++) {
      const char *s = c->idx[i]->range.syms[k];
      int seen = 0;
      for (int j = 0; j < n; j++) seen |= syms[j] == s;
      if (!seen && n < MAXSYM) syms[n++] = s;
    }
  return n;
}

static void sizes_at(Core *c, const char **syms, int nsym, const int64_t *val, int64_t *sizes) {
  for (int i = 0; i < c->nidx; i++) {
    Dim d = c->idx[i]->range;
    int64_t v = d.k;
    for (int k = 0; k < d.n; k++)
      for (int j = 0; j < nsym; j++)
        if (syms[j] == d.syms[k]) v *= val[j];
    sizes[i] = v;
  }
}

static void path_key(const PathResult *r, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (int s = 0; s < r->n_steps && n + 16 < cap; s++) {
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int k = 0; k < r->steps[s].n_args && n + 8 < cap; k++)
      n += (size_t)snprintf(buf + n, cap - n, "%s%d", k ? "," : "", r->steps[s].args[k]);
    n += (size_t)snprintf(buf + n, cap - n, "]");
  }
}

/* Paths optimal at sampled sizes (a grid over 4..2048 per size name, or
 * fixed-seed random points when there are many names); the most often
 * optimal ones are kept, at most MAXCAND. */
static int candidates(TirProgram *p, Core *c, const uint64_t *masks, const PassOptions *o, Candidate *cand) {
  const char *syms[MAXSYM];
  int nsym = symbols_of(c, syms), ncand = 0;
  static const int64_t grid[4] = {4, 32, 256, 2048};
  int npoints = nsym <= 3 ? 1 << (2 * nsym) : SAMPLES;
  uint64_t rng = 0x9e3779b97f4a7c15u;
  for (int pt = 0; pt < npoints; pt++) {
    int64_t val[MAXSYM], sizes[MAXIDX] = {0};
    for (int j = 0; j < nsym; j++) {
      rng = rng * 6364136223846793005u + 1442695040888963407u;
      val[j] = nsym <= 3 ? grid[(pt >> (2 * j)) & 3] : grid[(rng >> 33) & 3];
    }
    sizes_at(c, syms, nsym, val, sizes);
    PathProblem pp = {.n = c->n, .operands = masks, .output = c->out, .sizes = sizes,
                      .memory_limit = o->memory_limit, .alloc = arena_fn, .alloc_ud = p->arena};
    PathResult r;
    if (path_search(&pp, &r) != PATH_OK) continue;
    char key[512];
    path_key(&r, key, sizeof key);
    int found = -1;
    for (int k = 0; k < ncand; k++)
      if (strcmp(cand[k].key, key) == 0) found = k;
    if (found >= 0) { cand[found].votes++; continue; }
    if (ncand < 16) {
      cand[ncand].path = r;
      strcpy(cand[ncand].key, key);
      cand[ncand++].votes = 1;
    }
  }
  /* most votes first */
  for (int i = 0; i < ncand; i++)
    for (int j = i + 1; j < ncand; j++)
      if (cand[j].votes > cand[i].votes) {
        Candidate t = cand[i];
        cand[i] = cand[j];
        cand[j] = t;
      }
  return ncand < MAXCAND ? ncand : MAXCAND;
}

/* x op y over f64 costs (a comparison or && is a bool). */
static TirExpr *fbin(Arena *a, int op, TirExpr *x, TirExpr *y) {
  return tir_make_binary(a, op, op == OP_LE || op == OP_AND ? ELEM_BOOL : ELEM_F64, x, y, x->span);
}

/* The cost polynomial of a path in the sizes, as an f64 expression (and
 * as text for explain). */
static TirExpr *cost_expr(TirProgram *p, Core *c, const uint64_t *masks, const PathResult *r, Span sp,
                          char *text, size_t cap) {
  uint64_t live[2 * MAXF + 2];
  int nlive = c->n;
  for (int i = 0; i < c->n; i++) live[i] = masks[i];
  TirExpr *total = NULL;
  size_t tn = 0;
  text[0] = 0;
  for (int s = 0; s < r->n_steps; s++) {
    const PathStep *ps = &r->steps[s];
    uint64_t u = 0, others = c->out;
    for (int j = 0; j < nlive; j++) {
      if (taken(ps, j)) u |= live[j];
      else others |= live[j];
    }
    int sums = (u & ~others) != 0;
    double factor = (ps->n_args > 1 ? ps->n_args - 1 : 1) + (sums ? 1 : 0);
    TirExpr *term = tir_make_fconst(p->arena, ELEM_F64, factor, sp);
    tn += (size_t)snprintf(text + tn, tn < cap ? cap - tn : 0, "%s%g", s ? " + " : "", factor);
    for (int i = 0; i < c->nidx; i++) {
      if (!(u >> i & 1)) continue;
      TirExpr *cv = tir_make_convert(p->arena, tir_make_dim(p->arena, c->idx[i]->range, sp), ELEM_F64, sp);
      term = fbin(p->arena, OP_MUL, term, cv);
      char *ds = dim_to_string(p->arena, c->idx[i]->range);
      tn += (size_t)snprintf(text + tn, tn < cap ? cap - tn : 0, "*%s", ds);
    }
    total = total ? fbin(p->arena, OP_ADD, total, term) : term;
    int k = 0;
    for (int j = 0; j < nlive; j++)
      if (!taken(ps, j)) live[k++] = live[j];
    live[k++] = u & others;
    nlive = k;
  }
  return total;
}

static void new_info(TirProgram *p, TirOp *op, Core *c, ContractInfo *info, const PathResult *path, int sym) {
  record_operands(p, op, c, info);
  info->symbolic = sym;
  info->naive_flops = path->naive;
  info->flops = path->cost;
  info->largest = path->largest;
  ptrvec_push(p->arena, &p->contracts, info);
}

enum { COPY_WEIGHT = 4 };   /* a copied element against a multiply-add */
static double path_copies(TirProgram *p, TirOp *op, Core *c, const PathResult *path, TirExpr **sum, char *text,
                          size_t cap);

/* Several candidates: their costs computed from the actual sizes (FLOPs,
 * and COPY_WEIGHT per element the layout pass would copy) pick one branch
 * at run time. */
static void emit_choice(TirProgram *p, TirFunc *f, TirOp *op, Core *c, const uint64_t *masks, Candidate *cand,
                        int ncand, TirBlock *out, ContractInfo *info) {
  TirVar *cost[MAXCAND];
  for (int k = 0; k < ncand; k++) {
    cost[k] = tir_var_new(p->arena, f, NULL, type_scalar(p->arena, ELEM_F64));
    char *text = arena_alloc(p->arena, 1024);
    TirExpr *ce = cost_expr(p, c, masks, &cand[k].path, op->span, text, 1024), *copies = NULL;
    path_copies(p, op, c, &cand[k].path, &copies, text, 1024);
    if (copies) ce = fbin(p->arena, OP_ADD, ce, copies);
    TirOp *set = tir_make_einsum(p->arena, cost[k], NULL, 0, ce, op->span);
    info->cand_cost[k] = text;
    info->cand_path[k] = arena_strndup(p->arena, cand[k].key, strlen(cand[k].key));
    tir_block_append(p->arena, out, set);
  }
  info->ncand = ncand;
  TirBlock *at = out;
  for (int k = 0; k < ncand; k++) {
    TirBlock *into = at;
    if (k < ncand - 1) {
      TirExpr *cond = NULL;
      for (int j = k + 1; j < ncand; j++) {
        TirExpr *le = fbin(p->arena, OP_LE, tir_make_read(p->arena, cost[k], op->span), tir_make_read(p->arena, cost[j], op->span));
        cond = cond ? fbin(p->arena, OP_AND, cond, le) : le;
      }
      TirOp *iff = tir_op_new(p->arena, TO_IF, op->span);
      iff->cond = cond;
      tir_block_append(p->arena, at, iff);
      into = &iff->body_ops;
      at = &iff->else_ops;
    }
    int before = info->nsteps;
    emit_steps(p, f, op, c, &cand[k].path, into, info);
    if (k > 0) info->nsteps = before;   /* explain shows the first's steps */
  }
}

/* The path chosen at the guessed sizes goes first among the candidates
 * (in place of the last when it is not one): explain shows its steps and
 * costs, which are the ones its summary counts. */
static void first_candidate(const PathResult *path, Candidate *cand, int ncand) {
  char key[512];
  path_key(path, key, sizeof key);
  int at = ncand - 1;
  for (int k = 0; k < ncand; k++)
    if (strcmp(cand[k].key, key) == 0) at = k;
  cand[at].path = *path;
  strcpy(cand[at].key, key);
  Candidate t = cand[0];
  cand[0] = cand[at];
  cand[at] = t;
}

/* t[indices of g] = g for each computed factor g, which then reads t:
 * `relu(A[i, j]) * B[j, k]` becomes a matrix product of t and B. */
static void materialise(TirProgram *p, TirFunc *f, Core *c, TirBlock *out, Span sp) {
  for (int k = 0; k < c->ncomputed; k++) {
    TirExpr *g = c->factors[c->at[k]];
    Operand *r = arena_alloc(p->arena, sizeof *r);   /* positions point into it */
    memset(r, 0, sizeof *r);
    r->mask = expr_mask(c, g);
    for (int i = 0; i < c->nidx; i++)
      if (r->mask >> i & 1) push_index(r, c->idx[i]);
    r->var = temp_for(p, f, r, c->elem);
    tir_block_append(p->arena, out, tir_make_einsum(p->arena, r->var, r->order, r->n, g, sp));
    c->factors[c->at[k]] = access_of(p->arena, r, sp);
  }
  c->ncomputed = 0;
}

/* ---- among equal-cost paths, the one the layout pass copies least ----
 * CP-ALS's mode-2 MTTKRP X[a, b, c] A[a, q] C[c, q]: the Khatri-Rao
 * product of A and C first, then X times it, costs the same FLOPs as X A
 * first (a GEMM reading X transposed, as it is) then the product with C;
 * but the first needs X (the largest operand) copied into [b, (a, c)]
 * order. FLOPs alone tie; the copies decide. */


static double flat_volume(const TirVar *v, const TirPos *pos) {
  TirIndex *ix[MAXIDX];
  int n = gemm_flat_positions(v, pos, ix, MAXIDX), symbolic = 0;
  double vol = 1;
  for (int i = 0; i < n; i++) vol *= (double)size_of(ix[i], &symbolic);
  return vol;
}

static int has_ix(TirIndex **set, int n, const TirIndex *ix) {
  for (int i = 0; i < n; i++)
    if (set[i] == ix) return 1;
  return 0;
}

/* f64 expression of the elements of v read through pos, added to *sum
 * (for a run-time cost; text for explain). */
static void volume_expr(TirProgram *p, const TirVar *v, const TirPos *pos, Span sp, TirExpr **sum, char *text,
                        size_t cap) {
  TirIndex *ix[MAXIDX];
  int n = gemm_flat_positions(v, pos, ix, MAXIDX);
  TirExpr *term = tir_make_fconst(p->arena, ELEM_F64, COPY_WEIGHT, sp);
  size_t tn = strlen(text);
  tn += (size_t)snprintf(text + tn, tn < cap ? cap - tn : 0, " + %d", COPY_WEIGHT);
  for (int i = 0; i < n; i++) {
    TirExpr *d = tir_make_convert(p->arena, tir_make_dim(p->arena, ix[i]->range, sp), ELEM_F64, sp);
    term = tir_make_binary(p->arena, OP_MUL, ELEM_F64, term, d, sp);
    tn += (size_t)snprintf(text + tn, tn < cap ? cap - tn : 0, "*%s", dim_to_string(p->arena, ix[i]->range));
  }
  *sum = *sum ? tir_make_binary(p->arena, OP_ADD, ELEM_F64, *sum, term, sp) : term;
}

/* Elements around a step that is a matrix product only in another index
 * order (it has M, N and K, but gemm_match does not take it as written):
 * what the layout pass copies, at most. With sum: also COPY_WEIGHT times
 * them as an expression over the sizes, added to *sum. */
static double step_copies(TirProgram *p, const TirOp *st, TirExpr **sum, char *text, size_t cap) {
  GemmShape g;
  if (st->kind != TO_EINSUM || gemm_match(st, &g)) return 0;
  const TirExpr *sc, *x = tir_split_scale(st->body, &sc, &(int){0});
  if (x->kind == TX_REDUCE && x->reduce == RED_SUM) x = x->a;
  if (x->kind != TX_BINARY || x->op != OP_MUL) return 0;
  TirIndex *a[MAXIDX], *b[MAXIDX], *o[MAXIDX];
  int na = gemm_flat_access(x->a, a, MAXIDX), nb = gemm_flat_access(x->b, b, MAXIDX);
  int no = st->out->type->rank ? gemm_flat_positions(st->out, st->opos, o, MAXIDX) : 0;
  if (!na || !nb || (st->out->type->rank && !no)) return 0;
  int m = 0, n = 0, k = 0;
  for (int i = 0; i < na; i++) {
    if (has_ix(o, no, a[i]) && !has_ix(b, nb, a[i])) m = 1;
    if (!has_ix(o, no, a[i]) && has_ix(b, nb, a[i])) k = 1;
  }
  for (int i = 0; i < nb; i++)
    if (has_ix(o, no, b[i]) && !has_ix(a, na, b[i])) n = 1;
  if (!(m && n && k)) return 0;
  if (sum) {
    volume_expr(p, x->a->var, x->a->pos, st->span, sum, text, cap);
    volume_expr(p, x->b->var, x->b->pos, st->span, sum, text, cap);
    if (st->out->type->rank) volume_expr(p, st->out, st->opos, st->span, sum, text, cap);
  }
  return flat_volume(x->a->var, x->a->pos) + flat_volume(x->b->var, x->b->pos) + flat_volume(st->out, st->opos);
}

/* The steps of path built aside (temporaries in a scratch function) and
 * the elements their copies would move. */
static double path_copies(TirProgram *p, TirOp *op, Core *c, const PathResult *path, TirExpr **sum, char *text,
                          size_t cap) {
  TirFunc *scratch = arena_alloc(p->arena, sizeof *scratch);
  memset(scratch, 0, sizeof *scratch);
  ContractInfo *info = arena_alloc(p->arena, sizeof *info);
  memset(info, 0, sizeof *info);
  TirBlock b = {0};
  Core cc = *c;
  emit_steps(p, scratch, op, &cc, path, &b, info);
  double v = 0;
  for (int i = 0; i < b.n; i++) v += step_copies(p, b.ops[i], sum, text, cap);
  return v;
}

/* Three tensor factors have three paths; the cheapest by FLOPs plus
 * COPY_WEIGHT per copied element replaces *path (ties keep it). */
static void fewer_copies(TirProgram *p, TirOp *op, Core *c, const PathProblem *pp, PathResult *path) {
  if (c->n != 3 || c->ncomputed || pp->memory_limit > 0) return;
  static const int pairs[3][2] = {{0, 1}, {0, 2}, {1, 2}};
  double best = path->cost + COPY_WEIGHT * path_copies(p, op, c, path, NULL, NULL, 0);
  for (int t = 0; t < 3; t++) {
    int len[2] = {2, 2}, args[4] = {pairs[t][0], pairs[t][1], 0, 1};
    PathResult r;
    if (path_eval(pp, 2, len, args, &r) != PATH_OK) continue;
    double score = r.cost + COPY_WEIGHT * path_copies(p, op, c, &r, NULL, NULL, 0);
    if (score < best) {
      best = score;
      *path = r;
    }
  }
}

/* One EINSUM: a core with >= 2 tensor factors gets a path (candidates
 * when sizes are symbolic) and is rewritten into its steps. */
static int contract_op(TirProgram *p, TirFunc *f, TirOp *op, const PassOptions *o, TirBlock *out) {
  Core c;
  if (op->kind != TO_EINSUM || !op->out || !find_core(op, &c)) return 0;
  uint64_t masks[MAXF];
  int64_t sizes[MAXIDX] = {0};
  int sym = 0;
  for (int i = 0; i < c.n; i++) masks[i] = mask_of(&c, i);
  for (int i = 0; i < c.nidx; i++) sizes[i] = size_of(c.idx[i], &sym);
  PathProblem pp = {.n = c.n, .operands = masks, .output = c.out, .sizes = sizes,
                    .memory_limit = o->memory_limit, .alloc = arena_fn, .alloc_ud = p->arena};
  PathResult path;
  if (path_search(&pp, &path) != PATH_OK) return 0;
  fewer_copies(p, op, &c, &pp, &path);
  materialise(p, f, &c, out, op->span);
  ContractInfo *info = arena_alloc(p->arena, sizeof *info);
  new_info(p, op, &c, info, &path, sym);
  Candidate *cand = arena_alloc(p->arena, sizeof(Candidate) * 16);
  int ncand = sym && c.n > 2 ? candidates(p, &c, masks, o, cand) : 0;
  if (ncand > 1) first_candidate(&path, cand, ncand);
  if (ncand > 1) emit_choice(p, f, op, &c, masks, cand, ncand, out, info);
  else emit_steps(p, f, op, &c, &path, out, info);   /* a canonical form even for one step */
  return 1;
}

/* ---- products inside a larger statement (gallery gap 3) ----
 *
 * `GU[i, p, q] = W[i, j] * V[j, p] * V[j, q] + lam * f64(p == q)`,
 * `gelu(sum(i: X[z, i] * A[i, j]))`, `sum(a: max(b: Q[a, c] * P[z, b, c]))`,
 * `where(j <= i, Q[i, c] * K[j, c] / s, -inf)`: each maximal product-sum
 * subterm that sums an index of its own is computed first, by a statement
 * of its own that the pass then plans like any other (a GEMM, a chain),
 * into a temporary over the indices bound around it; the statement reads
 * the temporary. The loop nest as written would repeat the product's sums
 * for every element, with every sum innermost. */

typedef struct Around {
  TirIndex *idx[MAXIDX];
  int n;
} Around;

typedef struct Lift {
  TirProgram *p;
  TirFunc *f;
  TirOp *op;                /* the statement */
  const PassOptions *o;
  TirBlock *out;
  int lifted;
} Lift;

static void note_expr_pos(const TirExpr *x, void *ud) {
  if (x->kind != TX_ACCESS) return;
  for (int i = 0; i < x->var->type->rank; i++)
    if (x->pos[i].kind == TP_EXPR) *(int *)ud = 0;
}

static void note_reads(const TirExpr *x, void *ud) {
  const TirVar **v = ud;
  if ((x->kind == TX_ACCESS || x->kind == TX_READ) && x->var == *v) *v = NULL;
}

static void note_int_div(const TirExpr *x, void *ud) {
  if (x->kind == TX_BINARY && (x->op == OP_DIV || x->op == OP_MOD) && x->elem != ELEM_F32 && x->elem != ELEM_F64)
    *(int *)ud = 0;
}

/* x may become a statement of its own, evaluated for every element even
 * where a where(...) around it would not take it: movable, no computed
 * positions (out of bounds where masked), no integer division (by zero
 * where masked), and it does not read what an in-place statement writes. */
static int may_lift(const Lift *l, const TirExpr *x) {
  int ok = tir_expr_movable(x);
  tir_expr_visit(x, note_expr_pos, &ok);
  tir_expr_visit(x, note_int_div, &ok);
  if (ok && (l->op->accumulate || l->op->partial)) {
    const TirVar *v = l->op->out;
    tir_expr_visit(x, note_reads, &v);
    ok = v != NULL;
  }
  return ok;
}

static int product_like(const TirExpr *x) {
  return (x->kind == TX_REDUCE && x->reduce == RED_SUM) || (x->kind == TX_BINARY && x->op == OP_MUL) ||
         (x->kind == TX_BINARY && x->op == OP_DIV && !tir_expr_uses_index(x->b));
}

/* Candidate layouts of the temporary: the indices as bound around it
 * (the rest then reads it in its own loop order), or, for two factors,
 * one factor's kept indices then the other's (a single matrix product
 * writes it without a batch). The first that gemm_match takes as one
 * product over a genuine batch wins; ties go to the order around it. */
static int lift_order(Lift *l, Core *c, uint64_t free, const Around *ar, TirIndex **order) {
  int n = 0;
  for (int i = 0; i < ar->n; i++)
    if (free >> index_number(c, ar->idx[i]) & 1) order[n++] = ar->idx[i];
  if (c->n != 2 || c->ncomputed) return n;
  Operand x[2];
  for (int k = 0; k < 2; k++) {
    memset(&x[k], 0, sizeof x[k]);
    x[k].access = c->factors[k];
  }
  uint64_t summed = (factor_mask(c, c->factors[0]) | factor_mask(c, c->factors[1])) & ~free;
  int best = -1;
  Operand cand[3];
  for (int t = 0; t < 3; t++) {
    Operand *r = &cand[t];
    memset(r, 0, sizeof *r);
    if (t == 0)
      for (int i = 0; i < n; i++) push_index(r, order[i]);
    else {
      push_from(c, &x[t - 1], free, r);
      push_from(c, &x[2 - t], free, r);
    }
    TirExpr *body = sum_over(l->p->arena, c, summed,
                             tir_make_binary(l->p->arena, OP_MUL, c->elem, c->factors[0], c->factors[1], l->op->span));
    Dim dims[MAXIDX];
    for (int i = 0; i < r->n; i++) dims[i] = r->order[i]->range;
    TirVar tv = {.id = -1, .type = type_tensor(l->p->arena, c->elem, r->n, dims)};   /* not in the function */
    TirOp *trial = tir_make_einsum(l->p->arena, &tv, r->order, r->n, body, l->op->span);
    GemmShape g;
    int score = 0;
    if (r->n == n && gemm_match(trial, &g)) score = g.a_batched && g.b_batched ? 2 : 1;
    if (best < 0 || score > best) {
      best = score;
      if (t) memcpy(order, r->order, sizeof *order * (size_t)n);
    }
  }
  return n;
}

static TirExpr *lift_walk(Lift *l, TirExpr *x, const Around *ar);

/* x, a product-sum with two or more tensor factors that sums an index of
 * its own, as the read of a temporary computed (and planned) before the
 * statement; NULL when it is not one, or would not pay. */
static TirExpr *lift_product(Lift *l, TirExpr *x, const Around *ar) {
  Core c;
  memset(&c, 0, sizeof c);
  c.elem = x->elem;
  if (!product_like(x) || !tir_expr_uses_index(x) || !may_lift(l, x) || !flatten(&c, x) || c.n < 2) return NULL;
  uint64_t all = 0, used = expr_mask(&c, x), free = 0;
  for (int i = 0; i < c.n; i++) {
    uint64_t m = mask_of(&c, i);
    if (m == UINT64_MAX) return NULL;
    all |= m;
  }
  if (used == UINT64_MAX) return NULL;
  for (int i = 0; i < ar->n; i++) {
    int id = index_number(&c, ar->idx[i]);
    if (id < 0) return NULL;
    if (used >> id & 1) free |= (uint64_t)1 << id;
  }
  if (!(all & ~free) || (used & ~all)) return NULL;   /* nothing summed: elementwise */
  for (int k = 0; k < c.ncomputed; k++)
    if (expr_mask(&c, c.factors[c.at[k]]) == all) return NULL;
  /* the loop nest needed no memory: a temporary larger than the result
   * is made only up to --memory-limit, or LIFT_MAX without one */
  double elems = mask_size(&c, free), result = 1;
  for (int i = 0; i < l->op->noidx; i++) result *= mask_size(&c, (uint64_t)1 << index_number(&c, l->op->oidx[i]));
  if (l->o->memory_limit > 0 && elems > l->o->memory_limit) return NULL;
  if (l->o->memory_limit <= 0 && elems > result && elems > LIFT_MAX) return NULL;
  TirIndex **order = arena_alloc(l->p->arena, sizeof(TirIndex *) * MAXIDX);
  int n = lift_order(l, &c, free, ar, order);
  Dim dims[MAXIDX];
  for (int i = 0; i < n; i++) dims[i] = order[i]->range;
  Type *ty = n ? type_tensor(l->p->arena, x->elem, n, dims) : type_scalar(l->p->arena, x->elem);
  TirVar *t = tir_var_new(l->p->arena, l->f, NULL, ty);
  TirOp *step = tir_make_einsum(l->p->arena, t, order, n, x, l->op->span);
  int before = l->p->contracts.n;
  if (!contract_op(l->p, l->f, step, l->o, l->out)) return NULL;
  for (int i = before; i < l->p->contracts.n; i++) {
    ContractInfo *ci = l->p->contracts.items[i];
    ci->target = l->op->out->name ? l->op->out->name : "%tmp";
    ci->lifted = 1;
  }
  l->lifted++;
  return n ? tir_make_access(l->p->arena, t, tir_make_positions(l->p->arena, order, n), x->span)
           : tir_make_read(l->p->arena, t, x->span);
}

/* Rewrites x and below; ar: the indices bound around x. */
static TirExpr *lift_walk(Lift *l, TirExpr *x, const Around *ar) {
  if (!x || x->kind == TX_ACCESS) return x;
  TirExpr *t = lift_product(l, x, ar);
  if (t) return t;
  Around inner = *ar;
  if (x->kind == TX_REDUCE)
    for (int i = 0; i < x->n && inner.n < MAXIDX; i++) inner.idx[inner.n++] = x->idx[i];
  x->a = lift_walk(l, x->a, &inner);
  x->b = lift_walk(l, x->b, &inner);
  x->c = lift_walk(l, x->c, &inner);
  for (int i = 0; x->args && i < x->n; i++) x->args[i] = lift_walk(l, x->args[i], &inner);
  return x;
}

/* An EINSUM that is not itself a product-sum: its product subterms lifted. */
static void lift_op(TirProgram *p, TirFunc *f, TirOp *op, const PassOptions *o, TirBlock *out) {
  if (op->kind != TO_EINSUM || !op->out || op->noidx > MAXIDX) return;
  Lift l = {p, f, op, o, out, 0};
  Around ar = {{0}, 0};
  for (int i = 0; i < op->noidx; i++) ar.idx[ar.n++] = op->oidx[i];
  op->body = lift_walk(&l, op->body, &ar);
}

static void contract_block(TirProgram *p, TirFunc *f, TirBlock *b, const PassOptions *o) {
  TirBlock nb = {0};
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    contract_block(p, f, &op->body_ops, o);
    contract_block(p, f, &op->else_ops, o);
    if (contract_op(p, f, op, o, &nb)) continue;
    lift_op(p, f, op, o, &nb);
    tir_block_append(p->arena, &nb, op);
  }
  *b = nb;
}

void pass_contract(TirProgram *p, const PassOptions *o) {
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    contract_block(p, f, &f->body, o);
  }
}
