/* Tests for compiler/base/types.c: the symbolic dimension algebra (monomials
 * k * s1 * s2 ... over size names), comparison, printing of dimensions
 * and types, element-type promotion. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strtab.h"
#include "types.h"

static Arena *arena;
static StrTab names;

static void setup(void) {
  arena = arena_new();
  strtab_init(&names, arena);
}

static void teardown(void) { arena_free(arena); }

TestSuite(types, .init = setup, .fini = teardown);

static Dim sym(const char *s) { return dim_sym(strtab_cstr(&names, s)); }

static Dim mul(Dim a, Dim b) {
  Dim r;
  cr_assert(dim_mul(a, b, &r), "unexpected overflow");
  return r;
}

static const char *str(Dim d) { return dim_to_string(arena, d); }

/* ---- multiplication ---- */

Test(types, const_times_const) {
  Dim d = mul(dim_const(6), dim_const(7));
  cr_assert_eq(d.k, 42);
  cr_assert_eq(d.n, 0);
  cr_assert(dim_is_const(d));
  cr_assert_str_eq(str(d), "42");
}

Test(types, symbols_are_sorted) {
  /* p*m and m*p are the same monomial, written m*p */
  Dim a = mul(sym("p"), sym("m")), b = mul(sym("m"), sym("p"));
  cr_assert_eq(a.n, 2);
  cr_assert_str_eq(a.syms[0], "m");
  cr_assert_str_eq(a.syms[1], "p");
  cr_assert_eq(dim_cmp(a, b), DIM_EQUAL);
  cr_assert_str_eq(str(a), "m*p");
  cr_assert_str_eq(str(b), "m*p");
}

Test(types, three_way_product_any_order) {
  Dim a = mul(mul(sym("z"), sym("a")), sym("m"));
  Dim b = mul(sym("m"), mul(sym("a"), sym("z")));
  Dim c = mul(mul(sym("a"), sym("m")), sym("z"));
  cr_assert_str_eq(str(a), "a*m*z");
  cr_assert_eq(dim_cmp(a, b), DIM_EQUAL);
  cr_assert_eq(dim_cmp(b, c), DIM_EQUAL);
}

Test(types, constant_factor_prints_first) {
  Dim d = mul(mul(sym("n"), dim_const(3)), mul(dim_const(2), sym("d")));
  cr_assert_eq(d.k, 6);
  cr_assert_str_eq(str(d), "6*d*n");
}

Test(types, repeated_symbol_is_a_power) {
  Dim d = mul(sym("n"), sym("n"));
  cr_assert_eq(d.n, 2);
  cr_assert_str_eq(str(d), "n*n");
  cr_assert_eq(dim_cmp(d, sym("n")), DIM_DIFFERENT);
}

Test(types, multiply_by_one_changes_nothing) {
  Dim d = mul(sym("n"), dim_const(1));
  cr_assert_eq(dim_cmp(d, sym("n")), DIM_EQUAL);
  cr_assert_str_eq(str(d), "n");
}

Test(types, multiply_by_zero) {
  Dim d = mul(dim_const(0), dim_const(5));
  cr_assert_eq(d.k, 0);
  cr_assert_str_eq(str(d), "0");
}

Test(types, constant_overflow) {
  Dim r;
  cr_assert_not(dim_mul(dim_const(INT64_MAX / 2 + 1), dim_const(2), &r));
  cr_assert_not(dim_mul(dim_const((int64_t)1 << 32), dim_const((int64_t)1 << 31), &r));
  cr_assert(dim_mul(dim_const((int64_t)1 << 31), dim_const((int64_t)1 << 31), &r));
  cr_assert_eq(r.k, (int64_t)1 << 62);
  cr_assert(dim_mul(dim_const(INT64_MAX), dim_const(1), &r));
  cr_assert_eq(r.k, INT64_MAX);
}

Test(types, too_many_symbols) {
  Dim d = sym("a");
  for (int i = 1; i < DIM_MAX_SYMS; i++) d = mul(d, sym("a"));
  cr_assert_eq(d.n, DIM_MAX_SYMS);
  Dim r;
  cr_assert_not(dim_mul(d, sym("b"), &r), "more than DIM_MAX_SYMS names must fail, not overflow");
}

/* ---- division ---- */

Test(types, div_exact) {
  Dim a = mul(mul(dim_const(6), sym("m")), sym("p")), q;
  cr_assert(dim_div(a, sym("p"), &q));
  cr_assert_str_eq(str(q), "6*m");
  cr_assert(dim_div(a, mul(dim_const(3), sym("m")), &q));
  cr_assert_str_eq(str(q), "2*p");
  cr_assert(dim_div(a, a, &q));
  cr_assert_eq(q.k, 1);
  cr_assert_eq(q.n, 0);
  cr_assert(dim_div(dim_const(12), dim_const(4), &q));
  cr_assert_eq(q.k, 3);
}

Test(types, div_inexact) {
  Dim q;
  cr_assert_not(dim_div(dim_const(12), dim_const(5), &q));
  cr_assert_not(dim_div(sym("m"), sym("n"), &q), "n does not divide m");
  cr_assert_not(dim_div(dim_const(6), sym("n"), &q));
  cr_assert_not(dim_div(mul(dim_const(3), sym("n")), dim_const(2), &q));
  cr_assert_not(dim_div(sym("n"), mul(sym("n"), sym("n")), &q), "n*n does not divide n");
}

Test(types, div_by_zero) {
  Dim q;
  cr_assert_not(dim_div(dim_const(6), dim_const(0), &q));
}

Test(types, div_removes_one_copy_of_a_repeated_symbol) {
  Dim q;
  cr_assert(dim_div(mul(sym("n"), mul(sym("m"), sym("n"))), sym("n"), &q));
  cr_assert_str_eq(str(q), "m*n");
}

Test(types, div_undoes_mul) {
  Dim a = mul(dim_const(4), mul(sym("q"), sym("b"))), b = mul(sym("c"), sym("b")), q;
  cr_assert(dim_div(mul(a, b), b, &q));
  cr_assert_eq(dim_cmp(q, a), DIM_EQUAL);
}

/* ---- comparison ---- */

Test(types, cmp_equal) {
  cr_assert_eq(dim_cmp(dim_const(3), dim_const(3)), DIM_EQUAL);
  cr_assert_eq(dim_cmp(sym("n"), sym("n")), DIM_EQUAL);
  cr_assert_eq(dim_cmp(mul(dim_const(2), sym("n")), mul(sym("n"), dim_const(2))), DIM_EQUAL);
}

Test(types, cmp_different) {
  cr_assert_eq(dim_cmp(dim_const(3), dim_const(4)), DIM_DIFFERENT);
  cr_assert_eq(dim_cmp(sym("m"), sym("n")), DIM_DIFFERENT);
  cr_assert_eq(dim_cmp(mul(dim_const(2), sym("n")), sym("n")), DIM_DIFFERENT);
  cr_assert_eq(dim_cmp(mul(sym("m"), sym("n")), sym("n")), DIM_DIFFERENT);
}

Test(types, cmp_unknown_constant_against_symbol) {
  /* n might be 64 at run time */
  cr_assert_eq(dim_cmp(dim_const(64), sym("n")), DIM_UNKNOWN);
  cr_assert_eq(dim_cmp(sym("n"), dim_const(64)), DIM_UNKNOWN);
  cr_assert_eq(dim_cmp(dim_const(6), mul(sym("m"), sym("p"))), DIM_UNKNOWN);
}

Test(types, cmp_uses_interned_names) {
  /* two different spellings of the same name: only interned pointers are
   * compared, which is why sizes are always interned */
  Dim a = dim_sym(strtab_cstr(&names, "n")), b = dim_sym(strtab_intern(&names, "nn", 1));
  cr_assert_eq(dim_cmp(a, b), DIM_EQUAL);
}

/* ---- types ---- */

static Type *tensor(int elem, int rank, Dim *dims) { return type_tensor(arena, elem, rank, dims); }

Test(types, type_to_string_tensor) {
  Dim dims[3] = {dim_const(3), sym("n"), mul(sym("p"), sym("m"))};
  cr_assert_str_eq(type_to_string(arena, tensor(ELEM_F64, 3, dims)), "f64[3, n, m*p]");
  cr_assert_str_eq(type_to_string(arena, tensor(ELEM_F32, 1, dims)), "f32[3]");
  cr_assert_str_eq(shape_to_string(arena, tensor(ELEM_F32, 2, dims)), "[3, n]");
}

Test(types, type_to_string_scalars) {
  cr_assert_str_eq(type_to_string(arena, type_scalar(arena, ELEM_F64)), "f64");
  cr_assert_str_eq(type_to_string(arena, type_scalar(arena, ELEM_I64)), "i64");
  cr_assert_str_eq(type_to_string(arena, type_scalar(arena, ELEM_I32)), "i32");
  cr_assert_str_eq(type_to_string(arena, type_scalar(arena, ELEM_BOOL)), "bool");
  cr_assert(type_is_scalar(type_scalar(arena, ELEM_F32)));
  Dim d = dim_const(2);
  cr_assert_not(type_is_scalar(tensor(ELEM_F32, 1, &d)));
}

Test(types, type_to_string_type_parameter) {
  Dim dims[2] = {sym("n"), sym("m")};
  Type *t = tensor(ELEM_PARAM, 2, dims);
  t->tparam = strtab_cstr(&names, "T");
  cr_assert_str_eq(type_to_string(arena, t), "T[n, m]");
}

Test(types, type_to_string_other_kinds) {
  Dim d = dim_const(4);
  Type *items[2] = {tensor(ELEM_F64, 1, &d), type_scalar(arena, ELEM_I64)};
  cr_assert_str_eq(type_to_string(arena, type_tuple(arena, 2, items)), "(f64[4], i64)");
  cr_assert_str_eq(type_to_string(arena, type_typeval(arena, items[0])), "type f64[4]");
  cr_assert_str_eq(type_to_string(arena, type_simple(arena, T_STRING)), "string");
  cr_assert(type_is_error(type_simple(arena, T_ERROR)));
  cr_assert(type_is_error(NULL));
  cr_assert_not(type_is_error(items[0]));
}

Test(types, type_to_string_malloc) {
  Dim d = sym("k");
  char *s = type_to_string(NULL, tensor(ELEM_I32, 1, &d));
  cr_assert_str_eq(s, "i32[k]");
  free(s);
}

Test(types, type_tensor_copies_dims) {
  Dim dims[1] = {dim_const(5)};
  Type *t = tensor(ELEM_F64, 1, dims);
  dims[0] = dim_const(9);
  cr_assert_eq(t->dims[0].k, 5);
}

/* ---- element types ---- */

Test(types, elem_info) {
  cr_assert_eq(elem_size(ELEM_F64), 8);
  cr_assert_eq(elem_size(ELEM_F32), 4);
  cr_assert_eq(elem_size(ELEM_I32), 4);
  cr_assert_eq(elem_size(ELEM_BOOL), 1);
  cr_assert(elem_is_float(ELEM_F32));
  cr_assert_not(elem_is_float(ELEM_I64));
  cr_assert(elem_is_int(ELEM_I32));
  cr_assert_not(elem_is_int(ELEM_BOOL));
  cr_assert_not(elem_is_float(ELEM_PARAM));
}

Test(types, promotion_like_numpy) {
  cr_assert_eq(elem_promote(ELEM_F32, ELEM_F32), ELEM_F32);
  cr_assert_eq(elem_promote(ELEM_F32, ELEM_F64), ELEM_F64);
  cr_assert_eq(elem_promote(ELEM_I32, ELEM_I64), ELEM_I64);
  cr_assert_eq(elem_promote(ELEM_I32, ELEM_F32), ELEM_F64, "numpy: int32 + float32 is float64");
  cr_assert_eq(elem_promote(ELEM_BOOL, ELEM_F32), ELEM_F32);
  cr_assert_eq(elem_promote(ELEM_I64, ELEM_BOOL), ELEM_I64);
  cr_assert_eq(elem_promote(ELEM_PARAM, ELEM_F32), ELEM_PARAM);
}

/* ---- written factors (kron results, n*p parameters) ---- */

Test(types, factors_keep_the_written_order) {
  Dim pn = mul(sym("p"), sym("n")), np = mul(sym("n"), sym("p"));
  cr_assert_eq(dim_cmp(pn, np), DIM_EQUAL, "the same size whatever the order");
  DimFactor f[DIM_MAX_FACTORS + 1];
  cr_assert_eq(dim_factors(pn, f), 2);
  cr_assert_str_eq(f[0].sym, "p");
  cr_assert_str_eq(f[1].sym, "n");
}

Test(types, constant_factors_and_ones) {
  Dim d = mul(mul(dim_const(1), dim_const(2)), mul(dim_const(4), dim_const(1)));
  DimFactor f[DIM_MAX_FACTORS + 1];
  cr_assert_eq(d.k, 8);
  cr_assert_eq(dim_factors(d, f), 2, "factors of 1 are dropped");
  cr_assert_eq(f[0].k, 2);
  cr_assert_eq(f[1].k, 4);
}

Test(types, no_factors_without_an_order) {
  DimFactor f[DIM_MAX_FACTORS + 1];
  Dim d = sym("m");
  cr_assert_eq(dim_factors(d, f), 1, "a single size is its own factor");
  d.n = 2;   /* m*p from division or printing: order unknown */
  d.syms[1] = strtab_cstr(&names, "p");
  cr_assert_eq(dim_factors(d, f), 0);
}

Test(types, pairing_factors) {
  DimFactor pf[DIM_MAX_FACTORS + 1], af[DIM_MAX_FACTORS + 1];
  Dim param = mul(sym("a"), sym("b")), arg = mul(dim_const(3), sym("n"));
  cr_assert_eq(dim_pair_factors(param, arg, pf, af), 2);
  cr_assert_str_eq(pf[0].sym, "a");
  cr_assert_eq(af[0].k, 3);
  cr_assert_null(af[0].sym);
  cr_assert_str_eq(af[1].sym, "n");
  cr_assert_eq(dim_pair_factors(param, mul(arg, sym("q")), pf, af), 0, "three factors do not pair with two");
}

/* ---- integer folding with numpy's meaning ---- */

static int64_t fold(IntFold (*f)(int64_t, int64_t, int64_t *), int64_t a, int64_t b) {
  int64_t r = 12345;
  cr_assert_eq(f(a, b, &r), INT_OK, "%lld, %lld", (long long)a, (long long)b);
  return r;
}

Test(types, floordiv_floors_towards_minus_infinity) {
  cr_assert_eq(fold(int_floordiv, 7, 2), 3);
  cr_assert_eq(fold(int_floordiv, -7, 2), -4);
  cr_assert_eq(fold(int_floordiv, 7, -2), -4);
  cr_assert_eq(fold(int_floordiv, -7, -2), 3);
  cr_assert_eq(fold(int_floordiv, -8, 2), -4);
  int64_t r;
  cr_assert_eq(int_floordiv(1, 0, &r), INT_DIV_ZERO);
  cr_assert_eq(int_floordiv(INT64_MIN, -1, &r), INT_OVERFLOW);
}

Test(types, mod_takes_the_divisors_sign) {
  cr_assert_eq(fold(int_mod, -7, 3), 2);
  cr_assert_eq(fold(int_mod, 7, -3), -2);
  cr_assert_eq(fold(int_mod, -6, 3), 0);
  cr_assert_eq(fold(int_mod, INT64_MIN, -1), 0);
  int64_t r;
  cr_assert_eq(int_mod(5, 0, &r), INT_DIV_ZERO);
}

Test(types, pow_is_exact_or_refused) {
  cr_assert_eq(fold(int_pow, 2, 10), 1024);
  cr_assert_eq(fold(int_pow, 7, 0), 1);
  cr_assert_eq(fold(int_pow, 0, 0), 1);
  cr_assert_eq(fold(int_pow, -3, 3), -27);
  cr_assert_eq(fold(int_pow, 3, 39), 4052555153018976267LL);   /* beyond 2^53: exact */
  cr_assert_eq(fold(int_pow, -2, 63), INT64_MIN);
  int64_t r;
  cr_assert_eq(int_pow(2, 63, &r), INT_OVERFLOW);
  cr_assert_eq(int_pow(3, 40, &r), INT_OVERFLOW);
  cr_assert_eq(int_pow(2, -1, &r), INT_NEG_POW);
}
