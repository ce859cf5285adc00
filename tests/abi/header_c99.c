/* Compiles the generated header as strict C99 (the build fails if not),
 * and checks the prototypes have the ABI of language.md section 9. */
#include "abi_funcs.h"
typedef int (*mm_fn)(int64_t n, int64_t k, int64_t m, const double *A, const double *B, double *out);
typedef int (*stats_fn)(int64_t n, const double *x, double *out0, double *out1, double *out2);
typedef int (*softmax_f32_fn)(int64_t n, int64_t m, const float *S, float *out);
mm_fn abi_probe_mm = mm;
stats_fn abi_probe_stats = stats;
softmax_f32_fn abi_probe_softmax = softmax_rows_f32;
