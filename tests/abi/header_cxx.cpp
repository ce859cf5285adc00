// Compiles the generated header as C++ (the build fails if not).
#include "abi_funcs.h"
using mm_fn = int (*)(int64_t, int64_t, int64_t, const double *, const double *, double *);
extern mm_fn abi_probe_mm_cxx;
mm_fn abi_probe_mm_cxx = mm;
