/* diag.c — printing diagnostics as `file:line:col: error: msg`, the source
 * line, and a caret line under the span. */
#include "diag.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct { DiagLevel level; const char *text; } diag_table[] = {
#define DIAG(id, level, text) {level, text},
#include "diag.def"
#undef DIAG
};

static const char *const level_name[] = {"error", "warning", "note"};
static const char *const level_color[] = {"\033[1;31m", "\033[1;35m", "\033[1;36m"};

DiagLevel diag_level(DiagId id) { return diag_table[id].level; }
const char *diag_text(DiagId id) { return diag_table[id].text; }

void diag_sink_init(DiagSink *s, FILE *out) {
  memset(s, 0, sizeof *s);
  s->out = out;
  const char *term = getenv("TERM");
  s->color = out && isatty(fileno(out)) && !getenv("NO_COLOR") &&
             !(term && strcmp(term, "dumb") == 0);
  s->max_errors = 50;
}

Span span_none(void) {
  Span s = {0};
  return s;
}

/* The smallest span covering a and b (same file). */
Span span_join(Span a, Span b) {
  if (!a.src) return b;
  if (!b.src) return a;
  Span r = a.off <= b.off ? a : b;
  int end_a = a.off + a.len, end_b = b.off + b.len;
  int end = end_a > end_b ? end_a : end_b;
  r.len = end - r.off;
  return r;
}

/* A UTF-8 continuation byte shares its character's screen column. */
static int is_continuation(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

/* Prints the source line holding sp (without a trailing '\r') and
 * `^~~~` under the span: tabs are kept so the caret lines up, and a
 * multi-byte character takes one column. A span is cut at the line end. */
static void print_caret(DiagSink *s, Span sp) {
  const char *t = sp.src->text;
  int start = sp.off;
  while (start > 0 && t[start - 1] != '\n') start--;
  int end = sp.off;
  while (end < sp.src->len && t[end] != '\n') end++;
  if (end > start && t[end - 1] == '\r') end--;
  fprintf(s->out, "%.*s\n", end - start, t + start);
  for (int i = start; i < sp.off && i < end; i++)
    if (!is_continuation(t[i])) fputc(t[i] == '\t' ? '\t' : ' ', s->out);
  int stop = sp.off + sp.len < end ? sp.off + sp.len : end;
  if (s->color) fputs("\033[1;32m", s->out);
  fputc('^', s->out);
  for (int i = sp.off + 1; i < stop; i++)
    if (!is_continuation(t[i])) fputc('~', s->out);
  if (s->color) fputs("\033[0m", s->out);
  fputc('\n', s->out);
}

void diag_vreport(DiagSink *s, Span sp, DiagId id, va_list ap) {
  DiagLevel lv = diag_table[id].level;
  if (lv == DL_ERROR) s->nerrors++;
  if (lv == DL_WARNING) s->nwarnings++;
  if (!s->out) return;
  if (s->max_errors && s->nerrors > s->max_errors) return;
  if (s->color) fputs("\033[1m", s->out);
  if (sp.src) fprintf(s->out, "%s:%d:%d: ", sp.src->path, sp.line, sp.col);
  else fputs("tnsc: ", s->out);
  if (s->color) fprintf(s->out, "%s%s:\033[0m\033[1m ", level_color[lv], level_name[lv]);
  else fprintf(s->out, "%s: ", level_name[lv]);
  vfprintf(s->out, diag_table[id].text, ap);
  if (s->color) fputs("\033[0m", s->out);
  fputc('\n', s->out);
  if (sp.src) print_caret(s, sp);
  if (lv == DL_ERROR && s->max_errors && s->nerrors == s->max_errors)
    fputs("tnsc: too many errors; stopping here\n", s->out);
}

void diag_report(DiagSink *s, Span sp, DiagId id, ...) {
  va_list ap;
  va_start(ap, id);
  diag_vreport(s, sp, id, ap);
  va_end(ap);
}

_Noreturn void tns_bug(const char *file, int line, const char *msg) {
  fprintf(stderr, "tnsc: internal error at %s:%d: %s\n"
                  "please report this with the program that caused it\n",
          file, line, msg);
  abort();
}
