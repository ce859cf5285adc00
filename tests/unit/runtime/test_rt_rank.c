/* One maximum rank, TNS_MAX_RANK, honoured by every runtime function that
 * takes a rank: the maximum works, one more is TNS_ERR_ARG naming the rank
 * (tnsc rejects such a tensor at compile time; these are the C callers). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tns_runtime.h"

#define MAXR TNS_MAX_RANK

static int64_t ones[MAXR + 1] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static double one = 2.5;

static void expect_rank_error(int st) {
  cr_expect_eq(st, TNS_ERR_ARG, "status %d: %s", st, tns_last_error());
  cr_expect(strstr(tns_last_error(), "rank 17") != NULL, "%s", tns_last_error());
}

Test(rank, shape_count) {
  int64_t n;
  cr_assert_eq(tns_shape_count(MAXR, ones, &n), TNS_OK);
  cr_expect_eq(n, 1);
  expect_rank_error(tns_shape_count(MAXR + 1, ones, &n));
}

Test(rank, print) {
  char *s = tns_format_array(TNS_F64, MAXR, ones, &one);
  cr_assert_not_null(s, "%s", tns_last_error());
  cr_expect_str_eq(s, "[[[[[[[[[[[[[[[[2.5]]]]]]]]]]]]]]]]");
  tns_free(s);
  cr_assert_null(tns_format_array(TNS_F64, MAXR + 1, ones, &one));
  expect_rank_error(tns_last_status());
}

Test(rank, npy_save_and_load) {
  char path[] = "/tmp/tns_rank_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert_eq(tns_npy_save(path, TNS_F64, MAXR, ones, &one), TNS_OK, "%s", tns_last_error());
  TnsArray a = {0};
  cr_assert_eq(tns_npy_load(path, &a), TNS_OK, "%s", tns_last_error());
  cr_expect_eq(a.rank, MAXR);
  cr_expect_eq(tns_array_check(&a, TNS_F64, MAXR, NULL, "a"), TNS_OK);
  expect_rank_error(tns_array_check(&a, TNS_F64, MAXR + 1, NULL, "a"));
  tns_array_free(&a);
  expect_rank_error(tns_npy_save(path, TNS_F64, MAXR + 1, ones, &one));
  unlink(path);
}

Test(rank, frostt) {
  char path[] = "/tmp/tns_rank_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  const char *line = "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 4.0\n";
  cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
  close(fd);
  double out = 0;
  cr_assert_eq(tns_frostt_load(path, MAXR, ones, &out), TNS_OK, "%s", tns_last_error());
  cr_expect_eq(out, 4.0);
  expect_rank_error(tns_frostt_load(path, MAXR + 1, ones, &out));
  unlink(path);
}

Test(rank, permute) {
  int perm[MAXR + 1];
  for (int k = 0; k <= MAXR; k++) perm[k] = MAXR - 1 - k;
  double out = 0;
  cr_assert_eq(tns_permute(8, MAXR, ones, perm, &one, &out), TNS_OK, "%s", tns_last_error());
  cr_expect_eq(out, 2.5);
  perm[MAXR] = MAXR;
  expect_rank_error(tns_permute(8, MAXR + 1, ones, perm, &one, &out));
}

/* A negative dimension known only at run time (load_frostt(f, n, 3) with
 * n = -3 from a caller): an argument error that says so, not "too large". */
Test(rank, negative_count_is_an_argument_error) {
  cr_assert_null(tns_alloc_elems(-9, 8, 0));
  cr_expect_eq(tns_last_status(), TNS_ERR_ARG);
  cr_expect(strstr(tns_last_error(), "negative") != NULL, "%s", tns_last_error());
  cr_assert_null(tns_alloc_elems(4, 8, 1));
  cr_expect_eq(tns_last_status(), TNS_ERR_OOM);
}
