/* timing.h — wall-clock time per compiler stage (`tnsc run --time`). */
#ifndef TNS_TIMING_H
#define TNS_TIMING_H
#include <stdio.h>

/* STAGE(id, label) */
#define STAGES(STAGE) \
  STAGE(ST_PARSE, "parse") \
  STAGE(ST_SEMA, "sema (and imports)") \
  STAGE(ST_TIR, "TIR build") \
  STAGE(ST_PASSES, "TIR passes") \
  STAGE(ST_LIR, "LIR (loop nests)") \
  STAGE(ST_CODEGEN, "LLVM IR generation") \
  STAGE(ST_OPT, "LLVM optimisation") \
  STAGE(ST_JIT, "JIT code generation") \
  STAGE(ST_EXEC, "execution")

typedef enum {
#define STAGE(id, label) id,
  STAGES(STAGE)
#undef STAGE
  ST_COUNT
} Stage;

typedef struct StageTimes {
  double sec[ST_COUNT];
} StageTimes;

/* Monotonic seconds. */
double timing_now(void);
/* Adds the time since `since` to stage s of t (nothing when t is NULL). */
void timing_add(StageTimes *t, Stage s, double since);
/* One line per stage, then the total. */
void timing_print(FILE *f, const StageTimes *t);

#endif
