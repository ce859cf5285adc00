/* repl.c — the interactive session.
 *
 * Each input is parsed on its own (diagnostics point into what was typed).
 * Its defs and imports join the session; its statements become the body of
 * a function `__inN` whose parameters are the session tensors it mentions
 * (with their actual shapes as constant types) and whose results are the
 * names it binds, returned as TnsArray so shapes known only at run time
 * (load) come back too. The function and every def it reaches are compiled
 * into one module with its own JIT resource tracker, called through libffi
 * (its signature is known only now), and removed afterwards. An error at
 * any step leaves every earlier value and definition as it was. */
#include "repl.h"
#include <ffi.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <editline/readline.h>
#include "cg.h"
#include "compile.h"
#include "jit.h"
#include "pipeline.h"
#include "run.h"
#include "explain.h"
#include "sema.h"
#include "tir.h"
#include "tns_runtime.h"

typedef struct Value {
  char *name;
  int elem;             /* ElemType */
  int rank;
  int64_t dims[TNS_MAX_RANK];
  void *data;           /* tns_alloc'd; scalars hold one element */
} Value;

typedef struct Def {
  char *name;           /* def name, or NULL for an import */
  Source *src;          /* the input it came from */
  int index;            /* its statement number in that input */
} Def;

typedef struct Session {
  const ReplOptions *o;
  Arena *arena;         /* sources of defs: they live as long as the session */
  Value *vals;
  int nvals, capvals;
  Def *defs;
  int ndefs, capdefs;
  int ninputs;
  Jit *jit;
  int errors;
  char *pending;        /* lines of an input not yet complete */
  int quit, status;
} Session;

typedef enum Mode { RUN, TYPE_ONLY, SHOW_TIR, EXPLAIN, TIME_IT } Mode;

/* ---- values ---- */

static Value *value_find(Session *s, const char *name) {
  for (int i = 0; i < s->nvals; i++)
    if (strcmp(s->vals[i].name, name) == 0) return &s->vals[i];
  return NULL;
}

static void value_free(Value *v) {
  free(v->name);
  tns_free(v->data);
}

static void session_reset(Session *s) {
  for (int i = 0; i < s->nvals; i++) value_free(&s->vals[i]);
  for (int i = 0; i < s->ndefs; i++) free(s->defs[i].name);
  s->nvals = 0;
  s->ndefs = 0;
}

/* Takes over a result: replaces the value of that name. */
static Value *value_set(Session *s, const char *name, TnsArray *a) {
  Value *v = value_find(s, name);
  if (v) {
    tns_free(v->data);
  } else {
    if (s->nvals == s->capvals) {
      s->capvals = s->capvals ? 2 * s->capvals : 16;
      s->vals = realloc(s->vals, sizeof *s->vals * (size_t)s->capvals);
    }
    v = &s->vals[s->nvals++];
    v->name = strdup(name);
  }
  v->elem = elem_of_dtype(a->dtype);
  v->rank = a->rank;
  memcpy(v->dims, a->dims, sizeof v->dims);
  v->data = a->data;
  a->data = NULL;
  return v;
}

static void value_print_type(FILE *f, const Value *v) {
  fprintf(f, "%s", elem_name(v->elem));
  if (v->rank == 0) return;
  fputc('[', f);
  for (int i = 0; i < v->rank; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)v->dims[i]);
  fputc(']', f);
}

/* ---- building the program of one input ---- */

static void def_add(Session *s, const char *name, Source *src, int index) {
  for (int i = 0; i < s->ndefs; i++)
    if (name && s->defs[i].name && strcmp(s->defs[i].name, name) == 0) {
      free(s->defs[i].name);
      memmove(&s->defs[i], &s->defs[i + 1], sizeof *s->defs * (size_t)(s->ndefs - i - 1));
      s->ndefs--;
      break;
    }
  if (s->ndefs == s->capdefs) {
    s->capdefs = s->capdefs ? 2 * s->capdefs : 16;
    s->defs = realloc(s->defs, sizeof *s->defs * (size_t)s->capdefs);
  }
  s->defs[s->ndefs++] = (Def){name ? strdup(name) : NULL, src, index};
}

/* Names of every NAME node (and index base) in a subtree. */
static void names_in(Node *n, PtrVec *out, Arena *a) {
  if (!n) return;
  if (n->kind == N_NAME) ptrvec_push(a, out, (void *)n->name);
  if (n->kind == N_DEF) return;
  names_in(n->a, out, a);
  names_in(n->b, out, a);
  names_in(n->c, out, a);
  for (int i = 0; i < n->list.n; i++) names_in(n->list.items[i], out, a);
  for (int i = 0; i < n->list2.n; i++) names_in(n->list2.items[i], out, a);
}

static int has_name(PtrVec *v, const char *name) {
  for (int i = 0; i < v->n; i++)
    if (v->items[i] == name) return 1;
  return 0;
}

static void target_names(Node *st, PtrVec *out, Arena *a, int top, Session *s) {
  if (st->kind == N_ASSIGN) {
    for (int i = 0; i < st->list.n; i++) {
      Node *t = st->list.items[i];
      Node *nm = t->kind == N_INDEX ? t->a : t;
      if (nm->kind == N_NAME && (top || value_find(s, nm->name)) && !has_name(out, nm->name))
        ptrvec_push(a, out, (void *)nm->name);
    }
  }
  if (st->kind == N_FOR || st->kind == N_WHILE || st->kind == N_IF || st->kind == N_BLOCK) {
    if (st->kind == N_BLOCK)
      for (int i = 0; i < st->list.n; i++) target_names(st->list.items[i], out, a, 0, s);
    if (st->b) target_names(st->b, out, a, 0, s);
    if (st->c) target_names(st->c, out, a, 0, s);
  }
}

/* A parameter `name: f64[3, 4]` for a session value. */
static Node *value_param(Ast *t, Value *v, Span sp) {
  Node *type = ast_type(t, sp, v->elem, NULL);
  if (v->rank) {
    NodeList dims = {0};
    for (int i = 0; i < v->rank; i++) ast_list_push(t, &dims, ast_int(t, sp, v->dims[i]));
    type = ast_type_dims(t, type, dims, sp);
  }
  return ast_param(t, ast_name(t, sp, strtab_cstr(t->names, v->name)), type);
}

static int is_effect_call(Node *e) {
  return e->kind == N_CALL && (strcmp(e->name, "print") == 0 || strcmp(e->name, "assert") == 0 ||
                               strcmp(e->name, "save") == 0);
}

typedef struct Input {
  Node *prog;           /* defs + imports + the wrapper */
  Node *wrapper;        /* NULL when the input holds only defs */
  PtrVec results;       /* names returned, in order */
  PtrVec params;        /* Value* passed, in order */
  int has_value;        /* a bare expression: `_` is printed */
} Input;

static int defines(Node *parsed, const char *name) {
  for (int i = 0; parsed && name && i < parsed->list.n; i++) {
    Node *st = parsed->list.items[i];
    if (st->kind == N_DEF && strcmp(st->name, name) == 0) return 1;
  }
  return 0;
}

/* A `return` among an input's statements: the wrapper def would take it
 * as its own, with results the caller does not expect (its result
 * pointers would be whatever the registers held). In a file it is an
 * error; so it is here. */
static int report_returns(Compiler *c, Node *n) {
  if (!n || n->kind == N_DEF) return 0;
  if (n->kind == N_RETURN) { diag_report(&c->diag, n->span, E_RETURN_OUTSIDE); return 1; }
  int found = report_returns(c, n->a) + report_returns(c, n->b) + report_returns(c, n->c);
  for (int i = 0; i < n->list.n; i++) found += report_returns(c, n->list.items[i]);
  for (int i = 0; i < n->list2.n; i++) found += report_returns(c, n->list2.items[i]);
  return found;
}

/* A def named like an input's wrapper (`__in7`) would clash with input
 * 7's, and that input would fail whatever it held. */
static int report_reserved(Compiler *c, Node *parsed) {
  int found = 0;
  for (int i = 0; i < parsed->list.n; i++) {
    Node *st = parsed->list.items[i];
    if (st->kind == N_DEF && strncmp(st->name, "__in", 4) == 0) {
      diag_report(&c->diag, st->span, E_REPL_RESERVED, st->name);
      found++;
    }
  }
  return found;
}

/* Parses prior defs again (fresh trees for this compilation), except the
 * ones this input defines anew. */
static void add_session_defs(Session *s, Compiler *c, NodeList *out, Node *parsed) {
  for (int i = 0; i < s->ndefs; i++) {
    if (defines(parsed, s->defs[i].name)) continue;
    Node *p = parse_source(&c->ast, s->defs[i].src);
    if (p && s->defs[i].index < p->list.n) ast_list_push(&c->ast, out, p->list.items[s->defs[i].index]);
  }
}

/* A call of a def with no result, or several: there is no single value
 * to keep as `_`, so the call stays a statement. */
static int drops_value(const NodeList *top, Node *e) {
  if (e->kind != N_CALL || builtin_lookup(e->name) >= 0) return 0;
  for (int i = 0; i < top->n; i++) {
    Node *d = top->items[i];
    if (d->kind == N_DEF && strcmp(d->name, e->name) == 0) return d->list2.n != 1;
  }
  return 0;
}

static void build_input(Session *s, Compiler *c, Node *parsed, Input *in, Mode mode) {
  Ast *t = &c->ast;
  NodeList top = {0}, body = {0}, params = {0}, rets = {0};
  add_session_defs(s, c, &top, parsed);
  for (int i = 0; i < parsed->list.n; i++) {
    Node *st = parsed->list.items[i];
    if (st->kind == N_DEF || st->kind == N_IMPORT) { ast_list_push(t, &top, st); continue; }
    /* a bare value is kept as `_` (sema rejects a dropped value); :time
     * computes it quietly */
    if (st->kind == N_EXPR_STMT && !is_effect_call(st->a) && !drops_value(&top, st->a)) {
      Node *u = ast_name(t, st->span, strtab_cstr(t->names, "_"));
      st = ast_assign(t, ast_list1(t, u), ASSIGN_SET, st->a);
      in->has_value = mode != TIME_IT;
    }
    ast_list_push(t, &body, st);
  }
  if (body.n) {
    PtrVec used = {0};
    for (int i = 0; i < body.n; i++) names_in(body.items[i], &used, c->arena);
    for (int i = 0; i < s->nvals; i++) {
      const char *nm = strtab_cstr(t->names, s->vals[i].name);
      if (!has_name(&used, nm)) continue;
      ast_list_push(t, &params, value_param(t, &s->vals[i], body.items[0]->span));
      ptrvec_push(c->arena, &in->params, &s->vals[i]);
    }
    for (int i = 0; i < body.n; i++) target_names(body.items[i], &in->results, c->arena, 1, s);
    for (int i = 0; i < in->results.n; i++)
      ast_list_push(t, &rets, ast_name(t, body.items[0]->span, in->results.items[i]));
    if (rets.n) ast_list_push(t, &body, ast_return(t, body.items[0]->span, rets));
    Span sp = body.items[0]->span;
    char *name = arena_printf(c->arena, "__in%d", s->ninputs);
    in->wrapper = ast_def(t, sp, ast_name(t, sp, strtab_cstr(t->names, name)), params, (NodeList){0},
                          ast_block(t, sp, body, sp));
    ast_list_push(t, &top, in->wrapper);
  }
  in->prog = ast_block(t, span_none(), top, span_none());
}

/* ---- running ---- */

static sigjmp_buf interrupt_jmp;
static volatile sig_atomic_t jump_ok;

/* While typing: back to the prompt. While computing: the generated code
 * stops at its next loop iteration (no jump out of a library call). */
static void on_sigint(int sig) {
  (void)sig;
  if (jump_ok) siglongjmp(interrupt_jmp, 1);
  tns_request_interrupt();
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Calls entry(params..., results...) through libffi. */
static int ffi_run(void *entry, Input *in, TnsArray *res) {
  int n = in->params.n + in->results.n;
  ffi_type **types = calloc((size_t)n + 1, sizeof *types);
  void **ptrs = calloc((size_t)n + 1, sizeof *ptrs), **args = calloc((size_t)n + 1, sizeof *args);
  for (int i = 0; i < n; i++) {
    types[i] = &ffi_type_pointer;
    ptrs[i] = i < in->params.n ? ((Value *)in->params.items[i])->data : (void *)&res[i - in->params.n];
    args[i] = &ptrs[i];
  }
  ffi_cif cif;
  ffi_arg rc = 0;
  int st = TNS_ERR_INTERNAL;
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)n, &ffi_type_sint32, types) == FFI_OK) {
    ffi_call(&cif, FFI_FN(entry), &rc, args);
    st = (int)(int32_t)rc;
  }
  free(types);
  free(ptrs);
  free(args);
  return st;
}

static void print_results(Session *s, Input *in, TnsArray *res, int quiet) {
  for (int i = 0; i < in->results.n; i++) {
    const char *name = in->results.items[i];
    Value *v = value_set(s, name, &res[i]);
    if (quiet) continue;
    if (strcmp(name, "_") == 0) {
      if (v->rank == 0) tns_print_scalar(stdout, elem_dtype(v->elem), v->data);
      else tns_print_array(stdout, elem_dtype(v->elem), v->rank, v->dims, v->data);
    } else {
      printf("%s: ", name);
      value_print_type(stdout, v);
      putchar('\n');
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Compiles the wrapper, runs it (several times for :time), keeps results. */
static int execute(Session *s, Compiler *c, Input *in, Mode mode) {
  PipelineOptions po = {.cg = {.opt_level = s->o->opt_level, .light_glue = 1}};
  TirProgram *p = pipeline_tir(c, in->prog, 0, &po);
  TirFunc *entry = NULL;
  for (int i = 0; i < p->funcs.n; i++) {
    TirFunc *f = p->funcs.items[i];
    f->exported = 0;
    if (f->def == in->wrapper) entry = f;
  }
  if (!entry) return 1;
  entry->exported = 1;
  entry->array_results = 1;
  pipeline_optimize(p, &po);
  if (mode == SHOW_TIR) { tir_print(stdout, p); return 0; }
  if (mode == EXPLAIN) { explain_print(stdout, p, 0); return 0; }
  LLVMTargetMachineRef tm = cg_target_machine(&po.cg);
  LLVMModuleRef m = tm ? pipeline_codegen(jit_context(s->jit), p, &po, tm) : NULL;
  int bad = !m;
  if (tm) LLVMDisposeTargetMachine(tm);
  LLVMOrcResourceTrackerRef rt = NULL;
  if (bad || jit_add(s->jit, m, &rt)) return 1;
  void *fn = jit_lookup(s->jit, entry->name);
  int nres = in->results.n, st = TNS_ERR_INTERNAL, runs = mode == TIME_IT ? 7 : 1;
  TnsArray *res = calloc((size_t)nres + 1, sizeof *res);
  double times[7];
  if (fn) {
    tns_check_interrupt();   /* forget a Ctrl-C from before this input */
    tns_clear_error();
    for (int r = 0; r < runs; r++) {
      for (int i = 0; i < nres && r; i++) tns_array_free(&res[i]);
      double t0 = now();
      st = ffi_run(fn, in, res);
      times[r] = now() - t0;
      if (st) break;
    }
  }
  fflush(stdout);   /* what the input printed comes before its error */
  if (st == TNS_ERR_INTERRUPTED) {
    fputs("interrupted\n", stderr);
    st = -1;
  }
  if (st > 0) run_report_error(c, "<input>");
  if (st == 0 && mode == TIME_IT) {
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    printf("median %.3f ms of %d runs (min %.3f ms)\n", 1e3 * times[runs / 2], runs, 1e3 * times[0]);
  }
  if (st == 0) print_results(s, in, res, mode == TIME_IT);
  for (int i = 0; i < nres; i++) tns_array_free(&res[i]);
  free(res);
  jit_remove(s->jit, rt);
  return st != 0;
}

/* One input: parse, check, commit defs, run statements. */
static int evaluate(Session *s, const char *text, const char *label, Mode mode) {
  Compiler *c = compiler_new(stderr);
  for (int i = 0; i < s->o->ninclude; i++) compiler_add_include(c, s->o->include_dirs[i]);
  s->ninputs++;
  Source *src = source_from_string(s->arena, label, text);
  ptrvec_push(c->arena, &c->sources, src);
  Node *parsed = parse_source(&c->ast, src);
  int failed = !parsed || c->diag.nerrors || report_returns(c, parsed) + report_reserved(c, parsed);
  Input in;
  memset(&in, 0, sizeof in);
  if (!failed) {
    build_input(s, c, parsed, &in, mode);
    sema_program(c, in.prog, label);
    failed = c->diag.nerrors > 0;
  }
  if (!failed && mode == TYPE_ONLY) {
    Node *last = in.wrapper ? in.wrapper->c->list.items[in.wrapper->c->list.n - 2] : NULL;
    if (last && last->kind == N_ASSIGN && last->a->type) {
      char *t = type_to_string(NULL, last->a->type);
      printf("%s\n", t);
      free(t);
    }
  } else if (!failed && mode != TYPE_ONLY) {
    for (int i = 0; i < parsed->list.n && mode == RUN; i++) {
      Node *st = parsed->list.items[i];
      if (st->kind == N_DEF) def_add(s, st->name, src, i);
      if (st->kind == N_IMPORT) def_add(s, NULL, src, i);
    }
    if (in.wrapper) failed = execute(s, c, &in, mode);
  }
  compiler_free(c);
  return failed;
}

/* ---- commands ---- */

static const char *const help_text =
    "Enter TNS statements and defs; tensors and functions persist.\n"
    "A bare expression prints its value (also kept as _).\n"
    "  :help            this text\n"
    "  :quit            leave (also Ctrl-D)\n"
    "  :type EXPR       the type of an expression, without running it\n"
    "  :explain STMT    contraction path, step kinds and FLOPs of a statement\n"
    "  :tir STMT        the tensor IR of a statement\n"
    "  :llvm NAME       the LLVM IR of function NAME\n"
    "  :time STMT       run a statement 7 times, print the median time\n"
    "  :load FILE.tns   evaluate a file\n"
    "  :vars            tensors in the session\n"
    "  :reset           forget every tensor and function\n"
    "Ctrl-C cancels the input being typed, or interrupts a computation.\n";

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)(n > 0 ? n : 0) + 1);
  size_t got = buf && n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
  fclose(f);
  if (buf) buf[got] = 0;
  return buf;
}

static void show_vars(Session *s) {
  if (!s->nvals) puts("no tensors yet");
  for (int i = 0; i < s->nvals; i++) {
    printf("%s: ", s->vals[i].name);
    value_print_type(stdout, &s->vals[i]);
    putchar('\n');
  }
  for (int i = 0; i < s->ndefs; i++)
    if (s->defs[i].name) printf("def %s\n", s->defs[i].name);
}

/* :llvm NAME — the optimised IR of one function */
static int show_llvm(Session *s, const char *name) {
  Compiler *c = compiler_new(stderr);
  NodeList top = {0};
  add_session_defs(s, c, &top, NULL);
  Node *prog = ast_block(&c->ast, span_none(), top, span_none());
  sema_program(c, prog, "<session>");
  int rc = 1;
  if (!c->diag.nerrors) {
    PipelineOptions po = {.cg = {.opt_level = s->o->opt_level, .light_glue = 1}};
    TirProgram *p = pipeline_tir(c, prog, 0, &po);
    pipeline_optimize(p, &po);   /* the code an input runs */
    LLVMTargetMachineRef tm = cg_target_machine(&po.cg);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = tm ? pipeline_codegen(ctx, p, &po, tm) : NULL;
    if (m) {
      LLVMValueRef f = LLVMGetNamedFunction(m, name);
      if (f) {
        char *text = LLVMPrintValueToString(f);
        puts(text);
        LLVMDisposeMessage(text);
        rc = 0;
      } else {
        fprintf(stderr, "no function '%s' (generic functions are compiled per call)\n", name);
      }
    }
    if (m) LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    if (tm) LLVMDisposeTargetMachine(tm);
  }
  compiler_free(c);
  return rc;
}

static int command(Session *s, const char *line, int *quit) {
  while (*line == ' ') line++;
  const char *arg = strchr(line, ' ');
  size_t n = arg ? (size_t)(arg - line) : strlen(line);
  arg = arg ? arg + 1 : "";
  while (*arg == ' ') arg++;
#define IS(cmd) (n == strlen(cmd) && strncmp(line, cmd, n) == 0)
  if (IS(":quit") || IS(":q")) { *quit = 1; return 0; }
  if (IS(":help") || IS(":h")) { fputs(help_text, stdout); return 0; }
  if (IS(":vars")) { show_vars(s); return 0; }
  if (IS(":reset")) { session_reset(s); puts("session cleared"); return 0; }
  if (IS(":type")) {
    char *t = malloc(strlen(arg) + 8);
    sprintf(t, "_ = %s\n", arg);
    int rc = evaluate(s, t, "<type>", TYPE_ONLY);
    free(t);
    return rc;
  }
  if (IS(":tir")) return evaluate(s, arg, "<input>", SHOW_TIR);
  if (IS(":explain")) return evaluate(s, arg, "<input>", EXPLAIN);
  if (IS(":time")) return evaluate(s, arg, "<input>", TIME_IT);
  if (IS(":llvm")) return show_llvm(s, arg);
  if (IS(":load")) {
    char *text = read_file(arg);
    if (!text) { fprintf(stderr, "cannot read '%s'\n", arg); return 1; }
    char *label = arena_strndup(s->arena, arg, strlen(arg));
    int rc = evaluate(s, text, label, RUN);
    free(text);
    return rc;
  }
#undef IS
  fprintf(stderr, "unknown command '%.*s'; :help lists them\n", (int)n, line);
  return 1;
}

/* ---- reading input ---- */

static char *history_path(void) {
  const char *home = getenv("HOME");
  if (!home) return NULL;
  char *p = malloc(strlen(home) + 32);
  sprintf(p, "%s/.tnsc_history", home);
  return p;
}

/* One line: through libedit on a terminal, else plain stdin. */
static char *next_line(Session *s, FILE *in, int continued) {
  if (s->o->interactive) return readline(continued ? "... " : "tns> ");
  size_t cap = 0;
  char *line = NULL;
  ssize_t len = getline(&line, &cap, in);
  if (len < 0) { free(line); return NULL; }
  if (len && line[len - 1] == '\n') line[len - 1] = 0;
  return line;
}

static char *append(char *buf, const char *line) {
  size_t a = buf ? strlen(buf) : 0, b = strlen(line);
  buf = realloc(buf, a + b + 2);
  memcpy(buf + a, line, b);
  buf[a + b] = '\n';
  buf[a + b + 1] = 0;
  return buf;
}

static int is_blank(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return *s == 0 || *s == '#';
}

/* Ends one input: evaluates it, counts an error, stops under --strict.
 * What it printed goes out now, before any error of the next input on
 * stderr: values and errors appear in input order even when both are
 * redirected to one file. */
static void finish_input(Session *s, int bad) {
  fflush(stdout);
  s->errors += bad;
  if (bad && s->o->strict) {
    s->status = 1;
    s->quit = 1;
  }
}

static void handle_line(Session *s, char *line) {
  if (!s->pending && line[0] == ':') {
    if (s->o->interactive) add_history(line);
    int quit = 0;
    finish_input(s, command(s, line, &quit));
    if (quit) s->quit = 1;
    return;
  }
  if (!s->pending && is_blank(line)) return;
  s->pending = append(s->pending, line);
  if (parse_is_incomplete(s->pending)) return;
  if (s->o->interactive) {
    char *h = strdup(s->pending);
    h[strlen(h) - 1] = 0;
    add_history(h);
    free(h);
  }
  char label[32];
  snprintf(label, sizeof label, "<input %d>", s->ninputs + 1);
  char *text = s->pending;
  s->pending = NULL;
  finish_input(s, evaluate(s, text, label, RUN));
  free(text);
}

/* The read loop; Ctrl-C while typing jumps back here and drops the input. */
static void read_loop(Session *s, FILE *in) {
  while (!s->quit) {
    if (sigsetjmp(interrupt_jmp, 1)) {
      jump_ok = 0;
      rl_free_line_state();
      rl_cleanup_after_signal();
      free(s->pending);
      s->pending = NULL;
      fputs("\n", stdout);
    }
    jump_ok = s->o->interactive;
    char *line = next_line(s, in, s->pending != NULL);
    jump_ok = 0;
    if (!line) break;
    handle_line(s, line);
    free(line);
  }
  if (s->pending && !s->quit) {  /* unfinished input at end of file */
    char *text = s->pending;
    s->pending = NULL;
    finish_input(s, evaluate(s, text, "<input>", RUN));
    free(text);
  }
  free(s->pending);
  s->pending = NULL;
}

int repl_run(FILE *in, const ReplOptions *o) {
  Session s;
  memset(&s, 0, sizeof s);
  s.o = o;
  s.arena = arena_new();
  CgOptions co = {.opt_level = o->opt_level};
  s.jit = jit_new(cg_target_machine(&co));
  if (!s.jit) return 1;
  char *hist = o->interactive ? history_path() : NULL;
  if (o->interactive) {
    rl_catch_signals = 0;
    using_history();
    if (hist) read_history(hist);
    puts("tnsc " TNS_VERSION " — :help for commands, Ctrl-D to leave");
  }
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old);
  read_loop(&s, in);
  sigaction(SIGINT, &old, NULL);
  if (o->interactive) {
    if (hist) write_history(hist);
    putchar('\n');
  }
  free(hist);
  session_reset(&s);
  free(s.defs);
  free(s.vals);
  jit_free(s.jit);
  arena_free(s.arena);
  return s.status;
}
