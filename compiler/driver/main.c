/* main.c — the `tnsc` command line. The only place that calls exit(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <llvm-c/Core.h>
#include "compile.h"
#include "tir.h"
#include "pipeline.h"
#include "run.h"
#include "sema.h"
#include "emit.h"
#include "config.h"
#include "repl.h"
#include "explain.h"
#include "lir.h"
#include <llvm-c/TargetMachine.h>

typedef int (*CommandFn)(int argc, char **argv);

static int cmd_check(int argc, char **argv);
static int cmd_emit(int argc, char **argv);
static int cmd_config(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_repl(int argc, char **argv);
static int cmd_explain(int argc, char **argv);
static int cmd_obj(int argc, char **argv);
static int cmd_lib(int argc, char **argv);
static int cmd_build(int argc, char **argv);

/* CMD(name, function or NULL when not built yet, one-line help) */
#define COMMANDS(CMD) \
  CMD("run", cmd_run, "run FILE.tns [-O0..-O3] [--time]  compile and run a program (JIT)") \
  CMD("repl", cmd_repl, "repl [--strict]           interactive session (also bare tnsc on a terminal)") \
  CMD("build", cmd_build, "build FILE.tns -o EXE     an executable running the top-level statements") \
  CMD("obj", cmd_obj, "obj FILE.tns -o F.o [-H F.h]  C-callable object file") \
  CMD("lib", cmd_lib, "lib FILE.tns -o libF.so [-H F.h]  shared library") \
  CMD("explain", cmd_explain, "explain [--json|--dot [--stmt LINE]] FILE.tns  contraction paths and costs") \
  CMD("emit", cmd_emit, "emit tokens|ast|tir|lir|llvm|asm FILE.tns  print a compiler stage") \
  CMD("check", cmd_check, "check FILE.tns...        report errors, run nothing") \
  CMD("config", cmd_config, "config --cflags|--libs   flags for linking tnsc objects")

static const struct { const char *name; CommandFn fn; const char *help; } commands[] = {
#define CMD(name, fn, help) {name, fn, help},
  COMMANDS(CMD)
#undef CMD
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

static void usage(FILE *f) {
  fputs("usage: tnsc COMMAND [options] [FILE.tns]\n\n"
        "tnsc compiles TNS, an einsum-style language for tensor programs.\n\n"
        "commands:\n", f);
  for (int i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %s%s\n", commands[i].help, commands[i].fn ? "" : "  (not built yet)");
  fputs("\noptions:\n"
        "  -I DIR        search DIR for imports\n"
        "  -O0..-O3      optimisation level (default -O2; -O0 is the naive reference)\n"
        "  --memory-limit=N     largest intermediate of a contraction, in elements\n"
        "  --dump-after=PASS    print the TIR after a pass (hoist, contract, layout, outslot)\n"
        "  --json        explain: machine-readable output\n"
        "  --dot         explain: the contraction trees as a Graphviz digraph\n"
        "  --stmt LINE   explain --dot: only the statement on LINE\n"
        "  --time        run: time of each compiler stage and of the run, on stderr\n"
        "  -o FILE       output of obj, lib, build\n"
        "  -H FILE       also write a C header (obj, lib)\n"
        "  --target-cpu=CPU     native, x86-64-v3 (default for obj/lib/build), ...\n"
        "  --instantiate NAME:T export generic NAME for element type T as NAME_T\n"
        "  --help        this text\n"
        "  --version     version of tnsc and of its LLVM\n", f);
}

static void version(void) {
  unsigned maj, min, patch;
  LLVMGetVersion(&maj, &min, &patch);
  printf("tnsc %s (LLVM %u.%u.%u)\n", TNS_VERSION, maj, min, patch);
}

static int opt_level = 2;
static double memory_limit;
static const char *dump_after;
static int want_json;
static int want_dot, dot_line;   /* explain --dot [--stmt LINE] */
static int want_time;   /* run --time: each stage's time on stderr */

/* Collects -O and -I DIR options into c; leaves files in files[]. Returns the
 * number of files, or -1 after printing a usage error. */
static int parse_common(Compiler *c, int argc, char **argv, char **files, int max) {
  int n = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
      opt_level = a[2] - '0';
    } else if (strncmp(a, "--memory-limit=", 15) == 0) {
      memory_limit = strtod(a + 15, NULL);
    } else if (strncmp(a, "--dump-after=", 13) == 0) {
      dump_after = a + 13;
    } else if (strcmp(a, "--json") == 0) {
      want_json = 1;
    } else if (strcmp(a, "--dot") == 0) {
      want_dot = 1;
    } else if ((strcmp(a, "--stmt") == 0 && i + 1 < argc) || strncmp(a, "--stmt=", 7) == 0) {
      const char *v = a[6] == '=' ? a + 7 : argv[++i];
      char *end;
      long line = strtol(v, &end, 10);
      if (*end || line <= 0 || line > 1 << 30) {
        fprintf(stderr, "tnsc: --stmt takes a line number, not '%s'\n", v);
        return -1;
      }
      dot_line = (int)line;
    } else if (strcmp(a, "--time") == 0 || strcmp(a, "--time-passes") == 0) {
      want_time = 1;
    } else if (strcmp(a, "-I") == 0 && i + 1 < argc) {
      compiler_add_include(c, argv[++i]);
    } else if (strncmp(a, "-I", 2) == 0 && a[2]) {
      compiler_add_include(c, a + 2);
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "tnsc: unknown option '%s'\n", a);
      return -1;
    } else if (n < max) {
      files[n++] = argv[i];
    }
  }
  return n;
}

/* tnsc check FILE... : exit 0 when every file is clean, 1 otherwise */
static int cmd_check(int argc, char **argv) {
  char *files[256];
  Compiler *c = compiler_new(stderr);
  int n = parse_common(c, argc, argv, files, 256);
  if (n <= 0) {
    if (n == 0) fputs("tnsc check: no input file\n", stderr);
    compiler_free(c);
    return n < 0 ? 2 : 1;
  }
  for (int i = 0; i < n; i++) sema_check_file(c, files[i]);
  int bad = c->diag.nerrors > 0;
  compiler_free(c);
  return bad;
}

/* LLVM IR or assembly of a program, optimised at the -O level. */
static int emit_code(Compiler *c, const char *path, int assembly) {
  /* the code `tnsc run` would JIT */
  PipelineOptions o = {.cg = {.opt_level = opt_level, .light_glue = 1},
                       .pass = {.memory_limit = memory_limit, .dump_after = dump_after}};
  LLVMTargetMachineRef tm = cg_target_machine(&o.cg);
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = tm ? pipeline_compile_file(c, path, ctx, &o, tm) : NULL;
  int rc = 1;
  if (m && !assembly) {
    char *text = LLVMPrintModuleToString(m);
    fputs(text, stdout);
    LLVMDisposeMessage(text);
    rc = 0;
  } else if (m) {
    LLVMMemoryBufferRef buf;
    char *err = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &err, &buf)) {
      fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), stdout);
      LLVMDisposeMemoryBuffer(buf);
      rc = 0;
    } else {
      fprintf(stderr, "tnsc: %s\n", err);
      LLVMDisposeMessage(err);
    }
  }
  if (m) LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  if (tm) LLVMDisposeTargetMachine(tm);
  return rc;
}

/* tnsc run [-O0..-O3] FILE: 0 ran, 1 compile error, 2 run-time error */
static int cmd_run(int argc, char **argv) {
  char *files[1];
  Compiler *c = compiler_new(stderr);
  int n = parse_common(c, argc, argv, files, 1);
  int rc = 2;
  if (n == 1) {
    StageTimes times = {{0}};
    PipelineOptions o = {.cg = {.opt_level = opt_level, .light_glue = 1, .times = want_time ? &times : NULL},
                         .pass = {.memory_limit = memory_limit, .dump_after = dump_after}};
    rc = run_file(c, files[0], &o);
  } else {
    fputs("tnsc run: expected one program: tnsc run [-O0..-O3] FILE.tns\n", stderr);
  }
  compiler_free(c);
  return rc;
}

/* tnsc emit tokens|ast|tir|llvm|asm FILE */
static int cmd_emit(int argc, char **argv) {
  if (argc < 1) {
    fputs("tnsc emit: say what to emit: tokens, ast, tir, lir, llvm or asm\n", stderr);
    return 2;
  }
  const char *what = argv[0];
  char *files[1];
  Compiler *c = compiler_new(stderr);
  int n = parse_common(c, argc - 1, argv + 1, files, 1);
  int rc = 1;
  if (n != 1) {
    fputs("tnsc emit: expected one input file\n", stderr);
    rc = 2;
  } else if (strcmp(what, "tokens") == 0) {
    Source *src = source_load(c->arena, &c->diag, files[0]);
    if (src) parse_dump_tokens(&c->ast, src, stdout);
    rc = c->diag.nerrors > 0;
  } else if (strcmp(what, "tir") == 0) {
    PipelineOptions o = {.cg = {.opt_level = opt_level}, .pass = {.memory_limit = memory_limit, .dump_after = dump_after}};
    TirProgram *p = pipeline_lower_file(c, files[0], &o);
    if (p && tir_verify(p, stderr) == 0 && !dump_after) tir_print(stdout, p);
    rc = p ? 0 : 1;
  } else if (strcmp(what, "lir") == 0) {
    PipelineOptions o = {.cg = {.opt_level = opt_level}, .pass = {.memory_limit = memory_limit}};
    TirProgram *p = pipeline_lower_file(c, files[0], &o);
    if (p) lir_print_program(stdout, p);
    rc = p ? 0 : 1;
  } else if (strcmp(what, "llvm") == 0 || strcmp(what, "asm") == 0) {
    rc = emit_code(c, files[0], strcmp(what, "asm") == 0);
  } else if (strcmp(what, "ast") == 0) {
    Node *prog = sema_check_file(c, files[0]);
    if (prog) ast_dump(stdout, prog, 0);
    rc = prog ? 0 : 1;
  } else {
    fprintf(stderr, "tnsc emit: unknown stage '%s' (tokens, ast, tir, lir, llvm, asm)\n", what);
    rc = 2;
  }
  compiler_free(c);
  return rc;
}

/* tnsc explain [--json | --dot [--stmt LINE]] [--memory-limit=N] FILE: the contraction paths */
static int cmd_explain(int argc, char **argv) {
  char *files[1];
  Compiler *c = compiler_new(stderr);
  int n = parse_common(c, argc, argv, files, 1), rc = 2;
  if (n == 1 && dot_line && !want_dot) {
    fputs("tnsc explain: --stmt LINE goes with --dot\n", stderr);
  } else if (n == 1 && want_dot && want_json) {
    fputs("tnsc explain: --dot or --json, not both\n", stderr);
  } else if (n == 1) {
    /* explain shows what the passes decide, so at least -O1 */
    PipelineOptions o = {.cg = {.opt_level = opt_level ? opt_level : 1},
                         .pass = {.memory_limit = memory_limit, .dump_after = dump_after}};
    TirProgram *p = pipeline_lower_file(c, files[0], &o);
    rc = p ? 0 : 1;
    if (p && want_dot) rc = explain_dot(stdout, stderr, p, files[0], dot_line);
    else if (p) explain_print(stdout, p, want_json);
  } else if (n >= 0) {
    fputs("tnsc explain: usage: tnsc explain [--json | --dot [--stmt LINE]] [--memory-limit=N] FILE.tns\n", stderr);
  }
  compiler_free(c);
  return rc;
}

/* tnsc repl [--strict] [-O..] [-I DIR]: prompts only on a terminal */
static int cmd_repl(int argc, char **argv) {
  ReplOptions o = {.interactive = isatty(0) && isatty(1), .opt_level = 2};
  const char *dirs[64];
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--strict") == 0) o.strict = 1;
    else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) o.opt_level = a[2] - '0';
    else if (strcmp(a, "-I") == 0 && i + 1 < argc && o.ninclude < 64) dirs[o.ninclude++] = argv[++i];
    else {
      fprintf(stderr, "tnsc repl: unknown option '%s'\n", a);
      return 2;
    }
  }
  o.include_dirs = dirs;
  return repl_run(stdin, &o);
}

/* tnsc config --cflags | --libs: what a C build needs for a tnsc object */
static int cmd_config(int argc, char **argv) {
  TnsPaths p;
  config_paths(&p);
  if (argc < 1) {
    fputs("tnsc config: say --cflags or --libs\n", stderr);
    return 2;
  }
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--cflags") == 0) printf("-I%s\n", p.include_dir);
    else if (strcmp(argv[i], "--libs") == 0) printf("%s/libtnsrt.a %s\n", p.lib_dir, config_system_libs());
    else if (strcmp(argv[i], "--stdlib") == 0) printf("%s\n", p.stdlib_dir);
    else {
      fprintf(stderr, "tnsc config: unknown option '%s' (--cflags, --libs, --stdlib)\n", argv[i]);
      return 2;
    }
  }
  return 0;
}

/* obj/lib/build FILE.tns -o OUT [-H HEADER] [--target-cpu=CPU] [--instantiate N:T] */
static int cmd_emit_kind(int argc, char **argv, EmitKind kind, const char *what) {
  EmitOptions o = {.kind = kind, .opt_level = 2};
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-o") == 0 && i + 1 < argc) o.out = argv[++i];
    else if (strcmp(a, "-H") == 0 && i + 1 < argc) o.header = argv[++i];
    else if (strncmp(a, "--target-cpu=", 13) == 0) o.cpu = a + 13;
    else if (strcmp(a, "--instantiate") == 0 && i + 1 < argc && o.ninstantiate < 32) o.instantiate[o.ninstantiate++] = argv[++i];
    else if (strncmp(a, "--instantiate=", 14) == 0 && o.ninstantiate < 32) o.instantiate[o.ninstantiate++] = a + 14;
    else rest[nrest++] = argv[i];
  }
  char *files[1];
  Compiler *c = compiler_new(stderr);
  int n = parse_common(c, nrest, rest, files, 1), rc = 2;
  o.opt_level = opt_level;
  o.memory_limit = memory_limit;
  if (n != 1 || !o.out) fprintf(stderr, "tnsc %s: usage: tnsc %s FILE.tns -o OUT%s\n", what, what, kind == EMIT_EXE ? "" : " [-H HEADER.h]");
  else if (kind == EMIT_EXE && o.header) fprintf(stderr, "tnsc build: -H is for obj and lib\n");
  else rc = emit_file(c, files[0], &o);
  compiler_free(c);
  free(rest);
  return rc;
}

static int cmd_obj(int argc, char **argv) { return cmd_emit_kind(argc, argv, EMIT_OBJ, "obj"); }
static int cmd_lib(int argc, char **argv) { return cmd_emit_kind(argc, argv, EMIT_LIB, "lib"); }
static int cmd_build(int argc, char **argv) { return cmd_emit_kind(argc, argv, EMIT_EXE, "build"); }

int main(int argc, char **argv) {
  if (argc < 2) {
    if (isatty(0)) return cmd_repl(0, NULL);
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    version();
    return 0;
  }
  for (int i = 0; i < NCOMMANDS; i++) {
    if (strcmp(cmd, commands[i].name) != 0) continue;
    if (!commands[i].fn) {
      fprintf(stderr, "tnsc %s: not built yet in this version of tnsc\n", cmd);
      return 2;
    }
    exit(commands[i].fn(argc - 2, argv + 2));
  }
  fprintf(stderr, "tnsc: unknown command '%s'; see tnsc --help\n", cmd);
  return 2;
}
