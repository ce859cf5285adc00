/* kroninline.c — a call that passes a Kronecker product is inlined, so
 * that the callee's contractions and linear algebra see the factors.
 *
 * Needs: TIR from tir_build. Runs first: kronla and structure then treat
 * the inlined body like any other (docs/kronecker.md, "Calls").
 * A CALL op is inlined when one of its arguments is a Kronecker value —
 * defined in the caller by a kron product (K[(a0, a1), (b0, b1)] = A[a0,
 * b0] * B[a1, b1], what kron() becomes) or by an elementwise statement
 * reading one (kron(A, B) + s * eye(...)) — and the callee is simple: its
 * sizes are all parameters (none bound by a load or a value), each RETURN
 * ends its body or an if branch (none in a loop: the ops after such an if
 * are copied into its other path), and no op binds sizes. The callee's ops
 * are copied in place of the call with fresh variables and indices, its
 * size names replaced by the call's size arguments, its parameters by the
 * arguments, and each RETURN by copies into the call's results. Calls of
 * the inlined body that pass the product on are inlined in turn (a few
 * levels deep). Guarantees: the same values as the call. */
#include <string.h>
#include "passes.h"
#include "tir_make.h"

enum { MAXDEPTH = 4, MAXCOPY = 4096 };

typedef struct Clone {
  TirProgram *p;
  TirFunc *caller, *callee;
  const TirOp *call;
  TirVar **vars;        /* callee var id -> caller var */
  TirIndex **idx;       /* callee index id -> caller index */
  int ok;
  int budget;           /* ops left to copy: the rest after an early
                           return is copied into each other path */
} Clone;

/* ---- which calls ---- */

typedef struct Uses {
  const TirVar *v;
  int writes;
  TirOp *def;
} Uses;

static void find_writes(const TirBlock *b, Uses *u) {
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    if (op->out == u->v && op->kind != TO_FOR) {
      u->writes++;
      u->def = op;
    }
    for (int r = 0; r < op->nresults; r++) u->writes += op->results[r] == u->v;
    find_writes(&op->body_ops, u);
    find_writes(&op->else_ops, u);
  }
}

static int product_of_reads(const TirExpr *x, int *n) {
  if (x->kind == TX_ACCESS) {
    (*n)++;
    return 1;
  }
  return x->kind == TX_BINARY && x->op == OP_MUL && product_of_reads(x->a, n) && product_of_reads(x->b, n);
}

static int kron_valued(const TirFunc *f, const TirVar *v, int depth);

typedef struct Reads {
  const TirFunc *f;
  int depth, found;
} Reads;

static void note_kron_read(const TirExpr *x, void *ud) {
  Reads *r = ud;
  if (x->kind == TX_ACCESS && !r->found) r->found = kron_valued(r->f, x->var, r->depth + 1);
}

/* v is a Kronecker product, or an elementwise statement over one */
static int kron_valued(const TirFunc *f, const TirVar *v, int depth) {
  if (depth > 3 || v->param || v->type->rank == 0) return 0;
  Uses u = {v, 0, NULL};
  find_writes(&f->body, &u);
  const TirOp *d = u.def;
  if (u.writes != 1 || !d || d->kind != TO_EINSUM || d->accumulate || d->partial) return 0;
  int grouped = 0, n = 0;
  for (int k = 0; k < v->type->rank; k++) grouped |= d->opos[k].kind == TP_GROUP;
  if (grouped) return product_of_reads(d->body, &n) && n >= 2;
  Reads r = {f, depth, 0};
  tir_expr_visit(d->body, note_kron_read, &r);
  return r.found;
}

static int writes_param(const TirOp *op) {
  if (op->out && op->out->param && op->kind != TO_FOR) return 1;
  for (int r = 0; r < op->nresults; r++)
    if (op->results[r] && op->results[r]->param) return 1;
  return 0;
}

static int binds(const TirOp *op) {
  for (int i = 0; op->bind && i < op->nbind; i++)
    if (op->bind[i]) return 1;
  return 0;
}

/* A RETURN may end an if branch (the rest of the body is then copied into
 * the other paths); inside a loop it may not. */
static int simple_ops(const TirBlock *b, int in_loop) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if (op->kind == TO_RETURN && in_loop) return 0;
    if (writes_param(op)) return 0;   /* it would write the caller's variable */
    if (op->kind == TO_SIZE || op->kind == TO_ATTENTION || binds(op)) return 0;
    int loop = in_loop || op->kind == TO_FOR || op->kind == TO_WHILE;
    if (!simple_ops(&op->body_ops, loop) || !simple_ops(&op->else_ops, loop)) return 0;
  }
  return 1;
}

/* Every path through b ends in a RETURN. */
static int returns(const TirBlock *b) {
  for (int i = 0; i < b->n; i++) {
    const TirOp *op = b->ops[i];
    if (op->kind == TO_RETURN) return 1;
    if (op->kind == TO_IF && returns(&op->body_ops) && returns(&op->else_ops)) return 1;
  }
  return 0;
}

static int has_return(const TirOp *op) {
  if (op->kind == TO_RETURN) return 1;
  if (op->kind != TO_IF) return 0;   /* loops hold none (simple_ops) */
  for (int i = 0; i < op->body_ops.n; i++)
    if (has_return(op->body_ops.ops[i])) return 1;
  for (int i = 0; i < op->else_ops.n; i++)
    if (has_return(op->else_ops.ops[i])) return 1;
  return 0;
}

static int inlinable(const TirFunc *caller, const TirOp *op) {
  const TirFunc *f = op->fn;
  if (op->kind != TO_CALL || f == caller || f->array_results) return 0;
  if (f->sizes.n != f->nsize_params || !returns(&f->body)) return 0;
  if (!simple_ops(&f->body, 0)) return 0;
  for (int i = 0; i < op->nargs; i++)
    if (kron_valued(caller, op->args[i], 0)) return 1;
  return 0;
}

/* ---- copying the callee ---- */

/* d over the callee's size names, over the call's sizes instead */
static Dim map_dim(Clone *c, Dim d) {
  Dim r = dim_const(d.k);
  for (int i = 0; i < d.n; i++) {
    TirSize *s = tir_size_find(c->callee, d.syms[i]);
    if (!s || s->kind != TS_PARAM || !dim_mul(r, c->call->sargs[s->param], &r)) {
      c->ok = 0;
      return d;
    }
  }
  return r;
}

static Type *map_type(Clone *c, Type *t) {
  if (!t || t->kind != T_TENSOR || !t->rank) return t;
  Dim *dims = arena_alloc(c->p->arena, sizeof(Dim) * (size_t)t->rank);
  for (int k = 0; k < t->rank; k++) dims[k] = map_dim(c, t->dims[k]);
  return type_tensor(c->p->arena, t->elem, t->rank, dims);
}

static TirVar *map_var(Clone *c, TirVar *v) {
  if (!v) return NULL;
  if (!c->vars[v->id]) c->vars[v->id] = tir_var_new(c->p->arena, c->caller, v->name, map_type(c, v->type));
  return c->vars[v->id];
}

static TirIndex *map_index(Clone *c, TirIndex *i) {
  if (!c->idx[i->id]) {
    c->idx[i->id] = tir_index_new(c->p->arena, c->caller, i->name, map_dim(c, i->range));
    c->idx[i->id]->prefix = i->prefix;
  }
  return c->idx[i->id];
}

static TirIndex **map_indices(Clone *c, TirIndex **idx, int n) {
  if (!idx) return NULL;
  TirIndex **r = arena_alloc(c->p->arena, sizeof(TirIndex *) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) r[i] = map_index(c, idx[i]);
  return r;
}

static TirExpr *map_expr(Clone *c, const TirExpr *x);

static TirPos *map_pos(Clone *c, const TirPos *pos, int rank) {
  if (!pos) return NULL;
  TirPos *r = arena_alloc(c->p->arena, sizeof(TirPos) * (size_t)(rank + 1));
  for (int k = 0; k < rank; k++) {
    r[k] = pos[k];
    if (pos[k].kind == TP_EXPR) r[k].e = map_expr(c, pos[k].e);
    else r[k].idx = map_indices(c, pos[k].idx, pos[k].n);
  }
  return r;
}

static TirExpr *map_expr(Clone *c, const TirExpr *x) {
  if (!x) return NULL;
  TirExpr *r = tir_expr_new(c->p->arena, x->kind, x->elem, x->span);
  *r = *x;
  r->a = map_expr(c, x->a);
  r->b = map_expr(c, x->b);
  r->c = map_expr(c, x->c);
  if (x->var) r->var = map_var(c, x->var);
  if (x->kind == TX_DIM) r->dim = map_dim(c, x->dim);
  if (x->kind == TX_ACCESS) r->pos = map_pos(c, x->pos, x->var->type->rank);
  if (x->kind == TX_INDEX) r->idx = map_indices(c, x->idx, 1);
  if (x->kind == TX_REDUCE) r->idx = map_indices(c, x->idx, x->n);
  if (x->args && x->kind != TX_REDUCE) {
    r->args = arena_alloc(c->p->arena, sizeof(TirExpr *) * (size_t)(x->n + 1));
    for (int i = 0; i < x->n; i++) r->args[i] = map_expr(c, x->args[i]);
  }
  return r;
}

static TirVar **map_vars(Clone *c, TirVar **v, int n) {
  if (!v) return NULL;
  TirVar **r = arena_alloc(c->p->arena, sizeof(TirVar *) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) r[i] = map_var(c, v[i]);
  return r;
}

static void map_block(Clone *c, const TirBlock *from, TirBlock *to);

static TirOp *map_op(Clone *c, const TirOp *op) {
  TirOp *r = tir_op_new(c->p->arena, op->kind, op->span);
  *r = *op;
  r->out = map_var(c, op->out);
  if (op->opos) r->opos = map_pos(c, op->opos, op->out->type->rank);
  r->oidx = map_indices(c, op->oidx, op->noidx);
  r->body = map_expr(c, op->body);
  r->hi = map_expr(c, op->hi);
  if (op->elems) {
    r->elems = arena_alloc(c->p->arena, sizeof(TirExpr *) * (size_t)(op->nelems + 1));
    for (int i = 0; i < op->nelems; i++) r->elems[i] = map_expr(c, op->elems[i]);
  }
  if (op->sargs) {
    r->sargs = arena_alloc(c->p->arena, sizeof(Dim) * (size_t)(op->nsargs + 1));
    for (int i = 0; i < op->nsargs; i++) r->sargs[i] = map_dim(c, op->sargs[i]);
  }
  r->args = map_vars(c, op->args, op->nargs);
  r->results = map_vars(c, op->results, op->nresults);
  if (op->kind == TO_CHECK) {
    r->dims[0] = map_dim(c, op->dims[0]);
    r->dims[1] = map_dim(c, op->dims[1]);
  }
  r->body_ops = (TirBlock){0};
  r->else_ops = (TirBlock){0};
  map_block(c, &op->body_ops, &r->body_ops);
  map_block(c, &op->else_ops, &r->else_ops);
  return r;
}

static void map_block(Clone *c, const TirBlock *from, TirBlock *to) {
  for (int i = 0; i < from->n; i++) tir_block_append(c->p->arena, to, map_op(c, from->ops[i]));
  if ((c->budget -= from->n) < 0) c->ok = 0;
}

/* result[i..] = value[i..]: a copy (a scalar too) */
static TirOp *copy_into(Clone *c, TirVar *result, TirVar *value, Span sp) {
  int r = result->type->rank;
  TirIndex **idx = arena_alloc(c->p->arena, sizeof(TirIndex *) * (size_t)(r + 1));
  for (int k = 0; k < r; k++) idx[k] = tir_index_new(c->p->arena, c->caller, "i", result->type->dims[k]);
  TirExpr *src = r ? tir_make_access(c->p->arena, value, tir_make_positions(c->p->arena, idx, r), sp)
                   : tir_make_read(c->p->arena, value, sp);
  return tir_make_einsum(c->p->arena, result, idx, r, src, sp);
}

/* return a, b, ..: the values into the call's results, through
 * temporaries where a result is also an argument (x = f(K, x), or swapped
 * results): all values first, then the copies */
static void emit_return(Clone *c, const TirOp *ret, TirBlock *b) {
  const TirOp *op = c->call;
  TirVar *tmp[64] = {0};
  int n = ret->nargs < op->nresults ? ret->nargs : op->nresults;
  if (n > 64) {
    c->ok = 0;
    return;
  }
  for (int i = 0; i < n; i++) {
    if (!op->results[i]) continue;
    TirVar *val = map_var(c, ret->args[i]);
    for (int a = 0; a < op->nargs; a++)
      if (op->args[a] == op->results[i] || op->args[a] == val) tmp[i] = tir_var_new(c->p->arena, c->caller, NULL, op->results[i]->type);
    if (tmp[i]) tir_block_append(c->p->arena, b, copy_into(c, tmp[i], val, op->span));
  }
  for (int i = 0; i < n; i++)
    if (op->results[i])
      tir_block_append(c->p->arena, b, copy_into(c, op->results[i], tmp[i] ? tmp[i] : map_var(c, ret->args[i]), op->span));
}

/* A block and what follows it (rest[from..], in the enclosing blocks),
 * copied up to the RETURN that ends each path:
 *   if cond { ..; return a }; rest; return b
 * becomes if cond { ..; results = a } else { rest; results = b }. */
typedef struct Rest {
  const TirBlock *b;
  int from;
  const struct Rest *up;
} Rest;

static void map_tail(Clone *c, const TirBlock *from, int at, const Rest *rest, TirBlock *to) {
  for (int i = at; i < from->n && c->ok; i++) {
    const TirOp *op = from->ops[i];
    if (--c->budget < 0) c->ok = 0;
    if (op->kind == TO_RETURN) {
      emit_return(c, op, to);
      return;
    }
    if (op->kind != TO_IF || !has_return(op)) {
      tir_block_append(c->p->arena, to, map_op(c, op));
      continue;
    }
    /* an if with a return inside: each branch continues with the rest */
    TirOp *r = tir_op_new(c->p->arena, TO_IF, op->span);
    *r = *op;
    r->cond = map_expr(c, op->cond);
    r->body_ops = (TirBlock){0};
    r->else_ops = (TirBlock){0};
    Rest after = {from, i + 1, rest};
    map_tail(c, &op->body_ops, 0, &after, &r->body_ops);
    map_tail(c, &op->else_ops, 0, &after, &r->else_ops);
    tir_block_append(c->p->arena, to, r);
    return;
  }
  if (rest) map_tail(c, rest->b, rest->from, rest->up, to);
}

/* The ops replacing call op (NULL when the copy fails). */
static TirBlock *inline_call(TirProgram *p, TirFunc *caller, const TirOp *op) {
  TirFunc *f = op->fn;
  Clone c = {p, caller, f, op, NULL, NULL, 1, MAXCOPY};
  c.vars = arena_alloc(p->arena, sizeof(TirVar *) * (size_t)(f->vars.n + 1));
  memset(c.vars, 0, sizeof(TirVar *) * (size_t)(f->vars.n + 1));
  c.idx = arena_alloc(p->arena, sizeof(TirIndex *) * (size_t)(f->nindices + 1));
  memset(c.idx, 0, sizeof(TirIndex *) * (size_t)(f->nindices + 1));
  for (int i = 0; i < f->params.n; i++) {
    TirVar *pv = f->params.items[i];
    c.vars[pv->id] = op->args[i];
  }
  TirBlock *b = arena_alloc(p->arena, sizeof *b);
  memset(b, 0, sizeof *b);
  map_tail(&c, &f->body, 0, NULL, b);
  return c.ok ? b : NULL;
}

/* ---- the pass ---- */

typedef struct Done {
  TirProgram *p;
  TirFunc *f;
  int n;
} Done;

static void record(Done *d, const TirOp *op) {
  StructureInfo *si = arena_alloc(d->p->arena, sizeof *si);
  si->span = op->span;
  si->target = op->fn->source_name;
  si->algebra = arena_printf(d->p->arena, "call of '%s' inlined: it is passed a Kronecker product, which its "
                             "contractions and linear algebra then read through the factors", op->fn->source_name);
  ptrvec_push(d->p->arena, &d->p->structures, si);
  d->n++;
}

static void inline_block(Done *d, TirBlock *b) {
  for (int i = 0; i < b->n; i++) {
    TirOp *op = b->ops[i];
    inline_block(d, &op->body_ops);
    inline_block(d, &op->else_ops);
    if (!inlinable(d->f, op)) continue;
    TirBlock *with = inline_call(d->p, d->f, op);
    if (!with) continue;
    record(d, op);
    for (int k = 0; k < with->n; k++) tir_block_append(d->p->arena, b, with->ops[k]);
    memmove(&b->ops[i + with->n], &b->ops[i + 1], sizeof(TirOp *) * (size_t)(b->n - with->n - i - 1));
    memcpy(&b->ops[i], with->ops, sizeof(TirOp *) * (size_t)with->n);
    b->n--;
    i += with->n - 1;
  }
}

void pass_kroninline(TirProgram *p, const PassOptions *o) {
  (void)o;
  for (int i = 0; i < p->funcs.n; i++) {
    Done d = {p, p->funcs.items[i], 0};
    for (int round = 0; round < MAXDEPTH; round++) {   /* calls inside inlined bodies */
      int before = d.n;
      inline_block(&d, &d.f->body);
      if (d.n == before) break;
    }
  }
}
