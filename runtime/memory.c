/* memory.c — aligned allocation, checked size arithmetic, bump arenas. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rt_internal.h"

#define TNS_ALIGN 64
#define ARENA_DEFAULT_BLOCK (1 << 20)

/* Largest request we accept: leaves room for the header and alignment. */
#define ALLOC_MAX ((int64_t)(PTRDIFF_MAX / 2))

/* Every buffer has two header words below it: the mapping length (0 for
 * calloc memory) and the pointer to free. */
#define HEADER (2 * sizeof(void *))

/* Large buffers (a contraction's intermediates) are fresh anonymous
 * mappings asking for transparent huge pages: faulting in 128 MB 4 KB at a
 * time costs ~70 ms, in 2 MB pages ~12 ms (measured; docs/performance.md).
 * Both kinds come zeroed, which generated code relies on. */
#define HUGE_FROM ((int64_t)4 << 20)

static void *map_huge(int64_t bytes) {
  size_t len = (size_t)bytes + TNS_ALIGN;
  char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
#ifdef MADV_HUGEPAGE
  madvise(raw, len, MADV_HUGEPAGE);   /* a hint: without THP it still works */
#endif
  void **p = (void **)(raw + TNS_ALIGN);
  p[-2] = (void *)len;
  p[-1] = raw;
  return p;
}

void *tns_alloc(int64_t bytes) {
  if (bytes < 0) {
    tns_error(TNS_ERR_ARG, "cannot allocate a negative size (%lld bytes)",
              (long long)bytes);
    return NULL;
  }
  if (bytes > ALLOC_MAX) {
    tns_error(TNS_ERR_OOM, "out of memory: %lld bytes is too large",
              (long long)bytes);
    return NULL;
  }
  void *big = bytes >= HUGE_FROM ? map_huge(bytes) : NULL;
  if (big)
    return big;
  size_t total = (size_t)bytes + TNS_ALIGN + HEADER;
  char *raw = calloc(1, total);
  if (!raw) {
    tns_error(TNS_ERR_OOM, "out of memory allocating %lld bytes",
              (long long)bytes);
    return NULL;
  }
  uintptr_t p = ((uintptr_t)raw + HEADER + TNS_ALIGN - 1) &
                ~(uintptr_t)(TNS_ALIGN - 1);
  ((void **)p)[-2] = NULL;
  ((void **)p)[-1] = raw;
  return (void *)p;
}

void tns_free(void *p) {
  if (!p)
    return;
  size_t len = (size_t)((void **)p)[-2];
  if (len)
    munmap(((void **)p)[-1], len);
  else
    free(((void **)p)[-1]);
}

int tns_mul_sizes(int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0)
    return tns_error(TNS_ERR_ARG, "negative size in %lld * %lld",
                     (long long)a, (long long)b);
  if (__builtin_mul_overflow(a, b, out))
    return tns_error(TNS_ERR_OOM, "size overflow: %lld * %lld does not fit "
                     "in 64 bits", (long long)a, (long long)b);
  return TNS_OK;
}

int tns_shape_count(int rank, const int64_t *dims, int64_t *out) {
  if (rank < 0 || rank > TNS_MAX_RANK)
    return tns_error(TNS_ERR_ARG, "rank %d is outside 0..%d", rank,
                     TNS_MAX_RANK);
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    int st = tns_mul_sizes(n, dims[i], &n);
    if (st)
      return st;
  }
  *out = n;
  return TNS_OK;
}

/* ---- Arena ---- */

typedef struct ArenaBlock {
  struct ArenaBlock *next;
  int64_t cap;
  int64_t used;
  char *mem;
} ArenaBlock;

struct TnsArena {
  ArenaBlock *head;    /* current block; older ones follow */
  int64_t block_bytes; /* minimum size of a new block */
  int64_t used;        /* bytes handed out since the last reset */
};

/* One block of at least cap bytes, memory 64-byte aligned. */
static ArenaBlock *block_new(int64_t cap) {
  ArenaBlock *b = malloc(sizeof *b);
  if (!b) {
    tns_error(TNS_ERR_OOM, "out of memory creating an arena block");
    return NULL;
  }
  b->mem = tns_alloc(cap);
  if (!b->mem) {
    free(b);
    return NULL;
  }
  b->cap = cap;
  b->used = 0;
  b->next = NULL;
  return b;
}

/* Frees a chain of blocks. */
static void blocks_free(ArenaBlock *b) {
  while (b) {
    ArenaBlock *next = b->next;
    tns_free(b->mem);
    free(b);
    b = next;
  }
}

TnsArena *tns_arena_create(int64_t block_bytes) {
  if (block_bytes < 0) {
    tns_error(TNS_ERR_ARG, "arena block size %lld is negative",
              (long long)block_bytes);
    return NULL;
  }
  TnsArena *a = malloc(sizeof *a);
  if (!a) {
    tns_error(TNS_ERR_OOM, "out of memory creating an arena");
    return NULL;
  }
  a->block_bytes = block_bytes ? block_bytes : ARENA_DEFAULT_BLOCK;
  a->used = 0;
  a->head = block_new(a->block_bytes);
  if (!a->head) {
    free(a);
    return NULL;
  }
  return a;
}

/* Bytes rounded up to the alignment (callers checked the range). */
static int64_t align_up(int64_t n) {
  return (n + TNS_ALIGN - 1) & ~(int64_t)(TNS_ALIGN - 1);
}

void *tns_arena_alloc(TnsArena *a, int64_t bytes) {
  if (!a || bytes < 0 || bytes > ALLOC_MAX) {
    tns_error(bytes > ALLOC_MAX ? TNS_ERR_OOM : TNS_ERR_ARG,
              "invalid arena allocation of %lld bytes", (long long)bytes);
    return NULL;
  }
  int64_t need = align_up(bytes ? bytes : 1);
  ArenaBlock *b = a->head;
  if (b->cap - b->used < need) {
    b = block_new(need > a->block_bytes ? need : a->block_bytes);
    if (!b)
      return NULL;
    b->next = a->head;
    a->head = b;
  }
  char *p = b->mem + b->used;
  b->used += need;
  a->used += need;
  memset(p, 0, (size_t)bytes);
  return p;
}

/* Several blocks mean the first was too small: merge them into one block
 * as large as all of them, so the next round needs a single block. */
void tns_arena_reset(TnsArena *a) {
  if (!a)
    return;
  a->used = 0;
  if (!a->head->next) {
    a->head->used = 0;
    return;
  }
  int64_t total = 0;
  for (ArenaBlock *b = a->head; b; b = b->next)
    total += b->cap;
  ArenaBlock *merged = block_new(total);
  if (!merged) { /* keep the old blocks; they still work */
    for (ArenaBlock *b = a->head; b; b = b->next)
      b->used = 0;
    return;
  }
  blocks_free(a->head);
  a->head = merged;
}

void tns_arena_destroy(TnsArena *a) {
  if (!a)
    return;
  blocks_free(a->head);
  free(a);
}

int64_t tns_arena_used(const TnsArena *a) { return a ? a->used : 0; }

/* count elements of size bytes each; overflowed says the caller's count
 * itself did not fit. NULL with TNS_ERR_OOM "... too large" when it does
 * not fit in memory or in int64_t. */
void *tns_alloc_elems(int64_t count, int64_t size, int overflowed) {
  int64_t bytes;
  if (overflowed || count < 0 || __builtin_mul_overflow(count, size, &bytes)) {
    tns_error(TNS_ERR_OOM, "a tensor is too large: its size in bytes does not fit in int64_t");
    return NULL;
  }
  return tns_alloc(bytes);
}
