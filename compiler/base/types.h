/* types.h — element types, symbolic dimensions and tensor types.
 * A dimension is a monomial k * s1 * s2 ... over size names (`m*p`), so
 * shapes stay exact when sizes are only known at run time. */
#ifndef TNS_TYPES_H
#define TNS_TYPES_H
#include <stdint.h>
#include "arena.h"

typedef enum ElemType {
  ELEM_NONE = -1,           /* no element type (an error, or not yet known) */
#define ELEM(id, name, size, f, i, dtype) ELEM_##id,
#include "elem.def"
#undef ELEM
  ELEM_COUNT,
  ELEM_PARAM = ELEM_COUNT   /* a type parameter, named in Node.name */
} ElemType;

enum { DIM_MAX_SYMS = 8, DIM_MAX_FACTORS = 8 };

/* One factor of a dimension as written: a constant (sym NULL) or a name. */
typedef struct DimFactor {
  int64_t k;
  const char *sym;
  unsigned data;                    /* sym is a data size */
} DimFactor;

typedef struct Dim {
  int64_t k;                        /* constant factor, >= 0 */
  int n;                            /* number of size names */
  const char *syms[DIM_MAX_SYMS];   /* interned, sorted by strcmp */
  unsigned data;                    /* bit i: syms[i] is a data size (bound
                                       by a load, dim(), a run-time value) */
  int nf;                           /* >= 2: the product of f[0..nf) in the
                                       order written (n*p, a kron result);
                                       0: no known factors */
  DimFactor f[DIM_MAX_FACTORS];
} Dim;

typedef enum DimCmp { DIM_EQUAL, DIM_DIFFERENT, DIM_UNKNOWN } DimCmp;

typedef enum TypeKind {
  T_TENSOR,    /* elem + shape; rank 0 is a scalar */
  T_STRING,
  T_VOID,
  T_TUPLE,     /* several results */
  T_TYPE,      /* a type used as a value: zeros(f64[3]) */
  T_ERROR,     /* after a reported error: silences follow-on errors */
} TypeKind;

typedef struct Type Type;
struct Type {
  TypeKind kind;
  ElemType elem;            /* or ELEM_PARAM with tparam */
  const char *tparam;
  int rank;
  Dim *dims;
  int n;                    /* T_TUPLE */
  Type **items;
  Type *of;                 /* T_TYPE */
};

Dim dim_const(int64_t k);
Dim dim_sym(const char *name);
/* A size whose value comes from data: never provably different from
 * another size, so equalities with it are checked at run time. */
Dim dim_data_sym(const char *name);
int dim_is_data(Dim d);
int dim_mul(Dim a, Dim b, Dim *out);            /* 0 on overflow */
int dim_div(Dim a, Dim b, Dim *out);            /* 1 when b divides a exactly */
DimCmp dim_cmp(Dim a, Dim b);
int dim_is_const(Dim d);
/* A product of a size name with anything (n1*n2, 2*n): a call binds the
 * sizes of every other dimension first, then matches these. */
int dim_is_product(Dim d);
/* d's factors in written order (a single size is its own factor); 0 when
 * they are not known. */
int dim_factors(Dim d, DimFactor *out);
Dim dim_of_factor(DimFactor f);
/* A parameter's dimension `a*b` against an argument's written factors
 * (n*p, a kron result): the pairs, factor by factor; 0 when the counts
 * differ or either has no factors. */
int dim_pair_factors(Dim param, Dim arg, DimFactor *pf, DimFactor *af);
char *dim_to_string(Arena *a, Dim d);

/* Integer arithmetic with numpy's meaning, for folding constants (sizes,
 * i64 names with a known value): a floor division and a remainder that
 * takes the divisor's sign (-7 // 2 == -4, -7 % 2 == 1), and a power by
 * squaring. Results are exact or not given: INT_UNDEFINED for a zero
 * divisor or a negative exponent (numpy gives 0 and an error there),
 * INT_OVERFLOW past int64. */
typedef enum IntFold { INT_OK, INT_DIV_ZERO, INT_NEG_POW, INT_OVERFLOW } IntFold;
IntFold int_floordiv(int64_t a, int64_t b, int64_t *out);
IntFold int_mod(int64_t a, int64_t b, int64_t *out);
IntFold int_pow(int64_t a, int64_t b, int64_t *out);

/* Sizes seen at compile time although they are data sizes (an unannotated
 * load's file header): estimates for path costs and `explain` only, never
 * relied on for correctness. dim_hint is 0 for a name without one. */
void dim_hint_set(const char *sym, int64_t v);
int64_t dim_hint(const char *sym);

Type *type_tensor(Arena *a, int elem, int rank, const Dim *dims);
Type *type_scalar(Arena *a, int elem);
Type *type_simple(Arena *a, TypeKind k);
Type *type_tuple(Arena *a, int n, Type **items);
Type *type_typeval(Arena *a, Type *of);
int type_is_scalar(const Type *t);
int type_is_error(const Type *t);
const char *elem_name(int e);  /* "f64"; "?" for ELEM_PARAM */
int elem_is_float(int e);
int elem_is_int(int e);
int elem_size(int e);
int elem_dtype(int e);          /* the runtime's TnsDtype */
int elem_of_dtype(int dtype);   /* -1 for an unknown dtype */
int elem_promote(int a, int b);
/* Writes `f64[m, n*p]`; with a == NULL the string is malloc'ed. */
char *type_to_string(Arena *a, const Type *t);
char *shape_to_string(Arena *a, const Type *t);
/* Same rank and no dimension provably different (element types aside). */
int type_same_shape(const Type *a, const Type *b);

#endif
