/* path.c — contraction-order search (API: path.h; algorithm and measured
 * times: docs/contraction.md, "Path search").
 *
 * Every search method builds a Plan: steps over SSA ids (0..n-1 the
 * operands, n+s the result of step s). The chosen plan is converted to the
 * linear convention and priced by path_eval(), so the reported costs always
 * come from one function.
 *
 * Inside the search, index ids are renumbered densely (Prob) so that set
 * sizes are products of a few byte-indexed tables. */
#include "path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF HUGE_VAL

enum {
  TOPK = 8,                     /* greedy restarts sample among the best 8 */
  CONN_WORK_BUDGET = 800000,    /* connected DP gives up after this much
                                 * work: 1 per candidate pair, 4 more per
                                 * pair joined (a few ms; a chain of 64
                                 * matrices needs 700000) */
  CONN_ENTRY_BUDGET = 200000,   /* ... or this many connected subsets */
};

/* ------------------------------------------------------------------ */
/* Sets and sizes                                                      */

static int popc(uint64_t x) { return __builtin_popcountll(x); }
static int ctz(uint64_t x) { return __builtin_ctzll(x); }
static uint64_t bit(int i) { return (uint64_t)1 << i; }

double path_set_size(const int64_t *sizes, uint64_t set) {
  double s = 1;
  for (; set; set &= set - 1) s *= (double)sizes[ctz(set)];
  return s;
}

double path_step_flops(const int64_t *sizes, uint64_t u, int k, int sums) {
  return path_set_size(sizes, u) * ((k > 1 ? k - 1 : 1) + (sums ? 1 : 0));
}

double path_naive_cost(const PathProblem *p) {
  uint64_t u = 0;
  int total = 0;
  for (int i = 0; i < p->n; i++) {
    u |= p->operands[i];
    total += popc(p->operands[i]);
  }
  return path_step_flops(p->sizes, u, p->n, total > popc(u));
}

/* Rejects what no path can satisfy, before any allocation. */
static PathStatus problem_check(const PathProblem *p) {
  if (!p || p->n < 1 || !p->operands || !p->sizes) return PATH_EINVAL;
  if (!(p->memory_limit >= 0)) return PATH_EINVAL;
  uint64_t u = 0;
  for (int i = 0; i < p->n; i++) u |= p->operands[i];
  if (p->output & ~u) return PATH_EINVAL;
  for (uint64_t s = u; s; s &= s - 1)
    if (p->sizes[ctz(s)] < 0) return PATH_EINVAL;
  return PATH_OK;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

static void *res_alloc(const PathProblem *p, size_t n) {
  if (p->alloc) return p->alloc(p->alloc_ud, n ? n : 1);
  return calloc(1, n ? n : 1);
}

void path_result_free(PathResult *r) {
  if (!r) return;
  if (r->owned) {
    free(r->steps);
    free(r->arg_store);
  }
  memset(r, 0, sizeof *r);
}

const char *path_method_name(PathMethod m) {
  switch (m) {
  case PATH_METHOD_SINGLE: return "single";
  case PATH_METHOD_EXACT: return "exact";
  case PATH_METHOD_CONNECTED: return "connected-dp";
  case PATH_METHOD_GREEDY: return "greedy";
  case PATH_METHOD_GIVEN: return "given";
  }
  return "?";
}

int path_format(const PathResult *r, char *buf, size_t cap) {
  size_t len = 0;
  char tmp[16];
#define PUT(str)                                                     \
  do {                                                               \
    for (const char *q_ = (str); *q_; q_++, len++)                   \
      if (len + 1 < cap) buf[len] = *q_;                             \
  } while (0)
  PUT("[");
  for (int s = 0; s < r->n_steps; s++) {
    PUT(s ? ",[" : "[");
    for (int a = 0; a < r->steps[s].n_args; a++) {
      snprintf(tmp, sizeof tmp, a ? ",%d" : "%d", r->steps[s].args[a]);
      PUT(tmp);
    }
    PUT("]");
  }
  PUT("]");
#undef PUT
  if (cap) buf[len < cap ? len : cap - 1] = 0;
  return (int)len;
}

/* Checks the positions of every step before anything is allocated, so a
 * bad path costs no cleanup. */
static PathStatus path_check(int n, int n_steps, const int *len,
                             const int *args, char *seen) {
  int live = n, at = 0;
  if (n_steps < 1) return PATH_EINVAL;
  for (int s = 0; s < n_steps; s++) {
    if (len[s] < 1 || len[s] > live) return PATH_EINVAL;
    memset(seen, 0, (size_t)live);
    for (int a = 0; a < len[s]; a++) {
      int q = args[at + a];
      if (q < 0 || q >= live || seen[q]) return PATH_EINVAL;
      seen[q] = 1;
    }
    at += len[s];
    live += 1 - len[s];
  }
  return live == 1 ? PATH_OK : PATH_EINVAL;
}

/* Prices one step on the current list and replaces its operands by the
 * result at the end. */
static void eval_step(const PathProblem *p, uint64_t *cur, int *live,
                      const char *pick, PathStep *st) {
  uint64_t u = 0, others = 0;
  int w = 0;
  for (int q = 0; q < *live; q++) {
    if (pick[q]) u |= cur[q];
    else others |= cur[q], cur[w++] = cur[q];
  }
  uint64_t res = u & (p->output | others);
  st->result = res;
  st->size = path_set_size(p->sizes, res);
  st->cost = path_step_flops(p->sizes, u, st->n_args, u != res);
  cur[w++] = res;
  *live = w;
}

PathStatus path_eval(const PathProblem *p, int n_steps, const int *step_len,
                     const int *step_args, PathResult *out) {
  memset(out, 0, sizeof *out);
  PathStatus st = problem_check(p);
  if (st != PATH_OK) return st;
  if (n_steps < 0 || (n_steps && (!step_len || !step_args))) return PATH_EINVAL;
  char *pick = malloc((size_t)p->n);
  uint64_t *cur = malloc(sizeof *cur * (size_t)p->n);
  if (!pick || !cur) {
    free(pick), free(cur);
    return PATH_ENOMEM;
  }
  st = path_check(p->n, n_steps, step_len, step_args, pick);
  int total = 0;
  for (int s = 0; st == PATH_OK && s < n_steps; s++) total += step_len[s];
  if (st == PATH_OK) {
    out->steps = res_alloc(p, sizeof *out->steps * (size_t)n_steps);
    out->arg_store = res_alloc(p, sizeof *out->arg_store * (size_t)total);
    out->owned = p->alloc == NULL;
    if (!out->steps || !out->arg_store) st = PATH_ENOMEM;
  }
  if (st != PATH_OK) {
    free(pick), free(cur);
    path_result_free(out);
    return st;
  }
  memcpy(cur, p->operands, sizeof *cur * (size_t)p->n);
  memcpy(out->arg_store, step_args, sizeof *step_args * (size_t)total);
  int live = p->n, at = 0;
  out->n_steps = n_steps;
  out->method = PATH_METHOD_GIVEN;
  out->naive = path_naive_cost(p);
  for (int s = 0; s < n_steps; s++) {
    PathStep *ps = &out->steps[s];
    ps->n_args = step_len[s];
    ps->args = out->arg_store + at;
    memset(pick, 0, (size_t)live);
    for (int a = 0; a < ps->n_args; a++) pick[ps->args[a]] = 1;
    at += ps->n_args;
    eval_step(p, cur, &live, pick, ps);
    out->cost += ps->cost;
    if (ps->size > out->largest) out->largest = ps->size;
    if (ps->n_args > 2) out->fallback = 1;
  }
  free(pick), free(cur);
  return PATH_OK;
}

/* ------------------------------------------------------------------ */
/* The problem with dense index ids                                    */

typedef struct Prob {
  int n;
  int nbytes;             /* bytes of a dense mask that can be non-zero */
  uint64_t out;
  uint64_t *m;            /* operand sets */
  uint64_t *red;          /* m minus its private indices */
  double *redcost;        /* cost of reducing alone; INF if not useful */
  uint64_t ops_of[64];    /* per dense index: operands containing it (n<=64) */
  double limit;           /* INF when none */
  double tab[8][256];     /* size of each byte pattern of a mask */
} Prob;

/* Size of a dense set: one table lookup per byte in use. */
static inline double psize(const Prob *P, uint64_t s) {
  double r = P->tab[0][s & 255];
  for (int k = 1; k < P->nbytes; k++) r *= P->tab[k][(s >> (8 * k)) & 255];
  return r;
}

static void prob_tables(Prob *P, const double *dsize, int nids) {
  P->nbytes = nids ? (nids + 7) / 8 : 1;
  for (int k = 0; k < 8; k++) {
    P->tab[k][0] = 1;
    for (int b = 1; b < 256; b++) {
      int id = 8 * k + ctz((uint64_t)b);
      P->tab[k][b] = P->tab[k][b & (b - 1)] * (id < nids ? dsize[id] : 1);
    }
  }
}

/* Private indices (in one operand only, not in the output) can be summed
 * by reducing that operand alone first (cost 2*size, allowed if the result
 * fits the memory limit) or inside its first pairwise step. */
static void prob_private(Prob *P) {
  for (int i = 0; i < P->n; i++) {
    uint64_t others = 0;
    for (int j = 0; j < P->n; j++)
      if (j != i) others |= P->m[j];
    P->red[i] = P->m[i] & (P->out | others);
    double c = INF;
    if (P->red[i] != P->m[i] && psize(P, P->red[i]) <= P->limit)
      c = 2 * psize(P, P->m[i]);
    P->redcost[i] = c;
  }
}

static void prob_free(Prob *P) {
  if (!P) return;
  free(P->m);
  free(P->red);
  free(P->redcost);
  free(P);
}

/* Renumbers the used ids densely and precomputes what every method uses. */
static Prob *prob_new(const PathProblem *p) {
  Prob *P = calloc(1, sizeof *P);
  if (!P) return NULL;
  P->n = p->n;
  P->m = malloc(sizeof *P->m * (size_t)p->n);
  P->red = malloc(sizeof *P->red * (size_t)p->n);
  P->redcost = malloc(sizeof *P->redcost * (size_t)p->n);
  if (!P->m || !P->red || !P->redcost) {
    prob_free(P);
    return NULL;
  }
  uint64_t u = p->output;
  for (int i = 0; i < p->n; i++) u |= p->operands[i];
  int dense[64], nids = 0;
  double dsize[64];
  for (int id = 0; id < 64; id++) {
    dense[id] = -1;
    if (u & bit(id)) dsize[nids] = (double)p->sizes[id], dense[id] = nids++;
  }
  for (int i = 0; i <= p->n; i++) {
    uint64_t s = i < p->n ? p->operands[i] : p->output, d = 0;
    for (; s; s &= s - 1) d |= bit(dense[ctz(s)]);
    if (i < p->n) P->m[i] = d;
    else P->out = d;
  }
  for (int i = 0; i < p->n && i < 64; i++)
    for (uint64_t s = P->m[i]; s; s &= s - 1) P->ops_of[ctz(s)] |= bit(i);
  P->limit = p->memory_limit > 0 ? p->memory_limit : INF;
  prob_tables(P, dsize, nids);
  prob_private(P);
  return P;
}

/* ------------------------------------------------------------------ */
/* Plans: steps over SSA ids                                           */

typedef struct Plan {
  int n_steps, cap;
  int *off;        /* step s has args[off[s] .. off[s+1]) */
  int *args;
  int nargs, argcap;
  double cost;
  int fallback;    /* a k-ary step was needed for the memory limit */
} Plan;

static void plan_free(Plan *pl) {
  free(pl->off);
  free(pl->args);
  memset(pl, 0, sizeof *pl);
}

/* Appends a step; returns its SSA id (n + index) or -1 out of memory. */
static int plan_push(Plan *pl, int n, int k, const int *ids) {
  if (pl->n_steps + 2 > pl->cap) {
    int c = pl->cap ? 2 * pl->cap : 16;
    int *o = realloc(pl->off, sizeof *o * (size_t)c);
    if (!o) return -1;
    pl->off = o, pl->cap = c;
  }
  if (pl->nargs + k > pl->argcap) {
    int c = pl->argcap ? 2 * pl->argcap : 32;
    while (c < pl->nargs + k) c *= 2;
    int *a = realloc(pl->args, sizeof *a * (size_t)c);
    if (!a) return -1;
    pl->args = a, pl->argcap = c;
  }
  if (pl->n_steps == 0) pl->off[0] = 0;
  memcpy(pl->args + pl->nargs, ids, sizeof *ids * (size_t)k);
  pl->nargs += k;
  pl->off[++pl->n_steps] = pl->nargs;
  return n + pl->n_steps - 1;
}

static int plan_push2(Plan *pl, int n, int a, int b) {
  int ids[2] = {a, b};
  return plan_push(pl, n, 2, ids);
}

/* Steals src into dst (the better plan), freeing what dst held. */
static void plan_take(Plan *dst, Plan *src) {
  plan_free(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

static int cmp_int(const void *a, const void *b) {
  return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* SSA ids to positions in the current list (opt_einsum's linear format);
 * len/args receive one entry per step / per argument. */
static void plan_linear(const Plan *pl, int n, int *cur, int *len, int *args) {
  int live = n;
  for (int i = 0; i < n; i++) cur[i] = i;
  for (int s = 0; s < pl->n_steps; s++) {
    int k = pl->off[s + 1] - pl->off[s];
    int *pos = args + pl->off[s];
    for (int a = 0; a < k; a++)
      for (int q = 0; q < live; q++)
        if (cur[q] == pl->args[pl->off[s] + a]) pos[a] = q;
    qsort(pos, (size_t)k, sizeof *pos, cmp_int);
    int w = 0, a = 0;
    for (int q = 0; q < live; q++) {
      if (a < k && pos[a] == q) a++;
      else cur[w++] = cur[q];
    }
    cur[w++] = n + s;
    live = w;
    len[s] = k;
  }
}

/* Prices a plan on the dense problem (to compare candidate plans). */
static double plan_price(const Prob *P, const Plan *pl, uint64_t *mask,
                         char *alive) {
  int n = P->n, ids = n + pl->n_steps;
  double cost = 0;
  for (int i = 0; i < ids; i++) alive[i] = i < n;
  memcpy(mask, P->m, sizeof *mask * (size_t)n);
  for (int s = 0; s < pl->n_steps; s++) {
    uint64_t u = 0, others = 0;
    int k = pl->off[s + 1] - pl->off[s];
    for (int a = 0; a < k; a++) {
      int id = pl->args[pl->off[s] + a];
      u |= mask[id], alive[id] = 0;
    }
    for (int i = 0; i < n + s; i++)
      if (alive[i]) others |= mask[i];
    uint64_t res = u & (P->out | others);
    mask[n + s] = res, alive[n + s] = 1;
    cost += psize(P, u) * ((k > 1 ? k - 1 : 1) + (u != res));
  }
  return cost;
}

/* ------------------------------------------------------------------ */
/* Joining two sub-results                                             */

/* One side of a pairwise step: a sub-result (one variant) or an operand
 * taken as it is (variant 0) or first reduced alone (variant 1). */
typedef struct Side {
  uint64_t m[2];
  double c[2];
} Side;

static Side side_leaf(const Prob *P, int i) {
  Side s = {{P->m[i], P->red[i]}, {0, P->redcost[i]}};
  return s;
}

static Side side_sub(uint64_t keep, double cost) {
  Side s = {{keep, keep}, {cost, INF}};
  return s;
}

/* Cheapest join of a and b into result res below bound; *fl gets the
 * variants (bit 0: a reduced first, bit 1: b reduced first). */
static double side_join(const Prob *P, const Side *a, const Side *b,
                        uint64_t res, double bound, int *fl) {
  for (int va = 0; va < 2; va++) {
    if (a->c[va] >= bound) continue;
    for (int vb = 0; vb < 2; vb++) {
      double base = a->c[va] + b->c[vb];
      if (base >= bound) continue;
      uint64_t u = a->m[va] | b->m[vb];
      double c = base + psize(P, u) * (1 + (u != res));
      if (c < bound) bound = c, *fl = va | vb << 1;
    }
  }
  return bound;
}

/* Emits a tree stored as splits. get_split returns the left part of S and
 * its variant flags; leaves reduced first get their own one-operand step. */
typedef uint64_t (*SplitFn)(const void *ctx, uint64_t s, int *fl);

static int emit_tree(Plan *pl, int n, const void *ctx, SplitFn get,
                     uint64_t s);

static int emit_side(Plan *pl, int n, const void *ctx, SplitFn get,
                     uint64_t s, int reduce) {
  if (s & (s - 1)) return emit_tree(pl, n, ctx, get, s);
  int id = ctz(s);
  return reduce ? plan_push(pl, n, 1, &id) : id;
}

static int emit_tree(Plan *pl, int n, const void *ctx, SplitFn get,
                     uint64_t s) {
  int fl = 0;
  uint64_t left = get(ctx, s, &fl);
  int a = emit_side(pl, n, ctx, get, left, fl & 1);
  int b = a < 0 ? -1 : emit_side(pl, n, ctx, get, s ^ left, fl & 2);
  return b < 0 ? -1 : plan_push2(pl, n, a, b);
}

/* ------------------------------------------------------------------ */
/* Exact DP over all subsets (n <= PATH_EXACT_CAP)                     */

typedef struct Exact {
  double *best;      /* cheapest tree for the subset; INF = pruned */
  uint64_t *keep;    /* indices of the subset's result */
  uint32_t *split;   /* left part of the best split */
  uint8_t *flags;    /* its variants */
} Exact;

static uint64_t exact_split(const void *ctx, uint64_t s, int *fl) {
  const Exact *e = ctx;
  *fl = e->flags[s];
  return e->split[s];
}

/* keep[S]: indices of S's operands that are in the output or in an
 * operand outside S. */
static void exact_keep(const Prob *P, uint64_t *keep) {
  uint64_t full = bit(P->n) - 1;
  keep[0] = 0;
  for (uint64_t s = 1; s <= full; s++) keep[s] = keep[s & (s - 1)] | P->m[ctz(s)];
  for (uint64_t s = 0; s <= full / 2; s++) {
    uint64_t c = full ^ s, us = keep[s], uc = keep[c];
    keep[s] = us & (P->out | uc);
    keep[c] = uc & (P->out | us);
  }
}

/* Best tree for S over all splits A|B (A holds S's lowest operand). Only
 * trees that can still beat ub count: S's result must be consumed by a
 * later step costing at least its size, so best[S] + size < ub. */
static void exact_subset(const Prob *P, Exact *e, uint64_t s, uint64_t full,
                         double ub) {
  uint64_t res = e->keep[s], low = s & -s, rest = s ^ low, sub = rest;
  double sz = psize(P, res), bound = ub;
  if (s != full) {
    if (sz > P->limit) {
      e->best[s] = INF;
      return;
    }
    bound = ub - sz;
  }
  /* the joining step costs at least size(res): its indices include res */
  double found = bound, cut = found - sz;
  Side la = side_leaf(P, ctz(low)), sa, sb;
  do {
    sub = (sub - 1) & rest;
    uint64_t a = low | sub, b = rest ^ sub;
    double ca = e->best[a], cb = e->best[b];
    if (ca + cb >= cut) continue;
    sa = sub ? side_sub(e->keep[a], ca) : la;
    sb = (b & (b - 1)) ? side_sub(e->keep[b], cb) : side_leaf(P, ctz(b));
    int fl = 0;
    double c = side_join(P, &sa, &sb, res, found, &fl);
    if (c < found) {
      found = c, cut = c - sz;
      e->split[s] = (uint32_t)a, e->flags[s] = (uint8_t)fl;
    }
  } while (sub);
  e->best[s] = found < bound ? found : INF;
}

/* Fills the tables by increasing subset (every part of S is smaller than
 * S as a number) and emits the best tree. Returns 1 found, 0 nothing below
 * ub, -1 out of memory. */
static int exact_search(const Prob *P, double ub, Plan *pl) {
  size_t cnt = (size_t)1 << P->n;
  uint64_t full = bit(P->n) - 1;
  Exact e = {malloc(sizeof *e.best * cnt), malloc(sizeof *e.keep * cnt),
             malloc(sizeof *e.split * cnt), malloc(cnt)};
  int r = -1;
  if (e.best && e.keep && e.split && e.flags) {
    exact_keep(P, e.keep);
    e.best[0] = INF;
    for (uint64_t s = 1; s <= full; s++) {
      if (s & (s - 1)) exact_subset(P, &e, s, full, ub);
      else e.best[s] = 0;
    }
    r = 0;
    if (e.best[full] < INF)
      r = emit_tree(pl, P->n, &e, exact_split, full) < 0 ? -1 : 1;
  }
  free(e.best), free(e.keep), free(e.split), free(e.flags);
  return r;
}

/* ------------------------------------------------------------------ */
/* Greedy with random restarts                                         */

typedef struct Rng { uint64_t s; } Rng;

/* splitmix64: small, fast, and its state lives with the caller. */
static uint64_t rng_next(Rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

typedef struct GItem {
  uint64_t m;     /* current index set */
  double sz;      /* its size */
  int id;         /* SSA id */
  int leaf;       /* operand index if still unreduced with private indices */
} GItem;

/* A candidate pair; ties go to the older ids, as in opt_einsum. */
typedef struct GCand {
  double h;
  int hi, lo;     /* SSA ids, hi > lo */
  int i, j;       /* positions in Greedy.it */
} GCand;

typedef struct Greedy {
  const Prob *P;
  GItem *it;
  int live;
  uint64_t link;       /* indices that make a pair worth contracting: not
                        * output, not in every operand (opt_einsum's rule) */
  uint64_t ge2, ge3;   /* indices in >= 2 / >= 3 live items */
  double alpha, beta;  /* score weights (see greedy_scan) */
  double temp;         /* 0 = deterministic */
  Rng *rng;
  GCand top[TOPK];
  int ntop;
} Greedy;

static void greedy_counts(Greedy *g) {
  uint64_t one = 0, two = 0, three = 0;
  for (int q = 0; q < g->live; q++) {
    uint64_t m = g->it[q].m;
    three |= two & m;
    two |= one & m;
    one |= m;
  }
  g->ge2 = two, g->ge3 = three;
}

/* Result of joining items i and j: what is in the output or in a third
 * live item. */
static uint64_t greedy_result(const Greedy *g, int i, int j) {
  uint64_t a = g->it[i].m, b = g->it[j].m, both = a & b, one = (a | b) ^ both;
  return (a | b) & (g->P->out | (one & g->ge2) | (both & g->ge3));
}

static int gcand_less(const GCand *a, const GCand *b) {
  if (a->h != b->h) return a->h < b->h;
  return a->hi != b->hi ? a->hi < b->hi : a->lo < b->lo;
}

/* Keeps the TOPK best candidates (only the best when deterministic). */
static void greedy_offer(Greedy *g, GCand c) {
  int cap = g->temp > 0 ? TOPK : 1;
  if (g->ntop == cap && !gcand_less(&c, &g->top[cap - 1])) return;
  int q = g->ntop < cap ? g->ntop++ : cap - 1;
  while (q > 0 && gcand_less(&c, &g->top[q - 1])) g->top[q] = g->top[q - 1], q--;
  g->top[q] = c;
}

/* Phase 1 (opt_einsum's greedy): pairs sharing a linking index, score
 * size(result) - alpha * (size(a) + size(b)) + beta * size(a | b); alpha 1
 * and beta 0 is opt_einsum's "memory-removed". Phase 2 (outer): any pair,
 * smallest result first. Results over the memory limit are skipped. */
static void greedy_scan(Greedy *g, int outer) {
  const Prob *P = g->P;
  g->ntop = 0;
  for (int i = 0; i < g->live; i++)
    for (int j = i + 1; j < g->live; j++) {
      const GItem *a = &g->it[i], *b = &g->it[j];
      if (!outer && !(a->m & b->m & g->link)) continue;
      double sz = psize(P, greedy_result(g, i, j));
      if (g->live > 2 && sz > P->limit) continue;
      double h = outer ? sz : sz - g->alpha * (a->sz + b->sz);
      if (!outer && g->beta > 0) h += g->beta * psize(P, a->m | b->m);
      int hi = a->id > b->id ? a->id : b->id, lo = a->id ^ b->id ^ hi;
      greedy_offer(g, (GCand){h, hi, lo, i, j});
    }
}

/* Boltzmann choice among the best candidates, relative to the best. */
static GCand greedy_pick(Greedy *g) {
  if (g->temp <= 0 || g->ntop == 1) return g->top[0];
  double h0 = g->top[0].h, scale = g->temp * (fabs(h0) > 1 ? fabs(h0) : 1);
  double w[TOPK], tot = 0;
  for (int q = 0; q < g->ntop; q++) tot += w[q] = exp(-(g->top[q].h - h0) / scale);
  double x = rng_unit(g->rng) * tot;
  for (int q = 0; q < g->ntop; q++)
    if ((x -= w[q]) <= 0) return g->top[q];
  return g->top[g->ntop - 1];
}

/* Joins items i and j, reducing either alone first when that is cheaper;
 * item i becomes the result, j is removed. */
static int greedy_join(Greedy *g, Plan *pl, int i, int j) {
  const Prob *P = g->P;
  GItem *a = &g->it[i], *b = &g->it[j];
  Side sa = a->leaf >= 0 ? side_leaf(P, a->leaf) : side_sub(a->m, 0);
  Side sb = b->leaf >= 0 ? side_leaf(P, b->leaf) : side_sub(b->m, 0);
  uint64_t res = greedy_result(g, i, j);
  int fl = 0, n = P->n;
  side_join(P, &sa, &sb, res, INF, &fl);
  int ia = a->id, ib = b->id;
  if (fl & 1) ia = plan_push(pl, n, 1, &ia);
  if ((fl & 2) && ia >= 0) ib = plan_push(pl, n, 1, &ib);
  int id = ia < 0 || ib < 0 ? -1 : plan_push2(pl, n, ia, ib);
  *a = (GItem){res, psize(P, res), id, -1};
  g->it[j] = g->it[--g->live];
  greedy_counts(g);
  return id;
}

/* Nothing fits the memory limit: contract everything left in one step. */
static int greedy_fallback(Greedy *g, Plan *pl) {
  int *ids = malloc(sizeof *ids * (size_t)g->live);
  if (!ids) return -1;
  for (int q = 0; q < g->live; q++) ids[q] = g->it[q].id;
  int id = plan_push(pl, g->P->n, g->live, ids);
  free(ids);
  g->live = 1;
  pl->fallback = 1;
  return id;
}

/* opt_einsum first multiplies operands with identical index sets
 * (Hadamard products), in input order. */
static int greedy_dedupe(Greedy *g, Plan *pl) {
  for (int j = 1; j < g->live; j++)
    for (int i = 0; i < j; i++) {
      if (g->it[i].m != g->it[j].m) continue;
      if (g->live > 2 && psize(g->P, greedy_result(g, i, j)) > g->P->limit) continue;
      if (greedy_join(g, pl, i, j) < 0) return -1;
      j--;  /* it[j] now holds the former last item */
      break;
    }
  return 0;
}

/* One greedy run into pl. Returns 0, or -1 out of memory. */
static int greedy_run(Greedy *g, Plan *pl) {
  const Prob *P = g->P;
  g->live = P->n;
  uint64_t all = ~(uint64_t)0;
  for (int i = 0; i < P->n; i++) {
    g->it[i] = (GItem){P->m[i], psize(P, P->m[i]), i, P->redcost[i] < INF ? i : -1};
    all &= P->m[i];
  }
  g->link = ~(P->out | all);
  greedy_counts(g);
  if (greedy_dedupe(g, pl) < 0) return -1;
  while (g->live > 1) {
    greedy_scan(g, 0);
    if (!g->ntop) greedy_scan(g, 1);
    int id;
    if (!g->ntop) id = greedy_fallback(g, pl);
    else {
      GCand c = greedy_pick(g);
      id = greedy_join(g, pl, c.i, c.j);
    }
    if (id < 0) return -1;
  }
  return 0;
}

/* Is plan a (cost c, fallback fa) better than b? Pairwise paths first. */
static int plan_better(double ca, int fa, double cb, int fb) {
  return fa != fb ? fa < fb : ca < cb;
}

/* Run 0 is opt_einsum's greedy; the others sample alpha in [0, 2], beta in
 * [0, 0.1] and a temperature in [0.01, 1] (log-uniform): the ranges that
 * did best on random 12-20 operand problems. Keeps the best plan. */
static int greedy_search(const Prob *P, int runs, uint64_t seed, Plan *best) {
  GItem *it = malloc(sizeof *it * (size_t)P->n);
  /* ids: n operands, at most n one-operand steps and n-1 joins */
  uint64_t *mask = malloc(sizeof *mask * (size_t)(3 * P->n));
  char *alive = malloc((size_t)(3 * P->n));
  Rng rng = {seed};
  Greedy g = {.P = P, .it = it, .rng = &rng, .alpha = 1};
  int r = it && mask && alive ? 0 : -1;
  best->cost = INF;
  best->fallback = 1;
  for (int k = 0; r == 0 && k < runs; k++) {
    Plan pl = {0};
    if (k > 0) {
      g.alpha = 2 * rng_unit(&rng);
      g.beta = 0.1 * rng_unit(&rng);
      g.temp = exp(log(0.01) * rng_unit(&rng));
    }
    r = greedy_run(&g, &pl);
    if (r == 0) pl.cost = plan_price(P, &pl, mask, alive);
    if (r == 0 && plan_better(pl.cost, pl.fallback, best->cost, best->fallback))
      plan_take(best, &pl);
    plan_free(&pl);
  }
  free(it), free(mask), free(alive);
  return r;
}

/* ------------------------------------------------------------------ */
/* DP over connected subsets (n <= 64), per connected component        */

typedef struct CEnt {
  uint64_t s, keep, left;
  uint64_t nbr;        /* operands outside s sharing an index with it */
  double cost;
  int flags;
} CEnt;

typedef struct Conn {
  const Prob *P;
  CEnt *e;
  size_t ne, cap;
  uint64_t *hkey;      /* open addressing: subset -> entry index */
  int32_t *hval;
  size_t hcap;
  long work;
  double ub;
} Conn;

static size_t conn_hash(uint64_t s, size_t cap) {
  return (size_t)((s * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static int32_t conn_find(const Conn *c, uint64_t s) {
  for (size_t h = conn_hash(s, c->hcap);; h = (h + 1) & (c->hcap - 1)) {
    if (c->hkey[h] == s) return c->hval[h];
    if (!c->hkey[h]) return -1;
  }
}

static void conn_place(Conn *c, uint64_t s, int32_t v) {
  size_t h = conn_hash(s, c->hcap);
  while (c->hkey[h]) h = (h + 1) & (c->hcap - 1);
  c->hkey[h] = s, c->hval[h] = v;
}

/* Doubles the hash table and the entry array when half full. */
static int conn_grow(Conn *c) {
  if (c->ne + 1 < c->cap && 2 * (c->ne + 1) < c->hcap) return 0;
  size_t cap = c->cap ? 2 * c->cap : 1024, hcap = 2 * cap;
  CEnt *e = realloc(c->e, sizeof *e * cap);
  if (!e) return -1;
  c->e = e, c->cap = cap;
  uint64_t *k = calloc(hcap, sizeof *k);
  int32_t *v = malloc(sizeof *v * hcap);
  if (!k || !v) {
    free(k), free(v);
    return -1;
  }
  free(c->hkey), free(c->hval);
  c->hkey = k, c->hval = v, c->hcap = hcap;
  for (size_t q = 0; q < c->ne; q++) conn_place(c, c->e[q].s, (int32_t)q);
  return 0;
}

static uint64_t conn_split(const void *ctx, uint64_t s, int *fl) {
  const Conn *c = ctx;
  const CEnt *x = &c->e[conn_find(c, s)];
  *fl = x->flags;
  return x->left;
}

/* Operands outside s that share one of the indices keep. */
static uint64_t conn_nbr(const Prob *P, uint64_t s, uint64_t keep) {
  uint64_t nb = 0;
  for (; keep; keep &= keep - 1) nb |= P->ops_of[ctz(keep)];
  return nb & ~s;
}

/* Indices of S's operands in the output or in an operand outside S. */
static uint64_t conn_keep(const Prob *P, uint64_t s, uint64_t u) {
  uint64_t keep = u & P->out;
  for (uint64_t r = u & ~P->out; r; r &= r - 1)
    if (P->ops_of[ctz(r)] & ~s) keep |= r & -r;
  return keep;
}

static Side conn_side(const Conn *c, const CEnt *x) {
  return (x->s & (x->s - 1)) ? side_sub(x->keep, x->cost)
                             : side_leaf(c->P, ctz(x->s));
}

/* Tries joining entries ia and ib; records S if new or cheaper. final:
 * S is the whole component and the component is the whole problem.
 * Returns -1 out of memory. */
static int conn_pair(Conn *c, size_t ia, size_t ib, uint64_t comp, int single) {
  const CEnt *a = &c->e[ia], *b = &c->e[ib];
  if ((a->s & b->s) || !(a->keep & b->keep)) return 0;
  /* the step costs at least the size of what the two sides keep */
  if (a->cost + b->cost + psize(c->P, a->keep | b->keep) >= c->ub) return 0;
  uint64_t s = a->s | b->s, left = a->s;
  uint64_t res = conn_keep(c->P, s, a->keep | b->keep);
  int final = single && s == comp;
  double bound = c->ub;
  if (!final) {
    double sz = psize(c->P, res);
    if (sz > c->P->limit) return 0;
    bound -= sz;
  }
  int32_t at = conn_find(c, s);
  if (at >= 0 && c->e[at].cost < bound) bound = c->e[at].cost;
  if (a->cost + b->cost >= bound) return 0;
  Side sa = conn_side(c, a), sb = conn_side(c, b);
  int fl = 0;
  double cost = side_join(c->P, &sa, &sb, res, bound, &fl);
  if (cost >= bound) return 0;
  if (at < 0) {  /* may move c->e: a and b are not used below */
    if (conn_grow(c) < 0) return -1;
    at = (int32_t)c->ne++;
    conn_place(c, s, at);
  }
  c->e[at] = (CEnt){s, res, left, conn_nbr(c->P, s, res), cost, fl};
  return 0;
}

/* The entries of one size, listed per operand they contain. */
typedef struct ByOpEnt {
  uint64_t s;   /* copied from the entry: scans stay in this array */
  size_t at;
} ByOpEnt;

typedef struct ByOp {
  int32_t off[65];
  ByOpEnt *idx;
} ByOp;

static int byop_build(const Conn *c, size_t lo, size_t hi, ByOp *b) {
  int32_t fill[64] = {0};
  memset(b->off, 0, sizeof b->off);
  for (size_t q = lo; q < hi; q++)
    for (uint64_t r = c->e[q].s; r; r &= r - 1) b->off[ctz(r) + 1]++;
  for (int v = 0; v < 64; v++) b->off[v + 1] += b->off[v];
  b->idx = malloc(sizeof *b->idx * (size_t)(b->off[64] + 1));
  if (!b->idx) return -1;
  for (size_t q = lo; q < hi; q++)
    for (uint64_t r = c->e[q].s; r; r &= r - 1) {
      int v = ctz(r);
      b->idx[b->off[v] + fill[v]++] = (ByOpEnt){c->e[q].s, q};
    }
  return 0;
}

/* Joins every entry a in [lo, hi) with the entries b of another size that
 * contain a neighbour of a: each pair once, through the lowest neighbour of
 * a in b. The lists scanned are those of the smaller size (shorter: on a
 * chain, k intervals of length k contain an operand). Returns 1, 0 over
 * budget, -1 out of memory. */
static int conn_joins(Conn *c, size_t lo, size_t hi, const ByOp *bj,
                      uint64_t comp, int single, int same) {
  for (size_t ia = lo; ia < hi; ia++) {
    uint64_t as = c->e[ia].s, nb = c->e[ia].nbr;
    for (uint64_t r = nb; r; r &= r - 1) {
      int v = ctz(r);
      for (int32_t q = bj->off[v]; q < bj->off[v + 1]; q++) {
        size_t ib = bj->idx[q].at;
        uint64_t bs = bj->idx[q].s;
        if (++c->work > CONN_WORK_BUDGET || c->ne > CONN_ENTRY_BUDGET) return 0;
        if ((bs & as) || ctz(bs & nb) != v || (same && ib < ia)) continue;
        c->work += 4;
        if (conn_pair(c, ia, ib, comp, single) < 0) return -1;
      }
    }
  }
  return 1;
}

/* One component, connected subsets by increasing size m, each from a
 * pair of sizes (m-k) + k, k <= m/2. Entries of size m are contiguous (first[m] ..
 * first[m+1]). Returns 1 done, 0 over budget, -1 out of memory. */
static int conn_component(Conn *c, uint64_t comp, int single) {
  int cn = popc(comp), r = 1;
  size_t first[66];
  ByOp by[65];
  first[1] = c->ne;
  for (uint64_t q = comp; q; q &= q - 1) {
    if (conn_grow(c) < 0) return -1;
    int i = ctz(q);
    c->e[c->ne] = (CEnt){bit(i), c->P->red[i], 0, conn_nbr(c->P, bit(i), c->P->red[i]), 0, 0};
    conn_place(c, bit(i), (int32_t)c->ne++);
  }
  first[2] = c->ne;
  int built = 0;
  for (int m = 2; m <= cn && r == 1; m++) {
    if (byop_build(c, first[m - 1], first[m], &by[m - 1]) < 0) {
      r = -1;
      break;
    }
    built = m - 1;
    for (int k = 1; 2 * k <= m && r == 1; k++)
      r = conn_joins(c, first[m - k], first[m - k + 1], &by[k], comp, single, 2 * k == m);
    first[m + 1] = c->ne;
  }
  for (int j = 1; j <= built; j++) free(by[j].idx);
  return r;
}

/* Components of the operands linked by shared indices. */
static int conn_components(const Prob *P, uint64_t *comp) {
  uint64_t left = P->n == 64 ? ~(uint64_t)0 : bit(P->n) - 1;
  int nc = 0;
  while (left) {
    uint64_t c = left & -left;
    for (;;) {  /* add every operand sharing an index, until closed */
      uint64_t grow = c;
      for (uint64_t r = c; r; r &= r - 1)
        for (uint64_t ix = P->m[ctz(r)]; ix; ix &= ix - 1) grow |= P->ops_of[ctz(ix)];
      if (grow == c) break;
      c = grow;
    }
    comp[nc++] = c;
    left &= ~c;
  }
  return nc;
}

/* Joins the components' results by outer products, smallest two first. */
static int conn_outer(const Prob *P, Plan *pl, int *ids, uint64_t *keep, int nc) {
  while (nc > 1) {
    int a = 0, b = 1;
    if (psize(P, keep[b]) < psize(P, keep[a])) a = 1, b = 0;
    for (int q = 2; q < nc; q++) {
      double sz = psize(P, keep[q]);
      if (sz < psize(P, keep[a])) b = a, a = q;
      else if (sz < psize(P, keep[b])) b = q;
    }
    uint64_t res = keep[a] | keep[b];
    if (nc > 2 && psize(P, res) > P->limit) return 0;
    int id = plan_push2(pl, P->n, ids[a], ids[b]);
    if (id < 0) return -1;
    ids[a] = id, keep[a] = res;
    ids[b] = ids[--nc], keep[b] = keep[nc];
  }
  return 1;
}

/* Emits one component's tree (a lone operand is reduced first when it has
 * private indices and that fits) and returns its id. */
static int conn_emit(const Conn *c, Plan *pl, uint64_t comp) {
  const Prob *P = c->P;
  if (comp & (comp - 1)) return emit_tree(pl, P->n, c, conn_split, comp);
  int i = ctz(comp);
  return P->redcost[i] < INF ? plan_push(pl, P->n, 1, &i) : i;
}

/* Returns 1 with a plan cheaper than ub, 0 none (or over budget), -1 out
 * of memory. */
static int conn_search(const Prob *P, double ub, Plan *pl) {
  Conn c = {.P = P, .ub = ub};
  uint64_t comp[64], keep[64];
  int ids[64], nc = conn_components(P, comp), r = 1;
  for (int q = 0; q < nc && r == 1; q++)
    if (comp[q] & (comp[q] - 1)) {
      r = conn_component(&c, comp[q], nc == 1);
      if (r == 1 && conn_find(&c, comp[q]) < 0) r = 0;
    }
  for (int q = 0; q < nc && r == 1; q++) {
    ids[q] = conn_emit(&c, pl, comp[q]);
    keep[q] = 0;  /* components share no index: what they keep is output */
    for (uint64_t s = comp[q]; s; s &= s - 1) keep[q] |= P->m[ctz(s)] & P->out;
    if (ids[q] < 0) r = -1;
  }
  if (r == 1) r = conn_outer(P, pl, ids, keep, nc);
  free(c.e), free(c.hkey), free(c.hval);
  return r;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */

/* Converts the chosen plan and prices it with path_eval. */
static PathStatus plan_finish(const PathProblem *p, const Plan *pl,
                              PathMethod method, PathResult *out) {
  int *cur = malloc(sizeof *cur * (size_t)p->n);
  int *len = malloc(sizeof *len * (size_t)(pl->n_steps + 1));
  int *args = malloc(sizeof *args * (size_t)(pl->nargs + 1));
  PathStatus st = PATH_ENOMEM;
  if (cur && len && args) {
    plan_linear(pl, p->n, cur, len, args);
    st = path_eval(p, pl->n_steps, len, args, out);
    if (st == PATH_OK) out->method = method;
  }
  free(cur), free(len), free(args);
  return st;
}

/* Exact search, with the deterministic greedy as the bound to beat. If
 * the DP finds nothing cheaper, the greedy path is optimal — unless it
 * broke the memory limit, in which case no pairwise path respects it. */
static int search_exact(const Prob *P, Plan *best) {
  int r = greedy_search(P, 1, 0, best);
  if (r < 0) return r;
  Plan dp = {0};
  r = exact_search(P, best->fallback ? INF : best->cost, &dp);
  if (r == 1) plan_take(best, &dp);
  plan_free(&dp);
  return r < 0 ? -1 : 0;
}

/* Beyond the exact limit: greedy restarts, then the connected-subset DP
 * bounded by the greedy's cost. */
static int search_large(const Prob *P, const PathProblem *p, Plan *best,
                        PathMethod *method) {
  /* a run costs about n^3 pair checks: by default, fewer runs for big n */
  double fit = 4e6 / ((double)P->n * P->n * P->n);
  int runs = fit < 1 ? 1 : fit < PATH_RESTARTS_DEFAULT ? (int)fit : PATH_RESTARTS_DEFAULT;
  if (p->restarts > 0) runs = p->restarts;
  uint64_t seed = p->seed ? p->seed : 0x7E57C0DEull;
  int r = greedy_search(P, runs, seed, best);
  *method = PATH_METHOD_GREEDY;
  if (r < 0 || P->n > 64) return r;
  Plan dp = {0};
  r = conn_search(P, best->fallback ? INF : best->cost, &dp);
  if (r == 1) {
    uint64_t *mask = malloc(sizeof *mask * (size_t)(2 * P->n + dp.n_steps));
    char *alive = malloc((size_t)(2 * P->n + dp.n_steps));
    if (!mask || !alive) r = -1;
    else dp.cost = plan_price(P, &dp, mask, alive);
    if (r == 1 && plan_better(dp.cost, 0, best->cost, best->fallback)) {
      plan_take(best, &dp);
      *method = PATH_METHOD_CONNECTED;
    }
    free(mask), free(alive);
  }
  plan_free(&dp);
  return r < 0 ? -1 : 0;
}

PathStatus path_search(const PathProblem *p, PathResult *out) {
  memset(out, 0, sizeof *out);
  PathStatus st = problem_check(p);
  if (st != PATH_OK) return st;
  if (p->n == 1) {
    int one = 1, zero = 0;
    st = path_eval(p, 1, &one, &zero, out);
    out->method = PATH_METHOD_SINGLE;
    return st;
  }
  Prob *P = prob_new(p);
  if (!P) return PATH_ENOMEM;
  int exact_max = p->exact_max ? p->exact_max : PATH_EXACT_DEFAULT;
  if (exact_max > PATH_EXACT_CAP) exact_max = PATH_EXACT_CAP;
  Plan best = {0};
  PathMethod method = PATH_METHOD_EXACT;
  int r = p->n <= exact_max ? search_exact(P, &best)
                            : search_large(P, p, &best, &method);
  st = r < 0 ? PATH_ENOMEM : plan_finish(p, &best, method, out);
  plan_free(&best);
  prob_free(P);
  return st;
}
