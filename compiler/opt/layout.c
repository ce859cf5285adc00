/* layout.c — pairwise contractions in GEMM form.
 *
 * Needs: TIR after `contract` (pairwise EINSUM steps).
 * Guarantees: an EINSUM out[...] (+)= [scalar *] sum(K: A[...] * B[...])
 * over plain index positions, f32/f64, that is a matrix product in some
 * index order but not in the one it is written in (gemm.h says no),
 * becomes: A and B copied into [batch, M, K] and [batch, K, N] order
 * (only the ones that need it), a GEMM-shaped EINSUM into C[batch, M, N],
 * and C copied into the output's order (+= kept). The copies are
 * O(size) loops; the product itself then runs as one library GEMM.
 * Indices summed in one operand alone, or broadcast to the output, are
 * left to the loop nest.
 * Then every EINSUM records how it runs (op->lowering): one GEMM call
 * (op->gemm), one tiled transposed copy (op->perm) or its loop nest;
 * codegen and `explain` read that and match no pattern themselves. */
#include <string.h>
#include "gemm.h"
#include "passes.h"
#include "tir_make.h"
#include "tns_runtime.h"

enum { MAXI = 32 };

typedef struct Side {
  TirExpr *access;
  TirIndex *idx[MAXI];
  int n;
} Side;

static int plain(TirExpr *x, Side *s) {
  s->access = x;
  return (s->n = gemm_flat_access(x, s->idx, MAXI)) > 0;   /* groups read as views */
}

static int in(TirIndex *const *set, int n, const TirIndex *ix) {
  for (int i = 0; i < n; i++)
    if (set[i] == ix) return 1;
  return 0;
}

typedef struct Plan {
  TirIndex *batch[MAXI], *m[MAXI], *n[MAXI], *k[MAXI];
  int nb, nm, nn, nk;
} Plan;

/* Sorts every index of the step into batch, M, N or K. */
static int classify(Side *a, Side *b, TirIndex **out, int nout, Plan *p) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < nout; i++) {
    TirIndex *ix = out[i];
    int ina = in(a->idx, a->n, ix), inb = in(b->idx, b->n, ix);
    if (ina && inb) p->batch[p->nb++] = ix;
    else if (ina) p->m[p->nm++] = ix;
    else if (inb) p->n[p->nn++] = ix;
    else return 0;
  }
  for (int i = 0; i < a->n; i++)
    if (!in(out, nout, a->idx[i])) {
      if (!in(b->idx, b->n, a->idx[i])) return 0;
      p->k[p->nk++] = a->idx[i];
    }
  for (int i = 0; i < b->n; i++)
    if (!in(out, nout, b->idx[i]) && !in(a->idx, a->n, b->idx[i])) return 0;
  /* an outer product or a (batched) matrix-vector product stays a loop:
   * copying a large operand would cost as much as the product */
  return p->nk > 0 && p->nm > 0 && p->nn > 0;
}

static int in_place(const Side *s, TirIndex **want, int nb, int np, int n, TirIndex **alt);
static double volume(const Side *s);

/* The summed indices K in a's order or in b's, whichever leaves the
 * larger operand in place (avxu,uvyt->axyt copies only A). */
static void choose_k_order(Side *a, Side *b, Plan *p) {
  TirIndex *want[MAXI * 3], *alt[MAXI * 3], *kb[MAXI];
  int nkb = 0;
  for (int i = 0; i < b->n; i++)
    if (in(p->k, p->nk, b->idx[i])) kb[nkb++] = b->idx[i];
  if (nkb != p->nk || memcmp(kb, p->k, sizeof *kb * (size_t)nkb) == 0) return;
  /* with b's K order: is b in place, and is a? */
  memcpy(want, p->batch, sizeof *want * (size_t)p->nb);
  memcpy(want + p->nb, kb, sizeof *want * (size_t)nkb);
  memcpy(want + p->nb + nkb, p->n, sizeof *want * (size_t)p->nn);
  int b_fits = in_place(b, want, p->nb, nkb, p->nb + nkb + p->nn, alt);
  memcpy(want + p->nb, p->m, sizeof *want * (size_t)p->nm);
  memcpy(want + p->nb + p->nm, p->k, sizeof *want * (size_t)p->nk);
  int a_fits = in_place(a, want, p->nb, p->nm, p->nb + p->nm + p->nk, alt);
  if (b_fits && (!a_fits || volume(b) >= volume(a))) memcpy(p->k, kb, sizeof *kb * (size_t)nkb);
}

static TirIndex **concat(Arena *ar, TirIndex **x, int nx, TirIndex **y, int ny, TirIndex **z, int nz) {
  TirIndex **r = arena_alloc(ar, sizeof(TirIndex *) * (size_t)(nx + ny + nz + 1));
  memcpy(r, x, sizeof *r * (size_t)nx);
  memcpy(r + nx, y, sizeof *r * (size_t)ny);
  memcpy(r + nx + ny, z, sizeof *r * (size_t)nz);
  return r;
}

static TirVar *temp(TirProgram *p, TirFunc *f, int elem, TirIndex **order, int n) {
  Dim dims[MAXI * 3];
  for (int i = 0; i < n; i++) dims[i] = order[i]->range;
  return tir_var_new(p->arena, f, NULL, type_tensor(p->arena, elem, n, dims));
}

/* v[order] */
static TirExpr *access(Arena *ar, TirVar *v, TirIndex **order, int n, Span sp) {
  return tir_make_access(ar, v, tir_make_positions(ar, order, n), sp);
}

static int same_order(const Side *s, TirIndex *const *want, int n) {
  int same = s->n == n;
  for (int i = 0; same && i < n; i++) same = s->idx[i] == want[i];
  return same;
}

/* Is s laid out as want = [batch, P, Q] or as [batch, Q, P] (a transposed
 * operand, which GEMM reads as it is)? np: the size of P. */
static int in_place(const Side *s, TirIndex **want, int nb, int np, int n, TirIndex **alt) {
  if (same_order(s, want, n)) return 1;
  memcpy(alt, want, sizeof *alt * (size_t)nb);
  memcpy(alt + nb, want + nb + np, sizeof *alt * (size_t)(n - nb - np));
  memcpy(alt + n - np, want + nb, sizeof *alt * (size_t)np);
  return same_order(s, alt, n);
}

/* Elements a copy of s would move (symbolic sizes counted as 64). */
static double volume(const Side *s) {
  double v = 1;
  for (int i = 0; i < s->n; i++) {
    Dim d = s->idx[i]->range;
    v *= (double)d.k;
    for (int k = 0; k < d.n; k++) v *= 64;
  }
  return v;
}

/* Operand s in the order want = [batch, P, Q] (or [batch, Q, P]), copying
 * it when it is in neither. */
static TirExpr *arranged(TirProgram *p, TirFunc *f, Side *s, TirIndex **want, int nb, int np, int n, TirBlock *out,
                         Span sp) {
  TirIndex **alt = arena_alloc(p->arena, sizeof(TirIndex *) * (size_t)(n + 1));
  if (in_place(s, want, nb, np, n, alt)) return s->access;   /* read as it is stored */
  TirVar *t = temp(p, f, s->access->var->type->elem, want, n);
  tir_block_append(p->arena, out, tir_make_einsum(p->arena, t, want, n, s->access, sp));   /* a permuting copy */
  return access(p->arena, t, want, n, sp);
}

/* Tells `tnsc explain` how many copies a contraction step needed. */
static void note_copies(TirProgram *p, const TirOp *op, int copies) {
  for (int i = 0; i < p->contracts.n; i++) {
    ContractInfo *ci = p->contracts.items[i];
    for (int k = 0; k < ci->nsteps; k++)
      if (ci->steps[k].op == op) ci->steps[k].copies = copies;
  }
}

/* Rewrites one step; returns 0 when it is not a pairwise product. */
static int relayout(TirProgram *p, TirFunc *f, TirOp *op, TirBlock *out) {
  GemmShape g;
  if (op->kind != TO_EINSUM || !op->out || op->out->type->rank == 0 || gemm_match(op, &g)) return 0;
  int elem = op->out->type->elem;
  if (elem != ELEM_F32 && elem != ELEM_F64) return 0;
  const TirExpr *cscale;
  int divides;
  /* the new ops are built around the op's own nodes */
  TirExpr *core = (TirExpr *)tir_split_scale(op->body, &cscale, &divides), *scale = (TirExpr *)cscale;
  TirExpr *prod = core->kind == TX_REDUCE && core->reduce == RED_SUM ? core->a : core;
  if (prod->kind != TX_BINARY || prod->op != OP_MUL) return 0;
  Side a, b;
  if (!plain(prod->a, &a) || !plain(prod->b, &b) || a.access->elem != elem || b.access->elem != elem) return 0;
  TirIndex *oflat[MAXI];
  int noflat = gemm_flat_positions(op->out, op->opos, oflat, MAXI);
  if (!noflat || noflat != op->noidx) return 0;
  if (op->accumulate && (a.access->var == op->out || b.access->var == op->out)) return 0;
  Plan pl;
  if (!classify(&a, &b, oflat, noflat, &pl)) return 0;
  choose_k_order(&a, &b, &pl);
  TirIndex **ao = concat(p->arena, pl.batch, pl.nb, pl.m, pl.nm, pl.k, pl.nk);
  TirIndex **bo = concat(p->arena, pl.batch, pl.nb, pl.k, pl.nk, pl.n, pl.nn);
  TirIndex **co = concat(p->arena, pl.batch, pl.nb, pl.m, pl.nm, pl.n, pl.nn);
  int nc = pl.nb + pl.nm + pl.nn;
  TirExpr *ax = arranged(p, f, &a, ao, pl.nb, pl.nm, pl.nb + pl.nm + pl.nk, out, op->span);
  TirExpr *bx = arranged(p, f, &b, bo, pl.nb, pl.nk, pl.nb + pl.nk + pl.nn, out, op->span);
  TirExpr *m = tir_make_binary(p->arena, OP_MUL, elem, ax, bx, op->span);
  TirExpr *body = m;
  if (core->kind == TX_REDUCE) {
    TirExpr *r = tir_expr_new(p->arena, TX_REDUCE, elem, op->span);
    *r = *core;
    r->a = m;
    body = r;
  }
  if (scale) body = tir_make_binary(p->arena, divides ? OP_DIV : OP_MUL, elem, body, scale, op->span);
  int copies = (ax->var != a.access->var) + (bx->var != b.access->var);
  int direct = nc == noflat;
  for (int i = 0; direct && i < nc; i++) direct = co[i] == oflat[i];
  /* op itself becomes the product (explain's step points at it) */
  TirOp *back = NULL;
  if (!direct) {   /* into C[batch, M, N], then copied to the output */
    TirVar *c = temp(p, f, elem, co, nc);
    back = tir_op_new(p->arena, TO_EINSUM, op->span);
    *back = *op;
    back->body = access(p->arena, c, co, nc, op->span);
    op->out = c;
    op->opos = tir_make_positions(p->arena, co, nc);
    op->oidx = co;
    op->noidx = nc;
    op->accumulate = 0;
    copies++;
  }
  op->body = body;
  tir_block_append(p->arena, out, op);
  if (back) tir_block_append(p->arena, out, back);
  note_copies(p, op, copies);
  return 1;
}

/* Records how op runs: one GEMM call, one transposed copy, or its loops
 * (read by codegen and explain; no one matches the patterns again). */
static void decide(TirProgram *p, TirOp *op) {
  GemmShape g;
  int perm[TNS_MAX_RANK], r;
  if (op->kind != TO_EINSUM || !op->out) return;
  if (gemm_match(op, &g)) {
    op->lowering = TL_GEMM;
    op->gemm = arena_alloc(p->arena, sizeof g);
    *op->gemm = g;
  } else if ((r = gemm_permute_match(op, perm)) > 0) {
    op->lowering = TL_PERMUTE;
    op->perm = arena_alloc(p->arena, sizeof(int) * (size_t)r);
    memcpy(op->perm, perm, sizeof(int) * (size_t)r);
  }
}

static void layout_block(TirProgram *p, TirFunc *f, TirBlock *b) {
  TirBlock nb = {0};
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    layout_block(p, f, &op->body_ops);
    layout_block(p, f, &op->else_ops);
    if (!relayout(p, f, op, &nb)) tir_block_append(p->arena, &nb, op);
  }
  for (int i = 0; i < nb.n; i++) decide(p, nb.ops[i]);
  *b = nb;
}

void pass_layout(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    layout_block(p, f, &f->body);
  }
}
