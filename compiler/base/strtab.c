/* strtab.c — open-addressing hash set of strings in an arena. */
#include "strtab.h"
#include <string.h>
#include <stdint.h>

void strtab_init(StrTab *t, Arena *a) {
  t->arena = a;
  t->cap = 256;
  t->n = 0;
  t->slots = arena_alloc(a, sizeof(char *) * (size_t)t->cap);
}

static uint32_t hash(const char *s, int len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (int i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static void rehash(StrTab *t) {
  const char **old = t->slots;
  int oldcap = t->cap;
  t->cap *= 2;
  t->slots = arena_alloc(t->arena, sizeof(char *) * (size_t)t->cap);
  for (int i = 0; i < oldcap; i++) {
    if (!old[i]) continue;
    uint32_t j = hash(old[i], (int)strlen(old[i])) & (uint32_t)(t->cap - 1);
    while (t->slots[j]) j = (j + 1) & (uint32_t)(t->cap - 1);
    t->slots[j] = old[i];
  }
}

const char *strtab_intern(StrTab *t, const char *s, int len) {
  if (2 * (t->n + 1) > t->cap) rehash(t);
  uint32_t j = hash(s, len) & (uint32_t)(t->cap - 1);
  for (; t->slots[j]; j = (j + 1) & (uint32_t)(t->cap - 1))
    if (strncmp(t->slots[j], s, (size_t)len) == 0 && t->slots[j][len] == 0)
      return t->slots[j];
  t->n++;
  return t->slots[j] = arena_strndup(t->arena, s, (size_t)len);
}

const char *strtab_cstr(StrTab *t, const char *s) {
  return strtab_intern(t, s, (int)strlen(s));
}
