/* cg_attention.c — an ATTENTION op (tir.h, passes/attention.c) as one call
 * of the runtime kernel tns_attention: a descriptor of sizes, strides and
 * mask conditions (offsets in tns_runtime.h) built on the stack, the
 * scale evaluated once. */
#include "cg_int.h"
#include "tns_runtime.h"

static LLVMValueRef i64c(Cg *g, long long v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }

static void put(Cg *g, LLVMValueRef desc, int at, LLVMValueRef v) {
  LLVMBuildStore(g->b, v, LLVMBuildGEP2(g->b, g->i64, desc, (LLVMValueRef[]){i64c(g, at)}, 1, "slot"));
}

/* The stride (in elements) of dimension k of a row-major tensor of type t. */
static LLVMValueRef stride(Cg *g, const Type *t, int k) {
  LLVMValueRef s = i64c(g, 1);
  for (int r = k + 1; r < t->rank; r++) s = LLVMBuildMul(g->b, s, cg_dim(g, t->dims[r]), "stride");
  return s;
}

static LLVMValueRef as_i64(Cg *g, LLVMValueRef v) { return LLVMBuildPtrToInt(g->b, v, g->i64, "p.i64"); }

static LLVMValueRef f64_bits(Cg *g, const TirExpr *x) {
  return LLVMBuildBitCast(g->b, cg_convert(g, cg_expr(g, x), x->elem, ELEM_F64), g->i64, "f.bits");
}

/* The batch strides of a tensor read at batch roles (pos) into 4 slots. */
static void batch_strides(Cg *g, LLVMValueRef desc, int at, const TirVar *v, const signed char *pos) {
  for (int r = 0; r < 4; r++) {
    int k = v ? pos[TIR_ATTN_B + r] : -1;
    put(g, desc, at + r, k >= 0 ? stride(g, v->type, k) : i64c(g, 0));
  }
}

static LLVMValueRef product(Cg *g, TirExpr *const *f, const int *divides, int n) {
  LLVMValueRef s = LLVMConstReal(g->f64, 1.0);
  for (int i = 0; i < n; i++) {
    LLVMValueRef x = cg_convert(g, cg_expr(g, f[i]), f[i]->elem, ELEM_F64);
    s = divides[i] ? LLVMBuildFDiv(g->b, s, x, "f") : LLVMBuildFMul(g->b, s, x, "f");
  }
  return s;
}

/* Key padding, softcap and ALiBi slots of the descriptor. */
static void extras(Cg *g, const TirAttention *a, LLVMValueRef desc) {
  for (int t = 0; t < 2; t++) {
    int at = TNS_ATTN_PAD + 8 * t;
    const TirVar *v = t < a->npad ? a->pad[t] : NULL;
    put(g, desc, at, v ? as_i64(g, cg_buffer(g, v)) : i64c(g, 0));
    put(g, desc, at + 1, v ? i64c(g, elem_dtype(v->type->elem)) : i64c(g, 0));
    put(g, desc, at + 2, i64c(g, v ? a->pcmp[t] : 0));
    batch_strides(g, desc, at + 3, v, v ? a->ppos[t] : NULL);
    put(g, desc, at + 7, v && a->poff[t] ? f64_bits(g, a->poff[t]) : i64c(g, 0));
  }
  put(g, desc, TNS_ATTN_CAP, i64c(g, a->capped));
  put(g, desc, TNS_ATTN_CAP + 1, LLVMBuildBitCast(g->b, product(g, a->capf, a->capdiv, a->ncap), g->i64, "cap"));
  int al = TNS_ATTN_ALIBI;
  put(g, desc, al, i64c(g, a->alibi));
  put(g, desc, al + 1, i64c(g, a->aa));
  put(g, desc, al + 2, i64c(g, a->ab));
  LLVMValueRef k = i64c(g, a->ak);
  if (a->akx) k = LLVMBuildAdd(g->b, k, cg_convert(g, cg_expr(g, a->akx), a->akx->elem, ELEM_I64), "alibi.k");
  put(g, desc, al + 3, k);
  put(g, desc, al + 4, a->slope ? as_i64(g, cg_buffer(g, a->slope)) : i64c(g, 0));
  put(g, desc, al + 5, a->slopex ? f64_bits(g, a->slopex) : i64c(g, 0));
  batch_strides(g, desc, al + 6, a->slope, a->spos);
  put(g, desc, al + 10, i64c(g, a->asign));
}

/* Order R >= 2: the further keys and values (runtime/tns_runtime.h). */
static void higher_order(Cg *g, const TirAttention *a, LLVMValueRef desc) {
  put(g, desc, TNS_ATTN_ORDER, i64c(g, a->order > 1 ? a->order : 1));
  for (int r = 0; r + 1 < a->order; r++) {
    int at = TNS_ATTN_ORDER + 1 + 15 * r;
    static const int kroles[] = {TIR_ATTN_J, TIR_ATTN_C}, vroles[] = {TIR_ATTN_J, TIR_ATTN_X};
    put(g, desc, at, as_i64(g, cg_buffer(g, a->kx[r])));
    put(g, desc, at + 1, as_i64(g, cg_buffer(g, a->vx[r])));
    put(g, desc, at + 2, cg_dim(g, a->mx[r]));
    for (int t = 0; t < 2; t++) {
      int kk = a->kxpos[r][kroles[t]], vk = a->vxpos[r][vroles[t]];
      put(g, desc, at + 3 + t, kk >= 0 ? stride(g, a->kx[r]->type, kk) : i64c(g, 0));
      put(g, desc, at + 9 + t, vk >= 0 ? stride(g, a->vx[r]->type, vk) : i64c(g, 0));
    }
    batch_strides(g, desc, at + 5, a->kx[r], a->kxpos[r]);
    batch_strides(g, desc, at + 11, a->vx[r], a->vxpos[r]);
  }
  /* keys 2..4: their mask coefficients, bias strides, grouped reads and
     position-bias coefficients (zero where absent) */
  for (int t = 0; t < TIR_ATTN_CONDS; t++)
    for (int r = 0; r < 3; r++) put(g, desc, TNS_ATTN_CONDX + 3 * t + r, i64c(g, t < a->ncond ? a->cbx[r][t] : 0));
  for (int r = 0; r < 3; r++) {
    int k = a->bias && r + 1 < a->order ? a->bxpos[r] : -1;
    put(g, desc, TNS_ATTN_BIASX + r, k >= 0 ? stride(g, a->bias->type, k) : i64c(g, 0));
    put(g, desc, TNS_ATTN_ALIBIX + r, i64c(g, a->alibi ? a->abx[r] : 0));
    for (int b = 0; b < 4; b++) {
      int at = TNS_ATTN_DIVX + 16 * r + b, on = r + 1 < a->order;
      int64_t kd = on ? a->kxdiv[r][TIR_ATTN_B + b] : 0, vd = on ? a->vxdiv[r][TIR_ATTN_B + b] : 0;
      put(g, desc, at, i64c(g, kd > 1 ? kd : 0));
      put(g, desc, at + 4, kd > 1 ? cg_dim(g, a->kxlim[r][TIR_ATTN_B + b]) : i64c(g, 0));
      put(g, desc, at + 8, i64c(g, vd > 1 ? vd : 0));
      put(g, desc, at + 12, vd > 1 ? cg_dim(g, a->vxlim[r][TIR_ATTN_B + b]) : i64c(g, 0));
    }
  }
  for (int t = 0; t < 2; t++) put(g, desc, TNS_ATTN_PADKEY + t, i64c(g, t < a->npad ? a->pkey[t] : 0));
  for (int r = 0; r < 4; r++) put(g, desc, TNS_ATTN_NEST + r, i64c(g, r < a->order ? a->nest[r] : r));
}

void cg_attention(Cg *g, const TirOp *op) {
  const TirAttention *a = op->attn;
  const TirVar *operands[5] = {a->q, a->k, a->v, op->out, a->bias};
  LLVMValueRef desc = cg_entry_alloca(g, LLVMArrayType2(g->i64, TNS_ATTN_DESC), "attn.desc");
  put(g, desc, TNS_ATTN_NBATCH, i64c(g, a->nbatch));
  for (int r = 0; r < a->nbatch; r++) put(g, desc, TNS_ATTN_BATCH + r, cg_dim(g, a->ext[TIR_ATTN_B + r]));
  put(g, desc, TNS_ATTN_N, cg_dim(g, a->ext[TIR_ATTN_I]));
  put(g, desc, TNS_ATTN_M, cg_dim(g, a->ext[TIR_ATTN_J]));
  put(g, desc, TNS_ATTN_D, cg_dim(g, a->ext[TIR_ATTN_C]));
  put(g, desc, TNS_ATTN_E, cg_dim(g, a->ext[TIR_ATTN_X]));
  for (int o = 0; o < 5; o++)
    for (int r = 0; r < TIR_ATTN_ROLES; r++) {
      int k = operands[o] ? a->pos[o][r] : -1;
      put(g, desc, TNS_ATTN_STRIDES + TIR_ATTN_ROLES * o + r, k >= 0 ? stride(g, operands[o]->type, k) : i64c(g, 0));
    }
  put(g, desc, TNS_ATTN_NCOND, i64c(g, a->ncond));
  for (int t = 0; t < a->ncond; t++) {
    LLVMValueRef c = i64c(g, a->ck[t]);
    if (a->cx[t]) c = LLVMBuildAdd(g->b, c, cg_convert(g, cg_expr(g, a->cx[t]), a->cx[t]->elem, ELEM_I64), "mask.c");
    put(g, desc, TNS_ATTN_CONDS + 3 * t, i64c(g, a->ca[t]));
    put(g, desc, TNS_ATTN_CONDS + 3 * t + 1, i64c(g, a->cb[t]));
    put(g, desc, TNS_ATTN_CONDS + 3 * t + 2, c);
  }
  for (int o = 0; o < 5; o++)
    for (int r = 0; r < TIR_ATTN_ROLES; r++) {
      int dv = operands[o] && a->div[o][r] > 1;
      put(g, desc, TNS_ATTN_DIV + TIR_ATTN_ROLES * o + r, i64c(g, dv ? a->div[o][r] : 0));
      put(g, desc, TNS_ATTN_LIM + TIR_ATTN_ROLES * o + r, dv ? cg_dim(g, a->lim[o][r]) : i64c(g, 0));
    }
  extras(g, a, desc);
  higher_order(g, a, desc);
  LLVMValueRef scale = LLVMConstReal(g->f64, 1.0);
  for (int i = 0; i < a->nscale; i++) {
    LLVMValueRef s = cg_convert(g, cg_expr(g, a->scale[i]), a->scale[i]->elem, ELEM_F64);
    scale = a->divides[i] ? LLVMBuildFDiv(g->b, scale, s, "scale") : LLVMBuildFMul(g->b, scale, s, "scale");
  }
  const TirVar *v = op->out;
  LLVMValueRef buf = cg_alloc_result(g, v, 0);
  cg_pending(g, v, buf);
  LLVMValueRef lbuf = NULL;
  if (a->lse) {
    lbuf = cg_alloc_result(g, a->lse, 0);
    cg_pending(g, a->lse, lbuf);
  }
  put(g, desc, TNS_ATTN_LSE, lbuf ? as_i64(g, lbuf) : i64c(g, 0));
  put(g, desc, TNS_ATTN_LSE + 1, a->lse ? stride(g, a->lse->type, a->lpos[TIR_ATTN_I]) : i64c(g, 0));
  batch_strides(g, desc, TNS_ATTN_LSE + 2, a->lse, a->lpos);
  LLVMTypeRef pt[] = {g->i32, g->ptr, g->ptr, g->ptr, g->ptr, g->ptr, g->ptr, g->f64};
  LLVMValueRef args[] = {cg_dtype(g, v->type->elem), desc, cg_buffer(g, a->q), cg_buffer(g, a->k), cg_buffer(g, a->v),
                         a->bias ? cg_buffer(g, a->bias) : LLVMConstNull(g->ptr), buf, scale};
  cg_mark_heavy(g, g->llfn);
  LLVMValueRef st = cg_call(g, "tns_attention", g->i32, pt, args, 8);
  cg_replace_buffer(g, v, buf);
  if (a->lse) cg_replace_buffer(g, a->lse, lbuf);
  cg_check_status(g, st, "attention.ok");
}
