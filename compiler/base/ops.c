/* ops.c — names and classes of the operators (ops.def) and reductions
 * (reduce.def). */
#include "ops.h"
#include <string.h>

static const struct {
  const char *text;
  OpClass cls;
} ops[] = {
#define OP(id, token, text, cls) {text, cls},
#include "ops.def"
#undef OP
};

const char *op_text(int op) { return op >= 0 && op < OP_COUNT ? ops[op].text : "?"; }
OpClass op_class(int op) { return ops[op].cls; }
int op_is_compare(int op) { return op >= 0 && op < OP_COUNT && ops[op].cls == OPC_COMPARE; }

static const char *const reduce_names[] = {
#define REDUCE(id, name, keeps, linear) name,
#include "reduce.def"
#undef REDUCE
};

const char *reduce_name(int op) { return reduce_names[op]; }

int reduce_lookup(const char *name) {
  for (int i = 0; i < RED_COUNT; i++)
    if (strcmp(reduce_names[i], name) == 0) return i;
  return -1;
}
