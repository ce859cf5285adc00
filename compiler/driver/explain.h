/* explain.h — `tnsc explain [--json]`: per contracted statement, the
 * operands, the path (opt_einsum's linear convention), each step's kind
 * and cost, naive and chosen FLOPs, the largest intermediate.
 * `tnsc explain --dot [--stmt LINE]`: the same trees for Graphviz. */
#ifndef TNS_EXPLAIN_H
#define TNS_EXPLAIN_H
#include <stdio.h>
#include "tir.h"

void explain_print(FILE *f, const TirProgram *p, int json);

/* One digraph: a cluster per contracted statement of the file at path
 * (line > 0: only those on that line) with a box per operand and per
 * step (and per transposed copy), edges from each step's inputs. Returns
 * 1 after a message on err when no statement is on that line. */
int explain_dot(FILE *f, FILE *err, const TirProgram *p, const char *path, int line);

#endif
