/* test_abi.c — C calls into functions compiled by `tnsc obj` (see
 * abi_funcs.tns): results against plain C references, every argument
 * check, every error code, private functions not exported. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "abi_funcs.h"

Test(abi, matrix_product_matches_reference) {
  double A[2 * 3] = {1, 2, 3, 4, 5, 6}, B[3 * 2] = {7, 8, 9, 10, 11, 12}, C[4];
  cr_assert_eq(mm(2, 3, 2, A, B, C), TNS_OK);
  double want[4] = {58, 64, 139, 154};
  for (int i = 0; i < 4; i++) cr_expect_float_eq(C[i], want[i], 1e-12);
}

Test(abi, grouped_indices_build_kronecker) {
  double A[2 * 2] = {1, 2, 3, 4}, B[2 * 3] = {0, 5, 1, 6, 7, 2}, K[4 * 6];
  cr_assert_eq(kron2(2, 2, 2, 3, A, B, K), TNS_OK);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 2; k++)
        for (int l = 0; l < 3; l++)
          cr_expect_float_eq(K[(i * 2 + k) * 6 + j * 3 + l], A[i * 2 + j] * B[k * 3 + l], 0.0);
}

Test(abi, several_results_come_back) {
  double x[4] = {1, 5, 2, 4}, mean = 0, top = 0, c[4];
  cr_assert_eq(stats(4, x, &mean, &top, c), TNS_OK);
  cr_expect_float_eq(mean, 3.0, 1e-15);
  cr_expect_float_eq(top, 5.0, 0.0);
  for (int i = 0; i < 4; i++) cr_expect_float_eq(c[i], x[i] - 3.0, 1e-15);
}

Test(abi, f32_with_scalar_parameter) {
  float x[3] = {1.5f, -2.0f, 0.25f}, a = 4.0f, y[3];
  cr_assert_eq(scale32(3, x, &a, y), TNS_OK);
  for (int i = 0; i < 3; i++) cr_expect_float_eq(y[i], 4.0f * x[i], 0.0f);
}

Test(abi, instantiated_generic_f32_and_f64) {
  double S[2 * 3] = {1, 2, 3, 1000, 1000, 1000}, P[6];
  float Sf[2 * 3] = {1, 2, 3, 0, 0, 0}, Pf[6];
  cr_assert_eq(softmax_rows_f64(2, 3, S, P), TNS_OK);
  cr_assert_eq(softmax_rows_f32(2, 3, Sf, Pf), TNS_OK);
  double z = exp(1.0) + exp(2.0) + exp(3.0);
  cr_expect_float_eq(P[0], exp(1.0) / z, 1e-15);
  cr_expect_float_eq(P[4], 1.0 / 3.0, 1e-15);   /* stable on large values */
  cr_expect_float_eq(Pf[2], (float)(exp(3.0) / z), 1e-6);
}

Test(abi, private_function_reached_through_public_one) {
  double x[2] = {1.5, -3}, y[2];
  cr_assert_eq(uses_private(2, x, y), TNS_OK);
  cr_expect_float_eq(y[0], 3.0, 0.0);
  cr_expect_float_eq(y[1], -6.0, 0.0);
}

Test(abi, private_functions_are_not_exported) {
  void *h = dlopen(ABI_LIB, RTLD_NOW | RTLD_LOCAL);
  cr_assert_not_null(h, "%s", dlerror());
  cr_expect_not_null(dlsym(h, "uses_private"));
  cr_expect_null(dlsym(h, "_twice"));
  cr_expect_null(dlsym(h, "softmax_rows"));      /* generic, not instantiated */
  int (*f)(int64_t, int64_t, int64_t, const double *, const double *, double *) =
      (int (*)(int64_t, int64_t, int64_t, const double *, const double *, double *))dlsym(h, "mm");
  cr_assert_not_null(f);
  double A[1] = {3}, B[1] = {4}, C[1];
  cr_expect_eq(f(1, 1, 1, A, B, C), TNS_OK);   /* the .so carries its runtime */
  cr_expect_float_eq(C[0], 12.0, 0.0);
  dlclose(h);
}

Test(abi, negative_size_is_an_argument_error) {
  double A[1] = {0}, B[1] = {0}, C[1];
  cr_assert_eq(mm(-1, 1, 1, A, B, C), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "size 'n' is negative") != NULL, "%s", tns_last_error());
}

Test(abi, null_tensor_is_an_argument_error) {
  double A[4] = {0}, C[4];
  cr_assert_eq(mm(2, 2, 2, A, NULL, C), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "'B' is NULL") != NULL, "%s", tns_last_error());
  cr_assert_eq(mm(2, 2, 2, A, A, NULL), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "'out' is NULL") != NULL, "%s", tns_last_error());
}

Test(abi, empty_tensors_may_be_null) {
  cr_expect_eq(mm(0, 3, 0, NULL, NULL, NULL), TNS_OK);
}

Test(abi, overflowing_shape_is_an_argument_error) {
  double A[1] = {0}, B[1] = {0}, C[1];
  cr_assert_eq(mm((int64_t)1 << 40, (int64_t)1 << 40, 1, A, B, C), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "'A'") != NULL, "%s", tns_last_error());
}

/* x: f64[n*q]: with n = q = 2^32 the product wraps to 0 in 64 bits, and a
 * NULL x looked empty; likewise q = 32 with n = 2^59 (issue 15). */
Test(abi, wrapping_size_product_is_an_argument_error) {
  double w[32] = {0}, out[1];
  int64_t big = (int64_t)1 << 32;
  cr_assert_eq(split(big, big, w, NULL, out), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "'x' has more elements than fit in int64_t") != NULL, "%s",
            tns_last_error());
  cr_assert_eq(split(32, (int64_t)1 << 59, w, NULL, out), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "'x'") != NULL, "%s", tns_last_error());
  /* n*q fits but the count of bytes would not */
  cr_assert_eq(split(1, (int64_t)1 << 61, w, NULL, out), TNS_ERR_ARG);
}

Test(abi, size_product_split_computes) {
  double w[2] = {1, 10}, x[6] = {1, 2, 3, 4, 5, 6}, y[3];
  cr_assert_eq(split(2, 3, w, x, y), TNS_OK);
  cr_expect_float_eq(y[0], 21.0, 0.0);
  cr_expect_float_eq(y[2], 65.0, 0.0);
}

Test(abi, shape_mismatch_found_at_run_time) {
  double x[4] = {1, 2, 3, 4}, y[5] = {1, 1, 1, 1, 1}, s;
  cr_assert_eq(fixed5(4, x, y, &s), TNS_ERR_SHAPE);
  cr_expect(strstr(tns_last_error_loc(), "abi_funcs.tns:") != NULL, "%s", tns_last_error_loc());
  double x5[5] = {1, 2, 3, 4, 5};
  cr_assert_eq(fixed5(5, x5, y, &s), TNS_OK);
  cr_expect_float_eq(s, 15.0, 0.0);
}

Test(abi, temporary_too_large_is_out_of_memory) {
  double x[1] = {1}, s;
  /* x itself is not read: the 2^62-element temporary fails first */
  cr_assert_eq(outer_sum((int64_t)1 << 31, x, &s), TNS_ERR_OOM);
  cr_expect(strstr(tns_last_error(), "too large") != NULL, "%s", tns_last_error());
}

Test(abi, out_of_range_read_is_a_bounds_error) {
  double x[3] = {1, 2, 3}, v = 0;
  int64_t k = 1;
  cr_assert_eq(pick(3, x, &k, &v), TNS_OK);
  cr_expect_float_eq(v, 2.0, 0.0);
  k = 3;
  cr_assert_eq(pick(3, x, &k, &v), TNS_ERR_BOUNDS);
  cr_expect(strstr(tns_last_error(), "out of range") != NULL, "%s", tns_last_error());
}

Test(abi, failed_assert_is_an_assert_error) {
  double x[2] = {-1, 2}, v;
  cr_assert_eq(positive_first(2, x, &v), TNS_ERR_ASSERT);
  cr_expect(strstr(tns_last_error(), "the first element must be positive") != NULL, "%s", tns_last_error());
}

Test(abi, singular_matrix_is_a_linalg_error) {
  double A[4] = {1, 2, 2, 4}, b[2] = {1, 1}, x[2];
  cr_assert_eq(solve2(2, A, b, x), TNS_ERR_LINALG);
  double I[4] = {2, 0, 0, 4};
  cr_assert_eq(solve2(2, I, b, x), TNS_OK);
  cr_expect_float_eq(x[1], 0.25, 1e-15);
}

Test(abi, missing_file_is_an_io_error) {
  double v;
  remove("abi_missing_file.npy");
  cr_assert_eq(load_missing(&v), TNS_ERR_IO);
}

Test(abi, corrupt_file_is_a_format_error) {
  FILE *f = fopen("abi_garbage.npy", "wb");
  cr_assert_not_null(f);
  fputs("this is not a numpy file", f);
  fclose(f);
  double v;
  cr_assert_eq(load_garbage(&v), TNS_ERR_FORMAT);
  remove("abi_garbage.npy");
}
