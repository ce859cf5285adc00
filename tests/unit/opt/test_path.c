/* Tests for compiler/opt/path.c: the contraction-order search.
 *
 * tests/conformance/paths.tsv (a copy of the shared conformance table)
 * gives, per einsum expression and size set, opt_einsum's naive, greedy and
 * optimal costs and the true minimum over pairwise paths (with operands
 * possibly reduced alone first) with a path reaching it. Every row is
 * checked; random small problems are checked against a brute force that
 * enumerates every pairwise path, with and without a memory limit. The
 * timing test prints search times (a report, not an assertion). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "path.h"

#define TSV TNS_TEST_DIR "/conformance/paths.tsv"
enum { MAXOPS = 128, MAXSTEPS = 256 };

/* ---- tiny parsers ---- */

/* a-z are ids 0-25, A-Z ids 26-51. */
static int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + c - 'A';
  return -1;
}

/* `ab,bc->ac` to operand sets and output; returns the operand count. */
static int parse_expr(const char *e, uint64_t *ops, uint64_t *out) {
  int n = 0;
  ops[0] = 0;
  const char *p = e;
  for (; *p && !(p[0] == '-' && p[1] == '>'); p++) {
    if (*p == ',') ops[++n] = 0;
    else ops[n] |= (uint64_t)1 << letter_id(*p);
  }
  cr_assert(p[0] == '-', "no -> in %s", e);
  *out = 0;
  for (p += 2; *p; p++) *out |= (uint64_t)1 << letter_id(*p);
  return n + 1;
}

/* `{"a":4,"b":3}` to sizes by id. */
static void parse_dims(const char *j, int64_t *sizes) {
  for (int i = 0; i < 64; i++) sizes[i] = 0;
  for (const char *p = j; (p = strchr(p, '"')); p += 3) {
    int id = letter_id(p[1]);
    cr_assert(id >= 0 && p[2] == '"' && p[3] == ':', "bad dims %s", j);
    sizes[id] = strtoll(p + 4, NULL, 10);
  }
}

/* `[[0,1],[0]]` to step lengths and flat positions; returns the steps. */
static int parse_path(const char *s, int *len, int *args) {
  int n = 0, at = 0;
  for (const char *p = s + 1; *p && *p != ']'; p++) {
    if (*p != '[') continue;
    len[n] = 0;
    for (p++; *p != ']';) {
      if (*p == ',') {
        p++;
        continue;
      }
      char *end;
      args[at++] = (int)strtol(p, &end, 10);
      len[n]++;
      p = end;
    }
    n++;
  }
  return n;
}

/* ---- the table ---- */

typedef struct Row {
  char id[8], expr[256], set[8], dims[1024];
  int n;
  char naive[96], greedy[96], optimal[96], exact[96], path[512];
} Row;

static int load_rows(Row **rows) {
  FILE *f = fopen(TSV, "r");
  cr_assert(f, "cannot open %s", TSV);
  char line[4096];
  int n = 0, cap = 512;
  *rows = malloc(sizeof **rows * (size_t)cap);
  cr_assert(fgets(line, sizeof line, f), "empty table");  /* header */
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    Row *r = &(*rows)[n++];
    cr_assert(n < cap);
    int got = sscanf(line, "%7[^\t]\t%255[^\t]\t%7[^\t]\t%1023[^\t]\t%d\t%95[^\t]\t%95[^\t]\t%95[^\t]\t%95[^\t]\t%511[^\t]",
                     r->id, r->expr, r->set, r->dims, &r->n, r->naive,
                     r->greedy, r->optimal, r->exact, r->path);
    cr_assert_eq(got, 10, "bad row: %s", line);
  }
  fclose(f);
  return n;
}

typedef struct Prob {
  uint64_t ops[MAXOPS], out;
  int64_t sizes[64];
  PathProblem p;
} Prob;

static void row_problem(const Row *r, Prob *q) {
  memset(q, 0, sizeof *q);
  q->p.n = parse_expr(r->expr, q->ops, &q->out);
  parse_dims(r->dims, q->sizes);
  q->p.operands = q->ops;
  q->p.output = q->out;
  q->p.sizes = q->sizes;
  cr_assert_eq(q->p.n, r->n, "%s: operand count", r->expr);
}

/* Exact below 2^53 (every table value there is an integer a double holds);
 * above, the table's integer and our double product may differ by
 * rounding, so 1e-12 relative. */
static int same_cost(double got, const char *want) {
  double w = strtod(want, NULL);
  if (w < 9007199254740992.0) return got == w;
  return fabs(got - w) <= 1e-12 * w;
}

/* The path path_search returned prices the same through path_eval. */
static void check_valid(const Prob *q, const PathResult *r, const char *what) {
  int len[MAXSTEPS], args[4 * MAXSTEPS], at = 0;
  cr_assert(r->n_steps >= 1 && r->n_steps < MAXSTEPS, "%s: steps", what);
  for (int s = 0; s < r->n_steps; s++) {
    len[s] = r->steps[s].n_args;
    for (int a = 0; a < len[s]; a++) args[at++] = r->steps[s].args[a];
  }
  PathResult e;
  cr_assert_eq(path_eval(&q->p, r->n_steps, len, args, &e), PATH_OK, "%s: invalid path", what);
  cr_expect_eq(e.cost, r->cost, "%s: eval %.17g vs search %.17g", what, e.cost, r->cost);
  cr_expect_eq(e.steps[e.n_steps - 1].result, q->out, "%s: result is not the output", what);
  path_result_free(&e);
}

/* ---- the conformance table ---- */

Test(tsv, table_shape) {
  Row *rows;
  int n = load_rows(&rows), na = 0;
  cr_assert_eq(n, 366);
  for (int i = 0; i < n; i++) na += !strcmp(rows[i].exact, "NA");
  cr_assert_eq(na, 4, "the two long chains, small and large");
  free(rows);
}

Test(tsv, search_reaches_exact_minimum) {
  Row *rows;
  int n = load_rows(&rows), checked = 0;
  for (int i = 0; i < n; i++) {
    if (!strcmp(rows[i].exact, "NA")) continue;
    Prob q;
    row_problem(&rows[i], &q);
    PathResult r;
    cr_assert_eq(path_search(&q.p, &r), PATH_OK, "%s", rows[i].expr);
    char buf[512];
    path_format(&r, buf, sizeof buf);
    cr_expect(same_cost(r.cost, rows[i].exact), "%s %s (%s): found %.17g %s, exact %s %s",
              rows[i].id, rows[i].expr, rows[i].set, r.cost, buf, rows[i].exact, rows[i].path);
    cr_expect(r.method == PATH_METHOD_EXACT || r.method == PATH_METHOD_SINGLE);
    check_valid(&q, &r, rows[i].expr);
    path_result_free(&r);
    checked++;
  }
  cr_assert_eq(checked, 362);
  free(rows);
}

Test(tsv, given_path_costs_the_table_value) {
  Row *rows;
  int n = load_rows(&rows);
  for (int i = 0; i < n; i++) {
    if (!strcmp(rows[i].exact, "NA")) continue;
    Prob q;
    row_problem(&rows[i], &q);
    int len[MAXSTEPS], args[4 * MAXSTEPS];
    int steps = parse_path(rows[i].path, len, args);
    PathResult r;
    cr_assert_eq(path_eval(&q.p, steps, len, args, &r), PATH_OK, "%s %s", rows[i].expr, rows[i].path);
    cr_expect(same_cost(r.cost, rows[i].exact), "%s %s %s: cost %.17g, table %s",
              rows[i].id, rows[i].expr, rows[i].path, r.cost, rows[i].exact);
    path_result_free(&r);
  }
  free(rows);
}

Test(tsv, naive_cost) {
  Row *rows;
  int n = load_rows(&rows);
  for (int i = 0; i < n; i++) {
    Prob q;
    row_problem(&rows[i], &q);
    double c = path_naive_cost(&q.p);
    cr_expect(same_cost(c, rows[i].naive), "%s %s (%s): naive %.17g, table %s",
              rows[i].id, rows[i].expr, rows[i].set, c, rows[i].naive);
  }
  free(rows);
}

/* Beyond the exact search: at least as good as opt_einsum's. */
Test(tsv, long_chains_beat_opt_einsum) {
  Row *rows;
  int n = load_rows(&rows);
  for (int i = 0; i < n; i++) {
    if (strcmp(rows[i].exact, "NA")) continue;
    Prob q;
    row_problem(&rows[i], &q);
    PathResult r;
    cr_assert_eq(path_search(&q.p, &r), PATH_OK);
    const char *ref = strcmp(rows[i].optimal, "NA") ? rows[i].optimal : rows[i].greedy;
    cr_expect(r.cost <= strtod(ref, NULL), "%s (%s, %d operands): %.17g > opt_einsum %s",
              rows[i].id, rows[i].set, q.p.n, r.cost, ref);
    cr_expect_eq(r.n_steps, q.p.n - 1);
    for (int s = 0; s < r.n_steps; s++) cr_expect_eq(r.steps[s].n_args, 2);
    check_valid(&q, &r, rows[i].expr);
    fprintf(stderr, "path: chain %s (%s, %d operands): %.0f via %s, opt_einsum %s\n",
            rows[i].id, rows[i].set, q.p.n, r.cost, path_method_name(r.method), ref);
    path_result_free(&r);
  }
  free(rows);
}

/* ---- brute force: every pairwise path ---- */

static double bsize(const int64_t *sizes, uint64_t s) {
  double r = 1;
  for (int i = 0; i < 64; i++)
    if (s >> i & 1) r *= (double)sizes[i];
  return r;
}

/* Cheapest way to finish from the current list; INF if every way creates
 * an intermediate over limit (limit 0: none). */
static double brute_pairs(const uint64_t *cur, int n, uint64_t out,
                          const int64_t *sizes, double limit) {
  if (n == 1) return 0;
  double best = INFINITY;
  uint64_t next[MAXOPS];
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      uint64_t u = cur[i] | cur[j], others = 0;
      int w = 0;
      for (int k = 0; k < n; k++)
        if (k != i && k != j) others |= cur[k], next[w++] = cur[k];
      uint64_t res = u & (out | others);
      if (n > 2 && limit > 0 && bsize(sizes, res) > limit) continue;
      next[w++] = res;
      double c = bsize(sizes, u) * (1 + (u != res));
      best = fmin(best, c + brute_pairs(next, w, out, sizes, limit));
    }
  return best;
}

/* Every subset of the operands with private indices reduced alone first
 * (when is irrelevant: nothing else touches those indices), then every
 * pairwise order. */
static double brute(const Prob *q, double limit) {
  int n = q->p.n;
  double best = INFINITY;
  for (int sub = 0; sub < 1 << n; sub++) {
    uint64_t cur[MAXOPS];
    double c = 0;
    for (int i = 0; i < n && c < INFINITY; i++) {
      uint64_t others = 0;
      for (int j = 0; j < n; j++)
        if (j != i) others |= q->ops[j];
      uint64_t red = q->ops[i] & (q->out | others);
      cur[i] = q->ops[i];
      if (!(sub >> i & 1)) continue;
      if (red == q->ops[i] || (limit > 0 && bsize(q->sizes, red) > limit)) c = INFINITY;
      else c += 2 * bsize(q->sizes, q->ops[i]), cur[i] = red;
    }
    if (n == 1) c += bsize(q->sizes, cur[0]) * (1 + (cur[0] != q->out));
    if (c < INFINITY) best = fmin(best, c + brute_pairs(cur, n, q->out, q->sizes, limit));
  }
  return best;
}

typedef struct Rng { uint64_t s; } Rng;
static uint64_t rnd(Rng *r) {
  r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
  return r->s >> 33;
}
static int rint_(Rng *r, int lo, int hi) { return lo + (int)(rnd(r) % (uint64_t)(hi - lo + 1)); }

/* A random small einsum: shared, private, output, batch indices, scalar
 * operands and repeated operands all show up. */
static void random_small(Rng *g, int n, Prob *q) {
  memset(q, 0, sizeof *q);
  int nid = rint_(g, 2, 8);
  uint64_t all = 0;
  for (int i = 0; i < n; i++) {
    q->ops[i] = 0;
    if (rint_(g, 0, 9) == 0) continue;  /* scalar */
    if (i > 0 && rint_(g, 0, 9) == 0) {
      q->ops[i] = q->ops[i - 1];  /* repeated operand */
      continue;
    }
    for (int k = 0; k < nid; k++)
      if (rint_(g, 0, 2) == 0) q->ops[i] |= (uint64_t)1 << k;
  }
  for (int i = 0; i < n; i++) all |= q->ops[i];
  q->out = all & rnd(g);
  for (int k = 0; k < 64; k++) q->sizes[k] = rint_(g, 1, 7);
  q->p = (PathProblem){.n = n, .operands = q->ops, .output = q->out, .sizes = q->sizes};
}

static void describe(const Prob *q, char *buf) {
  char *p = buf;
  for (int i = 0; i < q->p.n; i++) {
    for (int k = 0; k < 26; k++)
      if (q->ops[i] >> k & 1) *p++ = (char)('a' + k);
    *p++ = i + 1 < q->p.n ? ',' : '-';
  }
  *p++ = '>';
  for (int k = 0; k < 26; k++)
    if (q->out >> k & 1) *p++ = (char)('a' + k);
  p += sprintf(p, " sizes");
  for (int k = 0; k < 8; k++) p += sprintf(p, " %c=%lld", 'a' + k, (long long)q->sizes[k]);
  *p = 0;
}

Test(brute, random_problems_match_brute_force) {
  Rng g = {12345};
  for (int t = 0; t < 600; t++) {
    Prob q;
    random_small(&g, rint_(&g, 1, 6), &q);
    PathResult r;
    cr_assert_eq(path_search(&q.p, &r), PATH_OK);
    double want = brute(&q, 0);
    char d[512];
    describe(&q, d);
    cr_expect_eq(r.cost, want, "%s: search %.17g, brute force %.17g", d, r.cost, want);
    check_valid(&q, &r, d);
    path_result_free(&r);
  }
}

/* ---- memory limit ---- */

/* Searches under limit and checks what the limit promises. Returns the
 * cost (INFINITY when the fallback was needed). */
static double limited(Prob *q, double limit, const char *d) {
  PathResult r;
  q->p.memory_limit = limit;
  cr_assert_eq(path_search(&q->p, &r), PATH_OK);
  for (int s = 0; s + 1 < r.n_steps; s++)
    cr_expect(r.steps[s].size <= limit, "%s: step %d makes %.0f elements > %.0f", d, s,
              r.steps[s].size, limit);
  for (int s = 0; s + 1 < r.n_steps; s++) cr_expect(r.steps[s].n_args <= 2, "%s", d);
  cr_expect(r.fallback == (r.steps[r.n_steps - 1].n_args > 2), "%s", d);
  check_valid(q, &r, d);
  double c = r.fallback ? INFINITY : r.cost;
  path_result_free(&r);
  q->p.memory_limit = 0;
  return c;
}

Test(limit, random_problems_match_brute_force) {
  Rng g = {777};
  int fallbacks = 0, bound = 0;
  for (int t = 0; t < 400; t++) {
    Prob q;
    random_small(&g, rint_(&g, 3, 6), &q);
    double limit = (double)rint_(&g, 1, 60);
    double want = brute(&q, limit);
    char d[512];
    describe(&q, d);
    double got = limited(&q, limit, d);
    cr_expect_eq(got, want, "%s limit %.0f: search %.17g, brute force %.17g", d, limit, got, want);
    fallbacks += want == INFINITY;
    bound += want > brute(&q, 0);
  }
  fprintf(stderr, "path: limit tests: %d of 400 need the fallback, %d more cost more\n",
          fallbacks, bound);
  cr_expect(fallbacks > 10 && bound > 10, "the limit should matter in many cases");
}

/* ab,bc,cd->ad with a big middle: the cheap order builds a 100x100
 * intermediate; under a limit of 50 elements the other order is forced. */
Test(limit, forces_the_other_order) {
  Prob q = {0};
  q.p.n = parse_expr("ab,bc,cd->ad", q.ops, &q.out);
  parse_dims("{\"a\":2,\"b\":100,\"c\":2,\"d\":100}", q.sizes);
  q.p = (PathProblem){.n = 3, .operands = q.ops, .output = q.out, .sizes = q.sizes};
  PathResult r;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  double free_cost = r.cost;
  cr_expect_eq(r.steps[0].size, 4);  /* (ab,bc) -> ac */
  path_result_free(&r);
  q.p.memory_limit = 3;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  cr_expect_eq(r.fallback, 1, "ac has 4 elements, bd 10000: no pairwise path fits");
  cr_expect_eq(r.n_steps, 1);
  cr_expect_eq(r.steps[0].n_args, 3);
  cr_expect_eq(r.cost, 3.0 * 2 * 100 * 2 * 100, "k=3: (3-1)+1");
  path_result_free(&r);
  q.p.memory_limit = 4;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  cr_expect_eq(r.cost, free_cost);
  cr_expect_eq(r.fallback, 0);
  path_result_free(&r);
}

/* A reduction alone is an intermediate too: with the limit below its
 * result, the private index is summed in the pairwise step instead. */
Test(limit, reduction_alone_respects_the_limit) {
  Prob q = {0};
  q.p.n = parse_expr("abc,cd->ad", q.ops, &q.out);
  parse_dims("{\"a\":10,\"b\":10,\"c\":10,\"d\":2}", q.sizes);
  q.p = (PathProblem){.n = 2, .operands = q.ops, .output = q.out, .sizes = q.sizes};
  PathResult r;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  cr_expect_eq(r.n_steps, 2, "abc->ac first: 2000 + 400");
  cr_expect_eq(r.cost, 2000 + 400);
  path_result_free(&r);
  q.p.memory_limit = 99;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  cr_expect_eq(r.n_steps, 1);
  cr_expect_eq(r.cost, 2 * 2000);
  path_result_free(&r);
}

/* Greedy territory: 30 operands, a limit, still nothing over it. */
Test(limit, large_problem_respects_the_limit) {
  Prob q = {0};
  q.p.n = 30;
  for (int i = 0; i < 30; i++) q.ops[i] = (uint64_t)3 << i;  /* a chain */
  q.out = 1 | (uint64_t)1 << 30;
  for (int k = 0; k < 64; k++) q.sizes[k] = 2 + k % 5;
  q.p = (PathProblem){.n = 30, .operands = q.ops, .output = q.out, .sizes = q.sizes,
                      .memory_limit = 20};
  PathResult r;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  for (int s = 0; s + 1 < r.n_steps; s++) cr_expect(r.steps[s].size <= 20);
  cr_expect_eq(r.fallback, 0);
  check_valid(&q, &r, "chain 30");
  path_result_free(&r);
}

/* ---- single-operand reductions ---- */

static PathResult solve(const char *expr, const char *dims, Prob *q) {
  memset(q, 0, sizeof *q);
  int n = parse_expr(expr, q->ops, &q->out);
  parse_dims(dims, q->sizes);
  q->p = (PathProblem){.n = n, .operands = q->ops, .output = q->out, .sizes = q->sizes};
  PathResult r;
  cr_assert_eq(path_search(&q->p, &r), PATH_OK, "%s", expr);
  check_valid(q, &r, expr);
  return r;
}

static void expect_path(const PathResult *r, const char *want) {
  char buf[256];
  path_format(r, buf, sizeof buf);
  cr_expect_str_eq(buf, want);
}

Test(single, trace) {
  Prob q;
  PathResult r = solve("ii->", "{\"i\":6}", &q);
  expect_path(&r, "[[0]]");
  cr_expect_eq(r.cost, 12, "size 6, summed: *2");
  cr_expect_eq(r.naive, 6, "opt_einsum's naive has no +1 here");
  cr_expect_eq(r.steps[0].result, 0);
  cr_expect_eq(r.method, PATH_METHOD_SINGLE);
  path_result_free(&r);
}

Test(single, row_sum_and_transpose) {
  Prob q;
  PathResult r = solve("ab->a", "{\"a\":3,\"b\":5}", &q);
  expect_path(&r, "[[0]]");
  cr_expect_eq(r.cost, 30);
  cr_expect_eq(r.largest, 3);
  path_result_free(&r);
  r = solve("cxa->acx", "{\"a\":5,\"c\":3,\"x\":6}", &q);
  cr_expect_eq(r.cost, 90, "a transpose sums nothing: *1");
  path_result_free(&r);
  r = solve("aabb->ab", "{\"a\":6,\"b\":5}", &q);
  cr_expect_eq(r.cost, 30, "a diagonal counts its index once");
  path_result_free(&r);
}

/* cacc,bcb->: reducing bcb (b private) first is cheaper than summing b
 * inside the pairwise step. */
Test(single, reduce_first_when_it_pays) {
  Prob q;
  PathResult r = solve("cacc,bcb->", "{\"a\":6,\"b\":5,\"c\":5}", &q);
  expect_path(&r, "[[1],[0,1]]");
  cr_expect_eq(r.cost, 110);
  path_result_free(&r);
  /* ab,b->: summing a inside the step (2*ab) beats 2*ab + 2*b */
  r = solve("ab,b->", "{\"a\":4,\"b\":3}", &q);
  expect_path(&r, "[[0,1]]");
  cr_expect_eq(r.cost, 24);
  path_result_free(&r);
}

/* ---- outer products ---- */

/* a,b,abc->c: a x b first costs 100, then 2000; any connected pair first
 * costs 2000, then 200. */
Test(outer, pays_off) {
  Prob q;
  PathResult r = solve("a,b,abc->c", "{\"a\":10,\"b\":10,\"c\":10}", &q);
  expect_path(&r, "[[0,1],[0,1]]");
  cr_expect_eq(r.cost, 2100);
  cr_expect_eq(r.steps[0].result, q.ops[0] | q.ops[1]);
  path_result_free(&r);
}

Test(outer, disconnected_operands) {
  Prob q;
  PathResult r = solve("ab,cd,ef->abcdef", "{\"a\":2,\"b\":3,\"c\":4,\"d\":5,\"e\":6,\"f\":7}", &q);
  cr_expect_eq(r.cost, 6.0 * 20 + 6.0 * 20 * 42, "smallest two first");
  path_result_free(&r);
}

/* ---- scalars ---- */

Test(scalar, operands_and_outputs) {
  Prob q;
  PathResult r = solve(",,->", "{}", &q);
  cr_expect_eq(r.cost, 2);
  cr_expect_eq(r.n_steps, 2);
  path_result_free(&r);
  r = solve("ab,,bc->ac", "{\"a\":2,\"b\":50,\"c\":3}", &q);
  cr_expect_eq(r.cost, 2 * 2 * 50 * 3 + 6, "the scalar multiplies the 2x3 result");
  path_result_free(&r);
  r = solve("->", "{}", &q);
  expect_path(&r, "[[0]]");
  cr_expect_eq(r.cost, 1);
  path_result_free(&r);
}

/* ---- path_eval and the API ---- */

Test(api, eval_rejects_bad_paths) {
  Prob q;
  PathResult r = solve("ab,bc,cd->ad", "{\"a\":2,\"b\":3,\"c\":4,\"d\":5}", &q);
  path_result_free(&r);
  int len[3] = {2, 2}, bad_range[4] = {0, 3, 0, 1}, dup[4] = {0, 0, 0, 1};
  int ok[4] = {0, 2, 0, 1};
  cr_expect_eq(path_eval(&q.p, 2, len, bad_range, &r), PATH_EINVAL);
  cr_expect_eq(path_eval(&q.p, 2, len, dup, &r), PATH_EINVAL);
  cr_expect_eq(path_eval(&q.p, 1, len, ok, &r), PATH_EINVAL, "ends with two operands");
  cr_expect_eq(path_eval(&q.p, 0, len, ok, &r), PATH_EINVAL);
  cr_assert_eq(path_eval(&q.p, 2, len, ok, &r), PATH_OK);
  /* [0,2]: ab,cd -> abcd (outer, 120), then bc,abcd -> ad (2*120) */
  cr_expect_eq(r.cost, 120 + 240);
  cr_expect_eq(r.largest, 120);
  path_result_free(&r);
  int three[1] = {3}, all[3] = {0, 1, 2};
  cr_assert_eq(path_eval(&q.p, 1, three, all, &r), PATH_OK);
  cr_expect_eq(r.cost, 120 * 3, "one step over 3 operands: (3-1)+1");
  cr_expect_eq(r.fallback, 1);
  path_result_free(&r);
}

Test(api, rejects_bad_problems) {
  uint64_t ops[2] = {3, 6};
  int64_t sizes[64] = {2, 3, 4};
  PathProblem p = {.n = 2, .operands = ops, .output = 8, .sizes = sizes};
  PathResult r;
  cr_expect_eq(path_search(&p, &r), PATH_EINVAL, "output index in no operand");
  p.output = 1, p.n = 0;
  cr_expect_eq(path_search(&p, &r), PATH_EINVAL);
  p.n = 2, sizes[1] = -1;
  cr_expect_eq(path_search(&p, &r), PATH_EINVAL);
}

/* The result can live in the caller's arena. */
static char pool[1 << 16];
static size_t pool_used;
static void *bump(void *ud, size_t n) {
  (void)ud;
  void *p = pool + pool_used;
  pool_used += (n + 15) & ~(size_t)15;
  return pool_used <= sizeof pool ? p : NULL;
}

Test(api, caller_allocator) {
  Prob q;
  memset(&q, 0, sizeof q);
  q.p.n = parse_expr("ab,bc,cd->ad", q.ops, &q.out);
  parse_dims("{\"a\":2,\"b\":3,\"c\":4,\"d\":5}", q.sizes);
  q.p = (PathProblem){.n = 3, .operands = q.ops, .output = q.out, .sizes = q.sizes,
                      .alloc = bump};
  PathResult r;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  cr_expect_eq(r.owned, 0);
  cr_expect((char *)r.steps >= pool && (char *)r.steps < pool + sizeof pool);
  path_result_free(&r);  /* a no-op on the pool */
}

/* ---- random larger problems (regular graphs, as opt_einsum's
 * rand_equation: each index in two operands, some in the output) ---- */

static void random_graph(Rng *g, int n, Prob *q) {
  memset(q, 0, sizeof *q);
  int nidx = n * 3 / 2 + 2;  /* index ids are < 64: sparser above 40 */
  if (nidx > 62) nidx = 62;
  for (int k = 0; k < nidx; k++) {
    int a = rint_(g, 0, n - 1), b = rint_(g, 0, n - 1);
    q->ops[a] |= (uint64_t)1 << k;
    if (k < 2) q->out |= (uint64_t)1 << k;  /* two output indices */
    else if (b != a) q->ops[b] |= (uint64_t)1 << k;
    else q->ops[(a + 1) % n] |= (uint64_t)1 << k;
  }
  for (int k = 0; k < 64; k++) q->sizes[k] = rint_(g, 2, 16);
  q->p = (PathProblem){.n = n, .operands = q->ops, .output = q->out, .sizes = q->sizes};
}

Test(large, deterministic_and_valid) {
  Rng g = {99};
  for (int n = 14; n <= 64; n += 10) {
    Prob q;
    random_graph(&g, n, &q);
    PathResult a, b;
    cr_assert_eq(path_search(&q.p, &a), PATH_OK);
    cr_assert_eq(path_search(&q.p, &b), PATH_OK);
    char fa[4096], fb[4096];
    path_format(&a, fa, sizeof fa);
    path_format(&b, fb, sizeof fb);
    cr_expect_str_eq(fa, fb);
    cr_expect(a.cost <= a.naive);
    check_valid(&q, &a, "random graph");
    path_result_free(&a);
    path_result_free(&b);
  }
}

/* More operands than index ids: greedy only. */
Test(large, hundred_operands) {
  Rng g = {5};
  Prob q = {0};
  for (int i = 0; i < 100; i++)
    q.ops[i] = (uint64_t)1 << rint_(&g, 0, 40) | (uint64_t)1 << rint_(&g, 0, 40);
  uint64_t all = 0;
  for (int i = 0; i < 100; i++) all |= q.ops[i];
  q.out = all & 0xF;
  for (int k = 0; k < 64; k++) q.sizes[k] = rint_(&g, 2, 9);
  q.p = (PathProblem){.n = 100, .operands = q.ops, .output = q.out, .sizes = q.sizes};
  PathResult r;
  cr_assert_eq(path_search(&q.p, &r), PATH_OK);
  cr_expect_eq(r.method, PATH_METHOD_GREEDY);
  cr_expect(r.cost < r.naive);
  check_valid(&q, &r, "100 operands");
  path_result_free(&r);
}

/* Exact vs the greedy tiers at 12 operands: never worse, and the greedy
 * alone is not always optimal (else the exact search would be pointless). */
Test(large, exact_never_worse_than_greedy) {
  Rng g = {2024};
  int strictly = 0;
  for (int t = 0; t < 30; t++) {
    Prob q;
    random_graph(&g, 12, &q);
    PathResult e, h;
    cr_assert_eq(path_search(&q.p, &e), PATH_OK);
    q.p.exact_max = -1;
    cr_assert_eq(path_search(&q.p, &h), PATH_OK);
    cr_expect(e.cost <= h.cost, "exact %.17g > heuristic %.17g", e.cost, h.cost);
    strictly += e.cost < h.cost;
    path_result_free(&e);
    path_result_free(&h);
  }
  fprintf(stderr, "path: 12 operands, exact better than connected-dp/greedy in %d of 30\n", strictly);
}

/* ---- timing report (printed, never asserted) ---- */

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Under sanitizers the times mean nothing: one run each, smaller sizes. */
#if defined(__SANITIZE_ADDRESS__)
enum { REPS = 1, SANITIZED = 1 };
#else
enum { REPS = 3, SANITIZED = 0 };
#endif

/* Min of REPS runs per problem (the machine may be shared), then the
 * median and the max over the problems. */
static void time_n(int n, int exact_max, int trials) {
  Rng g = {(uint64_t)(1000 + n)};
  double ms[64];
  int methods[5] = {0};
  for (int t = 0; t < trials; t++) {
    Prob q;
    random_graph(&g, n, &q);
    q.p.exact_max = exact_max;
    ms[t] = INFINITY;
    for (int rep = 0; rep < REPS; rep++) {
      PathResult r;
      double t0 = now_ms();
      cr_assert_eq(path_search(&q.p, &r), PATH_OK);
      ms[t] = fmin(ms[t], now_ms() - t0);
      if (rep == 0) methods[r.method]++;
      path_result_free(&r);
    }
  }
  qsort(ms, (size_t)trials, sizeof *ms, cmp_d);
  char how[128] = "";
  for (int m = 0; m < 5; m++)
    if (methods[m])
      snprintf(how + strlen(how), sizeof how - strlen(how), " %s:%d", path_method_name(m), methods[m]);
  fprintf(stderr, "path: timing n=%3d exact_max=%2d: median %8.3f ms, max %8.3f ms over %2d (%s )\n",
          n, exact_max ? exact_max : PATH_EXACT_DEFAULT, ms[trials / 2], ms[trials - 1], trials, how);
}

static void time_chain(int n) {
  Prob q = {0};
  Rng g = {(uint64_t)n};
  for (int i = 0; i < n; i++) q.ops[i] = (uint64_t)3 << i;
  q.out = 1 | (uint64_t)1 << n;
  for (int k = 0; k < 64; k++) q.sizes[k] = rint_(&g, 8, 64);
  q.p = (PathProblem){.n = n, .operands = q.ops, .output = q.out, .sizes = q.sizes};
  double best = INFINITY;
  PathMethod m = PATH_METHOD_GIVEN;
  for (int rep = 0; rep < REPS; rep++) {
    PathResult r;
    double t0 = now_ms();
    cr_assert_eq(path_search(&q.p, &r), PATH_OK);
    best = fmin(best, now_ms() - t0);
    m = r.method;
    path_result_free(&r);
  }
  fprintf(stderr, "path: timing chain of %d matrices: %.3f ms (%s)\n", n, best, path_method_name(m));
}

Test(timing, report) {
  int ns[] = {4, 6, 8, 10, 12, 13};
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) time_n(ns[i], 0, 20);
  time_n(14, 14, 10);  /* the exact search past its default limit */
  if (!SANITIZED) time_n(15, 15, 5), time_n(16, 16, 3);
  int big[] = {14, 16, 20, 25, 30, 40, 64};
  for (size_t i = 0; i < sizeof big / sizeof *big; i++) time_n(big[i], 0, 10);
  time_chain(25);
  time_chain(51);
  time_chain(63);
}
