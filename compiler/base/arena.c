/* arena.c — chunked bump allocator. */
#include "arena.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaChunk {
  ArenaChunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

enum { CHUNK_MIN = 64 * 1024 };

static ArenaChunk *chunk_new(size_t cap) {
  ArenaChunk *c = malloc(sizeof *c + cap);
  if (!c) {
    fputs("tnsc: out of memory\n", stderr);
    abort(); /* allocation failure in the compiler itself is not recoverable */
  }
  c->next = NULL;
  c->used = 0;
  c->cap = cap;
  return c;
}

Arena *arena_new(void) {
  Arena *a = calloc(1, sizeof *a);
  if (!a) abort();
  return a;
}

void arena_free(Arena *a) {
  if (!a) return;
  for (ArenaChunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *arena_alloc(Arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  ArenaChunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    c = chunk_new(n > CHUNK_MIN ? n : CHUNK_MIN);
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  a->total += n;
  memset(p, 0, n);
  return p;
}

void *arena_grow(Arena *a, void *old, size_t oldn, size_t newn) {
  void *p = arena_alloc(a, newn);
  if (old && oldn) memcpy(p, old, oldn < newn ? oldn : newn);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void ptrvec_push(Arena *a, PtrVec *v, void *p) {
  if (v->n == v->cap) {
    int cap = v->cap ? v->cap * 2 : 4;
    v->items = arena_grow(a, v->items, sizeof(void *) * (size_t)v->n,
                          sizeof(void *) * (size_t)cap);
    v->cap = cap;
  }
  v->items[v->n++] = p;
}
