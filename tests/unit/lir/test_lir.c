/* test_lir.c — the loop IR: EINSUM ops lowered to their naive loop nests. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lir.h"
#include "tir_fixture.h"

/* The last EINSUM writing C in the program's main function. */
static const TirOp *c_einsum(Compiler *c, const char *text) {
  TirProgram *p = tir_of(c, text, 1);
  for (int i = p->main->body.n - 1; i >= 0; i--) {
    const TirOp *op = p->main->body.ops[i];
    if (op->kind == TO_EINSUM && op->out && op->out->type->rank > 0 && op->out->name &&
        strcmp(op->out->name, "C") == 0)
      return op;
  }
  cr_assert_fail("no EINSUM writing C");
  return NULL;
}

Test(lir, matrix_product_is_two_parallel_loops_and_a_sum) {
  Compiler *c = compiler_new(NULL);
  const TirOp *op = c_einsum(c, "A = ones(f64[3, 4])\nB = ones(f64[4, 5])\nC[i, k] = A[i, j] * B[j, k]\n");
  LirNode *n = lir_lower(c->arena, op);
  cr_assert_eq(n->kind, LIR_LOOP);
  cr_assert(n->parallel);
  cr_assert_str_eq(n->index->name, "i");
  cr_assert_eq(n->extent.k, 3);
  cr_assert_eq(n->n, 1);
  const LirNode *k = n->body[0];
  cr_assert_eq(k->kind, LIR_LOOP);
  cr_assert_str_eq(k->index->name, "k");
  cr_assert_eq(k->extent.k, 5);
  cr_assert_eq(k->n, 3);   /* init, reduction loop, store */
  cr_assert_eq(k->body[0]->kind, LIR_ACC_INIT);
  cr_assert_eq(k->body[1]->kind, LIR_LOOP);
  cr_assert(!k->body[1]->parallel);
  cr_assert_str_eq(k->body[1]->index->name, "j");
  cr_assert_eq(k->body[1]->body[0]->kind, LIR_ACC_UPDATE);
  cr_assert_eq(k->body[2]->kind, LIR_STORE);
  cr_assert_null(k->body[2]->value);   /* stores the accumulator */
  compiler_free(c);
}

Test(lir, loops_follow_the_order_written) {
  Compiler *c = compiler_new(NULL);
  const TirOp *op = c_einsum(c, "A = ones(f64[3, 4])\nC[j, i] = A[i, j] * 2.0\n");
  LirNode *n = lir_lower(c->arena, op);
  cr_assert_str_eq(n->index->name, "j");
  cr_assert_str_eq(n->body[0]->index->name, "i");
  cr_assert_eq(n->body[0]->body[0]->kind, LIR_STORE);
  cr_assert_not_null(n->body[0]->body[0]->value);   /* no accumulator */
  compiler_free(c);
}

Test(lir, scalar_factor_of_a_sum_is_applied_at_the_store) {
  Compiler *c = compiler_new(NULL);
  const TirOp *op = c_einsum(c, "A = ones(f64[3, 4])\nC[i] = A[i, j] / 4.0\n");
  LirNode *n = lir_lower(c->arena, op);
  const LirNode *store = n->body[n->n - 1];
  cr_assert_eq(store->kind, LIR_STORE);
  cr_assert_not_null(store->scale);
  cr_assert(store->divide);
  compiler_free(c);
}

Test(lir, softmax_stays_in_the_stored_expression) {
  Compiler *c = compiler_new(NULL);
  const TirOp *op = c_einsum(c, "A = ones(f64[3, 4])\nC[i, j] = softmax(j: A[i, j])\n");
  LirNode *n = lir_lower(c->arena, op);
  const LirNode *inner = n->body[0];
  cr_assert_eq(inner->n, 1);
  cr_assert_eq(inner->body[0]->kind, LIR_STORE);
  cr_assert_eq(inner->body[0]->value->kind, TX_REDUCE);
  compiler_free(c);
}

Test(lir, printing_shows_loops_and_stores) {
  Compiler *c = compiler_new(NULL);
  const TirOp *op = c_einsum(c, "A = ones(f64[3, 4])\nB = ones(f64[4, 5])\nC[i, k] = A[i, j] * B[j, k]\n");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  lir_print(f, lir_lower(c->arena, op), 0);
  fclose(f);
  cr_assert(strstr(buf, "parallel for i#") != NULL, "%s", buf);
  cr_assert(strstr(buf, "    for j#") != NULL, "%s", buf);
  cr_assert(strstr(buf, "acc0 sum= (A.") != NULL, "%s", buf);
  cr_assert(strstr(buf, "= acc0") != NULL, "%s", buf);
  free(buf);
  compiler_free(c);
}

/* ---- lir_schedule ---- */

static LirNode *scheduled(Compiler *c, const char *text) {
  return lir_schedule(c->arena, lir_lower(c->arena, c_einsum(c, text)));
}

/* The node kinds from the root down the first child each time. */
static void spine(const LirNode *n, char *out, size_t cap) {
  out[0] = 0;
  for (; n; n = n->kind == LIR_LOOP || n->kind == LIR_BLOCK ? (n->n ? n->body[n->n - 1] : NULL) : NULL) {
    char part[64];
    if (n->kind == LIR_LOOP)
      snprintf(part, sizeof part, "%s%s%s ", n->index->name, n->tile ? ".tile" : "", n->within ? "@" : "");
    else
      snprintf(part, sizeof part, "%s ", n->kind == LIR_OUT_UPDATE ? "update" : n->kind == LIR_BLOCK ? "block" : "other");
    strncat(out, part, cap - strlen(out) - 1);
  }
}

/* max-plus product: tiles of i and j, init of the tile, then k tiles
 * with k inside i and j innermost (the unit-stride index of B and C). */
Test(lir, max_plus_product_accumulates_in_tiles_with_j_innermost) {
  Compiler *c = compiler_new(NULL);
  LirNode *n = scheduled(c, "A = ones(f64[70, 100])\nB = ones(f64[100, 130])\nC[i, j] = max(k: A[i, k] + B[k, j])\n");
  char s[256];
  spine(n, s, sizeof s);
  cr_assert_str_eq(s, "i.tile j.tile k.tile i@ k@ j@ update ");
  cr_assert(n->parallel);
  cr_assert_eq(n->tile, 64);
  const LirNode *jt = n->body[0];
  cr_assert_eq(jt->n, 2);   /* the tile's init, then the k tiles */
  const LirNode *init = jt->body[0]->body[0]->body[0];
  cr_assert_eq(init->kind, LIR_OUT_INIT);
  cr_assert_eq(init->op, RED_MAX);
  cr_assert(!jt->body[1]->parallel);   /* k tiles: a reduction */
  compiler_free(c);
}

/* One output index: no tiles, the reduction outside the output loop. */
Test(lir, matrix_vector_by_columns_puts_the_output_index_inside) {
  Compiler *c = compiler_new(NULL);
  LirNode *n = scheduled(c, "A = ones(i64[40, 30])\nx = ones(i64[40])\nC[j] = A[k, j] * x[k]\n");
  char s[256];
  spine(n, s, sizeof s);
  cr_assert_str_eq(s, "block k j update ");
  cr_assert_eq(n->body[0]->kind, LIR_LOOP);
  cr_assert_eq(n->body[0]->body[0]->kind, LIR_OUT_INIT);
  compiler_free(c);
}

/* A scale is applied to each finished output tile. */
Test(lir, a_scaled_fold_is_scaled_once_its_tile_is_done) {
  Compiler *c = compiler_new(NULL);
  LirNode *n = scheduled(c, "A = ones(f64[7, 9])\nB = ones(f64[9, 5])\nC[i, j] = max(k: A[i, k] + B[k, j]) / 2.0\n");
  const LirNode *jt = n->body[0];
  cr_assert_eq(jt->n, 3);   /* init, k tiles, scale */
  const LirNode *sc = jt->body[2]->body[0]->body[0];
  cr_assert_eq(sc->kind, LIR_OUT_SCALE);
  cr_assert(sc->divide);
  cr_assert_not_null(sc->scale);
  compiler_free(c);
}

/* += of a sum adds its terms into the output: no init. */
Test(lir, an_accumulating_sum_adds_straight_in) {
  Compiler *c = compiler_new(NULL);
  LirNode *n = scheduled(c, "A = ones(i64[7, 9])\nB = ones(i64[9, 5])\nC = ones(i64[7, 5])\n"
                            "C[i, j] += A[i, k] * B[k, j]\n");
  const LirNode *jt = n->body[0];
  cr_assert_eq(jt->n, 1);   /* only the k tiles */
  cr_assert_eq(jt->body[0]->tile, 64);
  compiler_free(c);
}

/* What must keep its accumulator: a += that is not a plain sum, an f32
 * sum (its accumulator is f64), an access already unit-stride in k. */
Test(lir, schedule_keeps_nests_it_cannot_or_need_not_change) {
  const char *keep[] = {
    "A = ones(f64[7, 9])\nB = ones(f64[9, 5])\nC = ones(f64[7, 5])\nC[i, j] += max(k: A[i, k] + B[k, j])\n",
    "A = ones(f32[7, 9])\nB = ones(f32[9, 5])\nC[i, j] = sum(k: A[i, k] * B[k, j] + 1.0)\n",
    "A = ones(f64[7, 9])\nB = ones(f64[5, 9])\nC[i, j] = max(k: A[i, k] + B[j, k])\n",
  };
  for (int t = 0; t < 3; t++) {
    Compiler *c = compiler_new(NULL);
    LirNode *n = lir_lower(c->arena, c_einsum(c, keep[t]));
    cr_assert_eq(lir_schedule(c->arena, n), n, "case %d was rescheduled", t);
    compiler_free(c);
  }
}
