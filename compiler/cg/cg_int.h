/* cg_int.h — the code generator's state and helpers, shared by the cg
 * files only: cg.c (functions, ops, loops), cg_expr.c (expressions,
 * reductions, constants), cg_builtin.c (runtime calls), cg_gemm.c (GEMM
 * and transposed copies), cg_attention.c (the fused attention call),
 * cg_parallel.c (outlined parallel loops) and
 * cg_abi.c (argument checks, `main`). Not for other modules. */
#ifndef TNS_CG_INT_H
#define TNS_CG_INT_H
#include "cg.h"
#include "tns_runtime.h"

/* Offsets in a TnsArray (tns_runtime.h): dtype, rank, dims, data. */
enum { ARR_DIMS = 8, ARR_DATA = 8 + 8 * TNS_MAX_RANK, ARR_SIZE = ARR_DATA + 8 };

typedef struct Cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  const TirProgram *prog;
  const CgOptions *opt;
  const TirFunc *fn;
  LLVMValueRef llfn;
  LLVMTypeRef i1, i8, i32, i64, f32, f64, ptr, voidt;
  LLVMValueRef *slot;        /* per TirVar: buffer pointer (rank > 0) or value */
  LLVMValueRef *owned;       /* per TirVar: i1, the buffer is ours to free */
  LLVMValueRef *size_slot;   /* per TirSize */
  LLVMValueRef *index;       /* per TirIndex: its current value */
  LLVMValueRef *tile_iv;     /* per TirIndex: the tile counter of its tile
                                loop (LIR tile/within pairs) */
  LLVMValueRef status;       /* i32 slot */
  LLVMValueRef pending;      /* ptr slot: a new buffer not yet a variable's,
                                freed by exit if a failure comes first */
  LLVMBasicBlockRef exit_bb; /* frees owned buffers, returns status */
  LLVMValueRef *outs;        /* result pointers of the function */
  LLVMValueRef *param_slot;  /* per parameter: its pointer, stored at entry */
  const char *loc;           /* "file:line:col" of the op being lowered */
  double nest_work;          /* iterations of the loops around the point being
                                emitted (HUGE_VAL: not known at compile time) */
  double trip_hint;          /* the next loop's trip count when its bounds are
                                parameters (an outlined parallel loop); 0: none */
} Cg;

/* cg.c */
LLVMTypeRef cg_reg_type(Cg *g, int elem);
LLVMTypeRef cg_mem_type(Cg *g, int elem);
LLVMValueRef cg_dim(Cg *g, Dim d);
LLVMValueRef cg_dim_checked(Cg *g, Dim d, LLVMValueRef *ovf);
LLVMValueRef cg_fn(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, int n, int vararg);
LLVMValueRef cg_call(Cg *g, const char *name, LLVMTypeRef ret, LLVMTypeRef *pt, LLVMValueRef *args, int n);
void cg_fail(Cg *g, LLVMValueRef st);
void cg_check_status(Cg *g, LLVMValueRef st, const char *what);
LLVMBasicBlockRef cg_block(Cg *g, const char *name);
LLVMValueRef cg_param_ptr(Cg *g, int i);
LLVMValueRef cg_cstring(Cg *g, const char *s);
LLVMValueRef cg_load_elem(Cg *g, int elem, LLVMValueRef base, LLVMValueRef off);
void cg_store_elem(Cg *g, int elem, LLVMValueRef v, LLVMValueRef base, LLVMValueRef off);
LLVMValueRef cg_dtype(Cg *g, int elem);
LLVMValueRef cg_alloc(Cg *g, const Type *t);
LLVMValueRef cg_buffer(Cg *g, const TirVar *v);
LLVMValueRef cg_count(Cg *g, const Type *t);
LLVMValueRef cg_dims_array(Cg *g, const Type *t);
LLVMValueRef cg_dims_array_checked(Cg *g, const Type *t, LLVMValueRef *ovf);
LLVMValueRef cg_alloc_var(Cg *g, const TirVar *v);
LLVMValueRef cg_alloc_result(Cg *g, const TirVar *v, int zero);
void cg_pending(Cg *g, const TirVar *v, LLVMValueRef p);
void cg_replace_buffer(Cg *g, const TirVar *v, LLVMValueRef p);
LLVMValueRef cg_entry_alloca(Cg *g, LLVMTypeRef t, const char *name);
void cg_builtin(Cg *g, const TirOp *op);
void cg_attention(Cg *g, const TirOp *op);   /* cg_attention.c */

/* Counted loops: `for name in lo..hi`; the body goes between begin/end. */
typedef struct CgLoop {
  LLVMBasicBlockRef head, exit;
  LLVMValueRef iv, phi;
  LLVMBasicBlockRef pre;
  const char *name;
  double outer_work;   /* g->nest_work outside this loop */
} CgLoop;
void cg_loop_begin(Cg *g, CgLoop *l, const char *name, LLVMValueRef lo, LLVMValueRef hi);
void cg_loop_end(Cg *g, CgLoop *l);
/* Functions that do little work (glue: bindings, prints, small loops with
 * sizes known at compile time) get a light LLVM pipeline under the JIT;
 * a function is heavy once it runs a loop nest of more than CG_LIGHT_WORK
 * innermost iterations or of unknown size, or is called inside a loop.
 * The mark is the string attribute CG_HEAVY_ATTR on the LLVM function. */
#define CG_LIGHT_WORK 1e5
#define CG_HEAVY_ATTR "tns-heavy"
void cg_mark_heavy(Cg *g, LLVMValueRef fn);
/* The trip count lo..hi when both are constants, else HUGE_VAL. */
double cg_const_trip(LLVMValueRef lo, LLVMValueRef hi);

/* cg.c: emits a loop nest of the loop IR writing into buf; a loop's trip
 * count (tiles for a tile loop), block name and counter binding. */
struct LirNode;
void cg_lir(Cg *g, const struct LirNode *n, LLVMValueRef buf, LLVMValueRef *acc, int outermost);
LLVMValueRef cg_loop_trip(Cg *g, const struct LirNode *n);
const char *cg_tile_name(const struct LirNode *n);
void cg_loop_bind(Cg *g, const struct LirNode *n, LLVMValueRef iv);

/* cg_gemm.c: an EINSUM marked TL_GEMM / TL_PERMUTE (tir.h). */
void cg_gemm(Cg *g, const TirOp *op);
void cg_permute(Cg *g, const TirOp *op);

/* cg_parallel.c: the nest's outer loop run by tns_parallel_for (an EINSUM
 * marked parallel by the lir stage). */
void cg_parallel(Cg *g, const TirOp *op, const struct LirNode *root, LLVMValueRef buf);

/* cg_abi.c */
void cg_abi_checks(Cg *g, const TirFunc *f);
void cg_exe_main(Cg *g);

/* cg_expr.c */
LLVMValueRef cg_expr(Cg *g, const TirExpr *x);
LLVMValueRef cg_convert(Cg *g, LLVMValueRef v, int from, int to);
LLVMValueRef cg_offset(Cg *g, const TirVar *v, const TirPos *pos, Span sp, const char *loc);
LLVMValueRef cg_zero(Cg *g, int elem);
LLVMValueRef cg_const_i32(Cg *g, long v);   /* signed constants */
LLVMValueRef cg_const_i64(Cg *g, long v);
LLVMValueRef cg_add(Cg *g, int elem, LLVMValueRef a, LLVMValueRef b);
int cg_fold_acc_elem(int op, int elem);
LLVMValueRef cg_fold_init(Cg *g, int op, int elem);
LLVMValueRef cg_fold_step(Cg *g, int op, int elem, LLVMValueRef cur, LLVMValueRef v);

#endif
