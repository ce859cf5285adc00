/* abi.c — argument checks of exported TNS functions, and the entry point
 * of executables made by `tnsc build`. */
#include <stdio.h>
#include "tns_runtime.h"

int tns_arg_size(const char *func, const char *name, int64_t value) {
  if (value >= 0) return TNS_OK;
  return tns_error(TNS_ERR_ARG, "%s: size '%s' is negative (%lld)", func, name, (long long)value);
}

int tns_arg_tensor(const char *func, const char *name, int rank, const int64_t *dims,
                   const void *data, int overflowed) {
  if (overflowed)
    return tns_error(TNS_ERR_ARG, "%s: '%s' has more elements than fit in int64_t", func, name);
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return tns_error(TNS_ERR_ARG, "%s: dimension %d of '%s' is negative (%lld)", func, i, name,
                       (long long)dims[i]);
    if (tns_mul_sizes(n, dims[i], &n) != TNS_OK)
      return tns_error(TNS_ERR_ARG, "%s: '%s' has more elements than fit in int64_t", func, name);
  }
  /* the byte count must fit too */
  if (n > INT64_MAX / 8)
    return tns_error(TNS_ERR_ARG, "%s: '%s' is too large (%lld elements)", func, name, (long long)n);
  if (n > 0 && !data)
    return tns_error(TNS_ERR_ARG, "%s: '%s' is NULL but holds %lld element%s", func, name,
                     (long long)n, n == 1 ? "" : "s");
  return TNS_OK;
}

int tns_run_main(int (*entry)(void)) {
  int st = entry();
  fflush(stdout);
  if (st == TNS_OK) return 0;
  const char *loc = tns_last_error_loc();
  fprintf(stderr, "%s%serror: %s\n", loc, *loc ? ": " : "", tns_last_error());
  return 2;
}
