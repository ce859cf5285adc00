/* parallel.c — the thread pool that runs the outermost parallel loop of a
 * generated loop nest (and batches of small matrix products).
 *
 * TNS_NUM_THREADS threads (default: the online cores), the caller being
 * one of them; the others sleep on a condition variable between jobs. A
 * job is the range 0..n split into chunks handed out by an atomic counter,
 * so a thread slowed down by the shared machine takes fewer. Small jobs,
 * nested calls (from inside a job) and calls while another host thread
 * holds the pool run on the calling thread alone. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_internal.h"

enum { MAX_THREADS = 256, CHUNKS_PER_THREAD = 4, SPIN = 20000, YIELD_EVERY = 64 };

/* Below this many innermost iterations a job is not worth waking threads
 * (a wake-up costs ~10-50 us). */
#define PARALLEL_MIN_WORK ((int64_t)1 << 16)

typedef struct Job {
  TnsKernel fn;
  void *env;
  int64_t n, chunk;
  atomic_llong next;       /* first iteration not yet handed out */
  atomic_llong fail_lo;    /* the failing piece that starts first */
  int status;              /* its status, message and location, copied */
  char msg[1024], loc[256];/* to the caller */
  pthread_mutex_t err_lock;
} Job;

static struct {
  pthread_mutex_t lock;    /* held by the host thread using the pool */
  pthread_mutex_t m;
  pthread_cond_t work, done;
  Job *job;
  atomic_ulong generation;
  atomic_int busy;         /* workers still on the current job */
  int nthreads, started;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0};

static _Thread_local int in_job;

int tns_num_threads(void) {
  static atomic_int cached;
  int n = atomic_load(&cached);
  if (n) return n;
  const char *s = getenv("TNS_NUM_THREADS");
  n = s ? atoi(s) : 0;
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  atomic_store(&cached, n);
  return n;
}

/* Takes chunks until none is left. A failure stops the pieces after it;
 * the ones before it run on, so the error kept is the one the serial loop
 * would have met first (the same message at any thread count). */
static void run_chunks(Job *j) {
  in_job = 1;
  for (;;) {
    int64_t lo = atomic_fetch_add(&j->next, j->chunk);
    if (lo >= j->n || lo > atomic_load(&j->fail_lo)) break;
    int64_t hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
    int st = j->fn(j->env, lo, hi);
    if (st == TNS_OK) continue;
    pthread_mutex_lock(&j->err_lock);
    if (lo < atomic_load(&j->fail_lo)) {
      snprintf(j->msg, sizeof j->msg, "%s", tns_last_error());
      snprintf(j->loc, sizeof j->loc, "%s", tns_last_error_loc());
      j->status = st;
      atomic_store(&j->fail_lo, lo);
    }
    pthread_mutex_unlock(&j->err_lock);
    break;
  }
  in_job = 0;
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Between jobs a worker spins a little (~0.1 ms) before sleeping: the
 * pairwise steps of one statement come in quick succession, and waking a
 * sleeping thread costs more than a small step. It yields now and then
 * while spinning: a worker just woken may share the caller's core, and a
 * spin there would take the core from the thread doing the work. */
static void spin_until(int (*done)(void)) {
  for (int i = 0; i < SPIN && !done(); i++) {
    relax();
    if (i % YIELD_EVERY == YIELD_EVERY - 1) sched_yield();
  }
}

static _Thread_local unsigned long worker_seen;
static int new_job(void) { return atomic_load(&pool.generation) != worker_seen; }
static int job_done(void) { return atomic_load(&pool.busy) == 0; }

/* A worker joins a job only while it is open (pool.job set, under pool.m):
 * the caller closes it when it has run out of chunks, and then waits only
 * for the workers that joined, never for one still waking up. */
static void *worker(void *arg) {
  worker_seen = (unsigned long)(uintptr_t)arg;   /* jobs before it are not its */
  for (;;) {
    spin_until(new_job);
    pthread_mutex_lock(&pool.m);
    while (!new_job()) pthread_cond_wait(&pool.work, &pool.m);
    worker_seen = atomic_load(&pool.generation);
    Job *j = pool.job;
    if (j) atomic_fetch_add(&pool.busy, 1);
    pthread_mutex_unlock(&pool.m);
    if (!j) continue;
    run_chunks(j);
    pthread_mutex_lock(&pool.m);
    if (atomic_fetch_sub(&pool.busy, 1) == 1) pthread_cond_signal(&pool.done);
    pthread_mutex_unlock(&pool.m);
  }
  return NULL;
}

/* A forked child has none of the parent's workers: it starts its own. */
static void after_fork_in_child(void) {
  pthread_mutex_init(&pool.lock, NULL);
  pthread_mutex_init(&pool.m, NULL);
  pthread_cond_init(&pool.work, NULL);
  pthread_cond_init(&pool.done, NULL);
  pool.job = NULL;
  atomic_store(&pool.busy, 0);
  pool.started = 0;
  pool.nthreads = 0;
}

/* Starts the workers once; returns how many there are. */
static int start_workers(void) {
  if (pool.started) return pool.nthreads - 1;
  static int registered;
  if (!registered) pthread_atfork(NULL, NULL, after_fork_in_child);
  registered = 1;
  pool.started = 1;
  pool.nthreads = 1;
  int want = tns_num_threads();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 1; i < want; i++) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker, (void *)(uintptr_t)atomic_load(&pool.generation)) != 0) break;
    pool.nthreads++;
  }
  pthread_attr_destroy(&attr);
  return pool.nthreads - 1;
}

int tns_parallel_for(int64_t n, int64_t work_per_iter, TnsKernel fn, void *env) {
  if (n <= 0) return TNS_OK;
  int64_t work = work_per_iter > 0 && n > INT64_MAX / work_per_iter ? INT64_MAX : n * (work_per_iter > 0 ? work_per_iter : 1);
  if (n < 2 || in_job || work < PARALLEL_MIN_WORK || tns_num_threads() < 2 || pthread_mutex_trylock(&pool.lock) != 0)
    return fn(env, 0, n);
  int helpers = start_workers();
  if (helpers == 0) {
    pthread_mutex_unlock(&pool.lock);
    return fn(env, 0, n);
  }
  Job j;
  memset(&j, 0, sizeof j);
  j.fn = fn;
  j.env = env;
  j.n = n;
  int64_t pieces = (int64_t)(helpers + 1) * CHUNKS_PER_THREAD;
  j.chunk = n / pieces > 0 ? n / pieces : 1;
  atomic_store(&j.fail_lo, INT64_MAX);
  pthread_mutex_init(&j.err_lock, NULL);
  pthread_mutex_lock(&pool.m);
  pool.job = &j;
  atomic_fetch_add(&pool.generation, 1);
  pthread_cond_broadcast(&pool.work);
  pthread_mutex_unlock(&pool.m);
  run_chunks(&j);
  pthread_mutex_lock(&pool.m);
  pool.job = NULL;                /* closed: late wakers go back to sleep */
  pthread_mutex_unlock(&pool.m);
  spin_until(job_done);
  pthread_mutex_lock(&pool.m);
  while (atomic_load(&pool.busy) > 0) pthread_cond_wait(&pool.done, &pool.m);
  pthread_mutex_unlock(&pool.m);
  pthread_mutex_destroy(&j.err_lock);
  pthread_mutex_unlock(&pool.lock);
  if (j.status != TNS_OK) tns_error_at(j.loc[0] ? j.loc : NULL, j.status, "%s", j.msg);
  return j.status;
}
