/* cg_abi.c — the C side of exported functions: argument checks at entry
 * (negative sizes, overflowing shapes, NULL tensors), and `main` for
 * executables. */
#include "cg_int.h"
#include "tns_runtime.h"

/* tns_arg_tensor(func, name, rank, dims, data, overflowed) for one pointer
 * argument: a dimension such as n*q that overflows is an argument error. */
static void check_tensor(Cg *g, const TirFunc *f, const char *name, const Type *t, LLVMValueRef data) {
  LLVMValueRef ovf = LLVMConstInt(g->i1, 0, 0);
  LLVMValueRef dims = cg_dims_array_checked(g, t, &ovf);
  LLVMTypeRef pt[] = {g->ptr, g->ptr, g->i32, g->ptr, g->ptr, g->i32};
  LLVMValueRef args[] = {cg_cstring(g, f->name), cg_cstring(g, name), cg_const_i32(g, t->rank), dims, data,
                         LLVMBuildZExt(g->b, ovf, g->i32, "ovf")};
  cg_check_status(g, cg_call(g, "tns_arg_tensor", g->i32, pt, args, 6), "arg.ok");
}

void cg_abi_checks(Cg *g, const TirFunc *f) {
  for (int i = 0; i < f->sizes.n; i++) {
    const TirSize *s = f->sizes.items[i];
    if (s->kind != TS_PARAM) continue;
    LLVMTypeRef pt[] = {g->ptr, g->ptr, g->i64};
    LLVMValueRef args[] = {cg_cstring(g, f->name), cg_cstring(g, s->name), LLVMBuildLoad2(g->b, g->i64, g->size_slot[i], s->name)};
    cg_check_status(g, cg_call(g, "tns_arg_size", g->i32, pt, args, 3), "size.ok");
  }
  for (int i = 0; i < f->params.n; i++) {
    const TirVar *v = f->params.items[i];
    check_tensor(g, f, v->name, v->type, cg_param_ptr(g, i));
  }
  for (int i = 0; i < f->results.n && !f->array_results; i++) {
    char name[16];
    snprintf(name, sizeof name, f->results.n == 1 ? "out" : "out%d", i);
    check_tensor(g, f, name, f->results.items[i], g->outs[i]);
  }
}

/* int main(void) { return tns_run_main(tns_main); } */
void cg_exe_main(Cg *g) {
  LLVMValueRef entry = LLVMGetNamedFunction(g->mod, "tns_main");
  if (!entry) return;
  LLVMValueRef m = LLVMAddFunction(g->mod, "main", LLVMFunctionType(g->i32, NULL, 0, 0));
  g->llfn = m;
  LLVMPositionBuilderAtEnd(g->b, cg_block(g, "entry"));
  LLVMValueRef st = cg_call(g, "tns_run_main", g->i32, &g->ptr, &entry, 1);
  LLVMBuildRet(g->b, st);
}
