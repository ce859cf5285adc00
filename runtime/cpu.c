/* cpu.c — which vector instructions this CPU has, for the kernels built
 * several times (attention.c, gemm.c) to pick their build at run time. */
#include <stdlib.h>

#include "rt_internal.h"

/* Read once; TNS_ATTENTION_NO_AVX512 (any value) caps the level at AVX2,
 * to run the AVX2 kernels on an AVX-512 machine (docs/attention.md). */
int tnsi_cpu_level(void) {
  static int level = -1;   /* a race here writes the same value twice */
  if (level >= 0) return level;
  __builtin_cpu_init();
  int l = TNSI_CPU_GENERIC;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = TNSI_CPU_AVX2;
  if (l == TNSI_CPU_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && !getenv("TNS_ATTENTION_NO_AVX512"))
    l = TNSI_CPU_AVX512;
  level = l;
  return level;
}
