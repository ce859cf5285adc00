/* fmtfloat.c — decimal digits of binary floats: shortest round-trip
 * digits (what NumPy's Dragon4 "unique" mode and Python's repr produce)
 * and correctly rounded fixed/scientific digits (glibc printf is exact). */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* Parses printf output ("-12.50", "1.25e+03") into normalised digits. */
static void digits_parse(const char *s, TnsDigits *out) {
  int n = 0, point = -1, exp = 0, lead = 1, skipped = 0;
  out->neg = (*s == '-');
  if (*s == '-' || *s == '+')
    s++;
  for (; *s && *s != 'e' && *s != 'E'; s++) {
    if (*s == '.') {
      point = n + skipped;
      continue;
    }
    if (lead && *s == '0') { /* leading zeros only move the point */
      skipped++;
      continue;
    }
    lead = 0;
    if (n < (int)sizeof out->d)
      out->d[n++] = *s;
  }
  if (*s)
    exp = atoi(s + 1);
  int intdigits = (point < 0 ? n + skipped : point);
  while (n > 0 && out->d[n - 1] == '0')
    n--;
  out->n = n;
  out->exp10 = n ? intdigits - skipped + exp : 0;
}

/* 1 if the decimal text reads back as exactly x (as float when is_f32). */
static int round_trips(const char *text, double x, int is_f32) {
  if (is_f32)
    return strtof(text, NULL) == (float)x;
  return strtod(text, NULL) == x;
}

/* Tries p significant digits: the correctly rounded candidate first, then
 * its two neighbours (needed where the rounding interval is lopsided, at
 * powers of two). Writes the winner into buf and returns 1, else 0. */
static int try_precision(double x, int p, int is_f32, char *buf, size_t n) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
  if (round_trips(tmp, x, is_f32)) {
    snprintf(buf, n, "%s", tmp);
    return 1;
  }
  char *e = strchr(tmp, 'e');
  int exp = atoi(e + 1);
  *e = '\0';
  unsigned long long m = 0;
  for (const char *s = tmp; *s; s++)
    if (*s >= '0' && *s <= '9')
      m = m * 10 + (unsigned long long)(*s - '0');
  const char *sign = (x < 0) ? "-" : "";
  unsigned long long cand[2] = {m - 1, m + 1};
  for (int i = 0; i < 2; i++) {
    snprintf(buf, n, "%s%llue%d", sign, cand[i], exp - (p - 1));
    if (round_trips(buf, x, is_f32))
      return 1;
  }
  return 0;
}

void tnsi_shortest(double x, int is_f32, TnsDigits *out) {
  char buf[64];
  int maxp = is_f32 ? 9 : 17;
  if (is_f32)
    x = (double)(float)x;
  if (x == 0) {
    out->n = 0;
    out->exp10 = 0;
    out->neg = signbit(x) != 0;
    return;
  }
  for (int p = 1; p <= maxp; p++)
    if (try_precision(x, p, is_f32, buf, sizeof buf)) {
      digits_parse(buf, out);
      return;
    }
  snprintf(buf, sizeof buf, "%.*e", maxp - 1, x); /* always round-trips */
  digits_parse(buf, out);
}

void tnsi_digits_fixed(double x, int frac, TnsDigits *out) {
  char buf[400];
  snprintf(buf, sizeof buf, "%.*f", frac, x);
  digits_parse(buf, out);
}

void tnsi_digits_sig(double x, int sig, TnsDigits *out) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.*e", sig - 1, x);
  digits_parse(buf, out);
}

/* ---- Locale ---- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
  c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* uselocale is per thread, so parallel callers do not interfere. */
locale_t tnsi_locale_enter(void) {
  pthread_once(&c_locale_once, c_locale_init);
  return c_locale ? uselocale(c_locale) : (locale_t)0;
}

void tnsi_locale_leave(locale_t old) {
  if (old)
    uselocale(old);
}
