/* repl.h — `tnsc repl`: statements and defs evaluated one input at a time,
 * tensors and functions kept between inputs. */
#ifndef TNS_REPL_H
#define TNS_REPL_H
#include <stdio.h>

typedef struct ReplOptions {
  int interactive;      /* prompts, line editing, history */
  int strict;           /* stop with status 1 at the first error */
  int opt_level;
  const char **include_dirs;
  int ninclude;
} ReplOptions;

/* Reads inputs from `in` until end of input or :quit; returns the exit
 * status (0, or 1 under --strict after an error). */
int repl_run(FILE *in, const ReplOptions *o);

#endif
