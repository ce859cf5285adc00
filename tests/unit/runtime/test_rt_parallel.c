/* Tests for runtime/parallel.c: the thread pool behind parallel loops.
 * Every test runs with 4 threads (set before the pool first reads
 * TNS_NUM_THREADS; Criterion runs each test in its own process). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tns_runtime.h"

static void four_threads(void) { setenv("TNS_NUM_THREADS", "4", 1); }

TestSuite(parallel, .init = four_threads);

typedef struct Count {
  atomic_int *hits;
  atomic_int pieces;
  pthread_t threads[64];
  atomic_int nthreads;
} Count;

static int count_piece(void *env, int64_t lo, int64_t hi) {
  Count *c = env;
  atomic_fetch_add(&c->pieces, 1);
  for (int64_t i = lo; i < hi; i++) atomic_fetch_add(&c->hits[i], 1);
  int k = atomic_fetch_add(&c->nthreads, 1);
  if (k < 64) c->threads[k] = pthread_self();
  return TNS_OK;
}

static int distinct_threads(Count *c) {
  int n = atomic_load(&c->nthreads), d = 0;
  if (n > 64) n = 64;
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int j = 0; j < i; j++) seen |= pthread_equal(c->threads[i], c->threads[j]);
    d += !seen;
  }
  return d;
}

Test(parallel, thread_count_follows_the_environment) {
  cr_assert_eq(tns_num_threads(), 4);
}

Test(parallel, every_iteration_runs_exactly_once) {
  int64_t n = 100003;   /* not a multiple of the piece size */
  Count c = {.hits = calloc((size_t)n, sizeof(atomic_int))};
  cr_assert_eq(tns_parallel_for(n, 100, count_piece, &c), TNS_OK);
  for (int64_t i = 0; i < n; i++) cr_assert_eq(atomic_load(&c.hits[i]), 1, "iteration %lld", (long long)i);
  cr_assert_gt(atomic_load(&c.pieces), 1);
  free(c.hits);
}

/* Pieces that take a while: the workers get some of them. */
static int slow_piece(void *env, int64_t lo, int64_t hi) {
  struct timespec t = {0, 2000000};
  nanosleep(&t, NULL);
  return count_piece(env, lo, hi);
}

Test(parallel, the_work_is_shared_between_threads) {
  int64_t n = 64;
  Count c = {.hits = calloc((size_t)n, sizeof(atomic_int))};
  cr_assert_eq(tns_parallel_for(n, 1 << 20, slow_piece, &c), TNS_OK);
  cr_assert_gt(distinct_threads(&c), 1);
  for (int64_t i = 0; i < n; i++) cr_assert_eq(atomic_load(&c.hits[i]), 1);
  free(c.hits);
}

/* Jobs after an idle pause find the workers asleep; the caller closes a
 * job when its chunks run out, and a worker waking after that must not
 * touch it (the job and its env live on the caller's stack). Each job here
 * lives in a fresh stack frame and is checked for exactly-once coverage;
 * the sanitizer build sees any late access. */
static void one_job(int64_t n) {
  atomic_int hits[4096];
  for (int64_t i = 0; i < n; i++) atomic_init(&hits[i], 0);
  Count c = {.hits = hits};
  cr_assert_eq(tns_parallel_for(n, 1 << 10, count_piece, &c), TNS_OK);
  for (int64_t i = 0; i < n; i++) cr_assert_eq(atomic_load(&hits[i]), 1, "iteration %lld", (long long)i);
  memset(hits, 0xff, sizeof hits);   /* a late writer would leave a mark */
}

Test(parallel, jobs_after_idle_pauses_and_back_to_back) {
  for (int round = 0; round < 20; round++) {
    struct timespec t = {0, round % 2 ? 5000000 : 0};   /* 5 ms: past the workers' spin */
    nanosleep(&t, NULL);
    for (int k = 0; k < 50; k++) one_job(64 + (round * 50 + k) % 4000);
  }
}

Test(parallel, small_loops_run_on_the_caller_in_one_piece) {
  int64_t n = 50;
  Count c = {.hits = calloc((size_t)n, sizeof(atomic_int))};
  cr_assert_eq(tns_parallel_for(n, 10, count_piece, &c), TNS_OK);
  cr_assert_eq(atomic_load(&c.pieces), 1);
  cr_assert(pthread_equal(c.threads[0], pthread_self()));
  free(c.hits);
}

Test(parallel, empty_and_negative_ranges_do_nothing) {
  Count c = {.hits = NULL};
  cr_assert_eq(tns_parallel_for(0, 1000, count_piece, &c), TNS_OK);
  cr_assert_eq(tns_parallel_for(-5, 1000, count_piece, &c), TNS_OK);
  cr_assert_eq(atomic_load(&c.pieces), 0);
}

/* Fails at every iteration from 'from' on, naming the iteration. */
static int fail_from(void *env, int64_t lo, int64_t hi) {
  int64_t from = *(int64_t *)env;
  for (int64_t i = lo; i < hi; i++)
    if (i >= from) return tns_error_at("t.tns:3:4", TNS_ERR_BOUNDS, "index %lld is out of range", (long long)i);
  return TNS_OK;
}

/* The serial loop's first error, whichever thread met which first. */
Test(parallel, the_error_is_the_one_the_serial_loop_meets_first) {
  for (int round = 0; round < 20; round++) {
    int64_t from = 123457;
    tns_clear_error();
    cr_assert_eq(tns_parallel_for(400000, 1000, fail_from, &from), TNS_ERR_BOUNDS);
    cr_assert_str_eq(tns_last_error(), "index 123457 is out of range");
    cr_assert_str_eq(tns_last_error_loc(), "t.tns:3:4");
    cr_assert_eq(tns_last_status(), TNS_ERR_BOUNDS);
  }
}

/* A loop inside a piece runs serially on that thread. */
static int nested_piece(void *env, int64_t lo, int64_t hi) {
  Count *outer = env;
  for (int64_t i = lo; i < hi; i++) {
    Count inner = {.hits = calloc(1000, sizeof(atomic_int))};
    int st = tns_parallel_for(1000, 1000, count_piece, &inner);
    int one_piece = atomic_load(&inner.pieces) == 1;
    free(inner.hits);
    if (st != TNS_OK || !one_piece) return TNS_ERR_INTERNAL;
    atomic_fetch_add(&outer->hits[i], 1);
  }
  return TNS_OK;
}

Test(parallel, nested_loops_run_serially_inside) {
  Count c = {.hits = calloc(64, sizeof(atomic_int))};
  cr_assert_eq(tns_parallel_for(64, 1 << 20, nested_piece, &c), TNS_OK);
  for (int i = 0; i < 64; i++) cr_assert_eq(atomic_load(&c.hits[i]), 1);
  free(c.hits);
}

/* Two host threads using the pool at once both get every iteration. */
static void *host(void *arg) {
  int64_t n = 200000;
  Count *c = arg;
  c->hits = calloc((size_t)n, sizeof(atomic_int));
  for (int r = 0; r < 20; r++)
    if (tns_parallel_for(n, 10, count_piece, c) != TNS_OK) return NULL;
  return c;
}

Test(parallel, concurrent_host_threads) {
  static Count a, b;
  pthread_t ta, tb;
  pthread_create(&ta, NULL, host, &a);
  pthread_create(&tb, NULL, host, &b);
  void *ra, *rb;
  pthread_join(ta, &ra);
  pthread_join(tb, &rb);
  cr_assert_not_null(ra);
  cr_assert_not_null(rb);
  for (int64_t i = 0; i < 200000; i++) {
    cr_assert_eq(atomic_load(&a.hits[i]), 20);
    cr_assert_eq(atomic_load(&b.hits[i]), 20);
  }
  free(a.hits);
  free(b.hits);
}

/* Interrupting a parallel loop stops it with TNS_ERR_INTERRUPTED. */
static int interruptible(void *env, int64_t lo, int64_t hi) {
  (void)env;
  for (int64_t i = lo; i < hi; i++) {
    if (i == 5000) tns_request_interrupt();
    int st = tns_check_interrupt();
    if (st) return st;
  }
  return TNS_OK;
}

Test(parallel, an_interrupt_stops_the_loop) {
  cr_assert_eq(tns_parallel_for(100000, 1000, interruptible, NULL), TNS_ERR_INTERRUPTED);
  cr_assert_eq(tns_check_interrupt(), TNS_OK);   /* the request was consumed */
}

/* A child forked after the pool started gets a pool of its own. */
Test(parallel, a_forked_child_can_use_the_pool) {
  int64_t n = 100000;
  Count c = {.hits = calloc((size_t)n, sizeof(atomic_int))};
  cr_assert_eq(tns_parallel_for(n, 100, count_piece, &c), TNS_OK);
  pid_t pid = fork();
  if (pid == 0) {
    Count d = {.hits = calloc((size_t)n, sizeof(atomic_int))};
    int ok = tns_parallel_for(n, 100, count_piece, &d) == TNS_OK;
    for (int64_t i = 0; ok && i < n; i++) ok = atomic_load(&d.hits[i]) == 1;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  free(c.hits);
}
