/* builtins.c — the table of builtin functions (builtins.def): names,
 * argument counts, and how TNS writes numpy's names. It sits in the base
 * layer so that the parser (numpy spellings), sema (type rules, in
 * sema/sema_builtin.c) and the TIR (names) all read one table. */
#include "builtins.h"
#include <string.h>

static const struct {
  const char *name;
  int lo, hi;
  int linear;
} table[] = {
#define BUILTIN(id, name, lo, hi, check, linear) {name, lo, hi, linear},
#include "builtins.def"
#undef BUILTIN
};

int builtin_lookup(const char *name) {
  for (int i = 0; i < B_COUNT; i++)
    if (strcmp(table[i].name, name) == 0) return i;
  return -1;
}

const char *builtin_name(int id) { return table[id].name; }

int builtin_min_args(int id) { return table[id].lo; }

int builtin_max_args(int id) { return table[id].hi; }

int builtin_is_linear(const char *name) {
  int id = builtin_lookup(name);
  return id >= 0 && table[id].linear;
}

static const struct {
  const char *name, *how;
} numpy_forms[] = {
#define NUMPY(name, how) {name, how},
#include "numpy.def"
#undef NUMPY
};

const char *builtin_numpy_form(const char *name) {
  for (size_t i = 0; i < sizeof numpy_forms / sizeof numpy_forms[0]; i++)
    if (strcmp(numpy_forms[i].name, name) == 0) return numpy_forms[i].how;
  return NULL;
}
