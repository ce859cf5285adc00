/* Tests for runtime/linalg.c: each factorisation reconstructs its input
 * within a tolerance, has numpy's shape and ordering conventions, leaves
 * its inputs alone, and reports numerical failures clearly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tns_runtime.h"

static const TnsDtype types[2] = {TNS_F64, TNS_F32};

/* Element i of an f32 or f64 buffer. */
static double get(TnsDtype t, const void *p, int64_t i) {
  return t == TNS_F64 ? ((const double *)p)[i] : ((const float *)p)[i];
}

/* Stores v as element i. */
static void set(TnsDtype t, void *p, int64_t i, double v) {
  if (t == TNS_F64)
    ((double *)p)[i] = v;
  else
    ((float *)p)[i] = (float)v;
}

/* Tolerance for results of well-conditioned small problems. */
static double tol(TnsDtype t) { return t == TNS_F64 ? 1e-12 : 2e-5; }

/* Buffer of m*n elements of type t holding v[i] (or random if v NULL). */
static void *matrix(TnsDtype t, int64_t m, int64_t n, const double *v,
                    uint64_t seed) {
  void *p = calloc((size_t)(m * n + 1), 8);
  for (int64_t i = 0; i < m * n; i++)
    set(t, p, i, v ? v[i] : tns_rand_f64(seed, (uint64_t)i) * 2 - 1);
  return p;
}

/* max |(A B)[i,j] - C[i,j]| for A m x k, B k x n (tA/tB: transposed). */
static double prod_err(TnsDtype t, int64_t m, int64_t k, int64_t n,
                       const void *A, int tA, const void *B, int tB,
                       const void *C) {
  double err = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t l = 0; l < k; l++)
        s += get(t, A, tA ? l * m + i : i * k + l) *
             get(t, B, tB ? j * k + l : l * n + j);
      err = fmax(err, fabs(s - (C ? get(t, C, i * n + j) : (i == j))));
    }
  return err;
}

/* A symmetric positive definite n x n matrix: M M^T + n I. */
static void *spd(TnsDtype t, int64_t n, uint64_t seed) {
  void *M = matrix(t, n, n, NULL, seed), *A = matrix(t, n, n, NULL, 0);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = i == j ? (double)n : 0;
      for (int64_t l = 0; l < n; l++)
        s += get(t, M, i * n + l) * get(t, M, j * n + l);
      set(t, A, i * n + j, s);
    }
  free(M);
  return A;
}

Test(linalg, solve_reconstructs) {
  for (int ti = 0; ti < 2; ti++) {
    TnsDtype t = types[ti];
    int64_t n = 6, k = 3;
    void *A = spd(t, n, 1), *B = matrix(t, n, k, NULL, 2);
    void *X = matrix(t, n, k, NULL, 9);
    void *A0 = matrix(t, n, n, NULL, 0), *B0 = matrix(t, n, k, NULL, 0);
    size_t es = (size_t)tns_dtype_size(t);
    memcpy(A0, A, (size_t)(n * n) * es);
    memcpy(B0, B, (size_t)(n * k) * es);
    cr_assert_eq(tns_solve(t, n, k, A, B, X), TNS_OK, "%s", tns_last_error());
    double e = prod_err(t, n, n, k, A, 0, X, 0, B);
    cr_assert(e < tol(t) * 10, "%s residual %g", tns_dtype_name(t), e);
    cr_assert_arr_eq(A, A0, (size_t)(n * n) * es, "A was modified");
    cr_assert_arr_eq(B, B0, (size_t)(n * k) * es, "B was modified");
    free(A), free(B), free(X), free(A0), free(B0);
  }
}

Test(linalg, solve_known_answer) {
  double A[4] = {2, 1, 1, 3}, B[2] = {3, 5}, X[2];
  cr_assert_eq(tns_solve(TNS_F64, 2, 1, A, B, X), TNS_OK);
  cr_assert_float_eq(X[0], 0.8, 1e-15);
  cr_assert_float_eq(X[1], 1.4, 1e-15);
}

Test(linalg, solve_singular) {
  for (int ti = 0; ti < 2; ti++) {
    double v[9] = {1, 2, 3, 2, 4, 6, 1, 0, 1};
    void *A = matrix(types[ti], 3, 3, v, 0), *B = matrix(types[ti], 3, 1,
                                                         NULL, 1);
    void *X = matrix(types[ti], 3, 1, NULL, 2);
    cr_assert_eq(tns_solve(types[ti], 3, 1, A, B, X), TNS_ERR_LINALG);
    cr_assert_str_eq(tns_last_error(), "solve: matrix is singular");
    free(A), free(B), free(X);
  }
}

Test(linalg, cholesky_lower_factor) {
  for (int ti = 0; ti < 2; ti++) {
    TnsDtype t = types[ti];
    int64_t n = 7;
    void *A = spd(t, n, 3), *L = matrix(t, n, n, NULL, 4);
    cr_assert_eq(tns_cholesky(t, n, A, L), TNS_OK, "%s", tns_last_error());
    for (int64_t i = 0; i < n; i++) {
      cr_assert_gt(get(t, L, i * n + i), 0);
      for (int64_t j = i + 1; j < n; j++)
        cr_assert_eq(get(t, L, i * n + j), 0, "L[%ld,%ld]", (long)i, (long)j);
    }
    double e = prod_err(t, n, n, n, L, 0, L, 1, A);
    cr_assert(e < tol(t) * n * 10, "%s L L^T error %g", tns_dtype_name(t), e);
    free(A), free(L);
  }
  double A[4] = {4, 2, 2, 3}, L[4];
  cr_assert_eq(tns_cholesky(TNS_F64, 2, A, L), TNS_OK);
  cr_assert_float_eq(L[0], 2, 1e-15);
  cr_assert_float_eq(L[2], 1, 1e-15);
  cr_assert_float_eq(L[3], sqrt(2.0), 1e-15);
}

Test(linalg, cholesky_not_positive_definite) {
  double A[4] = {1, 2, 2, 1}, L[4];
  cr_assert_eq(tns_cholesky(TNS_F64, 2, A, L), TNS_ERR_LINALG);
  cr_assert_str_eq(tns_last_error(),
                   "cholesky: matrix is not positive definite");
  float Af[4] = {-1, 0, 0, 1}, Lf[4];
  cr_assert_eq(tns_cholesky(TNS_F32, 2, Af, Lf), TNS_ERR_LINALG);
}

Test(linalg, eigh_ascending_columns) {
  for (int ti = 0; ti < 2; ti++) {
    TnsDtype t = types[ti];
    int64_t n = 6;
    void *A = spd(t, n, 5), *w = matrix(t, n, 1, NULL, 0);
    void *V = matrix(t, n, n, NULL, 0), *AV = matrix(t, n, n, NULL, 0);
    /* garbage above the diagonal: only the lower triangle counts */
    void *Ag = matrix(t, n, n, NULL, 0);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++)
        set(t, Ag, i * n + j, j > i ? 1e3 : get(t, A, i * n + j));
    cr_assert_eq(tns_eigh(t, n, Ag, w, V), TNS_OK, "%s", tns_last_error());
    for (int64_t i = 1; i < n; i++)
      cr_assert_leq(get(t, w, i - 1), get(t, w, i));
    /* A V = V diag(w), and V^T V = I */
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < n; j++)
        set(t, AV, i * n + j, get(t, V, i * n + j) * get(t, w, j));
    double e = prod_err(t, n, n, n, A, 0, V, 0, AV);
    cr_assert(e < tol(t) * 100, "%s A V - V W = %g", tns_dtype_name(t), e);
    e = prod_err(t, n, n, n, V, 1, V, 0, NULL);
    cr_assert(e < tol(t) * 10, "%s V^T V - I = %g", tns_dtype_name(t), e);
    free(A), free(w), free(V), free(AV), free(Ag);
  }
  double A[4] = {2, 1, 1, 2}, w[2], V[4];
  cr_assert_eq(tns_eigh(TNS_F64, 2, A, w, V), TNS_OK);
  cr_assert_float_eq(w[0], 1, 1e-14);
  cr_assert_float_eq(w[1], 3, 1e-14);
  cr_assert_float_eq(fabs(V[0]), sqrt(0.5), 1e-14); /* column 0 ~ (1,-1) */
  cr_assert_float_eq(V[0], -V[2], 1e-14);
}

/* U S Vt = A, orthonormal U columns and Vt rows, S descending >= 0. */
static void check_svd(TnsDtype t, int64_t m, int64_t n) {
  int64_t k = m < n ? m : n;
  void *A = matrix(t, m, n, NULL, 11), *U = matrix(t, m, k, NULL, 0);
  void *S = matrix(t, k, 1, NULL, 0), *Vt = matrix(t, k, n, NULL, 0);
  void *US = matrix(t, m, k, NULL, 0);
  cr_assert_eq(tns_svd(t, m, n, A, U, S, Vt), TNS_OK, "%s", tns_last_error());
  for (int64_t i = 0; i < k; i++) {
    cr_assert_geq(get(t, S, i), 0);
    if (i)
      cr_assert_geq(get(t, S, i - 1), get(t, S, i));
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < k; j++)
      set(t, US, i * k + j, get(t, U, i * k + j) * get(t, S, j));
  double e = prod_err(t, m, k, n, US, 0, Vt, 0, A);
  cr_assert(e < tol(t) * 10, "%s %ldx%ld: U S Vt - A = %g", tns_dtype_name(t),
            (long)m, (long)n, e);
  cr_assert(prod_err(t, k, m, k, U, 1, U, 0, NULL) < tol(t) * 10);
  cr_assert(prod_err(t, k, n, k, Vt, 0, Vt, 1, NULL) < tol(t) * 10);
  free(A), free(U), free(S), free(Vt), free(US);
}

Test(linalg, svd_thin) {
  for (int ti = 0; ti < 2; ti++) {
    check_svd(types[ti], 5, 3);
    check_svd(types[ti], 3, 5);
    check_svd(types[ti], 4, 4);
  }
  double A[6] = {3, 0, 0, 0, -2, 0}, U[4], S[2], Vt[6];
  cr_assert_eq(tns_svd(TNS_F64, 2, 3, A, U, S, Vt), TNS_OK);
  cr_assert_float_eq(S[0], 3, 1e-15);
  cr_assert_float_eq(S[1], 2, 1e-15);
}

/* Q R = A, Q^T Q = I, R upper triangular. */
static void check_qr(TnsDtype t, int64_t m, int64_t n) {
  int64_t k = m < n ? m : n;
  void *A = matrix(t, m, n, NULL, 13), *A0 = matrix(t, m, n, NULL, 13);
  void *Q = matrix(t, m, k, NULL, 0), *R = matrix(t, k, n, NULL, 1);
  cr_assert_eq(tns_qr(t, m, n, A, Q, R), TNS_OK, "%s", tns_last_error());
  for (int64_t i = 0; i < k; i++)
    for (int64_t j = 0; j < i; j++)
      cr_assert_eq(get(t, R, i * n + j), 0);
  double e = prod_err(t, m, k, n, Q, 0, R, 0, A);
  cr_assert(e < tol(t) * 10, "%s %ldx%ld: Q R - A = %g", tns_dtype_name(t),
            (long)m, (long)n, e);
  cr_assert(prod_err(t, k, m, k, Q, 1, Q, 0, NULL) < tol(t) * 10);
  cr_assert_arr_eq(A, A0, (size_t)(m * n * tns_dtype_size(t)));
  free(A), free(A0), free(Q), free(R);
}

Test(linalg, qr_reduced) {
  for (int ti = 0; ti < 2; ti++) {
    check_qr(types[ti], 6, 4);
    check_qr(types[ti], 3, 5);
    check_qr(types[ti], 4, 4);
  }
}

Test(linalg, empty_matrices) {
  double x = 1;
  cr_assert_eq(tns_solve(TNS_F64, 0, 3, &x, &x, &x), TNS_OK);
  cr_assert_eq(tns_cholesky(TNS_F64, 0, &x, &x), TNS_OK);
  cr_assert_eq(tns_svd(TNS_F64, 0, 4, &x, &x, &x, &x), TNS_OK);
  cr_assert_eq(tns_qr(TNS_F32, 3, 0, &x, &x, &x), TNS_OK);
  cr_assert_eq(x, 1);
}

Test(linalg, argument_errors) {
  double A[4] = {1, 0, 0, 1}, B[2] = {1, 1}, X[2];
  int32_t Ai[4] = {1, 0, 0, 1};
  cr_assert_eq(tns_solve(TNS_I32, 2, 1, Ai, Ai, Ai), TNS_ERR_ARG);
  cr_assert_str_eq(tns_last_error(),
                   "solve: element type i32 is not supported (f32 or f64)");
  cr_assert_eq(tns_solve(TNS_F64, -2, 1, A, B, X), TNS_ERR_ARG);
  cr_assert_eq(tns_solve(TNS_F64, 2, 1, NULL, B, X), TNS_ERR_ARG);
  cr_assert_eq(tns_qr(TNS_F64, (int64_t)1 << 32, 1, A, X, X), TNS_ERR_ARG);
  cr_assert(strstr(tns_last_error(), "too large for LAPACK"));
  A[1] = NAN;
  cr_assert_eq(tns_solve(TNS_F64, 2, 1, A, B, X), TNS_ERR_LINALG);
  cr_assert_str_eq(tns_last_error(), "solve: A contains NaN or infinity");
  cr_assert_eq(tns_eigh(TNS_F64, 2, A, X, X), TNS_ERR_LINALG);
  cr_assert_str_eq(tns_last_error(),
                   "eigh: the matrix contains NaN or infinity");
}

/* max |x[i] - y[i]| over n elements. */
static double max_diff(TnsDtype t, const void *x, const void *y, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++)
    m = fmax(m, fabs(get(t, x, i) - get(t, y, i)));
  return m;
}

/* A batch gives what one call per matrix gives, in either type, at any
 * thread count (the pool splits the batch). Not bit for bit: OpenBLAS's
 * kernels round differently with the buffers' alignment. */
Test(linalg, batches_match_single_calls) {
  for (int ti = 0; ti < 2; ti++) {
    TnsDtype t = types[ti];
    int64_t nb = 5, n = 4, k = 2, nn = n * n, nk = n * k;
    size_t es = (size_t)tns_dtype_size(t);
    char *A = matrix(t, nb * n, n, NULL, 0), *B = matrix(t, nb * n, k, NULL, 7);
    for (int64_t b = 0; b < nb; b++) {
      void *one = spd(t, n, 20 + (uint64_t)b);
      memcpy(A + (size_t)(b * nn) * es, one, (size_t)nn * es);
      free(one);
    }
    char *X = matrix(t, nb * n, k, NULL, 0), *L = matrix(t, nb * n, n, NULL, 0);
    char *w = matrix(t, nb, n, NULL, 0), *V = matrix(t, nb * n, n, NULL, 0);
    char *one = matrix(t, n, n, NULL, 0), *one2 = matrix(t, n, n, NULL, 0);
    cr_assert_eq(tns_solve_batch(t, nb, n, k, A, B, X), TNS_OK, "%s", tns_last_error());
    cr_assert_eq(tns_cholesky_batch(t, nb, n, A, L), TNS_OK);
    cr_assert_eq(tns_eigh_batch(t, nb, n, A, w, V), TNS_OK);
    for (int64_t b = 0; b < nb; b++) {
      const char *Ab = A + (size_t)(b * nn) * es;
      cr_assert_eq(tns_solve(t, n, k, Ab, B + (size_t)(b * nk) * es, one), TNS_OK);
      cr_assert_lt(max_diff(t, one, X + (size_t)(b * nk) * es, nk), tol(t), "solve %ld", (long)b);
      cr_assert_eq(tns_cholesky(t, n, Ab, one), TNS_OK);
      cr_assert_lt(max_diff(t, one, L + (size_t)(b * nn) * es, nn), tol(t), "cholesky %ld", (long)b);
      cr_assert_eq(tns_eigh(t, n, Ab, one2, one), TNS_OK);
      cr_assert_lt(max_diff(t, one2, w + (size_t)(b * n) * es, n), tol(t) * 10, "eigh w %ld", (long)b);
      cr_assert_lt(max_diff(t, one, V + (size_t)(b * nn) * es, nn), tol(t) * 10, "eigh V %ld", (long)b);
    }
    cr_assert_eq(tns_solve_batch(t, 0, n, k, A, B, X), TNS_OK);
    free(A), free(B), free(X), free(L), free(w), free(V), free(one), free(one2);
  }
}

/* The failing matrix of a batch is named; the first one fails first. */
Test(linalg, batch_failure_names_matrix) {
  double A[12] = {1, 0, 0, 1, 1, 2, 2, 4, 0, 0, 0, 0}, B[6] = {1, 1, 1, 1, 1, 1}, X[6];
  cr_assert_eq(tns_solve_batch(TNS_F64, 3, 2, 1, A, B, X), TNS_ERR_LINALG);
  cr_assert_str_eq(tns_last_error(), "solve: matrix is singular (matrix 1 of the batch, counting from 0)");
  cr_assert_eq(tns_logdet(TNS_F64, 3, 2, A, X), TNS_ERR_LINALG);
  cr_assert_str_eq(tns_last_error(), "logdet: matrix is not positive definite (use slogdet for a general "
                   "matrix) (matrix 1 of the batch, counting from 0)");
  cr_assert_eq(tns_solve_batch(TNS_F64, -1, 2, 1, A, B, X), TNS_ERR_ARG);
}

Test(linalg, inv_known_answer) {
  for (int ti = 0; ti < 2; ti++) {
    double v[4] = {2, 1, 1, 3}, want[4] = {0.6, -0.2, -0.2, 0.4};
    void *A = matrix(types[ti], 2, 2, v, 0), *X = matrix(types[ti], 2, 2, NULL, 1);
    cr_assert_eq(tns_inv(types[ti], 1, 2, A, X), TNS_OK);
    for (int i = 0; i < 4; i++)
      cr_assert_float_eq(get(types[ti], X, i), want[i], tol(types[ti]));
    double s[4] = {1, 2, 2, 4};
    void *S = matrix(types[ti], 2, 2, s, 0);
    cr_assert_eq(tns_inv(types[ti], 1, 2, S, X), TNS_ERR_LINALG);
    cr_assert_str_eq(tns_last_error(), "inv: matrix is singular");
    free(A), free(X), free(S);
  }
  void *A = spd(TNS_F64, 6, 5), *X = matrix(TNS_F64, 6, 6, NULL, 0);
  cr_assert_eq(tns_inv(TNS_F64, 1, 6, A, X), TNS_OK);
  cr_assert(prod_err(TNS_F64, 6, 6, 6, A, 0, X, 0, NULL) < 1e-12);
  free(A), free(X);
}

/* det, slogdet and logdet agree with each other and with known answers;
 * singular and non-SPD inputs follow numpy (slogdet) or fail (logdet). */
Test(linalg, determinants) {
  for (int ti = 0; ti < 2; ti++) {
    TnsDtype t = types[ti];
    /* det [[0, 2], [3, 1]] = -6 (a row swap); [[1, 2], [2, 4]] singular */
    double v[8] = {0, 2, 3, 1, 1, 2, 2, 4};
    void *A = matrix(t, 4, 2, v, 0), *d = matrix(t, 2, 1, NULL, 0);
    void *sg = matrix(t, 2, 1, NULL, 0), *la = matrix(t, 2, 1, NULL, 0);
    cr_assert_eq(tns_det(t, 2, 2, A, d), TNS_OK);
    cr_assert_float_eq(get(t, d, 0), -6, tol(t) * 10);
    cr_assert_eq(get(t, d, 1), 0);
    cr_assert_eq(tns_slogdet(t, 2, 2, A, sg, la), TNS_OK);
    cr_assert_eq(get(t, sg, 0), -1);
    cr_assert_float_eq(get(t, la, 0), log(6.0), tol(t));
    cr_assert_eq(get(t, sg, 1), 0);
    cr_assert(isinf(get(t, la, 1)) && get(t, la, 1) < 0);
    void *P = spd(t, 5, 11);
    cr_assert_eq(tns_logdet(t, 1, 5, P, d), TNS_OK);
    cr_assert_eq(tns_slogdet(t, 1, 5, P, sg, la), TNS_OK);
    cr_assert_eq(get(t, sg, 0), 1);
    cr_assert_float_eq(get(t, d, 0), get(t, la, 0), tol(t) * 10);
    cr_assert_eq(tns_logdet(t, 1, 2, A, d), TNS_ERR_LINALG);
    cr_assert_str_eq(tns_last_error(), "logdet: matrix is not positive definite (use slogdet for a general matrix)");
    free(A), free(d), free(sg), free(la), free(P);
  }
  double x = 5, s = 5, l = 5;
  cr_assert_eq(tns_slogdet(TNS_F64, 1, 0, &x, &s, &l), TNS_OK);
  cr_assert(s == 1 && l == 0);
  cr_assert_eq(tns_det(TNS_F64, 1, 0, &x, &s), TNS_OK);
  cr_assert_eq(s, 1);
  double nan2[4] = {NAN, 0, 0, 1};
  cr_assert_eq(tns_det(TNS_F64, 1, 2, nan2, &s), TNS_ERR_LINALG);
  cr_assert_str_eq(tns_last_error(), "det: the matrix contains NaN or infinity");
}
