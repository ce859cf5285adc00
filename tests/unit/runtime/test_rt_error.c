/* Tests for runtime/error.c, dtype.c, memory.c and clock.c: status codes,
 * per-thread messages, element types, allocation, arenas, time. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "tns_runtime.h"

/* Under AddressSanitizer a failed huge calloc must return NULL (as libc
 * does) instead of aborting. Harmless in normal builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}

Test(error, status_names_and_texts) {
  cr_assert_str_eq(tns_status_name(TNS_OK), "TNS_OK");
  cr_assert_str_eq(tns_status_name(TNS_ERR_SHAPE), "TNS_ERR_SHAPE");
  cr_assert_str_eq(tns_status_name(TNS_ERR_LINALG), "TNS_ERR_LINALG");
  cr_assert_str_eq(tns_status_name(TNS_ERR_INTERNAL), "TNS_ERR_INTERNAL");
  cr_assert_str_eq(tns_status_name(-1), "TNS_ERR_UNKNOWN");
  cr_assert_str_eq(tns_status_name(TNS_STATUS_COUNT), "TNS_ERR_UNKNOWN");
  cr_assert_str_eq(tns_status_text(TNS_ERR_OOM), "out of memory");
  cr_assert_str_eq(tns_status_text(TNS_ERR_BOUNDS), "index out of range");
  cr_assert_str_eq(tns_status_text(99), "unknown status");
}

Test(error, status_values_are_fixed) {
  /* ABI: generated code and users compare against these numbers */
  const int want[] = {TNS_OK, TNS_ERR_SHAPE, TNS_ERR_OOM, TNS_ERR_ARG,
                      TNS_ERR_IO, TNS_ERR_FORMAT, TNS_ERR_BOUNDS,
                      TNS_ERR_ASSERT, TNS_ERR_LINALG, TNS_ERR_INTERNAL,
                      TNS_ERR_INTERRUPTED};
  cr_assert_eq(sizeof want / sizeof *want, TNS_STATUS_COUNT);
  for (int i = 0; i < TNS_STATUS_COUNT; i++)
    cr_assert_eq(want[i], i);
}

Test(error, interrupt_is_reported_once) {
  tns_clear_error();
  cr_assert_eq(tns_check_interrupt(), TNS_OK);
  tns_request_interrupt();
  cr_assert_eq(tns_check_interrupt(), TNS_ERR_INTERRUPTED);
  cr_assert_str_eq(tns_last_error(), "interrupted");
  cr_assert_eq(tns_check_interrupt(), TNS_OK);   /* cleared by the first check */
}

Test(error, set_and_clear) {
  tns_clear_error();
  cr_assert_str_eq(tns_last_error(), "");
  cr_assert_eq(tns_last_status(), TNS_OK);
  cr_assert_eq(tns_error(TNS_ERR_SHAPE, "x has %d rows, want %s", 3, "4"),
               TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(), "x has 3 rows, want 4");
  cr_assert_eq(tns_last_status(), TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error_loc(), "");
  cr_assert_eq(tns_error(TNS_ERR_IO, NULL), TNS_ERR_IO);
  cr_assert_str_eq(tns_last_error(), "input/output error");
  tns_clear_error();
  cr_assert_str_eq(tns_last_error(), "");
  cr_assert_eq(tns_last_status(), TNS_OK);
}

Test(error, long_messages_are_truncated_safely) {
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  tns_error(TNS_ERR_ARG, "%s", big);
  size_t n = strlen(tns_last_error());
  cr_assert(n > 500 && n < 5000, "length %zu", n);
}

Test(error, bounds_error) {
  int st = tns_bounds_error("file.tns:3:14", "A", 0, 7, 5);
  cr_assert_eq(st, TNS_ERR_BOUNDS);
  cr_assert_str_eq(tns_last_error(),
                   "index 7 is out of range for dimension 0 of A (size 5)");
  cr_assert_str_eq(tns_last_error_loc(), "file.tns:3:14");
  tns_bounds_error(NULL, "X[i + k]", 1, -1, 4);
  cr_assert_str_eq(tns_last_error(),
                   "index -1 is out of range for dimension 1 of X[i + k] "
                   "(size 4)");
  cr_assert_str_eq(tns_last_error_loc(), "");
  /* a plain error forgets the previous location */
  tns_bounds_error("f.tns:1:1", "A", 0, 9, 1);
  tns_error(TNS_ERR_IO, "disk");
  cr_assert_str_eq(tns_last_error_loc(), "");
}

Test(error, assert_fail_and_error_at) {
  cr_assert_eq(tns_assert_fail("t.tns:9:3", "weights must sum to 1"),
               TNS_ERR_ASSERT);
  cr_assert_str_eq(tns_last_error(), "assertion failed: weights must sum to 1");
  cr_assert_str_eq(tns_last_error_loc(), "t.tns:9:3");
  cr_assert_eq(tns_error_at("t.tns:2:1", TNS_ERR_SHAPE, "bad %s", "shape"),
               TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(), "bad shape");
  cr_assert_str_eq(tns_last_error_loc(), "t.tns:2:1");
}

/* Each thread has its own message. */
static void *other_thread(void *arg) {
  (void)arg;
  tns_error(TNS_ERR_OOM, "from the other thread");
  return (void *)(intptr_t)(strcmp(tns_last_error(), "from the other thread"));
}

Test(error, messages_are_per_thread) {
  tns_error(TNS_ERR_IO, "from main");
  pthread_t t;
  void *res;
  pthread_create(&t, NULL, other_thread, NULL);
  pthread_join(t, &res);
  cr_assert_eq((intptr_t)res, 0);
  cr_assert_str_eq(tns_last_error(), "from main");
  cr_assert_eq(tns_last_status(), TNS_ERR_IO);
}

Test(dtype, sizes_and_names) {
  cr_assert_eq(tns_dtype_size(TNS_F32), 4);
  cr_assert_eq(tns_dtype_size(TNS_F64), 8);
  cr_assert_eq(tns_dtype_size(TNS_I32), 4);
  cr_assert_eq(tns_dtype_size(TNS_I64), 8);
  cr_assert_eq(tns_dtype_size(TNS_BOOL), 1);
  cr_assert_eq(tns_dtype_size((TnsDtype)7), 0);
  cr_assert_str_eq(tns_dtype_name(TNS_F32), "f32");
  cr_assert_str_eq(tns_dtype_name(TNS_F64), "f64");
  cr_assert_str_eq(tns_dtype_name(TNS_I32), "i32");
  cr_assert_str_eq(tns_dtype_name(TNS_I64), "i64");
  cr_assert_str_eq(tns_dtype_name(TNS_BOOL), "bool");
  cr_assert_str_eq(tns_dtype_name((TnsDtype)-1), "?");
}

Test(memory, alloc_is_aligned_and_zeroed) {
  for (int64_t n = 0; n < 5000; n = n * 3 + 1) {
    unsigned char *p = tns_alloc(n);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % 64, 0, "size %lld", (long long)n);
    for (int64_t i = 0; i < n; i++)
      cr_assert_eq(p[i], 0);
    memset(p, 0xab, (size_t)n);
    tns_free(p);
  }
  void *a = tns_alloc(0), *b = tns_alloc(0);
  cr_assert(a && b && a != b);
  tns_free(a);
  tns_free(b);
  tns_free(NULL);
}

Test(memory, alloc_failures) {
  tns_clear_error();
  cr_assert_null(tns_alloc(-1));
  cr_assert_eq(tns_last_status(), TNS_ERR_ARG);
  cr_assert_str_eq(tns_last_error(),
                   "cannot allocate a negative size (-1 bytes)");
  cr_assert_null(tns_alloc(INT64_MAX));
  cr_assert_eq(tns_last_status(), TNS_ERR_OOM);
  cr_assert_null(tns_alloc((int64_t)1 << 60)); /* 1 EiB: calloc fails */
  cr_assert_eq(tns_last_status(), TNS_ERR_OOM);
  cr_assert(strstr(tns_last_error(), "out of memory"));
}

Test(memory, mul_sizes) {
  int64_t out = -5;
  cr_assert_eq(tns_mul_sizes(3, 7, &out), TNS_OK);
  cr_assert_eq(out, 21);
  cr_assert_eq(tns_mul_sizes(0, INT64_MAX, &out), TNS_OK);
  cr_assert_eq(out, 0);
  cr_assert_eq(tns_mul_sizes((int64_t)1 << 32, (int64_t)1 << 31, &out),
               TNS_ERR_OOM);
  cr_assert_str_eq(tns_last_error(), "size overflow: 4294967296 * "
                   "2147483648 does not fit in 64 bits");
  cr_assert_eq(tns_mul_sizes(-1, 3, &out), TNS_ERR_ARG);
  int64_t dims[3] = {4, 5, 6};
  cr_assert_eq(tns_shape_count(3, dims, &out), TNS_OK);
  cr_assert_eq(out, 120);
  cr_assert_eq(tns_shape_count(0, NULL, &out), TNS_OK);
  cr_assert_eq(out, 1);
  int64_t huge[3] = {1 << 30, 1 << 30, 1 << 30};
  cr_assert_eq(tns_shape_count(3, huge, &out), TNS_ERR_OOM);
  cr_assert_eq(tns_shape_count(17, dims, &out), TNS_ERR_ARG);
}

Test(arena, alloc_reset_destroy) {
  TnsArena *a = tns_arena_create(1024);
  cr_assert_not_null(a);
  unsigned char *p = tns_arena_alloc(a, 100);
  unsigned char *q = tns_arena_alloc(a, 10);
  cr_assert(p && q && p != q);
  cr_assert_eq((uintptr_t)p % 64, 0);
  cr_assert_eq((uintptr_t)q % 64, 0);
  cr_assert_geq(q - p, 100);
  cr_assert_eq(tns_arena_used(a), 128 + 64);
  memset(p, 1, 100);
  /* more than the block holds: a second block */
  unsigned char *big = tns_arena_alloc(a, 5000);
  cr_assert_not_null(big);
  for (int i = 0; i < 5000; i++)
    cr_assert_eq(big[i], 0);
  memset(big, 7, 5000);
  tns_arena_reset(a);
  cr_assert_eq(tns_arena_used(a), 0);
  /* after a reset everything fits in one merged block, zeroed again */
  unsigned char *r1 = tns_arena_alloc(a, 100);
  unsigned char *r2 = tns_arena_alloc(a, 5000);
  cr_assert(r1 && r2);
  cr_assert_eq(r2 - r1, 128);
  for (int i = 0; i < 5000; i++)
    cr_assert_eq(r2[i], 0);
  cr_assert_null(tns_arena_alloc(a, -3));
  cr_assert_eq(tns_last_status(), TNS_ERR_ARG);
  tns_arena_destroy(a);
  tns_arena_destroy(NULL);
  cr_assert_null(tns_arena_create(-1));
}

Test(arena, reuse_after_reset_is_zeroed) {
  TnsArena *a = tns_arena_create(0);
  unsigned char *p = tns_arena_alloc(a, 256);
  memset(p, 0xcd, 256);
  tns_arena_reset(a);
  unsigned char *q = tns_arena_alloc(a, 256);
  cr_assert_eq(p, q); /* one block: the same memory comes back */
  for (int i = 0; i < 256; i++)
    cr_assert_eq(q[i], 0);
  tns_arena_destroy(a);
}

Test(clock, monotonic_seconds) {
  double t0 = tns_time();
  struct timespec d = {0, 20 * 1000 * 1000};
  nanosleep(&d, NULL);
  double t1 = tns_time();
  cr_assert(t1 - t0 >= 0.019 && t1 - t0 < 5.0, "elapsed %g", t1 - t0);
}
