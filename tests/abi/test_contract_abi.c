/* test_contract_abi.c — contractions with symbolic sizes through the C
 * ABI (contract_funcs.tns, compiled by `tnsc obj`): at sizes that make
 * different candidate paths the cheapest, with lengths that are not
 * multiples of any tile, every result equals a naive loop in C. Inputs
 * are small integers, so the results are exact whatever the order. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include "contract_funcs.h"

static double *filled(int64_t n, int seed) {
  double *p = malloc(sizeof(double) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) p[i] = (double)((i * 7 + seed * 5) % 9) - 4.0;
  return p;
}

static void same(const double *got, const double *want, int64_t n, const char *what) {
  for (int64_t i = 0; i < n; i++)
    cr_assert_eq(got[i], want[i], "%s: element %lld is %g, not %g", what, (long long)i, got[i], want[i]);
}

static void check_chain(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e) {
  double *A = filled(a * b, 1), *B = filled(b * c, 2), *C = filled(c * d, 3), *D = filled(d * e, 4);
  double *M = malloc(sizeof(double) * (size_t)(a * e)), *R = calloc((size_t)(a * e), sizeof(double));
  /* ((A B) C) D, one matrix at a time */
  double *AB = calloc((size_t)(a * c), sizeof(double)), *ABC = calloc((size_t)(a * d), sizeof(double));
  for (int64_t i = 0; i < a; i++)
    for (int64_t j = 0; j < b; j++)
      for (int64_t k = 0; k < c; k++) AB[i * c + k] += A[i * b + j] * B[j * c + k];
  for (int64_t i = 0; i < a; i++)
    for (int64_t k = 0; k < c; k++)
      for (int64_t l = 0; l < d; l++) ABC[i * d + l] += AB[i * c + k] * C[k * d + l];
  for (int64_t i = 0; i < a; i++)
    for (int64_t l = 0; l < d; l++)
      for (int64_t x = 0; x < e; x++) R[i * e + x] += ABC[i * d + l] * D[l * e + x];
  cr_assert_eq(chain(a, b, c, d, e, A, B, C, D, M), TNS_OK, "%s", tns_last_error());
  same(M, R, a * e, "chain");
  free(A), free(B), free(C), free(D), free(M), free(R), free(AB), free(ABC);
}

Test(contract_abi, chain_at_shapes_favouring_each_order) {
  check_chain(3, 40, 2, 40, 3);     /* inner products first */
  check_chain(50, 2, 50, 2, 50);    /* B C first */
  check_chain(2, 30, 30, 30, 2);
  check_chain(40, 40, 2, 40, 40);
  check_chain(1, 17, 33, 5, 70);
  check_chain(70, 5, 33, 17, 1);
}

static void check_tucker(int64_t r1, int64_t r2, int64_t r3, int64_t n1, int64_t n2, int64_t n3) {
  double *G = filled(r1 * r2 * r3, 1), *U = filled(n1 * r1, 2), *V = filled(n2 * r2, 3), *W = filled(n3 * r3, 4);
  int64_t n = n1 * n2 * n3;
  double *X = malloc(sizeof(double) * (size_t)n), *R = calloc((size_t)n, sizeof(double));
  for (int64_t i = 0; i < n1; i++)
    for (int64_t j = 0; j < n2; j++)
      for (int64_t k = 0; k < n3; k++) {
        double s = 0;
        for (int64_t a = 0; a < r1; a++)
          for (int64_t b = 0; b < r2; b++)
            for (int64_t c = 0; c < r3; c++)
              s += G[(a * r2 + b) * r3 + c] * U[i * r1 + a] * V[j * r2 + b] * W[k * r3 + c];
        R[(i * n2 + j) * n3 + k] = s;
      }
  cr_assert_eq(tucker(r1, r2, r3, n1, n2, n3, G, U, V, W, X), TNS_OK, "%s", tns_last_error());
  same(X, R, n, "tucker");
  free(G), free(U), free(V), free(W), free(X), free(R);
}

Test(contract_abi, tucker_with_each_mode_largest) {
  check_tucker(3, 4, 5, 9, 10, 11);
  check_tucker(5, 2, 2, 40, 6, 7);
  check_tucker(2, 5, 2, 6, 40, 7);
  check_tucker(2, 2, 5, 6, 7, 40);
  check_tucker(6, 1, 3, 2, 30, 5);
}

static void check_mttkrp(int64_t i1, int64_t i2, int64_t i3, int64_t r) {
  double *X = filled(i1 * i2 * i3, 1), *B = filled(i2 * r, 2), *C = filled(i3 * r, 3);
  double *M = malloc(sizeof(double) * (size_t)(i1 * r)), *R = calloc((size_t)(i1 * r), sizeof(double));
  for (int64_t a = 0; a < i1; a++)
    for (int64_t b = 0; b < i2; b++)
      for (int64_t c = 0; c < i3; c++)
        for (int64_t q = 0; q < r; q++) R[a * r + q] += X[(a * i2 + b) * i3 + c] * B[b * r + q] * C[c * r + q];
  cr_assert_eq(mttkrp(i1, i2, i3, r, X, B, C, M), TNS_OK, "%s", tns_last_error());
  same(M, R, i1 * r, "mttkrp");
  free(X), free(B), free(C), free(M), free(R);
}

Test(contract_abi, mttkrp_at_several_ranks) {
  check_mttkrp(20, 21, 22, 3);
  check_mttkrp(5, 60, 7, 40);
  check_mttkrp(5, 7, 60, 40);
  check_mttkrp(70, 3, 4, 1);
}

Test(contract_abi, permuted_contraction_with_one_copy) {
  int64_t na = 5, nv = 6, nx = 7, nu = 8, ny = 9, nt = 10;
  double *A = filled(na * nv * nx * nu, 1), *B = filled(nu * nv * ny * nt, 2);
  int64_t n = na * nx * ny * nt;
  double *C = malloc(sizeof(double) * (size_t)n), *R = calloc((size_t)n, sizeof(double));
  for (int64_t a = 0; a < na; a++)
    for (int64_t x = 0; x < nx; x++)
      for (int64_t y = 0; y < ny; y++)
        for (int64_t t = 0; t < nt; t++)
          for (int64_t v = 0; v < nv; v++)
            for (int64_t u = 0; u < nu; u++)
              R[((a * nx + x) * ny + y) * nt + t] +=
                  A[((a * nv + v) * nx + x) * nu + u] * B[((u * nv + v) * ny + y) * nt + t];
  cr_assert_eq(permuted(na, nv, nx, nu, ny, nt, A, B, C), TNS_OK, "%s", tns_last_error());
  same(C, R, n, "permuted");
  free(A), free(B), free(C), free(R);
}

/* A loop nest reordered and tiled (64 x 128, 64 deep) at sizes around the
 * tiles, on the thread pool. */
Test(contract_abi, max_plus_product_around_the_tile_sizes) {
  int64_t shapes[][3] = {{1, 1, 1}, {63, 65, 129}, {130, 64, 127}, {200, 300, 70}, {7, 1000, 3}};
  for (int s = 0; s < 5; s++) {
    int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
    double *A = filled(m * k, 1), *B = filled(k * n, 2), *C = malloc(sizeof(double) * (size_t)(m * n));
    double *R = malloc(sizeof(double) * (size_t)(m * n));
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double best = A[i * k] + B[j];
        for (int64_t l = 1; l < k; l++)
          if (A[i * k + l] + B[l * n + j] > best) best = A[i * k + l] + B[l * n + j];
        R[i * n + j] = best;
      }
    cr_assert_eq(maxplus(m, k, n, A, B, C), TNS_OK, "%s", tns_last_error());
    same(C, R, m * n, "maxplus");
    free(A), free(B), free(C), free(R);
  }
}

Test(contract_abi, negative_sizes_are_refused) {
  double x = 0;
  cr_assert_eq(chain(2, -1, 2, 2, 2, &x, &x, &x, &x, &x), TNS_ERR_ARG);
  cr_assert_eq(maxplus(-3, 2, 2, &x, &x, &x), TNS_ERR_ARG);
}
