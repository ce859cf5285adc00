/* cg.c — TIR to LLVM IR: functions, buffers and ops.
 * Needs: a verified TIR program. Guarantees: one LLVM function per TIR
 * function, `i32 name(i64 sizes..., ptr inputs..., ptr outputs...)`
 * returning 0 or a TNS_ERR_* status (language.md section 9); every buffer
 * a function allocates is freed on every path out of it. Blocks are named
 * after the source (`i.loop`, `sum.j.body`) so `tnsc emit llvm` reads
 * like the program. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include "cg_int.h"
#include "lir.h"
#include "tns_runtime.h"

/* ---- types and small helpers ---- */

LLVMTypeRef cg_reg_type(Cg *g, int elem) {
  switch (elem) {
  case ELEM_BOOL: return g->i1;
  case ELEM_I32: return g->i32;
  case ELEM_I64: return g->i64;
  case ELEM_F32: return g->f32;
  default: return g->f64;
  }
}

LLVMTypeRef cg_mem_type(Cg *g, int elem) { return elem == ELEM_BOOL ? g->i8 : cg_reg_type(g, elem); }

LLVMValueRef cg_dtype(Cg *g, int elem) {
  return LLVMConstInt(g->i32, (unsigned long long)elem_dtype(elem), 0);
}

LLVMBasicBlockRef cg_block(Cg *g, const char *name) {
  return LLVMAppendBasicBlockInContext(g->ctx, g->llfn, name);
}

/* A declared (or existing) function of the module. */
LLVMValueRef cg_fn(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n, int vararg) {
  LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
  if (f) return f;
  return LLVMAddFunction(g->mod, name, LLVMFunctionType(ret, params, (unsigned)n, vararg));
}

LLVMValueRef cg_call(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *pt, LLVMValueRef *args, int n) {
  LLVMValueRef f = cg_fn(g, name, ret, pt, n, 0);
  return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, (unsigned)n, "");
}

LLVMValueRef cg_cstring(Cg *g, const char *s) {
  return LLVMBuildGlobalStringPtr(g->b, s ? s : "", "str");
}

/* In a failure block: status st (given the current op's location when it
 * has none) leaves through the exit, which frees what the function owns. */
void cg_fail(Cg *g, LLVMValueRef st) {
  if (g->loc && *g->loc) {
    LLVMTypeRef pt[] = {g->i32, g->ptr};
    st = cg_call(g, "tns_error_locate", g->i32, pt, (LLVMValueRef[]){st, cg_cstring(g, g->loc)}, 2);
  }
  LLVMBuildStore(g->b, st, g->status);
  LLVMBuildBr(g->b, g->exit_bb);
}

/* Continues when st == 0, else fails with it. */
void cg_check_status(Cg *g, LLVMValueRef st, const char *what) {
  LLVMBasicBlockRef ok = cg_block(g, what), bad = cg_block(g, "fail");
  LLVMValueRef isbad = LLVMBuildICmp(g->b, LLVMIntNE, st, LLVMConstInt(g->i32, 0, 0), "failed");
  LLVMBuildCondBr(g->b, isbad, bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  cg_fail(g, st);
  LLVMPositionBuilderAtEnd(g->b, ok);
}

/* The value of a dimension k * s1 * s2 ... */
/* a * b; with ovf, an overflow is or-ed into *ovf (sizes come from C
 * callers: n = q = 2^32 must not make n*q a harmless-looking 0). */
static LLVMValueRef mul_sizes(Cg *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *ovf) {
  if (!ovf) return LLVMBuildMul(g->b, a, b, "dim");
  LLVMTypeRef pair = LLVMStructTypeInContext(g->ctx, (LLVMTypeRef[]){g->i64, g->i1}, 2, 0);
  LLVMValueRef args[] = {a, b};
  LLVMValueRef r = cg_call(g, "llvm.smul.with.overflow.i64", pair, (LLVMTypeRef[]){g->i64, g->i64}, args, 2);
  *ovf = LLVMBuildOr(g->b, *ovf, LLVMBuildExtractValue(g->b, r, 1, "ovf"), "ovf");
  return LLVMBuildExtractValue(g->b, r, 0, "dim");
}

/* A dimension k * n * q ...; checked for overflow when ovf is given (the
 * first use of a shape: argument checks, allocations), plain after. */
LLVMValueRef cg_dim_checked(Cg *g, Dim d, LLVMValueRef *ovf) {
  LLVMValueRef v = LLVMConstInt(g->i64, (unsigned long long)d.k, 0);
  for (int i = 0; i < d.n; i++) {
    TirSize *s = tir_size_find(g->fn, d.syms[i]);
    if (!s) TNS_BUG("size without a value");
    int at = 0;
    for (; at < g->fn->sizes.n && g->fn->sizes.items[at] != s; at++) {}
    LLVMValueRef sv = LLVMBuildLoad2(g->b, g->i64, g->size_slot[at], s->name);
    v = d.k == 1 && i == 0 ? sv : mul_sizes(g, v, sv, ovf);
  }
  return v;
}

LLVMValueRef cg_dim(Cg *g, Dim d) { return cg_dim_checked(g, d, NULL); }

LLVMValueRef cg_load_elem(Cg *g, int elem, LLVMValueRef base, LLVMValueRef off) {
  LLVMTypeRef mt = cg_mem_type(g, elem);
  LLVMValueRef p = LLVMBuildGEP2(g->b, mt, base, &off, 1, "at");
  LLVMValueRef v = LLVMBuildLoad2(g->b, mt, p, "elem");
  return elem == ELEM_BOOL ? LLVMBuildTrunc(g->b, v, g->i1, "b") : v;
}

void cg_store_elem(Cg *g, int elem, LLVMValueRef v, LLVMValueRef base, LLVMValueRef off) {
  LLVMTypeRef mt = cg_mem_type(g, elem);
  LLVMValueRef p = LLVMBuildGEP2(g->b, mt, base, &off, 1, "at");
  if (elem == ELEM_BOOL) v = LLVMBuildZExt(g->b, v, g->i8, "b8");
  LLVMBuildStore(g->b, v, p);
}

/* A stack slot made in the entry block, so loops do not grow the stack. */
LLVMValueRef cg_entry_alloca(Cg *g, LLVMTypeRef t, const char *name) {
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(g->llfn);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(g->ctx);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(b, first);
  else LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef a = LLVMBuildAlloca(b, t, name);
  LLVMDisposeBuilder(b);
  return a;
}

/* ---- loops ---- */

void cg_mark_heavy(Cg *g, LLVMValueRef fn) {
  const char *k = CG_HEAVY_ATTR;
  if (LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, k, (unsigned)strlen(k))) return;
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateStringAttribute(g->ctx, k, (unsigned)strlen(k), "", 0));
}

double cg_const_trip(LLVMValueRef lo, LLVMValueRef hi) {
  if (!LLVMIsAConstantInt(lo) || !LLVMIsAConstantInt(hi)) return HUGE_VAL;
  long long n = LLVMConstIntGetSExtValue(hi) - LLVMConstIntGetSExtValue(lo);
  return n > 1 ? (double)n : 1.0;
}

/* The loop multiplies the work of what it contains (see CG_LIGHT_WORK). */
static void loop_work(Cg *g, CgLoop *l, LLVMValueRef lo, LLVMValueRef hi) {
  l->outer_work = g->nest_work;
  g->nest_work *= g->trip_hint > 0 ? g->trip_hint : cg_const_trip(lo, hi);
  g->trip_hint = 0;
  if (g->nest_work > CG_LIGHT_WORK) cg_mark_heavy(g, g->llfn);
}

void cg_loop_begin(Cg *g, CgLoop *l, const char *name, LLVMValueRef lo, LLVMValueRef hi) {
  char buf[96];
  loop_work(g, l, lo, hi);
  l->name = name;
  l->pre = LLVMGetInsertBlock(g->b);
  snprintf(buf, sizeof buf, "%s.loop", name);
  l->head = cg_block(g, buf);
  snprintf(buf, sizeof buf, "%s.body", name);
  LLVMBasicBlockRef body = cg_block(g, buf);
  snprintf(buf, sizeof buf, "%s.exit", name);
  l->exit = cg_block(g, buf);
  LLVMBuildBr(g->b, l->head);
  LLVMPositionBuilderAtEnd(g->b, l->head);
  l->phi = LLVMBuildPhi(g->b, g->i64, name);
  LLVMAddIncoming(l->phi, &lo, &l->pre, 1);
  l->iv = l->phi;
  LLVMValueRef more = LLVMBuildICmp(g->b, LLVMIntSLT, l->phi, hi, "more");
  LLVMBuildCondBr(g->b, more, body, l->exit);
  LLVMPositionBuilderAtEnd(g->b, body);
}

void cg_loop_end(Cg *g, CgLoop *l) {
  g->nest_work = l->outer_work;
  LLVMValueRef next = LLVMBuildAdd(g->b, l->phi, LLVMConstInt(g->i64, 1, 0), "next");
  LLVMBasicBlockRef from = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, l->head);
  LLVMAddIncoming(l->phi, &next, &from, 1);
  LLVMPositionBuilderAtEnd(g->b, l->exit);
}

/* ---- buffers ---- */

/* An i64 array (in the entry block) holding t's dimensions; with ovf,
 * as cg_dim_checked. */
LLVMValueRef cg_dims_array_checked(Cg *g, const Type *t, LLVMValueRef *ovf) {
  LLVMValueRef arr = cg_entry_alloca(g, LLVMArrayType2(g->i64, (unsigned)(t->rank + 1)), "dims");
  for (int i = 0; i < t->rank; i++) {
    LLVMValueRef at = LLVMConstInt(g->i64, (unsigned long long)i, 0);
    LLVMBuildStore(g->b, cg_dim_checked(g, t->dims[i], ovf), LLVMBuildGEP2(g->b, g->i64, arr, &at, 1, "d"));
  }
  return arr;
}

LLVMValueRef cg_dims_array(Cg *g, const Type *t) { return cg_dims_array_checked(g, t, NULL); }

LLVMValueRef cg_count(Cg *g, const Type *t) {
  LLVMValueRef n = LLVMConstInt(g->i64, 1, 0);
  for (int i = 0; i < t->rank; i++) n = LLVMBuildMul(g->b, n, cg_dim(g, t->dims[i]), "count");
  return n;
}

static LLVMValueRef bytes_of(Cg *g, const Type *t) {
  LLVMValueRef sz = LLVMConstInt(g->i64, (unsigned long long)elem_size(t->elem), 0);
  return LLVMBuildMul(g->b, cg_count(g, t), sz, "bytes");
}

/* A fresh buffer for t's shape, zeroed or not; leaves on failure. The
 * element count is multiplied with overflow checks: sizes come from C
 * callers. */
static LLVMValueRef alloc_shape(Cg *g, const Type *t, int zero) {
  LLVMTypeRef pair = LLVMStructTypeInContext(g->ctx, (LLVMTypeRef[]){g->i64, g->i1}, 2, 0);
  LLVMValueRef n = LLVMConstInt(g->i64, 1, 0), ovf = LLVMConstInt(g->i1, 0, 0);
  for (int i = 0; i < t->rank; i++) {
    LLVMValueRef args[] = {n, cg_dim_checked(g, t->dims[i], &ovf)};
    LLVMValueRef r = cg_call(g, "llvm.smul.with.overflow.i64", pair, (LLVMTypeRef[]){g->i64, g->i64}, args, 2);
    n = LLVMBuildExtractValue(g->b, r, 0, "count");
    ovf = LLVMBuildOr(g->b, ovf, LLVMBuildExtractValue(g->b, r, 1, "ovf"), "ovf");
  }
  LLVMTypeRef pt[] = {g->i64, g->i64, g->i1};
  LLVMValueRef args[] = {n, LLVMConstInt(g->i64, (unsigned long long)elem_size(t->elem), 0), ovf};
  LLVMValueRef p = cg_call(g, zero ? "tns_alloc_elems" : "tns_alloc_elems_uninit", g->ptr, pt, args, 3);
  LLVMValueRef null = LLVMBuildIsNull(g->b, p, "oom");
  /* the allocator's own status: out of memory, or a negative size */
  LLVMValueRef why = cg_call(g, "tns_last_status", g->i32, NULL, NULL, 0);
  LLVMValueRef st = LLVMBuildSelect(g->b, null, why, LLVMConstInt(g->i32, 0, 0), "st");
  cg_check_status(g, st, "alloc.ok");
  return p;
}

LLVMValueRef cg_alloc(Cg *g, const Type *t) { return alloc_shape(g, t, 1); }

/* A variable's new buffer: the caller's output when the outslot pass
 * chose it (never ours to free), else a fresh one — not zeroed when the
 * caller writes every element (zero = 0). */
LLVMValueRef cg_alloc_result(Cg *g, const TirVar *v, int zero) {
  if (v->out_slot && g->outs && !g->fn->array_results) return g->outs[v->out_slot - 1];
  return alloc_shape(g, v->type, zero);
}

LLVMValueRef cg_alloc_var(Cg *g, const TirVar *v) { return cg_alloc_result(g, v, 1); }

/* p, v's next buffer, is computed before it replaces v's (whose values
 * the computation may read): until then exit frees it on failure. */
void cg_pending(Cg *g, const TirVar *v, LLVMValueRef p) {
  if (v->out_slot && g->outs && !g->fn->array_results) return;   /* the caller's */
  LLVMBuildStore(g->b, p, g->pending);
}

static LLVMValueRef alloc_buffer(Cg *g, const TirVar *v, int zero) {
  LLVMValueRef p = cg_alloc_result(g, v, zero);
  cg_pending(g, v, p);
  return p;
}

/* out[i, (j, k)] = ...: distinct plain indices in every position, so the
 * loop nest stores every element (no diagonal, no computed position). */
static int writes_every_element(const TirOp *op) {
  const TirIndex *seen[64];
  int n = 0;
  for (int i = 0; i < op->out->type->rank; i++) {
    if (op->opos[i].kind == TP_EXPR) return 0;
    for (int k = 0; k < op->opos[i].n; k++) {
      for (int j = 0; j < n; j++)
        if (seen[j] == op->opos[i].idx[k]) return 0;
      if (n == 64) return 0;
      seen[n++] = op->opos[i].idx[k];
    }
  }
  return 1;
}

/* Makes p the buffer of v, freeing the one it replaces if ours. */
void cg_replace_buffer(Cg *g, const TirVar *v, LLVMValueRef p) {
  LLVMBuildStore(g->b, LLVMConstNull(g->ptr), g->pending);   /* p is v's now */
  LLVMValueRef old = LLVMBuildLoad2(g->b, g->ptr, g->slot[v->id], "old");
  LLVMValueRef own = LLVMBuildLoad2(g->b, g->i1, g->owned[v->id], "own");
  LLVMValueRef tofree = LLVMBuildSelect(g->b, own, old, LLVMConstNull(g->ptr), "tofree");
  cg_call(g, "tns_free", g->voidt, &g->ptr, &tofree, 1);
  LLVMBuildStore(g->b, p, g->slot[v->id]);
  LLVMValueRef ours = LLVMConstInt(g->i1, 1, 0);
  if (v->out_slot && g->outs && !g->fn->array_results)   /* the caller's buffer is not ours */
    ours = LLVMBuildICmp(g->b, LLVMIntNE, p, g->outs[v->out_slot - 1], "ours");
  LLVMBuildStore(g->b, ours, g->owned[v->id]);
}

LLVMValueRef cg_buffer(Cg *g, const TirVar *v) {
  return LLVMBuildLoad2(g->b, g->ptr, g->slot[v->id], v->name ? v->name : "tmp");
}

/* ---- ops ---- */

/* A pending interrupt (Ctrl-C in the REPL) stops the program here. */
static void check_interrupt(Cg *g) {
  cg_check_status(g, cg_call(g, "tns_check_interrupt", g->i32, NULL, NULL, 0), "go.on");
}



static void cg_block_ops(Cg *g, const TirBlock *b);

/* Emits a loop nest of the loop IR (lir.h) writing into buf. */
/* v times (or divided by) the node's scale, if it has one. */
static LLVMValueRef apply_scale(Cg *g, const LirNode *n, int elem, LLVMValueRef v) {
  if (!n->scale) return v;
  LLVMValueRef s = cg_convert(g, cg_expr(g, n->scale), n->scale->elem, elem);
  if (elem_is_float(elem)) return n->divide ? LLVMBuildFDiv(g->b, v, s, "scaled") : LLVMBuildFMul(g->b, v, s, "scaled");
  return n->divide ? LLVMBuildSDiv(g->b, v, s, "scaled") : LLVMBuildMul(g->b, v, s, "scaled");
}

/* How many times loop n runs when it is not within a tile: its extent,
 * or its number of tiles. */
LLVMValueRef cg_loop_trip(Cg *g, const LirNode *n) {
  LLVMValueRef e = cg_dim(g, n->extent);
  if (!n->tile) return e;
  LLVMValueRef t = LLVMConstInt(g->i64, (unsigned long long)n->tile, 0);
  return LLVMBuildSDiv(g->b, LLVMBuildAdd(g->b, e, LLVMConstInt(g->i64, (unsigned long long)n->tile - 1, 0), "up"), t,
                       "tiles");
}

/* "i.tile": the block name of a tile loop over i */
const char *cg_tile_name(const LirNode *n) {
  static char buf[96];
  snprintf(buf, sizeof buf, "%s.tile", n->index->name);
  return buf;
}

/* The loop's counter: the index's value, or the tile number. */
void cg_loop_bind(Cg *g, const LirNode *n, LLVMValueRef iv) {
  if (n->tile) g->tile_iv[n->index->id] = iv;
  else g->index[n->index->id] = iv;
}

void cg_lir(Cg *g, const LirNode *n, LLVMValueRef buf, LLVMValueRef *acc, int outermost) {
  switch (n->kind) {
  case LIR_LOOP: {
    CgLoop l;
    LLVMValueRef lo = LLVMConstInt(g->i64, 0, 0), hi = cg_loop_trip(g, n);
    if (n->within) {   /* one tile: lo .. min(lo + tile, extent) */
      lo = LLVMBuildMul(g->b, g->tile_iv[n->within->index->id], LLVMConstInt(g->i64, (unsigned long long)n->within->tile, 0), "tile.lo");
      LLVMValueRef end = LLVMBuildAdd(g->b, lo, LLVMConstInt(g->i64, (unsigned long long)n->within->tile, 0), "tile.end");
      hi = cg_dim(g, n->extent);
      g->trip_hint = fmin((double)n->within->tile, cg_const_trip(LLVMConstInt(g->i64, 0, 0), hi));
      hi = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, end, hi, "short"), end, hi, "tile.hi");
    }
    cg_loop_begin(g, &l, n->tile ? cg_tile_name(n) : n->index->name, lo, hi);
    if (outermost) check_interrupt(g);   /* long loop nests stop on Ctrl-C */
    cg_loop_bind(g, n, l.iv);
    for (int i = 0; i < n->n; i++) cg_lir(g, n->body[i], buf, acc, 0);
    cg_loop_end(g, &l);
    return;
  }
  case LIR_BLOCK:
    for (int i = 0; i < n->n; i++) cg_lir(g, n->body[i], buf, acc, outermost);
    return;
  case LIR_OUT_INIT:
  case LIR_OUT_UPDATE:
  case LIR_OUT_SCALE: {   /* the fold accumulating in the output itself */
    LLVMValueRef off = cg_offset(g, n->out, n->pos, n->value ? n->value->span : span_none(), NULL);
    LLVMValueRef v = cg_fold_init(g, n->op, n->elem);
    if (n->kind == LIR_OUT_UPDATE)
      v = cg_fold_step(g, n->op, n->elem, cg_load_elem(g, n->elem, buf, off), cg_expr(g, n->value));
    if (n->kind == LIR_OUT_SCALE) v = apply_scale(g, n, n->elem, cg_load_elem(g, n->elem, buf, off));
    cg_store_elem(g, n->elem, v, buf, off);
    return;
  }
  case LIR_ACC_INIT:
    acc[n->acc] = cg_entry_alloca(g, cg_reg_type(g, cg_fold_acc_elem(n->op, n->elem)), reduce_name(n->op));
    LLVMBuildStore(g->b, cg_fold_init(g, n->op, n->elem), acc[n->acc]);
    return;
  case LIR_ACC_UPDATE: {
    LLVMTypeRef t = cg_reg_type(g, cg_fold_acc_elem(n->op, n->elem));
    LLVMValueRef cur = LLVMBuildLoad2(g->b, t, acc[n->acc], "acc");
    LLVMBuildStore(g->b, cg_fold_step(g, n->op, n->elem, cur, cg_expr(g, n->value)), acc[n->acc]);
    return;
  }
  case LIR_STORE: {
    int elem = n->out->type->elem;
    LLVMValueRef v;
    if (n->value) {
      v = cg_expr(g, n->value);
    } else {   /* the accumulator (in its own type), then the scalar factor */
      v = LLVMBuildLoad2(g->b, LLVMGetAllocatedType(acc[0]), acc[0], "acc");
      int ae = LLVMGetAllocatedType(acc[0]) == g->f64 ? ELEM_F64 : elem;
      v = apply_scale(g, n, elem, cg_convert(g, v, ae, elem));
    }
    LLVMValueRef off = cg_offset(g, n->out, n->pos, n->value ? n->value->span : span_none(), NULL);
    if (n->accumulate) v = cg_add(g, elem, cg_load_elem(g, elem, buf, off), v);
    cg_store_elem(g, elem, v, buf, off);
    return;
  }
  }
}

/* The statement's loop nest, as the lir stage recorded it. */
static void einsum_loops(Cg *g, const TirOp *op, LLVMValueRef buf) {
  const LirNode *root = op->loops;
  if (!root) TNS_BUG("EINSUM without its loop nest (the lir stage did not run)");
  if (op->parallel) {   /* the outer loop on the thread pool */
    cg_parallel(g, op, root, buf);
    return;
  }
  LLVMValueRef acc[1] = {NULL};
  cg_lir(g, root, buf, acc, 1);
}

/* Does x read variable v anywhere (also inside positions)? */
static int expr_reads(const TirExpr *x, const TirVar *v) {
  if (!x) return 0;
  if ((x->kind == TX_ACCESS || x->kind == TX_READ) && x->var == v) return 1;
  if (x->kind == TX_ACCESS)
    for (int k = 0; k < x->var->type->rank; k++)
      if (x->pos[k].kind == TP_EXPR && expr_reads(x->pos[k].e, v)) return 1;
  if (expr_reads(x->a, v) || expr_reads(x->b, v) || expr_reads(x->c, v)) return 1;
  for (int i = 0; x->args && i < x->n; i++)
    if (expr_reads(x->args[i], v)) return 1;
  return 0;
}

/* X[i] += X[n - 1 - i], X[0, j] = X[1, j]: the body reads the target, so
 * it must see the old values everywhere. The results go into a copy that
 * then replaces X. */
static LLVMValueRef accumulate_buffer(Cg *g, const TirOp *op, LLVMValueRef old) {
  const TirVar *v = op->out;
  if (!expr_reads(op->body, v)) return old;
  LLVMValueRef buf = alloc_buffer(g, v, 0);   /* all copied over */
  LLVMBuildMemCpy(g->b, buf, 8, old, 8, bytes_of(g, v->type));
  return buf;
}

/* out[i, j] = body  /  out[i, j] += body */
static void cg_einsum(Cg *g, const TirOp *op) {
  const TirVar *v = op->out;
  if (op->lowering == TL_GEMM) { cg_gemm(g, op); return; }         /* one library call */
  if (op->lowering == TL_PERMUTE) { cg_permute(g, op); return; }   /* a tiled transposed copy */
  if (v->type->rank == 0) {
    LLVMValueRef x = cg_expr(g, op->body);
    if (op->accumulate)
      x = cg_add(g, v->type->elem, LLVMBuildLoad2(g->b, cg_reg_type(g, v->type->elem), g->slot[v->id], "acc"), x);
    LLVMBuildStore(g->b, x, g->slot[v->id]);
    return;
  }
  int in_place = op->accumulate || op->partial;
  LLVMValueRef old = in_place ? cg_buffer(g, v) : NULL;
  LLVMValueRef buf = in_place ? accumulate_buffer(g, op, old) : alloc_buffer(g, v, !writes_every_element(op));
  einsum_loops(g, op, buf);
  if (buf != old) cg_replace_buffer(g, v, buf);
}

/* A literal whose elements are all constants, as a private constant
 * array in memory layout; NULL when some element is computed. */
static LLVMValueRef literal_global(Cg *g, const TirOp *op) {
  int elem = op->out->type->elem;
  LLVMTypeRef mt = cg_mem_type(g, elem);
  for (int i = 0; i < op->nelems; i++)
    if (op->elems[i]->kind != TX_CONST || op->elems[i]->elem != elem) return NULL;
  LLVMValueRef *vals = calloc((size_t)op->nelems + 1, sizeof *vals);
  for (int i = 0; i < op->nelems; i++) {
    const TirExpr *x = op->elems[i];
    vals[i] = elem_is_float(elem) ? LLVMConstReal(mt, x->fval) : LLVMConstInt(mt, (unsigned long long)x->ival, 1);
  }
  LLVMValueRef init = LLVMConstArray2(mt, vals, (uint64_t)op->nelems);
  free(vals);
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), "literal");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  return gv;
}

/* out = [[...], ...]: constant elements are copied from a global, others
 * computed one by one */
static void cg_literal(Cg *g, const TirOp *op) {
  const TirVar *v = op->out;
  if (v->type->rank == 0) {
    LLVMBuildStore(g->b, cg_expr(g, op->elems[0]), g->slot[v->id]);
    return;
  }
  LLVMValueRef buf = alloc_buffer(g, v, 1), gv = op->nelems > 0 ? literal_global(g, op) : NULL;
  if (gv) {
    unsigned long long bytes = (unsigned long long)op->nelems * (unsigned long long)elem_size(v->type->elem);
    LLVMBuildMemCpy(g->b, buf, 8, gv, 8, LLVMConstInt(g->i64, bytes, 0));
    cg_replace_buffer(g, v, buf);
    return;
  }
  for (int i = 0; i < op->nelems; i++)
    cg_store_elem(g, v->type->elem, cg_expr(g, op->elems[i]), buf, LLVMConstInt(g->i64, (unsigned long long)i, 0));
  cg_replace_buffer(g, v, buf);
}

/* check d0 == d1, else a shape error at the op's location */
static void cg_check(Cg *g, const TirOp *op) {
  LLVMValueRef a = cg_dim(g, op->dims[0]), b = cg_dim(g, op->dims[1]);
  LLVMBasicBlockRef bad = cg_block(g, "shape.bad"), ok = cg_block(g, "shape.ok");
  if (op->nbind && op->bind[0]) {   /* binds a / b, which must divide */
    LLVMValueRef z = LLVMConstInt(g->i64, 0, 0), one = LLVMConstInt(g->i64, 1, 0);
    LLVMValueRef nz = LLVMBuildICmp(g->b, LLVMIntNE, b, z, "nz");
    LLVMValueRef safe = LLVMBuildSelect(g->b, nz, b, one, "d");
    LLVMValueRef rem = LLVMBuildSRem(g->b, a, safe, "rem");
    LLVMValueRef fits = LLVMBuildAnd(g->b, nz, LLVMBuildICmp(g->b, LLVMIntEQ, rem, z, "exact"), "fits");
    for (int i = 0; i < g->fn->sizes.n; i++)
      if (((TirSize *)g->fn->sizes.items[i])->name == op->bind[0])
        LLVMBuildStore(g->b, LLVMBuildSDiv(g->b, a, safe, "quot"), g->size_slot[i]);
    LLVMBuildCondBr(g->b, fits, ok, bad);
  } else {
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, op->le ? LLVMIntSLE : LLVMIntEQ, a, b, "same"), ok, bad);
  }
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMTypeRef pt[] = {g->ptr, g->i32, g->ptr};
  LLVMValueRef f = cg_fn(g, "tns_error_at", g->i32, pt, 3, 1);
  LLVMValueRef args[] = {cg_cstring(g, op->loc), LLVMConstInt(g->i32, TNS_ERR_SHAPE, 0),
                         cg_cstring(g, "%s (%lld vs %lld)"), cg_cstring(g, op->msg), a, b};
  cg_fail(g, LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, 6, "st"));
  LLVMPositionBuilderAtEnd(g->b, ok);
}

/* size = an i64 value (`zeros(f64[k, k])`), which must not be negative */
static void cg_size(Cg *g, const TirOp *op) {
  LLVMValueRef v = cg_expr(g, op->value);
  LLVMBasicBlockRef bad = cg_block(g, "size.negative"), ok = cg_block(g, "size.ok");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, v, LLVMConstInt(g->i64, 0, 0), "nonneg"), ok, bad);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMTypeRef pt[] = {g->ptr, g->i32, g->ptr};
  LLVMValueRef f = cg_fn(g, "tns_error_at", g->i32, pt, 3, 1);
  LLVMValueRef args[] = {cg_cstring(g, op->loc), LLVMConstInt(g->i32, TNS_ERR_SHAPE, 0),
                         cg_cstring(g, "%s (%lld); a dimension cannot be negative"), cg_cstring(g, op->msg), v};
  cg_fail(g, LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, 5, "st"));
  LLVMPositionBuilderAtEnd(g->b, ok);
  for (int i = 0; i < g->fn->sizes.n; i++)
    if (((TirSize *)g->fn->sizes.items[i])->name == op->bind[0]) LLVMBuildStore(g->b, v, g->size_slot[i]);
}

/* Pointer to a scalar argument: its value in a stack slot. */
static LLVMValueRef arg_pointer(Cg *g, const TirVar *v) {
  if (v->type->rank > 0) return cg_buffer(g, v);
  return g->slot[v->id];
}

/* A zeroed TnsArray for a result the callee allocates. */
static LLVMValueRef empty_array(Cg *g) {
  LLVMValueRef arr = cg_entry_alloca(g, LLVMArrayType2(g->i8, ARR_SIZE), "result.array");
  LLVMBuildMemSet(g->b, arr, LLVMConstInt(g->i8, 0, 0), LLVMConstInt(g->i64, ARR_SIZE, 0), 8);
  return arr;
}

static LLVMValueRef array_field(Cg *g, LLVMValueRef arr, int off, LLVMTypeRef t, const char *name) {
  LLVMValueRef at = LLVMBuildGEP2(g->b, g->i8, arr, (LLVMValueRef[]){LLVMConstInt(g->i64, (unsigned long long)off, 0)}, 1, "");
  return LLVMBuildLoad2(g->b, t, at, name);
}

/* Results handed over as TnsArrays (their shapes only the callee knows):
 * the sizes the call binds, then the buffers, which are ours even when the
 * call failed; scalars once it succeeded. */
static void array_results(Cg *g, const TirOp *op, LLVMValueRef *arrs, LLVMValueRef st) {
  for (int r = 0, at = 0; r < op->nresults; at += op->results[r]->type->rank, r++) {
    const TirVar *v = op->results[r];
    for (int k = 0; k < v->type->rank; k++) {
      if (!op->bind[at + k]) continue;
      LLVMValueRef d = array_field(g, arrs[r], ARR_DIMS + 8 * k, g->i64, op->bind[at + k]);
      for (int i = 0; i < g->fn->sizes.n; i++)
        if (((TirSize *)g->fn->sizes.items[i])->name == op->bind[at + k]) LLVMBuildStore(g->b, d, g->size_slot[i]);
    }
    if (v->type->rank > 0) cg_replace_buffer(g, v, array_field(g, arrs[r], ARR_DATA, g->ptr, "data"));
  }
  cg_check_status(g, st, "call.ok");
  for (int r = 0; r < op->nresults; r++) {
    const TirVar *v = op->results[r];
    if (v->type->rank > 0) continue;
    LLVMValueRef data = array_field(g, arrs[r], ARR_DATA, g->ptr, "data");
    LLVMBuildStore(g->b, cg_load_elem(g, v->type->elem, data, LLVMConstInt(g->i64, 0, 0)), g->slot[v->id]);
    cg_call(g, "tns_free", g->voidt, &g->ptr, &data, 1);
  }
}

/* results = fn(sizes..., args..., outs...) */
static void cg_call_op(Cg *g, const TirOp *op) {
  const TirFunc *f = op->fn;
  int n = op->nsargs + op->nargs + op->nresults;
  LLVMValueRef *args = calloc((size_t)n + 1, sizeof *args), *bufs = calloc((size_t)op->nresults + 1, sizeof *bufs);
  LLVMTypeRef *pt = calloc((size_t)n + 1, sizeof *pt);
  int k = 0;
  for (int i = 0; i < op->nsargs; i++, k++) { pt[k] = g->i64; args[k] = cg_dim(g, op->sargs[i]); }
  for (int i = 0; i < op->nargs; i++, k++) { pt[k] = g->ptr; args[k] = arg_pointer(g, op->args[i]); }
  for (int i = 0; i < op->nresults; i++, k++) {
    const TirVar *r = op->results[i];
    pt[k] = g->ptr;
    if (f->array_results) bufs[i] = empty_array(g);
    else if (r->type->rank > 0) bufs[i] = alloc_buffer(g, r, 1);
    else bufs[i] = g->slot[r->id]; /* scalars come back in their own slot */
    args[k] = bufs[i];
  }
  LLVMValueRef callee = cg_fn(g, f->name, g->i32, pt, n, 0);
  if (g->nest_work > 1) cg_mark_heavy(g, callee);   /* called in a loop */
  LLVMValueRef st = LLVMBuildCall2(g->b, LLVMGlobalGetValueType(callee), callee, args, (unsigned)n, "st");
  if (f->array_results) {
    array_results(g, op, bufs, st);
  } else {
    /* results are ours even when the call failed, so that exit frees them */
    for (int i = 0; i < op->nresults; i++)
      if (op->results[i]->type->rank > 0) cg_replace_buffer(g, op->results[i], bufs[i]);
    cg_check_status(g, st, "call.ok");
  }
  free(args);
  free(bufs);
  free(pt);
}

/* return a, b — copies into the caller's buffers, then leaves */
/* A result handed over as a TnsArray: a fresh copy with its shape. */
static void return_array(Cg *g, const TirVar *v, LLVMValueRef arr) {
  LLVMValueRef p = cg_alloc(g, v->type);
  if (v->type->rank == 0)
    cg_store_elem(g, v->type->elem, LLVMBuildLoad2(g->b, cg_reg_type(g, v->type->elem), g->slot[v->id], "r"), p,
                  LLVMConstInt(g->i64, 0, 0));
  else
    LLVMBuildMemCpy(g->b, p, 64, cg_buffer(g, v), 64, bytes_of(g, v->type));
  LLVMValueRef at;
  LLVMBuildStore(g->b, cg_dtype(g, v->type->elem), arr);
  at = LLVMBuildGEP2(g->b, g->i8, arr, (LLVMValueRef[]){LLVMConstInt(g->i64, 4, 0)}, 1, "rank");
  LLVMBuildStore(g->b, LLVMConstInt(g->i32, (unsigned long long)v->type->rank, 0), at);
  for (int k = 0; k < v->type->rank; k++) {
    at = LLVMBuildGEP2(g->b, g->i8, arr, (LLVMValueRef[]){LLVMConstInt(g->i64, (unsigned long long)(8 + 8 * k), 0)}, 1, "dim");
    LLVMBuildStore(g->b, cg_dim(g, v->type->dims[k]), at);
  }
  at = LLVMBuildGEP2(g->b, g->i8, arr, (LLVMValueRef[]){LLVMConstInt(g->i64, 8 + 8 * TNS_MAX_RANK, 0)}, 1, "data");
  LLVMBuildStore(g->b, p, at);
}

static void cg_return(Cg *g, const TirOp *op) {
  for (int i = 0; i < op->nargs && g->fn->array_results; i++) return_array(g, op->args[i], g->outs[i]);
  for (int i = 0; i < op->nargs && !g->fn->array_results; i++) {
    const TirVar *v = op->args[i];
    if (v->type->rank == 0) {
      LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, cg_reg_type(g, v->type->elem), g->slot[v->id], "r"), g->outs[i]);
      continue;
    }
    LLVMValueRef buf = cg_buffer(g, v);
    if (v->out_slot != i + 1) {
      LLVMBuildMemCpy(g->b, g->outs[i], 64, buf, 64, bytes_of(g, v->type));
      continue;
    }
    /* computed in place, unless a later += had to work on a copy */
    LLVMBasicBlockRef copy = cg_block(g, "return.copy"), done = cg_block(g, "return.done");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, buf, g->outs[i], "inplace"), done, copy);
    LLVMPositionBuilderAtEnd(g->b, copy);
    LLVMBuildMemCpy(g->b, g->outs[i], 64, buf, 64, bytes_of(g, v->type));
    LLVMBuildBr(g->b, done);
    LLVMPositionBuilderAtEnd(g->b, done);
  }
  LLVMBuildBr(g->b, g->exit_bb);
  LLVMPositionBuilderAtEnd(g->b, cg_block(g, "after.return"));
}

static void cg_for(Cg *g, const TirOp *op) {
  LLVMValueRef lo = cg_expr(g, op->lo), hi = cg_expr(g, op->hi);
  CgLoop l;
  cg_loop_begin(g, &l, op->out->name, lo, hi);
  check_interrupt(g);
  LLVMBuildStore(g->b, l.iv, g->slot[op->out->id]);
  cg_block_ops(g, &op->body_ops);
  cg_loop_end(g, &l);
}

static void cg_while(Cg *g, const TirOp *op) {
  double outer = g->nest_work;
  g->nest_work = HUGE_VAL;   /* the body's work is not known */
  cg_mark_heavy(g, g->llfn);
  LLVMBasicBlockRef head = cg_block(g, "while.cond"), body = cg_block(g, "while.body"), done = cg_block(g, "while.exit");
  LLVMBuildBr(g->b, head);
  LLVMPositionBuilderAtEnd(g->b, head);
  check_interrupt(g);
  cg_block_ops(g, &op->cond_ops);
  LLVMBuildCondBr(g->b, cg_expr(g, op->cond), body, done);
  LLVMPositionBuilderAtEnd(g->b, body);
  cg_block_ops(g, &op->body_ops);
  LLVMBuildBr(g->b, head);
  LLVMPositionBuilderAtEnd(g->b, done);
  g->nest_work = outer;
}

static void cg_if(Cg *g, const TirOp *op) {
  LLVMBasicBlockRef then = cg_block(g, "if.then"), els = cg_block(g, "if.else"), done = cg_block(g, "if.end");
  LLVMBuildCondBr(g->b, cg_expr(g, op->cond), then, els);
  LLVMPositionBuilderAtEnd(g->b, then);
  cg_block_ops(g, &op->body_ops);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, els);
  cg_block_ops(g, &op->else_ops);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
}

static void cg_op(Cg *g, const TirOp *op) {
  char loc[512];
  if (op->span.src) {
    snprintf(loc, sizeof loc, "%s:%d:%d", op->span.src->path, op->span.line, op->span.col);
    g->loc = loc;
  }
  switch (op->kind) {
  case TO_EINSUM: cg_einsum(g, op); break;
  case TO_CALL: cg_call_op(g, op); break;
  case TO_BUILTIN: cg_builtin(g, op); break;
  case TO_LITERAL: cg_literal(g, op); break;
  case TO_CHECK: cg_check(g, op); break;
  case TO_SIZE: cg_size(g, op); break;
  case TO_FOR: cg_for(g, op); break;
  case TO_WHILE: cg_while(g, op); break;
  case TO_IF: cg_if(g, op); break;
  case TO_RETURN: cg_return(g, op); break;
  case TO_ATTENTION: cg_attention(g, op); break;
  }
  g->loc = NULL;
}

static void cg_block_ops(Cg *g, const TirBlock *b) {
  for (int i = 0; i < b->n; i++) cg_op(g, b->ops[i]);
}

/* ---- functions ---- */

static LLVMTypeRef func_type(Cg *g, const TirFunc *f) {
  int n = f->nsize_params + f->params.n + f->results.n;
  LLVMTypeRef *pt = calloc((size_t)n + 1, sizeof *pt);
  for (int i = 0; i < n; i++) pt[i] = i < f->nsize_params ? g->i64 : g->ptr;
  LLVMTypeRef t = LLVMFunctionType(g->i32, pt, (unsigned)n, 0);
  free(pt);
  return t;
}

static void declare_func(Cg *g, const TirFunc *f) {
  LLVMValueRef fn = LLVMGetNamedFunction(g->mod, f->name);
  if (!fn) fn = LLVMAddFunction(g->mod, f->name, func_type(g, f));
  if (f != g->prog->main && !f->exported) LLVMSetLinkage(fn, LLVMInternalLinkage);
}

/* Stack slots for every variable and size, made in the entry block. */
static void make_slots(Cg *g, const TirFunc *f) {
  g->slot = calloc((size_t)f->vars.n + 1, sizeof *g->slot);
  g->owned = calloc((size_t)f->vars.n + 1, sizeof *g->owned);
  g->size_slot = calloc((size_t)f->sizes.n + 1, sizeof *g->size_slot);
  g->index = calloc((size_t)f->nindices + 1, sizeof *g->index);
  g->tile_iv = calloc((size_t)f->nindices + 1, sizeof *g->tile_iv);
  for (int i = 0; i < f->vars.n; i++) {
    const TirVar *v = f->vars.items[i];
    const char *name = v->name ? v->name : "tmp";
    if (v->type->rank == 0) {
      g->slot[i] = LLVMBuildAlloca(g->b, cg_reg_type(g, v->type->elem), name);
      LLVMBuildStore(g->b, cg_zero(g, v->type->elem), g->slot[i]);
      continue;
    }
    g->slot[i] = LLVMBuildAlloca(g->b, g->ptr, name);
    g->owned[i] = LLVMBuildAlloca(g->b, g->i1, "owned");
    LLVMBuildStore(g->b, LLVMConstNull(g->ptr), g->slot[i]);
    LLVMBuildStore(g->b, LLVMConstInt(g->i1, 0, 0), g->owned[i]);
  }
  for (int i = 0; i < f->sizes.n; i++) {
    const TirSize *s = f->sizes.items[i];
    g->size_slot[i] = LLVMBuildAlloca(g->b, g->i64, s->name);
    LLVMBuildStore(g->b, LLVMConstInt(g->i64, 0, 0), g->size_slot[i]);
  }
  g->status = LLVMBuildAlloca(g->b, g->i32, "status");
  LLVMBuildStore(g->b, LLVMConstInt(g->i32, 0, 0), g->status);
  g->pending = LLVMBuildAlloca(g->b, g->ptr, "pending");
  LLVMBuildStore(g->b, LLVMConstNull(g->ptr), g->pending);
}

/* Parameters: sizes into their slots, tensor pointers into theirs (the
 * checks and bind_params read them from there), result pointers named.
 * Every incoming argument is used in the entry block only: one used again
 * after the argument checks stays live across all their blocks, and with
 * thousands of parameters that made the register allocator's live
 * intervals quadratic (issue 15: 2,000 parameters took 4 s at -O2, the
 * functions being optnone). SROA puts them back in registers where the
 * function is optimised. */
static void bind_sizes(Cg *g, const TirFunc *f) {
  for (int i = 0; i < f->sizes.n; i++) {
    const TirSize *s = f->sizes.items[i];
    if (s->kind == TS_PARAM) LLVMBuildStore(g->b, LLVMGetParam(g->llfn, (unsigned)s->param), g->size_slot[i]);
  }
  g->param_slot = calloc((size_t)f->params.n + 1, sizeof *g->param_slot);
  for (int i = 0; i < f->params.n; i++) {
    LLVMValueRef p = LLVMGetParam(g->llfn, (unsigned)(f->nsize_params + i));
    const char *name = ((const TirVar *)f->params.items[i])->name;
    LLVMSetValueName2(p, name, strlen(name));
    g->param_slot[i] = LLVMBuildAlloca(g->b, g->ptr, "param");
    LLVMBuildStore(g->b, p, g->param_slot[i]);
  }
  int k = f->nsize_params + f->params.n;
  g->outs = calloc((size_t)f->results.n + 1, sizeof *g->outs);
  for (int i = 0; i < f->results.n; i++, k++) {
    g->outs[i] = LLVMGetParam(g->llfn, (unsigned)k);
    LLVMSetValueName2(g->outs[i], "out", 3);
  }
}

LLVMValueRef cg_param_ptr(Cg *g, int i) { return LLVMBuildLoad2(g->b, g->ptr, g->param_slot[i], "param"); }

/* Tensors by pointer (not ours to free), scalars by value. */
static void bind_params(Cg *g, const TirFunc *f) {
  for (int i = 0; i < f->params.n; i++) {
    const TirVar *v = f->params.items[i];
    LLVMValueRef p = cg_param_ptr(g, i);
    if (v->type->rank > 0) LLVMBuildStore(g->b, p, g->slot[v->id]);
    else LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, cg_reg_type(g, v->type->elem), p, v->name), g->slot[v->id]);
  }
}

/* exit: free every buffer we own, return the status */
static void emit_exit(Cg *g, const TirFunc *f) {
  LLVMPositionBuilderAtEnd(g->b, g->exit_bb);
  LLVMValueRef half = LLVMBuildLoad2(g->b, g->ptr, g->pending, "pending");
  cg_call(g, "tns_free", g->voidt, &g->ptr, &half, 1);
  for (int i = 0; i < f->vars.n; i++) {
    const TirVar *v = f->vars.items[i];
    if (v->type->rank == 0 || v->param) continue;
    LLVMValueRef p = LLVMBuildLoad2(g->b, g->ptr, g->slot[i], "p");
    LLVMValueRef own = LLVMBuildLoad2(g->b, g->i1, g->owned[i], "own");
    LLVMValueRef q = LLVMBuildSelect(g->b, own, p, LLVMConstNull(g->ptr), "q");
    cg_call(g, "tns_free", g->voidt, &g->ptr, &q, 1);
  }
  LLVMBuildRet(g->b, LLVMBuildLoad2(g->b, g->i32, g->status, "status"));
}

static void emit_func(Cg *g, const TirFunc *f) {
  g->fn = f;
  g->llfn = LLVMGetNamedFunction(g->mod, f->name);
  g->nest_work = 1;
  LLVMBasicBlockRef entry = cg_block(g, "entry");
  g->exit_bb = cg_block(g, "exit");
  LLVMPositionBuilderAtEnd(g->b, entry);
  make_slots(g, f);
  bind_sizes(g, f);
  if (f->exported) cg_abi_checks(g, f); /* C callers get checked arguments */
  bind_params(g, f);                    /* ... before a scalar is read */
  LLVMBasicBlockRef start = cg_block(g, "start");
  LLVMBuildBr(g->b, start);
  LLVMPositionBuilderAtEnd(g->b, start);
  LLVMMoveBasicBlockAfter(g->exit_bb, start);
  cg_block_ops(g, &f->body);
  LLVMBuildBr(g->b, g->exit_bb);
  LLVMMoveBasicBlockAfter(g->exit_bb, LLVMGetInsertBlock(g->b));
  emit_exit(g, f);
  free(g->slot);
  free(g->owned);
  free(g->size_slot);
  free(g->index);
  free(g->tile_iv);
  free(g->outs);
  free(g->param_slot);
}

LLVMModuleRef cg_module(LLVMContextRef ctx, const TirProgram *p, const CgOptions *o) {
  Cg g;
  memset(&g, 0, sizeof g);
  g.ctx = ctx;
  g.prog = p;
  g.opt = o;
  g.nest_work = 1;
  g.mod = LLVMModuleCreateWithNameInContext("tns", ctx);
  g.b = LLVMCreateBuilderInContext(ctx);
  g.i1 = LLVMInt1TypeInContext(ctx);
  g.i8 = LLVMInt8TypeInContext(ctx);
  g.i32 = LLVMInt32TypeInContext(ctx);
  g.i64 = LLVMInt64TypeInContext(ctx);
  g.f32 = LLVMFloatTypeInContext(ctx);
  g.f64 = LLVMDoubleTypeInContext(ctx);
  g.ptr = LLVMPointerTypeInContext(ctx, 0);
  g.voidt = LLVMVoidTypeInContext(ctx);
  for (int i = 0; i < p->funcs.n; i++) declare_func(&g, p->funcs.items[i]);
  for (int i = 0; i < p->funcs.n; i++) emit_func(&g, p->funcs.items[i]);
  if (o->exe_main) cg_exe_main(&g);
  LLVMDisposeBuilder(g.b);
  return g.mod;
}

/* ---- target and optimisation ---- */

LLVMTargetMachineRef cg_target_machine(const CgOptions *o) {
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  char *triple = LLVMGetDefaultTargetTriple(), *err = NULL;
  LLVMTargetRef target;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    fprintf(stderr, "tnsc: %s\n", err);
    LLVMDisposeMessage(err);
    LLVMDisposeMessage(triple);
    return NULL;
  }
  char *cpu = o->cpu ? NULL : LLVMGetHostCPUName();
  char *features = o->cpu ? NULL : LLVMGetHostCPUFeatures();
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      target, triple, o->cpu ? o->cpu : cpu, o->features ? o->features : features ? features : "",
      o->opt_level ? LLVMCodeGenLevelAggressive : LLVMCodeGenLevelNone,
      o->pic ? LLVMRelocPIC : LLVMRelocDefault, LLVMCodeModelDefault);
  LLVMDisposeMessage(triple);
  if (cpu) LLVMDisposeMessage(cpu);
  if (features) LLVMDisposeMessage(features);
  return tm;
}

static void add_attr(LLVMContextRef ctx, LLVMValueRef f, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, kind, 0));
}

/* Functions not marked heavy by code generation run once or do little
 * work: optnone keeps LLVM's pipeline off them and gives them the fast
 * instruction selector, which is most of the JIT's time saved. */
static int mark_light(LLVMModuleRef m) {
  const char *heavy = CG_HEAVY_ATTR;
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  int nheavy = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    if (LLVMGetStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, heavy, (unsigned)strlen(heavy))) {
      nheavy++;
      continue;
    }
    add_attr(ctx, f, "optnone");
    add_attr(ctx, f, "noinline");
  }
  return nheavy;
}

int cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, const CgOptions *o) {
  char *err = NULL;
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(m, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
  char *dls = LLVMCopyStringRepOfTargetData(dl);
  LLVMSetDataLayout(m, dls);
  LLVMDisposeMessage(dls);
  LLVMDisposeTargetData(dl);
  if (LLVMVerifyModule(m, LLVMReturnStatusAction, &err)) {
    fprintf(stderr, "tnsc: internal error: invalid LLVM module:\n%s\n", err);
    LLVMDisposeMessage(err);
    return 1;
  }
  LLVMDisposeMessage(err);
  /* Nothing heavy: every function is optnone, and the pipeline's module
   * passes would only cost time (CalledValuePropagation is quadratic in a
   * call's argument count: 0.7 s for a call with 4,000 arguments). */
  if (o->light_glue && !mark_light(m) && o->opt_level > 0) return 0;
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", o->opt_level);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(m, passes, tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    fprintf(stderr, "tnsc: internal error: %s\n", msg);
    LLVMDisposeErrorMessage(msg);
    return 1;
  }
  return 0;
}
