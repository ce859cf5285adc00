/* peers_tnsc.c — the workloads of bench/eigen_peers.cpp, compiled by tnsc
 * (bench/workloads.tns, `tnsc lib`) and called the way Eigen's program
 * runs its own: the same call repeated (3 warm-up runs, median of 15), so
 * that both sides see the same caches. bench/peers.py alternates the two.
 *   usage: peers_tnsc LIBWORKLOADS.so    prints "workload<TAB>ms" lines */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*Call)(void);

static void *lib;
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void *fn(const char *name) {
  void *f = dlsym(lib, name);
  if (!f) {
    fprintf(stderr, "peers_tnsc: %s is not in the library\n", name);
    exit(1);
  }
  return f;
}

static double *random_array(int64_t n, unsigned seed) {
  double *a = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  srand(seed);
  for (int64_t i = 0; i < n; i++) a[i] = 2.0 * rand() / RAND_MAX - 1.0;
  return a;
}

/* The median of 15 timed calls after 3 warm-up calls; exits on an error. */
static void report(const char *name, Call run) {
  double t[15];
  for (int i = 0; i < 18; i++) {
    double t0 = now_ms();
    if (run() != 0) {
      fprintf(stderr, "peers_tnsc: %s failed\n", name);
      exit(1);
    }
    if (i >= 3) t[i - 3] = now_ms() - t0;
  }
  qsort(t, 15, sizeof t[0], by_value);
  printf("%s\t%.3f\n", name, t[7]);
}

/* The inputs of each workload, as Eigen's program sizes them. */
static double *A, *B, *C, *D, *x, *y, *K1, *s1;
static int64_t n;

/* The compiled functions, looked up once (not inside the timed calls). */
static int (*f_kron3)(int64_t, double *, double *, double *, double *, double *);
static int (*f_mixed)(int64_t, double *, double *, double *, double *, double *, double *);
static int (*f_named)(int64_t, double *, double *, double *, double *);
static int (*f_gp)(int64_t, double *, double *, double *, double *, double *, double *);
static int (*f_batched)(int64_t, int64_t, int64_t, int64_t, double *, double *, double *);

static int kron3(void) { return f_kron3(n, A, B, C, x, y); }
static int mixed(void) { return f_mixed(n, A, B, C, D, x, y); }
static int named(void) { return f_named(n, A, B, x, y); }
static int gp(void) { return f_gp(n, K1, K1, K1, x, s1, y); }
static int small(void) { return f_batched(n, 4, 4, 4, A, B, y); }

static void setup(int64_t size, int64_t nin, int64_t nx, int64_t ny) {
  n = size;
  A = random_array(nin, 1), B = random_array(nin, 2), C = random_array(nin, 3), D = random_array(nin, 4);
  x = random_array(nx, 5), y = random_array(ny, 6);
}

static void release(void) { free(A), free(B), free(C), free(D), free(x), free(y); }

int main(int argc, char **argv) {
  if (argc != 2 || !(lib = dlopen(argv[1], RTLD_NOW))) {
    fprintf(stderr, "usage: peers_tnsc LIBWORKLOADS.so (%s)\n", dlerror());
    return 2;
  }
  *(void **)&f_kron3 = fn("kron3_matvec"), *(void **)&f_mixed = fn("kron_mixed");
  *(void **)&f_named = fn("kron_named"), *(void **)&f_gp = fn("kron_gp_solve"), *(void **)&f_batched = fn("batched");
  setup(64, 64 * 64, 64 * 64 * 64, 64 * 64 * 64);
  report("kron3 matvec n=64", kron3);
  release();
  setup(96, 96 * 96, 96 * 96, 96 * 96);
  report("(A⊗B)(C⊗D)x n=96", mixed);
  release();
  setup(256, 256 * 256, 256 * 256, 256 * 256);
  report("K = kron(A,B); K x n=256", named);
  release();
  setup(32, 1, 32 * 32 * 32, 32 * 32 * 32);   /* the squared-exponential kernel of Eigen's program */
  K1 = malloc(sizeof(double) * 32 * 32);
  for (int i = 0; i < 32; i++)
    for (int j = 0; j < 32; j++) {
      double d = (double)(i - j) / 31;
      K1[i * 32 + j] = exp(-0.5 * d * d / 0.04);
    }
  double s = 0.1;
  s1 = &s;
  report("Kronecker GP solve n=32^3", gp);
  release();
  free(K1);
  setup(100000, 100000 * 16, 0, 100000 * 16);
  report("100000 4x4 products", small);
  release();
  return 0;
}
