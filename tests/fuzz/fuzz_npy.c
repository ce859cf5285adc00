/* fuzz_npy.c — the .npy reader (tns_npy_load) on arbitrary bytes, then
 * tns_array_check against a few annotations. Every input must load or
 * fail with a status; nothing else. */
#include <stdlib.h>
#include "fuzz.h"
#include "tns_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  if (n > 1 << 20) return -1;
  const char *path = fuzz_memfile(data, n);
  TnsArray a = {0};
  int st = tns_npy_load(path, &a);
  if (st == TNS_OK) {
    int64_t want[TNS_MAX_RANK];
    for (int k = 0; k < TNS_MAX_RANK; k++) want[k] = k < a.rank ? a.dims[k] : -1;
    if (tns_array_check(&a, a.dtype, a.rank, want, "fuzz") != TNS_OK) abort();
    tns_array_check(&a, TNS_F64, 2, NULL, "fuzz");
    tns_array_free(&a);
  } else if (a.data) {
    abort();   /* a failed load leaves nothing to free */
  }
  return 0;
}
