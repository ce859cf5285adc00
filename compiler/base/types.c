/* types.c — dimension algebra and type printing. */
#include "types.h"
#include "tns_runtime.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; int size, is_float, is_int, dtype; } elem_info[] = {
#define ELEM(id, name, size, f, i, dtype) {name, size, f, i, dtype},
#include "elem.def"
#undef ELEM
};

const char *elem_name(int e) { return e >= 0 && e < ELEM_COUNT ? elem_info[e].name : "?"; }
int elem_is_float(int e) { return e >= 0 && e < ELEM_COUNT && elem_info[e].is_float; }
int elem_is_int(int e) { return e >= 0 && e < ELEM_COUNT && elem_info[e].is_int; }
int elem_dtype(int e) { return elem_info[e].dtype; }

int elem_of_dtype(int dtype) {
  for (int e = 0; e < ELEM_COUNT; e++)
    if (elem_info[e].dtype == dtype) return e;
  return -1;
}

int elem_size(int e) { return e >= 0 && e < ELEM_COUNT ? elem_info[e].size : 0; }

/* numpy's promotion for arrays: the larger kind wins; an integer meeting a
 * float gives f64 unless the integer is bool. */
int elem_promote(int a, int b) {
  if (a == b) return a;
  if (a == ELEM_PARAM || b == ELEM_PARAM) return ELEM_PARAM;
  if (a == ELEM_BOOL) return b;
  if (b == ELEM_BOOL) return a;
  if (elem_is_float(a) && elem_is_float(b)) return ELEM_F64;
  if (elem_is_int(a) && elem_is_int(b)) return ELEM_I64;
  return ELEM_F64;
}

Dim dim_const(int64_t k) {
  Dim d;
  memset(&d, 0, sizeof d);
  d.k = k;
  return d;
}

Dim dim_sym(const char *name) {
  Dim d = dim_const(1);
  d.n = 1;
  d.syms[0] = name;
  return d;
}

Dim dim_data_sym(const char *name) {
  Dim d = dim_sym(name);
  d.data = 1;
  return d;
}

int dim_is_const(Dim d) { return d.n == 0; }
int dim_is_product(Dim d) { return d.n >= 2 || (d.n == 1 && d.k != 1); }

IntFold int_floordiv(int64_t a, int64_t b, int64_t *out) {
  if (b == 0) return INT_DIV_ZERO;
  if (a == INT64_MIN && b == -1) return INT_OVERFLOW;
  int64_t q = a / b;
  if (a % b != 0 && (a < 0) != (b < 0)) q--;   /* C truncates; floor */
  *out = q;
  return INT_OK;
}

IntFold int_mod(int64_t a, int64_t b, int64_t *out) {
  if (b == 0) return INT_DIV_ZERO;
  if (b == -1) { *out = 0; return INT_OK; }   /* INT64_MIN % -1 traps in C */
  int64_t r = a % b;
  if (r != 0 && (r < 0) != (b < 0)) r += b;
  *out = r;
  return INT_OK;
}

IntFold int_pow(int64_t a, int64_t b, int64_t *out) {
  if (b < 0) return INT_NEG_POW;
  int64_t r = 1;
  for (;;) {
    if ((b & 1) && __builtin_mul_overflow(r, a, &r)) return INT_OVERFLOW;
    b >>= 1;
    if (!b) break;
    if (__builtin_mul_overflow(a, a, &a)) return INT_OVERFLOW;
  }
  *out = r;
  return INT_OK;
}

/* One table per process: names are interned, so a pointer identifies one
 * size; a later load of the same name replaces its estimate. */
static struct { const char *sym; int64_t v; } *hints;
static int nhints, caphints;

void dim_hint_set(const char *sym, int64_t v) {
  for (int i = 0; i < nhints; i++)
    if (hints[i].sym == sym) { hints[i].v = v; return; }
  if (nhints == caphints) {
    int cap = caphints ? 2 * caphints : 64;
    void *p = realloc(hints, sizeof *hints * (size_t)cap);
    if (!p) return;   /* an estimate less */
    hints = p;
    caphints = cap;
  }
  hints[nhints].sym = sym;
  hints[nhints++].v = v;
}

int64_t dim_hint(const char *sym) {
  for (int i = 0; i < nhints; i++)
    if (hints[i].sym == sym) return hints[i].v;
  return 0;
}
int dim_is_data(Dim d) { return d.data != 0; }

int dim_factors(Dim d, DimFactor *out) {
  if (d.nf >= 2) {
    memcpy(out, d.f, sizeof(DimFactor) * (size_t)d.nf);
    return d.nf;
  }
  int n = 0;
  if (d.n == 0 || d.k != 1) out[n++] = (DimFactor){d.k, NULL, 0};
  if (d.n > 1) return 0;   /* m*p without a written order */
  if (d.n == 1) out[n++] = (DimFactor){1, d.syms[0], d.data & 1u};
  return n;
}

Dim dim_of_factor(DimFactor f) {
  if (!f.sym) return dim_const(f.k);
  return f.data ? dim_data_sym(f.sym) : dim_sym(f.sym);
}

int dim_pair_factors(Dim param, Dim arg, DimFactor *pf, DimFactor *af) {
  int np = dim_factors(param, pf), na = dim_factors(arg, af);
  return np >= 2 && np == na ? np : 0;
}

/* a's factors then b's, without factors of 1: the order kron and `n*p`
 * write them in. */
static void mul_factors(Dim a, Dim b, Dim *r) {
  DimFactor fa[DIM_MAX_FACTORS + 1], fb[DIM_MAX_FACTORS + 1];
  int na = dim_factors(a, fa), nb = dim_factors(b, fb);
  r->nf = 0;
  if ((!na && !(a.k == 1 && a.n == 0)) || (!nb && !(b.k == 1 && b.n == 0))) return;
  int n = 0;
  for (int i = 0; i < na + nb; i++) {
    DimFactor x = i < na ? fa[i] : fb[i - na];
    if (!x.sym && x.k == 1) continue;
    if (n == DIM_MAX_FACTORS) return;
    r->f[n++] = x;
  }
  r->nf = n >= 2 ? n : 0;
}

/* Merges the sorted symbol lists; k multiplies with overflow check. */
int dim_mul(Dim a, Dim b, Dim *out) {
  Dim r = dim_const(0);
  if (__builtin_mul_overflow(a.k, b.k, &r.k)) return 0;
  if (a.n + b.n > DIM_MAX_SYMS) return 0;
  int i = 0, j = 0;
  while (i < a.n || j < b.n) {
    int from_a = j >= b.n || (i < a.n && strcmp(a.syms[i], b.syms[j]) <= 0);
    unsigned data = from_a ? (a.data >> i) & 1u : (b.data >> j) & 1u;
    r.data |= data << r.n;
    r.syms[r.n++] = from_a ? a.syms[i++] : b.syms[j++];
  }
  mul_factors(a, b, &r);
  *out = r;
  return 1;
}

/* a / b as a monomial: every symbol of b must occur in a. */
int dim_div(Dim a, Dim b, Dim *out) {
  if (b.k == 0 || a.k % b.k) return 0;
  Dim r = dim_const(a.k / b.k);
  int j = 0;
  for (int i = 0; i < a.n; i++) {
    if (j < b.n && a.syms[i] == b.syms[j]) j++;
    else {
      r.data |= ((a.data >> i) & 1u) << r.n;
      r.syms[r.n++] = a.syms[i];
    }
  }
  if (j != b.n) return 0;
  *out = r;
  return 1;
}

/* Equal monomials are equal; two constants, or two symbolic monomials over
 * parameter sizes, that differ are different (size names are
 * independent); a constant against a symbolic size, or anything against a
 * data size, can only be decided at run time. */
DimCmp dim_cmp(Dim a, Dim b) {
  if (a.k == b.k && a.n == b.n) {
    int same = 1;
    for (int i = 0; i < a.n; i++) same &= a.syms[i] == b.syms[i];
    if (same) return DIM_EQUAL;
  }
  if (a.n == 0 && b.n == 0) return DIM_DIFFERENT;
  if (a.data || b.data) return DIM_UNKNOWN;
  if (a.n > 0 && b.n > 0) return DIM_DIFFERENT;
  return DIM_UNKNOWN;
}

static void dim_write(FILE *f, Dim d) {
  int first = 1;
  if (d.k != 1 || d.n == 0) {
    fprintf(f, "%lld", (long long)d.k);
    first = 0;
  }
  for (int i = 0; i < d.n; i++) {
    fprintf(f, "%s%s", first ? "" : "*", d.syms[i]);
    first = 0;
  }
}

static char *finish(Arena *a, char *buf, size_t len) {
  if (!a) return buf;
  char *r = arena_strndup(a, buf, len);
  free(buf);
  return r;
}

char *dim_to_string(Arena *a, Dim d) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dim_write(f, d);
  fclose(f);
  return finish(a, buf, len);
}

static void shape_write(FILE *f, const Type *t) {
  fputc('[', f);
  for (int i = 0; i < t->rank; i++) {
    if (i) fputs(", ", f);
    dim_write(f, t->dims[i]);
  }
  fputc(']', f);
}

static void type_write(FILE *f, const Type *t) {
  switch (t->kind) {
  case T_TENSOR:
    fputs(t->elem == ELEM_PARAM ? t->tparam : elem_name(t->elem), f);
    if (t->rank) shape_write(f, t);
    break;
  case T_STRING: fputs("string", f); break;
  case T_VOID: fputs("nothing", f); break;
  case T_ERROR: fputs("<error>", f); break;
  case T_TYPE: fputs("type ", f); type_write(f, t->of); break;
  case T_TUPLE:
    fputc('(', f);
    for (int i = 0; i < t->n; i++) {
      if (i) fputs(", ", f);
      type_write(f, t->items[i]);
    }
    fputc(')', f);
  }
}

char *type_to_string(Arena *a, const Type *t) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  type_write(f, t);
  fclose(f);
  return finish(a, buf, len);
}

char *shape_to_string(Arena *a, const Type *t) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  shape_write(f, t);
  fclose(f);
  return finish(a, buf, len);
}

Type *type_tensor(Arena *a, int elem, int rank, const Dim *dims) {
  Type *t = arena_alloc(a, sizeof *t);
  t->kind = T_TENSOR;
  t->elem = elem;
  t->rank = rank;
  if (rank) {
    t->dims = arena_alloc(a, sizeof(Dim) * (size_t)rank);
    memcpy(t->dims, dims, sizeof(Dim) * (size_t)rank);
  }
  return t;
}

Type *type_scalar(Arena *a, int elem) { return type_tensor(a, elem, 0, NULL); }

Type *type_simple(Arena *a, TypeKind k) {
  Type *t = arena_alloc(a, sizeof *t);
  t->kind = k;
  return t;
}

Type *type_tuple(Arena *a, int n, Type **items) {
  Type *t = type_simple(a, T_TUPLE);
  t->n = n;
  t->items = items;
  return t;
}

Type *type_typeval(Arena *a, Type *of) {
  Type *t = type_simple(a, T_TYPE);
  t->of = of;
  return t;
}

int type_is_scalar(const Type *t) { return t->kind == T_TENSOR && t->rank == 0; }
int type_is_error(const Type *t) { return !t || t->kind == T_ERROR; }

int type_same_shape(const Type *a, const Type *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (dim_cmp(a->dims[i], b->dims[i]) == DIM_DIFFERENT) return 0;
  return 1;
}
