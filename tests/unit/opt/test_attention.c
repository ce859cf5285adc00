/* test_attention.c — passes/attention.c: which softmax-times-values
 * statements become one ATTENTION op, what the op carries (batch indices,
 * mask conditions as a*i + b*j + c >= 0, a bias, the scale), which
 * temporaries go, and why near-misses are not fused. */
#include <string.h>
#include "passes.h"
#include "tir_fixture.h"

typedef struct Want {
  int fused;          /* ATTENTION ops in t */
  int einsums;        /* EINSUM ops left in t */
  int nbatch, ncond, bias, nscale;
  const char *why;    /* in the record of a near-miss */
} Want;

typedef struct Case {
  const char *what, *text;
  Want want;
} Case;

#define ATT(body) "def t(Q: f64[n, d], K: f64[m, d], V: f64[m, e]) -> f64[n, e] {\n" body "  return O\n}\n"
#define MH(body) "def t(Q: f32[b, h, n, d], K: f32[b, h, m, d], V: f32[b, h, m, e]) -> f32[b, h, n, e] {\n" body "  return O\n}\n"

static const Case cases[] = {
  {"three statements, scale outside the sum",
   ATT("  S[i, j] = Q[i, c] * K[j, c] / sqrt(f64(d))\n  P[i, j] = softmax(j: S[i, j])\n  O[i, x] = P[i, j] * V[j, x]\n"),
   {1, 0, 0, 0, 0, 1, NULL}},
  {"one statement, scale inside the sum",
   ATT("  O[i, x] = softmax(j: sum(c: Q[i, c] * K[j, c] * 0.125)) * V[j, x]\n"), {1, 0, 0, 0, 0, 1, NULL}},
  {"no scale, softmax inline over a temporary S",
   ATT("  S[i, j] = Q[i, c] * K[j, c]\n  O[i, x] = softmax(j: S[i, j]) * V[j, x]\n"), {1, 0, 0, 0, 0, 0, NULL}},
  {"causal mask in S: one condition",
   ATT("  S[i, j] = where(j <= i, Q[i, c] * K[j, c], -inf)\n  P[i, j] = softmax(j: S[i, j])\n  O[i, x] = P[i, j] * V[j, x]\n"),
   {1, 0, 0, 1, 0, 0, NULL}},
  {"a window: two conditions, the width a variable",
   ATT("  w = 16\n  O[i, x] = softmax(j: where(j <= i && i - j < w, sum(c: Q[i, c] * K[j, c]), -inf)) * V[j, x]\n"),
   {1, 1, 0, 2, 0, 0, NULL}},
  {"equality: two conditions",
   ATT("  O[i, x] = softmax(j: where(j == i, sum(c: Q[i, c] * K[j, c]), -inf)) * V[j, x]\n"), {1, 0, 0, 2, 0, 0, NULL}},
  {"batch and heads carried along",
   MH("  S[z, g, i, j] = Q[z, g, i, c] * K[z, g, j, c] / sqrt(f32(d))\n  P[z, g, i, j] = softmax(j: S[z, g, i, j])\n"
      "  O[z, g, i, x] = P[z, g, i, j] * V[z, g, j, x]\n"), {1, 0, 2, 0, 0, 1, NULL}},
  {"an additive bias",
   "def t(Q: f64[n, d], K: f64[m, d], V: f64[m, e], M: f64[n, m]) -> f64[n, e] {\n"
   "  O[i, x] = softmax(j: sum(c: Q[i, c] * K[j, c]) + M[i, j]) * V[j, x]\n  return O\n}\n", {1, 0, 0, 0, 1, 0, NULL}},
  {"P also returned: not fused",
   "def t(Q: f64[n, d], K: f64[m, d], V: f64[m, e]) -> (f64[n, e], f64[n, m]) {\n"
   "  S[i, j] = Q[i, c] * K[j, c]\n  P[i, j] = softmax(j: S[i, j])\n  O[i, x] = P[i, j] * V[j, x]\n  return O, P\n}\n",
   {0, 3, 0, 0, 0, 0, "P is also returned"}},
  {"S also printed: not fused",
   ATT("  S[i, j] = Q[i, c] * K[j, c]\n  print(S)\n  O[i, x] = softmax(j: S[i, j]) * V[j, x]\n"),
   {0, 2, 0, 0, 0, 0, "S is also used by print"}},
  {"a mask that is not affine: not fused",
   ATT("  O[i, x] = softmax(j: where(j * i < 7, sum(c: Q[i, c] * K[j, c]), -inf)) * V[j, x]\n"),
   {0, 1, 0, 0, 0, 0, "not a conjunction of affine"}},
  {"masked with another value than -inf: not fused",
   ATT("  O[i, x] = softmax(j: where(j <= i, sum(c: Q[i, c] * K[j, c]), 0.0)) * V[j, x]\n"),
   {0, 1, 0, 0, 0, 0, "another value than -inf"}},
  {"order 2 (tensor attention)",
   "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], V1: f64[m, e], V2: f64[p, e]) -> f64[n, e] {\n"
   "  S[i, j, k] = Q[i, c] * K1[j, c] * K2[k, c]\n  P[i, j, k] = softmax(j, k: S[i, j, k])\n"
   "  O[i, x] = P[i, j, k] * V1[j, x] * V2[k, x]\n  return O\n}\n", {1, 0, 0, 0, 0, 0, NULL}},
  {"order 2, the Alman-Song form through khatri_rao: the same kernel",
   "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], V1: f64[m, e], V2: f64[p, e]) -> f64[n, e] {\n"
   "  S[i, t] = Q[i, c] * khatri_rao(K1, K2)[t, c] / 8.0\n  P[i, t] = softmax(t: S[i, t])\n"
   "  O[i, x] = P[i, t] * khatri_rao(V1, V2)[t, x]\n  return O\n}\n", {1, 0, 0, 0, 0, 1, NULL}},
  {"order 3", "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], K3: f64[q, d], V1: f64[m, e], V2: f64[p, e], V3: f64[q, e]) -> f64[n, e] {\n"
   "  O[i, x] = softmax(j, k, l: sum(c: Q[i, c] * K1[j, c] * K2[k, c] * K3[l, c])) * V1[j, x] * V2[k, x] * V3[l, x]\n  return O\n}\n",
   {1, 0, 0, 0, 0, 0, NULL}},
  {"order 2 with a mask: key ranges",
   "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], V1: f64[m, e], V2: f64[p, e]) -> f64[n, e] {\n"
   "  O[i, x] = softmax(j, k: where(j <= i && j < k, sum(c: Q[i, c] * K1[j, c] * K2[k, c]), -inf)) * V1[j, x] * V2[k, x]\n  return O\n}\n",
   {1, 0, 0, 2, 0, 0, NULL}},
  {"order 2 with j != k: not fused",
   "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], V1: f64[m, e], V2: f64[p, e]) -> f64[n, e] {\n"
   "  O[i, x] = softmax(j, k: where(j != k, sum(c: Q[i, c] * K1[j, c] * K2[k, c]), -inf)) * V1[j, x] * V2[k, x]\n  return O\n}\n",
   {0, 1, 0, 0, 0, 0, "the mask has a !="}},
  {"order 2, grouped-query K2 and V1, the logsumexp beside it: one op",
   "def t(Q: f32[b, 4, n, d], K1: f32[b, 4, m, d], K2: f32[b, 2, p, d], V1: f32[b, 2, m, e], V2: f32[b, 4, p, e]) -> (f32[b, 4, n, e], f32[b, 4, n]) {\n"
   "  S[z, g, i, j, k] = where(j <= i && k <= i, Q[z, g, i, c] * K1[z, g, j, c] * K2[z, g // 2, k, c], -inf)\n"
   "  L[z, g, i] = logsumexp(j, k: S[z, g, i, j, k])\n"
   "  O[z, g, i, x] = softmax(j, k: S[z, g, i, j, k]) * V1[z, g // 2, j, x] * V2[z, g, k, x]\n  return O, L\n}\n",
   {1, 0, 2, 2, 0, 0, NULL}},
  {"order 3, a mask coupling the keys",
   "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], K3: f64[q, d], V1: f64[m, e], V2: f64[p, e], V3: f64[q, e]) -> f64[n, e] {\n"
   "  O[i, x] = softmax(j, k, l: where(j < k && k < l && l <= i, sum(c: Q[i, c] * K1[j, c] * K2[k, c] * K3[l, c]), -inf)) * V1[j, x] * V2[k, x] * V3[l, x]\n  return O\n}\n",
   {1, 0, 0, 3, 0, 0, NULL}},
  {"order 2 with a bias over i, j, k",
   "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], V1: f64[m, e], V2: f64[p, e], M: f64[n, m, p]) -> f64[n, e] {\n"
   "  O[i, x] = softmax(j, k: sum(c: Q[i, c] * K1[j, c] * K2[k, c]) + M[i, j, k]) * V1[j, x] * V2[k, x]\n  return O\n}\n",
   {1, 0, 0, 0, 1, 0, NULL}},
};

static const TirFunc *func_t(const TirProgram *p) {
  for (int i = 0; i < p->funcs.n; i++)
    if (strcmp(((TirFunc *)p->funcs.items[i])->source_name, "t") == 0) return p->funcs.items[i];
  return NULL;
}

Test(attention, recognised_forms_and_near_misses) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *k = &cases[i];
    Compiler *c = compiler_new(NULL);
    TirProgram *p = tir_of(c, k->text, 0);
    PassOptions o = {0};
    pass_structure(p, &o);
    pass_attention(p, &o);
    cr_assert_eq(tir_verify(p, stderr), 0, "%s: invalid TIR", k->what);
    const TirFunc *f = func_t(p);
    cr_assert_not_null(f);
    Want got = {0, 0, 0, 0, 0, 0, NULL};
    for (int j = 0; j < f->body.n; j++) {
      const TirOp *op = f->body.ops[j];
      got.einsums += op->kind == TO_EINSUM;
      if (op->kind != TO_ATTENTION) continue;
      got.fused++;
      got.nbatch = op->attn->nbatch;
      got.ncond = op->attn->ncond;
      got.bias = op->attn->bias != NULL;
      got.nscale = op->attn->nscale;
    }
    const Want *w = &k->want;
    cr_expect_eq(got.fused, w->fused, "%s: %d fused, expected %d", k->what, got.fused, w->fused);
    cr_expect_eq(got.einsums, w->einsums, "%s: %d einsums left, expected %d", k->what, got.einsums, w->einsums);
    cr_expect_eq(got.nbatch, w->nbatch, "%s: %d batch indices, expected %d", k->what, got.nbatch, w->nbatch);
    cr_expect_eq(got.ncond, w->ncond, "%s: %d conditions, expected %d", k->what, got.ncond, w->ncond);
    cr_expect_eq(got.bias, w->bias, "%s: bias %d, expected %d", k->what, got.bias, w->bias);
    cr_expect_eq(got.nscale, w->nscale, "%s: %d scale factors, expected %d", k->what, got.nscale, w->nscale);
    cr_expect_eq(p->attentions.n, 1, "%s: %d records", k->what, p->attentions.n);
    if (p->attentions.n == 1) {
      const AttentionInfo *ai = p->attentions.items[0];
      cr_expect_eq(ai->fused, w->fused, "%s: record says fused %d", k->what, ai->fused);
      if (w->why) cr_expect(ai->why && strstr(ai->why, w->why), "%s: why '%s', expected '%s'", k->what, ai->why ? ai->why : "", w->why);
    }
    compiler_free(c);
  }
}

/* The causal mask j <= i is stored as i - j >= 0; j < 5 as -j + 4 >= 0. */
Test(attention, conditions_normalised) {
  static const struct { const char *cond; long long a, b, k; } want[] = {
    {"j <= i", 1, -1, 0}, {"j < 5", 0, -1, 4}, {"i - j > 2", 1, -1, -3}, {"2 * j >= i + 1", -1, 2, -1},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, ATT("  O[i, x] = softmax(j: where(%s, sum(c: Q[i, c] * K[j, c]), -inf)) * V[j, x]\n"),
             want[i].cond);
    Compiler *c = compiler_new(NULL);
    TirProgram *p = tir_of(c, text, 0);
    PassOptions o = {0};
    pass_attention(p, &o);
    const TirFunc *f = func_t(p);
    const TirOp *op = f->body.ops[0];
    cr_assert_eq(op->kind, TO_ATTENTION, "%s: not fused", want[i].cond);
    cr_expect(op->attn->ncond == 1 && op->attn->ca[0] == want[i].a && op->attn->cb[0] == want[i].b &&
                  op->attn->ck[0] == want[i].k && !op->attn->cx[0],
              "%s: %lld*i + %lld*j + %lld", want[i].cond, (long long)op->attn->ca[0], (long long)op->attn->cb[0],
              (long long)op->attn->ck[0]);
    compiler_free(c);
  }
}

/* FlashAttention's extras: grouped-query K/V (i64(g / 4)), key padding
 * j < len[z], softcap c * tanh(S / c), ALiBi - m[g] * f32(i - j), and
 * logsumexp(j: S) beside as a second result; each lands in TirAttention. */
#define FX(kv, body) "def t(Q: f32[b, h, n, d], K: f32[b, " kv ", m, d], V: f32[b, " kv ", m, e], len: i64[b], " \
  "sl: f32[h]) -> f32[b, h, n, e] {\n" body "  return O\n}\n"
#define GQ(body) FX("k", body)
#define MHX(body) FX("h", body)
#define LSE(body) "def t(Q: f32[b, h, n, d], K: f32[b, h, m, d], V: f32[b, h, m, e], sl: f32[h]) -> " \
  "(f32[b, h, n, e], f32[b, h, n]) {\n" body "  return O, L\n}\n"
/* Order 2: one coefficient per key; j < k is -j + k - 1 >= 0, j + k <= i
 * is i - j - k >= 0. */
Test(attention, conditions_of_order_2) {
  static const struct { const char *cond; long long a, b, b2, k; } want[] = {
    {"j < k", 0, -1, 1, -1}, {"j + k <= i", 1, -1, -1, 0}, {"i - k < 4", -1, 0, 1, 3},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "def t(Q: f64[n, d], K1: f64[m, d], K2: f64[p, d], V1: f64[m, e], V2: f64[p, e]) -> f64[n, e] {\n"
             "  O[i, x] = softmax(j, k: where(%s, sum(c: Q[i, c] * K1[j, c] * K2[k, c]), -inf)) * V1[j, x] * V2[k, x]\n"
             "  return O\n}\n", want[i].cond);
    Compiler *c = compiler_new(NULL);
    TirProgram *p = tir_of(c, text, 0);
    PassOptions o = {0};
    pass_attention(p, &o);
    const TirOp *op = func_t(p)->body.ops[0];
    cr_assert_eq(op->kind, TO_ATTENTION, "%s: not fused", want[i].cond);
    const TirAttention *a = op->attn;
    cr_expect(a->order == 2 && a->ncond == 1 && a->ca[0] == want[i].a && a->cb[0] == want[i].b &&
                  a->cbx[0][0] == want[i].b2 && a->ck[0] == want[i].k,
              "%s: %lld*i + %lld*j + %lld*k + %lld", want[i].cond, (long long)a->ca[0], (long long)a->cb[0],
              (long long)a->cbx[0][0], (long long)a->ck[0]);
    compiler_free(c);
  }
}

Test(attention, flash_extras) {
  static const struct { const char *what, *text; int fused, div, npad, capped, alibi, lse; const char *why; } cases[] = {
    {"grouped-query K and V",
     GQ("  O[z, g, i, x] = softmax(j: sum(c: Q[z, g, i, c] * K[z, i64(g / 4), j, c])) * V[z, i64(floor(g / 4)), j, x]\n"),
     1, 4, 0, 0, 0, 0, NULL},
    {"key padding and causal",
     MHX("  O[z, g, i, x] = softmax(j: where(j < len[z] && j <= i, sum(c: Q[z, g, i, c] * K[z, g, j, c]), -inf)) * V[z, g, j, x]\n"),
     1, 0, 1, 0, 0, 0, NULL},
    {"softcap, ALiBi and the log-sum-exp",
     LSE("  S[z, g, i, j] = 30.0 * tanh(sum(c: Q[z, g, i, c] * K[z, g, j, c]) / 30.0) - sl[g] * f32(i - j)\n"
        "  L[z, g, i] = logsumexp(j: S[z, g, i, j])\n  O[z, g, i, x] = softmax(j: S[z, g, i, j]) * V[z, g, j, x]\n"),
     1, 0, 0, 1, 1, 1, NULL},
    {"a bias inside tanh: not fused",
     MHX("  O[z, g, i, x] = softmax(j: tanh(sum(c: Q[z, g, i, c] * K[z, g, j, c]) + sl[g])) * V[z, g, j, x]\n"), 0, 0, 0, 0, 0, 0, "inside tanh"},
    {"a logsumexp over other scores: S read twice",
     LSE("  S[z, g, i, j] = sum(c: Q[z, g, i, c] * K[z, g, j, c])\n  L[z, g, i] = logsumexp(j: S[z, g, i, j] * 2.0)\n"
        "  O[z, g, i, x] = softmax(j: S[z, g, i, j]) * V[z, g, j, x]\n"), 0, 0, 0, 0, 0, 0, "S is also read"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Compiler *c = compiler_new(NULL);
    TirProgram *p = tir_of(c, cases[i].text, 0);
    PassOptions o = {0};
    pass_structure(p, &o);
    pass_attention(p, &o);
    cr_assert_eq(tir_verify(p, stderr), 0, "%s: invalid TIR", cases[i].what);
    const TirFunc *f = func_t(p);
    const TirAttention *a = NULL;
    for (int j = 0; j < f->body.n; j++)
      if (f->body.ops[j]->kind == TO_ATTENTION) a = f->body.ops[j]->attn;
    cr_expect_eq(a != NULL, cases[i].fused, "%s: fused %d", cases[i].what, a != NULL);
    const AttentionInfo *ai = p->attentions.n ? p->attentions.items[0] : NULL;
    if (cases[i].why)
      cr_expect(ai && ai->why && strstr(ai->why, cases[i].why), "%s: why '%s'", cases[i].what, ai && ai->why ? ai->why : "");
    if (a) {
      cr_expect_eq(a->div[1][TIR_ATTN_B + 1], cases[i].div, "%s: K divisor %lld", cases[i].what, (long long)a->div[1][TIR_ATTN_B + 1]);
      cr_expect_eq(a->div[2][TIR_ATTN_B + 1], cases[i].div, "%s: V divisor", cases[i].what);
      cr_expect_eq(a->npad, cases[i].npad, "%s: %d padding bounds", cases[i].what, a->npad);
      cr_expect_eq(a->capped, cases[i].capped, "%s: softcap %d", cases[i].what, a->capped);
      cr_expect_eq(a->alibi, cases[i].alibi, "%s: alibi %d", cases[i].what, a->alibi);
      cr_expect_eq(a->lse != NULL, cases[i].lse, "%s: lse", cases[i].what);
      if (a->alibi) cr_expect(a->aa == 1 && a->ab == -1 && a->asign == -1 && a->slope, "%s: alibi form", cases[i].what);
      if (a->npad) cr_expect(a->pcmp[0] == 0 && a->ncond == 1, "%s: j < len and one condition", cases[i].what);
    }
    compiler_free(c);
  }
}
