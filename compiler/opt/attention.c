/* attention.c — softmax attention as one streaming kernel (any order).
 *
 * Needs: TIR after `structure`; runs before `hoist`, which would split
 * the softmax into a max, a sum and the n x m probabilities. Finds
 *   O[b.., i, x] = sum(j: P * V[b.., j, x])
 * where P is softmax(j: E) in place, or a temporary P[.., i, j] =
 * softmax(j: E) that nothing else reads, and the scores E (in place, or
 * through a temporary S likewise) are, from the outside in:
 *   where(cond, E', -inf)  cond a conjunction (&&) of affine comparisons
 *                          of i and the keys with index-free offsets (the
 *                          mask), or key bounds read from data (padding);
 *   c * tanh(E'')          softcap; E'' + M[b.., i, j]: an additive bias
 *                          (either side); E'' -+ slope * elem(a*i + b*j):
 *                          ALiBi;
 *   a product of index-free scalars and sum(c: Q[b.., i, c] * K[b.., j, c]
 *   times index-free scalars) — the scale may sit anywhere in it.
 * Order R >= 2 is the same over key tuples: softmax(j, k..: E), the
 * scores Q * K1[j] * K2[k] .., values V1[j] * V2[k] .. (sums nested or
 * not), masks affine in i and every key, M[b.., i, j, k..], and
 * L = logsumexp(j, k..: S) beside it.
 * Batch and head indices b.. are those of O that V and the scores both
 * use; Q, K and M may lack some of them (broadcast); any operand may read
 * a head index g as g // k (grouped-query).
 * Guarantees: such an O op becomes an ATTENTION op (tir.h TirAttention)
 * that reads its operands directly, its reads also listed in args; the
 * temporaries' ops are removed; each mask condition is stored as
 * a*i + b*j (+ one coefficient per further key) + c >= 0, key ranges for
 * the kernel (runtime/attention.c), so masked keys and tuples cost
 * nothing. Every softmax contracted with values is recorded for `tnsc
 * explain` (p->attentions), with the reason when it is not fused: a
 * temporary read elsewhere, a mask that is not affine or uses !=, order
 * 5+, ... */
#include <math.h>
#include <string.h>
#include "passes.h"
#include "tir_make.h"

enum { MAXE = 64, MAXA = 16 };

/* A definition's indices renamed to the consumer's. */
typedef struct Env {
  TirIndex *from[MAXE], *to[MAXE];
  int n;
} Env;

/* A plain read, its positions as the op's own indices. */
typedef struct Acc {
  TirVar *var;
  TirIndex *ix[MAXA];
  int64_t div[MAXA];   /* > 1: the position is ix / div (grouped-query) */
  int rank;
} Acc;

/* An affine form sum(co[t]*ix[t]) + k + rest, of the query and up to
 * four keys. */
enum { NLIN = 5 };
typedef struct Lin {
  TirIndex *ix[NLIN];
  int64_t co[NLIN];
  int64_t k;
  TirExpr *rest;
} Lin;

typedef struct Fuse {
  TirProgram *p;
  TirFunc *f;
  TirBlock *b;
  int at;
  TirOp *op;
  TirIndex *j, *js[4];   /* the key indices (j = js[0]); nj: the order */
  int nj;
  Acc vs[4];             /* the values, vs[r] read at js[r] */
  int vat[4];            /* vs[r] is value factor vat[r], innermost sum first */
  int order;
  TirOp *defs[2];
  int ndefs, from;
  Acc acc[5];
  int nacc, nsum;
  Acc bias;
  int has_bias;
  Acc pad[2];            /* key padding js[pkey] < pad[b..] + poff */
  TirExpr *poff[2];
  int pcmp[2], pkey[2], npad;
  TirExpr *capf[4];      /* softcap: capf * tanh(scores) */
  int capdiv[4], ncap, capped, in_cap;
  Acc slope;             /* ALiBi: asign * slope * elem(alin) */
  TirExpr *slopex;
  Lin alin;
  int asign, alibi;
  const TirExpr *top;    /* the softmax's argument */
  TirOp *lse_op;         /* L[b.., i] = logsumexp(j: S[..]) beside it */
  TirIndex *lse_ix[MAXA];
  Lin cond[TIR_ATTN_CONDS];
  int ncond;
  TirExpr *scale[4];
  int divides[4], nscale;
  const char *why;
} Fuse;

static TirIndex *resolve(const Env *e, TirIndex *ix) {
  for (int i = 0; i < e->n; i++)
    if (e->from[i] == ix) return e->to[i];
  return ix;
}

static int fail(Fuse *u, const char *why) {
  if (!u->why) u->why = why;
  return 0;
}

/* g // 4 as a position, or i64(g / 4), i64(floor(g / 4)) (integer `/` is
 * true division; all three floor for an index). */
static TirIndex *grouped(const TirExpr *x, int64_t *div) {
  if (x->kind == TX_CONVERT && elem_is_int(x->elem)) {
    x = x->a;
    if (x->kind == TX_MATH && x->math == B_FLOOR && x->n == 1) x = x->args[0];
    if (x->kind != TX_BINARY || x->op != OP_DIV) return NULL;
  } else if (x->kind != TX_BINARY || x->op != OP_FLOORDIV || !elem_is_int(x->elem)) {
    return NULL;
  }
  const TirExpr *g = x->a, *c = x->b;
  while (g->kind == TX_CONVERT) g = g->a;
  while (c->kind == TX_CONVERT) c = c->a;
  if (g->kind != TX_INDEX || c->kind != TX_CONST) return NULL;
  double k = elem_is_float(c->elem) ? c->fval : (double)c->ival;
  if (!(k >= 1 && k < 1e15) || k != (double)(int64_t)k) return NULL;
  *div = (int64_t)k;
  return g->idx[0];
}

/* x as a plain read in the consumer's indices (positions i64(g / k)
 * allowed where divs). */
static int plain_div(const TirExpr *x, const Env *env, Acc *a, int divs) {
  if (x->kind != TX_ACCESS || x->var->type->rank == 0 || x->var->type->rank > MAXA) return 0;
  int n = x->var->type->rank;
  a->var = x->var;
  a->rank = n;
  for (int k = 0; k < n; k++) {
    const TirPos *p = &x->pos[k];
    TirIndex *ix = NULL;
    a->div[k] = 1;
    if (p->kind == TP_INDEX && p->n == 1) ix = p->idx[0];
    else if (p->kind == TP_EXPR && divs) ix = grouped(p->e, &a->div[k]);
    if (!ix || (ix->prefix && dim_cmp(ix->range, x->var->type->dims[k]) != DIM_EQUAL)) return 0;
    a->ix[k] = resolve(env, ix);
    for (int t = 0; t < k; t++)
      if (a->ix[t] == a->ix[k]) return 0;
  }
  return 1;
}

static int plain(const TirExpr *x, const Env *env, Acc *a) { return plain_div(x, env, a, 0); }

static int acc_has(const Acc *a, const TirIndex *ix) {
  for (int k = 0; k < a->rank; k++)
    if (a->ix[k] == ix) return k + 1;
  return 0;
}

/* ---- reads and writes of a variable ---- */

typedef struct Uses {
  const TirVar *v;
  int reads;
} Uses;

static void note_read(const TirExpr *x, void *ud) {
  Uses *s = ud;
  if ((x->kind == TX_ACCESS || x->kind == TX_READ) && x->var == s->v) s->reads++;
}

static int op_reads(const TirOp *op, const TirVar *v) {
  Uses s = {v, 0};
  tir_expr_visit(op->body, note_read, &s);
  tir_expr_visit(op->hi, note_read, &s);
  for (int i = 0; i < op->nelems; i++) tir_expr_visit(op->elems[i], note_read, &s);
  for (int i = 0; op->opos && op->out && i < op->out->type->rank; i++)
    if (op->opos[i].kind == TP_EXPR) tir_expr_visit(op->opos[i].e, note_read, &s);
  for (int i = 0; i < op->nargs; i++) s.reads += op->args && op->args[i] == v;
  if (op->out == v) s.reads += op->accumulate || op->partial;
  return s.reads;
}

static int op_writes(const TirOp *op, const TirVar *v) {
  int n = op->out == v && op->kind != TO_FOR;
  for (int i = 0; i < op->nresults; i++) n += op->results[i] == v;
  return n;
}

/* Reads (writes) of v in b and the regions inside it, skipping op skip;
 * *first: the first op that reads. */
static int block_uses2(const TirBlock *b, const TirVar *v, const TirOp *skip, const TirOp *skip2, int writes,
                       const TirOp **first) {
  int n = 0;
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    int here = op == skip || op == skip2 ? 0 : writes ? op_writes(op, v) : op_reads(op, v);
    if (here && first && !*first) *first = op;
    n += here + block_uses2(&op->body_ops, v, skip, skip2, writes, first) +
         block_uses2(&op->else_ops, v, skip, skip2, writes, first);
  }
  return n;
}

static int block_uses(const TirBlock *b, const TirVar *v, const TirOp *skip, int writes, const TirOp **first) {
  return block_uses2(b, v, skip, NULL, writes, first);
}

/* A temporary defined by b->ops[k] (k < at) and read once, by reader. */
static int temp_ok(Fuse *u, const TirVar *v, const TirOp *def, const TirOp *reader) {
  const char *name = v->name ? v->name : "the temporary";
  const TirOp *other = NULL;
  if (v->param) return fail(u, arena_printf(u->p->arena, "%s is a parameter", name));
  if (def->accumulate || def->partial) return fail(u, arena_printf(u->p->arena, "%s is accumulated into", name));
  if (block_uses(&u->f->body, v, def, 1, NULL)) return fail(u, arena_printf(u->p->arena, "%s is written again", name));
  if (op_reads(reader, v) != 1) return fail(u, arena_printf(u->p->arena, "%s is read twice", name));
  /* L = logsumexp(j: S) beside the output reads S too: a second result */
  const TirOp *l = u->lse_op && u->lse_op->body->a->var == v ? u->lse_op : NULL;
  if (!block_uses2(&u->f->body, v, reader, l, 0, &other)) return 1;
  if (other->kind == TO_RETURN) return fail(u, arena_printf(u->p->arena, "%s is also returned", name));
  if (other->kind == TO_BUILTIN)
    return fail(u, arena_printf(u->p->arena, "%s is also used by %s(...) at line %d", name, builtin_name(other->builtin), other->span.line));
  return fail(u, arena_printf(u->p->arena, "%s is also read at line %d", name, other->span.line));
}

/* The op of b before u->at that defines x's variable, as a temporary. */
static TirOp *definition(Fuse *u, const TirExpr *x, int *k) {
  if (x->kind != TX_ACCESS || x->var->param) return NULL;
  for (int i = u->at - 1; i >= 0; i--) {
    TirOp *op = u->b->ops[i];
    if (op_writes(op, x->var) || block_uses(&op->body_ops, x->var, NULL, 1, NULL) ||
        block_uses(&op->else_ops, x->var, NULL, 1, NULL)) {
      *k = i;
      return op->kind == TO_EINSUM && op->out == x->var ? op : NULL;
    }
  }
  return NULL;
}

/* env2 = the definition's output indices as the consumer's (through env). */
static int bind(const TirOp *def, const TirExpr *x, const Env *env, Env *env2) {
  Acc a;
  env2->n = 0;
  if (!plain(x, env, &a) || def->noidx != a.rank || a.rank > MAXE) return 0;
  for (int k = 0; k < a.rank; k++) {
    if (def->opos[k].kind != TP_INDEX || def->opos[k].n != 1) return 0;
    env2->from[k] = def->opos[k].idx[0];
    env2->to[k] = a.ix[k];
  }
  env2->n = a.rank;
  return 1;
}

static void add_def(Fuse *u, TirOp *def, int k) {
  u->defs[u->ndefs++] = def;
  if (k < u->from) u->from = k;
}

/* ---- masks ---- */

static TirExpr *node(Fuse *u, TirExprKind kind, int elem) { return tir_expr_new(u->p->arena, kind, elem, u->op->span); }

static TirExpr *combine(Fuse *u, int op, TirExpr *a, TirExpr *b) {
  if (!b) return a;
  if (!a && op == OP_ADD) return b;
  if (!a) {
    TirExpr *m = node(u, TX_UNARY, b->elem);
    m->op = OP_NEG;
    m->a = b;
    return m;
  }
  TirExpr *x = node(u, TX_BINARY, ELEM_I64);
  x->op = op;
  x->a = a;
  x->b = b;
  return x;
}

static int lin_add(Fuse *u, Lin *a, const Lin *b, int sign) {
  for (int t = 0; t < NLIN && b->ix[t]; t++) {
    int s = 0;
    while (s < NLIN && a->ix[s] && a->ix[s] != b->ix[t]) s++;
    if (s == NLIN) return 0;
    a->ix[s] = b->ix[t];
    a->co[s] += sign * b->co[t];
  }
  a->k += sign * b->k;
  a->rest = combine(u, sign > 0 ? OP_ADD : OP_SUB, a->rest, b->rest);
  return 1;
}

/* x as an affine form of (at most NLIN) indices. */
static int linear(Fuse *u, TirExpr *x, const Env *env, Lin *l) {
  memset(l, 0, sizeof *l);
  if (elem_is_float(x->elem) || x->elem == ELEM_BOOL) return 0;
  if (!tir_expr_uses_index(x) && tir_expr_movable(x)) {
    if (x->kind == TX_CONST) l->k = x->ival;
    else l->rest = x->elem == ELEM_I64 ? x : NULL;
    return x->kind == TX_CONST || l->rest;
  }
  Lin a, b;
  switch (x->kind) {
  case TX_INDEX:
    l->ix[0] = resolve(env, x->idx[0]);
    l->co[0] = 1;
    return 1;
  case TX_UNARY:
    if (x->op != OP_NEG || !linear(u, x->a, env, &a)) return 0;
    return lin_add(u, l, &a, -1);
  case TX_BINARY:
    if ((x->op == OP_ADD || x->op == OP_SUB) && linear(u, x->a, env, &a) && linear(u, x->b, env, &b))
      return lin_add(u, l, &a, 1) && lin_add(u, l, &b, x->op == OP_ADD ? 1 : -1);
    if (x->op == OP_MUL && (x->a->kind == TX_CONST || x->b->kind == TX_CONST)) {
      int64_t c = x->a->kind == TX_CONST ? x->a->ival : x->b->ival;
      if (!linear(u, x->a->kind == TX_CONST ? x->b : x->a, env, &a) || a.rest) return 0;
      *l = a;
      for (int t = 0; t < NLIN; t++) l->co[t] *= c;
      l->k *= c;
      return 1;
    }
    return 0;
  default: return 0;
  }
}

static int add_cond(Fuse *u, const Lin *l, int sign, int64_t minus) {
  if (u->ncond == TIR_ATTN_CONDS) return 0;
  Lin *c = &u->cond[u->ncond++];
  memset(c, 0, sizeof *c);
  lin_add(u, c, l, sign);
  c->k -= minus;
  return 1;
}

static const TirExpr *strip(const TirExpr *x) {
  while (x->kind == TX_CONVERT) x = x->a;
  return x;
}

/* j < len[b..] and the like (either side, any of < <= > >=): a key bound
 * read per batch element. Conversions of the read must be exact: from an
 * integer, or none. */
static int padding(Fuse *u, TirExpr *x, const Env *env) {
  static const Op mirror[][2] = {{OP_LT, OP_GT}, {OP_LE, OP_GE}, {OP_GT, OP_LT}, {OP_GE, OP_LE}};
  Op op = x->op;
  int k;
  const TirExpr *ix = strip(x->a), *rd = x->b;
  if (ix->kind != TX_INDEX) {
    ix = strip(x->b), rd = x->a;
    for (k = 0; k < 4 && mirror[k][0] != x->op; k++) {}
    if (k == 4) return 0;
    op = mirror[k][1];
  }
  while (rd->kind == TX_CONVERT && !elem_is_float(rd->a->elem)) rd = rd->a;
  TirExpr *off = NULL;
  if (rd->kind == TX_BINARY && (rd->op == OP_ADD || rd->op == OP_SUB) && rd->b->kind == TX_CONST) {
    off = rd->b;
    if (rd->op == OP_SUB) {
      off = node(u, TX_CONST, rd->b->elem);
      off->ival = -rd->b->ival, off->fval = -rd->b->fval;
    }
    rd = rd->a;
    while (rd->kind == TX_CONVERT && !elem_is_float(rd->a->elem)) rd = rd->a;
  }
  static const Op cmp[] = {OP_LT, OP_LE, OP_GT, OP_GE};
  for (k = 0; k < 4 && cmp[k] != op; k++) {}
  int key = 0;
  while (ix->kind == TX_INDEX && key < u->nj && resolve(env, ix->idx[0]) != u->js[key]) key++;
  if (k == 4 || ix->kind != TX_INDEX || key == u->nj || rd->kind != TX_ACCESS || rd->elem == ELEM_BOOL ||
      u->npad == 2 || !plain(rd, env, &u->pad[u->npad]))
    return 0;
  u->pkey[u->npad] = key;
  u->poff[u->npad] = off;
  u->pcmp[u->npad++] = k;
  return 1;
}

/* cond as a conjunction of conditions form >= 0. */
static int mask(Fuse *u, TirExpr *x, const Env *env) {
  if (x->kind != TX_BINARY) return 0;
  if (x->op == OP_AND) return mask(u, x->a, env) && mask(u, x->b, env);
  if (padding(u, x, env)) return 1;
  Lin a, b, d;
  memset(&d, 0, sizeof d);
  if (!linear(u, x->a, env, &a) || !linear(u, x->b, env, &b) || !lin_add(u, &d, &a, 1) || !lin_add(u, &d, &b, -1))
    return 0;
  switch (x->op) {
  case OP_GE: return add_cond(u, &d, 1, 0);
  case OP_GT: return add_cond(u, &d, 1, 1);
  case OP_LE: return add_cond(u, &d, -1, 0);
  case OP_LT: return add_cond(u, &d, -1, 1);
  case OP_EQ: return add_cond(u, &d, 1, 0) && add_cond(u, &d, -1, 0);
  case OP_NE: return fail(u, "the mask has a != (two ranges of keys, not one: not a conjunction of affine comparisons)");
  default: return 0;
  }
}

static int neg_inf(const TirExpr *x) {
  while (x->kind == TX_CONVERT) x = x->a;
  return x->kind == TX_CONST && elem_is_float(x->elem) && x->fval == -INFINITY;
}

/* ---- scores ---- */

static int index_free(const TirExpr *x) { return !tir_expr_uses_index(x) && tir_expr_movable(x) && x->elem != ELEM_BOOL; }

static int factors(Fuse *u, TirExpr *x, const Env *env, int divide, int in_sum) {
  if (x->kind == TX_BINARY && x->op == OP_MUL)
    return factors(u, x->a, env, divide, in_sum) && factors(u, x->b, env, divide, in_sum);
  if (x->kind == TX_BINARY && x->op == OP_DIV)
    return factors(u, x->a, env, divide, in_sum) && factors(u, x->b, env, !divide, in_sum);
  if (index_free(x)) {
    if (u->nscale == 4) return fail(u, "too many scale factors");
    u->scale[u->nscale] = x;
    u->divides[u->nscale++] = divide;
    return 1;
  }
  if (divide) return fail(u, "the scores divide by a tensor");
  if (x->kind == TX_REDUCE && x->reduce == RED_SUM && !in_sum) {
    if (x->n != 1 || u->nsum++) return fail(u, "the scores are not one sum over a feature index");
    return factors(u, x->a, env, 0, 1);
  }
  if (x->kind == TX_ACCESS && in_sum && u->nacc < 5) {
    if (!plain_div(x, env, &u->acc[u->nacc], 1)) return fail(u, "a query or key is read at computed positions");
    u->nacc++;
    return 1;
  }
  return fail(u, "the scores are not a product of a query and a key summed over a feature index");
}

static int contains_reduce(const TirExpr *x) {
  if (!x) return 0;
  if (x->kind == TX_REDUCE) return 1;
  return contains_reduce(x->a) || contains_reduce(x->b) || contains_reduce(x->c);
}

static int scores(Fuse *u, TirExpr *x, const Env *env, const TirOp *reader);

/* L[b.., i] = logsumexp(j..: S[..]) (over as many keys as the softmax)
 * between S's definition (at k) and the output, L used by nothing else
 * up to the output: a second result. */
static void find_lse(Fuse *u, const TirVar *s, int k) {
  for (int i = k + 1; i < u->at; i++) {
    TirOp *op = u->b->ops[i];
    const TirExpr *x = op->body;
    if (op->kind != TO_EINSUM || op->accumulate || op->partial || !x || x->kind != TX_REDUCE ||
        x->reduce != RED_LOGSUMEXP || x->n != u->nj || x->a->kind != TX_ACCESS || x->a->var != s || op->out == s)
      continue;
    for (int t = i + 1; t < u->at; t++) {
      const TirOp *o = u->b->ops[t];
      if (op_reads(o, op->out) || op_writes(o, op->out) || block_uses(&o->body_ops, op->out, NULL, 0, NULL) ||
          block_uses(&o->else_ops, op->out, NULL, 0, NULL) || block_uses(&o->body_ops, op->out, NULL, 1, NULL) ||
          block_uses(&o->else_ops, op->out, NULL, 1, NULL))
        return;
    }
    u->lse_op = op;
    return;
  }
}

/* The consumer's index at each position of L (S's definition def, its
 * indices as the consumer's through env2); 0 if L is not S less the keys. */
static int lse_roles(Fuse *u, const TirOp *def, const Env *env2) {
  const TirOp *op = u->lse_op;
  Acc rd;
  Env none = {.n = 0};
  u->lse_op = NULL;
  if (!plain(op->body->a, &none, &rd) || rd.rank != def->noidx || op->noidx != op->out->type->rank ||
      op->noidx != rd.rank - u->nj || op->out->type->elem != u->op->out->type->elem)
    return 0;
  for (int q = 0; q < op->noidx; q++) {
    if (op->opos[q].kind != TP_INDEX || op->opos[q].n != 1) return 0;
    int k = acc_has(&rd, op->opos[q].idx[0]);
    if (!k) return 0;
    u->lse_ix[q] = resolve(env2, def->opos[k - 1].idx[0]);
  }
  for (int t = 0; t < u->nj; t++) {   /* the logsumexp's indices are the keys, in any order */
    int kj = acc_has(&rd, op->body->idx[t]), r = 0;
    if (!kj) return 0;
    while (r < u->nj && resolve(env2, def->opos[kj - 1].idx[0]) != u->js[r]) r++;
    if (r == u->nj) return 0;
  }
  u->lse_op = (TirOp *)op;
  return 1;
}

/* Scores read from a temporary S: its definition's body. */
static int through_temp(Fuse *u, TirExpr *x, const Env *env, const TirOp *reader) {
  int k;
  TirOp *def = definition(u, x, &k);
  Env env2;
  if (!def) return fail(u, "the scores are not a contraction");
  if (x == u->top) find_lse(u, x->var, k);
  if (!temp_ok(u, x->var, def, reader)) return 0;
  if (!bind(def, x, env, &env2)) return fail(u, "the scores are read at computed or repeated positions");
  if (u->lse_op && x == u->top && !lse_roles(u, def, &env2))
    return fail(u, arena_printf(u->p->arena, "%s is also read by a logsumexp that does not match the softmax", x->var->name ? x->var->name : "S"));
  add_def(u, def, k);
  return scores(u, def->body, &env2, def);
}

/* Which side of S + M holds the scores: 2 an expression or a temporary
 * computed by a reduction, 1 another temporary, 0 a variable. */
static int score_rank(Fuse *u, const TirExpr *x) {
  int k;
  if (x->kind != TX_ACCESS) return 2;
  const TirOp *def = definition(u, x, &k);
  return def ? 1 + contains_reduce(def->body) : 0;
}

/* The tanh in a product c * tanh(E) (index-free c), or NULL. */
static TirExpr *tanh_factor(TirExpr *x) {
  if (x->kind == TX_MATH && x->math == B_TANH && x->n == 1) return x;
  if (x->kind != TX_BINARY || (x->op != OP_MUL && x->op != OP_DIV)) return NULL;
  TirExpr *t = tanh_factor(x->a);
  if (t && index_free(x->b)) return t;
  t = x->op == OP_MUL ? tanh_factor(x->b) : NULL;
  return t && index_free(x->a) ? t : NULL;
}

static int cap_factors(Fuse *u, TirExpr *x, int divide) {
  if (x->kind == TX_MATH) return 1;
  if (x->kind == TX_BINARY && (x->op == OP_MUL || x->op == OP_DIV))
    return cap_factors(u, x->a, divide) && cap_factors(u, x->b, x->op == OP_DIV ? !divide : divide);
  if (u->ncap == 4) return fail(u, "too many softcap factors");
  u->capf[u->ncap] = x;
  u->capdiv[u->ncap++] = divide;
  return 1;
}

/* ALiBi: [slope *] elem(a*i + b*j + c), slope index-free or a tensor
 * read; 1 and fills u->slope/alin when x is one. */
static int alibi_term(Fuse *u, TirExpr *x, const Env *env) {
  TirExpr *conv = x, *sl = NULL;
  if (x->kind == TX_BINARY && x->op == OP_MUL) {
    conv = x->a->kind == TX_CONVERT ? x->a : x->b;
    sl = conv == x->a ? x->b : x->a;
  }
  if (conv->kind != TX_CONVERT || !elem_is_float(conv->elem) || elem_is_float(conv->a->elem) ||
      !tir_expr_uses_index(conv->a) || conv->elem != u->op->out->type->elem)
    return 0;
  Lin l;
  if (!linear(u, conv->a, env, &l)) return 0;
  memset(&u->slope, 0, sizeof u->slope);
  u->slopex = NULL;
  if (sl && index_free(sl)) u->slopex = sl;
  else if (sl && !(sl->elem == conv->elem && plain(sl, env, &u->slope))) return 0;
  u->alin = l;
  return 1;
}

/* x: the scores as read by op reader. */
static int scores(Fuse *u, TirExpr *x, const Env *env, const TirOp *reader) {
  TirExpr *th = x->kind == TX_WHERE || x->kind == TX_ACCESS ? NULL : tanh_factor(x);
  if (th) {   /* softcap: c * tanh(E); nothing but a scale inside */
    if (u->capped++) return fail(u, "more than one tanh(...) in the scores");
    if (!cap_factors(u, x, 0)) return 0;
    u->in_cap = 1;
    return scores(u, th->args[0], env, reader);
  }
  if (u->in_cap && (x->kind == TX_WHERE || (x->kind == TX_BINARY && (x->op == OP_ADD || x->op == OP_SUB))))
    return fail(u, "a mask or a bias inside tanh(...) is not fused");
  if (x->kind == TX_BINARY && (x->op == OP_ADD || x->op == OP_SUB) && !u->alibi) {
    int side = alibi_term(u, x->b, env) ? 1 : x->op == OP_ADD && alibi_term(u, x->a, env) ? 0 : -1;
    if (side >= 0) {
      u->alibi = 1;
      u->asign = x->op == OP_SUB ? -1 : 1;
      return scores(u, side ? x->a : x->b, env, reader);
    }
  }
  if (x->kind == TX_WHERE) {
    if (!neg_inf(x->c)) return fail(u, "where(...) in the scores gives another value than -inf");
    if (!mask(u, x->a, env)) return fail(u, "the mask is not a conjunction of affine comparisons of the indices");
    return scores(u, x->b, env, reader);
  }
  if (x->kind == TX_ACCESS) return through_temp(u, x, env, reader);
  if (x->kind == TX_BINARY && x->op == OP_ADD) {
    int ra = score_rank(u, x->a), rb = score_rank(u, x->b);
    if (ra == rb) return fail(u, "the scores plus a bias: which is which is unclear");
    if (u->has_bias++) return fail(u, "more than one bias");
    if (!plain(ra > rb ? x->b : x->a, env, &u->bias)) return fail(u, "the bias is read at computed positions");
    return scores(u, ra > rb ? x->a : x->b, env, reader);
  }
  return factors(u, x, env, 0, 0);
}

/* ---- the op ---- */

static int role_of(TirIndex *const *role, int nrole, const TirIndex *ix) {
  for (int r = 0; r < nrole; r++)
    if (role[r] == ix) return r;
  return -1;
}

/* The dimension of each role in a, -1 where none; 0 if a has an index of
 * no role or lacks a required one. */
static int positions(const Acc *a, TirIndex *const *role, int nrole, const int *need, signed char *pos) {
  for (int r = 0; r < TIR_ATTN_ROLES; r++) pos[r] = -1;
  for (int k = 0; k < a->rank; k++) {
    int r = role_of(role, nrole, a->ix[k]);
    if (r < 0) return 0;
    pos[r] = (signed char)k;
  }
  for (int t = 0; need[t] >= 0; t++)
    if (pos[need[t]] < 0) return 0;
  return 1;
}

/* Positions of the batch roles of a read used per batch element. */
static int batch_only(const Acc *x, TirIndex *const *role, int nrole, signed char *pos) {
  static const int none[] = {-1};
  if (!positions(x, role, nrole, none, pos)) return 0;
  for (int r = 0; r < TIR_ATTN_B; r++)
    if (pos[r] >= 0) return 0;
  return 1;
}

/* Which key (0..R-1) ix is, or -1. */
static int key_of(const Fuse *u, const TirIndex *ix) {
  for (int r = 0; r < u->nj; r++)
    if (u->js[r] == ix) return r;
  return -1;
}

/* Key padding, softcap, ALiBi and the log-sum-exp into a. */
static int extras(Fuse *u, TirIndex *const *role, int nrole, TirAttention *a) {
  for (int t = 0; t < u->npad; t++) {
    if (!batch_only(&u->pad[t], role, nrole, a->ppos[t]))
      return fail(u, "a key bound j < len[..] is read at other indices than batch ones");
    a->pad[t] = u->pad[t].var;
    a->pcmp[t] = u->pcmp[t];
    a->pkey[t] = u->pkey[t];
    a->poff[t] = u->poff[t];
  }
  a->npad = u->npad;
  memcpy(a->capf, u->capf, sizeof u->capf);
  memcpy(a->capdiv, u->capdiv, sizeof u->capdiv);
  a->ncap = u->ncap;
  a->capped = u->capped;
  if (u->alibi) {
    const Lin *c = &u->alin;
    for (int s = 0; s < NLIN && c->ix[s]; s++) {
      int r = key_of(u, c->ix[s]);
      if (c->ix[s] == role[TIR_ATTN_I]) a->aa += c->co[s];
      else if (r == 0) a->ab += c->co[s];
      else if (r > 0) a->abx[r - 1] += c->co[s];
      else if (c->co[s]) return fail(u, "a position bias uses an index other than the query's and the keys'");
    }
    a->ak = c->k, a->akx = c->rest;
    a->alibi = 1, a->asign = u->asign, a->slopex = u->slopex;
    for (int r = 0; r < TIR_ATTN_ROLES; r++) a->spos[r] = -1;
    if (u->slope.var && !batch_only(&u->slope, role, nrole, a->spos))
      return fail(u, "a position bias slope is read at other indices than batch ones");
    a->slope = u->slope.var;
  }
  if (u->lse_op) {
    for (int r = 0; r < TIR_ATTN_ROLES; r++) a->lpos[r] = -1;
    int n = u->lse_op->noidx;
    for (int q = 0; q < n; q++) {
      int r = role_of(role, nrole, u->lse_ix[q]);
      if (r < 0 || r == TIR_ATTN_J || r == TIR_ATTN_C || r == TIR_ATTN_X) return fail(u, "the logsumexp has other indices");
      a->lpos[r] = (signed char)q;
    }
    if (n != nrole - 3 || a->lpos[TIR_ATTN_I] < 0) return fail(u, "the logsumexp lacks a query or batch index");
    a->lse = u->lse_op->out;
  }
  return 1;
}

/* Works out the roles and fills the descriptor; 0 (with why) if the
 * match does not fit the kernel. */
static int describe(Fuse *u, const Acc *out, TirAttention *a) {
  TirIndex *role[TIR_ATTN_ROLES] = {0};
  int nb = 0, R = u->nj;
  TirIndex *query[MAXA];
  int nquery = 0;
  role[TIR_ATTN_J] = u->j;
  for (int k = 0; k < out->rank; k++) {
    TirIndex *ix = out->ix[k];
    int in_v = 0, in_s = 0;
    for (int r = 0; r < R; r++) in_v |= acc_has(&u->vs[r], ix) > 0;
    for (int t = 0; t < u->nacc; t++) in_s |= acc_has(&u->acc[t], ix) > 0;
    if (in_s && !in_v) {   /* the query index, or a head index V lacks */
      query[nquery++] = ix;
      continue;
    }
    int r = in_v && in_s ? TIR_ATTN_B + nb++ : in_v ? TIR_ATTN_X : -1;
    if (r < 0 || r >= TIR_ATTN_ROLES || (r < TIR_ATTN_B && role[r]))
      return fail(u, "the output's indices are not one query, one value and batch indices");
    role[r] = ix;
  }
  /* several: the one the mask uses, else the innermost; the others are
   * batch indices the values are shared across */
  int qi = nquery - 1;
  for (int q = 0; q < nquery; q++)
    for (int t = 0; t < u->ncond; t++)
      for (int s = 0; s < NLIN; s++)
        if (u->cond[t].ix[s] == query[q]) qi = q;
  for (int q = 0; q < nquery; q++) {
    if (q == qi) role[TIR_ATTN_I] = query[q];
    else if (TIR_ATTN_B + nb < TIR_ATTN_ROLES) role[TIR_ATTN_B + nb++] = query[q];
    else return fail(u, "more than 4 batch indices");
  }
  if (!role[TIR_ATTN_I] || !role[TIR_ATTN_X]) return fail(u, "no query or no value index");
  const Acc *Q = NULL, *Ks[4] = {0};
  for (int t = 0; t < u->nacc; t++)
    if (acc_has(&u->acc[t], role[TIR_ATTN_I])) Q = Q ? NULL : &u->acc[t];
  for (int r = 0; r < R; r++)
    for (int t = 0; t < u->nacc; t++)
      if (&u->acc[t] != Q && acc_has(&u->acc[t], u->js[r])) Ks[r] = Ks[r] ? NULL : &u->acc[t];
  for (int r = 0; r < R; r++)
    if (!Q || !Ks[r]) return fail(u, "the scores are not query[.., i, c] * key[.., j, c]");
  const Acc *K = Ks[0], *v = &u->vs[0];
  /* the feature index: the one Q and K share that has no other role */
  for (int k = 0; k < Q->rank; k++)
    if (acc_has(K, Q->ix[k]) && role_of(role, TIR_ATTN_ROLES, Q->ix[k]) < 0) role[TIR_ATTN_C] = Q->ix[k];
  static const int need_q[] = {TIR_ATTN_I, TIR_ATTN_C, -1}, need_k[] = {TIR_ATTN_J, TIR_ATTN_C, -1};
  static const int need_v[] = {TIR_ATTN_J, TIR_ATTN_X, -1}, need_o[] = {TIR_ATTN_I, TIR_ATTN_X, -1}, none[] = {-1};
  int nrole = TIR_ATTN_B + nb;
  if (!role[TIR_ATTN_C] || !positions(Q, role, nrole, need_q, a->pos[0]) || !positions(K, role, nrole, need_k, a->pos[1]) ||
      a->pos[0][TIR_ATTN_J] >= 0 || a->pos[0][TIR_ATTN_X] >= 0 || a->pos[1][TIR_ATTN_I] >= 0 || a->pos[1][TIR_ATTN_X] >= 0)
    return fail(u, "the scores are not query[.., i, c] * key[.., j, c]");
  if (!positions(v, role, nrole, need_v, a->pos[2]) || a->pos[2][TIR_ATTN_I] >= 0 || a->pos[2][TIR_ATTN_C] >= 0)
    return fail(u, "the values are not read as V[.., j, x]");
  int elem = u->op->out->type->elem;
  for (int r = 1; r < R; r++) {   /* further keys and values, role J meaning their own key index */
    TirIndex *rr[TIR_ATTN_ROLES];
    memcpy(rr, role, sizeof rr);
    rr[TIR_ATTN_J] = u->js[r];
    signed char *kp = a->kxpos[r - 1], *vp = a->vxpos[r - 1];
    if (!positions(Ks[r], rr, nrole, need_k, kp) || kp[TIR_ATTN_I] >= 0 || kp[TIR_ATTN_X] >= 0)
      return fail(u, "the scores are not query[.., i, c] * key1[.., j, c] * key2[.., k, c]");
    if (!positions(&u->vs[r], rr, nrole, need_v, vp) || vp[TIR_ATTN_I] >= 0 || vp[TIR_ATTN_C] >= 0)
      return fail(u, "the values are not read as V1[.., j, x] * V2[.., k, x]");
    if (Ks[r]->var->type->elem != elem || u->vs[r].var->type->elem != elem)
      return fail(u, "the operands' element types differ");
    a->kx[r - 1] = Ks[r]->var, a->vx[r - 1] = u->vs[r].var;
    a->mx[r - 1] = Ks[r]->var->type->dims[kp[TIR_ATTN_J]];
  }
  a->order = R;
  for (int r = 0; r < R; r++) a->nest[u->vat[r]] = (signed char)r;
  positions(out, role, nrole, need_o, a->pos[3]);
  for (int r = 0; r < TIR_ATTN_ROLES; r++) a->pos[4][r] = -1;
  for (int r = 0; r < 3; r++) a->bxpos[r] = -1;
  if (u->has_bias) {   /* M[b.., i, j, k..]: keys 2.. apart, as they have no role */
    Acc m = u->bias;
    m.rank = 0;
    for (int k = 0; k < u->bias.rank; k++) {
      int r = key_of(u, u->bias.ix[k]);
      if (r > 0) a->bxpos[r - 1] = (signed char)k;
      else m.ix[m.rank++] = u->bias.ix[k];
    }
    signed char p[TIR_ATTN_ROLES];
    if (!positions(&m, role, nrole, none, p) || p[TIR_ATTN_C] >= 0 || p[TIR_ATTN_X] >= 0)
      return fail(u, "the bias is not indexed by batch, query and key indices");
    for (int r = 0; r < TIR_ATTN_ROLES; r++)   /* back to M's own dimensions */
      for (int k = 0; p[r] >= 0 && k < u->bias.rank; k++)
        if (u->bias.ix[k] == m.ix[p[r]]) a->pos[4][r] = (signed char)k;
  }
  if (Q->var->type->elem != elem || K->var->type->elem != elem || v->var->type->elem != elem ||
      (u->has_bias && u->bias.var->type->elem != elem))
    return fail(u, "the operands' element types differ");
  a->q = Q->var, a->k = K->var, a->v = v->var, a->bias = u->has_bias ? u->bias.var : NULL;
  a->nbatch = nb;
  a->ext[TIR_ATTN_I] = Q->var->type->dims[a->pos[0][TIR_ATTN_I]];
  a->ext[TIR_ATTN_C] = Q->var->type->dims[a->pos[0][TIR_ATTN_C]];
  a->ext[TIR_ATTN_J] = K->var->type->dims[a->pos[1][TIR_ATTN_J]];
  a->ext[TIR_ATTN_X] = v->var->type->dims[a->pos[2][TIR_ATTN_X]];
  for (int r = TIR_ATTN_B; r < nrole; r++) a->ext[r] = u->op->out->type->dims[a->pos[3][r]];
  for (int t = 0; t < u->ncond; t++) {
    const Lin *c = &u->cond[t];
    a->ca[t] = a->cb[t] = 0;
    for (int s = 0; s < NLIN && c->ix[s]; s++) {
      int r = key_of(u, c->ix[s]);
      if (c->ix[s] == role[TIR_ATTN_I]) a->ca[t] += c->co[s];
      else if (r == 0) a->cb[t] += c->co[s];
      else if (r > 0) a->cbx[r - 1][t] += c->co[s];
      else if (c->co[s]) return fail(u, "the mask uses an index other than the query's and the keys'");
    }
    a->ck[t] = c->k;
    a->cx[t] = c->rest;
  }
  a->ncond = u->ncond;
  if (!extras(u, role, nrole, a)) return 0;
  /* grouped reads: Q, K, V, -, bias, then the further keys and values */
  const Acc *ops[11] = {Q, K, v, NULL, u->has_bias ? &u->bias : NULL};
  int64_t *divs[11] = {a->div[0], a->div[1], a->div[2], a->div[3], a->div[4]};
  Dim *lims[11] = {a->lim[0], a->lim[1], a->lim[2], a->lim[3], a->lim[4]};
  for (int r = 1; r < u->nj; r++) {
    ops[3 + 2 * r] = Ks[r], ops[4 + 2 * r] = &u->vs[r];
    divs[3 + 2 * r] = a->kxdiv[r - 1], divs[4 + 2 * r] = a->vxdiv[r - 1];
    lims[3 + 2 * r] = a->kxlim[r - 1], lims[4 + 2 * r] = a->vxlim[r - 1];
  }
  for (int o = 0; o < 11; o++)
    for (int k = 0; ops[o] && k < ops[o]->rank; k++) {
      if (ops[o]->div[k] <= 1) continue;
      int r = role_of(role, nrole, ops[o]->ix[k]);
      if (r < TIR_ATTN_B) return fail(u, "a grouped read g // k at another index than a batch or head index");
      divs[o][r] = ops[o]->div[k];
      lims[o][r] = ops[o]->var->type->dims[k];
    }
  memcpy(a->scale, u->scale, sizeof u->scale);
  memcpy(a->divides, u->divides, sizeof u->divides);
  a->nscale = u->nscale;
  return 1;
}

/* Variables the kernel reads must not change between the removed
 * definitions and the op. */
static void note_var(const TirExpr *x, void *ud) {
  Fuse *u = ud;
  if (x->kind != TX_READ && x->kind != TX_ACCESS) return;
  for (int i = u->from + 1; i < u->at; i++) {
    const TirOp *op = u->b->ops[i];
    if (op == u->defs[0] || op == u->defs[1] || op == u->lse_op) continue;
    if (op_writes(op, x->var) || block_uses(&op->body_ops, x->var, NULL, 1, NULL) ||
        block_uses(&op->else_ops, x->var, NULL, 1, NULL))
      fail(u, arena_printf(u->p->arena, "%s changes between the scores and the output", x->var->name ? x->var->name : "an operand"));
  }
}

/* The part of O's body that looks like attention: sum(j: P * V). Returns
 * 0 when it does not (nothing to record). */
/* The softmax (its reduction) in a product of factors, or NULL. */
static const TirExpr *softmax_factor(Fuse *u, const TirExpr *x) {
  if (x->kind == TX_BINARY && x->op == OP_MUL) {
    const TirExpr *s = softmax_factor(u, x->a);
    return s ? s : softmax_factor(u, x->b);
  }
  if (x->kind == TX_REDUCE && x->reduce == RED_SOFTMAX) return x;
  if (x->kind == TX_REDUCE && x->reduce == RED_SUM) return softmax_factor(u, x->a);
  int k;
  const TirOp *def = definition(u, x, &k);
  return def && def->body && def->body->kind == TX_REDUCE && def->body->reduce == RED_SOFTMAX ? def->body : NULL;
}

/* The factors of a product, left to right, a nested sum's taken in
 * (sum(k: sum(j: P * V1) * V2) is sum(j, k: P * V1 * V2)), its indices
 * added to ix; 0 if more than max. */
static int product_factors(TirExpr *x, TirExpr **f, int n, int max, TirIndex **ix, int *nix) {
  if (x->kind == TX_BINARY && x->op == OP_MUL) {
    n = product_factors(x->a, f, n, max, ix, nix);
    return n ? product_factors(x->b, f, n, max, ix, nix) : 0;
  }
  if (x->kind == TX_REDUCE && x->reduce == RED_SUM && *nix + x->n <= 4) {
    for (int k = 0; k < x->n; k++) ix[(*nix)++] = x->idx[k];
    return product_factors(x->a, f, n, max, ix, nix);
  }
  if (n == max) return 0;
  f[n] = x;
  return n + 1;
}

/* O = sum(j1..jR: P * V1 * .. * VR): the softmax (sm, read by reader,
 * its indices as O's through env) and the value factors vx[0..R). */
static int attention_like(Fuse *u, TirExpr **sm, TirExpr **vx, int *nvx, Env *env, const TirOp **reader) {
  TirExpr *x = u->op->body, *f[6];
  env->n = 0;
  if (!x || x->kind != TX_REDUCE || x->reduce != RED_SUM || x->n > 4) return 0;
  TirIndex *ix[4];
  int nix = x->n;
  memcpy(ix, x->idx, sizeof(TirIndex *) * (size_t)x->n);
  int n = product_factors(x->a, f, 0, 6, ix, &nix);
  if (n < 2) return 0;   /* sum(j: P) alone: no values, not attention */
  for (int t = 0; t < n; t++) {
    TirExpr *px = f[t];
    int k = 0;
    TirOp *def = NULL;
    if (!(px->kind == TX_REDUCE && px->reduce == RED_SOFTMAX)) {
      def = definition(u, px, &k);
      if (!def || !def->body || def->body->kind != TX_REDUCE || def->body->reduce != RED_SOFTMAX) continue;
    }
    *nvx = 0;
    for (int r = 0; r < n; r++)
      if (r != t) vx[(*nvx)++] = f[r];
    *reader = u->op;
    u->order = def ? def->body->n : px->n;
    u->nj = nix;
    for (int r = 0; r < nix; r++) u->js[r] = ix[r];
    u->j = u->js[0];
    if (!def) {
      *sm = px;
      return 1;
    }
    Env none = {.n = 0};
    *sm = def->body;
    *reader = def;
    if (temp_ok(u, px->var, def, u->op) && !bind(def, px, &none, env))
      fail(u, "the probabilities are read at computed or repeated positions");
    add_def(u, def, k);
    return 1;
  }
  const TirExpr *s = softmax_factor(u, x->a);
  if (s && s->n >= 2) u->order = s->n;
  return s ? fail(u, "the softmax is not a factor of the sum with the values") + 1 : 0;
}

static void record(Fuse *u, const TirAttention *a) {
  AttentionInfo *ai = arena_alloc(u->p->arena, sizeof *ai);
  ai->span = u->op->span;
  ai->target = u->op->out->name ? u->op->out->name : "?";
  ai->fused = a != NULL;
  ai->order = u->order;
  ai->nmask = a ? a->ncond : 0;
  ai->bias = a && a->bias;
  ai->nbatch = a ? a->nbatch : 0;
  ai->why = u->why;
  if (a) {
    int grouped = 0;
    for (int o = 0; o < 5; o++)
      for (int r = 0; r < TIR_ATTN_ROLES; r++) grouped |= a->div[o][r] > 1;
    ai->extras = arena_printf(u->p->arena, "%s%s%s%s%s%s", grouped ? ", grouped-query K/V" : "",
                              a->npad ? ", key padding -> loop bounds" : "", a->capped ? ", softcap" : "",
                              a->alibi ? ", position bias (ALiBi)" : "", a->lse ? ", logsumexp " : "",
                              a->lse ? (a->lse->name ? a->lse->name : "?") : "");
  }
  ptrvec_push(u->p->arena, &u->p->attentions, ai);
}

/* Tries b->ops[at]; returns how many ops before it were removed. */
static int fuse_op(TirProgram *p, TirFunc *f, TirBlock *b, int at) {
  TirOp *op = b->ops[at];
  if (op->kind != TO_EINSUM || !op->out) return 0;
  Fuse u;
  memset(&u, 0, sizeof u);
  u.p = p, u.f = f, u.b = b, u.at = at, u.op = op, u.from = at, u.order = 1;
  TirExpr *sm = NULL, *vx[6];
  int nvx = 0;
  Env env, none = {.n = 0};
  const TirOp *reader = op;
  if (!attention_like(&u, &sm, vx, &nvx, &env, &reader)) return 0;
  if (sm) u.top = sm->a;
  Acc out;
  TirAttention *a = arena_alloc(p->arena, sizeof *a);
  memset(a, 0, sizeof *a);
  if (u.why) {
  } else if (op->accumulate || op->partial) {
    fail(&u, "the output is accumulated into");
  } else if (sm->n != u.nj || nvx != u.nj) {
    fail(&u, "the softmax's indices are not those summed with the values, one value factor each");
  } else if (u.nj > 4) {
    fail(&u, "order 5+ is not fused");
  } else if (op->noidx != op->out->type->rank) {
    fail(&u, "the output has computed positions");
  } else {
    /* js in the softmax's order; value r the factor read at js[r] */
    TirIndex *sj[4];
    for (int r = 0; r < u.nj; r++) {
      sj[r] = resolve(&env, sm->idx[r]);
      int found = 0;
      for (int t = 0; t < u.nj; t++) found |= u.js[t] == sj[r];
      if (!found) fail(&u, "the softmax is over another index than the sum with the values");
    }
    memcpy(u.js, sj, sizeof(TirIndex *) * (size_t)u.nj);
    u.j = u.js[0];
    for (int r = 0; r < u.nj && !u.why; r++) {
      int got = 0;
      for (int t = 0; t < nvx; t++) {
        Acc v;
        if (plain_div(vx[t], &none, &v, 1) && acc_has(&v, u.js[r])) u.vs[r] = v, u.vat[r] = t, got++;
      }
      if (got != 1) fail(&u, "the values are not a plain read");
    }
    out.var = op->out;
    out.rank = op->noidx;
    for (int k = 0; k < out.rank; k++) {
      if (op->opos[k].kind != TP_INDEX || op->opos[k].n != 1) fail(&u, "the output has computed positions");
      out.ix[k] = op->opos[k].kind == TP_INDEX ? op->opos[k].idx[0] : NULL;
    }
    if (!u.why && scores(&u, sm->a, &env, reader) && u.nsum == 1 && u.nacc == u.nj + 1) {
      describe(&u, &out, a);
    } else if (!u.why) {
      fail(&u, "the scores are not a contraction of a query and a key");
    }
  }
  if (!u.why) {
    tir_expr_visit(op->body, note_var, &u);
    for (int d = 0; d < u.ndefs; d++) tir_expr_visit(u.defs[d]->body, note_var, &u);
  }
  if (u.why) {
    record(&u, NULL);
    return 0;
  }
  op->kind = TO_ATTENTION;
  op->attn = a;
  op->body = NULL;
  /* every variable the kernel reads, for liveness and the other passes */
  TirVar *reads[] = {a->q, a->k, a->v, a->bias, a->pad[0], a->pad[1], a->slope, a->kx[0], a->vx[0], a->kx[1], a->vx[1], a->kx[2], a->vx[2]};
  op->args = arena_alloc(p->arena, sizeof reads);
  op->nargs = 0;
  for (size_t r = 0; r < sizeof reads / sizeof *reads; r++)
    if (reads[r]) op->args[op->nargs++] = reads[r];
  if (a->lse) {
    op->results = arena_alloc(p->arena, sizeof(TirVar *));
    op->results[0] = a->lse;
    op->nresults = 1;
  }
  record(&u, a);
  int removed = 0;
  for (int i = at - 1; i >= 0; i--)
    if (b->ops[i] == u.defs[0] || b->ops[i] == u.defs[1] || (a->lse && b->ops[i] == u.lse_op)) {
      memmove(&b->ops[i], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - i - 1));
      b->n--;
      removed++;
    }
  return removed;
}

/* ---- the Khatri-Rao form ---- */

/* The op of b that writes v, and how many ops read it (regions too). */
static TirOp *sole_def(const TirFunc *f, const TirBlock *b, const TirVar *v, int *at) {
  TirOp *def = NULL;
  for (int i = 0; i < b->n; i++)
    if (op_writes(b->ops[i], v)) def = def ? NULL : b->ops[i], *at = i;
  if (!def || v->param || block_uses(&f->body, v, NULL, 1, NULL) != 1 || def->kind != TO_EINSUM || def->accumulate ||
      def->partial)
    return NULL;
  return def;
}

static int read_once(const TirFunc *f, const TirVar *v) { return block_uses(&f->body, v, NULL, 0, NULL) == 1; }

/* The read of v in x (the first, in evaluation order), or NULL. */
static TirExpr *find_read(TirExpr *x, const TirVar *v) {
  if (!x) return NULL;
  if (x->kind == TX_ACCESS && x->var == v) return x;
  TirExpr *r = find_read(x->a, v);
  if (!r) r = find_read(x->b, v);
  if (!r) r = find_read(x->c, v);
  for (int i = 0; !r && x->args && i < x->n; i++) r = find_read(x->args[i], v);
  return r;
}

/* Positions of `from` with its group at k split into its two indices. */
static TirPos *split_positions(Arena *a, const TirPos *from, int rank, int k) {
  TirIndex **order = arena_alloc(a, sizeof(TirIndex *) * (size_t)(rank + 1));
  for (int m = 0, o = 0; m < rank; m++) {
    if (m == k) {
      order[o++] = from[m].idx[0];
      order[o++] = from[m].idx[1];
    } else {
      order[o++] = from[m].idx[0];
    }
  }
  return tir_make_positions(a, order, rank + 1);
}

/* The structure pass reads softmax(t: Q . khatri_rao(K1, K2)[t]) and X
 * times khatri_rao(V1, V2) as views of the factors:
 *   S[i, (a, b)] = Q . K1[a] * K2[b];  P[i, t] = softmax(t: S[i, t])
 *   O = sum(a', b': P[i, (a', b')] * V1[a'] * V2[b'])
 * S becomes S3[i, a, b], P becomes X[i, a', b'] = softmax(a', b': S3[i,
 * a', b']) and O reads X[i, a', b']: the index form, order 2. */
static int split_grouped_softmax(TirProgram *p, TirFunc *f, TirBlock *b, int pi) {
  TirOp *P = b->ops[pi];
  if (P->kind != TO_EINSUM || P->accumulate || P->partial || !P->body || P->body->kind != TX_REDUCE ||
      P->body->reduce != RED_SOFTMAX || P->body->n != 1 || P->body->a->kind != TX_ACCESS || P->out->param)
    return 0;
  TirExpr *sr = P->body->a;
  int rank = P->out->type->rank, grp = -1, si, oi = -1;
  for (int k = 0; k < rank; k++) {
    if (P->opos[k].kind != TP_INDEX || sr->pos[k].kind != TP_INDEX || sr->pos[k].idx[0] != P->opos[k].idx[0]) return 0;
    if (P->opos[k].idx[0] == P->body->idx[0]) grp = k;
  }
  TirOp *S = grp >= 0 && sr->var->type->rank == rank ? sole_def(f, b, sr->var, &si) : NULL;
  if (!S || si >= pi || !read_once(f, sr->var) || !read_once(f, P->out) || S->out->type->rank != rank) return 0;
  for (int k = 0; k < rank; k++)
    if ((k == grp) != (S->opos[k].kind == TP_GROUP) || (k == grp && S->opos[k].n != 2) ||
        (k != grp && S->opos[k].kind != TP_INDEX))
      return 0;
  for (int i = pi + 1; i < b->n && oi < 0; i++)
    if (b->ops[i]->kind == TO_EINSUM && find_read(b->ops[i]->body, P->out)) oi = i;
  TirExpr *pr = oi >= 0 ? find_read(b->ops[oi]->body, P->out) : NULL;
  if (!pr || pr->pos[grp].kind != TP_GROUP || pr->pos[grp].n != 2) return 0;
  for (int k = 0; k < rank; k++) {
    if (k != grp && pr->pos[k].kind != TP_INDEX) return 0;
    if (k == grp)
      for (int t = 0; t < 2; t++)
        if (dim_cmp(pr->pos[k].idx[t]->range, S->opos[k].idx[t]->range) != DIM_EQUAL) return 0;
  }
  Dim dims[MAXA + 1];
  if (rank + 1 > MAXA) return 0;
  for (int k = 0, o = 0; k < rank; k++) {
    if (k == grp) {
      dims[o++] = S->opos[k].idx[0]->range;
      dims[o++] = S->opos[k].idx[1]->range;
    } else {
      dims[o++] = S->out->type->dims[k];
    }
  }
  Type *t3 = type_tensor(p->arena, S->out->type->elem, rank + 1, dims);
  TirVar *s3 = tir_var_new(p->arena, f, S->out->name, t3), *x3 = tir_var_new(p->arena, f, P->out->name, t3);
  S->out = s3;
  S->opos = split_positions(p->arena, S->opos, rank, grp);
  /* X[i', a', b'] = softmax(a', b': S3[i', a', b']), over indices of its own */
  TirIndex **order = arena_alloc(p->arena, sizeof(TirIndex *) * (size_t)(rank + 1));
  for (int k = 0; k < rank + 1; k++)
    order[k] = tir_index_new(p->arena, f, "x", dims[k]);
  TirIndex **over = arena_alloc(p->arena, sizeof(TirIndex *) * 2);
  over[0] = order[grp], over[1] = order[grp + 1];
  TirExpr *body = tir_make_reduce(p->arena, RED_SOFTMAX, over, 2,
                                  tir_make_access(p->arena, s3, tir_make_positions(p->arena, order, rank + 1), sr->span),
                                  P->body->span);
  b->ops[pi] = tir_make_einsum(p->arena, x3, order, rank + 1, body, P->span);
  pr->var = x3;
  pr->pos = split_positions(p->arena, pr->pos, rank, grp);
  return 1;
}

static void attention_block(TirProgram *p, TirFunc *f, TirBlock *b) {
  for (int i = 0; i < b->n; i++) split_grouped_softmax(p, f, b, i);
  for (int i = 0; i < b->n; i++) {
    attention_block(p, f, &b->ops[i]->body_ops);
    attention_block(p, f, &b->ops[i]->else_ops);
    i -= fuse_op(p, f, b, i);
  }
}

void pass_attention(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    attention_block(p, f, &f->body);
  }
}
