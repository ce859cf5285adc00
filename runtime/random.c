/* random.c — counter-based random numbers: element k of a stream depends
 * only on (seed, k), so results are the same for any thread count, chunk
 * order, machine or build.
 *
 * Generator: Philox4x32-10 (Salmon et al., SC'11; Random123), key =
 * (seed low 32 bits, seed high 32 bits), counter = (k low, k high,
 * stream, 0) with stream 0 for rand and 1 for randn. The normal transform
 * (Box-Muller) uses only IEEE-754 +, -, *, / and sqrt in a fixed order
 * (own log and cos below; libm's differ between versions) and this file is compiled with
 * -ffp-contract=off, so every result is bit-exact everywhere. The exact
 * recipe is in docs/runtime.md. */
#include <math.h>
#include <stdint.h>

#include "rt_internal.h"

/* No a*b+c fusion here, whatever flags the file is built with (CMake also
 * passes -ffp-contract=off). */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

enum { STREAM_UNIFORM = 0, STREAM_NORMAL = 1 };

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* One Philox round: two 32x32->64 multiplies, xor with the key. */
static void philox_round(uint32_t c[4], const uint32_t k[2]) {
  uint64_t p0 = (uint64_t)PHILOX_M0 * c[0];
  uint64_t p1 = (uint64_t)PHILOX_M1 * c[2];
  uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k[0];
  uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k[1];
  c[0] = n0;
  c[1] = (uint32_t)p1;
  c[2] = n2;
  c[3] = (uint32_t)p0;
}

/* Philox4x32-10 of counter c under key (k0, k1), in place. */
static void philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1) {
  uint32_t k[2] = {k0, k1};
  for (int r = 0; r < 10; r++) {
    philox_round(c, k);
    k[0] += PHILOX_W0;
    k[1] += PHILOX_W1;
  }
}

/* The two 64-bit words of block (seed, k, stream): lo = x0 | x1 << 32,
 * hi = x2 | x3 << 32. */
static void block(uint64_t seed, uint64_t k, uint32_t stream,
                  uint64_t out[2]) {
  uint32_t c[4] = {(uint32_t)k, (uint32_t)(k >> 32), stream, 0};
  philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
  out[0] = (uint64_t)c[0] | (uint64_t)c[1] << 32;
  out[1] = (uint64_t)c[2] | (uint64_t)c[3] << 32;
}

#define TWO_M53 0x1p-53
#define TWO_M24 0x1p-24f

/* ---- Deterministic log and cos: only +, -, *, / and frexp ---- */

/* log(x) for x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * log m = 2 atanh(s), s = (m-1)/(m+1), by its series to s^27. */
static double det_log(double x) {
  int e;
  double m = frexp(x, &e); /* exact */
  if (m < 0x1.6a09e667f3bcdp-1) {
    m = m * 2.0;
    e = e - 1;
  }
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = 1.0 / 27.0;
  for (int n = 12; n >= 0; n--) /* p = 1/(2n+1) + s2 p */
    p = 1.0 / (double)(2 * n + 1) + s2 * p;
  return (double)e * 0x1.62e42fefa39efp-1 + 2.0 * s * p;
}

/* Taylor coefficients (-1)^n/(2n)! and (-1)^n/(2n+1)!, n = 0..9; every
 * factorial up to 19! is exact in a double, so each entry is one
 * correctly rounded division. */
static const double COS_C[10] = {
    1.0, -1.0 / 2.0, 1.0 / 24.0, -1.0 / 720.0, 1.0 / 40320.0,
    -1.0 / 3628800.0, 1.0 / 479001600.0, -1.0 / 87178291200.0,
    1.0 / 20922789888000.0, -1.0 / 6402373705728000.0};
static const double SIN_C[10] = {
    1.0, -1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0,
    -1.0 / 39916800.0, 1.0 / 6227020800.0, -1.0 / 1307674368000.0,
    1.0 / 355687428096000.0, -1.0 / 121645100408832000.0};

/* sum_n c[n] x2^n by Horner, highest term first. */
static double horner10(const double c[10], double x2) {
  double p = c[9];
  for (int n = 8; n >= 0; n--)
    p = c[n] + x2 * p;
  return p;
}

/* cos(2 pi u) for u = j 2^-53 in [0, 1): reduce to an octant exactly,
 * then cos or sin of x in [0, pi/4] with the octant's sign. */
static double det_cos2pi(double u) {
  static const struct { char use_sin, neg; } oct[8] = {
      {0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 1}, {1, 1}, {1, 0}, {0, 0}};
  double t = u * 8.0;
  int o = (int)t;
  double f = t - (double)o;
  double r = (o & 1) ? 1.0 - f : f;
  double x = r * 0x1.921fb54442d18p-1; /* pi/4 */
  double v = oct[o].use_sin ? x * horner10(SIN_C, x * x)
                            : horner10(COS_C, x * x);
  return oct[o].neg ? -v : v;
}

/* ---- Elements ---- */

double tns_rand_f64(uint64_t seed, uint64_t k) {
  uint64_t w[2];
  block(seed, k, STREAM_UNIFORM, w);
  return (double)(w[0] >> 11) * TWO_M53;
}

float tns_rand_f32(uint64_t seed, uint64_t k) {
  uint64_t w[2];
  block(seed, k, STREAM_UNIFORM, w);
  return (float)(w[0] >> 40) * TWO_M24;
}

/* Box-Muller, cosine branch: u1 in (0, 1] so the log is finite. */
double tns_randn_f64(uint64_t seed, uint64_t k) {
  uint64_t w[2];
  block(seed, k, STREAM_NORMAL, w);
  double u1 = (double)((w[0] >> 11) + 1) * TWO_M53;
  double u2 = (double)(w[1] >> 11) * TWO_M53;
  return sqrt(-2.0 * det_log(u1)) * det_cos2pi(u2);
}

float tns_randn_f32(uint64_t seed, uint64_t k) {
  return (float)tns_randn_f64(seed, k);
}

/* Shared argument checks of the fill functions. */
static int fill_args(const char *what, TnsDtype t, int64_t n,
                     const void *out) {
  if (t != TNS_F32 && t != TNS_F64)
    return tns_error(TNS_ERR_ARG, "%s: element type %s is not supported "
                     "(f32 or f64)", what, tns_dtype_name(t));
  if (n < 0 || (n > 0 && !out))
    return tns_error(TNS_ERR_ARG, "%s: invalid count %lld or output", what,
                     (long long)n);
  return TNS_OK;
}

int tns_rand_fill(TnsDtype dtype, int64_t n, uint64_t seed, void *out) {
  int st = fill_args("rand", dtype, n, out);
  if (st)
    return st;
  for (int64_t k = 0; k < n; k++)
    if (dtype == TNS_F64)
      ((double *)out)[k] = tns_rand_f64(seed, (uint64_t)k);
    else
      ((float *)out)[k] = tns_rand_f32(seed, (uint64_t)k);
  return TNS_OK;
}

int tns_randn_fill(TnsDtype dtype, int64_t n, uint64_t seed, void *out) {
  int st = fill_args("randn", dtype, n, out);
  if (st)
    return st;
  for (int64_t k = 0; k < n; k++)
    if (dtype == TNS_F64)
      ((double *)out)[k] = tns_randn_f64(seed, (uint64_t)k);
    else
      ((float *)out)[k] = tns_randn_f32(seed, (uint64_t)k);
  return TNS_OK;
}
