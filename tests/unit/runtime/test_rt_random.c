/* Tests for runtime/random.c: exact values against an independent Python
 * reimplementation (data/rt_random_ref.py, which also checks Philox
 * against Random123's known answers), statistics, and argument errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "tns_runtime.h"

typedef struct Known {
  uint64_t seed, k;
  double u64;
  float u32;
  double n64;
  float n32;
} Known;

static const Known known[] = {
    {0x0ULL, 0x0ULL, 0x1.c2d38b1acc4fdp-1, 0x1.c2d38a0000000p-1f, -0x1.67918141f2851p-2, -0x1.6791820000000p-2f},
    {0x0ULL, 0x1ULL, 0x1.72c8036fe3932p-2, 0x1.72c8000000000p-2f, -0x1.0555b373fe710p-1, -0x1.0555b40000000p-1f},
    {0x0ULL, 0x2ULL, 0x1.471cca9813ea8p-2, 0x1.471cc80000000p-2f, -0x1.9a38d11603a0dp-2, -0x1.9a38d20000000p-2f},
    {0x0ULL, 0x3ULL, 0x1.a911d29b2643ap-2, 0x1.a911d00000000p-2f, 0x1.25ae772edd0e5p-2, 0x1.25ae780000000p-2f},
    {0x0ULL, 0x7ULL, 0x1.5c8b8e7516630p-5, 0x1.5c8b800000000p-5f, -0x1.049cdd16d0e03p-2, -0x1.049cde0000000p-2f},
    {0x1ULL, 0x0ULL, 0x1.ca141d79c7d00p-1, 0x1.ca141c0000000p-1f, -0x1.7a56413eb2e32p+0, -0x1.7a56420000000p+0f},
    {0x1ULL, 0x1ULL, 0x1.bf8b997d58102p-1, 0x1.bf8b980000000p-1f, -0x1.b543a4d365d34p-3, -0x1.b543a40000000p-3f},
    {0x1ULL, 0x2ULL, 0x1.1ced993a7eab6p-1, 0x1.1ced980000000p-1f, 0x1.699a2cc594c8ap-2, 0x1.699a2c0000000p-2f},
    {0x1ULL, 0x3ULL, 0x1.2b5dec983e790p-5, 0x1.2b5de00000000p-5f, -0x1.95f6d13dad4e0p-1, -0x1.95f6d20000000p-1f},
    {0x1ULL, 0x7ULL, 0x1.deb01c55ec3aap-2, 0x1.deb01c0000000p-2f, -0x1.82837d61dc9d8p-2, -0x1.82837e0000000p-2f},
    {0x2aULL, 0x3e8ULL, 0x1.5c897ed98fe72p-1, 0x1.5c897e0000000p-1f, -0x1.1a68f9301dbe9p-2, -0x1.1a68fa0000000p-2f},
    {0xffffffffffffffffULL, 0x10000000003ULL, 0x1.f333edcd6a9f4p-3, 0x1.f333e80000000p-3f, -0x1.e4333304839e9p-3, -0x1.e433340000000p-3f},
    {0x123456789abcdefULL, 0x100000000ULL, 0x1.6774fda36504ap-2, 0x1.6774fc0000000p-2f, 0x1.d4a5910547772p-5, 0x1.d4a5920000000p-5f},
};
#define N_KNOWN (sizeof known / sizeof known[0])

/* (seed 0, k 0) is Philox4x32-10 of counter 0 and key 0, whose Random123
 * answer starts 6627e8d5 e169c58d: a = 0xe169c58d6627e8d5. */
Test(random, first_value_is_philox_kat) {
  uint64_t a = 0xe169c58d6627e8d5ULL;
  cr_assert_eq(tns_rand_f64(0, 0), (double)(a >> 11) * 0x1p-53);
}

Test(random, element_functions_match_reference) {
  for (size_t i = 0; i < N_KNOWN; i++) {
    const Known *c = &known[i];
    cr_expect_eq(tns_rand_f64(c->seed, c->k), c->u64, "rand f64 case %zu: %a",
                 i, tns_rand_f64(c->seed, c->k));
    cr_expect_eq(tns_rand_f32(c->seed, c->k), c->u32, "rand f32 case %zu", i);
    cr_expect_eq(tns_randn_f64(c->seed, c->k), c->n64,
                 "randn f64 case %zu: %a", i, tns_randn_f64(c->seed, c->k));
    cr_expect_eq(tns_randn_f32(c->seed, c->k), c->n32, "randn f32 case %zu",
                 i);
  }
}

Test(random, fill_matches_reference_for_seeds_0_and_1) {
  double d[8];
  float f[8];
  for (size_t i = 0; i < N_KNOWN; i++) {
    const Known *c = &known[i];
    if (c->seed > 1)
      continue;
    cr_assert_eq(tns_rand_fill(TNS_F64, 8, c->seed, d), TNS_OK);
    cr_assert_eq(tns_rand_fill(TNS_F32, 8, c->seed, f), TNS_OK);
    cr_expect_eq(d[c->k], c->u64, "case %zu", i);
    cr_expect_eq(f[c->k], c->u32, "case %zu", i);
    cr_assert_eq(tns_randn_fill(TNS_F64, 8, c->seed, d), TNS_OK);
    cr_assert_eq(tns_randn_fill(TNS_F32, 8, c->seed, f), TNS_OK);
    cr_expect_eq(d[c->k], c->n64, "case %zu", i);
    cr_expect_eq(f[c->k], c->n32, "case %zu", i);
  }
}

/* f32 rand is f64 rand truncated to 24 bits; f32 randn is f64 randn
 * rounded to nearest. */
Test(random, f32_follows_f64) {
  enum { N = 4096 };
  double *d = malloc(N * sizeof *d);
  float *f = malloc(N * sizeof *f);
  tns_rand_fill(TNS_F64, N, 77, d);
  tns_rand_fill(TNS_F32, N, 77, f);
  for (int i = 0; i < N; i++)
    cr_assert_eq(f[i], (float)(floor(d[i] * 0x1p24) * 0x1p-24), "i=%d", i);
  tns_randn_fill(TNS_F64, N, 77, d);
  tns_randn_fill(TNS_F32, N, 77, f);
  for (int i = 0; i < N; i++)
    cr_assert_eq(f[i], (float)d[i], "i=%d", i);
  free(d);
  free(f);
}

/* Element k depends only on (seed, k): a longer fill starts the same,
 * and other seeds give other numbers. */
Test(random, counter_based) {
  double a[100], b[300], c[100];
  tns_rand_fill(TNS_F64, 100, 5, a);
  tns_rand_fill(TNS_F64, 300, 5, b);
  tns_rand_fill(TNS_F64, 100, 6, c);
  int same = 0;
  for (int i = 0; i < 100; i++) {
    cr_assert_eq(a[i], b[i]);
    cr_assert_eq(a[i], tns_rand_f64(5, (uint64_t)i));
    same += a[i] == c[i];
  }
  cr_assert_eq(same, 0);
  /* rand and randn with one seed are different streams */
  cr_assert_neq(tns_rand_f64(3, 0), tns_randn_f64(3, 0));
}

Test(random, uniform_statistics) {
  enum { N = 200000 };
  double *d = malloc(N * sizeof *d);
  float *f = malloc(N * sizeof *f);
  cr_assert_eq(tns_rand_fill(TNS_F64, N, 1, d), TNS_OK);
  cr_assert_eq(tns_rand_fill(TNS_F32, N, 2, f), TNS_OK);
  double s = 0, s2 = 0, sf = 0, lo = 1, hi = 0;
  int bins[10] = {0};
  for (int i = 0; i < N; i++) {
    s += d[i];
    s2 += d[i] * d[i];
    sf += f[i];
    lo = fmin(lo, fmin(d[i], f[i]));
    hi = fmax(hi, fmax(d[i], f[i]));
    bins[(int)(d[i] * 10)]++;
  }
  double mean = s / N, var = s2 / N - mean * mean;
  /* 5 standard errors: sd(mean) = 0.2887/sqrt(N) */
  cr_assert(fabs(mean - 0.5) < 5 * 0.2887 / sqrt(N), "mean %g", mean);
  cr_assert(fabs(sf / N - 0.5) < 5 * 0.2887 / sqrt(N), "f32 mean %g", sf / N);
  cr_assert(fabs(var - 1.0 / 12) < 5 * 0.0745 / sqrt(N), "var %g", var);
  cr_assert(lo >= 0 && hi < 1, "range [%g, %g]", lo, hi);
  for (int b = 0; b < 10; b++) /* binomial sd = sqrt(N * .1 * .9) = 134 */
    cr_assert(abs(bins[b] - N / 10) < 5 * 134, "bin %d: %d", b, bins[b]);
  free(d);
  free(f);
}

Test(random, normal_statistics) {
  enum { N = 200000 };
  double *d = malloc(N * sizeof *d);
  cr_assert_eq(tns_randn_fill(TNS_F64, N, 1, d), TNS_OK);
  double s = 0, s2 = 0, s3 = 0, s4 = 0;
  int tail = 0;
  for (int i = 0; i < N; i++) {
    double x = d[i];
    cr_assert(isfinite(x));
    s += x;
    s2 += x * x;
    s3 += x * x * x;
    s4 += x * x * x * x;
    tail += fabs(x) > 1.959963984540054;
  }
  double mean = s / N, var = s2 / N - mean * mean;
  cr_assert(fabs(mean) < 5 / sqrt(N), "mean %g", mean);
  cr_assert(fabs(var - 1) < 5 * sqrt(2.0 / N), "var %g", var);
  cr_assert(fabs(s3 / N) < 5 * sqrt(15.0 / N), "skew %g", s3 / N);
  cr_assert(fabs(s4 / N - 3) < 5 * sqrt(96.0 / N), "kurtosis %g", s4 / N);
  /* P(|z| > 1.96) = 0.05 */
  cr_assert(fabs(tail / (double)N - 0.05) < 5 * sqrt(0.05 * 0.95 / N),
            "tail %g", tail / (double)N);
  free(d);
}

Test(random, errors) {
  int32_t i[4];
  double d[4];
  cr_assert_eq(tns_rand_fill(TNS_I32, 4, 0, i), TNS_ERR_ARG);
  cr_assert_str_eq(tns_last_error(),
                   "rand: element type i32 is not supported (f32 or f64)");
  cr_assert_eq(tns_randn_fill(TNS_BOOL, 4, 0, i), TNS_ERR_ARG);
  cr_assert_eq(tns_rand_fill(TNS_F64, -1, 0, d), TNS_ERR_ARG);
  cr_assert_eq(tns_randn_fill(TNS_F64, 4, 0, NULL), TNS_ERR_ARG);
  cr_assert_eq(tns_rand_fill(TNS_F64, 0, 0, NULL), TNS_OK);
}
