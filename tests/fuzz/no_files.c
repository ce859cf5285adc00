/* no_files.c — file access for the fuzz targets: while an input is being
 * processed, fopen fails (ENOENT) for every path, so a fuzzed program can
 * neither `import` nor `load`/`save` a real file, nor the REPL `:load` one.
 * The harness executable defines fopen, which takes precedence over libc's
 * for the compiler and runtime linked into it; libFuzzer's own corpus
 * reading happens outside an input and goes through. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fuzz.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int deny;

/* libFuzzer writes a crashing input (crash-<sha1>, leak-, timeout-, oom-)
 * from inside the input's run: that write must get through. */
static int is_artifact(const char *path, const char *mode) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  static const char *kinds[] = {"crash-", "leak-", "timeout-", "oom-", "slow-unit-"};
  for (size_t i = 0; mode[0] == 'w' && i < sizeof kinds / sizeof *kinds; i++)
    if (strncmp(base, kinds[i], strlen(kinds[i])) == 0) return 1;
  return 0;
}

void fuzz_deny_files(int on) { deny = on; }

FILE *fopen(const char *path, const char *mode) {
  static FILE *(*real)(const char *, const char *);
  if (deny && !is_artifact(path, mode)) {
    errno = ENOENT;
    return NULL;
  }
  if (!real) real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
  return real(path, mode);
}
