/* Tests for runtime/frostt.c: FROSTT coordinate text into dense buffers,
 * its error messages, and the "looks like tensor data" detector. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tns_runtime.h"

/* mkstemp's pattern: six capital X */
#define MKSTEMP_SUFFIX "X" "X" "X" "X" "X" "X"

static char tmp_path[64];

/* Writes text (n bytes) to a fresh temporary file; returns its path. */
static const char *tmp_write_n(const char *text, size_t n) {
  snprintf(tmp_path, sizeof tmp_path, "/tmp/tns_rt_frostt_" MKSTEMP_SUFFIX);
  int fd = mkstemp(tmp_path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, text, n), (ssize_t)n);
  close(fd);
  return tmp_path;
}

static const char *tmp_write(const char *text) {
  return tmp_write_n(text, strlen(text));
}

/* Loads text as a 2 x 3 x 2 tensor expecting failure; returns the
 * message with the temporary path replaced by "t.tns". */
static const char *load_fails(const char *text, int code) {
  static char msg[1024];
  const char *p = tmp_write(text);
  int64_t dims[3] = {2, 3, 2};
  double out[12] = {0};
  int st = tns_frostt_load(p, 3, dims, out);
  cr_assert_eq(st, code, "status %s: %s", tns_status_name(st),
               tns_last_error());
  const char *m = tns_last_error(), *at = strstr(m, p);
  cr_assert_not_null(at, "message does not name the file: %s", m);
  snprintf(msg, sizeof msg, "%.*st.tns%s", (int)(at - m), m, at + strlen(p));
  return msg;
}

Test(frostt, loads_and_accumulates) {
  const char *p = tmp_write("# a 2x3x2 tensor\n"
                            "1 1 1 1.5\n"
                            "\n"
                            "  2 3 2   -4e-1  \n"
                            "1 2 1 2 # trailing comment\n"
                            "1 1 1 0.25\r\n"
                            "\t2\t1\t2\t7");
  int64_t dims[3] = {2, 3, 2};
  double out[12] = {0};
  cr_assert_eq(tns_frostt_load(p, 3, dims, out), TNS_OK, "%s",
               tns_last_error());
  double want[12] = {0};
  want[0] = 1.75;      /* (1,1,1) twice */
  want[11] = -0.4;     /* (2,3,2) */
  want[2] = 2;         /* (1,2,1) */
  want[6 + 1] = 7;     /* (2,1,2) */
  for (int i = 0; i < 12; i++)
    cr_assert_eq(out[i], want[i], "element %d: %g", i, out[i]);
}

Test(frostt, empty_file_is_all_zeros) {
  const char *p = tmp_write("# nothing here\n\n");
  int64_t dims[1] = {3};
  double out[3] = {0, 0, 0};
  cr_assert_eq(tns_frostt_load(p, 1, dims, out), TNS_OK);
  cr_assert(out[0] == 0 && out[1] == 0 && out[2] == 0);
}

Test(frostt, missing_file) {
  int64_t dims[1] = {3};
  double out[3];
  cr_assert_eq(tns_frostt_load("/nonexistent/t.tns", 1, dims, out),
               TNS_ERR_IO);
  cr_assert_str_eq(tns_last_error(),
                   "/nonexistent/t.tns: cannot open: No such file or "
                   "directory");
}

Test(frostt, directory) {
  int64_t dims[1] = {3};
  double out[3];
  cr_assert_eq(tns_frostt_load("/tmp", 1, dims, out), TNS_ERR_IO);
  cr_assert_str_eq(tns_last_error(), "/tmp: read error: Is a directory");
}

Test(frostt, wrong_field_count) {
  cr_assert_str_eq(load_fails("1 1 1 1.0\n2 2 5\n", TNS_ERR_FORMAT),
                   "t.tns:2: expected 4 fields (3 coordinates and a value), "
                   "found 3");
  cr_assert_str_eq(load_fails("1 1 1 1.0 9\n", TNS_ERR_FORMAT),
                   "t.tns:1: expected 4 fields (3 coordinates and a value), "
                   "found 5");
}

Test(frostt, non_numeric_fields) {
  cr_assert_str_eq(load_fails("1 1 1 1\n1 x 1 2.0\n", TNS_ERR_FORMAT),
                   "t.tns:2: coordinate 2 is \"x\", not a positive integer");
  cr_assert_str_eq(load_fails("1 1.5 1 2.0\n", TNS_ERR_FORMAT),
                   "t.tns:1: coordinate 2 is \"1.5\", not a positive "
                   "integer");
  cr_assert_str_eq(load_fails("1 -1 1 2.0\n", TNS_ERR_FORMAT),
                   "t.tns:1: coordinate 2 is \"-1\", not a positive integer");
  cr_assert_str_eq(load_fails("\n\n1 1 1 abc\n", TNS_ERR_FORMAT),
                   "t.tns:3: value \"abc\" is not a number");
  cr_assert_str_eq(load_fails("1 1 1 1.5x\n", TNS_ERR_FORMAT),
                   "t.tns:1: value \"1.5x\" is not a number");
}

Test(frostt, coordinate_out_of_range) {
  cr_assert_str_eq(load_fails("1 1 1 1\n2 4 1 1\n", TNS_ERR_FORMAT),
                   "t.tns:2: coordinate 2 is 4, but dimension 1 has size 3 "
                   "(FROSTT coordinates run from 1 to the size)");
  cr_assert_str_eq(load_fails("0 1 1 1\n", TNS_ERR_FORMAT),
                   "t.tns:1: coordinate 1 is 0, but dimension 0 has size 2 "
                   "(FROSTT coordinates run from 1 to the size)");
  cr_assert_str_eq(load_fails("1 1 99999999999999999999999 1\n",
                              TNS_ERR_FORMAT),
                   "t.tns:1: coordinate 3 is 99999999999999999999999, but "
                   "dimension 2 has size 2 (FROSTT coordinates run from 1 to "
                   "the size)");
}

Test(frostt, tns_program_is_recognised) {
  const char *want_prefix = "t.tns looks like a TNS program, not FROSTT "
                            "tensor data";
  const char *progs[] = {
      "# attention\nQ = randn(f32[128, 64], 1)\n",
      "def f(x: f64[n]) -> f64[n] {\n  return x\n}\n",
      "import std.nn\n",
      "1 1 1 1.0\nY[i] = A[i, j] * x[j]\n",
  };
  for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
    const char *m = load_fails(progs[i], TNS_ERR_FORMAT);
    cr_assert(!strncmp(m, want_prefix, strlen(want_prefix)), "%s", m);
  }
  cr_assert_str_eq(load_fails("# attention\nQ = randn(f32[128, 64], 1)\n",
                              TNS_ERR_FORMAT),
                   "t.tns looks like a TNS program, not FROSTT tensor data "
                   "(line 2: Q = randn(f32[128, 64], 1))");
}

Test(frostt, binary_file) {
  const char bin[] = "\x93NUMPY\x01\x00v\x00{'descr': '<f8'}\n\0\0\0";
  const char *p = tmp_write_n(bin, sizeof bin);
  int64_t dims[1] = {3};
  double out[3] = {0};
  cr_assert_eq(tns_frostt_load(p, 1, dims, out), TNS_ERR_FORMAT);
  /* the message never quotes raw bytes */
  const char *m = tns_last_error();
  for (const char *c = m; *c; c++)
    cr_assert(*c >= 32 && *c < 127, "unprintable byte in: %s", m);
  p = tmp_write_n("1 2\n\0\0\x01 5\n", 10);
  cr_assert_eq(tns_frostt_load(p, 1, dims, out), TNS_ERR_FORMAT);
  cr_assert(strstr(tns_last_error(), ":2: the line contains a NUL byte"));
}

Test(frostt, bad_arguments) {
  int64_t dims[2] = {2, -1};
  double out[4];
  cr_assert_eq(tns_frostt_load("x", 0, dims, out), TNS_ERR_ARG);
  cr_assert_eq(tns_frostt_load("x", 2, dims, out), TNS_ERR_ARG);
  cr_assert_eq(tns_frostt_load("x", 1, dims, NULL), TNS_ERR_ARG);
}

Test(frostt, looks_like_frostt) {
  const char *yes[] = {
      "1 2 3 1.5\n4 5 6 -2e3\n",
      "# comment\n\n1 1 0.5\n  10\t2   7\n",
      "3 1\n",
      "1 1 1 nan\n",
  };
  const char *no[] = {
      "",
      "# only comments\n\n",
      "A = load(\"a.npy\")\n",
      "1 2 3 1.5\n4 5 6\n",    /* field counts differ */
      "1.5 2 3\n",             /* leading field not an integer */
      "7\n8\n",                /* one field */
      "1 2 x\n",
      "def f() { }\n",
  };
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    cr_assert_eq(tns_looks_like_frostt(yes[i], strlen(yes[i])), 1, "%s",
                 yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    cr_assert_eq(tns_looks_like_frostt(no[i], strlen(no[i])), 0, "%s",
                 no[i]);
  cr_assert_eq(tns_looks_like_frostt(NULL, 0), 0);
  cr_assert_eq(tns_looks_like_frostt("1 2 3\0 4", 8), 0);
}

/* Only the first few KB are examined; a cut-off last line is ignored. */
Test(frostt, looks_like_frostt_large_input) {
  size_t n = 0, cap = 20000;
  char *text = malloc(cap);
  for (int i = 1; n + 40 < cap; i++)
    n += (size_t)snprintf(text + n, cap - n, "%d %d 0.%d\n", i, i + 1, i);
  cr_assert_eq(tns_looks_like_frostt(text, n), 1);
  text[n - 1] = 'x'; /* garbage far past the sniffed prefix */
  cr_assert_eq(tns_looks_like_frostt(text, n), 1);
  text[10] = '=';
  cr_assert_eq(tns_looks_like_frostt(text, n), 0);
  free(text);
}
