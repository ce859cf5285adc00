/* emit.h — ahead-of-time output: objects, shared libraries, executables,
 * and C headers for the exported functions (`tnsc obj|lib|build`). */
#ifndef TNS_EMIT_H
#define TNS_EMIT_H
#include "compile.h"

typedef enum EmitKind { EMIT_OBJ, EMIT_LIB, EMIT_EXE } EmitKind;

typedef struct EmitOptions {
  EmitKind kind;
  const char *out;          /* -o */
  const char *header;       /* -H, or NULL */
  const char *cpu;          /* --target-cpu; NULL: x86-64-v3 */
  int opt_level;
  double memory_limit;
  const char *instantiate[32];  /* NAME:f32[,f64] */
  int ninstantiate;
} EmitOptions;

/* 0 on success, 1 on a compile error, 2 when writing or linking fails. */
int emit_file(Compiler *c, const char *path, const EmitOptions *o);

#endif
