/* compile.c — one compilation: arena, names, diagnostics, the sources read
 * and the search paths; file -> AST (sema_check_file adds the types). */
#include "compile.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"

/* The stdlib is found beside the source tree in a build, under the install
 * prefix once installed, or wherever TNS_STDLIB points. */
static const char *find_stdlib(void) {
  const char *env = getenv("TNS_STDLIB");
  if (env && *env) return env;
  static TnsPaths paths;   /* beside the running tnsc: build tree or PREFIX */
  config_paths(&paths);
  struct stat st;
  if (stat(paths.stdlib_dir, &st) == 0) return paths.stdlib_dir;
  if (stat(TNS_STDLIB_DIR, &st) == 0) return TNS_STDLIB_DIR;   /* unit tests */
  return TNS_INSTALL_STDLIB_DIR;
}

Compiler *compiler_new(FILE *diag_out) {
  Compiler *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->arena = arena_new();
  strtab_init(&c->names, c->arena);
  diag_sink_init(&c->diag, diag_out);
  c->ast.arena = c->arena;
  c->ast.names = &c->names;
  c->ast.diag = &c->diag;
  c->stdlib_dir = find_stdlib();
  return c;
}

void compiler_free(Compiler *c) {
  if (!c) return;
  arena_free(c->arena);
  free(c);
}

int compiler_add_include(Compiler *c, const char *dir) {
  if (c->ninclude == MAX_INCLUDE_DIRS) return 0;
  c->include_dirs[c->ninclude++] = dir;
  return 1;
}

Node *compiler_parse_file(Compiler *c, const char *path) {
  Source *src = source_load(c->arena, &c->diag, path);
  if (!src) return NULL;
  ptrvec_push(c->arena, &c->sources, src);
  return parse_source(&c->ast, src);
}

const Source *compiler_source(Compiler *c, const char *path) {
  for (int i = 0; i < c->sources.n; i++) {
    const Source *s = c->sources.items[i];
    if (strcmp(s->path, path) == 0) return s;
  }
  return NULL;
}
