/* fuzz_frostt.c — the FROSTT reader. The first bytes choose the rank and
 * the dimensions (1..8 each, so the dense buffer stays small); the rest is
 * the coordinate text, also given to tns_looks_like_frostt. */
#include <stdlib.h>
#include "fuzz.h"
#include "tns_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  if (n < 1 || n > 1 << 20) return -1;
  int rank = 1 + data[0] % 5;
  if (n < (size_t)rank + 1) return -1;
  int64_t dims[TNS_MAX_RANK], count = 1;
  for (int k = 0; k < rank; k++) count *= dims[k] = 1 + data[1 + k] % 8;
  const uint8_t *text = data + 1 + rank;
  size_t len = n - 1 - (size_t)rank;
  tns_looks_like_frostt((const char *)text, len);
  double *out = calloc((size_t)count, sizeof *out);
  tns_frostt_load(fuzz_memfile(text, len), rank, dims, out);
  free(out);
  return 0;
}
