/* sema_builtin.c — type rules of the builtin functions (the table of
 * names and argument counts is base/builtins.c). Each checker gets the
 * call with its arguments already typed and returns the result type. */
#include <string.h>
#include <unistd.h>
#include "tns_runtime.h"
#include "sema_int.h"

typedef Type *(*Checker)(Sema *s, Node *call, Type **a);

#define BUILTIN(id, name, lo, hi, check, linear) static Type *check_##check(Sema *, Node *, Type **);
#include "builtins.def"
#undef BUILTIN

static const Checker checkers[] = {
#define BUILTIN(id, name, lo, hi, check, linear) check_##check,
#include "builtins.def"
#undef BUILTIN
};

#define ARG(i) (call->list.items[i])
#define TS(t) type_to_string(s->arena, (t))

static Type *fail(Sema *s) { return sema_error_type(s); }

/* A numeric tensor or scalar argument. */
static int numeric(Sema *s, Node *call, Type **a, int i) {
  if (a[i]->kind != T_TENSOR || a[i]->rank < 0) {
    ERR(s, ARG(i)->span, E_ARG_KIND, i + 1, call->name, "a tensor or a scalar");
    return 0;
  }
  if (a[i]->elem == ELEM_BOOL) {
    ERR(s, ARG(i)->span, E_NOT_NUMERIC, call->name, "bool");
    return 0;
  }
  return 1;
}

static Type *with_elem(Sema *s, Type *t, int elem) {
  Type *r = type_tensor(s->arena, elem, t->rank, t->dims);
  r->tparam = elem == ELEM_PARAM ? t->tparam : NULL;
  return r;
}

/* exp(x) and friends: float result, an integer argument gives f64 */
static Type *check_math_float(Sema *s, Node *call, Type **a) {
  if (!numeric(s, call, a, 0)) return fail(s);
  int e = a[0]->elem;
  if (sema_is_weak(ARG(0))) sema_retype_literal(s, ARG(0), ELEM_F64);
  return with_elem(s, a[0], elem_is_int(e) ? ELEM_F64 : e);
}

/* abs(x), relu(x): same type */
static Type *check_math_same(Sema *s, Node *call, Type **a) {
  return numeric(s, call, a, 0) ? a[0] : fail(s);
}

/* The shape of an elementwise combination: equal shapes or scalars. */
static Type *combine(Sema *s, Node *call, Type *x, Type *y) {
  if (x->rank == 0) return y;
  if (y->rank == 0 || type_same_shape(x, y)) return x;
  ERR(s, call->span, E_ELEMWISE_SHAPE, call->name, shape_to_string(s->arena, x), shape_to_string(s->arena, y));
  return NULL;
}

/* pow(a, b), max(a, b), min(a, b) */
static Type *check_math2(Sema *s, Node *call, Type **a) {
  if (!numeric(s, call, a, 0) || !numeric(s, call, a, 1)) return fail(s);
  int e;
  if (!sema_unify_elem(s, ARG(0), ARG(1), call->span, &e)) return fail(s);
  Type *sh = combine(s, call, a[0], a[1]);
  if (!sh) return fail(s);
  Type *r = with_elem(s, sh, e);
  if (e == ELEM_PARAM) r->tparam = a[0]->tparam ? a[0]->tparam : a[1]->tparam;
  return r;
}

/* where(cond, a, b) */
static Type *check_where(Sema *s, Node *call, Type **a) {
  if (a[0]->kind != T_TENSOR || a[0]->elem != ELEM_BOOL) {
    ERR(s, ARG(0)->span, E_NOT_BOOL, "the condition of where", TS(a[0]));
    return fail(s);
  }
  for (int i = 1; i <= 2; i++)
    if (a[i]->kind != T_TENSOR || a[i]->rank < 0) {
      ERR(s, ARG(i)->span, E_ARG_KIND, i + 1, call->name, "a tensor or a scalar");
      return fail(s);
    }
  int e;
  if (!sema_unify_elem(s, ARG(1), ARG(2), call->span, &e)) return fail(s);
  Type *sh = combine(s, call, a[1], a[2]);
  if (sh) sh = combine(s, call, a[0], sh);
  if (!sh) return fail(s);
  Type *r = with_elem(s, sh, e);
  if (e == ELEM_PARAM) r->tparam = a[1]->tparam ? a[1]->tparam : a[2]->tparam;
  return r;
}

/* f32(x) ... bool(x): explicit conversions */
static Type *check_convert(Sema *s, Node *call, Type **a) {
  if (a[0]->kind != T_TENSOR || a[0]->rank < 0) {
    ERR(s, ARG(0)->span, E_ARG_KIND, 1, call->name, "a tensor or a scalar");
    return fail(s);
  }
  int to = 0;
  for (int e = 0; e < ELEM_COUNT; e++)
    if (strcmp(elem_name(e), call->name) == 0) to = e;
  if (sema_is_weak(ARG(0))) sema_retype_literal(s, ARG(0), elem_is_float(to) ? to : a[0]->elem);
  return with_elem(s, a[0], to);
}

static Type *type_arg(Sema *s, Node *call, Type **a, int i) {
  if (a[i]->kind != T_TYPE) {
    ERR(s, ARG(i)->span, E_ARG_KIND, i + 1, call->name, "a type such as f64[3, 4]");
    return NULL;
  }
  return a[i]->of;
}

static int int_scalar(Sema *s, Node *call, Type **a, int i) {
  if (a[i]->kind == T_TENSOR && a[i]->rank == 0 && elem_is_int(a[i]->elem)) {
    if (sema_is_weak(ARG(i))) sema_retype_literal(s, ARG(i), ELEM_I64);
    return 1;
  }
  ERR(s, ARG(i)->span, E_ARG_KIND, i + 1, call->name, "an integer");
  return 0;
}

static int string_arg(Sema *s, Node *call, Type **a, int i) {
  if (a[i]->kind == T_STRING) return 1;
  ERR(s, ARG(i)->span, E_STRING_ARG, i + 1, call->name);
  return 0;
}

/* zeros(T), ones(T) */
static Type *check_fill(Sema *s, Node *call, Type **a) {
  Type *t = type_arg(s, call, a, 0);
  return t ? t : fail(s);
}

/* full(T, v) */
static Type *check_full(Sema *s, Node *call, Type **a) {
  Type *t = type_arg(s, call, a, 0);
  if (!t) return fail(s);
  if (a[1]->kind != T_TENSOR || a[1]->rank != 0) {
    ERR(s, ARG(1)->span, E_NOT_SCALAR, "the fill value", TS(a[1]));
    return fail(s);
  }
  if (sema_is_weak(ARG(1)))
    return sema_adopt_literal(s, ARG(1), t->elem, t->tparam, "the fill value") ? t : fail(s);
  int v = a[1]->elem, to = t->elem;
  if (v != to && (v == ELEM_PARAM || to == ELEM_PARAM || elem_promote(v, to) != to)) {
    const char *from = v == ELEM_PARAM ? a[1]->tparam : elem_name(v);
    const char *want = to == ELEM_PARAM ? t->tparam : elem_name(to);
    ERR(s, ARG(1)->span, E_NARROWING, "the fill value", from, want, want);
    return fail(s);
  }
  return t;
}

static int square(Sema *s, Node *call, Node *arg, Type *t) {
  if (t->kind != T_TENSOR || t->rank != 2) {
    ERR(s, arg->span, E_RANK2, call->name, TS(t));
    return 0;
  }
  if (dim_cmp(t->dims[0], t->dims[1]) == DIM_DIFFERENT) {
    ERR(s, arg->span, E_SQUARE, call->name, TS(t));
    return 0;
  }
  return 1;
}

/* eye(f64[n, n]) */
static Type *check_eye(Sema *s, Node *call, Type **a) {
  Type *t = type_arg(s, call, a, 0);
  return t && square(s, call, ARG(0), t) ? t : fail(s);
}

/* rand(T, seed), randn(T, seed) */
static Type *check_random(Sema *s, Node *call, Type **a) {
  Type *t = type_arg(s, call, a, 0);
  if (!t) return fail(s);
  if (!elem_is_float(t->elem)) {
    ERR(s, ARG(0)->span, E_FLOAT_ONLY, call->name, elem_name(t->elem));
    return fail(s);
  }
  if (call->list.n == 2 && !int_scalar(s, call, a, 1)) return fail(s);
  return t;
}

/* load("x.npy"): the shape is known at run time only (rank -1) */
/* The name of dimension k of an unannotated load: X.0 for `X = load(..)`,
 * else the file's, kept distinct from every other value size. */
static const char *load_dim_name(Sema *s, Node *call, int k) {
  const char *base = s->defining, *path = ARG(0)->str, *slash = strrchr(path, '/');
  if (!base) base = arena_printf(s->arena, "%.*s", (int)strcspn(slash ? slash + 1 : path, "."), slash ? slash + 1 : path);
  const char *name = strtab_cstr(&s->c->names, arena_printf(s->arena, "%s.%d", base, k));
  for (int i = 0; i < s->snap_names.n; i++)
    if (s->snap_names.items[i] == name)
      name = strtab_cstr(&s->c->names, arena_printf(s->arena, "%s.%d@%d", base, k, call->span.line));
  ptrvec_push(s->arena, &s->snap_names, (void *)name);
  return name;
}

/* load("x.npy"): its type comes from an annotation, or else from the
 * file's header when the file is there at compile time (element type and
 * rank; the sizes stay data sizes, read when the program runs). */
static Type *check_load(Sema *s, Node *call, Type **a) {
  if (!string_arg(s, call, a, 0)) return fail(s);
  Type *t = type_tensor(s->arena, ELEM_F64, 0, NULL);
  t->rank = -1;
  TnsArray h;
  if (s->annotating || ARG(0)->kind != N_STRING || access(ARG(0)->str, F_OK) != 0) return t;
  if (tns_npy_peek(ARG(0)->str, &h) != TNS_OK) {
    ERR(s, ARG(0)->span, E_LOAD_HEADER, tns_last_error());
    return fail(s);
  }
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(h.rank + 1));
  for (int k = 0; k < h.rank; k++) {
    dims[k] = dim_data_sym(load_dim_name(s, call, k));
    dim_hint_set(dims[k].syms[0], h.dims[k]);
  }
  return type_tensor(s->arena, elem_of_dtype(h.dtype), h.rank, dims);
}

/* save("y.npy", Y) */
static Type *check_save(Sema *s, Node *call, Type **a) {
  if (!string_arg(s, call, a, 0)) return fail(s);
  if (a[1]->kind != T_TENSOR || a[1]->rank < 0) {
    ERR(s, ARG(1)->span, E_ARG_KIND, 2, call->name, "a tensor");
    return fail(s);
  }
  return type_simple(s->arena, T_VOID);
}

/* load_frostt("t.tns", d0, d1, ...): dense f64 of those dimensions */
static Type *check_load_frostt(Sema *s, Node *call, Type **a) {
  if (!string_arg(s, call, a, 0)) return fail(s);
  int rank = call->list.n - 1;
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)rank);
  for (int i = 0; i < rank; i++)
    if (!sema_dim_of_expr(s, ARG(i + 1), 0, &dims[i])) return fail(s);
  return type_tensor(s->arena, ELEM_F64, rank, dims);
}

/* print(x, "text", ...) */
static Type *check_print(Sema *s, Node *call, Type **a) {
  for (int i = 0; i < call->list.n; i++) {
    if (a[i]->kind == T_STRING || (a[i]->kind == T_TENSOR && a[i]->rank >= 0)) continue;
    if (a[i]->kind == T_TYPE) ERR(s, ARG(i)->span, E_ARG_KIND, i + 1, call->name, "a tensor, a scalar or a string");
    else sema_value_ok(s, ARG(i), a[i]); /* several results, nothing, a load */
    return fail(s);
  }
  return type_simple(s->arena, T_VOID);
}

/* assert(cond, "message") */
static Type *check_assert(Sema *s, Node *call, Type **a) {
  if (a[0]->kind != T_TENSOR || a[0]->rank != 0 || a[0]->elem != ELEM_BOOL) {
    ERR(s, ARG(0)->span, E_NOT_BOOL, "the condition of assert", TS(a[0]));
    return fail(s);
  }
  if (call->list.n == 2 && !string_arg(s, call, a, 1)) return fail(s);
  return type_simple(s->arena, T_VOID);
}

/* dim(X, k) */
static Type *check_dim(Sema *s, Node *call, Type **a) {
  if (a[0]->kind != T_TENSOR || a[0]->rank < 0) {
    ERR(s, ARG(0)->span, E_ARG_KIND, 1, call->name, "a tensor");
    return fail(s);
  }
  Node *k = ARG(1);
  if (a[0]->rank == 0) {
    ERR(s, ARG(0)->span, E_ARG_KIND, 1, call->name, "a tensor of rank 1 or more");
    return fail(s);
  }
  if (k->kind != N_INT || k->ival < 0 || k->ival >= a[0]->rank) {
    ERR(s, k->span, E_DIM_INDEX, a[0]->rank - 1);
    return fail(s);
  }
  sema_retype_literal(s, k, ELEM_I64);
  return type_scalar(s->arena, ELEM_I64);
}

static Dim count_of(const Type *t) {
  Dim d = dim_const(1);
  for (int i = 0; i < t->rank; i++) dim_mul(d, t->dims[i], &d);
  return d;
}

/* reshape(X, T) */
static Type *check_reshape(Sema *s, Node *call, Type **a) {
  Type *t = type_arg(s, call, a, 1);
  if (!t) return fail(s);
  if (a[0]->kind != T_TENSOR || a[0]->rank < 0) {
    ERR(s, ARG(0)->span, E_ARG_KIND, 1, call->name, "a tensor");
    return fail(s);
  }
  if (a[0]->elem != t->elem || a[0]->tparam != t->tparam) {
    const char *to = t->elem == ELEM_PARAM ? t->tparam : elem_name(t->elem);
    ERR(s, ARG(1)->span, E_RESHAPE_ELEM, TS(a[0]), TS(t), to);
    return fail(s);
  }
  if (dim_cmp(count_of(a[0]), count_of(t)) == DIM_DIFFERENT) {
    ERR(s, call->span, E_RESHAPE_COUNT, TS(a[0]), TS(t));
    return fail(s);
  }
  return t;
}

static int all_tensors(Sema *s, Node *call, Type **a, int from) {
  for (int i = from; i < call->list.n; i++)
    if (a[i]->kind != T_TENSOR || a[i]->rank < 0) {
      ERR(s, ARG(i)->span, E_ARG_KIND, i + 1, call->name, "a tensor");
      return 0;
    }
  return 1;
}

static int promote_all(Sema *s, Node *call, Type **a, int from) {
  int e = a[from]->elem;
  for (int i = from + 1; i < call->list.n; i++) {
    if (a[i]->elem == ELEM_PARAM || e == ELEM_PARAM) {
      if (a[i]->elem != e) { ERR(s, ARG(i)->span, E_MIX_TPARAM, "T", TS(a[i])); return -1; }
      continue;
    }
    e = elem_promote(e, a[i]->elem);
  }
  return e;
}

/* kron(A, B, ...): same rank, dimensions multiply */
static Type *check_kron(Sema *s, Node *call, Type **a) {
  if (!all_tensors(s, call, a, 0)) return fail(s);
  int rank = a[0]->rank, e = promote_all(s, call, a, 0);
  if (e < 0) return fail(s);
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)(rank + 1));
  for (int k = 0; k < rank; k++) dims[k] = dim_const(1);
  for (int i = 0; i < call->list.n; i++) {
    if (a[i]->rank != rank) {
      ERR(s, ARG(i)->span, E_KRON_RANK, TS(a[0]), TS(a[i]));
      return fail(s);
    }
    for (int k = 0; k < rank; k++)
      if (!dim_mul(dims[k], a[i]->dims[k], &dims[k])) { ERR(s, call->span, E_DIM_OVERFLOW); return fail(s); }
  }
  return type_tensor(s->arena, e, rank, dims);
}

/* khatri_rao(A, B, ...): columnwise Kronecker, f[m, r], f[p, r] -> f[m*p, r] */
static Type *check_khatri_rao(Sema *s, Node *call, Type **a) {
  if (!all_tensors(s, call, a, 0)) return fail(s);
  int e = promote_all(s, call, a, 0);
  if (e < 0) return fail(s);
  Dim dims[2] = {dim_const(1), dim_const(1)};
  for (int i = 0; i < call->list.n; i++) {
    if (a[i]->rank != 2) { ERR(s, ARG(i)->span, E_RANK2, call->name, TS(a[i])); return fail(s); }
    if (i && dim_cmp(a[0]->dims[1], a[i]->dims[1]) == DIM_DIFFERENT) {
      ERR(s, ARG(i)->span, E_KHATRI_RAO_COLS, TS(a[0]), TS(a[i]));
      return fail(s);
    }
    if (!dim_mul(dims[0], a[i]->dims[0], &dims[0])) { ERR(s, call->span, E_DIM_OVERFLOW); return fail(s); }
  }
  dims[1] = a[0]->dims[1];
  return type_tensor(s->arena, e, 2, dims);
}

static int float_matrix(Sema *s, Node *call, Node *arg, Type *t) {
  if (t->kind != T_TENSOR || t->rank != 2) { ERR(s, arg->span, E_RANK2, call->name, TS(t)); return 0; }
  if (!elem_is_float(t->elem) && t->elem != ELEM_PARAM) {
    ERR(s, arg->span, E_FLOAT_ONLY, call->name, elem_name(t->elem));
    return 0;
  }
  return 1;
}

/* A float matrix, or a stack of them (leading batch dimensions, as in
 * numpy.linalg), square in its last two dimensions. */
static int square_stack(Sema *s, Node *call, Node *arg, Type *t) {
  if (t->kind != T_TENSOR || t->rank < 2) { ERR(s, arg->span, E_RANK_STACK, call->name, TS(t)); return 0; }
  if (!elem_is_float(t->elem) && t->elem != ELEM_PARAM) {
    ERR(s, arg->span, E_FLOAT_ONLY, call->name, elem_name(t->elem));
    return 0;
  }
  if (dim_cmp(t->dims[t->rank - 2], t->dims[t->rank - 1]) == DIM_DIFFERENT) {
    ERR(s, arg->span, E_SQUARE, call->name, TS(t));
    return 0;
  }
  return 1;
}

/* The first r dimensions of t, same element type: a stack's batch shape. */
static Type *leading(Sema *s, Type *t, int r) {
  Type *x = type_tensor(s->arena, t->elem, r, t->dims);
  x->tparam = t->tparam;
  return x;
}

/* The batch dimensions of B against A's: equal, or checked at run time. */
static int same_batch(Sema *s, Node *call, Type *A, Type *B) {
  for (int k = 0; k + 2 < A->rank; k++)
    if (dim_cmp(A->dims[k], B->dims[k]) == DIM_DIFFERENT) {
      ERR(s, ARG(1)->span, E_SOLVE_BATCH, k, dim_to_string(s->arena, A->dims[k]), dim_to_string(s->arena, B->dims[k]));
      return 0;
    }
  return 1;
}

/* solve(A, B): A square (or a stack), B a vector or a matrix with A's
 * rows — a stack of vectors or of matrices with A's batch dimensions when
 * A is one: B's rank says which, since batches never broadcast (numpy 1.x's
 * rule; numpy 2.x would need B[..., None] for the vectors). */
static Type *check_solve(Sema *s, Node *call, Type **a) {
  if (!square_stack(s, call, ARG(0), a[0])) return fail(s);
  Type *A = a[0], *b = a[1];
  int r = A->rank;
  if (b->kind != T_TENSOR || b->rank < 1 || (r == 2 && b->rank > 2)) {
    ERR(s, ARG(1)->span, E_ARG_KIND, 2, call->name, "a vector or a matrix");
    return fail(s);
  }
  Dim n = A->dims[r - 2];
  if (r > 2 && b->rank != r && b->rank != r - 1) {
    ERR(s, ARG(1)->span, E_SOLVE_RANK, TS(A), r - 1, dim_to_string(s->arena, n), r, TS(b));
    return fail(s);
  }
  if (!same_batch(s, call, A, b)) return fail(s);
  if (dim_cmp(b->dims[b->rank == r - 1 ? b->rank - 1 : b->rank - 2], n) == DIM_DIFFERENT) {
    ERR(s, ARG(1)->span, E_SOLVE_SHAPE, dim_to_string(s->arena, n), TS(A), TS(b));
    return fail(s);
  }
  if (b->elem != A->elem) {
    ERR(s, ARG(1)->span, E_ARG_ELEM, "B", call->name, elem_name(A->elem), TS(b));
    return fail(s);
  }
  return b;
}

/* cholesky(A), inv(A): the same shape, batched */
static Type *check_square_same(Sema *s, Node *call, Type **a) {
  return square_stack(s, call, ARG(0), a[0]) ? a[0] : fail(s);
}

static Type *tuple2(Sema *s, Type *x, Type *y) {
  Type **items = arena_alloc(s->arena, sizeof(Type *) * 2);
  items[0] = x;
  items[1] = y;
  return type_tuple(s->arena, 2, items);
}

/* eigh(A) -> (w[..., n], V[..., n, n]) */
static Type *check_eigh(Sema *s, Node *call, Type **a) {
  if (!square_stack(s, call, ARG(0), a[0])) return fail(s);
  return tuple2(s, leading(s, a[0], a[0]->rank - 1), a[0]);
}

/* det(A), logdet(A): one number per matrix, the batch's shape */
static Type *check_det(Sema *s, Node *call, Type **a) {
  return square_stack(s, call, ARG(0), a[0]) ? leading(s, a[0], a[0]->rank - 2) : fail(s);
}

/* slogdet(A) -> (sign, logabsdet), each of the batch's shape */
static Type *check_slogdet(Sema *s, Node *call, Type **a) {
  if (!square_stack(s, call, ARG(0), a[0])) return fail(s);
  Type *t = leading(s, a[0], a[0]->rank - 2);
  return tuple2(s, t, t);
}

/* trace(A): sum of the diagonal of the last two dimensions, batched; an
 * integer or bool trace is i64, like numpy.trace */
static Type *check_trace(Sema *s, Node *call, Type **a) {
  if (!numeric(s, call, a, 0)) return fail(s);
  Type *t = a[0];
  if (t->rank < 2) { ERR(s, ARG(0)->span, E_RANK_STACK, call->name, TS(t)); return fail(s); }
  if (dim_cmp(t->dims[t->rank - 2], t->dims[t->rank - 1]) == DIM_DIFFERENT) {
    ERR(s, ARG(0)->span, E_SQUARE, call->name, TS(t));
    return fail(s);
  }
  Type *r = leading(s, t, t->rank - 2);
  if (elem_is_int(t->elem)) r->elem = ELEM_I64;
  return r;
}

/* norm(x): sqrt of the sum of squares of every element (the 2-norm of a
 * vector, the Frobenius norm of a matrix); an integer tensor gives f64 */
static Type *check_norm(Sema *s, Node *call, Type **a) {
  if (!numeric(s, call, a, 0)) return fail(s);
  if (a[0]->rank < 1) { ERR(s, ARG(0)->span, E_TENSOR_RANK1, call->name, TS(a[0])); return fail(s); }
  Type *r = leading(s, a[0], 0);
  if (elem_is_int(r->elem)) r->elem = ELEM_F64;
  return r;
}

/* transpose(A): the last two dimensions swapped (numpy's matrix_transpose) */
static Type *check_transpose(Sema *s, Node *call, Type **a) {
  Type *t = a[0];
  if (t->kind != T_TENSOR || t->rank < 2) { ERR(s, ARG(0)->span, E_RANK_STACK, call->name, TS(t)); return fail(s); }
  Dim *dims = arena_alloc(s->arena, sizeof(Dim) * (size_t)t->rank);
  memcpy(dims, t->dims, sizeof(Dim) * (size_t)t->rank);
  dims[t->rank - 2] = t->dims[t->rank - 1];
  dims[t->rank - 1] = t->dims[t->rank - 2];
  Type *r = type_tensor(s->arena, t->elem, t->rank, dims);
  r->tparam = t->tparam;
  return r;
}

/* min(m, n) of two dimensions: exact when known, else an opaque size. */
static Dim dim_min(Sema *s, Dim m, Dim n) {
  if (dim_cmp(m, n) == DIM_EQUAL) return m;
  if (dim_is_const(m) && dim_is_const(n)) return dim_const(m.k < n.k ? m.k : n.k);
  char *a = dim_to_string(s->arena, m), *b = dim_to_string(s->arena, n);
  return dim_sym(strtab_cstr(&s->c->names, arena_printf(s->arena, "min(%s, %s)", a, b)));
}

/* svd(A) -> (U[m, k], S[k], Vt[k, n]), k = min(m, n) */
static Type *check_svd(Sema *s, Node *call, Type **a) {
  if (!float_matrix(s, call, ARG(0), a[0])) return fail(s);
  Dim m = a[0]->dims[0], n = a[0]->dims[1], k = dim_min(s, m, n);
  int e = a[0]->elem;
  Type **items = arena_alloc(s->arena, sizeof(Type *) * 3);
  items[0] = type_tensor(s->arena, e, 2, (Dim[]){m, k});
  items[1] = type_tensor(s->arena, e, 1, (Dim[]){k});
  items[2] = type_tensor(s->arena, e, 2, (Dim[]){k, n});
  return type_tuple(s->arena, 3, items);
}

/* qr(A) -> (Q[m, k], R[k, n]) */
static Type *check_qr(Sema *s, Node *call, Type **a) {
  if (!float_matrix(s, call, ARG(0), a[0])) return fail(s);
  Dim m = a[0]->dims[0], n = a[0]->dims[1], k = dim_min(s, m, n);
  int e = a[0]->elem;
  return tuple2(s, type_tensor(s->arena, e, 2, (Dim[]){m, k}), type_tensor(s->arena, e, 2, (Dim[]){k, n}));
}

/* time() */
static Type *check_time(Sema *s, Node *call, Type **a) {
  (void)call;
  (void)a;
  return type_scalar(s->arena, ELEM_F64);
}

/* ---- einsum("ij,jk->ik", A, B) ---- */

typedef struct Spec {
  char sub[64][65];     /* each operand's letters */
  int n;
  char out[65];
} Spec;

/* Reports a malformed spec at `at`; 0 for `return spec_error(...)`. */
#define spec_error(s, at, ...) (ERR((s), (at)->span, __VA_ARGS__), 0)

/* NumPy's notation; without "->" the output is the letters used once,
 * in alphabetical order. */
static int parse_spec(Sema *s, Node *at, const char *str, Spec *sp) {
  memset(sp, 0, sizeof *sp);
  const char *arrow = strstr(str, "->");
  int len = 0, counts[128] = {0};
  sp->n = 1;
  for (const char *p = str; *p && p != arrow; p++) {
    if (*p == ' ') continue;
    if (*p == ',') { if (++sp->n > 64) return spec_error(s, at, E_EINSUM_OPERANDS); len = 0; continue; }
    if (*p == '.') return spec_error(s, at, E_EINSUM_ELLIPSIS);
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return spec_error(s, at, E_EINSUM_CHAR, *p);
    if (len == 64) return spec_error(s, at, E_EINSUM_LONG);
    sp->sub[sp->n - 1][len++] = *p;
    counts[(int)*p]++;
  }
  if (arrow) {
    int n = 0;
    for (const char *p = arrow + 2; *p; p++) {
      if (*p == ' ') continue;
      if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) || !counts[(int)*p])
        return spec_error(s, at, E_EINSUM_OUT_MISSING, *p);
      if (strchr(sp->out, *p)) return spec_error(s, at, E_EINSUM_OUT_REPEATED, *p);
      if (n == 64) return spec_error(s, at, E_EINSUM_OUT_LONG);
      sp->out[n++] = *p;
    }
  } else {
    int n = 0;
    for (int c = 'A'; c <= 'z'; c++)
      if (counts[c] == 1) sp->out[n++] = (char)c;
  }
  return 1;
}

static Type *check_einsum(Sema *s, Node *call, Type **a) {
  if (!string_arg(s, call, a, 0) || !all_tensors(s, call, a, 1)) return fail(s);
  Spec sp;
  if (!parse_spec(s, ARG(0), ARG(0)->str, &sp)) return fail(s);
  if (sp.n != call->list.n - 1)
    return ERR(s, ARG(0)->span, E_EINSUM_COUNT, sp.n, call->list.n - 1), fail(s);
  Dim size[128];
  int seen[128] = {0};
  for (int i = 0; i < sp.n; i++) {
    Type *t = a[i + 1];
    if ((int)strlen(sp.sub[i]) != t->rank)
      return ERR(s, ARG(i + 1)->span, E_EINSUM_RANK, i + 1, t->rank, sp.sub[i], (int)strlen(sp.sub[i])), fail(s);
    for (int k = 0; k < t->rank; k++) {
      int c = sp.sub[i][k];
      if (seen[c] && dim_cmp(size[c], t->dims[k]) == DIM_DIFFERENT)
        return ERR(s, ARG(i + 1)->span, E_EINSUM_SIZE, c, dim_to_string(s->arena, size[c]), dim_to_string(s->arena, t->dims[k]), i + 1), fail(s);
      if (!seen[c]) size[c] = t->dims[k];
      seen[c] = 1;
    }
  }
  int e = promote_all(s, call, a, 1), rank = (int)strlen(sp.out);
  if (e < 0) return fail(s);
  Dim dims[64];
  for (int k = 0; k < rank; k++) dims[k] = size[(int)sp.out[k]];
  return type_tensor(s->arena, e, rank, dims);
}

/* Types the arguments, checks their count, and runs the checker. */
Type *builtin_check(Sema *s, int id, Node *call) {
  int n = call->list.n;
  Type **a = arena_alloc(s->arena, sizeof(Type *) * (size_t)(n + 1));
  int bad = 0;
  for (int i = 0; i < n; i++) {
    a[i] = sema_expr(s, ARG(i));
    bad |= type_is_error(a[i]);
  }
  int lo = builtin_min_args(id), hi = builtin_max_args(id);
  if (n == 1 && lo == 2 && reduce_lookup(call->name) >= 0) {
    ERR(s, call->span, E_REDUCE_FORM, call->name, call->name); /* max(x) */
    return fail(s);
  }
  if (n < lo || n > hi) {
    const char *want = lo == hi ? arena_printf(s->arena, "%d", lo)
                       : hi >= 16 ? arena_printf(s->arena, "at least %d", lo)
                       : arena_printf(s->arena, "%d to %d", lo, hi);
    int one = hi == 1 || (hi >= 16 && lo == 1);
    ERR(s, call->span, E_ARG_COUNT, call->name, want, one ? "" : "s", n);
    return fail(s);
  }
  if (bad) return fail(s);
  return checkers[id](s, call, a);
}
