/* cg_expr.c — scalar expressions of EINSUM bodies: accesses with their
 * index maps and bounds checks, arithmetic with numpy's meaning, math
 * functions, conversions, and reductions as loops with accumulators
 * (softmax and logsumexp stable: a max pass first). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cg_int.h"
#include "tns_runtime.h"

static int fast(Cg *g) { return g->opt->opt_level > 0; }

/* Reassociation lets LLVM vectorise reductions; -O0 keeps source order. */
static LLVMValueRef fm(Cg *g, LLVMValueRef v) {
  if (fast(g) && LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v))
    LLVMSetFastMathFlags(v, LLVMFastMathAllowReassoc);
  return v;
}

LLVMValueRef cg_zero(Cg *g, int elem) {
  LLVMTypeRef t = cg_reg_type(g, elem);
  return elem_is_float(elem) ? LLVMConstReal(t, 0.0) : LLVMConstInt(t, 0, 0);
}

LLVMValueRef cg_const_i32(Cg *g, long v) { return LLVMConstInt(g->i32, (unsigned long long)v, 1); }
LLVMValueRef cg_const_i64(Cg *g, long v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }

static LLVMValueRef konst(Cg *g, int elem, double v) {
  LLVMTypeRef t = cg_reg_type(g, elem);
  return elem_is_float(elem) ? LLVMConstReal(t, v) : LLVMConstInt(t, (unsigned long long)(int64_t)v, 1);
}

LLVMValueRef cg_add(Cg *g, int elem, LLVMValueRef a, LLVMValueRef b) {
  if (elem_is_float(elem)) return LLVMBuildFAdd(g->b, a, b, "add");
  if (elem == ELEM_BOOL) return LLVMBuildOr(g->b, a, b, "or");
  return LLVMBuildAdd(g->b, a, b, "add");
}

LLVMValueRef cg_convert(Cg *g, LLVMValueRef v, int from, int to) {
  if (from == to) return v;
  LLVMTypeRef t = cg_reg_type(g, to);
  if (to == ELEM_BOOL)
    return elem_is_float(from) ? LLVMBuildFCmp(g->b, LLVMRealUNE, v, cg_zero(g, from), "tobool")
                               : LLVMBuildICmp(g->b, LLVMIntNE, v, cg_zero(g, from), "tobool");
  if (elem_is_float(from) && elem_is_float(to))
    return to == ELEM_F64 ? LLVMBuildFPExt(g->b, v, t, "ext") : LLVMBuildFPTrunc(g->b, v, t, "trunc");
  if (elem_is_float(to)) return from == ELEM_BOOL ? LLVMBuildUIToFP(g->b, v, t, "tofp") : LLVMBuildSIToFP(g->b, v, t, "tofp");
  if (elem_is_float(from)) return LLVMBuildFPToSI(g->b, v, t, "toint");
  if (from == ELEM_BOOL) return LLVMBuildZExt(g->b, v, t, "zext");
  return elem_size(to) > elem_size(from) ? LLVMBuildSExt(g->b, v, t, "sext") : LLVMBuildTrunc(g->b, v, t, "trunc");
}

/* ---- accesses ---- */

/* An integer position read from the program: 0 <= p < size or an error
 * naming the access. */
static void bounds_check(Cg *g, LLVMValueRef p, LLVMValueRef size, const TirVar *v, int k, const char *loc) {
  LLVMBasicBlockRef bad = cg_block(g, "bounds.bad"), ok = cg_block(g, "bounds.ok");
  LLVMValueRef in = LLVMBuildICmp(g->b, LLVMIntULT, p, size, "inbounds");
  LLVMBuildCondBr(g->b, in, ok, bad);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMTypeRef pt[] = {g->ptr, g->ptr, g->i32, g->i64, g->i64};
  LLVMValueRef args[] = {cg_cstring(g, loc), cg_cstring(g, v->name ? v->name : "a temporary"),
                         LLVMConstInt(g->i32, (unsigned long long)k, 0), p, size};
  cg_fail(g, cg_call(g, "tns_bounds_error", g->i32, pt, args, 5));
  LLVMPositionBuilderAtEnd(g->b, ok);
}

static LLVMValueRef position_value(Cg *g, const TirVar *v, const TirPos *p, int k, LLVMValueRef size, const char *loc) {
  if (p->kind == TP_EXPR) {
    char here[256];
    LLVMValueRef x = cg_expr(g, p->e);
    if (p->e->span.src) {   /* the error points at the position itself */
      snprintf(here, sizeof here, "%s:%d:%d", p->e->span.src->path, p->e->span.line, p->e->span.col);
      loc = here;
    }
    bounds_check(g, x, size, v, k, loc ? loc : "");
    return x;
  }
  LLVMValueRef x = g->index[p->idx[0]->id];
  for (int i = 1; i < p->n; i++) {
    x = LLVMBuildMul(g->b, x, cg_dim(g, p->idx[i]->range), "grp");
    x = LLVMBuildAdd(g->b, x, g->index[p->idx[i]->id], "grp");
  }
  return x;
}

/* Row-major offset of v[pos...]. */
LLVMValueRef cg_offset(Cg *g, const TirVar *v, const TirPos *pos, Span sp, const char *loc) {
  char buf[256];
  if (!loc && sp.src) {
    snprintf(buf, sizeof buf, "%s:%d:%d", sp.src->path, sp.line, sp.col);
    loc = buf;
  }
  LLVMValueRef off = LLVMConstInt(g->i64, 0, 0);
  for (int k = 0; k < v->type->rank; k++) {
    LLVMValueRef size = cg_dim(g, v->type->dims[k]);
    LLVMValueRef p = position_value(g, v, &pos[k], k, size, loc);
    off = k == 0 ? p : LLVMBuildAdd(g->b, LLVMBuildMul(g->b, off, size, "off"), p, "off");
  }
  return off;
}

/* v[pos...]; a scalar v (an ACCESS with no positions) is its value */
static LLVMValueRef access(Cg *g, const TirExpr *x) {
  if (x->var->type->rank == 0)
    return LLVMBuildLoad2(g->b, cg_reg_type(g, x->var->type->elem), g->slot[x->var->id], x->var->name ? x->var->name : "tmp");
  LLVMValueRef base = LLVMBuildLoad2(g->b, g->ptr, g->slot[x->var->id], x->var->name ? x->var->name : "tmp");
  return cg_load_elem(g, x->var->type->elem, base, cg_offset(g, x->var, x->pos, x->span, NULL));
}

/* ---- arithmetic ---- */

/* numpy's remainder: the result takes the sign of the divisor. */
static LLVMValueRef np_remainder(Cg *g, int elem, LLVMValueRef a, LLVMValueRef b) {
  if (elem_is_float(elem)) {
    LLVMValueRef r = LLVMBuildFRem(g->b, a, b, "rem");
    LLVMValueRef z = cg_zero(g, elem);
    LLVMValueRef fix = LLVMBuildAnd(g->b, LLVMBuildFCmp(g->b, LLVMRealONE, r, z, "nz"),
        LLVMBuildXor(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, r, z, "rn"), LLVMBuildFCmp(g->b, LLVMRealOLT, b, z, "bn"), "sign"), "fix");
    return LLVMBuildSelect(g->b, fix, LLVMBuildFAdd(g->b, r, b, "adj"), r, "mod");
  }
  /* integer: x % 0 is 0, as numpy gives (with a warning) */
  LLVMValueRef z = cg_zero(g, elem), one = konst(g, elem, 1);
  LLVMValueRef bz = LLVMBuildICmp(g->b, LLVMIntEQ, b, z, "bz");
  LLVMValueRef safe = LLVMBuildSelect(g->b, bz, one, b, "safe");
  LLVMValueRef r = LLVMBuildSRem(g->b, a, safe, "rem");
  LLVMValueRef fix = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntNE, r, z, "nz"),
      LLVMBuildICmp(g->b, LLVMIntSLT, LLVMBuildXor(g->b, r, safe, "x"), z, "sign"), "fix");
  r = LLVMBuildSelect(g->b, fix, LLVMBuildAdd(g->b, r, safe, "adj"), r, "mod");
  return LLVMBuildSelect(g->b, bz, z, r, "mod");
}

static LLVMValueRef intrinsic(Cg *g, const char *name, int elem, LLVMValueRef *args, int n);

/* a // b with numpy's meaning: the floor of the quotient. Integers:
 * x // 0 is 0 (numpy gives 0 with a warning), INT_MIN // -1 wraps.
 * Floats: numpy's npy_divmod (the quotient of a - fmod(a, b), rounded),
 * x // 0.0 is x / 0.0 (inf or nan). */
static LLVMValueRef np_floordiv(Cg *g, int elem, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef z = cg_zero(g, elem);
  if (elem_is_float(elem)) {
    LLVMValueRef mod = LLVMBuildFRem(g->b, a, b, "fmod");
    LLVMValueRef div = LLVMBuildFDiv(g->b, LLVMBuildFSub(g->b, a, mod, "am"), b, "div");
    LLVMValueRef fix = LLVMBuildAnd(g->b, LLVMBuildFCmp(g->b, LLVMRealUNE, mod, z, "nz"),
        LLVMBuildXor(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, b, z, "bn"), LLVMBuildFCmp(g->b, LLVMRealOLT, mod, z, "mn"), "x"), "fix");
    div = LLVMBuildSelect(g->b, fix, LLVMBuildFSub(g->b, div, konst(g, elem, 1.0), "dm"), div, "div");
    LLVMValueRef fl = intrinsic(g, "floor", elem, &div, 1);
    LLVMValueRef up = LLVMBuildFCmp(g->b, LLVMRealOGT, LLVMBuildFSub(g->b, div, fl, "frac"), konst(g, elem, 0.5), "up");
    fl = LLVMBuildSelect(g->b, up, LLVMBuildFAdd(g->b, fl, konst(g, elem, 1.0), "fl1"), fl, "floor");
    LLVMValueRef q = LLVMBuildFDiv(g->b, a, b, "q");
    LLVMValueRef cs[2] = {z, q};   /* a zero quotient keeps the sign of a / b */
    LLVMValueRef signed0 = intrinsic(g, "copysign", elem, cs, 2);
    fl = LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOEQ, div, z, "dz"), signed0, fl, "fd");
    return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOEQ, b, z, "bz"), q, fl, "floordiv");
  }
  LLVMValueRef one = konst(g, elem, 1), m1 = konst(g, elem, -1);
  LLVMValueRef bz = LLVMBuildICmp(g->b, LLVMIntEQ, b, z, "bz"), bm1 = LLVMBuildICmp(g->b, LLVMIntEQ, b, m1, "bm1");
  LLVMValueRef safe = LLVMBuildSelect(g->b, LLVMBuildOr(g->b, bz, bm1, "odd"), one, b, "safe");
  LLVMValueRef q = LLVMBuildSDiv(g->b, a, safe, "quot"), r = LLVMBuildSRem(g->b, a, safe, "rem");
  LLVMValueRef fix = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntNE, r, z, "nz"),
      LLVMBuildICmp(g->b, LLVMIntSLT, LLVMBuildXor(g->b, r, safe, "x"), z, "sign"), "fix");
  q = LLVMBuildSelect(g->b, fix, LLVMBuildSub(g->b, q, one, "adj"), q, "floor");
  q = LLVMBuildSelect(g->b, bm1, LLVMBuildSub(g->b, z, a, "neg"), q, "q");
  return LLVMBuildSelect(g->b, bz, z, q, "floordiv");
}

/* a ** b on integers, exact by repeated squaring and wrapping on
 * overflow like numpy; a negative exponent stops the program with numpy's
 * message. */
static LLVMValueRef np_int_pow(Cg *g, int elem, LLVMValueRef a, LLVMValueRef b) {
  LLVMTypeRef t = cg_reg_type(g, elem);
  LLVMValueRef z = cg_zero(g, elem), one = konst(g, elem, 1);
  LLVMBasicBlockRef bad = cg_block(g, "pow.negative"), loop = cg_block(g, "pow.loop"), done = cg_block(g, "pow.done");
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->b);
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, b, z, "neg"), bad, loop);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMTypeRef pt[] = {g->ptr, g->i32, g->ptr};
  LLVMValueRef f = cg_fn(g, "tns_error_at", g->i32, pt, 3, 1);
  LLVMValueRef args[] = {cg_cstring(g, g->loc), LLVMConstInt(g->i32, TNS_ERR_ARG, 0),
                         cg_cstring(g, "integers to negative integer powers are not allowed (exponent %lld)"),
                         cg_convert(g, b, elem, ELEM_I64)};
  cg_fail(g, LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, 4, "st"));
  LLVMPositionBuilderAtEnd(g->b, loop);
  LLVMValueRef r = LLVMBuildPhi(g->b, t, "r"), base = LLVMBuildPhi(g->b, t, "base"), e = LLVMBuildPhi(g->b, t, "e");
  LLVMValueRef odd = LLVMBuildICmp(g->b, LLVMIntNE, LLVMBuildAnd(g->b, e, one, "bit"), z, "odd");
  LLVMValueRef r2 = LLVMBuildSelect(g->b, odd, LLVMBuildMul(g->b, r, base, "rb"), r, "r2");
  LLVMValueRef e2 = LLVMBuildLShr(g->b, e, one, "e2"), base2 = LLVMBuildMul(g->b, base, base, "sq");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntNE, e2, z, "more"), loop, done);
  LLVMAddIncoming(r, (LLVMValueRef[]){one, r2}, (LLVMBasicBlockRef[]){pre, loop}, 2);
  LLVMAddIncoming(base, (LLVMValueRef[]){a, base2}, (LLVMBasicBlockRef[]){pre, loop}, 2);
  LLVMAddIncoming(e, (LLVMValueRef[]){b, e2}, (LLVMBasicBlockRef[]){pre, loop}, 2);
  LLVMPositionBuilderAtEnd(g->b, done);
  return r2;
}

static LLVMValueRef compare(Cg *g, int op, int elem, LLVMValueRef a, LLVMValueRef b) {
  static const struct { int op; LLVMRealPredicate f; LLVMIntPredicate s, u; } t[] = {
    {OP_EQ, LLVMRealOEQ, LLVMIntEQ, LLVMIntEQ}, {OP_NE, LLVMRealUNE, LLVMIntNE, LLVMIntNE},
    {OP_LT, LLVMRealOLT, LLVMIntSLT, LLVMIntULT}, {OP_LE, LLVMRealOLE, LLVMIntSLE, LLVMIntULE},
    {OP_GT, LLVMRealOGT, LLVMIntSGT, LLVMIntUGT}, {OP_GE, LLVMRealOGE, LLVMIntSGE, LLVMIntUGE}};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    if (t[i].op != op) continue;
    if (elem_is_float(elem)) return LLVMBuildFCmp(g->b, t[i].f, a, b, "cmp");
    return LLVMBuildICmp(g->b, elem == ELEM_BOOL ? t[i].u : t[i].s, a, b, "cmp");
  }
  TNS_BUG("unknown comparison");
}

/* c ? a : b evaluating only the arm taken, so that a guarded read
 * (where(i > 0, X[i - 1], 0)) is not bounds-checked when not taken.
 * LLVM turns it back into a select where that is safe. */
static LLVMValueRef lazy_select(Cg *g, LLVMValueRef c, const TirExpr *a, const TirExpr *b, const char *what) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s.then", what);
  LLVMBasicBlockRef tb = cg_block(g, buf);
  snprintf(buf, sizeof buf, "%s.else", what);
  LLVMBasicBlockRef eb = cg_block(g, buf);
  snprintf(buf, sizeof buf, "%s.end", what);
  LLVMBasicBlockRef done = cg_block(g, buf);
  LLVMBuildCondBr(g->b, c, tb, eb);
  LLVMPositionBuilderAtEnd(g->b, tb);
  LLVMValueRef va = cg_expr(g, a);
  LLVMBasicBlockRef ta = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, eb);
  LLVMValueRef vb = cg_expr(g, b);
  LLVMBasicBlockRef ea = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
  LLVMValueRef phi = LLVMBuildPhi(g->b, LLVMTypeOf(va), what);
  LLVMValueRef vals[2] = {va, vb};
  LLVMBasicBlockRef from[2] = {ta, ea};
  LLVMAddIncoming(phi, vals, from, 2);
  return phi;
}

static LLVMValueRef binary(Cg *g, const TirExpr *x) {
  if (x->op == OP_AND || x->op == OP_OR) { /* short-circuit */
    LLVMValueRef a = cg_expr(g, x->a);
    static TirExpr t = {.kind = TX_CONST, .elem = ELEM_BOOL, .ival = 1};
    static TirExpr f = {.kind = TX_CONST, .elem = ELEM_BOOL, .ival = 0};
    return x->op == OP_AND ? lazy_select(g, a, x->b, &f, "and") : lazy_select(g, a, &t, x->b, "or");
  }
  LLVMValueRef a = cg_expr(g, x->a), b = cg_expr(g, x->b);
  int e = x->a->elem, f = elem_is_float(e);
  switch (x->op) {
  case OP_ADD: return f ? LLVMBuildFAdd(g->b, a, b, "add") : LLVMBuildAdd(g->b, a, b, "add");
  case OP_SUB: return f ? LLVMBuildFSub(g->b, a, b, "sub") : LLVMBuildSub(g->b, a, b, "sub");
  case OP_MUL:
    if (e == ELEM_BOOL) return LLVMBuildAnd(g->b, a, b, "and");
    return f ? LLVMBuildFMul(g->b, a, b, "mul") : LLVMBuildMul(g->b, a, b, "mul");
  case OP_DIV: return f ? LLVMBuildFDiv(g->b, a, b, "div") : LLVMBuildSDiv(g->b, a, b, "div");
  case OP_MOD: return np_remainder(g, e, a, b);
  case OP_FLOORDIV: return np_floordiv(g, e, a, b);
  case OP_POW: return f ? intrinsic(g, "pow", e, (LLVMValueRef[]){a, b}, 2) : np_int_pow(g, e, a, b);
  default: return compare(g, x->op, e, a, b);
  }
}

/* ---- math ---- */

static LLVMValueRef intrinsic(Cg *g, const char *name, int elem, LLVMValueRef *args, int n) {
  char full[64];
  snprintf(full, sizeof full, "llvm.%s.%s", name, elem == ELEM_F32 ? "f32" : "f64");
  LLVMTypeRef t = cg_reg_type(g, elem), pt[2] = {t, t};
  return cg_call(g, full, t, pt, args, n);
}

/* A libm function: name for f64, name "f" for f32. */
static LLVMValueRef libm(Cg *g, const char *name, int elem, LLVMValueRef a) {
  char full[32];
  snprintf(full, sizeof full, "%s%s", name, elem == ELEM_F32 ? "f" : "");
  LLVMTypeRef t = cg_reg_type(g, elem);
  return cg_call(g, full, t, &t, &a, 1);
}

static LLVMValueRef is_nan(Cg *g, LLVMValueRef v) { return LLVMBuildFCmp(g->b, LLVMRealUNO, v, v, "isnan"); }

/* max/min that propagate NaN, like numpy.maximum */
static LLVMValueRef maxmin(Cg *g, int elem, LLVMValueRef a, LLVMValueRef b, int is_max) {
  if (!elem_is_float(elem)) {
    LLVMValueRef c = LLVMBuildICmp(g->b, is_max ? LLVMIntSGT : LLVMIntSLT, a, b, "cmp");
    return LLVMBuildSelect(g->b, c, a, b, is_max ? "max" : "min");
  }
  LLVMValueRef c = LLVMBuildFCmp(g->b, is_max ? LLVMRealOGT : LLVMRealOLT, a, b, "cmp");
  c = LLVMBuildOr(g->b, c, is_nan(g, a), "keep");
  return LLVMBuildSelect(g->b, c, a, b, is_max ? "max" : "min");
}

static LLVMValueRef math(Cg *g, const TirExpr *x) {
  int e = x->elem;
  LLVMValueRef a[2] = {x->n > 0 ? cg_expr(g, x->args[0]) : NULL, x->n > 1 ? cg_expr(g, x->args[1]) : NULL};
  LLVMValueRef one = konst(g, e, 1.0);
  switch (x->math) {
  case B_EXP: return intrinsic(g, "exp", e, a, 1);
  case B_LOG: return intrinsic(g, "log", e, a, 1);
  case B_SQRT: return intrinsic(g, "sqrt", e, a, 1);
  case B_SIN: return intrinsic(g, "sin", e, a, 1);
  case B_COS: return intrinsic(g, "cos", e, a, 1);
  case B_FLOOR: return intrinsic(g, "floor", e, a, 1);
  case B_CEIL: return intrinsic(g, "ceil", e, a, 1);
  case B_LOG1P: return libm(g, "log1p", e, a[0]);
  case B_TANH: return libm(g, "tanh", e, a[0]);
  case B_ERF: return libm(g, "erf", e, a[0]);
  case B_RSQRT: return LLVMBuildFDiv(g->b, one, intrinsic(g, "sqrt", e, a, 1), "rsqrt");
  case B_SIGMOID: {
    LLVMValueRef ne = LLVMBuildFNeg(g->b, a[0], "neg");
    return LLVMBuildFDiv(g->b, one, LLVMBuildFAdd(g->b, one, intrinsic(g, "exp", e, &ne, 1), "d"), "sigmoid");
  }
  case B_GELU: { /* exact: x/2 (1 + erf(x / sqrt 2)) */
    LLVMValueRef s = LLVMBuildFMul(g->b, a[0], konst(g, e, M_SQRT1_2), "s");
    LLVMValueRef t = LLVMBuildFAdd(g->b, one, libm(g, "erf", e, s), "t");
    return LLVMBuildFMul(g->b, LLVMBuildFMul(g->b, a[0], konst(g, e, 0.5), "h"), t, "gelu");
  }
  case B_ABS:
    if (elem_is_float(e)) return intrinsic(g, "fabs", e, a, 1);
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a[0], cg_zero(g, e), "neg"),
                           LLVMBuildNeg(g->b, a[0], "n"), a[0], "abs");
  case B_RELU: return maxmin(g, e, a[0], cg_zero(g, e), 1);
  case B_MAX2: return maxmin(g, e, a[0], a[1], 1);
  case B_MIN2: return maxmin(g, e, a[0], a[1], 0);
  case B_POW:
    if (elem_is_float(e)) return intrinsic(g, "pow", e, a, 2);
    if (e == ELEM_BOOL) return LLVMBuildSelect(g->b, a[1], a[0], konst(g, e, 1), "pow"); /* x ** 0 == 1 */
    return np_int_pow(g, e, a[0], a[1]);
  case B_TIME: return cg_convert(g, cg_call(g, "tns_time", g->f64, NULL, NULL, 0), ELEM_F64, e);
  default: TNS_BUG("unknown math builtin");
  }
}

/* ---- user scalar functions applied elementwise ---- */

static LLVMValueRef call_scalar(Cg *g, const TirExpr *x) {
  int n = x->n + 1;
  LLVMTypeRef *pt = calloc((size_t)n, sizeof *pt);
  LLVMValueRef *args = calloc((size_t)n, sizeof *args);
  for (int i = 0; i < x->n; i++) {
    LLVMValueRef slot = cg_entry_alloca(g, cg_reg_type(g, x->args[i]->elem), "arg");
    LLVMBuildStore(g->b, cg_expr(g, x->args[i]), slot);
    pt[i] = g->ptr;
    args[i] = slot;
  }
  LLVMValueRef res = cg_entry_alloca(g, cg_reg_type(g, x->elem), "res");
  pt[x->n] = g->ptr;
  args[x->n] = res;
  LLVMValueRef f = cg_fn(g, x->fn->name, g->i32, pt, n, 0);
  if (g->nest_work > 1) cg_mark_heavy(g, f);   /* elementwise: inlined into the loop */
  LLVMValueRef st = LLVMBuildCall2(g->b, LLVMGlobalGetValueType(f), f, args, (unsigned)n, "st");
  free(pt);
  free(args);
  cg_check_status(g, st, "call.ok");
  return LLVMBuildLoad2(g->b, cg_reg_type(g, x->elem), res, x->fn->source_name);
}

/* ---- reductions ---- */

/* The loops of one reduction, one per index, however many. */
typedef struct Nest {
  CgLoop *loops;
  int n;
} Nest;

static void nest_begin(Cg *g, Nest *ns, const TirExpr *x, const char *what) {
  ns->n = x->n;
  ns->loops = calloc((size_t)x->n + 1, sizeof *ns->loops);
  for (int i = 0; i < ns->n; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s.%s", what, x->idx[i]->name);
    cg_loop_begin(g, &ns->loops[i], name, LLVMConstInt(g->i64, 0, 0), cg_dim(g, x->idx[i]->range));
    g->index[x->idx[i]->id] = ns->loops[i].iv;
  }
}

static void nest_end(Cg *g, Nest *ns) {
  for (int i = ns->n - 1; i >= 0; i--) cg_loop_end(g, &ns->loops[i]);
  free(ns->loops);
}

static double identity(int op, int elem, int *is_int_extreme) {
  *is_int_extreme = 0;
  switch (op) {
  case RED_PROD: return 1.0;
  case RED_MAX: if (!elem_is_float(elem)) *is_int_extreme = -1; return -INFINITY;
  case RED_MIN: if (!elem_is_float(elem)) *is_int_extreme = 1; return INFINITY;
  default: return 0.0;
  }
}

static LLVMValueRef init_value(Cg *g, int op, int elem) {
  int ext;
  double v = identity(op, elem, &ext);
  if (ext) {
    unsigned long long lim = elem == ELEM_I32 ? (ext < 0 ? 0x80000000ull : 0x7fffffffull)
                                              : (ext < 0 ? 0x8000000000000000ull : 0x7fffffffffffffffull);
    if (elem == ELEM_BOOL) lim = ext < 0 ? 0 : 1;
    return LLVMConstInt(cg_reg_type(g, elem), lim, 0);
  }
  return konst(g, elem, v);
}

/* sum, prod, max, min over the indices: one accumulator */
/* f32 sums accumulate in f64: a long f32 sum stays accurate (numpy sums
 * pairwise for the same reason). */
int cg_fold_acc_elem(int op, int elem) { return op == RED_SUM && elem == ELEM_F32 ? ELEM_F64 : elem; }

LLVMValueRef cg_fold_init(Cg *g, int op, int elem) { return init_value(g, op, cg_fold_acc_elem(op, elem)); }

/* acc op= v; accumulators may be reassociated at -O1+ so that LLVM
 * vectorises the loop (nothing else is). */
LLVMValueRef cg_fold_step(Cg *g, int op, int elem, LLVMValueRef cur, LLVMValueRef v) {
  int ae = cg_fold_acc_elem(op, elem);
  v = cg_convert(g, v, elem, ae);
  switch (op) {
  case RED_SUM: return elem_is_float(ae) ? fm(g, LLVMBuildFAdd(g->b, cur, v, "sum")) : cg_add(g, ae, cur, v);
  case RED_PROD: return elem_is_float(ae) ? fm(g, LLVMBuildFMul(g->b, cur, v, "prod")) : LLVMBuildMul(g->b, cur, v, "prod");
  case RED_MAX: return maxmin(g, ae, v, cur, 1);
  default: return maxmin(g, ae, v, cur, 0);
  }
}

static LLVMValueRef fold(Cg *g, const TirExpr *x, int op, LLVMValueRef (*shift)(Cg *, LLVMValueRef, LLVMValueRef), LLVMValueRef by) {
  int e = x->a->elem, ae = cg_fold_acc_elem(op, e);
  LLVMValueRef acc = cg_entry_alloca(g, cg_reg_type(g, ae), reduce_name(op));
  LLVMBuildStore(g->b, cg_fold_init(g, op, e), acc);
  Nest ns;
  nest_begin(g, &ns, x, reduce_name(op));
  LLVMValueRef v = cg_expr(g, x->a), cur = LLVMBuildLoad2(g->b, cg_reg_type(g, ae), acc, "acc");
  if (shift) v = shift(g, v, by);
  LLVMBuildStore(g->b, cg_fold_step(g, op, e, cur, v), acc);
  nest_end(g, &ns);
  return cg_convert(g, LLVMBuildLoad2(g->b, cg_reg_type(g, ae), acc, reduce_name(op)), ae, e);
}

static LLVMValueRef exp_shifted(Cg *g, LLVMValueRef v, LLVMValueRef m) {
  LLVMTypeRef t = LLVMTypeOf(v);
  int e = t == g->f32 ? ELEM_F32 : ELEM_F64;
  LLVMValueRef d = LLVMBuildFSub(g->b, v, m, "d");
  return intrinsic(g, "exp", e, &d, 1);
}

/* The max used to shift exponentials: 0 when it is infinite, so that an
 * all -inf row gives -inf (logsumexp) instead of NaN. */
static LLVMValueRef finite_shift(Cg *g, int e, LLVMValueRef m) {
  LLVMValueRef inf = intrinsic(g, "fabs", e, &m, 1);
  LLVMValueRef isinf = LLVMBuildFCmp(g->b, LLVMRealOEQ, inf, konst(g, e, INFINITY), "isinf");
  return LLVMBuildSelect(g->b, isinf, cg_zero(g, e), m, "shift");
}

/* logsumexp(j: e) = m + log(sum(j: exp(e - m))), m = max(j: e) */
static LLVMValueRef logsumexp(Cg *g, const TirExpr *x) {
  int e = x->elem;
  LLVMValueRef m = finite_shift(g, e, fold(g, x, RED_MAX, NULL, NULL));
  LLVMValueRef s = fold(g, x, RED_SUM, exp_shifted, m);
  return LLVMBuildFAdd(g->b, m, intrinsic(g, "log", e, &s, 1), "logsumexp");
}

/* softmax(j: e) at the current j: exp(e - m) / sum(j': exp(e' - m)) */
static LLVMValueRef softmax(Cg *g, const TirExpr *x) {
  int e = x->elem;
  LLVMValueRef *saved = calloc((size_t)x->n + 1, sizeof *saved);
  for (int i = 0; i < x->n; i++) saved[i] = g->index[x->idx[i]->id];
  LLVMValueRef m = finite_shift(g, e, fold(g, x, RED_MAX, NULL, NULL));
  LLVMValueRef s = fold(g, x, RED_SUM, exp_shifted, m);
  for (int i = 0; i < x->n; i++) g->index[x->idx[i]->id] = saved[i];
  free(saved);
  LLVMValueRef v = exp_shifted(g, cg_expr(g, x->a), m);
  return LLVMBuildFDiv(g->b, v, s, "softmax");
}

/* argmax/argmin: first position (row-major over the indices) of the
 * extreme value; a NaN wins, like numpy */
static LLVMValueRef argext(Cg *g, const TirExpr *x) {
  int e = x->a->elem, is_max = x->reduce == RED_ARGMAX;
  LLVMValueRef best = cg_entry_alloca(g, cg_reg_type(g, e), "best");
  LLVMValueRef pos = cg_entry_alloca(g, g->i64, "argpos"), lin = cg_entry_alloca(g, g->i64, "lin");
  LLVMBuildStore(g->b, init_value(g, is_max ? RED_MAX : RED_MIN, e), best);
  LLVMBuildStore(g->b, LLVMConstInt(g->i64, 0, 0), pos);
  LLVMBuildStore(g->b, LLVMConstInt(g->i64, 0, 0), lin);
  Nest ns;
  nest_begin(g, &ns, x, is_max ? "argmax" : "argmin");
  LLVMValueRef v = cg_expr(g, x->a), cur = LLVMBuildLoad2(g->b, cg_reg_type(g, e), best, "best");
  LLVMValueRef k = LLVMBuildLoad2(g->b, g->i64, lin, "k");
  LLVMValueRef better;
  if (elem_is_float(e)) {
    better = LLVMBuildFCmp(g->b, is_max ? LLVMRealOGT : LLVMRealOLT, v, cur, "better");
    LLVMValueRef first_nan = LLVMBuildAnd(g->b, is_nan(g, v), LLVMBuildNot(g->b, is_nan(g, cur), "n"), "nan");
    better = LLVMBuildOr(g->b, better, first_nan, "better");
  } else {
    better = LLVMBuildICmp(g->b, is_max ? LLVMIntSGT : LLVMIntSLT, v, cur, "better");
  }
  /* the first element always counts, so an all -inf row gives 0 */
  better = LLVMBuildOr(g->b, better, LLVMBuildICmp(g->b, LLVMIntEQ, k, LLVMConstInt(g->i64, 0, 0), "first"), "take");
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, better, v, cur, "b"), best);
  LLVMBuildStore(g->b, LLVMBuildSelect(g->b, better, k, LLVMBuildLoad2(g->b, g->i64, pos, "p"), "p"), pos);
  LLVMBuildStore(g->b, LLVMBuildAdd(g->b, k, LLVMConstInt(g->i64, 1, 0), "k1"), lin);
  nest_end(g, &ns);
  return LLVMBuildLoad2(g->b, g->i64, pos, is_max ? "argmax" : "argmin");
}

static LLVMValueRef reduce(Cg *g, const TirExpr *x) {
  switch (x->reduce) {
  case RED_LOGSUMEXP: return logsumexp(g, x);
  case RED_SOFTMAX: return softmax(g, x);
  case RED_ARGMAX: case RED_ARGMIN: return argext(g, x);
  default: return fold(g, x, x->op, NULL, NULL);
  }
}

LLVMValueRef cg_expr(Cg *g, const TirExpr *x) {
  switch (x->kind) {
  case TX_CONST:
    if (elem_is_float(x->elem)) return LLVMConstReal(cg_reg_type(g, x->elem), x->fval);
    return LLVMConstInt(cg_reg_type(g, x->elem), (unsigned long long)x->ival, 1);
  case TX_INDEX: return g->index[x->idx[0]->id];
  case TX_DIM: return cg_dim(g, x->dim);
  case TX_READ: return LLVMBuildLoad2(g->b, cg_reg_type(g, x->var->type->elem), g->slot[x->var->id], x->var->name ? x->var->name : "tmp");
  case TX_ACCESS: return access(g, x);
  case TX_UNARY: {
    LLVMValueRef a = cg_expr(g, x->a);
    if (x->op == OP_NOT) return LLVMBuildNot(g->b, a, "not");
    return elem_is_float(x->elem) ? LLVMBuildFNeg(g->b, a, "neg") : LLVMBuildNeg(g->b, a, "neg");
  }
  case TX_BINARY: return binary(g, x);
  case TX_MATH: return math(g, x);
  case TX_WHERE: return lazy_select(g, cg_expr(g, x->a), x->b, x->c, "where");
  case TX_CONVERT: return cg_convert(g, cg_expr(g, x->a), x->a->elem, x->elem);
  case TX_CALL: return call_scalar(g, x);
  case TX_REDUCE: return reduce(g, x);
  }
  TNS_BUG("unknown expression");
}
