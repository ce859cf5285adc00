/* astdump.c — `tnsc emit ast` (an indented tree) and unparsing back to
 * TNS text for messages. */
#include <stdio.h>
#include <stdlib.h>
#include "ast.h"
#include "types.h"

static void dump_list(FILE *f, const char *label, const NodeList *l, int depth) {
  if (!l->n) return;
  fprintf(f, "%*s%s:\n", depth * 2, "", label);
  for (int i = 0; i < l->n; i++) ast_dump(f, l->items[i], depth + 1);
}

/* One line per node: kind, its scalar payload, span, and type once known. */
static void dump_head(FILE *f, const Node *n, int depth) {
  fprintf(f, "%*s%s", depth * 2, "", ast_kind_name(n->kind));
  switch (n->kind) {
  case N_INT: fprintf(f, " %lld", (long long)n->ival); break;
  case N_FLOAT: fprintf(f, " %.17g", n->fval); break;
  case N_STRING: fprintf(f, " \"%s\"", n->str); break;
  case N_BOOL: fputs(n->ival ? " true" : " false", f); break;
  case N_UNARY: case N_BINARY: fprintf(f, " '%s'", op_text(n->op)); break;
  case N_ASSIGN: fputs(n->op == ASSIGN_ADD ? " +=" : " =", f); break;
  case N_REDUCE: fprintf(f, " %s%s", reduce_name(n->op), n->implicit ? " (implicit)" : ""); break;
  case N_TYPE: fprintf(f, " %s%s", n->name ? n->name : elem_name(n->op), n->ival ? "[...]" : ""); break;
  case N_IMPORT: fprintf(f, " %s", n->name ? n->name : n->str); break;
  default: if (n->name) fprintf(f, " %s", n->name);
  }
  fprintf(f, " @%d:%d", n->span.line, n->span.col);
  if (n->type) {
    char *s = type_to_string(NULL, n->type);
    fprintf(f, " : %s", s);
    free(s);
  }
  fputc('\n', f);
}

void ast_dump(FILE *f, const Node *n, int depth) {
  if (!n) return;
  dump_head(f, n, depth);
  if (n->kind == N_BLOCK) {
    for (int i = 0; i < n->list.n; i++) ast_dump(f, n->list.items[i], depth + 1);
    return;
  }
  dump_list(f, n->kind == N_REDUCE ? "over" : n->kind == N_ASSIGN ? "targets" : "items",
            &n->list, depth + 1);
  dump_list(f, "results", &n->list2, depth + 1);
  ast_dump(f, n->a, depth + 1);
  ast_dump(f, n->b, depth + 1);
  ast_dump(f, n->c, depth + 1);
}

static void unparse_list(FILE *f, const NodeList *l) {
  for (int i = 0; i < l->n; i++) {
    if (i) fputs(", ", f);
    ast_unparse(f, l->items[i]);
  }
}

void ast_unparse(FILE *f, const Node *n) {
  if (!n) return;
  switch (n->kind) {
  case N_INT: fprintf(f, "%lld", (long long)n->ival); break;
  case N_FLOAT: fprintf(f, "%g", n->fval); break;
  case N_STRING: fprintf(f, "\"%s\"", n->str); break;
  case N_BOOL: fputs(n->ival ? "true" : "false", f); break;
  case N_NAME: fputs(n->name, f); break;
  case N_INDEX: ast_unparse(f, n->a); fputc('[', f); unparse_list(f, &n->list); fputc(']', f); break;
  case N_CALL: fprintf(f, "%s(", n->name); unparse_list(f, &n->list); fputc(')', f); break;
  case N_REDUCE: fprintf(f, "%s(", reduce_name(n->op)); unparse_list(f, &n->list);
    fputs(": ", f); ast_unparse(f, n->a); fputc(')', f); break;
  case N_UNARY: fputs(op_text(n->op), f); ast_unparse(f, n->a); break;
  case N_BINARY: fputc('(', f); ast_unparse(f, n->a); fprintf(f, " %s ", op_text(n->op));
    ast_unparse(f, n->b); fputc(')', f); break;
  case N_GROUP: fputc('(', f); unparse_list(f, &n->list); fputc(')', f); break;
  case N_RANGED: case N_LABEL: ast_unparse(f, n->a); fputs(": ", f); ast_unparse(f, n->b); break;
  case N_TYPE: fputs(n->name ? n->name : elem_name(n->op), f);
    if (n->ival) { fputc('[', f); unparse_list(f, &n->list); fputc(']', f); } break;
  case N_LITERAL: fputc('[', f); unparse_list(f, &n->list); fputc(']', f); break;
  default: fprintf(f, "<%s>", ast_kind_name(n->kind));
  }
}

char *ast_to_string(Arena *a, const Node *n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ast_unparse(f, n);
  fclose(f);
  char *r = arena_strndup(a, buf, len);
  free(buf);
  return r;
}
