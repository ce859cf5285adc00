/* arena.h — bump allocation freed as a whole (one arena per compilation,
 * one per REPL input). No free of single objects. */
#ifndef TNS_ARENA_H
#define TNS_ARENA_H
#include <stddef.h>

typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
  ArenaChunk *head;
  size_t total;            /* bytes handed out, for statistics */
} Arena;

Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n);           /* zeroed, 16-aligned */
void *arena_grow(Arena *a, void *old, size_t oldn, size_t newn);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable array of pointers living in an arena. */
typedef struct PtrVec {
  void **items;
  int n, cap;
} PtrVec;
void ptrvec_push(Arena *a, PtrVec *v, void *p);

#endif
