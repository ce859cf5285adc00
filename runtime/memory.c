/* memory.c — aligned allocation (large blocks as kept huge-page mappings),
 * checked size arithmetic, bump arenas. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt_internal.h"

#define TNS_ALIGN 64
#define ARENA_DEFAULT_BLOCK (1 << 20)

/* Largest request we accept: leaves room for the header and alignment. */
#define ALLOC_MAX ((int64_t)(PTRDIFF_MAX / 2))

/* Every buffer has two header words below it: the mapping length (0 for
 * calloc memory) and the pointer to free. */
#define HEADER (2 * sizeof(void *))

/* Large buffers (a contraction's intermediates) are anonymous mappings
 * asking for transparent huge pages: faulting in 128 MB 4 KB at a time
 * costs ~70 ms, in 2 MB pages ~12 ms (measured; docs/performance.md).
 * Freed ones are kept (up to TNS_MEMORY_CACHE MiB, default 1024 or an
 * eighth of the machine's memory if less) for the
 * next call of the same function, which would otherwise pay the kernel's
 * zeroing of fresh pages again: a fifth of a 4-index transform's time. */
#define HUGE_FROM ((int64_t)4 << 20)

/* Mid-sized buffers (64 KiB up, a 32^3 f64 tensor is 256 KiB) are
 * mappings too, kept the same way: from malloc, glibc hands blocks this
 * large back to the kernel on free (mmap threshold, trimming), so a
 * function called in a loop page-faulted its temporaries in again on
 * every call (a quarter of a 32^3 Kronecker solve's time). Below this,
 * malloc keeps freed memory itself. */
#if defined(__SANITIZE_ADDRESS__)
#define CACHE_FROM HUGE_FROM   /* under ASan mid-sized blocks stay malloc's, checked */
#else
#define CACHE_FROM ((int64_t)64 << 10)
#endif

enum { CACHE_SLOTS = 32 };

static struct {
  pthread_mutex_t lock;
  char *raw[CACHE_SLOTS];
  size_t len[CACHE_SLOTS];
  size_t total, max;
  int configured, atfork;
} cache = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, 0, 0, 0, 0};

static void cache_after_fork(void) { pthread_mutex_init(&cache.lock, NULL); }

static void cache_configure(void) {
  if (cache.configured) return;
  cache.configured = 1;
  const char *s = getenv("TNS_MEMORY_CACHE");
  long long mib = s ? atoll(s) : 1024;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (!s && pages > 0 && page > 0 && (long long)pages * page / 8 < mib << 20)
    mib = (long long)pages * page / 8 >> 20;   /* default: at most 1/8 of the memory */
  cache.max = mib > 0 ? (size_t)mib << 20 : 0;
  if (!cache.atfork) pthread_atfork(NULL, NULL, cache_after_fork);
  cache.atfork = 1;
}

/* A kept mapping of at least len bytes (and not twice as large); NULL if
 * none. *got is its length. */
static char *cache_take(size_t len, size_t *got) {
  char *raw = NULL;
  pthread_mutex_lock(&cache.lock);
  cache_configure();
  int best = -1;
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (cache.raw[i] && cache.len[i] >= len && cache.len[i] / 2 <= len && (best < 0 || cache.len[i] < cache.len[best]))
      best = i;
  if (best >= 0) {
    raw = cache.raw[best];
    *got = cache.len[best];
    cache.total -= cache.len[best];
    cache.raw[best] = NULL;
  }
  pthread_mutex_unlock(&cache.lock);
  return raw;
}

/* Keeps a freed mapping if there is room; 0 when the caller must unmap. */
static int cache_put(char *raw, size_t len) {
  int kept = 0;
  pthread_mutex_lock(&cache.lock);
  cache_configure();
  for (int i = 0; i < CACHE_SLOTS && !kept; i++)
    if (!cache.raw[i] && cache.total + len <= cache.max) {
      cache.raw[i] = raw;
      cache.len[i] = len;
      cache.total += len;
      kept = 1;
    }
  pthread_mutex_unlock(&cache.lock);
  return kept;
}

void tns_release_memory(void) {
  pthread_mutex_lock(&cache.lock);
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (cache.raw[i]) {
      munmap(cache.raw[i], cache.len[i]);
      cache.raw[i] = NULL;
    }
  cache.total = 0;
  pthread_mutex_unlock(&cache.lock);
}

/* zero: the caller needs zeros (a fresh mapping has them; a kept one is
 * cleared), else it writes every element itself. */
static void *map_huge(int64_t bytes, int zero) {
  size_t len = (size_t)bytes + TNS_ALIGN;
  char *raw = cache_take(len, &len);
  if (raw) {
    if (zero) memset(raw + TNS_ALIGN, 0, (size_t)bytes);
  } else {
    raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
      return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_FROM)
      madvise(raw, len, MADV_HUGEPAGE);   /* a hint: without THP it still works */
#endif
  }
  void **p = (void **)(raw + TNS_ALIGN);
  p[-2] = (void *)len;
  p[-1] = raw;
  return p;
}

static int size_ok(int64_t bytes) {
  if (bytes < 0) {
    tns_error(TNS_ERR_ARG, "cannot allocate a negative size (%lld bytes)", (long long)bytes);
    return 0;
  }
  if (bytes > ALLOC_MAX) {
    tns_error(TNS_ERR_OOM, "out of memory: %lld bytes is too large", (long long)bytes);
    return 0;
  }
  return 1;
}

/* zero: as map_huge. Small blocks come from calloc or malloc. */
static void *alloc_block(int64_t bytes, int zero) {
  void *big = bytes >= CACHE_FROM ? map_huge(bytes, zero) : NULL;
  if (big)
    return big;
  size_t total = (size_t)bytes + TNS_ALIGN + HEADER;
  char *raw = zero ? calloc(1, total) : malloc(total);
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

void *tns_alloc(int64_t bytes) {
  return size_ok(bytes) ? alloc_block(bytes, 1) : NULL;
}

void tns_free(void *p) {
  if (!p)
    return;
  size_t len = (size_t)((void **)p)[-2];
  if (!len)
    free(((void **)p)[-1]);
  else if (!cache_put(((void **)p)[-1], len))
    munmap(((void **)p)[-1], len);
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
 * not fit in memory or in int64_t, TNS_ERR_ARG when count is negative. */
static int elems_bytes(int64_t count, int64_t size, int overflowed, int64_t *bytes) {
  if (count < 0 && !overflowed) {   /* a negative dimension, known only now */
    tns_error(TNS_ERR_ARG, "a size is negative: %lld elements", (long long)count);
    return 0;
  }
  if (overflowed || __builtin_mul_overflow(count, size, bytes)) {
    tns_error(TNS_ERR_OOM, "a tensor is too large: its size in bytes does not fit in int64_t");
    return 0;
  }
  return 1;
}

void *tns_alloc_elems(int64_t count, int64_t size, int overflowed) {
  int64_t bytes;
  return elems_bytes(count, size, overflowed, &bytes) ? tns_alloc(bytes) : NULL;
}

void *tns_alloc_elems_uninit(int64_t count, int64_t size, int overflowed) {
  int64_t bytes;
  if (!elems_bytes(count, size, overflowed, &bytes) || !size_ok(bytes))
    return NULL;
  return alloc_block(bytes, 0);
}
