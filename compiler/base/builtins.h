/* builtins.h — the builtin functions of TNS (table in builtins.def; the
 * type rules are sema's, sema/sema_builtin.c). */
#ifndef TNS_BUILTINS_H
#define TNS_BUILTINS_H

typedef enum BuiltinId {
#define BUILTIN(id, name, lo, hi, check, linear) B_##id,
#include "builtins.def"
#undef BUILTIN
  B_COUNT
} BuiltinId;

int builtin_lookup(const char *name);      /* -1 when not a builtin */
const char *builtin_name(int id);
int builtin_min_args(int id);
int builtin_max_args(int id);              /* 16 and more: no limit */
int builtin_is_linear(const char *name);
/* How TNS writes numpy's `name` (numpy.def), or NULL. */
const char *builtin_numpy_form(const char *name);

#endif
