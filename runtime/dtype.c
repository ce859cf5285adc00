/* dtype.c — the element-type table and shape helpers. */
#include <stdio.h>
#include <string.h>

#include "rt_internal.h"

typedef struct DtypeInfo {
  const char *name;
  int64_t size;
  const char *descr;
} DtypeInfo;

/* Indexed by TnsDtype (see dtype.def). */
static const DtypeInfo dtype_table[] = {
#define TNS_DTYPE(E, NAME, SIZE, DESCR, NP) [TNS_##E] = {NAME, SIZE, DESCR},
#include "dtype.def"
#undef TNS_DTYPE
};

_Static_assert(sizeof dtype_table / sizeof dtype_table[0] == TNS_DTYPE_COUNT,
               "dtype.def and TnsDtype disagree");

int tnsi_dtype_valid(TnsDtype t) {
  return (int)t >= 0 && (int)t < TNS_DTYPE_COUNT;
}

int64_t tns_dtype_size(TnsDtype t) {
  return tnsi_dtype_valid(t) ? dtype_table[t].size : 0;
}

const char *tns_dtype_name(TnsDtype t) {
  return tnsi_dtype_valid(t) ? dtype_table[t].name : "?";
}

const char *tnsi_dtype_descr(TnsDtype t) {
  return tnsi_dtype_valid(t) ? dtype_table[t].descr : "?";
}

/* Python's repr of a shape tuple, which is what numpy users read. */
void tnsi_shape_str(char *buf, size_t size, int rank, const int64_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  used += (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < rank && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                             i ? ", " : "", (long long)dims[i]);
  if (used < size)
    snprintf(buf + used, size - used, rank == 1 ? ",)" : ")");
}
