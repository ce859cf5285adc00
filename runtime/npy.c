/* npy.c — NumPy .npy files: load (format 1.0/2.0/3.0), save (1.0, byte
 * for byte what numpy.save writes), and annotation checks.
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE
 * for 2.0/3.0), a Python dict literal {'descr': '<f8', 'fortran_order':
 * False, 'shape': (3, 4), } padded with spaces and '\n', then the data. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt_internal.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER (1 << 20)
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21 /* numpy's spare room for a growing shape */
#define NPY_SUPPORTED "f32 '<f4', f64 '<f8', i32 '<i4', i64 '<i8', bool '|b1'"

/* ---- Header parsing (a tiny Python-literal reader) ---- */

typedef struct Hdr {
  const char *path;
  const char *p, *end; /* unread header text */
  char descr[64];
  int have_descr, have_order, have_shape;
  int fortran;
  int rank;
  int64_t dims[TNS_MAX_RANK];
  int err; /* status once an error is reported */
} Hdr;

/* Reports that the header dict does not parse, quoting a little of it. */
static int hdr_fail(Hdr *h, const char *what) {
  char near[41];
  size_t n = 0;
  for (const char *q = h->p; q < h->end && n < 40; q++)
    near[n++] = isprint((unsigned char)*q) ? *q : '?';
  near[n] = '\0';
  h->err = tns_error(TNS_ERR_FORMAT,
                     "%s: the .npy header does not parse: %s near \"%s\"",
                     h->path, what, near);
  return h->err;
}

static void hdr_skip_ws(Hdr *h) {
  while (h->p < h->end && isspace((unsigned char)*h->p))
    h->p++;
}

/* Consumes c after optional whitespace; 1 if it was there. */
static int hdr_eat(Hdr *h, char c) {
  hdr_skip_ws(h);
  if (h->p < h->end && *h->p == c) {
    h->p++;
    return 1;
  }
  return 0;
}

/* string = "'" chars "'" | '"' chars '"' (no escapes in npy headers) */
static int hdr_string(Hdr *h, char *out, size_t size) {
  hdr_skip_ws(h);
  if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
    return hdr_fail(h, "expected a quoted string");
  char q = *h->p++;
  size_t n = 0;
  while (h->p < h->end && *h->p != q) { /* kept printable for messages */
    if (n + 1 < size)
      out[n++] = isprint((unsigned char)*h->p) ? *h->p : '?';
    h->p++;
  }
  out[n] = '\0';
  if (h->p >= h->end)
    return hdr_fail(h, "unterminated string");
  h->p++;
  return TNS_OK;
}

/* bool = "True" | "False" */
static int hdr_bool(Hdr *h, int *v) {
  hdr_skip_ws(h);
  size_t left = (size_t)(h->end - h->p);
  if (left >= 4 && !strncmp(h->p, "True", 4)) {
    h->p += 4;
    *v = 1;
  } else if (left >= 5 && !strncmp(h->p, "False", 5)) {
    h->p += 5;
    *v = 0;
  } else {
    return hdr_fail(h, "expected True or False");
  }
  return TNS_OK;
}

/* dim = ["-"] digits ["L"]  (Python 2 wrote 3L) */
static int hdr_dim(Hdr *h, int64_t *v) {
  hdr_skip_ws(h);
  int neg = hdr_eat(h, '-');
  if (h->p >= h->end || !isdigit((unsigned char)*h->p))
    return hdr_fail(h, "expected an integer in the shape");
  int64_t x = 0;
  for (; h->p < h->end && isdigit((unsigned char)*h->p); h->p++)
    if (__builtin_mul_overflow(x, 10, &x) ||
        __builtin_add_overflow(x, *h->p - '0', &x))
      return h->err = tns_error(TNS_ERR_FORMAT, "%s: a dimension in the "
                                "shape is too large", h->path);
  if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
    h->p++;
  if (neg)
    return h->err = tns_error(TNS_ERR_FORMAT, "%s: the shape has a "
                              "negative dimension (-%lld)", h->path,
                              (long long)x);
  *v = x;
  return TNS_OK;
}

/* shape = "(" [dim {"," dim} [","]] ")" */
static int hdr_shape(Hdr *h) {
  if (!hdr_eat(h, '('))
    return hdr_fail(h, "expected '(' to start the shape");
  h->rank = 0;
  while (!hdr_eat(h, ')')) {
    if (h->rank == TNS_MAX_RANK)
      return h->err = tns_error(TNS_ERR_FORMAT, "%s: rank above %d is not "
                                "supported", h->path, TNS_MAX_RANK);
    if (hdr_dim(h, &h->dims[h->rank++]))
      return h->err;
    if (!hdr_eat(h, ',')) {
      if (!hdr_eat(h, ')'))
        return hdr_fail(h, "expected ',' or ')' in the shape");
      break;
    }
  }
  return TNS_OK;
}

/* entry = key ":" value, for the three keys a .npy header has. */
static int hdr_entry(Hdr *h) {
  char key[32];
  if (hdr_string(h, key, sizeof key))
    return h->err;
  if (!hdr_eat(h, ':'))
    return hdr_fail(h, "expected ':' after a key");
  if (!strcmp(key, "descr")) {
    hdr_skip_ws(h);
    if (h->p < h->end && *h->p == '[')
      return h->err = tns_error(TNS_ERR_FORMAT, "%s: structured arrays "
                                "(record dtypes) are not supported; "
                                "supported: %s", h->path, NPY_SUPPORTED);
    h->have_descr = 1;
    return hdr_string(h, h->descr, sizeof h->descr);
  }
  if (!strcmp(key, "fortran_order")) {
    h->have_order = 1;
    return hdr_bool(h, &h->fortran);
  }
  if (!strcmp(key, "shape")) {
    h->have_shape = 1;
    return hdr_shape(h);
  }
  return h->err = tns_error(TNS_ERR_FORMAT, "%s: unexpected key '%s' in "
                            "the .npy header", h->path, key);
}

/* dict = "{" {entry ","} [entry] "}" */
static int hdr_parse(Hdr *h) {
  if (!hdr_eat(h, '{'))
    return hdr_fail(h, "expected '{'");
  while (!hdr_eat(h, '}')) {
    if (hdr_entry(h))
      return h->err;
    if (!hdr_eat(h, ',')) {
      if (!hdr_eat(h, '}'))
        return hdr_fail(h, "expected ',' or '}'");
      break;
    }
  }
  const char *missing = !h->have_descr ? "descr"
                        : !h->have_order ? "fortran_order"
                        : !h->have_shape ? "shape" : NULL;
  if (missing)
    return tns_error(TNS_ERR_FORMAT, "%s: the .npy header has no '%s' "
                     "entry", h->path, missing);
  return TNS_OK;
}

/* ---- Element types ---- */

/* numpy's name for a descr such as '<u2' -> "uint16" (for messages). */
static void descr_numpy_name(const char *descr, char *out, size_t size) {
  static const struct { char kind; const char *name; } kinds[] = {
      {'u', "uint"}, {'i', "int"}, {'f', "float"}, {'c', "complex"},
      {'b', "bool"}, {'O', "object"}, {'U', "str"}, {'S', "bytes"},
      {'V', "void"}, {'M', "datetime64"}, {'m', "timedelta64"}};
  const char *k = descr + (strchr("<>|=", descr[0]) && descr[0] ? 1 : 0);
  /* strtol, not atoi: a size such as '<f42222222222222' must not
   * overflow (found by fuzz_npy); past 64 bytes no size is named */
  long bytes = *k ? strtol(k + 1, NULL, 10) : 0;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (*k == kinds[i].kind) {
      if (strchr("uifc", *k) && bytes > 0 && bytes <= 64)
        snprintf(out, size, "%s%ld", kinds[i].name, bytes * 8);
      else
        snprintf(out, size, "%s", kinds[i].name);
      return;
    }
  snprintf(out, size, "unknown");
}

/* Maps a descr to a TnsDtype, or reports why it is not supported. */
static int descr_dtype(const char *path, const char *descr, TnsDtype *out) {
  if (strlen(descr) < 2)
    return tns_error(TNS_ERR_FORMAT, "%s: element type '%s' is not "
                     "supported; supported: %s", path, descr, NPY_SUPPORTED);
  for (int t = 0; t < TNS_DTYPE_COUNT; t++) {
    const char *want = tnsi_dtype_descr((TnsDtype)t);
    int one_byte = want[0] == '|';
    if (!strcmp(descr + 1, want + 1) &&
        (descr[0] == want[0] || descr[0] == '=' ||
         (one_byte && strchr("<>", descr[0])))) {
      *out = (TnsDtype)t;
      return TNS_OK;
    }
  }
  char name[32];
  descr_numpy_name(descr, name, sizeof name);
  for (int t = 0; t < TNS_DTYPE_COUNT; t++)
    if (descr[0] == '>' && !strcmp(descr + 1, tnsi_dtype_descr(t) + 1))
      return tns_error(TNS_ERR_FORMAT, "%s: big-endian data ('%s') is not "
                       "supported; convert with a.astype('<%s')", path,
                       descr, descr + 1);
  return tns_error(TNS_ERR_FORMAT, "%s: element type '%s' (%s) is not "
                   "supported; supported: %s", path, descr, name,
                   NPY_SUPPORTED);
}

/* ---- Loading ---- */

/* Reads the fixed preamble; returns the header length via *hlen. */
static int read_preamble(FILE *f, const char *path, uint32_t *hlen) {
  unsigned char pre[NPY_MAGIC_LEN + 2], len[4];
  size_t got = fread(pre, 1, sizeof pre, f);
  if (ferror(f)) /* e.g. a directory */
    return tns_error(TNS_ERR_IO, "%s: cannot read: %s", path,
                     strerror(errno));
  if (got < NPY_MAGIC_LEN || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN))
    return tns_error(TNS_ERR_FORMAT, "%s: not a NumPy .npy file (no "
                     "\\x93NUMPY magic at the start)", path);
  if (got < sizeof pre)
    return tns_error(TNS_ERR_FORMAT, "%s: truncated .npy header", path);
  int major = pre[6], minor = pre[7];
  if (minor != 0 || major < 1 || major > 3)
    return tns_error(TNS_ERR_FORMAT, "%s: unsupported .npy format version "
                     "%d.%d (supported: 1.0, 2.0, 3.0)", path, major, minor);
  size_t nlen = major == 1 ? 2 : 4;
  if (fread(len, 1, nlen, f) != nlen)
    return tns_error(TNS_ERR_FORMAT, "%s: truncated .npy header", path);
  *hlen = (uint32_t)len[0] | (uint32_t)len[1] << 8;
  if (nlen == 4)
    *hlen |= (uint32_t)len[2] << 16 | (uint32_t)len[3] << 24;
  return TNS_OK;
}

/* Reads and parses the header dict into h. */
static int read_header(FILE *f, Hdr *h) {
  uint32_t hlen = 0;
  int st = read_preamble(f, h->path, &hlen);
  if (st)
    return st;
  if (hlen > NPY_MAX_HEADER)
    return tns_error(TNS_ERR_FORMAT, "%s: .npy header of %u bytes is too "
                     "large (limit %d)", h->path, hlen, NPY_MAX_HEADER);
  char *text = malloc(hlen + 1);
  if (!text)
    return tns_error(TNS_ERR_OOM, "%s: out of memory", h->path);
  size_t got = fread(text, 1, hlen, f);
  if (got != hlen) {
    free(text);
    return tns_error(TNS_ERR_FORMAT, "%s: truncated .npy header (%u bytes "
                     "announced, %zu present)", h->path, hlen, got);
  }
  h->p = text;
  h->end = text + hlen;
  st = hdr_parse(h);
  free(text);
  return st;
}

/* Bytes left in f after the current position, or -1 if unknown. */
static int64_t bytes_left(FILE *f) {
  struct stat sb;
  long pos = ftell(f);
  if (pos < 0 || fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode))
    return -1;
  return (int64_t)sb.st_size - pos;
}

/* "truncated: shape (3, 4) needs 96 bytes of data, file has 40" */
static int truncated(const Hdr *h, int64_t need, int64_t have) {
  char shape[400];
  tnsi_shape_str(shape, sizeof shape, h->rank, h->dims);
  return tns_error(TNS_ERR_FORMAT, "%s: truncated: shape %s needs %lld "
                   "bytes of data, file has %lld", h->path, shape,
                   (long long)need, (long long)have);
}

/* Reads the data block that follows the header. */
static int read_data(FILE *f, const Hdr *h, TnsArray *out) {
  int64_t count, bytes;
  char shape[400];
  tnsi_shape_str(shape, sizeof shape, h->rank, h->dims);
  if (tns_shape_count(h->rank, h->dims, &count) ||
      tns_mul_sizes(count, tns_dtype_size(out->dtype), &bytes))
    return tns_error(TNS_ERR_FORMAT, "%s: shape %s is too large", h->path,
                     shape);
  int64_t left = bytes_left(f);
  if (left >= 0 && left < bytes)
    return truncated(h, bytes, left);
  out->data = tns_alloc(bytes);
  if (!out->data)
    return tns_error(TNS_ERR_OOM, "%s: out of memory for shape %s (%lld "
                     "bytes)", h->path, shape, (long long)bytes);
  size_t got = fread(out->data, 1, (size_t)bytes, f);
  if ((int64_t)got != bytes)
    return ferror(f) ? tns_error(TNS_ERR_IO, "%s: read error: %s", h->path,
                                 strerror(errno))
                     : truncated(h, bytes, (int64_t)got);
  if (out->dtype == TNS_BOOL) /* any nonzero byte is True */
    for (int64_t i = 0; i < bytes; i++)
      ((uint8_t *)out->data)[i] = ((uint8_t *)out->data)[i] != 0;
  return TNS_OK;
}

/* Reads and checks the header: out gets dtype, rank and dims. */
static int load_header(FILE *f, Hdr *h, TnsArray *out) {
  int st = read_header(f, h);
  if (st)
    return st;
  if (h->fortran && h->rank > 1)
    return tns_error(TNS_ERR_FORMAT, "%s: Fortran-order arrays are not "
                     "supported; save with numpy.ascontiguousarray", h->path);
  st = descr_dtype(h->path, h->descr, &out->dtype);
  if (st)
    return st;
  out->rank = h->rank;
  memcpy(out->dims, h->dims, sizeof h->dims);
  return TNS_OK;
}

/* Loads from an open file; on failure out->data may need freeing. */
static int load_file(FILE *f, const char *path, TnsArray *out) {
  Hdr h = {.path = path};
  int st = load_header(f, &h, out);
  return st ? st : read_data(f, &h, out);
}

int tns_npy_peek(const char *path, TnsArray *out) {
  if (!path || !out)
    return tns_error(TNS_ERR_ARG, "npy_peek: NULL argument");
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return tns_error(TNS_ERR_IO, "%s: cannot open: %s", path,
                     strerror(errno));
  Hdr h = {.path = path};
  int st = load_header(f, &h, out);
  fclose(f);
  return st;
}

int tns_npy_load(const char *path, TnsArray *out) {
  if (!path || !out)
    return tns_error(TNS_ERR_ARG, "npy_load: NULL argument");
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return tns_error(TNS_ERR_IO, "%s: cannot open: %s", path,
                     strerror(errno));
  int st = load_file(f, path, out);
  fclose(f);
  if (st)
    tns_array_free(out);
  return st;
}

void tns_array_free(TnsArray *a) {
  if (!a)
    return;
  tns_free(a->data);
  memset(a, 0, sizeof *a);
}

/* ---- Saving ---- */

/* The header numpy 1.24 writes: dict, growth room, padding, newline. */
static int npy_header(char *buf, size_t size, TnsDtype t, int rank,
                      const int64_t *dims) {
  char shape[400], first[32];
  tnsi_shape_str(shape, sizeof shape, rank, dims);
  int n = snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, "
                   "'shape': %s, }", tnsi_dtype_descr(t), shape);
  if (rank > 0)
    n += snprintf(buf + n, size - (size_t)n, "%*s",
                  NPY_GROWTH_DIGITS - snprintf(first, sizeof first, "%lld",
                                               (long long)dims[0]), "");
  int pad = NPY_ALIGN - (NPY_MAGIC_LEN + 4 + n + 1) % NPY_ALIGN;
  n += snprintf(buf + n, size - (size_t)n, "%*s\n", pad, "");
  return n;
}

/* Validates save arguments; *bytes gets the data size. */
static int save_args(const char *path, TnsDtype t, int rank,
                     const int64_t *dims, const void *data, int64_t *bytes) {
  int64_t count;
  if (rank < 0 || rank > TNS_MAX_RANK)
    return tns_error(TNS_ERR_ARG, "npy_save: rank %d is outside 0..%d", rank,
                     TNS_MAX_RANK);
  if (!path || !tnsi_dtype_valid(t) || (rank > 0 && !dims))
    return tns_error(TNS_ERR_ARG, "npy_save: invalid arguments");
  int st = tns_shape_count(rank, dims, &count);
  if (!st)
    st = tns_mul_sizes(count, tns_dtype_size(t), bytes);
  if (!st && *bytes > 0 && !data)
    st = tns_error(TNS_ERR_ARG, "npy_save: no data");
  return st;
}

int tns_npy_save(const char *path, TnsDtype dtype, int rank,
                 const int64_t *dims, const void *data) {
  int64_t bytes;
  char hdr[1024];
  int st = save_args(path, dtype, rank, dims, data, &bytes);
  if (st)
    return st;
  int n = npy_header(hdr, sizeof hdr, dtype, rank, dims);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                           (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
  FILE *f = fopen(path, "wb");
  if (!f)
    return tns_error(TNS_ERR_IO, "%s: cannot open for writing: %s", path,
                     strerror(errno));
  int ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre &&
           fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
           (bytes == 0 || fwrite(data, 1, (size_t)bytes, f) == (size_t)bytes);
  int err = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    err = errno;
  }
  return ok ? TNS_OK : tns_error(TNS_ERR_IO, "%s: write failed: %s", path,
                                 strerror(err));
}

/* ---- Annotation checks ---- */

/* Shape mismatch message; `says` is the annotation as far as known. */
static int shape_mismatch(const TnsArray *a, int rank, const int64_t *says,
                          const char *what) {
  char have[400], want[400];
  tnsi_shape_str(have, sizeof have, a->rank, a->dims);
  if (!says)
    return tns_error(TNS_ERR_SHAPE, "%s: has shape %s (rank %d) but the "
                     "annotation says rank %d", what, have, a->rank, rank);
  tnsi_shape_str(want, sizeof want, rank, says);
  return tns_error(TNS_ERR_SHAPE, "%s: has shape %s but the annotation says "
                   "%s", what, have, want);
}

int tns_array_check(const TnsArray *a, TnsDtype want, int rank,
                    const int64_t *want_dims, const char *what) {
  int64_t shown[TNS_MAX_RANK];
  int bad = 0, all_known = want_dims != NULL;
  what = what ? what : "array";
  if (rank < 0 || rank > TNS_MAX_RANK)
    return tns_error(TNS_ERR_ARG, "array_check: rank %d is outside 0..%d", rank,
                     TNS_MAX_RANK);
  if (!a)
    return tns_error(TNS_ERR_ARG, "array_check: invalid arguments");
  if (a->dtype != want)
    return tns_error(TNS_ERR_SHAPE, "%s: holds %s but the annotation says %s",
                     what, tns_dtype_name(a->dtype), tns_dtype_name(want));
  for (int i = 0; i < rank; i++) { /* a free dim shows the actual size */
    int64_t w = want_dims ? want_dims[i] : -1;
    all_known &= w >= 0;
    shown[i] = w < 0 ? a->dims[i] : w;
    bad |= w >= 0 && a->dims[i] != w;
  }
  if (a->rank != rank)
    return shape_mismatch(a, rank, all_known ? want_dims : NULL, what);
  return bad ? shape_mismatch(a, rank, shown, what) : TNS_OK;
}
