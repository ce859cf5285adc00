/* strtab.h — interned strings: equal names are equal pointers. */
#ifndef TNS_STRTAB_H
#define TNS_STRTAB_H
#include "arena.h"

typedef struct StrTab {
  Arena *arena;
  const char **slots;
  int cap, n;
} StrTab;

void strtab_init(StrTab *t, Arena *a);
const char *strtab_intern(StrTab *t, const char *s, int len);
const char *strtab_cstr(StrTab *t, const char *s);

#endif
