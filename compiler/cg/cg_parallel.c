/* cg_parallel.c — the outermost parallel loop of a loop nest runs on the
 * runtime's thread pool (tns_parallel_for).
 *
 * The nest below that loop is outlined into its own function
 * `fn.target.par(env, lo, hi)` running iterations lo..hi-1. env is an
 * array of 8-byte words in the caller's frame holding, by value, what the
 * nest reads: every size, the buffer pointer or value of each variable it
 * uses, and the output buffer. Passing values (not the caller's stack
 * slots) keeps those slots private, so LLVM still promotes them to
 * registers in the caller. Failures inside (a bounds check, Ctrl-C) return
 * their status through the pool to the caller's usual failure exit. */
#include <stdlib.h>
#include <string.h>
#include "cg_int.h"
#include "lir.h"

typedef struct Env {
  int *var_at;        /* per TirVar: its word in env, or -1 */
  int nwords;
  int buf_at;         /* the output buffer's word */
} Env;

/* Gives every variable x reads a word of env. */
static void note_var(const TirExpr *x, void *ud) {
  Env *e = ud;
  if ((x->kind == TX_ACCESS || x->kind == TX_READ) && e->var_at[x->var->id] < 0) e->var_at[x->var->id] = e->nwords++;
}

static void uses_lir(const LirNode *n, Env *e) {
  tir_expr_visit(n->value, note_var, e);
  tir_expr_visit(n->scale, note_var, e);
  for (int i = 0; i < n->n; i++) uses_lir(n->body[i], e);
}

/* Innermost iterations per iteration of n's loop (sizes of the loops
 * inside), for the pool's "is it worth it" test. */
static LLVMValueRef work_inside(Cg *g, const LirNode *n) {
  LLVMValueRef w = LLVMConstInt(g->i64, 1, 0);
  for (int i = 0; i < n->n; i++) {
    const LirNode *c = n->body[i];
    if (c->kind != LIR_LOOP && c->kind != LIR_BLOCK) continue;
    LLVMValueRef trip = c->kind == LIR_BLOCK ? LLVMConstInt(g->i64, 1, 0)
                        : c->within         ? LLVMConstInt(g->i64, (unsigned long long)c->within->tile, 0)
                                            : cg_loop_trip(g, c);
    w = LLVMBuildAdd(g->b, w, LLVMBuildMul(g->b, trip, work_inside(g, c), "work"), "work");
  }
  return w;
}

static LLVMValueRef word(Cg *g, LLVMValueRef env, int at) {
  LLVMValueRef i = LLVMConstInt(g->i64, (unsigned long long)at, 0);
  return LLVMBuildGEP2(g->b, g->i64, env, &i, 1, "env.at");
}

static LLVMTypeRef slot_type(Cg *g, const TirVar *v) {
  return v->type->rank > 0 ? g->ptr : cg_reg_type(g, v->type->elem);
}

/* Caller side: the env words, stored before the pool call. */
static LLVMValueRef fill_env(Cg *g, const Env *e, LLVMValueRef buf) {
  const TirFunc *f = g->fn;
  LLVMValueRef env = cg_entry_alloca(g, LLVMArrayType2(g->i64, (unsigned)(e->nwords + 1)), "env");
  for (int i = 0; i < f->sizes.n; i++)
    LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, g->i64, g->size_slot[i], "size"), word(g, env, i));
  for (int i = 0; i < f->vars.n; i++)
    if (e->var_at[i] >= 0) {
      const TirVar *v = f->vars.items[i];
      LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, slot_type(g, v), g->slot[i], "v"), word(g, env, e->var_at[i]));
    }
  LLVMBuildStore(g->b, buf, word(g, env, e->buf_at));
  return env;
}

/* Kernel side: fresh slots loaded from env; returns the output buffer. */
static LLVMValueRef unpack_env(Cg *g, const Env *e, LLVMValueRef env) {
  const TirFunc *f = g->fn;
  for (int i = 0; i < f->sizes.n; i++) {
    g->size_slot[i] = LLVMBuildAlloca(g->b, g->i64, "size");
    LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, g->i64, word(g, env, i), "size"), g->size_slot[i]);
  }
  for (int i = 0; i < f->vars.n; i++)
    if (e->var_at[i] >= 0) {
      const TirVar *v = f->vars.items[i];
      LLVMTypeRef t = slot_type(g, v);
      g->slot[i] = LLVMBuildAlloca(g->b, t, v->name ? v->name : "tmp");
      LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, t, word(g, env, e->var_at[i]), "v"), g->slot[i]);
    }
  g->status = LLVMBuildAlloca(g->b, g->i32, "status");
  LLVMBuildStore(g->b, LLVMConstInt(g->i32, 0, 0), g->status);
  return LLVMBuildLoad2(g->b, g->ptr, word(g, env, e->buf_at), "buf");
}

/* The kernel `fn.target.par`: for index in lo..hi { the nest's body }. */
static LLVMValueRef emit_kernel(Cg *g, const TirOp *op, const LirNode *root, const Env *e, double trip) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s.par", g->fn->name, op->out->name ? op->out->name : "tmp");
  LLVMTypeRef ft = LLVMFunctionType(g->i32, (LLVMTypeRef[]){g->ptr, g->i64, g->i64}, 3, 0);
  LLVMValueRef kfn = LLVMAddFunction(g->mod, name, ft);
  LLVMSetLinkage(kfn, LLVMInternalLinkage);
  g->llfn = kfn;
  LLVMBasicBlockRef entry = cg_block(g, "entry");
  g->exit_bb = cg_block(g, "exit");
  LLVMPositionBuilderAtEnd(g->b, entry);
  LLVMValueRef buf = unpack_env(g, e, LLVMGetParam(kfn, 0));
  LLVMBasicBlockRef start = cg_block(g, "start");
  LLVMBuildBr(g->b, start);
  LLVMPositionBuilderAtEnd(g->b, start);
  CgLoop l;
  g->trip_hint = trip;   /* lo..hi are parameters; together they cover trip */
  cg_loop_begin(g, &l, root->tile ? cg_tile_name(root) : root->index->name, LLVMGetParam(kfn, 1), LLVMGetParam(kfn, 2));
  cg_check_status(g, cg_call(g, "tns_check_interrupt", g->i32, NULL, NULL, 0), "go.on");
  cg_loop_bind(g, root, l.iv);
  LLVMValueRef acc[1] = {NULL};
  for (int i = 0; i < root->n; i++) cg_lir(g, root->body[i], buf, acc, 0);
  cg_loop_end(g, &l);
  LLVMBuildBr(g->b, g->exit_bb);
  LLVMMoveBasicBlockAfter(g->exit_bb, LLVMGetInsertBlock(g->b));
  LLVMPositionBuilderAtEnd(g->b, g->exit_bb);
  LLVMBuildRet(g->b, LLVMBuildLoad2(g->b, g->i32, g->status, "status"));
  return kfn;
}

void cg_parallel(Cg *g, const TirOp *op, const LirNode *root, LLVMValueRef buf) {
  const TirFunc *f = g->fn;
  Env e = {calloc((size_t)f->vars.n + 1, sizeof(int)), f->sizes.n, 0};
  for (int i = 0; i < f->vars.n; i++) e.var_at[i] = -1;
  uses_lir(root, &e);
  e.buf_at = e.nwords++;
  LLVMValueRef env = fill_env(g, &e, buf);
  LLVMValueRef extent = cg_loop_trip(g, root), work = work_inside(g, root);
  LLVMBasicBlockRef at = LLVMGetInsertBlock(g->b);
  /* the kernel gets its own slots, status and exit; the caller's return */
  Cg saved = *g;
  g->slot = calloc((size_t)f->vars.n + 1, sizeof *g->slot);
  g->size_slot = calloc((size_t)f->sizes.n + 1, sizeof *g->size_slot);
  g->index = calloc((size_t)f->nindices + 1, sizeof *g->index);
  g->tile_iv = calloc((size_t)f->nindices + 1, sizeof *g->tile_iv);
  g->owned = NULL;
  g->outs = NULL;
  LLVMValueRef kfn = emit_kernel(g, op, root, &e, cg_const_trip(LLVMConstInt(g->i64, 0, 0), extent));
  free(g->slot);
  free(g->size_slot);
  free(g->index);
  free(g->tile_iv);
  *g = saved;
  free(e.var_at);
  LLVMPositionBuilderAtEnd(g->b, at);
  LLVMTypeRef pt[] = {g->i64, g->i64, g->ptr, g->ptr};
  LLVMValueRef st = cg_call(g, "tns_parallel_for", g->i32, pt, (LLVMValueRef[]){extent, work, kfn, env}, 4);
  cg_check_status(g, st, "par.ok");
}
