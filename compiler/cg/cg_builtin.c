/* cg_builtin.c — BUILTIN ops: calls into the runtime (random numbers,
 * .npy and FROSTT files, printing, assert, reshape, LAPACK). */
#include <string.h>
#include "cg_int.h"
#include "tns_runtime.h"

/* Offsets in TnsArray: dtype, rank, dims[16], data. */

/* Pointer to the data of a var: its buffer, or its scalar slot. */
static LLVMValueRef data_of(Cg *g, const TirVar *v) {
  if (v->type->rank > 0) return cg_buffer(g, v);
  LLVMValueRef slot = cg_entry_alloca(g, cg_mem_type(g, v->type->elem), "scalar");
  LLVMValueRef x = LLVMBuildLoad2(g->b, cg_reg_type(g, v->type->elem), g->slot[v->id], "x");
  if (v->type->elem == ELEM_BOOL) x = LLVMBuildZExt(g->b, x, g->i8, "b");
  LLVMBuildStore(g->b, x, slot);
  return slot;
}

static int size_index(Cg *g, const char *name) {
  for (int i = 0; i < g->fn->sizes.n; i++)
    if (((TirSize *)g->fn->sizes.items[i])->name == name) return i;
  TNS_BUG("unknown size");
}

/* rand(T, seed), randn(T, seed) */
static void cg_random(Cg *g, const TirOp *op) {
  const TirVar *r = op->results[0];
  LLVMValueRef seed = op->nargs > 1 && op->args[1]
      ? cg_convert(g, LLVMBuildLoad2(g->b, cg_reg_type(g, op->args[1]->type->elem), g->slot[op->args[1]->id], "seed"), op->args[1]->type->elem, ELEM_I64)
      : cg_const_i64(g, 0);
  const char *fill = op->builtin == B_RAND ? "tns_rand_fill" : "tns_randn_fill";
  LLVMValueRef p = r->type->rank ? cg_alloc(g, r->type) : cg_entry_alloca(g, cg_reg_type(g, r->type->elem), "x");
  LLVMTypeRef pt[] = {g->i32, g->i64, g->i64, g->ptr};
  LLVMValueRef args[] = {cg_dtype(g, r->type->elem), cg_count(g, r->type), seed, p};
  LLVMValueRef st = cg_call(g, fill, g->i32, pt, args, 4);
  if (r->type->rank) cg_replace_buffer(g, r, p);
  else LLVMBuildStore(g->b, LLVMBuildLoad2(g->b, cg_reg_type(g, r->type->elem), p, "x"), g->slot[r->id]);
  cg_check_status(g, st, "random.ok");
}

/* A: f64[n, d] = load("a.npy"): checks the file against the annotation
 * and binds the sizes it names for the first time. */
static void cg_load(Cg *g, const TirOp *op) {
  const TirVar *r = op->results[0];
  LLVMValueRef arr = cg_entry_alloca(g, LLVMArrayType2(g->i8, ARR_SIZE), "array");
  LLVMTypeRef pt[] = {g->ptr, g->ptr, g->i32, g->i32, g->ptr, g->ptr};
  LLVMValueRef path = cg_cstring(g, op->strs[0]);
  LLVMValueRef st = cg_call(g, "tns_npy_load", g->i32, pt, (LLVMValueRef[]){path, arr}, 2);
  cg_check_status(g, st, "load.ok");
  /* -1 for a dimension this load binds, else the value it must have */
  LLVMValueRef want = cg_entry_alloca(g, LLVMArrayType2(g->i64, (unsigned)(r->type->rank + 1)), "want");
  for (int k = 0; k < r->type->rank; k++) {
    LLVMValueRef at = LLVMBuildGEP2(g->b, g->i64, want, (LLVMValueRef[]){cg_const_i64(g, k)}, 1, "w");
    LLVMBuildStore(g->b, op->bind[k] ? cg_const_i64(g, -1) : cg_dim(g, r->type->dims[k]), at);
  }
  LLVMValueRef args[] = {arr, cg_dtype(g, r->type->elem), cg_const_i32(g, r->type->rank), want, path};
  LLVMTypeRef ct[] = {g->ptr, g->i32, g->i32, g->ptr, g->ptr};
  LLVMValueRef data = LLVMBuildLoad2(g->b, g->ptr, LLVMBuildGEP2(g->b, g->i8, arr, (LLVMValueRef[]){cg_const_i64(g, ARR_DATA)}, 1, "pdata"), "data");
  st = cg_call(g, "tns_array_check", g->i32, ct, args, 5);
  LLVMBasicBlockRef bad = cg_block(g, "load.bad"), ok = cg_block(g, "load.checked");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntNE, st, cg_const_i32(g, 0), "bad"), bad, ok);
  LLVMPositionBuilderAtEnd(g->b, bad);
  cg_call(g, "tns_free", g->voidt, &g->ptr, &data, 1);
  cg_fail(g, st);
  LLVMPositionBuilderAtEnd(g->b, ok);
  for (int k = 0; k < r->type->rank; k++) {
    if (!op->bind[k]) continue;
    LLVMValueRef d = LLVMBuildLoad2(g->b, g->i64, LLVMBuildGEP2(g->b, g->i8, arr, (LLVMValueRef[]){cg_const_i64(g, ARR_DIMS + 8 * k)}, 1, "pd"), op->bind[k]);
    LLVMBuildStore(g->b, d, g->size_slot[size_index(g, op->bind[k])]);
  }
  if (r->type->rank) { cg_replace_buffer(g, r, data); return; }
  LLVMBuildStore(g->b, cg_load_elem(g, r->type->elem, data, cg_const_i64(g, 0)), g->slot[r->id]);
  cg_call(g, "tns_free", g->voidt, &g->ptr, &data, 1);
}

/* save("y.npy", Y) */
static void cg_save(Cg *g, const TirOp *op) {
  const TirVar *v = op->args[1];
  LLVMTypeRef pt[] = {g->ptr, g->i32, g->i32, g->ptr, g->ptr};
  LLVMValueRef args[] = {cg_cstring(g, op->strs[0]), cg_dtype(g, v->type->elem), cg_const_i32(g, v->type->rank),
                         cg_dims_array(g, v->type), data_of(g, v)};
  cg_check_status(g, cg_call(g, "tns_npy_save", g->i32, pt, args, 5), "save.ok");
}

/* load_frostt("t.tns", d0, d1, ...) */
static void cg_frostt(Cg *g, const TirOp *op) {
  const TirVar *r = op->results[0];
  LLVMValueRef p = cg_alloc(g, r->type);
  cg_replace_buffer(g, r, p);
  LLVMTypeRef pt[] = {g->ptr, g->i32, g->ptr, g->ptr};
  LLVMValueRef args[] = {cg_cstring(g, op->strs[0]), cg_const_i32(g, r->type->rank), cg_dims_array(g, r->type), p};
  cg_check_status(g, cg_call(g, "tns_frostt_load", g->i32, pt, args, 4), "frostt.ok");
}

static LLVMValueRef std_out(Cg *g) {
  LLVMValueRef gv = LLVMGetNamedGlobal(g->mod, "stdout");
  if (!gv) gv = LLVMAddGlobal(g->mod, g->ptr, "stdout");
  return LLVMBuildLoad2(g->b, g->ptr, gv, "stdout");
}

static void put(Cg *g, LLVMValueRef s) {
  LLVMTypeRef pt[] = {g->ptr, g->ptr};
  cg_call(g, "fputs", g->i32, pt, (LLVMValueRef[]){s, std_out(g)}, 2);
}

/* print(a, "text", ...): like Python's print of numpy values */
static void cg_print(Cg *g, const TirOp *op) {
  for (int i = 0; i < op->nargs; i++) {
    if (i) put(g, cg_cstring(g, " "));
    if (op->strs[i]) { put(g, cg_cstring(g, op->strs[i])); continue; }
    const TirVar *v = op->args[i];
    if (v->type->rank == 0) {
      LLVMValueRef buf = cg_entry_alloca(g, LLVMArrayType2(g->i8, 64), "num");
      LLVMTypeRef pt[] = {g->ptr, g->i64, g->i32, g->ptr};
      LLVMValueRef args[] = {buf, cg_const_i64(g, 64), cg_dtype(g, v->type->elem), data_of(g, v)};
      cg_call(g, "tns_format_scalar", g->i32, pt, args, 4);
      put(g, buf);
      continue;
    }
    LLVMTypeRef pt[] = {g->i32, g->i32, g->ptr, g->ptr};
    LLVMValueRef args[] = {cg_dtype(g, v->type->elem), cg_const_i32(g, v->type->rank), cg_dims_array(g, v->type), cg_buffer(g, v)};
    LLVMValueRef s = cg_call(g, "tns_format_array", g->ptr, pt, args, 4);
    LLVMValueRef st = LLVMBuildSelect(g->b, LLVMBuildIsNull(g->b, s, "nos"), cg_const_i32(g, TNS_ERR_OOM), cg_const_i32(g, 0), "st");
    cg_check_status(g, st, "format.ok");
    put(g, s);
    cg_call(g, "tns_free", g->voidt, &g->ptr, &s, 1);
  }
  put(g, cg_cstring(g, "\n"));
}

/* assert(cond, "message") */
static void cg_assert(Cg *g, const TirOp *op) {
  LLVMValueRef c = LLVMBuildLoad2(g->b, g->i1, g->slot[op->args[0]->id], "cond");
  LLVMBasicBlockRef bad = cg_block(g, "assert.fail"), ok = cg_block(g, "assert.ok");
  LLVMBuildCondBr(g->b, c, ok, bad);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMTypeRef pt[] = {g->ptr, g->ptr};
  cg_fail(g, cg_call(g, "tns_assert_fail", g->i32, pt, (LLVMValueRef[]){cg_cstring(g, op->loc), cg_cstring(g, op->msg)}, 2));
  LLVMPositionBuilderAtEnd(g->b, ok);
}

/* reshape(X, T): the same elements, row-major */
static void cg_reshape(Cg *g, const TirOp *op) {
  const TirVar *r = op->results[0], *x = op->args[0];
  LLVMValueRef bytes = LLVMBuildMul(g->b, cg_count(g, x->type), cg_const_i64(g, elem_size(x->type->elem)), "bytes");
  LLVMValueRef n0 = cg_count(g, x->type), n1 = cg_count(g, r->type);
  LLVMBasicBlockRef bad = cg_block(g, "reshape.bad"), ok = cg_block(g, "reshape.ok");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, n0, n1, "same"), ok, bad);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMTypeRef pt[] = {g->ptr, g->i32, g->ptr};
  LLVMValueRef f = cg_fn(g, "tns_error_at", g->i32, pt, 3, 1);
  LLVMValueRef args[] = {cg_cstring(g, g->loc ? g->loc : ""), cg_const_i32(g, TNS_ERR_SHAPE),
                         cg_cstring(g, "reshape: %lld elements cannot take the shape of %lld elements"), n0, n1};
  cg_fail(g, LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, 5, "st"));
  LLVMPositionBuilderAtEnd(g->b, ok);
  if (r->type->rank == 0) {
    LLVMBuildStore(g->b, cg_load_elem(g, r->type->elem, data_of(g, x), cg_const_i64(g, 0)), g->slot[r->id]);
    return;
  }
  LLVMValueRef p = cg_alloc(g, r->type);
  LLVMBuildMemCpy(g->b, p, 1, data_of(g, x), 1, bytes);
  cg_replace_buffer(g, r, p);
}

/* Is v also an argument of op (a result rebinding its own input)? */
static int is_arg(const TirOp *op, const TirVar *v) {
  for (int i = 0; i < op->nargs; i++)
    if (op->args[i] == v) return 1;
  return 0;
}

/* The number of matrices in a stack: the product of the leading dims. */
static LLVMValueRef batch_of(Cg *g, const Type *t) {
  LLVMValueRef v = cg_const_i64(g, 1);
  for (int k = 0; k + 2 < t->rank; k++) v = LLVMBuildMul(g->b, v, cg_dim(g, t->dims[k]), "batch");
  return v;
}

/* svd(A), qr(A) of one m x n matrix; k = min(m, n) is bound here */
static LLVMValueRef cg_svd_qr(Cg *g, const TirOp *op, LLVMValueRef dt, LLVMValueRef A, LLVMValueRef *out) {
  const TirVar *a = op->args[0];
  LLVMValueRef m = cg_dim(g, a->type->dims[0]), n = cg_dim(g, a->type->dims[1]);
  LLVMValueRef k = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, m, n, "lt"), m, n, "k");
  for (int i = 0; i < op->nbind; i++)
    if (op->bind[i]) LLVMBuildStore(g->b, k, g->size_slot[size_index(g, op->bind[i])]);
  if (op->builtin == B_SVD) {
    LLVMTypeRef pt[] = {g->i32, g->i64, g->i64, g->ptr, g->ptr, g->ptr, g->ptr};
    return cg_call(g, "tns_svd", g->i32, pt, (LLVMValueRef[]){dt, m, n, A, out[0], out[1], out[2]}, 7);
  }
  LLVMTypeRef pt[] = {g->i32, g->i64, g->i64, g->ptr, g->ptr, g->ptr};
  return cg_call(g, "tns_qr", g->i32, pt, (LLVMValueRef[]){dt, m, n, A, out[0], out[1]}, 6);
}

/* The runtime function of each batched op, and how many outputs it has. */
static const char *batched_fn(int id, int *nout) {
  *nout = id == B_EIGH || id == B_SLOGDET ? 2 : 1;
  switch (id) {
  case B_CHOLESKY: return "tns_cholesky_batch";
  case B_EIGH: return "tns_eigh_batch";
  case B_INV: return "tns_inv";
  case B_DET: return "tns_det";
  case B_LOGDET: return "tns_logdet";
  default: return "tns_slogdet";
  }
}

/* solve, cholesky, eigh, inv, det, logdet, slogdet on a stack of n x n
 * matrices: fn(dtype, batch, n, [k,] A, [B,] outputs...) */
static LLVMValueRef cg_batched(Cg *g, const TirOp *op, LLVMValueRef dt, LLVMValueRef A, LLVMValueRef *out) {
  const Type *t = op->args[0]->type;
  LLVMValueRef batch = batch_of(g, t), n = cg_dim(g, t->dims[t->rank - 1]);
  if (op->builtin == B_SOLVE) {
    const TirVar *b = op->args[1];
    LLVMValueRef k = b->type->rank == t->rank ? cg_dim(g, b->type->dims[b->type->rank - 1]) : cg_const_i64(g, 1);
    LLVMTypeRef pt[] = {g->i32, g->i64, g->i64, g->i64, g->ptr, g->ptr, g->ptr};
    LLVMValueRef args[] = {dt, batch, n, k, A, cg_buffer(g, b), out[0]};
    return cg_call(g, "tns_solve_batch", g->i32, pt, args, 7);
  }
  int nout;
  const char *fn = batched_fn(op->builtin, &nout);
  LLVMTypeRef pt[] = {g->i32, g->i64, g->i64, g->ptr, g->ptr, g->ptr};
  LLVMValueRef args[] = {dt, batch, n, A, out[0], out[1]};
  return cg_call(g, fn, g->i32, pt, args, 4 + nout);
}

/* The LAPACK builtins through the runtime's wrappers. A scalar result
 * (det of one matrix) is written to a stack slot, then to its register. */
static void cg_linalg(Cg *g, const TirOp *op) {
  const TirVar *a = op->args[0];
  LLVMValueRef out[3] = {NULL, NULL, NULL};
  for (int i = 0; i < op->nresults; i++) {
    const Type *rt = op->results[i]->type;
    out[i] = rt->rank ? cg_alloc(g, rt) : cg_entry_alloca(g, cg_mem_type(g, rt->elem), "x");
  }
  for (int i = 0; i < op->nresults; i++)
    if (op->results[i]->type->rank && !is_arg(op, op->results[i])) cg_replace_buffer(g, op->results[i], out[i]);
  LLVMValueRef dt = cg_dtype(g, a->type->elem), A = cg_buffer(g, a);
  LLVMValueRef st = op->builtin == B_SVD || op->builtin == B_QR ? cg_svd_qr(g, op, dt, A, out)
                                                                : cg_batched(g, op, dt, A, out);
  /* only now: a result that replaces an argument (A = cholesky(A)) */
  for (int i = 0; i < op->nresults; i++) {
    const TirVar *r = op->results[i];
    if (r->type->rank == 0)
      LLVMBuildStore(g->b, cg_load_elem(g, r->type->elem, out[i], cg_const_i64(g, 0)), g->slot[r->id]);
    else if (is_arg(op, r)) cg_replace_buffer(g, r, out[i]);
  }
  cg_check_status(g, st, "linalg.ok");
}

void cg_builtin(Cg *g, const TirOp *op) {
  switch (op->builtin) {
  case B_RAND: case B_RANDN: cg_random(g, op); break;
  case B_LOAD: cg_load(g, op); break;
  case B_SAVE: cg_save(g, op); break;
  case B_LOAD_FROSTT: cg_frostt(g, op); break;
  case B_PRINT: cg_print(g, op); break;
  case B_ASSERT: cg_assert(g, op); break;
  case B_RESHAPE: cg_reshape(g, op); break;
  case B_SOLVE: case B_CHOLESKY: case B_EIGH: case B_SVD: case B_QR:
  case B_INV: case B_DET: case B_LOGDET: case B_SLOGDET: cg_linalg(g, op); break;
  default: TNS_BUG("builtin without code generation");
  }
}
