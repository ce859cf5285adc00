/* frostt.c — FROSTT coordinate text ("i1 i2 ... ik value" per line,
 * 1-based, '#' comments) into dense buffers, and a detector the compiler
 * uses to say "this is tensor data, not a program". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#define SNIFF_BYTES 4096
#define FIELD_MAX 400 /* longest number we read */

/* Next whitespace-separated field of [*p, end) (a '#' ends the line);
 * 0 when there is none. */
static int next_field(const char **p, const char *end, const char **tok,
                      size_t *len) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' ||
                     *s == '\f'))
    s++;
  if (s >= end || *s == '#' || *s == '\n') {
    *p = end;
    return 0;
  }
  const char *e = s;
  while (e < end && !isspace((unsigned char)*e) && *e != '#')
    e++;
  *tok = s;
  *len = (size_t)(e - s);
  *p = e;
  return 1;
}

/* A coordinate: decimal digits only. *v saturates at INT64_MAX. */
static int field_int(const char *tok, size_t len, int64_t *v) {
  int64_t x = 0;
  if (len == 0)
    return 0;
  for (size_t i = 0; i < len; i++) {
    if (tok[i] < '0' || tok[i] > '9')
      return 0;
    if (__builtin_mul_overflow(x, 10, &x) ||
        __builtin_add_overflow(x, tok[i] - '0', &x))
      x = INT64_MAX;
  }
  *v = x;
  return 1;
}

/* A value: anything strtod reads completely (1, -2.5e3, nan, inf). */
static int field_num(const char *tok, size_t len, double *v) {
  char buf[FIELD_MAX + 1];
  if (len == 0 || len > FIELD_MAX)
    return 0;
  memcpy(buf, tok, len);
  buf[len] = '\0';
  char *end;
  *v = strtod(buf, &end);
  return end == buf + len;
}

/* Field count of a data line when it is all numbers with integer leading
 * fields; 0 for comment/blank lines, -1 for anything else. */
static int data_line_fields(const char *s, const char *end) {
  const char *tok;
  size_t len;
  int n = 0, last_int = 1, all_num = 1;
  int64_t iv;
  double dv;
  while (next_field(&s, end, &tok, &len)) {
    if (!last_int)
      return -1; /* a non-integer before the value */
    last_int = field_int(tok, len, &iv);
    all_num &= field_num(tok, len, &dv);
    n++;
  }
  return all_num ? n : -1;
}

int tns_looks_like_frostt(const char *text, size_t len) {
  if (!text)
    return 0;
  const char *end = text + (len < SNIFF_BYTES ? len : SNIFF_BYTES);
  if (len > SNIFF_BYTES) /* drop the partial last line */
    while (end > text && end[-1] != '\n')
      end--;
  if (memchr(text, '\0', (size_t)(end - text)))
    return 0;
  int want = 0, ok = 1;
  locale_t old = tnsi_locale_enter();
  for (const char *s = text; s < end && ok;) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *eol = nl ? nl : end;
    int n = data_line_fields(s, eol);
    ok = !(n < 0 || (n > 0 && n < 2) || (n > 0 && want && n != want));
    want = n ? n : want;
    s = eol + 1;
  }
  tnsi_locale_leave(old);
  return ok && want > 0;
}

/* ---- Loading ---- */

/* 1 if a line reads like TNS source: assignments, brackets, keywords. */
static int line_is_program(const char *s, size_t len) {
  static const char *const words[] = {"def ", "import ", "print(",
                                      "return ", "for ", "while ", "if "};
  while (len && isspace((unsigned char)*s)) {
    s++;
    len--;
  }
  for (size_t i = 0; i < len && s[i] != '#'; i++)
    if (strchr("=[](){}", s[i]))
      return 1;
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (len >= strlen(words[i]) && !strncmp(s, words[i], strlen(words[i])))
      return 1;
  return 0;
}

/* Printable, shortened copy of s[0..len) for messages, without the
 * trailing newline. */
static void quote(char *out, size_t size, const char *s, size_t len) {
  size_t n = 0;
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  for (size_t i = 0; i < len && n + 4 < size; i++)
    out[n++] = isprint((unsigned char)s[i]) ? s[i] : '?';
  if (n < len) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
}

typedef struct Reader {
  const char *path;
  int rank;
  const int64_t *dims;
  double *out;
  long line;
} Reader;

/* A line that is not data: say so for a program, else give msg. */
static int not_data(const Reader *r, const char *s, size_t len,
                    const char *msg) {
  char q[64];
  if (line_is_program(s, len)) {
    quote(q, sizeof q, s, len);
    return tns_error(TNS_ERR_FORMAT, "%s looks like a TNS program, not "
                     "FROSTT tensor data (line %ld: %s)", r->path, r->line, q);
  }
  return tns_error(TNS_ERR_FORMAT, "%s:%ld: %s", r->path, r->line, msg);
}

/* Row-major offset of the coordinates in tok[0..rank). */
static int line_offset(const Reader *r, const char *s, size_t len,
                       const char **tok, const size_t *tl, int64_t *flat) {
  char msg[256], q[64];
  int64_t off = 0, c;
  for (int d = 0; d < r->rank; d++) {
    if (!field_int(tok[d], tl[d], &c)) {
      quote(q, sizeof q, tok[d], tl[d]);
      snprintf(msg, sizeof msg, "coordinate %d is \"%s\", not a positive "
               "integer", d + 1, q);
      return not_data(r, s, len, msg);
    }
    if (c < 1 || c > r->dims[d]) {
      quote(q, sizeof q, tok[d], tl[d]);
      return tns_error(TNS_ERR_FORMAT, "%s:%ld: coordinate %d is %s, but "
                       "dimension %d has size %lld (FROSTT coordinates run "
                       "from 1 to the size)", r->path, r->line, d + 1, q, d,
                       (long long)r->dims[d]);
    }
    off = off * r->dims[d] + (c - 1);
  }
  *flat = off;
  return TNS_OK;
}

/* line = {coordinate} value, or a blank/comment line. */
static int parse_line(const Reader *r, const char *s, size_t len) {
  const char *tok[TNS_MAX_RANK + 1], *t, *p = s;
  size_t tl[TNS_MAX_RANK + 1], l;
  char msg[256], q[64];
  int n = 0;
  while (next_field(&p, s + len, &t, &l)) {
    if (n <= r->rank) {
      tok[n] = t;
      tl[n] = l;
    }
    n++;
  }
  if (n == 0)
    return TNS_OK;
  if (memchr(s, '\0', len))
    return tns_error(TNS_ERR_FORMAT, "%s:%ld: the line contains a NUL byte; "
                     "this is not a FROSTT text file", r->path, r->line);
  if (n != r->rank + 1) {
    snprintf(msg, sizeof msg, "expected %d fields (%d coordinates and a "
             "value), found %d", r->rank + 1, r->rank, n);
    return not_data(r, s, len, msg);
  }
  int64_t flat = 0;
  double v;
  int st = line_offset(r, s, len, tok, tl, &flat);
  if (st)
    return st;
  if (!field_num(tok[r->rank], tl[r->rank], &v)) {
    quote(q, sizeof q, tok[r->rank], tl[r->rank]);
    snprintf(msg, sizeof msg, "value \"%s\" is not a number", q);
    return not_data(r, s, len, msg);
  }
  r->out[flat] += v;
  return TNS_OK;
}

/* Checks rank, dims and out before reading. */
static int frostt_args(const char *path, int rank, const int64_t *dims,
                       const double *out) {
  int64_t count;
  if (rank < 1 || rank > TNS_MAX_RANK)
    return tns_error(TNS_ERR_ARG, "load_frostt: rank %d is outside 1..%d", rank,
                     TNS_MAX_RANK);
  if (!path || !dims || !out)
    return tns_error(TNS_ERR_ARG, "load_frostt: invalid arguments");
  return tns_shape_count(rank, dims, &count);
}

int tns_frostt_load(const char *path, int rank, const int64_t *dims,
                    double *out) {
  int st = frostt_args(path, rank, dims, out);
  if (st)
    return st;
  FILE *f = fopen(path, "rb");
  if (!f)
    return tns_error(TNS_ERR_IO, "%s: cannot open: %s", path,
                     strerror(errno));
  Reader r = {path, rank, dims, out, 0};
  locale_t old = tnsi_locale_enter(); /* strtod reads '.' decimals */
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while (!st && (len = getline(&line, &cap, f)) >= 0) {
    r.line++;
    st = parse_line(&r, line, (size_t)len);
  }
  if (!st && ferror(f))
    st = tns_error(TNS_ERR_IO, "%s: read error: %s", path, strerror(errno));
  tnsi_locale_leave(old);
  free(line);
  fclose(f);
  return st;
}
