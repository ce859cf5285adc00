/* compile.h — one compilation: its arena, names, diagnostics, search
 * paths and the sources read; parsing a file (sema_check_file, sema.h,
 * parses and checks). */
#ifndef TNS_COMPILE_H
#define TNS_COMPILE_H
#include "ast.h"
#include "parse.h"

enum { MAX_INCLUDE_DIRS = 32 };

typedef struct Compiler {
  Arena *arena;
  StrTab names;
  DiagSink diag;
  Ast ast;
  const char *include_dirs[MAX_INCLUDE_DIRS];
  int ninclude;
  const char *stdlib_dir;
  PtrVec sources;       /* every Source read, for run-time error carets */
} Compiler;

Compiler *compiler_new(FILE *diag_out);
void compiler_free(Compiler *c);
int compiler_add_include(Compiler *c, const char *dir);
/* Parses a file; NULL when it cannot be read or nothing parsed. */
Node *compiler_parse_file(Compiler *c, const char *path);
/* The Source of a path read by this compilation, or NULL. */
const Source *compiler_source(Compiler *c, const char *path);

#endif
