/* fixture.h — shared by the front-end unit tests: a Compiler per test
 * whose diagnostics go to a memory buffer. */
#ifndef TNS_TEST_FIXTURE_H
#define TNS_TEST_FIXTURE_H
#include <stdio.h>
#include <stdlib.h>
#include "compile.h"

/* mkstemp's pattern: six capital X */
#define MKSTEMP_SUFFIX "X" "X" "X" "X" "X" "X"

static Compiler *comp;
static char *diag_buf;
static size_t diag_len;
static FILE *diag_out;

static inline void setup(void) {
  diag_out = open_memstream(&diag_buf, &diag_len);
  comp = compiler_new(diag_out);
}

static inline void teardown(void) {
  compiler_free(comp);
  if (diag_out) fclose(diag_out);
  free(diag_buf);
}

/* Everything reported so far. */
static inline const char *diags(void) {
  fflush(diag_out);
  return diag_buf ? diag_buf : "";
}

#endif
