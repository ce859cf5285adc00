/* rt_internal.h — helpers shared between runtime source files.
 * Not installed; everything here has hidden visibility so the shared
 * library exports only the tns_* API of tns_runtime.h. */
#ifndef TNS_RT_INTERNAL_H
#define TNS_RT_INTERNAL_H

#include <locale.h>

#include "tns_runtime.h"

#if defined(__GNUC__) || defined(__clang__)
#define TNSI_HIDDEN __attribute__((visibility("hidden")))
#else
#define TNSI_HIDDEN
/* fmtfloat.c: switch this thread to the "C" locale (decimal point '.')
 * for printf/strtod, whatever the host program set; returns the
 * previous locale for tnsi_locale_leave. */
TNSI_HIDDEN locale_t tnsi_locale_enter(void);
TNSI_HIDDEN void tnsi_locale_leave(locale_t old);

#endif

/* dtype.c: 1 if t is one of the TnsDtype values. */
TNSI_HIDDEN int tnsi_dtype_valid(TnsDtype t);
/* dtype.c: NumPy descr of t ("<f8"), "?" if invalid. */
TNSI_HIDDEN const char *tnsi_dtype_descr(TnsDtype t);
/* dtype.c: shape in Python tuple syntax: "(3, 4)", "(5,)", "()". */
TNSI_HIDDEN void tnsi_shape_str(char *buf, size_t size, int rank,
                                const int64_t *dims);

/* Shortest decimal digits that read back as the same value: x equals
 * 0.d[0]d[1]...d[n-1] x 10^exp10 (digits without leading/trailing zeros;
 * n = 0 for zero). Rounds to float first when is_f32. Only for finite x. */
typedef struct TnsDigits {
  char d[32];
  int n;
  int exp10;
  int neg;
} TnsDigits;
TNSI_HIDDEN void tnsi_shortest(double x, int is_f32, TnsDigits *out);
/* The value correctly rounded to `frac` digits after the point. */
TNSI_HIDDEN void tnsi_digits_fixed(double x, int frac, TnsDigits *out);
/* The value correctly rounded to `sig` significant digits. */
TNSI_HIDDEN void tnsi_digits_sig(double x, int sig, TnsDigits *out);

/* fmtfloat.c: switch this thread to the "C" locale (decimal point '.')
 * for printf/strtod, whatever the host program set; returns the
 * previous locale for tnsi_locale_leave. */
TNSI_HIDDEN locale_t tnsi_locale_enter(void);
TNSI_HIDDEN void tnsi_locale_leave(locale_t old);

/* gemm.c: OpenBLAS single-threaded while enter = 1 calls outnumber the
 * enter = 0 ones (the pool splits the work instead); the library's own
 * setting is restored after the last. */
TNSI_HIDDEN void tnsi_blas_single_threaded(int enter);

/* cpu.c: the widest vector build this CPU runs. */
enum { TNSI_CPU_GENERIC, TNSI_CPU_AVX2, TNSI_CPU_AVX512 };
TNSI_HIDDEN int tnsi_cpu_level(void);

#endif
