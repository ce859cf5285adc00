/* Tests for runtime/gemm.c: tns_gemm_batched against a plain triple loop,
 * over the paths it takes — our tiny kernels (batched on the pool), and
 * OpenBLAS single-threaded per call in row panels, column panels or over
 * the batch — with 4 threads, every transpose, shared operands, alpha
 * and beta. Inputs are small integers, so every result is exact. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "tns_runtime.h"

static void four_threads(void) { setenv("TNS_NUM_THREADS", "4", 1); }

TestSuite(gemm, .init = four_threads);

typedef struct Case {
  int64_t batch, m, n, k;
  int ta, tb, a_batched, b_batched;
  double alpha, beta;
} Case;

static double entry(int64_t i, int seed) { return (double)((i * 7 + seed * 3) % 11) - 5.0; }

/* C[b] = alpha op(A[b]) op(B[b]) + beta C[b] with plain loops. */
static void reference(const Case *c, const double *A, const double *B, double *C) {
  for (int64_t b = 0; b < c->batch; b++) {
    const double *a = A + (c->a_batched ? b * c->m * c->k : 0), *bb = B + (c->b_batched ? b * c->k * c->n : 0);
    for (int64_t i = 0; i < c->m; i++)
      for (int64_t j = 0; j < c->n; j++) {
        double s = 0;
        for (int64_t l = 0; l < c->k; l++)
          s += (c->ta ? a[l * c->m + i] : a[i * c->k + l]) * (c->tb ? bb[j * c->k + l] : bb[l * c->n + j]);
        double *out = C + b * c->m * c->n + i * c->n + j;
        *out = c->alpha * s + c->beta * *out;
      }
  }
}

static void check(const Case *c, TnsDtype dt) {
  int64_t na = (c->a_batched ? c->batch : 1) * c->m * c->k, nb = (c->b_batched ? c->batch : 1) * c->k * c->n;
  int64_t nc = c->batch * c->m * c->n;
  double *A = malloc(sizeof(double) * (size_t)na), *B = malloc(sizeof(double) * (size_t)nb);
  double *want = malloc(sizeof(double) * (size_t)nc), *got = malloc(sizeof(double) * (size_t)nc);
  float *Af = malloc(sizeof(float) * (size_t)na), *Bf = malloc(sizeof(float) * (size_t)nb);
  float *gotf = malloc(sizeof(float) * (size_t)nc);
  for (int64_t i = 0; i < na; i++) Af[i] = (float)(A[i] = entry(i, 1));
  for (int64_t i = 0; i < nb; i++) Bf[i] = (float)(B[i] = entry(i, 2));
  for (int64_t i = 0; i < nc; i++) gotf[i] = (float)(got[i] = want[i] = entry(i, 3));
  reference(c, A, B, want);
  int st = dt == TNS_F64 ? tns_gemm_batched(dt, c->batch, c->ta, c->tb, c->m, c->n, c->k, c->alpha, A, c->a_batched, B,
                                            c->b_batched, c->beta, got)
                         : tns_gemm_batched(dt, c->batch, c->ta, c->tb, c->m, c->n, c->k, c->alpha, Af, c->a_batched,
                                            Bf, c->b_batched, c->beta, gotf);
  cr_assert_eq(st, TNS_OK, "%s", tns_last_error());
  for (int64_t i = 0; i < nc; i++) {
    double g = dt == TNS_F64 ? got[i] : (double)gotf[i];
    cr_assert_eq(g, want[i], "%s batch %lld m %lld n %lld k %lld ta %d tb %d: element %lld is %g, not %g",
                 dt == TNS_F64 ? "f64" : "f32", (long long)c->batch, (long long)c->m, (long long)c->n,
                 (long long)c->k, c->ta, c->tb, (long long)i, g, want[i]);
  }
  free(A), free(B), free(want), free(got), free(Af), free(Bf), free(gotf);
}

static void every_transpose(Case c) {
  for (int t = 0; t < 4; t++) {
    c.ta = t & 1;
    c.tb = t >> 1;
    check(&c, TNS_F64);
    check(&c, TNS_F32);
  }
}

Test(gemm, one_tall_product_in_row_panels) {
  every_transpose((Case){1, 700, 90, 40, 0, 0, 1, 1, 1.0, 0.0});
}

Test(gemm, one_wide_product_in_column_panels) {
  every_transpose((Case){1, 50, 900, 30, 0, 0, 1, 1, 2.0, 0.0});
}

Test(gemm, panels_with_alpha_and_beta) {
  every_transpose((Case){3, 260, 130, 70, 0, 0, 1, 1, -0.5, 1.0});
}

Test(gemm, a_batch_on_the_pool_with_a_shared_left_operand) {
  every_transpose((Case){20, 40, 50, 30, 0, 0, 0, 1, 1.0, 0.0});
}

Test(gemm, a_batch_with_a_shared_right_operand) {
  every_transpose((Case){17, 60, 45, 33, 0, 0, 1, 0, 1.0, 1.0});
}

Test(gemm, many_tiny_products_on_our_kernels) {
  every_transpose((Case){5000, 4, 4, 4, 0, 0, 1, 1, 1.0, 0.0});   /* 4x4x4 vector kernel (nn) */
  every_transpose((Case){3001, 4, 4, 4, 0, 0, 0, 1, -2.0, 0.5});  /* its alpha, beta, shared A */
  every_transpose((Case){2999, 4, 4, 4, 0, 0, 1, 0, 1.5, 1.0});   /* and shared B */
  every_transpose((Case){3000, 2, 4, 2, 0, 0, 1, 0, 3.0, 1.0});   /* m n k <= 16 */
}

Test(gemm, many_small_products_through_the_library) {
  every_transpose((Case){3000, 3, 7, 5, 0, 0, 1, 0, 3.0, 1.0});
}

Test(gemm, empty_sizes_do_nothing) {
  double x = 1;
  cr_assert_eq(tns_gemm_batched(TNS_F64, 0, 0, 0, 5, 5, 5, 1.0, &x, 1, &x, 1, 0.0, &x), TNS_OK);
  cr_assert_eq(tns_gemm_batched(TNS_F64, 3, 0, 0, 0, 5, 5, 1.0, &x, 1, &x, 1, 0.0, &x), TNS_OK);
  cr_assert_eq(x, 1.0);
}

Test(gemm, bad_arguments_are_errors) {
  double x = 0;
  cr_assert_eq(tns_gemm_batched(TNS_F64, 1, 0, 0, -1, 2, 2, 1.0, &x, 1, &x, 1, 0.0, &x), TNS_ERR_ARG);
  cr_assert_eq(tns_gemm_batched(TNS_I32, 1, 0, 0, 1, 1, 1, 1.0, &x, 1, &x, 1, 0.0, &x), TNS_ERR_INTERNAL);
}

/* OpenBLAS runs single-threaded inside our calls and gets its own thread
 * count back afterwards, also when host threads call at the same time. */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int n);

static void *host_products(void *arg) {
  (void)arg;
  for (int r = 0; r < 40; r++) {
    Case c = {1, 200, 150, 60, r & 1, 0, 1, 1, 1.0, 0.0};
    check(&c, TNS_F64);
  }
  return NULL;
}

Test(gemm, openblas_keeps_its_thread_count) {
  openblas_set_num_threads(3);
  cr_assert_eq(openblas_get_num_threads(), 3);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, host_products, NULL);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  cr_assert_eq(openblas_get_num_threads(), 3);
}
