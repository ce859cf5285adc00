/* main.c — calls the functions of model.tns through the header tnsc wrote,
 * and checks each result against a plain C reference. Exits 1 on a mismatch.
 * Build: see README.md (CMake, or tnsc obj + cc by hand). */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 5, M = 7, D = 4, E = 3 };

static int failures;

static void check(const char *what, double got, double want, double tol) {
  if (!(fabs(got - want) <= tol * (1 + fabs(want)))) {
    printf("MISMATCH %s: got %.9g, want %.9g\n", what, got, want);
    failures++;
  }
}

/* Deterministic inputs in [-1, 1). */
static double next(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return (double)(*s >> 8) / (1 << 23) - 1.0;
}

/* The references, in plain C. */
static void ref_attention(const float *Q, const float *K, const float *V, double *O) {
  for (int i = 0; i < N; i++) {
    double s[M], mx = -INFINITY, z = 0;
    for (int j = 0; j < M; j++) {
      s[j] = 0;
      for (int c = 0; c < D; c++) s[j] += (double)Q[i * D + c] * K[j * D + c];
      s[j] /= sqrt((double)D);
      if (s[j] > mx) mx = s[j];
    }
    for (int j = 0; j < M; j++) z += s[j] = exp(s[j] - mx);
    for (int x = 0; x < E; x++) {
      O[i * E + x] = 0;
      for (int j = 0; j < M; j++) O[i * E + x] += s[j] / z * V[j * E + x];
    }
  }
}

int main(void) {
  uint32_t seed = 42;
  float Q[N * D], K[M * D], V[M * E], O[N * E];
  double R[N * E];
  for (int i = 0; i < N * D; i++) Q[i] = (float)next(&seed);
  for (int i = 0; i < M * D; i++) K[i] = (float)next(&seed);
  for (int i = 0; i < M * E; i++) V[i] = (float)next(&seed);

  /* Sizes first (n, d, m, e: order of first appearance), then inputs, then
   * the caller-allocated output. */
  if (attention(N, D, M, E, Q, K, V, O) != TNS_OK) {
    printf("attention failed: %s\n", tns_last_error());
    return 1;
  }
  ref_attention(Q, K, V, R);
  printf("attention, first row:");
  for (int x = 0; x < E; x++) printf(" %.6f", O[x]);
  printf("\n");
  for (int i = 0; i < N * E; i++) check("attention", O[i], R[i], 1e-5);

  /* Two results: out0 (means) and out1 (variances). */
  double X[M * D], mu[D], var[D];
  for (int i = 0; i < M * D; i++) X[i] = next(&seed);
  if (column_stats(M, D, X, mu, var) != TNS_OK) {
    printf("column_stats failed: %s\n", tns_last_error());
    return 1;
  }
  printf("column_stats: mean");
  for (int j = 0; j < D; j++) printf(" %.6f", mu[j]);
  printf(", variance");
  for (int j = 0; j < D; j++) printf(" %.6f", var[j]);
  printf("\n");
  for (int j = 0; j < D; j++) {
    double s = 0, q = 0;
    for (int i = 0; i < M; i++) s += X[i * D + j];
    s /= M;
    for (int i = 0; i < M; i++) q += (X[i * D + j] - s) * (X[i * D + j] - s);
    check("column_stats mean", mu[j], s, 1e-12);
    check("column_stats variance", var[j], q / M, 1e-12);
  }

  /* Scalars go by pointer, in and out. */
  double alpha = 0.5, norm = 0, want = 0;
  if (scaled_norm(M * D, X, &alpha, &norm) != TNS_OK) {
    printf("scaled_norm failed: %s\n", tns_last_error());
    return 1;
  }
  for (int i = 0; i < M * D; i++) want += X[i] * X[i];
  printf("scaled_norm: %.9f\n", norm);
  check("scaled_norm", norm, alpha * sqrt(want), 1e-12);

  /* A generic function, instantiated for f32 as unit_rows_f32. */
  float U[M * D];
  if (unit_rows_f32(M, D, K, U) != TNS_OK) {
    printf("unit_rows_f32 failed: %s\n", tns_last_error());
    return 1;
  }
  for (int i = 0; i < M; i++) {
    double len = 0;
    for (int k = 0; k < D; k++) len += (double)K[i * D + k] * K[i * D + k];
    for (int k = 0; k < D; k++) check("unit_rows_f32", U[i * D + k], K[i * D + k] / sqrt(len), 1e-5);
  }
  printf("unit_rows_f32: row 0 = %.6f %.6f %.6f %.6f\n", U[0], U[1], U[2], U[3]);

  /* Errors come back as a status; the message is per thread. */
  int rc = attention(-1, D, M, E, Q, K, V, O);
  printf("attention with n = -1: %s: %s\n", tns_status_name(rc), tns_last_error());
  if (rc != TNS_ERR_ARG) failures++;
  rc = column_stats(M, D, NULL, mu, var);
  printf("column_stats with X = NULL: %s: %s\n", tns_status_name(rc), tns_last_error());
  if (rc != TNS_ERR_ARG) failures++;

  printf(failures ? "c_api: %d mismatches\n" : "c_api: all results match the C reference\n", failures);
  return failures ? 1 : 0;
}
