/* Tests for runtime/permute.c: tns_permute against a plain index loop for
 * every axis order of ranks 2 to 5, sizes around the tiles (64 x 8), with
 * 8-, 4- and 1-byte elements, on 4 threads. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tns_runtime.h"

static void four_threads(void) { setenv("TNS_NUM_THREADS", "4", 1); }
TestSuite(permute, .init = four_threads);

/* dst[k0, k1, ...] = src at the position whose axis perm[k] is k-th index */
static void reference(int rank, const int64_t *dims, const int *perm, const uint64_t *src, uint64_t *dst) {
  int64_t ddims[8], n = 1, idx[8] = {0};
  for (int k = 0; k < rank; k++) ddims[k] = dims[perm[k]], n *= dims[k];
  for (int64_t t = 0; t < n; t++) {
    int64_t rem = t, s = 0;
    for (int k = rank - 1; k >= 0; k--) idx[k] = rem % ddims[k], rem /= ddims[k];
    int64_t sidx[8];
    for (int k = 0; k < rank; k++) sidx[perm[k]] = idx[k];
    for (int k = 0; k < rank; k++) s = s * dims[k] + sidx[k];
    dst[t] = src[s];
  }
}

static int next_perm(int *p, int n) {   /* lexicographic */
  int i = n - 2;
  while (i >= 0 && p[i] > p[i + 1]) i--;
  if (i < 0) return 0;
  int j = n - 1;
  while (p[j] < p[i]) j--;
  int t = p[i]; p[i] = p[j]; p[j] = t;
  for (int a = i + 1, b = n - 1; a < b; a++, b--) t = p[a], p[a] = p[b], p[b] = t;
  return 1;
}

static void check_all_orders(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) n *= dims[k];
  uint64_t *src = malloc(8 * (size_t)n), *want = malloc(8 * (size_t)n), *got = malloc(8 * (size_t)n);
  uint32_t *s4 = malloc(4 * (size_t)n), *g4 = malloc(4 * (size_t)n);
  uint8_t *s1 = malloc((size_t)n), *g1 = malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) src[i] = (uint64_t)i * 2654435761u, s4[i] = (uint32_t)src[i], s1[i] = (uint8_t)(src[i] >> 7);
  int perm[8];
  for (int k = 0; k < rank; k++) perm[k] = k;
  do {
    reference(rank, dims, perm, src, want);
    memset(got, 0, 8 * (size_t)n);
    cr_assert_eq(tns_permute(8, rank, dims, perm, src, got), TNS_OK);
    cr_assert_eq(memcmp(got, want, 8 * (size_t)n), 0, "rank %d, perm starting %d %d", rank, perm[0], perm[1]);
    cr_assert_eq(tns_permute(4, rank, dims, perm, s4, g4), TNS_OK);
    cr_assert_eq(tns_permute(1, rank, dims, perm, s1, g1), TNS_OK);
    for (int64_t i = 0; i < n; i++) {
      cr_assert_eq(g4[i], (uint32_t)want[i]);
      cr_assert_eq(g1[i], (uint8_t)(want[i] >> 7));
    }
  } while (next_perm(perm, rank));
  free(src), free(want), free(got), free(s4), free(g4), free(s1), free(g1);
}

Test(permute, rank_2_around_the_tile) {
  check_all_orders(2, (int64_t[]){65, 9});
  check_all_orders(2, (int64_t[]){130, 17});
  check_all_orders(2, (int64_t[]){1, 200});
}

Test(permute, rank_3) {
  check_all_orders(3, (int64_t[]){70, 9, 33});
  check_all_orders(3, (int64_t[]){2, 1, 129});
}

Test(permute, rank_4_and_5) {
  check_all_orders(4, (int64_t[]){5, 66, 3, 10});
  check_all_orders(5, (int64_t[]){3, 4, 2, 65, 9});
}

Test(permute, empty_and_bad_ranks) {
  uint64_t x = 7, y = 0;
  cr_assert_eq(tns_permute(8, 2, (int64_t[]){0, 5}, (int[]){1, 0}, &x, &y), TNS_OK);
  cr_assert_eq(y, 0);
  cr_assert_eq(tns_permute(8, 1, (int64_t[]){5}, (int[]){0}, &x, &y), TNS_ERR_ARG);
}
