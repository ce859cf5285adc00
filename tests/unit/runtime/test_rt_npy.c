/* Tests for runtime/npy.c: NumPy .npy load/save and annotation checks.
 * Fixtures in data/rt_*.npy were written by numpy 1.24
 * (data/rt_make_fixtures.py); corrupt files are built here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tns_runtime.h"

/* mkstemp's pattern: six capital X */
#define MKSTEMP_SUFFIX "X" "X" "X" "X" "X" "X"

#define DATA TNS_TEST_DIR "/unit/data/"

static char tmp_path[64];

/* Writes n bytes to a fresh temporary file; returns its path. */
static const char *tmp_write(const void *bytes, size_t n) {
  snprintf(tmp_path, sizeof tmp_path, "/tmp/tns_rt_npy_" MKSTEMP_SUFFIX);
  int fd = mkstemp(tmp_path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, bytes, n), (ssize_t)n);
  close(fd);
  return tmp_path;
}

/* A version-1.0 .npy file with the given header text and data. */
static const char *npy_with(const char *header, const void *data,
                            size_t ndata) {
  static unsigned char buf[4096];
  size_t h = strlen(header);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(h & 0xff);
  buf[9] = (unsigned char)(h >> 8);
  memcpy(buf + 10, header, h);
  if (ndata)
    memcpy(buf + 10 + h, data, ndata);
  return tmp_write(buf, 10 + h + ndata);
}

/* Loads path expecting failure with code; returns the message. */
static const char *load_fails(const char *path, int code) {
  TnsArray a;
  int st = tns_npy_load(path, &a);
  cr_assert_eq(st, code, "status %d (%s), message: %s", st,
               tns_status_name(st), tns_last_error());
  cr_assert_null(a.data);
  return tns_last_error();
}

/* Reads a whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  unsigned char *buf = malloc(1 << 16);
  *n = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

Test(npy, load_f64_matrix) {
  TnsArray a;
  cr_assert_eq(tns_npy_load(DATA "rt_f64_2x3.npy", &a), TNS_OK, "%s",
               tns_last_error());
  cr_assert_eq(a.dtype, TNS_F64);
  cr_assert_eq(a.rank, 2);
  cr_assert_eq(a.dims[0], 2);
  cr_assert_eq(a.dims[1], 3);
  const double *d = a.data;
  for (int i = 0; i < 6; i++)
    cr_assert_eq(d[i], 0.5 * i);
  cr_assert_eq((uintptr_t)a.data % 64, 0);
  tns_array_free(&a);
  cr_assert_null(a.data);
}

Test(npy, load_other_dtypes) {
  TnsArray a;
  cr_assert_eq(tns_npy_load(DATA "rt_f32_4.npy", &a), TNS_OK);
  cr_assert_eq(a.dtype, TNS_F32);
  cr_assert_eq(a.rank, 1);
  cr_assert_eq(a.dims[0], 4);
  cr_assert_eq(((float *)a.data)[1], -2.5f);
  cr_assert_eq(((float *)a.data)[3], 1e-3f);
  tns_array_free(&a);

  cr_assert_eq(tns_npy_load(DATA "rt_i32_2x2x2.npy", &a), TNS_OK);
  cr_assert_eq(a.dtype, TNS_I32);
  cr_assert_eq(a.rank, 3);
  for (int i = 0; i < 8; i++)
    cr_assert_eq(((int32_t *)a.data)[i], i - 3);
  tns_array_free(&a);

  cr_assert_eq(tns_npy_load(DATA "rt_i64_scalar.npy", &a), TNS_OK);
  cr_assert_eq(a.dtype, TNS_I64);
  cr_assert_eq(a.rank, 0);
  cr_assert_eq(((int64_t *)a.data)[0], -7);
  tns_array_free(&a);

  cr_assert_eq(tns_npy_load(DATA "rt_bool_5.npy", &a), TNS_OK);
  cr_assert_eq(a.dtype, TNS_BOOL);
  const uint8_t want[5] = {1, 0, 1, 1, 0};
  cr_assert_arr_eq(a.data, want, 5);
  tns_array_free(&a);
}

Test(npy, load_empty_and_versions) {
  TnsArray a;
  cr_assert_eq(tns_npy_load(DATA "rt_f64_empty.npy", &a), TNS_OK);
  cr_assert_eq(a.rank, 2);
  cr_assert_eq(a.dims[0], 0);
  cr_assert_eq(a.dims[1], 3);
  tns_array_free(&a);
  const char *files[] = {DATA "rt_f64_v2.npy", DATA "rt_f64_v3.npy"};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(tns_npy_load(files[i], &a), TNS_OK, "%s", tns_last_error());
    cr_assert_eq(a.dims[0], 3);
    cr_assert_eq(((double *)a.data)[0], 1.5);
    cr_assert_eq(((double *)a.data)[2], 4.0);
    tns_array_free(&a);
  }
}

/* What we write must be byte for byte what numpy.save wrote. */
Test(npy, save_matches_numpy_bytes) {
  const char *files[] = {"rt_f64_2x3.npy", "rt_f32_4.npy",
                         "rt_i32_2x2x2.npy", "rt_i64_scalar.npy",
                         "rt_bool_5.npy", "rt_f64_empty.npy"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char src[512];
    snprintf(src, sizeof src, DATA "%s", files[i]);
    TnsArray a;
    cr_assert_eq(tns_npy_load(src, &a), TNS_OK);
    const char *out = tmp_write("", 0);
    cr_assert_eq(tns_npy_save(out, a.dtype, a.rank, a.dims, a.data), TNS_OK,
                 "%s", tns_last_error());
    size_t n1, n2;
    unsigned char *want = slurp(src, &n1), *got = slurp(out, &n2);
    cr_assert_eq(n1, n2, "%s: size %zu vs %zu", files[i], n1, n2);
    cr_assert_arr_eq(want, got, n1, "%s differs", files[i]);
    free(want);
    free(got);
    tns_array_free(&a);
    unlink(out);
  }
}

Test(npy, save_load_roundtrip_rank5) {
  int64_t dims[5] = {1, 2, 1, 3, 2};
  double data[12];
  for (int i = 0; i < 12; i++)
    data[i] = i * 1.25 - 3;
  const char *p = tmp_write("", 0);
  cr_assert_eq(tns_npy_save(p, TNS_F64, 5, dims, data), TNS_OK);
  TnsArray a;
  cr_assert_eq(tns_npy_load(p, &a), TNS_OK);
  cr_assert_eq(a.rank, 5);
  cr_assert_arr_eq(a.dims, dims, sizeof dims);
  cr_assert_arr_eq(a.data, data, sizeof data);
  tns_array_free(&a);
}

Test(npy, missing_file) {
  const char *m = load_fails("/nonexistent/dir/x.npy", TNS_ERR_IO);
  cr_assert_str_eq(m, "/nonexistent/dir/x.npy: cannot open: No such file or "
                      "directory");
}

Test(npy, directory) {
  cr_assert_str_eq(load_fails("/tmp", TNS_ERR_IO),
                   "/tmp: cannot read: Is a directory");
}

Test(npy, bad_magic) {
  const char *p = tmp_write("1 2 3\n4 5 6\n", 12);
  char want[256];
  snprintf(want, sizeof want, "%s: not a NumPy .npy file (no \\x93NUMPY "
           "magic at the start)", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  p = tmp_write("", 0);
  snprintf(want, sizeof want, "%s: not a NumPy .npy file (no \\x93NUMPY "
           "magic at the start)", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
}

Test(npy, unsupported_version) {
  const char *p = tmp_write("\x93NUMPY\x04\x00\x10\x00", 10);
  char want[256];
  snprintf(want, sizeof want, "%s: unsupported .npy format version 4.0 "
           "(supported: 1.0, 2.0, 3.0)", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
}

Test(npy, truncated_header) {
  const char *p = tmp_write("\x93NUMPY\x01\x00\x64\x00{'descr'", 18);
  char want[256];
  snprintf(want, sizeof want, "%s: truncated .npy header (100 bytes "
           "announced, 8 present)", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  p = tmp_write("\x93NUMPY\x02\x00\x64", 9); /* length field cut short */
  snprintf(want, sizeof want, "%s: truncated .npy header", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
}

Test(npy, header_does_not_parse) {
  const char *p = npy_with("{'descr': '<f8', 'fortran_order': False, "
                           "'shape': (3 4), }\n", NULL, 0);
  char want[256];
  snprintf(want, sizeof want, "%s: the .npy header does not parse: expected "
           "',' or ')' in the shape near \"4), }?\"", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  p = npy_with("garbage\n", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "does not parse: expected "
                   "'{' near \"garbage?\""));
  p = npy_with("{'descr': '<f8', 'shape': (3,), }\n", NULL, 0);
  snprintf(want, sizeof want, "%s: the .npy header has no 'fortran_order' "
           "entry", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  p = npy_with("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (3,)}\n",
               NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "expected True or False"));
  p = npy_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), "
               "'extra': 1}", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "unexpected key 'extra'"));
  p = npy_with("{'descr': '<f8", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "unterminated string"));
}

Test(npy, fortran_order) {
  char want[256];
  snprintf(want, sizeof want, "%s: Fortran-order arrays are not supported; "
           "save with numpy.ascontiguousarray", DATA "rt_f64_fortran.npy");
  cr_assert_str_eq(load_fails(DATA "rt_f64_fortran.npy", TNS_ERR_FORMAT),
                   want);
  /* 1-D Fortran order is the same layout: accepted */
  double d[2] = {1, 2};
  const char *p = npy_with("{'descr': '<f8', 'fortran_order': True, "
                           "'shape': (2,), }\n", d, sizeof d);
  TnsArray a;
  cr_assert_eq(tns_npy_load(p, &a), TNS_OK);
  tns_array_free(&a);
}

Test(npy, unsupported_dtypes) {
  char want[512];
  snprintf(want, sizeof want, "%s: element type '|u1' (uint8) is not "
           "supported; supported: f32 '<f4', f64 '<f8', i32 '<i4', "
           "i64 '<i8', bool '|b1'", DATA "rt_u8.npy");
  cr_assert_str_eq(load_fails(DATA "rt_u8.npy", TNS_ERR_FORMAT), want);
  snprintf(want, sizeof want, "%s: big-endian data ('>f8') is not "
           "supported; convert with a.astype('<f8')", DATA "rt_f64_be.npy");
  cr_assert_str_eq(load_fails(DATA "rt_f64_be.npy", TNS_ERR_FORMAT), want);
  const char *p = npy_with("{'descr': '<c16', 'fortran_order': False, "
                           "'shape': (1,), }", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT),
                   "'<c16' (complex128) is not supported"));
  p = npy_with("{'descr': [('a', '<f8')], 'fortran_order': False, "
               "'shape': (1,), }", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "structured arrays"));
  p = npy_with("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
               NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "'|O' (object)"));
  /* a size that overflows an int (fuzz_npy): named without a bit count */
  p = npy_with("{'descr': '<f42222222222222', 'fortran_order': False, "
               "'shape': (1,), }", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT),
                   "'<f42222222222222' (float) is not supported"));
}

Test(npy, bad_shapes) {
  char want[256];
  const char *p = npy_with("{'descr': '<f8', 'fortran_order': False, "
                           "'shape': (3, -4), }", NULL, 0);
  snprintf(want, sizeof want, "%s: the shape has a negative dimension (-4)",
           p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  p = npy_with("{'descr': '<f8', 'fortran_order': False, "
               "'shape': (4294967296, 4294967296), }", NULL, 0);
  snprintf(want, sizeof want, "%s: shape (4294967296, 4294967296) is too "
           "large", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  p = npy_with("{'descr': '<f8', 'fortran_order': False, "
               "'shape': (99999999999999999999,), }", NULL, 0);
  cr_assert(strstr(load_fails(p, TNS_ERR_FORMAT), "too large"));
  p = npy_with("{'descr': '<f8', 'fortran_order': False, 'shape': "
               "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }", NULL, 0);
  snprintf(want, sizeof want, "%s: rank above 16 is not supported", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
}

Test(npy, truncated_data) {
  double d[5] = {0};
  const char *p = npy_with("{'descr': '<f8', 'fortran_order': False, "
                           "'shape': (3, 4), }\n", d, sizeof d);
  char want[256];
  snprintf(want, sizeof want, "%s: truncated: shape (3, 4) needs 96 bytes "
           "of data, file has 40", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
  /* a huge shape over a tiny file is reported as truncated, not OOM */
  p = npy_with("{'descr': '<f8', 'fortran_order': False, "
               "'shape': (100000000000,), }\n", d, 8);
  snprintf(want, sizeof want, "%s: truncated: shape (100000000000,) needs "
           "800000000000 bytes of data, file has 8", p);
  cr_assert_str_eq(load_fails(p, TNS_ERR_FORMAT), want);
}

Test(npy, header_variants_accepted) {
  int32_t d[3] = {4, 5, 6};
  const char *p = npy_with("{\"shape\": (3L,),\"descr\":\"<i4\" , "
                           "\"fortran_order\":False}    \n", d, sizeof d);
  TnsArray a;
  cr_assert_eq(tns_npy_load(p, &a), TNS_OK, "%s", tns_last_error());
  cr_assert_eq(a.dtype, TNS_I32);
  cr_assert_eq(a.rank, 1);
  cr_assert_eq(a.dims[0], 3);
  cr_assert_arr_eq(a.data, d, sizeof d);
  tns_array_free(&a);
  uint8_t b[3] = {0, 2, 255}; /* nonzero bytes are True */
  p = npy_with("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
               b, 3);
  cr_assert_eq(tns_npy_load(p, &a), TNS_OK);
  const uint8_t want[3] = {0, 1, 1};
  cr_assert_arr_eq(a.data, want, 3);
  tns_array_free(&a);
}

Test(npy, save_errors) {
  double d[2] = {1, 2};
  int64_t dims[1] = {2};
  cr_assert_eq(tns_npy_save("/nonexistent/dir/y.npy", TNS_F64, 1, dims, d),
               TNS_ERR_IO);
  cr_assert_str_eq(tns_last_error(), "/nonexistent/dir/y.npy: cannot open "
                   "for writing: No such file or directory");
  cr_assert_eq(tns_npy_save("/tmp/x.npy", (TnsDtype)9, 1, dims, d),
               TNS_ERR_ARG);
  int64_t neg[1] = {-1};
  cr_assert_eq(tns_npy_save("/tmp/x.npy", TNS_F64, 1, neg, d), TNS_ERR_ARG);
  cr_assert_eq(tns_npy_save("/tmp/x.npy", TNS_F64, 1, dims, NULL),
               TNS_ERR_ARG);
  cr_assert_eq(tns_npy_save("/dev/full", TNS_F64, 1, dims, d), TNS_ERR_IO);
  cr_assert_str_eq(tns_last_error(), "/dev/full: write failed: No space left "
                   "on device");
}

Test(npy, array_check_messages) {
  TnsArray a;
  cr_assert_eq(tns_npy_load(DATA "rt_f64_2x3.npy", &a), TNS_OK);
  int64_t ok[2] = {2, 3}, any[2] = {-1, 3}, bad[2] = {2, 5};
  cr_assert_eq(tns_array_check(&a, TNS_F64, 2, ok, "a.npy"), TNS_OK);
  cr_assert_eq(tns_array_check(&a, TNS_F64, 2, any, "a.npy"), TNS_OK);
  cr_assert_eq(tns_array_check(&a, TNS_F64, 2, NULL, "a.npy"), TNS_OK);
  cr_assert_eq(tns_array_check(&a, TNS_F32, 2, ok, "a.npy"), TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(),
                   "a.npy: holds f64 but the annotation says f32");
  cr_assert_eq(tns_array_check(&a, TNS_F64, 2, bad, "a.npy"), TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(),
                   "a.npy: has shape (2, 3) but the annotation says (2, 5)");
  int64_t any_bad[2] = {-1, 4};
  cr_assert_eq(tns_array_check(&a, TNS_F64, 2, any_bad, "a.npy"),
               TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(),
                   "a.npy: has shape (2, 3) but the annotation says (2, 4)");
  int64_t three[3] = {2, 3, 1};
  cr_assert_eq(tns_array_check(&a, TNS_F64, 3, three, "a.npy"),
               TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(), "a.npy: has shape (2, 3) but the "
                   "annotation says (2, 3, 1)");
  cr_assert_eq(tns_array_check(&a, TNS_F64, 1, NULL, "a.npy"), TNS_ERR_SHAPE);
  cr_assert_str_eq(tns_last_error(), "a.npy: has shape (2, 3) (rank 2) but "
                   "the annotation says rank 1");
  tns_array_free(&a);
}
