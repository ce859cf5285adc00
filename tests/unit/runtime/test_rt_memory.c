/* Tests for runtime/memory.c: blocks of 64 KiB and more are mappings
 * (huge-page ones from 4 MiB) that tns_free keeps for reuse, up to
 * TNS_MEMORY_CACHE MiB. A kept block comes back zeroed from tns_alloc
 * and as it is from tns_alloc_elems_uninit. (Small blocks: test_rt_error.c.) */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tns_runtime.h"

enum { BIG = 8 << 20 };

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

Test(bigmem, a_large_block_is_aligned_zeroed_and_writable) {
  unsigned char *p = tns_alloc(BIG);
  cr_assert_not_null(p);
  cr_assert_eq((uintptr_t)p % 64, 0);
  cr_assert(all_zero(p, BIG));
  memset(p, 0xab, BIG);
  tns_free(p);
}

Test(bigmem, a_freed_block_is_reused_and_cleared) {
  unsigned char *p = tns_alloc(BIG);
  memset(p, 0xcd, BIG);
  tns_free(p);
  unsigned char *q = tns_alloc(BIG);
  cr_assert_eq(q, p, "the kept block was not reused");
  cr_assert(all_zero(q, BIG), "a reused block must come back zeroed");
  tns_free(q);
}

Test(bigmem, uninit_takes_a_kept_block_as_it_is) {
  unsigned char *p = tns_alloc(BIG);
  memset(p, 0x5a, BIG);
  tns_free(p);
  unsigned char *q = tns_alloc_elems_uninit(BIG / 8, 8, 0);
  cr_assert_eq(q, p);
  cr_assert_eq(q[BIG - 1], 0x5a);   /* not cleared: the caller writes it all */
  tns_free(q);
  /* without a kept block it is a fresh (zeroed) mapping */
  tns_release_memory();
  unsigned char *r = tns_alloc_elems_uninit(BIG / 8, 8, 0);
  cr_assert(all_zero(r, BIG));
  tns_free(r);
}

Test(bigmem, a_much_larger_kept_block_is_not_used_for_a_small_request) {
  unsigned char *p = tns_alloc(4 * BIG);
  tns_free(p);
  unsigned char *q = tns_alloc(BIG);
  cr_assert_neq(q, p);
  tns_free(q);
  tns_release_memory();
}

static void no_cache(void) { setenv("TNS_MEMORY_CACHE", "0", 1); }

Test(bigmem, cache_off_unmaps_at_once, .init = no_cache) {
  unsigned char *p = tns_alloc(BIG);
  memset(p, 0x77, BIG);
  tns_free(p);
  unsigned char *q = tns_alloc_elems_uninit(BIG / 8, 8, 0);
  cr_assert(all_zero(q, BIG), "with TNS_MEMORY_CACHE=0 nothing is kept");
  tns_free(q);
}

Test(bigmem, uninit_checks_sizes_like_alloc_elems) {
  tns_clear_error();
  cr_assert_null(tns_alloc_elems_uninit(-1, 8, 0));
  cr_assert_eq(tns_last_status(), TNS_ERR_ARG);
  cr_assert_null(tns_alloc_elems_uninit(INT64_MAX / 4, 8, 0));
  cr_assert_eq(tns_last_status(), TNS_ERR_OOM);
  cr_assert_null(tns_alloc_elems_uninit(10, 8, 1));
  void *small = tns_alloc_elems_uninit(10, 8, 0);
  cr_assert_not_null(small);
  tns_free(small);
}

enum { MID = 256 << 10 };   /* a 32^3 f64 tensor */

/* Under ASan mid-sized blocks stay malloc's (checked), not kept. */
#if defined(__SANITIZE_ADDRESS__)
enum { SANITIZED = 1 };
#else
enum { SANITIZED = 0 };
#endif

Test(midmem, a_freed_mid_block_is_reused_and_cleared, .disabled = SANITIZED) {
  unsigned char *p = tns_alloc(MID);
  cr_assert_eq((uintptr_t)p % 64, 0);
  cr_assert(all_zero(p, MID));
  memset(p, 0xcd, MID);
  tns_free(p);
  unsigned char *q = tns_alloc(MID);
  cr_assert_eq(q, p, "the kept block was not reused");
  cr_assert(all_zero(q, MID), "a reused block must come back zeroed");
  memset(q, 0x3c, MID);
  tns_free(q);
  unsigned char *r = tns_alloc_elems_uninit(MID / 8, 8, 0);
  cr_assert_eq(r, p);
  cr_assert_eq(r[MID - 1], 0x3c);   /* not cleared: the caller writes it all */
  tns_free(r);
  tns_release_memory();
}

/* a function's ten temporaries, freed and taken again on the next call */
Test(midmem, a_calls_temporaries_all_come_back, .disabled = SANITIZED) {
  enum { K = 10 };
  unsigned char *p[K], *q[K];
  for (int i = 0; i < K; i++) p[i] = tns_alloc_elems_uninit(MID / 8, 8, 0);
  for (int i = 0; i < K; i++) tns_free(p[i]);
  for (int i = 0; i < K; i++) {
    q[i] = tns_alloc_elems_uninit(MID / 8, 8, 0);
    int found = 0;
    for (int j = 0; j < K; j++) found |= q[i] == p[j];
    cr_assert(found, "temporary %d was not a kept block", i);
  }
  for (int i = 0; i < K; i++) tns_free(q[i]);
  tns_release_memory();
}

Test(midmem, small_uninit_blocks_are_aligned_and_writable) {
  for (int64_t n = 1; n < 8192; n *= 3) {
    unsigned char *p = tns_alloc_elems_uninit(n, 8, 0);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 64, 0);
    memset(p, 0x11, (size_t)n * 8);
    tns_free(p);
  }
}
