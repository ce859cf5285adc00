/* sema_expr.c — types of expressions: literals, names, operators, calls of
 * user functions, tensor literals. Index accesses and reductions are in
 * sema_index.c, builtins in builtins.c. */
#include <string.h>
#include "sema_int.h"

/* An operator's spelling: + for OP_ADD. */
const char *sema_op_text(Sema *s, int op) {
  (void)s;
  return op_text(op);
}

const char *sema_node_text(Sema *s, Node *e) {
  if (e->kind == N_NAME) return e->name;
  const char *t = ast_to_string(s->arena, e);
  return strlen(t) > 40 ? "this expression" : t;
}

/* Literals (and arithmetic of literals only, and tensor literals made of
 * them) take their type from the context: `2 * A[i]` is f32 when A is. */
int sema_is_weak(const Node *e) {
  switch (e->kind) {
  case N_INT: case N_FLOAT: return 1;
  case N_UNARY: return e->op == OP_NEG && sema_is_weak(e->a);
  case N_BINARY:
    return (e->op == OP_ADD || e->op == OP_SUB || e->op == OP_MUL || e->op == OP_DIV ||
            e->op == OP_FLOORDIV || e->op == OP_POW) &&
           sema_is_weak(e->a) && sema_is_weak(e->b);
  case N_LITERAL:
    for (int i = 0; i < e->list.n; i++)
      if (!sema_is_weak(e->list.items[i])) return 0;
    return e->list.n > 0;
  default: return 0;
  }
}

/* An integer constant: literals, and (with s) names whose i64 value is
 * known (k = 3) or constant sizes, combined by + - * // % ** and unary
 * minus, with numpy's meaning (int_floordiv and friends in types.c).
 * Returns -1 when e is not such a constant, else an IntFold status. */
int sema_fold_int(Sema *s, const Node *e, int64_t *out) {
  int64_t a, b;
  int st;
  switch (e->kind) {
  case N_INT: *out = e->ival; return INT_OK;
  case N_NAME: {
    if (!s || (s->ienv && sema_is_index_name(s, e->name))) return -1;
    Symbol *y = sema_lookup(s, e->name);
    if (y && y->kind == SYM_VAR && y->has_const) { *out = y->cval; return INT_OK; }
    if (y && y->kind == SYM_SIZE && dim_is_const(y->size)) { *out = y->size.k; return INT_OK; }
    return -1;
  }
  case N_UNARY:
    if (e->op != OP_NEG) return -1;
    if ((st = sema_fold_int(s, e->a, &a)) != INT_OK) return st;
    if (a == INT64_MIN) return INT_OVERFLOW;
    *out = -a;
    return INT_OK;
  case N_BINARY:
    if ((st = sema_fold_int(s, e->a, &a)) != INT_OK) return st;
    if ((st = sema_fold_int(s, e->b, &b)) != INT_OK) return st;
    switch (e->op) {
    case OP_ADD: return __builtin_add_overflow(a, b, out) ? INT_OVERFLOW : INT_OK;
    case OP_SUB: return __builtin_sub_overflow(a, b, out) ? INT_OVERFLOW : INT_OK;
    case OP_MUL: return __builtin_mul_overflow(a, b, out) ? INT_OVERFLOW : INT_OK;
    case OP_FLOORDIV: return int_floordiv(a, b, out);
    case OP_MOD: return int_mod(a, b, out);
    case OP_POW: return int_pow(a, b, out);
    default: return -1;
    }
  default: return -1;
  }
}

/* Whether a weak value needs a float type: 2.5, 1 / 2, [1, 0.5], and
 * 2 ** -1 (Python's int ** negative int is a float). */
static int weak_is_float(const Node *e) {
  int64_t v;
  switch (e->kind) {
  case N_FLOAT: return 1;
  case N_UNARY: return weak_is_float(e->a);
  case N_BINARY:
    if (e->op == OP_POW && sema_fold_int(NULL, e->b, &v) == INT_OK && v < 0) return 1;
    return e->op == OP_DIV || weak_is_float(e->a) || weak_is_float(e->b);
  case N_LITERAL:
    for (int i = 0; i < e->list.n; i++)
      if (weak_is_float(e->list.items[i])) return 1;
    return 0;
  default: return 0;
  }
}

/* Gives a weak value (see sema_is_weak) the element type elem, or the
 * type parameter tparam. */
static void retype(Sema *s, Node *e, int elem, const char *tparam) {
  if (!sema_is_weak(e)) return;
  Type *t = e->type;
  if (t && t->kind == T_TENSOR) {
    e->type = type_tensor(s->arena, elem, t->rank, t->dims);
    e->type->tparam = elem == ELEM_PARAM ? tparam : NULL;
  }
  if (e->kind == N_LITERAL)
    for (int i = 0; i < e->list.n; i++) retype(s, e->list.items[i], elem, tparam);
  if (e->a) retype(s, e->a, elem, tparam);
  if (e->b) retype(s, e->b, elem, tparam);
}

void sema_retype_literal(Sema *s, Node *e, int elem) { retype(s, e, elem, NULL); }

/* A weak value where the context asks for elem (an annotation, a
 * parameter, a declared result, +=): it adopts elem unless that loses
 * information (2.5 as i64, 1 as bool). `what` names the place. */
int sema_adopt_literal(Sema *s, Node *e, int elem, const char *tparam, const char *what) {
  int lossy = elem == ELEM_BOOL || (elem_is_int(elem) && weak_is_float(e));
  if (lossy) {
    const char *to = elem_name(elem);
    ERR(s, e->span, E_NARROWING, what, weak_is_float(e) ? "f64" : "i64", to, to);
    return 0;
  }
  retype(s, e, elem, tparam);
  return 1;
}

/* The element type a literal adopts next to a typed operand. */
static int adopt(const Node *lit, int other) {
  int is_float_lit = weak_is_float(lit);
  if (other == ELEM_PARAM) return ELEM_PARAM;
  if (other == ELEM_BOOL) return is_float_lit ? ELEM_F64 : ELEM_I64;
  if (is_float_lit && elem_is_int(other)) return ELEM_F64;
  return other;
}

/* Element type of a binary operation; literals adapt, the rest follow
 * numpy's promotion; a type parameter mixes only with itself. */
int sema_unify_elem(Sema *s, Node *a, Node *b, Span where, int *out) {
  int ea = a->type->elem, eb = b->type->elem;
  int wa = sema_is_weak(a), wb = sema_is_weak(b);
  if (wa && !wb) { *out = adopt(a, eb); retype(s, a, *out, b->type->tparam); return 1; }
  if (wb && !wa) { *out = adopt(b, ea); retype(s, b, *out, a->type->tparam); return 1; }
  if (wa && wb) { *out = elem_promote(ea, eb); return 1; }
  if ((ea == ELEM_PARAM || eb == ELEM_PARAM) &&
      !(ea == eb && a->type->tparam == b->type->tparam)) {
    const Type *p = ea == ELEM_PARAM ? a->type : b->type, *o = ea == ELEM_PARAM ? b->type : a->type;
    ERR(s, where, E_MIX_TPARAM, p->tparam, type_to_string(s->arena, o));
    return 0;
  }
  *out = elem_promote(ea, eb);
  return 1;
}

Type *sema_expect_scalar(Sema *s, Node *e, const char *what) {
  Type *t = sema_expr(s, e);
  if (type_is_error(t)) return t;
  if (t->kind != T_TENSOR || t->rank != 0) {
    ERR(s, e->span, E_NOT_SCALAR, what, type_to_string(s->arena, t));
    return sema_error_type(s);
  }
  return t;
}

/* Whether t, the type of e, is a tensor or scalar value; if not, says
 * why (a string, a type, nothing, several results, an unannotated load).
 * An error type was reported before: 0 without a message. */
int sema_value_ok(Sema *s, Node *e, Type *t) {
  if (type_is_error(t)) return 0;
  const char *name = e->kind == N_CALL ? e->name : "this";
  switch (t->kind) {
  case T_TENSOR:
    if (t->rank >= 0) return 1;
    ERR(s, e->span, E_LOAD_NEEDS_TYPE);
    break;
  case T_STRING: ERR(s, e->span, E_STRING_VALUE); break;
  case T_TUPLE: ERR(s, e->span, E_TUPLE_VALUE, name, t->n, name); break;
  case T_VOID: ERR(s, e->span, E_VOID_VALUE, name); break;
  default: ERR(s, e->span, E_TYPE_VALUE); break;
  }
  return 0;
}

/* A value operand: a tensor or scalar (not a string, type or nothing). */
static Type *operand(Sema *s, Node *e) {
  Type *t = sema_expr(s, e);
  return sema_value_ok(s, e, t) ? t : sema_error_type(s);
}

/* Shape of an elementwise operation: equal shapes, or one side scalar. */
static int elementwise_shape(Sema *s, Node *e, Type *a, Type *b, Type **shape) {
  if (a->rank == 0) { *shape = b; return 1; }
  if (b->rank == 0) { *shape = a; return 1; }
  int ok = a->rank == b->rank;
  for (int i = 0; ok && i < a->rank; i++) ok = dim_cmp(a->dims[i], b->dims[i]) != DIM_DIFFERENT;
  if (!ok) {
    ERR(s, e->span, E_ELEMWISE_SHAPE, sema_op_text(s, e->op), shape_to_string(s->arena, a),
        shape_to_string(s->arena, b));
    return 0;
  }
  *shape = a;
  return 1;
}

/* a ** b on integers with a constant b < 0: numpy refuses it ("Integers
 * to negative integer powers are not allowed"); so does tnsc, at compile
 * time here and at run time for a computed exponent. */
static int int_pow_ok(Sema *s, Node *e, int elem) {
  int64_t v;
  if (e->op != OP_POW || !elem_is_int(elem) || sema_fold_int(s, e->b, &v) != INT_OK || v >= 0) return 1;
  ERR(s, e->b->span, E_INT_NEG_POW, (long long)v);
  return 0;
}

/* expr = expr op expr */
static Type *check_binary(Sema *s, Node *e) {
  Type *a = operand(s, e->a), *b = operand(s, e->b), *shape;
  if (type_is_error(a) || type_is_error(b)) return sema_error_type(s);
  if (!elementwise_shape(s, e, a, b, &shape)) return sema_error_type(s);
  if (e->op == OP_AND || e->op == OP_OR) {
    if (a->elem != ELEM_BOOL || b->elem != ELEM_BOOL) {
      Node *bad = a->elem != ELEM_BOOL ? e->a : e->b;
      ERR(s, bad->span, E_NOT_BOOL, "an operand of && and ||", type_to_string(s->arena, bad->type));
      return sema_error_type(s);
    }
    return type_tensor(s->arena, ELEM_BOOL, shape->rank, shape->dims);
  }
  int elem;
  if (!sema_unify_elem(s, e->a, e->b, e->span, &elem)) return sema_error_type(s);
  if (op_is_compare(e->op)) return type_tensor(s->arena, ELEM_BOOL, shape->rank, shape->dims);
  if (elem == ELEM_BOOL && e->op != OP_MUL) elem = ELEM_I64; /* numpy: True + True == 2 */
  if (e->op == OP_DIV && elem_is_int(elem)) elem = ELEM_F64; /* true division */
  if (e->op == OP_POW && elem_is_int(elem) && sema_is_weak(e) && weak_is_float(e)) elem = ELEM_F64; /* 2 ** -1 */
  if (!int_pow_ok(s, e, elem)) return sema_error_type(s);
  Type *t = type_tensor(s->arena, elem, shape->rank, shape->dims);
  t->tparam = a->elem == ELEM_PARAM ? a->tparam : b->tparam;
  return t;
}

/* expr = "-" expr | "!" expr */
static Type *check_unary(Sema *s, Node *e) {
  Type *a = operand(s, e->a);
  if (type_is_error(a)) return a;
  if (e->op == OP_NOT && a->elem != ELEM_BOOL) {
    ERR(s, e->a->span, E_NOT_BOOL, "the operand of '!'", type_to_string(s->arena, a));
    return sema_error_type(s);
  }
  if (e->op == OP_NEG && a->elem == ELEM_BOOL) {
    ERR(s, e->a->span, E_NOT_NUMERIC, "-", "bool");
    return sema_error_type(s);
  }
  return a;
}

/* A name: an index of the current statement, or a symbol. */
static Type *check_name(Sema *s, Node *e) {
  IndexVar *iv = sema_index_lookup(s, e->name, e->span);
  if (iv) {
    e->sym = iv;
    iv->uses++;
    return type_scalar(s->arena, ELEM_I64);
  }
  Symbol *y = sema_lookup(s, e->name);
  if (!y) {
    int builtin = builtin_lookup(e->name) >= 0 || reduce_lookup(e->name) >= 0;
    ERR(s, e->span, builtin ? E_NOT_VALUE : E_UNDEFINED, e->name);
    return sema_error_type(s);
  }
  e->sym = y;
  switch (y->kind) {
  case SYM_VAR: return y->type ? y->type : sema_error_type(s);
  case SYM_SIZE: return type_scalar(s->arena, ELEM_I64);
  case SYM_FUNC: ERR(s, e->span, E_NOT_VALUE, e->name); break;
  case SYM_TPARAM: ERR(s, e->span, E_TYPE_VALUE); break;
  case SYM_INDEX: break; /* indices were handled above */
  }
  return sema_error_type(s);
}

typedef struct Literal {
  Dim dims[17];
  int rank;             /* depth of the numbers, -1 before the first */
  int elem;             /* promoted type of the typed elements, -1: none */
  const char *tparam;
  int weak, weak_float; /* plain numbers seen; some of them floats */
} Literal;

/* An element of a tensor literal: a scalar. Typed elements promote
 * together (numpy); plain numbers adapt to them. */
static int literal_leaf(Sema *s, Node *e, int depth, Literal *li) {
  Type *t = sema_expr(s, e);
  if (type_is_error(t)) return 0;
  if (t->kind != T_TENSOR || t->rank < 0) { ERR(s, e->span, E_LITERAL_ELEM); return 0; }
  if (t->rank != 0) { ERR(s, e->span, E_NOT_SCALAR, "a tensor literal element", type_to_string(s->arena, t)); return 0; }
  if (li->rank >= 0 && depth != li->rank) { ERR(s, e->span, E_LITERAL_DEPTH); return 0; }
  li->rank = depth;
  if (sema_is_weak(e)) {
    li->weak = 1;
    li->weak_float |= weak_is_float(e);
    return 1;
  }
  if (li->elem >= 0 && (li->elem == ELEM_PARAM || t->elem == ELEM_PARAM) &&
      !(li->elem == t->elem && li->tparam == t->tparam)) {
    ERR(s, e->span, E_MIX_TPARAM, li->elem == ELEM_PARAM ? li->tparam : t->tparam,
        type_to_string(s->arena, t));
    return 0;
  }
  li->elem = li->elem < 0 ? t->elem : elem_promote(li->elem, t->elem);
  li->tparam = t->tparam;
  return 1;
}

/* Walks a nested literal, checking that it is rectangular. */
static int literal_shape(Sema *s, Node *e, int depth, Literal *li) {
  if (e->kind != N_LITERAL) return literal_leaf(s, e, depth, li);
  if (e->list.n == 0) { ERR(s, e->span, E_LITERAL_EMPTY); return 0; }
  if (depth >= 16) { ERR(s, e->span, E_TOO_DEEP); return 0; }
  if (li->rank >= 0 && depth >= li->rank) { ERR(s, e->span, E_LITERAL_DEPTH); return 0; }
  if (li->dims[depth].k == 0) li->dims[depth] = dim_const(e->list.n);
  else if (li->dims[depth].k != e->list.n) {
    ERR(s, e->span, E_LITERAL_RAGGED, (int)li->dims[depth].k, li->dims[depth].k == 1 ? "" : "s", e->list.n);
    return 0;
  }
  for (int i = 0; i < e->list.n; i++)
    if (!literal_shape(s, e->list.items[i], depth + 1, li)) return 0;
  return 1;
}

/* Types the literal e at depth d of a literal of type t, and its rows;
 * plain numbers take t's element type. */
static void type_rows(Sema *s, Node *e, Type *t, int d) {
  if (e->kind != N_LITERAL) { retype(s, e, t->elem, t->tparam); return; }
  e->type = type_tensor(s->arena, t->elem, t->rank - d, t->dims + d);
  e->type->tparam = t->tparam;
  for (int i = 0; i < e->list.n; i++) type_rows(s, e->list.items[i], t, d + 1);
}

/* primary = "[" expr, ... "]" — f64 unless an element or the context says */
static Type *check_literal(Sema *s, Node *e) {
  Literal li;
  memset(&li, 0, sizeof li);
  li.rank = li.elem = -1;
  if (!literal_shape(s, e, 0, &li)) return sema_error_type(s);
  int elem = li.elem;
  if (elem < 0 || (li.weak_float && (elem_is_int(elem) || elem == ELEM_BOOL))) elem = ELEM_F64;
  else if (li.weak && elem == ELEM_BOOL) elem = ELEM_I64;
  Type *t = type_tensor(s->arena, elem, li.rank, li.dims);
  t->tparam = elem == ELEM_PARAM ? li.tparam : NULL;
  type_rows(s, e, t, 0);
  return t;
}

/* call = T "(" expr ")" — conversion to a type parameter */
static Type *convert_to_tparam(Sema *s, Node *e) {
  if (e->list.n != 1) {
    ERR(s, e->span, E_ARG_COUNT, e->name, "1", "", e->list.n);
    return sema_error_type(s);
  }
  Type *a = sema_expr(s, e->list.items[0]);
  if (type_is_error(a)) return a;
  if (a->kind != T_TENSOR || a->rank < 0) {
    ERR(s, e->list.items[0]->span, E_ARG_KIND, 1, e->name, "a tensor or a scalar");
    return sema_error_type(s);
  }
  Type *t = type_tensor(s->arena, ELEM_PARAM, a->rank, a->dims);
  t->tparam = e->name;
  return t;
}

/* f(a: 1) was reported by the parser: type the plain arguments only. */
static int has_label_arg(Sema *s, Node *e) {
  int labels = 0;
  for (int i = 0; i < e->list.n; i++) labels += e->list.items[i]->kind == N_LABEL;
  if (!labels) return 0;
  for (int i = 0; i < e->list.n; i++)
    if (e->list.items[i]->kind != N_LABEL) sema_expr(s, e->list.items[i]);
  return 1;
}

/* i(x) where i is an index, x(1) where x is a variable or a size, and
 * mean(x) and other numpy names, with the TNS form in a note */
static Type *not_a_function(Sema *s, Node *e, Symbol *y) {
  Span at = e->b ? e->b->span : e->span;
  if (sema_index_lookup(s, e->name, at)) ERR(s, at, E_INDEX_TPARAM, e->name);
  else if (!y) {
    ERR(s, at, E_UNDEFINED_FUNC, e->name);
    const char *how = builtin_numpy_form(e->name);
    if (how) ERR(s, at, N_NUMPY_FORM, how);
  }
  else ERR(s, at, E_NOT_FUNC, e->name, y->kind == SYM_SIZE ? "a size name" : "a variable");
  for (int i = 0; i < e->list.n; i++) sema_expr(s, e->list.items[i]);
  return sema_error_type(s);
}

/* call = name "(" args ")" */
static Type *check_call(Sema *s, Node *e) {
  if (has_label_arg(s, e)) return sema_error_type(s);
  int id = builtin_lookup(e->name);
  if (id >= 0) return builtin_check(s, id, e);
  int red = reduce_lookup(e->name);
  if (red >= 0) {
    if (red == RED_SOFTMAX) ERR(s, e->span, E_SOFTMAX_FORM);
    else ERR(s, e->span, E_REDUCE_FORM, e->name, e->name);
    return sema_error_type(s);
  }
  Symbol *y = sema_lookup(s, e->name);
  if (y && y->kind == SYM_TPARAM) return convert_to_tparam(s, e);
  if (!y || y->kind != SYM_FUNC) return not_a_function(s, e, y);
  e->sym = y;
  return sema_call_user(s, e, y);
}

/* type = elem "[" dims "]" used as a value */
static Type *check_type_value(Sema *s, Node *e) {
  Type *t;
  if (!sema_type_from_node(s, e, 0, &t)) return sema_error_type(s);
  return type_typeval(s->arena, t);
}

Type *sema_expr(Sema *s, Node *e) {
  Type *t;
  switch (e->kind) {
  case N_INT: t = type_scalar(s->arena, ELEM_I64); break;
  case N_FLOAT: t = type_scalar(s->arena, ELEM_F64); break;
  case N_BOOL: t = type_scalar(s->arena, ELEM_BOOL); break;
  case N_STRING: t = type_simple(s->arena, T_STRING); break;
  case N_NAME: t = check_name(s, e); break;
  case N_INDEX: t = sema_access(s, e); break;
  case N_CALL: t = check_call(s, e); break;
  case N_REDUCE: t = sema_reduce(s, e); break;
  case N_UNARY: t = check_unary(s, e); break;
  case N_BINARY: t = check_binary(s, e); break;
  case N_TYPE: t = check_type_value(s, e); break;
  case N_LITERAL: t = check_literal(s, e); break;
  case N_GROUP: ERR(s, e->span, E_GROUP_OUTSIDE); t = sema_error_type(s); break;
  case N_RANGED: case N_LABEL: ERR(s, e->span, E_RANGED_OUTSIDE); t = sema_error_type(s); break;
  default: t = sema_error_type(s);
  }
  e->type = t = sema_rank_ok(s, t, e->span);
  return t;
}

/* ---- dimensions written in types ---- */

/* Whether a written dimension is a product sema can track: integers,
 * size names, i64 constants, integer constants (2 ** 3), and (with bind)
 * new size names. */
static int static_dim(Sema *s, const Node *e) {
  int64_t v;
  if (e->kind == N_INT) return 1;
  if ((e->kind == N_BINARY && e->op != OP_MUL) || e->kind == N_UNARY) return sema_fold_int(s, e, &v) >= 0; /* folded_dim */
  if (e->kind == N_BINARY && e->op == OP_MUL) return static_dim(s, e->a) && static_dim(s, e->b);
  if (e->kind != N_NAME) return 0;
  Symbol *y = sema_lookup(s, e->name);
  return !y || y->kind != SYM_VAR || y->has_const;
}

/* The source text of e without blanks: `2*k`, the name of its snapshot. */
static const char *squeezed_text(Sema *s, Span sp) {
  char *t = arena_alloc(s->arena, (size_t)sp.len + 1);
  int n = 0;
  for (int i = 0; sp.src && i < sp.len; i++) {
    char c = sp.src->text[sp.off + i];
    if (c != ' ' && c != '\t' && c != '\n') t[n++] = c;
  }
  t[n] = 0;
  return t;
}

/* dim = expr (an i64 value: `k`, `2*k`, `dim(X, 0)`), inside a simple
 * statement: a data size that the statement sets to the value before it
 * runs. The same text twice in one statement is one size (`f64[k, k]` is
 * square); other statements get their own, since the value may change. */
static int value_dim(Sema *s, Node *e, Dim *out) {
  Type *t = sema_expr(s, e);
  if (type_is_error(t)) return 0;
  if (t->kind != T_TENSOR || t->rank != 0 || !elem_is_int(t->elem)) {
    ERR(s, e->span, E_DIM_VALUE, type_to_string(s->arena, t));
    return 0;
  }
  if (sema_is_weak(e)) sema_retype_literal(s, e, ELEM_I64);
  const char *text = squeezed_text(s, e->span);
  for (int i = 0; i < s->snaps->n; i++) {
    Node *sn = s->snaps->items[i];
    if (!strcmp(sn->str, text)) { *out = dim_data_sym(sn->name); return 1; }
  }
  const char *name = strtab_cstr(&s->c->names, text);
  for (int i = 0; i < s->snap_names.n; i++)
    if (s->snap_names.items[i] == name)
      name = strtab_cstr(&s->c->names, arena_printf(s->arena, "%s@%d:%d", text, e->span.line, e->span.col));
  Node *sn = arena_alloc(s->arena, sizeof *sn);
  sn->kind = N_SNAPSHOT;
  sn->span = e->span;
  sn->name = name;
  sn->str = text;
  sn->a = e;
  ptrvec_push(s->arena, s->snaps, sn);
  ptrvec_push(s->arena, &s->snap_names, (void *)name);
  *out = dim_data_sym(name);
  return 1;
}

/* dim = int | size-name | dim "*" dim | i64 value (value_dim). With bind,
 * an unknown name becomes a new size name (a parameter's type binds it). */
/* dim = an integer constant other than a product (`2**3`, `k // 2` with
 * k = 8 known, `n - 1` with a constant size): folded here. Returns -1 when
 * e is not one, else whether it is a valid dimension. */
static int folded_dim(Sema *s, Node *e, Dim *out) {
  int64_t v;
  if (!((e->kind == N_BINARY && e->op != OP_MUL) || e->kind == N_UNARY)) return -1;
  int st = sema_fold_int(s, e, &v);
  switch (st) {
  case INT_OK:
    if (v < 0) { ERR(s, e->span, E_NEG_DIM); return 0; }
    *out = dim_const(v);
    return 1;
  case INT_DIV_ZERO: ERR(s, e->span, E_DIM_DIV_ZERO); return 0;
  case INT_NEG_POW: ERR(s, e->span, E_DIM_NEG_POW); return 0;
  case INT_OVERFLOW: ERR(s, e->span, E_DIM_OVERFLOW); return 0;
  default: return -1;
  }
}

int sema_dim_of_expr(Sema *s, Node *e, int bind, Dim *out) {
  int folded = folded_dim(s, e, out);
  if (folded >= 0) return folded;
  if (s->snaps && !static_dim(s, e)) return value_dim(s, e, out);
  if (e->kind == N_INT) {
    if (e->ival < 0) { ERR(s, e->span, E_NEG_DIM); return 0; }
    *out = dim_const(e->ival);
    return 1;
  }
  if (e->kind == N_BINARY && e->op == OP_MUL) {
    Dim a, b;
    if (!sema_dim_of_expr(s, e->a, bind, &a) || !sema_dim_of_expr(s, e->b, bind, &b)) return 0;
    if (!dim_mul(a, b, out)) { ERR(s, e->span, E_DIM_OVERFLOW); return 0; }
    return 1;
  }
  if (e->kind != N_NAME) {
    ERR(s, e->span, E_BAD_DIM);
    /* a parameter or result type: computed sizes live in the body */
    if (!s->snaps && (e->kind == N_BINARY || e->kind == N_UNARY)) ERR(s, e->span, N_DIM_IN_BODY, squeezed_text(s, e->span));
    return 0;
  }
  Symbol *y = sema_lookup(s, e->name);
  if (!y && bind) {
    y = sema_define(s, SYM_SIZE, e->name, e->span, type_scalar(s->arena, ELEM_I64));
    y->size = s->bind_data ? dim_data_sym(e->name) : dim_sym(e->name);
  }
  if (!y) { ERR(s, e->span, E_UNKNOWN_SIZE, e->name); return 0; }
  e->sym = y;
  if (y->kind == SYM_SIZE) { *out = y->size; return 1; }
  if (y->kind == SYM_VAR && y->has_const && y->cval < 0) {
    ERR(s, e->span, E_NEG_DIM_NAME, e->name, (long long)y->cval);
    return 0;
  }
  if (y->kind == SYM_VAR && y->has_const) { *out = dim_const(y->cval); return 1; }
  if (y->kind == SYM_VAR) ERR(s, e->span, E_DIM_NOT_SIZE, e->name);
  else ERR(s, e->span, E_DIM_NAME, e->name, y->kind == SYM_FUNC ? "a function" : "a type parameter");
  return 0;
}
