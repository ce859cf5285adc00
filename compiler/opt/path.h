/* path.h — contraction-order search for one einsum-style contraction.
 *
 * Self-contained (no other compiler header): the `contract` pass describes a
 * multi-operand contraction as index sets, calls path_search(), and gets a
 * path in opt_einsum's linear convention with its cost. Algorithm, cost
 * convention and measured times: docs/contraction.md, "Path search".
 *
 * Index sets are 64-bit masks: bit i set = index id i (ids 0..63). An index
 * repeated inside one operand (a diagonal, `ii`) is in the mask once; the
 * cost convention counts it once, as opt_einsum does.
 *
 * Cost (opt_einsum's): a step contracting k operands whose indices together
 * are U costs size(U) * (max(1, k-1) + (1 if the step sums an index away)),
 * where size(U) is the product of the sizes of U; a path costs the sum.
 * A step's result keeps the indices of U that are in the output or in an
 * operand not taking part in the step; the others are summed.
 *
 * Thread-safe: no global mutable state; scratch memory is malloc'ed and
 * freed inside each call. */
#ifndef TNS_PATH_H
#define TNS_PATH_H
#include <stddef.h>
#include <stdint.h>

enum {
  PATH_MAX_INDEX = 64,      /* index ids are 0..63 */
  PATH_EXACT_DEFAULT = 13,  /* exact search up to this many operands */
  PATH_EXACT_CAP = 20,      /* PathProblem.exact_max is clamped to this */
  PATH_RESTARTS_DEFAULT = 32,
};

typedef enum PathStatus {
  PATH_OK = 0,
  PATH_EINVAL,   /* bad problem (output index in no operand, size < 0, ...)
                  * or, for path_eval, a bad path */
  PATH_ENOMEM,
} PathStatus;

/* How path_search found the path. */
typedef enum PathMethod {
  PATH_METHOD_SINGLE,     /* one operand: the one step [[0]] */
  PATH_METHOD_EXACT,      /* proven optimal over all pairwise paths */
  PATH_METHOD_CONNECTED,  /* DP over connected subsets (no outer products
                           * inside a connected component) */
  PATH_METHOD_GREEDY,     /* greedy with random restarts */
  PATH_METHOD_GIVEN,      /* path_eval: the caller's path */
} PathMethod;

/* Allocator for the result (e.g. a wrapper around arena_alloc): zeroed
 * memory, never freed one by one. NULL: malloc, free with
 * path_result_free(). */
typedef void *(*PathAlloc)(void *ud, size_t n);

typedef struct PathProblem {
  int n;                     /* operands, >= 1 */
  const uint64_t *operands;  /* n index sets */
  uint64_t output;           /* must be a subset of the operands' union */
  const int64_t *sizes;      /* sizes[id], >= 0, read for ids in some set */
  double memory_limit;       /* max elements of an intermediate; 0 = none.
                              * The final output is never limited. */
  int exact_max;             /* exact search up to this many operands;
                              * 0 = PATH_EXACT_DEFAULT, < 0 = never */
  int restarts;              /* greedy runs; 0 = PATH_RESTARTS_DEFAULT,
                              * fewer above 50 operands (4e6 / n^3) */
  uint64_t seed;             /* greedy restarts' random seed; 0 = fixed */
  PathAlloc alloc;           /* for the PathResult; NULL = malloc */
  void *alloc_ud;
} PathProblem;

typedef struct PathStep {
  int n_args;      /* 1 or 2; more only in the memory-limit fallback */
  int *args;       /* positions in the current operand list, ascending;
                    * they are removed and the result appended at the end */
  uint64_t result; /* index set of the result */
  double cost;     /* this step's cost */
  double size;     /* elements of the result */
} PathStep;

typedef struct PathResult {
  int n_steps;
  PathStep *steps;
  double cost;     /* sum of the steps' costs */
  double largest;  /* largest step result, final output included (as
                    * opt_einsum reports it) */
  double naive;    /* path_naive_cost() of the problem */
  PathMethod method;
  int fallback;    /* 1: no pairwise path respects memory_limit; the last
                    * step contracts all remaining operands at once */
  int *arg_store;  /* storage of the steps' args */
  int owned;       /* 1: malloc'ed, path_result_free() releases it */
} PathResult;

/* Chooses a contraction order. On PATH_OK, *out holds a path that ends
 * with one operand (the output). Deterministic for a given problem. */
PathStatus path_search(const PathProblem *p, PathResult *out);

/* Cost of a given path in the linear convention: step s lists step_len[s]
 * positions, taken in order from step_args. Fills *out like path_search
 * (method PATH_METHOD_GIVEN). PATH_EINVAL when a position is out of range
 * or repeated in a step, or the path does not end with one operand. */
PathStatus path_eval(const PathProblem *p, int n_steps, const int *step_len,
                     const int *step_args, PathResult *out);

/* opt_einsum's naive cost: one step with all n operands, U their union,
 * the "+1" when some index appears in two operands (opt_einsum's test for
 * the naive step; it differs from the step convention for `ab,->`, where
 * the step sums a and b but no index is shared, and for `ii->`). */
double path_naive_cost(const PathProblem *p);

/* Product of sizes[id] over the ids in set (1 for the empty set). */
double path_set_size(const int64_t *sizes, uint64_t set);

/* Cost of a step over k operands with indices U that sums (sums != 0) or
 * does not sum an index away. */
double path_step_flops(const int64_t *sizes, uint64_t u, int k, int sums);

/* Releases a malloc'ed result (no-op for an allocator's); zeroes *r. */
void path_result_free(PathResult *r);

/* Writes the path as "[[0,1],[0]]" (snprintf semantics: returns the length
 * the full text needs). */
int path_format(const PathResult *r, char *buf, size_t cap);

const char *path_method_name(PathMethod m);

#endif
