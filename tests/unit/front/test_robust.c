/* Robustness of the front end (lex, parse, sema) on broken input: every
 * byte prefix of every good program (tests/lang/good/ (*.tns), found at run
 * time, plus programs embedded here so the test never passes on an empty
 * folder) and single-byte mutations of them go through parse + sema in
 * process, each with a fresh Compiler. For each input: no crash (Criterion
 * runs each test in its own process, so a crash fails the test; the input
 * being checked is printed first), and either no error or at least one
 * `path:LINE:COL: error:` line whose LINE:COL lies inside the input. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "sema.h"

enum { EVERY_BYTE_UP_TO = 2000, STRIDE = 5, MAX_FILE = 1 << 20 };

/* ---- what is being checked, for the crash report ---- */

static char current[512];

static void say_current(void) {
  if (write(2, current, strlen(current)) < 0) return;
}

static void on_crash(int sig) {
  say_current();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Under AddressSanitizer the report ends the process through its own
 * path; ask it to name the input too. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void setup(void) {
  /* the handler must run even when the stack has overflowed */
  static char altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {.sa_handler = on_crash, .sa_flags = SA_ONSTACK | SA_RESETHAND};
  sigaction(SIGSEGV, &sa, NULL);
  signal(SIGABRT, on_crash);
  signal(SIGABRT, on_crash);
  signal(SIGBUS, on_crash);
  signal(SIGFPE, on_crash);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(say_current);
}

TestSuite(robust, .init = setup);

/* ---- one input ---- */

/* The length of line `line` (1-based) of text[0..n), or -1 if there is
 * no such line. */
static int line_length(const char *text, int n, int line) {
  int l = 1, start = 0;
  for (int i = 0; i < n && l < line; i++)
    if (text[i] == '\n') { l++; start = i + 1; }
  if (l != line) return -1;
  int end = start;
  while (end < n && text[end] != '\n') end++;
  return end - start;
}

/* Whether the diagnostics hold `path:LINE:COL: error:` inside text, or an
 * error in an imported file with a `note:` pointing into text (the
 * import that brought it in). */
static int has_located_error(const char *out, const char *path, const char *text, int n) {
  size_t plen = strlen(path);
  for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    int line, col, used = 0;
    if (strncmp(p, path, plen) != 0 || p[plen] != ':') continue;
    if (sscanf(p + plen + 1, "%d:%d: error:%n", &line, &col, &used) != 2 || used == 0)
      if (sscanf(p + plen + 1, "%d:%d: note:%n", &line, &col, &used) != 2 || used == 0) continue;
    int len = line_length(text, n, line);
    if (len >= 0 && col >= 1 && col <= len + 1) return 1;
  }
  return 0;
}

enum { SHOW_FAILURES = 40 };
static int failures;   /* inputs whose errors point nowhere */

/* Parses and checks text[0..n) as file `path`; counts a failure (and shows
 * the first few) when the errors reported do not point into the text. */
static void try_input(const char *path, const char *text, int n, const char *what) {
  snprintf(current, sizeof current, "robust: crashed on %s of %s (%d bytes)\n", what, path, n);
  char *out = NULL;
  size_t outlen = 0;
  FILE *f = open_memstream(&out, &outlen);
  Compiler *c = compiler_new(f);
  c->diag.max_errors = 0;
  Source *src = arena_alloc(c->arena, sizeof *src);
  char *copy = arena_alloc(c->arena, (size_t)n + 1);
  memcpy(copy, text, (size_t)n);
  src->path = path;
  src->text = copy;
  src->len = n;
  Node *prog = parse_source(&c->ast, src);
  if (prog) sema_program(c, prog, path);
  int nerrors = c->diag.nerrors;
  compiler_free(c);
  fclose(f);
  int ok = nerrors == 0 || has_located_error(out, path, text, n);
  if (!ok && failures++ < SHOW_FAILURES)
    cr_log_error("%s of %s: %d errors but none located inside the input:\n%.*s\n"
                 "---- diagnostics:\n%s", what, path, nerrors, n, text, out);
  free(out);
}

/* Every prefix: each byte up to EVERY_BYTE_UP_TO, then every STRIDE-th
 * byte and both sides of every line end; and the whole text. */
static int try_prefixes(const char *path, const char *text, int n) {
  int tried = 0;
  for (int k = 0; k <= n; k++) {
    int take = k <= EVERY_BYTE_UP_TO || k % STRIDE == 0 || k == n || text[k] == '\n' ||
               (k > 0 && text[k - 1] == '\n');
    if (!take) continue;
    try_input(path, text, k, "a prefix");
    tried++;
  }
  return tried;
}

/* Single-byte changes at a deterministic sample of positions: each
 * replaced by characters that upset a parser, or deleted. */
static void try_mutations(const char *path, const char *text, int n, int count) {
  static const char subst[] = "()[]{}:,\n\"#*=.x0-!";
  char *buf = malloc((size_t)n + 1);
  unsigned seed = 12345;
  for (int t = 0; t < count && n > 0; t++) {
    seed = seed * 1103515245u + 12345u;
    int pos = (int)((seed >> 8) % (unsigned)n);
    memcpy(buf, text, (size_t)n);
    int len = n;
    int choice = (int)((seed >> 20) % (sizeof subst));
    if (choice == (int)sizeof subst - 1) {   /* delete the byte */
      memmove(buf + pos, buf + pos + 1, (size_t)(n - pos - 1));
      len--;
    } else {
      buf[pos] = subst[choice];
    }
    try_input(path, buf, len, "a mutation");
  }
  free(buf);
}

/* ---- the inputs ---- */

static const char *const embedded[] = {
  "# matrix product and a bias\n"
  "A = randn(f64[3, 4])\n"
  "B = randn(f64[4, 5])\n"
  "C[i, k] = A[i, j] * B[j, k]\n"
  "x = randn(f64[4])\n"
  "b = randn(f64[3])\n"
  "y[i] = A[i, j] * x[j] + b[i]\n"
  "print(C, y)\n",

  "def attention(Q: f32[n, d], K: f32[m, d], V: f32[m, e]) -> f32[n, e] {\n"
  "  S[i, j] = Q[i, c] * K[j, c] / sqrt(f32(d))\n"
  "  P[i, j] = softmax(j: S[i, j])\n"
  "  O[i, x] = P[i, j] * V[j, x]\n"
  "  return O\n"
  "}\n"
  "\n"
  "Q = randn(f32[8, 4], 1)\n"
  "K = randn(f32[16, 4], 2)\n"
  "V: f32[16, 2] = randn(f32[16, 2], 3)\n"
  "print(attention(Q, K, V))\n",

  "def kr(A: f64[m, n], B: f64[p, q]) -> f64[m*p, n*q] {\n"
  "  K[(i, k), (j, l)] = A[i, j] * B[k, l]\n"
  "  return K\n"
  "}\n"
  "def two(x: f64[n]) -> (f64[n], f64) {\n"
  "  s = sum(i: x[i])\n"
  "  return x, s\n"
  "}\n"
  "X = randn(f64[2, 3, 4])\n"
  "Y = randn(f64[5, 6, 4])\n"
  "s[q, p] = sum(a: max(b: X[q, a, c] * Y[p, b, c]))\n"
  "D[i, k] = min(j: X[0, i, j] + Y[0, k, j])\n"
  "n = 4\n"
  "I[i: n, j: n] = f64(i == j)\n"
  "v = zeros(f64[4])\n"
  "for t in 0..10 {\n"
  "  w[i] = I[i, j] * v[j] + 1.0\n"
  "  v = w\n"
  "  if t > 5 {\n"
  "    assert(v[0] > 0.0, \"positive\")\n"
  "  } else {\n"
  "    print(\"t =\", t)\n"
  "  }\n"
  "}\n"
  "a, z = two(v)\n"
  "M: f32[2, 2] = [[1, 2], [3, -4.5e-1]]\n"
  "Z = kr(randn(f64[2, 3]), randn(f64[4, 5]))\n"
  "L[i] = logsumexp(j: Z[i, j]) - Z[i, 0] % 2.0\n",
};

/* Reads a whole file; NULL if it cannot be read. */
static char *read_file(const char *path, int *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(MAX_FILE + 1);
  size_t got = fread(buf, 1, MAX_FILE, f);
  fclose(f);
  buf[got] = 0;
  *n = (int)got;
  return buf;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

typedef void (*FileFn)(const char *path, const char *text, int n, int *tried);

/* Calls fn on every .tns file of dir; returns how many. */
static int for_each_good_file(FileFn fn, int *tried) {
  const char *dir = TNS_TEST_DIR "/lang/good";
  DIR *d = opendir(dir);
  if (!d) return 0;
  int files = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!ends_with(e->d_name, ".tns")) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    int n = 0;
    char *text = read_file(path, &n);
    if (!text) continue;
    fn(path, text, n, tried);
    free(text);
    files++;
  }
  closedir(d);
  return files;
}

static void prefixes_of_file(const char *path, const char *text, int n, int *tried) {
  *tried += try_prefixes(path, text, n);
}

static void mutations_of_file(const char *path, const char *text, int n, int *tried) {
  try_mutations(path, text, n, 150);
  (*tried)++;
}

/* ---- the tests ---- */

Test(robust, embedded_programs_are_clean) {
  /* the embedded programs are good programs: the whole text checks clean,
   * so the prefixes below start from something meaningful */
  for (size_t i = 0; i < sizeof embedded / sizeof *embedded; i++) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    Compiler *c = compiler_new(f);
    Source *src = source_from_string(c->arena, "embedded.tns", embedded[i]);
    Node *prog = parse_source(&c->ast, src);
    if (prog) sema_program(c, prog, "embedded.tns");
    int nerrors = c->diag.nerrors;
    compiler_free(c);
    fclose(f);
    cr_expect_eq(nerrors, 0, "embedded program %zu:\n%s", i, out);
    free(out);
  }
}

Test(robust, prefixes_of_every_program, .timeout = 300) {
  int tried = 0, programs = 0;
  for (size_t i = 0; i < sizeof embedded / sizeof *embedded; i++) {
    char path[64];
    snprintf(path, sizeof path, "embedded%zu.tns", i);
    tried += try_prefixes(path, embedded[i], (int)strlen(embedded[i]));
    programs++;
  }
  programs += for_each_good_file(prefixes_of_file, &tried);
  cr_log_info("robust: %d programs, %d prefixes", programs, tried);
  cr_assert_gt(programs, 0);
  cr_assert_gt(tried, 0);
  cr_assert_eq(failures, 0, "%d of %d prefixes have errors that point nowhere", failures, tried);
}

Test(robust, mutations_of_every_program, .timeout = 300) {
  int tried = 0;
  for (size_t i = 0; i < sizeof embedded / sizeof *embedded; i++) {
    char path[64];
    snprintf(path, sizeof path, "embedded%zu.tns", i);
    try_mutations(path, embedded[i], (int)strlen(embedded[i]), 400);
    tried++;
  }
  for_each_good_file(mutations_of_file, &tried);
  cr_assert_gt(tried, 0);
  cr_assert_eq(failures, 0, "%d mutations have errors that point nowhere", failures);
}

Test(robust, odd_inputs) {
  static const struct { const char *text; int n; } cases[] = {
    {"", 0}, {"\n", 1}, {"\0", 1}, {"x\0y = 1\n", 8}, {"\xff\xfe", 2},
    {"((((((((((", 10}, {"))))]]]}}}", 10}, {"{[(", 3}, {"\"", 1}, {"#", 1},
    {"A[", 2}, {"def", 3}, {"def f(", 6}, {"x = 1 +", 7}, {"import", 6},
    {"import \"", 8}, {"for i in", 8}, {"for i in 0..", 12}, {"if", 2}, {"else {}", 7},
    {"x[(i, (j, k))] = 1", 18}, {"y[i: -1] = 0", 12}, {"z = sum(: x)", 12},
    {"f64[", 4}, {"a, = 1", 6}, {", = 1", 5}, {"return return", 13}, {"} else {", 8},
    {"f(x: 1)[0] = 2", 14}, {"y = g(a: 1) + 1", 15}, {"if c { x = 1 + }", 16},
    {"x[0][1][2] = 3", 14}, {"def f(x: f64) -> (f64, ) { return x, x }", 40},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    try_input("odd.tns", cases[i].text, cases[i].n, "an odd input");
  cr_assert_eq(failures, 0);
}

/* text = head + count copies of unit + tail, in a malloc'ed buffer */
static char *repeat(const char *head, const char *unit, int count, const char *tail) {
  size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
  char *s = malloc(h + u * (size_t)count + t + 1), *p = s;
  memcpy(p, head, h);
  p += h;
  for (int i = 0; i < count; i++, p += u) memcpy(p, unit, u);
  memcpy(p, tail, t + 1);
  return s;
}

/* Long but flat programs build deep left-leaning trees: the front end
 * must cope (or refuse with a located error), not overflow its stack. */
Test(robust, long_expressions) {
  static const struct { const char *head, *unit; int count; const char *tail; } cases[] = {
    {"x = 1", " + 1", 100000, "\n"},
    {"A = randn(f64[3])\ny[i] = A[i]", " * A[i]", 50000, "\n"},
    {"x = 1.0\ny = ", "-", 3000, "x\n"},
    {"b = true\nc = ", "!", 3000, "b\n"},
    {"x = ", "(", 250, "1"},
    {"x = ", "[", 250, "1"},
    {"x = ", "f(", 200, "1"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *text = repeat(cases[i].head, cases[i].unit, cases[i].count, cases[i].tail);
    try_input("long.tns", text, (int)strlen(text), "a long expression");
    free(text);
  }
  cr_assert_eq(failures, 0);
}
