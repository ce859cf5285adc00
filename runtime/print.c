/* print.c — NumPy-compatible text for arrays and scalars.
 *
 * Follows numpy/core/arrayprint.py (default printoptions: precision 8,
 * floatmode 'maxprec', threshold 1000, edgeitems 3, linewidth 75):
 * one format per array decided from the elements that are shown, then
 * _formatArray's bracket nesting and line wrapping. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

enum { PRECISION = 8, THRESHOLD = 1000, EDGE = 3, LINE_WIDTH = 75 };

/* ---- Growable string ---- */

typedef struct Buf {
  char *p;
  size_t len, cap;
  int oom;
} Buf;

/* Appends n bytes; on failure remembers it and drops further output. */
static void buf_putn(Buf *b, const char *s, size_t n) {
  if (b->oom || n == 0)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_putn(b, s, strlen(s)); }

/* Appends n copies of c (padding). */
static void buf_fill(Buf *b, char c, int n) {
  for (int i = 0; i < n; i++)
    buf_putn(b, &c, 1);
}

/* Drops trailing spaces (Python's str.rstrip on a wrapped line). */
static void buf_rstrip(Buf *b) {
  while (b->len > 0 && b->p[b->len - 1] == ' ')
    b->p[--b->len] = '\0';
}

/* ---- Float text pieces ---- */

/* A finite float split as NumPy's Dragon4 prints it: sign and integer
 * digits, fraction digits, and (scientific only) the decimal exponent. */
typedef struct Parts {
  char ip[400];
  char fp[400];
  int exp;
} Parts;

/* Positional pieces of digits d: "-12" and "5" for -12.5. */
static void parts_positional(const TnsDigits *d, Parts *out) {
  int k = 0, e = d->exp10;
  if (d->neg)
    out->ip[k++] = '-';
  if (e <= 0)
    out->ip[k++] = '0';
  for (int i = 0; i < e; i++)
    out->ip[k++] = i < d->n ? d->d[i] : '0';
  out->ip[k] = '\0';
  k = 0;
  for (int i = e; i < 0; i++)
    out->fp[k++] = '0';
  for (int i = e > 0 ? e : 0; i < d->n; i++)
    out->fp[k++] = d->d[i];
  out->fp[k] = '\0';
  out->exp = 0;
}

/* Scientific pieces: "-1", "25", exponent 3 for -1.25e+03. */
static void parts_scientific(const TnsDigits *d, Parts *out) {
  int k = 0;
  if (d->neg)
    out->ip[k++] = '-';
  out->ip[k++] = d->n ? d->d[0] : '0';
  out->ip[k] = '\0';
  k = 0;
  for (int i = 1; i < d->n; i++)
    out->fp[k++] = d->d[i];
  out->fp[k] = '\0';
  out->exp = d->n ? d->exp10 - 1 : 0;
}

/* Positional digits as numpy prints array elements (dragon4_positional,
 * precision 8, min_digits 0): the integer part exactly, then the fewest
 * fraction digits (at most PRECISION) that identify the value. */
static void float_parts_pos(double x, int is_f32, Parts *out) {
  TnsDigits d;
  tnsi_shortest(x, is_f32, &d);
  if (d.exp10 > d.n) /* shortest stops left of the units digit */
    tnsi_digits_fixed(x, 0, &d);
  else if (d.n - d.exp10 > PRECISION)
    tnsi_digits_fixed(x, PRECISION, &d);
  parts_positional(&d, out);
}

/* Scientific digits. frac < 0: the first pass of fillFormat (fewest
 * digits that identify the value, at most PRECISION after the point);
 * else the printing pass (min_digits = precision = frac: the exact value
 * correctly rounded to frac digits after the point). */
static void float_parts_sci(double x, int is_f32, int frac, Parts *out) {
  TnsDigits d;
  if (frac >= 0) {
    tnsi_digits_sig(x, frac + 1, &d);
  } else {
    tnsi_shortest(x, is_f32, &d);
    if (d.n > PRECISION + 1)
      tnsi_digits_sig(x, PRECISION + 1, &d);
  }
  parts_scientific(&d, out);
}

/* Decimal digits in |e|, at least 2 (Dragon4's default exponent width). */
static int exp_digits(int e) {
  int n = 1;
  for (e = abs(e); e >= 10; e /= 10)
    n++;
  return n < 2 ? 2 : n;
}

/* ---- One format per array ---- */

typedef struct Fmt {
  TnsDtype dtype;
  int sci;       /* floats: exponential notation */
  int pad_left;  /* floats: width of sign + integer part */
  int pad_right; /* floats: width after the point (positional) */
  int precision; /* floats, scientific: fraction digits */
  int exp_size;  /* floats, scientific: exponent digits */
  int width;     /* ints: column width */
} Fmt;

/* Element i as a double (floats) — f32 values convert exactly. */
static double elem_f(TnsDtype t, const void *data, int64_t i) {
  return t == TNS_F32 ? (double)((const float *)data)[i]
                      : ((const double *)data)[i];
}

/* Element i of an integer or bool array. */
static int64_t elem_i(TnsDtype t, const void *data, int64_t i) {
  switch (t) {
  case TNS_I32: return ((const int32_t *)data)[i];
  case TNS_I64: return ((const int64_t *)data)[i];
  default: return ((const uint8_t *)data)[i] != 0;
  }
}

/* The elements print shows: all, or EDGE at each end of every longer axis
 * when the array is summarised. Calls fn on each shown flat index. */
typedef void (*VisitFn)(void *ctx, int64_t flat);

static void visit(int rank, const int64_t *dims, int summary, int axis,
                  int64_t base, VisitFn fn, void *ctx) {
  if (axis == rank) {
    fn(ctx, base);
    return;
  }
  int64_t n = dims[axis];
  int cut = summary && n > 2 * EDGE;
  for (int64_t i = 0; i < n; i++) {
    if (cut && i == EDGE)
      i = n - EDGE;
    visit(rank, dims, summary, axis + 1, base * n + i, fn, ctx);
  }
}

/* What fillFormat gathers over the shown elements. */
typedef struct Scan {
  TnsDtype t;
  const void *data;
  Fmt *fmt;
  int nonzero;         /* finite nonzero values seen */
  double maxv, minv;   /* their largest and smallest magnitude */
  int finite, nonfinite, neg_inf;
  int64_t imax, imin;  /* integer range */
  int seen;
} Scan;

/* Pass 1: magnitude range of the finite values, integer range. */
static void scan_range(void *ctx, int64_t i) {
  Scan *s = ctx;
  if (s->t != TNS_F32 && s->t != TNS_F64) {
    int64_t v = elem_i(s->t, s->data, i);
    s->imax = (!s->seen || v > s->imax) ? v : s->imax;
    s->imin = (!s->seen || v < s->imin) ? v : s->imin;
    s->seen = 1;
    return;
  }
  double x = elem_f(s->t, s->data, i);
  if (!isfinite(x)) {
    s->nonfinite++;
    s->neg_inf |= (isinf(x) && x < 0);
    return;
  }
  s->finite++;
  double a = fabs(x);
  if (a == 0)
    return;
  s->maxv = (!s->nonzero || a > s->maxv) ? a : s->maxv;
  s->minv = (!s->nonzero || a < s->minv) ? a : s->minv;
  s->nonzero = 1;
}

/* Pass 2: widths of the pieces each finite value prints as. */
static void scan_widths(void *ctx, int64_t i) {
  Scan *s = ctx;
  double x = elem_f(s->t, s->data, i);
  if (!isfinite(x))
    return;
  Parts p;
  Fmt *f = s->fmt;
  if (f->sci)
    float_parts_sci(x, s->t == TNS_F32, -1, &p);
  else
    float_parts_pos(x, s->t == TNS_F32, &p);
  int il = (int)strlen(p.ip), fl = (int)strlen(p.fp);
  f->pad_left = il > f->pad_left ? il : f->pad_left;
  if (f->sci) {
    f->precision = fl > f->precision ? fl : f->precision;
    int es = exp_digits(p.exp);
    f->exp_size = es > f->exp_size ? es : f->exp_size;
  } else {
    f->pad_right = fl > f->pad_right ? fl : f->pad_right;
  }
}

/* numpy's rule for exponential notation (FloatingFormat.fillFormat);
 * float32 divides in float32 as numpy does. */
static int wants_sci(const Scan *s) {
  if (!s->nonzero)
    return 0;
  double ratio = s->t == TNS_F32 ? (double)((float)s->maxv / (float)s->minv)
                                 : s->maxv / s->minv;
  return s->maxv >= 1e8 || s->minv < 1e-4 || ratio > 1000.0;
}

/* Text widths of an int64 in decimal. */
static int int_width(int64_t v) {
  char tmp[32];
  return snprintf(tmp, sizeof tmp, "%lld", (long long)v);
}

/* Decides the element format for the shown part of an array. */
static void fmt_fill(Fmt *f, TnsDtype t, int rank, const int64_t *dims,
                     int summary, const void *data) {
  Scan s = {.t = t, .data = data, .fmt = f};
  memset(f, 0, sizeof *f);
  f->dtype = t;
  visit(rank, dims, summary, 0, 0, scan_range, &s);
  if (t == TNS_I32 || t == TNS_I64) {
    int a = int_width(s.imax), b = int_width(s.imin);
    f->width = a > b ? a : b;
    return;
  }
  if (t != TNS_F32 && t != TNS_F64)
    return;
  f->sci = wants_sci(&s);
  if (s.finite)
    visit(rank, dims, summary, 0, 0, scan_widths, &s);
  if (f->sci)
    f->pad_right = f->exp_size + 2 + f->precision;
  if (s.nonfinite) { /* room for nan / inf / -inf */
    int offset = f->pad_right + 1, inflen = 3 + (s.neg_inf ? 1 : 0);
    if (3 - offset > f->pad_left)
      f->pad_left = 3 - offset;
    if (inflen - offset > f->pad_left)
      f->pad_left = inflen - offset;
  }
}

/* ---- Elements ---- */

/* One float in the array's format (FloatingFormat.__call__). */
static void put_float(Buf *b, const Fmt *f, double x) {
  if (!isfinite(x)) {
    const char *s = isnan(x) ? "nan" : x < 0 ? "-inf" : "inf";
    buf_fill(b, ' ', f->pad_left + f->pad_right + 1 - (int)strlen(s));
    buf_puts(b, s);
    return;
  }
  Parts p;
  if (f->sci)
    float_parts_sci(x, f->dtype == TNS_F32, f->precision, &p);
  else
    float_parts_pos(x, f->dtype == TNS_F32, &p);
  int il = (int)strlen(p.ip), fl = (int)strlen(p.fp);
  buf_fill(b, ' ', f->pad_left - il);
  buf_puts(b, p.ip);
  buf_puts(b, ".");
  buf_puts(b, p.fp);
  if (f->sci) {
    char e[16];
    buf_fill(b, '0', f->precision - fl);
    snprintf(e, sizeof e, "e%c%0*d", p.exp < 0 ? '-' : '+', f->exp_size,
             abs(p.exp));
    buf_puts(b, e);
  } else {
    buf_fill(b, ' ', f->pad_right - fl);
  }
}

/* One element of any dtype, padded to the array's column width. */
static void put_elem(Buf *b, const Fmt *f, const void *data, int64_t i) {
  char tmp[32];
  switch (f->dtype) {
  case TNS_F32:
  case TNS_F64:
    put_float(b, f, elem_f(f->dtype, data, i));
    return;
  case TNS_BOOL: /* " True" so that columns line up with "False" */
    buf_puts(b, elem_i(f->dtype, data, i) ? " True" : "False");
    return;
  default:
    snprintf(tmp, sizeof tmp, "%*lld", f->width,
             (long long)elem_i(f->dtype, data, i));
    buf_puts(b, tmp);
  }
}

/* ---- Layout (numpy's _formatArray) ---- */

typedef struct Layout {
  const Fmt *fmt;
  const void *data;
  int rank;
  const int64_t *dims;
  int summary;
} Layout;

/* _extendLine: appends word to line, first moving line into s when the
 * word would pass width (unless the line holds only the indent). */
static void extend_line(Buf *s, Buf *line, const char *word, int width,
                        int hang) {
  int len = (int)line->len;
  if (len + (int)strlen(word) > width && len > hang) {
    buf_rstrip(line);
    buf_putn(s, line->p, line->len);
    buf_puts(s, "\n");
    line->len = 0;
    buf_fill(line, ' ', hang);
  }
  buf_puts(line, word);
}

/* The last axis: elements separated by spaces, wrapped at width. */
static void layout_row(const Layout *L, Buf *out, int64_t base, int hang,
                       int width) {
  Buf s = {0}, line = {0}, word = {0};
  int64_t n = L->dims[L->rank - 1];
  int cut = L->summary && n > 2 * EDGE;
  buf_fill(&line, ' ', hang);
  for (int64_t i = 0; i < n; i++) {
    if (cut && i == EDGE) {
      extend_line(&s, &line, "...", width - 1, hang);
      buf_puts(&line, " ");
      i = n - EDGE;
    }
    word.len = 0;
    put_elem(&word, L->fmt, L->data, base * n + i);
    extend_line(&s, &line, word.p ? word.p : "", width - 1, hang);
    if (i + 1 < n)
      buf_puts(&line, " ");
  }
  buf_putn(&s, line.p, line.len);
  buf_puts(out, "[");
  if (s.p && s.len > (size_t)hang)
    buf_putn(out, s.p + hang, s.len - (size_t)hang);
  buf_puts(out, "]");
  out->oom |= s.oom | line.oom | word.oom;
  free(s.p);
  free(line.p);
  free(word.p);
}

/* Axis `axis` of the array at flat block `base`: rows of the next axis,
 * separated by newlines (one more per remaining axis beyond the rows). */
static void layout_axis(const Layout *L, Buf *out, int axis, int64_t base,
                        int hang, int width) {
  if (axis == L->rank - 1) {
    layout_row(L, out, base, hang, width);
    return;
  }
  int64_t n = L->dims[axis];
  int cut = L->summary && n > 2 * EDGE;
  int newlines = L->rank - axis - 1;
  buf_puts(out, "[");
  for (int64_t i = 0; i < n; i++) {
    if (cut && i == EDGE) {
      buf_puts(out, "...");
      buf_fill(out, '\n', newlines);
      buf_fill(out, ' ', hang);
      i = n - EDGE;
    }
    layout_axis(L, out, axis + 1, base * n + i, hang + 1, width - 1);
    if (i + 1 < n) {
      buf_fill(out, '\n', newlines);
      buf_fill(out, ' ', hang);
    }
  }
  buf_puts(out, "]");
}

/* ---- Scalars ---- */

/* numpy's str(np.float64(x)): shortest digits, positional between 1e-4
 * and 1e16 ("1.0", "0.001"), otherwise scientific ("1e-05", "1.5e+16"). */
static void scalar_float(char *buf, size_t size, double x, int is_f32) {
  if (!isfinite(x)) {
    snprintf(buf, size, "%s", isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
    return;
  }
  TnsDigits d;
  Parts p;
  tnsi_shortest(x, is_f32, &d);
  double a = fabs(x);
  if (a == 0 || (a >= 1e-4 && a < 1e16)) {
    parts_positional(&d, &p);
    snprintf(buf, size, "%s.%s", p.ip, p.fp[0] ? p.fp : "0");
    return;
  }
  parts_scientific(&d, &p);
  snprintf(buf, size, "%s%s%se%c%02d", p.ip, p.fp[0] ? "." : "", p.fp,
           p.exp < 0 ? '-' : '+', abs(p.exp));
}

int tns_format_scalar(char *buf, size_t size, TnsDtype dtype,
                      const void *value) {
  char tmp[1024]; /* generous for the compiler; 25 bytes suffice */
  if (!tnsi_dtype_valid(dtype) || !value || !buf)
    return tns_error(TNS_ERR_ARG, "format_scalar: invalid arguments");
  if (dtype == TNS_F32 || dtype == TNS_F64) {
    locale_t old = tnsi_locale_enter();
    scalar_float(tmp, sizeof tmp, elem_f(dtype, value, 0), dtype == TNS_F32);
    tnsi_locale_leave(old);
  }
  else if (dtype == TNS_BOOL)
    snprintf(tmp, sizeof tmp, "%s", elem_i(dtype, value, 0) ? "True" : "False");
  else
    snprintf(tmp, sizeof tmp, "%lld", (long long)elem_i(dtype, value, 0));
  if (strlen(tmp) >= size)
    return tns_error(TNS_ERR_ARG, "format_scalar: buffer of %zu bytes is "
                     "too small", size);
  memcpy(buf, tmp, strlen(tmp) + 1);
  return TNS_OK;
}

int tns_print_scalar(FILE *f, TnsDtype dtype, const void *value) {
  char buf[64];
  int st = tns_format_scalar(buf, sizeof buf, dtype, value);
  if (st)
    return st;
  if (fprintf(f, "%s\n", buf) < 0)
    return tns_error(TNS_ERR_IO, "print: write failed");
  return TNS_OK;
}

/* ---- Arrays ---- */

/* Checks the arguments shared by the array entry points. */
static int check_array_args(TnsDtype dtype, int rank, const int64_t *dims,
                            const void *data, int64_t *count) {
  if (!tnsi_dtype_valid(dtype))
    return tns_error(TNS_ERR_ARG, "print: invalid dtype %d", (int)dtype);
  if (rank < 0 || rank > TNS_MAX_RANK)
    return tns_error(TNS_ERR_ARG, "print: rank %d is outside 0..%d", rank, TNS_MAX_RANK);
  if (rank > 0 && !dims)
    return tns_error(TNS_ERR_ARG, "print: no dimensions for rank %d", rank);
  int st = tns_shape_count(rank, dims, count);
  if (st)
    return st;
  if (*count > 0 && !data)
    return tns_error(TNS_ERR_ARG, "print: no data");
  return TNS_OK;
}

/* Copies a Buf into runtime-owned memory (freed with tns_free). */
static char *buf_finish(Buf *b) {
  if (b->oom) {
    free(b->p);
    tns_error(TNS_ERR_OOM, "out of memory while formatting an array");
    return NULL;
  }
  char *out = tns_alloc((int64_t)b->len + 1);
  if (out && b->len)
    memcpy(out, b->p, b->len);
  free(b->p);
  return out;
}

char *tns_format_array(TnsDtype dtype, int rank, const int64_t *dims,
                       const void *data) {
  int64_t count;
  Buf b = {0};
  if (check_array_args(dtype, rank, dims, data, &count))
    return NULL;
  locale_t old = tnsi_locale_enter();
  if (rank == 0) {
    char tmp[40];
    tns_format_scalar(tmp, sizeof tmp, dtype, data);
    buf_puts(&b, tmp);
  } else if (count == 0) {
    buf_puts(&b, "[]");
  } else {
    Fmt fmt;
    int summary = count > THRESHOLD;
    fmt_fill(&fmt, dtype, rank, dims, summary, data);
    Layout L = {&fmt, data, rank, dims, summary};
    layout_axis(&L, &b, 0, 0, 1, LINE_WIDTH);
  }
  tnsi_locale_leave(old);
  return buf_finish(&b);
}

int tns_print_array(FILE *f, TnsDtype dtype, int rank, const int64_t *dims,
                    const void *data) {
  char *s = tns_format_array(dtype, rank, dims, data);
  if (!s)
    return tns_last_status();
  int bad = fprintf(f, "%s\n", s) < 0;
  tns_free(s);
  return bad ? tns_error(TNS_ERR_IO, "print: write failed") : TNS_OK;
}
