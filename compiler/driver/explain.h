/* explain.h — `tnsc explain [--json]`: per contracted statement, the
 * operands, the path (opt_einsum's linear convention), each step's kind
 * and cost, naive and chosen FLOPs, the largest intermediate. */
#ifndef TNS_EXPLAIN_H
#define TNS_EXPLAIN_H
#include <stdio.h>
#include "tir.h"

void explain_print(FILE *f, const TirProgram *p, int json);

#endif
